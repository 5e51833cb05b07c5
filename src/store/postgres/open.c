/*
 * open: store_open and store_close for the PostgreSQL backend, and its ops table. store_open
 * connects the writer (which migrates the schema), the readers and the lock connection, then
 * starts the writer thread; any failure undoes what was done and reports why: the server down or
 * unreachable within the connect timeout, wrong credentials, no such database (libpq's message,
 * on stderr), or a schema newer than this build.
 *
 * store_scrub is a no-op here. PostgreSQL never overwrites a row in place: an UPDATE or DELETE
 * leaves the old version as a dead tuple in the table's pages (and the change in the WAL) until
 * VACUUM marks that space reusable, and even then the bytes stay until a later row overwrites
 * them; only VACUUM FULL (which rewrites the table and locks it) removes them from the table
 * files, and the WAL keeps them until its segments are recycled. Erasing the redacted values
 * from every file therefore belongs to the database's operator (autovacuum, WAL retention,
 * backups), not to a call that must not stop other writes (store.h): docs/ARCHITECTURE.md says
 * so for operators.
 */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "store/postgres/internal.h"

static void pg_destroy(pg_store *st)
{
    pg__writer_stop(st);
    pg__disconnect(&st->w);
    pg__readers_close(st);
    pg__disconnect(&st->l);
    pg__idem_free(st);
    store__txn_free(&st->txn.base);
    /* Jobs left in the queue only if the writer never started (open failed before it). */
    while (st->qhead != NULL) {
        pg_job *j = st->qhead;
        st->qhead = j->next;
        free(j);
    }
    pthread_mutex_destroy(&st->qmu);
    pthread_cond_destroy(&st->qcv);
    pthread_mutex_destroy(&st->rmu);
    pthread_cond_destroy(&st->rcv);
    pthread_mutex_destroy(&st->lmu);
    free(st->url);
    free(st);
}

static int pg_open(const store_config *cfg, store **out, const char **errmsg)
{
    *out = NULL;
    *errmsg = NULL;
    pg_store *st = xcalloc(1, sizeof *st);
    st->base.ops = &store__postgres_ops;
    st->txn.base.ops = &store__postgres_ops;
    st->txn.base.st = &st->base;
    st->txn.st = st;
    st->url = xstrdup(cfg->url);
    pthread_mutex_init(&st->qmu, NULL);
    pthread_cond_init(&st->qcv, NULL);
    pthread_mutex_init(&st->rmu, NULL);
    pthread_cond_init(&st->rcv, NULL);
    pthread_mutex_init(&st->lmu, NULL);
    /* Past this point pg_destroy undoes whatever was opened. */
    int rc = pg__connect(st->url, &st->w, "writer", errmsg);
    if (rc == 0) rc = pg__migrate(&st->w, errmsg);
    if (rc == 0) rc = pg__readers_open(st, errmsg);
    if (rc == 0) rc = pg__connect(st->url, &st->l, "locks", errmsg);
    if (rc != 0) goto fail;
    if (pthread_create(&st->writer, NULL, pg__writer_main, st) != 0) {
        *errmsg = "cannot start the writer thread";
        goto fail;
    }
    st->writer_started = 1;
    *out = &st->base;
    return 0;
fail:
    pg_destroy(st);
    return STORE_EIO;
}

static void pg_close(store *base)
{
    pg_destroy(pg__store(base));
}

/* See the file's comment: nothing this call could do makes the old versions unreadable. */
static int pg_scrub(store *base)
{
    (void)base;
    return 0;
}

const store__ops store__postgres_ops = {
    .name = "postgres",
    .cacheable = 0, /* several processes may write the database */
    .open = pg_open,
    .close = pg_close,
    .submit = pg__submit,
    .busy = pg__busy,
    .scrub = pg_scrub,
    .session_get = pg__session_get,
    .txn_session_get = pg__txn_session_get,
    .txn_session_insert = pg__txn_session_insert,
    .txn_session_update = pg__txn_session_update,
    .session_list = pg__session_list,
    .redactions_due = pg__redactions_due,
    .idem_begin = pg__idem_begin,
    .idem_end = pg__idem_end,
    .idem_get = pg__idem_get,
    .txn_idem_put = pg__txn_idem_put,
    .txn_idem_prune = pg__txn_idem_prune,
    .txn_idem_delete_object = pg__txn_idem_delete_object,
    .txn_event_insert = pg__txn_event_insert,
    .event_get = pg__event_get,
    .event_list = pg__event_list,
    .txn_event_snapshots = pg__txn_event_snapshots,
    .txn_event_snapshot_set = pg__txn_event_snapshot_set,
    .txn_events_prune = pg__txn_events_prune,
    .webhook_get = pg__webhook_get,
    .webhook_list = pg__webhook_list,
    .txn_webhook_get = pg__txn_webhook_get,
    .txn_webhook_candidates = pg__txn_webhook_candidates,
    .txn_webhook_insert = pg__txn_webhook_insert,
    .txn_webhook_update = pg__txn_webhook_update,
    .txn_webhook_delete = pg__txn_webhook_delete,
    .txn_forward_set = pg__txn_forward_set,
    .txn_delivery_add = pg__txn_delivery_add,
    .deliveries_due = pg__deliveries_due,
    .delivery_next_due = pg__delivery_next_due,
    .txn_delivery_result = pg__txn_delivery_result,
    .set_outbox_hook = pg__set_outbox_hook,
    .report_get = pg__report_get,
    .txn_report_get = pg__txn_report_get,
    .txn_report_insert = pg__txn_report_insert,
    .txn_report_update = pg__txn_report_update,
    .txn_session_reports = pg__txn_session_reports,
    .report_list = pg__report_list,
    .txn_link_put = pg__txn_link_put,
    .link_find = pg__link_find,
    .txn_outcome_set = pg__txn_outcome_set,
    .txn_outcome_clear = pg__txn_outcome_clear,
    .outcomes_due = pg__outcomes_due,
    .txn_account_reset = pg__txn_account_reset,
    .clock_list = pg__clock_list,
    .txn_clock_advance = pg__txn_clock_advance,
    .txn_events_prune_account = pg__txn_events_prune_account,
    .txn_idem_prune_account = pg__txn_idem_prune_account,
    .health = pg__health,
    .stats_get = pg__stats_get,
    .txn_attempt_add = pg__txn_attempt_add,
    .attempt_list = pg__attempt_list,
};
