/*
 * live_consumer: real-time consumption of one ETW session.
 *
 * A live_trace starts (or joins) its session, opens it with OpenTrace and
 * runs ProcessTrace on a dedicated thread.  Each EVENT_RECORD the callback
 * receives becomes the same struct record the .etl reader produces
 * (live_event_to_record: raw timestamps converted with the session's clock
 * exactly like etl_clock_to_filetime, extended items rebuilt in the in-file
 * layout {u16 size, u16 type, u16 linkage, u16 datasize, data} so the
 * TraceLogging / related-activity shortcuts work identically), gets its TDH
 * schema when it has no in-band one (live_tdh), and is copied into a batch
 * of the source's live_queue.
 *
 * Losses are counted, never silent: RT_LostEvent / RT_LostBuffer /
 * RT_LostFile events (class 6a399ae0-4bc6-4de9-870b-3657f8947e7e, opcodes
 * 32/33/34) are counted and not forwarded; EventsLost, LogBuffersLost and
 * RealTimeBuffersLost come from ControlTrace QUERY.  When ProcessTrace
 * returns while nobody asked it to (the session was stopped from outside),
 * the session is started again and the restart counted.
 *
 * The queue is bounded (batches of the pipeline's size): when it is full
 * the callback waits, so pressure goes back to ETW's own buffers, whose
 * overflow ETW counts.
 *
 * Shutdown: stop the session if this process owns it (ETW then delivers
 * what it buffered and ProcessTrace returns) or close the trace; wait up to
 * a timeout; then CloseTrace; then, if ProcessTrace still does not return,
 * abandon its thread: everything that thread touches is reference counted
 * and freed by whoever lets go last, and the queue drops (and counts) what
 * the abandoned callback still delivers.
 *
 * Threading: the consumer thread runs the callback; the owner (the source
 * thread) takes batches, asks for statistics and shuts down.
 */
#ifndef ETWHOST_LIVE_CONSUMER_H
#define ETWHOST_LIVE_CONSUMER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"
#include "../record/batch.h"
#include "etw_api.h"
#include "live_session.h"
#include "live_tdh.h"

/* ---- Conversion ---- */

/*
 * Convert ev into rec: header fields, kind (EVENT / classic / kernel /
 * instance / WPP), pointer size, raw and UTC timestamps (with ti's clock),
 * extended items in the in-file layout built in *scratch (grown with
 * mem_realloc; the caller frees it), shortcuts, payload.  kernel_session
 * marks classic events of kernel / system-logger sessions as kernel
 * records.  rec points into ev's memory and *scratch.  0 or ERR_NOMEM.
 */
int live_event_to_record(const struct etw_event *ev, const struct trace_info *ti,
                         int kernel_session, uint8_t **scratch, size_t *cap,
                         struct record *rec);

/* ---- Queue between consumer callbacks and the source ---- */

struct live_queue;

struct live_queue_stats {
    uint64_t pushed;  /* records queued */
    uint64_t dropped; /* records dropped because the queue was closed (shutdown) */
    uint64_t nomem;   /* records dropped for lack of memory */
    uint64_t waits;   /* times a callback waited for room (back-pressure) */
};

/*
 * A queue of at most max_batches batches of batch_cap records (one
 * reference).  NULL on out of memory.
 */
struct live_queue *live_queue_new(uint32_t batch_cap, uint32_t max_batches);
void live_queue_ref(struct live_queue *q);
void live_queue_unref(struct live_queue *q);

/*
 * Copy rec into the queue, waiting while it is full.  After
 * live_queue_close, records are dropped and counted instead.
 */
void live_queue_push(struct live_queue *q, const struct record *rec);

/*
 * Move the oldest full batch (or, after wait_ms without one, the partly
 * filled one) into b, which must be empty; returns the records moved, 0 if
 * none.  The batch's memory is swapped, not copied, when capacities match.
 */
uint32_t live_queue_take(struct live_queue *q, struct record_batch *b, uint32_t wait_ms);

/* 1 if no record is waiting. */
int live_queue_empty(struct live_queue *q);

/* Refuse further records (they are counted as dropped) and wake waiters. */
void live_queue_close(struct live_queue *q);

void live_queue_get_stats(struct live_queue *q, struct live_queue_stats *out);

/* ---- A consumed session ---- */

struct live_trace;

struct live_trace_stats {
    uint64_t events;          /* records handed to the queue */
    uint64_t rt_lost_events;  /* RT_LostEvent (opcode 32) */
    uint64_t rt_lost_buffers; /* RT_LostBuffer (opcode 33) */
    uint64_t rt_lost_files;   /* RT_LostFile (opcode 34) */
    uint64_t restarts;        /* successful restarts after an external stop */
    uint64_t restart_failures;
    int owned;                /* the session was started by this process */
    int ended;                /* the consumer ended for good */
    uint32_t query_rc;        /* Win32 code of the last QUERY (ETW_OK if 'session' is fresh) */
    struct etw_session_props session; /* last ControlTrace QUERY (or the final one) */
};

/*
 * Start consuming the session of cfg (ownership of cfg passes to the trace
 * in every case): start or join it, enable its providers, open it and
 * start the consumer thread.  q and tdh (may be NULL) get a reference each.
 * On failure eb has one line and nothing is left running.
 */
int live_trace_start(const struct etw_api *api, struct live_session_cfg *cfg,
                     struct live_queue *q, struct live_tdh *tdh, struct live_trace **out,
                     struct errbuf *eb);

/* The session configuration (owned by the trace; valid while the caller holds t). */
const struct live_session_cfg *live_trace_cfg(const struct live_trace *t);

/* Ask the consumer to finish: stop an owned session (ETW flushes) or close the trace. */
void live_trace_request_stop(struct live_trace *t);

/* 1 once the consumer thread has returned (all its records are queued). */
int live_trace_finished(struct live_trace *t);

/*
 * Stop and release: request_stop, wait up to timeout_ms, CloseTrace, wait
 * up to another second, then abandon the thread if it is still inside
 * ProcessTrace.  Returns 0 when the thread was joined, 1 when abandoned.
 * t is invalid afterwards.
 */
int live_trace_shutdown(struct live_trace *t, uint32_t timeout_ms);

/* Counters; with query != 0 a fresh ControlTrace QUERY first. */
void live_trace_get_stats(struct live_trace *t, int query, struct live_trace_stats *out);

#endif
