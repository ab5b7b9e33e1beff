/*
 * batch: a group of records that travels from a source to the pipeline.
 *
 * A batch owns copies of its records' bytes in its arena, so the producer's
 * buffers can be reused as soon as a record is pushed.  Batches are recycled
 * (batch_reset keeps the memory).  One thread at a time owns a batch.
 */
#ifndef ETWHOST_BATCH_H
#define ETWHOST_BATCH_H

#include <stdint.h>

#include "../core/arena.h"
#include "record.h"

struct record_batch {
    struct record *recs;
    uint32_t n, cap;
    struct arena arena;
    uint32_t source_index; /* which source produced it */
    struct batch_pool *pool; /* recs and the arena's first chunk come from it, or NULL */
};

/* Prepare an empty batch able to hold cap records.  0 or ERR_NOMEM. */
int batch_init(struct record_batch *b, uint32_t cap);
void batch_free(struct record_batch *b);
/*
 * Batches of a queue can take their record slots and their arena's first
 * chunk from one block, allocated at start (a few page faults instead of
 * hundreds): batch_pool_new makes a block for count batches of cap records;
 * batch_init_pooled initialises b with part index (0..count-1).  Each part
 * keeps the block alive: batch_free gives it back, and the block goes with
 * the last one, whoever holds it then (batch structs may trade their memory,
 * as the live source does).  batch_pool_release gives back parts never used.
 * batch_pool_new: NULL when out of memory.  Thread-safe reference counting.
 */
struct batch_pool;
struct batch_pool *batch_pool_new(uint32_t cap, uint32_t count);
void batch_init_pooled(struct record_batch *b, struct batch_pool *p, uint32_t index);
void batch_pool_release(struct batch_pool *p, uint32_t unused);
/* Forget the records, keep memory. */
void batch_reset(struct record_batch *b);
static inline int batch_full(const struct record_batch *b) { return b->n >= b->cap; }

/*
 * Append a deep copy of rec (raw, ext and data bytes copied into the arena,
 * with pointers rebased).  The trace_info pointer is kept as is (owned by the
 * source, which outlives its batches).  0, ERR_NOMEM or ERR_RANGE (full).
 */
int batch_push_copy(struct record_batch *b, const struct record *rec);

/*
 * Reserve the next record slot without copying; the caller fills it and may
 * use batch arena memory for its bytes.  NULL when full or out of memory.
 */
struct record *batch_push_slot(struct record_batch *b);

#endif
