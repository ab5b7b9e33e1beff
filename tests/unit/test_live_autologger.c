/*
 * AutoLogger sessions: the registry layout written through the etw_api
 * registry functions (an in-memory registry here; Windows' own registry in
 * test_live_windows.c under Wine), and the `autologger` verb.
 */
#include "test.h"

#include <jansson.h>

#include "cli/cli_live.h"
#include "core/mem.h"
#include "live/live_autologger.h"
#include "test_live_fake.h"

#define ROOT "SYSTEM\\CurrentControlSet\\Control\\WMI\\Autologger"

static int verb(const char *const *args, char **out, char **err)
{
    char *argv[40];
    int argc = 0;
    argv[argc++] = "autologger";
    for (const char *const *a = args; *a; a++)
        argv[argc++] = (char *)*a;
    argv[argc] = NULL;
    char po[4096], pe[4096];
    snprintf(po, sizeof po, "%s", t_path("%s/out.txt", t_tmpdir()));
    snprintf(pe, sizeof pe, "%s", t_path("%s/err.txt", t_tmpdir()));
    FILE *o = fopen(po, "wb"), *e = fopen(pe, "wb");
    int rc = cli_live_verb("autologger", argc, argv, o, e);
    fclose(o);
    fclose(e);
    *out = t_read_file(po, NULL);
    *err = t_read_file(pe, NULL);
    return rc;
}

static uint64_t num(const struct fake_regval *v)
{
    uint64_t x = 0;
    for (uint32_t i = 0; i < v->len && i < 8; i++)
        x |= (uint64_t)v->data[i] << (8 * i);
    return x;
}

static void expect_num(struct fake_etw *f, const char *key, const char *name, uint32_t type,
                       uint64_t want)
{
    const struct fake_regval *v = fake_reg_find(f, key, name);
    ASSERT_MSG(v != NULL, "HKLM\\%s\\%s missing", key, name);
    ASSERT_MSG(v->type == type, "%s: type %u, expected %u", name, v->type, type);
    ASSERT_EQ(v->len, type == ETW_REG_QWORD ? 8 : 4);
    ASSERT_MSG(num(v) == want, "%s: 0x%llx, expected 0x%llx", name, (unsigned long long)num(v),
               (unsigned long long)want);
}

static void expect_sz(struct fake_etw *f, const char *key, const char *name, const char *want)
{
    const struct fake_regval *v = fake_reg_find(f, key, name);
    ASSERT_MSG(v != NULL && v->type == ETW_REG_SZ, "HKLM\\%s\\%s missing or not REG_SZ", key,
               name);
    ASSERT_EQ(v->len, strlen(want));
    ASSERT(memcmp(v->data, want, v->len) == 0);
}

TEST(live_autologger_registry_layout)
{
    struct fake_etw f;
    fake_init(&f);
    f.ncpu = 4;
    const char *names[] = {"Microsoft-Windows-Kernel-Process"};
    etwhost_guid g;
    guid_parse("22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716", 36, &g);
    fake_set_providers(&f, names, &g, 1);
    etw_api_override(&f.api);
    const char *args[] = {"create", "BootTrace",
                          "--provider", "Microsoft-Windows-Kernel-Process:4:1,2:0x10",
                          "--provider", "{a0c1853b-5c40-4b15-8766-3cf1c58f985a}:5:!7::0x3",
                          "--file", "C:\\traces\\boot.etl", "--file-mode", "circular",
                          "--max-file-mb", "64", "--buffer-kb", "256",
                          "--guid", "{0a0b0c0d-1111-4222-8333-444455556666}", NULL};
    char *out, *err;
    ASSERT_MSG(verb(args, &out, &err) == 0, "%s", err);
    ASSERT_CONTAINS(out, "created AutoLogger \"BootTrace\"");
    ASSERT_CONTAINS(out, "with 2 providers");
    mem_free(out);
    mem_free(err);

    const char *s = ROOT "\\BootTrace";
    expect_num(&f, s, "Start", ETW_REG_DWORD, 1);
    expect_sz(&f, s, "Guid", "{0a0b0c0d-1111-4222-8333-444455556666}");
    expect_num(&f, s, "LogFileMode", ETW_REG_DWORD, 0x2); /* circular, not real-time */
    expect_num(&f, s, "BufferSize", ETW_REG_DWORD, 256);
    expect_num(&f, s, "MinimumBuffers", ETW_REG_DWORD, 64);
    expect_num(&f, s, "MaximumBuffers", ETW_REG_DWORD, 256);
    expect_num(&f, s, "FlushTimer", ETW_REG_DWORD, 1);
    expect_num(&f, s, "ClockType", ETW_REG_DWORD, 1);
    expect_sz(&f, s, "FileName", "C:\\traces\\boot.etl");
    expect_num(&f, s, "MaxFileSize", ETW_REG_DWORD, 64);

    const char *p1 = ROOT "\\BootTrace\\{22FB2CD6-0E7B-422B-A0C7-2FAD1FD0E716}";
    expect_num(&f, p1, "Enabled", ETW_REG_DWORD, 1);
    expect_num(&f, p1, "EnableLevel", ETW_REG_DWORD, 4);
    expect_num(&f, p1, "MatchAnyKeyword", ETW_REG_QWORD, 0x10);
    expect_num(&f, p1, "MatchAllKeyword", ETW_REG_QWORD, 0);
    ASSERT(fake_reg_find(&f, p1, "EnableProperty") == NULL);
    const char *f1 = ROOT "\\BootTrace\\{22FB2CD6-0E7B-422B-A0C7-2FAD1FD0E716}\\Filters";
    expect_num(&f, f1, "Enabled", ETW_REG_DWORD, 1);
    expect_num(&f, f1, "EventIdFilterIn", ETW_REG_DWORD, 1);
    const struct fake_regval *ids = fake_reg_find(&f, f1, "EventIds");
    ASSERT(ids && ids->type == ETW_REG_BINARY && ids->len == 4);
    ASSERT(ids->data[0] == 1 && ids->data[1] == 0 && ids->data[2] == 2 && ids->data[3] == 0);

    const char *p2 = ROOT "\\BootTrace\\{A0C1853B-5C40-4B15-8766-3CF1C58F985A}";
    expect_num(&f, p2, "EnableLevel", ETW_REG_DWORD, 5);
    expect_num(&f, p2, "MatchAnyKeyword", ETW_REG_QWORD, UINT64_MAX);
    expect_num(&f, p2, "MatchAllKeyword", ETW_REG_QWORD, 3);
    const char *f2 = ROOT "\\BootTrace\\{A0C1853B-5C40-4B15-8766-3CF1C58F985A}\\Filters";
    expect_num(&f, f2, "EventIdFilterIn", ETW_REG_DWORD, 0);

    /* show reads it all back. */
    const char *show[] = {"show", "BootTrace", NULL};
    ASSERT_MSG(verb(show, &out, &err) == 0, "%s", err);
    ASSERT_CONTAINS(out, "AutoLogger \"BootTrace\" (HKLM\\" ROOT "\\BootTrace)\n");
    ASSERT_CONTAINS(out, "  LogFileMode        2 (0x2)\n");
    ASSERT_CONTAINS(out, "  FileName           \"C:\\traces\\boot.etl\"\n");
    ASSERT_CONTAINS(out, "  {22FB2CD6-0E7B-422B-A0C7-2FAD1FD0E716}\n");
    ASSERT_CONTAINS(out, "    MatchAnyKeyword    0x10\n");
    ASSERT_CONTAINS(out, "    Filters\n      Enabled            1 (0x1)\n");
    ASSERT_CONTAINS(out, "      EventIds           1,2 (event ids)\n");
    mem_free(out);
    mem_free(err);
    const char *list[] = {"list", NULL};
    ASSERT_OK(verb(list, &out, &err));
    ASSERT_CONTAINS(out, "BootTrace");
    ASSERT_CONTAINS(out, "start=1 guid={0a0b0c0d-1111-4222-8333-444455556666} providers=2");
    mem_free(out);
    mem_free(err);

    /* Creating it again is refused; deleting removes every key and value. */
    ASSERT_EQ(verb(args, &out, &err), 1);
    ASSERT_CONTAINS(err, "AutoLogger \"BootTrace\" already exists");
    mem_free(out);
    mem_free(err);
    const char *del[] = {"delete", "BootTrace", NULL};
    ASSERT_OK(verb(del, &out, &err));
    ASSERT_STREQ(out, "deleted AutoLogger \"BootTrace\"\n");
    mem_free(out);
    mem_free(err);
    ASSERT_EQ(f.nvals, 0);
    ASSERT(fake_reg_find(&f, f1, "EventIds") == NULL);
    ASSERT_EQ(verb(del, &out, &err), 1);
    ASSERT_CONTAINS(err, "AutoLogger \"BootTrace\" does not exist");
    mem_free(out);
    mem_free(err);
    ASSERT_EQ(verb(show, &out, &err), 1);
    mem_free(out);
    mem_free(err);
    etw_api_override(NULL);
    fake_free(&f);
}

TEST(live_autologger_refuses_filters_it_does_not_write)
{
    struct fake_etw f;
    fake_init(&f);
    etw_api_override(&f.api);
    static const struct {
        const char *args[12];
        const char *msg;
    } cases[] = {
        {{"create", "A", NULL}, "AutoLogger \"A\" needs at least one provider"},
        {{"create", "A", "--kind", "kernel", "--provider",
          "{a0c1853b-5c40-4b15-8766-3cf1c58f985a}", NULL},
         "kind \"kernel\" is the session \"NT Kernel Logger\""},
        {{"create", "A", "--provider", "SystemProcessProvider", NULL},
         "need a session of kind \"system\""},
        {{"create", "A", "--provider", "Microsoft-Windows-Foo", NULL},
         "cannot resolve names"},
        {{"create", "A\\B", "--provider", "{a0c1853b-5c40-4b15-8766-3cf1c58f985a}", NULL},
         "without '\\'"},
        {{"create", "A", "--provider", "{a0c1853b-5c40-4b15-8766-3cf1c58f985a}", "--file",
          "rel.etl", NULL},
         "--file must be an absolute path"},
        {{"create", "A", "--provider", "{a0c1853b-5c40-4b15-8766-3cf1c58f985a}", "--bogus",
          NULL},
         "unknown or incomplete option '--bogus'"},
        {{"create", "A", "--max-file-mb", "lots", NULL}, "--max-file-mb needs a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out, *err;
        int rc = verb(cases[i].args, &out, &err);
        ASSERT_MSG(rc != 0, "case %zu accepted", i);
        ASSERT_CONTAINS(err, cases[i].msg);
        mem_free(out);
        mem_free(err);
    }
    ASSERT_EQ(f.nvals, 0);
    /* PID and event-name filters are refused for AutoLoggers (checked on the configuration). */
    struct live_session_cfg c;
    struct errbuf eb;
    json_t *src = json_pack("{s:{s:s}, s:[{s:s, s:[i]}]}", "session", "name", "A", "providers",
                            "guid", "a0c1853b-5c40-4b15-8766-3cf1c58f985a", "pids", 4);
    ASSERT_OK(live_session_cfg_from_json(NULL, src, 2, &c, &eb));
    ASSERT_EQ(live_autologger_create(&f.api, &c, 1, &eb), ERR_CONFIG);
    ASSERT_CONTAINS(eb.msg, "PID filters have no AutoLogger registry form");
    live_session_cfg_free(&c);
    json_decref(src);
    src = json_pack("{s:{s:s}, s:[{s:s, s:[s]}]}", "session", "name", "A", "providers", "guid",
                    "a0c1853b-5c40-4b15-8766-3cf1c58f985a", "event_names", "Start");
    ASSERT_OK(live_session_cfg_from_json(NULL, src, 2, &c, &eb));
    ASSERT_EQ(live_autologger_create(&f.api, &c, 1, &eb), ERR_CONFIG);
    ASSERT_CONTAINS(eb.msg, "event name filters are not written to AutoLoggers");
    live_session_cfg_free(&c);
    json_decref(src);
    src = json_pack("{s:{s:s, s:[s]}}", "session", "kind", "kernel", "kernel_flags", "Process");
    ASSERT_OK(live_session_cfg_from_json(NULL, src, 2, &c, &eb));
    ASSERT_EQ(live_autologger_check(&c, &eb), ERR_CONFIG);
    ASSERT_CONTAINS(eb.msg, "the NT Kernel Logger cannot be an AutoLogger");
    live_session_cfg_free(&c);
    json_decref(src);
    ASSERT_EQ(f.nvals, 0);
    etw_api_override(NULL);
    fake_free(&f);
}

TEST(live_autologger_json_and_realtime)
{
    struct fake_etw f;
    fake_init(&f);
    etw_api_override(&f.api);
    const char *jpath = t_path("%s/al.json", t_tmpdir());
    t_write_file(jpath, "{\"session\": {\"buffer_kb\": 512, \"kind\": \"system\"}, \"providers\": "
                        "[{\"name\": \"SystemProcessProvider\", \"match_any_keyword\": "
                        "\"GENERAL|THREAD\", \"exe\": \"svchost.exe\", \"stack_event_ids\": "
                        "[1]}]}");
    char jcopy[4096];
    snprintf(jcopy, sizeof jcopy, "%s", jpath);
    const char *args[] = {"create", "Sys", "--json", jcopy, "--buffer-kb", "128", "--disabled",
                          NULL};
    char *out, *err;
    ASSERT_MSG(verb(args, &out, &err) == 0, "%s", err);
    mem_free(out);
    mem_free(err);
    const char *s = ROOT "\\Sys";
    expect_num(&f, s, "Start", ETW_REG_DWORD, 0);
    expect_num(&f, s, "BufferSize", ETW_REG_DWORD, 128); /* the option wins over the file */
    expect_num(&f, s, "LogFileMode", ETW_REG_DWORD, ETW_MODE_REAL_TIME | ETW_MODE_SYSTEM_LOGGER);
    ASSERT(fake_reg_find(&f, s, "FileName") == NULL);
    const char *p = ROOT "\\Sys\\{151F55DC-467D-471F-83B5-5F889D46FF66}";
    expect_num(&f, p, "MatchAnyKeyword", ETW_REG_QWORD, 0x801);
    expect_num(&f, p, "EnableProperty", ETW_REG_DWORD, 0x4); /* stack traces */
    const char *fl = ROOT "\\Sys\\{151F55DC-467D-471F-83B5-5F889D46FF66}\\Filters";
    expect_sz(&f, fl, "ExeFilter", "svchost.exe");
    expect_num(&f, fl, "StackWalkFilterIn", ETW_REG_DWORD, 1);
    const struct fake_regval *sw = fake_reg_find(&f, fl, "StackWalkIds");
    ASSERT(sw && sw->len == 2 && sw->data[0] == 1);
    etw_api_override(NULL);
    fake_free(&f);
}
