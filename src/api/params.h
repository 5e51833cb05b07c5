/*
 * params: strict validation of a decoded form (form.h) against an endpoint's parameter spec,
 * with Stripe's error codes and bracket-form `param` (CONTRACT.md §1, §11 "Errors"), and typed
 * readers for the values once validated.
 *
 * A spec is a static table per endpoint, mirroring the OpenAPI requestBody / query parameters:
 *
 *   static const param_spec create_params[] = {
 *       {"client_reference_id", P_STRING, .max_len = 5000},
 *       {"metadata", P_METADATA},
 *       {"type", P_ENUM, .enums = type_values},
 *       {NULL}};
 *
 * Fields left out are zero; the build passes -Wno-missing-field-initializers for such tables.
 *
 * Order of checks: first every unknown parameter, in the order parameters first appeared in the
 * request (also inside objects, arrays of objects and P_RANGE maps); then the values in that same
 * order, an object's missing P_REQUIRED fields being reported right after its present fields.
 * Only the first problem is reported.
 *
 * Errors: all HTTP 400, type invalid_request_error, `param` in bracket form
 * ("options[document][require_id_number]", "metadata[foo]", "expand[0]" for item 0 of either
 * array form). A value quoted in a message is cut to its first 100 characters plus "...".
 * Lengths are counted in characters (Unicode code points), as Stripe does.
 *
 *   Unknown parameter (also an unknown P_RANGE key such as created[foo]):
 *     parameter_unknown          "Received unknown parameter: <param>"
 *   Missing P_REQUIRED field (of the top level, or of an object that is present):
 *     parameter_missing          "Missing required param: <param>."
 *   "" for a parameter without P_EMPTY_OK (any type but P_METADATA):
 *     parameter_invalid_empty    "You passed an empty string for '<param>'. We assume empty
 *                                values are an attempt to unset a parameter; however '<param>'
 *                                cannot be unset. You should remove '<param>' from your request
 *                                or supply a non-empty value."
 *   Not an integer (optional '-' then digits only; beyond int64 is not an integer):
 *     parameter_invalid_integer  "Invalid integer: <value>"
 *   Integer outside [min, max]:
 *     parameter_invalid_integer  "This value must be greater than or equal to <min>."
 *                                "This value must be less than or equal to <max>."
 *   Not "true" or "false" in some letter case (CONTRACT.md §11 "Booleans"):
 *     parameter_invalid_boolean  "Invalid boolean: <value>"
 *   Not one of enums[]:
 *     parameter_invalid_value    "Invalid <param>: must be one of a, b, or c"
 *                                (two values: "one of a or b"; one value: "must be a")
 *   String longer than max_len:
 *     parameter_invalid_string_too_long
 *                                "Invalid string: <first 20 characters>...; must be at most <N>
 *                                characters"
 *   Something else where an object (P_OBJECT, P_METADATA) or an array (P_ARRAY) is expected
 *   (a non-empty string, a list for an object, a map whose keys are not exactly "0".."n-1" for
 *   an array: no gaps, no leading zeros), in Stripe's words and, as Stripe, without a code:
 *     (no code)                  "Invalid hash" / "Invalid array"
 *   A map or list where a scalar is expected:
 *     parameter_invalid_type     "Invalid <what>: <param> must be <expected>, not <got>", with
 *                                <what>/<expected> string/"a string" (P_STRING, P_ENUM),
 *                                integer/"an integer", boolean/"a boolean", and <got> "an
 *                                object" or "an array". A P_RANGE list gives "Invalid range:
 *                                <param> must be an integer or an object with gt, gte, lt or
 *                                lte, not an array".
 *   P_ARRAY with more than max_items items:
 *     parameter_invalid_array_too_long
 *                                "Invalid array: <param> can have at most <max> items; you
 *                                passed <n>"
 *
 * Metadata (P_METADATA) may be "" (unset all) or a map of strings ("" unsets one key). Stripe
 * sends no code with its limit errors either (code NULL):
 *   More than 50 keys, param "metadata":
 *                                "Metadata can have up to 50 keys, but you've set <n>."
 *   Key longer than 40 characters, param "metadata[<key>]":
 *                                "Metadata keys can have up to 40 characters, but you passed in
 *                                a key that is <n> characters. Invalid key: <key>"
 *   Value longer than 500 characters, param "metadata[<key>]":
 *                                "Metadata values can have up to 500 characters, but you passed
 *                                in a value that is <n> characters. Invalid value: <value>"
 *   A map or list as a value is parameter_invalid_type with param "metadata[<key>]".
 * The 50 keys are counted in one request; the limit after merging with stored metadata is
 * metadata_merge's (identity/metadata.h), whose error the handler answers.
 */
#ifndef VERIFYD_PARAMS_H
#define VERIFYD_PARAMS_H

#include <stdint.h>

#include "api/apierr.h"
#include "base/arena.h"
#include "api/form.h"
#include "identity/metadata.h"

typedef enum {
    P_STRING,   /* any string; max_len characters (0 = 5000 default) */
    P_INT,      /* decimal integer within [min, max] (both 0 = any int64) */
    P_BOOL,     /* "true" / "false" */
    P_ENUM,     /* one of enums[] (NULL-terminated) */
    P_OBJECT,   /* map with fields[]; with P_EMPTY_OK the string "" is accepted too */
    P_ARRAY,    /* list, or map with keys "0".."n-1" in any order; each item is checked against
                   fields[0] (a one-entry table; NULL fields: strings); max_items (0 = 100) */
    P_METADATA, /* map string -> string with Stripe's metadata limits, or "" */
    P_RANGE,    /* integer, or map {gt,gte,lt,lte} of integers (range_query_specs) */
} param_type;

enum {
    P_REQUIRED = 1, /* must be present */
    P_EMPTY_OK = 2, /* the empty string is accepted, meaning "unset" (any type; e.g. P_OBJECT
                       options[document]); without it "" is parameter_invalid_empty */
};

typedef struct param_spec {
    const char *name; /* NULL terminates a table */
    param_type type;
    unsigned flags;
    size_t max_len;
    const char *const *enums;
    const struct param_spec *fields; /* P_OBJECT: its fields; P_ARRAY: item spec (one entry) */
    int64_t min, max;
    size_t max_items; /* P_ARRAY: 0 = 100 */
} param_spec;

/* Check every parameter in root against spec. Returns 0 (*err untouched), or -1 with *err
 * filled as listed above; its strings are literals or memory from a. root may be NULL (no
 * parameters; required fields are still checked). Recursion follows the spec, not the input. */
int params_validate(const form_node *root, const param_spec *spec, arena *a, apierr *err);

/* Readers for validated trees. map may be NULL. params_str gives the string ("" included) or
 * NULL when absent or not a string; params_bool and params_int give dflt when the parameter is
 * absent or holds no value of their type ("" included: see params_is_empty). */
const char *params_str(const form_node *map, const char *key);    /* NULL if absent */
int params_bool(const form_node *map, const char *key, int dflt); /* 1, 0 or dflt */
int64_t params_int(const form_node *map, const char *key, int64_t dflt);
/* 1 when the parameter is present and is the empty string. */
int params_is_empty(const form_node *map, const char *key);

/* Items of a validated P_ARRAY node in index order (list items, or map items placed by their
 * numeric key). Returns the count; *items is arena memory (NULL, with 0, for a NULL node, "" or
 * an empty container). */
size_t params_array(const form_node *node, arena *a, const form_node ***items);

/* The P_METADATA parameter "metadata" of map as the changes it asks for, for metadata_merge.
 * Returns 0 when it is absent (*u empty: nothing changes), else 1 with *u: clear for
 * metadata="", otherwise one pair per metadata[k] in the order sent (arena memory). */
int params_metadata(const form_node *map, arena *a, metadata_update *u);

/* Range filter (P_RANGE): which bounds are present and their values ("created=5" sets eq;
 * "created[gt]=5" sets gt). All zero when key is absent. */
typedef struct params_range {
    int has_eq, has_gt, has_gte, has_lt, has_lte;
    int64_t eq, gt, gte, lt, lte;
} params_range;
void params_get_range(const form_node *map, const char *key, params_range *r);

#endif
