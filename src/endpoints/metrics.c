/*
 * metrics_api: GET /metrics, the Prometheus text exposition format (0.0.4): what base/metrics.c
 * counted (requests by route pattern, method and status with their latency, group-commit batch
 * sizes, webhook attempt outcomes) plus two gauges read from the store now: the outbox depth and
 * the redaction backlog. No key, secret, id or personal data appears in it. Served under the
 * operator pages' rule (operator.c): open on loopback, else only with --dashboard-key as a
 * bearer token.
 *
 * Not for: counting (base/metrics.c) or health (health.c).
 */
#include "endpoints/endpoints.h"

#include "base/metrics.h"

void metrics_get(api_ctx *c)
{
    buf out;
    buf_init(&out, c->a);
    int access = operator_access(c);
    if (access == OPERATOR_OFF) {
        api_respond_unknown_route(c);
        return;
    }
    if (access == OPERATOR_KEY_NEEDED) {
        http_add_header(c->req, "WWW-Authenticate", "Bearer realm=\"verifyd\"");
        buf_puts(&out, "This verifyd serves /metrics with its --dashboard-key only: send it as "
                       "Authorization: Bearer <key>.\n");
        api_respond_page(c, 401, "text/plain; charset=utf-8", &out);
        return;
    }
    metrics_render(&out);
    store_stats s;
    if (store_stats_get(c->app->st, &s) == 0) {
        buf_printf(&out,
                   "# HELP verifyd_outbox_pending Webhook deliveries not yet delivered nor "
                   "given up.\n# TYPE verifyd_outbox_pending gauge\nverifyd_outbox_pending %lld\n"
                   "# HELP verifyd_redactions_pending Sessions whose redaction is processing.\n"
                   "# TYPE verifyd_redactions_pending gauge\nverifyd_redactions_pending %lld\n",
                   (long long)s.outbox_pending, (long long)s.redactions_pending);
    }
    buf_printf(&out,
               "# HELP verifyd_store_up 1 when the store can serve (as /readyz).\n"
               "# TYPE verifyd_store_up gauge\nverifyd_store_up %d\n",
               store_health(c->app->st) == 0);
    api_respond_page(c, 200, "text/plain; version=0.0.4; charset=utf-8", &out);
}
