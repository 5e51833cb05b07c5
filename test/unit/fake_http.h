/*
 * fake_http: an in-process implementation of http.h for the unit tests that drive api_handle()
 * (test_api.c, test_sessions_api.c, test_hosted_page.c), plus the fixture they share: fixture.h's
 * fresh store in its own mkdtemp directory and the app around it, with the API tests' defaults.
 *
 * A test builds a request (method, path?query, headers, body), hands it to api_handle() and
 * waits until http_respond() was called, from the calling thread or from the store's writer
 * thread (deferred answers). It then reads the status, the response headers and the body
 * (parsed with jansson). http_respond() being called more than once fails the test, as the
 * adapter contract says it must happen exactly once.
 *
 * Including this header defines the http.h functions, so http_mhd.o is never linked into the
 * test binary: include it from exactly one file per binary. Not for: libmicrohttpd's own
 * behaviour (keep-alive, suspend/resume, body limits), which the black-box tests cover.
 */
#ifndef VERIFYD_TEST_FAKE_HTTP_H
#define VERIFYD_TEST_FAKE_HTTP_H

/* jansson's json_null() collides with the JSON writer's json_null(json_writer *). */
#define json_null jansson_json_null_unused
#include <jansson.h>
#undef json_null

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api.h"
#include "http/http.h"
#include "base/log.h"
#include "store/store.h"
#include "base/util.h"

#include "fixture.h"

#include "fake_http_core.h"

/* ---- building, sending and reading requests ---- */

/* A request for target ("/path" or "/path?query") with body (NULL: none). Free with
 * fake_free. */
static inline http_request *fake_request(const char *method, const char *target, const char *body)
{
    http_request *r = calloc(1, sizeof *r);
    r->a = arena_new();
    r->method = arena_strdup(r->a, method);
    const char *q = strchr(target, '?');
    r->path = q ? arena_strndup(r->a, target, (size_t)(q - target)) : arena_strdup(r->a, target);
    r->query = q ? arena_strdup(r->a, q + 1) : "";
    r->body = body ? arena_strdup(r->a, body) : "";
    r->body_len = strlen(r->body);
    r->start_us = util_mono_us();
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    return r;
}

static inline void fake_header(http_request *r, const char *name, const char *value)
{
    if (r->n_req == FAKE_MAX_HEADERS) abort();
    r->req_name[r->n_req] = arena_strdup(r->a, name);
    r->req_value[r->n_req] = arena_strdup(r->a, value);
    r->n_req++;
}

/* Wait (at most 10 s) until r has its answer; exactly one. */
static inline void fake_wait(http_request *r)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    pthread_mutex_lock(&r->mu);
    while (r->responses == 0) {
        if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) != 0) break;
    }
    int n = r->responses;
    pthread_mutex_unlock(&r->mu);
    if (n != 1) fprintf(stderr, "fake_http: %s %s answered %d times\n", r->method, r->path, n);
    assert_int_equal(n, 1);
}

/* Hand r to api_handle and wait for its answer. */
static inline void fake_send(app *ap, http_request *r)
{
    api_handle(r, ap);
    fake_wait(r);
}

/* The usual API call: Bearer key (NULL: no Authorization), a form body for POST. */
static inline http_request *fake_call(app *ap, const char *method, const char *target,
                                      const char *body, const char *key)
{
    http_request *r = fake_request(method, target, body);
    if (key) fake_header(r, "Authorization", arena_printf(r->a, "Bearer %s", key));
    if (body && *body) fake_header(r, "Content-Type", "application/x-www-form-urlencoded");
    fake_send(ap, r);
    return r;
}

static inline const char *fake_resp_header(const http_request *r, const char *name)
{
    for (int i = 0; i < r->n_resp; i++) {
        if (strcasecmp(r->resp_name[i], name) == 0) return r->resp_value[i];
    }
    return NULL;
}

/* The answer's body as a NUL-terminated string (it lives in r's arena). */
static inline const char *fake_body(const http_request *r)
{
    return arena_strndup(r->a, r->resp_body ? r->resp_body : "", r->resp_len);
}

/* The answer's body parsed; the test fails when it is not JSON. json_decref it. */
static inline json_t *fake_json(const http_request *r)
{
    json_error_t err;
    json_t *j = json_loadb(r->resp_body, r->resp_len, 0, &err);
    if (!j)
        fprintf(stderr, "fake_http: not JSON (%s): %.*s\n", err.text, (int)r->resp_len,
                r->resp_body);
    assert_non_null(j);
    return j;
}

static inline void fake_free(http_request *r)
{
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    arena_free(r->a);
    free(r);
}

/* ---- JSON access: a dotted path ("error.type", "data.0.id") into a parsed body ---- */

static inline json_t *jpath(json_t *j, const char *path)
{
    char seg[128];
    while (j && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof seg) return NULL;
        memcpy(seg, path, n);
        seg[n] = '\0';
        path += n + (path[n] == '.');
        if (json_is_array(j)) {
            char *end;
            long i = strtol(seg, &end, 10);
            j = *end == '\0' ? json_array_get(j, (size_t)i) : NULL;
        } else {
            j = json_object_get(j, seg);
        }
    }
    return j;
}

/* The string at path, or NULL when it is absent or not a string (null included). */
static inline const char *jstr(json_t *j, const char *path)
{
    return json_string_value(jpath(j, path));
}

static inline long long jint(json_t *j, const char *path)
{
    json_t *v = jpath(j, path);
    assert_true(json_is_integer(v));
    return (long long)json_integer_value(v);
}

/* 1 when path exists and is JSON null. */
static inline int jnull(json_t *j, const char *path)
{
    return json_is_null(jpath(j, path));
}

/* ---- the shared fixture: fixture.h's store fixture with the API tests' defaults ---- */

typedef fx_store api_fixture;

/* A fresh store and an app with test defaults (public_url http://verifyd.test, hosted delay
 * 10 s, no keys file, no workers), error-level logging. fake_fixture_free releases it, keys
 * included. */
static inline api_fixture *fake_fixture_new(void)
{
    api_fixture *f = fx_store_new("api");
    f->ap.hosted_delay_ms = 10000;
    log_level = LOG_ERROR; /* no access log lines in the test output */
    return f;
}

static inline void fake_fixture_free(api_fixture *f)
{
    api_keyring_free(f->ap.keys);
    fx_store_free(f);
}

#endif
