/*
 * test_report: the verification report resource (report.c) and the session's verified outputs
 * (session.c): which checks a session's type and options produce, failures per last_error code,
 * record round trips (and old session records without the new fields), redaction keeping the
 * spec's types, and rendering (field order, restricted fields only when asked for).
 *
 * Not for: storage (test_store_contract.c) or HTTP behaviour (black-box tests).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/json.h"
#include "identity/report.h"
#include "identity/session.h"

static session base_session(session_type type)
{
    session s;
    memset(&s, 0, sizeof s);
    snprintf(s.id, sizeof s.id, "vs_test0000000000000000001");
    s.account = "acct_x";
    s.created = 1700000000;
    s.type = type;
    s.client_reference_id = "user-42";
    s.doc.require_id_number = s.doc.require_live_capture = s.doc.require_matching_selfie =
        SESSION_UNSET;
    return s;
}

static char *render(arena *a, const report *r, unsigned show)
{
    buf b;
    buf_init(&b, a);
    json_writer w;
    json_init(&w, &b, 0);
    report_render(r, show, &w);
    return b.data;
}

static void test_document_checks(void **state)
{
    (void)state;
    arena *a = arena_new();
    session s = base_session(SESSION_TYPE_DOCUMENT);
    report r;
    report_generate(a, &s, NULL, 1700000100, &r);
    assert_true(strncmp(r.id, "vr_", 3) == 0);
    assert_true(r.document.present && r.document.verified);
    assert_false(r.selfie.present);
    assert_false(r.id_number.present);
    assert_false(r.email.present || r.phone.present);
    assert_string_equal(r.doc_first_name, "Jenny");
    assert_string_equal(r.doc_address.line1, "1234 Main St.");
    assert_int_equal(r.doc_dob.year, 1901);
    assert_string_equal(r.verification_session, s.id);
    assert_string_equal(r.client_reference_id, "user-42");

    s.doc.present = 1;
    s.doc.require_matching_selfie = SESSION_TRUE;
    s.doc.require_id_number = SESSION_TRUE;
    report_generate(a, &s, NULL, 1700000100, &r);
    assert_true(r.selfie.present && r.selfie.verified);
    assert_true(r.id_number.present && r.id_number.verified);
    assert_string_equal(r.idn_id_number, "0000");
    assert_string_equal(r.idn_id_number_type, "us_ssn");
    arena_free(a);
}

static void test_failures(void **state)
{
    (void)state;
    arena *a = arena_new();
    session s = base_session(SESSION_TYPE_DOCUMENT);
    s.doc.present = 1;
    s.doc.require_matching_selfie = SESSION_TRUE;
    report r;

    report_generate(a, &s, "selfie_face_mismatch", 1, &r);
    assert_true(r.document.verified);
    assert_false(r.selfie.verified);
    assert_string_equal(r.selfie.error_code, "selfie_face_mismatch");

    report_generate(a, &s, "document_expired", 1, &r);
    assert_false(r.document.verified);
    assert_string_equal(r.document.error_code, "document_expired");
    assert_null(r.doc_first_name); /* an unverified document reports no data */

    /* A code of no check, or of a check the session does not run, fails the primary check. */
    report_generate(a, &s, "consent_declined", 1, &r);
    assert_string_equal(r.document.error_code, "document_unverified_other");
    assert_string_equal(r.document.error_reason, report_error_reason("consent_declined"));
    report_generate(a, &s, "id_number_mismatch", 1, &r);
    assert_string_equal(r.document.error_code, "document_unverified_other");

    session idn = base_session(SESSION_TYPE_ID_NUMBER);
    assert_string_equal(report_default_error_code(&idn), "id_number_mismatch");
    assert_string_equal(report_default_error_code(&s), "document_unverified_other");
    report_generate(a, &idn, "id_number_mismatch", 1, &r);
    assert_false(r.document.present);
    assert_false(r.id_number.verified);
    assert_string_equal(r.id_number.error_code, "id_number_mismatch");

    size_t n = 0;
    while (report_last_error_codes[n])
        n++;
    assert_int_equal(n, 19);
    arena_free(a);
}

static void test_round_trip(void **state)
{
    (void)state;
    arena *a = arena_new();
    session s = base_session(SESSION_TYPE_DOCUMENT);
    static const char *types[] = {"passport", "id_card"};
    s.doc.present = 1;
    s.doc.has_allowed_types = 1;
    s.doc.allowed_types = types;
    s.doc.n_allowed_types = 2;
    s.doc.require_matching_selfie = SESSION_TRUE;
    s.doc.require_live_capture = SESSION_FALSE;
    report r, back;
    report_generate(a, &s, "selfie_manipulated", 1700000200, &r);
    assert_string_equal(r.doc_type, "passport");
    buf b;
    buf_init(&b, a);
    report_encode(&r, &b);
    assert_int_equal(report_decode(a, b.data, b.len, &back), 0);
    back.account = r.account;
    assert_string_equal(render(a, &r, 0x1f), render(a, &back, 0x1f));
    assert_int_equal(back.options.require_id_number, SESSION_UNSET);
    assert_int_equal(back.options.require_live_capture, SESSION_FALSE);
    assert_int_equal(back.options.n_allowed_types, 2);

    /* Truncated and foreign records are corrupt, never a crash. */
    for (size_t cut = 0; cut < b.len; cut += 7)
        (void)report_decode(a, b.data, cut, &back);
    assert_int_equal(report_decode(a, "\x02", 1, &back), -1);
    assert_int_equal(report_decode(a, "", 0, &back), -1);
    arena_free(a);
}

static void test_render(void **state)
{
    (void)state;
    arena *a = arena_new();
    session s = base_session(SESSION_TYPE_DOCUMENT);
    s.doc.present = 1;
    s.doc.require_id_number = SESSION_TRUE;
    report r;
    report_generate(a, &s, NULL, 1700000300, &r);
    snprintf(r.id, sizeof r.id, "vr_fixed");
    const char *plain = render(a, &r, 0);
    assert_non_null(strstr(plain,
                           "{\"id\":\"vr_fixed\",\"object\":\"identity.verification_report\","
                           "\"client_reference_id\":\"user-42\",\"created\":1700000300,"
                           "\"document\":{\"address\":{"));
    /* Restricted fields are left out unless asked for. */
    assert_null(strstr(plain, "\"dob\""));
    assert_null(strstr(plain, "\"number\""));
    assert_null(strstr(plain, "\"expiration_date\""));
    assert_null(strstr(plain, "\"id_number\":\"0000\""));
    assert_non_null(strstr(plain, "\"id_number_type\":\"us_ssn\""));
    assert_non_null(strstr(plain, "\"options\":{\"document\":{\"require_id_number\":true}}"));
    assert_non_null(strstr(plain, "\"type\":\"document\",\"verification_session\":\"vs_test"));
    const char *all =
        render(a, &r,
               REPORT_SHOW_DOC_DOB | REPORT_SHOW_DOC_NUMBER | REPORT_SHOW_DOC_EXPIRATION_DATE |
                   REPORT_SHOW_IDN_ID_NUMBER | REPORT_SHOW_IDN_DOB);
    assert_non_null(strstr(all, "\"dob\":{\"day\":1,\"month\":1,\"year\":1901}"));
    assert_non_null(strstr(all, "\"number\":\"D0000000\""));
    assert_non_null(strstr(all, "\"expiration_date\":{\"day\":1,\"month\":12,\"year\":2030}"));
    assert_non_null(strstr(all, "\"id_number\":\"0000\""));
    arena_free(a);
}

static void test_redact_report(void **state)
{
    (void)state;
    arena *a = arena_new();
    session s = base_session(SESSION_TYPE_ID_NUMBER);
    report r;
    report_generate(a, &s, NULL, 1, &r);
    report_redact(&r);
    assert_string_equal(r.idn_first_name, "[redacted]");
    assert_string_equal(r.idn_id_number, "[redacted]");
    assert_string_equal(r.client_reference_id, "[redacted]");
    assert_null(r.idn_id_number_type); /* an enum that cannot hold the string */
    assert_false(r.idn_dob.present);   /* a dob object */
    const char *out = render(a, &r, REPORT_SHOW_IDN_DOB | REPORT_SHOW_IDN_ID_NUMBER);
    assert_null(strstr(out, "Jenny"));
    assert_null(strstr(out, "Rosen"));
    assert_non_null(strstr(out, "\"dob\":null"));
    assert_non_null(strstr(out, "\"status\":\"verified\""));
    arena_free(a);
}

static void test_session_outputs(void **state)
{
    (void)state;
    arena *a = arena_new();
    session s = base_session(SESSION_TYPE_DOCUMENT);
    s.doc.present = 1;
    s.doc.require_id_number = SESSION_TRUE;
    report r;
    report_generate(a, &s, NULL, 1, &r);
    report_verified_outputs(&r, &s.outputs);
    s.pending = SESSION_PENDING_REQUIRE_INPUT;
    s.pending_code = "document_expired";
    s.pending_due = 1234567;
    buf b;
    buf_init(&b, a);
    session_encode(&s, &b);
    session back;
    assert_int_equal(session_decode(a, b.data, b.len, &back), 0);
    assert_true(back.outputs.present);
    assert_string_equal(back.outputs.first_name, "Jenny");
    assert_string_equal(back.outputs.address.postal_code, "94111");
    assert_null(back.outputs.address.line2);
    assert_int_equal(back.outputs.dob.year, 1901);
    assert_string_equal(back.outputs.id_number, "000000000");
    assert_string_equal(back.outputs.id_number_type, "us_ssn");
    assert_int_equal(back.pending, SESSION_PENDING_REQUIRE_INPUT);
    assert_string_equal(back.pending_code, "document_expired");
    assert_int_equal(back.pending_due, 1234567);

    /* Rendered only when expanded; dob and id_number only when asked for. */
    buf out;
    buf_init(&out, a);
    json_writer w;
    json_init(&w, &out, 0);
    session_render_opts o = {.public_url = "http://x", .expand_verified_outputs = 1};
    session_render(&back, &o, &w);
    assert_non_null(strstr(out.data, "\"verified_outputs\":{\"address\":{\"city\":\"San "
                                     "Francisco\",\"country\":\"US\",\"line1\":\"1234 Main "
                                     "St.\",\"line2\":null,\"postal_code\":\"94111\","
                                     "\"state\":\"CA\"},\"email\":null,\"first_name\":\"Jenny\","
                                     "\"id_number_type\":\"us_ssn\""));
    assert_null(strstr(out.data, "\"id_number\":\""));
    assert_null(strstr(out.data, "\"dob\""));

    session_redact(&back);
    assert_string_equal(back.outputs.first_name, "[redacted]");
    assert_string_equal(back.outputs.address.city, "[redacted]");
    assert_null(back.outputs.address.line2);
    assert_false(back.outputs.dob.present);
    assert_null(back.outputs.id_number_type);
    assert_string_equal(back.outputs.id_number, "[redacted]");
    arena_free(a);
}

/* A record written before the verified-output tags existed still decodes, without outputs. */
static void test_old_record(void **state)
{
    (void)state;
    arena *a = arena_new();
    session s = base_session(SESSION_TYPE_DOCUMENT);
    buf b;
    buf_init(&b, a);
    session_encode(&s, &b);
    session back;
    assert_int_equal(session_decode(a, b.data, b.len, &back), 0);
    assert_false(back.outputs.present);
    assert_int_equal(back.pending, SESSION_PENDING_NONE);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document_checks), cmocka_unit_test(test_failures),
        cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_render),
        cmocka_unit_test(test_redact_report),   cmocka_unit_test(test_session_outputs),
        cmocka_unit_test(test_old_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
