/*
 * outcomes: the background worker that completes the hosted page's delayed outcomes (CONTRACT.md
 * §11 "Moving a session forward (test mode)"). It is one thread: it sleeps until kicked or until
 * the next poll, then completes every outcome that is due, each in its own store job together
 * with its report and events (lifecycle.h). Due times are in the database, so an outcome
 * scheduled before a restart completes after it; its events carry request null.
 */
#include "background/outcomes.h"
#include "identity/session_store.h"
#include "identity/account_clock.h"

#include "identity/lifecycle.h"

#define POLL_MS 200

static int complete_one(store_txn *t, void *arg)
{
    worker_item *j = arg;
    session s;
    int rc = session_store_txn_get(t, j->account, j->id, j->a, &s);
    if (rc == STORE_NOT_FOUND) return store_txn_outcome_clear(t, j->account, j->id);
    if (rc != 0) return rc;
    if (s.pending == SESSION_PENDING_NONE || s.status != SESSION_PROCESSING)
        return store_txn_outcome_clear(t, j->account, j->id); /* completed meanwhile */
    /* pending_due is in the account's time (account_clock.h). */
    if (s.pending_due > j->now_ms + account_clock_offset_ms(j->account)) return 0;
    static const lifecycle_origin background = {NULL, NULL};
    rc = s.pending == SESSION_PENDING_VERIFY
             ? lifecycle_verify(t, j->a, &s, &background)
             : lifecycle_require_input(t, j->a, &s, s.pending_code, &background);
    if (rc == LIFECYCLE_WRONG_STATE) return store_txn_outcome_clear(t, j->account, j->id);
    j->done = rc == 0;
    return rc;
}

/* Complete every delayed outcome due at now_ms: how many, or a STORE_E* code. */
static int outcomes_pass(app *ap, int64_t now_ms)
{
    return worker_run_due(ap, now_ms, store_outcomes_due, complete_one, NULL, "delayed outcome");
}

worker *outcomes_start(app *ap)
{
    return worker_start(ap, outcomes_pass, POLL_MS);
}
