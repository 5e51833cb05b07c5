/*
 * open: opening and closing the SQLite backend, and its ops table (store/backend.h).
 *
 * Durability: every acknowledged write survives kill -9 (and, with synchronous=FULL, power loss):
 * a job's done callback runs only after its batch's COMMIT returned (writer.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "store/sqlite/internal.h"
#include "store/sqlite/wal_buffer.h"

#define DEFAULT_CACHE_BYTES (16LL << 20)
#define DEFAULT_MAX_BATCH 512

/* Undo whatever of sq_open got done: stop the writer (after it drained the queue), close the
 * readers, then the writer connection (the last close checkpoints the WAL into the file). */
static void sq_destroy(sq_store *st)
{
    sqlite__writer_stop(st);
    sqlite__ckpt_stop(st);
    sqlite__readers_close(st);
    if (st->rkey_made) {
        pthread_setspecific(st->rkey, NULL);
        pthread_key_delete(st->rkey);
    }
    sqlite__conn_finalize(&st->w);
    if (st->w.db != NULL && sqlite3_close(st->w.db) != SQLITE_OK) sqlite__fail(st->w.db, "close");
    /* Only now: closing any descriptor of the file drops the process's POSIX locks on it,
     * which SQLite's connections rely on. */
    if (st->db_fd >= 0) close(st->db_fd);
    if (st->wal_fd >= 0) close(st->wal_fd);
    store__txn_free(&st->txn.base);
    sqlite__idem_free(st);
    id_map_free(st->unmerged);
    free(st->round);
    free(st->inserted);
    pthread_cond_destroy(&st->qcv);
    pthread_mutex_destroy(&st->qmu);
    pthread_cond_destroy(&st->ccv);
    pthread_cond_destroy(&st->scv);
    pthread_mutex_destroy(&st->cmu);
    pthread_mutex_destroy(&st->rmu);
    pthread_mutex_destroy(&st->imu);
    free(st->path);
    free(st->wal_path);
    free(st);
}

/* Process-wide SQLite settings, made once before SQLite initializes. Memory statistics off:
 * with them on, every SQLite allocation in every thread takes one global mutex. */
static void sqlite_setup(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int sq_open(const store_config *cfg, store **out, const char **errmsg)
{
    static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
    const store_sqlite_config *sc = &cfg->sqlite;
    sq_store *st = NULL;
    int rc = STORE_EIO;

    *out = NULL;
    *errmsg = NULL;
    if (cfg->data_dir == NULL || cfg->data_dir[0] == '\0') {
        *errmsg = "no data directory given";
        return STORE_EIO;
    }
    if (!sqlite3_threadsafe()) {
        *errmsg = "this SQLite library was built without thread support";
        return STORE_EIO;
    }
    pthread_once(&setup_once, sqlite_setup);
    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "verifyd: store: mkdir %s: %s\n", cfg->data_dir, strerror(errno));
        *errmsg = "cannot create the data directory";
        return STORE_EIO;
    }

    st = xcalloc(1, sizeof *st);
    st->base.ops = &store__sqlite_ops;
    st->txn.base.ops = &store__sqlite_ops;
    st->txn.base.st = &st->base;
    st->txn.st = st;
    st->w.st = st;
    st->db_fd = st->wal_fd = -1;
    st->cache_bytes = sc->cache_bytes > 0 ? sc->cache_bytes : DEFAULT_CACHE_BYTES;
    st->synchronous_full = !sc->synchronous_normal;
    st->max_batch = sc->max_batch > 0 ? sc->max_batch : DEFAULT_MAX_BATCH;
    size_t plen = strlen(cfg->data_dir) + sizeof "/verifyd.db";
    st->path = xmalloc(plen);
    snprintf(st->path, plen, "%s/verifyd.db", cfg->data_dir);
    st->wal_path = xmalloc(plen + 4);
    snprintf(st->wal_path, plen + 4, "%s-wal", st->path);
    pthread_mutex_init(&st->qmu, NULL);
    pthread_cond_init(&st->qcv, NULL);
    pthread_mutex_init(&st->rmu, NULL);
    pthread_mutex_init(&st->cmu, NULL);
    pthread_cond_init(&st->ccv, NULL);
    pthread_cond_init(&st->scv, NULL);
    pthread_mutex_init(&st->imu, NULL);
    st->unmerged = id_map_new();
    st->merge_min = sc->id_merge_min > 0 ? (size_t)sc->id_merge_min : SQLITE__MERGE_MIN_DEFAULT;
    /* Past this point sq_destroy undoes everything, whatever step fails. */
    if (pthread_key_create(&st->rkey, sqlite__reader_release) != 0) {
        *errmsg = "cannot create a thread-local key";
        goto fail;
    }
    st->rkey_made = 1;

    /* Create the file ourselves so it is 0600 from the start; SQLite gives the -wal and -shm
     * files the same permissions. The data may hold personal data. */
    st->db_fd = open(st->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (st->db_fd < 0) {
        fprintf(stderr, "verifyd: store: open %s: %s\n", st->path, strerror(errno));
        *errmsg = "cannot create the database file";
        goto fail;
    }

    /* The writer alone writes the WAL; with full durability its commits gather their frames
     * into one write (wal_buffer.h says why that needs synchronous = FULL). */
    if (sqlite3_open_v2(
            st->path, &st->w.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
            st->synchronous_full ? wal_buffer_vfs(sqlite__vfs()) : sqlite__vfs()) != SQLITE_OK) {
        sqlite__fail(st->w.db, "open");
        *errmsg = "cannot open the database";
        goto fail;
    }
    rc = sqlite__configure(st, st->w.db, 1, errmsg);
    if (rc != 0) goto fail;
    rc = sqlite__migrate(st->w.db, errmsg);
    if (rc != 0) goto fail;
    /* It exists once the file is in WAL mode. */
    st->wal_fd = open(st->wal_path, O_RDONLY | O_CLOEXEC);
    rc = sqlite__ids_load_unmerged(st);
    if (rc != 0) {
        *errmsg = "cannot read the session ids";
        goto fail;
    }
    rc = sqlite__ckpt_start(st, errmsg);
    if (rc != 0) goto fail;

    if (pthread_create(&st->writer, NULL, sqlite__writer_main, st) != 0) {
        *errmsg = "cannot start the writer thread";
        rc = STORE_EIO;
        goto fail;
    }
    st->writer_started = 1;
    *out = &st->base;
    return 0;

fail:
    sq_destroy(st);
    return STORE_EIO;
}

static void sq_close(store *base)
{
    sq_destroy(sqlite__store(base));
}

const store__ops store__sqlite_ops = {
    .name = "sqlite",
    .cacheable = 1,
    .open = sq_open,
    .close = sq_close,
    .submit = sqlite__submit,
    .busy = sqlite__busy,
    .scrub = sqlite__scrub,
    .session_get = sqlite__session_get,
    .txn_session_get = sqlite__txn_session_get,
    .txn_session_insert = sqlite__txn_session_insert,
    .txn_session_update = sqlite__txn_session_update,
    .session_list = sqlite__session_list,
    .redactions_due = sqlite__redactions_due,
    .idem_begin = sqlite__idem_begin,
    .idem_end = sqlite__idem_end,
    .idem_get = sqlite__idem_get,
    .txn_idem_put = sqlite__txn_idem_put,
    .txn_idem_prune = sqlite__txn_idem_prune,
    .txn_idem_delete_object = sqlite__txn_idem_delete_object,
    .txn_event_insert = sqlite__txn_event_insert,
    .event_get = sqlite__event_get,
    .event_list = sqlite__event_list,
    .txn_event_snapshots = sqlite__txn_event_snapshots,
    .txn_event_snapshot_set = sqlite__txn_event_snapshot_set,
    .txn_events_prune = sqlite__txn_events_prune,
    .webhook_get = sqlite__webhook_get,
    .webhook_list = sqlite__webhook_list,
    .txn_webhook_get = sqlite__txn_webhook_get,
    .txn_webhook_candidates = sqlite__txn_webhook_candidates,
    .txn_webhook_insert = sqlite__txn_webhook_insert,
    .txn_webhook_update = sqlite__txn_webhook_update,
    .txn_webhook_delete = sqlite__txn_webhook_delete,
    .txn_forward_set = sqlite__txn_forward_set,
    .txn_delivery_add = sqlite__txn_delivery_add,
    .deliveries_due = sqlite__deliveries_due,
    .delivery_next_due = sqlite__delivery_next_due,
    .txn_delivery_result = sqlite__txn_delivery_result,
    .set_outbox_hook = sqlite__set_outbox_hook,
    .report_get = sqlite__report_get,
    .txn_report_get = sqlite__txn_report_get,
    .txn_report_insert = sqlite__txn_report_insert,
    .txn_report_update = sqlite__txn_report_update,
    .txn_session_reports = sqlite__txn_session_reports,
    .report_list = sqlite__report_list,
    .txn_link_put = sqlite__txn_link_put,
    .link_find = sqlite__link_find,
    .txn_outcome_set = sqlite__txn_outcome_set,
    .txn_outcome_clear = sqlite__txn_outcome_clear,
    .outcomes_due = sqlite__outcomes_due,
    .txn_account_reset = sqlite__txn_account_reset,
    .clock_list = sqlite__clock_list,
    .txn_clock_advance = sqlite__txn_clock_advance,
    .txn_events_prune_account = sqlite__txn_events_prune_account,
    .txn_idem_prune_account = sqlite__txn_idem_prune_account,
    .health = sqlite__health,
    .stats_get = sqlite__stats_get,
    .txn_attempt_add = sqlite__txn_attempt_add,
    .attempt_list = sqlite__attempt_list,
};
