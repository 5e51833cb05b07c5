/*
 * session_cache: a direct-mapped, lock-striped cache of session records (see session_cache.h).
 * A slot holds one key ("account\nid") and its record, both heap copies, plus a version that
 * every write (session_cache_put) increments; readers' tickets are versions.
 */
#include "store/session_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#define STRIPES 256

typedef struct slot {
    uint64_t version;
    char *key;
    size_t key_len;
    void *rec;
    size_t len;
} slot;

struct session_cache {
    size_t mask;
    slot *slots;
    pthread_mutex_t locks[STRIPES];
};

session_cache *session_cache_new(unsigned slots_log2)
{
    session_cache *c = xcalloc(1, sizeof *c);
    c->mask = ((size_t)1 << slots_log2) - 1;
    c->slots = xcalloc(c->mask + 1, sizeof *c->slots);
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&c->locks[i], NULL);
    return c;
}

void session_cache_free(session_cache *c)
{
    if (!c) return;
    for (size_t i = 0; i <= c->mask; i++) {
        free(c->slots[i].key);
        free(c->slots[i].rec);
    }
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&c->locks[i]);
    free(c->slots);
    free(c);
}

/* FNV-1a over account, a separator and id. */
static size_t hash(const char *account, const char *id)
{
    uint64_t h = 14695981039346656037ULL;
    for (const char *p = account; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ '\n') * 1099511628211ULL;
    for (const char *p = id; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (size_t)h;
}

static int same_key(const slot *s, const char *account, const char *id)
{
    size_t na = strlen(account);
    return s->key && s->key_len == na + 1 + strlen(id) && memcmp(s->key, account, na) == 0 &&
           s->key[na] == '\n' && strcmp(s->key + na + 1, id) == 0;
}

/* Replace s's entry; the caller holds its stripe. */
static void set(slot *s, const char *account, const char *id, const void *rec, size_t len)
{
    if (!same_key(s, account, id)) {
        size_t na = strlen(account), ni = strlen(id);
        free(s->key);
        s->key = xmalloc(na + ni + 2);
        memcpy(s->key, account, na);
        s->key[na] = '\n';
        memcpy(s->key + na + 1, id, ni + 1);
        s->key_len = na + 1 + ni;
    }
    if (s->len != len) {
        free(s->rec);
        s->rec = xmalloc(len ? len : 1);
    }
    if (len > 0) memcpy(s->rec, rec, len); /* an empty record may come as NULL */
    s->len = len;
}

int session_cache_get(session_cache *c, const char *account, const char *id, arena *a,
                      const void **rec, size_t *len, uint64_t *ticket)
{
    size_t i = hash(account, id) & c->mask;
    pthread_mutex_t *lock = &c->locks[i % STRIPES];
    slot *s = &c->slots[i];
    pthread_mutex_lock(lock);
    int hit = same_key(s, account, id);
    if (hit) {
        void *copy = arena_alloc(a, s->len);
        if (s->len > 0) memcpy(copy, s->rec, s->len);
        *rec = copy;
        *len = s->len;
    } else {
        *ticket = s->version;
    }
    pthread_mutex_unlock(lock);
    return hit;
}

void session_cache_fill(session_cache *c, const char *account, const char *id, const void *rec,
                        size_t len, uint64_t ticket)
{
    size_t i = hash(account, id) & c->mask;
    pthread_mutex_t *lock = &c->locks[i % STRIPES];
    pthread_mutex_lock(lock);
    if (c->slots[i].version == ticket) set(&c->slots[i], account, id, rec, len);
    pthread_mutex_unlock(lock);
}

void session_cache_put(session_cache *c, const char *account, const char *id, const void *rec,
                       size_t len)
{
    size_t i = hash(account, id) & c->mask;
    pthread_mutex_t *lock = &c->locks[i % STRIPES];
    pthread_mutex_lock(lock);
    c->slots[i].version++;
    set(&c->slots[i], account, id, rec, len);
    pthread_mutex_unlock(lock);
}

void session_cache_drop_account(session_cache *c, const char *account)
{
    size_t na = strlen(account);
    for (size_t i = 0; i <= c->mask; i++) {
        pthread_mutex_t *lock = &c->locks[i % STRIPES];
        slot *s = &c->slots[i];
        pthread_mutex_lock(lock);
        s->version++;
        if (s->key && s->key_len > na && memcmp(s->key, account, na) == 0 && s->key[na] == '\n') {
            free(s->key);
            free(s->rec);
            s->key = NULL;
            s->rec = NULL;
            s->key_len = s->len = 0;
        }
        pthread_mutex_unlock(lock);
    }
}
