/*
 * clocks: each account's test-clock offset (store.h "per-account clocks"), and what an advance
 * moves: the pending due times of the account and its connected namespaces, all of them stored
 * in real time (unix ms), brought earlier by the advance.
 *
 * Not for: what an account's time means to the objects (identity/account_clock.c).
 */
#include "store/sqlite/internal.h"

static const char *const sql[SQ_COUNT] = {
    [SQ_CLOCK_LIST] = "SELECT account, offset_ms FROM clocks ORDER BY account",
    [SQ_CLOCK_ADD] = "INSERT INTO clocks (account, offset_ms) VALUES (?1, ?2)"
                     " ON CONFLICT (account) DO UPDATE SET offset_ms = offset_ms + ?2",
    [SQ_CLOCK_GET] = "SELECT offset_ms FROM clocks WHERE account = ?1",
    [SQ_CLOCK_SHIFT_DELIVERIES] = "UPDATE deliveries SET next_attempt_ms = next_attempt_ms - ?2"
                                  " WHERE state = 0 AND " SQLITE__OWNED_BY("account"),
    [SQ_CLOCK_SHIFT_OUTCOMES] =
        "UPDATE outcomes_due SET due = due - ?2 WHERE " SQLITE__OWNED_BY("account"),
    [SQ_CLOCK_SHIFT_REDACTIONS] =
        "UPDATE sessions SET redaction_due = redaction_due - ?2"
        " WHERE redaction_due IS NOT NULL AND " SQLITE__OWNED_BY("account"),
};

int sqlite__clock_list(store *base, arena *a, const char ***accounts, int64_t **offsets_ms,
                       size_t *n)
{
    sqlite3_stmt *stmt;
    *n = 0;
    *accounts = NULL;
    *offsets_ms = NULL;
    sq_conn *r = sqlite__reader(sqlite__store(base));
    if (r == NULL) return STORE_EIO;
    int rc = sqlite__stmt(r, SQ_CLOCK_LIST, sql[SQ_CLOCK_LIST], &stmt);
    if (rc != 0) return rc;
    size_t cap = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (*n == cap) { /* doubling in the arena: the old arrays stay until the arena goes */
            cap = cap ? 2 * cap : 16;
            const char **acc = arena_alloc(a, cap * sizeof *acc);
            int64_t *off = arena_alloc(a, cap * sizeof *off);
            for (size_t i = 0; i < *n; i++) {
                acc[i] = (*accounts)[i];
                off[i] = (*offsets_ms)[i];
            }
            *accounts = acc;
            *offsets_ms = off;
        }
        (*accounts)[*n] = sqlite__col_text(stmt, 0, a);
        (*offsets_ms)[*n] = sqlite3_column_int64(stmt, 1);
        (*n)++;
    }
    rc = rc == SQLITE_DONE ? 0 : sqlite__fail(r->db, "clock list");
    if (rc != 0) *n = 0;
    sqlite__finish(stmt);
    return rc;
}

/* Run statement `which` of the writer with ?1 = account and ?2 = delta_ms. */
static int run_account_delta(sq_store *st, int which, const char *account, int64_t delta_ms)
{
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, which, sql[which], &stmt);
    if (rc != 0) return rc;
    if ((sqlite__bind_text(stmt, 1, account) | sqlite3_bind_int64(stmt, 2, delta_ms)) !=
        SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    return sqlite__run(st->w.db, stmt);
}

int sqlite__txn_clock_advance(store_txn *t, const char *account, int64_t delta_ms,
                              int64_t *offset_ms)
{
    sq_store *st = sqlite__txn_store(t);
    static const int steps[] = {SQ_CLOCK_ADD, SQ_CLOCK_SHIFT_DELIVERIES, SQ_CLOCK_SHIFT_OUTCOMES,
                                SQ_CLOCK_SHIFT_REDACTIONS};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof steps / sizeof *steps; i++)
        rc = run_account_delta(st, steps[i], account, delta_ms);
    if (rc != 0) return rc;
    sqlite3_stmt *stmt;
    rc = sqlite__stmt(&st->w, SQ_CLOCK_GET, sql[SQ_CLOCK_GET], &stmt);
    if (rc != 0) return rc;
    if (sqlite__bind_text(stmt, 1, account) != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *offset_ms = sqlite3_column_int64(stmt, 0);
        rc = 0;
    } else {
        rc = sqlite__fail(st->w.db, "clock get");
    }
    sqlite__finish(stmt);
    return rc;
}
