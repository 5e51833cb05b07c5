/*
 * store: picks the backend named by store_config.url at store_open and forwards every store.h
 * call to it through its ops table (store_backend.h). store_run, which only needs submit, is
 * written once here for every backend.
 *
 * Not for: SQL, connections or threads; those belong to each backend (store_sqlite.c).
 */
#include "store.h"

#include <pthread.h>
#include <string.h>

#include "store_backend.h"

int store_open(const store_config *cfg, store **out, const char **errmsg)
{
    *out = NULL;
    const char *url = cfg->url;
    if (url == NULL || url[0] == '\0' || strcmp(url, "sqlite:") == 0)
        return store__sqlite_ops.open(cfg, out, errmsg);
    *errmsg = "unsupported database url (only sqlite: is built in)";
    return STORE_EIO;
}

void store_close(store *st)
{
    if (st != NULL) st->ops->close(st);
}

int store_session_get(store *st, const char *account, const char *id, arena *a, vs_session *out)
{
    return st->ops->session_get(st, account, id, a, out);
}

int store_session_list(store *st, const store_session_query *q, arena *a, vs_session **items,
                       size_t *n, int *has_more)
{
    return st->ops->session_list(st, q, a, items, n, has_more);
}

int store_idem_get(store *st, const char *account, const char *key, arena *a, store_idem *out)
{
    return st->ops->idem_get(st, account, key, a, out);
}

int store_redactions_due(store *st, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                         const char ***ids, size_t *n)
{
    return st->ops->redactions_due(st, now_ms, max, a, accounts, ids, n);
}

void store_submit(store *st, store_job_fn fn, store_done_fn done, void *ctx)
{
    st->ops->submit(st, fn, done, ctx);
}

/* store_run's rendezvous with the writer: lives on the caller's stack until done has signalled. */
typedef struct run_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int finished;
    int rc;
    store_job_fn fn;
    void *ctx;
} run_wait;

static int run_job(store_txn *t, void *ctx)
{
    run_wait *w = ctx;
    return w->fn(t, w->ctx);
}

static void run_done(void *ctx, int rc)
{
    run_wait *w = ctx;
    pthread_mutex_lock(&w->mu);
    w->rc = rc;
    w->finished = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int store_run(store *st, store_job_fn fn, void *ctx)
{
    run_wait w = {.finished = 0, .rc = 0, .fn = fn, .ctx = ctx};
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    st->ops->submit(st, run_job, run_done, &w);
    pthread_mutex_lock(&w.mu);
    while (!w.finished)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return w.rc;
}

int store_txn_session_get(store_txn *t, const char *account, const char *id, arena *a,
                          vs_session *out)
{
    return t->ops->txn_session_get(t, account, id, a, out);
}

int store_txn_session_insert(store_txn *t, const vs_session *s)
{
    return t->ops->txn_session_insert(t, s);
}

int store_txn_session_update(store_txn *t, const vs_session *s)
{
    return t->ops->txn_session_update(t, s);
}

int store_txn_event_insert(store_txn *t, const store_event *e)
{
    return t->ops->txn_event_insert(t, e);
}

int store_txn_idem_get(store_txn *t, const char *account, const char *key, arena *a,
                       store_idem *out)
{
    return t->ops->txn_idem_get(t, account, key, a, out);
}

int store_txn_idem_put(store_txn *t, const char *account, const char *key, const store_idem *v)
{
    return t->ops->txn_idem_put(t, account, key, v);
}

int store_txn_idem_prune(store_txn *t, int64_t cutoff)
{
    return t->ops->txn_idem_prune(t, cutoff);
}

int store_txn_redact_object(store_txn *t, const char *account, const char *object_id)
{
    return t->ops->txn_redact_object(t, account, object_id);
}
