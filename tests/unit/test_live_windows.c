/*
 * The Windows etw_api table itself (host/platform/win/etw_win.c,
 * registry_win.c), run by the Windows build of the suite, i.e. under Wine
 * in CI: the AutoLogger layout through the real registry API (Wine's
 * registry works), the verbs through etwhost.exe, and the ETW controller
 * sequence against Wine's stubs, with the calls Wine cannot make
 * (OpenTrace, TDH) skipped by the table and reported.  On POSIX every
 * test here skips.
 */
#include "test.h"

#include <jansson.h>

#include "core/buf.h"
#include "config/config.h"
#include "core/mem.h"
#include "live/etw_api.h"
#include "live/live_autologger.h"
#include "live/live_consumer.h"
#include "live/live_session.h"
#include "platform/platform.h"

static const struct etw_api *win_api_or_skip(void)
{
    const struct etw_api *api = etw_api_platform();
    if (api == NULL)
        SKIP("needs the Windows etw_api table (runs in the Windows build, under Wine in CI)");
    return api;
}

static uint32_t reg_u32(const struct etw_api *api, const char *key, const char *name,
                        uint32_t *type)
{
    uint8_t d[8] = {0};
    uint32_t len = sizeof d;
    uint32_t rc = api->reg_get(api->ctx, key, name, type, d, &len);
    ASSERT_MSG(rc == ETW_OK, "HKLM\\%s\\%s: error %u", key, name, rc);
    return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
}

TEST(live_windows_registry_autologger_round_trip)
{
    const struct etw_api *api = win_api_or_skip();
    char name[64];
    snprintf(name, sizeof name, "EtwHostTest-%u", (unsigned)plat_getpid());
    json_t *src = json_pack(
        "{s:{s:s, s:s, s:s, s:i}, s:[s, {s:s, s:[i,i], s:s}]}", "session", "name", name, "file",
        "C:\\etwhost-test\\boot.etl", "file_mode", "circular", "max_file_mb", 32, "providers",
        "{a0c1853b-5c40-4b15-8766-3cf1c58f985a}:4::0x10", "guid",
        "22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716", "event_ids", 1, 2, "exe", "a.exe;b.exe");
    struct live_session_cfg c;
    struct errbuf eb;
    ASSERT_MSG(live_session_cfg_from_json(NULL, src, 2, &c, &eb) == 0, "%s", eb.msg);
    json_decref(src);
    int rc = live_autologger_create(api, &c, 1, &eb);
    if (rc == ERR_PERM)
        SKIP("writing HKLM needs Administrator here: %s", eb.msg);
    ASSERT_MSG(rc == 0, "%s", eb.msg);
    char key[256], pkey[320], fkey[360];
    snprintf(key, sizeof key, "%s\\%s", LIVE_AUTOLOGGER_ROOT, name);
    snprintf(pkey, sizeof pkey, "%s\\{22FB2CD6-0E7B-422B-A0C7-2FAD1FD0E716}", key);
    snprintf(fkey, sizeof fkey, "%s\\Filters", pkey);
    uint32_t type;
    ASSERT_EQ(reg_u32(api, key, "Start", &type), 1);
    ASSERT_EQ(type, ETW_REG_DWORD);
    ASSERT_EQ(reg_u32(api, key, "LogFileMode", &type), ETW_MODE_FILE_CIRCULAR | ETW_MODE_REAL_TIME);
    ASSERT_EQ(reg_u32(api, key, "MaxFileSize", &type), 32);
    char text[256];
    uint32_t len = sizeof text - 1;
    ASSERT_EQ(api->reg_get(api->ctx, key, "FileName", &type, text, &len), ETW_OK);
    text[len] = '\0';
    ASSERT_EQ(type, ETW_REG_SZ);
    ASSERT_STREQ(text, "C:\\etwhost-test\\boot.etl");
    ASSERT_EQ(reg_u32(api, pkey, "EnableLevel", &type), 255);
    uint8_t q[8];
    len = sizeof q;
    ASSERT_EQ(api->reg_get(api->ctx, pkey, "MatchAnyKeyword", &type, q, &len), ETW_OK);
    ASSERT(type == ETW_REG_QWORD && len == 8 && q[0] == 0xff && q[7] == 0xff);
    ASSERT_EQ(reg_u32(api, fkey, "EventIdFilterIn", &type), 1);
    uint8_t ids[8];
    len = sizeof ids;
    ASSERT_EQ(api->reg_get(api->ctx, fkey, "EventIds", &type, ids, &len), ETW_OK);
    ASSERT(type == ETW_REG_BINARY && len == 4 && ids[0] == 1 && ids[2] == 2);
    len = sizeof text - 1;
    ASSERT_EQ(api->reg_get(api->ctx, fkey, "ExeFilter", &type, text, &len), ETW_OK);
    text[len] = '\0';
    ASSERT_STREQ(text, "a.exe;b.exe");
    /* A value too large for the buffer says how large it is. */
    len = 4;
    ASSERT_EQ(api->reg_get(api->ctx, key, "FileName", &type, text, &len), ETW_ERR_MORE_DATA);
    ASSERT_EQ(len, strlen("C:\\etwhost-test\\boot.etl"));

    struct buf b = BUF_INIT;
    ASSERT_OK(live_autologger_show(api, name, &b, &eb));
    ASSERT_CONTAINS(buf_cstr(&b), "  {A0C1853B-5C40-4B15-8766-3CF1C58F985A}\n");
    ASSERT_CONTAINS(buf_cstr(&b), "      EventIds           1,2 (event ids)\n");
    buf_reset(&b);
    ASSERT_OK(live_autologger_list(api, &b, &eb));
    ASSERT_CONTAINS(buf_cstr(&b), name);
    buf_free(&b);
    ASSERT_EQ(live_autologger_create(api, &c, 1, &eb), ERR_EXISTS);
    ASSERT_OK(live_autologger_delete(api, name, &eb));
    char probe[16];
    ASSERT_EQ(api->reg_enum_value(api->ctx, key, 0, probe, sizeof probe), ETW_ERR_FILE_NOT_FOUND);
    ASSERT_EQ(live_autologger_delete(api, name, &eb), ERR_NOTFOUND);
    live_session_cfg_free(&c);
    printf("AutoLogger %s written, read back and deleted through the registry API%s\n", name,
           api->wine_version(api->ctx) ? " (Wine)" : "");
}

TEST(live_windows_autologger_verb_through_etwhost_exe)
{
    win_api_or_skip();
    char name[64];
    snprintf(name, sizeof name, "EtwHostCli-%u", (unsigned)plat_getpid());
    const char *create[] = {"autologger", "create", name, "--provider",
                            "{a0c1853b-5c40-4b15-8766-3cf1c58f985a}:5:1,2", "--realtime", NULL};
    struct t_run r = t_etwhost(create, NULL, NULL);
    if (r.status == 1 && strstr(r.err, "access denied"))
        SKIP("writing HKLM needs Administrator here");
    ASSERT_MSG(r.status == 0, "create: exit %d: %s", r.status, r.err);
    t_run_free(&r);
    const char *show[] = {"autologger", "show", name, NULL};
    r = t_etwhost(show, NULL, NULL);
    ASSERT_MSG(r.status == 0, "show: %s", r.err);
    ASSERT_CONTAINS(r.out, "  LogFileMode        256 (0x100)");
    ASSERT_CONTAINS(r.out, "EventIds           1,2 (event ids)");
    t_run_free(&r);
    const char *del[] = {"autologger", "delete", name, NULL};
    r = t_etwhost(del, NULL, NULL);
    ASSERT_MSG(r.status == 0, "delete: %s", r.err);
    t_run_free(&r);
    r = t_etwhost(show, NULL, NULL);
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.err, "does not exist");
    t_run_free(&r);
}

static void noop(void *ctx, const struct etw_event *ev)
{
    (void)ctx;
    (void)ev;
}

TEST(live_windows_controller_sequence_under_wine)
{
    const struct etw_api *api = win_api_or_skip();
    const char *wine = api->wine_version(api->ctx);
    if (wine == NULL)
        SKIP("Windows proper: starting sessions here would trace the machine (run by hand as "
             "Administrator)");
    /* The controller calls are success stubs in Wine: the whole start sequence runs. */
    json_t *src = json_pack("{s:{s:s}, s:[s, s]}", "session", "name", "etwhost-wine-test",
                            "providers", "{a0c1853b-5c40-4b15-8766-3cf1c58f985a}:5:1,2:0x10",
                            "{22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716}");
    struct live_session_cfg c;
    struct errbuf eb;
    ASSERT_OK(live_session_cfg_from_json(NULL, src, api->cpu_count(api->ctx), &c, &eb));
    json_decref(src);
    struct live_session s;
    ASSERT_MSG(live_session_start(&s, api, &c, -1, &eb) == 0, "%s", eb.msg);
    ASSERT(s.owned);
    struct etw_session_props q;
    ASSERT_EQ(live_session_query(&s, &q), ETW_OK);
    struct etw_session_props all[8];
    uint32_t n = 99;
    ASSERT_EQ(api->query_all_traces(api->ctx, all, 8, &n), ETW_OK);
    ASSERT(n <= 8);
    /* OpenTrace and TDH are skipped by the table under Wine (TDH would abort the process). */
    struct etw_consumer cons = {noop, NULL};
    uint64_t trace = 0;
    struct trace_info ti;
    ASSERT_EQ(api->open_trace(api->ctx, c.name, &cons, &trace, &ti), ETW_ERR_NOT_SUPPORTED);
    char text[300];
    etw_error_text(api, ETW_ERR_NOT_SUPPORTED, text, sizeof text);
    ASSERT_CONTAINS(text, "not implemented by Wine");
    uint8_t buf[64];
    uint32_t size = sizeof buf;
    struct etw_event ev;
    memset(&ev, 0, sizeof ev);
    ASSERT_EQ(api->tdh_event_info(api->ctx, &ev, buf, &size), ETW_ERR_NOT_SUPPORTED);
    ASSERT_EQ(api->tdh_map_info(api->ctx, &ev, "Map", buf, &size), ETW_ERR_NOT_SUPPORTED);
    ASSERT_EQ(api->tdh_providers(api->ctx, buf, &size), ETW_ERR_NOT_SUPPORTED);
    ASSERT_EQ(live_session_stop(&s, NULL), ETW_OK);
    live_session_cfg_free(&c);
    printf("Wine %s: StartTraceW, EnableTraceEx2 x2, ControlTraceW, QueryAllTracesW ran (stubs); "
           "skipped under Wine: OpenTraceW, ProcessTrace, TdhGetEventInformation, "
           "TdhGetEventMapInformation, TdhEnumerateProviders (%s)\n",
           wine, text);
}

TEST(live_windows_live_source_under_wine_fails_cleanly)
{
    const struct etw_api *api = win_api_or_skip();
    if (api->wine_version(api->ctx) == NULL)
        SKIP("Windows proper: would start a real session");
    const char *dir = t_path("%s/c", t_tmpdir());
    t_mkdir(dir);
    t_write_file(t_path("%s/etwhost.json", dir),
                 "{\"sources\": [{\"type\": \"live\", \"session\": {\"name\": \"wine-src\"}, "
                 "\"providers\": [\"{a0c1853b-5c40-4b15-8766-3cf1c58f985a}\"]}], "
                 "\"instances\": [{\"plugin\": \"stdout\"}]}");
    const char *args[] = {"run", "-c", dir, NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.err, "session \"wine-src\": opening it for real-time consumption failed: "
                           "not implemented by Wine");
    t_run_free(&r);
    /* Provider names need TdhEnumerateProviders: refused with a way out, no abort. */
    t_write_file(t_path("%s/etwhost.json", dir),
                 "{\"sources\": [{\"type\": \"live\", \"providers\": "
                 "[\"Microsoft-Windows-PowerShell\"]}], \"instances\": [{\"plugin\": \"stdout\"}]}");
    r = t_etwhost(args, NULL, NULL);
    ASSERT_EQ(r.status, 2);
    ASSERT_CONTAINS(r.err, "give the provider GUID instead");
    t_run_free(&r);
    const char *prov[] = {"providers", NULL};
    r = t_etwhost(prov, NULL, NULL);
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.err, "TdhEnumerateProviders failed: not implemented by Wine");
    t_run_free(&r);
}

/* Poll `sc query NAME` until its STATE line names state, up to ms. */
static int wait_state(const char *name, const char *state, uint32_t ms)
{
    for (uint32_t waited = 0; waited <= ms; waited += 250) {
        const char *q[] = {"sc", "query", name, NULL};
        struct t_run r = t_exec(q, NULL, NULL);
        int ok = strstr(r.out, state) != NULL;
        t_run_free(&r);
        if (ok)
            return 1;
        plat_sleep_ms(250);
    }
    return 0;
}

TEST(live_windows_service_runs_and_stops_gracefully)
{
    win_api_or_skip();
    cfg_global_init();
    const char *dir = t_path("%s/svc", t_tmpdir());
    char out[2048], name[64];
    snprintf(out, sizeof out, "%s", t_path("%s/svc/events.jsonl", t_tmpdir()));
    snprintf(name, sizeof name, "etwhost-test-%u", (unsigned)plat_getpid());
    t_mkdir(dir);
    /* A steady synthetic source into the file sink: the run only ends when the service stops. */
    json_t *conf = json_pack("{s:[{s:s, s:I, s:f}], s:[{s:s, s:s, s:{s:s}}]}", "sources", "type",
                             "synthetic", "count", (json_int_t)100000000, "rate", 500.0,
                             "instances", "plugin", "file", "path",
                             t_path("%s/plugins/file%s", t_build(), plat_dl_suffix()),
                             "settings", "path", out);
    char *text = json_dumps(conf, 0);
    t_write_file(t_path("%s/etwhost.json", dir), text);
    mem_free(text);
    json_decref(conf);
    const char *install[] = {"service", "install", "-c", dir, "--name", name, "--manual", NULL};
    struct t_run r = t_etwhost(install, NULL, NULL);
    if (r.status == 1 && strstr(r.err, "access denied"))
        SKIP("installing services needs Administrator here");
    ASSERT_MSG(r.status == 0, "install: %s", r.err);
    t_run_free(&r);
    const char *start[] = {"sc", "start", name, NULL};
    r = t_exec(start, NULL, NULL);
    t_run_free(&r);
    ASSERT_MSG(wait_state(name, "RUNNING", 20000), "service %s did not run", name);
    /* Let it write, then stop it through the SCM: PLAT_SIG_STOP, drain, flush, STOPPED. */
    size_t lines = 0;
    for (int i = 0; i < 80 && lines < 200; i++) {
        plat_sleep_ms(250);
        char *s = t_read_file(out, NULL);
        lines = s ? t_count_lines(s) : 0;
        mem_free(s);
    }
    ASSERT_MSG(lines >= 200, "only %zu events written by the service", lines);
    const char *stop[] = {"sc", "stop", name, NULL};
    r = t_exec(stop, NULL, NULL);
    t_run_free(&r);
    ASSERT_MSG(wait_state(name, "STOPPED", 30000), "service %s did not stop", name);
    /* Every line complete and valid: the sink was flushed and closed, not killed. */
    char *s = t_read_file(out, NULL);
    ASSERT(s != NULL);
    size_t n = 0;
    for (char *line = s; *line;) {
        char *nl = strchr(line, '\n');
        ASSERT_MSG(nl != NULL, "last line not terminated: the run was cut off");
        json_error_t je;
        json_t *v = json_loadb(line, (size_t)(nl - line), 0, &je);
        ASSERT_MSG(v != NULL, "line %zu is not JSON: %s", n + 1, je.text);
        json_decref(v);
        n++;
        line = nl + 1;
    }
    mem_free(s);
    ASSERT(n >= lines);
    const char *uninstall[] = {"service", "uninstall", "--name", name, NULL};
    r = t_etwhost(uninstall, NULL, NULL);
    ASSERT_MSG(r.status == 0, "uninstall: %s", r.err);
    t_run_free(&r);
    r = t_etwhost(uninstall, NULL, NULL);
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.err, "is not installed");
    t_run_free(&r);
    printf("service %s: %zu events written, stopped through the SCM with every line complete\n",
           name, n);
}
