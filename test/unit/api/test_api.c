/*
 * test_api: Stripe's wire conventions as api.c implements them, driven through api_handle()
 * with the in-process HTTP fake (fake_http.h) on a real store:
 *
 *  - the keys file: good lines, comments and blank lines, bad hashes, bad flags; configured keys
 *    name their account (two keys may share one) and their mode, unconfigured live keys are
 *    refused;
 *  - authentication: none, Bearer, Basic, publishable keys, malformed keys (masked, never echoed),
 *    open test mode's one account per key;
 *  - routing: unknown URLs and methods, the headers every answer carries, 413, non-form bodies;
 *  - idempotency: replay with Idempotent-Replayed, different parameters, the path as part of the
 *    request's identity, per-account scope, nothing saved for a validation error, the 24 h
 *    expiry, the 409 for a key still in flight;
 *  - expand[] validation and exact expand paths, the error object, list paging (limit bounds,
 *    both cursors, unknown cursors).
 *
 * Not for: the session endpoints' own rules (test_sessions_api.c) or the hosted page
 * (test_hosted_page.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_http.h"

#include <unistd.h>

#include "api/form.h"

static int setup(void **state)
{
    *state = fake_fixture_new();
    return 0;
}

static int teardown(void **state)
{
    fake_fixture_free(*state);
    return 0;
}

#define SESSIONS "/v1/identity/verification_sessions"

/* Create a document session with key; returns its id (in a). */
static const char *create(api_fixture *f, const char *key, arena *a)
{
    http_request *r = fake_call(&f->ap, "POST", SESSIONS, "type=document", key);
    assert_int_equal(r->status, 200);
    json_t *j = fake_json(r);
    const char *id = arena_strdup(a, jstr(j, "id"));
    json_decref(j);
    fake_free(r);
    return id;
}

/* GET path with key: the status. */
static int get_status(api_fixture *f, const char *target, const char *key)
{
    http_request *r = fake_call(&f->ap, "GET", target, NULL, key);
    int status = r->status;
    fake_free(r);
    return status;
}

/* ---- the keys file ---- */

static void key_line(FILE *out, const char *key, const char *rest)
{
    unsigned char d[UTIL_SHA256_LEN];
    char hex[65];
    util_sha256(key, strlen(key), d);
    util_hex(d, sizeof d, hex);
    fprintf(out, "%s %s\n", hex, rest);
}

static const char *write_file(api_fixture *f, const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fputs(text, out);
    fclose(out);
    return path;
}

static void test_keyring_good_file(void **state)
{
    api_fixture *f = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/keys", f->dir);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fputs("# operator keys\n\n", out);
    key_line(out, "sk_live_one", "acct_shared");
    fputs("#", out);
    key_line(out, "sk_live_commented", "acct_commented"); /* a commented-out line */
    key_line(out, "rk_live_two", "acct_shared restricted");
    key_line(out, "rk_test_three", "acct_other");
    fclose(out);

    const char *err = NULL;
    assert_int_equal(api_keyring_load(path, &f->ap.keys, &err), 0);
    assert_non_null(f->ap.keys);

    arena *a = arena_new();
    /* A configured live key: its account and live mode. */
    http_request *r = fake_call(&f->ap, "POST", SESSIONS, "type=document", "sk_live_one");
    assert_int_equal(r->status, 200);
    json_t *j = fake_json(r);
    assert_true(json_is_true(jpath(j, "livemode")));
    const char *id = arena_printf(a, SESSIONS "/%s", jstr(j, "id"));
    json_decref(j);
    fake_free(r);
    /* Another key of the same account sees it; a key of another account does not. */
    assert_int_equal(get_status(f, id, "rk_live_two"), 200);
    assert_int_equal(get_status(f, id, "rk_test_three"), 404);
    /* The file's account is used, not a hash of the key: an open-test-mode key is elsewhere. */
    assert_int_equal(get_status(f, id, "sk_test_one"), 404);

    /* A configured test-mode restricted key is test mode. */
    r = fake_call(&f->ap, "POST", SESSIONS, "type=document", "rk_test_three");
    assert_int_equal(r->status, 200);
    j = fake_json(r);
    assert_true(json_is_false(jpath(j, "livemode")));
    json_decref(j);
    fake_free(r);

    /* The commented-out line, and a live key not in the file, are refused. */
    assert_int_equal(get_status(f, SESSIONS, "sk_live_commented"), 401);
    assert_int_equal(get_status(f, SESSIONS, "sk_live_unknown_key"), 401);
    arena_free(a);
}

static void test_keyring_bad_files(void **state)
{
    api_fixture *f = *state;
    char good[160], hex[65];
    unsigned char d[UTIL_SHA256_LEN];
    util_sha256("sk_live_x", 9, d);
    util_hex(d, sizeof d, hex);
    snprintf(good, sizeof good, "%s acct_x\n", hex);

    const char *bad[] = {
        "abc acct_x\n",                                                               /* short */
        "a245b332a780393cd4fafdcb467e7bb40ae2880f160782704d5bc2fdcab6bd8 acct_x\n",   /* 63 */
        "a245b332a780393cd4fafdcb467e7bb40ae2880f160782704d5bc2fdcab6bd8f0 acct_x\n", /* 65 */
        "g245b332a780393cd4fafdcb467e7bb40ae2880f160782704d5bc2fdcab6bd8f acct_x\n",  /* not hex */
        "a245b332a780393cd4fafdcb467e7bb40ae2880f160782704d5bc2fdcab6bd8f acct_x admin\n",
        "a245b332a780393cd4fafdcb467e7bb40ae2880f160782704d5bc2fdcab6bd8f\n", /* no account */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        api_keyring *k = (api_keyring *)0x1;
        const char *err = NULL;
        const char *path = write_file(f, "bad", bad[i]);
        assert_int_equal(api_keyring_load(path, &k, &err), -1);
        assert_non_null(err);
        assert_ptr_equal(k, (api_keyring *)0x1); /* *out untouched on failure */
    }
    /* One bad line refuses the whole file, even after good ones. */
    char text[400];
    snprintf(text, sizeof text, "%s%s", good, bad[4]);
    api_keyring *k = NULL;
    const char *err = NULL;
    assert_int_equal(api_keyring_load(write_file(f, "mixed", text), &k, &err), -1);
    assert_null(k);
    /* A missing file. */
    err = NULL;
    snprintf(text, sizeof text, "%s/none", f->dir);
    assert_int_equal(api_keyring_load(text, &k, &err), -1);
    assert_non_null(err);
    /* The good line alone loads. */
    assert_int_equal(api_keyring_load(write_file(f, "good", good), &k, &err), 0);
    api_keyring_free(k);
    api_keyring_free(NULL);
}

/* ---- authentication ---- */

static void test_authentication(void **state)
{
    api_fixture *f = *state;
    arena *a = arena_new();

    /* No key. */
    http_request *r = fake_call(&f->ap, "GET", SESSIONS, NULL, NULL);
    assert_int_equal(r->status, 401);
    json_t *j = fake_json(r);
    assert_string_equal(jstr(j, "error.type"), "invalid_request_error");
    assert_non_null(strstr(jstr(j, "error.message"), "You did not provide an API key"));
    json_decref(j);
    fake_free(r);

    const char *id = create(f, "sk_test_alpha", a);
    const char *path = arena_printf(a, SESSIONS "/%s", id);

    /* Basic auth with the key as user name (with or without the colon) is the same account. */
    const char *basic[] = {
        "Basic c2tfdGVzdF9hbHBoYTo=", "Basic c2tfdGVzdF9hbHBoYQ==", "basic   c2tfdGVzdF9hbHBoYTo="};
    for (size_t i = 0; i < 3; i++) {
        r = fake_request("GET", path, NULL);
        fake_header(r, "Authorization", basic[i]);
        fake_send(&f->ap, r);
        assert_int_equal(r->status, 200);
        fake_free(r);
    }
    r = fake_request("GET", path, NULL);
    fake_header(r, "Authorization", "bearer   sk_test_alpha");
    fake_send(&f->ap, r);
    assert_int_equal(r->status, 200);
    fake_free(r);

    /* Each test key is its own account. */
    assert_int_equal(get_status(f, path, "sk_test_beta"), 404);
    assert_int_equal(get_status(f, path, "sk_test_alph"), 404);

    /* A publishable key: 403 secret_key_required. */
    r = fake_call(&f->ap, "GET", SESSIONS, NULL, "pk_test_alpha");
    assert_int_equal(r->status, 403);
    j = fake_json(r);
    assert_string_equal(jstr(j, "error.code"), "secret_key_required");
    json_decref(j);
    fake_free(r);

    /* A malformed test key, and a live key with no keys file: 401, the key masked. */
    r = fake_call(&f->ap, "GET", SESSIONS, NULL, "sk_test_bad-key-1234");
    assert_int_equal(r->status, 401);
    j = fake_json(r);
    assert_string_equal(jstr(j, "error.message"), "Invalid API Key provided: sk_test_****1234");
    json_decref(j);
    assert_null(strstr(fake_body(r), "bad-key"));
    fake_free(r);
    r = fake_call(&f->ap, "GET", SESSIONS, NULL, "sk_live_secretpart9876");
    assert_int_equal(r->status, 401);
    assert_null(strstr(fake_body(r), "secretpart"));
    assert_non_null(strstr(fake_body(r), "sk_live_****9876"));
    fake_free(r);

    /* Open test mode takes sk_test_ and 1..247 of [A-Za-z0-9_]. */
    assert_int_equal(get_status(f, SESSIONS, "sk_test_"), 401);
    char longkey[300] = "sk_test_";
    memset(longkey + 8, 'x', 247);
    longkey[8 + 247] = '\0';
    assert_int_equal(get_status(f, SESSIONS, longkey), 200);
    longkey[8 + 247] = 'x';
    longkey[8 + 248] = '\0';
    assert_int_equal(get_status(f, SESSIONS, longkey), 401);
    assert_int_equal(get_status(f, SESSIONS, "sk_test_A_b_9"), 200);

    /* An empty Bearer, and an unknown scheme, are "no key". */
    const char *none[] = {"Bearer ", "Token sk_test_alpha", "Basic "};
    for (size_t i = 0; i < 3; i++) {
        r = fake_request("GET", SESSIONS, NULL);
        fake_header(r, "Authorization", none[i]);
        fake_send(&f->ap, r);
        assert_int_equal(r->status, 401);
        assert_non_null(strstr(fake_body(r), "You did not provide an API key"));
        fake_free(r);
    }
    arena_free(a);
}

/* ---- routing and the headers of every answer ---- */

static void test_routing_and_headers(void **state)
{
    api_fixture *f = *state;
    /* Unknown URLs are answered before authentication. */
    http_request *r = fake_call(&f->ap, "GET", "/v1/nope", NULL, NULL);
    assert_int_equal(r->status, 404);
    json_t *j = fake_json(r);
    assert_string_equal(jstr(j, "error.message"),
                        "Unrecognized request URL (GET: /v1/nope). Please see "
                        "https://stripe.com/docs or we can help at https://support.stripe.com/.");
    assert_string_equal(jstr(j, "error.type"), "invalid_request_error");
    assert_null(jpath(j, "error.code"));
    json_decref(j);
    const char *rid = fake_resp_header(r, "Request-Id");
    assert_non_null(rid);
    assert_int_equal(strncmp(rid, "req_", 4), 0);
    assert_int_equal(strlen(rid), 4 + 14);
    fake_free(r);

    /* A known path with the wrong method, a trailing slash, an extra segment. */
    const char *m[][2] = {{"DELETE", SESSIONS},
                          {"GET", SESSIONS "/"},
                          {"POST", SESSIONS "/vs_1/cancel/x"},
                          {"GET", SESSIONS "/vs_1/cancel"},
                          {"PUT", SESSIONS}};
    for (size_t i = 0; i < sizeof m / sizeof *m; i++) {
        r = fake_call(&f->ap, m[i][0], m[i][1], NULL, "sk_test_r");
        assert_int_equal(r->status, 404);
        assert_non_null(strstr(fake_body(r), "Unrecognized request URL"));
        fake_free(r);
    }
    /* The id segment routes: a missing session is the resource's 404. */
    r = fake_call(&f->ap, "POST", SESSIONS "/vs_missing/cancel", NULL, "sk_test_r");
    assert_int_equal(r->status, 404);
    j = fake_json(r);
    assert_string_equal(jstr(j, "error.code"), "resource_missing");
    assert_string_equal(jstr(j, "error.param"), "session");
    assert_string_equal(jstr(j, "error.message"), "No such verification_session: 'vs_missing'");
    json_decref(j);
    fake_free(r);

    /* Stripe-Version: the default, or the request's own; no caching; distinct request ids. */
    r = fake_call(&f->ap, "GET", SESSIONS, NULL, "sk_test_r");
    assert_int_equal(r->status, 200);
    assert_string_equal(fake_resp_header(r, "Stripe-Version"), API_VERSION_DEFAULT);
    assert_string_equal(fake_resp_header(r, "Cache-Control"), "no-cache, no-store");
    assert_string_equal(r->content_type, "application/json");
    assert_null(fake_resp_header(r, "Stripe-Should-Retry"));
    char first[32];
    snprintf(first, sizeof first, "%s", fake_resp_header(r, "Request-Id"));
    fake_free(r);
    r = fake_request("GET", SESSIONS, NULL);
    fake_header(r, "Authorization", "Bearer sk_test_r");
    fake_header(r, "Stripe-Version", "2024-06-20");
    fake_send(&f->ap, r);
    assert_string_equal(fake_resp_header(r, "Stripe-Version"), "2024-06-20");
    assert_string_not_equal(fake_resp_header(r, "Request-Id"), first);
    fake_free(r);
}

static void test_body_checks(void **state)
{
    api_fixture *f = *state;
    /* Over max_body (the adapter says so): 413, whatever the route. */
    http_request *r = fake_request("POST", SESSIONS, "type=document");
    fake_header(r, "Authorization", "Bearer sk_test_b");
    fake_header(r, "Content-Type", "application/x-www-form-urlencoded");
    r->too_large = 1;
    fake_send(&f->ap, r);
    assert_int_equal(r->status, 413);
    fake_free(r);

    /* JSON and multipart bodies are refused with a 400 that says so; nothing is created. */
    const char *types[] = {"application/json", "multipart/form-data; boundary=x", NULL};
    for (size_t i = 0; i < 3; i++) {
        r = fake_request("POST", SESSIONS, "{\"type\":\"document\"}");
        fake_header(r, "Authorization", "Bearer sk_test_b");
        if (types[i]) fake_header(r, "Content-Type", types[i]);
        fake_send(&f->ap, r);
        assert_int_equal(r->status, 400);
        assert_non_null(strstr(fake_body(r), "form-encoded"));
        fake_free(r);
    }
    r = fake_call(&f->ap, "GET", SESSIONS, NULL, "sk_test_b");
    json_t *j = fake_json(r);
    assert_int_equal(json_array_size(jpath(j, "data")), 0);
    json_decref(j);
    fake_free(r);

    /* A POST without a body takes its parameters from the query string. */
    r = fake_call(&f->ap, "POST", SESSIONS "?type=id_number", NULL, "sk_test_b");
    assert_int_equal(r->status, 200);
    j = fake_json(r);
    assert_string_equal(jstr(j, "type"), "id_number");
    json_decref(j);
    fake_free(r);
}

/* ---- idempotency ---- */

static http_request *post_idem(api_fixture *f, const char *path, const char *body, const char *key,
                               const char *idem)
{
    http_request *r = fake_request("POST", path, body);
    fake_header(r, "Authorization", arena_printf(r->a, "Bearer %s", key));
    if (body && *body) fake_header(r, "Content-Type", "application/x-www-form-urlencoded");
    if (idem) fake_header(r, "Idempotency-Key", idem);
    fake_send(&f->ap, r);
    return r;
}

static size_t count_sessions(api_fixture *f, const char *key)
{
    http_request *r = fake_call(&f->ap, "GET", SESSIONS "?limit=100", NULL, key);
    assert_int_equal(r->status, 200);
    json_t *j = fake_json(r);
    size_t n = json_array_size(jpath(j, "data"));
    json_decref(j);
    fake_free(r);
    return n;
}

static void test_idempotency_replay_and_conflicts(void **state)
{
    api_fixture *f = *state;
    http_request *a = post_idem(f, SESSIONS, "type=document&metadata[n]=1", "sk_test_i", "k1");
    assert_int_equal(a->status, 200);
    assert_null(fake_resp_header(a, "Idempotent-Replayed"));
    http_request *b = post_idem(f, SESSIONS, "type=document&metadata[n]=1", "sk_test_i", "k1");
    assert_int_equal(b->status, 200);
    assert_string_equal(fake_resp_header(b, "Idempotent-Replayed"), "true");
    assert_int_equal(b->resp_len, a->resp_len);
    assert_memory_equal(b->resp_body, a->resp_body, a->resp_len);
    assert_int_equal(count_sessions(f, "sk_test_i"), 1);
    fake_free(b);

    /* Same key, different parameters: 400 idempotency_error, nothing created. */
    b = post_idem(f, SESSIONS, "type=document&metadata[n]=2", "sk_test_i", "k1");
    assert_int_equal(b->status, 400);
    json_t *j = fake_json(b);
    assert_string_equal(jstr(j, "error.type"), "idempotency_error");
    json_decref(j);
    fake_free(b);
    assert_int_equal(count_sessions(f, "sk_test_i"), 1);

    /* Keys are per account: another key's k1 is a request of its own. */
    b = post_idem(f, SESSIONS, "type=document&metadata[n]=1", "sk_test_other", "k1");
    assert_int_equal(b->status, 200);
    assert_null(fake_resp_header(b, "Idempotent-Replayed"));
    json_t *ja = fake_json(a), *jb = fake_json(b);
    assert_string_not_equal(jstr(ja, "id"), jstr(jb, "id"));
    json_decref(ja);
    json_decref(jb);
    fake_free(b);
    fake_free(a);

    /* The path is part of the request: the same key and body on another object's path is a
     * conflict, not a replay of the first object's answer. An error answered after execution
     * started (the 404) is what gets saved and replayed. */
    a = post_idem(f, SESSIONS "/vs_missing1/cancel", NULL, "sk_test_i", "k2");
    assert_int_equal(a->status, 404);
    b = post_idem(f, SESSIONS "/vs_missing1/cancel", NULL, "sk_test_i", "k2");
    assert_int_equal(b->status, 404);
    assert_string_equal(fake_resp_header(b, "Idempotent-Replayed"), "true");
    fake_free(b);
    b = post_idem(f, SESSIONS "/vs_missing2/cancel", NULL, "sk_test_i", "k2");
    assert_int_equal(b->status, 400);
    j = fake_json(b);
    assert_string_equal(jstr(j, "error.type"), "idempotency_error");
    json_decref(j);
    assert_null(strstr(fake_body(b), "vs_missing1"));
    fake_free(b);
    fake_free(a);

    /* A validation error is not saved: the key is still free for a valid request. */
    a = post_idem(f, SESSIONS, "type=bogus", "sk_test_i", "k3");
    assert_int_equal(a->status, 400);
    fake_free(a);
    a = post_idem(f, SESSIONS, "type=document", "sk_test_i", "k3");
    assert_int_equal(a->status, 200);
    assert_null(fake_resp_header(a, "Idempotent-Replayed"));
    fake_free(a);

    /* Keys up to 255 characters. */
    char key[300];
    memset(key, 'k', sizeof key);
    key[256] = '\0';
    a = post_idem(f, SESSIONS, "type=document", "sk_test_i", key);
    assert_int_equal(a->status, 400);
    assert_non_null(strstr(fake_body(a), "Invalid idempotency key"));
    fake_free(a);
    key[255] = '\0';
    a = post_idem(f, SESSIONS, "type=document", "sk_test_i", key);
    assert_int_equal(a->status, 200);
    fake_free(a);

    /* GET ignores the header. */
    for (int i = 0; i < 2; i++) {
        a = fake_request("GET", SESSIONS, NULL);
        fake_header(a, "Authorization", "Bearer sk_test_i");
        fake_header(a, "Idempotency-Key", "kget");
        fake_send(&f->ap, a);
        assert_int_equal(a->status, 200);
        assert_null(fake_resp_header(a, "Idempotent-Replayed"));
        fake_free(a);
    }
}

/* A POST without a body takes its parameters from the query string (decode_params), so they
 * are part of what the key was first used with: other query parameters under the same key are
 * a conflict, not a replay of the first answer. */
static void test_idempotency_query_string_parameters(void **state)
{
    api_fixture *f = *state;
    http_request *a = post_idem(f, SESSIONS "?type=document", NULL, "sk_test_q", "kq");
    assert_int_equal(a->status, 200);
    fake_free(a);
    http_request *b = post_idem(f, SESSIONS "?type=id_number", NULL, "sk_test_q", "kq");
    if (b->status != 400)
        fprintf(stderr, "a different query under the same key got %d%s: %s\n", b->status,
                fake_resp_header(b, "Idempotent-Replayed") ? " (replayed)" : "", fake_body(b));
    assert_int_equal(b->status, 400);
    json_t *j = fake_json(b);
    assert_string_equal(jstr(j, "error.type"), "idempotency_error");
    json_decref(j);
    fake_free(b);
}

/* A record older than 24 h is no longer replayed: the key runs the request again, and that
 * new answer is the one replayed from then on. */
static void test_idempotency_expiry(void **state)
{
    api_fixture *f = *state;
    http_request *a = post_idem(f, SESSIONS, "type=document", "sk_test_x", "kx");
    assert_int_equal(a->status, 200);
    util_clock_advance((IDEM_TTL_S - 60) * 1000LL);
    http_request *b = post_idem(f, SESSIONS, "type=document", "sk_test_x", "kx");
    assert_string_equal(fake_resp_header(b, "Idempotent-Replayed"), "true");
    fake_free(b);

    util_clock_advance(61 * 1000LL);
    b = post_idem(f, SESSIONS, "type=document", "sk_test_x", "kx");
    assert_int_equal(b->status, 200);
    assert_null(fake_resp_header(b, "Idempotent-Replayed"));
    json_t *ja = fake_json(a), *jb = fake_json(b);
    assert_string_not_equal(jstr(ja, "id"), jstr(jb, "id"));
    http_request *c = post_idem(f, SESSIONS, "type=document", "sk_test_x", "kx");
    assert_string_equal(fake_resp_header(c, "Idempotent-Replayed"), "true");
    json_t *jc = fake_json(c);
    assert_string_equal(jstr(jc, "id"), jstr(jb, "id"));
    json_decref(ja);
    json_decref(jb);
    json_decref(jc);
    fake_free(a);
    fake_free(b);
    fake_free(c);
    assert_int_equal(count_sessions(f, "sk_test_x"), 2);
}

/* A store job that holds the writer until released. */
typedef struct blocker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running, released;
} blocker;

static int block_fn(store_txn *t, void *arg)
{
    (void)t;
    blocker *b = arg;
    pthread_mutex_lock(&b->mu);
    b->running = 1;
    pthread_cond_broadcast(&b->cv);
    while (!b->released)
        pthread_cond_wait(&b->cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
    return 0;
}

static void block_done(void *arg, int rc)
{
    (void)rc;
    blocker *b = arg;
    pthread_mutex_lock(&b->mu);
    b->running = 2;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

/* While a request with a key is still running, a second one with that key gets 409 at once
 * (retryable); in another account the same key does not conflict. */
static void test_idempotency_in_flight(void **state)
{
    api_fixture *f = *state;
    blocker bl = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    store_submit(f->st, block_fn, block_done, &bl);
    pthread_mutex_lock(&bl.mu);
    while (!bl.running)
        pthread_cond_wait(&bl.cv, &bl.mu);
    pthread_mutex_unlock(&bl.mu);

    http_request *first = fake_request("POST", SESSIONS, "type=document");
    fake_header(first, "Authorization", "Bearer sk_test_f");
    fake_header(first, "Content-Type", "application/x-www-form-urlencoded");
    fake_header(first, "Idempotency-Key", "kf");
    api_handle(first, &f->ap); /* its job waits behind the blocker */
    assert_int_equal(first->responses, 0);

    http_request *other = fake_request("POST", SESSIONS, "type=document");
    fake_header(other, "Authorization", "Bearer sk_test_g");
    fake_header(other, "Content-Type", "application/x-www-form-urlencoded");
    fake_header(other, "Idempotency-Key", "kf");
    api_handle(other, &f->ap);
    assert_int_equal(other->responses, 0); /* not refused: queued too */

    /* Answered at once, without waiting for the writer. Checked only after the blocker is
     * released: a second request that queued instead would otherwise wait for ever. */
    http_request *second = fake_request("POST", SESSIONS, "type=document");
    fake_header(second, "Authorization", "Bearer sk_test_f");
    fake_header(second, "Content-Type", "application/x-www-form-urlencoded");
    fake_header(second, "Idempotency-Key", "kf");
    api_handle(second, &f->ap);
    int refused_at_once = second->responses == 1;

    pthread_mutex_lock(&bl.mu);
    bl.released = 1;
    pthread_cond_broadcast(&bl.cv);
    while (bl.running != 2)
        pthread_cond_wait(&bl.cv, &bl.mu);
    pthread_mutex_unlock(&bl.mu);
    fake_wait(first);
    fake_wait(other);
    fake_wait(second);
    assert_true(refused_at_once);
    assert_int_equal(second->status, 409);
    json_t *j = fake_json(second);
    assert_string_equal(jstr(j, "error.type"), "invalid_request_error");
    assert_string_equal(jstr(j, "error.code"), "idempotency_key_in_use");
    json_decref(j);
    assert_string_equal(fake_resp_header(second, "Stripe-Should-Retry"), "true");
    fake_free(second);
    assert_int_equal(first->status, 200);
    assert_int_equal(other->status, 200);

    /* Once it finished the key replays (the 409 freed nothing it did not own). */
    second = post_idem(f, SESSIONS, "type=document", "sk_test_f", "kf");
    assert_int_equal(second->status, 200);
    assert_string_equal(fake_resp_header(second, "Idempotent-Replayed"), "true");
    assert_memory_equal(second->resp_body, first->resp_body, first->resp_len);
    fake_free(second);
    fake_free(first);
    fake_free(other);
    assert_int_equal(count_sessions(f, "sk_test_f"), 1);
}

/* A response another process saved under the key while this request ran (the store hands it
 * back instead of saving a second one): the request answers with it, and its own object is rolled
 * back. The other process is played by a job that saves the record just before the request's. */
typedef struct foreign_save {
    blocker bl;
    char account[64];
    store_idem v;
} foreign_save;

static int foreign_fn(store_txn *t, void *arg)
{
    foreign_save *s = arg;
    block_fn(t, &s->bl);
    arena *a = arena_new();
    store_idem existing;
    int rc = store_txn_idem_put(t, s->account, "kh", &s->v, 0, a, &existing);
    arena_free(a);
    return rc;
}

static void foreign_done(void *arg, int rc)
{
    block_done(&((foreign_save *)arg)->bl, rc);
}

static void run_beside_foreign_save(api_fixture *f, const char *fingerprint, int status,
                                    const char *body, http_request **out)
{
    foreign_save s = {.bl = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER}};
    unsigned char d[UTIL_SHA256_LEN];
    char hex[65];
    util_sha256("sk_test_h", strlen("sk_test_h"), d);
    util_hex(d, sizeof d, hex);
    snprintf(s.account, sizeof s.account, "acct_t%.24s", hex);
    snprintf(s.v.fingerprint, sizeof s.v.fingerprint, "%s", fingerprint);
    s.v.status = status;
    s.v.body = body;
    s.v.body_len = strlen(body);
    s.v.created = util_now();
    store_submit(f->st, foreign_fn, foreign_done, &s);
    pthread_mutex_lock(&s.bl.mu);
    while (!s.bl.running)
        pthread_cond_wait(&s.bl.cv, &s.bl.mu);
    pthread_mutex_unlock(&s.bl.mu);

    http_request *r = fake_request("POST", SESSIONS, "type=document");
    fake_header(r, "Authorization", "Bearer sk_test_h");
    fake_header(r, "Content-Type", "application/x-www-form-urlencoded");
    fake_header(r, "Idempotency-Key", "kh");
    api_handle(r, &f->ap); /* found nothing saved; its job waits behind the other save */
    assert_int_equal(r->responses, 0);

    pthread_mutex_lock(&s.bl.mu);
    s.bl.released = 1;
    pthread_cond_broadcast(&s.bl.cv);
    while (s.bl.running != 2)
        pthread_cond_wait(&s.bl.cv, &s.bl.mu);
    pthread_mutex_unlock(&s.bl.mu);
    fake_wait(r);
    *out = r;
}

static void test_idempotency_saved_elsewhere_first(void **state)
{
    api_fixture *f = *state;
    /* The same request: its saved response is the answer, replayed. */
    char fp[65];
    {
        const char whole[] = "/v1/identity/verification_sessions\0\0type=document";
        unsigned char d[UTIL_SHA256_LEN];
        util_sha256(whole, sizeof whole - 1, d);
        util_hex(d, sizeof d, fp);
    }
    http_request *r;
    run_beside_foreign_save(f, fp, 200, "{\"id\":\"vs_elsewhere\"}", &r);
    assert_int_equal(r->status, 200);
    assert_string_equal(fake_resp_header(r, "Idempotent-Replayed"), "true");
    assert_memory_equal(r->resp_body, "{\"id\":\"vs_elsewhere\"}", r->resp_len);
    fake_free(r);
    assert_int_equal(count_sessions(f, "sk_test_h"), 0);
}

static void test_idempotency_saved_elsewhere_other_params(void **state)
{
    api_fixture *f = *state;
    /* Another request was first with the key: Stripe's 400, and still no second object. */
    char other[65];
    memset(other, 'a', 64);
    other[64] = '\0';
    http_request *r;
    run_beside_foreign_save(f, other, 200, "{}", &r);
    assert_int_equal(r->status, 400);
    json_t *j = fake_json(r);
    assert_string_equal(jstr(j, "error.type"), "idempotency_error");
    json_decref(j);
    fake_free(r);
    assert_int_equal(count_sessions(f, "sk_test_h"), 0);
}

/* A write that lost a race for its object (STORE_CONFLICT: another process changed it between
 * the job's read and its conditional update) is answered as Stripe answers concurrent changes of
 * one object: 429 lock_timeout, which the SDKs retry. */
static void test_conflict_is_lock_timeout(void **state)
{
    api_fixture *f = *state;
    http_request *r = fake_request("POST", SESSIONS, "");
    api_ctx c = {.app = &f->ap, .req = r, .a = http_arena(r), .request_id = "req_conflict"};
    api_finish(&c, NULL, STORE_CONFLICT);
    assert_int_equal(r->status, 429);
    json_t *j = fake_json(r);
    assert_string_equal(jstr(j, "error.code"), "lock_timeout");
    assert_string_equal(jstr(j, "error.type"), "invalid_request_error");
    json_decref(j);
    fake_free(r);
}

/* ---- expand[] ---- */

static void ctx_with(api_fixture *f, api_ctx *c, arena *a, const char *query)
{
    memset(c, 0, sizeof *c);
    c->app = &f->ap;
    c->a = a;
    c->request_id = "req_test";
    const char *msg;
    assert_int_equal(form_parse(a, query, strlen(query), &form_default_limits, &c->params, &msg),
                     0);
}

static void test_expand(void **state)
{
    api_fixture *f = *state;
    static const char *const names[] = {"last_error", "last_verification_report", "options", NULL};
    arena *a = arena_new();
    api_ctx c;
    apierr e;
    unsigned flags = 99;

    ctx_with(f, &c, a, "");
    assert_int_equal(api_expand(&c, names, 0, &flags, &e), 0);
    assert_int_equal(flags, 0);

    ctx_with(f, &c, a, "expand[]=options");
    assert_int_equal(api_expand(&c, names, 0, &flags, &e), 0);
    assert_int_equal(flags, 1u << 2);

    ctx_with(f, &c, a, "expand[0]=last_verification_report.document&expand[1]=last_error");
    assert_int_equal(api_expand(&c, names, 0, &flags, &e), 0);
    assert_int_equal(flags, (1u << 1) | (1u << 0));

    /* Four levels are fine, five are not. */
    ctx_with(f, &c, a, "expand[]=options.a.b.c");
    assert_int_equal(api_expand(&c, names, 0, &flags, &e), 0);
    ctx_with(f, &c, a, "expand[]=options.a.b.c.d");
    assert_int_equal(api_expand(&c, names, 0, &flags, &e), -1);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.param, "expand[0]");
    assert_non_null(strstr(e.message, "more than 4 levels"));
    assert_string_equal(e.code, "property_expansion_max_depth");

    /* A field name must match whole: neither a prefix nor a longer name. */
    const char *bad[] = {"expand[]=option", "expand[]=options_x", "expand[]=last",
                         "expand[]=data.options", "expand[]="};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ctx_with(f, &c, a, bad[i]);
        assert_int_equal(api_expand(&c, names, 0, &flags, &e), -1);
        assert_string_equal(e.param, "expand[0]");
        assert_non_null(strstr(e.message, "cannot be expanded"));
    }
    /* The error names the entry that failed. */
    ctx_with(f, &c, a, "expand[0]=options&expand[1]=nope");
    assert_int_equal(api_expand(&c, names, 0, &flags, &e), -1);
    assert_string_equal(e.param, "expand[1]");
    assert_string_equal(e.message, "This property cannot be expanded (nope).");

    /* Lists: every entry starts with data. */
    ctx_with(f, &c, a, "expand[]=data.options");
    assert_int_equal(api_expand(&c, names, 1, &flags, &e), 0);
    assert_int_equal(flags, 1u << 2);
    ctx_with(f, &c, a, "expand[]=options");
    assert_int_equal(api_expand(&c, names, 1, &flags, &e), -1);
    assert_string_equal(e.message, "This property cannot be expanded (options). You may want to "
                                   "try expanding 'data.options' instead.");
    ctx_with(f, &c, a, "expand[]=datas.options");
    assert_int_equal(api_expand(&c, names, 1, &flags, &e), -1);

    /* Exact paths, for fields below the first level. */
    ctx_with(f, &c, a, "expand[0]=verified_outputs&expand[1]=verified_outputs.dob");
    assert_int_equal(api_expand_path(&c, "verified_outputs.dob", 0), 1);
    assert_int_equal(api_expand_path(&c, "verified_outputs.id_number", 0), 0);
    assert_int_equal(api_expand_path(&c, "verified_outputs.dob", 1), 0);
    ctx_with(f, &c, a, "expand[]=verified_outputs.dob.day");
    assert_int_equal(api_expand_path(&c, "verified_outputs.dob", 0), 0);
    ctx_with(f, &c, a, "expand[]=data.verified_outputs.dob");
    assert_int_equal(api_expand_path(&c, "verified_outputs.dob", 1), 1);
    assert_int_equal(api_expand_path(&c, "verified_outputs.dob", 0), 0);
    arena_free(a);
}

/* ---- the error object ---- */

static void test_error_rendering(void **state)
{
    api_fixture *f = *state;
    arena *a = arena_new();
    api_ctx c;
    ctx_with(f, &c, a, "");
    c.request_id = "req_render1";
    apierr e;
    api_err_missing(&c, &e, "verification_session", "session", "vs_nope");
    buf out;
    api_render_error(&c, &e, &out);
    json_error_t jerr;
    json_t *j = json_loadb(out.data, out.len, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(jstr(j, "error.type"), "invalid_request_error");
    assert_string_equal(jstr(j, "error.code"), "resource_missing");
    assert_string_equal(jstr(j, "error.param"), "session");
    assert_string_equal(jstr(j, "error.message"), "No such verification_session: 'vs_nope'");
    assert_string_equal(jstr(j, "error.doc_url"),
                        "https://stripe.com/docs/error-codes/resource-missing");
    assert_non_null(strstr(jstr(j, "error.request_log_url"), "req_render1"));
    assert_int_equal(e.status, 404);
    json_decref(j);
    assert_null(strchr(out.data, '\n'));

    /* The app's --pretty applies to errors too. */
    f->ap.pretty_json = 1;
    api_err_state(&c, &e, "cancel", "requires_input", "canceled");
    api_render_error(&c, &e, &out);
    assert_non_null(strstr(out.data, "\n  "));
    j = json_loadb(out.data, out.len, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(jstr(j, "error.message"), "You can only cancel a VerificationSession while "
                                                  "its status is requires_input; this one is "
                                                  "canceled.");
    assert_null(jpath(j, "error.code"));
    assert_null(jpath(j, "error.param"));
    json_decref(j);
    f->ap.pretty_json = 0;
    arena_free(a);
}

/* ---- lists ---- */

static json_t *list(api_fixture *f, const char *query, int want_status)
{
    char target[512];
    snprintf(target, sizeof target, SESSIONS "%s", query);
    http_request *r = fake_call(&f->ap, "GET", target, NULL, "sk_test_l");
    if ((int)r->status != want_status) fprintf(stderr, "%s: %s\n", target, fake_body(r));
    assert_int_equal(r->status, want_status);
    json_t *j = fake_json(r);
    fake_free(r);
    return j;
}

static void test_list_paging(void **state)
{
    api_fixture *f = *state;
    arena *a = arena_new();
    const char *ids[3];
    for (int i = 0; i < 3; i++)
        ids[i] = create(f, "sk_test_l", a);
    create(f, "sk_test_elsewhere", a);
    const char *foreign = create(f, "sk_test_elsewhere", a);

    json_t *j = list(f, "", 200);
    assert_string_equal(jstr(j, "object"), "list");
    assert_string_equal(jstr(j, "url"), SESSIONS);
    assert_int_equal(json_array_size(jpath(j, "data")), 3);
    assert_string_equal(jstr(j, "data.0.id"), ids[2]); /* newest first */
    assert_true(json_is_false(jpath(j, "has_more")));
    json_decref(j);

    j = list(f, "?limit=2", 200);
    assert_int_equal(json_array_size(jpath(j, "data")), 2);
    assert_string_equal(jstr(j, "data.0.id"), ids[2]);
    assert_string_equal(jstr(j, "data.1.id"), ids[1]);
    assert_true(json_is_true(jpath(j, "has_more")));
    json_decref(j);

    char q[256];
    snprintf(q, sizeof q, "?limit=2&starting_after=%s", ids[1]);
    j = list(f, q, 200);
    assert_int_equal(json_array_size(jpath(j, "data")), 1);
    assert_string_equal(jstr(j, "data.0.id"), ids[0]);
    assert_true(json_is_false(jpath(j, "has_more")));
    json_decref(j);

    snprintf(q, sizeof q, "?limit=1&ending_before=%s", ids[0]);
    j = list(f, q, 200);
    assert_int_equal(json_array_size(jpath(j, "data")), 1);
    assert_string_equal(jstr(j, "data.0.id"), ids[1]);
    assert_true(json_is_true(jpath(j, "has_more")));
    json_decref(j);

    /* limit is 1..100. */
    j = list(f, "?limit=1", 200);
    assert_int_equal(json_array_size(jpath(j, "data")), 1);
    json_decref(j);
    j = list(f, "?limit=100", 200);
    json_decref(j);
    const char *bad_limits[] = {"?limit=0", "?limit=101", "?limit=-1", "?limit=ten"};
    for (size_t i = 0; i < 4; i++) {
        j = list(f, bad_limits[i], 400);
        assert_string_equal(jstr(j, "error.param"), "limit");
        json_decref(j);
    }

    /* Both cursors at once. */
    snprintf(q, sizeof q, "?starting_after=%s&ending_before=%s", ids[1], ids[0]);
    j = list(f, q, 400);
    assert_string_equal(jstr(j, "error.param"), "ending_before");
    assert_non_null(strstr(jstr(j, "error.message"), "ending_before, starting_after"));
    json_decref(j);

    /* A cursor that names no session of the account: 400 naming that cursor. */
    j = list(f, "?starting_after=vs_nope", 400);
    assert_string_equal(jstr(j, "error.param"), "starting_after");
    assert_string_equal(jstr(j, "error.code"), "resource_missing");
    assert_string_equal(jstr(j, "error.message"), "No such verification_session: 'vs_nope'");
    json_decref(j);
    snprintf(q, sizeof q, "?ending_before=%s", foreign);
    j = list(f, q, 400);
    assert_string_equal(jstr(j, "error.param"), "ending_before");
    json_decref(j);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keyring_good_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyring_bad_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_authentication, setup, teardown),
        cmocka_unit_test_setup_teardown(test_routing_and_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_replay_and_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_query_string_parameters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_saved_elsewhere_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_is_lock_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_saved_elsewhere_other_params, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_expand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_rendering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_paging, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
