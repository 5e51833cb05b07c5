/*
 * api: the Stripe-conventions layer between the HTTP adapter and the resources. It owns
 * routing, authentication (CONTRACT.md §1, §11 "Keys and accounts"), request IDs, parameter
 * decoding, idempotency keys, and writing responses and error objects. Resource handlers
 * (sessions.c, ...) receive an api_ctx with the account and the decoded parameters and
 * answer through api_respond_* exactly once.
 *
 * Write handlers run their database work as store jobs; the job renders the response (so an
 * idempotency record can be committed in the same transaction) and the job's completion sends
 * it. After a handler has submitted a job it must not touch the context again: the job owns it.
 */
#ifndef VERIFYD_API_H
#define VERIFYD_API_H

#include <stdint.h>

#include "api/apierr.h"
#include "base/arena.h"
#include "api/form.h"
#include "http/http.h"
#include "api/params.h"
#include "store/store.h"
#include "app.h"
#include "identity/api_version.h"
#include "identity/limits.h"

/* One route: method and path pattern, the handler, and how the request is treated. The table
 * lives with the handlers (endpoints/routes.c) and reaches api_handle through app.routes. */
typedef struct api_keyring api_keyring;
typedef struct api_ctx api_ctx;
typedef struct api_route {
    const char *method;
    const char *prefix; /* path up to the {id} segment, or the whole path */
    const char *suffix; /* after {id}: "" or "/cancel"; NULL for routes without an id */
    void (*fn)(api_ctx *c);
    int page; /* a page route (hosted page): no API key, no form decoding, no idempotency */
    /* The handler reads the body itself (http_body): it is not decoded, and c->params is the
     * empty map (the test control plane's import takes a JSON document on a v1 path). */
    int raw_body;
} api_route;

struct api_ctx {
    app *app;
    http_request *req;
    arena *a;
    const char *request_id;
    const char *account; /* derived from the key; never the key itself */
    const char *version; /* the request's known Stripe-Version, or NULL (API_VERSION_DEFAULT) */
    int livemode;
    int restricted;       /* an rk_ key */
    form_node *params;    /* decoded body (POST) or query string (GET/DELETE) */
    const char *path_id;  /* the {id} path segment, when the route has one */
    const char *idem_key; /* POST Idempotency-Key, or NULL */
    char idem_fingerprint[65];
    int idem_held;          /* the key is held (store_idem_begin) until the answer is sent */
    store_idem *idem_saved; /* api_idem_save: a response saved first by another request */
    int responded;
    /* Stripe-Should-Retry as a fault rule says it ("true"/"false"), or NULL: the default of
     * the status (true for 409 and 5xx). */
    const char *should_retry;
    /* The matched route as a pattern ("/v1/events/{id}"), for /metrics; NULL until matched. */
    const char *route;
    /* When set, every API answer (api_respond_json, api_respond_error, api_finish) goes here
     * instead of to the client, once, after the idempotency key is released: the dashboard
     * (dashboard.c) calls API routes through api_call and answers with a page of its own. The
     * hook must answer the request (api_respond_page, api_respond_html). */
    void (*answer_hook)(api_ctx *c, int status, const char *body, size_t len);
    void *hook_arg;
};

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

/* Validate c->params against spec and its expand[] against expandable (api_expand; flags may be
 * NULL when the caller needs none). 0, or -1 after answering the error. */
int api_validate(api_ctx *c, const param_spec *spec, const char *const *expandable, int list,
                 unsigned *flags);

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

/* Renders one list item into w (ctx as given to api_list_answer). Returns 0, or a STORE_E* code
 * that ends the list: the answer is then the 500 of api_finish. */
typedef int (*api_item_render)(void *ctx, const void *item, json_writer *w);
/* The end of every list handler. With rc (the list read's result) a failure, answers it as
 * api_list_fail does. Otherwise answers 200 with {"object":"list","data":[...],"has_more":...,
 * "url":url}, the data being items[0..n) (each item_size bytes apart) rendered by render. */
void api_list_answer(api_ctx *c, const api_page *p, const char *object, const char *url, int rc,
                     const void *items, size_t n, size_t item_size, int has_more,
                     api_item_render render, void *ctx);

/* ---- the v2 namespace (CONTRACT.md §11 "Versions") ---- */

/* 1 when the request is for a /v2/ path: JSON bodies, DELETE keyed for idempotency too. */
int api_is_v2(const api_ctx *c);
/* A v2 list answer: {"data":[...],"next_page_url":...,"previous_page_url":...}, the data being
 * items[0..n) rendered by render (Stripe docs, v2 list endpoints). next and prev are the page
 * URLs, or NULL (rendered null). A render failure answers the 500 of api_finish. */
void api_v2_list_answer(api_ctx *c, const void *items, size_t n, size_t item_size,
                        api_item_render render, void *ctx, const char *next, const char *prev);

/* The HTTP entry point (http_handler). */
void api_handle(http_request *req, void *userdata);

/* Configured keys: load "sha256hex account [restricted]" lines. Returns 0 or -1 with errmsg. */
int api_keyring_load(const char *path, api_keyring **out, const char **errmsg);
void api_keyring_free(api_keyring *k);

/* 1 when expand[] holds exactly path (list: "data." + path). For fields below the first level,
 * such as the restricted verified_outputs.dob. */
int api_expand_path(api_ctx *c, const char *path, int list);
/* Answer a page route: an HTML (or other non-JSON) body, with headers that keep the page out of
 * caches, frames and Referer headers. The access log shows the route, never the token. */
void api_respond_page(api_ctx *c, int status, const char *content_type, const buf *body);
/* The same for a page that ancestor (an origin already checked by the caller) may frame, and
 * whose one inline script carries nonce: the hosted page inside the Stripe.js stand-in's modal
 * (CONTRACT.md §11 "Test control plane"). */
void api_respond_framed_page(api_ctx *c, int status, const char *content_type, const buf *body,
                             const char *ancestor, const char *nonce);

/* Answer Stripe's unknown-route 404 ("Unrecognized request URL (METHOD: /path)."). */
void api_respond_unknown_route(api_ctx *c);
/* api_respond_page with a Content-Security-Policy and Referrer-Policy of the caller's (the
 * dashboard runs its own script, and posts its own forms with an Origin it checks, which
 * "no-referrer" would blank). */
void api_respond_html(api_ctx *c, int status, const char *content_type, const char *csp,
                      const char *referrer_policy, const buf *body);
/* Set c->account and c->livemode from an API key as the Authorization header would: 0, or -1
 * with *e (the same 401/403 an API request gets). For pages that take a key from a form. */
int api_authenticate_key(api_ctx *c, const char *key, apierr *e);
/* Run the API route that method and path name with c's account, as if the request had been
 * made with its key and the form-encoded parameters form ("" for none): the route's handler
 * answers through c (so through c->answer_hook when set). Routes served only with a flag
 * (--test-clock) are found only when it is on. 0 when a route ran; -1 when none matches (or
 * form does not decode), and then nothing was answered. */
int api_call(api_ctx *c, const char *method, const char *path, const char *form);

#endif
