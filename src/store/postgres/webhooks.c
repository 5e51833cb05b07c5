/*
 * webhooks: the webhook_endpoints table (v1 endpoints and v2 event destinations), and the
 * --forward-to endpoint kept in it (account STORE_FORWARD_ACCOUNT). enabled_events are stored as
 * "\n" + names joined by "\n" + "\n"; metadata is the record the layer above encoded.
 */
#include <string.h>

#include "base/util.h"
#include "store/postgres/internal.h"

#define WEBHOOK_COLS                                                                               \
    "id, account, livemode, created, disabled, url, secret, api_version, description,"             \
    " enabled_events, metadata, api, name, event_payload, updated_ms, connect"
#define CANDIDATES_FROM                                                                            \
    "SELECT id, account, livemode, disabled, enabled_events, api, event_payload, connect"          \
    " FROM webhook_endpoints"
#define FORWARD_SQL(s) "'" s "'"
#define CANDIDATES_FORWARD CANDIDATES_FROM " WHERE account = " FORWARD_SQL(STORE_FORWARD_ACCOUNT)

/* "\nname\nname\n" into an arena array of names. */
static void split_events(const char *s, arena *a, const char ***out, size_t *n)
{
    size_t count = 0;
    for (const char *p = s; *p; p++)
        count += *p == '\n';
    const char **v = arena_alloc(a, (count + 1) * sizeof *v);
    *n = 0;
    const char *p = s;
    while (*p) {
        if (*p == '\n') {
            p++;
            continue;
        }
        size_t len = strcspn(p, "\n");
        v[(*n)++] = arena_strndup(a, p, len);
        p += len;
    }
    *out = v;
}

/* A row of WEBHOOK_COLS into *out, strings in a. */
static void webhook_row(const PGresult *res, int r, arena *a, store_webhook *out)
{
    memset(out, 0, sizeof *out);
    out->id = pg__col_text(res, r, 0, a);
    out->account = pg__col_text(res, r, 1, a);
    out->livemode = (int)pg__col_int(res, r, 2);
    out->created = pg__col_int(res, r, 3);
    out->disabled = (int)pg__col_int(res, r, 4);
    out->url = pg__col_text(res, r, 5, a);
    out->secret = pg__col_text(res, r, 6, a);
    out->api_version = pg__col_text(res, r, 7, a);
    out->description = pg__col_text(res, r, 8, a);
    const char *ev = pg__col_text(res, r, 9, a);
    split_events(ev != NULL ? ev : "", a, &out->enabled_events, &out->n_enabled_events);
    out->metadata = pg__col_record(res, r, 10, a);
    out->destination = pg__col_int(res, r, 11) == 2;
    out->name = pg__col_text(res, r, 12, a);
    const char *payload = pg__col_text(res, r, 13, a);
    out->thin = payload != NULL && strcmp(payload, "thin") == 0;
    out->updated_ms = pg__col_int(res, r, 14);
    out->connect = (int)pg__col_int(res, r, 15);
}

/* A row of CANDIDATES_FROM: the columns an event's fan-out reads. */
static void candidate_row(const PGresult *res, int r, arena *a, store_webhook *out)
{
    memset(out, 0, sizeof *out);
    out->id = pg__col_text(res, r, 0, a);
    out->account = pg__col_text(res, r, 1, a);
    out->livemode = (int)pg__col_int(res, r, 2);
    out->disabled = (int)pg__col_int(res, r, 3);
    const char *ev = pg__col_text(res, r, 4, a);
    split_events(ev != NULL ? ev : "", a, &out->enabled_events, &out->n_enabled_events);
    out->destination = pg__col_int(res, r, 5) == 2;
    const char *payload = pg__col_text(res, r, 6, a);
    out->thin = payload != NULL && strcmp(payload, "thin") == 0;
    out->connect = (int)pg__col_int(res, r, 7);
}

/* Every row of res, each read by row, into an arena array. */
static void webhook_rows(const PGresult *res, arena *a,
                         void (*row)(const PGresult *, int, arena *, store_webhook *),
                         store_webhook **items, size_t *n)
{
    int rows = PQntuples(res);
    store_webhook *v = arena_alloc(a, (size_t)(rows > 0 ? rows : 1) * sizeof *v);
    for (int i = 0; i < rows; i++)
        row(res, i, a, &v[i]);
    *items = v;
    *n = (size_t)rows;
}

static int webhook_get(pg_store *st, pg_conn *c, const char *account, const char *id, arena *a,
                       store_webhook *out)
{
    pg_params p;
    PGresult *res;
    pg__p_init(&p);
    pg__p_text(&p, id);
    pg__p_text(&p, account);
    const char *sql =
        "SELECT " WEBHOOK_COLS " FROM webhook_endpoints WHERE id = $1 AND account = $2";
    int rc = c != NULL ? pg__query(c, sql, &p, &res, NULL, "webhook get")
                       : pg__read(st, sql, &p, &res, "webhook get");
    if (rc != 0) return rc;
    if (PQntuples(res) == 0)
        rc = STORE_NOT_FOUND;
    else
        webhook_row(res, 0, a, out);
    PQclear(res);
    return rc;
}

int pg__webhook_get(store *base, const char *account, const char *id, arena *a, store_webhook *out)
{
    return webhook_get(pg__store(base), NULL, account, id, a, out);
}

int pg__txn_webhook_get(store_txn *t, const char *account, const char *id, arena *a,
                        store_webhook *out)
{
    pg_store *st = pg__txn_store(t);
    return webhook_get(st, &st->w, account, id, a, out);
}

int pg__webhook_list(store *base, const char *account, arena *a, store_webhook **items, size_t *n)
{
    pg_params p;
    PGresult *res;
    *items = NULL;
    *n = 0;
    pg__p_init(&p);
    pg__p_text(&p, account);
    int rc = pg__read(pg__store(base),
                      "SELECT " WEBHOOK_COLS " FROM webhook_endpoints WHERE account = $1"
                      " ORDER BY created DESC, seq DESC",
                      &p, &res, "webhook list");
    if (rc != 0) return rc;
    webhook_rows(res, a, webhook_row, items, n);
    PQclear(res);
    return 0;
}

int pg__txn_webhook_candidates(store_txn *t, const char *account, const char *platform, arena *a,
                               store_webhook **items, size_t *n)
{
    pg_params p;
    PGresult *res;
    *items = NULL;
    *n = 0;
    pg__p_init(&p);
    pg__p_text(&p, account);
    if (platform != NULL) pg__p_text(&p, platform);
    /* A connected account's event: its own endpoints, its platform's connect ones, forward. */
    int rc = pg__txn_query(
        t,
        platform != NULL ? CANDIDATES_FROM " WHERE account = $1 UNION ALL " CANDIDATES_FROM
                                           " WHERE account = $2 AND connect = 1"
                                           " UNION ALL " CANDIDATES_FORWARD
                         : CANDIDATES_FROM " WHERE account = $1 UNION ALL " CANDIDATES_FORWARD,
        &p, &res, NULL, "webhook candidates");
    if (rc != 0) return rc;
    webhook_rows(res, a, candidate_row, items, n);
    PQclear(res);
    return 0;
}

/* enabled_events as stored, into ev (the caller's buffer). */
static void events_text(const store_webhook *w, buf *ev)
{
    buf_putc(ev, '\n');
    for (size_t i = 0; i < w->n_enabled_events; i++) {
        buf_puts(ev, w->enabled_events[i]);
        buf_putc(ev, '\n');
    }
}

/* The metadata record (an empty one is stored as an empty bytea, not NULL). */
static void metadata_param(pg_params *p, const store_webhook *w)
{
    pg__p_bytes(p, w->metadata.len > 0 ? w->metadata.data : "", w->metadata.len);
}

/*
 * The count and the insert must not interleave with another insert for the account on any
 * process, so the job first takes a transaction-level advisory lock on the account (held until
 * its batch commits): a second process's insert waits for it, then counts the committed row.
 */
int pg__txn_webhook_insert(store_txn *t, const store_webhook *w, int max)
{
    pg_params p;
    PGresult *res;
    pg__p_init(&p);
    pg__p_text(&p, w->account);
    pg__p_int(&p, w->destination ? 2 : 1);
    int rc = pg__txn_query(t,
                           "SELECT pg_advisory_xact_lock(hashtextextended($1, 7310420118)),"
                           " (SELECT count(*) FROM webhook_endpoints WHERE account = $1"
                           " AND api = $2)",
                           &p, &res, NULL, "webhook count");
    if (rc != 0) return rc;
    int64_t count = pg__col_int(res, 0, 1);
    PQclear(res);
    if (count >= max) return STORE_LIMIT;
    buf ev;
    int64_t changes;
    buf_init(&ev, NULL);
    events_text(w, &ev);
    pg__p_init(&p);
    pg__p_text(&p, w->id);
    pg__p_text(&p, w->account);
    pg__p_int(&p, w->livemode ? 1 : 0);
    pg__p_int(&p, w->created);
    pg__p_int(&p, w->disabled ? 1 : 0);
    pg__p_text(&p, w->url);
    pg__p_text(&p, w->secret);
    pg__p_text(&p, w->api_version);
    pg__p_text(&p, w->description);
    pg__p_text(&p, ev.data);
    metadata_param(&p, w);
    pg__p_int(&p, w->destination ? 2 : 1);
    pg__p_text(&p, w->name);
    pg__p_text(&p, w->destination ? (w->thin ? "thin" : "snapshot") : NULL);
    pg__p_int(&p, w->updated_ms);
    pg__p_int(&p, w->connect ? 1 : 0);
    rc = pg__txn_query(t,
                       "INSERT INTO webhook_endpoints (" WEBHOOK_COLS ") VALUES ($1, $2, $3, $4,"
                       " $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
                       " ON CONFLICT (id) DO NOTHING",
                       &p, NULL, &changes, "webhook insert");
    buf_free(&ev);
    return rc == 0 && changes == 0 ? STORE_EXISTS : rc;
}

int pg__txn_webhook_update(store_txn *t, const store_webhook *w)
{
    pg_params p;
    buf ev;
    int64_t changes;
    buf_init(&ev, NULL);
    events_text(w, &ev);
    pg__p_init(&p);
    pg__p_text(&p, w->id);
    pg__p_text(&p, w->account);
    pg__p_int(&p, w->disabled ? 1 : 0);
    pg__p_text(&p, w->url);
    pg__p_text(&p, w->api_version);
    pg__p_text(&p, w->description);
    pg__p_text(&p, ev.data);
    metadata_param(&p, w);
    pg__p_text(&p, w->name);
    pg__p_int(&p, w->updated_ms);
    /* Every field but id, account, livemode, created, secret, destination, thin and connect. */
    int rc = pg__txn_query(t,
                           "UPDATE webhook_endpoints SET disabled = $3, url = $4,"
                           " api_version = $5, description = $6, enabled_events = $7,"
                           " metadata = $8, name = $9, updated_ms = $10"
                           " WHERE id = $1 AND account = $2",
                           &p, NULL, &changes, "webhook update");
    buf_free(&ev);
    return rc == 0 && changes == 0 ? STORE_NOT_FOUND : rc;
}

int pg__txn_webhook_delete(store_txn *t, const char *account, const char *id)
{
    pg_params p;
    int64_t changes;
    pg__p_init(&p);
    pg__p_text(&p, id);
    pg__p_text(&p, account);
    int rc = pg__txn_query(t, "DELETE FROM webhook_endpoints WHERE id = $1 AND account = $2", &p,
                           NULL, &changes, "webhook delete");
    if (rc != 0) return rc;
    if (changes == 0) return STORE_NOT_FOUND;
    /* CONTRACT.md §8: retries stop once the endpoint is deleted. Endpoint ids are unique across
     * accounts, so the id alone says which deliveries. */
    pg__p_init(&p);
    pg__p_text(&p, id);
    return pg__txn_query(t,
                         "UPDATE deliveries SET state = 2, next_attempt_ms = NULL"
                         " WHERE endpoint_id = $1 AND state = 0",
                         &p, NULL, NULL, "deliveries drop");
}

int pg__txn_forward_set(store_txn *t, const char *url, const char *new_secret, arena *a,
                        const char **secret)
{
    pg_params p;
    PGresult *res;
    *secret = NULL;
    if (url == NULL)
        return pg__txn_query(t,
                             "UPDATE webhook_endpoints SET disabled = 1"
                             " WHERE id = " FORWARD_SQL(STORE_FORWARD_ID),
                             NULL, NULL, NULL, "forward off");
    pg__p_init(&p);
    pg__p_int(&p, util_now());
    pg__p_text(&p, url);
    pg__p_text(&p, new_secret);
    int rc = pg__txn_query(t,
                           "INSERT INTO webhook_endpoints (" WEBHOOK_COLS
                           ") VALUES (" FORWARD_SQL(STORE_FORWARD_ID) ", " FORWARD_SQL(
                               STORE_FORWARD_ACCOUNT) ", 0, $1, 0, $2, $3, NULL,"
                                                      " NULL, chr(10) || '*' ||"
                                                      " chr(10), NULL, 1, NULL,"
                                                      " NULL, NULL, 0)"
                                                      " ON CONFLICT (id) DO"
                                                      " UPDATE SET url ="
                                                      " excluded.url,"
                                                      " disabled = 0"
                                                      " RETURNING secret",
                           &p, &res, NULL, "forward put");
    if (rc != 0) return rc;
    if (PQntuples(res) == 1)
        *secret = pg__col_text(res, 0, 0, a);
    else
        rc = STORE_EIO;
    PQclear(res);
    return rc;
}
