/*
 * test_sqlite: what the SQLite backend does inside, below the store.h contract (the contract
 * itself is test_store_contract.c): every session list filter combination is an index search,
 * the schema and its migrations (from the first schema on), WAL mode and file modes, group
 * commit (batches, max_batch, store_busy), the batched session-id index (id_merge_min), a
 * transaction far larger than the page cache (cache_bytes), and the rows as stored, read with a
 * connection of the test's own. Each test on a fresh database in its own mkdtemp directory
 * (removed afterwards), always the SQLite backend whatever VERIFYD_TEST_STORE says.
 *
 * Also prints (never asserts) group-commit batch sizes under 64 concurrent submitters and
 * single-threaded store_run latency: those depend on the machine's fsync.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "base/ids.h"
#include "base/util.h"
#include "store/sqlite/internal.h"
#include "store/store.h"

#include "fixture.h"

/* ---- fixture: a fresh data directory and an open SQLite store (fixture.h) ---- */

typedef fx_store fixture;

/* The SQLite backend with sc's settings, whatever fx_store_url says. */
static store_config sqlite_cfg(store_sqlite_config sc)
{
    return (store_config){.url = "sqlite:", .sqlite = sc};
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    fx_tmpdir(f->dir, sizeof f->dir, "sqlite");
    snprintf(f->data, sizeof f->data, "%s/data", f->dir);
    store_config cfg = sqlite_cfg((store_sqlite_config){0});
    f->st = fx_store_open(f->data, &cfg);
    f->a = arena_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_store_free(*state);
    return 0;
}

/* Close and open again on the same data with sc's settings. */
static void reopen_with(fixture *f, store_sqlite_config sc)
{
    store_config cfg = sqlite_cfg(sc);
    fx_store_reopen(f, &cfg);
}

static void reopen(fixture *f)
{
    reopen_with(f, (store_sqlite_config){0});
}

static void db_path(const fixture *f, char *path, size_t size)
{
    snprintf(path, size, "%s/verifyd.db", f->data);
}

/* A direct connection to the database, for what the store API does not show. */
static sqlite3 *raw_db(const fixture *f)
{
    char path[128];
    sqlite3 *db = NULL;
    db_path(f, path, sizeof path);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    return db;
}

/* The first column of sql's first row, as text (in f->a). */
static const char *sql_text(fixture *f, sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    const char *v = arena_strdup(f->a, (const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    return v;
}

/* ---- sessions and jobs ---- */

static store_record rec(const char *s)
{
    return (store_record){s, strlen(s)};
}

/* A session row whose record is its id (borrowed). */
static store_session mk(const char *account, const char *id, int64_t created)
{
    return (store_session){
        .id = id, .account = account, .created = created, .status = 1, .record = rec(id)};
}

typedef struct sjob {
    const store_session *s;
    int ret; /* returned after a successful insert: non-zero asks for a rollback */
} sjob;

static int insert_fn(store_txn *t, void *ctx)
{
    sjob *j = ctx;
    int rc = store_txn_session_insert(t, j->s);
    return rc != 0 ? rc : j->ret;
}

static int update_fn(store_txn *t, void *ctx)
{
    sjob *j = ctx;
    return store_txn_session_update(t, j->s, -1);
}

static int insert(fixture *f, const store_session *s)
{
    sjob j = {s, 0};
    return store_run(f->st, insert_fn, &j);
}

static int update(fixture *f, const store_session *s)
{
    sjob j = {s, 0};
    return store_run(f->st, update_fn, &j);
}

/* The stored record of (account, id) is want (NULL: there is none). */
static void expect_session(fixture *f, const char *account, const char *id, const char *want)
{
    store_record got;
    int rc = store_session_get(f->st, account, id, f->a, &got);
    if (want == NULL) {
        assert_int_equal(rc, STORE_NOT_FOUND);
        return;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(got.len, strlen(want));
    assert_memory_equal(got.data, want, got.len);
}

/* Inside a job, through the writer's connection. */
typedef struct read_ctx {
    arena *a;
    const char *id;
    store_record got;
} read_ctx;

static int txn_get_fn(store_txn *t, void *ctx)
{
    read_ctx *r = ctx;
    return store_txn_session_get(t, "acct_A", r->id, r->a, &r->got);
}

static void expect_txn_session(fixture *f, const char *id, const char *want)
{
    read_ctx r = {.a = f->a, .id = id};
    assert_int_equal(store_run(f->st, txn_get_fn, &r), 0);
    assert_int_equal(r.got.len, strlen(want));
    assert_memory_equal(r.got.data, want, r.got.len);
}

static void expect_list(fixture *f, const store_session_query *q, const char *ids, int has_more)
{
    store_record *items;
    size_t n;
    int more;
    assert_int_equal(store_session_list(f->st, q, f->a, &items, &n, &more), 0);
    buf b;
    buf_init(&b, f->a);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%.*s", i ? " " : "", (int)items[i].len, (const char *)items[i].data);
    assert_string_equal(b.data, ids);
    assert_int_equal(more, has_more);
}

/* ---- query plans ---- */

/* Every combination of session list filters must be an index search in the asked order: no
 * full scan, no temporary b-tree for ORDER BY. */
static void test_list_query_plans(void **state)
{
    fixture *f = *state;
    sqlite3 *db = raw_db(f);
    int checked = 0;
    for (unsigned m = 0; m < SQLITE__LQ_COMBINATIONS; m++) {
        if ((m & SQLITE__LQ_AFTER) && (m & SQLITE__LQ_BEFORE)) continue;
        buf sql;
        buf_init(&sql, f->a);
        buf_puts(&sql, "EXPLAIN QUERY PLAN ");
        sqlite__session_list_sql(m, &sql);
        sqlite3_stmt *stmt = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, sql.data, -1, &stmt, NULL), SQLITE_OK);
        int rows = 0;
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            const char *detail = (const char *)sqlite3_column_text(stmt, 3);
            int ok = strncmp(detail, "SEARCH sessions USING INDEX", 27) == 0 &&
                     strstr(detail, "(account=?") != NULL;
            if (!ok) fprintf(stderr, "mask %#x: %s\n  %s\n", m, sql.data, detail);
            assert_true(ok);
            rows++;
        }
        assert_int_equal(rows, 1);
        sqlite3_finalize(stmt);
        checked++;
    }
    /* 4 filters, 2 created ends, and no cursor, one or the other. */
    assert_int_equal(checked, 16 * 4 * 3);
    /* The redaction sweep uses its partial index, in due order. */
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "EXPLAIN QUERY PLAN SELECT account, id FROM sessions"
                                        " WHERE redaction_due IS NOT NULL AND redaction_due <= ?1"
                                        " ORDER BY redaction_due, seq LIMIT ?2",
                                        -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_non_null(strstr((const char *)sqlite3_column_text(stmt, 3), "sessions_redaction_due"));
    assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    printf("  query plans: %d list filter combinations, all index searches\n", checked);
}

/* ---- group commit ---- */

/* Batch tracking, touched only on the writer thread (through tjob_fn / tjob_done) and read by
 * the test thread after every job it waits for has finished. A batch starts at the first job
 * run after a done callback, since done callbacks run only after the batch's COMMIT. */
static int g_in_done = 1, g_batches, g_cur_size, g_max_size;
static int64_t g_jobs;

static void batch_reset(void)
{
    g_in_done = 1;
    g_batches = g_cur_size = g_max_size = 0;
    g_jobs = 0;
}

typedef struct tjob {
    store_job_fn work;
    void *work_ctx;
    int batch;
    int rc;
    int finished;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} tjob;

static int tjob_fn(store_txn *t, void *ctx)
{
    tjob *j = ctx;
    if (g_in_done) {
        g_batches++;
        g_cur_size = 0;
        g_in_done = 0;
    }
    g_cur_size++;
    g_jobs++;
    j->batch = g_batches;
    return j->work(t, j->work_ctx);
}

static void tjob_done(void *ctx, int rc)
{
    tjob *j = ctx;
    if (!g_in_done) {
        if (g_cur_size > g_max_size) g_max_size = g_cur_size;
        g_in_done = 1;
    }
    pthread_mutex_lock(&j->mu);
    j->rc = rc;
    j->finished = 1;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static void tjob_submit(store *st, tjob *j, store_job_fn work, void *work_ctx)
{
    j->work = work;
    j->work_ctx = work_ctx;
    j->finished = 0;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    store_submit(st, tjob_fn, tjob_done, j);
}

static int tjob_wait(tjob *j)
{
    pthread_mutex_lock(&j->mu);
    while (!j->finished)
        pthread_cond_wait(&j->cv, &j->mu);
    pthread_mutex_unlock(&j->mu);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    return j->rc;
}

/* A job that holds the writer until released, so the test can queue a batch behind it. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered, open;
} gate;

static int gate_fn(store_txn *t, void *ctx)
{
    (void)t;
    gate *g = ctx;
    pthread_mutex_lock(&g->mu);
    g->entered = 1;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return 0;
}

static void gate_init(gate *g)
{
    g->entered = g->open = 0;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
}

static void gate_wait_entered(gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->entered)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_open(gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void gate_destroy(gate *g)
{
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
}

static int fail_plain_fn(store_txn *t, void *ctx)
{
    (void)t, (void)ctx;
    return STORE_ABORTED;
}

/* Jobs queued behind a running one share the next transaction, each in its own savepoint; the
 * writer is busy while batches are large. */
static void test_failing_job_keeps_batch_mates(void **state)
{
    fixture *f = *state;
    gate g;
    gate_init(&g);
    batch_reset();

    tjob jg, ja, jb, jc, jd, je;
    tjob_submit(f->st, &jg, gate_fn, &g);
    gate_wait_entered(&g);

    /* The writer runs a job and none waits: not busy. */
    assert_int_equal(store_busy(f->st), 0);

    /* Queued while the writer is held: they form the next batch together. */
    store_session a = mk("acct_A", "vs_a", 1), b = mk("acct_A", "vs_b", 2),
                  c = mk("acct_A", "vs_c", 3);
    sjob ca = {&a, 0}, cb = {&b, STORE_ABORTED}, cc = {&c, 0}, cd = {&a, 0};
    tjob_submit(f->st, &ja, insert_fn, &ca);
    tjob_submit(f->st, &jb, insert_fn, &cb); /* inserts, then asks for its rollback */
    tjob_submit(f->st, &jc, insert_fn, &cc);
    tjob_submit(f->st, &jd, insert_fn, &cd); /* vs_a again: STORE_EXISTS */
    tjob_submit(f->st, &je, fail_plain_fn, NULL);
    assert_int_equal(store_busy(f->st), 1); /* five jobs wait behind the held one */

    gate_open(&g);
    assert_int_equal(tjob_wait(&jg), 0);
    assert_int_equal(tjob_wait(&ja), 0);
    assert_int_equal(tjob_wait(&jb), STORE_ABORTED);
    assert_int_equal(tjob_wait(&jc), 0);
    assert_int_equal(tjob_wait(&jd), STORE_EXISTS);
    assert_int_equal(tjob_wait(&je), STORE_ABORTED);
    /* Busy while batches stay large; a lone job after them is not. */
    assert_int_equal(store_busy(f->st), 1);
    store_session lone = mk("acct_A", "vs_lone", 4);
    assert_int_equal(insert(f, &lone), 0);
    assert_int_equal(store_busy(f->st), 0);
    assert_int_equal(ja.batch, jg.batch + 1);
    assert_int_equal(jb.batch, ja.batch);
    assert_int_equal(jc.batch, ja.batch);
    assert_int_equal(jd.batch, ja.batch);
    assert_int_equal(je.batch, ja.batch);

    for (int pass = 0; pass < 2; pass++) {
        expect_session(f, "acct_A", "vs_a", "vs_a");
        expect_session(f, "acct_A", "vs_b", NULL);
        expect_session(f, "acct_A", "vs_c", "vs_c");
        reopen(f);
    }
    gate_destroy(&g);
}

static void test_max_batch(void **state)
{
    fixture *f = *state;
    reopen_with(f, (store_sqlite_config){.max_batch = 2});

    gate g;
    gate_init(&g);
    batch_reset();
    tjob jg, j[5];
    tjob_submit(f->st, &jg, gate_fn, &g);
    gate_wait_entered(&g);
    for (int i = 0; i < 5; i++)
        tjob_submit(f->st, &j[i], fail_plain_fn, NULL);
    gate_open(&g);
    assert_int_equal(tjob_wait(&jg), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(tjob_wait(&j[i]), STORE_ABORTED);
    /* FIFO, at most two per batch. */
    assert_int_equal(j[0].batch, jg.batch + 1);
    assert_int_equal(j[1].batch, j[0].batch);
    assert_int_equal(j[2].batch, j[0].batch + 1);
    assert_int_equal(j[3].batch, j[2].batch);
    assert_int_equal(j[4].batch, j[2].batch + 1);
    gate_destroy(&g);
}

/* A database error (here a NOT NULL column) fails the job alone, logged, not a crash. */
static void test_database_error_fails_job(void **state)
{
    fixture *f = *state;
    gate g;
    gate_init(&g);
    tjob jg, jbad, jok;
    tjob_submit(f->st, &jg, gate_fn, &g);
    gate_wait_entered(&g);
    store_session bad = mk(NULL, "vs_bad", 1), ok = mk("acct_A", "vs_ok", 2);
    sjob cbad = {&bad, 0}, cok = {&ok, 0};
    tjob_submit(f->st, &jbad, insert_fn, &cbad);
    tjob_submit(f->st, &jok, insert_fn, &cok); /* in the same batch */
    gate_open(&g);
    assert_int_equal(tjob_wait(&jg), 0);
    assert_int_equal(tjob_wait(&jbad), STORE_EIO);
    assert_int_equal(tjob_wait(&jok), 0);
    expect_session(f, "acct_A", "vs_ok", "vs_ok");
    /* The failed insert's id is free. */
    bad.account = "acct_A";
    assert_int_equal(insert(f, &bad), 0);
    reopen(f);
    expect_session(f, "acct_A", "vs_bad", "vs_bad");
    gate_destroy(&g);
}

typedef struct writer_arg {
    store *st;
    int thread;
    int count;
    int failures;
} writer_arg;

/* Inserts count sessions, each in a job of its own, waiting for each (tracked: counts batches). */
static void *writer_thread(void *p)
{
    writer_arg *w = p;
    for (int i = 0; i < w->count; i++) {
        char id[32];
        snprintf(id, sizeof id, "vs_t%02d_%04d", w->thread, i);
        store_session s = mk("acct_A", id, 1000 + i);
        sjob c = {&s, 0};
        tjob j;
        tjob_submit(w->st, &j, insert_fn, &c);
        if (tjob_wait(&j) != 0) w->failures++;
    }
    return NULL;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static void test_measure_group_commit(void **state)
{
    fixture *f = *state;

    /* Single-threaded store_run latency: one fsynced commit each. */
    enum { SINGLE = 200 };
    static char ids[SINGLE][32];
    int64_t lat[SINGLE];
    for (int i = 0; i < SINGLE; i++) {
        snprintf(ids[i], sizeof ids[i], "vs_s%04d", i);
        store_session s = mk("acct_A", ids[i], 10 + i);
        int64_t t0 = util_mono_us();
        assert_int_equal(insert(f, &s), 0);
        lat[i] = util_mono_us() - t0;
    }
    qsort(lat, SINGLE, sizeof lat[0], cmp_i64);
    printf("  single-threaded store_run insert: p50 %lld us, p90 %lld us, p99 %lld us\n",
           (long long)lat[SINGLE / 2], (long long)lat[SINGLE * 9 / 10],
           (long long)lat[SINGLE * 99 / 100]);

    /* 64 concurrent submitters, each waiting for its own job before queueing the next. */
    enum { THREADS = 64, PER = 50 };
    pthread_t th[THREADS];
    writer_arg args[THREADS];
    batch_reset();
    int64_t t0 = util_mono_us();
    for (int i = 0; i < THREADS; i++) {
        args[i] = (writer_arg){.st = f->st, .thread = i, .count = PER};
        assert_int_equal(pthread_create(&th[i], NULL, writer_thread, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    int64_t us = util_mono_us() - t0;
    assert_int_equal(g_jobs, THREADS * PER);
    printf("  64 submitters x %d inserts: %lld jobs in %d batches, %.1f jobs/batch on average, "
           "max %d; %.0f durable inserts/s\n",
           PER, (long long)g_jobs, g_batches, (double)g_jobs / g_batches, g_max_size,
           (double)g_jobs * 1e6 / (double)us);
}

/* With synchronous_normal (no fsync per commit, no WAL write buffer) the store works the same. */
static void test_synchronous_normal(void **state)
{
    fixture *f = *state;
    reopen_with(f, (store_sqlite_config){.synchronous_normal = 1});
    store_session s = mk("acct_A", "vs_n", 1);
    assert_int_equal(insert(f, &s), 0);
    expect_session(f, "acct_A", "vs_n", "vs_n");
    reopen(f);
    expect_session(f, "acct_A", "vs_n", "vs_n");
}

/* ---- schema, settings, files ---- */

/* The schema version a fully migrated database has: how many migrations there are. */
static int newest_version(void)
{
    int n = 0;
    while (sqlite__migration_sql(n) != NULL)
        n++;
    return n;
}

static void test_migrations_and_settings(void **state)
{
    fixture *f = *state;
    store_session s = mk("acct_A", "vs_m", 1);
    assert_int_equal(insert(f, &s), 0);
    reopen(f);
    reopen(f);
    expect_session(f, "acct_A", "vs_m", "vs_m");

    sqlite3 *db = raw_db(f);
    /* The newest schema is the number of migrations: every one was applied. */
    assert_int_equal(fx_sql_int(db, "PRAGMA user_version"), newest_version());
    assert_true(newest_version() >= 5);
    assert_null(sqlite__migration_sql(-1));
    assert_int_equal(fx_sql_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
                                    " AND name LIKE 'sessions_%'"),
                     6);
    assert_string_equal(sql_text(f, db, "PRAGMA journal_mode"), "wal");

    struct stat sb;
    assert_int_equal(stat(f->data, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    char path[128], wal[160];
    db_path(f, path, sizeof path);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    snprintf(wal, sizeof wal, "%s-wal", path);
    assert_int_equal(stat(wal, &sb), 0); /* the store is open: its WAL exists */
    assert_int_equal(sb.st_mode & 0777, 0600);

    /* A database from a newer build is refused, not silently used. */
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    store_config cfg = {.url = "sqlite:", .data_dir = f->data};
    const char *errmsg = NULL;
    store *st = NULL;
    assert_int_equal(store_open(&cfg, &st, &errmsg), STORE_EIO);
    assert_null(st);
    assert_non_null(errmsg);
    char back[48];
    snprintf(back, sizeof back, "PRAGMA user_version = %d", newest_version());
    assert_int_equal(sqlite3_exec(db, back, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    /* Only sqlite: is built in: another backend's url is refused. The default url (NULL or
     * "") is SQLite too. */
    cfg.url = "postgres://localhost/verifyd";
    errmsg = NULL;
    assert_int_equal(store_open(&cfg, &st, &errmsg), STORE_EIO);
    assert_null(st);
    assert_non_null(errmsg);
    cfg.url = NULL;
    assert_int_equal(store_open(&cfg, &st, &errmsg), 0);
    store_close(st);
    cfg.url = "";
    assert_int_equal(store_open(&cfg, &st, &errmsg), 0);
    store_close(st);
    /* ...and no data directory is refused. */
    cfg.url = "sqlite:";
    cfg.data_dir = NULL;
    errmsg = NULL;
    assert_int_equal(store_open(&cfg, &st, &errmsg), STORE_EIO);
    assert_non_null(errmsg);

    reopen(f);
    expect_session(f, "acct_A", "vs_m", "vs_m");
}

/* ---- session ids: merged into session_ids in rounds, the newest held in memory ---- */

#define N_MERGE 200

/* Every lookup by id (reader, writer, update, list cursor, duplicate check) finds a session
 * whether or not its id has been merged yet, before and after a reopen. */
static void test_session_ids_merge(void **state)
{
    fixture *f = *state;
    static char ids[N_MERGE][32];
    reopen_with(f, (store_sqlite_config){.id_merge_min = 16});
    /* An insert that rolls back first: its seq goes to ids[0] next, and its id must not reach
     * session_ids with it (checked at the end, once the id is used for real). */
    store_session rb = mk("acct_A", "vs_rolled_back_early", 1);
    sjob rbc = {&rb, STORE_ABORTED};
    assert_int_equal(store_run(f->st, insert_fn, &rbc), STORE_ABORTED);
    for (int i = 0; i < N_MERGE; i++) {
        ids_random(ids[i], sizeof ids[i], "vs_", 24);
        store_session s = mk("acct_A", ids[i], 1000 + i);
        assert_int_equal(insert(f, &s), 0); /* one batch each */
    }
    /* Rounds ran (16 ids, one per batch here), and one is under way: the newest ids are in
     * memory only, some of the round's already in session_ids too. */
    sqlite3 *db = raw_db(f);
    int64_t upto = fx_sql_int(db, "SELECT seq FROM session_ids_merged");
    assert_true(upto >= N_MERGE / 2 && upto < N_MERGE);
    assert_int_equal(fx_sql_int(db, "SELECT count(*) FROM session_ids WHERE seq <= "
                                    "(SELECT seq FROM session_ids_merged)"),
                     upto);
    assert_true(fx_sql_int(db, "SELECT count(*) FROM session_ids") > upto);
    sqlite3_close(db);

    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < N_MERGE; i++) {
            /* The record of ids[0] and ids[N_MERGE - 1] is rewritten below. */
            const char *w = ids[i];
            if (pass == 1 && i == 0) w = "merged";
            if (pass == 1 && i == N_MERGE - 1) w = "unmerged";
            expect_txn_session(f, ids[i], w);
            expect_session(f, "acct_A", ids[i], w);
            expect_session(f, "acct_B", ids[i], NULL);
            store_session dup = mk("acct_B", ids[i], 1);
            assert_int_equal(insert(f, &dup), STORE_EXISTS);
        }
        /* A list cursor at a merged id and at one still in memory. */
        store_session_query q = {.account = "acct_A", .limit = 1, .starting_after = ids[10]};
        expect_list(f, &q, ids[9], 1);
        q.starting_after = ids[N_MERGE - 1];
        expect_list(f, &q, ids[N_MERGE - 2], 1);
        q.starting_after = NULL;
        q.ending_before = ids[N_MERGE - 2];
        expect_list(f, &q, pass == 1 ? "unmerged" : ids[N_MERGE - 1], 0);
        /* Updates reach both kinds. */
        store_session u = mk("acct_A", ids[0], 1000);
        u.client_reference_id = pass ? "again" : "merged";
        u.record = rec(u.client_reference_id);
        assert_int_equal(update(f, &u), 0);
        u = mk("acct_A", ids[N_MERGE - 1], 1000 + N_MERGE - 1);
        u.record = rec("unmerged");
        assert_int_equal(update(f, &u), 0);
        /* Cold reads after a reopen: no session cache, the map refilled from the table. */
        reopen(f);
    }
    expect_session(f, "acct_A", ids[0], "again");
    store_session_query q = {.account = "acct_A", .limit = 10, .client_reference_id = "again"};
    expect_list(f, &q, "again", 0);

    /* The early rolled-back id, used for real now and merged by later rounds, is found. */
    assert_int_equal(insert(f, &rb), 0);
    static char more[40][32];
    for (int i = 0; i < 40; i++) {
        ids_random(more[i], sizeof more[i], "vs_", 24);
        store_session s = mk("acct_A", more[i], 5000 + i);
        assert_int_equal(insert(f, &s), 0);
    }
    reopen(f);
    expect_session(f, "acct_A", "vs_rolled_back_early", "vs_rolled_back_early");
    q = (store_session_query){.account = "acct_A", .limit = 1};
    q.created.has_eq = 1;
    q.created.eq = 1;
    expect_list(f, &q, "vs_rolled_back_early", 0);
    db = raw_db(f);
    assert_int_equal(fx_sql_int(db, "SELECT count(*) FROM session_ids s JOIN sessions t"
                                    " ON t.seq = s.seq WHERE t.id <> s.id"),
                     0);
    sqlite3_close(db);

    /* An insert that rolled back leaves no trace: its id is unknown, then free to use. */
    store_session z = mk("acct_A", "vs_rolledback", 5);
    sjob c = {&z, STORE_ABORTED};
    assert_int_equal(store_run(f->st, insert_fn, &c), STORE_ABORTED);
    expect_session(f, "acct_A", "vs_rolledback", NULL);
    assert_int_equal(insert(f, &z), 0);
    expect_session(f, "acct_A", "vs_rolledback", "vs_rolledback");
}

/* A database written by the first schema (session ids in a unique index of the table) is
 * migrated: its sessions are found by id, listed, and their ids stay taken. */
static void test_migration_from_v1(void **state)
{
    fixture *f = *state;
    store_close(f->st);
    f->st = NULL;
    char path[128];
    db_path(f, path, sizeof path);
    remove(path);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sqlite__migration_sql(0), NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
    const char *old_ids[] = {"vs_old1", "vs_old2", "vs_old3"};
    for (int i = 0; i < 3; i++) {
        sqlite3_stmt *stmt;
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "INSERT INTO sessions (id, account, created, status,"
                                            " body) VALUES (?1, 'acct_A', ?2, 1, ?1)",
                                            -1, &stmt, NULL),
                         SQLITE_OK);
        sqlite3_bind_text(stmt, 1, old_ids[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, 100 + i);
        assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
        sqlite3_finalize(stmt);
    }
    /* The other tables are the first schema's too, and stay as they are. */
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO events (id, account, created, type, object_id,"
                                  " snapshot) VALUES ('evt_old', 'acct_A', 100, 't', 'vs_old1',"
                                  " 'snap')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    reopen(f);
    for (int i = 0; i < 3; i++) {
        expect_session(f, "acct_A", old_ids[i], old_ids[i]);
        store_session dup = mk("acct_B", old_ids[i], 1);
        assert_int_equal(insert(f, &dup), STORE_EXISTS);
    }
    store_session_query q = {.account = "acct_A", .limit = 10, .ending_before = "vs_old1"};
    expect_list(f, &q, "vs_old3 vs_old2", 0);
    store_event e;
    assert_int_equal(store_event_get(f->st, "acct_A", "evt_old", f->a, &e), 0);
    assert_int_equal(e.snapshot.len, 4);
    assert_memory_equal(e.snapshot.data, "snap", 4);
    db = raw_db(f);
    assert_int_equal(fx_sql_int(db, "PRAGMA user_version"), newest_version());
    assert_int_equal(fx_sql_int(db, "SELECT count(*) FROM session_ids"), 3);
    assert_int_equal(fx_sql_int(db, "SELECT seq FROM session_ids_merged"), 3);
    sqlite3_close(db);
}

typedef struct many_ctx {
    char (*ids)[32];
    int n;
} many_ctx;

static int insert_many_fn(store_txn *t, void *ctx)
{
    many_ctx *m = ctx;
    for (int i = 0; i < m->n; i++) {
        store_session s = mk("acct_A", m->ids[i], i);
        s.client_reference_id = "a reference long enough to make the rows fill pages quickly";
        int rc = store_txn_session_insert(t, &s);
        if (rc != 0) return rc;
    }
    return 0;
}

#define N_BIG 5000

/* One transaction far larger than the page cache and the WAL write buffer: SQLite spills pages
 * to the WAL mid-transaction and reads them back (wal_buffer.c must write out what it gathered
 * first), and one commit writes several MiB of frames. All of it is there, before and after a
 * reopen. */
static void test_big_transaction(void **state)
{
    fixture *f = *state;
    static char ids[N_BIG][32];
    reopen_with(f, (store_sqlite_config){.cache_bytes = 128 << 10});
    for (int i = 0; i < N_BIG; i++)
        ids_random(ids[i], sizeof ids[i], "vs_", 24);
    many_ctx m = {ids, N_BIG};
    assert_int_equal(store_run(f->st, insert_many_fn, &m), 0);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < N_BIG; i++) {
            expect_txn_session(f, ids[i], ids[i]);
            expect_session(f, "acct_A", ids[i], ids[i]);
        }
        arena_free(f->a);
        f->a = arena_new();
        reopen_with(f, (store_sqlite_config){.cache_bytes = 128 << 10});
    }
    sqlite3 *db = raw_db(f);
    assert_int_equal(fx_sql_int(db, "SELECT count(*) FROM sessions"), N_BIG);
    assert_int_equal(fx_sql_int(db, "SELECT min(created) FROM sessions"), 0);
    assert_int_equal(fx_sql_int(db, "SELECT max(created) FROM sessions"), N_BIG - 1);
    assert_string_equal(sql_text(f, db, "PRAGMA integrity_check"), "ok");
    sqlite3_close(db);
}

/* ---- rows as stored ---- */

static int event_fn(store_txn *t, void *ctx)
{
    return store_txn_event_insert(t, ctx);
}

typedef struct snap_ctx {
    arena *a;
    store_event *items;
    size_t n;
} snap_ctx;

static int snapshots_fn(store_txn *t, void *ctx)
{
    snap_ctx *c = ctx;
    return store_txn_event_snapshots(t, "acct_A", "vs_e", 0, c->a, &c->items, &c->n);
}

/* Events are rows of their own: the snapshot is the record's bytes; an event without one keeps
 * a NULL snapshot and is no snapshot to rewrite. */
static void test_event_rows(void **state)
{
    fixture *f = *state;
    static const unsigned char snap[] = {'s', 0, 'n', 0xff};
    store_event e = {.id = "evt_1",
                     .account = "acct_A",
                     .created = 7,
                     .type = "identity.verification_session.created",
                     .object_id = "vs_e",
                     .request_id = "req_1",
                     .snapshot = {snap, sizeof snap}};
    assert_int_equal(store_run(f->st, event_fn, &e), 0);
    assert_int_equal(store_run(f->st, event_fn, &e), STORE_EXISTS);
    e.id = "evt_2";
    e.request_id = NULL;
    e.type = "identity.verification_session.processing";
    assert_int_equal(store_run(f->st, event_fn, &e), 0);
    e.id = "evt_nosnap";
    e.snapshot = (store_record){NULL, 0};
    assert_int_equal(store_run(f->st, event_fn, &e), 0);

    sqlite3 *db = raw_db(f);
    assert_int_equal(fx_sql_int(db, "SELECT count(*) FROM events WHERE object_id = 'vs_e'"), 3);
    assert_int_equal(fx_sql_int(db, "SELECT count(*) FROM events WHERE request_id IS NULL"), 2);
    assert_int_equal(fx_sql_int(db, "SELECT count(*) FROM events WHERE snapshot IS NULL"), 1);
    sqlite3_stmt *stmt;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT snapshot FROM events WHERE id = 'evt_1'", -1, &stmt, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(stmt, 0), sizeof snap);
    assert_memory_equal(sqlite3_column_blob(stmt, 0), snap, sizeof snap);
    sqlite3_finalize(stmt);
    sqlite3_close(db);

    snap_ctx c = {.a = f->a};
    assert_int_equal(store_run(f->st, snapshots_fn, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.items[0].id, "evt_1");
    assert_string_equal(c.items[1].id, "evt_2");
}
/* 1 when a file of f's data directory (the database, its WAL, its -shm) contains needle. */
static int on_disk(const fixture *f, const char *needle)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char path[128], file[160];
    db_path(f, path, sizeof path);
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        snprintf(file, sizeof file, "%s%s", path, suffixes[i]);
        FILE *fp = fopen(file, "rb");
        if (fp == NULL) continue;
        char *data = NULL;
        size_t len = 0, cap = 0, got;
        char chunk[65536];
        while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0) {
            if (len + got > cap) {
                cap = (len + got) * 2;
                data = realloc(data, cap);
                assert_non_null(data);
            }
            memcpy(data + len, chunk, got);
            len += got;
        }
        fclose(fp);
        int hit = data != NULL && memmem(data, len, needle, strlen(needle)) != NULL;
        free(data);
        if (hit) return 1;
    }
    return 0;
}

/* A record overwritten (the way a redaction rewrites a session) lingers in the WAL's older
 * frames until store_scrub, after which it is in no file and the WAL is empty; the store goes
 * on working. */
static void test_scrub_leaves_no_old_version(void **state)
{
    fixture *f = *state;
    const char *secret = "erase-me-7c1f9e2a@example.com";
    store_session s = mk("acct_A", "vs_scrub", 1);
    s.record = rec(secret);
    assert_int_equal(insert(f, &s), 0);
    s.record = rec("[redacted]");
    assert_int_equal(update(f, &s), 0);
    expect_session(f, "acct_A", "vs_scrub", "[redacted]");
    assert_true(on_disk(f, secret)); /* the old version is still in the WAL */

    assert_int_equal(store_scrub(f->st), 0);
    assert_false(on_disk(f, secret));
    char path[128], wal[160];
    struct stat sb;
    db_path(f, path, sizeof path);
    snprintf(wal, sizeof wal, "%s-wal", path);
    assert_int_equal(stat(wal, &sb), 0);
    assert_int_equal(sb.st_size, 0);

    store_session after = mk("acct_A", "vs_after", 2);
    assert_int_equal(insert(f, &after), 0);
    assert_int_equal(store_scrub(f->st), 0); /* and again: each call is served */
    reopen(f);
    expect_session(f, "acct_A", "vs_scrub", "[redacted]");
    expect_session(f, "acct_A", "vs_after", "vs_after");
    assert_false(on_disk(f, secret));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list_query_plans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_job_keeps_batch_mates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_database_error_fails_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_synchronous_normal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrations_and_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_ids_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scrub_leaves_no_old_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_measure_group_commit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
