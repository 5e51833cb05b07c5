/*
 * writer: the writer thread, its job queue and its group commit. One thread owns the only
 * read-write connection; it takes every job that is waiting (up to max_batch), runs each inside
 * its own SAVEPOINT of one BEGIN IMMEDIATE transaction, and calls the jobs' done callbacks only
 * after COMMIT has returned, that is after the WAL was fsynced. Concurrent writers therefore
 * share fsyncs instead of queueing one fsync each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "base/metrics.h"
#include "base/util.h"
#include "store/sqlite/internal.h"

/*
 * One group commit. Each job gets its own savepoint, so a job that fails (returns non-zero) is
 * undone alone and its batch-mates still commit. done callbacks run only after COMMIT returned:
 * in WAL mode with synchronous=FULL that means the WAL, commit frame included, is fsynced. If
 * BEGIN, a savepoint or COMMIT fails, or an error made SQLite roll the whole transaction back,
 * nothing of the batch is committed and every job is told STORE_EIO.
 *
 * One case stays ambiguous, as in every database: COMMIT reporting an I/O error after the commit
 * frame reached the disk. The jobs are then told STORE_EIO although their rows may reappear after
 * a restart; an acknowledged write is still never lost.
 */

/* 1 when fd is still the file at path: not deleted, not replaced by another (an fd of -1 is
 * not checked). */
static int same_file(int fd, const char *path)
{
    struct stat open_st, path_st;
    if (fd < 0) return 1;
    if (fstat(fd, &open_st) != 0 || open_st.st_nlink == 0 || stat(path, &path_st) != 0) return 0;
    return open_st.st_dev == path_st.st_dev && open_st.st_ino == path_st.st_ino;
}

/* The database file and its WAL are still the files at their paths. A commit to a deleted file
 * would answer 200 and be gone at the next start, so from the first time they are not, the
 * store acknowledges no write (STORE_UNAVAILABLE) until it is reopened. */
static int files_in_place(sq_store *st)
{
    if (st->files_gone) return 0;
    if (same_file(st->db_fd, st->path) && same_file(st->wal_fd, st->wal_path)) return 1;
    st->files_gone = 1;
    fprintf(stderr,
            "verifyd: store: %s or its -wal file was deleted or replaced while verifyd was "
            "running; no write is accepted any more (503) until verifyd is restarted\n",
            st->path);
    return 0;
}

static void run_batch(sq_store *st, sq_job *first)
{
    store_txn *t = &st->txn.base;
    int fail_rc = STORE_EIO;
    if (st->files_gone) goto gone;
    int rc = sqlite__writer_exec(st, SQ_BEGIN);
    if (rc != 0) goto failed;
    sqlite__ids_round_begin(st);
    for (sq_job *j = first; j != NULL; j = j->next) {
        rc = sqlite__writer_exec(st, SQ_SAVEPOINT);
        if (rc != 0) goto failed;
        size_t mark = store__txn_mark(t), ids_mark = sqlite__ids_mark(st);
        int dirty = st->outbox_dirty;
        j->rc = j->fn(t, j->ctx);
        if (sqlite3_get_autocommit(st->w.db)) {
            fprintf(stderr, "verifyd: store: a database error rolled back a whole batch\n");
            goto failed;
        }
        if (j->rc != 0) {
            st->outbox_dirty = dirty; /* its deliveries are undone with it */
            store__txn_rollback_to(t, mark);
            sqlite__ids_rollback_to(st, ids_mark);
            rc = sqlite__writer_exec(st, SQ_ROLLBACK_TO);
            if (rc != 0) goto failed;
        }
        rc = sqlite__writer_exec(st, SQ_RELEASE);
        if (rc != 0) goto failed;
    }
    sqlite__ids_merge_step(st);
    rc = sqlite__writer_exec(st, SQ_COMMIT);
    if (rc != 0) goto failed;
    /* Deleted before or while the commit ran: committed to a file that will not be there. */
    if (!files_in_place(st)) goto gone;
    sqlite__ids_merge_committed(st);
    st->writer_failed = 0;
    st->n_inserted = 0; /* committed: the inserts stay in the map until merged */
    store__txn_end(t, 1);
    if (st->outbox_dirty) { /* wake the delivery worker first */
        st->outbox_dirty = 0;
        pthread_mutex_lock(&st->qmu);
        store_outbox_hook hook = st->outbox_hook;
        void *hook_ctx = st->outbox_ctx;
        pthread_mutex_unlock(&st->qmu);
        if (hook != NULL) hook(hook_ctx);
    }
    for (sq_job *j = first; j != NULL; j = j->next)
        if (j->done != NULL) j->done(j->ctx, j->rc);
    return;

gone:
    fail_rc = STORE_UNAVAILABLE;
failed:
    st->writer_failed = fail_rc == STORE_UNAVAILABLE ? 2 : 1;
    store__txn_end(t, 0);
    sqlite__ids_rollback_to(st, 0);
    st->outbox_dirty = 0;
    if (!sqlite3_get_autocommit(st->w.db)) sqlite__writer_exec(st, SQ_ROLLBACK);
    for (sq_job *j = first; j != NULL; j = j->next)
        if (j->done != NULL) j->done(j->ctx, fail_rc);
}

/* Tries at a TRUNCATE checkpoint, each waiting up to the busy timeout for readers on older
 * snapshots or a checkpoint in progress. */
#define TRUNCATE_TRIES 5

/* Empty the WAL for a scrub (checkpoint.c has already copied most of it): copy the rest, sync
 * the database file and truncate the WAL to zero bytes, so that the old versions of the pages a
 * redaction rewrote exist nowhere (the database file holds only the new ones, and secure_delete
 * zeroed the space they freed). On the writer's own connection between two batches, so it
 * never waits for a commit; the next batch waits only while it copies what was left. */
static void truncate_wal(sq_store *st, uint64_t ticket)
{
    int rc = STORE_EIO;
    for (int i = 0; i < TRUNCATE_TRIES && rc != 0; i++) {
        int src = sqlite3_wal_checkpoint_v2(st->w.db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        if (src == SQLITE_OK) rc = 0;
        if (src != SQLITE_OK && src != SQLITE_BUSY) break;
    }
    if (rc != 0) sqlite__fail(st->w.db, "checkpoint (truncate)");
    sqlite__scrub_served(st, ticket, rc);
}

void sqlite__writer_truncate(sq_store *st, uint64_t ticket)
{
    pthread_mutex_lock(&st->qmu);
    if (ticket > st->truncate_asked) st->truncate_asked = ticket;
    pthread_cond_signal(&st->qcv);
    pthread_mutex_unlock(&st->qmu);
}

void *sqlite__writer_main(void *arg)
{
    sq_store *st = arg;
    for (;;) {
        pthread_mutex_lock(&st->qmu);
        while (st->qhead == NULL && !st->stopping && st->truncate_asked == st->truncate_done)
            pthread_cond_wait(&st->qcv, &st->qmu);
        if (st->truncate_asked != st->truncate_done) {
            uint64_t ticket = st->truncate_done = st->truncate_asked;
            pthread_mutex_unlock(&st->qmu);
            truncate_wal(st, ticket);
            continue;
        }
        if (st->qhead == NULL) { /* stopping, and the queue is drained */
            pthread_mutex_unlock(&st->qmu);
            break;
        }
        /* Take every waiting job, up to max_batch, as one chain. */
        sq_job *first = st->qhead, *last = first;
        int n = 1;
        for (; last->next != NULL && n < st->max_batch; n++)
            last = last->next;
        st->queued -= n;
        st->last_batch = n;
        metrics_batch(n);
        st->qhead = last->next;
        if (st->qhead == NULL) st->qtail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&st->qmu);

        run_batch(st, first);
        while (first != NULL) {
            sq_job *next = first->next;
            free(first);
            first = next;
        }
    }
    return NULL;
}

void sqlite__submit(store *base, store_job_fn fn, store_done_fn done, void *ctx)
{
    sq_store *st = sqlite__store(base);
    sq_job *j = xmalloc(sizeof *j);
    *j = (sq_job){.fn = fn, .done = done, .ctx = ctx, .rc = 0, .next = NULL};
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

void sqlite__writer_stop(sq_store *st)
{
    if (!st->writer_started) return;
    pthread_mutex_lock(&st->qmu);
    st->stopping = 1;
    pthread_cond_signal(&st->qcv);
    pthread_mutex_unlock(&st->qmu);
    pthread_join(st->writer, NULL);
    st->writer_started = 0;
}

/* Concurrent requests make batches: a few jobs in the last batch or in the queue means the
 * writer is kept busy, while a lone request (or a delivery's own outcome) never counts. */
#define BUSY_JOBS 4

int sqlite__busy(store *base)
{
    sq_store *st = sqlite__store(base);
    pthread_mutex_lock(&st->qmu);
    int busy = st->queued >= BUSY_JOBS || st->last_batch >= BUSY_JOBS;
    pthread_mutex_unlock(&st->qmu);
    return busy;
}

void sqlite__set_outbox_hook(store *base, store_outbox_hook fn, void *ctx)
{
    sq_store *st = sqlite__store(base);
    pthread_mutex_lock(&st->qmu);
    st->outbox_hook = fn;
    st->outbox_ctx = ctx;
    pthread_mutex_unlock(&st->qmu);
}
