/*
 * app: the process context, one per running server, built by main.c and read by every layer
 * above the store: the store, the configuration that shapes answers, and the background workers
 * that handlers kick. It owns nothing itself; main.c creates and frees what it points at.
 *
 * Not for: per-request state (api_ctx in api.h) or anything a layer below the resources needs.
 */
#ifndef VERIFYD_APP_H
#define VERIFYD_APP_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct worker;
struct delivery;
struct api_keyring;
struct api_route;
struct fault_registry;
struct timer;

typedef struct app {
    struct store *st;
    const char *public_url; /* no trailing slash */
    int64_t redaction_delay_ms;
    int pretty_json;
    int log_level;              /* 0 error, 1 warn, 2 info, 3 debug */
    struct api_keyring *keys;   /* configured live / restricted keys; may be NULL */
    struct worker *redactor;    /* completes redactions (redactor.c) */
    int64_t hosted_delay_ms;    /* how long the hosted page's delayed outcomes stay processing */
    struct worker *outcomes;    /* completes delayed outcomes (outcomes.c); may be NULL */
    struct delivery *delivery;  /* the webhook worker (kicked when an endpoint is re-enabled) */
    int allow_private_webhooks; /* live endpoints may point at loopback / private addresses */
    const struct api_route *routes; /* the route table api_handle dispatches on (routes.c) */
    size_t n_routes;
    struct fault_registry *faults; /* the test control plane's fault rules (fault.h) */
    struct timer *timer;           /* parks requests that a latency rule delays (timer.h) */
    int fixtures; /* --fixtures: unknown test-mode ids answer with fixtures (fixtures.c) */
    /* The operator pages (/dashboard, /metrics; operator.c): open when verifyd listens on
     * loopback; with dashboard_key set (--dashboard-key) they need that key wherever it listens;
     * else, listening elsewhere, they are not served. */
    int listen_loopback;
    const char *dashboard_key;
} app;

#endif
