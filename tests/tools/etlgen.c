/*
 * etlgen: makes .etl fixtures with the project's writer, repeats real
 * traces into large ones, and walks traces with the reader (counts and
 * records per second).
 *
 *   etlgen --kind mixed|tracelogging|kernel|wpp [--events N] [--cpus K] [--ptr 4|8]
 *          [--compress] [--clock qpc|system] [--qpc-freq HZ] [--seed S] [--buffer-size B]
 *          -o out.etl
 *   etlgen --repeat FILE --target-bytes B -o big.etl
 *   etlgen --walk FILE [--file-order] [--passes N]
 *
 * Generated traces are deterministic for a given seed.  Events advance in
 * time and land on random processors, so buffers of different processors
 * interleave in the file and file order differs from time order.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/mem.h"
#include "etl/etl_format.h"
#include "etl/etl_reader.h"
#include "etl/etl_writer.h"
#include "platform/platform.h"

/* ---- Deterministic randomness (splitmix64) ----------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t rnd_below(uint32_t n)
{
    return (uint32_t)(rnd() % n);
}

/* ---- Little payload builder -------------------------------------------- */

struct pb {
    uint8_t b[4096];
    uint32_t n;
};

static void pb_bytes(struct pb *p, const void *d, uint32_t n)
{
    if (p->n + n <= sizeof p->b) {
        memcpy(p->b + p->n, d, n);
        p->n += n;
    }
}

static void pb_u8(struct pb *p, uint32_t v)
{
    uint8_t b = (uint8_t)v;
    pb_bytes(p, &b, 1);
}

static void pb_u16(struct pb *p, uint32_t v)
{
    uint8_t b[2];
    le_w16(b, v);
    pb_bytes(p, b, 2);
}

static void pb_u32(struct pb *p, uint32_t v)
{
    uint8_t b[4];
    le_w32(b, v);
    pb_bytes(p, b, 4);
}

static void pb_u64(struct pb *p, uint64_t v)
{
    uint8_t b[8];
    le_w64(b, v);
    pb_bytes(p, b, 8);
}

static void pb_ptr(struct pb *p, uint64_t v, int ptr32)
{
    if (ptr32)
        pb_u32(p, (uint32_t)v);
    else
        pb_u64(p, v);
}

static void pb_str(struct pb *p, const char *s)
{
    pb_bytes(p, s, (uint32_t)strlen(s) + 1);
}

static void pb_wstr(struct pb *p, const char *s)
{
    for (; *s; s++)
        pb_u16(p, (uint8_t)*s);
    pb_u16(p, 0);
}

static void pb_guid(struct pb *p, const etwhost_guid *g)
{
    pb_u32(p, g->data1);
    pb_u16(p, g->data2);
    pb_u16(p, g->data3);
    pb_bytes(p, g->data4, 8);
}

/* ---- What the samples contain ------------------------------------------ */

static const etwhost_guid tl_provider = {
    0x6f0e2b1a, 0x5d2c, 0x5a7e, {0x8c, 0x41, 0x2e, 0x9b, 0x10, 0x73, 0xd4, 0x5f}};
static const etwhost_guid manifest_provider = {
    0x3c4b5a69, 0x7d8e, 0x4f90, {0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18}};
static const etwhost_guid classic_class = {
    0x8d5c4a21, 0x1e2f, 0x4a3b, {0x9c, 0x8d, 0x7e, 0x6f, 0x50, 0x41, 0x32, 0x23}};
static const etwhost_guid wpp_guid = {
    0x1a2b3c4d, 0x5e6f, 0x7081, {0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8, 0x09}};

static const char *const names[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"};
static const char *const images[] = {"svchost.exe", "explorer.exe", "etwhost.exe", "cmd.exe"};

/* TraceLogging provider traits: u16 size, name, no traits. */
static uint32_t tl_traits(uint8_t *out)
{
    static const char name[] = "Etwhost.Sample";
    uint32_t n = 2 + (uint32_t)sizeof name;
    le_w16(out, n);
    memcpy(out + 2, name, sizeof name);
    return n;
}

static void meta_field(struct pb *m, const char *name, uint8_t in)
{
    pb_str(m, name);
    pb_u8(m, in);
}

/* Event metadata blob for "SampleEvent" (strings, ints, GUID, struct, double, array). */
static uint32_t tl_meta_sample(uint8_t *out)
{
    struct pb m = {{0}, 0};
    pb_u16(&m, 0); /* size, patched below */
    pb_u8(&m, 0);  /* no event tags */
    pb_str(&m, "SampleEvent");
    meta_field(&m, "Name", 1);    /* UnicodeString */
    meta_field(&m, "Count", 8);   /* UInt32 */
    meta_field(&m, "Id", 15);     /* Guid */
    meta_field(&m, "Point", 24 | 0x80); /* Struct with ... */
    pb_u8(&m, 2);                 /* ... two members */
    meta_field(&m, "X", 7);       /* Int32 */
    meta_field(&m, "Y", 7);
    meta_field(&m, "Ratio", 12);  /* Double */
    meta_field(&m, "Tag", 2);     /* AnsiString */
    meta_field(&m, "Values", 6 | 0x40); /* UInt16, variable count */
    le_w16(m.b, m.n);
    memcpy(out, m.b, m.n);
    return m.n;
}

/* Event metadata blob for "Heartbeat" (UInt64 with hex output, Bool32, FILETIME). */
static uint32_t tl_meta_heartbeat(uint8_t *out)
{
    struct pb m = {{0}, 0};
    pb_u16(&m, 0);
    pb_u8(&m, 0);
    pb_str(&m, "Heartbeat");
    meta_field(&m, "Uptime", 10 | 0x80); /* UInt64 ... */
    pb_u8(&m, 4);                        /* ... OutType Hex */
    meta_field(&m, "Ok", 13);            /* Bool32 */
    meta_field(&m, "When", 17);          /* FileTime */
    le_w16(m.b, m.n);
    memcpy(out, m.b, m.n);
    return m.n;
}

/*
 * TRACE_EVENT_INFO of the manifest-style sample event (id 1, version 0):
 * UInt32 "Count", UnicodeString "Message"; offsets are relative to the blob.
 */
static uint32_t tdh_event_info(uint8_t *out)
{
    struct pb t = {{0}, 0};
    pb_guid(&t, &manifest_provider);
    for (int i = 0; i < 16; i++)
        pb_u8(&t, 0); /* EventGuid */
    pb_u16(&t, 1);    /* EVENT_DESCRIPTOR: Id */
    pb_u8(&t, 0);     /* Version */
    pb_u8(&t, 16);    /* Channel */
    pb_u8(&t, 4);     /* Level */
    pb_u8(&t, 0);     /* Opcode */
    pb_u16(&t, 1);    /* Task */
    pb_u64(&t, 0x8000000000000001ull);
    pb_u32(&t, 0); /* DecodingSource: XML file */
    uint32_t name_at = t.n;
    for (int i = 0; i < 12; i++)
        pb_u32(&t, 0); /* ProviderName .. RelatedActivityIDName offsets, patched */
    pb_u32(&t, 2);     /* PropertyCount */
    pb_u32(&t, 2);     /* TopLevelPropertyCount */
    pb_u32(&t, 0);     /* Flags */
    uint32_t props = t.n;
    for (int i = 0; i < 2 * 24; i++)
        pb_u8(&t, 0);
    uint32_t prov_name = t.n;
    pb_wstr(&t, "Etwhost-Sample-Manifest");
    uint32_t task_name = t.n;
    pb_wstr(&t, "Work");
    uint32_t p0 = t.n;
    pb_wstr(&t, "Count");
    uint32_t p1 = t.n;
    pb_wstr(&t, "Message");
    le_w32(t.b + name_at, prov_name);
    le_w32(t.b + name_at + 0x44 - 0x34, task_name);
    /* EVENT_PROPERTY_INFO: Flags, NameOffset, InType, OutType, MapNameOffset, count, length, Reserved. */
    uint8_t *e = t.b + props;
    le_w32(e + 4, p0);
    le_w16(e + 8, 8); /* UInt32 */
    le_w16(e + 16, 1);
    e += 24;
    le_w32(e + 4, p1);
    le_w16(e + 8, 1); /* UnicodeString */
    le_w16(e + 10, 1);
    le_w16(e + 16, 1);
    memcpy(out, t.b, t.n);
    return t.n;
}

struct gen {
    struct etl_writer *w;
    int ptr32;
    uint32_t cpus;
    int64_t now; /* raw clock */
    int64_t tick;
    uint64_t n;
};

static void fill_base(struct gen *g, struct etl_wrecord *r, uint16_t kind)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->cpu = rnd_below(g->cpus);
    r->raw_timestamp = g->now;
    r->pid = 1000 + rnd_below(4) * 4;
    r->tid = 2000 + rnd_below(16) * 4;
    r->ptr32 = (uint8_t)g->ptr32;
}

static int emit(struct gen *g, struct etl_wrecord *r, struct errbuf *eb)
{
    g->n++;
    return etl_writer_append(g->w, r, eb);
}

static int gen_tl(struct gen *g, struct errbuf *eb)
{
    uint8_t traits[64], meta[256];
    struct etl_wext ext[4];
    uint32_t n = 0;
    struct etl_wrecord r;
    struct pb p = {{0}, 0};
    fill_base(g, &r, ETWHOST_HK_EVENT);
    r.guid = tl_provider;
    r.channel = 11;
    r.level = 4;
    r.keywords = 0x0000400000000001ull;
    r.activity.data1 = (uint32_t)rnd();
    r.activity.data2 = 0x4000;
    etwhost_guid related = {(uint32_t)rnd(), 1, 2, {1, 2, 3, 4, 5, 6, 7, 8}};
    uint8_t stack[8 + 8 * 4];
    if (rnd_below(8) == 0) {
        ext[n++] = (struct etl_wext){EXT_RELATED_ACTIVITYID, 16, NULL};
        static uint8_t rb[16];
        le_w32(rb, related.data1);
        le_w16(rb + 4, related.data2);
        le_w16(rb + 6, related.data3);
        memcpy(rb + 8, related.data4, 8);
        ext[n - 1].data = rb;
    }
    ext[n++] = (struct etl_wext){EXT_PROV_TRAITS, (uint16_t)tl_traits(traits), traits};
    if (rnd_below(2)) {
        ext[n++] = (struct etl_wext){EXT_EVENT_SCHEMA_TL, (uint16_t)tl_meta_sample(meta), meta};
        pb_wstr(&p, names[rnd_below(6)]);
        pb_u32(&p, (uint32_t)g->n);
        etwhost_guid id = {(uint32_t)rnd(), (uint16_t)rnd(), 0x4abc, {9, 8, 7, 6, 5, 4, 3, 2}};
        pb_guid(&p, &id);
        pb_u32(&p, (uint32_t)(int32_t)(rnd_below(2000) - 1000));
        pb_u32(&p, (uint32_t)(int32_t)(rnd_below(2000) - 1000));
        pb_u64(&p, 0x3FF8000000000000ull); /* 1.5 */
        pb_str(&p, images[rnd_below(4)]);
        uint32_t cnt = rnd_below(5);
        pb_u16(&p, cnt);
        for (uint32_t i = 0; i < cnt; i++)
            pb_u16(&p, rnd_below(65536));
    } else {
        ext[n++] = (struct etl_wext){EXT_EVENT_SCHEMA_TL, (uint16_t)tl_meta_heartbeat(meta), meta};
        pb_u64(&p, (uint64_t)(g->now / 10));
        pb_u32(&p, rnd_below(2));
        pb_u64(&p, 133485408000000000ull + g->n);
    }
    if (rnd_below(6) == 0) {
        uint32_t frames = 1 + rnd_below(4);
        le_w64(stack, rnd());
        for (uint32_t i = 0; i < frames; i++)
            le_w64(stack + 8 + 8 * i, 0x7FF600001000ull + rnd_below(0x10000));
        ext[n++] = (struct etl_wext){EXT_STACK_TRACE64, (uint16_t)(8 + 8 * frames), stack};
    }
    r.ext = ext;
    r.n_ext = n;
    r.data = p.b;
    r.data_len = p.n;
    return emit(g, &r, eb);
}

static int gen_manifest(struct gen *g, struct errbuf *eb)
{
    struct etl_wrecord r;
    struct pb p = {{0}, 0};
    fill_base(g, &r, ETWHOST_HK_EVENT);
    r.guid = manifest_provider;
    r.id = 1;
    r.channel = 16;
    r.level = 4;
    r.task = 1;
    r.keywords = 0x8000000000000001ull;
    pb_u32(&p, (uint32_t)g->n);
    pb_wstr(&p, names[rnd_below(6)]);
    r.data = p.b;
    r.data_len = p.n;
    /* A WOW64-style 32-bit event now and then inside a 64-bit session. */
    if (!g->ptr32 && rnd_below(5) == 0)
        r.ptr32 = 1;
    return emit(g, &r, eb);
}

static int gen_classic(struct gen *g, struct errbuf *eb)
{
    struct etl_wrecord r;
    struct pb p = {{0}, 0};
    int inst = rnd_below(4) == 0;
    fill_base(g, &r, inst ? ETWHOST_HK_INSTANCE : ETWHOST_HK_TRACE);
    r.guid = classic_class;
    r.opcode = (uint8_t)(1 + rnd_below(3));
    r.level = 4;
    r.version = 2;
    if (inst) {
        r.instance_id = (uint32_t)g->n;
        r.parent_instance_id = 7;
        r.parent_guid = classic_class;
    }
    pb_u32(&p, (uint32_t)g->n);
    pb_u64(&p, rnd());
    r.data = p.b;
    r.data_len = p.n;
    return emit(g, &r, eb);
}

static int gen_kernel(struct gen *g, struct errbuf *eb)
{
    struct etl_wrecord r;
    struct pb p = {{0}, 0};
    uint64_t pmc[2] = {rnd() >> 20, rnd() >> 20};
    switch (rnd_below(4)) {
    case 0: /* Process start (Process_V4_TypeGroup1) */
        fill_base(g, &r, ETWHOST_HK_SYSTEM);
        r.hook_id = 0x0301;
        r.version = 4;
        pb_ptr(&p, 0xFFFFA00000000000ull + g->n * 64, g->ptr32);
        pb_u32(&p, r.pid);
        pb_u32(&p, 4);
        pb_u32(&p, 1);
        pb_u32(&p, 0);
        pb_ptr(&p, 0x1AD000, g->ptr32);
        pb_u32(&p, 0);
        pb_ptr(&p, 0xFFFFB00000001000ull, g->ptr32); /* TOKEN_USER */
        pb_ptr(&p, 0, g->ptr32);
        pb_bytes(&p, "\x01\x01\x00\x00\x00\x00\x00\x05\x12\x00\x00\x00", 12); /* S-1-5-18 */
        pb_str(&p, images[rnd_below(4)]);
        pb_wstr(&p, "C:\\Windows\\system32\\svchost.exe -k netsvcs");
        pb_wstr(&p, "");
        pb_wstr(&p, "");
        break;
    case 1: /* Thread start (Thread_V3_TypeGroup1) */
        fill_base(g, &r, ETWHOST_HK_SYSTEM);
        r.hook_id = 0x0501;
        r.version = 3;
        pb_u32(&p, r.pid);
        pb_u32(&p, r.tid);
        for (int i = 0; i < 7; i++)
            pb_ptr(&p, 0xFFFF800000000000ull + rnd_below(1u << 30), g->ptr32);
        pb_u32(&p, 0);
        pb_u8(&p, 8);
        pb_u8(&p, 5);
        pb_u8(&p, 2);
        pb_u8(&p, 0);
        break;
    case 2: /* SampledProfile, sometimes with PMC counters */
        fill_base(g, &r, ETWHOST_HK_PERFINFO);
        r.hook_id = 0x0F2E;
        r.version = 2;
        if (rnd_below(3) == 0) {
            r.pmc = pmc;
            r.n_pmc = 2;
        }
        pb_ptr(&p, 0xFFFFF80000000000ull + rnd_below(1u << 24), g->ptr32);
        pb_u32(&p, 2000 + rnd_below(16) * 4);
        pb_u16(&p, 1);
        pb_u16(&p, 0);
        break;
    default: /* CSwitch with a compact header */
        fill_base(g, &r, ETWHOST_HK_SYSTEM);
        r.compact = 1;
        r.hook_id = 0x0524;
        r.version = 2;
        pb_u32(&p, r.tid);
        pb_u32(&p, 2000 + rnd_below(16) * 4);
        for (int i = 0; i < 8; i++)
            pb_u8(&p, rnd_below(8));
        pb_u32(&p, rnd_below(1000));
        pb_u32(&p, 0);
        break;
    }
    r.data = p.b;
    r.data_len = p.n;
    return emit(g, &r, eb);
}

static int gen_wpp(struct gen *g, struct errbuf *eb)
{
    static const uint16_t opts[] = {0x2A, 0x2B, 0x2C, 0x0A, 0x02, 0x23};
    struct etl_wrecord r;
    struct pb p = {{0}, 0};
    fill_base(g, &r, ETWHOST_HK_MESSAGE);
    r.guid = wpp_guid;
    r.message_number = (uint16_t)(10 + rnd_below(10));
    r.wpp_options = opts[rnd_below(6)];
    r.sequence = (uint32_t)g->n;
    r.component_id = 42;
    pb_u32(&p, rnd_below(100000));
    pb_str(&p, names[rnd_below(6)]);
    r.data = p.b;
    r.data_len = p.n;
    return emit(g, &r, eb);
}

/* QPC ticks per second of generated traces (--qpc-freq); 0: the writer's default, 10 MHz. */
static int64_t qpc_freq;

static int generate(const char *kind, uint64_t events, uint32_t cpus, int ptr, int compress,
                    int system_clock, uint64_t seed, uint32_t buffer_size, const char *out,
                    struct errbuf *eb)
{
    struct etl_writer_options o;
    memset(&o, 0, sizeof o);
    o.pointer_size = (uint32_t)ptr;
    o.num_cpus = cpus;
    o.compress = compress;
    o.buffer_size = buffer_size;
    o.clock_type = system_clock ? TRACE_CLOCK_SYSTEM : TRACE_CLOCK_QPC;
    if (!system_clock)
        o.perf_freq = qpc_freq;
    o.start_time = 133485408000000000LL;
    o.t0_raw = system_clock ? o.start_time : 123456789012LL;
    o.logger_name = "etlgen";
    o.logfile_name = out;
    if (strcmp(kind, "wpp") == 0)
        o.log_file_mode = 0x20802; /* circular private in-process logger, like WPP sessions */
    rng_state = seed;
    struct gen g;
    memset(&g, 0, sizeof g);
    g.ptr32 = ptr == 4;
    g.cpus = cpus;
    g.now = o.t0_raw;
    int rc = etl_writer_open(out, &o, &g.w, eb);
    if (rc)
        return rc;
    int mixed = strcmp(kind, "mixed") == 0;
    if (mixed) {
        uint8_t tei[1024];
        uint32_t n = tdh_event_info(tei);
        g.now += 1000;
        rc = etl_writer_tdh_event_info(g.w, 0, g.now, 4, 8, tei, n, eb);
        g.n++;
    }
    while (rc == 0 && g.n < events) {
        g.now += 1 + rnd_below(2000);
        if (strcmp(kind, "tracelogging") == 0)
            rc = gen_tl(&g, eb);
        else if (strcmp(kind, "kernel") == 0)
            rc = gen_kernel(&g, eb);
        else if (strcmp(kind, "wpp") == 0)
            rc = gen_wpp(&g, eb);
        else {
            uint32_t k = rnd_below(10);
            rc = k < 3 ? gen_tl(&g, eb) : k < 5 ? gen_manifest(&g, eb) : k < 6 ? gen_classic(&g, eb)
               : k < 9 ? gen_kernel(&g, eb) : gen_wpp(&g, eb);
        }
    }
    uint64_t recs = 0, bufs = 0;
    etl_writer_counts(g.w, &recs, &bufs);
    int rc2 = etl_writer_close(g.w, NULL, NULL, rc ? NULL : eb);
    if (rc == 0)
        rc = rc2;
    if (rc == 0)
        printf("%s: %" PRIu64 " records (+1 logfile header)\n", out, recs);
    return rc;
}

static int walk(const char *path, int file_order, int passes, struct errbuf *eb)
{
    double best = 0, best_cpu = 0;
    for (int pass = 0; pass < passes; pass++) {
        struct etl_options o;
        memset(&o, 0, sizeof o);
        o.file_order = file_order;
        struct etl_reader *r;
        int rc = etl_open(path, &o, &r, eb);
        if (rc)
            return rc;
        uint64_t kinds[8] = {0};
        struct record rec;
        uint64_t t0 = plat_monotonic_ns();
        clock_t c0 = clock();
        while ((rc = etl_next(r, &rec, eb)) == 1)
            kinds[rec.kind & 7]++;
        clock_t c1 = clock();
        uint64_t t1 = plat_monotonic_ns();
        struct etl_stats st;
        etl_get_stats(r, &st);
        etl_close(r);
        if (rc < 0)
            return rc;
        double secs = (double)(t1 - t0) / 1e9;
        double rate = secs > 0 ? (double)st.records / secs : 0;
        double cpu = (double)(c1 - c0) / CLOCKS_PER_SEC;
        double cpu_rate = cpu > 0 ? (double)st.records / cpu : 0;
        if (rate > best)
            best = rate;
        if (cpu_rate > best_cpu)
            best_cpu = cpu_rate;
        if (pass + 1 < passes)
            continue;
        printf("{\"file\":\"%s\",\"order\":\"%s\",\"records\":%" PRIu64 ",\"buffers\":%" PRIu64
               ",\"compressed_buffers\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"bad_buffers\":%" PRIu64
               ",\"bad_records\":%" PRIu64 ",\"skipped_bytes\":%" PRIu64 ",\"late_records\":%" PRIu64
               ",\"system\":%" PRIu64 ",\"perfinfo\":%" PRIu64 ",\"trace\":%" PRIu64
               ",\"instance\":%" PRIu64 ",\"event\":%" PRIu64 ",\"message\":%" PRIu64
               ",\"seconds\":%.4f,\"records_per_s\":%.0f,\"cpu_seconds\":%.4f,"
               "\"records_per_cpu_s\":%.0f}\n",
               path, file_order ? "file" : "time", st.records, st.buffers, st.compressed_buffers,
               st.bytes, st.bad_buffers, st.bad_records, st.skipped_bytes, st.late_records,
               kinds[ETWHOST_HK_SYSTEM], kinds[ETWHOST_HK_PERFINFO], kinds[ETWHOST_HK_TRACE],
               kinds[ETWHOST_HK_INSTANCE], kinds[ETWHOST_HK_EVENT], kinds[ETWHOST_HK_MESSAGE],
               secs, best, cpu, best_cpu);
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: etlgen --kind mixed|tracelogging|kernel|wpp [--events N] [--cpus K] [--ptr 4|8]\n"
            "              [--compress] [--clock qpc|system] [--qpc-freq HZ] [--seed S]\n"
            "              [--buffer-size B] -o out.etl\n"
            "       etlgen --repeat FILE --target-bytes B -o big.etl\n"
            "       etlgen --walk FILE [--file-order] [--passes N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *kind = NULL, *out = NULL, *repeat = NULL, *walkf = NULL;
    uint64_t events = 1000, seed = 1, target = 0;
    uint32_t cpus = 4, buffer_size = 0;
    int ptr = 8, compress = 0, system_clock = 0, file_order = 0, passes = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--compress") == 0) {
            compress = 1;
            continue;
        }
        if (strcmp(a, "--file-order") == 0) {
            file_order = 1;
            continue;
        }
        if (v == NULL)
            usage();
        i++;
        if (strcmp(a, "--kind") == 0)
            kind = v;
        else if (strcmp(a, "--events") == 0)
            events = strtoull(v, NULL, 10);
        else if (strcmp(a, "--cpus") == 0)
            cpus = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(a, "--ptr") == 0)
            ptr = atoi(v);
        else if (strcmp(a, "--clock") == 0)
            system_clock = strcmp(v, "system") == 0;
        else if (strcmp(a, "--qpc-freq") == 0)
            qpc_freq = strtoll(v, NULL, 10);
        else if (strcmp(a, "--seed") == 0)
            seed = strtoull(v, NULL, 10);
        else if (strcmp(a, "--buffer-size") == 0)
            buffer_size = (uint32_t)strtoul(v, NULL, 10);
        else if (strcmp(a, "-o") == 0)
            out = v;
        else if (strcmp(a, "--repeat") == 0)
            repeat = v;
        else if (strcmp(a, "--target-bytes") == 0)
            target = strtoull(v, NULL, 10);
        else if (strcmp(a, "--walk") == 0)
            walkf = v;
        else if (strcmp(a, "--passes") == 0)
            passes = atoi(v);
        else
            usage();
    }
    struct errbuf eb;
    eb.msg[0] = '\0';
    int rc;
    if (walkf) {
        rc = walk(walkf, file_order, passes > 0 ? passes : 1, &eb);
    } else if (repeat) {
        if (out == NULL)
            usage();
        uint64_t copies = 0;
        rc = etl_repeat_file(repeat, out, target, &copies, &eb);
        if (rc == 0)
            printf("%s: %" PRIu64 " copies of the data buffers of %s\n", out, copies, repeat);
    } else {
        if (kind == NULL || out == NULL || cpus == 0 || cpus > 256 || (ptr != 4 && ptr != 8))
            usage();
        if (strcmp(kind, "mixed") && strcmp(kind, "tracelogging") && strcmp(kind, "kernel") &&
            strcmp(kind, "wpp"))
            usage();
        rc = generate(kind, events, cpus, ptr, compress, system_clock, seed, buffer_size, out, &eb);
    }
    if (rc) {
        fprintf(stderr, "etlgen: %s\n", eb.msg[0] ? eb.msg : err_str(rc));
        return 1;
    }
    return 0;
}
