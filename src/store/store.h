/*
 * store: the one storage interface verifyd uses, and the contract every backend keeps. The
 * embedded SQLite backend (store/sqlite/) is the default; a backend shared by several processes
 * (PostgreSQL) implements the same operations behind the same table (store/backend.h).
 *
 * A backend stores, indexes and queries records; it knows no Stripe rule. What a stored session
 * or report means (its encoding, redaction, hosted links, which endpoints an event goes to) is
 * decided above it (identity/); the store sees encoded records plus the few columns that lists
 * filter and sort on.
 *
 * The guarantees callers may rely on, on every backend and across processes sharing one
 * database. Nothing else is promised: not one writer thread, not an order between concurrent
 * jobs, not that a job's reads stay true unless an operation below says so.
 *  - Durability: a job's done callback runs only once its changes are durable (committed and,
 *    as the backend is configured, on disk); a job's changes commit all together or not at all.
 *  - Unique ids: inserting a session, report, event or endpoint whose id exists (in any account)
 *    fails with STORE_EXISTS and changes nothing.
 *  - Conditional state changes: store_txn_session_update applies only while the stored status
 *    is still the one the caller read (STORE_CONFLICT otherwise), so of two jobs that change one
 *    session at once, on any processes, exactly one wins.
 *  - Idempotency keys: store_idem_begin holds a key for one request at a time across every
 *    process; store_txn_idem_put saves a response unless one is already saved and hands that one
 *    back instead.
 *  - Limits: store_txn_webhook_insert refuses an endpoint beyond the account's limit.
 *  - Reads see every write whose done callback has started, on every process.
 *
 * Return codes: 0, or a negative STORE_E* value. Everything a function hands back lives in the
 * arena the caller passed in.
 */
#ifndef VERIFYD_STORE_H
#define VERIFYD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "store/sqlite/config.h"

enum {
    STORE_OK = 0,
    STORE_NOT_FOUND = -1,
    STORE_EIO = -2,      /* the database failed; the job's changes are not committed */
    STORE_CORRUPT = -3,  /* a stored record could not be decoded (set by the layer that decodes) */
    STORE_ABORTED = -4,  /* a job asked for its own changes to be rolled back */
    STORE_CURSOR = -5,   /* list: starting_after / ending_before names no object of the account */
    STORE_EXISTS = -6,   /* insert: that id (or account + idempotency key) is already stored */
    STORE_CONFLICT = -7, /* a conditional update found the row changed since it was read */
    STORE_BUSY = -8,     /* idempotency: another request holds the key right now */
    STORE_LIMIT = -9,    /* insert: the account already has the most it may have */
    /* The database's files were deleted or replaced under the running store: nothing written
     * now would survive a restart, so every job fails this way until the store is reopened. */
    STORE_UNAVAILABLE = -10,
};

typedef struct store store;
typedef struct store_txn store_txn;

typedef struct store_config {
    /* Which backend: NULL, "" or "sqlite:" is the embedded SQLite database in data_dir;
     * postgres://... or postgresql://... is a PostgreSQL database (store/postgres/), the URL
     * passed to libpq as it is (its own syntax, PG* environment variables, sslmode). Other
     * schemes are refused with an errmsg. */
    const char *url;
    const char *data_dir;       /* created if missing; SQLite keeps data_dir/verifyd.db there */
    store_sqlite_config sqlite; /* settings of the SQLite backend (store/sqlite/config.h) */
} store_config;

/* On success returns 0 and *out is the open store (release with store_close). On failure returns
 * STORE_EIO, *out is NULL and *errmsg is a static string saying what failed (the details, such as
 * the database's own message, go to stderr). Creates the schema if missing and runs pending
 * migrations; refuses a database whose schema is newer than this build. */
int store_open(const store_config *cfg, store **out, const char **errmsg);
/* Drains the pending write jobs (their done callbacks all run), stops the backend's threads,
 * closes every connection and frees st. No other thread may use st during or after this call.
 * NULL is a no-op. */
void store_close(store *st);

/* An encoded record as stored (session_encode, report_encode): opaque bytes to the store. */
typedef struct store_record {
    const void *data;
    size_t len;
} store_record;

typedef struct store_range {
    int has_eq, has_gt, has_gte, has_lt, has_lte;
    int64_t eq, gt, gte, lt, lte;
} store_range;

/* ---- write jobs ---- */

/* A job: runs inside one transaction of the backend's choosing (it may share it with other
 * jobs: group commit). Return 0 to keep its changes, non-zero to roll back all of them (that
 * value is passed to done). */
typedef int (*store_job_fn)(store_txn *t, void *ctx);
/* Called once the job's changes are durable (rc = the job's return value), or after they failed
 * (rc = STORE_EIO, nothing of the job committed). Runs on a backend thread; must not block. */
typedef void (*store_done_fn)(void *ctx, int rc);

/* Queue a job; returns at once. done may be NULL. ctx, and every record a job hands to the
 * store, must stay valid until done has been called. */
void store_submit(store *st, store_job_fn fn, store_done_fn done, void *ctx);
/* Queue a job and wait for it: returns the rc that done would have received. */
int store_run(store *st, store_job_fn fn, void *ctx);

/* 1 when concurrent writes keep the store busy, else 0. A hint for background work that should
 * yield to requests; any thread. */
int store_busy(store *st);

/* Make what committed jobs overwrote or deleted unreadable from the backend's files (redaction,
 * CONTRACT.md §11: the erased values may stay in no file), without stopping other writes for
 * longer than a commit. Call it after the erasing job has returned; it blocks until done. Any
 * thread but a job's. 0, or STORE_EIO (nothing is lost; a later call may succeed). */
int store_scrub(store *st);

/*
 * Every store_txn_* call below runs inside a job and sees the changes of that job (and of jobs
 * committed before it). Each returns 0 or a STORE_E* code as listed, or STORE_EIO; after
 * STORE_EIO the job should return non-zero (its transaction may already be gone, and then the
 * job gets STORE_EIO whatever it returns).
 */

/* ---- sessions ---- */

/* A session as stored: the columns the lists filter and sort on, and its record. */
typedef struct store_session {
    const char *id;
    const char *account;
    int64_t created;                 /* unix seconds; immutable (part of every list order) */
    int status;                      /* the session's status code (filters, conditional updates) */
    const char *client_reference_id; /* NULL: none */
    const char *related_customer;    /* NULL: none */
    const char *related_customer_account; /* NULL: none */
    int64_t redaction_due;                /* unix ms of a processing redaction, 0: none */
    store_record record;
} store_session;

/* The record of (account, id): 0 and *out (in a), STORE_NOT_FOUND (no such id in that account)
 * or STORE_EIO. */
int store_session_get(store *st, const char *account, const char *id, arena *a, store_record *out);
int store_txn_session_get(store_txn *t, const char *account, const char *id, arena *a,
                          store_record *out);
/* STORE_EXISTS when a session with that id exists in any account. */
int store_txn_session_insert(store_txn *t, const store_session *s);
/* Rewrite every column but id, account and created. Applies only when the stored status is
 * if_status (any status when if_status < 0): STORE_CONFLICT when it is another, STORE_NOT_FOUND
 * when the session is gone. */
int store_txn_session_update(store_txn *t, const store_session *s, int if_status);

typedef struct store_session_query {
    const char *account;
    int has_status;
    int status;
    const char *client_reference_id; /* NULL: no filter */
    const char *related_customer;
    const char *related_customer_account;
    store_range created;
    const char *starting_after; /* at most one of the two cursors */
    const char *ending_before;
    int limit; /* 1..100 */
} store_session_query;

/* Newest first (created DESC, then insertion order DESC). *items is an arena array of *n
 * records; *has_more says whether more exist beyond this page in the paging direction (older
 * ones, or with ending_before newer ones). Filters combine with AND. A limit outside 1..100 is
 * clamped. Returns 0, STORE_CURSOR (a cursor names no session of the account, or both cursors
 * are set) or STORE_EIO; on failure *n is 0. */
int store_session_list(store *st, const store_session_query *q, arena *a, store_record **items,
                       size_t *n, int *has_more);

/* Sessions whose redaction_due is set and at or before now_ms: up to max of them, as parallel
 * arrays of account and id, oldest due first. 0 (possibly *n == 0) or STORE_EIO. */
int store_redactions_due(store *st, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                         const char ***ids, size_t *n);

/* ---- idempotency keys ---- */

typedef struct store_idem {
    char fingerprint[65]; /* hex SHA-256 of the request that first used the key */
    int status;           /* HTTP status of the saved response */
    const char *body;     /* saved response body (NUL-terminated copy) */
    size_t body_len;
    int64_t created;       /* unix seconds */
    const char *object_id; /* the object the response carries (for redaction), or NULL */
} store_idem;

/* Hold (account, key) for the calling request until store_idem_end, on every process that
 * shares the database. 0: held, and *found says whether a response is saved under the key (then
 * *saved is it); STORE_BUSY: another request holds the key (nothing to release); STORE_EIO. A
 * process that dies holding a key releases it (the backend's part: a lock that dies with the
 * session or a lease). */
int store_idem_begin(store *st, const char *account, const char *key, arena *a, int *found,
                     store_idem *saved);
/* Release a key held by store_idem_begin. */
void store_idem_end(store *st, const char *account, const char *key);
/* The saved response of (account, key): 0 and *out, STORE_NOT_FOUND or STORE_EIO. */
int store_idem_get(store *st, const char *account, const char *key, arena *a, store_idem *out);
/* Save v as the response of (account, key). A record saved before replace_before (unix seconds)
 * is replaced; a younger one is kept, handed back in *existing (in a) with STORE_EXISTS: the
 * first response is the one Stripe replays. */
int store_txn_idem_put(store_txn *t, const char *account, const char *key, const store_idem *v,
                       int64_t replace_before, arena *a, store_idem *existing);
/* Delete the records created before cutoff (unix seconds). */
int store_txn_idem_prune(store_txn *t, int64_t cutoff);
/* Delete the records whose saved response carries object_id (redaction). */
int store_txn_idem_delete_object(store_txn *t, const char *account, const char *object_id);

/* ---- events ---- */

typedef struct store_event {
    const char *id; /* evt_... */
    const char *account;
    int livemode;
    int64_t created;
    const char *type;       /* identity.verification_session.created, ... */
    const char *object_id;  /* the session's id */
    const char *request_id; /* NULL for background changes */
    const char *idempotency_key;
    store_record snapshot; /* the session's record right after the change */
    int pending_webhooks;  /* deliveries not yet succeeded */
    /* An event of the v2 API itself (v2.core.event_destination.ping: object_id is the
     * destination, no snapshot). The v1 event list and retrieve never see one. */
    int v2;
} store_event;

/* STORE_EXISTS on a duplicate id. */
int store_txn_event_insert(store_txn *t, const store_event *e);
/* 0 and *out (strings in a), STORE_NOT_FOUND or STORE_EIO. */
int store_event_get(store *st, const char *account, const char *id, arena *a, store_event *out);

typedef struct store_event_query {
    const char *account;
    const char *const *types; /* patterns, '*' matches any run of characters; n_types == 0: any */
    size_t n_types;
    store_range created;
    int delivery_success; /* -1: no filter; 1: pending_webhooks == 0; 0: pending_webhooks > 0 */
    const char *starting_after;
    const char *ending_before;
    int limit;             /* 1..100 */
    int v2;                /* 0: v1 events only (the v1 list); 1: v1 and v2 events */
    const char *object_id; /* NULL: no filter */
} store_event_query;
/* Newest first, like store_session_list (same paging and return codes; STORE_CURSOR when a
 * cursor names no event of the account). */
int store_event_list(store *st, const store_event_query *q, arena *a, store_event **items,
                     size_t *n, int *has_more);

/* The events of object_id created at or after since (unix seconds: the object's own creation
 * bounds the search), with their ids and snapshots, oldest first. 0 or STORE_EIO. */
int store_txn_event_snapshots(store_txn *t, const char *account, const char *object_id,
                              int64_t since, arena *a, store_event **items, size_t *n);
/* Replace the snapshot of event id. STORE_NOT_FOUND when it is gone. */
int store_txn_event_snapshot_set(store_txn *t, const char *account, const char *id,
                                 const store_record *snapshot);
/* Delete up to a bounded batch of the oldest events created before cutoff (unix seconds), with
 * their deliveries; *n is how many events went (call again while *n > 0). */
int store_txn_events_prune(store_txn *t, int64_t cutoff, int *n);

/* ---- webhook endpoints and the delivery outbox ---- */
/*
 * Endpoints are stored per account; every event gets one delivery per endpoint it goes to, in a
 * durable outbox written in the event's own transaction, that the delivery worker (delivery.h)
 * drains. The --forward-to target is stored as one more endpoint, id STORE_FORWARD_ID, owned by
 * no account (account STORE_FORWARD_ACCOUNT): it appears in no account's lists.
 */
#define STORE_FORWARD_ID "we_forward"
#define STORE_FORWARD_ACCOUNT "*"

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
    store_record metadata; /* encoded by the layer above (metadata_encode) */
    /* A v2 event destination (type webhook_endpoint) rather than a v1 webhook endpoint. Both
     * share the fan-out and the outbox; each kind has its own lists and its own limit. For a
     * destination api_version is its snapshot_api_version. */
    int destination;
    const char *name; /* destination: its name */
    int thin;         /* destination: event_payload thin (else snapshot) */
    int64_t updated_ms;
    int connect; /* v1 endpoint: gets the events of the account's connected accounts (fixed) */
} store_webhook;

/* 0 and *out (strings in a), STORE_NOT_FOUND or STORE_EIO. Endpoints and destinations alike:
 * the caller checks `destination`. */
int store_webhook_get(store *st, const char *account, const char *id, arena *a, store_webhook *out);
/* Every endpoint and destination of the account (at most a few dozen), newest first. 0 or
 * STORE_EIO. */
int store_webhook_list(store *st, const char *account, arena *a, store_webhook **items, size_t *n);

int store_txn_webhook_get(store_txn *t, const char *account, const char *id, arena *a,
                          store_webhook *out);
/* The endpoints an event of account may go to: the account's own, platform's connect endpoints
 * when platform is not NULL (the account is one of its connected accounts) and the forward
 * endpoint, enabled or not (the caller decides which match). Each item has what that decision
 * reads: id, account, livemode, disabled, enabled_events, destination, thin and connect (the
 * other fields are unset). 0 or STORE_EIO. */
int store_txn_webhook_candidates(store_txn *t, const char *account, const char *platform, arena *a,
                                 store_webhook **items, size_t *n);
/* STORE_EXISTS on a duplicate id; STORE_LIMIT when the account already has max of w's kind
 * (endpoints and destinations are counted apart). */
int store_txn_webhook_insert(store_txn *t, const store_webhook *w, int max);
/* Rewrite every field but id, account, livemode, created, secret, destination and thin
 * (STORE_NOT_FOUND if gone). */
int store_txn_webhook_update(store_txn *t, const store_webhook *w);
/* Delete the endpoint and fail its pending deliveries (no further attempts). STORE_NOT_FOUND
 * when it is gone. */
int store_txn_webhook_delete(store_txn *t, const char *account, const char *id);
/* Enable the forward endpoint with url (keeping its secret if it exists, else taking new_secret)
 * and set *secret (in a) to the secret in force; url NULL disables it (its pending deliveries wait
 * for the next start with a url). */
int store_txn_forward_set(store_txn *t, const char *url, const char *new_secret, arena *a,
                          const char **secret);

/* One pending delivery of event e to endpoint_id, due at due_ms. Call it in the job that inserts
 * e: the outbox is written with its event, and store_txn_events_prune removes an event's
 * deliveries with it on that assumption. */
int store_txn_delivery_add(store_txn *t, const store_event *e, const char *endpoint_id,
                           int64_t due_ms);

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
    int destination; /* the endpoint is a v2 event destination */
    int thin;        /* ...whose payload is thin */
} store_delivery;
/* Pending deliveries due at or before now_ms to enabled endpoints, with an outbox position (seq)
 * after after_seq (0: all), oldest due first, at most max. 0 (possibly *n == 0), STORE_EIO. */
int store_deliveries_due(store *st, int64_t now_ms, int64_t after_seq, size_t max, arena *a,
                         store_delivery **items, size_t *n);
/* The earliest due time after after_ms of a pending delivery to an enabled endpoint: 0 and
 * *out_ms, STORE_NOT_FOUND (none), STORE_EIO. */
int store_delivery_next_due(store *st, int64_t after_ms, int64_t *out_ms);
/* Record an attempt: ok = delivered (the event's pending_webhooks drops by one); otherwise
 * next_ms is the next attempt's due time, or -1 to give up (the delivery is failed). A delivery
 * that is no longer pending (its endpoint was deleted meanwhile) is left alone. */
int store_txn_delivery_result(store_txn *t, int64_t seq, const char *event_id, int ok,
                              int64_t next_ms);

/* Called right after a commit that added deliveries, before the jobs' done callbacks (and, on a
 * backend shared by processes, when another process added some). Must not block. One hook per
 * store; NULL removes it. */
typedef void (*store_outbox_hook)(void *ctx);
void store_set_outbox_hook(store *st, store_outbox_hook fn, void *ctx);

/* ---- verification reports ---- */

/* A report as stored: the columns the list filters on, and its record. Reports are immutable
 * once written, except that redaction rewrites them. */
typedef struct store_report {
    const char *id;
    const char *account;
    int64_t created;
    int type; /* the report's type code (filter) */
    const char *verification_session;
    const char *client_reference_id;
    store_record record;
} store_report;

/* The record of (account, id): 0 and *out, STORE_NOT_FOUND or STORE_EIO. */
int store_report_get(store *st, const char *account, const char *id, arena *a, store_record *out);
int store_txn_report_get(store_txn *t, const char *account, const char *id, arena *a,
                         store_record *out);
/* STORE_EXISTS on a duplicate id. */
int store_txn_report_insert(store_txn *t, const store_report *r);
/* Rewrite the record and client_reference_id of report r->id (redaction). STORE_NOT_FOUND when
 * it is gone. */
int store_txn_report_update(store_txn *t, const store_report *r);
/* Every report of one session (id and record filled), oldest first. 0 or STORE_EIO. */
int store_txn_session_reports(store_txn *t, const char *account, const char *session_id, arena *a,
                              store_report **items, size_t *n);

typedef struct store_report_query {
    const char *account;
    int has_type;
    int type;
    const char *client_reference_id;  /* NULL: no filter */
    const char *verification_session; /* NULL: no filter */
    store_range created;
    const char *starting_after;
    const char *ending_before;
    int limit; /* 1..100 */
} store_report_query;
/* Newest first, like store_session_list (same paging and return codes). */
int store_report_list(store *st, const store_report_query *q, arena *a, store_record **items,
                      size_t *n, int *has_more);

/* ---- hosted links and delayed outcomes ---- */

/* Remember that the link key (key_len <= 64 bytes, chosen above the store) belongs to the
 * session; a key that is already stored keeps its session. */
int store_txn_link_put(store_txn *t, const void *key, size_t key_len, const char *account,
                       const char *session_id);
/* The session a link key belongs to: 0 with *account and *session_id (in a), STORE_NOT_FOUND or
 * STORE_EIO. */
int store_link_find(store *st, const void *key, size_t key_len, arena *a, const char **account,
                    const char **session_id);

/* Schedule (or move) the session's delayed outcome to due_ms; clear forgets it (no error if
 * there is none). */
int store_txn_outcome_set(store_txn *t, const char *account, const char *id, int64_t due_ms);
int store_txn_outcome_clear(store_txn *t, const char *account, const char *id);
/* Sessions whose delayed outcome is due at or before now_ms, oldest first, at most max. */
int store_outcomes_due(store *st, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                       const char ***ids, size_t *n);

/* ---- a whole account (the test control plane, CONTRACT.md §11) ---- */

/* What store_txn_account_reset removed, by kind. */
typedef struct store_reset_counts {
    int64_t sessions, reports, events, webhooks; /* webhooks: endpoints and destinations */
    int64_t deliveries, links, outcomes, idempotency_keys;
} store_reset_counts;
/* Delete everything stored for account (exactly that namespace: its connected accounts are
 * namespaces of their own): its sessions (with their pending redactions), reports, events,
 * endpoints and destinations, the deliveries of its events and to its endpoints, its hosted
 * links, delayed outcomes and idempotency records, and whatever per-account state a backend
 * keeps beside them (the clock's stored offset). Other accounts are untouched. Afterwards no read
 * of the account finds any of it (the session cache included) and each deleted id may be inserted
 * again. counts may be NULL. 0 or STORE_EIO. Not a redaction-grade erase: the bytes may linger in
 * free pages until store_scrub. */
int store_txn_account_reset(store_txn *t, const char *account, store_reset_counts *counts);

/* ---- per-account clocks (CONTRACT.md §11 "Test control plane") ---- */
/*
 * An account's time is real time plus its offset. Due times that background work compares with
 * real time (deliveries, delayed outcomes, redactions) are stored in real time; times that belong
 * to objects (created, issued) are stored in the account's time and so never move. An advance
 * therefore grows the offset and brings the account's pending due times earlier by as much, in
 * one job. "The account" covers its connected accounts' namespaces too (account + "/" + ...,
 * account.h): they follow their platform's clock.
 */

/* Every stored offset, as parallel arrays (in a) of account and ms ahead of real time. 0 (and
 * *n, possibly 0) or STORE_EIO. */
int store_clock_list(store *st, arena *a, const char ***accounts, int64_t **offsets_ms, size_t *n);
/* Grow account's offset by delta_ms (> 0; an account without one starts at 0) and set *offset_ms
 * to the new offset; bring every pending delivery, delayed outcome and redaction of the account
 * and its connected namespaces delta_ms earlier. */
int store_txn_clock_advance(store_txn *t, const char *account, int64_t delta_ms,
                            int64_t *offset_ms);
/* store_txn_events_prune, for the events of account and its connected namespaces only. */
int store_txn_events_prune_account(store_txn *t, const char *account, int64_t cutoff, int *n);
/* store_txn_idem_prune, for the keys of account and its connected namespaces only. */
int store_txn_idem_prune_account(store_txn *t, const char *account, int64_t cutoff);

/* ---- health and gauges (GET /readyz, GET /metrics) ---- */

/* 0 when the store can serve: a read succeeds and its writer has not failed (the last batch
 * committed, the database files are in place). STORE_UNAVAILABLE when the files were replaced,
 * STORE_EIO when a read or the last commit failed. Any thread; never waits for the writer. */
int store_health(store *st);

typedef struct store_stats {
    int64_t outbox_pending;     /* deliveries not yet delivered nor given up */
    int64_t redactions_pending; /* sessions whose redaction is processing */
} store_stats;
/* Counts across every account: 0 and *out, or STORE_EIO. */
int store_stats_get(store *st, store_stats *out);

/* ---- the delivery attempt log (the dashboard, CONTRACT.md §11 "Test control plane") ---- */

/* One webhook attempt as it went: what was sent where, and what came back. */
#define STORE_ATTEMPTS_PER_DELIVERY 20 /* the newest kept per delivery */
typedef struct store_attempt {
    int64_t seq;          /* set by the store: the log's order */
    int64_t delivery_seq; /* the outbox row (store_delivery.seq) */
    const char *account;  /* the event's */
    const char *event_id;
    const char *endpoint_id;
    const char *url;
    int attempt;          /* 1-based */
    int64_t at_ms;        /* when it was sent (unix ms) */
    int status;           /* the HTTP status, 0 when none came */
    int64_t latency_ms;   /* from sending to the answer or the failure */
    const char *error;    /* NULL, or why there was no answer (connection refused, timeout) */
    const char *response; /* NULL, or the start of the answer's body (printable ASCII) */
    int64_t next_ms;      /* the next attempt's due time, or -1: none (delivered or given up) */
} store_attempt;
/* Log an attempt, keeping the newest STORE_ATTEMPTS_PER_DELIVERY of its delivery. The log is
 * pruned with its events (store_txn_events_prune). */
int store_txn_attempt_add(store_txn *t, const store_attempt *at);
/* The account's newest attempts, newest first, at most max (1..100). 0 or STORE_EIO. */
int store_attempt_list(store *st, const char *account, size_t max, arena *a, store_attempt **items,
                       size_t *n);

#endif
