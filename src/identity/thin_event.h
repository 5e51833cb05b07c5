/*
 * thin_event: the v2 form of events (CONTRACT.md §11 "Versions"): the thin event notification
 * that v2 event destinations receive, and the v2 event object (`v2.core.event`) that
 * GET /v2/core/events returns for it. A v1 event (identity.verification_session.*) appears in v2
 * as `v1.` + its type, with a related_object that points at the session; an event of the v2 API
 * itself (v2.core.event_destination.ping) points at its destination.
 *
 * Ids: a stored event evt_X is evt_test_X (evt_live_X in live mode) in v2, so that the thin
 * event and its v1 snapshot event have distinct ids, as on Stripe (snapshot_event names the v1
 * one), and either leads back to the one stored row.
 *
 * Not for: v1 events (event.c), the HTTP handlers (endpoints/v2_events.c) or sending
 * (delivery.c).
 */
#ifndef VERIFYD_THIN_EVENT_H
#define VERIFYD_THIN_EVENT_H

#include <stddef.h>

#include "base/json.h"
#include "store/store.h"

#define THIN_EVENT_PING "v2.core.event_destination.ping"
#define THIN_EVENT_ID_MAX 64

/* The v2 id of stored event e into out (at least THIN_EVENT_ID_MAX bytes). */
void thin_event_id(const store_event *e, char *out, size_t size);
/* The stored id for the v2 id `id` in mode livemode into out (THIN_EVENT_ID_MAX bytes): 0, or -1
 * when id is no v2 event id of that mode (nothing is written). */
int thin_event_stored_id(const char *id, int livemode, char *out, size_t size);

/* The thin event notification for e, as Stripe pushes it to a thin destination and as
 * stripe.parseEventNotification reads it: id, object, type, livemode, created, related_object
 * (and reason for a change an API request made). */
void thin_event_render_notification(const store_event *e, json_writer *w);
/* The v2 event object for e (GET /v2/core/events/{id}): the notification's fields plus context,
 * reason (null for background changes) and, for a v1 event, snapshot_event. */
void thin_event_render(const store_event *e, json_writer *w);

/* An ISO 8601 UTC timestamp with milliseconds (v2 timestamps: "2024-10-22T16:20:09.931Z") of
 * unix milliseconds ms into out (at least 32 bytes). */
void thin_event_timestamp(int64_t ms, char *out, size_t size);

#endif
