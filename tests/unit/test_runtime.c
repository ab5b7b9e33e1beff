/*
 * End-to-end tests of `etwhost run`: the chain runtime with real config
 * folders, the synthetic source and test sinks, run as the real binary.
 */
#include "test.h"

#include "core/mem.h"
#include "platform/platform.h"

/* A config folder in the test's tmp dir with etwhost.json = main. */
static const char *conf_dir(const char *main_json)
{
    const char *dir = t_path("%s/conf", t_tmpdir());
    t_mkdir(t_path("%s/conf.d", dir));
    t_write_file(t_path("%s/etwhost.json", dir), main_json);
    return dir;
}

static void dropin(const char *dir, const char *name, const char *json)
{
    t_write_file(t_path("%s/conf.d/%s", dir, name), json);
}

static const char *nullsink_path(void)
{
    return t_path("%s/tests/plugins/nullsink%s", t_build(), plat_dl_suffix());
}

static void nullsink_dropin(const char *dir, const char *name, const char *settings)
{
    dropin(dir, t_path("50-%s.json", name),
           t_path("{\"name\": \"%s\", \"plugin\": \"nullsink\", \"path\": \"%s\", "
                  "\"settings\": %s}",
                  name, nullsink_path(), settings));
}

/* Value of a counter "name=N" in stderr, -1 if absent. */
static long long counter(const char *text, const char *name)
{
    const char *p = strstr(text, t_path(" %s=", name));
    if (p == NULL)
        return -1;
    return atoll(p + strlen(name) + 2);
}

TEST(runtime_synthetic_to_sink_counts_everything)
{
    const char *dir = conf_dir("{\"sources\": [{\"type\": \"synthetic\", \"count\": 20000}]}");
    nullsink_dropin(dir, "null", "{\"render_json\": true}");
    const char *args[] = {"run", "-c", dir, "--stats", NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_MSG(r.status == 0, "exit %d:\n%s", r.status, r.err);
    ASSERT_EQ(counter(r.err, "events"), 20000);
    ASSERT(counter(r.err, "json_bytes") > 20000 * 100);
    ASSERT_CONTAINS(r.err, "20000 events in");
    ASSERT_CONTAINS(r.err, "20000 delivered, 0 filtered, 0 lost");
    ASSERT_CONTAINS(r.err, "decoded 20000, partial 0, undecoded 0");
    t_run_free(&r);
}

TEST(runtime_retry_backs_off_and_loses_nothing)
{
    const char *dir = conf_dir("{\"retry\": {\"initial_ms\": 1, \"max_ms\": 4}, "
                               "\"batch_size\": 64, \"queue_depth\": 2, "
                               "\"sources\": [{\"type\": \"synthetic\", \"count\": 5000}]}");
    nullsink_dropin(dir, "flaky", "{\"retry_every\": 2}");
    const char *args[] = {"run", "-c", dir, "--stats", NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_MSG(r.status == 0, "exit %d:\n%s", r.status, r.err);
    ASSERT_EQ(counter(r.err, "events"), 5000);
    ASSERT_CONTAINS(r.err, "5000 delivered, 0 filtered, 0 lost");
    /* The instance table shows retries > 0 for the flaky sink. */
    const char *row = strstr(r.err, "  flaky");
    ASSERT(row != NULL);
    unsigned long long in, out, dropped, errors, retries;
    ASSERT_EQ(sscanf(row, " flaky sink %llu %llu %llu %llu %llu", &in, &out, &dropped, &errors,
                     &retries),
              5);
    ASSERT_EQ(in, 5000);
    ASSERT_EQ(out, 5000);
    ASSERT(retries > 10);
    t_run_free(&r);
}

TEST(runtime_fatal_sink_stops_with_clear_error)
{
    const char *dir = conf_dir("{\"sources\": [{\"type\": \"synthetic\", \"count\": 0}]}");
    nullsink_dropin(dir, "broken", "{\"fail_after\": 1000}");
    const char *args[] = {"run", "-c", dir, NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.err, "sink \"broken\" failed for good");
    ASSERT_CONTAINS(r.err, "stopping");
    t_run_free(&r);
}

TEST(runtime_fatal_sink_continue_policy_keeps_other_sinks)
{
    const char *dir = conf_dir("{\"on_sink_error\": \"continue\", "
                               "\"sources\": [{\"type\": \"synthetic\", \"count\": 3000}]}");
    nullsink_dropin(dir, "broken", "{\"fail_after\": 1000}");
    nullsink_dropin(dir, "good", "{}");
    const char *args[] = {"run", "-c", dir, "--stats", NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_MSG(r.status == 0, "exit %d:\n%s", r.status, r.err);
    ASSERT_CONTAINS(r.err, "continuing without it");
    ASSERT_CONTAINS(r.err, "(failed)");
    /* Events the broken sink could not take are counted as lost, not hidden. */
    ASSERT_CONTAINS(r.err, "2000 lost");
    t_run_free(&r);
}

TEST(runtime_missing_plugin_names_instance_and_file)
{
    const char *dir = conf_dir("{\"sources\": [{\"type\": \"synthetic\"}]}");
    dropin(dir, "10-x.json", "{\"name\": \"out\", \"plugin\": \"nosuchplugin\"}");
    const char *args[] = {"run", "-c", dir, NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_EQ(r.status, 2);
    ASSERT_CONTAINS(r.err, "conf.d/10-x.json:1:1: instance \"out\": plugin 'nosuchplugin' not found");
    ASSERT_EQ(t_count_lines(r.err), 1);
    t_run_free(&r);
}

TEST(runtime_plugin_create_failure_is_one_line)
{
    const char *dir = conf_dir("{\"sources\": [{\"type\": \"synthetic\"}]}");
    nullsink_dropin(dir, "bad", "{\"fail_create\": true}");
    const char *args[] = {"run", "-c", dir, NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_EQ(r.status, 2);
    ASSERT_CONTAINS(r.err, "instance \"bad\" (plugin nullsink 1.0.0): cannot open the null device");
    ASSERT_EQ(t_count_lines(r.err), 1);
    t_run_free(&r);
}

TEST(runtime_unknown_setting_key_suggests)
{
    const char *dir = conf_dir("{\"sources\": [{\"type\": \"synthetic\"}]}");
    nullsink_dropin(dir, "n", "{\"retry_evry\": 3}");
    const char *args[] = {"run", "-c", dir, NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_EQ(r.status, 2);
    ASSERT_CONTAINS(r.err, "retry_evry");
    ASSERT_CONTAINS(r.err, "did you mean \"retry_every\"");
    ASSERT_CONTAINS(r.err, "50-n.json:1:");
    t_run_free(&r);
}

TEST(runtime_no_sink_is_an_error)
{
    const char *dir = conf_dir("{\"sources\": [{\"type\": \"synthetic\"}]}");
    const char *args[] = {"run", "-c", dir, NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_EQ(r.status, 2);
    ASSERT_CONTAINS(r.err, "no sink configured");
    t_run_free(&r);
}

TEST(runtime_unknown_source_type_suggests)
{
    const char *dir = conf_dir("{\"sources\": [{\"type\": \"synthetc\"}]}");
    nullsink_dropin(dir, "n", "{}");
    const char *args[] = {"run", "-c", dir, NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_EQ(r.status, 2);
    ASSERT_CONTAINS(r.err, "etwhost.json:1:");
    ASSERT_CONTAINS(r.err, "unknown source type \"synthetc\" (did you mean \"synthetic\"?)");
    t_run_free(&r);
}

/* Start a run in the background; returns its pid.  Output goes to files in tmp. */
static int64_t spawn_run(const char *dir)
{
    static char exe[4096];
    snprintf(exe, sizeof exe, "%s/etwhost", t_build());
    const char *argv[] = {exe, "run", "-c", dir, "--stats", NULL};
    int64_t pid;
    ASSERT_OK(plat_spawn(argv, NULL, t_path("%s/out.txt", t_tmpdir()),
                         t_path("%s/err.txt", t_tmpdir()), &pid));
    return pid;
}

TEST(runtime_sigterm_drains_and_exits_zero)
{
    const char *dir = conf_dir("{\"sources\": [{\"type\": \"synthetic\", \"count\": 0, "
                               "\"rate\": 20000}]}");
    nullsink_dropin(dir, "null", "{}");
    int64_t pid = spawn_run(dir);
    plat_sleep_ms(1500);
    int status = -1;
    ASSERT_OK(plat_kill(pid, PLAT_SIG_STOP, 90000, &status));
    ASSERT_EQ(status, 0);
    char *err = t_read_file(t_path("%s/err.txt", t_tmpdir()), NULL);
    ASSERT(err != NULL);
    long long n = counter(err, "events");
    ASSERT_MSG(n > 5000, "only %lld events:\n%s", n, err);
    /* Everything read from the source reached the sink. */
    ASSERT_CONTAINS(err, t_path("%lld events in", n));
    ASSERT_CONTAINS(err, t_path("%lld delivered, 0 filtered, 0 lost", n));
    mem_free(err);
}

/* Collect "Sequence":N values from JSON lines; returns count, fills seen[]. */
static size_t collect_sequences(const char *text, unsigned char *seen, size_t cap, size_t *dups)
{
    size_t n = 0;
    for (const char *p = text ? strstr(text, "\"Sequence\":") : NULL; p;
         p = strstr(p + 1, "\"Sequence\":")) {
        unsigned long long v = strtoull(p + 11, NULL, 10);
        if (v < cap) {
            if (seen[v])
                (*dups)++;
            seen[v] = 1;
        }
        n++;
    }
    return n;
}

/* SIGHUP swaps the sink between batches: every event lands exactly once. */
TEST(runtime_sighup_reload_loses_and_duplicates_nothing)
{
    const char *dir = conf_dir("{\"sources\": [{\"type\": \"synthetic\", \"count\": 0, "
                               "\"rate\": 20000, \"kinds\": [\"blob\"], \"blob_bytes\": 8}]}");
    const char *a = t_path("%s/a.jsonl", t_tmpdir());
    const char *b = t_path("%s/b.jsonl", t_tmpdir());
    char dropa[4096], dropb[4096];
    snprintf(dropa, sizeof dropa,
             "{\"name\": \"out\", \"plugin\": \"file\", \"settings\": {\"path\": \"%s\"}}", a);
    snprintf(dropb, sizeof dropb,
             "{\"name\": \"out\", \"plugin\": \"file\", \"settings\": {\"path\": \"%s\"}}", b);
    dropin(dir, "50-out.json", dropa);
    int64_t pid = spawn_run(dir);
    plat_sleep_ms(1200);
    dropin(dir, "50-out.json", dropb);
    ASSERT_OK(plat_kill(pid, PLAT_SIG_RELOAD, 0, NULL));
    plat_sleep_ms(1200);
    int status = -1;
    ASSERT_OK(plat_kill(pid, PLAT_SIG_STOP, 90000, &status));
    char *err = t_read_file(t_path("%s/err.txt", t_tmpdir()), NULL);
    ASSERT_MSG(status == 0, "exit %d:\n%s", status, err ? err : "");
    ASSERT_CONTAINS(err, "configuration reloaded");
    char *ta = t_read_file(a, NULL), *tb = t_read_file(b, NULL);
    ASSERT(ta != NULL && tb != NULL);
    size_t cap = 1 << 20, dups = 0;
    unsigned char *seen = calloc(cap, 1);
    size_t na = collect_sequences(ta, seen, cap, &dups);
    size_t nb = collect_sequences(tb, seen, cap, &dups);
    ASSERT_MSG(na > 1000 && nb > 1000, "a %zu, b %zu lines", na, nb);
    ASSERT_EQ(dups, 0);
    /* Sequences 0 .. na+nb-1 all present: nothing lost at the swap. */
    for (size_t i = 0; i < na + nb; i++)
        ASSERT_MSG(seen[i], "sequence %zu missing (a %zu, b %zu)", i, na, nb);
    ASSERT_CONTAINS(err, t_path("%zu events in", na + nb));
    free(seen);
    mem_free(ta);
    mem_free(tb);
    mem_free(err);
}

/* `etwhost dump x.etl | head -n 1` ends quietly, like any filter tool. */
TEST(runtime_dump_into_closed_pipe_is_quiet)
{
#if defined(_WIN32)
    SKIP("uses a shell pipeline");
#else
    const char *etl = t_path("%s/sample.etl", t_tmpdir());
    const char *gen[] = {"--kind", "mixed", "--events", "20000", NULL};
    t_etlgen(etl, gen);
    const char *argv[] = {"bash", "-c",
                          "\"$0\" dump \"$1\" | head -n 1; exit ${PIPESTATUS[0]}",
                          t_path("%s/etwhost", t_build()), etl, NULL};
    struct t_run r = t_exec(argv, NULL, NULL);
    ASSERT_EQ(t_count_lines(r.out), 1);
    ASSERT_CONTAINS(r.out, "\"timestamp\"");
    /* Ended by SIGPIPE (128 + 13) with nothing on stderr. */
    ASSERT_MSG(r.status == 141, "status %d\n%s", r.status, r.err);
    ASSERT_EQ(r.err_len, 0);
    t_run_free(&r);
#endif
}
