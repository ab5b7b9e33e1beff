/*
 * psup_reserve on Windows (see psup_os.h): nothing is reserved; NTFS
 * allocates as a file grows.
 */
#if defined(_WIN32)
#include <stdint.h>

#include "psup_os.h"

int psup_reserve(psup_file *f, uint64_t from, uint64_t len)
{
    (void)f;
    (void)from;
    (void)len;
    return 0;
}
#endif
