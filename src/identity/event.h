/*
 * events: writing and rendering identity.verification_session.* events. Every status change
 * calls event_emit() inside the same store job (so the same transaction) as the change itself,
 * and that same call puts the event's webhook deliveries in the outbox: CONTRACT.md §4, §8,
 * §11 "Events and webhooks".
 *
 * Not for: the /v1/events endpoints (endpoints/events.c) or sending webhooks (delivery.c).
 */
#ifndef VERIFYD_EVENTS_H
#define VERIFYD_EVENTS_H

#include "base/arena.h"
#include "base/json.h"
#include "identity/session.h"
#include "store/store.h"

/* Event type names. */
#define EVT_CREATED "identity.verification_session.created"
#define EVT_PROCESSING "identity.verification_session.processing"
#define EVT_REQUIRES_INPUT "identity.verification_session.requires_input"
#define EVT_VERIFIED "identity.verification_session.verified"
#define EVT_CANCELED "identity.verification_session.canceled"
#define EVT_REDACTED "identity.verification_session.redacted"

/* Record an event of type for s, with one pending delivery per endpoint it goes to (the commit
 * then wakes the delivery worker through the store's outbox hook). snapshot is s's record as the
 * job just saved it (session_store_update's *rec), or NULL to encode s as it is now (an event
 * of a state that is not saved). request_id / idem_key are NULL for changes made in the
 * background. Returns 0 or a STORE_E* code (the job should then fail). Scratch memory comes
 * from a. */
int event_emit(store_txn *t, arena *a, const session *s, const store_record *snapshot,
               const char *type, const char *request_id, const char *idem_key);

/* Which endpoints an event goes to (CONTRACT.md §8): an enabled endpoint of the event's account
 * and mode, or the --forward-to endpoint, whose enabled_events hold the event's type or '*'.
 * 1 or 0. */
int event_goes_to(const store_webhook *w, const store_event *e);

/* Render a stored event as Stripe's event object: data.object is the session snapshot,
 * unexpanded (never verified_outputs), api_version as given (NULL: API_VERSION_DEFAULT: the
 * version data is rendered in), the rest of the object shaped by the breaking changes up to
 * shape_version (api_version.h; NULL: the default). A webhook delivery passes its endpoint's
 * version as both; GET /v1/events passes the request's as shape_version. public_url is the base
 * of the session's url. Returns 0, or STORE_CORRUPT (nothing usable was written) when the
 * snapshot cannot be decoded. Scratch memory comes from a. */
int event_render(const store_event *e, const char *api_version, const char *shape_version,
                 const char *public_url, arena *a, json_writer *w);

#endif
