/*
 * End-to-end tests of the kafka sink against a real Apache Kafka 4.x broker
 * (single node, KRaft) on 127.0.0.1, started by tests/kafka/kafka-broker.sh.
 *
 * `make test-kafka` starts one shared broker and sets ETWHOST_KAFKA_DIR to
 * its directory; without it these tests skip.  Tests that crash or withhold
 * the broker start their own, in their temporary directory, and stop it at
 * exit.  Every test writes to its own topics and reads them back with kcat.
 * Expected content always comes from a second `etwhost run` of the same
 * synthetic source into the stdout sink.
 */
#include <jansson.h>
#include <stdarg.h>
#include <time.h>

#include "core/err.h"
#include "core/mem.h"
#include "etwhost/plugin.h"
#include "platform/platform.h"
#include "test.h"

/* ---- broker helpers ---- */

static const char *broker_script(void)
{
    return t_path("%s/tests/kafka/kafka-broker.sh", t_root());
}

/* Bootstrap address of the broker in dir ("127.0.0.1:PORT"). */
static const char *brokers_of(const char *dir)
{
    static char out[4][64];
    static int idx;
    char *o = out[idx++ & 3];
    char *ports = t_read_file(t_path("%s/ports", dir), NULL);
    ASSERT_MSG(ports != NULL, "%s has no ports file", dir);
    snprintf(o, 64, "127.0.0.1:%d", atoi(ports));
    mem_free(ports);
    return o;
}

/* The shared broker of `make test-kafka`, or skip. */
static const char *shared_broker(void)
{
    if (t_under_wine())
        SKIP("the Kafka broker tests drive a Linux broker with bash and kcat (not under Wine)");
    const char *dir = getenv("ETWHOST_KAFKA_DIR");
    if (dir == NULL || !*dir)
        SKIP("no Kafka broker: run `make test-kafka` (or set ETWHOST_KAFKA_DIR to a directory "
             "started with tests/kafka/kafka-broker.sh start DIR)");
    return brokers_of(dir);
}

static char own_dir[4096];

static void own_broker_stop(void)
{
    if (own_dir[0]) {
        const char *argv[] = {"bash", broker_script(), "stop", own_dir, NULL};
        struct t_run r = t_exec(argv, NULL, NULL);
        t_run_free(&r);
        own_dir[0] = '\0';
    }
}

/* A private broker directory for this test (ports chosen, formatted), stopped at exit. */
static const char *own_broker_prepare(void)
{
    shared_broker(); /* same precondition: the harness (java, jars) is there */
    snprintf(own_dir, sizeof own_dir, "%s/broker", t_tmpdir());
    atexit(own_broker_stop);
    const char *argv[] = {"bash", broker_script(), "prepare", own_dir, NULL};
    struct t_run r = t_exec(argv, NULL, NULL);
    ASSERT_MSG(r.status == 0, "kafka-broker.sh prepare failed:\n%s", r.err);
    t_run_free(&r);
    return brokers_of(own_dir);
}

static void own_broker_cmd(const char *cmd)
{
    uint64_t t0 = plat_monotonic_ns();
    const char *argv[] = {"bash", broker_script(), cmd, own_dir, NULL};
    struct t_run r = t_exec(argv, NULL, NULL);
    ASSERT_MSG(r.status == 0, "kafka-broker.sh %s failed:\n%s", cmd, r.err);
    printf("  broker %s took %.1f s\n", cmd, (double)(plat_monotonic_ns() - t0) / 1e9);
    fflush(stdout);
    t_run_free(&r);
}

/* A topic name no other test or run uses. */
static const char *unique_topic(const char *what)
{
    static char out[4][128];
    static int idx;
    char *o = out[idx++ & 3];
    snprintf(o, 128, "etw_%s_%u_%llx", what, (unsigned)plat_getpid(),
             (unsigned long long)(plat_now_filetime() / 10000) & 0xffffffffull);
    return o;
}

/* Everything in topic, one line per message, in kcat's -f format. */
static char *consume(const char *brokers, const char *topic, const char *fmt)
{
    const char *argv[] = {"kcat", "-C", "-b", brokers, "-t", topic, "-o", "beginning", "-e", "-q",
                          "-X", "fetch.message.max.bytes=8388608", "-f", fmt, NULL};
    struct t_run r = t_exec(argv, NULL, NULL);
    ASSERT_MSG(r.status == 0, "kcat -C %s failed (%d): %s", topic, r.status, r.err);
    char *out = r.out;
    r.out = NULL;
    t_run_free(&r);
    return out;
}

/*
 * Results worth reading even when a test passes (the runner shows a test's
 * output only on failure): printed and appended to <build>/tests/kafka-report.txt,
 * which `make test-kafka` shows at the end.
 */
#if defined(__GNUC__) || defined(__clang__)
T_PRINTF(1, 2)
#endif
static void report(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    printf("  %s\n", line);
    FILE *f = fopen(t_path("%s/tests/kafka-report.txt", t_build()), "a");
    if (f) {
        fprintf(f, "%s\n", line);
        fclose(f);
    }
}

/* ---- etwhost helpers ---- */

/* A config folder with one synthetic source and one sink instance. */
static const char *make_conf(const char *name, const char *source, const char *plugin,
                             const char *sink_settings)
{
    const char *dir = t_path("%s/%s", t_tmpdir(), name);
    t_mkdir(t_path("%s/conf.d", dir));
    t_write_file(t_path("%s/etwhost.json", dir),
                 t_path("{\"sources\":[%s],\"state_dir\":\"%s/state\"}", source, dir));
    t_write_file(t_path("%s/conf.d/50-sink.json", dir),
                 t_path("{\"name\":\"out\",\"plugin\":\"%s\",\"settings\":%s}", plugin,
                        sink_settings));
    return dir;
}

/* Run etwhost with a stdout sink: the expected JSON lines of source. */
static char *expected_lines(const char *source)
{
    const char *dir = make_conf("expect", source, "stdout", "{\"format\":\"json\"}");
    const char *args[] = {"run", "-q", "-c", dir, NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_MSG(r.status == 0, "etwhost run (stdout) failed: %s", r.err);
    char *out = r.out;
    r.out = NULL;
    t_run_free(&r);
    return out;
}

static struct t_run run_kafka(const char *name, const char *source, const char *settings)
{
    const char *dir = make_conf(name, source, "kafka", settings);
    const char *args[] = {"run", "--stats=3600", "-c", dir, NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_MSG(r.status == 0, "etwhost run (kafka) failed (%d):\n%s", r.status, r.err);
    return r;
}

/* Value of counter name in the sink's final stats line ("name=N"). */
static long long counter_in(const char *err, const char *name)
{
    const char *last = NULL;
    char needle[64];
    snprintf(needle, sizeof needle, " %s=", name);
    for (const char *p = strstr(err, needle); p; p = strstr(p + 1, needle))
        last = p;
    ASSERT_MSG(last != NULL, "no counter %s in:\n%s", name, err);
    return atoll(last + strlen(needle));
}

/* ---- line sets ---- */

struct lines {
    char **v;
    size_t n;
};

/* Split text into lines (in place). */
static struct lines split_lines(char *text)
{
    struct lines l = {NULL, 0};
    size_t cap = t_count_lines(text) + 1;
    l.v = calloc(cap, sizeof *l.v);
    ASSERT(l.v != NULL);
    for (char *p = text; *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        l.v[l.n++] = p;
        if (!nl)
            break;
        p = nl + 1;
    }
    return l;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Compare what arrived with what was expected, as multisets: every expected
 * line must be there (at-least-once); extra copies are duplicates.  Also
 * counts late messages: those that arrived after an event written later.
 */
struct delivery {
    size_t expected, got, missing, duplicates, unexpected, out_of_order;
};

struct idx_line {
    const char *line;
    size_t idx;
};

static int cmp_idx_line(const void *a, const void *b)
{
    return strcmp(((const struct idx_line *)a)->line, ((const struct idx_line *)b)->line);
}

static struct delivery compare_delivery(const struct lines *exp, const struct lines *got)
{
    struct delivery d = {exp->n, got->n, 0, 0, 0, 0};
    char **e = malloc((exp->n + 1) * sizeof *e), **g = malloc((got->n + 1) * sizeof *g);
    ASSERT(e && g);
    memcpy(e, exp->v, exp->n * sizeof *e);
    memcpy(g, got->v, got->n * sizeof *g);
    qsort(e, exp->n, sizeof *e, cmp_str);
    qsort(g, got->n, sizeof *g, cmp_str);
    size_t i = 0, j = 0;
    while (i < exp->n || j < got->n) {
        int c = i == exp->n ? 1 : j == got->n ? -1 : strcmp(e[i], g[j]);
        if (c < 0) {
            d.missing++;
            i++;
        } else if (c > 0) {
            /* Either another copy of the previous expected line or foreign. */
            if (j > 0 && strcmp(g[j], g[j - 1]) == 0 && i > 0 && strcmp(g[j], e[i - 1]) == 0)
                d.duplicates++;
            else
                d.unexpected++;
            j++;
        } else {
            i++;
            j++;
        }
    }
    free(e);
    free(g);
    /*
     * Order: a message is late if an event written after it arrived first.
     * Only first copies count (lines are unique in the source).
     */
    struct idx_line *ix = malloc((exp->n + 1) * sizeof *ix);
    uint8_t *seen = calloc(exp->n + 1, 1);
    ASSERT(ix && seen);
    for (size_t q = 0; q < exp->n; q++)
        ix[q] = (struct idx_line){exp->v[q], q};
    qsort(ix, exp->n, sizeof *ix, cmp_idx_line);
    size_t max_seen = 0;
    int any = 0;
    for (size_t q = 0; q < got->n; q++) {
        struct idx_line key = {got->v[q], 0};
        struct idx_line *hit = bsearch(&key, ix, exp->n, sizeof *ix, cmp_idx_line);
        if (hit == NULL || seen[hit->idx])
            continue;
        seen[hit->idx] = 1;
        if (any && hit->idx < max_seen)
            d.out_of_order++;
        if (!any || hit->idx > max_seen)
            max_seen = hit->idx;
        any = 1;
    }
    free(ix);
    free(seen);
    return d;
}

static void print_delivery(const char *what, const struct delivery *d)
{
    report("%s: expected %zu, received %zu, missing %zu, duplicates %zu, unexpected %zu, "
           "late (arrived after a later event) %zu",
           what, d->expected, d->got, d->missing, d->duplicates, d->unexpected, d->out_of_order);
}

/* RFC 3339 UTC "YYYY-MM-DDTHH:MM:SS.fffffffZ" to milliseconds since 1970. */
static long long rfc3339_ms(const char *s)
{
    int y, mo, d, h, mi, sec;
    ASSERT(sscanf(s, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &sec) == 6);
    /* Days from civil (proleptic Gregorian). */
    y -= mo <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long long days = era * 146097 + doe - 719468;
    long long ms = ((days * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL;
    const char *frac = strchr(s, '.');
    if (frac) {
        int digits = 0;
        long long f = 0;
        for (frac++; *frac >= '0' && *frac <= '9' && digits < 3; frac++, digits++)
            f = f * 10 + (*frac - '0');
        while (digits++ < 3)
            f *= 10;
        ms += f;
    }
    return ms;
}

/*
 * Lines of "%T\t%s": check that every message's Kafka timestamp is its event's
 * time (also for messages that went through the spool), then keep the JSON.
 */
static void strip_checked_timestamps(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++) {
        char *tab = strchr(l->v[i], '\t');
        ASSERT_MSG(tab != NULL, "bad kcat line: %.100s", l->v[i]);
        *tab = '\0';
        json_t *j = json_loads(tab + 1, 0, NULL);
        ASSERT_MSG(j != NULL, "not JSON: %.100s", tab + 1);
        long long want = rfc3339_ms(json_string_value(json_object_get(j, "timestamp")));
        ASSERT_MSG(atoll(l->v[i]) == want, "message %zu: Kafka timestamp %s, event time %lld", i,
                   l->v[i], want);
        json_decref(j);
        l->v[i] = tab + 1;
    }
}

/* ---- tests ---- */

TEST(kafka_broker_roundtrip_equals_stdout_sink)
{
    const char *brokers = shared_broker();
    const char *topic = unique_topic("rt");
    /* All kinds, with the largest payload an ETW event can carry (64 KB). */
    const char *source = "{\"type\":\"synthetic\",\"count\":3000,\"seed\":42,\"kinds\":[\"process\","
                         "\"file\",\"tcp\",\"dns\",\"module\",\"blob\"],\"blob_bytes\":65535}";
    struct t_run r = run_kafka(
        "run", source,
        t_path("{\"brokers\":\"%s\",\"topic\":\"%s\",\"key\":\"{provider_guid}\","
               "\"rdkafka\":{\"message.max.bytes\":\"2000000\"}}",
               brokers, topic));
    ASSERT_EQ(counter_in(r.err, "delivered"), 3000);
    ASSERT_EQ(counter_in(r.err, "spooled"), 0);
    t_run_free(&r);
    char *exp_text = expected_lines(source);
    char *got_text = consume(brokers, topic, "%s\n");
    struct lines exp = split_lines(exp_text), got = split_lines(got_text);
    size_t biggest = 0;
    for (size_t i = 0; i < exp.n; i++)
        biggest = strlen(exp.v[i]) > biggest ? strlen(exp.v[i]) : biggest;
    report("round trip: %zu events identical to the stdout sink, largest JSON line %zu bytes",
           exp.n, biggest);
    ASSERT(biggest > 100000);
    ASSERT_EQ(exp.n, 3000);
    ASSERT_EQ(got.n, exp.n);
    /* One partition: same events, same bytes, same order. */
    for (size_t i = 0; i < exp.n; i++)
        ASSERT_MSG(strcmp(exp.v[i], got.v[i]) == 0, "message %zu differs:\n  kafka:  %.200s\n"
                   "  stdout: %.200s", i, got.v[i], exp.v[i]);
    free(exp.v);
    free(got.v);
    mem_free(exp_text);
    mem_free(got_text);
}

TEST(kafka_broker_topic_key_headers_timestamp)
{
    const char *brokers = shared_broker();
    const char *prefix = unique_topic("tpl");
    const char *source = "{\"type\":\"synthetic\",\"count\":600,\"seed\":3}";
    struct t_run r = run_kafka("run", source,
                               t_path("{\"brokers\":\"%s\",\"topic\":\"%s.{provider}.{level}\","
                                      "\"key\":\"{pid}:{event_id}\",\"host\":\"etw-test-host\"}",
                                      brokers, prefix));
    ASSERT_EQ(counter_in(r.err, "delivered"), 600);
    t_run_free(&r);
    char *exp_text = expected_lines(source);
    struct lines exp = split_lines(exp_text);
    ASSERT_EQ(exp.n, 600);
    /* The topics the events should have gone to. */
    char topics[32][256];
    size_t ntopics = 0, checked = 0;
    for (size_t i = 0; i < exp.n; i++) {
        json_t *j = json_loads(exp.v[i], 0, NULL);
        ASSERT(j != NULL);
        char t[256];
        snprintf(t, sizeof t, "%s.%s.%d", prefix,
                 json_string_value(json_object_get(j, "provider")),
                 (int)json_integer_value(json_object_get(j, "level")));
        size_t k = 0;
        while (k < ntopics && strcmp(topics[k], t) != 0)
            k++;
        if (k == ntopics) {
            ASSERT(ntopics < 32);
            snprintf(topics[ntopics++], 256, "%s", t);
        }
        json_decref(j);
    }
    ASSERT(ntopics >= 3);
    for (size_t k = 0; k < ntopics; k++) {
        char *got_text = consume(brokers, topics[k], "%k\t%h\t%T\t%s\n");
        struct lines got = split_lines(got_text);
        ASSERT(got.n > 0);
        for (size_t i = 0; i < got.n; i++) {
            char *f[4], *p = got.v[i];
            for (int c = 0; c < 3; c++) {
                f[c] = p;
                p = strchr(p, '\t');
                ASSERT_MSG(p != NULL, "bad kcat line: %.200s", got.v[i]);
                *p++ = '\0';
            }
            f[3] = p;
            json_t *j = json_loads(f[3], 0, NULL);
            ASSERT(j != NULL);
            const char *prov = json_string_value(json_object_get(j, "provider"));
            int level = (int)json_integer_value(json_object_get(j, "level"));
            char want[512];
            snprintf(want, sizeof want, "%s.%s.%d", prefix, prov, level);
            ASSERT_STREQ(topics[k], want);
            snprintf(want, sizeof want, "%lld:%lld",
                     (long long)json_integer_value(json_object_get(j, "pid")),
                     (long long)json_integer_value(json_object_get(j, "event_id")));
            ASSERT_STREQ(f[0], want);
            snprintf(want, sizeof want, "provider=%s,event_id=%lld,host=etw-test-host", prov,
                     (long long)json_integer_value(json_object_get(j, "event_id")));
            ASSERT_STREQ(f[1], want);
            long long ts = rfc3339_ms(json_string_value(json_object_get(j, "timestamp")));
            ASSERT_EQ(atoll(f[2]), ts);
            json_decref(j);
            checked++;
        }
        free(got.v);
        mem_free(got_text);
    }
    report("templates: %zu topics, %zu messages with key, headers and timestamp checked",
           ntopics, checked);
    ASSERT_EQ(checked, 600);
    free(exp.v);
    mem_free(exp_text);
}

TEST(kafka_broker_killed_and_restarted_loses_nothing)
{
    const char *brokers = own_broker_prepare();
    own_broker_cmd("start");
    const char *topic = unique_topic("kill");
    const char *source = "{\"type\":\"synthetic\",\"count\":30000,\"seed\":5,\"rate\":3000}";
    /*
     * A short message timeout makes deliveries fail during the outage, so the
     * spool is exercised, not only librdkafka's own retries.
     */
    const char *dir = make_conf(
        "run", source, "kafka",
        t_path("{\"brokers\":\"%s\",\"topic\":\"%s\",\"flush_timeout_ms\":120000,"
               "\"rdkafka\":{\"message.timeout.ms\":\"4000\"}}",
               brokers, topic));
    const char *argv[] = {t_path("%s/etwhost", t_build()), "run", "--stats=3600", "-c", dir,
                          NULL};
    const char *out = t_path("%s/run.out", t_tmpdir()), *err = t_path("%s/run.err", t_tmpdir());
    int64_t pid = 0;
    ASSERT_OK(plat_spawn(argv, NULL, out, err, &pid));
    plat_sleep_ms(3000);
    own_broker_cmd("kill"); /* SIGKILL mid-stream */
    plat_sleep_ms(3000);
    own_broker_cmd("start");
    int status = -1;
    ASSERT_MSG(plat_wait(pid, 200000, &status) == 0, "etwhost did not finish");
    char *err_text = t_read_file(err, NULL);
    ASSERT_MSG(status == 0, "etwhost run failed (%d):\n%s", status, err_text);
    long long spooled = counter_in(err_text, "spooled"), drained = counter_in(err_text, "drained");
    report("broker SIGKILL + restart: sink produced %lld, delivered %lld, failed %lld, "
           "spooled %lld, drained %lld",
           counter_in(err_text, "produced"), counter_in(err_text, "delivered"),
           counter_in(err_text, "failed"), spooled, drained);
    ASSERT_MSG(spooled > 0, "the outage never reached the spool:\n%s", err_text);
    ASSERT_EQ(drained, spooled);
    ASSERT_CONTAINS(err_text, " 0 kept in spool");
    mem_free(err_text);

    char *exp_text = expected_lines("{\"type\":\"synthetic\",\"count\":30000,\"seed\":5}");
    char *got_text = consume(brokers, topic, "%T\t%s\n");
    struct lines exp = split_lines(exp_text), got = split_lines(got_text);
    strip_checked_timestamps(&got);
    struct delivery d = compare_delivery(&exp, &got);
    print_delivery("broker SIGKILL + restart", &d);
    ASSERT_EQ(d.expected, 30000);
    ASSERT_EQ(d.missing, 0);
    ASSERT_EQ(d.unexpected, 0);
    free(exp.v);
    free(got.v);
    mem_free(exp_text);
    mem_free(got_text);
    own_broker_stop();
}

/*
 * Run 1 finds no broker and ends with its events in the spool.  Run 2 starts
 * with that spool and still no broker, so its own events queue behind; the
 * broker comes up while it runs, and everything must arrive in order.
 */
TEST(kafka_broker_absent_at_start_spools_then_drains_first)
{
    const char *brokers = own_broker_prepare(); /* address known, nothing listening */
    const char *topic = unique_topic("absent");
    const char *spool = t_path("%s/spool", t_tmpdir());
    char settings[1024];
    snprintf(settings, sizeof settings,
             "{\"brokers\":\"%s\",\"topic\":\"%s\",\"spool_dir\":\"%s\","
             "\"flush_timeout_ms\":%%d}",
             brokers, topic, spool);
    const char *src1 = "{\"type\":\"synthetic\",\"count\":5000,\"seed\":11}";
    const char *src2 = "{\"type\":\"synthetic\",\"count\":3000,\"seed\":12,\"rate\":1000}";
    struct t_run r = run_kafka("run1", src1, t_path(settings, 1000));
    ASSERT_EQ(counter_in(r.err, "delivered"), 0);
    ASSERT_EQ(counter_in(r.err, "spooled"), 5000);
    ASSERT_CONTAINS(r.err, "5000 kept in spool");
    t_run_free(&r);

    const char *dir = make_conf("run2", src2, "kafka", t_path(settings, 120000));
    const char *argv[] = {t_path("%s/etwhost", t_build()), "run", "--stats=3600", "-c", dir,
                          NULL};
    const char *err = t_path("%s/run2.err", t_tmpdir());
    int64_t pid = 0;
    ASSERT_OK(plat_spawn(argv, NULL, t_path("%s/run2.out", t_tmpdir()), err, &pid));
    plat_sleep_ms(1000);
    own_broker_cmd("start");
    int status = -1;
    ASSERT_MSG(plat_wait(pid, 200000, &status) == 0, "etwhost did not finish");
    char *err_text = t_read_file(err, NULL);
    ASSERT_MSG(status == 0, "etwhost run failed (%d):\n%s", status, err_text);
    report("broker absent, then started: run 2 spooled %lld, drained %lld, delivered %lld",
           counter_in(err_text, "spooled"), counter_in(err_text, "drained"),
           counter_in(err_text, "delivered"));
    ASSERT_EQ(counter_in(err_text, "delivered"), 8000);
    ASSERT(counter_in(err_text, "drained") >= 5000);
    ASSERT_CONTAINS(err_text, " 0 kept in spool");
    mem_free(err_text);

    /* The spooled events arrive first, in their order, then the new run's. */
    char *e1 = expected_lines(src1);
    char *e2 = expected_lines("{\"type\":\"synthetic\",\"count\":3000,\"seed\":12}");
    size_t l1 = strlen(e1), l2 = strlen(e2);
    char *exp_text = mem_alloc(l1 + l2 + 1);
    memcpy(exp_text, e1, l1);
    memcpy(exp_text + l1, e2, l2 + 1);
    char *got_text = consume(brokers, topic, "%T\t%s\n");
    struct lines exp = split_lines(exp_text), got = split_lines(got_text);
    strip_checked_timestamps(&got);
    struct delivery d = compare_delivery(&exp, &got);
    print_delivery("broker absent, then started", &d);
    ASSERT_EQ(exp.n, 8000);
    ASSERT_EQ(got.n, exp.n);
    for (size_t i = 0; i < exp.n; i++)
        ASSERT_MSG(strcmp(exp.v[i], got.v[i]) == 0, "message %zu out of order", i);
    free(exp.v);
    free(got.v);
    mem_free(e1);
    mem_free(e2);
    mem_free(exp_text);
    mem_free(got_text);
    own_broker_stop();
}

/* SIGHUP mid-stream: the host replaces the sink instance; nothing lost, repeated or reordered. */
TEST(kafka_broker_reload_mid_stream_keeps_every_event_in_order)
{
    const char *brokers = shared_broker();
    const char *topic = unique_topic("reload");
    const char *source = "{\"type\":\"synthetic\",\"count\":4000,\"seed\":21,\"rate\":1000}";
    const char *dir = make_conf("run", source, "kafka",
                                t_path("{\"brokers\":\"%s\",\"topic\":\"%s\"}", brokers, topic));
    const char *argv[] = {t_path("%s/etwhost", t_build()), "run", "--stats=3600", "-c", dir,
                          NULL};
    const char *err = t_path("%s/run.err", t_tmpdir());
    int64_t pid = 0;
    ASSERT_OK(plat_spawn(argv, NULL, t_path("%s/run.out", t_tmpdir()), err, &pid));
    plat_sleep_ms(1500);
    ASSERT_OK(plat_kill(pid, PLAT_SIG_RELOAD, 0, NULL));
    int status = -1;
    ASSERT_MSG(plat_wait(pid, 120000, &status) == 0, "etwhost did not finish");
    char *err_text = t_read_file(err, NULL);
    ASSERT_MSG(status == 0, "etwhost run failed (%d):\n%s", status, err_text);
    ASSERT_CONTAINS(err_text, "configuration reloaded");
    mem_free(err_text);
    char *exp_text = expected_lines("{\"type\":\"synthetic\",\"count\":4000,\"seed\":21}");
    char *got_text = consume(brokers, topic, "%s\n");
    struct lines exp = split_lines(exp_text), got = split_lines(got_text);
    struct delivery d = compare_delivery(&exp, &got);
    print_delivery("SIGHUP reload mid-stream", &d);
    ASSERT_EQ(exp.n, 4000);
    ASSERT_EQ(got.n, exp.n);
    for (size_t i = 0; i < exp.n; i++)
        ASSERT_MSG(strcmp(exp.v[i], got.v[i]) == 0, "message %zu out of order", i);
    free(exp.v);
    free(got.v);
    mem_free(exp_text);
    mem_free(got_text);
}

/* ---- values far larger than an ETW event, through a minimal host ---- */

/*
 * ETW caps an event at 64 KB, so the synthetic source cannot make the
 * near-megabyte values some Kafka deployments carry.  This host hands the
 * plugin such values directly: settings from JSON, events with a header and
 * a JSON line, thread-safe counters and log.
 */
struct mini_host {
    json_t *settings;
    char *dumps[8];
    int ndumps;
    char state_dir[512];
    char log[16384];
    struct plat_mutex mu;
};

struct mini_event {
    etwhost_event_header hdr;
    const char *json;
    size_t len;
};

static struct mini_host *mh_of(const void *p)
{
    return (struct mini_host *)(uintptr_t)p;
}

static const char *ETWHOST_CALL mh_version(void) { return "test"; }

static void ETWHOST_CALL mh_log(etwhost_host *h, int32_t level, const char *msg)
{
    struct mini_host *m = mh_of(h);
    plat_mutex_lock(&m->mu);
    size_t n = strlen(m->log);
    snprintf(m->log + n, sizeof m->log - n, "%d %s\n", (int)level, msg);
    plat_mutex_unlock(&m->mu);
    fprintf(stderr, "[plugin log %d] %s\n", (int)level, msg);
}

static void *ETWHOST_CALL mh_alloc(etwhost_host *h, size_t n) { (void)h; return malloc(n); }
static void ETWHOST_CALL mh_free(etwhost_host *h, void *p) { (void)h; free(p); }

static json_t *mh_get(const etwhost_config *c, const char *key)
{
    return json_object_get(mh_of(c)->settings, key);
}

static etwhost_status ETWHOST_CALL mh_str(const etwhost_config *c, const char *key,
                                          const char **out, size_t *len)
{
    json_t *v = mh_get(c, key);
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    if (!json_is_string(v))
        return ETWHOST_ERR_TYPE;
    *out = json_string_value(v);
    *len = json_string_length(v);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL mh_i64(const etwhost_config *c, const char *key, int64_t *out)
{
    json_t *v = mh_get(c, key);
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    if (!json_is_integer(v))
        return ETWHOST_ERR_TYPE;
    *out = json_integer_value(v);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL mh_f64(const etwhost_config *c, const char *key, double *out)
{
    json_t *v = mh_get(c, key);
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    if (!json_is_number(v))
        return ETWHOST_ERR_TYPE;
    *out = json_number_value(v);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL mh_bool(const etwhost_config *c, const char *key,
                                           int32_t *out)
{
    json_t *v = mh_get(c, key);
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    if (!json_is_boolean(v))
        return ETWHOST_ERR_TYPE;
    *out = json_is_true(v);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL mh_json(const etwhost_config *c, const char *key,
                                           const char **out, size_t *len)
{
    struct mini_host *m = mh_of(c);
    json_t *v = key ? mh_get(c, key) : m->settings;
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    ASSERT(m->ndumps < 8);
    char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    ASSERT(d != NULL);
    m->dumps[m->ndumps++] = d;
    *out = d;
    *len = strlen(d);
    return ETWHOST_OK;
}

static const etwhost_event_header *ETWHOST_CALL mh_header(const etwhost_event *ev)
{
    return &((const struct mini_event *)(const void *)ev)->hdr;
}

static etwhost_status ETWHOST_CALL mh_event_json(const etwhost_event *ev, const char **out,
                                                 size_t *len)
{
    const struct mini_event *e = (const struct mini_event *)(const void *)ev;
    *out = e->json;
    *len = e->len;
    return ETWHOST_OK;
}

static int32_t ETWHOST_CALL mh_counter_register(etwhost_host *h, const char *name)
{
    (void)h;
    (void)name;
    return 0; /* the test reads the plugin's stats() instead */
}

static void ETWHOST_CALL mh_counter_add(etwhost_host *h, int32_t id, int64_t d)
{
    (void)h;
    (void)id;
    (void)d;
}

static etwhost_status ETWHOST_CALL mh_state_dir(etwhost_host *h, char *buf, size_t cap,
                                                size_t *needed)
{
    struct mini_host *m = mh_of(h);
    size_t n = strlen(m->state_dir) + 1;
    if (needed)
        *needed = n;
    if (cap < n)
        return ETWHOST_ERR_RANGE;
    memcpy(buf, m->state_dir, n);
    return ETWHOST_OK;
}

static const etwhost_host_api mini_api = {
    .struct_size = sizeof(etwhost_host_api),
    .abi_major = ETWHOST_ABI_MAJOR,
    .abi_minor = ETWHOST_ABI_MINOR,
    .host_version = mh_version,
    .log = mh_log,
    .alloc = mh_alloc,
    .free = mh_free,
    .config_get_str = mh_str,
    .config_get_i64 = mh_i64,
    .config_get_f64 = mh_f64,
    .config_get_bool = mh_bool,
    .config_get_json = mh_json,
    .event_header = mh_header,
    .event_json = mh_event_json,
    .counter_register = mh_counter_register,
    .counter_add = mh_counter_add,
    .state_dir = mh_state_dir,
};

static long long plugin_stat(const etwhost_plugin *d, void *inst, const char *key)
{
    static char buf[1 << 16];
    size_t need;
    ASSERT_EQ(d->stats(inst, buf, sizeof buf, &need), ETWHOST_OK);
    json_t *j = json_loads(buf, 0, NULL);
    ASSERT(j != NULL);
    json_t *v = json_object_get(j, key);
    ASSERT_MSG(json_is_integer(v), "no stat %s in %s", key, buf);
    long long r = (long long)json_integer_value(v);
    json_decref(j);
    return r;
}

TEST(kafka_broker_values_near_a_megabyte_and_oversize_rejects)
{
    const char *brokers = shared_broker();
    const char *topic = unique_topic("big");
    void *lib = NULL;
    struct errbuf eb;
    const char *so = t_path("%s/plugins/kafka.so", t_build());
    ASSERT_MSG(plat_dl_open(so, &lib, &eb) == 0, "%s", eb.msg);
    etwhost_plugin_entry_fn entry =
        (etwhost_plugin_entry_fn)plat_dl_sym(lib, ETWHOST_PLUGIN_ENTRY_NAME);
    ASSERT(entry != NULL);
    const etwhost_plugin *d = entry();

    struct mini_host mh;
    memset(&mh, 0, sizeof mh);
    plat_mutex_init(&mh.mu);
    snprintf(mh.state_dir, sizeof mh.state_dir, "%s/state", t_tmpdir());
    /* librdkafka's message.max.bytes raised to 2 MB (the test broker takes 4 MB). */
    const char *settings = t_path("{\"brokers\":\"%s\",\"topic\":\"%s\",\"rdkafka\":"
                                  "{\"message.max.bytes\":\"2000000\"}}",
                                  brokers, topic);
    mh.settings = json_loads(settings, 0, NULL);
    ASSERT(mh.settings != NULL);
    void *inst = NULL;
    char err[1024] = "";
    etwhost_status st = d->create((etwhost_host *)(void *)&mh, &mini_api,
                                  (const etwhost_config *)(void *)&mh, &inst, err, sizeof err);
    ASSERT_MSG(st == ETWHOST_OK, "create: %s", err);

    /* Five values of 900 KB to 1.5 MB, then one of 2.5 MB that no setting lets through. */
    const size_t sizes[6] = {900000, 900000, 950000, 1200000, 1500000, 2500000};
    struct mini_event ev[6];
    const etwhost_event *evp[6];
    char *vals[6];
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 6; i++) {
        vals[i] = malloc(sizes[i] + 1);
        ASSERT(vals[i] != NULL);
        int hl = snprintf(vals[i], 64, "{\"i\":%d,\"pad\":\"", i);
        for (size_t k = (size_t)hl; k < sizes[i] - 2; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            vals[i][k] = (char)('a' + x % 26);
        }
        memcpy(vals[i] + sizes[i] - 2, "\"}", 3);
        memset(&ev[i], 0, sizeof ev[i]);
        ev[i].hdr.struct_size = sizeof ev[i].hdr;
        ev[i].hdr.provider_name = "Big-Provider";
        ev[i].hdr.event_name = ev[i].hdr.task_name = ev[i].hdr.opcode_name = "";
        ev[i].hdr.event_id = (uint16_t)i;
        ev[i].hdr.timestamp = 133801632000000000LL + i * 10000LL;
        ev[i].json = vals[i];
        ev[i].len = sizes[i];
        evp[i] = (const etwhost_event *)(void *)&ev[i];
    }
    uint32_t acc = 0;
    ASSERT_EQ(d->write(inst, evp, 6, &acc), ETWHOST_OK);
    ASSERT_EQ(acc, 6);
    ASSERT_EQ(d->flush(inst), ETWHOST_OK);
    ASSERT_EQ(d->close(inst, err, sizeof err), ETWHOST_OK);
    ASSERT_EQ(plugin_stat(d, inst, "delivered"), 5);
    ASSERT_EQ(plugin_stat(d, inst, "rejected"), 1);
    ASSERT_EQ(plugin_stat(d, inst, "spooled"), 0);
    ASSERT_EQ(plugin_stat(d, inst, "dropped"), 0);
    plat_mutex_lock(&mh.mu);
    ASSERT_CONTAINS(mh.log, "refused");
    ASSERT_CONTAINS(mh.log, "2500000 bytes");
    plat_mutex_unlock(&mh.mu);
    d->destroy(inst);

    char *got_text = consume(brokers, topic, "%s\n");
    struct lines got = split_lines(got_text);
    ASSERT_EQ(got.n, 5);
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(strlen(got.v[i]), sizes[i]);
        ASSERT_MSG(strcmp(got.v[i], vals[i]) == 0, "value %d differs", i);
    }
    report("large values: 5 messages of 0.9-1.5 MB identical after the round trip; a 2.5 MB "
           "one counted as rejected and logged");
    free(got.v);
    mem_free(got_text);
    for (int i = 0; i < 6; i++)
        free(vals[i]);
    for (int i = 0; i < mh.ndumps; i++)
        free(mh.dumps[i]);
    json_decref(mh.settings);
    plat_mutex_destroy(&mh.mu);
    plat_dl_close(lib);
}
