/*
 * test_redactor: the background worker that completes redactions (redactor_start), on a real
 * store and the process's test clock (util_clock_advance).
 *
 * A redaction that is due completes once: the session reads `redacted` with its status kept,
 * its personal fields and metadata erased (verified outputs included, with their types kept),
 * its report and the snapshots of its past events redacted, its idempotency-replay copies
 * deleted, and one `redacted` event (request null) written. A redaction not yet due is left
 * alone until the clock reaches it. The worker's housekeeping prunes idempotency keys older than
 * 24 h and keeps younger ones.
 *
 * Not for: what session_redact / report_redact erase field by field (test_session.c, test_report.c)
 * or the store operations it calls (test_store_contract.c).
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
#include "identity/lifecycle.h"
#include "background/redactor.h"
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
    *state = fx_store_new("redactor");
    return 0;
}

static int teardown(void **state)
{
    fx_store_free(*state);
    return 0;
}

/* ---- helpers ---- */

static metadata_kv meta[] = {{"user", "jenny"}, {"plan", "gold"}};

typedef struct verify_job {
    fixture *f;
    const char *account, *id;
} verify_job;

static int read_and_verify_fn(store_txn *t, void *arg)
{
    verify_job *j = arg;
    session s;
    int rc = session_store_txn_get(t, j->account, j->id, j->f->a, &s);
    if (rc != 0) return rc;
    static const lifecycle_origin api = {"req_verify", NULL};
    return lifecycle_verify(t, j->f->a, &s, &api);
}

/* A session with personal data. verified: taken through lifecycle_verify (report, outputs, events).
 */
static void new_session(fixture *f, const char *account, const char *id, int verified)
{
    session s = fx_session(account, id);
    s.client_reference_id = "customer-42";
    s.provided_email = "jenny@example.com";
    s.provided_phone = "+15555550100";
    s.metadata = meta;
    s.n_metadata = 2;
    session_issue_secrets(&s, f->a);
    assert_int_equal(fx_session_insert(f->st, &s), 0);
    if (verified) {
        verify_job j = {f, account, id};
        assert_int_equal(store_run(f->st, read_and_verify_fn, &j), 0);
    }
}

/* Ask for id's redaction, due at due_ms (as sessions_redact does: a requires_input session is
 * canceled). */
static void request_redaction(fixture *f, const char *account, const char *id, int64_t due_ms)
{
    session s = fx_session_get(f, account, id);
    if (s.status == SESSION_REQUIRES_INPUT) s.status = SESSION_CANCELED;
    s.secret_token = s.url_token = NULL;
    s.redaction = SESSION_REDACTION_PROCESSING;
    s.redaction_due = due_ms;
    assert_int_equal(fx_session_update(f->st, &s), 0);
}

typedef struct idem_job {
    const char *account, *key, *object_id;
    int64_t created;
} idem_job;

static int idem_put_fn(store_txn *t, void *arg)
{
    idem_job *j = arg;
    store_idem v;
    memset(&v, 0, sizeof v);
    memset(v.fingerprint, 'a', 64);
    v.status = 200;
    v.body = "{\"provided_details\":{\"email\":\"jenny@example.com\"}}";
    v.body_len = strlen(v.body);
    v.created = j->created;
    v.object_id = j->object_id;
    store_idem existing;
    arena *a = arena_new();
    int rc = store_txn_idem_put(t, j->account, j->key, &v, 0, a, &existing);
    arena_free(a);
    return rc;
}

static void put_idem(fixture *f, const char *account, const char *key, const char *object_id,
                     int64_t created)
{
    idem_job j = {account, key, object_id, created};
    assert_int_equal(store_run(f->st, idem_put_fn, &j), 0);
}

static int idem_exists(fixture *f, const char *account, const char *key)
{
    store_idem v;
    int rc = store_idem_get(f->st, account, key, f->a, &v);
    assert_true(rc == 0 || rc == STORE_NOT_FOUND);
    return rc == 0;
}

/* The session's events, oldest first. */
static size_t events_of(fixture *f, const char *account, const char *id, store_event **out)
{
    store_event_query q = {.account = account, .delivery_success = -1, .limit = 100};
    store_event *items;
    size_t n;
    int has_more;
    assert_int_equal(store_event_list(f->st, &q, f->a, &items, &n, &has_more), 0);
    store_event *mine = arena_alloc(f->a, (n + 1) * sizeof *mine);
    size_t m = 0;
    for (size_t i = n; i-- > 0;) {
        if (strcmp(items[i].object_id, id) == 0) mine[m++] = items[i];
    }
    *out = mine;
    return m;
}

/* After a finished pass (worker_sync), the session as stored; it must be redacted. */
static session redacted(fixture *f, const char *account, const char *id)
{
    session s = fx_session_get(f, account, id);
    assert_int_equal(s.redaction, SESSION_REDACTION_REDACTED);
    return s;
}

static void assert_personal_data_gone(const session *s)
{
    assert_string_equal(s->client_reference_id, "[redacted]");
    assert_string_equal(s->provided_email, "[redacted]");
    assert_string_equal(s->provided_phone, "[redacted]");
    assert_int_equal(s->n_metadata, 0);
}

/* ---- tests ---- */

static void test_due_redaction_completes(void **state)
{
    fixture *f = *state;
    int64_t now = util_now_ms();
    new_session(f, "acct_A", "vs_red", 1);
    request_redaction(f, "acct_A", "vs_red", now - 1);
    new_session(f, "acct_A", "vs_wait", 0);
    request_redaction(f, "acct_A", "vs_wait", now + 3600 * 1000);
    new_session(f, "acct_A", "vs_keep", 0);
    put_idem(f, "acct_A", "k_red", "vs_red", util_now());
    put_idem(f, "acct_A", "k_wait", "vs_wait", util_now());
    const char *report_id =
        arena_strdup(f->a, fx_session_get(f, "acct_A", "vs_red").last_verification_report);
    assert_non_null(report_id);

    worker *w = redactor_start(&f->ap);
    worker_sync(w);
    session s = redacted(f, "acct_A", "vs_red");
    /* More passes must not redact twice. */
    worker_sync(w);
    worker_sync(w);
    worker_stop(w);

    assert_int_equal(s.status, SESSION_VERIFIED); /* redaction keeps the status */
    assert_personal_data_gone(&s);
    assert_true(s.outputs.present);
    assert_string_equal(s.outputs.first_name, "[redacted]");
    assert_string_equal(s.outputs.last_name, "[redacted]");
    assert_string_equal(s.outputs.address.line1, "[redacted]");
    assert_false(s.outputs.dob.present);
    assert_null(s.outputs.id_number_type);

    report r;
    assert_int_equal(report_store_get(f->st, NULL, "acct_A", report_id, f->a, &r), 0);
    assert_true(r.redacted);
    assert_string_equal(r.doc_first_name, "[redacted]");

    store_event *ev;
    size_t n = events_of(f, "acct_A", "vs_red", &ev);
    assert_int_equal(n, 3);
    assert_string_equal(ev[0].type, EVT_PROCESSING);
    assert_string_equal(ev[1].type, EVT_VERIFIED);
    assert_string_equal(ev[2].type, EVT_REDACTED);
    assert_null(ev[2].request_id);
    assert_null(ev[2].idempotency_key);
    session snap;
    assert_int_equal(session_decode(f->a, ev[2].snapshot.data, ev[2].snapshot.len, &snap), 0);
    assert_int_equal(snap.redaction, SESSION_REDACTION_REDACTED);
    assert_personal_data_gone(&snap);
    /* The verified event of before the redaction no longer carries the personal data. */
    assert_int_equal(session_decode(f->a, ev[1].snapshot.data, ev[1].snapshot.len, &snap), 0);
    assert_personal_data_gone(&snap);
    assert_string_equal(snap.outputs.first_name, "[redacted]");
    assert_false(idem_exists(f, "acct_A", "k_red"));

    /* Not yet due: untouched. */
    session later = fx_session_get(f, "acct_A", "vs_wait");
    assert_int_equal(later.redaction, SESSION_REDACTION_PROCESSING);
    assert_string_equal(later.provided_email, "jenny@example.com");
    assert_int_equal(later.n_metadata, 2);
    assert_int_equal(events_of(f, "acct_A", "vs_wait", &ev), 0);
    assert_true(idem_exists(f, "acct_A", "k_wait"));
    session keep = fx_session_get(f, "acct_A", "vs_keep");
    assert_int_equal(keep.redaction, SESSION_REDACTION_NONE);
    assert_string_equal(keep.provided_email, "jenny@example.com");

    /* Once the clock reaches its due time, a new worker (a restart) completes it. */
    util_clock_advance(3600 * 1000);
    w = redactor_start(&f->ap);
    worker_sync(w);
    worker_stop(w);
    later = redacted(f, "acct_A", "vs_wait");
    assert_int_equal(later.status, SESSION_CANCELED);
    assert_personal_data_gone(&later);
    assert_int_equal(events_of(f, "acct_A", "vs_wait", &ev), 1);
    assert_string_equal(ev[0].type, EVT_REDACTED);
    assert_false(idem_exists(f, "acct_A", "k_wait"));
    /* And the first one still has its single redacted event. */
    assert_int_equal(events_of(f, "acct_A", "vs_red", &ev), 3);
}

/* The redacted event goes to the account's webhook endpoints like any other. */
static int webhook_fn(store_txn *t, void *arg)
{
    (void)arg;
    const char *all[] = {"*"};
    store_webhook w = {.id = "we_r",
                       .account = "acct_W",
                       .created = util_now(),
                       .url = "http://127.0.0.1:9/",
                       .secret = "whsec_r",
                       .enabled_events = all,
                       .n_enabled_events = 1};
    return store_txn_webhook_insert(t, &w, 16);
}

static void test_redacted_event_is_delivered(void **state)
{
    fixture *f = *state;
    assert_int_equal(store_run(f->st, webhook_fn, NULL), 0);
    new_session(f, "acct_W", "vs_w", 0);
    request_redaction(f, "acct_W", "vs_w", util_now_ms());
    worker *w = redactor_start(&f->ap);
    worker_sync(w);
    worker_stop(w);
    redacted(f, "acct_W", "vs_w");
    store_event *ev;
    assert_int_equal(events_of(f, "acct_W", "vs_w", &ev), 1);
    assert_string_equal(ev[0].type, EVT_REDACTED);
    assert_int_equal(ev[0].pending_webhooks, 1);
}

/* Housekeeping: idempotency records are pruned an hour after their 24 h (api.c stops
 * replaying them at 24 h itself); younger ones are kept. */
static void test_prunes_old_idempotency_keys(void **state)
{
    fixture *f = *state;
    util_clock_advance(61 * 1000); /* past the previous pass's next housekeeping */
    int64_t now = util_now();
    put_idem(f, "acct_P", "old", NULL, now - IDEM_TTL_S - 3600 - 60);
    put_idem(f, "acct_P", "expired", NULL, now - IDEM_TTL_S - 60);
    put_idem(f, "acct_P", "young", NULL, now - IDEM_TTL_S + 120);
    put_idem(f, "acct_P", "new", NULL, now);
    worker *w = redactor_start(&f->ap);
    worker_sync(w);
    worker_stop(w);
    assert_false(idem_exists(f, "acct_P", "old"));
    assert_true(idem_exists(f, "acct_P", "expired"));
    assert_true(idem_exists(f, "acct_P", "young"));
    assert_true(idem_exists(f, "acct_P", "new"));

    /* An hour on, the next pass prunes the record that has now passed its hour too. */
    util_clock_advance(3600 * 1000);
    w = redactor_start(&f->ap);
    worker_sync(w);
    worker_stop(w);
    assert_false(idem_exists(f, "acct_P", "expired"));
    assert_true(idem_exists(f, "acct_P", "new"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_due_redaction_completes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redacted_event_is_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prunes_old_idempotency_keys, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
