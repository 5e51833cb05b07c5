/*
 * session_cache: stored session records kept in memory, so that retrieving a session (the most
 * frequent read) costs no database read. Internal to the store layer: store.c runs it above
 * every backend that allows it (store__ops.cacheable); handlers never see it.
 *
 * Consistency is the caller's part of the bargain: store.c calls session_cache_put for every
 * committed write, after the commit and before the write is acknowledged. Readers that miss take a
 * ticket, read the database, and offer what they read with session_cache_fill, which installs it
 * only if no write reached that slot since the ticket was taken, so a slow reader can never put an
 * older record over a newer one.
 *
 * It is direct-mapped: each (account, id) has one slot, and a newer entry simply replaces
 * whatever held the slot. Memory is bounded by the slot count times the record size. All
 * functions are thread-safe.
 */
#ifndef VERIFYD_SESSION_CACHE_H
#define VERIFYD_SESSION_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

typedef struct session_cache session_cache;

/* A cache of 2^slots_log2 slots. Never fails (out of memory aborts). */
session_cache *session_cache_new(unsigned slots_log2);
void session_cache_free(session_cache *c);

/* 1 on a hit: a copy of the record is in *rec / *len (arena memory). 0 on a miss: *ticket is
 * what session_cache_fill needs. */
int session_cache_get(session_cache *c, const char *account, const char *id, arena *a,
                      const void **rec, size_t *len, uint64_t *ticket);
/* Offer a record read from the database after a miss (copied). */
void session_cache_fill(session_cache *c, const char *account, const char *id, const void *rec,
                        size_t len, uint64_t ticket);
/* A committed write of (account, id): its record now is rec (copied). */
void session_cache_put(session_cache *c, const char *account, const char *id, const void *rec,
                       size_t len);
/* A committed write deleted every session of account: their entries go, and no fill offered on
 * a ticket taken before this call is installed (every slot's version moves on, since a miss
 * may have been for one of them). Walks every slot: for rare, account-wide changes only. */
void session_cache_drop_account(session_cache *c, const char *account);

#endif
