/*
 * store: picks the backend named by store_config.url at store_open and forwards every store.h
 * call to it through its ops table (backend.h). What every backend needs alike is written once
 * here: store_run on top of submit, and the session cache.
 *
 * The cache protocol: a read that misses takes a ticket, reads the backend and offers what it
 * read (session_cache_fill keeps it only if no write reached the slot since the ticket). Every
 * session a job inserts or updates is remembered with its transaction (the record is the job's
 * own memory, valid until its done callback); when the backend reports the batch committed,
 * before any done callback, each goes into the cache, so an acknowledged write is what every
 * later read sees. Writes of a job that rolled back, or of a batch that failed, are forgotten.
 *
 * Not for: SQL, connections or threads; those belong to each backend (store/sqlite/,
 * store/postgres/).
 */
#include "store/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "store/backend.h"
#include "store/session_cache.h"

/* 64 Ki slots: at most that many session records in memory (a few tens of MiB). */
#define SESSION_CACHE_SLOTS_LOG2 16

int store_open(const store_config *cfg, store **out, const char **errmsg)
{
    *out = NULL;
    const char *url = cfg->url;
    const store__ops *ops = NULL;
    if (url == NULL || url[0] == '\0' || strcmp(url, "sqlite:") == 0) ops = &store__sqlite_ops;
    /* libpq's two URL schemes; the whole URL goes to libpq as it is. */
    if (url != NULL &&
        (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0))
        ops = &store__postgres_ops;
    if (ops == NULL) {
        *errmsg = "unsupported database url (sqlite: or postgres://...)";
        return STORE_EIO;
    }
    int rc = ops->open(cfg, out, errmsg);
    if (rc == 0 && ops->cacheable) (*out)->cache = session_cache_new(SESSION_CACHE_SLOTS_LOG2);
    return rc;
}

void store_close(store *st)
{
    if (st == NULL) return;
    session_cache *cache = st->cache;
    st->ops->close(st);
    if (cache != NULL) session_cache_free(cache);
}

/* ---- the session cache ---- */

/* account and id are copied (a job's session may live on its stack); the record is borrowed from
 * the job, valid until its done callback (store.h). id NULL: the whole account was reset, and
 * every cached session of it goes (store_txn_account_reset). */
typedef struct store__written {
    char *account, *id;
    store_record record;
} store__written;

int store_session_get(store *st, const char *account, const char *id, arena *a, store_record *out)
{
    uint64_t ticket;
    if (st->cache != NULL &&
        session_cache_get(st->cache, account, id, a, &out->data, &out->len, &ticket))
        return 0;
    int rc = st->ops->session_get(st, account, id, a, out);
    if (rc == 0 && st->cache != NULL)
        session_cache_fill(st->cache, account, id, out->data, out->len, ticket);
    return rc;
}

static void written_add(store_txn *t, const store_session *s)
{
    if (t->st->cache == NULL) return;
    if (t->n_written == t->cap_written) {
        t->cap_written = t->cap_written ? t->cap_written * 2 : 64;
        t->written = xrealloc(t->written, t->cap_written * sizeof *t->written);
    }
    t->written[t->n_written++] = (store__written){xstrdup(s->account), xstrdup(s->id), s->record};
}

int store_txn_session_insert(store_txn *t, const store_session *s)
{
    int rc = t->ops->txn_session_insert(t, s);
    if (rc == 0) written_add(t, s);
    return rc;
}

int store_txn_session_update(store_txn *t, const store_session *s, int if_status)
{
    int rc = t->ops->txn_session_update(t, s, if_status);
    if (rc == 0) written_add(t, s);
    return rc;
}

size_t store__txn_mark(const store_txn *t)
{
    return t->n_written;
}

void store__txn_rollback_to(store_txn *t, size_t mark)
{
    for (size_t i = mark; i < t->n_written; i++) {
        free(t->written[i].account);
        free(t->written[i].id);
    }
    if (mark < t->n_written) t->n_written = mark;
}

void store__txn_end(store_txn *t, int committed)
{
    for (size_t i = 0; committed && i < t->n_written; i++) {
        const store__written *w = &t->written[i];
        if (w->id == NULL)
            session_cache_drop_account(t->st->cache, w->account);
        else
            session_cache_put(t->st->cache, w->account, w->id, w->record.data, w->record.len);
    }
    store__txn_rollback_to(t, 0);
}

void store__txn_free(store_txn *t)
{
    free(t->written);
    t->written = NULL;
    t->n_written = t->cap_written = 0;
}

/* ---- store_run: submit, then wait for done ---- */

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

void store_submit(store *st, store_job_fn fn, store_done_fn done, void *ctx)
{
    st->ops->submit(st, fn, done, ctx);
}

/* ---- everything else goes straight to the backend ---- */

int store_busy(store *st)
{
    return st->ops->busy(st);
}

int store_scrub(store *st)
{
    return st->ops->scrub(st);
}

int store_txn_session_get(store_txn *t, const char *account, const char *id, arena *a,
                          store_record *out)
{
    return t->ops->txn_session_get(t, account, id, a, out);
}

int store_session_list(store *st, const store_session_query *q, arena *a, store_record **items,
                       size_t *n, int *has_more)
{
    return st->ops->session_list(st, q, a, items, n, has_more);
}

int store_redactions_due(store *st, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                         const char ***ids, size_t *n)
{
    return st->ops->redactions_due(st, now_ms, max, a, accounts, ids, n);
}

int store_idem_begin(store *st, const char *account, const char *key, arena *a, int *found,
                     store_idem *saved)
{
    return st->ops->idem_begin(st, account, key, a, found, saved);
}

void store_idem_end(store *st, const char *account, const char *key)
{
    st->ops->idem_end(st, account, key);
}

int store_idem_get(store *st, const char *account, const char *key, arena *a, store_idem *out)
{
    return st->ops->idem_get(st, account, key, a, out);
}

int store_txn_idem_put(store_txn *t, const char *account, const char *key, const store_idem *v,
                       int64_t replace_before, arena *a, store_idem *existing)
{
    return t->ops->txn_idem_put(t, account, key, v, replace_before, a, existing);
}

int store_txn_idem_prune(store_txn *t, int64_t cutoff)
{
    return t->ops->txn_idem_prune(t, cutoff);
}

int store_txn_idem_delete_object(store_txn *t, const char *account, const char *object_id)
{
    return t->ops->txn_idem_delete_object(t, account, object_id);
}

int store_txn_event_insert(store_txn *t, const store_event *e)
{
    return t->ops->txn_event_insert(t, e);
}

int store_event_get(store *st, const char *account, const char *id, arena *a, store_event *out)
{
    return st->ops->event_get(st, account, id, a, out);
}

int store_event_list(store *st, const store_event_query *q, arena *a, store_event **items,
                     size_t *n, int *has_more)
{
    return st->ops->event_list(st, q, a, items, n, has_more);
}

int store_txn_event_snapshots(store_txn *t, const char *account, const char *object_id,
                              int64_t since, arena *a, store_event **items, size_t *n)
{
    return t->ops->txn_event_snapshots(t, account, object_id, since, a, items, n);
}

int store_txn_event_snapshot_set(store_txn *t, const char *account, const char *id,
                                 const store_record *snapshot)
{
    return t->ops->txn_event_snapshot_set(t, account, id, snapshot);
}

int store_txn_events_prune(store_txn *t, int64_t cutoff, int *n)
{
    return t->ops->txn_events_prune(t, cutoff, n);
}

int store_webhook_get(store *st, const char *account, const char *id, arena *a, store_webhook *out)
{
    return st->ops->webhook_get(st, account, id, a, out);
}

int store_webhook_list(store *st, const char *account, arena *a, store_webhook **items, size_t *n)
{
    return st->ops->webhook_list(st, account, a, items, n);
}

int store_txn_webhook_get(store_txn *t, const char *account, const char *id, arena *a,
                          store_webhook *out)
{
    return t->ops->txn_webhook_get(t, account, id, a, out);
}

int store_txn_webhook_candidates(store_txn *t, const char *account, const char *platform, arena *a,
                                 store_webhook **items, size_t *n)
{
    return t->ops->txn_webhook_candidates(t, account, platform, a, items, n);
}

int store_txn_webhook_insert(store_txn *t, const store_webhook *w, int max)
{
    return t->ops->txn_webhook_insert(t, w, max);
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

int store_txn_delivery_add(store_txn *t, const store_event *e, const char *endpoint_id,
                           int64_t due_ms)
{
    return t->ops->txn_delivery_add(t, e, endpoint_id, due_ms);
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

int store_txn_delivery_result(store_txn *t, int64_t seq, const char *event_id, int ok,
                              int64_t next_ms)
{
    return t->ops->txn_delivery_result(t, seq, event_id, ok, next_ms);
}

void store_set_outbox_hook(store *st, store_outbox_hook fn, void *ctx)
{
    st->ops->set_outbox_hook(st, fn, ctx);
}

int store_report_get(store *st, const char *account, const char *id, arena *a, store_record *out)
{
    return st->ops->report_get(st, account, id, a, out);
}

int store_txn_report_get(store_txn *t, const char *account, const char *id, arena *a,
                         store_record *out)
{
    return t->ops->txn_report_get(t, account, id, a, out);
}

int store_txn_report_insert(store_txn *t, const store_report *r)
{
    return t->ops->txn_report_insert(t, r);
}

int store_txn_report_update(store_txn *t, const store_report *r)
{
    return t->ops->txn_report_update(t, r);
}

int store_txn_session_reports(store_txn *t, const char *account, const char *session_id, arena *a,
                              store_report **items, size_t *n)
{
    return t->ops->txn_session_reports(t, account, session_id, a, items, n);
}

int store_report_list(store *st, const store_report_query *q, arena *a, store_record **items,
                      size_t *n, int *has_more)
{
    return st->ops->report_list(st, q, a, items, n, has_more);
}

int store_txn_link_put(store_txn *t, const void *key, size_t key_len, const char *account,
                       const char *session_id)
{
    return t->ops->txn_link_put(t, key, key_len, account, session_id);
}

int store_link_find(store *st, const void *key, size_t key_len, arena *a, const char **account,
                    const char **session_id)
{
    return st->ops->link_find(st, key, key_len, a, account, session_id);
}

int store_txn_outcome_set(store_txn *t, const char *account, const char *id, int64_t due_ms)
{
    return t->ops->txn_outcome_set(t, account, id, due_ms);
}

int store_txn_outcome_clear(store_txn *t, const char *account, const char *id)
{
    return t->ops->txn_outcome_clear(t, account, id);
}

int store_outcomes_due(store *st, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                       const char ***ids, size_t *n)
{
    return st->ops->outcomes_due(st, now_ms, max, a, accounts, ids, n);
}

int store_txn_account_reset(store_txn *t, const char *account, store_reset_counts *counts)
{
    store_reset_counts unused;
    int rc = t->ops->txn_account_reset(t, account, counts != NULL ? counts : &unused);
    if (rc == 0 && t->st->cache != NULL) {
        /* In the order of the batch's writes: a session the same batch inserts after the reset
         * is cached again once the batch commits. */
        if (t->n_written == t->cap_written) {
            t->cap_written = t->cap_written ? t->cap_written * 2 : 64;
            t->written = xrealloc(t->written, t->cap_written * sizeof *t->written);
        }
        t->written[t->n_written++] = (store__written){xstrdup(account), NULL, {NULL, 0}};
    }
    return rc;
}

int store_clock_list(store *st, arena *a, const char ***accounts, int64_t **offsets_ms, size_t *n)
{
    return st->ops->clock_list(st, a, accounts, offsets_ms, n);
}

int store_txn_clock_advance(store_txn *t, const char *account, int64_t delta_ms, int64_t *offset_ms)
{
    return t->ops->txn_clock_advance(t, account, delta_ms, offset_ms);
}

int store_txn_events_prune_account(store_txn *t, const char *account, int64_t cutoff, int *n)
{
    return t->ops->txn_events_prune_account(t, account, cutoff, n);
}

int store_txn_idem_prune_account(store_txn *t, const char *account, int64_t cutoff)
{
    return t->ops->txn_idem_prune_account(t, account, cutoff);
}

int store_health(store *st)
{
    return st->ops->health(st);
}

int store_stats_get(store *st, store_stats *out)
{
    return st->ops->stats_get(st, out);
}

int store_txn_attempt_add(store_txn *t, const store_attempt *at)
{
    return t->ops->txn_attempt_add(t, at);
}

int store_attempt_list(store *st, const char *account, size_t max, arena *a, store_attempt **items,
                       size_t *n)
{
    return st->ops->attempt_list(st, account, max, a, items, n);
}
