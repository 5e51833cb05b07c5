/*
 * deliveries: the webhook outbox. One row per (event, endpoint): state 0 pending (next_attempt_ms
 * set), 1 succeeded, 2 failed. Rows are written in the event's own transaction; the delivery
 * worker reads what is due and records each attempt.
 */
#include <string.h>

#include "store/sqlite/internal.h"

#define DUE_MAX 100000

static const char *const sql[SQ_COUNT] = {
    [SQ_DELIVERY_ADD] =
        "INSERT INTO deliveries (event_id, endpoint_id, account, attempts, next_attempt_ms, state)"
        " VALUES (?1, ?2, ?3, 0, ?4, 0)",
    [SQ_DELIVERIES_DUE] = "SELECT d.seq, d.attempts, d.endpoint_id, w.url, w.secret, w.api_version,"
                          " w.livemode, w.account = '" STORE_FORWARD_ACCOUNT "',"
                          " e.id, e.account, e.livemode, e.created, e.type, e.object_id,"
                          " e.request_id, e.idempotency_key, e.snapshot, e.pending_webhooks,"
                          " e.api, w.api, w.event_payload"
                          " FROM deliveries d"
                          " JOIN webhook_endpoints w ON w.id = d.endpoint_id"
                          " JOIN events e ON e.id = d.event_id"
                          " WHERE d.state = 0 AND d.next_attempt_ms <= ?1 AND d.seq > ?3"
                          " AND w.disabled = 0 AND e.account = d.account AND (w.account = d.account"
                          " OR w.account = '" STORE_FORWARD_ACCOUNT "' OR (w.connect = 1 AND"
                          " substr(d.account, 1, length(w.account) + 1) = w.account || '/'))"
                          " ORDER BY d.next_attempt_ms, d.seq LIMIT ?2",
    [SQ_DELIVERY_NEXT_DUE] = "SELECT d.next_attempt_ms FROM deliveries d"
                             " JOIN webhook_endpoints w ON w.id = d.endpoint_id"
                             " WHERE d.state = 0 AND d.next_attempt_ms > ?1 AND w.disabled = 0"
                             " ORDER BY d.next_attempt_ms, d.seq LIMIT 1",
    [SQ_DELIVERY_OK] = "UPDATE deliveries SET state = 1, attempts = attempts + 1,"
                       " next_attempt_ms = NULL WHERE seq = ?1 AND state = 0",
    [SQ_EVENT_DELIVERED] = "UPDATE events SET pending_webhooks = pending_webhooks - 1"
                           " WHERE id = ?1 AND pending_webhooks > 0",
    [SQ_DELIVERY_RETRY] = "UPDATE deliveries SET attempts = attempts + 1, next_attempt_ms = ?2,"
                          " state = ?3 WHERE seq = ?1 AND state = 0",
    /* Deleting an endpoint is rare: it walks the pending deliveries (the partial index
     * deliveries_due) rather than keeping a second index up to date on every event. Endpoint
     * ids are unique across accounts, and a connect endpoint's deliveries carry its connected
     * accounts' names, so the id alone says which. */
    [SQ_DELIVERIES_DROP] = "UPDATE deliveries SET state = 2, next_attempt_ms = NULL"
                           " WHERE endpoint_id = ?1 AND state = 0",
};

int sqlite__txn_delivery_add(store_txn *t, const store_event *e, const char *endpoint_id,
                             int64_t due_ms)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, SQ_DELIVERY_ADD, sql[SQ_DELIVERY_ADD], &stmt);
    if (rc != 0) return rc;
    if ((sqlite__bind_text(stmt, 1, e->id) | sqlite__bind_text(stmt, 2, endpoint_id) |
         sqlite__bind_text(stmt, 3, e->account) | sqlite3_bind_int64(stmt, 4, due_ms)) !=
        SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    rc = sqlite__run(st->w.db, stmt);
    if (rc == 0) st->outbox_dirty = 1;
    return rc;
}

int sqlite__deliveries_due(store *base, int64_t now_ms, int64_t after_seq, size_t max, arena *a,
                           store_delivery **items, size_t *n)
{
    sqlite3_stmt *stmt;
    size_t count = 0;
    *items = NULL;
    *n = 0;
    if (max == 0) return 0;
    if (max > DUE_MAX) max = DUE_MAX;
    sq_conn *r = sqlite__reader(sqlite__store(base));
    if (r == NULL) return STORE_EIO;
    int rc = sqlite__stmt(r, SQ_DELIVERIES_DUE, sql[SQ_DELIVERIES_DUE], &stmt);
    if (rc != 0) return rc;
    if ((sqlite3_bind_int64(stmt, 1, now_ms) | sqlite3_bind_int64(stmt, 2, (int64_t)max) |
         sqlite3_bind_int64(stmt, 3, after_seq)) != SQLITE_OK) {
        rc = sqlite__fail(r->db, "bind");
        goto done;
    }
    store_delivery *v = arena_alloc(a, max * sizeof *v);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        store_delivery *d = &v[count++];
        d->seq = sqlite3_column_int64(stmt, 0);
        d->attempts = sqlite3_column_int(stmt, 1);
        d->endpoint_id = sqlite__col_text(stmt, 2, a);
        d->url = sqlite__col_text(stmt, 3, a);
        d->secret = sqlite__col_text(stmt, 4, a);
        d->api_version = sqlite__col_text(stmt, 5, a);
        d->endpoint_livemode = sqlite3_column_int(stmt, 6);
        d->forward = sqlite3_column_int(stmt, 7);
        sqlite__event_row(stmt, 8, a, &d->event);
        d->destination = sqlite3_column_int(stmt, 19) == 2;
        const char *payload = (const char *)sqlite3_column_text(stmt, 20);
        d->thin = d->destination && payload != NULL && strcmp(payload, "thin") == 0;
    }
    if (rc != SQLITE_DONE) {
        rc = sqlite__fail(r->db, "deliveries due");
        goto done;
    }
    rc = 0;
    *items = v;
    *n = count;
done:
    sqlite__finish(stmt);
    return rc;
}

int sqlite__delivery_next_due(store *base, int64_t after_ms, int64_t *out_ms)
{
    sqlite3_stmt *stmt;
    sq_conn *r = sqlite__reader(sqlite__store(base));
    if (r == NULL) return STORE_EIO;
    int rc = sqlite__stmt(r, SQ_DELIVERY_NEXT_DUE, sql[SQ_DELIVERY_NEXT_DUE], &stmt);
    if (rc != 0) return rc;
    if (sqlite3_bind_int64(stmt, 1, after_ms) != SQLITE_OK) {
        rc = sqlite__fail(r->db, "bind");
        goto done;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out_ms = sqlite3_column_int64(stmt, 0);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? STORE_NOT_FOUND : sqlite__fail(r->db, "next due");
    }
done:
    sqlite__finish(stmt);
    return rc;
}

int sqlite__txn_delivery_result(store_txn *t, int64_t seq, const char *event_id, int ok,
                                int64_t next_ms)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    int which = ok ? SQ_DELIVERY_OK : SQ_DELIVERY_RETRY;
    int rc = sqlite__stmt(&st->w, which, sql[which], &stmt);
    if (rc != 0) return rc;
    int br = sqlite3_bind_int64(stmt, 1, seq);
    if (!ok && next_ms >= 0) {
        br |= sqlite3_bind_int64(stmt, 2, next_ms);
        br |= sqlite3_bind_int(stmt, 3, 0);
    } else if (!ok) {
        br |= sqlite3_bind_null(stmt, 2);
        br |= sqlite3_bind_int(stmt, 3, 2);
    }
    if (br != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    rc = sqlite__run(st->w.db, stmt);
    if (rc != 0 || !ok || sqlite3_changes(st->w.db) == 0) return rc;
    rc = sqlite__stmt(&st->w, SQ_EVENT_DELIVERED, sql[SQ_EVENT_DELIVERED], &stmt);
    if (rc != 0) return rc;
    if (sqlite__bind_text(stmt, 1, event_id) != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    return sqlite__run(st->w.db, stmt);
}

int sqlite__deliveries_drop(sq_store *st, const char *endpoint_id)
{
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, SQ_DELIVERIES_DROP, sql[SQ_DELIVERIES_DROP], &stmt);
    if (rc != 0) return rc;
    if (sqlite__bind_text(stmt, 1, endpoint_id) != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    return sqlite__run(st->w.db, stmt);
}
