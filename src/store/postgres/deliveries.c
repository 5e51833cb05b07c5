/*
 * deliveries: the webhook outbox. One row per (event, endpoint): state 0 pending
 * (next_attempt_ms set), 1 succeeded, 2 failed. Rows are written in the event's own transaction;
 * the delivery worker reads what is due and records each attempt.
 *
 * Not for: claiming work among several processes (the leases of the multi-instance part).
 */
#include <string.h>

#include "store/postgres/internal.h"

#define DUE_MAX 100000

int pg__txn_delivery_add(store_txn *t, const store_event *e, const char *endpoint_id,
                         int64_t due_ms)
{
    pg_params p;
    pg__p_init(&p);
    pg__p_text(&p, e->id);
    pg__p_text(&p, endpoint_id);
    pg__p_text(&p, e->account);
    pg__p_int(&p, due_ms);
    int rc = pg__txn_query(t,
                           "INSERT INTO deliveries (event_id, endpoint_id, account, attempts,"
                           " next_attempt_ms, state) VALUES ($1, $2, $3, 0, $4, 0)",
                           &p, NULL, NULL, "delivery add");
    if (rc == 0) pg__txn_store(t)->outbox_dirty = 1;
    return rc;
}

int pg__deliveries_due(store *base, int64_t now_ms, int64_t after_seq, size_t max, arena *a,
                       store_delivery **items, size_t *n)
{
    pg_params p;
    PGresult *res;
    *items = NULL;
    *n = 0;
    if (max == 0) return 0;
    if (max > DUE_MAX) max = DUE_MAX;
    pg__p_init(&p);
    pg__p_int(&p, now_ms);
    pg__p_int(&p, (int64_t)max);
    pg__p_int(&p, after_seq);
    int rc = pg__read(pg__store(base),
                      "SELECT d.seq, d.attempts, d.endpoint_id, w.url, w.secret, w.api_version,"
                      " w.livemode, w.account = '" STORE_FORWARD_ACCOUNT "',"
                      " e.id, e.account, e.livemode, e.created, e.type, e.object_id,"
                      " e.request_id, e.idempotency_key, e.snapshot, e.pending_webhooks,"
                      " e.api, w.api, w.event_payload"
                      " FROM deliveries d"
                      " JOIN webhook_endpoints w ON w.id = d.endpoint_id"
                      " JOIN events e ON e.id = d.event_id"
                      " WHERE d.state = 0 AND d.next_attempt_ms <= $1 AND d.seq > $3"
                      " AND w.disabled = 0 AND e.account = d.account AND (w.account = d.account"
                      " OR w.account = '" STORE_FORWARD_ACCOUNT "' OR (w.connect = 1 AND"
                      " substr(d.account, 1, length(w.account) + 1) = w.account || '/'))"
                      " ORDER BY d.next_attempt_ms, d.seq LIMIT $2",
                      &p, &res, "deliveries due");
    if (rc != 0) return rc;
    int rows = PQntuples(res);
    store_delivery *v = arena_alloc(a, (size_t)(rows > 0 ? rows : 1) * sizeof *v);
    for (int i = 0; i < rows; i++) {
        store_delivery *d = &v[i];
        memset(d, 0, sizeof *d);
        d->seq = pg__col_int(res, i, 0);
        d->attempts = (int)pg__col_int(res, i, 1);
        d->endpoint_id = pg__col_text(res, i, 2, a);
        d->url = pg__col_text(res, i, 3, a);
        d->secret = pg__col_text(res, i, 4, a);
        d->api_version = pg__col_text(res, i, 5, a);
        d->endpoint_livemode = (int)pg__col_int(res, i, 6);
        d->forward = (int)pg__col_int(res, i, 7);
        pg__event_row(res, i, 8, a, &d->event);
        d->destination = pg__col_int(res, i, 19) == 2;
        const char *payload = pg__col_text(res, i, 20, a);
        d->thin = d->destination && payload != NULL && strcmp(payload, "thin") == 0;
    }
    PQclear(res);
    *items = v;
    *n = (size_t)rows;
    return 0;
}

int pg__delivery_next_due(store *base, int64_t after_ms, int64_t *out_ms)
{
    pg_params p;
    PGresult *res;
    pg__p_init(&p);
    pg__p_int(&p, after_ms);
    int rc = pg__read(pg__store(base),
                      "SELECT d.next_attempt_ms FROM deliveries d"
                      " JOIN webhook_endpoints w ON w.id = d.endpoint_id"
                      " WHERE d.state = 0 AND d.next_attempt_ms > $1 AND w.disabled = 0"
                      " ORDER BY d.next_attempt_ms, d.seq LIMIT 1",
                      &p, &res, "next due");
    if (rc != 0) return rc;
    if (PQntuples(res) == 0)
        rc = STORE_NOT_FOUND;
    else
        *out_ms = pg__col_int(res, 0, 0);
    PQclear(res);
    return rc;
}

int pg__txn_delivery_result(store_txn *t, int64_t seq, const char *event_id, int ok,
                            int64_t next_ms)
{
    pg_params p;
    int64_t changes;
    int rc;
    pg__p_init(&p);
    pg__p_int(&p, seq);
    if (!ok) {
        if (next_ms >= 0)
            pg__p_int(&p, next_ms);
        else
            pg__p_text(&p, NULL);
        pg__p_int(&p, next_ms >= 0 ? 0 : 2);
        return pg__txn_query(t,
                             "UPDATE deliveries SET attempts = attempts + 1, next_attempt_ms = $2,"
                             " state = $3 WHERE seq = $1 AND state = 0",
                             &p, NULL, NULL, "delivery retry");
    }
    rc = pg__txn_query(t,
                       "UPDATE deliveries SET state = 1, attempts = attempts + 1,"
                       " next_attempt_ms = NULL WHERE seq = $1 AND state = 0",
                       &p, NULL, &changes, "delivery ok");
    if (rc != 0 || changes == 0) return rc;
    pg__p_init(&p);
    pg__p_text(&p, event_id);
    return pg__txn_query(t,
                         "UPDATE events SET pending_webhooks = pending_webhooks - 1"
                         " WHERE id = $1 AND pending_webhooks > 0",
                         &p, NULL, NULL, "event delivered");
}
