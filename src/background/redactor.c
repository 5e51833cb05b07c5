/*
 * redactor: completes requested redactions in the background (see redactor.h), each in its own
 * store job together with its `redacted` event. Its pass also prunes idempotency keys past
 * their 24 h (an hour past), once a minute.
 */
#include "background/redactor.h"
#include "identity/redaction.h"
#include "identity/session_store.h"

#include "identity/event.h"
#include "identity/limits.h"
#include "base/log.h"
#include "base/util.h"

#define POLL_MS 1000
#define HOUSEKEEPING_EVERY_MS (60 * 1000)

static int complete_one(store_txn *t, void *arg)
{
    worker_item *j = arg;
    session s;
    int rc = session_store_txn_get(t, j->account, j->id, j->a, &s);
    if (rc == STORE_NOT_FOUND) return 0;
    if (rc != 0) return rc;
    if (s.redaction != SESSION_REDACTION_PROCESSING || s.redaction_due > j->now_ms)
        return 0; /* completed meanwhile, or not due */
    session_status was = s.status;
    session_redact(&s);
    s.redaction = SESSION_REDACTION_REDACTED;
    store_record rec;
    rc = session_store_update(t, j->a, &s, was, &rec);
    if (rc == 0) rc = redaction_erase_copies(t, j->a, &s);
    if (rc == 0) rc = event_emit(t, j->a, &s, &rec, EVT_REDACTED, NULL, NULL);
    j->done = rc == 0;
    return rc;
}

/* Keys expire at 24 h wherever they are looked up (api.c); the prune only reclaims their space,
 * an hour later, so that whether an expired key replays never depends on when it last ran. */
#define IDEM_PRUNE_AFTER_S (IDEM_TTL_S + 3600)

static int prune_idempotency(store_txn *t, void *arg)
{
    (void)arg;
    return store_txn_idem_prune(t, util_now() - IDEM_PRUNE_AFTER_S);
}

/* Complete every redaction due at now_ms: how many, or a STORE_E* code. */
static int redactor_run_once(app *ap, int64_t now_ms)
{
    return worker_run_due(ap, now_ms, store_redactions_due, complete_one, "redaction");
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
