/*
 * fuzz_http: an in-process implementation of http.h for the libFuzzer harnesses that hand
 * requests to the API layer (fuzz_params.c, fuzz_pipeline.c), and the checks every answer must
 * pass. The request and the http.h functions are the unit tests' (test/unit/fake_http_core.h);
 * here without cmocka: a broken promise calls abort(), which libFuzzer reports as a crash
 * together with the input that caused it.
 *
 * A harness builds a request (method, path, query, headers, body), hands it to api_handle() or
 * to a handler, waits until http_respond() was called (from the calling thread, or from the
 * store's writer thread for deferred answers), checks the answer and frees the request.
 *
 * The promises checked, from http.h and api.h: http_respond() is called exactly once and no
 * header is added after it; the status is within 200..499 (a 5xx is a failure of the server on
 * a healthy store, whatever the input); every answer has one Request-Id ("req_..."); an API
 * answer is application/json with one Stripe-Version, its body a JSON object without duplicate
 * keys, and an error is Stripe's error object ({"error": {"message": ..., "type": ...}}); a
 * successful answer names its "object". Only page routes (GET and POST /start/<token>) may answer
 * with another content type.
 *
 * Including this header defines the http.h functions, so http_mhd.o is never linked into the
 * harness: include it from exactly one file per binary. Not for: libmicrohttpd's own behaviour.
 */
#ifndef VERIFYD_FUZZ_HTTP_H
#define VERIFYD_FUZZ_HTTP_H

/* jansson's json_null() collides with the JSON writer's json_null(json_writer *). */
#define json_null jansson_json_null_unused
#include <jansson.h>
#undef json_null

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/arena.h"
#include "base/util.h"
#include "http/http.h"

/* How long a request may go unanswered before the harness calls it a hang. */
#define FUZZ_HTTP_WAIT_S 10

struct http_request;
static inline void fuzz_http_fail(const struct http_request *r, const char *what);
#define FAKE_HTTP_FAIL(req, what) fuzz_http_fail((req), (what))
#include "fake_http_core.h"

/* Report a broken promise about r's answer and abort, so libFuzzer saves the input. */
static inline void fuzz_http_fail(const http_request *r, const char *what)
{
    fprintf(stderr, "fuzz_http: %s %s: %s (status %d)\n", r->method, r->path, what, r->status);
    if (r->resp_body != NULL)
        fprintf(stderr, "fuzz_http: body: %.*s\n", (int)(r->resp_len < 2000 ? r->resp_len : 2000),
                r->resp_body);
    abort();
}

/* ---- building, sending and checking requests ---- */

/* A request: method, path and query copied into its own arena (query NULL: ""), body[0..len)
 * copied too (it may hold NUL bytes; NULL: none). Free with fuzz_http_free. */
static inline http_request *fuzz_http_request(const char *method, const char *path,
                                              const char *query, const char *body, size_t len)
{
    http_request *r = calloc(1, sizeof *r);
    if (r == NULL) abort();
    r->a = arena_new();
    r->method = arena_strdup(r->a, method);
    r->path = arena_strdup(r->a, path);
    r->query = arena_strdup(r->a, query != NULL ? query : "");
    char *b = arena_alloc(r->a, len + 1);
    if (len > 0) memcpy(b, body, len);
    b[len] = '\0';
    r->body = b;
    r->body_len = len;
    r->start_us = util_mono_us();
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    return r;
}

/* Add a request header (copied). Headers past FAKE_MAX_HEADERS are dropped. */
static inline void fuzz_http_header(http_request *r, const char *name, const char *value)
{
    if (r->n_req == FAKE_MAX_HEADERS) return;
    r->req_name[r->n_req] = arena_strdup(r->a, name);
    r->req_value[r->n_req] = arena_strdup(r->a, value);
    r->n_req++;
}

/* Wait (at most FUZZ_HTTP_WAIT_S) until r has been answered; aborts when it is not. */
static inline void fuzz_http_wait(http_request *r)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += FUZZ_HTTP_WAIT_S;
    pthread_mutex_lock(&r->mu);
    while (r->responses == 0) {
        if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) != 0) break;
    }
    int n = r->responses;
    pthread_mutex_unlock(&r->mu);
    if (n != 1) fuzz_http_fail(r, "never answered");
}

/* The value of the response header name, or NULL. */
static inline const char *fuzz_http_resp_header(const http_request *r, const char *name)
{
    for (int i = 0; i < r->n_resp; i++) {
        if (strcasecmp(r->resp_name[i], name) == 0) return r->resp_value[i];
    }
    return NULL;
}

/* How many times the response header name was added. */
static inline int fuzz_http_resp_count(const http_request *r, const char *name)
{
    int n = 0;
    for (int i = 0; i < r->n_resp; i++)
        n += strcasecmp(r->resp_name[i], name) == 0;
    return n;
}

/* 1 when (method, path) is one of the page routes, which answer HTML. */
static inline int fuzz_http_is_page(const http_request *r)
{
    return (strcmp(r->method, "GET") == 0 || strcmp(r->method, "POST") == 0) &&
           strncmp(r->path, "/start/", 7) == 0;
}

/* Check what every answer must be (the file comment lists it); abort on the first broken
 * promise. Returns the parsed body of a JSON answer (json_decref it), or NULL for a page. */
static inline json_t *fuzz_http_check(const http_request *r)
{
    if (r->responses != 1) fuzz_http_fail(r, "not answered exactly once");
    if (r->status < 200 || r->status > 499) fuzz_http_fail(r, "status outside 200..499");
    const char *rid = fuzz_http_resp_header(r, "Request-Id");
    if (rid == NULL || strncmp(rid, "req_", 4) != 0) fuzz_http_fail(r, "no Request-Id");
    if (fuzz_http_resp_count(r, "Request-Id") != 1) fuzz_http_fail(r, "Request-Id repeated");
    if (r->resp_len > 0 && r->resp_body == NULL) fuzz_http_fail(r, "a length without a body");
    if (r->content_type == NULL) fuzz_http_fail(r, "no content type");
    if (strcmp(r->content_type, "application/json") != 0) {
        if (!fuzz_http_is_page(r)) fuzz_http_fail(r, "an API answer that is not JSON");
        return NULL;
    }
    if (fuzz_http_resp_count(r, "Stripe-Version") != 1)
        fuzz_http_fail(r, "an API answer without exactly one Stripe-Version");

    json_error_t err;
    json_t *j = json_loadb(r->resp_body, r->resp_len, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL) {
        fprintf(stderr, "fuzz_http: jansson: %s at %d\n", err.text, err.position);
        fuzz_http_fail(r, "the body is not JSON");
    }
    if (!json_is_object(j)) fuzz_http_fail(r, "the body is not a JSON object");
    if (r->status >= 400) {
        json_t *e = json_object_get(j, "error");
        if (!json_is_object(e) || !json_is_string(json_object_get(e, "message")) ||
            !json_is_string(json_object_get(e, "type")))
            fuzz_http_fail(r, "an error without Stripe's error object");
    } else if (strncmp(r->path, "/v2/", 4) == 0 && json_is_array(json_object_get(j, "data"))) {
        /* A v2 list: data and the page URLs, no "object" (V2 list responses in stripe-node). */
        if (json_object_get(j, "next_page_url") == NULL ||
            json_object_get(j, "previous_page_url") == NULL)
            fuzz_http_fail(r, "a v2 list without its page URLs");
    } else if (!json_is_string(json_object_get(j, "object"))) {
        fuzz_http_fail(r, "a success without \"object\"");
    }
    return j;
}

static inline void fuzz_http_free(http_request *r)
{
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    arena_free(r->a);
    free(r);
}

#endif
