/*
 * ids: random identifiers and tokens from OpenSSL's CSPRNG (RAND_bytes), in base62.
 *
 * Each character is drawn by rejection sampling, so every one of the 62 symbols is equally
 * likely. Used for object IDs (vs_, evt_, vr_, we_, req_), client secrets, hosted-page tokens
 * and webhook secrets.
 */
#ifndef VERIFYD_IDS_H
#define VERIFYD_IDS_H

#include <stddef.h>

/* Write prefix followed by n random base62 characters and a NUL into out (out_size must be at
 * least strlen(prefix) + n + 1). Aborts if the RNG fails: no ID is better than a guessable one. */
void ids_random(char *out, size_t out_size, const char *prefix, size_t n);

/* Like ids_random, but the first IDS_TIME_CHARS characters encode the current time in
 * milliseconds (base62, fixed width), so IDs made later sort later, as Stripe's own IDs do. The
 * rest is random. Storage indexes on such IDs grow at their end instead of at random places. */
void ids_time_ordered(char *out, size_t out_size, const char *prefix, size_t n);
#define IDS_TIME_CHARS 8

/* Object ID lengths after the prefix. */
#define IDS_OBJECT_LEN 24

#endif
