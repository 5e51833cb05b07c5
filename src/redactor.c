/*
 * redactor: completes requested redactions in the background (see redactor.h). One thread; it
 * sleeps until kicked or until the next poll (1 s), then completes every redaction that is due,
 * each in its own store job together with its `redacted` event. Once a minute it also prunes
 * idempotency keys older than 24 h.
 */
#include "redactor.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "events.h"
#include "log.h"
#include "util.h"

#define BATCH 256
#define HOUSEKEEPING_EVERY_MS (60 * 1000)
#define IDEM_TTL_S (24 * 3600) /* CONTRACT.md §1: keys may be pruned once 24 h old */

struct redactor {
    app *ap;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int kicked;
    int stopping;
};

typedef struct complete_job {
    const char *account;
    const char *id;
    int64_t now_ms;
    arena *a;
    int done;
} complete_job;

static int complete_one(store_txn *t, void *arg)
{
    complete_job *j = arg;
    vs_session s;
    int rc = store_txn_session_get(t, j->account, j->id, j->a, &s);
    if (rc == STORE_NOT_FOUND) return 0;
    if (rc != 0) return rc;
    if (s.redaction != VS_REDACTION_PROCESSING || s.redaction_due > j->now_ms)
        return 0; /* completed meanwhile, or not due */
    vs_redact(&s);
    s.redaction = VS_REDACTION_REDACTED;
    rc = store_txn_session_update(t, &s);
    if (rc == 0) rc = store_txn_redact_object(t, s.account, s.id);
    if (rc == 0) rc = events_emit(t, j->a, &s, EVT_REDACTED, NULL, NULL);
    j->done = rc == 0;
    return rc;
}

int redactor_run_once(app *ap, int64_t now_ms)
{
    int total = 0;
    for (;;) {
        arena *a = arena_new();
        const char **accounts, **ids;
        size_t n = 0;
        int rc = store_redactions_due(ap->st, now_ms, BATCH, a, &accounts, &ids, &n);
        if (rc != 0) {
            arena_free(a);
            return rc;
        }
        for (size_t i = 0; i < n; i++) {
            complete_job j = {accounts[i], ids[i], now_ms, a, 0};
            rc = store_run(ap->st, complete_one, &j);
            if (rc != 0) {
                log_msg(LOG_ERROR, "msg=\"redaction failed\" session=%s rc=%d", ids[i], rc);
                arena_free(a);
                return rc;
            }
            total += j.done;
        }
        arena_free(a);
        if (n < BATCH) return total;
    }
}

static int prune_idempotency(store_txn *t, void *arg)
{
    (void)arg;
    return store_txn_idem_prune(t, util_now() - IDEM_TTL_S);
}

static void *run(void *arg)
{
    redactor *r = arg;
    int64_t next_housekeeping = 0;
    pthread_mutex_lock(&r->lock);
    while (!r->stopping) {
        r->kicked = 0;
        pthread_mutex_unlock(&r->lock);
        redactor_run_once(r->ap, util_now_ms());
        if (util_now_ms() >= next_housekeeping) {
            if (store_run(r->ap->st, prune_idempotency, NULL) != 0)
                log_msg(LOG_ERROR, "msg=\"pruning idempotency keys failed\"");
            next_housekeeping = util_now_ms() + HOUSEKEEPING_EVERY_MS;
        }
        pthread_mutex_lock(&r->lock);
        if (r->kicked || r->stopping) continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&r->cond, &r->lock, &ts);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

redactor *redactor_start(app *ap)
{
    redactor *r = xcalloc(1, sizeof *r);
    r->ap = ap;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    if (pthread_create(&r->thread, NULL, run, r) != 0) abort();
    return r;
}

void redactor_kick(redactor *r)
{
    pthread_mutex_lock(&r->lock);
    r->kicked = 1;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

void redactor_stop(redactor *r)
{
    pthread_mutex_lock(&r->lock);
    r->stopping = 1;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r);
}
