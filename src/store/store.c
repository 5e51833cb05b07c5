/*
 * store: picks the backend named by store_config.url at store_open and forwards every store.h
 * call to it through its ops table (store/backend.h). store_run, which only needs submit, is
 * written once here for every backend.
 *
 * Not for: SQL, connections or threads; those belong to each backend (store/sqlite/sqlite.c).
 */
#include "store/store.h"

#include <pthread.h>
#include <string.h>

#include "store/backend.h"

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

int store_session_get(store *st, const char *account, const char *id, arena *a, session *out)
{
    return st->ops->session_get(st, account, id, a, out);
}

int store_session_list(store *st, const store_session_query *q, arena *a, session **items,
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

int store_txn_session_get(store_txn *t, const char *account, const char *id, arena *a, session *out)
{
    return t->ops->txn_session_get(t, account, id, a, out);
}

int store_txn_session_insert(store_txn *t, const session *s)
{
    return t->ops->txn_session_insert(t, s);
}

int store_txn_session_update(store_txn *t, const session *s)
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

/* --- events & webhooks --- */

int store_event_get(store *st, const char *account, const char *id, arena *a, store_event *out)
{
    return st->ops->event_get(st, account, id, a, out);
}

int store_event_list(store *st, const store_event_query *q, arena *a, store_event **items,
                     size_t *n, int *has_more)
{
    return st->ops->event_list(st, q, a, items, n, has_more);
}

int store_webhook_get(store *st, const char *account, const char *id, arena *a, store_webhook *out)
{
    return st->ops->webhook_get(st, account, id, a, out);
}

int store_webhook_list(store *st, const char *account, arena *a, store_webhook **items, size_t *n)
{
    return st->ops->webhook_list(st, account, a, items, n);
}

int store_deliveries_due(store *st, int64_t now_ms, int64_t after_seq, size_t max, arena *a,
                         store_delivery **items, size_t *n)
{
    return st->ops->deliveries_due(st, now_ms, after_seq, max, a, items, n);
}

int store_delivery_next_due(store *st, int64_t after_ms, int64_t *out_ms)
{
    return st->ops->delivery_next_due(st, after_ms, out_ms);
}

int store_busy(store *st)
{
    return st->ops->busy(st);
}

void store_set_outbox_hook(store *st, store_outbox_hook fn, void *ctx)
{
    st->ops->set_outbox_hook(st, fn, ctx);
}

int store_txn_outbox_add(store_txn *t, const store_event *e, int64_t now_ms, int *n)
{
    return t->ops->txn_outbox_add(t, e, now_ms, n);
}

int store_txn_delivery_result(store_txn *t, int64_t seq, const char *event_id, int ok,
                              int64_t next_ms)
{
    return t->ops->txn_delivery_result(t, seq, event_id, ok, next_ms);
}

int store_txn_webhook_get(store_txn *t, const char *account, const char *id, arena *a,
                          store_webhook *out)
{
    return t->ops->txn_webhook_get(t, account, id, a, out);
}

int store_txn_webhook_count(store_txn *t, const char *account, int *n)
{
    return t->ops->txn_webhook_count(t, account, n);
}

int store_txn_webhook_insert(store_txn *t, const store_webhook *w)
{
    return t->ops->txn_webhook_insert(t, w);
}

int store_txn_webhook_update(store_txn *t, const store_webhook *w)
{
    return t->ops->txn_webhook_update(t, w);
}

int store_txn_webhook_delete(store_txn *t, const char *account, const char *id)
{
    return t->ops->txn_webhook_delete(t, account, id);
}

int store_txn_forward_set(store_txn *t, const char *url, const char *new_secret, arena *a,
                          const char **secret)
{
    return t->ops->txn_forward_set(t, url, new_secret, a, secret);
}

int store_txn_events_prune(store_txn *t, int64_t cutoff, int *n)
{
    return t->ops->txn_events_prune(t, cutoff, n);
}
/* --- end events & webhooks --- */

/* --- verification reports, hosted links, delayed outcomes --- */
int store_report_get(store *st, const char *account, const char *id, arena *a, struct report *out)
{
    return st->ops->report_get(st, account, id, a, out);
}

int store_report_list(store *st, const store_report_query *q, arena *a, struct report **items,
                      size_t *n, int *has_more)
{
    return st->ops->report_list(st, q, a, items, n, has_more);
}

int store_link_find(store *st, const char *token, arena *a, const char **account,
                    const char **session_id)
{
    return st->ops->link_find(st, token, a, account, session_id);
}

int store_outcomes_due(store *st, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                       const char ***ids, size_t *n)
{
    return st->ops->outcomes_due(st, now_ms, max, a, accounts, ids, n);
}

int store_txn_report_insert(store_txn *t, const struct report *r)
{
    return t->ops->txn_report_insert(t, r);
}

int store_txn_report_get(store_txn *t, const char *account, const char *id, arena *a,
                         struct report *out)
{
    return t->ops->txn_report_get(t, account, id, a, out);
}

int store_txn_outcome_set(store_txn *t, const char *account, const char *id, int64_t due_ms)
{
    return t->ops->txn_outcome_set(t, account, id, due_ms);
}

int store_txn_outcome_clear(store_txn *t, const char *account, const char *id)
{
    return t->ops->txn_outcome_clear(t, account, id);
}
