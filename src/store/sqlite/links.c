/*
 * links: hosted-page link keys (which session a url token was issued for; the key is chosen
 * above the store and never is the token itself) and the delayed outcomes' due times.
 */
#include "store/sqlite/internal.h"

static const char *const sql[SQ_COUNT] = {
    [SQ_LINK_PUT] = "INSERT OR IGNORE INTO hosted_links (token_hash, account, session_id)"
                    " VALUES (?1, ?2, ?3)",
    [SQ_LINK_FIND] = "SELECT account, session_id FROM hosted_links WHERE token_hash = ?1",
    [SQ_OUTCOME_SET] = "INSERT OR REPLACE INTO outcomes_due (account, session_id, due)"
                       " VALUES (?1, ?2, ?3)",
    [SQ_OUTCOME_CLEAR] = "DELETE FROM outcomes_due WHERE account = ?1 AND session_id = ?2",
    /* In parentheses: clang warns of a missing comma between literals in an array. */
    [SQ_OUTCOMES_DUE] = ("SELECT account, session_id FROM outcomes_due WHERE due <= ?1"
                         " ORDER BY due LIMIT ?2"),
};

int sqlite__txn_link_put(store_txn *t, const void *key, size_t key_len, const char *account,
                         const char *session_id)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, SQ_LINK_PUT, sql[SQ_LINK_PUT], &stmt);
    if (rc != 0) return rc;
    if ((sqlite__bind_blob(stmt, 1, key, key_len) | sqlite__bind_text(stmt, 2, account) |
         sqlite__bind_text(stmt, 3, session_id)) != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    return sqlite__run(st->w.db, stmt);
}

int sqlite__link_find(store *base, const void *key, size_t key_len, arena *a, const char **account,
                      const char **session_id)
{
    sqlite3_stmt *stmt;
    sq_conn *r = sqlite__reader(sqlite__store(base));
    if (r == NULL) return STORE_EIO;
    int rc = sqlite__stmt(r, SQ_LINK_FIND, sql[SQ_LINK_FIND], &stmt);
    if (rc != 0) return rc;
    if (sqlite__bind_blob(stmt, 1, key, key_len) != SQLITE_OK) {
        rc = sqlite__fail(r->db, "bind");
        goto done;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *account = sqlite__col_text(stmt, 0, a);
        *session_id = sqlite__col_text(stmt, 1, a);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? STORE_NOT_FOUND : sqlite__fail(r->db, "link find");
    }
done:
    sqlite__finish(stmt);
    return rc;
}

int sqlite__txn_outcome_set(store_txn *t, const char *account, const char *id, int64_t due_ms)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, SQ_OUTCOME_SET, sql[SQ_OUTCOME_SET], &stmt);
    if (rc != 0) return rc;
    if ((sqlite__bind_text(stmt, 1, account) | sqlite__bind_text(stmt, 2, id) |
         sqlite3_bind_int64(stmt, 3, due_ms)) != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    return sqlite__run(st->w.db, stmt);
}

int sqlite__txn_outcome_clear(store_txn *t, const char *account, const char *id)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, SQ_OUTCOME_CLEAR, sql[SQ_OUTCOME_CLEAR], &stmt);
    if (rc != 0) return rc;
    if ((sqlite__bind_text(stmt, 1, account) | sqlite__bind_text(stmt, 2, id)) != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    return sqlite__run(st->w.db, stmt);
}

int sqlite__outcomes_due(store *base, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                         const char ***ids, size_t *n)
{
    sqlite3_stmt *stmt;
    *n = 0;
    if (max == 0) return 0;
    sq_conn *r = sqlite__reader(sqlite__store(base));
    if (r == NULL) return STORE_EIO;
    int rc = sqlite__stmt(r, SQ_OUTCOMES_DUE, sql[SQ_OUTCOMES_DUE], &stmt);
    if (rc != 0) return rc;
    return sqlite__due_refs(r, stmt, now_ms, max, a, accounts, ids, n, "outcomes due");
}
