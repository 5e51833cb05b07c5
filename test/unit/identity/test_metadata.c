/*
 * Unit tests for metadata.c: merging a request's changes into stored metadata (CONTRACT.md §1
 * "Metadata"): set, replace in place, remove, clear, and the key limit after merging.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "identity/limits.h"
#include "identity/metadata.h"

static void test_merge_in_place_and_appended(void **state)
{
    (void)state;
    arena *a = arena_new();
    metadata_kv stored[] = {{"a", "1"}, {"b", "2"}, {"c", "3"}};
    metadata_kv *md = stored;
    size_t n = 3;
    /* b is replaced where it is, c removed, d appended; a is untouched. */
    const metadata_kv set[] = {{"d", "4"}, {"c", ""}, {"b", "two"}, {"e", ""}};
    metadata_update u = {.set = set, .n_set = 4};
    assert_int_equal(metadata_merge(a, &u, &md, &n), METADATA_OK);
    assert_int_equal(n, 3);
    assert_string_equal(md[0].key, "a");
    assert_string_equal(md[0].value, "1");
    assert_string_equal(md[1].key, "b");
    assert_string_equal(md[1].value, "two");
    assert_string_equal(md[2].key, "d");
    assert_string_equal(md[2].value, "4");
    assert_string_equal(stored[1].value, "2"); /* the old array is left as it was */

    /* Nothing stored and nothing set: an empty result. */
    metadata_kv *none = NULL;
    size_t n_none = 0;
    metadata_update empty = {0};
    assert_int_equal(metadata_merge(a, &empty, &none, &n_none), METADATA_OK);
    assert_int_equal(n_none, 0);

    /* metadata="" drops everything. */
    metadata_update clear = {.clear = 1};
    assert_int_equal(metadata_merge(a, &clear, &md, &n), METADATA_OK);
    assert_null(md);
    assert_int_equal(n, 0);
    arena_free(a);
}

static void test_merge_key_limit(void **state)
{
    (void)state;
    arena *a = arena_new();
    metadata_kv *stored = arena_alloc(a, METADATA_MAX_KEYS * sizeof *stored);
    for (int i = 0; i < METADATA_MAX_KEYS; i++)
        stored[i] = (metadata_kv){arena_printf(a, "k%d", i), "v"};
    metadata_kv *md = stored;
    size_t n = METADATA_MAX_KEYS - 1;
    /* Up to the limit is fine. */
    const metadata_kv one[] = {{"new", "v"}};
    metadata_update u = {.set = one, .n_set = 1};
    assert_int_equal(metadata_merge(a, &u, &md, &n), METADATA_OK);
    assert_int_equal(n, METADATA_MAX_KEYS);
    /* One more is refused, and the metadata is left untouched. */
    metadata_kv *before = md;
    const metadata_kv another[] = {{"more", "v"}};
    metadata_update over = {.set = another, .n_set = 1};
    assert_int_equal(metadata_merge(a, &over, &md, &n), METADATA_TOO_MANY_KEYS);
    assert_ptr_equal(md, before);
    assert_int_equal(n, METADATA_MAX_KEYS);
    /* Removing one while adding one stays within it. */
    const metadata_kv swap[] = {{"k0", ""}, {"more", "v"}};
    metadata_update ok = {.set = swap, .n_set = 2};
    assert_int_equal(metadata_merge(a, &ok, &md, &n), METADATA_OK);
    assert_int_equal(n, METADATA_MAX_KEYS);
    assert_string_equal(md[METADATA_MAX_KEYS - 1].key, "more");
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_in_place_and_appended),
        cmocka_unit_test(test_merge_key_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
