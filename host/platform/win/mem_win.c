/*
 * Big memory blocks (see plat_big_alloc in platform.h): committed virtual
 * memory, zeroed and page-aligned by the system.
 */
#include <windows.h>

#include "../platform.h"

void *plat_big_alloc(size_t n)
{
    if (n == 0)
        return NULL;
    return VirtualAlloc(NULL, n, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
}

void plat_big_free(void *p, size_t n)
{
    (void)n;
    if (p != NULL)
        VirtualFree(p, 0, MEM_RELEASE);
}
