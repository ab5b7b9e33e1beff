/*
 * psup_reserve on POSIX (see psup_os.h): fallocate(FALLOC_FL_KEEP_SIZE) on
 * Linux, nothing elsewhere.  A file of its own because fallocate is declared
 * only with _GNU_SOURCE, which must not reach psup_os_posix.c (it would turn
 * strerror_r into the GNU variant).
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

int psup_reserve(psup_file *f, uint64_t from, uint64_t len)
{
#if defined(__linux__) && defined(FALLOC_FL_KEEP_SIZE)
    if (from > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - from)
        return EINVAL;
    if (fallocate((int)f->h, FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)len) != 0)
        return errno;
    return 0;
#else
    (void)f;
    (void)from;
    (void)len;
    return ENOSYS;
#endif
}
#endif
