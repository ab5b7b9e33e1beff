/*
 * batch: record batches with owned bytes (see batch.h).
 */
#include "batch.h"

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

void batch_free(struct record_batch *b)
{
    mem_free(b->recs);
    arena_free(&b->arena);
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
