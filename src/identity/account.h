/*
 * account: the names of the namespaces objects live in (CONTRACT.md §11 "Keys and accounts").
 * An API key names a platform account; a request with `Stripe-Account: acct_…` acts on that
 * connected account, whose namespace is the platform's name, '/', and the acct_ ID, so that two
 * platforms never share a connected account's objects. The store treats both as opaque strings.
 *
 * Not for: authentication (api.c) or which endpoints an event goes to (event.c).
 */
#ifndef VERIFYD_ACCOUNT_H
#define VERIFYD_ACCOUNT_H

#include <stddef.h>

#include "base/arena.h"

/* 1 when id is a connected account's ID as Stripe issues them: "acct_" and 1..64 letters or
 * digits. id may be NULL (0). */
int account_id_ok(const char *id);

/* The namespace of connected account id (account_id_ok) under platform, in a. */
const char *account_connected_ns(arena *a, const char *platform, const char *id);

/* The connected account's ID of namespace ns (a pointer into ns), or NULL for a platform's own
 * namespace (or a NULL ns). */
const char *account_connected_id(const char *ns);

/* The length of the platform's name at the start of ns (all of it for a platform's own). */
size_t account_platform_len(const char *ns);

#endif
