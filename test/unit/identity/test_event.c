/*
 * test_events: event_emit() inside a store job and event_render(), on a real store in a
 * mkdtemp directory.
 *
 * An emitted event has its type, the session's account and mode, the request that caused it
 * (request null for background changes, the idempotency key only with a request) and a snapshot
 * of the session as it was at the call (later changes in the same job do not leak into it). In
 * the same transaction it gets one pending delivery per enabled endpoint of its account and mode
 * that subscribed to '*' or to exactly its type, plus the --forward-to endpoint, and
 * pending_webhooks counts them; a rolled-back job leaves neither event nor deliveries. The
 * rendered event is Stripe's event object with the unexpanded session in data.object.
 *
 * Not for: the store's own event queries (test_store_contract.c) or sending (test_delivery.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#define json_null jansson_json_null_unused
#include <jansson.h>
#undef json_null

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "background/delivery.h"
#include "identity/event.h"
#include "base/ids.h"
#include "identity/report.h"
#include "identity/session.h"
#include "store/store.h"
#include "base/util.h"

#include "fixture.h"

/* A fresh store in its own mkdtemp directory, and a scratch arena (fixture.h). */
typedef fx_store fixture;

static int setup(void **state)
{
    *state = fx_store_new("events");
    return 0;
}

static int teardown(void **state)
{
    fx_store_free(*state);
    return 0;
}

/* ---- helpers ---- */

/* fixture.h's plain session, in livemode or not. */
static session mk(const char *account, const char *id, int livemode)
{
    session s = fx_session(account, id);
    s.livemode = livemode;
    return s;
}

typedef struct endpoint {
    const char *id, *account;
    int livemode, disabled;
    const char *events[3];
} endpoint;

static int webhook_fn(store_txn *t, void *arg)
{
    const endpoint *e = arg;
    size_t n = 0;
    while (n < 3 && e->events[n])
        n++;
    store_webhook w = {.id = e->id,
                       .account = e->account,
                       .livemode = e->livemode,
                       .created = util_now(),
                       .disabled = e->disabled,
                       .url = "http://127.0.0.1:9/hook",
                       .secret = "whsec_test",
                       .enabled_events = (const char **)e->events,
                       .n_enabled_events = n};
    return store_txn_webhook_insert(t, &w, 16);
}

static void add_endpoint(fixture *f, endpoint e)
{
    assert_int_equal(store_run(f->st, webhook_fn, &e), 0);
}

/* One job: emit each of types[] for s (changing s->status to statuses[i] first), then return
 * ret (non-zero rolls the job back). */
typedef struct emit_job {
    session *s;
    const char *types[4];
    session_status statuses[4];
    const char *request_id, *idem_key;
    arena *a;
    int ret;
} emit_job;

static int emit_fn(store_txn *t, void *arg)
{
    emit_job *j = arg;
    for (int i = 0; i < 4 && j->types[i]; i++) {
        j->s->status = j->statuses[i];
        int rc = event_emit(t, j->a, j->s, NULL, j->types[i], j->request_id, j->idem_key);
        if (rc != 0) return rc;
    }
    /* A change after the last emit must not show in its snapshot. */
    j->s->client_reference_id = "changed-after-emit";
    return j->ret;
}

/* The account's events, newest first. */
static size_t events_of(fixture *f, const char *account, store_event **items)
{
    store_event_query q = {.account = account, .delivery_success = -1, .limit = 100};
    size_t n = 0;
    int has_more = 0;
    assert_int_equal(store_event_list(f->st, &q, f->a, items, &n, &has_more), 0);
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Endpoint ids with a pending delivery of event_id, sorted and comma-joined. */
static const char *deliveries_of(fixture *f, const char *event_id)
{
    store_delivery *d = NULL;
    size_t n = 0, m = 0;
    assert_int_equal(store_deliveries_due(f->st, util_now_ms() + 60000, 0, 1000, f->a, &d, &n), 0);
    const char **ids = arena_alloc(f->a, (n + 1) * sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(d[i].event.id, event_id) != 0) continue;
        assert_int_equal(d[i].attempts, 0);
        assert_string_equal(d[i].url, "http://127.0.0.1:9/hook");
        ids[m++] = d[i].endpoint_id;
    }
    qsort(ids, m, sizeof *ids, cmp_str);
    buf b;
    buf_init(&b, f->a);
    buf_puts(&b, "");
    for (size_t i = 0; i < m; i++) {
        if (i) buf_putc(&b, ',');
        buf_puts(&b, ids[i]);
    }
    return b.data;
}

static void standard_endpoints(fixture *f)
{
    add_endpoint(f, (endpoint){"we_all", "acct_A", 0, 0, {"*"}});
    add_endpoint(f, (endpoint){"we_verified", "acct_A", 0, 0, {EVT_VERIFIED}});
    add_endpoint(f, (endpoint){"we_two", "acct_A", 0, 0, {EVT_CANCELED, EVT_PROCESSING}});
    add_endpoint(f, (endpoint){"we_other_type", "acct_A", 0, 0, {EVT_CANCELED}});
    add_endpoint(f, (endpoint){"we_prefix", "acct_A", 0, 0, {"identity.verification_session"}});
    add_endpoint(f, (endpoint){"we_live", "acct_A", 1, 0, {"*"}});
    add_endpoint(f, (endpoint){"we_disabled", "acct_A", 0, 1, {"*"}});
    add_endpoint(f, (endpoint){"we_B", "acct_B", 0, 0, {"*"}});
}

/* ---- tests ---- */

static void test_event_fields_and_fan_out(void **state)
{
    fixture *f = *state;
    standard_endpoints(f);
    session s = mk("acct_A", "vs_ev1", 0);
    s.client_reference_id = "user-7";
    emit_job j = {.s = &s,
                  .types = {EVT_VERIFIED},
                  .statuses = {SESSION_VERIFIED},
                  .request_id = "req_abc",
                  .idem_key = "idem-1",
                  .a = f->a};
    int64_t before = util_now();
    assert_int_equal(store_run(f->st, emit_fn, &j), 0);

    store_event *ev;
    assert_int_equal(events_of(f, "acct_A", &ev), 1);
    assert_int_equal(strncmp(ev[0].id, "evt_", 4), 0);
    assert_int_equal(strlen(ev[0].id), 4 + IDS_OBJECT_LEN);
    assert_string_equal(ev[0].type, EVT_VERIFIED);
    assert_string_equal(ev[0].account, "acct_A");
    assert_int_equal(ev[0].livemode, 0);
    assert_string_equal(ev[0].object_id, "vs_ev1");
    assert_string_equal(ev[0].request_id, "req_abc");
    assert_string_equal(ev[0].idempotency_key, "idem-1");
    assert_true(ev[0].created >= before && ev[0].created <= util_now());
    /* '*' and the exact type; not another type, a prefix, another mode, a disabled endpoint
     * or another account. */
    assert_int_equal(ev[0].pending_webhooks, 2);
    assert_string_equal(deliveries_of(f, ev[0].id), "we_all,we_verified");

    /* The snapshot is the session at the call: verified, without the later change. */
    session snap;
    assert_int_equal(session_decode(f->a, ev[0].snapshot.data, ev[0].snapshot.len, &snap), 0);
    assert_string_equal(snap.id, "vs_ev1");
    assert_int_equal(snap.status, SESSION_VERIFIED);
    assert_string_equal(snap.client_reference_id, "user-7");

    /* Other accounts do not see it. */
    store_event got;
    assert_int_equal(store_event_get(f->st, "acct_B", ev[0].id, f->a, &got), STORE_NOT_FOUND);
    assert_int_equal(store_event_get(f->st, "acct_A", ev[0].id, f->a, &got), 0);
    store_event *none;
    assert_int_equal(events_of(f, "acct_B", &none), 0);
}

/* Two events in one job: each its own snapshot and deliveries, in order. */
static void test_events_in_one_job(void **state)
{
    fixture *f = *state;
    standard_endpoints(f);
    session s = mk("acct_A", "vs_ev2", 0);
    emit_job j = {.s = &s,
                  .types = {EVT_PROCESSING, EVT_CANCELED},
                  .statuses = {SESSION_PROCESSING, SESSION_CANCELED},
                  .a = f->a};
    assert_int_equal(store_run(f->st, emit_fn, &j), 0);
    store_event *ev;
    assert_int_equal(events_of(f, "acct_A", &ev), 2);
    /* Newest first. */
    assert_string_equal(ev[0].type, EVT_CANCELED);
    assert_string_equal(ev[1].type, EVT_PROCESSING);
    session a0, a1;
    assert_int_equal(session_decode(f->a, ev[0].snapshot.data, ev[0].snapshot.len, &a0), 0);
    assert_int_equal(session_decode(f->a, ev[1].snapshot.data, ev[1].snapshot.len, &a1), 0);
    assert_int_equal(a0.status, SESSION_CANCELED);
    assert_int_equal(a1.status, SESSION_PROCESSING);
    assert_int_equal(ev[1].pending_webhooks, 2);
    assert_string_equal(deliveries_of(f, ev[1].id), "we_all,we_two");
    assert_int_equal(ev[0].pending_webhooks, 3);
    assert_string_equal(deliveries_of(f, ev[0].id), "we_all,we_other_type,we_two");
    /* A background change: request null, and no idempotency key without a request. */
    assert_null(ev[0].request_id);
    assert_null(ev[0].idempotency_key);
}

static void test_background_event_drops_idempotency_key(void **state)
{
    fixture *f = *state;
    session s = mk("acct_A", "vs_ev3", 0);
    emit_job j = {.s = &s,
                  .types = {EVT_REDACTED},
                  .statuses = {SESSION_VERIFIED},
                  .idem_key = "stray-key",
                  .a = f->a};
    assert_int_equal(store_run(f->st, emit_fn, &j), 0);
    store_event *ev;
    assert_int_equal(events_of(f, "acct_A", &ev), 1);
    assert_null(ev[0].request_id);
    assert_null(ev[0].idempotency_key);
    assert_int_equal(ev[0].pending_webhooks, 0);
}

/* A live-mode session's events go to live endpoints only. */
static void test_live_event(void **state)
{
    fixture *f = *state;
    standard_endpoints(f);
    session s = mk("acct_A", "vs_live", 1);
    emit_job j = {.s = &s, .types = {EVT_CREATED}, .statuses = {SESSION_REQUIRES_INPUT}, .a = f->a};
    assert_int_equal(store_run(f->st, emit_fn, &j), 0);
    store_event *ev;
    assert_int_equal(events_of(f, "acct_A", &ev), 1);
    assert_int_equal(ev[0].livemode, 1);
    assert_int_equal(ev[0].pending_webhooks, 1);
    assert_string_equal(deliveries_of(f, ev[0].id), "we_live");
}

/* The forward endpoint gets every event of every account, in both modes; off, it gets none. */
static void test_forward_endpoint(void **state)
{
    fixture *f = *state;
    char secret[64];
    assert_int_equal(delivery_set_forward(f->st, "http://127.0.0.1:9/hook", secret, sizeof secret),
                     0);
    assert_int_equal(strncmp(secret, "whsec_", 6), 0);
    const char *accounts[] = {"acct_X", "acct_Y"};
    for (int i = 0; i < 2; i++) {
        char id[32];
        snprintf(id, sizeof id, "vs_fwd%d", i);
        session s = mk(accounts[i], id, i);
        emit_job j = {
            .s = &s, .types = {EVT_CREATED}, .statuses = {SESSION_REQUIRES_INPUT}, .a = f->a};
        assert_int_equal(store_run(f->st, emit_fn, &j), 0);
        store_event *ev;
        assert_int_equal(events_of(f, accounts[i], &ev), 1);
        assert_int_equal(ev[0].pending_webhooks, 1);
        assert_string_equal(deliveries_of(f, ev[0].id), STORE_FORWARD_ID);
    }
    /* The secret stays the same across calls; a disabled forward gets nothing new. */
    char again[64];
    assert_int_equal(delivery_set_forward(f->st, "http://127.0.0.1:9/x", again, sizeof again), 0);
    assert_string_equal(again, secret);
    assert_int_equal(delivery_set_forward(f->st, NULL, again, sizeof again), 0);
    assert_string_equal(again, "");
    session s = mk("acct_Z", "vs_fwd_off", 0);
    emit_job j = {.s = &s, .types = {EVT_CREATED}, .statuses = {SESSION_REQUIRES_INPUT}, .a = f->a};
    assert_int_equal(store_run(f->st, emit_fn, &j), 0);
    store_event *ev;
    assert_int_equal(events_of(f, "acct_Z", &ev), 1);
    assert_int_equal(ev[0].pending_webhooks, 0);
}

/* The event and its deliveries commit with the job, or not at all. */
static void test_rolled_back_job_leaves_nothing(void **state)
{
    fixture *f = *state;
    standard_endpoints(f);
    session s = mk("acct_A", "vs_rb", 0);
    emit_job j = {.s = &s,
                  .types = {EVT_PROCESSING, EVT_VERIFIED},
                  .statuses = {SESSION_PROCESSING, SESSION_VERIFIED},
                  .a = f->a,
                  .ret = STORE_ABORTED};
    assert_int_equal(store_run(f->st, emit_fn, &j), STORE_ABORTED);
    store_event *ev;
    assert_int_equal(events_of(f, "acct_A", &ev), 0);
    store_delivery *d;
    size_t n = 99;
    assert_int_equal(store_deliveries_due(f->st, util_now_ms() + 60000, 0, 100, f->a, &d, &n), 0);
    assert_int_equal(n, 0);
}

/* ---- rendering ---- */

static json_t *render(fixture *f, const store_event *e, const char *version)
{
    buf out;
    buf_init(&out, f->a);
    json_writer w;
    json_init(&w, &out, 0);
    assert_int_equal(event_render(e, version, version, "http://pub.test", f->a, &w), 0);
    json_error_t err;
    json_t *j = json_loadb(out.data, out.len, 0, &err);
    assert_non_null(j);
    return j;
}

static void test_render(void **state)
{
    fixture *f = *state;
    add_endpoint(f, (endpoint){"we_all", "acct_A", 0, 0, {"*"}});
    session s = mk("acct_A", "session_render", 0);
    session_issue_secrets(&s, f->a);
    metadata_kv meta[] = {{"k", "v"}};
    s.metadata = meta;
    s.n_metadata = 1;
    /* Verified outputs are never shown inside an event, even when the session has them. */
    s.outputs.present = 1;
    s.outputs.first_name = "Jenny";
    emit_job j = {.s = &s,
                  .types = {EVT_CREATED},
                  .statuses = {SESSION_REQUIRES_INPUT},
                  .request_id = "req_r",
                  .idem_key = "ik",
                  .a = f->a};
    assert_int_equal(store_run(f->st, emit_fn, &j), 0);
    store_event *ev;
    assert_int_equal(events_of(f, "acct_A", &ev), 1);

    json_t *o = render(f, &ev[0], NULL);
    assert_string_equal(json_string_value(json_object_get(o, "id")), ev[0].id);
    assert_string_equal(json_string_value(json_object_get(o, "object")), "event");
    assert_string_equal(json_string_value(json_object_get(o, "api_version")), API_VERSION_DEFAULT);
    assert_int_equal(json_integer_value(json_object_get(o, "created")), ev[0].created);
    assert_string_equal(json_string_value(json_object_get(o, "type")), EVT_CREATED);
    assert_true(json_is_false(json_object_get(o, "livemode")));
    assert_int_equal(json_integer_value(json_object_get(o, "pending_webhooks")), 1);
    json_t *req = json_object_get(o, "request");
    assert_string_equal(json_string_value(json_object_get(req, "id")), "req_r");
    assert_string_equal(json_string_value(json_object_get(req, "idempotency_key")), "ik");
    json_t *obj = json_object_get(json_object_get(o, "data"), "object");
    assert_string_equal(json_string_value(json_object_get(obj, "id")), "session_render");
    assert_string_equal(json_string_value(json_object_get(obj, "object")),
                        "identity.verification_session");
    assert_string_equal(json_string_value(json_object_get(obj, "status")), "requires_input");
    assert_string_equal(json_string_value(json_object_get(json_object_get(obj, "metadata"), "k")),
                        "v");
    const char *url = json_string_value(json_object_get(obj, "url"));
    assert_non_null(url);
    assert_int_equal(strncmp(url, "http://pub.test/start/", 22), 0);
    assert_null(json_object_get(obj, "verified_outputs"));
    assert_true(json_is_string(json_object_get(obj, "client_secret")));
    json_decref(o);

    /* An endpoint's own version. */
    o = render(f, &ev[0], "2024-06-20");
    assert_string_equal(json_string_value(json_object_get(o, "api_version")), "2024-06-20");
    json_decref(o);

    /* A background event's request is {id: null, idempotency_key: null}. */
    store_event bg = ev[0];
    bg.request_id = bg.idempotency_key = NULL;
    o = render(f, &bg, NULL);
    req = json_object_get(o, "request");
    assert_true(json_is_object(req));
    assert_true(json_is_null(json_object_get(req, "id")));
    assert_true(json_is_null(json_object_get(req, "idempotency_key")));
    json_decref(o);

    /* A snapshot that cannot be decoded: STORE_CORRUPT. */
    store_event bad = ev[0];
    bad.snapshot = (store_record){"\x01garbage", 8};
    buf out;
    buf_init(&out, f->a);
    json_writer w;
    json_init(&w, &out, 0);
    assert_int_equal(event_render(&bad, NULL, NULL, "http://pub.test", f->a, &w), STORE_CORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_event_fields_and_fan_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_in_one_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background_event_drops_idempotency_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_live_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rolled_back_job_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
