/*
 * delivery: the webhook delivery worker (CONTRACT.md §8, §11 "Events and webhooks"). One thread
 * drains the durable outbox that event_emit() fills in the event's own transaction: it POSTs
 * each due delivery's event JSON, signed afresh per attempt (webhook_sign.h), with libcurl's
 * multi interface over a bounded number of connections, and records every outcome through a store
 * job: success, or the next attempt's due time on the retry schedule, or failure once the
 * schedule is exhausted. API requests never wait for it: a commit that adds deliveries only
 * wakes it (the store's outbox hook).
 *
 * Restarts: an attempt cut short by a stop or a crash is not recorded, so its delivery is still
 * pending and is sent again after the next start (at least once, duplicates possible, as with
 * Stripe). The worker also prunes events older than 30 days (CONTRACT.md §8), hourly.
 *
 * Not for: choosing which endpoints get an event (the store's fan-out) or rendering (event.h).
 */
#ifndef VERIFYD_DELIVERY_H
#define VERIFYD_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct delivery delivery;

#define DELIVERY_SCHEDULE_MAX 32

typedef struct delivery_config {
    store *st;
    const char *public_url; /* base of the sessions' url in data.object; must outlive the worker */
    /* Delays before retry 1, 2, ... in ms (attempts = n + 1). n == 0: Stripe-like defaults, test
     * mode 3 retries over a few hours, live mode up to 3 days. */
    int64_t schedule_ms[DELIVERY_SCHEDULE_MAX];
    size_t n_schedule;
    int allow_private;   /* live endpoints may connect to loopback / private addresses */
    int max_connections; /* parallel attempts (0: 32; one endpoint gets at most half) */
    int64_t timeout_ms;  /* per attempt (0: 10 s) */
    /* The test control plane's webhook faults (fault.h), asked before each attempt to a
     * test-mode endpoint; NULL: none. Must outlive the worker. */
    struct fault_registry *faults;
} delivery_config;

/* Parse "1s,2s,4s" (each delay digits and one unit of ms, s, m, h, d; at most 30 days; at most
 * DELIVERY_SCHEDULE_MAX delays) into cfg's schedule. Returns 0, or -1 with *errmsg (this
 * thread's buffer, naming the bad delay) and cfg untouched. */
int delivery_parse_schedule(const char *s, delivery_config *cfg, const char **errmsg);

/* Start the worker (and install the store's outbox hook). Returns 0 and *out, or -1 with *errmsg
 * (static) when libcurl cannot be initialised. cfg is copied. */
int delivery_start(const delivery_config *cfg, delivery **out, const char **errmsg);
/* Wake the worker for a full read of the outbox: pending deliveries may have become
 * deliverable again (an endpoint was enabled or changed). Any thread. */
void delivery_kick(delivery *d);
/* An account's clock moved forward (CONTRACT.md §11 "Test control plane"): its retries now due
 * start, and the events now past their 30 days are pruned, without waiting for the hourly
 * prune. Any thread. */
void delivery_clock_moved(delivery *d);
/* Abort the attempts in flight (their deliveries stay pending), wait for the outcomes already
 * being recorded, remove the outbox hook, join the thread and free d. Call before store_close.
 * NULL is a no-op. */
void delivery_stop(delivery *d);

/* `verifyd --forward-to URL` (CONTRACT.md §11): enable the forward endpoint, which gets every
 * event of every account, with url; url NULL disables it (its pending deliveries wait for a
 * start with a url). The signing secret is created on first use and kept in the database, so it
 * stays the same across restarts; it is copied into secret (at least 48 bytes). Returns 0 or a
 * STORE_E* code. */
int delivery_set_forward(store *st, const char *url, char *secret, size_t secret_size);

/* For tests (STYLE.md §1, the __ tier): 1 when a live-mode endpoint may not connect to sa
 * (loopback, private, shared, link-local, unique-local, unspecified, or not IPv4/IPv6). */
struct sockaddr;
int delivery__private_address(const struct sockaddr *sa);

#endif
