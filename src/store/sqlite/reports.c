/*
 * reports: the reports table. A row is the report's record (opaque here) plus the columns its
 * list filters on.
 */
#include <string.h>

#include "store/sqlite/internal.h"

#define SQL_REPORT_GET "SELECT body FROM reports WHERE id = ?1 AND account = ?2"

static const char *const sql[SQ_COUNT] = {
    [SQ_REPORT_GET] = SQL_REPORT_GET,
    [SQ_REPORT_INSERT] = "INSERT INTO reports (id, account, created, type, verification_session,"
                         " client_reference_id, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [SQ_REPORT_UPDATE] = "UPDATE reports SET body = ?3, client_reference_id = ?4"
                         " WHERE id = ?1 AND account = ?2",
    [SQ_SESSION_REPORTS] = "SELECT id, body FROM reports"
                           " WHERE account = ?1 AND verification_session = ?2 ORDER BY seq",
};

static int report_get(sq_conn *c, const char *account, const char *id, arena *a, store_record *out)
{
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(c, SQ_REPORT_GET, sql[SQ_REPORT_GET], &stmt);
    return rc != 0 ? rc : sqlite__record_get(c->db, stmt, account, id, a, "report get", out);
}

int sqlite__report_get(store *base, const char *account, const char *id, arena *a,
                       store_record *out)
{
    sq_conn *r = sqlite__reader(sqlite__store(base));
    return r != NULL ? report_get(r, account, id, a, out) : STORE_EIO;
}

int sqlite__txn_report_get(store_txn *t, const char *account, const char *id, arena *a,
                           store_record *out)
{
    return report_get(&sqlite__txn_store(t)->w, account, id, a, out);
}

int sqlite__txn_report_insert(store_txn *t, const store_report *r)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, SQ_REPORT_INSERT, sql[SQ_REPORT_INSERT], &stmt);
    if (rc != 0) return rc;
    int br = sqlite__bind_text(stmt, 1, r->id);
    br |= sqlite__bind_text(stmt, 2, r->account);
    br |= sqlite3_bind_int64(stmt, 3, r->created);
    br |= sqlite3_bind_int(stmt, 4, r->type);
    br |= sqlite__bind_text(stmt, 5, r->verification_session);
    br |= sqlite__bind_text(stmt, 6, r->client_reference_id);
    br |= sqlite__bind_blob(stmt, 7, r->record.data != NULL ? r->record.data : "", r->record.len);
    if (br != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    return sqlite__run(st->w.db, stmt);
}

int sqlite__txn_report_update(store_txn *t, const store_report *r)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, SQ_REPORT_UPDATE, sql[SQ_REPORT_UPDATE], &stmt);
    if (rc != 0) return rc;
    if ((sqlite__bind_text(stmt, 1, r->id) | sqlite__bind_text(stmt, 2, r->account) |
         sqlite__bind_blob(stmt, 3, r->record.data != NULL ? r->record.data : "", r->record.len) |
         sqlite__bind_text(stmt, 4, r->client_reference_id)) != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    rc = sqlite__run(st->w.db, stmt);
    if (rc == 0 && sqlite3_changes(st->w.db) == 0) rc = STORE_NOT_FOUND;
    return rc;
}

int sqlite__txn_session_reports(store_txn *t, const char *account, const char *session_id, arena *a,
                                store_report **items, size_t *n)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    size_t count = 0, cap = 0;
    store_report *v = NULL;
    *items = NULL;
    *n = 0;
    int rc = sqlite__stmt(&st->w, SQ_SESSION_REPORTS, sql[SQ_SESSION_REPORTS], &stmt);
    if (rc != 0) return rc;
    if ((sqlite__bind_text(stmt, 1, account) | sqlite__bind_text(stmt, 2, session_id)) !=
        SQLITE_OK) {
        rc = sqlite__fail(st->w.db, "bind");
        goto done;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (count == cap) {
            cap = cap == 0 ? 4 : cap * 2;
            store_report *grown = arena_alloc(a, cap * sizeof *grown);
            if (count > 0) memcpy(grown, v, count * sizeof *v);
            v = grown;
        }
        v[count++] = (store_report){.id = sqlite__col_text(stmt, 0, a),
                                    .account = account,
                                    .verification_session = session_id,
                                    .record = sqlite__col_record(stmt, 1, a)};
    }
    if (rc != SQLITE_DONE) {
        rc = sqlite__fail(st->w.db, "session reports");
        goto done;
    }
    rc = 0;
    *items = v;
    *n = count;
done:
    sqlite__finish(stmt);
    return rc;
}

/* ---- the report list ---- */

static const sqlite__list_filter report_filters[] = {
    {"type", ":type"},
    {"client_reference_id", ":client_ref"},
    {"verification_session", ":session"},
};
_Static_assert(sizeof report_filters / sizeof report_filters[0] <= SQLITE__LIST_MAX_FILTERS,
               "sqlite__list_query.arg holds SQLITE__LIST_MAX_FILTERS values");

static const sqlite__list_desc report_list_desc = {
    .kind = LIST_REPORTS,
    .select = "SELECT body FROM reports",
    .cursor_sql = "SELECT created, seq FROM reports WHERE id = ?1 AND account = ?2",
    .what = "report list",
    .cursor_what = "report cursor",
    .filters = report_filters,
    .n_filters = (int)(sizeof report_filters / sizeof report_filters[0]),
    .item_size = sizeof(store_record),
    .decode = sqlite__list_record,
};

int sqlite__report_list(store *base, const store_report_query *q, arena *a, store_record **items,
                        size_t *n, int *has_more)
{
    const sqlite__list_query lq = {
        .account = q->account,
        .arg = {sqlite__list_int(q->has_type, q->type), sqlite__list_text(q->client_reference_id),
                sqlite__list_text(q->verification_session)},
        .created = &q->created,
        .starting_after = q->starting_after,
        .ending_before = q->ending_before,
        .limit = q->limit,
    };
    void *v;
    int rc = sqlite__list_page(sqlite__store(base), &report_list_desc, &lq, a, &v, n, has_more);
    *items = v;
    return rc;
}
