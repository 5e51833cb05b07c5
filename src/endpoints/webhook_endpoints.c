/*
 * webhooks_api: the /v1/webhook_endpoints endpoints: create, retrieve, update, list, delete.
 * CONTRACT.md §8 "Webhook endpoints", §11 "Events and webhooks".
 *
 * Writes run as store jobs that check, write, render and save the idempotent response in one
 * transaction (as sessions.c does). The endpoint's secret (whsec_...) is rendered only in the
 * create response. Not for: matching events to endpoints (the store's fan-out) or sending them
 * (delivery.c).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "endpoints/endpoints.h"
#include "background/delivery.h"
#include "base/ids.h"
#include "base/url.h"
#include "base/util.h"
#include "identity/account_clock.h"

/* ---- parameter specs (identity-openapi.json, /v1/webhook_endpoints) ---- */

static const param_spec string_item[] = {{"", P_STRING, 0, .max_len = 5000}, {NULL}};
/* CONTRACT.md §11: enabled_events take the spec's enum ("*" the only wildcard). */
static const param_spec event_item[] = {{"", P_ENUM, .enums = event_types_enum}, {NULL}};

#define EXPAND_PARAM                                                                               \
    {                                                                                              \
        "expand", P_ARRAY, 0, .fields = string_item                                                \
    }

static const param_spec create_spec[] = {
    {"api_version", P_ENUM, .enums = api_versions},
    {"connect", P_BOOL},
    {"description", P_STRING, P_EMPTY_OK, .max_len = 5000},
    {"enabled_events", P_ARRAY, P_REQUIRED, .fields = event_item, .max_items = 300},
    EXPAND_PARAM,
    {"metadata", P_METADATA},
    {"url", P_STRING, P_REQUIRED, .max_len = 5000},
    {NULL}};

static const param_spec update_spec[] = {
    {"description", P_STRING, P_EMPTY_OK, .max_len = 5000},
    {"disabled", P_BOOL},
    {"enabled_events", P_ARRAY, 0, .fields = event_item, .max_items = 300},
    EXPAND_PARAM,
    {"metadata", P_METADATA},
    {"url", P_STRING, 0, .max_len = 5000},
    {NULL}};

static const param_spec expand_only_spec[] = {EXPAND_PARAM, {NULL}};

static const param_spec list_spec[] = {{"ending_before", P_STRING, 0, .max_len = 5000},
                                       EXPAND_PARAM,
                                       {"limit", P_INT, 0, .min = 1, .max = PAGE_LIMIT_MAX},
                                       {"starting_after", P_STRING, 0, .max_len = 5000},
                                       {NULL}};

static const char *const no_expandable[] = {NULL}; /* x-expandableFields: [] */

/* ---- shared pieces ---- */

/* An endpoint as the handlers see it: the stored row and its metadata, decoded. */
typedef endpoints__hook endpoint;

void endpoints__hook_of(const store_webhook *row, arena *a, endpoints__hook *h)
{
    h->row = *row;
    metadata_decode(a, row->metadata.data, row->metadata.len, &h->md, &h->n_md);
}

const store_webhook *endpoints__hook_row(endpoints__hook *h, arena *a)
{
    buf enc;
    buf_init(&enc, a);
    metadata_encode(h->md, h->n_md, &enc);
    h->row.metadata = (store_record){enc.data, enc.len};
    return &h->row;
}

typedef struct wh_job {
    api_ctx *c;
    endpoint ep;
    int kick; /* an endpoint was (re-)enabled: its deliveries may be due */
    api_result res;
} wh_job;

static void render_webhook(json_writer *w, const endpoint *ep, int with_secret)
{
    const store_webhook *wh = &ep->row;
    json_obj_begin(w);
    json_kstr(w, "id", wh->id);
    json_kstr(w, "object", "webhook_endpoint");
    json_kstr(w, "api_version", wh->api_version);
    json_knull(w, "application");
    json_kint(w, "created", wh->created);
    json_kstr(w, "description", wh->description);
    json_key(w, "enabled_events");
    json_arr_begin(w);
    for (size_t i = 0; i < wh->n_enabled_events; i++)
        json_str(w, wh->enabled_events[i]);
    json_arr_end(w);
    json_kbool(w, "livemode", wh->livemode);
    json_key(w, "metadata");
    json_obj_begin(w);
    for (size_t i = 0; i < ep->n_md; i++)
        json_kstr(w, ep->md[i].key, ep->md[i].value);
    json_obj_end(w);
    if (with_secret) json_kstr(w, "secret", wh->secret);
    json_kstr(w, "status", wh->disabled ? "disabled" : "enabled");
    json_kstr(w, "url", wh->url);
    json_obj_end(w);
}

static void respond_webhook(api_ctx *c, const endpoint *ep, int with_secret, buf *out)
{
    json_writer w;
    api_json_begin(c, &w, out);
    render_webhook(&w, ep, with_secret);
}

/* --fixtures (fixtures.c): an enabled endpoint with the id asked for, rendered by the same
 * renderer as a real one; 1 when c is such a request and *row was filled. */
static int fixture_endpoint(api_ctx *c, store_webhook *row)
{
    static const char *all[] = {"*"};
    if (!fixtures_on(c, "we_")) return 0;
    memset(row, 0, sizeof *row);
    row->id = c->path_id;
    row->account = c->account;
    row->created = util_now();
    row->url = "https://example.com/my/webhook/endpoint";
    row->enabled_events = all;
    row->n_enabled_events = 1;
    return 1;
}

static void job_done(void *arg, int rc)
{
    wh_job *j = arg;
    if (rc == 0 && j->kick && j->c->app->delivery) delivery_kick(j->c->app->delivery);
    api_finish(j->c, &j->res, rc);
}

/* ---- validation of values ---- */

/* 1 when host (a literal, without brackets) names this machine or a private network. Only
 * literals and localhost are judged here; the delivery worker checks every resolved address. */
static int private_host(const char *host)
{
    unsigned char a[16];
    if (strcasecmp(host, "localhost") == 0) return 1;
    size_t n = strlen(host);
    if (n > 10 && strcasecmp(host + n - 10, ".localhost") == 0) return 1;
    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] == 127 || a[0] == 10 || a[0] == 0 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
               (a[0] == 192 && a[1] == 168) || (a[0] == 169 && a[1] == 254) ||
               (a[0] == 100 && (a[1] & 0xc0) == 64);
    if (inet_pton(AF_INET6, host, a) == 1) {
        static const unsigned char zero[16];
        int loopback = memcmp(a, zero, 15) == 0 && a[15] <= 1;
        return loopback || (a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||
               (memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff);
    }
    return 0;
}

int endpoints__check_webhook_url(api_ctx *c, const char *url, const char *param, apierr *e)
{
    url_parts u;
    if (url_check_http(url, URL_MAX, &u) != 0)
        return apierr_invalid(e, c->a, "url_invalid", param,
                              "Invalid URL: %.100s. A webhook endpoint URL must be an absolute "
                              "http:// or https:// URL with a host name.",
                              url);
    if (c->livemode && !u.https)
        return apierr_invalid(e, c->a, "url_invalid", param,
                              "Invalid URL: %.100s. Live mode webhook endpoints must use https.",
                              url);
    if (c->livemode && !c->app->allow_private_webhooks && private_host(u.host))
        return apierr_invalid(e, c->a, "url_invalid", param,
                              "Invalid URL: %.100s. Live mode webhook endpoints cannot point at "
                              "loopback or private network addresses.",
                              url);
    return 0;
}

int endpoints__event_type_known(const char *name)
{
    for (const char *const *t = event_types_enum; *t != NULL; t++)
        if (strcmp(*t, name) == 0) return 1;
    return 0;
}

int endpoints__read_events(api_ctx *c, store_webhook *w, apierr *e)
{
    const form_node **items;
    size_t n = params_array(form_get(c->params, "enabled_events"), c->a, &items);
    if (n == 0)
        return apierr_invalid(e, c->a, "parameter_missing", "enabled_events",
                              "Missing required param: enabled_events.");
    w->enabled_events = arena_alloc(c->a, n * sizeof *w->enabled_events);
    w->n_enabled_events = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = items[i]->str;
        int dup = 0;
        for (size_t k = 0; k < w->n_enabled_events && !dup; k++)
            dup = strcmp(w->enabled_events[k], name) == 0;
        if (!dup) w->enabled_events[w->n_enabled_events++] = name;
    }
    return 0;
}

int endpoints__merge_metadata(api_ctx *c, metadata_kv **md, size_t *n_md, apierr *e)
{
    metadata_update u;
    if (!params_metadata(c->params, c->a, &u)) return 0;
    if (metadata_merge(c->a, &u, md, n_md) == METADATA_OK) return 0;
    return apierr_invalid(e, c->a, NULL, "metadata",
                          "Invalid metadata: metadata can have at most %d keys.",
                          METADATA_MAX_KEYS);
}

/* ---- create ---- */

static int create_job(store_txn *t, void *arg)
{
    wh_job *j = arg;
    api_ctx *c = j->c;
    int rc = store_txn_webhook_insert(t, endpoints__hook_row(&j->ep, c->a), ENDPOINTS_MAX);
    if (rc == STORE_LIMIT) {
        apierr e;
        apierr_invalid(&e, c->a, NULL, "url",
                       "You have reached the maximum of %d webhook endpoints on this account. "
                       "Delete one before adding another.",
                       ENDPOINTS_MAX);
        return api_job_error(j->c, t, &j->res, &e);
    }
    if (rc != 0) return rc;
    j->res.status = 200;
    j->res.object_id = j->ep.row.id;
    respond_webhook(c, &j->ep, 1, &j->res.body);
    return api_idem_save(c, t, &j->res);
}

void webhook_endpoints_create(api_ctx *c)
{
    if (api_validate(c, create_spec, no_expandable, 0, NULL) != 0) return;
    wh_job *j = arena_calloc(c->a, sizeof *j);
    j->c = c;
    store_webhook *w = &j->ep.row;
    apierr e;
    const char *url = params_str(c->params, "url");
    const char *version = params_str(c->params, "api_version");
    const char *description = params_str(c->params, "description");
    if (endpoints__check_webhook_url(c, url, "url", &e) != 0 ||
        endpoints__read_events(c, w, &e) != 0 ||
        endpoints__merge_metadata(c, &j->ep.md, &j->ep.n_md, &e) != 0)
        goto refused;
    char id[40], secret[48];
    ids_random(id, sizeof id, "we_", IDS_OBJECT_LEN);
    ids_random(secret, sizeof secret, "whsec_", 32);
    w->id = arena_strdup(c->a, id);
    w->secret = arena_strdup(c->a, secret);
    w->account = c->account;
    w->livemode = c->livemode;
    w->created = account_clock_now(c->account);
    w->url = url;
    w->api_version = version;
    w->connect = params_bool(c->params, "connect", 0);
    w->description = description && *description ? description : NULL;
    store_submit(c->app->st, create_job, job_done, j);
    return;
refused:
    api_respond_error(c, &e);
}

/* ---- retrieve, update, delete ---- */

void webhook_endpoints_retrieve(api_ctx *c)
{
    if (api_validate(c, expand_only_spec, no_expandable, 0, NULL) != 0) return;
    store_webhook row;
    int rc = store_webhook_get(c->app->st, c->account, c->path_id, c->a, &row);
    if (rc == 0 && row.destination) rc = STORE_NOT_FOUND; /* a v2 destination is no v1 endpoint */
    if (rc == STORE_NOT_FOUND && fixture_endpoint(c, &row)) rc = 0;
    if (api_read_failed(c, rc, "webhook_endpoint", "webhook_endpoint")) return;
    endpoint ep;
    endpoints__hook_of(&row, c->a, &ep);
    api_result res = {.status = 200};
    respond_webhook(c, &ep, 0, &res.body);
    api_finish(c, &res, 0);
}

static int update_job(store_txn *t, void *arg)
{
    wh_job *j = arg;
    api_ctx *c = j->c;
    store_webhook *w = &j->ep.row;
    apierr e;
    store_webhook row;
    int rc = store_txn_webhook_get(t, c->account, c->path_id, c->a, &row);
    if (rc == 0 && row.destination) rc = STORE_NOT_FOUND;
    if (rc == STORE_NOT_FOUND && fixture_endpoint(c, &row)) { /* answered, nothing saved */
        endpoints__hook_of(&row, c->a, &j->ep);
        j->res.status = 200;
        respond_webhook(c, &j->ep, 0, &j->res.body);
        return api_idem_save(c, t, &j->res);
    }
    if (rc == STORE_NOT_FOUND) {
        api_err_missing(c, &e, "webhook_endpoint", "webhook_endpoint", c->path_id);
        return api_job_error(j->c, t, &j->res, &e);
    }
    if (rc != 0) return rc;
    endpoints__hook_of(&row, c->a, &j->ep);
    const char *url = params_str(c->params, "url");
    const char *description = params_str(c->params, "description");
    int disabled = params_bool(c->params, "disabled", -1);
    if (url) w->url = url;
    if (description) w->description = *description ? description : NULL;
    if (form_get(c->params, "enabled_events") && endpoints__read_events(c, w, &e) != 0)
        return api_job_error(j->c, t, &j->res, &e);
    if (endpoints__merge_metadata(c, &j->ep.md, &j->ep.n_md, &e) != 0)
        return api_job_error(j->c, t, &j->res, &e);
    if (disabled >= 0) {
        /* CONTRACT.md §8: re-enabling before the next attempt resumes the retries. */
        j->kick = w->disabled && !disabled;
        w->disabled = disabled;
    }
    rc = store_txn_webhook_update(t, endpoints__hook_row(&j->ep, c->a));
    if (rc != 0) return rc;
    j->res.status = 200;
    j->res.object_id = w->id;
    respond_webhook(c, &j->ep, 0, &j->res.body);
    return api_idem_save(c, t, &j->res);
}

void webhook_endpoints_update(api_ctx *c)
{
    if (api_validate(c, update_spec, no_expandable, 0, NULL) != 0) return;
    apierr e;
    const char *url = params_str(c->params, "url");
    if (url && endpoints__check_webhook_url(c, url, "url", &e) != 0) {
        api_respond_error(c, &e);
        return;
    }
    wh_job *j = arena_calloc(c->a, sizeof *j);
    j->c = c;
    store_submit(c->app->st, update_job, job_done, j);
}

static int delete_job(store_txn *t, void *arg)
{
    wh_job *j = arg;
    api_ctx *c = j->c;
    store_webhook row;
    int rc = store_txn_webhook_get(t, c->account, c->path_id, c->a, &row);
    if (rc == 0 && row.destination) rc = STORE_NOT_FOUND;
    if (rc == 0) rc = store_txn_webhook_delete(t, c->account, c->path_id);
    if (rc == STORE_NOT_FOUND && fixture_endpoint(c, &row)) rc = 0; /* deleted, as stripe-mock */
    if (rc == STORE_NOT_FOUND) {
        apierr e;
        api_err_missing(c, &e, "webhook_endpoint", "webhook_endpoint", c->path_id);
        return api_job_error(j->c, t, &j->res, &e);
    }
    if (rc != 0) return rc;
    /* deleted_webhook_endpoint */
    json_writer w;
    api_json_begin(c, &w, &j->res.body);
    json_obj_begin(&w);
    json_kstr(&w, "id", c->path_id);
    json_kstr(&w, "object", "webhook_endpoint");
    json_kbool(&w, "deleted", 1);
    json_obj_end(&w);
    j->res.status = 200;
    return api_idem_save(c, t, &j->res);
}

void webhook_endpoints_delete(api_ctx *c)
{
    if (api_validate(c, expand_only_spec, no_expandable, 0, NULL) != 0) return;
    wh_job *j = arena_calloc(c->a, sizeof *j);
    j->c = c;
    store_submit(c->app->st, delete_job, job_done, j);
}

/* ---- list ---- */

/* A list item (api_item_render): the endpoint, without its secret. */
static int render_item(void *ctx, const void *item, json_writer *w)
{
    (void)ctx;
    render_webhook(w, item, 0);
    return 0;
}

/* An account has at most ENDPOINTS_MAX endpoints, so the list reads them all and pages in
 * memory, with the same cursor rules as every other list (CONTRACT.md §1). */
void webhook_endpoints_list(api_ctx *c)
{
    api_page p;
    if (api_validate(c, list_spec, no_expandable, 1, NULL) != 0 || api_page_read(c, &p) != 0)
        return;
    int limit = p.limit;
    const char *after = p.starting_after;
    const char *before = p.ending_before;
    store_webhook *all;
    size_t n;
    int rc = store_webhook_list(c->app->st, c->account, c->a, &all, &n);
    if (rc != 0) {
        api_finish(c, NULL, rc);
        return;
    }
    size_t kept = 0; /* v2 destinations are listed by /v2/core/event_destinations only */
    for (size_t i = 0; i < n; i++)
        if (!all[i].destination) all[kept++] = all[i];
    n = kept;
    size_t from = 0, to = n; /* the window [from, to) before limiting */
    const char *cursor = after ? after : before;
    if (cursor) {
        size_t i = 0;
        while (i < n && strcmp(all[i].id, cursor) != 0)
            i++;
        if (i == n) {
            api_list_fail(c, &p, "webhook_endpoint", STORE_CURSOR);
            return;
        }
        if (after)
            from = i + 1;
        else
            to = i;
    }
    int has_more = 0;
    if (to - from > (size_t)limit) {
        has_more = 1;
        if (before)
            from = to - (size_t)limit; /* ending_before: the page just newer than the cursor */
        else
            to = from + (size_t)limit;
    }
    endpoint *page = arena_alloc(c->a, (to - from + 1) * sizeof *page);
    for (size_t i = from; i < to; i++)
        endpoints__hook_of(&all[i], c->a, &page[i - from]);
    api_list_answer(c, &p, "webhook_endpoint", "/v1/webhook_endpoints", 0, page, to - from,
                    sizeof *page, has_more, render_item, NULL);
}
