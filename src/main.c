/*
 * main: verifyd's command line, configuration (flags, then VERIFYD_* environment variables,
 * then defaults), start-up and clean shutdown on SIGTERM/SIGINT: stop accepting, finish the
 * requests in flight, stop background work, close the database.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoints/endpoints.h"
#include "background/delivery.h"
#include "http/http.h"
#include "background/outcomes.h"
#include "base/log.h"
#include "background/redactor.h"
#include "store/store.h"
#include "base/timer.h"
#include "identity/fault.h"
#include "identity/account_clock.h"

static const char usage[] =
    "Usage: verifyd [options]\n"
    "\n"
    "A Stripe Identity VerificationSession API server. Point a Stripe SDK at it with\n"
    "host 127.0.0.1, port 12111, protocol http, and any sk_test_ key.\n"
    "\n"
    "Options (each also as an environment variable):\n"
    "  --listen ADDR:PORT      VERIFYD_LISTEN       address to serve on [127.0.0.1:12111]\n"
    "  --data-dir DIR          VERIFYD_DATA_DIR     where the SQLite database lives [./data]\n"
    "  --store URL             VERIFYD_STORE        the database: sqlite: (in --data-dir) or\n"
    "                                               postgres://user@host:port/db?... (libpq's\n"
    "                                               URL, PG* variables, sslmode) [sqlite:]\n"
    "  --public-url URL        VERIFYD_PUBLIC_URL   base of the hosted `url`s [http://<listen>]\n"
    "  --log-level LEVEL       VERIFYD_LOG_LEVEL    error, warn, info or debug [info]\n"
    "  --keys-file FILE        VERIFYD_KEYS_FILE    live/restricted keys: lines of\n"
    "                                               '<sha256 hex of key> <account> [restricted]'\n"
    "  --redaction-delay MS    VERIFYD_REDACTION_DELAY_MS  time a redaction stays processing [0]\n"
    "  --hosted-delay MS       VERIFYD_HOSTED_DELAY_MS  time the hosted page's delayed test\n"
    "                                               outcomes stay processing [10000]\n"
    "  --forward-to URL        VERIFYD_FORWARD_TO   also send every event of every account to\n"
    "                                               URL, signed with a secret printed at start\n"
    "                                               (like `stripe listen --forward-to`)\n"
    "  --webhook-retry-schedule LIST  VERIFYD_WEBHOOK_RETRY_SCHEDULE  delays between webhook\n"
    "                                               attempts, e.g. 1s,2s,4s: up to 32 delays,\n"
    "                                               each a number and a unit (ms, s, m, h, d),\n"
    "                                               at most 30 days\n"
    "                                               [test mode 10m,1h,3h; live up to 3 days]\n"
    "  --allow-private-webhooks  VERIFYD_ALLOW_PRIVATE_WEBHOOKS=1  let live-mode endpoints use\n"
    "                                               loopback and private addresses\n"
    "  --threads N             VERIFYD_THREADS      HTTP event-loop threads [2]\n"
    "  --max-body BYTES        VERIFYD_MAX_BODY     largest request body [1048576]\n"
    "  --max-connections N     VERIFYD_MAX_CONNECTIONS  [1024]\n"
    "  --idle-timeout SECONDS  VERIFYD_IDLE_TIMEOUT keep-alive idle timeout [60]\n"
    "  --header-timeout SECONDS  VERIFYD_HEADER_TIMEOUT  time to send a whole request\n"
    "                                               head (line and headers) [10]\n"
    "  --pretty                VERIFYD_PRETTY=1     indent JSON responses as Stripe does\n"
    "  --test-clock            accepted and ignored: each test-mode account's clock is\n"
    "                                               always served (README \"Testing with time\")\n"
    "  --seed FILE             VERIFYD_SEED         at start, make the account a verifyd\n"
    "                                               export document names exactly that\n"
    "                                               document (GET "
    "/v1/test_helpers/verifyd/export)\n"
    "  --fixtures              VERIFYD_FIXTURES=1   answer unknown test-mode ids with fixtures\n"
    "                                               (stripe-mock compatibility)\n"
    "  --dashboard-key KEY     VERIFYD_DASHBOARD_KEY  operator key for /dashboard and /metrics\n"
    "                                               (16-256 of A-Z a-z 0-9 _ -): needed\n"
    "                                               wherever verifyd listens; without it they\n"
    "                                               are open on loopback, off elsewhere\n"
    "  -h, --help              this text\n"
    "  -V, --version           the version\n"
    "\n"
    "Any key sk_test_<letters, digits, _> is accepted and is its own account (open test mode).\n";

typedef struct config {
    const char *listen;
    const char *data_dir;
    const char *store;
    const char *public_url;
    const char *log_level;
    const char *keys_file;
    const char *redaction_delay;
    const char *hosted_delay;
    const char *forward_to;
    const char *retry_schedule;
    int allow_private;
    const char *threads;
    const char *max_body;
    const char *max_connections;
    const char *idle_timeout;
    const char *header_timeout;
    int pretty;
    const char *seed;
    int fixtures;
    const char *dashboard_key;
} config;

static const char *env_or(const char *flag, const char *env, const char *dflt)
{
    if (flag) return flag;
    const char *v = getenv(env);
    return v && *v ? v : dflt;
}

static int parse_num(const char *what, const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    /* strtoll alone would also take leading spaces and a '+'. */
    if (!(s[0] >= '0' && s[0] <= '9') || errno || *end || end == s || v < min || v > max) {
        fprintf(stderr, "verifyd: %s must be a whole number from %lld to %lld (got '%s')\n", what,
                min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* 1 when the first n bytes of u are an absolute http:// or https:// URL with a host: no
 * spaces or control characters, something before the first '/', '?' or '#' after the scheme. */
static int http_url_ok(const char *u, size_t n)
{
    size_t scheme = strncmp(u, "http://", 7) == 0 ? 7 : strncmp(u, "https://", 8) == 0 ? 8 : 0;
    if (scheme == 0 || n <= scheme || strchr("/?#", u[scheme])) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f) return 0;
    return 1;
}

/* "127.0.0.1:12111" or "[::1]:12111" into host (static storage) and port. */
static int parse_listen(const char *s, char *host, size_t host_size, int *port)
{
    const char *colon;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') return -1;
        snprintf(host, host_size, "%.*s", (int)(close - s - 1), s + 1);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) return -1;
        snprintf(host, host_size, "%.*s", (int)(colon - s), s);
    }
    long long p;
    if (!host[0] || parse_num("the listen port", colon + 1, 0, 65535, &p) != 0) return -1;
    /* Numeric addresses only: a host name is not resolved, so say so here (a usage error)
     * rather than fail later as if the address could not be bound. */
    unsigned char addr[16];
    if (inet_pton(AF_INET6, host, addr) != 1 &&
        (s[0] == '[' || inet_pton(AF_INET, host, addr) != 1))
        return -2;
    *port = (int)p;
    return 0;
}

/* 1 when the numeric address host is loopback (127.0.0.0/8, ::1, ::ffff:127.x): the operator
 * pages are open there (operator.c). */
static int loopback(const char *host)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, host, a) == 1) return a[0] == 127;
    if (inet_pton(AF_INET6, host, a) != 1) return 0;
    static const unsigned char one[16] = {[15] = 1};
    static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
    return memcmp(a, one, 16) == 0 || (memcmp(a, mapped, 12) == 0 && a[12] == 127);
}

/* The operator key is sent in a cookie and a header: a plain token, long enough to guess. */
static int dashboard_key_ok(const char *k)
{
    size_t n = strlen(k);
    return n >= 16 && n <= 256 &&
           strspn(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

int main(int argc, char **argv)
{
    config f = {0};
    static const struct option opts[] = {
        {"listen", required_argument, 0, 'l'},
        {"data-dir", required_argument, 0, 'd'},
        {"store", required_argument, 0, 's'},
        {"public-url", required_argument, 0, 'u'},
        {"log-level", required_argument, 0, 'L'},
        {"keys-file", required_argument, 0, 'k'},
        {"redaction-delay", required_argument, 0, 'r'},
        {"hosted-delay", required_argument, 0, 'H'},
        {"forward-to", required_argument, 0, 'F'},
        {"webhook-retry-schedule", required_argument, 0, 'W'},
        {"allow-private-webhooks", no_argument, 0, 'A'},
        {"threads", required_argument, 0, 't'},
        {"max-body", required_argument, 0, 'b'},
        {"max-connections", required_argument, 0, 'c'},
        {"idle-timeout", required_argument, 0, 'i'},
        {"header-timeout", required_argument, 0, 'D'},
        {"pretty", no_argument, 0, 'p'},
        {"test-clock", no_argument, 0, 'T'},
        {"seed", required_argument, 0, 'S'},
        {"fixtures", no_argument, 0, 'X'},
        {"dashboard-key", required_argument, 0, 'K'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            f.listen = optarg;
            break;
        case 'd':
            f.data_dir = optarg;
            break;
        case 's':
            f.store = optarg;
            break;
        case 'u':
            f.public_url = optarg;
            break;
        case 'L':
            f.log_level = optarg;
            break;
        case 'k':
            f.keys_file = optarg;
            break;
        case 'r':
            f.redaction_delay = optarg;
            break;
        case 'H':
            f.hosted_delay = optarg;
            break;
        case 'F':
            f.forward_to = optarg;
            break;
        case 'W':
            f.retry_schedule = optarg;
            break;
        case 'A':
            f.allow_private = 1;
            break;
        case 't':
            f.threads = optarg;
            break;
        case 'b':
            f.max_body = optarg;
            break;
        case 'c':
            f.max_connections = optarg;
            break;
        case 'i':
            f.idle_timeout = optarg;
            break;
        case 'D':
            f.header_timeout = optarg;
            break;
        case 'p':
            f.pretty = 1;
            break;
        case 'T':
            /* Accepted for compatibility and changes nothing: every account's clock is served
             * in test mode (CONTRACT.md §11 "Test control plane"). */
            break;
        case 'S':
            f.seed = optarg;
            break;
        case 'X':
            f.fixtures = 1;
            break;
        case 'K':
            f.dashboard_key = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        case 'V':
            printf("verifyd %s\n", VERIFYD_VERSION);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "verifyd: unexpected argument '%s'\n%s", argv[optind], usage);
        return 2;
    }

    const char *listen = env_or(f.listen, "VERIFYD_LISTEN", "127.0.0.1:12111");
    const char *data_dir = env_or(f.data_dir, "VERIFYD_DATA_DIR", "./data");
    const char *level = env_or(f.log_level, "VERIFYD_LOG_LEVEL", "info");
    const char *keys_file = env_or(f.keys_file, "VERIFYD_KEYS_FILE", NULL);
    const char *pretty = env_or(NULL, "VERIFYD_PRETTY", "0");
    long long redaction_delay, threads, max_body, max_conn, idle, header_timeout;
    long long hosted_delay;
    char host[256];
    int port;
    int listen_rc = parse_listen(listen, host, sizeof host, &port);
    if (listen_rc == -2) {
        fprintf(stderr,
                "verifyd: --listen takes a numeric IPv4 or IPv6 address (host names are not "
                "resolved), e.g. 127.0.0.1:12111 or [::1]:12111 (got '%s')\n",
                listen);
        return 2;
    }
    if (listen_rc != 0) {
        fprintf(stderr, "verifyd: --listen takes ADDR:PORT, e.g. 127.0.0.1:12111 (got '%s')\n",
                listen);
        return 2;
    }
    if (log_level_parse(level, &log_level) != 0) {
        fprintf(stderr, "verifyd: --log-level is one of error, warn, info, debug\n");
        return 2;
    }
    if (parse_num("--redaction-delay", env_or(f.redaction_delay, "VERIFYD_REDACTION_DELAY_MS", "0"),
                  0, 4LL * 24 * 3600 * 1000, &redaction_delay) ||
        parse_num("--hosted-delay", env_or(f.hosted_delay, "VERIFYD_HOSTED_DELAY_MS", "10000"), 0,
                  24LL * 3600 * 1000, &hosted_delay) ||
        parse_num("--threads", env_or(f.threads, "VERIFYD_THREADS", "2"), 1, 64, &threads) ||
        parse_num("--max-body", env_or(f.max_body, "VERIFYD_MAX_BODY", "1048576"), 1024, 64LL << 20,
                  &max_body) ||
        parse_num("--max-connections", env_or(f.max_connections, "VERIFYD_MAX_CONNECTIONS", "1024"),
                  1, 100000, &max_conn) ||
        parse_num("--idle-timeout", env_or(f.idle_timeout, "VERIFYD_IDLE_TIMEOUT", "60"), 1, 86400,
                  &idle) ||
        parse_num("--header-timeout", env_or(f.header_timeout, "VERIFYD_HEADER_TIMEOUT", "10"), 1,
                  86400, &header_timeout))
        return 2;

    char public_url[SESSION_PUBLIC_URL_MAX + 1];
    const char *pu = env_or(f.public_url, "VERIFYD_PUBLIC_URL", NULL);
    if (pu) {
        size_t n = strlen(pu);
        while (n > 0 && pu[n - 1] == '/')
            n--;
        if (n >= sizeof public_url || !http_url_ok(pu, n)) {
            fprintf(stderr,
                    "verifyd: --public-url must be an absolute http:// or https:// URL with a "
                    "host, at most %d characters\n",
                    SESSION_PUBLIC_URL_MAX);
            return 2;
        }
        snprintf(public_url, sizeof public_url, "%.*s", (int)n, pu);
    }

    /* Signals are taken synchronously by this thread; every thread started below inherits
     * the blocked mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    app ap = {0};
    ap.routes = endpoints_routes;
    ap.n_routes = endpoints_n_routes;
    ap.redaction_delay_ms = redaction_delay;
    ap.hosted_delay_ms = hosted_delay;
    delivery_config dc = {0};
    const char *forward_to = env_or(f.forward_to, "VERIFYD_FORWARD_TO", NULL);
    const char *schedule = env_or(f.retry_schedule, "VERIFYD_WEBHOOK_RETRY_SCHEDULE", NULL);
    ap.allow_private_webhooks =
        f.allow_private || strcmp(env_or(NULL, "VERIFYD_ALLOW_PRIVATE_WEBHOOKS", "0"), "1") == 0;
    dc.allow_private = ap.allow_private_webhooks;
    const char *schedule_err = NULL;
    if (schedule && delivery_parse_schedule(schedule, &dc, &schedule_err) != 0) {
        fprintf(stderr, "verifyd: --webhook-retry-schedule: %s (got '%s')\n", schedule_err,
                schedule);
        return 2;
    }
    if (forward_to &&
        (strlen(forward_to) > URL_MAX || !http_url_ok(forward_to, strlen(forward_to)))) {
        fprintf(stderr,
                "verifyd: --forward-to takes an absolute http:// or https:// URL with a "
                "host, at most %d characters\n",
                URL_MAX);
        return 2;
    }
    ap.pretty_json = f.pretty || strcmp(pretty, "1") == 0;
    ap.fixtures = f.fixtures || strcmp(env_or(NULL, "VERIFYD_FIXTURES", "0"), "1") == 0;
    ap.dashboard_key = env_or(f.dashboard_key, "VERIFYD_DASHBOARD_KEY", NULL);
    if (ap.dashboard_key && !dashboard_key_ok(ap.dashboard_key)) {
        fprintf(stderr, "verifyd: --dashboard-key takes 16 to 256 characters of A-Z, a-z, 0-9, "
                        "'_' and '-'\n");
        return 2;
    }
    ap.listen_loopback = loopback(host);
    const char *err = NULL;
    if (keys_file && api_keyring_load(keys_file, &ap.keys, &err) != 0) {
        fprintf(stderr, "verifyd: %s (%s)\n", err, keys_file);
        return 1;
    }
    const char *store_url = env_or(f.store, "VERIFYD_STORE", NULL);
    store_config sc = {.url = store_url, .data_dir = data_dir};
    if (store_open(&sc, &ap.st, &err) != 0) {
        /* Never the URL itself: it may carry a password. */
        if (store_url != NULL && store_url[0] != '\0' && strcmp(store_url, "sqlite:") != 0)
            fprintf(stderr, "verifyd: cannot open the store named by --store: %s\n", err);
        else
            fprintf(stderr, "verifyd: cannot open the database in %s: %s\n", data_dir, err);
        return 1;
    }
    /* Each account's clock, as its last advance left it, before any timer reads it. */
    if (account_clock_load(ap.st) != 0) {
        fprintf(stderr, "verifyd: cannot read the accounts' clocks from the database\n");
        store_close(ap.st);
        return 1;
    }

    /* The forward endpoint and its secret before the first request can be served, so that
     * whoever waits for the server to answer has the secret line by then. */
    char forward_secret[64];
    if (delivery_set_forward(ap.st, forward_to, forward_secret, sizeof forward_secret) != 0) {
        fprintf(stderr, "verifyd: cannot set up --forward-to in the database\n");
        store_close(ap.st);
        return 1;
    }
    if (forward_to) /* the one place a secret is printed: the operator asked for it */
        fprintf(stderr, "Ready! Your webhook signing secret is %s (forwarding to %s)\n",
                forward_secret, forward_to);

    /* --seed: loaded before the first request can be served (CONTRACT.md §11 "Test control
     * plane"); a file that cannot be loaded stops the start, with the reason. */
    const char *seed = env_or(f.seed, "VERIFYD_SEED", NULL);
    if (seed) {
        arena *sa = arena_new();
        const char *seed_err = NULL;
        int seed_rc = state_seed(ap.st, seed, sa, &seed_err);
        if (seed_rc != 0) fprintf(stderr, "verifyd: --seed: %s\n", seed_err);
        arena_free(sa);
        if (seed_rc != 0) {
            store_close(ap.st);
            return 1;
        }
    }

    /* Made once nothing can stop the start before the server runs (the exits above free
     * nothing else either). */
    ap.faults = fault_registry_new(); /* in memory: a restart forgets the rules */
    ap.timer = timer_start();
    http_config hc = {
        .listen_addr = host,
        .port = port,
        .threads = (int)threads,
        .max_body = (size_t)max_body,
        .max_header =
            16 * 1024, /* request line + headers; libmicrohttpd clears this much per request */
        .max_connections = (unsigned)max_conn,
        .idle_timeout_s = (unsigned)idle,
        .header_timeout_s = (unsigned)header_timeout,
    };
    http_server *srv;
    if (http_server_start(&hc, api_handle, &ap, &srv, &err) != 0) {
        fprintf(stderr, "verifyd: cannot listen on %s: %s\n", listen, err);
        timer_stop(ap.timer);
        fault_registry_free(ap.faults);
        store_close(ap.st);
        return 1;
    }
    int bound = http_server_port(srv);
    if (!pu) {
        snprintf(public_url, sizeof public_url,
                 strchr(host, ':') ? "http://[%s]:%d" : "http://%s:%d", host, bound);
    }
    ap.public_url = public_url;
    /* The delivery worker. */
    dc.st = ap.st;
    dc.public_url = ap.public_url;
    dc.faults = ap.faults;
    if (delivery_start(&dc, &ap.delivery, &err) != 0) {
        fprintf(stderr, "verifyd: %s\n", err);
        http_server_stop(srv);
        timer_stop(ap.timer);
        fault_registry_free(ap.faults);
        store_close(ap.st);
        return 1;
    }
    ap.redactor = redactor_start(&ap);
    ap.outcomes = outcomes_start(&ap); /* delayed outcomes */
    log_msg(LOG_WARN, "msg=\"verifyd %s listening on %s:%d\" data_dir=%s public_url=%s",
            VERIFYD_VERSION, host, bound, data_dir, public_url);

    int sig = 0;
    sigwait(&sigs, &sig);
    log_msg(LOG_WARN, "msg=\"shutting down\" signal=%d", sig);
    http_server_stop(srv); /* requests parked by a latency rule finish first */
    timer_stop(ap.timer);
    delivery_stop(ap.delivery); /* unsent deliveries stay pending for the next start */
    worker_stop(ap.redactor);
    worker_stop(ap.outcomes);
    store_close(ap.st);
    account_clock_free();
    api_keyring_free(ap.keys);
    fault_registry_free(ap.faults);
    log_msg(LOG_WARN, "msg=\"stopped\"");
    return 0;
}
