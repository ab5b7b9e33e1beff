/*
 * Tests of the stdout sink plugin (plugins/stdout) through the built
 * stdout.so and a stand-in host: JSON lines, the compact text format, and a
 * closed pipe.  Standard output of the test process is redirected to a file
 * (or a pipe) for the duration of each test.
 */
#if !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <unistd.h>
#define t_dup dup
#define t_dup2 dup2
#define t_close close
#else
#include <io.h>
#define t_dup _dup
#define t_dup2 _dup2
#define t_close _close
#endif

#include "core/mem.h"
#include "test.h"
#include "test_plugin_fakehost.h"

static void *make_sink(struct fake_host *fh, const char *settings)
{
    void *inst = NULL;
    char err[512];
    etwhost_status rc = fh_create(fh, settings, &inst, err, sizeof err);
    ASSERT_MSG(rc == ETWHOST_OK, "create failed: %s", err);
    return inst;
}

static int saved_stdout = -1;

/* Send stdout to a file (failures must still be visible: restored by captured()). */
static const char *capture_stdout(void)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/stdout.txt", t_tmpdir());
    fflush(stdout);
    saved_stdout = t_dup(1);
    ASSERT(saved_stdout >= 0);
    ASSERT(freopen(path, "w", stdout) != NULL);
    return path;
}

static char *captured(const char *path)
{
    fflush(stdout);
    ASSERT(t_dup2(saved_stdout, 1) != -1);
    t_close(saved_stdout);
    size_t len;
    char *t = t_read_file(path, &len);
    ASSERT(t != NULL);
    return t;
}

static void body_plugin_stdout_json_lines(void)
{
    struct fake_host fh;
    fh_init(&fh, "stdout");
    ASSERT_EQ(fh.desc->kind, ETWHOST_KIND_SINK);
    const char *path = capture_stdout();
    void *s = make_sink(&fh, "{\"flush\":\"line\"}");
    struct fake_event ev[3];
    const etwhost_event *ptr[3];
    for (int k = 0; k < 3; k++) {
        fev_init(&ev[k], "P", (uint16_t)k, 4);
        char js[64];
        snprintf(js, sizeof js, "{\"n\":%d,\"s\":\"a b\"}", k);
        fev_json(&ev[k], js);
        ptr[k] = FEV(&ev[k]);
    }
    uint32_t acc1 = 0, acc2 = 0;
    etwhost_status rc1 = fh.desc->write(s, ptr, 3, &acc1);
    ev[1].json_fail = 1;
    etwhost_status rc2 = fh.desc->write(s, ptr, 3, &acc2);
    char err[128];
    etwhost_status rc3 = fh.desc->close(s, err, sizeof err);
    char *out = captured(path);
    ASSERT_EQ(rc1, ETWHOST_OK);
    ASSERT_EQ(acc1, 3);
    ASSERT_EQ(rc2, ETWHOST_OK);
    ASSERT_EQ(acc2, 3);
    ASSERT_OK(rc3);
    char stats[256];
    size_t need;
    ASSERT_OK(fh.desc->stats(s, stats, sizeof stats, &need));
    ASSERT_STREQ(stats, "{\"format\":\"json\",\"lines\":5,\"bytes\":90,\"skipped_events\":1}");
    ASSERT_EQ(fh_counter(&fh, "lines"), 5);
    fh.desc->destroy(s);
    ASSERT_STREQ(out, "{\"n\":0,\"s\":\"a b\"}\n{\"n\":1,\"s\":\"a b\"}\n{\"n\":2,\"s\":\"a b\"}\n"
                      "{\"n\":0,\"s\":\"a b\"}\n{\"n\":2,\"s\":\"a b\"}\n");
    mem_free(out);
    fh_free(&fh);
}

static void body_plugin_stdout_text_format(void)
{
    struct fake_host fh;
    fh_init(&fh, "stdout");
    const char *path = capture_stdout();
    void *s = make_sink(&fh, "{\"format\":\"text\"}");
    struct fake_event e;
    fev_init(&e, "Microsoft-Windows-PowerShell", 4104, 4);
    e.hdr.version = 1;
    e.hdr.pid = 1234;
    e.hdr.tid = 5678;
    fev_str(&e, "ScriptBlockText", "Get-Item \"C:\\x\"\nline2");
    fev_int(&e, "MessageNumber", ETWHOST_PT_I32, -3);
    fev_str(&e, "Path", "C:\\Windows\\System32");
    fev_str(&e, "Empty", "");
    etwhost_prop *flags = fev_add(&e, "Flags", ETWHOST_PT_U32);
    flags->num.u = 3;
    flags->map_text = "Read|Write";
    /* Version={Major=10 Minor=0} Exports=[a b] as a struct and an array. */
    etwhost_prop *ver = fev_add(&e, "Version", ETWHOST_PT_STRUCT);
    ver->count = 2;
    uint32_t vi = e.nprops - 1;
    fev_add(&e, "Major", ETWHOST_PT_U16)->num.u = 10;
    fev_add(&e, "Minor", ETWHOST_PT_U16)->num.u = 0;
    e.props[vi + 1].parent = e.props[vi + 2].parent = vi;
    etwhost_prop *arr = fev_add(&e, "Exports", ETWHOST_PT_ARRAY);
    arr->count = 2;
    uint32_t ai = e.nprops - 1;
    etwhost_prop *a0 = fev_add(&e, "", ETWHOST_PT_STRING);
    a0->data = (const uint8_t *)"Init";
    a0->size = 4;
    etwhost_prop *a1 = fev_add(&e, "", ETWHOST_PT_STRING);
    a1->data = (const uint8_t *)"Run Now";
    a1->size = 7;
    e.props[ai + 1].parent = e.props[ai + 2].parent = ai;
    fev_add(&e, "Ptr", ETWHOST_PT_POINTER)->num.u = 0x7ff6a000;
    etwhost_prop *hx = fev_add(&e, "Mask", ETWHOST_PT_U64);
    hx->num.u = 0xff;
    hx->format = ETWHOST_FMT_HEX;

    /* Header-only variants: no provider name, event name, no pid, decode states. */
    struct fake_event f;
    fev_init(&f, "", 7, 2);
    f.hdr.provider_guid.data1 = 0x22fb2cd6;
    f.hdr.provider_guid.data2 = 0x0e7b;
    f.hdr.provider_guid.data3 = 0x422b;
    memcpy(f.hdr.provider_guid.data4, "\xa0\xc7\x2f\xad\x1f\xd0\xe7\x16", 8);
    f.hdr.event_name = "ProcessStart";
    f.hdr.flags = ETWHOST_EVF_NO_PID;
    f.hdr.decode_status = ETWHOST_DECODE_NONE;
    f.hdr.timestamp = 116444736000000000LL;
    struct fake_event g;
    fev_init(&g, "Etwhost-Synthetic-Dns", 3, 4);
    g.hdr.decode_status = ETWHOST_DECODE_PARTIAL;
    g.hdr.timestamp = 125963423999999990LL;
    fev_f64(&g, "LatencyMs", 12.5);
    struct fake_event h;
    fev_init(&h, "P", 1, 5);
    h.hdr.timestamp = 157520160010000000LL;

    const etwhost_event *ptr[4] = {FEV(&e), FEV(&f), FEV(&g), FEV(&h)};
    uint32_t acc = 0;
    etwhost_status rc = fh.desc->write(s, ptr, 4, &acc);
    char err[128];
    etwhost_status rc2 = fh.desc->close(s, err, sizeof err);
    fh.desc->destroy(s);
    char *out = captured(path);
    ASSERT_EQ(rc, ETWHOST_OK);
    ASSERT_EQ(acc, 4);
    ASSERT_OK(rc2);
    ASSERT_STREQ(out,
                 "2023-03-29T15:12:38.0175449Z Microsoft-Windows-PowerShell/Id=4104 v1 L4 "
                 "pid=1234 tid=5678 ScriptBlockText=\"Get-Item \\\"C:\\x\\\"\\nline2\" "
                 "MessageNumber=-3 Path=C:\\Windows\\System32 Empty=\"\" Flags=Read|Write "
                 "Version={Major=10 Minor=0} Exports=[Init \"Run Now\"] Ptr=0x7ff6a000 "
                 "Mask=0xff\n"
                 "1970-01-01T00:00:00.0000000Z {22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716}/Id=7 "
                 "ProcessStart v0 L2 decode=none raw_bytes=0\n"
                 "2000-02-29T23:59:59.9999990Z Etwhost-Synthetic-Dns/Id=3 v0 L4 pid=0 tid=0 "
                 "LatencyMs=12.5 decode=partial\n"
                 "2100-03-01T00:00:01.0000000Z P/Id=1 v0 L5 pid=0 tid=0\n");
    mem_free(out);
    fh_free(&fh);
}

TEST(plugin_stdout_settings_errors)
{
    struct fake_host fh;
    fh_init(&fh, "stdout");
    void *inst;
    char err[256];
    ASSERT_EQ(fh_create(&fh, "{\"format\":\"xml\"}", &inst, err, sizeof err), ETWHOST_ERR_CONFIG);
    ASSERT_STREQ(err, "format: unknown value \"xml\" (expected \"json\" or \"text\")");
    ASSERT_EQ(fh_create(&fh, "{\"flush\":1}", &inst, err, sizeof err), ETWHOST_ERR_CONFIG);
    ASSERT_STREQ(err, "flush: expected a string (\"batch\" or \"line\")");
    ASSERT_EQ(fh_create(&fh, "{\"fromat\":\"json\"}", &inst, err, sizeof err),
              ETWHOST_ERR_CONFIG);
    fh_free(&fh);
}

#if !defined(_WIN32)
/* A reader that went away: EPIPE (SIGPIPE ignored, as the host does) is fatal, not a crash. */
static void body_plugin_stdout_closed_pipe_is_fatal(void)
{
    struct fake_host fh;
    fh_init(&fh, "stdout");
    signal(SIGPIPE, SIG_IGN);
    int fds[2];
    ASSERT_OK(pipe(fds));
    close(fds[0]);
    fflush(stdout);
    ASSERT(dup2(fds[1], 1) == 1);
    close(fds[1]);
    void *s = make_sink(&fh, "{}");
    struct fake_event e;
    fev_init(&e, "P", 1, 4);
    const etwhost_event *ptr[1] = {FEV(&e)};
    uint32_t acc = 9;
    ASSERT_EQ(fh.desc->write(s, ptr, 1, &acc), ETWHOST_ERR_FATAL);
    ASSERT_EQ(acc, 0);
    ASSERT_CONTAINS(fh.log, "cannot write: the reader closed the pipe (EPIPE); sink stopped");
    ASSERT_EQ(fh.desc->write(s, ptr, 1, &acc), ETWHOST_ERR_FATAL);
    char err[256];
    ASSERT_EQ(fh.desc->close(s, err, sizeof err), ETWHOST_OK);
    fh.desc->destroy(s);
    fh_free(&fh);
}
#endif

TEST(plugin_stdout_json_lines)
{
    body_plugin_stdout_json_lines();
}

TEST(plugin_stdout_text_format)
{
    body_plugin_stdout_text_format();
}

TEST(plugin_stdout_closed_pipe_is_fatal)
{
#if defined(_WIN32)
    SKIP("needs pipe() and SIGPIPE (POSIX)");
#else
    body_plugin_stdout_closed_pipe_is_fatal();
#endif
}
