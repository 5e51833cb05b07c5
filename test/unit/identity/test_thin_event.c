/*
 * test_thin_event: the v2 form of events (identity/thin_event.h): ids both ways, timestamps,
 * the thin notification's fields and the v2 event object, for a v1 identity event and a ping.
 *
 * Not for: delivery or the SDK's parsing (black-box v2_event_destinations.test.js).
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
#include <string.h>

#include "identity/thin_event.h"

static json_t *render(const store_event *e, int full)
{
    buf b;
    buf_init(&b, NULL);
    json_writer w;
    json_init(&w, &b, 0);
    if (full)
        thin_event_render(e, &w);
    else
        thin_event_render_notification(e, &w);
    json_error_t err;
    json_t *j = json_loadb(b.data, b.len, 0, &err);
    if (j == NULL) fail_msg("%.*s: %s", (int)b.len, b.data, err.text);
    buf_free(&b);
    return j;
}

static const char *str(json_t *j, const char *path)
{
    json_t *v = j;
    char key[64];
    while (v && *path) {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        v = json_object_get(v, key);
        path += n + (path[n] == '.');
    }
    return json_string_value(v);
}

static void test_ids(void **state)
{
    (void)state;
    char out[THIN_EVENT_ID_MAX];
    store_event e = {.id = "evt_1ABC", .livemode = 0};
    thin_event_id(&e, out, sizeof out);
    assert_string_equal(out, "evt_test_1ABC");
    e.livemode = 1;
    thin_event_id(&e, out, sizeof out);
    assert_string_equal(out, "evt_live_1ABC");
    assert_int_equal(thin_event_stored_id("evt_test_1ABC", 0, out, sizeof out), 0);
    assert_string_equal(out, "evt_1ABC");
    assert_int_equal(thin_event_stored_id("evt_test_1ABC", 1, out, sizeof out), -1);
    assert_int_equal(thin_event_stored_id("evt_1ABC", 0, out, sizeof out), -1);
    assert_int_equal(thin_event_stored_id("evt_test_", 0, out, sizeof out), -1);
}

static void test_timestamp(void **state)
{
    (void)state;
    char out[32];
    thin_event_timestamp(1729614009931LL, out, sizeof out);
    assert_string_equal(out, "2024-10-22T16:20:09.931Z");
    thin_event_timestamp(0, out, sizeof out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
}

static void test_v1_event(void **state)
{
    (void)state;
    store_event e = {.id = "evt_X1",
                     .livemode = 0,
                     .created = 1729614009,
                     .type = "identity.verification_session.verified",
                     .object_id = "vs_123",
                     .request_id = "req_9",
                     .idempotency_key = "k1"};
    json_t *n = render(&e, 0);
    assert_string_equal(str(n, "id"), "evt_test_X1");
    assert_string_equal(str(n, "object"), "v2.core.event");
    assert_string_equal(str(n, "type"), "v1.identity.verification_session.verified");
    assert_string_equal(str(n, "created"), "2024-10-22T16:20:09.000Z");
    assert_true(json_is_false(json_object_get(n, "livemode")));
    assert_string_equal(str(n, "related_object.id"), "vs_123");
    assert_string_equal(str(n, "related_object.type"), "identity.verification_session");
    assert_string_equal(str(n, "related_object.url"), "/v1/identity/verification_sessions/vs_123");
    assert_string_equal(str(n, "reason.type"), "request");
    assert_string_equal(str(n, "reason.request.id"), "req_9");
    assert_string_equal(str(n, "reason.request.idempotency_key"), "k1");
    assert_null(json_object_get(n, "data"));
    assert_null(json_object_get(n, "snapshot_event"));
    json_decref(n);

    e.request_id = NULL;
    json_t *full = render(&e, 1);
    assert_true(json_is_null(json_object_get(full, "reason")));
    assert_true(json_is_null(json_object_get(full, "context")));
    assert_string_equal(str(full, "snapshot_event"), "evt_X1");
    json_decref(full);
    n = render(&e, 0);
    assert_null(json_object_get(n, "reason"));
    json_decref(n);
}

static void test_ping(void **state)
{
    (void)state;
    store_event e = {.id = "evt_P",
                     .livemode = 0,
                     .created = 1,
                     .type = THIN_EVENT_PING,
                     .object_id = "ed_test_1",
                     .v2 = 1};
    json_t *full = render(&e, 1);
    assert_string_equal(str(full, "type"), "v2.core.event_destination.ping");
    assert_string_equal(str(full, "related_object.type"), "v2.core.event_destination");
    assert_string_equal(str(full, "related_object.url"), "/v2/core/event_destinations/ed_test_1");
    assert_null(json_object_get(full, "snapshot_event"));
    json_decref(full);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_timestamp),
        cmocka_unit_test(test_v1_event),
        cmocka_unit_test(test_ping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
