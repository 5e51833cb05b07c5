/*
 * session_cache: stored session records kept in memory, so that retrieving a session (the most
 * frequent read) costs no database read. Internal to storage backends (store_sqlite.c); handlers
 * never see it.
 *
 * Consistency is the backend's part of the bargain: it calls scache_put for every committed
 * write, after the commit and before the write is acknowledged. Readers that miss take a ticket,
 * read the database, and offer what they read with scache_fill, which installs it only if no
 * write reached that slot since the ticket was taken, so a slow reader can never put an older
 * record over a newer one.
 *
 * It is direct-mapped: each (account, id) has one slot, and a newer entry simply replaces
 * whatever held the slot. Memory is bounded by the slot count times the record size. All
 * functions are thread-safe.
 */
#ifndef VERIFYD_SESSION_CACHE_H
#define VERIFYD_SESSION_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

typedef struct scache scache;

/* A cache of 2^slots_log2 slots. Never fails (out of memory aborts). */
scache *scache_new(unsigned slots_log2);
void scache_free(scache *c);

/* 1 on a hit: a copy of the record is in *rec / *len (arena memory). 0 on a miss: *ticket is
 * what scache_fill needs. */
int scache_get(scache *c, const char *account, const char *id, arena *a, const void **rec,
               size_t *len, uint64_t *ticket);
/* Offer a record read from the database after a miss (copied). */
void scache_fill(scache *c, const char *account, const char *id, const void *rec, size_t len,
                 uint64_t ticket);
/* A committed write of (account, id): its record now is rec (copied). */
void scache_put(scache *c, const char *account, const char *id, const void *rec, size_t len);

#endif
