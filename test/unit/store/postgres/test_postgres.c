/*
 * test_postgres: what the PostgreSQL backend does beyond the store.h contract (the contract
 * itself is test_store_contract.c, run on PostgreSQL by `make test-postgres`): clear start-up
 * errors instead of a crash or a hang (server down, a server that never answers, a role that does
 * not exist, a schema newer than the build), instances that start together migrating once, and
 * connections that the server dropped being reset on their next use.
 *
 * The tests that need a server run on the one VERIFYD_TEST_STORE names (postgres://...) and are
 * skipped without it; the server-down cases need none and always run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "store/store.h"

#include "fixture.h"

static int pg_url_set(void)
{
    const char *u = fx_store_url();
    return u != NULL &&
           (strncmp(u, "postgres://", 11) == 0 || strncmp(u, "postgresql://", 13) == 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* store_open on url: its code, with *errmsg; the store (if any) is closed. */
static int open_rc(const char *url, const char **errmsg)
{
    store_config cfg = {.url = url, .data_dir = "/nonexistent-verifyd-test"};
    store *st = (store *)1;
    *errmsg = NULL;
    int rc = store_open(&cfg, &st, errmsg);
    if (rc == 0) store_close(st);
    if (rc != 0) assert_null(st);
    return rc;
}

/* Run sql on the test server with a connection of the test's own. */
static void admin_exec(const char *sql)
{
    PGconn *c = PQconnectdb(fx_store_url());
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQsetNoticeProcessor(c, fx__quiet_notice, NULL);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "admin_exec: %s", PQerrorMessage(c));
    assert_true(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
    PQclear(r);
    PQfinish(c);
}

/* A TCP port on 127.0.0.1 with nothing listening (bound, then closed). */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static void test_server_down_refused(void **state)
{
    (void)state;
    char url[128];
    const char *errmsg;
    snprintf(url, sizeof url, "postgres://verifyd@127.0.0.1:%d/verifyd", closed_port());
    double t0 = now_s();
    assert_int_equal(open_rc(url, &errmsg), STORE_EIO);
    assert_non_null(errmsg);
    assert_non_null(strstr(errmsg, "PostgreSQL"));
    assert_true(now_s() - t0 < 3.0);
}

/* A server that accepts the TCP connection and then never says a word: store_open gives up
 * after the default connect timeout (5 s) rather than hanging. */
static void test_silent_server_times_out(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 8), 0); /* the kernel completes the handshake; nobody answers */
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    char url[128];
    snprintf(url, sizeof url, "postgresql://verifyd@127.0.0.1:%d/verifyd?sslmode=disable",
             ntohs(sa.sin_port));
    unsetenv("PGCONNECT_TIMEOUT");
    const char *errmsg;
    double t0 = now_s();
    assert_int_equal(open_rc(url, &errmsg), STORE_EIO);
    double took = now_s() - t0;
    assert_non_null(errmsg);
    assert_true(took >= 4.0 && took < 12.0);
    close(fd);
}

static void test_unknown_role_refused(void **state)
{
    (void)state;
    if (!pg_url_set()) skip();
    char url[512];
    const char *base = fx_store_url();
    snprintf(url, sizeof url, "%s%suser=verifyd_no_such_role", base, strchr(base, '?') ? "&" : "?");
    const char *errmsg;
    assert_int_equal(open_rc(url, &errmsg), STORE_EIO);
    assert_non_null(errmsg);
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    if (!pg_url_set()) skip();
    fx_store_wipe();
    const char *errmsg;
    assert_int_equal(open_rc(fx_store_url(), &errmsg), 0);
    admin_exec("UPDATE verifyd_schema SET version = version + 1");
    assert_int_equal(open_rc(fx_store_url(), &errmsg), STORE_EIO);
    assert_non_null(errmsg);
    assert_string_equal(errmsg, "the database schema is newer than this build");
    admin_exec("UPDATE verifyd_schema SET version = version - 1");
    assert_int_equal(open_rc(fx_store_url(), &errmsg), 0);
}

typedef struct opener {
    pthread_t th;
    int rc;
} opener;

static void *open_one(void *arg)
{
    opener *o = arg;
    const char *errmsg;
    o->rc = open_rc(fx_store_url(), &errmsg);
    return NULL;
}

/* Instances starting together on an empty database: the advisory lock lets one migrate while
 * the others wait, then find the schema current. */
static void test_concurrent_first_opens(void **state)
{
    (void)state;
    if (!pg_url_set()) skip();
    fx_store_wipe();
    opener o[6];
    for (int i = 0; i < 6; i++)
        assert_int_equal(pthread_create(&o[i].th, NULL, open_one, &o[i]), 0);
    for (int i = 0; i < 6; i++) {
        pthread_join(o[i].th, NULL);
        assert_int_equal(o[i].rc, 0);
    }
}

static int insert_fn(store_txn *t, void *ctx)
{
    return store_txn_session_insert(t, ctx);
}

/* The server drops every connection of the store (as a restart or an idle timeout would): the
 * next write and the next read reconnect instead of failing from then on. */
static void test_dropped_connections_reconnect(void **state)
{
    (void)state;
    if (!pg_url_set()) skip();
    fx_store_wipe();
    store *st = fx_store_open("/nonexistent-verifyd-test", NULL);
    arena *a = arena_new();
    store_session s1 = {
        .id = "vs_re_1", .account = "acct_A", .created = 1, .status = 1, .record = {"vs_re_1", 7}};
    store_session s2 = {
        .id = "vs_re_2", .account = "acct_A", .created = 2, .status = 1, .record = {"vs_re_2", 7}};
    assert_int_equal(store_run(st, insert_fn, &s1), 0);
    store_record r;
    assert_int_equal(store_session_get(st, "acct_A", "vs_re_1", a, &r), 0);
    admin_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
               " WHERE application_name = 'verifyd' AND pid <> pg_backend_pid()");
    assert_int_equal(store_run(st, insert_fn, &s2), 0);
    assert_int_equal(store_session_get(st, "acct_A", "vs_re_1", a, &r), 0);
    assert_int_equal(store_session_get(st, "acct_A", "vs_re_2", a, &r), 0);
    assert_int_equal(r.len, 7);
    assert_memory_equal(r.data, "vs_re_2", 7);
    arena_free(a);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_down_refused),
        cmocka_unit_test(test_silent_server_times_out),
        cmocka_unit_test(test_unknown_role_refused),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_concurrent_first_opens),
        cmocka_unit_test(test_dropped_connections_reconnect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
