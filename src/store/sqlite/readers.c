/*
 * readers: every thread but the writer reads through its own read-only connection, opened on
 * first use and kept under a pthread key (with a destructor) plus a registry, so that store_close
 * can close them all. In WAL mode a reader never waits for the writer.
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"
#include "store/sqlite/internal.h"

void sqlite__conn_finalize(sq_conn *c)
{
    for (int i = 0; i < SQ_COUNT; i++) {
        sqlite3_finalize(c->stmt[i]);
        c->stmt[i] = NULL;
    }
    for (int k = 0; k < LIST_KINDS; k++) {
        sqlite3_finalize(c->list[k].cursor);
        for (size_t i = 0; i < c->list[k].n_page; i++)
            sqlite3_finalize(c->list[k].page[i]);
        free(c->list[k].page);
        c->list[k] = (sqlite__list_stmts){0};
    }
}

static void reader_free(sq_conn *r)
{
    sqlite__conn_finalize(r);
    if (sqlite3_close(r->db) != SQLITE_OK) sqlite__fail(r->db, "close reader");
    free(r);
}

void sqlite__reader_release(void *p)
{
    sq_conn *r = p;
    sq_store *st = r->st;
    pthread_mutex_lock(&st->rmu);
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        st->readers = r->next;
    if (r->next != NULL) r->next->prev = r->prev;
    pthread_mutex_unlock(&st->rmu);
    reader_free(r);
}

void sqlite__readers_close(sq_store *st)
{
    pthread_mutex_lock(&st->rmu);
    while (st->readers != NULL) {
        sq_conn *r = st->readers;
        st->readers = r->next;
        reader_free(r);
    }
    pthread_mutex_unlock(&st->rmu);
}

sq_conn *sqlite__reader(sq_store *st)
{
    sq_conn *r = pthread_getspecific(st->rkey);
    if (r != NULL) return r;

    const char *errmsg = NULL;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(st->path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, sqlite__vfs()) !=
            SQLITE_OK ||
        sqlite__configure(st, db, 0, &errmsg) != 0) {
        sqlite__fail(db, "open reader");
        sqlite3_close(db);
        return NULL;
    }
    r = xcalloc(1, sizeof *r);
    r->st = st;
    r->db = db;
    pthread_mutex_lock(&st->rmu);
    r->next = st->readers;
    if (r->next != NULL) r->next->prev = r;
    st->readers = r;
    pthread_mutex_unlock(&st->rmu);
    if (pthread_setspecific(st->rkey, r) != 0) {
        fprintf(stderr, "verifyd: store: cannot keep a per-thread connection\n");
        sqlite__reader_release(r);
        return NULL;
    }
    return r;
}
