/*
 * links: hosted-page link keys (which session a url token was issued for; the key is chosen
 * above the store and never is the token itself) and the delayed outcomes' due times.
 */
#include "store/postgres/internal.h"

int pg__txn_link_put(store_txn *t, const void *key, size_t key_len, const char *account,
                     const char *session_id)
{
    pg_params p;
    pg__p_init(&p);
    pg__p_bytes(&p, key, key_len);
    pg__p_text(&p, account);
    pg__p_text(&p, session_id);
    /* A key that is already stored keeps its session. */
    return pg__txn_query(t,
                         "INSERT INTO hosted_links (token_hash, account, session_id)"
                         " VALUES ($1, $2, $3) ON CONFLICT (token_hash) DO NOTHING",
                         &p, NULL, NULL, "link put");
}

int pg__link_find(store *base, const void *key, size_t key_len, arena *a, const char **account,
                  const char **session_id)
{
    pg_params p;
    PGresult *res;
    pg__p_init(&p);
    pg__p_bytes(&p, key, key_len);
    int rc = pg__read(pg__store(base),
                      "SELECT account, session_id FROM hosted_links WHERE token_hash = $1", &p,
                      &res, "link find");
    if (rc != 0) return rc;
    if (PQntuples(res) == 0) {
        rc = STORE_NOT_FOUND;
    } else {
        *account = pg__col_text(res, 0, 0, a);
        *session_id = pg__col_text(res, 0, 1, a);
    }
    PQclear(res);
    return rc;
}

int pg__txn_outcome_set(store_txn *t, const char *account, const char *id, int64_t due_ms)
{
    pg_params p;
    pg__p_init(&p);
    pg__p_text(&p, account);
    pg__p_text(&p, id);
    pg__p_int(&p, due_ms);
    return pg__txn_query(t,
                         "INSERT INTO outcomes_due (account, session_id, due) VALUES ($1, $2, $3)"
                         " ON CONFLICT (account, session_id) DO UPDATE SET due = excluded.due",
                         &p, NULL, NULL, "outcome set");
}

int pg__txn_outcome_clear(store_txn *t, const char *account, const char *id)
{
    pg_params p;
    pg__p_init(&p);
    pg__p_text(&p, account);
    pg__p_text(&p, id);
    return pg__txn_query(t, "DELETE FROM outcomes_due WHERE account = $1 AND session_id = $2", &p,
                         NULL, NULL, "outcome clear");
}

int pg__outcomes_due(store *base, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                     const char ***ids, size_t *n)
{
    return pg__due_refs(pg__store(base),
                        "SELECT account, session_id FROM outcomes_due WHERE due <= $1"
                        " ORDER BY due LIMIT $2",
                        now_ms, max, a, accounts, ids, n, "outcomes due");
}
