/*
 * arena: memory that lives exactly as long as one HTTP request (or one background job).
 *
 * Everything allocated from an arena is released by one arena_free(). Allocation never fails
 * (out of memory aborts, util.h). Not thread-safe: an arena belongs to one thread at a time.
 *
 * buf: a growable byte string whose storage comes from an arena, or from the heap when the arena
 * is NULL (then the owner calls buf_free). The data is always NUL-terminated.
 */
#ifndef VERIFYD_ARENA_H
#define VERIFYD_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct arena arena;

arena *arena_new(void);
void arena_free(arena *a);
/* n bytes aligned for any type; contents undefined. n == 0 returns a valid unique pointer. */
void *arena_alloc(arena *a, size_t n);
void *arena_calloc(arena *a, size_t n);
char *arena_strdup(arena *a, const char *s); /* NULL stays NULL */
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Bytes handed out so far (for tests and limits); each allocation counts rounded up to 16. */
size_t arena_used(const arena *a);

typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
    arena *arena; /* NULL: heap-backed, release with buf_free */
} buf;

void buf_init(buf *b, arena *a);
void buf_free(buf *b); /* heap-backed only; no-op for arena-backed */
void buf_reserve(buf *b, size_t extra);
void buf_append(buf *b, const void *p, size_t n);
void buf_putc(buf *b, char c);
void buf_puts(buf *b, const char *s);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(buf *b); /* len = 0, keeps storage */

#endif
