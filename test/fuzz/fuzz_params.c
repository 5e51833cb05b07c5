/*
 * fuzz_params: libFuzzer harness for the parameter validator (src/api/params.c) and the API
 * layer's validation of a decoded form (api_validate, api_expand, api_page_read in api.c, and
 * sessions_validate in endpoints/sessions.c). The input is a form body, decoded with the
 * default limits; a body the decoder refuses is done with (fuzz_form.c covers that).
 *
 * Every decoded tree is validated against each spec below, and:
 *  - a refusal is Stripe's 400 invalid_request_error with a non-empty message and a `param`
 *    that are valid UTF-8, and a code from params.h's list (or none);
 *  - an acceptance means what params.h promises the handlers: no unknown name anywhere, every
 *    required field present, every value of its type and within its bounds, and the typed
 *    readers (params_str, params_int, params_bool, params_is_empty, params_array,
 *    params_metadata, params_get_range) agree with the tree; accepted metadata merges into an
 *    empty map without exceeding Stripe's limit;
 *  - through an api_ctx on the in-process HTTP fake (fuzz_http.h), a validator either answers
 *    exactly once with a well-formed JSON 400, or does not answer at all and returns 0.
 *
 * The specs are this harness's own: shapes copied from the endpoints' tables (sessions, lists,
 * webhook endpoints; those are static in their files) and one spec that exercises every type and
 * flag with small limits, so that each error is a few bytes away. The endpoints' real tables are
 * fuzzed through the whole pipeline (fuzz_pipeline.c). No store: nothing here runs a job.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_http.h"

#include "api/api.h"
#include "api/form.h"
#include "api/params.h"
#include "base/log.h"
#include "endpoints/endpoints.h"
#include "identity/limits.h"
#include "identity/metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* ---- the specs ---- */

static const char *const type_values[] = {"document", "id_number", NULL};
static const char *const status_values[] = {"canceled", "processing", "requires_input", "verified",
                                            NULL};
static const char *const doc_type_values[] = {"driving_license", "id_card", "passport", NULL};
static const char *const one_value[] = {"only", NULL};
static const char *const two_values[] = {"yes", "no", NULL};

static const param_spec string_item[] = {{"", P_STRING, 0, .max_len = 5000}, {NULL}};
static const param_spec doc_type_item[] = {{"", P_ENUM, 0, .enums = doc_type_values}, {NULL}};
static const param_spec document_fields[] = {
    {"allowed_types", P_ARRAY, 0, .fields = doc_type_item, .max_items = 3},
    {"require_id_number", P_BOOL},
    {"require_live_capture", P_BOOL},
    {"require_matching_selfie", P_BOOL},
    {NULL}};
static const param_spec options_fields[] = {
    {"document", P_OBJECT, P_EMPTY_OK, .fields = document_fields}, {NULL}};
static const param_spec provided_fields[] = {{"email", P_STRING, P_EMPTY_OK, .max_len = 5000},
                                             {"phone", P_STRING, P_EMPTY_OK, .max_len = 5000},
                                             {NULL}};
static const param_spec person_fields[] = {{"account", P_STRING, P_REQUIRED, .max_len = 5000},
                                           {"person", P_STRING, P_REQUIRED, .max_len = 5000},
                                           {NULL}};

/* The shape of POST /v1/identity/verification_sessions. */
static const param_spec session_create_spec[] = {
    {"client_reference_id", P_STRING, 0, .max_len = 5000},
    {"expand", P_ARRAY, 0, .fields = string_item},
    {"metadata", P_METADATA},
    {"options", P_OBJECT, 0, .fields = options_fields},
    {"provided_details", P_OBJECT, 0, .fields = provided_fields},
    {"related_customer", P_STRING, 0, .max_len = 5000},
    {"related_customer_account", P_STRING, 0, .max_len = 5000},
    {"related_person", P_OBJECT, 0, .fields = person_fields},
    {"return_url", P_STRING, 0, .max_len = URL_MAX},
    {"type", P_ENUM, 0, .enums = type_values},
    {"verification_flow", P_STRING, 0, .max_len = 5000},
    {NULL}};

/* The shape of GET /v1/identity/verification_sessions. */
static const param_spec session_list_spec[] = {
    {"client_reference_id", P_STRING, 0, .max_len = 5000},
    {"created", P_RANGE},
    {"ending_before", P_STRING, 0, .max_len = 5000},
    {"expand", P_ARRAY, 0, .fields = string_item},
    {"limit", P_INT, 0, .min = 1, .max = PAGE_LIMIT_MAX},
    {"related_customer", P_STRING, 0, .max_len = 5000},
    {"related_customer_account", P_STRING, 0, .max_len = 5000},
    {"starting_after", P_STRING, 0, .max_len = 5000},
    {"status", P_ENUM, 0, .enums = status_values},
    {NULL}};

/* The shape of POST /v1/webhook_endpoints: two required fields. */
static const param_spec webhook_create_spec[] = {
    {"api_version", P_STRING, 0, .max_len = 5000},
    {"connect", P_BOOL},
    {"description", P_STRING, P_EMPTY_OK, .max_len = 5000},
    {"enabled_events", P_ARRAY, P_REQUIRED, .fields = string_item, .max_items = 300},
    {"expand", P_ARRAY, 0, .fields = string_item},
    {"metadata", P_METADATA},
    {"url", P_STRING, P_REQUIRED, .max_len = 5000},
    {NULL}};

/* Every type and flag, with limits a few bytes can reach. */
static const param_spec pair_fields[] = {{"k", P_STRING, P_REQUIRED, .max_len = 3},
                                         {"n", P_INT, 0, .min = -5, .max = 5},
                                         {"tags", P_ARRAY, 0, .max_items = 2},
                                         {NULL}};
static const param_spec pair_item[] = {{"", P_OBJECT, 0, .fields = pair_fields}, {NULL}};
static const param_spec int_item[] = {{"", P_INT, 0, .min = INT64_MIN, .max = INT64_MAX}, {NULL}};
static const param_spec int_row[] = {{"", P_ARRAY, 0, .fields = int_item, .max_items = 3}, {NULL}};
static const param_spec kitchen_spec[] = {
    {"s", P_STRING, 0, .max_len = 4},
    {"e", P_STRING, P_EMPTY_OK},
    {"i", P_INT},
    {"lo", P_INT, 0, .min = INT64_MIN, .max = -1},
    {"hi", P_INT, 0, .min = 1, .max = INT64_MAX},
    {"b", P_BOOL, P_EMPTY_OK},
    {"one", P_ENUM, 0, .enums = one_value},
    {"two", P_ENUM, 0, .enums = two_values},
    {"obj", P_OBJECT, P_EMPTY_OK, .fields = pair_fields},
    {"pairs", P_ARRAY, 0, .fields = pair_item, .max_items = 4},
    {"grid", P_ARRAY, 0, .fields = int_row, .max_items = 3},
    {"any", P_ARRAY},
    {"metadata", P_METADATA},
    {"created", P_RANGE},
    {NULL}};

static const param_spec required_spec[] = {
    {"must", P_STRING, P_REQUIRED, .max_len = 10}, {"metadata", P_METADATA, P_REQUIRED}, {NULL}};

static const param_spec *const specs[] = {session_create_spec, session_list_spec,
                                          webhook_create_spec, kitchen_spec, required_spec};

/* The expandable fields of a session, for api_validate on a list (each entry "data.<field>"). */
static const char *const session_expandable[] = {
    "last_error", "last_verification_report", "options",          "provided_details",
    "redaction",  "related_person",           "verified_outputs", NULL};

/* ---- checking a result ---- */

static const uint8_t *cur_data;
static size_t cur_size;

static void params_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_params: %s%s%s (input: %.*s)\n", what, detail ? ": " : "",
            detail ? detail : "", (int)(cur_size < 300 ? cur_size : 300), (const char *)cur_data);
    abort();
}

static int utf8_ok(const char *s)
{
    return s != NULL && util_utf8_valid(s, strlen(s));
}

static size_t chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

static void check_refusal(const apierr *e)
{
    static const char *const codes[] = {"parameter_unknown",
                                        "parameter_missing",
                                        "parameter_invalid_empty",
                                        "parameter_invalid_integer",
                                        "parameter_invalid_boolean",
                                        "parameter_invalid_value",
                                        "parameter_invalid_string_too_long",
                                        "parameter_invalid_type",
                                        "parameter_invalid_array_too_long",
                                        NULL};
    if (e->status != 400 || e->type == NULL || strcmp(e->type, "invalid_request_error") != 0)
        params_fail("a refusal that is not a 400 invalid_request_error", e->message);
    if (!utf8_ok(e->message) || e->message[0] == '\0')
        params_fail("a refusal without a UTF-8 message", NULL);
    if (e->param != NULL && (!utf8_ok(e->param) || e->param[0] == '\0'))
        params_fail("a param that is empty or not UTF-8", e->message);
    if (e->code != NULL) {
        size_t i = 0;
        while (codes[i] != NULL && strcmp(codes[i], e->code) != 0)
            i++;
        if (codes[i] == NULL) params_fail("an unknown code", e->code);
    }
}

static int64_t parse_int_or_abort(const form_node *n)
{
    /* params.h: optional '-', then digits only (leading zeros too), within int64. */
    const char *s = n->str;
    if (n->len == 0 || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
        params_fail("an accepted integer that does not start as one", s);
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || errno != 0) params_fail("an accepted integer that is not one", s);
    return (int64_t)v;
}

static void check_accepted(const form_node *node, const param_spec *f, const form_node *parent,
                           arena *a);

/* Every child of map names a field, every required field is present, and each value is right. */
static void check_object(const form_node *map, const param_spec *fields, arena *a)
{
    if (map == NULL) return;
    for (const form_node *n = map->first; n != NULL; n = n->next) {
        const param_spec *f = fields;
        while (f != NULL && f->name != NULL && strcmp(f->name, n->key) != 0)
            f++;
        if (f == NULL || f->name == NULL) params_fail("an unknown parameter accepted", n->key);
        check_accepted(n, f, map, a);
    }
    for (const param_spec *f = fields; f != NULL && f->name != NULL; f++)
        if ((f->flags & P_REQUIRED) && form_get(map, f->name) == NULL)
            params_fail("a required parameter missing", f->name);
}

static void check_int_value(const form_node *node, const param_spec *f)
{
    if (node->kind != FORM_STR) params_fail("an accepted integer that is not a string", NULL);
    int64_t v = parse_int_or_abort(node);
    if ((f->min != 0 || f->max != 0) && (v < f->min || v > f->max))
        params_fail("an accepted integer out of bounds", node->str);
}

/* node is the value of field f (a key of parent, or an array item when parent is NULL). */
static void check_accepted(const form_node *node, const param_spec *f, const form_node *parent,
                           arena *a)
{
    const char *key = parent != NULL ? node->key : NULL;
    int empty = node->kind == FORM_STR && node->len == 0;
    if (key != NULL && params_is_empty(parent, key) != empty)
        params_fail("params_is_empty disagrees", key);
    if (empty && f->type != P_METADATA) {
        if (!(f->flags & P_EMPTY_OK)) params_fail("an empty string accepted", key);
        return;
    }

    switch (f->type) {
    case P_STRING:
    case P_ENUM: {
        if (node->kind != FORM_STR) params_fail("an accepted string that is not one", key);
        if (key != NULL && params_str(parent, key) != node->str)
            params_fail("params_str disagrees", key);
        if (f->type == P_STRING) {
            size_t max = f->max_len != 0 ? f->max_len : 5000;
            if (chars(node->str, node->len) > max) params_fail("a string too long", key);
        } else {
            const char *const *e = f->enums;
            while (*e != NULL && strcmp(*e, node->str) != 0)
                e++;
            if (*e == NULL) params_fail("a value outside the enum accepted", node->str);
        }
        break;
    }
    case P_INT:
        check_int_value(node, f);
        if (key != NULL && (params_int(parent, key, 1) != params_int(parent, key, 2) ||
                            params_int(parent, key, 1) != parse_int_or_abort(node)))
            params_fail("params_int disagrees", key);
        break;
    case P_BOOL: /* CONTRACT.md §11: true / false in any letter case */
        if (node->kind != FORM_STR ||
            (strcasecmp(node->str, "true") != 0 && strcasecmp(node->str, "false") != 0))
            params_fail("an accepted boolean that is not one", key);
        if (key != NULL && params_bool(parent, key, -1) != (strcasecmp(node->str, "true") == 0))
            params_fail("params_bool disagrees", key);
        break;
    case P_OBJECT:
        if (node->kind != FORM_MAP) params_fail("an accepted object that is not a map", key);
        check_object(node, f->fields, a);
        break;
    case P_ARRAY: {
        static const param_spec any_string = {"", P_STRING, 0, .max_len = 5000};
        size_t max = f->max_items != 0 ? f->max_items : 100;
        if (node->kind == FORM_STR) params_fail("an accepted array that is a string", key);
        const form_node **items;
        size_t n = params_array(node, a, &items);
        if (n != node->count || n > max) params_fail("params_array disagrees on the count", key);
        for (size_t i = 0; i < n; i++) {
            if (items[i] == NULL) params_fail("params_array left a hole", key);
            for (size_t k = 0; k < i; k++)
                if (items[k] == items[i]) params_fail("params_array repeated an item", key);
            if (node->kind == FORM_MAP) {
                char ix[24];
                snprintf(ix, sizeof ix, "%zu", i);
                if (strcmp(items[i]->key, ix) != 0) params_fail("an item out of place", ix);
            }
            check_accepted(items[i], f->fields != NULL ? &f->fields[0] : &any_string, NULL, a);
        }
        break;
    }
    case P_METADATA:
        if (node->kind == FORM_LIST) params_fail("accepted metadata that is a list", key);
        if (node->kind == FORM_MAP) {
            if (node->count > METADATA_MAX_KEYS) params_fail("too many metadata keys", key);
            for (const form_node *n = node->first; n != NULL; n = n->next) {
                if (n->kind != FORM_STR) params_fail("a metadata value that is not a string", key);
                if (chars(n->key, strlen(n->key)) > METADATA_MAX_KEY_LEN ||
                    chars(n->str, n->len) > METADATA_MAX_VALUE_LEN)
                    params_fail("a metadata key or value too long", n->key);
            }
        }
        if (parent != NULL && strcmp(key, "metadata") == 0) {
            metadata_update u;
            if (params_metadata(parent, a, &u) != 1 || u.clear != (node->kind == FORM_STR) ||
                u.n_set != (node->kind == FORM_MAP ? node->count : 0))
                params_fail("params_metadata disagrees", key);
            metadata_kv *md = NULL;
            size_t n_md = 0;
            if (metadata_merge(a, &u, &md, &n_md) != METADATA_OK || n_md > METADATA_MAX_KEYS ||
                n_md > u.n_set)
                params_fail("accepted metadata does not merge into an empty map", key);
        }
        break;
    case P_RANGE: {
        params_range r;
        if (node->kind == FORM_LIST) params_fail("an accepted range that is a list", key);
        if (key != NULL) params_get_range(parent, key, &r);
        if (node->kind == FORM_STR) {
            int64_t v = parse_int_or_abort(node);
            if (key != NULL && (!r.has_eq || r.eq != v || r.has_gt || r.has_lt))
                params_fail("params_get_range disagrees", key);
            break;
        }
        static const param_spec any_int = {"", P_INT};
        for (const form_node *n = node->first; n != NULL; n = n->next) {
            if (strcmp(n->key, "gt") != 0 && strcmp(n->key, "gte") != 0 &&
                strcmp(n->key, "lt") != 0 && strcmp(n->key, "lte") != 0)
                params_fail("an unknown range key accepted", n->key);
            check_int_value(n, &any_int);
        }
        if (key != NULL && (r.has_eq || r.has_gt != (form_get(node, "gt") != NULL) ||
                            r.has_gte != (form_get(node, "gte") != NULL) ||
                            r.has_lt != (form_get(node, "lt") != NULL) ||
                            r.has_lte != (form_get(node, "lte") != NULL) ||
                            (r.has_gt && r.gt != params_int(node, "gt", 0)) ||
                            (r.has_lte && r.lte != params_int(node, "lte", 0))))
            params_fail("params_get_range disagrees", key);
        break;
    }
    }
}

/* ---- validators behind an api_ctx ---- */

static app fuzz_app;

static api_ctx *ctx_new(form_node *params)
{
    http_request *r = fuzz_http_request("POST", "/v1/fuzz", NULL, NULL, 0);
    api_ctx *c = arena_calloc(r->a, sizeof *c);
    c->app = &fuzz_app;
    c->req = r;
    c->a = r->a;
    c->request_id = "req_fuzzparams";
    c->account = "acct_fuzz";
    c->params = params;
    return c;
}

/* rc is what the validator returned: -1 must come with exactly one JSON 400, 0 with none. */
static void ctx_done(api_ctx *c, int rc, const char *what)
{
    http_request *r = c->req;
    if (rc != 0 && rc != -1) params_fail("a validator returned neither 0 nor -1", what);
    if (rc == 0 && r->responses != 0) params_fail("a validator answered and returned 0", what);
    if (rc == -1) {
        if (r->responses != 1) params_fail("a validator returned -1 without answering", what);
        json_t *j = fuzz_http_check(r);
        if (r->status != 400) params_fail("a validator answered other than 400", what);
        json_decref(j);
    }
    fuzz_http_free(r);
}

static void run_validators(form_node *root)
{
    api_ctx *c = ctx_new(root);
    unsigned expand = 0;
    int rc = sessions_validate(c, session_create_spec, &expand);
    if (rc == 0) {
        if (expand >= 1u << 7) params_fail("expand flags beyond the expandable fields", NULL);
        /* Restricted paths below the first level: answers 0 or 1, never more. */
        if (api_expand_path(c, "verified_outputs.dob", 0) > 1)
            params_fail("api_expand_path beyond 1", NULL);
    }
    ctx_done(c, rc, "sessions_validate");

    c = ctx_new(root);
    unsigned flags = 0;
    rc = api_validate(c, session_list_spec, session_expandable, 1, &flags);
    if (rc == 0) {
        api_page p;
        rc = api_page_read(c, &p);
        if (rc == 0 && (p.limit < 1 || p.limit > PAGE_LIMIT_MAX ||
                        (p.starting_after != NULL && p.ending_before != NULL)))
            params_fail("api_page_read accepted a bad page", NULL);
        if (rc == 0 && api_expand_path(c, "verified_outputs.dob", 1) > 1)
            params_fail("api_expand_path beyond 1", NULL);
    }
    ctx_done(c, rc, "api_validate (list) / api_page_read");

    c = ctx_new(root);
    rc = api_validate(c, kitchen_spec, session_expandable, 0, NULL);
    ctx_done(c, rc, "api_validate (kitchen)");
}

/* ---- the harness ---- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    log_level = LOG_ERROR;
    fuzz_app.public_url = "http://verifyd.test";
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena *a = arena_new();
    form_node *root = NULL;
    const char *msg;
    cur_data = data;
    cur_size = size;

    if (form_parse(a, (const char *)data, size, NULL, &root, &msg) == 0) {
        for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
            apierr e = {0};
            int rc = params_validate(root, specs[i], a, &e);
            if (rc == 0)
                check_object(root, specs[i], a);
            else if (rc == -1)
                check_refusal(&e);
            else
                params_fail("params_validate returned neither 0 nor -1", NULL);
        }
        /* Odd sizes render the answers pretty-printed: the writer's other layout. */
        fuzz_app.pretty_json = (int)(size & 1);
        run_validators(root);
    }
    /* No parameters at all: required fields are still checked. */
    apierr e = {0};
    if (params_validate(NULL, required_spec, a, &e) != -1) params_fail("NULL root accepted", NULL);
    check_refusal(&e);

    arena_free(a);
    return 0;
}
