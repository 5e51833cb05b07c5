/*
 * json: a small streaming JSON writer. It appends to a buf; commas and nesting are tracked for
 * the caller, so code reads like the object it emits:
 *
 *   json_obj_begin(w); json_key(w, "id"); json_str(w, id); json_obj_end(w);
 *
 * Strings are escaped per RFC 8259 (quote, backslash, control characters); valid UTF-8 is copied
 * as-is and any invalid byte becomes U+FFFD, so the output is always valid JSON in valid UTF-8.
 * It is not a parser (the unit tests read JSON with jansson) and it does not check that the
 * calls are balanced beyond JSON_MAX_DEPTH (deeper nesting aborts: it is a programming error).
 */
#ifndef VERIFYD_JSON_H
#define VERIFYD_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

#define JSON_MAX_DEPTH 32

typedef struct json_writer {
    buf *out;
    int depth;
    unsigned char need_comma[JSON_MAX_DEPTH + 1];
    unsigned char after_key;
    int pretty; /* 1: two-space indentation as Stripe's API prints it */
} json_writer;

void json_init(json_writer *w, buf *out, int pretty);
void json_obj_begin(json_writer *w);
void json_obj_end(json_writer *w);
void json_arr_begin(json_writer *w);
void json_arr_end(json_writer *w);
void json_key(json_writer *w, const char *key);
void json_str(json_writer *w, const char *s); /* NULL writes null */
void json_strn(json_writer *w, const char *s, size_t n);
void json_int(json_writer *w, int64_t v);
void json_bool(json_writer *w, int v);
void json_null(json_writer *w);
/* A value that is already encoded JSON (e.g. a stored object), copied verbatim. */
void json_raw(json_writer *w, const char *s, size_t n);

/* key + value in one call. */
void json_kstr(json_writer *w, const char *key, const char *s);
void json_kint(json_writer *w, const char *key, int64_t v);
void json_kbool(json_writer *w, const char *key, int v);
void json_knull(json_writer *w, const char *key);

#endif
