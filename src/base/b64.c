/*
 * b64: base64 through OpenSSL's block coder (EVP_EncodeBlock / EVP_DecodeBlock), which base/
 * already links for hashing. The block decoder accepts what it should not on its own (leading
 * and trailing spaces, padding in the middle) and counts padding as data, so the input is
 * checked here first and the padding subtracted.
 */
#include "base/b64.h"

#include <openssl/evp.h>
#include <string.h>

const char *b64_encode(arena *a, const void *p, size_t n)
{
    char *out = arena_alloc(a, (n + 2) / 3 * 4 + 1);
    if (n == 0) {
        out[0] = '\0';
        return out;
    }
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    return out;
}

static int in_alphabet(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '+' || ch == '/';
}

int b64_decode(arena *a, const char *s, size_t len, const void **out, size_t *out_len)
{
    if (len % 4 != 0 || len > (size_t)1 << 30) return -1;
    size_t pad = 0;
    if (len > 0 && s[len - 1] == '=') pad++;
    if (len > 1 && s[len - 2] == '=') pad++;
    for (size_t i = 0; i < len - pad; i++)
        if (!in_alphabet(s[i])) return -1;
    unsigned char *bytes = arena_alloc(a, len / 4 * 3 + 1);
    if (len > 0 && EVP_DecodeBlock(bytes, (const unsigned char *)s, (int)len) < 0) return -1;
    *out = bytes;
    *out_len = len / 4 * 3 - pad;
    return 0;
}
