/*
 * bench_json: throughput of the canonical JSON writer against jansson.
 *
 *   build/tools/bench_json [N [NJ]]   (N events, default 2000000; NJ for jansson, default N)
 *
 * Renders N copies of a realistic 10-property event (a process-start event:
 * integers, three UTF-16 strings as recorded, a GUID, a FILETIME, a hex
 * flag word) with event_json_render(), and the same content with jansson's
 * json_dumps() of an equivalent json_t object built once.  The jansson side
 * therefore does less work (its strings are already UTF-8 and its values
 * already formatted where ours convert on every event); it is the baseline
 * a general-purpose library gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/text.h"
#include "event/event.h"
#include "platform/platform.h"

/* UTF-16LE bytes of an ASCII string, NUL-terminated as ETW records them. */
static size_t put_utf16(uint8_t *dst, const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        dst[n++] = (uint8_t)*s;
        dst[n++] = 0;
    }
    dst[n] = dst[n + 1] = 0;
    return n;
}

static const char IMAGE[] = "\\Device\\HarddiskVolume3\\Windows\\System32\\svchost.exe";
static const char CMDLINE[] = "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule";
static const char PACKAGE[] = "Microsoft.WindowsStore_22301.1401.6.0_x64__8wekyb3d8bbwe";

static uint8_t payload[1024];

static void build_event(struct event *ev, struct record *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->kind = ETWHOST_HK_EVENT;
    rec->timestamp = 133245763580175449LL;
    /* Microsoft-Windows-Kernel-Process */
    rec->provider = (etwhost_guid){0x22fb2cd6, 0x0e7b, 0x422b,
                                   {0xa0, 0xc7, 0x2f, 0xad, 0x1f, 0xd0, 0xe7, 0x16}};
    rec->id = 1;
    rec->version = 3;
    rec->level = 4;
    rec->opcode = 1;
    rec->task = 1;
    rec->keywords = 0x8000000000000010ull;
    rec->channel = 16;
    rec->pid = 4;
    rec->tid = 9120;
    rec->cpu = 2;
    size_t off = 0;
    size_t img = off, img_len = put_utf16(payload + off, IMAGE);
    off += img_len + 2;
    size_t cmd = off, cmd_len = put_utf16(payload + off, CMDLINE);
    off += cmd_len + 2;
    size_t pkg = off, pkg_len = put_utf16(payload + off, PACKAGE);
    off += pkg_len + 2;
    rec->data = payload;
    rec->data_len = (uint32_t)off;

    event_set_record(ev, rec, "Microsoft-Windows-Kernel-Process");
    ev->hdr.event_name = "ProcessStart";
    ev->hdr.task_name = "ProcessStart";
    ev->hdr.opcode_name = "Start";
    uint32_t i;
#define ADD(name, type) (i = event_prop_add(ev, name, (uint32_t)strlen(name), type))
    ADD("ProcessID", ETWHOST_PT_U32);
    ev->props[i].num.u = 10212;
    ADD("CreateTime", ETWHOST_PT_FILETIME);
    ev->props[i].num.i = 133245763580162011LL;
    ADD("ParentProcessID", ETWHOST_PT_U32);
    ev->props[i].num.u = 1164;
    ADD("SessionID", ETWHOST_PT_U32);
    ev->props[i].num.u = 0;
    ADD("Flags", ETWHOST_PT_U32);
    ev->props[i].num.u = 0x400;
    ev->props[i].format = ETWHOST_FMT_HEX;
    ADD("ImageName", ETWHOST_PT_STRING);
    ev->props[i].data = payload + img;
    ev->props[i].size = (uint32_t)img_len;
    ev->props[i].reserved = PROP_ENC_UTF16;
    ADD("CommandLine", ETWHOST_PT_STRING);
    ev->props[i].data = payload + cmd;
    ev->props[i].size = (uint32_t)cmd_len;
    ev->props[i].reserved = PROP_ENC_UTF16;
    ADD("PackageFullName", ETWHOST_PT_STRING);
    ev->props[i].data = payload + pkg;
    ev->props[i].size = (uint32_t)pkg_len;
    ev->props[i].reserved = PROP_ENC_UTF16;
    ADD("ImageChecksum", ETWHOST_PT_U32);
    ev->props[i].num.u = 0x000123ab;
    static const etwhost_guid appid = {0x5e7b4c1d, 0x2a3f, 0x4b6e,
                                       {0x9c, 0x8d, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab}};
    ADD("ActivityGuid", ETWHOST_PT_GUID);
    ev->props[i].data = (const uint8_t *)&appid;
    ev->props[i].size = 16;
#undef ADD
    event_finish_decode(ev);
}

/* The same event as a jansson object, values already in their JSON form. */
static json_t *build_jansson(const char *our_line)
{
    json_error_t err;
    json_t *j = json_loads(our_line, 0, &err);
    if (j == NULL) {
        fprintf(stderr, "bench_json: our line does not parse: %s\n", err.text);
        exit(1);
    }
    return j;
}

int main(int argc, char **argv)
{
    long long n = argc > 1 ? atoll(argv[1]) : 2000000;
    if (n <= 0) {
        fprintf(stderr, "usage: bench_json [N [NJ]]\n");
        return 2;
    }
    struct arena arena = ARENA_INIT;
    struct event ev;
    struct record rec;
    event_init(&ev, &arena);
    build_event(&ev, &rec);

    struct buf out = BUF_INIT;
    if (event_json_render(&ev, &out) != 0)
        return 1;
    const char *line = buf_cstr(&out);
    size_t line_len = out.len;
    json_t *obj = build_jansson(line);

    /* Warm up both, then measure. */
    size_t total = 0;
    for (int k = 0; k < 10000; k++) {
        buf_reset(&out);
        event_json_render(&ev, &out);
    }
    uint64_t t0 = plat_monotonic_ns();
    clock_t c0 = clock();
    for (long long k = 0; k < n; k++) {
        buf_reset(&out);
        if (event_json_render(&ev, &out) != 0)
            return 1;
        total += out.len;
    }
    uint64_t t1 = plat_monotonic_ns();
    double cpu_ours = (double)(clock() - c0) / CLOCKS_PER_SEC;

    /* Free jansson's strings with whatever allocator jansson was given. */
    json_malloc_t jmalloc;
    json_free_t jfree;
    json_get_alloc_funcs(&jmalloc, &jfree);
    long long nj = argc > 2 ? atoll(argv[2]) : n;
    if (nj <= 0)
        nj = 1;
    size_t jtotal = 0;
    uint64_t t2 = plat_monotonic_ns();
    clock_t c2 = clock();
    for (long long k = 0; k < nj; k++) {
        char *s = json_dumps(obj, JSON_COMPACT);
        if (s == NULL)
            return 1;
        jtotal += strlen(s);
        jfree(s);
    }
    uint64_t t3 = plat_monotonic_ns();
    double cpu_theirs = (double)(clock() - c2) / CLOCKS_PER_SEC;

    /*
     * Rates per CPU second of this (single-threaded) process, i.e. per core, so
     * other load on the machine does not distort them; wall-clock rates follow.
     */
    if (cpu_ours <= 0)
        cpu_ours = 1e-9;
    if (cpu_theirs <= 0)
        cpu_theirs = 1e-9;
    double ours = (double)n / cpu_ours;
    double mbs = (double)total / cpu_ours / 1e6;
    double theirs = (double)nj / cpu_theirs;
    printf("event: %zu bytes of JSON, 10 properties; %lld + %lld renders\n", line_len, n, nj);
    printf("json writer: %.0f events/s (%.1f MB/s); jansson json_dumps: %.0f events/s; "
           "ratio %.2f\n",
           ours, mbs, theirs, ours / theirs);
    printf("wall clock: json writer %.0f events/s; jansson %.0f events/s\n",
           (double)n / ((double)(t1 - t0) / 1e9), (double)nj / ((double)(t3 - t2) / 1e9));
    (void)jtotal;
    json_decref(obj);
    buf_free(&out);
    event_free(&ev);
    arena_free(&arena);
    return 0;
}
