/*
 * config: the settings of the SQLite backend (store_config.sqlite). Zero means the default
 * everywhere, so a zeroed store_config opens the embedded database as verifyd ships it.
 */
#ifndef VERIFYD_SQLITE_CONFIG_H
#define VERIFYD_SQLITE_CONFIG_H

#include <stdint.h>

typedef struct store_sqlite_config {
    int64_t cache_bytes;    /* SQLite page cache per connection (0: 16 MiB) */
    int synchronous_normal; /* 1: no fsync per commit (throwaway data only); 0: every commit */
    int max_batch;          /* jobs per group commit (0: 512) */
    int id_merge_min;       /* new session ids held in memory before they are indexed (0: 32768) */
} store_sqlite_config;

#endif
