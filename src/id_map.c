/*
 * id_map: see id_map.h. Open addressing with linear probing in a power-of-two table kept at most
 * half full, under one reader-writer lock. Entries are removed only in bulk (idmap_drop_upto
 * rebuilds the table from the survivors), so there are no tombstones.
 *
 * The ids it holds are the store's own random ids, never a client's choice, so a plain FNV-1a
 * hash is enough; lookups of arbitrary strings just probe and miss.
 */
#include "id_map.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define INITIAL_SLOTS 1024

typedef struct slot {
    uint64_t hash;
    int64_t row;
    char id[IDMAP_ID_MAX + 1]; /* "" when the slot is empty */
} slot;

struct idmap {
    pthread_rwlock_t lock;
    slot *slots;
    size_t mask; /* slot count - 1 */
    size_t count;
};

static uint64_t hash_id(const char *id, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)id[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* The slot of id, or the empty slot where it would go. The table is never full. */
static slot *find(slot *slots, size_t mask, const char *id, uint64_t h)
{
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        slot *s = &slots[i];
        if (s->id[0] == '\0' || (s->hash == h && strcmp(s->id, id) == 0)) return s;
    }
}

/* Move every entry with row > upto into a fresh table of n_slots slots. */
static void rebuild(idmap *m, size_t n_slots, int64_t upto)
{
    slot *fresh = xcalloc(n_slots, sizeof *fresh);
    size_t count = 0;
    for (size_t i = 0; i <= m->mask; i++) {
        slot *s = &m->slots[i];
        if (s->id[0] == '\0' || s->row <= upto) continue;
        *find(fresh, n_slots - 1, s->id, s->hash) = *s;
        count++;
    }
    free(m->slots);
    m->slots = fresh;
    m->mask = n_slots - 1;
    m->count = count;
}

idmap *idmap_new(void)
{
    idmap *m = xcalloc(1, sizeof *m);
    pthread_rwlock_init(&m->lock, NULL);
    m->slots = xcalloc(INITIAL_SLOTS, sizeof *m->slots);
    m->mask = INITIAL_SLOTS - 1;
    return m;
}

void idmap_free(idmap *m)
{
    if (m == NULL) return;
    pthread_rwlock_destroy(&m->lock);
    free(m->slots);
    free(m);
}

int idmap_put(idmap *m, const char *id, int64_t row)
{
    size_t len = strlen(id);
    if (len == 0 || len > IDMAP_ID_MAX) return -1;
    uint64_t h = hash_id(id, len);
    pthread_rwlock_wrlock(&m->lock);
    if ((m->count + 1) * 2 > m->mask + 1) rebuild(m, (m->mask + 1) * 2, INT64_MIN);
    slot *s = find(m->slots, m->mask, id, h);
    if (s->id[0] == '\0') {
        s->hash = h;
        memcpy(s->id, id, len + 1);
        m->count++;
    }
    s->row = row;
    pthread_rwlock_unlock(&m->lock);
    return 0;
}

int idmap_get(idmap *m, const char *id, int64_t *row)
{
    size_t len = strlen(id);
    if (len == 0 || len > IDMAP_ID_MAX) return 0;
    uint64_t h = hash_id(id, len);
    pthread_rwlock_rdlock(&m->lock);
    const slot *s = find(m->slots, m->mask, id, h);
    int found = s->id[0] != '\0';
    if (found) *row = s->row;
    pthread_rwlock_unlock(&m->lock);
    return found;
}

void idmap_drop_upto(idmap *m, int64_t upto)
{
    pthread_rwlock_wrlock(&m->lock);
    /* The smallest table (not below the initial size) that keeps the survivors at most half
     * full: a map that emptied shrinks back. */
    size_t keep = 0;
    for (size_t i = 0; i <= m->mask; i++)
        keep += m->slots[i].id[0] != '\0' && m->slots[i].row > upto;
    size_t n_slots = INITIAL_SLOTS;
    while (n_slots < keep * 2 + 2)
        n_slots *= 2;
    rebuild(m, n_slots, upto);
    pthread_rwlock_unlock(&m->lock);
}

size_t idmap_count(idmap *m)
{
    pthread_rwlock_rdlock(&m->lock);
    size_t n = m->count;
    pthread_rwlock_unlock(&m->lock);
    return n;
}
