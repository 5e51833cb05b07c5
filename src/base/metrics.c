/*
 * metrics: see metrics.h. Request series live in a fixed array searched linearly: a few dozen
 * routes times the handful of statuses each answers, far below MAX_SERIES.
 */
#include "base/metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define MAX_SERIES 512

/* Request latency buckets, in seconds (upper bounds; +Inf is implicit). */
static const double LATENCY_LE[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                    0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define N_LATENCY (sizeof LATENCY_LE / sizeof *LATENCY_LE)
/* Group-commit batch size buckets, in jobs. */
static const int BATCH_LE[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
#define N_BATCH (sizeof BATCH_LE / sizeof *BATCH_LE)

typedef struct series {
    char *route;
    char method[8];
    int status;
    uint64_t count;
    uint64_t bucket[N_LATENCY]; /* non-cumulative; cumulated when rendered */
    int64_t sum_us;
} series;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static series requests[MAX_SERIES];
static size_t n_requests;
static uint64_t batch_bucket[N_BATCH + 1]; /* the last one: above every bound */
static uint64_t batch_count, batch_sum;
static uint64_t deliveries[3];

/* A method as a label: the ones the API serves, else "other" (a client's method is arbitrary). */
static const char *method_label(const char *m)
{
    static const char *const known[] = {"GET", "POST", "DELETE", "HEAD", "PUT", "PATCH"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(m, known[i]) == 0) return known[i];
    return "other";
}

void metrics_request(const char *route, const char *method, int status, int64_t us)
{
    const char *m = method_label(method);
    double s = (double)us / 1e6;
    pthread_mutex_lock(&mu);
    series *v = NULL;
    for (size_t i = 0; i < n_requests && !v; i++)
        if (requests[i].status == status && strcmp(requests[i].method, m) == 0 &&
            strcmp(requests[i].route, route) == 0)
            v = &requests[i];
    if (!v && n_requests < MAX_SERIES - 1) {
        v = &requests[n_requests++];
        v->route = xstrdup(route);
        strcpy(v->method, m);
        v->status = status;
    }
    if (!v) { /* full: one last series takes the rest */
        v = &requests[MAX_SERIES - 1];
        if (!v->route) {
            v->route = xstrdup("other");
            strcpy(v->method, "other");
            n_requests = MAX_SERIES;
        }
    }
    v->count++;
    v->sum_us += us;
    for (size_t b = 0; b < N_LATENCY; b++)
        if (s <= LATENCY_LE[b]) {
            v->bucket[b]++;
            break;
        }
    pthread_mutex_unlock(&mu);
}

void metrics_batch(int n)
{
    pthread_mutex_lock(&mu);
    size_t b = 0;
    while (b < N_BATCH && n > BATCH_LE[b])
        b++;
    batch_bucket[b]++;
    batch_count++;
    batch_sum += (uint64_t)n;
    pthread_mutex_unlock(&mu);
}

void metrics_delivery(int outcome)
{
    if (outcome < 0 || outcome > 2) return;
    pthread_mutex_lock(&mu);
    deliveries[outcome]++;
    pthread_mutex_unlock(&mu);
}

/* A label value with \, " and newline escaped, as the exposition format asks. */
static void put_label(buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            buf_putc(out, '\\'), buf_putc(out, *s);
        else if (*s == '\n')
            buf_puts(out, "\\n");
        else
            buf_putc(out, *s);
    }
}

static void put_request_labels(buf *out, const series *v)
{
    buf_puts(out, "route=\"");
    put_label(out, v->route);
    buf_printf(out, "\",method=\"%s\",status=\"%d\"", v->method, v->status);
}

void metrics_render(buf *out)
{
    pthread_mutex_lock(&mu);
    buf_puts(out, "# HELP verifyd_http_requests_total HTTP requests answered, by route pattern, "
                  "method and status.\n# TYPE verifyd_http_requests_total counter\n");
    for (size_t i = 0; i < n_requests; i++) {
        buf_puts(out, "verifyd_http_requests_total{");
        put_request_labels(out, &requests[i]);
        buf_printf(out, "} %llu\n", (unsigned long long)requests[i].count);
    }
    buf_puts(out, "# HELP verifyd_http_request_duration_seconds Time from a request's arrival to "
                  "its answer.\n# TYPE verifyd_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < n_requests; i++) {
        const series *v = &requests[i];
        uint64_t cum = 0;
        for (size_t b = 0; b <= N_LATENCY; b++) {
            cum += b < N_LATENCY ? v->bucket[b] : 0;
            buf_puts(out, "verifyd_http_request_duration_seconds_bucket{");
            put_request_labels(out, v);
            if (b < N_LATENCY)
                buf_printf(out, ",le=\"%g\"} %llu\n", LATENCY_LE[b], (unsigned long long)cum);
            else
                buf_printf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)v->count);
        }
        buf_puts(out, "verifyd_http_request_duration_seconds_sum{");
        put_request_labels(out, v);
        buf_printf(out, "} %.6f\n", (double)v->sum_us / 1e6);
        buf_puts(out, "verifyd_http_request_duration_seconds_count{");
        put_request_labels(out, v);
        buf_printf(out, "} %llu\n", (unsigned long long)v->count);
    }
    buf_puts(out, "# HELP verifyd_store_batch_size Jobs per group commit of the SQLite writer.\n"
                  "# TYPE verifyd_store_batch_size histogram\n");
    uint64_t cum = 0;
    for (size_t b = 0; b < N_BATCH; b++) {
        cum += batch_bucket[b];
        buf_printf(out, "verifyd_store_batch_size_bucket{le=\"%d\"} %llu\n", BATCH_LE[b],
                   (unsigned long long)cum);
    }
    buf_printf(out,
               "verifyd_store_batch_size_bucket{le=\"+Inf\"} %llu\n"
               "verifyd_store_batch_size_sum %llu\nverifyd_store_batch_size_count %llu\n",
               (unsigned long long)batch_count, (unsigned long long)batch_sum,
               (unsigned long long)batch_count);
    static const char *const outcome[] = {"delivered", "retry", "failed"};
    buf_puts(out, "# HELP verifyd_webhook_attempts_total Webhook delivery attempts, by outcome "
                  "(retry: failed, another attempt is scheduled; failed: given up).\n"
                  "# TYPE verifyd_webhook_attempts_total counter\n");
    for (int i = 0; i < 3; i++)
        buf_printf(out, "verifyd_webhook_attempts_total{outcome=\"%s\"} %llu\n", outcome[i],
                   (unsigned long long)deliveries[i]);
    pthread_mutex_unlock(&mu);
}
