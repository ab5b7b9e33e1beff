/*
 * buf: a growable byte buffer with a hard size cap.
 *
 * A struct buf owns its bytes (allocated with mem_*).  Appends either fit or
 * fail with ERR_NOMEM / ERR_RANGE (cap exceeded) and leave the buffer as it
 * was.  Not thread-safe: one owner at a time.  The inline fast paths keep the
 * JSON writer free of calls on the hot path.
 */
#ifndef ETWHOST_BUF_H
#define ETWHOST_BUF_H

#include <stddef.h>
#include "compiler.h"
#include <stdint.h>
#include <string.h>

#include "err.h"

struct buf {
    char *p;      /* owned; NULL until the first append */
    size_t len;   /* bytes used */
    size_t cap;   /* bytes allocated */
    size_t limit; /* maximum len; 0 = 1 GiB */
};

#define BUF_INIT {NULL, 0, 0, 0}

/* Make room for n more bytes.  0, ERR_NOMEM or ERR_RANGE. */
int buf_reserve_slow(struct buf *b, size_t n);

/* Keeps one spare byte beyond len so buf_cstr never reallocates. */
static inline int buf_reserve(struct buf *b, size_t n)
{
    if (b->cap - b->len > n)
        return 0;
    return buf_reserve_slow(b, n);
}

static inline int buf_append(struct buf *b, const void *data, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

static inline int buf_putc(struct buf *b, char c)
{
    int rc = buf_reserve(b, 1);
    if (rc)
        return rc;
    b->p[b->len++] = c;
    return 0;
}

static inline int buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

/* printf-append.  0, ERR_NOMEM or ERR_RANGE. */
#if defined(__GNUC__) || defined(__clang__)
ETWHOST_PRINTF(2, 3)
#endif
int buf_printf(struct buf *b, const char *fmt, ...);

/* Ensure a NUL after the data (not counted in len); returns b->p or NULL. */
const char *buf_cstr(struct buf *b);

/* Forget the contents, keep the memory. */
static inline void buf_reset(struct buf *b) { b->len = 0; }

/* Release the memory; the buffer is empty and reusable afterwards. */
void buf_free(struct buf *b);

/* Take ownership of the bytes (NUL-terminated); the buffer is reset. NULL on OOM. */
char *buf_take(struct buf *b);

#endif
