/*
 * id_map: an exact, thread-safe map from an object id (a short string) to a 64-bit row number,
 * for the SQLite store's sessions whose ids are not yet in the on-disk id index (see
 * store/sqlite/session_ids.c). Any thread may read it while one thread writes it.
 *
 * Not a cache: nothing is evicted; entries go only when id_map_drop_upto removes them.
 */
#ifndef VERIFYD_ID_MAP_H
#define VERIFYD_ID_MAP_H

#include <stddef.h>
#include <stdint.h>

/* The longest id the map holds, in bytes. */
#define ID_MAP_ID_MAX 63

typedef struct id_map id_map;

/* A new, empty map (aborts on out of memory). Release with id_map_free. */
id_map *id_map_new(void);
void id_map_free(id_map *m);

/* Map id to row, replacing any earlier row of that id. 0, or -1 (nothing stored) when id is
 * longer than ID_MAP_ID_MAX. */
int id_map_put(id_map *m, const char *id, int64_t row);

/* 1 and *row set when id is in the map, else 0. */
int id_map_get(id_map *m, const char *id, int64_t *row);

/* Remove id if the map holds it with exactly this row; otherwise change nothing. */
void id_map_remove(id_map *m, const char *id, int64_t row);

/* One entry, as id_map_collect hands them out. */
typedef struct id_map_entry {
    int64_t row;
    char id[ID_MAP_ID_MAX + 1];
} id_map_entry;

/* The entries whose row is in (lo, hi], sorted by id (byte order): returns their number and
 * sets *out to a malloc'ed array (the caller frees it; NULL when there are none). */
size_t id_map_collect(id_map *m, int64_t lo, int64_t hi, id_map_entry **out);

/* Remove every entry whose row is <= upto. */
void id_map_drop_upto(id_map *m, int64_t upto);

/* How many entries the map holds. */
size_t id_map_count(id_map *m);

#endif
