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

#include "arena.h"
#include "store.h"

typedef struct store__ops {
    const char *name; /* for messages: "sqlite" */
    int (*open)(const store_config *cfg, store **out, const char **errmsg);
    void (*close)(store *st);

    int (*session_get)(store *st, const char *account, const char *id, arena *a, vs_session *out);
    int (*session_list)(store *st, const store_session_query *q, arena *a, vs_session **items,
                        size_t *n, int *has_more);
    int (*idem_get)(store *st, const char *account, const char *key, arena *a, store_idem *out);
    int (*redactions_due)(store *st, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                          const char ***ids, size_t *n);

    void (*submit)(store *st, store_job_fn fn, store_done_fn done, void *ctx);

    int (*txn_session_get)(store_txn *t, const char *account, const char *id, arena *a,
                           vs_session *out);
    int (*txn_session_insert)(store_txn *t, const vs_session *s);
    int (*txn_session_update)(store_txn *t, const vs_session *s);
    int (*txn_event_insert)(store_txn *t, const store_event *e);
    int (*txn_idem_get)(store_txn *t, const char *account, const char *key, arena *a,
                        store_idem *out);
    int (*txn_idem_put)(store_txn *t, const char *account, const char *key, const store_idem *v);
    int (*txn_idem_prune)(store_txn *t, int64_t cutoff);
    int (*txn_redact_object)(store_txn *t, const char *account, const char *object_id);
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

#endif
