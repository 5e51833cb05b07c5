/*
 * lifecycle: the transitions after a submission (see lifecycle.h). CONTRACT.md §4, §11 "Moving a
 * session forward (test mode)".
 */
#include "identity/lifecycle.h"

#include <stdlib.h>

#include "identity/account_clock.h"
#include "identity/event.h"
#include "base/ids.h"
#include "base/log.h"
#include "identity/report.h"
#include "identity/report_store.h"
#include "identity/session_store.h"
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

/* Save s, read in this job with status was, with its event; forget a delayed outcome it no
 * longer has. */
static int save(store_txn *t, arena *a, session *s, session_status was, int had_pending,
                const char *event, const lifecycle_origin *o)
{
    store_record rec;
    int rc = session_store_update(t, a, s, was, &rec);
    if (rc == 0 && had_pending && s->pending == SESSION_PENDING_NONE)
        rc = store_txn_outcome_clear(t, s->account, s->id);
    if (rc == 0) rc = event_emit(t, a, s, &rec, event, o->request_id, o->idem_key);
    return rc;
}

int lifecycle_process(store_txn *t, arena *a, session *s, const lifecycle_origin *o)
{
    if (!can_submit(s)) return LIFECYCLE_WRONG_STATE;
    session_status was = s->status;
    s->status = SESSION_PROCESSING;
    return save(t, a, s, was, 0, EVT_PROCESSING, o);
}

/* The end of processing: a report, then the session's final state and its event. */
static int finish(store_txn *t, arena *a, session *s, const char *fail_code,
                  const lifecycle_origin *o)
{
    int had_pending = s->pending != SESSION_PENDING_NONE;
    session_status was = s->status;
    int rc = 0;
    if (s->status == SESSION_REQUIRES_INPUT) {
        /* Through processing first, with its event; that state is never saved on its own. */
        s->status = SESSION_PROCESSING;
        rc = event_emit(t, a, s, NULL, EVT_PROCESSING, o->request_id, o->idem_key);
    }
    if (rc != 0) return rc;

    report *r = arena_alloc(a, sizeof *r);
    report_generate(a, s, fail_code, account_clock_now(s->account), r);
    rc = report_store_insert(t, a, r);
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
    return save(t, a, s, was, had_pending, event, o);
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
    session_status was = s->status;
    s->status = SESSION_PROCESSING;
    s->pending = outcome;
    s->pending_code = outcome == SESSION_PENDING_REQUIRE_INPUT
                          ? (code ? code : report_default_error_code(s))
                          : NULL;
    s->pending_due = due_ms;
    int rc = save(t, a, s, was, 0, EVT_PROCESSING, o);
    /* pending_due is in the account's time; the outcome worker's due time in real time
     * (account_clock.h). */
    if (rc == 0)
        rc = store_txn_outcome_set(t, s->account, s->id,
                                   due_ms - account_clock_offset_ms(s->account));
    return rc;
}
