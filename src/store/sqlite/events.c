/*
 * events: the events table, read back for GET /v1/events and by the delivery worker, rewritten by
 * redaction and pruned after 30 days (with their deliveries).
 */
#include <stdio.h>
#include <string.h>

#include "store/sqlite/internal.h"

#define PRUNE_BATCH 1000
#define PRUNE_BATCH_S "1000"

static const char *const sql[SQ_COUNT] = {
    [SQ_EVENT_INSERT] = "INSERT INTO events (" SQLITE__EVENT_COLS ")"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [SQ_EVENT_GET] = "SELECT " SQLITE__EVENT_COLS " FROM events WHERE id = ?1 AND account = ?2",
    /* No index on object_id: it would put a random-keyed insert on every event for the sake of a
     * rare background job. An object's events all come after its creation, so this walks the
     * account's events from that time on (events_created). */
    [SQ_EVENT_SNAPSHOTS] = "SELECT " SQLITE__EVENT_COLS " FROM events"
                           " WHERE account = ?1 AND created >= ?3 AND object_id = ?2"
                           " AND snapshot IS NOT NULL ORDER BY seq",
    [SQ_EVENT_SNAPSHOT_SET] = "UPDATE events SET snapshot = ?3 WHERE id = ?2 AND account = ?1",
    [SQ_EVENTS_PRUNE] =
        "DELETE FROM events WHERE seq IN"
        " (SELECT seq FROM events WHERE created < ?1 ORDER BY seq LIMIT " PRUNE_BATCH_S ")",
    [SQ_DELIVERIES_PRUNE] =
        "DELETE FROM deliveries WHERE seq IN (SELECT seq FROM deliveries ORDER BY seq "
        "LIMIT " PRUNE_BATCH_S ")"
        " AND NOT EXISTS (SELECT 1 FROM events WHERE events.id = deliveries.event_id)",
    [SQ_EVENTS_PRUNE_ACCOUNT] =
        "DELETE FROM events WHERE seq IN"
        " (SELECT seq FROM events WHERE " SQLITE__OWNED_BY(
            "account") " AND created < ?2 ORDER BY seq LIMIT " PRUNE_BATCH_S ")",
};

void sqlite__event_row(sqlite3_stmt *stmt, int col, arena *a, store_event *out)
{
    memset(out, 0, sizeof *out);
    out->id = sqlite__col_text(stmt, col, a);
    out->account = sqlite__col_text(stmt, col + 1, a);
    out->livemode = sqlite3_column_int(stmt, col + 2);
    out->created = sqlite3_column_int64(stmt, col + 3);
    out->type = sqlite__col_text(stmt, col + 4, a);
    out->object_id = sqlite__col_text(stmt, col + 5, a);
    out->request_id = sqlite__col_text(stmt, col + 6, a);
    out->idempotency_key = sqlite__col_text(stmt, col + 7, a);
    out->snapshot = sqlite__col_record(stmt, col + 8, a);
    out->pending_webhooks = sqlite3_column_int(stmt, col + 9);
    out->v2 = sqlite3_column_int(stmt, col + 10) == 2;
}

int sqlite__txn_event_insert(store_txn *t, const store_event *e)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, SQ_EVENT_INSERT, sql[SQ_EVENT_INSERT], &stmt);
    if (rc != 0) return rc;
    int br = sqlite__bind_text(stmt, 1, e->id);
    br |= sqlite__bind_text(stmt, 2, e->account);
    br |= sqlite3_bind_int(stmt, 3, e->livemode ? 1 : 0);
    br |= sqlite3_bind_int64(stmt, 4, e->created);
    br |= sqlite__bind_text(stmt, 5, e->type);
    br |= sqlite__bind_text(stmt, 6, e->object_id);
    br |= sqlite__bind_text(stmt, 7, e->request_id);
    br |= sqlite__bind_text(stmt, 8, e->idempotency_key);
    br |= sqlite__bind_blob(stmt, 9, e->snapshot.data, e->snapshot.len);
    br |= sqlite3_bind_int(stmt, 10, e->pending_webhooks);
    br |= sqlite3_bind_int(stmt, 11, e->v2 ? 2 : 1);
    if (br != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    return sqlite__run(st->w.db, stmt);
}

int sqlite__event_get(store *base, const char *account, const char *id, arena *a, store_event *out)
{
    sqlite3_stmt *stmt;
    sq_conn *r = sqlite__reader(sqlite__store(base));
    if (r == NULL) return STORE_EIO;
    int rc = sqlite__stmt(r, SQ_EVENT_GET, sql[SQ_EVENT_GET], &stmt);
    if (rc != 0) return rc;
    if ((sqlite__bind_text(stmt, 1, id) | sqlite__bind_text(stmt, 2, account)) != SQLITE_OK) {
        rc = sqlite__fail(r->db, "bind");
        goto done;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        sqlite__event_row(stmt, 0, a, out);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? STORE_NOT_FOUND : sqlite__fail(r->db, "event get");
    }
done:
    sqlite__finish(stmt);
    return rc;
}

int sqlite__txn_event_snapshots(store_txn *t, const char *account, const char *object_id,
                                int64_t since, arena *a, store_event **items, size_t *n)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    size_t count = 0, cap = 0;
    store_event *v = NULL;
    *items = NULL;
    *n = 0;
    int rc = sqlite__stmt(&st->w, SQ_EVENT_SNAPSHOTS, sql[SQ_EVENT_SNAPSHOTS], &stmt);
    if (rc != 0) return rc;
    if ((sqlite__bind_text(stmt, 1, account) | sqlite__bind_text(stmt, 2, object_id) |
         sqlite3_bind_int64(stmt, 3, since)) != SQLITE_OK) {
        rc = sqlite__fail(st->w.db, "bind");
        goto done;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (count == cap) {
            cap = cap == 0 ? 8 : cap * 2;
            store_event *grown = arena_alloc(a, cap * sizeof *grown);
            if (count > 0) memcpy(grown, v, count * sizeof *v);
            v = grown;
        }
        sqlite__event_row(stmt, 0, a, &v[count++]);
    }
    if (rc != SQLITE_DONE) {
        rc = sqlite__fail(st->w.db, "event snapshots");
        goto done;
    }
    rc = 0;
    *items = v;
    *n = count;
done:
    sqlite__finish(stmt);
    return rc;
}

int sqlite__txn_event_snapshot_set(store_txn *t, const char *account, const char *id,
                                   const store_record *snapshot)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, SQ_EVENT_SNAPSHOT_SET, sql[SQ_EVENT_SNAPSHOT_SET], &stmt);
    if (rc != 0) return rc;
    if ((sqlite__bind_text(stmt, 1, account) | sqlite__bind_text(stmt, 2, id) |
         sqlite__bind_blob(stmt, 3, snapshot->data != NULL ? snapshot->data : "", snapshot->len)) !=
        SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    rc = sqlite__run(st->w.db, stmt);
    if (rc == 0 && sqlite3_changes(st->w.db) == 0) rc = STORE_NOT_FOUND;
    return rc;
}

/* Both prunes: the events of account (NULL: every account) created before cutoff, in one batch,
 * then the deliveries left without their event. */
static int events_prune(store_txn *t, const char *account, int64_t cutoff, int *n)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    *n = 0;
    int which = account != NULL ? SQ_EVENTS_PRUNE_ACCOUNT : SQ_EVENTS_PRUNE;
    int rc = sqlite__stmt(&st->w, which, sql[which], &stmt);
    if (rc != 0) return rc;
    int br = account != NULL
                 ? sqlite__bind_text(stmt, 1, account) | sqlite3_bind_int64(stmt, 2, cutoff)
                 : sqlite3_bind_int64(stmt, 1, cutoff);
    if (br != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    rc = sqlite__run(st->w.db, stmt);
    if (rc != 0) return rc;
    *n = sqlite3_changes(st->w.db);
    rc = sqlite__stmt(&st->w, SQ_DELIVERIES_PRUNE, sql[SQ_DELIVERIES_PRUNE], &stmt);
    while (rc == 0) {
        rc = sqlite__run(st->w.db, stmt);
        if (rc != 0 || sqlite3_changes(st->w.db) < PRUNE_BATCH) break;
    }
    if (rc == 0) rc = sqlite__attempts_prune(st);
    return rc;
}

int sqlite__txn_events_prune(store_txn *t, int64_t cutoff, int *n)
{
    return events_prune(t, NULL, cutoff, n);
}

int sqlite__txn_events_prune_account(store_txn *t, const char *account, int64_t cutoff, int *n)
{
    return events_prune(t, account, cutoff, n);
}

/* ---- the event list ---- */

/* The event list's terms beyond equality filters: any of the type patterns (as GLOBs bound to
 * :type0, :type1, ...), and delivery_success as a test of pending_webhooks. */
static void event_terms_sql(const void *own, buf *out)
{
    const store_event_query *q = own;
    if (q->n_types > 0) {
        buf_puts(out, " AND (");
        for (size_t i = 0; i < q->n_types; i++)
            buf_printf(out, "%stype GLOB :type%zu", i ? " OR " : "", i);
        buf_puts(out, ")");
    }
    if (!q->v2) buf_puts(out, " AND api = 1");
    if (q->object_id) buf_puts(out, " AND object_id = :object_id");
    if (q->delivery_success == 1) buf_puts(out, " AND pending_webhooks = 0");
    if (q->delivery_success == 0) buf_puts(out, " AND pending_webhooks > 0");
}

/* A Stripe type pattern as a GLOB: '*' stays a wildcard, GLOB's other specials match
 * themselves. */
static const char *type_glob(const char *pattern, arena *a)
{
    buf b;
    buf_init(&b, a);
    for (const char *p = pattern; *p; p++) {
        if (*p == '?' || *p == '[')
            buf_printf(&b, "[%c]", *p);
        else
            buf_putc(&b, *p);
    }
    return b.data;
}

static int event_terms_bind(sqlite3_stmt *stmt, const void *own, arena *a)
{
    const store_event_query *q = own;
    int br = SQLITE_OK;
    for (size_t i = 0; i < q->n_types; i++) {
        char name[32];
        snprintf(name, sizeof name, ":type%zu", i);
        br |= sqlite__bind_named_text(stmt, name, type_glob(q->types[i], a));
    }
    if (q->object_id) br |= sqlite__bind_named_text(stmt, ":object_id", q->object_id);
    return br;
}

static void event_item(sqlite3_stmt *stmt, arena *a, void *item)
{
    sqlite__event_row(stmt, 0, a, item);
}

/* Lists are rare next to writes and take up to 20 type patterns, so the statement is prepared
 * per call rather than cached per combination (the extra_sql hook does that). */
static const sqlite__list_desc event_list_desc = {
    .kind = LIST_EVENTS,
    .select = "SELECT " SQLITE__EVENT_COLS " FROM events",
    .cursor_sql = "SELECT created, seq FROM events WHERE id = ?1 AND account = ?2",
    .what = "event list",
    .cursor_what = "event cursor",
    .extra_sql = event_terms_sql,
    .extra_bind = event_terms_bind,
    .item_size = sizeof(store_event),
    .decode = event_item,
};

int sqlite__event_list(store *base, const store_event_query *q, arena *a, store_event **items,
                       size_t *n, int *has_more)
{
    const sqlite__list_query lq = {
        .account = q->account,
        .created = &q->created,
        .starting_after = q->starting_after,
        .ending_before = q->ending_before,
        .limit = q->limit,
        .own = q,
    };
    void *v;
    int rc = sqlite__list_page(sqlite__store(base), &event_list_desc, &lq, a, &v, n, has_more);
    *items = v;
    return rc;
}
