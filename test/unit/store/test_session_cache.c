/*
 * Unit tests for session_cache.c: hits and misses, account isolation, and the rule that keeps
 * it consistent: a record read before a write can never be installed after that write.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "store/session_cache.h"

static void test_miss_fill_hit(void **state)
{
    (void)state;
    session_cache *c = session_cache_new(4);
    arena *a = arena_new();
    const void *rec;
    size_t len;
    uint64_t ticket;
    assert_int_equal(session_cache_get(c, "acct_A", "vs_1", a, &rec, &len, &ticket), 0);
    session_cache_fill(c, "acct_A", "vs_1", "one", 3, ticket);
    assert_int_equal(session_cache_get(c, "acct_A", "vs_1", a, &rec, &len, &ticket), 1);
    assert_int_equal(len, 3);
    assert_memory_equal(rec, "one", 3);
    /* Another account never sees it, even under the same id. */
    assert_int_equal(session_cache_get(c, "acct_B", "vs_1", a, &rec, &len, &ticket), 0);
    arena_free(a);
    session_cache_free(c);
}

static void test_stale_fill_loses_to_write(void **state)
{
    (void)state;
    session_cache *c = session_cache_new(4);
    arena *a = arena_new();
    const void *rec;
    size_t len;
    uint64_t ticket;
    /* A reader misses and reads the old record from the database... */
    assert_int_equal(session_cache_get(c, "acct_A", "vs_1", a, &rec, &len, &ticket), 0);
    /* ...meanwhile a write commits... */
    session_cache_put(c, "acct_A", "vs_1", "new", 3);
    /* ...and the reader's late offer of the old record is refused. */
    session_cache_fill(c, "acct_A", "vs_1", "old", 3, ticket);
    assert_int_equal(session_cache_get(c, "acct_A", "vs_1", a, &rec, &len, &ticket), 1);
    assert_memory_equal(rec, "new", 3);
    /* A write to another key of the same slot also voids the ticket. */
    assert_int_equal(session_cache_get(c, "acct_A", "vs_2", a, &rec, &len, &ticket), 0);
    for (int i = 0; i < 64; i++) { /* 16 slots: some key shares vs_2's slot */
        char id[16];
        snprintf(id, sizeof id, "vs_x%d", i);
        session_cache_put(c, "acct_A", id, "x", 1);
    }
    session_cache_fill(c, "acct_A", "vs_2", "stale?", 6, ticket);
    if (session_cache_get(c, "acct_A", "vs_2", a, &rec, &len, &ticket))
        assert_memory_equal(rec, "stale?", 6); /* only when no write touched its slot */
    arena_free(a);
    session_cache_free(c);
}

static void test_put_replaces_and_resizes(void **state)
{
    (void)state;
    session_cache *c = session_cache_new(2);
    arena *a = arena_new();
    const void *rec;
    size_t len;
    uint64_t ticket;
    session_cache_put(c, "acct_A", "vs_1", "short", 5);
    session_cache_put(c, "acct_A", "vs_1", "a much longer record", 20);
    assert_int_equal(session_cache_get(c, "acct_A", "vs_1", a, &rec, &len, &ticket), 1);
    assert_int_equal(len, 20);
    assert_memory_equal(rec, "a much longer record", 20);
    session_cache_put(c, "acct_A", "vs_1", "", 0);
    assert_int_equal(session_cache_get(c, "acct_A", "vs_1", a, &rec, &len, &ticket), 1);
    assert_int_equal(len, 0);
    arena_free(a);
    session_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_miss_fill_hit),
        cmocka_unit_test(test_stale_fill_loses_to_write),
        cmocka_unit_test(test_put_replaces_and_resizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
