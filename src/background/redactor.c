/*
 * redactor: completes requested redactions in the background (see redactor.h). A redaction that
 * is due is done in three steps, so that nothing erased can be read back once its `redacted`
 * event is visible (CONTRACT.md §11):
 *  1. one store job erases every copy of the personal data (the session, its past events, its
 *     reports, saved idempotent answers); redaction.status stays processing;
 *  2. store_scrub removes the old versions from the backend's files;
 *  3. one store job sets redaction.status=redacted together with its event.
 * A crash between them redoes the redaction from step 1 after the restart. Its pass also prunes
 * idempotency keys past their 24 h (an hour past), once a minute.
 */
#include "background/redactor.h"
#include "identity/redaction.h"
#include "identity/session_store.h"
#include "identity/account_clock.h"

#include "identity/event.h"
#include "identity/limits.h"
#include "base/log.h"
#include "base/util.h"

#define POLL_MS 1000
#define HOUSEKEEPING_EVERY_MS (60 * 1000)

/* The item's session when its redaction is processing and due at j->now_ms; else 1 (completed
 * meanwhile, or not due) or a STORE_E* code. */
static int due_session(store_txn *t, worker_item *j, session *s)
{
    int rc = session_store_txn_get(t, j->account, j->id, j->a, s);
    if (rc == STORE_NOT_FOUND) return 1;
    if (rc != 0) return rc;
    /* The record's due time is in the account's time (account_clock.h). */
    return s->redaction == SESSION_REDACTION_PROCESSING &&
                   s->redaction_due <= j->now_ms + account_clock_offset_ms(j->account)
               ? 0
               : 1;
}

/* Step 1: erase every copy. */
static int erase_one(store_txn *t, void *arg)
{
    worker_item *j = arg;
    session s;
    int rc = due_session(t, j, &s);
    if (rc != 0) return rc > 0 ? 0 : rc;
    session_status was = s.status;
    session_redact(&s);
    rc = session_store_update(t, j->a, &s, was, NULL);
    if (rc == 0) rc = redaction_erase_copies(t, j->a, &s);
    j->done = rc == 0;
    return rc;
}

/* Step 3: redaction.status=redacted and the event. */
static int finish_one(store_txn *t, void *arg)
{
    worker_item *j = arg;
    session s;
    int rc = due_session(t, j, &s);
    if (rc != 0) return rc > 0 ? 0 : rc;
    session_status was = s.status;
    s.redaction = SESSION_REDACTION_REDACTED;
    store_record rec;
    rc = session_store_update(t, j->a, &s, was, &rec);
    if (rc == 0) rc = event_emit(t, j->a, &s, &rec, EVT_REDACTED, NULL, NULL);
    return rc;
}

/* Steps 2 and 3 for the batch's erased sessions. */
static int finish_batch(app *ap, worker_item *items, size_t n)
{
    size_t erased = 0;
    for (size_t i = 0; i < n; i++)
        erased += items[i].done;
    if (erased == 0) return 0;
    int rc = store_scrub(ap->st);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (items[i].done) rc = store_run(ap->st, finish_one, &items[i]);
    }
    return rc;
}

/* Keys expire at 24 h wherever they are looked up (api.c); the prune only reclaims their space,
 * an hour later, so that whether an expired key replays never depends on when it last ran. */
#define IDEM_PRUNE_AFTER_S (IDEM_TTL_S + 3600)

/* Records are stamped with their account's time: every record is old enough by real time, and
 * the accounts whose clock was advanced are pruned again by their own time. */
static int prune_idempotency(store_txn *t, void *arg)
{
    (void)arg;
    int64_t now = util_now();
    int rc = store_txn_idem_prune(t, now - IDEM_PRUNE_AFTER_S);
    arena *a = arena_new();
    const char **accounts;
    int64_t *offsets;
    size_t n = account_clock_list(a, &accounts, &offsets);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = store_txn_idem_prune_account(t, accounts[i],
                                          now + offsets[i] / 1000 - IDEM_PRUNE_AFTER_S);
    arena_free(a);
    return rc;
}

/* Complete every redaction due at now_ms: how many, or a STORE_E* code. */
static int redactor_run_once(app *ap, int64_t now_ms)
{
    return worker_run_due(ap, now_ms, store_redactions_due, erase_one, finish_batch, "redaction");
}

/* The worker's pass: redactions, then housekeeping when it is time. Only the worker thread
 * calls it, so next_housekeeping needs no lock. */
static int pass(app *ap, int64_t now_ms)
{
    static int64_t next_housekeeping;
    int rc = redactor_run_once(ap, now_ms);
    if (now_ms >= next_housekeeping) {
        if (store_run(ap->st, prune_idempotency, NULL) != 0)
            log_msg(LOG_ERROR, "msg=\"pruning idempotency keys failed\"");
        next_housekeeping = now_ms + HOUSEKEEPING_EVERY_MS;
    }
    return rc;
}

worker *redactor_start(app *ap)
{
    return worker_start(ap, pass, POLL_MS);
}
