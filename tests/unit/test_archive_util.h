/*
 * Helpers of the archive tests (test_archive*.c): config folders, dumps
 * through the real binary, line-by-line comparison, verification.
 */
#ifndef ETWHOST_TEST_ARCHIVE_UTIL_H
#define ETWHOST_TEST_ARCHIVE_UTIL_H

#include "test.h"

#include "archive/archive_reader.h"
#include "core/mem.h"

/* A fresh config folder (a new one per call) with etwhost.json = main_json. */
static inline const char *ta_conf(const char *main_json)
{
    static int seq;
    static char dirs[8][1024]; /* t_path's ring would be reused by the caller's next calls */
    char *dir = dirs[seq % 8];
    snprintf(dir, sizeof dirs[0], "%s/conf%d", t_tmpdir(), seq);
    seq++;
    t_mkdir(dir);
    t_mkdir(t_path("%s/conf.d", dir));
    t_write_file(t_path("%s/etwhost.json", dir), main_json);
    return dir;
}

static inline void ta_dropin(const char *dir, const char *name, const char *json)
{
    t_write_file(t_path("%s/conf.d/%s", dir, name), json);
}

/* `etwhost dump -q FILE [opt val]`: stdout (mem_alloc'd); fails the test on error. */
static inline char *ta_dump2(const char *file, const char *opt, const char *val)
{
    const char *args[] = {"dump", "-q", file, opt, val, NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_MSG(r.status == 0, "dump %s: exit %d: %s", file, r.status, r.err);
    char *out = r.out;
    r.out = NULL;
    t_run_free(&r);
    return out;
}

/* Fail with the first differing line of two dumps. */
static inline void ta_assert_same(const char *want, const char *got, const char *what)
{
    if (strcmp(want, got) == 0)
        return;
    size_t line = 1;
    const char *a = want, *b = got;
    while (*a && *a == *b) {
        if (*a == '\n')
            line++;
        a++;
        b++;
    }
    const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
    t_fail(__FILE__, __LINE__,
           "%s: line %zu differs (%zu vs %zu lines):\n  want: %.*s\n  got:  %.*s", what, line,
           t_count_lines(want), t_count_lines(got), (int)(ea ? ea - a : 200) > 300 ? 300
           : (int)(ea ? ea - a : 200), a, (int)(eb ? eb - b : 200) > 300 ? 300
           : (int)(eb ? eb - b : 200), b);
}

/*
 * dump(etl) == dump(convert(etl) -> arc).  extra "--dictionary" also makes
 * the blocks small (16 KiB) so several use the trained dictionary.
 */
static inline void ta_roundtrip(const char *etl, const char *arc, const char *extra)
{
    char *want = ta_dump2(etl, NULL, NULL);
    const char *cargs[] = {"convert", "-q", etl, "-o", arc, extra ? extra : NULL,
                           extra ? "--block-kb" : NULL, "16", NULL};
    struct t_run r = t_etwhost(cargs, NULL, NULL);
    ASSERT_MSG(r.status == 0, "convert %s: exit %d: %s", etl, r.status, r.err);
    t_run_free(&r);
    char *got = ta_dump2(arc, NULL, NULL);
    ta_assert_same(want, got, etl);
    mem_free(want);
    mem_free(got);
}

/*
 * `etwhost run` of a fresh config: the source (a JSON object) into an archive
 * sink writing arc, with settings (JSON members after "path", or "").
 */
static inline void ta_archive_write(const char *source, const char *arc, const char *settings,
                                    const char *what)
{
    const char *dir = ta_conf(t_path("{\"sources\": [%s]}", source));
    ta_dropin(dir, "10-a.json",
              t_path("{\"name\": \"a\", \"plugin\": \"archive\", \"settings\": "
                     "{\"path\": \"%s\"%s%s}}",
                     arc, *settings ? ", " : "", settings));
    const char *args[] = {"run", "-c", dir, NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_MSG(r.status == 0, "run (%s): %s", what, r.err);
    t_run_free(&r);
}

/* archive_verify in-process; returns the number of problems. */
static inline int ta_verify(const char *path, struct archive_check *c)
{
    struct errbuf eb;
    int rc = archive_verify(path, c, NULL, NULL, &eb);
    ASSERT_MSG(rc == 0, "verify %s: %s", path, eb.msg);
    return c->problems;
}

#endif
