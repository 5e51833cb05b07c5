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
 * Not for: rendering, validation or Stripe rules (the stored session is an opaque session_encode
 * blob plus the few columns the lists filter and sort on), nor any other database: PostgreSQL would
 * be a sibling behind the same store__ops (store/backend.h).
 *
 * Errors: an SQLite failure is logged to stderr with SQLite's message (never with row contents,
 * which may hold personal data) and returned as STORE_EIO; nothing here aborts on a database error.
 */
#include "store/session_cache.h"
#include "store/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity/report.h"
#include "store/sqlite/id_map.h"
#include "base/util.h"
#include "store/sqlite/wal_buffer.h"

/* SQLite's page cache per connection. Small on purpose: SQLite walks the cache's whole hash table
 * on some page-cache truncations, which cost the writer 17% of its time at 64 MiB (6% at 16 MiB,
 * ~15% more creates/s); readers get pages through mmap and sessions through session_cache. */
#define DEFAULT_CACHE_BYTES (16LL << 20)
#define PAGE_SIZE_STR "2048"
/* 64 Ki slots: at most that many session records in memory (a few tens of MiB). */
#define SESSION_CACHE_SLOTS_LOG2 16
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
    "  body BLOB NOT NULL"     /* session_encode() */
    ");"
    "CREATE INDEX sessions_created ON sessions(account, created, seq);"
    "CREATE INDEX sessions_status ON sessions(account, status, created, seq);"
    "CREATE INDEX sessions_client_ref ON sessions(account, client_reference_id, created, seq)"
    "  WHERE client_reference_id IS NOT NULL;"
    "CREATE INDEX sessions_customer ON sessions(account, related_customer, created, seq)"
    "  WHERE related_customer IS NOT NULL;"
    "CREATE INDEX sessions_customer_account"
    "  ON sessions(account, related_customer_account, created, seq)"
    "  WHERE related_customer_account IS NOT NULL;"
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
    "  WHERE object_id IS NOT NULL;"
    /* --- events & webhooks --- */
    /* pending_webhooks: deliveries of the event not yet succeeded. Endpoints: enabled_events is
     * "\n" + names joined by "\n" + "\n"; account '*' is the --forward-to endpoint. deliveries
     * is the outbox: state 0 pending (next_attempt_ms set), 1 succeeded, 2 failed. */
    "ALTER TABLE events ADD COLUMN pending_webhooks INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE webhook_endpoints ("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  account TEXT NOT NULL,"
    "  livemode INTEGER NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  disabled INTEGER NOT NULL,"
    "  url TEXT NOT NULL,"
    "  secret TEXT NOT NULL,"
    "  api_version TEXT,"
    "  description TEXT,"
    "  enabled_events TEXT NOT NULL,"
    "  metadata BLOB"
    ");"
    "CREATE INDEX webhook_endpoints_account ON webhook_endpoints(account, created, seq);"
    "CREATE TABLE deliveries ("
    "  seq INTEGER PRIMARY KEY,"
    "  event_id TEXT NOT NULL,"
    "  endpoint_id TEXT NOT NULL,"
    "  account TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL,"
    "  next_attempt_ms INTEGER,"
    "  state INTEGER NOT NULL"
    ");"
    "CREATE INDEX deliveries_due ON deliveries(next_attempt_ms, seq) WHERE state = 0;"
    /* --- end events & webhooks --- */
    /* --- verification reports --- */
    "CREATE TABLE reports ("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  account TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  type INTEGER NOT NULL,"
    "  verification_session TEXT,"
    "  client_reference_id TEXT,"
    "  body BLOB NOT NULL" /* report_encode() */
    ");"
    "CREATE INDEX reports_created ON reports(account, created, seq);"
    "CREATE INDEX reports_type ON reports(account, type, created, seq);"
    "CREATE INDEX reports_client_ref ON reports(account, client_reference_id, created, seq)"
    "  WHERE client_reference_id IS NOT NULL;"
    "CREATE INDEX reports_session ON reports(account, verification_session, created, seq);"
    /* Every url_token ever issued, by SHA-256, so the hosted page finds its session. */
    "CREATE TABLE hosted_links ("
    "  token_hash BLOB PRIMARY KEY,"
    "  account TEXT NOT NULL,"
    "  session_id TEXT NOT NULL"
    ") WITHOUT ROWID;"
    /* Delayed outcomes of the hosted page (unix ms), polled by the lifecycle worker. */
    "CREATE TABLE outcomes_due ("
    "  account TEXT NOT NULL,"
    "  session_id TEXT NOT NULL,"
    "  due INTEGER NOT NULL,"
    "  PRIMARY KEY (account, session_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX outcomes_due_due ON outcomes_due(due);"
    /* --- end verification reports --- */,
    /* 2: session ids move out of the sessions table's own unique index into session_ids,
     * filled in batches (see "Session ids" below); session_ids_merged holds the highest
     * sessions.seq whose id is in it. SQLite cannot drop a UNIQUE constraint, so the table is
     * rebuilt. */
    "CREATE TABLE sessions_v2 ("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL,"
    "  account TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  client_reference_id TEXT,"
    "  related_customer TEXT,"
    "  related_customer_account TEXT,"
    "  redaction_due INTEGER,"
    "  body BLOB NOT NULL"
    ");"
    "INSERT INTO sessions_v2 SELECT seq, id, account, created, status, client_reference_id,"
    "  related_customer, related_customer_account, redaction_due, body FROM sessions;"
    "DROP TABLE sessions;"
    "ALTER TABLE sessions_v2 RENAME TO sessions;"
    "CREATE INDEX sessions_created ON sessions(account, created, seq);"
    "CREATE INDEX sessions_status ON sessions(account, status, created, seq);"
    "CREATE INDEX sessions_client_ref ON sessions(account, client_reference_id, created, seq)"
    "  WHERE client_reference_id IS NOT NULL;"
    "CREATE INDEX sessions_customer ON sessions(account, related_customer, created, seq)"
    "  WHERE related_customer IS NOT NULL;"
    "CREATE INDEX sessions_customer_account"
    "  ON sessions(account, related_customer_account, created, seq)"
    "  WHERE related_customer_account IS NOT NULL;"
    "CREATE INDEX sessions_redaction_due ON sessions(redaction_due)"
    "  WHERE redaction_due IS NOT NULL;"
    "CREATE TABLE session_ids ("
    "  id TEXT PRIMARY KEY,"
    "  seq INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "INSERT INTO session_ids SELECT id, seq FROM sessions ORDER BY id;"
    "CREATE TABLE session_ids_merged (seq INTEGER NOT NULL);"
    "INSERT INTO session_ids_merged SELECT COALESCE(MAX(seq), 0) FROM sessions;",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* --- verification reports, hosted links, delayed outcomes --- */
/* Their statements, cached per connection like the others (functions at the end of the file). */
enum { LR_REPORT_GET, LR_LINK_FIND, LR_OUTCOMES_DUE, LR_COUNT };
enum {
    LW_REPORT_INSERT,
    LW_REPORT_GET,
    LW_LINK_PUT,
    LW_OUTCOME_SET,
    LW_OUTCOME_CLEAR,
    LW_SESSION_REPORTS,
    LW_REPORT_SET,
    LW_COUNT
};
struct sq_store;
static int links_sync(struct sq_store *st, const session *s);
static int reports_redact(struct sq_store *st, const char *account, const char *session_id);

/* Statements of a read connection. */
enum { R_SESSION_GET, R_IDEM_GET, R_REDACTIONS_DUE, R_COUNT };

/* The session row of id ?ID: its seq comes from ?SEQ, what the caller found in the map of
 * unmerged ids (bind_unmerged_seq), else from session_ids; the row's id is compared too. */
#define SESSION_BY_ID(ID, SEQ)                                                                     \
    "seq = COALESCE(?" SEQ ", (SELECT seq FROM session_ids WHERE id = ?" ID ")) AND id = ?" ID
#define SQL_SESSION_GET                                                                            \
    "SELECT body FROM sessions WHERE " SESSION_BY_ID("1", "3") " AND account = ?2"
#define SQL_IDEM_GET                                                                               \
    "SELECT fingerprint, status, body, created, object_id FROM idempotency"                        \
    " WHERE account = ?1 AND key = ?2"

static const char *const read_sql[R_COUNT] = {
    [R_SESSION_GET] = SQL_SESSION_GET,
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
    W_SESSION_ID_MERGED,
    W_IDS_UNMERGED,
    W_IDS_MERGE,
    W_IDS_MERGED_SET,
    W_SEQ_MAX,
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
                         " redaction_due = ?8, body = ?9"
                         " WHERE " SESSION_BY_ID("1", "10") " AND account = ?2",
    [W_EVENT_INSERT] = "INSERT INTO events (id, account, livemode, created, type, object_id,"
                       " request_id, idempotency_key, snapshot, pending_webhooks)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [W_IDEM_GET] = SQL_IDEM_GET,
    [W_IDEM_PUT] = "INSERT INTO idempotency (account, key, fingerprint, status, body, created,"
                   " object_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [W_IDEM_PRUNE] = "DELETE FROM idempotency WHERE created < ?1",
    /* No index on object_id: it would put a random-keyed insert on every event for the sake of
     * a rare background job. A session's events all come after its creation, so this walks the
     * account's events from that time on (events_created). */
    [W_EVENT_SNAPSHOTS] = "SELECT seq, snapshot FROM events"
                          " WHERE account = ?1 AND created >= COALESCE((SELECT created FROM"
                          " sessions WHERE " SESSION_BY_ID("2", "3") " AND account = ?1), 0)"
                                                                     " AND object_id = ?2"
                                                                     " AND snapshot IS NOT NULL",
    [W_EVENT_SNAPSHOT_SET] = "UPDATE events SET snapshot = ?2 WHERE seq = ?1",
    [W_IDEM_DELETE_OBJECT] = "DELETE FROM idempotency WHERE account = ?1 AND object_id = ?2",
    /* Session ids (see there). */
    [W_SESSION_ID_MERGED] = "SELECT 1 FROM session_ids WHERE id = ?1",
    [W_IDS_UNMERGED] = "SELECT id, seq FROM sessions"
                       " WHERE seq > (SELECT seq FROM session_ids_merged)",
    [W_IDS_MERGE] = "INSERT OR IGNORE INTO session_ids (id, seq) VALUES (?1, ?2)",
    [W_IDS_MERGED_SET] = "UPDATE session_ids_merged SET seq = ?1",
    [W_SEQ_MAX] = "SELECT COALESCE(MAX(seq), 0) FROM sessions",
};

/* --- events & webhooks: statement slots; the SQL is further down --- */
enum { WR_EVENT_GET, WR_WEBHOOK_GET, WR_WEBHOOK_LIST, WR_DUE, WR_NEXT_DUE, WR_COUNT };
enum {
    WW_OUTBOX_ADD,
    WW_DELIVERY_OK,
    WW_EVENT_DELIVERED,
    WW_DELIVERY_RETRY,
    WW_WEBHOOK_GET,
    WW_WEBHOOK_COUNT,
    WW_WEBHOOK_INSERT,
    WW_WEBHOOK_UPDATE,
    WW_WEBHOOK_DELETE,
    WW_DELIVERIES_DROP,
    WW_OUTBOX_ENDPOINTS,
    WW_FORWARD_PUT,
    WW_FORWARD_OFF,
    WW_FORWARD_SECRET,
    WW_EVENTS_PRUNE,
    WW_DELIVERIES_PRUNE,
    WW_COUNT
};
/* --- end events & webhooks --- */

typedef struct job {
    store_job_fn fn;
    store_done_fn done;
    void *ctx;
    int rc;
    struct job *next;
} job;

struct sq_store;

/* The paginated lists (list_page). Each keeps, per read connection, the statement that finds a
 * cursor's position and the page statements it caches, one per combination of filters; page is
 * allocated (n_page slots, all NULL) on the first cached page. */
enum { LIST_SESSIONS, LIST_EVENTS, LIST_REPORTS, LIST_KINDS };
typedef struct list_stmts {
    sqlite3_stmt *cursor;
    sqlite3_stmt **page;
    size_t n_page;
} list_stmts;

/* One thread's read-only connection. Owned by the registry of its store; freed by the thread's
 * exit (pthread key destructor) or by store_close, whichever comes first. */
typedef struct reader {
    struct sq_store *st;
    sqlite3 *db;
    sqlite3_stmt *stmt[R_COUNT];
    list_stmts list[LIST_KINDS];
    sqlite3_stmt *whk[WR_COUNT]; /* events & webhooks */
    sqlite3_stmt *lstmt[LR_COUNT];
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
    sqlite3_stmt *lwstmt[LW_COUNT];
    buf enc; /* session_encode scratch, heap-backed */
    sq_txn txn;
    /* events & webhooks: the outbox statements, and the hook called after a commit
     * that added deliveries (outbox_dirty, set by sq_txn_outbox_add). Hook under qmu. */
    sqlite3_stmt *wwhk[WW_COUNT];
    store_outbox_hook outbox_hook;
    void *outbox_ctx;
    int outbox_dirty;
    pthread_t writer;
    int writer_started;

    /* Session records in memory (session_cache.h). The writer collects what each job writes in
     * `written` and hands it to the cache only after COMMIT, before any job's done callback,
     * so an acknowledged write is what every later read sees. */
    session_cache *cache;
    struct cache_write *written;
    size_t n_written, cap_written;

    /* Session ids not yet in session_ids (see "Session ids"); any thread reads the map. The
     * merge round in progress is the writer's: round[0..round_n) are the map's entries with seq
     * in (merged_upto, round_hi], in id order, merged up to round_pos; round_hi 0: no round. */
    id_map *unmerged;
    size_t merge_min;
    int64_t merged_upto, round_hi;
    id_map_entry *round;
    size_t round_n, round_pos;
    size_t chunk_end; /* this batch merged round[round_pos..chunk_end): kept once it commits */

    /* Checkpointer: copies the WAL back into the database file on its own thread and
     * connection, so that this I/O never sits in a commit's path (the writer's automatic
     * checkpoint is off). The writer's WAL hook asks for a checkpoint under cmu. */
    sqlite3 *cdb;
    pthread_t ckpt;
    int ckpt_started;
    pthread_mutex_t cmu;
    pthread_cond_t ccv;
    int ckpt_wanted;
    int ckpt_stopping;

    /* Job queue: FIFO under qmu; the writer waits on qcv. */
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    job *qhead, *qtail;
    int queued, last_batch; /* jobs waiting; jobs in the batch taken last (sq_busy) */
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

/* The single-value result of a query (a PRAGMA, say) as an integer. 0 or STORE_EIO. */
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
    /* Small pages: a write that lands in a random leaf of an ID index costs a whole page in
     * the WAL and again at checkpoint, while each WAL page is also one pwrite at commit; 2 KiB
     * measured best for creates (1 KiB -8%, 4 KiB -17%). Takes effect only on a new database
     * (before WAL mode is set); an existing file keeps its size. */
    rc = exec_sql(db, "PRAGMA page_size = " PAGE_SIZE_STR, "page_size");
    if (rc != 0) goto done;
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

const char *store__sqlite_migration_sql(int i)
{
    return i >= 0 && i < N_MIGRATIONS ? migrations[i] : NULL;
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

/* Decode the session_encode blob in column col into *out (strings in a); account is the row's owner
 * (already in a). 0 or STORE_CORRUPT. */
static int decode_session(sqlite3_stmt *stmt, int col, arena *a, const char *account, session *out)
{
    const void *p = sqlite3_column_blob(stmt, col);
    size_t n = (size_t)sqlite3_column_bytes(stmt, col);
    memset(out, 0, sizeof *out);
    if (session_decode(a, p != NULL ? p : "", n, out) != 0) {
        fprintf(stderr, "verifyd: store: a stored session record could not be decoded\n");
        return STORE_CORRUPT;
    }
    /* The column is what access was checked against, so it is the authority. */
    out->account = account;
    return 0;
}

/* One stored row by (id, account) with an already prepared statement whose first column is
 * the record (reader or writer), decoded by decode into out. 0, STORE_NOT_FOUND, STORE_EIO or
 * STORE_CORRUPT. */
static int row_get(sqlite3 *db, sqlite3_stmt *stmt, const char *account, const char *id, arena *a,
                   const char *what,
                   int (*decode)(sqlite3_stmt *, int, arena *, const char *, void *), void *out)
{
    int rc;
    if ((bind_text(stmt, 1, id) | bind_text(stmt, 2, account)) != SQLITE_OK) {
        rc = db_fail(db, "bind");
        goto done;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        rc = decode(stmt, 0, a, arena_strdup(a, account), out);
    else if (rc == SQLITE_DONE)
        rc = STORE_NOT_FOUND;
    else
        rc = db_fail(db, what);
done:
    finish(stmt);
    return rc;
}

static int decode_session_item(sqlite3_stmt *stmt, int col, arena *a, const char *account,
                               void *out)
{
    return decode_session(stmt, col, a, account, out);
}

/*
 * Session ids. vs_ ids are random, so an index keyed by them takes each new id at a random leaf:
 * one more page in the WAL, the fsync and the checkpoint for every create, which measured as half
 * of a create's cost once a table holds 100k sessions. So the id index (session_ids) is filled in
 * batches instead. A new session's id goes into an in-memory map (st->unmerged, id -> seq) as the
 * writer inserts the row; once the map holds merge_min ids, the writer merges them into
 * session_ids in a round: sorted by id, a share of them inside each of the next batches'
 * transactions, so that the round's inserts share leaves instead of each taking its own. The
 * round's last chunk records its upper seq in session_ids_merged, and only after that commits are
 * those ids dropped from the map. At start, the map is refilled from the sessions above
 * session_ids_merged. A crash mid-round just merges the round again (INSERT OR IGNORE).
 *
 * A lookup by id (SESSION_BY_ID) takes the seq from the map when the id is there, else from
 * session_ids. Order matters for readers: the map is consulted before the statement starts, so
 * an id missing from the map was dropped after its merge committed, and the statement's
 * snapshot, taken later, sees it in session_ids. An insert that rolls back takes its id out of
 * the map again (written_flush), so the map holds committed sessions and the current batch's.
 */
#define MERGE_MIN_DEFAULT 32768
/* A round spreads over this many batches at least: 512 ids per batch by default, under two
 * milliseconds of the writer's time (measured ~3.4 us per id). */
#define MERGE_SPREAD 64

/* Bind the SESSION_BY_ID seq parameter idx of stmt: the map's seq for id, if it has one (else
 * it stays NULL). Call before the statement's first step. SQLite's result code. */
static int bind_unmerged_seq(sq_store *st, sqlite3_stmt *stmt, int idx, const char *id)
{
    int64_t seq;
    if (id_map_get(st->unmerged, id, &seq)) return sqlite3_bind_int64(stmt, idx, seq);
    return SQLITE_OK;
}

/* One session by (account, id) with an already prepared get statement (reader or writer). */
static int session_get(sq_store *st, sqlite3 *db, sqlite3_stmt *stmt, const char *account,
                       const char *id, arena *a, session *out)
{
    if (bind_unmerged_seq(st, stmt, 3, id) != SQLITE_OK) {
        finish(stmt);
        return db_fail(db, "bind");
    }
    return row_get(db, stmt, account, id, a, "session get", decode_session_item, out);
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
    for (int k = 0; k < LIST_KINDS; k++) {
        sqlite3_finalize(r->list[k].cursor);
        for (size_t i = 0; i < r->list[k].n_page; i++)
            sqlite3_finalize(r->list[k].page[i]);
        free(r->list[k].page);
    }
    for (int i = 0; i < WR_COUNT; i++) /* events & webhooks */
        sqlite3_finalize(r->whk[i]);
    for (int i = 0; i < LR_COUNT; i++)
        sqlite3_finalize(r->lstmt[i]);
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

static int sq_session_get(store *base, const char *account, const char *id, arena *a, session *out)
{
    sq_store *st = (sq_store *)base;
    sqlite3_stmt *stmt;
    const void *rec;
    size_t len;
    uint64_t ticket;
    if (session_cache_get(st->cache, account, id, a, &rec, &len, &ticket)) {
        if (session_decode(a, rec, len, out) != 0) return STORE_CORRUPT;
        out->account = arena_strdup(a, account);
        return 0;
    }
    reader *r = reader_get(st);
    if (r == NULL) return STORE_EIO;
    int rc = reader_stmt(r, R_SESSION_GET, &stmt);
    if (rc != 0) return rc;
    if ((bind_text(stmt, 1, id) | bind_text(stmt, 2, account) |
         bind_unmerged_seq(st, stmt, 3, id)) != SQLITE_OK) {
        rc = db_fail(r->db, "bind");
        goto done;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(stmt, 0);
        session_cache_fill(st->cache, account, id, blob != NULL ? blob : "",
                           (size_t)sqlite3_column_bytes(stmt, 0), ticket);
        rc = decode_session(stmt, 0, a, arena_strdup(a, account), out);
    } else {
        rc = rc == SQLITE_DONE ? STORE_NOT_FOUND : db_fail(r->db, "session get");
    }
done:
    finish(stmt);
    return rc;
}

/* ---- list pages: one engine behind the session, report and event lists ---- */

/*
 * Every list is the same query over its own table: the rows of one account, optionally narrowed
 * by equality filters and the created interval, newest first (created DESC, seq DESC), one page
 * after or before a cursor row. A list_desc says what differs; list_page does the rest.
 *
 * A statement is keyed by a mask: bit i is the list's filters[i], and the four bits above them
 * are (in LB_* order) the two ends of the created interval and the two cursors. Each list's
 * indexes are (account, filter, created, seq), so every combination is one index range scan in
 * the asked order. A filter is written `column = :param` even where the column is nullable:
 * the partial indexes on those columns (WHERE column IS NOT NULL) are usable only with it.
 */
enum { LB_LO, LB_HI, LB_AFTER, LB_BEFORE, LB_COUNT };
#define LIST_MAX_FILTERS 4

typedef struct list_filter {
    const char *column;
    const char *param; /* named parameter, with its ':' */
} list_filter;

/* A filter's value in one call: off, or on with a text (text != NULL) or an integer (num). */
typedef struct list_arg {
    int on;
    const char *text;
    int64_t num;
} list_arg;

/* One call in the terms all lists share; each adapter fills it from its own query type. */
typedef struct list_query {
    const char *account;
    list_arg arg[LIST_MAX_FILTERS]; /* arg[i] is the value of the list's filters[i] */
    const store_range *created;
    const char *starting_after; /* both set: STORE_CURSOR */
    const char *ending_before;
    int limit;       /* clamped to 1..LIST_LIMIT_MAX */
    const void *own; /* the adapter's own query, for the list's hooks */
} list_query;

typedef struct list_desc {
    int kind;                   /* LIST_*: the reader's list_stmts of this list */
    const char *select;         /* "SELECT <columns> FROM <table>", the columns decode reads */
    const char *cursor_sql;     /* (created, seq) of the row with id ?1 in account ?2 */
    int cursor_seq_param;       /* sessions: cursor_sql's SESSION_BY_ID seq parameter, else 0 */
    const char *what;           /* names a failed page step in the log */
    const char *cursor_what;    /* names a failed cursor step in the log */
    const list_filter *filters; /* at most LIST_MAX_FILTERS */
    int n_filters;
    /* Optional hook, for filters that are not one `column = :param` (events' type patterns and
     * delivery_success): extra_sql appends WHERE terms for own, extra_bind binds their named
     * parameters (SQLite's code, like the bind helpers; strings may live in a). The number of
     * such terms varies per call, so a list with this hook prepares its page statement per
     * call rather than caching one per mask. */
    void (*extra_sql)(const void *own, buf *out);
    int (*extra_bind)(sqlite3_stmt *stmt, const void *own, arena *a);
    size_t item_size; /* of the caller's item type */
    /* One row into *item, strings in a; account is the page's account, already in a.
     * 0 or STORE_CORRUPT (logged). */
    int (*decode)(sqlite3_stmt *stmt, arena *a, const char *account, void *item);
} list_desc;

static unsigned list_bit(const list_desc *d, int lb)
{
    return 1u << (d->n_filters + lb);
}

static list_arg list_text(const char *s)
{
    return (list_arg){.on = s != NULL, .text = s};
}

static list_arg list_int(int on, int64_t v)
{
    return (list_arg){.on = on, .num = v};
}

/* The SQL of d's page statement for mask (and own, if d has extra terms), appended to out. */
static void list_sql(const list_desc *d, unsigned mask, const void *own, buf *out)
{
    buf_puts(out, d->select);
    buf_puts(out, " WHERE account = :account");
    for (int i = 0; i < d->n_filters; i++)
        if (mask & (1u << i))
            buf_printf(out, " AND %s = %s", d->filters[i].column, d->filters[i].param);
    if (d->extra_sql != NULL) d->extra_sql(own, out);
    if (mask & list_bit(d, LB_LO)) buf_puts(out, " AND created >= :lo");
    if (mask & list_bit(d, LB_HI)) buf_puts(out, " AND created <= :hi");
    /* Row values keep the cursor a range on the index's (created, seq) tail. */
    if (mask & list_bit(d, LB_AFTER))
        buf_puts(out, " AND (created, seq) < (:cur_created, :cur_seq)");
    if (mask & list_bit(d, LB_BEFORE))
        buf_puts(out, " AND (created, seq) > (:cur_created, :cur_seq)");
    buf_puts(out, mask & list_bit(d, LB_BEFORE) ? " ORDER BY created ASC, seq ASC"
                                                : " ORDER BY created DESC, seq DESC");
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

static unsigned list_mask(const list_desc *d, const list_query *q, int has_lo, int has_hi)
{
    unsigned m = 0;
    for (int i = 0; i < d->n_filters; i++)
        if (q->arg[i].on) m |= 1u << i;
    if (has_lo) m |= list_bit(d, LB_LO);
    if (has_hi) m |= list_bit(d, LB_HI);
    if (q->starting_after != NULL) m |= list_bit(d, LB_AFTER);
    if (q->ending_before != NULL) m |= list_bit(d, LB_BEFORE);
    return m;
}

/* Position (created, seq) of row id in account: 0, STORE_CURSOR (no such row) or STORE_EIO. */
static int cursor_position(reader *r, const list_desc *d, const char *account, const char *id,
                           int64_t *created, int64_t *seq)
{
    sqlite3_stmt *stmt;
    int rc = prepare(r->db, &r->list[d->kind].cursor, d->cursor_sql, &stmt);
    if (rc != 0) return rc;
    int br = bind_text(stmt, 1, id) | bind_text(stmt, 2, account);
    if (d->cursor_seq_param != 0) br |= bind_unmerged_seq(r->st, stmt, d->cursor_seq_param, id);
    if (br != SQLITE_OK) {
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
        rc = db_fail(r->db, d->cursor_what);
    }
done:
    finish(stmt);
    return rc;
}

/* d's page statement for mask into *out: the reader's cached one (prepared on first use; the
 * caller finishes it), or for a list with extra terms one prepared for this call alone (the
 * caller finalizes it). 0 or STORE_EIO. */
static int list_stmt(reader *r, const list_desc *d, unsigned mask, const void *own,
                     sqlite3_stmt **out)
{
    list_stmts *ls = &r->list[d->kind];
    int rc = 0;
    buf sql;

    *out = NULL;
    if (d->extra_sql == NULL && ls->page != NULL && ls->page[mask] != NULL) {
        *out = ls->page[mask];
        return 0;
    }
    buf_init(&sql, NULL);
    list_sql(d, mask, own, &sql);
    if (d->extra_sql != NULL) {
        if (sqlite3_prepare_v2(r->db, sql.data, -1, out, NULL) != SQLITE_OK) {
            char what[64];
            snprintf(what, sizeof what, "prepare %s", d->what);
            *out = NULL;
            rc = db_fail(r->db, what);
        }
    } else {
        if (ls->page == NULL) {
            ls->n_page = (size_t)1 << (d->n_filters + LB_COUNT);
            ls->page = xcalloc(ls->n_page, sizeof *ls->page);
        }
        rc = prepare(r->db, &ls->page[mask], sql.data, out);
    }
    buf_free(&sql);
    return rc;
}

/* Swap the n items of size bytes at v end for end. */
static void reverse_items(unsigned char *v, size_t n, size_t size)
{
    if (n < 2) return;
    for (unsigned char *lo = v, *hi = v + (n - 1) * size; lo < hi; lo += size, hi -= size) {
        for (size_t b = 0; b < size; b++) {
            unsigned char t = lo[b];
            lo[b] = hi[b];
            hi[b] = t;
        }
    }
}

/*
 * One page of list d: *items is an arena array of *n items of d->item_size bytes, newest first;
 * *has_more says whether more rows lie beyond the page in the paging direction. Returns 0,
 * STORE_CURSOR (both cursors set, or the cursor names no row of the account), STORE_CORRUPT or
 * STORE_EIO; on failure *items is NULL and *n is 0. An empty created interval is an empty page.
 */
static int list_page(sq_store *st, const list_desc *d, const list_query *q, arena *a, void **items,
                     size_t *n, int *has_more)
{
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
        rc = cursor_position(r, d, q->account, cursor, &cur_created, &cur_seq);
        if (rc != 0) return rc;
    }

    int has_lo, has_hi;
    int64_t lo, hi;
    if (!created_interval(q->created, &has_lo, &lo, &has_hi, &hi)) return 0;
    rc = list_stmt(r, d, list_mask(d, q, has_lo, has_hi), q->own, &stmt);
    if (rc != 0) return rc;
    /* Past this point stmt is bound and must be finished (cached) or finalized (per call). */

    int limit = q->limit < 1 ? 1 : q->limit > LIST_LIMIT_MAX ? LIST_LIMIT_MAX : q->limit;
    int br = bind_named_text(stmt, ":account", q->account);
    for (int i = 0; i < d->n_filters; i++) {
        const list_arg *v = &q->arg[i];
        if (!v->on) continue;
        br |= v->text != NULL ? bind_named_text(stmt, d->filters[i].param, v->text)
                              : bind_named_int64(stmt, d->filters[i].param, v->num);
    }
    if (d->extra_bind != NULL) br |= d->extra_bind(stmt, q->own, a);
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

    unsigned char *v = arena_alloc(a, (size_t)limit * d->item_size);
    const char *account = arena_strdup(a, q->account);
    for (;;) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) {
            rc = db_fail(r->db, d->what);
            goto done;
        }
        if (count == (size_t)limit) {
            more = 1;
            break;
        }
        rc = d->decode(stmt, a, account, v + count * d->item_size);
        if (rc != 0) goto done;
        count++;
    }
    rc = 0;
    /* ending_before walked upwards from the cursor; a page is always shown newest first. */
    if (q->ending_before != NULL) reverse_items(v, count, d->item_size);
    *items = v;
    *n = count;
    *has_more = more;
done:
    if (d->extra_sql != NULL)
        sqlite3_finalize(stmt);
    else
        finish(stmt);
    return rc;
}

/* ---- the session list ---- */

/* In STORE__LQ_* bit order (store/backend.h), which is list_desc's mask layout for 4 filters. */
static const list_filter session_filters[] = {
    {"status", ":status"},
    {"client_reference_id", ":client_ref"},
    {"related_customer", ":customer"},
    {"related_customer_account", ":customer_account"},
};
#define N_SESSION_FILTERS ((int)(sizeof session_filters / sizeof session_filters[0]))
_Static_assert(STORE__LQ_CREATED_LO == 1 << (N_SESSION_FILTERS + LB_LO) &&
                   STORE__LQ_CREATED_HI == 1 << (N_SESSION_FILTERS + LB_HI) &&
                   STORE__LQ_AFTER == 1 << (N_SESSION_FILTERS + LB_AFTER) &&
                   STORE__LQ_BEFORE == 1 << (N_SESSION_FILTERS + LB_BEFORE) &&
                   STORE__LQ_COMBINATIONS == 1 << (N_SESSION_FILTERS + LB_COUNT),
               "STORE__LQ_* must follow list_desc's mask layout");
_Static_assert(N_SESSION_FILTERS <= LIST_MAX_FILTERS,
               "list_query.arg holds LIST_MAX_FILTERS values");

static int session_item(sqlite3_stmt *stmt, arena *a, const char *account, void *item)
{
    return decode_session(stmt, 0, a, account, item);
}

static const list_desc session_list_desc = {
    .kind = LIST_SESSIONS,
    .select = "SELECT body FROM sessions",
    .cursor_sql =
        "SELECT created, seq FROM sessions WHERE " SESSION_BY_ID("1", "3") " AND account = ?2",
    .cursor_seq_param = 3,
    .what = "session list",
    .cursor_what = "list cursor",
    .filters = session_filters,
    .n_filters = N_SESSION_FILTERS,
    .item_size = sizeof(session),
    .decode = session_item,
};

void store__sqlite_list_sql(unsigned mask, buf *out)
{
    list_sql(&session_list_desc, mask, NULL, out);
}

static int sq_session_list(store *base, const store_session_query *q, arena *a, session **items,
                           size_t *n, int *has_more)
{
    const list_query lq = {
        .account = q->account,
        .arg = {list_int(q->has_status, (int64_t)q->status), list_text(q->client_reference_id),
                list_text(q->related_customer), list_text(q->related_customer_account)},
        .created = &q->created,
        .starting_after = q->starting_after,
        .ending_before = q->ending_before,
        .limit = q->limit,
    };
    void *v;
    int rc = list_page((sq_store *)base, &session_list_desc, &lq, a, &v, n, has_more);
    *items = v;
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
                              session *out)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = writer_stmt(st, W_SESSION_GET, &stmt);
    if (rc != 0) return rc;
    return session_get(st, st->wdb, stmt, account, id, a, out);
}

/* Bind the parameters insert and update share: ?1 id, ?2 account, ?3 created, ?4 status,
 * ?5..?7 the filterable references, ?8 redaction_due, ?9 body. Encodes into st->enc, which must
 * stay untouched until the statement is finished. */
static int bind_session(sq_store *st, sqlite3_stmt *stmt, const session *s)
{
    buf_reset(&st->enc);
    session_encode(s, &st->enc);
    int br = bind_text(stmt, 1, s->id);
    br |= bind_text(stmt, 2, s->account);
    br |= sqlite3_bind_int64(stmt, 3, s->created);
    br |= sqlite3_bind_int(stmt, 4, (int)s->status);
    br |= bind_text(stmt, 5, s->client_reference_id);
    br |= bind_text(stmt, 6, s->related_customer);
    br |= bind_text(stmt, 7, s->related_customer_account);
    if (s->redaction == SESSION_REDACTION_PROCESSING)
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

/* A session record written by the current batch, bound for the cache once it commits. */
typedef struct cache_write {
    char *account, *id;
    void *rec;
    size_t len;
    int64_t inserted; /* the seq of an insert (in st->unmerged), 0 for an update */
} cache_write;

static void written_add(sq_store *st, const session *s, int64_t inserted)
{
    if (st->n_written == st->cap_written) {
        st->cap_written = st->cap_written ? st->cap_written * 2 : 64;
        st->written = xrealloc(st->written, st->cap_written * sizeof *st->written);
    }
    cache_write *w = &st->written[st->n_written++];
    w->account = xstrdup(s->account);
    w->id = xstrdup(s->id);
    w->rec = xmalloc(st->enc.len ? st->enc.len : 1);
    memcpy(w->rec, st->enc.data, st->enc.len);
    w->len = st->enc.len;
    w->inserted = inserted;
}

/* Forget the writes from index `from` on (a job rolled back, or the batch failed); with
 * publish, give them to the cache first (the batch committed). */
static void written_flush(sq_store *st, size_t from, int publish)
{
    for (size_t i = from; i < st->n_written; i++) {
        cache_write *w = &st->written[i];
        if (publish) session_cache_put(st->cache, w->account, w->id, w->rec, w->len);
        /* Session ids: an insert that did not commit leaves the map. */
        if (!publish && w->inserted) id_map_remove(st->unmerged, w->id, w->inserted);
        free(w->account);
        free(w->id);
        free(w->rec);
    }
    st->n_written = from;
}

/* Whether a session with this id exists in any account (the id index has no unique constraint
 * any more: see "Session ids"): in the map (which holds only sessions committed or written by
 * this batch) or in session_ids. 0 (no), STORE_EXISTS or STORE_EIO. */
static int session_id_taken(sq_store *st, const char *id)
{
    sqlite3_stmt *stmt;
    int64_t seq;
    if (id_map_get(st->unmerged, id, &seq)) return STORE_EXISTS;
    int rc = writer_stmt(st, W_SESSION_ID_MERGED, &stmt);
    if (rc != 0) return rc;
    if (bind_text(stmt, 1, id) != SQLITE_OK) {
        finish(stmt);
        return db_fail(st->wdb, "bind");
    }
    int src = sqlite3_step(stmt);
    rc = src == SQLITE_ROW ? STORE_EXISTS : src == SQLITE_DONE ? 0 : db_fail(st->wdb, "session id");
    finish(stmt);
    return rc;
}

static int sq_txn_session_insert(store_txn *t, const session *s)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = session_id_taken(st, s->id);
    if (rc != 0) return rc;
    rc = writer_stmt(st, W_SESSION_INSERT, &stmt);
    if (rc == 0) rc = bind_session(st, stmt, s);
    if (rc == 0) rc = run_stmt(st->wdb, stmt);
    int64_t seq = rc == 0 ? sqlite3_last_insert_rowid(st->wdb) : 0;
    if (rc == 0 && id_map_put(st->unmerged, s->id, seq) != 0) {
        fprintf(stderr, "verifyd: store: a session id longer than %d bytes\n", ID_MAP_ID_MAX);
        rc = STORE_EIO;
    }
    if (rc == 0) written_add(st, s, seq);
    if (rc == 0) rc = links_sync(st, s);
    return rc;
}

static int sq_txn_session_update(store_txn *t, const session *s)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = writer_stmt(st, W_SESSION_UPDATE, &stmt);
    if (rc == 0) rc = bind_session(st, stmt, s);
    if (rc == 0 && bind_unmerged_seq(st, stmt, 10, s->id) != SQLITE_OK) {
        finish(stmt);
        rc = db_fail(st->wdb, "bind");
    }
    if (rc == 0) rc = run_stmt(st->wdb, stmt);
    if (rc == 0 && sqlite3_changes(st->wdb) == 0) rc = STORE_NOT_FOUND;
    if (rc == 0) written_add(st, s, 0);
    if (rc == 0) rc = links_sync(st, s);
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
    br |= sqlite3_bind_int(stmt, 10, e->pending_webhooks);
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

/*
 * Rewriting stored rows in place (redaction): sel, with ?1 = account and ?2 = key, yields
 * (seq, record) for the rows concerned. Every row is collected first, so no row is updated under
 * a running SELECT; then `change` alters the decoded item, encodes it into enc and binds upd
 * (?2 = the record, plus any parameter of its own; ?1 = seq is bound here), which is then run.
 * 0 or STORE_E*.
 */
typedef struct row_rewrite {
    const char *what; /* for the log */
    size_t item_size;
    int (*decode)(sqlite3_stmt *sel, int col, arena *a, const char *account, void *item);
    int (*change)(sqlite3_stmt *upd, void *item, buf *enc);
} row_rewrite;

static int rewrite_rows(sq_store *st, sqlite3_stmt *sel, sqlite3_stmt *upd, const char *account,
                        const char *key, const row_rewrite *rw)
{
    arena *a = arena_new();
    size_t slot = sizeof(int64_t) + ((rw->item_size + 15) & ~(size_t)15);
    unsigned char *rows = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    if ((bind_text(sel, 1, account) | bind_text(sel, 2, key)) != SQLITE_OK) {
        finish(sel);
        rc = db_fail(st->wdb, "bind");
        goto done;
    }
    for (;;) {
        int src = sqlite3_step(sel);
        if (src == SQLITE_DONE) break;
        if (src != SQLITE_ROW) {
            rc = db_fail(st->wdb, rw->what);
            break;
        }
        if (n == cap) {
            cap = cap == 0 ? 8 : cap * 2;
            unsigned char *grown = arena_alloc(a, cap * slot);
            if (n > 0) memcpy(grown, rows, n * slot);
            rows = grown;
        }
        int64_t seq = sqlite3_column_int64(sel, 0);
        memcpy(rows + n * slot, &seq, sizeof seq);
        rc = rw->decode(sel, 1, a, account, rows + n * slot + sizeof(int64_t));
        if (rc != 0) break;
        n++;
    }
    finish(sel);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int64_t seq;
        memcpy(&seq, rows + i * slot, sizeof seq);
        buf_reset(&st->enc);
        if ((sqlite3_bind_int64(upd, 1, seq) |
             rw->change(upd, rows + i * slot + sizeof(int64_t), &st->enc)) != SQLITE_OK) {
            finish(upd);
            rc = db_fail(st->wdb, "bind");
            break;
        }
        rc = run_stmt(st->wdb, upd);
    }
done:
    arena_free(a);
    return rc;
}

static int redact_snapshot(sqlite3_stmt *upd, void *item, buf *enc)
{
    session_redact(item);
    session_encode(item, enc);
    return bind_blob(upd, 2, enc->data, enc->len);
}

static const row_rewrite snapshot_rewrite = {"event snapshots", sizeof(session),
                                             decode_session_item, redact_snapshot};

/*
 * CONTRACT.md §11: redaction reaches every stored copy of the object's personal data. Event
 * snapshots are decoded, passed through session_redact and written back; saved idempotent responses
 * that carry the object are deleted (a retry then runs afresh, and finds the object redacted);
 * the session's reports are redacted too.
 */
static int sq_txn_redact_object(store_txn *t, const char *account, const char *object_id)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *sel, *upd, *del;
    int rc = writer_stmt(st, W_EVENT_SNAPSHOTS, &sel);
    if (rc == 0) rc = writer_stmt(st, W_EVENT_SNAPSHOT_SET, &upd);
    if (rc == 0) rc = writer_stmt(st, W_IDEM_DELETE_OBJECT, &del);
    if (rc == 0 && bind_unmerged_seq(st, sel, 3, object_id) != SQLITE_OK) {
        finish(sel);
        rc = db_fail(st->wdb, "bind");
    }
    if (rc == 0) rc = rewrite_rows(st, sel, upd, account, object_id, &snapshot_rewrite);
    if (rc != 0) return rc;
    if ((bind_text(del, 1, account) | bind_text(del, 2, object_id)) != SQLITE_OK) {
        finish(del);
        return db_fail(st->wdb, "bind");
    }
    rc = run_stmt(st->wdb, del);
    if (rc == 0) rc = reports_redact(st, account, object_id);
    return rc;
}

/* --- events & webhooks --- */
/*
 * Events read back, webhook endpoints, and the delivery outbox. Statements live in their own
 * per-connection arrays (reader->whk, st->wwhk) so this block stays apart from the rest. An
 * endpoint's enabled_events are stored as "\n" + names joined by "\n" + "\n", so the fan-out can
 * match a type (or '*') with instr() inside one INSERT ... SELECT; metadata is key NUL value NUL
 * pairs (strings that reach here never hold NUL: they are C strings already).
 */

#define EVENT_COLS                                                                                 \
    "id, account, livemode, created, type, object_id, request_id, idempotency_key, snapshot,"      \
    " pending_webhooks"
#define WEBHOOK_COLS                                                                               \
    "id, account, livemode, created, disabled, url, secret, api_version, description,"             \
    " enabled_events, metadata"
#define SQL_WEBHOOK_GET                                                                            \
    "SELECT " WEBHOOK_COLS " FROM webhook_endpoints WHERE id = ?1 AND account = ?2"
#define PRUNE_BATCH 1000
#define PRUNE_BATCH_S "1000"

static const char *const whk_read_sql[WR_COUNT] = {
    [WR_EVENT_GET] = "SELECT " EVENT_COLS " FROM events WHERE id = ?1 AND account = ?2",
    [WR_WEBHOOK_GET] = SQL_WEBHOOK_GET,
    [WR_WEBHOOK_LIST] = "SELECT " WEBHOOK_COLS " FROM webhook_endpoints WHERE account = ?1"
                        " ORDER BY created DESC, seq DESC",
    [WR_DUE] = "SELECT d.seq, d.attempts, d.endpoint_id, w.url, w.secret, w.api_version,"
               " w.livemode, w.account = '*',"
               " e.id, e.account, e.livemode, e.created, e.type, e.object_id, e.request_id,"
               " e.idempotency_key, e.snapshot, e.pending_webhooks"
               " FROM deliveries d"
               " JOIN webhook_endpoints w ON w.id = d.endpoint_id"
               " JOIN events e ON e.id = d.event_id"
               " WHERE d.state = 0 AND d.next_attempt_ms <= ?1 AND d.seq > ?3 AND w.disabled = 0"
               " AND (w.account = d.account OR w.account = '*') AND e.account = d.account"
               " ORDER BY d.next_attempt_ms, d.seq LIMIT ?2",
    [WR_NEXT_DUE] = "SELECT d.next_attempt_ms FROM deliveries d"
                    " JOIN webhook_endpoints w ON w.id = d.endpoint_id"
                    " WHERE d.state = 0 AND d.next_attempt_ms > ?1 AND w.disabled = 0"
                    " ORDER BY d.next_attempt_ms, d.seq LIMIT 1",
};

static const char *const whk_write_sql[WW_COUNT] = {
    /* The fan-out is a read, then one single-row insert per endpoint (sq_txn_outbox_add):
     * measured cheaper for the writer than one INSERT ... SELECT per event. */
    [WW_OUTBOX_ENDPOINTS] =
        "SELECT id FROM webhook_endpoints"
        " WHERE ((account = ?1 AND livemode = ?2) OR account = '*') AND disabled = 0"
        " AND (instr(enabled_events, char(10) || '*' || char(10)) > 0"
        " OR instr(enabled_events, char(10) || ?3 || char(10)) > 0)",
    [WW_OUTBOX_ADD] =
        "INSERT INTO deliveries (event_id, endpoint_id, account, attempts, next_attempt_ms, state)"
        " VALUES (?1, ?2, ?3, 0, ?4, 0)",
    [WW_DELIVERY_OK] = "UPDATE deliveries SET state = 1, attempts = attempts + 1,"
                       " next_attempt_ms = NULL WHERE seq = ?1 AND state = 0",
    [WW_EVENT_DELIVERED] = "UPDATE events SET pending_webhooks = pending_webhooks - 1"
                           " WHERE id = ?1 AND pending_webhooks > 0",
    [WW_DELIVERY_RETRY] = "UPDATE deliveries SET attempts = attempts + 1, next_attempt_ms = ?2,"
                          " state = ?3 WHERE seq = ?1 AND state = 0",
    [WW_WEBHOOK_GET] = SQL_WEBHOOK_GET,
    [WW_WEBHOOK_COUNT] = "SELECT count(*) FROM webhook_endpoints WHERE account = ?1",
    [WW_WEBHOOK_INSERT] = "INSERT INTO webhook_endpoints (" WEBHOOK_COLS ")"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [WW_WEBHOOK_UPDATE] = "UPDATE webhook_endpoints SET disabled = ?5, url = ?6,"
                          " api_version = ?8, description = ?9, enabled_events = ?10,"
                          " metadata = ?11 WHERE id = ?1 AND account = ?2",
    [WW_WEBHOOK_DELETE] = "DELETE FROM webhook_endpoints WHERE id = ?1 AND account = ?2",
    /* Disabling or deleting an endpoint is rare: it walks the pending deliveries (the partial
     * index deliveries_due) rather than keeping a second index up to date on every event. */
    [WW_DELIVERIES_DROP] = "UPDATE deliveries SET state = 2, next_attempt_ms = NULL"
                           " WHERE endpoint_id = ?1 AND account = ?2 AND state = 0",
    [WW_FORWARD_PUT] = "INSERT INTO webhook_endpoints (" WEBHOOK_COLS ")"
                       " VALUES ('" STORE_FORWARD_ID "', '*', 0, ?1, 0, ?2, ?3, NULL, NULL,"
                       " char(10) || '*' || char(10), NULL)"
                       " ON CONFLICT(id) DO UPDATE SET url = excluded.url, disabled = 0",
    [WW_FORWARD_OFF] =
        "UPDATE webhook_endpoints SET disabled = 1 WHERE id = '" STORE_FORWARD_ID "'",
    [WW_FORWARD_SECRET] = "SELECT secret FROM webhook_endpoints WHERE id = '" STORE_FORWARD_ID "'",
    [WW_EVENTS_PRUNE] =
        "DELETE FROM events WHERE seq IN"
        " (SELECT seq FROM events ORDER BY seq LIMIT " PRUNE_BATCH_S ") AND created < ?1",
    [WW_DELIVERIES_PRUNE] =
        "DELETE FROM deliveries WHERE seq IN (SELECT seq FROM deliveries ORDER BY seq "
        "LIMIT " PRUNE_BATCH_S ")"
        " AND NOT EXISTS (SELECT 1 FROM events WHERE events.id = deliveries.event_id)",
};

static int whk_reader_stmt(reader *r, int which, sqlite3_stmt **out)
{
    return prepare(r->db, &r->whk[which], whk_read_sql[which], out);
}

static int whk_writer_stmt(sq_store *st, int which, sqlite3_stmt **out)
{
    return prepare(st->wdb, &st->wwhk[which], whk_write_sql[which], out);
}

static const char *col_text(sqlite3_stmt *stmt, int col, arena *a)
{
    return arena_strdup(a, (const char *)sqlite3_column_text(stmt, col));
}

/* An event row (EVENT_COLS from column col on) into *out, strings and snapshot in a. */
static void event_row(sqlite3_stmt *stmt, int col, arena *a, store_event *out)
{
    memset(out, 0, sizeof *out);
    out->id = col_text(stmt, col, a);
    out->account = col_text(stmt, col + 1, a);
    out->livemode = sqlite3_column_int(stmt, col + 2);
    out->created = sqlite3_column_int64(stmt, col + 3);
    out->type = col_text(stmt, col + 4, a);
    out->object_id = col_text(stmt, col + 5, a);
    out->request_id = col_text(stmt, col + 6, a);
    out->idempotency_key = col_text(stmt, col + 7, a);
    const void *p = sqlite3_column_blob(stmt, col + 8);
    out->snapshot_len = (size_t)sqlite3_column_bytes(stmt, col + 8);
    void *copy = arena_alloc(a, out->snapshot_len + 1);
    if (out->snapshot_len > 0) memcpy(copy, p, out->snapshot_len);
    out->snapshot = copy;
    out->pending_webhooks = sqlite3_column_int(stmt, col + 9);
}

/* "\nname\nname\n" into an arena array of names. */
static void split_events(const char *s, arena *a, const char ***out, size_t *n)
{
    size_t count = 0;
    for (const char *p = s; *p; p++)
        count += *p == '\n';
    const char **v = arena_alloc(a, (count + 1) * sizeof *v);
    *n = 0;
    const char *p = s;
    while (*p) {
        if (*p == '\n') {
            p++;
            continue;
        }
        size_t len = strcspn(p, "\n");
        v[(*n)++] = arena_strndup(a, p, len);
        p += len;
    }
    *out = v;
}

/* A webhook row (WEBHOOK_COLS) into *out, strings in a. */
static void webhook_row(sqlite3_stmt *stmt, arena *a, store_webhook *out)
{
    memset(out, 0, sizeof *out);
    out->id = col_text(stmt, 0, a);
    out->account = col_text(stmt, 1, a);
    out->livemode = sqlite3_column_int(stmt, 2);
    out->created = sqlite3_column_int64(stmt, 3);
    out->disabled = sqlite3_column_int(stmt, 4);
    out->url = col_text(stmt, 5, a);
    out->secret = col_text(stmt, 6, a);
    out->api_version = col_text(stmt, 7, a);
    out->description = col_text(stmt, 8, a);
    const char *ev = (const char *)sqlite3_column_text(stmt, 9);
    split_events(ev != NULL ? ev : "", a, &out->enabled_events, &out->n_enabled_events);
    const char *md = sqlite3_column_blob(stmt, 10);
    size_t len = (size_t)sqlite3_column_bytes(stmt, 10), pairs = 0;
    for (size_t i = 0; i < len; i++)
        pairs += md[i] == '\0';
    pairs /= 2;
    out->metadata = arena_alloc(a, (pairs + 1) * sizeof *out->metadata);
    if (md == NULL) return; /* no metadata (and md + 0 would be arithmetic on NULL) */
    const char *p = md, *end = md + len;
    while (p < end && out->n_metadata < pairs) {
        const char *k = p;
        p += strnlen(p, (size_t)(end - p)) + 1;
        if (p >= end) break;
        const char *v = p;
        p += strnlen(p, (size_t)(end - p)) + 1;
        out->metadata[out->n_metadata++] = (metadata_kv){arena_strdup(a, k), arena_strdup(a, v)};
    }
}

/* Bind ?1..?11 of insert and update (see WEBHOOK_COLS). Encodes into st->enc. */
static int bind_webhook(sq_store *st, sqlite3_stmt *stmt, const store_webhook *w)
{
    buf ev;
    buf_init(&ev, NULL);
    buf_putc(&ev, '\n');
    for (size_t i = 0; i < w->n_enabled_events; i++) {
        buf_puts(&ev, w->enabled_events[i]);
        buf_putc(&ev, '\n');
    }
    buf_reset(&st->enc);
    for (size_t i = 0; i < w->n_metadata; i++) {
        buf_append(&st->enc, w->metadata[i].key, strlen(w->metadata[i].key) + 1);
        buf_append(&st->enc, w->metadata[i].value, strlen(w->metadata[i].value) + 1);
    }
    int br = bind_text(stmt, 1, w->id);
    br |= bind_text(stmt, 2, w->account);
    br |= sqlite3_bind_int(stmt, 3, w->livemode ? 1 : 0);
    br |= sqlite3_bind_int64(stmt, 4, w->created);
    br |= sqlite3_bind_int(stmt, 5, w->disabled ? 1 : 0);
    br |= bind_text(stmt, 6, w->url);
    br |= bind_text(stmt, 7, w->secret);
    br |= bind_text(stmt, 8, w->api_version);
    br |= bind_text(stmt, 9, w->description);
    br |= sqlite3_bind_text(stmt, 10, ev.data, (int)ev.len, SQLITE_TRANSIENT);
    br |= bind_blob(stmt, 11, st->enc.len > 0 ? st->enc.data : "", st->enc.len);
    buf_free(&ev);
    if (br != SQLITE_OK) {
        finish(stmt);
        return db_fail(st->wdb, "bind");
    }
    return 0;
}

static int sq_event_get(store *base, const char *account, const char *id, arena *a,
                        store_event *out)
{
    sq_store *st = (sq_store *)base;
    sqlite3_stmt *stmt;
    reader *r = reader_get(st);
    if (r == NULL) return STORE_EIO;
    int rc = whk_reader_stmt(r, WR_EVENT_GET, &stmt);
    if (rc != 0) return rc;
    if ((bind_text(stmt, 1, id) | bind_text(stmt, 2, account)) != SQLITE_OK) {
        rc = db_fail(r->db, "bind");
        goto done;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        event_row(stmt, 0, a, out);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = STORE_NOT_FOUND;
    } else {
        rc = db_fail(r->db, "event get");
    }
done:
    finish(stmt);
    return rc;
}

/* The event list's terms beyond equality filters: any of the type patterns (as GLOBs bound to
 * :type0, :type1, ...), and delivery_success as a test of pending_webhooks. */
static void event_terms_sql(const void *own, buf *out)
{
    const store_event_query *q = own;
    if (q->n_types > 0) {
        buf_puts(out, " AND (");
        for (size_t i = 0; i < q->n_types; i++)
            buf_printf(out, "%stype GLOB :type%zu", i ? " OR " : "", i);
        buf_puts(out, ")");
    }
    if (q->delivery_success == 1) buf_puts(out, " AND pending_webhooks = 0");
    if (q->delivery_success == 0) buf_puts(out, " AND pending_webhooks > 0");
}

/* A Stripe type pattern as a GLOB: '*' stays a wildcard, GLOB's other specials match
 * themselves. */
static const char *type_glob(const char *pattern, arena *a)
{
    buf b;
    buf_init(&b, a);
    for (const char *p = pattern; *p; p++) {
        if (*p == '?' || *p == '[')
            buf_printf(&b, "[%c]", *p);
        else
            buf_putc(&b, *p);
    }
    return b.data;
}

static int event_terms_bind(sqlite3_stmt *stmt, const void *own, arena *a)
{
    const store_event_query *q = own;
    int br = SQLITE_OK;
    for (size_t i = 0; i < q->n_types; i++) {
        char name[32];
        snprintf(name, sizeof name, ":type%zu", i);
        br |= bind_named_text(stmt, name, type_glob(q->types[i], a));
    }
    return br;
}

/* Events carry their account in a column; the page's account is the same string. */
static int event_item(sqlite3_stmt *stmt, arena *a, const char *account, void *item)
{
    (void)account;
    event_row(stmt, 0, a, item);
    return 0;
}

/* Lists are rare next to writes and take up to 20 type patterns, so the statement is prepared
 * per call rather than cached per combination (the extra_sql hook does that). */
static const list_desc event_list_desc = {
    .kind = LIST_EVENTS,
    .select = "SELECT " EVENT_COLS " FROM events",
    .cursor_sql = "SELECT created, seq FROM events WHERE id = ?1 AND account = ?2",
    .what = "event list",
    .cursor_what = "event cursor",
    .extra_sql = event_terms_sql,
    .extra_bind = event_terms_bind,
    .item_size = sizeof(store_event),
    .decode = event_item,
};

static int sq_event_list(store *base, const store_event_query *q, arena *a, store_event **items,
                         size_t *n, int *has_more)
{
    const list_query lq = {
        .account = q->account,
        .created = &q->created,
        .starting_after = q->starting_after,
        .ending_before = q->ending_before,
        .limit = q->limit,
        .own = q,
    };
    void *v;
    int rc = list_page((sq_store *)base, &event_list_desc, &lq, a, &v, n, has_more);
    *items = v;
    return rc;
}

/* One endpoint by (account, id) with a prepared get statement (reader or writer). */
static int webhook_get(sqlite3 *db, sqlite3_stmt *stmt, const char *account, const char *id,
                       arena *a, store_webhook *out)
{
    int rc;
    if ((bind_text(stmt, 1, id) | bind_text(stmt, 2, account)) != SQLITE_OK) {
        rc = db_fail(db, "bind");
        goto done;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        webhook_row(stmt, a, out);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = STORE_NOT_FOUND;
    } else {
        rc = db_fail(db, "webhook get");
    }
done:
    finish(stmt);
    return rc;
}

static int sq_webhook_get(store *base, const char *account, const char *id, arena *a,
                          store_webhook *out)
{
    sq_store *st = (sq_store *)base;
    sqlite3_stmt *stmt;
    reader *r = reader_get(st);
    if (r == NULL) return STORE_EIO;
    int rc = whk_reader_stmt(r, WR_WEBHOOK_GET, &stmt);
    if (rc != 0) return rc;
    return webhook_get(r->db, stmt, account, id, a, out);
}

static int sq_webhook_list(store *base, const char *account, arena *a, store_webhook **items,
                           size_t *n)
{
    sq_store *st = (sq_store *)base;
    sqlite3_stmt *stmt;
    size_t count = 0, cap = 0;
    store_webhook *v = NULL;
    *items = NULL;
    *n = 0;
    reader *r = reader_get(st);
    if (r == NULL) return STORE_EIO;
    int rc = whk_reader_stmt(r, WR_WEBHOOK_LIST, &stmt);
    if (rc != 0) return rc;
    if (bind_text(stmt, 1, account) != SQLITE_OK) {
        rc = db_fail(r->db, "bind");
        goto done;
    }
    for (;;) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) {
            rc = db_fail(r->db, "webhook list");
            goto done;
        }
        if (count == cap) {
            cap = cap == 0 ? 16 : cap * 2;
            store_webhook *grown = arena_alloc(a, cap * sizeof *grown);
            if (count > 0) memcpy(grown, v, count * sizeof *v);
            v = grown;
        }
        webhook_row(stmt, a, &v[count++]);
    }
    rc = 0;
    *items = v;
    *n = count;
done:
    finish(stmt);
    return rc;
}

static int sq_deliveries_due(store *base, int64_t now_ms, int64_t after_seq, size_t max, arena *a,
                             store_delivery **items, size_t *n)
{
    sq_store *st = (sq_store *)base;
    sqlite3_stmt *stmt;
    size_t count = 0;
    *items = NULL;
    *n = 0;
    if (max == 0) return 0;
    reader *r = reader_get(st);
    if (r == NULL) return STORE_EIO;
    int rc = whk_reader_stmt(r, WR_DUE, &stmt);
    if (rc != 0) return rc;
    if ((sqlite3_bind_int64(stmt, 1, now_ms) |
         sqlite3_bind_int64(stmt, 2, max > 100000 ? 100000 : (int64_t)max) |
         sqlite3_bind_int64(stmt, 3, after_seq)) != SQLITE_OK) {
        rc = db_fail(r->db, "bind");
        goto done;
    }
    store_delivery *v = arena_alloc(a, (max > 100000 ? 100000 : max) * sizeof *v);
    for (;;) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) {
            rc = db_fail(r->db, "deliveries due");
            goto done;
        }
        store_delivery *d = &v[count++];
        d->seq = sqlite3_column_int64(stmt, 0);
        d->attempts = sqlite3_column_int(stmt, 1);
        d->endpoint_id = col_text(stmt, 2, a);
        d->url = col_text(stmt, 3, a);
        d->secret = col_text(stmt, 4, a);
        d->api_version = col_text(stmt, 5, a);
        d->endpoint_livemode = sqlite3_column_int(stmt, 6);
        d->forward = sqlite3_column_int(stmt, 7);
        event_row(stmt, 8, a, &d->event);
    }
    rc = 0;
    *items = v;
    *n = count;
done:
    finish(stmt);
    return rc;
}

static int sq_delivery_next_due(store *base, int64_t after_ms, int64_t *out_ms)
{
    sq_store *st = (sq_store *)base;
    sqlite3_stmt *stmt;
    reader *r = reader_get(st);
    if (r == NULL) return STORE_EIO;
    int rc = whk_reader_stmt(r, WR_NEXT_DUE, &stmt);
    if (rc != 0) return rc;
    if (sqlite3_bind_int64(stmt, 1, after_ms) != SQLITE_OK) {
        rc = db_fail(r->db, "bind");
        goto done;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out_ms = sqlite3_column_int64(stmt, 0);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? STORE_NOT_FOUND : db_fail(r->db, "next due");
    }
done:
    finish(stmt);
    return rc;
}

/* Concurrent requests make batches: a few jobs in the last batch or in the queue means the
 * writer is kept busy, while a lone request (or a delivery's own outcome) never counts. */
#define BUSY_JOBS 4

static int sq_busy(store *base)
{
    sq_store *st = (sq_store *)base;
    pthread_mutex_lock(&st->qmu);
    int busy = st->queued >= BUSY_JOBS || st->last_batch >= BUSY_JOBS;
    pthread_mutex_unlock(&st->qmu);
    return busy;
}

static void sq_set_outbox_hook(store *base, store_outbox_hook fn, void *ctx)
{
    sq_store *st = (sq_store *)base;
    pthread_mutex_lock(&st->qmu);
    st->outbox_hook = fn;
    st->outbox_ctx = ctx;
    pthread_mutex_unlock(&st->qmu);
}

static int sq_txn_outbox_add(store_txn *t, const store_event *e, int64_t now_ms, int *n)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *sel, *ins;
    *n = 0;
    int rc = whk_writer_stmt(st, WW_OUTBOX_ENDPOINTS, &sel);
    if (rc == 0) rc = whk_writer_stmt(st, WW_OUTBOX_ADD, &ins);
    if (rc != 0) return rc;
    if ((bind_text(sel, 1, e->account) | sqlite3_bind_int(sel, 2, e->livemode ? 1 : 0) |
         bind_text(sel, 3, e->type)) != SQLITE_OK) {
        finish(sel);
        return db_fail(st->wdb, "bind");
    }
    /* One insert per matching endpoint as the read goes (another table: SQLite allows it). */
    int found = 0, src = SQLITE_DONE;
    while (rc == 0 && (src = sqlite3_step(sel)) == SQLITE_ROW) {
        if ((bind_text(ins, 1, e->id) |
             bind_text(ins, 2, (const char *)sqlite3_column_text(sel, 0)) |
             bind_text(ins, 3, e->account) | sqlite3_bind_int64(ins, 4, now_ms)) != SQLITE_OK) {
            finish(ins);
            rc = db_fail(st->wdb, "bind");
            break;
        }
        rc = run_stmt(st->wdb, ins);
        found++;
    }
    if (rc == 0 && src != SQLITE_DONE) rc = db_fail(st->wdb, "outbox endpoints");
    finish(sel);
    if (rc != 0) return rc;
    *n = found;
    if (found > 0) st->outbox_dirty = 1;
    return 0;
}

static int sq_txn_delivery_result(store_txn *t, int64_t seq, const char *event_id, int ok,
                                  int64_t next_ms)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = whk_writer_stmt(st, ok ? WW_DELIVERY_OK : WW_DELIVERY_RETRY, &stmt);
    if (rc != 0) return rc;
    int br = sqlite3_bind_int64(stmt, 1, seq);
    if (!ok && next_ms >= 0) {
        br |= sqlite3_bind_int64(stmt, 2, next_ms);
        br |= sqlite3_bind_int(stmt, 3, 0);
    } else if (!ok) {
        br |= sqlite3_bind_null(stmt, 2);
        br |= sqlite3_bind_int(stmt, 3, 2);
    }
    if (br != SQLITE_OK) {
        finish(stmt);
        return db_fail(st->wdb, "bind");
    }
    rc = run_stmt(st->wdb, stmt);
    if (rc != 0 || !ok || sqlite3_changes(st->wdb) == 0) return rc;
    rc = whk_writer_stmt(st, WW_EVENT_DELIVERED, &stmt);
    if (rc != 0) return rc;
    if (bind_text(stmt, 1, event_id) != SQLITE_OK) {
        finish(stmt);
        return db_fail(st->wdb, "bind");
    }
    return run_stmt(st->wdb, stmt);
}

static int sq_txn_webhook_get(store_txn *t, const char *account, const char *id, arena *a,
                              store_webhook *out)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = whk_writer_stmt(st, WW_WEBHOOK_GET, &stmt);
    if (rc != 0) return rc;
    return webhook_get(st->wdb, stmt, account, id, a, out);
}

static int sq_txn_webhook_count(store_txn *t, const char *account, int *n)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = whk_writer_stmt(st, WW_WEBHOOK_COUNT, &stmt);
    if (rc != 0) return rc;
    if (bind_text(stmt, 1, account) != SQLITE_OK) {
        rc = db_fail(st->wdb, "bind");
        goto done;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *n = sqlite3_column_int(stmt, 0);
        rc = 0;
    } else {
        rc = db_fail(st->wdb, "webhook count");
    }
done:
    finish(stmt);
    return rc;
}

static int sq_txn_webhook_insert(store_txn *t, const store_webhook *w)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = whk_writer_stmt(st, WW_WEBHOOK_INSERT, &stmt);
    if (rc == 0) rc = bind_webhook(st, stmt, w);
    if (rc == 0) rc = run_stmt(st->wdb, stmt);
    return rc;
}

static int sq_txn_webhook_update(store_txn *t, const store_webhook *w)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = whk_writer_stmt(st, WW_WEBHOOK_UPDATE, &stmt);
    if (rc == 0) rc = bind_webhook(st, stmt, w);
    if (rc == 0) rc = run_stmt(st->wdb, stmt);
    if (rc == 0 && sqlite3_changes(st->wdb) == 0) rc = STORE_NOT_FOUND;
    return rc;
}

/* Both statements take ?1 id, ?2 account. */
static int run_id_account(sq_store *st, int which, const char *account, const char *id)
{
    sqlite3_stmt *stmt;
    int rc = whk_writer_stmt(st, which, &stmt);
    if (rc != 0) return rc;
    if ((bind_text(stmt, 1, id) | bind_text(stmt, 2, account)) != SQLITE_OK) {
        finish(stmt);
        return db_fail(st->wdb, "bind");
    }
    return run_stmt(st->wdb, stmt);
}

static int sq_txn_webhook_delete(store_txn *t, const char *account, const char *id)
{
    sq_store *st = ((sq_txn *)t)->st;
    int rc = run_id_account(st, WW_WEBHOOK_DELETE, account, id);
    if (rc != 0) return rc;
    if (sqlite3_changes(st->wdb) == 0) return STORE_NOT_FOUND;
    /* CONTRACT.md §8: retries stop once the endpoint is deleted. */
    return run_id_account(st, WW_DELIVERIES_DROP, account, id);
}

static int sq_txn_forward_set(store_txn *t, const char *url, const char *new_secret, arena *a,
                              const char **secret)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc;
    *secret = NULL;
    if (url == NULL) {
        rc = whk_writer_stmt(st, WW_FORWARD_OFF, &stmt);
        return rc != 0 ? rc : run_stmt(st->wdb, stmt);
    }
    rc = whk_writer_stmt(st, WW_FORWARD_PUT, &stmt);
    if (rc != 0) return rc;
    int br = sqlite3_bind_int64(stmt, 1, util_now());
    br |= bind_text(stmt, 2, url);
    br |= bind_text(stmt, 3, new_secret);
    if (br != SQLITE_OK) {
        finish(stmt);
        return db_fail(st->wdb, "bind");
    }
    rc = run_stmt(st->wdb, stmt);
    if (rc != 0) return rc;
    rc = whk_writer_stmt(st, WW_FORWARD_SECRET, &stmt);
    if (rc != 0) return rc;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *secret = col_text(stmt, 0, a);
        rc = 0;
    } else {
        rc = db_fail(st->wdb, "forward secret");
    }
    finish(stmt);
    return rc;
}

static int sq_txn_events_prune(store_txn *t, int64_t cutoff, int *n)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    *n = 0;
    int rc = whk_writer_stmt(st, WW_EVENTS_PRUNE, &stmt);
    if (rc != 0) return rc;
    if (sqlite3_bind_int64(stmt, 1, cutoff) != SQLITE_OK) {
        finish(stmt);
        return db_fail(st->wdb, "bind");
    }
    rc = run_stmt(st->wdb, stmt);
    if (rc != 0) return rc;
    *n = sqlite3_changes(st->wdb);
    rc = whk_writer_stmt(st, WW_DELIVERIES_PRUNE, &stmt);
    while (rc == 0) {
        rc = run_stmt(st->wdb, stmt);
        if (rc != 0 || sqlite3_changes(st->wdb) < PRUNE_BATCH) break;
    }
    return rc;
}
/* --- end events & webhooks --- */

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
/* Session ids: at the start of a batch, before its jobs, start a merge round when the map
 * holds merge_min ids. Its upper bound is MAX(seq) now, when every session up to it is
 * committed: SQLite never hands out a seq at or below the largest one again. */
static void ids_round_begin(sq_store *st)
{
    sqlite3_stmt *stmt;
    if (st->round_hi != 0 || id_map_count(st->unmerged) < st->merge_min) return;
    if (writer_stmt(st, W_SEQ_MAX, &stmt) != 0) return;
    int64_t hi = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
    finish(stmt);
    if (hi <= st->merged_upto) return;
    st->round_n = id_map_collect(st->unmerged, st->merged_upto, hi, &st->round);
    st->round_pos = st->chunk_end = 0;
    st->round_hi = hi;
}

/* Session ids: the round's next merge_min / MERGE_SPREAD ids, after the batch's jobs, inside its
 * transaction and in its own savepoint. In id order, consecutive inserts share leaves. A
 * failure is logged and rolled back to the savepoint; the chunk is retried with a later batch
 * and the batch's jobs are untouched. */
static void ids_merge_step(sq_store *st)
{
    sqlite3_stmt *stmt;
    st->chunk_end = st->round_pos;
    if (st->round_hi == 0) return;
    if (writer_exec(st, W_SAVEPOINT) != 0) return;
    size_t chunk = st->merge_min / MERGE_SPREAD > 0 ? st->merge_min / MERGE_SPREAD : 1;
    size_t end = st->round_pos + chunk < st->round_n ? st->round_pos + chunk : st->round_n;
    int rc = writer_stmt(st, W_IDS_MERGE, &stmt);
    for (size_t i = st->round_pos; i < end && rc == 0; i++) {
        if ((bind_text(stmt, 1, st->round[i].id) | sqlite3_bind_int64(stmt, 2, st->round[i].row)) !=
            SQLITE_OK) {
            finish(stmt);
            rc = db_fail(st->wdb, "bind");
        } else {
            rc = run_stmt(st->wdb, stmt);
        }
    }
    if (rc == 0 && end == st->round_n) {
        rc = writer_stmt(st, W_IDS_MERGED_SET, &stmt);
        if (rc == 0 && sqlite3_bind_int64(stmt, 1, st->round_hi) != SQLITE_OK) {
            finish(stmt);
            rc = db_fail(st->wdb, "bind");
        } else if (rc == 0) {
            rc = run_stmt(st->wdb, stmt);
        }
    }
    if (rc != 0) {
        fprintf(stderr, "verifyd: store: merging session ids failed; it will be retried\n");
        writer_exec(st, W_ROLLBACK_TO);
    }
    if (writer_exec(st, W_RELEASE) == 0 && rc == 0) st->chunk_end = end;
}

/* Session ids: the batch committed. Keep its chunk; after the round's last, its ids leave the
 * map (only now: see "Session ids"). */
static void ids_merge_committed(sq_store *st)
{
    if (st->round_hi == 0) return;
    st->round_pos = st->chunk_end;
    if (st->round_pos < st->round_n) return;
    id_map_drop_upto(st->unmerged, st->round_hi);
    st->merged_upto = st->round_hi;
    st->round_hi = 0;
    free(st->round);
    st->round = NULL;
    st->round_n = st->round_pos = st->chunk_end = 0;
}

/* Session ids, at open: the map holds every session above session_ids_merged. */
static int ids_load_unmerged(sq_store *st)
{
    sqlite3_stmt *stmt;
    int rc = writer_stmt(st, W_IDS_UNMERGED, &stmt);
    if (rc != 0) return rc;
    int64_t upto = 0;
    for (;;) {
        int src = sqlite3_step(stmt);
        if (src == SQLITE_DONE) break;
        if (src != SQLITE_ROW) {
            rc = db_fail(st->wdb, "session ids");
            break;
        }
        int64_t seq = sqlite3_column_int64(stmt, 1);
        if (id_map_put(st->unmerged, (const char *)sqlite3_column_text(stmt, 0), seq) != 0) {
            fprintf(stderr, "verifyd: store: a stored session id is too long\n");
            rc = STORE_CORRUPT;
            break;
        }
    }
    finish(stmt);
    if (rc == 0) rc = pragma_int(st->wdb, "SELECT seq FROM session_ids_merged", &upto);
    st->merged_upto = upto;
    return rc;
}

static void run_batch(sq_store *st, job *first)
{
    int rc = writer_exec(st, W_BEGIN);
    if (rc != 0) goto failed;
    ids_round_begin(st);
    for (job *j = first; j != NULL; j = j->next) {
        rc = writer_exec(st, W_SAVEPOINT);
        if (rc != 0) goto failed;
        size_t mark = st->n_written;
        j->rc = j->fn(&st->txn.base, j->ctx);
        if (sqlite3_get_autocommit(st->wdb)) {
            fprintf(stderr, "verifyd: store: a database error rolled back a whole batch\n");
            goto failed;
        }
        if (j->rc != 0) {
            written_flush(st, mark, 0);
            rc = writer_exec(st, W_ROLLBACK_TO);
            if (rc != 0) goto failed;
        }
        rc = writer_exec(st, W_RELEASE);
        if (rc != 0) goto failed;
    }
    ids_merge_step(st);
    rc = writer_exec(st, W_COMMIT);
    if (rc != 0) goto failed;
    ids_merge_committed(st);
    written_flush(st, 0, 1);
    if (st->outbox_dirty) { /* events & webhooks: wake the delivery worker first */
        st->outbox_dirty = 0;
        pthread_mutex_lock(&st->qmu);
        store_outbox_hook hook = st->outbox_hook;
        void *hook_ctx = st->outbox_ctx;
        pthread_mutex_unlock(&st->qmu);
        if (hook != NULL) hook(hook_ctx);
    }
    for (job *j = first; j != NULL; j = j->next)
        if (j->done != NULL) j->done(j->ctx, j->rc);
    return;

failed:
    written_flush(st, 0, 0);
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
        int n = 1;
        for (; last->next != NULL && n < st->max_batch; n++)
            last = last->next;
        st->queued -= n;
        st->last_batch = n;
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
    st->queued++;
    pthread_cond_signal(&st->qcv);
    pthread_mutex_unlock(&st->qmu);
}

/* ---- open / close ---- */

/* --- checkpointer --- */

/* WAL pages (2 KiB) after which the writer asks the checkpointer for a checkpoint (32 MiB),
 * and after which it checkpoints and restarts the WAL itself (128 MiB: a PASSIVE checkpoint
 * running beside a busy writer never catches up, so without this the WAL would grow without
 * bound). Appends rewrite the same tail pages commit after commit; the longer the interval,
 * the more of those versions a checkpoint skips (measured: ~9% more creates/s than 8/64 MiB). */
#define CKPT_PAGES 16384
#define CKPT_RESTART_PAGES 65536

/* Called by SQLite on the writer thread after each commit, with the WAL's size in pages. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)name;
    sq_store *st = arg;
    if (pages >= CKPT_RESTART_PAGES) {
        /* Most frames are already copied by the checkpointer; this copies the rest and makes
         * the next transaction write from the start of the WAL again. */
        int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY) db_fail(db, "checkpoint (restart)");
        return SQLITE_OK;
    }
    if (pages >= CKPT_PAGES) {
        pthread_mutex_lock(&st->cmu);
        st->ckpt_wanted = 1;
        pthread_cond_signal(&st->ccv);
        pthread_mutex_unlock(&st->cmu);
    }
    return SQLITE_OK;
}

/* A PASSIVE checkpoint never blocks the writer or readers; it copies what it can and the WAL
 * restarts from its beginning once everything has been copied. */
static void *ckpt_main(void *arg)
{
    sq_store *st = arg;
    pthread_mutex_lock(&st->cmu);
    for (;;) {
        while (!st->ckpt_wanted && !st->ckpt_stopping)
            pthread_cond_wait(&st->ccv, &st->cmu);
        if (st->ckpt_stopping) break;
        st->ckpt_wanted = 0;
        pthread_mutex_unlock(&st->cmu);
        int rc = sqlite3_wal_checkpoint_v2(st->cdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY) db_fail(st->cdb, "checkpoint");
        pthread_mutex_lock(&st->cmu);
    }
    pthread_mutex_unlock(&st->cmu);
    return NULL;
}

/* Open the checkpointer's connection and start its thread; the writer's own automatic
 * checkpoints are turned off once it runs. 0 or STORE_EIO with *errmsg. */
static int ckpt_start(sq_store *st, const char **errmsg)
{
    if (sqlite3_open_v2(st->path, &st->cdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        db_fail(st->cdb, "open checkpointer");
        *errmsg = "cannot open the checkpointer's connection";
        return STORE_EIO;
    }
    sqlite3_busy_timeout(st->cdb, BUSY_TIMEOUT_MS);
    /* A connection learns that the file is in WAL mode by reading it once; until then a
     * checkpoint request on it does nothing. */
    if (sqlite3_exec(st->cdb, "PRAGMA schema_version", NULL, NULL, NULL) != SQLITE_OK) {
        db_fail(st->cdb, "checkpointer read");
        *errmsg = "cannot read the database from the checkpointer's connection";
        return STORE_EIO;
    }
    if (pthread_create(&st->ckpt, NULL, ckpt_main, st) != 0) {
        *errmsg = "cannot start the checkpointer thread";
        return STORE_EIO;
    }
    st->ckpt_started = 1;
    sqlite3_wal_autocheckpoint(st->wdb, 0);
    sqlite3_wal_hook(st->wdb, wal_hook, st);
    return 0;
}

static void ckpt_stop(sq_store *st)
{
    if (st->ckpt_started) {
        pthread_mutex_lock(&st->cmu);
        st->ckpt_stopping = 1;
        pthread_cond_signal(&st->ccv);
        pthread_mutex_unlock(&st->cmu);
        pthread_join(st->ckpt, NULL);
        st->ckpt_started = 0;
    }
    if (st->cdb != NULL && sqlite3_close(st->cdb) != SQLITE_OK) db_fail(st->cdb, "close");
    st->cdb = NULL;
}

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
    ckpt_stop(st);
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
    for (int i = 0; i < WW_COUNT; i++) /* events & webhooks */
        sqlite3_finalize(st->wwhk[i]);
    for (int i = 0; i < LW_COUNT; i++)
        sqlite3_finalize(st->lwstmt[i]);
    if (st->wdb != NULL && sqlite3_close(st->wdb) != SQLITE_OK) db_fail(st->wdb, "close");
    buf_free(&st->enc);
    written_flush(st, 0, 0);
    free(st->written);
    session_cache_free(st->cache);
    id_map_free(st->unmerged);
    free(st->round);
    pthread_cond_destroy(&st->qcv);
    pthread_mutex_destroy(&st->qmu);
    pthread_cond_destroy(&st->ccv);
    pthread_mutex_destroy(&st->cmu);
    pthread_mutex_destroy(&st->rmu);
    free(st->path);
    free(st);
}

/* Process-wide SQLite settings, made once before SQLite initializes. Memory statistics off:
 * with them on, every SQLite allocation in every thread takes one global mutex. */
static void sqlite_setup(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int sq_open(const store_config *cfg, store **out, const char **errmsg)
{
    static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
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
    pthread_once(&setup_once, sqlite_setup);
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
    pthread_mutex_init(&st->cmu, NULL);
    pthread_cond_init(&st->ccv, NULL);
    st->cache = session_cache_new(SESSION_CACHE_SLOTS_LOG2);
    st->unmerged = id_map_new();
    st->merge_min = cfg->id_merge_min > 0 ? (size_t)cfg->id_merge_min : MERGE_MIN_DEFAULT;
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

    /* The writer alone writes the WAL; with full durability its commits gather their frames
     * into one write (wal_buffer.h says why that needs synchronous = FULL). */
    if (sqlite3_open_v2(st->path, &st->wdb,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        st->synchronous_full ? wal_buffer_vfs() : NULL) != SQLITE_OK) {
        db_fail(st->wdb, "open");
        *errmsg = "cannot open the database";
        goto fail;
    }
    rc = configure(st, st->wdb, 1, errmsg);
    if (rc != 0) goto fail;
    rc = migrate(st->wdb, errmsg);
    if (rc != 0) goto fail;
    rc = ids_load_unmerged(st);
    if (rc != 0) {
        *errmsg = "cannot read the session ids";
        goto fail;
    }
    rc = ckpt_start(st, errmsg);
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

/* --- verification reports, hosted links, delayed outcomes --- */

static const char *const lread_sql[LR_COUNT] = {
    [LR_REPORT_GET] = "SELECT body FROM reports WHERE id = ?1 AND account = ?2",
    [LR_LINK_FIND] = "SELECT account, session_id FROM hosted_links WHERE token_hash = ?1",
    /* In parentheses: clang warns of a missing comma between literals in an array. */
    [LR_OUTCOMES_DUE] = ("SELECT account, session_id FROM outcomes_due WHERE due <= ?1"
                         " ORDER BY due LIMIT ?2"),
};

static const char *const lwrite_sql[LW_COUNT] = {
    [LW_REPORT_INSERT] = "INSERT INTO reports (id, account, created, type, verification_session,"
                         " client_reference_id, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [LW_REPORT_GET] = "SELECT body FROM reports WHERE id = ?1 AND account = ?2",
    [LW_LINK_PUT] = "INSERT OR IGNORE INTO hosted_links (token_hash, account, session_id)"
                    " VALUES (?1, ?2, ?3)",
    [LW_OUTCOME_SET] = "INSERT OR REPLACE INTO outcomes_due (account, session_id, due)"
                       " VALUES (?1, ?2, ?3)",
    [LW_OUTCOME_CLEAR] = "DELETE FROM outcomes_due WHERE account = ?1 AND session_id = ?2",
    [LW_SESSION_REPORTS] = "SELECT seq, body FROM reports"
                           " WHERE account = ?1 AND verification_session = ?2",
    [LW_REPORT_SET] = "UPDATE reports SET body = ?2, client_reference_id = ?3 WHERE seq = ?1",
};

static int lreader_stmt(reader *r, int which, sqlite3_stmt **out)
{
    return prepare(r->db, &r->lstmt[which], lread_sql[which], out);
}

static int lwriter_stmt(sq_store *st, int which, sqlite3_stmt **out)
{
    return prepare(st->wdb, &st->lwstmt[which], lwrite_sql[which], out);
}

/* Decode the report_encode blob in column col (strings in a). 0 or STORE_CORRUPT. */
static int decode_report(sqlite3_stmt *stmt, int col, arena *a, const char *account, report *out)
{
    const void *p = sqlite3_column_blob(stmt, col);
    size_t n = (size_t)sqlite3_column_bytes(stmt, col);
    if (report_decode(a, p != NULL ? p : "", n, out) != 0) {
        fprintf(stderr, "verifyd: store: a stored report record could not be decoded\n");
        return STORE_CORRUPT;
    }
    out->account = account;
    return 0;
}

static int decode_report_item(sqlite3_stmt *sel, int col, arena *a, const char *account, void *item)
{
    return decode_report(sel, col, a, account, item);
}

static int report_get(sqlite3 *db, sqlite3_stmt *stmt, const char *account, const char *id,
                      arena *a, report *out)
{
    return row_get(db, stmt, account, id, a, "report get", decode_report_item, out);
}

static int sq_report_get(store *base, const char *account, const char *id, arena *a, report *out)
{
    sq_store *st = (sq_store *)base;
    sqlite3_stmt *stmt;
    reader *r = reader_get(st);
    if (r == NULL) return STORE_EIO;
    int rc = lreader_stmt(r, LR_REPORT_GET, &stmt);
    if (rc != 0) return rc;
    return report_get(r->db, stmt, account, id, a, out);
}

static const list_filter report_filters[] = {
    {"type", ":type"},
    {"client_reference_id", ":client_ref"},
    {"verification_session", ":session"},
};

static int report_item(sqlite3_stmt *stmt, arena *a, const char *account, void *item)
{
    return decode_report(stmt, 0, a, account, item);
}

static const list_desc report_list_desc = {
    .kind = LIST_REPORTS,
    .select = "SELECT body FROM reports",
    .cursor_sql = "SELECT created, seq FROM reports WHERE id = ?1 AND account = ?2",
    .what = "report list",
    .cursor_what = "report cursor",
    .filters = report_filters,
    .n_filters = (int)(sizeof report_filters / sizeof report_filters[0]),
    .item_size = sizeof(report),
    .decode = report_item,
};
_Static_assert(sizeof report_filters / sizeof report_filters[0] <= LIST_MAX_FILTERS,
               "list_query.arg holds LIST_MAX_FILTERS values");

static int sq_report_list(store *base, const store_report_query *q, arena *a, report **items,
                          size_t *n, int *has_more)
{
    const list_query lq = {
        .account = q->account,
        .arg = {list_int(q->has_type, (int64_t)q->type), list_text(q->client_reference_id),
                list_text(q->verification_session)},
        .created = &q->created,
        .starting_after = q->starting_after,
        .ending_before = q->ending_before,
        .limit = q->limit,
    };
    void *v;
    int rc = list_page((sq_store *)base, &report_list_desc, &lq, a, &v, n, has_more);
    *items = v;
    return rc;
}

/* The key a hosted-page token is stored under: its leading characters (the time prefix that
 * session_issue_secrets puts there, so new keys land at the end of the index) and then the SHA-256
 * of the whole token (the database never holds a usable token). */
#define LINK_PREFIX 8
#define LINK_KEY_LEN (LINK_PREFIX + UTIL_SHA256_LEN)

static void link_key(const char *token, unsigned char key[LINK_KEY_LEN])
{
    size_t n = strlen(token);
    memset(key, 0, LINK_PREFIX);
    memcpy(key, token, n < LINK_PREFIX ? n : LINK_PREFIX);
    util_sha256(token, n, key + LINK_PREFIX);
}

static int sq_link_find(store *base, const char *token, arena *a, const char **account,
                        const char **session_id)
{
    sq_store *st = (sq_store *)base;
    sqlite3_stmt *stmt;
    unsigned char h[LINK_KEY_LEN];
    reader *r = reader_get(st);
    if (r == NULL) return STORE_EIO;
    int rc = lreader_stmt(r, LR_LINK_FIND, &stmt);
    if (rc != 0) return rc;
    link_key(token, h);
    if (bind_blob(stmt, 1, h, sizeof h) != SQLITE_OK) {
        rc = db_fail(r->db, "bind");
        goto done;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *account = arena_strdup(a, (const char *)sqlite3_column_text(stmt, 0));
        *session_id = arena_strdup(a, (const char *)sqlite3_column_text(stmt, 1));
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? STORE_NOT_FOUND : db_fail(r->db, "link find");
    }
done:
    finish(stmt);
    return rc;
}

static int sq_outcomes_due(store *base, int64_t now_ms, size_t max, arena *a,
                           const char ***accounts, const char ***ids, size_t *n)
{
    sq_store *st = (sq_store *)base;
    sqlite3_stmt *stmt;
    *accounts = NULL;
    *ids = NULL;
    *n = 0;
    if (max == 0) return 0;
    reader *r = reader_get(st);
    if (r == NULL) return STORE_EIO;
    int rc = lreader_stmt(r, LR_OUTCOMES_DUE, &stmt);
    if (rc != 0) return rc;
    const char **acc = arena_alloc(a, max * sizeof *acc);
    const char **id = arena_alloc(a, max * sizeof *id);
    size_t count = 0;
    int64_t lim = max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max;
    if ((sqlite3_bind_int64(stmt, 1, now_ms) | sqlite3_bind_int64(stmt, 2, lim)) != SQLITE_OK) {
        rc = db_fail(r->db, "bind");
        goto done;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && count < max) {
        acc[count] = arena_strdup(a, (const char *)sqlite3_column_text(stmt, 0));
        id[count] = arena_strdup(a, (const char *)sqlite3_column_text(stmt, 1));
        count++;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        rc = db_fail(r->db, "outcomes due");
        goto done;
    }
    rc = 0;
    *accounts = acc;
    *ids = id;
    *n = count;
done:
    finish(stmt);
    return rc;
}

static int sq_txn_report_insert(store_txn *t, const report *r)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = lwriter_stmt(st, LW_REPORT_INSERT, &stmt);
    if (rc != 0) return rc;
    buf enc;
    buf_init(&enc, NULL);
    report_encode(r, &enc);
    int br = bind_text(stmt, 1, r->id);
    br |= bind_text(stmt, 2, r->account);
    br |= sqlite3_bind_int64(stmt, 3, r->created);
    br |= sqlite3_bind_int(stmt, 4, (int)r->type);
    br |= bind_text(stmt, 5, r->verification_session);
    br |= bind_text(stmt, 6, r->client_reference_id);
    br |= bind_blob(stmt, 7, enc.data, enc.len);
    if (br != SQLITE_OK) {
        finish(stmt);
        rc = db_fail(st->wdb, "bind");
    } else {
        rc = run_stmt(st->wdb, stmt);
    }
    buf_free(&enc);
    return rc;
}

static int sq_txn_report_get(store_txn *t, const char *account, const char *id, arena *a,
                             report *out)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = lwriter_stmt(st, LW_REPORT_GET, &stmt);
    if (rc != 0) return rc;
    return report_get(st->wdb, stmt, account, id, a, out);
}

static int sq_txn_outcome_set(store_txn *t, const char *account, const char *id, int64_t due_ms)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = lwriter_stmt(st, LW_OUTCOME_SET, &stmt);
    if (rc != 0) return rc;
    if ((bind_text(stmt, 1, account) | bind_text(stmt, 2, id) |
         sqlite3_bind_int64(stmt, 3, due_ms)) != SQLITE_OK) {
        finish(stmt);
        return db_fail(st->wdb, "bind");
    }
    return run_stmt(st->wdb, stmt);
}

static int sq_txn_outcome_clear(store_txn *t, const char *account, const char *id)
{
    sq_store *st = ((sq_txn *)t)->st;
    sqlite3_stmt *stmt;
    int rc = lwriter_stmt(st, LW_OUTCOME_CLEAR, &stmt);
    if (rc != 0) return rc;
    if ((bind_text(stmt, 1, account) | bind_text(stmt, 2, id)) != SQLITE_OK) {
        finish(stmt);
        return db_fail(st->wdb, "bind");
    }
    return run_stmt(st->wdb, stmt);
}

/* Remember the session's current url_token (called after every session insert and update). */
static int links_sync(sq_store *st, const session *s)
{
    if (s->url_token == NULL) return 0;
    sqlite3_stmt *stmt;
    unsigned char h[LINK_KEY_LEN];
    int rc = lwriter_stmt(st, LW_LINK_PUT, &stmt);
    if (rc != 0) return rc;
    link_key(s->url_token, h);
    if ((bind_blob(stmt, 1, h, sizeof h) | bind_text(stmt, 2, s->account) |
         bind_text(stmt, 3, s->id)) != SQLITE_OK) {
        finish(stmt);
        return db_fail(st->wdb, "bind");
    }
    return run_stmt(st->wdb, stmt);
}

static int redact_report(sqlite3_stmt *upd, void *item, buf *enc)
{
    report *r = item;
    report_redact(r);
    report_encode(r, enc);
    return bind_blob(upd, 2, enc->data, enc->len) | bind_text(upd, 3, r->client_reference_id);
}

static const row_rewrite report_rewrite = {"session reports", sizeof(report), decode_report_item,
                                           redact_report};

/* CONTRACT.md §11: redaction reaches the session's reports (called by sq_txn_redact_object). */
static int reports_redact(sq_store *st, const char *account, const char *session_id)
{
    sqlite3_stmt *sel, *upd;
    int rc = lwriter_stmt(st, LW_SESSION_REPORTS, &sel);
    if (rc == 0) rc = lwriter_stmt(st, LW_REPORT_SET, &upd);
    if (rc == 0) rc = rewrite_rows(st, sel, upd, account, session_id, &report_rewrite);
    return rc;
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
    .report_get = sq_report_get,
    .report_list = sq_report_list,
    .link_find = sq_link_find,
    .outcomes_due = sq_outcomes_due,
    .txn_report_insert = sq_txn_report_insert,
    .txn_report_get = sq_txn_report_get,
    .txn_outcome_set = sq_txn_outcome_set,
    .txn_outcome_clear = sq_txn_outcome_clear,
    /* --- events & webhooks --- */
    .event_get = sq_event_get,
    .event_list = sq_event_list,
    .webhook_get = sq_webhook_get,
    .webhook_list = sq_webhook_list,
    .deliveries_due = sq_deliveries_due,
    .delivery_next_due = sq_delivery_next_due,
    .set_outbox_hook = sq_set_outbox_hook,
    .busy = sq_busy,
    .txn_outbox_add = sq_txn_outbox_add,
    .txn_delivery_result = sq_txn_delivery_result,
    .txn_webhook_get = sq_txn_webhook_get,
    .txn_webhook_count = sq_txn_webhook_count,
    .txn_webhook_insert = sq_txn_webhook_insert,
    .txn_webhook_update = sq_txn_webhook_update,
    .txn_webhook_delete = sq_txn_webhook_delete,
    .txn_forward_set = sq_txn_forward_set,
    .txn_events_prune = sq_txn_events_prune,
    /* --- end events & webhooks --- */
};
