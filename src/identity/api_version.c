/*
 * api_version: the breaking changes to the objects verifyd renders, by the version that
 * introduced them, and the lookup of known versions (the list itself is generated, in
 * api_versions.c).
 *
 * Sources: Stripe's API changelog (docs.stripe.com/changelog) and the official SDKs'
 * CHANGELOGs, searched for every change to verification sessions, verification reports, events,
 * webhook endpoints and lists since Identity's launch. Every change to the Identity objects there
 * is additive (new fields such as provided_details, related_person, verification_flow; new
 * enum values such as redaction.status validated, which verifyd never emits), so none is gated.
 */
#include "identity/api_version.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    api_change change;
    const char *since; /* the first version with the change (its date is what is compared) */
} changes[] = {
    /* docs.stripe.com/changelog/2017-05-25/events-specify-request-id-idempotency-key */
    {API_CHANGE_EVENT_REQUEST_OBJECT, "2017-05-25"},
};

static int cmp_version(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

int api_version_known(const char *v)
{
    return v != NULL &&
           bsearch(v, api_versions, api_versions_count, sizeof *api_versions, cmp_version) != NULL;
}

int api_version_has(const char *v, api_change change)
{
    if (v == NULL) v = API_VERSION_DEFAULT;
    for (size_t i = 0; i < sizeof changes / sizeof *changes; i++)
        if (changes[i].change == change)
            /* Versions start with their date, YYYY-MM-DD, so byte order is release order. */
            return strncmp(v, changes[i].since, 10) >= 0;
    return 1;
}
