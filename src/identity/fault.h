/*
 * fault: the test team's fault rules (CONTRACT.md §11 "Test control plane", `faults`), kept in
 * this process's memory, per account. A rule either answers matching API requests with an
 * error (kind error), delays them (kind latency), enforces Stripe's test-mode rate limit (kind
 * rate_limit), or upsets the webhook deliveries of one endpoint (kind webhook: fail, delay or
 * duplicate). The API layer asks fault_request before a handler runs; the delivery worker asks
 * fault_webhook before each attempt.
 *
 * Rules are not stored: a restart forgets them (a fault is a property of one test run, and a
 * forgotten fault fails safe). All functions are thread-safe (one mutex per registry).
 *
 * Not for: answering the request (api/fault_gate.c) or sending webhooks (delivery.c).
 */
#ifndef VERIFYD_FAULT_H
#define VERIFYD_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

/* At most this many rules per account; one more is the handler's 400. */
#define FAULT_MAX_PER_ACCOUNT 32
/* Stripe's test-mode (sandbox) rate limit: 25 requests per second (docs.stripe.com/rate-limits). */
#define FAULT_TEST_RATE 25
#define FAULT_PATH_MAX 512

enum { FAULT_ELIMIT = -1, FAULT_ENOTFOUND = -2 };

typedef enum { FAULT_ERROR, FAULT_LATENCY, FAULT_RATE_LIMIT, FAULT_WEBHOOK } fault_kind;
typedef enum { FAULT_WH_FAIL, FAULT_WH_DELAY, FAULT_WH_DUPLICATE } fault_webhook_action;

/* One rule. Strings are owned by whoever holds the copy: the registry (heap) or a caller's
 * snapshot (arena). */
typedef struct fault_rule {
    char id[40];         /* flt_… */
    const char *account; /* the API key's account (a platform's, never a connected one) */
    fault_kind kind;
    const char *method;   /* NULL: any method */
    const char *path;     /* NULL: any path; "…*" a prefix; else exact */
    int64_t count;        /* -1: every match; else the number of matches it still applies to */
    int64_t count_given;  /* count as created (-1: none) */
    double probability;   /* 0 < p <= 1: the share of matches it applies to */
    int64_t seed;         /* the seed of its draws (random when not given) */
    int status;           /* error, rate_limit: the HTTP status */
    const char *err_type; /* error: the Stripe error's type, code (NULL: none) and message */
    const char *err_code;
    const char *err_message;
    int should_retry;     /* -1: the default for the status; 0/1: Stripe-Should-Retry false/true */
    int64_t latency_ms;   /* latency */
    int rate;             /* rate_limit: requests per second */
    const char *endpoint; /* webhook: we_… or ed_… */
    fault_webhook_action action;
    int64_t delay_ms; /* webhook delay */
    int64_t created;  /* unix seconds */
    int64_t matched;  /* requests or deliveries it matched */
    int64_t applied;  /* ...and acted on (failed, delayed, limited, duplicated) */
} fault_rule;

typedef struct fault_registry fault_registry;

/* A new, empty registry; free with fault_registry_free (NULL is a no-op). Never fails. */
fault_registry *fault_registry_new(void);
void fault_registry_free(fault_registry *r);

/* Add a copy of *rule (id, matched, applied and the draw state are set here; a given seed
 * makes its draws repeatable). Returns 0 with the stored copy in *out (strings in a), or
 * FAULT_ELIMIT when the account has FAULT_MAX_PER_ACCOUNT rules, nothing added. */
int fault_add(fault_registry *r, const fault_rule *rule, int has_seed, arena *a, fault_rule *out);
/* The account's rules, oldest first, copied into a (*out NULL when none). Returns the count. */
size_t fault_list(fault_registry *r, const char *account, arena *a, fault_rule **out);
/* Remove one rule of the account: 0, or FAULT_ENOTFOUND. */
int fault_remove(fault_registry *r, const char *account, const char *id);
/* Remove every rule of the account; returns how many. */
size_t fault_clear(fault_registry *r, const char *account);

/* What the rules make of one API request. */
typedef struct fault_verdict {
    int64_t latency_ms; /* wait this long first (0: none) */
    int fail;           /* then answer with this error instead of running the handler */
    int rate_limited;   /* the error is the rate limiter's */
    int status;
    const char *err_type, *err_code, *err_message; /* in a; code may be NULL */
    int should_retry;                              /* -1, 0, 1 as in fault_rule */
    char rule_id[40];
} fault_verdict;
/* Match a request of account (method, path) against its rules, in the order they were made,
 * and count it: the first rate limiter or error rule that applies decides the error, and the
 * first latency rule that applies the latency. *v is all zero when nothing applies. Returns 1 when
 * something does. */
int fault_request(fault_registry *r, const char *account, const char *method, const char *path,
                  arena *a, fault_verdict *v);

/* What the rules make of one delivery attempt to endpoint_id: 0 when nothing applies, else 1
 * with *action (and *delay_ms for a delay). The first rule for the endpoint that applies
 * decides. */
int fault_webhook(fault_registry *r, const char *endpoint_id, fault_webhook_action *action,
                  int64_t *delay_ms);

#endif
