/*
 * dashboard_api: the test team's inspector at /dashboard (CONTRACT.md §11 "Test control
 * plane"; README "Dashboard and metrics"): one account at a time, the account of a test-mode
 * secret key given in a sign-in form and kept in an HttpOnly, SameSite=Strict cookie scoped to
 * /dashboard (never in a URL, never logged). It shows the account's sessions with their status
 * history, its events and each webhook delivery attempt, and has buttons that move a session
 * (the test helpers), resend an event to an endpoint and advance the clock.
 *
 * The buttons are API calls: api_call runs the route of the same action with the signed-in
 * account, exactly as the SDK's request would (the session helpers' and the resend route's code
 * paths; for the clock, whatever route POST /v1/test_helpers/verifyd/clock/advance is, so a
 * process clock and a per-account one work alike), and the answer becomes a flash message and a
 * 303 back to the page. Every POST carries a CSRF token bound to the key, and a cross-origin
 * Origin is refused.
 *
 * Routes: GET /dashboard, POST /dashboard/sign-in, /dashboard/sign-out, /dashboard/action,
 * GET /dashboard/state.json (what app.js polls) and /dashboard/app.js. Who may reach them at all
 * is operator.c's rule.
 *
 * Not for: the HTML (dashboard_page.c) or the actions themselves (their endpoints).
 */
#include "endpoints/dashboard.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "api/json_body.h"
#include "base/ids.h"
#include "base/util.h"
#include "identity/session_store.h"

#define KEY_COOKIE "verifyd_key"
#define FLASH_COOKIE "verifyd_flash"
#define COOKIE_ATTRS "; Path=/dashboard; HttpOnly; SameSite=Strict"
#define SHOW_SESSIONS 20
#define SHOW_EVENTS 100
#define SHOW_ATTEMPTS 50
#define FLASH_MAX 300

static const char CSP[] = "default-src 'none'; script-src 'self'; connect-src 'self'; "
                          "style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; "
                          "frame-ancestors 'none'";

/* ---- keys, cookies and CSRF ---- */

static pthread_once_t secret_once = PTHREAD_ONCE_INIT;
static char secret[48];

static void secret_init(void)
{
    ids_random(secret, sizeof secret, "", 40);
}

/* The CSRF token of key: a hash of this process's secret and the key, so it is valid for that
 * key until the server restarts, and cannot be made without the secret. */
static const char *csrf_token(api_ctx *c, const char *key)
{
    pthread_once(&secret_once, secret_init);
    const char *msg = arena_printf(c->a, "csrf\n%s\n%s", secret, key);
    unsigned char d[UTIL_SHA256_LEN];
    util_sha256(msg, strlen(msg), d);
    char *hex = arena_alloc(c->a, 2 * UTIL_SHA256_LEN + 1);
    util_hex(d, sizeof d, hex);
    return hex;
}

/* A key that may go into a cookie as it is: sk_test_ and the letters open test mode takes. */
static int cookie_safe(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n > 0 && n <= max &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* %XX-encode s for a cookie value (the flash message). */
static const char *cookie_encode(api_ctx *c, const char *s)
{
    buf b;
    buf_init(&b, c->a);
    for (size_t i = 0; s[i] && i < FLASH_MAX; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            strchr("-_.", ch))
            buf_putc(&b, (char)ch);
        else
            buf_printf(&b, "%%%02X", ch);
    }
    buf_putc(&b, '\0');
    return b.data;
}

static const char *cookie_decode(api_ctx *c, const char *s)
{
    char *out = arena_alloc(c->a, strlen(s) + 1);
    size_t n = 0;
    for (size_t i = 0; s[i]; i++) {
        unsigned v;
        if (s[i] == '%' && sscanf(s + i + 1, "%2x", &v) == 1 && s[i + 1] && s[i + 2]) {
            out[n++] = v >= 0x20 && v != 0x7f ? (char)v : ' ';
            i += 2;
        } else {
            out[n++] = s[i];
        }
    }
    out[n] = '\0';
    return util_utf8_valid(out, n) ? out : NULL;
}

static void set_cookie(api_ctx *c, const char *name, const char *value)
{
    http_add_header(c->req, "Set-Cookie",
                    value ? arena_printf(c->a, "%s=%s" COOKIE_ATTRS, name, value)
                          : arena_printf(c->a, "%s=" COOKIE_ATTRS "; Max-Age=0", name));
}

static void send_page(api_ctx *c, int status, const buf *b)
{
    api_respond_html(c, status, "text/html; charset=utf-8", CSP, "same-origin", b);
}

static void redirect_home(api_ctx *c)
{
    buf b;
    buf_init(&b, c->a);
    buf_puts(&b, "See /dashboard\n");
    http_add_header(c->req, "Location", "/dashboard");
    api_respond_html(c, 303, "text/plain; charset=utf-8", CSP, "same-origin", &b);
}

static void signin_page(api_ctx *c, int status, const char *error)
{
    buf b;
    buf_init(&b, c->a);
    dashboard__signin(&b, error, c->app->dashboard_key != NULL);
    send_page(c, status, &b);
}

/* The operator rule (operator.c): 0 to go on, or -1 after answering (the unknown-route 404 when
 * the dashboard is off; the sign-in page asking for the operator key when it is missing). */
static int admit_operator(api_ctx *c)
{
    int access = operator_access(c);
    if (access == OPERATOR_OPEN) return 0;
    if (access == OPERATOR_OFF)
        api_respond_unknown_route(c);
    else
        signin_page(c, 401, "This verifyd needs its operator key (--dashboard-key).");
    return -1;
}

/* The signed-in key: c->account set from it and the key returned, or NULL when there is none
 * usable (then the key cookie is cleared if one was sent). */
static const char *signed_in(api_ctx *c)
{
    const char *key = operator_cookie(c, KEY_COOKIE);
    if (key == NULL) return NULL;
    apierr e;
    if (!cookie_safe(key, 255) || api_authenticate_key(c, key, &e) != 0 || c->livemode) {
        set_cookie(c, KEY_COOKIE, NULL);
        return NULL;
    }
    return key;
}

/* A POST from another origin (a page elsewhere submitting a form here) is refused, on top of
 * the SameSite cookie and the token. */
static int same_origin(api_ctx *c)
{
    const char *origin = http_header(c->req, "Origin");
    const char *host = http_header(c->req, "Host");
    if (origin == NULL || strcmp(origin, "null") == 0) return origin == NULL;
    if (host == NULL) return 0;
    return strcmp(origin, arena_printf(c->a, "http://%s", host)) == 0 ||
           strcmp(origin, arena_printf(c->a, "https://%s", host)) == 0;
}

/* The form body of a page POST (page routes get no decoded parameters): 0 and *out, or -1. */
static int body_form(api_ctx *c, form_node **out)
{
    size_t len;
    const char *body = http_body(c->req, &len);
    const char *msg;
    return form_parse(c->a, body, len, &form_default_limits, out, &msg) == 0 ? 0 : -1;
}

/* ---- what the page shows ---- */

static int load(api_ctx *c, dashboard__data *d)
{
    memset(d, 0, sizeof *d);
    d->account = c->account;
    store *st = c->app->st;
    int more;
    store_session_query sq = {.account = c->account, .limit = SHOW_SESSIONS};
    int rc = session_store_list(st, &sq, c->a, &d->sessions, &d->n_sessions, &more);
    store_event_query eq = {
        .account = c->account, .delivery_success = -1, .limit = SHOW_EVENTS, .v2 = 0};
    if (rc == 0) rc = store_event_list(st, &eq, c->a, &d->events, &d->n_events, &more);
    if (rc == 0)
        rc = store_attempt_list(st, c->account, SHOW_ATTEMPTS, c->a, &d->attempts, &d->n_attempts);
    store_webhook *w = NULL;
    size_t n = 0;
    if (rc == 0) rc = store_webhook_list(st, c->account, c->a, &w, &n);
    /* Resend goes to v1 endpoints (a destination takes a thin or snapshot payload of its own). */
    d->webhooks = arena_calloc(c->a, (n ? n : 1) * sizeof *w);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (!w[i].destination) d->webhooks[d->n_webhooks++] = w[i];
    return rc;
}

/* The part of d that can change, as JSON into inner: {"sessions":[{id,status}],
 * "events":[{id,type,pending_webhooks}],"attempts":[{id,event,endpoint,status,latency_ms}]}.
 * Returns its version, a hash of it: the page carries the version it was rendered from, and the
 * script reloads when the state's differs. */
static const char *state_render(api_ctx *c, const dashboard__data *dd, buf *inner)
{
    const dashboard__data d = *dd;
    json_writer w;
    api_json_begin(c, &w, inner);
    json_obj_begin(&w);
    json_key(&w, "sessions");
    json_arr_begin(&w);
    for (size_t i = 0; i < d.n_sessions; i++) {
        json_obj_begin(&w);
        json_kstr(&w, "id", d.sessions[i].id);
        json_kstr(&w, "status", session_status_name(d.sessions[i].status));
        json_obj_end(&w);
    }
    json_arr_end(&w);
    json_key(&w, "events");
    json_arr_begin(&w);
    for (size_t i = 0; i < d.n_events; i++) {
        json_obj_begin(&w);
        json_kstr(&w, "id", d.events[i].id);
        json_kstr(&w, "type", d.events[i].type);
        json_kint(&w, "pending_webhooks", d.events[i].pending_webhooks);
        json_obj_end(&w);
    }
    json_arr_end(&w);
    json_key(&w, "attempts");
    json_arr_begin(&w);
    for (size_t i = 0; i < d.n_attempts; i++) {
        const store_attempt *at = &d.attempts[i];
        json_obj_begin(&w);
        json_kint(&w, "id", at->seq);
        json_kstr(&w, "event", at->event_id);
        json_kstr(&w, "endpoint", at->endpoint_id);
        json_kint(&w, "status", at->status);
        json_kint(&w, "latency_ms", at->latency_ms);
        json_obj_end(&w);
    }
    json_arr_end(&w);
    json_obj_end(&w);
    unsigned char h[UTIL_SHA256_LEN];
    char *hex = arena_alloc(c->a, 2 * UTIL_SHA256_LEN + 1);
    util_sha256(inner->data, inner->len, h);
    util_hex(h, 12, hex);
    return hex;
}

void dashboard_get(api_ctx *c)
{
    if (admit_operator(c) != 0) return;
    const char *key = signed_in(c);
    if (key == NULL) {
        signin_page(c, 200, NULL);
        return;
    }
    const char *flash = operator_cookie(c, FLASH_COOKIE);
    if (flash) {
        flash = cookie_decode(c, flash);
        set_cookie(c, FLASH_COOKIE, NULL);
    }
    dashboard__data d;
    if (load(c, &d) != 0) {
        signin_page(c, 500, "The database could not be read; try again.");
        return;
    }
    buf b, state;
    buf_init(&b, c->a);
    const char *version = state_render(c, &d, &state);
    dashboard__page(&b, &d, csrf_token(c, key), flash, version);
    send_page(c, 200, &b);
}

/* {"object":"verifyd.dashboard_state","version":..., "sessions":[{id,status}], "events":[ids],
 * "attempts":[{id,event,endpoint,status,latency_ms}]}: what the page shows that can change.
 * version is a hash of the rest, so the script reloads only on a change. */
void dashboard_state(api_ctx *c)
{
    if (admit_operator(c) != 0) return;
    buf b;
    buf_init(&b, c->a);
    if (signed_in(c) == NULL) {
        buf_puts(&b, "{\"error\":{\"type\":\"invalid_request_error\",\"message\":\"Sign in at "
                     "/dashboard first.\"}}\n");
        api_respond_html(c, 401, "application/json", CSP, "same-origin", &b);
        return;
    }
    dashboard__data d;
    if (load(c, &d) != 0) {
        buf_puts(&b, "{\"error\":{\"type\":\"api_error\",\"message\":\"The database could not "
                     "be read.\"}}\n");
        api_respond_html(c, 500, "application/json", CSP, "same-origin", &b);
        return;
    }
    buf inner;
    const char *hex = state_render(c, &d, &inner);
    buf_printf(&b, "{\"object\":\"verifyd.dashboard_state\",\"livemode\":false,\"version\":\"%s\",",
               hex);
    buf_append(&b, inner.data + 1, inner.len - 1); /* inner without its opening brace */
    api_respond_html(c, 200, "application/json", CSP, "same-origin", &b);
}

void dashboard_sign_in(api_ctx *c)
{
    int access = operator_access(c);
    if (access == OPERATOR_OFF) {
        api_respond_unknown_route(c);
        return;
    }
    form_node *f;
    if (!same_origin(c) || body_form(c, &f) != 0) {
        signin_page(c, 400, "The form could not be read; sign in again.");
        return;
    }
    if (access == OPERATOR_KEY_NEEDED) {
        const char *op = params_str(f, "operator_key");
        if (op == NULL || !cookie_safe(op, 256) || !operator_key_ok(c, op)) {
            signin_page(c, 401, "That is not this verifyd's operator key.");
            return;
        }
        set_cookie(c, OPERATOR_COOKIE, op);
    }
    const char *key = params_str(f, "key");
    apierr e;
    if (key == NULL || strncmp(key, "sk_test_", 8) != 0 || !cookie_safe(key, 255) ||
        api_authenticate_key(c, key, &e) != 0 || c->livemode) {
        signin_page(c, 401,
                    "The dashboard takes a test-mode secret key: sk_test_ followed by "
                    "letters, digits and _.");
        return;
    }
    set_cookie(c, KEY_COOKIE, key);
    redirect_home(c);
}

void dashboard_sign_out(api_ctx *c)
{
    if (admit_operator(c) != 0) return;
    const char *key = signed_in(c);
    form_node *f;
    if (key && same_origin(c) && body_form(c, &f) == 0) {
        const char *token = params_str(f, "csrf");
        const char *want = csrf_token(c, key);
        if (token && strlen(token) == strlen(want) && util_ct_equal(token, want, strlen(want)))
            set_cookie(c, KEY_COOKIE, NULL);
    }
    redirect_home(c);
}

/* ---- the buttons ---- */

/* The action's API answer (api.h answer_hook): a flash message, then back to the page. */
static void action_answered(api_ctx *c, int status, const char *body, size_t len)
{
    const char *what = c->hook_arg;
    form_node *root = NULL;
    const char *msg;
    const char *flash;
    if (json_body_parse(c->a, body, len, NULL, &root, &msg) != 0) root = NULL;
    if (status >= 400) {
        const char *m = params_str(form_get(root, "error"), "message");
        flash = arena_printf(c->a, "%s failed (%d): %s", what, status, m ? m : "no message");
    } else if (strcmp(what, "Advance clock") == 0) {
        const char *now = params_str(root, "now");
        flash =
            arena_printf(c->a, "Clock advanced; it now reads %s (unix seconds).", now ? now : "?");
    } else {
        const char *st = params_str(root, "status");
        flash = st ? arena_printf(c->a, "%s: done, the session is now %s.", what, st)
                   : arena_printf(c->a, "%s: done.", what);
    }
    set_cookie(c, FLASH_COOKIE, cookie_encode(c, flash));
    redirect_home(c);
}

static void flash_home(api_ctx *c, const char *flash)
{
    set_cookie(c, FLASH_COOKIE, cookie_encode(c, flash));
    redirect_home(c);
}

/* A path segment from a form: an id of letters, digits and _ (so it cannot leave its segment). */
static const char *id_field(const form_node *f, const char *name)
{
    const char *v = params_str(f, name);
    return v && cookie_safe(v, 255) && !strchr(v, '-') ? v : NULL;
}

void dashboard_action(api_ctx *c)
{
    if (admit_operator(c) != 0) return;
    const char *key = signed_in(c);
    form_node *f;
    if (key == NULL || !same_origin(c) || body_form(c, &f) != 0) {
        signin_page(c, 403, "Sign in again: the button's request was not accepted.");
        return;
    }
    const char *token = params_str(f, "csrf");
    const char *want = csrf_token(c, key);
    if (token == NULL || strlen(token) != strlen(want) ||
        !util_ct_equal(token, want, strlen(want))) {
        signin_page(c, 403, "The button's request had no valid CSRF token; sign in again.");
        return;
    }
    const char *action = params_str(f, "action");
    const char *sid = id_field(f, "session");
    const char *path = NULL, *form = "", *what = NULL;
    if (action == NULL) action = "";
    if (sid && (strcmp(action, "process") == 0 || strcmp(action, "verify") == 0)) {
        path = arena_printf(c->a, "/v1/test_helpers/identity/verification_sessions/%s/%s", sid,
                            action);
        what = strcmp(action, "process") == 0 ? "Process" : "Verify";
    } else if (sid && strcmp(action, "require_input") == 0) {
        const char *code = id_field(f, "code");
        path = arena_printf(
            c->a, "/v1/test_helpers/identity/verification_sessions/%s/require_input", sid);
        form = code ? arena_printf(c->a, "last_error[code]=%s", code) : "";
        what = "Require input";
    } else if (strcmp(action, "resend") == 0) {
        const char *event = id_field(f, "event"), *endpoint = id_field(f, "endpoint");
        if (event && endpoint) {
            path = arena_printf(c->a, "/v1/test_helpers/verifyd/events/%s/resend", event);
            form = arena_printf(c->a, "webhook_endpoint=%s", endpoint);
            what = "Resend";
        }
    } else if (strcmp(action, "advance") == 0) {
        const char *seconds = params_str(f, "seconds");
        if (seconds && *seconds && strspn(seconds, "0123456789") == strlen(seconds) &&
            strlen(seconds) <= 12) {
            path = "/v1/test_helpers/verifyd/clock/advance";
            form = arena_printf(c->a, "seconds=%s", seconds);
            what = "Advance clock";
        }
    }
    if (path == NULL) {
        flash_home(c, "That button's request was incomplete (a field is missing or malformed).");
        return;
    }
    c->answer_hook = action_answered;
    c->hook_arg = (void *)what;
    if (api_call(c, "POST", path, form) != 0) {
        c->answer_hook = NULL;
        flash_home(c, strcmp(what, "Advance clock") == 0
                          ? "The clock could not be advanced."
                          : "That action is not served by this verifyd.");
    }
}

/* Live updates where JavaScript is on: poll the state, and when it changed, fetch the page and
 * swap its live part (and its flash), so forms keep working without the script. */
static const char APP_JS[] =
    "'use strict';\n"
    "(function () {\n"
    "  const first = document.getElementById('live');\n"
    "  if (!first) return;\n"
    "  let version = first.dataset.version;\n"
    "  async function tick() {\n"
    "    try {\n"
    "      const r = await fetch('/dashboard/state.json', { credentials: 'same-origin' });\n"
    "      if (!r.ok) return;\n"
    "      const s = await r.json();\n"
    "      if (s.version !== version) {\n"
    "        const page = await fetch('/dashboard', { credentials: 'same-origin' });\n"
    "        const doc = new DOMParser().parseFromString(await page.text(), 'text/html');\n"
    "        const fresh = doc.getElementById('live');\n"
    "        const live = document.getElementById('live');\n"
    "        if (fresh && live) {\n"
    "          live.replaceWith(fresh);\n"
    "          version = fresh.dataset.version;\n"
    "        }\n"
    "      }\n"
    "      document.documentElement.dataset.version = version;\n"
    "    } catch (e) { /* the server is restarting: try again on the next tick */ }\n"
    "  }\n"
    "  tick();\n"
    "  setInterval(tick, 1000);\n"
    "})();\n";

void dashboard_script(api_ctx *c)
{
    if (admit_operator(c) != 0) return;
    buf b;
    buf_init(&b, c->a);
    buf_append(&b, APP_JS, sizeof APP_JS - 1);
    api_respond_html(c, 200, "text/javascript; charset=utf-8", CSP, "same-origin", &b);
}
