/*
 * worker: a background thread for work that falls due at times stored in the database
 * (redactions, delayed verification outcomes). Because the due times are durable, work due
 * before a crash is done after the restart.
 *
 * A worker runs its pass once at start, whenever it is kicked, and otherwise every poll
 * interval. Not for: delivering webhooks (delivery.c has its own libcurl loop).
 */
#ifndef VERIFYD_WORKER_H
#define VERIFYD_WORKER_H

#include <stdint.h>

#include "app.h"
#include "store/store.h"

typedef struct worker worker;

/* One pass over what is due at now_ms. Returns how much was done, or a STORE_E* code. */
typedef int (*worker_pass_fn)(app *ap, int64_t now_ms);

/* Start the thread. Never fails (thread creation failure aborts). */
worker *worker_start(app *ap, worker_pass_fn pass, int poll_ms);
/* Run a pass soon: work was just made due. Any thread; w may be NULL. */
void worker_kick(worker *w);
/* Run a pass and wait until it has finished: everything due when this was called is done
 * (or failed and was logged) on return. Returns at once when the worker is stopping. Never call
 * it from the store's writer thread (a pass waits for store jobs). w may be NULL. */
void worker_sync(worker *w);
/* Stop and join; w may be NULL. What is still due is done after the next start. */
void worker_stop(worker *w);

/* An item that is due, as a store job sees it (its ctx). The job sets done when it completed
 * the item; a is the pass's scratch arena. */
typedef struct worker_item {
    const char *account;
    const char *id;
    int64_t now_ms;
    arena *a;
    int done;
} worker_item;

/* How a pass finds its items: up to max of them, as parallel arrays in a. */
typedef int (*worker_due_fn)(store *st, int64_t now_ms, size_t max, arena *a,
                             const char ***accounts, const char ***ids, size_t *n);

/* Called after each batch with its items, once their jobs have returned (done set by them).
 * Returns 0 or a STORE_E* code. */
typedef int (*worker_batch_fn)(app *ap, worker_item *items, size_t n);

/* List what is due in batches and run job on each item, each in its own store job, then after
 * (may be NULL) on the batch. Returns the number of items done, or the first STORE_E* code
 * (logged with what). */
int worker_run_due(app *ap, int64_t now_ms, worker_due_fn due, store_job_fn job,
                   worker_batch_fn after, const char *what);

#endif
