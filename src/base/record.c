/*
 * record: writer and bounds-checked reader of the tagged binary record (record.h). Lengths and
 * integers are assembled byte by byte, so the format is little-endian on every host.
 */
#include "base/record.h"

#include <string.h>

#define HEADER_LEN 5 /* tag byte + 4-byte length */

void record_begin(buf *out, unsigned char version)
{
    buf_append(out, &version, 1);
}

void record_put(buf *out, int tag, const void *p, size_t n)
{
    unsigned char hdr[HEADER_LEN];
    hdr[0] = (unsigned char)tag;
    for (int i = 0; i < 4; i++)
        hdr[1 + i] = (unsigned char)(n >> (8 * i));
    buf_append(out, hdr, sizeof hdr);
    buf_append(out, p, n);
}

void record_put_str(buf *out, int tag, const char *s)
{
    if (s) record_put(out, tag, s, strlen(s));
}

void record_put_i64(buf *out, int tag, int64_t v)
{
    unsigned char b[8];
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(u >> (8 * i));
    record_put(out, tag, b, sizeof b);
}

int record_open(record_reader *r, const void *data, size_t len, unsigned char version)
{
    const unsigned char *bytes = data;
    if (len < 1 || bytes[0] != version) return -1;
    r->first = r->p = bytes + 1;
    r->end = bytes + len;
    return 0;
}

void record_rewind(record_reader *r)
{
    r->p = r->first;
}

int record_next(record_reader *r, record_field *f)
{
    if (r->p == r->end) return 0;
    if (r->end - r->p < HEADER_LEN) return -1;
    size_t len = 0;
    for (int i = 0; i < 4; i++)
        len |= (size_t)r->p[1 + i] << (8 * i);
    /* The length is checked against what is left before anything is read. */
    if ((size_t)(r->end - r->p - HEADER_LEN) < len) return -1;
    f->tag = r->p[0];
    f->data = r->p + HEADER_LEN;
    f->len = len;
    r->p += HEADER_LEN + len;
    return 1;
}

int record_i64(const record_field *f, int64_t *v)
{
    uint64_t u = 0;
    *v = 0;
    if (f->len != 8) return -1;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)f->data[i] << (8 * i);
    *v = (int64_t)u;
    return 0;
}

const char *record_str(const record_field *f, arena *a)
{
    return arena_strndup(a, (const char *)f->data, f->len);
}

int record_copy(const record_field *f, char *dst, size_t size)
{
    if (f->len >= size) return -1;
    memcpy(dst, f->data, f->len);
    dst[f->len] = '\0';
    return 0;
}
