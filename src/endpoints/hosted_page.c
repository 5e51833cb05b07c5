/*
 * hosted_page: the page a session's `url` points at, <public_url>/start/<url_token>
 * (CONTRACT.md §2 "url", §7, §11 "Moving a session forward"). In test mode it offers what
 * Stripe's test-mode page offers: complete with verification success, or with failure (with a
 * chosen last_error code), each also delayed (the session stays processing for the configured
 * --hosted-delay), then a redirect to the session's return_url.
 *
 * The token in the path is the only credential: there is no API key, no cookie and no session
 * state, so a form POST from another site cannot act without knowing the token (state changes
 * are POST only). The token is looked up by its hash, compared with the session's in constant
 * time, and never logged. A used, expired or canceled link gets a plain explanatory page. The
 * page is static HTML with inline CSS: no scripts, no outside assets.
 *
 * The same page also opens inside the modal of the /v3/ Stripe.js stand-in (stripe_js.c;
 * CONTRACT.md §11 "Test control plane"): POST /v3/identity/verify with the client_secret and
 * the app's origin, both in the form body (Stripe: the client_secret must never be put in a
 * URL). Only that path may be framed, and only by the origin named, and its pages carry one
 * small script (under a per-response nonce) that tells the parent window the outcome with
 * postMessage, targeted at exactly that origin, instead of redirecting the top window.
 *
 * Not for: the transitions (lifecycle.c, the same code path as the test helpers).
 */
#include <stdio.h>
#include <string.h>

#include "endpoints/endpoints.h"
#include "identity/session_store.h"
#include "background/worker.h"
#include "identity/lifecycle.h"
#include "base/log.h"
#include "base/url.h"
#include "base/html.h"
#include "identity/report.h"
#include "base/util.h"
#include "base/ids.h"
#include "identity/account_clock.h"
#include "identity/limits.h"

#define TOKEN_MAX 64
#define ORIGIN_MAX 200

/* A page inside the Stripe.js stand-in's modal: who may frame it and what to tell them. NULL
 * for the page at /start/. */
typedef struct page_frame {
    const char *origin;        /* the app's origin, checked by origin_ok */
    const char *client_secret; /* as posted, the credential of every modal request */
    const char *secret_token;  /* its part after "_secret_" */
    const char *tell;          /* the JSON message for the parent, or NULL */
} page_frame;

/* ---- HTML ---- */

static const char page_head[] =
    "<!doctype html>\n"
    "<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<meta name=\"referrer\" content=\"no-referrer\">\n"
    "<title>%s</title>\n"
    "<style>\n"
    ":root{color-scheme:light dark;--fg:#1a1f36;--muted:#4f566b;--bg:#f6f8fa;--card:#fff;"
    "--accent:#4b3fd8;--ok:#0b6b3a;--bad:#a4161a;--line:#d5dbe1}\n"
    "@media (prefers-color-scheme:dark){:root{--fg:#e8eaf0;--muted:#b4bac8;--bg:#12151c;"
    "--card:#1c2030;--accent:#a9a2ff;--ok:#7ee2a8;--bad:#ff9b9e;--line:#3a4052}}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "color:var(--fg);background:var(--bg)}\n"
    "main{max-width:34rem;margin:2rem auto;padding:1.5rem 1.75rem;background:var(--card);"
    "border:1px solid var(--line);border-radius:12px}\n"
    "h1{font-size:1.5rem;margin:.25rem 0 1rem}\n"
    ".banner{margin:0 0 1rem;padding:.6rem .8rem;border-radius:8px;background:#fff4d6;"
    "color:#5c4400;border:1px solid #e8c766}\n"
    "ul.checks{padding-left:1.25rem}\n"
    "fieldset{border:1px solid var(--line);border-radius:8px;margin:1rem 0;padding:.75rem 1rem}\n"
    "legend{font-weight:600;padding:0 .25rem}\n"
    "label{display:block;font-weight:600;margin:.5rem 0 .25rem}\n"
    "select{width:100%%;font:inherit;padding:.45rem;border-radius:6px;"
    "border:1px solid var(--line);background:var(--card);color:var(--fg)}\n"
    ".choices{display:grid;grid-template-columns:1fr 1fr;gap:.6rem;margin-top:.75rem}\n"
    "button{font:inherit;font-weight:600;padding:.6rem .75rem;border-radius:8px;cursor:pointer;"
    "border:2px solid transparent}\n"
    "button.ok{background:var(--ok);color:#fff}\n"
    "button.bad{background:var(--bad);color:#fff}\n"
    "@media (prefers-color-scheme:dark){button.ok,button.bad{color:#111}}\n"
    "button:focus-visible,select:focus-visible{outline:3px solid var(--accent);"
    "outline-offset:2px}\n"
    ".hint,.small{color:var(--muted);font-size:.9rem}\n"
    "</style>\n</head>\n<body>\n<main>\n";

static const char page_tail[] = "</main>\n</body>\n</html>\n";

static void page_begin(buf *b, const char *title)
{
    buf_printf(b, page_head, title);
}

/* The script of a framed page, the same on every one: post the page's message (if it has one)
 * to the parent, at exactly the origin that opened the modal, and pass Escape on (a key press
 * inside the frame never reaches the parent's document). */
static const char frame_script[] =
    "(function(){var m=document.getElementById('verifyd-message'),o=m.getAttribute('data-origin');"
    "function tell(x){window.parent.postMessage(x,o);}"
    "if(m.textContent)tell(JSON.parse(m.textContent));"
    "document.addEventListener('keydown',function(e){if(e.key==='Escape')"
    "tell({verifyd:'identity',state:'close'});});})();";

/* Ends b with page_tail and sends it: for f, with the message and script of a framed page and
 * the headers that let f->origin frame it. */
static void send_page(api_ctx *c, const page_frame *f, int status, buf *b)
{
    if (f == NULL) {
        buf_puts(b, page_tail);
        api_respond_page(c, status, "text/html; charset=utf-8", b);
        return;
    }
    char nonce[32];
    ids_random(nonce, sizeof nonce, "", 22);
    /* The message is fixed text of this file (no input reaches it), so it needs no escaping
     * inside its script element; the origin passed origin_ok and is escaped anyway. */
    buf_puts(b, "<script type=\"application/json\" id=\"verifyd-message\" data-origin=\"");
    html_escape(b, f->origin);
    buf_printf(b, "\">%s</script>\n<script nonce=\"%s\">%s</script>\n", f->tell ? f->tell : "",
               nonce, frame_script);
    buf_puts(b, page_tail);
    api_respond_framed_page(c, status, "text/html; charset=utf-8", b, f->origin, nonce);
}

/* A page that explains why nothing can be done here, with status. */
static void respond_message(api_ctx *c, const page_frame *f, int status, const char *title,
                            const char *text)
{
    buf b;
    buf_init(&b, c->a);
    page_begin(&b, title);
    buf_puts(&b, "<h1>");
    html_escape(&b, title);
    buf_puts(&b, "</h1>\n<p>");
    html_escape(&b, text);
    buf_puts(&b, "</p>\n");
    send_page(c, f, status, &b);
}

/* What the session will check, as list items (CONTRACT.md §2 "options"). */
static void describe_checks(buf *b, const session *s)
{
    buf_puts(b, "<ul class=\"checks\">\n");
    if (s->type != SESSION_TYPE_ID_NUMBER) {
        buf_puts(b, "<li>A photo of an identity document");
        if (s->doc.has_allowed_types && s->doc.n_allowed_types > 0) {
            buf_puts(b, " (");
            for (size_t i = 0; i < s->doc.n_allowed_types; i++) {
                const char *t = s->doc.allowed_types[i];
                buf_puts(b, i ? ", " : "");
                buf_puts(b, strcmp(t, "driving_license") == 0 ? "driving license"
                            : strcmp(t, "id_card") == 0       ? "ID card"
                                                              : "passport");
            }
            buf_puts(b, ")");
        } else {
            buf_puts(b, " (driving license, ID card or passport)");
        }
        buf_puts(b, "</li>\n");
        if (s->doc.require_live_capture == SESSION_TRUE)
            buf_puts(b, "<li>Taken live with your camera, not uploaded</li>\n");
        if (s->doc.require_matching_selfie == SESSION_TRUE)
            buf_puts(b, "<li>A selfie that matches the photo on the document</li>\n");
    }
    if (s->type == SESSION_TYPE_ID_NUMBER || s->doc.require_id_number == SESSION_TRUE)
        buf_puts(b, "<li>Your ID number (for example a US Social Security number)</li>\n");
    buf_puts(b, "</ul>\n");
}

static void respond_choices(api_ctx *c, const page_frame *f, const session *s)
{
    buf b;
    buf_init(&b, c->a);
    page_begin(&b, "Verify your identity");
    if (!s->livemode)
        buf_puts(&b, "<p class=\"banner\" role=\"note\"><strong>You're currently in "
                     "testmode.</strong> This page is only shown in testmode.</p>\n");
    buf_puts(&b, "<h1>Verify your identity</h1>\n<p>This verification checks:</p>\n");
    describe_checks(&b, s);
    if (s->livemode) {
        buf_puts(&b, "<p>Live verification needs document capture, which this server does not "
                     "offer. Please contact the site that sent you here.</p>\n");
        send_page(c, f, 200, &b);
        return;
    }
    const char *dflt = report_default_error_code(s);
    buf_puts(&b, "<form method=\"post\">\n");
    if (f != NULL) { /* the modal's credential travels in the body, never in the URL */
        buf_puts(&b, "<input type=\"hidden\" name=\"client_secret\" value=\"");
        html_escape(&b, f->client_secret);
        buf_puts(&b, "\">\n<input type=\"hidden\" name=\"origin\" value=\"");
        html_escape(&b, f->origin);
        buf_puts(&b, "\">\n");
    }
    buf_puts(&b, "<fieldset>\n<legend>Complete with test data</legend>\n"
                 "<label for=\"code\">Failure reason (<code>last_error.code</code>)</label>\n"
                 "<select id=\"code\" name=\"code\" aria-describedby=\"code-hint\">\n");
    for (size_t i = 0; report_last_error_codes[i]; i++) {
        const char *code = report_last_error_codes[i];
        buf_printf(&b, "<option value=\"%s\"%s>%s</option>\n", code,
                   strcmp(code, dflt) == 0 ? " selected" : "", code);
    }
    buf_puts(&b, "</select>\n<p id=\"code-hint\" class=\"hint\">Used by the failure choices "
                 "only.</p>\n<div class=\"choices\">\n"
                 "<button class=\"ok\" name=\"outcome\" value=\"verified\">Verification "
                 "success</button>\n"
                 "<button class=\"bad\" name=\"outcome\" value=\"failed\">Verification "
                 "failure</button>\n"
                 "<button class=\"ok\" name=\"outcome\" value=\"verified_delayed\">Verification "
                 "success (delayed)</button>\n"
                 "<button class=\"bad\" name=\"outcome\" value=\"failed_delayed\">Verification "
                 "failure (delayed)</button>\n"
                 "</div>\n</fieldset>\n</form>\n");
    int64_t ms = c->app->hosted_delay_ms;
    buf_printf(&b,
               "<p class=\"small\">A delayed choice keeps the session <code>processing</code> "
               "for %lld.%lld s before the outcome arrives, as a real check would.</p>\n",
               (long long)(ms / 1000), (long long)(ms % 1000 / 100));
    send_page(c, f, 200, &b);
}

/* ---- finding the session ---- */

/* A well-formed token: what ids_random produces (base62), bounded. */
static int token_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > TOKEN_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = t[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
            return 0;
    }
    return 1;
}

typedef enum { LINK_LIVE, LINK_USED, LINK_EXPIRED, LINK_CANCELED, LINK_PROCESSING } link_state;

/* The state of token for the session, whose current token of that kind is issued (a url token,
 * or a modal's client_secret: CONTRACT.md §2, single use), valid ttl_s seconds of the account's
 * time from when the pair was issued. */
static link_state token_state(const session *s, const char *token, const char *issued,
                              int64_t ttl_s)
{
    size_t n = strlen(token);
    int current = issued && strlen(issued) == n && util_ct_equal(issued, token, n);
    if (s->status == SESSION_CANCELED || s->redaction != SESSION_REDACTION_NONE)
        return LINK_CANCELED;
    if (!current) return LINK_USED; /* replaced after a failed attempt or after expiry */
    if (s->status == SESSION_PROCESSING) return LINK_PROCESSING;
    if (s->status == SESSION_VERIFIED) return LINK_USED;
    if (account_clock_now(s->account) - s->secret_issued >= ttl_s) return LINK_EXPIRED;
    return LINK_LIVE;
}

static link_state state_of(api_ctx *c, const page_frame *f, const session *s)
{
    return f != NULL ? token_state(s, f->secret_token, s->secret_token, SECRET_TTL_S)
                     : token_state(s, c->path_id, s->url_token, URL_TTL_S);
}

/* What a modal's parent is told when its client_secret cannot be used: a Stripe.js error
 * object (type and message, as Stripe.js results carry them). */
#define TELL_ERROR(msg)                                                                            \
    "{\"verifyd\":\"identity\",\"state\":\"error\",\"error\":{\"type\":\"invalid_request_error\"," \
    "\"message\":\"" msg "\"}}"

/* Answers the page for a link that cannot be used (returns 1), or 0 for a live one. */
static int refuse(api_ctx *c, page_frame *f, link_state st)
{
    if (f != NULL && st != LINK_LIVE) {
        f->tell = st == LINK_PROCESSING
                      ? TELL_ERROR("This VerificationSession was already submitted.")
                  : st == LINK_EXPIRED  ? TELL_ERROR("This client_secret has expired.")
                  : st == LINK_CANCELED ? TELL_ERROR("This VerificationSession was canceled.")
                                        : TELL_ERROR("This client_secret was already used.");
    }
    switch (st) {
    case LINK_LIVE:
        return 0;
    case LINK_PROCESSING:
        respond_message(c, f, 410, "Verification submitted",
                        "This verification has been submitted and is being processed. This link "
                        "cannot be used again.");
        return 1;
    case LINK_USED:
        respond_message(c, f, 410, "This link has already been used",
                        "Each verification link works once. If you need to verify again, ask "
                        "the site that sent you here for a new link.");
        return 1;
    case LINK_EXPIRED:
        respond_message(c, f, 410, "This link has expired",
                        "Verification links expire after 48 hours. Ask the site that sent you "
                        "here for a new link.");
        return 1;
    case LINK_CANCELED:
        respond_message(c, f, 410, "This verification was canceled",
                        "The site that sent you here canceled this verification, so the link no "
                        "longer works.");
        return 1;
    }
    return 0;
}

static void respond_unknown(api_ctx *c, page_frame *f)
{
    if (f != NULL)
        f->tell = "{\"verifyd\":\"identity\",\"state\":\"error\",\"error\":{\"type\":"
                  "\"invalid_request_error\",\"code\":\"resource_missing\",\"message\":"
                  "\"No such client_secret.\"}}";
    respond_message(c, f, 404, "This link is not valid",
                    "Check that you opened the whole link you were sent, or ask the site that "
                    "sent you here for a new one.");
}

static void respond_failure(api_ctx *c, page_frame *f)
{
    if (f != NULL)
        f->tell = "{\"verifyd\":\"identity\",\"state\":\"error\",\"error\":{\"type\":"
                  "\"api_error\",\"message\":\"The verification could not be saved.\"}}";
    respond_message(c, f, 500, "Something went wrong",
                    "Your verification could not be saved. Please try again in a moment.");
}

/* Reads the session of the token (of f's client_secret for a modal). 0 with *s, or 1 when a
 * page was answered. */
static int load(api_ctx *c, page_frame *f, session *s)
{
    const char *token = f != NULL ? f->secret_token : c->path_id;
    const char *account, *id;
    if (!token_ok(token)) {
        respond_unknown(c, f);
        return 1;
    }
    int rc = f != NULL
                 ? session_store_find_secret(c->app->st, f->client_secret, c->a, &account, &id)
                 : session_store_find_link(c->app->st, token, c->a, &account, &id);
    if (rc == 0) rc = session_store_get(c->app->st, account, id, c->a, s);
    if (rc == STORE_NOT_FOUND) {
        respond_unknown(c, f);
        return 1;
    }
    if (rc != 0) {
        respond_failure(c, f);
        return 1;
    }
    return 0;
}

void hosted_page_get(api_ctx *c)
{
    session s;
    if (load(c, NULL, &s) != 0) return;
    if (refuse(c, NULL, token_state(&s, c->path_id, s.url_token, URL_TTL_S))) return;
    respond_choices(c, NULL, &s);
}

/* ---- submitting ---- */

typedef struct page_job {
    api_ctx *c;
    page_frame *frame; /* NULL on /start/ */
    const char *account;
    const char *session_id;
    int verify; /* 1: success, 0: failure */
    int delayed;
    const char *code;   /* failure: last_error code */
    link_state refused; /* set by the job when the link turned out not to be live */
    int ok;
    session s; /* the session after the change */
} page_job;

static int page_run(store_txn *t, void *arg)
{
    page_job *j = arg;
    api_ctx *c = j->c;
    int rc = session_store_txn_get(t, j->account, j->session_id, c->a, &j->s);
    if (rc != 0) return rc;
    /* Checked again inside the transaction: another tab may have used the link meanwhile. */
    j->refused = state_of(c, j->frame, &j->s);
    if (j->refused != LINK_LIVE || j->s.livemode) return 0;
    static const lifecycle_origin page = {NULL, NULL}; /* a user's submission, not an API request */
    if (j->delayed)
        rc = lifecycle_schedule(
            t, c->a, &j->s, j->verify ? SESSION_PENDING_VERIFY : SESSION_PENDING_REQUIRE_INPUT,
            j->code, account_clock_now_ms(j->s.account) + c->app->hosted_delay_ms, &page);
    else if (j->verify)
        rc = lifecycle_verify(t, c->a, &j->s, &page);
    else
        rc = lifecycle_require_input(t, c->a, &j->s, j->code, &page);
    if (rc == LIFECYCLE_WRONG_STATE) {
        j->refused = LINK_USED;
        return 0;
    }
    j->ok = rc == 0;
    return rc;
}

/* A return_url fit for a Location header. Create refuses any other, but a session stored by an
 * older build may hold one. */
static int redirect_ok(const char *u)
{
    return u != NULL && url_check_http(u, URL_MAX, NULL) == 0;
}

static void page_done(void *arg, int rc)
{
    page_job *j = arg;
    api_ctx *c = j->c;
    page_frame *f = j->frame;
    if (rc != 0) {
        respond_failure(c, f);
        return;
    }
    if (j->s.livemode) {
        if (f != NULL) f->tell = TELL_ERROR("Live verification is not available on this server.");
        respond_message(c, f, 403, "Live verification is not available",
                        "This server cannot capture documents in live mode.");
        return;
    }
    if (refuse(c, f, j->refused)) return;
    if (j->delayed) worker_kick(c->app->outcomes);
    if (f != NULL) {
        /* Stripe.js: verifyIdentity resolves once the user has submitted, whatever the outcome
         * will be (that arrives by webhook). The parent is told; the top window stays. */
        f->tell = "{\"verifyd\":\"identity\",\"state\":\"submitted\"}";
        respond_message(c, f, 200, "Verification submitted",
                        "Thank you. Your verification has been submitted.");
        return;
    }
    if (redirect_ok(j->s.return_url)) {
        /* Stripe: CONTRACT.md §3 "return_url": where the hosted flow goes when it finishes. */
        http_add_header(c->req, "Location", j->s.return_url);
        buf b;
        buf_init(&b, c->a);
        buf_puts(&b, "<!doctype html>\n<title>Redirecting</title>\n<p>Continue to <a href=\"");
        html_escape(&b, j->s.return_url);
        buf_puts(&b, "\">the site that sent you here</a>.</p>\n");
        api_respond_page(c, 303, "text/html; charset=utf-8", &b);
        return;
    }
    if (j->delayed)
        respond_message(c, NULL, 200, "Verification submitted",
                        "Thank you. Your verification is being processed; you can close this "
                        "page.");
    else if (j->verify)
        respond_message(c, NULL, 200, "Verification complete",
                        "Thank you. Your identity has been verified; you can close this page.");
    else
        respond_message(c, NULL, 200, "Verification failed",
                        "Your identity could not be verified. Ask the site that sent you here "
                        "for a new link to try again.");
}

/* The submission of a chosen outcome (params: outcome, code), from /start/ (f NULL) or the
 * modal. */
static void submit(api_ctx *c, page_frame *f, form_node *params)
{
    session s;
    if (load(c, f, &s) != 0) return;
    const char *outcome = params_str(params, "outcome");
    const char *code = params_str(params, "code");
    page_job *j = arena_calloc(c->a, sizeof *j);
    j->c = c;
    j->frame = f;
    j->account = s.account;
    j->session_id = arena_strdup(c->a, s.id);
    if (outcome && strcmp(outcome, "verified") == 0) {
        j->verify = 1;
    } else if (outcome && strcmp(outcome, "verified_delayed") == 0) {
        j->verify = j->delayed = 1;
    } else if (outcome && strcmp(outcome, "failed_delayed") == 0) {
        j->delayed = 1;
    } else if (!outcome || strcmp(outcome, "failed") != 0) {
        respond_message(c, f, 400, "Choose an outcome",
                        "Go back and choose one of the test outcomes.");
        return;
    }
    if (!j->verify) {
        j->code = report_default_error_code(&s);
        for (size_t i = 0; code && report_last_error_codes[i]; i++) {
            if (strcmp(code, report_last_error_codes[i]) == 0) j->code = report_last_error_codes[i];
        }
    }
    store_submit(c->app->st, page_run, page_done, j);
}

void hosted_page_post(api_ctx *c)
{
    size_t len;
    const char *body = http_body(c->req, &len);
    form_node *params = NULL;
    const char *msg;
    if (form_parse(c->a, body, len, NULL, &params, &msg) != 0) params = NULL;
    submit(c, NULL, params);
}

/* ---- inside the Stripe.js stand-in's modal ---- */

/* An origin a page may be framed by and posted to: http or https, a host of letters, digits,
 * '-' and '.' (or a bracketed IPv6 address), an optional port, nothing else. What passes can
 * go into a CSP header and an attribute as it is. */
static int origin_ok(const char *o)
{
    size_t n = o ? strlen(o) : 0;
    const char *p;
    if (n == 0 || n > ORIGIN_MAX) return 0;
    if (strncmp(o, "https://", 8) == 0)
        p = o + 8;
    else if (strncmp(o, "http://", 7) == 0)
        p = o + 7;
    else
        return 0;
    const char *host = p;
    if (*p == '[') {
        for (p++; *p && *p != ']'; p++)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
                  (*p >= 'A' && *p <= 'F') || *p == ':'))
                return 0;
        if (*p++ != ']') return 0;
    } else {
        for (; (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
               *p == '-' || *p == '.';
             p++)
            ;
    }
    if (p == host) return 0;
    if (*p == ':') {
        const char *digits = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == digits || p - digits > 5) return 0;
    }
    return *p == '\0';
}

void hosted_page_modal(api_ctx *c)
{
    size_t len;
    const char *body = http_body(c->req, &len);
    form_node *params = NULL;
    const char *msg;
    if (form_parse(c->a, body, len, NULL, &params, &msg) != 0) params = NULL;
    page_frame *f = arena_calloc(c->a, sizeof *f);
    f->origin = params_str(params, "origin");
    f->client_secret = params_str(params, "client_secret");
    if (!origin_ok(f->origin)) {
        /* No origin to frame for or to tell: a plain page that no one may frame. */
        respond_message(c, NULL, 400, "This page opens inside a verification modal",
                        "Open it with verifyIdentity() of the Stripe.js stand-in at /v3/.");
        return;
    }
    const char *mark = f->client_secret ? strstr(f->client_secret, "_secret_") : NULL;
    f->secret_token = mark != NULL ? mark + 8 : "";
    if (params_str(params, "outcome") != NULL) {
        submit(c, f, params);
        return;
    }
    session s;
    if (load(c, f, &s) != 0) return;
    if (refuse(c, f, token_state(&s, f->secret_token, s.secret_token, SECRET_TTL_S))) return;
    respond_choices(c, f, &s);
}
