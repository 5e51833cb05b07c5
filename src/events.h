/*
 * events: writing identity.verification_session.* events. Every status change calls
 * events_emit() inside the same store job (so the same transaction) as the change itself:
 * CONTRACT.md §4, §11 "Events and webhooks".
 */
#ifndef VERIFYD_EVENTS_H
#define VERIFYD_EVENTS_H

#include "arena.h"
#include "session.h"
#include "store.h"

/* Event type names, suffixes of "identity.verification_session.". */
#define EVT_CREATED "identity.verification_session.created"
#define EVT_PROCESSING "identity.verification_session.processing"
#define EVT_REQUIRES_INPUT "identity.verification_session.requires_input"
#define EVT_VERIFIED "identity.verification_session.verified"
#define EVT_CANCELED "identity.verification_session.canceled"
#define EVT_REDACTED "identity.verification_session.redacted"

/* Record an event of type for s as it is now. request_id / idem_key are NULL for changes made
 * in the background. Returns 0 or a STORE_E* code (the job should then fail). */
int events_emit(store_txn *t, arena *a, const vs_session *s, const char *type,
                const char *request_id, const char *idem_key);

#endif
