/*
 * record: the compact binary format sessions and reports are stored in (session.c, report.c).
 * A record is a version byte followed by fields: a tag (1 byte), a length (4 bytes
 * little-endian) and that many bytes. Integers are 8 bytes little-endian, two's complement.
 * The writer appends to a buf; the reader walks the fields with every length checked against
 * the end of the record, so a short or corrupt record is refused, never read past.
 *
 * Not for: what the tags mean and which are required (the resource that owns the record), or
 * where records are kept (store.h). The format is what existing databases hold: never change it.
 */
#ifndef VERIFYD_RECORD_H
#define VERIFYD_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

/* ---- writing: each call appends to out (a buf grows or dies, so these cannot fail) ---- */

/* Start a record: its version byte. */
void record_begin(buf *out, unsigned char version);
/* A field of n bytes from p. Tags are 0..255; n must fit in 32 bits. */
void record_put(buf *out, int tag, const void *p, size_t n);
/* A string field without its NUL; NULL writes nothing (an absent field). */
void record_put_str(buf *out, int tag, const char *s);
/* An integer field (8 bytes). */
void record_put_i64(buf *out, int tag, int64_t v);

/* ---- reading: the reader borrows data, which must outlive it ---- */

typedef struct record_reader {
    const unsigned char *first; /* the first field, after the version byte */
    const unsigned char *p, *end;
} record_reader;

typedef struct record_field {
    int tag;
    const unsigned char *data; /* len bytes inside the record; not NUL-terminated */
    size_t len;
} record_field;

/* Start reading data[0..len). Returns 0, or -1 when the record is empty or its version byte is
 * not version. */
int record_open(record_reader *r, const void *data, size_t len, unsigned char version);
/* Go back to the first field, for a second pass. */
void record_rewind(record_reader *r);
/* Read the next field into *f. Returns 1, 0 at the clean end of the record, or -1 when a field
 * header or its bytes run past the end (a short or corrupt record; *f is then unset). */
int record_next(record_reader *r, record_field *f);

/* f as an integer: 0 and *v, or -1 with *v = 0 when f is not 8 bytes long. */
int record_i64(const record_field *f, int64_t *v);
/* f as a NUL-terminated string allocated in a. */
const char *record_str(const record_field *f, arena *a);
/* f as a NUL-terminated string in dst[size]: 0, or -1 (dst untouched) when it does not fit. */
int record_copy(const record_field *f, char *dst, size_t size);

#endif
