/*
 * apierr: filling in and rendering the Stripe error object (CONTRACT.md §1 "Error body", §11).
 *
 * It only formats: choosing the status, type, code and wording is the caller's job. The object
 * is written with Stripe's field order (alphabetical) and absent fields are left out, never
 * written as null, since the spec marks none of them nullable.
 */
#include "api/apierr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOC_URL_BASE "https://stripe.com/docs/error-codes/"
#define LOG_URL_BASE "https://dashboard.stripe.com/test/logs/"

static char *vformat(arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int len = vsnprintf(NULL, 0, fmt, ap);
    if (len < 0) {
        va_end(ap2);
        return arena_strdup(a, fmt);
    }
    char *s = arena_alloc(a, (size_t)len + 1);
    vsnprintf(s, (size_t)len + 1, fmt, ap2);
    va_end(ap2);
    return s;
}

int apierr_set(apierr *e, arena *a, int status, const char *type, const char *code,
               const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    e->message = vformat(a, fmt, ap);
    va_end(ap);
    e->status = status;
    e->type = type;
    e->code = code;
    e->param = param;
    e->bare = 0;
    return -1;
}

int apierr_invalid(apierr *e, arena *a, const char *code, const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    e->message = vformat(a, fmt, ap);
    va_end(ap);
    e->status = 400;
    e->type = "invalid_request_error";
    e->bare = 0;
    e->code = code;
    e->param = param;
    return -1;
}

void apierr_render(const apierr *e, const char *request_id, json_writer *w)
{
    json_obj_begin(w);
    json_key(w, "error");
    json_obj_begin(w);
    if (e->bare) {
        /* Stripe: CONTRACT.md §11, an unknown route's 404 has only message and type. */
        json_kstr(w, "message", e->message != NULL ? e->message : "");
        json_kstr(w, "type", e->type != NULL ? e->type : "api_error");
        json_obj_end(w);
        json_obj_end(w);
        return;
    }
    if (e->code != NULL) {
        json_kstr(w, "code", e->code);
        /* Stripe: CONTRACT.md §1, doc_url is the code with '_' turned into '-'. Codes and request
         * IDs are short strings of our own; 256 bytes is ample, and longer ones get truncated
         * rather than overflowing. */
        char url[256];
        size_t base = sizeof DOC_URL_BASE - 1;
        size_t clen = strlen(e->code);
        if (clen > sizeof url - base - 1) clen = sizeof url - base - 1;
        memcpy(url, DOC_URL_BASE, base);
        for (size_t i = 0; i < clen; i++)
            url[base + i] = e->code[i] == '_' ? '-' : e->code[i];
        json_key(w, "doc_url");
        json_strn(w, url, base + clen);
    } else {
        /* CONTRACT.md §11: every error carries doc_url; without a code it is the codes list. */
        json_key(w, "doc_url");
        json_strn(w, DOC_URL_BASE, sizeof DOC_URL_BASE - 2);
    }
    json_kstr(w, "message", e->message != NULL ? e->message : "");
    if (e->param != NULL) json_kstr(w, "param", e->param);
    if (request_id != NULL) {
        char url[256];
        int n = snprintf(url, sizeof url, LOG_URL_BASE "%s", request_id);
        if (n < 0) n = 0;
        if ((size_t)n >= sizeof url) n = (int)sizeof url - 1;
        json_key(w, "request_log_url");
        json_strn(w, url, (size_t)n);
    }
    json_kstr(w, "type", e->type != NULL ? e->type : "api_error");
    json_obj_end(w);
    json_obj_end(w);
}
