/*
 * events_api: GET /v1/events (list, filters type with '*' wildcards, types[], created,
 * delivery_success; cursor pagination like the sessions list) and GET /v1/events/{id}.
 * CONTRACT.md §8 "Event endpoints", §11 "Events and webhooks".
 *
 * Both only read. Not for: writing events (identity/event.c) or their delivery (delivery.c).
 */
#include <string.h>

#include "endpoints/endpoints.h"
#include "identity/event.h"

#define TYPES_MAX 20

/* ---- parameter specs (identity-openapi.json, /v1/events) ---- */

static const param_spec string_item[] = {{"", P_STRING, 0, .max_len = 5000}, {NULL}};

#define EXPAND_PARAM                                                                               \
    {                                                                                              \
        "expand", P_ARRAY, 0, .fields = string_item                                                \
    }

static const param_spec list_spec[] = {
    {"created", P_RANGE},
    {"delivery_success", P_BOOL},
    {"ending_before", P_STRING, 0, .max_len = 5000},
    EXPAND_PARAM,
    {"limit", P_INT, 0, .min = 1, .max = PAGE_LIMIT_MAX},
    {"starting_after", P_STRING, 0, .max_len = 5000},
    {"type", P_STRING, 0, .max_len = 5000},
    {"types", P_ARRAY, 0, .fields = string_item, .max_items = TYPES_MAX},
    {NULL}};

static const param_spec retrieve_spec[] = {EXPAND_PARAM, {NULL}};

/* x-expandableFields of event: both are always inline, so expanding them changes nothing. */
static const char *const expandable[] = {"data", "request", NULL};

/* Render the store_event item into w (an api_item_render; ctx is the api_ctx). Returns 0, or
 * STORE_CORRUPT when its snapshot is unreadable. */
static int render(void *ctx, const void *item, json_writer *w)
{
    api_ctx *c = ctx;
    return event_render(item, NULL, c->version, c->app->public_url, c->a, w) != 0 ? STORE_CORRUPT
                                                                                  : 0;
}

void events_retrieve(api_ctx *c)
{
    if (api_validate(c, retrieve_spec, expandable, 0, NULL) != 0) return;
    store_event ev;
    int rc = store_event_get(c->app->st, c->account, c->path_id, c->a, &ev);
    if (rc == 0 && ev.v2) rc = STORE_NOT_FOUND; /* a v2 event (a ping) has no v1 form */
    if (rc == STORE_NOT_FOUND && fixtures_on(c, "evt_")) {
        fixtures_event(c, &ev);
        rc = 0;
    }
    if (api_read_failed(c, rc, "event", "id")) return;
    api_result res = {.status = 200};
    json_writer w;
    api_json_begin(c, &w, &res.body);
    api_finish(c, &res, render(c, &ev, &w));
}

void events_list(api_ctx *c)
{
    api_page p;
    if (api_validate(c, list_spec, expandable, 1, NULL) != 0 || api_page_read(c, &p) != 0) return;
    apierr e;
    store_event_query q = {.account = c->account,
                           .limit = p.limit,
                           .starting_after = p.starting_after,
                           .ending_before = p.ending_before,
                           .created = p.created};
    q.delivery_success = params_bool(c->params, "delivery_success", -1);

    const char *type = params_str(c->params, "type");
    form_node *types = form_get(c->params, "types");
    if (type && types) {
        apierr_invalid(&e, c->a, NULL, "types",
                       "You may only specify one of these parameters: type, types.");
        api_respond_error(c, &e);
        return;
    }
    if (type) {
        const char **one = arena_alloc(c->a, sizeof *one);
        one[0] = type;
        q.types = one;
        q.n_types = 1;
    } else if (types) {
        const form_node **items;
        size_t n = params_array(types, c->a, &items);
        const char **v = arena_alloc(c->a, (n ? n : 1) * sizeof *v);
        for (size_t i = 0; i < n; i++)
            v[i] = items[i]->str;
        q.types = v;
        q.n_types = n;
    }
    store_event *items;
    size_t n;
    int has_more;
    int rc = store_event_list(c->app->st, &q, c->a, &items, &n, &has_more);
    api_list_answer(c, &p, "event", "/v1/events", rc, items, n, sizeof *items, has_more, render, c);
}
