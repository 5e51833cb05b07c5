/*
 * metadata: the key-value metadata of sessions and webhook endpoints, and the one rule for
 * changing it (CONTRACT.md §1 "Metadata"). Not for: checking a request's keys and values
 * against the per-request limits (params.c does that while validating) or storing them.
 */
#ifndef VERIFYD_METADATA_H
#define VERIFYD_METADATA_H

#include <stddef.h>

#include "base/arena.h"

/* One key and its value; both strings are borrowed (arena or static). */
typedef struct metadata_kv {
    const char *key;
    const char *value;
} metadata_kv;

/* The changes one request makes: metadata="" clears every key; metadata[k]=v sets k, and
 * metadata[k]="" removes it. Keys in set are distinct (the form decoder merges repeats). */
typedef struct metadata_update {
    int clear; /* metadata="": remove every key (set is then empty) */
    const metadata_kv *set;
    size_t n_set;
} metadata_update;

enum { METADATA_OK = 0, METADATA_TOO_MANY_KEYS = -1 };

/* Apply u to the metadata *md (*n_md pairs). Stored keys keep their place (with the new value, or
 * gone when it is ""), new keys follow in the order of u. The result is allocated in a (or is
 * NULL after clear); the old array is not modified. Returns METADATA_OK, or
 * METADATA_TOO_MANY_KEYS when the result would hold more than METADATA_MAX_KEYS keys (limits.h);
 * *md and *n_md are then untouched and the caller answers the error. */
int metadata_merge(arena *a, const metadata_update *u, metadata_kv **md, size_t *n_md);

/* The stored form of metadata (webhook endpoints keep it as a record of its own): each key and
 * value followed by a NUL. encode appends to out; decode reads data[0..len) into an arena array
 * (strings copied into a), ignoring a trailing unpaired key. Keys and values never hold NUL:
 * they are C strings already. */
void metadata_encode(const metadata_kv *md, size_t n, buf *out);
void metadata_decode(arena *a, const void *data, size_t len, metadata_kv **md, size_t *n);

#endif
