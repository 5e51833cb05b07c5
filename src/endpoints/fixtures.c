/*
 * fixtures: the stripe-mock compatibility switch, --fixtures (CONTRACT.md §11 "Test control
 * plane"). Suites written against stripe-mock (the SDKs' own generated tests among them) use
 * ids that were never created, such as vs_xxxxxxxxxxxxx; with the switch on, a test-mode
 * request for such an id gets a plausible object of the right kind, with the id asked for,
 * instead of the 404. The fixtures are built as real objects and rendered by the resource's own
 * renderer, so their shape is exactly the real one. Nothing is stored: like stripe-mock, an
 * action on a fixture answers with the fixture and changes nothing. Real objects are never
 * affected, and live mode always gets the 404.
 *
 * Not for: lists and creates, which already work without fixtures.
 */
#include <stdio.h>
#include <string.h>

#include "endpoints/endpoints.h"
#include "identity/report.h"
#include "base/util.h"
#include "identity/account_clock.h"

/* The session a fixture event is about. */
#define FIXTURE_SESSION "vs_1Fixture0verifyd000000"

int fixtures_on(const api_ctx *c, const char *prefix)
{
    return c->app->fixtures && !c->livemode && c->path_id != NULL &&
           strncmp(c->path_id, prefix, strlen(prefix)) == 0 && strlen(c->path_id) < SESSION_ID_MAX;
}

/* A document session waiting for input, as a new one reads; id as given. */
static void fixture_session(api_ctx *c, const char *id, session *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    s->account = c->account;
    s->created = account_clock_now(c->account);
    s->livemode = 0;
    s->status = SESSION_REQUIRES_INPUT;
    s->type = SESSION_TYPE_DOCUMENT;
    s->doc.require_id_number = s->doc.require_live_capture = s->doc.require_matching_selfie =
        SESSION_UNSET;
    /* The pair a requires_input session always carries (its url is no working page). */
    s->secret_token = "fixture";
    s->url_token = "fixture";
    s->secret_issued = s->created;
}

void fixtures_session(api_ctx *c, session *s)
{
    fixture_session(c, c->path_id, s);
}

void fixtures_report(api_ctx *c, report *r)
{
    session s;
    fixture_session(c, FIXTURE_SESSION, &s);
    /* A verified document report, as the verify helper makes one (CONTRACT.md §11). */
    report_generate(c->a, &s, NULL, s.created, r);
    snprintf(r->id, sizeof r->id, "%s", c->path_id);
}

void fixtures_event(api_ctx *c, store_event *ev)
{
    session s;
    fixture_session(c, FIXTURE_SESSION, &s);
    buf rec;
    buf_init(&rec, c->a);
    session_encode(&s, &rec);
    memset(ev, 0, sizeof *ev);
    ev->id = c->path_id;
    ev->account = c->account;
    ev->created = s.created;
    ev->type = "identity.verification_session.created";
    ev->object_id = FIXTURE_SESSION;
    ev->snapshot = (store_record){rec.data, rec.len};
}
