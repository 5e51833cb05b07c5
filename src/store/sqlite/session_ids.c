/*
 * session_ids: the index of session ids, filled in batches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "store/sqlite/internal.h"

/*
 * Session ids. vs_ ids are random, so an index keyed by them takes each new id at a random leaf:
 * one more page in the WAL, the fsync and the checkpoint for every create, which measured as half
 * of a create's cost once a table holds 100k sessions. So the id index (session_ids) is filled in
 * batches instead. A new session's id goes into an in-memory map (st->unmerged, id -> seq) as the
 * writer inserts the row; once the map holds merge_min ids, the writer merges them into
 * session_ids in a round: sorted by id, a share of them inside each of the next batches'
 * transactions, so that the round's inserts share leaves instead of each taking its own. The
 * round's last chunk records its upper seq in session_ids_merged, and only after that commits are
 * those ids dropped from the map. At start, the map is refilled from the sessions above
 * session_ids_merged. A crash mid-round just merges the round again (INSERT OR IGNORE).
 *
 * A lookup by id (SESSION_BY_ID) takes the seq from the map when the id is there, else from
 * session_ids. Order matters for readers: the map is consulted before the statement starts, so
 * an id missing from the map was dropped after its merge committed, and the statement's
 * snapshot, taken later, sees it in session_ids. An insert that rolls back takes its id out of
 * the map again (sqlite__ids_rollback_to), so the map holds committed sessions and the current
 * batch's.
 */
static const char *const sql[SQ_COUNT] = {
    [SQ_SESSION_ID_MERGED] = "SELECT 1 FROM session_ids WHERE id = ?1",
    [SQ_IDS_UNMERGED] = "SELECT id, seq FROM sessions"
                        " WHERE seq > (SELECT seq FROM session_ids_merged)",
    /* Only while the row is there: an account reset (accounts.c) may have deleted it after its
     * id entered a round, and a stale pair would hide a later session with the same id. */
    [SQ_IDS_MERGE] =
        "INSERT OR IGNORE INTO session_ids (id, seq)"
        " SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM sessions WHERE seq = ?2 AND id = ?1)",
    [SQ_IDS_MERGED_SET] = "UPDATE session_ids_merged SET seq = ?1",
    [SQ_SEQ_MAX] = "SELECT COALESCE(MAX(seq), 0) FROM sessions",
    [SQ_SESSION_ROW_EXISTS] = "SELECT 1 FROM sessions WHERE seq = ?1 AND id = ?2",
};

static int stmt_of(sq_store *st, int which, sqlite3_stmt **out)
{
    return sqlite__stmt(&st->w, which, sql[which], out);
}

/* A round spreads over this many batches at least: 512 ids per batch by default, under two
 * milliseconds of the writer's time (measured ~3.4 us per id). */
#define MERGE_SPREAD 64

/* Bind the SESSION_BY_ID seq parameter idx of stmt: the map's seq for id, if it has one (else
 * it stays NULL). Call before the statement's first step. SQLite's result code. */
int sqlite__bind_unmerged_seq(sq_store *st, sqlite3_stmt *stmt, int idx, const char *id)
{
    int64_t seq;
    if (id_map_get(st->unmerged, id, &seq)) return sqlite3_bind_int64(stmt, idx, seq);
    return SQLITE_OK;
}

/* Whether a session with this id exists in any account (the id index has no unique constraint
 * any more: see the top of this file): in the map (which holds only sessions committed or written
 * by this batch) or in session_ids. 0 (no), STORE_EXISTS or STORE_EIO. */
int sqlite__session_id_taken(sq_store *st, const char *id)
{
    sqlite3_stmt *stmt;
    int64_t seq;
    if (id_map_get(st->unmerged, id, &seq)) {
        /* An account reset deletes rows but leaves their map entries (it cannot take them out
         * and put them back should its job roll back): a map entry counts while its row is
         * there. */
        int rc = stmt_of(st, SQ_SESSION_ROW_EXISTS, &stmt);
        if (rc != 0) return rc;
        if ((sqlite3_bind_int64(stmt, 1, seq) | sqlite__bind_text(stmt, 2, id)) != SQLITE_OK) {
            sqlite__finish(stmt);
            return sqlite__fail(st->w.db, "bind");
        }
        int src = sqlite3_step(stmt);
        rc = src == SQLITE_ROW    ? STORE_EXISTS
             : src == SQLITE_DONE ? 0
                                  : sqlite__fail(st->w.db, "session id");
        sqlite__finish(stmt);
        if (rc != 0) return rc;
    }
    int rc = stmt_of(st, SQ_SESSION_ID_MERGED, &stmt);
    if (rc != 0) return rc;
    if (sqlite__bind_text(stmt, 1, id) != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    int src = sqlite3_step(stmt);
    rc = src == SQLITE_ROW    ? STORE_EXISTS
         : src == SQLITE_DONE ? 0
                              : sqlite__fail(st->w.db, "session id");
    sqlite__finish(stmt);
    return rc;
}

/* Session ids: at the start of a batch, before its jobs, start a merge round when the map
 * holds merge_min ids. Its upper bound is MAX(seq) now, when every session up to it is
 * committed: SQLite never hands out a seq at or below the largest one again. */
void sqlite__ids_round_begin(sq_store *st)
{
    sqlite3_stmt *stmt;
    if (st->round_hi != 0 || id_map_count(st->unmerged) < st->merge_min) return;
    if (stmt_of(st, SQ_SEQ_MAX, &stmt) != 0) return;
    int64_t hi = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
    sqlite__finish(stmt);
    if (hi <= st->merged_upto) return;
    st->round_n = id_map_collect(st->unmerged, st->merged_upto, hi, &st->round);
    st->round_pos = st->chunk_end = 0;
    st->round_hi = hi;
}

/* Session ids: the round's next merge_min / MERGE_SPREAD ids, after the batch's jobs, inside its
 * transaction and in its own savepoint. In id order, consecutive inserts share leaves. A
 * failure is logged and rolled back to the savepoint; the chunk is retried with a later batch
 * and the batch's jobs are untouched. */
void sqlite__ids_merge_step(sq_store *st)
{
    sqlite3_stmt *stmt;
    st->chunk_end = st->round_pos;
    if (st->round_hi == 0) return;
    if (sqlite__writer_exec(st, SQ_SAVEPOINT) != 0) return;
    size_t chunk = st->merge_min / MERGE_SPREAD > 0 ? st->merge_min / MERGE_SPREAD : 1;
    size_t end = st->round_pos + chunk < st->round_n ? st->round_pos + chunk : st->round_n;
    int rc = stmt_of(st, SQ_IDS_MERGE, &stmt);
    for (size_t i = st->round_pos; i < end && rc == 0; i++) {
        if ((sqlite__bind_text(stmt, 1, st->round[i].id) |
             sqlite3_bind_int64(stmt, 2, st->round[i].row)) != SQLITE_OK) {
            sqlite__finish(stmt);
            rc = sqlite__fail(st->w.db, "bind");
        } else {
            rc = sqlite__run(st->w.db, stmt);
        }
    }
    if (rc == 0 && end == st->round_n) {
        rc = stmt_of(st, SQ_IDS_MERGED_SET, &stmt);
        if (rc == 0 && sqlite3_bind_int64(stmt, 1, st->round_hi) != SQLITE_OK) {
            sqlite__finish(stmt);
            rc = sqlite__fail(st->w.db, "bind");
        } else if (rc == 0) {
            rc = sqlite__run(st->w.db, stmt);
        }
    }
    if (rc != 0) {
        fprintf(stderr, "verifyd: store: merging session ids failed; it will be retried\n");
        sqlite__writer_exec(st, SQ_ROLLBACK_TO);
    }
    if (sqlite__writer_exec(st, SQ_RELEASE) == 0 && rc == 0) st->chunk_end = end;
}

/* Session ids: the batch committed. Keep its chunk; after the round's last, its ids leave the
 * map (only now: see the top of this file). */
void sqlite__ids_merge_committed(sq_store *st)
{
    if (st->round_hi == 0) return;
    st->round_pos = st->chunk_end;
    if (st->round_pos < st->round_n) return;
    id_map_drop_upto(st->unmerged, st->round_hi);
    st->merged_upto = st->round_hi;
    st->round_hi = 0;
    free(st->round);
    st->round = NULL;
    st->round_n = st->round_pos = st->chunk_end = 0;
}

/* Session ids, at open: the map holds every session above session_ids_merged. */
int sqlite__ids_load_unmerged(sq_store *st)
{
    sqlite3_stmt *stmt;
    int rc = stmt_of(st, SQ_IDS_UNMERGED, &stmt);
    if (rc != 0) return rc;
    int64_t upto = 0;
    for (;;) {
        int src = sqlite3_step(stmt);
        if (src == SQLITE_DONE) break;
        if (src != SQLITE_ROW) {
            rc = sqlite__fail(st->w.db, "session ids");
            break;
        }
        int64_t seq = sqlite3_column_int64(stmt, 1);
        if (id_map_put(st->unmerged, (const char *)sqlite3_column_text(stmt, 0), seq) != 0) {
            fprintf(stderr, "verifyd: store: a stored session id is too long\n");
            rc = STORE_CORRUPT;
            break;
        }
    }
    sqlite__finish(stmt);
    if (rc == 0) rc = sqlite__pragma_int(st->w.db, "SELECT seq FROM session_ids_merged", &upto);
    st->merged_upto = upto;
    return rc;
}

int sqlite__ids_inserted(sq_store *st, const char *id, int64_t seq)
{
    if (strlen(id) > ID_MAP_ID_MAX || id_map_put(st->unmerged, id, seq) != 0) {
        fprintf(stderr, "verifyd: store: a session id longer than %d bytes\n", ID_MAP_ID_MAX);
        return STORE_EIO;
    }
    if (st->n_inserted == st->cap_inserted) {
        st->cap_inserted = st->cap_inserted ? st->cap_inserted * 2 : 64;
        st->inserted = xrealloc(st->inserted, st->cap_inserted * sizeof *st->inserted);
    }
    sq_inserted *in = &st->inserted[st->n_inserted++];
    snprintf(in->id, sizeof in->id, "%s", id);
    in->seq = seq;
    return 0;
}

size_t sqlite__ids_mark(const sq_store *st)
{
    return st->n_inserted;
}

void sqlite__ids_rollback_to(sq_store *st, size_t mark)
{
    for (size_t i = mark; i < st->n_inserted; i++)
        id_map_remove(st->unmerged, st->inserted[i].id, st->inserted[i].seq);
    if (mark < st->n_inserted) st->n_inserted = mark;
}
