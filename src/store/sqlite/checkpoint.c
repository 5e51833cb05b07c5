/*
 * checkpoint: copies the WAL back into the database file on its own thread and connection, so
 * that this I/O never sits in a commit's path (the writer's automatic checkpoint is off). The
 * writer's WAL hook asks for a checkpoint. sqlite__scrub has it copy the WAL first, so that
 * the writer, which then empties the WAL (writer.c), has little left to copy.
 */
#include "store/sqlite/internal.h"

/* WAL pages (2 KiB) after which the writer asks the checkpointer for a checkpoint (32 MiB),
 * and after which it checkpoints and restarts the WAL itself (128 MiB: a PASSIVE checkpoint
 * running beside a busy writer never catches up, so without this the WAL would grow without
 * bound). Appends rewrite the same tail pages commit after commit; the longer the interval,
 * the more of those versions a checkpoint skips (measured: ~9% more creates/s than 8/64 MiB). */
#define CKPT_PAGES 16384
#define CKPT_RESTART_PAGES 65536

/* Called by SQLite on the writer thread after each commit, with the WAL's size in pages. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)name;
    sq_store *st = arg;
    if (pages >= CKPT_RESTART_PAGES) {
        /* Most frames are already copied by the checkpointer; this copies the rest and makes
         * the next transaction write from the start of the WAL again. */
        int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY) sqlite__fail(db, "checkpoint (restart)");
        return SQLITE_OK;
    }
    if (pages >= CKPT_PAGES) {
        pthread_mutex_lock(&st->cmu);
        st->ckpt_wanted = 1;
        pthread_cond_signal(&st->ccv);
        pthread_mutex_unlock(&st->cmu);
    }
    return SQLITE_OK;
}

/* A PASSIVE checkpoint never blocks the writer or readers; it copies what it can and the WAL
 * restarts from its beginning once everything has been copied. A scrub request is handed on to
 * the writer after it. */
static void *ckpt_main(void *arg)
{
    sq_store *st = arg;
    pthread_mutex_lock(&st->cmu);
    for (;;) {
        while (!st->ckpt_wanted && st->scrub_handed == st->scrub_asked && !st->ckpt_stopping)
            pthread_cond_wait(&st->ccv, &st->cmu);
        if (st->ckpt_stopping) break;
        uint64_t asked = st->scrub_asked;
        int scrub = asked != st->scrub_handed;
        st->scrub_handed = asked;
        st->ckpt_wanted = 0;
        pthread_mutex_unlock(&st->cmu);
        int rc = sqlite3_wal_checkpoint_v2(st->cdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY) sqlite__fail(st->cdb, "checkpoint");
        if (scrub) sqlite__writer_truncate(st, asked);
        pthread_mutex_lock(&st->cmu);
    }
    pthread_mutex_unlock(&st->cmu);
    return NULL;
}

int sqlite__scrub(store *base)
{
    sq_store *st = sqlite__store(base);
    pthread_mutex_lock(&st->cmu);
    uint64_t ticket = ++st->scrub_asked;
    pthread_cond_signal(&st->ccv);
    while (st->ckpt_started && !st->ckpt_stopping && st->scrub_done < ticket)
        pthread_cond_wait(&st->scv, &st->cmu);
    int rc = st->scrub_done >= ticket ? st->scrub_rc : STORE_EIO;
    pthread_mutex_unlock(&st->cmu);
    return rc;
}

void sqlite__scrub_served(sq_store *st, uint64_t ticket, int rc)
{
    pthread_mutex_lock(&st->cmu);
    if (ticket > st->scrub_done) {
        st->scrub_done = ticket;
        st->scrub_rc = rc;
    }
    pthread_cond_broadcast(&st->scv);
    pthread_mutex_unlock(&st->cmu);
}

/* Open the checkpointer's connection and start its thread; the writer's own automatic
 * checkpoints are turned off once it runs. 0 or STORE_EIO with *errmsg. */
int sqlite__ckpt_start(sq_store *st, const char **errmsg)
{
    if (sqlite3_open_v2(st->path, &st->cdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        sqlite__vfs()) != SQLITE_OK) {
        sqlite__fail(st->cdb, "open checkpointer");
        *errmsg = "cannot open the checkpointer's connection";
        return STORE_EIO;
    }
    sqlite3_busy_timeout(st->cdb, SQLITE__BUSY_TIMEOUT_MS);
    /* A connection learns that the file is in WAL mode by reading it once; until then a
     * checkpoint request on it does nothing. */
    if (sqlite3_exec(st->cdb, "PRAGMA schema_version", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite__fail(st->cdb, "checkpointer read");
        *errmsg = "cannot read the database from the checkpointer's connection";
        return STORE_EIO;
    }
    if (pthread_create(&st->ckpt, NULL, ckpt_main, st) != 0) {
        *errmsg = "cannot start the checkpointer thread";
        return STORE_EIO;
    }
    st->ckpt_started = 1;
    sqlite3_wal_autocheckpoint(st->w.db, 0);
    sqlite3_wal_hook(st->w.db, wal_hook, st);
    return 0;
}

void sqlite__ckpt_stop(sq_store *st)
{
    if (st->ckpt_started) {
        pthread_mutex_lock(&st->cmu);
        st->ckpt_stopping = 1;
        pthread_cond_signal(&st->ccv);
        pthread_cond_broadcast(&st->scv);
        pthread_mutex_unlock(&st->cmu);
        pthread_join(st->ckpt, NULL);
        st->ckpt_started = 0;
    }
    if (st->cdb != NULL && sqlite3_close(st->cdb) != SQLITE_OK) sqlite__fail(st->cdb, "close");
    st->cdb = NULL;
}
