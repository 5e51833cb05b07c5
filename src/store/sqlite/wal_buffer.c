/*
 * wal_buffer: see wal_buffer.h. A shim over the default VFS: every file it opens wraps the default
 * VFS's file, and every method passes through, except that on a WAL file a write that continues
 * the bytes already gathered is appended to a buffer instead of being written.
 *
 * Why it is safe: SQLite only reads frames of the WAL that a commit has published, and a commit
 * with synchronous = FULL syncs the WAL (xSync, which writes the buffer first) before it
 * publishes them. The writing connection itself may read back frames it wrote (a page-cache spill
 * in a large transaction): xRead writes the buffer first. So does every other method that looks
 * at the file's contents or size (xFileSize, xTruncate) and xClose. A failed buffered write is
 * reported by the xSync (or other call) that wrote it, and SQLite then fails the commit as it
 * would for a failed xWrite: nothing acknowledged depends on it.
 */
#include "store/sqlite/wal_buffer.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* Enough for the largest batch the writer commits (a few MiB of frames); a larger run is simply
 * written in more than one piece. */
#define BUFFER_BYTES (4u << 20)
/* The most the default VFS writes in one call: the unix VFS silently cuts a write to its low 17
 * bits (it expects at most a page), so larger writes must be split. */
#define WRITE_BYTES (64u << 10)

typedef struct {
    sqlite3_file base;  /* pMethods = &wrapped_io, or NULL when the open failed */
    sqlite3_file *real; /* the default VFS's file, in the same allocation, right after us */
    int is_wal;
    unsigned char *buf;    /* NULL until the first buffered write; freed on close */
    sqlite3_int64 buf_off; /* file offset of buf[0] */
    size_t buf_len;
} wb_file;

static sqlite3_vfs *parent_vfs;
static sqlite3_vfs shim_vfs;

/* Write out what is gathered, in pieces of at most WRITE_BYTES. SQLITE_OK, or the default VFS's
 * error (the bytes are dropped). */
static int flush(wb_file *f)
{
    int rc = SQLITE_OK;
    for (size_t done = 0; done < f->buf_len && rc == SQLITE_OK;) {
        size_t n = f->buf_len - done < WRITE_BYTES ? f->buf_len - done : WRITE_BYTES;
        rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)n,
                                       f->buf_off + (sqlite3_int64)done);
        done += n;
    }
    f->buf_len = 0;
    return rc;
}

static int wb_close(sqlite3_file *file)
{
    wb_file *f = (wb_file *)file;
    int rc = flush(f);
    int rc2 = f->real->pMethods->xClose(f->real);
    free(f->buf);
    f->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *file, void *out, int n, sqlite3_int64 off)
{
    wb_file *f = (wb_file *)file;
    int rc = flush(f);
    if (rc != SQLITE_OK) return rc;
    return f->real->pMethods->xRead(f->real, out, n, off);
}

static int wb_write(sqlite3_file *file, const void *data, int n, sqlite3_int64 off)
{
    wb_file *f = (wb_file *)file;
    if (!f->is_wal || n <= 0) return f->real->pMethods->xWrite(f->real, data, n, off);
    /* What is gathered goes first when this write does not extend it, does not fit, or is
     * larger than one piece (then it is written as it is, in order after the rest). */
    if (f->buf_len > 0 && (off != f->buf_off + (sqlite3_int64)f->buf_len ||
                           f->buf_len + (size_t)n > BUFFER_BYTES || (size_t)n > WRITE_BYTES)) {
        int rc = flush(f);
        if (rc != SQLITE_OK) return rc;
    }
    if ((size_t)n > WRITE_BYTES) return f->real->pMethods->xWrite(f->real, data, n, off);
    if (f->buf == NULL) f->buf = xmalloc(BUFFER_BYTES);
    if (f->buf_len == 0) f->buf_off = off;
    memcpy(f->buf + f->buf_len, data, (size_t)n);
    f->buf_len += (size_t)n;
    return SQLITE_OK;
}

static int wb_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    wb_file *f = (wb_file *)file;
    int rc = flush(f);
    if (rc != SQLITE_OK) return rc;
    return f->real->pMethods->xTruncate(f->real, size);
}

static int wb_sync(sqlite3_file *file, int flags)
{
    wb_file *f = (wb_file *)file;
    int rc = flush(f);
    if (rc != SQLITE_OK) return rc;
    return f->real->pMethods->xSync(f->real, flags);
}

static int wb_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    wb_file *f = (wb_file *)file;
    int rc = flush(f);
    if (rc != SQLITE_OK) return rc;
    return f->real->pMethods->xFileSize(f->real, size);
}

/* The rest pass straight through to the default VFS's file. */
#define REAL(file) (((wb_file *)(file))->real)

static int wb_lock(sqlite3_file *file, int lock)
{
    return REAL(file)->pMethods->xLock(REAL(file), lock);
}

static int wb_unlock(sqlite3_file *file, int lock)
{
    return REAL(file)->pMethods->xUnlock(REAL(file), lock);
}

static int wb_check_reserved(sqlite3_file *file, int *out)
{
    return REAL(file)->pMethods->xCheckReservedLock(REAL(file), out);
}

static int wb_file_control(sqlite3_file *file, int op, void *arg)
{
    return REAL(file)->pMethods->xFileControl(REAL(file), op, arg);
}

static int wb_sector_size(sqlite3_file *file)
{
    return REAL(file)->pMethods->xSectorSize(REAL(file));
}

static int wb_device_characteristics(sqlite3_file *file)
{
    return REAL(file)->pMethods->xDeviceCharacteristics(REAL(file));
}

static int wb_shm_map(sqlite3_file *file, int region, int size, int extend, void volatile **out)
{
    return REAL(file)->pMethods->xShmMap(REAL(file), region, size, extend, out);
}

static int wb_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
    return REAL(file)->pMethods->xShmLock(REAL(file), offset, n, flags);
}

static void wb_shm_barrier(sqlite3_file *file)
{
    REAL(file)->pMethods->xShmBarrier(REAL(file));
}

static int wb_shm_unmap(sqlite3_file *file, int delete_flag)
{
    return REAL(file)->pMethods->xShmUnmap(REAL(file), delete_flag);
}

static int wb_fetch(sqlite3_file *file, sqlite3_int64 off, int n, void **out)
{
    return REAL(file)->pMethods->xFetch(REAL(file), off, n, out);
}

static int wb_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
    return REAL(file)->pMethods->xUnfetch(REAL(file), off, p);
}

static const sqlite3_io_methods wrapped_io = {
    .iVersion = 3,
    .xClose = wb_close,
    .xRead = wb_read,
    .xWrite = wb_write,
    .xTruncate = wb_truncate,
    .xSync = wb_sync,
    .xFileSize = wb_file_size,
    .xLock = wb_lock,
    .xUnlock = wb_unlock,
    .xCheckReservedLock = wb_check_reserved,
    .xFileControl = wb_file_control,
    .xSectorSize = wb_sector_size,
    .xDeviceCharacteristics = wb_device_characteristics,
    .xShmMap = wb_shm_map,
    .xShmLock = wb_shm_lock,
    .xShmBarrier = wb_shm_barrier,
    .xShmUnmap = wb_shm_unmap,
    .xFetch = wb_fetch,
    .xUnfetch = wb_unfetch,
};

static int wb_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
                   int *out_flags)
{
    (void)vfs;
    wb_file *f = (wb_file *)file;
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *)(f + 1);
    int rc = parent_vfs->xOpen(parent_vfs, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK || f->real->pMethods == NULL) return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
    /* Everything below passes through, so the wrapper offers what the real file offers. */
    if (f->real->pMethods->iVersion < 3) {
        f->real->pMethods->xClose(f->real);
        return SQLITE_CANTOPEN;
    }
    f->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
    f->base.pMethods = &wrapped_io;
    return SQLITE_OK;
}

static void register_vfs(const char *parent_name)
{
    parent_vfs = sqlite3_vfs_find(parent_name);
    if (parent_vfs == NULL) return;
    /* Everything but opening files is the parent VFS's own, with its own pAppData. */
    shim_vfs = *parent_vfs;
    shim_vfs.pNext = NULL;
    shim_vfs.zName = "verifyd-wal-buffer";
    shim_vfs.szOsFile = (int)sizeof(wb_file) + parent_vfs->szOsFile;
    shim_vfs.xOpen = wb_open;
    if (sqlite3_vfs_register(&shim_vfs, 0) != SQLITE_OK) parent_vfs = NULL;
}

const char *wal_buffer_vfs(const char *parent)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static int registered;
    pthread_mutex_lock(&mu);
    if (!registered) register_vfs(parent);
    registered = 1;
    pthread_mutex_unlock(&mu);
    return parent_vfs != NULL ? shim_vfs.zName : parent;
}
