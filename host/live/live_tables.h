/*
 * live_tables: the fixed vocabulary of live ETW sessions, with values
 * exactly as the Windows SDK's evntrace.h / evntprov.h / evntcons.h define
 * them (SDK 10.0.22621; the system providers are also listed on Microsoft
 * Learn, "System Providers", windows/win32/etw/system-providers):
 *   - legacy kernel enable flags (EVENT_TRACE_FLAG_*) by name, for the NT
 *     Kernel Logger and system-logger sessions;
 *   - the Windows 11 system providers (System*ProviderGuid) and their
 *     keywords (SYSTEM_*_KW_*);
 *   - levels, enable properties (EVENT_ENABLE_PROPERTY_*), filter types
 *     (EVENT_FILTER_TYPE_*) and the well-known GUIDs the consumer meets.
 *
 * Names are matched case-insensitively with '_' and '-' ignored, so
 * "DiskIoInit", "disk_io_init" and "EVENT_TRACE_FLAG_DISK_IO_INIT" are
 * the same flag.
 *
 * Threading: tables are constant; every function is pure.
 */
#ifndef ETWHOST_LIVE_TABLES_H
#define ETWHOST_LIVE_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "etwhost/plugin.h"

/* EVENT_ENABLE_PROPERTY_* (evntcons.h). */
#define LIVE_PROP_SID 0x001u
#define LIVE_PROP_TS_ID 0x002u
#define LIVE_PROP_STACK_TRACE 0x004u
#define LIVE_PROP_PSM_KEY 0x008u
#define LIVE_PROP_IGNORE_KEYWORD_0 0x010u
#define LIVE_PROP_PROVIDER_GROUP 0x020u
#define LIVE_PROP_ENABLE_KEYWORD_0 0x040u
#define LIVE_PROP_PROCESS_START_KEY 0x080u
#define LIVE_PROP_EVENT_KEY 0x100u
#define LIVE_PROP_EXCLUDE_INPRIVATE 0x200u
#define LIVE_PROP_ENABLE_SILOS 0x400u
#define LIVE_PROP_SOURCE_CONTAINER_TRACKING 0x800u

/* EVENT_FILTER_TYPE_* (evntprov.h) and the limits that go with them. */
#define LIVE_FILTER_SCHEMATIZED 0x80000000u
#define LIVE_FILTER_PID 0x80000004u
#define LIVE_FILTER_EXECUTABLE_NAME 0x80000008u
#define LIVE_FILTER_PACKAGE_ID 0x80000010u
#define LIVE_FILTER_PACKAGE_APP_ID 0x80000020u
#define LIVE_FILTER_PAYLOAD 0x80000100u
#define LIVE_FILTER_EVENT_ID 0x80000200u
#define LIVE_FILTER_EVENT_NAME 0x80000400u
#define LIVE_FILTER_STACKWALK 0x80001000u
#define LIVE_FILTER_STACKWALK_NAME 0x80002000u
#define LIVE_FILTER_STACKWALK_LEVEL_KW 0x80004000u
#define LIVE_MAX_EVENT_FILTER_PID_COUNT 8u
#define LIVE_MAX_EVENT_FILTER_EVENT_ID_COUNT 64u
#define LIVE_MAX_EVENT_FILTER_DATA_SIZE 1024u
#define LIVE_MAX_EVENT_FILTER_EVENT_NAME_SIZE 4096u
#define LIVE_MAX_EVENT_FILTERS_COUNT 13u

/* SystemTraceControlGuid 9e814aad-3204-11d2-9a82-006008a86939 (the NT Kernel Logger). */
extern const etwhost_guid live_system_trace_control_guid;
/* EventTraceGuid 68fdd900-4a3e-11d1-84f4-0000f80464e3 (trace header events). */
extern const etwhost_guid live_event_trace_guid;
/* The real-time loss events' class 6a399ae0-4bc6-4de9-870b-3657f8947e7e. */
extern const etwhost_guid live_rt_lost_guid;
#define LIVE_RT_LOST_EVENT 32u  /* RT_LostEvent: events lost */
#define LIVE_RT_LOST_BUFFER 33u /* RT_LostBuffer: buffers lost */
#define LIVE_RT_LOST_FILE 34u   /* RT_LostFile: the backing file was lost */

/* The NT Kernel Logger's fixed session name (KERNEL_LOGGER_NAMEW). */
#define LIVE_KERNEL_LOGGER_NAME "NT Kernel Logger"

/* One named bit of a flag word or keyword mask. */
struct live_bit {
    const char *name;
    uint64_t value;
};

/* The legacy kernel enable flags, in evntrace.h order; n receives the count. */
const struct live_bit *live_kernel_flags(size_t *n);

/* A Windows 11 system provider (enabled with EnableTraceEx2 in a system-logger session). */
struct live_system_provider {
    const char *name;       /* "SystemProcessProvider" */
    const char *kw_prefix;  /* "SYSTEM_PROCESS_KW_" */
    etwhost_guid guid;      /* System*ProviderGuid */
    const struct live_bit *keywords; /* names without the prefix: "GENERAL" */
    size_t nkeywords;
};

/* The 17 system providers in evntrace.h order; n receives the count. */
const struct live_system_provider *live_system_providers(size_t *n);

/*
 * The system provider called name ("SystemProcessProvider",
 * "SystemProcess", "SystemProcessProviderGuid", any case) or with this
 * GUID (guid may be NULL); NULL if none.
 */
const struct live_system_provider *live_system_provider_find(const char *name,
                                                             const etwhost_guid *guid);

/*
 * Look a name up in a table of bits (normalised comparison; 'prefix', if
 * not NULL, may precede the name, e.g. "SYSTEM_PROCESS_KW_").  1 and *value
 * on success, 0 if unknown.
 */
int live_bit_find(const struct live_bit *t, size_t n, const char *name, size_t len,
                  const char *prefix, uint64_t *value);

/*
 * Parse a level: a number 0..255 (decimal or 0x hex) or a name (critical 1,
 * error 2, warning 3, info / information 4, verbose 5, all 255).  0 or -1.
 */
int live_level_parse(const char *s, size_t len, uint8_t *out);

/* The enable properties by name ("sid", "ts_id", "process_start_key", ...). */
const struct live_bit *live_enable_properties(size_t *n);

/*
 * Parse an unsigned number (decimal, or 0x hex) spanning all of s[0..len).
 * 0 on success, -1 if not a number or above max.
 */
int live_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out);

/* 1 if the two names are equal ignoring case, '_' and '-'. */
int live_name_eq(const char *a, size_t alen, const char *b, size_t blen);

#endif
