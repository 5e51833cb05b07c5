/*
 * internal: what the files of the PostgreSQL backend share (the pg__ tier, STYLE.md §1). Nothing
 * outside store/postgres/ includes it.
 *
 * The backend talks to one PostgreSQL database through libpq, which several verifyd processes may
 * share (so it is not cacheable: backend.h):
 *  - writer.c: one writer thread owns the read-write connection and runs the jobs that are waiting
 *    as one transaction (group commit), each job inside its own SAVEPOINT;
 *  - readers.c: a small pool of read connections that any thread borrows for one query;
 *  - idempotency.c: saved responses, and the keys held through advisory locks on one connection;
 *  - schema.c: the schema and its migrations; open.c: open, close and the ops table;
 *  - one file per resource for its SQL, as in store/sqlite/: sessions.c, idempotency.c,
 *    events.c, webhooks.c, deliveries.c, reports.c, links.c, accounts.c (reset), clocks.c;
 *    lists.c is the page engine the session, event and report lists share;
 *  - db.c: libpq helpers (parameters, queries, error mapping, columns, connecting).
 *
 * Queries go out with PQexecParams: parameters as text (bytea in binary), results in binary
 * (integers in network order, text and bytea as their bytes), decoded by the pg__col_* helpers.
 *
 * Errors: a failed statement is logged to stderr with the server's message and SQLSTATE (never
 * with row contents, which may hold personal data) and returned as STORE_EIO; a unique violation
 * (SQLSTATE 23505) is STORE_EXISTS. A connection found broken is reset on its next use, so a
 * database that comes back is used again without restarting verifyd.
 */
#ifndef VERIFYD_PG_INTERNAL_H
#define VERIFYD_PG_INTERNAL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>

#include "store/backend.h"

#define PG__LIST_LIMIT_MAX 100
/* Read connections per process: reads are short single statements. */
#define PG__READERS 4
/* Jobs per transaction at most. */
#define PG__MAX_BATCH 256
/* Seconds libpq waits for a connection unless the URL or PGCONNECT_TIMEOUT says otherwise. */
#define PG__CONNECT_TIMEOUT "5"
/* Parameters one statement may carry (a list: 20 type patterns and the paging terms). */
#define PG__MAX_PARAMS 48

/* The SQL test "column col names account $1 or one of its connected accounts' namespaces"
 * ("$1/..."): a range in byte order (the C collation of the schema's text columns), so that an
 * index on the column serves it. */
#define PG__OWNED_BY(col) "(" col " = $1 OR (" col " > $1 || '/' AND " col " < $1 || '0'))"

/* One connection. url is the store's (for resets); broken: found unusable, reset on next use. */
typedef struct pg_conn {
    PGconn *conn;
    const char *role; /* "writer", "reader", "locks": for messages */
} pg_conn;

/* A statement's parameters: text (NULL is SQL NULL), integers (formatted into num) and bytea
 * (binary). Filled in order with pg__p_*; $1 is the first. */
typedef struct pg_params {
    int n;
    const char *v[PG__MAX_PARAMS];
    int len[PG__MAX_PARAMS];
    int fmt[PG__MAX_PARAMS];
    char num[PG__MAX_PARAMS][24];
} pg_params;

typedef struct pg_job {
    store_job_fn fn;
    store_done_fn done;
    void *ctx;
    int rc;
    struct pg_job *next;
} pg_job;

typedef struct pg_txn {
    store_txn base; /* first: a store_txn * is a pg_txn * */
    struct pg_store *st;
} pg_txn;

typedef struct pg_store {
    store base; /* first: a store * is a pg_store * */
    char *url;

    /* Writer: used by store_open until the writer thread starts, then by that thread alone. */
    pg_conn w;
    pg_txn txn;
    /* The hook called after a commit that added deliveries (outbox_dirty, set by
     * pg__txn_delivery_add). Hook under qmu. */
    store_outbox_hook outbox_hook;
    void *outbox_ctx;
    int outbox_dirty;
    pthread_t writer;
    int writer_started;

    /* Job queue: FIFO under qmu; the writer waits on qcv. */
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    pg_job *qhead, *qtail;
    int queued, last_batch;
    int stopping;

    /* Readers: r[i] is free when !r_busy[i]; under rmu, waiters on rcv. */
    pthread_mutex_t rmu;
    pthread_cond_t rcv;
    pg_conn r[PG__READERS];
    int r_busy[PG__READERS];

    /* Idempotency keys held by this process's requests (idempotency.c), under lmu; l holds their
     * session-level advisory locks. */
    pthread_mutex_t lmu;
    pg_conn l;
    struct pg_held *held;
} pg_store;

static inline pg_store *pg__store(store *base)
{
    return (pg_store *)base;
}

static inline pg_store *pg__txn_store(store_txn *t)
{
    return ((pg_txn *)t)->st;
}

/* ---- db.c ---- */
void pg__p_init(pg_params *p);
void pg__p_text(pg_params *p, const char *s);
void pg__p_int(pg_params *p, int64_t v);
/* data NULL binds NULL; otherwise n bytes (n may be 0: an empty bytea). */
void pg__p_bytes(pg_params *p, const void *data, size_t n);
/* Open a connection to url with verifyd's defaults (connect timeout, application_name) under
 * whatever the URL and PG* variables say. 0, or STORE_EIO with the server's reason logged and
 * *errmsg set (a static string). */
int pg__connect(const char *url, pg_conn *c, const char *role, const char **errmsg);
void pg__disconnect(pg_conn *c);
/* Make c usable: a connection found broken is reset (one try). 0 or STORE_EIO. */
int pg__conn_ready(pg_conn *c);
/* Run sql with p (NULL: no parameters) on c. 0 and *out (PQclear it) when it succeeded,
 * STORE_EXISTS on a unique violation (23505; not logged), STORE_EIO otherwise (logged with
 * what). out NULL: the result is dropped; *changes (if not NULL) gets the affected rows. */
int pg__query(pg_conn *c, const char *sql, const pg_params *p, PGresult **out, int64_t *changes,
              const char *what);
/* Run SQL without parameters or results (several statements allowed): 0 or STORE_EIO. */
int pg__exec(pg_conn *c, const char *sql, const char *what);
/* Columns of a binary result: text as an arena string (NULL for NULL); an integer of any width
 * (bool, int2, int4, int8; NULL is 0); bytea as a record copied into a (empty for NULL). */
const char *pg__col_text(const PGresult *res, int row, int col, arena *a);
int64_t pg__col_int(const PGresult *res, int row, int col);
store_record pg__col_record(const PGresult *res, int row, int col, arena *a);

/* ---- readers.c ---- */
/* Run one read on a pooled connection (blocks while every one is in use). Same results as
 * pg__query. */
int pg__read(pg_store *st, const char *sql, const pg_params *p, PGresult **out, const char *what);
int pg__readers_open(pg_store *st, const char **errmsg);
void pg__readers_close(pg_store *st);
/* A read whose first column is a record: 0 and *out, STORE_NOT_FOUND (no row) or STORE_EIO. */
int pg__record_read(pg_store *st, pg_conn *c, const char *sql, const pg_params *p, arena *a,
                    const char *what, store_record *out);
/* A list of (account, id) pairs (the due lists; sql takes $1 = now_ms and $2 = max). */
int pg__due_refs(pg_store *st, const char *sql, int64_t now_ms, size_t max, arena *a,
                 const char ***accounts, const char ***ids, size_t *n, const char *what);

/* ---- writer.c ---- */
/* A statement of the running job, on the writer's connection (pg__query's contract). */
int pg__txn_query(store_txn *t, const char *sql, const pg_params *p, PGresult **out,
                  int64_t *changes, const char *what);
void pg__submit(store *base, store_job_fn fn, store_done_fn done, void *ctx);
int pg__busy(store *base);
void pg__set_outbox_hook(store *base, store_outbox_hook fn, void *ctx);
void *pg__writer_main(void *arg);
void pg__writer_stop(pg_store *st);

/* ---- schema.c ---- */
/* Create or migrate the schema on c under an advisory lock: 0 or STORE_EIO with *errmsg. */
int pg__migrate(pg_conn *c, const char **errmsg);

/* attempts.c: the delivery attempt log, the health probe and the gauges. */
int pg__txn_attempt_add(store_txn *t, const store_attempt *at);
int pg__attempt_list(store *base, const char *account, size_t max, arena *a, store_attempt **items,
                     size_t *n);
int pg__health(store *base);
int pg__stats_get(store *base, store_stats *out);

/* ---- lists.c ---- */
#define PG__LIST_MAX_FILTERS 4

typedef struct pg__list_arg {
    int on;
    const char *text; /* NULL: an integer filter, num */
    int64_t num;
} pg__list_arg;

typedef struct pg__list_query {
    const char *account;
    pg__list_arg arg[PG__LIST_MAX_FILTERS];
    const store_range *created;
    const char *starting_after;
    const char *ending_before;
    int limit;
    const void *own; /* the adapter's own query, for extra_sql */
} pg__list_query;

typedef struct pg__list_desc {
    const char *table;
    const char *columns;        /* what decode reads */
    const char *const *filters; /* column names, arg[i] filters filters[i] */
    int n_filters;
    /* Optional: WHERE terms beyond the equality filters, with their parameters added to p. */
    void (*extra_sql)(const void *own, buf *out, pg_params *p, arena *a);
    size_t item_size;
    void (*decode)(const PGresult *res, int row, arena *a, void *item);
    const char *what;
} pg__list_desc;

pg__list_arg pg__list_text(const char *s);
pg__list_arg pg__list_int(int on, int64_t v);
int pg__list_page(pg_store *st, const pg__list_desc *d, const pg__list_query *q, arena *a,
                  void **items, size_t *n, int *has_more);
void pg__list_record(const PGresult *res, int row, arena *a, void *item);

/* ---- the ops, one file per resource ---- */
int pg__session_get(store *st, const char *account, const char *id, arena *a, store_record *out);
int pg__txn_session_get(store_txn *t, const char *account, const char *id, arena *a,
                        store_record *out);
int pg__txn_session_insert(store_txn *t, const store_session *s);
int pg__txn_session_update(store_txn *t, const store_session *s, int if_status);
int pg__session_list(store *st, const store_session_query *q, arena *a, store_record **items,
                     size_t *n, int *has_more);
int pg__redactions_due(store *st, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                       const char ***ids, size_t *n);

int pg__idem_begin(store *st, const char *account, const char *key, arena *a, int *found,
                   store_idem *saved);
void pg__idem_end(store *st, const char *account, const char *key);
void pg__idem_free(pg_store *st);
int pg__idem_get(store *st, const char *account, const char *key, arena *a, store_idem *out);
int pg__txn_idem_put(store_txn *t, const char *account, const char *key, const store_idem *v,
                     int64_t replace_before, arena *a, store_idem *existing);
int pg__txn_idem_prune(store_txn *t, int64_t cutoff);
int pg__txn_idem_delete_object(store_txn *t, const char *account, const char *object_id);
int pg__txn_idem_prune_account(store_txn *t, const char *account, int64_t cutoff);

#define PG__EVENT_COLS                                                                             \
    "id, account, livemode, created, type, object_id, request_id, idempotency_key, snapshot,"      \
    " pending_webhooks, api"
void pg__event_row(const PGresult *res, int row, int col, arena *a, store_event *out);
int pg__txn_event_insert(store_txn *t, const store_event *e);
int pg__event_get(store *st, const char *account, const char *id, arena *a, store_event *out);
int pg__event_list(store *st, const store_event_query *q, arena *a, store_event **items, size_t *n,
                   int *has_more);
int pg__txn_event_snapshots(store_txn *t, const char *account, const char *object_id, int64_t since,
                            arena *a, store_event **items, size_t *n);
int pg__txn_event_snapshot_set(store_txn *t, const char *account, const char *id,
                               const store_record *snapshot);
int pg__txn_events_prune(store_txn *t, int64_t cutoff, int *n);
int pg__txn_events_prune_account(store_txn *t, const char *account, int64_t cutoff, int *n);

int pg__webhook_get(store *st, const char *account, const char *id, arena *a, store_webhook *out);
int pg__webhook_list(store *st, const char *account, arena *a, store_webhook **items, size_t *n);
int pg__txn_webhook_get(store_txn *t, const char *account, const char *id, arena *a,
                        store_webhook *out);
int pg__txn_webhook_candidates(store_txn *t, const char *account, const char *platform, arena *a,
                               store_webhook **items, size_t *n);
int pg__txn_webhook_insert(store_txn *t, const store_webhook *w, int max);
int pg__txn_webhook_update(store_txn *t, const store_webhook *w);
int pg__txn_webhook_delete(store_txn *t, const char *account, const char *id);
int pg__txn_forward_set(store_txn *t, const char *url, const char *new_secret, arena *a,
                        const char **secret);

int pg__txn_delivery_add(store_txn *t, const store_event *e, const char *endpoint_id,
                         int64_t due_ms);
int pg__deliveries_due(store *st, int64_t now_ms, int64_t after_seq, size_t max, arena *a,
                       store_delivery **items, size_t *n);
int pg__delivery_next_due(store *st, int64_t after_ms, int64_t *out_ms);
int pg__txn_delivery_result(store_txn *t, int64_t seq, const char *event_id, int ok,
                            int64_t next_ms);

int pg__report_get(store *st, const char *account, const char *id, arena *a, store_record *out);
int pg__txn_report_get(store_txn *t, const char *account, const char *id, arena *a,
                       store_record *out);
int pg__txn_report_insert(store_txn *t, const store_report *r);
int pg__txn_report_update(store_txn *t, const store_report *r);
int pg__txn_session_reports(store_txn *t, const char *account, const char *session_id, arena *a,
                            store_report **items, size_t *n);
int pg__report_list(store *st, const store_report_query *q, arena *a, store_record **items,
                    size_t *n, int *has_more);

int pg__txn_link_put(store_txn *t, const void *key, size_t key_len, const char *account,
                     const char *session_id);
int pg__link_find(store *st, const void *key, size_t key_len, arena *a, const char **account,
                  const char **session_id);
int pg__txn_outcome_set(store_txn *t, const char *account, const char *id, int64_t due_ms);
int pg__txn_outcome_clear(store_txn *t, const char *account, const char *id);
int pg__outcomes_due(store *st, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                     const char ***ids, size_t *n);

int pg__txn_account_reset(store_txn *t, const char *account, store_reset_counts *counts);
int pg__clock_list(store *st, arena *a, const char ***accounts, int64_t **offsets_ms, size_t *n);
int pg__txn_clock_advance(store_txn *t, const char *account, int64_t delta_ms, int64_t *offset_ms);

#endif
