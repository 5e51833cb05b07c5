/*
 * writer: the writer thread, its job queue and its group commit on PostgreSQL. One thread owns
 * the read-write connection; it takes every job that is waiting (up to PG__MAX_BATCH), runs each
 * inside its own SAVEPOINT of one transaction, and calls the jobs' done callbacks only after
 * COMMIT has returned, that is once the server has made the commit durable as it is configured
 * (synchronous_commit). Concurrent requests therefore share one commit and one WAL flush instead
 * of paying one each (the model is store/sqlite/writer.c).
 *
 * Not for: several writer processes' coordination (each process has its own writer; the
 * database's row locks and constraints keep them apart).
 */
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"
#include "store/postgres/internal.h"

int pg__txn_query(store_txn *t, const char *sql, const pg_params *p, PGresult **out,
                  int64_t *changes, const char *what)
{
    return pg__query(&pg__txn_store(t)->w, sql, p, out, changes, what);
}

/*
 * One group commit. A job that returns non-zero is rolled back to its savepoint alone and its
 * batch-mates still commit; so is a job that returns 0 after one of its statements failed (the
 * server has aborted the transaction up to the savepoint: what it wrote is not all there, so it
 * gets STORE_EIO). If BEGIN, a savepoint or COMMIT fails, or the connection is lost, nothing of
 * the batch is committed and every job is told STORE_EIO; the connection is reset on the next
 * batch.
 *
 * As on every database, one case stays ambiguous: the connection lost after COMMIT was sent.
 * The jobs are told STORE_EIO although the commit may have happened; an acknowledged write is
 * still never lost.
 */
static void run_batch(pg_store *st, pg_job *first)
{
    store_txn *t = &st->txn.base;
    PGconn *conn = st->w.conn;
    int rc = pg__conn_ready(&st->w);
    if (rc != 0) goto failed;
    conn = st->w.conn;
    rc = pg__exec(&st->w, "BEGIN; SAVEPOINT job", "begin");
    /* A connection that died while idle (server restart, idle timeout) is found out only here;
     * nothing of the batch ran yet, so it is reset and the batch tried once more. */
    if (rc != 0 && PQstatus(conn) != CONNECTION_OK && pg__conn_ready(&st->w) == 0)
        rc = pg__exec(&st->w, "BEGIN; SAVEPOINT job", "begin");
    if (rc != 0) goto failed;
    for (pg_job *j = first; j != NULL; j = j->next) {
        if (j != first) {
            rc = pg__exec(&st->w, "RELEASE SAVEPOINT job; SAVEPOINT job", "savepoint");
            if (rc != 0) goto failed;
        }
        size_t mark = store__txn_mark(t);
        int dirty = st->outbox_dirty;
        j->rc = j->fn(t, j->ctx);
        PGTransactionStatusType ts = PQtransactionStatus(conn);
        if (ts != PQTRANS_INTRANS && ts != PQTRANS_INERROR) {
            fprintf(stderr, "verifyd: store: postgres writer: the connection was lost in a "
                            "batch\n");
            goto failed;
        }
        if (j->rc == 0 && ts == PQTRANS_INERROR) j->rc = STORE_EIO;
        if (j->rc != 0) {
            st->outbox_dirty = dirty; /* its deliveries are undone with it */
            store__txn_rollback_to(t, mark);
            rc = pg__exec(&st->w, "ROLLBACK TO SAVEPOINT job", "rollback to savepoint");
            if (rc != 0) goto failed;
        }
    }
    if (PQtransactionStatus(conn) != PQTRANS_INTRANS) goto failed;
    rc = pg__exec(&st->w, "COMMIT", "commit");
    if (rc != 0) goto failed;
    store__txn_end(t, 1);
    if (st->outbox_dirty) { /* wake the delivery worker first */
        st->outbox_dirty = 0;
        pthread_mutex_lock(&st->qmu);
        store_outbox_hook hook = st->outbox_hook;
        void *hook_ctx = st->outbox_ctx;
        pthread_mutex_unlock(&st->qmu);
        if (hook != NULL) hook(hook_ctx);
    }
    for (pg_job *j = first; j != NULL; j = j->next)
        if (j->done != NULL) j->done(j->ctx, j->rc);
    return;

failed:
    store__txn_end(t, 0);
    st->outbox_dirty = 0;
    if (conn != NULL && PQstatus(conn) == CONNECTION_OK &&
        PQtransactionStatus(conn) != PQTRANS_IDLE)
        pg__exec(&st->w, "ROLLBACK", "rollback");
    for (pg_job *j = first; j != NULL; j = j->next)
        if (j->done != NULL) j->done(j->ctx, STORE_EIO);
}

void *pg__writer_main(void *arg)
{
    pg_store *st = arg;
    for (;;) {
        pthread_mutex_lock(&st->qmu);
        while (st->qhead == NULL && !st->stopping)
            pthread_cond_wait(&st->qcv, &st->qmu);
        if (st->qhead == NULL) { /* stopping, and the queue is drained */
            pthread_mutex_unlock(&st->qmu);
            break;
        }
        pg_job *first = st->qhead, *last = first;
        int n = 1;
        for (; last->next != NULL && n < PG__MAX_BATCH; n++)
            last = last->next;
        st->queued -= n;
        st->last_batch = n;
        st->qhead = last->next;
        if (st->qhead == NULL) st->qtail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&st->qmu);

        run_batch(st, first);
        while (first != NULL) {
            pg_job *next = first->next;
            free(first);
            first = next;
        }
    }
    return NULL;
}

void pg__submit(store *base, store_job_fn fn, store_done_fn done, void *ctx)
{
    pg_store *st = pg__store(base);
    pg_job *j = xmalloc(sizeof *j);
    *j = (pg_job){.fn = fn, .done = done, .ctx = ctx, .rc = 0, .next = NULL};
    pthread_mutex_lock(&st->qmu);
    if (st->qtail != NULL)
        st->qtail->next = j;
    else
        st->qhead = j;
    st->qtail = j;
    st->queued++;
    pthread_cond_signal(&st->qcv);
    pthread_mutex_unlock(&st->qmu);
}

void pg__writer_stop(pg_store *st)
{
    if (!st->writer_started) return;
    pthread_mutex_lock(&st->qmu);
    st->stopping = 1;
    pthread_cond_signal(&st->qcv);
    pthread_mutex_unlock(&st->qmu);
    pthread_join(st->writer, NULL);
    st->writer_started = 0;
}

/* As store/sqlite/writer.c: a few jobs in the last batch or in the queue means the writer is
 * kept busy by concurrent requests. */
#define BUSY_JOBS 4

int pg__busy(store *base)
{
    pg_store *st = pg__store(base);
    pthread_mutex_lock(&st->qmu);
    int busy = st->queued >= BUSY_JOBS || st->last_batch >= BUSY_JOBS;
    pthread_mutex_unlock(&st->qmu);
    return busy;
}

void pg__set_outbox_hook(store *base, store_outbox_hook fn, void *ctx)
{
    pg_store *st = pg__store(base);
    pthread_mutex_lock(&st->qmu);
    st->outbox_hook = fn;
    st->outbox_ctx = ctx;
    pthread_mutex_unlock(&st->qmu);
}
