/*
 * test_store: the store.h contract against the SQLite backend, each test on a fresh database in
 * its own mkdtemp directory (removed afterwards): round trips, account isolation, list order,
 * filters and paging, group commit with per-job savepoints, concurrency, durability across a
 * reopen and across kill -9, idempotency records, events, redactions and migrations.
 *
 * Also prints (never asserts) group-commit batch sizes under 64 concurrent submitters and
 * single-threaded store_run latency: those depend on the machine's fsync.
 *
 * Not for: the session codec's own edge cases (test_session.c) or HTTP behaviour (black-box).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/ids.h"
#include "identity/session.h"
#include "store/store.h"
#include "store/backend.h"
#include "base/util.h"

#include "fixture.h"

/* ---- fixture: a fresh data directory and an open store (fixture.h) ---- */

typedef fx_store fixture;

static int setup(void **state)
{
    *state = fx_store_new("store");
    return 0;
}

static int teardown(void **state)
{
    fx_store_free(*state);
    return 0;
}

static void reopen(fixture *f)
{
    fx_store_reopen(f, NULL);
}

/* A direct connection to the database, for what the store API does not show. */
static sqlite3 *raw_db(const fixture *f)
{
    char path[128];
    sqlite3 *db = NULL;
    snprintf(path, sizeof path, "%s/verifyd.db", f->data);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    return db;
}

/* ---- sessions and jobs ---- */

/* fixture.h's plain session, created at a given time. */
static session mk(const char *account, const char *id, int64_t created)
{
    session s = fx_session(account, id);
    s.created = created;
    return s;
}

typedef struct ins_ctx {
    const session *s;
    int ret; /* returned after a successful insert: non-zero asks for a rollback */
} ins_ctx;

static int insert_fn(store_txn *t, void *ctx)
{
    ins_ctx *c = ctx;
    int rc = store_txn_session_insert(t, c->s);
    return rc != 0 ? rc : c->ret;
}

static int insert(fixture *f, const session *s)
{
    ins_ctx c = {s, 0};
    return store_run(f->st, insert_fn, &c);
}

static int get(fixture *f, const char *account, const char *id, session *out)
{
    return store_session_get(f->st, account, id, f->a, out);
}

static void assert_str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assert_session_eq(const session *x, const session *y)
{
    assert_string_equal(x->id, y->id);
    assert_str_eq(x->account, y->account);
    assert_int_equal(x->created, y->created);
    assert_int_equal(x->livemode, y->livemode);
    assert_int_equal(x->status, y->status);
    assert_int_equal(x->type, y->type);
    assert_str_eq(x->client_reference_id, y->client_reference_id);
    assert_str_eq(x->secret_token, y->secret_token);
    assert_str_eq(x->url_token, y->url_token);
    assert_int_equal(x->secret_issued, y->secret_issued);
    assert_int_equal(x->has_last_error, y->has_last_error);
    assert_str_eq(x->last_error_code, y->last_error_code);
    assert_str_eq(x->last_error_reason, y->last_error_reason);
    assert_str_eq(x->last_verification_report, y->last_verification_report);
    assert_int_equal(x->n_metadata, y->n_metadata);
    for (size_t i = 0; i < x->n_metadata; i++) {
        assert_string_equal(x->metadata[i].key, y->metadata[i].key);
        assert_string_equal(x->metadata[i].value, y->metadata[i].value);
    }
    assert_int_equal(x->doc.present, y->doc.present);
    assert_int_equal(x->doc.has_allowed_types, y->doc.has_allowed_types);
    assert_int_equal(x->doc.n_allowed_types, y->doc.n_allowed_types);
    for (size_t i = 0; i < x->doc.n_allowed_types; i++)
        assert_string_equal(x->doc.allowed_types[i], y->doc.allowed_types[i]);
    assert_int_equal(x->doc.require_id_number, y->doc.require_id_number);
    assert_int_equal(x->doc.require_live_capture, y->doc.require_live_capture);
    assert_int_equal(x->doc.require_matching_selfie, y->doc.require_matching_selfie);
    assert_str_eq(x->provided_email, y->provided_email);
    assert_str_eq(x->provided_phone, y->provided_phone);
    assert_int_equal(x->redaction, y->redaction);
    assert_int_equal(x->redaction_due, y->redaction_due);
    assert_str_eq(x->related_customer, y->related_customer);
    assert_str_eq(x->related_customer_account, y->related_customer_account);
    assert_str_eq(x->related_person_account, y->related_person_account);
    assert_str_eq(x->related_person_person, y->related_person_person);
    assert_str_eq(x->verification_flow, y->verification_flow);
    assert_str_eq(x->return_url, y->return_url);
}

/* List with q; the page's ids joined by spaces (in f->a), for compact assertions. */
static const char *list_ids(fixture *f, const store_session_query *q, int *has_more, int *rc)
{
    session *items = NULL;
    size_t n = 0;
    int more = -1;
    *rc = store_session_list(f->st, q, f->a, &items, &n, &more);
    buf b;
    buf_init(&b, f->a);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(items[i].account, q->account);
        buf_printf(&b, "%s%s", i ? " " : "", items[i].id);
    }
    if (has_more != NULL) *has_more = more;
    return b.data;
}

static void expect_list(fixture *f, const store_session_query *q, const char *ids, int has_more)
{
    int more, rc;
    const char *got = list_ids(f, q, &more, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(got, ids);
    assert_int_equal(more, has_more);
}

/* ---- tests ---- */

static void test_roundtrip_and_isolation(void **state)
{
    fixture *f = *state;
    static const char *types[] = {"driving_license", "passport"};
    metadata_kv meta[] = {{"order", "6735"}, {"note", "h\xc3\xa9llo, \"w\" \\ \n"}};
    session s = mk("acct_A", "vs_full", 1700000000);
    s.livemode = 1;
    s.status = SESSION_PROCESSING;
    s.type = SESSION_TYPE_ID_NUMBER;
    s.client_reference_id = "ref-1";
    s.secret_token = "sec_tok";
    s.url_token = "url_tok";
    s.secret_issued = 1700000001;
    s.has_last_error = 1;
    s.last_error_code = "document_expired";
    s.last_error_reason = "The document is expired.";
    s.last_verification_report = "vr_123";
    s.metadata = meta;
    s.n_metadata = 2;
    s.doc.present = 1;
    s.doc.has_allowed_types = 1;
    s.doc.allowed_types = types;
    s.doc.n_allowed_types = 2;
    s.doc.require_id_number = SESSION_TRUE;
    s.doc.require_live_capture = SESSION_FALSE;
    s.doc.require_matching_selfie = SESSION_TRUE;
    s.provided_email = "jenny@example.com";
    s.provided_phone = "+15555550100";
    s.redaction = SESSION_REDACTION_PROCESSING;
    s.redaction_due = 1700000005000;
    s.related_customer = "cus_1";
    s.related_customer_account = "acct_C";
    s.related_person_account = "acct_P";
    s.related_person_person = "person_1";
    s.verification_flow = "vf_1";
    s.return_url = "https://example.com/back";

    assert_int_equal(insert(f, &s), 0);
    session got;
    assert_int_equal(get(f, "acct_A", "vs_full", &got), 0);
    assert_session_eq(&s, &got);

    /* The same id under another account, and an unknown id, are not found. */
    assert_int_equal(get(f, "acct_B", "vs_full", &got), STORE_NOT_FOUND);
    assert_int_equal(get(f, "acct_A", "vs_nope", &got), STORE_NOT_FOUND);
    store_session_query q = {.account = "acct_B", .limit = 10};
    expect_list(f, &q, "", 0);

    /* Inserting the id again, even under another account, is refused. */
    session dup = mk("acct_B", "vs_full", 1);
    assert_int_equal(insert(f, &dup), STORE_EXISTS);

    /* A database error (here a NOT NULL column) fails the job alone, logged, not a crash. */
    session bad = mk(NULL, "vs_bad", 1);
    assert_int_equal(insert(f, &bad), STORE_EIO);

    /* Still there after a reopen. */
    reopen(f);
    assert_int_equal(get(f, "acct_A", "vs_full", &got), 0);
    assert_session_eq(&s, &got);
}

static void test_update(void **state)
{
    fixture *f = *state;
    session s = mk("acct_A", "vs_u", 100);
    s.client_reference_id = "old";
    assert_int_equal(insert(f, &s), 0);

    metadata_kv meta[] = {{"k", "v"}};
    s.status = SESSION_VERIFIED;
    s.client_reference_id = "new";
    s.metadata = meta;
    s.n_metadata = 1;
    s.related_customer = "cus_9";
    assert_int_equal(fx_session_update(f->st, &s), 0);
    session got;
    assert_int_equal(get(f, "acct_A", "vs_u", &got), 0);
    assert_session_eq(&s, &got);

    /* The indexed columns followed the body. */
    store_session_query q = {.account = "acct_A", .limit = 10, .client_reference_id = "new"};
    expect_list(f, &q, "vs_u", 0);
    q.client_reference_id = "old";
    expect_list(f, &q, "", 0);
    q = (store_session_query){
        .account = "acct_A", .limit = 10, .has_status = 1, .status = SESSION_VERIFIED};
    expect_list(f, &q, "vs_u", 0);

    /* Update is by (account, id): another account's copy does not exist. */
    session other = s;
    other.account = "acct_B";
    assert_int_equal(fx_session_update(f->st, &other), STORE_NOT_FOUND);
    session missing = mk("acct_A", "vs_missing", 1);
    assert_int_equal(fx_session_update(f->st, &missing), STORE_NOT_FOUND);
}

static void test_list_order_ties(void **state)
{
    fixture *f = *state;
    char id[32];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "vs_%d", i);
        session s = mk("acct_A", id, 1000);
        assert_int_equal(insert(f, &s), 0);
    }
    session older = mk("acct_A", "vs_old", 999);
    session newer = mk("acct_A", "vs_new", 1001);
    assert_int_equal(insert(f, &older), 0);
    assert_int_equal(insert(f, &newer), 0);
    store_session_query q = {.account = "acct_A", .limit = 100};
    expect_list(f, &q, "vs_new vs_4 vs_3 vs_2 vs_1 vs_0 vs_old", 0);
    q.limit = 3;
    expect_list(f, &q, "vs_new vs_4 vs_3", 1);
    q.starting_after = "vs_3";
    expect_list(f, &q, "vs_2 vs_1 vs_0", 1);
    q.starting_after = "vs_0";
    expect_list(f, &q, "vs_old", 0);
    q.starting_after = NULL;
    q.ending_before = "vs_1";
    expect_list(f, &q, "vs_4 vs_3 vs_2", 1);
}

static void test_list_filters(void **state)
{
    fixture *f = *state;
    struct {
        const char *id;
        session_status status;
        const char *ref, *cus, *cacct;
    } rows[] = {
        {"vs_a", SESSION_REQUIRES_INPUT, "r1", "cus_1", NULL},
        {"vs_b", SESSION_VERIFIED, "r1", NULL, "acct_X"},
        {"vs_c", SESSION_VERIFIED, "r2", "cus_1", "acct_X"},
        {"vs_d", SESSION_CANCELED, NULL, "cus_2", NULL},
        {"vs_e", SESSION_VERIFIED, "r1", "cus_1", "acct_Y"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        session s = mk("acct_A", rows[i].id, 100 + (int64_t)i);
        s.status = rows[i].status;
        s.client_reference_id = rows[i].ref;
        s.related_customer = rows[i].cus;
        s.related_customer_account = rows[i].cacct;
        assert_int_equal(insert(f, &s), 0);
        /* The same shape in another account, which no filter may ever return. */
        char oid[32];
        snprintf(oid, sizeof oid, "%s_other", rows[i].id);
        s = mk("acct_B", oid, 100 + (int64_t)i);
        s.status = rows[i].status;
        s.client_reference_id = rows[i].ref;
        s.related_customer = rows[i].cus;
        s.related_customer_account = rows[i].cacct;
        assert_int_equal(insert(f, &s), 0);
    }
    store_session_query base = {.account = "acct_A", .limit = 10};
    store_session_query q = base;
    expect_list(f, &q, "vs_e vs_d vs_c vs_b vs_a", 0);

    q = base;
    q.has_status = 1;
    q.status = SESSION_VERIFIED;
    expect_list(f, &q, "vs_e vs_c vs_b", 0);
    q.status = SESSION_PROCESSING;
    expect_list(f, &q, "", 0);

    q = base;
    q.client_reference_id = "r1";
    expect_list(f, &q, "vs_e vs_b vs_a", 0);
    q = base;
    q.related_customer = "cus_1";
    expect_list(f, &q, "vs_e vs_c vs_a", 0);
    q = base;
    q.related_customer_account = "acct_X";
    expect_list(f, &q, "vs_c vs_b", 0);

    /* Filters combine with AND. */
    q = base;
    q.has_status = 1;
    q.status = SESSION_VERIFIED;
    q.client_reference_id = "r1";
    expect_list(f, &q, "vs_e vs_b", 0);
    q.related_customer = "cus_1";
    expect_list(f, &q, "vs_e", 0);
    q.related_customer_account = "acct_X";
    expect_list(f, &q, "", 0);

    /* Paging within a filter; the cursor need not match the filter. */
    q = base;
    q.has_status = 1;
    q.status = SESSION_VERIFIED;
    q.limit = 1;
    expect_list(f, &q, "vs_e", 1);
    q.starting_after = "vs_d";
    expect_list(f, &q, "vs_c", 1);
    q.starting_after = "vs_c";
    expect_list(f, &q, "vs_b", 0);
}

static void test_list_created_ranges(void **state)
{
    fixture *f = *state;
    char id[32];
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof id, "vs_%d", 100 + i);
        session s = mk("acct_A", id, 100 + i);
        assert_int_equal(insert(f, &s), 0);
    }
    store_session_query base = {.account = "acct_A", .limit = 100};
    store_session_query q = base;
    q.created.has_eq = 1;
    q.created.eq = 105;
    expect_list(f, &q, "vs_105", 0);
    q = base;
    q.created.has_gt = 1;
    q.created.gt = 105;
    expect_list(f, &q, "vs_109 vs_108 vs_107 vs_106", 0);
    q = base;
    q.created.has_gte = 1;
    q.created.gte = 105;
    expect_list(f, &q, "vs_109 vs_108 vs_107 vs_106 vs_105", 0);
    q = base;
    q.created.has_lt = 1;
    q.created.lt = 102;
    expect_list(f, &q, "vs_101 vs_100", 0);
    q = base;
    q.created.has_lte = 1;
    q.created.lte = 102;
    expect_list(f, &q, "vs_102 vs_101 vs_100", 0);
    q = base;
    q.created.has_gt = q.created.has_lt = 1;
    q.created.gt = 101;
    q.created.lt = 104;
    expect_list(f, &q, "vs_103 vs_102", 0);
    q.limit = 1;
    expect_list(f, &q, "vs_103", 1);
    q.starting_after = "vs_103";
    expect_list(f, &q, "vs_102", 0);
    q.starting_after = NULL;
    q.ending_before = "vs_102";
    expect_list(f, &q, "vs_103", 0);

    /* Bounds that overlap or contradict each other combine with AND too. */
    q = base;
    q.created.has_eq = q.created.has_gte = 1;
    q.created.eq = q.created.gte = 105;
    expect_list(f, &q, "vs_105", 0);
    q.created.has_gt = 1;
    q.created.gt = 105;
    expect_list(f, &q, "", 0);
    q = base;
    q.created.has_gte = q.created.has_gt = q.created.has_lte = q.created.has_lt = 1;
    q.created.gte = 102;
    q.created.gt = 103;
    q.created.lte = 108;
    q.created.lt = 107;
    expect_list(f, &q, "vs_106 vs_105 vs_104", 0);
    q = base;
    q.created.has_gt = 1;
    q.created.gt = INT64_MAX;
    expect_list(f, &q, "", 0);
    q = base;
    q.created.has_lt = 1;
    q.created.lt = INT64_MIN;
    expect_list(f, &q, "", 0);
    q = base;
    q.created.has_gte = q.created.has_lte = 1;
    q.created.gte = INT64_MIN;
    q.created.lte = INT64_MAX;
    expect_list(f, &q, "vs_109 vs_108 vs_107 vs_106 vs_105 vs_104 vs_103 vs_102 vs_101 vs_100", 0);
    /* An empty range still checks its cursor. */
    q = base;
    q.created.has_gt = 1;
    q.created.gt = INT64_MAX;
    q.starting_after = "vs_nope";
    int rc;
    list_ids(f, &q, NULL, &rc);
    assert_int_equal(rc, STORE_CURSOR);
}

static void test_list_pagination(void **state)
{
    fixture *f = *state;
    char id[32];
    /* 25 sessions, three per second so that created ties cross page boundaries, interleaved
     * with another account's. */
    for (int i = 0; i < 25; i++) {
        snprintf(id, sizeof id, "vs_%02d", i);
        session s = mk("acct_A", id, 1000 + i / 3);
        assert_int_equal(insert(f, &s), 0);
        snprintf(id, sizeof id, "vs_b%02d", i);
        s = mk("acct_B", id, 1000 + i / 3);
        assert_int_equal(insert(f, &s), 0);
    }
    const char *p1 = "vs_24 vs_23 vs_22 vs_21 vs_20 vs_19 vs_18 vs_17 vs_16 vs_15";
    const char *p2 = "vs_14 vs_13 vs_12 vs_11 vs_10 vs_09 vs_08 vs_07 vs_06 vs_05";
    const char *p3 = "vs_04 vs_03 vs_02 vs_01 vs_00";
    store_session_query q = {.account = "acct_A", .limit = 10};
    expect_list(f, &q, p1, 1);
    q.starting_after = "vs_15";
    expect_list(f, &q, p2, 1);
    q.starting_after = "vs_05";
    expect_list(f, &q, p3, 0);
    q.starting_after = "vs_00";
    expect_list(f, &q, "", 0);

    /* Backwards from the last page. */
    q.starting_after = NULL;
    q.ending_before = "vs_04";
    expect_list(f, &q, p2, 1);
    q.ending_before = "vs_14";
    expect_list(f, &q, p1, 0);
    q.ending_before = "vs_22";
    expect_list(f, &q, "vs_24 vs_23", 0);
    q.ending_before = "vs_24";
    expect_list(f, &q, "", 0);

    /* Exactly a full page left: has_more is 0. */
    q.ending_before = NULL;
    q.starting_after = "vs_10";
    expect_list(f, &q, "vs_09 vs_08 vs_07 vs_06 vs_05 vs_04 vs_03 vs_02 vs_01 vs_00", 0);

    /* Cursors: another account's object, an unknown one, or both at once. */
    int rc;
    q.starting_after = "vs_b10";
    list_ids(f, &q, NULL, &rc);
    assert_int_equal(rc, STORE_CURSOR);
    q.starting_after = NULL;
    q.ending_before = "vs_b10";
    list_ids(f, &q, NULL, &rc);
    assert_int_equal(rc, STORE_CURSOR);
    q.ending_before = "vs_nope";
    list_ids(f, &q, NULL, &rc);
    assert_int_equal(rc, STORE_CURSOR);
    q.starting_after = "vs_10";
    q.ending_before = "vs_20";
    list_ids(f, &q, NULL, &rc);
    assert_int_equal(rc, STORE_CURSOR);

    /* Limits are clamped to 1..100. */
    q = (store_session_query){.account = "acct_A", .limit = 0};
    expect_list(f, &q, "vs_24", 1);
    q.limit = 1000;
    int more;
    list_ids(f, &q, &more, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(more, 0);
}

/* Every combination of list filters must be an index search in the asked order: no full scan,
 * no temporary b-tree for ORDER BY. */
static void test_list_query_plans(void **state)
{
    fixture *f = *state;
    sqlite3 *db = raw_db(f);
    int checked = 0;
    for (unsigned m = 0; m < STORE__LQ_COMBINATIONS; m++) {
        if ((m & STORE__LQ_AFTER) && (m & STORE__LQ_BEFORE)) continue;
        buf sql;
        buf_init(&sql, f->a);
        buf_puts(&sql, "EXPLAIN QUERY PLAN ");
        store__sqlite_list_sql(m, &sql);
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

static int fail_plain_fn(store_txn *t, void *ctx)
{
    (void)t, (void)ctx;
    return STORE_ABORTED;
}

static void test_failing_job_keeps_batch_mates(void **state)
{
    fixture *f = *state;
    gate g = {.entered = 0, .open = 0};
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    batch_reset();

    tjob jg, ja, jb, jc, jd, je;
    tjob_submit(f->st, &jg, gate_fn, &g);
    pthread_mutex_lock(&g.mu);
    while (!g.entered)
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);

    /* The writer runs a job and none waits: not busy. */
    assert_int_equal(store_busy(f->st), 0);

    /* Queued while the writer is held: they form the next batch together. */
    session a = mk("acct_A", "vs_a", 1), b = mk("acct_A", "vs_b", 2), c = mk("acct_A", "vs_c", 3);
    ins_ctx ca = {&a, 0}, cb = {&b, STORE_ABORTED}, cc = {&c, 0}, cd = {&a, 0};
    tjob_submit(f->st, &ja, insert_fn, &ca);
    tjob_submit(f->st, &jb, insert_fn, &cb); /* inserts, then asks for its rollback */
    tjob_submit(f->st, &jc, insert_fn, &cc);
    tjob_submit(f->st, &jd, insert_fn, &cd); /* vs_a again: STORE_EXISTS */
    tjob_submit(f->st, &je, fail_plain_fn, NULL);
    assert_int_equal(store_busy(f->st), 1); /* five jobs wait behind the held one */

    pthread_mutex_lock(&g.mu);
    g.open = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);

    assert_int_equal(tjob_wait(&jg), 0);
    assert_int_equal(tjob_wait(&ja), 0);
    assert_int_equal(tjob_wait(&jb), STORE_ABORTED);
    assert_int_equal(tjob_wait(&jc), 0);
    assert_int_equal(tjob_wait(&jd), STORE_EXISTS);
    assert_int_equal(tjob_wait(&je), STORE_ABORTED);
    /* Busy while batches stay large; a lone job after them is not. */
    assert_int_equal(store_busy(f->st), 1);
    session lone = mk("acct_A", "vs_lone", 4);
    assert_int_equal(insert(f, &lone), 0);
    assert_int_equal(store_busy(f->st), 0);
    assert_int_equal(ja.batch, jg.batch + 1);
    assert_int_equal(jb.batch, ja.batch);
    assert_int_equal(jc.batch, ja.batch);
    assert_int_equal(jd.batch, ja.batch);
    assert_int_equal(je.batch, ja.batch);

    session got;
    assert_int_equal(get(f, "acct_A", "vs_a", &got), 0);
    assert_int_equal(get(f, "acct_A", "vs_b", &got), STORE_NOT_FOUND);
    assert_int_equal(get(f, "acct_A", "vs_c", &got), 0);
    reopen(f);
    assert_int_equal(get(f, "acct_A", "vs_a", &got), 0);
    assert_int_equal(get(f, "acct_A", "vs_b", &got), STORE_NOT_FOUND);
    assert_int_equal(get(f, "acct_A", "vs_c", &got), 0);
    pthread_mutex_destroy(&g.mu);
    pthread_cond_destroy(&g.cv);
}

/* A job that updates a session and then asks for its own rollback. */
static int update_then_abort_fn(store_txn *t, void *ctx)
{
    int rc = store_txn_session_update(t, ctx);
    return rc != 0 ? rc : STORE_ABORTED;
}

/* Reads are served from memory after the first: what they see must always be what committed. */
static void test_reads_follow_commits(void **state)
{
    fixture *f = *state;
    session s = mk("acct_A", "vs_cached", 1), got;
    s.client_reference_id = "v1";
    assert_int_equal(insert(f, &s), 0);
    assert_int_equal(get(f, "acct_A", "vs_cached", &got), 0); /* read from the database */
    assert_string_equal(got.client_reference_id, "v1");
    assert_int_equal(get(f, "acct_A", "vs_cached", &got), 0); /* from memory */
    assert_string_equal(got.client_reference_id, "v1");

    s.client_reference_id = "rolled back";
    assert_int_equal(store_run(f->st, update_then_abort_fn, &s), STORE_ABORTED);
    assert_int_equal(get(f, "acct_A", "vs_cached", &got), 0);
    assert_string_equal(got.client_reference_id, "v1");

    s.client_reference_id = "v2";
    assert_int_equal(fx_session_update(f->st, &s), 0);
    assert_int_equal(get(f, "acct_A", "vs_cached", &got), 0);
    assert_string_equal(got.client_reference_id, "v2");
    assert_int_equal(get(f, "acct_B", "vs_cached", &got), STORE_NOT_FOUND);
    reopen(f);
    assert_int_equal(get(f, "acct_A", "vs_cached", &got), 0);
    assert_string_equal(got.client_reference_id, "v2");
}

static void test_max_batch(void **state)
{
    fixture *f = *state;
    store_close(f->st);
    store_config cfg = {.data_dir = f->data, .synchronous_full = 1, .max_batch = 2};
    const char *errmsg;
    assert_int_equal(store_open(&cfg, &f->st, &errmsg), 0);

    gate g = {.entered = 0, .open = 0};
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    batch_reset();
    tjob jg, j[5];
    tjob_submit(f->st, &jg, gate_fn, &g);
    pthread_mutex_lock(&g.mu);
    while (!g.entered)
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i < 5; i++)
        tjob_submit(f->st, &j[i], fail_plain_fn, NULL);
    pthread_mutex_lock(&g.mu);
    g.open = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    tjob_wait(&jg);
    for (int i = 0; i < 5; i++)
        assert_int_equal(tjob_wait(&j[i]), STORE_ABORTED);
    /* FIFO, at most two per batch. */
    assert_int_equal(j[0].batch, jg.batch + 1);
    assert_int_equal(j[1].batch, j[0].batch);
    assert_int_equal(j[2].batch, j[0].batch + 1);
    assert_int_equal(j[3].batch, j[2].batch);
    assert_int_equal(j[4].batch, j[2].batch + 1);
    pthread_mutex_destroy(&g.mu);
    pthread_cond_destroy(&g.cv);
}

static int g_close_done;

static void count_done(void *ctx, int rc)
{
    (void)ctx;
    if (rc == 0) g_close_done++; /* writer thread only; read after store_close joined it */
}

/* store_close runs every queued job, and their done callbacks, before it returns. */
static void test_close_drains_queue(void **state)
{
    fixture *f = *state;
    enum { N = 300 };
    static session s[N];
    static ins_ctx c[N];
    g_close_done = 0;
    for (int i = 0; i < N; i++) {
        char id[32];
        snprintf(id, sizeof id, "vs_q%03d", i);
        s[i] = mk("acct_A", id, i);
        c[i] = (ins_ctx){&s[i], 0};
        store_submit(f->st, insert_fn, count_done, &c[i]);
    }
    store_submit(f->st, fail_plain_fn, NULL, NULL); /* done may be NULL */
    store_close(f->st);
    assert_int_equal(g_close_done, N);
    f->st = fx_store_open(f->data, NULL);
    store_session_query q = {.account = "acct_A", .limit = 2};
    expect_list(f, &q, "vs_q299 vs_q298", 1);
    session got;
    assert_int_equal(get(f, "acct_A", "vs_q000", &got), 0);
}

/* A job reads its batch-mates' uncommitted changes through store_txn_session_get. */
typedef struct read_ctx {
    arena *a;
    const char *id;
    session got;
} read_ctx;

static int txn_get_fn(store_txn *t, void *ctx)
{
    read_ctx *r = ctx;
    return store_txn_session_get(t, "acct_A", r->id, r->a, &r->got);
}

static void test_txn_get(void **state)
{
    fixture *f = *state;
    session s = mk("acct_A", "vs_t", 5);
    s.client_reference_id = "ref";
    assert_int_equal(insert(f, &s), 0);
    read_ctx r = {.a = f->a, .id = "vs_t"};
    assert_int_equal(store_run(f->st, txn_get_fn, &r), 0);
    assert_session_eq(&s, &r.got);
    r.id = "vs_none";
    assert_int_equal(store_run(f->st, txn_get_fn, &r), STORE_NOT_FOUND);
}

typedef struct writer_arg {
    store *st;
    int thread;
    int count;
    int use_run; /* 1: store_run; 0: store_submit + tracked wait (to count batches) */
    int failures;
} writer_arg;

static void *writer_thread(void *p)
{
    writer_arg *w = p;
    for (int i = 0; i < w->count; i++) {
        char id[32];
        snprintf(id, sizeof id, "vs_t%02d_%04d", w->thread, i);
        session s = mk("acct_A", id, 1000 + i);
        ins_ctx c = {&s, 0};
        int rc;
        if (w->use_run) {
            rc = store_run(w->st, insert_fn, &c);
        } else {
            tjob j;
            tjob_submit(w->st, &j, insert_fn, &c);
            rc = tjob_wait(&j);
        }
        if (rc != 0) w->failures++;
    }
    return NULL;
}

static void test_concurrent_durable(void **state)
{
    fixture *f = *state;
    enum { THREADS = 8, PER = 200 };
    pthread_t th[THREADS];
    writer_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (writer_arg){.st = f->st, .thread = i, .count = PER, .use_run = 1};
        assert_int_equal(pthread_create(&th[i], NULL, writer_thread, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    reopen(f);

    /* Every one is there, once, in order, through 16 full pages. */
    store_session_query q = {.account = "acct_A", .limit = 100};
    size_t total = 0;
    char last[SESSION_ID_MAX] = "";
    int64_t last_created = INT64_MAX;
    for (;;) {
        session *items;
        size_t n;
        int more;
        assert_int_equal(store_session_list(f->st, &q, f->a, &items, &n, &more), 0);
        for (size_t i = 0; i < n; i++) {
            assert_true(items[i].created <= last_created);
            last_created = items[i].created;
        }
        total += n;
        if (!more) break;
        snprintf(last, sizeof last, "%s", items[n - 1].id);
        q.starting_after = last;
    }
    assert_int_equal(total, THREADS * PER);
    char id[32];
    session got;
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < PER; i++) {
            snprintf(id, sizeof id, "vs_t%02d_%04d", t, i);
            assert_int_equal(get(f, "acct_A", id, &got), 0);
        }
    }
}

/* Readers on many threads at once, each with its own connection, while the writer writes. */
typedef struct reader_arg {
    store *st;
    int failures;
} reader_arg;

static void *reader_thread(void *p)
{
    reader_arg *r = p;
    arena *a = arena_new();
    for (int i = 0; i < 200; i++) {
        store_session_query q = {.account = "acct_A", .limit = 10};
        session *items, got;
        size_t n;
        int more;
        if (store_session_list(r->st, &q, a, &items, &n, &more) != 0) r->failures++;
        int rc = store_session_get(r->st, "acct_A", "vs_seed", a, &got);
        if (rc != 0) r->failures++;
    }
    arena_free(a);
    return NULL;
}

static void test_concurrent_readers(void **state)
{
    fixture *f = *state;
    session seed = mk("acct_A", "vs_seed", 1);
    assert_int_equal(insert(f, &seed), 0);
    enum { READERS = 6 };
    pthread_t rt[READERS], wt;
    reader_arg ra[READERS];
    writer_arg wa = {.st = f->st, .thread = 0, .count = 100, .use_run = 1};
    assert_int_equal(pthread_create(&wt, NULL, writer_thread, &wa), 0);
    for (int i = 0; i < READERS; i++) {
        ra[i] = (reader_arg){.st = f->st};
        assert_int_equal(pthread_create(&rt[i], NULL, reader_thread, &ra[i]), 0);
    }
    for (int i = 0; i < READERS; i++) {
        pthread_join(rt[i], NULL);
        assert_int_equal(ra[i].failures, 0);
    }
    pthread_join(wt, NULL);
    assert_int_equal(wa.failures, 0);
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
    int64_t lat[SINGLE];
    for (int i = 0; i < SINGLE; i++) {
        char id[32];
        snprintf(id, sizeof id, "vs_s%04d", i);
        session s = mk("acct_A", id, 10 + i);
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
        args[i] = (writer_arg){.st = f->st, .thread = i, .count = PER, .use_run = 0};
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

/* ---- idempotency, events, redactions ---- */

typedef struct idem_ctx {
    const char *account, *key;
    store_idem v;
    arena *a;
    store_idem got;
    int64_t cutoff;
} idem_ctx;

static int idem_put_fn(store_txn *t, void *ctx)
{
    idem_ctx *c = ctx;
    return store_txn_idem_put(t, c->account, c->key, &c->v);
}

static int idem_txn_get_fn(store_txn *t, void *ctx)
{
    idem_ctx *c = ctx;
    return store_txn_idem_get(t, c->account, c->key, c->a, &c->got);
}

static int idem_prune_fn(store_txn *t, void *ctx)
{
    idem_ctx *c = ctx;
    return store_txn_idem_prune(t, c->cutoff);
}

static void test_idempotency(void **state)
{
    fixture *f = *state;
    static const char body[] = "{\"id\": \"vs_1\",\n \"object\": \"x\"}";
    idem_ctx c = {.account = "acct_A", .key = "key-1", .a = f->a};
    memset(c.v.fingerprint, 'a', 64);
    c.v.status = 200;
    c.v.body = body;
    c.v.body_len = sizeof body - 1;
    c.v.created = 100;
    c.v.object_id = "vs_1";
    assert_int_equal(store_run(f->st, idem_put_fn, &c), 0);

    store_idem got;
    assert_int_equal(store_idem_get(f->st, "acct_A", "key-1", f->a, &got), 0);
    assert_string_equal(got.fingerprint, c.v.fingerprint);
    assert_int_equal(got.status, 200);
    assert_int_equal(got.body_len, sizeof body - 1);
    assert_memory_equal(got.body, body, sizeof body);
    assert_int_equal(got.created, 100);
    assert_string_equal(got.object_id, "vs_1");
    assert_int_equal(store_idem_get(f->st, "acct_B", "key-1", f->a, &got), STORE_NOT_FOUND);
    assert_int_equal(store_run(f->st, idem_txn_get_fn, &c), 0);
    assert_int_equal(c.got.status, 200);

    /* The first response stays: a second put with the key is refused. */
    idem_ctx c2 = c;
    c2.v.status = 500;
    assert_int_equal(store_run(f->st, idem_put_fn, &c2), STORE_EXISTS);
    /* The same key in another account is another record; an empty body is kept as empty. */
    c2.account = "acct_B";
    c2.v.body = NULL;
    c2.v.body_len = 0;
    c2.v.created = 300;
    c2.v.object_id = NULL;
    assert_int_equal(store_run(f->st, idem_put_fn, &c2), 0);
    assert_int_equal(store_idem_get(f->st, "acct_B", "key-1", f->a, &got), 0);
    assert_null(got.object_id);
    assert_int_equal(got.status, 500);
    assert_int_equal(got.body_len, 0);
    assert_string_equal(got.body, "");

    c.cutoff = 200;
    assert_int_equal(store_run(f->st, idem_prune_fn, &c), 0);
    assert_int_equal(store_idem_get(f->st, "acct_A", "key-1", f->a, &got), STORE_NOT_FOUND);
    assert_int_equal(store_idem_get(f->st, "acct_B", "key-1", f->a, &got), 0);
}

static int event_fn(store_txn *t, void *ctx)
{
    return store_txn_event_insert(t, ctx);
}

static void test_events(void **state)
{
    fixture *f = *state;
    session s = mk("acct_A", "vs_e", 7);
    buf snap;
    buf_init(&snap, f->a);
    session_encode(&s, &snap);
    store_event e = {.id = "evt_1",
                     .account = "acct_A",
                     .livemode = 0,
                     .created = 7,
                     .type = "identity.verification_session.created",
                     .object_id = "vs_e",
                     .request_id = "req_1",
                     .idempotency_key = NULL,
                     .snapshot = snap.data,
                     .snapshot_len = snap.len};
    assert_int_equal(store_run(f->st, event_fn, &e), 0);
    assert_int_equal(store_run(f->st, event_fn, &e), STORE_EXISTS);
    e.id = "evt_2";
    e.request_id = NULL;
    e.type = "identity.verification_session.processing";
    assert_int_equal(store_run(f->st, event_fn, &e), 0);

    sqlite3 *db = raw_db(f);
    assert_int_equal(fx_sql_int(db, "SELECT count(*) FROM events WHERE object_id = 'vs_e'"), 2);
    assert_int_equal(fx_sql_int(db, "SELECT count(*) FROM events WHERE request_id IS NULL"), 1);
    sqlite3_stmt *stmt;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT snapshot FROM events WHERE id = 'evt_1'", -1, &stmt, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    session back;
    assert_int_equal(session_decode(f->a, sqlite3_column_blob(stmt, 0),
                                    (size_t)sqlite3_column_bytes(stmt, 0), &back),
                     0);
    assert_string_equal(back.id, "vs_e");
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

typedef struct redact_ctx {
    const char *account, *object_id;
} redact_ctx;

static int redact_fn(store_txn *t, void *ctx)
{
    redact_ctx *r = ctx;
    return store_txn_redact_object(t, r->account, r->object_id);
}

static void snapshot_of(fixture *f, sqlite3 *db, const char *event_id, session *out)
{
    sqlite3_stmt *stmt;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT snapshot FROM events WHERE id = ?1", -1, &stmt, NULL),
        SQLITE_OK);
    sqlite3_bind_text(stmt, 1, event_id, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(session_decode(f->a, sqlite3_column_blob(stmt, 0),
                                    (size_t)sqlite3_column_bytes(stmt, 0), out),
                     0);
    sqlite3_finalize(stmt);
}

/* Redaction rewrites every event snapshot of the object and forgets its saved responses, and
 * touches nothing else. */
static void test_redact_object(void **state)
{
    fixture *f = *state;
    metadata_kv meta[] = {{"name", "Jenny"}};
    session s = mk("acct_A", "vs_r", 7), other = mk("acct_A", "vs_keep", 8);
    s.provided_email = other.provided_email = "jenny@example.com";
    s.metadata = other.metadata = meta;
    s.n_metadata = other.n_metadata = 1;
    buf b1, b2;
    buf_init(&b1, f->a);
    buf_init(&b2, f->a);
    session_encode(&s, &b1);
    session_encode(&other, &b2);
    store_event e1 = {.id = "evt_r1",
                      .account = "acct_A",
                      .created = 7,
                      .type = "t",
                      .object_id = "vs_r",
                      .snapshot = b1.data,
                      .snapshot_len = b1.len};
    store_event e2 = e1, e3 = e1, e4 = e1;
    e2.id = "evt_r2";
    e3.id = "evt_keep";
    e3.object_id = "vs_keep";
    e3.snapshot = b2.data;
    e3.snapshot_len = b2.len;
    e4.id = "evt_nosnap";
    e4.snapshot = NULL;
    e4.snapshot_len = 0;
    assert_int_equal(store_run(f->st, event_fn, &e1), 0);
    assert_int_equal(store_run(f->st, event_fn, &e2), 0);
    assert_int_equal(store_run(f->st, event_fn, &e3), 0);
    assert_int_equal(store_run(f->st, event_fn, &e4), 0);
    idem_ctx i1 = {.account = "acct_A", .key = "k1", .a = f->a};
    i1.v.status = 200;
    i1.v.body = "{}";
    i1.v.body_len = 2;
    i1.v.object_id = "vs_r";
    idem_ctx i2 = i1, i3 = i1;
    i2.key = "k2";
    i2.v.object_id = "vs_keep";
    i3.account = "acct_B"; /* another account's record naming the same id stays */
    assert_int_equal(store_run(f->st, idem_put_fn, &i1), 0);
    assert_int_equal(store_run(f->st, idem_put_fn, &i2), 0);
    assert_int_equal(store_run(f->st, idem_put_fn, &i3), 0);

    redact_ctx r = {"acct_A", "vs_r"};
    assert_int_equal(store_run(f->st, redact_fn, &r), 0);

    sqlite3 *db = raw_db(f);
    session got;
    snapshot_of(f, db, "evt_r1", &got);
    assert_string_equal(got.provided_email, "[redacted]");
    assert_int_equal(got.n_metadata, 0);
    snapshot_of(f, db, "evt_r2", &got);
    assert_string_equal(got.provided_email, "[redacted]");
    snapshot_of(f, db, "evt_keep", &got);
    assert_string_equal(got.provided_email, "jenny@example.com");
    assert_int_equal(got.n_metadata, 1);
    assert_int_equal(fx_sql_int(db, "SELECT count(*) FROM events WHERE snapshot IS NULL"), 1);
    sqlite3_close(db);

    store_idem idem;
    assert_int_equal(store_idem_get(f->st, "acct_A", "k1", f->a, &idem), STORE_NOT_FOUND);
    assert_int_equal(store_idem_get(f->st, "acct_A", "k2", f->a, &idem), 0);
    assert_int_equal(store_idem_get(f->st, "acct_B", "k1", f->a, &idem), 0);

    /* Nothing to redact is not an error. */
    r.object_id = "vs_none";
    assert_int_equal(store_run(f->st, redact_fn, &r), 0);
}

static void test_redactions_due(void **state)
{
    fixture *f = *state;
    session a = mk("acct_A", "vs_ra", 1), b = mk("acct_B", "vs_rb", 2),
            c = mk("acct_A", "vs_rc", 3);
    a.redaction = SESSION_REDACTION_PROCESSING;
    a.redaction_due = 2000;
    b.redaction = SESSION_REDACTION_PROCESSING;
    b.redaction_due = 1000;
    c.redaction = SESSION_REDACTION_NONE;
    c.redaction_due = 500; /* ignored: only a processing redaction is due */
    assert_int_equal(insert(f, &a), 0);
    assert_int_equal(insert(f, &b), 0);
    assert_int_equal(insert(f, &c), 0);

    const char **accounts, **ids;
    size_t n;
    assert_int_equal(store_redactions_due(f->st, 999, 10, f->a, &accounts, &ids, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_redactions_due(f->st, 1500, 10, f->a, &accounts, &ids, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(accounts[0], "acct_B");
    assert_string_equal(ids[0], "vs_rb");
    assert_int_equal(store_redactions_due(f->st, 5000, 10, f->a, &accounts, &ids, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0], "vs_rb");
    assert_string_equal(ids[1], "vs_ra");
    assert_string_equal(accounts[1], "acct_A");
    assert_int_equal(store_redactions_due(f->st, 5000, 1, f->a, &accounts, &ids, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_redactions_due(f->st, 5000, 0, f->a, &accounts, &ids, &n), 0);
    assert_int_equal(n, 0);

    /* Once redacted it is no longer due. */
    b.redaction = SESSION_REDACTION_REDACTED;
    assert_int_equal(fx_session_update(f->st, &b), 0);
    assert_int_equal(store_redactions_due(f->st, 5000, 10, f->a, &accounts, &ids, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "vs_ra");

    /* More rows than the first array holds. */
    char id[32];
    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof id, "vs_many%02d", i);
        session s = mk("acct_C", id, 10);
        s.redaction = SESSION_REDACTION_PROCESSING;
        s.redaction_due = 3000 + i;
        assert_int_equal(insert(f, &s), 0);
    }
    assert_int_equal(store_redactions_due(f->st, 9999, 1000, f->a, &accounts, &ids, &n), 0);
    assert_int_equal(n, 41);
    assert_string_equal(ids[40], "vs_many39");
}

static void test_migrations_and_settings(void **state)
{
    fixture *f = *state;
    session s = mk("acct_A", "vs_m", 1);
    assert_int_equal(insert(f, &s), 0);
    reopen(f);
    reopen(f);
    session got;
    assert_int_equal(get(f, "acct_A", "vs_m", &got), 0);

    sqlite3 *db = raw_db(f);
    assert_int_equal(fx_sql_int(db, "PRAGMA user_version"), 2);
    assert_int_equal(fx_sql_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
                                    " AND name LIKE 'sessions_%'"),
                     6);
    sqlite3_stmt *stmt;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "wal");
    sqlite3_finalize(stmt);

    struct stat sb;
    assert_int_equal(stat(f->data, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    char path[128];
    snprintf(path, sizeof path, "%s/verifyd.db", f->data);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    /* A database from a newer build is refused, not silently used. */
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    store_config cfg = {.data_dir = f->data, .synchronous_full = 1};
    const char *errmsg = NULL;
    store *st = NULL;
    assert_int_equal(store_open(&cfg, &st, &errmsg), STORE_EIO);
    assert_null(st);
    assert_non_null(errmsg);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    /* An unknown backend is refused too. */
    cfg.url = "postgres://localhost/verifyd";
    errmsg = NULL;
    assert_int_equal(store_open(&cfg, &st, &errmsg), STORE_EIO);
    assert_non_null(errmsg);

    f->st = fx_store_open(f->data, NULL);
    assert_int_equal(get(f, "acct_A", "vs_m", &got), 0);
}

/* ---- session ids: merged into session_ids in rounds, the newest held in memory ---- */

#define N_MERGE 200

/* Every lookup by id (reader, writer, update, list cursor, duplicate check) finds a session
 * whether or not its id has been merged yet, before and after a reopen. */
static void test_session_ids_merge(void **state)
{
    fixture *f = *state;
    static char ids[N_MERGE][32];
    fx_store_reopen(f, &(store_config){.id_merge_min = 16});
    /* An insert that rolls back first: its seq goes to ids[0] next, and its id must not reach
     * session_ids with it (checked at the end, once the id is used for real). */
    session rb = mk("acct_A", "vs_rolled_back_early", 1);
    ins_ctx rbc = {&rb, STORE_ABORTED};
    assert_int_equal(store_run(f->st, insert_fn, &rbc), STORE_ABORTED);
    for (int i = 0; i < N_MERGE; i++) {
        ids_random(ids[i], sizeof ids[i], "vs_", 24);
        session s = mk("acct_A", ids[i], 1000 + i);
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
            session got;
            read_ctx r = {.a = f->a, .id = ids[i]};
            assert_int_equal(store_run(f->st, txn_get_fn, &r), 0);
            assert_string_equal(r.got.id, ids[i]);
            assert_int_equal(get(f, "acct_A", ids[i], &got), 0);
            assert_int_equal(got.created, 1000 + i);
            assert_int_equal(get(f, "acct_B", ids[i], &got), STORE_NOT_FOUND);
            session dup = mk("acct_B", ids[i], 1);
            assert_int_equal(insert(f, &dup), STORE_EXISTS);
        }
        /* A list cursor at a merged id and at one still in memory. */
        store_session_query q = {.account = "acct_A", .limit = 1, .starting_after = ids[10]};
        expect_list(f, &q, ids[9], 1);
        q.starting_after = ids[N_MERGE - 1];
        expect_list(f, &q, ids[N_MERGE - 2], 1);
        /* Updates reach both kinds. */
        session u = mk("acct_A", ids[0], 1000);
        u.client_reference_id = pass ? "again" : "merged";
        assert_int_equal(fx_session_update(f->st, &u), 0);
        u = mk("acct_A", ids[N_MERGE - 1], 1000 + N_MERGE - 1);
        u.client_reference_id = "unmerged";
        assert_int_equal(fx_session_update(f->st, &u), 0);
        /* Cold reads after a reopen: no session cache, the map refilled from the table. */
        reopen(f);
    }
    session got;
    assert_int_equal(get(f, "acct_A", ids[0], &got), 0);
    assert_string_equal(got.client_reference_id, "again");

    /* The early rolled-back id, used for real now and merged by later rounds, is found. */
    assert_int_equal(insert(f, &rb), 0);
    for (int i = 0; i < 40; i++) {
        char id[32];
        ids_random(id, sizeof id, "vs_", 24);
        session more = mk("acct_A", id, 5000 + i);
        assert_int_equal(insert(f, &more), 0);
    }
    reopen(f);
    assert_int_equal(get(f, "acct_A", "vs_rolled_back_early", &got), 0);
    assert_int_equal(got.created, 1);
    db = raw_db(f);
    assert_int_equal(fx_sql_int(db, "SELECT count(*) FROM session_ids s JOIN sessions t"
                                    " ON t.seq = s.seq WHERE t.id <> s.id"),
                     0);
    sqlite3_close(db);

    /* An insert that rolled back leaves no trace: its id is unknown, then free to use. */
    session z = mk("acct_A", "vs_rolledback", 5);
    ins_ctx c = {&z, STORE_ABORTED};
    assert_int_equal(store_run(f->st, insert_fn, &c), STORE_ABORTED);
    assert_int_equal(get(f, "acct_A", "vs_rolledback", &got), STORE_NOT_FOUND);
    assert_int_equal(insert(f, &z), 0);
    assert_int_equal(get(f, "acct_A", "vs_rolledback", &got), 0);
}

/* A database written by the first schema (session ids in a unique index of the table) is
 * migrated: its sessions are found by id, listed, and their ids stay taken. */
static void test_migration_from_v1(void **state)
{
    fixture *f = *state;
    store_close(f->st);
    f->st = NULL;
    char path[128];
    snprintf(path, sizeof path, "%s/verifyd.db", f->data);
    remove(path);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, store__sqlite_migration_sql(0), NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
    const char *old_ids[] = {"vs_old1", "vs_old2", "vs_old3"};
    for (int i = 0; i < 3; i++) {
        session s = mk("acct_A", old_ids[i], 100 + i);
        buf b;
        buf_init(&b, f->a);
        session_encode(&s, &b);
        sqlite3_stmt *stmt;
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "INSERT INTO sessions (id, account, created, status,"
                                            " body) VALUES (?1, 'acct_A', ?2, ?3, ?4)",
                                            -1, &stmt, NULL),
                         SQLITE_OK);
        sqlite3_bind_text(stmt, 1, old_ids[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, 100 + i);
        sqlite3_bind_int(stmt, 3, (int)s.status);
        sqlite3_bind_blob(stmt, 4, b.data, (int)b.len, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
        sqlite3_finalize(stmt);
    }
    sqlite3_close(db);

    f->st = fx_store_open(f->data, NULL);
    session got;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(get(f, "acct_A", old_ids[i], &got), 0);
        assert_int_equal(got.created, 100 + i);
        session dup = mk("acct_B", old_ids[i], 1);
        assert_int_equal(insert(f, &dup), STORE_EXISTS);
    }
    store_session_query q = {.account = "acct_A", .limit = 10, .ending_before = "vs_old1"};
    expect_list(f, &q, "vs_old3 vs_old2", 0);
    db = raw_db(f);
    assert_int_equal(fx_sql_int(db, "PRAGMA user_version"), 2);
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
        session s = mk("acct_A", m->ids[i], i);
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
    store_close(f->st);
    store_config cfg = {.data_dir = f->data, .synchronous_full = 1, .cache_bytes = 128 << 10};
    const char *errmsg = NULL;
    assert_int_equal(store_open(&cfg, &f->st, &errmsg), 0);
    for (int i = 0; i < N_BIG; i++)
        ids_random(ids[i], sizeof ids[i], "vs_", 24);
    many_ctx m = {ids, N_BIG};
    assert_int_equal(store_run(f->st, insert_many_fn, &m), 0);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < N_BIG; i++) {
            session got;
            read_ctx r = {.a = f->a, .id = ids[i]};
            assert_int_equal(store_run(f->st, txn_get_fn, &r), 0);
            assert_int_equal(r.got.created, i);
            assert_int_equal(get(f, "acct_A", ids[i], &got), 0);
        }
        arena_free(f->a);
        f->a = arena_new();
        reopen(f);
    }
    sqlite3 *db = raw_db(f);
    assert_int_equal(fx_sql_int(db, "SELECT count(*) FROM sessions"), N_BIG);
    sqlite3_stmt *stmt;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "ok");
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

/* Every insert acknowledged before kill -9 is in the database afterwards. */
static void test_kill9_keeps_acknowledged(void **state)
{
    fixture *f = *state;
    store_close(f->st);
    f->st = NULL;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        store_config cfg = {.data_dir = f->data, .synchronous_full = 1};
        store *st;
        const char *errmsg;
        if (store_open(&cfg, &st, &errmsg) != 0) _exit(2);
        for (int i = 0;; i++) {
            char id[32];
            snprintf(id, sizeof id, "vs_k%06d", i);
            session s = mk("acct_A", id, i);
            ins_ctx c = {&s, 0};
            if (store_run(st, insert_fn, &c) != 0) _exit(3);
            if (write(fds[1], &i, sizeof i) != sizeof i) _exit(4);
        }
    }
    close(fds[1]);
    int acked = -1, v;
    while (acked < 100 && read(fds[0], &v, sizeof v) == sizeof v)
        acked = v;
    kill(pid, SIGKILL);
    /* Acknowledgements written before the kill landed count too. */
    while (read(fds[0], &v, sizeof v) == sizeof v)
        acked = v;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));

    f->st = fx_store_open(f->data, NULL);
    session got;
    char id[32];
    for (int i = 0; i <= acked; i++) {
        snprintf(id, sizeof id, "vs_k%06d", i);
        assert_int_equal(get(f, "acct_A", id, &got), 0);
    }
    printf("  kill -9: all %d acknowledged inserts present after restart\n", acked + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_and_isolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_order_ties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_created_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_pagination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_query_plans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_job_keeps_batch_mates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_follow_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_drains_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_readers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redact_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redactions_due, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrations_and_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_keeps_acknowledged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_ids_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_measure_group_commit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
