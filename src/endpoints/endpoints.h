/*
 * endpoints: one handler file per resource of the API (sessions.c, reports.c, events.c,
 * webhook_endpoints.c), the test helpers (session_helpers.c, clock.c) and the hosted page
 * (hosted_page.c). Each handler receives an api_ctx with the account and the decoded parameters
 * and answers through api_respond_* exactly once (api.h). routes.c maps paths to them.
 */
#ifndef VERIFYD_ENDPOINTS_H
#define VERIFYD_ENDPOINTS_H

#include <stddef.h>

#include "api/api.h"
#include "identity/session.h"

/* The route table (routes.c), for app.routes. */
extern const api_route endpoints_routes[];
extern const size_t endpoints_n_routes;

/* /v1/identity/verification_sessions (sessions.c). */
void sessions_create(api_ctx *c);
void sessions_retrieve(api_ctx *c);
void sessions_update(api_ctx *c);
void sessions_list(api_ctx *c);
void sessions_cancel(api_ctx *c);
void sessions_redact(api_ctx *c);
/* For the other session endpoints: validate c->params against spec plus the session's expand[]
 * (0, or -1 when an error was answered); render s as the response body with those expansions,
 * reading an expanded report inside t (a running job) or, with t NULL, from the store. Returns
 * 0 or a STORE_E* code. */
int sessions_validate(api_ctx *c, const param_spec *spec, unsigned *expand);
int sessions_render(api_ctx *c, store_txn *t, const session *s, unsigned expand, buf *out);
/* Inside a job: the session the path names, into *s. *answered is 0 when it was read; else the
 * job's answer is decided (the 404, rendered into res and saved for replay, or a store error)
 * and the return value is what the job must return. */
int sessions_job_read(api_ctx *c, store_txn *t, api_result *res, session *s, int *answered);

/* Test helpers (session_helpers.c), CONTRACT.md §11 "Moving a session forward". */
void session_helpers_process(api_ctx *c);
void session_helpers_verify(api_ctx *c);
void session_helpers_require_input(api_ctx *c);

/* /v1/identity/verification_reports (reports.c). */
void reports_retrieve(api_ctx *c);
void reports_list(api_ctx *c);

/* The hosted page at a session's url (hosted_page.c): a page route, no API key; c->path_id is
 * the url token and c->params is NULL. */
void hosted_page_get(api_ctx *c);
void hosted_page_post(api_ctx *c);

/* /v1/events (events.c). */
void events_list(api_ctx *c);
void events_retrieve(api_ctx *c);

/* /v1/webhook_endpoints (webhook_endpoints.c). */
void webhook_endpoints_create(api_ctx *c);
void webhook_endpoints_retrieve(api_ctx *c);
void webhook_endpoints_update(api_ctx *c);
void webhook_endpoints_list(api_ctx *c);
void webhook_endpoints_delete(api_ctx *c);

/* CONTRACT.md §11: any http(s) URL in test mode, loopback included; live mode requires https
 * and refuses private and loopback hosts unless the operator allows them. 0, or -1 with *e
 * naming param (webhook_endpoints.c; event destinations check theirs alike). */
int endpoints__check_webhook_url(api_ctx *c, const char *url, const char *param, apierr *e);
/* /v2/core/event_destinations (event_destinations.c), v2 JSON bodies. */
void event_destinations_create(api_ctx *c);
void event_destinations_retrieve(api_ctx *c);
void event_destinations_update(api_ctx *c);
void event_destinations_list(api_ctx *c);
void event_destinations_delete(api_ctx *c);
void event_destinations_enable(api_ctx *c);
void event_destinations_disable(api_ctx *c);
void event_destinations_ping(api_ctx *c);
/* /v2/core/events (v2_events.c). */
void v2_events_list(api_ctx *c);
void v2_events_retrieve(api_ctx *c);
/* The process's test clock, with --test-clock (clock.c). */
void clock_retrieve(api_ctx *c);
void clock_advance(api_ctx *c);

#endif
