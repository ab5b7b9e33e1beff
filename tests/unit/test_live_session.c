/*
 * Live ETW sessions: configuration to EVENT_TRACE_PROPERTIES (kinds, files,
 * buffers, clock), the existing-session policies, error texts, provider
 * enabling and its failure, and the `sessions`, `stop` and `providers`
 * verbs, all against the fake etw_api.
 */
#include "test.h"

#include <jansson.h>

#include "cli/cli_live.h"
#include "core/mem.h"
#include "live/live_session.h"
#include "live/live_tables.h"
#include "platform/platform.h"
#include "test_live_fake.h"

static int cfg_from(const char *json, uint32_t ncpu, struct live_session_cfg *c,
                    struct errbuf *eb)
{
    json_error_t je;
    json_t *v = json_loads(json, 0, &je);
    ASSERT_MSG(v != NULL, "bad test JSON: %s", je.text);
    int rc = live_session_cfg_from_json(NULL, v, ncpu, c, eb);
    json_decref(v);
    return rc;
}

static void cfg_ok(const char *json, struct live_session_cfg *c)
{
    struct errbuf eb;
    ASSERT_MSG(cfg_from(json, 2, c, &eb) == 0, "%s: %s", json, eb.msg);
}

static void cfg_fails(const char *json, const char *msg)
{
    struct live_session_cfg c;
    struct errbuf eb;
    ASSERT_MSG(cfg_from(json, 2, &c, &eb) == ERR_CONFIG, "%s was accepted", json);
    ASSERT_CONTAINS(eb.msg, msg);
}

TEST(live_session_buffer_defaults_scale_with_cpus)
{
    static const struct {
        uint32_t cpus, min, max;
    } want[] = {{0, 64, 256}, {1, 64, 256}, {2, 64, 256},     {16, 64, 256},
                {24, 96, 384}, {32, 128, 512}, {64, 256, 1024}, {256, 1024, 1024}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        uint32_t mn, mx;
        live_default_buffers(want[i].cpus, &mn, &mx);
        ASSERT_MSG(mn == want[i].min && mx == want[i].max, "%u CPUs: %u/%u", want[i].cpus, mn,
                   mx);
    }
    struct live_session_cfg c;
    cfg_ok("{\"providers\": [\"P\"]}", &c);
    ASSERT_EQ(c.buffer_kb, 1024); /* the ETW maximum, far above a 768 KB total */
    ASSERT_EQ((uint64_t)c.buffer_kb * c.max_buffers, 256 * 1024);
    live_session_cfg_free(&c);
}

TEST(live_session_properties_of_each_kind)
{
    struct live_session_cfg c, d;
    struct etw_session_props p;
    cfg_ok("{\"providers\": [\"P\"]}", &c);
    cfg_ok("{\"providers\": [\"P\"]}", &d);
    /* Unique names and GUIDs by default. */
    ASSERT(strncmp(c.name, "etwhost-", 8) == 0);
    ASSERT(strcmp(c.name, d.name) != 0);
    ASSERT(!guid_eq(&c.guid, &d.guid));
    ASSERT_EQ(c.guid.data3 >> 12, 4); /* version 4 */
    live_session_props(&c, &p);
    ASSERT_EQ(p.log_file_mode, ETW_MODE_REAL_TIME);
    ASSERT_EQ(p.buffer_size_kb, 1024);
    ASSERT_EQ(p.min_buffers, 64);
    ASSERT_EQ(p.max_buffers, 256);
    ASSERT_EQ(p.flush_timer_s, 1);
    ASSERT_EQ(p.clock_type, TRACE_CLOCK_QPC);
    ASSERT_EQ(p.enable_flags, 0);
    ASSERT_STREQ(p.file, "");
    live_session_cfg_free(&c);
    live_session_cfg_free(&d);

    cfg_ok("{\"session\": {\"name\": \"paged\", \"paged\": true, \"buffer_kb\": 64, "
           "\"min_buffers\": 4, \"max_buffers\": 8, \"flush_s\": 0, \"clock\": \"system\"}, "
           "\"providers\": [\"P\"]}",
           &c);
    live_session_props(&c, &p);
    ASSERT_STREQ(p.name, "paged");
    ASSERT_EQ(p.log_file_mode, ETW_MODE_REAL_TIME | ETW_MODE_USE_PAGED_MEMORY);
    ASSERT(p.buffer_size_kb == 64 && p.min_buffers == 4 && p.max_buffers == 8);
    ASSERT(p.flush_timer_s == 0 && p.clock_type == TRACE_CLOCK_SYSTEM);
    live_session_cfg_free(&c);

    cfg_ok("{\"session\": {\"kind\": \"kernel\", \"kernel_flags\": [\"Process\", \"Thread\", "
           "\"ImageLoad\", \"FileIoInit\"], \"clock\": \"cycles\"}}",
           &c);
    live_session_props(&c, &p);
    ASSERT_STREQ(p.name, "NT Kernel Logger");
    ASSERT(guid_eq(&p.guid, &live_system_trace_control_guid));
    ASSERT_EQ(p.enable_flags, 0x04000007u);
    ASSERT_EQ(p.log_file_mode, ETW_MODE_REAL_TIME);
    ASSERT_EQ(p.clock_type, TRACE_CLOCK_CYCLES);
    live_session_cfg_free(&c);

    cfg_ok("{\"session\": {\"kind\": \"system\", \"name\": \"sys\", \"kernel_flags\": "
           "\"Registry|NetworkTcpip\"}, \"providers\": [\"SystemProcessProvider:::GENERAL\"]}",
           &c);
    live_session_props(&c, &p);
    ASSERT_EQ(p.log_file_mode, ETW_MODE_REAL_TIME | ETW_MODE_SYSTEM_LOGGER);
    ASSERT_EQ(p.enable_flags, 0x00030000u);
    /* A system-logger session needs its own GUID, never SystemTraceControlGuid. */
    ASSERT(!guid_eq(&p.guid, &live_system_trace_control_guid) && !guid_is_zero(&p.guid));
    live_session_cfg_free(&c);

    cfg_ok("{\"session\": {\"file\": \"C:\\\\t\\\\x.etl\"}, \"providers\": [\"P\"]}", &c);
    live_session_props(&c, &p);
    ASSERT_EQ(p.log_file_mode, ETW_MODE_REAL_TIME | ETW_MODE_FILE_SEQUENTIAL);
    ASSERT_STREQ(p.file, "C:\\t\\x.etl");
    live_session_cfg_free(&c);
    cfg_ok("{\"session\": {\"file\": \"C:\\\\t\\\\x.etl\", \"file_mode\": \"circular\", "
           "\"max_file_mb\": 100, \"realtime\": false}, \"providers\": [\"P\"]}",
           &c);
    live_session_props(&c, &p);
    ASSERT_EQ(p.log_file_mode, ETW_MODE_FILE_CIRCULAR);
    ASSERT_EQ(p.max_file_size_mb, 100);
    live_session_cfg_free(&c);
    cfg_ok("{\"session\": {\"file\": \"C:\\\\t\\\\x%d.etl\", \"file_mode\": \"newfile\", "
           "\"max_file_mb\": 10}, \"providers\": [\"P\"]}",
           &c);
    live_session_props(&c, &p);
    ASSERT_EQ(p.log_file_mode, ETW_MODE_REAL_TIME | ETW_MODE_FILE_NEWFILE);
    live_session_cfg_free(&c);
}

TEST(live_session_configuration_errors)
{
    cfg_fails("{}", "a live session needs \"providers\"");
    cfg_fails("{\"session\": {\"kind\": \"kernel\"}}", "needs \"kernel_flags\"");
    cfg_fails("{\"session\": {\"kind\": \"kernel\", \"kernel_flags\": [\"Process\"]}, "
              "\"providers\": [\"P\"]}",
              "takes \"kernel_flags\", not providers");
    cfg_fails("{\"session\": {\"kind\": \"kernel\", \"name\": \"k\", \"kernel_flags\": "
              "[\"Process\"]}}",
              "use kind \"system\" for a kernel session of another name");
    cfg_fails("{\"session\": {\"kind\": \"kernel\", \"paged\": true, \"kernel_flags\": [1]}}",
              "paged memory is for user-mode providers only");
    cfg_fails("{\"providers\": [\"SystemProcessProvider\"]}", "need a session of kind \"system\"");
    cfg_fails("{\"session\": {\"kernel_flags\": [\"Process\"]}, \"providers\": [\"P\"]}",
              "\"kernel_flags\" need kind \"kernel\" or \"system\"");
    cfg_fails("{\"session\": {\"kind\": \"system\", \"kernel_flags\": [\"Procss\"]}}",
              "did you mean \"Process\"");
    cfg_fails("{\"session\": {\"realtime\": false}, \"providers\": [\"P\"]}",
              "not real-time needs \"file\"");
    cfg_fails("{\"session\": {\"file\": \"x.etl\", \"file_mode\": \"circular\"}, \"providers\": "
              "[\"P\"]}",
              "circular log file needs \"max_file_mb\"");
    cfg_fails("{\"session\": {\"file\": \"x.etl\", \"file_mode\": \"newfile\", \"max_file_mb\": 5}, "
              "\"providers\": [\"P\"]}",
              "needs %d");
    cfg_fails("{\"session\": {\"file_mode\": \"circular\"}, \"providers\": [\"P\"]}",
              "\"file_mode\" needs \"file\"");
    cfg_fails("{\"session\": {\"bufer_kb\": 8}, \"providers\": [\"P\"]}", "buffer_kb");
    cfg_fails("{\"session\": {\"buffer_kb\": 2048}, \"providers\": [\"P\"]}", "buffer_kb");
    cfg_fails("{\"session\": {\"min_buffers\": 64, \"max_buffers\": 32}, \"providers\": [\"P\"]}",
              "\"min_buffers\" (64) is above \"max_buffers\" (32)");
    cfg_fails("{\"session\": {\"existing\": \"steal\"}, \"providers\": [\"P\"]}",
              "\"fail\", \"stop\" or \"attach\"");
    cfg_fails("{\"session\": {\"clock\": \"tsc\"}, \"providers\": [\"P\"]}", "\"qpc\"");
    cfg_fails("{\"providers\": \"P\"}", "must be an array");
    cfg_fails("{\"providers\": [\"P:99999\"]}", "level \"99999\"");
    /* A min above the default max raises the max instead. */
    struct live_session_cfg c;
    cfg_ok("{\"session\": {\"min_buffers\": 300}, \"providers\": [\"P\"]}", &c);
    ASSERT_EQ(c.max_buffers, 300);
    live_session_cfg_free(&c);
}

static void resolved_cfg(const char *json, struct live_session_cfg *c)
{
    cfg_ok(json, c);
    for (size_t i = 0; i < c->nproviders; i++)
        ASSERT(c->providers[i].has_guid);
}

static const char *two_providers =
    "{\"session\": {\"name\": \"s1\"}, \"providers\": ["
    "\"{a0c1853b-5c40-4b15-8766-3cf1c58f985a}:4:1,2:0x10\","
    "{\"guid\": \"22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716\", \"pids\": [4], \"stack\": true}]}";

TEST(live_session_start_enables_every_provider_in_order)
{
    struct fake_etw f;
    fake_init(&f);
    struct live_session_cfg c;
    resolved_cfg(two_providers, &c);
    struct live_session s;
    struct errbuf eb;
    ASSERT_MSG(live_session_start(&s, &f.api, &c, -1, &eb) == 0, "%s", eb.msg);
    ASSERT(s.owned && s.running && s.handle != 0);
    const char *log = buf_cstr(&f.log);
    char g[37];
    guid_format(&c.guid, g);
    ASSERT_CONTAINS(log, t_path("start s1 mode=0x100 buf=1024 min=64 max=256 flush=1 clock=1 "
                                "flags=0x0 file=- guid=%s\n",
                                g));
    ASSERT_CONTAINS(log, "enable a0c1853b-5c40-4b15-8766-3cf1c58f985a code=1 level=4 any=0x10 "
                         "all=0x0 prop=0x0 filters=1 0x80000200:8:0100020001000200\n");
    ASSERT_CONTAINS(log, "enable 22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716 code=1 level=255 "
                         "any=0xffffffffffffffff all=0x0 prop=0x4 filters=1 0x80000004:4:04000000\n");
    ASSERT(strstr(log, "enable a0c1") < strstr(log, "enable 22fb"));
    ASSERT_NOT_CONTAINS(log, "privilege"); /* user sessions need no profile privilege */
    struct etw_session_props q;
    ASSERT_EQ(live_session_query(&s, &q), ETW_OK);
    ASSERT_STREQ(q.name, "s1");
    ASSERT_EQ(live_session_stop(&s, NULL), ETW_OK);
    ASSERT_CONTAINS(buf_cstr(&f.log), "stop s1\n");
    ASSERT_EQ(live_session_stop(&s, NULL), ETW_OK); /* once */
    ASSERT_EQ(t_count(buf_cstr(&f.log), "stop s1"), 1);
    live_session_cfg_free(&c);
    fake_free(&f);
}

TEST(live_session_existing_policies)
{
    struct fake_etw f;
    fake_init(&f);
    struct etw_session_props other;
    memset(&other, 0, sizeof other);
    snprintf(other.name, sizeof other.name, "s1");
    ASSERT_EQ(f.api.start_trace(f.api.ctx, &other), ETW_OK);
    struct live_session_cfg c;
    resolved_cfg(two_providers, &c);
    struct live_session s;
    struct errbuf eb;
    /* fail (default) */
    ASSERT_EQ(live_session_start(&s, &f.api, &c, -1, &eb), ERR_EXISTS);
    ASSERT_STREQ(eb.msg, "session \"s1\" already exists (policy \"fail\"): set \"existing\" to "
                         "\"stop\" to replace it or \"attach\" to consume it, or stop it with: "
                         "etwhost stop \"s1\"");
    /* attach: query for the handle, enable, never stop */
    buf_reset(&f.log);
    ASSERT_OK(live_session_start(&s, &f.api, &c, LIVE_EXISTING_ATTACH, &eb));
    ASSERT(!s.owned && s.handle == other.handle);
    ASSERT_CONTAINS(buf_cstr(&f.log), "query s1\nenable a0c1");
    ASSERT_EQ(live_session_stop(&s, NULL), ETW_OK);
    ASSERT_NOT_CONTAINS(buf_cstr(&f.log), "stop s1");
    /* stop: stop the other one, start ours */
    buf_reset(&f.log);
    ASSERT_OK(live_session_start(&s, &f.api, &c, LIVE_EXISTING_STOP, &eb));
    ASSERT(s.owned);
    const char *log = buf_cstr(&f.log);
    ASSERT_EQ(t_count(log, "start s1"), 2);
    ASSERT(strstr(log, "stop s1") > strstr(log, "start s1"));
    ASSERT(strstr(strstr(log, "stop s1"), "start s1") != NULL);
    live_session_stop(&s, NULL);
    live_session_cfg_free(&c);
    fake_free(&f);
}

TEST(live_session_errors_are_explained)
{
    struct fake_etw f;
    fake_init(&f);
    struct live_session_cfg c;
    resolved_cfg(two_providers, &c);
    struct live_session s;
    struct errbuf eb;
    f.start_rc = ETW_ERR_ACCESS_DENIED;
    ASSERT_EQ(live_session_start(&s, &f.api, &c, -1, &eb), ERR_PERM);
    ASSERT_STREQ(eb.msg, "starting session \"s1\" failed: access denied: run as Administrator or "
                         "a member of Performance Log Users (error 5)");
    f.start_rc = ETW_ERR_NO_SYSTEM_RESOURCES;
    ASSERT_EQ(live_session_start(&s, &f.api, &c, -1, &eb), ERR_IO);
    ASSERT_CONTAINS(eb.msg, "too many sessions");
    f.start_rc = 1234;
    ASSERT_EQ(live_session_start(&s, &f.api, &c, -1, &eb), ERR_IO);
    ASSERT_STREQ(eb.msg, "starting session \"s1\" failed: fake error 1234");
    /* A provider ETW refuses: the session is stopped again and the provider named. */
    f.start_rc = 0;
    f.enable_rc = ETW_ERR_INVALID_PARAMETER;
    buf_reset(&f.log);
    ASSERT_EQ(live_session_start(&s, &f.api, &c, -1, &eb), ERR_CONFIG);
    ASSERT_CONTAINS(eb.msg, "session \"s1\": enabling provider (unnamed) "
                            "{a0c1853b-5c40-4b15-8766-3cf1c58f985a} level 4 any 0x10 all 0x0 ids 1,2 "
                            "failed: fake error 87 (a filter this Windows version does not "
                            "support?)");
    ASSERT_CONTAINS(buf_cstr(&f.log), "stop s1");
    ASSERT(fake_session(&f, "s1") && !fake_session(&f, "s1")->running);
    live_session_cfg_free(&c);

    /* Kernel sessions ask for the profile privilege first. */
    f.enable_rc = 0;
    buf_reset(&f.log);
    cfg_ok("{\"session\": {\"kind\": \"kernel\", \"kernel_flags\": [\"Process\"]}}", &c);
    ASSERT_OK(live_session_start(&s, &f.api, &c, -1, &eb));
    ASSERT_CONTAINS(buf_cstr(&f.log), "privilege SeSystemProfilePrivilege\nstart NT Kernel Logger");
    ASSERT_CONTAINS(buf_cstr(&f.log), "flags=0x1 file=- guid=9e814aad-3204-11d2-9a82-006008a86939");
    live_session_stop(&s, NULL);
    live_session_cfg_free(&c);
    fake_free(&f);
}

/* ---- Verbs ---- */

struct out {
    FILE *o, *e;
    char *out, *err;
};

static int run_verb(const char *verb, const char *const *args, struct out *r)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)verb;
    for (const char *const *a = args; a && *a; a++)
        argv[argc++] = (char *)*a;
    argv[argc] = NULL;
    const char *po = t_path("%s/out.txt", t_tmpdir()), *pe = t_path("%s/err.txt", t_tmpdir());
    char so[4096], se[4096];
    snprintf(so, sizeof so, "%s", po);
    snprintf(se, sizeof se, "%s", pe);
    r->o = fopen(so, "wb");
    r->e = fopen(se, "wb");
    int rc = cli_live_verb(verb, argc, argv, r->o, r->e);
    fclose(r->o);
    fclose(r->e);
    r->out = t_read_file(so, NULL);
    r->err = t_read_file(se, NULL);
    return rc;
}

static void out_free(struct out *r)
{
    mem_free(r->out);
    mem_free(r->err);
}

TEST(live_verbs_sessions_stop_providers)
{
    struct fake_etw f;
    fake_init(&f);
    struct etw_session_props p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "EventLog-System");
    p.log_file_mode = ETW_MODE_REAL_TIME | ETW_MODE_FILE_SEQUENTIAL;
    p.buffer_size_kb = 64;
    p.min_buffers = 8;
    snprintf(p.file, sizeof p.file, "C:\\Windows\\x.etl");
    ASSERT_OK(f.api.start_trace(f.api.ctx, &p));
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "Circular Kernel Context Logger");
    p.log_file_mode = ETW_MODE_SYSTEM_LOGGER | ETW_MODE_REAL_TIME;
    p.buffer_size_kb = 1024;
    p.min_buffers = 4;
    ASSERT_OK(f.api.start_trace(f.api.ctx, &p));
    f.events_lost = 3;
    f.rt_buffers_lost = 2;
    etw_api_override(&f.api);
    struct out r;
    ASSERT_EQ(run_verb("sessions", NULL, &r), 0);
    ASSERT_CONTAINS(r.out, "EventLog-System");
    ASSERT_CONTAINS(r.out, "realtime,sequential");
    ASSERT_CONTAINS(r.out, "C:\\Windows\\x.etl");
    ASSERT_CONTAINS(r.out, "realtime,system");
    ASSERT_CONTAINS(r.out, "2 sessions");
    ASSERT_EQ(t_count(r.out, "          3          0          2"), 2);
    out_free(&r);

    const char *stop[] = {"EventLog-System", NULL};
    ASSERT_EQ(run_verb("stop", stop, &r), 0);
    ASSERT_STREQ(r.out, "stopped session \"EventLog-System\": EventsLost 3, LogBuffersLost 0, "
                        "RealTimeBuffersLost 2, buffers written 0\n");
    out_free(&r);
    ASSERT_EQ(run_verb("stop", stop, &r), 1);
    ASSERT_STREQ(r.err, "etwhost stop: session \"EventLog-System\": no such session (error "
                        "4201)\n");
    out_free(&r);
    ASSERT_EQ(run_verb("stop", NULL, &r), 2);
    out_free(&r);

    const char *names[] = {"Microsoft-Windows-Kernel-Process", "Microsoft-Windows-PowerShell",
                           "Microsoft-Windows-Kernel-File"};
    etwhost_guid guids[3];
    guid_parse("22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716", 36, &guids[0]);
    guid_parse("a0c1853b-5c40-4b15-8766-3cf1c58f985a", 36, &guids[1]);
    guid_parse("edd08927-9cc4-4e65-b970-c2560fb5c289", 36, &guids[2]);
    fake_set_providers(&f, names, guids, 3);
    const char *kern[] = {"kernel-", NULL};
    ASSERT_EQ(run_verb("providers", kern, &r), 0);
    ASSERT_CONTAINS(r.out, "{edd08927-9cc4-4e65-b970-c2560fb5c289}  Microsoft-Windows-Kernel-File");
    ASSERT_CONTAINS(r.out, "Microsoft-Windows-Kernel-Process");
    ASSERT_NOT_CONTAINS(r.out, "PowerShell");
    ASSERT_CONTAINS(r.out, "2 of 3 registered providers");
    /* Sorted by name: File before Process. */
    ASSERT(strstr(r.out, "Kernel-File") < strstr(r.out, "Kernel-Process"));
    out_free(&r);
    const char *glob[] = {"*shell", NULL};
    ASSERT_EQ(run_verb("providers", glob, &r), 0);
    ASSERT_CONTAINS(r.out, "1 of 3");
    out_free(&r);
    const char *sys[] = {"--system", "timer", NULL};
    ASSERT_EQ(run_verb("providers", sys, &r), 0);
    ASSERT_CONTAINS(r.out, "{4f061568-e215-499f-ab2e-eda0ae890a5b}  SystemTimerProvider\n"
                           "    SYSTEM_TIMER_KW_GENERAL");
    out_free(&r);
    etw_api_override(NULL);
    fake_free(&f);
}

TEST(live_verbs_without_windows_exit_2)
{
    if (etw_api_platform() != NULL)
        SKIP("this platform has ETW");
    static const char *const verbs[][3] = {
        {"sessions", NULL, NULL},          {"stop", "X", NULL},
        {"providers", NULL, NULL},         {"autologger", "list", NULL},
        {"service", "uninstall", NULL},
    };
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        struct t_run r = t_etwhost(verbs[i], NULL, NULL);
        ASSERT_MSG(r.status == 2, "%s: exit %d", verbs[i][0], r.status);
        ASSERT_EQ(t_count_lines(r.err), 1);
        ASSERT_CONTAINS(r.err, "need Windows");
        t_run_free(&r);
    }
    /* The static tables need nothing. */
    const char *args[] = {"providers", "--kernel-flags", NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_EQ(r.status, 0);
    ASSERT_CONTAINS(r.out, "FileIoInit         0x04000000");
    t_run_free(&r);
}
