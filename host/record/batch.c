/*
 * batch: record batches with owned bytes (see batch.h).
 */
#include "batch.h"

#include <stdatomic.h>
#include <string.h>

#include "../core/err.h"
#include "../core/mem.h"

int batch_init(struct record_batch *b, uint32_t cap)
{
    memset(b, 0, sizeof *b);
    b->recs = mem_calloc(cap ? cap : 1, sizeof *b->recs);
    if (b->recs == NULL)
        return ERR_NOMEM;
    b->cap = cap ? cap : 1;
    b->arena.chunk_size = 64 * 1024;
    /*
     * The chunk every batch keeps across resets, allocated and touched now,
     * like the record slots: the working set is committed at start, so peak
     * memory does not depend on how long the input is.
     */
    void *first = arena_alloc(&b->arena, b->arena.chunk_size);
    if (first == NULL)
        return ERR_NOMEM;
    memset(first, 0, b->arena.chunk_size);
    memset(b->recs, 0, b->cap * sizeof *b->recs);
    arena_reset(&b->arena);
    return 0;
}

struct batch_pool {
    atomic_uint refs; /* batches still holding a part */
    uint32_t cap, count;
    size_t per, bytes;
    uint8_t *mem;
};

/* Bytes of one batch's part: its record slots, then its arena's first chunk. */
static size_t part_recs(uint32_t cap)
{
    return ((size_t)cap * sizeof(struct record) + 63) & ~(size_t)63;
}

struct batch_pool *batch_pool_new(uint32_t cap, uint32_t count)
{
    struct batch_pool *p = mem_calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->cap = cap ? cap : 1;
    p->count = count;
    p->per = part_recs(p->cap) + arena_chunk_overhead() + 64 * 1024;
    p->bytes = p->per * count;
    p->mem = mem_alloc_big(p->bytes);
    if (p->mem == NULL) {
        mem_free(p);
        return NULL;
    }
    /* Zeroed by the system and not touched here: a short run faults in only what it uses. */
    atomic_init(&p->refs, count);
    return p;
}

static void pool_unref(struct batch_pool *p)
{
    if (atomic_fetch_sub(&p->refs, 1) == 1) {
        mem_free_big(p->mem, p->bytes);
        mem_free(p);
    }
}

void batch_init_pooled(struct record_batch *b, struct batch_pool *p, uint32_t index)
{
    memset(b, 0, sizeof *b);
    uint8_t *part = p->mem + p->per * index;
    b->cap = p->cap;
    b->recs = (struct record *)(void *)part;
    b->pool = p;
    b->arena.chunk_size = 64 * 1024;
    arena_give(&b->arena, part + part_recs(p->cap), arena_chunk_overhead() + 64 * 1024);
}

void batch_pool_release(struct batch_pool *p, uint32_t unused)
{
    for (uint32_t i = 0; p != NULL && i < unused; i++)
        pool_unref(p);
}

void batch_free(struct record_batch *b)
{
    if (b->pool == NULL)
        mem_free(b->recs);
    /* The arena walks its chunks, the given one included: before the pool can go. */
    arena_free(&b->arena);
    if (b->pool != NULL)
        pool_unref(b->pool);
    memset(b, 0, sizeof *b);
}

void batch_reset(struct record_batch *b)
{
    b->n = 0;
    arena_reset(&b->arena);
}

struct record *batch_push_slot(struct record_batch *b)
{
    if (b->n >= b->cap)
        return NULL;
    struct record *r = &b->recs[b->n++];
    memset(r, 0, sizeof *r);
    return r;
}

/* Rebase p (inside [from, from+len)) into the copy at to. */
static const uint8_t *rebase(const uint8_t *p, const uint8_t *from, uint32_t len, const uint8_t *to)
{
    if (p == NULL)
        return NULL;
    if (p >= from && p <= from + len)
        return to + (p - from);
    return NULL;
}

int batch_push_copy(struct record_batch *b, const struct record *rec)
{
    if (b->n >= b->cap)
        return ERR_RANGE;
    struct record *r = &b->recs[b->n];
    *r = *rec;
    if (rec->raw && rec->raw_len &&
        (rec->data == NULL || (rec->data >= rec->raw && rec->data + rec->data_len <= rec->raw + rec->raw_len)) &&
        (rec->ext == NULL || (rec->ext >= rec->raw && rec->ext + rec->ext_len <= rec->raw + rec->raw_len))) {
        /* Common case: ext and data live inside the raw record; one copy. */
        uint8_t *c = arena_dup(&b->arena, rec->raw, rec->raw_len, 0);
        if (c == NULL)
            return ERR_NOMEM;
        r->raw = c;
        r->data = rebase(rec->data, rec->raw, rec->raw_len, c);
        r->ext = rebase(rec->ext, rec->raw, rec->raw_len, c);
        r->tl_meta = rebase(rec->tl_meta, rec->raw, rec->raw_len, c);
        r->tl_traits = rebase(rec->tl_traits, rec->raw, rec->raw_len, c);
    } else {
        r->raw = NULL;
        r->raw_len = 0;
        if (rec->data_len) {
            uint8_t *d = arena_dup(&b->arena, rec->data, rec->data_len, 0);
            if (d == NULL)
                return ERR_NOMEM;
            r->data = d;
        }
        if (rec->ext_len) {
            uint8_t *e = arena_dup(&b->arena, rec->ext, rec->ext_len, 0);
            if (e == NULL)
                return ERR_NOMEM;
            r->ext = e;
            r->tl_meta = rebase(rec->tl_meta, rec->ext, rec->ext_len, e);
            r->tl_traits = rebase(rec->tl_traits, rec->ext, rec->ext_len, e);
        }
        /* Shortcuts that did not point into ext are copied separately. */
        if (rec->tl_meta && r->tl_meta == NULL) {
            r->tl_meta = arena_dup(&b->arena, rec->tl_meta, rec->tl_meta_len, 0);
            if (r->tl_meta == NULL)
                return ERR_NOMEM;
        }
        if (rec->tl_traits && r->tl_traits == NULL) {
            r->tl_traits = arena_dup(&b->arena, rec->tl_traits, rec->tl_traits_len, 0);
            if (r->tl_traits == NULL)
                return ERR_NOMEM;
        }
    }
    b->n++;
    return 0;
}
