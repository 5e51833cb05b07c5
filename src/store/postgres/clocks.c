/*
 * clocks: each account's test-clock offset (store.h "per-account clocks"), and what an advance
 * moves: the pending due times of the account and its connected namespaces, all stored in real
 * time (unix ms), brought earlier by the advance.
 *
 * Not for: what an account's time means to the objects (identity/account_clock.c).
 */
#include "store/postgres/internal.h"

int pg__clock_list(store *base, arena *a, const char ***accounts, int64_t **offsets_ms, size_t *n)
{
    PGresult *res;
    *n = 0;
    *accounts = NULL;
    *offsets_ms = NULL;
    int rc = pg__read(pg__store(base), "SELECT account, offset_ms FROM clocks ORDER BY account",
                      NULL, &res, "clock list");
    if (rc != 0) return rc;
    int rows = PQntuples(res);
    const char **acc = arena_alloc(a, (size_t)(rows > 0 ? rows : 1) * sizeof *acc);
    int64_t *off = arena_alloc(a, (size_t)(rows > 0 ? rows : 1) * sizeof *off);
    for (int i = 0; i < rows; i++) {
        acc[i] = pg__col_text(res, i, 0, a);
        off[i] = pg__col_int(res, i, 1);
    }
    PQclear(res);
    *accounts = acc;
    *offsets_ms = off;
    *n = (size_t)rows;
    return 0;
}

/* The shifts, each with $1 = account and $2 = delta_ms. */
static const char *const shifts[] = {
    "UPDATE deliveries SET next_attempt_ms = next_attempt_ms - $2"
    " WHERE state = 0 AND " PG__OWNED_BY("account"),
    "UPDATE outcomes_due SET due = due - $2 WHERE " PG__OWNED_BY("account"),
    "UPDATE sessions SET redaction_due = redaction_due - $2"
    " WHERE redaction_due IS NOT NULL AND " PG__OWNED_BY("account"),
};

int pg__txn_clock_advance(store_txn *t, const char *account, int64_t delta_ms, int64_t *offset_ms)
{
    pg_params p;
    PGresult *res;
    pg__p_init(&p);
    pg__p_text(&p, account);
    pg__p_int(&p, delta_ms);
    int rc = pg__txn_query(t,
                           "INSERT INTO clocks (account, offset_ms) VALUES ($1, $2)"
                           " ON CONFLICT (account) DO UPDATE"
                           " SET offset_ms = clocks.offset_ms + excluded.offset_ms"
                           " RETURNING offset_ms",
                           &p, &res, NULL, "clock advance");
    if (rc != 0) return rc;
    *offset_ms = PQntuples(res) == 1 ? pg__col_int(res, 0, 0) : 0;
    PQclear(res);
    for (size_t i = 0; rc == 0 && i < sizeof shifts / sizeof *shifts; i++)
        rc = pg__txn_query(t, shifts[i], &p, NULL, NULL, "clock shift");
    return rc;
}
