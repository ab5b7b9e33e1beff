/*
 * Live ETW providers: the string and JSON forms, the exact bytes of every
 * EVENT_FILTER_DESCRIPTOR, name resolution through a PROVIDER_ENUMERATION_INFO
 * blob, the kernel-provider filter warning, and the constant tables
 * (kernel enable flags, Windows 11 system providers and their keywords)
 * against the values of the Windows SDK's evntrace.h.
 */
#include "test.h"

#include <jansson.h>

#include "core/mem.h"
#include "live/live_provider.h"
#include "live/live_session.h"
#include "live/live_tables.h"
#include "test_live_fake.h"

static struct live_provider parse_ok(const char *spec)
{
    struct live_provider p;
    struct errbuf eb;
    ASSERT_MSG(live_provider_parse(spec, &p, &eb) == 0, "\"%s\": %s", spec, eb.msg);
    return p;
}

static void parse_fails(const char *spec, const char *msg)
{
    struct live_provider p;
    struct errbuf eb;
    ASSERT_MSG(live_provider_parse(spec, &p, &eb) == ERR_CONFIG, "\"%s\" parsed", spec);
    ASSERT_CONTAINS(eb.msg, msg);
    live_provider_free(&p);
}

TEST(live_provider_string_syntax)
{
    struct live_provider p = parse_ok("Microsoft-Windows-Kernel-Process:5::0x10");
    ASSERT_STREQ(p.name, "Microsoft-Windows-Kernel-Process");
    ASSERT(!p.has_guid);
    ASSERT_EQ(p.level, 5);
    ASSERT_EQ(p.n_event_ids, 0);
    ASSERT_EQ_U64(p.match_any, 0x10);
    ASSERT_EQ_U64(p.match_all, 0);
    live_provider_free(&p);

    p = parse_ok("{22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716}:verbose:1,2,5-7:255:16");
    ASSERT(p.has_guid && p.name == NULL);
    char g[37];
    guid_format(&p.guid, g);
    ASSERT_STREQ(g, "22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716");
    ASSERT_EQ(p.level, 5);
    ASSERT_EQ(p.n_event_ids, 5);
    ASSERT(p.event_ids_in);
    uint16_t want[] = {1, 2, 5, 6, 7};
    ASSERT(memcmp(p.event_ids, want, sizeof want) == 0);
    ASSERT_EQ_U64(p.match_any, 255);
    ASSERT_EQ_U64(p.match_all, 16);
    live_provider_free(&p);

    /* Empty fields keep the defaults; a GUID without braces; '!' excludes. */
    p = parse_ok("22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716:::");
    ASSERT_EQ(p.level, 255);
    ASSERT_EQ_U64(p.match_any, UINT64_MAX);
    live_provider_free(&p);
    p = parse_ok("Prov:0x4:!3,0x10");
    ASSERT_EQ(p.level, 4);
    ASSERT(!p.event_ids_in);
    ASSERT_EQ(p.n_event_ids, 2);
    ASSERT_EQ(p.event_ids[1], 16);
    live_provider_free(&p);
    p = parse_ok("Prov:info::0xffffffffffffffff");
    ASSERT_EQ(p.level, 4);
    ASSERT_EQ_U64(p.match_any, UINT64_MAX);
    live_provider_free(&p);

    parse_fails(":5", "no name or GUID");
    parse_fails("P:256", "level \"256\" is not 0..255");
    parse_fails("P:loud", "level \"loud\"");
    parse_fails("P:5:a", "\"a\" is not an id");
    parse_fails("P:5:3-1", "\"3-1\" is not an id");
    parse_fails("P:5:0-64", "more than 64 event ids");
    parse_fails("P:5::0xZZ", "MatchAnyKeyword \"0xZZ\" is not a number");
    parse_fails("P:5::1:0x10000000000000000", "MatchAllKeyword");
    parse_fails("P:1:2:3:4:5", "too many fields");
}

TEST(live_provider_system_keywords_by_name)
{
    struct live_provider p = parse_ok("SystemProcessProvider:::GENERAL|THREAD");
    ASSERT(p.sys != NULL && p.has_guid);
    ASSERT_EQ_U64(p.match_any, 0x801);
    live_provider_free(&p);
    p = parse_ok("SystemSchedulerProviderGuid:::SYSTEM_SCHEDULER_KW_CONTEXT_SWITCH|0x1");
    ASSERT_EQ_U64(p.match_any, 0x201);
    live_provider_free(&p);
    p = parse_ok("{151f55dc-467d-471f-83b5-5f889d46ff66}:::loader");
    ASSERT_STREQ(p.sys->name, "SystemProcessProvider");
    ASSERT_EQ_U64(p.match_any, 0x1000);
    live_provider_free(&p);
    parse_fails("SystemProcess:::BOGUS", "neither a number nor a SYSTEM_PROCESS_KW_* keyword");
    /* Keyword names are for system providers only. */
    parse_fails("Microsoft-Windows-Kernel-Process:::GENERAL", "is not a number");
}

static int parse_json(const char *text, struct live_provider *p, struct errbuf *eb)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    ASSERT_MSG(v != NULL, "bad test JSON: %s", je.text);
    int rc = live_provider_from_json(NULL, v, p, eb);
    json_decref(v);
    return rc;
}

TEST(live_provider_json_form_matches_the_string_form)
{
    struct live_provider a, b;
    struct errbuf eb;
    ASSERT_OK(parse_json("{\"name\": \"Microsoft-Windows-Kernel-File\", \"level\": \"verbose\", "
                         "\"event_ids\": [12, 13, 14], \"match_any_keyword\": \"0x10\", "
                         "\"match_all_keyword\": 2}",
                         &a, &eb));
    ASSERT_OK(parse_json("\"Microsoft-Windows-Kernel-File:5:12,13,14:0x10:2\"", &b, &eb));
    ASSERT_STREQ(a.name, b.name);
    ASSERT_EQ(a.level, b.level);
    ASSERT_EQ(a.n_event_ids, b.n_event_ids);
    ASSERT(memcmp(a.event_ids, b.event_ids, sizeof a.event_ids) == 0);
    ASSERT_EQ_U64(a.match_any, b.match_any);
    ASSERT_EQ_U64(a.match_all, b.match_all);
    ASSERT_EQ(a.event_ids_in, b.event_ids_in);
    live_provider_free(&a);
    live_provider_free(&b);

    ASSERT_OK(parse_json("{\"guid\": \"{22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716}\", \"name\": \"K\", "
                         "\"pids\": [4, 8], \"exe\": [\"a.exe\", \"b.exe\"], \"stack\": true, "
                         "\"properties\": [\"sid\", \"EVENT_ENABLE_PROPERTY_TS_ID\", "
                         "\"process_start_key\"]}",
                         &a, &eb));
    ASSERT(a.has_guid);
    ASSERT_STREQ(a.name, "K");
    ASSERT_EQ(a.n_pids, 2);
    ASSERT_STREQ(a.exe, "a.exe;b.exe");
    ASSERT_EQ(a.properties, LIVE_PROP_SID | LIVE_PROP_TS_ID | LIVE_PROP_PROCESS_START_KEY |
                                LIVE_PROP_STACK_TRACE);
    live_provider_free(&a);

    struct {
        const char *json, *msg;
    } bad[] = {
        {"{\"level\": 5}", "needs \"name\" or \"guid\""},
        {"{\"name\": \"P\", \"event_ids\": [1], \"exclude_event_ids\": [2]}",
         "cannot both be set"},
        {"{\"name\": \"P\", \"pids\": [1,2,3,4,5,6,7,8,9]}", "ETW takes at most 8"},
        {"{\"name\": \"P\", \"levle\": 5}", "levle"},
        {"{\"name\": \"P\", \"properties\": [\"sdi\"]}", "did you mean sid"},
        {"{\"name\": \"P\", \"exe\": [\"a;b\"]}", "without ';'"},
        {"{\"guid\": \"nope\"}", "\"guid\" is not a GUID"},
        {"42", "a provider is a string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_MSG(parse_json(bad[i].json, &a, &eb) == ERR_CONFIG, "%s parsed", bad[i].json);
        ASSERT_CONTAINS(eb.msg, bad[i].msg);
        live_provider_free(&a);
    }
}

static void expect_desc(const struct live_filters *f, uint32_t i, uint32_t type,
                        const uint8_t *bytes, uint32_t size)
{
    ASSERT_MSG(i < f->n, "descriptor %u missing", i);
    ASSERT_EQ(f->d[i].type, type);
    ASSERT_EQ(f->d[i].size, size);
    const uint8_t *p = f->d[i].ptr;
    ASSERT_MSG(((size_t)(p - f->mem) & 7) == 0, "descriptor %u is not 8-aligned", i);
    for (uint32_t k = 0; k < size; k++)
        ASSERT_MSG(p[k] == bytes[k], "descriptor %u (type 0x%x) byte %u: 0x%02x, expected 0x%02x",
                   i, type, k, p[k], bytes[k]);
}

TEST(live_filter_descriptor_bytes)
{
    struct live_provider p;
    struct errbuf eb;
    ASSERT_OK(parse_json("{\"guid\": \"5eed1234-0001-0002-0102-030405060708\", "
                         "\"event_ids\": [1, 4660], \"pids\": [4, 305419896], "
                         "\"exe\": [\"a.exe\", \"b.exe\"], \"event_names\": [\"Ev\"], "
                         "\"stack_exclude_event_ids\": [7], \"stack_level\": 3, "
                         "\"stack_match_any_keyword\": \"0x10\"}",
                         &p, &eb));
    struct live_filters f;
    ASSERT_OK(live_filters_build(&p, &f, &eb));
    ASSERT_EQ(f.n, 6);
    /* EVENT_FILTER_EVENT_ID {FilterIn 1, Reserved 0, Count 2, Events {1, 0x1234}}. */
    static const uint8_t ids[] = {1, 0, 2, 0, 1, 0, 0x34, 0x12};
    expect_desc(&f, 0, 0x80000200u, ids, sizeof ids);
    /* PIDs as ULONGs. */
    static const uint8_t pids[] = {4, 0, 0, 0, 0x78, 0x56, 0x34, 0x12};
    expect_desc(&f, 1, 0x80000004u, pids, sizeof pids);
    /* One UTF-16 string, names joined by ';', NUL included in the size. */
    static const uint8_t exe[] = {'a', 0, '.', 0, 'e', 0, 'x', 0, 'e', 0, ';', 0,
                                  'b', 0, '.', 0, 'e', 0, 'x', 0, 'e', 0, 0, 0};
    expect_desc(&f, 2, 0x80000008u, exe, sizeof exe);
    /* EVENT_FILTER_EVENT_NAME {Any, All, Level, FilterIn, NameCount, "Ev\0"}. */
    static const uint8_t names[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0, 0, 0, 0, 0, 0, 0, 0,
                                    0xff, 1, 1, 0, 'E', 'v', 0};
    expect_desc(&f, 3, 0x80000400u, names, sizeof names);
    /* Stack walk: EVENT_FILTER_EVENT_ID with FilterIn 0 (no stacks for id 7). */
    static const uint8_t stk[] = {0, 0, 1, 0, 7, 0};
    expect_desc(&f, 4, 0x80001000u, stk, sizeof stk);
    /* EVENT_FILTER_LEVEL_KW {Any 0x10, All 0, Level 3, FilterIn 1}, padded to 24. */
    static const uint8_t lkw[24] = {0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 1};
    expect_desc(&f, 5, 0x80004000u, lkw, sizeof lkw);
    /* The enable arguments carry them, with STACK_TRACE implied by the stack filters. */
    struct etw_enable e;
    live_provider_enable_args(&p, &f, &e);
    ASSERT_EQ(e.nfilters, 6);
    ASSERT(e.filters == f.d);
    ASSERT_EQ(e.enable_property, LIVE_PROP_STACK_TRACE);
    ASSERT_EQ(e.control_code, ETW_CONTROL_CODE_ENABLE);
    live_filters_free(&f);
    live_provider_free(&p);

    /* No filters: no descriptors. */
    p = parse_ok("P:5");
    ASSERT_OK(live_filters_build(&p, &f, &eb));
    ASSERT_EQ(f.n, 0);
    live_filters_free(&f);
    live_provider_free(&p);
}

TEST(live_filter_limits)
{
    struct live_provider p;
    struct errbuf eb;
    struct buf j = BUF_INIT;
    buf_puts(&j, "{\"name\": \"P\", \"exe\": [");
    for (int i = 0; i < 60; i++)
        buf_printf(&j, "%s\"process%02d.exe\"", i ? "," : "", i);
    buf_puts(&j, "]}");
    ASSERT_OK(parse_json(buf_cstr(&j), &p, &eb));
    struct live_filters f;
    ASSERT_EQ(live_filters_build(&p, &f, &eb), ERR_CONFIG);
    ASSERT_CONTAINS(eb.msg, "ETW takes at most 1024");
    live_provider_free(&p);
    buf_reset(&j);
    buf_puts(&j, "{\"name\": \"P\", \"event_names\": [");
    for (int i = 0; i < 300; i++)
        buf_printf(&j, "%s\"SomeTraceLoggingEvent%03d\"", i ? "," : "", i);
    buf_puts(&j, "]}");
    ASSERT_OK(parse_json(buf_cstr(&j), &p, &eb));
    ASSERT_EQ(live_filters_build(&p, &f, &eb), ERR_CONFIG);
    ASSERT_CONTAINS(eb.msg, "ETW takes at most 4096");
    live_provider_free(&p);
    buf_free(&j);
}

/* ---- Registered providers ---- */

static const etwhost_guid g_proc = {0x22fb2cd6, 0x0e7b, 0x422b,
                                    {0xa0, 0xc7, 0x2f, 0xad, 0x1f, 0xd0, 0xe7, 0x16}};
static const etwhost_guid g_ps = {0xa0c1853b, 0x5c40, 0x4b15,
                                  {0x87, 0x66, 0x3c, 0xf1, 0xc5, 0x8f, 0x98, 0x5a}};
static const etwhost_guid g_dns = {0x1c95126e, 0x7eea, 0x49a9,
                                   {0xa3, 0xfe, 0xa3, 0x78, 0xb0, 0x3d, 0xdb, 0x4d}};

static void setup_providers(struct fake_etw *f)
{
    const char *names[] = {"Microsoft-Windows-Kernel-Process", "Microsoft-Windows-PowerShell",
                           "Microsoft-Windows-DNS-Client"};
    etwhost_guid guids[] = {g_proc, g_ps, g_dns};
    fake_set_providers(f, names, guids, 3);
}

TEST(live_provider_list_parses_enumeration_blobs)
{
    struct fake_etw f;
    fake_init(&f);
    setup_providers(&f);
    struct live_provider_list l;
    struct errbuf eb;
    ASSERT_OK(live_provider_list_load(&f.api, &l, &eb));
    ASSERT_EQ(l.n, 3);
    ASSERT_STREQ(l.v[1].name, "Microsoft-Windows-PowerShell");
    ASSERT(guid_eq(&l.v[1].guid, &g_ps));
    ASSERT_EQ(l.v[1].schema_source, 1);
    ASSERT(live_provider_list_find(&l, "microsoft-windows-dns-client", NULL) == &l.v[2]);
    ASSERT(live_provider_list_find(&l, NULL, &g_proc) == &l.v[0]);
    ASSERT(live_provider_list_find(&l, "Microsoft-Windows-DNS", NULL) == NULL);
    live_provider_list_free(&l);
    /* Damaged blobs: counts beyond the size, offsets outside, names without NUL. */
    uint8_t *b = f.provider_blob;
    uint32_t len = f.provider_len;
    ASSERT_EQ(live_provider_list_parse(b, 7, &l, &eb), ERR_FORMAT);
    b[0] = 200;
    ASSERT_EQ(live_provider_list_parse(b, len, &l, &eb), ERR_FORMAT);
    ASSERT_CONTAINS(eb.msg, "200 providers do not fit");
    b[0] = 3;
    b[8 + 20] = 0xF0; /* first name offset far outside */
    b[8 + 21] = 0xFF;
    ASSERT_EQ(live_provider_list_parse(b, len, &l, &eb), ERR_FORMAT);
    ASSERT_CONTAINS(eb.msg, "outside");
    ASSERT_EQ(live_provider_list_parse(b, len - 1, &l, &eb), ERR_FORMAT);
    fake_free(&f);
}

TEST(live_provider_names_resolve_with_suggestions)
{
    struct fake_etw f;
    fake_init(&f);
    setup_providers(&f);
    struct live_provider v[3];
    v[0] = parse_ok("microsoft-windows-kernel-process:4");
    v[1] = parse_ok("SystemTimerProvider");
    v[2] = parse_ok("{1c95126e-7eea-49a9-a3fe-a378b03ddb4d}");
    struct errbuf eb;
    ASSERT_MSG(live_providers_resolve(v, 3, &f.api, &eb) == 0, "%s", eb.msg);
    ASSERT(guid_eq(&v[0].guid, &g_proc));
    ASSERT_STREQ(v[0].name, "Microsoft-Windows-Kernel-Process"); /* the registered spelling */
    char g[37];
    guid_format(&v[1].guid, g);
    ASSERT_STREQ(g, "4f061568-e215-499f-ab2e-eda0ae890a5b");
    ASSERT_EQ(f.providers_calls, 1); /* loaded once for all names */
    for (int i = 0; i < 3; i++)
        live_provider_free(&v[i]);

    v[0] = parse_ok("Microsoft-Windows-Kernel-Proces");
    ASSERT_EQ(live_providers_resolve(v, 1, &f.api, &eb), ERR_CONFIG);
    ASSERT_STREQ(eb.msg, "unknown provider \"Microsoft-Windows-Kernel-Proces\" (did you mean "
                         "\"Microsoft-Windows-Kernel-Process\"?); TraceLogging providers are "
                         "not registered by name: give their GUID (etwhost providers lists the "
                         "registered ones)");
    live_provider_free(&v[0]);

    /* Without TDH (Wine, or a broken system) names cannot resolve; GUIDs still work. */
    mem_free(f.provider_blob);
    f.provider_blob = NULL;
    v[0] = parse_ok("Microsoft-Windows-PowerShell");
    ASSERT_EQ(live_providers_resolve(v, 1, &f.api, &eb), ERR_UNSUPPORTED);
    ASSERT_CONTAINS(eb.msg, "give the provider GUID instead");
    live_provider_free(&v[0]);
    v[0] = parse_ok("{a0c1853b-5c40-4b15-8766-3cf1c58f985a}");
    ASSERT_OK(live_providers_resolve(v, 1, &f.api, &eb));
    live_provider_free(&v[0]);
    fake_free(&f);
}

TEST(live_pid_filter_on_a_kernel_provider_warns)
{
    struct fake_etw f;
    fake_init(&f);
    setup_providers(&f);
    const char *errpath = t_path("%s/stderr.txt", t_tmpdir());
    fflush(stderr);
    ASSERT(freopen(errpath, "w", stderr) != NULL);
    struct live_provider v[3];
    struct errbuf eb;
    ASSERT_OK(parse_json("{\"name\": \"Microsoft-Windows-Kernel-Process\", \"pids\": [4]}", &v[0],
                         &eb));
    ASSERT_OK(parse_json("{\"name\": \"SystemProcessProvider\", \"exe\": \"x.exe\"}", &v[1], &eb));
    ASSERT_OK(parse_json("{\"name\": \"Microsoft-Windows-PowerShell\", \"pids\": [4]}", &v[2],
                         &eb));
    ASSERT_OK(live_providers_resolve(v, 3, &f.api, &eb));
    fflush(stderr);
    char *text = t_read_file(errpath, NULL);
    ASSERT(text != NULL);
    ASSERT_EQ(t_count(text, "ETW ignores PID and executable filters"), 2);
    ASSERT_CONTAINS(text, "provider \"Microsoft-Windows-Kernel-Process\"");
    ASSERT_CONTAINS(text, "provider \"SystemProcessProvider\"");
    ASSERT_NOT_CONTAINS(text, "Microsoft-Windows-PowerShell");
    mem_free(text);
    for (int i = 0; i < 3; i++)
        live_provider_free(&v[i]);
    fake_free(&f);
}

/* ---- Tables against evntrace.h ---- */

TEST(live_kernel_flag_names_have_the_evntrace_values)
{
    /* EVENT_TRACE_FLAG_* of evntrace.h (Windows SDK 10.0.22621). */
    static const struct {
        const char *name;
        uint32_t v;
    } want[] = {
        {"Process", 0x00000001},          {"Thread", 0x00000002},
        {"ImageLoad", 0x00000004},        {"ProcessCounters", 0x00000008},
        {"CSwitch", 0x00000010},          {"Dpc", 0x00000020},
        {"Interrupt", 0x00000040},        {"SystemCall", 0x00000080},
        {"DiskIo", 0x00000100},           {"DiskFileIo", 0x00000200},
        {"DiskIoInit", 0x00000400},       {"Dispatcher", 0x00000800},
        {"MemoryPageFaults", 0x00001000}, {"MemoryHardFaults", 0x00002000},
        {"VirtualAlloc", 0x00004000},     {"VaMap", 0x00008000},
        {"NetworkTcpip", 0x00010000},     {"Registry", 0x00020000},
        {"DbgPrint", 0x00040000},         {"Job", 0x00080000},
        {"Alpc", 0x00100000},             {"SplitIo", 0x00200000},
        {"DebugEvents", 0x00400000},      {"Driver", 0x00800000},
        {"Profile", 0x01000000},          {"FileIo", 0x02000000},
        {"FileIoInit", 0x04000000},       {"NoSysConfig", 0x10000000},
    };
    size_t n;
    const struct live_bit *t = live_kernel_flags(&n);
    ASSERT_EQ(n, sizeof want / sizeof want[0]);
    ASSERT_STREQ(t[0].name, "Process");
    struct errbuf eb;
    for (size_t i = 0; i < n; i++) {
        uint32_t f = 0;
        ASSERT_OK(live_kernel_flags_parse(want[i].name, strlen(want[i].name), &f, &eb));
        ASSERT_MSG(f == want[i].v, "%s: 0x%x", want[i].name, f);
    }
    /* The macro names and any spelling of the same words. */
    uint32_t f = 0;
    const char *s = "EVENT_TRACE_FLAG_DISK_IO_INIT|file_io_init + NETWORK_TCPIP, registry|0x8";
    ASSERT_OK(live_kernel_flags_parse(s, strlen(s), &f, &eb));
    ASSERT_EQ(f, 0x00000400 | 0x04000000 | 0x00010000 | 0x00020000 | 0x8);
    f = 0;
    ASSERT(live_kernel_flags_parse("Proces", 6, &f, &eb) != 0);
    ASSERT_CONTAINS(eb.msg, "unknown kernel flag \"Proces\" (did you mean \"Process\"?)");
}

TEST(live_system_provider_guids_and_keywords_match_evntrace)
{
    /*
     * System*ProviderGuid from evntrace.h (Windows SDK 10.0.22621), also listed on
     * Microsoft Learn "System Providers" (windows/win32/etw/system-providers).
     */
    static const struct {
        const char *name, *guid;
    } want[] = {
        {"SystemAlpcProvider", "fcb9baaf-e529-4980-92e9-ced1a6aadfdf"},
        {"SystemConfigProvider", "fef3a8b6-318d-4b67-a96a-3b0f6b8f18fe"},
        {"SystemCpuProvider", "c6c5265f-eae8-4650-aae4-9d48603d8510"},
        {"SystemHypervisorProvider", "bafa072a-918a-4bed-b622-bc152097098f"},
        {"SystemInterruptProvider", "d4bbee17-b545-4888-858b-744169015b25"},
        {"SystemIoProvider", "3d5c43e3-0f1c-4202-b817-174c0070dc79"},
        {"SystemIoFilterProvider", "fbd09363-9e22-4661-b8bf-e7a34b535b8c"},
        {"SystemLockProvider", "721ddfd3-dacc-4e1e-b26a-a2cb31d4705a"},
        {"SystemMemoryProvider", "82958ca9-b6cd-47f8-a3a8-03ae85a4bc24"},
        {"SystemObjectProvider", "febd7460-3d1d-47eb-af49-c9eeb1e146f2"},
        {"SystemPowerProvider", "c134884a-32d5-4488-80e5-14ed7abb8269"},
        {"SystemProcessProvider", "151f55dc-467d-471f-83b5-5f889d46ff66"},
        {"SystemProfileProvider", "bfeb0324-1cee-496f-a409-2ac2b48a6322"},
        {"SystemRegistryProvider", "16156bd9-fab4-4cfa-a232-89d1099058e3"},
        {"SystemSchedulerProvider", "599a2a76-4d91-4910-9ac7-7d33f2e97a6c"},
        {"SystemSyscallProvider", "434286f7-6f1b-45bb-b37e-95f623046c7c"},
        {"SystemTimerProvider", "4f061568-e215-499f-ab2e-eda0ae890a5b"},
    };
    size_t n;
    const struct live_system_provider *t = live_system_providers(&n);
    ASSERT_EQ(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) {
        const struct live_system_provider *p = live_system_provider_find(want[i].name, NULL);
        ASSERT_MSG(p != NULL, "%s missing", want[i].name);
        char g[37];
        guid_format(&p->guid, g);
        ASSERT_MSG(strcmp(g, want[i].guid) == 0, "%s: %s, evntrace.h says %s", want[i].name, g,
                   want[i].guid);
    }
    /* Two GUIDs other libraries got wrong are not accepted as system providers. */
    etwhost_guid wrong;
    ASSERT_OK(guid_parse("e4310a25-0b1f-4e6d-8c5d-6a7b5b0d5c3d", 36, &wrong));
    ASSERT(live_system_provider_find(NULL, &wrong) == NULL);
    ASSERT_OK(guid_parse("6a399ae0-4e0b-4d6d-8c5d-6a7b5b0d5c3d", 36, &wrong));
    ASSERT(live_system_provider_find(NULL, &wrong) == NULL);
    /* SYSTEM_*_KW_* samples, and each provider's keywords are distinct single bits. */
    static const struct {
        const char *prov, *kw;
        uint64_t v;
    } kws[] = {
        {"SystemProcessProvider", "SYSTEM_PROCESS_KW_THREAD", 0x800},
        {"SystemProcessProvider", "SYSTEM_PROCESS_KW_LOADER", 0x1000},
        {"SystemSchedulerProvider", "SYSTEM_SCHEDULER_KW_CONTEXT_SWITCH", 0x200},
        {"SystemSchedulerProvider", "SYSTEM_SCHEDULER_KW_AUTOBOOST", 0x10000},
        {"SystemIoProvider", "SYSTEM_IO_KW_FILE", 0x10},
        {"SystemIoProvider", "SYSTEM_IO_KW_TIMER", 0x800},
        {"SystemMemoryProvider", "SYSTEM_MEMORY_KW_VAMAP", 0x4000},
        {"SystemMemoryProvider", "SYSTEM_MEMORY_KW_NONTRADEABLE", 0x8000},
        {"SystemInterruptProvider", "SYSTEM_INTERRUPT_KW_IPI", 0x40},
        {"SystemTimerProvider", "SYSTEM_TIMER_KW_CLOCK_TIMER", 0x2},
        {"SystemCpuProvider", "SYSTEM_CPU_KW_SPEC_CONTROL", 0x4},
        {"SystemPowerProvider", "SYSTEM_POWER_KW_PPM_EXIT_LATENCY", 0x10},
        {"SystemRegistryProvider", "SYSTEM_REGISTRY_KW_NOTIFICATION", 0x4},
        {"SystemConfigProvider", "SYSTEM_CONFIG_KW_OPTICAL", 0x40},
    };
    for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++) {
        const struct live_system_provider *p = live_system_provider_find(kws[i].prov, NULL);
        uint64_t v = 0;
        ASSERT(live_bit_find(p->keywords, p->nkeywords, kws[i].kw, strlen(kws[i].kw),
                             p->kw_prefix, &v));
        ASSERT_MSG(v == kws[i].v, "%s = 0x%llx", kws[i].kw, (unsigned long long)v);
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t seen = 0;
        for (size_t k = 0; k < t[i].nkeywords; k++) {
            uint64_t v = t[i].keywords[k].value;
            ASSERT_MSG(v && (v & (v - 1)) == 0 && !(seen & v), "%s%s", t[i].kw_prefix,
                       t[i].keywords[k].name);
            seen |= v;
        }
        total += t[i].nkeywords;
    }
    /* evntrace.h: ALPC 1, CONFIG 7, CPU 4, HYPERVISOR 3, INTERRUPT 7, IO 12, IOFILTER 4,
       LOCK 3, MEMORY 16, OBJECT 2, POWER 5, PROCESS 13, PROFILE 2, REGISTRY 3, SCHEDULER 17,
       SYSCALL 1, TIMER 2. */
    ASSERT_EQ(total, 102);
}

TEST(live_levels_and_properties_by_name)
{
    uint8_t l;
    ASSERT_OK(live_level_parse("critical", 8, &l));
    ASSERT_EQ(l, 1);
    ASSERT_OK(live_level_parse("WARNING", 7, &l));
    ASSERT_EQ(l, 3);
    ASSERT_OK(live_level_parse("0xff", 4, &l));
    ASSERT_EQ(l, 255);
    ASSERT(live_level_parse("6x", 2, &l) != 0);
    size_t n;
    const struct live_bit *p = live_enable_properties(&n);
    uint64_t v;
    ASSERT(live_bit_find(p, n, "PROCESS_START_KEY", 17, NULL, &v) && v == 0x80);
    ASSERT(live_bit_find(p, n, "EVENT_ENABLE_PROPERTY_STACK_TRACE", 33, "EVENT_ENABLE_PROPERTY_",
                         &v) && v == 0x4);
    ASSERT(live_bit_find(p, n, "source-container-tracking", 25, NULL, &v) && v == 0x800);
}
