/*
 * webhooks: the webhook_endpoints table, and the --forward-to endpoint kept in it (account
 * STORE_FORWARD_ACCOUNT). enabled_events are stored as "\n" + names joined by "\n" + "\n";
 * metadata is the record the layer above encoded.
 */
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "store/sqlite/internal.h"

#define WEBHOOK_COLS                                                                               \
    "id, account, livemode, created, disabled, url, secret, api_version, description,"             \
    " enabled_events, metadata, api, name, event_payload, updated_ms, connect"
#define SQL_WEBHOOK_GET                                                                            \
    "SELECT " WEBHOOK_COLS " FROM webhook_endpoints WHERE id = ?1 AND account = ?2"
#define FORWARD_SQL(s) "'" s "'"

/* Every event reads this, so it is two index searches and nothing else: no ORDER BY (a
 * sort on each event) and no "account = ?1 OR account = '*'", which SQLite runs as an IN
 * list held in an ephemeral b-tree that it creates and frees on every call (measured: 4% of
 * the writer thread's time during creates). */
#define CANDIDATES_FROM                                                                            \
    "SELECT id, account, livemode, disabled, enabled_events, api, event_payload, connect"          \
    " FROM webhook_endpoints"
#define CANDIDATES_FORWARD CANDIDATES_FROM " WHERE account = " FORWARD_SQL(STORE_FORWARD_ACCOUNT)

static const char *const sql[SQ_COUNT] = {
    [SQ_WEBHOOK_GET] = SQL_WEBHOOK_GET,
    [SQ_WEBHOOK_LIST] = "SELECT " WEBHOOK_COLS " FROM webhook_endpoints WHERE account = ?1"
                        " ORDER BY created DESC, seq DESC",
    [SQ_WEBHOOK_CANDIDATES] = CANDIDATES_FROM " WHERE account = ?1 UNION ALL " CANDIDATES_FORWARD,
    /* A connected account's event: its own endpoints, its platform's connect ones, forward. */
    [SQ_WEBHOOK_CANDIDATES_CONNECT] =
        CANDIDATES_FROM " WHERE account = ?1 UNION ALL " CANDIDATES_FROM
                        " WHERE account = ?2 AND connect = 1 UNION ALL " CANDIDATES_FORWARD,
    [SQ_WEBHOOK_COUNT] = "SELECT count(*) FROM webhook_endpoints WHERE account = ?1 AND api = ?2",
    [SQ_WEBHOOK_INSERT] = "INSERT INTO webhook_endpoints (" WEBHOOK_COLS ")"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
                          " ?15, ?16)",
    [SQ_WEBHOOK_UPDATE] = "UPDATE webhook_endpoints SET disabled = ?5, url = ?6,"
                          " api_version = ?8, description = ?9, enabled_events = ?10,"
                          " metadata = ?11, name = ?13, updated_ms = ?15"
                          " WHERE id = ?1 AND account = ?2",
    [SQ_WEBHOOK_DELETE] = "DELETE FROM webhook_endpoints WHERE id = ?1 AND account = ?2",
    [SQ_FORWARD_PUT] = "INSERT INTO webhook_endpoints (" WEBHOOK_COLS ")"
                       " VALUES (" FORWARD_SQL(STORE_FORWARD_ID) ", " FORWARD_SQL(
                           STORE_FORWARD_ACCOUNT) ", 0, ?1, 0, ?2, ?3, NULL, NULL,"
                                                  " char(10) || '*' || char(10), NULL, 1,"
                                                  " NULL, NULL, NULL, 0)"
                                                  " ON CONFLICT(id) DO UPDATE SET url = "
                                                  "excluded.url, disabled = 0",
    [SQ_FORWARD_OFF] =
        "UPDATE webhook_endpoints SET disabled = 1 WHERE id = " FORWARD_SQL(STORE_FORWARD_ID),
    [SQ_FORWARD_SECRET] =
        "SELECT secret FROM webhook_endpoints WHERE id = " FORWARD_SQL(STORE_FORWARD_ID),
};

/* "\nname\nname\n" into an arena array of names. */
static void split_events(const char *s, arena *a, const char ***out, size_t *n)
{
    size_t count = 0;
    for (const char *p = s; *p; p++)
        count += *p == '\n';
    const char **v = arena_alloc(a, (count + 1) * sizeof *v);
    *n = 0;
    const char *p = s;
    while (*p) {
        if (*p == '\n') {
            p++;
            continue;
        }
        size_t len = strcspn(p, "\n");
        v[(*n)++] = arena_strndup(a, p, len);
        p += len;
    }
    *out = v;
}

/* A webhook row (WEBHOOK_COLS) into *out, strings in a. */
static void webhook_row(sqlite3_stmt *stmt, arena *a, store_webhook *out)
{
    memset(out, 0, sizeof *out);
    out->id = sqlite__col_text(stmt, 0, a);
    out->account = sqlite__col_text(stmt, 1, a);
    out->livemode = sqlite3_column_int(stmt, 2);
    out->created = sqlite3_column_int64(stmt, 3);
    out->disabled = sqlite3_column_int(stmt, 4);
    out->url = sqlite__col_text(stmt, 5, a);
    out->secret = sqlite__col_text(stmt, 6, a);
    out->api_version = sqlite__col_text(stmt, 7, a);
    out->description = sqlite__col_text(stmt, 8, a);
    const char *ev = (const char *)sqlite3_column_text(stmt, 9);
    split_events(ev != NULL ? ev : "", a, &out->enabled_events, &out->n_enabled_events);
    out->metadata = sqlite__col_record(stmt, 10, a);
    out->destination = sqlite3_column_int(stmt, 11) == 2;
    out->name = sqlite__col_text(stmt, 12, a);
    const char *payload = (const char *)sqlite3_column_text(stmt, 13);
    out->thin = payload != NULL && strcmp(payload, "thin") == 0;
    out->updated_ms = sqlite3_column_int64(stmt, 14);
    out->connect = sqlite3_column_int(stmt, 15);
}

/* Bind ?1..?15 of insert and update, and ?16 of insert (see WEBHOOK_COLS; update leaves connect
 * as it is). */
static int bind_webhook(sq_store *st, sqlite3_stmt *stmt, const store_webhook *w, int insert,
                        buf *ev)
{
    buf_putc(ev, '\n');
    for (size_t i = 0; i < w->n_enabled_events; i++) {
        buf_puts(ev, w->enabled_events[i]);
        buf_putc(ev, '\n');
    }
    int br = sqlite__bind_text(stmt, 1, w->id);
    br |= sqlite__bind_text(stmt, 2, w->account);
    br |= sqlite3_bind_int(stmt, 3, w->livemode ? 1 : 0);
    br |= sqlite3_bind_int64(stmt, 4, w->created);
    br |= sqlite3_bind_int(stmt, 5, w->disabled ? 1 : 0);
    br |= sqlite__bind_text(stmt, 6, w->url);
    br |= sqlite__bind_text(stmt, 7, w->secret);
    br |= sqlite__bind_text(stmt, 8, w->api_version);
    br |= sqlite__bind_text(stmt, 9, w->description);
    br |= sqlite3_bind_text(stmt, 10, ev->data, (int)ev->len, SQLITE_STATIC);
    br |= sqlite__bind_blob(stmt, 11, w->metadata.len > 0 ? w->metadata.data : "", w->metadata.len);
    br |= sqlite3_bind_int(stmt, 12, w->destination ? 2 : 1);
    br |= sqlite__bind_text(stmt, 13, w->name);
    br |= sqlite__bind_text(stmt, 14, w->destination ? (w->thin ? "thin" : "snapshot") : NULL);
    br |= sqlite3_bind_int64(stmt, 15, w->updated_ms);
    if (insert) br |= sqlite3_bind_int(stmt, 16, w->connect ? 1 : 0);
    if (br != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    return 0;
}

/* Every row of stmt (bound with ?1 = account) into an arena array, each read by row. 0 or
 * STORE_EIO. */
static int webhook_rows(sq_conn *c, sqlite3_stmt *stmt, const char *account, arena *a,
                        void (*row)(sqlite3_stmt *, arena *, store_webhook *),
                        store_webhook **items, size_t *n)
{
    size_t count = 0, cap = 0;
    store_webhook *v = NULL;
    int rc;
    *items = NULL;
    *n = 0;
    if (sqlite__bind_text(stmt, 1, account) != SQLITE_OK) {
        rc = sqlite__fail(c->db, "bind");
        goto done;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (count == cap) {
            cap = cap == 0 ? 16 : cap * 2;
            store_webhook *grown = arena_alloc(a, cap * sizeof *grown);
            if (count > 0) memcpy(grown, v, count * sizeof *v);
            v = grown;
        }
        row(stmt, a, &v[count++]);
    }
    if (rc != SQLITE_DONE) {
        rc = sqlite__fail(c->db, "webhook list");
        goto done;
    }
    rc = 0;
    *items = v;
    *n = count;
done:
    sqlite__finish(stmt);
    return rc;
}

static int webhook_get(sq_conn *c, const char *account, const char *id, arena *a,
                       store_webhook *out)
{
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(c, SQ_WEBHOOK_GET, sql[SQ_WEBHOOK_GET], &stmt);
    if (rc != 0) return rc;
    if ((sqlite__bind_text(stmt, 1, id) | sqlite__bind_text(stmt, 2, account)) != SQLITE_OK) {
        rc = sqlite__fail(c->db, "bind");
        goto done;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        webhook_row(stmt, a, out);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? STORE_NOT_FOUND : sqlite__fail(c->db, "webhook get");
    }
done:
    sqlite__finish(stmt);
    return rc;
}

int sqlite__webhook_get(store *base, const char *account, const char *id, arena *a,
                        store_webhook *out)
{
    sq_conn *r = sqlite__reader(sqlite__store(base));
    return r != NULL ? webhook_get(r, account, id, a, out) : STORE_EIO;
}

int sqlite__txn_webhook_get(store_txn *t, const char *account, const char *id, arena *a,
                            store_webhook *out)
{
    return webhook_get(&sqlite__txn_store(t)->w, account, id, a, out);
}

int sqlite__webhook_list(store *base, const char *account, arena *a, store_webhook **items,
                         size_t *n)
{
    sqlite3_stmt *stmt;
    sq_conn *r = sqlite__reader(sqlite__store(base));
    if (r == NULL) return STORE_EIO;
    int rc = sqlite__stmt(r, SQ_WEBHOOK_LIST, sql[SQ_WEBHOOK_LIST], &stmt);
    return rc != 0 ? rc : webhook_rows(r, stmt, account, a, webhook_row, items, n);
}

/* A candidates row: the columns an event's fan-out reads. */
static void candidate_row(sqlite3_stmt *stmt, arena *a, store_webhook *out)
{
    memset(out, 0, sizeof *out);
    out->id = sqlite__col_text(stmt, 0, a);
    out->account = sqlite__col_text(stmt, 1, a);
    out->livemode = sqlite3_column_int(stmt, 2);
    out->disabled = sqlite3_column_int(stmt, 3);
    const char *ev = (const char *)sqlite3_column_text(stmt, 4);
    split_events(ev != NULL ? ev : "", a, &out->enabled_events, &out->n_enabled_events);
    out->destination = sqlite3_column_int(stmt, 5) == 2;
    const char *payload = (const char *)sqlite3_column_text(stmt, 6);
    out->thin = payload != NULL && strcmp(payload, "thin") == 0;
    out->connect = sqlite3_column_int(stmt, 7);
}

int sqlite__txn_webhook_candidates(store_txn *t, const char *account, const char *platform,
                                   arena *a, store_webhook **items, size_t *n)
{
    sq_conn *w = &sqlite__txn_store(t)->w;
    sqlite3_stmt *stmt;
    int which = platform != NULL ? SQ_WEBHOOK_CANDIDATES_CONNECT : SQ_WEBHOOK_CANDIDATES;
    int rc = sqlite__stmt(w, which, sql[which], &stmt);
    if (rc == 0 && platform != NULL && sqlite__bind_text(stmt, 2, platform) != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(w->db, "bind");
    }
    return rc != 0 ? rc : webhook_rows(w, stmt, account, a, candidate_row, items, n);
}

/* Write w with insert or update `which`. 0, STORE_EXISTS or STORE_EIO. */
static int webhook_write(sq_store *st, int which, const store_webhook *w)
{
    sqlite3_stmt *stmt;
    buf ev;
    buf_init(&ev, NULL);
    int rc = sqlite__stmt(&st->w, which, sql[which], &stmt);
    if (rc == 0) rc = bind_webhook(st, stmt, w, which == SQ_WEBHOOK_INSERT, &ev);
    if (rc == 0) rc = sqlite__run(st->w.db, stmt);
    buf_free(&ev);
    return rc;
}

/* Whether the account has max endpoints already: 0 (no), STORE_LIMIT or STORE_EIO. The writer
 * runs one job at a time, so nothing can insert between this count and the insert. */
static int webhook_limit(sq_store *st, const char *account, int destination, int max)
{
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, SQ_WEBHOOK_COUNT, sql[SQ_WEBHOOK_COUNT], &stmt);
    if (rc != 0) return rc;
    if ((sqlite__bind_text(stmt, 1, account) | sqlite3_bind_int(stmt, 2, destination ? 2 : 1)) !=
        SQLITE_OK) {
        rc = sqlite__fail(st->w.db, "bind");
    } else if (sqlite3_step(stmt) == SQLITE_ROW) {
        rc = sqlite3_column_int(stmt, 0) >= max ? STORE_LIMIT : 0;
    } else {
        rc = sqlite__fail(st->w.db, "webhook count");
    }
    sqlite__finish(stmt);
    return rc;
}

int sqlite__txn_webhook_insert(store_txn *t, const store_webhook *w, int max)
{
    sq_store *st = sqlite__txn_store(t);
    int rc = webhook_limit(st, w->account, w->destination, max);
    return rc != 0 ? rc : webhook_write(st, SQ_WEBHOOK_INSERT, w);
}

int sqlite__txn_webhook_update(store_txn *t, const store_webhook *w)
{
    sq_store *st = sqlite__txn_store(t);
    int rc = webhook_write(st, SQ_WEBHOOK_UPDATE, w);
    if (rc == 0 && sqlite3_changes(st->w.db) == 0) rc = STORE_NOT_FOUND;
    return rc;
}

int sqlite__txn_webhook_delete(store_txn *t, const char *account, const char *id)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, SQ_WEBHOOK_DELETE, sql[SQ_WEBHOOK_DELETE], &stmt);
    if (rc != 0) return rc;
    if ((sqlite__bind_text(stmt, 1, id) | sqlite__bind_text(stmt, 2, account)) != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    rc = sqlite__run(st->w.db, stmt);
    if (rc != 0) return rc;
    if (sqlite3_changes(st->w.db) == 0) return STORE_NOT_FOUND;
    /* CONTRACT.md §8: retries stop once the endpoint is deleted. */
    return sqlite__deliveries_drop(st, id);
}

int sqlite__txn_forward_set(store_txn *t, const char *url, const char *new_secret, arena *a,
                            const char **secret)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    int rc;
    *secret = NULL;
    if (url == NULL) {
        rc = sqlite__stmt(&st->w, SQ_FORWARD_OFF, sql[SQ_FORWARD_OFF], &stmt);
        return rc != 0 ? rc : sqlite__run(st->w.db, stmt);
    }
    rc = sqlite__stmt(&st->w, SQ_FORWARD_PUT, sql[SQ_FORWARD_PUT], &stmt);
    if (rc != 0) return rc;
    int br = sqlite3_bind_int64(stmt, 1, util_now());
    br |= sqlite__bind_text(stmt, 2, url);
    br |= sqlite__bind_text(stmt, 3, new_secret);
    if (br != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    rc = sqlite__run(st->w.db, stmt);
    if (rc != 0) return rc;
    rc = sqlite__stmt(&st->w, SQ_FORWARD_SECRET, sql[SQ_FORWARD_SECRET], &stmt);
    if (rc != 0) return rc;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        *secret = sqlite__col_text(stmt, 0, a);
        rc = 0;
    } else {
        rc = sqlite__fail(st->w.db, "forward secret");
    }
    sqlite__finish(stmt);
    return rc;
}
