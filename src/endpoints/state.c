/*
 * state: the account's whole state as the test control plane offers it (CONTRACT.md §11 "Test
 * control plane"): POST /v1/test_helpers/verifyd/reset empties the account, GET .../export
 * answers it as one `verifyd.export` document and POST .../import loads such a document (an
 * application/json body) into the account. verifyd's own paths: Stripe has nothing like them.
 * Test-mode keys only (a live key gets the test helpers' 400), and always the key's own account
 * (or the connected account Stripe-Account names): no call reaches another account.
 *
 * Not for: the document itself (state_export.c, state_import.c) or the SQL (the store's
 * store_txn_account_reset).
 */
#include <string.h>

#include "api/json_body.h"
#include "endpoints/endpoints.h"
#include "identity/account_clock.h"

static const param_spec no_params[] = {{NULL}};

/* Validate c->params (none are taken) and refuse live keys: 0, or -1 when answered. */
static int admit(api_ctx *c)
{
    apierr e;
    if (params_validate(c->params, no_params, c->a, &e) != 0) {
        api_respond_error(c, &e);
        return -1;
    }
    return api_require_test_mode(c);
}

/* ---- reset ---- */

typedef struct state_job {
    api_ctx *c;
    api_result res;
    endpoints__state_doc *doc; /* import */
    const char *clash;         /* import: the id that could not be inserted */
} state_job;

static int reset_run(store_txn *t, void *arg)
{
    state_job *j = arg;
    api_ctx *c = j->c;
    store_reset_counts n;
    int rc = store_txn_account_reset(t, c->account, &n);
    if (rc != 0) return rc;
    account_clock_txn_forget(t, c->account);
    json_writer w;
    j->res.status = 200;
    api_json_begin(c, &w, &j->res.body);
    json_obj_begin(&w);
    json_kstr(&w, "object", "verifyd.reset");
    json_kbool(&w, "livemode", 0);
    json_key(&w, "deleted");
    json_obj_begin(&w);
    json_kint(&w, "verification_sessions", n.sessions);
    json_kint(&w, "verification_reports", n.reports);
    json_kint(&w, "events", n.events);
    json_kint(&w, "webhook_endpoints", n.webhooks); /* v2 event destinations included */
    json_kint(&w, "pending_deliveries", n.deliveries);
    json_kint(&w, "idempotency_keys", n.idempotency_keys);
    json_obj_end(&w);
    json_obj_end(&w);
    /* Saved after the reset emptied the account's keys: a retry with this key replays the
     * answer instead of resetting again. */
    return api_idem_save(c, t, &j->res);
}

static void state_done(void *arg, int rc)
{
    state_job *j = arg;
    if (rc == STORE_EXISTS || rc == STORE_LIMIT) {
        /* The import's job rolled back whole; nothing of the document is stored. */
        apierr e;
        if (rc == STORE_EXISTS)
            apierr_invalid(&e, j->c->a, "resource_already_exists", NULL,
                           "Nothing was imported: an object with the id '%s' already exists.",
                           j->clash);
        else
            apierr_invalid(&e, j->c->a, NULL, NULL,
                           "Nothing was imported: '%s' would exceed the account's limit of %d "
                           "webhook endpoints.",
                           j->clash, ENDPOINTS_MAX);
        api_render_error(j->c, &e, &j->res.body);
        j->res.status = 400;
        rc = 0;
    }
    /* A reset that did not commit may have made the clock map forget an offset it keeps. */
    if (rc != 0) account_clock_load(j->c->app->st);
    api_finish(j->c, &j->res, rc);
}

void state_reset(api_ctx *c)
{
    if (admit(c) != 0) return;
    state_job *j = arena_calloc(c->a, sizeof *j);
    j->c = c;
    store_submit(c->app->st, reset_run, state_done, j);
}

/* ---- export ---- */

void state_export(api_ctx *c)
{
    if (admit(c) != 0) return;
    api_result res = {.status = 200};
    json_writer w;
    api_json_begin(c, &w, &res.body);
    int rc = endpoints__state_export(c->app->st, c->a, c->account, &w);
    api_finish(c, &res, rc);
}

/* ---- import ---- */

static int import_run(store_txn *t, void *arg)
{
    state_job *j = arg;
    api_ctx *c = j->c;
    int rc = endpoints__state_load(t, c->a, j->doc, &j->clash);
    if (rc != 0) return rc;
    size_t n[4];
    endpoints__state_counts(j->doc, n);
    json_writer w;
    j->res.status = 200;
    api_json_begin(c, &w, &j->res.body);
    json_obj_begin(&w);
    json_kstr(&w, "object", "verifyd.import");
    json_kbool(&w, "livemode", 0);
    json_key(&w, "imported");
    json_obj_begin(&w);
    json_kint(&w, "verification_sessions", (int64_t)n[0]);
    json_kint(&w, "verification_reports", (int64_t)n[1]);
    json_kint(&w, "events", (int64_t)n[2]);
    json_kint(&w, "webhook_endpoints", (int64_t)n[3]); /* v2 event destinations included */
    json_obj_end(&w);
    json_obj_end(&w);
    return api_idem_save(c, t, &j->res);
}

void state_import(api_ctx *c)
{
    if (api_require_test_mode(c) != 0) return;
    apierr e;
    size_t len;
    const char *body = http_body(c->req, &len);
    const char *ct = http_header(c->req, "Content-Type");
    const char *msg = NULL;
    form_node *doc;
    state_job *j = arena_calloc(c->a, sizeof *j);
    if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
        apierr_invalid(&e, c->a, NULL, NULL,
                       "Invalid request: the import takes a verifyd export document as its "
                       "body (Content-Type: application/json).");
        api_respond_error(c, &e);
        return;
    }
    if (json_body_parse(c->a, body, len, &endpoints__state_json_limits, &doc, &msg) != 0 ||
        endpoints__state_parse(c->a, doc, c->account, &j->doc, &msg) != 0) {
        apierr_invalid(&e, c->a, NULL, NULL, "Invalid import document: %s", msg);
        api_respond_error(c, &e);
        return;
    }
    j->c = c;
    store_submit(c->app->st, import_run, state_done, j);
}
