/*
 * account_clock: each account's time (CONTRACT.md §11 "Test control plane": every timer follows
 * the account's clock). An account's time is real time plus its offset, which only test-mode
 * advances grow; an account that was never advanced runs on real time. A connected account's
 * namespace follows its platform's clock (the key's account, account.h).
 *
 * The offsets live in the store (store.h "per-account clocks") and, for every read, in a small
 * map in memory: loaded once at start and changed by the job that stores an advance, on the
 * store's writer thread, so a job that follows it sees the new offset. A backend shared by
 * several processes would need the others to reload it; this one process's map is the only copy
 * the embedded store has.
 *
 * What follows the account's time: `created` of new objects, the issue time of client_secret and
 * url, idempotency records, and the due times kept in records. What stays in real time: the due
 * times that background workers compare with real time (the store shifts them on an advance),
 * webhook signature timestamps (a receiver checks them against its own clock) and ids.
 *
 * Not for: the HTTP routes (endpoints/clock.c) or the store's SQL.
 */
#ifndef VERIFYD_ACCOUNT_CLOCK_H
#define VERIFYD_ACCOUNT_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "store/store.h"

/* Load every stored offset into the map (replacing what it held). Call once at start, before
 * serving. 0 or STORE_EIO (the map is then empty). */
int account_clock_load(store *st);
/* Forget every offset and free the map (at exit). */
void account_clock_free(void);

/* How far, in ms, account's time (account: a namespace, its platform's clock) runs ahead of
 * real time; 0 for one never advanced or a NULL account. Any thread. */
int64_t account_clock_offset_ms(const char *account);
/* The account's time: unix ms / unix seconds. Any thread. */
int64_t account_clock_now_ms(const char *account);
int64_t account_clock_now(const char *account);

/* Inside a job: move account's clock (its platform's) forward by delta_ms (> 0), with its
 * pending due times (store_txn_clock_advance), and set the map's offset at once, so that the jobs
 * after it see it. On success *offset_ms is the new offset. A STORE_E* code changes nothing; when
 * the job does not commit for another reason, whoever ran it calls account_clock_load to put the
 * map back to what is stored. */
int account_clock_txn_advance(store_txn *t, const char *account, int64_t delta_ms,
                              int64_t *offset_ms);

/* Inside a job, right after store_txn_account_reset of account: a platform's reset takes its
 * clock back to real time (the store's reset deleted the stored offset), so the map forgets it
 * at once. A connected account's reset leaves the platform's clock alone. A job that does not
 * commit is repaired with account_clock_load, as for an advance. */
void account_clock_txn_forget(store_txn *t, const char *account);

/* A copy of the map, in a: the accounts (platforms) with an offset and their offsets, for work
 * that walks them (the per-account prunes). Any thread. */
size_t account_clock_list(arena *a, const char ***accounts, int64_t **offsets_ms);

#endif
