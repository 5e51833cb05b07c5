/*
 * state_export: one account as a single JSON document, the `verifyd.export` object that
 * GET /v1/test_helpers/verifyd/export answers and that state_import.c loads back (CONTRACT.md
 * §11 "Test control plane").
 *
 * Sessions, reports and event snapshots travel as their stored records (base64), not as their
 * rendered JSON: the record is the whole stored state (client secrets, verified outputs, a
 * pending outcome) and the import decodes it exactly as a read does, so what the API shows
 * afterwards is what it showed before. A redacted session's record holds only the redacted
 * values (redaction rewrites the record, its reports and its events' snapshots), so the export
 * never carries erased data. Endpoints and destinations are written field by field, secrets
 * included. Every list is oldest first, the order an import inserts in, so lists page alike.
 *
 * Not for: idempotency records and pending deliveries (not exported: README), or the HTTP side
 * (state.c).
 */
#include <string.h>

#include "base/b64.h"
#include "base/util.h"
#include "endpoints/endpoints.h"
#include "identity/report.h"

/* Page through a newest-first list: each page of up to PAGE items after the last one's id. */
#define PAGE 100

/* A growing array of one kind of item, in the arena. */
typedef struct items {
    void *v;
    size_t n, cap, size;
} items;

static void *items_push(items *it, arena *a)
{
    if (it->n == it->cap) {
        size_t cap = it->cap ? it->cap * 2 : 64;
        void *v = arena_alloc(a, cap * it->size);
        if (it->n) memcpy(v, it->v, it->n * it->size);
        it->v = v;
        it->cap = cap;
    }
    return (char *)it->v + it->n++ * it->size;
}

static void put_record(json_writer *w, arena *a, const char *key, const store_record *r)
{
    json_kstr(w, key, r->len ? b64_encode(a, r->data, r->len) : NULL);
}

/* Every session of account, newest first, as (id, record). */
typedef struct rec_item {
    const char *id;
    store_record record;
} rec_item;

static int read_sessions(store *st, arena *a, const char *account, items *out)
{
    const char *after = NULL;
    for (;;) {
        store_session_query q = {.account = account, .starting_after = after, .limit = PAGE};
        store_record *recs;
        size_t n;
        int more;
        int rc = store_session_list(st, &q, a, &recs, &n, &more);
        if (rc != 0) return rc;
        for (size_t i = 0; i < n; i++) {
            session s;
            if (session_decode(a, recs[i].data, recs[i].len, &s) != 0) return STORE_CORRUPT;
            rec_item *it = items_push(out, a);
            it->id = arena_strdup(a, s.id);
            it->record = recs[i];
            after = it->id;
        }
        if (!more || n == 0) return 0;
    }
}

static int read_reports(store *st, arena *a, const char *account, items *out)
{
    const char *after = NULL;
    for (;;) {
        store_report_query q = {.account = account, .starting_after = after, .limit = PAGE};
        store_record *recs;
        size_t n;
        int more;
        int rc = store_report_list(st, &q, a, &recs, &n, &more);
        if (rc != 0) return rc;
        for (size_t i = 0; i < n; i++) {
            report r;
            if (report_decode(a, recs[i].data, recs[i].len, &r) != 0) return STORE_CORRUPT;
            rec_item *it = items_push(out, a);
            it->id = arena_strdup(a, r.id);
            it->record = recs[i];
            after = it->id;
        }
        if (!more || n == 0) return 0;
    }
}

static int read_events(store *st, arena *a, const char *account, items *out)
{
    const char *after = NULL;
    for (;;) {
        store_event_query q = {.account = account,
                               .delivery_success = -1,
                               .starting_after = after,
                               .limit = PAGE,
                               .v2 = 1};
        store_event *evs;
        size_t n;
        int more;
        int rc = store_event_list(st, &q, a, &evs, &n, &more);
        if (rc != 0) return rc;
        for (size_t i = 0; i < n; i++) {
            *(store_event *)items_push(out, a) = evs[i];
            after = evs[i].id;
        }
        if (!more || n == 0) return 0;
    }
}

static void write_webhook(json_writer *w, arena *a, const store_webhook *h)
{
    json_obj_begin(w);
    json_kstr(w, "id", h->id);
    json_kint(w, "created", h->created);
    json_kbool(w, "livemode", h->livemode);
    json_kbool(w, "disabled", h->disabled);
    json_kstr(w, "url", h->url);
    json_kstr(w, "secret", h->secret);
    json_kstr(w, "api_version", h->api_version);
    json_kstr(w, "description", h->description);
    json_key(w, "enabled_events");
    json_arr_begin(w);
    for (size_t i = 0; i < h->n_enabled_events; i++)
        json_str(w, h->enabled_events[i]);
    json_arr_end(w);
    put_record(w, a, "metadata", &h->metadata);
    if (h->destination) {
        json_kstr(w, "name", h->name);
        json_kstr(w, "event_payload", h->thin ? "thin" : "snapshot");
        json_kint(w, "updated_ms", h->updated_ms);
    } else {
        json_kbool(w, "connect", h->connect);
    }
    json_obj_end(w);
}

int endpoints__state_export(store *st, arena *a, const char *account, json_writer *w)
{
    items sessions = {.size = sizeof(rec_item)}, reports = {.size = sizeof(rec_item)};
    items events = {.size = sizeof(store_event)};
    store_webhook *hooks;
    size_t n_hooks;
    int rc = read_sessions(st, a, account, &sessions);
    if (rc == 0) rc = read_reports(st, a, account, &reports);
    if (rc == 0) rc = read_events(st, a, account, &events);
    if (rc == 0) rc = store_webhook_list(st, account, a, &hooks, &n_hooks);
    if (rc != 0) return rc;

    json_obj_begin(w);
    json_kstr(w, "object", "verifyd.export");
    json_kint(w, "format", ENDPOINTS_STATE_FORMAT);
    json_kstr(w, "account", account);
    json_kbool(w, "livemode", 0);
    json_kint(w, "created", util_now());
    json_key(w, "sessions");
    json_arr_begin(w);
    for (size_t i = sessions.n; i-- > 0;) {
        const rec_item *it = (const rec_item *)sessions.v + i;
        json_obj_begin(w);
        json_kstr(w, "id", it->id);
        put_record(w, a, "record", &it->record);
        json_obj_end(w);
    }
    json_arr_end(w);
    json_key(w, "reports");
    json_arr_begin(w);
    for (size_t i = reports.n; i-- > 0;) {
        const rec_item *it = (const rec_item *)reports.v + i;
        json_obj_begin(w);
        json_kstr(w, "id", it->id);
        put_record(w, a, "record", &it->record);
        json_obj_end(w);
    }
    json_arr_end(w);
    json_key(w, "events");
    json_arr_begin(w);
    for (size_t i = events.n; i-- > 0;) {
        const store_event *e = (const store_event *)events.v + i;
        json_obj_begin(w);
        json_kstr(w, "id", e->id);
        json_kint(w, "created", e->created);
        json_kbool(w, "livemode", e->livemode);
        json_kstr(w, "type", e->type);
        json_kstr(w, "object_id", e->object_id);
        json_kstr(w, "request_id", e->request_id);
        json_kstr(w, "idempotency_key", e->idempotency_key);
        json_kint(w, "pending_webhooks", e->pending_webhooks);
        json_kbool(w, "v2", e->v2);
        put_record(w, a, "snapshot", &e->snapshot);
        json_obj_end(w);
    }
    json_arr_end(w);
    /* The store lists them newest first, endpoints and destinations together. */
    for (int dest = 0; dest <= 1; dest++) {
        json_key(w, dest ? "event_destinations" : "webhook_endpoints");
        json_arr_begin(w);
        for (size_t i = n_hooks; i-- > 0;)
            if (hooks[i].destination == dest) write_webhook(w, a, &hooks[i]);
        json_arr_end(w);
    }
    json_obj_end(w);
    return 0;
}
