/*
 * test_sessions_api: the /v1/identity/verification_sessions endpoints (and the test helpers that
 * move a session forward) driven through api_handle() with the in-process HTTP fake
 * (fake_http.h) on a real store, the redactor running, and the process's test clock.
 *
 * create (the object's shape, client_secret / url, return_url kept off the object, the created
 * event with the request's id in the key's own account) and its validation; retrieve and the
 * 24 h rotation of client_secret / url; update (metadata merge rules, no event, state rules);
 * cancel; redact (cancels a requires_input session, completes in the background after the
 * configured delay, answers an already redacting session unchanged); list filters; expand[] of
 * the report and of verified_outputs, whose dob and id_number need a restricted key; the test
 * helpers' transitions, state errors and refusal of live keys.
 *
 * Not for: the conventions every endpoint shares (test_api.c), the transitions' own details
 * (test_lifecycle.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_http.h"

#include "identity/event.h"
#include "background/redactor.h"
#include "background/worker.h"

#define SESSIONS "/v1/identity/verification_sessions"
#define HELPERS "/v1/test_helpers/identity/verification_sessions"
#define KEY "sk_test_sessions"

static int setup(void **state)
{
    api_fixture *f = fake_fixture_new();
    f->ap.redactor = redactor_start(&f->ap);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    api_fixture *f = *state;
    worker_stop(f->ap.redactor);
    fake_fixture_free(f);
    return 0;
}

/* ---- helpers ---- */

/* Call and parse; the status must be want. */
static json_t *call(api_fixture *f, const char *method, const char *target, const char *body,
                    const char *key, int want)
{
    http_request *r = fake_call(&f->ap, method, target, body, key);
    if (r->status != want)
        fprintf(stderr, "%s %s -> %d: %s\n", method, target, r->status, fake_body(r));
    assert_int_equal(r->status, want);
    json_t *j = fake_json(r);
    fake_free(r);
    return j;
}

/* Create with body; returns the session's id (caller frees with free()). */
static char *create(api_fixture *f, const char *body)
{
    json_t *j = call(f, "POST", SESSIONS, body, KEY, 200);
    char *id = strdup(jstr(j, "id"));
    json_decref(j);
    return id;
}

static json_t *retrieve(api_fixture *f, const char *id, const char *query)
{
    char t[256];
    snprintf(t, sizeof t, SESSIONS "/%s%s", id, query ? query : "");
    return call(f, "GET", t, NULL, KEY, 200);
}

static json_t *post(api_fixture *f, const char *prefix, const char *id, const char *suffix,
                    const char *body, int want)
{
    char t[256];
    snprintf(t, sizeof t, "%s/%s%s", prefix, id, suffix);
    return call(f, "POST", t, body, KEY, want);
}

/* The account open test mode gives key: "acct_t" and 24 hex digits of its SHA-256. */
static const char *account_of(const char *key, char out[40])
{
    unsigned char d[UTIL_SHA256_LEN];
    char hex[65];
    util_sha256(key, strlen(key), d);
    util_hex(d, sizeof d, hex);
    snprintf(out, 40, "acct_t%.24s", hex);
    return out;
}

/* The object's events, oldest first, as "type,type,..." (short names). */
static const char *events_of(api_fixture *f, const char *id, arena *a, store_event **out)
{
    char acct[40];
    store_event_query q = {.account = account_of(KEY, acct), .delivery_success = -1, .limit = 100};
    store_event *items;
    size_t n;
    int more;
    assert_int_equal(store_event_list(f->st, &q, a, &items, &n, &more), 0);
    buf b;
    buf_init(&b, a);
    buf_puts(&b, "");
    store_event *mine = arena_alloc(a, (n + 1) * sizeof *mine);
    size_t m = 0;
    for (size_t i = n; i-- > 0;) {
        if (strcmp(items[i].object_id, id) != 0) continue;
        if (b.len) buf_putc(&b, ',');
        buf_puts(&b, strrchr(items[i].type, '.') + 1);
        mine[m++] = items[i];
    }
    if (out) *out = mine;
    return b.data;
}

/* ---- create and retrieve ---- */

static void test_create_and_retrieve(void **state)
{
    api_fixture *f = *state;
    http_request *r =
        fake_call(&f->ap, "POST", SESSIONS,
                  "type=document&client_reference_id=user-1&metadata[order]=42"
                  "&options[document][require_matching_selfie]=true"
                  "&options[document][allowed_types][0]=passport"
                  "&provided_details[email]=jenny%40example.com"
                  "&related_customer=cus_123&return_url=https%3A%2F%2Fapp.test%2Fdone",
                  KEY);
    assert_int_equal(r->status, 200);
    json_t *j = fake_json(r);
    const char *id = jstr(j, "id");
    assert_int_equal(strncmp(id, "vs_", 3), 0);
    assert_string_equal(jstr(j, "object"), "identity.verification_session");
    assert_string_equal(jstr(j, "status"), "requires_input");
    assert_string_equal(jstr(j, "type"), "document");
    assert_true(json_is_false(jpath(j, "livemode")));
    assert_string_equal(jstr(j, "client_reference_id"), "user-1");
    assert_string_equal(jstr(j, "metadata.order"), "42");
    assert_true(json_is_true(jpath(j, "options.document.require_matching_selfie")));
    assert_string_equal(jstr(j, "options.document.allowed_types.0"), "passport");
    assert_string_equal(jstr(j, "provided_details.email"), "jenny@example.com");
    assert_string_equal(jstr(j, "related_customer"), "cus_123");
    assert_true(jnull(j, "redaction"));
    assert_true(jnull(j, "last_error"));
    assert_true(jnull(j, "last_verification_report"));
    assert_null(jpath(j, "return_url"));       /* not a field on the object */
    assert_null(jpath(j, "verified_outputs")); /* only when expanded */
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s_secret_", id);
    assert_int_equal(strncmp(jstr(j, "client_secret"), prefix, strlen(prefix)), 0);
    assert_int_equal(strncmp(jstr(j, "url"), "http://verifyd.test/start/", 26), 0);
    assert_true(jint(j, "created") >= util_now() - 5 && jint(j, "created") <= util_now());

    /* The created event, in the key's account, with this request's id. */
    arena *a = arena_new();
    store_event *ev;
    assert_string_equal(events_of(f, id, a, &ev), "created");
    assert_string_equal(ev[0].request_id, fake_resp_header(r, "Request-Id"));
    assert_null(ev[0].idempotency_key);
    session snap;
    assert_int_equal(session_decode(a, ev[0].snapshot.data, ev[0].snapshot.len, &snap), 0);
    assert_string_equal(snap.return_url, "https://app.test/done"); /* kept for the page */

    /* Retrieve: the same object, the same client_secret and url. */
    json_t *g = retrieve(f, id, NULL);
    assert_string_equal(jstr(g, "id"), id);
    assert_string_equal(jstr(g, "client_secret"), jstr(j, "client_secret"));
    assert_string_equal(jstr(g, "url"), jstr(j, "url"));
    assert_string_equal(jstr(g, "metadata.order"), "42");
    json_decref(g);

    /* Unknown id. */
    g = call(f, "GET", SESSIONS "/vs_nope", NULL, KEY, 404);
    assert_string_equal(jstr(g, "error.code"), "resource_missing");
    assert_string_equal(jstr(g, "error.param"), "session");
    assert_string_equal(jstr(g, "error.message"), "No such verification_session: 'vs_nope'");
    json_decref(g);
    json_decref(j);
    fake_free(r);
    arena_free(a);
}

static size_t count(api_fixture *f)
{
    json_t *j = call(f, "GET", SESSIONS "?limit=100", NULL, KEY, 200);
    size_t n = json_array_size(jpath(j, "data"));
    json_decref(j);
    return n;
}

static void expect_400(api_fixture *f, const char *body, const char *param, const char *code)
{
    json_t *j = call(f, "POST", SESSIONS, body, KEY, 400);
    assert_string_equal(jstr(j, "error.type"), "invalid_request_error");
    if (param) assert_string_equal(jstr(j, "error.param"), param);
    if (code) assert_string_equal(jstr(j, "error.code"), code);
    json_decref(j);
}

static void test_create_validation(void **state)
{
    api_fixture *f = *state;
    expect_400(f, "", "type", "parameter_missing");
    expect_400(f, "client_reference_id=x", "type", "parameter_missing");
    expect_400(f, "type=document&verification_flow=vf_1", "type", NULL);
    expect_400(f, "type=passport", "type", NULL);
    expect_400(f, "type=document&colour=blue", "colour", "parameter_unknown");
    expect_400(f, "type=document&options[email][require_verification]=true", "options[email]",
               "parameter_unknown");
    expect_400(f, "type=document&related_person[account]=acct_1", "related_person[person]", NULL);
    expect_400(f, "type=document&options[document][require_matching_selfie]=maybe",
               "options[document][require_matching_selfie]", NULL);

    /* 50 metadata keys are fine, 51 are not. */
    char body[4096] = "type=document";
    for (int i = 0; i < 50; i++)
        snprintf(body + strlen(body), sizeof body - strlen(body), "&metadata[k%d]=v", i);
    json_t *j = call(f, "POST", SESSIONS, body, KEY, 200);
    assert_int_equal(json_object_size(jpath(j, "metadata")), 50);
    char *full = strdup(jstr(j, "id"));
    json_decref(j);
    strcat(body, "&metadata[k50]=v");
    expect_400(f, body, "metadata", NULL);
    assert_int_equal(count(f), 1); /* nothing else was created */
    /* The limit holds for the merged result of an update too; a swap stays within it. */
    j = post(f, SESSIONS, full, "", "metadata[one_more]=v", 400);
    assert_string_equal(jstr(j, "error.param"), "metadata");
    json_decref(j);
    j = post(f, SESSIONS, full, "", "metadata[k0]=&metadata[one_more]=v&metadata[k1]=w", 200);
    assert_int_equal(json_object_size(jpath(j, "metadata")), 50);
    assert_string_equal(jstr(j, "metadata.k1"), "w");
    json_decref(j);
    free(full);

    /* A verification flow decides the type. */
    j = call(f, "POST", SESSIONS, "verification_flow=vf_123", KEY, 200);
    assert_string_equal(jstr(j, "type"), "verification_flow");
    assert_string_equal(jstr(j, "verification_flow"), "vf_123");
    json_decref(j);
}

/* An expired client_secret / url pair is replaced on the next retrieve, and then stable. */
static void test_secret_rotation(void **state)
{
    api_fixture *f = *state;
    char *id = create(f, "type=id_number");
    json_t *a = retrieve(f, id, NULL);
    util_clock_advance((24 * 3600 - 60) * 1000LL);
    json_t *b = retrieve(f, id, NULL);
    assert_string_equal(jstr(b, "client_secret"), jstr(a, "client_secret"));
    util_clock_advance(61 * 1000LL);
    json_t *c = retrieve(f, id, NULL);
    assert_string_not_equal(jstr(c, "client_secret"), jstr(a, "client_secret"));
    assert_string_not_equal(jstr(c, "url"), jstr(a, "url"));
    json_t *d = retrieve(f, id, NULL);
    assert_string_equal(jstr(d, "client_secret"), jstr(c, "client_secret"));
    assert_string_equal(jstr(d, "url"), jstr(c, "url"));
    /* Rotation writes no event. */
    arena *ar = arena_new();
    assert_string_equal(events_of(f, id, ar, NULL), "created");
    arena_free(ar);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
    free(id);
}

/* ---- update ---- */

static void test_update(void **state)
{
    api_fixture *f = *state;
    char *id = create(f, "type=document&metadata[a]=1&metadata[b]=2"
                         "&options[document][require_id_number]=true");
    /* metadata[k]= removes k, others are set, untouched keys stay. */
    json_t *j = post(f, SESSIONS, id, "", "metadata[a]=&metadata[c]=3", 200);
    assert_null(jpath(j, "metadata.a"));
    assert_string_equal(jstr(j, "metadata.b"), "2");
    assert_string_equal(jstr(j, "metadata.c"), "3");
    assert_true(json_is_true(jpath(j, "options.document.require_id_number")));
    json_decref(j);
    /* type and options[document]= (clears the document options). */
    j = post(f, SESSIONS, id, "", "type=id_number&options[document]=", 200);
    assert_string_equal(jstr(j, "type"), "id_number");
    assert_null(jpath(j, "options.document"));
    assert_string_equal(jstr(j, "metadata.b"), "2");
    json_decref(j);
    /* metadata= clears everything. */
    j = post(f, SESSIONS, id, "", "metadata=", 200);
    assert_int_equal(json_object_size(jpath(j, "metadata")), 0);
    json_decref(j);
    /* The result is stored, and update writes no event. */
    j = retrieve(f, id, NULL);
    assert_int_equal(json_object_size(jpath(j, "metadata")), 0);
    assert_string_equal(jstr(j, "type"), "id_number");
    json_decref(j);
    arena *a = arena_new();
    assert_string_equal(events_of(f, id, a, NULL), "created");

    /* Update does not take create-only parameters. */
    j = post(f, SESSIONS, id, "", "client_reference_id=x", 400);
    assert_string_equal(jstr(j, "error.code"), "parameter_unknown");
    json_decref(j);

    /* Outside requires_input only metadata may change. */
    json_decref(post(f, HELPERS, id, "/process", NULL, 200));
    j = post(f, SESSIONS, id, "", "type=document", 400);
    assert_string_equal(jstr(j, "error.message"), "You can only update a VerificationSession "
                                                  "while its status is requires_input; this one "
                                                  "is processing.");
    json_decref(j);
    j = post(f, SESSIONS, id, "", "metadata[late]=yes", 200);
    assert_string_equal(jstr(j, "metadata.late"), "yes");
    assert_string_equal(jstr(j, "type"), "id_number");
    json_decref(j);
    j = post(f, SESSIONS, "vs_missing", "", "metadata[x]=1", 404);
    assert_string_equal(jstr(j, "error.param"), "session");
    json_decref(j);
    arena_free(a);
    free(id);
}

/* ---- cancel and redact ---- */

static void test_cancel(void **state)
{
    api_fixture *f = *state;
    char *id = create(f, "type=document");
    json_t *j = post(f, SESSIONS, id, "/cancel", NULL, 200);
    assert_string_equal(jstr(j, "status"), "canceled");
    assert_true(jnull(j, "client_secret"));
    assert_true(jnull(j, "url"));
    assert_true(jnull(j, "redaction"));
    json_decref(j);
    j = post(f, SESSIONS, id, "/cancel", NULL, 400);
    assert_string_equal(jstr(j, "error.message"), "You can only cancel a VerificationSession "
                                                  "while its status is requires_input; this one "
                                                  "is canceled.");
    assert_null(jpath(j, "error.code"));
    json_decref(j);
    arena *a = arena_new();
    store_event *ev;
    assert_string_equal(events_of(f, id, a, &ev), "created,canceled");
    assert_non_null(ev[1].request_id);
    arena_free(a);

    /* A processing session cannot be canceled. */
    char *id2 = create(f, "type=document");
    json_decref(post(f, HELPERS, id2, "/process", NULL, 200));
    j = post(f, SESSIONS, id2, "/cancel", NULL, 400);
    assert_non_null(strstr(jstr(j, "error.message"), "this one is processing"));
    json_decref(j);
    free(id);
    free(id2);
}

static void test_redact(void **state)
{
    api_fixture *f = *state;
    char *id = create(f, "type=document&client_reference_id=user-9&metadata[a]=1"
                         "&provided_details[email]=j%40x.test");
    /* A requires_input session is canceled, its redaction processing. */
    json_t *j = post(f, SESSIONS, id, "/redact", NULL, 200);
    assert_string_equal(jstr(j, "status"), "canceled");
    assert_string_equal(jstr(j, "redaction.status"), "processing");
    assert_true(jnull(j, "client_secret"));
    json_decref(j);
    /* The redactor (kicked by the request) completes it: the delay is 0. */
    worker_sync(f->ap.redactor);
    j = retrieve(f, id, NULL);
    assert_string_equal(jstr(j, "redaction.status"), "redacted");
    assert_string_equal(jstr(j, "status"), "canceled");
    assert_string_equal(jstr(j, "client_reference_id"), "[redacted]");
    assert_string_equal(jstr(j, "provided_details.email"), "[redacted]");
    assert_int_equal(json_object_size(jpath(j, "metadata")), 0);
    json_decref(j);
    arena *a = arena_new();
    assert_string_equal(events_of(f, id, a, NULL), "created,canceled,redacted");

    /* Again: answered unchanged, no event. Update of a redacted session: refused. */
    j = post(f, SESSIONS, id, "/redact", NULL, 200);
    assert_string_equal(jstr(j, "redaction.status"), "redacted");
    json_decref(j);
    assert_string_equal(events_of(f, id, a, NULL), "created,canceled,redacted");
    j = post(f, SESSIONS, id, "", "metadata[x]=1", 400);
    assert_non_null(strstr(jstr(j, "error.message"), "redacted"));
    json_decref(j);

    /* A verified session stays verified; with a delay it stays processing until due. */
    f->ap.redaction_delay_ms = 3600 * 1000;
    char *v = create(f, "type=document");
    json_decref(post(f, HELPERS, v, "/verify", NULL, 200));
    j = post(f, SESSIONS, v, "/redact", NULL, 200);
    assert_string_equal(jstr(j, "status"), "verified");
    assert_string_equal(jstr(j, "redaction.status"), "processing");
    json_decref(j);
    worker_sync(f->ap.redactor);
    j = retrieve(f, v, NULL);
    assert_string_equal(jstr(j, "redaction.status"), "processing");
    json_decref(j);
    util_clock_advance(3600 * 1000 + 1000);
    worker_sync(f->ap.redactor);
    j = retrieve(f, v, "?expand[]=verified_outputs");
    assert_string_equal(jstr(j, "redaction.status"), "redacted");
    assert_string_equal(jstr(j, "status"), "verified");
    assert_string_equal(jstr(j, "verified_outputs.first_name"), "[redacted]");
    json_decref(j);
    assert_string_equal(events_of(f, v, a, NULL), "created,processing,verified,redacted");

    /* A processing session must finish first. */
    char *p = create(f, "type=document");
    json_decref(post(f, HELPERS, p, "/process", NULL, 200));
    j = post(f, SESSIONS, p, "/redact", NULL, 400);
    assert_non_null(strstr(jstr(j, "error.message"), "this one is processing"));
    json_decref(j);
    arena_free(a);
    free(id);
    free(v);
    free(p);
}

/* ---- list ---- */

static void test_list_filters(void **state)
{
    api_fixture *f = *state;
    char *a = create(f, "type=document&client_reference_id=alice");
    char *b = create(f, "type=document&client_reference_id=bob&related_customer=cus_b");
    char *c = create(f, "type=id_number&client_reference_id=alice");
    json_decref(post(f, SESSIONS, b, "/cancel", NULL, 200));
    /* Another key's sessions never show. */
    json_decref(call(f, "POST", SESSIONS, "type=document&client_reference_id=alice",
                     "sk_test_someone_else", 200));

    json_t *j = call(f, "GET", SESSIONS "?client_reference_id=alice", NULL, KEY, 200);
    assert_int_equal(json_array_size(jpath(j, "data")), 2);
    assert_string_equal(jstr(j, "data.0.id"), c);
    assert_string_equal(jstr(j, "data.1.id"), a);
    json_decref(j);
    j = call(f, "GET", SESSIONS "?status=canceled", NULL, KEY, 200);
    assert_int_equal(json_array_size(jpath(j, "data")), 1);
    assert_string_equal(jstr(j, "data.0.id"), b);
    json_decref(j);
    j = call(f, "GET", SESSIONS "?related_customer=cus_b", NULL, KEY, 200);
    assert_int_equal(json_array_size(jpath(j, "data")), 1);
    json_decref(j);
    j = call(f, "GET", SESSIONS "?status=requires_input&client_reference_id=bob", NULL, KEY, 200);
    assert_int_equal(json_array_size(jpath(j, "data")), 0);
    json_decref(j);
    char q[128];
    snprintf(q, sizeof q, SESSIONS "?created[gt]=%lld", (long long)util_now());
    j = call(f, "GET", q, NULL, KEY, 200);
    assert_int_equal(json_array_size(jpath(j, "data")), 0);
    json_decref(j);
    snprintf(q, sizeof q, SESSIONS "?created[lte]=%lld", (long long)util_now());
    j = call(f, "GET", q, NULL, KEY, 200);
    assert_int_equal(json_array_size(jpath(j, "data")), 3);
    json_decref(j);
    j = call(f, "GET", SESSIONS "?status=done", NULL, KEY, 400);
    assert_string_equal(jstr(j, "error.param"), "status");
    json_decref(j);
    free(a);
    free(b);
    free(c);
}

/* ---- expand, restricted fields ---- */

static void use_restricted_key(api_fixture *f)
{
    char path[128], hex[65];
    unsigned char d[UTIL_SHA256_LEN];
    snprintf(path, sizeof path, "%s/keys", f->dir);
    FILE *out = fopen(path, "w");
    util_sha256("rk_test_reader", 14, d);
    util_hex(d, sizeof d, hex);
    char acct[40];
    fprintf(out, "%s %s restricted\n", hex, account_of(KEY, acct));
    util_sha256("sk_live_operator", 16, d);
    util_hex(d, sizeof d, hex);
    fprintf(out, "%s acct_live_operator\n", hex);
    fclose(out);
    const char *err;
    assert_int_equal(api_keyring_load(path, &f->ap.keys, &err), 0);
}

static void test_expand_and_restricted_fields(void **state)
{
    api_fixture *f = *state;
    use_restricted_key(f);
    char *id = create(f, "type=document&options[document][require_id_number]=true");
    json_decref(post(f, HELPERS, id, "/verify", NULL, 200));

    json_t *j = retrieve(f, id, NULL);
    assert_int_equal(strncmp(jstr(j, "last_verification_report"), "vr_", 3), 0);
    assert_null(jpath(j, "verified_outputs"));
    char *report = strdup(jstr(j, "last_verification_report"));
    json_decref(j);

    j = retrieve(f, id, "?expand[]=last_verification_report&expand[]=verified_outputs");
    assert_string_equal(jstr(j, "last_verification_report.id"), report);
    assert_string_equal(jstr(j, "last_verification_report.object"), "identity.verification_report");
    assert_string_equal(jstr(j, "verified_outputs.first_name"), "Jenny");
    assert_string_equal(jstr(j, "verified_outputs.last_name"), "Rosen");
    assert_null(jpath(j, "verified_outputs.dob"));       /* restricted */
    assert_null(jpath(j, "verified_outputs.id_number")); /* restricted */
    json_decref(j);

    /* A secret key cannot see dob even when it expands the exact path. */
    j = retrieve(f, id, "?expand[]=verified_outputs&expand[]=verified_outputs.dob");
    assert_null(jpath(j, "verified_outputs.dob"));
    json_decref(j);

    /* The restricted key of the same account sees exactly what it expands. */
    char t[256];
    snprintf(t, sizeof t, SESSIONS "/%s?expand[]=verified_outputs&expand[]=verified_outputs.dob",
             id);
    j = call(f, "GET", t, NULL, "rk_test_reader", 200);
    assert_int_equal(jint(j, "verified_outputs.dob.year"), 1901);
    assert_null(jpath(j, "verified_outputs.id_number"));
    json_decref(j);
    snprintf(t, sizeof t, SESSIONS "/%s?expand[]=verified_outputs", id);
    j = call(f, "GET", t, NULL, "rk_test_reader", 200);
    assert_null(jpath(j, "verified_outputs.dob"));
    json_decref(j);

    /* Lists take data.-prefixed paths. */
    j = call(f, "GET", SESSIONS "?expand[]=data.verified_outputs", NULL, KEY, 200);
    assert_string_equal(jstr(j, "data.0.verified_outputs.first_name"), "Jenny");
    json_decref(j);
    j = call(f, "GET", SESSIONS "?expand[]=verified_outputs", NULL, KEY, 400);
    assert_string_equal(jstr(j, "error.param"), "expand[0]");
    json_decref(j);
    snprintf(t, sizeof t, SESSIONS "/%s?expand[]=client_secret", id);
    j = call(f, "GET", t, NULL, KEY, 400);
    assert_string_equal(jstr(j, "error.param"), "expand[0]");
    json_decref(j);
    free(report);
    free(id);
}

/* ---- test helpers ---- */

static void test_helpers(void **state)
{
    api_fixture *f = *state;
    use_restricted_key(f);
    char *id = create(f, "type=document");
    json_t *j = post(f, HELPERS, id, "/process", NULL, 200);
    assert_string_equal(jstr(j, "status"), "processing");
    assert_true(jnull(j, "client_secret"));
    assert_true(jnull(j, "url"));
    json_decref(j);
    j = post(f, HELPERS, id, "/process", NULL, 400);
    assert_string_equal(jstr(j, "error.message"), "You can only process a VerificationSession "
                                                  "while its status is requires_input; this one "
                                                  "is processing.");
    json_decref(j);
    j = post(f, HELPERS, id, "/require_input", "last_error[code]=selfie_face_mismatch", 200);
    assert_string_equal(jstr(j, "status"), "requires_input");
    assert_string_equal(jstr(j, "last_error.code"), "selfie_face_mismatch");
    assert_non_null(jstr(j, "last_error.reason"));
    assert_non_null(jstr(j, "client_secret")); /* a fresh one */
    json_decref(j);
    j = post(f, HELPERS, id, "/require_input", "last_error[code]=not_a_code", 400);
    assert_string_equal(jstr(j, "error.param"), "last_error[code]");
    json_decref(j);
    j = post(f, HELPERS, id, "/verify", NULL, 200);
    assert_string_equal(jstr(j, "status"), "verified");
    assert_true(jnull(j, "last_error"));
    json_decref(j);
    j = post(f, HELPERS, id, "/verify", NULL, 400);
    assert_non_null(strstr(jstr(j, "error.message"), "this one is verified"));
    json_decref(j);
    arena *a = arena_new();
    assert_string_equal(events_of(f, id, a, NULL),
                        "created,processing,requires_input,processing,verified");
    arena_free(a);
    j = post(f, HELPERS, "vs_missing", "/verify", NULL, 404);
    assert_string_equal(jstr(j, "error.param"), "session");
    json_decref(j);

    /* Live keys may not use them. */
    json_t *live = call(f, "POST", SESSIONS, "type=document", "sk_live_operator", 200);
    char t[256];
    snprintf(t, sizeof t, HELPERS "/%s/verify", jstr(live, "id"));
    j = call(f, "POST", t, NULL, "sk_live_operator", 400);
    assert_non_null(strstr(jstr(j, "error.message"), "test-mode key"));
    json_decref(j);
    snprintf(t, sizeof t, SESSIONS "/%s", jstr(live, "id"));
    j = call(f, "GET", t, NULL, "sk_live_operator", 200);
    assert_string_equal(jstr(j, "status"), "requires_input");
    json_decref(j);
    json_decref(live);
    free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_retrieve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expand_and_restricted_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_helpers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
