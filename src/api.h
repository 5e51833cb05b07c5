/*
 * api: the Stripe-conventions layer between the HTTP adapter and the resources. It owns
 * routing, authentication (CONTRACT.md §1, §11 "Keys and accounts"), request IDs, parameter
 * decoding, idempotency keys, and writing responses and error objects. Resource handlers
 * (sessions_api.c, ...) receive an api_ctx with the account and the decoded parameters and
 * answer through api_respond_* exactly once.
 *
 * Write handlers run their database work as store jobs; the job renders the response (so an
 * idempotency record can be committed in the same transaction) and the job's completion sends
 * it. After a handler has submitted a job it must not touch the context again: the job owns it.
 */
#ifndef VERIFYD_API_H
#define VERIFYD_API_H

#include <stdint.h>

#include "apierr.h"
#include "arena.h"
#include "form.h"
#include "http.h"
#include "params.h"
#include "store.h"

#define API_VERSION_DEFAULT "2026-07-29.dahlia"
/* Idempotency keys are kept, and may be pruned, after 24 h (CONTRACT.md §1). */
#define IDEM_TTL_S (24 * 3600)

typedef struct api_keyring api_keyring;

typedef struct app {
    store *st;
    const char *public_url; /* no trailing slash */
    int64_t redaction_delay_ms;
    int pretty_json;
    int log_level;            /* 0 error, 1 warn, 2 info, 3 debug */
    api_keyring *keys;        /* configured live / restricted keys; may be NULL */
    struct worker *redactor;  /* completes redactions (redactor.c) */
    int64_t hosted_delay_ms;  /* how long the hosted page's delayed outcomes stay processing */
    struct worker *lifecycle; /* completes delayed outcomes; may be NULL */
    /* --- events & webhooks --- */
    struct delivery *delivery;  /* the webhook worker (kicked when an endpoint is re-enabled) */
    int allow_private_webhooks; /* live endpoints may point at loopback / private addresses */
    int test_clock;             /* --test-clock: the clock routes are served */
} app;

typedef struct api_ctx {
    app *app;
    http_request *req;
    arena *a;
    const char *request_id;
    const char *account; /* derived from the key; never the key itself */
    int livemode;
    int restricted;       /* an rk_ key */
    form_node *params;    /* decoded body (POST) or query string (GET/DELETE) */
    const char *path_id;  /* the {id} path segment, when the route has one */
    const char *idem_key; /* POST Idempotency-Key, or NULL */
    char idem_fingerprint[65];
    int idem_expired; /* an expired record holds the key: prune before saving (api_idem_save) */
    int responded;
} api_ctx;

/* Responses. Each sends exactly once; body strings live in the request arena. */
void api_respond_json(api_ctx *c, int status, const buf *body);
void api_respond_error(api_ctx *c, const apierr *e);

/* Render an error object into a fresh arena buffer (for jobs that store it). */
void api_render_error(api_ctx *c, const apierr *e, buf *out);
/* Start a JSON document in out with the app's formatting. */
void api_json_begin(api_ctx *c, json_writer *w, buf *out);

/* A finished response produced inside a store job: status + body, committed together with the
 * idempotency record when the request carried a key. */
typedef struct api_result {
    int status;
    buf body;
    const char *object_id; /* the object in the body, if any (idempotency records keep it) */
} api_result;

/* Inside a job: save res as the idempotency record of c (no-op without a key). */
int api_idem_save(api_ctx *c, store_txn *t, const api_result *res);
/* Inside a job: the answer is the error e (a 404, a wrong state: anything after execution
 * started), rendered into res and saved for idempotent replay with the job's transaction.
 * Returns what the job should return. */
int api_job_error(api_ctx *c, store_txn *t, api_result *res, const apierr *e);
/* Job completion helper: send res, or a 500 when rc says the transaction failed. */
void api_finish(api_ctx *c, const api_result *res, int rc);

/* Stripe's wrong-state error (CONTRACT.md §11 "Errors"). */
void api_err_state(api_ctx *c, apierr *e, const char *action, const char *allowed,
                   const char *current);
/* Test helpers are for test-mode keys: 0 for one, else -1 after answering Stripe's 400. */
int api_require_test_mode(api_ctx *c);
/* 404 resource_missing "No such <object>: '<id>'" with param. */
void api_err_missing(api_ctx *c, apierr *e, const char *object, const char *param, const char *id);

/* Answer a failed read of the object named by the path: STORE_NOT_FOUND as the 404 "No such
 * <object>: '<id>'" with param, anything else as the 500 of api_finish. Returns 1 when it
 * answered (rc was a failure), 0 when rc is 0. */
int api_read_failed(api_ctx *c, int rc, const char *object, const char *param);

/* expand[] handling: validate c->params' expand list against the expandable fields of the
 * object (list==1: each entry must start with "data."). Sets *flags bits for the fields named
 * in names[] (bit i for names[i]). Returns 0 or -1 with *e. */
int api_expand(api_ctx *c, const char *const *names, int list, unsigned *flags, apierr *e);

/* ---- lists (CONTRACT.md §1 "Lists and pagination") ---- */

typedef struct api_page {
    int limit; /* 1..100, default 10 */
    const char *starting_after;
    const char *ending_before;
    store_range created; /* all zero when the endpoint has no created filter */
} api_page;

/* Read limit, starting_after, ending_before and created from c's validated parameters. Returns
 * 0, or -1 after answering the error for both cursors at once. */
int api_page_read(api_ctx *c, api_page *p);
/* Answer a failed list read: STORE_CURSOR as Stripe's 400 naming the cursor and the object
 * ("No such <object>: '<id>'"), anything else as the 500 of api_finish. */
void api_list_fail(api_ctx *c, const api_page *p, const char *object, int rc);
/* The list envelope around the caller's items: begin starts res (status 200) with
 * {"object":"list","data":[ ; end closes it with has_more and url. The caller then sends res
 * with api_finish. */
void api_list_begin(api_ctx *c, json_writer *w, api_result *res);
void api_list_end(json_writer *w, int has_more, const char *url);

/* The HTTP entry point (http_handler). */
void api_handle(http_request *req, void *userdata);

/* Configured keys: load "sha256hex account [restricted]" lines. Returns 0 or -1 with errmsg. */
int api_keyring_load(const char *path, api_keyring **out, const char **errmsg);
void api_keyring_free(api_keyring *k);

/* Resource route handlers (sessions_api.c). */
void sessions_create(api_ctx *c);
void sessions_retrieve(api_ctx *c);
void sessions_update(api_ctx *c);
void sessions_list(api_ctx *c);
void sessions_cancel(api_ctx *c);
void sessions_redact(api_ctx *c);

/* --- lifecycle, verification reports and the hosted page --- */
/* Test helpers (test_helpers_api.c), CONTRACT.md §11 "Moving a session forward". */
void test_helpers_process(api_ctx *c);
void test_helpers_verify(api_ctx *c);
void test_helpers_require_input(api_ctx *c);
/* /v1/identity/verification_reports (reports_api.c). */
void reports_retrieve(api_ctx *c);
void reports_list(api_ctx *c);
/* The hosted page at a session's url (hosted_page.c): a page route, no API key; c->path_id is
 * the url token and c->params is NULL. */
void hosted_page_get(api_ctx *c);
void hosted_page_post(api_ctx *c);

/* sessions_api.c, for the other session endpoints: validate c->params against spec plus the
 * session's expand[] (0, or -1 when an error was answered); render s as the response body with
 * those expansions, reading an expanded report inside t (a running job) or, with t NULL, from
 * the store. Returns 0 or a STORE_E* code. */
int sessions_validate(api_ctx *c, const param_spec *spec, unsigned *expand);
int sessions_render(api_ctx *c, store_txn *t, const struct vs_session *s, unsigned expand,
                    buf *out);

/* 1 when expand[] holds exactly path (list: "data." + path). For fields below the first level,
 * such as the restricted verified_outputs.dob. */
int api_expand_path(api_ctx *c, const char *path, int list);
/* Answer a page route: an HTML (or other non-JSON) body, with headers that keep the page out of
 * caches, frames and Referer headers. The access log shows the route, never the token. */
void api_respond_page(api_ctx *c, int status, const char *content_type, const buf *body);

/* --- events & webhooks --- */
/* /v1/events (events_api.c). */
void events_list(api_ctx *c);
void events_retrieve(api_ctx *c);
/* /v1/webhook_endpoints (webhooks_api.c). */
void webhooks_create(api_ctx *c);
void webhooks_retrieve(api_ctx *c);
void webhooks_update(api_ctx *c);
void webhooks_list(api_ctx *c);
void webhooks_delete(api_ctx *c);
/* --- end events & webhooks --- */

/* The process's test clock, with --test-clock (test_clock_api.c). */
void test_clock_retrieve(api_ctx *c);
void test_clock_advance(api_ctx *c);

#endif
