/*
 * lifecycle: the transitions after a submission (see lifecycle.h) and the worker that completes
 * delayed outcomes. CONTRACT.md §4, §11 "Moving a session forward (test mode)".
 *
 * The worker is one thread: it sleeps until kicked or until the next poll, then completes every
 * outcome that is due, each in its own store job together with its report and events.
 */
#include "lifecycle.h"

#include <stdlib.h>

#include "events.h"
#include "ids.h"
#include "log.h"
#include "report.h"
#include "util.h"

#define POLL_MS 200

static int can_submit(const vs_session *s)
{
    return s->status == VS_REQUIRES_INPUT && s->redaction == VS_REDACTION_NONE;
}

static int can_finish(const vs_session *s)
{
    return (s->status == VS_REQUIRES_INPUT || s->status == VS_PROCESSING) &&
           s->redaction == VS_REDACTION_NONE;
}

/* requires_input -> processing, with its event (not yet saved: the caller saves once). */
static int to_processing(store_txn *t, arena *a, vs_session *s, const lc_origin *o)
{
    s->status = VS_PROCESSING;
    return events_emit(t, a, s, EVT_PROCESSING, o->request_id, o->idem_key);
}

/* Save s; forget a delayed outcome it no longer has. */
static int save(store_txn *t, vs_session *s, int had_pending)
{
    int rc = store_txn_session_update(t, s);
    if (rc == 0 && had_pending && s->pending == VS_PENDING_NONE)
        rc = store_txn_outcome_clear(t, s->account, s->id);
    return rc;
}

int lc_process(store_txn *t, arena *a, vs_session *s, const lc_origin *o)
{
    if (!can_submit(s)) return LC_WRONG_STATE;
    int rc = to_processing(t, a, s, o);
    return rc != 0 ? rc : save(t, s, 0);
}

/* The end of processing: a report, then the session's final state and its event. */
static int finish(store_txn *t, arena *a, vs_session *s, const char *fail_code, const lc_origin *o)
{
    int had_pending = s->pending != VS_PENDING_NONE;
    int rc = 0;
    if (s->status == VS_REQUIRES_INPUT) rc = to_processing(t, a, s, o);
    if (rc != 0) return rc;

    vr_report *r = arena_alloc(a, sizeof *r);
    vr_generate(a, s, fail_code, util_now(), r);
    rc = store_txn_report_insert(t, r);
    if (rc != 0) return rc;
    s->last_verification_report = r->id;
    s->pending = VS_PENDING_NONE;
    s->pending_code = NULL;
    s->pending_due = 0;
    const char *event;
    if (fail_code) {
        /* Stripe: CONTRACT.md §4: a failed check sends the session back with last_error; the
         * user retries with a fresh url / client_secret (§11). */
        s->status = VS_REQUIRES_INPUT;
        s->has_last_error = 1;
        s->last_error_code = fail_code;
        s->last_error_reason = vr_error_reason(fail_code);
        vs_issue_secrets(s, a);
        event = EVT_REQUIRES_INPUT;
    } else {
        s->status = VS_VERIFIED;
        s->has_last_error = 0;
        s->last_error_code = s->last_error_reason = NULL;
        vr_verified_outputs(r, &s->outputs);
        event = EVT_VERIFIED;
    }
    rc = save(t, s, had_pending);
    if (rc == 0) rc = events_emit(t, a, s, event, o->request_id, o->idem_key);
    return rc;
}

int lc_verify(store_txn *t, arena *a, vs_session *s, const lc_origin *o)
{
    if (!can_finish(s)) return LC_WRONG_STATE;
    return finish(t, a, s, NULL, o);
}

int lc_require_input(store_txn *t, arena *a, vs_session *s, const char *code, const lc_origin *o)
{
    if (!can_finish(s)) return LC_WRONG_STATE;
    return finish(t, a, s, code ? code : vr_default_error_code(s), o);
}

int lc_schedule(store_txn *t, arena *a, vs_session *s, vs_pending outcome, const char *code,
                int64_t due_ms, const lc_origin *o)
{
    if (!can_submit(s)) return LC_WRONG_STATE;
    int rc = to_processing(t, a, s, o);
    if (rc != 0) return rc;
    s->pending = outcome;
    s->pending_code =
        outcome == VS_PENDING_REQUIRE_INPUT ? (code ? code : vr_default_error_code(s)) : NULL;
    s->pending_due = due_ms;
    rc = save(t, s, 0);
    if (rc == 0) rc = store_txn_outcome_set(t, s->account, s->id, due_ms);
    return rc;
}

/* ---- the worker ---- */

static int complete_one(store_txn *t, void *arg)
{
    worker_item *j = arg;
    vs_session s;
    int rc = store_txn_session_get(t, j->account, j->id, j->a, &s);
    if (rc == STORE_NOT_FOUND) return store_txn_outcome_clear(t, j->account, j->id);
    if (rc != 0) return rc;
    if (s.pending == VS_PENDING_NONE || s.status != VS_PROCESSING)
        return store_txn_outcome_clear(t, j->account, j->id); /* completed meanwhile */
    if (s.pending_due > j->now_ms) return 0;
    static const lc_origin background = {NULL, NULL};
    rc = s.pending == VS_PENDING_VERIFY
             ? lc_verify(t, j->a, &s, &background)
             : lc_require_input(t, j->a, &s, s.pending_code, &background);
    if (rc == LC_WRONG_STATE) return store_txn_outcome_clear(t, j->account, j->id);
    j->done = rc == 0;
    return rc;
}

/* Complete every delayed outcome due at now_ms: how many, or a STORE_E* code. */
static int lc_run_once(app *ap, int64_t now_ms)
{
    return worker_run_due(ap, now_ms, store_outcomes_due, complete_one, "delayed outcome");
}

worker *lc_worker_start(app *ap)
{
    return worker_start(ap, lc_run_once, POLL_MS);
}
