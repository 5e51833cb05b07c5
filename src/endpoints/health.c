/*
 * health_api: GET /healthz and GET /readyz, as load balancers and orchestrators probe them. No
 * key, always served (they tell nothing about any account). /healthz is 200 while the process
 * answers at all; /readyz is 200 when the store can serve (a read succeeds and the writer's last
 * commit did not fail: store_health) and 503 otherwise, so that a balancer stops sending writes
 * that would only get 500s.
 *
 * Not for: the numbers (metrics.c).
 */
#include "endpoints/endpoints.h"

void health_live(api_ctx *c)
{
    buf out;
    buf_init(&out, c->a);
    buf_puts(&out, "ok\n");
    api_respond_page(c, 200, "text/plain; charset=utf-8", &out);
}

void health_ready(api_ctx *c)
{
    buf out;
    buf_init(&out, c->a);
    int rc = store_health(c->app->st);
    if (rc == 0) {
        buf_puts(&out, "ready\n");
        api_respond_page(c, 200, "text/plain; charset=utf-8", &out);
        return;
    }
    buf_puts(&out, rc == STORE_UNAVAILABLE
                       ? "not ready: the database files were removed or replaced\n"
                       : "not ready: the database failed (a read or the last commit)\n");
    api_respond_page(c, 503, "text/plain; charset=utf-8", &out);
}
