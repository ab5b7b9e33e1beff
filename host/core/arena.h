/*
 * arena: a bump allocator for per-batch / per-event scratch memory.
 *
 * Allocations live until arena_reset() or arena_free().  Chunks are kept
 * across resets, so a steady pipeline stops allocating after warm-up.
 * Not thread-safe: one owner at a time.
 */
#ifndef ETWHOST_ARENA_H
#define ETWHOST_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head;  /* current chunk */
    struct arena_chunk *spare; /* chunks kept for reuse after reset */
    size_t chunk_size;         /* default chunk size (0 = 64 KiB) */
    size_t used_total;         /* bytes handed out since the last reset */
};

#define ARENA_INIT {NULL, NULL, 0, 0}

/* n bytes aligned to 16; NULL on out of memory. */
void *arena_alloc(struct arena *a, size_t n);
/* Copy n bytes (plus a NUL terminator when as_str). */
void *arena_dup(struct arena *a, const void *p, size_t n, int as_str);
/* Forget all allocations; keep one default-sized chunk of memory for reuse. */
void arena_reset(struct arena *a);
/* Release everything (not the memory given with arena_give). */
void arena_free(struct arena *a);
/*
 * Give the arena a chunk of the caller's memory (bytes long, 16-byte
 * aligned, outliving the arena): used before any chunk of its own, kept by
 * every reset, never freed by the arena.  For pools committed at start.
 * Bytes usable for allocations: bytes - arena_chunk_overhead().
 */
void arena_give(struct arena *a, void *mem, size_t bytes);
size_t arena_chunk_overhead(void);

#endif
