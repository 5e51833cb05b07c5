/*
 * test_store_contract: the guarantees of store.h, checked through store.h alone, so that the same
 * cases run against every backend: the store under test is the one fx_store_url() names
 * (VERIFYD_TEST_STORE, default the embedded SQLite database), each test on a fresh one in its own
 * mkdtemp directory (removed afterwards).
 *
 * The store keeps opaque records, so the records here are plain bytes: a session's record is its
 * id (lists read back by record), and the round trips use bytes with embedded NULs and empty
 * records. Covered: durability across a reopen, kill -9 and store_close; sessions (unique ids,
 * conditional updates, every list filter, range and cursor), redactions due, group commit with
 * per-job rollback, done callbacks, idempotency keys, events (lists, snapshots, pruning), webhook
 * endpoints and the delivery outbox, reports, hosted links, delayed outcomes, and the session
 * cache store.c keeps above the backend.
 *
 * Not for: what a backend does inside (query plans, migrations, batch sizes, file modes: the
 * SQLite backend's own tests are in sqlite/test_sqlite.c), or the rules above the store (which
 * endpoints an event goes to, what redaction rewrites, the endpoint count limit's value).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/arena.h"
#include "store/store.h"

#include "fixture.h"

/* ---- fixture: a fresh data directory and an open store (fixture.h) ---- */

typedef fx_store fixture;

static int setup(void **state)
{
    *state = fx_store_new("contract");
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

/* ---- records ---- */

static store_record rec(const char *s)
{
    return (store_record){s, strlen(s)};
}

static void assert_rec_eq(store_record got, const void *data, size_t len)
{
    assert_int_equal(got.len, len);
    if (len > 0) assert_memory_equal(got.data, data, len);
}

static void assert_rec_str(store_record got, const char *s)
{
    assert_rec_eq(got, s, strlen(s));
}

static void assert_str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

/* Records as text, joined by spaces (in f->a): the ids of a page of sessions or reports. */
static const char *join(fixture *f, const store_record *items, size_t n)
{
    buf b;
    buf_init(&b, f->a);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%.*s", i ? " " : "", (int)items[i].len, (const char *)items[i].data);
    return b.data;
}

/* ---- sessions and jobs ---- */

/* Session status codes: opaque to the store, which only compares them. */
enum { ST_INPUT = 1, ST_PROCESSING, ST_VERIFIED, ST_CANCELED };

/* A session row whose record is its id (borrowed: id must outlive the job that writes it). */
static store_session mk(const char *account, const char *id, int64_t created)
{
    return (store_session){
        .id = id, .account = account, .created = created, .status = ST_INPUT, .record = rec(id)};
}

typedef struct sjob {
    const store_session *s;
    int if_status;
    int ret; /* returned after a successful write: non-zero asks for a rollback */
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
    int rc = store_txn_session_update(t, j->s, j->if_status);
    return rc != 0 ? rc : j->ret;
}

static int insert(fixture *f, const store_session *s)
{
    sjob j = {s, -1, 0};
    return store_run(f->st, insert_fn, &j);
}

static int update(fixture *f, const store_session *s, int if_status)
{
    sjob j = {s, if_status, 0};
    return store_run(f->st, update_fn, &j);
}

static int get(fixture *f, const char *account, const char *id, store_record *out)
{
    return store_session_get(f->st, account, id, f->a, out);
}

/* The stored record of (account, id) is want (NULL: there is none). */
static void expect_session(fixture *f, const char *account, const char *id, const char *want)
{
    store_record got;
    int rc = get(f, account, id, &got);
    if (want == NULL) {
        assert_int_equal(rc, STORE_NOT_FOUND);
        return;
    }
    assert_int_equal(rc, 0);
    assert_rec_str(got, want);
}

/* List with q; the page's records (ids) joined by spaces. */
static const char *list_ids(fixture *f, const store_session_query *q, int *has_more, int *rc)
{
    store_record *items = NULL;
    size_t n = 99;
    int more = -1;
    *rc = store_session_list(f->st, q, f->a, &items, &n, &more);
    if (*rc != 0) assert_int_equal(n, 0);
    if (has_more != NULL) *has_more = more;
    return join(f, items, n);
}

static void expect_list(fixture *f, const store_session_query *q, const char *ids, int has_more)
{
    int more, rc;
    const char *got = list_ids(f, q, &more, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(got, ids);
    assert_int_equal(more, has_more);
}

static void expect_list_rc(fixture *f, const store_session_query *q, int want)
{
    int rc;
    list_ids(f, q, NULL, &rc);
    assert_int_equal(rc, want);
}

/* ---- tests: sessions ---- */

static void test_session_roundtrip_and_isolation(void **state)
{
    fixture *f = *state;
    /* Any bytes: embedded NULs, bytes that are not UTF-8, a NUL at the end. */
    static const unsigned char bytes[] = {'v', 0, 's', 0xff, 0xfe, '\n', 0, 0x80, 'x', 0};
    store_session s = mk("acct_A", "vs_full", 1700000000);
    s.status = ST_PROCESSING;
    s.client_reference_id = "ref-1";
    s.related_customer = "cus_1";
    s.related_customer_account = "acct_C";
    s.redaction_due = 1700000005000;
    s.record = (store_record){bytes, sizeof bytes};
    assert_int_equal(insert(f, &s), 0);
    store_record got;
    assert_int_equal(get(f, "acct_A", "vs_full", &got), 0);
    assert_rec_eq(got, bytes, sizeof bytes);

    /* An empty record is kept as empty. */
    store_session e = mk("acct_A", "vs_empty", 1700000001);
    e.record = (store_record){NULL, 0};
    assert_int_equal(insert(f, &e), 0);
    assert_int_equal(get(f, "acct_A", "vs_empty", &got), 0);
    assert_int_equal(got.len, 0);
    store_session e2 = mk("acct_A", "vs_empty2", 1700000002);
    e2.record = (store_record){"", 0};
    assert_int_equal(insert(f, &e2), 0);
    assert_int_equal(get(f, "acct_A", "vs_empty2", &got), 0);
    assert_int_equal(got.len, 0);

    /* The same id under another account, and an unknown id, are not found. */
    expect_session(f, "acct_B", "vs_full", NULL);
    expect_session(f, "acct_A", "vs_nope", NULL);
    store_session_query q = {.account = "acct_B", .limit = 10};
    expect_list(f, &q, "", 0);

    /* Inserting the id again, even under another account, is refused and changes nothing. */
    store_session dup = mk("acct_B", "vs_full", 1);
    assert_int_equal(insert(f, &dup), STORE_EXISTS);
    dup.account = "acct_A";
    assert_int_equal(insert(f, &dup), STORE_EXISTS);
    expect_session(f, "acct_B", "vs_full", NULL);
    expect_list(f, &q, "", 0);
    assert_int_equal(get(f, "acct_A", "vs_full", &got), 0);
    assert_rec_eq(got, bytes, sizeof bytes);

    /* Still there after a reopen (no cache then: read from the backend). */
    reopen(f);
    assert_int_equal(get(f, "acct_A", "vs_full", &got), 0);
    assert_rec_eq(got, bytes, sizeof bytes);
    assert_int_equal(get(f, "acct_A", "vs_empty", &got), 0);
    assert_int_equal(got.len, 0);
    expect_session(f, "acct_B", "vs_full", NULL);
    assert_int_equal(insert(f, &dup), STORE_EXISTS);
}

/* Reads inside a job: committed sessions, and the job's own uncommitted writes. */
typedef struct read_ctx {
    arena *a;
    const char *account, *id;
    store_record got;
    const store_session *insert_first; /* inserted by the job before it reads (NULL: none) */
    int second_insert_rc;              /* the same insert again, after the read */
} read_ctx;

static int txn_get_fn(store_txn *t, void *ctx)
{
    read_ctx *r = ctx;
    if (r->insert_first != NULL) {
        int rc = store_txn_session_insert(t, r->insert_first);
        if (rc != 0) return rc;
    }
    int rc = store_txn_session_get(t, r->account, r->id, r->a, &r->got);
    if (rc == 0 && r->insert_first != NULL)
        r->second_insert_rc = store_txn_session_insert(t, r->insert_first);
    return rc;
}

static void test_txn_get(void **state)
{
    fixture *f = *state;
    store_session s = mk("acct_A", "vs_t", 5);
    s.record = rec("record of vs_t");
    assert_int_equal(insert(f, &s), 0);
    read_ctx r = {.a = f->a, .account = "acct_A", .id = "vs_t"};
    assert_int_equal(store_run(f->st, txn_get_fn, &r), 0);
    assert_rec_str(r.got, "record of vs_t");
    r.id = "vs_none";
    assert_int_equal(store_run(f->st, txn_get_fn, &r), STORE_NOT_FOUND);
    r.id = "vs_t";
    r.account = "acct_B";
    assert_int_equal(store_run(f->st, txn_get_fn, &r), STORE_NOT_FOUND);

    /* A job sees its own insert, and inserting that id again in the same job is refused. */
    store_session mine = mk("acct_A", "vs_mine", 6);
    r = (read_ctx){.a = f->a, .account = "acct_A", .id = "vs_mine", .insert_first = &mine};
    assert_int_equal(store_run(f->st, txn_get_fn, &r), 0);
    assert_rec_str(r.got, "vs_mine");
    assert_int_equal(r.second_insert_rc, STORE_EXISTS);
    expect_session(f, "acct_A", "vs_mine", "vs_mine");
}

static void test_session_update(void **state)
{
    fixture *f = *state;
    store_session s = mk("acct_A", "vs_u", 100);
    s.client_reference_id = "old";
    s.record = rec("v1");
    assert_int_equal(insert(f, &s), 0);

    s.status = ST_VERIFIED;
    s.client_reference_id = "new";
    s.related_customer = "cus_9";
    s.related_customer_account = "acct_X";
    s.record = rec("v2");
    assert_int_equal(update(f, &s, -1), 0);
    expect_session(f, "acct_A", "vs_u", "v2");

    /* The indexed columns followed the record. */
    store_session_query q = {.account = "acct_A", .limit = 10, .client_reference_id = "new"};
    expect_list(f, &q, "v2", 0);
    q.client_reference_id = "old";
    expect_list(f, &q, "", 0);
    q = (store_session_query){
        .account = "acct_A", .limit = 10, .has_status = 1, .status = ST_VERIFIED};
    expect_list(f, &q, "v2", 0);
    q.status = ST_INPUT;
    expect_list(f, &q, "", 0);
    q = (store_session_query){.account = "acct_A", .limit = 10, .related_customer = "cus_9"};
    expect_list(f, &q, "v2", 0);
    q = (store_session_query){
        .account = "acct_A", .limit = 10, .related_customer_account = "acct_X"};
    expect_list(f, &q, "v2", 0);

    /* Columns can be cleared again. */
    s.client_reference_id = s.related_customer = s.related_customer_account = NULL;
    s.record = rec("v3");
    assert_int_equal(update(f, &s, -1), 0);
    q = (store_session_query){.account = "acct_A", .limit = 10, .related_customer = "cus_9"};
    expect_list(f, &q, "", 0);
    q = (store_session_query){.account = "acct_A", .limit = 10, .client_reference_id = "new"};
    expect_list(f, &q, "", 0);

    /* created is immutable: an update carrying another one leaves the session where it was. */
    store_session moved = s;
    moved.created = 999999;
    moved.record = rec("v4");
    assert_int_equal(update(f, &moved, -1), 0);
    q = (store_session_query){.account = "acct_A", .limit = 10};
    q.created.has_eq = 1;
    q.created.eq = 100;
    expect_list(f, &q, "v4", 0);
    q.created.eq = 999999;
    expect_list(f, &q, "", 0);

    /* Update is by (account, id): another account's copy does not exist. */
    store_session other = s;
    other.account = "acct_B";
    assert_int_equal(update(f, &other, -1), STORE_NOT_FOUND);
    assert_int_equal(update(f, &other, ST_VERIFIED), STORE_NOT_FOUND);
    store_session missing = mk("acct_A", "vs_missing", 1);
    assert_int_equal(update(f, &missing, -1), STORE_NOT_FOUND);
    assert_int_equal(update(f, &missing, ST_INPUT), STORE_NOT_FOUND);
    expect_session(f, "acct_A", "vs_u", "v4");
    expect_session(f, "acct_B", "vs_u", NULL);
}

/* store_txn_session_update applies only while the stored status is the one asked for. */
static void test_session_update_conditional(void **state)
{
    fixture *f = *state;
    store_session s = mk("acct_A", "vs_c", 100);
    s.record = rec("input");
    assert_int_equal(insert(f, &s), 0);

    /* The stored status is ST_INPUT: asking for another one is a conflict and changes nothing. */
    s.status = ST_PROCESSING;
    s.client_reference_id = "lost";
    s.record = rec("lost");
    assert_int_equal(update(f, &s, ST_VERIFIED), STORE_CONFLICT);
    expect_session(f, "acct_A", "vs_c", "input");
    store_session_query q = {.account = "acct_A", .limit = 10, .client_reference_id = "lost"};
    expect_list(f, &q, "", 0);
    q = (store_session_query){
        .account = "acct_A", .limit = 10, .has_status = 1, .status = ST_INPUT};
    expect_list(f, &q, "input", 0);

    /* The status read: applies. */
    s.client_reference_id = NULL;
    s.record = rec("processing");
    assert_int_equal(update(f, &s, ST_INPUT), 0);
    expect_session(f, "acct_A", "vs_c", "processing");
    /* The same change again is now a conflict: the status moved on. */
    assert_int_equal(update(f, &s, ST_INPUT), STORE_CONFLICT);
    /* if_status < 0: whatever the stored status. */
    s.status = ST_VERIFIED;
    s.record = rec("verified");
    assert_int_equal(update(f, &s, -1), 0);
    expect_session(f, "acct_A", "vs_c", "verified");
    assert_int_equal(update(f, &s, ST_VERIFIED), 0);

    /* Survives a reopen like any write. */
    reopen(f);
    expect_session(f, "acct_A", "vs_c", "verified");
    s.record = rec("after reopen");
    assert_int_equal(update(f, &s, ST_PROCESSING), STORE_CONFLICT);
    expect_session(f, "acct_A", "vs_c", "verified");
}

static void test_list_order_ties(void **state)
{
    fixture *f = *state;
    char id[5][32];
    for (int i = 0; i < 5; i++) {
        snprintf(id[i], sizeof id[i], "vs_%d", i);
        store_session s = mk("acct_A", id[i], 1000);
        assert_int_equal(insert(f, &s), 0);
    }
    store_session older = mk("acct_A", "vs_old", 999);
    store_session newer = mk("acct_A", "vs_new", 1001);
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
    q.ending_before = "vs_3";
    expect_list(f, &q, "vs_new vs_4", 0);
}

static void test_list_filters(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *id, *other_id;
        int status;
        const char *ref, *cus, *cacct;
    } rows[] = {
        {"vs_a", "vs_a_other", ST_INPUT, "r1", "cus_1", NULL},
        {"vs_b", "vs_b_other", ST_VERIFIED, "r1", NULL, "acct_X"},
        {"vs_c", "vs_c_other", ST_VERIFIED, "r2", "cus_1", "acct_X"},
        {"vs_d", "vs_d_other", ST_CANCELED, NULL, "cus_2", NULL},
        {"vs_e", "vs_e_other", ST_VERIFIED, "r1", "cus_1", "acct_Y"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        store_session s = mk("acct_A", rows[i].id, 100 + (int64_t)i);
        s.status = rows[i].status;
        s.client_reference_id = rows[i].ref;
        s.related_customer = rows[i].cus;
        s.related_customer_account = rows[i].cacct;
        assert_int_equal(insert(f, &s), 0);
        /* The same shape in another account, which no filter may ever return. */
        s.id = rows[i].other_id;
        s.account = "acct_B";
        s.record = rec(rows[i].other_id);
        assert_int_equal(insert(f, &s), 0);
    }
    store_session_query base = {.account = "acct_A", .limit = 10};
    store_session_query q = base;
    expect_list(f, &q, "vs_e vs_d vs_c vs_b vs_a", 0);

    q = base;
    q.has_status = 1;
    q.status = ST_VERIFIED;
    expect_list(f, &q, "vs_e vs_c vs_b", 0);
    q.status = ST_PROCESSING;
    expect_list(f, &q, "", 0);
    /* has_status says whether status filters: a zero status is a value like any other. */
    q.status = 0;
    expect_list(f, &q, "", 0);
    q.has_status = 0;
    expect_list(f, &q, "vs_e vs_d vs_c vs_b vs_a", 0);

    q = base;
    q.client_reference_id = "r1";
    expect_list(f, &q, "vs_e vs_b vs_a", 0);
    q.client_reference_id = "r";
    expect_list(f, &q, "", 0);
    q = base;
    q.related_customer = "cus_1";
    expect_list(f, &q, "vs_e vs_c vs_a", 0);
    q = base;
    q.related_customer_account = "acct_X";
    expect_list(f, &q, "vs_c vs_b", 0);

    /* Filters combine with AND. */
    q = base;
    q.has_status = 1;
    q.status = ST_VERIFIED;
    q.client_reference_id = "r1";
    expect_list(f, &q, "vs_e vs_b", 0);
    q.related_customer = "cus_1";
    expect_list(f, &q, "vs_e", 0);
    q.related_customer_account = "acct_X";
    expect_list(f, &q, "", 0);
    q = base;
    q.related_customer = "cus_1";
    q.related_customer_account = "acct_X";
    expect_list(f, &q, "vs_c", 0);
    q = base;
    q.client_reference_id = "r1";
    q.created.has_lte = 1;
    q.created.lte = 101;
    expect_list(f, &q, "vs_b vs_a", 0);

    /* Paging within a filter; the cursor need not match the filter. */
    q = base;
    q.has_status = 1;
    q.status = ST_VERIFIED;
    q.limit = 1;
    expect_list(f, &q, "vs_e", 1);
    q.starting_after = "vs_d";
    expect_list(f, &q, "vs_c", 1);
    q.starting_after = "vs_c";
    expect_list(f, &q, "vs_b", 0);
    q.starting_after = NULL;
    q.ending_before = "vs_a";
    expect_list(f, &q, "vs_b", 1);
    q.ending_before = "vs_d";
    expect_list(f, &q, "vs_e", 0);
    /* A cursor of another account is refused under a filter too. */
    q.ending_before = "vs_d_other";
    expect_list_rc(f, &q, STORE_CURSOR);
}

static void test_list_created_ranges(void **state)
{
    fixture *f = *state;
    char id[10][32];
    for (int i = 0; i < 10; i++) {
        snprintf(id[i], sizeof id[i], "vs_%d", 100 + i);
        store_session s = mk("acct_A", id[i], 100 + i);
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
    /* A cursor outside the range still positions the page. */
    q.ending_before = NULL;
    q.starting_after = "vs_109";
    expect_list(f, &q, "vs_103", 1);

    /* A value set without its has_ flag is ignored. */
    q = base;
    q.created.eq = 105;
    q.created.lt = 0;
    expect_list(f, &q, "vs_109 vs_108 vs_107 vs_106 vs_105 vs_104 vs_103 vs_102 vs_101 vs_100", 0);

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
    q = base;
    q.created.has_gte = q.created.has_lte = 1;
    q.created.gte = 107;
    q.created.lte = 103;
    expect_list(f, &q, "", 0);
    /* An empty range still checks its cursor. */
    q = base;
    q.created.has_gt = 1;
    q.created.gt = INT64_MAX;
    q.starting_after = "vs_nope";
    expect_list_rc(f, &q, STORE_CURSOR);
}

static void test_list_pagination(void **state)
{
    fixture *f = *state;
    static char ids[25][32], bids[25][32];
    /* 25 sessions, three per second so that created ties cross page boundaries, interleaved
     * with another account's. */
    for (int i = 0; i < 25; i++) {
        snprintf(ids[i], sizeof ids[i], "vs_%02d", i);
        store_session s = mk("acct_A", ids[i], 1000 + i / 3);
        assert_int_equal(insert(f, &s), 0);
        snprintf(bids[i], sizeof bids[i], "vs_b%02d", i);
        s = mk("acct_B", bids[i], 1000 + i / 3);
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
    q.starting_after = NULL;
    q.ending_before = "vs_14";
    expect_list(f, &q, p1, 0);

    /* Cursors: another account's object, an unknown one, or both at once. */
    q.ending_before = NULL;
    q.starting_after = "vs_b10";
    expect_list_rc(f, &q, STORE_CURSOR);
    q.starting_after = NULL;
    q.ending_before = "vs_b10";
    expect_list_rc(f, &q, STORE_CURSOR);
    q.ending_before = "vs_nope";
    expect_list_rc(f, &q, STORE_CURSOR);
    q.ending_before = NULL;
    q.starting_after = "vs_nope";
    expect_list_rc(f, &q, STORE_CURSOR);
    q.starting_after = "vs_10";
    q.ending_before = "vs_20";
    expect_list_rc(f, &q, STORE_CURSOR);

    /* Limits are clamped to 1..100. */
    q = (store_session_query){.account = "acct_A", .limit = 0};
    expect_list(f, &q, "vs_24", 1);
    q.limit = -5;
    expect_list(f, &q, "vs_24", 1);
    q.limit = 1000;
    int more, rc;
    list_ids(f, &q, &more, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(more, 0);
    /* ...and 100 of 150 with more beyond. */
    static char many[125][32];
    for (int i = 0; i < 125; i++) {
        snprintf(many[i], sizeof many[i], "vs_m%03d", i);
        store_session s = mk("acct_A", many[i], 2000 + i);
        assert_int_equal(insert(f, &s), 0);
    }
    store_record *items;
    size_t n;
    q.limit = 1000;
    assert_int_equal(store_session_list(f->st, &q, f->a, &items, &n, &more), 0);
    assert_int_equal(n, 100);
    assert_int_equal(more, 1);
    assert_rec_str(items[0], "vs_m124");
    assert_rec_str(items[99], "vs_m025");
}

/* ---- jobs queued together ---- */

/* A submitted job the test waits for by hand (store_submit's done callback). */
typedef struct tjob {
    store_job_fn work;
    void *work_ctx;
    int rc;
    int finished, done_calls;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} tjob;

static int tjob_fn(store_txn *t, void *ctx)
{
    tjob *j = ctx;
    return j->work(t, j->work_ctx);
}

static void tjob_done(void *ctx, int rc)
{
    tjob *j = ctx;
    pthread_mutex_lock(&j->mu);
    j->rc = rc;
    j->finished = 1;
    j->done_calls++;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static void tjob_submit(store *st, tjob *j, store_job_fn work, void *work_ctx)
{
    j->work = work;
    j->work_ctx = work_ctx;
    j->finished = j->done_calls = 0;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    store_submit(st, tjob_fn, tjob_done, j);
}

/* Wait for j's done callback; its rc. */
static int tjob_wait(tjob *j)
{
    pthread_mutex_lock(&j->mu);
    while (!j->finished)
        pthread_cond_wait(&j->cv, &j->mu);
    pthread_mutex_unlock(&j->mu);
    assert_int_equal(j->done_calls, 1);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    return j->rc;
}

/* A job that holds the writer until released, so the test can queue jobs behind it (on a
 * backend that batches, they then share a transaction). */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered, open;
    tjob job;
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

/* Submit the gate job and wait until it runs. */
static void gate_hold(store *st, gate *g)
{
    g->entered = g->open = 0;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    tjob_submit(st, &g->job, gate_fn, g);
    pthread_mutex_lock(&g->mu);
    while (!g->entered)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

/* Let the gate job finish, and wait for it. */
static void gate_release(gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    assert_int_equal(tjob_wait(&g->job), 0);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
}

static int fail_plain_fn(store_txn *t, void *ctx)
{
    (void)t, (void)ctx;
    return STORE_ABORTED;
}

/* Of two jobs that change one session from the status they both read, exactly one wins; the
 * loser's record is never seen. */
static void test_session_update_race(void **state)
{
    fixture *f = *state;
    store_session s = mk("acct_A", "vs_race", 1);
    s.record = rec("input");
    assert_int_equal(insert(f, &s), 0);

    gate g;
    gate_hold(f->st, &g);
    store_session a = s, b = s;
    a.status = ST_VERIFIED;
    a.record = rec("verified");
    b.status = ST_CANCELED;
    b.record = rec("canceled");
    sjob ja = {&a, ST_INPUT, 0}, jb = {&b, ST_INPUT, 0};
    tjob ta, tb;
    tjob_submit(f->st, &ta, update_fn, &ja);
    tjob_submit(f->st, &tb, update_fn, &jb);
    gate_release(&g);
    int ra = tjob_wait(&ta), rb = tjob_wait(&tb);
    assert_true((ra == 0 && rb == STORE_CONFLICT) || (ra == STORE_CONFLICT && rb == 0));
    const char *winner = ra == 0 ? "verified" : "canceled";
    expect_session(f, "acct_A", "vs_race", winner);
    store_session_query q = {.account = "acct_A",
                             .limit = 10,
                             .has_status = 1,
                             .status = ra == 0 ? ST_VERIFIED : ST_CANCELED};
    expect_list(f, &q, winner, 0);
    reopen(f);
    expect_session(f, "acct_A", "vs_race", winner);
}

/* A job whose write failed (a conflict) but that returns 0 commits, without that write. */
typedef struct conflict_ctx {
    const store_session *bad;  /* updated with an if_status that does not match */
    const store_session *good; /* then inserted */
    int bad_rc;
} conflict_ctx;

static int conflict_then_insert_fn(store_txn *t, void *ctx)
{
    conflict_ctx *c = ctx;
    c->bad_rc = store_txn_session_update(t, c->bad, ST_CANCELED);
    return store_txn_session_insert(t, c->good);
}

/* A job that writes one of everything, then returns ret. */
typedef struct all_ctx {
    const char *sfx; /* makes the ids unique: "vs_<sfx>", "evt_<sfx>", ... */
    int ret;
    char sid[32], eid[32], rid[32], wid[32], key[32];
} all_ctx;

static int write_all_fn(store_txn *t, void *ctx)
{
    all_ctx *c = ctx;
    snprintf(c->sid, sizeof c->sid, "vs_%s", c->sfx);
    snprintf(c->eid, sizeof c->eid, "evt_%s", c->sfx);
    snprintf(c->rid, sizeof c->rid, "vr_%s", c->sfx);
    snprintf(c->wid, sizeof c->wid, "we_%s", c->sfx);
    snprintf(c->key, sizeof c->key, "key_%s", c->sfx);
    store_session s = mk("acct_A", c->sid, 10);
    int rc = store_txn_session_insert(t, &s);
    store_event e = {.id = c->eid,
                     .account = "acct_A",
                     .created = 10,
                     .type = "t",
                     .object_id = c->sid,
                     .snapshot = rec("snap"),
                     .pending_webhooks = 1};
    if (rc == 0) rc = store_txn_event_insert(t, &e);
    store_report r = {.id = c->rid,
                      .account = "acct_A",
                      .created = 10,
                      .type = 1,
                      .verification_session = c->sid,
                      .record = rec(c->rid)};
    if (rc == 0) rc = store_txn_report_insert(t, &r);
    store_webhook w = {.id = c->wid,
                       .account = "acct_A",
                       .created = 10,
                       .url = "https://example.com/hook",
                       .secret = "whsec_1"};
    if (rc == 0) rc = store_txn_webhook_insert(t, &w, 100);
    if (rc == 0) rc = store_txn_delivery_add(t, &e, c->wid, 0);
    store_idem v = {.status = 200, .body = "{}", .body_len = 2, .created = 10};
    memset(v.fingerprint, 'f', 64);
    store_idem existing;
    arena *a = arena_new();
    if (rc == 0) rc = store_txn_idem_put(t, "acct_A", c->key, &v, 0, a, &existing);
    arena_free(a);
    if (rc == 0) rc = store_txn_link_put(t, c->key, strlen(c->key), "acct_A", c->sid);
    if (rc == 0) rc = store_txn_outcome_set(t, "acct_A", c->sid, 5);
    return rc != 0 ? rc : c->ret;
}

/* Whether every write of write_all_fn(c) is there (1) or none is (0); fails on a mix. */
static int all_present(fixture *f, const all_ctx *c)
{
    store_record r;
    store_event e;
    store_webhook w;
    store_idem v;
    const char *acct, *sid;
    int n = 0;
    n += get(f, "acct_A", c->sid, &r) == 0;
    n += store_event_get(f->st, "acct_A", c->eid, f->a, &e) == 0;
    n += store_report_get(f->st, "acct_A", c->rid, f->a, &r) == 0;
    n += store_webhook_get(f->st, "acct_A", c->wid, f->a, &w) == 0;
    n += store_idem_get(f->st, "acct_A", c->key, f->a, &v) == 0;
    n += store_link_find(f->st, c->key, strlen(c->key), f->a, &acct, &sid) == 0;
    const char **accounts, **ids;
    size_t k;
    assert_int_equal(store_outcomes_due(f->st, 1000, 100, f->a, &accounts, &ids, &k), 0);
    for (size_t i = 0; i < k; i++)
        n += strcmp(ids[i], c->sid) == 0;
    store_delivery *d;
    assert_int_equal(store_deliveries_due(f->st, 1000, 0, 100, f->a, &d, &k), 0);
    for (size_t i = 0; i < k; i++)
        n += strcmp(d[i].event.id, c->eid) == 0;
    assert_true(n == 0 || n == 8);
    return n == 8;
}

/* A job that returns non-zero rolls back all of its own changes and nothing of the jobs it was
 * queued with; the others' results are their own. */
static void test_failing_job_keeps_batch_mates(void **state)
{
    fixture *f = *state;
    store_session pre = mk("acct_A", "vs_pre", 0); /* stored status ST_INPUT */
    assert_int_equal(insert(f, &pre), 0);
    gate g;
    gate_hold(f->st, &g);

    store_session a = mk("acct_A", "vs_a", 1), b = mk("acct_A", "vs_b", 2),
                  c = mk("acct_A", "vs_c", 3), d = mk("acct_A", "vs_d", 4);
    sjob ca = {&a, -1, 0}, cb = {&b, -1, STORE_ABORTED}, cc = {&c, -1, 0}, cd = {&a, -1, 0};
    all_ctx kept = {.sfx = "kept", .ret = 0}, dropped = {.sfx = "dropped", .ret = STORE_ABORTED};
    store_session pre2 = pre;
    pre2.status = ST_VERIFIED;
    pre2.record = rec("never"); /* asks for ST_CANCELED: a conflict */
    conflict_ctx cx = {&pre2, &d, 0};
    tjob ja, jb, jc, jd, je, jk, jx, jdrop;
    tjob_submit(f->st, &ja, insert_fn, &ca);
    tjob_submit(f->st, &jb, insert_fn, &cb);            /* inserts, then asks for its rollback */
    tjob_submit(f->st, &jdrop, write_all_fn, &dropped); /* writes everything, rolls back */
    tjob_submit(f->st, &jc, insert_fn, &cc);
    tjob_submit(f->st, &jd, insert_fn, &cd); /* vs_a again: one of the two is refused */
    tjob_submit(f->st, &je, fail_plain_fn, NULL);
    tjob_submit(f->st, &jk, write_all_fn, &kept);
    tjob_submit(f->st, &jx, conflict_then_insert_fn, &cx);
    gate_release(&g);

    int ra = tjob_wait(&ja);
    assert_int_equal(tjob_wait(&jb), STORE_ABORTED);
    assert_int_equal(tjob_wait(&jdrop), STORE_ABORTED);
    assert_int_equal(tjob_wait(&jc), 0);
    int rd = tjob_wait(&jd);
    assert_true((ra == 0 && rd == STORE_EXISTS) || (ra == STORE_EXISTS && rd == 0));
    assert_int_equal(tjob_wait(&je), STORE_ABORTED);
    assert_int_equal(tjob_wait(&jk), 0);
    assert_int_equal(tjob_wait(&jx), 0);
    assert_int_equal(cx.bad_rc, STORE_CONFLICT);
    for (int pass = 0; pass < 2; pass++) {
        expect_session(f, "acct_A", "vs_a", "vs_a");
        expect_session(f, "acct_A", "vs_b", NULL);
        expect_session(f, "acct_A", "vs_c", "vs_c");
        expect_session(f, "acct_A", "vs_d", "vs_d");
        expect_session(f, "acct_A", "vs_pre", "vs_pre");
        assert_int_equal(all_present(f, &kept), 1);
        assert_int_equal(all_present(f, &dropped), 0);
        store_session_query q = {.account = "acct_A", .limit = 100};
        expect_list(f, &q, "vs_kept vs_d vs_c vs_a vs_pre", 0);
        reopen(f);
    }
    /* The ids the rolled-back jobs used are free. */
    assert_int_equal(insert(f, &b), 0);
    all_ctx again = {.sfx = "dropped", .ret = 0};
    assert_int_equal(store_run(f->st, write_all_fn, &again), 0);
    assert_int_equal(all_present(f, &again), 1);
}

/* ---- done callbacks ---- */

/* What a done callback saw: called once, with the job's rc; the job ran before it. */
typedef struct seen {
    int ran, calls, rc, ran_at_done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} seen;

typedef struct done_job {
    seen *sn;
    const store_session *s; /* inserted (NULL: none) */
    int ret;
} done_job;

static int done_job_fn(store_txn *t, void *ctx)
{
    done_job *j = ctx;
    j->sn->ran++;
    int rc = j->s != NULL ? store_txn_session_insert(t, j->s) : 0;
    return rc != 0 ? rc : j->ret;
}

static void done_cb(void *ctx, int rc)
{
    done_job *j = ctx;
    pthread_mutex_lock(&j->sn->mu);
    j->sn->calls++;
    j->sn->rc = rc;
    j->sn->ran_at_done = j->sn->ran;
    pthread_cond_broadcast(&j->sn->cv);
    pthread_mutex_unlock(&j->sn->mu);
}

static void seen_wait(seen *sn)
{
    pthread_mutex_lock(&sn->mu);
    while (sn->calls == 0)
        pthread_cond_wait(&sn->cv, &sn->mu);
    pthread_mutex_unlock(&sn->mu);
}

static int run_ret_fn(store_txn *t, void *ctx)
{
    (void)t;
    return *(int *)ctx;
}

static void test_done_callbacks(void **state)
{
    fixture *f = *state;
    /* store_run returns what the job returned, whatever the value. */
    int v = 0;
    assert_int_equal(store_run(f->st, run_ret_fn, &v), 0);
    v = 42;
    assert_int_equal(store_run(f->st, run_ret_fn, &v), 42);
    v = STORE_ABORTED;
    assert_int_equal(store_run(f->st, run_ret_fn, &v), STORE_ABORTED);

    /* store_submit: done runs once, after the job, with its rc; once it has started, every
     * read sees the job's write. */
    seen sn = {0};
    pthread_mutex_init(&sn.mu, NULL);
    pthread_cond_init(&sn.cv, NULL);
    store_session s = mk("acct_A", "vs_done", 1);
    done_job j = {&sn, &s, 0};
    store_submit(f->st, done_job_fn, done_cb, &j);
    seen_wait(&sn);
    expect_session(f, "acct_A", "vs_done", "vs_done");
    store_session_query q = {.account = "acct_A", .limit = 10};
    expect_list(f, &q, "vs_done", 0);
    pthread_mutex_lock(&sn.mu);
    assert_int_equal(sn.calls, 1);
    assert_int_equal(sn.rc, 0);
    assert_int_equal(sn.ran_at_done, 1);
    pthread_mutex_unlock(&sn.mu);

    /* A failing job's done gets its rc. */
    sn.calls = sn.ran = 0;
    j = (done_job){&sn, &s, 0}; /* vs_done again */
    store_submit(f->st, done_job_fn, done_cb, &j);
    seen_wait(&sn);
    assert_int_equal(sn.rc, STORE_EXISTS);
    sn.calls = sn.ran = 0;
    j = (done_job){&sn, NULL, 7};
    store_submit(f->st, done_job_fn, done_cb, &j);
    seen_wait(&sn);
    assert_int_equal(sn.rc, 7);
    assert_int_equal(sn.ran_at_done, 1);

    /* done may be NULL: the job still runs (and a later job sees it). */
    store_session quiet = mk("acct_A", "vs_quiet", 2);
    sjob qj = {&quiet, -1, 0};
    store_submit(f->st, insert_fn, NULL, &qj);
    int zero = 0;
    assert_int_equal(store_run(f->st, run_ret_fn, &zero), 0);
    store_close(f->st); /* drains whatever is still queued */
    f->st = fx_store_open(f->data, NULL);
    expect_session(f, "acct_A", "vs_quiet", "vs_quiet");
    pthread_mutex_lock(&sn.mu);
    assert_int_equal(sn.calls, 1); /* never called twice */
    pthread_mutex_unlock(&sn.mu);
    pthread_cond_destroy(&sn.cv);
    pthread_mutex_destroy(&sn.mu);
}

static int g_close_done;

static void count_done(void *ctx, int rc)
{
    (void)ctx;
    if (rc == 0) g_close_done++; /* read after store_close, which waits for every done */
}

/* store_close runs every queued job, and their done callbacks, before it returns. */
static void test_close_drains_queue(void **state)
{
    fixture *f = *state;
    enum { N = 300 };
    static char ids[N][32];
    static store_session s[N];
    static sjob c[N];
    g_close_done = 0;
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "vs_q%03d", i);
        s[i] = mk("acct_A", ids[i], i);
        c[i] = (sjob){&s[i], -1, 0};
        store_submit(f->st, insert_fn, count_done, &c[i]);
    }
    store_submit(f->st, fail_plain_fn, NULL, NULL); /* done may be NULL */
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(g_close_done, N);
    f->st = fx_store_open(f->data, NULL);
    store_session_query q = {.account = "acct_A", .limit = 2};
    expect_list(f, &q, "vs_q299 vs_q298", 1);
    expect_session(f, "acct_A", "vs_q000", "vs_q000");
}

/* ---- the session cache above the backend ---- */

/* Updates s to each of recs in turn, in one job, then returns ret. */
typedef struct multi_ctx {
    store_session s;
    const char *recs[3];
    int ret;
} multi_ctx;

static int update_each_fn(store_txn *t, void *ctx)
{
    multi_ctx *m = ctx;
    for (int i = 0; i < 3 && m->recs[i] != NULL; i++) {
        m->s.record = rec(m->recs[i]);
        int rc = store_txn_session_update(t, &m->s, -1);
        if (rc != 0) return rc;
    }
    return m->ret;
}

/* Reads may be served from memory after the first: what they see must always be what committed,
 * never a write that was rolled back or refused. */
static void test_reads_follow_commits(void **state)
{
    fixture *f = *state;
    store_session s = mk("acct_A", "vs_cached", 1);
    s.record = rec("v1");
    assert_int_equal(insert(f, &s), 0);
    expect_session(f, "acct_A", "vs_cached", "v1"); /* from the backend */
    expect_session(f, "acct_A", "vs_cached", "v1"); /* perhaps from memory */

    /* A job that updates and then rolls back. */
    sjob j = {&s, -1, STORE_ABORTED};
    s.record = rec("rolled back");
    assert_int_equal(store_run(f->st, update_fn, &j), STORE_ABORTED);
    expect_session(f, "acct_A", "vs_cached", "v1");

    /* A refused (conflicting) update in a job that goes on and commits. */
    store_session other = mk("acct_A", "vs_other", 2);
    s.record = rec("conflict");
    conflict_ctx cx = {&s, &other, 0};
    assert_int_equal(store_run(f->st, conflict_then_insert_fn, &cx), 0);
    assert_int_equal(cx.bad_rc, STORE_CONFLICT);
    expect_session(f, "acct_A", "vs_cached", "v1");
    expect_session(f, "acct_A", "vs_other", "vs_other");

    /* An acknowledged update is what the next read sees, though an earlier read filled the
     * cache. */
    s.record = rec("v2");
    assert_int_equal(update(f, &s, -1), 0);
    expect_session(f, "acct_A", "vs_cached", "v2");
    expect_session(f, "acct_A", "vs_B", NULL);
    expect_session(f, "acct_B", "vs_cached", NULL);

    /* Several updates in one job: the last one is what committed. */
    multi_ctx m = {.s = s, .recs = {"v3a", "v3b", "v3"}, .ret = 0};
    assert_int_equal(store_run(f->st, update_each_fn, &m), 0);
    expect_session(f, "acct_A", "vs_cached", "v3");
    m = (multi_ctx){.s = s, .recs = {"v4a", "v4b"}, .ret = STORE_ABORTED};
    assert_int_equal(store_run(f->st, update_each_fn, &m), STORE_ABORTED);
    expect_session(f, "acct_A", "vs_cached", "v3");

    /* Queued together: a committed update, then a batch-mate's rolled-back one. */
    gate g;
    gate_hold(f->st, &g);
    multi_ctx kept = {.s = s, .recs = {"v5"}, .ret = 0};
    multi_ctx lost = {.s = s, .recs = {"v5 lost"}, .ret = STORE_ABORTED};
    tjob tk, tl;
    tjob_submit(f->st, &tk, update_each_fn, &kept);
    tjob_submit(f->st, &tl, update_each_fn, &lost);
    gate_release(&g);
    assert_int_equal(tjob_wait(&tk), 0);
    assert_int_equal(tjob_wait(&tl), STORE_ABORTED);
    expect_session(f, "acct_A", "vs_cached", "v5");

    /* A rolled-back insert is never visible, not even after a read of it. */
    store_session z = mk("acct_A", "vs_rolledback", 5);
    j = (sjob){&z, -1, STORE_ABORTED};
    assert_int_equal(store_run(f->st, insert_fn, &j), STORE_ABORTED);
    expect_session(f, "acct_A", "vs_rolledback", NULL);
    expect_session(f, "acct_A", "vs_rolledback", NULL);
    z.record = rec("for real");
    assert_int_equal(insert(f, &z), 0);
    expect_session(f, "acct_A", "vs_rolledback", "for real");

    reopen(f);
    expect_session(f, "acct_A", "vs_cached", "v5");
    expect_session(f, "acct_A", "vs_rolledback", "for real");
}

/* An update acknowledged through store_submit: once its done callback has started, a read on
 * another thread sees it, though that thread's earlier read filled the cache. */
typedef struct ack_ctx {
    store_session s;
    int done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} ack_ctx;

static int ack_update_fn(store_txn *t, void *ctx)
{
    ack_ctx *c = ctx;
    return store_txn_session_update(t, &c->s, -1);
}

static void ack_done(void *ctx, int rc)
{
    ack_ctx *c = ctx;
    pthread_mutex_lock(&c->mu);
    c->done = rc == 0 ? 1 : -1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void test_read_after_acknowledged_update(void **state)
{
    fixture *f = *state;
    store_session s = mk("acct_A", "vs_ack", 1);
    s.record = rec("r0");
    assert_int_equal(insert(f, &s), 0);
    char want[16];
    for (int i = 1; i <= 50; i++) {
        expect_session(f, "acct_A", "vs_ack", i == 1 ? "r0" : want); /* fills the cache */
        snprintf(want, sizeof want, "r%d", i);
        ack_ctx c = {.s = s, .done = 0};
        c.s.record = rec(want);
        pthread_mutex_init(&c.mu, NULL);
        pthread_cond_init(&c.cv, NULL);
        store_submit(f->st, ack_update_fn, ack_done, &c);
        pthread_mutex_lock(&c.mu);
        while (c.done == 0)
            pthread_cond_wait(&c.cv, &c.mu);
        pthread_mutex_unlock(&c.mu);
        assert_int_equal(c.done, 1);
        expect_session(f, "acct_A", "vs_ack", want);
        pthread_cond_destroy(&c.cv);
        pthread_mutex_destroy(&c.mu);
    }
}

/* ---- concurrency and durability ---- */

typedef struct writer_arg {
    store *st;
    int thread;
    int count;
    int failures;
} writer_arg;

static void *writer_thread(void *p)
{
    writer_arg *w = p;
    for (int i = 0; i < w->count; i++) {
        char id[32];
        snprintf(id, sizeof id, "vs_t%02d_%04d", w->thread, i);
        store_session s = mk("acct_A", id, 1000 + i);
        sjob j = {&s, -1, 0};
        if (store_run(w->st, insert_fn, &j) != 0) w->failures++;
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
        args[i] = (writer_arg){.st = f->st, .thread = i, .count = PER};
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
    char last[64] = "";
    int64_t last_created = INT64_MAX;
    for (;;) {
        store_record *items;
        size_t n;
        int more;
        assert_int_equal(store_session_list(f->st, &q, f->a, &items, &n, &more), 0);
        for (size_t i = 0; i < n; i++) {
            /* vs_tTT_IIII was created at 1000 + IIII */
            char id[32];
            assert_int_equal(items[i].len, 11);
            snprintf(id, sizeof id, "%.*s", (int)items[i].len, (const char *)items[i].data);
            int64_t created = 1000 + atoi(id + 7);
            assert_true(created <= last_created);
            last_created = created;
        }
        total += n;
        if (!more) break;
        snprintf(last, sizeof last, "%.*s", (int)items[n - 1].len, (const char *)items[n - 1].data);
        q.starting_after = last;
    }
    assert_int_equal(total, THREADS * PER);
    char id[32];
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < PER; i++) {
            snprintf(id, sizeof id, "vs_t%02d_%04d", t, i);
            expect_session(f, "acct_A", id, id);
        }
    }
}

/* Readers on many threads at once while the writer writes. */
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
        store_record *items, got;
        size_t n;
        int more;
        if (store_session_list(r->st, &q, a, &items, &n, &more) != 0 || n == 0) r->failures++;
        if (store_session_get(r->st, "acct_A", "vs_seed", a, &got) != 0 || got.len != 7 ||
            memcmp(got.data, "vs_seed", 7) != 0)
            r->failures++;
    }
    arena_free(a);
    return NULL;
}

static void test_concurrent_readers(void **state)
{
    fixture *f = *state;
    store_session seed = mk("acct_A", "vs_seed", 1);
    assert_int_equal(insert(f, &seed), 0);
    enum { READERS = 6 };
    pthread_t rt[READERS], wt;
    reader_arg ra[READERS];
    writer_arg wa = {.st = f->st, .thread = 0, .count = 100};
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

/* Every insert acknowledged before kill -9 is in the store afterwards. */
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
        /* The child must not fail through cmocka: it opens the store by hand. */
        close(fds[0]);
        store_config cfg = {.url = fx_store_url(), .data_dir = f->data};
        store *st;
        const char *errmsg;
        if (store_open(&cfg, &st, &errmsg) != 0) _exit(2);
        for (int i = 0;; i++) {
            char id[32];
            snprintf(id, sizeof id, "vs_k%06d", i);
            store_session s = mk("acct_A", id, i);
            sjob j = {&s, -1, 0};
            if (store_run(st, insert_fn, &j) != 0) _exit(3);
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
    assert_true(acked >= 100);

    f->st = fx_store_open(f->data, NULL);
    char id[32];
    for (int i = 0; i <= acked; i++) {
        snprintf(id, sizeof id, "vs_k%06d", i);
        expect_session(f, "acct_A", id, id);
    }
    printf("  kill -9: all %d acknowledged inserts present after restart\n", acked + 1);
}

/* ---- redactions due ---- */

static void test_redactions_due(void **state)
{
    fixture *f = *state;
    store_session a = mk("acct_A", "vs_ra", 1), b = mk("acct_B", "vs_rb", 2),
                  c = mk("acct_A", "vs_rc", 3);
    a.redaction_due = 2000;
    b.redaction_due = 1000;
    c.redaction_due = 0; /* none */
    assert_int_equal(insert(f, &a), 0);
    assert_int_equal(insert(f, &b), 0);
    assert_int_equal(insert(f, &c), 0);

    const char **accounts, **ids;
    size_t n;
    assert_int_equal(store_redactions_due(f->st, 999, 10, f->a, &accounts, &ids, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_redactions_due(f->st, 1000, 10, f->a, &accounts, &ids, &n), 0);
    assert_int_equal(n, 1); /* at now_ms is due */
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
    assert_string_equal(ids[0], "vs_rb");
    assert_int_equal(store_redactions_due(f->st, 5000, 0, f->a, &accounts, &ids, &n), 0);
    assert_int_equal(n, 0);

    /* An update that clears redaction_due takes the session off the list; one that sets it
     * puts it on. */
    b.redaction_due = 0;
    assert_int_equal(update(f, &b, -1), 0);
    c.redaction_due = 1500;
    assert_int_equal(update(f, &c, -1), 0);
    assert_int_equal(store_redactions_due(f->st, 5000, 10, f->a, &accounts, &ids, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0], "vs_rc");
    assert_string_equal(ids[1], "vs_ra");

    /* More rows than a first array holds. */
    static char many[40][32];
    for (int i = 0; i < 40; i++) {
        snprintf(many[i], sizeof many[i], "vs_many%02d", i);
        store_session s = mk("acct_C", many[i], 10);
        s.redaction_due = 3000 + i;
        assert_int_equal(insert(f, &s), 0);
    }
    assert_int_equal(store_redactions_due(f->st, 9999, 1000, f->a, &accounts, &ids, &n), 0);
    assert_int_equal(n, 42);
    assert_string_equal(ids[0], "vs_rc");
    assert_string_equal(ids[1], "vs_ra");
    assert_string_equal(ids[2], "vs_many00");
    assert_string_equal(ids[41], "vs_many39");
    assert_string_equal(accounts[41], "acct_C");
    reopen(f);
    assert_int_equal(store_redactions_due(f->st, 2999, 1000, f->a, &accounts, &ids, &n), 0);
    assert_int_equal(n, 2);
}

/* ---- idempotency keys ---- */

typedef struct idem_ctx {
    const char *account, *key;
    store_idem v;
    int64_t replace_before;
    arena *a;
    store_idem existing;
    int64_t cutoff;
    const char *object_id; /* delete_object */
} idem_ctx;

static int idem_put_fn(store_txn *t, void *ctx)
{
    idem_ctx *c = ctx;
    return store_txn_idem_put(t, c->account, c->key, &c->v, c->replace_before, c->a, &c->existing);
}

static int idem_prune_fn(store_txn *t, void *ctx)
{
    idem_ctx *c = ctx;
    return store_txn_idem_prune(t, c->cutoff);
}

static int idem_delete_object_fn(store_txn *t, void *ctx)
{
    idem_ctx *c = ctx;
    return store_txn_idem_delete_object(t, c->account, c->object_id);
}

static idem_ctx idem(fixture *f, const char *account, const char *key, int status, const char *body,
                     int64_t created, const char *object_id)
{
    idem_ctx c = {.account = account, .key = key, .a = f->a};
    memset(c.v.fingerprint, 'a' + status % 16, 64);
    c.v.status = status;
    c.v.body = body;
    c.v.body_len = body != NULL ? strlen(body) : 0;
    c.v.created = created;
    c.v.object_id = object_id;
    return c;
}

static void test_idempotency_put_get(void **state)
{
    fixture *f = *state;
    static const char body[] = "{\"id\": \"vs_1\",\n \"object\": \"x\"}";
    idem_ctx c = idem(f, "acct_A", "key-1", 200, body, 100, "vs_1");
    assert_int_equal(store_run(f->st, idem_put_fn, &c), 0);

    store_idem got;
    assert_int_equal(store_idem_get(f->st, "acct_A", "key-1", f->a, &got), 0);
    assert_memory_equal(got.fingerprint, c.v.fingerprint, 64);
    assert_int_equal(got.fingerprint[64], '\0');
    assert_int_equal(got.status, 200);
    assert_int_equal(got.body_len, sizeof body - 1);
    assert_memory_equal(got.body, body, sizeof body); /* with its NUL */
    assert_int_equal(got.created, 100);
    assert_string_equal(got.object_id, "vs_1");
    assert_int_equal(store_idem_get(f->st, "acct_B", "key-1", f->a, &got), STORE_NOT_FOUND);
    assert_int_equal(store_idem_get(f->st, "acct_A", "key-2", f->a, &got), STORE_NOT_FOUND);

    /* The first response stays: a second put with the key hands it back. */
    idem_ctx c2 = idem(f, "acct_A", "key-1", 500, "{\"error\": 1}", 150, NULL);
    c2.replace_before = 100; /* the saved one is not older than that */
    assert_int_equal(store_run(f->st, idem_put_fn, &c2), STORE_EXISTS);
    assert_int_equal(c2.existing.status, 200);
    assert_memory_equal(c2.existing.fingerprint, c.v.fingerprint, 65);
    assert_int_equal(c2.existing.body_len, sizeof body - 1);
    assert_memory_equal(c2.existing.body, body, sizeof body);
    assert_int_equal(c2.existing.created, 100);
    assert_string_equal(c2.existing.object_id, "vs_1");
    assert_int_equal(store_idem_get(f->st, "acct_A", "key-1", f->a, &got), 0);
    assert_int_equal(got.status, 200);

    /* The same key in another account is another record; an empty body is kept as empty. */
    idem_ctx c3 = idem(f, "acct_B", "key-1", 500, NULL, 300, NULL);
    assert_int_equal(store_run(f->st, idem_put_fn, &c3), 0);
    assert_int_equal(store_idem_get(f->st, "acct_B", "key-1", f->a, &got), 0);
    assert_null(got.object_id);
    assert_int_equal(got.status, 500);
    assert_int_equal(got.body_len, 0);
    assert_string_equal(got.body, "");
    assert_int_equal(store_idem_get(f->st, "acct_A", "key-1", f->a, &got), 0);
    assert_int_equal(got.status, 200);

    /* A record saved before replace_before is replaced, and the put succeeds. */
    c2.replace_before = 101;
    assert_int_equal(store_run(f->st, idem_put_fn, &c2), 0);
    assert_int_equal(store_idem_get(f->st, "acct_A", "key-1", f->a, &got), 0);
    assert_int_equal(got.status, 500);
    assert_string_equal(got.body, "{\"error\": 1}");
    assert_int_equal(got.created, 150);
    assert_null(got.object_id);
    /* ...and the replacement is now the one kept. */
    c.replace_before = 150;
    assert_int_equal(store_run(f->st, idem_put_fn, &c), STORE_EXISTS);
    assert_int_equal(c.existing.status, 500);
    assert_int_equal(c.existing.created, 150);

    /* All of it survives a reopen. */
    reopen(f);
    assert_int_equal(store_idem_get(f->st, "acct_A", "key-1", f->a, &got), 0);
    assert_int_equal(got.status, 500);
    assert_int_equal(store_idem_get(f->st, "acct_B", "key-1", f->a, &got), 0);
    assert_int_equal(got.status, 500);
}

static int idem_put_abort_fn(store_txn *t, void *ctx)
{
    int rc = idem_put_fn(t, ctx);
    return rc != 0 ? rc : STORE_ABORTED;
}

static void test_idempotency_begin_end(void **state)
{
    fixture *f = *state;
    int found = -1;
    store_idem saved;
    /* Nothing saved: held, not found. */
    assert_int_equal(store_idem_begin(f->st, "acct_A", "k", f->a, &found, &saved), 0);
    assert_int_equal(found, 0);
    /* Another request with the key is turned away while it is held... */
    found = -1;
    assert_int_equal(store_idem_begin(f->st, "acct_A", "k", f->a, &found, &saved), STORE_BUSY);
    /* ...but not one with another key, or the same key in another account. */
    assert_int_equal(store_idem_begin(f->st, "acct_A", "k2", f->a, &found, &saved), 0);
    assert_int_equal(found, 0);
    assert_int_equal(store_idem_begin(f->st, "acct_B", "k", f->a, &found, &saved), 0);
    assert_int_equal(found, 0);
    store_idem_end(f->st, "acct_A", "k2");
    store_idem_end(f->st, "acct_B", "k");

    /* The holder saves its response (a put rolled back first saves nothing), then releases. */
    idem_ctx c = idem(f, "acct_A", "k", 201, "{\"ok\": true}", 100, "vs_x");
    assert_int_equal(store_run(f->st, idem_put_abort_fn, &c), STORE_ABORTED);
    assert_int_equal(store_idem_get(f->st, "acct_A", "k", f->a, &saved), STORE_NOT_FOUND);
    assert_int_equal(store_run(f->st, idem_put_fn, &c), 0);
    assert_int_equal(store_idem_begin(f->st, "acct_A", "k", f->a, &found, &saved), STORE_BUSY);
    store_idem_end(f->st, "acct_A", "k");

    /* The next request holds it and finds the saved response. */
    found = -1;
    assert_int_equal(store_idem_begin(f->st, "acct_A", "k", f->a, &found, &saved), 0);
    assert_int_equal(found, 1);
    assert_int_equal(saved.status, 201);
    assert_int_equal(saved.body_len, 12);
    assert_string_equal(saved.body, "{\"ok\": true}");
    assert_memory_equal(saved.fingerprint, c.v.fingerprint, 65);
    assert_int_equal(saved.created, 100);
    assert_string_equal(saved.object_id, "vs_x");
    store_idem_end(f->st, "acct_A", "k");
    /* Released, it can be held again, any number of times. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(store_idem_begin(f->st, "acct_A", "k", f->a, &found, &saved), 0);
        assert_int_equal(found, 1);
        store_idem_end(f->st, "acct_A", "k");
    }
    /* Another account's same key is still free of a saved response. */
    assert_int_equal(store_idem_begin(f->st, "acct_B", "k", f->a, &found, &saved), 0);
    assert_int_equal(found, 0);
    store_idem_end(f->st, "acct_B", "k");
    /* The saved response outlives the store. */
    reopen(f);
    assert_int_equal(store_idem_begin(f->st, "acct_A", "k", f->a, &found, &saved), 0);
    assert_int_equal(found, 1);
    assert_int_equal(saved.status, 201);
    store_idem_end(f->st, "acct_A", "k");
}

/* Keys held by requests on many threads at once: each key is held by one at a time. */
typedef struct idem_thread_arg {
    store *st;
    int *holders; /* per key: how many threads hold it now (under mu) */
    pthread_mutex_t *mu;
    int overlaps, held;
} idem_thread_arg;

static void *idem_thread(void *p)
{
    idem_thread_arg *w = p;
    arena *a = arena_new();
    for (int i = 0; i < 400; i++) {
        char key[16];
        int k = i % 4;
        snprintf(key, sizeof key, "key-%d", k);
        int found;
        store_idem saved;
        int rc = store_idem_begin(w->st, "acct_A", key, a, &found, &saved);
        if (rc == STORE_BUSY) continue;
        if (rc != 0) {
            w->overlaps++;
            continue;
        }
        pthread_mutex_lock(w->mu);
        if (++w->holders[k] > 1) w->overlaps++;
        pthread_mutex_unlock(w->mu);
        w->held++;
        pthread_mutex_lock(w->mu);
        w->holders[k]--;
        pthread_mutex_unlock(w->mu);
        store_idem_end(w->st, "acct_A", key);
    }
    arena_free(a);
    return NULL;
}

static void test_idempotency_exclusive(void **state)
{
    fixture *f = *state;
    enum { THREADS = 6 };
    int holders[4] = {0};
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_t th[THREADS];
    idem_thread_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (idem_thread_arg){.st = f->st, .holders = holders, .mu = &mu};
        assert_int_equal(pthread_create(&th[i], NULL, idem_thread, &args[i]), 0);
    }
    int held = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].overlaps, 0);
        held += args[i].held;
    }
    assert_true(held > 0);
    /* Every key was released. */
    int found;
    store_idem saved;
    for (int k = 0; k < 4; k++) {
        char key[16];
        snprintf(key, sizeof key, "key-%d", k);
        assert_int_equal(store_idem_begin(f->st, "acct_A", key, f->a, &found, &saved), 0);
        store_idem_end(f->st, "acct_A", key);
    }
}

static void test_idempotency_prune_and_delete_object(void **state)
{
    fixture *f = *state;
    idem_ctx a1 = idem(f, "acct_A", "k1", 200, "{}", 100, "vs_r");
    idem_ctx a2 = idem(f, "acct_A", "k2", 200, "{}", 300, "vs_keep");
    idem_ctx a3 = idem(f, "acct_A", "k3", 200, "{}", 300, "vs_r");
    idem_ctx a4 = idem(f, "acct_A", "k4", 200, "{}", 300, NULL);
    idem_ctx b1 = idem(f, "acct_B", "k1", 200, "{}", 300, "vs_r"); /* another account's */
    idem_ctx *all[] = {&a1, &a2, &a3, &a4, &b1};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(store_run(f->st, idem_put_fn, all[i]), 0);

    /* Prune: only the records created before the cutoff. */
    idem_ctx p = {.cutoff = 200};
    assert_int_equal(store_run(f->st, idem_prune_fn, &p), 0);
    store_idem got;
    assert_int_equal(store_idem_get(f->st, "acct_A", "k1", f->a, &got), STORE_NOT_FOUND);
    assert_int_equal(store_idem_get(f->st, "acct_A", "k2", f->a, &got), 0);
    assert_int_equal(store_idem_get(f->st, "acct_B", "k1", f->a, &got), 0);
    p.cutoff = 300; /* "before": created == cutoff stays */
    assert_int_equal(store_run(f->st, idem_prune_fn, &p), 0);
    assert_int_equal(store_idem_get(f->st, "acct_A", "k2", f->a, &got), 0);

    /* delete_object: the account's records carrying the object, nothing else. */
    idem_ctx d = {.account = "acct_A", .object_id = "vs_r"};
    assert_int_equal(store_run(f->st, idem_delete_object_fn, &d), 0);
    assert_int_equal(store_idem_get(f->st, "acct_A", "k3", f->a, &got), STORE_NOT_FOUND);
    assert_int_equal(store_idem_get(f->st, "acct_A", "k2", f->a, &got), 0);
    assert_int_equal(store_idem_get(f->st, "acct_A", "k4", f->a, &got), 0);
    assert_int_equal(store_idem_get(f->st, "acct_B", "k1", f->a, &got), 0);
    assert_string_equal(got.object_id, "vs_r");
    /* Nothing to delete is not an error. */
    d.object_id = "vs_none";
    assert_int_equal(store_run(f->st, idem_delete_object_fn, &d), 0);
    /* A deleted key can be saved again. */
    assert_int_equal(store_run(f->st, idem_put_fn, &a3), 0);
    reopen(f);
    assert_int_equal(store_idem_get(f->st, "acct_A", "k3", f->a, &got), 0);
    assert_int_equal(store_idem_get(f->st, "acct_A", "k1", f->a, &got), STORE_NOT_FOUND);
}

/* ---- events ---- */

static int event_fn(store_txn *t, void *ctx)
{
    return store_txn_event_insert(t, ctx);
}

static store_event ev(const char *account, const char *id, int64_t created, const char *type,
                      const char *object_id)
{
    return (store_event){.id = id,
                         .account = account,
                         .created = created,
                         .type = type,
                         .object_id = object_id,
                         .snapshot = rec(id)};
}

static void add_event(fixture *f, store_event e)
{
    assert_int_equal(store_run(f->st, event_fn, &e), 0);
}

static void assert_event_eq(const store_event *x, const store_event *y)
{
    assert_str_eq(x->id, y->id);
    assert_str_eq(x->account, y->account);
    assert_int_equal(x->livemode, y->livemode);
    assert_int_equal(x->created, y->created);
    assert_str_eq(x->type, y->type);
    assert_str_eq(x->object_id, y->object_id);
    assert_str_eq(x->request_id, y->request_id);
    assert_str_eq(x->idempotency_key, y->idempotency_key);
    assert_rec_eq(x->snapshot, y->snapshot.data, y->snapshot.len);
    assert_int_equal(x->pending_webhooks, y->pending_webhooks);
}

static void test_events_insert_get(void **state)
{
    fixture *f = *state;
    static const unsigned char snap[] = {'s', 0, 'n', 0xff, 0, 'p'};
    store_event e1 = {.id = "evt_1",
                      .account = "acct_A",
                      .livemode = 1,
                      .created = 7,
                      .type = "identity.verification_session.created",
                      .object_id = "vs_e",
                      .request_id = "req_1",
                      .idempotency_key = "idem-1",
                      .snapshot = {snap, sizeof snap},
                      .pending_webhooks = 2};
    assert_int_equal(store_run(f->st, event_fn, &e1), 0);
    /* Unique ids, in any account; a refused insert changes nothing. */
    store_event dup = e1;
    dup.type = "changed";
    assert_int_equal(store_run(f->st, event_fn, &dup), STORE_EXISTS);
    dup.account = "acct_B";
    assert_int_equal(store_run(f->st, event_fn, &dup), STORE_EXISTS);
    store_event e2 = ev("acct_A", "evt_2", 8, "identity.verification_session.processing", "vs_e");
    e2.request_id = NULL; /* a background change */
    e2.snapshot = rec("second snapshot");
    assert_int_equal(store_run(f->st, event_fn, &e2), 0);
    store_event e3 = ev("acct_A", "evt_3", 9, "t", "vs_other");
    e3.snapshot = (store_record){NULL, 0};
    assert_int_equal(store_run(f->st, event_fn, &e3), 0);

    for (int pass = 0; pass < 2; pass++) {
        store_event got;
        assert_int_equal(store_event_get(f->st, "acct_A", "evt_1", f->a, &got), 0);
        assert_event_eq(&got, &e1);
        assert_int_equal(store_event_get(f->st, "acct_A", "evt_2", f->a, &got), 0);
        assert_event_eq(&got, &e2);
        assert_null(got.request_id);
        assert_null(got.idempotency_key);
        assert_int_equal(store_event_get(f->st, "acct_A", "evt_3", f->a, &got), 0);
        assert_int_equal(got.snapshot.len, 0);
        assert_int_equal(store_event_get(f->st, "acct_B", "evt_1", f->a, &got), STORE_NOT_FOUND);
        assert_int_equal(store_event_get(f->st, "acct_A", "evt_9", f->a, &got), STORE_NOT_FOUND);
        reopen(f);
    }
}

/* The ids of one page of events, joined by spaces. */
static const char *event_ids(fixture *f, const store_event_query *q, int *has_more, int *rc)
{
    store_event *items = NULL;
    size_t n = 99;
    int more = -1;
    *rc = store_event_list(f->st, q, f->a, &items, &n, &more);
    if (*rc != 0) assert_int_equal(n, 0);
    buf b;
    buf_init(&b, f->a);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(items[i].account, q->account);
        buf_printf(&b, "%s%s", i ? " " : "", items[i].id);
    }
    if (has_more != NULL) *has_more = more;
    return b.data;
}

static void expect_events(fixture *f, const store_event_query *q, const char *ids, int has_more)
{
    int more, rc;
    const char *got = event_ids(f, q, &more, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(got, ids);
    assert_int_equal(more, has_more);
}

static void test_event_list(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *id, *other_id;
        int64_t created;
        const char *type;
        int pending;
    } rows[] = {
        {"evt_1", "evt_b1", 100, "identity.verification_session.created", 0},
        {"evt_2", "evt_b2", 101, "identity.verification_session.processing", 1},
        {"evt_3", "evt_b3", 102, "identity.verification_session.verified", 0},
        {"evt_4", "evt_b4", 102, "identity.verification_report.created", 3},
        {"evt_5", "evt_b5", 103, "odd.a?c", 2},
        {"evt_6", "evt_b6", 104, "odd.abc", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        store_event e = ev("acct_A", rows[i].id, rows[i].created, rows[i].type, "vs_1");
        e.pending_webhooks = rows[i].pending;
        add_event(f, e);
        e = ev("acct_B", rows[i].other_id, rows[i].created, rows[i].type, "vs_1");
        e.pending_webhooks = rows[i].pending;
        add_event(f, e);
    }
    const store_event_query base = {.account = "acct_A", .delivery_success = -1, .limit = 10};
    store_event_query q = base;
    expect_events(f, &q, "evt_6 evt_5 evt_4 evt_3 evt_2 evt_1", 0);

    /* Type patterns: exact names, '*' as any run of characters, several patterns as OR; every
     * other character matches itself. */
    const char *t_created[] = {"identity.verification_session.created"};
    const char *t_session[] = {"identity.verification_session.*"};
    const char *t_any_created[] = {"*.created"};
    const char *t_all[] = {"*"};
    const char *t_two[] = {"*.verified", "identity.verification_session.processing"};
    const char *t_question[] = {"odd.a?c"};
    const char *t_bracket[] = {"odd.a[b]c"};
    const char *t_prefix[] = {"identity.verification_session"};
    const char *t_middle[] = {"identity.*.created"};
    struct {
        const char **types;
        size_t n;
        const char *want;
    } cases[] = {
        {t_created, 1, "evt_1"},
        {t_session, 1, "evt_3 evt_2 evt_1"},
        {t_any_created, 1, "evt_4 evt_1"},
        {t_all, 1, "evt_6 evt_5 evt_4 evt_3 evt_2 evt_1"},
        {t_two, 2, "evt_3 evt_2"},
        {t_question, 1, "evt_5"},
        {t_bracket, 1, ""},
        {t_prefix, 1, ""},
        {t_middle, 1, "evt_4 evt_1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        q = base;
        q.types = cases[i].types;
        q.n_types = cases[i].n;
        expect_events(f, &q, cases[i].want, 0);
    }

    /* delivery_success: 1 every delivery succeeded (none pending), 0 some pending. */
    q = base;
    q.delivery_success = 1;
    expect_events(f, &q, "evt_6 evt_3 evt_1", 0);
    q.delivery_success = 0;
    expect_events(f, &q, "evt_5 evt_4 evt_2", 0);

    /* created, each bound and together. */
    q = base;
    q.created.has_eq = 1;
    q.created.eq = 102;
    expect_events(f, &q, "evt_4 evt_3", 0);
    q = base;
    q.created.has_gt = 1;
    q.created.gt = 102;
    expect_events(f, &q, "evt_6 evt_5", 0);
    q = base;
    q.created.has_gte = 1;
    q.created.gte = 102;
    expect_events(f, &q, "evt_6 evt_5 evt_4 evt_3", 0);
    q = base;
    q.created.has_lt = 1;
    q.created.lt = 102;
    expect_events(f, &q, "evt_2 evt_1", 0);
    q = base;
    q.created.has_lte = 1;
    q.created.lte = 101;
    expect_events(f, &q, "evt_2 evt_1", 0);
    q.created.has_gt = 1;
    q.created.gt = 100;
    expect_events(f, &q, "evt_2", 0);

    /* Everything at once. */
    q = base;
    q.types = t_any_created;
    q.n_types = 1;
    q.delivery_success = 0;
    q.created.has_gte = 1;
    q.created.gte = 101;
    expect_events(f, &q, "evt_4", 0);
    q.delivery_success = 1;
    expect_events(f, &q, "", 0);

    /* Paging, both ways, through the created tie of evt_3 and evt_4. */
    q = base;
    q.limit = 2;
    expect_events(f, &q, "evt_6 evt_5", 1);
    q.starting_after = "evt_5";
    expect_events(f, &q, "evt_4 evt_3", 1);
    q.starting_after = "evt_3";
    expect_events(f, &q, "evt_2 evt_1", 0);
    q.starting_after = NULL;
    q.ending_before = "evt_1";
    expect_events(f, &q, "evt_3 evt_2", 1);
    q.ending_before = "evt_4";
    expect_events(f, &q, "evt_6 evt_5", 0);
    q.ending_before = "evt_6";
    expect_events(f, &q, "", 0);
    /* Paging within a filter. */
    q = base;
    q.delivery_success = 0;
    q.limit = 1;
    q.starting_after = "evt_5";
    expect_events(f, &q, "evt_4", 1);
    q.starting_after = "evt_4";
    expect_events(f, &q, "evt_2", 0);

    /* Cursors that name no event of the account, or both cursors. */
    int rc;
    q = base;
    q.starting_after = "evt_b3";
    event_ids(f, &q, NULL, &rc);
    assert_int_equal(rc, STORE_CURSOR);
    q.starting_after = "evt_nope";
    event_ids(f, &q, NULL, &rc);
    assert_int_equal(rc, STORE_CURSOR);
    q.starting_after = NULL;
    q.ending_before = "evt_b3";
    event_ids(f, &q, NULL, &rc);
    assert_int_equal(rc, STORE_CURSOR);
    q.starting_after = "evt_2";
    q.ending_before = "evt_5";
    event_ids(f, &q, NULL, &rc);
    assert_int_equal(rc, STORE_CURSOR);

    /* Limits are clamped to 1..100. */
    q = base;
    q.limit = 0;
    expect_events(f, &q, "evt_6", 1);
    q.limit = 1000;
    expect_events(f, &q, "evt_6 evt_5 evt_4 evt_3 evt_2 evt_1", 0);
    /* The other account's list is its own. */
    q = base;
    q.account = "acct_B";
    q.types = t_session;
    q.n_types = 1;
    expect_events(f, &q, "evt_b3 evt_b2 evt_b1", 0);
}

typedef struct snap_ctx {
    const char *account, *object_id, *event_id;
    int64_t since;
    arena *a;
    store_event *items;
    size_t n;
    store_record snapshot;
} snap_ctx;

static int snapshots_fn(store_txn *t, void *ctx)
{
    snap_ctx *c = ctx;
    return store_txn_event_snapshots(t, c->account, c->object_id, c->since, c->a, &c->items, &c->n);
}

static int snapshot_set_fn(store_txn *t, void *ctx)
{
    snap_ctx *c = ctx;
    return store_txn_event_snapshot_set(t, c->account, c->event_id, &c->snapshot);
}

/* The ids of object_id's events since `since`, joined by spaces. */
static const char *snapshot_ids(fixture *f, const char *account, const char *object_id,
                                int64_t since)
{
    snap_ctx c = {.account = account, .object_id = object_id, .since = since, .a = f->a};
    assert_int_equal(store_run(f->st, snapshots_fn, &c), 0);
    buf b;
    buf_init(&b, f->a);
    for (size_t i = 0; i < c.n; i++) {
        /* Each one's snapshot is handed back with it (here: the event's own id). */
        assert_rec_str(c.items[i].snapshot, c.items[i].id);
        buf_printf(&b, "%s%s", i ? " " : "", c.items[i].id);
    }
    return b.data;
}

static void test_event_snapshots(void **state)
{
    fixture *f = *state;
    add_event(f, ev("acct_A", "evt_old", 90, "t", "vs_s"));
    add_event(f, ev("acct_A", "evt_s1", 100, "t", "vs_s"));
    add_event(f, ev("acct_A", "evt_x", 101, "t", "vs_other"));
    add_event(f, ev("acct_B", "evt_b", 102, "t", "vs_s")); /* another account's object */
    add_event(f, ev("acct_A", "evt_s2", 105, "t", "vs_s"));
    add_event(f, ev("acct_A", "evt_s3", 106, "t", "vs_s"));

    assert_string_equal(snapshot_ids(f, "acct_A", "vs_s", 100), "evt_s1 evt_s2 evt_s3");
    assert_string_equal(snapshot_ids(f, "acct_A", "vs_s", 101), "evt_s2 evt_s3");
    assert_string_equal(snapshot_ids(f, "acct_A", "vs_s", 105), "evt_s2 evt_s3");
    assert_string_equal(snapshot_ids(f, "acct_A", "vs_s", 106), "evt_s3");
    assert_string_equal(snapshot_ids(f, "acct_A", "vs_s", 107), "");
    assert_string_equal(snapshot_ids(f, "acct_A", "vs_s", 0), "evt_old evt_s1 evt_s2 evt_s3");
    assert_string_equal(snapshot_ids(f, "acct_B", "vs_s", 0), "evt_b");
    assert_string_equal(snapshot_ids(f, "acct_A", "vs_none", 0), "");

    /* snapshot_set replaces that one event's snapshot (any bytes), nothing else. */
    static const unsigned char redacted[] = {'r', 0, 'e', 0xfe};
    snap_ctx c = {
        .account = "acct_A", .event_id = "evt_s1", .snapshot = {redacted, sizeof redacted}};
    assert_int_equal(store_run(f->st, snapshot_set_fn, &c), 0);
    store_event got;
    assert_int_equal(store_event_get(f->st, "acct_A", "evt_s1", f->a, &got), 0);
    assert_rec_eq(got.snapshot, redacted, sizeof redacted);
    assert_string_equal(got.type, "t");
    assert_int_equal(got.created, 100);
    assert_int_equal(store_event_get(f->st, "acct_A", "evt_s2", f->a, &got), 0);
    assert_rec_str(got.snapshot, "evt_s2");
    assert_int_equal(store_event_get(f->st, "acct_B", "evt_b", f->a, &got), 0);
    assert_rec_str(got.snapshot, "evt_b");
    c = (snap_ctx){.account = "acct_A", .since = 0, .object_id = "vs_s", .a = f->a};
    assert_int_equal(store_run(f->st, snapshots_fn, &c), 0);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.items[1].id, "evt_s1");
    assert_rec_eq(c.items[1].snapshot, redacted, sizeof redacted);

    /* Gone, or another account's: not found. */
    c = (snap_ctx){.account = "acct_A", .event_id = "evt_b", .snapshot = rec("x")};
    assert_int_equal(store_run(f->st, snapshot_set_fn, &c), STORE_NOT_FOUND);
    c.event_id = "evt_nope";
    assert_int_equal(store_run(f->st, snapshot_set_fn, &c), STORE_NOT_FOUND);
    assert_int_equal(store_event_get(f->st, "acct_B", "evt_b", f->a, &got), 0);
    assert_rec_str(got.snapshot, "evt_b");
    reopen(f);
    assert_int_equal(store_event_get(f->st, "acct_A", "evt_s1", f->a, &got), 0);
    assert_rec_eq(got.snapshot, redacted, sizeof redacted);
}

/* ---- webhook endpoints ---- */

typedef struct wh_ctx {
    store_webhook w;
    int max;
    const char *account, *id; /* delete, txn get, candidates */
    const char *platform;     /* candidates */
    arena *a;
    store_webhook got;
    store_webhook *items;
    size_t n;
    const char *url, *new_secret, *secret; /* forward_set */
} wh_ctx;

static int wh_insert_fn(store_txn *t, void *ctx)
{
    wh_ctx *c = ctx;
    return store_txn_webhook_insert(t, &c->w, c->max);
}

static int wh_update_fn(store_txn *t, void *ctx)
{
    wh_ctx *c = ctx;
    return store_txn_webhook_update(t, &c->w);
}

static int wh_delete_fn(store_txn *t, void *ctx)
{
    wh_ctx *c = ctx;
    return store_txn_webhook_delete(t, c->account, c->id);
}

static int wh_txn_get_fn(store_txn *t, void *ctx)
{
    wh_ctx *c = ctx;
    return store_txn_webhook_get(t, c->account, c->id, c->a, &c->got);
}

static int wh_candidates_fn(store_txn *t, void *ctx)
{
    wh_ctx *c = ctx;
    return store_txn_webhook_candidates(t, c->account, c->platform, c->a, &c->items, &c->n);
}

static int forward_set_fn(store_txn *t, void *ctx)
{
    wh_ctx *c = ctx;
    return store_txn_forward_set(t, c->url, c->new_secret, c->a, &c->secret);
}

static const char *const k_events_two[] = {"identity.verification_session.verified", "*"};

static store_webhook wh(const char *account, const char *id, int64_t created)
{
    return (store_webhook){.id = id,
                           .account = account,
                           .created = created,
                           .url = "https://example.com/hook",
                           .secret = "whsec_original",
                           .enabled_events = (const char **)k_events_two,
                           .n_enabled_events = 2};
}

static int wh_insert(fixture *f, store_webhook w, int max)
{
    wh_ctx c = {.w = w, .max = max};
    return store_run(f->st, wh_insert_fn, &c);
}

static int wh_delete(fixture *f, const char *account, const char *id)
{
    wh_ctx c = {.account = account, .id = id};
    return store_run(f->st, wh_delete_fn, &c);
}

static const char *forward_set(fixture *f, const char *url, const char *new_secret)
{
    wh_ctx c = {.url = url, .new_secret = new_secret, .a = f->a};
    assert_int_equal(store_run(f->st, forward_set_fn, &c), 0);
    return c.secret;
}

static void assert_webhook_eq(const store_webhook *x, const store_webhook *y)
{
    assert_str_eq(x->id, y->id);
    assert_str_eq(x->account, y->account);
    assert_int_equal(x->livemode, y->livemode);
    assert_int_equal(x->created, y->created);
    assert_int_equal(x->disabled, y->disabled);
    assert_str_eq(x->url, y->url);
    assert_str_eq(x->secret, y->secret);
    assert_str_eq(x->api_version, y->api_version);
    assert_str_eq(x->description, y->description);
    assert_int_equal(x->connect, y->connect);
    assert_int_equal(x->n_enabled_events, y->n_enabled_events);
    for (size_t i = 0; i < x->n_enabled_events; i++)
        assert_string_equal(x->enabled_events[i], y->enabled_events[i]);
    assert_rec_eq(x->metadata, y->metadata.data, y->metadata.len);
}

/* A candidate (store_txn_webhook_candidates) carries what the fan-out reads. */
static void assert_candidate_eq(const store_webhook *x, const store_webhook *y)
{
    assert_str_eq(x->id, y->id);
    assert_str_eq(x->account, y->account);
    assert_int_equal(x->livemode, y->livemode);
    assert_int_equal(x->disabled, y->disabled);
    assert_int_equal(x->connect, y->connect);
    assert_int_equal(x->n_enabled_events, y->n_enabled_events);
    for (size_t i = 0; i < x->n_enabled_events; i++)
        assert_string_equal(x->enabled_events[i], y->enabled_events[i]);
}

/* The ids of items, joined by spaces. */
static const char *webhook_ids(fixture *f, const store_webhook *items, size_t n)
{
    buf b;
    buf_init(&b, f->a);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%s", i ? " " : "", items[i].id);
    return b.data;
}

static const char *list_webhooks(fixture *f, const char *account)
{
    store_webhook *items;
    size_t n;
    assert_int_equal(store_webhook_list(f->st, account, f->a, &items, &n), 0);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(items[i].account, account);
    return webhook_ids(f, items, n);
}

static void test_webhooks(void **state)
{
    fixture *f = *state;
    static const unsigned char meta[] = {'m', 0, 'e', 0xff, 't', 'a'};
    const char *one_event[] = {"identity.verification_session.canceled"};
    store_webhook w1 = wh("acct_A", "we_1", 100);
    w1.livemode = 1;
    w1.api_version = "2024-06-20";
    w1.description = "first";
    w1.metadata = (store_record){meta, sizeof meta};
    store_webhook w2 = wh("acct_A", "we_2", 101);
    w2.enabled_events = one_event;
    w2.n_enabled_events = 1;
    w2.disabled = 1;
    store_webhook w3 = wh("acct_A", "we_3", 99);
    w3.connect = 1;
    store_webhook b1 = wh("acct_B", "we_b1", 200);
    assert_int_equal(wh_insert(f, w1, 16), 0);
    assert_int_equal(wh_insert(f, w2, 16), 0);
    assert_int_equal(wh_insert(f, w3, 16), 0);
    assert_int_equal(wh_insert(f, b1, 16), 0);

    store_webhook got;
    assert_int_equal(store_webhook_get(f->st, "acct_A", "we_1", f->a, &got), 0);
    assert_webhook_eq(&got, &w1);
    assert_int_equal(store_webhook_get(f->st, "acct_A", "we_2", f->a, &got), 0);
    assert_webhook_eq(&got, &w2);
    assert_null(got.api_version);
    assert_null(got.description);
    assert_int_equal(got.metadata.len, 0);
    assert_int_equal(store_webhook_get(f->st, "acct_B", "we_1", f->a, &got), STORE_NOT_FOUND);
    assert_int_equal(store_webhook_get(f->st, "acct_A", "we_9", f->a, &got), STORE_NOT_FOUND);
    /* Inside a job too. */
    wh_ctx c = {.account = "acct_A", .id = "we_1", .a = f->a};
    assert_int_equal(store_run(f->st, wh_txn_get_fn, &c), 0);
    assert_webhook_eq(&c.got, &w1);
    c.account = "acct_B";
    assert_int_equal(store_run(f->st, wh_txn_get_fn, &c), STORE_NOT_FOUND);

    /* Newest first, the account's own. */
    assert_string_equal(list_webhooks(f, "acct_A"), "we_2 we_1 we_3");
    assert_string_equal(list_webhooks(f, "acct_B"), "we_b1");
    assert_string_equal(list_webhooks(f, "acct_C"), "");

    /* Unique ids, in any account. */
    store_webhook dup = wh("acct_C", "we_1", 300);
    assert_int_equal(wh_insert(f, dup, 16), STORE_EXISTS);
    dup.account = "acct_A";
    assert_int_equal(wh_insert(f, dup, 16), STORE_EXISTS);
    assert_string_equal(list_webhooks(f, "acct_C"), "");

    /* The limit: an account with max endpoints takes no more; others are not affected. */
    store_webhook w4 = wh("acct_A", "we_4", 102);
    assert_int_equal(wh_insert(f, w4, 3), STORE_LIMIT);
    assert_int_equal(wh_insert(f, w4, 2), STORE_LIMIT);
    assert_int_equal(store_webhook_get(f->st, "acct_A", "we_4", f->a, &got), STORE_NOT_FOUND);
    store_webhook b2 = wh("acct_B", "we_b2", 201);
    assert_int_equal(wh_insert(f, b2, 3), 0);
    assert_int_equal(wh_insert(f, w4, 4), 0);
    assert_int_equal(wh_delete(f, "acct_A", "we_4"), 0);
    assert_int_equal(wh_insert(f, w4, 4), 0); /* room again after a delete */

    /* Update rewrites everything but id, account, livemode, created and secret. */
    store_webhook u = w1;
    u.livemode = 0;
    u.created = 5;
    u.secret = "whsec_changed";
    u.disabled = 1;
    u.url = "https://example.com/other";
    u.api_version = NULL;
    u.description = "second";
    u.enabled_events = one_event;
    u.n_enabled_events = 1;
    u.metadata = rec("new metadata");
    c = (wh_ctx){.w = u};
    assert_int_equal(store_run(f->st, wh_update_fn, &c), 0);
    assert_int_equal(store_webhook_get(f->st, "acct_A", "we_1", f->a, &got), 0);
    store_webhook want = u;
    want.livemode = 1;
    want.created = 100;
    want.secret = "whsec_original";
    assert_webhook_eq(&got, &want);
    assert_string_equal(list_webhooks(f, "acct_A"), "we_4 we_2 we_1 we_3");
    u.account = "acct_B"; /* another account's id: not found */
    c = (wh_ctx){.w = u};
    assert_int_equal(store_run(f->st, wh_update_fn, &c), STORE_NOT_FOUND);
    u = wh("acct_A", "we_gone", 1);
    c = (wh_ctx){.w = u};
    assert_int_equal(store_run(f->st, wh_update_fn, &c), STORE_NOT_FOUND);

    /* Delete: by (account, id); a second delete finds nothing. */
    assert_int_equal(wh_delete(f, "acct_B", "we_1"), STORE_NOT_FOUND);
    assert_int_equal(wh_delete(f, "acct_A", "we_3"), 0);
    assert_int_equal(wh_delete(f, "acct_A", "we_3"), STORE_NOT_FOUND);
    assert_int_equal(store_webhook_get(f->st, "acct_A", "we_3", f->a, &got), STORE_NOT_FOUND);
    assert_string_equal(list_webhooks(f, "acct_A"), "we_4 we_2 we_1");
    /* A deleted id can be used again. */
    assert_int_equal(wh_insert(f, w3, 16), 0);

    reopen(f);
    assert_string_equal(list_webhooks(f, "acct_A"), "we_4 we_2 we_1 we_3");
    assert_int_equal(store_webhook_get(f->st, "acct_A", "we_1", f->a, &got), 0);
    assert_webhook_eq(&got, &want);
}

/* The forward endpoint: owned by no account, listed by none, a candidate for every one. */
static void test_webhook_candidates_and_forward(void **state)
{
    fixture *f = *state;
    store_webhook w1 = wh("acct_A", "we_1", 100), w2 = wh("acct_A", "we_2", 101),
                  b1 = wh("acct_B", "we_b1", 102);
    w2.disabled = 1;
    assert_int_equal(wh_insert(f, w1, 16), 0);
    assert_int_equal(wh_insert(f, w2, 16), 0);
    assert_int_equal(wh_insert(f, b1, 16), 0);

    /* Without a forward endpoint: the account's own, enabled or not. */
    wh_ctx c = {.account = "acct_A", .a = f->a};
    assert_int_equal(store_run(f->st, wh_candidates_fn, &c), 0);
    assert_int_equal(c.n, 2);
    int seen1 = 0, seen2 = 0;
    for (size_t i = 0; i < c.n; i++) {
        if (strcmp(c.items[i].id, "we_1") == 0) {
            seen1++;
            assert_candidate_eq(&c.items[i], &w1);
        }
        if (strcmp(c.items[i].id, "we_2") == 0) {
            seen2++;
            assert_int_equal(c.items[i].disabled, 1);
        }
    }
    assert_int_equal(seen1 + seen2, 2);
    c = (wh_ctx){.account = "acct_C", .a = f->a};
    assert_int_equal(store_run(f->st, wh_candidates_fn, &c), 0);
    assert_int_equal(c.n, 0);

    /* The first forward_set takes the new secret; later ones keep it and change the url. */
    const char *secret = forward_set(f, "http://127.0.0.1:1/first", "whsec_fwd1");
    assert_string_equal(secret, "whsec_fwd1");
    secret = forward_set(f, "http://127.0.0.1:1/second", "whsec_fwd2");
    assert_string_equal(secret, "whsec_fwd1");
    for (int pass = 0; pass < 3; pass++) {
        const char *accounts[] = {"acct_A", "acct_C"};
        for (int k = 0; k < 2; k++) {
            c = (wh_ctx){.account = accounts[k], .a = f->a};
            assert_int_equal(store_run(f->st, wh_candidates_fn, &c), 0);
            assert_int_equal(c.n, k == 0 ? 3 : 1);
            int found = 0;
            for (size_t i = 0; i < c.n; i++) {
                if (strcmp(c.items[i].id, STORE_FORWARD_ID) != 0) {
                    assert_string_equal(c.items[i].account, accounts[k]);
                    continue;
                }
                found++;
                assert_string_equal(c.items[i].account, STORE_FORWARD_ACCOUNT);
                assert_int_equal(c.items[i].disabled, pass == 1);
                /* The rest of the forward endpoint, read by its id. */
                wh_ctx g = {.account = STORE_FORWARD_ACCOUNT, .id = STORE_FORWARD_ID, .a = f->a};
                assert_int_equal(store_run(f->st, wh_txn_get_fn, &g), 0);
                assert_string_equal(g.got.secret, "whsec_fwd1");
                assert_string_equal(g.got.url, pass == 2 ? "http://127.0.0.1:1/third"
                                                         : "http://127.0.0.1:1/second");
                assert_int_equal(g.got.disabled, pass == 1);
            }
            assert_int_equal(found, 1);
        }
        /* Never in an account's list. */
        assert_string_equal(list_webhooks(f, "acct_A"), "we_2 we_1");
        assert_string_equal(list_webhooks(f, "acct_C"), "");
        store_webhook got;
        assert_int_equal(store_webhook_get(f->st, "acct_A", STORE_FORWARD_ID, f->a, &got),
                         STORE_NOT_FOUND);
        if (pass == 0) {
            /* url NULL disables it (still a candidate, secret kept across a reopen). */
            (void)forward_set(f, NULL, NULL);
            reopen(f);
        } else if (pass == 1) {
            secret = forward_set(f, "http://127.0.0.1:1/third", "whsec_fwd3");
            assert_string_equal(secret, "whsec_fwd1");
        }
    }
    /* Its id is taken: no account may insert it. */
    store_webhook fw = wh("acct_A", STORE_FORWARD_ID, 1);
    assert_int_equal(wh_insert(f, fw, 16), STORE_EXISTS);
}

/* ---- the delivery outbox ---- */

typedef struct dl_ctx {
    const store_event *e;
    const char *endpoints[3];
    int64_t due_ms;
    int ret;
    /* result */
    int64_t seq;
    const char *event_id;
    int ok;
    int64_t next_ms;
} dl_ctx;

/* Insert e and one delivery per endpoint, the i-th due at due_ms + i (due times differ: the order
 * of deliveries due at the same time is not part of the contract). */
static int event_with_deliveries_fn(store_txn *t, void *ctx)
{
    dl_ctx *c = ctx;
    int rc = store_txn_event_insert(t, c->e);
    for (int i = 0; rc == 0 && i < 3 && c->endpoints[i] != NULL; i++)
        rc = store_txn_delivery_add(t, c->e, c->endpoints[i], c->due_ms + i);
    return rc != 0 ? rc : c->ret;
}

static int delivery_result_fn(store_txn *t, void *ctx)
{
    dl_ctx *c = ctx;
    return store_txn_delivery_result(t, c->seq, c->event_id, c->ok, c->next_ms);
}

static void add_event_to(fixture *f, const store_event *e, int64_t due_ms, const char *ep1,
                         const char *ep2)
{
    dl_ctx c = {.e = e, .endpoints = {ep1, ep2}, .due_ms = due_ms};
    assert_int_equal(store_run(f->st, event_with_deliveries_fn, &c), 0);
}

static void delivery_result(fixture *f, int64_t seq, const char *event_id, int ok, int64_t next_ms)
{
    dl_ctx c = {.seq = seq, .event_id = event_id, .ok = ok, .next_ms = next_ms};
    assert_int_equal(store_run(f->st, delivery_result_fn, &c), 0);
}

/* The deliveries due at now_ms, as "event>endpoint" joined by spaces; *items for a closer look. */
static const char *due(fixture *f, int64_t now_ms, int64_t after_seq, size_t max,
                       store_delivery **items)
{
    store_delivery *d = NULL;
    size_t n = 99;
    assert_int_equal(store_deliveries_due(f->st, now_ms, after_seq, max, f->a, &d, &n), 0);
    buf b;
    buf_init(&b, f->a);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%s>%s", i ? " " : "", d[i].event.id, d[i].endpoint_id);
    if (items != NULL) *items = d;
    return b.data;
}

static int pending_of(fixture *f, const char *account, const char *event_id)
{
    store_event got;
    assert_int_equal(store_event_get(f->st, account, event_id, f->a, &got), 0);
    return got.pending_webhooks;
}

static int64_t next_due(fixture *f, int64_t after_ms)
{
    int64_t at = -1;
    int rc = store_delivery_next_due(f->st, after_ms, &at);
    if (rc == STORE_NOT_FOUND) return -1;
    assert_int_equal(rc, 0);
    return at;
}

/* A connected account's events (namespace "platform/acct_…"): its own endpoints and the
 * platform's connect ones are candidates, the platform's others are not; deleting a connect
 * endpoint fails its pending deliveries of connected accounts' events. */
static void test_connect_endpoints(void **state)
{
    fixture *f = *state;
    store_webhook pc = wh("acct_P", "we_pc", 1), pn = wh("acct_P", "we_pn", 2),
                  x = wh("acct_P/acct_X", "we_x", 3), oc = wh("acct_O", "we_oc", 4);
    pc.connect = 1;
    oc.connect = 1;
    assert_int_equal(wh_insert(f, pc, 16), 0);
    assert_int_equal(wh_insert(f, pn, 16), 0);
    assert_int_equal(wh_insert(f, x, 16), 0);
    assert_int_equal(wh_insert(f, oc, 16), 0);
    store_webhook got;
    assert_int_equal(store_webhook_get(f->st, "acct_P", "we_pc", f->a, &got), 0);
    assert_webhook_eq(&got, &pc);

    wh_ctx c = {.account = "acct_P/acct_X", .platform = "acct_P", .a = f->a};
    assert_int_equal(store_run(f->st, wh_candidates_fn, &c), 0);
    assert_int_equal(c.n, 2);
    for (size_t i = 0; i < c.n; i++)
        assert_candidate_eq(&c.items[i], strcmp(c.items[i].id, "we_pc") == 0 ? &pc : &x);
    /* Without a platform: the account's own only, connect endpoints included. */
    c = (wh_ctx){.account = "acct_P", .a = f->a};
    assert_int_equal(store_run(f->st, wh_candidates_fn, &c), 0);
    assert_int_equal(c.n, 2);
    for (size_t i = 0; i < c.n; i++)
        assert_candidate_eq(&c.items[i], strcmp(c.items[i].id, "we_pc") == 0 ? &pc : &pn);

    store_event e =
        ev("acct_P/acct_X", "evt_x", 10, "identity.verification_session.created", "vs_x");
    e.pending_webhooks = 2;
    add_event_to(f, &e, 100, "we_pc", "we_x");
    assert_string_equal(due(f, 1000, 0, 10, NULL), "evt_x>we_pc evt_x>we_x");
    assert_int_equal(wh_delete(f, "acct_P", "we_pc"), 0);
    assert_string_equal(due(f, 1000, 0, 10, NULL), "evt_x>we_x");
}

static void test_deliveries(void **state)
{
    fixture *f = *state;
    store_webhook w1 = wh("acct_A", "we_1", 1), w2 = wh("acct_A", "we_2", 2);
    w1.livemode = 1;
    w1.api_version = "2024-06-20";
    w1.secret = "whsec_1";
    w1.url = "https://example.com/one";
    assert_int_equal(wh_insert(f, w1, 16), 0);
    assert_int_equal(wh_insert(f, w2, 16), 0);
    assert_string_equal(forward_set(f, "http://127.0.0.1:1/fwd", "whsec_fwd"), "whsec_fwd");

    static const unsigned char snap[] = {'s', 0, 'n', 'a', 'p'};
    store_event e1 = ev("acct_A", "evt_1", 10, "identity.verification_session.created", "vs_1");
    e1.request_id = "req_1";
    e1.snapshot = (store_record){snap, sizeof snap};
    e1.pending_webhooks = 2;
    store_event e2 = ev("acct_A", "evt_2", 11, "identity.verification_session.verified", "vs_1");
    e2.pending_webhooks = 1;
    add_event_to(f, &e1, 1000, "we_1", STORE_FORWARD_ID); /* due at 1000 and 1001 */
    add_event_to(f, &e2, 2000, "we_2", NULL);

    /* Nothing before its due time; at it, the oldest due first, with all the worker needs. */
    assert_string_equal(due(f, 999, 0, 100, NULL), "");
    assert_string_equal(due(f, 1000, 0, 100, NULL), "evt_1>we_1");
    store_delivery *d;
    assert_string_equal(due(f, 1001, 0, 100, &d), "evt_1>we_1 evt_1>we_forward");
    assert_int_equal(d[0].attempts, 0);
    assert_string_equal(d[0].url, "https://example.com/one");
    assert_string_equal(d[0].secret, "whsec_1");
    assert_string_equal(d[0].api_version, "2024-06-20");
    assert_int_equal(d[0].endpoint_livemode, 1);
    assert_int_equal(d[0].forward, 0);
    assert_event_eq(&d[0].event, &e1);
    assert_string_equal(d[1].url, "http://127.0.0.1:1/fwd");
    assert_string_equal(d[1].secret, "whsec_fwd");
    assert_null(d[1].api_version);
    assert_int_equal(d[1].forward, 1);
    assert_event_eq(&d[1].event, &e1);
    assert_true(d[1].seq != d[0].seq);
    assert_string_equal(due(f, 5000, 0, 100, NULL), "evt_1>we_1 evt_1>we_forward evt_2>we_2");
    assert_string_equal(due(f, 5000, 0, 2, NULL), "evt_1>we_1 evt_1>we_forward");
    assert_string_equal(due(f, 5000, 0, 0, NULL), "");

    /* after_seq: only outbox positions after it. */
    assert_string_equal(due(f, 5000, 0, 100, &d), "evt_1>we_1 evt_1>we_forward evt_2>we_2");
    int64_t seq1 = d[0].seq, seqf = d[1].seq, seq2 = d[2].seq;
    int64_t max_seq = seq1 > seqf ? seq1 : seqf;
    const char *after = due(f, 5000, max_seq, 100, NULL);
    assert_string_equal(after, seq2 > max_seq ? "evt_2>we_2" : "");
    assert_string_equal(due(f, 5000, seq2 > max_seq ? seq2 : max_seq, 100, NULL), "");

    /* next_due: the earliest due time after after_ms. */
    assert_int_equal(next_due(f, 0), 1000);
    assert_int_equal(next_due(f, 999), 1000);
    assert_int_equal(next_due(f, 1000), 1001);
    assert_int_equal(next_due(f, 1001), 2000);
    assert_int_equal(next_due(f, 2000), -1);

    /* Success: no longer due, and the event's pending_webhooks drops by one. */
    delivery_result(f, seq1, "evt_1", 1, 0);
    assert_int_equal(pending_of(f, "acct_A", "evt_1"), 1);
    assert_string_equal(due(f, 5000, 0, 100, NULL), "evt_1>we_forward evt_2>we_2");
    /* A result for a delivery that is no longer pending changes nothing. */
    delivery_result(f, seq1, "evt_1", 1, 0);
    assert_int_equal(pending_of(f, "acct_A", "evt_1"), 1);

    /* A retry: due again at next_ms, one attempt more. */
    delivery_result(f, seqf, "evt_1", 0, 3000);
    assert_int_equal(pending_of(f, "acct_A", "evt_1"), 1);
    assert_string_equal(due(f, 2999, 0, 100, NULL), "evt_2>we_2");
    assert_string_equal(due(f, 3000, 0, 100, &d), "evt_2>we_2 evt_1>we_forward");
    assert_int_equal(d[1].attempts, 1);
    assert_int_equal(d[1].seq, seqf);
    assert_int_equal(next_due(f, 2000), 3000);

    /* Giving up: never due again, pending_webhooks unchanged; a late success is ignored. */
    delivery_result(f, seqf, "evt_1", 0, -1);
    assert_string_equal(due(f, 1 << 30, 0, 100, NULL), "evt_2>we_2");
    assert_int_equal(pending_of(f, "acct_A", "evt_1"), 1);
    delivery_result(f, seqf, "evt_1", 1, 0);
    assert_int_equal(pending_of(f, "acct_A", "evt_1"), 1);
    assert_int_equal(next_due(f, 2000), -1);

    /* A disabled endpoint's deliveries wait: not due, no next due time, until it is enabled. */
    store_webhook off = w2;
    off.disabled = 1;
    wh_ctx c = {.w = off};
    assert_int_equal(store_run(f->st, wh_update_fn, &c), 0);
    assert_string_equal(due(f, 5000, 0, 100, NULL), "");
    assert_int_equal(next_due(f, 0), -1);
    c = (wh_ctx){.w = w2};
    assert_int_equal(store_run(f->st, wh_update_fn, &c), 0);
    assert_string_equal(due(f, 5000, 0, 100, NULL), "evt_2>we_2");
    assert_int_equal(next_due(f, 0), 2000);

    /* The same for the forward endpoint, disabled by a url of NULL. */
    store_event e3 = ev("acct_A", "evt_3", 12, "t", "vs_1");
    e3.pending_webhooks = 1;
    add_event_to(f, &e3, 4000, STORE_FORWARD_ID, NULL);
    assert_string_equal(due(f, 5000, 0, 100, NULL), "evt_2>we_2 evt_3>we_forward");
    (void)forward_set(f, NULL, NULL);
    assert_string_equal(due(f, 5000, 0, 100, NULL), "evt_2>we_2");
    assert_int_equal(next_due(f, 2000), -1);
    reopen(f);
    assert_string_equal(due(f, 5000, 0, 100, NULL), "evt_2>we_2");
    (void)forward_set(f, "http://127.0.0.1:1/back", "whsec_other");
    assert_string_equal(due(f, 5000, 0, 100, &d), "evt_2>we_2 evt_3>we_forward");
    assert_string_equal(d[1].url, "http://127.0.0.1:1/back");
    assert_string_equal(d[1].secret, "whsec_fwd");

    /* Deleting an endpoint fails its pending deliveries: not even an endpoint recreated under
     * the same id gets them. */
    assert_int_equal(wh_delete(f, "acct_A", "we_2"), 0);
    assert_string_equal(due(f, 5000, 0, 100, NULL), "evt_3>we_forward");
    assert_int_equal(wh_insert(f, w2, 16), 0);
    assert_string_equal(due(f, 5000, 0, 100, NULL), "evt_3>we_forward");
    assert_int_equal(next_due(f, 0), 4000);
    assert_int_equal(pending_of(f, "acct_A", "evt_2"), 1);
    /* ...while new deliveries to it are made as usual. */
    store_event e4 = ev("acct_A", "evt_4", 13, "t", "vs_1");
    e4.pending_webhooks = 1;
    add_event_to(f, &e4, 4500, "we_2", NULL);
    assert_string_equal(due(f, 5000, 0, 100, &d), "evt_3>we_forward evt_4>we_2");
    delivery_result(f, d[1].seq, "evt_4", 1, 0);
    assert_int_equal(pending_of(f, "acct_A", "evt_4"), 0);

    /* Deliveries added by a job that rolled back are not there. */
    store_event e5 = ev("acct_A", "evt_5", 14, "t", "vs_1");
    dl_ctx rb = {.e = &e5, .endpoints = {"we_1"}, .due_ms = 10, .ret = STORE_ABORTED};
    assert_int_equal(store_run(f->st, event_with_deliveries_fn, &rb), STORE_ABORTED);
    assert_string_equal(due(f, 5000, 0, 100, NULL), "evt_3>we_forward");
    reopen(f);
    assert_string_equal(due(f, 5000, 0, 100, NULL), "evt_3>we_forward");
}

/* The outbox hook runs after a commit that added deliveries, before the jobs' done callbacks. */
typedef struct hook_state {
    pthread_mutex_t mu;
    int calls;
} hook_state;

static void outbox_hook(void *ctx)
{
    hook_state *h = ctx;
    pthread_mutex_lock(&h->mu);
    h->calls++;
    pthread_mutex_unlock(&h->mu);
}

static int hook_calls(hook_state *h)
{
    pthread_mutex_lock(&h->mu);
    int n = h->calls;
    pthread_mutex_unlock(&h->mu);
    return n;
}

typedef struct hook_job {
    dl_ctx dl;
    hook_state *h;
    int calls_at_done;
    tjob tj;
} hook_job;

static int hook_job_fn(store_txn *t, void *ctx)
{
    hook_job *j = ctx;
    return event_with_deliveries_fn(t, &j->dl);
}

static void hook_job_done(void *ctx, int rc)
{
    hook_job *j = ctx;
    j->calls_at_done = hook_calls(j->h);
    tjob_done(&j->tj, rc);
}

static void hook_job_submit(fixture *f, hook_job *j)
{
    j->tj.finished = j->tj.done_calls = 0;
    pthread_mutex_init(&j->tj.mu, NULL);
    pthread_cond_init(&j->tj.cv, NULL);
    store_submit(f->st, hook_job_fn, hook_job_done, j);
}

static int aborted_deliveries_fn(store_txn *t, void *ctx)
{
    int rc = event_with_deliveries_fn(t, ctx);
    return rc != 0 ? rc : STORE_ABORTED;
}

static void test_outbox_hook(void **state)
{
    fixture *f = *state;
    hook_state h = {.calls = 0};
    pthread_mutex_init(&h.mu, NULL);
    store_set_outbox_hook(f->st, outbox_hook, &h);
    store_webhook w1 = wh("acct_A", "we_1", 1);
    assert_int_equal(wh_insert(f, w1, 16), 0);
    assert_int_equal(hook_calls(&h), 0);

    /* A job that adds deliveries: the hook has run by the time its done callback runs. */
    store_event e1 = ev("acct_A", "evt_1", 10, "t", "vs_1");
    hook_job j = {.dl = {.e = &e1, .endpoints = {"we_1"}, .due_ms = 0}, .h = &h};
    hook_job_submit(f, &j);
    assert_int_equal(tjob_wait(&j.tj), 0);
    assert_true(j.calls_at_done >= 1);
    int after_first = hook_calls(&h);
    assert_true(after_first >= 1);

    /* A job whose deliveries were rolled back added none: no call for its commit. */
    store_event e1b = ev("acct_A", "evt_1b", 10, "t", "vs_1");
    dl_ctx rolled = {.e = &e1b, .endpoints = {"we_1"}, .due_ms = 0};
    assert_int_equal(store_run(f->st, aborted_deliveries_fn, &rolled), STORE_ABORTED);
    assert_int_equal(hook_calls(&h), after_first);
    assert_string_equal(due(f, 10, 0, 100, NULL), "evt_1>we_1");

    /* A commit that adds none does not call it. */
    store_event e2 = ev("acct_A", "evt_2", 11, "t", "vs_1");
    add_event(f, e2);
    store_session s = mk("acct_A", "vs_1", 1);
    assert_int_equal(insert(f, &s), 0);
    assert_int_equal(hook_calls(&h), after_first);

    /* Removed: no more calls. */
    store_set_outbox_hook(f->st, NULL, NULL);
    store_event e3 = ev("acct_A", "evt_3", 12, "t", "vs_1");
    add_event_to(f, &e3, 0, "we_1", NULL);
    assert_int_equal(hook_calls(&h), after_first);
    /* Set again: called again. */
    store_set_outbox_hook(f->st, outbox_hook, &h);
    store_event e4 = ev("acct_A", "evt_4", 13, "t", "vs_1");
    hook_job j4 = {.dl = {.e = &e4, .endpoints = {"we_1"}, .due_ms = 0}, .h = &h};
    hook_job_submit(f, &j4);
    assert_int_equal(tjob_wait(&j4.tj), 0);
    assert_true(j4.calls_at_done > after_first);
    store_set_outbox_hook(f->st, NULL, NULL);
    pthread_mutex_destroy(&h.mu);
}

/* ---- pruning events ---- */

static int prune_fn(store_txn *t, void *ctx)
{
    int *n = ctx;
    return store_txn_events_prune(t, n[0], &n[1]);
}

/* Prune until nothing more goes; how many went in all. */
static int prune_all(fixture *f, int cutoff)
{
    int total = 0;
    for (;;) {
        int arg[2] = {cutoff, -1};
        assert_int_equal(store_run(f->st, prune_fn, arg), 0);
        assert_true(arg[1] >= 0);
        if (arg[1] == 0) return total;
        total += arg[1];
    }
}

typedef struct bulk_ctx {
    int n;
    int64_t created;
} bulk_ctx;

static int bulk_events_fn(store_txn *t, void *ctx)
{
    bulk_ctx *c = ctx;
    for (int i = 0; i < c->n; i++) {
        char id[32];
        snprintf(id, sizeof id, "evt_bulk%05d", i);
        store_event e = ev("acct_B", id, c->created, "t", "vs_bulk");
        int rc = store_txn_event_insert(t, &e);
        if (rc == 0) rc = store_txn_delivery_add(t, &e, "we_b", 0);
        if (rc != 0) return rc;
    }
    return 0;
}

static void test_events_prune(void **state)
{
    fixture *f = *state;
    store_webhook w1 = wh("acct_A", "we_1", 1), wb = wh("acct_B", "we_b", 1);
    assert_int_equal(wh_insert(f, w1, 16), 0);
    assert_int_equal(wh_insert(f, wb, 16), 0);
    store_event e100 = ev("acct_A", "evt_100", 100, "t", "vs_1");
    store_event e200 = ev("acct_A", "evt_200", 200, "t", "vs_1");
    store_event e300 = ev("acct_A", "evt_300", 300, "t", "vs_1");
    e100.pending_webhooks = e200.pending_webhooks = e300.pending_webhooks = 1;
    add_event_to(f, &e100, 1, "we_1", NULL);
    add_event_to(f, &e200, 2, "we_1", NULL);
    add_event_to(f, &e300, 3, "we_1", NULL);
    assert_string_equal(due(f, 10, 0, 100, NULL), "evt_100>we_1 evt_200>we_1 evt_300>we_1");

    /* Only events created before the cutoff go, with their deliveries. */
    assert_int_equal(prune_all(f, 200), 1);
    store_event got;
    assert_int_equal(store_event_get(f->st, "acct_A", "evt_100", f->a, &got), STORE_NOT_FOUND);
    assert_int_equal(store_event_get(f->st, "acct_A", "evt_200", f->a, &got), 0);
    assert_string_equal(due(f, 10, 0, 100, NULL), "evt_200>we_1 evt_300>we_1");
    store_event_query q = {.account = "acct_A", .delivery_success = -1, .limit = 10};
    expect_events(f, &q, "evt_300 evt_200", 0);
    assert_int_equal(prune_all(f, 200), 0);

    /* Many at once: a batch at a time, until all are gone. */
    bulk_ctx b = {.n = 2500, .created = 50};
    assert_int_equal(store_run(f->st, bulk_events_fn, &b), 0);
    store_delivery *d;
    size_t n;
    assert_int_equal(store_deliveries_due(f->st, 10, 0, 10000, f->a, &d, &n), 0);
    assert_int_equal(n, 2502);
    assert_int_equal(prune_all(f, 250), 2501);
    assert_string_equal(due(f, 10, 0, 100, NULL), "evt_300>we_1");
    q.account = "acct_B";
    expect_events(f, &q, "", 0);
    reopen(f);
    assert_string_equal(due(f, 10, 0, 100, NULL), "evt_300>we_1");
    assert_int_equal(store_event_get(f->st, "acct_A", "evt_300", f->a, &got), 0);

    /* An old event stored after many young ones (a clock that stepped back) still goes: the
     * batch is of the events before the cutoff, not of the oldest rows. */
    bulk_ctx young = {.n = 1001, .created = 1000};
    assert_int_equal(store_run(f->st, bulk_events_fn, &young), 0);
    store_event late = ev("acct_A", "evt_late", 60, "t", "vs_1");
    add_event_to(f, &late, 4, "we_1", NULL);
    assert_int_equal(prune_all(f, 100), 1);
    assert_int_equal(store_event_get(f->st, "acct_A", "evt_late", f->a, &got), STORE_NOT_FOUND);
    assert_int_equal(store_event_get(f->st, "acct_B", "evt_bulk01000", f->a, &got), 0);
}

/* ---- reports ---- */

typedef struct rp_ctx {
    const store_report *r;
    const char *account, *id;
    arena *a;
    store_record got;
    store_report *items;
    size_t n;
} rp_ctx;

static int report_insert_fn(store_txn *t, void *ctx)
{
    rp_ctx *c = ctx;
    return store_txn_report_insert(t, c->r);
}

static int report_update_fn(store_txn *t, void *ctx)
{
    rp_ctx *c = ctx;
    return store_txn_report_update(t, c->r);
}

static int report_txn_get_fn(store_txn *t, void *ctx)
{
    rp_ctx *c = ctx;
    return store_txn_report_get(t, c->account, c->id, c->a, &c->got);
}

static int session_reports_fn(store_txn *t, void *ctx)
{
    rp_ctx *c = ctx;
    return store_txn_session_reports(t, c->account, c->id, c->a, &c->items, &c->n);
}

/* A report row whose record is its id (borrowed). */
static store_report mkr(const char *account, const char *id, int64_t created, int type,
                        const char *sid, const char *ref)
{
    return (store_report){.id = id,
                          .account = account,
                          .created = created,
                          .type = type,
                          .verification_session = sid,
                          .client_reference_id = ref,
                          .record = rec(id)};
}

static int report_insert(fixture *f, const store_report *r)
{
    rp_ctx c = {.r = r};
    return store_run(f->st, report_insert_fn, &c);
}

static void expect_report(fixture *f, const char *account, const char *id, const char *want)
{
    store_record got;
    int rc = store_report_get(f->st, account, id, f->a, &got);
    if (want == NULL) {
        assert_int_equal(rc, STORE_NOT_FOUND);
        return;
    }
    assert_int_equal(rc, 0);
    assert_rec_str(got, want);
}

/* The reports of session sid as "id=record", joined by spaces. */
static const char *session_reports(fixture *f, const char *account, const char *sid)
{
    rp_ctx c = {.account = account, .id = sid, .a = f->a};
    assert_int_equal(store_run(f->st, session_reports_fn, &c), 0);
    buf b;
    buf_init(&b, f->a);
    for (size_t i = 0; i < c.n; i++)
        buf_printf(&b, "%s%s=%.*s", i ? " " : "", c.items[i].id, (int)c.items[i].record.len,
                   (const char *)c.items[i].record.data);
    return b.data;
}

static void test_reports(void **state)
{
    fixture *f = *state;
    static const unsigned char bytes[] = {'r', 0, 0xff, 'p', 0};
    store_report r1 = mkr("acct_A", "vr_1", 100, 1, "vs_1", "ref");
    r1.record = (store_record){bytes, sizeof bytes};
    store_report r2 = mkr("acct_A", "vr_2", 101, 2, "vs_1", NULL);
    store_report r3 = mkr("acct_A", "vr_3", 102, 1, "vs_2", NULL);
    store_report empty = mkr("acct_A", "vr_empty", 103, 1, "vs_3", NULL);
    empty.record = (store_record){NULL, 0};
    assert_int_equal(report_insert(f, &r1), 0);
    assert_int_equal(report_insert(f, &r2), 0);
    assert_int_equal(report_insert(f, &r3), 0);
    assert_int_equal(report_insert(f, &empty), 0);

    store_record got;
    assert_int_equal(store_report_get(f->st, "acct_A", "vr_1", f->a, &got), 0);
    assert_rec_eq(got, bytes, sizeof bytes);
    assert_int_equal(store_report_get(f->st, "acct_A", "vr_empty", f->a, &got), 0);
    assert_int_equal(got.len, 0);
    expect_report(f, "acct_A", "vr_2", "vr_2");
    expect_report(f, "acct_B", "vr_1", NULL);
    expect_report(f, "acct_A", "vr_9", NULL);
    rp_ctx c = {.account = "acct_A", .id = "vr_2", .a = f->a};
    assert_int_equal(store_run(f->st, report_txn_get_fn, &c), 0);
    assert_rec_str(c.got, "vr_2");
    c.account = "acct_B";
    assert_int_equal(store_run(f->st, report_txn_get_fn, &c), STORE_NOT_FOUND);

    /* Unique ids, in any account; a refused insert changes nothing. */
    store_report dup = mkr("acct_B", "vr_1", 1, 1, "vs_9", NULL);
    assert_int_equal(report_insert(f, &dup), STORE_EXISTS);
    dup.account = "acct_A";
    assert_int_equal(report_insert(f, &dup), STORE_EXISTS);
    assert_int_equal(store_report_get(f->st, "acct_A", "vr_1", f->a, &got), 0);
    assert_rec_eq(got, bytes, sizeof bytes);
    expect_report(f, "acct_B", "vr_1", NULL);

    /* A session's reports, oldest first, with their records; the account's only. */
    store_report b1 = mkr("acct_B", "vr_b1", 100, 1, "vs_1", NULL);
    assert_int_equal(report_insert(f, &b1), 0);
    assert_string_equal(session_reports(f, "acct_A", "vs_2"), "vr_3=vr_3");
    assert_string_equal(session_reports(f, "acct_B", "vs_1"), "vr_b1=vr_b1");
    assert_string_equal(session_reports(f, "acct_A", "vs_none"), "");
    rp_ctx sr = {.account = "acct_A", .id = "vs_1", .a = f->a};
    assert_int_equal(store_run(f->st, session_reports_fn, &sr), 0);
    assert_int_equal(sr.n, 2);
    assert_string_equal(sr.items[0].id, "vr_1");
    assert_rec_eq(sr.items[0].record, bytes, sizeof bytes);
    assert_string_equal(sr.items[1].id, "vr_2");

    /* Update rewrites the record and client_reference_id (redaction), and the list follows. */
    store_report u = r1;
    u.record = rec("redacted");
    u.client_reference_id = "new-ref";
    rp_ctx uc = {.r = &u};
    assert_int_equal(store_run(f->st, report_update_fn, &uc), 0);
    expect_report(f, "acct_A", "vr_1", "redacted");
    store_report_query q = {.account = "acct_A", .limit = 10, .client_reference_id = "new-ref"};
    store_record *items;
    size_t n;
    int more;
    assert_int_equal(store_report_list(f->st, &q, f->a, &items, &n, &more), 0);
    assert_string_equal(join(f, items, n), "redacted");
    q.client_reference_id = "ref";
    assert_int_equal(store_report_list(f->st, &q, f->a, &items, &n, &more), 0);
    assert_int_equal(n, 0);
    assert_string_equal(session_reports(f, "acct_A", "vs_1"), "vr_1=redacted vr_2=vr_2");
    /* Another account's report of that id is untouched. */
    u.account = "acct_B";
    u.record = rec("not yours");
    uc.r = &u;
    (void)store_run(f->st, report_update_fn, &uc);
    expect_report(f, "acct_A", "vr_1", "redacted");
    expect_report(f, "acct_B", "vr_1", NULL);

    reopen(f);
    expect_report(f, "acct_A", "vr_1", "redacted");
    expect_report(f, "acct_B", "vr_b1", "vr_b1");
}

static const char *report_ids(fixture *f, const store_report_query *q, int *has_more, int *rc)
{
    store_record *items = NULL;
    size_t n = 99;
    int more = -1;
    *rc = store_report_list(f->st, q, f->a, &items, &n, &more);
    if (*rc != 0) assert_int_equal(n, 0);
    if (has_more != NULL) *has_more = more;
    return join(f, items, n);
}

static void expect_reports(fixture *f, const store_report_query *q, const char *ids, int has_more)
{
    int more, rc;
    const char *got = report_ids(f, q, &more, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(got, ids);
    assert_int_equal(more, has_more);
}

static void test_report_list(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *id, *other_id;
        int64_t created;
        int type;
        const char *session, *ref;
    } rows[] = {
        {"vr_a", "vr_a_other", 100, 1, "vs_1", "r1"}, {"vr_b", "vr_b_other", 101, 2, "vs_1", NULL},
        {"vr_c", "vr_c_other", 102, 1, "vs_2", "r1"}, {"vr_d", "vr_d_other", 102, 2, "vs_2", "r2"},
        {"vr_e", "vr_e_other", 104, 1, "vs_3", NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        store_report r =
            mkr("acct_A", rows[i].id, rows[i].created, rows[i].type, rows[i].session, rows[i].ref);
        assert_int_equal(report_insert(f, &r), 0);
        r = mkr("acct_B", rows[i].other_id, rows[i].created, rows[i].type, rows[i].session,
                rows[i].ref);
        assert_int_equal(report_insert(f, &r), 0);
    }
    const store_report_query base = {.account = "acct_A", .limit = 10};
    store_report_query q = base;
    expect_reports(f, &q, "vr_e vr_d vr_c vr_b vr_a", 0);
    q.has_type = 1;
    q.type = 1;
    expect_reports(f, &q, "vr_e vr_c vr_a", 0);
    q.type = 3;
    expect_reports(f, &q, "", 0);
    q = base;
    q.client_reference_id = "r1";
    expect_reports(f, &q, "vr_c vr_a", 0);
    q = base;
    q.verification_session = "vs_2";
    expect_reports(f, &q, "vr_d vr_c", 0);
    q = base;
    q.verification_session = "vs_1";
    q.has_type = 1;
    q.type = 2;
    expect_reports(f, &q, "vr_b", 0);
    q = base;
    q.client_reference_id = "r1";
    q.verification_session = "vs_2";
    q.has_type = 1;
    q.type = 1;
    expect_reports(f, &q, "vr_c", 0);
    q.type = 2;
    expect_reports(f, &q, "", 0);

    /* created bounds. */
    q = base;
    q.created.has_eq = 1;
    q.created.eq = 102;
    expect_reports(f, &q, "vr_d vr_c", 0);
    q = base;
    q.created.has_gt = 1;
    q.created.gt = 101;
    expect_reports(f, &q, "vr_e vr_d vr_c", 0);
    q = base;
    q.created.has_gte = q.created.has_lt = 1;
    q.created.gte = 101;
    q.created.lt = 104;
    expect_reports(f, &q, "vr_d vr_c vr_b", 0);
    q = base;
    q.created.has_lte = 1;
    q.created.lte = 100;
    expect_reports(f, &q, "vr_a", 0);
    q.has_type = 1;
    q.type = 2;
    expect_reports(f, &q, "", 0);

    /* Paging both ways, through the created tie. */
    q = base;
    q.limit = 2;
    expect_reports(f, &q, "vr_e vr_d", 1);
    q.starting_after = "vr_d";
    expect_reports(f, &q, "vr_c vr_b", 1);
    q.starting_after = "vr_b";
    expect_reports(f, &q, "vr_a", 0);
    q.starting_after = NULL;
    q.ending_before = "vr_a";
    expect_reports(f, &q, "vr_c vr_b", 1);
    q.ending_before = "vr_c";
    expect_reports(f, &q, "vr_e vr_d", 0);
    q = base;
    q.has_type = 1;
    q.type = 1;
    q.limit = 1;
    q.starting_after = "vr_d"; /* a cursor outside the filter */
    expect_reports(f, &q, "vr_c", 1);

    int rc;
    q = base;
    q.starting_after = "vr_a_other";
    report_ids(f, &q, NULL, &rc);
    assert_int_equal(rc, STORE_CURSOR);
    q.starting_after = NULL;
    q.ending_before = "vr_nope";
    report_ids(f, &q, NULL, &rc);
    assert_int_equal(rc, STORE_CURSOR);
    q.starting_after = "vr_b";
    report_ids(f, &q, NULL, &rc);
    assert_int_equal(rc, STORE_CURSOR);
    q = base;
    q.limit = 0;
    expect_reports(f, &q, "vr_e", 1);
    q.limit = 500;
    expect_reports(f, &q, "vr_e vr_d vr_c vr_b vr_a", 0);
    q = base;
    q.account = "acct_B";
    q.verification_session = "vs_1";
    expect_reports(f, &q, "vr_b_other vr_a_other", 0);
}

/* ---- hosted links and delayed outcomes ---- */

typedef struct link_ctx {
    const void *key;
    size_t len;
    const char *account, *session;
} link_ctx;

static int link_put_fn(store_txn *t, void *ctx)
{
    link_ctx *c = ctx;
    return store_txn_link_put(t, c->key, c->len, c->account, c->session);
}

static int link_put(fixture *f, const void *key, size_t len, const char *account, const char *sid)
{
    link_ctx c = {key, len, account, sid};
    return store_run(f->st, link_put_fn, &c);
}

static void expect_link(fixture *f, const void *key, size_t len, const char *account,
                        const char *sid)
{
    const char *a = NULL, *s = NULL;
    int rc = store_link_find(f->st, key, len, f->a, &a, &s);
    if (account == NULL) {
        assert_int_equal(rc, STORE_NOT_FOUND);
        return;
    }
    assert_int_equal(rc, 0);
    assert_string_equal(a, account);
    assert_string_equal(s, sid);
}

static void test_links(void **state)
{
    fixture *f = *state;
    unsigned char k1[32], k2[64], k3[1];
    for (size_t i = 0; i < sizeof k1; i++)
        k1[i] = (unsigned char)(i * 7); /* starts with a NUL */
    for (size_t i = 0; i < sizeof k2; i++)
        k2[i] = (unsigned char)(255 - i);
    k3[0] = 0;
    assert_int_equal(link_put(f, k1, sizeof k1, "acct_A", "vs_1"), 0);
    assert_int_equal(link_put(f, k2, sizeof k2, "acct_B", "vs_2"), 0);
    assert_int_equal(link_put(f, k3, sizeof k3, "acct_A", "vs_3"), 0);
    expect_link(f, k1, sizeof k1, "acct_A", "vs_1");
    expect_link(f, k2, sizeof k2, "acct_B", "vs_2");
    expect_link(f, k3, sizeof k3, "acct_A", "vs_3");
    /* A prefix of a key, or one byte changed, is another key. */
    expect_link(f, k1, sizeof k1 - 1, NULL, NULL);
    expect_link(f, k2, 32, NULL, NULL);
    unsigned char other[32];
    memcpy(other, k1, sizeof other);
    other[31] ^= 1;
    expect_link(f, other, sizeof other, NULL, NULL);

    /* A key already stored keeps its session. */
    assert_int_equal(link_put(f, k1, sizeof k1, "acct_A", "vs_1"), 0);
    assert_int_equal(link_put(f, k1, sizeof k1, "acct_C", "vs_other"), 0);
    expect_link(f, k1, sizeof k1, "acct_A", "vs_1");
    /* One session may have several keys. */
    assert_int_equal(link_put(f, other, sizeof other, "acct_A", "vs_1"), 0);
    expect_link(f, other, sizeof other, "acct_A", "vs_1");

    reopen(f);
    expect_link(f, k1, sizeof k1, "acct_A", "vs_1");
    expect_link(f, k2, sizeof k2, "acct_B", "vs_2");
    expect_link(f, k3, sizeof k3, "acct_A", "vs_3");
}

typedef struct outcome_ctx {
    const char *account, *id;
    int64_t due_ms;
    int clear;
} outcome_ctx;

static int outcome_fn(store_txn *t, void *ctx)
{
    outcome_ctx *c = ctx;
    return c->clear ? store_txn_outcome_clear(t, c->account, c->id)
                    : store_txn_outcome_set(t, c->account, c->id, c->due_ms);
}

static int outcome(fixture *f, const char *account, const char *id, int64_t due_ms, int clear)
{
    outcome_ctx c = {account, id, due_ms, clear};
    return store_run(f->st, outcome_fn, &c);
}

/* The outcomes due at now_ms, as "account/id" joined by spaces. */
static const char *outcomes_due(fixture *f, int64_t now_ms, size_t max)
{
    const char **accounts, **ids;
    size_t n = 99;
    assert_int_equal(store_outcomes_due(f->st, now_ms, max, f->a, &accounts, &ids, &n), 0);
    buf b;
    buf_init(&b, f->a);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%s/%s", i ? " " : "", accounts[i], ids[i]);
    return b.data;
}

static void test_outcomes(void **state)
{
    fixture *f = *state;
    assert_int_equal(outcome(f, "acct_A", "vs_1", 3000, 0), 0);
    assert_int_equal(outcome(f, "acct_A", "vs_2", 1000, 0), 0);
    assert_int_equal(outcome(f, "acct_B", "vs_1", 2000, 0), 0); /* another account's vs_1 */

    assert_string_equal(outcomes_due(f, 999, 10), "");
    assert_string_equal(outcomes_due(f, 1000, 10), "acct_A/vs_2");
    assert_string_equal(outcomes_due(f, 5000, 10), "acct_A/vs_2 acct_B/vs_1 acct_A/vs_1");
    assert_string_equal(outcomes_due(f, 5000, 2), "acct_A/vs_2 acct_B/vs_1");
    assert_string_equal(outcomes_due(f, 5000, 0), "");

    /* Setting again moves it. */
    assert_int_equal(outcome(f, "acct_A", "vs_2", 4000, 0), 0);
    assert_string_equal(outcomes_due(f, 3500, 10), "acct_B/vs_1 acct_A/vs_1");
    assert_string_equal(outcomes_due(f, 5000, 10), "acct_B/vs_1 acct_A/vs_1 acct_A/vs_2");

    /* Clear forgets one session's, no other's; clearing what is not there is no error. */
    assert_int_equal(outcome(f, "acct_A", "vs_1", 0, 1), 0);
    assert_string_equal(outcomes_due(f, 5000, 10), "acct_B/vs_1 acct_A/vs_2");
    assert_int_equal(outcome(f, "acct_A", "vs_1", 0, 1), 0);
    assert_int_equal(outcome(f, "acct_C", "vs_none", 0, 1), 0);

    /* Many due. */
    static char ids[40][32];
    for (int i = 0; i < 40; i++) {
        snprintf(ids[i], sizeof ids[i], "vs_m%02d", i);
        assert_int_equal(outcome(f, "acct_C", ids[i], 10000 + i, 0), 0);
    }
    const char **accounts, **idv;
    size_t n;
    assert_int_equal(store_outcomes_due(f->st, 20000, 1000, f->a, &accounts, &idv, &n), 0);
    assert_int_equal(n, 42);
    assert_string_equal(idv[2], "vs_m00");
    assert_string_equal(idv[41], "vs_m39");
    reopen(f);
    assert_string_equal(outcomes_due(f, 5000, 10), "acct_B/vs_1 acct_A/vs_2");
}

/* ---- per-account clocks ---- */

typedef struct clock_job {
    const char *account;
    int64_t delta_ms, offset_ms;
} clock_job;

static int clock_fn(store_txn *t, void *ctx)
{
    clock_job *j = ctx;
    return store_txn_clock_advance(t, j->account, j->delta_ms, &j->offset_ms);
}

/* "account=offset ..." of every stored clock. */
static const char *clocks(fixture *f)
{
    const char **accounts;
    int64_t *offsets;
    size_t n;
    assert_int_equal(store_clock_list(f->st, f->a, &accounts, &offsets, &n), 0);
    buf b;
    buf_init(&b, f->a);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%s=%lld", i ? " " : "", accounts[i], (long long)offsets[i]);
    return b.data;
}

/* An advance grows the account's offset, durably, and brings the pending due times of the account
 * and its connected namespaces earlier by as much; a sibling whose name merely starts the same and
 * other accounts keep theirs. */
static void test_clock_advance(void **state)
{
    fixture *f = *state;
    assert_string_equal(clocks(f), "");
    assert_int_equal(outcome(f, "acct_A", "vs_1", 3000, 0), 0);
    assert_int_equal(outcome(f, "acct_A/acct_1C", "vs_2", 3000, 0), 0);
    assert_int_equal(outcome(f, "acct_AB", "vs_3", 3000, 0), 0);
    assert_int_equal(outcome(f, "acct_B", "vs_4", 3000, 0), 0);
    assert_string_equal(outcomes_due(f, 2999, 10), "");

    clock_job j = {"acct_A", 500, 0};
    assert_int_equal(store_run(f->st, clock_fn, &j), 0);
    assert_int_equal(j.offset_ms, 500);
    assert_string_equal(outcomes_due(f, 2499, 10), "");
    assert_string_equal(outcomes_due(f, 2500, 10), "acct_A/vs_1 acct_A/acct_1C/vs_2");
    j.delta_ms = 250;
    assert_int_equal(store_run(f->st, clock_fn, &j), 0);
    assert_int_equal(j.offset_ms, 750);
    assert_string_equal(outcomes_due(f, 2250, 10), "acct_A/vs_1 acct_A/acct_1C/vs_2");
    assert_string_equal(outcomes_due(f, 3000, 10),
                        "acct_A/vs_1 acct_A/acct_1C/vs_2 acct_AB/vs_3 acct_B/vs_4");
    reopen(f);
    assert_string_equal(clocks(f), "acct_A=750");
}

/* ---- everything survives a reopen; unknown backends are refused ---- */

static void test_reopen_keeps_everything(void **state)
{
    fixture *f = *state;
    all_ctx c = {.sfx = "r", .ret = 0};
    assert_int_equal(store_run(f->st, write_all_fn, &c), 0);
    assert_int_equal(all_present(f, &c), 1);
    reopen(f);
    assert_int_equal(all_present(f, &c), 1);
    store_close(f->st);
    f->st = fx_store_open(f->data, NULL);
    assert_int_equal(all_present(f, &c), 1);
    /* ...and what was written keeps its uniqueness. */
    all_ctx again = {.sfx = "r", .ret = 0};
    assert_int_equal(store_run(f->st, write_all_fn, &again), STORE_EXISTS);
}

static void test_unknown_backend_refused(void **state)
{
    fixture *f = *state;
    store_config cfg = {.url = "nosuchdb://localhost/verifyd", .data_dir = f->data};
    const char *errmsg = NULL;
    store *st = (store *)1;
    assert_int_equal(store_open(&cfg, &st, &errmsg), STORE_EIO);
    assert_null(st);
    assert_non_null(errmsg);
}

/* v2 event destinations (store.h: destination, name, thin, updated_ms) share the endpoints'
 * table, fan-out and outbox with v1 endpoints, each kind with its own limit; v2 events (pings)
 * stay out of the v1 event list, and the list filters on object_id. */
static void test_destinations_and_v2_events(void **state)
{
    fixture *f = *state;
    const char *thin_events[] = {"v1.identity.verification_session.verified"};
    store_webhook d1 = wh("acct_A", "ed_test_1", 100);
    d1.destination = 1;
    d1.thin = 1;
    d1.name = "outcomes";
    d1.updated_ms = 100123;
    d1.enabled_events = thin_events;
    d1.n_enabled_events = 1;
    store_webhook d2 = wh("acct_A", "ed_test_2", 101);
    d2.destination = 1;
    d2.name = "snap";
    d2.api_version = "2024-06-20";
    assert_int_equal(wh_insert(f, d1, 2), 0);
    assert_int_equal(wh_insert(f, d2, 2), 0);
    /* Destinations are counted apart from endpoints: two of each fit a limit of two. */
    store_webhook d3 = d2;
    d3.id = "ed_test_3";
    assert_int_equal(wh_insert(f, d3, 2), STORE_LIMIT);
    assert_int_equal(wh_insert(f, wh("acct_A", "we_1", 102), 2), 0);
    assert_int_equal(wh_insert(f, wh("acct_A", "we_2", 103), 2), 0);
    assert_int_equal(wh_insert(f, wh("acct_A", "we_3", 104), 2), STORE_LIMIT);

    store_webhook got;
    assert_int_equal(store_webhook_get(f->st, "acct_A", "ed_test_1", f->a, &got), 0);
    assert_webhook_eq(&got, &d1);
    assert_int_equal(got.destination, 1);
    assert_int_equal(got.thin, 1);
    assert_string_equal(got.name, "outcomes");
    assert_int_equal(got.updated_ms, 100123);
    assert_int_equal(store_webhook_get(f->st, "acct_A", "ed_test_2", f->a, &got), 0);
    assert_int_equal(got.destination, 1);
    assert_int_equal(got.thin, 0);
    assert_int_equal(store_webhook_get(f->st, "acct_A", "we_1", f->a, &got), 0);
    assert_int_equal(got.destination, 0);
    assert_null(got.name);

    /* An update rewrites name and updated_ms, never the kind or the payload. */
    wh_ctx u = {.w = d1};
    u.w.name = "renamed";
    u.w.updated_ms = 200456;
    u.w.thin = 0;
    u.w.destination = 0;
    assert_int_equal(store_run(f->st, wh_update_fn, &u), 0);
    assert_int_equal(store_webhook_get(f->st, "acct_A", "ed_test_1", f->a, &got), 0);
    assert_string_equal(got.name, "renamed");
    assert_int_equal(got.updated_ms, 200456);
    assert_int_equal(got.destination, 1);
    assert_int_equal(got.thin, 1);

    /* Candidates carry the kind and the payload, which the fan-out reads. */
    wh_ctx c = {.account = "acct_A", .a = f->a};
    assert_int_equal(store_run(f->st, wh_candidates_fn, &c), 0);
    int found = 0;
    for (size_t i = 0; i < c.n; i++) {
        if (strcmp(c.items[i].id, "ed_test_1") == 0) {
            found++;
            assert_int_equal(c.items[i].destination, 1);
            assert_int_equal(c.items[i].thin, 1);
        } else if (strcmp(c.items[i].id, "we_1") == 0) {
            found++;
            assert_int_equal(c.items[i].destination, 0);
        }
    }
    assert_int_equal(found, 2);

    /* The outbox tells the worker the destination's kind and payload. */
    store_event e1 = ev("acct_A", "evt_1", 10, "identity.verification_session.verified", "vs_1");
    e1.pending_webhooks = 2;
    add_event_to(f, &e1, 1000, "ed_test_1", "we_1");
    store_event p = ev("acct_A", "evt_p", 11, "v2.core.event_destination.ping", "ed_test_1");
    p.v2 = 1;
    p.pending_webhooks = 1;
    add_event_to(f, &p, 1000, "ed_test_1", NULL);
    store_delivery *d;
    assert_string_equal(due(f, 1001, 0, 100, &d), "evt_1>ed_test_1 evt_p>ed_test_1 evt_1>we_1");
    assert_int_equal(d[0].destination, 1);
    assert_int_equal(d[0].thin, 1);
    assert_int_equal(d[0].event.v2, 0);
    assert_int_equal(d[1].event.v2, 1);
    assert_int_equal(d[2].destination, 0);
    assert_int_equal(d[2].thin, 0);

    /* v2 events: the v1 list never shows them; the v2 list does, and filters on object_id. */
    store_event e2 = ev("acct_A", "evt_2", 12, "identity.verification_session.created", "vs_2");
    add_event(f, e2);
    store_event_query q = {.account = "acct_A", .delivery_success = -1, .limit = 10};
    expect_events(f, &q, "evt_2 evt_1", 0);
    q.v2 = 1;
    expect_events(f, &q, "evt_2 evt_p evt_1", 0);
    q.object_id = "vs_1";
    expect_events(f, &q, "evt_1", 0);
    q.object_id = "ed_test_1";
    expect_events(f, &q, "evt_p", 0);
    store_event got_e;
    assert_int_equal(store_event_get(f->st, "acct_A", "evt_p", f->a, &got_e), 0);
    assert_int_equal(got_e.v2, 1);
    assert_int_equal(store_event_get(f->st, "acct_A", "evt_1", f->a, &got_e), 0);
    assert_int_equal(got_e.v2, 0);
}

/* ---- a whole account: store_txn_account_reset ---- */

typedef struct reset_ctx {
    const char *account;
    int ret; /* returned after the reset: non-zero rolls it back */
    store_reset_counts counts;
} reset_ctx;

static int reset_fn(store_txn *t, void *ctx)
{
    reset_ctx *c = ctx;
    int rc = store_txn_account_reset(t, c->account, &c->counts);
    return rc != 0 ? rc : c->ret;
}

static void test_account_reset(void **state)
{
    fixture *f = *state;
    store_session a1 = mk("acct_A", "vs_reset_a1", 10), a2 = mk("acct_A", "vs_reset_a2", 11);
    store_session b1 = mk("acct_B", "vs_reset_b1", 12);
    assert_int_equal(insert(f, &a1), 0);
    assert_int_equal(insert(f, &a2), 0);
    assert_int_equal(insert(f, &b1), 0);
    idem_ctx ia = idem(f, "acct_A", "key-r", 200, "{}", 100, "vs_reset_a1");
    idem_ctx ib = idem(f, "acct_B", "key-r", 200, "{}", 100, "vs_reset_b1");
    assert_int_equal(store_run(f->st, idem_put_fn, &ia), 0);
    assert_int_equal(store_run(f->st, idem_put_fn, &ib), 0);
    expect_session(f, "acct_A", "vs_reset_a1", "vs_reset_a1"); /* now in the cache, if any */

    /* A reset whose job rolls back changes nothing. */
    reset_ctx undone = {"acct_A", STORE_ABORTED, {0}};
    assert_int_equal(store_run(f->st, reset_fn, &undone), STORE_ABORTED);
    expect_session(f, "acct_A", "vs_reset_a1", "vs_reset_a1");
    expect_session(f, "acct_A", "vs_reset_a2", "vs_reset_a2");

    reset_ctx c = {"acct_A", 0, {0}};
    assert_int_equal(store_run(f->st, reset_fn, &c), 0);
    assert_int_equal(c.counts.sessions, 2);
    assert_int_equal(c.counts.idempotency_keys, 1);
    expect_session(f, "acct_A", "vs_reset_a1", NULL);
    expect_session(f, "acct_A", "vs_reset_a2", NULL);
    expect_session(f, "acct_B", "vs_reset_b1", "vs_reset_b1");
    store_idem got;
    assert_int_equal(store_idem_get(f->st, "acct_A", "key-r", f->a, &got), STORE_NOT_FOUND);
    assert_int_equal(store_idem_get(f->st, "acct_B", "key-r", f->a, &got), 0);
    store_session_query q = {.account = "acct_A", .limit = 10};
    expect_list(f, &q, "", 0);

    /* The deleted ids are free again (in the account or another), and stay so after a reopen. */
    assert_int_equal(insert(f, &a1), 0);
    store_session moved = mk("acct_C", "vs_reset_a2", 13);
    assert_int_equal(insert(f, &moved), 0);
    reopen(f);
    expect_session(f, "acct_A", "vs_reset_a1", "vs_reset_a1");
    expect_session(f, "acct_C", "vs_reset_a2", "vs_reset_a2");
    expect_session(f, "acct_A", "vs_reset_a2", NULL);
    assert_int_equal(insert(f, &b1), STORE_EXISTS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session_roundtrip_and_isolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_update_conditional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_order_ties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_created_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_pagination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_update_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_job_keeps_batch_mates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_done_callbacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_drains_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_follow_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_after_acknowledged_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_readers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_keeps_acknowledged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redactions_due, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_put_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_begin_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_exclusive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotency_prune_and_delete_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_insert_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_snapshots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhooks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_candidates_and_forward, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_endpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deliveries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destinations_and_v2_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outcomes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_advance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_backend_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_reset, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
