/*
 * etl_reader: the portable .etl file reader (pure C, no Windows API).
 *
 * Walks the file's buffers by their own BufferSize, inflates compressed
 * buffers (MS-XCA Plain LZ77), parses every record header kind into a
 * struct record and converts timestamps to UTC FILETIME.  Layouts and rules:
 * shared/docs/etl-format.md; behaviour and guarantees: docs/etl-reader.md.
 *
 * Order.  By default records come in timestamp order: buffers are grouped
 * into streams (one per processor, plus the header buffer), each stream
 * keeps file order, and the streams are merged by raw timestamp (ties: file
 * order).  The reader looks ahead at most `lookahead` buffer headers beyond
 * the ones it is reading, so memory stays O(processors x buffer size); a
 * buffer whose first records are older than records already returned and
 * that lies further ahead than that is merged late (records of one
 * processor never change order).  file_order = 1 returns records exactly in
 * file order.
 *
 * Errors.  Opening fails with one line naming the file and offset when the
 * file is not an .etl file (empty, no logfile header, bad clock).  While
 * reading, corruption is recoverable: a damaged buffer or record is counted
 * in etl_stats, reported once per buffer (warning callback, or log_warn for
 * the first 20), and reading goes on with the next buffer.  Only running
 * out of memory or a failing read (an I/O error, or the file shrank while
 * being read) makes etl_next fail.
 *
 * Threading: a reader is used by one thread at a time; different readers
 * are independent.
 */
#ifndef ETWHOST_ETL_READER_H
#define ETWHOST_ETL_READER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"
#include "../record/record.h"

struct etl_reader;

/* Called for each recoverable problem: one line "name: offset 0x...: what". */
typedef void (*etl_warn_fn)(void *ctx, const char *msg);

/* Options; all-zero means the defaults. */
struct etl_options {
    int file_order;            /* 0 = timestamp order across per-CPU buffers (default), 1 = file order */
    uint64_t max_buffer_bytes; /* cap on a decompressed buffer (and, for a file, on a buffer read
                                  from it), default 64 MiB; all such buffers held at once are
                                  capped at 8x this */
    uint32_t lookahead;        /* time order: buffer headers read ahead, default 1024 */
    etl_warn_fn warn;          /* NULL = log_warn (first 20 per reader, then a summary at close) */
    void *warn_ctx;
};

/* Counters of one reader; corruption is counted, never silent. */
struct etl_stats {
    uint64_t buffers;            /* buffer headers walked (including damaged ones) */
    uint64_t compressed_buffers; /* of which compressed and inflated successfully */
    uint64_t records;            /* records returned */
    uint64_t bytes;              /* on-disk bytes of the buffers walked */
    uint64_t bad_buffers;        /* buffers (partly) dropped: bad size, bad Offset, bad LZ77 stream */
    uint64_t bad_records;        /* records dropped inside otherwise usable buffers */
    uint64_t skipped_bytes;      /* bytes not turned into records because of the above, plus
                                    trailing bytes after the last buffer */
    uint64_t late_records;       /* time order: records older than one already returned */
};

/*
 * Open an .etl file (read at offsets, not mapped).  opt may be NULL.  On
 * success *out is owned by the caller (etl_close).  Errors: ERR_NOTFOUND /
 * ERR_IO (cannot open, not a regular file), ERR_FORMAT (not an .etl file, damaged logfile header,
 * unusable clock), ERR_NOMEM; eb holds "path: offset 0x...: what".
 */
int etl_open(const char *path, const struct etl_options *opt, struct etl_reader **out,
             struct errbuf *eb);

/*
 * The same over bytes in memory (fuzzing, tests, archives).  data must stay
 * unchanged and alive until etl_close; name is used in messages (copied).
 */
int etl_open_mem(const uint8_t *data, size_t len, const char *name,
                 const struct etl_options *opt, struct etl_reader **out, struct errbuf *eb);

/*
 * The logfile header as a trace_info (path = the name given at open).
 * Owned by the reader, valid until etl_close; records point at it.
 */
const struct trace_info *etl_info(const struct etl_reader *r);

/* LogFileName from the logfile header, UTF-8 ("" if none).  Owned by the reader. */
const char *etl_logfile_name(const struct etl_reader *r);

/*
 * Next record.  Returns 1 with *rec filled (its pointers valid until the
 * next etl_next or etl_close), 0 at the end, or a negative ERR_* with eb
 * set ("name: offset 0x...: what") on a fatal error (ERR_NOMEM, ERR_IO).
 * rec->seq counts returned records from 0; rec->offset is the record's file
 * offset, or for records of compressed buffers the buffer's file offset.
 */
int etl_next(struct etl_reader *r, struct record *rec, struct errbuf *eb);

/* Copy the counters so far. */
void etl_get_stats(const struct etl_reader *r, struct etl_stats *st);

/* Release the reader (NULL is fine). */
void etl_close(struct etl_reader *r);

/*
 * Convert a raw timestamp of the trace's clock to UTC FILETIME with exact
 * integer arithmetic: QPC ft = start + (raw - t0) * 10^7 / perf_freq, system
 * time ft = raw, CPU cycles ft = start + (raw - t0) * 10 / cpu_mhz; the
 * quotient is truncated toward zero and saturates at the int64 range.  Pure;
 * an unusable clock (zero frequency) returns raw unchanged.
 */
int64_t etl_clock_to_filetime(const struct trace_info *ti, int64_t raw);

#endif
