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
#include "identity/report.h"
#include "base/util.h"
#include "identity/account_clock.h"

#define TOKEN_MAX 64

/* ---- HTML ---- */

static void html_escape(buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            buf_puts(b, "&amp;");
            break;
        case '<':
            buf_puts(b, "&lt;");
            break;
        case '>':
            buf_puts(b, "&gt;");
            break;
        case '"':
            buf_puts(b, "&quot;");
            break;
        case '\'':
            buf_puts(b, "&#39;");
            break;
        default:
            buf_putc(b, *s);
        }
    }
}

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

/* A page that explains why nothing can be done here, with status. */
static void respond_message(api_ctx *c, int status, const char *title, const char *text)
{
    buf b;
    buf_init(&b, c->a);
    page_begin(&b, title);
    buf_puts(&b, "<h1>");
    html_escape(&b, title);
    buf_puts(&b, "</h1>\n<p>");
    html_escape(&b, text);
    buf_puts(&b, "</p>\n");
    buf_puts(&b, page_tail);
    api_respond_page(c, status, "text/html; charset=utf-8", &b);
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

static void respond_choices(api_ctx *c, const session *s)
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
        buf_puts(&b, page_tail);
        api_respond_page(c, 200, "text/html; charset=utf-8", &b);
        return;
    }
    const char *dflt = report_default_error_code(s);
    buf_puts(&b, "<form method=\"post\">\n<fieldset>\n<legend>Complete with test data</legend>\n"
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
    buf_puts(&b, page_tail);
    api_respond_page(c, 200, "text/html; charset=utf-8", &b);
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

/* The state of the link token for the session it was issued to. */
static link_state link_state_of(const session *s, const char *token)
{
    size_t n = strlen(token);
    int current =
        s->url_token && strlen(s->url_token) == n && util_ct_equal(s->url_token, token, n);
    if (s->status == SESSION_CANCELED || s->redaction != SESSION_REDACTION_NONE)
        return LINK_CANCELED;
    if (!current) return LINK_USED; /* replaced after a failed attempt or after expiry */
    if (s->status == SESSION_PROCESSING) return LINK_PROCESSING;
    if (s->status == SESSION_VERIFIED) return LINK_USED;
    if (account_clock_now(s->account) - s->secret_issued >= URL_TTL_S) return LINK_EXPIRED;
    return LINK_LIVE;
}

/* Answers the page for a link that cannot be used (returns 1), or 0 for a live one. */
static int refuse(api_ctx *c, link_state st)
{
    switch (st) {
    case LINK_LIVE:
        return 0;
    case LINK_PROCESSING:
        respond_message(c, 410, "Verification submitted",
                        "This verification has been submitted and is being processed. This link "
                        "cannot be used again.");
        return 1;
    case LINK_USED:
        respond_message(c, 410, "This link has already been used",
                        "Each verification link works once. If you need to verify again, ask "
                        "the site that sent you here for a new link.");
        return 1;
    case LINK_EXPIRED:
        respond_message(c, 410, "This link has expired",
                        "Verification links expire after 48 hours. Ask the site that sent you "
                        "here for a new link.");
        return 1;
    case LINK_CANCELED:
        respond_message(c, 410, "This verification was canceled",
                        "The site that sent you here canceled this verification, so the link no "
                        "longer works.");
        return 1;
    }
    return 0;
}

static void respond_unknown(api_ctx *c)
{
    respond_message(c, 404, "This link is not valid",
                    "Check that you opened the whole link you were sent, or ask the site that "
                    "sent you here for a new one.");
}

static void respond_failure(api_ctx *c)
{
    respond_message(c, 500, "Something went wrong",
                    "Your verification could not be saved. Please try again in a moment.");
}

/* Reads the session of the token. 0 with *s, or 1 when a page was answered. */
static int load(api_ctx *c, session *s)
{
    const char *token = c->path_id;
    const char *account, *id;
    if (!token_ok(token)) {
        respond_unknown(c);
        return 1;
    }
    int rc = session_store_find_link(c->app->st, token, c->a, &account, &id);
    if (rc == 0) rc = session_store_get(c->app->st, account, id, c->a, s);
    if (rc == STORE_NOT_FOUND) {
        respond_unknown(c);
        return 1;
    }
    if (rc != 0) {
        respond_failure(c);
        return 1;
    }
    return 0;
}

void hosted_page_get(api_ctx *c)
{
    session s;
    if (load(c, &s) != 0) return;
    if (refuse(c, link_state_of(&s, c->path_id))) return;
    respond_choices(c, &s);
}

/* ---- submitting ---- */

typedef struct page_job {
    api_ctx *c;
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
    j->refused = link_state_of(&j->s, c->path_id);
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
    if (rc != 0) {
        respond_failure(c);
        return;
    }
    if (j->s.livemode) {
        respond_message(c, 403, "Live verification is not available",
                        "This server cannot capture documents in live mode.");
        return;
    }
    if (refuse(c, j->refused)) return;
    if (j->delayed) worker_kick(c->app->outcomes);
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
        respond_message(c, 200, "Verification submitted",
                        "Thank you. Your verification is being processed; you can close this "
                        "page.");
    else if (j->verify)
        respond_message(c, 200, "Verification complete",
                        "Thank you. Your identity has been verified; you can close this page.");
    else
        respond_message(c, 200, "Verification failed",
                        "Your identity could not be verified. Ask the site that sent you here "
                        "for a new link to try again.");
}

void hosted_page_post(api_ctx *c)
{
    session s;
    if (load(c, &s) != 0) return;
    size_t len;
    const char *body = http_body(c->req, &len);
    form_node *params;
    const char *msg;
    const char *outcome = NULL, *code = NULL;
    if (form_parse(c->a, body, len, NULL, &params, &msg) == 0) {
        outcome = params_str(params, "outcome");
        code = params_str(params, "code");
    }
    page_job *j = arena_calloc(c->a, sizeof *j);
    j->c = c;
    j->account = s.account;
    j->session_id = arena_strdup(c->a, s.id);
    if (outcome && strcmp(outcome, "verified") == 0) {
        j->verify = 1;
    } else if (outcome && strcmp(outcome, "verified_delayed") == 0) {
        j->verify = j->delayed = 1;
    } else if (outcome && strcmp(outcome, "failed_delayed") == 0) {
        j->delayed = 1;
    } else if (!outcome || strcmp(outcome, "failed") != 0) {
        respond_message(c, 400, "Choose an outcome",
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
