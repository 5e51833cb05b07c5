/*
 * events: builds the stored form of an event (its ID, type, request and a snapshot of the
 * session right after the change), fans it out to the webhook outbox and inserts it, all inside
 * the change's transaction; and renders a stored event as JSON.
 *
 * Not for: HTTP handling of /v1/events (endpoints/events.c) or delivering webhooks (delivery.c).
 */
#include "identity/event.h"

#include "identity/api_version.h"
#include "base/ids.h"
#include "base/util.h"

int event_emit(store_txn *t, arena *a, const session *s, const char *type, const char *request_id,
               const char *idem_key)
{
    char id[40];
    ids_time_ordered(id, sizeof id, "evt_", IDS_OBJECT_LEN);
    buf snap;
    buf_init(&snap, a);
    session_encode(s, &snap);
    store_event e = {
        .id = id,
        .account = s->account,
        .livemode = s->livemode,
        .created = util_now(),
        .type = type,
        .object_id = s->id,
        .request_id = request_id,
        .idempotency_key = request_id ? idem_key : NULL,
        .snapshot = snap.data,
        .snapshot_len = snap.len,
    };
    /* CONTRACT.md §11: the outbox rows and the event commit together, so an event is delivered
     * exactly when it exists (at least once). */
    int n = 0;
    int rc = store_txn_outbox_add(t, &e, util_now_ms(), &n);
    if (rc != 0) return rc;
    e.pending_webhooks = n;
    return store_txn_event_insert(t, &e);
}

int event_render(const store_event *e, const char *api_version, const char *public_url, arena *a,
                 json_writer *w)
{
    session s;
    if (session_decode(a, e->snapshot, e->snapshot_len, &s) != 0) return STORE_CORRUPT;
    s.account = e->account;
    /* Stripe: CONTRACT.md §4, objects inside events are never expanded. */
    session_render_opts o = {.public_url = public_url};
    json_obj_begin(w);
    json_kstr(w, "id", e->id);
    json_kstr(w, "object", "event");
    json_kstr(w, "api_version", api_version ? api_version : API_VERSION_DEFAULT);
    json_kint(w, "created", e->created);
    json_key(w, "data");
    json_obj_begin(w);
    json_key(w, "object");
    session_render(&s, &o, w);
    json_obj_end(w);
    json_kbool(w, "livemode", e->livemode);
    json_kint(w, "pending_webhooks", e->pending_webhooks);
    json_key(w, "request");
    json_obj_begin(w);
    json_kstr(w, "id", e->request_id);
    json_kstr(w, "idempotency_key", e->idempotency_key);
    json_obj_end(w);
    json_kstr(w, "type", e->type);
    json_obj_end(w);
    return 0;
}
