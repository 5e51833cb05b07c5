/*
 * api_version: Stripe's API versions (CONTRACT.md §1 "Versioning", §11 "Versions"): which
 * versions exist, the one verifyd answers in when a request or an endpoint names none, and the
 * breaking changes to the objects verifyd renders, as one table that rendering code asks.
 *
 * Additive changes (new fields, new enum values verifyd never emits) appear in every version, as
 * on Stripe, and are not in the table. Not for: reading the Stripe-Version header (api.c).
 */
#ifndef VERIFYD_API_VERSION_H
#define VERIFYD_API_VERSION_H

#include <stddef.h>

#define API_VERSION_DEFAULT "2026-07-29.dahlia"

/* Every Stripe API version, oldest first (which is also byte order), NULL-terminated. Generated
 * into api_versions.c by scripts/gen_tables.mjs. */
extern const char *const api_versions[];
extern const size_t api_versions_count; /* the entries before NULL */

/* 1 when v is exactly one of api_versions, else 0. v may be NULL (0). */
int api_version_known(const char *v);

/* The breaking changes to rendered objects, each introduced by one version. */
typedef enum {
    /* event.request is {id, idempotency_key}; before, the request's ID as a string or null. */
    API_CHANGE_EVENT_REQUEST_OBJECT,
} api_change;

/* 1 when objects rendered for version v (a known version, or NULL for API_VERSION_DEFAULT) have
 * change, else 0. */
int api_version_has(const char *v, api_change change);

#endif
