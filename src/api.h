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

typedef struct api_keyring api_keyring;

typedef struct app {
    store *st;
    const char *public_url;  /* no trailing slash */
    int64_t redaction_delay_ms;
    int pretty_json;
    int log_level;           /* 0 error, 1 warn, 2 info, 3 debug */
    api_keyring *keys;       /* configured live / restricted keys; may be NULL */
    struct redactor *redactor;
} app;

typedef struct api_ctx {
    app *app;
    http_request *req;
    arena *a;
    const char *request_id;
    const char *account; /* derived from the key; never the key itself */
    int livemode;
    int restricted;      /* an rk_ key */
    form_node *params;   /* decoded body (POST) or query string (GET/DELETE) */
    const char *path_id; /* the {id} path segment, when the route has one */
    const char *idem_key;    /* POST Idempotency-Key, or NULL */
    char idem_fingerprint[65];
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
/* Job completion helper: send res, or a 500 when rc says the transaction failed. */
void api_finish(api_ctx *c, const api_result *res, int rc);

/* Stripe's wrong-state error (CONTRACT.md §11 "Errors"). */
void api_err_state(api_ctx *c, apierr *e, const char *action, const char *allowed,
                   const char *current);
/* 404 resource_missing "No such <object>: '<id>'" with param. */
void api_err_missing(api_ctx *c, apierr *e, const char *object, const char *param,
                     const char *id);

/* expand[] handling: validate c->params' expand list against the expandable fields of the
 * object (list==1: each entry must start with "data."). Sets *flags bits for the fields named
 * in names[] (bit i for names[i]). Returns 0 or -1 with *e. */
int api_expand(api_ctx *c, const char *const *names, int list, unsigned *flags, apierr *e);

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

#endif
