/*
 * url: see url.h.
 */
#include "base/url.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A byte RFC 3986 lets appear in a URL as itself. */
static int url_char_ok(unsigned char ch)
{
    return ch > 0x20 && ch < 0x7f && strchr("\"<>\\^`{|}", ch) == NULL;
}

int url_check_http(const char *u, size_t max, url_parts *out)
{
    url_parts p = {0};
    size_t n = strlen(u);
    const char *rest;
    if (strncasecmp(u, "https://", 8) == 0)
        rest = u + 8, p.https = 1;
    else if (strncasecmp(u, "http://", 7) == 0)
        rest = u + 7;
    else
        return -1;
    if (n > max) return -1;
    for (size_t i = 0; i < n; i++) {
        if (!url_char_ok((unsigned char)u[i])) return -1;
    }
    /* The authority runs to the first '/', '?' or '#'; the host is what is left of it without
     * userinfo and port. */
    size_t auth = strcspn(rest, "/?#");
    const char *at = memchr(rest, '@', auth);
    const char *h = at ? at + 1 : rest;
    size_t hlen = auth - (size_t)(h - rest);
    if (hlen > 0 && h[0] == '[') {
        const char *close = memchr(h, ']', hlen);
        if (close == NULL || close - h - 1 <= 0 || (size_t)(close - h - 1) >= sizeof p.host)
            return -1;
        snprintf(p.host, sizeof p.host, "%.*s", (int)(close - h - 1), h + 1);
    } else {
        const char *colon = memchr(h, ':', hlen);
        size_t len = colon ? (size_t)(colon - h) : hlen;
        if (len == 0 || len >= sizeof p.host) return -1;
        snprintf(p.host, sizeof p.host, "%.*s", (int)len, h);
    }
    if (out != NULL) *out = p;
    return 0;
}
