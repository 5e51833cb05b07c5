/*
 * http_mhd: the http.h adapter on libmicrohttpd (epoll thread pool, keep-alive, suspend/resume).
 * It is the only file that includes <microhttpd.h>.
 *
 * Life of a request: the URI-log callback allocates the request (with its arena) and keeps the
 * raw URI, so the path and the undecoded query string are exactly what the client sent (an
 * absolute-form target loses its scheme and authority first). The access handler checks that
 * the body's length is unambiguous, accumulates the body (bounded by max_body; beyond it the
 * body is dropped and http_body_too_large() says so), then calls the verifyd handler once. If
 * the handler has not responded by the time it returns, the connection is suspended (no thread
 * is held) and http_respond(), from whatever thread, resumes it. libmicrohttpd then calls the
 * access handler again, which queues the response. The completion callback frees the request.
 *
 * The response is always queued on a second or later call of the access handler: queueing it on
 * the first call made libmicrohttpd 0.9.75 close keep-alive connections (MEASURED.md). A request
 * whose body length is ambiguous uses exactly that: the handler is called on the first call and
 * its 400 closes the connection.
 *
 * Life of a connection: libmicrohttpd's timeout only measures inactivity, so a client sending
 * one header byte every few seconds would hold a connection for ever. Each connection therefore
 * gets a slot (the connection-notify callback) that records since when it has been waiting for
 * a request head. A reaper thread closes a connection whose head is overdue, and a connection
 * accepted beyond max_connections closes the one that has waited longest. Closing means
 * shutdown() on the socket: libmicrohttpd then sees the end of the stream and cleans the
 * connection up itself, on its own thread.
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

/* Bodies up to this many times max_body are drained before the 413 is sent. */
#define DRAIN_FACTOR 16

/* libmicrohttpd may accept this many connections beyond max_connections: each of them closes
 * the connection that has waited longest for a head, and that one stays in libmicrohttpd's table
 * until its own thread has cleaned it up. Also the per-thread share of the table (libmicrohttpd
 * divides its limit among the threads) keeps some room this way. */
#define EVICT_SLACK 64

/* Descriptors the rest of the process may hold beside the connections: SQLite's files (one
 * set per reader thread), webhook sockets (32 at most), the event loops' own. */
#define FD_RESERVE 256

/* Which wait for a request head a connection is in. */
enum slot_wait {
    SLOT_BUSY,  /* its head has arrived: a request is being read, handled or answered */
    SLOT_FRESH, /* accepted, and no head yet */
    SLOT_IDLE,  /* keep-alive: its last response is sent, and no next head yet */
};

/* One accepted connection, from the connection-notify callback's "started" to its "closed". */
typedef struct conn_slot {
    MHD_socket fd;
    enum slot_wait wait;
    int doomed;       /* shut down by us; freed once libmicrohttpd reports it closed */
    int64_t since_us; /* util_mono_us() when this wait began (SLOT_FRESH and SLOT_IDLE) */
    struct conn_slot *prev, *next;
} conn_slot;

/* Slots in one kind of wait, oldest first: a slot joins at the tail when its wait begins. */
typedef struct slot_list {
    conn_slot *head, *tail;
} slot_list;

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
    const char *framing_error; /* framing_error()'s answer for this request */
    int64_t start_us;
    conn_slot *slot; /* its connection's slot; NULL if libmicrohttpd had none to give */
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

    /* The connection table. slots_lock guards everything below, and keeps each live slot's fd
     * open: libmicrohttpd reports a close (which takes the lock) before it closes the fd. */
    pthread_mutex_t slots_lock;
    pthread_cond_t reaper_wake; /* a wait began due before reaper_next_us, or stopping */
    slot_list fresh;            /* SLOT_FRESH slots */
    slot_list idle;             /* SLOT_IDLE slots */
    unsigned live;              /* slots neither doomed nor closed */
    unsigned max_connections;   /* cfg's, lowered if the open-file limit is smaller */
    int64_t fresh_wait_us;      /* how long a fresh connection may wait for its head */
    int64_t idle_wait_us;       /* how long a keep-alive connection may wait for its next head */
    int64_t reaper_next_us;     /* when the reaper wakes next (INT64_MAX: when woken) */
    int stopping;
    pthread_t reaper;
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

const char *http_framing_error(const http_request *req)
{
    return req->framing_error;
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

/* ---- connection slots: the header deadline and the connection table ---- */

static slot_list *slot_list_of(http_server *srv, const conn_slot *slot)
{
    return slot->wait == SLOT_FRESH ? &srv->fresh : slot->wait == SLOT_IDLE ? &srv->idle : NULL;
}

/* Take the slot off its wait list, if it is on one. Caller holds slots_lock. */
static void slot_unlist(http_server *srv, conn_slot *slot)
{
    slot_list *l = slot_list_of(srv, slot);
    if (!l) return;
    if (slot->prev)
        slot->prev->next = slot->next;
    else
        l->head = slot->next;
    if (slot->next)
        slot->next->prev = slot->prev;
    else
        l->tail = slot->prev;
    slot->prev = slot->next = NULL;
    slot->wait = SLOT_BUSY;
}

/* Begin a wait for a head (SLOT_FRESH or SLOT_IDLE) now, or end one (SLOT_BUSY). A doomed slot
 * stays as it is. Caller holds slots_lock; reading the clock under it keeps each list in the
 * order of since_us. */
static void slot_set_wait(http_server *srv, conn_slot *slot, enum slot_wait wait)
{
    if (slot->doomed) return;
    slot_unlist(srv, slot);
    if (wait == SLOT_BUSY) return;
    slot->wait = wait;
    slot->since_us = util_mono_us();
    slot_list *l = slot_list_of(srv, slot);
    slot->prev = l->tail;
    if (l->tail)
        l->tail->next = slot;
    else
        l->head = slot;
    l->tail = slot;
    /* The reaper sleeps until the earliest deadline it knows of; wake it only if this one is
     * earlier (so not once per request on a busy keep-alive connection). */
    int64_t due = slot->since_us + (wait == SLOT_FRESH ? srv->fresh_wait_us : srv->idle_wait_us);
    if (due < srv->reaper_next_us) {
        srv->reaper_next_us = due;
        pthread_cond_signal(&srv->reaper_wake);
    }
}

/* Close the slot's connection: shutdown() makes libmicrohttpd read the end of the stream on
 * its own thread and clean the connection up, which in turn frees the slot. Caller holds
 * slots_lock, so the fd is still this connection's. */
static void slot_doom(http_server *srv, conn_slot *slot, const char *why)
{
    int waited_ms = (int)((util_mono_us() - slot->since_us) / 1000);
    slot_unlist(srv, slot);
    slot->doomed = 1;
    srv->live--;
    shutdown(slot->fd, SHUT_RDWR);
    log_msg(LOG_DEBUG, "msg=\"connection closed: %s\" waited_ms=%d", why, waited_ms);
}

/* The slot that has waited longest for a head, or NULL if none waits. Caller holds slots_lock. */
static conn_slot *slot_oldest_waiting(http_server *srv)
{
    conn_slot *f = srv->fresh.head, *i = srv->idle.head;
    if (!f || !i) return f ? f : i;
    return i->since_us < f->since_us ? i : f;
}

/* Close every slot of l whose wait of wait_us is over; lower *next_us to the first deadline
 * still ahead. Caller holds slots_lock. */
static void slot_reap(http_server *srv, slot_list *l, int64_t wait_us, int64_t now,
                      int64_t *next_us)
{
    while (l->head && l->head->since_us + wait_us <= now)
        slot_doom(srv, l->head, "request head overdue");
    if (l->head && l->head->since_us + wait_us < *next_us) *next_us = l->head->since_us + wait_us;
}

/* The reaper thread: sleeps until the earliest head deadline (or until a wait begins that is
 * due earlier), closes what is overdue, until http_server_stop. */
static void *reaper_main(void *arg)
{
    http_server *srv = arg;
    pthread_mutex_lock(&srv->slots_lock);
    while (!srv->stopping) {
        int64_t next = INT64_MAX;
        int64_t now = util_mono_us();
        slot_reap(srv, &srv->fresh, srv->fresh_wait_us, now, &next);
        slot_reap(srv, &srv->idle, srv->idle_wait_us, now, &next);
        srv->reaper_next_us = next;
        if (next == INT64_MAX) {
            pthread_cond_wait(&srv->reaper_wake, &srv->slots_lock);
        } else {
            struct timespec ts = {.tv_sec = (time_t)(next / 1000000),
                                  .tv_nsec = (long)(next % 1000000) * 1000};
            pthread_cond_timedwait(&srv->reaper_wake, &srv->slots_lock, &ts);
        }
    }
    pthread_mutex_unlock(&srv->slots_lock);
    return NULL;
}

static void reaper_stop(http_server *srv)
{
    pthread_mutex_lock(&srv->slots_lock);
    srv->stopping = 1;
    pthread_cond_signal(&srv->reaper_wake);
    pthread_mutex_unlock(&srv->slots_lock);
    pthread_join(srv->reaper, NULL);
}

/* Connection-notify callback, on the thread that accepted or cleaned up the connection. A new
 * connection gets a slot waiting for its first head. Past max_connections, the connection that
 * has waited longest for a head (fresh or keep-alive) is closed to make room, which is the new
 * one itself when every other connection is busy with a request. A closed one's slot is freed. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    http_server *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!info) return; /* cannot happen for an accepted socket; it would go untracked */
        conn_slot *slot = xcalloc(1, sizeof *slot);
        slot->fd = info->connect_fd;
        pthread_mutex_lock(&srv->slots_lock);
        srv->live++;
        slot_set_wait(srv, slot, SLOT_FRESH);
        conn_slot *victim;
        while (srv->live > srv->max_connections && (victim = slot_oldest_waiting(srv)))
            slot_doom(srv, victim, "connection table full");
        pthread_mutex_unlock(&srv->slots_lock);
        *socket_context = slot;
        return;
    }
    conn_slot *slot = *socket_context;
    if (!slot) return;
    *socket_context = NULL;
    pthread_mutex_lock(&srv->slots_lock);
    if (!slot->doomed) {
        slot_unlist(srv, slot);
        srv->live--;
    }
    pthread_mutex_unlock(&srv->slots_lock);
    free(slot);
}

/* The slot's wait is now `wait` (no-op without a slot). */
static void slot_mark(http_server *srv, conn_slot *slot, enum slot_wait wait)
{
    if (!slot) return;
    pthread_mutex_lock(&srv->slots_lock);
    slot_set_wait(srv, slot, wait);
    pthread_mutex_unlock(&srv->slots_lock);
}

/* The open-file limit decides how many connections can really be open: raise the soft limit to
 * what max connections need (up to the hard limit), and if that is not enough, serve fewer
 * connections rather than have accept() fail with EMFILE (libmicrohttpd would then stop
 * accepting, and no new connection could close a waiting one). Returns the connection limit to
 * use. */
static unsigned fit_open_files(unsigned want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return want;
    rlim_t need = (rlim_t)want + EVICT_SLACK + FD_RESERVE;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        struct rlimit raised = {
            rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl.rlim_cur = raised.rlim_cur;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need) return want;
    unsigned fit = rl.rlim_cur > EVICT_SLACK + FD_RESERVE + 1
                       ? (unsigned)(rl.rlim_cur - EVICT_SLACK - FD_RESERVE)
                       : 1;
    log_msg(LOG_WARN,
            "msg=\"the open-file limit is too low for max connections; serving fewer\" "
            "max_connections=%u open_files=%llu serving=%u",
            want, (unsigned long long)rl.rlim_cur, fit);
    return fit;
}

/* ---- requests ---- */

static enum MHD_Result queue_response(http_request *req)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        req->resp_len, (void *)req->resp_body, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    if (req->content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, req->content_type);
    /* The rest of the connection's bytes mean nothing when the body could not be delimited. */
    if (req->framing_error) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    for (resp_header *h = req->headers; h; h = h->next)
        MHD_add_response_header(resp, h->name, h->value);
    enum MHD_Result rc = MHD_queue_response(req->conn, (unsigned)req->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* RFC 9112 §3.2.2: an absolute-form target ("http://host:port/path?q") names the same resource
 * as the origin form ("/path?q"). Returns uri past its scheme and authority (possibly "" or
 * "?q", no path), or uri itself when it is not in absolute form. */
static const char *origin_form(const char *uri)
{
    size_t scheme = strncasecmp(uri, "http://", 7) == 0    ? 7
                    : strncasecmp(uri, "https://", 8) == 0 ? 8
                                                           : 0;
    if (scheme == 0) return uri;
    return uri + scheme + strcspn(uri + scheme, "/?");
}

/* What the headers say about the body's length. */
typedef struct framing {
    const char *length;  /* the first Content-Length, or NULL */
    int lengths_differ;  /* a later Content-Length has another value */
    int transfer_coding; /* there is a Transfer-Encoding */
} framing;

static enum MHD_Result framing_visit(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    framing *f = cls;
    if (!value) value = "";
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (!f->length)
            f->length = value;
        else if (strcmp(f->length, value) != 0)
            f->lengths_differ = 1;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->transfer_coding = 1;
    }
    return MHD_YES;
}

/* NULL when the body's length is unambiguous; else the message for the 400. libmicrohttpd
 * itself reads the first Content-Length and lets Transfer-Encoding override it, so a proxy
 * that read the request the other way would disagree about where the next request starts.
 * RFC 9112 §6.3: Content-Length values that differ make the framing invalid (the same value
 * repeated says nothing new); §6.1: with both headers, refusing is allowed, and the connection
 * must be closed after the answer either way. */
static const char *framing_error(struct MHD_Connection *conn)
{
    framing f = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_visit, &f);
    if (f.lengths_differ)
        return "Invalid request: the request has conflicting Content-Length headers.";
    if (f.length && f.transfer_coding)
        return "Invalid request: the request has both Transfer-Encoding and Content-Length.";
    return NULL;
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
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    req->slot = info ? info->socket_context : NULL;
    const char *target = origin_form(uri);
    const char *q = strchr(target, '?');
    size_t plen = q ? (size_t)(q - target) : strlen(target);
    /* An absolute-form target without a path means "/" (RFC 9112 §3.2.2). */
    req->path = plen == 0 && target != uri ? "/" : arena_strndup(req->arena, target, plen);
    req->query = q ? arena_strdup(req->arena, q + 1) : "";
    atomic_fetch_add(&srv->active, 1);
    return req;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    http_server *srv = cls;
    http_request *req = *con_cls;
    if (!req) return;
    *con_cls = NULL;
    /* The response is sent: a keep-alive connection now waits for its next head (one that
     * closes instead is gone in a moment anyway). */
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) slot_mark(srv, req->slot, SLOT_IDLE);
    pthread_mutex_destroy(&req->lock);
    arena_free(req->arena);
    free(req);
    atomic_fetch_sub(&srv->active, 1);
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
        /* First call: the head is complete, so its deadline no longer applies. Headers only:
         * a body whose length is ambiguous is refused. A body over the limit is read and
         * dropped, so that the client, still sending, gets to read the 413; one declared far
         * beyond any sane size is refused at once without reading it (libmicrohttpd then
         * closes the connection). */
        req->method = arena_strdup(req->arena, method);
        slot_mark(srv, req->slot, SLOT_BUSY);
        req->framing_error = framing_error(conn);
        if (req->framing_error) return dispatch(req); /* answered before any body is read */
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
    int rc = -1;
    int sync_ready = 0, reaper_running = 0;
    http_server *srv = xcalloc(1, sizeof *srv);
    srv->cfg = *cfg;
    srv->handler = handler;
    srv->userdata = userdata;

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags =
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_TURBO;
    int addr_ok;
    if (strchr(cfg->listen_addr, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)cfg->port);
        addr_ok = inet_pton(AF_INET6, cfg->listen_addr, &a6->sin6_addr) == 1;
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)cfg->port);
        addr_ok = inet_pton(AF_INET, cfg->listen_addr, &a4->sin_addr) == 1;
    }
    if (!addr_ok) {
        *errmsg = "the listen address is not an IPv4 or IPv6 literal";
        goto done;
    }

    unsigned header_s = cfg->header_timeout_s > 0 ? cfg->header_timeout_s : 10;
    srv->max_connections = fit_open_files(cfg->max_connections > 0 ? cfg->max_connections : 1);
    srv->fresh_wait_us = (int64_t)header_s * 1000000;
    /* A keep-alive connection may stay idle between requests as long as the idle timeout lets
     * it (libmicrohttpd closes it then if nothing at all arrives), and a head begun at the last
     * moment still has the whole header deadline: its next head is due both after the last
     * response. The start of a head cannot be seen here (libmicrohttpd reports only its end),
     * so one trickled from right after the response gets that long too, and no longer. */
    srv->idle_wait_us = ((int64_t)cfg->idle_timeout_s + header_s) * 1000000;
    srv->reaper_next_us = INT64_MAX;

    /* Past this point a failure must undo, in reverse: the reaper thread, then the lock and
     * the condition variable. */
    pthread_mutex_init(&srv->slots_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the clock of util_mono_us() */
    pthread_cond_init(&srv->reaper_wake, &ca);
    pthread_condattr_destroy(&ca);
    sync_ready = 1;
    if (pthread_create(&srv->reaper, NULL, reaper_main, srv) != 0) {
        *errmsg = "cannot start the connection reaper thread";
        goto done;
    }
    reaper_running = 1;

    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, &ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads > 0 ? cfg->threads : 2),
        MHD_OPTION_CONNECTION_LIMIT, srv->max_connections + EVICT_SLACK,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        cfg->max_header, MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_END);
    if (!srv->daemon) {
        *errmsg = "cannot listen on that address (in use, or not permitted)";
        goto done;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : cfg->port;
    *out = srv;
    rc = 0;

done:
    if (rc != 0) {
        if (reaper_running) reaper_stop(srv);
        if (sync_ready) {
            pthread_cond_destroy(&srv->reaper_wake);
            pthread_mutex_destroy(&srv->slots_lock);
        }
        free(srv);
    }
    return rc;
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
    /* The reaper keeps running until here: a client trickling a head cannot hold up the
     * shutdown past its deadline. Stopping the daemon reports every connection closed, which
     * frees the slots. */
    MHD_stop_daemon(s->daemon);
    reaper_stop(s);
    pthread_cond_destroy(&s->reaper_wake);
    pthread_mutex_destroy(&s->slots_lock);
    free(s);
}
