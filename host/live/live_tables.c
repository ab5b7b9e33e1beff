/*
 * live_tables: evntrace.h / evntprov.h values by name (see live_tables.h).
 */
#include "live_tables.h"

#include <string.h>

#define G(d1, d2, d3, a, b, c, d, e, f, g, h) \
    {(d1), (d2), (d3), {(a), (b), (c), (d), (e), (f), (g), (h)}}

const etwhost_guid live_system_trace_control_guid =
    G(0x9e814aadu, 0x3204u, 0x11d2u, 0x9a, 0x82, 0x00, 0x60, 0x08, 0xa8, 0x69, 0x39);
const etwhost_guid live_event_trace_guid =
    G(0x68fdd900u, 0x4a3eu, 0x11d1u, 0x84, 0xf4, 0x00, 0x00, 0xf8, 0x04, 0x64, 0xe3);
const etwhost_guid live_rt_lost_guid =
    G(0x6a399ae0u, 0x4bc6u, 0x4de9u, 0x87, 0x0b, 0x36, 0x57, 0xf8, 0x94, 0x7e, 0x7e);

/* EVENT_TRACE_FLAG_* (evntrace.h), named after the macro without its prefix. */
static const struct live_bit kernel_flags[] = {
    {"Process", 0x00000001u},          {"Thread", 0x00000002u},
    {"ImageLoad", 0x00000004u},        {"ProcessCounters", 0x00000008u},
    {"CSwitch", 0x00000010u},          {"Dpc", 0x00000020u},
    {"Interrupt", 0x00000040u},        {"SystemCall", 0x00000080u},
    {"DiskIo", 0x00000100u},           {"DiskFileIo", 0x00000200u},
    {"DiskIoInit", 0x00000400u},       {"Dispatcher", 0x00000800u},
    {"MemoryPageFaults", 0x00001000u}, {"MemoryHardFaults", 0x00002000u},
    {"VirtualAlloc", 0x00004000u},     {"VaMap", 0x00008000u},
    {"NetworkTcpip", 0x00010000u},     {"Registry", 0x00020000u},
    {"DbgPrint", 0x00040000u},         {"Job", 0x00080000u},
    {"Alpc", 0x00100000u},             {"SplitIo", 0x00200000u},
    {"DebugEvents", 0x00400000u},      {"Driver", 0x00800000u},
    {"Profile", 0x01000000u},          {"FileIo", 0x02000000u},
    {"FileIoInit", 0x04000000u},       {"NoSysConfig", 0x10000000u},
};

const struct live_bit *live_kernel_flags(size_t *n)
{
    *n = sizeof kernel_flags / sizeof kernel_flags[0];
    return kernel_flags;
}

/* SYSTEM_*_KW_* (evntrace.h, SDK 10.0.22621). */
static const struct live_bit kw_alpc[] = {{"GENERAL", 0x1}};
static const struct live_bit kw_config[] = {
    {"SYSTEM", 0x1},   {"GRAPHICS", 0x2}, {"STORAGE", 0x4}, {"NETWORK", 0x8},
    {"SERVICES", 0x10}, {"PNP", 0x20},    {"OPTICAL", 0x40},
};
static const struct live_bit kw_cpu[] = {
    {"CONFIG", 0x1}, {"CACHE_FLUSH", 0x2}, {"SPEC_CONTROL", 0x4}, {"DOMAIN_CHANGE", 0x8},
};
static const struct live_bit kw_hypervisor[] = {
    {"PROFILE", 0x1}, {"CALLOUTS", 0x2}, {"VTL_CHANGE", 0x4},
};
static const struct live_bit kw_interrupt[] = {
    {"GENERAL", 0x1}, {"CLOCK_INTERRUPT", 0x2}, {"DPC", 0x4},          {"DPC_QUEUE", 0x8},
    {"WDF_DPC", 0x10}, {"WDF_INTERRUPT", 0x20}, {"IPI", 0x40},
};
static const struct live_bit kw_io[] = {
    {"DISK", 0x1},     {"DISK_INIT", 0x2},    {"FILENAME", 0x4},     {"SPLIT", 0x8},
    {"FILE", 0x10},    {"OPTICAL", 0x20},     {"OPTICAL_INIT", 0x40}, {"DRIVERS", 0x80},
    {"CC", 0x100},     {"NETWORK", 0x200},    {"FILE_INIT", 0x400},  {"TIMER", 0x800},
};
static const struct live_bit kw_iofilter[] = {
    {"GENERAL", 0x1}, {"INIT", 0x2}, {"FASTIO", 0x4}, {"FAILURE", 0x8},
};
static const struct live_bit kw_lock[] = {
    {"SPINLOCK", 0x1}, {"SPINLOCK_COUNTERS", 0x2}, {"SYNC_OBJECTS", 0x4},
};
static const struct live_bit kw_memory[] = {
    {"GENERAL", 0x1},        {"HARD_FAULTS", 0x2},   {"ALL_FAULTS", 0x4},
    {"POOL", 0x8},           {"MEMINFO", 0x10},      {"PFSECTION", 0x20},
    {"MEMINFO_WS", 0x40},    {"HEAP", 0x80},         {"WS", 0x100},
    {"CONTMEM_GEN", 0x200},  {"VIRTUAL_ALLOC", 0x400}, {"FOOTPRINT", 0x800},
    {"SESSION", 0x1000},     {"REFSET", 0x2000},     {"VAMAP", 0x4000},
    {"NONTRADEABLE", 0x8000},
};
static const struct live_bit kw_object[] = {{"GENERAL", 0x1}, {"HANDLE", 0x2}};
static const struct live_bit kw_power[] = {
    {"GENERAL", 0x1},        {"HIBER_RUNDOWN", 0x2},     {"PROCESSOR_IDLE", 0x4},
    {"IDLE_SELECTION", 0x8}, {"PPM_EXIT_LATENCY", 0x10},
};
static const struct live_bit kw_process[] = {
    {"GENERAL", 0x1},         {"INSWAP", 0x2},        {"FREEZE", 0x4},
    {"PERF_COUNTER", 0x8},    {"WAKE_COUNTER", 0x10}, {"WAKE_DROP", 0x20},
    {"WAKE_EVENT", 0x40},     {"DEBUG_EVENTS", 0x80}, {"DBGPRINT", 0x100},
    {"JOB", 0x200},           {"WORKER_THREAD", 0x400}, {"THREAD", 0x800},
    {"LOADER", 0x1000},
};
static const struct live_bit kw_profile[] = {{"GENERAL", 0x1}, {"PMC_PROFILE", 0x2}};
static const struct live_bit kw_registry[] = {
    {"GENERAL", 0x1}, {"HIVE", 0x2}, {"NOTIFICATION", 0x4},
};
static const struct live_bit kw_scheduler[] = {
    {"XSCHEDULER", 0x1},             {"DISPATCHER", 0x2},          {"KERNEL_QUEUE", 0x4},
    {"SHOULD_YIELD", 0x8},           {"ANTI_STARVATION", 0x10},    {"LOAD_BALANCER", 0x20},
    {"AFFINITY", 0x40},              {"PRIORITY", 0x80},           {"IDEAL_PROCESSOR", 0x100},
    {"CONTEXT_SWITCH", 0x200},       {"COMPACT_CSWITCH", 0x400},   {"SCHEDULE_THREAD", 0x800},
    {"READY_QUEUE", 0x1000},         {"CPU_PARTITION", 0x2000},    {"THREAD_FEEDBACK_READ", 0x4000},
    {"WORKLOAD_CLASS_UPDATE", 0x8000}, {"AUTOBOOST", 0x10000},
};
static const struct live_bit kw_syscall[] = {{"GENERAL", 0x1}};
static const struct live_bit kw_timer[] = {{"GENERAL", 0x1}, {"CLOCK_TIMER", 0x2}};

#define KW(t) (t), (sizeof(t) / sizeof((t)[0]))

/* System*ProviderGuid (evntrace.h), in the header's order. */
static const struct live_system_provider system_providers[] = {
    {"SystemIoFilterProvider", "SYSTEM_IOFILTER_KW_",
     G(0xfbd09363u, 0x9e22u, 0x4661u, 0xb8, 0xbf, 0xe7, 0xa3, 0x4b, 0x53, 0x5b, 0x8c),
     KW(kw_iofilter)},
    {"SystemObjectProvider", "SYSTEM_OBJECT_KW_",
     G(0xfebd7460u, 0x3d1du, 0x47ebu, 0xaf, 0x49, 0xc9, 0xee, 0xb1, 0xe1, 0x46, 0xf2),
     KW(kw_object)},
    {"SystemPowerProvider", "SYSTEM_POWER_KW_",
     G(0xc134884au, 0x32d5u, 0x4488u, 0x80, 0xe5, 0x14, 0xed, 0x7a, 0xbb, 0x82, 0x69),
     KW(kw_power)},
    {"SystemHypervisorProvider", "SYSTEM_HYPERVISOR_KW_",
     G(0xbafa072au, 0x918au, 0x4bedu, 0xb6, 0x22, 0xbc, 0x15, 0x20, 0x97, 0x09, 0x8f),
     KW(kw_hypervisor)},
    {"SystemLockProvider", "SYSTEM_LOCK_KW_",
     G(0x721ddfd3u, 0xdaccu, 0x4e1eu, 0xb2, 0x6a, 0xa2, 0xcb, 0x31, 0xd4, 0x70, 0x5a),
     KW(kw_lock)},
    {"SystemConfigProvider", "SYSTEM_CONFIG_KW_",
     G(0xfef3a8b6u, 0x318du, 0x4b67u, 0xa9, 0x6a, 0x3b, 0x0f, 0x6b, 0x8f, 0x18, 0xfe),
     KW(kw_config)},
    {"SystemCpuProvider", "SYSTEM_CPU_KW_",
     G(0xc6c5265fu, 0xeae8u, 0x4650u, 0xaa, 0xe4, 0x9d, 0x48, 0x60, 0x3d, 0x85, 0x10),
     KW(kw_cpu)},
    {"SystemSchedulerProvider", "SYSTEM_SCHEDULER_KW_",
     G(0x599a2a76u, 0x4d91u, 0x4910u, 0x9a, 0xc7, 0x7d, 0x33, 0xf2, 0xe9, 0x7a, 0x6c),
     KW(kw_scheduler)},
    {"SystemProfileProvider", "SYSTEM_PROFILE_KW_",
     G(0xbfeb0324u, 0x1ceeu, 0x496fu, 0xa4, 0x09, 0x2a, 0xc2, 0xb4, 0x8a, 0x63, 0x22),
     KW(kw_profile)},
    {"SystemIoProvider", "SYSTEM_IO_KW_",
     G(0x3d5c43e3u, 0x0f1cu, 0x4202u, 0xb8, 0x17, 0x17, 0x4c, 0x00, 0x70, 0xdc, 0x79),
     KW(kw_io)},
    {"SystemMemoryProvider", "SYSTEM_MEMORY_KW_",
     G(0x82958ca9u, 0xb6cdu, 0x47f8u, 0xa3, 0xa8, 0x03, 0xae, 0x85, 0xa4, 0xbc, 0x24),
     KW(kw_memory)},
    {"SystemRegistryProvider", "SYSTEM_REGISTRY_KW_",
     G(0x16156bd9u, 0xfab4u, 0x4cfau, 0xa2, 0x32, 0x89, 0xd1, 0x09, 0x90, 0x58, 0xe3),
     KW(kw_registry)},
    {"SystemProcessProvider", "SYSTEM_PROCESS_KW_",
     G(0x151f55dcu, 0x467du, 0x471fu, 0x83, 0xb5, 0x5f, 0x88, 0x9d, 0x46, 0xff, 0x66),
     KW(kw_process)},
    {"SystemAlpcProvider", "SYSTEM_ALPC_KW_",
     G(0xfcb9baafu, 0xe529u, 0x4980u, 0x92, 0xe9, 0xce, 0xd1, 0xa6, 0xaa, 0xdf, 0xdf),
     KW(kw_alpc)},
    {"SystemSyscallProvider", "SYSTEM_SYSCALL_KW_",
     G(0x434286f7u, 0x6f1bu, 0x45bbu, 0xb3, 0x7e, 0x95, 0xf6, 0x23, 0x04, 0x6c, 0x7c),
     KW(kw_syscall)},
    {"SystemInterruptProvider", "SYSTEM_INTERRUPT_KW_",
     G(0xd4bbee17u, 0xb545u, 0x4888u, 0x85, 0x8b, 0x74, 0x41, 0x69, 0x01, 0x5b, 0x25),
     KW(kw_interrupt)},
    {"SystemTimerProvider", "SYSTEM_TIMER_KW_",
     G(0x4f061568u, 0xe215u, 0x499fu, 0xab, 0x2e, 0xed, 0xa0, 0xae, 0x89, 0x0a, 0x5b),
     KW(kw_timer)},
};

const struct live_system_provider *live_system_providers(size_t *n)
{
    *n = sizeof system_providers / sizeof system_providers[0];
    return system_providers;
}

static int lc(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int live_name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < alen && (a[i] == '_' || a[i] == '-'))
            i++;
        while (j < blen && (b[j] == '_' || b[j] == '-'))
            j++;
        if (i == alen || j == blen)
            return i == alen && j == blen;
        if (lc((unsigned char)a[i]) != lc((unsigned char)b[j]))
            return 0;
        i++;
        j++;
    }
}

/* 1 if s starts with prefix under the same normalisation; *rest set past it. */
static int strip_prefix(const char *s, size_t len, const char *prefix, size_t *rest)
{
    size_t i = 0;
    for (const char *p = prefix; *p; p++) {
        if (*p == '_' || *p == '-')
            continue;
        while (i < len && (s[i] == '_' || s[i] == '-'))
            i++;
        if (i == len || lc((unsigned char)s[i]) != lc((unsigned char)*p))
            return 0;
        i++;
    }
    *rest = i;
    return 1;
}

int live_bit_find(const struct live_bit *t, size_t n, const char *name, size_t len,
                  const char *prefix, uint64_t *value)
{
    size_t skip = 0;
    if (prefix && !strip_prefix(name, len, prefix, &skip))
        skip = 0;
    for (size_t i = 0; i < n; i++) {
        if (live_name_eq(name + skip, len - skip, t[i].name, strlen(t[i].name))) {
            *value = t[i].value;
            return 1;
        }
    }
    return 0;
}

const struct live_system_provider *live_system_provider_find(const char *name,
                                                             const etwhost_guid *guid)
{
    for (size_t i = 0; i < sizeof system_providers / sizeof system_providers[0]; i++) {
        const struct live_system_provider *p = &system_providers[i];
        if (guid && memcmp(guid, &p->guid, sizeof *guid) == 0)
            return p;
        if (name == NULL)
            continue;
        size_t nl = strlen(name), pl = strlen(p->name);
        /* "SystemProcessProvider", "SystemProcessProviderGuid", "SystemProcess". */
        if (live_name_eq(name, nl, p->name, pl))
            return p;
        if (nl == pl + 4 && live_name_eq(name, pl, p->name, pl) &&
            live_name_eq(name + pl, 4, "Guid", 4))
            return p;
        if (nl + 8 == pl && live_name_eq(name, nl, p->name, nl))
            return p;
    }
    return NULL;
}

int live_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0)
        return -1;
    uint64_t v = 0;
    size_t i = 0;
    unsigned base = 10;
    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    for (; i < len; i++) {
        int c = (unsigned char)s[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        if (v > (UINT64_MAX - (uint64_t)d) / base)
            return -1;
        v = v * base + (uint64_t)d;
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

static const struct live_bit levels[] = {
    {"critical", 1}, {"error", 2},   {"warning", 3}, {"info", 4},
    {"information", 4}, {"informational", 4}, {"verbose", 5}, {"all", 255},
};

int live_level_parse(const char *s, size_t len, uint8_t *out)
{
    uint64_t v;
    if (live_parse_u64(s, len, 255, &v) == 0 ||
        live_bit_find(levels, sizeof levels / sizeof levels[0], s, len, NULL, &v)) {
        *out = (uint8_t)v;
        return 0;
    }
    return -1;
}

static const struct live_bit properties[] = {
    {"sid", LIVE_PROP_SID},
    {"ts_id", LIVE_PROP_TS_ID},
    {"stack_trace", LIVE_PROP_STACK_TRACE},
    {"psm_key", LIVE_PROP_PSM_KEY},
    {"ignore_keyword_0", LIVE_PROP_IGNORE_KEYWORD_0},
    {"provider_group", LIVE_PROP_PROVIDER_GROUP},
    {"enable_keyword_0", LIVE_PROP_ENABLE_KEYWORD_0},
    {"process_start_key", LIVE_PROP_PROCESS_START_KEY},
    {"event_key", LIVE_PROP_EVENT_KEY},
    {"exclude_inprivate", LIVE_PROP_EXCLUDE_INPRIVATE},
    {"enable_silos", LIVE_PROP_ENABLE_SILOS},
    {"source_container_tracking", LIVE_PROP_SOURCE_CONTAINER_TRACKING},
};

const struct live_bit *live_enable_properties(size_t *n)
{
    *n = sizeof properties / sizeof properties[0];
    return properties;
}
