/*
 * The synthetic source's start_time is read by the same parser as --since /
 * --until (archive_parse_time): RFC 3339 with fractions and offsets, a date
 * alone, or a FILETIME number; nothing before 1601.  Run as the real binary
 * into the file sink, whose first line shows the first event's time.
 */
#include "test.h"

#include "core/mem.h"

/* Run `etwhost run` with one synthetic event starting at start_time; its stderr in *err. */
static int run_at(const char *start_time, char **first_line, char **err)
{
    const char *dir = t_path("%s/conf", t_tmpdir());
    const char *out = t_path("%s/out.jsonl", t_tmpdir());
    t_mkdir(t_path("%s/conf.d", dir));
    t_write_file(t_path("%s/etwhost.json", dir),
                 t_path("{\"sources\": [{\"type\": \"synthetic\", \"count\": 1, "
                        "\"start_time\": \"%s\"}]}",
                        start_time));
    t_write_file(t_path("%s/conf.d/50-f.json", dir),
                 t_path("{\"name\": \"f\", \"plugin\": \"file\", \"settings\": "
                        "{\"path\": \"%s\", \"keep\": 0}}",
                        out));
    const char *args[] = {"run", "-c", dir, NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    *err = r.err;
    r.err = NULL;
    *first_line = t_read_file(out, NULL);
    int status = r.status;
    t_run_free(&r);
    return status;
}

TEST(synthetic_start_time_reads_like_since_until)
{
    static const struct {
        const char *start, *want;
    } good[] = {
        {"2026-01-01T00:00:00Z", "\"timestamp\":\"2026-01-01T00:00:00.0000000Z\""},
        {"2026-03-04T05:06:07.5+01:00", "\"timestamp\":\"2026-03-04T04:06:07.5000000Z\""},
        {"2026-03-04", "\"timestamp\":\"2026-03-04T00:00:00.0000000Z\""},
        {"1601-01-01T00:00:00.0000001Z", "\"timestamp\":\"1601-01-01T00:00:00.0000001Z\""},
        {"133801632000000000", "\"timestamp\":\"2025-01-01T00:00:00.0000000Z\""},
    };
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        char *line, *err;
        int st = run_at(good[k].start, &line, &err);
        ASSERT_MSG(st == 0, "%s: exit %d:\n%s", good[k].start, st, err);
        ASSERT_MSG(line != NULL, "%s: no output", good[k].start);
        ASSERT_CONTAINS(line, good[k].want);
        mem_free(line);
        mem_free(err);
        t_write_file(t_path("%s/out.jsonl", t_tmpdir()), "");
    }
    static const char *const bad[] = {"2026-1-1T00:00:00Z", "1600-12-31T23:59:59Z", "yesterday",
                                      "2026-01-01T00:00:00", "2026-02-30T25:00:00Z"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char *line, *err;
        int st = run_at(bad[k], &line, &err);
        ASSERT_MSG(st != 0, "accepted %s", bad[k]);
        ASSERT_CONTAINS(err, t_path("start_time \"%s\" is not \"now\" or an RFC 3339 UTC time",
                                    bad[k]));
        mem_free(line);
        mem_free(err);
    }
}
