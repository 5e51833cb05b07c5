/*
 * sessions: the sessions table. A row is the session's record (opaque here) plus the columns its
 * lists filter and sort on; ids are unique across accounts through the table's own index.
 */
#include "store/postgres/internal.h"

#define SQL_SESSION_GET "SELECT body FROM sessions WHERE id = $1 AND account = $2"

static int session_get(pg_store *st, pg_conn *c, const char *account, const char *id, arena *a,
                       store_record *out)
{
    pg_params p;
    pg__p_init(&p);
    pg__p_text(&p, id);
    pg__p_text(&p, account);
    return pg__record_read(st, c, SQL_SESSION_GET, &p, a, "session get", out);
}

int pg__session_get(store *base, const char *account, const char *id, arena *a, store_record *out)
{
    return session_get(pg__store(base), NULL, account, id, a, out);
}

int pg__txn_session_get(store_txn *t, const char *account, const char *id, arena *a,
                        store_record *out)
{
    pg_store *st = pg__txn_store(t);
    return session_get(st, &st->w, account, id, a, out);
}

/* The parameters insert and update share: $1 id, $2 account, then for an insert $3 created
 * (update leaves it alone: it is immutable and part of every list order), then status, the
 * three filterable references, redaction_due and body. */
static void session_params(pg_params *p, const store_session *s, int insert)
{
    pg__p_init(p);
    pg__p_text(p, s->id);
    pg__p_text(p, s->account);
    if (insert) pg__p_int(p, s->created);
    pg__p_int(p, s->status);
    pg__p_text(p, s->client_reference_id);
    pg__p_text(p, s->related_customer);
    pg__p_text(p, s->related_customer_account);
    if (s->redaction_due != 0)
        pg__p_int(p, s->redaction_due);
    else
        pg__p_text(p, NULL);
    pg__p_bytes(p, s->record.data != NULL ? s->record.data : "", s->record.len);
}

/* ON CONFLICT DO NOTHING rather than a unique violation: a failed statement would abort the
 * job's transaction, and a job may go on after STORE_EXISTS (another id). */
int pg__txn_session_insert(store_txn *t, const store_session *s)
{
    pg_params p;
    int64_t changes;
    session_params(&p, s, 1);
    int rc =
        pg__txn_query(t,
                      "INSERT INTO sessions (id, account, created, status, client_reference_id,"
                      " related_customer, related_customer_account, redaction_due, body)"
                      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
                      &p, NULL, &changes, "session insert");
    return rc == 0 && changes == 0 ? STORE_EXISTS : rc;
}

/* Under READ COMMITTED an UPDATE that waits for another transaction's row lock re-reads the row
 * and tests the status again once that one commits, so of two conditional updates on any
 * processes exactly one applies (store.h "Conditional state changes"). */
int pg__txn_session_update(store_txn *t, const store_session *s, int if_status)
{
    pg_params p;
    int64_t changes;
    session_params(&p, s, 0);
    pg__p_int(&p, if_status);
    int rc = pg__txn_query(t,
                           "UPDATE sessions SET status = $3, client_reference_id = $4,"
                           " related_customer = $5, related_customer_account = $6,"
                           " redaction_due = $7, body = $8"
                           " WHERE id = $1 AND account = $2 AND ($9 < 0 OR status = $9)",
                           &p, NULL, &changes, "session update");
    if (rc == 0 && changes == 0) {
        /* Gone, or changed since it was read: which one decides the answer. */
        arena *a = arena_new();
        store_record r;
        rc = pg__txn_session_get(t, s->account, s->id, a, &r);
        arena_free(a);
        if (rc == 0) rc = STORE_CONFLICT;
    }
    return rc;
}

int pg__redactions_due(store *base, int64_t now_ms, size_t max, arena *a, const char ***accounts,
                       const char ***ids, size_t *n)
{
    return pg__due_refs(pg__store(base),
                        "SELECT account, id FROM sessions"
                        " WHERE redaction_due IS NOT NULL AND redaction_due <= $1"
                        " ORDER BY redaction_due, seq LIMIT $2",
                        now_ms, max, a, accounts, ids, n, "redactions due");
}

static const char *const session_filters[] = {"status", "client_reference_id", "related_customer",
                                              "related_customer_account"};

static const pg__list_desc session_list_desc = {
    .table = "sessions",
    .columns = "body",
    .filters = session_filters,
    .n_filters = 4,
    .item_size = sizeof(store_record),
    .decode = pg__list_record,
    .what = "session list",
};

int pg__session_list(store *base, const store_session_query *q, arena *a, store_record **items,
                     size_t *n, int *has_more)
{
    const pg__list_query lq = {
        .account = q->account,
        .arg = {pg__list_int(q->has_status, q->status), pg__list_text(q->client_reference_id),
                pg__list_text(q->related_customer), pg__list_text(q->related_customer_account)},
        .created = &q->created,
        .starting_after = q->starting_after,
        .ending_before = q->ending_before,
        .limit = q->limit,
    };
    void *v;
    int rc = pg__list_page(pg__store(base), &session_list_desc, &lq, a, &v, n, has_more);
    *items = v;
    return rc;
}
