/*
 * dashboard_page: the dashboard's HTML (CONTRACT.md §11 "Test control plane"): plain HTML and
 * forms that work without JavaScript, no outside assets; the only script is /dashboard/app.js
 * (dashboard.c), which reloads the live part when the state changes. Every value from the store
 * is escaped.
 *
 * Not for: who may see it or what its buttons do (dashboard.c).
 */
#include "endpoints/dashboard.h"

#include <string.h>
#include <time.h>

#include "identity/account_clock.h"
#include "base/html.h"
#include "identity/report.h"

/* Unix seconds as "2024-01-31 12:00:00 UTC". */
static void put_time(buf *b, int64_t s)
{
    char out[40];
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, sizeof out, "%Y-%m-%d %H:%M:%S UTC", &tm);
    buf_puts(b, out);
}

static const char head[] =
    "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>verifyd dashboard</title>\n"
    "<style>\n"
    "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1a1f36;background:#f6f8fa}\n"
    "header{background:#0a2540;color:#fff;padding:12px 24px;display:flex;gap:16px;"
    "align-items:center}\n"
    "header h1{font-size:18px;margin:0;flex:1}\nmain{padding:8px 24px}\n"
    "section{background:#fff;border:1px solid #e3e8ee;border-radius:6px;margin:16px 0;"
    "padding:8px 16px}\n"
    "h2{font-size:15px}\ntable{border-collapse:collapse;width:100%}\n"
    "th,td{text-align:left;padding:4px 8px;border-top:1px solid #e3e8ee;vertical-align:top}\n"
    "code{font-size:12px}\nform{display:inline}\nbutton{margin:1px}\n"
    ".flash{background:#fff8e1;border:1px solid #f5c542;padding:8px 16px;margin:16px 24px 0}\n"
    ".ok{color:#0e6245}\n.bad{color:#a41c4e}\n.muted{color:#697386}\n"
    "</style>\n<script src=\"/dashboard/app.js\" defer></script>\n</head>\n<body>\n";

/* A form posting one action to /dashboard/action, with the CSRF token and hidden fields. */
static void form_open(buf *b, const char *csrf, const char *action)
{
    buf_puts(b, "<form method=\"post\" action=\"/dashboard/action\">"
                "<input type=\"hidden\" name=\"csrf\" value=\"");
    html_escape(b, csrf);
    buf_puts(b, "\"><input type=\"hidden\" name=\"action\" value=\"");
    html_escape(b, action);
    buf_puts(b, "\">");
}

static void hidden(buf *b, const char *name, const char *value)
{
    buf_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"", name);
    html_escape(b, value);
    buf_puts(b, "\">");
}

static void session_button(buf *b, const char *csrf, const char *id, const char *action,
                           const char *label)
{
    form_open(b, csrf, action);
    hidden(b, "session", id);
    buf_printf(b, "<button type=\"submit\">%s</button></form>", label);
}

static const char *short_type(const char *type)
{
    static const char prefix[] = "identity.verification_session.";
    return type && strncmp(type, prefix, sizeof prefix - 1) == 0 ? type + sizeof prefix - 1 : type;
}

static void sessions_section(buf *b, const dashboard__data *d, const char *csrf)
{
    buf_puts(b, "<section id=\"sessions\"><h2>Verification sessions</h2>");
    if (d->n_sessions == 0)
        buf_puts(b, "<p class=\"muted\">No sessions yet.</p>");
    else
        buf_puts(b, "<table><tr><th>Session</th><th>Type</th><th>Status</th><th>Status "
                    "history (from its events)</th><th>Move it</th></tr>");
    for (size_t i = 0; i < d->n_sessions; i++) {
        const session *s = &d->sessions[i];
        buf_puts(b, "<tr data-session=\"");
        html_escape(b, s->id);
        buf_puts(b, "\"><td><code>");
        html_escape(b, s->id);
        buf_puts(b, "</code><br><span class=\"muted\">");
        put_time(b, s->created);
        buf_printf(b, "</span></td><td>%s</td><td class=\"status\">%s</td><td class=\"history\">",
                   s->type == SESSION_TYPE_ID_NUMBER           ? "id_number"
                   : s->type == SESSION_TYPE_VERIFICATION_FLOW ? "verification_flow"
                                                               : "document",
                   session_status_name(s->status));
        /* Oldest first: the events are newest first. */
        int first = 1;
        for (size_t k = d->n_events; k-- > 0;) {
            const store_event *e = &d->events[k];
            if (!e->object_id || strcmp(e->object_id, s->id) != 0) continue;
            if (!first) buf_puts(b, " &rarr; ");
            first = 0;
            html_escape(b, short_type(e->type));
        }
        buf_puts(b, "</td><td>");
        if (s->status == SESSION_REQUIRES_INPUT)
            session_button(b, csrf, s->id, "process", "Process");
        if (s->status == SESSION_REQUIRES_INPUT || s->status == SESSION_PROCESSING) {
            session_button(b, csrf, s->id, "verify", "Verify");
            form_open(b, csrf, "require_input");
            hidden(b, "session", s->id);
            buf_puts(b, "<select name=\"code\" aria-label=\"last_error code\">");
            for (const char *const *code = report_last_error_codes; *code; code++) {
                buf_puts(b, "<option>");
                html_escape(b, *code);
                buf_puts(b, "</option>");
            }
            buf_puts(b, "</select><button type=\"submit\">Require input</button></form>");
        }
        buf_puts(b, "</td></tr>");
    }
    if (d->n_sessions) buf_puts(b, "</table>");
    buf_puts(b, "</section>\n");
}

static void events_section(buf *b, const dashboard__data *d, const char *csrf)
{
    buf_puts(b, "<section id=\"events\"><h2>Events</h2>");
    if (d->n_events == 0)
        buf_puts(b, "<p class=\"muted\">No events yet.</p>");
    else
        buf_puts(b, "<table><tr><th>Event</th><th>Type</th><th>Object</th><th>Created</th>"
                    "<th>Pending webhooks</th><th>Resend</th></tr>");
    for (size_t i = 0; i < d->n_events; i++) {
        const store_event *e = &d->events[i];
        buf_puts(b, "<tr data-event=\"");
        html_escape(b, e->id);
        buf_puts(b, "\"><td><code>");
        html_escape(b, e->id);
        buf_puts(b, "</code></td><td>");
        html_escape(b, e->type);
        buf_puts(b, "</td><td><code>");
        html_escape(b, e->object_id);
        buf_puts(b, "</code></td><td>");
        put_time(b, e->created);
        buf_printf(b, "</td><td>%d</td><td>", e->pending_webhooks);
        if (d->n_webhooks == 0)
            buf_puts(b, "<span class=\"muted\">no endpoint</span>");
        else {
            form_open(b, csrf, "resend");
            hidden(b, "event", e->id);
            buf_puts(b, "<select name=\"endpoint\" aria-label=\"endpoint\">");
            for (size_t k = 0; k < d->n_webhooks; k++) {
                buf_puts(b, "<option value=\"");
                html_escape(b, d->webhooks[k].id);
                buf_puts(b, "\">");
                html_escape(b, d->webhooks[k].url);
                buf_puts(b, "</option>");
            }
            buf_puts(b, "</select><button type=\"submit\">Resend</button></form>");
        }
        buf_puts(b, "</td></tr>");
    }
    if (d->n_events) buf_puts(b, "</table>");
    buf_puts(b, "</section>\n");
}

static void attempts_section(buf *b, const dashboard__data *d)
{
    buf_puts(b, "<section id=\"deliveries\"><h2>Webhook delivery attempts</h2>");
    if (d->n_attempts == 0)
        buf_puts(b, "<p class=\"muted\">No delivery attempts yet.</p>");
    else
        buf_puts(b, "<table><tr><th>Sent</th><th>Event</th><th>Endpoint</th><th>URL</th>"
                    "<th>Attempt</th><th>Status</th><th>Latency</th><th>Next retry</th>"
                    "<th>Response</th></tr>");
    for (size_t i = 0; i < d->n_attempts; i++) {
        const store_attempt *at = &d->attempts[i];
        int ok = at->status >= 200 && at->status < 300;
        buf_printf(b, "<tr data-attempt=\"%lld\"><td>", (long long)at->seq);
        put_time(b, at->at_ms / 1000);
        buf_puts(b, "</td><td><code>");
        html_escape(b, at->event_id);
        buf_puts(b, "</code></td><td><code>");
        html_escape(b, at->endpoint_id);
        buf_puts(b, "</code></td><td>");
        html_escape(b, at->url);
        buf_printf(b, "</td><td>%d</td><td class=\"status %s\">", at->attempt, ok ? "ok" : "bad");
        if (at->status)
            buf_printf(b, "%d", at->status);
        else
            buf_puts(b, "no answer");
        buf_printf(b, "</td><td class=\"latency\">%lld ms</td><td>", (long long)at->latency_ms);
        if (at->next_ms >= 0)
            put_time(b, at->next_ms / 1000);
        else
            buf_puts(b, ok ? "delivered" : "none (given up)");
        buf_puts(b, "</td><td><code>");
        html_escape(b, at->error ? at->error : at->response);
        buf_puts(b, "</code></td></tr>");
    }
    if (d->n_attempts) buf_puts(b, "</table>");
    buf_puts(b, "</section>\n");
}

void dashboard__page(buf *b, const dashboard__data *d, const char *csrf, const char *flash,
                     const char *version)
{
    buf_puts(b, head);
    buf_puts(b, "<header><h1>verifyd dashboard</h1><span>test mode &middot; account <code>");
    html_escape(b, d->account);
    buf_puts(b, "</code></span><form method=\"post\" action=\"/dashboard/sign-out\">"
                "<input type=\"hidden\" name=\"csrf\" value=\"");
    html_escape(b, csrf);
    buf_puts(b, "\"><button type=\"submit\">Sign out</button></form></header>\n");
    if (flash) {
        buf_puts(b, "<p class=\"flash\" role=\"status\">");
        html_escape(b, flash);
        buf_puts(b, "</p>\n");
    }
    buf_puts(b, "<main id=\"live\" data-version=\"");
    html_escape(b, version);
    buf_puts(b, "\">\n<section id=\"clock\"><h2>Clock</h2>");
    /* The account's time (its platform's, for a connected account): account_clock.h. */
    int64_t ahead_s = account_clock_offset_ms(d->account) / 1000;
    buf_printf(b,
               "<p>The account's clock reads <code>%lld</code> (unix seconds), %lld s ahead of "
               "real time.</p>",
               (long long)account_clock_now(d->account), (long long)ahead_s);
    form_open(b, csrf, "advance");
    buf_puts(b, "<label>Advance the account's clock by <input name=\"seconds\" type=\"number\" "
                "min=\"1\" value=\"3600\"> seconds</label> <button type=\"submit\">Advance "
                "clock</button></form></section>\n");
    sessions_section(b, d, csrf);
    events_section(b, d, csrf);
    attempts_section(b, d);
    buf_puts(b, "</main>\n</body>\n</html>\n");
}

void dashboard__signin(buf *b, const char *error, int operator)
{
    buf_puts(b, head);
    buf_puts(b, "<header><h1>verifyd dashboard</h1></header>\n<main>\n<section><h2>Sign in</h2>"
                "<p>The dashboard shows one account at a time: the account of a test-mode "
                "secret key (<code>sk_test_&hellip;</code>). The key is kept in a cookie for "
                "this page only.</p>");
    if (error) {
        buf_puts(b, "<p class=\"bad\" role=\"alert\">");
        html_escape(b, error);
        buf_puts(b, "</p>");
    }
    buf_puts(b, "<form method=\"post\" action=\"/dashboard/sign-in\">");
    if (operator)
        buf_puts(b, "<p><label>Operator key (--dashboard-key) <input name=\"operator_key\" "
                    "type=\"password\" autocomplete=\"off\" required></label></p>");
    buf_puts(b, "<p><label>Test secret key <input name=\"key\" type=\"password\" "
                "autocomplete=\"off\" placeholder=\"sk_test_...\" required size=\"40\"></label> "
                "<button type=\"submit\">Sign in</button></p></form></section>\n</main>\n"
                "</body>\n</html>\n");
}
