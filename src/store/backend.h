/*
 * backend: what a storage backend implements so that store.c can dispatch store.h to it, and
 * what store.c does for every backend alike. Internal to the store module (the store__ tier,
 * STYLE.md §1): handlers and the resource rules include store.h only.
 *
 * A backend defines its own store and transaction structs whose first member is the struct store
 * / struct store_txn below, so a pointer to either is a pointer to the backend's own object; it
 * sets ops (and leaves the rest of those structs to store.c). Each op has the contract of the
 * store.h function of the same name. Above the backends, store.c keeps:
 *  - the session cache (session_cache.h), for backends that set cacheable: session records in
 *    memory, filled by reads and replaced by every committed write before it is acknowledged.
 *    The backend reports its batches with the store__txn_* calls below.
 *  - store_run, on top of submit.
 */
#ifndef VERIFYD_STORE_BACKEND_H
#define VERIFYD_STORE_BACKEND_H

#include "base/arena.h"
#include "store/store.h"

typedef struct store__ops {
    const char *name; /* for messages: "sqlite" */
    /* 1 when only this process writes the database (an embedded file), so that records may be
     * cached in memory across requests. */
    int cacheable;
    int (*open)(const store_config *cfg, store **out, const char **errmsg);
    void (*close)(store *st);
    void (*submit)(store *st, store_job_fn fn, store_done_fn done, void *ctx);
    int (*busy)(store *st);
    int (*scrub)(store *st);

    int (*session_get)(store *st, const char *account, const char *id, arena *a, store_record *out);
    int (*txn_session_get)(store_txn *t, const char *account, const char *id, arena *a,
                           store_record *out);
    int (*txn_session_insert)(store_txn *t, const store_session *s);
    int (*txn_session_update)(store_txn *t, const store_session *s, int if_status);
    int (*session_list)(store *st, const store_session_query *q, arena *a, store_record **items,
                        size_t *n, int *has_more);
    int (*redactions_due)(store *st, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                          const char ***ids, size_t *n);

    int (*idem_begin)(store *st, const char *account, const char *key, arena *a, int *found,
                      store_idem *saved);
    void (*idem_end)(store *st, const char *account, const char *key);
    int (*idem_get)(store *st, const char *account, const char *key, arena *a, store_idem *out);
    int (*txn_idem_put)(store_txn *t, const char *account, const char *key, const store_idem *v,
                        int64_t replace_before, arena *a, store_idem *existing);
    int (*txn_idem_prune)(store_txn *t, int64_t cutoff);
    int (*txn_idem_delete_object)(store_txn *t, const char *account, const char *object_id);

    int (*txn_event_insert)(store_txn *t, const store_event *e);
    int (*event_get)(store *st, const char *account, const char *id, arena *a, store_event *out);
    int (*event_list)(store *st, const store_event_query *q, arena *a, store_event **items,
                      size_t *n, int *has_more);
    int (*txn_event_snapshots)(store_txn *t, const char *account, const char *object_id,
                               int64_t since, arena *a, store_event **items, size_t *n);
    int (*txn_event_snapshot_set)(store_txn *t, const char *account, const char *id,
                                  const store_record *snapshot);
    int (*txn_events_prune)(store_txn *t, int64_t cutoff, int *n);

    int (*webhook_get)(store *st, const char *account, const char *id, arena *a,
                       store_webhook *out);
    int (*webhook_list)(store *st, const char *account, arena *a, store_webhook **items, size_t *n);
    int (*txn_webhook_get)(store_txn *t, const char *account, const char *id, arena *a,
                           store_webhook *out);
    int (*txn_webhook_candidates)(store_txn *t, const char *account, const char *platform, arena *a,
                                  store_webhook **items, size_t *n);
    int (*txn_webhook_insert)(store_txn *t, const store_webhook *w, int max);
    int (*txn_webhook_update)(store_txn *t, const store_webhook *w);
    int (*txn_webhook_delete)(store_txn *t, const char *account, const char *id);
    int (*txn_forward_set)(store_txn *t, const char *url, const char *new_secret, arena *a,
                           const char **secret);
    int (*txn_delivery_add)(store_txn *t, const store_event *e, const char *endpoint_id,
                            int64_t due_ms);
    int (*deliveries_due)(store *st, int64_t now_ms, int64_t after_seq, size_t max, arena *a,
                          store_delivery **items, size_t *n);
    int (*delivery_next_due)(store *st, int64_t after_ms, int64_t *out_ms);
    int (*txn_delivery_result)(store_txn *t, int64_t seq, const char *event_id, int ok,
                               int64_t next_ms);
    void (*set_outbox_hook)(store *st, store_outbox_hook fn, void *ctx);

    int (*report_get)(store *st, const char *account, const char *id, arena *a, store_record *out);
    int (*txn_report_get)(store_txn *t, const char *account, const char *id, arena *a,
                          store_record *out);
    int (*txn_report_insert)(store_txn *t, const store_report *r);
    int (*txn_report_update)(store_txn *t, const store_report *r);
    int (*txn_session_reports)(store_txn *t, const char *account, const char *session_id, arena *a,
                               store_report **items, size_t *n);
    int (*report_list)(store *st, const store_report_query *q, arena *a, store_record **items,
                       size_t *n, int *has_more);

    int (*txn_link_put)(store_txn *t, const void *key, size_t key_len, const char *account,
                        const char *session_id);
    int (*link_find)(store *st, const void *key, size_t key_len, arena *a, const char **account,
                     const char **session_id);
    int (*txn_outcome_set)(store_txn *t, const char *account, const char *id, int64_t due_ms);
    int (*txn_outcome_clear)(store_txn *t, const char *account, const char *id);
    int (*outcomes_due)(store *st, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                        const char ***ids, size_t *n);
    int (*txn_account_reset)(store_txn *t, const char *account, store_reset_counts *counts);

    int (*clock_list)(store *st, arena *a, const char ***accounts, int64_t **offsets_ms, size_t *n);
    int (*txn_clock_advance)(store_txn *t, const char *account, int64_t delta_ms,
                             int64_t *offset_ms);
    int (*txn_events_prune_account)(store_txn *t, const char *account, int64_t cutoff, int *n);
    int (*txn_idem_prune_account)(store_txn *t, const char *account, int64_t cutoff);

    int (*health)(store *st);
    int (*stats_get)(store *st, store_stats *out);
    int (*txn_attempt_add)(store_txn *t, const store_attempt *at);
    int (*attempt_list)(store *st, const char *account, size_t max, arena *a, store_attempt **items,
                        size_t *n);
} store__ops;

struct session_cache;
struct store__written;

struct store {
    const store__ops *ops;
    struct session_cache *cache; /* store.c's; NULL unless ops->cacheable */
};

struct store_txn {
    const store__ops *ops;
    store *st;
    /* store.c's: the session records the current batch wrote, for the cache. */
    struct store__written *written;
    size_t n_written, cap_written;
};

/* A backend's batch, as store.c's cache sees it. The backend calls, on the thread that runs the
 * batch: mark before each job, rollback_to(mark) when that job's changes were rolled back,
 * and end once the batch has committed (committed = 1) or failed (0), before any of its jobs'
 * done callbacks. free when the transaction object goes away. */
size_t store__txn_mark(const store_txn *t);
void store__txn_rollback_to(store_txn *t, size_t mark);
void store__txn_end(store_txn *t, int committed);
void store__txn_free(store_txn *t);

extern const store__ops store__sqlite_ops;
extern const store__ops store__postgres_ops;

#endif
