/*
 * etl_writer: the project's own .etl writer, for fixtures and benchmarks.
 *
 * Produces files that the reader (and Windows' own tools, as far as the
 * layout goes) accept: a header buffer holding the logfile header record
 * (32- or 64-bit layout), then data buffers filled per processor and written
 * when full, so buffers of different processors interleave in the file the
 * way real per-CPU flushing makes them.  Data buffers can be LZ77-compressed
 * (BufferFlag 0x40, LogFileMode EVENT_TRACE_COMPRESSED_MODE).
 *
 * Callers append records with explicit header fields (struct etl_wrecord);
 * timestamps are raw values in the trace's clock (QPC ticks, FILETIME for
 * the system clock, or CPU cycles), with the logfile header record at
 * t0_raw.  Nothing is validated beyond what the format needs: the writer
 * also serves to produce odd files on purpose.
 *
 * Threading: one writer, one thread.  Errors: ERR_INVAL (bad option or
 * record), ERR_RANGE (record larger than a buffer), ERR_IO, ERR_NOMEM; eb
 * names the problem.  After an error the writer only accepts close.
 */
#ifndef ETWHOST_ETL_WRITER_H
#define ETWHOST_ETL_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"
#include "../record/record.h"

struct etl_writer;

struct etl_writer_options {
    uint32_t pointer_size; /* 4 or 8 (default 8): logfile header layout, PointerSize */
    uint32_t clock_type;   /* TRACE_CLOCK_QPC (default), _SYSTEM or _CYCLES */
    uint32_t num_cpus;     /* NumberOfProcessors (default 1) */
    uint32_t buffer_size;  /* session buffer size and stride of plain buffers (default 64 KiB) */
    int compress;          /* compress data buffers */
    int64_t start_time;    /* FILETIME of the session start (default 2024-01-01T00:00:00Z) */
    int64_t perf_freq;     /* QPC ticks per second (default 10 MHz) */
    uint32_t cpu_mhz;      /* CpuSpeedInMHz (default 3000) */
    int64_t t0_raw;        /* raw timestamp of the logfile header record */
    uint32_t os_major, os_minor, os_build; /* default 10.0 build 19045 */
    uint32_t log_file_mode;   /* default 0x1 (sequential); compress adds 0x04000000 */
    const char *logger_name;  /* UTF-8 (ASCII expected), default "etwhost" */
    const char *logfile_name; /* UTF-8, default "" */
    int32_t tz_bias_minutes;
};

/* One extended data item of an EVENT_HEADER record. */
struct etl_wext {
    uint16_t type; /* EXT_* */
    uint16_t len;
    const void *data;
};

/* A record to append.  Fields not used by the record's kind are ignored. */
struct etl_wrecord {
    uint16_t kind;   /* ETWHOST_HK_SYSTEM, _PERFINFO, _TRACE, _INSTANCE, _EVENT, _MESSAGE */
    uint8_t ptr32;   /* 32-bit header type (0x01/0x03/0x10/0x0A/0x0B/0x12); WPP: POINTER32 */
    uint8_t compact; /* SYSTEM: compact header (0x03/0x04, no kernel/user time) */
    uint32_t cpu;    /* processor whose buffer receives the record (< 65536) */
    int64_t raw_timestamp;
    uint32_t pid, tid;
    /* EVENT: provider; TRACE/INSTANCE: event class GUID; MESSAGE: message GUID. */
    etwhost_guid guid;
    /* EVENT descriptor; TRACE/INSTANCE use opcode (Class.Type), level and version. */
    uint16_t id;
    uint8_t version, channel, level, opcode;
    uint16_t task;
    uint64_t keywords;
    uint16_t flags;          /* EVENT_HEADER.Flags; EXTENDED_INFO is set from n_ext */
    uint16_t event_property; /* EVENT_HEADER.EventProperty */
    etwhost_guid activity;
    const struct etl_wext *ext; /* EVENT: extended items, written in this order */
    uint32_t n_ext;
    /* SYSTEM / PERFINFO: hook id; version above; optional PEBS index and PMC counters. */
    uint16_t hook_id;
    uint8_t has_pebs;
    uint64_t pebs;
    const uint64_t *pmc;
    uint32_t n_pmc; /* 0..7 */
    /* INSTANCE */
    uint32_t instance_id, parent_instance_id;
    etwhost_guid parent_guid;
    /* MESSAGE: OptionFlags choose which of sequence, component id / GUID, timestamp, tid/pid
       are written (ETL_WPP_* in etl_format.h: 0x01, 0x04 / 0x02, 0x08, 0x20). */
    uint16_t message_number, wpp_options;
    uint32_t sequence, component_id;
    /* User data. */
    const void *data;
    uint32_t data_len;
};

/*
 * Start a trace.  path NULL writes to memory (see etl_writer_close).  o may
 * be NULL for the defaults.  *out owned by the caller until
 * etl_writer_close.  ERR_INVAL, ERR_IO, ERR_NOMEM.
 */
int etl_writer_open(const char *path, const struct etl_writer_options *o, struct etl_writer **out,
                    struct errbuf *eb);

/* Append one record to its processor's buffer (writing that buffer out first if full). */
int etl_writer_append(struct etl_writer *w, const struct etl_wrecord *rec, struct errbuf *eb);

/*
 * Classic KernelTraceControl MetaData records (class bbccf6c1-6cd1-48c4-80ff-
 * 839482e37671, 64-bit header): type 32 carries a TRACE_EVENT_INFO blob,
 * type 33 the provider GUID followed by an EVENT_MAP_INFO blob.
 */
int etl_writer_tdh_event_info(struct etl_writer *w, uint32_t cpu, int64_t raw_ts, uint32_t pid,
                              uint32_t tid, const void *tei, uint32_t len, struct errbuf *eb);
int etl_writer_tdh_map_info(struct etl_writer *w, uint32_t cpu, int64_t raw_ts, uint32_t pid,
                            uint32_t tid, const etwhost_guid *provider, const void *emi,
                            uint32_t len, struct errbuf *eb);

/*
 * Write the remaining buffers (in processor order), finalize the logfile
 * header (EndTime, BuffersWritten) and release the writer (always, also
 * on error).  For a memory writer *data and *len receive the file bytes
 * (mem_alloc'd, the caller frees them with mem_free); pass NULL otherwise.
 */
int etl_writer_close(struct etl_writer *w, uint8_t **data, size_t *len, struct errbuf *eb);

/* Records and buffers written so far (the header buffer included in buffers). */
void etl_writer_counts(const struct etl_writer *w, uint64_t *records, uint64_t *buffers);

/*
 * Make a large trace from a real one: dst gets src's header buffer, then
 * src's data buffers repeated until dst reaches target_bytes (at least one
 * copy).  Every copy shifts all record timestamps by the source's time span
 * and buffer SequenceNumbers by the source's buffer count, so the result is
 * a valid, longer trace; compressed buffers are inflated, patched and
 * compressed again.  *copies receives the number of copies.  ERR_FORMAT for
 * a source the walk cannot handle, ERR_IO, ERR_NOMEM.
 */
int etl_repeat_file(const char *src, const char *dst, uint64_t target_bytes, uint64_t *copies,
                    struct errbuf *eb);

#endif
