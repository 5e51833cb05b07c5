/*
 * webhook_sign: computes Stripe-Signature values (see webhook_sign.h) with OpenSSL's one-shot
 * HMAC over "<t>." followed by the body.
 *
 * Not for: verifying signatures (verifyd only sends webhooks) or key management.
 */
#include "identity/webhook_sign.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

int webhook_sign(const char *secret, int64_t t, const char *body, size_t len, char *out,
                 size_t out_size)
{
    int rc = -1;
    char prefix[32];
    int plen = snprintf(prefix, sizeof prefix, "%" PRId64 ".", t);
    unsigned char *msg = xmalloc((size_t)plen + len + 1);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;

    if (out_size > 0) out[0] = '\0';
    if (out_size < WEBHOOK_SIG_MAX) goto done;
    memcpy(msg, prefix, (size_t)plen);
    if (len > 0) memcpy(msg + plen, body, len);
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, (size_t)plen + len, mac, &maclen) ==
        NULL)
        goto done;
    int n = snprintf(out, out_size, "t=%" PRId64 ",v1=", t);
    for (unsigned i = 0; i < maclen; i++)
        n += snprintf(out + n, out_size - (size_t)n, "%02x", mac[i]);
    rc = 0;
done:
    free(msg);
    return rc;
}
