/*
 * The test runner.  Runs every registered test in its own process (itself,
 * with --run NAME) with a timeout, prints one line per test and a final
 * "N passed, N failed, N skipped" line.  Exit status 0 iff nothing failed.
 *
 * Usage: etwhost-tests [--root DIR] [--build DIR] [--timeout S] [-j N] [FILTER...]
 *        (-j N or ETWHOST_TEST_JOBS=N: N tests at a time; timing-sensitive
 *        tests still run alone at the end)
 *        etwhost-tests --run NAME     (internal: run one test in-process)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit/test.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "platform/platform.h"

#define X(name) void test_##name(void);
#include "test_list.h"
#undef X

struct test_entry {
    const char *name;
    void (*fn)(void);
};

static const struct test_entry tests[] = {
#define X(name) {#name, test_##name},
#include "test_list.h"
#undef X
};

static const char *root_dir = ".";
static const char *build_dir = "build";
static const char *self_path;
static char tmp_dir[4096];

const char *t_root(void) { return root_dir; }
const char *t_build(void) { return build_dir; }
const char *t_tmpdir(void) { return tmp_dir; }

int t_under_wine(void)
{
    const char *w = getenv("ETWHOST_UNDER_WINE");
    return w && *w == '1';
}

const char *t_exe_suffix(void)
{
    return strcmp(plat_dl_suffix(), ".dll") == 0 ? ".exe" : "";
}

const char *t_corpus(void)
{
    static char path[4096];
    const char *env = getenv("ETWHOST_CORPUS");
    if (env && *env)
        snprintf(path, sizeof path, "%s", env);
    else
        snprintf(path, sizeof path, "%s/../shared/corpus", root_dir);
    return plat_is_dir(path) ? path : NULL;
}

const char *t_corpus_or_skip(void)
{
    const char *c = t_corpus();
    if (c == NULL)
        t_skip("shared corpus not found at %s/../shared/corpus (set ETWHOST_CORPUS)", root_dir);
    return c;
}

void t_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stdout, "  %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    exit(1);
}

void t_skip(const char *fmt, ...)
{
    va_list ap;
    fprintf(stdout, "  skipped: ");
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    exit(TEST_EXIT_SKIP);
}

const char *t_path(const char *fmt, ...)
{
    static char ring[16][4096];
    static int idx;
    char *p = ring[idx++ & 15];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, 4096, fmt, ap);
    va_end(ap);
    return p;
}

void t_write_bytes(const char *path, const void *data, size_t len)
{
    /* plat_fopen: UTF-8 paths on Windows too. */
    FILE *f = plat_fopen(path, "wb", NULL);
    if (f == NULL)
        t_fail(__FILE__, __LINE__, "cannot write %s", path);
    if (len && fwrite(data, 1, len, f) != len)
        t_fail(__FILE__, __LINE__, "short write to %s", path);
    fclose(f);
}

void t_write_file(const char *path, const char *text)
{
    t_write_bytes(path, text, strlen(text));
}

char *t_read_file(const char *path, size_t *len)
{
    FILE *f = plat_fopen(path, "rb", NULL);
    if (f == NULL)
        return NULL;
    struct buf b = BUF_INIT;
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_append(&b, tmp, n);
    fclose(f);
    if (len)
        *len = b.len;
    char *s = buf_take(&b);
    return s ? s : mem_strdup("");
}

void t_mkdir(const char *path)
{
    struct errbuf eb;
    if (plat_mkdir_p(path, &eb))
        t_fail(__FILE__, __LINE__, "%s", eb.msg);
}

#if defined(_WIN32)
/*
 * Windows programs write text-mode stdout/stderr ("\r\n"); tests compare
 * against "\n" as on POSIX.  Only a "\r" right before "\n" is dropped.
 */
static void crlf_to_lf(char *s, size_t *len)
{
    size_t j = 0;
    for (size_t i = 0; s && s[i]; i++)
        if (!(s[i] == '\r' && s[i + 1] == '\n'))
            s[j++] = s[i];
    if (s)
        s[j] = '\0';
    if (len)
        *len = j;
}
#endif

struct t_run t_exec(const char *const *argv, const char *in, const char *const *env)
{
    struct t_run r;
    memset(&r, 0, sizeof r);
    int rc = plat_run(argv, env, in, in ? strlen(in) : 0, &r.out, &r.out_len, &r.err,
                      &r.err_len, 120000, &r.status);
    if (rc != 0) {
        /* Not started (seen once in a while under Wine): no verdict on the program, one more start. */
        mem_free(r.out);
        mem_free(r.err);
        memset(&r, 0, sizeof r);
        plat_sleep_ms(200);
        rc = plat_run(argv, env, in, in ? strlen(in) : 0, &r.out, &r.out_len, &r.err, &r.err_len,
                      120000, &r.status);
    }
    if (rc != 0)
        t_fail(__FILE__, __LINE__, "cannot run %s (2 tries: %s)", argv[0], err_str(rc));
    if (r.out == NULL)
        r.out = mem_strdup("");
    if (r.err == NULL)
        r.err = mem_strdup("");
#if defined(_WIN32)
    crlf_to_lf(r.out, &r.out_len);
    crlf_to_lf(r.err, &r.err_len);
#endif
    return r;
}

struct t_run t_etwhost(const char *const *args, const char *in, const char *const *env)
{
    const char *argv[64];
    size_t n = 0;
    static char exe[4096];
    const char *wrap = getenv("ETWHOST_EXEC_WRAPPER"); /* e.g. "wine" */
    snprintf(exe, sizeof exe, "%s/etwhost%s", build_dir, t_exe_suffix());
    if (wrap && *wrap)
        argv[n++] = wrap;
    argv[n++] = exe;
    for (; args && *args && n < 63; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    return t_exec(argv, in, env);
}

void t_etlgen(const char *out, const char *const *opts)
{
    char exe[4096];
    const char *argv[32];
    size_t n = 0;
    snprintf(exe, sizeof exe, "%s/tools/etlgen%s", build_dir, t_exe_suffix());
    argv[n++] = exe;
    for (; opts && *opts && n < 28; opts++)
        argv[n++] = *opts;
    argv[n++] = "-o";
    argv[n++] = out;
    argv[n] = NULL;
    struct t_run r = t_exec(argv, NULL, NULL);
    if (r.status != 0)
        t_fail(__FILE__, __LINE__, "etlgen %s: %s", out, r.err);
    t_run_free(&r);
}

void t_run_free(struct t_run *r)
{
    mem_free(r->out);
    mem_free(r->err);
    r->out = r->err = NULL;
}

size_t t_count_lines(const char *text)
{
    size_t n = 0;
    for (; text && *text; text++)
        if (*text == '\n')
            n++;
    return n;
}

size_t t_count(const char *text, const char *needle)
{
    size_t n = 0, l = strlen(needle);
    if (l == 0 || text == NULL)
        return 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + l, needle))
        n++;
    return n;
}

/* Remove a directory tree (best effort). */
static void remove_tree(const char *path)
{
    if (!plat_is_dir(path)) {
        plat_remove(path);
        return;
    }
    char **names;
    size_t n;
    if (plat_list_dir(path, NULL, &names, &n, NULL) == 0) {
        for (size_t i = 0; i < n; i++) {
            char child[4096];
            snprintf(child, sizeof child, "%s/%s", path, names[i]);
            remove_tree(child);
        }
        plat_free_list(names, n);
    }
    plat_remove(path);
}

static int run_one_inprocess(const char *name)
{
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (strcmp(tests[i].name, name) == 0) {
            snprintf(tmp_dir, sizeof tmp_dir, "%s/tests/tmp/%s", build_dir, name);
            remove_tree(tmp_dir);
            t_mkdir(tmp_dir);
            tests[i].fn();
            fflush(stdout);
            return 0;
        }
    }
    fprintf(stdout, "no such test: %s\n", name);
    return 2;
}

static int matches(const char *name, int nfilt, char **filt)
{
    if (nfilt == 0)
        return 1;
    for (int i = 0; i < nfilt; i++)
        if (strstr(name, filt[i]))
            return 1;
    return 0;
}

/*
 * Tests that measure time or rates, or share one external broker, run alone
 * after the others so parallel neighbours do not disturb them.
 */
static int must_run_alone(const char *name)
{
    static const char *const alone[] = {"rate", "speed", "kafka_broker", "bench", NULL};
    for (const char *const *a = alone; *a; a++)
        if (strstr(name, *a))
            return 1;
    return 0;
}

struct pool {
    struct plat_mutex mu;
    const size_t *order;
    size_t n, next;
    unsigned timeout_s;
    unsigned passed, failed, skipped;
    char failed_names[8192];
};

/* Run one test in its own process and print its result (under the pool lock). */
static void run_child(struct pool *pl, size_t i)
{
    const char *wrap = getenv("ETWHOST_EXEC_WRAPPER");
    const char *cargv[12];
    int n = 0;
    if (wrap && *wrap)
        cargv[n++] = wrap;
    cargv[n++] = self_path;
    cargv[n++] = "--root";
    cargv[n++] = root_dir;
    cargv[n++] = "--build";
    cargv[n++] = build_dir;
    cargv[n++] = "--run";
    cargv[n++] = tests[i].name;
    cargv[n] = NULL;
    char *out = NULL, *err = NULL;
    int status = 0;
    uint64_t t0 = plat_monotonic_ns();
    int rc = plat_run(cargv, NULL, NULL, 0, &out, NULL, &err, NULL, pl->timeout_s * 1000u, &status);
    int tries = 1;
    if (rc) {
        /*
         * The process could not be started or its output not collected (seen
         * once in a while under Wine): that is no verdict on the test, so it
         * gets one more start.
         */
        mem_free(out);
        mem_free(err);
        out = err = NULL;
        plat_sleep_ms(200);
        t0 = plat_monotonic_ns();
        rc = plat_run(cargv, NULL, NULL, 0, &out, NULL, &err, NULL, pl->timeout_s * 1000u, &status);
        tries++;
    }
    double ms = (double)(plat_monotonic_ns() - t0) / 1e6;
    plat_mutex_lock(&pl->mu);
    if (rc) {
        printf("FAIL %s: cannot start test process (%d tries: %s)\n", tests[i].name, tries,
               err_str(rc));
        pl->failed++;
    } else if (status == 0) {
        printf("ok   %s (%.0f ms)\n", tests[i].name, ms);
        pl->passed++;
    } else if (status == TEST_EXIT_SKIP) {
        printf("skip %s\n%s", tests[i].name, out ? out : "");
        pl->skipped++;
    } else {
        printf("FAIL %s (%s)\n%s", tests[i].name,
               status < 0 ? "timeout" : status > 128 ? "crashed" : "failed", out ? out : "");
        if (err && *err) {
            /* Last part of stderr helps with crashes and sanitizer reports. */
            size_t l = strlen(err);
            const char *tail = l > 6000 ? err + l - 6000 : err;
            printf("  stderr:\n%s\n", tail);
        }
        pl->failed++;
        if (strlen(pl->failed_names) + strlen(tests[i].name) + 2 < sizeof pl->failed_names) {
            strcat(pl->failed_names, " ");
            strcat(pl->failed_names, tests[i].name);
        }
    }
    fflush(stdout);
    plat_mutex_unlock(&pl->mu);
    mem_free(out);
    mem_free(err);
}

static void worker(void *arg)
{
    struct pool *pl = arg;
    for (;;) {
        plat_mutex_lock(&pl->mu);
        size_t k = pl->next < pl->n ? pl->next++ : (size_t)-1;
        plat_mutex_unlock(&pl->mu);
        if (k == (size_t)-1)
            return;
        run_child(pl, pl->order[k]);
    }
}

int main(int argc, char **argv)
{
    const char *run_name = NULL;
    unsigned timeout_s = 300;
    int jobs = 1;
    const char *jenv = getenv("ETWHOST_TEST_JOBS");
    if (jenv && *jenv)
        jobs = atoi(jenv);
    char *filt[64];
    int nfilt = 0;
    plat_utf8_args(&argc, &argv);
    self_path = argv[0];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
            root_dir = argv[++i];
        else if (strcmp(argv[i], "--build") == 0 && i + 1 < argc)
            build_dir = argv[++i];
        else if (strcmp(argv[i], "--run") == 0 && i + 1 < argc)
            run_name = argv[++i];
        else if (strcmp(argv[i], "-j") == 0 && i + 1 < argc)
            jobs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
            timeout_s = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--list") == 0) {
            for (size_t t = 0; t < sizeof tests / sizeof tests[0]; t++)
                printf("%s\n", tests[t].name);
            return 0;
        } else if (nfilt < 64)
            filt[nfilt++] = argv[i];
    }
    /* Tests write absolute paths into config files: resolve once. */
    static char root_abs[4096], build_abs[4096];
    if (plat_abspath(root_dir, root_abs, sizeof root_abs) == 0)
        root_dir = root_abs;
    if (plat_abspath(build_dir, build_abs, sizeof build_abs) == 0)
        build_dir = build_abs;
    /* Windows takes '/' too; with it the paths can go into JSON configs unescaped. */
    for (char *p = root_abs; *p; p++)
        if (*p == '\\')
            *p = '/';
    for (char *p = build_abs; *p; p++)
        if (*p == '\\')
            *p = '/';
    if (run_name)
        return run_one_inprocess(run_name);

    /* Select the tests, then run them: parallel ones on jobs workers, then the serial ones. */
    struct pool pl;
    memset(&pl, 0, sizeof pl);
    pl.timeout_s = timeout_s;
    plat_mutex_init(&pl.mu);
    size_t ntests = sizeof tests / sizeof tests[0];
    size_t *par = calloc(ntests, sizeof *par), *ser = calloc(ntests, sizeof *ser);
    size_t npar = 0, nser = 0;
    for (size_t i = 0; i < ntests; i++) {
        if (!matches(tests[i].name, nfilt, filt))
            continue;
        if (must_run_alone(tests[i].name))
            ser[nser++] = i;
        else
            par[npar++] = i;
    }
    pl.order = par;
    pl.n = npar;
    struct plat_thread th[16];
    int started = 0;
    for (int j = 0; j < jobs && j < 16; j++)
        if (plat_thread_start(&th[j], worker, &pl) == 0)
            started++;
    if (started == 0)
        worker(&pl);
    for (int j = 0; j < started; j++)
        plat_thread_join(&th[j]);
    pl.order = ser;
    pl.n = nser;
    pl.next = 0;
    worker(&pl);
    free(par);
    free(ser);
    unsigned passed = pl.passed, failed = pl.failed, skipped = pl.skipped;
    const char *failed_names = pl.failed_names;
    if (failed)
        printf("failed:%s\n", failed_names);
    printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
