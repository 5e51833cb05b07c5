/*
 * attempts: the delivery attempt log (store_attempt) and the health probe and gauges
 * (store_health, store_stats_get) on PostgreSQL, as store/sqlite/attempts.c and stats.c do them:
 * one row per webhook attempt, written by the delivery worker's outcome job, trimmed per delivery
 * to the newest STORE_ATTEMPTS_PER_DELIVERY and pruned with its events (events.c).
 */
#include "store/postgres/internal.h"

#define STR_(x) #x
#define STR(x) STR_(x)

int pg__txn_attempt_add(store_txn *t, const store_attempt *at)
{
    pg_params p;
    pg__p_init(&p);
    pg__p_int(&p, at->delivery_seq);
    pg__p_text(&p, at->account);
    pg__p_text(&p, at->event_id);
    pg__p_text(&p, at->endpoint_id);
    pg__p_text(&p, at->url ? at->url : "");
    pg__p_int(&p, at->attempt);
    pg__p_int(&p, at->at_ms);
    pg__p_int(&p, at->status);
    pg__p_int(&p, at->latency_ms);
    pg__p_text(&p, at->error);
    pg__p_text(&p, at->response);
    if (at->next_ms >= 0)
        pg__p_int(&p, at->next_ms);
    else
        pg__p_text(&p, NULL); /* no next attempt */
    int rc = pg__txn_query(
        t,
        "INSERT INTO delivery_attempts (delivery_seq, account, event_id, endpoint_id, url,"
        " attempt, at_ms, status, latency_ms, error, response, next_ms)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &p, NULL, NULL, "attempt add");
    if (rc != 0) return rc;
    pg__p_init(&p);
    pg__p_int(&p, at->delivery_seq);
    return pg__txn_query(t,
                         "DELETE FROM delivery_attempts WHERE delivery_seq = $1 AND seq <="
                         " (SELECT seq FROM delivery_attempts WHERE delivery_seq = $1"
                         " ORDER BY seq DESC LIMIT 1 OFFSET " STR(STORE_ATTEMPTS_PER_DELIVERY) ")",
                         &p, NULL, NULL, "attempt trim");
}

int pg__attempt_list(store *base, const char *account, size_t max, arena *a, store_attempt **items,
                     size_t *n)
{
    pg_params p;
    PGresult *res;
    *items = NULL;
    *n = 0;
    if (max < 1) max = 1;
    if (max > 100) max = 100;
    pg__p_init(&p);
    pg__p_text(&p, account);
    pg__p_int(&p, (int64_t)max);
    int rc = pg__read(pg__store(base),
                      "SELECT seq, delivery_seq, account, event_id, endpoint_id, url, attempt,"
                      " at_ms, status, latency_ms, error, response, next_ms"
                      " FROM delivery_attempts WHERE account = $1 ORDER BY seq DESC LIMIT $2",
                      &p, &res, "attempt list");
    if (rc != 0) return rc;
    int rows = PQntuples(res);
    store_attempt *v = arena_calloc(a, (rows > 0 ? (size_t)rows : 1) * sizeof *v);
    for (int i = 0; i < rows; i++) {
        store_attempt *x = &v[i];
        x->seq = pg__col_int(res, i, 0);
        x->delivery_seq = pg__col_int(res, i, 1);
        x->account = pg__col_text(res, i, 2, a);
        x->event_id = pg__col_text(res, i, 3, a);
        x->endpoint_id = pg__col_text(res, i, 4, a);
        x->url = pg__col_text(res, i, 5, a);
        x->attempt = (int)pg__col_int(res, i, 6);
        x->at_ms = pg__col_int(res, i, 7);
        x->status = (int)pg__col_int(res, i, 8);
        x->latency_ms = pg__col_int(res, i, 9);
        x->error = pg__col_text(res, i, 10, a);
        x->response = pg__col_text(res, i, 11, a);
        x->next_ms = PQgetisnull(res, i, 12) ? -1 : pg__col_int(res, i, 12);
    }
    PQclear(res);
    *items = v;
    *n = (size_t)rows;
    return 0;
}

/* One integer from sql on a read connection: 0 and *out, or STORE_EIO. */
static int count(pg_store *st, const char *sql, int64_t *out)
{
    PGresult *res;
    int rc = pg__read(st, sql, NULL, &res, "stats");
    if (rc != 0) return rc;
    *out = PQntuples(res) > 0 ? pg__col_int(res, 0, 0) : 0;
    PQclear(res);
    return 0;
}

int pg__health(store *base)
{
    int64_t v;
    return count(pg__store(base), "SELECT 1", &v);
}

int pg__stats_get(store *base, store_stats *out)
{
    pg_store *st = pg__store(base);
    int rc = count(st, "SELECT count(*) FROM deliveries WHERE state = 0", &out->outbox_pending);
    if (rc == 0)
        rc = count(st, "SELECT count(*) FROM sessions WHERE redaction_due IS NOT NULL",
                   &out->redactions_pending);
    return rc;
}
