/*
 * Tests of the file sink plugin (plugins/file) through the built file.so
 * and a stand-in host: appending, line integrity under real write failures
 * (a full device, a file size limit), rotation by size and age, retention,
 * zstd of rotated files, restart behaviour and throughput.
 */
#if defined(__linux__)
#define _GNU_SOURCE /* fallocate */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#endif
#if !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#endif

#include <jansson.h>
#include <zstd.h>

#include "core/err.h"
#include "core/mem.h"
#include "platform/platform.h"
#include "test.h"
#include "test_plugin_fakehost.h"

/* n events whose JSON lines are {"seq":first+k,"pad":"xxx..."} of about 'size' bytes. */
struct evs {
    struct fake_event *ev;
    const etwhost_event **ptr;
    uint32_t n;
};

static struct evs make_events(uint32_t n, uint32_t first, size_t size)
{
    struct evs e;
    e.n = n;
    e.ev = calloc(n, sizeof *e.ev);
    e.ptr = calloc(n, sizeof *e.ptr);
    ASSERT(e.ev != NULL && e.ptr != NULL);
    for (uint32_t k = 0; k < n; k++) {
        fev_init(&e.ev[k], "P", 1, 4);
        /* Pad so that every line, newline included, is exactly 'size' bytes. */
        char head[64], pad[1800];
        int hl = snprintf(head, sizeof head, "{\"seq\":%u,\"pad\":\"", (unsigned)(first + k));
        size_t pl = size > (size_t)hl + 3 ? size - (size_t)hl - 3 : 0;
        ASSERT(pl < sizeof pad);
        memset(pad, 'x', pl);
        pad[pl] = '\0';
        char js[2048];
        snprintf(js, sizeof js, "%s%s\"}", head, pad);
        fev_json(&e.ev[k], js);
        e.ptr[k] = FEV(&e.ev[k]);
    }
    return e;
}

static void free_events(struct evs *e)
{
    free(e->ev);
    free(e->ptr);
}

static void *make_sink(struct fake_host *fh, const char *settings)
{
    void *inst = NULL;
    char err[512];
    etwhost_status rc = fh_create(fh, settings, &inst, err, sizeof err);
    ASSERT_MSG(rc == ETWHOST_OK, "create failed: %s\n  settings: %s", err, settings);
    return inst;
}

static void write_all(struct fake_host *fh, void *inst, const struct evs *e, uint32_t batch)
{
    for (uint32_t i = 0; i < e->n; i += batch) {
        uint32_t n = e->n - i < batch ? e->n - i : batch;
        uint32_t acc = 0;
        etwhost_status rc = fh->desc->write(inst, e->ptr + i, n, &acc);
        ASSERT_EQ(rc, ETWHOST_OK);
        ASSERT_EQ(acc, n);
    }
}

static void close_sink(struct fake_host *fh, void *inst)
{
    char err[256] = "";
    etwhost_status rc = fh->desc->close(inst, err, sizeof err);
    ASSERT_MSG(rc == ETWHOST_OK, "close: %d %s", (int)rc, err);
    fh->desc->destroy(inst);
}

/*
 * Check that text is whole JSON lines with consecutive "seq" values starting
 * at *next; advances *next.  Returns the number of lines.
 */
static size_t check_lines(const char *text, size_t len, uint32_t *next)
{
    size_t lines = 0;
    const char *p = text, *end = text + len;
    ASSERT_MSG(len == 0 || text[len - 1] == '\n', "text does not end with a newline");
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        ASSERT(nl != NULL);
        json_error_t je;
        json_t *j = json_loadb(p, (size_t)(nl - p), 0, &je);
        ASSERT_MSG(j != NULL, "line %zu is not JSON (%s): %.60s", lines + 1, je.text, p);
        json_int_t seq = json_integer_value(json_object_get(j, "seq"));
        ASSERT_MSG((uint32_t)seq == *next, "line %zu has seq %lld, expected %u", lines + 1,
                   (long long)seq, (unsigned)*next);
        (*next)++;
        json_decref(j);
        lines++;
        p = nl + 1;
    }
    return lines;
}

static char *read_file(const char *path, size_t *len)
{
    char *t = t_read_file(path, len);
    ASSERT_MSG(t != NULL, "cannot read %s", path);
    return t;
}

/* The file at path is exactly want whole JSON lines with "seq" first, first + 1, ... */
static void assert_lines(const char *path, uint32_t first, size_t want)
{
    size_t len;
    char *text = read_file(path, &len);
    uint32_t next = first;
    ASSERT_EQ(check_lines(text, len, &next), want);
    mem_free(text);
}

/* Decompress a whole .zst file with libzstd (streaming: sizes are not in the frame). */
static char *unzstd(const char *path, size_t *out_len)
{
    size_t zl;
    char *z = read_file(path, &zl);
    ZSTD_DCtx *d = ZSTD_createDCtx();
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    ZSTD_inBuffer in = {z, zl, 0};
    size_t r = 1;
    while (in.pos < in.size) {
        if (cap - len < ZSTD_DStreamOutSize()) {
            cap *= 2;
            out = realloc(out, cap);
        }
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

/* Names in dir starting with prefix (sorted). */
static size_t list(const char *dir, const char *prefix, char names[][128], size_t max)
{
    char **all;
    size_t n, k = 0;
    struct errbuf eb;
    ASSERT_OK(plat_list_dir(dir, NULL, &all, &n, &eb));
    for (size_t i = 0; i < n; i++) {
        if (strncmp(all[i], prefix, strlen(prefix)) != 0)
            continue;
        ASSERT(k < max);
        snprintf(names[k++], 128, "%s", all[i]);
    }
    plat_free_list(all, n);
    return k;
}

/* Is name "events-YYYYMMDDTHHMMSSZ-NNNNNN.jsonl[.zst]"?  Returns its seq or -1. */
static long long rotated_seq(const char *name, int zst)
{
    int y, mo, d, h, mi, s;
    unsigned long long seq;
    char tail[32];
    if (sscanf(name, "events-%4d%2d%2dT%2d%2d%2dZ-%6llu%31s", &y, &mo, &d, &h, &mi, &s, &seq,
               tail) != 8)
        return -1;
    if (strcmp(tail, zst ? ".jsonl.zst" : ".jsonl") != 0 || y < 2024 || mo < 1 || mo > 12)
        return -1;
    return (long long)seq;
}

TEST(plugin_file_appends_and_never_truncates)
{
    static const char *const modes[] = {"never", "rotate", "batch", "always"};
    for (int m = 0; m < 4; m++) {
        struct fake_host fh;
        fh_init(&fh, "file");
        const char *path = t_path("%s/events-%d.jsonl", t_tmpdir(), m);
        t_write_file(path, "{\"seq\":0,\"old\":true}\n");
        char settings[600];
        snprintf(settings, sizeof settings, "{\"path\":\"%s\",\"fsync\":\"%s\"}", path, modes[m]);
        void *s = make_sink(&fh, settings);
        struct evs e = make_events(300, 1, 120);
        write_all(&fh, s, &e, 64);
        ASSERT_OK(fh.desc->flush(s));
        close_sink(&fh, s);
        /* A second run appends after the first. */
        s = make_sink(&fh, settings);
        struct evs e2 = make_events(10, 301, 80);
        write_all(&fh, s, &e2, 3);
        ASSERT_EQ(fh_counter(&fh, "lines"), 10);
        close_sink(&fh, s);
        size_t len;
        char *text = read_file(path, &len);
        uint32_t next = 0;
        ASSERT_EQ(check_lines(text, len, &next), 311);
        ASSERT_CONTAINS(text, "\"old\":true");
        mem_free(text);
        free_events(&e);
        free_events(&e2);
        fh_free(&fh);
    }
}

TEST(plugin_file_repairs_missing_final_newline)
{
    struct fake_host fh;
    fh_init(&fh, "file");
    const char *path = t_path("%s/events.jsonl", t_tmpdir());
    /* What a crash in the middle of a line leaves behind. */
    t_write_file(path, "{\"seq\":0}\n{\"seq\":1,\"tor");
    void *s = make_sink(&fh, t_path("{\"path\":\"%s\"}", path));
    ASSERT_CONTAINS(fh.log, "did not end with a newline");
    struct evs e = make_events(5, 2, 60);
    write_all(&fh, s, &e, 5);
    char stats[1024];
    size_t need;
    ASSERT_OK(fh.desc->stats(s, stats, sizeof stats, &need));
    ASSERT_CONTAINS(stats, "\"newline_repairs\":1");
    ASSERT_CONTAINS(stats, "\"lines\":5");
    close_sink(&fh, s);
    size_t len;
    char *text = read_file(path, &len);
    const char *after = strstr(text, "\"tor\n");
    ASSERT_MSG(after != NULL, "torn line not terminated:\n%s", text);
    uint32_t next = 2;
    ASSERT_EQ(check_lines(after + 5, len - (size_t)(after + 5 - text), &next), 5);
    mem_free(text);
    free_events(&e);
    fh_free(&fh);
}

/* Read rotated (optionally compressed) files in sequence order, then the live file. */
static uint32_t check_rotated_set(const char *dir, int zst, size_t expect_files, uint64_t max_file,
                                  uint32_t first_seq_expected)
{
    char names[64][128];
    size_t n = list(dir, "events-", names, 64);
    ASSERT_EQ(n, expect_files);
    long long prev = -1;
    uint32_t next = first_seq_expected;
    for (size_t k = 0; k < n; k++) {
        long long seq = rotated_seq(names[k], zst);
        ASSERT_MSG(seq >= 0, "unexpected file name %s", names[k]);
        ASSERT_MSG(seq == prev + 1 || prev < 0, "gap in rotation sequence at %s", names[k]);
        prev = seq;
        size_t len;
        char *text = zst ? unzstd(t_path("%s/%s", dir, names[k]), &len)
                         : read_file(t_path("%s/%s", dir, names[k]), &len);
        ASSERT_MSG(len > 0 && len <= max_file, "%s has %zu bytes", names[k], len);
        check_lines(text, len, &next);
        if (zst)
            free(text);
        else
            mem_free(text);
    }
    size_t len;
    char *text = read_file(t_path("%s/events.jsonl", dir), &len);
    check_lines(text, len, &next);
    mem_free(text);
    return next;
}

TEST(plugin_file_rotates_by_size_and_keeps_n)
{
    struct fake_host fh;
    fh_init(&fh, "file");
    const char *dir = t_tmpdir();
    const char *path = t_path("%s/events.jsonl", dir);
    void *s = make_sink(&fh, t_path("{\"path\":\"%s\",\"rotate_bytes\":1000,\"keep\":3}", path));
    /* 100-byte lines: 10 per file, 25 files' worth. */
    struct evs e = make_events(250, 1, 100);
    ASSERT_EQ(e.ev[0].json_len + 1, 100);
    write_all(&fh, s, &e, 7);
    int64_t rot = fh_counter(&fh, "rotations");
    ASSERT_EQ(rot, 24);
    ASSERT_EQ(fh_counter(&fh, "lines"), 250);
    ASSERT_EQ(fh_counter(&fh, "bytes"), 25000);
    close_sink(&fh, s);
    /* Three rotated files of exactly 10 lines each, then the live file. */
    uint32_t next = check_rotated_set(dir, 0, 3, 1000, 211);
    ASSERT_EQ(next, 251);

    /* A restart continues the sequence instead of reusing names. */
    char before[8][128];
    size_t nb = list(dir, "events-", before, 8);
    s = make_sink(&fh, t_path("{\"path\":\"%s\",\"rotate_bytes\":\"1K\",\"keep\":3}", path));
    struct evs e2 = make_events(20, 251, 100);
    write_all(&fh, s, &e2, 20);
    close_sink(&fh, s);
    char after[8][128];
    size_t na = list(dir, "events-", after, 8);
    ASSERT_EQ(nb, 3);
    ASSERT_EQ(na, 3);
    ASSERT_EQ(rotated_seq(after[2], 0), rotated_seq(before[2], 0) + 2);
    free_events(&e);
    free_events(&e2);
    fh_free(&fh);
}

TEST(plugin_file_oversized_line_gets_its_own_file)
{
    struct fake_host fh;
    fh_init(&fh, "file");
    const char *dir = t_tmpdir();
    void *s = make_sink(&fh, t_path("{\"path\":\"%s/events.jsonl\",\"rotate_bytes\":300,"
                                    "\"keep\":0}",
                                    dir));
    struct evs small = make_events(2, 1, 100);
    struct evs big = make_events(1, 3, 1000);
    struct evs tail = make_events(1, 4, 100);
    write_all(&fh, s, &small, 2);
    write_all(&fh, s, &big, 1);
    write_all(&fh, s, &tail, 1);
    close_sink(&fh, s);
    /* [1,2] rotated, [3] alone (over the limit) rotated, [4] live. */
    uint32_t next = check_rotated_set(dir, 0, 2, 1000, 1);
    ASSERT_EQ(next, 5);
    free_events(&small);
    free_events(&big);
    free_events(&tail);
    fh_free(&fh);
}

TEST(plugin_file_rotates_by_age)
{
    struct fake_host fh;
    fh_init(&fh, "file");
    const char *dir = t_tmpdir();
    void *s = make_sink(&fh, t_path("{\"path\":\"%s/events.jsonl\",\"rotate_seconds\":\"1s\"}", dir));
    struct evs e = make_events(30, 1, 80);
    write_all(&fh, s, &e, 10);
    /* Not yet old: flush must not rotate. */
    ASSERT_OK(fh.desc->flush(s));
    ASSERT_EQ(fh_counter(&fh, "rotations"), 0);
    plat_sleep_ms(1100);
    /* An idle sink rotates on flush, an active one on write. */
    ASSERT_OK(fh.desc->flush(s));
    ASSERT_EQ(fh_counter(&fh, "rotations"), 1);
    /* An empty live file is never rotated. */
    plat_sleep_ms(1100);
    ASSERT_OK(fh.desc->flush(s));
    ASSERT_EQ(fh_counter(&fh, "rotations"), 1);
    struct evs e2 = make_events(5, 31, 80);
    write_all(&fh, s, &e2, 5);
    plat_sleep_ms(1100);
    struct evs e3 = make_events(5, 36, 80);
    write_all(&fh, s, &e3, 5);
    ASSERT_EQ(fh_counter(&fh, "rotations"), 2);
    close_sink(&fh, s);
    uint32_t next = check_rotated_set(dir, 0, 2, 1 << 20, 1);
    ASSERT_EQ(next, 41);
    free_events(&e);
    free_events(&e2);
    free_events(&e3);
    fh_free(&fh);
}

TEST(plugin_file_zstd_rotated_files)
{
    struct fake_host fh;
    fh_init(&fh, "file");
    const char *dir = t_tmpdir();
    char settings[600];
    snprintf(settings, sizeof settings,
             "{\"path\":\"%s/events.jsonl\",\"rotate_bytes\":\"4K\",\"keep\":0,"
             "\"compress\":\"zstd\",\"compress_level\":5}",
             dir);
    void *s = make_sink(&fh, settings);
    struct evs e = make_events(600, 1, 200);
    write_all(&fh, s, &e, 50);
    /* close() joins the compression thread: everything rotated is compressed by then. */
    close_sink(&fh, s);
    char names[64][128];
    size_t n = list(dir, "events-", names, 64);
    ASSERT_EQ(n, 29); /* 120000 bytes / 4096 -> 20 lines per file */
    uint32_t next = check_rotated_set(dir, 1, 29, 4096, 1);
    ASSERT_EQ(next, 601);
    /* The zstd tool agrees the files are intact. */
    const char *argv[] = {"zstd", "-q", "-t", t_path("%s/%s", dir, names[0]), NULL};
    struct t_run r = t_exec(argv, NULL, NULL);
    if (r.status != 127) /* no zstd tool: libzstd above is the check */
        ASSERT_MSG(r.status == 0, "zstd -t: %s", r.err);
    t_run_free(&r);

    /* A rotated file left uncompressed (crash) and a stale .tmp are handled on restart. */
    t_write_file(t_path("%s/events-20250101T000000Z-000900.jsonl", dir), "{\"seq\":1}\n");
    t_write_file(t_path("%s/events-20250101T000000Z-000901.jsonl.zst.tmp", dir), "junk");
    s = make_sink(&fh, settings);
    close_sink(&fh, s);
    ASSERT(!plat_is_file(t_path("%s/events-20250101T000000Z-000900.jsonl", dir)));
    ASSERT(!plat_is_file(t_path("%s/events-20250101T000000Z-000901.jsonl.zst.tmp", dir)));
    size_t zl;
    char *z = unzstd(t_path("%s/events-20250101T000000Z-000900.jsonl.zst", dir), &zl);
    ASSERT_EQ(zl, 10);
    ASSERT(memcmp(z, "{\"seq\":1}\n", 10) == 0);
    free(z);
    free_events(&e);
    fh_free(&fh);
}

TEST(plugin_file_keep_prunes_compressed_files)
{
    struct fake_host fh;
    fh_init(&fh, "file");
    const char *dir = t_tmpdir();
    void *s = make_sink(&fh, t_path("{\"path\":\"%s/events.jsonl\",\"rotate_bytes\":500,"
                                    "\"keep\":2,\"compress\":\"zstd\"}",
                                    dir));
    struct evs e = make_events(100, 1, 100);
    write_all(&fh, s, &e, 10);
    close_sink(&fh, s);
    /* 19 rotations, 2 kept (compressed, lines 86-95), 5 lines each, and the live file. */
    uint32_t next = check_rotated_set(dir, 1, 2, 500, 86);
    ASSERT_EQ(next, 101);
    free_events(&e);
    fh_free(&fh);
}

TEST(plugin_file_settings_errors)
{
    static const struct {
        const char *settings, *msg;
    } cases[] = {
        {"{}", "path: missing (the file sink needs the file to write, e.g. "
               "\"/var/log/etwhost/events.jsonl\")"},
        {"{\"path\":\"\"}", "path: expected a non-empty file path string"},
        {"{\"path\":\"/nonexistent-dir-xyz/e.jsonl\"}",
         "path: directory \"/nonexistent-dir-xyz\" does not exist (create it first)"},
        {"{\"path\":\"/tmp/\"}", "path: \"/tmp/\" names a directory; give a file name"},
        {"{\"path\":\"/tmp\"}", "path: cannot open \"/tmp\": Is a directory"},
        {"{\"path\":\"/tmp/x.jsonl\",\"compress\":\"gzip\"}",
         "compress: unknown value \"gzip\" (expected one of \"none\", \"zstd\")"},
        {"{\"path\":\"/tmp/x.jsonl\",\"fsync\":true}",
         "fsync: expected one of \"never\", \"rotate\", \"batch\", \"always\""},
        {"{\"path\":\"/tmp/x.jsonl\",\"rotate_bytes\":\"10X\"}",
         "rotate_bytes: cannot read \"10X\" (expected a number with an optional unit, like "
         "\"64M\")"},
        {"{\"path\":\"/tmp/x.jsonl\",\"rotate_bytes\":-5}",
         "rotate_bytes: must not be negative (got -5)"},
        {"{\"path\":\"/tmp/x.jsonl\",\"rotate_seconds\":\"1w\"}",
         "rotate_seconds: cannot read \"1w\" (expected a number with an optional unit, like "
         "\"1h\")"},
        {"{\"path\":\"/tmp/x.jsonl\",\"keep\":-1}", "keep: expected 0 (keep all) to 1000000, got -1"},
        {"{\"path\":\"/tmp/x.jsonl\",\"compress_level\":99}",
         "compress_level: expected -131072..-1 or 1..22, got 99"},
        {"{\"path\":\"/tmp/x.jsonl\",\"preallocate\":\"lots\"}",
         "preallocate: cannot read \"lots\" (expected a number with an optional unit, like "
         "\"16M\")"},
        {"{\"path\":\"/tmp/x.jsonl\",\"rotate\":5}", "unknown setting \"rotate\""},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
#if defined(_WIN32)
        /* "/tmp" is no directory on Windows (the sink would create C:\tmp as its file). */
        if (strcmp(cases[k].settings, "{\"path\":\"/tmp\"}") == 0)
            continue;
#endif
        struct fake_host fh;
        fh_init(&fh, "file");
        void *inst = NULL;
        char err[512];
        etwhost_status rc = fh_create(&fh, cases[k].settings, &inst, err, sizeof err);
        ASSERT_MSG(rc < 0, "accepted %s", cases[k].settings);
        ASSERT_STREQ(err, cases[k].msg);
        fh_free(&fh);
    }
}

#if defined(__linux__)
/* Bytes the file system has allocated to path. */
static uint64_t allocated(const char *path)
{
    struct stat st;
    ASSERT_MSG(stat(path, &st) == 0, "cannot stat %s", path);
    return (uint64_t)st.st_blocks * 512u;
}

/* 1 when the file system under dir can reserve space past a file's end. */
static int can_reserve(const char *dir)
{
    const char *probe = t_path("%s/reserve-probe", dir);
    int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT(fd >= 0);
    int ok = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20) == 0;
    close(fd);
    unlink(probe);
    return ok;
}
#endif

/*
 * preallocate: the same lines as without it; while open (Linux) the file's
 * space is reserved ahead with its size unchanged, and closed or rotated
 * files keep no reserved space past their end.
 */
TEST(plugin_file_preallocate_reserves_and_releases)
{
    struct fake_host fh;
    fh_init(&fh, "file");
    const char *dir = t_tmpdir();
    const char *path = t_path("%s/pre.jsonl", dir);
    void *s = make_sink(&fh, t_path("{\"path\":\"%s\",\"preallocate\":\"1M\","
                                    "\"rotate_bytes\":\"300K\",\"keep\":0}", path));
    /* 200-byte lines: 1536 of them per rotated file, 4000 lines = two rotations. */
    struct evs e = make_events(4000, 1, 200);
    write_all(&fh, s, &e, 500);
    ASSERT_EQ(fh_counter(&fh, "rotations"), 2);
#if defined(__linux__)
    if (can_reserve(dir)) {
        size_t len;
        char *text = read_file(path, &len);
        ASSERT_EQ(len, 4000 * 200 - 2 * 1536 * 200);
        ASSERT_MSG(allocated(path) >= (1u << 20), "live file: %llu bytes allocated",
                   (unsigned long long)allocated(path));
        mem_free(text);
    } else {
        printf("  the file system under %s cannot reserve space: only the lines are checked\n",
               dir);
    }
#endif
    close_sink(&fh, s);
    char names[8][128];
    size_t n = list(dir, "pre-", names, 8);
    ASSERT_EQ(n, 2);
    uint32_t next = 1;
    for (size_t k = 0; k <= n; k++) {
        const char *f = k < n ? t_path("%s/%s", dir, names[k]) : path;
        size_t len;
        char *text = read_file(f, &len);
        check_lines(text, len, &next);
#if defined(__linux__)
        /* Whole 4 KiB blocks of the data, no more (a reservation left would be 1 MiB). */
        ASSERT_MSG(allocated(f) <= ((len + 4095) & ~(size_t)4095) + 65536,
                   "%s: %zu bytes hold %llu allocated", f, len, (unsigned long long)allocated(f));
#endif
        mem_free(text);
    }
    ASSERT_EQ(next, 4001);
    free_events(&e);
    fh_free(&fh);
}

#if defined(__linux__)
/* Bytes of path's first len bytes that are in the page cache (mincore). */
static uint64_t cached_bytes(const char *path, size_t len)
{
    int fd = open(path, O_RDONLY);
    ASSERT(fd >= 0);
    long pg = sysconf(_SC_PAGESIZE);
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    ASSERT(m != MAP_FAILED);
    size_t pages = (len + (size_t)pg - 1) / (size_t)pg;
    unsigned char *vec = mem_alloc(pages);
    ASSERT(vec != NULL && mincore(m, len, vec) == 0);
    uint64_t n = 0;
    for (size_t i = 0; i < pages; i++)
        n += vec[i] & 1u;
    mem_free(vec);
    munmap(m, len);
    close(fd);
    return n * (uint64_t)pg;
}
#endif

/*
 * drop_behind: the same lines as without it; on Linux the bytes written a
 * couple of windows back are out of the page cache while the file is still
 * being written, where without it they stay cached.
 */
TEST(plugin_file_drop_behind_keeps_little_cached)
{
    const char *dir = t_tmpdir();
    struct evs e = make_events(40000, 1, 500); /* 20 MB */
    for (int drop = 0; drop <= 1; drop++) {
        struct fake_host fh;
        fh_init(&fh, "file");
        const char *path = t_path("%s/drop%d.jsonl", dir, drop);
        void *s = make_sink(&fh, t_path("{\"path\":\"%s\",\"rotate_bytes\":0%s}", path,
                                        drop ? ",\"drop_behind\":\"1M\"" : ""));
        write_all(&fh, s, &e, 1000);
#if defined(__linux__)
        uint64_t head = 16u << 20, cached = cached_bytes(path, head);
        if (drop)
            ASSERT_MSG(cached < head / 8, "drop_behind: %llu of the first %llu bytes cached",
                       (unsigned long long)cached, (unsigned long long)head);
        else if (cached < head / 2)
            printf("  without drop_behind only %llu of %llu bytes stayed cached (memory "
                   "pressure?): the comparison says little\n",
                   (unsigned long long)cached, (unsigned long long)head);
#endif
        close_sink(&fh, s);
        assert_lines(path, 1, 40000);
        fh_free(&fh);
    }
    free_events(&e);
}

/*
 * Two instances on one path (as during a configuration reload) rotate in the
 * same second: neither may rename over the other's rotated file.
 */
TEST(plugin_file_two_instances_never_overwrite_rotations)
{
    struct fake_host fh;
    fh_init(&fh, "file");
    const char *dir = t_tmpdir();
    char settings[600];
    snprintf(settings, sizeof settings,
             "{\"path\":\"%s/events.jsonl\",\"rotate_bytes\":500,\"keep\":0}", dir);
    void *a = make_sink(&fh, settings);
    void *b = make_sink(&fh, settings);
    struct evs e = make_events(40, 1, 100);
    for (uint32_t i = 0; i < 40; i += 4) {
        uint32_t acc;
        ASSERT_EQ(fh.desc->write((i / 4) % 2 ? b : a, e.ptr + i, 4, &acc), ETWHOST_OK);
        ASSERT_EQ(acc, 4);
    }
    close_sink(&fh, a);
    close_sink(&fh, b);
    /* Every line is somewhere, exactly once. */
    char names[64][128];
    size_t n = list(dir, "events", names, 64);
    int seen[41] = {0};
    size_t lines = 0;
    for (size_t k = 0; k < n; k++) {
        size_t len;
        char *text = read_file(t_path("%s/%s", dir, names[k]), &len);
        for (const char *p = text; (p = strstr(p, "{\"seq\":")) != NULL; p++) {
            int seq = atoi(p + 7);
            ASSERT(seq >= 1 && seq <= 40);
            seen[seq]++;
            lines++;
        }
        mem_free(text);
    }
    ASSERT_EQ(lines, 40);
    for (int k = 1; k <= 40; k++)
        ASSERT_MSG(seen[k] == 1, "line %d seen %d times", k, seen[k]);
    free_events(&e);
    fh_free(&fh);
}

#if !defined(_WIN32)
/*
 * /dev/full fails every write with ENOSPC, also for root.  The sink must
 * answer RETRY without accepting anything, recover when the path becomes
 * writable, and give up with ERR_FATAL after fail_after_seconds.
 */
static void body_plugin_file_retries_on_full_device(void)
{
    if (!plat_is_file("/dev/full") && access("/dev/full", W_OK) != 0)
        SKIP("no /dev/full on this system");
    struct fake_host fh;
    fh_init(&fh, "file");
    const char *path = t_path("%s/events.jsonl", t_tmpdir());
    ASSERT_OK(symlink("/dev/full", path));
    void *s = make_sink(&fh, t_path("{\"path\":\"%s\"}", path));
    struct evs e = make_events(20, 1, 100);
    uint32_t acc = 99;
    ASSERT_EQ(fh.desc->write(s, e.ptr, 20, &acc), ETWHOST_RETRY);
    ASSERT_EQ(acc, 0);
    ASSERT_EQ(fh_counter(&fh, "write_errors"), 1);
    ASSERT_CONTAINS(fh.log, "No space left on device; will retry");
    ASSERT_EQ(fh.desc->write(s, e.ptr, 20, &acc), ETWHOST_RETRY);
    ASSERT_EQ(acc, 0);
    /* The device "gets space": the path now names a regular file. */
    ASSERT_OK(unlink(path));
    ASSERT_EQ(fh.desc->write(s, e.ptr, 20, &acc), ETWHOST_OK);
    ASSERT_EQ(acc, 20);
    ASSERT_CONTAINS(fh.log, "writing to");
    close_sink(&fh, s);
    assert_lines(path, 1, 20);

    /* With fail_after_seconds the sink gives up for good. */
    ASSERT_OK(unlink(path));
    ASSERT_OK(symlink("/dev/full", path));
    s = make_sink(&fh, t_path("{\"path\":\"%s\",\"fail_after_seconds\":1}", path));
    ASSERT_EQ(fh.desc->write(s, e.ptr, 20, &acc), ETWHOST_RETRY);
    plat_sleep_ms(1100);
    ASSERT_EQ(fh.desc->write(s, e.ptr, 20, &acc), ETWHOST_ERR_FATAL);
    ASSERT_EQ(acc, 0);
    ASSERT_CONTAINS(fh.log, "giving up on");
    ASSERT_EQ(fh.desc->flush(s), ETWHOST_ERR_FATAL);
    char err[256];
    fh.desc->close(s, err, sizeof err);
    fh.desc->destroy(s);
    free_events(&e);
    fh_free(&fh);
}

/*
 * A file size limit (RLIMIT_FSIZE, which binds root too) makes the kernel
 * write part of a buffer and then fail with EFBIG: the partial line must be
 * cut off, only whole lines accepted, and the rest written once on retry.
 */
static void body_plugin_file_partial_write_keeps_lines_whole(void)
{
    struct fake_host fh;
    fh_init(&fh, "file");
    const char *path = t_path("%s/events.jsonl", t_tmpdir());
    void *s = make_sink(&fh, t_path("{\"path\":\"%s\"}", path));
    struct evs e = make_events(50, 1, 100);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    ASSERT_OK(getrlimit(RLIMIT_FSIZE, &old));
    lim = old;
    lim.rlim_cur = 2550; /* 25.5 lines */
    ASSERT_OK(setrlimit(RLIMIT_FSIZE, &lim));
    uint32_t acc = 0;
    etwhost_status rc = fh.desc->write(s, e.ptr, 50, &acc);
    ASSERT_OK(setrlimit(RLIMIT_FSIZE, &old));
    ASSERT_EQ(rc, ETWHOST_RETRY);
    ASSERT_EQ(acc, 25);
    ASSERT_CONTAINS(fh.log, "File too large");
    size_t len;
    char *text = read_file(path, &len);
    ASSERT_EQ(len, 2500);
    mem_free(text);
    /* The host retries with the events not accepted. */
    ASSERT_EQ(fh.desc->write(s, e.ptr + acc, 50 - acc, &acc), ETWHOST_OK);
    ASSERT_EQ(acc, 25);
    close_sink(&fh, s);
    text = read_file(path, &len);
    uint32_t next = 1;
    ASSERT_EQ(check_lines(text, len, &next), 50);
    mem_free(text);
    free_events(&e);
    fh_free(&fh);
}
#endif

TEST(plugin_file_skips_unrenderable_event)
{
    struct fake_host fh;
    fh_init(&fh, "file");
    const char *path = t_path("%s/events.jsonl", t_tmpdir());
    void *s = make_sink(&fh, t_path("{\"path\":\"%s\"}", path));
    struct evs e = make_events(6, 1, 60);
    e.ev[3].json_fail = 1;
    uint32_t acc = 0;
    ASSERT_EQ(fh.desc->write(s, e.ptr, 6, &acc), ETWHOST_OK);
    ASSERT_EQ(acc, 6);
    char stats[1024];
    size_t need;
    ASSERT_OK(fh.desc->stats(s, stats, sizeof stats, &need));
    ASSERT_CONTAINS(stats, "\"skipped_events\":1");
    ASSERT_CONTAINS(stats, "\"lines\":5");
    close_sink(&fh, s);
    size_t len;
    char *text = read_file(path, &len);
    ASSERT_EQ(t_count_lines(text), 5);
    ASSERT_NOT_CONTAINS(text, "\"seq\":4,");
    mem_free(text);
    free_events(&e);
    fh_free(&fh);
}

/* Throughput of the write path (rendering is the host's; here the JSON is given). */
TEST(plugin_file_throughput)
{
    struct fake_host fh;
    fh_init(&fh, "file");
    const char *dir = t_tmpdir();
    void *s = make_sink(&fh, t_path("{\"path\":\"%s/events.jsonl\",\"rotate_bytes\":\"64M\","
                                    "\"keep\":2}",
                                    dir));
    struct evs e = make_events(1000, 1, 400);
    uint64_t t0 = fh_now_ns();
    const int rounds = 500;
    for (int r = 0; r < rounds; r++)
        write_all(&fh, s, &e, 1000);
    uint64_t t1 = fh_now_ns();
    close_sink(&fh, s);
    double mb = (double)rounds * 1000 * 400 / 1e6;
    double secs = (double)(t1 - t0) / 1e9;
    printf("file sink: %.0f MB in %.2f s = %.0f MB/s (%.0f ns/line)\n", mb, secs, mb / secs,
           secs * 1e9 / (rounds * 1000.0));
    ASSERT(mb / secs > 20.0);
    free_events(&e);
    fh_free(&fh);
}

TEST(plugin_file_retries_on_full_device)
{
#if defined(_WIN32)
    SKIP("needs /dev/full and symlink() (POSIX)");
#else
    body_plugin_file_retries_on_full_device();
#endif
}

TEST(plugin_file_partial_write_keeps_lines_whole)
{
#if defined(_WIN32)
    SKIP("needs RLIMIT_FSIZE (POSIX)");
#else
    body_plugin_file_partial_write_keeps_lines_whole();
#endif
}
