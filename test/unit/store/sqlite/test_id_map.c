/*
 * Unit tests for id_map.c: lookups, replacement, growth far past the initial table, bulk removal
 * by row, refused ids, and lookups running beside a writer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/id_map.h"
#include "base/ids.h"

static void test_put_get_replace(void **state)
{
    (void)state;
    id_map *m = id_map_new();
    int64_t row = -1;
    assert_int_equal(id_map_get(m, "vs_a", &row), 0);
    assert_int_equal(id_map_put(m, "vs_a", 7), 0);
    assert_int_equal(id_map_put(m, "vs_b", 8), 0);
    assert_int_equal(id_map_get(m, "vs_a", &row), 1);
    assert_int_equal(row, 7);
    assert_int_equal(id_map_get(m, "vs_b", &row), 1);
    assert_int_equal(row, 8);
    /* A prefix or an extension of a stored id is another id. */
    assert_int_equal(id_map_get(m, "vs_", &row), 0);
    assert_int_equal(id_map_get(m, "vs_ab", &row), 0);
    /* The same id again replaces its row; the count does not change. */
    assert_int_equal(id_map_put(m, "vs_a", 9), 0);
    assert_int_equal(id_map_get(m, "vs_a", &row), 1);
    assert_int_equal(row, 9);
    assert_int_equal(id_map_count(m), 2);
    id_map_free(m);
}

static void test_refused_ids(void **state)
{
    (void)state;
    id_map *m = id_map_new();
    char longest[ID_MAP_ID_MAX + 2];
    memset(longest, 'x', sizeof longest);
    longest[ID_MAP_ID_MAX] = '\0';
    assert_int_equal(id_map_put(m, longest, 1), 0);
    longest[ID_MAP_ID_MAX] = 'x';
    longest[ID_MAP_ID_MAX + 1] = '\0';
    assert_int_equal(id_map_put(m, longest, 2), -1);
    assert_int_equal(id_map_put(m, "", 3), -1);
    int64_t row = 0;
    assert_int_equal(id_map_get(m, longest, &row), 0);
    assert_int_equal(id_map_get(m, "", &row), 0);
    assert_int_equal(id_map_count(m), 1);
    id_map_free(m);
}

#define MANY 50000

static void test_growth_and_drop_upto(void **state)
{
    (void)state;
    static char ids[MANY][32];
    id_map *m = id_map_new();
    for (int i = 0; i < MANY; i++) {
        ids_random(ids[i], sizeof ids[i], "vs_", 24);
        assert_int_equal(id_map_put(m, ids[i], i + 1), 0);
    }
    assert_int_equal(id_map_count(m), MANY);
    for (int i = 0; i < MANY; i++) {
        int64_t row = 0;
        assert_int_equal(id_map_get(m, ids[i], &row), 1);
        assert_int_equal(row, i + 1);
    }
    /* The entries of rows (100, 5100], in id order. */
    id_map_entry *e = NULL;
    assert_int_equal(id_map_collect(m, 100, 5100, &e), 5000);
    for (int i = 0; i < 5000; i++) {
        assert_true(e[i].row > 100 && e[i].row <= 5100);
        assert_string_equal(e[i].id, ids[e[i].row - 1]);
        if (i > 0) assert_true(strcmp(e[i - 1].id, e[i].id) < 0);
    }
    free(e);
    assert_int_equal(id_map_collect(m, MANY, INT64_MAX, &e), 0);
    assert_null(e);
    /* Rows 1..40000 go; the rest stay, found as before. */
    id_map_drop_upto(m, 40000);
    assert_int_equal(id_map_count(m), MANY - 40000);
    for (int i = 0; i < MANY; i++) {
        int64_t row = 0;
        assert_int_equal(id_map_get(m, ids[i], &row), i + 1 > 40000);
        if (i + 1 > 40000) assert_int_equal(row, i + 1);
    }
    /* Everything goes; the map still works afterwards. */
    id_map_drop_upto(m, INT64_MAX);
    assert_int_equal(id_map_count(m), 0);
    assert_int_equal(id_map_put(m, ids[0], 5), 0);
    int64_t row = 0;
    assert_int_equal(id_map_get(m, ids[0], &row), 1);
    assert_int_equal(row, 5);
    id_map_free(m);
}

#define SOME 20000

/* Removing entries one by one keeps every other entry reachable (the probe runs are repaired),
 * and a removal with another row than the stored one changes nothing. */
static void test_remove(void **state)
{
    (void)state;
    static char ids[SOME][32];
    id_map *m = id_map_new();
    for (int i = 0; i < SOME; i++) {
        ids_random(ids[i], sizeof ids[i], "vs_", 24);
        id_map_put(m, ids[i], i + 1);
    }
    id_map_remove(m, ids[0], 999999); /* not its row */
    id_map_remove(m, "vs_unknown", 1);
    assert_int_equal(id_map_count(m), SOME);
    for (int i = 0; i < SOME; i += 3)
        id_map_remove(m, ids[i], i + 1);
    for (int i = 0; i < SOME; i++) {
        int64_t row = 0;
        assert_int_equal(id_map_get(m, ids[i], &row), i % 3 != 0);
        if (i % 3 != 0) assert_int_equal(row, i + 1);
    }
    assert_int_equal(id_map_count(m), SOME - (SOME + 2) / 3);
    /* A removed id can come back. */
    assert_int_equal(id_map_put(m, ids[0], 7), 0);
    int64_t row = 0;
    assert_int_equal(id_map_get(m, ids[0], &row), 1);
    assert_int_equal(row, 7);
    id_map_free(m);
}

typedef struct reader_arg {
    id_map *m;
    int misses;
} reader_arg;

/* Looks up the ids 0..999 (put before the writer started) while the map grows and shrinks. */
static void *reader_main(void *p)
{
    reader_arg *r = p;
    for (int round = 0; round < 200; round++)
        for (int i = 0; i < 1000; i++) {
            char id[32];
            int64_t row = 0;
            snprintf(id, sizeof id, "vs_keep%d", i);
            if (!id_map_get(r->m, id, &row) || row != 1000000 + i) r->misses++;
        }
    return NULL;
}

static void test_readers_beside_writer(void **state)
{
    (void)state;
    id_map *m = id_map_new();
    for (int i = 0; i < 1000; i++) {
        char id[32];
        snprintf(id, sizeof id, "vs_keep%d", i);
        id_map_put(m, id, 1000000 + i);
    }
    reader_arg r[2] = {{m, 0}, {m, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader_main, &r[i]), 0);
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 5000; i++) {
            char id[32];
            snprintf(id, sizeof id, "vs_tmp%d_%d", round, i);
            id_map_put(m, id, i);
        }
        id_map_drop_upto(m, 999999); /* the temporary ones, never the kept ones */
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(r[0].misses + r[1].misses, 0);
    assert_int_equal(id_map_count(m), 1000);
    id_map_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_replace),       cmocka_unit_test(test_refused_ids),
        cmocka_unit_test(test_growth_and_drop_upto),  cmocka_unit_test(test_remove),
        cmocka_unit_test(test_readers_beside_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
