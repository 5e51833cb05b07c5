/*
 * Unit tests for ids.c: prefix and length, the base62 alphabet, no collisions over 10000 IDs,
 * and a chi-square check that all 62 symbols are equally likely (a modulo-bias implementation
 * fails it), plus the cases of an empty prefix and of zero random characters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/ids.h"

static int symbol_index(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'Z') return 10 + c - 'A';
    if (c >= 'a' && c <= 'z') return 36 + c - 'a';
    return -1;
}

static void test_prefix_and_length(void **state)
{
    (void)state;
    char out[64];
    memset(out, 'X', sizeof out);
    ids_random(out, sizeof out, "vs_", IDS_OBJECT_LEN);
    assert_int_equal(strlen(out), 3 + IDS_OBJECT_LEN);
    assert_memory_equal(out, "vs_", 3);
    for (size_t i = 3; i < 3 + IDS_OBJECT_LEN; i++)
        assert_true(symbol_index(out[i]) >= 0);

    /* The exact minimum size is enough. */
    char exact[3 + IDS_OBJECT_LEN + 1];
    ids_random(exact, sizeof exact, "evt_", IDS_OBJECT_LEN - 1);
    assert_int_equal(strlen(exact), 4 + IDS_OBJECT_LEN - 1);
    assert_memory_equal(exact, "evt_", 4);

    ids_random(out, sizeof out, "", 10);
    assert_int_equal(strlen(out), 10);
    ids_random(out, sizeof out, "req_", 0);
    assert_string_equal(out, "req_");

    /* Longer than one batch of random bytes. */
    char longer[512];
    ids_random(longer, sizeof longer, "whsec_", 400);
    assert_int_equal(strlen(longer), 406);
    for (size_t i = 6; i < 406; i++)
        assert_true(symbol_index(longer[i]) >= 0);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_unique_and_uniform(void **state)
{
    (void)state;
    enum { N = 10000, W = 3 + IDS_OBJECT_LEN + 1 };
    char *store = malloc((size_t)N * W);
    char **ids = malloc(N * sizeof *ids);
    long counts[62] = {0};
    for (int i = 0; i < N; i++) {
        ids[i] = store + (size_t)i * W;
        ids_random(ids[i], W, "vr_", IDS_OBJECT_LEN);
        for (int k = 3; k < 3 + IDS_OBJECT_LEN; k++) {
            int s = symbol_index(ids[i][k]);
            if (s < 0) fail_msg("id %d has byte 0x%02x", i, (unsigned char)ids[i][k]);
            counts[s]++;
        }
    }
    qsort(ids, N, sizeof *ids, cmp_str);
    for (int i = 1; i < N; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0) fail_msg("duplicate id %s", ids[i]);

    /* 240000 draws, 61 degrees of freedom: the chance a fair source exceeds 130 is about 1e-6.
     * Mapping bytes with plain `% 62` makes '0'..'7' 25% more likely, giving a statistic in the
     * thousands. */
    double expected = (double)N * IDS_OBJECT_LEN / 62.0;
    double chi2 = 0;
    for (int s = 0; s < 62; s++) {
        double d = (double)counts[s] - expected;
        chi2 += d * d / expected;
        assert_true(counts[s] > expected * 0.85 && counts[s] < expected * 1.15);
    }
    if (chi2 > 130.0) fail_msg("chi-square %.1f over 61 dof: not uniform", chi2);
    free(ids);
    free(store);
}

static void test_time_ordered(void **state)
{
    (void)state;
    char a[40], b[40];
    ids_time_ordered(a, sizeof a, "evt_", 24);
    assert_int_equal(strlen(a), 4 + 24);
    assert_memory_equal(a, "evt_", 4);
    for (int i = 0; i < 100; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        ids_time_ordered(b, sizeof b, "evt_", 24);
        /* Later IDs sort after earlier ones, and the random tails still differ. */
        assert_true(strcmp(a, b) < 0);
        assert_memory_not_equal(a + 4 + IDS_TIME_CHARS, b + 4 + IDS_TIME_CHARS, 16);
        for (int k = 4; k < 28; k++)
            assert_non_null(
                strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", b[k]));
        memcpy(a, b, sizeof a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_and_length),
        cmocka_unit_test(test_unique_and_uniform),
        cmocka_unit_test(test_time_ordered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
