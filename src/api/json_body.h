/*
 * json_body: the decoder for the JSON request bodies of the v2 API (CONTRACT.md §11 "Versions":
 * /v2 endpoints take application/json), into the same tree the form decoder builds (form.h), so
 * that one validator (params.c) checks both encodings.
 *
 *   {"a": "x"}              -> map{a: "x"}
 *   {"a": {"b": 1}}         -> map{a: map{b: "1"}}     (a number keeps its text)
 *   {"a": ["x", "y"]}       -> map{a: list["x","y"]}
 *   {"a": true}             -> map{a: "true"}          (booleans as params.c reads them)
 *   {"a": null}             -> map{a: ""}              (v2 unsets with null, as v1 does with "")
 *
 * The top level must be an object. A repeated key keeps the last value, at the place of its first
 * appearance. Strings must be valid UTF-8 without NUL (\u0000 is refused); \uXXXX escapes,
 * surrogate pairs included, are decoded.
 *
 * Untrusted sizes are bounded before anything is allocated for them (STYLE.md §4): nesting depth,
 * number of values, key and value lengths (json_body_limits). Nesting is walked by recursion
 * bounded by max_depth, never by the input's length.
 *
 * Malformed input is -1 with a message fit for a 400 ("Invalid JSON at byte N: ..."). Nodes and
 * strings live in the arena; nothing to free separately.
 */
#ifndef VERIFYD_JSON_BODY_H
#define VERIFYD_JSON_BODY_H

#include <stddef.h>

#include "api/form.h"
#include "base/arena.h"

typedef struct json_body_limits {
    int max_depth;        /* objects and arrays inside the top-level object */
    int max_values;       /* values of any kind, containers included */
    size_t max_key_len;   /* decoded bytes of one key */
    size_t max_value_len; /* decoded bytes of one string or number */
} json_body_limits;

/* Defaults, those of the form decoder: depth 5, 1000 values, key 512 bytes, value 64 KiB. */
extern const json_body_limits json_body_default_limits;

/* Decode data[0..len) into *root (a FORM_MAP). lim NULL means json_body_default_limits. An empty
 * body (only whitespace) is the empty object. Returns 0, or -1 with *errmsg (arena memory or a
 * literal); on error *root is untouched. */
int json_body_parse(arena *a, const char *data, size_t len, const json_body_limits *lim,
                    form_node **root, const char **errmsg);

#endif
