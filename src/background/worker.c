/*
 * worker: the background thread loop and the batch walk over due items that the redactor and
 * the delayed outcomes share (see worker.h).
 */
#include "background/worker.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "base/log.h"
#include "base/util.h"

#define BATCH 256

struct worker {
    app *ap;
    worker_pass_fn pass;
    int poll_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_cond_t passed; /* broadcast after each pass */
    int kicked;
    int stopping;
    uint64_t asked;  /* passes asked for by worker_sync */
    uint64_t served; /* of those, how many a finished pass has covered */
};

int worker_run_due(app *ap, int64_t now_ms, worker_due_fn due, store_job_fn job,
                   worker_batch_fn after, const char *what)
{
    int total = 0;
    for (;;) {
        arena *a = arena_new();
        const char **accounts, **ids;
        size_t n = 0, ran = 0;
        int rc = due(ap->st, now_ms, BATCH, a, &accounts, &ids, &n);
        worker_item *items = n > 0 ? arena_alloc(a, n * sizeof *items) : NULL;
        for (; rc == 0 && ran < n; ran++) {
            worker_item *item = &items[ran];
            *item = (worker_item){accounts[ran], ids[ran], now_ms, a, 0};
            rc = store_run(ap->st, job, item);
            if (rc != 0)
                log_msg(LOG_ERROR, "msg=\"%s failed\" session=%s rc=%d", what, ids[ran], rc);
            total += item->done;
        }
        if (after != NULL && ran > 0) {
            int arc = after(ap, items, ran);
            if (arc != 0) log_msg(LOG_ERROR, "msg=\"%s failed\" rc=%d", what, arc);
            if (rc == 0) rc = arc;
        }
        arena_free(a);
        if (rc != 0) return rc;
        if (n < BATCH) return total;
    }
}

static void *run(void *arg)
{
    worker *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->stopping) {
        w->kicked = 0;
        uint64_t asked = w->asked; /* this pass starts after these requests */
        pthread_mutex_unlock(&w->lock);
        w->pass(w->ap, util_now_ms());
        pthread_mutex_lock(&w->lock);
        w->served = asked;
        pthread_cond_broadcast(&w->passed);
        if (w->kicked || w->stopping) continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (int64_t)w->poll_ms * 1000000;
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&w->cond, &w->lock, &ts);
    }
    w->served = w->asked; /* nothing more will run: release every waiter */
    pthread_cond_broadcast(&w->passed);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

worker *worker_start(app *ap, worker_pass_fn pass, int poll_ms)
{
    worker *w = xcalloc(1, sizeof *w);
    w->ap = ap;
    w->pass = pass;
    w->poll_ms = poll_ms;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    pthread_cond_init(&w->passed, NULL);
    if (pthread_create(&w->thread, NULL, run, w) != 0) abort();
    return w;
}

void worker_kick(worker *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->lock);
    w->kicked = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

void worker_sync(worker *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->lock);
    uint64_t mine = ++w->asked;
    w->kicked = 1;
    pthread_cond_signal(&w->cond);
    while (w->served < mine && !w->stopping)
        pthread_cond_wait(&w->passed, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

void worker_stop(worker *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    pthread_cond_destroy(&w->passed);
    free(w);
}
