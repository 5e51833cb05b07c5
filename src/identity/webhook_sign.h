/*
 * webhook_sign: the Stripe-Signature header of a webhook delivery (CONTRACT.md §8 "Signature"):
 * "t=<unix seconds>,v1=<lowercase hex HMAC-SHA256 of "<t>.<body>", keyed with the endpoint's
 * whole secret string, whsec_ prefix included>". The official SDKs' constructEvent verifies
 * exactly this.
 *
 * Not for: choosing the timestamp (the caller passes a fresh one per attempt) or sending.
 */
#ifndef VERIFYD_WEBHOOK_SIGN_H
#define VERIFYD_WEBHOOK_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* Room for "t=<20 digits>,v1=<64 hex>" and the NUL. */
#define WEBHOOK_SIG_MAX 96

/* Write the header value for body signed at t with secret into out (out_size >=
 * WEBHOOK_SIG_MAX). Returns 0, or -1 (out is then "") if out is too small. Never allocates
 * beyond a transient copy of the signed payload; aborts only on out-of-memory. */
int webhook_sign(const char *secret, int64_t t, const char *body, size_t len, char *out,
                 size_t out_size);

#endif
