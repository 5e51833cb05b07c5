/*
 * report: the identity.verification_report resource (CONTRACT.md §5, identity-openapi.json
 * `identity.verification_report` and the gelato_*_report schemas): its in-memory form, the
 * compact record it is stored as, the synthetic test-mode data a finished verification produces
 * (CONTRACT.md §11 "Moving a session forward"), its redaction and its JSON rendering.
 *
 * Not for: HTTP parameters (reports.c), storage (store.h) or deciding when a report is made
 * (lifecycle.c). A report's strings are borrowed (arena or static); nothing here frees them.
 */
#ifndef VERIFYD_REPORT_H
#define VERIFYD_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/json.h"
#include "identity/session.h"

/* One check's outcome: present only when the check ran (CONTRACT.md §5). */
typedef struct report_check {
    int present;
    int verified;           /* status: verified (1) or unverified (0) */
    const char *error_code; /* NULL when verified */
    const char *error_reason;
} report_check;

typedef struct report {
    char id[SESSION_ID_MAX];
    const char *account; /* owning account; not rendered */
    int64_t created;
    int livemode;
    session_type type;
    const char *client_reference_id;
    const char *verification_session;
    const char *verification_flow;
    session_document_options options; /* options.document, as the session had it */
    int redacted;

    report_check document;
    session_address doc_address;
    session_date doc_dob, doc_expiration_date, doc_issued_date;
    const char *doc_first_name, *doc_last_name, *doc_number, *doc_issuing_country;
    const char *doc_type; /* driving_license | id_card | passport */
    const char *doc_sex;  /* enum incl. "[redacted]"; NULL */

    report_check id_number;
    session_date idn_dob;
    const char *idn_first_name, *idn_last_name, *idn_id_number, *idn_id_number_type;

    report_check selfie; /* document / selfie file IDs: verifyd stores no files, so null */

    report_check email;
    const char *email_value;

    report_check phone;
    const char *phone_value;
} report;

/* The 19 last_error codes of gelato_session_last_error, NULL-terminated. */
extern const char *const report_last_error_codes[];
/* Human-readable reason for a last_error code (safe to show the user); never NULL. */
const char *report_error_reason(const char *code);
/* The default last_error code of a failed check for a session (CONTRACT.md §11). */
const char *report_default_error_code(const session *s);

/* Build the report a finished verification of s produces (CONTRACT.md §11): every check the
 * session's type and options call for, each verified with Jenny Rosen's synthetic data, except
 * when fail_code is non-NULL: then the check that code belongs to (or the session's primary
 * check, for codes of no check or of a check the session does not run) is unverified with that
 * error. id is a fresh vr_ id; strings point at s's, at static data or into a. */
void report_generate(arena *a, const session *s, const char *fail_code, int64_t created,
                     report *out);
/* The verified_outputs a verified report yields. */
void report_verified_outputs(const report *r, session_verified_outputs *out);

/* Record encoding: 0, or -1 if the record is corrupt; strings point into a. */
void report_encode(const report *r, buf *out);
int report_decode(arena *a, const void *data, size_t len, report *r);

/* Erase the personal data of r in place (CONTRACT.md §11): strings read "[redacted]", dates and
 * enums that cannot hold that string become null, sex becomes its "[redacted]" value. */
void report_redact(report *r);

/* Sensitive fields (CONTRACT.md §1, §5): rendered only when their bit is set, which callers do
 * for a restricted key that expanded the field's path. */
enum {
    REPORT_SHOW_DOC_DOB = 1u << 0,
    REPORT_SHOW_DOC_EXPIRATION_DATE = 1u << 1,
    REPORT_SHOW_DOC_NUMBER = 1u << 2,
    REPORT_SHOW_IDN_DOB = 1u << 3,
    REPORT_SHOW_IDN_ID_NUMBER = 1u << 4,
};
/* The expand paths (relative to the report) that name each sensitive field, by bit order. */
extern const char *const report_sensitive_paths[];

/* Render as Stripe does: id, object, then alphabetical. */
void report_render(const report *r, unsigned show, json_writer *w);

#endif
