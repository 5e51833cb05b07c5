/*
 * thin_event: renders stored events in their v2 form (see thin_event.h). Stripe: docs
 * event-destinations "thin events" and the v2 Events API; stripe-node 23.1.0
 * (V2/Core/Events.d.ts, EventNotificationBase; stripe.core.js _buildEventNotification, which
 * refuses object "event" and fetches related_object.url and /v2/core/events/{id}).
 */
#include "identity/thin_event.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "identity/account.h"

void thin_event_timestamp(int64_t ms, char *out, size_t size)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char day[24];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%s.%03dZ", day, (int)(ms % 1000));
}

void thin_event_id(const store_event *e, char *out, size_t size)
{
    const char *rest = strncmp(e->id, "evt_", 4) == 0 ? e->id + 4 : e->id;
    snprintf(out, size, "evt_%s_%s", e->livemode ? "live" : "test", rest);
}

int thin_event_stored_id(const char *id, int livemode, char *out, size_t size)
{
    const char *prefix = livemode ? "evt_live_" : "evt_test_";
    size_t n = strlen(prefix);
    if (strncmp(id, prefix, n) != 0 || id[n] == '\0' || strlen(id) + 1 > THIN_EVENT_ID_MAX)
        return -1;
    snprintf(out, size, "evt_%s", id + n);
    return 0;
}

/* The fields both forms share, in the notification's order. A v1 event's type gains "v1."
 * (Stripe: v1.identity.verification_session.verified). */
static void common(const store_event *e, json_writer *w)
{
    char id[THIN_EVENT_ID_MAX], created[32], type[128];
    thin_event_id(e, id, sizeof id);
    thin_event_timestamp(e->created * 1000, created, sizeof created);
    snprintf(type, sizeof type, "%s%s", e->v2 ? "" : "v1.", e->type);
    json_kstr(w, "id", id);
    json_kstr(w, "object", "v2.core.event");
    json_kstr(w, "type", type);
    json_kbool(w, "livemode", e->livemode);
    json_kstr(w, "created", created);
}

static void related_object(const store_event *e, json_writer *w)
{
    char url[160];
    int ping = e->v2;
    snprintf(url, sizeof url, "%s%s",
             ping ? "/v2/core/event_destinations/" : "/v1/identity/verification_sessions/",
             e->object_id);
    json_key(w, "related_object");
    json_obj_begin(w);
    json_kstr(w, "id", e->object_id);
    json_kstr(w, "type", ping ? "v2.core.event_destination" : "identity.verification_session");
    json_kstr(w, "url", url);
    json_obj_end(w);
}

/* Stripe: reason {type: "request", request: {id, idempotency_key}} when an API request caused
 * the event (CONTRACT.md §4 event.request); null otherwise. */
static void reason(const store_event *e, json_writer *w, int null_ok)
{
    if (e->request_id == NULL) {
        if (null_ok) json_knull(w, "reason");
        return;
    }
    json_key(w, "reason");
    json_obj_begin(w);
    json_kstr(w, "type", "request");
    json_key(w, "request");
    json_obj_begin(w);
    json_kstr(w, "id", e->request_id);
    json_kstr(w, "idempotency_key", e->idempotency_key);
    json_obj_end(w);
    json_obj_end(w);
}

void thin_event_render_notification(const store_event *e, json_writer *w)
{
    json_obj_begin(w);
    common(e, w);
    /* Stripe: a connected account's event names it in context (what Stripe-Context must be to
     * fetch it); the account's own events carry none. */
    const char *connected = account_connected_id(e->account);
    if (connected != NULL) json_kstr(w, "context", connected);
    related_object(e, w);
    reason(e, w, 0);
    json_obj_end(w);
}

void thin_event_render(const store_event *e, json_writer *w)
{
    json_obj_begin(w);
    common(e, w);
    /* A connected account's, as in the notification; null for the account's own. */
    json_kstr(w, "context", account_connected_id(e->account));
    related_object(e, w);
    reason(e, w, 1);
    if (!e->v2) json_kstr(w, "snapshot_event", e->id);
    json_obj_end(w);
}
