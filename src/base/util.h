/*
 * util: the process-wide out-of-memory policy, clocks, and constant-time comparison.
 *
 * Allocation failure is not an error verifyd answers: it aborts with file and line (STYLE.md §4).
 * Sizes that come from outside are bounded by their callers before they reach these functions.
 */
#ifndef VERIFYD_UTIL_H
#define VERIFYD_UTIL_H

#include <stddef.h>
#include <stdint.h>

void *util__xmalloc(size_t n, const char *file, int line);
void *util__xcalloc(size_t n, size_t size, const char *file, int line);
void *util__xrealloc(void *p, size_t n, const char *file, int line);
char *util__xstrdup(const char *s, const char *file, int line);

/* Allocate or die: never return NULL. Free with free(). */
#define xmalloc(n) util__xmalloc((n), __FILE__, __LINE__)
#define xcalloc(n, s) util__xcalloc((n), (s), __FILE__, __LINE__)
#define xrealloc(p, n) util__xrealloc((p), (n), __FILE__, __LINE__)
#define xstrdup(s) util__xstrdup((s), __FILE__, __LINE__)

/* Real time, Unix time in seconds / milliseconds: what background workers compare stored due
 * times with. What belongs to an account (`created`, expiry, due times in records) reads that
 * account's clock instead (identity/account_clock.h), which a test may have moved ahead. */
int64_t util_now(void);
int64_t util_now_ms(void);
/* For unit tests only (the server never calls it): pretend that ms more of real time has passed
 * (ignored unless ms > 0), for every reader of util_now at once. Any thread. Whoever sleeps until
 * a due time must be woken by the caller. */
void util_clock_advance(int64_t ms);
/* Monotonic time in microseconds, for measuring durations. */
int64_t util_mono_us(void);

/* 1 when the n bytes at a and b are equal, 0 otherwise; time depends only on n. */
int util_ct_equal(const void *a, const void *b, size_t n);

/* SHA-256 of data[0..n) into out (32 bytes). The digest is fetched from OpenSSL once and each
 * thread reuses one context, so this is cheap enough for every request. Aborts if OpenSSL
 * fails. */
#define UTIL_SHA256_LEN 32
void util_sha256(const void *data, size_t n, unsigned char out[UTIL_SHA256_LEN]);
/* Lowercase hex of p[0..n) into out (2n characters and a NUL). */
void util_hex(const unsigned char *p, size_t n, char *out);

/* Length of the well-formed UTF-8 sequence that starts at p (whose first byte is >= 0x80),
 * with avail bytes left; 0 when no well-formed sequence starts there (Unicode table 3-7: no
 * overlongs, no surrogates, nothing above U+10FFFF, no truncation). */
size_t util_utf8_seq(const unsigned char *p, size_t avail);

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). */
int util_utf8_valid(const char *s, size_t n);

#endif
