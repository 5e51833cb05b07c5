/*
 * ids: random base62 identifiers (object IDs, client secrets, tokens) from OpenSSL's CSPRNG.
 *
 * Random bytes are fetched 64 at a time and mapped to characters by rejection sampling: a byte
 * is used only when it is below 248 (the largest multiple of 62 that fits in a byte), so each
 * symbol has probability exactly 1/62. It is not for anything that must be reproducible or
 * ordered; IDs carry no timestamp.
 */
#include "ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#define IDS_BATCH 64
#define IDS_ACCEPT_BELOW 248 /* 4 * 62 */

static _Noreturn void die(const char *why)
{
    fprintf(stderr, "verifyd: ids_random: %s\n", why);
    abort();
}

void ids_random(char *out, size_t out_size, const char *prefix, size_t n)
{
    size_t plen = strlen(prefix);
    if (n > SIZE_MAX - plen - 1 || out_size < plen + n + 1) die("output buffer too small");
    memcpy(out, prefix, plen);
    char *p = out + plen;

    unsigned char pool[IDS_BATCH];
    size_t avail = 0, pos = 0;
    for (size_t i = 0; i < n;) {
        if (pos == avail) {
            if (RAND_bytes(pool, IDS_BATCH) != 1) die("RAND_bytes failed");
            avail = IDS_BATCH;
            pos = 0;
        }
        unsigned char r = pool[pos++];
        if (r < IDS_ACCEPT_BELOW) p[i++] = alphabet[r % 62];
    }
    p[n] = '\0';
    /* The pool held secret material (client secrets are drawn from it). */
    OPENSSL_cleanse(pool, sizeof pool);
}
