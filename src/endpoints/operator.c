/*
 * operator: who may use the operator pages, /dashboard and /metrics (README "Dashboard and
 * metrics"). On loopback they are open, as the rest of a local development server is. With
 * --dashboard-key they need that key, wherever verifyd listens: as `Authorization: Bearer <key>`
 * (a Prometheus scraper's bearer token) or as the dashboard's HttpOnly cookie. Listening
 * elsewhere without a key they are not served at all (Stripe's unknown-route 404), so that a
 * server reachable from a network never shows one account's sessions to whoever asks.
 *
 * Not for: the API keys that pick an account (api.c); /healthz and /readyz, which say nothing
 * but "up" and are always served.
 */
#include "endpoints/endpoints.h"

#include <string.h>

#include "base/util.h"

const char *operator_cookie(api_ctx *c, const char *name)
{
    const char *h = http_header(c->req, "Cookie");
    size_t n = strlen(name);
    while (h && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        size_t len = strcspn(h, ";");
        if (len > n && strncmp(h, name, n) == 0 && h[n] == '=')
            return arena_strndup(c->a, h + n + 1, len - n - 1);
        h += len;
    }
    return NULL;
}

/* 1 when given equals the operator key (compared as hashes, in constant time). */
static int key_matches(const char *want, const char *given)
{
    unsigned char a[UTIL_SHA256_LEN], b[UTIL_SHA256_LEN];
    util_sha256(want, strlen(want), a);
    util_sha256(given, strlen(given), b);
    return util_ct_equal(a, b, sizeof a);
}

int operator_key_ok(api_ctx *c, const char *given)
{
    return c->app->dashboard_key != NULL && key_matches(c->app->dashboard_key, given);
}

int operator_access(api_ctx *c)
{
    const char *key = c->app->dashboard_key;
    if (key == NULL) return c->app->listen_loopback ? OPERATOR_OPEN : OPERATOR_OFF;
    const char *auth = http_header(c->req, "Authorization");
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0 && key_matches(key, auth + 7))
        return OPERATOR_OPEN;
    const char *cookie = operator_cookie(c, OPERATOR_COOKIE);
    if (cookie && key_matches(key, cookie)) return OPERATOR_OPEN;
    return OPERATOR_KEY_NEEDED;
}
