/*
 * account_clock: the per-account offsets in memory, and the advance (see account_clock.h).
 *
 * The map is a small array under a mutex: it holds only the accounts a test has advanced, and a
 * count read without the lock lets every other account skip the lock entirely.
 */
#include "identity/account_clock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "identity/account.h"

typedef struct entry {
    char *account; /* a platform's name */
    int64_t offset_ms;
} entry;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static entry *entries;
static size_t n_entries, cap_entries;
static _Atomic size_t n_published; /* n_entries, for the lock-free "no clocks at all" test */

/* The entry of the platform named by account[0..len), or NULL. Under mu. */
static entry *find(const char *account, size_t len)
{
    for (size_t i = 0; i < n_entries; i++) {
        if (strlen(entries[i].account) == len && memcmp(entries[i].account, account, len) == 0)
            return &entries[i];
    }
    return NULL;
}

/* Set the platform's offset, adding its entry if needed. Under mu. */
static void set_locked(const char *account, size_t len, int64_t offset_ms)
{
    entry *e = find(account, len);
    if (e == NULL) {
        if (n_entries == cap_entries) {
            cap_entries = cap_entries ? 2 * cap_entries : 8;
            entries = xrealloc(entries, cap_entries * sizeof *entries);
        }
        e = &entries[n_entries++];
        e->account = xmalloc(len + 1);
        memcpy(e->account, account, len);
        e->account[len] = '\0';
        atomic_store(&n_published, n_entries);
    }
    e->offset_ms = offset_ms;
}

static void clear_locked(void)
{
    for (size_t i = 0; i < n_entries; i++)
        free(entries[i].account);
    free(entries);
    entries = NULL;
    n_entries = cap_entries = 0;
    atomic_store(&n_published, 0);
}

int account_clock_load(store *st)
{
    arena *a = arena_new();
    const char **accounts;
    int64_t *offsets;
    size_t n;
    int rc = store_clock_list(st, a, &accounts, &offsets, &n);
    pthread_mutex_lock(&mu);
    clear_locked();
    for (size_t i = 0; rc == 0 && i < n; i++)
        set_locked(accounts[i], strlen(accounts[i]), offsets[i]);
    pthread_mutex_unlock(&mu);
    arena_free(a);
    return rc;
}

void account_clock_free(void)
{
    pthread_mutex_lock(&mu);
    clear_locked();
    pthread_mutex_unlock(&mu);
}

int64_t account_clock_offset_ms(const char *account)
{
    if (account == NULL || atomic_load(&n_published) == 0) return 0;
    pthread_mutex_lock(&mu);
    entry *e = find(account, account_platform_len(account));
    int64_t off = e != NULL ? e->offset_ms : 0;
    pthread_mutex_unlock(&mu);
    return off;
}

int64_t account_clock_now_ms(const char *account)
{
    return util_now_ms() + account_clock_offset_ms(account);
}

int64_t account_clock_now(const char *account)
{
    return account_clock_now_ms(account) / 1000;
}

int account_clock_txn_advance(store_txn *t, const char *account, int64_t delta_ms,
                              int64_t *offset_ms)
{
    size_t len = account_platform_len(account);
    char *platform = xmalloc(len + 1);
    memcpy(platform, account, len);
    platform[len] = '\0';
    int rc = store_txn_clock_advance(t, platform, delta_ms, offset_ms);
    if (rc == 0) {
        pthread_mutex_lock(&mu);
        set_locked(platform, len, *offset_ms);
        pthread_mutex_unlock(&mu);
    }
    free(platform);
    return rc;
}

void account_clock_txn_forget(store_txn *t, const char *account)
{
    (void)t; /* the stored offset went with store_txn_account_reset */
    if (account_connected_id(account) != NULL) return;
    pthread_mutex_lock(&mu);
    entry *e = find(account, strlen(account));
    if (e != NULL) e->offset_ms = 0;
    pthread_mutex_unlock(&mu);
}

size_t account_clock_list(arena *a, const char ***accounts, int64_t **offsets_ms)
{
    pthread_mutex_lock(&mu);
    size_t n = n_entries;
    *accounts = arena_alloc(a, (n ? n : 1) * sizeof **accounts);
    *offsets_ms = arena_alloc(a, (n ? n : 1) * sizeof **offsets_ms);
    for (size_t i = 0; i < n; i++) {
        (*accounts)[i] = arena_strdup(a, entries[i].account);
        (*offsets_ms)[i] = entries[i].offset_ms;
    }
    pthread_mutex_unlock(&mu);
    return n;
}
