/*
 * accounts: operations on everything one account has stored at once (the test control plane's
 * reset, CONTRACT.md §11 "Test control plane"). Per-object SQL stays with each resource's file;
 * this file only knows which tables hold an account's rows.
 *
 * Not for: deciding who may reset (the endpoint), or the session cache (store.c drops the
 * account's entries once the job commits).
 */
#include <stddef.h>

#include "store/sqlite/internal.h"

/*
 * One DELETE per table, all inside the calling job's savepoint, so the reset commits whole or not
 * at all. Order matters where a statement reads a table a later one empties: deliveries find the
 * account's endpoints, session_ids the account's sessions. ?1 is the account.
 *
 * Per-account state kept in a table of its own (such as a per-account test clock) is removed by
 * appending its DELETE here; count NULL when the answer does not report it.
 *
 * Prepared per call rather than cached in the connection's SQ_* slots: a reset is rare, and
 * this keeps the list the one place to edit.
 */
typedef struct reset_step {
    const char *sql;
    size_t count; /* offset of its counter in store_reset_counts, or RESET_UNCOUNTED */
} reset_step;
#define RESET_UNCOUNTED ((size_t)-1)
#define COUNTS(field) offsetof(store_reset_counts, field)

static const reset_step reset_steps[] = {
    /* Deliveries of the account's events, and to its endpoints (a connected account's events
     * reach its platform's connect endpoints). */
    {"DELETE FROM deliveries WHERE account = ?1"
     " OR endpoint_id IN (SELECT id FROM webhook_endpoints WHERE account = ?1)",
     COUNTS(deliveries)},
    /* The attempt log of the account's deliveries (the dashboard shows it). */
    {"DELETE FROM delivery_attempts WHERE account = ?1", RESET_UNCOUNTED},
    {"DELETE FROM events WHERE account = ?1", COUNTS(events)},
    {"DELETE FROM webhook_endpoints WHERE account = ?1", COUNTS(webhooks)},
    {"DELETE FROM reports WHERE account = ?1", COUNTS(reports)},
    /* The merged id index first, while the sessions still say which ids are the account's;
     * the in-memory map of unmerged ids may keep stale entries (session_ids.c checks them). */
    {"DELETE FROM session_ids WHERE id IN (SELECT id FROM sessions WHERE account = ?1)",
     RESET_UNCOUNTED},
    {"DELETE FROM sessions WHERE account = ?1", COUNTS(sessions)},
    {"DELETE FROM hosted_links WHERE account = ?1", COUNTS(links)},
    {"DELETE FROM outcomes_due WHERE account = ?1", COUNTS(outcomes)},
    {"DELETE FROM idempotency WHERE account = ?1", COUNTS(idempotency_keys)},
    /* Its clock (a connected account's namespace has none: it follows its platform's). */
    {"DELETE FROM clocks WHERE account = ?1", RESET_UNCOUNTED},
};

int sqlite__txn_account_reset(store_txn *t, const char *account, store_reset_counts *counts)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3 *db = st->w.db;
    *counts = (store_reset_counts){0};
    for (size_t i = 0; i < sizeof reset_steps / sizeof *reset_steps; i++) {
        sqlite3_stmt *stmt = NULL;
        if (sqlite3_prepare_v2(db, reset_steps[i].sql, -1, &stmt, NULL) != SQLITE_OK)
            return sqlite__fail(db, "reset prepare");
        int rc = sqlite__bind_text(stmt, 1, account) == SQLITE_OK ? 0 : STORE_EIO;
        if (rc == 0 && sqlite3_step(stmt) != SQLITE_DONE) rc = STORE_EIO;
        if (rc != 0) sqlite__fail(db, "reset");
        sqlite3_finalize(stmt);
        if (rc != 0) return rc;
        if (reset_steps[i].count != RESET_UNCOUNTED)
            *(int64_t *)((char *)counts + reset_steps[i].count) = sqlite3_changes64(db);
    }
    return 0;
}
