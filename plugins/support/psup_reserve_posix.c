/*
 * psup_reserve, psup_writeback_start and psup_drop_cached on POSIX (see
 * psup_os.h): fallocate(FALLOC_FL_KEEP_SIZE), sync_file_range and
 * posix_fadvise on Linux, nothing elsewhere.  A file of its own because
 * fallocate and sync_file_range are declared only with _GNU_SOURCE, which
 * must not reach psup_os_posix.c (it would turn strerror_r into the GNU
 * variant).
 */
#if !defined(_WIN32)
#if defined(__linux__)
#define _GNU_SOURCE
#endif
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>

#include "psup_os.h"

#if defined(__linux__) && defined(FALLOC_FL_KEEP_SIZE) && defined(SYNC_FILE_RANGE_WRITE)

/* 0 when [from, from+len) fits off_t. */
static int range_ok(uint64_t from, uint64_t len)
{
    return from <= (uint64_t)INT64_MAX && len <= (uint64_t)INT64_MAX - from ? 0 : -1;
}

int psup_reserve(psup_file *f, uint64_t from, uint64_t len)
{
    if (range_ok(from, len))
        return EINVAL;
    if (fallocate((int)f->h, FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)len) != 0)
        return errno;
    return 0;
}

int psup_writeback_start(psup_file *f, uint64_t from, uint64_t len)
{
    if (range_ok(from, len))
        return EINVAL;
    if (sync_file_range((int)f->h, (off_t)from, (off_t)len, SYNC_FILE_RANGE_WRITE) != 0)
        return errno;
    return 0;
}

int psup_drop_cached(psup_file *f, uint64_t from, uint64_t len)
{
    if (range_ok(from, len))
        return EINVAL;
    unsigned flags = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                     SYNC_FILE_RANGE_WAIT_AFTER;
    if (sync_file_range((int)f->h, (off_t)from, (off_t)len, flags) != 0)
        return errno;
    return posix_fadvise((int)f->h, (off_t)from, (off_t)len, POSIX_FADV_DONTNEED);
}

#else /* other systems: nothing to do */

int psup_reserve(psup_file *f, uint64_t from, uint64_t len)
{
    (void)f;
    (void)from;
    (void)len;
    return ENOSYS;
}

int psup_writeback_start(psup_file *f, uint64_t from, uint64_t len)
{
    (void)f;
    (void)from;
    (void)len;
    return ENOSYS;
}

int psup_drop_cached(psup_file *f, uint64_t from, uint64_t len)
{
    (void)f;
    (void)from;
    (void)len;
    return ENOSYS;
}

#endif
#endif
