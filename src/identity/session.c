/*
 * session: the VerificationSession resource's data rules: names of its enums, the compact
 * record it is stored as (session_encode / session_decode), redaction of its personal data and its
 * JSON rendering. CONTRACT.md §2 (the object), §11 (redaction, client_secret/url).
 *
 * Not for: parameter parsing or state transitions driven by requests (sessions.c), or
 * storage (store.h).
 *
 * The record is base/record.h's: a version byte followed by tagged fields. Absent fields are
 * simply not written, which is how NULL strings round-trip. Unknown tags are skipped, so older
 * binaries can read newer records.
 */
#include "identity/session.h"
#include "identity/account_clock.h"

#include <stdio.h>
#include <string.h>

#include "base/ids.h"
#include "base/record.h"
#include "base/util.h"

#define VS_RECORD_VERSION 1

enum {
    T_ID = 1,
    T_ACCOUNT,
    T_CREATED,
    T_LIVEMODE,
    T_STATUS,
    T_TYPE,
    T_CLIENT_REFERENCE_ID,
    T_SECRET_TOKEN,
    T_URL_TOKEN,
    T_SECRET_ISSUED,
    T_HAS_LAST_ERROR,
    T_LAST_ERROR_CODE,
    T_LAST_ERROR_REASON,
    T_LAST_VERIFICATION_REPORT,
    T_META_KEY,
    T_META_VALUE,
    T_DOC_PRESENT,
    T_DOC_ALLOWED_TYPE,
    T_DOC_HAS_ALLOWED_TYPES,
    T_DOC_REQUIRE_ID_NUMBER,
    T_DOC_REQUIRE_LIVE_CAPTURE,
    T_DOC_REQUIRE_MATCHING_SELFIE,
    T_PROVIDED_EMAIL,
    T_PROVIDED_PHONE,
    T_REDACTION,
    T_REDACTION_DUE,
    T_RELATED_CUSTOMER,
    T_RELATED_CUSTOMER_ACCOUNT,
    T_RELATED_PERSON_ACCOUNT,
    T_RELATED_PERSON_PERSON,
    T_VERIFICATION_FLOW,
    T_RETURN_URL,
    /* --- appended, so older records still decode --- */
    T_PENDING,
    T_PENDING_CODE,
    T_PENDING_DUE,
    T_VO_PRESENT,
    T_VO_ADDRESS_PRESENT,
    T_VO_CITY,
    T_VO_COUNTRY,
    T_VO_LINE1,
    T_VO_LINE2,
    T_VO_POSTAL_CODE,
    T_VO_STATE,
    T_VO_DOB_PRESENT,
    T_VO_DOB_DAY,
    T_VO_DOB_MONTH,
    T_VO_DOB_YEAR,
    T_VO_EMAIL,
    T_VO_FIRST_NAME,
    T_VO_ID_NUMBER,
    T_VO_ID_NUMBER_TYPE,
    T_VO_LAST_NAME,
    T_VO_PHONE,
    T_VO_SEX,
    T_VO_UNPARSED_PLACE_OF_BIRTH,
    T_VO_UNPARSED_SEX,
};

static const char *const status_names[] = {"requires_input", "processing", "verified", "canceled"};
static const char *const type_names[] = {"document", "id_number", "verification_flow"};

const char *session_status_name(session_status s)
{
    return status_names[s];
}

const char *session_type_name(session_type t)
{
    return type_names[t];
}

int session_status_parse(const char *s, session_status *out)
{
    for (size_t i = 0; i < sizeof status_names / sizeof *status_names; i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *out = (session_status)i;
            return 0;
        }
    }
    return -1;
}

/* ---- record encoding ---- */

void session_encode(const session *s, buf *out)
{
    record_begin(out, VS_RECORD_VERSION);
    record_put_str(out, T_ID, s->id);
    record_put_str(out, T_ACCOUNT, s->account);
    record_put_i64(out, T_CREATED, s->created);
    record_put_i64(out, T_LIVEMODE, s->livemode);
    record_put_i64(out, T_STATUS, s->status);
    record_put_i64(out, T_TYPE, s->type);
    record_put_str(out, T_CLIENT_REFERENCE_ID, s->client_reference_id);
    record_put_str(out, T_SECRET_TOKEN, s->secret_token);
    record_put_str(out, T_URL_TOKEN, s->url_token);
    record_put_i64(out, T_SECRET_ISSUED, s->secret_issued);
    if (s->has_last_error) {
        record_put_i64(out, T_HAS_LAST_ERROR, 1);
        record_put_str(out, T_LAST_ERROR_CODE, s->last_error_code);
        record_put_str(out, T_LAST_ERROR_REASON, s->last_error_reason);
    }
    record_put_str(out, T_LAST_VERIFICATION_REPORT, s->last_verification_report);
    for (size_t i = 0; i < s->n_metadata; i++) {
        record_put_str(out, T_META_KEY, s->metadata[i].key);
        record_put_str(out, T_META_VALUE, s->metadata[i].value);
    }
    if (s->doc.present) {
        record_put_i64(out, T_DOC_PRESENT, 1);
        if (s->doc.has_allowed_types) {
            record_put_i64(out, T_DOC_HAS_ALLOWED_TYPES, 1);
            for (size_t i = 0; i < s->doc.n_allowed_types; i++)
                record_put_str(out, T_DOC_ALLOWED_TYPE, s->doc.allowed_types[i]);
        }
        record_put_i64(out, T_DOC_REQUIRE_ID_NUMBER, s->doc.require_id_number);
        record_put_i64(out, T_DOC_REQUIRE_LIVE_CAPTURE, s->doc.require_live_capture);
        record_put_i64(out, T_DOC_REQUIRE_MATCHING_SELFIE, s->doc.require_matching_selfie);
    }
    record_put_str(out, T_PROVIDED_EMAIL, s->provided_email);
    record_put_str(out, T_PROVIDED_PHONE, s->provided_phone);
    record_put_i64(out, T_REDACTION, s->redaction);
    if (s->redaction == SESSION_REDACTION_PROCESSING)
        record_put_i64(out, T_REDACTION_DUE, s->redaction_due);
    record_put_str(out, T_RELATED_CUSTOMER, s->related_customer);
    record_put_str(out, T_RELATED_CUSTOMER_ACCOUNT, s->related_customer_account);
    record_put_str(out, T_RELATED_PERSON_ACCOUNT, s->related_person_account);
    record_put_str(out, T_RELATED_PERSON_PERSON, s->related_person_person);
    record_put_str(out, T_VERIFICATION_FLOW, s->verification_flow);
    record_put_str(out, T_RETURN_URL, s->return_url);
    if (s->pending != SESSION_PENDING_NONE) {
        record_put_i64(out, T_PENDING, s->pending);
        record_put_str(out, T_PENDING_CODE, s->pending_code);
        record_put_i64(out, T_PENDING_DUE, s->pending_due);
    }
    const session_verified_outputs *vo = &s->outputs;
    if (vo->present) {
        record_put_i64(out, T_VO_PRESENT, 1);
        if (vo->address.present) {
            record_put_i64(out, T_VO_ADDRESS_PRESENT, 1);
            record_put_str(out, T_VO_CITY, vo->address.city);
            record_put_str(out, T_VO_COUNTRY, vo->address.country);
            record_put_str(out, T_VO_LINE1, vo->address.line1);
            record_put_str(out, T_VO_LINE2, vo->address.line2);
            record_put_str(out, T_VO_POSTAL_CODE, vo->address.postal_code);
            record_put_str(out, T_VO_STATE, vo->address.state);
        }
        if (vo->dob.present) {
            record_put_i64(out, T_VO_DOB_PRESENT, 1);
            record_put_i64(out, T_VO_DOB_DAY, vo->dob.day);
            record_put_i64(out, T_VO_DOB_MONTH, vo->dob.month);
            record_put_i64(out, T_VO_DOB_YEAR, vo->dob.year);
        }
        record_put_str(out, T_VO_EMAIL, vo->email);
        record_put_str(out, T_VO_FIRST_NAME, vo->first_name);
        record_put_str(out, T_VO_ID_NUMBER, vo->id_number);
        record_put_str(out, T_VO_ID_NUMBER_TYPE, vo->id_number_type);
        record_put_str(out, T_VO_LAST_NAME, vo->last_name);
        record_put_str(out, T_VO_PHONE, vo->phone);
        record_put_str(out, T_VO_SEX, vo->sex);
        record_put_str(out, T_VO_UNPARSED_PLACE_OF_BIRTH, vo->unparsed_place_of_birth);
        record_put_str(out, T_VO_UNPARSED_SEX, vo->unparsed_sex);
    }
}

int session_decode(arena *a, const void *data, size_t len, session *s)
{
    record_reader r;
    if (record_open(&r, data, len, VS_RECORD_VERSION) != 0) return -1;
    memset(s, 0, sizeof *s);
    s->doc.require_id_number = s->doc.require_live_capture = s->doc.require_matching_selfie =
        SESSION_UNSET;

    /* First pass: count the repeated fields so their arrays are allocated once. */
    size_t n_meta = 0, n_types = 0;
    record_field f;
    int rc;
    while ((rc = record_next(&r, &f)) > 0) {
        n_meta += f.tag == T_META_KEY;
        n_types += f.tag == T_DOC_ALLOWED_TYPE;
    }
    if (rc < 0) return -1;
    s->metadata = n_meta ? arena_alloc(a, n_meta * sizeof *s->metadata) : NULL;
    s->doc.allowed_types = n_types ? arena_alloc(a, n_types * sizeof(char *)) : NULL;

    record_rewind(&r);
    while (record_next(&r, &f) > 0) {
        const char *str = NULL;
        int64_t iv;
        (void)record_i64(&f, &iv); /* an integer field of another length reads as 0 */
        switch (f.tag) {
        case T_ID:
            if (record_copy(&f, s->id, sizeof s->id) != 0) return -1;
            continue;
        case T_CREATED:
            s->created = iv;
            continue;
        case T_LIVEMODE:
            s->livemode = iv != 0;
            continue;
        case T_STATUS:
            if (iv < 0 || iv > SESSION_CANCELED) return -1;
            s->status = (session_status)iv;
            continue;
        case T_TYPE:
            if (iv < 0 || iv > SESSION_TYPE_VERIFICATION_FLOW) return -1;
            s->type = (session_type)iv;
            continue;
        case T_SECRET_ISSUED:
            s->secret_issued = iv;
            continue;
        case T_HAS_LAST_ERROR:
            s->has_last_error = iv != 0;
            continue;
        case T_DOC_PRESENT:
            s->doc.present = iv != 0;
            continue;
        case T_DOC_HAS_ALLOWED_TYPES:
            s->doc.has_allowed_types = iv != 0;
            continue;
        case T_DOC_REQUIRE_ID_NUMBER:
            s->doc.require_id_number = (session_tribool)iv;
            continue;
        case T_DOC_REQUIRE_LIVE_CAPTURE:
            s->doc.require_live_capture = (session_tribool)iv;
            continue;
        case T_DOC_REQUIRE_MATCHING_SELFIE:
            s->doc.require_matching_selfie = (session_tribool)iv;
            continue;
        case T_REDACTION:
            if (iv < 0 || iv > SESSION_REDACTION_REDACTED) return -1;
            s->redaction = (session_redaction)iv;
            continue;
        case T_REDACTION_DUE:
            s->redaction_due = iv;
            continue;
        case T_PENDING:
            if (iv < 0 || iv > SESSION_PENDING_REQUIRE_INPUT) return -1;
            s->pending = (session_pending)iv;
            continue;
        case T_PENDING_DUE:
            s->pending_due = iv;
            continue;
        case T_VO_PRESENT:
            s->outputs.present = iv != 0;
            continue;
        case T_VO_ADDRESS_PRESENT:
            s->outputs.address.present = iv != 0;
            continue;
        case T_VO_DOB_PRESENT:
            s->outputs.dob.present = iv != 0;
            continue;
        case T_VO_DOB_DAY:
            s->outputs.dob.day = iv;
            continue;
        case T_VO_DOB_MONTH:
            s->outputs.dob.month = iv;
            continue;
        case T_VO_DOB_YEAR:
            s->outputs.dob.year = iv;
            continue;
        default:
            break;
        }
        str = record_str(&f, a);
        switch (f.tag) {
        case T_ACCOUNT:
            s->account = str;
            break;
        case T_CLIENT_REFERENCE_ID:
            s->client_reference_id = str;
            break;
        case T_SECRET_TOKEN:
            s->secret_token = str;
            break;
        case T_URL_TOKEN:
            s->url_token = str;
            break;
        case T_LAST_ERROR_CODE:
            s->last_error_code = str;
            break;
        case T_LAST_ERROR_REASON:
            s->last_error_reason = str;
            break;
        case T_LAST_VERIFICATION_REPORT:
            s->last_verification_report = str;
            break;
        case T_META_KEY:
            s->metadata[s->n_metadata].key = str;
            s->metadata[s->n_metadata].value = "";
            s->n_metadata++;
            break;
        case T_META_VALUE:
            if (s->n_metadata == 0) return -1;
            s->metadata[s->n_metadata - 1].value = str;
            break;
        case T_DOC_ALLOWED_TYPE:
            s->doc.allowed_types[s->doc.n_allowed_types++] = str;
            break;
        case T_PROVIDED_EMAIL:
            s->provided_email = str;
            break;
        case T_PROVIDED_PHONE:
            s->provided_phone = str;
            break;
        case T_RELATED_CUSTOMER:
            s->related_customer = str;
            break;
        case T_RELATED_CUSTOMER_ACCOUNT:
            s->related_customer_account = str;
            break;
        case T_RELATED_PERSON_ACCOUNT:
            s->related_person_account = str;
            break;
        case T_RELATED_PERSON_PERSON:
            s->related_person_person = str;
            break;
        case T_VERIFICATION_FLOW:
            s->verification_flow = str;
            break;
        case T_RETURN_URL:
            s->return_url = str;
            break;
        case T_PENDING_CODE:
            s->pending_code = str;
            break;
        case T_VO_CITY:
            s->outputs.address.city = str;
            break;
        case T_VO_COUNTRY:
            s->outputs.address.country = str;
            break;
        case T_VO_LINE1:
            s->outputs.address.line1 = str;
            break;
        case T_VO_LINE2:
            s->outputs.address.line2 = str;
            break;
        case T_VO_POSTAL_CODE:
            s->outputs.address.postal_code = str;
            break;
        case T_VO_STATE:
            s->outputs.address.state = str;
            break;
        case T_VO_EMAIL:
            s->outputs.email = str;
            break;
        case T_VO_FIRST_NAME:
            s->outputs.first_name = str;
            break;
        case T_VO_ID_NUMBER:
            s->outputs.id_number = str;
            break;
        case T_VO_ID_NUMBER_TYPE:
            s->outputs.id_number_type = str;
            break;
        case T_VO_LAST_NAME:
            s->outputs.last_name = str;
            break;
        case T_VO_PHONE:
            s->outputs.phone = str;
            break;
        case T_VO_SEX:
            s->outputs.sex = str;
            break;
        case T_VO_UNPARSED_PLACE_OF_BIRTH:
            s->outputs.unparsed_place_of_birth = str;
            break;
        case T_VO_UNPARSED_SEX:
            s->outputs.unparsed_sex = str;
            break;
        default:
            break; /* a newer field: skipped */
        }
    }
    if (s->id[0] == '\0') return -1;
    return 0;
}

/* ---- client_secret and url ---- */

void session_issue_secrets(session *s, arena *a)
{
    char tok[SESSION_URL_TOKEN_LEN + 1], extra[32];
    ids_time_ordered(tok, sizeof tok, "", SESSION_URL_TOKEN_LEN);
    s->url_token = arena_strdup(a, tok);
    /* The secret token is the url token and 24 more random characters. Whoever holds the
     * client_secret may open the hosted page anyway (that is what Stripe.js does with it), so
     * it carrying the url token gives nothing away, while the url (in browser histories and
     * logs) does not give the client_secret. It lets the /v3/ stand-in find the session from
     * its client_secret through the url token's link, without a second link written per create
     * (measured: that second write cost creates 20%). */
    ids_random(extra, sizeof extra, "", 24);
    s->secret_token = arena_printf(a, "%s%s", tok, extra);
    s->secret_issued = account_clock_now(s->account);
}

/* ---- state rules ---- */

int session_check(const session *s, session_action action, const char **allowed)
{
    switch (action) {
    case SESSION_UPDATE:
    case SESSION_UPDATE_METADATA_ONLY:
        /* Stripe: CONTRACT.md §3: redacted sessions "cannot be updated or used for any
         * purpose"; only metadata may change outside requires_input (the safest rule). */
        if (s->redaction != SESSION_REDACTION_NONE) return SESSION_REDACTED;
        *allowed = "requires_input";
        if (action == SESSION_UPDATE_METADATA_ONLY) return SESSION_ALLOWED;
        return s->status == SESSION_REQUIRES_INPUT ? SESSION_ALLOWED : SESSION_WRONG_STATE;
    case SESSION_CANCEL:
        /* Stripe: CONTRACT.md §3: cancel only in requires_input; it cannot be undone. */
        *allowed = "requires_input";
        return s->status == SESSION_REQUIRES_INPUT ? SESSION_ALLOWED : SESSION_WRONG_STATE;
    case SESSION_REDACT:
        /* CONTRACT.md §11: a redaction under way or done answers unchanged; processing must
         * finish first; requires_input, verified and canceled may be redacted. */
        *allowed = "requires_input, verified or canceled";
        if (s->redaction != SESSION_REDACTION_NONE) return SESSION_NOTHING_TO_DO;
        return s->status == SESSION_PROCESSING ? SESSION_WRONG_STATE : SESSION_ALLOWED;
    }
    return SESSION_WRONG_STATE;
}

/* ---- redaction ---- */

#define REDACTED "[redacted]"

void session_redact(session *s)
{
    /* Stripe: CONTRACT.md §11: string fields read "[redacted]", metadata is erased, the row
     * stays so the ID still retrieves. Identifiers of other objects are not personal data. */
    if (s->client_reference_id) s->client_reference_id = REDACTED;
    if (s->provided_email) s->provided_email = REDACTED;
    if (s->provided_phone) s->provided_phone = REDACTED;
    if (s->has_last_error && s->last_error_reason) s->last_error_reason = REDACTED;
    s->return_url = NULL;
    /* A past event's copy of a requires_input session would still render them. */
    s->secret_token = NULL;
    s->url_token = NULL;
    s->metadata = NULL;
    s->n_metadata = 0;
    /* --- verified outputs keep their types (§11): strings read "[redacted]", the dob
     * object and the id_number_type enum become null, sex takes its "[redacted]" enum value. */
    session_verified_outputs *vo = &s->outputs;
    const char **strs[] = {&vo->address.city,
                           &vo->address.country,
                           &vo->address.line1,
                           &vo->address.line2,
                           &vo->address.postal_code,
                           &vo->address.state,
                           &vo->email,
                           &vo->first_name,
                           &vo->id_number,
                           &vo->last_name,
                           &vo->phone,
                           &vo->sex,
                           &vo->unparsed_place_of_birth,
                           &vo->unparsed_sex};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        if (*strs[i]) *strs[i] = REDACTED;
    }
    memset(&vo->dob, 0, sizeof vo->dob);
    vo->id_number_type = NULL;
}

/* ---- rendering ---- */

static void render_document_options(const session_document_options *d, json_writer *w)
{
    static const char *const names[] = {"require_id_number", "require_live_capture",
                                        "require_matching_selfie"};
    const session_tribool vals[] = {d->require_id_number, d->require_live_capture,
                                    d->require_matching_selfie};
    json_obj_begin(w);
    if (d->has_allowed_types) {
        json_key(w, "allowed_types");
        json_arr_begin(w);
        for (size_t i = 0; i < d->n_allowed_types; i++)
            json_str(w, d->allowed_types[i]);
        json_arr_end(w);
    }
    for (int i = 0; i < 3; i++) {
        if (vals[i] != SESSION_UNSET) json_kbool(w, names[i], vals[i] == SESSION_TRUE);
    }
    json_obj_end(w);
}

/* --- verified outputs --- */

void session_render_address(const session_address *a, json_writer *w)
{
    if (!a->present) {
        json_null(w);
        return;
    }
    json_obj_begin(w);
    json_kstr(w, "city", a->city);
    json_kstr(w, "country", a->country);
    json_kstr(w, "line1", a->line1);
    json_kstr(w, "line2", a->line2);
    json_kstr(w, "postal_code", a->postal_code);
    json_kstr(w, "state", a->state);
    json_obj_end(w);
}

void session_render_date(const session_date *d, json_writer *w)
{
    if (!d->present) {
        json_null(w);
        return;
    }
    json_obj_begin(w);
    json_kint(w, "day", d->day);
    json_kint(w, "month", d->month);
    json_kint(w, "year", d->year);
    json_obj_end(w);
}

static void render_outputs(const session_verified_outputs *vo, const session_render_opts *o,
                           json_writer *w)
{
    if (!vo->present) {
        json_null(w);
        return;
    }
    json_obj_begin(w);
    json_key(w, "address");
    session_render_address(&vo->address, w);
    if (o->show_outputs_dob) {
        json_key(w, "dob");
        session_render_date(&vo->dob, w);
    }
    json_kstr(w, "email", vo->email);
    json_kstr(w, "first_name", vo->first_name);
    if (o->show_outputs_id_number) json_kstr(w, "id_number", vo->id_number);
    json_kstr(w, "id_number_type", vo->id_number_type);
    json_kstr(w, "last_name", vo->last_name);
    json_kstr(w, "phone", vo->phone);
    json_kstr(w, "sex", vo->sex);
    json_kstr(w, "unparsed_place_of_birth", vo->unparsed_place_of_birth);
    json_kstr(w, "unparsed_sex", vo->unparsed_sex);
    json_obj_end(w);
}

/* client_secret and url exist only while the session waits for input (CONTRACT.md §2). */
static int has_live_secret(const session *s)
{
    return s->status == SESSION_REQUIRES_INPUT && s->secret_token && s->url_token &&
           s->redaction == SESSION_REDACTION_NONE;
}

void session_render(const session *s, const session_render_opts *o, json_writer *w)
{
    /* Field order as Stripe prints it: id, object, then alphabetical. */
    json_obj_begin(w);
    json_kstr(w, "id", s->id);
    json_kstr(w, "object", "identity.verification_session");
    json_kstr(w, "client_reference_id", s->client_reference_id);
    char tmp[SESSION_URL_MAX];
    if (has_live_secret(s)) {
        snprintf(tmp, sizeof tmp, "%s_secret_%s", s->id, s->secret_token);
        json_kstr(w, "client_secret", tmp);
    } else {
        json_knull(w, "client_secret");
    }
    json_kint(w, "created", s->created);
    json_key(w, "last_error");
    if (s->has_last_error) {
        json_obj_begin(w);
        json_kstr(w, "code", s->last_error_code);
        json_kstr(w, "reason", s->last_error_reason);
        json_obj_end(w);
    } else {
        json_null(w);
    }
    if (o->expand_last_verification_report && o->render_report && s->last_verification_report) {
        json_key(w, "last_verification_report");
        o->render_report(o->render_report_ctx, s, w);
    } else {
        json_kstr(w, "last_verification_report", s->last_verification_report);
    }
    json_kbool(w, "livemode", s->livemode);
    json_key(w, "metadata");
    json_obj_begin(w);
    for (size_t i = 0; i < s->n_metadata; i++)
        json_kstr(w, s->metadata[i].key, s->metadata[i].value);
    json_obj_end(w);
    json_key(w, "options");
    json_obj_begin(w);
    if (s->doc.present) {
        json_key(w, "document");
        render_document_options(&s->doc, w);
    }
    json_obj_end(w);
    json_key(w, "provided_details");
    if (s->provided_email || s->provided_phone) {
        json_obj_begin(w);
        if (s->provided_email) json_kstr(w, "email", s->provided_email);
        if (s->provided_phone) json_kstr(w, "phone", s->provided_phone);
        json_obj_end(w);
    } else {
        json_null(w);
    }
    json_key(w, "redaction");
    if (s->redaction == SESSION_REDACTION_NONE) {
        json_null(w);
    } else {
        json_obj_begin(w);
        json_kstr(w, "status",
                  s->redaction == SESSION_REDACTION_PROCESSING ? "processing" : "redacted");
        json_obj_end(w);
    }
    json_kstr(w, "related_customer", s->related_customer);
    json_kstr(w, "related_customer_account", s->related_customer_account);
    if (s->related_person_account) {
        json_key(w, "related_person");
        json_obj_begin(w);
        json_kstr(w, "account", s->related_person_account);
        json_kstr(w, "person", s->related_person_person);
        json_obj_end(w);
    }
    json_kstr(w, "status", session_status_name(s->status));
    json_kstr(w, "type", session_type_name(s->type));
    if (has_live_secret(s)) {
        snprintf(tmp, sizeof tmp, "%s/start/%s", o->public_url, s->url_token);
        json_kstr(w, "url", tmp);
    } else {
        json_knull(w, "url");
    }
    if (s->verification_flow) json_kstr(w, "verification_flow", s->verification_flow);
    if (o->expand_verified_outputs) {
        /* CONTRACT.md §6: null until the session is verified; dob and id_number only for a
         * restricted key that expanded them. */
        json_key(w, "verified_outputs");
        render_outputs(&s->outputs, o, w);
    }
    json_obj_end(w);
}
