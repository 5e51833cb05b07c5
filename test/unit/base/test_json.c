/*
 * Unit tests for json.c: separators and nesting, compact and pretty layout (exact strings),
 * string escaping of every control character, UTF-8 passed through or repaired, integer
 * extremes, json_raw, and the abort on nesting deeper than JSON_MAX_DEPTH.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/json.h"

struct fixture {
    arena *a;
    buf out;
    json_writer w;
};

static int setup(void **state)
{
    struct fixture *f = malloc(sizeof *f);
    f->a = arena_new();
    buf_init(&f->out, f->a);
    json_init(&f->w, &f->out, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    arena_free(f->a);
    free(f);
    return 0;
}

/* The writer's output so far, checked to be NUL-terminated at len. */
static const char *out(struct fixture *f)
{
    assert_int_equal(f->out.data[f->out.len], '\0');
    assert_int_equal(strlen(f->out.data), f->out.len);
    return f->out.data;
}

static void test_compact_nesting(void **state)
{
    struct fixture *f = *state;
    json_writer *w = &f->w;
    json_obj_begin(w);
    json_kstr(w, "id", "vs_123");
    json_kint(w, "n", 5);
    json_kbool(w, "t", 1);
    json_kbool(w, "f", 0);
    json_knull(w, "z");
    json_key(w, "s");
    json_str(w, NULL);
    json_key(w, "arr");
    json_arr_begin(w);
    json_int(w, 1);
    json_arr_begin(w);
    json_arr_end(w);
    json_obj_begin(w);
    json_obj_end(w);
    json_obj_begin(w);
    json_kstr(w, "k", "v");
    json_obj_end(w);
    json_strn(w, "abc", 2);
    json_arr_end(w);
    json_key(w, "empty");
    json_obj_begin(w);
    json_obj_end(w);
    json_obj_end(w);
    assert_string_equal(out(f), "{\"id\":\"vs_123\",\"n\":5,\"t\":true,\"f\":false,\"z\":null,"
                                "\"s\":null,\"arr\":[1,[],{},{\"k\":\"v\"},\"ab\"],\"empty\":{}}");
    assert_int_equal(w->depth, 0);
}

static void test_pretty_exact(void **state)
{
    struct fixture *f = *state;
    json_writer *w = &f->w;
    json_init(w, &f->out, 1);
    json_obj_begin(w);
    json_kstr(w, "id", "vs_1");
    json_key(w, "metadata");
    json_obj_begin(w);
    json_obj_end(w);
    json_key(w, "options");
    json_obj_begin(w);
    json_key(w, "document");
    json_obj_begin(w);
    json_key(w, "allowed_types");
    json_arr_begin(w);
    json_str(w, "passport");
    json_str(w, "id_card");
    json_arr_end(w);
    json_kbool(w, "require_live_capture", 0);
    json_obj_end(w);
    json_obj_end(w);
    json_key(w, "data");
    json_arr_begin(w);
    json_arr_end(w);
    json_key(w, "list");
    json_arr_begin(w);
    json_obj_begin(w);
    json_kint(w, "n", -1);
    json_obj_end(w);
    json_arr_end(w);
    json_knull(w, "url");
    json_obj_end(w);
    const char *want = "{\n"
                       "  \"id\": \"vs_1\",\n"
                       "  \"metadata\": {},\n"
                       "  \"options\": {\n"
                       "    \"document\": {\n"
                       "      \"allowed_types\": [\n"
                       "        \"passport\",\n"
                       "        \"id_card\"\n"
                       "      ],\n"
                       "      \"require_live_capture\": false\n"
                       "    }\n"
                       "  },\n"
                       "  \"data\": [],\n"
                       "  \"list\": [\n"
                       "    {\n"
                       "      \"n\": -1\n"
                       "    }\n"
                       "  ],\n"
                       "  \"url\": null\n"
                       "}";
    assert_string_equal(out(f), want);
}

static void test_pretty_empty_top_level(void **state)
{
    struct fixture *f = *state;
    json_init(&f->w, &f->out, 1);
    json_obj_begin(&f->w);
    json_obj_end(&f->w);
    assert_string_equal(out(f), "{}");
}

static void test_escape_controls(void **state)
{
    struct fixture *f = *state;
    char in[32];
    for (int i = 0; i < 32; i++)
        in[i] = (char)i;
    json_strn(&f->w, in, 32);
    const char *want = "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
                       "\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
                       "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
                       "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\"";
    assert_string_equal(out(f), want);
}

static void test_escape_quote_backslash(void **state)
{
    struct fixture *f = *state;
    json_obj_begin(&f->w);
    json_kstr(&f->w, "k\"ey\\", "say \"hi\" \\o/ / \x7f");
    json_obj_end(&f->w);
    assert_string_equal(out(f), "{\"k\\\"ey\\\\\":\"say \\\"hi\\\" \\\\o/ / \x7f\"}");
}

static void test_utf8_kept(void **state)
{
    struct fixture *f = *state;
    const char *s = "J\xC3\xBCrgen \xE2\x82\xAC \xE6\x97\xA5 \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF "
                    "\xE2\x80\xA8";
    json_str(&f->w, s);
    char want[128];
    snprintf(want, sizeof want, "\"%s\"", s);
    assert_string_equal(out(f), want);
}

#define FFFD "\xEF\xBF\xBD"

static void test_utf8_invalid_replaced(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        {"a\x80"
         "b",
         "\"a" FFFD "b\""},
        {"\xC0\xAF", "\"" FFFD FFFD "\""},
        {"\xED\xA0\x80", "\"" FFFD FFFD FFFD "\""},
        {"\xF4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\""},
        {"x\xE2\x82", "\"x" FFFD FFFD "\""},
        {"\xE2\x82"
         "A\xC3\xA9",
         "\"" FFFD FFFD "A\xC3\xA9\""},
        {"\xFF\xFE\n", "\"" FFFD FFFD "\\n\""},
        {"\xF0\x9F\x98", "\"" FFFD FFFD FFFD "\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf_reset(&f->out);
        json_init(&f->w, &f->out, 0);
        json_str(&f->w, cases[i].in);
        if (strcmp(out(f), cases[i].want) != 0) fail_msg("case %zu: got %s", i, f->out.data);
    }
}

/* The length is a hard bound: a sequence cut by n is invalid even when the bytes after n would
 * complete it. */
static void test_utf8_cut_by_length(void **state)
{
    struct fixture *f = *state;
    json_strn(&f->w, "\xE2\x82\xAC", 2);
    assert_string_equal(out(f), "\"" FFFD FFFD "\"");
    buf_reset(&f->out);
    json_init(&f->w, &f->out, 0);
    json_strn(&f->w, "\xF0\x9F\x98\x80", 3);
    assert_string_equal(out(f), "\"" FFFD FFFD FFFD "\"");
    buf_reset(&f->out);
    json_init(&f->w, &f->out, 0);
    json_strn(&f->w, "\xE2\x82\xAC", 3);
    assert_string_equal(out(f), "\"\xE2\x82\xAC\"");
}

/* A long string full of escapes and bad bytes exercises the growth path inside one string. */
static void test_long_escaped_string(void **state)
{
    struct fixture *f = *state;
    enum { N = 20000 };
    char *in = malloc(N);
    for (int i = 0; i < N; i++)
        in[i] = (i % 2) ? '\x01' : '\xFF';
    json_strn(&f->w, in, N);
    assert_int_equal(f->out.len, 2 + (N / 2) * 6 + (N / 2) * 3);
    assert_memory_equal(f->out.data, "\"" FFFD "\\u0001" FFFD, 1 + 3 + 6 + 3);
    (void)out(f);
    free(in);
}

static void test_int_extremes(void **state)
{
    struct fixture *f = *state;
    json_arr_begin(&f->w);
    json_int(&f->w, INT64_MIN);
    json_int(&f->w, INT64_MAX);
    json_int(&f->w, 0);
    json_int(&f->w, -1);
    json_int(&f->w, 1700000000);
    json_int(&f->w, -10);
    json_arr_end(&f->w);
    assert_string_equal(out(f), "[-9223372036854775808,9223372036854775807,0,-1,1700000000,-10]");
}

static void test_raw(void **state)
{
    struct fixture *f = *state;
    json_obj_begin(&f->w);
    json_kint(&f->w, "a", 1);
    json_key(&f->w, "b");
    json_raw(&f->w, "{\"x\":[1,2]}", 11);
    json_key(&f->w, "c");
    json_arr_begin(&f->w);
    json_raw(&f->w, "true", 4);
    json_raw(&f->w, "\"s\"", 3);
    json_arr_end(&f->w);
    json_obj_end(&f->w);
    assert_string_equal(out(f), "{\"a\":1,\"b\":{\"x\":[1,2]},\"c\":[true,\"s\"]}");
}

static void test_raw_pretty(void **state)
{
    struct fixture *f = *state;
    json_init(&f->w, &f->out, 1);
    json_arr_begin(&f->w);
    json_raw(&f->w, "{\"x\":1}", 7);
    json_raw(&f->w, "2", 1);
    json_arr_end(&f->w);
    assert_string_equal(out(f), "[\n  {\"x\":1},\n  2\n]");
}

/* Writing into a heap-backed buf that already holds data appends after it. */
static void test_heap_buf_append(void **state)
{
    (void)state;
    buf b;
    buf_init(&b, NULL);
    buf_puts(&b, "prefix:");
    json_writer w;
    json_init(&w, &b, 0);
    json_obj_begin(&w);
    for (int i = 0; i < 1000; i++)
        json_kint(&w, "key", i);
    json_obj_end(&w);
    const char *head = "prefix:{\"key\":0,\"key\":1,";
    const char *tail = ",\"key\":999}";
    assert_memory_equal(b.data, head, strlen(head));
    assert_string_equal(b.data + b.len - strlen(tail), tail);
    assert_int_equal(strlen(b.data), b.len);
    buf_free(&b);
}

static void test_max_depth_ok(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        json_arr_begin(&f->w);
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        json_arr_end(&f->w);
    assert_int_equal(f->out.len, 2 * JSON_MAX_DEPTH);
    assert_int_equal(f->w.depth, 0);
}

/* One level more than JSON_MAX_DEPTH is a programming error: the process aborts. */
static void test_too_deep_aborts(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Keep the child's abort message out of the test output. */
        FILE *devnull = freopen("/dev/null", "w", stderr);
        (void)devnull;
        buf b;
        buf_init(&b, NULL);
        json_writer w;
        json_init(&w, &b, 0);
        for (int i = 0; i <= JSON_MAX_DEPTH; i++)
            json_obj_begin(&w);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_compact_nesting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pretty_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pretty_empty_top_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escape_controls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escape_quote_backslash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8_invalid_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8_cut_by_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_escaped_string, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int_extremes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_pretty, setup, teardown),
        cmocka_unit_test(test_heap_buf_append),
        cmocka_unit_test_setup_teardown(test_max_depth_ok, setup, teardown),
        cmocka_unit_test(test_too_deep_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
