/*
 * buf: growable byte buffer (see buf.h).
 */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>

#include "mem.h"

#define BUF_DEFAULT_LIMIT ((size_t)1 << 30)

int buf_reserve_slow(struct buf *b, size_t n)
{
    size_t limit = b->limit ? b->limit : BUF_DEFAULT_LIMIT;
    if (n > limit || b->len > limit - n)
        return ERR_RANGE;
    size_t need = b->len + n + 1;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap = ncap * 2;
    if (ncap > limit + 1)
        ncap = limit + 1; /* room for a terminating NUL */
    char *np = mem_realloc(b->p, ncap);
    if (np == NULL)
        return ERR_NOMEM;
    b->p = np;
    b->cap = ncap;
    return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ERR_INVAL;
    if ((size_t)n < sizeof small)
        return buf_append(b, small, (size_t)n);
    int rc = buf_reserve(b, (size_t)n + 1);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

const char *buf_cstr(struct buf *b)
{
    if (b->cap <= b->len && buf_reserve_slow(b, 0))
        return NULL;
    b->p[b->len] = '\0';
    return b->p;
}

void buf_free(struct buf *b)
{
    mem_free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

char *buf_take(struct buf *b)
{
    if (buf_cstr(b) == NULL)
        return NULL;
    char *p = b->p;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}
