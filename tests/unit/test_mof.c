/*
 * The built-in kernel MOF classes on records written with the project's ETL
 * writer: 32- and 64-bit pointer layouts, the UserSID rule (TOKEN_USER +
 * SID, or a single zero u32), network-order addresses and ports, stacks
 * running to the payload end, perfinfo and classic (KernelTraceControl)
 * headers, the version fall-back heuristic, provider names, and the whole
 * table building; then every kernel record of the corpus's kernel traces and
 * the decode rate.
 */
#include "test.h"

#include "core/arena.h"
#include "core/mem.h"
#include "decode/decode.h"
#include "etl/etl_reader.h"
#include "etl/etl_writer.h"
#include "event/event.h"
#include "platform/platform.h"
#include "schema/mof_kernel.h"
#include "schema/schema_cache.h"
#include "schema/schema_sources.h"
#include "test_decode_util.h"

static const etwhost_guid g_process = {0x3d6fa8d0, 0xfe05, 0x11d0,
                                       {0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c}};
static const etwhost_guid g_imageid = {0xb3e675d7, 0x2554, 0x4f18,
                                       {0x83, 0x0b, 0x27, 0x62, 0x73, 0x25, 0x60, 0xde}};

struct krec {
    uint16_t kind;   /* ETWHOST_HK_SYSTEM, _PERFINFO, _TRACE */
    uint16_t hook;   /* system/perfinfo */
    uint8_t version; /* header version */
    uint8_t opcode;  /* classic */
    uint8_t ptr32;
    etwhost_guid guid; /* classic */
    struct plb p;
};

/* Decode the records written into a trace; JSON lines joined by '\n' (mem_alloc'd). */
static char *decode_krecs(const struct krec *k, size_t n, struct mof_kernel_stats *st)
{
    struct etl_writer *w = NULL;
    struct errbuf eb;
    ASSERT_MSG(etl_writer_open(NULL, NULL, &w, &eb) == 0, "%s", eb.msg);
    for (size_t i = 0; i < n; i++) {
        struct etl_wrecord r;
        memset(&r, 0, sizeof r);
        r.kind = k[i].kind;
        r.ptr32 = k[i].ptr32;
        r.raw_timestamp = 5000 + (int64_t)i;
        r.pid = 4;
        r.tid = 8;
        r.hook_id = k[i].hook;
        r.version = k[i].version;
        r.opcode = k[i].opcode;
        r.guid = k[i].guid;
        r.data = k[i].p.b;
        r.data_len = k[i].p.n;
        ASSERT_MSG(etl_writer_append(w, &r, &eb) == 0, "%s", eb.msg);
    }
    uint8_t *file = NULL;
    size_t len = 0;
    ASSERT_MSG(etl_writer_close(w, &file, &len, &eb) == 0, "%s", eb.msg);

    struct schema_cache *c = schema_cache_new(0);
    struct decoder d;
    decoder_init(&d, c);
    ASSERT_MSG(schema_sources_builtin(&d, &eb) == 0, "%s", eb.msg);
    struct arena a = ARENA_INIT;
    struct event e;
    event_init(&e, &a);
    struct etl_options opt;
    memset(&opt, 0, sizeof opt);
    opt.file_order = 1;
    struct etl_reader *rd = NULL;
    ASSERT_MSG(etl_open_mem(file, len, "kernel.etl", &opt, &rd, &eb) == 0, "%s", eb.msg);
    struct buf out;
    memset(&out, 0, sizeof out);
    struct record rec;
    int first = 1;
    while (etl_next(rd, &rec, &eb) == 1) {
        if (first) { /* the logfile header record */
            first = 0;
            continue;
        }
        arena_reset(&a);
        ASSERT_OK(decode_record(&d, &rec, &e));
        buf_append(&out, event_json(&e)->p, event_json(&e)->len);
        buf_putc(&out, '\n');
    }
    if (st)
        mof_kernel_get_stats(d.sources[0].ctx, st);
    etl_close(rd);
    event_free(&e);
    arena_free(&a);
    decoder_free(&d);
    schema_cache_free(c);
    mem_free(file);
    buf_putc(&out, '\0');
    return out.p;
}

static const char *nth_line(const char *text, int i)
{
    static char ln[8192];
    const char *p = text;
    while (i-- > 0 && p) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    ASSERT(p && *p);
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    ASSERT(n < sizeof ln);
    memcpy(ln, p, n);
    ln[n] = '\0';
    return ln;
}

/* Process v4 payload: with_sid selects TOKEN_USER + SID or the zero u32 form. */
static void process_v4(struct plb *p, int ptr32, int with_sid)
{
    unsigned ps = ptr32 ? 4 : 8;
    memset(p, 0, sizeof *p);
    plb_u(p, 0xffffa0001234ull & (ptr32 ? 0xffffffffull : ~0ull), ps); /* UniqueProcessKey */
    plb_u(p, 1234, 4);  /* ProcessId */
    plb_u(p, 4, 4);     /* ParentId */
    plb_u(p, 1, 4);     /* SessionId */
    plb_u(p, (uint32_t)-1073741510, 4); /* ExitStatus (STATUS_CONTROL_C_EXIT) */
    plb_u(p, 0x1ab000, ps);             /* DirectoryTableBase */
    plb_u(p, 2, 4);                     /* Flags */
    if (with_sid) {
        plb_u(p, 0xdeadbeef, ps); /* TOKEN_USER.User.Sid pointer */
        plb_u(p, 0, ps);          /* TOKEN_USER.User.Attributes (padded) */
        static const uint8_t sid[] = {1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0};
        plb_bytes(p, sid, sizeof sid); /* S-1-5-32-544 */
    } else {
        plb_u(p, 0, 4);
    }
    plb_bytes(p, "cmd.exe", 8);        /* ImageFileName (ANSI) */
    plb_w(p, "cmd.exe /c dir", 1);     /* CommandLine */
    plb_w(p, "", 1);                   /* PackageFullName */
    plb_w(p, "", 1);                   /* ApplicationId */
}

TEST(mof_process_pointer_sizes_and_sid)
{
    struct krec k[4];
    memset(k, 0, sizeof k);
    for (int i = 0; i < 4; i++) {
        k[i].kind = ETWHOST_HK_SYSTEM;
        k[i].hook = 0x0301; /* Process/Start */
        k[i].version = 4;
        k[i].ptr32 = (uint8_t)(i & 1);
        process_v4(&k[i].p, i & 1, i < 2);
    }
    char *out = decode_krecs(k, 4, NULL);
    for (int i = 0; i < 4; i++) {
        const char *l = nth_line(out, i);
        ASSERT_CONTAINS(l, "\"provider\":\"Windows Kernel\"");
        ASSERT_CONTAINS(l, "\"event_name\":\"Process/Start\"");
        ASSERT_CONTAINS(l, "\"task_name\":\"Process\",\"opcode_name\":\"Start\"");
        ASSERT_CONTAINS(l, "\"ProcessId\":1234,\"ParentId\":4,\"SessionId\":1,"
                           "\"ExitStatus\":-1073741510,\"DirectoryTableBase\":\"0x1ab000\","
                           "\"Flags\":\"0x2\"");
        ASSERT_CONTAINS(l, i < 2 ? "\"UserSID\":\"S-1-5-32-544\"" : "\"UserSID\":null");
        ASSERT_CONTAINS(l, "\"ImageFileName\":\"cmd.exe\",\"CommandLine\":\"cmd.exe /c dir\","
                           "\"PackageFullName\":\"\",\"ApplicationId\":\"\"}");
        ASSERT_CONTAINS(l, i & 1 ? "\"UniqueProcessKey\":\"0xa0001234\""
                                 : "\"UniqueProcessKey\":\"0xffffa0001234\"");
        ASSERT_NOT_CONTAINS(l, "decode_error");
    }
    mem_free(out);
}

TEST(mof_network_order_addresses_and_ports)
{
    struct krec k[2];
    memset(k, 0, sizeof k);
    /* TcpIp/SendIPV4 v2: PID size daddr saddr dport sport startime endtime seqnum connid. */
    k[0].kind = ETWHOST_HK_SYSTEM;
    k[0].hook = 0x060A;
    k[0].version = 2;
    struct plb *p = &k[0].p;
    plb_u(p, 4, 4);
    plb_u(p, 221, 4);
    plb_bytes(p, "\x0a\x80\x00\x4d", 4); /* 10.128.0.77 */
    plb_bytes(p, "\x0a\x80\x00\x37", 4); /* 10.128.0.55 */
    plb_bytes(p, "\xed\xa9", 2);         /* 60841 */
    plb_bytes(p, "\x0b\x35", 2);         /* 2869 */
    plb_u(p, 1584, 4);
    plb_u(p, 1585, 4);
    plb_u(p, 0, 4);
    plb_u(p, 0, 8);
    /* UdpIp/RecvIPV6 v2 (32-bit): addresses are 16 bytes. */
    k[1].kind = ETWHOST_HK_SYSTEM;
    k[1].hook = 0x081B;
    k[1].version = 2;
    k[1].ptr32 = 1;
    p = &k[1].p;
    plb_u(p, 8, 4);
    plb_u(p, 100, 4);
    static const uint8_t a6[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    plb_bytes(p, a6, 16);
    plb_bytes(p, a6, 16);
    plb_bytes(p, "\x00\x35", 2); /* 53 */
    plb_bytes(p, "\x13\x88", 2); /* 5000 */
    plb_u(p, 0, 4);
    plb_u(p, 7, 4);
    char *out = decode_krecs(k, 2, NULL);
    const char *l = nth_line(out, 0);
    ASSERT_CONTAINS(l, "\"event_name\":\"TcpIp/SendIPV4\"");
    ASSERT_CONTAINS(l, "\"daddr\":\"10.128.0.77\",\"saddr\":\"10.128.0.55\",\"dport\":60841,"
                       "\"sport\":2869");
    ASSERT_NOT_CONTAINS(l, "decode_error");
    l = nth_line(out, 1);
    ASSERT_CONTAINS(l, "\"event_name\":\"UdpIp/RecvIPV6\"");
    ASSERT_CONTAINS(l, "\"daddr\":\"fe80::1\"");
    ASSERT_CONTAINS(l, "\"dport\":53,\"sport\":5000,\"seqnum\":0,\"connid\":\"0x7\"}");
    ASSERT_NOT_CONTAINS(l, "decode_error");
    mem_free(out);
}

TEST(mof_stacks_run_to_the_payload_end)
{
    struct krec k[3];
    memset(k, 0, sizeof k);
    for (int i = 0; i < 3; i++) {
        k[i].kind = ETWHOST_HK_PERFINFO;
        k[i].hook = 0x1820; /* StackWalk/Stack */
        k[i].version = 2;
        k[i].ptr32 = (uint8_t)(i == 1);
        struct plb *p = &k[i].p;
        plb_u(p, 123456789, 8); /* EventTimeStamp */
        plb_u(p, 4, 4);         /* StackProcess */
        plb_u(p, 8, 4);         /* StackThread */
        unsigned ps = i == 1 ? 4 : 8;
        for (unsigned f = 0; f < (i == 2 ? 0u : 5u); f++)
            plb_u(p, 0x1000 + f, ps);
    }
    struct mof_kernel_stats st;
    char *out = decode_krecs(k, 3, &st);
    ASSERT_CONTAINS(nth_line(out, 0), "\"Stack\":[\"0x1000\",\"0x1001\",\"0x1002\",\"0x1003\","
                                      "\"0x1004\"]}");
    ASSERT_CONTAINS(nth_line(out, 0), "\"pid\":null"); /* perfinfo records have no pid/tid */
    ASSERT_CONTAINS(nth_line(out, 1), "\"Stack\":[\"0x1000\",\"0x1001\",\"0x1002\",\"0x1003\","
                                      "\"0x1004\"]}");
    ASSERT_CONTAINS(nth_line(out, 2), "\"StackThread\":8,\"Stack\":[]}");
    for (int i = 0; i < 3; i++)
        ASSERT_NOT_CONTAINS(nth_line(out, i), "decode_error");
    ASSERT_EQ(st.fallbacks, 0);
    mem_free(out);
}

TEST(mof_versions_fall_back_to_lower_known_ones)
{
    struct krec k[3];
    memset(k, 0, sizeof k);
    /* Process/DCStart v9 does not exist: v5 has no DCStart, v4 decodes it. */
    k[0].kind = ETWHOST_HK_SYSTEM;
    k[0].hook = 0x0303;
    k[0].version = 9;
    process_v4(&k[0].p, 0, 1);
    plb_u(&k[0].p, 0xabcdef, 8); /* a field a newer kernel might have appended */
    /* Image/UnLoad v1: no v1 or v0 layout for that type, so nothing is guessed. */
    k[1].kind = ETWHOST_HK_SYSTEM;
    k[1].hook = 0x1402;
    k[1].version = 1;
    plb_u(&k[1].p, 0, 8);
    plb_u(&k[1].p, 0, 8);
    /* An unknown event type. */
    k[2].kind = ETWHOST_HK_SYSTEM;
    k[2].hook = 0x03F0;
    k[2].version = 2;
    struct mof_kernel_stats st;
    char *out = decode_krecs(k, 3, &st);
    ASSERT_CONTAINS(nth_line(out, 0), "\"event_name\":\"Process/DCStart\"");
    ASSERT_CONTAINS(nth_line(out, 0), "\"version\":9");
    ASSERT_CONTAINS(nth_line(out, 0), "\"ApplicationId\":\"\"}");
    ASSERT_NOT_CONTAINS(nth_line(out, 0), "decode_error");
    ASSERT_CONTAINS(nth_line(out, 1),
                    "\"decode_error\":\"no schema for class Windows Kernel {2cb15d1d-5fc1-11d2-"
                    "abe1-00a0c911f518} opcode 2 version 1\"");
    ASSERT_CONTAINS(nth_line(out, 2), "opcode 240 version 2");
    ASSERT_EQ(st.fallbacks, 1);
    ASSERT_EQ(st.misses, 2);
    mem_free(out);
}

TEST(mof_kerneltracecontrol_classic_events)
{
    struct krec k[2];
    memset(k, 0, sizeof k);
    for (int i = 0; i < 2; i++) {
        k[i].kind = ETWHOST_HK_TRACE;
        k[i].guid = g_imageid;
        k[i].opcode = 36; /* DbgID_RSDS */
        k[i].version = 2;
        k[i].ptr32 = (uint8_t)i;
        struct plb *p = &k[i].p;
        plb_u(p, 0x77710000, i ? 4 : 8);
        plb_u(p, 4, 4);
        static const uint8_t g[16] = {0xdf, 0xd8, 0x83, 0xec, 0x59, 0x55, 0xe0, 0x46,
                                      0xb0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
        plb_bytes(p, g, 16);
        plb_u(p, 2, 4);
        plb_bytes(p, "wntdll.pdb", 11);
    }
    char *out = decode_krecs(k, 2, NULL);
    for (int i = 0; i < 2; i++) {
        const char *l = nth_line(out, i);
        ASSERT_CONTAINS(l, "\"provider\":\"KernelTraceControl\"");
        ASSERT_CONTAINS(l, "\"event_name\":\"ImageID/DbgID_RSDS\"");
        ASSERT_CONTAINS(l, "\"ImageBase\":\"0x77710000\",\"ProcessId\":4,"
                           "\"GuidSig\":\"ec83d8df-5559-46e0-b001-020304050607\",\"Age\":2,"
                           "\"PdbFileName\":\"wntdll.pdb\"}");
    }
    mem_free(out);
}

TEST(mof_table_builds_and_names_providers)
{
    struct schema_cache *c = schema_cache_new(0);
    struct mof_kernel *mk = NULL;
    struct errbuf eb;
    ASSERT_MSG(mof_kernel_new(c, &mk, &eb) == 0, "%s", eb.msg);
    struct mof_kernel_stats st;
    mof_kernel_get_stats(mk, &st);
    ASSERT_EQ(st.built, 0); /* built on first lookup */
    const struct schema *s0 = mof_kernel_find(mk, &g_process, 4, 39, 8);
    mof_kernel_get_stats(mk, &st);
    ASSERT(s0 != NULL && st.built == 1);
    ASSERT(mof_kernel_find(mk, &g_process, 4, 39, 8) == s0 && st.built == 1);
    /* Every entry of the table builds. */
    ASSERT_MSG(mof_kernel_build_all(mk, &eb) == 0, "%s", eb.msg);
    mof_kernel_get_stats(mk, &st);
    printf("built-in MOF table: %zu class entries, %llu event schemas\n", mof_nclasses,
           (unsigned long long)st.built);
    ASSERT(st.built > 250);
    ASSERT_STREQ(schema_cache_provider_name(c, &g_process), "Windows Kernel");
    ASSERT_STREQ(schema_cache_provider_name(c, &g_imageid), "KernelTraceControl");
    /* Every entry: names formed as Task/Opcode, all fields sized. */
    const struct schema *s = mof_kernel_find(mk, &g_process, 4, 39, 8);
    ASSERT(s != NULL);
    ASSERT_STREQ(s->event_name, "Process/Defunct");
    ASSERT_EQ(s->source, SCHEMA_SRC_MOF);
    ASSERT_EQ(s->version, 4);
    s = mof_kernel_find(mk, &g_process, 5, 39, 4);
    ASSERT_STREQ(s->fields[s->nfields - 1].name, "ExitTime");
    ASSERT(mof_kernel_find(mk, &g_process, 4, 200, 8) == NULL);
    mof_kernel_free(mk);
    schema_cache_free(c);
}

/* Every kernel record of the corpus's kernel traces decodes; decode rate of MOF events. */
TEST(mof_corpus_kernel_traces_decode)
{
    const char *corpus = t_corpus_or_skip();
    static const char *const files[] = {
        "etl/etlparser__ShutdownPerfDiagLogger.etl",
        "etl/perfview__diaghub.kernel.1.etl",
        "large/perfview__net.4.5.2.x64.etl",
        "large/perfview__net.4.5.2.x86.etl",
    };
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        const char *path = t_path("%s/%s", corpus, files[f]);
        if (!plat_is_file(path))
            continue;
        struct schema_cache *c = schema_cache_new(0);
        struct decoder d;
        decoder_init(&d, c);
        struct errbuf eb;
        ASSERT_OK(schema_sources_builtin(&d, &eb));
        struct arena a = ARENA_INIT;
        struct event e;
        event_init(&e, &a);
        struct etl_reader *rd = NULL;
        ASSERT_MSG(etl_open(path, NULL, &rd, &eb) == 0, "%s", eb.msg);
        struct record rec;
        uint64_t kernel = 0, full = 0, partial = 0, none = 0, ns = 0;
        char first_partial[512] = "";
        while (etl_next(rd, &rec, &eb) == 1) {
            if (rec.kind != ETWHOST_HK_SYSTEM && rec.kind != ETWHOST_HK_PERFINFO &&
                rec.kind != ETWHOST_HK_TRACE)
                continue;
            if (schema_is_tdh_metadata_record(&rec))
                continue;
            kernel++;
            arena_reset(&a);
            uint64_t t0 = plat_monotonic_ns();
            ASSERT_OK(decode_record(&d, &rec, &e));
            ns += plat_monotonic_ns() - t0;
            if (e.hdr.decode_status == ETWHOST_DECODE_FULL) {
                full++;
            } else if (e.hdr.decode_status == ETWHOST_DECODE_PARTIAL) {
                if (partial++ == 0)
                    snprintf(first_partial, sizeof first_partial, "%s: %s", e.hdr.event_name,
                             e.decode_error);
            } else {
                none++;
            }
        }
        struct mof_kernel_stats st;
        mof_kernel_get_stats(d.sources[0].ctx, &st);
        printf("%s: %llu kernel/classic records: %llu FULL, %llu PARTIAL, %llu no schema "
               "(%llu version fall-backs); %.0f events/s\n",
               files[f], (unsigned long long)kernel, (unsigned long long)full,
               (unsigned long long)partial, (unsigned long long)none,
               (unsigned long long)st.fallbacks, ns ? kernel * 1e9 / (double)ns : 0.0);
        ASSERT_MSG(partial == 0, "%s", first_partial);
        ASSERT(full * 100 >= kernel * 98); /* unknown: a few undocumented SystemConfig types */
        etl_close(rd);
        event_free(&e);
        arena_free(&a);
        decoder_free(&d);
        schema_cache_free(c);
    }
}
