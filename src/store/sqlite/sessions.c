/*
 * sessions: the sessions table. A row is the session's record (opaque here) plus the columns
 * its lists filter and sort on; ids are indexed in batches (session_ids.c), so every lookup by id
 * goes through SQLITE__SESSION_BY_ID.
 */
#include <stdio.h>

#include "store/sqlite/internal.h"

#define SQL_SESSION_GET                                                                            \
    "SELECT body FROM sessions WHERE " SQLITE__SESSION_BY_ID("1", "3") " AND account = ?2"

/* Insert and update share parameter numbers (bind_session); update leaves created alone: it is
 * immutable and part of every list order. */
static const char *const sql[SQ_COUNT] = {
    [SQ_SESSION_GET] = SQL_SESSION_GET,
    [SQ_SESSION_INSERT] = "INSERT INTO sessions (id, account, created, status, client_reference_id,"
                          " related_customer, related_customer_account, redaction_due, body)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [SQ_SESSION_UPDATE] =
        "UPDATE sessions SET status = ?4, client_reference_id = ?5,"
        " related_customer = ?6, related_customer_account = ?7,"
        " redaction_due = ?8, body = ?9"
        " WHERE " SQLITE__SESSION_BY_ID("1", "10") " AND account = ?2"
                                                   " AND (?11 < 0 OR status = ?11)",
    [SQ_REDACTIONS_DUE] = "SELECT account, id FROM sessions"
                          " WHERE redaction_due IS NOT NULL AND redaction_due <= ?1"
                          " ORDER BY redaction_due, seq LIMIT ?2",
};

static int session_get(sq_conn *c, const char *account, const char *id, arena *a, store_record *out)
{
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(c, SQ_SESSION_GET, sql[SQ_SESSION_GET], &stmt);
    if (rc != 0) return rc;
    if (sqlite__bind_unmerged_seq(c->st, stmt, 3, id) != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(c->db, "bind");
    }
    return sqlite__record_get(c->db, stmt, account, id, a, "session get", out);
}

int sqlite__session_get(store *base, const char *account, const char *id, arena *a,
                        store_record *out)
{
    sq_conn *r = sqlite__reader(sqlite__store(base));
    return r != NULL ? session_get(r, account, id, a, out) : STORE_EIO;
}

int sqlite__txn_session_get(store_txn *t, const char *account, const char *id, arena *a,
                            store_record *out)
{
    return session_get(&sqlite__txn_store(t)->w, account, id, a, out);
}

/* Bind the parameters insert and update share: ?1 id, ?2 account, ?3 created, ?4 status,
 * ?5..?7 the filterable references, ?8 redaction_due, ?9 body. */
static int bind_session(sq_store *st, sqlite3_stmt *stmt, const store_session *s)
{
    int br = sqlite__bind_text(stmt, 1, s->id);
    br |= sqlite__bind_text(stmt, 2, s->account);
    br |= sqlite3_bind_int64(stmt, 3, s->created);
    br |= sqlite3_bind_int(stmt, 4, s->status);
    br |= sqlite__bind_text(stmt, 5, s->client_reference_id);
    br |= sqlite__bind_text(stmt, 6, s->related_customer);
    br |= sqlite__bind_text(stmt, 7, s->related_customer_account);
    if (s->redaction_due != 0)
        br |= sqlite3_bind_int64(stmt, 8, s->redaction_due);
    else
        br |= sqlite3_bind_null(stmt, 8);
    br |= sqlite__bind_blob(stmt, 9, s->record.data != NULL ? s->record.data : "", s->record.len);
    if (br != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    return 0;
}

int sqlite__txn_session_insert(store_txn *t, const store_session *s)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    int rc = sqlite__session_id_taken(st, s->id);
    if (rc != 0) return rc;
    rc = sqlite__stmt(&st->w, SQ_SESSION_INSERT, sql[SQ_SESSION_INSERT], &stmt);
    if (rc == 0) rc = bind_session(st, stmt, s);
    if (rc == 0) rc = sqlite__run(st->w.db, stmt);
    if (rc == 0) rc = sqlite__ids_inserted(st, s->id, sqlite3_last_insert_rowid(st->w.db));
    return rc;
}

int sqlite__txn_session_update(store_txn *t, const store_session *s, int if_status)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, SQ_SESSION_UPDATE, sql[SQ_SESSION_UPDATE], &stmt);
    if (rc == 0) rc = bind_session(st, stmt, s);
    if (rc == 0 && (sqlite__bind_unmerged_seq(st, stmt, 10, s->id) |
                    sqlite3_bind_int(stmt, 11, if_status)) != SQLITE_OK) {
        sqlite__finish(stmt);
        rc = sqlite__fail(st->w.db, "bind");
    }
    if (rc == 0) rc = sqlite__run(st->w.db, stmt);
    if (rc == 0 && sqlite3_changes(st->w.db) == 0) {
        /* Gone, or changed since it was read: which one decides the answer. */
        arena *a = arena_new();
        store_record r;
        rc = session_get(&st->w, s->account, s->id, a, &r);
        arena_free(a);
        if (rc == 0) rc = STORE_CONFLICT;
    }
    return rc;
}

int sqlite__redactions_due(store *base, int64_t now_ms, size_t max, arena *a,
                           const char ***accounts, const char ***ids, size_t *n)
{
    sqlite3_stmt *stmt;
    *n = 0;
    if (max == 0) return 0;
    sq_conn *r = sqlite__reader(sqlite__store(base));
    if (r == NULL) return STORE_EIO;
    int rc = sqlite__stmt(r, SQ_REDACTIONS_DUE, sql[SQ_REDACTIONS_DUE], &stmt);
    if (rc != 0) return rc;
    return sqlite__due_refs(r, stmt, now_ms, max, a, accounts, ids, n, "redactions due");
}

/* ---- the session list ---- */

/* In SQLITE__LQ_* bit order (internal.h), which is the list's mask layout for 4 filters. */
static const sqlite__list_filter session_filters[] = {
    {"status", ":status"},
    {"client_reference_id", ":client_ref"},
    {"related_customer", ":customer"},
    {"related_customer_account", ":customer_account"},
};
#define N_SESSION_FILTERS ((int)(sizeof session_filters / sizeof session_filters[0]))
_Static_assert(SQLITE__LQ_CREATED_LO == 1 << (N_SESSION_FILTERS + LB_LO) &&
                   SQLITE__LQ_CREATED_HI == 1 << (N_SESSION_FILTERS + LB_HI) &&
                   SQLITE__LQ_AFTER == 1 << (N_SESSION_FILTERS + LB_AFTER) &&
                   SQLITE__LQ_BEFORE == 1 << (N_SESSION_FILTERS + LB_BEFORE) &&
                   SQLITE__LQ_COMBINATIONS == 1 << (N_SESSION_FILTERS + LB_COUNT),
               "SQLITE__LQ_* must follow the list's mask layout");
_Static_assert(N_SESSION_FILTERS <= SQLITE__LIST_MAX_FILTERS,
               "sqlite__list_query.arg holds SQLITE__LIST_MAX_FILTERS values");

static const sqlite__list_desc session_list_desc = {
    .kind = LIST_SESSIONS,
    .select = "SELECT body FROM sessions",
    .cursor_sql = "SELECT created, seq FROM sessions WHERE " SQLITE__SESSION_BY_ID(
        "1", "3") " AND account = ?2",
    .cursor_seq_param = 3,
    .what = "session list",
    .cursor_what = "list cursor",
    .filters = session_filters,
    .n_filters = N_SESSION_FILTERS,
    .item_size = sizeof(store_record),
    .decode = sqlite__list_record,
};

void sqlite__session_list_sql(unsigned mask, buf *out)
{
    sqlite__list_sql(&session_list_desc, mask, NULL, out);
}

int sqlite__session_list(store *base, const store_session_query *q, arena *a, store_record **items,
                         size_t *n, int *has_more)
{
    const sqlite__list_query lq = {
        .account = q->account,
        .arg = {sqlite__list_int(q->has_status, q->status),
                sqlite__list_text(q->client_reference_id), sqlite__list_text(q->related_customer),
                sqlite__list_text(q->related_customer_account)},
        .created = &q->created,
        .starting_after = q->starting_after,
        .ending_before = q->ending_before,
        .limit = q->limit,
    };
    void *v;
    int rc = sqlite__list_page(sqlite__store(base), &session_list_desc, &lq, a, &v, n, has_more);
    *items = v;
    return rc;
}
