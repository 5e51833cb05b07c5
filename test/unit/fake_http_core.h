/*
 * fake_http_core: the request and the http.h functions of an in-process HTTP adapter, shared by
 * the unit tests' fake_http.h and the fuzz harnesses' fuzz_http.h, which build requests and read
 * answers each in their own way. A broken adapter promise (a header added after the answer, a
 * second answer) calls FAKE_HTTP_FAIL(req, what), which the includer may define first (the
 * default prints and aborts).
 *
 * Including this header defines the http.h functions, so http_mhd.o is never linked into the
 * binary: include it (through one of the two) from exactly one file per binary.
 */
#ifndef VERIFYD_TEST_FAKE_HTTP_CORE_H
#define VERIFYD_TEST_FAKE_HTTP_CORE_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/arena.h"
#include "http/http.h"

#ifndef FAKE_HTTP_FAIL
#define FAKE_HTTP_FAIL(req, what)                                                                  \
    (fprintf(stderr, "fake_http: %s %s: %s\n", (req)->method, (req)->path, (what)), abort())
#endif

#define FAKE_MAX_HEADERS 32

struct http_request {
    arena *a;
    const char *method, *path, *query;
    const char *body;
    size_t body_len;
    int too_large;
    int64_t start_us;
    const char *req_name[FAKE_MAX_HEADERS], *req_value[FAKE_MAX_HEADERS];
    int n_req;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    const char *resp_name[FAKE_MAX_HEADERS], *resp_value[FAKE_MAX_HEADERS];
    int n_resp;
    int responses; /* http_respond calls */
    int status;
    const char *content_type;
    const char *resp_body;
    size_t resp_len;
};

/* ---- http.h ---- */

arena *http_arena(http_request *req)
{
    return req->a;
}

const char *http_method(const http_request *req)
{
    return req->method;
}

const char *http_path(const http_request *req)
{
    return req->path;
}

const char *http_query(const http_request *req)
{
    return req->query;
}

const char *http_header(const http_request *req, const char *name)
{
    for (int i = 0; i < req->n_req; i++) {
        if (strcasecmp(req->req_name[i], name) == 0) return req->req_value[i];
    }
    return NULL;
}

const char *http_body(const http_request *req, size_t *len)
{
    *len = req->body_len;
    return req->body;
}

int64_t http_start_us(const http_request *req)
{
    return req->start_us;
}

int http_body_too_large(const http_request *req)
{
    return req->too_large;
}

const char *http_framing_error(const http_request *req)
{
    (void)req;
    return NULL;
}

void http_add_header(http_request *req, const char *name, const char *value)
{
    pthread_mutex_lock(&req->mu);
    if (req->responses > 0) FAKE_HTTP_FAIL(req, "a header was added after the response");
    if (req->n_resp == FAKE_MAX_HEADERS) FAKE_HTTP_FAIL(req, "too many response headers");
    req->resp_name[req->n_resp] = arena_strdup(req->a, name);
    req->resp_value[req->n_resp] = arena_strdup(req->a, value);
    req->n_resp++;
    pthread_mutex_unlock(&req->mu);
}

void http_respond(http_request *req, int status, const char *content_type, const char *body,
                  size_t len)
{
    pthread_mutex_lock(&req->mu);
    if (req->responses > 0) FAKE_HTTP_FAIL(req, "answered twice");
    req->responses++;
    req->status = status;
    req->content_type = content_type;
    req->resp_body = body;
    req->resp_len = len;
    pthread_cond_broadcast(&req->cv);
    pthread_mutex_unlock(&req->mu);
}

#endif
