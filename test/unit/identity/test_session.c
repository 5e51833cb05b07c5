/*
 * Unit tests for session.c: the stored record round-trips every field, corrupt records are
 * refused, rendering matches Stripe's shape (CONTRACT.md §2), the state rules (§3, §11) and
 * redaction (§11).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "identity/session.h"

static session full_session(void)
{
    static const char *types[] = {"passport", "id_card"};
    static metadata_kv meta[] = {{"order", "6735"}, {"empty_after", "x"}};
    session s;
    memset(&s, 0, sizeof s);
    strcpy(s.id, "vs_0123456789abcdefghijklmn");
    s.account = "acct_1";
    s.created = 1700000000;
    s.livemode = 1;
    s.status = SESSION_REQUIRES_INPUT;
    s.type = SESSION_TYPE_DOCUMENT;
    s.client_reference_id = "user_42";
    s.secret_token = "SECRET";
    s.url_token = "URLTOKEN";
    s.secret_issued = 1700000001;
    s.has_last_error = 1;
    s.last_error_code = "document_expired";
    s.last_error_reason = "The document is expired.";
    s.last_verification_report = "vr_1";
    s.metadata = meta;
    s.n_metadata = 2;
    s.doc.present = 1;
    s.doc.has_allowed_types = 1;
    s.doc.allowed_types = types;
    s.doc.n_allowed_types = 2;
    s.doc.require_id_number = SESSION_FALSE;
    s.doc.require_live_capture = SESSION_UNSET;
    s.doc.require_matching_selfie = SESSION_TRUE;
    s.provided_email = "jenny@example.com";
    s.provided_phone = "+15555550100";
    s.redaction = SESSION_REDACTION_PROCESSING;
    s.redaction_due = 1700000000123;
    s.related_customer = "cus_1";
    s.related_customer_account = "acct_c";
    s.related_person_account = "acct_p";
    s.related_person_person = "person_1";
    s.verification_flow = "vf_1";
    s.return_url = "https://example.com/done";
    return s;
}

static void test_round_trip(void **state)
{
    (void)state;
    arena *a = arena_new();
    session in = full_session(), out;
    buf b;
    buf_init(&b, a);
    session_encode(&in, &b);
    assert_int_equal(session_decode(a, b.data, b.len, &out), 0);
    assert_string_equal(out.id, in.id);
    assert_string_equal(out.account, in.account);
    assert_int_equal(out.created, in.created);
    assert_int_equal(out.livemode, 1);
    assert_int_equal(out.status, SESSION_REQUIRES_INPUT);
    assert_int_equal(out.type, SESSION_TYPE_DOCUMENT);
    assert_string_equal(out.client_reference_id, "user_42");
    assert_string_equal(out.secret_token, "SECRET");
    assert_string_equal(out.url_token, "URLTOKEN");
    assert_int_equal(out.secret_issued, 1700000001);
    assert_true(out.has_last_error);
    assert_string_equal(out.last_error_code, "document_expired");
    assert_string_equal(out.last_error_reason, "The document is expired.");
    assert_string_equal(out.last_verification_report, "vr_1");
    assert_int_equal(out.n_metadata, 2);
    assert_string_equal(out.metadata[0].key, "order");
    assert_string_equal(out.metadata[0].value, "6735");
    assert_string_equal(out.metadata[1].key, "empty_after");
    assert_true(out.doc.present);
    assert_true(out.doc.has_allowed_types);
    assert_int_equal(out.doc.n_allowed_types, 2);
    assert_string_equal(out.doc.allowed_types[1], "id_card");
    assert_int_equal(out.doc.require_id_number, SESSION_FALSE);
    assert_int_equal(out.doc.require_live_capture, SESSION_UNSET);
    assert_int_equal(out.doc.require_matching_selfie, SESSION_TRUE);
    assert_string_equal(out.provided_email, "jenny@example.com");
    assert_string_equal(out.provided_phone, "+15555550100");
    assert_int_equal(out.redaction, SESSION_REDACTION_PROCESSING);
    assert_int_equal(out.redaction_due, 1700000000123);
    assert_string_equal(out.related_customer, "cus_1");
    assert_string_equal(out.related_customer_account, "acct_c");
    assert_string_equal(out.related_person_account, "acct_p");
    assert_string_equal(out.related_person_person, "person_1");
    assert_string_equal(out.verification_flow, "vf_1");
    assert_string_equal(out.return_url, "https://example.com/done");
    arena_free(a);
}

static void test_nulls_round_trip(void **state)
{
    (void)state;
    arena *a = arena_new();
    session in, out;
    memset(&in, 0, sizeof in);
    strcpy(in.id, "vs_x");
    in.doc.require_id_number = in.doc.require_live_capture = in.doc.require_matching_selfie =
        SESSION_UNSET;
    buf b;
    buf_init(&b, a);
    session_encode(&in, &b);
    assert_int_equal(session_decode(a, b.data, b.len, &out), 0);
    assert_null(out.client_reference_id);
    assert_null(out.provided_email);
    assert_null(out.related_person_account);
    assert_false(out.has_last_error);
    assert_false(out.doc.present);
    assert_int_equal(out.n_metadata, 0);
    arena_free(a);
}

static void test_corrupt_records_refused(void **state)
{
    (void)state;
    arena *a = arena_new();
    session in = full_session(), out;
    buf b;
    buf_init(&b, a);
    session_encode(&in, &b);
    /* The field boundaries of the record: a version byte, then fields of a tag byte, a 4-byte
     * little-endian length and that many bytes. */
    unsigned char *boundary = arena_calloc(a, b.len + 1);
    size_t id_end = 0;
    for (size_t p = 1; p + 5 <= b.len;) {
        const unsigned char *f = (const unsigned char *)b.data + p;
        size_t len = (size_t)f[1] | (size_t)f[2] << 8 | (size_t)f[3] << 16 | (size_t)f[4] << 24;
        p += 5 + len;
        assert_true(p <= b.len);
        boundary[p] = 1;
        if (id_end == 0) id_end = p; /* the id is the first field */
    }
    assert_true(boundary[b.len]);
    /* Every truncation inside a field, or before the id is complete, is refused (never read
     * past the end: ASan watches); one at a later field boundary is a shorter record of the
     * same session. */
    size_t decoded = 0;
    for (size_t n = 0; n < b.len; n++) {
        int rc = session_decode(a, b.data, n, &out);
        if (!boundary[n] || n < id_end) {
            assert_int_equal(rc, -1);
        } else if (rc == 0) {
            assert_string_equal(out.id, in.id);
            decoded++;
        }
    }
    assert_true(decoded > 0); /* the boundaries after the id do decode */
    assert_int_equal(session_decode(a, b.data, b.len, &out), 0);
    char bad_version = 9;
    assert_int_equal(session_decode(a, &bad_version, 1, &out), -1);
    /* A status out of range. */
    unsigned char rec[] = {1, 1, 4, 0, 0, 0, 'v', 's', '_', 'x', 5, 8,
                           0, 0, 0, 9, 0, 0, 0,   0,   0,   0,   0};
    assert_int_equal(session_decode(a, rec, sizeof rec, &out), -1);
    /* An unknown tag from a newer version is skipped. */
    unsigned char newer[] = {1, 1, 4, 0, 0, 0, 'v', 's', '_', 'x', 200, 2, 0, 0, 0, 'h', 'i'};
    assert_int_equal(session_decode(a, newer, sizeof newer, &out), 0);
    assert_string_equal(out.id, "vs_x");
    arena_free(a);
}

static const char *render(arena *a, const session *s, int expand_outputs)
{
    buf b;
    buf_init(&b, a);
    json_writer w;
    json_init(&w, &b, 0);
    session_render_opts o = {.public_url = "http://127.0.0.1:12111",
                             .expand_verified_outputs = expand_outputs};
    session_render(s, &o, &w);
    return b.data;
}

static void test_render_shape(void **state)
{
    (void)state;
    arena *a = arena_new();
    session s = full_session();
    s.redaction = SESSION_REDACTION_NONE;
    s.verification_flow = NULL;
    s.n_metadata = 1;
    assert_string_equal(
        render(a, &s, 0),
        "{\"id\":\"vs_0123456789abcdefghijklmn\",\"object\":\"identity.verification_session\","
        "\"client_reference_id\":\"user_42\","
        "\"client_secret\":\"vs_0123456789abcdefghijklmn_secret_SECRET\","
        "\"created\":1700000000,"
        "\"last_error\":{\"code\":\"document_expired\",\"reason\":\"The document is expired.\"},"
        "\"last_verification_report\":\"vr_1\",\"livemode\":true,\"metadata\":{\"order\":\"6735\"},"
        "\"options\":{\"document\":{\"allowed_types\":[\"passport\",\"id_card\"],"
        "\"require_id_number\":false,\"require_matching_selfie\":true}},"
        "\"provided_details\":{\"email\":\"jenny@example.com\",\"phone\":\"+15555550100\"},"
        "\"redaction\":null,\"related_customer\":\"cus_1\",\"related_customer_account\":\"acct_c\","
        "\"related_person\":{\"account\":\"acct_p\",\"person\":\"person_1\"},"
        "\"status\":\"requires_input\",\"type\":\"document\","
        "\"url\":\"http://127.0.0.1:12111/start/URLTOKEN\"}");
    arena_free(a);
}

static void test_render_secrets_only_in_requires_input(void **state)
{
    (void)state;
    arena *a = arena_new();
    session s = full_session();
    s.redaction = SESSION_REDACTION_NONE;
    s.status = SESSION_CANCELED;
    const char *out = render(a, &s, 1);
    assert_non_null(strstr(out, "\"client_secret\":null"));
    assert_non_null(strstr(out, "\"url\":null"));
    assert_non_null(strstr(out, "\"status\":\"canceled\""));
    assert_non_null(strstr(out, "\"verification_flow\":\"vf_1\""));
    assert_non_null(strstr(out, "\"verified_outputs\":"));
    assert_null(strstr(render(a, &s, 0), "verified_outputs"));
    assert_null(strstr(out, "return_url")); /* not a field on the object */
    arena_free(a);
}

static void test_state_rules(void **state)
{
    (void)state;
    session s = full_session();
    const char *allowed = NULL;
    struct {
        session_status status;
        session_redaction redaction;
        session_action action;
        int want;
    } cases[] = {
        {SESSION_REQUIRES_INPUT, SESSION_REDACTION_NONE, SESSION_UPDATE, SESSION_ALLOWED},
        {SESSION_PROCESSING, SESSION_REDACTION_NONE, SESSION_UPDATE, SESSION_WRONG_STATE},
        {SESSION_VERIFIED, SESSION_REDACTION_NONE, SESSION_UPDATE, SESSION_WRONG_STATE},
        {SESSION_CANCELED, SESSION_REDACTION_NONE, SESSION_UPDATE, SESSION_WRONG_STATE},
        {SESSION_CANCELED, SESSION_REDACTION_NONE, SESSION_UPDATE_METADATA_ONLY, SESSION_ALLOWED},
        {SESSION_CANCELED, SESSION_REDACTION_REDACTED, SESSION_UPDATE_METADATA_ONLY,
         SESSION_REDACTED},
        {SESSION_REQUIRES_INPUT, SESSION_REDACTION_NONE, SESSION_CANCEL, SESSION_ALLOWED},
        {SESSION_PROCESSING, SESSION_REDACTION_NONE, SESSION_CANCEL, SESSION_WRONG_STATE},
        {SESSION_VERIFIED, SESSION_REDACTION_NONE, SESSION_CANCEL, SESSION_WRONG_STATE},
        {SESSION_CANCELED, SESSION_REDACTION_NONE, SESSION_CANCEL, SESSION_WRONG_STATE},
        {SESSION_REQUIRES_INPUT, SESSION_REDACTION_NONE, SESSION_REDACT, SESSION_ALLOWED},
        {SESSION_VERIFIED, SESSION_REDACTION_NONE, SESSION_REDACT, SESSION_ALLOWED},
        {SESSION_CANCELED, SESSION_REDACTION_NONE, SESSION_REDACT, SESSION_ALLOWED},
        {SESSION_PROCESSING, SESSION_REDACTION_NONE, SESSION_REDACT, SESSION_WRONG_STATE},
        {SESSION_CANCELED, SESSION_REDACTION_PROCESSING, SESSION_REDACT, SESSION_NOTHING_TO_DO},
        {SESSION_VERIFIED, SESSION_REDACTION_REDACTED, SESSION_REDACT, SESSION_NOTHING_TO_DO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        s.status = cases[i].status;
        s.redaction = cases[i].redaction;
        assert_int_equal(session_check(&s, cases[i].action, &allowed), cases[i].want);
    }
    s.status = SESSION_PROCESSING;
    s.redaction = SESSION_REDACTION_NONE;
    session_check(&s, SESSION_REDACT, &allowed);
    assert_string_equal(allowed, "requires_input, verified or canceled");
}

static void test_redact(void **state)
{
    (void)state;
    session s = full_session();
    session_redact(&s);
    assert_string_equal(s.client_reference_id, "[redacted]");
    assert_string_equal(s.provided_email, "[redacted]");
    assert_string_equal(s.provided_phone, "[redacted]");
    assert_int_equal(s.n_metadata, 0);
    assert_null(s.return_url);
    assert_string_equal(s.id, "vs_0123456789abcdefghijklmn"); /* the row stays retrievable */
    session empty;
    memset(&empty, 0, sizeof empty);
    session_redact(&empty);
    assert_null(empty.client_reference_id); /* null stays null: the spec's types are kept */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_nulls_round_trip),
        cmocka_unit_test(test_corrupt_records_refused),
        cmocka_unit_test(test_render_shape),
        cmocka_unit_test(test_render_secrets_only_in_requires_input),
        cmocka_unit_test(test_state_rules),
        cmocka_unit_test(test_redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
