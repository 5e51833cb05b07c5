/*
 * arena: per-request bump allocation, and the growable buf built on top of it.
 *
 * An arena is a list of chunks. The first 4 KiB chunk lives in the same malloc block as the
 * arena header, so a request that stays small costs one malloc and one free. Later chunks double
 * in size up to 64 KiB; a request larger than half the next chunk gets a chunk of its own, so a
 * big upload does not waste the rest of the current chunk. Every allocation is 16-byte aligned.
 *
 * This is not a general-purpose allocator: nothing is freed before arena_free(), and an arena is
 * not thread-safe. Out of memory aborts (util.h).
 */
#include "base/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define ARENA_ALIGN 16
#define ARENA_FIRST_CHUNK 4096
#define ARENA_MAX_CHUNK 65536
/* Smallest storage a buf grows to, so a run of small appends does not reallocate every time. */
#define BUF_MIN_CAP 64

struct arena_chunk {
    struct arena_chunk *next;
};

struct arena {
    char *ptr;                  /* next free byte of the current chunk, always aligned */
    char *end;                  /* one past the current chunk */
    struct arena_chunk *chunks; /* chunks allocated after the embedded first one */
    size_t next_size;
    size_t used;
    /* The first chunk's storage follows this header in the same malloc block. */
};

/* Storage for a buf that has not allocated yet. It is never written (see buf_reset). */
static char buf_empty[1];

static _Noreturn void too_big(size_t n)
{
    fprintf(stderr, "verifyd: arena request of %zu bytes is impossibly large\n", n);
    abort();
}

static char *align_up(char *p)
{
    return (char *)(((uintptr_t)p + (ARENA_ALIGN - 1)) & ~(uintptr_t)(ARENA_ALIGN - 1));
}

/* n rounded up to the alignment; 0 becomes one unit so every pointer handed out is unique. */
static size_t round_size(size_t n)
{
    if (n > SIZE_MAX / 2) too_big(n);
    if (n == 0) return ARENA_ALIGN;
    return (n + (ARENA_ALIGN - 1)) & ~(size_t)(ARENA_ALIGN - 1);
}

/* A new chunk with at least size usable aligned bytes; returns its first aligned byte. */
static char *chunk_new(arena *a, size_t size, char **end)
{
    struct arena_chunk *c = xmalloc(sizeof *c + (ARENA_ALIGN - 1) + size);
    c->next = a->chunks;
    a->chunks = c;
    char *data = align_up((char *)(c + 1));
    *end = data + size;
    return data;
}

arena *arena_new(void)
{
    arena *a = xmalloc(sizeof *a + (ARENA_ALIGN - 1) + ARENA_FIRST_CHUNK);
    a->ptr = align_up((char *)(a + 1));
    a->end = a->ptr + ARENA_FIRST_CHUNK;
    a->chunks = NULL;
    a->next_size = ARENA_FIRST_CHUNK * 2;
    a->used = 0;
    return a;
}

void arena_free(arena *a)
{
    if (a == NULL) return;
    struct arena_chunk *c = a->chunks;
    while (c != NULL) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

/* r (already rounded) does not fit in the current chunk. */
static void *alloc_slow(arena *a, size_t r)
{
    a->used += r;
    if (r > a->next_size / 2) {
        /* A chunk of its own; the current chunk stays current for the small allocations. */
        char *end;
        return chunk_new(a, r, &end);
    }
    char *p = chunk_new(a, a->next_size, &a->end);
    if (a->next_size < ARENA_MAX_CHUNK) a->next_size *= 2;
    a->ptr = p + r;
    return p;
}

void *arena_alloc(arena *a, size_t n)
{
    size_t r = round_size(n);
    if ((size_t)(a->end - a->ptr) >= r) {
        char *p = a->ptr;
        a->ptr += r;
        a->used += r;
        return p;
    }
    return alloc_slow(a, r);
}

void *arena_calloc(arena *a, size_t n)
{
    void *p = arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
    if (s == NULL) return NULL;
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(arena *a, const char *s)
{
    if (s == NULL) return NULL;
    return arena_strndup(a, s, strlen(s));
}

char *arena_printf(arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    /* Format straight into the current chunk; only when it does not fit, allocate and redo. */
    size_t room = (size_t)(a->end - a->ptr);
    int len = vsnprintf(a->ptr, room, fmt, ap);
    va_end(ap);
    if (len < 0) too_big(0);
    char *p;
    if ((size_t)len < room) {
        p = a->ptr;
        /* Chunk ends are aligned, so room is a multiple of 16 and the rounded size still fits. */
        size_t r = round_size((size_t)len + 1);
        a->ptr += r;
        a->used += r;
    } else {
        p = arena_alloc(a, (size_t)len + 1);
        vsnprintf(p, (size_t)len + 1, fmt, ap2);
    }
    va_end(ap2);
    return p;
}

size_t arena_used(const arena *a)
{
    return a->used;
}

void buf_init(buf *b, arena *a)
{
    b->data = buf_empty;
    b->len = 0;
    b->cap = 0;
    b->arena = a;
}

void buf_free(buf *b)
{
    if (b->arena != NULL) return;
    if (b->cap > 0) free(b->data);
    b->data = buf_empty;
    b->len = 0;
    b->cap = 0;
}

/*
 * Makes cap >= need (need counts the NUL). An arena-backed buf whose storage is the last thing
 * the arena handed out grows in place when the chunk has room: the common case for a response
 * being written with nothing else allocated in between.
 */
static void buf_grow(buf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : BUF_MIN_CAP;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) too_big(need);
        cap *= 2;
    }
    arena *a = b->arena;
    if (a == NULL) {
        char *p = xrealloc(b->cap ? b->data : NULL, cap);
        if (b->cap == 0) p[0] = '\0';
        b->data = p;
        b->cap = cap;
        return;
    }
    cap = round_size(cap);
    if (b->cap > 0 && b->data + b->cap == a->ptr && (size_t)(a->end - a->ptr) >= cap - b->cap) {
        a->ptr += cap - b->cap;
        a->used += cap - b->cap;
        b->cap = cap;
        return;
    }
    char *p = arena_alloc(a, cap);
    memcpy(p, b->data, b->len + 1);
    b->data = p;
    b->cap = cap;
}

void buf_reserve(buf *b, size_t extra)
{
    if (extra > SIZE_MAX - 1 - b->len) too_big(extra);
    size_t need = b->len + extra + 1;
    if (need > b->cap) buf_grow(b, need);
}

void buf_append(buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_putc(buf *b, char c)
{
    if (b->len + 2 > b->cap) buf_grow(b, b->len + 2);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void buf_puts(buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    size_t room = b->cap - b->len; /* 0 when nothing is allocated yet */
    int len = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (len < 0) too_big(0);
    if ((size_t)len >= room) {
        buf_reserve(b, (size_t)len);
        vsnprintf(b->data + b->len, (size_t)len + 1, fmt, ap2);
    }
    va_end(ap2);
    b->len += (size_t)len;
}

void buf_reset(buf *b)
{
    b->len = 0;
    if (b->cap > 0) b->data[0] = '\0';
}
