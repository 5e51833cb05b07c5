/*
 * lists: the one page engine behind the session, report and event lists.
 *
 * Every list is the same query over its own table: the rows of one account, optionally narrowed
 * by equality filters and the created interval, newest first (created DESC, seq DESC), one page
 * after or before a cursor row. A list_desc says what differs; list_page does the rest.
 *
 * A statement is keyed by a mask: bit i is the list's filters[i], and the four bits above them
 * are (in LB_* order) the two ends of the created interval and the two cursors. Each list's
 * indexes are (account, filter, created, seq), so every combination is one index range scan in
 * the asked order. A filter is written `column = :param` even where the column is nullable:
 * the partial indexes on those columns (WHERE column IS NOT NULL) are usable only with it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"
#include "store/sqlite/internal.h"

static unsigned list_bit(const sqlite__list_desc *d, int lb)
{
    return 1u << (d->n_filters + lb);
}

sqlite__list_arg sqlite__list_text(const char *s)
{
    return (sqlite__list_arg){.on = s != NULL, .text = s};
}

sqlite__list_arg sqlite__list_int(int on, int64_t v)
{
    return (sqlite__list_arg){.on = on, .num = v};
}

/* The SQL of d's page statement for mask (and own, if d has extra terms), appended to out. */
void sqlite__list_sql(const sqlite__list_desc *d, unsigned mask, const void *own, buf *out)
{
    buf_puts(out, d->select);
    buf_puts(out, " WHERE account = :account");
    for (int i = 0; i < d->n_filters; i++)
        if (mask & (1u << i))
            buf_printf(out, " AND %s = %s", d->filters[i].column, d->filters[i].param);
    if (d->extra_sql != NULL) d->extra_sql(own, out);
    if (mask & list_bit(d, LB_LO)) buf_puts(out, " AND created >= :lo");
    if (mask & list_bit(d, LB_HI)) buf_puts(out, " AND created <= :hi");
    /* Row values keep the cursor a range on the index's (created, seq) tail. */
    if (mask & list_bit(d, LB_AFTER))
        buf_puts(out, " AND (created, seq) < (:cur_created, :cur_seq)");
    if (mask & list_bit(d, LB_BEFORE))
        buf_puts(out, " AND (created, seq) > (:cur_created, :cur_seq)");
    buf_puts(out, mask & list_bit(d, LB_BEFORE) ? " ORDER BY created ASC, seq ASC"
                                                : " ORDER BY created DESC, seq DESC");
    buf_puts(out, " LIMIT :limit");
}

/*
 * Fold the created filters into one closed interval: created is an integer, so gt x is gte x + 1
 * and lt x is lte x - 1, and eq x is both ends at x. One interval gives SQLite one range on the
 * index's created column (several overlapping terms made it sort pages in a temp b-tree), and
 * cuts the statements cached per connection from 1536 combinations to 192. Returns 0 if the
 * interval is empty (nothing can match), 1 otherwise.
 */
static int created_interval(const store_range *r, int *has_lo, int64_t *lo, int *has_hi,
                            int64_t *hi)
{
    *has_lo = *has_hi = 0;
    *lo = INT64_MIN;
    *hi = INT64_MAX;
    if (r->has_eq) {
        *lo = *lo > r->eq ? *lo : r->eq;
        *hi = *hi < r->eq ? *hi : r->eq;
    }
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

static unsigned list_mask(const sqlite__list_desc *d, const sqlite__list_query *q, int has_lo,
                          int has_hi)
{
    unsigned m = 0;
    for (int i = 0; i < d->n_filters; i++)
        if (q->arg[i].on) m |= 1u << i;
    if (has_lo) m |= list_bit(d, LB_LO);
    if (has_hi) m |= list_bit(d, LB_HI);
    if (q->starting_after != NULL) m |= list_bit(d, LB_AFTER);
    if (q->ending_before != NULL) m |= list_bit(d, LB_BEFORE);
    return m;
}

/* Position (created, seq) of row id in account: 0, STORE_CURSOR (no such row) or STORE_EIO. */
static int cursor_position(sq_conn *r, const sqlite__list_desc *d, const char *account,
                           const char *id, int64_t *created, int64_t *seq)
{
    sqlite3_stmt *stmt;
    int rc = sqlite__prepare(r->db, &r->list[d->kind].cursor, d->cursor_sql, &stmt);
    if (rc != 0) return rc;
    int br = sqlite__bind_text(stmt, 1, id) | sqlite__bind_text(stmt, 2, account);
    if (d->cursor_seq_param != 0)
        br |= sqlite__bind_unmerged_seq(r->st, stmt, d->cursor_seq_param, id);
    if (br != SQLITE_OK) {
        rc = sqlite__fail(r->db, "bind");
        goto done;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *created = sqlite3_column_int64(stmt, 0);
        *seq = sqlite3_column_int64(stmt, 1);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = STORE_CURSOR;
    } else {
        rc = sqlite__fail(r->db, d->cursor_what);
    }
done:
    sqlite__finish(stmt);
    return rc;
}

/* d's page statement for mask into *out: the reader's cached one (prepared on first use; the
 * caller finishes it), or for a list with extra terms one prepared for this call alone (the
 * caller finalizes it). 0 or STORE_EIO. */
static int list_stmt(sq_conn *r, const sqlite__list_desc *d, unsigned mask, const void *own,
                     sqlite3_stmt **out)
{
    sqlite__list_stmts *ls = &r->list[d->kind];
    int rc = 0;
    buf sql;

    *out = NULL;
    if (d->extra_sql == NULL && ls->page != NULL && ls->page[mask] != NULL) {
        *out = ls->page[mask];
        return 0;
    }
    buf_init(&sql, NULL);
    sqlite__list_sql(d, mask, own, &sql);
    if (d->extra_sql != NULL) {
        if (sqlite3_prepare_v2(r->db, sql.data, -1, out, NULL) != SQLITE_OK) {
            char what[64];
            snprintf(what, sizeof what, "prepare %s", d->what);
            *out = NULL;
            rc = sqlite__fail(r->db, what);
        }
    } else {
        if (ls->page == NULL) {
            ls->n_page = (size_t)1 << (d->n_filters + LB_COUNT);
            ls->page = xcalloc(ls->n_page, sizeof *ls->page);
        }
        rc = sqlite__prepare(r->db, &ls->page[mask], sql.data, out);
    }
    buf_free(&sql);
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

/*
 * One page of list d: *items is an arena array of *n items of d->item_size bytes, newest first;
 * *has_more says whether more rows lie beyond the page in the paging direction. Returns 0,
 * STORE_CURSOR (both cursors set, or the cursor names no row of the account) or STORE_EIO; on
 * failure *items is NULL and *n is 0. An empty created interval is an empty page.
 */
int sqlite__list_page(sq_store *st, const sqlite__list_desc *d, const sqlite__list_query *q,
                      arena *a, void **items, size_t *n, int *has_more)
{
    sqlite3_stmt *stmt = NULL;
    int64_t cur_created = 0, cur_seq = 0;
    size_t count = 0;
    int rc, more = 0;

    *items = NULL;
    *n = 0;
    *has_more = 0;
    if (q->starting_after != NULL && q->ending_before != NULL) return STORE_CURSOR;
    sq_conn *r = sqlite__reader(st);
    if (r == NULL) return STORE_EIO;

    const char *cursor = q->starting_after != NULL ? q->starting_after : q->ending_before;
    if (cursor != NULL) {
        rc = cursor_position(r, d, q->account, cursor, &cur_created, &cur_seq);
        if (rc != 0) return rc;
    }

    int has_lo, has_hi;
    int64_t lo, hi;
    if (!created_interval(q->created, &has_lo, &lo, &has_hi, &hi)) return 0;
    rc = list_stmt(r, d, list_mask(d, q, has_lo, has_hi), q->own, &stmt);
    if (rc != 0) return rc;
    /* Past this point stmt is bound and must be finished (cached) or finalized (per call). */

    int limit = q->limit < 1                        ? 1
                : q->limit > SQLITE__LIST_LIMIT_MAX ? SQLITE__LIST_LIMIT_MAX
                                                    : q->limit;
    int br = sqlite__bind_named_text(stmt, ":account", q->account);
    for (int i = 0; i < d->n_filters; i++) {
        const sqlite__list_arg *v = &q->arg[i];
        if (!v->on) continue;
        br |= v->text != NULL ? sqlite__bind_named_text(stmt, d->filters[i].param, v->text)
                              : sqlite__bind_named_int64(stmt, d->filters[i].param, v->num);
    }
    if (d->extra_bind != NULL) br |= d->extra_bind(stmt, q->own, a);
    br |= sqlite__bind_named_int64(stmt, ":lo", lo);
    br |= sqlite__bind_named_int64(stmt, ":hi", hi);
    br |= sqlite__bind_named_int64(stmt, ":cur_created", cur_created);
    br |= sqlite__bind_named_int64(stmt, ":cur_seq", cur_seq);
    /* One row more than the page tells whether there is more beyond it. */
    br |= sqlite__bind_named_int64(stmt, ":limit", limit + 1);
    if (br != SQLITE_OK) {
        rc = sqlite__fail(r->db, "bind");
        goto done;
    }

    unsigned char *v = arena_alloc(a, (size_t)limit * d->item_size);
    for (;;) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) {
            rc = sqlite__fail(r->db, d->what);
            goto done;
        }
        if (count == (size_t)limit) {
            more = 1;
            break;
        }
        d->decode(stmt, a, v + count * d->item_size);
        count++;
    }
    rc = 0;
    /* ending_before walked upwards from the cursor; a page is always shown newest first. */
    if (q->ending_before != NULL) reverse_items(v, count, d->item_size);
    *items = v;
    *n = count;
    *has_more = more;
done:
    if (d->extra_sql != NULL)
        sqlite3_finalize(stmt);
    else
        sqlite__finish(stmt);
    return rc;
}

void sqlite__list_record(sqlite3_stmt *stmt, arena *a, void *item)
{
    *(store_record *)item = sqlite__col_record(stmt, 0, a);
}
