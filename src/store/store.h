/*
 * store: the one storage interface verifyd uses. The SQLite implementation (store/sqlite/sqlite.c)
 * is the embedded default; another backend (PostgreSQL) implements the same functions behind the
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

#include "base/arena.h"
#include "identity/session.h"

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
    int64_t cache_bytes;  /* SQLite page cache per connection (0: 16 MiB) */
    int synchronous_full; /* 1 (default): fsync on every commit; 0 only for throwaway data */
    int max_batch;        /* jobs per group commit (0: 512) */
    int id_merge_min;     /* new session ids held in memory before they are indexed (0: 32768) */
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
int store_session_get(store *st, const char *account, const char *id, arena *a, session *out);

typedef struct store_range {
    int has_eq, has_gt, has_gte, has_lt, has_lte;
    int64_t eq, gt, gte, lt, lte;
} store_range;

typedef struct store_session_query {
    const char *account;
    int has_status;
    session_status status;
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
int store_session_list(store *st, const store_session_query *q, arena *a, session **items,
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
                          session *out);
int store_txn_session_insert(store_txn *t, const session *s);
int store_txn_session_update(store_txn *t, const session *s);

typedef struct store_event {
    const char *id; /* evt_... */
    const char *account;
    int livemode;
    int64_t created;
    const char *type;       /* identity.verification_session.created, ... */
    const char *object_id;  /* the session's id */
    const char *request_id; /* NULL for background changes */
    const char *idempotency_key;
    const void *snapshot; /* session_encode() of the session right after the change */
    size_t snapshot_len;
    int pending_webhooks; /* deliveries not yet succeeded */
} store_event;
int store_txn_event_insert(store_txn *t, const store_event *e);

/* Read inside a job, so that check-then-put is atomic against other requests with the key. */
int store_txn_idem_get(store_txn *t, const char *account, const char *key, arena *a,
                       store_idem *out);
/* Save the response for (account, key); STORE_EXISTS if the key is already saved (nothing is
 * overwritten: the first response is the one Stripe replays). */
int store_txn_idem_put(store_txn *t, const char *account, const char *key, const store_idem *v);
/* Redaction reaches every copy (CONTRACT.md §11): rewrite the snapshot of every event of
 * object_id with session_redact() applied, and delete the idempotency records whose saved response
 * carries object_id. */
int store_txn_redact_object(store_txn *t, const char *account, const char *object_id);

/* Delete idempotency records created before cutoff (unix seconds). */
int store_txn_idem_prune(store_txn *t, int64_t cutoff);

/* --- events & webhooks --- */
/*
 * Events are read back for GET /v1/events; webhook endpoints are stored per account; every event
 * gets one row per matching enabled endpoint in a durable outbox (deliveries), written in the
 * event's own transaction, that the delivery worker (delivery.h) drains. The --forward-to target
 * is stored as one more endpoint, id STORE_FORWARD_ID, owned by no account (it matches every
 * account's events and appears in no account's lists).
 */
#define STORE_FORWARD_ID "we_forward"

/* 0 and *out (strings in a), STORE_NOT_FOUND, STORE_CORRUPT or STORE_EIO. */
int store_event_get(store *st, const char *account, const char *id, arena *a, store_event *out);

typedef struct store_event_query {
    const char *account;
    const char *const *types; /* patterns, '*' matches any run of characters; n_types == 0: any */
    size_t n_types;
    store_range created;
    int delivery_success; /* -1: no filter; 1: pending_webhooks == 0; 0: pending_webhooks > 0 */
    const char *starting_after;
    const char *ending_before;
    int limit; /* 1..100 */
} store_event_query;
/* Newest first, like store_session_list (same paging and return codes; STORE_CURSOR when a
 * cursor names no event of the account). */
int store_event_list(store *st, const store_event_query *q, arena *a, store_event **items,
                     size_t *n, int *has_more);

typedef struct store_webhook {
    const char *id; /* we_... */
    const char *account;
    int livemode;
    int64_t created;
    int disabled;
    const char *url;
    const char *secret;      /* whsec_... */
    const char *api_version; /* NULL: the default */
    const char *description; /* NULL: none */
    const char **enabled_events;
    size_t n_enabled_events;
    metadata_kv *metadata;
    size_t n_metadata;
} store_webhook;

/* 0 and *out (strings in a), STORE_NOT_FOUND or STORE_EIO. */
int store_webhook_get(store *st, const char *account, const char *id, arena *a, store_webhook *out);
/* Every endpoint of the account (at most a few dozen), newest first. 0 or STORE_EIO. */
int store_webhook_list(store *st, const char *account, arena *a, store_webhook **items, size_t *n);

/* A delivery that is due, with what the worker needs to send it. */
typedef struct store_delivery {
    int64_t seq;
    int attempts; /* attempts made so far */
    const char *endpoint_id;
    const char *url;
    const char *secret;
    const char *api_version; /* NULL: the default */
    int endpoint_livemode;
    int forward; /* the --forward-to endpoint */
    store_event event;
} store_delivery;
/* Pending deliveries due at or before now_ms to enabled endpoints, with an outbox position (seq)
 * after after_seq (0: all), oldest due first, at most max. 0 (possibly *n == 0), STORE_EIO. */
int store_deliveries_due(store *st, int64_t now_ms, int64_t after_seq, size_t max, arena *a,
                         store_delivery **items, size_t *n);
/* The earliest due time after after_ms of a pending delivery to an enabled endpoint: 0 and
 * *out_ms, STORE_NOT_FOUND (none), STORE_EIO. */
int store_delivery_next_due(store *st, int64_t after_ms, int64_t *out_ms);

/* Called on the writer thread right after a commit that added deliveries (before the jobs'
 * done callbacks). Must not block. One hook per store; NULL removes it. */
typedef void (*store_outbox_hook)(void *ctx);
void store_set_outbox_hook(store *st, store_outbox_hook fn, void *ctx);

/* 1 when concurrent writes keep the store busy (several jobs in the last group commit or
 * waiting for the next), else 0. A hint for background work that should yield to requests;
 * any thread. */
int store_busy(store *st);

/* Inside a job: one pending delivery, due at now_ms, for every enabled endpoint of e's account
 * and mode whose enabled_events has e->type or '*', plus the forward endpoint when enabled;
 * *n is how many. Call before inserting e (set e->pending_webhooks = *n). */
int store_txn_outbox_add(store_txn *t, const store_event *e, int64_t now_ms, int *n);
/* Record an attempt: ok = delivered (the event's pending_webhooks drops by one); otherwise
 * next_ms is the next attempt's due time, or -1 to give up (the delivery is failed). A delivery
 * that is no longer pending (its endpoint was deleted meanwhile) is left alone. */
int store_txn_delivery_result(store_txn *t, int64_t seq, const char *event_id, int ok,
                              int64_t next_ms);

/* Inside a job: endpoint CRUD. get: 0, STORE_NOT_FOUND, STORE_EIO. count: how many endpoints
 * the account has. insert: STORE_EXISTS on a duplicate id. update rewrites every field but id,
 * account, livemode, created and secret (STORE_NOT_FOUND if gone). delete also fails the
 * endpoint's pending deliveries (no further attempts). */
int store_txn_webhook_get(store_txn *t, const char *account, const char *id, arena *a,
                          store_webhook *out);
int store_txn_webhook_count(store_txn *t, const char *account, int *n);
int store_txn_webhook_insert(store_txn *t, const store_webhook *w);
int store_txn_webhook_update(store_txn *t, const store_webhook *w);
int store_txn_webhook_delete(store_txn *t, const char *account, const char *id);

/* Inside a job: enable the forward endpoint with url (keeping its secret if it exists, else
 * taking new_secret) and set *secret (in a) to the secret in force; url NULL disables it (its
 * pending deliveries wait for the next start with a url). */
int store_txn_forward_set(store_txn *t, const char *url, const char *new_secret, arena *a,
                          const char **secret);

/* Inside a job: delete up to a bounded batch of the oldest events created before cutoff (unix
 * seconds), with their deliveries; *n is how many events went (call again while *n > 0). */
int store_txn_events_prune(store_txn *t, int64_t cutoff, int *n);
/* --- end events & webhooks --- */

/* --- verification reports, hosted links, delayed outcomes --- */
/*
 * Reports (report.h) are immutable once written, except that redaction rewrites them:
 * store_txn_redact_object(account, session id) also redacts every report of that session.
 * Hosted links: every url_token a session is stored with is remembered (by its SHA-256) so the
 * hosted page can find the session from the token alone; old tokens keep pointing at their
 * session, so a used link can be told apart from an unknown one. Outcomes: a delayed outcome's
 * due time, polled by the lifecycle worker (lifecycle.h).
 */
struct report;

/* 0 and *out (strings in a), STORE_NOT_FOUND, STORE_CORRUPT or STORE_EIO. */
int store_report_get(store *st, const char *account, const char *id, arena *a, struct report *out);

typedef struct store_report_query {
    const char *account;
    int has_type;
    session_type type;
    const char *client_reference_id;  /* NULL: no filter */
    const char *verification_session; /* NULL: no filter */
    store_range created;
    const char *starting_after;
    const char *ending_before;
    int limit; /* 1..100 */
} store_report_query;
/* Newest first, like store_session_list (same paging and return codes). */
int store_report_list(store *st, const store_report_query *q, arena *a, struct report **items,
                      size_t *n, int *has_more);

/* The session a hosted-page token was issued for: 0 with *account and *session_id (in a),
 * STORE_NOT_FOUND or STORE_EIO. The caller still compares the token with the session's own. */
int store_link_find(store *st, const char *token, arena *a, const char **account,
                    const char **session_id);

/* Sessions whose delayed outcome is due at or before now_ms, oldest first, at most max. */
int store_outcomes_due(store *st, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                       const char ***ids, size_t *n);

/* Inside a job. report_insert: STORE_EXISTS on a duplicate id. outcome_set schedules (or moves)
 * the session's delayed outcome; outcome_clear forgets it (no error if there is none). */
int store_txn_report_insert(store_txn *t, const struct report *r);
int store_txn_report_get(store_txn *t, const char *account, const char *id, arena *a,
                         struct report *out);
int store_txn_outcome_set(store_txn *t, const char *account, const char *id, int64_t due_ms);
int store_txn_outcome_clear(store_txn *t, const char *account, const char *id);

#endif
