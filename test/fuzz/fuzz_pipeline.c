/*
 * fuzz_pipeline: libFuzzer harness for the whole request pipeline below the HTTP adapter:
 * api_handle() (routing, keys, form decoding, idempotency, expand, errors) and every handler of
 * endpoints/ on a real SQLite store, through the in-process HTTP fake (fuzz_http.h).
 *
 * An input is a few requests written like HTTP/1.1, separated by a line "===":
 *
 *   POST /v1/identity/verification_sessions
 *   Idempotency-Key: k1
 *
 *   type=document&metadata[a]=b
 *   ===
 *   POST /v1/test_helpers/identity/verification_sessions/$VS/verify
 *
 * Each request is a request line (method, a space, the target with its query), header lines
 * ("Name: value") up to a blank line, and the body. At most MAX_REQUESTS are sent, one after
 * the other, each answered before the next starts. Without an Authorization line the request
 * carries "Bearer $KEY"; an empty Authorization line sends none. A non-empty body without a
 * Content-Type line is sent as a form. In the target, headers and body these are replaced:
 *   $KEY  this input's own test key (sk_test_fz<n>): its own account, so inputs do not see each
 *         other's objects and an input replays the same way alone;
 *   $VS, $VR, $WE, $EVT  the last session, report, webhook endpoint and event id seen in an
 *         answer of this input; $ED, $EV2 the last v2 event destination and v2 event id; $ID the
 *         last answer's top-level "id";
 *   $TOK  the hosted-page token of the last session url seen (for /start/$TOK).
 * The keys file holds sk_live_fuzz (live), rk_live_fuzz and rk_test_fuzz (restricted), for the
 * live-mode and restricted paths; those accounts are shared by all inputs until the next reset,
 * so what an input does with them may depend on the inputs before it.
 *
 * Every answer must keep the promises fuzz_http_check lists (answered once, 200..499, Request-Id,
 * JSON with Stripe's error object); a 200 from a route that names an object in its path is that
 * object; only a POST (or a v2 DELETE) with an Idempotency-Key may be a replay, and on the input's
 * own account a replay is byte for byte an answer sent earlier under that key; and the
 * Idempotency-Key of one of the harness's keys must be free again once its answer has been sent
 * (store_idem_begin).
 *
 * State stays bounded: one store per process, on a temporary directory (under /dev/shm when it
 * exists, or VERIFYD_FUZZ_DIR), with synchronous = NORMAL (throwaway data, no fsync per commit),
 * recreated empty every RESET_EVERY inputs. No answer waits for a background worker, but the
 * redactor and the delayed outcomes are where redaction and the hosted page's delayed results are
 * carried out, so both run, with no delay configured, and each POST's answer is followed by
 * worker_sync on both: what it made due is done before the next request, the same way on every
 * run. The webhook delivery worker does not run (it would connect out); deliveries stay queued
 * until the next reset. The test clock is off: it is process-wide and only moves forward, so
 * inputs would not replay.
 *
 * With VERIFYD_FUZZ_TRACE set, each answer is printed (status and the start of the body), which
 * shows what a seed reaches: build/fuzz/fuzz_pipeline test/fuzz/corpus/pipeline/<file>.
 */
#include <errno.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_http.h"

#include "api/api.h"
#include "identity/account.h"
#include "background/outcomes.h"
#include "background/redactor.h"
#include "background/worker.h"
#include "base/log.h"
#include "endpoints/endpoints.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_REQUESTS 8
#define RESET_EVERY 20000
#define VAR_MAX 80

/* The keys file's keys and the accounts it names. */
static const char *const live_keys[][2] = {{"sk_live_fuzz", "acct_fuzz_live"},
                                           {"rk_live_fuzz", "acct_fuzz_live"},
                                           {"rk_test_fuzz", "acct_fuzz_test"}};
#define N_LIVE_KEYS (sizeof live_keys / sizeof *live_keys)

static char dir[256], data_dir[300];
static store *st;
static app ap;
static uint64_t inputs;
static int trace; /* VERIFYD_FUZZ_TRACE set: print each request's answer (for writing seeds) */

/* ---- the store ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* Stop the workers and close the store (either may be absent). */
static void stop_store(void)
{
    worker_stop(ap.redactor);
    worker_stop(ap.outcomes);
    ap.redactor = ap.outcomes = NULL;
    store_close(st);
    st = ap.st = NULL;
}

/* An empty store on data_dir, and the workers on it. */
static void fresh_store(void)
{
    stop_store();
    nftw(data_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    store_config cfg = {.data_dir = data_dir};
    cfg.sqlite.synchronous_normal = 1;
    const char *errmsg = NULL;
    if (store_open(&cfg, &st, &errmsg) != 0) {
        fprintf(stderr, "fuzz_pipeline: store_open: %s\n", errmsg);
        abort();
    }
    ap.st = st;
    ap.redactor = redactor_start(&ap);
    ap.outcomes = outcomes_start(&ap);
}

static void cleanup(void)
{
    stop_store();
    api_keyring_free(ap.keys);
    ap.keys = NULL;
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    log_level = LOG_ERROR;
    trace = getenv("VERIFYD_FUZZ_TRACE") != NULL;
    const char *base = getenv("VERIFYD_FUZZ_DIR");
    struct stat sb;
    if (base == NULL || base[0] == '\0')
        base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/verifyd-fuzz-XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "fuzz_pipeline: mkdtemp %s: %s\n", dir, strerror(errno));
        abort();
    }
    snprintf(data_dir, sizeof data_dir, "%s/data", dir);

    char keys_path[300];
    snprintf(keys_path, sizeof keys_path, "%s/keys", dir);
    FILE *out = fopen(keys_path, "w");
    if (out == NULL) abort();
    for (size_t i = 0; i < N_LIVE_KEYS; i++) {
        unsigned char d[UTIL_SHA256_LEN];
        char hex[2 * UTIL_SHA256_LEN + 1];
        util_sha256(live_keys[i][0], strlen(live_keys[i][0]), d);
        util_hex(d, sizeof d, hex);
        fprintf(out, "%s %s%s\n", hex, live_keys[i][1],
                live_keys[i][0][0] == 'r' ? " restricted" : "");
    }
    fclose(out);
    const char *errmsg = NULL;
    if (api_keyring_load(keys_path, &ap.keys, &errmsg) != 0) {
        fprintf(stderr, "fuzz_pipeline: keys: %s\n", errmsg);
        abort();
    }

    ap.public_url = "http://verifyd.test";
    ap.hosted_delay_ms = 0; /* delayed outcomes are due at once: the next sync completes them */
    ap.redaction_delay_ms = 0;
    ap.routes = endpoints_routes;
    ap.n_routes = endpoints_n_routes;
    fresh_store();
    atexit(cleanup);
    return 0;
}

/* ---- one input's variables ---- */

/* An answer sent under an Idempotency-Key of the input's own account, not as a replay. */
typedef struct answer {
    const char *idem;
    int status;
    const char *body;
    size_t len;
} answer;

typedef struct vars {
    char key[32];
    char vs[VAR_MAX], vr[VAR_MAX], we[VAR_MAX], evt[VAR_MAX], id[VAR_MAX], tok[VAR_MAX];
    char ed[VAR_MAX], ev2[VAR_MAX]; /* v2: an event destination, a v2 event */
    arena *a;                       /* the input's: the answers below */
    answer answers[MAX_REQUESTS];
    int n_answers;
} vars;

static void var_set(char *v, const char *s, size_t n)
{
    if (n >= VAR_MAX) n = VAR_MAX - 1;
    memcpy(v, s, n);
    v[n] = '\0';
}

/* 1 when s is an object id: prefix, then letters and digits only (a client_secret is not). */
static int is_id(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(s, prefix, n) != 0 || s[n] == '\0') return 0;
    for (s += n; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

/* 1 when s is a v2 object id: prefix, "test_" or "live_", then letters and digits only. */
static int is_v2_id(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(s, prefix, n) != 0) return 0;
    if (strncmp(s + n, "test_", 5) != 0 && strncmp(s + n, "live_", 5) != 0) return 0;
    char plain[VAR_MAX];
    snprintf(plain, sizeof plain, "x_%s", s + n + 5);
    return is_id(plain, "x_");
}

/* Remember what later requests may name: ids by their prefix, hosted-page tokens. */
static void vars_collect(vars *v, json_t *j, int depth)
{
    if (depth > 16) return;
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        size_t n = json_string_length(j);
        const char *start = strstr(s, "/start/");
        if (is_id(s, "vs_")) var_set(v->vs, s, n);
        if (is_id(s, "vr_")) var_set(v->vr, s, n);
        if (is_id(s, "we_")) var_set(v->we, s, n);
        if (is_id(s, "evt_")) var_set(v->evt, s, n);
        if (is_v2_id(s, "ed_")) var_set(v->ed, s, n);
        if (is_v2_id(s, "evt_")) var_set(v->ev2, s, n);
        if (start != NULL) var_set(v->tok, start + 7, strcspn(start + 7, "/?#"));
    } else if (json_is_object(j)) {
        const char *k;
        json_t *x;
        json_object_foreach(j, k, x) vars_collect(v, x, depth + 1);
    } else if (json_is_array(j)) {
        size_t i;
        json_t *x;
        json_array_foreach(j, i, x) vars_collect(v, x, depth + 1);
    }
}

/* s[0..n) with the variables replaced, in a (NUL-terminated; *out_len without the NUL). */
static char *subst(arena *a, const vars *v, const char *s, size_t n, size_t *out_len)
{
    /* "$EV2" before "$EVT"? No prefix of one is the other, so the order does not matter. */
    static const char *const names[] = {"$KEY", "$VS",  "$VR", "$WE", "$EVT",
                                        "$ID",  "$TOK", "$ED", "$EV2"};
    const char *values[] = {v->key, v->vs, v->vr, v->we, v->evt, v->id, v->tok, v->ed, v->ev2};
    buf b;
    buf_init(&b, a);
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        if (s[i] == '$') {
            while (k < sizeof names / sizeof *names &&
                   !(n - i >= strlen(names[k]) && memcmp(s + i, names[k], strlen(names[k])) == 0))
                k++;
        }
        if (s[i] == '$' && k < sizeof names / sizeof *names) {
            buf_puts(&b, values[k]);
            i += strlen(names[k]);
        } else {
            buf_putc(&b, s[i]);
            i++;
        }
    }
    buf_putc(&b, '\0');
    if (out_len != NULL) *out_len = b.len - 1;
    return b.data;
}

/* ---- one request ---- */

/* The next line of [*p, end): its start and length without "\r\n"; *p moves past it. */
static const char *next_line(const char **p, const char *end, size_t *len)
{
    const char *s = *p;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *e = nl != NULL ? nl : end;
    *p = nl != NULL ? nl + 1 : end;
    *len = (size_t)(e - s);
    if (*len > 0 && s[*len - 1] == '\r') (*len)--;
    return s;
}

/* The account of a known key in "Bearer <key>", or NULL. */
static const char *known_account(arena *a, const char *auth)
{
    if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0) return NULL;
    const char *key = auth + 7;
    for (size_t i = 0; i < N_LIVE_KEYS; i++)
        if (strcmp(key, live_keys[i][0]) == 0) return live_keys[i][1];
    if (strncmp(key, "sk_test_fz", 10) != 0) return NULL;
    for (const char *c = key + 10; *c; c++)
        if (*c < '0' || *c > '9') return NULL;
    /* api.c: open test mode names the account after the key's hash. */
    unsigned char d[UTIL_SHA256_LEN];
    char hex[2 * UTIL_SHA256_LEN + 1];
    util_sha256(key, strlen(key), d);
    util_hex(d, sizeof d, hex);
    return arena_printf(a, "acct_t%.24s", hex);
}

/* The routes whose path names an object: a 200 from one of them is that object (or, for a test
 * helper, the session it moved on). */
static const char *const id_routes[] = {"/v1/identity/verification_sessions/",
                                        "/v1/test_helpers/identity/verification_sessions/",
                                        "/v1/identity/verification_reports/",
                                        "/v1/events/",
                                        "/v1/webhook_endpoints/",
                                        "/v2/core/event_destinations/",
                                        "/v2/core/events/"};

static void check_object_id(const http_request *r, json_t *j)
{
    if (r->status != 200) return;
    for (size_t i = 0; i < sizeof id_routes / sizeof *id_routes; i++) {
        size_t n = strlen(id_routes[i]);
        if (strncmp(r->path, id_routes[i], n) != 0) continue;
        const char *seg = r->path + n;
        size_t len = strcspn(seg, "/");
        const char *id = json_string_value(json_object_get(j, "id"));
        /* A destination's ping answers with the v2 event it sent, about the destination. */
        if (strcmp(seg + len, "/ping") == 0)
            id = json_string_value(json_object_get(json_object_get(j, "related_object"), "id"));
        if (id == NULL || strlen(id) != len || memcmp(id, seg, len) != 0)
            fuzz_http_fail(r, "a 200 for another object than the path names");
        return;
    }
}

/* Stripe replays the answer first sent under a key: byte for byte one of the answers this
 * input's own account got under that key (its account is new, so nothing older exists). */
static void check_replay(vars *v, const http_request *r, const char *idem)
{
    const char *auth = http_header(r, "Authorization");
    if (idem == NULL || strcmp(r->method, "POST") != 0 || auth == NULL ||
        strncmp(auth, "Bearer ", 7) != 0 || strcmp(auth + 7, v->key) != 0)
        return;
    if (fuzz_http_resp_header(r, "Idempotent-Replayed") == NULL) {
        if (v->n_answers == MAX_REQUESTS) return;
        answer *an = &v->answers[v->n_answers++];
        an->idem = arena_strdup(v->a, idem);
        an->status = r->status;
        an->body = arena_strndup(v->a, r->resp_body, r->resp_len);
        an->len = r->resp_len;
        return;
    }
    for (int i = 0; i < v->n_answers; i++) {
        const answer *an = &v->answers[i];
        if (strcmp(an->idem, idem) == 0 && an->status == r->status && an->len == r->resp_len &&
            memcmp(an->body, r->resp_body, an->len) == 0)
            return;
    }
    fuzz_http_fail(r, "a replay of no answer sent under its key");
}

/* Send the request written in [s, end) and check its answer. */
static void send_one(vars *v, const char *s, const char *end)
{
    arena *a = arena_new();
    size_t n;
    const char *line = next_line(&s, end, &n);
    const char *sp = memchr(line, ' ', n);
    size_t mlen = sp != NULL ? (size_t)(sp - line) : n;
    const char *method = subst(a, v, line, mlen, NULL);
    const char *target = sp != NULL ? subst(a, v, sp + 1, n - mlen - 1, NULL) : "/";
    const char *q = strchr(target, '?');
    const char *path = q != NULL ? arena_strndup(a, target, (size_t)(q - target)) : target;

    const char *names[FAKE_MAX_HEADERS], *values[FAKE_MAX_HEADERS];
    int nh = 0, has_auth = 0, has_ct = 0;
    while (s < end) {
        line = next_line(&s, end, &n);
        if (n == 0) break; /* the blank line: the body follows */
        const char *colon = memchr(line, ':', n);
        if (colon == NULL || nh == FAKE_MAX_HEADERS - 2) continue;
        const char *val = colon + 1;
        while (val < line + n && *val == ' ')
            val++;
        names[nh] = arena_strndup(a, line, (size_t)(colon - line));
        values[nh] = subst(a, v, val, (size_t)(line + n - val), NULL);
        if (strcasecmp(names[nh], "Authorization") == 0) {
            has_auth = 1;
            if (values[nh][0] == '\0') continue; /* an empty line: no key at all */
        }
        has_ct |= strcasecmp(names[nh], "Content-Type") == 0;
        nh++;
    }
    size_t body_len;
    const char *body = subst(a, v, s, (size_t)(end - s), &body_len);

    http_request *r = fuzz_http_request(method, path, q != NULL ? q + 1 : "", body, body_len);
    for (int i = 0; i < nh; i++)
        fuzz_http_header(r, names[i], values[i]);
    if (!has_auth) fuzz_http_header(r, "Authorization", arena_printf(a, "Bearer %s", v->key));
    if (!has_ct && body_len > 0)
        fuzz_http_header(r, "Content-Type", "application/x-www-form-urlencoded");

    api_handle(r, &ap);
    fuzz_http_wait(r);
    if (strcmp(r->method, "POST") == 0) {
        worker_sync(ap.redactor);
        worker_sync(ap.outcomes);
    }
    json_t *j = fuzz_http_check(r);
    if (trace)
        fprintf(stderr, "fuzz_pipeline: %s %s?%s -> %d %.*s\n", r->method, r->path, r->query,
                r->status, (int)(r->resp_len < 2000 ? r->resp_len : 2000), r->resp_body);
    if (j != NULL) {
        check_object_id(r, j);
        v->id[0] = '\0';
        json_t *id = json_object_get(j, "id");
        if (json_is_string(id)) var_set(v->id, json_string_value(id), json_string_length(id));
        vars_collect(v, j, 0);
        json_decref(j);
    }

    /* Only a POST (or a v2 DELETE) with a key can be a replay; and the key is free again once
     * the answer is decided (api.h). */
    const char *idem = http_header(r, "Idempotency-Key");
    int keyed = strcmp(r->method, "POST") == 0 ||
                (strcmp(r->method, "DELETE") == 0 && strncmp(r->path, "/v2/", 4) == 0);
    if (fuzz_http_resp_header(r, "Idempotent-Replayed") != NULL && (idem == NULL || !keyed))
        fuzz_http_fail(r, "a replay without an Idempotency-Key");
    check_replay(v, r, idem);
    const char *account = known_account(a, http_header(r, "Authorization"));
    /* api.c: Stripe-Account (or v2's Stripe-Context) moves the request to that namespace. */
    const char *connected = http_header(r, "Stripe-Account");
    if (connected == NULL || *connected == '\0') connected = http_header(r, "Stripe-Context");
    if (account != NULL && account_id_ok(connected))
        account = account_connected_ns(a, account, connected);
    if (idem != NULL && account != NULL) {
        int found;
        store_idem saved;
        int rc = store_idem_begin(st, account, idem, a, &found, &saved);
        if (rc == STORE_BUSY)
            fuzz_http_fail(r, "the Idempotency-Key is still held after the answer");
        if (rc == 0) store_idem_end(st, account, idem);
    }
    fuzz_http_free(r);
    arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char sep[] = "\n===\n";
    if (++inputs % RESET_EVERY == 0) fresh_store();

    vars v;
    memset(&v, 0, sizeof v);
    v.a = arena_new();
    snprintf(v.key, sizeof v.key, "sk_test_fz%llu", (unsigned long long)inputs);
    /* Odd sizes render pretty-printed JSON: the writer's other layout. Nothing of the previous
     * input is running now, so the change is seen whole by this one. */
    ap.pretty_json = (int)(size & 1);

    const char *s = (const char *)data, *end = s + size;
    for (int i = 0; i < MAX_REQUESTS && s < end; i++) {
        const char *e = memmem(s, (size_t)(end - s), sep, sizeof sep - 1);
        send_one(&v, s, e != NULL ? e : end);
        if (e == NULL) break;
        s = e + sizeof sep - 1;
    }
    arena_free(v.a);
    return 0;
}
