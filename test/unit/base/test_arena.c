/*
 * Unit tests for arena.c: bump allocation across many chunks, alignment, allocations bigger
 * than a chunk, arena_printf, and buf growth both arena-backed (in place and by copying) and
 * heap-backed. Contents are checked after the fact so an overlap between allocations fails.
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

static int aligned16(const void *p)
{
    return ((uintptr_t)p & 15) == 0;
}

/* Deterministic size sequence mixing tiny, medium and chunk-sized requests. */
static size_t size_for(unsigned i)
{
    unsigned x = i * 2654435761u;
    switch (x % 8) {
    case 0:
        return 0;
    case 1:
        return 1;
    case 2:
        return x % 17;
    case 3:
        return 16;
    case 4:
        return x % 300;
    case 5:
        return x % 5000;
    default:
        return x % 64;
    }
}

static void test_many_allocations(void **state)
{
    (void)state;
    enum { N = 20000 };
    arena *a = arena_new();
    unsigned char **ptrs = calloc(N, sizeof *ptrs);
    size_t total = 0;
    for (unsigned i = 0; i < N; i++) {
        size_t n = size_for(i);
        ptrs[i] = arena_alloc(a, n);
        assert_non_null(ptrs[i]);
        assert_true(aligned16(ptrs[i]));
        memset(ptrs[i], (int)(i & 0xFF), n);
        total += n;
    }
    /* Nothing was overwritten by a later allocation. */
    for (unsigned i = 0; i < N; i++) {
        size_t n = size_for(i);
        for (size_t k = 0; k < n; k++)
            if (ptrs[i][k] != (unsigned char)(i & 0xFF)) fail_msg("allocation %u byte %zu", i, k);
    }
    assert_true(arena_used(a) >= total);
    free(ptrs);
    arena_free(a);
}

static void test_zero_size_unique(void **state)
{
    (void)state;
    arena *a = arena_new();
    void *p = arena_alloc(a, 0);
    void *q = arena_alloc(a, 0);
    void *r = arena_alloc(a, 1);
    assert_non_null(p);
    assert_non_null(q);
    assert_ptr_not_equal(p, q);
    assert_ptr_not_equal(q, r);
    arena_free(a);
    arena_free(NULL);
}

static void test_used_grows(void **state)
{
    (void)state;
    arena *a = arena_new();
    assert_int_equal(arena_used(a), 0);
    arena_alloc(a, 10);
    size_t u1 = arena_used(a);
    assert_true(u1 >= 10);
    arena_alloc(a, 100000);
    assert_true(arena_used(a) >= u1 + 100000);
    arena_free(a);
}

static void test_big_allocations(void **state)
{
    (void)state;
    arena *a = arena_new();
    char *small1 = arena_strdup(a, "before");
    size_t sizes[] = {4096, 4097, 65536, 100000, 1 << 20, 3 << 20};
    char *big[6];
    for (int i = 0; i < 6; i++) {
        big[i] = arena_alloc(a, sizes[i]);
        assert_true(aligned16(big[i]));
        memset(big[i], 'A' + i, sizes[i]);
    }
    /* Small allocations after big ones still work and do not land inside them. */
    char *small2 = arena_strdup(a, "after");
    for (int i = 0; i < 6; i++) {
        assert_int_equal(big[i][0], 'A' + i);
        assert_int_equal(big[i][sizes[i] - 1], 'A' + i);
        assert_false(small2 >= big[i] && small2 < big[i] + sizes[i]);
    }
    assert_string_equal(small1, "before");
    assert_string_equal(small2, "after");
    arena_free(a);
}

static void test_calloc_and_strings(void **state)
{
    (void)state;
    arena *a = arena_new();
    /* Dirty the first chunk so calloc has something to clear if it reused memory. */
    memset(arena_alloc(a, 1000), 0xAB, 1000);
    unsigned char *z = arena_calloc(a, 3000);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(z[i], 0);
    assert_null(arena_strdup(a, NULL));
    assert_null(arena_strndup(a, NULL, 3));
    assert_string_equal(arena_strdup(a, ""), "");
    assert_string_equal(arena_strndup(a, "abcdef", 3), "abc");
    char with_nul[] = {'x', '\0', 'y'};
    char *d = arena_strndup(a, with_nul, 3);
    assert_memory_equal(d, with_nul, 3);
    assert_int_equal(d[3], '\0');
    arena_free(a);
}

static void test_printf(void **state)
{
    (void)state;
    arena *a = arena_new();
    char *s = arena_printf(a, "%s-%d-%lld", "vs", 42, (long long)INT64_MIN);
    assert_string_equal(s, "vs-42--9223372036854775808");
    assert_true(aligned16(s));
    char *e = arena_printf(a, "%s", "");
    assert_string_equal(e, "");
    /* Longer than the first chunk, and longer than a whole chunk: the slow path. */
    char *pad = malloc(200001);
    memset(pad, 'p', 200000);
    pad[200000] = '\0';
    char *l = arena_printf(a, "<%s>", pad);
    assert_int_equal(strlen(l), 200002);
    assert_int_equal(l[0], '<');
    assert_int_equal(l[200001], '>');
    /* Many printf results in a row stay intact (each one reserved its own bytes). */
    char *many[500];
    for (int i = 0; i < 500; i++)
        many[i] = arena_printf(a, "item %d of %d", i, 500);
    for (int i = 0; i < 500; i++) {
        char want[32];
        snprintf(want, sizeof want, "item %d of %d", i, 500);
        assert_string_equal(many[i], want);
    }
    assert_string_equal(s, "vs-42--9223372036854775808");
    free(pad);
    arena_free(a);
}

static void check_pattern(const buf *b, size_t n)
{
    assert_int_equal(b->len, n);
    for (size_t i = 0; i < n; i++)
        if (b->data[i] != (char)('a' + i % 26)) fail_msg("byte %zu", i);
    assert_int_equal(b->data[n], '\0');
    assert_true(b->cap > n);
}

static void grow_by_mixed_calls(buf *b, size_t n)
{
    size_t i = 0;
    while (i < n) {
        switch (i % 3) {
        case 0:
            buf_putc(b, (char)('a' + i % 26));
            i++;
            break;
        case 1: {
            char tmp[40];
            size_t k = 0;
            for (; k < 37 && i + k < n; k++)
                tmp[k] = (char)('a' + (i + k) % 26);
            buf_append(b, tmp, k);
            i += k;
            break;
        }
        default:
            buf_printf(b, "%c", (char)('a' + i % 26));
            i++;
            break;
        }
    }
}

static void test_buf_empty(void **state)
{
    (void)state;
    buf h, g;
    buf_init(&h, NULL);
    assert_non_null(h.data);
    assert_string_equal(h.data, "");
    assert_int_equal(h.len, 0);
    buf_reset(&h);
    buf_free(&h);
    arena *a = arena_new();
    buf_init(&g, a);
    assert_string_equal(g.data, "");
    buf_puts(&g, "");
    assert_string_equal(g.data, "");
    arena_free(a);
}

static void test_buf_heap(void **state)
{
    (void)state;
    buf b;
    buf_init(&b, NULL);
    grow_by_mixed_calls(&b, 300000);
    check_pattern(&b, 300000);
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    buf_puts(&b, "again");
    assert_string_equal(b.data, "again");
    buf_free(&b);
    assert_int_equal(b.cap, 0);
}

static void test_buf_arena_in_place(void **state)
{
    (void)state;
    arena *a = arena_new();
    buf b;
    buf_init(&b, a);
    grow_by_mixed_calls(&b, 100000);
    check_pattern(&b, 100000);
    arena_free(a);
}

/* With nothing allocated in between, an arena-backed buf grows where it is (no copy), and the
 * arena does not hand out the bytes it grew into. */
static void test_buf_arena_grows_in_place(void **state)
{
    (void)state;
    arena *a = arena_new();
    buf b;
    buf_init(&b, a);
    buf_putc(&b, 'a');
    char *first = b.data;
    buf_reserve(&b, 1000);
    assert_ptr_equal(b.data, first);
    assert_true(b.cap >= 1002);
    char *next = arena_alloc(a, 16);
    assert_true(next >= b.data + b.cap);
    memset(next, 'X', 16);
    for (int i = 1; i < 1000; i++)
        buf_putc(&b, 'a');
    assert_int_equal(b.len, 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(b.data[i], 'a');
    for (int i = 0; i < 16; i++)
        assert_int_equal(next[i], 'X');
    arena_free(a);
}

/* Other allocations between appends force the copy path; they must stay intact, and the buf
 * must not grow into them. */
static void test_buf_arena_interleaved(void **state)
{
    (void)state;
    arena *a = arena_new();
    buf b;
    buf_init(&b, a);
    char *others[200];
    for (int i = 0; i < 200; i++) {
        size_t before = b.len;
        for (size_t k = 0; k < 250; k++)
            buf_putc(&b, (char)('a' + (before + k) % 26));
        others[i] = arena_printf(a, "other-%d", i);
        /* Storage the buf may still grow into is never handed out to anyone else. */
        assert_false(others[i] >= b.data && others[i] < b.data + b.cap);
    }
    check_pattern(&b, 200 * 250);
    for (int i = 0; i < 200; i++) {
        char want[32];
        snprintf(want, sizeof want, "other-%d", i);
        assert_string_equal(others[i], want);
    }
    arena_free(a);
}

static void test_buf_printf_and_reserve(void **state)
{
    (void)state;
    arena *a = arena_new();
    buf b;
    buf_init(&b, a);
    buf_printf(&b, "%d:%s", 7, "x");
    buf_printf(&b, "|%05d", 42);
    assert_string_equal(b.data, "7:x|00042");
    char big[10000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    buf_printf(&b, "[%s]", big);
    assert_int_equal(b.len, 9 + 2 + 9999);
    assert_int_equal(b.data[9], '[');
    assert_int_equal(b.data[b.len - 1], ']');
    assert_int_equal(b.data[b.len], '\0');
    buf_reserve(&b, 50000);
    assert_true(b.cap >= b.len + 50000 + 1);
    size_t cap = b.cap;
    char *data = b.data;
    buf_append(&b, big, 5000); /* fits: no reallocation */
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    buf_reset(&b);
    assert_string_equal(b.data, "");
    buf_free(&b); /* no-op for an arena-backed buf */
    assert_string_equal(b.data, "");
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_allocations),
        cmocka_unit_test(test_zero_size_unique),
        cmocka_unit_test(test_used_grows),
        cmocka_unit_test(test_big_allocations),
        cmocka_unit_test(test_calloc_and_strings),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_buf_empty),
        cmocka_unit_test(test_buf_heap),
        cmocka_unit_test(test_buf_arena_in_place),
        cmocka_unit_test(test_buf_arena_grows_in_place),
        cmocka_unit_test(test_buf_arena_interleaved),
        cmocka_unit_test(test_buf_printf_and_reserve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
