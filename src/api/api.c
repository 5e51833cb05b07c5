/*
 * api: Stripe's wire conventions for every endpoint: routing, API keys and accounts, request
 * IDs, form decoding, idempotency keys, expand[] and the error object. CONTRACT.md §1, §11.
 *
 * Not for: any resource's rules (sessions.c and friends) or storage (store.h).
 */
#include "api/api.h"
#include "api/json_body.h"
#include "api/internal.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"
#include "identity/account.h"
#include "identity/account_clock.h"

#define KEY_MAX 255
/* What Stripe appends to its unknown-route 404. */
#define UNKNOWN_ROUTE_HELP                                                                         \
    "Please see https://stripe.com/docs or we can help at https://support.stripe.com/."

/* ---- configured keys (live and restricted) ---- */

typedef struct keyring_entry {
    unsigned char hash[SHA256_DIGEST_LENGTH];
    char *account;
    int restricted;
} keyring_entry;

struct api_keyring {
    keyring_entry *v;
    size_t n;
};

static void sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char d[UTIL_SHA256_LEN];
    util_sha256(data, n, d);
    util_hex(d, sizeof d, out);
}

static int hex_to_bytes(const char *hex, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
            sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return hex[2 * n] == '\0' ? 0 : -1;
}

int api_keyring_load(const char *path, api_keyring **out, const char **errmsg)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        *errmsg = "cannot open the keys file";
        return -1;
    }
    api_keyring *k = xcalloc(1, sizeof *k);
    char line[1024];
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        char hash[128], account[256], flag[64] = "";
        if (line[0] == '#' || line[0] == '\n') continue;
        int got = sscanf(line, "%127s %255s %63s", hash, account, flag);
        if (got < 2 || strlen(hash) != 64 || (got == 3 && strcmp(flag, "restricted") != 0) ||
            strchr(account, '/') != NULL) {
            /* '/' separates a connected account's namespace from its platform's (account.h). */
            *errmsg = "keys file: each line is '<sha256 hex of key> <account> [restricted]', "
                      "the account without '/'";
            rc = -1;
            break;
        }
        k->v = xrealloc(k->v, (k->n + 1) * sizeof *k->v);
        keyring_entry *e = &k->v[k->n];
        if (hex_to_bytes(hash, e->hash, sizeof e->hash) != 0) {
            *errmsg = "keys file: bad sha256 hex";
            rc = -1;
            break;
        }
        e->account = xstrdup(account);
        e->restricted = got == 3;
        k->n++;
    }
    fclose(f);
    if (rc != 0) {
        api_keyring_free(k);
        return -1;
    }
    *out = k;
    return 0;
}

void api_keyring_free(api_keyring *k)
{
    if (!k) return;
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i].account);
    free(k->v);
    free(k);
}

/* ---- responses ---- */

void api_json_begin(api_ctx *c, json_writer *w, buf *out)
{
    buf_init(out, c->a);
    json_init(w, out, c->app->pretty_json);
}

/* What every answer shares: sent once, with its Request-Id, and one access-log line (a hosted-
 * page token in the path is a credential and is never logged). */
static void send_response(api_ctx *c, int status, const char *content_type, const char *body,
                          size_t len)
{
    if (c->responded) abort(); /* a handler answered twice: a programming error */
    c->responded = 1;
    http_request *req = c->req;
    http_add_header(req, "Request-Id", c->request_id);
    int64_t us = util_mono_us() - http_start_us(req);
    metrics_request(c->route ? c->route : "unmatched", http_method(req), status, us);
    if (log_enabled(LOG_INFO)) {
        const char *lp =
            strncmp(http_path(req), "/start/", 7) == 0 ? "/start/[token]" : http_path(req);
        log_msg(LOG_INFO, "method=%s path=%s status=%d ms=%.3f request_id=%s",
                log_value(c->a, http_method(req)), log_value(c->a, lp), status, (double)us / 1000.0,
                c->request_id);
    }
    http_respond(req, status, content_type, body, len);
}

/* An API answer: Stripe's headers, then send_response. */
static void respond(api_ctx *c, int status, const char *body, size_t len)
{
    http_request *req = c->req;
    /* CONTRACT.md §11 "Versions": the version the answer was rendered for. */
    http_add_header(req, "Stripe-Version", c->version ? c->version : API_VERSION_DEFAULT);
    http_add_header(req, "Cache-Control", "no-cache, no-store");
    if (c->should_retry)
        http_add_header(req, "Stripe-Should-Retry", c->should_retry);
    else if (status == 409 || status >= 500)
        http_add_header(req, "Stripe-Should-Retry", "true");
    if (c->idem_held) { /* the key is free again once the answer is decided */
        c->idem_held = 0;
        store_idem_end(c->app->st, c->account, c->idem_key);
    }
    if (c->answer_hook) { /* api_call: the caller answers (api.h) */
        void (*hook)(api_ctx *, int, const char *, size_t) = c->answer_hook;
        c->answer_hook = NULL;
        hook(c, status, body, len);
        return;
    }
    send_response(c, status, "application/json", body, len);
}

void api_respond_json(api_ctx *c, int status, const buf *body)
{
    respond(c, status, body->data, body->len);
}

void api_render_error(api_ctx *c, const apierr *e, buf *out)
{
    json_writer w;
    api_json_begin(c, &w, out);
    apierr_render(e, c->request_id, &w);
}

void api_respond_error(api_ctx *c, const apierr *e)
{
    buf out;
    api_render_error(c, e, &out);
    respond(c, e->status, out.data, out.len);
}

int api_idem_save(api_ctx *c, store_txn *t, const api_result *res)
{
    if (!c->idem_key) return 0;
    store_idem v;
    memcpy(v.fingerprint, c->idem_fingerprint, sizeof v.fingerprint);
    v.status = res->status;
    v.body = res->body.data;
    v.body_len = res->body.len;
    v.created = account_clock_now(c->account); /* expiry follows the account's clock */
    v.object_id = res->object_id;
    /* A key may be reused once its record is 24 h old (CONTRACT.md §1), even before the
     * background prune has removed that record. A younger record saved meanwhile (by a request
     * on another process) wins: the job rolls back and api_finish answers with that one. */
    c->idem_saved = arena_calloc(c->a, sizeof *c->idem_saved);
    return store_txn_idem_put(t, c->account, c->idem_key, &v, v.created - IDEM_TTL_S, c->a,
                              c->idem_saved);
}

int api_job_error(api_ctx *c, store_txn *t, api_result *res, const apierr *e)
{
    res->status = e->status;
    api_render_error(c, e, &res->body);
    return api_idem_save(c, t, res);
}

/* Answer with the response saved under c's key: its replay, or Stripe's 400 when the key was
 * first used with other parameters. */
static void idem_answer_saved(api_ctx *c, const store_idem *saved)
{
    if (strcmp(saved->fingerprint, c->idem_fingerprint) != 0) {
        apierr e;
        apierr_set(&e, c->a, 400, "idempotency_error", NULL, NULL,
                   "Keys for idempotent requests can only be used with the same parameters "
                   "they were first used with. Try using a key other than '%s' if you meant "
                   "to execute a different request.",
                   c->idem_key);
        api_respond_error(c, &e);
        return;
    }
    http_add_header(c->req, "Idempotent-Replayed", "true");
    respond(c, saved->status, saved->body, saved->body_len);
}

void api_finish(api_ctx *c, const api_result *res, int rc)
{
    if (rc == STORE_EXISTS && c->idem_saved != NULL && c->idem_saved->body != NULL) {
        idem_answer_saved(c, c->idem_saved);
        return;
    }
    if (rc == STORE_CONFLICT) {
        /* Another change to the object came first (another process): Stripe's answer to
         * concurrent changes of one object, which the SDKs retry. */
        apierr e;
        apierr_set(&e, c->a, 429, "invalid_request_error", "lock_timeout", NULL,
                   "This object cannot be accessed right now because another API request or "
                   "Stripe process is currently accessing it. If you see this error "
                   "intermittently, retry the request. If you see this error frequently and "
                   "are making multiple concurrent requests to a single object, make your "
                   "requests serially or at a lower rate.");
        api_respond_error(c, &e);
        return;
    }
    if (rc != 0) {
        int gone = rc == STORE_UNAVAILABLE;
        apierr e;
        apierr_set(&e, c->a, gone ? 503 : 500, "api_error", NULL, NULL, "%s",
                   gone ? "The database files were removed or replaced while verifyd was running, "
                          "so it accepts no writes until it is restarted. The request was not "
                          "saved."
                        : "An error occurred with our connection to the database. The request "
                          "was not saved; it is safe to retry.");
        api_respond_error(c, &e);
        return;
    }
    respond(c, res->status, res->body.data, res->body.len);
}

void api_err_state(api_ctx *c, apierr *e, const char *action, const char *allowed,
                   const char *current)
{
    apierr_set(e, c->a, 400, "invalid_request_error", NULL, NULL,
               "You can only %s a VerificationSession while its status is %s; this one is %s.",
               action, allowed, current);
}

int api_require_test_mode(api_ctx *c)
{
    if (!c->livemode) return 0;
    /* Stripe: CONTRACT.md §11: test helpers are for test mode only. */
    apierr e;
    apierr_invalid(&e, c->a, NULL, NULL,
                   "Test helpers can only be used with a test-mode key; this request used a "
                   "live-mode key.");
    api_respond_error(c, &e);
    return -1;
}

void api_err_missing(api_ctx *c, apierr *e, const char *object, const char *param, const char *id)
{
    apierr_set(e, c->a, 404, "invalid_request_error", "resource_missing", param, "No such %s: '%s'",
               object, id);
}

int api_read_failed(api_ctx *c, int rc, const char *object, const char *param)
{
    if (rc == 0) return 0;
    if (rc == STORE_NOT_FOUND) {
        apierr e;
        api_err_missing(c, &e, object, param, c->path_id);
        api_respond_error(c, &e);
    } else {
        api_finish(c, NULL, rc);
    }
    return 1;
}

/* ---- lists ---- */

int api_page_read(api_ctx *c, api_page *p)
{
    memset(p, 0, sizeof *p);
    p->limit = (int)params_int(c->params, "limit", PAGE_LIMIT_DEFAULT);
    p->starting_after = params_str(c->params, "starting_after");
    p->ending_before = params_str(c->params, "ending_before");
    params_range r;
    params_get_range(c->params, "created", &r);
    p->created = (store_range){r.has_eq, r.has_gt, r.has_gte, r.has_lt, r.has_lte,
                               r.eq,     r.gt,     r.gte,     r.lt,     r.lte};
    if (p->starting_after && p->ending_before) {
        apierr e;
        apierr_invalid(&e, c->a, NULL, "ending_before",
                       "You may only specify one of these parameters: ending_before, "
                       "starting_after.");
        api_respond_error(c, &e);
        return -1;
    }
    return 0;
}

void api_list_fail(api_ctx *c, const api_page *p, const char *object, int rc)
{
    if (rc != STORE_CURSOR) {
        api_finish(c, NULL, rc);
        return;
    }
    apierr e;
    const char *cursor = p->starting_after ? p->starting_after : p->ending_before;
    apierr_set(&e, c->a, 400, "invalid_request_error", "resource_missing",
               p->starting_after ? "starting_after" : "ending_before", "No such %s: '%s'", object,
               cursor);
    api_respond_error(c, &e);
}

/* The list envelope around the items: begin starts res (status 200) with
 * {"object":"list","data":[ ; end closes it with has_more and url. */
static void list_begin(api_ctx *c, json_writer *w, api_result *res)
{
    res->status = 200;
    api_json_begin(c, w, &res->body);
    json_obj_begin(w);
    json_kstr(w, "object", "list");
    json_key(w, "data");
    json_arr_begin(w);
}

static void list_end(json_writer *w, int has_more, const char *url)
{
    json_arr_end(w);
    json_kbool(w, "has_more", has_more);
    json_kstr(w, "url", url);
    json_obj_end(w);
}

void api_list_answer(api_ctx *c, const api_page *p, const char *object, const char *url, int rc,
                     const void *items, size_t n, size_t item_size, int has_more,
                     api_item_render render, void *ctx)
{
    if (rc != 0) {
        api_list_fail(c, p, object, rc);
        return;
    }
    api_result res;
    json_writer w;
    list_begin(c, &w, &res);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = render(ctx, (const char *)items + i * item_size, &w);
    if (rc == 0) list_end(&w, has_more, url);
    api_finish(c, &res, rc);
}

void api_v2_list_answer(api_ctx *c, const void *items, size_t n, size_t item_size,
                        api_item_render render, void *ctx, const char *next, const char *prev)
{
    api_result res = {.status = 200};
    json_writer w;
    int rc = 0;
    api_json_begin(c, &w, &res.body);
    json_obj_begin(&w);
    json_key(&w, "data");
    json_arr_begin(&w);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = render(ctx, (const char *)items + i * item_size, &w);
    if (rc == 0) {
        json_arr_end(&w);
        json_kstr(&w, "next_page_url", next);
        json_kstr(&w, "previous_page_url", prev);
        json_obj_end(&w);
    }
    api_finish(c, &res, rc);
}

/* ---- expand[] (CONTRACT.md §11 "Expand") ---- */

int api_expand(api_ctx *c, const char *const *names, int list, unsigned *flags, apierr *e)
{
    *flags = 0;
    form_node *node = form_get(c->params, "expand");
    if (!node) return 0;
    const form_node **items;
    size_t n = params_array(node, c->a, &items);
    for (size_t i = 0; i < n; i++) {
        const char *path = items[i]->str;
        const char *param = arena_printf(c->a, "expand[%zu]", i);
        int levels = 1;
        for (const char *p = path; *p; p++)
            levels += *p == '.';
        if (levels > 4)
            return apierr_invalid(e, c->a, "property_expansion_max_depth", param,
                                  "You cannot expand more than 4 levels of a property. "
                                  "Property: %s",
                                  path);
        /* In a list an item's field needs "data." in front. */
        int item_field = list && strncmp(path, "data.", 5) != 0;
        const char *field = list && !item_field ? path + 5 : path;
        size_t flen = strcspn(field, ".");
        int found = 0;
        for (int b = 0; names[b]; b++) {
            if (strlen(names[b]) == flen && strncmp(names[b], field, flen) == 0) {
                *flags |= 1u << b;
                found = 1;
            }
        }
        if (!found) goto bad;
        /* Stripe's answer names the path that would work (as its list 400s quoted in public
         * code read). */
        if (item_field)
            return apierr_invalid(e, c->a, NULL, param,
                                  "This property cannot be expanded (%s). You may want to try "
                                  "expanding 'data.%s' instead.",
                                  path, path);
        continue;
    bad:
        return apierr_invalid(e, c->a, NULL, param, "This property cannot be expanded (%s).", path);
    }
    return 0;
}

/* ---- authentication (CONTRACT.md §1 "Base and authentication", §11 "Keys and accounts") ---- */

static const char *NO_KEY_MSG =
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details, or we can help at "
    "https://support.stripe.com/.";

/* Masks a key for messages: its prefix up to the second '_', "****", its last four. */
static const char *mask_key(arena *a, const char *key)
{
    size_t n = strlen(key);
    const char *u1 = strchr(key, '_');
    const char *u2 = u1 ? strchr(u1 + 1, '_') : NULL;
    size_t prefix = u2 ? (size_t)(u2 - key) + 1 : 0;
    if (n <= prefix + 4 || n > KEY_MAX)
        return arena_printf(a, "%.*s****", (int)(prefix < 16 ? prefix : 0), key);
    return arena_printf(a, "%.*s****%s", (int)prefix, key, key + n - 4);
}

static int key_chars_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        if (!isalnum((unsigned char)s[n]) && s[n] != '_') return 0;
    }
    return n >= 1 && n <= 247;
}

static const char *extract_key(api_ctx *c)
{
    const char *h = http_header(c->req, "Authorization");
    if (!h) return NULL;
    if (strncasecmp(h, "Bearer ", 7) == 0) {
        h += 7;
        while (*h == ' ')
            h++;
        return *h ? arena_strndup(c->a, h, strnlen(h, KEY_MAX + 1)) : NULL;
    }
    if (strncasecmp(h, "Basic ", 6) == 0) {
        const char *b64 = h + 6;
        while (*b64 == ' ')
            b64++;
        size_t n = strlen(b64);
        if (n == 0 || n > 4 * (KEY_MAX + 8) / 3 + 4) return NULL;
        unsigned char *out = arena_alloc(c->a, n + 1);
        int len = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
        if (len < 0) return NULL;
        while (len > 0 && out[len - 1] == '\0' && b64[n - 1] == '=') /* base64 padding */
            len--, n--;
        out[len] = '\0';
        char *colon = strchr((char *)out, ':');
        if (colon) *colon = '\0';
        return out[0] ? (const char *)out : NULL;
    }
    return NULL;
}

/* Stripe: CONTRACT.md §11 "Keys and accounts": with `Stripe-Account: acct_…` the request acts on
 * that connected account, its own namespace under the platform's. Stripe-Context is v2's name
 * for the same header (the SDK sends it to fetch a thin event's related object). 0, or -1 with
 * *e. */
static int connected_account(api_ctx *c, const char *key, apierr *e)
{
    const char *id = http_header(c->req, "Stripe-Account");
    if (id == NULL || *id == '\0') id = http_header(c->req, "Stripe-Context");
    if (id == NULL || *id == '\0') return 0;
    if (!account_id_ok(id)) {
        size_t n = strnlen(id, 80);
        return apierr_set(e, c->a, 403, "invalid_request_error", "account_invalid", NULL,
                          "The provided key '%s' does not have access to account '%.*s' (or that "
                          "account does not exist). Application access may have been revoked.",
                          mask_key(c->a, key), (int)n,
                          util_utf8_valid(id, n) ? id : "(invalid UTF-8)");
    }
    c->account = account_connected_ns(c->a, c->account, id);
    return 0;
}

/* Returns 0 with c->account/livemode set, or -1 with *e. */
static int authenticate(api_ctx *c, apierr *e)
{
    const char *key = extract_key(c);
    if (!key)
        return apierr_set(e, c->a, 401, "invalid_request_error", NULL, NULL, "%s", NO_KEY_MSG);
    return api_authenticate_key(c, key, e);
}

int api_authenticate_key(api_ctx *c, const char *key, apierr *e)
{
    size_t n = strlen(key);
    if (strncmp(key, "pk_", 3) == 0)
        return apierr_set(e, c->a, 403, "invalid_request_error", "secret_key_required", NULL,
                          "This API call cannot be made with a publishable API key. Please use a "
                          "secret API key. You can find a list of your API keys at "
                          "https://dashboard.stripe.com/account/apikeys.");
    if (n <= KEY_MAX && strncmp(key, "sk_test_", 8) == 0 && key_chars_ok(key + 8)) {
        /* Open test mode: every test key is its own account, named by its hash. */
        char hex[65];
        sha256_hex(key, n, hex);
        c->account = arena_printf(c->a, "acct_t%.24s", hex);
        c->livemode = 0;
        return connected_account(c, key, e);
    }
    if (c->app->keys && n <= KEY_MAX &&
        (strncmp(key, "sk_live_", 8) == 0 || strncmp(key, "rk_live_", 8) == 0 ||
         strncmp(key, "rk_test_", 8) == 0)) {
        unsigned char d[UTIL_SHA256_LEN];
        util_sha256(key, n, d);
        const keyring_entry *match = NULL;
        for (size_t i = 0; i < c->app->keys->n; i++) {
            if (util_ct_equal(d, c->app->keys->v[i].hash, sizeof d)) match = &c->app->keys->v[i];
        }
        if (match) {
            c->account = match->account;
            c->livemode = strstr(key, "_live_") != NULL;
            c->restricted = match->restricted || key[0] == 'r';
            return connected_account(c, key, e);
        }
    }
    return apierr_set(e, c->a, 401, "invalid_request_error", NULL, NULL,
                      "Invalid API Key provided: %s", mask_key(c->a, key));
}

/* ---- routing ---- */

/* Matches path against r; sets *id (arena) for routes with an id segment. */
static int route_match(api_ctx *c, const api_route *r, const char *path, const char **id)
{
    size_t plen = strlen(r->prefix);
    if (strncmp(path, r->prefix, plen) != 0) return 0;
    const char *rest = path + plen;
    if (!r->suffix) return *rest == '\0';
    size_t idlen = strcspn(rest, "/");
    if (idlen == 0 || strcmp(rest + idlen, r->suffix) != 0) return 0;
    *id = arena_strndup(c->a, rest, idlen);
    return 1;
}

/* r's path as a pattern, "{id}" standing for the id segment (the /metrics route label). */
static const char *route_pattern(arena *a, const api_route *r)
{
    return r->suffix ? arena_printf(a, "%s{id}%s", r->prefix, r->suffix) : r->prefix;
}

void api_respond_unknown_route(api_ctx *c)
{
    apierr e;
    const char *path = http_path(c->req);
    size_t plen = strnlen(path, 512);
    /* Stripe's wording, help sentence included (CONTRACT.md §1 "Typical messages"). */
    apierr_set(&e, c->a, 404, "invalid_request_error", NULL, NULL,
               "Unrecognized request URL (%s: %.*s). " UNKNOWN_ROUTE_HELP, http_method(c->req),
               (int)plen, util_utf8_valid(path, plen) ? path : "(invalid UTF-8)");
    e.bare = 1;
    api_respond_error(c, &e);
}

int api_call(api_ctx *c, const char *method, const char *path, const char *form)
{
    app *ap = c->app;
    const api_route *r = NULL;
    const char *id = NULL;
    for (size_t i = 0; i < ap->n_routes && !r; i++) {
        const api_route *ri = &ap->routes[i];
        if (!ri->page && strcmp(ri->method, method) == 0 && route_match(c, ri, path, &id)) r = ri;
    }
    const char *msg;
    form_node *params;
    if (!r || form_parse(c->a, form, strlen(form), &form_default_limits, &params, &msg) != 0)
        return -1;
    c->path_id = id;
    c->params = params;
    r->fn(c);
    return 0;
}

int api_is_v2(const api_ctx *c)
{
    return strncmp(http_path(c->req), "/v2/", 4) == 0;
}

static int decode_params(api_ctx *c, apierr *e)
{
    const char *data;
    size_t len;
    int is_post = strcmp(http_method(c->req), "POST") == 0;
    if (is_post && api_is_v2(c)) {
        /* Stripe: the v2 namespace takes JSON bodies (docs api-v2-overview, "Send data to the
         * API"; the SDKs send Content-Type: application/json). */
        data = http_body(c->req, &len);
        const char *ct = http_header(c->req, "Content-Type");
        if (len > 0 && (!ct || strncasecmp(ct, "application/json", 16) != 0))
            return apierr_invalid(e, c->a, NULL, NULL,
                                  "Invalid request: the v2 API takes JSON request bodies "
                                  "(Content-Type: application/json).");
        const char *msg;
        if (json_body_parse(c->a, data, len, NULL, &c->params, &msg) != 0)
            return apierr_invalid(e, c->a, NULL, NULL, "Invalid request: %s", msg);
        return 0;
    }
    if (is_post) {
        data = http_body(c->req, &len);
        const char *ct = http_header(c->req, "Content-Type");
        if (len > 0 && (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0))
            return apierr_invalid(
                e, c->a, NULL, NULL,
                "Invalid request: the Stripe API takes request bodies form-encoded "
                "(Content-Type: application/x-www-form-urlencoded), for example "
                "`type=document&metadata[order]=6735`. JSON and multipart bodies are not "
                "accepted.");
        if (len == 0) {
            data = http_query(c->req);
            len = strlen(data);
        }
    } else {
        data = http_query(c->req);
        len = strlen(data);
    }
    const char *msg;
    if (form_parse(c->a, data, len, &form_default_limits, &c->params, &msg) != 0)
        return apierr_invalid(e, c->a, NULL, NULL, "Invalid request: %s", msg);
    return 0;
}

/* A raw_body route's parameters: none (the empty map). */
static int raw_params(api_ctx *c)
{
    const char *msg;
    return form_parse(c->a, "", 0, NULL, &c->params, &msg);
}

/* Idempotency (CONTRACT.md §1, §11): returns 1 when the request was answered here (replay,
 * conflict, bad key), 0 to go on. */
static int idempotency_begin(api_ctx *c)
{
    const char *key = http_header(c->req, "Idempotency-Key");
    /* Stripe: v1 keys POSTs only; the v2 SDKs also key every DELETE (stripe-node
     * RequestSender._defaultIdempotencyKey), and v2 treats both alike. */
    int keyed = strcmp(http_method(c->req), "POST") == 0 ||
                (api_is_v2(c) && strcmp(http_method(c->req), "DELETE") == 0);
    if (!key || !keyed) return 0;
    apierr e;
    if (strlen(key) > IDEM_KEY_MAX || !util_utf8_valid(key, strlen(key))) {
        apierr_invalid(&e, c->a, NULL, NULL,
                       "Invalid idempotency key: keys must be at most %d characters long.",
                       IDEM_KEY_MAX);
        api_respond_error(c, &e);
        return 1;
    }
    c->idem_key = arena_strdup(c->a, key);
    {
        /* The request's identity: its path, its query string (where a POST without a body
         * carries its parameters) and its body, exactly as sent. */
        size_t len;
        const char *body = http_body(c->req, &len);
        buf whole;
        buf_init(&whole, c->a);
        buf_append(&whole, http_path(c->req), strlen(http_path(c->req)) + 1);
        buf_append(&whole, http_query(c->req), strlen(http_query(c->req)) + 1);
        buf_append(&whole, body, len);
        unsigned char d[UTIL_SHA256_LEN];
        util_sha256(whole.data, whole.len, d);
        util_hex(d, sizeof d, c->idem_fingerprint);
    }
    int found;
    store_idem saved;
    int rc = store_idem_begin(c->app->st, c->account, c->idem_key, c->a, &found, &saved);
    if (rc == STORE_BUSY) {
        /* Stripe's wording and type (invalid_request_error: idempotency_error is for a key
         * reused with other parameters), as its 409 bodies quoted in public issues read. */
        apierr_set(&e, c->a, 409, "invalid_request_error", "idempotency_key_in_use", NULL,
                   "There is currently another in-progress request using this Idempotent Key "
                   "(that probably means you submitted twice, and the other request is still "
                   "going through): %s. Please try again later.",
                   key);
        c->idem_key = NULL; /* not ours to release */
        api_respond_error(c, &e);
        return 1;
    }
    if (rc != 0) {
        c->idem_key = NULL;
        api_finish(c, NULL, rc);
        return 1;
    }
    c->idem_held = 1;
    if (found && saved.created >= account_clock_now(c->account) - IDEM_TTL_S) {
        idem_answer_saved(c, &saved);
        return 1;
    }
    return 0; /* none saved, or only one older than 24 h: this request runs */
}

/* From the idempotency key on: the request runs its handler (or replays a saved answer). */
static void run_route(api_ctx *c, const api_route *r)
{
    if (idempotency_begin(c)) return;
    r->fn(c);
}

void api_handle(http_request *req, void *userdata)
{
    app *ap = userdata;
    arena *a = http_arena(req);
    api_ctx *c = arena_calloc(a, sizeof *c);
    c->app = ap;
    c->req = req;
    c->a = a;
    char rid[32];
    ids_random(rid, sizeof rid, "req_", 14);
    c->request_id = arena_strdup(a, rid);

    apierr e;
    const char *method = http_method(req);
    const char *path = http_path(req);
    const api_route *r = NULL;
    for (size_t i = 0; i < ap->n_routes && !r; i++) {
        const api_route *ri = &ap->routes[i];
        if (strcmp(ri->method, method) == 0 && route_match(c, ri, path, &c->path_id)) r = ri;
    }
    if (r) c->route = route_pattern(a, r);
    const char *framing = http_framing_error(req);
    if (framing) { /* bare, as for an unknown route: the request never got as far as a route */
        apierr_set(&e, a, 400, "invalid_request_error", NULL, NULL, "%s", framing);
        e.bare = 1;
        api_respond_error(c, &e);
        return;
    }
    if (http_body_too_large(req)) {
        apierr_set(&e, a, 413, "invalid_request_error", NULL, NULL,
                   "Request body too large: verifyd accepts request bodies up to the configured "
                   "limit.");
        api_respond_error(c, &e);
        return;
    }
    /* CONTRACT.md §11 "Versions": only real versions; absent or empty means the default. */
    const char *version = http_header(req, "Stripe-Version");
    if (version && *version && !api_version_known(version)) {
        size_t vlen = strnlen(version, 64);
        apierr_set(&e, a, 400, "invalid_request_error", NULL, NULL,
                   "Invalid Stripe API version: %.*s", (int)vlen,
                   util_utf8_valid(version, vlen) ? version : "(invalid UTF-8)");
        api_respond_error(c, &e);
        return;
    }
    c->version = version && *version ? version : NULL;
    if (!r) {
        api_respond_unknown_route(c);
        return;
    }
    if (r->page) { /* the token in the path is the page's credential */
        r->fn(c);
        return;
    }
    if (authenticate(c, &e) != 0 || (r->raw_body ? raw_params(c) : decode_params(c, &e)) != 0) {
        api_respond_error(c, &e);
        return;
    }
    /* CONTRACT.md §11 "Test control plane": a fault rule answers before the idempotency key
     * is held, so a faulted request neither runs nor is saved under its key. */
    if (api__fault_gate(c, r, run_route)) return;
    run_route(c, r);
}

/* --- expand paths below the first level, page responses --- */

int api_validate(api_ctx *c, const param_spec *spec, const char *const *expandable, int list,
                 unsigned *flags)
{
    apierr e;
    unsigned unused;
    if (params_validate(c->params, spec, c->a, &e) != 0 ||
        api_expand(c, expandable, list, flags != NULL ? flags : &unused, &e) != 0) {
        api_respond_error(c, &e);
        return -1;
    }
    return 0;
}

int api_expand_path(api_ctx *c, const char *path, int list)
{
    form_node *node = form_get(c->params, "expand");
    if (!node) return 0;
    const form_node **items;
    size_t n = params_array(node, c->a, &items);
    for (size_t i = 0; i < n; i++) {
        const char *p = items[i]->str;
        if (!p) continue;
        if (list) {
            if (strncmp(p, "data.", 5) != 0) continue;
            p += 5;
        }
        if (strcmp(p, path) == 0) return 1;
    }
    return 0;
}

void api_respond_page(api_ctx *c, int status, const char *content_type, const buf *body)
{
    api_respond_html(c, status, content_type,
                     "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                     "base-uri 'none'; frame-ancestors 'none'",
                     "no-referrer", body);
}

void api_respond_html(api_ctx *c, int status, const char *content_type, const char *csp,
                      const char *referrer_policy, const buf *body)
{
    http_request *req = c->req;
    http_add_header(req, "Cache-Control", "no-store");
    /* The token in the URL is a credential: never sent on as a Referer, never framed. */
    http_add_header(req, "Referrer-Policy", referrer_policy);
    http_add_header(req, "X-Frame-Options", "DENY");
    http_add_header(req, "X-Content-Type-Options", "nosniff");
    http_add_header(req, "Content-Security-Policy", csp);
    send_response(c, status, content_type, body->data, body->len);
}

void api_respond_framed_page(api_ctx *c, int status, const char *content_type, const buf *body,
                             const char *ancestor, const char *nonce)
{
    http_request *req = c->req;
    http_add_header(req, "Cache-Control", "no-store");
    /* Why this page may be framed, and by whom (CONTRACT.md §11 "Test control plane"): it is the
     * hosted page opened by the Stripe.js stand-in's modal, whose credential (the client_secret)
     * the framing app already holds, so framing gives that app nothing it could not do itself.
     * Clickjacking by anyone else is what frame-ancestors still prevents: only the one origin
     * the app named may frame it, X-Frame-Options is left out because it cannot name an
     * origin (and a DENY would win in older browsers). Everything else stays as on every page:
     * no Referer, no caching, no sniffing, no outside assets, forms post only back to this
     * server, and the only script is the page's own, under a nonce. */
    http_add_header(req, "Referrer-Policy", "no-referrer");
    http_add_header(req, "X-Content-Type-Options", "nosniff");
    http_add_header(req, "Content-Security-Policy",
                    arena_printf(c->a,
                                 "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                                 "base-uri 'none'; form-action 'self'; script-src 'nonce-%s'; "
                                 "frame-ancestors %s",
                                 nonce, ancestor));
    send_response(c, status, content_type, body->data, body->len);
}
