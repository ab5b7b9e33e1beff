/*
 * etwhost plugin ABI, version 1.
 *
 * This is the only header a plugin includes.  A plugin is a shared library
 * (.so on POSIX, .dll on Windows) that exports exactly one function,
 * etwhost_plugin_entry(), returning a pointer to a static, constant
 * descriptor (struct etwhost_plugin).  Everything else crosses the boundary
 * through that descriptor (plugin -> host) and through the host API table
 * (host -> plugin).
 *
 * Compatibility rules (the host enforces them at load time):
 *  - a plugin is accepted iff its abi_major equals the host's and its
 *    abi_minor is less than or equal to the host's;
 *  - the first six fields of the descriptor (struct_size, abi_major,
 *    abi_minor, kind, name, version) never move, in any major version, so a
 *    rejected plugin can always be named;
 *  - the descriptor and the host API table carry their own size and only
 *    ever grow at the end; a member a reader's struct_size does not cover is
 *    absent (see ETWHOST_API_HAS);
 *  - only fixed-width integers, double, size_t, pointers to UTF-8 text,
 *    opaque handles and function pointers declared ETWHOST_CALL cross the
 *    boundary.  No enums, bool, long, bitfields, FILE*, errno, locale,
 *    time_t or va_list.
 *
 * Memory rules (each Windows DLL may have its own CRT heap):
 *  - whoever allocates frees.  Plugin instance state is freed by the plugin
 *    in destroy();
 *  - memory the host will release must come from api->alloc();
 *  - error text is written into caller-owned buffers (err, err_len);
 *  - events, properties and every pointer obtained from them are borrowed:
 *    read-only and valid only until the callback that received the event
 *    returns.  A plugin that keeps data copies it.
 *
 * Threading contract:
 *  - create() and destroy() run on the host's control thread and never
 *    overlap any other callback of the same instance;
 *  - process(), write(), flush(), close() and stats() run on a pipeline
 *    thread.  Calls into one instance are serialized by the host unless the
 *    descriptor sets ETWHOST_FLAG_THREAD_SAFE, in which case they may run
 *    concurrently from several threads;
 *  - every host API function is thread-safe, but may only be called from
 *    inside a callback or between create() and destroy() of the instance
 *    it is given;
 *  - a plugin that starts threads joins them in close() or destroy(); the
 *    host unloads the library only after destroy() has returned;
 *  - a sink must not block forever: return ETWHOST_RETRY and the host will
 *    back off, slow the sources, and call again.
 *
 * History of this ABI (append-only):
 *  1.0  initial layout.
 *  1.1  descriptor: stats().  Host API: state_dir(), event_record(),
 *       event_schema().  Later, without a version change (a flag that
 *       hosts which do not know it ignore): ETWHOST_FLAG_RECORDS_ONLY.
 */
#ifndef ETWHOST_PLUGIN_H
#define ETWHOST_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Versions --------------------------------------------------------- */

#define ETWHOST_ABI_MAJOR 1
#define ETWHOST_ABI_MINOR 1

/* ---- Calling convention and export ----------------------------------- */

#if defined(_WIN32)
#define ETWHOST_CALL __cdecl
#define ETWHOST_EXPORT __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define ETWHOST_CALL
#define ETWHOST_EXPORT __attribute__((visibility("default")))
#else
#define ETWHOST_CALL
#define ETWHOST_EXPORT
#endif

#ifdef __cplusplus
#define ETWHOST_EXTERN_C extern "C"
#else
#define ETWHOST_EXTERN_C
#endif

/* ---- Status codes: never renumbered ---------------------------------- */

typedef int32_t etwhost_status;

#define ETWHOST_OK 0           /* success; a filter passes the event */
#define ETWHOST_RETRY 1        /* sink: transient failure, call again later */
#define ETWHOST_DROP 2         /* filter: discard the event */
#define ETWHOST_ERR (-1)       /* generic failure */
#define ETWHOST_ERR_NOMEM (-2) /* out of memory */
#define ETWHOST_ERR_CONFIG (-3) /* bad configuration */
#define ETWHOST_ERR_IO (-4)    /* I/O failure */
#define ETWHOST_ERR_NOTFOUND (-5) /* no such key / property */
#define ETWHOST_ERR_TYPE (-6)  /* value has another type */
#define ETWHOST_ERR_RANGE (-7) /* caller's buffer too small; *needed set */
#define ETWHOST_ERR_STATE (-8) /* call not valid now (e.g. props at record stage) */
#define ETWHOST_ERR_FATAL (-9) /* sink failed for good; host stops using it */

/* ---- Plugin kinds, stages, flags ------------------------------------- */

#define ETWHOST_KIND_FILTER 1u
#define ETWHOST_KIND_SINK 2u

/*
 * A filter runs at one stage.  RECORD filters see header fields only and run
 * before decoding, so events they drop never pay the decode cost.  EVENT
 * filters also see decoded properties.
 */
#define ETWHOST_STAGE_EVENT 0u
#define ETWHOST_STAGE_RECORD 1u

/* The plugin's callbacks may be called concurrently for one instance. */
#define ETWHOST_FLAG_THREAD_SAFE 0x1u
/*
 * Sinks: the sink reads events only through their header, event_record()
 * and event_schema() (an archive, say).  When every sink of a chain sets it
 * and no event-stage filter runs, the host looks each event's schema up but
 * does not decode its properties: properties and event_json() then show
 * none, and decode_error says why.  Advisory: a host that does not know it
 * decodes as always.
 */
#define ETWHOST_FLAG_RECORDS_ONLY 0x2u

/* ---- Log levels -------------------------------------------------------- */

#define ETWHOST_LOG_ERROR 1
#define ETWHOST_LOG_WARN 2
#define ETWHOST_LOG_INFO 3
#define ETWHOST_LOG_DEBUG 4

/* ---- Opaque handles ---------------------------------------------------- */

typedef struct etwhost_host etwhost_host;     /* one per plugin instance */
typedef struct etwhost_event etwhost_event;   /* borrowed, per callback */
typedef struct etwhost_config etwhost_config; /* valid during create only */

/* ---- Event data ---------------------------------------------------------- */

/* A GUID in Windows layout (Data1..Data3 little-endian in files). */
typedef struct etwhost_guid {
    uint32_t data1;
    uint16_t data2;
    uint16_t data3;
    uint8_t data4[8];
} etwhost_guid;

/* How far an event was decoded. */
#define ETWHOST_DECODE_FULL 0u    /* every property decoded */
#define ETWHOST_DECODE_PARTIAL 1u /* some properties decoded, then an error */
#define ETWHOST_DECODE_NONE 2u    /* no schema or no decode: raw payload only */
#define ETWHOST_DECODE_PENDING 3u /* record stage: decoding has not run yet */

/* Header flags (etwhost_event_header.flags). */
#define ETWHOST_EVF_PTR32 0x1u       /* payload pointers are 32-bit */
#define ETWHOST_EVF_CLASSIC 0x2u     /* classic / MOF event */
#define ETWHOST_EVF_TRACELOGGING 0x4u
#define ETWHOST_EVF_WPP 0x8u
#define ETWHOST_EVF_KERNEL 0x10u     /* NT kernel logger (system/perfinfo) */
#define ETWHOST_EVF_NO_PID 0x20u     /* pid/tid unknown (perfinfo records) */
#define ETWHOST_EVF_STRING_ONLY 0x40u

/*
 * Header fields of an event, available at both stages.  Strings are UTF-8,
 * NUL-terminated, never NULL ("" when unknown).  Layout frozen; grows at
 * the end only.
 */
typedef struct etwhost_event_header {
    uint32_t struct_size;
    uint32_t flags;                   /* ETWHOST_EVF_* */
    int64_t timestamp;                /* UTC, 100 ns since 1601-01-01 */
    etwhost_guid provider_guid;
    etwhost_guid activity_id;         /* all zero when absent */
    etwhost_guid related_activity_id; /* all zero when absent */
    uint64_t keywords;
    uint16_t event_id;
    uint8_t version;
    uint8_t channel;
    uint8_t level;
    uint8_t opcode;
    uint16_t task;
    uint32_t pid;
    uint32_t tid;
    uint32_t cpu;
    uint16_t header_kind;   /* source record kind, ETWHOST_HK_* */
    uint16_t decode_status; /* ETWHOST_DECODE_* */
    const char *provider_name;
    const char *event_name;
    const char *task_name;
    const char *opcode_name;
} etwhost_event_header;

/* Record header kinds (etwhost_event_header.header_kind). */
#define ETWHOST_HK_SYNTHETIC 0u
#define ETWHOST_HK_SYSTEM 1u       /* SYSTEM_TRACE_HEADER (incl. compact) */
#define ETWHOST_HK_PERFINFO 2u     /* PERFINFO_TRACE_HEADER */
#define ETWHOST_HK_TRACE 3u        /* EVENT_TRACE_HEADER (classic) */
#define ETWHOST_HK_INSTANCE 4u     /* EVENT_INSTANCE_GUID_HEADER */
#define ETWHOST_HK_EVENT 5u        /* EVENT_HEADER (manifest, TraceLogging) */
#define ETWHOST_HK_MESSAGE 6u      /* MESSAGE_TRACE_HEADER (WPP) */

/* Property value types (etwhost_prop.type). */
#define ETWHOST_PT_NULL 0u
#define ETWHOST_PT_I8 1u
#define ETWHOST_PT_U8 2u
#define ETWHOST_PT_I16 3u
#define ETWHOST_PT_U16 4u
#define ETWHOST_PT_I32 5u
#define ETWHOST_PT_U32 6u
#define ETWHOST_PT_I64 7u
#define ETWHOST_PT_U64 8u
#define ETWHOST_PT_F32 9u
#define ETWHOST_PT_F64 10u
#define ETWHOST_PT_BOOL 11u
#define ETWHOST_PT_STRING 12u     /* data/size: UTF-8, not NUL-terminated */
#define ETWHOST_PT_GUID 13u       /* data: 16 bytes, etwhost_guid layout */
#define ETWHOST_PT_FILETIME 14u   /* num.i: 100 ns since 1601 UTC */
#define ETWHOST_PT_SYSTEMTIME 15u /* num.i: converted to FILETIME units */
#define ETWHOST_PT_SID 16u        /* data/size: binary SID */
#define ETWHOST_PT_POINTER 17u    /* num.u */
#define ETWHOST_PT_BINARY 18u     /* data/size */
#define ETWHOST_PT_STRUCT 19u     /* count children follow */
#define ETWHOST_PT_ARRAY 20u      /* count elements follow */

/* Formatting hints (etwhost_prop.format); values never renumbered. */
#define ETWHOST_FMT_DEFAULT 0u
#define ETWHOST_FMT_HEX 1u
#define ETWHOST_FMT_IPV4 2u
#define ETWHOST_FMT_IPV6 3u
#define ETWHOST_FMT_PORT 4u
#define ETWHOST_FMT_PID 5u
#define ETWHOST_FMT_TID 6u
#define ETWHOST_FMT_WIN32ERROR 7u
#define ETWHOST_FMT_NTSTATUS 8u
#define ETWHOST_FMT_HRESULT 9u
#define ETWHOST_FMT_XML 10u
#define ETWHOST_FMT_JSON 11u
#define ETWHOST_FMT_SOCKADDR 12u
#define ETWHOST_FMT_CHAR 13u
#define ETWHOST_FMT_BOOL 14u

#define ETWHOST_NONE 0xFFFFFFFFu /* "no index" in etwhost_prop links */

/*
 * One decoded property.  Properties form a tree stored in pre-order: index 0
 * is the first top-level property; a STRUCT or ARRAY at index i is followed
 * by its descendants; 'next' is the index of the next sibling and 'parent'
 * the index of the enclosing STRUCT/ARRAY (ETWHOST_NONE at top level).
 * Array elements have an empty name.  Filled by the host; borrowed.
 */
typedef struct etwhost_prop {
    uint32_t struct_size;
    uint16_t type;   /* ETWHOST_PT_* */
    uint16_t format; /* ETWHOST_FMT_* */
    union {
        int64_t i;
        uint64_t u;
        double f;
    } num;               /* 8-aligned on every platform and compiler */
    uint32_t name_len;
    uint32_t parent;
    uint32_t next;
    uint32_t count;
    uint32_t size;       /* bytes at data */
    uint32_t reserved;   /* zero for plugins */
    uint32_t reserved2;  /* zero; keeps the size a multiple of 8 on 32-bit too */
    const char *name;    /* UTF-8, NUL-terminated */
    const uint8_t *data;
    const char *map_text; /* value-map / bitmap label, NULL if none */
} etwhost_prop;

/* ---- Host API table (host -> plugin), append-only --------------------- */

typedef struct etwhost_host_api {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;

    /* ---- 1.0 ---- */

    /* Host version string, e.g. "0.1.0".  Static. */
    const char *(ETWHOST_CALL *host_version)(void);

    /* Log one finished line (no trailing newline needed), see etwhost_logf. */
    void(ETWHOST_CALL *log)(etwhost_host *h, int32_t level, const char *msg);

    /* Memory the host will free (or the plugin frees with api->free). */
    void *(ETWHOST_CALL *alloc)(etwhost_host *h, size_t n);
    void(ETWHOST_CALL *free)(etwhost_host *h, void *p);

    /*
     * Instance settings (the "settings" object of the instance), valid during
     * create() only.  Keys are top-level member names.  Strings are UTF-8
     * and borrowed.  Returns OK, ERR_NOTFOUND or ERR_TYPE.  config_get_json
     * with key NULL returns the whole settings object as JSON text.
     */
    etwhost_status(ETWHOST_CALL *config_get_str)(const etwhost_config *c, const char *key,
                                                 const char **out, size_t *len);
    etwhost_status(ETWHOST_CALL *config_get_i64)(const etwhost_config *c, const char *key,
                                                 int64_t *out);
    etwhost_status(ETWHOST_CALL *config_get_f64)(const etwhost_config *c, const char *key,
                                                 double *out);
    etwhost_status(ETWHOST_CALL *config_get_bool)(const etwhost_config *c, const char *key,
                                                  int32_t *out);
    etwhost_status(ETWHOST_CALL *config_get_json)(const etwhost_config *c, const char *key,
                                                  const char **out, size_t *len);

    /* Filters: choose the stage of this instance; callable in create() only. */
    etwhost_status(ETWHOST_CALL *set_stage)(etwhost_host *h, uint32_t stage);

    /* Header fields of an event.  Never NULL. */
    const etwhost_event_header *(ETWHOST_CALL *event_header)(const etwhost_event *ev);

    /* Number of entries in the property tree (0 at record stage). */
    uint32_t(ETWHOST_CALL *event_prop_count)(const etwhost_event *ev);

    /* Property by pre-order index.  out->struct_size must be set by caller. */
    etwhost_status(ETWHOST_CALL *event_prop_at)(const etwhost_event *ev, uint32_t index,
                                                etwhost_prop *out);

    /*
     * Property by name; "a.b" descends into structs, "a[2]" into arrays.
     * Returns ERR_NOTFOUND if absent, ERR_STATE at record stage.
     */
    etwhost_status(ETWHOST_CALL *event_prop_find)(const etwhost_event *ev, const char *path,
                                                  size_t path_len, etwhost_prop *out);

    /* Typed getters by name; convert between integer widths, ERR_TYPE otherwise. */
    etwhost_status(ETWHOST_CALL *event_get_i64)(const etwhost_event *ev, const char *path,
                                                int64_t *out);
    etwhost_status(ETWHOST_CALL *event_get_u64)(const etwhost_event *ev, const char *path,
                                                uint64_t *out);
    etwhost_status(ETWHOST_CALL *event_get_f64)(const etwhost_event *ev, const char *path,
                                                double *out);
    /* Strings (UTF-8, borrowed); other scalar types are rendered as text. */
    etwhost_status(ETWHOST_CALL *event_get_str)(const etwhost_event *ev, const char *path,
                                                const char **out, size_t *len);

    /*
     * The canonical JSON line of the event (no trailing newline), borrowed.
     * Renders header fields only at record stage.
     */
    etwhost_status(ETWHOST_CALL *event_json)(const etwhost_event *ev, const char **out,
                                             size_t *len);

    /* Raw payload bytes (user data) as recorded. */
    etwhost_status(ETWHOST_CALL *event_raw)(const etwhost_event *ev, const uint8_t **out,
                                            size_t *len);

    /*
     * Filters: attach a field to the event.  The host copies name and value.
     * Attached fields appear in JSON under the "fields" object.
     */
    etwhost_status(ETWHOST_CALL *event_add_str)(const etwhost_event *ev, const char *name,
                                                const char *value, size_t value_len);
    etwhost_status(ETWHOST_CALL *event_add_i64)(const etwhost_event *ev, const char *name,
                                                int64_t value);

    /*
     * Counters of this instance, shown with --stats and at exit.  register
     * returns an id >= 0 or a negative status; add is cheap and lock-free.
     */
    int32_t(ETWHOST_CALL *counter_register)(etwhost_host *h, const char *name);
    void(ETWHOST_CALL *counter_add)(etwhost_host *h, int32_t id, int64_t delta);

    /* ---- 1.1 ---- */

    /*
     * A directory this instance may keep state in (spools, indexes), created
     * by the host.  Writes a NUL-terminated UTF-8 path into buf.
     */
    etwhost_status(ETWHOST_CALL *state_dir)(etwhost_host *h, char *buf, size_t cap,
                                            size_t *needed);

    /*
     * The event's record in the portable record encoding (docs/archive-format.md,
     * "Record encoding"): every header field of the recorded event, its
     * extended data items in their in-file layout, the payload and the
     * provider name, enough to rebuild the record exactly.  Little-endian;
     * starts with a fixed 128-byte part whose first byte is the encoding
     * version (1).  Borrowed like every event pointer.  Works at both
     * stages.  ERR_NOMEM, ERR_STATE (an event without a record).
     */
    etwhost_status(ETWHOST_CALL *event_record)(const etwhost_event *ev, const uint8_t **out,
                                               size_t *len);

    /*
     * The schema the event was decoded with, in the portable schema
     * encoding (docs/archive-format.md, "Schema encoding"), and its 64-bit
     * content id: equal ids mean equal bytes, so a sink stores each schema
     * once and treats the bytes as opaque.  Borrowed.  ERR_NOTFOUND when
     * the event was decoded without a stored schema (TraceLogging events:
     * their metadata is in the record's extended items; string-only and
     * undecoded events), ERR_STATE at record stage, ERR_NOMEM.
     */
    etwhost_status(ETWHOST_CALL *event_schema)(const etwhost_event *ev, const uint8_t **out,
                                               size_t *len, uint64_t *id);
} etwhost_host_api;

/* True if the host API table 'api' has member 'm' (and it is set). */
#define ETWHOST_API_HAS(api, m) \
    ((api)->struct_size >= offsetof(etwhost_host_api, m) + sizeof((api)->m) && (api)->m != NULL)

/* ---- Plugin descriptor (plugin -> host), append-only ------------------- */

typedef struct etwhost_plugin {
    /* Eternal prefix: never moves, in any ABI major version. */
    uint32_t struct_size; /* sizeof(etwhost_plugin) as compiled */
    uint16_t abi_major;   /* ETWHOST_ABI_MAJOR as compiled */
    uint16_t abi_minor;   /* ETWHOST_ABI_MINOR as compiled */
    uint32_t kind;        /* ETWHOST_KIND_* */
    uint32_t reserved0;   /* zero */
    const char *name;     /* plugin name, [a-z0-9_-]+ */
    const char *version;  /* plugin version, free text */

    /* ---- 1.0 ---- */
    const char *description;
    uint32_t flags;       /* ETWHOST_FLAG_* */
    uint32_t stage;       /* filters: default ETWHOST_STAGE_* */
    /*
     * NULL-terminated list of the settings keys the plugin accepts.  The host
     * rejects any other key before create(), naming the nearest valid one.
     * NULL means the plugin validates its settings itself.
     */
    const char *const *settings_keys;

    /*
     * Create an instance.  On failure write one line into err (always
     * NUL-terminated, at most err_len bytes) and return a negative status.
     */
    etwhost_status(ETWHOST_CALL *create)(etwhost_host *h, const etwhost_host_api *api,
                                         const etwhost_config *settings, void **out_inst,
                                         char *err, size_t err_len);
    /* Free everything the instance owns.  May be NULL. */
    void(ETWHOST_CALL *destroy)(void *inst);

    /* Filters: ETWHOST_OK to pass, ETWHOST_DROP to discard, < 0 on error. */
    etwhost_status(ETWHOST_CALL *process)(void *inst, const etwhost_event *ev);

    /*
     * Sinks: take events[0..count).  Set *accepted to how many leading events
     * were taken.  Return ETWHOST_OK (all taken), ETWHOST_RETRY (the host
     * backs off and calls again with the rest), or < 0 (the rest are counted
     * as errors; ETWHOST_ERR_FATAL disables the sink).
     */
    etwhost_status(ETWHOST_CALL *write)(void *inst, const etwhost_event *const *events,
                                        uint32_t count, uint32_t *accepted);
    /* Sinks: make everything accepted so far durable / delivered.  May be NULL. */
    etwhost_status(ETWHOST_CALL *flush)(void *inst);
    /* Sinks: final flush before destroy; report what could not be saved. */
    etwhost_status(ETWHOST_CALL *close)(void *inst, char *err, size_t err_len);

    /* ---- 1.1 ---- */

    /*
     * Optional: write a JSON object with plugin-specific statistics into buf
     * (NUL-terminated).  Return ERR_RANGE with *needed set if too small.
     */
    etwhost_status(ETWHOST_CALL *stats)(void *inst, char *buf, size_t cap, size_t *needed);
} etwhost_plugin;

/* Does descriptor 'p' (of p->struct_size bytes) have member 'm' set? */
#define ETWHOST_PLUGIN_HAS(p, m) \
    ((p)->struct_size >= offsetof(etwhost_plugin, m) + sizeof((p)->m) && (p)->m != NULL)

/* Size of the descriptor prefix that defines ABI 1.0. */
#define ETWHOST_PLUGIN_SIZE_1_0 (offsetof(etwhost_plugin, stats))
#define ETWHOST_HOST_API_SIZE_1_0 (offsetof(etwhost_host_api, state_dir))

/*
 * The one exported symbol.  Must only return the descriptor: no other
 * work, no allocation.  Its name and signature never change.
 */
typedef const etwhost_plugin *(ETWHOST_CALL *etwhost_plugin_entry_fn)(void);
#define ETWHOST_PLUGIN_ENTRY_NAME "etwhost_plugin_entry"

/* Define the entry function returning descriptor 'desc'. */
#define ETWHOST_PLUGIN_DEFINE(desc)                                                     \
    ETWHOST_EXTERN_C ETWHOST_EXPORT const etwhost_plugin *ETWHOST_CALL                  \
    etwhost_plugin_entry(void);                                                         \
    ETWHOST_EXTERN_C ETWHOST_EXPORT const etwhost_plugin *ETWHOST_CALL                  \
    etwhost_plugin_entry(void) { return &(desc); }

/* ---- Inline helpers (compiled into the plugin) ------------------------- */

/* printf format checking that matches the plugin's own C library. */
#if defined(__MINGW32__) && defined(__MINGW_PRINTF_FORMAT)
#define ETWHOST_PRINTF_ATTR(f, a) __attribute__((format(__MINGW_PRINTF_FORMAT, f, a)))
#elif defined(__GNUC__) || defined(__clang__)
#define ETWHOST_PRINTF_ATTR(f, a) __attribute__((format(printf, f, a)))
#else
#define ETWHOST_PRINTF_ATTR(f, a)
#endif

/* printf-style logging; formats on the plugin side so no va_list crosses. */
ETWHOST_PRINTF_ATTR(4, 5)
static inline void etwhost_logf(const etwhost_host_api *api, etwhost_host *h, int32_t level,
                                const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    api->log(h, level, line);
}

/* printf into a caller-owned error buffer; returns 'status'. */
ETWHOST_PRINTF_ATTR(4, 5)
static inline etwhost_status etwhost_errf(char *err, size_t err_len, etwhost_status status,
                                          const char *fmt, ...)
{
    va_list ap;
    if (err != NULL && err_len > 0) {
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* Name of a status code, for messages. */
static inline const char *etwhost_status_name(etwhost_status s)
{
    switch (s) {
    case ETWHOST_OK: return "OK";
    case ETWHOST_RETRY: return "RETRY";
    case ETWHOST_DROP: return "DROP";
    case ETWHOST_ERR_NOMEM: return "ERR_NOMEM";
    case ETWHOST_ERR_CONFIG: return "ERR_CONFIG";
    case ETWHOST_ERR_IO: return "ERR_IO";
    case ETWHOST_ERR_NOTFOUND: return "ERR_NOTFOUND";
    case ETWHOST_ERR_TYPE: return "ERR_TYPE";
    case ETWHOST_ERR_RANGE: return "ERR_RANGE";
    case ETWHOST_ERR_STATE: return "ERR_STATE";
    case ETWHOST_ERR_FATAL: return "ERR_FATAL";
    default: return s < 0 ? "ERR" : "UNKNOWN";
    }
}

#ifdef __cplusplus
}
#endif

#endif /* ETWHOST_PLUGIN_H */
