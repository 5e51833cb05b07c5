/*
 * events: builds the stored form of an event (its ID, type, request and a snapshot of the
 * session right after the change), fans it out to the webhook outbox and inserts it, all inside
 * the change's transaction; and renders a stored event as JSON.
 *
 * Not for: HTTP handling of /v1/events (endpoints/events.c) or delivering webhooks (delivery.c).
 */
#include "identity/event.h"

#include <string.h>

#include "identity/account.h"
#include "identity/account_clock.h"
#include "identity/api_version.h"
#include "base/ids.h"
#include "base/util.h"

/* Whether endpoint w (not the forward one) listens to e's account: its own events (an endpoint
 * made without connect), or, made with connect=true, the events of its account's connected
 * accounts (CONTRACT.md §11 "Keys and accounts"). */
static int listens_to_account(const store_webhook *w, const store_event *e)
{
    if (!w->connect) return strcmp(w->account, e->account) == 0;
    size_t n = account_platform_len(e->account);
    return account_connected_id(e->account) != NULL && strlen(w->account) == n &&
           strncmp(w->account, e->account, n) == 0;
}

int event_goes_to(const store_webhook *w, const store_event *e)
{
    if (w->disabled) return 0;
    int forward = strcmp(w->account, STORE_FORWARD_ACCOUNT) == 0;
    if (!forward && (!listens_to_account(w, e) || !w->livemode != !e->livemode)) return 0;
    if (e->v2) return 0; /* a v2 event (a ping) goes only where it was sent */
    for (size_t i = 0; i < w->n_enabled_events; i++) {
        const char *name = w->enabled_events[i];
        /* Stripe: a thin destination names a v1 event as "v1." + its type (SDK
         * V1IdentityVerificationSession*EventNotification); a snapshot destination, like a v1
         * endpoint, by its type or '*'. */
        if (w->destination && w->thin) {
            if (strncmp(name, "v1.", 3) == 0 && strcmp(name + 3, e->type) == 0) return 1;
        } else if (strcmp(name, "*") == 0 || strcmp(name, e->type) == 0) {
            return 1;
        }
    }
    return 0;
}

int event_emit(store_txn *t, arena *a, const session *s, const store_record *snapshot,
               const char *type, const char *request_id, const char *idem_key)
{
    char id[40];
    ids_time_ordered(id, sizeof id, "evt_", IDS_OBJECT_LEN);
    store_event e = {
        .id = id,
        .account = s->account,
        .livemode = s->livemode,
        .created = account_clock_now(s->account),
        .type = type,
        .object_id = s->id,
        .request_id = request_id,
        .idempotency_key = request_id ? idem_key : NULL,
    };
    if (snapshot != NULL) {
        e.snapshot = *snapshot;
    } else {
        buf snap;
        buf_init(&snap, a);
        session_encode(s, &snap);
        e.snapshot = (store_record){snap.data, snap.len};
    }
    /* CONTRACT.md §11: the outbox rows and the event commit together, so an event is delivered
     * exactly when it exists (at least once). */
    store_webhook *w;
    size_t n;
    const char *platform = NULL;
    if (account_connected_id(s->account) != NULL)
        platform = arena_strndup(a, s->account, account_platform_len(s->account));
    int rc = store_txn_webhook_candidates(t, s->account, platform, a, &w, &n);
    int64_t now_ms = util_now_ms();
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!event_goes_to(&w[i], &e)) continue;
        rc = store_txn_delivery_add(t, &e, w[i].id, now_ms);
        e.pending_webhooks++;
    }
    return rc != 0 ? rc : store_txn_event_insert(t, &e);
}

int event_render(const store_event *e, const char *api_version, const char *shape_version,
                 const char *public_url, arena *a, json_writer *w)
{
    session s;
    if (session_decode(a, e->snapshot.data != NULL ? e->snapshot.data : "", e->snapshot.len, &s) !=
        0)
        return STORE_CORRUPT;
    s.account = e->account;
    /* Stripe: CONTRACT.md §4, objects inside events are never expanded. */
    session_render_opts o = {.public_url = public_url};
    json_obj_begin(w);
    json_kstr(w, "id", e->id);
    json_kstr(w, "object", "event");
    /* Stripe: CONTRACT.md §11, a connected account's events name it. */
    const char *connected = account_connected_id(e->account);
    if (connected != NULL) json_kstr(w, "account", connected);
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
    if (api_version_has(shape_version, API_CHANGE_EVENT_REQUEST_OBJECT)) {
        json_obj_begin(w);
        json_kstr(w, "id", e->request_id);
        json_kstr(w, "idempotency_key", e->idempotency_key);
        json_obj_end(w);
    } else {
        json_str(w, e->request_id);
    }
    json_kstr(w, "type", e->type);
    json_obj_end(w);
    return 0;
}
