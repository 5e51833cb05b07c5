/*
 * Unit tests for apierr.c: the exact JSON of an error with code and param, of one without a
 * code, without a request ID and of a bare one (message and type only); apierr_set and
 * apierr_invalid fill every field and return -1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "api/apierr.h"

static const char *render(arena *a, const apierr *e, const char *request_id, int pretty)
{
    buf *b = arena_alloc(a, sizeof *b);
    buf_init(b, a);
    json_writer w;
    json_init(&w, b, pretty);
    apierr_render(e, request_id, &w);
    return b->data;
}

static void test_code_and_param(void **state)
{
    (void)state;
    arena *a = arena_new();
    apierr e;
    int rc =
        apierr_invalid(&e, a, "parameter_invalid_integer", "limit", "Invalid integer: %s", "abc");
    assert_int_equal(rc, -1);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.type, "invalid_request_error");
    assert_string_equal(e.message, "Invalid integer: abc");
    assert_string_equal(
        render(a, &e, "req_ABC123", 0),
        "{\"error\":{\"code\":\"parameter_invalid_integer\","
        "\"doc_url\":\"https://stripe.com/docs/error-codes/parameter-invalid-integer\","
        "\"message\":\"Invalid integer: abc\",\"param\":\"limit\","
        "\"request_log_url\":\"https://dashboard.stripe.com/test/logs/req_ABC123\","
        "\"type\":\"invalid_request_error\"}}");
    arena_free(a);
}

static void test_no_code(void **state)
{
    (void)state;
    arena *a = arena_new();
    apierr e;
    int rc = apierr_set(&e, a, 404, "invalid_request_error", NULL, NULL,
                        "Unrecognized request URL (%s: %s).", "GET", "/v1/x");
    assert_int_equal(rc, -1);
    assert_int_equal(e.status, 404);
    assert_null(e.code);
    assert_null(e.param);
    assert_string_equal(
        render(a, &e, "req_1", 1),
        "{\n"
        "  \"error\": {\n"
        "    \"doc_url\": \"https://stripe.com/docs/error-codes\",\n"
        "    \"message\": \"Unrecognized request URL (GET: /v1/x).\",\n"
        "    \"request_log_url\": \"https://dashboard.stripe.com/test/logs/req_1\",\n"
        "    \"type\": \"invalid_request_error\"\n"
        "  }\n"
        "}");
    arena_free(a);
}

/* The unknown-route 404 (CONTRACT.md §11): only message and type, even with a request ID. */
static void test_bare(void **state)
{
    (void)state;
    arena *a = arena_new();
    apierr e;
    apierr_set(&e, a, 404, "invalid_request_error", NULL, NULL,
               "Unrecognized request URL (%s: %s).", "GET", "/v1/x");
    assert_int_equal(e.bare, 0);
    e.bare = 1;
    assert_string_equal(render(a, &e, "req_1", 0),
                        "{\"error\":{\"message\":\"Unrecognized request URL (GET: /v1/x).\","
                        "\"type\":\"invalid_request_error\"}}");
    /* apierr_set starts every error over, so a reused value is not bare by accident. */
    apierr_invalid(&e, a, "parameter_unknown", "x", "Received unknown parameter: x");
    assert_int_equal(e.bare, 0);
    arena_free(a);
}

static void test_no_request_id_and_escaping(void **state)
{
    (void)state;
    arena *a = arena_new();
    apierr e;
    apierr_set(&e, a, 404, "invalid_request_error", "resource_missing", "session",
               "No such verification_session: '%s'", "vs_\"x\"");
    assert_string_equal(render(a, &e, NULL, 0),
                        "{\"error\":{\"code\":\"resource_missing\","
                        "\"doc_url\":\"https://stripe.com/docs/error-codes/resource-missing\","
                        "\"message\":\"No such verification_session: 'vs_\\\"x\\\"'\","
                        "\"param\":\"session\",\"type\":\"invalid_request_error\"}}");
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_and_param),
        cmocka_unit_test(test_no_code),
        cmocka_unit_test(test_no_request_id_and_escaping),
        cmocka_unit_test(test_bare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
