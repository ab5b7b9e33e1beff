/*
 * etl_format: on-disk constants of .etl files and the record parser shared
 * by the reader and the writer (internal to host/etl and its tests).
 *
 * Layouts: shared/docs/etl-format.md sections 3-5.  Everything is
 * little-endian; the readers below assemble values byte by byte, which the
 * compilers turn into plain loads on little-endian hosts.
 */
#ifndef ETWHOST_ETL_FORMAT_H
#define ETWHOST_ETL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/le.h"
#include "../record/record.h"

/* WMI_BUFFER_HEADER */
#define ETL_BUF_HDR 0x48u
#define ETL_BUF_SIZE 0x00u      /* u32 BufferSize: stride to the next buffer */
#define ETL_BUF_SAVED 0x04u     /* u32 SavedOffset */
#define ETL_BUF_TIMESTAMP 0x10u /* i64, not used for events */
#define ETL_BUF_SEQ 0x18u       /* i64 SequenceNumber */
#define ETL_BUF_PROC 0x28u      /* u8 ProcessorNumber, or u16 ProcessorIndex with flag 0x20 */
#define ETL_BUF_LOGGER 0x2Au    /* u16 LoggerId */
#define ETL_BUF_STATE 0x2Cu     /* u32 */
#define ETL_BUF_OFFSET 0x30u    /* u32 Offset: end of valid data, header included */
#define ETL_BUF_FLAGS 0x34u     /* u16 BufferFlag */
#define ETL_BUF_TYPE 0x36u      /* u16 BufferType */

#define ETL_BUFFLAG_FLUSH_MARKER 0x01u
#define ETL_BUFFLAG_PROC_INDEX 0x20u
#define ETL_BUFFLAG_COMPRESSED 0x40u
#define ETL_BUFTYPE_GENERIC 0u
#define ETL_BUFTYPE_HEADER 4u

/* Record header types (byte 2 of the first dword). */
#define ETL_HT_SYSTEM32 0x01u
#define ETL_HT_SYSTEM64 0x02u
#define ETL_HT_COMPACT32 0x03u
#define ETL_HT_COMPACT64 0x04u
#define ETL_HT_FULL32 0x0Au /* EVENT_TRACE_HEADER */
#define ETL_HT_INSTANCE32 0x0Bu
#define ETL_HT_PERFINFO32 0x10u
#define ETL_HT_PERFINFO64 0x11u
#define ETL_HT_EVENT32 0x12u
#define ETL_HT_EVENT64 0x13u
#define ETL_HT_FULL64 0x14u
#define ETL_HT_INSTANCE64 0x15u
#define ETL_MARKER_FLAGS_TRACE 0xC0u   /* byte 3 of trace headers */
#define ETL_MARKER_FLAGS_MESSAGE 0x90u /* byte 3 of WPP message headers */

/* Fixed header sizes. */
#define ETL_SYSTEM_HDR 0x20u
#define ETL_COMPACT_HDR 0x18u
#define ETL_PERFINFO_HDR 0x10u
#define ETL_FULL_HDR 0x30u
#define ETL_INSTANCE_HDR 0x48u
#define ETL_EVENT_HDR 0x50u
#define ETL_MESSAGE_HDR 0x08u

/* PERFINFO/SYSTEM Version bits announcing extension items after the header. */
#define ETL_PEBS_FLAG 0x8000u
#define ETL_PMC_MASK 0x0700u

/* EVENT_HEADER.Flags */
#define ETL_EHF_EXTENDED_INFO 0x0001u
#define ETL_EHF_STRING_ONLY 0x0004u

/* MESSAGE_TRACE_HEADER OptionFlags */
#define ETL_WPP_SEQUENCE 0x01u
#define ETL_WPP_GUID 0x02u
#define ETL_WPP_COMPONENTID 0x04u
#define ETL_WPP_TIMESTAMP 0x08u
#define ETL_WPP_PERF_TIMESTAMP 0x10u
#define ETL_WPP_SYSTEMINFO 0x20u
#define ETL_WPP_POINTER32 0x40u
#define ETL_WPP_POINTER64 0x80u

/* TRACE_LOGFILE_HEADER: payload sizes before the two strings. */
#define ETL_LOGFILE_HDR32 0x110u
#define ETL_LOGFILE_HDR64 0x118u

/* LogFileMode bit of compressed sessions. */
#define ETL_MODE_COMPRESSED 0x04000000u

/* Results of etl_parse_record. */
#define ETL_REC_END 0  /* end marker (0 or 0xFFFFFFFF) or fewer than 4 bytes left */
#define ETL_REC_OK 1   /* rec filled, *size valid */
#define ETL_REC_SKIP 2 /* record size is sound but its inside is not: skip it, *size valid */
#define ETL_REC_STOP 3 /* the size is unusable: nothing more can be read from this buffer */

/* Scratch bytes a parse may need for extension items it synthesises. */
#define ETL_SCRATCH_BYTES 96u

/*
 * Parse the record at p with avail bytes left in the buffer's data.  Fills
 * every header field of rec that the record itself carries: kind, evf,
 * hdr_flags, hook_id, raw_version, ids, descriptor, provider GUID, pid/tid,
 * raw_timestamp, ext/tl shortcuts, data, raw (not cpu, offset, seq,
 * timestamp, trace).  *has_ts is 0 for WPP messages without a timestamp.
 * session_ptr (4 or 8) is the pointer size for WPP messages that do not
 * state theirs.  PERFINFO PEBS/PMC items and the instance header's ids are
 * presented as extension items (EXT_PEBS_INDEX, EXT_PMC_COUNTERS,
 * EXT_INSTANCE_INFO) built in scratch, which must stay alive as long as rec.
 * Returns an ETL_REC_* value; on SKIP/STOP *why names the problem.
 */
int etl_parse_record(const uint8_t *p, uint32_t avail, uint32_t session_ptr, struct record *rec,
                     uint8_t *scratch, uint32_t *size, int *has_ts, const char **why);

/* Size of the record at p (avail >= 4), or 0 if the marker is not a known header. */
uint32_t etl_record_size(const uint8_t *p, uint32_t avail);

/*
 * Byte offset of the raw timestamp inside the record at p (size bytes), or
 * 0 if it has none (WPP message without the timestamp option).  Used by the
 * writer to shift timestamps of copied buffers.
 */
uint32_t etl_record_ts_offset(const uint8_t *p, uint32_t size);

/* Class GUID of a kernel hook (SYSTEM/PERFINFO HookId), per etl-format.md 7.1. */
void etl_kernel_guid(uint16_t hook_id, etwhost_guid *g);

/*
 * Parse the logfile header record (SYSTEM_TRACE_HEADER + TRACE_LOGFILE_HEADER
 * + two UTF-16 strings) at rec (size bytes).  Fills ti (except path) and
 * returns the logger and log file names as mem_alloc'd UTF-8 strings.
 * 0, ERR_FORMAT with *why, or ERR_NOMEM.
 */
int etl_parse_logfile_header(const uint8_t *rec, uint32_t size, struct trace_info *ti,
                             char **logger_name, char **logfile_name, const char **why);

#endif
