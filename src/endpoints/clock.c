/*
 * test_clock_api: the account's test clock, GET /v1/test_helpers/verifyd/clock and
 * POST /v1/test_helpers/verifyd/clock/advance (`seconds=N`): verifyd's own (CONTRACT.md §11
 * "Test control plane"), Stripe has no test clock for Identity. Test-mode keys only.
 *
 * The clock is the key's account's (with its connected accounts): advancing it moves that
 * account's time only (due redactions, delayed outcomes, webhook retries, link and idempotency
 * expiry, event pruning, `created`), so test suites that share one server never move each
 * other's time. Time never moves backwards, and an advance is stored: it survives a restart.
 *
 * Not for: what an account's time means (identity/account_clock.c) or the work that falls due
 * (the workers).
 */
#include "endpoints/endpoints.h"
#include "background/delivery.h"
#include "background/worker.h"
#include "base/util.h"
#include "identity/account_clock.h"

/* Ten years: far past every timer verifyd has (the longest is the 30 days of events). */
#define ADVANCE_MAX_S (10LL * 365 * 86400)

static const param_spec retrieve_spec[] = {{NULL}};
static const param_spec advance_spec[] = {
    {"seconds", P_INT, P_REQUIRED, .min = 1, .max = ADVANCE_MAX_S}, {NULL}};

/* Validate c->params against spec and refuse live keys: 0, or -1 when an error was answered. */
static int admit(api_ctx *c, const param_spec *spec)
{
    apierr e;
    if (params_validate(c->params, spec, c->a, &e) != 0) {
        api_respond_error(c, &e);
        return -1;
    }
    return api_require_test_mode(c);
}

/* The clock as the answer's body: {"object": "verifyd.test_clock", "now": <unix seconds>}. */
static void render_clock(api_ctx *c, int64_t now, api_result *res)
{
    json_writer w;
    res->status = 200;
    api_json_begin(c, &w, &res->body);
    json_obj_begin(&w);
    json_kstr(&w, "object", "verifyd.test_clock");
    json_kbool(&w, "livemode", 0);
    json_kint(&w, "now", now);
    json_obj_end(&w);
}

void clock_retrieve(api_ctx *c)
{
    if (admit(c, retrieve_spec) != 0) return;
    api_result res = {0};
    render_clock(c, account_clock_now(c->account), &res);
    api_finish(c, &res, 0);
}

typedef struct advance_job {
    api_ctx *c;
    int64_t delta_ms;
    api_result res;
} advance_job;

/* The advance, its answer and the answer's idempotency record, in one job: a retry with the same
 * key replays the answer instead of moving the clock again. */
static int advance_run(store_txn *t, void *arg)
{
    advance_job *j = arg;
    int64_t offset_ms;
    int rc = account_clock_txn_advance(t, j->c->account, j->delta_ms, &offset_ms);
    if (rc != 0) return rc;
    render_clock(j->c, (util_now_ms() + offset_ms) / 1000, &j->res);
    return api_idem_save(j->c, t, &j->res);
}

/* Runs on an HTTP thread, never the store's writer: it waits for its job and for the workers'
 * passes, which run store jobs. */
void clock_advance(api_ctx *c)
{
    if (admit(c, advance_spec) != 0) return;
    app *ap = c->app;
    advance_job j = {.c = c, .delta_ms = params_int(c->params, "seconds", 0) * 1000};
    int rc = store_run(ap->st, advance_run, &j);
    if (rc != 0) {
        /* Rolled back: the map already holds the new offset; put back the stored one. */
        account_clock_load(ap->st);
    } else {
        /* The answer comes once the redactions and delayed outcomes now due are done, so a test
         * can tell "not due yet" from "not done yet"; webhook deliveries now due start at once,
         * and events now past their 30 days go soon after. */
        worker_sync(ap->redactor);
        worker_sync(ap->outcomes);
        if (ap->delivery) delivery_clock_moved(ap->delivery);
    }
    api_finish(c, &j.res, rc);
}
