/*
 * event_destinations: the /v2/core/event_destinations endpoints: create, retrieve, update, list,
 * delete, enable, disable and ping. CONTRACT.md §11 "Versions"; Stripe: API reference v2
 * event_destinations, stripe-node 23.1.0 V2/Core/EventDestinations.d.ts.
 *
 * A destination is stored beside the v1 webhook endpoints (store_webhook with destination = 1),
 * so the event fan-out and the durable outbox serve both; only type webhook_endpoint delivers.
 * A thin destination names events "v1.identity.verification_session.*" and gets thin event
 * notifications; a snapshot destination names them as a v1 endpoint does and gets v1 events in
 * its snapshot_api_version. Writes are store jobs that check, write, render and save the
 * idempotent response in one transaction, as webhook_endpoints.c does.
 *
 * Not for: v1 endpoints (webhook_endpoints.c), the fan-out (event.c), rendering thin events
 * (thin_event.c) or sending (delivery.c).
 */
#include <stdio.h>
#include <string.h>

#include "endpoints/endpoints.h"
#include "background/delivery.h"
#include "base/ids.h"
#include "base/util.h"
#include "identity/account_clock.h"
#include "identity/thin_event.h"

/* Stripe documents at most 16 webhook endpoints per account and no separate number for event
 * destinations; they get a limit of the same size of their own, counted apart from the v1
 * endpoints (store_txn_webhook_insert counts each kind), so that neither crowds out the other. */
#define DESTINATIONS_MAX ENDPOINTS_MAX

/* ---- parameter specs (EventDestinationCreateParams, ...UpdateParams, ...ListParams) ---- */

static const param_spec string_item[] = {{"", P_STRING, 0, .max_len = 5000}, {NULL}};
static const char *const payload_values[] = {"snapshot", "thin", NULL};
static const param_spec webhook_fields[] = {{"url", P_STRING, P_REQUIRED, .max_len = 5000}, {NULL}};
static const param_spec eventbridge_fields[] = {
    {"aws_account_id", P_STRING, P_REQUIRED}, {"aws_region", P_STRING, P_REQUIRED}, {NULL}};
static const param_spec event_grid_fields[] = {{"azure_region", P_STRING, P_REQUIRED},
                                               {"azure_resource_group_name", P_STRING, P_REQUIRED},
                                               {"azure_subscription_id", P_STRING, P_REQUIRED},
                                               {NULL}};

#define INCLUDE_PARAM                                                                              \
    {                                                                                              \
        "include", P_ARRAY, 0, .fields = string_item, .max_items = 10                              \
    }

static const param_spec create_spec[] = {
    {"amazon_eventbridge", P_OBJECT, 0, .fields = eventbridge_fields},
    {"azure_event_grid", P_OBJECT, 0, .fields = event_grid_fields},
    {"description", P_STRING, P_EMPTY_OK, .max_len = 5000},
    {"enabled_events", P_ARRAY, P_REQUIRED, .fields = string_item, .max_items = 300},
    {"event_payload", P_ENUM, P_REQUIRED, .enums = payload_values},
    {"events_from", P_ARRAY, 0, .fields = string_item, .max_items = 10},
    INCLUDE_PARAM,
    {"metadata", P_METADATA},
    {"name", P_STRING, P_REQUIRED, .max_len = 5000},
    {"snapshot_api_version", P_STRING, 0, .max_len = 100},
    {"type", P_STRING, P_REQUIRED, .max_len = 100},
    {"webhook_endpoint", P_OBJECT, 0, .fields = webhook_fields},
    {NULL}};

static const param_spec update_spec[] = {
    {"description", P_STRING, P_EMPTY_OK, .max_len = 5000},
    {"enabled_events", P_ARRAY, 0, .fields = string_item, .max_items = 300},
    INCLUDE_PARAM,
    {"metadata", P_METADATA},
    {"name", P_STRING, 0, .max_len = 5000},
    {"webhook_endpoint", P_OBJECT, 0, .fields = webhook_fields},
    {NULL}};

static const param_spec include_spec[] = {INCLUDE_PARAM, {NULL}};
static const param_spec list_spec[] = {INCLUDE_PARAM,
                                       {"limit", P_INT, 0, .min = 1, .max = PAGE_LIMIT_MAX},
                                       {"page", P_STRING, 0, .max_len = 200},
                                       {NULL}};
static const param_spec no_params[] = {{NULL}};

/* ---- shared pieces ---- */

typedef endpoints__hook destination;

typedef struct dest_job {
    api_ctx *c;
    destination d;
    int kick; /* enabled: its deliveries may be due */
    int op;   /* OP_*: which of the id routes */
    api_result res;
} dest_job;

enum { OP_UPDATE, OP_DELETE, OP_ENABLE, OP_DISABLE, OP_PING };

/* 1 when include[] names path (Stripe: webhook_endpoint.url and .signing_secret are returned
 * only when included). */
static int included(api_ctx *c, const char *path)
{
    const form_node **items;
    size_t n = params_array(form_get(c->params, "include"), c->a, &items);
    for (size_t i = 0; i < n; i++)
        if (items[i]->str && strcmp(items[i]->str, path) == 0) return 1;
    return 0;
}

/* The v2.core.event_destination object. with_secret: the create response's include of
 * webhook_endpoint.signing_secret; with_url likewise for webhook_endpoint.url. */
static void render_destination(json_writer *w, const destination *d, int with_url, int with_secret)
{
    const store_webhook *r = &d->row;
    char created[32], updated[32];
    thin_event_timestamp(r->created * 1000, created, sizeof created);
    thin_event_timestamp(r->updated_ms, updated, sizeof updated);
    json_obj_begin(w);
    json_kstr(w, "id", r->id);
    json_kstr(w, "object", "v2.core.event_destination");
    json_kstr(w, "created", created);
    json_kstr(w, "description", r->description ? r->description : "");
    json_key(w, "enabled_events");
    json_arr_begin(w);
    for (size_t i = 0; i < r->n_enabled_events; i++)
        json_str(w, r->enabled_events[i]);
    json_arr_end(w);
    json_kstr(w, "event_payload", r->thin ? "thin" : "snapshot");
    json_key(w, "events_from");
    json_arr_begin(w);
    json_str(w, "@self");
    json_arr_end(w);
    json_kbool(w, "livemode", r->livemode);
    json_key(w, "metadata");
    json_obj_begin(w);
    for (size_t i = 0; i < d->n_md; i++)
        json_kstr(w, d->md[i].key, d->md[i].value);
    json_obj_end(w);
    json_kstr(w, "name", r->name);
    json_kstr(w, "snapshot_api_version", r->thin ? NULL : r->api_version);
    json_kstr(w, "status", r->disabled ? "disabled" : "enabled");
    if (r->disabled) {
        /* Stripe: status_details.disabled.reason "user" for a destination disabled by API. */
        json_key(w, "status_details");
        json_obj_begin(w);
        json_key(w, "disabled");
        json_obj_begin(w);
        json_kstr(w, "reason", "user");
        json_obj_end(w);
        json_obj_end(w);
    } else {
        json_knull(w, "status_details");
    }
    json_kstr(w, "type", "webhook_endpoint");
    json_kstr(w, "updated", updated);
    json_key(w, "webhook_endpoint");
    json_obj_begin(w);
    json_kstr(w, "signing_secret", with_secret ? r->secret : NULL);
    json_kstr(w, "url", with_url ? r->url : NULL);
    json_obj_end(w);
    json_obj_end(w);
}

static void respond_destination(api_ctx *c, const destination *d, int with_secret, buf *out)
{
    json_writer w;
    api_json_begin(c, &w, out);
    render_destination(&w, d, included(c, "webhook_endpoint.url"), with_secret);
}

static void job_done(void *arg, int rc)
{
    dest_job *j = arg;
    if (rc == 0 && j->kick && j->c->app->delivery) delivery_kick(j->c->app->delivery);
    api_finish(j->c, &j->res, rc);
}

static void missing(api_ctx *c, apierr *e)
{
    api_err_missing(c, e, "event_destination", "id", c->path_id);
}

/* Event names (CONTRACT.md §11: Stripe's event types, nothing else). A thin destination names
 * v1 events as "v1." + a v1 type and v2 events by their "v2." type; a snapshot destination
 * names v1 events as a v1 endpoint does, '*' included (Stripe: event_payload snapshot is "Events
 * from v1 APIs"). */
static int event_name_ok(const char *s, int thin)
{
    if (!thin) return endpoints__event_type_known(s);
    if (strncmp(s, "v1.", 3) == 0)
        return strcmp(s + 3, "*") != 0 && endpoints__event_type_known(s + 3);
    return strcmp(s, "v2.core.event_destination.ping") == 0;
}

/* enabled_events into w (deduplicated, in order). 0 or -1 with *e. */
static int read_events(api_ctx *c, store_webhook *w, apierr *e)
{
    const form_node **items;
    size_t n = params_array(form_get(c->params, "enabled_events"), c->a, &items);
    for (size_t i = 0; i < n; i++) {
        const char *name = items[i]->str;
        if (!event_name_ok(name, w->thin))
            return apierr_invalid(
                e, c->a, "parameter_invalid_value", arena_printf(c->a, "enabled_events[%zu]", i),
                "Invalid enabled_events[%zu]: %.100s is not an event type for %s payloads%s", i,
                name, w->thin ? "thin" : "snapshot",
                w->thin ? " (thin names look like v1.identity.verification_session.verified)"
                        : " (snapshot names look like identity.verification_session.verified)");
    }
    return endpoints__read_events(c, w, e);
}

/* ---- create ---- */

static int create_job(store_txn *t, void *arg)
{
    dest_job *j = arg;
    api_ctx *c = j->c;
    int rc = store_txn_webhook_insert(t, endpoints__hook_row(&j->d, c->a), DESTINATIONS_MAX);
    if (rc == STORE_LIMIT) {
        apierr e;
        apierr_invalid(&e, c->a, NULL, NULL,
                       "You have reached the maximum of %d event destinations on this account. "
                       "Delete one before adding another.",
                       DESTINATIONS_MAX);
        return api_job_error(c, t, &j->res, &e);
    }
    if (rc != 0) return rc;
    j->res.status = 200;
    j->res.object_id = j->d.row.id;
    respond_destination(c, &j->d, included(c, "webhook_endpoint.signing_secret"), &j->res.body);
    return api_idem_save(c, t, &j->res);
}

void event_destinations_create(api_ctx *c)
{
    if (api_validate(c, create_spec, NULL, 0, NULL) != 0) return;
    dest_job *j = arena_calloc(c->a, sizeof *j);
    j->c = c;
    store_webhook *w = &j->d.row;
    apierr e;
    const char *type = params_str(c->params, "type");
    const char *payload = params_str(c->params, "event_payload");
    const char *version = params_str(c->params, "snapshot_api_version");
    const char *description = params_str(c->params, "description");
    const form_node *we = form_get(c->params, "webhook_endpoint");
    const form_node **from;
    size_t n_from = params_array(form_get(c->params, "events_from"), c->a, &from);
    w->thin = strcmp(payload, "thin") == 0;
    if (strcmp(type, "webhook_endpoint") != 0) {
        /* Only webhook endpoints deliver here: EventBridge and Event Grid need the cloud. */
        apierr_invalid(&e, c->a, "parameter_invalid_value", "type",
                       "Invalid type: verifyd delivers to event destinations of type "
                       "webhook_endpoint only; %.100s is not supported.",
                       type);
        goto refused;
    }
    if (we == NULL) {
        apierr_invalid(&e, c->a, "parameter_missing", "webhook_endpoint",
                       "Missing required param: webhook_endpoint (a destination of type "
                       "webhook_endpoint needs webhook_endpoint.url).");
        goto refused;
    }
    for (size_t i = 0; i < n_from; i++) {
        if (strcmp(from[i]->str, "@self") != 0 && strcmp(from[i]->str, "self") != 0) {
            apierr_invalid(&e, c->a, "parameter_invalid_value",
                           arena_printf(c->a, "events_from[%zu]", i),
                           "Invalid events_from[%zu]: only @self is supported (this account's "
                           "own events).",
                           i);
            goto refused;
        }
    }
    if (w->thin && version) {
        /* Stripe: "For snapshot events only ...; do not provide this for thin events." */
        apierr_invalid(&e, c->a, "parameter_invalid_value", "snapshot_api_version",
                       "snapshot_api_version is for snapshot event destinations only; thin "
                       "events are not pinned to an API version.");
        goto refused;
    }
    const char *url = params_str(we, "url");
    if (endpoints__check_webhook_url(c, url, "webhook_endpoint.url", &e) != 0 ||
        read_events(c, w, &e) != 0 || endpoints__merge_metadata(c, &j->d.md, &j->d.n_md, &e) != 0)
        goto refused;
    char id[48], secret[48];
    ids_random(id, sizeof id, c->livemode ? "ed_live_" : "ed_test_", IDS_OBJECT_LEN);
    ids_random(secret, sizeof secret, "whsec_", 32);
    w->id = arena_strdup(c->a, id);
    w->secret = arena_strdup(c->a, secret);
    w->account = c->account;
    w->livemode = c->livemode;
    w->created = account_clock_now(c->account);
    w->updated_ms = w->created * 1000;
    w->url = url;
    w->api_version = w->thin ? NULL : version;
    w->description = description && *description ? description : NULL;
    w->name = params_str(c->params, "name");
    w->destination = 1;
    store_submit(c->app->st, create_job, job_done, j);
    return;
refused:
    api_respond_error(c, &e);
}

/* ---- retrieve ---- */

void event_destinations_retrieve(api_ctx *c)
{
    if (api_validate(c, include_spec, NULL, 0, NULL) != 0) return;
    store_webhook row;
    int rc = store_webhook_get(c->app->st, c->account, c->path_id, c->a, &row);
    if (rc == 0 && !row.destination) rc = STORE_NOT_FOUND; /* a v1 endpoint is no destination */
    if (api_read_failed(c, rc, "event_destination", "id")) return;
    destination d;
    endpoints__hook_of(&row, c->a, &d);
    api_result res = {.status = 200};
    respond_destination(c, &d, 0, &res.body);
    api_finish(c, &res, 0);
}

/* ---- update, delete, enable, disable, ping: one job reads the destination first ---- */

/* The ping: a v2 event of its own, delivered to this destination only, in the same outbox. */
static int ping(dest_job *j, store_txn *t)
{
    api_ctx *c = j->c;
    char id[40];
    ids_time_ordered(id, sizeof id, "evt_", IDS_OBJECT_LEN);
    store_event e = {
        .id = arena_strdup(c->a, id),
        .account = c->account,
        .livemode = c->livemode,
        .created = account_clock_now(c->account),
        .type = THIN_EVENT_PING,
        .object_id = j->d.row.id,
        .request_id = c->request_id,
        .idempotency_key = c->idem_key,
        .pending_webhooks = 1,
        .v2 = 1,
    };
    int rc = store_txn_delivery_add(t, &e, j->d.row.id, util_now_ms());
    if (rc == 0) rc = store_txn_event_insert(t, &e);
    if (rc != 0) return rc;
    json_writer w;
    api_json_begin(c, &w, &j->res.body);
    thin_event_render(&e, &w);
    j->res.status = 200;
    j->res.object_id = e.id;
    return api_idem_save(c, t, &j->res);
}

static int id_job(store_txn *t, void *arg)
{
    dest_job *j = arg;
    api_ctx *c = j->c;
    store_webhook *w = &j->d.row;
    apierr e;
    store_webhook row;
    int rc = store_txn_webhook_get(t, c->account, c->path_id, c->a, &row);
    if (rc == 0 && !row.destination) rc = STORE_NOT_FOUND;
    if (rc == STORE_NOT_FOUND) {
        missing(c, &e);
        return api_job_error(c, t, &j->res, &e);
    }
    if (rc != 0) return rc;
    endpoints__hook_of(&row, c->a, &j->d);
    switch (j->op) {
    case OP_PING:
        return ping(j, t);
    case OP_DELETE: {
        rc = store_txn_webhook_delete(t, c->account, c->path_id);
        if (rc != 0) return rc;
        /* Stripe: the delete answers {"id": ...} (V2 DeletedObject). */
        json_writer jw;
        api_json_begin(c, &jw, &j->res.body);
        json_obj_begin(&jw);
        json_kstr(&jw, "id", c->path_id);
        json_kstr(&jw, "object", "v2.core.event_destination");
        json_obj_end(&jw);
        j->res.status = 200;
        return api_idem_save(c, t, &j->res);
    }
    case OP_ENABLE:
    case OP_DISABLE:
        /* CONTRACT.md §8: re-enabling before the next attempt resumes the retries. */
        j->kick = j->op == OP_ENABLE && w->disabled;
        w->disabled = j->op == OP_DISABLE;
        break;
    default: {
        const form_node *we = form_get(c->params, "webhook_endpoint");
        const char *name = params_str(c->params, "name");
        const char *description = params_str(c->params, "description");
        if (we) w->url = params_str(we, "url");
        if (name) w->name = name;
        if (description) w->description = *description ? description : NULL;
        if (form_get(c->params, "enabled_events") && read_events(c, w, &e) != 0)
            return api_job_error(c, t, &j->res, &e);
        if (endpoints__merge_metadata(c, &j->d.md, &j->d.n_md, &e) != 0)
            return api_job_error(c, t, &j->res, &e);
    }
    }
    w->updated_ms = account_clock_now_ms(c->account);
    rc = store_txn_webhook_update(t, endpoints__hook_row(&j->d, c->a));
    if (rc != 0) return rc;
    j->res.status = 200;
    j->res.object_id = w->id;
    respond_destination(c, &j->d, 0, &j->res.body);
    return api_idem_save(c, t, &j->res);
}

static void submit_id_job(api_ctx *c, int op)
{
    dest_job *j = arena_calloc(c->a, sizeof *j);
    j->c = c;
    j->op = op;
    store_submit(c->app->st, id_job, job_done, j);
}

void event_destinations_update(api_ctx *c)
{
    if (api_validate(c, update_spec, NULL, 0, NULL) != 0) return;
    const form_node *we = form_get(c->params, "webhook_endpoint");
    apierr e;
    if (we &&
        endpoints__check_webhook_url(c, params_str(we, "url"), "webhook_endpoint.url", &e) != 0) {
        api_respond_error(c, &e);
        return;
    }
    submit_id_job(c, OP_UPDATE);
}

void event_destinations_delete(api_ctx *c)
{
    if (api_validate(c, no_params, NULL, 0, NULL) == 0) submit_id_job(c, OP_DELETE);
}

void event_destinations_enable(api_ctx *c)
{
    if (api_validate(c, no_params, NULL, 0, NULL) == 0) submit_id_job(c, OP_ENABLE);
}

void event_destinations_disable(api_ctx *c)
{
    if (api_validate(c, no_params, NULL, 0, NULL) == 0) submit_id_job(c, OP_DISABLE);
}

void event_destinations_ping(api_ctx *c)
{
    if (api_validate(c, no_params, NULL, 0, NULL) == 0) submit_id_job(c, OP_PING);
}

/* ---- list ---- */

static int render_item(void *ctx, const void *item, json_writer *w)
{
    render_destination(w, item, *(int *)ctx, 0);
    return 0;
}

/* An account has at most DESTINATIONS_MAX destinations, so the list reads them all and pages in
 * memory. Stripe's v2 pagination: `page` is an opaque token taken from next_page_url or
 * previous_page_url, which carry every parameter (the SDK requests them as they are). Here the
 * token is "n" or "p" and the id the page starts after (next) or ends before (previous). */
void event_destinations_list(api_ctx *c)
{
    if (api_validate(c, list_spec, NULL, 1, NULL) != 0) return;
    int limit = (int)params_int(c->params, "limit", 10);
    const char *page = params_str(c->params, "page");
    store_webhook *all;
    size_t n;
    int rc = store_webhook_list(c->app->st, c->account, c->a, &all, &n);
    if (rc != 0) {
        api_finish(c, NULL, rc);
        return;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (all[i].destination) all[kept++] = all[i];
    n = kept;
    size_t from = 0, to = n;
    int before = 0;
    if (page) {
        size_t i = 0;
        before = page[0] == 'p';
        if ((page[0] == 'n' || page[0] == 'p') && page[1] == '_')
            while (i < n && strcmp(all[i].id, page + 2) != 0)
                i++;
        else
            i = n;
        if (i == n) {
            apierr e;
            apierr_invalid(&e, c->a, "parameter_invalid_value", "page",
                           "Invalid page: %.100s is not a page of this list.", page);
            api_respond_error(c, &e);
            return;
        }
        if (before)
            to = i;
        else
            from = i + 1;
    }
    if (to - from > (size_t)limit) {
        if (before)
            from = to - (size_t)limit;
        else
            to = from + (size_t)limit;
    }
    destination *d = arena_alloc(c->a, (to - from + 1) * sizeof *d);
    for (size_t i = from; i < to; i++)
        endpoints__hook_of(&all[i], c->a, &d[i - from]);
    int with_url = included(c, "webhook_endpoint.url");
    const char *inc = with_url ? "&include[0]=webhook_endpoint.url" : "";
    const char *next = NULL, *prev = NULL;
    if (to < n && to > from)
        next = arena_printf(c->a, "/v2/core/event_destinations?limit=%d&page=n_%s%s", limit,
                            all[to - 1].id, inc);
    if (from > 0 && to > from)
        prev = arena_printf(c->a, "/v2/core/event_destinations?limit=%d&page=p_%s%s", limit,
                            all[from].id, inc);
    api_v2_list_answer(c, d, to - from, sizeof *d, render_item, &with_url, next, prev);
}
