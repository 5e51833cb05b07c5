/*
 * test_clock_api: the test clock, GET /v1/test_helpers/verifyd/clock and
 * POST /v1/test_helpers/verifyd/clock/advance (`seconds=N`), served only when verifyd runs with
 * `--test-clock` (otherwise both are unknown URLs): verifyd's own, Stripe has no test clock for
 * Identity.
 *
 * The clock is the process's: advancing it moves every account's time (due redactions, delayed
 * outcomes, webhook retries, link and idempotency expiry, event pruning, `created`). That is what
 * verifyd's own tests need to test time at all without sleeping; a server shared by several test
 * suites leaves the flag off. Time never moves backwards. Test-mode keys only.
 *
 * Not for: the clock itself (util_now_ms) or the work that falls due (the workers).
 */
#include "endpoints/endpoints.h"
#include "background/delivery.h"
#include "base/util.h"
#include "background/worker.h"

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
    render_clock(c, util_now(), &res);
    api_finish(c, &res, 0);
}

typedef struct saved_answer {
    api_ctx *c;
    api_result res;
} saved_answer;

static int save_run(store_txn *t, void *arg)
{
    saved_answer *j = arg;
    return api_idem_save(j->c, t, &j->res);
}

static void save_done(void *arg, int rc)
{
    saved_answer *j = arg;
    api_finish(j->c, &j->res, rc);
}

/* Runs on an HTTP thread, never the store's writer: a worker's pass runs store jobs. */
void clock_advance(api_ctx *c)
{
    if (admit(c, advance_spec) != 0) return;
    app *ap = c->app;
    util_clock_advance(params_int(c->params, "seconds", 0) * 1000);
    /* The answer comes once the redactions and delayed outcomes now due are done, so a test can
     * tell "not due yet" from "not done yet"; webhook deliveries now due start at once. */
    worker_sync(ap->redactor);
    worker_sync(ap->outcomes);
    if (ap->delivery) delivery_kick(ap->delivery);
    saved_answer *j = arena_calloc(c->a, sizeof *j);
    j->c = c;
    render_clock(c, util_now(), &j->res);
    /* With an Idempotency-Key the answer is saved, so that a retry replays it instead of moving
     * the clock again (a replay is answered before this handler runs). */
    if (c->idem_key)
        store_submit(ap->st, save_run, save_done, j);
    else
        api_finish(c, &j->res, 0);
}
