/*
 * internal: what the files of the SQLite backend share (the sqlite__ tier, STYLE.md §1). Nothing
 * outside store/sqlite/ includes it but the backend's own white-box tests.
 *
 * The backend is one database file data_dir/verifyd.db in WAL mode:
 *  - writer.c: one writer thread owns the only read-write connection and runs the jobs that are
 *    waiting as one transaction (group commit), each job in its own savepoint;
 *  - checkpoint.c: a checkpointer thread copies the WAL back into the file;
 *  - readers.c: every other thread reads through its own read-only connection;
 *  - schema.c: the schema and its migrations; open.c: open, close and the ops table;
 *  - one file per resource for its SQL: sessions.c (with session_ids.c, the batched id index),
 *    idempotency.c, events.c, webhooks.c, deliveries.c, reports.c, links.c (hosted links and
 *    delayed outcomes); lists.c is the page engine the session, event and report lists share;
 *  - db.c: SQLite helpers (statements, binding, errors, connection settings).
 *
 * Statements: every connection (reader or writer) caches its prepared statements in one array
 * indexed by the SQ_* enum below; each resource file keeps the SQL of its own entries.
 *
 * Errors: an SQLite failure is logged to stderr with SQLite's message (never with row contents,
 * which may hold personal data) and returned as STORE_EIO; nothing here aborts on a database error.
 */
#ifndef VERIFYD_SQLITE_INTERNAL_H
#define VERIFYD_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "store/backend.h"
#include "store/sqlite/id_map.h"

#define SQLITE__BUSY_TIMEOUT_MS 5000

/* Every connection opens the file through SQLite's "unix-excl" VFS: the process takes an
 * exclusive lock on the database (another process cannot open it while verifyd runs: one
 * process owns the file, as the contract of this backend says), and the WAL index lives in heap
 * memory shared by this process's connections instead of in a memory-mapped -shm file, which a
 * truncated or unwritable -shm would turn into a SIGBUS. NULL (the default VFS) when the
 * library has no such VFS. */
const char *sqlite__vfs(void);
#define SQLITE__LIST_LIMIT_MAX 100

/* Every statement a connection may cache, by the file that owns its SQL. */
enum {
    /* db.c: the writer's transaction control */
    SQ_BEGIN,
    SQ_COMMIT,
    SQ_ROLLBACK,
    SQ_SAVEPOINT,
    SQ_RELEASE,
    SQ_ROLLBACK_TO,
    /* sessions.c */
    SQ_SESSION_GET,
    SQ_SESSION_INSERT,
    SQ_SESSION_UPDATE,
    SQ_REDACTIONS_DUE,
    /* session_ids.c */
    SQ_SESSION_ID_MERGED,
    SQ_IDS_UNMERGED,
    SQ_IDS_MERGE,
    SQ_IDS_MERGED_SET,
    SQ_SEQ_MAX,
    /* idempotency.c */
    SQ_IDEM_GET,
    SQ_IDEM_PUT,
    SQ_IDEM_PRUNE,
    SQ_IDEM_DELETE_OBJECT,
    /* events.c */
    SQ_EVENT_INSERT,
    SQ_EVENT_GET,
    SQ_EVENT_SNAPSHOTS,
    SQ_EVENT_SNAPSHOT_SET,
    SQ_EVENTS_PRUNE,
    SQ_DELIVERIES_PRUNE,
    /* webhooks.c */
    SQ_WEBHOOK_GET,
    SQ_WEBHOOK_LIST,
    SQ_WEBHOOK_CANDIDATES,
    SQ_WEBHOOK_CANDIDATES_CONNECT,
    SQ_WEBHOOK_COUNT,
    SQ_WEBHOOK_INSERT,
    SQ_WEBHOOK_UPDATE,
    SQ_WEBHOOK_DELETE,
    SQ_FORWARD_PUT,
    SQ_FORWARD_OFF,
    SQ_FORWARD_SECRET,
    /* deliveries.c */
    SQ_DELIVERY_ADD,
    SQ_DELIVERIES_DUE,
    SQ_DELIVERY_NEXT_DUE,
    SQ_DELIVERY_OK,
    SQ_EVENT_DELIVERED,
    SQ_DELIVERY_RETRY,
    SQ_DELIVERIES_DROP,
    /* reports.c */
    SQ_REPORT_GET,
    SQ_REPORT_INSERT,
    SQ_REPORT_UPDATE,
    SQ_SESSION_REPORTS,
    /* links.c */
    SQ_LINK_PUT,
    SQ_LINK_FIND,
    SQ_OUTCOME_SET,
    SQ_OUTCOME_CLEAR,
    SQ_OUTCOMES_DUE,
    /* session_ids.c, after the others: an unmerged id's row is still there */
    SQ_SESSION_ROW_EXISTS,
    /* clocks.c; the per-account prunes in events.c and idempotency.c */
    SQ_CLOCK_LIST,
    SQ_CLOCK_ADD,
    SQ_CLOCK_GET,
    SQ_CLOCK_SHIFT_DELIVERIES,
    SQ_CLOCK_SHIFT_OUTCOMES,
    SQ_CLOCK_SHIFT_REDACTIONS,
    SQ_EVENTS_PRUNE_ACCOUNT,
    SQ_IDEM_PRUNE_ACCOUNT,
    /* attempts.c */
    SQ_ATTEMPT_ADD,
    SQ_ATTEMPT_TRIM,
    SQ_ATTEMPT_LIST,
    SQ_ATTEMPTS_PRUNE,
    SQ_COUNT
};

/* The paginated lists (lists.c). Each keeps, per connection, the statement that finds a
 * cursor's position and the page statements it caches, one per combination of filters; page is
 * allocated (n_page slots, all NULL) on the first cached page. */
enum { LIST_SESSIONS, LIST_EVENTS, LIST_REPORTS, LIST_KINDS };
typedef struct sqlite__list_stmts {
    sqlite3_stmt *cursor;
    sqlite3_stmt **page;
    size_t n_page;
} sqlite__list_stmts;

struct sq_store;

/* One connection and its cached statements: the writer's, or one thread's read-only one. */
typedef struct sq_conn {
    struct sq_store *st;
    sqlite3 *db;
    sqlite3_stmt *stmt[SQ_COUNT];
    sqlite__list_stmts list[LIST_KINDS];
    struct sq_conn *prev, *next; /* readers: the registry */
} sq_conn;

typedef struct sq_job {
    store_job_fn fn;
    store_done_fn done;
    void *ctx;
    int rc;
    struct sq_job *next;
} sq_job;

/* A session inserted by the current batch: its id is in the map of unmerged ids, and leaves it
 * again if the insert does not commit. */
typedef struct sq_inserted {
    char id[ID_MAP_ID_MAX + 1];
    int64_t seq;
} sq_inserted;

typedef struct sq_txn {
    store_txn base; /* first: a store_txn * is a sq_txn * */
    struct sq_store *st;
} sq_txn;

typedef struct sq_store {
    store base; /* first: a store * is a sq_store * */
    char *path, *wal_path;
    /* The database file and its WAL as opened, to tell whether they are still the files at
     * their paths (writer.c); -1 when not open. files_gone: they were not, once. */
    int db_fd, wal_fd;
    int files_gone;
    int64_t cache_bytes;
    int synchronous_full;
    int max_batch;

    /* Writer: used by store_open until the writer thread starts, then by that thread alone. */
    sq_conn w;
    sq_txn txn;
    /* The hook called after a commit that added deliveries (outbox_dirty, set by
     * sqlite__txn_delivery_add). Hook under qmu. */
    store_outbox_hook outbox_hook;
    void *outbox_ctx;
    int outbox_dirty;
    pthread_t writer;
    int writer_started;
    /* How the last batch ended (writer.c): 0 committed, 1 failed, 2 the files are gone. Read
     * by sqlite__health on any thread. */
    _Atomic int writer_failed;

    /* Session ids not yet in session_ids (session_ids.c); any thread reads the map. The merge
     * round in progress is the writer's: round[0..round_n) are the map's entries with seq in
     * (merged_upto, round_hi], in id order, merged up to round_pos; round_hi 0: no round. */
    id_map *unmerged;
    size_t merge_min;
    int64_t merged_upto, round_hi;
    id_map_entry *round;
    size_t round_n, round_pos;
    size_t chunk_end;      /* this batch merged round[round_pos..chunk_end): kept once it commits */
    sq_inserted *inserted; /* this batch's session inserts */
    size_t n_inserted, cap_inserted;

    /* Checkpointer (checkpoint.c): its own thread and connection; the writer's WAL hook asks
     * for a checkpoint under cmu. */
    sqlite3 *cdb;
    pthread_t ckpt;
    int ckpt_started;
    pthread_mutex_t cmu;
    pthread_cond_t ccv;
    pthread_cond_t scv; /* sqlite__scrub waits on it */
    int ckpt_wanted;
    int ckpt_stopping;
    /* sqlite__scrub's requests (tickets): asked, handed on to the writer after a PASSIVE
     * checkpoint, served; rc of the last one served. */
    uint64_t scrub_asked, scrub_handed, scrub_done;
    int scrub_rc;

    /* Job queue: FIFO under qmu; the writer waits on qcv. */
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    sq_job *qhead, *qtail;
    int queued, last_batch; /* jobs waiting; jobs in the batch taken last (sqlite__busy) */
    int stopping;
    uint64_t truncate_asked, truncate_done; /* scrub tickets the writer is to empty the WAL for */

    /* Readers: the calling thread's connection under rkey; every one in the registry. */
    pthread_key_t rkey;
    int rkey_made;
    pthread_mutex_t rmu;
    sq_conn *readers;

    /* Idempotency keys held by this process's requests (idempotency.c), under imu. */
    pthread_mutex_t imu;
    struct sq_held *held;
} sq_store;

static inline sq_store *sqlite__store(store *base)
{
    return (sq_store *)base;
}

static inline sq_store *sqlite__txn_store(store_txn *t)
{
    return ((sq_txn *)t)->st;
}

/* ---- db.c ---- */
/* Log an SQLite failure (the message only, never bound values) and return STORE_EIO. */
int sqlite__fail(sqlite3 *db, const char *what);
/* The statement in *slot, prepared from sql on first use: 0 and *out, or STORE_EIO. */
int sqlite__prepare(sqlite3 *db, sqlite3_stmt **slot, const char *sql, sqlite3_stmt **out);
/* c's cached statement `which`, whose SQL is sql. */
int sqlite__stmt(sq_conn *c, int which, const char *sql, sqlite3_stmt **out);
/* Reset a cached statement and clear its bindings for the next use. */
void sqlite__finish(sqlite3_stmt *stmt);
/* Step a statement that returns no rows, then finish it: 0, STORE_EXISTS (a constraint: a
 * duplicate, not logged) or STORE_EIO. */
int sqlite__run(sqlite3 *db, sqlite3_stmt *stmt);
/* Binding: NULL text binds NULL; SQLite's result code. */
int sqlite__bind_text(sqlite3_stmt *stmt, int i, const char *s);
int sqlite__bind_blob(sqlite3_stmt *stmt, int i, const void *p, size_t n);
int sqlite__bind_named_text(sqlite3_stmt *stmt, const char *name, const char *s);
int sqlite__bind_named_int64(sqlite3_stmt *stmt, const char *name, int64_t v);
/* Column i as an arena string, or NULL for NULL. */
const char *sqlite__col_text(sqlite3_stmt *stmt, int col, arena *a);
/* Column i as a record copied into a (an empty record for NULL). */
store_record sqlite__col_record(sqlite3_stmt *stmt, int col, arena *a);
/* Run SQL without results (several statements allowed): 0 or STORE_EIO. */
int sqlite__exec(sqlite3 *db, const char *sql, const char *what);
/* One integer from a query without parameters: 0 or STORE_EIO. */
int sqlite__pragma_int(sqlite3 *db, const char *sql, int64_t *out);
/* Settings every connection gets (writer: 1 for the writer's own). 0 or STORE_EIO. */
int sqlite__configure(sq_store *st, sqlite3 *db, int writer, const char **errmsg);
/* Run one of the writer's control statements (SQ_BEGIN .. SQ_ROLLBACK_TO) on its connection. */
int sqlite__writer_exec(sq_store *st, int which);
/* A list of (account, id) pairs from stmt, bound with ?1 = now_ms and ?2 = max (the due lists). */
int sqlite__due_refs(sq_conn *c, sqlite3_stmt *stmt, int64_t now_ms, size_t max, arena *a,
                     const char ***accounts, const char ***ids, size_t *n, const char *what);

/* ---- readers.c ---- */
/* The calling thread's read connection, opened on first use. NULL (logged) if it cannot be. */
sq_conn *sqlite__reader(sq_store *st);
/* Finalize c's statements (the connection itself stays open). */
void sqlite__conn_finalize(sq_conn *c);
/* pthread key destructor and store_close: close one reader / every reader. */
void sqlite__reader_release(void *p);
void sqlite__readers_close(sq_store *st);

/* ---- schema.c ---- */
/* Create or migrate the schema on the writer's connection: 0 or STORE_EIO with *errmsg. */
int sqlite__migrate(sqlite3 *db, const char **errmsg);
/* For tests: the SQL of schema migration i (0-based; it brings user_version from i to i + 1),
 * or NULL past the last. */
const char *sqlite__migration_sql(int i);

/* ---- writer.c ---- */
void sqlite__submit(store *base, store_job_fn fn, store_done_fn done, void *ctx);
int sqlite__busy(store *base);
void sqlite__set_outbox_hook(store *base, store_outbox_hook fn, void *ctx);
void *sqlite__writer_main(void *arg);
/* Stop the writer thread once it has drained the queue. */
void sqlite__writer_stop(sq_store *st);
/* Ask the writer to empty the WAL for scrub ticket between two batches. */
void sqlite__writer_truncate(sq_store *st, uint64_t ticket);

/* ---- checkpoint.c ---- */
int sqlite__ckpt_start(sq_store *st, const char **errmsg);
void sqlite__ckpt_stop(sq_store *st);
int sqlite__scrub(store *base);
/* The writer has emptied the WAL for ticket (rc 0) or could not (STORE_EIO). */
void sqlite__scrub_served(sq_store *st, uint64_t ticket, int rc);

/* ---- session_ids.c ---- */
#define SQLITE__MERGE_MIN_DEFAULT 32768
/* SQL that finds the session row of id ?ID: its seq comes from ?SEQ, what the caller found in the
 * map of unmerged ids (sqlite__bind_unmerged_seq), else from session_ids; the row's id is
 * compared too. */
#define SQLITE__SESSION_BY_ID(ID, SEQ)                                                             \
    "seq = COALESCE(?" SEQ ", (SELECT seq FROM session_ids WHERE id = ?" ID ")) AND id = ?" ID
int sqlite__bind_unmerged_seq(sq_store *st, sqlite3_stmt *stmt, int idx, const char *id);
/* 0 (free), STORE_EXISTS (a session of any account has it) or STORE_EIO. */
int sqlite__session_id_taken(sq_store *st, const char *id);
/* The id of a session the current batch inserted at seq enters the map. 0 or STORE_EIO. */
int sqlite__ids_inserted(sq_store *st, const char *id, int64_t seq);
/* The batch's inserts from mark on did not commit: they leave the map. */
size_t sqlite__ids_mark(const sq_store *st);
void sqlite__ids_rollback_to(sq_store *st, size_t mark);
void sqlite__ids_round_begin(sq_store *st);
void sqlite__ids_merge_step(sq_store *st);
void sqlite__ids_merge_committed(sq_store *st);
int sqlite__ids_load_unmerged(sq_store *st);

/* ---- lists.c ---- */
enum { LB_LO, LB_HI, LB_AFTER, LB_BEFORE, LB_COUNT };
#define SQLITE__LIST_MAX_FILTERS 4

typedef struct sqlite__list_filter {
    const char *column;
    const char *param; /* named parameter, with its ':' */
} sqlite__list_filter;

/* A filter's value in one call: off, or on with a text (text != NULL) or an integer (num). */
typedef struct sqlite__list_arg {
    int on;
    const char *text;
    int64_t num;
} sqlite__list_arg;

/* One call in the terms all lists share; each adapter fills it from its own query type. */
typedef struct sqlite__list_query {
    const char *account;
    sqlite__list_arg arg[SQLITE__LIST_MAX_FILTERS]; /* arg[i]: the value of filters[i] */
    const store_range *created;
    const char *starting_after; /* both set: STORE_CURSOR */
    const char *ending_before;
    int limit;       /* clamped to 1..SQLITE__LIST_LIMIT_MAX */
    const void *own; /* the adapter's own query, for the list's hooks */
} sqlite__list_query;

typedef struct sqlite__list_desc {
    int kind;                /* LIST_*: the connection's list statements of this list */
    const char *select;      /* "SELECT <columns> FROM <table>", the columns decode reads */
    const char *cursor_sql;  /* (created, seq) of the row with id ?1 in account ?2 */
    int cursor_seq_param;    /* sessions: cursor_sql's SESSION_BY_ID seq parameter, else 0 */
    const char *what;        /* names a failed page step in the log */
    const char *cursor_what; /* names a failed cursor step in the log */
    const sqlite__list_filter *filters; /* at most SQLITE__LIST_MAX_FILTERS */
    int n_filters;
    /* Optional hook, for filters that are not one `column = :param` (events' type patterns and
     * delivery_success): extra_sql appends WHERE terms for own, extra_bind binds their named
     * parameters (SQLite's code, like the bind helpers; strings may live in a). The number of
     * such terms varies per call, so a list with this hook prepares its page statement per
     * call rather than caching one per mask. */
    void (*extra_sql)(const void *own, buf *out);
    int (*extra_bind)(sqlite3_stmt *stmt, const void *own, arena *a);
    size_t item_size; /* of the caller's item type */
    /* One row into *item, strings in a. */
    void (*decode)(sqlite3_stmt *stmt, arena *a, void *item);
} sqlite__list_desc;

sqlite__list_arg sqlite__list_text(const char *s);
sqlite__list_arg sqlite__list_int(int on, int64_t v);
/* The SQL of d's page statement for mask (and own, if d has extra terms), appended to out. */
void sqlite__list_sql(const sqlite__list_desc *d, unsigned mask, const void *own, buf *out);
/* One page of list d (store.h's paging contract): *items is an arena array of *n items of
 * d->item_size bytes, newest first. 0, STORE_CURSOR or STORE_EIO. */
int sqlite__list_page(sq_store *st, const sqlite__list_desc *d, const sqlite__list_query *q,
                      arena *a, void **items, size_t *n, int *has_more);

/* For tests: the SQL store_session_list prepares for one combination of filters (a bitmask of
 * SQLITE__LQ_* flags), written to out. Lets a test run EXPLAIN QUERY PLAN on every combination.
 * The created filters arrive folded into one closed interval [lo, hi], either end of which may
 * be open. */
enum {
    SQLITE__LQ_STATUS = 1 << 0,
    SQLITE__LQ_CLIENT_REF = 1 << 1,
    SQLITE__LQ_CUSTOMER = 1 << 2,
    SQLITE__LQ_CUSTOMER_ACCOUNT = 1 << 3,
    SQLITE__LQ_CREATED_LO = 1 << 4,
    SQLITE__LQ_CREATED_HI = 1 << 5,
    SQLITE__LQ_AFTER = 1 << 6,
    SQLITE__LQ_BEFORE = 1 << 7,
    SQLITE__LQ_COMBINATIONS = 1 << 8,
};
void sqlite__session_list_sql(unsigned mask, buf *out);
/* A list_desc decode for lists whose one column is a record (items are store_records). */
void sqlite__list_record(sqlite3_stmt *stmt, arena *a, void *item);

/* ---- the ops, one file per resource ---- */
int sqlite__session_get(store *st, const char *account, const char *id, arena *a,
                        store_record *out);
int sqlite__txn_session_get(store_txn *t, const char *account, const char *id, arena *a,
                            store_record *out);
int sqlite__txn_session_insert(store_txn *t, const store_session *s);
int sqlite__txn_session_update(store_txn *t, const store_session *s, int if_status);
int sqlite__session_list(store *st, const store_session_query *q, arena *a, store_record **items,
                         size_t *n, int *has_more);
int sqlite__redactions_due(store *st, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                           const char ***ids, size_t *n);

int sqlite__idem_begin(store *st, const char *account, const char *key, arena *a, int *found,
                       store_idem *saved);
void sqlite__idem_end(store *st, const char *account, const char *key);
int sqlite__idem_get(store *st, const char *account, const char *key, arena *a, store_idem *out);
int sqlite__txn_idem_put(store_txn *t, const char *account, const char *key, const store_idem *v,
                         int64_t replace_before, arena *a, store_idem *existing);
int sqlite__txn_idem_prune(store_txn *t, int64_t cutoff);
int sqlite__txn_idem_delete_object(store_txn *t, const char *account, const char *object_id);
void sqlite__idem_free(sq_store *st);

/* The event columns (EVENT_COLS order) from column col on into *out. */
#define SQLITE__EVENT_COLS                                                                         \
    "id, account, livemode, created, type, object_id, request_id, idempotency_key, snapshot,"      \
    " pending_webhooks, api"
void sqlite__event_row(sqlite3_stmt *stmt, int col, arena *a, store_event *out);
int sqlite__txn_event_insert(store_txn *t, const store_event *e);
int sqlite__event_get(store *st, const char *account, const char *id, arena *a, store_event *out);
int sqlite__event_list(store *st, const store_event_query *q, arena *a, store_event **items,
                       size_t *n, int *has_more);
int sqlite__txn_event_snapshots(store_txn *t, const char *account, const char *object_id,
                                int64_t since, arena *a, store_event **items, size_t *n);
int sqlite__txn_event_snapshot_set(store_txn *t, const char *account, const char *id,
                                   const store_record *snapshot);
int sqlite__txn_events_prune(store_txn *t, int64_t cutoff, int *n);

int sqlite__webhook_get(store *st, const char *account, const char *id, arena *a,
                        store_webhook *out);
int sqlite__webhook_list(store *st, const char *account, arena *a, store_webhook **items,
                         size_t *n);
int sqlite__txn_webhook_get(store_txn *t, const char *account, const char *id, arena *a,
                            store_webhook *out);
int sqlite__txn_webhook_candidates(store_txn *t, const char *account, const char *platform,
                                   arena *a, store_webhook **items, size_t *n);
int sqlite__txn_webhook_insert(store_txn *t, const store_webhook *w, int max);
int sqlite__txn_webhook_update(store_txn *t, const store_webhook *w);
int sqlite__txn_webhook_delete(store_txn *t, const char *account, const char *id);
int sqlite__txn_forward_set(store_txn *t, const char *url, const char *new_secret, arena *a,
                            const char **secret);

int sqlite__txn_delivery_add(store_txn *t, const store_event *e, const char *endpoint_id,
                             int64_t due_ms);
int sqlite__deliveries_due(store *st, int64_t now_ms, int64_t after_seq, size_t max, arena *a,
                           store_delivery **items, size_t *n);
int sqlite__delivery_next_due(store *st, int64_t after_ms, int64_t *out_ms);
int sqlite__txn_delivery_result(store_txn *t, int64_t seq, const char *event_id, int ok,
                                int64_t next_ms);
/* Fail the pending deliveries of an endpoint (deleted). */
int sqlite__deliveries_drop(sq_store *st, const char *endpoint_id);

int sqlite__report_get(store *st, const char *account, const char *id, arena *a, store_record *out);
int sqlite__txn_report_get(store_txn *t, const char *account, const char *id, arena *a,
                           store_record *out);
int sqlite__txn_report_insert(store_txn *t, const store_report *r);
int sqlite__txn_report_update(store_txn *t, const store_report *r);
int sqlite__txn_session_reports(store_txn *t, const char *account, const char *session_id, arena *a,
                                store_report **items, size_t *n);
int sqlite__report_list(store *st, const store_report_query *q, arena *a, store_record **items,
                        size_t *n, int *has_more);

int sqlite__txn_link_put(store_txn *t, const void *key, size_t key_len, const char *account,
                         const char *session_id);
int sqlite__link_find(store *st, const void *key, size_t key_len, arena *a, const char **account,
                      const char **session_id);
int sqlite__txn_outcome_set(store_txn *t, const char *account, const char *id, int64_t due_ms);
int sqlite__txn_outcome_clear(store_txn *t, const char *account, const char *id);
int sqlite__outcomes_due(store *st, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                         const char ***ids, size_t *n);

/* accounts.c */
int sqlite__txn_account_reset(store_txn *t, const char *account, store_reset_counts *counts);
int sqlite__clock_list(store *st, arena *a, const char ***accounts, int64_t **offsets_ms,
                       size_t *n);
int sqlite__txn_clock_advance(store_txn *t, const char *account, int64_t delta_ms,
                              int64_t *offset_ms);
int sqlite__txn_events_prune_account(store_txn *t, const char *account, int64_t cutoff, int *n);
int sqlite__txn_idem_prune_account(store_txn *t, const char *account, int64_t cutoff);

/* The SQL test "column col names account ?1 or one of its connected accounts' namespaces"
 * ("?1/..."): a range, so that an index on the column serves it. */
#define SQLITE__OWNED_BY(col) "(" col " = ?1 OR (" col " > ?1 || '/' AND " col " < ?1 || '0'))"

/* One row by (id ?1, account ?2) whose first column is a record: 0 and *out, STORE_NOT_FOUND or
 * STORE_EIO. Finishes stmt. */
int sqlite__record_get(sqlite3 *db, sqlite3_stmt *stmt, const char *account, const char *id,
                       arena *a, const char *what, store_record *out);

/* ---- stats.c ---- */
int sqlite__health(store *st);
int sqlite__stats_get(store *st, store_stats *out);

/* ---- attempts.c ---- */
int sqlite__txn_attempt_add(store_txn *t, const store_attempt *at);
int sqlite__attempt_list(store *st, const char *account, size_t max, arena *a,
                         store_attempt **items, size_t *n);
/* Delete the attempts of events that are gone, in bounded batches (events.c's prune). */
int sqlite__attempts_prune(sq_store *st);

#endif
