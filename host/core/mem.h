/*
 * mem: the one allocation wrapper of the host.
 *
 * Every allocation the host makes goes through these functions, so tests can
 * count live blocks and inject failures (ETWHOST_FAIL_ALLOC=N makes the Nth
 * allocation and every later one fail).  All functions are thread-safe.
 * On failure they return NULL and never abort; mem_free(NULL) is a no-op.
 */
#ifndef ETWHOST_MEM_H
#define ETWHOST_MEM_H

#include <stddef.h>
#include <stdint.h>

/* Allocate n bytes (n == 0 allocates 1).  NULL on failure. */
void *mem_alloc(size_t n);
/* Allocate n*size zeroed bytes; NULL on failure or overflow. */
void *mem_calloc(size_t n, size_t size);
/* Resize p to n bytes; on failure p is left untouched and NULL returned. */
void *mem_realloc(void *p, size_t n);
/* Release p (NULL is fine). */
void mem_free(void *p);
/* Copy a NUL-terminated string / the first n bytes plus a NUL. */
char *mem_strdup(const char *s);
char *mem_strndup(const char *s, size_t n);
/* Grow an array *pp of *cap elements of 'size' bytes to hold at least 'need'. 0 or ERR_NOMEM. */
int mem_grow(void *pp, size_t *cap, size_t need, size_t size);

/*
 * A big block that lives long and is used densely (pools allocated at start,
 * archive block buffers): n zeroed bytes, page-aligned, backed by huge pages
 * where the system has them (platform.h plat_big_alloc).  Release with
 * mem_free_big and the same n.  NULL on failure (fault injection included).
 */
void *mem_alloc_big(size_t n);
void mem_free_big(void *p, size_t n);

/* Number of blocks currently allocated (for leak checks in tests). */
int64_t mem_live_blocks(void);
/* Fail the nth allocation from now on (1 = the next); 0 disables. */
void mem_fail_after(int64_t n);

#endif
