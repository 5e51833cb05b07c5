/*
 * test_hosted_page: the page at a session's url (/start/<token>) driven through api_handle()
 * with the in-process HTTP fake (fake_http.h) on a real store, the lifecycle worker running,
 * and the process's test clock.
 *
 * The page needs no API key; it shows what the session checks and the test-mode choices, with
 * headers that keep it out of caches, frames and Referer headers and no script. Each choice
 * moves the session as the test helpers do (events with request null), then redirects to a
 * safe return_url (escaped in the body) or says what happened; a delayed choice stays
 * processing for --hosted-delay. Unknown, malformed, used, expired and canceled links get their
 * own pages; live-mode sessions get no test choices; the token never reaches the log.
 *
 * Not for: the transitions themselves (test_lifecycle.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fake_http.h"

#include <fcntl.h>
#include <unistd.h>

#include "background/outcomes.h"
#include "identity/lifecycle.h"
#include "background/worker.h"

#define SESSIONS "/v1/identity/verification_sessions"
#define KEY "sk_test_hosted"

static int setup(void **state)
{
    api_fixture *f = fake_fixture_new();
    f->ap.hosted_delay_ms = 5000;
    f->ap.outcomes = outcomes_start(&f->ap);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    api_fixture *f = *state;
    worker_stop(f->ap.outcomes);
    fake_fixture_free(f);
    return 0;
}

/* ---- helpers ---- */

typedef struct sess {
    char id[64];
    char page[160]; /* /start/<token> */
} sess;

static void page_of(json_t *j, sess *s)
{
    const char *url = jstr(j, "url");
    assert_non_null(url);
    const char *p = strstr(url, "/start/");
    assert_non_null(p);
    snprintf(s->page, sizeof s->page, "%s", p);
}

static sess create(api_fixture *f, const char *body, const char *key)
{
    http_request *r = fake_call(&f->ap, "POST", SESSIONS, body, key ? key : KEY);
    assert_int_equal(r->status, 200);
    json_t *j = fake_json(r);
    sess s;
    snprintf(s.id, sizeof s.id, "%s", jstr(j, "id"));
    page_of(j, &s);
    json_decref(j);
    fake_free(r);
    return s;
}

static json_t *retrieve(api_fixture *f, const sess *s, const char *key)
{
    char t[128];
    snprintf(t, sizeof t, SESSIONS "/%s", s->id);
    http_request *r = fake_call(&f->ap, "GET", t, NULL, key ? key : KEY);
    assert_int_equal(r->status, 200);
    json_t *j = fake_json(r);
    fake_free(r);
    return j;
}

/* GET or POST the page, without any API key. */
static http_request *page(api_fixture *f, const char *method, const char *path, const char *form)
{
    http_request *r = fake_request(method, path, form);
    if (form) fake_header(r, "Content-Type", "application/x-www-form-urlencoded");
    fake_send(&f->ap, r);
    return r;
}

static void expect_page(api_fixture *f, const char *method, const char *path, const char *form,
                        int status, const char *text)
{
    http_request *r = page(f, method, path, form);
    if (r->status != status || !strstr(fake_body(r), text))
        fprintf(stderr, "%s %s: %d %s\n", method, path, r->status, fake_body(r));
    assert_int_equal(r->status, status);
    assert_string_equal(r->content_type, "text/html; charset=utf-8");
    assert_non_null(strstr(fake_body(r), text));
    fake_free(r);
}

static const char *status_of(api_fixture *f, const sess *s, char *out, size_t size)
{
    json_t *j = retrieve(f, s, NULL);
    snprintf(out, size, "%s", jstr(j, "status"));
    json_decref(j);
    return out;
}

/* ---- tests ---- */

static void test_page_shows_test_choices(void **state)
{
    api_fixture *f = *state;
    sess s = create(f,
                    "type=document&options[document][require_matching_selfie]=true"
                    "&options[document][allowed_types][0]=passport"
                    "&options[document][allowed_types][1]=id_card",
                    NULL);
    http_request *r = page(f, "GET", s.page, NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->content_type, "text/html; charset=utf-8");
    assert_string_equal(fake_resp_header(r, "Cache-Control"), "no-store");
    assert_string_equal(fake_resp_header(r, "Referrer-Policy"), "no-referrer");
    assert_string_equal(fake_resp_header(r, "X-Frame-Options"), "DENY");
    assert_string_equal(fake_resp_header(r, "X-Content-Type-Options"), "nosniff");
    assert_non_null(strstr(fake_resp_header(r, "Content-Security-Policy"), "default-src 'none'"));
    assert_non_null(fake_resp_header(r, "Request-Id"));
    const char *b = fake_body(r);
    assert_non_null(strstr(b, "testmode"));
    assert_non_null(strstr(b, "(passport, ID card)"));
    assert_non_null(strstr(b, "selfie"));
    assert_null(strstr(b, "Your ID number"));
    const char *outcomes[] = {"verified", "failed", "verified_delayed", "failed_delayed"};
    for (size_t i = 0; i < 4; i++) {
        char want[64];
        snprintf(want, sizeof want, "name=\"outcome\" value=\"%s\"", outcomes[i]);
        assert_non_null(strstr(b, want));
    }
    assert_non_null(strstr(b, "<option value=\"document_unverified_other\" selected>"));
    assert_non_null(strstr(b, "<option value=\"selfie_face_mismatch\">"));
    assert_non_null(strstr(b, "for 5.0 s"));
    assert_null(strstr(b, "<script"));
    fake_free(r);

    /* An id_number session: its check and its own default failure code. */
    sess n = create(f, "type=id_number", NULL);
    r = page(f, "GET", n.page, NULL);
    assert_int_equal(r->status, 200);
    b = fake_body(r);
    assert_non_null(strstr(b, "Your ID number"));
    assert_null(strstr(b, "identity document"));
    assert_non_null(strstr(b, "<option value=\"id_number_mismatch\" selected>"));
    fake_free(r);
}

static void test_unknown_and_malformed_links(void **state)
{
    api_fixture *f = *state;
    char longtok[128] = "/start/";
    memset(longtok + 7, 'a', 65);
    longtok[72] = '\0';
    const char *bad[] = {"/start/abc-def", "/start/abc%20def", "/start/NoSuchTokenAtAll123",
                         longtok};
    for (size_t i = 0; i < 4; i++) {
        expect_page(f, "GET", bad[i], NULL, 404, "This link is not valid");
        expect_page(f, "POST", bad[i], "outcome=verified", 404, "This link is not valid");
    }
    /* A session's id is not its token. */
    sess s = create(f, "type=document", NULL);
    char path[sizeof s.id + 8];
    snprintf(path, sizeof path, "/start/%.60s", s.id + 3);
    expect_page(f, "GET", path, NULL, 404, "This link is not valid");
}

static void test_verify_now(void **state)
{
    api_fixture *f = *state;
    sess s = create(f, "type=document", NULL);
    expect_page(f, "POST", s.page, "outcome=verified", 200, "Verification complete");
    char st[32];
    assert_string_equal(status_of(f, &s, st, sizeof st), "verified");
    /* The same events as the helpers, with request null: a user's action, not an API call. */
    char acct[40], hex[65];
    unsigned char d[UTIL_SHA256_LEN];
    util_sha256(KEY, strlen(KEY), d);
    util_hex(d, sizeof d, hex);
    snprintf(acct, sizeof acct, "acct_t%.24s", hex);
    arena *a = arena_new();
    store_event_query q = {.account = acct, .delivery_success = -1, .limit = 10};
    store_event *ev;
    size_t n;
    int more;
    assert_int_equal(store_event_list(f->st, &q, a, &ev, &n, &more), 0);
    assert_int_equal(n, 3);
    assert_string_equal(ev[0].type, "identity.verification_session.verified");
    assert_string_equal(ev[1].type, "identity.verification_session.processing");
    assert_null(ev[0].request_id);
    assert_null(ev[1].request_id);
    arena_free(a);
    /* The link is used now, for GET and POST alike. */
    expect_page(f, "GET", s.page, NULL, 410, "already been used");
    expect_page(f, "POST", s.page, "outcome=failed", 410, "already been used");
    assert_string_equal(status_of(f, &s, st, sizeof st), "verified");
}

static void test_fail_with_code_then_redirect(void **state)
{
    api_fixture *f = *state;
    sess s = create(f, "type=document&return_url=https%3A%2F%2Fapp.test%2Fback%3Fx%3D1", NULL);
    http_request *r = page(f, "POST", s.page, "outcome=failed&code=selfie_face_mismatch");
    assert_int_equal(r->status, 303);
    assert_string_equal(fake_resp_header(r, "Location"), "https://app.test/back?x=1");
    assert_non_null(strstr(fake_body(r), "href=\"https://app.test/back?x=1\""));
    fake_free(r);
    json_t *j = retrieve(f, &s, NULL);
    assert_string_equal(jstr(j, "status"), "requires_input");
    assert_string_equal(jstr(j, "last_error.code"), "selfie_face_mismatch");
    sess again;
    snprintf(again.id, sizeof again.id, "%s", s.id);
    page_of(j, &again);
    json_decref(j);
    /* The old link is used; the fresh url works. */
    assert_string_not_equal(again.page, s.page);
    expect_page(f, "GET", s.page, NULL, 410, "already been used");
    expect_page(f, "GET", again.page, NULL, 200, "Verify your identity");

    /* An unknown code falls back to the session's default. */
    expect_page(f, "POST", again.page, "outcome=failed&code=made_up", 303, "");
    j = retrieve(f, &s, NULL);
    assert_string_equal(jstr(j, "last_error.code"), "document_unverified_other");
    json_decref(j);
}

static void test_delayed_outcomes(void **state)
{
    api_fixture *f = *state;
    sess v = create(f, "type=document", NULL);
    sess x = create(f, "type=document", NULL);
    expect_page(f, "POST", v.page, "outcome=verified_delayed", 200, "Verification submitted");
    expect_page(f, "POST", x.page, "outcome=failed_delayed&code=consent_declined", 200,
                "Verification submitted");
    char st[32];
    assert_string_equal(status_of(f, &v, st, sizeof st), "processing");
    expect_page(f, "GET", v.page, NULL, 410, "being processed");
    /* Not before --hosted-delay... */
    worker_sync(f->ap.outcomes);
    assert_string_equal(status_of(f, &v, st, sizeof st), "processing");
    assert_string_equal(status_of(f, &x, st, sizeof st), "processing");
    /* ...and once it has passed. */
    util_clock_advance(5000 + 100);
    worker_sync(f->ap.outcomes);
    assert_string_equal(status_of(f, &v, st, sizeof st), "verified");
    json_t *j = retrieve(f, &x, NULL);
    assert_string_equal(jstr(j, "status"), "requires_input");
    assert_string_equal(jstr(j, "last_error.code"), "consent_declined");
    json_decref(j);
}

static void test_refused_links(void **state)
{
    api_fixture *f = *state;
    /* Canceled. */
    sess c = create(f, "type=document", NULL);
    char t[128];
    snprintf(t, sizeof t, SESSIONS "/%s/cancel", c.id);
    http_request *r = fake_call(&f->ap, "POST", t, NULL, KEY);
    assert_int_equal(r->status, 200);
    fake_free(r);
    expect_page(f, "GET", c.page, NULL, 410, "canceled");
    expect_page(f, "POST", c.page, "outcome=verified", 410, "canceled");

    /* No outcome, or an unknown one. */
    sess s = create(f, "type=document", NULL);
    expect_page(f, "POST", s.page, "", 400, "Choose an outcome");
    expect_page(f, "POST", s.page, "outcome=approve", 400, "Choose an outcome");
    char st[32];
    assert_string_equal(status_of(f, &s, st, sizeof st), "requires_input");

    /* Expired after 48 h (nothing retrieved it meanwhile, which would have rotated it). */
    util_clock_advance((48 * 3600 - 60) * 1000LL);
    expect_page(f, "GET", s.page, NULL, 200, "Verify your identity");
    util_clock_advance(61 * 1000LL);
    expect_page(f, "GET", s.page, NULL, 410, "expired");
    expect_page(f, "POST", s.page, "outcome=verified", 410, "expired");
    assert_string_equal(status_of(f, &s, st, sizeof st), "requires_input");
}

static void test_live_mode_has_no_test_choices(void **state)
{
    api_fixture *f = *state;
    char path[128], hex[65];
    unsigned char d[UTIL_SHA256_LEN];
    snprintf(path, sizeof path, "%s/keys", f->dir);
    FILE *out = fopen(path, "w");
    util_sha256("sk_live_hosted", 14, d);
    util_hex(d, sizeof d, hex);
    fprintf(out, "%s acct_live_hosted\n", hex);
    fclose(out);
    const char *err;
    assert_int_equal(api_keyring_load(path, &f->ap.keys, &err), 0);

    sess s = create(f, "type=document", "sk_live_hosted");
    http_request *r = page(f, "GET", s.page, NULL);
    assert_int_equal(r->status, 200);
    assert_non_null(strstr(fake_body(r), "Live verification needs document capture"));
    assert_null(strstr(fake_body(r), "name=\"outcome\""));
    assert_null(strstr(fake_body(r), "testmode"));
    fake_free(r);
    expect_page(f, "POST", s.page, "outcome=verified", 403, "not available");
    json_t *j = retrieve(f, &s, "sk_live_hosted");
    assert_string_equal(jstr(j, "status"), "requires_input");
    json_decref(j);
}

/* Only http(s) return_urls without spaces or control characters become a redirect; the link
 * in the body is HTML-escaped. */
static void test_redirect_safety(void **state)
{
    api_fixture *f = *state;
    /* What could break out of the Location header or the page is refused at create. */
    const char *refused[] = {"javascript%3Aalert(1)", "https%3A%2F%2Fapp.test%2Fa%20b",
                             "https%3A%2F%2Fapp.test%2F%3Fq%3D%22%3Cb%3E", "https%3A%2F%2Fa%0d%0a"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        char body[160];
        snprintf(body, sizeof body, "type=document&return_url=%s", refused[i]);
        http_request *r = fake_call(&f->ap, "POST", SESSIONS, body, KEY);
        assert_int_equal(r->status, 400);
        assert_non_null(strstr(fake_body(r), "\"url_invalid\""));
        fake_free(r);
    }

    /* What a URL may hold still reaches the page escaped. */
    sess q =
        create(f, "type=document&return_url=HTTPS%3A%2F%2Fapp.test%2F%3Fq%3D%27x%27%26r%3D1", NULL);
    http_request *r = page(f, "POST", q.page, "outcome=verified");
    assert_int_equal(r->status, 303);
    assert_string_equal(fake_resp_header(r, "Location"), "HTTPS://app.test/?q='x'&r=1");
    assert_non_null(strstr(fake_body(r), "HTTPS://app.test/?q=&#39;x&#39;&amp;r=1"));
    fake_free(r);
}

/* The access log names the page route, never the token (it is the page's credential). */
static void test_token_never_logged(void **state)
{
    api_fixture *f = *state;
    sess s = create(f, "type=document", NULL);
    const char *token = s.page + 7;
    char path[128];
    snprintf(path, sizeof path, "%s/log", f->dir);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDERR_FILENO);
    log_level = LOG_INFO;
    http_request *r = page(f, "GET", s.page, NULL);
    int get_status = r->status;
    fake_free(r);
    r = page(f, "POST", s.page, "outcome=failed");
    int post_status = r->status;
    fake_free(r);
    log_level = LOG_ERROR;
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    assert_int_equal(get_status, 200);
    assert_int_equal(post_status, 200);

    FILE *in = fopen(path, "r");
    char log[8192];
    size_t n = fread(log, 1, sizeof log - 1, in);
    fclose(in);
    log[n] = '\0';
    assert_non_null(strstr(log, "path=/start/[token]"));
    assert_null(strstr(log, token));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_page_shows_test_choices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_and_malformed_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_now, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_with_code_then_redirect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delayed_outcomes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_mode_has_no_test_choices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_safety, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_never_logged, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
