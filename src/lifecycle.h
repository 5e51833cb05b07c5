/*
 * lifecycle: moving a session forward once it has been submitted (CONTRACT.md §4 and §11
 * "Moving a session forward"): requires_input -> processing -> verified, or back to
 * requires_input with last_error and a fresh client_secret / url. Each transition writes the
 * session, its verification report and its events (in order) inside the caller's store job, so
 * the test-helper endpoints (test_helpers_api.c), the hosted page (hosted_page.c) and the
 * background worker below share one code path.
 *
 * The worker completes delayed outcomes (the hosted page's "delayed" choices): their due times
 * are in the database, so an outcome scheduled before a restart completes after it. Its events
 * carry request null (CONTRACT.md §11 "Events and webhooks").
 *
 * Not for: HTTP parameters or rendering (the callers), report data (report.c).
 */
#ifndef VERIFYD_LIFECYCLE_H
#define VERIFYD_LIFECYCLE_H

#include "api.h"
#include "worker.h"
#include "session.h"
#include "store.h"

/* Who asked: the API request's id and idempotency key, or both NULL (page, background). */
typedef struct lc_origin {
    const char *request_id;
    const char *idem_key;
} lc_origin;

/* Return values of the transitions below, besides 0 (done) and negative STORE_E* codes. */
enum { LC_WRONG_STATE = 1 };

/* Inside a job, on s as just read in it (s is updated in place and saved). Each returns 0,
 * LC_WRONG_STATE (nothing written; s unchanged) or a STORE_E* code (the job must fail).
 *  process:       requires_input -> processing.
 *  verify:        requires_input or processing -> verified, with a verified report and
 *                 verified_outputs (from requires_input the processing event comes first).
 *  require_input: requires_input or processing -> requires_input with last_error code (NULL: the
 *                 session's default), an unverified report and a fresh client_secret / url.
 *  schedule:      requires_input -> processing, with outcome (VS_PENDING_VERIFY or
 *                 VS_PENDING_REQUIRE_INPUT, code as for require_input) due at due_ms.
 * A redacted session is in the wrong state for all of them. */
int lc_process(store_txn *t, arena *a, vs_session *s, const lc_origin *o);
int lc_verify(store_txn *t, arena *a, vs_session *s, const lc_origin *o);
int lc_require_input(store_txn *t, arena *a, vs_session *s, const char *code, const lc_origin *o);
int lc_schedule(store_txn *t, arena *a, vs_session *s, vs_pending outcome, const char *code,
                int64_t due_ms, const lc_origin *o);

/* Start the worker (worker.h) that completes delayed outcomes: kick it with worker_kick when
 * an outcome was scheduled, stop it with worker_stop. */
worker *lc_worker_start(app *ap);

#endif
