/*
 * v2_events: GET /v2/core/events (list) and GET /v2/core/events/{id} (retrieve), the v2 form of
 * the account's events (thin_event.c). CONTRACT.md §11 "Versions"; Stripe: API reference v2
 * events (list filters object_id, types (up to 20), created; object_id optional since
 * 2025-10-29.clover), stripe-node 23.1.0 V2/Core/Events.d.ts and autoPagination.js (the next
 * page is fetched from next_page_url alone, so the url carries every filter).
 *
 * Not for: the v1 Events API (events.c) or rendering (thin_event.c).
 */
#include <stdio.h>
#include <string.h>

#include "endpoints/endpoints.h"
#include "identity/thin_event.h"

static const param_spec string_item[] = {{"", P_STRING, 0, .max_len = 200}, {NULL}};
static const param_spec list_spec[] = {
    {"created", P_RANGE},
    {"limit", P_INT, 0, .min = 1, .max = PAGE_LIMIT_MAX},
    {"object_id", P_STRING, 0, .max_len = 200},
    {"page", P_STRING, 0, .max_len = 200},
    {"types", P_ARRAY, 0, .fields = string_item, .max_items = 20},
    {NULL}};
static const param_spec retrieve_spec[] = {{NULL}};

static int render(void *ctx, const void *item, json_writer *w)
{
    (void)ctx;
    thin_event_render(item, w);
    return 0;
}

void v2_events_retrieve(api_ctx *c)
{
    if (api_validate(c, retrieve_spec, NULL, 0, NULL) != 0) return;
    char stored[THIN_EVENT_ID_MAX];
    store_event ev;
    int rc = STORE_NOT_FOUND;
    if (thin_event_stored_id(c->path_id, c->livemode, stored, sizeof stored) == 0)
        rc = store_event_get(c->app->st, c->account, stored, c->a, &ev);
    if (api_read_failed(c, rc, "event", "id")) return;
    api_result res = {.status = 200};
    json_writer w;
    api_json_begin(c, &w, &res.body);
    thin_event_render(&ev, &w);
    api_finish(c, &res, 0);
}

/* A v2 event name as the stored type it lists: "v1." + a v1 type is that type; a v2 type is
 * itself. NULL for anything else (no wildcards in v2). */
static const char *stored_type(const char *name)
{
    if (strncmp(name, "v1.", 3) != 0 && strncmp(name, "v2.", 3) != 0) return NULL;
    if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_.") != strlen(name)) return NULL;
    return strncmp(name, "v1.", 3) == 0 ? name + 3 : name;
}

/* Query-string escaping for the page urls (RFC 3986 unreserved characters stay). */
static void put_escaped(buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~')
            buf_putc(b, (char)ch);
        else
            buf_printf(b, "%%%02X", ch);
    }
}

/* The url of the page after (dir 'n') or before (dir 'p') the stored event id, with the
 * request's filters. */
static const char *page_url(api_ctx *c, int limit, char dir, const char *id)
{
    buf b;
    buf_init(&b, c->a);
    buf_printf(&b, "/v2/core/events?limit=%d&page=%c_", limit, dir);
    put_escaped(&b, id);
    const char *object_id = params_str(c->params, "object_id");
    if (object_id) {
        buf_puts(&b, "&object_id=");
        put_escaped(&b, object_id);
    }
    const form_node **items;
    size_t n = params_array(form_get(c->params, "types"), c->a, &items);
    for (size_t i = 0; i < n; i++) {
        buf_printf(&b, "&types[%zu]=", i);
        put_escaped(&b, items[i]->str);
    }
    params_range r;
    params_get_range(c->params, "created", &r);
    if (r.has_eq) buf_printf(&b, "&created=%lld", (long long)r.eq);
    if (r.has_gt) buf_printf(&b, "&created[gt]=%lld", (long long)r.gt);
    if (r.has_gte) buf_printf(&b, "&created[gte]=%lld", (long long)r.gte);
    if (r.has_lt) buf_printf(&b, "&created[lt]=%lld", (long long)r.lt);
    if (r.has_lte) buf_printf(&b, "&created[lte]=%lld", (long long)r.lte);
    return b.data;
}

void v2_events_list(api_ctx *c)
{
    if (api_validate(c, list_spec, NULL, 1, NULL) != 0) return;
    apierr e;
    int limit = (int)params_int(c->params, "limit", 10);
    const char *page = params_str(c->params, "page");
    store_event_query q = {.account = c->account,
                           .limit = limit,
                           .delivery_success = -1,
                           .v2 = 1,
                           .object_id = params_str(c->params, "object_id")};
    params_range r;
    params_get_range(c->params, "created", &r);
    q.created = (store_range){r.has_eq, r.has_gt, r.has_gte, r.has_lt, r.has_lte,
                              r.eq,     r.gt,     r.gte,     r.lt,     r.lte};
    const form_node **items;
    size_t n_types = params_array(form_get(c->params, "types"), c->a, &items);
    const char **types = arena_alloc(c->a, (n_types ? n_types : 1) * sizeof *types);
    for (size_t i = 0; i < n_types; i++) {
        types[i] = stored_type(items[i]->str);
        if (types[i] == NULL) {
            apierr_invalid(&e, c->a, "parameter_invalid_value", arena_printf(c->a, "types[%zu]", i),
                           "Invalid types[%zu]: %.100s is not an event type (such as "
                           "v1.identity.verification_session.verified).",
                           i, items[i]->str);
            api_respond_error(c, &e);
            return;
        }
    }
    q.types = types;
    q.n_types = n_types;
    int before = 0;
    if (page) {
        before = page[0] == 'p';
        if ((page[0] != 'n' && page[0] != 'p') || page[1] != '_' || page[2] == '\0') {
            apierr_invalid(&e, c->a, "parameter_invalid_value", "page",
                           "Invalid page: %.100s is not a page of this list.", page);
            api_respond_error(c, &e);
            return;
        }
        if (before)
            q.ending_before = page + 2;
        else
            q.starting_after = page + 2;
    }
    store_event *ev;
    size_t n;
    int has_more;
    int rc = store_event_list(c->app->st, &q, c->a, &ev, &n, &has_more);
    if (rc == STORE_CURSOR) {
        apierr_invalid(&e, c->a, "parameter_invalid_value", "page",
                       "Invalid page: %.100s is not a page of this list.", page);
        api_respond_error(c, &e);
        return;
    }
    if (rc != 0) {
        api_finish(c, NULL, rc);
        return;
    }
    const char *next = NULL, *prev = NULL;
    if (n > 0 && (before ? page != NULL : has_more)) next = page_url(c, limit, 'n', ev[n - 1].id);
    if (n > 0 && (before ? has_more : page != NULL)) prev = page_url(c, limit, 'p', ev[0].id);
    api_v2_list_answer(c, ev, n, sizeof *ev, render, NULL, next, prev);
}
