/*
 * End-to-end tests of the built-in plugins and the SDK example through the
 * real binary: `etwhost run -c DIR` on config folders with a synthetic
 * source.  Outputs are checked against an unfiltered run of the same seed
 * (the synthetic source is deterministic), with the filter's expected
 * result computed independently here from the canonical JSON.
 */
#if !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>
#endif

#include <jansson.h>
#include <zstd.h>

#include "core/err.h"
#include "core/mem.h"
#include "platform/platform.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------------ */

/* A fresh config folder under the test dir with one synthetic source. */
static const char *make_cfg(const char *name, unsigned count, unsigned seed)
{
    static char dirs[4][1024];
    static int next;
    char *dir = dirs[next++ % 4];
    snprintf(dir, sizeof dirs[0], "%s/%s", t_tmpdir(), name);
    t_mkdir(dir);
    t_mkdir(t_path("%s/conf.d", dir));
    t_write_file(t_path("%s/etwhost.json", dir),
                 t_path("{\"sources\": [{\"type\": \"synthetic\", \"count\": %u, \"seed\": %u}]}",
                        count, seed));
    return dir;
}

static void dropin(const char *dir, const char *file, const char *json)
{
    t_write_file(t_path("%s/conf.d/%s", dir, file), json);
}

static struct t_run run_cfg(const char *dir)
{
    const char *args[] = {"run", "-c", dir, "--stats=0", NULL};
    return t_etwhost(args, NULL, NULL);
}

/* Run and require success. */
static struct t_run run_ok(const char *dir)
{
    struct t_run r = run_cfg(dir);
    ASSERT_MSG(r.status == 0, "etwhost run -c %s: status %d\n%s", dir, r.status, r.err);
    return r;
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    ASSERT(d != NULL);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Split text into parsed JSON lines. */
struct lines {
    json_t **j;
    char **text;
    size_t n;
};

static struct lines parse_lines(const char *text)
{
    struct lines l = {NULL, NULL, 0};
    size_t cap = t_count_lines(text) + 1;
    l.j = calloc(cap, sizeof *l.j);
    l.text = calloc(cap, sizeof *l.text);
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        ASSERT_MSG(nl != NULL, "last line has no newline");
        json_error_t je;
        json_t *j = json_loadb(p, (size_t)(nl - p), 0, &je);
        ASSERT_MSG(j != NULL, "line %zu is not JSON: %s", l.n + 1, je.text);
        ASSERT(l.n < cap);
        l.j[l.n] = j;
        l.text[l.n] = dupn(p, (size_t)(nl - p));
        l.n++;
        p = nl + 1;
    }
    return l;
}

static void free_lines(struct lines *l)
{
    for (size_t k = 0; k < l->n; k++) {
        json_decref(l->j[k]);
        free(l->text[k]);
    }
    free(l->j);
    free(l->text);
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static json_int_t jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static json_t *prop(json_t *o, const char *k)
{
    return json_object_get(json_object_get(o, "props"), k);
}

static int low(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

static int icase_eq(const char *a, const char *b)
{
    while (*a && low((unsigned char)*a) == low((unsigned char)*b))
        a++, b++;
    return *a == *b;
}

/* Filtered output must be exactly the reference lines the oracle selects, in order. */
static size_t expect_subset(const struct lines *ref, const struct lines *got,
                            int (*oracle)(json_t *ev))
{
    size_t g = 0;
    for (size_t k = 0; k < ref->n; k++) {
        if (!oracle(ref->j[k]))
            continue;
        ASSERT_MSG(g < got->n, "filter dropped reference line %zu:\n%s", k + 1, ref->text[k]);
        ASSERT_MSG(strcmp(ref->text[k], got->text[g]) == 0,
                   "output line %zu differs from reference line %zu:\n%s\n%s", g + 1, k + 1,
                   got->text[g], ref->text[k]);
        g++;
    }
    ASSERT_MSG(g == got->n, "filter passed %zu lines, the oracle %zu", got->n, g);
    return g;
}

/* The unfiltered reference output of a seed. */
static struct lines reference(unsigned count, unsigned seed)
{
    const char *dir = make_cfg("reference", count, seed);
    dropin(dir, "50-stdout.json", "{\"plugin\": \"stdout\"}");
    struct t_run r = run_ok(dir);
    struct lines l = parse_lines(r.out);
    ASSERT_EQ(l.n, count);
    t_run_free(&r);
    return l;
}

/* "decoded N" from the run summary on stderr. */
static long decoded_count(const char *err)
{
    const char *p = strstr(err, "; decoded ");
    ASSERT_MSG(p != NULL, "no summary in:\n%s", err);
    return strtol(p + 10, NULL, 10);
}

/* ---- stdout ------------------------------------------------------------------ */

TEST(plugin_e2e_stdout_json_and_text)
{
    struct lines ref = reference(400, 3);
    const char *dir = make_cfg("text", 400, 3);
    dropin(dir, "50-stdout.json", "{\"plugin\": \"stdout\", \"settings\": {\"format\": \"text\", "
                                  "\"flush\": \"line\"}}");
    struct t_run r = run_ok(dir);
    ASSERT_EQ(t_count_lines(r.out), 400);
    const char *p = r.out;
    int checked_props = 0;
    for (size_t k = 0; k < ref.n; k++) {
        const char *nl = strchr(p, '\n');
        char *line = dupn(p, (size_t)(nl - p));
        json_t *e = ref.j[k];
        /* Same event, same order: time, provider/id, name, version, level, pid, tid. */
        char head[512];
        snprintf(head, sizeof head, "%s %s/Id=%lld %s v%lld L%lld pid=%lld tid=%lld ",
                 jstr(e, "timestamp"), jstr(e, "provider"), (long long)jint(e, "event_id"),
                 jstr(e, "event_name"), (long long)jint(e, "version"),
                 (long long)jint(e, "level"), (long long)jint(e, "pid"),
                 (long long)jint(e, "tid"));
        ASSERT_MSG(strncmp(line, head, strlen(head)) == 0, "text line %zu:\n%s\nexpected start:\n%s",
                   k + 1, line, head);
        /* Plain-word string properties appear bare, numbers as in JSON. */
        json_t *q = prop(e, "QueryName");
        if (q != NULL) {
            char want[300];
            snprintf(want, sizeof want, " QueryName=%s QueryType=%lld ", json_string_value(q),
                     (long long)json_integer_value(prop(e, "QueryType")));
            ASSERT_CONTAINS(line, want);
            checked_props++;
        }
        ASSERT(strchr(line, '\n') == NULL);
        free(line);
        p = nl + 1;
    }
    ASSERT(checked_props > 10);
    t_run_free(&r);
    free_lines(&ref);
}

TEST(plugin_e2e_stdout_closed_pipe_stops_cleanly)
{
#if defined(_WIN32)
    SKIP("uses a shell pipeline");
#else
    const char *dir = make_cfg("pipe", 500000, 1);
    dropin(dir, "50-stdout.json", "{\"plugin\": \"stdout\"}");
    const char *exe = t_path("%s/etwhost", t_build());
    const char *argv[] = {"bash", "-c",
                          "\"$0\" run -c \"$1\" | head -n 1 >/dev/null; exit ${PIPESTATUS[0]}",
                          exe, dir, NULL};
    struct t_run r = t_exec(argv, NULL, NULL);
    /* Not killed by SIGPIPE (128+13) and not hanging: a clear failure instead. */
    ASSERT_MSG(r.status == 1, "status %d\n%s", r.status, r.err);
    ASSERT_CONTAINS(r.err, "cannot write: the reader closed the pipe (EPIPE); sink stopped");
    t_run_free(&r);
#endif
}

/* ---- filter ------------------------------------------------------------------ */

static int oracle_header(json_t *e)
{
    return strncmp(jstr(e, "provider"), "Etwhost-Synthetic-", 18) == 0 &&
           jint(e, "event_id") != 5 && jint(e, "level") <= 4;
}

static int oracle_props(json_t *e)
{
    json_t *lat = prop(e, "LatencyMs");
    if (strcmp(jstr(e, "provider"), "Etwhost-Synthetic-Dns") == 0 && lat != NULL &&
        json_number_value(lat) > 50)
        return 1;
    const char *img = json_string_value(prop(e, "ImageName"));
    if (img != NULL) {
        const char *base = strrchr(img, '\\');
        if (icase_eq(base ? base + 1 : img, "svchost.exe"))
            return 1;
    }
    /* --job NNNNN with a five-digit number from 10000 to 39999 */
    const char *cmd = json_string_value(prop(e, "CommandLine"));
    const char *job = cmd ? strstr(cmd, "--job ") : NULL;
    if (job == NULL)
        return 0;
    char *end;
    long n = strtol(job + 6, &end, 10);
    return *end == ' ' && end - (job + 6) == 5 && n >= 10000 && n <= 39999;
}

static int oracle_exclude_pid(json_t *e)
{
    json_int_t pid = jint(e, "pid");
    return !(pid >= 1000 && pid <= 1150);
}

TEST(plugin_e2e_filter_matches_oracle)
{
    struct lines ref = reference(3000, 11);
    static const struct {
        const char *settings;
        int (*oracle)(json_t *);
        const char *stage;
    } cases[] = {
        {"{\"rule\": {\"and\": [{\"provider\": \"Etwhost-Synthetic-*\"}, "
         "{\"not\": {\"event_id\": [5]}}, {\"level_max\": 4}]}}",
         oracle_header, "record"},
        {"{\"rule\": {\"or\": [{\"provider\": \"Etwhost-Synthetic-Dns\", \"prop\": \"LatencyMs\", "
         "\"gt\": 50}, {\"process_name\": \"SVCHOST.exe\"}, {\"prop\": \"CommandLine\", "
         "\"regex\": \"(?i)--JOB [1-3][0-9]{4} \"}]}}",
         oracle_props, "event"},
        {"{\"mode\": \"exclude\", \"rule\": {\"pid\": \"1000-1150\"}}", oracle_exclude_pid,
         "record"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *dir = make_cfg(t_path("filter%zu", c), 3000, 11);
        dropin(dir, "10-filter.json",
               t_path("{\"name\": \"f\", \"plugin\": \"filter\", \"settings\": %s}",
                      cases[c].settings));
        dropin(dir, "50-stdout.json", "{\"plugin\": \"stdout\"}");
        struct t_run r = run_ok(dir);
        struct lines got = parse_lines(r.out);
        size_t n = expect_subset(&ref, &got, cases[c].oracle);
        ASSERT_MSG(n > 50 && n < 2950, "case %zu selects %zu of 3000: not a useful test", c, n);
        ASSERT_CONTAINS(r.err, t_path("\"stage\":\"%s\"", cases[c].stage));
        /* At the record stage, dropped events are never decoded. */
        if (strcmp(cases[c].stage, "record") == 0)
            ASSERT_EQ(decoded_count(r.err), (long)n);
        else
            ASSERT_EQ(decoded_count(r.err), 3000);
        free_lines(&got);
        t_run_free(&r);
    }
    free_lines(&ref);
}

TEST(plugin_e2e_filter_config_errors)
{
    const char *dir = make_cfg("bad", 10, 1);
    dropin(dir, "10-filter.json",
           "{\"name\": \"f\", \"plugin\": \"filter\", \"settings\": {\"rule\": {\"and\": ["
           "{\"provider\": \"Microsoft-Windows-PowerShell\"}, {\"not\": {\"event_id\": [4103]}}, "
           "{\"or\": [{\"level_max\": 3}, {\"prop\": \"ScriptBlockText\", \"regx\": \"x\"}]}]}}}");
    struct t_run r = run_cfg(dir);
    ASSERT_EQ(r.status, 2);
    ASSERT_CONTAINS(r.err, "rule.and[2].or[1]: unknown key \"regx\" (did you mean \"regex\"?)");
    t_run_free(&r);
    dropin(dir, "10-filter.json",
           "{\"name\": \"f\", \"plugin\": \"filter\", \"settings\": {\"rules\": {}}}");
    r = run_cfg(dir);
    ASSERT_EQ(r.status, 2);
    ASSERT_CONTAINS(r.err, "unknown key \"rules\"");
    ASSERT_CONTAINS(r.err, "(did you mean \"rule\"?)");
    t_run_free(&r);
}

/* ---- file -------------------------------------------------------------------- */

static char *unzstd(const char *path, size_t *out_len)
{
    size_t zl;
    char *z = t_read_file(path, &zl);
    ASSERT(z != NULL);
    ZSTD_DCtx *d = ZSTD_createDCtx();
    size_t cap = 1 << 16, len = 0, r = 1;
    char *out = malloc(cap);
    ZSTD_inBuffer in = {z, zl, 0};
    while (in.pos < in.size) {
        if (cap - len < ZSTD_DStreamOutSize())
            out = realloc(out, cap *= 2);
        ZSTD_outBuffer o = {out + len, cap - len, 0};
        r = ZSTD_decompressStream(d, &o, &in);
        ASSERT_MSG(!ZSTD_isError(r), "%s: %s", path, ZSTD_getErrorName(r));
        len += o.pos;
    }
    ASSERT_MSG(r == 0, "%s: truncated zstd frame", path);
    ZSTD_freeDCtx(d);
    mem_free(z);
    *out_len = len;
    return out;
}

/* All rotated files (in name order = rotation order), then the live file, as one text. */
static char *collect(const char *dir, size_t *nfiles)
{
    char **names;
    size_t n;
    struct errbuf eb;
    ASSERT_OK(plat_list_dir(dir, NULL, &names, &n, &eb));
    size_t cap = 1 << 20, len = 0;
    char *all = malloc(cap);
    *nfiles = 0;
    for (size_t k = 0; k <= n; k++) {
        const char *name = k < n ? names[k] : "events.jsonl";
        if (k < n && strncmp(name, "events-", 7) != 0)
            continue;
        size_t fl;
        int z = strstr(name, ".zst") != NULL;
        char *t = z ? unzstd(t_path("%s/%s", dir, name), &fl)
                    : t_read_file(t_path("%s/%s", dir, name), &fl);
        ASSERT(t != NULL);
        while (len + fl + 1 > cap)
            all = realloc(all, cap *= 2);
        memcpy(all + len, t, fl);
        len += fl;
        if (z)
            free(t);
        else
            mem_free(t);
        (*nfiles)++;
    }
    all[len] = '\0';
    plat_free_list(names, n);
    return all;
}

TEST(plugin_e2e_file_sink_equals_stdout)
{
    const char *dir = make_cfg("file", 5000, 5);
    char out[1024];
    snprintf(out, sizeof out, "%s/out", t_tmpdir());
    t_mkdir(out);
    dropin(dir, "50-stdout.json", "{\"plugin\": \"stdout\"}");
    dropin(dir, "60-file.json",
           t_path("{\"plugin\": \"file\", \"settings\": {\"path\": \"%s/events.jsonl\", "
                  "\"rotate_bytes\": \"256K\", \"keep\": 0, \"compress\": \"zstd\", "
                  "\"fsync\": \"batch\"}}",
                  out));
    struct t_run r = run_ok(dir);
    size_t nfiles;
    char *all = collect(out, &nfiles);
    ASSERT_MSG(nfiles > 5, "only %zu files: rotation did not happen", nfiles);
    /* Byte for byte what the stdout sink printed: no line lost, torn or repeated. */
    ASSERT_MSG(strcmp(all, r.out) == 0, "file content differs from stdout (%zu vs %zu bytes)",
               strlen(all), strlen(r.out));
    ASSERT_CONTAINS(r.err, "\"compressed\":");
    ASSERT_CONTAINS(r.err, "\"compress_pending\":0");
    free(all);
    t_run_free(&r);

    /* A second run appends to the live file and continues the rotation sequence. */
    struct t_run r2 = run_ok(dir);
    size_t nfiles2;
    char *all2 = collect(out, &nfiles2);
    ASSERT(nfiles2 > nfiles);
    ASSERT_EQ(t_count_lines(all2), 10000);
    free(all2);
    t_run_free(&r2);
}

#if !defined(_WIN32)
struct swap {
    const char *path;
};

/* After a while the full device "gets space": the path becomes a regular file. */
static void swap_later(void *arg)
{
    struct swap *s = arg;
    plat_sleep_ms(1500);
    unlink(s->path);
}
#endif

TEST(plugin_e2e_file_full_device_retry_and_give_up)
{
#if defined(_WIN32)
    SKIP("needs /dev/full and symlink() (POSIX)");
#else
    if (access("/dev/full", W_OK) != 0)
        SKIP("no /dev/full");
    struct lines ref = reference(500, 9);
    const char *dir = make_cfg("full", 500, 9);
    const char *path = t_path("%s/events.jsonl", t_tmpdir());
    char path_copy[1024];
    snprintf(path_copy, sizeof path_copy, "%s", path);
    ASSERT_OK(symlink("/dev/full", path_copy));
    dropin(dir, "60-file.json",
           t_path("{\"plugin\": \"file\", \"settings\": {\"path\": \"%s\"}}", path_copy));
    struct swap sw = {path_copy};
    struct plat_thread th;
    ASSERT_OK(plat_thread_start(&th, swap_later, &sw));
    uint64_t t0 = plat_monotonic_ns();
    struct t_run r = run_ok(dir);
    plat_thread_join(&th);
    ASSERT(plat_monotonic_ns() - t0 > 1000000000u);
    ASSERT_CONTAINS(r.err, "No space left on device; will retry");
    ASSERT_CONTAINS(r.err, "again after");
    size_t len;
    char *text = t_read_file(path_copy, &len);
    ASSERT(text != NULL);
    struct lines got = parse_lines(text);
    ASSERT_EQ(got.n, 500);
    for (size_t k = 0; k < 500; k++)
        ASSERT_STREQ(got.text[k], ref.text[k]);
    free_lines(&got);
    mem_free(text);
    t_run_free(&r);

    /* With fail_after_seconds the run stops with a clear error instead. */
    ASSERT_OK(unlink(path_copy));
    ASSERT_OK(symlink("/dev/full", path_copy));
    dropin(dir, "60-file.json",
           t_path("{\"plugin\": \"file\", \"settings\": {\"path\": \"%s\", "
                  "\"fail_after_seconds\": 1}}",
                  path_copy));
    r = run_cfg(dir);
    ASSERT_MSG(r.status != 0, "run succeeded against a full device");
    ASSERT_CONTAINS(r.err, "giving up on");
    ASSERT_CONTAINS(r.err, "after 1 s of write errors (last: No space left on device)");
    t_run_free(&r);
    free_lines(&ref);
#endif
}

/* ---- SDK example ------------------------------------------------------------------- */

static int oracle_level3(json_t *e)
{
    return jint(e, "level") <= 3;
}

/* Installed as a third party would: library copied into DIR/plugins, one drop-in. */
TEST(plugin_e2e_sdk_example_as_third_party)
{
    const char *so = t_path("%s/sdk-examples/level%s", t_build(), plat_dl_suffix());
    /* A local copy: t_path's ring of buffers is reused by the calls below. */
    char installed[64];
    snprintf(installed, sizeof installed, "plugins/level%s", plat_dl_suffix());
    size_t len;
    char *lib = t_read_file(so, &len);
    ASSERT_MSG(lib != NULL, "%s not built", so);
    struct lines ref = reference(2000, 4);
    for (int tagged = 0; tagged < 2; tagged++) {
        const char *dir = make_cfg(tagged ? "sdk-tag" : "sdk", 2000, 4);
        t_mkdir(t_path("%s/plugins", dir));
        t_write_bytes(t_path("%s/%s", dir, installed), lib, len);
        dropin(dir, "10-level.json",
               tagged ? "{\"plugin\": \"level\", \"settings\": {\"max\": 3, \"tag\": \"lab\"}}"
                      : "{\"plugin\": \"level\", \"settings\": {\"max\": 3}}");
        dropin(dir, "50-stdout.json", "{\"plugin\": \"stdout\"}");
        struct t_run r = run_ok(dir);
        struct lines got = parse_lines(r.out);
        size_t g = 0;
        for (size_t k = 0; k < ref.n; k++) {
            if (!oracle_level3(ref.j[k]))
                continue;
            ASSERT(g < got.n);
            json_t *fields = json_object_get(got.j[g], "fields");
            if (tagged) {
                ASSERT_STREQ(jstr(fields, "tag"), "lab");
                json_object_del(got.j[g], "fields");
            } else {
                ASSERT(fields == NULL);
            }
            ASSERT_MSG(json_equal(got.j[g], ref.j[k]), "line %zu differs from reference %zu",
                       g + 1, k + 1);
            g++;
        }
        ASSERT_EQ(g, got.n);
        ASSERT(g > 100 && g < 1900);
        /* Untagged it only needs the header and runs before decoding. */
        ASSERT_EQ(decoded_count(r.err), tagged ? 2000 : (long)g);
        free_lines(&got);
        t_run_free(&r);
    }
    /* Its settings are checked like any plugin's. */
    const char *dir = make_cfg("sdk-bad", 10, 4);
    t_mkdir(t_path("%s/plugins", dir));
    t_write_bytes(t_path("%s/%s", dir, installed), lib, len);
    dropin(dir, "10-level.json", "{\"plugin\": \"level\", \"settings\": {\"max\": 300}}");
    struct t_run r = run_cfg(dir);
    ASSERT_EQ(r.status, 2);
    ASSERT_CONTAINS(r.err, "max: expected a level 0-255");
    t_run_free(&r);
    mem_free(lib);
    free_lines(&ref);
}

/*
 * The tutorial's build step, verbatim: the SDK installed into a prefix the
 * way `make install` lays it out (header + etwhost-sdk.pc from the .pc.in),
 * then `cc ... $(pkg-config --cflags etwhost-sdk)`, then the library is
 * checked and run by the host.
 */
TEST(plugin_e2e_sdk_tutorial_build)
{
#if defined(_WIN32)
    SKIP("uses cc and pkg-config from a POSIX shell");
#else
    char prefix[1024];
    snprintf(prefix, sizeof prefix, "%s/prefix", t_tmpdir());
    t_mkdir(prefix);
    t_mkdir(t_path("%s/include", prefix));
    t_mkdir(t_path("%s/include/etwhost", prefix));
    t_mkdir(t_path("%s/lib", prefix));
    t_mkdir(t_path("%s/lib/pkgconfig", prefix));
    size_t len;
    char *hdr = t_read_file(t_path("%s/sdk/include/etwhost/plugin.h", t_root()), &len);
    ASSERT(hdr != NULL);
    t_write_bytes(t_path("%s/include/etwhost/plugin.h", prefix), hdr, len);
    mem_free(hdr);
    /* The same substitution as the Makefile's install target. */
    char script[4096];
    snprintf(script, sizeof script,
             "sed -e 's|@PREFIX@|%s|g' -e 's|@VERSION@|0.1.0|g' %s/sdk/etwhost-sdk.pc.in "
             "> %s/lib/pkgconfig/etwhost-sdk.pc && "
             "export PKG_CONFIG_PATH=%s/lib/pkgconfig && "
             "pkg-config --cflags etwhost-sdk && pkg-config --modversion etwhost-sdk && "
             "cc -std=c11 -O2 -Wall -shared -fPIC -fvisibility=hidden "
             "$(pkg-config --cflags etwhost-sdk) -o %s/level.so %s/sdk/examples/level/level.c",
             prefix, t_root(), prefix, prefix, t_tmpdir(), t_root());
    const char *argv[] = {"sh", "-c", script, NULL};
    struct t_run r = t_exec(argv, NULL, NULL);
    if (r.status == 127 || (r.err && strstr(r.err, "pkg-config: not found")))
        SKIP("no pkg-config or cc: %s", r.err);
    ASSERT_MSG(r.status == 0, "tutorial build failed (%d):\n%s", r.status, r.err);
    /* pkgconf ends --cflags with a space, pkg-config does not: compare the words. */
    char want[1200];
    snprintf(want, sizeof want, "-I%s/include", prefix);
    ASSERT_MSG(strncmp(r.out, want, strlen(want)) == 0 &&
                   (r.out[strlen(want)] == ' ' || r.out[strlen(want)] == '\n'),
               "pkg-config --cflags: %s", r.out);
    ASSERT_CONTAINS(r.out, "\n0.1.0\n");
    t_run_free(&r);

    const char *so = t_path("%s/level.so", t_tmpdir());
    const char *check[] = {"plugins", "--check", so, NULL};
    r = t_etwhost(check, NULL, NULL);
    ASSERT_MSG(r.status == 0, "%s", r.err);
    ASSERT_CONTAINS(r.out, "level 1.0.0, filter");
    t_run_free(&r);

    char *lib = t_read_file(so, &len);
    ASSERT(lib != NULL);
    const char *dir = make_cfg("tutorial", 1000, 2);
    t_mkdir(t_path("%s/plugins", dir));
    t_write_bytes(t_path("%s/plugins/level.so", dir), lib, len);
    mem_free(lib);
    dropin(dir, "10-level.json", "{\"plugin\": \"level\", \"settings\": {\"max\": 3}}");
    dropin(dir, "50-stdout.json", "{\"plugin\": \"stdout\"}");
    r = run_ok(dir);
    struct lines got = parse_lines(r.out);
    ASSERT(got.n > 50);
    for (size_t k = 0; k < got.n; k++)
        ASSERT(jint(got.j[k], "level") <= 3);
    free_lines(&got);
    t_run_free(&r);
#endif
}

static int oracle_powershell(json_t *e)
{
    return strcmp(jstr(e, "provider_guid"), "a0c1853b-5c40-4b15-8766-3cf1c58f985a") == 0 &&
           jint(e, "event_id") != 7939;
}

/*
 * A real trace (PowerShell, recorded on Windows): no schema for the provider
 * is available, so its name is unknown and the GUID selects it.  The record
 * stage and the event stage must select the same events.
 */
TEST(plugin_e2e_filter_on_corpus_trace)
{
    const char *corpus = t_corpus_or_skip();
    char etl[1024];
    snprintf(etl, sizeof etl, "%s/etl/krabsetw__powershell.etl", corpus);
    if (!plat_is_file(etl))
        SKIP("%s is not in the corpus", etl);
    const char *src = t_path("{\"sources\": [{\"type\": \"etl\", \"path\": \"%s\"}]}", etl);
    char srcj[1200];
    snprintf(srcj, sizeof srcj, "%s", src);

    const char *rdir = make_cfg("corpus-ref", 1, 1);
    t_write_file(t_path("%s/etwhost.json", rdir), srcj);
    dropin(rdir, "50-stdout.json", "{\"plugin\": \"stdout\"}");
    struct t_run r = run_ok(rdir);
    struct lines ref = parse_lines(r.out);
    t_run_free(&r);
    ASSERT(ref.n > 100);

    char *outs[2];
    for (int st = 0; st < 2; st++) {
        const char *dir = make_cfg(st ? "corpus-event" : "corpus-record", 1, 1);
        t_write_file(t_path("%s/etwhost.json", dir), srcj);
        dropin(dir, "10-f.json",
               t_path("{\"name\": \"f\", \"plugin\": \"filter\", \"settings\": {\"stage\": \"%s\", "
                      "\"rule\": {\"and\": [{\"provider\": "
                      "\"{A0C1853B-5C40-4B15-8766-3CF1C58F985A}\"}, "
                      "{\"not\": {\"event_id\": 7939}}]}}}",
                      st ? "event" : "auto"));
        dropin(dir, "50-stdout.json", "{\"plugin\": \"stdout\"}");
        r = run_ok(dir);
        struct lines got = parse_lines(r.out);
        size_t n = expect_subset(&ref, &got, oracle_powershell);
        ASSERT(n > 50 && n < ref.n);
        ASSERT_CONTAINS(r.err, st ? "\"stage\":\"event\"" : "\"stage\":\"record\"");
        free_lines(&got);
        outs[st] = r.out;
        r.out = NULL;
        t_run_free(&r);
    }
    ASSERT_STREQ(outs[0], outs[1]);
    mem_free(outs[0]);
    mem_free(outs[1]);
    free_lines(&ref);
}
