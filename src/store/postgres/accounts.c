/*
 * accounts: everything one account has stored, at once (the test control plane's reset,
 * CONTRACT.md §11 "Test control plane"). Per-object SQL stays with each resource's file; this
 * file only knows which tables hold an account's rows.
 *
 * Not for: who may reset (the endpoint); the session cache is off for this backend.
 */
#include <stddef.h>

#include "store/postgres/internal.h"

/* One DELETE per table, all inside the calling job's savepoint, so the reset commits whole or
 * not at all. Deliveries go first, while the endpoints still say which are the account's. $1 is
 * the account. */
typedef struct reset_step {
    const char *sql;
    size_t count; /* offset of its counter in store_reset_counts, or RESET_UNCOUNTED */
} reset_step;
#define RESET_UNCOUNTED ((size_t)-1)
#define COUNTS(field) offsetof(store_reset_counts, field)

static const reset_step reset_steps[] = {
    {"DELETE FROM deliveries WHERE account = $1"
     " OR endpoint_id IN (SELECT id FROM webhook_endpoints WHERE account = $1)",
     COUNTS(deliveries)},
    /* The attempt log of the account's deliveries (the dashboard shows it). */
    {"DELETE FROM delivery_attempts WHERE account = $1", RESET_UNCOUNTED},
    {"DELETE FROM events WHERE account = $1", COUNTS(events)},
    {"DELETE FROM webhook_endpoints WHERE account = $1", COUNTS(webhooks)},
    {"DELETE FROM reports WHERE account = $1", COUNTS(reports)},
    {"DELETE FROM sessions WHERE account = $1", COUNTS(sessions)},
    {"DELETE FROM hosted_links WHERE account = $1", COUNTS(links)},
    {"DELETE FROM outcomes_due WHERE account = $1", COUNTS(outcomes)},
    {"DELETE FROM idempotency WHERE account = $1", COUNTS(idempotency_keys)},
    /* Its clock (a connected account's namespace has none: it follows its platform's). */
    {"DELETE FROM clocks WHERE account = $1", RESET_UNCOUNTED},
};

int pg__txn_account_reset(store_txn *t, const char *account, store_reset_counts *counts)
{
    *counts = (store_reset_counts){0};
    for (size_t i = 0; i < sizeof reset_steps / sizeof *reset_steps; i++) {
        pg_params p;
        int64_t changes;
        pg__p_init(&p);
        pg__p_text(&p, account);
        int rc = pg__txn_query(t, reset_steps[i].sql, &p, NULL, &changes, "reset");
        if (rc != 0) return rc;
        if (reset_steps[i].count != RESET_UNCOUNTED)
            *(int64_t *)((char *)counts + reset_steps[i].count) = changes;
    }
    return 0;
}
