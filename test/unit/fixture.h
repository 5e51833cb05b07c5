/*
 * fixture: the scaffolding the unit tests on a real store share, so each test file keeps only
 * what is its own. Five pieces, each usable alone:
 *
 * - a temp directory: fx_tmpdir makes /tmp/verifyd-<name>-XXXXXX, fx_rmtree removes it with
 *   everything below (test_wal_buffer.c uses only these);
 * - a store: fx_store_open opens one on a data directory, synchronous = FULL, and fails the test
 *   when it cannot; on a database server (VERIFYD_TEST_STORE) fx_store_wipe empties the database
 *   first, as a fresh directory does for SQLite;
 * - the store fixture: fx_store (a temp directory, a store on dir/data, a scratch arena and an
 *   app on the store), made by fx_store_init / fx_store_new and released by fx_store_fini /
 *   fx_store_free; a file whose fixture needs more (test_delivery.c) embeds an fx_store in its
 *   own struct; fake_http.h builds its api_fixture on it;
 * - sessions in store jobs: fx_session (the plain session the tests start from),
 *   fx_session_insert / fx_session_update (one job each) and fx_session_get;
 * - the database read directly: fx_sql_int.
 *
 * Ownership: the fixture owns its store, its arena and its directory; fx_store_fini closes the
 * store (whatever f->st is then: a test may close and reopen it, or leave it NULL), frees the
 * arena and removes the directory, and nothing else (ap.keys and ap's workers belong to the
 * test that set them). Everything the helpers return that needs memory lives in f->a.
 * Failures are cmocka failures: include <cmocka.h> (and what it needs) before this header.
 *
 * Not for: HTTP requests (fake_http.h) or any test's own data (endpoints, events, reports).
 */
#ifndef VERIFYD_TEST_FIXTURE_H
#define VERIFYD_TEST_FIXTURE_H

#include <ftw.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "endpoints/endpoints.h"
#include "base/arena.h"
#include "identity/session.h"
#include "identity/session_store.h"
#include "store/store.h"
#include "base/util.h"

/* The public_url an fx_store's app starts with (no trailing slash). */
#define FX_PUBLIC_URL "http://verifyd.test"

/* ---- a temp directory ---- */

/* Make a fresh directory /tmp/verifyd-<name>-XXXXXX and write its path to dir (size bytes).
 * Fails the test when it cannot. */
static inline void fx_tmpdir(char *dir, size_t size, const char *name)
{
    snprintf(dir, size, "/tmp/verifyd-%s-XXXXXX", name);
    assert_non_null(mkdtemp(dir));
}

static inline int fx__rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* Remove dir and everything below it (not following links). */
static inline void fx_rmtree(const char *dir)
{
    nftw(dir, fx__rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- a store ---- */

static inline void fx__quiet_notice(void *arg, const char *message)
{
    (void)arg, (void)message;
}

/* The backend the tests run on: the store URL in VERIFYD_TEST_STORE, or the embedded SQLite
 * default when it is unset (store_config.url). */
static inline const char *fx_store_url(void)
{
    const char *url = getenv("VERIFYD_TEST_STORE");
    return url != NULL && url[0] != '\0' ? url : NULL;
}

/* A database server's store (VERIFYD_TEST_STORE=postgres://...) outlives the test's directory,
 * so each fx_store_init empties it: the schema and every row go, and store_open migrates a fresh
 * one, as a new data directory gives SQLite. Fails the test when the server cannot be reached. */
static inline void fx_store_wipe(void)
{
    const char *url = fx_store_url();
    if (url == NULL ||
        (strncmp(url, "postgres://", 11) != 0 && strncmp(url, "postgresql://", 13) != 0))
        return;
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) fprintf(stderr, "fx_store_wipe: %s", PQerrorMessage(c));
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQsetNoticeProcessor(c, fx__quiet_notice, NULL);
    PGresult *r = PQexec(c, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fprintf(stderr, "fx_store_wipe: %s", PQerrorMessage(c));
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(c);
}

/* Open a store on data_dir with cfg's settings (NULL: the defaults), data_dir and the backend of
 * fx_store_url set over them. store_open creates data_dir itself. Returns the store (store_close
 * it); fails the test, with store_open's message, when it cannot be opened. */
static inline store *fx_store_open(const char *data_dir, const store_config *cfg)
{
    store_config c = cfg ? *cfg : (store_config){0};
    c.data_dir = data_dir;
    if (c.url == NULL) c.url = fx_store_url();
    store *st = NULL;
    const char *errmsg = NULL;
    int rc = store_open(&c, &st, &errmsg);
    if (rc != 0) fprintf(stderr, "store_open: %s\n", errmsg);
    assert_int_equal(rc, 0);
    assert_non_null(st);
    return st;
}

/* ---- the store fixture ---- */

typedef struct fx_store {
    char dir[64];  /* the mkdtemp directory; a test may put its own files here */
    char data[96]; /* dir/data: the store's data_dir */
    store *st;
    arena *a; /* scratch for the test and the helpers below */
    app ap;   /* st, public_url FX_PUBLIC_URL; the rest zero (no keys, no workers) */
} fx_store;

/* Fill f (zeroed by the caller) with a fresh directory /tmp/verifyd-<name>-XXXXXX, a store on
 * dir/data with the default settings, an arena and an app on the store. A test that needs other
 * app settings sets them on f->ap afterwards; one that needs another store configuration
 * reopens with fx_store_reopen. Fails the test when the directory or the store cannot be made.
 * Release with fx_store_fini. */
static inline void fx_store_init(fx_store *f, const char *name)
{
    fx_tmpdir(f->dir, sizeof f->dir, name);
    snprintf(f->data, sizeof f->data, "%s/data", f->dir);
    fx_store_wipe();
    f->st = fx_store_open(f->data, NULL);
    f->a = arena_new();
    f->ap.st = f->st;
    f->ap.routes = endpoints_routes;
    f->ap.n_routes = endpoints_n_routes;
    f->ap.public_url = FX_PUBLIC_URL;
}

/* Close f's store (if any), free its arena and remove its directory. f itself is the caller's. */
static inline void fx_store_fini(fx_store *f)
{
    store_close(f->st);
    arena_free(f->a);
    fx_rmtree(f->dir);
}

/* Close f's store and open it again on the same data with cfg's settings (NULL: the defaults);
 * f->ap.st follows. */
static inline void fx_store_reopen(fx_store *f, const store_config *cfg)
{
    store_close(f->st);
    f->st = fx_store_open(f->data, cfg);
    f->ap.st = f->st;
    f->ap.routes = endpoints_routes;
    f->ap.n_routes = endpoints_n_routes;
}

/* fx_store_init on a new heap fixture. Release with fx_store_free. */
static inline fx_store *fx_store_new(const char *name)
{
    fx_store *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fx_store_init(f, name);
    return f;
}

static inline void fx_store_free(fx_store *f)
{
    fx_store_fini(f);
    free(f);
}

/* ---- sessions in store jobs ---- */

/* The session the store tests start from: id (copied) and account (borrowed), created now,
 * requires_input, type document, the document options unset, everything else zero. */
static inline session fx_session(const char *account, const char *id)
{
    session s;
    memset(&s, 0, sizeof s);
    snprintf(s.id, sizeof s.id, "%s", id);
    s.account = account;
    s.created = util_now();
    s.status = SESSION_REQUIRES_INPUT;
    s.type = SESSION_TYPE_DOCUMENT;
    s.doc.require_id_number = s.doc.require_live_capture = s.doc.require_matching_selfie =
        SESSION_UNSET;
    return s;
}

/* A session job's context: the session and the arena its record is encoded into. */
typedef struct fx__job {
    session *s;
    arena *a;
} fx__job;

static inline int fx__insert_fn(store_txn *t, void *arg)
{
    fx__job *j = arg;
    return session_store_insert(t, j->a, j->s, NULL);
}

static inline int fx__update_fn(store_txn *t, void *arg)
{
    fx__job *j = arg;
    return session_store_update(t, j->a, j->s, SESSION_STATUS_ANY, NULL);
}

static inline int fx__run(store *st, store_job_fn fn, session *s)
{
    fx__job j = {s, arena_new()};
    int rc = store_run(st, fn, &j);
    arena_free(j.a);
    return rc;
}

/* Insert s in a job of its own; returns store_run's code (0, STORE_EXISTS, ...). */
static inline int fx_session_insert(store *st, session *s)
{
    return fx__run(st, fx__insert_fn, s);
}

/* Update s in a job of its own, whatever its stored status; returns store_run's code (0,
 * STORE_NOT_FOUND, ...). */
static inline int fx_session_update(store *st, session *s)
{
    return fx__run(st, fx__update_fn, s);
}

/* The stored session account/id, read into f->a; fails the test when it cannot be read. */
static inline session fx_session_get(fx_store *f, const char *account, const char *id)
{
    session s;
    assert_int_equal(session_store_get(f->st, account, id, f->a, &s), 0);
    return s;
}

/* ---- the database, read directly ---- */

/* The first column of sql's first row, as an integer; fails the test when sql does not prepare
 * or yields no row. For what the store API does not show (PRAGMAs, counts, raw rows). */
static inline int64_t fx_sql_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

#endif
