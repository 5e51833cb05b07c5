/*
 * reports: the reports table. A row is the report's record (opaque here) plus the columns its
 * list filters on.
 */
#include "store/postgres/internal.h"

#define SQL_REPORT_GET "SELECT body FROM reports WHERE id = $1 AND account = $2"

static int report_get(pg_store *st, pg_conn *c, const char *account, const char *id, arena *a,
                      store_record *out)
{
    pg_params p;
    pg__p_init(&p);
    pg__p_text(&p, id);
    pg__p_text(&p, account);
    return pg__record_read(st, c, SQL_REPORT_GET, &p, a, "report get", out);
}

int pg__report_get(store *base, const char *account, const char *id, arena *a, store_record *out)
{
    return report_get(pg__store(base), NULL, account, id, a, out);
}

int pg__txn_report_get(store_txn *t, const char *account, const char *id, arena *a,
                       store_record *out)
{
    pg_store *st = pg__txn_store(t);
    return report_get(st, &st->w, account, id, a, out);
}

int pg__txn_report_insert(store_txn *t, const store_report *r)
{
    pg_params p;
    int64_t changes;
    pg__p_init(&p);
    pg__p_text(&p, r->id);
    pg__p_text(&p, r->account);
    pg__p_int(&p, r->created);
    pg__p_int(&p, r->type);
    pg__p_text(&p, r->verification_session);
    pg__p_text(&p, r->client_reference_id);
    pg__p_bytes(&p, r->record.data != NULL ? r->record.data : "", r->record.len);
    int rc = pg__txn_query(t,
                           "INSERT INTO reports (id, account, created, type, verification_session,"
                           " client_reference_id, body) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                           " ON CONFLICT (id) DO NOTHING",
                           &p, NULL, &changes, "report insert");
    return rc == 0 && changes == 0 ? STORE_EXISTS : rc;
}

int pg__txn_report_update(store_txn *t, const store_report *r)
{
    pg_params p;
    int64_t changes;
    pg__p_init(&p);
    pg__p_text(&p, r->id);
    pg__p_text(&p, r->account);
    pg__p_bytes(&p, r->record.data != NULL ? r->record.data : "", r->record.len);
    pg__p_text(&p, r->client_reference_id);
    int rc = pg__txn_query(t,
                           "UPDATE reports SET body = $3, client_reference_id = $4"
                           " WHERE id = $1 AND account = $2",
                           &p, NULL, &changes, "report update");
    return rc == 0 && changes == 0 ? STORE_NOT_FOUND : rc;
}

int pg__txn_session_reports(store_txn *t, const char *account, const char *session_id, arena *a,
                            store_report **items, size_t *n)
{
    pg_params p;
    PGresult *res;
    *items = NULL;
    *n = 0;
    pg__p_init(&p);
    pg__p_text(&p, account);
    pg__p_text(&p, session_id);
    int rc = pg__txn_query(t,
                           "SELECT id, body FROM reports"
                           " WHERE account = $1 AND verification_session = $2 ORDER BY seq",
                           &p, &res, NULL, "session reports");
    if (rc != 0) return rc;
    int rows = PQntuples(res);
    store_report *v = arena_alloc(a, (size_t)(rows > 0 ? rows : 1) * sizeof *v);
    for (int i = 0; i < rows; i++)
        v[i] = (store_report){.id = pg__col_text(res, i, 0, a),
                              .account = account,
                              .verification_session = session_id,
                              .record = pg__col_record(res, i, 1, a)};
    PQclear(res);
    *items = v;
    *n = (size_t)rows;
    return 0;
}

static const char *const report_filters[] = {"type", "client_reference_id", "verification_session"};

static const pg__list_desc report_list_desc = {
    .table = "reports",
    .columns = "body",
    .filters = report_filters,
    .n_filters = 3,
    .item_size = sizeof(store_record),
    .decode = pg__list_record,
    .what = "report list",
};

int pg__report_list(store *base, const store_report_query *q, arena *a, store_record **items,
                    size_t *n, int *has_more)
{
    const pg__list_query lq = {
        .account = q->account,
        .arg = {pg__list_int(q->has_type, q->type), pg__list_text(q->client_reference_id),
                pg__list_text(q->verification_session)},
        .created = &q->created,
        .starting_after = q->starting_after,
        .ending_before = q->ending_before,
        .limit = q->limit,
    };
    void *v;
    int rc = pg__list_page(pg__store(base), &report_list_desc, &lq, a, &v, n, has_more);
    *items = v;
    return rc;
}
