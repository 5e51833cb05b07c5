/*
 * faults: the fault rules of the test control plane (CONTRACT.md §11 "Test control plane"),
 * verifyd's own paths, test-mode keys only:
 *
 *   POST   /v1/test_helpers/verifyd/faults        make a rule (kind error, latency, rate_limit,
 *                                                  webhook), answered as the rule
 *   GET    /v1/test_helpers/verifyd/faults        the account's rules with their counters
 *   DELETE /v1/test_helpers/verifyd/faults        remove them all
 *   DELETE /v1/test_helpers/verifyd/faults/{id}   remove one
 *
 * Rules belong to the API key's account (a connected account's requests meet the platform's
 * rules) and live in this process's memory (identity/fault.h). Stripe has no such API; the
 * shapes follow its conventions: form-encoded in, objects with `object` out, Stripe's errors.
 *
 * Not for: applying the rules (api/fault_gate.c, background/delivery.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoints/endpoints.h"
#include "identity/account.h"
#include "identity/fault.h"

#define FAULTS_URL "/v1/test_helpers/verifyd/faults"
/* A parked request holds its connection; half a minute stays well inside the idle timeout. */
#define LATENCY_MAX_MS 30000
/* A delayed webhook is signed when it is sent, so it may wait longer than a request. */
#define DELAY_MAX_MS 600000
#define COUNT_MAX 1000000000LL

static const char *const kind_values[] = {"error", "latency", "rate_limit", "webhook", NULL};
static const char *const method_values[] = {"DELETE", "GET", "POST", NULL};
static const char *const action_values[] = {"delay", "duplicate", "fail", NULL};
static const char *const type_values[] = {"api_error", "card_error", "idempotency_error",
                                          "invalid_request_error", NULL};

static const param_spec error_fields[] = {{"code", P_STRING, .max_len = 100},
                                          {"message", P_STRING, .max_len = 5000},
                                          {"type", P_ENUM, .enums = type_values},
                                          {NULL}};
static const param_spec create_spec[] = {{"kind", P_ENUM, .enums = kind_values},
                                         {"method", P_ENUM, .enums = method_values},
                                         {"path", P_STRING, .max_len = FAULT_PATH_MAX},
                                         {"count", P_INT, .min = 1, .max = COUNT_MAX},
                                         {"probability", P_STRING, .max_len = 20},
                                         {"seed", P_INT, .min = 0, .max = INT64_MAX},
                                         {"status", P_INT, .min = 400, .max = 599},
                                         {"error", P_OBJECT, .fields = error_fields},
                                         {"should_retry", P_BOOL},
                                         {"latency_ms", P_INT, .min = 1, .max = LATENCY_MAX_MS},
                                         {"rate", P_INT, .min = 1, .max = 10000},
                                         {"endpoint", P_STRING, .max_len = 255},
                                         {"action", P_ENUM, .enums = action_values},
                                         {"delay_ms", P_INT, .min = 1, .max = DELAY_MAX_MS},
                                         {NULL}};
static const param_spec empty_spec[] = {{NULL}};

/* Which parameters each kind takes (beyond kind), in create_spec's names. */
static const char *const error_params[] = {"method", "path",  "count",        "probability", "seed",
                                           "status", "error", "should_retry", NULL};
static const char *const latency_params[] = {"method", "path",       "count", "probability",
                                             "seed",   "latency_ms", NULL};
static const char *const rate_params[] = {"rate", "should_retry", NULL};
static const char *const webhook_params[] = {"endpoint",    "action", "delay_ms", "count",
                                             "probability", "seed",   NULL};

/* The rules' account: the key's, never a connected account's namespace (fault.h). */
static const char *rules_account(api_ctx *c)
{
    return arena_strndup(c->a, c->account, account_platform_len(c->account));
}

/* Validate and refuse live keys: 0, or -1 when an error was answered. */
static int admit(api_ctx *c, const param_spec *spec)
{
    if (api_require_test_mode(c) != 0) return -1;
    apierr e;
    if (params_validate(c->params, spec, c->a, &e) != 0) {
        api_respond_error(c, &e);
        return -1;
    }
    return 0;
}

static int listed(const char *const *names, const char *name)
{
    for (size_t i = 0; names[i]; i++)
        if (strcmp(names[i], name) == 0) return 1;
    return 0;
}

/* Stripe's defaults for an injected error of status (CONTRACT.md §1 "HTTP status codes"): a 429
 * is the rate limiter's answer (its type, code and wording as Stripe's), a 5xx an api_error. */
static void error_defaults(int status, const char **type, const char **code, const char **msg)
{
    if (status == 429) {
        *type = "invalid_request_error";
        *code = "rate_limit";
        *msg = "Request rate limit exceeded. You can learn more about rate limits here "
               "https://stripe.com/docs/rate-limits.";
    } else if (status >= 500) {
        *type = "api_error";
        *code = NULL;
        *msg = "An unexpected error occurred on our servers while processing this request. "
               "(verifyd: an injected fault.)";
    } else {
        *type = "invalid_request_error";
        *code = NULL;
        *msg = "This request failed. (verifyd: an injected fault.)";
    }
}

static const char *kind_name(fault_kind k)
{
    static const char *const names[] = {"error", "latency", "rate_limit", "webhook"};
    return names[k];
}

static const char *action_name(fault_webhook_action a)
{
    static const char *const names[] = {"fail", "delay", "duplicate"};
    return names[a];
}

static void render_rule(const fault_rule *f, json_writer *w)
{
    json_obj_begin(w);
    json_kstr(w, "id", f->id);
    json_kstr(w, "object", "verifyd.fault");
    json_kstr(w, "kind", kind_name(f->kind));
    json_kint(w, "created", f->created);
    json_kbool(w, "livemode", 0);
    if (f->kind == FAULT_ERROR || f->kind == FAULT_LATENCY) {
        json_kstr(w, "method", f->method);
        json_kstr(w, "path", f->path);
    }
    if (f->kind == FAULT_WEBHOOK) {
        json_kstr(w, "endpoint", f->endpoint);
        json_kstr(w, "action", action_name(f->action));
        if (f->action == FAULT_WH_DELAY) json_kint(w, "delay_ms", f->delay_ms);
    }
    if (f->kind != FAULT_RATE_LIMIT) {
        /* count and remaining are null for a rule that applies to every match */
        json_key(w, "count");
        if (f->count_given < 0)
            json_null(w);
        else
            json_int(w, f->count_given);
        json_key(w, "remaining");
        if (f->count < 0)
            json_null(w);
        else
            json_int(w, f->count);
        json_key(w, "probability");
        char p[32];
        int n = snprintf(p, sizeof p, "%.6g", f->probability);
        json_raw(w, p, (size_t)n);
        json_kint(w, "seed", f->seed);
    }
    if (f->kind == FAULT_ERROR || f->kind == FAULT_RATE_LIMIT) {
        json_kint(w, "status", f->status);
        json_key(w, "error");
        json_obj_begin(w);
        json_kstr(w, "type", f->err_type);
        json_kstr(w, "code", f->err_code);
        json_kstr(w, "message", f->err_message);
        json_obj_end(w);
        json_key(w, "should_retry");
        if (f->should_retry < 0)
            json_null(w);
        else
            json_bool(w, f->should_retry);
    }
    if (f->kind == FAULT_LATENCY) json_kint(w, "latency_ms", f->latency_ms);
    if (f->kind == FAULT_RATE_LIMIT) json_kint(w, "rate", f->rate);
    json_kint(w, "matched", f->matched);
    json_kint(w, "applied", f->applied);
    json_obj_end(w);
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

/* Answer res; with an Idempotency-Key it is saved first, so that a retry replays it instead
 * of making a second rule (a replay is answered before the handler runs). */
static void answer_saved(api_ctx *c, saved_answer *j)
{
    if (c->idem_key)
        store_submit(c->app->st, save_run, save_done, j);
    else
        api_finish(c, &j->res, 0);
}

/* Reads c's validated parameters into *f. Returns 0, or -1 with *e. */
static int read_rule(api_ctx *c, fault_rule *f, int *has_seed, apierr *e)
{
    const form_node *p = c->params;
    const char *kind = params_str(p, "kind");
    memset(f, 0, sizeof *f);
    f->kind = !kind || strcmp(kind, "error") == 0 ? FAULT_ERROR
              : strcmp(kind, "latency") == 0      ? FAULT_LATENCY
              : strcmp(kind, "rate_limit") == 0   ? FAULT_RATE_LIMIT
                                                  : FAULT_WEBHOOK;
    const char *const *allowed = f->kind == FAULT_ERROR        ? error_params
                                 : f->kind == FAULT_LATENCY    ? latency_params
                                 : f->kind == FAULT_RATE_LIMIT ? rate_params
                                                               : webhook_params;
    for (const param_spec *s = create_spec; s->name; s++) {
        if (strcmp(s->name, "kind") == 0 || !form_get(p, s->name) || listed(allowed, s->name))
            continue;
        return apierr_invalid(e, c->a, "parameter_unknown", s->name,
                              "The parameter %s does not apply to a fault of kind %s.", s->name,
                              kind_name(f->kind));
    }
    f->account = rules_account(c);
    f->method = params_str(p, "method");
    f->path = params_str(p, "path");
    if ((f->kind == FAULT_ERROR || f->kind == FAULT_LATENCY)) {
        if (!f->path)
            return apierr_invalid(e, c->a, "parameter_missing", "path",
                                  "Missing required param: path.");
        const char *star = strchr(f->path, '*');
        if (strcmp(f->path, "*") == 0)
            f->path = NULL;
        else if (f->path[0] != '/' || (star && star[1] != '\0'))
            return apierr_invalid(e, c->a, NULL, "path",
                                  "Invalid path: '%s'. Give an exact path such as "
                                  "/v1/identity/verification_sessions, a prefix ending in '*' "
                                  "such as /v1/identity/*, or '*' for every path.",
                                  f->path);
    }
    f->count = f->count_given = params_int(p, "count", -1);
    f->probability = 1.0;
    const char *prob = params_str(p, "probability");
    if (prob) {
        char *end;
        double v = strtod(prob, &end);
        if (end == prob || *end != '\0' || !(v > 0.0 && v <= 1.0))
            return apierr_invalid(e, c->a, "parameter_invalid_value", "probability",
                                  "Invalid probability: must be a decimal number greater than 0 "
                                  "and at most 1, such as 0.25.");
        f->probability = v;
    }
    *has_seed = form_get(p, "seed") != NULL;
    f->seed = params_int(p, "seed", 0);
    f->status = (int)params_int(p, "status", f->kind == FAULT_RATE_LIMIT ? 429 : 500);
    const char *dtype, *dcode, *dmsg;
    error_defaults(f->status, &dtype, &dcode, &dmsg);
    const form_node *err = form_get(p, "error");
    f->err_type = params_str(err, "type") ? params_str(err, "type") : dtype;
    f->err_code = params_str(err, "code") ? params_str(err, "code") : dcode;
    if (f->err_code && !*f->err_code) f->err_code = NULL;
    f->err_message = params_str(err, "message") ? params_str(err, "message") : dmsg;
    f->should_retry = params_bool(p, "should_retry", -1);
    f->latency_ms = params_int(p, "latency_ms", 0);
    if (f->kind == FAULT_LATENCY && f->latency_ms == 0)
        return apierr_invalid(e, c->a, "parameter_missing", "latency_ms",
                              "Missing required param: latency_ms.");
    f->rate = (int)params_int(p, "rate", FAULT_TEST_RATE);
    if (f->kind == FAULT_WEBHOOK) {
        const char *action = params_str(p, "action");
        f->endpoint = params_str(p, "endpoint");
        if (!f->endpoint)
            return apierr_invalid(e, c->a, "parameter_missing", "endpoint",
                                  "Missing required param: endpoint.");
        if (!action)
            return apierr_invalid(e, c->a, "parameter_missing", "action",
                                  "Missing required param: action.");
        f->action = strcmp(action, "fail") == 0    ? FAULT_WH_FAIL
                    : strcmp(action, "delay") == 0 ? FAULT_WH_DELAY
                                                   : FAULT_WH_DUPLICATE;
        f->delay_ms = params_int(p, "delay_ms", 0);
        if ((f->action == FAULT_WH_DELAY) != (f->delay_ms > 0))
            return apierr_invalid(e, c->a, f->delay_ms ? NULL : "parameter_missing", "delay_ms",
                                  f->delay_ms ? "delay_ms applies only to the action delay."
                                              : "Missing required param: delay_ms.");
    }
    return 0;
}

void faults_create(api_ctx *c)
{
    if (admit(c, create_spec) != 0) return;
    apierr e;
    fault_rule f;
    int has_seed = 0;
    if (read_rule(c, &f, &has_seed, &e) != 0) {
        api_respond_error(c, &e);
        return;
    }
    if (f.kind == FAULT_WEBHOOK) {
        /* The endpoint must be one of this account's: a v1 endpoint or a v2 destination. */
        store_webhook row;
        int rc = store_webhook_get(c->app->st, c->account, f.endpoint, c->a, &row);
        if (rc == STORE_NOT_FOUND) {
            api_err_missing(c, &e, "webhook_endpoint", "endpoint", f.endpoint);
            api_respond_error(c, &e);
            return;
        }
        if (rc != 0) {
            api_finish(c, NULL, rc);
            return;
        }
    }
    saved_answer *j = arena_calloc(c->a, sizeof *j);
    j->c = c;
    fault_rule made;
    if (fault_add(c->app->faults, &f, has_seed, c->a, &made) != 0) {
        apierr_invalid(&e, c->a, NULL, NULL,
                       "An account can have at most %d fault rules. Delete one (DELETE "
                       "/v1/test_helpers/verifyd/faults/{id}) or all of them first.",
                       FAULT_MAX_PER_ACCOUNT);
        api_respond_error(c, &e);
        return;
    }
    json_writer w;
    j->res.status = 200;
    api_json_begin(c, &w, &j->res.body);
    render_rule(&made, &w);
    answer_saved(c, j);
}

void faults_list(api_ctx *c)
{
    if (admit(c, empty_spec) != 0) return;
    fault_rule *rules;
    size_t n = fault_list(c->app->faults, rules_account(c), c->a, &rules);
    api_result res = {.status = 200};
    json_writer w;
    api_json_begin(c, &w, &res.body);
    json_obj_begin(&w);
    json_kstr(&w, "object", "list");
    json_key(&w, "data");
    json_arr_begin(&w);
    for (size_t i = 0; i < n; i++)
        render_rule(&rules[i], &w);
    json_arr_end(&w);
    json_kbool(&w, "has_more", 0);
    json_kstr(&w, "url", FAULTS_URL);
    json_obj_end(&w);
    api_finish(c, &res, 0);
}

void faults_clear(api_ctx *c)
{
    if (admit(c, empty_spec) != 0) return;
    size_t n = fault_clear(c->app->faults, rules_account(c));
    api_result res = {.status = 200};
    json_writer w;
    api_json_begin(c, &w, &res.body);
    json_obj_begin(&w);
    json_kstr(&w, "object", "verifyd.faults_cleared");
    json_kbool(&w, "livemode", 0);
    json_kint(&w, "deleted", (int64_t)n);
    json_obj_end(&w);
    api_finish(c, &res, 0);
}

void faults_delete(api_ctx *c)
{
    if (admit(c, empty_spec) != 0) return;
    if (fault_remove(c->app->faults, rules_account(c), c->path_id) != 0) {
        apierr e;
        api_err_missing(c, &e, "fault", "id", c->path_id);
        api_respond_error(c, &e);
        return;
    }
    /* Stripe's shape for a deleted object. */
    api_result res = {.status = 200};
    json_writer w;
    api_json_begin(c, &w, &res.body);
    json_obj_begin(&w);
    json_kstr(&w, "id", c->path_id);
    json_kstr(&w, "object", "verifyd.fault");
    json_kbool(&w, "deleted", 1);
    json_obj_end(&w);
    api_finish(c, &res, 0);
}
