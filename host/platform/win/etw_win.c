/*
 * etw_win: the Windows etw_api table (host/live/etw_api.h).  The only code
 * that calls the ETW controller, consumer and TDH functions.
 *
 * Each function converts the portable arguments into the Windows
 * structures and back, field by field, and returns the Win32 code.  The
 * consumer callback copies EVENT_RECORD into struct etw_event (pointers
 * stay pointers; nothing is copied) and calls the portable callback.
 *
 * Wine: its ETW controller functions are success stubs, OpenTraceW fails
 * and every TDH function used here aborts the process (Wine 8.0).  Under
 * Wine (ntdll exports wine_get_version) open_trace and the tdh_* functions
 * therefore return ERROR_NOT_SUPPORTED without calling Windows, and say so
 * through error_text.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <evntcons.h>
#include <evntrace.h>
#include <intrin.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <tdh.h>

#include "../../core/mem.h"
#include "../../live/etw_api.h"
#include "../platform.h"
#include "registry_win.h"
#include "win_util.h"

/* Names newer SDKs have and mingw-w64 10 lacks. */
#ifndef PROCESS_TRACE_MODE_RAW_TIMESTAMP
#define PROCESS_TRACE_MODE_RAW_TIMESTAMP 0x00001000
#endif

#define WIN_MAX_EXT 64

static void to_guid(GUID *g, const etwhost_guid *e)
{
    g->Data1 = e->data1;
    g->Data2 = e->data2;
    g->Data3 = e->data3;
    memcpy(g->Data4, e->data4, 8);
}

static void from_guid(etwhost_guid *e, const GUID *g)
{
    e->data1 = g->Data1;
    e->data2 = g->Data2;
    e->data3 = g->Data3;
    memcpy(e->data4, g->Data4, 8);
}

static void to_wide(const char *s, WCHAR *out, int cap)
{
    if (MultiByteToWideChar(CP_UTF8, 0, s, -1, out, cap) <= 0)
        out[0] = 0;
}

static void to_utf8(const WCHAR *w, char *out, int cap)
{
    if (WideCharToMultiByte(CP_UTF8, 0, w, -1, out, cap, NULL, NULL) <= 0)
        out[0] = 0;
}

static const char *wine_version_of(void)
{
    static int done;
    static const char *version;
    if (!done) {
        HMODULE nt = GetModuleHandleW(L"ntdll.dll");
        FARPROC fp = nt ? GetProcAddress(nt, "wine_get_version") : NULL;
        if (fp) {
            const char *(*get)(void);
            memcpy(&get, &fp, sizeof get);
            version = get();
            if (version == NULL)
                version = "?";
        }
        done = 1;
    }
    return version;
}

/* EVENT_TRACE_PROPERTIES with room for both names after it. */
struct props_buf {
    EVENT_TRACE_PROPERTIES p;
    WCHAR logger[ETW_NAME_MAX];
    WCHAR file[ETW_PATH_MAX];
};

static void props_init(struct props_buf *b)
{
    memset(b, 0, sizeof *b);
    b->p.Wnode.BufferSize = sizeof *b;
    b->p.Wnode.Flags = WNODE_FLAG_TRACED_GUID;
    b->p.LoggerNameOffset = offsetof(struct props_buf, logger);
    b->p.LogFileNameOffset = offsetof(struct props_buf, file);
}

static void props_out(const struct props_buf *b, struct etw_session_props *o)
{
    const BYTE *base = (const BYTE *)b;
    if (b->p.LoggerNameOffset && b->p.LoggerNameOffset < sizeof *b)
        to_utf8((const WCHAR *)(base + b->p.LoggerNameOffset), o->name, sizeof o->name);
    if (b->p.LogFileNameOffset && b->p.LogFileNameOffset < sizeof *b)
        to_utf8((const WCHAR *)(base + b->p.LogFileNameOffset), o->file, sizeof o->file);
    from_guid(&o->guid, &b->p.Wnode.Guid);
    o->handle = b->p.Wnode.HistoricalContext;
    o->clock_type = b->p.Wnode.ClientContext;
    o->buffer_size_kb = b->p.BufferSize;
    o->min_buffers = b->p.MinimumBuffers;
    o->max_buffers = b->p.MaximumBuffers;
    o->max_file_size_mb = b->p.MaximumFileSize;
    o->log_file_mode = b->p.LogFileMode;
    o->flush_timer_s = b->p.FlushTimer;
    o->enable_flags = b->p.EnableFlags;
    o->q_number_of_buffers = b->p.NumberOfBuffers;
    o->q_free_buffers = b->p.FreeBuffers;
    o->q_events_lost = b->p.EventsLost;
    o->q_buffers_written = b->p.BuffersWritten;
    o->q_log_buffers_lost = b->p.LogBuffersLost;
    o->q_real_time_buffers_lost = b->p.RealTimeBuffersLost;
}

static uint32_t w_start_trace(void *ctx, struct etw_session_props *sp)
{
    (void)ctx;
    struct props_buf *b = mem_alloc(sizeof *b);
    if (b == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    props_init(b);
    to_guid(&b->p.Wnode.Guid, &sp->guid);
    b->p.Wnode.ClientContext = sp->clock_type;
    b->p.BufferSize = sp->buffer_size_kb;
    b->p.MinimumBuffers = sp->min_buffers;
    b->p.MaximumBuffers = sp->max_buffers;
    b->p.MaximumFileSize = sp->max_file_size_mb;
    b->p.LogFileMode = sp->log_file_mode;
    b->p.FlushTimer = sp->flush_timer_s;
    b->p.EnableFlags = sp->enable_flags;
    if (sp->file[0])
        to_wide(sp->file, b->file, ETW_PATH_MAX);
    else
        b->p.LogFileNameOffset = 0;
    WCHAR name[ETW_NAME_MAX];
    to_wide(sp->name, name, ETW_NAME_MAX);
    TRACEHANDLE h = 0;
    ULONG rc = StartTraceW(&h, name, &b->p);
    sp->handle = rc == ERROR_SUCCESS ? (uint64_t)h : 0;
    mem_free(b);
    return rc;
}

static uint32_t w_control_trace(void *ctx, uint64_t handle, const char *name, uint32_t code,
                                struct etw_session_props *io)
{
    (void)ctx;
    struct props_buf *b = mem_alloc(sizeof *b);
    if (b == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    props_init(b);
    WCHAR wname[ETW_NAME_MAX];
    wname[0] = 0;
    if (name)
        to_wide(name, wname, ETW_NAME_MAX);
    ULONG rc = ControlTraceW((TRACEHANDLE)handle, handle ? NULL : wname, &b->p, code);
    if (io && (rc == ERROR_SUCCESS || rc == ERROR_MORE_DATA)) {
        memset(io, 0, sizeof *io);
        props_out(b, io);
    }
    mem_free(b);
    return rc;
}

static uint32_t w_enable_trace(void *ctx, uint64_t handle, const struct etw_enable *e)
{
    (void)ctx;
    EVENT_FILTER_DESCRIPTOR d[16];
    ENABLE_TRACE_PARAMETERS p;
    memset(&p, 0, sizeof p);
    if (e->nfilters > 16)
        return ERROR_INVALID_PARAMETER;
    for (uint32_t i = 0; i < e->nfilters; i++) {
        d[i].Ptr = (ULONGLONG)(uintptr_t)e->filters[i].ptr;
        d[i].Size = e->filters[i].size;
        d[i].Type = e->filters[i].type;
    }
    p.Version = ENABLE_TRACE_PARAMETERS_VERSION_2;
    p.EnableProperty = e->enable_property;
    p.EnableFilterDesc = e->nfilters ? d : NULL;
    p.FilterDescCount = e->nfilters;
    GUID g;
    to_guid(&g, &e->provider);
    return EnableTraceEx2((TRACEHANDLE)handle, &g, e->control_code, e->level, e->match_any,
                          e->match_all, e->timeout_ms, &p);
}

static uint32_t w_query_all(void *ctx, struct etw_session_props *out, uint32_t cap,
                            uint32_t *count)
{
    (void)ctx;
    *count = 0;
    /* QueryAllTracesW takes at most 64 entries (the documented session limit). */
    if (cap > 64)
        cap = 64;
    struct props_buf *v = mem_calloc(cap ? cap : 1, sizeof *v);
    PEVENT_TRACE_PROPERTIES *ptrs = mem_calloc(cap ? cap : 1, sizeof *ptrs);
    if (v == NULL || ptrs == NULL) {
        mem_free(v);
        mem_free(ptrs);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    for (uint32_t i = 0; i < cap; i++) {
        props_init(&v[i]);
        ptrs[i] = &v[i].p;
    }
    ULONG n = 0;
    ULONG rc = QueryAllTracesW(ptrs, cap, &n);
    if (rc == ERROR_SUCCESS || rc == ERROR_MORE_DATA) {
        for (ULONG i = 0; i < n && i < cap; i++) {
            memset(&out[i], 0, sizeof out[i]);
            props_out(&v[i], &out[i]);
        }
        *count = n < cap ? n : cap;
        rc = ERROR_SUCCESS;
    }
    mem_free(v);
    mem_free(ptrs);
    return rc;
}

/* The consumer callback: EVENT_RECORD -> struct etw_event, member by member. */
static VOID WINAPI on_record(PEVENT_RECORD r)
{
    const struct etw_consumer *c = r->UserContext;
    struct etw_ext_item items[WIN_MAX_EXT];
    uint16_t n = r->ExtendedDataCount > WIN_MAX_EXT ? WIN_MAX_EXT : r->ExtendedDataCount;
    for (uint16_t i = 0; i < n; i++) {
        items[i].type = r->ExtendedData[i].ExtType;
        items[i].size = r->ExtendedData[i].DataSize;
        items[i].data = (const void *)(uintptr_t)r->ExtendedData[i].DataPtr;
    }
    const EVENT_HEADER *h = &r->EventHeader;
    struct etw_event ev;
    ev.size = h->Size;
    ev.header_type = h->HeaderType;
    ev.flags = h->Flags;
    ev.event_property = h->EventProperty;
    ev.tid = h->ThreadId;
    ev.pid = h->ProcessId;
    ev.timestamp = h->TimeStamp.QuadPart;
    from_guid(&ev.provider, &h->ProviderId);
    ev.id = h->EventDescriptor.Id;
    ev.version = h->EventDescriptor.Version;
    ev.channel = h->EventDescriptor.Channel;
    ev.level = h->EventDescriptor.Level;
    ev.opcode = h->EventDescriptor.Opcode;
    ev.task = h->EventDescriptor.Task;
    ev.keyword = h->EventDescriptor.Keyword;
    ev.processor_time = h->ProcessorTime;
    from_guid(&ev.activity, &h->ActivityId);
    ev.processor = (uint16_t)GetEventProcessorIndex(r);
    ev.logger_id = r->BufferContext.LoggerId;
    ev.ext_count = n;
    ev.user_len = r->UserDataLength;
    ev.ext = items;
    ev.user_data = r->UserData;
    ev.native = r;
    c->on_event(c->ctx, &ev);
}

static uint32_t w_open_trace(void *ctx, const char *name, const struct etw_consumer *cons,
                             uint64_t *trace, struct trace_info *info)
{
    (void)ctx;
    if (wine_version_of())
        return ERROR_NOT_SUPPORTED;
    WCHAR wname[ETW_NAME_MAX];
    to_wide(name, wname, ETW_NAME_MAX);
    EVENT_TRACE_LOGFILEW lf;
    memset(&lf, 0, sizeof lf);
    lf.LoggerName = wname;
    lf.ProcessTraceMode = PROCESS_TRACE_MODE_EVENT_RECORD | PROCESS_TRACE_MODE_REAL_TIME |
                          PROCESS_TRACE_MODE_RAW_TIMESTAMP;
    lf.EventRecordCallback = on_record;
    lf.Context = (PVOID)cons;
    TRACEHANDLE h = OpenTraceW(&lf);
    if (h == INVALID_PROCESSTRACE_HANDLE)
        return GetLastError();
    *trace = (uint64_t)h;
    const TRACE_LOGFILE_HEADER *lh = &lf.LogfileHeader;
    memset(info, 0, sizeof *info);
    uint32_t ps = lh->PointerSize;
    info->pointer_size = ps == 4 || ps == 8 ? ps : ps == 32 || ps == 64 ? ps / 8
                                                                        : (uint32_t)sizeof(void *);
    info->clock_type = lh->ReservedFlags ? lh->ReservedFlags : 1;
    info->os_major = lh->VersionDetail.MajorVersion;
    info->os_minor = lh->VersionDetail.MinorVersion;
    info->os_build = lh->ProviderVersion;
    info->num_cpus = lh->NumberOfProcessors;
    info->log_file_mode = lh->LogFileMode;
    info->buffer_size = lh->BufferSize;
    info->cpu_mhz = lh->CpuSpeedInMHz;
    info->perf_freq = lh->PerfFreq.QuadPart;
    info->boot_time = lh->BootTime.QuadPart;
    if (info->perf_freq == 0) {
        LARGE_INTEGER f;
        QueryPerformanceFrequency(&f);
        info->perf_freq = f.QuadPart;
    }
    /* A (raw clock, UTC) pair taken now, so raw timestamps convert exactly as in .etl files. */
    FILETIME ft;
    if (info->clock_type == 3) {
        info->t0_raw = (int64_t)__rdtsc();
        GetSystemTimePreciseAsFileTime(&ft);
    } else if (info->clock_type == 2) {
        GetSystemTimePreciseAsFileTime(&ft);
        info->t0_raw = (int64_t)(((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime);
    } else {
        LARGE_INTEGER q;
        QueryPerformanceCounter(&q);
        GetSystemTimePreciseAsFileTime(&ft);
        info->t0_raw = q.QuadPart;
    }
    info->start_time = (int64_t)(((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime);
    return ERROR_SUCCESS;
}

static uint32_t w_process_trace(void *ctx, uint64_t trace)
{
    (void)ctx;
    TRACEHANDLE h = (TRACEHANDLE)trace;
    return ProcessTrace(&h, 1, NULL, NULL);
}

static uint32_t w_close_trace(void *ctx, uint64_t trace)
{
    (void)ctx;
    return CloseTrace((TRACEHANDLE)trace);
}

static uint32_t w_tdh_event_info(void *ctx, const struct etw_event *ev, uint8_t *buf,
                                 uint32_t *size)
{
    (void)ctx;
    if (wine_version_of())
        return ERROR_NOT_SUPPORTED;
    ULONG sz = *size;
    ULONG rc = TdhGetEventInformation((PEVENT_RECORD)ev->native, 0, NULL,
                                      (PTRACE_EVENT_INFO)buf, &sz);
    *size = sz;
    return rc;
}

static uint32_t w_tdh_map_info(void *ctx, const struct etw_event *ev, const char *name,
                               uint8_t *buf, uint32_t *size)
{
    (void)ctx;
    if (wine_version_of())
        return ERROR_NOT_SUPPORTED;
    WCHAR wname[512];
    to_wide(name, wname, 512);
    ULONG sz = *size;
    ULONG rc = TdhGetEventMapInformation((PEVENT_RECORD)ev->native, wname, (PEVENT_MAP_INFO)buf,
                                         &sz);
    *size = sz;
    return rc;
}

static uint32_t w_tdh_providers(void *ctx, uint8_t *buf, uint32_t *size)
{
    (void)ctx;
    if (wine_version_of())
        return ERROR_NOT_SUPPORTED;
    ULONG sz = *size;
    ULONG rc = TdhEnumerateProviders((PPROVIDER_ENUMERATION_INFO)buf, &sz);
    *size = sz;
    return rc;
}

static uint32_t w_enable_privilege(void *ctx, const char *name)
{
    (void)ctx;
    HANDLE tok;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &tok))
        return GetLastError();
    WCHAR wname[128];
    to_wide(name, wname, 128);
    TOKEN_PRIVILEGES tp;
    memset(&tp, 0, sizeof tp);
    tp.PrivilegeCount = 1;
    tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
    DWORD rc = ERROR_SUCCESS;
    if (!LookupPrivilegeValueW(NULL, wname, &tp.Privileges[0].Luid) ||
        !AdjustTokenPrivileges(tok, FALSE, &tp, sizeof tp, NULL, NULL))
        rc = GetLastError();
    else
        rc = GetLastError(); /* ERROR_NOT_ALL_ASSIGNED when the privilege is not held */
    CloseHandle(tok);
    return rc;
}

static uint32_t w_cpu_count(void *ctx)
{
    (void)ctx;
    DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    return n ? n : 1;
}

static const char *w_wine_version(void *ctx)
{
    (void)ctx;
    return wine_version_of();
}

static void w_error_text(void *ctx, uint32_t code, char *buf, size_t cap)
{
    (void)ctx;
    if (code == ERROR_NOT_SUPPORTED && wine_version_of()) {
        snprintf(buf, cap, "not implemented by Wine %s (real-time consumption and TDH need "
                           "Windows; the call was skipped)",
                 wine_version_of());
        return;
    }
    win_error_text(code, buf, cap);
}

static const struct etw_api win_api = {
    "windows",
    NULL,
    w_start_trace,
    w_control_trace,
    w_enable_trace,
    w_query_all,
    w_open_trace,
    w_process_trace,
    w_close_trace,
    w_tdh_event_info,
    w_tdh_map_info,
    w_tdh_providers,
    winreg_set,
    winreg_create,
    winreg_get,
    winreg_enum_key,
    winreg_enum_value,
    winreg_delete_tree,
    w_enable_privilege,
    w_cpu_count,
    w_wine_version,
    w_error_text,
};

const struct etw_api *etw_api_platform(void)
{
    return &win_api;
}
