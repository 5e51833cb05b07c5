/*
 * stats: the SQLite backend's health probe and gauges (store_health, store_stats_get). Both run
 * on the calling thread's read connection, never on the writer's, so a scrape or a load
 * balancer's probe never waits behind a batch. The statements are prepared per call rather than
 * kept in the SQ_* slots: they run a few times a minute, not per request.
 */
#include "store/sqlite/internal.h"

/* One integer from sql on the reader r: 0 and *out, or STORE_EIO. */
static int count(sq_conn *r, const char *sql, int64_t *out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(r->db, sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return sqlite__fail(r->db, "stats prepare");
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(stmt, 0);
        rc = 0;
    } else {
        rc = sqlite__fail(r->db, "stats");
    }
    sqlite3_finalize(stmt);
    return rc;
}

int sqlite__health(store *base)
{
    sq_store *st = sqlite__store(base);
    int failed = st->writer_failed;
    if (failed == 2) return STORE_UNAVAILABLE;
    if (failed) return STORE_EIO;
    sq_conn *r = sqlite__reader(st);
    if (r == NULL) return STORE_EIO;
    int64_t v;
    return count(r, "SELECT count(*) FROM (SELECT 1 FROM sessions LIMIT 1)", &v);
}

int sqlite__stats_get(store *base, store_stats *out)
{
    sq_conn *r = sqlite__reader(sqlite__store(base));
    if (r == NULL) return STORE_EIO;
    /* Both walk partial indexes (deliveries_due, sessions_redaction_due): the pending rows only. */
    int rc = count(r, "SELECT count(*) FROM deliveries WHERE state = 0", &out->outbox_pending);
    if (rc == 0)
        rc = count(r, "SELECT count(*) FROM sessions WHERE redaction_due IS NOT NULL",
                   &out->redactions_pending);
    return rc;
}
