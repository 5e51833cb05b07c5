/*
 * db: the SQLite helpers every file of the backend uses: prepared statements cached per
 * connection, binding, error mapping, and the settings each connection gets (internal.h).
 */
#include <stdio.h>
#include <string.h>

#include "store/sqlite/internal.h"

/* SQLite's page cache per connection. Small on purpose: SQLite walks the cache's whole hash table
 * on some page-cache truncations, which cost the writer 17% of its time at 64 MiB (6% at 16 MiB,
 * ~15% more creates/s); readers get pages through mmap and sessions through session_cache. */
#define PAGE_SIZE_STR "2048"
#define MMAP_BYTES (256LL << 20)

/* Log an SQLite failure (the message only, never bound values) and return STORE_EIO. */
int sqlite__fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "verifyd: store: %s: %s (sqlite %d)\n", what, sqlite3_errmsg(db),
            sqlite3_extended_errcode(db));
    return STORE_EIO;
}

/* The statement in *slot, prepared on first use. 0 or STORE_EIO. */
int sqlite__prepare(sqlite3 *db, sqlite3_stmt **slot, const char *sql, sqlite3_stmt **out)
{
    if (*slot == NULL &&
        sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) != SQLITE_OK) {
        fprintf(stderr, "verifyd: store: cannot prepare: %s\n", sql);
        *slot = NULL;
        return sqlite__fail(db, "prepare");
    }
    *out = *slot;
    return 0;
}

/* Make the statement reusable and drop its borrowed (SQLITE_STATIC) bindings. */
void sqlite__finish(sqlite3_stmt *stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

/* Map a failed sqlite3_step: a duplicate id or key is STORE_EXISTS (not logged: the caller
 * decides), anything else is logged and STORE_EIO. */
static int step_error(sqlite3 *db, int rc)
{
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) return STORE_EXISTS;
    return sqlite__fail(db, "step");
}

/* Run a statement that returns no rows, then finish it. 0, STORE_EXISTS or STORE_EIO. */
int sqlite__run(sqlite3 *db, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    rc = rc == SQLITE_DONE ? 0 : step_error(db, rc);
    sqlite__finish(stmt);
    return rc;
}

/* Bind helpers. Strings and blobs are SQLITE_STATIC: the caller's memory must outlive the step,
 * which it does because every statement is finished before the function that bound it returns.
 * NULL binds SQL NULL. They return SQLite's code; callers OR them together and test for non-zero
 * (SQLITE_OK is 0, so any failure survives the OR). */
int sqlite__bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
    return sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC);
}

int sqlite__bind_blob(sqlite3_stmt *stmt, int i, const void *p, size_t n)
{
    if (p == NULL) return sqlite3_bind_null(stmt, i);
    return sqlite3_bind_blob64(stmt, i, p, n, SQLITE_STATIC);
}

int sqlite__bind_named_text(sqlite3_stmt *stmt, const char *name, const char *s)
{
    int i = sqlite3_bind_parameter_index(stmt, name);
    return i == 0 ? SQLITE_OK : sqlite__bind_text(stmt, i, s);
}

int sqlite__bind_named_int64(sqlite3_stmt *stmt, const char *name, int64_t v)
{
    int i = sqlite3_bind_parameter_index(stmt, name);
    return i == 0 ? SQLITE_OK : sqlite3_bind_int64(stmt, i, v);
}

int sqlite__exec(sqlite3 *db, const char *sql, const char *what)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) return sqlite__fail(db, what);
    return 0;
}

/* The single-value result of a query (a PRAGMA, say) as an integer. 0 or STORE_EIO. */
int sqlite__pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) return sqlite__fail(db, sql);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        *out = sqlite3_column_int64(stmt, 0);
    else
        rc = sqlite__fail(db, sql);
    sqlite3_finalize(stmt);
    return rc;
}

/* Settings every connection gets; the writer also puts the file in WAL mode and sets how hard
 * commits sync. secure_delete zeroes the space a deleted or rewritten record leaves, so that a
 * redaction's erased values stay in no page (CONTRACT.md §11); set so that it never depends on
 * how SQLite was built. 0, or STORE_EIO with *errmsg set. */
int sqlite__configure(sq_store *st, sqlite3 *db, int writer, const char **errmsg)
{
    char sql[256];
    sqlite3_stmt *stmt = NULL;
    int rc;

    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, SQLITE__BUSY_TIMEOUT_MS);
    snprintf(sql, sizeof sql,
             "PRAGMA cache_size = -%lld; PRAGMA mmap_size = %lld; PRAGMA temp_store = MEMORY;"
             " PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;",
             (long long)(st->cache_bytes / 1024), (long long)MMAP_BYTES);
    rc = sqlite__exec(db, sql, "configure");
    if (rc != 0 || !writer) goto done;

    /* journal_mode answers with the mode now in force; a file that cannot do WAL (e.g. on a
     * filesystem without shared memory) silently stays in another mode, which we refuse. */
    /* Small pages: a write that lands in a random leaf of an ID index costs a whole page in
     * the WAL and again at checkpoint, while each WAL page is also one pwrite at commit; 2 KiB
     * measured best for creates (1 KiB -8%, 4 KiB -17%). Takes effect only on a new database
     * (before WAL mode is set); an existing file keeps its size. */
    rc = sqlite__exec(db, "PRAGMA page_size = " PAGE_SIZE_STR, "page_size");
    if (rc != 0) goto done;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL) != SQLITE_OK) {
        rc = sqlite__fail(db, "journal_mode");
        goto done;
    }
    const char *mode = NULL;
    if (sqlite3_step(stmt) == SQLITE_ROW) mode = (const char *)sqlite3_column_text(stmt, 0);
    if (mode == NULL || sqlite3_stricmp(mode, "wal") != 0) {
        fprintf(stderr, "verifyd: store: %s: journal_mode did not become wal\n", st->path);
        *errmsg = "the database could not be put in WAL mode";
        rc = STORE_EIO;
        goto done;
    }
    rc = sqlite__exec(
        db, st->synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
        "synchronous");
done:
    sqlite3_finalize(stmt);
    if (rc != 0 && *errmsg == NULL) *errmsg = "cannot configure the database connection";
    return rc;
}

int sqlite__stmt(sq_conn *c, int which, const char *sql, sqlite3_stmt **out)
{
    return sqlite__prepare(c->db, &c->stmt[which], sql, out);
}

const char *sqlite__col_text(sqlite3_stmt *stmt, int col, arena *a)
{
    const char *s = (const char *)sqlite3_column_text(stmt, col);
    return s != NULL ? arena_strdup(a, s) : NULL;
}

store_record sqlite__col_record(sqlite3_stmt *stmt, int col, arena *a)
{
    const void *p = sqlite3_column_blob(stmt, col);
    size_t n = (size_t)sqlite3_column_bytes(stmt, col);
    void *copy = arena_alloc(a, n > 0 ? n : 1);
    if (n > 0) memcpy(copy, p, n);
    return (store_record){copy, n};
}

int sqlite__record_get(sqlite3 *db, sqlite3_stmt *stmt, const char *account, const char *id,
                       arena *a, const char *what, store_record *out)
{
    int rc;
    if ((sqlite__bind_text(stmt, 1, id) | sqlite__bind_text(stmt, 2, account)) != SQLITE_OK) {
        rc = sqlite__fail(db, "bind");
        goto done;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out = sqlite__col_record(stmt, 0, a);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? STORE_NOT_FOUND : sqlite__fail(db, what);
    }
done:
    sqlite__finish(stmt);
    return rc;
}

int sqlite__due_refs(sq_conn *c, sqlite3_stmt *stmt, int64_t now_ms, size_t max, arena *a,
                     const char ***accounts, const char ***ids, size_t *n, const char *what)
{
    size_t count = 0, cap = 0;
    const char **acc = NULL, **id = NULL;
    int rc;

    *accounts = NULL;
    *ids = NULL;
    *n = 0;
    int64_t lim = max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max;
    if ((sqlite3_bind_int64(stmt, 1, now_ms) | sqlite3_bind_int64(stmt, 2, lim)) != SQLITE_OK) {
        rc = sqlite__fail(c->db, "bind");
        goto done;
    }
    for (;;) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) {
            rc = sqlite__fail(c->db, what);
            goto done;
        }
        if (count == cap) {
            /* Grow by doubling; the arena keeps the old arrays until it is freed. */
            cap = cap == 0 ? 16 : cap * 2;
            const char **nacc = arena_alloc(a, cap * sizeof *nacc);
            const char **nid = arena_alloc(a, cap * sizeof *nid);
            if (count > 0) {
                memcpy(nacc, acc, count * sizeof *acc);
                memcpy(nid, id, count * sizeof *id);
            }
            acc = nacc;
            id = nid;
        }
        acc[count] = sqlite__col_text(stmt, 0, a);
        id[count] = sqlite__col_text(stmt, 1, a);
        count++;
    }
    rc = 0;
    *accounts = acc;
    *ids = id;
    *n = count;
done:
    sqlite__finish(stmt);
    return rc;
}

/* The writer's transaction control (writer.c, session_ids.c). */
static const char *const control_sql[SQ_COUNT] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE", [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",     [SQ_SAVEPOINT] = "SAVEPOINT job",
    [SQ_RELEASE] = "RELEASE job",   [SQ_ROLLBACK_TO] = "ROLLBACK TO job",
};

int sqlite__writer_exec(sq_store *st, int which)
{
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, which, control_sql[which], &stmt);
    if (rc != 0) return rc;
    rc = sqlite__run(st->w.db, stmt);
    /* sqlite__run does not log STORE_EXISTS; control statements cannot raise it, but say so. */
    if (rc == STORE_EXISTS) rc = sqlite__fail(st->w.db, control_sql[which]);
    return rc;
}

const char *sqlite__vfs(void)
{
    return sqlite3_vfs_find("unix-excl") != NULL ? "unix-excl" : NULL;
}
