/*
 * metrics: the process's counters and histograms for GET /metrics (Prometheus text exposition
 * format 0.0.4): HTTP requests by route pattern, method and status, with their latency; the
 * SQLite writer's group-commit batch sizes; webhook delivery outcomes. Process-wide, like the
 * log level (log.h): every layer records into it without a context, and only endpoints/metrics.c
 * reads it. Thread-safe; recording takes one short mutex.
 *
 * Label values are bounded by the callers: a route is a pattern of the route table (or
 * "unmatched"), never a raw path, and nothing recorded here is a key, a secret or personal data.
 *
 * Not for: values the store knows (outbox depth, redaction backlog): the metrics endpoint reads
 * those from the store at scrape time.
 */
#ifndef VERIFYD_METRICS_H
#define VERIFYD_METRICS_H

#include <stdint.h>

#include "base/arena.h"

/* One answered request: route (a static or long-lived pattern, copied on first use), method,
 * HTTP status and the time from arrival to the answer in microseconds. Past a fixed number of
 * series (a few hundred) new combinations are counted under route "other". */
void metrics_request(const char *route, const char *method, int status, int64_t us);
/* One group commit of n jobs (the SQLite writer). */
void metrics_batch(int n);
/* One webhook attempt's outcome: delivered, or failed with a retry scheduled, or failed for good.
 */
enum { METRICS_DELIVERED, METRICS_RETRY, METRICS_GAVE_UP };
void metrics_delivery(int outcome);

/* Append every metric in the exposition format to out. */
void metrics_render(buf *out);

#endif
