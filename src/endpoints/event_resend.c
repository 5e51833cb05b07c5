/*
 * event_resend_api: POST /v1/test_helpers/verifyd/events/{id}/resend with
 * `webhook_endpoint=we_...` (CONTRACT.md §11 "Test control plane"): verifyd's own path, as
 * Stripe's Dashboard "Resend" is not in its API. It queues one more delivery of the account's
 * event to one of the account's endpoints, due now, in the durable outbox like any other: signed
 * afresh, retried on the endpoint's schedule, logged in the attempt log. Test-mode keys only.
 * The event's pending_webhooks is left as it is: it counts the endpoints the event went to.
 *
 * Not for: sending (delivery.c) or deciding which endpoints an event goes to (event.c).
 */
#include "endpoints/endpoints.h"

#include "base/util.h"

static const param_spec resend_spec[] = {{"webhook_endpoint", P_STRING, P_REQUIRED, .max_len = 255},
                                         {NULL}};

typedef struct resend_job {
    api_ctx *c;
    store_event ev;
    const char *endpoint;
    api_result res;
} resend_job;

static int resend_run(store_txn *t, void *arg)
{
    resend_job *j = arg;
    api_ctx *c = j->c;
    store_webhook w;
    int rc = store_txn_webhook_get(t, c->account, j->endpoint, c->a, &w);
    if (rc == STORE_NOT_FOUND) {
        apierr e;
        api_err_missing(c, &e, "webhook_endpoint", "webhook_endpoint", j->endpoint);
        return api_job_error(c, t, &j->res, &e);
    }
    if (rc != 0) return rc;
    rc = store_txn_delivery_add(t, &j->ev, j->endpoint, util_now_ms());
    if (rc != 0) return rc;
    json_writer jw;
    j->res.status = 200;
    api_json_begin(c, &jw, &j->res.body);
    json_obj_begin(&jw);
    json_kstr(&jw, "object", "verifyd.event_resend");
    json_kstr(&jw, "event", j->ev.id);
    json_kstr(&jw, "webhook_endpoint", j->endpoint);
    json_kbool(&jw, "livemode", 0);
    json_obj_end(&jw);
    return api_idem_save(c, t, &j->res);
}

static void resend_done(void *arg, int rc)
{
    resend_job *j = arg;
    api_finish(j->c, &j->res, rc);
}

void event_resend(api_ctx *c)
{
    apierr e;
    if (params_validate(c->params, resend_spec, c->a, &e) != 0) {
        api_respond_error(c, &e);
        return;
    }
    if (api_require_test_mode(c) != 0) return;
    resend_job *j = arena_calloc(c->a, sizeof *j);
    j->c = c;
    j->endpoint = params_str(c->params, "webhook_endpoint");
    int rc = store_event_get(c->app->st, c->account, c->path_id, c->a, &j->ev);
    if (api_read_failed(c, rc, "event", "id")) return;
    store_submit(c->app->st, resend_run, resend_done, j);
}
