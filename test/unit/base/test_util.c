/*
 * Unit tests for util.c: the strict UTF-8 validator against a table of well-formed and
 * ill-formed sequences, constant-time comparison, the allocate-or-die wrappers and the clocks.
 * Not covered: the abort path on out of memory (it ends the process by design).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

struct utf8_case {
    const char *s;
    size_t n;
    int valid;
    const char *what;
};

#define CASE(lit, v, w)                                                                            \
    {                                                                                              \
        lit, sizeof(lit) - 1, v, w                                                                 \
    }

static const struct utf8_case utf8_cases[] = {
    CASE("", 1, "empty"),
    CASE("hello, world", 1, "ASCII"),
    CASE("a\0b", 1, "embedded NUL is valid UTF-8"),
    CASE("\x7F", 1, "DEL"),
    CASE("\xC2\x80", 1, "U+0080, smallest 2-byte"),
    CASE("\xC3\xA9", 1, "e-acute"),
    CASE("\xDF\xBF", 1, "U+07FF, largest 2-byte"),
    CASE("\xE0\xA0\x80", 1, "U+0800, smallest 3-byte"),
    CASE("\xE2\x82\xAC", 1, "euro sign"),
    CASE("\xED\x9F\xBF", 1, "U+D7FF, just below the surrogates"),
    CASE("\xEE\x80\x80", 1, "U+E000, just above the surrogates"),
    CASE("\xEF\xBF\xBD", 1, "U+FFFD"),
    CASE("\xEF\xBF\xBF", 1, "U+FFFF"),
    CASE("\xF0\x90\x80\x80", 1, "U+10000, smallest 4-byte"),
    CASE("\xF0\x9F\x98\x80", 1, "emoji"),
    CASE("\xF4\x8F\xBF\xBF", 1, "U+10FFFF, largest code point"),
    CASE("J\xC3\xBCrgen \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80!", 1, "mixed text"),

    CASE("\x80", 0, "lone continuation byte"),
    CASE("\xBF", 0, "lone continuation byte BF"),
    CASE("\xC0\xAF", 0, "overlong '/' (C0)"),
    CASE("\xC1\xBF", 0, "overlong (C1)"),
    CASE("\xE0\x80\xAF", 0, "overlong 3-byte '/'"),
    CASE("\xE0\x9F\xBF", 0, "overlong 3-byte U+07FF"),
    CASE("\xF0\x80\x80\xAF", 0, "overlong 4-byte '/'"),
    CASE("\xF0\x8F\xBF\xBF", 0, "overlong 4-byte U+FFFF"),
    CASE("\xED\xA0\x80", 0, "surrogate U+D800"),
    CASE("\xED\xAF\xBF", 0, "surrogate U+DBFF"),
    CASE("\xED\xB0\x80", 0, "surrogate U+DC00"),
    CASE("\xED\xBF\xBF", 0, "surrogate U+DFFF"),
    CASE("\xED\xA0\xBD\xED\xB8\x80", 0, "CESU-8 surrogate pair"),
    CASE("\xF4\x90\x80\x80", 0, "U+110000, above the maximum"),
    CASE("\xF5\x80\x80\x80", 0, "F5 lead byte"),
    CASE("\xF8\x88\x80\x80\x80", 0, "5-byte form"),
    CASE("\xFC\x84\x80\x80\x80\x80", 0, "6-byte form"),
    CASE("\xFE", 0, "FE"),
    CASE("\xFF", 0, "FF"),
    CASE("\xC3", 0, "truncated 2-byte at end"),
    CASE("\xE2\x82", 0, "truncated 3-byte at end"),
    CASE("\xF0\x9F\x98", 0, "truncated 4-byte at end"),
    CASE("\xC3"
         "A",
         0, "2-byte lead followed by ASCII"),
    CASE("\xE2\x82"
         "A",
         0, "3-byte sequence cut by ASCII"),
    CASE("\xF0\x9F\x98"
         "A",
         0, "4-byte sequence cut by ASCII"),
    CASE("\xE2\x28\xA1", 0, "bad second byte"),
    CASE("\xE2\x82\x28", 0, "bad third byte"),
    CASE("\xF0\x9F\x28\x80", 0, "bad third byte of 4"),
    CASE("ok\xC3\xA9ok\x80", 0, "valid text then a stray continuation"),
    CASE("\xC3\xA9\xC3", 0, "valid then truncated"),
};

static void test_utf8_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++) {
        const struct utf8_case *c = &utf8_cases[i];
        int got = util_utf8_valid(c->s, c->n);
        if (got != c->valid)
            fail_msg("case %zu (%s): expected %d, got %d", i, c->what, c->valid, got);
    }
}

/* The length argument is honoured: bytes past n are not looked at, and a cut inside a
 * sequence makes it invalid. */
static void test_utf8_length_bound(void **state)
{
    (void)state;
    const char *s = "ab\xE2\x82\xAC\xFF";
    assert_true(util_utf8_valid(s, 5));
    assert_false(util_utf8_valid(s, 6));
    assert_false(util_utf8_valid(s, 4));
    assert_true(util_utf8_valid(s, 2));
    assert_true(util_utf8_valid(NULL, 0));
}

/* Every 2-byte and 3-byte code point encodes to a sequence the validator accepts, except the
 * surrogates. */
static void test_utf8_exhaustive_bmp(void **state)
{
    (void)state;
    for (unsigned cp = 0x80; cp <= 0xFFFF; cp++) {
        char s[3];
        size_t n;
        if (cp < 0x800) {
            s[0] = (char)(0xC0 | (cp >> 6));
            s[1] = (char)(0x80 | (cp & 0x3F));
            n = 2;
        } else {
            s[0] = (char)(0xE0 | (cp >> 12));
            s[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
            s[2] = (char)(0x80 | (cp & 0x3F));
            n = 3;
        }
        int want = !(cp >= 0xD800 && cp <= 0xDFFF);
        if (util_utf8_valid(s, n) != want) fail_msg("U+%04X: expected %d", cp, want);
    }
}

static void test_ct_equal(void **state)
{
    (void)state;
    assert_int_equal(util_ct_equal("abcdef", "abcdef", 6), 1);
    assert_int_equal(util_ct_equal("abcdef", "abcdeg", 6), 0);
    assert_int_equal(util_ct_equal("xbcdef", "abcdef", 6), 0);
    assert_int_equal(util_ct_equal("abcdef", "abcxyz", 3), 1);
    assert_int_equal(util_ct_equal("a", "b", 0), 1);
    /* A difference in any single bit of any byte is seen. */
    unsigned char a[32], b[32];
    for (int i = 0; i < 32; i++)
        a[i] = b[i] = (unsigned char)(i * 7);
    for (int i = 0; i < 32; i++) {
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (unsigned char)(1u << bit);
            assert_int_equal(util_ct_equal(a, b, sizeof a), 0);
            b[i] ^= (unsigned char)(1u << bit);
        }
    }
    assert_int_equal(util_ct_equal(a, b, sizeof a), 1);
}

static void test_alloc(void **state)
{
    (void)state;
    char *p = xmalloc(0);
    assert_non_null(p);
    free(p);

    unsigned char *z = xcalloc(100, 10);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(z[i], 0);
    free(z);

    char *r = xmalloc(4);
    memcpy(r, "abc", 4);
    r = xrealloc(r, 1 << 20);
    assert_string_equal(r, "abc");
    r[(1 << 20) - 1] = 'x';
    free(r);

    char *d = xstrdup("duplicate me");
    assert_string_equal(d, "duplicate me");
    free(d);
}

static void test_clocks(void **state)
{
    (void)state;
    int64_t s = util_now();
    int64_t ms = util_now_ms();
    assert_true(s > 1600000000); /* after 2020 */
    assert_true(ms / 1000 - s >= 0 && ms / 1000 - s <= 1);
    int64_t t0 = util_mono_us();
    int64_t t1 = util_mono_us();
    assert_true(t1 >= t0);
    assert_true(t0 > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_table),
        cmocka_unit_test(test_utf8_length_bound),
        cmocka_unit_test(test_utf8_exhaustive_bmp),
        cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_alloc),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
