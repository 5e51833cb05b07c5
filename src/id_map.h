/*
 * id_map: an exact, thread-safe map from an object id (a short string) to a 64-bit row number,
 * for the SQLite store's sessions whose ids are not yet in the on-disk id index (see
 * store_sqlite.c, "Session ids"). Any thread may read it while one thread writes it.
 *
 * Not a cache: nothing is evicted; entries go only when idmap_drop_upto removes them.
 */
#ifndef VERIFYD_ID_MAP_H
#define VERIFYD_ID_MAP_H

#include <stddef.h>
#include <stdint.h>

/* The longest id the map holds, in bytes. */
#define IDMAP_ID_MAX 63

typedef struct idmap idmap;

/* A new, empty map (aborts on out of memory). Release with idmap_free. */
idmap *idmap_new(void);
void idmap_free(idmap *m);

/* Map id to row, replacing any earlier row of that id. 0, or -1 (nothing stored) when id is
 * longer than IDMAP_ID_MAX. */
int idmap_put(idmap *m, const char *id, int64_t row);

/* 1 and *row set when id is in the map, else 0. */
int idmap_get(idmap *m, const char *id, int64_t *row);

/* Remove id if the map holds it with exactly this row; otherwise change nothing. */
void idmap_remove(idmap *m, const char *id, int64_t row);

/* One entry, as idmap_collect hands them out. */
typedef struct idmap_entry {
    int64_t row;
    char id[IDMAP_ID_MAX + 1];
} idmap_entry;

/* The entries whose row is in (lo, hi], sorted by id (byte order): returns their number and
 * sets *out to a malloc'ed array (the caller frees it; NULL when there are none). */
size_t idmap_collect(idmap *m, int64_t lo, int64_t hi, idmap_entry **out);

/* Remove every entry whose row is <= upto. */
void idmap_drop_upto(idmap *m, int64_t upto);

/* How many entries the map holds. */
size_t idmap_count(idmap *m);

#endif
