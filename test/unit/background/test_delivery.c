/*
 * test_delivery: the webhook delivery worker end to end, against a small HTTP listener on a
 * loopback port run by a thread of this test, on a real store and the process's test clock
 * (util_clock_advance). Also the two pure pieces: the retry-schedule parser and the rule that
 * keeps live-mode endpoints off private addresses.
 *
 * Deliveries: a 2xx (200, 204, 299) is a success that clears pending_webhooks, anything else
 * (3xx, 4xx, 5xx, a timeout, a refused connection) is retried on the schedule, each delay
 * within its +-10% jitter, and given up after the last one: a configured schedule of n delays
 * makes n + 1 attempts; the default test-mode schedule 3 retries (about 10 min, 1 h, 3 h), the
 * default live one 11 (up to 3 days). Each attempt is signed as Stripe signs (checked against
 * webhook_sign), carries the event JSON, and a commit that queues deliveries wakes the worker
 * at once. Live-mode endpoints cannot reach loopback unless allowed; the forward endpoint can.
 * An attempt cut short by delivery_stop is not recorded, so the delivery is sent after the next
 * start.
 *
 * Not for: which endpoints an event is queued for (test_events.c) or the signature's
 * arithmetic (test_webhook_sign.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#define json_null jansson_json_null_unused
#include <jansson.h>
#undef json_null

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "background/delivery.h"
#include "identity/event.h"
#include "base/log.h"
#include "store/store.h"
#include "base/util.h"
#include "identity/webhook_sign.h"

#include "fixture.h"

/* ---- a loopback HTTP receiver ---- */

#define MAX_HITS 128

typedef struct hit {
    int64_t at_ms; /* util_now_ms() when the whole request had arrived */
    char path[64];
    char signature[WEBHOOK_SIG_MAX + 16];
    char content_type[96];
    char user_agent[96];
    char *body; /* heap */
    size_t body_len;
} hit;

typedef struct listener {
    int fd;
    int port;
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cv;  /* broadcast on every hit */
    hit hits[MAX_HITS];
    int n;
    int statuses[16]; /* the answer to request i; the last one repeats */
    int n_statuses;
    int silent; /* read the request, never answer (until stop or the client gives up) */
} listener;

static void header_value(const char *head, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    size_t n = strlen(name);
    for (const char *p = head; (p = strstr(p, "\r\n")) != NULL;) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            p += n + 1;
            while (*p == ' ')
                p++;
            size_t len = strcspn(p, "\r\n");
            snprintf(out, size, "%.*s", (int)(len < size ? len : size - 1), p);
            return;
        }
    }
}

/* Wait for fd to be readable for up to 50 ms; 0 when the listener is stopping. */
static int wait_readable(listener *l, int fd)
{
    while (!atomic_load(&l->stop)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) > 0) return 1;
    }
    return 0;
}

static void serve(listener *l, int c)
{
    char *req = malloc(1 << 20);
    size_t len = 0, body_at = 0, want = 0;
    while (len < (1 << 20) - 1) {
        if (!wait_readable(l, c)) goto out;
        ssize_t got = recv(c, req + len, (1 << 20) - 1 - len, 0);
        if (got <= 0) goto out;
        len += (size_t)got;
        req[len] = '\0';
        if (!body_at) {
            char *end = strstr(req, "\r\n\r\n");
            if (!end) continue;
            body_at = (size_t)(end - req) + 4;
            char cl[32];
            end[2] = '\0';
            header_value(req, "Content-Length", cl, sizeof cl);
            end[2] = '\r';
            want = body_at + (size_t)strtoul(cl, NULL, 10);
        }
        if (len >= want) break;
    }
    if (!body_at || len < want) goto out;

    pthread_mutex_lock(&l->mu);
    int i = l->n;
    hit *h = i < MAX_HITS ? &l->hits[i] : NULL;
    if (h) {
        req[body_at - 2] = '\0';
        h->at_ms = util_now_ms();
        sscanf(req, "POST %63s", h->path);
        header_value(req, "Stripe-Signature", h->signature, sizeof h->signature);
        header_value(req, "Content-Type", h->content_type, sizeof h->content_type);
        header_value(req, "User-Agent", h->user_agent, sizeof h->user_agent);
        h->body_len = want - body_at;
        h->body = malloc(h->body_len + 1);
        memcpy(h->body, req + body_at, h->body_len);
        h->body[h->body_len] = '\0';
        l->n++;
    }
    int status = l->statuses[i < l->n_statuses ? i : l->n_statuses - 1];
    int silent = l->silent;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);

    if (silent) {
        char sink[256];
        while (wait_readable(l, c) && recv(c, sink, sizeof sink, 0) > 0) {
        }
        goto out;
    }
    char resp[128];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", status);
    ssize_t w = send(c, resp, (size_t)n, MSG_NOSIGNAL);
    (void)w;
out:
    free(req);
    close(c);
}

static void *listen_loop(void *arg)
{
    listener *l = arg;
    while (wait_readable(l, l->fd)) {
        int c = accept(l->fd, NULL, NULL);
        if (c >= 0) serve(l, c);
    }
    return NULL;
}

/* Start a listener answering statuses (a list ending in 0). */
static listener *listener_start(const int *statuses)
{
    listener *l = calloc(1, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    for (; statuses[l->n_statuses]; l->n_statuses++)
        l->statuses[l->n_statuses] = statuses[l->n_statuses];
    l->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(l->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(l->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(l->fd, 128), 0);
    socklen_t alen = sizeof a;
    assert_int_equal(getsockname(l->fd, (struct sockaddr *)&a, &alen), 0);
    l->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&l->thread, NULL, listen_loop, l), 0);
    return l;
}

static void listener_stop(listener *l)
{
    atomic_store(&l->stop, 1);
    pthread_join(l->thread, NULL);
    close(l->fd);
    for (int i = 0; i < l->n; i++)
        free(l->hits[i].body);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
}

static int hits(listener *l)
{
    pthread_mutex_lock(&l->mu);
    int n = l->n;
    pthread_mutex_unlock(&l->mu);
    return n;
}

/* Wait (at most 10 s) until the listener has had n requests. */
static void wait_hits(listener *l, int n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    pthread_mutex_lock(&l->mu);
    while (l->n < n && pthread_cond_timedwait(&l->cv, &l->mu, &ts) == 0) {
    }
    int got = l->n;
    pthread_mutex_unlock(&l->mu);
    if (got < n) fail_msg("the listener got %d requests, expected %d", got, n);
}

/* ---- fixture: a store, a listener, the worker ---- */

typedef struct fixture {
    fx_store fx; /* the store, its directory and a scratch arena (fixture.h) */
    listener *l;
    delivery *d;
    delivery_config cfg;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    fx_store_init(&f->fx, "delivery");
    f->cfg.st = f->fx.st;
    f->cfg.public_url = FX_PUBLIC_URL;
    log_level = LOG_ERROR; /* failed attempts log at info */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    delivery_stop(f->d);
    if (f->l) listener_stop(f->l);
    fx_store_fini(&f->fx);
    free(f);
    return 0;
}

static void start(fixture *f)
{
    const char *err = NULL;
    assert_int_equal(delivery_start(&f->cfg, &f->d, &err), 0);
}

static void schedule(fixture *f, const char *list)
{
    const char *err = NULL;
    assert_int_equal(delivery_parse_schedule(list, &f->cfg, &err), 0);
}

typedef struct endpoint_job {
    const char *id, *account, *url;
    int livemode;
} endpoint_job;

static int endpoint_fn(store_txn *t, void *arg)
{
    endpoint_job *e = arg;
    const char *all[] = {"*"};
    store_webhook w = {.id = e->id,
                       .account = e->account,
                       .livemode = e->livemode,
                       .created = util_now(),
                       .url = e->url,
                       .secret = "whsec_unit_test_secret",
                       .enabled_events = all,
                       .n_enabled_events = 1};
    return store_txn_webhook_insert(t, &w, 16);
}

/* An endpoint of account (in livemode) for the listener's /hook. */
static void add_endpoint(fixture *f, const char *id, const char *account, int livemode)
{
    endpoint_job e = {id, account, arena_printf(f->fx.a, "http://127.0.0.1:%d/hook", f->l->port),
                      livemode};
    assert_int_equal(store_run(f->fx.st, endpoint_fn, &e), 0);
}

typedef struct emit_job {
    session s;
    arena *a;
} emit_job;

static int emit_fn(store_txn *t, void *arg)
{
    emit_job *j = arg;
    return event_emit(t, j->a, &j->s, NULL, EVT_CREATED, "req_delivery", NULL);
}

/* Emit a created event for a new session of account; returns the event id (in f->fx.a). */
static const char *emit(fixture *f, const char *account, int livemode)
{
    static int seq;
    char id[32];
    snprintf(id, sizeof id, "vs_dlv%d", ++seq);
    emit_job j = {fx_session(account, id), f->fx.a};
    j.s.livemode = livemode;
    assert_int_equal(store_run(f->fx.st, emit_fn, &j), 0);
    store_event_query q = {.account = account, .delivery_success = -1, .limit = 1};
    store_event *ev;
    size_t n;
    int more;
    assert_int_equal(store_event_list(f->fx.st, &q, f->fx.a, &ev, &n, &more), 0);
    assert_int_equal(n, 1);
    return ev[0].id;
}

/* The outbox row of (event, endpoint), read straight from the database. */
typedef struct row {
    int attempts;
    int64_t next_ms; /* -1: NULL */
    int state;       /* 0 pending, 1 succeeded, 2 failed */
} row;

static row outbox_row(fixture *f, const char *event_id, const char *endpoint_id)
{
    char path[128];
    snprintf(path, sizeof path, "%s/verifyd.db", f->fx.data);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 2000);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT attempts, next_attempt_ms, state FROM deliveries"
                                        " WHERE event_id = ?1 AND endpoint_id = ?2",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, endpoint_id, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    row r = {sqlite3_column_int(st, 0),
             sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 1),
             sqlite3_column_int(st, 2)};
    sqlite3_finalize(st);
    sqlite3_close(db);
    return r;
}

/* Wait (at most 10 s) until the row has at least attempts recorded (or is in a final state). */
static row wait_row(fixture *f, const char *event_id, const char *endpoint_id, int attempts)
{
    row r;
    for (int i = 0; i < 1000; i++) {
        r = outbox_row(f, event_id, endpoint_id);
        if (r.attempts >= attempts) return r;
        usleep(10000);
    }
    fail_msg("%s: %d attempts recorded, expected %d", event_id, r.attempts, attempts);
    return r;
}

static int pending_webhooks(fixture *f, const char *account, const char *event_id)
{
    store_event e;
    assert_int_equal(store_event_get(f->fx.st, account, event_id, f->fx.a, &e), 0);
    return e.pending_webhooks;
}

/* ---- the schedule parser ---- */

static void test_parse_schedule(void **state)
{
    (void)state;
    delivery_config cfg;
    memset(&cfg, 0, sizeof cfg);
    const char *err = "unset";
    assert_int_equal(delivery_parse_schedule("1s,2s,4s", &cfg, &err), 0);
    assert_null(err);
    assert_int_equal(cfg.n_schedule, 3);
    assert_int_equal(cfg.schedule_ms[0], 1000);
    assert_int_equal(cfg.schedule_ms[1], 2000);
    assert_int_equal(cfg.schedule_ms[2], 4000);

    /* Every unit; ms is not m. */
    assert_int_equal(delivery_parse_schedule("250ms,3m,2h,1d,5s,0s,1m", &cfg, &err), 0);
    const int64_t want[] = {250, 180000, 7200000, 86400000, 5000, 0, 60000};
    assert_int_equal(cfg.n_schedule, 7);
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(cfg.schedule_ms[i], want[i]);
    assert_int_equal(delivery_parse_schedule("15m", &cfg, &err), 0);
    assert_int_equal(cfg.n_schedule, 1);
    assert_int_equal(cfg.schedule_ms[0], 900000);

    /* At most 30 days each, in any unit. */
    const char *max_ok[] = {"30d", "720h", "43200m", "2592000s", "2592000000ms"};
    const char *too_long[] = {"31d",      "721h",         "43201m",
                              "2592001s", "2592000001ms", "99999999999999999999999s"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(delivery_parse_schedule(max_ok[i], &cfg, &err), 0);
        assert_int_equal(cfg.schedule_ms[0], 30LL * 86400000);
    }
    for (size_t i = 0; i < 6; i++) {
        err = NULL;
        assert_int_equal(delivery_parse_schedule(too_long[i], &cfg, &err), -1);
        assert_non_null(err);
    }

    /* At most 32 delays. */
    char list[400] = "";
    for (int i = 0; i < 32; i++)
        strcat(list, i ? ",1s" : "1s");
    assert_int_equal(delivery_parse_schedule(list, &cfg, &err), 0);
    assert_int_equal(cfg.n_schedule, 32);
    strcat(list, ",1s");
    err = NULL;
    assert_int_equal(delivery_parse_schedule(list, &cfg, &err), -1);
    assert_non_null(err);
    assert_non_null(strstr(err, "32"));

    /* Malformed: a failed parse leaves the schedule in force untouched. */
    assert_int_equal(delivery_parse_schedule("7s,8s", &cfg, &err), 0);
    const char *bad[] = {"",     "s",   "-1s",   "1.5s", "1x",    "1S",
                         "1sec", "1 s", "1s;2s", "abc",  "1s,2q", "1h30m"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err = NULL;
        if (delivery_parse_schedule(bad[i], &cfg, &err) != -1) fail_msg("accepted '%s'", bad[i]);
        assert_non_null(err);
        assert_int_equal(cfg.n_schedule, 2);
        assert_int_equal(cfg.schedule_ms[0], 7000);
        assert_int_equal(cfg.schedule_ms[1], 8000);
    }
}

/* ---- live endpoints and private addresses ---- */

static int v4_private(const char *ip)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    return delivery__private_address((struct sockaddr *)&a);
}

static int v6_private(const char *ip)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    assert_int_equal(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
    return delivery__private_address((struct sockaddr *)&a);
}

static void test_private_addresses(void **state)
{
    (void)state;
    const char *priv4[] = {"127.0.0.1",   "127.255.255.254", "10.0.0.1",        "10.255.255.255",
                           "172.16.0.1",  "172.31.255.255",  "192.168.0.1",     "192.168.255.255",
                           "169.254.1.1", "100.64.0.1",      "100.127.255.255", "0.0.0.0",
                           "0.1.2.3"};
    const char *pub4[] = {"8.8.8.8",         "1.1.1.1",     "172.15.255.255",  "172.32.0.0",
                          "192.167.255.255", "192.169.0.0", "169.253.255.255", "169.255.0.0",
                          "100.63.255.255",  "100.128.0.0", "11.0.0.1",        "9.255.255.255",
                          "126.255.255.255", "128.0.0.1",   "1.0.0.0"};
    for (size_t i = 0; i < sizeof priv4 / sizeof *priv4; i++)
        if (!v4_private(priv4[i])) fail_msg("%s should be private", priv4[i]);
    for (size_t i = 0; i < sizeof pub4 / sizeof *pub4; i++)
        if (v4_private(pub4[i])) fail_msg("%s should be public", pub4[i]);

    const char *priv6[] = {"::1", "::", "fe80::1", "febf::1", "fc00::1", "fdff:ffff::1"};
    const char *pub6[] = {"2001:4860:4860::8888", "2606:4700::1111", "fbff::1", "fe00::1"};
    for (size_t i = 0; i < sizeof priv6 / sizeof *priv6; i++)
        if (!v6_private(priv6[i])) fail_msg("%s should be private", priv6[i]);
    for (size_t i = 0; i < sizeof pub6 / sizeof *pub6; i++)
        if (v6_private(pub6[i])) fail_msg("%s should be public", pub6[i]);

    /* Anything that is not IPv4 or IPv6 is refused. */
    struct sockaddr other = {.sa_family = AF_UNIX};
    assert_int_equal(delivery__private_address(&other), 1);
}

/* IPv4-mapped IPv6 addresses are judged by their IPv4 address: private ones refused, public
 * ones allowed. */
static void test_private_addresses_v4_mapped(void **state)
{
    (void)state;
    const char *priv[] = {"::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:192.168.1.1",
                          "::ffff:169.254.0.1"};
    const char *pub[] = {"::ffff:8.8.8.8", "::ffff:1.1.1.1", "::ffff:172.32.0.1"};
    for (size_t i = 0; i < sizeof priv / sizeof *priv; i++)
        if (!v6_private(priv[i])) fail_msg("%s should be private", priv[i]);
    for (size_t i = 0; i < sizeof pub / sizeof *pub; i++)
        if (v6_private(pub[i])) fail_msg("%s should be public", pub[i]);
}

/* ---- deliveries ---- */

/* A 2xx is delivered once, signed over exactly the body with the endpoint's secret; an event
 * queued before the start is sent at start, one queued while running at once. */
static void test_delivers_signed_event(void **state)
{
    fixture *f = *state;
    f->l = listener_start((const int[]){200, 0});
    add_endpoint(f, "we_ok", "acct_D", 0);
    int64_t t0 = util_now();
    const char *ev = emit(f, "acct_D", 0);
    assert_int_equal(pending_webhooks(f, "acct_D", ev), 1);
    start(f);
    wait_hits(f->l, 1);
    row r = wait_row(f, ev, "we_ok", 1);
    assert_int_equal(r.state, 1);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.next_ms, -1);
    assert_int_equal(pending_webhooks(f, "acct_D", ev), 0);

    hit *h = &f->l->hits[0];
    assert_string_equal(h->path, "/hook");
    assert_string_equal(h->content_type, "application/json; charset=utf-8");
    assert_int_equal(strncmp(h->user_agent, "Stripe/1.0", 10), 0);
    long long t = -1;
    char v1[80] = "";
    assert_int_equal(sscanf(h->signature, "t=%lld,v1=%79s", &t, v1), 2);
    assert_true(t >= t0 && t <= util_now());
    char sig[WEBHOOK_SIG_MAX];
    assert_int_equal(
        webhook_sign("whsec_unit_test_secret", t, h->body, h->body_len, sig, sizeof sig), 0);
    assert_string_equal(h->signature, sig);

    json_error_t jerr;
    json_t *j = json_loadb(h->body, h->body_len, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "id")), ev);
    assert_string_equal(json_string_value(json_object_get(j, "object")), "event");
    assert_string_equal(json_string_value(json_object_get(j, "type")), EVT_CREATED);
    json_t *obj = json_object_get(json_object_get(j, "data"), "object");
    assert_string_equal(json_string_value(json_object_get(obj, "object")),
                        "identity.verification_session");
    json_decref(j);

    /* While running: the commit's outbox hook wakes the worker (no waiting for a poll). */
    int64_t queued = util_now_ms();
    const char *ev2 = emit(f, "acct_D", 0);
    wait_hits(f->l, 2);
    assert_true(f->l->hits[1].at_ms - queued < 2000);
    assert_int_equal(wait_row(f, ev2, "we_ok", 1).state, 1);
    assert_non_null(strstr(f->l->hits[1].body, ev2));
    assert_int_equal(hits(f->l), 2);
}

/* Any non-2xx is retried after each delay of the schedule (+-10%), and given up after the
 * last: n delays, n + 1 attempts. */
static void test_retries_on_schedule_then_gives_up(void **state)
{
    fixture *f = *state;
    f->l = listener_start((const int[]){500, 0});
    schedule(f, "100ms,300ms,700ms");
    add_endpoint(f, "we_fail", "acct_R", 0);
    start(f);
    const char *ev = emit(f, "acct_R", 0);
    wait_hits(f->l, 4);
    row r = wait_row(f, ev, "we_fail", 4);
    assert_int_equal(r.state, 2);
    assert_int_equal(r.next_ms, -1);
    assert_int_equal(pending_webhooks(f, "acct_R", ev), 1); /* never delivered */

    const int64_t delay[] = {100, 300, 700};
    for (int i = 0; i < 3; i++) {
        int64_t gap = f->l->hits[i + 1].at_ms - f->l->hits[i].at_ms;
        if (gap < delay[i] * 9 / 10 || gap > delay[i] * 11 / 10 + 150)
            fail_msg("retry %d came %lld ms after the previous attempt, delay %lld ms", i + 1,
                     (long long)gap, (long long)delay[i]);
    }
    /* Given up: nothing more comes. */
    usleep(300000);
    assert_int_equal(hits(f->l), 4);
}

/* 3xx and 4xx are failures, 299 is a success; the retry that succeeds clears the event's
 * pending_webhooks. */
static void test_status_classes(void **state)
{
    fixture *f = *state;
    f->l = listener_start((const int[]){302, 404, 300, 299, 0});
    schedule(f, "20ms,20ms,20ms,20ms,20ms");
    add_endpoint(f, "we_cls", "acct_S", 0);
    start(f);
    const char *ev = emit(f, "acct_S", 0);
    wait_hits(f->l, 4);
    row r = wait_row(f, ev, "we_cls", 4);
    assert_int_equal(r.state, 1);
    assert_int_equal(r.attempts, 4);
    assert_int_equal(pending_webhooks(f, "acct_S", ev), 0);
    usleep(100000);
    assert_int_equal(hits(f->l), 4);

    /* 204 is a success at the first attempt. */
    listener_stop(f->l);
    f->l = listener_start((const int[]){204, 0});
    add_endpoint(f, "we_204", "acct_T", 0);
    const char *ev2 = emit(f, "acct_T", 0);
    assert_int_equal(wait_row(f, ev2, "we_204", 1).state, 1);
}

/* Advance the test clock to the row's next attempt, kick the worker and wait for it. */
static void advance_to_next(fixture *f, const row *r, int want_hits)
{
    int64_t now = util_now_ms();
    if (r->next_ms > now) util_clock_advance(r->next_ms - now + 10);
    delivery_kick(f->d);
    wait_hits(f->l, want_hits);
}

/* The default test-mode schedule: 3 retries about 10 min, 1 h and 3 h apart, then failed. */
static void test_default_test_mode_schedule(void **state)
{
    fixture *f = *state;
    f->l = listener_start((const int[]){503, 0});
    add_endpoint(f, "we_tm", "acct_TM", 0);
    start(f);
    const char *ev = emit(f, "acct_TM", 0);
    const int64_t minutes[] = {10, 60, 180};
    wait_hits(f->l, 1);
    for (int i = 0; i < 3; i++) {
        row r = wait_row(f, ev, "we_tm", i + 1);
        assert_int_equal(r.state, 0);
        int64_t delay = r.next_ms - f->l->hits[i].at_ms;
        int64_t base = minutes[i] * 60000;
        if (delay < base * 9 / 10 || delay > base * 11 / 10 + 2000)
            fail_msg("test-mode retry %d due %lld ms after attempt %d", i + 1, (long long)delay,
                     i + 1);
        advance_to_next(f, &r, i + 2);
    }
    row r = wait_row(f, ev, "we_tm", 4);
    assert_int_equal(r.state, 2);
    assert_int_equal(r.next_ms, -1);
    /* Even a day later nothing more is sent. */
    util_clock_advance(86400 * 1000LL);
    delivery_kick(f->d);
    usleep(100000);
    assert_int_equal(hits(f->l), 4);
}

/* The default live schedule: 11 retries with growing delays over about 2.9 days. A live
 * endpoint on loopback needs allow_private. */
static void test_default_live_schedule(void **state)
{
    fixture *f = *state;
    f->l = listener_start((const int[]){500, 0});
    f->cfg.allow_private = 1;
    add_endpoint(f, "we_live", "acct_L", 1);
    start(f);
    const char *ev = emit(f, "acct_L", 1);
    /* delivery.c LIVE_SCHEDULE, in minutes. */
    const int64_t minutes[] = {5, 30, 60, 120, 300, 600, 600, 600, 600, 600, 600};
    int64_t total = 0;
    wait_hits(f->l, 1);
    for (int i = 0; i < 11; i++) {
        row r = wait_row(f, ev, "we_live", i + 1);
        assert_int_equal(r.state, 0);
        int64_t delay = r.next_ms - f->l->hits[i].at_ms;
        int64_t base = minutes[i] * 60000;
        if (delay < base * 9 / 10 || delay > base * 11 / 10 + 2000)
            fail_msg("live retry %d due %lld ms after attempt %d", i + 1, (long long)delay, i + 1);
        total += delay;
        advance_to_next(f, &r, i + 2);
    }
    row r = wait_row(f, ev, "we_live", 12);
    assert_int_equal(r.state, 2);
    assert_true(total <= 3 * 86400000LL); /* CONTRACT.md §8: up to 3 days */
    assert_int_equal(hits(f->l), 12);
}

/* The jitter: every delay within [-10%, +10%) of the schedule's, and really spread. */
static void test_jitter_bounds(void **state)
{
    fixture *f = *state;
    f->l = listener_start((const int[]){500, 0});
    schedule(f, "1h");
    add_endpoint(f, "we_j", "acct_J", 0);
    start(f);
    enum { N = 24 };
    const char *ev[N];
    for (int i = 0; i < N; i++)
        ev[i] = emit(f, "acct_J", 0);
    wait_hits(f->l, N);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int i = 0; i < N; i++) {
        row r = wait_row(f, ev[i], "we_j", 1);
        assert_int_equal(r.state, 0);
        int64_t at = -1;
        for (int k = 0; k < N; k++)
            if (strstr(f->l->hits[k].body, ev[i])) at = f->l->hits[k].at_ms;
        assert_true(at > 0);
        int64_t delay = r.next_ms - at;
        if (delay < 3240000 || delay > 3960000 + 2000)
            fail_msg("delay %lld ms outside 1 h +-10%%", (long long)delay);
        if (delay < lo) lo = delay;
        if (delay > hi) hi = delay;
    }
    assert_true(hi - lo > 60000); /* 24 draws over 12 minutes spread over more than one */

    /* One delay: the second attempt is the last. */
    util_clock_advance(4000 * 1000);
    delivery_kick(f->d);
    wait_hits(f->l, 2 * N);
    for (int i = 0; i < N; i++)
        assert_int_equal(wait_row(f, ev[i], "we_j", 2).state, 2);
}

/* Live endpoints may not reach loopback unless allowed: the connection is refused before it is
 * made, and retried as a failure. Test-mode and forward endpoints may. */
static void test_live_endpoint_private_address(void **state)
{
    fixture *f = *state;
    f->l = listener_start((const int[]){200, 0});
    schedule(f, "1h");
    add_endpoint(f, "we_lv", "acct_P", 1);
    char secret[64];
    assert_int_equal(delivery_set_forward(
                         f->fx.st, arena_printf(f->fx.a, "http://127.0.0.1:%d/hook", f->l->port),
                         secret, sizeof secret),
                     0);
    start(f);
    const char *ev = emit(f, "acct_P", 1);
    row r = wait_row(f, ev, "we_lv", 1);
    assert_int_equal(r.state, 0);
    assert_true(r.next_ms > util_now_ms() + 3000000);
    assert_int_equal(wait_row(f, ev, STORE_FORWARD_ID, 1).state, 1);
    usleep(50000);
    assert_int_equal(hits(f->l), 1); /* the forward delivery only */
    assert_int_equal(pending_webhooks(f, "acct_P", ev), 1);

    /* Allowed: the retry goes through. */
    delivery_stop(f->d);
    f->cfg.allow_private = 1;
    start(f);
    util_clock_advance(r.next_ms - util_now_ms() + 10);
    delivery_kick(f->d);
    wait_hits(f->l, 2);
    assert_int_equal(wait_row(f, ev, "we_lv", 2).state, 1);
    assert_int_equal(pending_webhooks(f, "acct_P", ev), 0);
}

/* No answer within timeout_ms is a failure. */
static void test_timeout_is_a_failure(void **state)
{
    fixture *f = *state;
    f->l = listener_start((const int[]){200, 0});
    f->l->silent = 1;
    f->cfg.timeout_ms = 300;
    schedule(f, "1h");
    add_endpoint(f, "we_slow", "acct_O", 0);
    start(f);
    const char *ev = emit(f, "acct_O", 0);
    wait_hits(f->l, 1);
    row r = wait_row(f, ev, "we_slow", 1);
    assert_int_equal(r.state, 0);
    assert_true(r.next_ms - f->l->hits[0].at_ms >= 3240000);
    assert_int_equal(pending_webhooks(f, "acct_O", ev), 1);
}

/* Stopping aborts the attempt in flight without recording it: after the next start the
 * delivery is sent again and counts as its first attempt. */
static void test_stop_keeps_attempt_pending(void **state)
{
    fixture *f = *state;
    f->l = listener_start((const int[]){200, 0});
    f->l->silent = 1;
    add_endpoint(f, "we_stop", "acct_X", 0);
    start(f);
    const char *ev = emit(f, "acct_X", 0);
    wait_hits(f->l, 1);
    int64_t t = util_mono_us();
    delivery_stop(f->d);
    f->d = NULL;
    assert_true(util_mono_us() - t < 3000000); /* not waiting out the 10 s timeout */
    row r = outbox_row(f, ev, "we_stop");
    assert_int_equal(r.attempts, 0);
    assert_int_equal(r.state, 0);

    pthread_mutex_lock(&f->l->mu);
    f->l->silent = 0;
    pthread_mutex_unlock(&f->l->mu);
    start(f);
    wait_hits(f->l, 2);
    r = wait_row(f, ev, "we_stop", 1);
    assert_int_equal(r.state, 1);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(pending_webhooks(f, "acct_X", ev), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_schedule),
        cmocka_unit_test(test_private_addresses),
        cmocka_unit_test(test_private_addresses_v4_mapped),
        cmocka_unit_test_setup_teardown(test_delivers_signed_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_on_schedule_then_gives_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_classes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_test_mode_schedule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_live_schedule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jitter_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_endpoint_private_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_is_a_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_keeps_attempt_pending, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
