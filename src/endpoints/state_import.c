/*
 * state_import: loading a `verifyd.export` document (state_export.c) into an account, for
 * POST /v1/test_helpers/verifyd/import and `--seed` (CONTRACT.md §11 "Test control plane").
 *
 * Two steps, so that nothing is written unless all of it can be: endpoints__state_parse checks
 * the whole document on the calling thread (shape, counts, every record decodes, test mode only)
 * and builds the rows; endpoints__state_load inserts them inside one store job, which the caller
 * rolls back whole on the first clash. Ids are kept. Records are decoded and encoded again with
 * the target account, so that the columns the store filters on come from the record itself and
 * never from the document, and a record that does not decode is a 400 rather than a later 500.
 *
 * Not for: the HTTP answers (state.c) or the document's writer (state_export.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json_body.h"
#include "base/b64.h"
#include "endpoints/endpoints.h"
#include "identity/report_store.h"
#include "identity/session_store.h"

/* Item counts an import accepts (STYLE.md §4: bounded before anything is built for them). The
 * body itself is bounded by --max-body, a seed file by STATE_SEED_MAX_BYTES. */
#define STATE_MAX_SESSIONS 10000
#define STATE_MAX_REPORTS 10000
#define STATE_MAX_EVENTS 50000
#define STATE_SEED_MAX_BYTES (64LL << 20)

/* A document nests four deep (sessions, one session, its enabled_events) and a record is a few
 * KiB of base64; a body of --max-body bytes (at most 64 MiB) bounds the rest. */
const json_body_limits endpoints__state_json_limits = {
    .max_depth = 4,
    .max_values = 1000000,
    .max_key_len = 64,
    .max_value_len = 1 << 20,
};

struct endpoints__state_doc {
    const char *account;
    session *sessions;
    size_t n_sessions;
    report *reports;
    size_t n_reports;
    store_event *events;
    size_t n_events;
    store_webhook *hooks;
    size_t n_hooks;
};

typedef struct reader {
    arena *a;
    const char **errmsg;
} reader;

/* The document is refused: -1 with msg, or with fmt naming item i of the array where. */
static int bad(reader *r, const char *msg)
{
    *r->errmsg = msg;
    return -1;
}

static int bad_at(reader *r, const char *fmt, const char *where, size_t i)
{
    *r->errmsg = arena_printf(r->a, fmt, where, i);
    return -1;
}

/* A string member: NULL when absent, null or "" (json_body reads null as ""). */
static const char *str_of(const form_node *m, const char *key)
{
    const form_node *n = form_get(m, key);
    return n && n->kind == FORM_STR && n->len > 0 ? n->str : NULL;
}

static int int_of(const form_node *m, const char *key, int64_t *out)
{
    const char *s = str_of(m, key);
    if (s == NULL) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || !((s[0] >= '0' && s[0] <= '9') || s[0] == '-')) return -1;
    *out = v;
    return 0;
}

static int bool_of(const form_node *m, const char *key)
{
    const char *s = str_of(m, key);
    return s && strcmp(s, "true") == 0;
}

/* The array member key (an absent one is empty): 0 and its items, or -1 when it is not an
 * array of objects or holds more than max. */
static int array_of(reader *r, const form_node *doc, const char *key, size_t max,
                    const form_node ***items, size_t *n)
{
    const form_node *l = form_get(doc, key);
    *n = 0;
    if (l == NULL || (l->kind == FORM_STR && l->len == 0)) return 0;
    if (l->kind != FORM_LIST) {
        *r->errmsg = arena_printf(r->a, "%s must be an array", key);
        return -1;
    }
    if (l->count > max) {
        *r->errmsg = arena_printf(r->a, "%s holds %zu items; an import takes at most %zu", key,
                                  l->count, max);
        return -1;
    }
    *items = arena_alloc(r->a, (l->count ? l->count : 1) * sizeof **items);
    for (const form_node *c = l->first; c; c = c->next) {
        if (c->kind != FORM_MAP) return bad_at(r, "%s[%zu] must be an object", key, *n);
        (*items)[(*n)++] = c;
    }
    return 0;
}

/* A base64 member into *rec: 0, or -1 (bad base64; required and absent). */
static int record_of(reader *r, const form_node *m, const char *key, int required,
                     store_record *rec)
{
    const char *s = str_of(m, key);
    *rec = (store_record){NULL, 0};
    if (s == NULL) return required ? -1 : 0;
    return b64_decode(r->a, s, strlen(s), &rec->data, &rec->len);
}

static int parse_sessions(reader *r, const form_node *doc, endpoints__state_doc *d)
{
    const form_node **it;
    if (array_of(r, doc, "sessions", STATE_MAX_SESSIONS, &it, &d->n_sessions) != 0) return -1;
    d->sessions = arena_calloc(r->a, (d->n_sessions ? d->n_sessions : 1) * sizeof *d->sessions);
    for (size_t i = 0; i < d->n_sessions; i++) {
        store_record rec;
        session *s = &d->sessions[i];
        if (record_of(r, it[i], "record", 1, &rec) != 0 ||
            session_decode(r->a, rec.data, rec.len, s) != 0)
            return bad_at(r, "%s[%zu].record is not a stored session", "sessions", i);
        if (s->livemode) return bad_at(r, "%s[%zu] is a live-mode object", "sessions", i);
        s->account = d->account;
    }
    return 0;
}

static int parse_reports(reader *r, const form_node *doc, endpoints__state_doc *d)
{
    const form_node **it;
    if (array_of(r, doc, "reports", STATE_MAX_REPORTS, &it, &d->n_reports) != 0) return -1;
    d->reports = arena_calloc(r->a, (d->n_reports ? d->n_reports : 1) * sizeof *d->reports);
    for (size_t i = 0; i < d->n_reports; i++) {
        store_record rec;
        report *p = &d->reports[i];
        if (record_of(r, it[i], "record", 1, &rec) != 0 ||
            report_decode(r->a, rec.data, rec.len, p) != 0)
            return bad_at(r, "%s[%zu].record is not a stored report", "reports", i);
        if (p->livemode) return bad_at(r, "%s[%zu] is a live-mode object", "reports", i);
        p->account = d->account;
    }
    return 0;
}

static int parse_events(reader *r, const form_node *doc, endpoints__state_doc *d)
{
    const form_node **it;
    if (array_of(r, doc, "events", STATE_MAX_EVENTS, &it, &d->n_events) != 0) return -1;
    d->events = arena_calloc(r->a, (d->n_events ? d->n_events : 1) * sizeof *d->events);
    for (size_t i = 0; i < d->n_events; i++) {
        store_event *e = &d->events[i];
        int64_t pending = 0;
        e->id = str_of(it[i], "id");
        e->type = str_of(it[i], "type");
        e->object_id = str_of(it[i], "object_id");
        e->request_id = str_of(it[i], "request_id");
        e->idempotency_key = str_of(it[i], "idempotency_key");
        e->v2 = bool_of(it[i], "v2");
        e->account = d->account;
        if (e->id == NULL || strncmp(e->id, "evt_", 4) != 0 || e->type == NULL ||
            int_of(it[i], "created", &e->created) != 0 ||
            int_of(it[i], "pending_webhooks", &pending) != 0 || pending < 0 || pending > 1000)
            return bad_at(r, "%s[%zu] needs id, type, created and pending_webhooks", "events", i);
        if (bool_of(it[i], "livemode"))
            return bad_at(r, "%s[%zu] is a live-mode object", "events", i);
        e->pending_webhooks = (int)pending;
        /* The snapshot is the session as it was: re-encoded under the target account. */
        store_record rec;
        if (record_of(r, it[i], "snapshot", !e->v2, &rec) != 0)
            return bad_at(r, "%s[%zu].snapshot is not a stored session", "events", i);
        if (rec.len > 0) {
            session s;
            if (session_decode(r->a, rec.data, rec.len, &s) != 0)
                return bad_at(r, "%s[%zu].snapshot is not a stored session", "events", i);
            s.account = d->account;
            buf enc;
            buf_init(&enc, r->a);
            session_encode(&s, &enc);
            e->snapshot = (store_record){enc.data, enc.len};
        }
    }
    return 0;
}

static int parse_hooks(reader *r, const form_node *doc, endpoints__state_doc *d)
{
    const form_node **eps, **dests;
    size_t n_eps, n_dests;
    if (array_of(r, doc, "webhook_endpoints", ENDPOINTS_MAX, &eps, &n_eps) != 0 ||
        array_of(r, doc, "event_destinations", ENDPOINTS_MAX, &dests, &n_dests) != 0)
        return -1;
    d->n_hooks = n_eps + n_dests;
    d->hooks = arena_calloc(r->a, (d->n_hooks ? d->n_hooks : 1) * sizeof *d->hooks);
    for (size_t i = 0; i < d->n_hooks; i++) {
        int dest = i >= n_eps;
        const form_node *m = dest ? dests[i - n_eps] : eps[i];
        const char *kind = dest ? "event_destinations" : "webhook_endpoints";
        size_t k = dest ? i - n_eps : i;
        store_webhook *w = &d->hooks[i];
        w->account = d->account;
        w->destination = dest;
        w->id = str_of(m, "id");
        w->url = str_of(m, "url");
        w->secret = str_of(m, "secret");
        w->api_version = str_of(m, "api_version");
        w->description = str_of(m, "description");
        w->disabled = bool_of(m, "disabled");
        w->connect = !dest && bool_of(m, "connect");
        w->name = dest ? str_of(m, "name") : NULL;
        const char *payload = str_of(m, "event_payload");
        w->thin = dest && payload && strcmp(payload, "thin") == 0;
        if (dest && int_of(m, "updated_ms", &w->updated_ms) != 0) w->updated_ms = 0;
        if (w->id == NULL || w->url == NULL || w->secret == NULL ||
            int_of(m, "created", &w->created) != 0)
            return bad_at(r, "%s[%zu] needs id, url, secret and created", kind, k);
        if (bool_of(m, "livemode")) return bad_at(r, "%s[%zu] is a live-mode object", kind, k);
        if (record_of(r, m, "metadata", 0, &w->metadata) != 0)
            return bad_at(r, "%s[%zu].metadata is not a stored record", kind, k);
        const form_node *ev = form_get(m, "enabled_events");
        if (ev == NULL || ev->kind != FORM_LIST || ev->count == 0)
            return bad_at(r, "%s[%zu].enabled_events must be a non-empty array", kind, k);
        w->enabled_events = arena_alloc(r->a, ev->count * sizeof *w->enabled_events);
        for (const form_node *c = ev->first; c; c = c->next) {
            if (c->kind != FORM_STR || c->len == 0)
                return bad_at(r, "%s[%zu].enabled_events must hold names", kind, k);
            w->enabled_events[w->n_enabled_events++] = c->str;
        }
    }
    return 0;
}

int endpoints__state_parse(arena *a, const form_node *doc, const char *account,
                           endpoints__state_doc **out, const char **errmsg)
{
    reader r = {a, errmsg};
    int64_t format = 0;
    const char *object = str_of(doc, "object");
    if (object == NULL || strcmp(object, "verifyd.export") != 0)
        return bad(&r, "the document's object must be verifyd.export");
    if (int_of(doc, "format", &format) != 0 || format != ENDPOINTS_STATE_FORMAT) {
        *errmsg = arena_printf(a, "the document's format must be %d (this build's)",
                               ENDPOINTS_STATE_FORMAT);
        return -1;
    }
    if (bool_of(doc, "livemode")) return bad(&r, "only test-mode data is imported");
    endpoints__state_doc *d = arena_calloc(a, sizeof *d);
    d->account = account ? account : str_of(doc, "account");
    if (d->account == NULL || strlen(d->account) > 300 || strchr(d->account, '\n'))
        return bad(&r, "the document names no account");
    if (parse_sessions(&r, doc, d) != 0 || parse_reports(&r, doc, d) != 0 ||
        parse_events(&r, doc, d) != 0 || parse_hooks(&r, doc, d) != 0)
        return -1;
    *out = d;
    return 0;
}

const char *endpoints__state_account(const endpoints__state_doc *d)
{
    return d->account;
}

void endpoints__state_counts(const endpoints__state_doc *d, size_t counts[4])
{
    counts[0] = d->n_sessions;
    counts[1] = d->n_reports;
    counts[2] = d->n_events;
    counts[3] = d->n_hooks;
}

int endpoints__state_load(store_txn *t, arena *a, const endpoints__state_doc *d, const char **clash)
{
    int rc = 0;
    *clash = NULL;
    for (size_t i = 0; i < d->n_sessions && rc == 0; i++) {
        const session *s = &d->sessions[i];
        store_record rec;
        rc = session_store_insert(t, a, s, &rec);
        if (rc == STORE_EXISTS) *clash = s->id;
        /* A delayed outcome of the hosted page goes on waiting (CONTRACT.md §11). */
        if (rc == 0 && s->pending != SESSION_PENDING_NONE)
            rc = store_txn_outcome_set(t, s->account, s->id, s->pending_due);
    }
    for (size_t i = 0; i < d->n_reports && rc == 0; i++) {
        rc = report_store_insert(t, a, &d->reports[i]);
        if (rc == STORE_EXISTS) *clash = d->reports[i].id;
    }
    for (size_t i = 0; i < d->n_events && rc == 0; i++) {
        rc = store_txn_event_insert(t, &d->events[i]);
        if (rc == STORE_EXISTS) *clash = d->events[i].id;
    }
    for (size_t i = 0; i < d->n_hooks && rc == 0; i++) {
        rc = store_txn_webhook_insert(t, &d->hooks[i], ENDPOINTS_MAX);
        if (rc == STORE_EXISTS || rc == STORE_LIMIT) *clash = d->hooks[i].id;
    }
    return rc;
}

/* ---- --seed ---- */

typedef struct seed_job {
    arena *a;
    const endpoints__state_doc *d;
    const char *clash;
} seed_job;

/* The seeded account becomes exactly the document, also on a restart over the same data. */
static int seed_run(store_txn *t, void *ctx)
{
    seed_job *j = ctx;
    int rc = store_txn_account_reset(t, j->d->account, NULL);
    return rc != 0 ? rc : endpoints__state_load(t, j->a, j->d, &j->clash);
}

int state_seed(store *st, const char *path, arena *a, const char **errmsg)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *errmsg = arena_printf(a, "cannot open the seed file %s: %s", path, strerror(errno));
        return -1;
    }
    buf data;
    buf_init(&data, a);
    char chunk[65536];
    size_t got;
    int too_big = 0;
    while (!too_big && (got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if ((long long)(data.len + got) > STATE_SEED_MAX_BYTES)
            too_big = 1;
        else
            buf_append(&data, chunk, got);
    }
    int read_err = ferror(f);
    fclose(f);
    if (read_err || too_big) {
        *errmsg = arena_printf(a, "cannot read the seed file %s: %s", path,
                               too_big ? "larger than 64 MiB" : "read error");
        return -1;
    }
    form_node *doc;
    const char *msg = NULL;
    endpoints__state_doc *d;
    if (json_body_parse(a, data.len ? data.data : "", data.len, &endpoints__state_json_limits, &doc,
                        &msg) != 0 ||
        endpoints__state_parse(a, doc, NULL, &d, &msg) != 0) {
        *errmsg = arena_printf(a, "the seed file %s is not a verifyd export: %s", path, msg);
        return -1;
    }
    seed_job j = {a, d, NULL};
    int rc = store_run(st, seed_run, &j);
    if (rc == STORE_EXISTS || rc == STORE_LIMIT) {
        *errmsg = arena_printf(a, "the seed file %s: %s %s", path, j.clash,
                               rc == STORE_EXISTS ? "already exists in another account"
                                                  : "is beyond the account's endpoint limit");
        return -1;
    }
    if (rc != 0) {
        *errmsg = arena_printf(a, "the seed file %s could not be stored", path);
        return -1;
    }
    return 0;
}
