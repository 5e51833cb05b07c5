/*
 * lists: the one page engine behind the session, report and event lists on PostgreSQL, with the
 * paging contract of store.h: the rows of one account, narrowed by equality filters and the
 * created interval, newest first (created DESC, seq DESC), one page after or before a cursor row.
 * Each list's indexes are (account, filter, created, seq), so a page is one index range scan.
 * The statement is built per call with its parameters ($1 the account, then each term's).
 */
#include <stdio.h>

#include "base/util.h"
#include "store/postgres/internal.h"

pg__list_arg pg__list_text(const char *s)
{
    return (pg__list_arg){.on = s != NULL, .text = s};
}

pg__list_arg pg__list_int(int on, int64_t v)
{
    return (pg__list_arg){.on = on, .num = v};
}

/* Fold the created filters into one closed interval, as store/sqlite/lists.c does (created is an
 * integer: gt x is gte x + 1). 0 if the interval is empty, 1 otherwise. */
static int created_interval(const store_range *r, int *has_lo, int64_t *lo, int *has_hi,
                            int64_t *hi)
{
    *lo = INT64_MIN;
    *hi = INT64_MAX;
    if (r->has_eq) *lo = *hi = r->eq;
    if (r->has_gte && r->gte > *lo) *lo = r->gte;
    if (r->has_gt) {
        if (r->gt == INT64_MAX) return 0;
        if (r->gt + 1 > *lo) *lo = r->gt + 1;
    }
    if (r->has_lte && r->lte < *hi) *hi = r->lte;
    if (r->has_lt) {
        if (r->lt == INT64_MIN) return 0;
        if (r->lt - 1 < *hi) *hi = r->lt - 1;
    }
    *has_lo = r->has_eq || r->has_gte || r->has_gt;
    *has_hi = r->has_eq || r->has_lte || r->has_lt;
    return *lo <= *hi;
}

/* Position (created, seq) of row id in account: 0, STORE_CURSOR (no such row) or STORE_EIO. */
static int cursor_position(pg_store *st, const pg__list_desc *d, const char *account,
                           const char *id, int64_t *created, int64_t *seq)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT created, seq FROM %s WHERE id = $1 AND account = $2",
             d->table);
    pg_params p;
    pg__p_init(&p);
    pg__p_text(&p, id);
    pg__p_text(&p, account);
    PGresult *res;
    int rc = pg__read(st, sql, &p, &res, "list cursor");
    if (rc != 0) return rc;
    if (PQntuples(res) == 0) {
        rc = STORE_CURSOR;
    } else {
        *created = pg__col_int(res, 0, 0);
        *seq = pg__col_int(res, 0, 1);
    }
    PQclear(res);
    return rc;
}

/* Swap the n items of size bytes at v end for end. */
static void reverse_items(unsigned char *v, size_t n, size_t size)
{
    if (n < 2) return;
    for (unsigned char *lo = v, *hi = v + (n - 1) * size; lo < hi; lo += size, hi -= size) {
        for (size_t b = 0; b < size; b++) {
            unsigned char t = lo[b];
            lo[b] = hi[b];
            hi[b] = t;
        }
    }
}

int pg__list_page(pg_store *st, const pg__list_desc *d, const pg__list_query *q, arena *a,
                  void **items, size_t *n, int *has_more)
{
    int64_t cur_created = 0, cur_seq = 0;
    int rc;
    *items = NULL;
    *n = 0;
    *has_more = 0;
    if (q->starting_after != NULL && q->ending_before != NULL) return STORE_CURSOR;
    const char *cursor = q->starting_after != NULL ? q->starting_after : q->ending_before;
    if (cursor != NULL) {
        rc = cursor_position(st, d, q->account, cursor, &cur_created, &cur_seq);
        if (rc != 0) return rc;
    }
    int has_lo, has_hi;
    int64_t lo, hi;
    if (!created_interval(q->created, &has_lo, &lo, &has_hi, &hi)) return 0;
    int limit = q->limit < 1 ? 1 : q->limit > PG__LIST_LIMIT_MAX ? PG__LIST_LIMIT_MAX : q->limit;

    pg_params p;
    buf sql;
    pg__p_init(&p);
    buf_init(&sql, a);
    buf_printf(&sql, "SELECT %s FROM %s WHERE account = $1", d->columns, d->table);
    pg__p_text(&p, q->account);
    for (int i = 0; i < d->n_filters; i++) {
        const pg__list_arg *v = &q->arg[i];
        if (!v->on) continue;
        if (v->text != NULL)
            pg__p_text(&p, v->text);
        else
            pg__p_int(&p, v->num);
        buf_printf(&sql, " AND %s = $%d", d->filters[i], p.n);
    }
    if (d->extra_sql != NULL) d->extra_sql(q->own, &sql, &p, a);
    if (has_lo) {
        pg__p_int(&p, lo);
        buf_printf(&sql, " AND created >= $%d", p.n);
    }
    if (has_hi) {
        pg__p_int(&p, hi);
        buf_printf(&sql, " AND created <= $%d", p.n);
    }
    if (cursor != NULL) {
        pg__p_int(&p, cur_created);
        pg__p_int(&p, cur_seq);
        /* A row comparison keeps the cursor a range on the index's (created, seq) tail. */
        buf_printf(&sql, " AND (created, seq) %s ($%d, $%d)", q->starting_after ? "<" : ">",
                   p.n - 1, p.n);
    }
    buf_puts(&sql, q->ending_before != NULL ? " ORDER BY created ASC, seq ASC"
                                            : " ORDER BY created DESC, seq DESC");
    /* One row more than the page tells whether there is more beyond it. */
    pg__p_int(&p, limit + 1);
    buf_printf(&sql, " LIMIT $%d", p.n);

    PGresult *res;
    rc = pg__read(st, sql.data, &p, &res, d->what);
    if (rc != 0) return rc;
    int rows = PQntuples(res);
    size_t count = rows > limit ? (size_t)limit : (size_t)rows;
    unsigned char *v = arena_alloc(a, (size_t)limit * d->item_size);
    for (size_t i = 0; i < count; i++)
        d->decode(res, (int)i, a, v + i * d->item_size);
    PQclear(res);
    /* ending_before walked upwards from the cursor; a page is always shown newest first. */
    if (q->ending_before != NULL) reverse_items(v, count, d->item_size);
    *items = v;
    *n = count;
    *has_more = rows > limit;
    return 0;
}

void pg__list_record(const PGresult *res, int row, arena *a, void *item)
{
    *(store_record *)item = pg__col_record(res, row, 0, a);
}
