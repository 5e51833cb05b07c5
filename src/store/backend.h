/*
 * store_backend: what a storage backend implements so that store.c can dispatch store.h to it.
 * Internal to the store module (the store__ tier, STYLE.md §1): handlers include store.h only.
 *
 * A backend defines its own store and transaction structs whose first member is the struct store
 * / struct store_txn below, so a pointer to either is a pointer to the backend's own object.
 * Each op has the contract of the store.h function of the same name.
 */
#ifndef VERIFYD_STORE_BACKEND_H
#define VERIFYD_STORE_BACKEND_H

#include "base/arena.h"
#include "store/store.h"

typedef struct store__ops {
    const char *name; /* for messages: "sqlite" */
    int (*open)(const store_config *cfg, store **out, const char **errmsg);
    void (*close)(store *st);

    int (*session_get)(store *st, const char *account, const char *id, arena *a, session *out);
    int (*session_list)(store *st, const store_session_query *q, arena *a, session **items,
                        size_t *n, int *has_more);
    int (*idem_get)(store *st, const char *account, const char *key, arena *a, store_idem *out);
    int (*redactions_due)(store *st, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                          const char ***ids, size_t *n);

    void (*submit)(store *st, store_job_fn fn, store_done_fn done, void *ctx);

    int (*txn_session_get)(store_txn *t, const char *account, const char *id, arena *a,
                           session *out);
    int (*txn_session_insert)(store_txn *t, const session *s);
    int (*txn_session_update)(store_txn *t, const session *s);
    int (*txn_event_insert)(store_txn *t, const store_event *e);
    int (*txn_idem_get)(store_txn *t, const char *account, const char *key, arena *a,
                        store_idem *out);
    int (*txn_idem_put)(store_txn *t, const char *account, const char *key, const store_idem *v);
    int (*txn_idem_prune)(store_txn *t, int64_t cutoff);
    int (*txn_redact_object)(store_txn *t, const char *account, const char *object_id);

    /* --- events & webhooks --- */
    int (*event_get)(store *st, const char *account, const char *id, arena *a, store_event *out);
    int (*event_list)(store *st, const store_event_query *q, arena *a, store_event **items,
                      size_t *n, int *has_more);
    int (*webhook_get)(store *st, const char *account, const char *id, arena *a,
                       store_webhook *out);
    int (*webhook_list)(store *st, const char *account, arena *a, store_webhook **items, size_t *n);
    int (*deliveries_due)(store *st, int64_t now_ms, int64_t after_seq, size_t max, arena *a,
                          store_delivery **items, size_t *n);
    int (*delivery_next_due)(store *st, int64_t after_ms, int64_t *out_ms);
    void (*set_outbox_hook)(store *st, store_outbox_hook fn, void *ctx);
    int (*busy)(store *st);
    int (*txn_outbox_add)(store_txn *t, const store_event *e, int64_t now_ms, int *n);
    int (*txn_delivery_result)(store_txn *t, int64_t seq, const char *event_id, int ok,
                               int64_t next_ms);
    int (*txn_webhook_get)(store_txn *t, const char *account, const char *id, arena *a,
                           store_webhook *out);
    int (*txn_webhook_count)(store_txn *t, const char *account, int *n);
    int (*txn_webhook_insert)(store_txn *t, const store_webhook *w);
    int (*txn_webhook_update)(store_txn *t, const store_webhook *w);
    int (*txn_webhook_delete)(store_txn *t, const char *account, const char *id);
    int (*txn_forward_set)(store_txn *t, const char *url, const char *new_secret, arena *a,
                           const char **secret);
    int (*txn_events_prune)(store_txn *t, int64_t cutoff, int *n);
    /* --- end events & webhooks --- */

    /* --- verification reports, hosted links, delayed outcomes --- */
    int (*report_get)(store *st, const char *account, const char *id, arena *a, struct report *out);
    int (*report_list)(store *st, const store_report_query *q, arena *a, struct report **items,
                       size_t *n, int *has_more);
    int (*link_find)(store *st, const char *token, arena *a, const char **account,
                     const char **session_id);
    int (*outcomes_due)(store *st, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                        const char ***ids, size_t *n);
    int (*txn_report_insert)(store_txn *t, const struct report *r);
    int (*txn_report_get)(store_txn *t, const char *account, const char *id, arena *a,
                          struct report *out);
    int (*txn_outcome_set)(store_txn *t, const char *account, const char *id, int64_t due_ms);
    int (*txn_outcome_clear)(store_txn *t, const char *account, const char *id);
} store__ops;

struct store {
    const store__ops *ops;
};

struct store_txn {
    const store__ops *ops;
};

extern const store__ops store__sqlite_ops;

/* SQLite backend, for tests: the SQL store_session_list prepares for one combination of filters
 * (a bitmask of STORE__LQ_* flags), written to out. Lets a test run EXPLAIN QUERY PLAN on every
 * combination. The created filters (eq, gt, gte, lt, lte) arrive folded into one closed interval
 * [lo, hi], either end of which may be open. */
enum {
    STORE__LQ_STATUS = 1 << 0,
    STORE__LQ_CLIENT_REF = 1 << 1,
    STORE__LQ_CUSTOMER = 1 << 2,
    STORE__LQ_CUSTOMER_ACCOUNT = 1 << 3,
    STORE__LQ_CREATED_LO = 1 << 4,
    STORE__LQ_CREATED_HI = 1 << 5,
    STORE__LQ_AFTER = 1 << 6,
    STORE__LQ_BEFORE = 1 << 7,
    STORE__LQ_COMBINATIONS = 1 << 8,
};
void store__sqlite_list_sql(unsigned mask, buf *out);
/* For tests: the SQL of schema migration i (0-based; it brings user_version from i to i + 1),
 * or NULL past the last. */
const char *store__sqlite_migration_sql(int i);

#endif
