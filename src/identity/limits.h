/*
 * limits: the sizes and lifetimes Stripe sets on the objects verifyd serves, in one place, for
 * the handlers that check them and the workers that expire them.
 */
#ifndef VERIFYD_LIMITS_H
#define VERIFYD_LIMITS_H

/* Idempotency keys are kept, and may be pruned, after 24 h (CONTRACT.md §1). */
#define IDEM_TTL_S (24 * 3600)
/* Idempotency keys are up to 255 characters (CONTRACT.md §1 "Idempotency-Key"). */
#define IDEM_KEY_MAX 255

/* A list page holds 1 to 100 objects, 10 by default (CONTRACT.md §1 "Lists and pagination"). */
#define PAGE_LIMIT_MAX 100
#define PAGE_LIMIT_DEFAULT 10

/* Metadata: 50 keys, keys of 40 characters, values of 500 (CONTRACT.md §1 "Metadata"). */
#define METADATA_MAX_KEYS 50
#define METADATA_MAX_KEY_LEN 40
#define METADATA_MAX_VALUE_LEN 500

/* A client_secret is single use and expires in 24 h (CONTRACT.md §2 client_secret). */
#define SECRET_TTL_S (24 * 3600)
/* A session's url is single use and expires in 48 h (CONTRACT.md §2 url). */
#define URL_TTL_S (48 * 3600)

/* Events are available for the last 30 days (CONTRACT.md §8 "Event endpoints"). */
#define EVENT_TTL_S (30 * 86400LL)
/* An account has up to 16 webhook endpoints (CONTRACT.md §8 "Webhook endpoints"). */
#define ENDPOINTS_MAX 16
/* Longest webhook url, return_url and --forward-to: verifyd's own (CONTRACT.md §3, §8 set none). */
#define URL_MAX 2048

#endif
