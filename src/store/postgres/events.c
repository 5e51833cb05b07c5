/*
 * events: the events table, read back for the event lists and by the delivery worker, rewritten
 * by redaction and pruned (with their deliveries).
 */
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "store/postgres/internal.h"

#define PRUNE_BATCH 1000
#define PRUNE_BATCH_S "1000"

void pg__event_row(const PGresult *res, int row, int col, arena *a, store_event *out)
{
    memset(out, 0, sizeof *out);
    out->id = pg__col_text(res, row, col, a);
    out->account = pg__col_text(res, row, col + 1, a);
    out->livemode = (int)pg__col_int(res, row, col + 2);
    out->created = pg__col_int(res, row, col + 3);
    out->type = pg__col_text(res, row, col + 4, a);
    out->object_id = pg__col_text(res, row, col + 5, a);
    out->request_id = pg__col_text(res, row, col + 6, a);
    out->idempotency_key = pg__col_text(res, row, col + 7, a);
    out->snapshot = pg__col_record(res, row, col + 8, a);
    out->pending_webhooks = (int)pg__col_int(res, row, col + 9);
    out->v2 = pg__col_int(res, row, col + 10) == 2;
}

/* Rows of res (PG__EVENT_COLS) into an arena array. */
static void event_rows(const PGresult *res, arena *a, store_event **items, size_t *n)
{
    int rows = PQntuples(res);
    store_event *v = arena_alloc(a, (size_t)(rows > 0 ? rows : 1) * sizeof *v);
    for (int i = 0; i < rows; i++)
        pg__event_row(res, i, 0, a, &v[i]);
    *items = v;
    *n = (size_t)rows;
}

int pg__txn_event_insert(store_txn *t, const store_event *e)
{
    pg_params p;
    int64_t changes;
    pg__p_init(&p);
    pg__p_text(&p, e->id);
    pg__p_text(&p, e->account);
    pg__p_int(&p, e->livemode ? 1 : 0);
    pg__p_int(&p, e->created);
    pg__p_text(&p, e->type);
    pg__p_text(&p, e->object_id);
    pg__p_text(&p, e->request_id);
    pg__p_text(&p, e->idempotency_key);
    pg__p_bytes(&p, e->snapshot.data, e->snapshot.len);
    pg__p_int(&p, e->pending_webhooks);
    pg__p_int(&p, e->v2 ? 2 : 1);
    int rc = pg__txn_query(t,
                           "INSERT INTO events (" PG__EVENT_COLS ") VALUES ($1, $2, $3, $4, $5,"
                           " $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING",
                           &p, NULL, &changes, "event insert");
    return rc == 0 && changes == 0 ? STORE_EXISTS : rc;
}

int pg__event_get(store *base, const char *account, const char *id, arena *a, store_event *out)
{
    pg_params p;
    PGresult *res;
    pg__p_init(&p);
    pg__p_text(&p, id);
    pg__p_text(&p, account);
    int rc = pg__read(pg__store(base),
                      "SELECT " PG__EVENT_COLS " FROM events WHERE id = $1 AND account = $2", &p,
                      &res, "event get");
    if (rc != 0) return rc;
    if (PQntuples(res) == 0)
        rc = STORE_NOT_FOUND;
    else
        pg__event_row(res, 0, 0, a, out);
    PQclear(res);
    return rc;
}

/* An object's events all come after its creation, so this walks the account's events from that
 * time on (events_created) rather than keeping an index on object_id. */
int pg__txn_event_snapshots(store_txn *t, const char *account, const char *object_id, int64_t since,
                            arena *a, store_event **items, size_t *n)
{
    pg_params p;
    PGresult *res;
    *items = NULL;
    *n = 0;
    pg__p_init(&p);
    pg__p_text(&p, account);
    pg__p_text(&p, object_id);
    pg__p_int(&p, since);
    int rc = pg__txn_query(t,
                           "SELECT " PG__EVENT_COLS " FROM events"
                           " WHERE account = $1 AND created >= $3 AND object_id = $2"
                           " AND snapshot IS NOT NULL ORDER BY seq",
                           &p, &res, NULL, "event snapshots");
    if (rc != 0) return rc;
    event_rows(res, a, items, n);
    PQclear(res);
    return 0;
}

int pg__txn_event_snapshot_set(store_txn *t, const char *account, const char *id,
                               const store_record *snapshot)
{
    pg_params p;
    int64_t changes;
    pg__p_init(&p);
    pg__p_text(&p, account);
    pg__p_text(&p, id);
    pg__p_bytes(&p, snapshot->data != NULL ? snapshot->data : "", snapshot->len);
    int rc = pg__txn_query(t, "UPDATE events SET snapshot = $3 WHERE id = $2 AND account = $1", &p,
                           NULL, &changes, "event snapshot set");
    return rc == 0 && changes == 0 ? STORE_NOT_FOUND : rc;
}

/* Both prunes: the events of account (NULL: every account) created before cutoff, in one batch,
 * then the deliveries left without their event. */
static int events_prune(store_txn *t, const char *account, int64_t cutoff, int *n)
{
    pg_params p;
    int64_t changes;
    *n = 0;
    pg__p_init(&p);
    if (account != NULL) pg__p_text(&p, account);
    pg__p_int(&p, cutoff);
    int rc = pg__txn_query(
        t,
        account != NULL
            ? "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE " PG__OWNED_BY(
                  "account") " AND created < $2 ORDER BY seq LIMIT " PRUNE_BATCH_S ")"
            : "DELETE FROM events WHERE seq IN"
              " (SELECT seq FROM events WHERE created < $1 ORDER BY seq LIMIT " PRUNE_BATCH_S ")",
        &p, NULL, &changes, "events prune");
    if (rc != 0) return rc;
    *n = (int)changes;
    do {
        rc = pg__txn_query(t,
                           "DELETE FROM deliveries WHERE seq IN (SELECT seq FROM deliveries d"
                           " WHERE NOT EXISTS (SELECT 1 FROM events WHERE events.id = d.event_id)"
                           " ORDER BY seq LIMIT " PRUNE_BATCH_S ")",
                           NULL, NULL, &changes, "deliveries prune");
    } while (rc == 0 && changes >= PRUNE_BATCH);
    /* The attempt log goes with its events (attempts.c). */
    do {
        if (rc != 0) break;
        rc = pg__txn_query(t,
                           "DELETE FROM delivery_attempts WHERE seq IN (SELECT seq FROM"
                           " delivery_attempts a WHERE NOT EXISTS (SELECT 1 FROM events WHERE"
                           " events.id = a.event_id) ORDER BY seq LIMIT " PRUNE_BATCH_S ")",
                           NULL, NULL, &changes, "attempts prune");
    } while (rc == 0 && changes >= PRUNE_BATCH);
    return rc;
}

int pg__txn_events_prune(store_txn *t, int64_t cutoff, int *n)
{
    return events_prune(t, NULL, cutoff, n);
}

int pg__txn_events_prune_account(store_txn *t, const char *account, int64_t cutoff, int *n)
{
    return events_prune(t, account, cutoff, n);
}

/* ---- the event list ---- */

/* A Stripe type pattern as a LIKE pattern: '*' matches any run of characters, LIKE's own
 * specials (and its escape character) match themselves. */
static const char *type_like(const char *pattern, arena *a)
{
    buf b;
    buf_init(&b, a);
    for (const char *s = pattern; *s; s++) {
        if (*s == '*')
            buf_putc(&b, '%');
        else if (*s == '%' || *s == '_' || *s == '\\')
            buf_printf(&b, "\\%c", *s);
        else
            buf_putc(&b, *s);
    }
    return b.data;
}

/* The event list's terms beyond equality filters: any of the type patterns, v1 events only
 * unless v2, the object, and delivery_success as a test of pending_webhooks. */
static void event_terms(const void *own, buf *out, pg_params *p, arena *a)
{
    const store_event_query *q = own;
    if (q->n_types > 0) {
        buf_puts(out, " AND (");
        for (size_t i = 0; i < q->n_types; i++) {
            pg__p_text(p, type_like(q->types[i], a));
            buf_printf(out, "%stype LIKE $%d", i ? " OR " : "", p->n);
        }
        buf_puts(out, ")");
    }
    if (!q->v2) buf_puts(out, " AND api = 1");
    if (q->object_id) {
        pg__p_text(p, q->object_id);
        buf_printf(out, " AND object_id = $%d", p->n);
    }
    if (q->delivery_success == 1) buf_puts(out, " AND pending_webhooks = 0");
    if (q->delivery_success == 0) buf_puts(out, " AND pending_webhooks > 0");
}

static void event_item(const PGresult *res, int row, arena *a, void *item)
{
    pg__event_row(res, row, 0, a, item);
}

static const pg__list_desc event_list_desc = {
    .table = "events",
    .columns = PG__EVENT_COLS,
    .extra_sql = event_terms,
    .item_size = sizeof(store_event),
    .decode = event_item,
    .what = "event list",
};

int pg__event_list(store *base, const store_event_query *q, arena *a, store_event **items,
                   size_t *n, int *has_more)
{
    const pg__list_query lq = {
        .account = q->account,
        .created = &q->created,
        .starting_after = q->starting_after,
        .ending_before = q->ending_before,
        .limit = q->limit,
        .own = q,
    };
    void *v;
    int rc = pg__list_page(pg__store(base), &event_list_desc, &lq, a, &v, n, has_more);
    *items = v;
    return rc;
}
