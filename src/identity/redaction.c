/*
 * redaction: every copy of a redacted session's personal data, erased (see redaction.h).
 */
#include "identity/redaction.h"

#include "identity/report_store.h"

/* Rewrite the snapshots of s's events: decode, session_redact, encode, store. */
static int redact_events(store_txn *t, arena *a, const session *s)
{
    store_event *events;
    size_t n;
    int rc = store_txn_event_snapshots(t, s->account, s->id, s->created, a, &events, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        session snap;
        const store_record *rec = &events[i].snapshot;
        if (rec->len == 0) continue; /* nothing in it to erase */
        if (session_decode(a, rec->data != NULL ? rec->data : "", rec->len, &snap) != 0)
            return STORE_CORRUPT;
        session_redact(&snap);
        buf enc;
        buf_init(&enc, a);
        session_encode(&snap, &enc);
        store_record out = {enc.data, enc.len};
        rc = store_txn_event_snapshot_set(t, s->account, events[i].id, &out);
    }
    return rc;
}

int redaction_erase_copies(store_txn *t, arena *a, const session *s)
{
    int rc = redact_events(t, a, s);
    if (rc == 0) rc = store_txn_idem_delete_object(t, s->account, s->id);
    if (rc == 0) rc = report_store_redact_session(t, a, s->account, s->id);
    return rc;
}
