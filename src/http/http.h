/*
 * http: the small adapter between verifyd and its HTTP library (libmicrohttpd). No other file
 * includes the library's header; handlers see only this interface.
 *
 * The server calls the handler once per request, after the whole body has arrived (a body over
 * max_body is not kept: the handler sees http_body_too_large() and answers 413). The handler
 * must call http_respond() exactly once: either before it returns, or later from any thread
 * (a deferred response, e.g. after a group commit). In the deferred case the adapter parks the
 * connection without holding a thread until http_respond() is called.
 *
 * Everything a request allocates comes from http_arena(req), released after the response has
 * been sent (or the connection dropped). The response body passed to http_respond() must live in
 * that arena or be static.
 *
 * Limits the adapter enforces before a handler runs: a connection must deliver a complete
 * request head (request line and headers, at most max_header bytes) within header_timeout_s of
 * being accepted, or of its previous response plus idle_timeout_s when it is kept alive, or it
 * is closed. When max_connections are open, a new connection closes the one that has waited
 * longest for a head (itself, when all others are busy with requests). A body whose length is
 * ambiguous (Content-Length headers that disagree, or Content-Length with Transfer-Encoding) is
 * answered 400 by the adapter, which then closes the connection; the handler never sees it. An
 * absolute-form target ("http://host/path") reaches the handler as its path.
 */
#ifndef VERIFYD_HTTP_H
#define VERIFYD_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

typedef struct http_request http_request;
typedef struct http_server http_server;

typedef void (*http_handler)(http_request *req, void *userdata);

typedef struct http_config {
    const char *listen_addr;   /* IPv4 or IPv6 literal, e.g. "127.0.0.1" or "::1" */
    int port;                  /* 0: pick a free port (see http_server_port) */
    int threads;               /* event-loop threads (epoll thread pool) */
    size_t max_body;           /* bytes; larger bodies get 413 */
    size_t max_header;         /* bytes of request line + headers per connection */
    unsigned max_connections;  /* open at once; lowered to what the open-file limit allows */
    unsigned idle_timeout_s;   /* a connection with no traffic for this long is closed */
    unsigned header_timeout_s; /* deadline for a complete request head (0: 10 s) */
} http_config;

/* Start listening and serving. Returns 0 and *out, or -1 with *errmsg (a static string
 * describing the failure, e.g. the port is in use). Raises the process's soft open-file limit
 * towards what max_connections need (logging a warning and serving fewer connections when the
 * hard limit is lower). */
int http_server_start(const http_config *cfg, http_handler handler, void *userdata,
                      http_server **out, const char **errmsg);
/* The port actually bound. */
int http_server_port(const http_server *s);
/* Stop accepting new connections, wait for in-flight requests (including deferred ones) to
 * finish, then free the server. */
void http_server_stop(http_server *s);

/* Request accessors; strings are NUL-terminated and valid until the request ends. */
arena *http_arena(http_request *req);
const char *http_method(const http_request *req);
const char *http_path(const http_request *req);  /* without the query string, not decoded */
const char *http_query(const http_request *req); /* raw query string after '?', or "" */
const char *http_header(const http_request *req, const char *name); /* case-insensitive, or NULL */
const char *http_body(const http_request *req, size_t *len);        /* never NULL ("" if none) */
int64_t http_start_us(const http_request *req);                     /* util_mono_us() at arrival */
/* 1 when the body exceeded max_body: it was not kept, and the handler should answer 413. */
int http_body_too_large(const http_request *req);
/* NULL, or why the body's length is ambiguous (RFC 9112 §6.1, §6.3: Content-Length values that
 * differ, or Content-Length with Transfer-Encoding). Then the body was not read, the handler is
 * called at once and should answer 400, and the adapter closes the connection after that. */
const char *http_framing_error(const http_request *req);

/* Add a response header (copied). Call before http_respond(). */
void http_add_header(http_request *req, const char *name, const char *value);
/* Send the response. body must outlive the request (arena or static). Any thread. */
void http_respond(http_request *req, int status, const char *content_type, const char *body,
                  size_t len);

#endif
