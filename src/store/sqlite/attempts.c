/*
 * attempts: the delivery attempt log, one row per webhook attempt (store_attempt). Written by the
 * delivery worker's outcome job next to the outbox row it updates, trimmed per delivery to the
 * newest STORE_ATTEMPTS_PER_DELIVERY, and pruned with the events (events.c).
 */
#include "store/sqlite/internal.h"

#define PRUNE_BATCH 1000
#define STR_(x) #x
#define STR(x) STR_(x)

static const char *const sql[SQ_COUNT] = {
    [SQ_ATTEMPT_ADD] =
        "INSERT INTO delivery_attempts (delivery_seq, account, event_id, endpoint_id, url, attempt,"
        " at_ms, status, latency_ms, error, response, next_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [SQ_ATTEMPT_TRIM] = "DELETE FROM delivery_attempts WHERE delivery_seq = ?1 AND seq <="
                        " (SELECT seq FROM delivery_attempts WHERE delivery_seq = ?1"
                        " ORDER BY seq DESC LIMIT 1 OFFSET " STR(STORE_ATTEMPTS_PER_DELIVERY) ")",
    [SQ_ATTEMPT_LIST] = "SELECT seq, delivery_seq, account, event_id, endpoint_id, url, attempt,"
                        " at_ms, status, latency_ms, error, response, next_ms"
                        " FROM delivery_attempts WHERE account = ?1 ORDER BY seq DESC LIMIT ?2",
    [SQ_ATTEMPTS_PRUNE] =
        "DELETE FROM delivery_attempts WHERE seq IN (SELECT seq FROM delivery_attempts"
        " ORDER BY seq LIMIT " STR(PRUNE_BATCH) ")"
                                                " AND NOT EXISTS (SELECT 1 FROM events WHERE "
                                                "events.id = delivery_attempts.event_id)",
};

int sqlite__txn_attempt_add(store_txn *t, const store_attempt *at)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, SQ_ATTEMPT_ADD, sql[SQ_ATTEMPT_ADD], &stmt);
    if (rc != 0) return rc;
    int br = sqlite3_bind_int64(stmt, 1, at->delivery_seq) |
             sqlite__bind_text(stmt, 2, at->account) | sqlite__bind_text(stmt, 3, at->event_id) |
             sqlite__bind_text(stmt, 4, at->endpoint_id) |
             sqlite__bind_text(stmt, 5, at->url ? at->url : "") |
             sqlite3_bind_int(stmt, 6, at->attempt) | sqlite3_bind_int64(stmt, 7, at->at_ms) |
             sqlite3_bind_int(stmt, 8, at->status) | sqlite3_bind_int64(stmt, 9, at->latency_ms) |
             sqlite__bind_text(stmt, 10, at->error) | sqlite__bind_text(stmt, 11, at->response);
    br |=
        at->next_ms >= 0 ? sqlite3_bind_int64(stmt, 12, at->next_ms) : sqlite3_bind_null(stmt, 12);
    if (br != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    rc = sqlite__run(st->w.db, stmt);
    if (rc != 0) return rc;
    rc = sqlite__stmt(&st->w, SQ_ATTEMPT_TRIM, sql[SQ_ATTEMPT_TRIM], &stmt);
    if (rc != 0) return rc;
    if (sqlite3_bind_int64(stmt, 1, at->delivery_seq) != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    return sqlite__run(st->w.db, stmt);
}

int sqlite__attempt_list(store *base, const char *account, size_t max, arena *a,
                         store_attempt **items, size_t *n)
{
    sqlite3_stmt *stmt;
    size_t count = 0;
    *items = NULL;
    *n = 0;
    if (max < 1) max = 1;
    if (max > 100) max = 100;
    sq_conn *r = sqlite__reader(sqlite__store(base));
    if (r == NULL) return STORE_EIO;
    int rc = sqlite__stmt(r, SQ_ATTEMPT_LIST, sql[SQ_ATTEMPT_LIST], &stmt);
    if (rc != 0) return rc;
    if ((sqlite__bind_text(stmt, 1, account) | sqlite3_bind_int64(stmt, 2, (int64_t)max)) !=
        SQLITE_OK) {
        rc = sqlite__fail(r->db, "bind");
        goto done;
    }
    store_attempt *v = arena_calloc(a, max * sizeof *v);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        store_attempt *x = &v[count++];
        x->seq = sqlite3_column_int64(stmt, 0);
        x->delivery_seq = sqlite3_column_int64(stmt, 1);
        x->account = sqlite__col_text(stmt, 2, a);
        x->event_id = sqlite__col_text(stmt, 3, a);
        x->endpoint_id = sqlite__col_text(stmt, 4, a);
        x->url = sqlite__col_text(stmt, 5, a);
        x->attempt = sqlite3_column_int(stmt, 6);
        x->at_ms = sqlite3_column_int64(stmt, 7);
        x->status = sqlite3_column_int(stmt, 8);
        x->latency_ms = sqlite3_column_int64(stmt, 9);
        x->error = sqlite__col_text(stmt, 10, a);
        x->response = sqlite__col_text(stmt, 11, a);
        x->next_ms =
            sqlite3_column_type(stmt, 12) == SQLITE_NULL ? -1 : sqlite3_column_int64(stmt, 12);
    }
    if (rc != SQLITE_DONE) {
        rc = sqlite__fail(r->db, "attempt list");
        goto done;
    }
    rc = 0;
    *items = v;
    *n = count;
done:
    sqlite__finish(stmt);
    return rc;
}

int sqlite__attempts_prune(sq_store *st)
{
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, SQ_ATTEMPTS_PRUNE, sql[SQ_ATTEMPTS_PRUNE], &stmt);
    while (rc == 0) {
        rc = sqlite__run(st->w.db, stmt);
        if (rc != 0 || sqlite3_changes(st->w.db) < PRUNE_BATCH) break;
    }
    return rc;
}
