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
};

/* Prepare an empty batch able to hold cap records.  0 or ERR_NOMEM. */
int batch_init(struct record_batch *b, uint32_t cap);
void batch_free(struct record_batch *b);
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
