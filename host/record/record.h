/*
 * record: the one currency between sources and decoding.
 *
 * A struct record is a borrowed view of one event as recorded: header
 * fields, extended data items and the payload.  It is identical whether it
 * came from an .etl buffer, a live EVENT_RECORD, an archive block or the
 * synthetic source; only the source that filled it differs.  Pointers in a
 * record point into memory owned by whoever produced it (a record batch, a
 * file mapping, a live callback) and are valid as long as that owner says.
 */
#ifndef ETWHOST_RECORD_H
#define ETWHOST_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "etwhost/plugin.h"

/* Clock types of a trace (TRACE_LOGFILE_HEADER.ReservedFlags). */
struct schema;

#define TRACE_CLOCK_QPC 1u
#define TRACE_CLOCK_SYSTEM 2u
#define TRACE_CLOCK_CYCLES 3u

/*
 * What a source knows about the trace a record belongs to (from the logfile
 * header for .etl files; from the session for live events).  Owned by the
 * source; lives as long as the source.
 */
struct trace_info {
    const char *path;        /* file path or session name (UTF-8) */
    const char *logger_name; /* UTF-8, "" if none */
    uint32_t pointer_size;   /* 4 or 8 */
    uint32_t clock_type;     /* TRACE_CLOCK_* */
    uint32_t os_major, os_minor, os_build;
    uint32_t num_cpus;
    uint32_t log_file_mode;
    uint32_t buffer_size;
    uint32_t events_lost;  /* per the logfile header */
    uint32_t buffers_lost; /* per the logfile header */
    uint32_t cpu_mhz;
    int64_t perf_freq;
    int64_t start_time; /* FILETIME */
    int64_t end_time;   /* FILETIME, 0 if not finalized */
    int64_t boot_time;
    int64_t t0_raw; /* raw timestamp of the logfile header record */
    int32_t tz_bias_minutes;
};

/* Extended data item types (EVENT_HEADER_EXT_TYPE_*). */
#define EXT_RELATED_ACTIVITYID 1u
#define EXT_SID 2u
#define EXT_TS_ID 3u
#define EXT_INSTANCE_INFO 4u
#define EXT_STACK_TRACE32 5u
#define EXT_STACK_TRACE64 6u
#define EXT_PEBS_INDEX 7u
#define EXT_PMC_COUNTERS 8u
#define EXT_PSM_KEY 9u
#define EXT_EVENT_KEY 10u
#define EXT_EVENT_SCHEMA_TL 11u
#define EXT_PROV_TRAITS 12u
#define EXT_PROCESS_START_KEY 13u
#define EXT_CONTROL_GUID 14u
#define EXT_QPC_DELTA 15u
#define EXT_CONTAINER_ID 16u

struct record {
    uint16_t kind;        /* ETWHOST_HK_* */
    uint16_t hdr_flags;   /* EVENT_HEADER.Flags, or WPP OptionFlags */
    uint32_t evf;         /* ETWHOST_EVF_* */
    uint16_t hook_id;     /* system/perfinfo: (group << 8) | type */
    uint16_t raw_version; /* the header's Version field */
    uint16_t event_property; /* EVENT_HEADER.EventProperty */
    uint16_t message_number; /* WPP */
    uint32_t pid, tid, cpu;
    uint32_t wpp_sequence;
    int64_t timestamp;     /* UTC FILETIME (already converted) */
    int64_t raw_timestamp; /* as recorded, in the trace clock */
    /*
     * EVENT_HEADER: ProviderId.  Classic/instance headers: the event class
     * GUID.  Kernel system/perfinfo: the class GUID of the hook group.  WPP:
     * the message GUID (or zero with a component id).
     */
    etwhost_guid provider;
    uint16_t id;
    uint8_t version, channel, level, opcode;
    uint16_t task;
    uint64_t keywords;
    etwhost_guid activity;
    etwhost_guid related; /* from ext item 1, zero if absent */
    /* Extended items, in-file layout: {u16 size, u16 type, u16 linkage, u16 datasize, data}. */
    const uint8_t *ext;
    uint32_t ext_len;
    /* Shortcuts into ext (NULL if absent). */
    const uint8_t *tl_meta; /* EVENT_SCHEMA_TL blob */
    uint32_t tl_meta_len;
    const uint8_t *tl_traits; /* PROV_TRAITS blob */
    uint32_t tl_traits_len;
    /* User data (payload). */
    const uint8_t *data;
    uint32_t data_len;
    /* The whole record as recorded in a file (NULL for live events). */
    const uint8_t *raw;
    uint32_t raw_len;
    uint64_t offset; /* file offset of the record, for error messages */
    uint64_t seq;    /* ordinal within its source, from 0 */
    const struct trace_info *trace;
    /*
     * Replay hints, NULL unless an archive source filled them from the
     * archive's schema and provider tables so that the event decodes exactly
     * as it did when it was archived: with 'schema' set, decode_record()
     * decodes with it (no look-up); with 'provider_name' set, the runtime
     * shows that name (no registry look-up).  Both belong to the source and
     * outlive its batches (batch_push_copy copies the pointers).
     */
    const struct schema *schema;
    const char *provider_name;
};

/* Iterate extended items: *pos starts at 0.  Returns 1 and fills type/data/len, 0 at end. */
int record_ext_next(const struct record *r, uint32_t *pos, uint16_t *type, const uint8_t **data,
                    uint16_t *len);

/* 1 if two GUIDs are equal. */
static inline int guid_eq(const etwhost_guid *a, const etwhost_guid *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* Read a GUID from 16 little-endian bytes. */
void guid_read(etwhost_guid *g, const uint8_t *p);
/* Format as 36 lowercase chars + NUL ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"). */
void guid_format(const etwhost_guid *g, char out[37]);
/* Parse with or without braces; 0 or ERR_FORMAT. */
int guid_parse(const char *s, size_t len, etwhost_guid *g);
/* 1 if all zero. */
int guid_is_zero(const etwhost_guid *g);

#endif
