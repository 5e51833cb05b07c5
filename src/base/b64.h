/*
 * b64: standard base64 (RFC 4648 §4, with padding), for carrying stored records as JSON strings
 * (the test control plane's export and import, CONTRACT.md §11).
 *
 * Not for: URL-safe ids or tokens (ids.h), or hex (util_hex).
 */
#ifndef VERIFYD_B64_H
#define VERIFYD_B64_H

#include <stddef.h>

#include "base/arena.h"

/* The base64 of p[0..n) as a NUL-terminated string in a (n == 0: ""). Never fails. */
const char *b64_encode(arena *a, const void *p, size_t n);
/* Decode s[0..len) into *out (len bytes or fewer, in a) and *out_len. 0, or -1 when s is not
 * padded base64 (its length not a multiple of 4, a character outside the alphabet, padding
 * anywhere but at the end); *out is then untouched. */
int b64_decode(arena *a, const char *s, size_t len, const void **out, size_t *out_len);

#endif
