/*
 * test_lifecycle: the transitions after a submission (lifecycle_process, lifecycle_verify,
 * lifecycle_require_input, lifecycle_schedule) run in store jobs on a real store, and the worker
 * that completes delayed outcomes (outcomes_start), on the process's test clock
 * (util_clock_advance).
 *
 * Each transition is checked for what it writes together: the session's status, report,
 * last_error, verified_outputs and fresh client_secret / url; its events, in order, with the
 * caller's request (or null); the delayed outcome's row. A transition from a state it is not
 * for (including a redacting session) returns LIFECYCLE_WRONG_STATE and writes nothing. The worker
 * completes an outcome once its due time has come and not before, in the right account, with
 * request-null events, and forgets outcomes whose session moved on meanwhile.
 *
 * Not for: report contents (test_report.c) or the HTTP endpoints that call these
 * (test_sessions_api.c, test_hosted_page.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "identity/event.h"
#include "background/outcomes.h"
#include "identity/lifecycle.h"
#include "identity/report.h"
#include "store/store.h"
#include "base/util.h"
#include "background/worker.h"

#include "fixture.h"
#include "identity/report_store.h"

/* A fresh store in its own mkdtemp directory, a scratch arena and an app on the store with
 * public_url http://verifyd.test (fixture.h). */
typedef fx_store fixture;

static int setup(void **state)
{
    *state = fx_store_new("lc");
    return 0;
}

static int teardown(void **state)
{
    fx_store_free(*state);
    return 0;
}

/* ---- helpers ---- */

/* A stored requires_input session of type with a fresh client_secret / url. */
static void new_session(fixture *f, const char *account, const char *id, session_type type)
{
    session s = fx_session(account, id);
    s.type = type;
    session_issue_secrets(&s, f->a);
    assert_int_equal(fx_session_insert(f->st, &s), 0);
}

typedef enum { OP_PROCESS, OP_VERIFY, OP_REQUIRE_INPUT, OP_SCHEDULE } op_kind;

typedef struct op_job {
    fixture *f;
    const char *account, *id;
    op_kind op;
    const char *code;
    session_pending outcome;
    int64_t due_ms;
    lifecycle_origin origin;
    int result;     /* the transition's return value */
    session before; /* as read in the job */
    session after;  /* s after the call */
} op_job;

static int op_fn(store_txn *t, void *arg)
{
    op_job *j = arg;
    session s;
    int rc = session_store_txn_get(t, j->account, j->id, j->f->a, &s);
    if (rc != 0) return rc;
    j->before = s;
    switch (j->op) {
    case OP_PROCESS:
        j->result = lifecycle_process(t, j->f->a, &s, &j->origin);
        break;
    case OP_VERIFY:
        j->result = lifecycle_verify(t, j->f->a, &s, &j->origin);
        break;
    case OP_REQUIRE_INPUT:
        j->result = lifecycle_require_input(t, j->f->a, &s, j->code, &j->origin);
        break;
    case OP_SCHEDULE:
        j->result = lifecycle_schedule(t, j->f->a, &s, j->outcome, j->code, j->due_ms, &j->origin);
        break;
    }
    j->after = s;
    return j->result < 0 ? j->result : 0;
}

static int run_op(fixture *f, op_job *j)
{
    j->f = f;
    if (!j->account) j->account = "acct_A";
    assert_int_equal(store_run(f->st, op_fn, j), 0);
    return j->result;
}

/* The session's event types, oldest first, comma-joined; *n how many. */
static const char *event_types(fixture *f, const char *account, const char *id, store_event **out)
{
    store_event_query q = {.account = account, .delivery_success = -1, .limit = 100};
    store_event *items;
    size_t n;
    int has_more;
    assert_int_equal(store_event_list(f->st, &q, f->a, &items, &n, &has_more), 0);
    buf b;
    buf_init(&b, f->a);
    buf_puts(&b, "");
    store_event *mine = arena_alloc(f->a, (n + 1) * sizeof *mine);
    size_t m = 0;
    for (size_t i = n; i-- > 0;) {
        if (strcmp(items[i].object_id, id) != 0) continue;
        if (b.len) buf_putc(&b, ',');
        buf_puts(&b, strrchr(items[i].type, '.') + 1);
        mine[m++] = items[i];
    }
    if (out) *out = mine;
    return b.data;
}

static size_t outcomes_due(fixture *f, int64_t now_ms, const char ***accounts, const char ***ids)
{
    const char **acc, **id;
    size_t n = 99;
    assert_int_equal(store_outcomes_due(f->st, now_ms, 100, f->a, &acc, &id, &n), 0);
    if (accounts) *accounts = acc;
    if (ids) *ids = id;
    return n;
}

/* ---- transitions ---- */

static void test_process(void **state)
{
    fixture *f = *state;
    new_session(f, "acct_A", "vs_p", SESSION_TYPE_DOCUMENT);
    op_job j = {.id = "vs_p", .op = OP_PROCESS, .origin = {"req_p", "ik_p"}};
    assert_int_equal(run_op(f, &j), 0);
    session s = fx_session_get(f, "acct_A", "vs_p");
    assert_int_equal(s.status, SESSION_PROCESSING);
    assert_null(s.last_verification_report);
    store_event *ev;
    assert_string_equal(event_types(f, "acct_A", "vs_p", &ev), "processing");
    assert_string_equal(ev[0].request_id, "req_p");
    assert_string_equal(ev[0].idempotency_key, "ik_p");

    /* Only from requires_input: a second process is refused and writes nothing. */
    op_job again = {.id = "vs_p", .op = OP_PROCESS};
    assert_int_equal(run_op(f, &again), LIFECYCLE_WRONG_STATE);
    assert_int_equal(again.after.status, SESSION_PROCESSING);
    assert_string_equal(event_types(f, "acct_A", "vs_p", NULL), "processing");
}

/* From requires_input, verify passes through processing: both events, in order; a verified
 * report, verified_outputs, no last_error. */
static void test_verify_from_requires_input(void **state)
{
    fixture *f = *state;
    new_session(f, "acct_A", "vs_v", SESSION_TYPE_DOCUMENT);
    op_job j = {.id = "vs_v", .op = OP_VERIFY, .origin = {"req_v", NULL}};
    assert_int_equal(run_op(f, &j), 0);
    session s = fx_session_get(f, "acct_A", "vs_v");
    assert_int_equal(s.status, SESSION_VERIFIED);
    assert_int_equal(s.has_last_error, 0);
    assert_true(s.outputs.present);
    assert_string_equal(s.outputs.first_name, "Jenny");
    assert_string_equal(s.outputs.last_name, "Rosen");
    assert_non_null(s.last_verification_report);
    assert_int_equal(strncmp(s.last_verification_report, "vr_", 3), 0);

    report r;
    assert_int_equal(report_store_get(f->st, NULL, "acct_A", s.last_verification_report, f->a, &r),
                     0);
    assert_string_equal(r.verification_session, "vs_v");
    assert_true(r.document.present);
    assert_true(r.document.verified);
    assert_null(r.document.error_code);

    store_event *ev;
    assert_string_equal(event_types(f, "acct_A", "vs_v", &ev), "processing,verified");
    assert_string_equal(ev[0].request_id, "req_v");
    assert_string_equal(ev[1].request_id, "req_v");
    /* The verified event's snapshot carries the report. */
    session snap;
    assert_int_equal(session_decode(f->a, ev[1].snapshot.data, ev[1].snapshot.len, &snap), 0);
    assert_int_equal(snap.status, SESSION_VERIFIED);
    assert_string_equal(snap.last_verification_report, s.last_verification_report);

    /* Verified is final for these transitions. */
    const op_kind ops[] = {OP_PROCESS, OP_VERIFY, OP_REQUIRE_INPUT, OP_SCHEDULE};
    for (size_t i = 0; i < 4; i++) {
        op_job k = {.id = "vs_v", .op = ops[i], .outcome = SESSION_PENDING_VERIFY, .due_ms = 1};
        assert_int_equal(run_op(f, &k), LIFECYCLE_WRONG_STATE);
    }
    assert_string_equal(event_types(f, "acct_A", "vs_v", NULL), "processing,verified");
    assert_int_equal(outcomes_due(f, INT64_MAX, NULL, NULL), 0);
}

static void test_verify_from_processing(void **state)
{
    fixture *f = *state;
    new_session(f, "acct_A", "vs_vp", SESSION_TYPE_ID_NUMBER);
    op_job p = {.id = "vs_vp", .op = OP_PROCESS};
    assert_int_equal(run_op(f, &p), 0);
    op_job v = {.id = "vs_vp", .op = OP_VERIFY};
    assert_int_equal(run_op(f, &v), 0);
    store_event *ev;
    assert_string_equal(event_types(f, "acct_A", "vs_vp", &ev), "processing,verified");
    assert_null(ev[1].request_id);
    session s = fx_session_get(f, "acct_A", "vs_vp");
    assert_int_equal(s.status, SESSION_VERIFIED);
    report r;
    assert_int_equal(report_store_get(f->st, NULL, "acct_A", s.last_verification_report, f->a, &r),
                     0);
    assert_true(r.id_number.present);
    assert_true(r.id_number.verified);
    assert_false(r.document.present);
}

/* Back to requires_input: last_error with the session's default code or the given one, an
 * unverified report, and a new client_secret / url (the old link still finds the session). */
static void test_require_input(void **state)
{
    fixture *f = *state;
    new_session(f, "acct_A", "vs_ri", SESSION_TYPE_DOCUMENT);
    session s0 = fx_session_get(f, "acct_A", "vs_ri");
    op_job j = {.id = "vs_ri", .op = OP_REQUIRE_INPUT, .origin = {"req_ri", "ik"}};
    assert_int_equal(run_op(f, &j), 0);
    session s = fx_session_get(f, "acct_A", "vs_ri");
    assert_int_equal(s.status, SESSION_REQUIRES_INPUT);
    assert_true(s.has_last_error);
    assert_string_equal(s.last_error_code, "document_unverified_other");
    assert_string_equal(s.last_error_reason, report_error_reason("document_unverified_other"));
    assert_false(s.outputs.present);
    assert_string_not_equal(s.url_token, s0.url_token);
    assert_string_not_equal(s.secret_token, s0.secret_token);
    report r;
    assert_int_equal(report_store_get(f->st, NULL, "acct_A", s.last_verification_report, f->a, &r),
                     0);
    assert_true(r.document.present);
    assert_false(r.document.verified);
    assert_string_equal(r.document.error_code, "document_unverified_other");
    assert_string_equal(event_types(f, "acct_A", "vs_ri", NULL), "processing,requires_input");
    const char *acc, *id;
    assert_int_equal(session_store_find_link(f->st, s0.url_token, f->a, &acc, &id), 0);
    assert_string_equal(id, "vs_ri");
    assert_int_equal(session_store_find_link(f->st, s.url_token, f->a, &acc, &id), 0);
    assert_string_equal(id, "vs_ri");

    /* A second failure from processing with a chosen code: one more event only. */
    op_job p = {.id = "vs_ri", .op = OP_PROCESS};
    assert_int_equal(run_op(f, &p), 0);
    op_job k = {.id = "vs_ri", .op = OP_REQUIRE_INPUT, .code = "selfie_face_mismatch"};
    assert_int_equal(run_op(f, &k), 0);
    session s2 = fx_session_get(f, "acct_A", "vs_ri");
    assert_string_equal(s2.last_error_code, "selfie_face_mismatch");
    assert_string_not_equal(s2.last_verification_report, s.last_verification_report);
    assert_string_equal(event_types(f, "acct_A", "vs_ri", NULL),
                        "processing,requires_input,processing,requires_input");

    /* Verifying after a failure clears last_error. */
    op_job v = {.id = "vs_ri", .op = OP_VERIFY};
    assert_int_equal(run_op(f, &v), 0);
    session s3 = fx_session_get(f, "acct_A", "vs_ri");
    assert_int_equal(s3.status, SESSION_VERIFIED);
    assert_false(s3.has_last_error);
    assert_null(s3.last_error_code);

    /* id_number sessions fail with id_number_mismatch by default. */
    new_session(f, "acct_A", "vs_idn", SESSION_TYPE_ID_NUMBER);
    op_job d = {.id = "vs_idn", .op = OP_REQUIRE_INPUT};
    assert_int_equal(run_op(f, &d), 0);
    assert_string_equal(fx_session_get(f, "acct_A", "vs_idn").last_error_code,
                        "id_number_mismatch");
}

/* Canceled or redacting sessions are in the wrong state for every transition. */

static void test_wrong_states(void **state)
{
    fixture *f = *state;
    new_session(f, "acct_A", "vs_c", SESSION_TYPE_DOCUMENT);
    session s = fx_session_get(f, "acct_A", "vs_c");
    s.status = SESSION_CANCELED;
    assert_int_equal(fx_session_update(f->st, &s), 0);
    new_session(f, "acct_A", "vs_r", SESSION_TYPE_DOCUMENT);
    s = fx_session_get(f, "acct_A", "vs_r");
    s.redaction = SESSION_REDACTION_PROCESSING;
    s.redaction_due = util_now_ms() + 3600000;
    assert_int_equal(fx_session_update(f->st, &s), 0);

    const char *ids[] = {"vs_c", "vs_r"};
    const op_kind ops[] = {OP_PROCESS, OP_VERIFY, OP_REQUIRE_INPUT, OP_SCHEDULE};
    for (size_t i = 0; i < 2; i++) {
        for (size_t k = 0; k < 4; k++) {
            op_job j = {.id = ids[i],
                        .op = ops[k],
                        .outcome = SESSION_PENDING_VERIFY,
                        .due_ms = util_now_ms()};
            assert_int_equal(run_op(f, &j), LIFECYCLE_WRONG_STATE);
            assert_int_equal(j.after.status, j.before.status);
            assert_int_equal(j.after.pending, SESSION_PENDING_NONE);
        }
        assert_string_equal(event_types(f, "acct_A", ids[i], NULL), "");
    }
    assert_int_equal(outcomes_due(f, INT64_MAX, NULL, NULL), 0);

    /* A redacting processing session cannot be finished either. */
    new_session(f, "acct_A", "vs_rp", SESSION_TYPE_DOCUMENT);
    op_job p = {.id = "vs_rp", .op = OP_PROCESS};
    assert_int_equal(run_op(f, &p), 0);
    s = fx_session_get(f, "acct_A", "vs_rp");
    s.redaction = SESSION_REDACTION_PROCESSING;
    assert_int_equal(fx_session_update(f->st, &s), 0);
    op_job v = {.id = "vs_rp", .op = OP_VERIFY};
    assert_int_equal(run_op(f, &v), LIFECYCLE_WRONG_STATE);
    op_job ri = {.id = "vs_rp", .op = OP_REQUIRE_INPUT};
    assert_int_equal(run_op(f, &ri), LIFECYCLE_WRONG_STATE);
    assert_string_equal(event_types(f, "acct_A", "vs_rp", NULL), "processing");
}

/* A delayed outcome: processing now, its outcome and due time stored, due exactly at due_ms. */
static void test_schedule(void **state)
{
    fixture *f = *state;
    new_session(f, "acct_A", "vs_s", SESSION_TYPE_DOCUMENT);
    int64_t due = util_now_ms() + 5000;
    op_job j = {.id = "vs_s",
                .op = OP_SCHEDULE,
                .outcome = SESSION_PENDING_REQUIRE_INPUT,
                .due_ms = due,
                .origin = {"req_s", NULL}};
    assert_int_equal(run_op(f, &j), 0);
    session s = fx_session_get(f, "acct_A", "vs_s");
    assert_int_equal(s.status, SESSION_PROCESSING);
    assert_int_equal(s.pending, SESSION_PENDING_REQUIRE_INPUT);
    assert_string_equal(s.pending_code, "document_unverified_other");
    assert_int_equal(s.pending_due, due);
    assert_null(s.last_verification_report);
    store_event *ev;
    assert_string_equal(event_types(f, "acct_A", "vs_s", &ev), "processing");
    assert_string_equal(ev[0].request_id, "req_s");
    assert_int_equal(outcomes_due(f, due - 1, NULL, NULL), 0);
    const char **acc, **ids;
    assert_int_equal(outcomes_due(f, due, &acc, &ids), 1);
    assert_string_equal(acc[0], "acct_A");
    assert_string_equal(ids[0], "vs_s");

    /* A second schedule is refused: the session is processing. */
    op_job again = {
        .id = "vs_s", .op = OP_SCHEDULE, .outcome = SESSION_PENDING_VERIFY, .due_ms = 1};
    assert_int_equal(run_op(f, &again), LIFECYCLE_WRONG_STATE);
    assert_int_equal(fx_session_get(f, "acct_A", "vs_s").pending_due, due);

    /* A verify outcome keeps no code; a chosen failure code is kept. */
    new_session(f, "acct_A", "vs_s2", SESSION_TYPE_DOCUMENT);
    op_job k = {.id = "vs_s2",
                .op = OP_SCHEDULE,
                .outcome = SESSION_PENDING_VERIFY,
                .code = "selfie_manipulated",
                .due_ms = due};
    assert_int_equal(run_op(f, &k), 0);
    assert_null(fx_session_get(f, "acct_A", "vs_s2").pending_code);
    new_session(f, "acct_A", "vs_s3", SESSION_TYPE_DOCUMENT);
    op_job m = {.id = "vs_s3",
                .op = OP_SCHEDULE,
                .outcome = SESSION_PENDING_REQUIRE_INPUT,
                .code = "selfie_manipulated",
                .due_ms = due};
    assert_int_equal(run_op(f, &m), 0);
    assert_string_equal(fx_session_get(f, "acct_A", "vs_s3").pending_code, "selfie_manipulated");

    /* Finishing a delayed session early (a test helper) forgets its outcome. */
    op_job v = {.id = "vs_s", .op = OP_VERIFY};
    assert_int_equal(run_op(f, &v), 0);
    s = fx_session_get(f, "acct_A", "vs_s");
    assert_int_equal(s.status, SESSION_VERIFIED);
    assert_int_equal(s.pending, SESSION_PENDING_NONE);
    assert_null(s.pending_code);
    assert_int_equal(outcomes_due(f, INT64_MAX, NULL, &ids), 2);
    for (size_t i = 0; i < 2; i++)
        assert_string_not_equal(ids[i], "vs_s");
}

/* ---- the worker ---- */

static void schedule(fixture *f, const char *account, const char *id, session_pending outcome,
                     const char *code, int64_t due)
{
    new_session(f, account, id, SESSION_TYPE_DOCUMENT);
    op_job j = {.account = account,
                .id = id,
                .op = OP_SCHEDULE,
                .outcome = outcome,
                .code = code,
                .due_ms = due};
    assert_int_equal(run_op(f, &j), 0);
}

/* Due outcomes complete (each account's with its own outcome and code), with request-null
 * events; one due later stays processing until the clock reaches it. */
static void test_worker_completes_due_outcomes(void **state)
{
    fixture *f = *state;
    int64_t now = util_now_ms();
    schedule(f, "acct_A", "vs_due", SESSION_PENDING_VERIFY, NULL, now - 1);
    schedule(f, "acct_B", "vs_due_b", SESSION_PENDING_REQUIRE_INPUT, "consent_declined", now - 1);
    schedule(f, "acct_A", "vs_later", SESSION_PENDING_VERIFY, NULL, now + 3600 * 1000);

    worker *w = outcomes_start(&f->ap);
    worker_sync(w);
    session a = fx_session_get(f, "acct_A", "vs_due");
    session b = fx_session_get(f, "acct_B", "vs_due_b");
    assert_int_equal(a.status, SESSION_VERIFIED);
    assert_int_equal(b.status, SESSION_REQUIRES_INPUT);
    assert_string_equal(b.last_error_code, "consent_declined");
    assert_true(b.has_last_error);
    assert_int_equal(a.pending, SESSION_PENDING_NONE);
    assert_int_equal(b.pending, SESSION_PENDING_NONE);
    store_event *ev;
    assert_string_equal(event_types(f, "acct_A", "vs_due", &ev), "processing,verified");
    assert_null(ev[1].request_id);
    assert_null(ev[1].idempotency_key);
    assert_string_equal(event_types(f, "acct_B", "vs_due_b", &ev), "processing,requires_input");
    assert_null(ev[1].request_id);

    /* Not yet due: still processing after passes have run. */
    worker_sync(w);
    session l = fx_session_get(f, "acct_A", "vs_later");
    assert_int_equal(l.status, SESSION_PROCESSING);
    assert_int_equal(l.pending, SESSION_PENDING_VERIFY);
    assert_string_equal(event_types(f, "acct_A", "vs_later", NULL), "processing");
    const char **ids;
    assert_int_equal(outcomes_due(f, INT64_MAX, NULL, &ids), 1);
    assert_string_equal(ids[0], "vs_later");

    /* The clock reaches its due time: it completes. */
    util_clock_advance(now + 3600 * 1000 - util_now_ms() - 2000); /* 2 s before it is due */
    worker_sync(w);
    assert_int_equal(fx_session_get(f, "acct_A", "vs_later").status, SESSION_PROCESSING);
    util_clock_advance(2000);
    worker_sync(w);
    assert_int_equal(fx_session_get(f, "acct_A", "vs_later").status, SESSION_VERIFIED);
    assert_string_equal(event_types(f, "acct_A", "vs_later", NULL), "processing,verified");
    assert_int_equal(outcomes_due(f, INT64_MAX, NULL, NULL), 0);

    /* Passes after completion write nothing more. */
    worker_sync(w);
    worker_stop(w);
    assert_string_equal(event_types(f, "acct_A", "vs_due", NULL), "processing,verified");
    assert_string_equal(event_types(f, "acct_B", "vs_due_b", NULL), "processing,requires_input");
}

typedef struct outcome_row {
    const char *account, *id;
    int64_t due;
} outcome_row;

static int outcome_set_fn(store_txn *t, void *arg)
{
    outcome_row *r = arg;
    return store_txn_outcome_set(t, r->account, r->id, r->due);
}

/* An outcome row whose session moved on (finished another way, or never had an outcome) or is
 * gone is forgotten without touching anything. */
static void test_worker_forgets_stale_outcomes(void **state)
{
    fixture *f = *state;
    int64_t now = util_now_ms();
    schedule(f, "acct_A", "vs_done", SESSION_PENDING_REQUIRE_INPUT, NULL, now - 10);
    /* Finished meanwhile by a path that left the row (as a crash between writes could). */
    session s = fx_session_get(f, "acct_A", "vs_done");
    s.status = SESSION_VERIFIED;
    assert_int_equal(fx_session_update(f->st, &s), 0);
    new_session(f, "acct_A", "vs_plain", SESSION_TYPE_DOCUMENT);
    outcome_row rows[] = {{"acct_A", "vs_plain", now - 10}, {"acct_A", "vs_ghost", now - 10}};
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(store_run(f->st, outcome_set_fn, &rows[i]), 0);
    assert_int_equal(outcomes_due(f, now, NULL, NULL), 3);

    worker *w = outcomes_start(&f->ap);
    worker_sync(w);
    worker_stop(w);
    assert_int_equal(outcomes_due(f, INT64_MAX, NULL, NULL), 0);
    session done = fx_session_get(f, "acct_A", "vs_done");
    assert_int_equal(done.status, SESSION_VERIFIED);
    assert_null(done.last_verification_report);
    assert_string_equal(event_types(f, "acct_A", "vs_done", NULL), "processing");
    session plain = fx_session_get(f, "acct_A", "vs_plain");
    assert_int_equal(plain.status, SESSION_REQUIRES_INPUT);
    assert_false(plain.has_last_error);
    assert_string_equal(event_types(f, "acct_A", "vs_plain", NULL), "");
    session ghost;
    assert_int_equal(session_store_get(f->st, "acct_A", "vs_ghost", f->a, &ghost), STORE_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_from_requires_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_from_processing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_require_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schedule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_completes_due_outcomes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_forgets_stale_outcomes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
