/*
 * idempotency: saved responses by (account, key), and the keys this process's requests hold.
 *
 * An SQLite database belongs to one process (the writer's lock and the WAL index are local to
 * it), so "held by a request on any process" is "held by a request of this one": a list under a
 * mutex, emptied by the process's death.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "store/sqlite/internal.h"

#define IDEM_COLS "fingerprint, status, body, created, object_id"

/* put inserts, or replaces a record created before ?8 (SQLite's upsert; no change when the
 * saved one is younger). */
static const char *const sql[SQ_COUNT] = {
    [SQ_IDEM_GET] = "SELECT " IDEM_COLS " FROM idempotency WHERE account = ?1 AND key = ?2",
    [SQ_IDEM_PUT] = "INSERT INTO idempotency (account, key, " IDEM_COLS ")"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                    " ON CONFLICT (account, key) DO UPDATE SET fingerprint = excluded.fingerprint,"
                    " status = excluded.status, body = excluded.body, created = excluded.created,"
                    " object_id = excluded.object_id WHERE idempotency.created < ?8",
    [SQ_IDEM_PRUNE] = "DELETE FROM idempotency WHERE created < ?1",
    [SQ_IDEM_DELETE_OBJECT] = "DELETE FROM idempotency WHERE account = ?1 AND object_id = ?2",
    [SQ_IDEM_PRUNE_ACCOUNT] =
        "DELETE FROM idempotency WHERE " SQLITE__OWNED_BY("account") " AND created < ?2",
};

/* A key held by a request: account + '\n' + key. */
typedef struct sq_held {
    char *name;
    struct sq_held *next;
} sq_held;

static char *held_name(const char *account, const char *key)
{
    size_t n = strlen(account) + strlen(key) + 2;
    char *s = xmalloc(n);
    snprintf(s, n, "%s\n%s", account, key);
    return s;
}

static int idem_get(sq_conn *c, const char *account, const char *key, arena *a, store_idem *out)
{
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(c, SQ_IDEM_GET, sql[SQ_IDEM_GET], &stmt);
    if (rc != 0) return rc;
    memset(out, 0, sizeof *out);
    if ((sqlite__bind_text(stmt, 1, account) | sqlite__bind_text(stmt, 2, key)) != SQLITE_OK) {
        rc = sqlite__fail(c->db, "bind");
        goto done;
    }
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
        rc = STORE_NOT_FOUND;
        goto done;
    }
    if (rc != SQLITE_ROW) {
        rc = sqlite__fail(c->db, "idempotency get");
        goto done;
    }
    const char *fp = (const char *)sqlite3_column_text(stmt, 0);
    snprintf(out->fingerprint, sizeof out->fingerprint, "%s", fp != NULL ? fp : "");
    out->status = sqlite3_column_int(stmt, 1);
    const void *body = sqlite3_column_blob(stmt, 2);
    out->body_len = (size_t)sqlite3_column_bytes(stmt, 2);
    out->body = arena_strndup(a, body != NULL ? body : "", out->body_len);
    out->created = sqlite3_column_int64(stmt, 3);
    out->object_id = sqlite__col_text(stmt, 4, a);
    rc = 0;
done:
    sqlite__finish(stmt);
    return rc;
}

int sqlite__idem_get(store *base, const char *account, const char *key, arena *a, store_idem *out)
{
    sq_conn *r = sqlite__reader(sqlite__store(base));
    return r != NULL ? idem_get(r, account, key, a, out) : STORE_EIO;
}

int sqlite__idem_begin(store *base, const char *account, const char *key, arena *a, int *found,
                       store_idem *saved)
{
    sq_store *st = sqlite__store(base);
    char *name = held_name(account, key);
    *found = 0;
    pthread_mutex_lock(&st->imu);
    for (sq_held *h = st->held; h != NULL; h = h->next) {
        if (strcmp(h->name, name) == 0) {
            pthread_mutex_unlock(&st->imu);
            free(name);
            return STORE_BUSY;
        }
    }
    sq_held *h = xmalloc(sizeof *h);
    *h = (sq_held){name, st->held};
    st->held = h;
    pthread_mutex_unlock(&st->imu);
    /* Read only once the key is held: a request that saved under it has released it after its
     * commit, so what it saved is visible here. */
    int rc = sqlite__idem_get(base, account, key, a, saved);
    if (rc == 0) *found = 1;
    if (rc == 0 || rc == STORE_NOT_FOUND) return 0;
    sqlite__idem_end(base, account, key);
    return rc;
}

void sqlite__idem_end(store *base, const char *account, const char *key)
{
    sq_store *st = sqlite__store(base);
    char *name = held_name(account, key);
    pthread_mutex_lock(&st->imu);
    for (sq_held **p = &st->held; *p != NULL; p = &(*p)->next) {
        if (strcmp((*p)->name, name) == 0) {
            sq_held *dead = *p;
            *p = dead->next;
            free(dead->name);
            free(dead);
            break;
        }
    }
    pthread_mutex_unlock(&st->imu);
    free(name);
}

void sqlite__idem_free(sq_store *st)
{
    while (st->held != NULL) {
        sq_held *h = st->held;
        st->held = h->next;
        free(h->name);
        free(h);
    }
}

int sqlite__txn_idem_put(store_txn *t, const char *account, const char *key, const store_idem *v,
                         int64_t replace_before, arena *a, store_idem *existing)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, SQ_IDEM_PUT, sql[SQ_IDEM_PUT], &stmt);
    if (rc != 0) return rc;
    int br = sqlite__bind_text(stmt, 1, account);
    br |= sqlite__bind_text(stmt, 2, key);
    br |= sqlite__bind_text(stmt, 3, v->fingerprint);
    br |= sqlite3_bind_int(stmt, 4, v->status);
    /* An empty body is stored as an empty blob, not NULL. */
    br |= sqlite__bind_blob(stmt, 5, v->body != NULL ? v->body : "",
                            v->body != NULL ? v->body_len : 0);
    br |= sqlite3_bind_int64(stmt, 6, v->created);
    br |= sqlite__bind_text(stmt, 7, v->object_id);
    br |= sqlite3_bind_int64(stmt, 8, replace_before);
    if (br != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    rc = sqlite__run(st->w.db, stmt);
    if (rc != 0 || sqlite3_changes(st->w.db) > 0) return rc;
    rc = idem_get(&st->w, account, key, a, existing);
    return rc == 0 ? STORE_EXISTS : rc;
}

/* One DELETE with the given text parameters (NULL: none beyond ?1). */
static int delete_where(sq_store *st, int which, const char *p1, const char *p2, int64_t n1)
{
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, which, sql[which], &stmt);
    if (rc != 0) return rc;
    int br = p1 != NULL ? sqlite__bind_text(stmt, 1, p1) | sqlite__bind_text(stmt, 2, p2)
                        : sqlite3_bind_int64(stmt, 1, n1);
    if (br != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    return sqlite__run(st->w.db, stmt);
}

int sqlite__txn_idem_prune(store_txn *t, int64_t cutoff)
{
    return delete_where(sqlite__txn_store(t), SQ_IDEM_PRUNE, NULL, NULL, cutoff);
}

int sqlite__txn_idem_delete_object(store_txn *t, const char *account, const char *object_id)
{
    return delete_where(sqlite__txn_store(t), SQ_IDEM_DELETE_OBJECT, account, object_id, 0);
}

int sqlite__txn_idem_prune_account(store_txn *t, const char *account, int64_t cutoff)
{
    sq_store *st = sqlite__txn_store(t);
    sqlite3_stmt *stmt;
    int rc = sqlite__stmt(&st->w, SQ_IDEM_PRUNE_ACCOUNT, sql[SQ_IDEM_PRUNE_ACCOUNT], &stmt);
    if (rc != 0) return rc;
    if ((sqlite__bind_text(stmt, 1, account) | sqlite3_bind_int64(stmt, 2, cutoff)) != SQLITE_OK) {
        sqlite__finish(stmt);
        return sqlite__fail(st->w.db, "bind");
    }
    return sqlite__run(st->w.db, stmt);
}
