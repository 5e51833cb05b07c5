/*
 * ids: random base62 identifiers (object IDs, client secrets, tokens) from OpenSSL's CSPRNG.
 *
 * Random bytes are fetched in per-thread pools and mapped to characters by rejection sampling: a
 * byte is used only when it is below 248 (the largest multiple of 62 that fits in a byte), so each
 * symbol has probability exactly 1/62. It is not for anything that must be reproducible or
 * ordered; IDs carry no timestamp.
 */
#include "base/ids.h"

#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "base/util.h"

static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#define IDS_POOL 1024
#define IDS_ACCEPT_BELOW 248 /* 4 * 62 */

static _Noreturn void die(const char *why)
{
    fprintf(stderr, "verifyd: ids_random: %s\n", why);
    abort();
}

/* Each thread draws from its own pool, refilled by one RAND_bytes call per IDS_POOL bytes (one
 * call per request was measurable on the request path). Every byte is wiped as it is used, so
 * what stays in memory is only what no ID has been made of yet. */
static _Thread_local unsigned char pool[IDS_POOL];
static _Thread_local size_t pool_pos = IDS_POOL;

void ids_random(char *out, size_t out_size, const char *prefix, size_t n)
{
    size_t plen = strlen(prefix);
    if (n > SIZE_MAX - plen - 1 || out_size < plen + n + 1) die("output buffer too small");
    memcpy(out, prefix, plen);
    char *p = out + plen;

    for (size_t i = 0; i < n;) {
        if (pool_pos == IDS_POOL) {
            if (RAND_bytes(pool, IDS_POOL) != 1) die("RAND_bytes failed");
            pool_pos = 0;
        }
        unsigned char r = pool[pool_pos];
        pool[pool_pos++] = 0;
        if (r < IDS_ACCEPT_BELOW) p[i++] = alphabet[r % 62];
    }
    p[n] = '\0';
}

void ids_time_ordered(char *out, size_t out_size, const char *prefix, size_t n)
{
    if (n <= IDS_TIME_CHARS) die("time-ordered IDs need room for random characters");
    ids_random(out, out_size, prefix, n);
    /* 62^8 ms is about 6,900 years: the width never overflows. */
    uint64_t t = (uint64_t)util_now_ms();
    char *p = out + strlen(prefix);
    for (int i = IDS_TIME_CHARS - 1; i >= 0; i--) {
        p[i] = alphabet[t % 62];
        t /= 62;
    }
}
