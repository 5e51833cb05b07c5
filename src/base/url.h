/*
 * url: the shape of an absolute http(s) URL, checked wherever one comes from outside
 * (a session's return_url, a webhook endpoint's url) before verifyd stores it or sends a
 * browser or a request to it.
 */
#ifndef VERIFYD_URL_H
#define VERIFYD_URL_H

#include <stddef.h>

typedef struct url_parts {
    int https;      /* the scheme was https */
    char host[256]; /* without brackets, userinfo or port */
} url_parts;

/* 0 when u is an absolute http:// or https:// URL (the scheme in any case, as RFC 3986 says)
 * with a host, of at most max bytes, made only of the printable ASCII characters a URL may hold
 * (no space, control byte, quote, angle bracket, backslash, caret, backquote, brace or bar:
 * RFC 3986 §2); then *out (may be NULL) has its parts. -1 otherwise. */
int url_check_http(const char *u, size_t max, url_parts *out);

#endif
