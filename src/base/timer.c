/*
 * timer: a list of callbacks sorted by due time and one thread that sleeps on a condition
 * variable (CLOCK_MONOTONIC) until the first is due. Callbacks run without the lock held.
 */
#include "base/timer.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "base/util.h"

typedef struct item {
    int64_t due_us;
    void (*fn)(void *);
    void *arg;
    struct item *next;
} item;

struct timer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    item *head; /* sorted by due_us */
    int stopping;
};

static void *run(void *arg)
{
    timer *t = arg;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        int64_t now = util_mono_us();
        if (t->head && (t->head->due_us <= now || t->stopping)) {
            item *it = t->head;
            t->head = it->next;
            pthread_mutex_unlock(&t->mu);
            it->fn(it->arg);
            free(it);
            pthread_mutex_lock(&t->mu);
            continue;
        }
        if (t->stopping) break;
        if (!t->head) {
            pthread_cond_wait(&t->cv, &t->mu);
        } else {
            /* util_mono_us reads CLOCK_MONOTONIC, the condition variable's clock. */
            int64_t due = t->head->due_us;
            struct timespec ts = {.tv_sec = due / 1000000, .tv_nsec = (due % 1000000) * 1000};
            pthread_cond_timedwait(&t->cv, &t->mu, &ts);
        }
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

timer *timer_start(void)
{
    timer *t = xcalloc(1, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&t->thread, NULL, run, t) != 0) abort();
    return t;
}

void timer_after(timer *t, int64_t ms, void (*fn)(void *), void *arg)
{
    item *it = xcalloc(1, sizeof *it);
    it->due_us = util_mono_us() + (ms > 0 ? ms * 1000 : 0);
    it->fn = fn;
    it->arg = arg;
    pthread_mutex_lock(&t->mu);
    item **p = &t->head;
    while (*p && (*p)->due_us <= it->due_us)
        p = &(*p)->next;
    it->next = *p;
    *p = it;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

void timer_stop(timer *t)
{
    if (!t) return;
    pthread_mutex_lock(&t->mu);
    t->stopping = 1;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
