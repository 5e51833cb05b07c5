/*
 * Unit tests for params.c: validation of decoded forms against specs shaped like the
 * VerificationSession create and list endpoints, asserting status, type, code, param and message
 * for every error class params.h documents, and the typed readers on validated trees.
 *
 * Not for the form decoder itself (test_form.c) nor for the endpoints' cross-field rules.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "api/form.h"
#include "api/params.h"

/* ---- specs ----------------------------------------------------------------------------------- */

static const char *const doc_types[] = {"driving_license", "id_card", "passport", NULL};
static const char *const type_values[] = {"document", "id_number", NULL};
static const char *const status_values[] = {"canceled", "processing", "requires_input", "verified",
                                            NULL};
static const char *const one_value[] = {"only", NULL};

static const param_spec allowed_type_item[] = {
    {"item", P_ENUM, .enums = doc_types},
    {NULL},
};
static const param_spec expand_item[] = {
    {"item", P_STRING, .max_len = 5000},
    {NULL},
};

static const param_spec document_fields[] = {
    {"allowed_types", P_ARRAY, .fields = allowed_type_item},
    {"require_id_number", P_BOOL},
    {"require_live_capture", P_BOOL},
    {"require_matching_selfie", P_BOOL},
    {NULL},
};

static const param_spec options_fields[] = {
    {"document", P_OBJECT, P_EMPTY_OK, .fields = document_fields},
    {NULL},
};

static const param_spec provided_fields[] = {
    {"email", P_STRING},
    {"phone", P_STRING},
    {NULL},
};

static const param_spec related_person_fields[] = {
    {"account", P_STRING, P_REQUIRED, .max_len = 5000},
    {"person", P_STRING, P_REQUIRED, .max_len = 5000},
    {NULL},
};

static const param_spec create_spec[] = {
    {"client_reference_id", P_STRING, .max_len = 5000},
    {"expand", P_ARRAY, .fields = expand_item},
    {"metadata", P_METADATA},
    {"options", P_OBJECT, .fields = options_fields},
    {"provided_details", P_OBJECT, .fields = provided_fields},
    {"related_customer", P_STRING, .max_len = 5000},
    {"related_person", P_OBJECT, .fields = related_person_fields},
    {"return_url", P_STRING},
    {"type", P_ENUM, .enums = type_values},
    {"verification_flow", P_STRING, .max_len = 5000},
    {NULL},
};

static const param_spec list_spec[] = {
    {"created", P_RANGE},
    {"ending_before", P_STRING},
    {"expand", P_ARRAY, .fields = expand_item},
    {"limit", P_INT, .min = 1, .max = 100},
    {"starting_after", P_STRING},
    {"status", P_ENUM, .enums = status_values},
    {NULL},
};

/* Odds and ends: a required top-level field, any-int64, arrays of objects, small limits. */
static const param_spec line_fields[] = {
    {"name", P_STRING, P_REQUIRED, .max_len = 3},
    {"qty", P_INT},
    {NULL},
};
static const param_spec line_item[] = {
    {"item", P_OBJECT, .fields = line_fields},
    {NULL},
};
static const param_spec misc_spec[] = {
    {"id", P_STRING, P_REQUIRED},
    {"n", P_INT},
    {"lines", P_ARRAY, .fields = line_item, .max_items = 3},
    {"tags", P_ARRAY, P_EMPTY_OK},
    {"one", P_ENUM, .enums = one_value},
    {"note", P_STRING, P_EMPTY_OK, .max_len = 4},
    {"flag", P_BOOL, P_EMPTY_OK},
    {NULL},
};

/* ---- helpers --------------------------------------------------------------------------------- */

typedef struct fixture {
    arena *a;
    form_node *root;
    apierr err;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->a = arena_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    arena_free(f->a);
    free(f);
    return 0;
}

/* Decodes body (which must be well-formed) and validates it; returns params_validate's result. */
static int run(fixture *f, const param_spec *spec, const char *body)
{
    const char *msg = NULL;
    memset(&f->err, 0, sizeof f->err);
    f->root = NULL;
    if (form_parse(f->a, body, strlen(body), NULL, &f->root, &msg) != 0)
        fail_msg("form_parse refused \"%.80s\": %s", body, msg);
    return params_validate(f->root, spec, f->a, &f->err);
}

static void expect_ok(fixture *f, const param_spec *spec, const char *body)
{
    if (run(f, spec, body) != 0)
        fail_msg("\"%.80s\" refused: %s (code %s, param %s)", body, f->err.message,
                 f->err.code ? f->err.code : "-", f->err.param ? f->err.param : "-");
}

/* Asserts a 400 invalid_request_error with exactly this code (NULL: none), param and message. */
static void expect_err(fixture *f, const param_spec *spec, const char *body, const char *code,
                       const char *param, const char *message)
{
    if (run(f, spec, body) != -1) fail_msg("\"%.80s\" accepted", body);
    assert_int_equal(f->err.status, 400);
    assert_string_equal(f->err.type, "invalid_request_error");
    if (code == NULL)
        assert_null(f->err.code);
    else
        assert_string_equal(f->err.code, code);
    if (param == NULL)
        assert_null(f->err.param);
    else
        assert_string_equal(f->err.param, param);
    assert_string_equal(f->err.message, message);
}

static char *repeat(const char *unit, size_t times)
{
    size_t ul = strlen(unit);
    char *s = malloc(ul * times + 1);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * ul, unit, ul);
    s[ul * times] = '\0';
    return s;
}

/* ---- success and readers --------------------------------------------------------------------- */

static void test_valid_create(void **state)
{
    fixture *f = *state;
    expect_ok(f, create_spec,
              "type=document&client_reference_id=u_1&metadata[order]=42&metadata[gone]=&"
              "options[document][allowed_types][]=passport&options[document][allowed_types][]="
              "id_card&options[document][require_id_number]=true&"
              "options[document][require_matching_selfie]=false&provided_details[email]=a%40b.co&"
              "related_person[account]=acct_1&related_person[person]=person_1&"
              "expand[0]=last_verification_report&return_url=https%3A%2F%2Fx.test%2F");
    form_node *r = f->root;
    assert_string_equal(params_str(r, "type"), "document");
    assert_string_equal(params_str(r, "client_reference_id"), "u_1");
    assert_null(params_str(r, "verification_flow"));
    assert_null(params_str(r, "options")); /* not a string */
    form_node *md = form_get(r, "metadata");
    assert_string_equal(params_str(md, "order"), "42");
    assert_true(params_is_empty(md, "gone"));
    assert_false(params_is_empty(md, "order"));
    assert_false(params_is_empty(md, "absent"));
    form_node *doc = form_get(form_get(r, "options"), "document");
    assert_int_equal(params_bool(doc, "require_id_number", 0), 1);
    assert_int_equal(params_bool(doc, "require_matching_selfie", 1), 0);
    assert_int_equal(params_bool(doc, "require_live_capture", 7), 7);
    const form_node **items;
    assert_int_equal(params_array(form_get(doc, "allowed_types"), f->a, &items), 2);
    assert_string_equal(items[0]->str, "passport");
    assert_string_equal(items[1]->str, "id_card");
    assert_int_equal(params_array(form_get(r, "expand"), f->a, &items), 1);
    assert_string_equal(items[0]->str, "last_verification_report");
    assert_string_equal(params_str(form_get(r, "provided_details"), "email"), "a@b.co");
    assert_string_equal(params_str(r, "return_url"), "https://x.test/");
}

static void test_valid_empty_and_none(void **state)
{
    fixture *f = *state;
    expect_ok(f, create_spec, "");
    assert_int_equal(params_validate(NULL, create_spec, f->a, &f->err), 0);
    /* "" unsets: allowed for metadata (whole or one key) and options[document]. */
    expect_ok(f, create_spec, "metadata=&options[document]=");
    assert_true(params_is_empty(f->root, "metadata"));
    assert_true(params_is_empty(form_get(f->root, "options"), "document"));
    const form_node **items;
    assert_int_equal(params_array(form_get(form_get(f->root, "options"), "document"), f->a, &items),
                     0);
    assert_int_equal(params_array(NULL, f->a, &items), 0);
    assert_null(items);
    expect_ok(f, create_spec, "metadata[k]=");
    expect_ok(f, create_spec, "metadata[0]=x&metadata[1]=y"); /* index-like keys are just keys */
    expect_ok(f, misc_spec, "id=x&tags=&note=&flag=");
    assert_int_equal(params_bool(f->root, "flag", 5), 5);
    assert_int_equal(params_array(form_get(f->root, "tags"), f->a, &items), 0);
}

static void test_arrays(void **state)
{
    fixture *f = *state;
    const form_node **items;
    /* Indexed in any order, read back in index order. */
    expect_ok(f, create_spec, "expand[2]=c&expand[0]=a&expand[1]=b");
    assert_int_equal(params_array(form_get(f->root, "expand"), f->a, &items), 3);
    assert_string_equal(items[0]->str, "a");
    assert_string_equal(items[1]->str, "b");
    assert_string_equal(items[2]->str, "c");
    expect_ok(f, create_spec, "expand[]=a&expand[]=b");
    assert_int_equal(params_array(form_get(f->root, "expand"), f->a, &items), 2);
    assert_string_equal(items[1]->str, "b");
    /* Both forms at 100 items (the default maximum). */
    buf b;
    buf_init(&b, f->a);
    for (int i = 0; i < 100; i++)
        buf_printf(&b, "%sexpand[%d]=x%d", i ? "&" : "", 99 - i, i);
    expect_ok(f, create_spec, b.data);
    assert_int_equal(params_array(form_get(f->root, "expand"), f->a, &items), 100);
    assert_string_equal(items[0]->str, "x99");
    assert_string_equal(items[99]->str, "x0");
    /* Arrays of objects. */
    expect_ok(f, misc_spec, "id=1&lines[0][name]=a&lines[0][qty]=2&lines[1][name]=b");
    assert_int_equal(params_array(form_get(f->root, "lines"), f->a, &items), 2);
    assert_int_equal(params_int(items[0], "qty", 0), 2);
    assert_int_equal(params_int(items[1], "qty", -1), -1);
}

static void test_integers_and_ranges(void **state)
{
    fixture *f = *state;
    params_range r;
    expect_ok(f, list_spec, "limit=1&created=1700000000");
    assert_int_equal(params_int(f->root, "limit", 10), 1);
    assert_int_equal(params_int(f->root, "absent", 10), 10);
    params_get_range(f->root, "created", &r);
    assert_true(r.has_eq);
    assert_false(r.has_gt || r.has_gte || r.has_lt || r.has_lte);
    assert_int_equal(r.eq, 1700000000);
    expect_ok(f, list_spec, "limit=100&created[gt]=5&created[lte]=-7");
    params_get_range(f->root, "created", &r);
    assert_false(r.has_eq || r.has_gte || r.has_lt);
    assert_true(r.has_gt && r.has_lte);
    assert_int_equal(r.gt, 5);
    assert_int_equal(r.lte, -7);
    params_get_range(f->root, "absent", &r);
    assert_false(r.has_eq || r.has_gt || r.has_gte || r.has_lt || r.has_lte);
    expect_ok(f, list_spec, "created[gte]=1&created[lt]=2");
    params_get_range(f->root, "created", &r);
    assert_true(r.has_gte && r.has_lt && r.gte == 1 && r.lt == 2);
    /* Any int64 when min and max are both 0. */
    expect_ok(f, misc_spec, "id=x&n=-9223372036854775808");
    assert_true(params_int(f->root, "n", 0) == INT64_MIN);
    expect_ok(f, misc_spec, "id=x&n=9223372036854775807");
    assert_true(params_int(f->root, "n", 0) == INT64_MAX);
    expect_ok(f, misc_spec, "id=x&n=007");
    assert_int_equal(params_int(f->root, "n", 0), 7);
}

/* ---- errors ---------------------------------------------------------------------------------- */

static void test_unknown(void **state)
{
    fixture *f = *state;
    expect_err(f, create_spec, "foo=1", "parameter_unknown", "foo",
               "Received unknown parameter: foo");
    expect_err(f, create_spec, "options[email]=x", "parameter_unknown", "options[email]",
               "Received unknown parameter: options[email]");
    expect_err(f, create_spec, "options[document][require_dob]=true", "parameter_unknown",
               "options[document][require_dob]",
               "Received unknown parameter: options[document][require_dob]");
    expect_err(f, list_spec, "created[foo]=1", "parameter_unknown", "created[foo]",
               "Received unknown parameter: created[foo]");
    expect_err(f, misc_spec, "id=1&lines[0][name]=a&lines[1][bad]=1", "parameter_unknown",
               "lines[1][bad]", "Received unknown parameter: lines[1][bad]");
}

static void test_unknown_first_and_in_order(void **state)
{
    fixture *f = *state;
    /* Unknown parameters win over every other problem, wherever they are. */
    expect_err(f, create_spec, "type=bogus&limit=abc", "parameter_unknown", "limit",
               "Received unknown parameter: limit");
    expect_err(f, create_spec, "related_person[account]=a&zzz=1", "parameter_unknown", "zzz",
               "Received unknown parameter: zzz");
    /* The first in order of appearance. */
    expect_err(f, create_spec, "foo=1&bar=2", "parameter_unknown", "foo",
               "Received unknown parameter: foo");
    expect_err(f, create_spec, "options[document][x]=1&zzz=1", "parameter_unknown",
               "options[document][x]", "Received unknown parameter: options[document][x]");
    expect_err(f, create_spec, "zzz=1&options[document][x]=1", "parameter_unknown", "zzz",
               "Received unknown parameter: zzz");
    /* Other problems are reported in order of appearance too. */
    expect_err(f, create_spec, "type=bogus&options[document][require_id_number]=maybe",
               "parameter_invalid_value", "type",
               "Invalid type: must be one of document or id_number");
    expect_err(f, create_spec, "options[document][require_id_number]=maybe&type=bogus",
               "parameter_invalid_boolean", "options[document][require_id_number]",
               "Invalid boolean: maybe");
}

static void test_missing(void **state)
{
    fixture *f = *state;
    expect_err(f, create_spec, "related_person[account]=acct_1", "parameter_missing",
               "related_person[person]", "Missing required param: related_person[person].");
    expect_err(f, create_spec, "related_person[person]=p", "parameter_missing",
               "related_person[account]", "Missing required param: related_person[account].");
    expect_err(f, misc_spec, "", "parameter_missing", "id", "Missing required param: id.");
    expect_err(f, misc_spec, "n=1", "parameter_missing", "id", "Missing required param: id.");
    assert_int_equal(params_validate(NULL, misc_spec, f->a, &f->err), -1);
    assert_string_equal(f->err.code, "parameter_missing");
    expect_err(f, misc_spec, "id=1&lines[0][qty]=1", "parameter_missing", "lines[0][name]",
               "Missing required param: lines[0][name].");
    /* A present value is checked before the object's missing fields. */
    expect_err(f, create_spec, "related_person[account][x]=1", "parameter_invalid_type",
               "related_person[account]",
               "Invalid string: related_person[account] must be a string, not an object");
}

static void test_invalid_integer(void **state)
{
    fixture *f = *state;
    expect_err(f, list_spec, "limit=abc", "parameter_invalid_integer", "limit",
               "Invalid integer: abc");
    expect_err(f, list_spec, "limit=%2B5", "parameter_invalid_integer", "limit",
               "Invalid integer: +5");
    expect_err(f, list_spec, "limit=+5", "parameter_invalid_integer", "limit",
               "Invalid integer:  5");
    expect_err(f, list_spec, "limit=1.5", "parameter_invalid_integer", "limit",
               "Invalid integer: 1.5");
    expect_err(f, list_spec, "limit=-", "parameter_invalid_integer", "limit", "Invalid integer: -");
    expect_err(f, list_spec, "limit=10x", "parameter_invalid_integer", "limit",
               "Invalid integer: 10x");
    expect_err(f, misc_spec, "id=1&n=9223372036854775808", "parameter_invalid_integer", "n",
               "Invalid integer: 9223372036854775808");
    expect_err(f, misc_spec, "id=1&n=-9223372036854775809", "parameter_invalid_integer", "n",
               "Invalid integer: -9223372036854775809");
    expect_err(f, list_spec, "limit=0", "parameter_invalid_integer", "limit",
               "This value must be greater than or equal to 1.");
    expect_err(f, list_spec, "limit=101", "parameter_invalid_integer", "limit",
               "This value must be less than or equal to 100.");
    expect_err(f, list_spec, "limit=-99999999999999999999", "parameter_invalid_integer", "limit",
               "Invalid integer: -99999999999999999999");
    expect_err(f, list_spec, "created=x", "parameter_invalid_integer", "created",
               "Invalid integer: x");
    expect_err(f, list_spec, "created[gt]=1&created[lt]=soon", "parameter_invalid_integer",
               "created[lt]", "Invalid integer: soon");
    /* Long values are quoted in part. */
    char *body = repeat("9", 150);
    char *full = malloc(strlen(body) + 16);
    sprintf(full, "limit=%sx", body);
    char want[200];
    snprintf(want, sizeof want, "Invalid integer: %.100s...", body);
    expect_err(f, list_spec, full, "parameter_invalid_integer", "limit", want);
    free(full);
    free(body);
}

static void test_invalid_boolean(void **state)
{
    fixture *f = *state;
    expect_err(f, create_spec, "options[document][require_id_number]=yes",
               "parameter_invalid_boolean", "options[document][require_id_number]",
               "Invalid boolean: yes");
    expect_err(f, create_spec, "options[document][require_live_capture]=Truth",
               "parameter_invalid_boolean", "options[document][require_live_capture]",
               "Invalid boolean: Truth");
    /* Any letter case: older stripe-python sends Python's str() of a bool. */
    expect_ok(f, create_spec,
              "options[document][require_live_capture]=True&options[document][require_id_number]="
              "FALSE&options[document][require_matching_selfie]=fAlSe");
    expect_err(f, create_spec, "options[document][require_live_capture]=1",
               "parameter_invalid_boolean", "options[document][require_live_capture]",
               "Invalid boolean: 1");
}

static void test_invalid_enum(void **state)
{
    fixture *f = *state;
    expect_err(f, create_spec, "type=selfie", "parameter_invalid_value", "type",
               "Invalid type: must be one of document or id_number");
    expect_err(f, create_spec,
               "options[document][allowed_types][0]=passport&"
               "options[document][allowed_types][1]=visa",
               "parameter_invalid_value", "options[document][allowed_types][1]",
               "Invalid options[document][allowed_types][1]: must be one of driving_license, "
               "id_card, or passport");
    expect_err(f, create_spec, "options[document][allowed_types][]=visa", "parameter_invalid_value",
               "options[document][allowed_types][0]",
               "Invalid options[document][allowed_types][0]: must be one of driving_license, "
               "id_card, or passport");
    expect_err(f, list_spec, "status=done", "parameter_invalid_value", "status",
               "Invalid status: must be one of canceled, processing, requires_input, or "
               "verified");
    expect_err(f, misc_spec, "id=1&one=two", "parameter_invalid_value", "one",
               "Invalid one: must be only");
    expect_err(f, create_spec, "type=Document", "parameter_invalid_value", "type",
               "Invalid type: must be one of document or id_number");
}

static void test_too_long(void **state)
{
    fixture *f = *state;
    char *v = repeat("a", 5001);
    char *body = malloc(strlen(v) + 32);
    sprintf(body, "client_reference_id=%s", v);
    expect_err(f, create_spec, body, "parameter_invalid_string_too_long", "client_reference_id",
               "Invalid string: aaaaaaaaaaaaaaaaaaaa...; must be at most 5000 characters");
    body[strlen(body) - 1] = '\0';
    expect_ok(f, create_spec, body);
    free(body);
    free(v);
    /* Characters, not bytes: 5000 two-byte characters fit. */
    v = repeat("%C3%A9", 5000);
    body = malloc(strlen(v) + 64);
    sprintf(body, "client_reference_id=%s", v);
    expect_ok(f, create_spec, body);
    sprintf(body, "client_reference_id=%s%%C3%%A9", v);
    expect_err(f, create_spec, body, "parameter_invalid_string_too_long", "client_reference_id",
               "Invalid string: \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
               "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
               "\xc3\xa9\xc3\xa9...; must be at most 5000 characters");
    free(body);
    free(v);
    /* The default maximum is 5000 too. */
    v = repeat("b", 5001);
    body = malloc(strlen(v) + 32);
    sprintf(body, "return_url=%s", v);
    expect_err(f, create_spec, body, "parameter_invalid_string_too_long", "return_url",
               "Invalid string: bbbbbbbbbbbbbbbbbbbb...; must be at most 5000 characters");
    free(body);
    free(v);
    expect_err(f, misc_spec, "id=1&note=abcde", "parameter_invalid_string_too_long", "note",
               "Invalid string: abcde...; must be at most 4 characters");
    expect_err(f, misc_spec, "id=1&lines[0][name]=abcd", "parameter_invalid_string_too_long",
               "lines[0][name]", "Invalid string: abcd...; must be at most 3 characters");
}

static void test_invalid_type(void **state)
{
    fixture *f = *state;
    expect_err(f, create_spec, "client_reference_id[x]=1", "parameter_invalid_type",
               "client_reference_id",
               "Invalid string: client_reference_id must be a string, not an object");
    expect_err(f, create_spec, "client_reference_id[]=1", "parameter_invalid_type",
               "client_reference_id",
               "Invalid string: client_reference_id must be a string, not an array");
    expect_err(f, create_spec, "type[]=document", "parameter_invalid_type", "type",
               "Invalid string: type must be a string, not an array");
    expect_err(f, list_spec, "limit[x]=1", "parameter_invalid_type", "limit",
               "Invalid integer: limit must be an integer, not an object");
    expect_err(f, create_spec, "options[document][require_id_number][]=true",
               "parameter_invalid_type", "options[document][require_id_number]",
               "Invalid boolean: options[document][require_id_number] must be a boolean, not an "
               "array");
    expect_err(f, create_spec, "options=x", NULL, "options", "Invalid hash");
    expect_err(f, create_spec, "options[]=x", NULL, "options", "Invalid hash");
    expect_err(f, create_spec, "options[document]=x", NULL, "options[document]", "Invalid hash");
    expect_err(f, create_spec, "expand=foo", NULL, "expand", "Invalid array");
    expect_err(f, create_spec, "expand[a]=x", NULL, "expand", "Invalid array");
    expect_err(f, create_spec, "expand[0]=a&expand[2]=b", NULL, "expand", "Invalid array");
    expect_err(f, create_spec, "expand[00]=a", NULL, "expand", "Invalid array");
    expect_err(f, create_spec, "expand[1]=a", NULL, "expand", "Invalid array");
    expect_err(f, create_spec, "expand[-0]=a", NULL, "expand", "Invalid array");
    expect_err(f, create_spec, "expand[0][x]=a", "parameter_invalid_type", "expand[0]",
               "Invalid string: expand[0] must be a string, not an object");
    expect_err(f, list_spec, "created[]=1", "parameter_invalid_type", "created",
               "Invalid range: created must be an integer or an object with gt, gte, lt or lte, "
               "not an array");
    expect_err(f, list_spec, "created[gt][x]=1", "parameter_invalid_type", "created[gt]",
               "Invalid integer: created[gt] must be an integer, not an object");
    expect_err(f, create_spec, "provided_details=a", NULL, "provided_details", "Invalid hash");
    expect_err(f, misc_spec, "id=1&lines[0]=x", NULL, "lines[0]", "Invalid hash");
}

static void test_invalid_empty(void **state)
{
    fixture *f = *state;
    static const char *const params[] = {
        "type",
        "client_reference_id",
        "options[document][require_id_number]",
        "expand",
        "related_person",
        "options",
        "provided_details[email]",
        "expand[0]",
    };
    static const char *const bodies[] = {
        "type=",
        "client_reference_id=",
        "options[document][require_id_number]=",
        "expand=",
        "related_person=",
        "options=",
        "provided_details[email]=",
        "expand[]=",
    };
    char want[600];
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        snprintf(want, sizeof want,
                 "You passed an empty string for '%s'. We assume empty values are an attempt to "
                 "unset a parameter; however '%s' cannot be unset. You should remove '%s' from "
                 "your request or supply a non-empty value.",
                 params[i], params[i], params[i]);
        expect_err(f, create_spec, bodies[i], "parameter_invalid_empty", params[i], want);
    }
    snprintf(want, sizeof want,
             "You passed an empty string for '%s'. We assume empty values are an attempt to "
             "unset a parameter; however '%s' cannot be unset. You should remove '%s' from "
             "your request or supply a non-empty value.",
             "limit", "limit", "limit");
    expect_err(f, list_spec, "limit=", "parameter_invalid_empty", "limit", want);
    snprintf(want, sizeof want,
             "You passed an empty string for '%s'. We assume empty values are an attempt to "
             "unset a parameter; however '%s' cannot be unset. You should remove '%s' from "
             "your request or supply a non-empty value.",
             "created[gt]", "created[gt]", "created[gt]");
    expect_err(f, list_spec, "created[gt]=", "parameter_invalid_empty", "created[gt]", want);
}

static void test_metadata(void **state)
{
    fixture *f = *state;
    buf b;
    buf_init(&b, f->a);
    for (int i = 0; i < 50; i++)
        buf_printf(&b, "%smetadata[k%d]=v", i ? "&" : "", i);
    expect_ok(f, create_spec, b.data);
    buf_puts(&b, "&metadata[k50]=v");
    expect_err(f, create_spec, b.data, NULL, "metadata",
               "Metadata can have up to 50 keys, but you've set 51.");

    char *key = repeat("k", 41);
    buf_reset(&b);
    buf_printf(&b, "metadata[%s]=v", key);
    char want[1000];
    snprintf(want, sizeof want,
             "Metadata keys can have up to 40 characters, but you passed in a key that is 41 "
             "characters. Invalid key: %s",
             key);
    char param[100];
    snprintf(param, sizeof param, "metadata[%s]", key);
    expect_err(f, create_spec, b.data, NULL, param, want);
    key[40] = '\0';
    buf_reset(&b);
    buf_printf(&b, "metadata[%s]=v", key);
    expect_ok(f, create_spec, b.data);
    free(key);
    /* 40 two-byte characters are 40 characters. */
    key = repeat("%C3%A9", 40);
    buf_reset(&b);
    buf_printf(&b, "metadata[%s]=v", key);
    expect_ok(f, create_spec, b.data);
    free(key);

    char *val = repeat("x", 501);
    buf_reset(&b);
    buf_printf(&b, "metadata[note]=%s", val);
    snprintf(want, sizeof want,
             "Metadata values can have up to 500 characters, but you passed in a value that is "
             "501 characters. Invalid value: %.100s...",
             val);
    expect_err(f, create_spec, b.data, NULL, "metadata[note]", want);
    val[500] = '\0';
    buf_reset(&b);
    buf_printf(&b, "metadata[note]=%s", val);
    expect_ok(f, create_spec, b.data);
    free(val);

    expect_err(f, create_spec, "metadata[a][b]=1", "parameter_invalid_type", "metadata[a]",
               "Invalid string: metadata[a] must be a string, not an object");
    expect_err(f, create_spec, "metadata[a][]=1", "parameter_invalid_type", "metadata[a]",
               "Invalid string: metadata[a] must be a string, not an array");
    expect_err(f, create_spec, "metadata[]=x", NULL, "metadata", "Invalid hash");
    expect_err(f, create_spec, "metadata=x", NULL, "metadata", "Invalid hash");
}

/* params_metadata reads a validated metadata parameter as metadata_merge's changes. */
static void test_metadata_reader(void **state)
{
    fixture *f = *state;
    metadata_update u;
    expect_ok(f, create_spec, "type=document");
    assert_int_equal(params_metadata(f->root, f->a, &u), 0);
    assert_false(u.clear);
    assert_int_equal(u.n_set, 0);
    expect_ok(f, create_spec, "metadata=");
    assert_int_equal(params_metadata(f->root, f->a, &u), 1);
    assert_true(u.clear);
    assert_int_equal(u.n_set, 0);
    expect_ok(f, create_spec, "metadata[b]=2&metadata[a]=&metadata[b]=3");
    assert_int_equal(params_metadata(f->root, f->a, &u), 1);
    assert_false(u.clear);
    assert_int_equal(u.n_set, 2); /* a repeated key keeps its last value, at its first place */
    assert_string_equal(u.set[0].key, "b");
    assert_string_equal(u.set[0].value, "3");
    assert_string_equal(u.set[1].key, "a");
    assert_string_equal(u.set[1].value, "");
}

static void test_array_too_long(void **state)
{
    fixture *f = *state;
    buf b;
    buf_init(&b, f->a);
    for (int i = 0; i < 101; i++)
        buf_printf(&b, "%sexpand[]=x", i ? "&" : "");
    expect_err(f, create_spec, b.data, "parameter_invalid_array_too_long", "expand",
               "Invalid array: expand can have at most 100 items; you passed 101");
    expect_err(f, misc_spec,
               "id=1&lines[0][name]=a&lines[1][name]=a&lines[2][name]=a&lines[3][name]=a",
               "parameter_invalid_array_too_long", "lines",
               "Invalid array: lines can have at most 3 items; you passed 4");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_valid_create),    T(test_valid_empty_and_none),
        T(test_arrays),          T(test_integers_and_ranges),
        T(test_unknown),         T(test_unknown_first_and_in_order),
        T(test_missing),         T(test_invalid_integer),
        T(test_invalid_boolean), T(test_invalid_enum),
        T(test_too_long),        T(test_invalid_type),
        T(test_invalid_empty),   T(test_metadata),
        T(test_array_too_long),  T(test_metadata_reader),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
