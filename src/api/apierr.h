/*
 * apierr: the Stripe error object (CONTRACT.md §1 "Error body", §11 "Errors") as a value that
 * validators and handlers fill in and the API layer renders.
 *
 * All strings are borrowed: string literals, or memory from the request's arena.
 */
#ifndef VERIFYD_APIERR_H
#define VERIFYD_APIERR_H

#include "base/arena.h"
#include "base/json.h"

typedef struct apierr {
    int status;          /* HTTP status, 0 = no error */
    const char *type;    /* invalid_request_error, idempotency_error, api_error */
    const char *code;    /* may be NULL */
    const char *param;   /* bracket form, may be NULL */
    const char *message; /* never NULL once set */
    int bare;            /* render only message and type (set after apierr_set) */
} apierr;

/* Fill *e and return -1, so validators can `return apierr_set(...)`. message is printf-style,
 * formatted into the arena. */
int apierr_set(apierr *e, arena *a, int status, const char *type, const char *code,
               const char *param, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* Shorthands for the common 400 invalid_request_error. */
int apierr_invalid(apierr *e, arena *a, const char *code, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Writes {"error":{...}} with doc_url (for a code, else the codes list) and request_log_url;
 * a bare error has only message and type. */
void apierr_render(const apierr *e, const char *request_id, json_writer *w);

#endif
