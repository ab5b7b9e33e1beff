/*
 * psup_mem_win: psup_mem.h on Windows (VirtualAlloc: committed, zero-filled
 * pages; large pages need a privilege a service rarely has, so none here).
 */
#if defined(_WIN32)

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <stdint.h>

#include "psup_mem.h"

void *psup_big_alloc(size_t n)
{
    if (n == 0 || n > SIZE_MAX / 4)
        return NULL;
    return VirtualAlloc(NULL, n, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
}

void psup_big_free(void *p, size_t n)
{
    (void)n;
    if (p != NULL)
        VirtualFree(p, 0, MEM_RELEASE);
}

#else
/* ISO C needs at least one declaration in a translation unit. */
typedef int psup_mem_win_unused;
#endif
