/*
 * mem: counting, fault-injecting allocation wrapper (see mem.h).
 */
#include "mem.h"
#include "err.h"
#include "../platform/platform.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_llong live_blocks;
static atomic_llong fail_countdown; /* 0 = off; counts down to 1 then fails */
static atomic_int env_read;

static void read_env_once(void)
{
    if (atomic_exchange(&env_read, 1))
        return;
    const char *s = getenv("ETWHOST_FAIL_ALLOC");
    if (s && *s) {
        long long n = strtoll(s, NULL, 10);
        if (n > 0)
            atomic_store(&fail_countdown, n);
    }
}

/* True if this allocation must fail (fault injection). */
static int should_fail(void)
{
    if (!atomic_load_explicit(&env_read, memory_order_relaxed))
        read_env_once();
    long long c = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (c == 0)
        return 0;
    if (c == 1)
        return 1; /* stays failing */
    atomic_fetch_sub(&fail_countdown, 1);
    return 0;
}

void *mem_alloc(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = malloc(n ? n : 1);
    if (p)
        atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
    return p;
}

void *mem_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    if (should_fail())
        return NULL;
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p)
        atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
    return p;
}

void *mem_realloc(void *p, size_t n)
{
    if (p == NULL)
        return mem_alloc(n);
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void mem_free(void *p)
{
    if (p == NULL)
        return;
    atomic_fetch_sub_explicit(&live_blocks, 1, memory_order_relaxed);
    free(p);
}

void *mem_alloc_big(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = plat_big_alloc(n ? n : 1);
    if (p)
        atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
    return p;
}

void mem_free_big(void *p, size_t n)
{
    if (p == NULL)
        return;
    atomic_fetch_sub_explicit(&live_blocks, 1, memory_order_relaxed);
    plat_big_free(p, n ? n : 1);
}

char *mem_strndup(const char *s, size_t n)
{
    char *d = mem_alloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *mem_strdup(const char *s)
{
    return mem_strndup(s, strlen(s));
}

int mem_grow(void *pp, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / size)
            return ERR_NOMEM;
        ncap *= 2;
    }
    void *np = mem_realloc(*(void **)pp, ncap * size);
    if (np == NULL)
        return ERR_NOMEM;
    *(void **)pp = np;
    *cap = ncap;
    return 0;
}

int64_t mem_live_blocks(void)
{
    return atomic_load(&live_blocks);
}

void mem_fail_after(int64_t n)
{
    atomic_store(&env_read, 1);
    atomic_store(&fail_countdown, n);
}
