/*
 * json: the streaming writer declared in json.h, on the hot path of every response.
 *
 * It writes straight into the buf's storage: one capacity check per token, plain ASCII copied in
 * runs with memcpy, and the NUL terminator put back once at the end of each call. It only writes;
 * it keeps no tree and does not check that keys and values alternate correctly (the caller's code
 * has the shape of the object it emits). Unbalanced or too deep nesting aborts.
 */
#include "base/json.h"

#include "base/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Byte classes for strings: 0 copied as is, 1 escaped, 2 first byte of a multi-byte sequence
 * (or an invalid byte). */
enum { C_PLAIN = 0, C_ESC = 1, C_HIGH = 2 };

/* clang-format off */
static const unsigned char byte_class[256] = {
    /* 0x00..0x1f: control characters */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 0x20..0x7f: '"' and '\\' escaped */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x80..0xff */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};
/* clang-format on */

/* Two spaces per level, enough for JSON_MAX_DEPTH levels. */
static const char spaces[] = "                                                                ";
_Static_assert(sizeof spaces - 1 == 2 * JSON_MAX_DEPTH, "one indent unit per nesting level");

static _Noreturn void misuse(const char *what)
{
    fprintf(stderr, "verifyd: json writer misuse: %s\n", what);
    abort();
}

/* Room for n more bytes plus the NUL; a compare in the common case. */
static inline void room(buf *b, size_t n)
{
    if (b->len + n + 1 > b->cap) buf_reserve(b, n);
}

/* Appends without terminating: every public function ends with terminate(). */
static inline void put(buf *b, const char *p, size_t n)
{
    room(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void terminate(buf *b)
{
    b->data[b->len] = '\0';
}

static void newline_indent(buf *b, int depth)
{
    size_t n = 2 * (size_t)depth;
    room(b, n + 1);
    b->data[b->len++] = '\n';
    memcpy(b->data + b->len, spaces, n);
    b->len += n;
}

/* Separator and indentation before a value or a key; nothing between a key and its value. */
static inline void before_value(json_writer *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->need_comma[w->depth]) {
        room(w->out, 1);
        w->out->data[w->out->len++] = ',';
    }
    w->need_comma[w->depth] = 1;
    if (w->pretty && w->depth > 0) newline_indent(w->out, w->depth);
}

/* "s" with RFC 8259 escaping; invalid UTF-8 bytes each become U+FFFD. */
static void write_string(buf *b, const char *str, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    /* Enough for the common case of nothing to escape; escapes reserve what they add. */
    room(b, n + 2);
    b->data[b->len++] = '"';
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && byte_class[s[i]] == C_PLAIN)
            i++;
        if (i > start) {
            memcpy(b->data + b->len, s + start, i - start);
            b->len += i - start;
        }
        if (i == n) break;
        unsigned char c = s[i];
        if (byte_class[c] == C_HIGH) {
            size_t k = util_utf8_seq(s + i, n - i);
            if (k > 0) {
                memcpy(b->data + b->len, s + i, k);
                b->len += k;
                i += k;
            } else {
                room(b, 3 + (n - i) + 1);
                memcpy(b->data + b->len, "\xEF\xBF\xBD", 3);
                b->len += 3;
                i++;
            }
            continue;
        }
        room(b, 6 + (n - i) + 1);
        char *d = b->data + b->len;
        char e = 0;
        switch (c) {
        case '"':
            e = '"';
            break;
        case '\\':
            e = '\\';
            break;
        case '\b':
            e = 'b';
            break;
        case '\f':
            e = 'f';
            break;
        case '\n':
            e = 'n';
            break;
        case '\r':
            e = 'r';
            break;
        case '\t':
            e = 't';
            break;
        }
        if (e != 0) {
            d[0] = '\\';
            d[1] = e;
            b->len += 2;
        } else {
            memcpy(d, "\\u00", 4);
            d[4] = hex[c >> 4];
            d[5] = hex[c & 0xF];
            b->len += 6;
        }
        i++;
    }
    room(b, 1);
    b->data[b->len++] = '"';
}

void json_init(json_writer *w, buf *out, int pretty)
{
    w->out = out;
    w->depth = 0;
    w->need_comma[0] = 0;
    w->after_key = 0;
    w->pretty = pretty;
}

static void nest_open(json_writer *w, char c)
{
    before_value(w);
    if (w->depth >= JSON_MAX_DEPTH) misuse("nesting deeper than JSON_MAX_DEPTH");
    put(w->out, &c, 1);
    w->depth++;
    w->need_comma[w->depth] = 0;
    terminate(w->out);
}

static void nest_close(json_writer *w, char c)
{
    if (w->depth <= 0 || w->after_key) misuse("close without matching open, or after a key");
    int had_members = w->need_comma[w->depth];
    w->depth--;
    if (w->pretty && had_members) newline_indent(w->out, w->depth);
    put(w->out, &c, 1);
    terminate(w->out);
}

void json_obj_begin(json_writer *w)
{
    nest_open(w, '{');
}

void json_obj_end(json_writer *w)
{
    nest_close(w, '}');
}

void json_arr_begin(json_writer *w)
{
    nest_open(w, '[');
}

void json_arr_end(json_writer *w)
{
    nest_close(w, ']');
}

void json_key(json_writer *w, const char *key)
{
    if (w->after_key) misuse("two keys in a row");
    before_value(w);
    write_string(w->out, key, strlen(key));
    if (w->pretty)
        put(w->out, ": ", 2);
    else
        put(w->out, ":", 1);
    terminate(w->out);
    w->after_key = 1;
}

void json_strn(json_writer *w, const char *s, size_t n)
{
    before_value(w);
    write_string(w->out, s, n);
    terminate(w->out);
}

void json_str(json_writer *w, const char *s)
{
    if (s == NULL) {
        json_null(w);
        return;
    }
    json_strn(w, s, strlen(s));
}

void json_int(json_writer *w, int64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof tmp;
    char *p = end;
    /* Negate in unsigned arithmetic so INT64_MIN does not overflow. */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) *--p = '-';
    before_value(w);
    put(w->out, p, (size_t)(end - p));
    terminate(w->out);
}

void json_bool(json_writer *w, int v)
{
    before_value(w);
    if (v)
        put(w->out, "true", 4);
    else
        put(w->out, "false", 5);
    terminate(w->out);
}

void json_null(json_writer *w)
{
    before_value(w);
    put(w->out, "null", 4);
    terminate(w->out);
}

void json_raw(json_writer *w, const char *s, size_t n)
{
    before_value(w);
    put(w->out, s, n);
    terminate(w->out);
}

void json_kstr(json_writer *w, const char *key, const char *s)
{
    json_key(w, key);
    json_str(w, s);
}

void json_kint(json_writer *w, const char *key, int64_t v)
{
    json_key(w, key);
    json_int(w, v);
}

void json_kbool(json_writer *w, const char *key, int v)
{
    json_key(w, key);
    json_bool(w, v);
}

void json_knull(json_writer *w, const char *key)
{
    json_key(w, key);
    json_null(w);
}
