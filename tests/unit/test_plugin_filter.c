/*
 * Tests of the filter plugin (plugins/filter): rule validation messages,
 * stage selection, every condition kind, and evaluation speed, through the
 * built filter.so and a stand-in host (test_plugin_fakehost.h).  The
 * end-to-end tests through `etwhost run` are in test_plugin_e2e.c.
 */
#include "test.h"
#include "test_plugin_fakehost.h"

#include <jansson.h>
#include <stdlib.h>

#include "core/arena.h"
#include "event/event.h"
#include "event/event_access.h"

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

/* ---- per-event-type property cache ------------------------------------------------ */

/* Append an array of n U16 elements (children of the array, in pre-order after it). */
static void fev_array(struct fake_event *e, const char *name, uint32_t n)
{
    uint32_t a = e->nprops;
    etwhost_prop *p = fev_add(e, name, ETWHOST_PT_ARRAY);
    p->count = n;
    for (uint32_t k = 0; k < n; k++) {
        etwhost_prop *c = fev_add(e, "", ETWHOST_PT_U16);
        c->parent = a;
        c->num.i = (int64_t)k;
    }
}

/* Set every 'next' link from the parents (fev_add links each entry to the one after it). */
static void fev_relink(struct fake_event *e)
{
    for (uint32_t i = 0; i < e->nprops; i++) {
        e->props[i].next = ETWHOST_NONE;
        for (uint32_t j = i + 1; j < e->nprops; j++) {
            if (e->props[j].parent == e->props[i].parent) {
                e->props[i].next = j;
                break;
            }
        }
    }
}

static void fev_type(struct fake_event *e, uint16_t id, const char *event_name)
{
    fev_init(e, "Etwhost-Test-Cache", id, 4);
    e->hdr.provider_guid.data1 = 0x5eed;
    e->hdr.event_name = event_name;
}

/*
 * Events of several types, interleaved in many orders: the property sits at
 * different indexes per type, moves within one type (an array before it),
 * is absent from some types, and is missing from a partly decoded event of
 * a type that has it.  Every answer must be the one the rule gives the event
 * on its own.
 */
TEST(plugin_filter_prop_cache_alternating_types)
{
    static const char *const n_start = "Start", *const n_conn = "Connect", *const n_other = "Other",
                             *const n_part = "Partial";
    struct fake_event ev[10];
    fev_type(&ev[0], 1, n_start); /* Port at 0 */
    fev_int(&ev[0], "Port", ETWHOST_PT_U16, 443);
    fev_type(&ev[1], 2, n_conn); /* Port at 2 */
    fev_str(&ev[1], "A", "x");
    fev_str(&ev[1], "B", "y");
    fev_int(&ev[1], "Port", ETWHOST_PT_U16, 80);
    fev_type(&ev[2], 3, n_other); /* no Port, fully decoded */
    fev_int(&ev[2], "Other", ETWHOST_PT_U32, 5);
    fev_type(&ev[3], 1, n_start); /* type of ev[0], Port moved to 3 by an array */
    fev_array(&ev[3], "Arr", 2);
    fev_int(&ev[3], "Port", ETWHOST_PT_U16, 443);
    fev_type(&ev[4], 1, n_start); /* type of ev[0]: Port at 2, index 3 holds 443 */
    fev_array(&ev[4], "Arr", 1);
    fev_int(&ev[4], "Port", ETWHOST_PT_U16, 22);
    fev_int(&ev[4], "Pad", ETWHOST_PT_U16, 443);
    fev_type(&ev[5], 4, n_part); /* partly decoded: Port missing */
    fev_int(&ev[5], "Other", ETWHOST_PT_U32, 1);
    ev[5].hdr.decode_status = ETWHOST_DECODE_PARTIAL;
    fev_type(&ev[6], 4, n_part); /* same type, fully decoded: Port present */
    fev_int(&ev[6], "Other", ETWHOST_PT_U32, 1);
    fev_int(&ev[6], "Port", ETWHOST_PT_U16, 443);
    fev_type(&ev[7], 3, n_other); /* type of ev[2], partly decoded, empty */
    ev[7].hdr.decode_status = ETWHOST_DECODE_PARTIAL;
    fev_type(&ev[8], 3, n_other); /* type of ev[2] with more properties, Port among them */
    fev_int(&ev[8], "Other", ETWHOST_PT_U32, 5);
    fev_int(&ev[8], "Extra", ETWHOST_PT_U32, 6);
    fev_int(&ev[8], "Port", ETWHOST_PT_U16, 443);
    fev_type(&ev[9], 3, n_conn); /* ev[2]'s id and size, another event name: another type */
    fev_int(&ev[9], "Port", ETWHOST_PT_U16, 80);
    for (int k = 0; k < 10; k++)
        fev_relink(&ev[k]);

    static const struct {
        const char *rule;
        int want[10];
    } rules[] = {
        {"{\"prop\":\"Port\",\"equals\":443}", {1, 0, 0, 1, 0, 0, 1, 0, 1, 0}},
        {"{\"prop\":\"Port\",\"exists\":false}", {0, 0, 1, 0, 0, 1, 0, 1, 0, 0}},
        {"{\"prop\":\"Port\",\"exists\":true}", {1, 1, 0, 1, 1, 0, 1, 0, 1, 1}},
        {"{\"prop\":\"Port\",\"in\":[\"80\",22]}", {0, 1, 0, 0, 1, 0, 0, 0, 0, 1}},
        {"{\"not\":{\"prop\":\"Port\",\"lt\":100}}", {1, 0, 1, 1, 0, 1, 1, 1, 1, 0}},
        {"{\"prop\":\"A\",\"equals\":\"x\"}", {0, 1, 0, 0, 0, 0, 0, 0, 0, 0}},
    };
    struct fake_host fh;
    fh_init(&fh, "filter");
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
        char settings[256];
        snprintf(settings, sizeof settings, "{\"rule\":%s}", rules[r].rule);
        /* Each event alone, through a fresh instance: the expected answers hold. */
        for (int k = 0; k < 10; k++) {
            void *one = make(&fh, settings);
            ASSERT_MSG(run(&fh, one, &ev[k]) == rules[r].want[k], "rule %s, event %d alone",
                       rules[r].rule, k);
            fh.desc->destroy(one);
        }
        /* One instance over a long interleaved stream: the same answers.  The stream
         * starts with each event in turn, since the first event of a type fills the cache. */
        for (int k0 = 0; k0 < 10; k0++) {
            void *inst = make(&fh, settings);
            uint64_t seed = 0x9e3779b97f4a7c15ull + r * 16 + (uint64_t)k0;
            for (int step = 0; step < 1000; step++) {
                int k;
                if (step < 10)
                    k = (k0 + step) % 10; /* forward */
                else if (step < 20)
                    k = (k0 + 19 - step) % 10; /* backward */
                else {
                    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                    k = (int)((seed >> 33) % 10);
                }
                ASSERT_MSG(run(&fh, inst, &ev[k]) == rules[r].want[k],
                           "rule %s, start %d, step %d, event %d", rules[r].rule, k0, step, k);
            }
            fh.desc->destroy(inst);
        }
    }

    /* process_name looks at ImageName, else ProcessName, wherever they sit per type. */
    struct fake_event pe[6];
    static const int pwant[6] = {1, 0, 1, 0, 1, 0};
    fev_type(&pe[0], 10, n_start);
    fev_str(&pe[0], "ImageName", "C:\\x\\cmd.exe");
    fev_type(&pe[1], 11, n_start);
    fev_int(&pe[1], "Pid", ETWHOST_PT_U32, 4);
    fev_str(&pe[1], "ImageName", "C:\\x\\notepad.exe");
    fev_type(&pe[2], 12, n_start);
    fev_str(&pe[2], "ProcessName", "cmd.exe");
    fev_type(&pe[3], 13, n_start);
    fev_int(&pe[3], "Other", ETWHOST_PT_U32, 4);
    fev_type(&pe[4], 10, n_start);
    fev_array(&pe[4], "Arr", 1);
    fev_str(&pe[4], "ImageName", "CMD.EXE");
    fev_type(&pe[5], 12, n_start);
    fev_str(&pe[5], "ProcessName", "pwsh.exe");
    for (int k = 0; k < 6; k++)
        fev_relink(&pe[k]);
    void *pn = make(&fh, "{\"rule\":{\"process_name\":\"cmd.exe\"}}");
    for (int step = 0; step < 600; step++) {
        int k = (step * 7 + step / 6) % 6;
        ASSERT_MSG(run(&fh, pn, &pe[k]) == pwant[k], "process_name, step %d, event %d", step, k);
    }
    fh.desc->destroy(pn);
    fh_free(&fh);
}

/*
 * The host's own event accessors (host/event/event_access.c) behind the
 * fake host's other functions, so the filter runs on real events: UTF-16
 * strings, integers stored at their declared width, "name_2" paths.
 */
static char *rh_dumps[8];
static int rh_ndumps;

static etwhost_status ETWHOST_CALL rh_cfg_str(const etwhost_config *c, const char *key,
                                              const char **out, size_t *len)
{
    json_t *v = json_object_get((json_t *)(uintptr_t)(const void *)c, key);
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    if (!json_is_string(v))
        return ETWHOST_ERR_TYPE;
    *out = json_string_value(v);
    *len = json_string_length(v);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL rh_cfg_json(const etwhost_config *c, const char *key,
                                               const char **out, size_t *len)
{
    json_t *v = json_object_get((json_t *)(uintptr_t)(const void *)c, key);
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    ASSERT(rh_ndumps < 8);
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    ASSERT(s != NULL);
    rh_dumps[rh_ndumps++] = s;
    *out = s;
    *len = strlen(s);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL rh_set_stage(etwhost_host *h, uint32_t stage)
{
    (void)h;
    return stage <= ETWHOST_STAGE_RECORD ? ETWHOST_OK : ETWHOST_ERR_CONFIG;
}

static etwhost_host_api rh_api;

static void *rh_make(struct fake_host *fh, const char *settings)
{
    rh_api = *fh_api();
    rh_api.config_get_str = rh_cfg_str;
    rh_api.config_get_json = rh_cfg_json;
    rh_api.set_stage = rh_set_stage;
    rh_api.event_header = evapi_header;
    rh_api.event_prop_count = evapi_prop_count;
    rh_api.event_prop_at = evapi_prop_at;
    rh_api.event_prop_find = evapi_prop_find;
    rh_api.event_get_i64 = evapi_get_i64;
    rh_api.event_get_u64 = evapi_get_u64;
    rh_api.event_get_f64 = evapi_get_f64;
    rh_api.event_get_str = evapi_get_str;
    json_error_t je;
    json_t *obj = json_loads(settings, 0, &je);
    ASSERT_MSG(obj != NULL, "bad settings in test: %s", je.text);
    void *inst = NULL;
    char err[512] = "";
    etwhost_status rc = fh->desc->create((etwhost_host *)(void *)fh, &rh_api,
                                         (const etwhost_config *)(void *)obj, &inst, err,
                                         sizeof err);
    for (int k = 0; k < rh_ndumps; k++)
        free(rh_dumps[k]);
    rh_ndumps = 0;
    json_decref(obj);
    ASSERT_MSG(rc == ETWHOST_OK, "create failed: %s\n  settings: %s", err, settings);
    return inst;
}

/* Little-endian UTF-16 of an ASCII string, in an arena. */
static const uint8_t *utf16(struct arena *ar, const char *s, uint32_t *bytes)
{
    size_t n = strlen(s);
    uint8_t *d = arena_alloc(ar, 2 * n + 2);
    ASSERT(d != NULL);
    for (size_t i = 0; i <= n; i++) {
        d[2 * i] = (uint8_t)s[i];
        d[2 * i + 1] = 0;
    }
    *bytes = (uint32_t)(2 * n);
    return d;
}

static void rh_str(struct event *ev, const char *name, const char *value)
{
    uint32_t i = event_prop_add(ev, name, (uint32_t)strlen(name), ETWHOST_PT_STRING);
    ASSERT(i != ETWHOST_NONE);
    uint32_t bytes;
    ev->props[i].data = utf16(ev->arena, value, &bytes);
    ev->props[i].size = bytes;
    ev->props[i].reserved = PROP_ENC_UTF16;
}

static void rh_num(struct event *ev, const char *name, uint16_t type, uint64_t bits)
{
    uint32_t i = event_prop_add(ev, name, (uint32_t)strlen(name), type);
    ASSERT(i != ETWHOST_NONE);
    ev->props[i].num.u = bits;
}

static void rh_array(struct event *ev, const char *name, uint32_t n)
{
    uint32_t a = event_prop_open(ev, name, (uint32_t)strlen(name), ETWHOST_PT_ARRAY);
    ASSERT(a != ETWHOST_NONE);
    for (uint32_t k = 0; k < n; k++)
        rh_num(ev, "", ETWHOST_PT_U32, k);
    event_prop_close(ev, a);
}

/*
 * What the rules below answer, from the getters the evaluator used before
 * it cached anything (one search by name per getter call).
 */
static int oracle_num(const etwhost_event *ev, const char *path, double *out)
{
    int64_t i;
    uint64_t u;
    const char *s;
    size_t len;
    if (evapi_get_i64(ev, path, &i) == ETWHOST_OK) {
        *out = (double)i;
        return 1;
    }
    if (evapi_get_u64(ev, path, &u) == ETWHOST_OK) {
        *out = (double)u;
        return 1;
    }
    if (evapi_get_f64(ev, path, out) == ETWHOST_OK)
        return 1;
    if (evapi_get_str(ev, path, &s, &len) == ETWHOST_OK && len > 0 && len < 40) {
        char tmp[40], *end;
        memcpy(tmp, s, len);
        tmp[len] = '\0';
        *out = strtod(tmp, &end);
        return *end == '\0';
    }
    return 0;
}

static int oracle(int rule, const etwhost_event *ev)
{
    const char *s;
    size_t len;
    double d;
    etwhost_prop p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    switch (rule) {
    case 0:
        return evapi_get_str(ev, "Name", &s, &len) == ETWHOST_OK && len == 2 &&
               memcmp(s, "v1", 2) == 0;
    case 1: return evapi_prop_find(ev, "Port", 4, &p) == ETWHOST_OK;
    case 2: return oracle_num(ev, "Port", &d) && d >= 300;
    case 3:
        return evapi_get_str(ev, "Name_2", &s, &len) == ETWHOST_OK && len >= 2 &&
               memcmp(s, "v2", 2) == 0;
    case 4: return oracle_num(ev, "Delta", &d) && d < 0;
    default:
        return evapi_get_str(ev, "State", &s, &len) == ETWHOST_OK && len == 7 &&
               memcmp(s, "Running", 7) == 0;
    }
}

/*
 * Build one event of type t (0-3) with array lengths and values from 'seed':
 * type 0 has "Name" twice around a variable-length array, type 1 has "Port"
 * after an array, type 2 has no "Port" (and a "Port" held as text in one
 * variant), type 3 has "Name" once.  One event in eight is cut short like a
 * failed decode.
 */
static void rh_event(struct event *ev, int t, uint64_t seed)
{
    static const char *const names[4] = {"TypeA", "TypeB", "TypeC", "TypeD"};
    static const char *const values[4] = {"v1", "v2", "v3", "v1x"};
    event_reset(ev);
    ev->hdr.provider_guid.data1 = 0xcafe;
    ev->hdr.event_id = (uint16_t)(100 + t);
    ev->hdr.event_name = names[t];
    ev->hdr.decode_status = ETWHOST_DECODE_PENDING;
    uint32_t arr = (uint32_t)(seed % 4), v = (uint32_t)(seed >> 8);
    int partial = (seed >> 16) % 8 == 0;
    uint32_t cut = (uint32_t)((seed >> 20) % 4);
    uint32_t added = 0;
#define RH_STEP(x)                   \
    do {                             \
        if (partial && added == cut) \
            goto out;                \
        x;                           \
        added++;                     \
    } while (0)
    switch (t) {
    case 0:
        RH_STEP(rh_array(ev, "Pre", arr));
        RH_STEP(rh_str(ev, "Name", values[v % 4]));
        RH_STEP(rh_array(ev, "Mid", (arr + 1) % 3));
        RH_STEP(rh_str(ev, "Name", values[(v >> 2) % 4]));
        RH_STEP(rh_num(ev, "Port", ETWHOST_PT_U16, (v >> 4) % 2 ? 443 : 80));
        break;
    case 1:
        RH_STEP(rh_num(ev, "Delta", ETWHOST_PT_I8, (v % 2) ? 0xFF : 0x05));
        RH_STEP(rh_array(ev, "Pre", arr));
        RH_STEP(rh_num(ev, "Port", ETWHOST_PT_U32, (v >> 1) % 2 ? 8080 : 22));
        RH_STEP(rh_num(ev, "State", ETWHOST_PT_U32, 2);
                ev->props[ev->nprops - 1].map_text = (v >> 2) % 2 ? "Running" : "Stopped");
        break;
    case 2:
        RH_STEP(rh_str(ev, "Other", "x"));
        RH_STEP(rh_array(ev, "Pre", arr));
        RH_STEP(rh_num(ev, "Delta", ETWHOST_PT_I32, (v % 2) ? 0xFFFFFFF0u : 16));
        break;
    default:
        RH_STEP(rh_str(ev, "Port", (v % 2) ? "8080" : "20"));
        RH_STEP(rh_array(ev, "Pre", arr));
        RH_STEP(rh_str(ev, "Name", values[(v >> 1) % 4]));
        break;
    }
#undef RH_STEP
out:
    if (partial && added == cut)
        event_set_error(ev, "cut short");
    event_finish_decode(ev);
}

TEST(plugin_filter_prop_cache_real_events)
{
    static const char *const rules[6] = {
        "{\"prop\":\"Name\",\"equals\":\"v1\"}",
        "{\"prop\":\"Port\",\"exists\":true}",
        "{\"prop\":\"Port\",\"ge\":300}",
        "{\"prop\":\"Name_2\",\"prefix\":\"v2\"}",
        "{\"prop\":\"Delta\",\"lt\":0}",
        "{\"prop\":\"State\",\"equals\":\"Running\"}",
    };
    struct fake_host fh;
    fh_init(&fh, "filter");
    struct arena ar = ARENA_INIT;
    struct event ev;
    event_init(&ev, &ar);

    /* A repeated name around an array: the first "Name" must win in every event. */
    void *first = rh_make(&fh, "{\"rule\":{\"prop\":\"Name\",\"equals\":\"first\"}}");
    for (int round = 0; round < 4; round++) {
        /* [Pre[2], Name="first", X, Name="second"]: the first Name is at index 3. */
        event_reset(&ev);
        ev.hdr.event_id = 7;
        rh_array(&ev, "Pre", 2);
        rh_str(&ev, "Name", "first");
        rh_num(&ev, "X", ETWHOST_PT_U8, 1);
        rh_str(&ev, "Name", "second");
        event_finish_decode(&ev);
        ASSERT(fh.desc->process(first, (const etwhost_event *)&ev) == ETWHOST_OK);
        /* [Pre[0], Name="zzz", X, Name="first"]: index 3 is the second Name now. */
        event_reset(&ev);
        ev.hdr.event_id = 7;
        rh_array(&ev, "Pre", 0);
        rh_str(&ev, "Name", "zzz");
        rh_num(&ev, "X", ETWHOST_PT_U8, 1);
        rh_str(&ev, "Name", "first");
        event_finish_decode(&ev);
        ASSERT(fh.desc->process(first, (const etwhost_event *)&ev) == ETWHOST_DROP);
        arena_reset(&ar);
    }
    fh.desc->destroy(first);

    /* Random streams of four types: every answer equals the getters' answer. */
    for (int r = 0; r < 6; r++) {
        char settings[256];
        snprintf(settings, sizeof settings, "{\"rule\":%s}", rules[r]);
        void *inst = rh_make(&fh, settings);
        uint64_t seed = 12345u + (uint64_t)r;
        int passed = 0, dropped = 0;
        for (int step = 0; step < 4000; step++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            int t = (int)((seed >> 60) % 4);
            /* Runs of one type as well as alternation. */
            if ((seed >> 40) % 3 == 0)
                t = 1;
            rh_event(&ev, t, seed >> 24);
            int want = oracle(r, (const etwhost_event *)&ev);
            etwhost_status rc = fh.desc->process(inst, (const etwhost_event *)&ev);
            ASSERT(rc == ETWHOST_OK || rc == ETWHOST_DROP);
            ASSERT_MSG((rc == ETWHOST_OK) == want, "rule %s, step %d, type %d: expected %s",
                       rules[r], step, t, want ? "pass" : "drop");
            passed += want;
            dropped += !want;
            arena_reset(&ar);
        }
        /* Both answers occur, so the comparison means something. */
        ASSERT_MSG(passed > 20 && dropped > 20, "rule %s: %d passed, %d dropped", rules[r],
                   passed, dropped);
        fh.desc->destroy(inst);
    }
    event_free(&ev);
    arena_free(&ar);
    fh_free(&fh);
}
