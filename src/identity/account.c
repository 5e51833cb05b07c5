/*
 * account: platform and connected-account namespaces (account.h).
 */
#include "identity/account.h"

#include <ctype.h>
#include <string.h>

#define ACCOUNT_ID_MAX 64 /* characters after "acct_" */

int account_id_ok(const char *id)
{
    if (id == NULL || strncmp(id, "acct_", 5) != 0) return 0;
    size_t n = 0;
    for (const char *p = id + 5; *p; p++, n++)
        if (!isalnum((unsigned char)*p) || n == ACCOUNT_ID_MAX) return 0;
    return n > 0;
}

const char *account_connected_ns(arena *a, const char *platform, const char *id)
{
    return arena_printf(a, "%s/%s", platform, id);
}

const char *account_connected_id(const char *ns)
{
    const char *slash = ns != NULL ? strchr(ns, '/') : NULL;
    return slash != NULL ? slash + 1 : NULL;
}

size_t account_platform_len(const char *ns)
{
    const char *slash = strchr(ns, '/');
    return slash != NULL ? (size_t)(slash - ns) : strlen(ns);
}
