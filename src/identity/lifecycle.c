/*
 * lifecycle: the transitions after a submission (see lifecycle.h). CONTRACT.md §4, §11 "Moving a
 * session forward (test mode)".
 */
#include "identity/lifecycle.h"

#include <stdlib.h>

#include "identity/event.h"
#include "base/ids.h"
#include "base/log.h"
#include "identity/report.h"
#include "base/util.h"

static int can_submit(const session *s)
{
    return s->status == SESSION_REQUIRES_INPUT && s->redaction == SESSION_REDACTION_NONE;
}

static int can_finish(const session *s)
{
    return (s->status == SESSION_REQUIRES_INPUT || s->status == SESSION_PROCESSING) &&
           s->redaction == SESSION_REDACTION_NONE;
}

/* requires_input -> processing, with its event (not yet saved: the caller saves once). */
static int to_processing(store_txn *t, arena *a, session *s, const lifecycle_origin *o)
{
    s->status = SESSION_PROCESSING;
    return event_emit(t, a, s, EVT_PROCESSING, o->request_id, o->idem_key);
}

/* Save s; forget a delayed outcome it no longer has. */
static int save(store_txn *t, session *s, int had_pending)
{
    int rc = store_txn_session_update(t, s);
    if (rc == 0 && had_pending && s->pending == SESSION_PENDING_NONE)
        rc = store_txn_outcome_clear(t, s->account, s->id);
    return rc;
}

int lifecycle_process(store_txn *t, arena *a, session *s, const lifecycle_origin *o)
{
    if (!can_submit(s)) return LIFECYCLE_WRONG_STATE;
    int rc = to_processing(t, a, s, o);
    return rc != 0 ? rc : save(t, s, 0);
}

/* The end of processing: a report, then the session's final state and its event. */
static int finish(store_txn *t, arena *a, session *s, const char *fail_code,
                  const lifecycle_origin *o)
{
    int had_pending = s->pending != SESSION_PENDING_NONE;
    int rc = 0;
    if (s->status == SESSION_REQUIRES_INPUT) rc = to_processing(t, a, s, o);
    if (rc != 0) return rc;

    report *r = arena_alloc(a, sizeof *r);
    report_generate(a, s, fail_code, util_now(), r);
    rc = store_txn_report_insert(t, r);
    if (rc != 0) return rc;
    s->last_verification_report = r->id;
    s->pending = SESSION_PENDING_NONE;
    s->pending_code = NULL;
    s->pending_due = 0;
    const char *event;
    if (fail_code) {
        /* Stripe: CONTRACT.md §4: a failed check sends the session back with last_error; the
         * user retries with a fresh url / client_secret (§11). */
        s->status = SESSION_REQUIRES_INPUT;
        s->has_last_error = 1;
        s->last_error_code = fail_code;
        s->last_error_reason = report_error_reason(fail_code);
        session_issue_secrets(s, a);
        event = EVT_REQUIRES_INPUT;
    } else {
        s->status = SESSION_VERIFIED;
        s->has_last_error = 0;
        s->last_error_code = s->last_error_reason = NULL;
        report_verified_outputs(r, &s->outputs);
        event = EVT_VERIFIED;
    }
    rc = save(t, s, had_pending);
    if (rc == 0) rc = event_emit(t, a, s, event, o->request_id, o->idem_key);
    return rc;
}

int lifecycle_verify(store_txn *t, arena *a, session *s, const lifecycle_origin *o)
{
    if (!can_finish(s)) return LIFECYCLE_WRONG_STATE;
    return finish(t, a, s, NULL, o);
}

int lifecycle_require_input(store_txn *t, arena *a, session *s, const char *code,
                            const lifecycle_origin *o)
{
    if (!can_finish(s)) return LIFECYCLE_WRONG_STATE;
    return finish(t, a, s, code ? code : report_default_error_code(s), o);
}

int lifecycle_schedule(store_txn *t, arena *a, session *s, session_pending outcome,
                       const char *code, int64_t due_ms, const lifecycle_origin *o)
{
    if (!can_submit(s)) return LIFECYCLE_WRONG_STATE;
    int rc = to_processing(t, a, s, o);
    if (rc != 0) return rc;
    s->pending = outcome;
    s->pending_code = outcome == SESSION_PENDING_REQUIRE_INPUT
                          ? (code ? code : report_default_error_code(s))
                          : NULL;
    s->pending_due = due_ms;
    rc = save(t, s, 0);
    if (rc == 0) rc = store_txn_outcome_set(t, s->account, s->id, due_ms);
    return rc;
}
