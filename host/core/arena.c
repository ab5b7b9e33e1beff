/*
 * arena: bump allocator (see arena.h).
 */
#include "arena.h"

#include <string.h>

#include "mem.h"

struct arena_chunk {
    struct arena_chunk *next;
    size_t size; /* usable bytes in data */
    size_t used;
    int external; /* memory of the arena's owner (arena_give): never freed here */
    _Alignas(16) unsigned char data[];
};

static struct arena_chunk *chunk_new(size_t size)
{
    struct arena_chunk *c = mem_alloc(sizeof *c + size);
    if (c) {
        c->next = NULL;
        c->size = size;
        c->used = 0;
        c->external = 0;
    }
    return c;
}

size_t arena_chunk_overhead(void)
{
    return sizeof(struct arena_chunk);
}

void arena_give(struct arena *a, void *mem, size_t bytes)
{
    if (bytes <= sizeof(struct arena_chunk))
        return;
    struct arena_chunk *c = mem;
    c->size = bytes - sizeof *c;
    c->used = 0;
    c->external = 1;
    c->next = a->spare;
    a->spare = c;
}

void *arena_alloc(struct arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct arena_chunk *c = a->head;
    if (c == NULL || c->size - c->used < n) {
        size_t def = a->chunk_size ? a->chunk_size : 65536;
        /* Reuse a spare chunk if it is big enough. */
        struct arena_chunk **pp = &a->spare;
        c = NULL;
        while (*pp) {
            if ((*pp)->size >= n) {
                c = *pp;
                *pp = c->next;
                break;
            }
            pp = &(*pp)->next;
        }
        if (c == NULL) {
            c = chunk_new(n > def ? n : def);
            if (c == NULL)
                return NULL;
        }
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    a->used_total += n;
    return p;
}

void *arena_dup(struct arena *a, const void *p, size_t n, int as_str)
{
    unsigned char *d = arena_alloc(a, n + (as_str ? 1 : 0));
    if (d) {
        if (n)
            memcpy(d, p, n);
        if (as_str)
            d[n] = 0;
    }
    return d;
}

void arena_reset(struct arena *a)
{
    /*
     * Keep at most one default-sized chunk's worth for reuse: an arena that
     * once needed much more (one huge batch) gives the excess back, so memory
     * does not creep up with the length of a run.
     */
    size_t def = a->chunk_size ? a->chunk_size : 65536;
    size_t kept = 0;
    for (struct arena_chunk *c = a->spare; c; c = c->next)
        kept += c->size;
    /* Given chunks stay whatever the rule (they count towards it, though). */
    for (struct arena_chunk *c = a->head; c; c = c->next)
        if (c->external)
            kept += c->size;
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *next = c->next;
        if (c->external) {
            c->next = a->spare;
            a->spare = c;
        } else if (kept + c->size <= def) {
            c->next = a->spare;
            a->spare = c;
            kept += c->size;
        } else {
            mem_free(c);
        }
        c = next;
    }
    a->head = NULL;
    a->used_total = 0;
}

void arena_free(struct arena *a)
{
    arena_reset(a);
    struct arena_chunk *c = a->spare;
    while (c) {
        struct arena_chunk *next = c->next;
        if (!c->external)
            mem_free(c);
        c = next;
    }
    a->spare = NULL;
}
