/*
 * Unit tests for record.c: the exact bytes the writer produces (the stored format of sessions and
 * reports), reading them back, and refusing short, corrupt and foreign records without reading
 * past their end (ASan watches).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/record.h"

/* Reads every field of data[0..len): the count, or -1 when the record is refused. */
static int count_fields(const void *data, size_t len)
{
    record_reader r;
    record_field f;
    int n = 0, rc;
    if (record_open(&r, data, len, 1) != 0) return -1;
    while ((rc = record_next(&r, &f)) > 0)
        n++;
    return rc < 0 ? -1 : n;
}

static void test_bytes(void **state)
{
    (void)state;
    arena *a = arena_new();
    buf b;
    buf_init(&b, a);
    record_begin(&b, 1);
    record_put_str(&b, 7, "hi");
    record_put_str(&b, 8, NULL); /* absent: nothing written */
    record_put_i64(&b, 9, -2);
    record_put(&b, 200, "", 0);
    static const unsigned char want[] = {
        1,                                                               /* version */
        7,   2, 0, 0, 0, 'h',  'i',                                      /* a string */
        9,   8, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* -2 */
        200, 0, 0, 0, 0,                                                 /* an empty field */
    };
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    arena_free(a);
}

static void test_read_back(void **state)
{
    (void)state;
    arena *a = arena_new();
    buf b;
    buf_init(&b, a);
    record_begin(&b, 1);
    record_put_str(&b, 1, "vs_123");
    record_put_i64(&b, 2, INT64_MIN);
    record_put_i64(&b, 3, 1700000000);
    record_put_str(&b, 4, "");

    record_reader r;
    record_field f;
    int64_t v;
    char id[8];
    assert_int_equal(record_open(&r, b.data, b.len, 1), 0);
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(record_next(&r, &f), 1);
        assert_int_equal(f.tag, 1);
        assert_string_equal(record_str(&f, a), "vs_123");
        assert_int_equal(record_copy(&f, id, sizeof id), 0);
        assert_string_equal(id, "vs_123");
        assert_int_equal(record_i64(&f, &v), -1); /* 6 bytes are no integer */
        assert_int_equal(v, 0);
        assert_int_equal(record_next(&r, &f), 1);
        assert_int_equal(record_i64(&f, &v), 0);
        assert_true(v == INT64_MIN);
        assert_int_equal(record_next(&r, &f), 1);
        assert_int_equal(record_i64(&f, &v), 0);
        assert_int_equal(v, 1700000000);
        assert_int_equal(record_next(&r, &f), 1);
        assert_int_equal(f.tag, 4);
        assert_int_equal(f.len, 0);
        assert_string_equal(record_str(&f, a), "");
        assert_int_equal(record_next(&r, &f), 0); /* the clean end, and it stays there */
        assert_int_equal(record_next(&r, &f), 0);
        record_rewind(&r);
    }

    /* record_copy needs room for the NUL and leaves dst alone when it has none. */
    char small[6] = "xxxxx";
    assert_int_equal(record_open(&r, b.data, b.len, 1), 0);
    assert_int_equal(record_next(&r, &f), 1);
    assert_int_equal(record_copy(&f, small, sizeof small), -1);
    assert_string_equal(small, "xxxxx");
    arena_free(a);
}

static void test_refused(void **state)
{
    (void)state;
    arena *a = arena_new();
    buf b;
    buf_init(&b, a);
    record_begin(&b, 1);
    record_put_str(&b, 1, "abc");
    record_put_i64(&b, 2, 42);
    size_t end_first = 1 + 5 + 3, end_second = end_first + 5 + 8;
    assert_int_equal(b.len, end_second);

    /* Cut at a field boundary: a shorter record. Cut anywhere else: refused. */
    for (size_t n = 1; n <= b.len; n++) {
        int want = n == 1 ? 0 : n == end_first ? 1 : n == end_second ? 2 : -1;
        assert_int_equal(count_fields(b.data, n), want);
    }
    /* Each cut copied to a buffer of exactly that size, so ASan sees any read past it. */
    for (size_t n = 1; n < b.len; n++) {
        unsigned char *copy = arena_alloc(a, n);
        memcpy(copy, b.data, n);
        (void)count_fields(copy, n);
    }

    record_reader r;
    assert_int_equal(record_open(&r, "", 0, 1), -1);     /* empty */
    assert_int_equal(record_open(&r, "\x02", 1, 1), -1); /* another version */
    /* A length larger than anything left (and than any size_t sum could hold). */
    static const unsigned char huge[] = {1, 5, 0xff, 0xff, 0xff, 0xff, 'x'};
    assert_int_equal(count_fields(huge, sizeof huge), -1);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_read_back),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
