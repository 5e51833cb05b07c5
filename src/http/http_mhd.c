/*
 * http_mhd: the http.h adapter on libmicrohttpd (epoll thread pool, keep-alive, suspend/resume).
 * It is the only file that includes <microhttpd.h>.
 *
 * Life of a request: the URI-log callback allocates the request (with its arena) and keeps the
 * raw URI, so the path and the undecoded query string are exactly what the client sent. The
 * access handler accumulates the body (bounded by max_body; beyond it the body is dropped and
 * http_body_too_large() says so), then calls the verifyd handler once. If the handler has not
 * responded by the time it returns, the connection is suspended (no thread is held) and
 * http_respond(), from whatever thread, resumes it. libmicrohttpd then calls the access handler
 * again, which queues the response. The completion callback frees the request.
 *
 * The response is always queued on a second or later call of the access handler: queueing it on
 * the first call made libmicrohttpd 0.9.75 close keep-alive connections (MEASURED.md).
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

/* Bodies up to this many times max_body are drained before the 413 is sent. */
#define DRAIN_FACTOR 16

enum req_state { REQ_READING, REQ_RUNNING, REQ_SUSPENDED, REQ_RESPONDED };

typedef struct resp_header {
    const char *name, *value;
    struct resp_header *next;
} resp_header;

struct http_request {
    http_server *srv;
    struct MHD_Connection *conn;
    arena *arena;
    const char *method;
    const char *path;
    const char *query;
    buf body;
    int too_large;
    int64_t start_us;
    pthread_mutex_t lock;
    enum req_state state;
    int status;
    const char *content_type;
    const char *resp_body;
    size_t resp_len;
    resp_header *headers;
};

struct http_server {
    struct MHD_Daemon *daemon;
    http_config cfg;
    http_handler handler;
    void *userdata;
    int port;
    atomic_long active; /* requests allocated and not yet completed */
};

arena *http_arena(http_request *req)
{
    return req->arena;
}

const char *http_method(const http_request *req)
{
    return req->method ? req->method : "";
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
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_body(const http_request *req, size_t *len)
{
    *len = req->body.len;
    return req->body.data ? req->body.data : "";
}

int http_body_too_large(const http_request *req)
{
    return req->too_large;
}

int64_t http_start_us(const http_request *req)
{
    return req->start_us;
}

void http_add_header(http_request *req, const char *name, const char *value)
{
    resp_header *h = arena_alloc(req->arena, sizeof *h);
    h->name = arena_strdup(req->arena, name);
    h->value = arena_strdup(req->arena, value);
    h->next = req->headers;
    req->headers = h;
}

void http_respond(http_request *req, int status, const char *content_type, const char *body,
                  size_t len)
{
    pthread_mutex_lock(&req->lock);
    req->status = status;
    req->content_type = content_type;
    req->resp_body = body;
    req->resp_len = len;
    enum req_state was = req->state;
    req->state = REQ_RESPONDED;
    struct MHD_Connection *conn = req->conn;
    pthread_mutex_unlock(&req->lock);
    /* Resume only after unlocking, and touch req no more: once resumed, an event-loop thread
     * may send the response and free req (on_completed) before MHD_resume_connection returns. */
    if (was == REQ_SUSPENDED) MHD_resume_connection(conn);
}

/* Called by libmicrohttpd with the raw request URI before anything else: the request is born
 * here, and the returned pointer becomes the access handler's *con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    http_server *srv = cls;
    http_request *req = xcalloc(1, sizeof *req);
    req->srv = srv;
    req->conn = conn;
    req->arena = arena_new();
    req->start_us = util_mono_us();
    pthread_mutex_init(&req->lock, NULL);
    buf_init(&req->body, req->arena);
    const char *q = strchr(uri, '?');
    if (q) {
        req->path = arena_strndup(req->arena, uri, (size_t)(q - uri));
        req->query = arena_strdup(req->arena, q + 1);
    } else {
        req->path = arena_strdup(req->arena, uri);
        req->query = "";
    }
    atomic_fetch_add(&srv->active, 1);
    return req;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    http_server *srv = cls;
    http_request *req = *con_cls;
    if (!req) return;
    *con_cls = NULL;
    pthread_mutex_destroy(&req->lock);
    arena_free(req->arena);
    free(req);
    atomic_fetch_sub(&srv->active, 1);
}

static enum MHD_Result queue_response(http_request *req)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        req->resp_len, (void *)req->resp_body, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    if (req->content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, req->content_type);
    for (resp_header *h = req->headers; h; h = h->next)
        MHD_add_response_header(resp, h->name, h->value);
    enum MHD_Result rc = MHD_queue_response(req->conn, (unsigned)req->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Runs the handler; queues the response now if it answered synchronously, else parks the
 * connection until http_respond() resumes it. */
static enum MHD_Result dispatch(http_request *req)
{
    req->state = REQ_RUNNING;
    req->srv->handler(req, req->srv->userdata);
    pthread_mutex_lock(&req->lock);
    int responded = req->state == REQ_RESPONDED;
    if (!responded) {
        req->state = REQ_SUSPENDED;
        MHD_suspend_connection(req->conn);
    }
    pthread_mutex_unlock(&req->lock);
    return responded ? queue_response(req) : MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)url;
    (void)version;
    http_server *srv = cls;
    http_request *req = *con_cls;
    if (!req) return MHD_NO; /* cannot happen: on_uri always runs first */

    if (req->method == NULL) {
        /* First call: headers only. A body over the limit is read and dropped, so that the
         * client, still sending, gets to read the 413; one declared far beyond any sane size
         * is refused at once without reading it (libmicrohttpd then closes the connection). */
        req->method = arena_strdup(req->arena, method);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
        if (declared > srv->cfg.max_body) {
            req->too_large = 1;
            if (declared > DRAIN_FACTOR * (unsigned long long)srv->cfg.max_body)
                return dispatch(req);
        }
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        if (!req->too_large) {
            if (req->body.len + *upload_data_size > srv->cfg.max_body)
                req->too_large = 1;
            else
                buf_append(&req->body, upload_data, *upload_data_size);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    switch (req->state) {
    case REQ_READING:
        return dispatch(req);
    case REQ_RESPONDED:
        return queue_response(req);
    default:
        return MHD_YES; /* still suspended: a spurious call */
    }
}

int http_server_start(const http_config *cfg, http_handler handler, void *userdata,
                      http_server **out, const char **errmsg)
{
    http_server *srv = xcalloc(1, sizeof *srv);
    srv->cfg = *cfg;
    srv->handler = handler;
    srv->userdata = userdata;

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags =
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_TURBO;
    if (strchr(cfg->listen_addr, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)cfg->port);
        if (inet_pton(AF_INET6, cfg->listen_addr, &a6->sin6_addr) != 1) goto bad_addr;
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)cfg->port);
        if (inet_pton(AF_INET, cfg->listen_addr, &a4->sin_addr) != 1) goto bad_addr;
    }

    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads > 0 ? cfg->threads : 2),
        MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        cfg->idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->max_header,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_END);
    if (!srv->daemon) {
        *errmsg = "cannot listen on that address (in use, or not permitted)";
        free(srv);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : cfg->port;
    *out = srv;
    return 0;

bad_addr:
    *errmsg = "the listen address is not an IPv4 or IPv6 literal";
    free(srv);
    return -1;
}

int http_server_port(const http_server *s)
{
    return s->port;
}

void http_server_stop(http_server *s)
{
    /* Stop accepting; then give in-flight requests (including deferred ones waiting on a
     * commit) up to 30 s to finish before the daemon and its connections go away. */
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET) close(fd);
    for (int i = 0; i < 3000 && atomic_load(&s->active) > 0; i++)
        usleep(10000);
    MHD_stop_daemon(s->daemon);
    free(s);
}
