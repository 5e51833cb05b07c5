/*
 * fault: the rule registry (see fault.h). One list per process under one mutex: rules are few
 * (FAULT_MAX_PER_ACCOUNT per account) and a request walks them once, so a list is enough.
 *
 * Draws: each rule has its own xorshift64* generator, seeded from its seed by splitmix64, so the
 * same seed and the same sequence of matching requests give the same outcomes.
 * Rate limit: a token bucket per rule that holds `rate` tokens and refills `rate` per second of
 * monotonic time, so a burst of `rate` requests passes and the rest of the second is limited.
 */
#include "identity/fault.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "base/util.h"
#include "identity/account.h"

typedef struct node {
    fault_rule rule; /* strings on the heap */
    uint64_t rng;
    double tokens;
    int64_t refilled_us;
    struct node *next;
} node;

struct fault_registry {
    pthread_mutex_t mu;
    node *head;
    /* How many rules exist, written under mu and read without it: every request and every
     * delivery asks, and with no rule at all (the usual case) the answer needs no lock. */
    _Atomic size_t n_rules;
};

fault_registry *fault_registry_new(void)
{
    fault_registry *r = xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void node_free(node *n)
{
    free((char *)n->rule.account);
    free((char *)n->rule.method);
    free((char *)n->rule.path);
    free((char *)n->rule.err_type);
    free((char *)n->rule.err_code);
    free((char *)n->rule.err_message);
    free((char *)n->rule.endpoint);
    free(n);
}

void fault_registry_free(fault_registry *r)
{
    if (!r) return;
    for (node *n = r->head; n;) {
        node *next = n->next;
        node_free(n);
        n = next;
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* The rule as a caller's copy, its strings in a. */
static void copy_out(const fault_rule *in, arena *a, fault_rule *out)
{
    *out = *in;
    out->account = arena_strdup(a, in->account);
#define DUP(f) out->f = in->f ? arena_strdup(a, in->f) : NULL
    DUP(method);
    DUP(path);
    DUP(err_type);
    DUP(err_code);
    DUP(err_message);
    DUP(endpoint);
#undef DUP
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

int fault_add(fault_registry *r, const fault_rule *rule, int has_seed, arena *a, fault_rule *out)
{
    node *n = xcalloc(1, sizeof *n);
    n->rule = *rule;
    ids_time_ordered(n->rule.id, sizeof n->rule.id, "flt_", IDS_OBJECT_LEN);
    n->rule.account = xstrdup(rule->account);
    n->rule.method = dup_or_null(rule->method);
    n->rule.path = dup_or_null(rule->path);
    n->rule.err_type = dup_or_null(rule->err_type);
    n->rule.err_code = dup_or_null(rule->err_code);
    n->rule.err_message = dup_or_null(rule->err_message);
    n->rule.endpoint = dup_or_null(rule->endpoint);
    n->rule.matched = 0;
    n->rule.applied = 0;
    n->rule.created = util_now();
    if (!has_seed) { /* a fresh seed, shown in the listing so that a run can be repeated */
        char tmp[16];
        ids_random(tmp, sizeof tmp, "", 12);
        uint64_t s = 0;
        for (const char *p = tmp; *p; p++)
            s = s * 131 + (unsigned char)*p;
        n->rule.seed = (int64_t)(s & 0x7fffffffffffffffull);
    }
    n->rng = splitmix64((uint64_t)n->rule.seed) | 1;
    n->tokens = rule->rate;
    n->refilled_us = util_mono_us();

    pthread_mutex_lock(&r->mu);
    size_t have = 0;
    node **tail = &r->head;
    for (; *tail; tail = &(*tail)->next)
        have += strcmp((*tail)->rule.account, rule->account) == 0;
    int rc = 0;
    if (have >= FAULT_MAX_PER_ACCOUNT) {
        rc = FAULT_ELIMIT;
    } else {
        *tail = n; /* appended: the list stays in creation order */
        r->n_rules++;
        copy_out(&n->rule, a, out);
    }
    pthread_mutex_unlock(&r->mu);
    if (rc != 0) node_free(n);
    return rc;
}

size_t fault_list(fault_registry *r, const char *account, arena *a, fault_rule **out)
{
    pthread_mutex_lock(&r->mu);
    size_t n = 0;
    for (node *p = r->head; p; p = p->next)
        n += strcmp(p->rule.account, account) == 0;
    *out = n ? arena_alloc(a, n * sizeof **out) : NULL;
    size_t i = 0;
    for (node *p = r->head; p; p = p->next)
        if (strcmp(p->rule.account, account) == 0) copy_out(&p->rule, a, &(*out)[i++]);
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* Remove the account's rules with the given id (every rule when id is NULL); returns how many. */
static size_t remove_where(fault_registry *r, const char *account, const char *id)
{
    size_t removed = 0;
    pthread_mutex_lock(&r->mu);
    for (node **p = &r->head; *p;) {
        node *n = *p;
        if (strcmp(n->rule.account, account) == 0 && (!id || strcmp(n->rule.id, id) == 0)) {
            *p = n->next;
            node_free(n);
            removed++;
            r->n_rules--;
        } else {
            p = &n->next;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return removed;
}

int fault_remove(fault_registry *r, const char *account, const char *id)
{
    return remove_where(r, account, id) ? 0 : FAULT_ENOTFOUND;
}

size_t fault_clear(fault_registry *r, const char *account)
{
    return remove_where(r, account, NULL);
}

/* ---- matching (called with mu held) ---- */

/* A uniform draw in [0, 1) from the rule's own generator (xorshift64*). */
static double draw(node *n)
{
    n->rng ^= n->rng >> 12;
    n->rng ^= n->rng << 25;
    n->rng ^= n->rng >> 27;
    return (double)((n->rng * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

static int path_matches(const char *pattern, const char *path)
{
    if (!pattern) return 1;
    size_t n = strlen(pattern);
    if (n > 0 && pattern[n - 1] == '*') return strncmp(pattern, path, n - 1) == 0;
    return strcmp(pattern, path) == 0;
}

/* Count a match of n and decide whether it applies now: its count is not used up and its
 * probability draw says yes. */
static int applies(node *n)
{
    n->rule.matched++;
    if (n->rule.count == 0) return 0;
    if (n->rule.probability < 1.0 && draw(n) >= n->rule.probability) return 0;
    if (n->rule.count > 0) n->rule.count--;
    n->rule.applied++;
    return 1;
}

/* The rate limiter's bucket: 1 when the request is over the limit. */
static int over_limit(node *n)
{
    int64_t now = util_mono_us();
    n->tokens += (double)(now - n->refilled_us) * n->rule.rate / 1e6;
    if (n->tokens > n->rule.rate) n->tokens = n->rule.rate;
    n->refilled_us = now;
    n->rule.matched++;
    if (n->tokens >= 1.0) {
        n->tokens -= 1.0;
        return 0;
    }
    n->rule.applied++;
    return 1;
}

static void verdict_error(const node *n, arena *a, fault_verdict *v)
{
    v->fail = 1;
    v->status = n->rule.status;
    v->err_type = arena_strdup(a, n->rule.err_type);
    v->err_code = n->rule.err_code ? arena_strdup(a, n->rule.err_code) : NULL;
    v->err_message = arena_strdup(a, n->rule.err_message);
    v->should_retry = n->rule.should_retry;
    memcpy(v->rule_id, n->rule.id, sizeof v->rule_id);
}

int fault_request(fault_registry *r, const char *account, const char *method, const char *path,
                  arena *a, fault_verdict *v)
{
    memset(v, 0, sizeof *v);
    if (r->n_rules == 0) return 0;
    /* Rules belong to the key's account: a request on behalf of a connected account meets the
     * platform's rules, as its key's limits are the platform's. */
    size_t plen = account_platform_len(account);
    pthread_mutex_lock(&r->mu);
    for (node *n = r->head; n; n = n->next) {
        const fault_rule *f = &n->rule;
        if (strlen(f->account) != plen || strncmp(f->account, account, plen) != 0) continue;
        if (f->kind == FAULT_WEBHOOK) continue;
        if (f->kind != FAULT_RATE_LIMIT &&
            ((f->method && strcmp(f->method, method) != 0) || !path_matches(f->path, path)))
            continue;
        if (f->kind == FAULT_RATE_LIMIT) {
            if (!v->fail && over_limit(n)) {
                verdict_error(n, a, v);
                v->rate_limited = 1;
            }
        } else if (f->kind == FAULT_ERROR) {
            if (!v->fail && applies(n)) verdict_error(n, a, v);
        } else if (v->latency_ms == 0 && applies(n)) {
            v->latency_ms = f->latency_ms;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return v->fail || v->latency_ms > 0;
}

int fault_webhook(fault_registry *r, const char *endpoint_id, fault_webhook_action *action,
                  int64_t *delay_ms)
{
    int hit = 0;
    if (r->n_rules == 0) return 0;
    pthread_mutex_lock(&r->mu);
    for (node *n = r->head; n && !hit; n = n->next) {
        if (n->rule.kind != FAULT_WEBHOOK || strcmp(n->rule.endpoint, endpoint_id) != 0) continue;
        if (applies(n)) {
            hit = 1;
            *action = n->rule.action;
            *delay_ms = n->rule.delay_ms;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return hit;
}
