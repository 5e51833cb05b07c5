/*
 * events: builds the stored form of an event (its ID, type, request and a snapshot of the
 * session right after the change) and inserts it with the change's transaction.
 * Not for: rendering events or delivering webhooks.
 */
#include "events.h"

#include "ids.h"
#include "util.h"

int events_emit(store_txn *t, arena *a, const vs_session *s, const char *type,
                const char *request_id, const char *idem_key)
{
    char id[40];
    ids_random(id, sizeof id, "evt_", IDS_OBJECT_LEN);
    buf snap;
    buf_init(&snap, a);
    vs_encode(s, &snap);
    store_event e = {
        .id = id,
        .account = s->account,
        .livemode = s->livemode,
        .created = util_now(),
        .type = type,
        .object_id = s->id,
        .request_id = request_id,
        .idempotency_key = request_id ? idem_key : NULL,
        .snapshot = snap.data,
        .snapshot_len = snap.len,
    };
    return store_txn_event_insert(t, &e);
}
