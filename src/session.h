/*
 * session: the identity.verification_session resource itself: its in-memory form, the compact
 * record it is stored as, its state rules, and how it renders as JSON. CONTRACT.md §2-4, §11.
 *
 * Not for: HTTP parameter handling (sessions_api.c) or storage (store.h). A vs_session's strings
 * are borrowed (arena or static); nothing in this module frees them.
 */
#ifndef VERIFYD_SESSION_H
#define VERIFYD_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "json.h"

typedef enum { VS_REQUIRES_INPUT, VS_PROCESSING, VS_VERIFIED, VS_CANCELED } vs_status;
typedef enum { VS_TYPE_DOCUMENT, VS_TYPE_ID_NUMBER, VS_TYPE_VERIFICATION_FLOW } vs_type;
typedef enum { VS_REDACTION_NONE, VS_REDACTION_PROCESSING, VS_REDACTION_REDACTED } vs_redaction;

#define VS_ID_MAX 64
/* Longest rendered client_secret or url; config limits --public-url so both fit. */
#define VS_URL_MAX 512
#define VS_PUBLIC_URL_MAX 400

typedef struct vs_kv {
    const char *key;
    const char *value;
} vs_kv;

/* A tri-state boolean option: unset, false, true. */
typedef enum { VS_UNSET = -1, VS_FALSE = 0, VS_TRUE = 1 } vs_tribool;

typedef struct vs_document_options {
    int present; /* options.document was set (possibly to {}) */
    const char **allowed_types;
    size_t n_allowed_types;
    int has_allowed_types; /* allowed_types was given (possibly empty) */
    vs_tribool require_id_number, require_live_capture, require_matching_selfie;
} vs_document_options;

/* --- verified outputs and lifecycle --- */
/* The `address` schema; present == 0 renders null. */
typedef struct vs_address {
    int present;
    const char *city, *country, *line1, *line2, *postal_code, *state;
} vs_address;

/* A {day, month, year} date; present == 0 renders null. */
typedef struct vs_date {
    int present;
    int64_t day, month, year;
} vs_date;

/* gelato_verified_outputs (CONTRACT.md §6): filled once the session is verified. */
typedef struct vs_verified_outputs {
    int present;
    vs_address address;
    vs_date dob;
    const char *email, *first_name, *id_number, *id_number_type, *last_name, *phone, *sex;
    const char *unparsed_place_of_birth, *unparsed_sex;
} vs_verified_outputs;

/* A delayed outcome of the hosted page: the session stays processing until due_ms. */
typedef enum { VS_PENDING_NONE, VS_PENDING_VERIFY, VS_PENDING_REQUIRE_INPUT } vs_pending;

typedef struct vs_session {
    char id[VS_ID_MAX];
    const char *account; /* owning account (derived from the API key); not rendered */
    int64_t created;
    int livemode;
    vs_status status;
    vs_type type;
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
    vs_kv *metadata;
    size_t n_metadata;
    vs_document_options doc;
    const char *provided_email;
    const char *provided_phone;
    vs_redaction redaction;
    int64_t redaction_due; /* unix ms at which a processing redaction completes */
    const char *related_customer;
    const char *related_customer_account;
    const char *related_person_account; /* both set or both NULL */
    const char *related_person_person;
    const char *verification_flow;
    const char *return_url;      /* not rendered (CONTRACT.md §3: not a field on the object) */
    vs_verified_outputs outputs; /* rendered only when expanded */
    vs_pending pending;          /* a delayed outcome waiting for pending_due (unix ms) */
    const char *pending_code;    /* its last_error code when it is a failure */
    int64_t pending_due;
} vs_session;

const char *vs_status_name(vs_status s);
const char *vs_type_name(vs_type t);
int vs_status_parse(const char *s, vs_status *out); /* 0 or -1 */

/* Serialise to / parse from the stored record. decode returns 0, or -1 if the record is
 * corrupt; strings point into the arena. */
void vs_encode(const vs_session *s, buf *out);
int vs_decode(arena *a, const void *data, size_t len, vs_session *s);

/* State rules (CONTRACT.md §3 "update", "cancel", "redact"; §11 "Sessions").
 * vs_check returns VS_ALLOWED, VS_NOTHING_TO_DO (redact of a session whose redaction is already
 * processing or done: answered unchanged, no event), VS_WRONG_STATE (the wrong-state 400; the
 * statuses the action is allowed in go to *allowed for the message) or VS_REDACTED (update of a
 * redacted session). */
typedef enum { VS_UPDATE, VS_UPDATE_METADATA_ONLY, VS_CANCEL, VS_REDACT } vs_action;
enum { VS_ALLOWED = 0, VS_NOTHING_TO_DO = 1, VS_WRONG_STATE = -1, VS_REDACTED = -2 };
int vs_check(const vs_session *s, vs_action action, const char **allowed);

/* Give s a fresh client_secret / url pair (CONTRACT.md §11: at create, and after a failed
 * attempt or expiry). The url token starts with IDS_TIME_CHARS characters of time so the
 * store's index of tokens grows at its end; the rest (32 characters) is the secret. Strings are
 * allocated in a. */
void vs_issue_secrets(vs_session *s, arena *a);

/* Erase the personal data of s in place (CONTRACT.md §11 "Redacted values keep the spec's
 * types"): personal strings become "[redacted]" (verified outputs included; their dob and
 * id_number_type become null), metadata is emptied. Pointers it sets are static strings.
 * Status and redaction state are left to the caller. */
void vs_redact(vs_session *s);

/* Rendering options. */
typedef struct vs_render_opts {
    const char *public_url; /* base of url, no trailing slash */
    int expand_verified_outputs;
    int expand_last_verification_report;
    int show_outputs_dob;       /* expand[]=verified_outputs.dob with a restricted key */
    int show_outputs_id_number; /* expand[]=verified_outputs.id_number with a restricted key */
    /* Writes the expanded last_verification_report of s (one JSON value); NULL renders the ID. */
    void (*render_report)(void *ctx, const vs_session *s, json_writer *w);
    void *render_report_ctx;
} vs_render_opts;
void vs_render(const vs_session *s, const vs_render_opts *o, json_writer *w);

/* Render an address / a date value (null when absent); shared with report.c. */
void vs_render_address(const vs_address *a, json_writer *w);
void vs_render_date(const vs_date *d, json_writer *w);

#endif
