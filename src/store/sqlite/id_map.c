/*
 * id_map: see id_map.h. Open addressing with linear probing in a power-of-two table kept at most
 * half full, under one reader-writer lock. No tombstones: id_map_remove shifts the entries after
 * a removed one back into place, and id_map_drop_upto rebuilds the table from the survivors.
 *
 * The ids it holds are the store's own random ids, never a client's choice, so a plain FNV-1a
 * hash is enough; lookups of arbitrary strings just probe and miss.
 */
#include "store/sqlite/id_map.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define INITIAL_SLOTS 1024

typedef struct slot {
    uint64_t hash;
    int64_t row;
    char id[ID_MAP_ID_MAX + 1]; /* "" when the slot is empty */
} slot;

struct id_map {
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
static void rebuild(id_map *m, size_t n_slots, int64_t upto)
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

id_map *id_map_new(void)
{
    id_map *m = xcalloc(1, sizeof *m);
    pthread_rwlock_init(&m->lock, NULL);
    m->slots = xcalloc(INITIAL_SLOTS, sizeof *m->slots);
    m->mask = INITIAL_SLOTS - 1;
    return m;
}

void id_map_free(id_map *m)
{
    if (m == NULL) return;
    pthread_rwlock_destroy(&m->lock);
    free(m->slots);
    free(m);
}

int id_map_put(id_map *m, const char *id, int64_t row)
{
    size_t len = strlen(id);
    if (len == 0 || len > ID_MAP_ID_MAX) return -1;
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

void id_map_remove(id_map *m, const char *id, int64_t row)
{
    size_t len = strlen(id);
    if (len == 0 || len > ID_MAP_ID_MAX) return;
    uint64_t h = hash_id(id, len);
    pthread_rwlock_wrlock(&m->lock);
    slot *s = find(m->slots, m->mask, id, h);
    if (s->id[0] != '\0' && s->row == row) {
        /* Backward shift: an entry further along the probe run moves into the hole unless its
         * home slot lies cyclically in (hole, its slot]. */
        size_t hole = (size_t)(s - m->slots);
        for (size_t j = (hole + 1) & m->mask; m->slots[j].id[0] != '\0'; j = (j + 1) & m->mask) {
            size_t home = (size_t)m->slots[j].hash & m->mask;
            int stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
            if (stays) continue;
            m->slots[hole] = m->slots[j];
            hole = j;
        }
        m->slots[hole].id[0] = '\0';
        m->count--;
    }
    pthread_rwlock_unlock(&m->lock);
}

int id_map_get(id_map *m, const char *id, int64_t *row)
{
    size_t len = strlen(id);
    if (len == 0 || len > ID_MAP_ID_MAX) return 0;
    uint64_t h = hash_id(id, len);
    pthread_rwlock_rdlock(&m->lock);
    const slot *s = find(m->slots, m->mask, id, h);
    int found = s->id[0] != '\0';
    if (found) *row = s->row;
    pthread_rwlock_unlock(&m->lock);
    return found;
}

/* The first 8 bytes of an id as a big-endian number: comparing two keys orders the ids as
 * strcmp would, except that equal keys need the rest of the string. */
static uint64_t prefix_key(const char *id)
{
    uint64_t k = 0;
    int i = 0;
    for (; i < 8 && id[i] != '\0'; i++)
        k = k << 8 | (unsigned char)id[i];
    return k << (8 * (8 - i));
}

typedef struct sort_item {
    uint64_t key;
    uint32_t at; /* index into the unsorted entries */
} sort_item;

/* Sort n entries by id: a byte-wise radix sort of their prefix keys (small items, no compare
 * calls: qsort took ~17 ms for 40k ids, in the writer's path), then insertion sort by the whole
 * id within each run of equal keys. */
static void sort_by_id(id_map_entry *e, size_t n)
{
    sort_item *a = xmalloc(n * sizeof *a), *b = xmalloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++)
        a[i] = (sort_item){prefix_key(e[i].id), (uint32_t)i};
    for (int shift = 0; shift < 64; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((a[i].key >> shift) & 0xff) + 1]++;
        for (int d = 0; d < 256; d++)
            count[d + 1] += count[d];
        for (size_t i = 0; i < n; i++)
            b[count[(a[i].key >> shift) & 0xff]++] = a[i];
        sort_item *t = a;
        a = b;
        b = t;
    }
    for (size_t i = 1; i < n; i++) /* runs of equal keys are short: ids are random */
        for (size_t j = i;
             j > 0 && a[j - 1].key == a[j].key && strcmp(e[a[j - 1].at].id, e[a[j].at].id) > 0;
             j--) {
            sort_item t = a[j];
            a[j] = a[j - 1];
            a[j - 1] = t;
        }
    id_map_entry *sorted = xmalloc(n * sizeof *sorted);
    for (size_t i = 0; i < n; i++)
        sorted[i] = e[a[i].at];
    memcpy(e, sorted, n * sizeof *e);
    free(sorted);
    free(a);
    free(b);
}

size_t id_map_collect(id_map *m, int64_t lo, int64_t hi, id_map_entry **out)
{
    size_t n = 0, cap = 0;
    id_map_entry *e = NULL;
    pthread_rwlock_rdlock(&m->lock);
    for (size_t i = 0; i <= m->mask; i++) {
        const slot *s = &m->slots[i];
        if (s->id[0] == '\0' || s->row <= lo || s->row > hi) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            e = xrealloc(e, cap * sizeof *e);
        }
        e[n].row = s->row;
        memcpy(e[n].id, s->id, sizeof e[n].id);
        n++;
    }
    pthread_rwlock_unlock(&m->lock);
    if (n > 1) sort_by_id(e, n);
    *out = e;
    return n;
}

void id_map_drop_upto(id_map *m, int64_t upto)
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

size_t id_map_count(id_map *m)
{
    pthread_rwlock_rdlock(&m->lock);
    size_t n = m->count;
    pthread_rwlock_unlock(&m->lock);
    return n;
}
