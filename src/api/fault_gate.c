/*
 * fault_gate: where the fault rules (identity/fault.h) meet a request, before its idempotency
 * key is held and before its handler runs (CONTRACT.md §11 "Test control plane"). An injected
 * error is answered here with Stripe's headers, so it changes no data and is saved under no
 * key; a latency parks the request on the timer without holding an HTTP thread, then lets it go
 * on as if it had just arrived.
 *
 * Not for: making or listing rules (endpoints/faults.c).
 */
#include <string.h>

#include "api/internal.h"
#include "base/timer.h"
#include "identity/fault.h"

/* The control plane itself is never faulted: a rule on "*" must not lock out its own DELETE. */
#define CONTROL_PLANE "/v1/test_helpers/verifyd/"

typedef struct parked {
    api_ctx *c;
    const api_route *r;
    api__route_fn run;
    fault_verdict v;
} parked;

static void answer(api_ctx *c, const api_route *r, api__route_fn run, const fault_verdict *v)
{
    if (!v->fail) {
        run(c, r);
        return;
    }
    if (v->should_retry >= 0) c->should_retry = v->should_retry ? "true" : "false";
    /* Stripe: docs.stripe.com/rate-limits, a limited request's 429 names the limiter that
     * refused it; verifyd's is the account-wide rate limiter. No Retry-After is documented. */
    if (v->rate_limited) http_add_header(c->req, "Stripe-Rate-Limited-Reason", "global-rate");
    apierr e;
    apierr_set(&e, c->a, v->status, v->err_type, v->err_code, NULL, "%s", v->err_message);
    api_respond_error(c, &e);
}

static void resume(void *arg)
{
    parked *p = arg;
    answer(p->c, p->r, p->run, &p->v);
}

int api__fault_gate(api_ctx *c, const api_route *r, api__route_fn run)
{
    app *ap = c->app;
    if (!ap->faults || c->livemode) return 0;
    if (strncmp(http_path(c->req), CONTROL_PLANE, strlen(CONTROL_PLANE)) == 0) return 0;
    fault_verdict v;
    if (!fault_request(ap->faults, c->account, http_method(c->req), http_path(c->req), c->a, &v))
        return 0;
    if (v.latency_ms > 0 && ap->timer) {
        parked *p = arena_calloc(c->a, sizeof *p);
        *p = (parked){c, r, run, v};
        timer_after(ap->timer, v.latency_ms, resume, p);
        return 1;
    }
    answer(c, r, run, &v);
    return 1;
}
