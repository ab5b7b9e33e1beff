/*
 * Tests of the kafka sink plugin without a real broker: the built kafka.so
 * in the stand-in host, against nothing (a closed port) or librdkafka's
 * in-process mock cluster (test.mock.num.brokers), plus start-up errors of
 * the real binary.
 *
 * Counts are read from the plugin's stats() JSON: the plugin updates them
 * from its service thread as well as from write().
 */
#include <jansson.h>

#include "platform/platform.h"
#include "test.h"
#include "test_plugin_fakehost.h"

/* Settings with a private spool and any extra members ("" for none). */
static const char *settings(const char *spool, const char *extra)
{
    return t_path("{\"spool_dir\":\"%s\"%s%s}", spool, extra[0] ? "," : "", extra);
}

static void *create_ok(struct fake_host *fh, const char *json)
{
    void *inst = NULL;
    char err[1024];
    etwhost_status rc = fh_create(fh, json, &inst, err, sizeof err);
    ASSERT_MSG(rc == ETWHOST_OK, "create failed: %s\n  settings: %s", err, json);
    return inst;
}

static json_t *stats_of(struct fake_host *fh, void *inst)
{
    static char buf[1 << 20];
    size_t need = 0;
    ASSERT_EQ(fh->desc->stats(inst, buf, sizeof buf, &need), ETWHOST_OK);
    json_error_t je;
    json_t *j = json_loads(buf, 0, &je);
    ASSERT_MSG(j != NULL, "stats are not JSON (%s): %.300s", je.text, buf);
    return j;
}

/* A number from the stats, "a" or "a.b". */
static int64_t stat_i(struct fake_host *fh, void *inst, const char *path)
{
    json_t *j = stats_of(fh, inst), *v = j;
    char key[64];
    snprintf(key, sizeof key, "%s", path);
    for (char *p = strtok(key, "."); p && v; p = strtok(NULL, "."))
        v = json_object_get(v, p);
    ASSERT_MSG(v != NULL && (json_is_integer(v) || json_is_boolean(v)), "no stat %s", path);
    int64_t r = json_is_boolean(v) ? json_is_true(v) : (int64_t)json_integer_value(v);
    json_decref(j);
    return r;
}

/* Wait until stat path >= want (or timeout); returns the last value. */
static int64_t wait_stat(struct fake_host *fh, void *inst, const char *path, int64_t want,
                         uint32_t timeout_ms)
{
    uint64_t end = plat_monotonic_ns() + (uint64_t)timeout_ms * 1000000u;
    int64_t v;
    while ((v = stat_i(fh, inst, path)) < want && plat_monotonic_ns() < end)
        plat_sleep_ms(20);
    return v;
}

struct evset {
    struct fake_event *ev;
    const etwhost_event **ptr;
    uint32_t n;
};

/* n events numbered from first; pad makes each JSON line about that many bytes. */
static struct evset make_events(uint32_t n, uint32_t first, size_t pad)
{
    struct evset e = {calloc(n, sizeof(struct fake_event)), calloc(n, sizeof(void *)), n};
    ASSERT(e.ev && e.ptr);
    uint64_t x = 0x9E3779B97F4A7C15ull * (first + 1);
    for (uint32_t i = 0; i < n; i++) {
        fev_init(&e.ev[i], "Test-Provider", (uint16_t)(1 + i % 5), 4);
        e.ev[i].hdr.pid = 100 + i % 7;
        char js[2048], p[1800];
        size_t pl = pad < sizeof p ? pad : sizeof p - 1;
        /* Pseudo-random printable text: the spool cannot compress it away. */
        for (size_t k = 0; k < pl; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            p[k] = (char)('a' + x % 26);
        }
        p[pl] = '\0';
        snprintf(js, sizeof js, "{\"seq\":%u,\"pad\":\"%s\"}", first + i, p);
        fev_json(&e.ev[i], js);
        e.ptr[i] = FEV(&e.ev[i]);
    }
    return e;
}

static void free_events(struct evset *e)
{
    free(e->ev);
    free(e->ptr);
}

/* Offer all events, honouring partial accepts; returns how many RETRY answers came back. */
static uint32_t write_all(struct fake_host *fh, void *inst, const struct evset *e, int flush_on_retry)
{
    uint32_t off = 0, retries = 0;
    while (off < e->n) {
        uint32_t n = e->n - off < 100 ? e->n - off : 100, acc = 0;
        etwhost_status rc = fh->desc->write(inst, e->ptr + off, n, &acc);
        ASSERT(acc <= n);
        off += acc;
        if (rc == ETWHOST_RETRY) {
            /* Back off like the host does (briefly: the tests want speed). */
            retries++;
            ASSERT(retries < 3000);
            if (flush_on_retry)
                fh->desc->flush(inst);
            else
                plat_sleep_ms(5);
            continue;
        }
        ASSERT_EQ(rc, ETWHOST_OK);
        ASSERT_EQ(acc, n);
    }
    return retries;
}

static void close_ok(struct fake_host *fh, void *inst)
{
    char err[1024] = "";
    if (fh->desc->flush)
        fh->desc->flush(inst);
    etwhost_status rc = fh->desc->close(inst, err, sizeof err);
    ASSERT_MSG(rc == ETWHOST_OK, "close: %s", err);
}

static void expect_create_error(const char *json, const char *needle)
{
    struct fake_host fh;
    fh_init(&fh, "kafka");
    void *inst = NULL;
    char err[1024] = "";
    etwhost_status rc = fh_create(&fh, json, &inst, err, sizeof err);
    ASSERT_MSG(rc < 0, "accepted: %s", json);
    ASSERT_CONTAINS(err, needle);
    ASSERT_MSG(strchr(err, '\n') == NULL, "message is not one line: %s", err);
    fh_free(&fh);
}

TEST(kafka_create_rejects_bad_settings_with_one_line)
{
    char sp[1024];
    snprintf(sp, sizeof sp, "%s/spool", t_tmpdir());
    expect_create_error(settings(sp, ""), "\"brokers\" is required");
    expect_create_error(settings(sp, "\"brokers\":\"127.0.0.1:1\",\"rdkafka\":{\"no.such.prop\":"
                                     "\"1\"}"),
                        "no.such.prop");
    expect_create_error(settings(sp, "\"brokers\":\"127.0.0.1:1\",\"rdkafka\":{\"acks\":\"some\"}"),
                        "acks");
    expect_create_error(settings(sp, "\"brokers\":\"127.0.0.1:1\",\"rdkafka\":{\"linger.ms\":null}"),
                        "linger.ms");
    expect_create_error(settings(sp, "\"brokers\":\"127.0.0.1:1\",\"rdkafka\":[1]"), "rdkafka");
    expect_create_error(settings(sp, "\"brokers\":\"127.0.0.1:1\",\"topic\":\"etw events\""),
                        "illegal character ' '");
    expect_create_error(settings(sp, "\"brokers\":\"127.0.0.1:1\",\"topic\":\"etw.{bogus}\""),
                        "unknown placeholder {bogus}");
    expect_create_error(settings(sp, "\"brokers\":\"127.0.0.1:1\",\"key\":\"{pid\""), "unclosed");
    expect_create_error(settings(sp, "\"brokers\":\"127.0.0.1:1\",\"spool_full_policy\":\"maybe\""),
                        "spool_full_policy");
    expect_create_error(settings(sp, "\"brokers\":\"127.0.0.1:1\",\"spool_max_bytes\":1000"),
                        "spool_max_bytes");
    expect_create_error(settings(sp, "\"brokers\":\"127.0.0.1:1\",\"timestamp\":\"later\""),
                        "timestamp");
    expect_create_error(settings(sp, "\"brokers\":7"), "\"brokers\" must be a string");
    /* bootstrap.servers given as an rdkafka property is enough. */
    struct fake_host fh;
    fh_init(&fh, "kafka");
    void *inst = create_ok(&fh, settings(sp, "\"rdkafka\":{\"bootstrap.servers\":\"127.0.0.1:1\"}"));
    close_ok(&fh, inst);
    fh.desc->destroy(inst);
    fh_free(&fh);
}

TEST(kafka_unreachable_broker_spools_then_mock_cluster_drains)
{
    char sp[1024];
    snprintf(sp, sizeof sp, "%s/spool", t_tmpdir());
    struct evset e1 = make_events(300, 0, 200), e2 = make_events(50, 300, 200);
    struct fake_host fh;
    fh_init(&fh, "kafka");
    /* Nothing listens on port 1: every message comes back and must land in the spool. */
    void *inst = create_ok(&fh, settings(sp, "\"brokers\":\"127.0.0.1:1\",\"topic\":\"t1\","
                                              "\"flush_timeout_ms\":300"));
    write_all(&fh, inst, &e1, 0);
    close_ok(&fh, inst);
    ASSERT_EQ(stat_i(&fh, inst, "delivered"), 0);
    ASSERT_EQ(stat_i(&fh, inst, "spooled"), 300);
    ASSERT_EQ(stat_i(&fh, inst, "spool.pending"), 300);
    ASSERT_EQ(stat_i(&fh, inst, "dropped"), 0);
    fh.desc->destroy(inst);
    fh_free(&fh);

    /* Next start, with a (mock) broker: the spool goes out first, then new events. */
    fh_init(&fh, "kafka");
    inst = create_ok(&fh, settings(sp, "\"brokers\":\"unused:1\",\"topic\":\"t1\","
                                       "\"rdkafka\":{\"test.mock.num.brokers\":\"1\"}"));
    ASSERT_EQ(wait_stat(&fh, inst, "drained", 300, 30000), 300);
    write_all(&fh, inst, &e2, 0);
    close_ok(&fh, inst);
    ASSERT_EQ(stat_i(&fh, inst, "delivered"), 350);
    ASSERT_EQ(stat_i(&fh, inst, "drained"), 300);
    ASSERT_EQ(stat_i(&fh, inst, "spool.pending"), 0);
    ASSERT_EQ(stat_i(&fh, inst, "failed"), 0);
    fh.desc->destroy(inst);
    fh_free(&fh);
    free_events(&e1);
    free_events(&e2);
}

TEST(kafka_full_producer_queue_is_back_pressure_not_loss)
{
    char sp[1024];
    snprintf(sp, sizeof sp, "%s/spool", t_tmpdir());
    struct evset e = make_events(50, 0, 100);
    struct fake_host fh;
    fh_init(&fh, "kafka");
    /* Room for 10 messages that linger for a minute: the 11th finds the queue full. */
    void *inst = create_ok(&fh, settings(sp, "\"brokers\":\"unused:1\",\"rdkafka\":{"
                                              "\"test.mock.num.brokers\":\"1\","
                                              "\"queue.buffering.max.messages\":\"10\","
                                              "\"linger.ms\":\"60000\"}"));
    uint32_t acc = 0;
    etwhost_status rc = fh.desc->write(inst, e.ptr, 50, &acc);
    ASSERT_EQ(rc, ETWHOST_RETRY);
    ASSERT_EQ(acc, 10);
    ASSERT_EQ(stat_i(&fh, inst, "retried"), 40);
    ASSERT_EQ(stat_i(&fh, inst, "spooled"), 0);
    /* flush() sends the lingering batch now; then the rest goes through. */
    ASSERT_EQ(fh.desc->flush(inst), ETWHOST_OK);
    ASSERT_EQ(stat_i(&fh, inst, "delivered"), 10);
    struct evset rest = {e.ev + 10, e.ptr + 10, 40};
    write_all(&fh, inst, &rest, 1);
    close_ok(&fh, inst);
    ASSERT_EQ(stat_i(&fh, inst, "delivered"), 50);
    ASSERT_EQ(stat_i(&fh, inst, "spooled"), 0);
    ASSERT_EQ(stat_i(&fh, inst, "dropped"), 0);
    ASSERT_EQ(stat_i(&fh, inst, "queue_depth"), 0);
    fh.desc->destroy(inst);
    fh_free(&fh);
    free_events(&e);
}

/* A sink pointed at a closed port, once it has noticed that no broker is up. */
static void *create_down(struct fake_host *fh, const char *sp, const char *extra)
{
    void *inst = create_ok(fh, settings(sp, t_path("\"brokers\":\"127.0.0.1:1\","
                                                   "\"flush_timeout_ms\":200,%s",
                                                   extra)));
    ASSERT_MSG(wait_stat(fh, inst, "brokers_down", 1, 15000) == 1,
               "the sink never noticed that no broker is up");
    return inst;
}

TEST(kafka_spool_full_block_policy_holds_the_host_back)
{
    char sp[1024];
    snprintf(sp, sizeof sp, "%s/spool", t_tmpdir());
    struct fake_host fh;
    fh_init(&fh, "kafka");
    void *inst = create_down(&fh, sp, "\"spool_max_bytes\":1048576,\"spool_segment_bytes\":65536");
    /* ~1.7 KB of incompressible text per event: about 600 fit in 1 MiB. */
    struct evset e = make_events(2000, 0, 1700);
    uint32_t off = 0, acc = 0;
    etwhost_status rc = ETWHOST_OK;
    while (off < e.n && rc == ETWHOST_OK) {
        uint32_t n = e.n - off < 100 ? e.n - off : 100;
        acc = 0;
        rc = fh.desc->write(inst, e.ptr + off, n, &acc);
        off += acc;
    }
    ASSERT_EQ(rc, ETWHOST_RETRY);
    ASSERT(off > 300 && off < 2000);
    ASSERT_EQ(stat_i(&fh, inst, "spooled"), off);
    ASSERT(stat_i(&fh, inst, "retried") > 0);
    ASSERT_EQ(stat_i(&fh, inst, "dropped"), 0);
    ASSERT(stat_i(&fh, inst, "spool.bytes") <= 1048576);
    /* Still full: asking again changes nothing and loses nothing. */
    acc = 99;
    ASSERT_EQ(fh.desc->write(inst, e.ptr + off, 1, &acc), ETWHOST_RETRY);
    ASSERT_EQ(acc, 0);
    close_ok(&fh, inst);
    ASSERT_EQ(stat_i(&fh, inst, "spool.pending"), off);
    fh.desc->destroy(inst);
    fh_free(&fh);
    free_events(&e);
}

TEST(kafka_spool_full_drop_oldest_counts_and_warns)
{
    char sp[1024];
    snprintf(sp, sizeof sp, "%s/spool", t_tmpdir());
    struct fake_host fh;
    fh_init(&fh, "kafka");
    void *inst = create_down(&fh, sp,
                             "\"spool_max_bytes\":1048576,\"spool_segment_bytes\":65536,"
                             "\"spool_full_policy\":\"drop_oldest\"");
    struct evset e = make_events(2000, 0, 1700);
    write_all(&fh, inst, &e, 0);
    close_ok(&fh, inst);
    int64_t dropped = stat_i(&fh, inst, "dropped"), pending = stat_i(&fh, inst, "spool.pending");
    ASSERT(dropped > 0);
    ASSERT_EQ(stat_i(&fh, inst, "spooled"), 2000);
    ASSERT_EQ(dropped + pending, 2000);
    ASSERT(stat_i(&fh, inst, "spool.bytes") <= 1048576);
    ASSERT_CONTAINS(fh.log, "drop_oldest");
    fh.desc->destroy(inst);
    fh_free(&fh);
    free_events(&e);
}

TEST(kafka_stats_carry_librdkafka_statistics)
{
    char sp[1024];
    snprintf(sp, sizeof sp, "%s/spool", t_tmpdir());
    struct fake_host fh;
    fh_init(&fh, "kafka");
    void *inst = create_ok(&fh, settings(sp, "\"brokers\":\"unused:1\",\"rdkafka\":{"
                                              "\"test.mock.num.brokers\":\"1\","
                                              "\"statistics.interval.ms\":\"100\"}"));
    struct evset e = make_events(20, 0, 50);
    write_all(&fh, inst, &e, 0);
    json_t *rd = NULL, *j = NULL;
    for (int i = 0; i < 100 && rd == NULL; i++) {
        plat_sleep_ms(50);
        json_decref(j);
        j = stats_of(&fh, inst);
        rd = json_object_get(j, "rdkafka");
    }
    ASSERT_MSG(rd != NULL, "no librdkafka statistics after 5 s");
    ASSERT_STREQ(json_string_value(json_object_get(rd, "type")), "producer");
    ASSERT(json_is_object(json_object_get(rd, "brokers")));
    json_decref(j);
    /* A buffer too small for librdkafka's part still gets the sink's own numbers. */
    char small[1024];
    size_t need = 0;
    ASSERT_EQ(fh.desc->stats(inst, small, sizeof small, &need), ETWHOST_OK);
    ASSERT(need > sizeof small);
    ASSERT_CONTAINS(small, "\"delivered\":");
    ASSERT_NOT_CONTAINS(small, "\"rdkafka\":");
    close_ok(&fh, inst);
    fh.desc->destroy(inst);
    fh_free(&fh);
    free_events(&e);
}

/* ---- the real binary: configuration errors stop it before any event ---- */

static struct t_run run_with_sink(const char *sink_settings)
{
    const char *dir = t_path("%s/conf", t_tmpdir());
    t_mkdir(t_path("%s/conf.d", dir));
    t_write_file(t_path("%s/etwhost.json", dir),
                 t_path("{\"sources\":[{\"type\":\"synthetic\",\"count\":10,\"seed\":1}],"
                        "\"state_dir\":\"%s/state\"}",
                        t_tmpdir()));
    t_write_file(t_path("%s/conf.d/50-kafka.json", dir),
                 t_path("{\"name\":\"k\",\"plugin\":\"kafka\",\"settings\":%s}", sink_settings));
    const char *args[] = {"run", "-c", dir, NULL};
    return t_etwhost(args, NULL, NULL);
}

/* Number of lines of text that contain needle. */
static size_t lines_with(const char *text, const char *needle)
{
    size_t n = 0;
    while (text && *text) {
        const char *nl = strchr(text, '\n');
        size_t len = nl ? (size_t)(nl - text) : strlen(text);
        const char *hit = strstr(text, needle);
        if (hit && hit < text + len)
            n++;
        text += len + (nl ? 1 : 0);
    }
    return n;
}

static void expect_start_failure(const char *sink_settings, const char *culprit)
{
    struct t_run r = run_with_sink(sink_settings);
    ASSERT_MSG(r.status != 0, "etwhost run succeeded with %s", sink_settings);
    ASSERT_CONTAINS(r.err, culprit);
    /* Exactly one line names the culprit. */
    ASSERT_EQ(lines_with(r.err, culprit), 1);
    ASSERT_EQ(t_count(r.out, "\"provider\""), 0);
    t_run_free(&r);
}

TEST(kafka_run_fails_at_start_on_bad_config)
{
    expect_start_failure("{\"brokers\":\"127.0.0.1:1\",\"topic\":\"etw events!\"}",
                         "illegal character ' '");
    expect_start_failure("{\"brokers\":\"127.0.0.1:1\",\"rdkafka\":{\"no.such.prop\":\"1\"}}",
                         "no.such.prop");
    expect_start_failure("{\"topic\":\"etw\"}", "\"brokers\" is required");
    expect_start_failure("{\"brokers\":\"127.0.0.1:1\",\"topic\":\"etw.{provder}\"}",
                         "unknown placeholder {provder}");
}

TEST(kafka_spool_handed_over_to_the_replacing_instance)
{
    /*
     * A configuration reload creates the new instance while the old one still
     * runs: the new one must wait for the spool, then send it first.
     */
    char sp[1024];
    snprintf(sp, sizeof sp, "%s/spool", t_tmpdir());
    struct evset e1 = make_events(100, 0, 100), e2 = make_events(10, 100, 100);
    struct fake_host fa, fb;
    fh_init(&fa, "kafka");
    fh_init(&fb, "kafka");
    void *a = create_ok(&fa, settings(sp, "\"brokers\":\"127.0.0.1:1\",\"topic\":\"t\","
                                          "\"flush_timeout_ms\":200"));
    write_all(&fa, a, &e1, 0);
    void *b = create_ok(&fb, settings(sp, "\"brokers\":\"unused:1\",\"topic\":\"t\","
                                          "\"rdkafka\":{\"test.mock.num.brokers\":\"1\"}"));
    ASSERT_CONTAINS(fb.log, "taking it over when that one closes");
    uint32_t acc = 7;
    ASSERT_EQ(fb.desc->write(b, e2.ptr, 10, &acc), ETWHOST_RETRY);
    ASSERT_EQ(acc, 0);
    close_ok(&fa, a);
    ASSERT_EQ(stat_i(&fa, a, "spool.pending"), 100);
    fa.desc->destroy(a);
    /* Old instance gone: the new one takes the spool and sends it before its own events. */
    write_all(&fb, b, &e2, 0);
    close_ok(&fb, b);
    /* The 10 new ones went behind the spool, or straight out if it was already read. */
    ASSERT(stat_i(&fb, b, "drained") >= 100);
    ASSERT_EQ(stat_i(&fb, b, "delivered"), 110);
    ASSERT_EQ(stat_i(&fb, b, "spool.pending"), 0);
    fb.desc->destroy(b);
    fh_free(&fa);
    fh_free(&fb);
    free_events(&e1);
    free_events(&e2);
}
