/*
 * psup_mem: big memory blocks for the built-in plugins.
 *
 * A sink that fills buffers of megabytes (the archive sink's blocks) pays
 * for every fresh page the first time it touches it; with 4 KiB pages that
 * is one fault per page, with huge pages one per 2 MiB.  These blocks come
 * straight from the system (an anonymous mapping on POSIX, on Linux aligned
 * to and marked for transparent huge pages from 1 MiB on; VirtualAlloc on
 * Windows), zero-filled, and go back to it when freed.
 *
 * Ownership: the caller owns the block and frees it with psup_big_free,
 * passing the size it asked for.  Errors: NULL when the system refuses (or
 * n is 0 or absurd).  Threading: thread-safe, no state.
 */
#ifndef ETWHOST_PSUP_MEM_H
#define ETWHOST_PSUP_MEM_H

#include <stddef.h>

/* A zero-filled block of at least n bytes, or NULL. */
void *psup_big_alloc(size_t n);
/* Give back a block of psup_big_alloc(n); NULL is ignored. */
void psup_big_free(void *p, size_t n);

#endif
