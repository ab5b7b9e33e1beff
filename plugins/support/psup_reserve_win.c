/*
 * psup_reserve, psup_writeback_start and psup_drop_cached on Windows (see
 * psup_os.h): not done (NTFS allocates as a file grows; the cache manager
 * writes behind on its own); ERROR_NOT_SUPPORTED, so the caller stops asking.
 */
#if defined(_WIN32)
#include <stdint.h>
#include <windows.h>

#include "psup_os.h"

int psup_reserve(psup_file *f, uint64_t from, uint64_t len)
{
    (void)f;
    (void)from;
    (void)len;
    return ERROR_NOT_SUPPORTED;
}

int psup_writeback_start(psup_file *f, uint64_t from, uint64_t len)
{
    (void)f;
    (void)from;
    (void)len;
    return ERROR_NOT_SUPPORTED;
}

int psup_drop_cached(psup_file *f, uint64_t from, uint64_t len)
{
    (void)f;
    (void)from;
    (void)len;
    return ERROR_NOT_SUPPORTED;
}
#endif
