/*
 * report: the VerificationReport resource's data rules: the synthetic outcome of a test-mode
 * verification, the compact record a report is stored as (report_encode / report_decode), redaction
 * of its personal data and its JSON rendering. CONTRACT.md §5, §6, §11.
 *
 * Not for: when reports are made (lifecycle.c), parameters (reports.c) or storage (store.h).
 *
 * The record is base/record.h's, as the session's is (absent strings are not written, unknown
 * tags are skipped). Its fields are described once, in a table, which encode, decode and redact
 * share.
 */
#include "identity/report.h"

#include <stddef.h>
#include <string.h>

#include "base/ids.h"
#include "base/record.h"

#define VR_RECORD_VERSION 1
#define REDACTED "[redacted]"

/* ---- last_error codes (gelato_session_last_error) ---- */

const char *const report_last_error_codes[] = {"abandoned",
                                               "consent_declined",
                                               "country_not_supported",
                                               "device_not_supported",
                                               "document_expired",
                                               "document_type_not_supported",
                                               "document_unverified_other",
                                               "email_unverified_other",
                                               "email_verification_declined",
                                               "id_number_insufficient_document_data",
                                               "id_number_mismatch",
                                               "id_number_unverified_other",
                                               "phone_unverified_other",
                                               "phone_verification_declined",
                                               "selfie_document_missing_photo",
                                               "selfie_face_mismatch",
                                               "selfie_manipulated",
                                               "selfie_unverified_other",
                                               "under_supported_age",
                                               NULL};

/* Same order as report_last_error_codes. Written to be shown to the user (CONTRACT.md §2). */
static const char *const reasons[] = {
    "The user began the verification but did not submit it.",
    "The user declined to be verified.",
    "The document was issued in a country that is not supported.",
    "The user's device cannot complete the verification.",
    "The provided identity document has expired.",
    "The provided identity document is not one of the allowed document types.",
    "The provided identity document could not be verified.",
    "The provided email address could not be verified.",
    "The user declined to verify their email address.",
    "The provided identity document does not hold enough data to match the ID number.",
    "The information provided could not be matched with the ID number.",
    "The provided ID number could not be verified.",
    "The provided phone number could not be verified.",
    "The user declined to verify their phone number.",
    "The provided identity document does not contain a photo of a face.",
    "The selfie does not match the face on the identity document.",
    "The selfie appears to have been manipulated.",
    "The selfie could not be verified.",
    "The user is under the minimum supported age.",
};

const char *report_error_reason(const char *code)
{
    for (size_t i = 0; report_last_error_codes[i]; i++) {
        if (strcmp(code, report_last_error_codes[i]) == 0) return reasons[i];
    }
    return "The verification could not be completed.";
}

const char *report_default_error_code(const session *s)
{
    /* Stripe: CONTRACT.md §11: document_unverified_other, or id_number_mismatch for id_number. */
    return s->type == SESSION_TYPE_ID_NUMBER ? "id_number_mismatch" : "document_unverified_other";
}

/* ---- synthetic outcome (CONTRACT.md §11: Jenny Rosen, 1234 Main St., born 1901-01-01) ---- */

static const session_address jenny_address = {1,    "San Francisco", "US", "1234 Main St.",
                                              NULL, "94111",         "CA"};
static const session_date jenny_dob = {1, 1, 1, 1901};
static const session_date doc_expiration = {1, 1, 12, 2030};
static const session_date doc_issued = {1, 1, 12, 2020};

static void check_ok(report_check *c)
{
    *c = (report_check){.present = 1, .verified = 1};
}

void report_generate(arena *a, const session *s, const char *fail_code, int64_t created, report *r)
{
    memset(r, 0, sizeof *r);
    ids_random(r->id, sizeof r->id, "vr_", IDS_OBJECT_LEN);
    r->account = s->account;
    r->created = created;
    r->livemode = s->livemode;
    r->type = s->type;
    r->client_reference_id = s->client_reference_id;
    r->verification_session = arena_strdup(a, s->id);
    r->verification_flow = s->verification_flow;
    r->options = s->doc;

    /* Which checks run: the document for document (and flow) sessions, the selfie when the
     * document options ask for it, the ID number for id_number sessions or when asked for. */
    int is_idn = s->type == SESSION_TYPE_ID_NUMBER;
    if (!is_idn) {
        check_ok(&r->document);
        r->doc_address = jenny_address;
        r->doc_dob = jenny_dob;
        r->doc_expiration_date = doc_expiration;
        r->doc_issued_date = doc_issued;
        r->doc_first_name = "Jenny";
        r->doc_last_name = "Rosen";
        r->doc_number = "D0000000";
        r->doc_issuing_country = "US";
        r->doc_type = s->doc.has_allowed_types && s->doc.n_allowed_types > 0
                          ? s->doc.allowed_types[0]
                          : "driving_license";
        if (s->doc.require_matching_selfie == SESSION_TRUE) check_ok(&r->selfie);
    }
    if (is_idn || s->doc.require_id_number == SESSION_TRUE) {
        check_ok(&r->id_number);
        r->idn_dob = jenny_dob;
        r->idn_first_name = "Jenny";
        r->idn_last_name = "Rosen";
        r->idn_id_number = "0000"; /* US SSN: the last four digits only (CONTRACT.md §5) */
        r->idn_id_number_type = "us_ssn";
    }
    if (!fail_code) return;

    /* The failing check is the one the code names; codes of no check (abandoned, ...) and codes
     * of checks this session does not run fail its primary check. */
    struct {
        const char *prefix;
        report_check *check;
    } owners[] = {{"document_", &r->document},
                  {"id_number_", &r->id_number},
                  {"selfie_", &r->selfie},
                  {"email_", &r->email},
                  {"phone_", &r->phone}};
    report_check *failed = NULL;
    const char *code = fail_code;
    for (size_t i = 0; i < sizeof owners / sizeof *owners; i++) {
        if (strncmp(fail_code, owners[i].prefix, strlen(owners[i].prefix)) == 0 &&
            owners[i].check->present)
            failed = owners[i].check;
    }
    if (!failed) {
        failed = is_idn ? &r->id_number : &r->document;
        code = is_idn ? "id_number_unverified_other" : "document_unverified_other";
    }
    failed->verified = 0;
    failed->error_code = code;
    failed->error_reason = report_error_reason(fail_code);
    /* An unverified check reports no extracted data. */
    if (failed == &r->document) {
        memset(&r->doc_address, 0, sizeof r->doc_address);
        memset(&r->doc_dob, 0, sizeof r->doc_dob);
        memset(&r->doc_expiration_date, 0, sizeof r->doc_expiration_date);
        memset(&r->doc_issued_date, 0, sizeof r->doc_issued_date);
        r->doc_first_name = r->doc_last_name = r->doc_number = r->doc_issuing_country = NULL;
        r->doc_type = NULL;
    } else if (failed == &r->id_number) {
        memset(&r->idn_dob, 0, sizeof r->idn_dob);
        r->idn_first_name = r->idn_last_name = r->idn_id_number = r->idn_id_number_type = NULL;
    }
}

void report_verified_outputs(const report *r, session_verified_outputs *vo)
{
    memset(vo, 0, sizeof *vo);
    vo->present = 1;
    vo->address = r->document.present ? r->doc_address : (session_address){0};
    vo->dob = r->document.present ? r->doc_dob : r->idn_dob;
    vo->first_name = r->document.present ? r->doc_first_name : r->idn_first_name;
    vo->last_name = r->document.present ? r->doc_last_name : r->idn_last_name;
    if (r->id_number.present) {
        vo->id_number = "000000000"; /* a US SSN ending 0000 (CONTRACT.md §11) */
        vo->id_number_type = r->idn_id_number_type;
    }
    if (r->email.present) vo->email = r->email_value;
    if (r->phone.present) vo->phone = r->phone_value;
    vo->sex = r->doc_sex;
}

/* ---- the record: one table of fields ---- */

typedef enum { K_STR, K_I64, K_INT } field_kind;

typedef struct field {
    unsigned char tag;
    field_kind kind;
    size_t off;
    unsigned char personal; /* 1: "[redacted]" string; 2: set to null/0 by redaction */
} field;

#define F(tag, kind, member, personal)                                                             \
    {                                                                                              \
        tag, kind, offsetof(report, member), personal                                              \
    }
#define CHECK_FIELDS(base, c)                                                                      \
    F(base, K_INT, c.present, 0), F(base + 1, K_INT, c.verified, 0),                               \
        F(base + 2, K_STR, c.error_code, 0), F(base + 3, K_STR, c.error_reason, 0)
#define DATE_FIELDS(base, d, personal)                                                             \
    F(base, K_INT, d.present, personal), F(base + 1, K_I64, d.day, personal),                      \
        F(base + 2, K_I64, d.month, personal), F(base + 3, K_I64, d.year, personal)

/* Tags 1 (id) and 2 (allowed type, repeated) are handled apart. Never renumber: append. */
static const field fields[] = {
    F(3, K_STR, account, 0),
    F(4, K_I64, created, 0),
    F(5, K_INT, livemode, 0),
    F(6, K_INT, type, 0),
    F(7, K_STR, client_reference_id, 1),
    F(8, K_STR, verification_session, 0),
    F(9, K_STR, verification_flow, 0),
    F(10, K_INT, redacted, 0),
    F(11, K_INT, options.present, 0),
    F(12, K_INT, options.has_allowed_types, 0),
    F(13, K_INT, options.require_id_number, 0),
    F(14, K_INT, options.require_live_capture, 0),
    F(15, K_INT, options.require_matching_selfie, 0),
    CHECK_FIELDS(20, document),
    F(24, K_INT, doc_address.present, 0),
    F(25, K_STR, doc_address.city, 1),
    F(26, K_STR, doc_address.country, 1),
    F(27, K_STR, doc_address.line1, 1),
    F(28, K_STR, doc_address.line2, 1),
    F(29, K_STR, doc_address.postal_code, 1),
    F(30, K_STR, doc_address.state, 1),
    DATE_FIELDS(31, doc_dob, 2),
    DATE_FIELDS(35, doc_expiration_date, 2),
    DATE_FIELDS(39, doc_issued_date, 2),
    F(43, K_STR, doc_first_name, 1),
    F(44, K_STR, doc_last_name, 1),
    F(45, K_STR, doc_number, 1),
    F(46, K_STR, doc_issuing_country, 1),
    F(47, K_STR, doc_type, 0),
    F(48, K_STR, doc_sex, 1),
    CHECK_FIELDS(50, id_number),
    DATE_FIELDS(54, idn_dob, 2),
    F(58, K_STR, idn_first_name, 1),
    F(59, K_STR, idn_last_name, 1),
    F(60, K_STR, idn_id_number, 1),
    F(61, K_STR, idn_id_number_type, 2),
    CHECK_FIELDS(70, selfie),
    CHECK_FIELDS(80, email),
    F(84, K_STR, email_value, 1),
    CHECK_FIELDS(90, phone),
    F(94, K_STR, phone_value, 1),
};
#define N_FIELDS (sizeof fields / sizeof *fields)
enum { T_ID = 1, T_ALLOWED_TYPE = 2 };

void report_encode(const report *r, buf *out)
{
    record_begin(out, VR_RECORD_VERSION);
    record_put_str(out, T_ID, r->id);
    for (size_t i = 0; i < r->options.n_allowed_types; i++)
        record_put_str(out, T_ALLOWED_TYPE, r->options.allowed_types[i]);
    const char *base = (const char *)r;
    for (size_t i = 0; i < N_FIELDS; i++) {
        const field *f = &fields[i];
        if (f->kind == K_STR) {
            record_put_str(out, f->tag, *(const char *const *)(base + f->off));
            continue;
        }
        int64_t v =
            f->kind == K_I64 ? *(const int64_t *)(base + f->off) : *(const int *)(base + f->off);
        record_put_i64(out, f->tag, v);
    }
}

static const field *field_by_tag(int tag)
{
    for (size_t i = 0; i < N_FIELDS; i++) {
        if (fields[i].tag == tag) return &fields[i];
    }
    return NULL;
}

int report_decode(arena *a, const void *data, size_t len, report *r)
{
    record_reader rd;
    if (record_open(&rd, data, len, VR_RECORD_VERSION) != 0) return -1;
    memset(r, 0, sizeof *r);
    r->options.require_id_number = r->options.require_live_capture =
        r->options.require_matching_selfie = SESSION_UNSET;
    size_t n_types = 0;
    /* Two passes: count the allowed types, then fill. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && n_types > 0)
            r->options.allowed_types = arena_alloc(a, n_types * sizeof(char *));
        record_rewind(&rd);
        record_field fl;
        int rc;
        while ((rc = record_next(&rd, &fl)) > 0) {
            if (pass == 0) {
                n_types += fl.tag == T_ALLOWED_TYPE;
                continue;
            }
            if (fl.tag == T_ID) {
                if (record_copy(&fl, r->id, sizeof r->id) != 0) return -1;
                continue;
            }
            if (fl.tag == T_ALLOWED_TYPE) {
                r->options.allowed_types[r->options.n_allowed_types++] = record_str(&fl, a);
                continue;
            }
            const field *f = field_by_tag(fl.tag);
            if (!f) continue; /* a newer field: skipped */
            char *dst = (char *)r + f->off;
            if (f->kind == K_STR) {
                *(const char **)dst = record_str(&fl, a);
                continue;
            }
            int64_t v;
            if (record_i64(&fl, &v) != 0) return -1;
            if (f->kind == K_I64)
                *(int64_t *)dst = v;
            else
                *(int *)dst = (int)v;
        }
        if (rc < 0) return -1;
    }
    if (r->id[0] == '\0' || (unsigned)r->type > SESSION_TYPE_VERIFICATION_FLOW) return -1;
    return 0;
}

void report_redact(report *r)
{
    char *base = (char *)r;
    for (size_t i = 0; i < N_FIELDS; i++) {
        const field *f = &fields[i];
        char *dst = base + f->off;
        if (f->personal == 1 && *(const char **)dst) *(const char **)dst = REDACTED;
        if (f->personal == 2) {
            if (f->kind == K_STR)
                *(const char **)dst = NULL;
            else if (f->kind == K_I64)
                *(int64_t *)dst = 0;
            else
                *(int *)dst = 0;
        }
    }
    r->redacted = 1;
}

/* ---- rendering ---- */

const char *const report_sensitive_paths[] = {"document.dob",        "document.expiration_date",
                                              "document.number",     "id_number.dob",
                                              "id_number.id_number", NULL};

static void render_error(const report_check *c, json_writer *w)
{
    json_key(w, "error");
    if (c->verified) {
        json_null(w);
        return;
    }
    json_obj_begin(w);
    json_kstr(w, "code", c->error_code);
    json_kstr(w, "reason", c->error_reason);
    json_obj_end(w);
}

static const char *status_of(const report_check *c)
{
    return c->verified ? "verified" : "unverified";
}

static void render_document(const report *r, unsigned show, json_writer *w)
{
    json_obj_begin(w);
    json_key(w, "address");
    session_render_address(&r->doc_address, w);
    if (show & REPORT_SHOW_DOC_DOB) {
        json_key(w, "dob");
        session_render_date(&r->doc_dob, w);
    }
    render_error(&r->document, w);
    if (show & REPORT_SHOW_DOC_EXPIRATION_DATE) {
        json_key(w, "expiration_date");
        session_render_date(&r->doc_expiration_date, w);
    }
    /* verifyd keeps no document images, so there are no file IDs to list. */
    json_key(w, "files");
    json_arr_begin(w);
    json_arr_end(w);
    json_kstr(w, "first_name", r->doc_first_name);
    json_key(w, "issued_date");
    session_render_date(&r->doc_issued_date, w);
    json_kstr(w, "issuing_country", r->doc_issuing_country);
    json_kstr(w, "last_name", r->doc_last_name);
    if (show & REPORT_SHOW_DOC_NUMBER) json_kstr(w, "number", r->doc_number);
    json_kstr(w, "sex", r->doc_sex);
    json_kstr(w, "status", status_of(&r->document));
    json_kstr(w, "type", r->doc_type);
    json_knull(w, "unparsed_place_of_birth");
    json_knull(w, "unparsed_sex");
    json_obj_end(w);
}

static void render_id_number(const report *r, unsigned show, json_writer *w)
{
    json_obj_begin(w);
    if (show & REPORT_SHOW_IDN_DOB) {
        json_key(w, "dob");
        session_render_date(&r->idn_dob, w);
    }
    render_error(&r->id_number, w);
    json_kstr(w, "first_name", r->idn_first_name);
    if (show & REPORT_SHOW_IDN_ID_NUMBER) json_kstr(w, "id_number", r->idn_id_number);
    json_kstr(w, "id_number_type", r->idn_id_number_type);
    json_kstr(w, "last_name", r->idn_last_name);
    json_kstr(w, "status", status_of(&r->id_number));
    json_obj_end(w);
}

/* email / phone: {<value key>, error, status}, keys in alphabetical order. */
static void render_contact(const report_check *c, const char *key, const char *value,
                           json_writer *w)
{
    json_obj_begin(w);
    if (strcmp(key, "email") == 0) json_kstr(w, key, value);
    render_error(c, w);
    if (strcmp(key, "phone") == 0) json_kstr(w, key, value);
    json_kstr(w, "status", status_of(c));
    json_obj_end(w);
}

void report_render(const report *r, unsigned show, json_writer *w)
{
    json_obj_begin(w);
    json_kstr(w, "id", r->id);
    json_kstr(w, "object", "identity.verification_report");
    json_kstr(w, "client_reference_id", r->client_reference_id);
    json_kint(w, "created", r->created);
    if (r->document.present) {
        json_key(w, "document");
        render_document(r, show, w);
    }
    if (r->email.present) {
        json_key(w, "email");
        render_contact(&r->email, "email", r->email_value, w);
    }
    if (r->id_number.present) {
        json_key(w, "id_number");
        render_id_number(r, show, w);
    }
    json_kbool(w, "livemode", r->livemode);
    json_key(w, "options");
    json_obj_begin(w);
    if (r->options.present || r->document.present) {
        /* gelato_report_document_options: the keys that were set. */
        static const char *const names[] = {"require_id_number", "require_live_capture",
                                            "require_matching_selfie"};
        const session_tribool vals[] = {r->options.require_id_number,
                                        r->options.require_live_capture,
                                        r->options.require_matching_selfie};
        json_key(w, "document");
        json_obj_begin(w);
        if (r->options.has_allowed_types) {
            json_key(w, "allowed_types");
            json_arr_begin(w);
            for (size_t i = 0; i < r->options.n_allowed_types; i++)
                json_str(w, r->options.allowed_types[i]);
            json_arr_end(w);
        }
        for (int i = 0; i < 3; i++) {
            if (vals[i] != SESSION_UNSET) json_kbool(w, names[i], vals[i] == SESSION_TRUE);
        }
        json_obj_end(w);
    }
    if (r->type == SESSION_TYPE_ID_NUMBER) {
        json_key(w, "id_number");
        json_obj_begin(w);
        json_obj_end(w);
    }
    json_obj_end(w);
    if (r->phone.present) {
        json_key(w, "phone");
        render_contact(&r->phone, "phone", r->phone_value, w);
    }
    if (r->selfie.present) {
        json_key(w, "selfie");
        json_obj_begin(w);
        json_knull(w, "document");
        render_error(&r->selfie, w);
        json_knull(w, "selfie");
        json_kstr(w, "status", status_of(&r->selfie));
        json_obj_end(w);
    }
    json_kstr(w, "type", session_type_name(r->type));
    if (r->verification_flow) json_kstr(w, "verification_flow", r->verification_flow);
    json_kstr(w, "verification_session", r->verification_session);
    json_obj_end(w);
}
