/*
 * util: allocate-or-die wrappers, clocks, constant-time comparison and a strict UTF-8 check.
 *
 * These are leaf helpers with no state and no dependency on other verifyd modules. They are not
 * where untrusted sizes get bounded: callers check those first (STYLE.md §4), so an allocation
 * that fails here is a genuine out-of-memory and the process aborts with the caller's file:line.
 */
#include "base/util.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Noreturn void oom(size_t n, const char *file, int line)
{
    fprintf(stderr, "verifyd: out of memory allocating %zu bytes at %s:%d\n", n, file, line);
    abort();
}

void *util__xmalloc(size_t n, const char *file, int line)
{
    /* malloc(0) may legally return NULL; ask for one byte so NULL always means failure. */
    void *p = malloc(n ? n : 1);
    if (p == NULL) oom(n, file, line);
    return p;
}

void *util__xcalloc(size_t n, size_t size, const char *file, int line)
{
    if (n == 0 || size == 0) n = size = 1;
    void *p = calloc(n, size);
    /* calloc itself rejects n * size overflow by returning NULL; report the saturated product. */
    if (p == NULL) oom(size != 0 && n > SIZE_MAX / size ? SIZE_MAX : n * size, file, line);
    return p;
}

void *util__xrealloc(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) oom(n, file, line);
    return q;
}

char *util__xstrdup(const char *s, const char *file, int line)
{
    size_t n = strlen(s) + 1;
    char *p = util__xmalloc(n, file, line);
    memcpy(p, s, n);
    return p;
}

/* How far unit tests have moved real time ahead of the wall clock (util_clock_advance). */
static _Atomic int64_t clock_offset_ms;

int64_t util_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
           atomic_load_explicit(&clock_offset_ms, memory_order_relaxed);
}

int64_t util_now(void)
{
    return util_now_ms() / 1000;
}

void util_clock_advance(int64_t ms)
{
    if (ms > 0) atomic_fetch_add(&clock_offset_ms, ms);
}

int64_t util_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int util_ct_equal(const void *a, const void *b, size_t n)
{
    /* volatile keeps the compiler from turning the loop into an early-exit memcmp. */
    const volatile unsigned char *pa = a;
    const volatile unsigned char *pb = b;
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= pa[i] ^ pb[i];
    return diff == 0;
}

/*
 * Well-formed sequences per the Unicode Standard, table 3-7. The second byte's range depends on
 * the first byte; that is what rules out overlongs (E0, F0), surrogates (ED) and code points
 * above U+10FFFF (F4). C0, C1 and F5..FF never start a sequence. NUL is a valid code point here;
 * callers that must refuse it do so themselves.
 */
size_t util_utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned c = p[0];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (avail <= need) return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i <= need; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return need + 1;
}

int util_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = util_utf8_seq(p + i, n - i);
        if (k == 0) return 0;
        i += k;
    }
    return 1;
}

/* ---- hashing ---- */

static EVP_MD *sha256_md;
static pthread_key_t sha256_ctx_key; /* each thread's EVP_MD_CTX, freed when the thread ends */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void sha256_init(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!sha256_md || pthread_key_create(&sha256_ctx_key, sha256_ctx_free) != 0) {
        fprintf(stderr, "verifyd: SHA-256 is not available\n");
        abort();
    }
}

void util_sha256(const void *data, size_t n, unsigned char out[UTIL_SHA256_LEN])
{
    pthread_once(&sha256_once, sha256_init);
    EVP_MD_CTX *ctx = pthread_getspecific(sha256_ctx_key);
    if (!ctx) {
        ctx = EVP_MD_CTX_new();
        if (!ctx || pthread_setspecific(sha256_ctx_key, ctx) != 0) abort();
    }
    unsigned len = 0;
    if (!EVP_DigestInit_ex2(ctx, sha256_md, NULL) || !EVP_DigestUpdate(ctx, data, n) ||
        !EVP_DigestFinal_ex(ctx, out, &len) || len != UTIL_SHA256_LEN) {
        fprintf(stderr, "verifyd: SHA-256 failed\n");
        abort();
    }
}

void util_hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}
