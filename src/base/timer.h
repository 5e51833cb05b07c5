/*
 * timer: one thread that runs callbacks after a delay of monotonic time, for work that must
 * wait without holding the thread it came from (a fault rule's latency parks a request this
 * way, while the HTTP threads go on serving).
 *
 * Not for: durable due times (those live in the database: background/worker.h) or the test
 * clock (a delay is real time).
 */
#ifndef VERIFYD_TIMER_H
#define VERIFYD_TIMER_H

#include <stdint.h>

typedef struct timer timer;

/* Start the thread. Never fails (thread creation failure aborts). */
timer *timer_start(void);
/* Run fn(arg) on the timer's thread once ms have passed (at once for ms <= 0). fn must not
 * block for long: later callbacks wait for it. Any thread. */
void timer_after(timer *t, int64_t ms, void (*fn)(void *), void *arg);
/* Run every callback still waiting, now, then join the thread and free t. NULL is a no-op. */
void timer_stop(timer *t);

#endif
