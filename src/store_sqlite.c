/*
 * store_sqlite: the embedded SQLite backend of store.h, one database file data_dir/verifyd.db in
 * WAL mode.
 *
 * Durability: every acknowledged write survives kill -9 (and, with synchronous=FULL, power loss).
 * A write is a job; one writer thread owns the only read-write connection, takes every job that is
 * waiting (up to max_batch), runs each inside its own SAVEPOINT of one BEGIN IMMEDIATE transaction,
 * and calls the jobs' done callbacks only after COMMIT has returned, that is after the WAL was
 * fsynced. Concurrent writers therefore share fsyncs (group commit) instead of queueing one fsync
 * each. Reads never go through the writer: each thread lazily opens its own read-only connection
 * (a pthread key with a destructor, plus a registry so store_close can close them all), and every
 * connection caches its prepared statements, including one per combination of list filters.
 *
 * Not for: rendering, validation or Stripe rules (the stored session is an opaque vs_encode blob
 * plus the few columns the lists filter and sort on), nor any other database: PostgreSQL would be a
 * sibling behind the same store__ops (store_backend.h).
 *
 * Errors: an SQLite failure is logged to stderr with SQLite's message (never with row contents,
 * which may hold personal data) and returned as STORE_EIO; nothing here aborts on a database error.
 */
#include "store_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define DEFAULT_CACHE_BYTES (64LL << 20)
#define MMAP_BYTES (256LL << 20)
#define BUSY_TIMEOUT_MS 5000
#define DEFAULT_MAX_BATCH 512
#define LIST_LIMIT_MAX 100

/*
 * The schema, one migration per entry. Entry i brings PRAGMA user_version from i to i + 1; each is
 * applied in its own transaction together with that version bump, so a crash mid-migration leaves
 * the previous version intact. Append only: never edit an entry that has shipped.
 *
 * Every list query filters on account first, and every index that serves a list ends in
 * (created, seq), so a page is an index range scan already in the order asked for: O(log n + page),
 * no temp b-tree. seq is the rowid, hence insertion order, the tie-break for equal created.
 */
static const char *const migrations[] = {
    /* 1: sessions, events, idempotency. */
    "CREATE TABLE sessions ("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  account TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  client_reference_id TEXT,"
    "  related_customer TEXT,"
    "  related_customer_account TEXT,"
    "  redaction_due INTEGER," /* unix ms; NULL unless a redaction is processing */
    "  body BLOB NOT NULL"     /* vs_encode() */
    ");"
    "CREATE INDEX sessions_created ON sessions(account, created, seq);"
    "CREATE INDEX sessions_status ON sessions(account, status, created, seq);"
    "CREATE INDEX sessions_client_ref ON sessions(account, client_reference_id, created, seq);"
    "CREATE INDEX sessions_customer ON sessions(account, related_customer, created, seq);"
    "CREATE INDEX sessions_customer_account"
    "  ON sessions(account, related_customer_account, created, seq);"
    "CREATE INDEX sessions_redaction_due ON sessions(redaction_due)"
    "  WHERE redaction_due IS NOT NULL;"
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  account TEXT NOT NULL,"
    "  livemode INTEGER,"
    "  created INTEGER,"
    "  type TEXT,"
    "  object_id TEXT,"
    "  request_id TEXT,"
    "  idempotency_key TEXT,"
    "  snapshot BLOB"
    ");"
    "CREATE INDEX events_created ON events(account, created, seq);"
    "CREATE INDEX events_object ON events(object_id);"
    "CREATE TABLE idempotency ("
    "  account TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  fingerprint TEXT NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  body BLOB,"
    "  created INTEGER NOT NULL,"
    "  object_id TEXT," /* the object the saved response carries, for redaction */
    "  PRIMARY KEY (account, key)"
    ") WITHOUT ROWID;"
    "CREATE INDEX idempotency_created ON idempotency(created);"
    "CREATE INDEX idempotency_object ON idempotency(account, object_id)"
    "  WHERE object_id IS NOT NULL;",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* Statements of a read connection. */
enum { R_SESSION_GET, R_CURSOR, R_IDEM_GET, R_REDACTIONS_DUE, R_COUNT };

#define SQL_SESSION_GET "SELECT body FROM sessions WHERE id = ?1 AND account = ?2"
#define SQL_IDEM_GET                                                                               \
    "SELECT fingerprint, status, body, created, object_id FROM idempotency"                        \
    " WHERE account = ?1 AND key = ?2"

static const char *const read_sql[R_COUNT] = {
    [R_SESSION_GET] = SQL_SESSION_GET,
    [R_CURSOR] = "SELECT created, seq FROM sessions WHERE id = ?1 AND account = ?2",
    [R_IDEM_GET] = SQL_IDEM_GET,
    [R_REDACTIONS_DUE] = "SELECT account, id FROM sessions"
                         " WHERE redaction_due IS NOT NULL AND redaction_due <= ?1"
                         " ORDER BY redaction_due, seq LIMIT ?2",
};

/* Statements of the writer connection. insert and update share parameter numbers (see
 * bind_session); update leaves created alone: it is immutable and part of every list order. */
enum {
    W_BEGIN,
    W_COMMIT,
    W_ROLLBACK,
    W_SAVEPOINT,
    W_RELEASE,
    W_ROLLBACK_TO,
    W_SESSION_GET,
    W_SESSION_INSERT,
    W_SESSION_UPDATE,
    W_EVENT_INSERT,
    W_IDEM_GET,
    W_IDEM_PUT,
    W_IDEM_PRUNE,
    W_EVENT_SNAPSHOTS,
    W_EVENT_SNAPSHOT_SET,
    W_IDEM_DELETE_OBJECT,
    W_COUNT
};

static const char *const write_sql[W_COUNT] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    [W_SAVEPOINT] = "SAVEPOINT job",
    [W_RELEASE] = "RELEASE job",
    [W_ROLLBACK_TO] = "ROLLBACK TO job",
    [W_SESSION_GET] = SQL_SESSION_GET,
    [W_SESSION_INSERT] = "INSERT INTO sessions (id, account, created, status, client_reference_id,"
                         " related_customer, related_customer_account, redaction_due, body)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [W_SESSION_UPDATE] = "UPDATE sessions SET status = ?4, client_reference_id = ?5,"
                         " related_customer = ?6, related_customer_account = ?7,"
                         " redaction_due = ?8, body = ?9 WHERE id = ?1 AND account = ?2",
    [W_EVENT_INSERT] = "INSERT INTO events (id, account, livemode, created, type, object_id,"
                       " request_id, idempotency_key, snapshot)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [W_IDEM_GET] = SQL_IDEM_GET,
    [W_IDEM_PUT] = "INSERT INTO idempotency (account, key, fingerprint, status, body, created,"
                   " object_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [W_IDEM_PRUNE] = "DELETE FROM idempotency WHERE created < ?1",
    [W_EVENT_SNAPSHOTS] = "SELECT seq, snapshot FROM events"
                          " WHERE object_id = ?2 AND account = ?1 AND snapshot IS NOT NULL",
    [W_EVENT_SNAPSHOT_SET] = "UPDATE events SET snapshot = ?2 WHERE seq = ?1",
    [W_IDEM_DELETE_OBJECT] = "DELETE FROM idempotency WHERE account = ?1 AND object_id = ?2",
};

typedef struct job {
    store_job_fn fn;
    store_done_fn done;
    void *ctx;
    int rc;
    struct job *next;
} job;

struct sq_store;

/* One thread's read-only connection. Owned by the registry of its store; freed by the thread's
 * exit (pthread key destructor) or by store_close, whichever comes first. */
typedef struct reader {
    struct sq_store *st;
    sqlite3 *db;
    sqlite3_stmt *stmt[R_COUNT];
    sqlite3_stmt *list[STORE__LQ_COMBINATIONS];
    struct reader *prev, *next;
} reader;

typedef struct sq_txn {
    store_txn base; /* first: a store_txn * is a sq_txn * */
    struct sq_store *st;
} sq_txn;

typedef struct sq_store {
    store base; /* first: a store * is a sq_store * */
    char *path;
    int64_t cache_bytes;
    int synchronous_full;
    int max_batch;

    /* Writer: used by store_open until the writer thread starts, then by that thread alone. */
    sqlite3 *wdb;
    sqlite3_stmt *wstmt[W_COUNT];
    buf enc; /* vs_encode scratch, heap-backed */
    sq_txn txn;
    pthread_t writer;
    int writer_started;

    /* Job queue: FIFO under qmu; the writer waits on qcv. */
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    job *qhead, *qtail;
    int stopping;

    /* Readers: the calling thread's connection under rkey; every one in the registry. */
    pthread_key_t rkey;
    int rkey_made;
    pthread_mutex_t rmu;
    reader *readers;
} sq_store;

/* ---- SQLite helpers ---- */

/* Log an SQLite failure (the message only, never bound values) and return STORE_EIO. */
static int db_fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "verifyd: store: %s: %s (sqlite %d)\n", what, sqlite3_errmsg(db),
            sqlite3_extended_errcode(db));
    return STORE_EIO;
}

/* The statement in *slot, prepared on first use. 0 or STORE_EIO. */
static int prepare(sqlite3 *db, sqlite3_stmt **slot, const char *sql, sqlite3_stmt **out)
{
    if (*slot == NULL &&
        sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) != SQLITE_OK) {
        fprintf(stderr, "verifyd: store: cannot prepare: %s\n", sql);
        *slot = NULL;
        return db_fail(db, "prepare");
    }
    *out = *slot;
    return 0;
}

/* Make the statement reusable and drop its borrowed (SQLITE_STATIC) bindings. */
static void finish(sqlite3_stmt *stmt)
{
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
}

/* Map a failed sqlite3_step: a duplicate id or key is STORE_EXISTS (not logged: the caller
 * decides), anything else is logged and STORE_EIO. */
static int step_error(sqlite3 *db, int rc)
{
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) return STORE_EXISTS;
    return db_fail(db, "step");
}

/* Run a statement that returns no rows, then finish it. 0, STORE_EXISTS or STORE_EIO. */
static int run_stmt(sqlite3 *db, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    rc = rc == SQLITE_DONE ? 0 : step_error(db, rc);
    finish(stmt);
    return rc;
}

/* Bind helpers. Strings and blobs are SQLITE_STATIC: the caller's memory must outlive the step,
 * which it does because every statement is finished before the function that bound it returns.
 * NULL binds SQL NULL. They return SQLite's code; callers OR them together and test for non-zero
 * (SQLITE_OK is 0, so any failure survives the OR). */
static int bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
    return sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC);
}

static int bind_blob(sqlite3_stmt *stmt, int i, const void *p, size_t n)
{
    if (p == NULL) return sqlite3_bind_null(stmt, i);
    return sqlite3_bind_blob64(stmt, i, p, n, SQLITE_STATIC);
}

static int bind_named_text(sqlite3_stmt *stmt, const char *name, const char *s)
{
    int i = sqlite3_bind_parameter_index(stmt, name);
    return i == 0 ? SQLITE_OK : bind_text(stmt, i, s);
}

static int bind_named_int64(sqlite3_stmt *stmt, const char *name, int64_t v)
{
    int i = sqlite3_bind_parameter_index(stmt, name);
    return i == 0 ? SQLITE_OK : sqlite3_bind_int64(stmt, i, v);
}

static int exec_sql(sqlite3 *db, const char *sql, const char *what)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) return db_fail(db, what);
    return 0;
}

/* The single-value result of a PRAGMA query as an integer. 0 or STORE_EIO. */
static int pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) return db_fail(db, sql);
    if (sqlite3_step(stmt) == SQLITE_ROW)
        *out = sqlite3_column_int64(stmt, 0);
    else
        rc = db_fail(db, sql);
    sqlite3_finalize(stmt);
    return rc;
}

/* Settings every connection gets; the writer also puts the file in WAL mode and sets how hard
 * commits sync. 0, or STORE_EIO with *errmsg set. */
static int configure(sq_store *st, sqlite3 *db, int writer, const char **errmsg)
{
    char sql[256];
    sqlite3_stmt *stmt = NULL;
    int rc;

    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    snprintf(sql, sizeof sql,
             "PRAGMA cache_size = -%lld; PRAGMA mmap_size = %lld; PRAGMA temp_store = MEMORY;"
             " PRAGMA foreign_keys = ON;",
             (long long)(st->cache_bytes / 1024), (long long)MMAP_BYTES);
    rc = exec_sql(db, sql, "configure");
    if (rc != 0 || !writer) goto done;

    /* journal_mode answers with the mode now in force; a file that cannot do WAL (e.g. on a
     * filesystem without shared memory) silently stays in another mode, which we refuse. */
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL) != SQLITE_OK) {
        rc = db_fail(db, "journal_mode");
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
    rc = exec_sql(
        db, st->synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
        "synchronous");
done:
    sqlite3_finalize(stmt);
    if (rc != 0 && *errmsg == NULL) *errmsg = "cannot configure the database connection";
    return rc;
}

/* Bring the schema to the newest version: 0, or STORE_EIO with *errmsg set. Running it again on
 * an up-to-date database changes nothing. */
static int migrate(sqlite3 *db, const char **errmsg)
{
    int rc = 0;
    for (int i = 0; i < N_MIGRATIONS; i++) {
        int64_t version = 0;
        rc = exec_sql(db, "BEGIN IMMEDIATE", "migration begin");
        if (rc != 0) goto done;
        rc = pragma_int(db, "PRAGMA user_version", &version);
        if (rc != 0) goto rollback;
        if (version > N_MIGRATIONS) {
            fprintf(stderr, "verifyd: store: schema version %lld, this build knows %d\n",
                    (long long)version, N_MIGRATIONS);
            *errmsg = "the database schema is newer than this build";
            rc = STORE_EIO;
            goto rollback;
        }
        if (version <= i) {
            char bump[64];
            snprintf(bump, sizeof bump, "PRAGMA user_version = %d", i + 1);
            rc = exec_sql(db, migrations[i], "migration");
            if (rc == 0) rc = exec_sql(db, bump, "migration version");
            if (rc != 0) goto rollback;
        }
        rc = exec_sql(db, "COMMIT", "migration commit");
        if (rc != 0) goto rollback;
    }
    return 0;
rollback:
    if (!sqlite3_get_autocommit(db)) exec_sql(db, "ROLLBACK", "migration rollback");
done:
    if (*errmsg == NULL) *errmsg = "cannot migrate the database schema";
    return rc;
}

/* ---- rows ---- */

/* Decode the vs_encode blob in column col into *out (strings in a); account is the row's owner
 * (already in a). 0 or STORE_CORRUPT. */
static int decode_session(sqlite3_stmt *stmt, int col, arena *a, const char *account,
                          vs_session *out)
{
    const void *p = sqlite3_column_blob(stmt, col);
    size_t n = (size_t)sqlite3_column_bytes(stmt, col);
    memset(out, 0, sizeof *out);
    if (vs_decode(a, p != NULL ? p : "", n, out) != 0) {
        fprintf(stderr, "verifyd: store: a stored session record could not be decoded\n");
        return STORE_CORRUPT;
    }
    /* The column is what access was checked against, so it is the authority. */
    out->account = account;
    return 0;
}

/* One session by (account, id) with an already prepared get statement (reader or writer). */
static int session_get(sqlite3 *db, sqlite3_stmt *stmt, const char *account, const char *id,
                       arena *a, vs_session *out)
{
    int rc;
    if ((bind_text(stmt, 1, id) | bind_text(stmt, 2, account)) != SQLITE_OK) {
        rc = db_fail(db, "bind");
        goto done;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        rc = decode_session(stmt, 0, a, arena_strdup(a, account), out);
    else if (rc == SQLITE_DONE)
        rc = STORE_NOT_FOUND;
    else
        rc = db_fail(db, "session get");
done:
    finish(stmt);
    return rc;
}

static int idem_get(sqlite3 *db, sqlite3_stmt *stmt, const char *account, const char *key, arena *a,
                    store_idem *out)
{
    int rc;
    memset(out, 0, sizeof *out);
    if ((bind_text(stmt, 1, account) | bind_text(stmt, 2, key)) != SQLITE_OK) {
        rc = db_fail(db, "bind");
        goto done;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
        rc = STORE_NOT_FOUND;
        goto done;
    }
    if (rc != SQLITE_ROW) {
        rc = db_fail(db, "idempotency get");
        goto done;
    }
    const char *fp = (const char *)sqlite3_column_text(stmt, 0);
    snprintf(out->fingerprint, sizeof out->fingerprint, "%s", fp != NULL ? fp : "");
    out->status = sqlite3_column_int(stmt, 1);
    const void *body = sqlite3_column_blob(stmt, 2);
    out->body_len = (size_t)sqlite3_column_bytes(stmt, 2);
    out->body = arena_strndup(a, body != NULL ? body : "", out->body_len);
    out->created = sqlite3_column_int64(stmt, 3);
    out->object_id = arena_strdup(a, (const char *)sqlite3_column_text(stmt, 4));
    rc = 0;
done:
    finish(stmt);
    return rc;
}

/* ---- readers ---- */

static void reader_free(reader *r)
{
    for (int i = 0; i < R_COUNT; i++)
        sqlite3_finalize(r->stmt[i]);
    for (int i = 0; i < STORE__LQ_COMBINATIONS; i++)
        sqlite3_finalize(r->list[i]);
    if (sqlite3_close(r->db) != SQLITE_OK) db_fail(r->db, "close reader");
    free(r);
}

/* pthread key destructor: the thread that owned r is exiting. */
static void reader_release(void *p)
{
    reader *r = p;
    sq_store *st = r->st;
    pthread_mutex_lock(&st->rmu);
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        st->readers = r->next;
    if (r->next != NULL) r->next->prev = r->prev;
    pthread_mutex_unlock(&st->rmu);
    reader_free(r);
}

/* The calling thread's read connection, opened on first use. NULL (logged) if it cannot be. */
static reader *reader_get(sq_store *st)
{
    reader *r = pthread_getspecific(st->rkey);
    if (r != NULL) return r;

    const char *errmsg = NULL;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(st->path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        configure(st, db, 0, &errmsg) != 0) {
        db_fail(db, "open reader");
        sqlite3_close(db);
        return NULL;
    }
    r = xcalloc(1, sizeof *r);
    r->st = st;
    r->db = db;
    pthread_mutex_lock(&st->rmu);
    r->next = st->readers;
    if (r->next != NULL) r->next->prev = r;
    st->readers = r;
    pthread_mutex_unlock(&st->rmu);
    if (pthread_setspecific(st->rkey, r) != 0) {
        fprintf(stderr, "verifyd: store: cannot keep a per-thread connection\n");
        reader_release(r);
        return NULL;
    }
    return r;
}

static int reader_stmt(reader *r, int which, sqlite3_stmt **out)
{
    return prepare(r->db, &r->stmt[which], read_sql[which], out);
}

static int sq_session_get(store *base, const char *account, const char *id, arena *a,
                          vs_session *out)
{
    sq_store *st = (sq_store *)base;
    sqlite3_stmt *stmt;
    reader *r = reader_get(st);
    if (r == NULL) return STORE_EIO;
    int rc = reader_stmt(r, R_SESSION_GET, &stmt);
    if (rc != 0) return rc;
    return session_get(r->db, stmt, account, id, a, out);
}

void store__sqlite_list_sql(unsigned mask, buf *out)
{
    buf_puts(out, "SELECT body FROM sessions WHERE account = :account");
    if (mask & STORE__LQ_STATUS) buf_puts(out, " AND status = :status");
    if (mask & STORE__LQ_CLIENT_REF) buf_puts(out, " AND client_reference_id = :client_ref");
    if (mask & STORE__LQ_CUSTOMER) buf_puts(out, " AND related_customer = :customer");
    if (mask & STORE__LQ_CUSTOMER_ACCOUNT)
        buf_puts(out, " AND related_customer_account = :customer_account");
    if (mask & STORE__LQ_CREATED_LO) buf_puts(out, " AND created >= :lo");
    if (mask & STORE__LQ_CREATED_HI) buf_puts(out, " AND created <= :hi");
    /* Row values keep the cursor a range on the index's (created, seq) tail. */
    if (mask & STORE__LQ_AFTER) buf_puts(out, " AND (created, seq) < (:cur_created, :cur_seq)");
    if (mask & STORE__LQ_BEFORE) buf_puts(out, " AND (created, seq) > (:cur_created, :cur_seq)");
    if (mask & STORE__LQ_BEFORE)
        buf_puts(out, " ORDER BY created ASC, seq ASC");
    else
        buf_puts(out, " ORDER BY created DESC, seq DESC");
    buf_puts(out, " LIMIT :limit");
}

/*
 * Fold the created filters into one closed interval: created is an integer, so gt x is gte x + 1
 * and lt x is lte x - 1, and eq x is both ends at x. One interval gives SQLite one range on the
 * index's created column (several overlapping terms made it sort pages in a temp b-tree), and
 * cuts the statements cached per connection from 1536 combinations to 192. Returns 0 if the
 * interval is empty (nothing can match), 1 otherwise.
 */
static int created_interval(const store_range *r, int *has_lo, int64_t *lo, int *has_hi,
                            int64_t *hi)
{
    *has_lo = *has_hi = 0;
    *lo = INT64_MIN;
    *hi = INT64_MAX;
    if (r->has_eq) {
        *lo = *lo > r->eq ? *lo : r->eq;
        *hi = *hi < r->eq ? *hi : r->eq;
    }
    if (r->has_gte && r->gte > *lo) *lo = r->gte;
    if (r->has_gt) {
        if (r->gt == INT64_MAX) return 0;
        if (r->gt + 1 > *lo) *lo = r->gt + 1;
    }
    if (r->has_lte && r->lte < *hi) *hi = r->lte;
    if (r->has_lt) {
        if (r->lt == INT64_MIN) return 0;
        if (r->lt - 1 < *hi) *hi = r->lt - 1;
    }
    *has_lo = r->has_eq || r->has_gte || r->has_gt;
    *has_hi = r->has_eq || r->has_lte || r->has_lt;
    return *lo <= *hi;
}

static unsigned list_mask(const store_session_query *q, int has_lo, int has_hi)
{
    unsigned m = 0;
    if (q->has_status) m |= STORE__LQ_STATUS;
    if (q->client_reference_id != NULL) m |= STORE__LQ_CLIENT_REF;
    if (q->related_customer != NULL) m |= STORE__LQ_CUSTOMER;
    if (q->related_customer_account != NULL) m |= STORE__LQ_CUSTOMER_ACCOUNT;
    if (has_lo) m |= STORE__LQ_CREATED_LO;
    if (has_hi) m |= STORE__LQ_CREATED_HI;
    if (q->starting_after != NULL) m |= STORE__LQ_AFTER;
    if (q->ending_before != NULL) m |= STORE__LQ_BEFORE;
    return m;
}

/* Position (created, seq) of the cursor session in q's account: 0, STORE_CURSOR or STORE_EIO. */
static int cursor_position(reader *r, const char *account, const char *id, int64_t *created,
                           int64_t *seq)
{
    sqlite3_stmt *stmt;
    int rc = reader_stmt(r, R_CURSOR, &stmt);
    if (rc != 0) return rc;
    if ((bind_text(stmt, 1, id) | bind_text(stmt, 2, account)) != SQLITE_OK) {
        rc = db_fail(r->db, "bind");
        goto done;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *created = sqlite3_column_int64(stmt, 0);
        *seq = sqlite3_column_int64(stmt, 1);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = STORE_CURSOR;
    } else {
        rc = db_fail(r->db, "list cursor");
    }
done:
    finish(stmt);
    return rc;
}

static int sq_session_list(store *base, const store_session_query *q, arena *a, vs_session **items,
                           size_t *n, int *has_more)
{
    sq_store *st = (sq_store *)base;
    sqlite3_stmt *stmt = NULL;
    int64_t cur_created = 0, cur_seq = 0;
    size_t count = 0;
    int rc, more = 0;

    *items = NULL;
    *n = 0;
    *has_more = 0;
    if (q->starting_after != NULL && q->ending_before != NULL) return STORE_CURSOR;
    reader *r = reader_get(st);
    if (r == NULL) return STORE_EIO;

    const char *cursor = q->starting_after != NULL ? q->starting_after : q->ending_before;
    if (cursor != NULL) {
        rc = cursor_position(r, q->account, cursor, &cur_created, &cur_seq);
        if (rc != 0) return rc;
    }

    int has_lo, has_hi;
    int64_t lo, hi;
    if (!created_interval(&q->created, &has_lo, &lo, &has_hi, &hi)) return 0;
    unsigned mask = list_mask(q, has_lo, has_hi);
    if (r->list[mask] == NULL) {
        buf sql;
        buf_init(&sql, NULL);
        store__sqlite_list_sql(mask, &sql);
        rc = prepare(r->db, &r->list[mask], sql.data, &stmt);
        buf_free(&sql);
        if (rc != 0) return rc;
    }
    stmt = r->list[mask];

    int limit = q->limit < 1 ? 1 : q->limit > LIST_LIMIT_MAX ? LIST_LIMIT_MAX : q->limit;
    int br = bind_named_text(stmt, ":account", q->account);
    br |= bind_named_int64(stmt, ":status", (int64_t)q->status);
    br |= bind_named_text(stmt, ":client_ref", q->client_reference_id);
    br |= bind_named_text(stmt, ":customer", q->related_customer);
    br |= bind_named_text(stmt, ":customer_account", q->related_customer_account);
    br |= bind_named_int64(stmt, ":lo", lo);
    br |= bind_named_int64(stmt, ":hi", hi);
    br |= bind_named_int64(stmt, ":cur_created", cur_created);
    br |= bind_named_int64(stmt, ":cur_seq", cur_seq);
    /* One row more than the page tells whether there is more beyond it. */
    br |= bind_named_int64(stmt, ":limit", limit + 1);
    if (br != SQLITE_OK) {
        rc = db_fail(r->db, "bind");
        goto done;
    }

    vs_session *v = arena_alloc(a, (size_t)limit * sizeof *v);
    const char *account = arena_strdup(a, q->account);
    for (;;) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) {
            rc = db_fail(r->db, "session list");
            goto done;
        }
        if (count == (size_t)limit) {
            more = 1;
            break;
        }
        rc = decode_session(stmt, 0, a, account, &v[count]);
        if (rc != 0) goto done;
        count++;
    }
    rc = 0;
    /* ending_before walked upwards from the cursor; a page is always shown newest first. */
    if (q->ending_before != NULL) {
        for (size_t i = 0; i < count / 2; i++) {
            vs_session tmp = v[i];
            v[i] = v[count - 1 - i];
            v[count - 1 - i] = tmp;
        }
    }
    *items = v;
    *n = count;
    *has_more = more;
done:
    finish(stmt);
    return rc;
}

static int sq_idem_get(store *base, const char *account, const char *key, arena *a, store_idem *out)
{
    sq_store *st = (sq_store *)base;
    sqlite3_stmt *stmt;
    reader *r = reader_get(st);
    if (r == NULL) return STORE_EIO;
    int rc = reader_stmt(r, R_IDEM_GET, &stmt);
    if (rc != 0) return rc;
    return idem_get(r->db, stmt, account, key, a, out);
}

static int sq_redactions_due(store *base, int64_t now_ms, size_t max, arena *a,
                             const char ***accounts, const char ***ids, size_t *n)
{
    sq_store *st = (sq_store *)base;
    sqlite3_stmt *stmt;
    size_t count = 0, cap = 0;
    const char **acc = NULL, **id = NULL;
    int rc;

    *accounts = NULL;
    *ids = NULL;
    *n = 0;
    if (max == 0) return 0;
    reader *r = reader_get(st);
    if (r == NULL) return STORE_EIO;
    rc = reader_stmt(r, R_REDACTIONS_DUE, &stmt);
    if (rc != 0) return rc;
    int64_t lim = max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max;
    if ((sqlite3_bind_int64(stmt, 1, now_ms) | sqlite3_bind_int64(stmt, 2, lim)) != SQLITE_OK) {
        rc = db_fail(r->db, "bind");
        goto done;
    }
    for (;;) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) {
            rc = db_fail(r->db, "redactions due");
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
        acc[count] = arena_strdup(a, (const char *)sqlite3_column_text(stmt, 0));
        id[count] = arena_strdup(a, (const char *)sqlite3_column_text(stmt, 1));
        count++;
    }
    rc = 0;
    *accounts = acc;
    *ids = id;
    *n = count;
done:
    finish(stmt);
    return rc;
}

/* ---- writer: transaction functions (writer thread, inside a job) ---- */

static int writer_stmt(sq_store *st, int which, sqlite3_stmt **out)
{
    return prepare(st->wdb, &st->wstmt[which], write_sql[which], out);
}

/* Run one of the statements without parameters (BEGIN, COMMIT, SAVEPOINT, ...). */
static int writer_exec(sq_store *st, int which)
{
    sqlite3_stmt *stmt;
    int rc = writer_stmt(st, which, &stmt);
    if (rc != 0) return rc;
    rc = run_stmt(st->wdb, stmt);
    /* run_stmt does not log STORE_EXISTS; control statements cannot raise it, but say so. */
    if (rc == STORE_EXISTS) rc = db_fail(st->wdb, write_sql[which]);
    return rc;
}

static int sq_txn_session_get(store_txn *t, const char *account, const char *id, arena *a,
                              vs_session *out)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = writer_stmt(st, W_SESSION_GET, &stmt);
    if (rc != 0) return rc;
    return session_get(st->wdb, stmt, account, id, a, out);
}

/* Bind the parameters insert and update share: ?1 id, ?2 account, ?3 created, ?4 status,
 * ?5..?7 the filterable references, ?8 redaction_due, ?9 body. Encodes into st->enc, which must
 * stay untouched until the statement is finished. */
static int bind_session(sq_store *st, sqlite3_stmt *stmt, const vs_session *s)
{
    buf_reset(&st->enc);
    vs_encode(s, &st->enc);
    int br = bind_text(stmt, 1, s->id);
    br |= bind_text(stmt, 2, s->account);
    br |= sqlite3_bind_int64(stmt, 3, s->created);
    br |= sqlite3_bind_int(stmt, 4, (int)s->status);
    br |= bind_text(stmt, 5, s->client_reference_id);
    br |= bind_text(stmt, 6, s->related_customer);
    br |= bind_text(stmt, 7, s->related_customer_account);
    if (s->redaction == VS_REDACTION_PROCESSING)
        br |= sqlite3_bind_int64(stmt, 8, s->redaction_due);
    else
        br |= sqlite3_bind_null(stmt, 8);
    br |= bind_blob(stmt, 9, st->enc.data, st->enc.len);
    if (br != SQLITE_OK) {
        finish(stmt);
        return db_fail(st->wdb, "bind");
    }
    return 0;
}

static int sq_txn_session_insert(store_txn *t, const vs_session *s)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = writer_stmt(st, W_SESSION_INSERT, &stmt);
    if (rc == 0) rc = bind_session(st, stmt, s);
    if (rc == 0) rc = run_stmt(st->wdb, stmt);
    return rc;
}

static int sq_txn_session_update(store_txn *t, const vs_session *s)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = writer_stmt(st, W_SESSION_UPDATE, &stmt);
    if (rc == 0) rc = bind_session(st, stmt, s);
    if (rc == 0) rc = run_stmt(st->wdb, stmt);
    if (rc == 0 && sqlite3_changes(st->wdb) == 0) rc = STORE_NOT_FOUND;
    return rc;
}

static int sq_txn_event_insert(store_txn *t, const store_event *e)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = writer_stmt(st, W_EVENT_INSERT, &stmt);
    if (rc != 0) return rc;
    int br = bind_text(stmt, 1, e->id);
    br |= bind_text(stmt, 2, e->account);
    br |= sqlite3_bind_int(stmt, 3, e->livemode ? 1 : 0);
    br |= sqlite3_bind_int64(stmt, 4, e->created);
    br |= bind_text(stmt, 5, e->type);
    br |= bind_text(stmt, 6, e->object_id);
    br |= bind_text(stmt, 7, e->request_id);
    br |= bind_text(stmt, 8, e->idempotency_key);
    br |= bind_blob(stmt, 9, e->snapshot, e->snapshot_len);
    if (br != SQLITE_OK) {
        finish(stmt);
        return db_fail(st->wdb, "bind");
    }
    return run_stmt(st->wdb, stmt);
}

static int sq_txn_idem_get(store_txn *t, const char *account, const char *key, arena *a,
                           store_idem *out)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = writer_stmt(st, W_IDEM_GET, &stmt);
    if (rc != 0) return rc;
    return idem_get(st->wdb, stmt, account, key, a, out);
}

static int sq_txn_idem_put(store_txn *t, const char *account, const char *key, const store_idem *v)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = writer_stmt(st, W_IDEM_PUT, &stmt);
    if (rc != 0) return rc;
    int br = bind_text(stmt, 1, account);
    br |= bind_text(stmt, 2, key);
    br |= bind_text(stmt, 3, v->fingerprint);
    br |= sqlite3_bind_int(stmt, 4, v->status);
    /* An empty body is stored as an empty blob, not NULL. */
    br |= bind_blob(stmt, 5, v->body != NULL ? v->body : "", v->body != NULL ? v->body_len : 0);
    br |= sqlite3_bind_int64(stmt, 6, v->created);
    br |= bind_text(stmt, 7, v->object_id);
    if (br != SQLITE_OK) {
        finish(stmt);
        return db_fail(st->wdb, "bind");
    }
    return run_stmt(st->wdb, stmt);
}

static int sq_txn_idem_prune(store_txn *t, int64_t cutoff)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = writer_stmt(st, W_IDEM_PRUNE, &stmt);
    if (rc != 0) return rc;
    if (sqlite3_bind_int64(stmt, 1, cutoff) != SQLITE_OK) {
        finish(stmt);
        return db_fail(st->wdb, "bind");
    }
    return run_stmt(st->wdb, stmt);
}

/* One event snapshot to rewrite: collected first, so no row is updated under a running SELECT. */
typedef struct snap_fix {
    int64_t seq;
    vs_session s;
} snap_fix;

/*
 * CONTRACT.md §11: redaction reaches every stored copy of the object's personal data. Event
 * snapshots are decoded, passed through vs_redact and written back; saved idempotent responses
 * that carry the object are deleted (a retry then runs afresh, and finds the object redacted).
 */
static int sq_txn_redact_object(store_txn *t, const char *account, const char *object_id)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *sel, *upd, *del;
    arena *a = arena_new();
    snap_fix *fix = NULL;
    size_t n = 0, cap = 0;
    int rc;

    rc = writer_stmt(st, W_EVENT_SNAPSHOTS, &sel);
    if (rc == 0) rc = writer_stmt(st, W_EVENT_SNAPSHOT_SET, &upd);
    if (rc == 0) rc = writer_stmt(st, W_IDEM_DELETE_OBJECT, &del);
    if (rc != 0) goto done;

    if ((bind_text(sel, 1, account) | bind_text(sel, 2, object_id)) != SQLITE_OK) {
        finish(sel);
        rc = db_fail(st->wdb, "bind");
        goto done;
    }
    for (;;) {
        int src = sqlite3_step(sel);
        if (src == SQLITE_DONE) break;
        if (src != SQLITE_ROW) {
            rc = db_fail(st->wdb, "event snapshots");
            break;
        }
        if (n == cap) {
            cap = cap == 0 ? 8 : cap * 2;
            snap_fix *grown = arena_alloc(a, cap * sizeof *grown);
            if (n > 0) memcpy(grown, fix, n * sizeof *fix);
            fix = grown;
        }
        fix[n].seq = sqlite3_column_int64(sel, 0);
        rc = decode_session(sel, 1, a, account, &fix[n].s);
        if (rc != 0) break;
        n++;
    }
    finish(sel);
    if (rc != 0) goto done;

    for (size_t i = 0; i < n; i++) {
        vs_redact(&fix[i].s);
        buf_reset(&st->enc);
        vs_encode(&fix[i].s, &st->enc);
        if ((sqlite3_bind_int64(upd, 1, fix[i].seq) |
             bind_blob(upd, 2, st->enc.data, st->enc.len)) != SQLITE_OK) {
            finish(upd);
            rc = db_fail(st->wdb, "bind");
            goto done;
        }
        rc = run_stmt(st->wdb, upd);
        if (rc != 0) goto done;
    }

    if ((bind_text(del, 1, account) | bind_text(del, 2, object_id)) != SQLITE_OK) {
        finish(del);
        rc = db_fail(st->wdb, "bind");
        goto done;
    }
    rc = run_stmt(st->wdb, del);
done:
    arena_free(a);
    return rc;
}

/* ---- writer: the thread and its group commit ---- */

/*
 * One group commit. Each job gets its own savepoint, so a job that fails (returns non-zero) is
 * undone alone and its batch-mates still commit. done callbacks run only after COMMIT returned:
 * in WAL mode with synchronous=FULL that means the WAL, commit frame included, is fsynced. If
 * BEGIN, a savepoint or COMMIT fails, or an error made SQLite roll the whole transaction back,
 * nothing of the batch is committed and every job is told STORE_EIO.
 *
 * One case stays ambiguous, as in every database: COMMIT reporting an I/O error after the commit
 * frame reached the disk. The jobs are then told STORE_EIO although their rows may reappear after
 * a restart; an acknowledged write is still never lost.
 */
static void run_batch(sq_store *st, job *first)
{
    int rc = writer_exec(st, W_BEGIN);
    if (rc != 0) goto failed;
    for (job *j = first; j != NULL; j = j->next) {
        rc = writer_exec(st, W_SAVEPOINT);
        if (rc != 0) goto failed;
        j->rc = j->fn(&st->txn.base, j->ctx);
        if (sqlite3_get_autocommit(st->wdb)) {
            fprintf(stderr, "verifyd: store: a database error rolled back a whole batch\n");
            goto failed;
        }
        if (j->rc != 0) {
            rc = writer_exec(st, W_ROLLBACK_TO);
            if (rc != 0) goto failed;
        }
        rc = writer_exec(st, W_RELEASE);
        if (rc != 0) goto failed;
    }
    rc = writer_exec(st, W_COMMIT);
    if (rc != 0) goto failed;
    for (job *j = first; j != NULL; j = j->next)
        if (j->done != NULL) j->done(j->ctx, j->rc);
    return;

failed:
    if (!sqlite3_get_autocommit(st->wdb)) writer_exec(st, W_ROLLBACK);
    for (job *j = first; j != NULL; j = j->next)
        if (j->done != NULL) j->done(j->ctx, STORE_EIO);
}

static void *writer_main(void *arg)
{
    sq_store *st = arg;
    for (;;) {
        pthread_mutex_lock(&st->qmu);
        while (st->qhead == NULL && !st->stopping)
            pthread_cond_wait(&st->qcv, &st->qmu);
        if (st->qhead == NULL) { /* stopping, and the queue is drained */
            pthread_mutex_unlock(&st->qmu);
            break;
        }
        /* Take every waiting job, up to max_batch, as one chain. */
        job *first = st->qhead, *last = first;
        for (int n = 1; last->next != NULL && n < st->max_batch; n++)
            last = last->next;
        st->qhead = last->next;
        if (st->qhead == NULL) st->qtail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&st->qmu);

        run_batch(st, first);
        while (first != NULL) {
            job *next = first->next;
            free(first);
            first = next;
        }
    }
    return NULL;
}

static void sq_submit(store *base, store_job_fn fn, store_done_fn done, void *ctx)
{
    sq_store *st = (sq_store *)base;
    job *j = xmalloc(sizeof *j);
    *j = (job){.fn = fn, .done = done, .ctx = ctx, .rc = 0, .next = NULL};
    pthread_mutex_lock(&st->qmu);
    if (st->qtail != NULL)
        st->qtail->next = j;
    else
        st->qhead = j;
    st->qtail = j;
    pthread_cond_signal(&st->qcv);
    pthread_mutex_unlock(&st->qmu);
}

/* ---- open / close ---- */

/* Undo whatever of sq_open got done: stop the writer (after it drained the queue), close the
 * readers, then the writer connection (the last close checkpoints the WAL into the file). */
static void sq_destroy(sq_store *st)
{
    if (st->writer_started) {
        pthread_mutex_lock(&st->qmu);
        st->stopping = 1;
        pthread_cond_signal(&st->qcv);
        pthread_mutex_unlock(&st->qmu);
        pthread_join(st->writer, NULL);
    }
    pthread_mutex_lock(&st->rmu);
    while (st->readers != NULL) {
        reader *r = st->readers;
        st->readers = r->next;
        reader_free(r);
    }
    pthread_mutex_unlock(&st->rmu);
    if (st->rkey_made) {
        pthread_setspecific(st->rkey, NULL);
        pthread_key_delete(st->rkey);
    }
    for (int i = 0; i < W_COUNT; i++)
        sqlite3_finalize(st->wstmt[i]);
    if (st->wdb != NULL && sqlite3_close(st->wdb) != SQLITE_OK) db_fail(st->wdb, "close");
    buf_free(&st->enc);
    pthread_cond_destroy(&st->qcv);
    pthread_mutex_destroy(&st->qmu);
    pthread_mutex_destroy(&st->rmu);
    free(st->path);
    free(st);
}

static int sq_open(const store_config *cfg, store **out, const char **errmsg)
{
    sq_store *st = NULL;
    int rc = STORE_EIO;

    *out = NULL;
    *errmsg = NULL;
    if (cfg->data_dir == NULL || cfg->data_dir[0] == '\0') {
        *errmsg = "no data directory given";
        return STORE_EIO;
    }
    if (!sqlite3_threadsafe()) {
        *errmsg = "this SQLite library was built without thread support";
        return STORE_EIO;
    }
    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "verifyd: store: mkdir %s: %s\n", cfg->data_dir, strerror(errno));
        *errmsg = "cannot create the data directory";
        return STORE_EIO;
    }

    st = xcalloc(1, sizeof *st);
    st->base.ops = &store__sqlite_ops;
    st->txn.base.ops = &store__sqlite_ops;
    st->txn.st = st;
    st->cache_bytes = cfg->cache_bytes > 0 ? cfg->cache_bytes : DEFAULT_CACHE_BYTES;
    st->synchronous_full = cfg->synchronous_full != 0;
    st->max_batch = cfg->max_batch > 0 ? cfg->max_batch : DEFAULT_MAX_BATCH;
    size_t plen = strlen(cfg->data_dir) + sizeof "/verifyd.db";
    st->path = xmalloc(plen);
    snprintf(st->path, plen, "%s/verifyd.db", cfg->data_dir);
    buf_init(&st->enc, NULL);
    pthread_mutex_init(&st->qmu, NULL);
    pthread_cond_init(&st->qcv, NULL);
    pthread_mutex_init(&st->rmu, NULL);
    /* Past this point sq_destroy undoes everything, whatever step fails. */
    if (pthread_key_create(&st->rkey, reader_release) != 0) {
        *errmsg = "cannot create a thread-local key";
        goto fail;
    }
    st->rkey_made = 1;

    /* Create the file ourselves so it is 0600 from the start; SQLite gives the -wal and -shm
     * files the same permissions. The data may hold personal data. */
    int fd = open(st->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "verifyd: store: open %s: %s\n", st->path, strerror(errno));
        *errmsg = "cannot create the database file";
        goto fail;
    }
    close(fd);

    if (sqlite3_open_v2(st->path, &st->wdb,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        db_fail(st->wdb, "open");
        *errmsg = "cannot open the database";
        goto fail;
    }
    rc = configure(st, st->wdb, 1, errmsg);
    if (rc != 0) goto fail;
    rc = migrate(st->wdb, errmsg);
    if (rc != 0) goto fail;

    if (pthread_create(&st->writer, NULL, writer_main, st) != 0) {
        *errmsg = "cannot start the writer thread";
        rc = STORE_EIO;
        goto fail;
    }
    st->writer_started = 1;
    *out = &st->base;
    return 0;

fail:
    sq_destroy(st);
    return STORE_EIO;
}

static void sq_close(store *base)
{
    sq_destroy((sq_store *)base);
}

const store__ops store__sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .session_get = sq_session_get,
    .session_list = sq_session_list,
    .idem_get = sq_idem_get,
    .redactions_due = sq_redactions_due,
    .submit = sq_submit,
    .txn_session_get = sq_txn_session_get,
    .txn_session_insert = sq_txn_session_insert,
    .txn_session_update = sq_txn_session_update,
    .txn_event_insert = sq_txn_event_insert,
    .txn_idem_get = sq_txn_idem_get,
    .txn_idem_put = sq_txn_idem_put,
    .txn_idem_prune = sq_txn_idem_prune,
    .txn_redact_object = sq_txn_redact_object,
};
