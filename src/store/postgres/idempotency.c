/*
 * idempotency: saved responses by (account, key), and the keys requests hold.
 *
 * A key is held across every process that shares the database with a session-level advisory
 * lock (pg_try_advisory_lock) on the lock connection, keyed by a 64-bit hash of account and key;
 * a process that dies loses its connection and so its locks (store.h). Advisory locks are
 * re-entrant on one connection, so this process's own holders are also listed under lmu: a
 * second request of this process for a held key is refused before the lock is asked for. Two
 * different keys whose hashes collide (1 in 2^64) only make one of them wait (STORE_BUSY) while
 * the other is held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "store/postgres/internal.h"

#define IDEM_COLS "fingerprint, status, body, created, object_id"
/* The lock key of (account $1, key $2). */
#define IDEM_LOCK_KEY "hashtextextended($1 || chr(10) || $2, 7310420117)"

typedef struct pg_held {
    char *name; /* account + '\n' + key */
    struct pg_held *next;
} pg_held;

static char *held_name(const char *account, const char *key)
{
    size_t n = strlen(account) + strlen(key) + 2;
    char *s = xmalloc(n);
    snprintf(s, n, "%s\n%s", account, key);
    return s;
}

static int idem_get(pg_store *st, pg_conn *c, const char *account, const char *key, arena *a,
                    store_idem *out)
{
    pg_params p;
    PGresult *res;
    pg__p_init(&p);
    pg__p_text(&p, account);
    pg__p_text(&p, key);
    memset(out, 0, sizeof *out);
    const char *sql = "SELECT " IDEM_COLS " FROM idempotency WHERE account = $1 AND key = $2";
    int rc = c != NULL ? pg__query(c, sql, &p, &res, NULL, "idempotency get")
                       : pg__read(st, sql, &p, &res, "idempotency get");
    if (rc != 0) return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return STORE_NOT_FOUND;
    }
    const char *fp = pg__col_text(res, 0, 0, a);
    snprintf(out->fingerprint, sizeof out->fingerprint, "%s", fp != NULL ? fp : "");
    out->status = (int)pg__col_int(res, 0, 1);
    store_record body = pg__col_record(res, 0, 2, a);
    out->body = arena_strndup(a, body.data, body.len);
    out->body_len = body.len;
    out->created = pg__col_int(res, 0, 3);
    out->object_id = pg__col_text(res, 0, 4, a);
    PQclear(res);
    return 0;
}

int pg__idem_get(store *base, const char *account, const char *key, arena *a, store_idem *out)
{
    return idem_get(pg__store(base), NULL, account, key, a, out);
}

/* Ask for or give back the advisory lock of (account, key) on the lock connection; under lmu.
 * 0 (lock: taken), STORE_BUSY (another process holds it) or STORE_EIO. */
static int advisory(pg_store *st, const char *account, const char *key, int lock)
{
    pg_params p;
    PGresult *res;
    pg__p_init(&p);
    pg__p_text(&p, account);
    pg__p_text(&p, key);
    int rc = pg__conn_ready(&st->l);
    if (rc != 0) return rc;
    rc = pg__query(&st->l,
                   lock ? "SELECT pg_try_advisory_lock(" IDEM_LOCK_KEY ")"
                        : "SELECT pg_advisory_unlock(" IDEM_LOCK_KEY ")",
                   &p, &res, NULL, lock ? "idempotency lock" : "idempotency unlock");
    if (rc != 0) return rc;
    if (lock && (PQntuples(res) != 1 || pg__col_int(res, 0, 0) == 0)) rc = STORE_BUSY;
    PQclear(res);
    return rc;
}

int pg__idem_begin(store *base, const char *account, const char *key, arena *a, int *found,
                   store_idem *saved)
{
    pg_store *st = pg__store(base);
    char *name = held_name(account, key);
    *found = 0;
    pthread_mutex_lock(&st->lmu);
    for (pg_held *h = st->held; h != NULL; h = h->next) {
        if (strcmp(h->name, name) == 0) {
            pthread_mutex_unlock(&st->lmu);
            free(name);
            return STORE_BUSY;
        }
    }
    int rc = advisory(st, account, key, 1);
    if (rc != 0) {
        pthread_mutex_unlock(&st->lmu);
        free(name);
        return rc;
    }
    pg_held *h = xmalloc(sizeof *h);
    *h = (pg_held){name, st->held};
    st->held = h;
    pthread_mutex_unlock(&st->lmu);
    /* Read only once the key is held: a request that saved under it released it after its
     * commit, so what it saved is visible here. */
    rc = idem_get(st, NULL, account, key, a, saved);
    if (rc == 0) *found = 1;
    if (rc == 0 || rc == STORE_NOT_FOUND) return 0;
    pg__idem_end(base, account, key);
    return rc;
}

void pg__idem_end(store *base, const char *account, const char *key)
{
    pg_store *st = pg__store(base);
    char *name = held_name(account, key);
    pthread_mutex_lock(&st->lmu);
    for (pg_held **p = &st->held; *p != NULL; p = &(*p)->next) {
        if (strcmp((*p)->name, name) == 0) {
            pg_held *dead = *p;
            *p = dead->next;
            free(dead->name);
            free(dead);
            /* A failed unlock is logged; the lock then goes with the connection (reset). */
            advisory(st, account, key, 0);
            break;
        }
    }
    pthread_mutex_unlock(&st->lmu);
    free(name);
}

void pg__idem_free(pg_store *st)
{
    while (st->held != NULL) {
        pg_held *h = st->held;
        st->held = h->next;
        free(h->name);
        free(h);
    }
}

/* Inserts, or replaces a record created before $8 (no change when the saved one is younger:
 * then the saved one is read back and handed out with STORE_EXISTS). */
int pg__txn_idem_put(store_txn *t, const char *account, const char *key, const store_idem *v,
                     int64_t replace_before, arena *a, store_idem *existing)
{
    pg_params p;
    int64_t changes;
    pg__p_init(&p);
    pg__p_text(&p, account);
    pg__p_text(&p, key);
    pg__p_text(&p, v->fingerprint);
    pg__p_int(&p, v->status);
    pg__p_bytes(&p, v->body != NULL ? v->body : "", v->body != NULL ? v->body_len : 0);
    pg__p_int(&p, v->created);
    pg__p_text(&p, v->object_id);
    pg__p_int(&p, replace_before);
    int rc = pg__txn_query(
        t,
        "INSERT INTO idempotency (account, key, " IDEM_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (account, key) DO UPDATE SET fingerprint = excluded.fingerprint,"
        " status = excluded.status, body = excluded.body, created = excluded.created,"
        " object_id = excluded.object_id WHERE idempotency.created < $8",
        &p, NULL, &changes, "idempotency put");
    if (rc != 0 || changes > 0) return rc;
    pg_store *st = pg__txn_store(t);
    rc = idem_get(st, &st->w, account, key, a, existing);
    return rc == 0 ? STORE_EXISTS : rc;
}

int pg__txn_idem_prune(store_txn *t, int64_t cutoff)
{
    pg_params p;
    pg__p_init(&p);
    pg__p_int(&p, cutoff);
    return pg__txn_query(t, "DELETE FROM idempotency WHERE created < $1", &p, NULL, NULL,
                         "idempotency prune");
}

int pg__txn_idem_delete_object(store_txn *t, const char *account, const char *object_id)
{
    pg_params p;
    pg__p_init(&p);
    pg__p_text(&p, account);
    pg__p_text(&p, object_id);
    return pg__txn_query(t, "DELETE FROM idempotency WHERE account = $1 AND object_id = $2", &p,
                         NULL, NULL, "idempotency delete object");
}

int pg__txn_idem_prune_account(store_txn *t, const char *account, int64_t cutoff)
{
    pg_params p;
    pg__p_init(&p);
    pg__p_text(&p, account);
    pg__p_int(&p, cutoff);
    return pg__txn_query(
        t, "DELETE FROM idempotency WHERE " PG__OWNED_BY("account") " AND created < $2", &p, NULL,
        NULL, "idempotency prune account");
}
