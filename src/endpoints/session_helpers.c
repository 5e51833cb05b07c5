/*
 * test_helpers_api: POST /v1/test_helpers/identity/verification_sessions/{session}/process,
 * /verify and /require_input (CONTRACT.md §11 "Moving a session forward (test mode)"): verifyd's
 * own paths, not Stripe's (the Stripe CLI fixtures that call them exist only on an unreleased CLI
 * branch, and no official SDK has them). Test-mode keys only.
 *
 * Each validates its parameters, then runs one store job that applies the transition
 * (lifecycle.c: session, report and events in order), renders the session and saves the
 * response for idempotent replay, all in one transaction. Not for: the transitions themselves.
 */
#include <string.h>

#include "endpoints/endpoints.h"
#include "identity/session_store.h"
#include "background/worker.h"
#include "identity/lifecycle.h"
#include "identity/report.h"

typedef enum { TH_PROCESS, TH_VERIFY, TH_REQUIRE_INPUT } th_action;

static const param_spec string_item[] = {{"", P_STRING, 0, .max_len = 5000}, {NULL}};
static const param_spec last_error_fields[] = {
    {"code", P_ENUM, 0, .enums = report_last_error_codes}, {NULL}};
static const param_spec expand_only_spec[] = {{"expand", P_ARRAY, 0, .fields = string_item},
                                              {NULL}};
static const param_spec require_input_spec[] = {
    {"expand", P_ARRAY, 0, .fields = string_item},
    {"last_error", P_OBJECT, 0, .fields = last_error_fields},
    {NULL}};

typedef struct th_job {
    api_ctx *c;
    th_action action;
    unsigned expand;
    const char *code; /* require_input: last_error[code], or NULL */
    api_result res;
} th_job;

static int th_run(store_txn *t, void *arg)
{
    th_job *j = arg;
    api_ctx *c = j->c;
    session s;
    apierr e;
    int answered;
    int rc = sessions_job_read(c, t, &j->res, &s, &answered);
    if (answered) return rc;
    const lifecycle_origin origin = {c->request_id, c->idem_key};
    const char *action = "process", *allowed = "requires_input";
    switch (j->action) {
    case TH_PROCESS:
        rc = lifecycle_process(t, c->a, &s, &origin);
        break;
    case TH_VERIFY:
        action = "verify";
        allowed = "requires_input or processing";
        rc = lifecycle_verify(t, c->a, &s, &origin);
        break;
    case TH_REQUIRE_INPUT:
        action = "require input on";
        allowed = "requires_input or processing";
        rc = lifecycle_require_input(t, c->a, &s, j->code, &origin);
        break;
    }
    if (rc == LIFECYCLE_WRONG_STATE) {
        if (s.redaction != SESSION_REDACTION_NONE)
            apierr_invalid(&e, c->a, NULL, NULL,
                           "This VerificationSession has been redacted and can no longer be "
                           "used.");
        else
            api_err_state(c, &e, action, allowed, session_status_name(s.status));
        return api_job_error(j->c, t, &j->res, &e);
    }
    if (rc != 0) return rc;
    j->res.status = 200;
    j->res.object_id = arena_strdup(c->a, s.id);
    rc = sessions_render(c, t, &s, j->expand, &j->res.body);
    if (rc != 0) return rc;
    return api_idem_save(c, t, &j->res);
}

static void th_done(void *arg, int rc)
{
    th_job *j = arg;
    api_finish(j->c, &j->res, rc);
}

static void submit(api_ctx *c, th_action action, const param_spec *spec)
{
    th_job *j = arena_calloc(c->a, sizeof *j);
    j->c = c;
    j->action = action;
    if (sessions_validate(c, spec, &j->expand) != 0) return;
    if (api_require_test_mode(c) != 0) return;
    j->code = params_str(form_get(c->params, "last_error"), "code");
    store_submit(c->app->st, th_run, th_done, j);
}

void session_helpers_process(api_ctx *c)
{
    submit(c, TH_PROCESS, expand_only_spec);
}

void session_helpers_verify(api_ctx *c)
{
    submit(c, TH_VERIFY, expand_only_spec);
}

void session_helpers_require_input(api_ctx *c)
{
    submit(c, TH_REQUIRE_INPUT, require_input_spec);
}
