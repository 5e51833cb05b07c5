/*
 * sessions_api: the /v1/identity/verification_sessions endpoints: create, retrieve, update,
 * list, cancel, redact. CONTRACT.md §2-4 and §11.
 *
 * Each handler validates its parameters against the endpoint's spec (copied from the OpenAPI
 * requestBody / query parameters), then either answers from a read, or submits a store job that
 * applies the state rules inside the transaction, writes the event, renders the response and
 * saves it for idempotent replay. Not for: the object's encoding or rendering (session.c).
 */
#include <stdio.h>
#include <string.h>

#include "endpoints/endpoints.h"
#include "identity/report_store.h"
#include "identity/session_store.h"
#include "identity/event.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/url.h"
#include "background/redactor.h"
#include "identity/report.h"
#include "identity/session.h"
#include "base/util.h"
#include "identity/account_clock.h"

/* ---- parameter specs (identity-openapi.json) ---- */

static const char *const type_values[] = {"document", "id_number", NULL};
static const char *const status_values[] = {"canceled", "processing", "requires_input", "verified",
                                            NULL};
static const char *const doc_type_values[] = {"driving_license", "id_card", "passport", NULL};

static const param_spec string_item[] = {{"", P_STRING, 0, .max_len = 5000}, {NULL}};
static const param_spec doc_type_item[] = {{"", P_ENUM, 0, .enums = doc_type_values}, {NULL}};

static const param_spec document_fields[] = {
    {"allowed_types", P_ARRAY, 0, .fields = doc_type_item, .max_items = 3},
    {"require_id_number", P_BOOL},
    {"require_live_capture", P_BOOL},
    {"require_matching_selfie", P_BOOL},
    {NULL}};
static const param_spec options_fields[] = {
    {"document", P_OBJECT, P_EMPTY_OK, .fields = document_fields}, {NULL}};
static const param_spec provided_fields[] = {{"email", P_STRING, P_EMPTY_OK, .max_len = 5000},
                                             {"phone", P_STRING, P_EMPTY_OK, .max_len = 5000},
                                             {NULL}};
static const param_spec person_fields[] = {{"account", P_STRING, P_REQUIRED, .max_len = 5000},
                                           {"person", P_STRING, P_REQUIRED, .max_len = 5000},
                                           {NULL}};

#define EXPAND_PARAM                                                                               \
    {                                                                                              \
        "expand", P_ARRAY, 0, .fields = string_item                                                \
    }

static const param_spec create_spec[] = {
    {"client_reference_id", P_STRING, 0, .max_len = 5000},
    EXPAND_PARAM,
    {"metadata", P_METADATA},
    {"options", P_OBJECT, 0, .fields = options_fields},
    {"provided_details", P_OBJECT, 0, .fields = provided_fields},
    {"related_customer", P_STRING, 0, .max_len = 5000},
    {"related_customer_account", P_STRING, 0, .max_len = 5000},
    {"related_person", P_OBJECT, 0, .fields = person_fields},
    {"return_url", P_STRING, 0, .max_len = URL_MAX},
    {"type", P_ENUM, 0, .enums = type_values},
    {"verification_flow", P_STRING, 0, .max_len = 5000},
    {NULL}};

static const param_spec update_spec[] = {
    EXPAND_PARAM,
    {"metadata", P_METADATA},
    {"options", P_OBJECT, 0, .fields = options_fields},
    {"provided_details", P_OBJECT, 0, .fields = provided_fields},
    {"type", P_ENUM, 0, .enums = type_values},
    {NULL}};

static const param_spec expand_only_spec[] = {EXPAND_PARAM, {NULL}};

static const param_spec list_spec[] = {{"client_reference_id", P_STRING, 0, .max_len = 5000},
                                       {"created", P_RANGE},
                                       {"ending_before", P_STRING, 0, .max_len = 5000},
                                       EXPAND_PARAM,
                                       {"limit", P_INT, 0, .min = 1, .max = PAGE_LIMIT_MAX},
                                       {"related_customer", P_STRING, 0, .max_len = 5000},
                                       {"related_customer_account", P_STRING, 0, .max_len = 5000},
                                       {"starting_after", P_STRING, 0, .max_len = 5000},
                                       {"status", P_ENUM, 0, .enums = status_values},
                                       {NULL}};

/* x-expandableFields of identity.verification_session (CONTRACT.md §11 "Expand"). */
static const char *const expandable[] = {
    "last_error", "last_verification_report", "options",          "provided_details",
    "redaction",  "related_person",           "verified_outputs", NULL};
enum { EXP_LAST_REPORT = 1u << 1, EXP_VERIFIED_OUTPUTS = 1u << 6 };

/* ---- shared pieces ---- */

typedef struct vs_job vs_job;
/* Applies an operation to the session read inside the job: 0 = changed (save it),
 * 1 = unchanged (answer with it as is), -1 = refused with *e. Store errors go through *rc. */
typedef int (*vs_apply_fn)(vs_job *j, store_txn *t, session *s, apierr *e);

struct vs_job {
    api_ctx *c;
    unsigned expand;
    session s;         /* create: the new session */
    vs_apply_fn apply; /* modify: update, cancel, redact, rotate */
    const char *event; /* set by apply: the event to emit, or NULL */
    int kick_redactor;
    api_result res;
};

/* --- an expanded last_verification_report, restricted verified_outputs --- */

/* What rendering an expanded report needs: where to read it, and its restricted fields. */
typedef struct report_ctx {
    api_ctx *c;
    store_txn *t;  /* the running job, or NULL: read from the store */
    unsigned show; /* VR_SHOW_* */
    int rc;        /* the first store error met while rendering */
} report_ctx;

static void render_report(void *arg, const session *s, json_writer *w)
{
    report_ctx *x = arg;
    report r;
    const char *id = s->last_verification_report;
    int rc = report_store_get(x->c->app->st, x->t, x->c->account, id, x->c->a, &r);
    if (rc == 0) {
        report_render(&r, x->show, w);
        return;
    }
    if (rc != STORE_NOT_FOUND && x->rc == 0) x->rc = rc;
    json_str(w, id);
}

/* Stripe: CONTRACT.md §1, §5, §6: the sensitive fields need a restricted key and their own
 * expand path (with "data." in lists). */
static session_render_opts render_opts(api_ctx *c, unsigned expand, int list, report_ctx *x)
{
    session_render_opts o = {
        .public_url = c->app->public_url,
        .expand_verified_outputs = (expand & EXP_VERIFIED_OUTPUTS) != 0,
        .expand_last_verification_report = (expand & EXP_LAST_REPORT) != 0,
        .render_report = render_report,
        .render_report_ctx = x,
    };
    x->c = c;
    x->show = 0;
    if (!c->restricted) return o;
    o.show_outputs_dob = api_expand_path(c, "verified_outputs.dob", list);
    o.show_outputs_id_number = api_expand_path(c, "verified_outputs.id_number", list);
    for (unsigned i = 0; report_sensitive_paths[i]; i++) {
        const char *path =
            arena_printf(c->a, "last_verification_report.%s", report_sensitive_paths[i]);
        if (api_expand_path(c, path, list)) x->show |= 1u << i;
    }
    return o;
}

int sessions_render(api_ctx *c, store_txn *t, const session *s, unsigned expand, buf *out)
{
    json_writer w;
    api_json_begin(c, &w, out);
    report_ctx x = {.t = t};
    session_render_opts o = render_opts(c, expand, 0, &x);
    session_render(s, &o, &w);
    return x.rc;
}

/* Validation common to every endpoint: the spec, then expand[]. 0 or -1 (answered). */
static void clear_secrets(session *s)
{
    s->secret_token = NULL;
    s->url_token = NULL;
}

static void job_done(void *arg, int rc)
{
    vs_job *j = arg;
    if (rc == 0 && j->kick_redactor) worker_kick(j->c->app->redactor);
    api_finish(j->c, &j->res, rc);
}

/* ---- options, metadata, provided_details: shared by create and update ---- */

static void read_document_options(api_ctx *c, session *s)
{
    form_node *options = form_get(c->params, "options");
    form_node *doc = form_get(options, "document");
    if (!doc) return;
    memset(&s->doc, 0, sizeof s->doc);
    s->doc.require_id_number = s->doc.require_live_capture = s->doc.require_matching_selfie =
        SESSION_UNSET;
    if (doc->kind == FORM_STR) /* options[document]="" clears the document options */
        return;
    s->doc.present = 1;
    form_node *types = form_get(doc, "allowed_types");
    if (types) {
        const form_node **items;
        size_t n = types->kind == FORM_STR ? 0 : params_array(types, c->a, &items);
        s->doc.has_allowed_types = 1;
        s->doc.allowed_types = arena_alloc(c->a, (n ? n : 1) * sizeof(char *));
        for (size_t i = 0; i < n; i++)
            s->doc.allowed_types[i] = items[i]->str;
        s->doc.n_allowed_types = n;
    }
    static const char *const names[] = {"require_id_number", "require_live_capture",
                                        "require_matching_selfie"};
    session_tribool *fields[] = {&s->doc.require_id_number, &s->doc.require_live_capture,
                                 &s->doc.require_matching_selfie};
    for (int i = 0; i < 3; i++) {
        int v = params_bool(doc, names[i], -1);
        if (v >= 0) *fields[i] = v ? SESSION_TRUE : SESSION_FALSE;
    }
}

static void read_provided_details(api_ctx *c, session *s)
{
    form_node *pd = form_get(c->params, "provided_details");
    if (!pd) return;
    const char *email = params_str(pd, "email");
    const char *phone = params_str(pd, "phone");
    if (email) s->provided_email = *email ? email : NULL;
    if (phone) s->provided_phone = *phone ? phone : NULL;
}

/* Merge metadata parameters into s (metadata_merge). Returns 0, or -1 with *e when the result
 * would exceed METADATA_MAX_KEYS. */
static int merge_metadata(api_ctx *c, session *s, apierr *e)
{
    metadata_update u;
    if (!params_metadata(c->params, c->a, &u)) return 0;
    if (metadata_merge(c->a, &u, &s->metadata, &s->n_metadata) == METADATA_OK) return 0;
    return apierr_invalid(e, c->a, NULL, "metadata",
                          "Invalid metadata: metadata can have at most %d keys.",
                          METADATA_MAX_KEYS);
}

/* ---- create ---- */

static int create_job(store_txn *t, void *arg)
{
    vs_job *j = arg;
    api_ctx *c = j->c;
    store_record rec;
    int rc = session_store_insert(t, c->a, &j->s, &rec);
    if (rc == 0) rc = event_emit(t, c->a, &j->s, &rec, EVT_CREATED, c->request_id, c->idem_key);
    if (rc != 0) return rc;
    j->res.status = 200;
    j->res.object_id = j->s.id;
    rc = sessions_render(c, t, &j->s, j->expand, &j->res.body);
    if (rc != 0) return rc;
    return api_idem_save(c, t, &j->res);
}

void sessions_create(api_ctx *c)
{
    vs_job *j = arena_calloc(c->a, sizeof *j);
    j->c = c;
    if (api_validate(c, create_spec, expandable, 0, &j->expand) != 0) return;
    apierr e;
    const char *type = params_str(c->params, "type");
    const char *flow = params_str(c->params, "verification_flow");
    if (!type && !flow) {
        apierr_invalid(&e, c->a, "parameter_missing", "type",
                       "Missing required param: type. You must provide a `type` if not passing "
                       "`verification_flow`.");
        api_respond_error(c, &e);
        return;
    }
    if (type && flow) {
        apierr_invalid(&e, c->a, NULL, "type",
                       "You cannot pass `type` together with `verification_flow`: the flow "
                       "decides the type.");
        api_respond_error(c, &e);
        return;
    }
    /* CONTRACT.md §3 "return_url": Stripe takes an absolute http(s) URL and answers any other
     * with 400 url_invalid "Not a valid URL". */
    const char *return_url = params_str(c->params, "return_url");
    if (return_url && url_check_http(return_url, URL_MAX, NULL) != 0) {
        apierr_invalid(&e, c->a, "url_invalid", "return_url", "Not a valid URL");
        api_respond_error(c, &e);
        return;
    }
    session *s = &j->s;
    ids_random(s->id, sizeof s->id, "vs_", IDS_OBJECT_LEN);
    s->account = c->account;
    s->livemode = c->livemode;
    s->created = account_clock_now(c->account);
    s->status = SESSION_REQUIRES_INPUT;
    s->type =
        flow ? SESSION_TYPE_VERIFICATION_FLOW
             : (strcmp(type, "document") == 0 ? SESSION_TYPE_DOCUMENT : SESSION_TYPE_ID_NUMBER);
    s->verification_flow = flow;
    s->client_reference_id = params_str(c->params, "client_reference_id");
    s->related_customer = params_str(c->params, "related_customer");
    s->related_customer_account = params_str(c->params, "related_customer_account");
    form_node *rp = form_get(c->params, "related_person");
    if (rp) {
        s->related_person_account = params_str(rp, "account");
        s->related_person_person = params_str(rp, "person");
    }
    s->return_url = return_url;
    s->doc.require_id_number = s->doc.require_live_capture = s->doc.require_matching_selfie =
        SESSION_UNSET;
    read_document_options(c, s);
    read_provided_details(c, s);
    if (merge_metadata(c, s, &e) != 0) {
        api_respond_error(c, &e);
        return;
    }
    session_issue_secrets(s, c->a);
    store_submit(c->app->st, create_job, job_done, j);
}

/* ---- operations on an existing session ---- */

int sessions_job_read(api_ctx *c, store_txn *t, api_result *res, session *s, int *answered)
{
    int rc = session_store_txn_get(t, c->account, c->path_id, c->a, s);
    *answered = rc != 0;
    if (rc != STORE_NOT_FOUND) return rc;
    if (fixtures_on(c, "vs_")) { /* the fixture, unchanged and unsaved, as stripe-mock answers */
        fixtures_session(c, s);
        res->status = 200;
        rc = sessions_render(c, t, s, 0, &res->body);
        return rc != 0 ? rc : api_idem_save(c, t, res);
    }
    apierr e;
    api_err_missing(c, &e, "verification_session", "session", c->path_id);
    return api_job_error(c, t, res, &e);
}

static int modify_job(store_txn *t, void *arg)
{
    vs_job *j = arg;
    api_ctx *c = j->c;
    session s;
    apierr e;
    int answered;
    int rc = sessions_job_read(c, t, &j->res, &s, &answered);
    if (answered) return rc;
    session_status was = s.status;
    int changed = j->apply(j, t, &s, &e);
    if (changed < 0) return api_job_error(j->c, t, &j->res, &e);
    if (changed == 0) {
        store_record rec;
        rc = session_store_update(t, c->a, &s, was, &rec);
        if (rc == 0 && j->event)
            rc = event_emit(t, c->a, &s, &rec, j->event, c->request_id, c->idem_key);
        if (rc != 0) return rc;
    }
    j->res.status = 200;
    j->res.object_id = arena_strdup(c->a, s.id);
    rc = sessions_render(c, t, &s, j->expand, &j->res.body);
    if (rc != 0) return rc;
    return api_idem_save(c, t, &j->res);
}

static void submit_modify(api_ctx *c, const param_spec *spec, vs_apply_fn apply)
{
    vs_job *j = arena_calloc(c->a, sizeof *j);
    j->c = c;
    j->apply = apply;
    if (api_validate(c, spec, expandable, 0, &j->expand) != 0) return;
    store_submit(c->app->st, modify_job, job_done, j);
}

/* Reports a refusal from session_check() as the error a user sees. Returns -1. */
static int refuse(vs_job *j, const session *s, int verdict, const char *action, const char *allowed,
                  apierr *e)
{
    if (verdict == SESSION_REDACTED)
        return apierr_invalid(e, j->c->a, NULL, NULL,
                              "This VerificationSession has been redacted and can no longer be "
                              "updated.");
    api_err_state(j->c, e, action, allowed, session_status_name(s->status));
    return -1;
}

static int apply_update(vs_job *j, store_txn *t, session *s, apierr *e)
{
    (void)t;
    api_ctx *c = j->c;
    int only_metadata = 1;
    for (form_node *p = c->params ? c->params->first : NULL; p; p = p->next)
        only_metadata &= strcmp(p->key, "metadata") == 0 || strcmp(p->key, "expand") == 0;
    const char *allowed;
    int verdict =
        session_check(s, only_metadata ? SESSION_UPDATE_METADATA_ONLY : SESSION_UPDATE, &allowed);
    if (verdict != SESSION_ALLOWED) return refuse(j, s, verdict, "update", allowed, e);
    if (merge_metadata(c, s, e) != 0) return -1;
    read_document_options(c, s);
    read_provided_details(c, s);
    const char *type = params_str(c->params, "type");
    if (type)
        s->type = strcmp(type, "document") == 0 ? SESSION_TYPE_DOCUMENT : SESSION_TYPE_ID_NUMBER;
    return 0;
}

void sessions_update(api_ctx *c)
{
    submit_modify(c, update_spec, apply_update);
}

/* Cancel clears client_secret and url and emits `canceled` (CONTRACT.md §3). */
static int apply_cancel(vs_job *j, store_txn *t, session *s, apierr *e)
{
    (void)t;
    const char *allowed;
    int verdict = session_check(s, SESSION_CANCEL, &allowed);
    if (verdict != SESSION_ALLOWED) return refuse(j, s, verdict, "cancel", allowed, e);
    s->status = SESSION_CANCELED;
    clear_secrets(s);
    j->event = EVT_CANCELED;
    return 0;
}

void sessions_cancel(api_ctx *c)
{
    submit_modify(c, expand_only_spec, apply_cancel);
}

/* Redact (CONTRACT.md §3, §11): a requires_input session is canceled (with its event), the
 * redaction starts `processing` and the redactor completes it when due. */
static int apply_redact(vs_job *j, store_txn *t, session *s, apierr *e)
{
    (void)t;
    const char *allowed;
    int verdict = session_check(s, SESSION_REDACT, &allowed);
    if (verdict == SESSION_NOTHING_TO_DO) return 1;
    if (verdict != SESSION_ALLOWED) return refuse(j, s, verdict, "redact", allowed, e);
    if (s->status == SESSION_REQUIRES_INPUT) {
        s->status = SESSION_CANCELED;
        j->event = EVT_CANCELED;
    }
    clear_secrets(s);
    s->redaction = SESSION_REDACTION_PROCESSING;
    s->redaction_due = account_clock_now_ms(s->account) + j->c->app->redaction_delay_ms;
    j->kick_redactor = 1;
    return 0;
}

void sessions_redact(api_ctx *c)
{
    submit_modify(c, expand_only_spec, apply_redact);
}

/* ---- retrieve ---- */

/* Stripe: CONTRACT.md §11: an expired client_secret/url pair is replaced on the next
 * retrieve. Re-checked inside the job, since another request may have rotated it already. */
static int apply_rotate(vs_job *j, store_txn *t, session *s, apierr *e)
{
    (void)t;
    (void)e;
    if (s->status != SESSION_REQUIRES_INPUT || s->redaction != SESSION_REDACTION_NONE ||
        account_clock_now(s->account) - s->secret_issued < SECRET_TTL_S)
        return 1;
    session_issue_secrets(s, j->c->a);
    return 0;
}

void sessions_retrieve(api_ctx *c)
{
    unsigned expand;
    if (api_validate(c, expand_only_spec, expandable, 0, &expand) != 0) return;
    session s;
    int rc = session_store_get(c->app->st, c->account, c->path_id, c->a, &s);
    if (rc == STORE_NOT_FOUND && fixtures_on(c, "vs_")) {
        fixtures_session(c, &s);
        rc = 0;
    }
    if (api_read_failed(c, rc, "verification_session", "session")) return;
    if (s.status == SESSION_REQUIRES_INPUT && s.redaction == SESSION_REDACTION_NONE &&
        account_clock_now(s.account) - s.secret_issued >= SECRET_TTL_S) {
        vs_job *j = arena_calloc(c->a, sizeof *j);
        j->c = c;
        j->expand = expand;
        j->apply = apply_rotate;
        c->idem_key = NULL; /* a GET never saves an idempotent response */
        store_submit(c->app->st, modify_job, job_done, j);
        return;
    }
    api_result res = {.status = 200};
    rc = sessions_render(c, NULL, &s, expand, &res.body);
    api_finish(c, &res, rc);
}

/* ---- list ---- */

/* What a list item needs: the rendering options and, through them, the report reader. */
typedef struct list_render {
    session_render_opts o;
    const report_ctx *x;
} list_render;

/* A list item (api_item_render): the session; a failed read of its expanded report ends the list
 * with that store error. */
static int render_item(void *ctx, const void *item, json_writer *w)
{
    const list_render *l = ctx;
    session_render(item, &l->o, w);
    return l->x->rc;
}

void sessions_list(api_ctx *c)
{
    unsigned expand;
    api_page p;
    if (api_validate(c, list_spec, expandable, 1, &expand) != 0 || api_page_read(c, &p) != 0)
        return;
    store_session_query q = {.account = c->account,
                             .limit = p.limit,
                             .starting_after = p.starting_after,
                             .ending_before = p.ending_before,
                             .created = p.created};
    q.client_reference_id = params_str(c->params, "client_reference_id");
    q.related_customer = params_str(c->params, "related_customer");
    q.related_customer_account = params_str(c->params, "related_customer_account");
    const char *status = params_str(c->params, "status");
    if (status) {
        session_status st;
        session_status_parse(status, &st);
        q.has_status = 1;
        q.status = (int)st;
    }
    session *items;
    size_t n;
    int has_more;
    int rc = session_store_list(c->app->st, &q, c->a, &items, &n, &has_more);
    report_ctx x = {0};
    list_render l = {render_opts(c, expand, 1, &x), &x};
    api_list_answer(c, &p, "verification_session", "/v1/identity/verification_sessions", rc, items,
                    n, sizeof *items, has_more, render_item, &l);
}

int sessions_validate(api_ctx *c, const param_spec *spec, unsigned *expand)
{
    return api_validate(c, spec, expandable, 0, expand);
}
