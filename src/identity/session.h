/*
 * session: the identity.verification_session resource itself: its in-memory form, the compact
 * record it is stored as, its state rules, and how it renders as JSON. CONTRACT.md §2-4, §11.
 *
 * Not for: HTTP parameter handling (sessions.c) or storage (store.h). A session's strings
 * are borrowed (arena or static); nothing in this module frees them.
 */
#ifndef VERIFYD_SESSION_H
#define VERIFYD_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/json.h"
#include "identity/metadata.h"

typedef enum {
    SESSION_REQUIRES_INPUT,
    SESSION_PROCESSING,
    SESSION_VERIFIED,
    SESSION_CANCELED
} session_status;
typedef enum {
    SESSION_TYPE_DOCUMENT,
    SESSION_TYPE_ID_NUMBER,
    SESSION_TYPE_VERIFICATION_FLOW
} session_type;
typedef enum {
    SESSION_REDACTION_NONE,
    SESSION_REDACTION_PROCESSING,
    SESSION_REDACTION_REDACTED
} session_redaction;

#define SESSION_ID_MAX 64
/* A url token's length: IDS_TIME_CHARS of time, then random characters (session_issue_secrets);
 * a client_secret's token is it and 24 more. */
#define SESSION_URL_TOKEN_LEN 40
/* Longest rendered client_secret or url; config limits --public-url so both fit. */
#define SESSION_URL_MAX 512
#define SESSION_PUBLIC_URL_MAX 400

/* A tri-state boolean option: unset, false, true. */
typedef enum { SESSION_UNSET = -1, SESSION_FALSE = 0, SESSION_TRUE = 1 } session_tribool;

typedef struct session_document_options {
    int present; /* options.document was set (possibly to {}) */
    const char **allowed_types;
    size_t n_allowed_types;
    int has_allowed_types; /* allowed_types was given (possibly empty) */
    session_tribool require_id_number, require_live_capture, require_matching_selfie;
} session_document_options;

/* --- verified outputs and lifecycle --- */
/* The `address` schema; present == 0 renders null. */
typedef struct session_address {
    int present;
    const char *city, *country, *line1, *line2, *postal_code, *state;
} session_address;

/* A {day, month, year} date; present == 0 renders null. */
typedef struct session_date {
    int present;
    int64_t day, month, year;
} session_date;

/* gelato_verified_outputs (CONTRACT.md §6): filled once the session is verified. */
typedef struct session_verified_outputs {
    int present;
    session_address address;
    session_date dob;
    const char *email, *first_name, *id_number, *id_number_type, *last_name, *phone, *sex;
    const char *unparsed_place_of_birth, *unparsed_sex;
} session_verified_outputs;

/* A delayed outcome of the hosted page: the session stays processing until due_ms. */
typedef enum {
    SESSION_PENDING_NONE,
    SESSION_PENDING_VERIFY,
    SESSION_PENDING_REQUIRE_INPUT
} session_pending;

typedef struct session {
    char id[SESSION_ID_MAX];
    const char *account; /* owning account (derived from the API key); not rendered */
    int64_t created;
    int livemode;
    session_status status;
    session_type type;
    const char *client_reference_id;
    /* The client_secret is "<id>_secret_<secret_token>"; url is "<public>/start/<url_token>".
     * Both NULL outside requires_input. secret_issued: when the pair was issued. */
    const char *secret_token;
    const char *url_token;
    int64_t secret_issued;
    int has_last_error;
    const char *last_error_code;
    const char *last_error_reason;
    const char *last_verification_report;
    metadata_kv *metadata;
    size_t n_metadata;
    session_document_options doc;
    const char *provided_email;
    const char *provided_phone;
    session_redaction redaction;
    int64_t redaction_due; /* unix ms at which a processing redaction completes */
    const char *related_customer;
    const char *related_customer_account;
    const char *related_person_account; /* both set or both NULL */
    const char *related_person_person;
    const char *verification_flow;
    const char *return_url; /* not rendered (CONTRACT.md §3: not a field on the object) */
    session_verified_outputs outputs; /* rendered only when expanded */
    session_pending pending;          /* a delayed outcome waiting for pending_due (unix ms) */
    const char *pending_code;         /* its last_error code when it is a failure */
    int64_t pending_due;
} session;

const char *session_status_name(session_status s);
const char *session_type_name(session_type t);
int session_status_parse(const char *s, session_status *out); /* 0 or -1 */

/* Serialise to / parse from the stored record. decode returns 0, or -1 if the record is
 * corrupt; strings point into the arena. */
void session_encode(const session *s, buf *out);
int session_decode(arena *a, const void *data, size_t len, session *s);

/* State rules (CONTRACT.md §3 "update", "cancel", "redact"; §11 "Sessions").
 * session_check returns SESSION_ALLOWED, SESSION_NOTHING_TO_DO (redact of a session whose redaction
 * is already processing or done: answered unchanged, no event), SESSION_WRONG_STATE (the
 * wrong-state 400; the statuses the action is allowed in go to *allowed for the message) or
 * SESSION_REDACTED (update of a redacted session). */
typedef enum {
    SESSION_UPDATE,
    SESSION_UPDATE_METADATA_ONLY,
    SESSION_CANCEL,
    SESSION_REDACT
} session_action;
enum {
    SESSION_ALLOWED = 0,
    SESSION_NOTHING_TO_DO = 1,
    SESSION_WRONG_STATE = -1,
    SESSION_REDACTED = -2
};
int session_check(const session *s, session_action action, const char **allowed);

/* Give s a fresh client_secret / url pair (CONTRACT.md §11: at create, and after a failed
 * attempt or expiry). The url token starts with IDS_TIME_CHARS characters of time so the
 * store's index of tokens grows at its end; the rest (32 characters) is the secret. The
 * client_secret's token is the url token and 24 more random characters (session.c says why).
 * Strings are allocated in a. */
void session_issue_secrets(session *s, arena *a);

/* Erase the personal data of s in place (CONTRACT.md §11 "Redacted values keep the spec's
 * types"): personal strings become "[redacted]" (verified outputs included; their dob and
 * id_number_type become null), metadata is emptied. Pointers it sets are static strings.
 * Status and redaction state are left to the caller. */
void session_redact(session *s);

/* Rendering options. */
typedef struct session_render_opts {
    const char *public_url; /* base of url, no trailing slash */
    int expand_verified_outputs;
    int expand_last_verification_report;
    int show_outputs_dob;       /* expand[]=verified_outputs.dob with a restricted key */
    int show_outputs_id_number; /* expand[]=verified_outputs.id_number with a restricted key */
    /* Writes the expanded last_verification_report of s (one JSON value); NULL renders the ID. */
    void (*render_report)(void *ctx, const session *s, json_writer *w);
    void *render_report_ctx;
} session_render_opts;
void session_render(const session *s, const session_render_opts *o, json_writer *w);

/* Render an address / a date value (null when absent); shared with report.c. */
void session_render_address(const session_address *a, json_writer *w);
void session_render_date(const session_date *d, json_writer *w);

#endif
