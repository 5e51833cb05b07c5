/*
 * wal_buffer: an SQLite VFS that gathers the writes SQLite makes to a WAL file into one buffer and
 * hands them to the operating system in a few large writes, before the WAL is synced.
 *
 * SQLite writes every WAL frame as two writes (a 24-byte header, then the page), so a commit of a
 * few hundred pages is a few hundred system calls. Through this VFS it is one write per 64 KiB
 * of contiguous frames, and the sync that follows makes it durable exactly as before.
 *
 * Use it only on a connection with PRAGMA synchronous = FULL in WAL mode: there every commit syncs
 * the WAL before it publishes the new frames to readers, and the sync is where the buffer is
 * written. (With synchronous = NORMAL a commit publishes frames without a sync, and readers on
 * other file handles could look for frames still in the buffer.)
 *
 * Not for: the database file, the shared-memory index or journals; those pass straight through.
 */
#ifndef VERIFYD_WAL_BUFFER_H
#define VERIFYD_WAL_BUFFER_H

/* The VFS name to pass to sqlite3_open_v2: this VFS over parent (a VFS name, NULL for the
 * default), the parent of the first call for the whole process. Registers it on the first call
 * (thread-safe); returns parent when it cannot (no such VFS), to open without the buffer. */
const char *wal_buffer_vfs(const char *parent);

#endif
