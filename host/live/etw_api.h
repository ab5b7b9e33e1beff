/*
 * etw_api: the thin interface between the portable live-ETW code
 * (host/live/) and the operating system.
 *
 * Every Windows call the live features make (controller: StartTraceW,
 * ControlTraceW, EnableTraceEx2, QueryAllTracesW; consumer: OpenTraceW,
 * ProcessTrace, CloseTrace; TDH: TdhGetEventInformation,
 * TdhGetEventMapInformation, TdhEnumerateProviders; registry: RegCreateKeyExW,
 * RegSetValueExW, RegQueryValueExW, RegEnumKeyExW, RegEnumValueW,
 * RegDeleteTreeW; privileges) goes through one struct etw_api.  The real
 * table is host/platform/win/etw_win.c (+ registry_win.c), the only code
 * that includes the ETW headers.  Everything else (session policy, filters,
 * the consumer callback, TDH schemas, AutoLogger layout) is portable C that
 * the tests drive on Linux with a fake table replaying recorded events.
 *
 * Conventions:
 *   - Functions return a Win32 error code (ETW_OK = 0 on success), the
 *     currency the portable code reacts to; ETW_ERR_* below are the
 *     winerror.h values it knows by name.
 *   - Strings are UTF-8; the Windows table converts at the call.
 *   - GUIDs are etwhost_guid; the Windows table copies them into GUID.
 *   - Registry key paths are relative to HKEY_LOCAL_MACHINE, with '\'.
 *
 * The mirror structs (etw_event, etw_ext_item) hold exactly the members of
 * EVENT_RECORD / EVENT_HEADER_EXTENDED_DATA_ITEM the host reads, so the
 * Windows callback converts field by field and nothing else.
 *
 * Threading: a table is immutable and its functions may be called from any
 * thread (the Windows functions are thread-safe; fakes must be too).
 */
#ifndef ETWHOST_ETW_API_H
#define ETWHOST_ETW_API_H

#include <stddef.h>
#include <stdint.h>

#include "etwhost/plugin.h"
#include "../record/record.h"

/* ---- Win32 error codes (winerror.h) ------------------------------------- */

#define ETW_OK 0u
#define ETW_ERR_FILE_NOT_FOUND 2u
#define ETW_ERR_ACCESS_DENIED 5u
#define ETW_ERR_INVALID_HANDLE 6u
#define ETW_ERR_BAD_LENGTH 24u
#define ETW_ERR_NOT_SUPPORTED 50u
#define ETW_ERR_INVALID_PARAMETER 87u
#define ETW_ERR_INSUFFICIENT_BUFFER 122u
#define ETW_ERR_ALREADY_EXISTS 183u
#define ETW_ERR_MORE_DATA 234u
#define ETW_ERR_NO_MORE_ITEMS 259u
#define ETW_ERR_SERVICE_DOES_NOT_EXIST 1060u
#define ETW_ERR_SERVICE_EXISTS 1073u
#define ETW_ERR_NOT_FOUND 1168u
#define ETW_ERR_CANCELLED 1223u
#define ETW_ERR_PRIVILEGE_NOT_HELD 1314u
#define ETW_ERR_NO_SYSTEM_RESOURCES 1450u
#define ETW_ERR_WMI_INSTANCE_NOT_FOUND 4201u
#define ETW_ERR_CTX_CLOSE_PENDING 7007u

/* ---- evntrace.h / evntcons.h values used by the portable code ------------ */

/* EVENT_TRACE_PROPERTIES.LogFileMode */
#define ETW_MODE_FILE_SEQUENTIAL 0x00000001u
#define ETW_MODE_FILE_CIRCULAR 0x00000002u
#define ETW_MODE_FILE_APPEND 0x00000004u
#define ETW_MODE_FILE_NEWFILE 0x00000008u
#define ETW_MODE_REAL_TIME 0x00000100u
#define ETW_MODE_USE_KBYTES_FOR_SIZE 0x00002000u
#define ETW_MODE_USE_PAGED_MEMORY 0x01000000u
#define ETW_MODE_SYSTEM_LOGGER 0x02000000u
#define ETW_MODE_INDEPENDENT_SESSION 0x08000000u

/* ControlTrace codes */
#define ETW_CONTROL_QUERY 0u
#define ETW_CONTROL_STOP 1u
#define ETW_CONTROL_UPDATE 2u
#define ETW_CONTROL_FLUSH 3u

/* EnableTraceEx2 control codes */
#define ETW_CONTROL_CODE_DISABLE 0u
#define ETW_CONTROL_CODE_ENABLE 1u
#define ETW_CONTROL_CODE_CAPTURE_STATE 2u

/* EVENT_HEADER.Flags */
#define ETW_EHF_EXTENDED_INFO 0x0001u
#define ETW_EHF_PRIVATE_SESSION 0x0002u
#define ETW_EHF_STRING_ONLY 0x0004u
#define ETW_EHF_TRACE_MESSAGE 0x0008u
#define ETW_EHF_NO_CPUTIME 0x0010u
#define ETW_EHF_32_BIT_HEADER 0x0020u
#define ETW_EHF_64_BIT_HEADER 0x0040u
#define ETW_EHF_DECODE_GUID 0x0080u
#define ETW_EHF_CLASSIC_HEADER 0x0100u
#define ETW_EHF_PROCESSOR_INDEX 0x0200u

/* The longest session name / log file path the portable code handles (bytes, UTF-8). */
#define ETW_NAME_MAX 256
#define ETW_PATH_MAX 1024

/*
 * EVENT_TRACE_PROPERTIES, the members the host sets and reads.  Inputs for
 * start_trace; the 'q_*' members and 'handle' are outputs of start_trace,
 * control_trace and query_all_traces.
 */
struct etw_session_props {
    char name[ETW_NAME_MAX];  /* LoggerName */
    char file[ETW_PATH_MAX];  /* LogFileName, "" for none */
    etwhost_guid guid;        /* Wnode.Guid */
    uint32_t clock_type;      /* Wnode.ClientContext: TRACE_CLOCK_* */
    uint32_t buffer_size_kb;  /* BufferSize */
    uint32_t min_buffers;     /* MinimumBuffers */
    uint32_t max_buffers;     /* MaximumBuffers */
    uint32_t max_file_size_mb; /* MaximumFileSize */
    uint32_t log_file_mode;   /* LogFileMode: ETW_MODE_* */
    uint32_t flush_timer_s;   /* FlushTimer */
    uint32_t enable_flags;    /* EnableFlags (kernel / system logger) */
    /* Outputs. */
    uint64_t handle;          /* Wnode.HistoricalContext (the session handle) */
    uint32_t q_number_of_buffers, q_free_buffers, q_events_lost, q_buffers_written;
    uint32_t q_log_buffers_lost, q_real_time_buffers_lost;
};

/* EVENT_FILTER_DESCRIPTOR: {Ptr, Size, Type}. */
struct etw_filter_desc {
    const void *ptr;
    uint32_t size;
    uint32_t type; /* LIVE_FILTER_* (EVENT_FILTER_TYPE_*) */
};

/* The arguments of EnableTraceEx2 (ENABLE_TRACE_PARAMETERS version 2). */
struct etw_enable {
    etwhost_guid provider;
    uint32_t control_code; /* ETW_CONTROL_CODE_* */
    uint8_t level;
    uint64_t match_any, match_all;
    uint32_t enable_property; /* LIVE_PROP_* (EVENT_ENABLE_PROPERTY_*) */
    uint32_t timeout_ms;
    const struct etw_filter_desc *filters;
    uint32_t nfilters;
};

/* EVENT_HEADER_EXTENDED_DATA_ITEM: type, DataSize, DataPtr. */
struct etw_ext_item {
    uint16_t type;
    uint16_t size;
    const void *data;
};

/*
 * EVENT_RECORD as the consumer callback sees it (timestamps raw, the
 * session's clock: PROCESS_TRACE_MODE_RAW_TIMESTAMP).  'native' is the
 * original EVENT_RECORD (Windows) or whatever the fake needs; it is only
 * handed back to the tdh_* functions.  Pointers are valid during the
 * callback only.
 */
struct etw_event {
    uint16_t size;          /* EventHeader.Size */
    uint16_t header_type;   /* EventHeader.HeaderType */
    uint16_t flags;         /* EventHeader.Flags: ETW_EHF_* */
    uint16_t event_property;
    uint32_t tid, pid;
    int64_t timestamp;
    etwhost_guid provider;
    uint16_t id;
    uint8_t version, channel, level, opcode;
    uint16_t task;
    uint64_t keyword;
    uint64_t processor_time; /* KernelTime | UserTime << 32, or ProcessorTime */
    etwhost_guid activity;
    uint16_t processor;     /* GetEventProcessorIndex() */
    uint16_t logger_id;     /* BufferContext.LoggerId */
    uint16_t ext_count;
    uint16_t user_len;
    const struct etw_ext_item *ext;
    const void *user_data;
    const void *native;
};

/* What OpenTrace calls for each event (EVENT_TRACE_LOGFILEW.EventRecordCallback). */
struct etw_consumer {
    void (*on_event)(void *ctx, const struct etw_event *ev);
    void *ctx;
};

/* Registry value types (winnt.h REG_*). */
#define ETW_REG_SZ 1u
#define ETW_REG_BINARY 3u
#define ETW_REG_DWORD 4u
#define ETW_REG_QWORD 11u

struct etw_api {
    const char *name; /* "windows", or a fake's name */
    void *ctx;

    /* ---- Controller ---- */
    /* StartTraceW.  props->handle receives the session handle. */
    uint32_t (*start_trace)(void *ctx, struct etw_session_props *props);
    /*
     * ControlTraceW by handle (non-zero) or by name; code ETW_CONTROL_*.
     * io receives the session's properties (query, stop, flush).
     */
    uint32_t (*control_trace)(void *ctx, uint64_t handle, const char *name, uint32_t code,
                              struct etw_session_props *io);
    /* EnableTraceEx2 with ENABLE_TRACE_PARAMETERS version 2. */
    uint32_t (*enable_trace)(void *ctx, uint64_t handle, const struct etw_enable *e);
    /* QueryAllTracesW: up to cap sessions into out, *count set. */
    uint32_t (*query_all_traces)(void *ctx, struct etw_session_props *out, uint32_t cap,
                                 uint32_t *count);

    /* ---- Consumer ---- */
    /*
     * OpenTraceW on the real-time session 'name' (EVENT_RECORD, REAL_TIME and
     * RAW_TIMESTAMP modes); cons must stay valid until close_trace returned
     * and process_trace ended.  info receives what the logfile header says
     * (pointer size, clock, CPUs, frequencies, OS version) and a
     * synchronised (raw clock, FILETIME) pair in t0_raw / start_time so that
     * etl_clock_to_filetime() converts raw timestamps; path/logger_name are
     * left to the caller.
     */
    uint32_t (*open_trace)(void *ctx, const char *name, const struct etw_consumer *cons,
                           uint64_t *trace, struct trace_info *info);
    /* ProcessTrace on one handle; blocks until the trace ends or is closed. */
    uint32_t (*process_trace)(void *ctx, uint64_t trace);
    /* CloseTrace (makes a running process_trace return). */
    uint32_t (*close_trace)(void *ctx, uint64_t trace);

    /* ---- TDH ---- */
    /*
     * TdhGetEventInformation for the event (its 'native' record): the
     * TRACE_EVENT_INFO blob into buf (cap *size); ETW_ERR_INSUFFICIENT_BUFFER
     * with *size set when buf is too small.
     */
    uint32_t (*tdh_event_info)(void *ctx, const struct etw_event *ev, uint8_t *buf,
                               uint32_t *size);
    /* TdhGetEventMapInformation: the EVENT_MAP_INFO blob of map 'name'. */
    uint32_t (*tdh_map_info)(void *ctx, const struct etw_event *ev, const char *name,
                             uint8_t *buf, uint32_t *size);
    /* TdhEnumerateProviders: the PROVIDER_ENUMERATION_INFO blob. */
    uint32_t (*tdh_providers)(void *ctx, uint8_t *buf, uint32_t *size);

    /* ---- Registry (HKLM-relative key paths) ---- */
    /* RegCreateKeyExW (with parents) + RegSetValueExW.  REG_SZ data is UTF-8 text (len without NUL). */
    uint32_t (*reg_set)(void *ctx, const char *key, const char *value, uint32_t type,
                        const void *data, uint32_t len);
    /* RegCreateKeyExW only. */
    uint32_t (*reg_create)(void *ctx, const char *key);
    /*
     * RegQueryValueExW: type and data (REG_SZ as UTF-8 without NUL);
     * ETW_ERR_FILE_NOT_FOUND for a missing key or value, ETW_ERR_MORE_DATA
     * with *len set when buf is too small.
     */
    uint32_t (*reg_get)(void *ctx, const char *key, const char *value, uint32_t *type,
                        void *buf, uint32_t *len);
    /*
     * RegEnumKeyExW / RegEnumValueW: the index-th name; ETW_ERR_NO_MORE_ITEMS
     * at the end, ETW_ERR_FILE_NOT_FOUND when the key does not exist.
     */
    uint32_t (*reg_enum_key)(void *ctx, const char *key, uint32_t index, char *name,
                             size_t cap);
    uint32_t (*reg_enum_value)(void *ctx, const char *key, uint32_t index, char *name,
                               size_t cap);
    /* RegDeleteTreeW + RegDeleteKeyW of key itself; ETW_ERR_FILE_NOT_FOUND if absent. */
    uint32_t (*reg_delete_tree)(void *ctx, const char *key);

    /* ---- Process ---- */
    /* Enable a privilege ("SeSystemProfilePrivilege") in the process token. */
    uint32_t (*enable_privilege)(void *ctx, const char *name);
    /* Logical processors. */
    uint32_t (*cpu_count)(void *ctx);
    /* Wine's version when running under Wine, else NULL. */
    const char *(*wine_version)(void *ctx);
    /* The system's text for a Win32 error (FormatMessage), into buf. */
    void (*error_text)(void *ctx, uint32_t code, char *buf, size_t cap);
};

/*
 * The operating system's table: the Windows implementation, or NULL where
 * live ETW does not exist (POSIX).  Static; never freed.
 */
const struct etw_api *etw_api_platform(void);

/*
 * The table live code uses: the override if one is set, else the
 * platform's (NULL on POSIX).  Tests install a fake with etw_api_override
 * (NULL restores the platform table); not for use while sessions run.
 */
const struct etw_api *etw_api_get(void);
void etw_api_override(const struct etw_api *api);

/*
 * One line naming a Win32 error: known codes get an explanation of what to
 * do (access denied: run as Administrator or a member of Performance Log
 * Users), others the system's text via api->error_text.  Writes into buf
 * and returns it.
 */
const char *etw_error_text(const struct etw_api *api, uint32_t code, char *buf, size_t cap);

#endif
