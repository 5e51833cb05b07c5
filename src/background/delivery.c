/*
 * delivery: the webhook worker thread (see delivery.h). Its loop:
 *
 *   1. when there is a free connection and something may be due (a kick, a finished attempt, or
 *      the next due time reached), read up to FETCH due deliveries and start an attempt for each
 *      one not already in flight, at most PER_ENDPOINT at once per endpoint, so one dead receiver
 *      cannot take every connection;
 *   2. drive the transfers (curl_multi_perform) and hand each finished one to a store job that
 *      records its outcome;
 *   3. sleep in curl_multi_poll until a socket is ready, the next due time comes, or a kick
 *      (curl_multi_wakeup) arrives.
 *
 * An attempt stays in the in-flight list from its start until the job recording its outcome has
 * committed (that job's done callback removes and frees it), so a read of the outbox taken before
 * that commit can never start it twice. The list is under mu, which the worker also holds across
 * the read of due deliveries for the same reason.
 *
 * Not for: deciding which endpoints get an event (store fan-out) or rendering (event.c).
 */
#include "background/delivery.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "identity/event.h"
#include "identity/fault.h"
#include "identity/account_clock.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"
#include "identity/limits.h"
#include "identity/thin_event.h"
#include "identity/webhook_sign.h"

#define DEFAULT_MAX_CONNECTIONS 32
#define DEFAULT_TIMEOUT_MS 10000
#define FETCH 256
#define IDLE_RECHECK_MS 60000
#define FILL_GAP_MS 2
/* The gap while the API keeps the store's writer busy (store_busy): deliveries are background
 * work and yield the CPU to requests, down to a floor of one read of the outbox (up to
 * max_connections attempts) per BUSY_FILL_GAP_MS; the backlog drains once requests slacken. */
#define BUSY_FILL_GAP_MS 25
#define PRUNE_EVERY_MS (3600 * 1000LL)
/* How much of a receiver's answer the attempt log keeps (the dashboard's summary). */
#define ATTEMPT_RESPONSE_MAX 200

/* Stripe: CONTRACT.md §8 "Retries", test mode "three times over a few hours", live mode "up to
 * 3 days with an exponential back off"; the exact intervals are not published. */
static const int64_t TEST_SCHEDULE[] = {10 * 60000LL, 60 * 60000LL, 180 * 60000LL};
static const int64_t LIVE_SCHEDULE[] = {5 * 60000LL,   30 * 60000LL,  60 * 60000LL,  120 * 60000LL,
                                        300 * 60000LL, 600 * 60000LL, 600 * 60000LL, 600 * 60000LL,
                                        600 * 60000LL, 600 * 60000LL, 600 * 60000LL};

/* One attempt: owned by the worker while its transfer runs, then by the job recording it, whose
 * done callback frees it. */
typedef struct attempt {
    delivery *d;
    CURL *easy;
    struct curl_slist *headers;
    int64_t seq;
    char *event_id;
    char *endpoint_id;
    char *account;            /* the event's: for the attempt log (url, below, too) */
    int64_t sent_ms, sent_us; /* when the transfer started: wall clock, monotonic */
    long status;              /* the answer's HTTP status, 0 when none came */
    int64_t latency_ms;
    char response[ATTEMPT_RESPONSE_MAX + 1]; /* the start of the answer, printable ASCII */
    size_t response_len;
    int attempts; /* made before this one */
    int livemode;
    int active; /* its transfer is running (counts against max_connections) */
    buf body;   /* heap */
    char *url;  /* heap, as are secret: each transfer (a duplicate's too) is signed afresh */
    char *secret;
    int public_only; /* a live endpoint: no loopback or private addresses */
    /* Webhook fault rules (fault.h): a copy still to send after this transfer, and a hold
     * (monotonic us) before the first transfer starts. */
    int dup_left;
    int held;
    int64_t hold_until_us;
    char errbuf[CURL_ERROR_SIZE];
    /* outcome */
    int ok;
    int64_t next_ms;       /* next due time, or -1: give up */
    struct attempt *next;  /* in the in-flight list */
    struct attempt *bnext; /* in the batch of outcomes recorded by one job */
} attempt;

struct delivery {
    delivery_config cfg;
    CURLM *multi;
    pthread_t thread;
    atomic_int stopping;
    atomic_int kicked;      /* a kick or a recorded outcome since the last read of the outbox */
    atomic_int kicked_full; /* ...one that needs a full read (a retry, an endpoint change) */
    atomic_int prune_asked; /* an account's clock moved: prune its old events now */

    pthread_mutex_t mu;  /* guards the fields below */
    pthread_cond_t cv;   /* signalled when jobs reaches 0 */
    attempt *inflight;   /* every attempt not yet recorded */
    int active;          /* transfers running */
    int jobs;            /* outcome jobs submitted, not yet done */
    int64_t started_seq; /* every pending due delivery up to this outbox position is started */
    uint64_t rng;
};

/* ---- configuration ---- */

int delivery_parse_schedule(const char *s, delivery_config *cfg, const char **errmsg)
{
    /* Each delay is digits and a unit, nothing else: no sign, no space, no empty element (so no
     * leading, trailing or doubled comma), and a bare number is refused rather than guessed. At
     * most 30 days each, at most DELIVERY_SCHEDULE_MAX of them. Only main calls this, at start;
     * the message buffer is per thread all the same. */
    static _Thread_local char msg[200];
    static const struct {
        const char *name;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    const int64_t max_ms = 30LL * 86400000;
    int64_t v[DELIVERY_SCHEDULE_MAX];
    size_t n = 0;
    const char *p = s;
    *errmsg = msg;
    for (;;) {
        size_t len = strcspn(p, ",");
        if (n == DELIVERY_SCHEDULE_MAX) {
            snprintf(msg, sizeof msg, "the retry schedule has at most %d delays",
                     DELIVERY_SCHEDULE_MAX);
            return -1;
        }
        if (len == 0) {
            snprintf(msg, sizeof msg,
                     "delay %zu is empty: write delays such as 1s,2s,4s separated by single "
                     "commas, none leading or trailing",
                     n + 1);
            return -1;
        }
        size_t digits = 0;
        int64_t ms = 0;
        while (digits < len && p[digits] >= '0' && p[digits] <= '9') {
            if (ms <= max_ms) ms = ms * 10 + (p[digits] - '0');
            digits++;
        }
        const char *unit = p + digits;
        size_t unit_len = len - digits;
        int64_t mult = 0;
        for (size_t u = 0; u < sizeof units / sizeof *units && !mult; u++)
            if (unit_len == strlen(units[u].name) && strncmp(unit, units[u].name, unit_len) == 0)
                mult = units[u].ms;
        if (digits == 0 ||
            (mult == 0 &&
             strspn(unit, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") < unit_len)) {
            snprintf(msg, sizeof msg,
                     "delay %zu ('%.*s') must be a whole number followed by a unit (ms, s, m, h, "
                     "d), without signs or spaces, e.g. 1s,2s,4s",
                     n + 1, (int)(len > 40 ? 40 : len), p);
            return -1;
        }
        if (unit_len == 0) {
            snprintf(msg, sizeof msg,
                     "delay %zu ('%.*s') has no unit: a bare number is ambiguous, write e.g. "
                     "%.*sms or %.*ss (units ms, s, m, h, d)",
                     n + 1, (int)(len > 40 ? 40 : len), p, (int)(len > 20 ? 20 : len), p,
                     (int)(len > 20 ? 20 : len), p);
            return -1;
        }
        if (mult == 0) {
            snprintf(msg, sizeof msg,
                     "delay %zu ('%.*s') has an unknown unit '%.*s': use ms, s, m, h or d", n + 1,
                     (int)(len > 40 ? 40 : len), p, (int)(unit_len > 20 ? 20 : unit_len), unit);
            return -1;
        }
        if (ms > max_ms / mult) {
            snprintf(msg, sizeof msg, "delay %zu ('%.*s') is longer than 30 days", n + 1,
                     (int)(len > 40 ? 40 : len), p);
            return -1;
        }
        v[n++] = ms * mult;
        if (p[len] == '\0') break;
        p += len + 1;
    }
    memcpy(cfg->schedule_ms, v, n * sizeof *v);
    cfg->n_schedule = n;
    *errmsg = NULL;
    return 0;
}

/* The next draw of the jitter generator (xorshift64). Call with mu held. */
static uint64_t rng_next(delivery *d)
{
    d->rng ^= d->rng << 13;
    d->rng ^= d->rng >> 7;
    d->rng ^= d->rng << 17;
    return d->rng;
}

/* Delay before retry number k (1-based) of a delivery in livemode, with +-10% jitter from the
 * draw r; -1 when the schedule is exhausted. */
static int64_t schedule_delay(const delivery *d, int livemode, int k, uint64_t r)
{
    const int64_t *v = d->cfg.schedule_ms;
    size_t n = d->cfg.n_schedule;
    if (n == 0) {
        v = livemode ? LIVE_SCHEDULE : TEST_SCHEDULE;
        n = livemode ? sizeof LIVE_SCHEDULE / sizeof *v : sizeof TEST_SCHEDULE / sizeof *v;
    }
    if (k < 1 || (size_t)k > n) return -1;
    int64_t base = v[k - 1];
    int64_t span = base / 5; /* jitter in [-10%, +10%) */
    return span > 0 ? base - span / 2 + (int64_t)(r % (uint64_t)span) : base;
}

/* schedule_delay with a fresh draw; takes mu. */
static int64_t retry_delay(delivery *d, int livemode, int k)
{
    pthread_mutex_lock(&d->mu);
    uint64_t r = rng_next(d);
    pthread_mutex_unlock(&d->mu);
    return schedule_delay(d, livemode, k, r);
}

/* ---- recording outcomes (store jobs) ---- */

static void attempt_free(attempt *at)
{
    curl_slist_free_all(at->headers);
    buf_free(&at->body);
    free(at->url);
    free(at->secret);
    free(at->event_id);
    free(at->endpoint_id);
    free(at->account);
    free(at);
}

/* One job records a batch of outcomes (a chain through bnext): the attempts that finished in
 * one turn of the loop. */
static int record_job(store_txn *t, void *arg)
{
    int rc = 0;
    for (attempt *at = arg; at && rc == 0; at = at->bnext) {
        rc = store_txn_delivery_result(t, at->seq, at->event_id, at->ok, at->next_ms);
        /* The attempt log (CONTRACT.md §11 "Test control plane": the dashboard shows it). */
        store_attempt log = {
            .delivery_seq = at->seq,
            .account = at->account,
            .event_id = at->event_id,
            .endpoint_id = at->endpoint_id,
            .url = at->url,
            .attempt = at->attempts + 1,
            .at_ms = at->sent_ms,
            .status = (int)at->status,
            .latency_ms = at->latency_ms,
            .error = at->errbuf[0] ? at->errbuf : NULL,
            .response = at->response_len ? at->response : NULL,
            .next_ms = at->ok ? -1 : at->next_ms,
        };
        if (rc == 0) rc = store_txn_attempt_add(t, &log);
    }
    return rc;
}

/* Writer thread, after the commit: the batch's attempts leave the in-flight list for good. If
 * the job failed they are still pending in the database and will be attempted again. */
/* Wake the loop for a quick read of the outbox (delivery_kick asks for a full one). */
static void kick(delivery *d)
{
    atomic_store(&d->kicked, 1);
    curl_multi_wakeup(d->multi);
}

static void record_done(void *arg, int rc)
{
    attempt *first = arg;
    delivery *d = first->d;
    if (rc != 0)
        log_msg(LOG_ERROR, "msg=\"recording webhook attempts failed\" event=%s endpoint=%s",
                first->event_id, first->endpoint_id);
    int failed = 0;
    for (attempt *at = first; at; at = at->bnext)
        failed |= !at->ok;
    pthread_mutex_lock(&d->mu);
    for (attempt *at = first; at; at = at->bnext) {
        for (attempt **p = &d->inflight; *p; p = &(*p)->next) {
            if (*p == at) {
                *p = at->next;
                break;
            }
        }
    }
    pthread_mutex_unlock(&d->mu);
    /* Kick once the attempts are no longer in flight (a pass that ran between a kick and their
     * removal would skip them, and nothing would wake it again), and before jobs drops: at 0 a
     * stopping worker may free d. A failed attempt left a retry behind the quick read's
     * position: only a full read schedules it. */
    if (failed) atomic_store(&d->kicked_full, 1);
    kick(d);
    pthread_mutex_lock(&d->mu);
    if (--d->jobs == 0) pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    while (first) {
        attempt *next = first->bnext;
        attempt_free(first);
        first = next;
    }
}

/* ---- attempts ---- */

/* Keep the start of the answer for the attempt log, as printable ASCII (anything else becomes
 * '.'), and drop the rest. */
static size_t keep_start(char *p, size_t size, size_t n, void *ctx)
{
    attempt *at = ctx;
    size_t len = size * n;
    for (size_t i = 0; i < len && at->response_len < ATTEMPT_RESPONSE_MAX; i++) {
        unsigned char ch = (unsigned char)p[i];
        at->response[at->response_len++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '.';
    }
    at->response[at->response_len] = '\0';
    return len;
}

/* 1 when the IPv4 address a (host order) is loopback, private, link-local, shared or "this
 * network". */
static int private_v4(uint32_t a)
{
    return (a >> 24) == 127 || (a >> 24) == 10 || (a >> 24) == 0 || (a >> 20) == (172u << 4 | 1) ||
           (a >> 16) == (192u << 8 | 168) || (a >> 16) == (169u << 8 | 254) ||
           (a >> 22) == (100u << 2 | 1); /* 100.64/10 */
}

/* 1 when sa is an address a live endpoint may not reach (loopback, private, link-local,
 * unique-local, unspecified). CONTRACT.md §11: live mode refuses them unless allowed. An
 * IPv4-mapped IPv6 address is judged by its IPv4 bytes, read as bytes: building a sockaddr_in
 * and reading it back through a struct sockaddr pointer broke strict aliasing (GCC at -O2 read
 * the family before it was written). */
int delivery__private_address(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return private_v4(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LINKLOCAL(a))
            return 1;
        if ((a->s6_addr[0] & 0xfe) == 0xfc) return 1; /* fc00::/7 */
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            const uint8_t *b = a->s6_addr + 12;
            return private_v4((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
                              b[3]);
        }
        return 0;
    }
    return 1;
}

static curl_socket_t open_public_socket(void *ctx, curlsocktype purpose, struct curl_sockaddr *addr)
{
    (void)ctx;
    (void)purpose;
    if (delivery__private_address(&addr->addr)) return CURL_SOCKET_BAD;
    return socket(addr->family, addr->socktype, addr->protocol);
}

/* Sign at's body and hand a transfer of it to curl. CONTRACT.md §8: a fresh t and signature on
 * every attempt (and on each copy a duplicate rule sends). Called with mu held, on the worker
 * thread. */
static void launch(delivery *d, attempt *at)
{
    char sig[WEBHOOK_SIG_MAX], header[WEBHOOK_SIG_MAX + 32];
    webhook_sign(at->secret, util_now(), at->body.data, at->body.len, sig, sizeof sig);
    snprintf(header, sizeof header, "Stripe-Signature: %s", sig);
    curl_slist_free_all(at->headers);
    at->headers = NULL;
    at->headers = curl_slist_append(at->headers, "Content-Type: application/json; charset=utf-8");
    at->headers = curl_slist_append(at->headers, header);
    at->headers = curl_slist_append(at->headers, "Cache-Control: no-cache");
    at->headers = curl_slist_append(at->headers, "Accept: */*; q=0.5, text/html");
    at->headers = curl_slist_append(at->headers, "Expect:");
    if (at->headers == NULL) abort();

    CURL *e = curl_easy_init();
    if (e == NULL) abort();
    at->easy = e;
    at->sent_ms = util_now_ms(); /* a held attempt's latency starts when it is sent */
    at->sent_us = util_mono_us();
    curl_easy_setopt(e, CURLOPT_URL, at->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, at->body.data);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)at->body.len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, at->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "Stripe/1.0 (+https://stripe.com/docs/webhooks)");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)d->cfg.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(d->cfg.timeout_ms < 5000 ? d->cfg.timeout_ms : 5000));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep_start);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, at);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, at->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, at);
    if (at->public_only) curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_public_socket);
    curl_multi_add_handle(d->multi, e);
}

/* Start the attempts whose hold (a webhook delay rule) is over. Returns how long until the
 * next hold ends, in ms, or -1 when none is held. */
static int64_t release_held(delivery *d)
{
    int64_t now = util_mono_us(), next = -1;
    pthread_mutex_lock(&d->mu);
    for (attempt *at = d->inflight; at; at = at->next) {
        if (!at->held) continue;
        if (at->hold_until_us <= now) {
            at->held = 0;
            launch(d, at);
        } else {
            int64_t ms = (at->hold_until_us - now + 999) / 1000;
            if (next < 0 || ms < next) next = ms;
        }
    }
    pthread_mutex_unlock(&d->mu);
    return next;
}

/* Start an attempt for dv: render, sign, hand to curl. Called with mu held. Returns 0, or -1
 * when the event cannot be rendered (the delivery is then recorded as failed). */
static int attempt_start(delivery *d, const store_delivery *dv, arena *a)
{
    attempt *at = xcalloc(1, sizeof *at);
    at->d = d;
    at->seq = dv->seq;
    at->event_id = xstrdup(dv->event.id);
    at->endpoint_id = xstrdup(dv->endpoint_id);
    at->account = xstrdup(dv->event.account);
    at->url = xstrdup(dv->url ? dv->url : "");
    at->sent_ms = util_now_ms();
    at->sent_us = util_mono_us();
    at->attempts = dv->attempts;
    at->livemode = dv->event.livemode;
    buf_init(&at->body, NULL);
    json_writer w;
    json_init(&w, &at->body, 0);
    /* Stripe: a thin destination gets the thin event notification, a v2 event (a ping) is thin
     * wherever it goes; a v1 endpoint and a snapshot destination get the v1 event in their
     * api_version (snapshot_api_version). Both are signed alike, below. */
    int rendered = 0;
    if (dv->thin || dv->event.v2)
        thin_event_render_notification(&dv->event, &w);
    else
        rendered =
            event_render(&dv->event, dv->api_version, dv->api_version, d->cfg.public_url, a, &w);

    at->next = d->inflight;
    d->inflight = at;
    if (rendered != 0) {
        log_msg(LOG_ERROR, "msg=\"a stored event could not be rendered\" event=%s", at->event_id);
        snprintf(at->errbuf, sizeof at->errbuf, "the event could not be rendered");
        at->ok = 0;
        at->next_ms = -1;
        d->jobs++;
        store_submit(d->cfg.st, record_job, record_done, at);
        return -1;
    }

    fault_webhook_action act = FAULT_WH_FAIL;
    int64_t hold_ms = 0;
    int faulted = d->cfg.faults && !dv->forward && !dv->endpoint_livemode &&
                  fault_webhook(d->cfg.faults, dv->endpoint_id, &act, &hold_ms);
    if (faulted && act == FAULT_WH_FAIL) {
        /* CONTRACT.md §11 "Test control plane": the receiver is not called and the attempt
         * counts as failed, so the delivery is retried on the normal schedule (mu is held here,
         * so the draw is taken directly rather than through retry_delay). */
        int64_t delay = schedule_delay(d, at->livemode, at->attempts + 1, rng_next(d));
        at->ok = 0;
        at->next_ms = delay >= 0 ? util_now_ms() + delay : -1;
        snprintf(at->errbuf, sizeof at->errbuf, "failed by a fault rule");
        log_msg(LOG_INFO,
                "msg=\"webhook attempt failed by a fault rule\" event=%s endpoint=%s "
                "attempt=%d",
                at->event_id, at->endpoint_id, at->attempts + 1);
        d->jobs++;
        store_submit(d->cfg.st, record_job, record_done, at);
        return 0;
    }
    at->secret = xstrdup(dv->secret);
    at->public_only = dv->endpoint_livemode && !dv->forward && !d->cfg.allow_private;
    at->dup_left = faulted && act == FAULT_WH_DUPLICATE; /* Stripe: duplicates are possible */
    at->active = 1;
    d->active++;
    if (faulted && act == FAULT_WH_DELAY) {
        at->held = 1; /* run() starts it once the hold is over (release_held) */
        at->hold_until_us = util_mono_us() + hold_ms * 1000;
        return 0;
    }
    launch(d, at);
    return 0;
}

/* A transfer ended: decide the outcome and add at to the batch *chain, to be recorded. */
static void attempt_finished(delivery *d, attempt *at, CURLcode res, attempt **chain)
{
    long status = 0;
    curl_easy_getinfo(at->easy, CURLINFO_RESPONSE_CODE, &status);
    at->status = status;
    at->latency_ms = (util_mono_us() - at->sent_us) / 1000;
    if (res == CURLE_OK)
        at->errbuf[0] = '\0';
    else if (at->errbuf[0] == '\0')
        snprintf(at->errbuf, sizeof at->errbuf, "%s", curl_easy_strerror(res));
    curl_multi_remove_handle(d->multi, at->easy);
    curl_easy_cleanup(at->easy);
    at->easy = NULL;
    /* Stripe: CONTRACT.md §8, a 2xx within the timeout is a success; of a duplicate's two
     * copies, either. */
    at->ok = at->ok || (res == CURLE_OK && status >= 200 && status < 300);
    if (at->dup_left > 0) {
        at->dup_left--;
        pthread_mutex_lock(&d->mu);
        launch(d, at);
        pthread_mutex_unlock(&d->mu);
        return;
    }
    at->next_ms = -1;
    if (!at->ok) {
        int64_t delay = retry_delay(d, at->livemode, at->attempts + 1);
        if (delay >= 0) at->next_ms = util_now_ms() + delay;
    }
    metrics_delivery(at->ok             ? METRICS_DELIVERED
                     : at->next_ms >= 0 ? METRICS_RETRY
                                        : METRICS_GAVE_UP);
    log_msg(at->ok ? LOG_DEBUG : LOG_INFO,
            "msg=\"webhook attempt\" event=%s endpoint=%s attempt=%d status=%ld%s%s%s",
            at->event_id, at->endpoint_id, at->attempts + 1, status,
            res != CURLE_OK ? " error=\"" : "", res != CURLE_OK ? curl_easy_strerror(res) : "",
            res != CURLE_OK ? "\"" : "");
    pthread_mutex_lock(&d->mu);
    at->active = 0;
    d->active--;
    pthread_mutex_unlock(&d->mu);
    at->bnext = *chain;
    *chain = at;
}

/* ---- the loop ---- */

static int in_flight(delivery *d, int64_t seq, const char *endpoint_id, int *same_endpoint)
{
    int found = 0;
    *same_endpoint = 0;
    for (attempt *at = d->inflight; at; at = at->next) {
        if (at->seq == seq) found = 1;
        if (at->active && strcmp(at->endpoint_id, endpoint_id) == 0) (*same_endpoint)++;
    }
    return found;
}

/* Start what is due. A full read (full = 1) looks at every due delivery, the retries among
 * them, and returns when the outbox should be read fully again (unix ms). A quick read, for a
 * kick, looks only past started_seq: the deliveries queued since, without re-reading the ones
 * in flight or waiting to be recorded (each row carries its event's snapshot). */
static int64_t fill(delivery *d, int64_t now, int full)
{
    int max = d->cfg.max_connections;
    int per_endpoint = max > 2 ? max / 2 : 1;
    arena *a = arena_new();
    store_delivery *items = NULL;
    size_t n = 0;
    int skipped = 0;
    int64_t next = now + IDLE_RECHECK_MS;

    pthread_mutex_lock(&d->mu);
    if (d->active >= max) {
        pthread_mutex_unlock(&d->mu);
        arena_free(a);
        return next; /* a finished transfer kicks */
    }
    /* A full read gets the rows in flight back too (they stay pending until recorded), so it
     * reads enough to fill the free connections past them. */
    size_t want = (size_t)(max - d->active);
    for (attempt *at = d->inflight; full && at && want < FETCH; at = at->next)
        want++;
    if (want > FETCH) want = FETCH;
    int rc = store_deliveries_due(d->cfg.st, now, full ? 0 : d->started_seq, want, a, &items, &n);
    int64_t high = d->started_seq;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int same;
        if (!in_flight(d, items[i].seq, items[i].endpoint_id, &same)) {
            if (d->active >= max || same >= per_endpoint) {
                skipped = 1; /* started_seq stops before it: the next read finds it again */
                continue;
            }
            attempt_start(d, &items[i], a);
        }
        if (!skipped && items[i].seq > high) high = items[i].seq;
    }
    d->started_seq = high;
    pthread_mutex_unlock(&d->mu);

    if (rc != 0) {
        next = now + 1000; /* the database hiccuped: try again soon */
    } else if (skipped || n == want) {
        next = now + 1000; /* finished transfers kick sooner */
    } else if (full) {
        int64_t due;
        rc = store_delivery_next_due(d->cfg.st, now, &due);
        if (rc == 0 && due < next) next = due;
        if (rc != 0 && rc != STORE_NOT_FOUND) next = now + 1000;
    }
    arena_free(a);
    return next;
}

typedef struct prune_job {
    const char *account; /* NULL: every account */
    int64_t cutoff;
    int n;
} prune_job;

static int prune_fn(store_txn *t, void *arg)
{
    prune_job *p = arg;
    return p->account != NULL ? store_txn_events_prune_account(t, p->account, p->cutoff, &p->n)
                              : store_txn_events_prune(t, p->cutoff, &p->n);
}

/* Delete events past their 30 days, in bounded batches so other writes interleave: how many,
 * or -1 when a job failed. */
static int prune_batches(delivery *d, prune_job *p)
{
    int total = 0;
    do {
        p->n = 0;
        if (store_run(d->cfg.st, prune_fn, p) != 0) {
            log_msg(LOG_ERROR, "msg=\"pruning old events failed\"");
            return -1;
        }
        total += p->n;
    } while (p->n > 0 && !atomic_load(&d->stopping));
    return total;
}

/* Events carry their account's time in created: every account's by real time, then each
 * account whose clock was advanced by its own time (CONTRACT.md §11 "Test control plane"). */
static void prune(delivery *d)
{
    int64_t now = util_now();
    prune_job p = {.cutoff = now - EVENT_TTL_S};
    int total = prune_batches(d, &p);
    arena *a = arena_new();
    const char **accounts;
    int64_t *offsets;
    size_t n = account_clock_list(a, &accounts, &offsets);
    for (size_t i = 0; total >= 0 && i < n; i++) {
        p = (prune_job){accounts[i], now + offsets[i] / 1000 - EVENT_TTL_S, 0};
        int got = prune_batches(d, &p);
        total = got < 0 ? -1 : total + got;
    }
    arena_free(a);
    if (total > 0) log_msg(LOG_INFO, "msg=\"pruned old events\" count=%d", total);
}

static void *run(void *arg)
{
    delivery *d = arg;
    int64_t next_check = 0, next_prune = 0, last_fill = 0;
    while (!atomic_load(&d->stopping)) {
        int64_t now = util_now_ms();
        int64_t gap = store_busy(d->cfg.st) ? BUSY_FILL_GAP_MS : FILL_GAP_MS;
        if (now >= next_prune || atomic_exchange(&d->prune_asked, 0)) {
            prune(d);
            next_prune = now + PRUNE_EVERY_MS;
        }
        /* Kicks (a commit that queued deliveries, a recorded outcome) come thousands of times a
         * second under load; reading the outbox at most every gap serves them all at a
         * fraction of the reads, well inside the latency a receiver notices.
         * The read's clock is taken after the kick is cleared: a delivery queued by the commit
         * that kicked was due (next_attempt_ms) before that kick, so the read counts it as due
         * (an earlier `now` could miss it and consume its kick, leaving it to the next full
         * read). */
        if (now >= next_check || (atomic_load(&d->kicked_full) && now - last_fill >= gap)) {
            atomic_store(&d->kicked_full, 0);
            atomic_store(&d->kicked, 0);
            last_fill = util_now_ms();
            next_check = fill(d, last_fill, 1);
        } else if (atomic_load(&d->kicked) && now - last_fill >= gap) {
            atomic_store(&d->kicked, 0);
            last_fill = util_now_ms();
            int64_t again = fill(d, last_fill, 0);
            if (again < next_check) next_check = again;
        }

        int64_t held_ms = release_held(d);
        int running;
        curl_multi_perform(d->multi, &running);
        CURLMsg *m;
        int left;
        attempt *chain = NULL;
        while ((m = curl_multi_info_read(d->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE) continue;
            attempt *at = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&at);
            attempt_finished(d, at, m->data.result, &chain);
        }
        if (chain) {
            pthread_mutex_lock(&d->mu);
            d->jobs++;
            pthread_mutex_unlock(&d->mu);
            store_submit(d->cfg.st, record_job, record_done, chain);
        }

        now = util_now_ms();
        int64_t wait = next_check - now;
        if (next_prune - now < wait) wait = next_prune - now;
        if (atomic_load(&d->kicked) && last_fill + gap - now < wait)
            wait = last_fill + gap - now; /* a pending kick waits out the gap only */
        if (held_ms >= 0 && held_ms < wait) wait = held_ms;
        if (wait > IDLE_RECHECK_MS) wait = IDLE_RECHECK_MS;
        if (wait > 0) curl_multi_poll(d->multi, NULL, 0, (int)wait, NULL);
    }

    /* Stop: abandon the running transfers (their deliveries stay pending, attempts unchanged). */
    pthread_mutex_lock(&d->mu);
    for (attempt **p = &d->inflight; *p;) {
        attempt *at = *p;
        if (!at->active) {
            p = &at->next;
            continue;
        }
        *p = at->next;
        curl_multi_remove_handle(d->multi, at->easy);
        curl_easy_cleanup(at->easy);
        d->active--;
        attempt_free(at);
    }
    while (d->jobs > 0)
        pthread_cond_wait(&d->cv, &d->mu);
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* A commit queued deliveries: they are past the quick read's position. */
static void outbox_hook(void *ctx)
{
    kick(ctx);
}

int delivery_start(const delivery_config *cfg, delivery **out, const char **errmsg)
{
    *out = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        *errmsg = "cannot initialise libcurl";
        return -1;
    }
    delivery *d = xcalloc(1, sizeof *d);
    d->cfg = *cfg;
    if (d->cfg.max_connections <= 0) d->cfg.max_connections = DEFAULT_MAX_CONNECTIONS;
    if (d->cfg.timeout_ms <= 0) d->cfg.timeout_ms = DEFAULT_TIMEOUT_MS;
    d->rng = (uint64_t)util_mono_us() * 0x9E3779B97F4A7C15ull | 1;
    d->multi = curl_multi_init();
    if (d->multi == NULL) {
        free(d);
        curl_global_cleanup();
        *errmsg = "cannot initialise libcurl";
        return -1;
    }
    curl_multi_setopt(d->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)d->cfg.max_connections);
    curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, (long)d->cfg.max_connections);
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    atomic_init(&d->stopping, 0);
    atomic_init(&d->kicked, 1);
    atomic_init(&d->kicked_full, 1);
    atomic_init(&d->prune_asked, 0);
    if (pthread_create(&d->thread, NULL, run, d) != 0) abort();
    store_set_outbox_hook(d->cfg.st, outbox_hook, d);
    *out = d;
    return 0;
}

void delivery_kick(delivery *d)
{
    atomic_store(&d->kicked_full, 1);
    kick(d);
}

void delivery_clock_moved(delivery *d)
{
    atomic_store(&d->prune_asked, 1);
    delivery_kick(d);
}

void delivery_stop(delivery *d)
{
    if (d == NULL) return;
    store_set_outbox_hook(d->cfg.st, NULL, NULL);
    atomic_store(&d->stopping, 1);
    curl_multi_wakeup(d->multi);
    pthread_join(d->thread, NULL);
    curl_multi_cleanup(d->multi);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
    curl_global_cleanup();
}

/* ---- --forward-to ---- */

typedef struct forward_job {
    const char *url;
    const char *new_secret;
    arena *a;
    const char *secret;
} forward_job;

static int forward_fn(store_txn *t, void *arg)
{
    forward_job *f = arg;
    return store_txn_forward_set(t, f->url, f->new_secret, f->a, &f->secret);
}

int delivery_set_forward(store *st, const char *url, char *secret, size_t secret_size)
{
    char fresh[48];
    ids_random(fresh, sizeof fresh, "whsec_", 32);
    arena *a = arena_new();
    forward_job f = {.url = url, .new_secret = fresh, .a = a};
    int rc = store_run(st, forward_fn, &f);
    if (secret_size > 0) secret[0] = '\0';
    if (rc == 0 && url != NULL) snprintf(secret, secret_size, "%s", f.secret ? f.secret : "");
    arena_free(a);
    return rc;
}
