/*
 * test_wal_buffer: the WAL-gathering VFS, two ways.
 *
 * Through SQLite, as the store uses it (WAL, synchronous = FULL): data written in many small and
 * in a few large transactions (larger than the 4 MiB buffer, and with a tiny page cache so that
 * SQLite spills and reads back its own uncommitted frames) is all there, seen by a second
 * connection while the writer is still open, and after a reopen with the default VFS, with
 * PRAGMA integrity_check "ok".
 *
 * Through the VFS's file methods directly, on a file opened as a WAL: reads see buffered
 * writes; xFileSize, xTruncate, xSync and xClose write the buffer out first; a write that does
 * not extend what is gathered lands after it (the later write wins); writes larger than the
 * 64 KiB pieces are written correctly; non-WAL files pass straight through.
 *
 * Not for: the store's use of it (test_store_contract.c, on the default SQLite store, and
 * sqlite/test_sqlite.c run their store tests through this VFS).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/sqlite/wal_buffer.h"

#include "fixture.h" /* fx_tmpdir, fx_rmtree, fx_sql_int */

typedef struct fixture {
    char dir[64];
    char path[128]; /* dir/t.db */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    fx_tmpdir(f->dir, sizeof f->dir, "walbuf");
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    fx_rmtree(f->dir);
    free(f);
    return 0;
}

/* ---- through SQLite ---- */

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) fprintf(stderr, "%s: %s\n", sql, err ? err : "?");
    sqlite3_free(err);
    assert_int_equal(rc, SQLITE_OK);
}

static const char *one_text(sqlite3 *db, const char *sql, char *out, size_t size)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

/* Open path through the VFS under test (vfs != NULL) or the default one, as the store does. */
static sqlite3 *open_db(const char *path, const char *vfs)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
                     SQLITE_OK);
    exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
    /* The store checkpoints on its own thread; here the WAL must keep the frames under test. */
    exec(db, "PRAGMA wal_autocheckpoint = 0;");
    return db;
}

/* A row's blob: n bytes that depend on the row id, so a misplaced frame shows up. */
static void row_blob(int64_t id, unsigned char *out, size_t n)
{
    uint64_t x = (uint64_t)id * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out[i] = (unsigned char)x;
    }
}

static void insert_rows(sqlite3 *db, int64_t from, int64_t to, size_t len)
{
    sqlite3_stmt *st = NULL;
    unsigned char *b = malloc(len);
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO t (id, v) VALUES (?1, ?2)", -1, &st, NULL),
                     SQLITE_OK);
    for (int64_t id = from; id < to; id++) {
        row_blob(id, b, len);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_blob(st, 2, b, (int)len, SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    free(b);
}

/* Every row from..to-1 is there with exactly its blob. */
static void check_rows(sqlite3 *db, int64_t from, int64_t to, size_t len)
{
    sqlite3_stmt *st = NULL;
    unsigned char *want = malloc(len);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT id, v FROM t WHERE id >= ?1 AND id < ?2 ORDER BY id", -1,
                           &st, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    int64_t next = from;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        assert_int_equal(id, next);
        row_blob(id, want, len);
        assert_int_equal(sqlite3_column_bytes(st, 1), (int)len);
        assert_memory_equal(sqlite3_column_blob(st, 1), want, len);
        next++;
    }
    assert_int_equal(next, to);
    sqlite3_finalize(st);
    free(want);
}

static void assert_integrity(sqlite3 *db)
{
    char out[64];
    assert_string_equal(one_text(db, "PRAGMA integrity_check", out, sizeof out), "ok");
}

static void test_vfs_registered_once(void **state)
{
    (void)state;
    const char *name = wal_buffer_vfs(NULL);
    assert_non_null(name);
    assert_ptr_equal(wal_buffer_vfs(NULL), name);
    assert_non_null(sqlite3_vfs_find(name));
    /* Registered as an extra VFS, not as the default. */
    assert_ptr_not_equal(sqlite3_vfs_find(NULL), sqlite3_vfs_find(name));
}

/* Many small commits: each is visible to another connection as soon as it committed, and all of
 * them survive a reopen with the default VFS. */
static void test_small_transactions(void **state)
{
    fixture *f = *state;
    sqlite3 *db = open_db(f->path, wal_buffer_vfs(NULL));
    exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
    sqlite3 *reader = open_db(f->path, wal_buffer_vfs(NULL));
    for (int64_t i = 0; i < 300; i++) {
        insert_rows(db, i, i + 1, 100 + (size_t)i * 7);
        if (i % 50 == 0) {
            char sql[64];
            snprintf(sql, sizeof sql, "SELECT count(*) FROM t WHERE id <= %lld", (long long)i);
            assert_int_equal(fx_sql_int(reader, sql), i + 1);
        }
    }
    /* The frames are in the WAL, not yet checkpointed into the database file. */
    struct stat sb;
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    assert_int_equal(stat(wal, &sb), 0);
    assert_true(sb.st_size > 300 * 4096);
    sqlite3_close(reader);
    sqlite3_close(db);

    db = open_db(f->path, NULL);
    assert_int_equal(fx_sql_int(db, "SELECT count(*) FROM t"), 300);
    sqlite3_stmt *st = NULL;
    unsigned char want[100 + 299 * 7];
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, v FROM t ORDER BY id", -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        size_t len = 100 + (size_t)id * 7;
        row_blob(id, want, len);
        assert_int_equal(sqlite3_column_bytes(st, 1), (int)len);
        assert_memory_equal(sqlite3_column_blob(st, 1), want, len);
    }
    sqlite3_finalize(st);
    assert_integrity(db);
    sqlite3_close(db);
}

/* One transaction of ~10 MiB (more than the 4 MiB buffer) with a cache of 16 pages, so SQLite
 * spills uncommitted pages into the WAL and reads them back within the transaction; then a
 * second large one that rewrites half the rows. Everything reads back exactly, from the writer,
 * from a second connection, and after a reopen. */
static void test_large_transactions(void **state)
{
    fixture *f = *state;
    sqlite3 *db = open_db(f->path, wal_buffer_vfs(NULL));
    exec(db, "PRAGMA cache_size = 16");
    exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
    exec(db, "BEGIN");
    insert_rows(db, 0, 2500, 4000);
    /* Reading inside the transaction goes through pages that were spilled to the WAL. */
    check_rows(db, 0, 2500, 4000);
    exec(db, "COMMIT");

    sqlite3 *reader = open_db(f->path, wal_buffer_vfs(NULL));
    check_rows(reader, 0, 2500, 4000);

    exec(db, "BEGIN");
    exec(db, "DELETE FROM t WHERE id % 2 = 0");
    sqlite3_stmt *st = NULL;
    unsigned char b[3000];
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO t (id, v) VALUES (?1, ?2)", -1, &st, NULL),
                     SQLITE_OK);
    for (int64_t id = 0; id < 2500; id += 2) {
        row_blob(id + 100000, b, sizeof b);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_blob(st, 2, b, sizeof b, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    exec(db, "COMMIT");
    assert_int_equal(fx_sql_int(reader, "SELECT count(*) FROM t"), 2500);
    assert_int_equal(fx_sql_int(reader, "SELECT sum(length(v)) FROM t"), 1250 * 4000 + 1250 * 3000);
    sqlite3_close(reader);
    sqlite3_close(db);

    db = open_db(f->path, NULL);
    assert_integrity(db);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, v FROM t ORDER BY id", -1, &st, NULL),
                     SQLITE_OK);
    unsigned char want[4000];
    int64_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        size_t len = id % 2 == 0 ? 3000 : 4000;
        row_blob(id % 2 == 0 ? id + 100000 : id, want, len);
        assert_int_equal(sqlite3_column_bytes(st, 1), (int)len);
        assert_memory_equal(sqlite3_column_blob(st, 1), want, len);
        n++;
    }
    sqlite3_finalize(st);
    assert_int_equal(n, 2500);
    sqlite3_close(db);
}

/* With the largest page size a WAL frame's page is exactly one 64 KiB piece. A checkpoint
 * through the VFS and a reopen find every row. */
static void test_64k_pages_and_checkpoint(void **state)
{
    fixture *f = *state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                     wal_buffer_vfs(NULL)),
                     SQLITE_OK);
    exec(db, "PRAGMA page_size = 65536; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
             "PRAGMA wal_autocheckpoint = 0;");
    assert_int_equal(fx_sql_int(db, "PRAGMA page_size"), 65536);
    exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
    exec(db, "BEGIN");
    insert_rows(db, 0, 200, 60000);
    exec(db, "COMMIT");
    insert_rows(db, 200, 201, 70000); /* an overflow chain across two pages */
    check_rows(db, 0, 200, 60000);
    exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(db);

    db = open_db(f->path, NULL);
    assert_integrity(db);
    check_rows(db, 0, 200, 60000);
    check_rows(db, 200, 201, 70000);
    sqlite3_close(db);
}

/* ---- the file methods directly ---- */

typedef struct vfile {
    sqlite3_file *f;
    char name[160]; /* double NUL-terminated, as SQLite hands names to xOpen */
} vfile;

/* Open dir/name through the VFS under test with flags (SQLITE_OPEN_WAL or MAIN_DB). The name
 * has no '-', so the unix VFS does not look for a database file beside it. */
static void vopen(fixture *f, vfile *v, const char *name, int kind)
{
    sqlite3_vfs *vfs = sqlite3_vfs_find(wal_buffer_vfs(NULL));
    assert_non_null(vfs);
    memset(v->name, 0, sizeof v->name);
    snprintf(v->name, sizeof v->name - 1, "%s/%s", f->dir, name);
    v->f = calloc(1, (size_t)vfs->szOsFile);
    int out = 0;
    assert_int_equal(
        vfs->xOpen(vfs, v->name, v->f, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | kind, &out),
        SQLITE_OK);
    assert_non_null(v->f->pMethods);
}

static void vclose(vfile *v)
{
    assert_int_equal(v->f->pMethods->xClose(v->f), SQLITE_OK);
    free(v->f);
    v->f = NULL;
}

static int vwrite(vfile *v, const unsigned char *p, size_t n, int64_t off)
{
    return v->f->pMethods->xWrite(v->f, p, (int)n, off);
}

/* What is on disk right now, read with plain system calls. */
static size_t disk_read(const vfile *v, unsigned char *out, size_t n, off_t off)
{
    int fd = open(v->name, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t got = pread(fd, out, n, off);
    close(fd);
    assert_true(got >= 0);
    return (size_t)got;
}

static off_t disk_size(const vfile *v)
{
    struct stat sb;
    assert_int_equal(stat(v->name, &sb), 0);
    return sb.st_size;
}

static unsigned char *pattern(size_t n, unsigned seed)
{
    unsigned char *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)((i * 131u + seed * 7u + (i >> 8)) & 0xff);
    return p;
}

/* SQLite's own pattern (a 24-byte frame header, then a page, repeated) is gathered, read back
 * from the buffer, and on disk after xSync. */
static void test_reads_see_buffered_writes(void **state)
{
    fixture *f = *state;
    vfile v;
    vopen(f, &v, "a.wal", SQLITE_OPEN_WAL);
    unsigned char *hdr = pattern(24, 1), *page = pattern(4096, 2);
    int64_t off = 32;
    unsigned char head[32];
    memset(head, 0x5a, sizeof head);
    assert_int_equal(vwrite(&v, head, sizeof head, 0), SQLITE_OK);
    for (int i = 0; i < 40; i++) {
        hdr[0] = page[0] = (unsigned char)i;
        assert_int_equal(vwrite(&v, hdr, 24, off), SQLITE_OK);
        assert_int_equal(vwrite(&v, page, 4096, off + 24), SQLITE_OK);
        off += 24 + 4096;
    }
    /* Gathered, not yet written: that is the point of the VFS. */
    assert_int_equal(disk_size(&v), 0);

    /* A read anywhere in the gathered range sees it (frame 17's page). */
    unsigned char got[4096];
    int64_t at = 32 + 17 * (24 + 4096) + 24;
    assert_int_equal(v.f->pMethods->xRead(v.f, got, sizeof got, at), SQLITE_OK);
    page[0] = 17;
    assert_memory_equal(got, page, sizeof got);
    assert_int_equal(disk_size(&v), off);

    /* More writes after the read, then a sync: all on disk in order. */
    hdr[0] = page[0] = 99;
    assert_int_equal(vwrite(&v, hdr, 24, off), SQLITE_OK);
    assert_int_equal(vwrite(&v, page, 4096, off + 24), SQLITE_OK);
    assert_int_equal(v.f->pMethods->xSync(v.f, SQLITE_SYNC_FULL), SQLITE_OK);
    assert_int_equal(disk_size(&v), off + 24 + 4096);
    assert_int_equal(disk_read(&v, got, sizeof got, off + 24), sizeof got);
    assert_memory_equal(got, page, sizeof got);
    assert_int_equal(disk_read(&v, got, 32, 0), 32);
    assert_memory_equal(got, head, 32);
    vclose(&v);
    free(hdr);
    free(page);
}

/* xFileSize counts what is gathered; xTruncate writes it out before cutting, so the cut is
 * final (a later write-out must not grow the file again); xClose writes it out. */
static void test_size_truncate_close_write_out(void **state)
{
    fixture *f = *state;
    vfile v;
    vopen(f, &v, "b.wal", SQLITE_OPEN_WAL);
    unsigned char *p = pattern(10000, 3);
    for (size_t o = 0; o < 10000; o += 1000)
        assert_int_equal(vwrite(&v, p + o, 1000, (int64_t)o), SQLITE_OK);
    sqlite3_int64 size = -1;
    assert_int_equal(v.f->pMethods->xFileSize(v.f, &size), SQLITE_OK);
    assert_int_equal(size, 10000);

    for (size_t o = 10000; o < 20000; o += 1000)
        assert_int_equal(vwrite(&v, p + o - 10000, 1000, (int64_t)o), SQLITE_OK);
    assert_int_equal(v.f->pMethods->xTruncate(v.f, 3000), SQLITE_OK);
    assert_int_equal(v.f->pMethods->xSync(v.f, SQLITE_SYNC_NORMAL), SQLITE_OK);
    assert_int_equal(disk_size(&v), 3000);
    assert_int_equal(v.f->pMethods->xFileSize(v.f, &size), SQLITE_OK);
    assert_int_equal(size, 3000);

    /* Gathered again after the cut, then closed without a sync. */
    assert_int_equal(vwrite(&v, p, 500, 3000), SQLITE_OK);
    assert_int_equal(vwrite(&v, p + 500, 500, 3500), SQLITE_OK);
    vclose(&v);
    assert_int_equal(disk_size(&v), 4000);
    unsigned char got[4000];
    assert_int_equal(disk_read(&v, got, sizeof got, 0), sizeof got);
    assert_memory_equal(got, p, 3000);
    assert_memory_equal(got + 3000, p, 1000);
    free(p);
}

/* A write that does not continue the gathered bytes (here: an overwrite inside them, as SQLite
 * does when it rewrites a frame of the same transaction) is applied after them: it wins. */
static void test_out_of_order_write_lands_after(void **state)
{
    fixture *f = *state;
    vfile v;
    vopen(f, &v, "c.wal", SQLITE_OPEN_WAL);
    unsigned char *a = pattern(8192, 4), *b = pattern(1000, 5), *c = pattern(4096, 6);
    assert_int_equal(vwrite(&v, a, 8192, 0), SQLITE_OK);
    assert_int_equal(vwrite(&v, b, 1000, 2000), SQLITE_OK);        /* inside a */
    assert_int_equal(vwrite(&v, c, 4096, 100000), SQLITE_OK);      /* past a gap */
    assert_int_equal(vwrite(&v, b, 24, 100000 + 4096), SQLITE_OK); /* continues c */
    assert_int_equal(v.f->pMethods->xSync(v.f, SQLITE_SYNC_FULL), SQLITE_OK);

    unsigned char *want = calloc(1, 100000 + 4096 + 24);
    memcpy(want, a, 8192);
    memcpy(want + 2000, b, 1000);
    memcpy(want + 100000, c, 4096);
    memcpy(want + 100000 + 4096, b, 24);
    unsigned char *got = malloc(100000 + 4096 + 24);
    assert_int_equal(disk_size(&v), 100000 + 4096 + 24);
    assert_int_equal(disk_read(&v, got, 100000 + 4096 + 24, 0), 100000 + 4096 + 24);
    assert_memory_equal(got, want, 100000 + 4096 + 24);
    vclose(&v);
    free(a);
    free(b);
    free(c);
    free(want);
    free(got);
}

/* More contiguous bytes than the 4 MiB buffer holds, in frame-sized writes: the buffer is
 * written out when full and nothing is lost or shifted at the boundary. */
static void test_more_than_the_buffer(void **state)
{
    fixture *f = *state;
    vfile v;
    vopen(f, &v, "d.wal", SQLITE_OPEN_WAL);
    const size_t total = (5u << 20) + 12345;
    unsigned char *p = pattern(total, 7);
    size_t chunk = 4096 + 24;
    for (size_t o = 0; o < total; o += chunk) {
        size_t n = total - o < chunk ? total - o : chunk;
        assert_int_equal(vwrite(&v, p + o, n, (int64_t)o), SQLITE_OK);
    }
    assert_true(disk_size(&v) >= (4 << 20) - (off_t)chunk); /* the first buffer went out */
    assert_int_equal(v.f->pMethods->xSync(v.f, SQLITE_SYNC_FULL), SQLITE_OK);
    unsigned char *got = malloc(total);
    assert_int_equal(disk_read(&v, got, total, 0), total);
    assert_memory_equal(got, p, total);
    vclose(&v);
    free(p);
    free(got);
}

/* A single write larger than one 64 KiB piece, after gathered bytes: both land, in order. */
static void test_write_larger_than_a_piece(void **state)
{
    fixture *f = *state;
    vfile v;
    vopen(f, &v, "e.wal", SQLITE_OPEN_WAL);
    const size_t big = 100000; /* > 64 KiB */
    unsigned char *small = pattern(3000, 8), *p = pattern(big, 9);
    assert_int_equal(vwrite(&v, small, 3000, 0), SQLITE_OK);
    assert_int_equal(vwrite(&v, p, big, 3000), SQLITE_OK);
    assert_int_equal(vwrite(&v, small, 100, 3000 + (int64_t)big), SQLITE_OK);
    /* An oversized write that overlaps gathered bytes must still win over them. */
    assert_int_equal(vwrite(&v, small, 3000, 3000 + (int64_t)big + 100), SQLITE_OK);
    assert_int_equal(vwrite(&v, p, big, 3000 + (int64_t)big + 100 + 1000), SQLITE_OK);
    assert_int_equal(v.f->pMethods->xSync(v.f, SQLITE_SYNC_FULL), SQLITE_OK);

    size_t total = 3000 + big + 100 + 1000 + big;
    unsigned char *want = malloc(total), *got = malloc(total);
    memcpy(want, small, 3000);
    memcpy(want + 3000, p, big);
    memcpy(want + 3000 + big, small, 100);
    memcpy(want + 3000 + big + 100, small, 1000);
    memcpy(want + 3000 + big + 100 + 1000, p, big);
    assert_int_equal(disk_size(&v), (off_t)total);
    assert_int_equal(disk_read(&v, got, total, 0), total);
    assert_memory_equal(got, want, total);
    vclose(&v);
    free(small);
    free(p);
    free(want);
    free(got);
}

/* Files other than the WAL are not buffered: a write is on disk as soon as xWrite returns. */
static void test_non_wal_passes_through(void **state)
{
    fixture *f = *state;
    vfile v;
    vopen(f, &v, "main.db", SQLITE_OPEN_MAIN_DB);
    unsigned char *p = pattern(4096, 10);
    assert_int_equal(vwrite(&v, p, 4096, 0), SQLITE_OK);
    unsigned char got[4096];
    assert_int_equal(disk_read(&v, got, sizeof got, 0), sizeof got);
    assert_memory_equal(got, p, sizeof got);
    vclose(&v);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vfs_registered_once),
        cmocka_unit_test_setup_teardown(test_small_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_64k_pages_and_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_see_buffered_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_truncate_close_write_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order_write_lands_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_more_than_the_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_larger_than_a_piece, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_wal_passes_through, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
