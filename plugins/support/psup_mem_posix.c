/*
 * psup_mem_posix: psup_mem.h on POSIX.  Anonymous mappings; on Linux,
 * blocks from 1 MiB on are whole, aligned 2 MiB units marked for huge pages.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MADV_HUGEPAGE */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "psup_mem.h"

#define HUGE_BYTES ((size_t)2 << 20)

/* Mapped length of an n-byte block: whole pages, whole 2 MiB units from 1 MiB on. */
static size_t map_len(size_t n)
{
#if defined(MADV_HUGEPAGE)
    if (n >= HUGE_BYTES / 2)
        return (n + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);
#endif
    long p = sysconf(_SC_PAGESIZE);
    size_t page = p > 0 ? (size_t)p : 4096;
    return (n + page - 1) & ~(page - 1);
}

void *psup_big_alloc(size_t n)
{
    if (n == 0 || n > SIZE_MAX / 4)
        return NULL;
    size_t len = map_len(n);
#if defined(MADV_HUGEPAGE)
    if (len >= HUGE_BYTES) {
        /* Map 2 MiB more and keep the aligned part: huge pages need aligned 2 MiB runs. */
        size_t span = len + HUGE_BYTES;
        uint8_t *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        uint8_t *a = (uint8_t *)(((uintptr_t)m + HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1));
        if (a > m)
            munmap(m, (size_t)(a - m));
        size_t tail = span - (size_t)(a - m) - len;
        if (tail)
            munmap(a + len, tail);
        madvise(a, len, MADV_HUGEPAGE);
        return a;
    }
#endif
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

void psup_big_free(void *p, size_t n)
{
    if (p != NULL)
        munmap(p, map_len(n));
}
