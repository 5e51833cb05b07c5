/*
 * store: the one storage interface verifyd uses. The SQLite implementation (store_sqlite.c) is
 * the embedded default; another backend (PostgreSQL) implements the same functions behind the
 * same ops table.
 *
 * Reads may be called from any thread (each thread gets its own connection). Writes run as jobs
 * on one writer thread, which batches the jobs that are waiting into one transaction (group
 * commit) and calls each job's completion only after that transaction is durably on disk. Each
 * job runs inside its own savepoint: a job that fails is rolled back alone, its batch-mates
 * commit.
 *
 * Return codes: 0, or a negative STORE_E* value. Everything a function hands back lives in the
 * arena the caller passed in.
 */
#ifndef VERIFYD_STORE_H
#define VERIFYD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "session.h"

enum {
    STORE_OK = 0,
    STORE_NOT_FOUND = -1,
    STORE_EIO = -2,     /* the database failed; the job's changes are not committed */
    STORE_CORRUPT = -3, /* a stored record could not be decoded */
    STORE_ABORTED = -4, /* a job asked for its own changes to be rolled back */
    STORE_CURSOR = -5,  /* list: starting_after / ending_before names no object of the account */
    STORE_EXISTS = -6,  /* insert: that id (or account + idempotency key) is already stored */
};

typedef struct store store;
typedef struct store_txn store_txn;

typedef struct store_config {
    const char *data_dir; /* created if missing; the database is data_dir/verifyd.db */
    int64_t cache_bytes;  /* SQLite page cache per connection (0: 64 MiB) */
    int synchronous_full; /* 1 (default): fsync on every commit; 0 only for throwaway data */
    int max_batch;        /* jobs per group commit (0: 512) */
    /* Which backend: NULL, "" or "sqlite:" is the embedded SQLite database in data_dir. Other
     * schemes (postgres://...) are refused with an errmsg until a backend implements them. */
    const char *url;
} store_config;

/* On success returns 0 and *out is the open store (release with store_close). On failure returns
 * STORE_EIO, *out is NULL and *errmsg is a static string saying what failed (the details, such as
 * SQLite's own message, go to stderr). Creates data_dir (mode 0700) and the schema if missing and
 * runs pending migrations; refuses a database whose schema is newer than this build. */
int store_open(const store_config *cfg, store **out, const char **errmsg);
/* Drains the pending write jobs (their done callbacks all run), stops the writer, closes every
 * connection and frees st. No other thread may use st during or after this call. NULL is a no-op.
 */
void store_close(store *st);

/* ---- reads (any thread) ---- */

/* 0 and *out filled (strings in a), STORE_NOT_FOUND (no such id in that account), STORE_CORRUPT
 * or STORE_EIO. Reads see every batch whose done callbacks have started. */
int store_session_get(store *st, const char *account, const char *id, arena *a, vs_session *out);

typedef struct store_range {
    int has_eq, has_gt, has_gte, has_lt, has_lte;
    int64_t eq, gt, gte, lt, lte;
} store_range;

typedef struct store_session_query {
    const char *account;
    int has_status;
    vs_status status;
    const char *client_reference_id; /* NULL: no filter */
    const char *related_customer;
    const char *related_customer_account;
    store_range created;
    const char *starting_after; /* at most one of the two cursors */
    const char *ending_before;
    int limit; /* 1..100 */
} store_session_query;

/* Newest first (created DESC, then insertion order DESC). *items is an arena array of *n
 * sessions; *has_more says whether more exist beyond this page in the paging direction (older
 * ones, or with ending_before newer ones). Filters combine with AND. A limit outside 1..100 is
 * clamped. Returns 0, STORE_CURSOR (a cursor names no session of the account, or both cursors
 * are set), STORE_CORRUPT or STORE_EIO; on failure *n is 0. */
int store_session_list(store *st, const store_session_query *q, arena *a, vs_session **items,
                       size_t *n, int *has_more);

typedef struct store_idem {
    char fingerprint[65]; /* hex SHA-256 of the request that first used the key */
    int status;           /* HTTP status of the saved response */
    const char *body;     /* saved response body */
    size_t body_len;
    int64_t created;       /* unix seconds */
    const char *object_id; /* the object the response carries (for redaction), or NULL */
} store_idem;

/* 0 and *out filled (body copied into a, NUL-terminated), STORE_NOT_FOUND or STORE_EIO. */
int store_idem_get(store *st, const char *account, const char *key, arena *a, store_idem *out);

/* Sessions whose redaction is processing and due at or before now_ms: up to max of them, as
 * parallel arrays of account and id, oldest due first. 0 (possibly *n == 0) or STORE_EIO. */
int store_redactions_due(store *st, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                         const char ***ids, size_t *n);

/* ---- writes (jobs on the writer thread) ---- */

/* A job: runs inside the batch transaction. Return 0 to keep its changes, non-zero to roll
 * them back (that value is passed to done). */
typedef int (*store_job_fn)(store_txn *t, void *ctx);
/* Called on the writer thread once the batch is durable (rc = the job's return value), or after
 * it failed (rc = STORE_EIO, nothing of the job committed). Must not block. */
typedef void (*store_done_fn)(void *ctx, int rc);

/* Queue a job; returns at once. done may be NULL. ctx stays the caller's: it must stay valid
 * until done has been called. */
void store_submit(store *st, store_job_fn fn, store_done_fn done, void *ctx);
/* Queue a job and wait for it: returns the rc that done would have received. */
int store_run(store *st, store_job_fn fn, void *ctx);

/* Inside a job. They see the changes of earlier jobs of the same batch. Each returns 0,
 * STORE_NOT_FOUND (get, update), STORE_EXISTS (insert), STORE_CORRUPT (get) or STORE_EIO; on
 * STORE_EIO the job should return non-zero (its batch may already have been rolled back, and then
 * every job of the batch gets STORE_EIO whatever it returns). */
int store_txn_session_get(store_txn *t, const char *account, const char *id, arena *a,
                          vs_session *out);
int store_txn_session_insert(store_txn *t, const vs_session *s);
int store_txn_session_update(store_txn *t, const vs_session *s);

typedef struct store_event {
    const char *id; /* evt_... */
    const char *account;
    int livemode;
    int64_t created;
    const char *type;       /* identity.verification_session.created, ... */
    const char *object_id;  /* the session's id */
    const char *request_id; /* NULL for background changes */
    const char *idempotency_key;
    const void *snapshot; /* vs_encode() of the session right after the change */
    size_t snapshot_len;
} store_event;
int store_txn_event_insert(store_txn *t, const store_event *e);

/* Read inside a job, so that check-then-put is atomic against other requests with the key. */
int store_txn_idem_get(store_txn *t, const char *account, const char *key, arena *a,
                       store_idem *out);
/* Save the response for (account, key); STORE_EXISTS if the key is already saved (nothing is
 * overwritten: the first response is the one Stripe replays). */
int store_txn_idem_put(store_txn *t, const char *account, const char *key, const store_idem *v);
/* Redaction reaches every copy (CONTRACT.md §11): rewrite the snapshot of every event of
 * object_id with vs_redact() applied, and delete the idempotency records whose saved response
 * carries object_id. */
int store_txn_redact_object(store_txn *t, const char *account, const char *object_id);

/* Delete idempotency records created before cutoff (unix seconds). */
int store_txn_idem_prune(store_txn *t, int64_t cutoff);

#endif
