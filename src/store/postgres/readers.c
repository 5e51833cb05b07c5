/*
 * readers: the pool of read connections. A read borrows one connection for one statement and
 * gives it back, so any thread may read and a handful of connections serve them all; every
 * statement runs in its own implicit transaction and so sees every commit acknowledged before it
 * began (store.h: reads follow the done callbacks, on every process).
 */
#include <string.h>

#include "store/postgres/internal.h"

int pg__readers_open(pg_store *st, const char **errmsg)
{
    for (int i = 0; i < PG__READERS; i++) {
        int rc = pg__connect(st->url, &st->r[i], "reader", errmsg);
        if (rc != 0) return rc;
    }
    return 0;
}

void pg__readers_close(pg_store *st)
{
    for (int i = 0; i < PG__READERS; i++)
        pg__disconnect(&st->r[i]);
}

int pg__read(pg_store *st, const char *sql, const pg_params *p, PGresult **out, const char *what)
{
    pthread_mutex_lock(&st->rmu);
    int i;
    for (;;) {
        for (i = 0; i < PG__READERS && st->r_busy[i]; i++)
            ;
        if (i < PG__READERS) break;
        pthread_cond_wait(&st->rcv, &st->rmu);
    }
    st->r_busy[i] = 1;
    pthread_mutex_unlock(&st->rmu);

    int rc = pg__conn_ready(&st->r[i]);
    if (rc == 0) rc = pg__query(&st->r[i], sql, p, out, NULL, what);
    /* A read changes nothing, so one that failed because the connection had died meanwhile is
     * tried once more on a fresh one. */
    if (rc == STORE_EIO && PQstatus(st->r[i].conn) != CONNECTION_OK &&
        pg__conn_ready(&st->r[i]) == 0)
        rc = pg__query(&st->r[i], sql, p, out, NULL, what);

    pthread_mutex_lock(&st->rmu);
    st->r_busy[i] = 0;
    pthread_cond_signal(&st->rcv);
    pthread_mutex_unlock(&st->rmu);
    return rc;
}

int pg__record_read(pg_store *st, pg_conn *c, const char *sql, const pg_params *p, arena *a,
                    const char *what, store_record *out)
{
    PGresult *res;
    int rc = c != NULL ? pg__query(c, sql, p, &res, NULL, what) : pg__read(st, sql, p, &res, what);
    if (rc != 0) return rc;
    if (PQntuples(res) == 0) {
        rc = STORE_NOT_FOUND;
    } else {
        *out = pg__col_record(res, 0, 0, a);
    }
    PQclear(res);
    return rc;
}

int pg__due_refs(pg_store *st, const char *sql, int64_t now_ms, size_t max, arena *a,
                 const char ***accounts, const char ***ids, size_t *n, const char *what)
{
    PGresult *res;
    pg_params p;
    *accounts = NULL;
    *ids = NULL;
    *n = 0;
    if (max == 0) return 0;
    pg__p_init(&p);
    pg__p_int(&p, now_ms);
    pg__p_int(&p, max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max);
    int rc = pg__read(st, sql, &p, &res, what);
    if (rc != 0) return rc;
    int rows = PQntuples(res);
    const char **acc = arena_alloc(a, (size_t)(rows > 0 ? rows : 1) * sizeof *acc);
    const char **id = arena_alloc(a, (size_t)(rows > 0 ? rows : 1) * sizeof *id);
    for (int i = 0; i < rows; i++) {
        acc[i] = pg__col_text(res, i, 0, a);
        id[i] = pg__col_text(res, i, 1, a);
    }
    PQclear(res);
    *accounts = acc;
    *ids = id;
    *n = (size_t)rows;
    return 0;
}
