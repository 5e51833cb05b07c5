/*
 * lifecycle: moving a session forward once it has been submitted (CONTRACT.md §4 and §11
 * "Moving a session forward"): requires_input -> processing -> verified, or back to
 * requires_input with last_error and a fresh client_secret / url. Each transition writes the
 * session, its verification report and its events (in order) inside the caller's store job, so
 * the test-helper endpoints (session_helpers.c), the hosted page (hosted_page.c) and the
 * outcomes worker (outcomes.c) share one code path.
 *
 * Not for: HTTP parameters or rendering (the callers), report data (report.c).
 */
#ifndef VERIFYD_LIFECYCLE_H
#define VERIFYD_LIFECYCLE_H

#include "identity/session.h"
#include "store/store.h"

/* Who asked: the API request's id and idempotency key, or both NULL (page, background). */
typedef struct lifecycle_origin {
    const char *request_id;
    const char *idem_key;
} lifecycle_origin;

/* Return values of the transitions below, besides 0 (done) and negative STORE_E* codes. */
enum { LIFECYCLE_WRONG_STATE = 1 };

/* Inside a job, on s as just read in it (s is updated in place and saved). Each returns 0,
 * LIFECYCLE_WRONG_STATE (nothing written; s unchanged) or a STORE_E* code (the job must fail).
 *  process:       requires_input -> processing.
 *  verify:        requires_input or processing -> verified, with a verified report and
 *                 verified_outputs (from requires_input the processing event comes first).
 *  require_input: requires_input or processing -> requires_input with last_error code (NULL: the
 *                 session's default), an unverified report and a fresh client_secret / url.
 *  schedule:      requires_input -> processing, with outcome (SESSION_PENDING_VERIFY or
 *                 SESSION_PENDING_REQUIRE_INPUT, code as for require_input) due at due_ms.
 * A redacted session is in the wrong state for all of them. */
int lifecycle_process(store_txn *t, arena *a, session *s, const lifecycle_origin *o);
int lifecycle_verify(store_txn *t, arena *a, session *s, const lifecycle_origin *o);
int lifecycle_require_input(store_txn *t, arena *a, session *s, const char *code,
                            const lifecycle_origin *o);
int lifecycle_schedule(store_txn *t, arena *a, session *s, session_pending outcome,
                       const char *code, int64_t due_ms, const lifecycle_origin *o);

#endif
