/*
 * test_json_body: the v2 JSON body decoder (api/json_body.h): the tree it builds (the form
 * decoder's, so params.c validates both encodings), its refusals, and its bounds, checked before
 * anything is allocated for them.
 *
 * Not for: the HTTP path (black-box v2_event_destinations.test.js sends bodies through the SDK).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "api/json_body.h"

static form_node *parse_ok(arena *a, const char *s)
{
    form_node *root = NULL;
    const char *err = NULL;
    int rc = json_body_parse(a, s, strlen(s), NULL, &root, &err);
    if (rc != 0) fail_msg("%s: %s", s, err);
    assert_non_null(root);
    assert_int_equal(root->kind, FORM_MAP);
    return root;
}

static const char *parse_err(arena *a, const char *s, const json_body_limits *lim)
{
    form_node *root = NULL;
    const char *err = NULL;
    assert_int_equal(json_body_parse(a, s, strlen(s), lim, &root, &err), -1);
    assert_null(root);
    assert_non_null(err);
    return err;
}

static void test_tree(void **state)
{
    (void)state;
    arena *a = arena_new();
    form_node *r =
        parse_ok(a, " {\"name\": \"n\\u00e9\\ud83d\\ude00\", \"limit\": -12.5e3, \"on\": true,"
                    " \"off\": false, \"gone\": null, \"we\": {\"url\": \"http://x\"},"
                    " \"ev\": [\"a\", \"b\"], \"e\": {}, \"l\": []} ");
    assert_int_equal(r->count, 9);
    assert_string_equal(form_get(r, "name")->str, "n\xc3\xa9\xf0\x9f\x98\x80");
    assert_string_equal(form_get(r, "limit")->str, "-12.5e3");
    assert_string_equal(form_get(r, "on")->str, "true");
    assert_string_equal(form_get(r, "off")->str, "false");
    assert_string_equal(form_get(r, "gone")->str, "");
    assert_int_equal(form_get(r, "gone")->kind, FORM_STR);
    form_node *we = form_get(r, "we");
    assert_int_equal(we->kind, FORM_MAP);
    assert_string_equal(form_get(we, "url")->str, "http://x");
    form_node *ev = form_get(r, "ev");
    assert_int_equal(ev->kind, FORM_LIST);
    assert_int_equal(ev->count, 2);
    assert_string_equal(ev->first->str, "a");
    assert_string_equal(ev->last->str, "b");
    assert_int_equal(form_get(r, "e")->kind, FORM_MAP);
    assert_int_equal(form_get(r, "l")->count, 0);
    /* The first key keeps its place, the last value wins. */
    r = parse_ok(a, "{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\"}");
    assert_int_equal(r->count, 2);
    assert_string_equal(r->first->key, "a");
    assert_string_equal(r->first->str, "3");
    assert_string_equal(r->last->key, "b");
    /* An empty body is the empty object. */
    r = parse_ok(a, " \n");
    assert_int_equal(r->count, 0);
    arena_free(a);
}

static void test_refusals(void **state)
{
    (void)state;
    arena *a = arena_new();
    static const char *const bad[] = {
        "[1]",
        "\"x\"",
        "{",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1,}",
        "{\"a\":1} x",
        "{a:1}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":tru}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00\"}",
        "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\x01\"}",
        "{\"a\":\"\xff\"}",
        "{\"a\":\"unterminated}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *err = parse_err(a, bad[i], NULL);
        assert_true(strncmp(err, "Invalid JSON at byte ", 21) == 0);
    }
    arena_free(a);
}

static void test_bounds(void **state)
{
    (void)state;
    arena *a = arena_new();
    json_body_limits lim = {.max_depth = 2, .max_values = 4, .max_key_len = 3, .max_value_len = 4};
    parse_ok(a, "{\"a\":{\"b\":{}}}"); /* default limits */
    assert_non_null(strstr(parse_err(a, "{\"a\":{\"b\":{\"c\":{}}}}", &lim), "nested too deeply"));
    assert_non_null(
        strstr(parse_err(a, "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5}", &lim), "too many values"));
    assert_non_null(strstr(parse_err(a, "{\"abcd\":1}", &lim), "string too long"));
    assert_non_null(strstr(parse_err(a, "{\"a\":\"abcde\"}", &lim), "string too long"));
    assert_non_null(strstr(parse_err(a, "{\"a\":12345}", &lim), "number too long"));
    /* At the limits exactly: accepted. */
    form_node *r = NULL;
    const char *err = NULL;
    const char *ok = "{\"abc\":{\"b\":\"abcd\"}}";
    assert_int_equal(json_body_parse(a, ok, strlen(ok), &lim, &r, &err), 0);
    /* Deep nesting is refused by depth, never by the stack. */
    char deep[4096];
    size_t n = 0;
    deep[n++] = '{';
    deep[n++] = '"';
    deep[n++] = 'a';
    deep[n++] = '"';
    deep[n++] = ':';
    while (n < sizeof deep - 2)
        deep[n++] = '[';
    deep[n] = '\0';
    assert_non_null(strstr(parse_err(a, deep, NULL), "nested too deeply"));
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
