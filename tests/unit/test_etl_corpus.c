/*
 * The .etl reader against the real traces in ../shared/corpus: every file's
 * structure must equal the independent walk of shared/tools/etlscan.py
 * (run here, nothing hard-coded), timestamps must agree with TraceEvent's
 * baselines and the documented sanity check, file order must be file
 * order, and time order must merge per-processor streams without
 * reordering any stream.
 */
#include "test.h"

#include <jansson.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/text.h"
#include "etl/etl_format.h"
#include "etl/etl_reader.h"
#include "platform/platform.h"

#define MAX_RECS 400000

/* What one walk of a file saw. */
struct walk {
    uint64_t n;
    uint64_t *keys;     /* content+offset hash per record, in output order */
    uint64_t *offsets;  /* record offsets */
    const uint8_t **raw;
    uint32_t *stream;   /* cpu, or 0x10000 for header-buffer records */
    int64_t *ts;
    struct etl_stats st;
    struct trace_info ti;
    char logger[256], logfile[512];
    /* Counters keyed like etlscan's JSON. */
    json_t *types, *ext, *hooks, *evflags, *msgflags, *classic, *providers;
};

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void bump(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    json_object_set_new(obj, key, json_integer(v ? json_integer_value(v) + 1 : 1));
}

static int silent_warn_count;
static void count_warn(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
    silent_warn_count++;
}

static void walk_file(const char *path, int file_order, struct walk *w)
{
    memset(w, 0, sizeof *w);
    w->keys = mem_alloc(MAX_RECS * sizeof *w->keys);
    w->offsets = mem_alloc(MAX_RECS * sizeof *w->offsets);
    w->raw = mem_alloc(MAX_RECS * sizeof *w->raw);
    w->stream = mem_alloc(MAX_RECS * sizeof *w->stream);
    w->ts = mem_alloc(MAX_RECS * sizeof *w->ts);
    w->types = json_object();
    w->ext = json_object();
    w->hooks = json_object();
    w->evflags = json_object();
    w->msgflags = json_object();
    w->classic = json_object();
    w->providers = json_object();
    struct etl_options o;
    memset(&o, 0, sizeof o);
    o.file_order = file_order;
    o.warn = count_warn;
    struct etl_reader *r;
    struct errbuf eb;
    ASSERT_MSG(etl_open(path, &o, &r, &eb) == 0, "%s", eb.msg);
    w->ti = *etl_info(r);
    snprintf(w->logger, sizeof w->logger, "%s", w->ti.logger_name);
    snprintf(w->logfile, sizeof w->logfile, "%s", etl_logfile_name(r));
    w->ti.logger_name = w->logger;
    /* The header buffer's extent, to tell its records from processor streams. */
    const uint8_t *m;
    size_t msize;
    ASSERT_OK(plat_map_file(path, &m, &msize, &eb));
    uint32_t hdr_size = le_r32(m);
    plat_unmap(m, msize);
    struct record rec;
    int rc;
    char key[64];
    while ((rc = etl_next(r, &rec, &eb)) == 1) {
        ASSERT(w->n < MAX_RECS);
        ASSERT_EQ_U64(rec.seq, w->n);
        ASSERT(rec.trace == etl_info(r));
        ASSERT(rec.raw != NULL && rec.raw_len >= 8);
        ASSERT(rec.data + rec.data_len <= rec.raw + rec.raw_len);
        w->keys[w->n] = fnv(rec.raw, rec.raw_len) ^ (rec.offset * 0x9E3779B97F4A7C15ull);
        w->offsets[w->n] = rec.offset;
        w->raw[w->n] = rec.raw;
        w->stream[w->n] = rec.offset < hdr_size ? 0x10000u : rec.cpu;
        w->ts[w->n] = rec.raw_timestamp;
        w->n++;
        uint8_t ht = rec.raw[2];
        if (rec.kind == ETWHOST_HK_MESSAGE) {
            bump(w->types, "MSG");
            snprintf(key, sizeof key, "0x%x", rec.hdr_flags);
            bump(w->msgflags, key);
            continue;
        }
        snprintf(key, sizeof key, "0x%x", ht);
        bump(w->types, key);
        if (rec.kind == ETWHOST_HK_SYSTEM || rec.kind == ETWHOST_HK_PERFINFO) {
            snprintf(key, sizeof key, "0x%x", rec.hook_id);
            bump(w->hooks, key);
        } else if (rec.kind == ETWHOST_HK_EVENT) {
            snprintf(key, sizeof key, "0x%x", rec.hdr_flags);
            bump(w->evflags, key);
            char g[37];
            guid_format(&rec.provider, g);
            bump(w->providers, g);
            uint32_t pos = 0;
            uint16_t type, len;
            const uint8_t *d;
            while (record_ext_next(&rec, &pos, &type, &d, &len)) {
                snprintf(key, sizeof key, "%u", type);
                bump(w->ext, key);
            }
            ASSERT((rec.tl_meta != NULL) == ((rec.evf & ETWHOST_EVF_TRACELOGGING) != 0));
        } else {
            char g[37];
            guid_format(&rec.provider, g);
            bump(w->classic, g);
        }
    }
    ASSERT_MSG(rc == 0, "%s", eb.msg);
    etl_get_stats(r, &w->st);
    etl_close(r);
}

static void walk_free(struct walk *w)
{
    mem_free(w->keys);
    mem_free(w->offsets);
    mem_free(w->raw);
    mem_free(w->stream);
    mem_free(w->ts);
    json_decref(w->types);
    json_decref(w->ext);
    json_decref(w->hooks);
    json_decref(w->evflags);
    json_decref(w->msgflags);
    json_decref(w->classic);
    json_decref(w->providers);
}

/* Every key of expected must have the same count in got; with all_keys also the reverse. */
static void same_counts(const char *file, const char *what, json_t *expected, json_t *got,
                        int all_keys)
{
    const char *k;
    json_t *v;
    json_object_foreach(expected, k, v) {
        json_t *g = json_object_get(got, k);
        ASSERT_MSG(g && json_integer_value(g) == json_integer_value(v),
                   "%s: %s[%s]: etlscan %lld, reader %lld", file, what, k,
                   (long long)json_integer_value(v), g ? (long long)json_integer_value(g) : 0LL);
    }
    if (all_keys)
        ASSERT_MSG(json_object_size(expected) == json_object_size(got),
                   "%s: %s: %zu keys in etlscan, %zu in the reader", file, what,
                   json_object_size(expected), json_object_size(got));
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int python_has_dissect(void)
{
    static int cached = -1;
    if (cached < 0) {
        const char *argv[] = {"python3", "-c", "import dissect.util.compression.lzxpress", NULL};
        struct t_run r = t_exec(argv, NULL, NULL);
        cached = r.status == 0;
        t_run_free(&r);
    }
    return cached;
}

static json_t *run_etlscan(const char *path)
{
    char tool[4096];
    if (t_under_wine())
        SKIP("the etlscan.py oracle is a Linux python3 program (not run under Wine)");
    snprintf(tool, sizeof tool, "%s/../tools/etlscan.py", t_corpus());
    if (!plat_is_file(tool))
        SKIP("%s not found", tool);
    const char *argv[] = {"python3", tool, path, NULL};
    struct t_run r = t_exec(argv, NULL, NULL);
    if (r.status != 0)
        SKIP("etlscan.py failed (python3 missing?): %s", r.err);
    json_error_t je;
    json_t *j = json_loads(r.out, 0, &je);
    ASSERT_MSG(j != NULL, "etlscan output is not JSON: %s", je.text);
    t_run_free(&r);
    return j;
}

#define JI(obj, key) json_integer_value(json_object_get(obj, key))

/* One file: structure and header against etlscan; orders against each other. */
static int check_file(const char *path_in, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", path_in);
    json_t *scan = run_etlscan(path);
    if (JI(scan, "n_errors") != 0) {
        const char *e = json_string_value(json_array_get(json_object_get(scan, "errors"), 0));
        if (!python_has_dissect() && e && strstr(e, "decompress")) {
            printf("  %s: skipped (compressed; pip install dissect.util for etlscan)\n", name);
            json_decref(scan);
            return 0;
        }
        ASSERT_MSG(0, "%s: etlscan reports errors: %s", name, e ? e : "?");
    }
    struct walk fw, tw;
    walk_file(path, 1, &fw);
    walk_file(path, 0, &tw);

    /* Structure. */
    ASSERT_MSG((long long)fw.n == JI(scan, "events"), "%s: %" PRIu64 " records, etlscan %lld",
               name, fw.n, JI(scan, "events"));
    ASSERT_EQ_U64(tw.n, fw.n);
    ASSERT_EQ(fw.st.buffers, JI(scan, "buffers"));
    ASSERT_EQ(fw.st.bad_buffers + fw.st.bad_records + fw.st.skipped_bytes, 0);
    ASSERT_EQ(tw.st.bad_buffers + tw.st.bad_records + tw.st.skipped_bytes, 0);
    ASSERT_EQ(fw.st.bytes, JI(scan, "size"));
    long long ncomp = 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(scan, "buffer_flags"), k, v) {
        if (strtol(k, NULL, 16) & ETL_BUFFLAG_COMPRESSED)
            ncomp += json_integer_value(v);
    }
    ASSERT_EQ(fw.st.compressed_buffers, ncomp);
    same_counts(name, "header_types", json_object_get(scan, "header_types"), fw.types, 1);
    same_counts(name, "ext_types", json_object_get(scan, "ext_types"), fw.ext, 1);
    same_counts(name, "top_hooks", json_object_get(scan, "top_hooks"), fw.hooks, 0);
    same_counts(name, "event_header_flags", json_object_get(scan, "event_header_flags"),
                fw.evflags, 1);
    same_counts(name, "message_option_flags", json_object_get(scan, "message_option_flags"),
                fw.msgflags, 1);
    same_counts(name, "providers", json_object_get(scan, "providers"), fw.providers, 0);
    same_counts(name, "classic_guids", json_object_get(scan, "classic_guids"), fw.classic, 0);
    ASSERT_EQ(json_object_size(fw.providers), JI(scan, "n_providers"));

    /* Logfile header. */
    json_t *lh = json_object_get(scan, "logfile_header");
    ASSERT(lh != NULL);
    const struct trace_info *ti = &fw.ti;
    ASSERT_EQ(ti->buffer_size, JI(lh, "BufferSize"));
    ASSERT_EQ(ti->os_build, JI(lh, "ProviderVersion"));
    ASSERT_EQ(ti->num_cpus, JI(lh, "NumberOfProcessors"));
    ASSERT_EQ(ti->end_time, JI(lh, "EndTime"));
    ASSERT_EQ(ti->log_file_mode, strtoll(json_string_value(json_object_get(lh, "LogFileMode")),
                                         NULL, 16));
    ASSERT_EQ(ti->pointer_size, JI(lh, "PointerSize"));
    ASSERT_EQ(ti->events_lost, JI(lh, "EventsLost"));
    ASSERT_EQ(ti->cpu_mhz, JI(lh, "CpuSpeedInMHz"));
    ASSERT_EQ(ti->tz_bias_minutes, JI(lh, "TZBias"));
    ASSERT_EQ(ti->boot_time, JI(lh, "BootTime"));
    ASSERT_EQ(ti->perf_freq, JI(lh, "PerfFreq"));
    ASSERT_EQ(ti->start_time, JI(lh, "StartTime"));
    ASSERT_EQ(ti->clock_type, JI(lh, "ReservedFlags"));
    ASSERT_EQ(ti->buffers_lost, JI(lh, "BuffersLost"));
    ASSERT_EQ(ti->t0_raw, JI(lh, "HeaderTimeStamp"));
    char ver[64];
    snprintf(ver, sizeof ver, "%u.%u sub", ti->os_major, ti->os_minor);
    ASSERT_CONTAINS(json_string_value(json_object_get(lh, "Version")), ver);
    ASSERT_STREQ(fw.logger, json_string_value(json_object_get(lh, "LoggerName")));
    ASSERT_STREQ(fw.logfile, json_string_value(json_object_get(lh, "LogFileName")));

    /* File order is exactly file order: offsets, then positions inside a compressed buffer. */
    for (uint64_t i = 1; i < fw.n; i++) {
        int ok = fw.offsets[i] > fw.offsets[i - 1] ||
                 (fw.offsets[i] == fw.offsets[i - 1] && fw.raw[i] > fw.raw[i - 1]);
        ASSERT_MSG(ok, "%s: file order broken at record %" PRIu64, name, i);
    }
    /* Time order returns the same records... */
    uint64_t *a = mem_alloc(fw.n * sizeof *a + 1), *b = mem_alloc(fw.n * sizeof *b + 1);
    memcpy(a, fw.keys, fw.n * sizeof *a);
    memcpy(b, tw.keys, tw.n * sizeof *b);
    qsort(a, fw.n, sizeof *a, cmp_u64);
    qsort(b, tw.n, sizeof *b, cmp_u64);
    ASSERT_MSG(memcmp(a, b, fw.n * sizeof *a) == 0, "%s: time order lost or duplicated records",
               name);
    mem_free(a);
    mem_free(b);
    /* ...keeps every stream in its order... */
    uint64_t stream_backsteps = 0;
    for (int pass = 0; pass < 2; pass++) {
        struct walk *w = pass ? &tw : &fw;
        uint64_t *last_off = mem_calloc(0x10001, sizeof *last_off);
        const uint8_t **last_raw = mem_calloc(0x10001, sizeof *last_raw);
        int64_t *last_ts = mem_calloc(0x10001, sizeof *last_ts);
        uint8_t *seen = mem_calloc(0x10001, 1);
        for (uint64_t i = 0; i < w->n; i++) {
            uint32_t s = w->stream[i];
            if (seen[s]) {
                int ok = w->offsets[i] > last_off[s] ||
                         (w->offsets[i] == last_off[s] && w->raw[i] > last_raw[s]);
                ASSERT_MSG(ok, "%s: stream %u reordered at record %" PRIu64, name, s, i);
                if (pass == 0 && w->ts[i] < last_ts[s])
                    stream_backsteps++;
            }
            seen[s] = 1;
            last_off[s] = w->offsets[i];
            last_raw[s] = w->raw[i];
            last_ts[s] = w->ts[i];
        }
        mem_free(last_off);
        mem_free(last_raw);
        mem_free(last_ts);
        mem_free(seen);
    }
    /* ...and is non-decreasing unless a stream itself steps back in time. */
    uint64_t back = 0;
    for (uint64_t i = 1; i < tw.n; i++)
        if (tw.ts[i] < tw.ts[i - 1])
            back++;
    if (stream_backsteps == 0) {
        ASSERT_MSG(back == 0 && tw.st.late_records == 0, "%s: %" PRIu64 " backward steps in "
                   "time order", name, back);
    } else {
        printf("  %s: %" PRIu64 " backward steps inside processor streams, %" PRIu64
               " in time order\n", name, stream_backsteps, back);
        ASSERT(back <= 4 * stream_backsteps);
    }
    printf("  %s: %" PRIu64 " records, %" PRIu64 " buffers (%" PRIu64 " compressed), "
           "%" PRIu64 " out of time order in file order\n",
           name, fw.n, fw.st.buffers, fw.st.compressed_buffers, fw.st.late_records);
    walk_free(&fw);
    walk_free(&tw);
    json_decref(scan);
    return 1;
}

static void check_dir(const char *sub)
{
    const char *corpus = t_corpus_or_skip();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", corpus, sub);
    char **names = NULL;
    size_t count = 0;
    struct errbuf eb;
    if (!plat_is_dir(dir) || plat_list_dir(dir, ".etl", &names, &count, &eb) || count == 0)
        SKIP("no .etl files in %s", dir);
    int checked = 0;
    for (size_t i = 0; i < count; i++)
        checked += check_file(t_path("%s/%s", dir, names[i]), names[i]);
    plat_free_list(names, count);
    ASSERT(checked > 0);
}

TEST(etl_corpus_small_matches_etlscan)
{
    check_dir("etl");
}

TEST(etl_corpus_large_matches_etlscan)
{
    check_dir("large");
}

/* etl-format.md section 6: krabsetw powershell starts at 2023-03-29T15:12:38.0175 UTC. */
TEST(etl_corpus_krabsetw_first_timestamp)
{
    const char *path = t_path("%s/etl/krabsetw__powershell.etl", t_corpus_or_skip());
    if (!plat_is_file(path))
        SKIP("%s not found", path);
    struct etl_reader *r;
    struct errbuf eb;
    ASSERT_OK(etl_open(path, NULL, &r, &eb));
    const struct trace_info *ti = etl_info(r);
    ASSERT_EQ(ti->clock_type, TRACE_CLOCK_QPC);
    struct record rec;
    ASSERT_EQ(etl_next(r, &rec, &eb), 1);
    ASSERT_EQ(rec.kind, ETWHOST_HK_SYSTEM);
    ASSERT_EQ(rec.hook_id, 0);
    ASSERT_EQ(rec.raw_timestamp, ti->t0_raw);
    char text[TEXT_RFC3339_LEN + 1];
    ASSERT_EQ(text_filetime_rfc3339(text, rec.timestamp), TEXT_RFC3339_LEN);
    text[TEXT_RFC3339_LEN] = '\0';
    ASSERT_MSG(strncmp(text, "2023-03-29T15:12:38.0175", 24) == 0, "first record at %s", text);
    /* The first PowerShell event: converted exactly by the QPC formula. */
    while (etl_next(r, &rec, &eb) == 1 && rec.kind != ETWHOST_HK_EVENT)
        ;
    ASSERT_EQ(rec.kind, ETWHOST_HK_EVENT);
    char g[37];
    guid_format(&rec.provider, g);
    ASSERT_STREQ(g, "a0c1853b-5c40-4b15-8766-3cf1c58f985a");
    __extension__ typedef __int128 i128;
    i128 want = (i128)ti->start_time +
                (i128)(rec.raw_timestamp - ti->t0_raw) * 10000000 / ti->perf_freq;
    ASSERT_EQ(rec.timestamp, (int64_t)want);
    ASSERT(rec.timestamp > ti->start_time);
    etl_close(r);
}

/* One "EVENT <ms>: ... PID=..; TID=..; ... ProceNum=..; DataLen=..;" baseline line. */
struct base_ev {
    double ms;
    long long pid, tid, cpu, len;
    int used;
};

static long long field(const char *line, const char *name)
{
    const char *p = strstr(line, name);
    ASSERT_MSG(p != NULL, "baseline line without %s: %.80s", name, line);
    return strtoll(p + strlen(name), NULL, 10);
}

/*
 * TraceEvent's decodings list events with milliseconds since the session
 * start, pid, tid, processor and payload length.  Each listed event must
 * match one record of ours (time within the baseline's 3-decimal rounding).
 */
static void check_baseline(const char *etl, const char *baseline)
{
    const char *corpus = t_corpus_or_skip();
    const char *path = t_path("%s/%s", corpus, etl);
    const char *bpath = t_path("%s/expected/%s", corpus, baseline);
    if (!plat_is_file(path) || !plat_is_file(bpath))
        SKIP("%s or %s not found", path, bpath);
    char *text = t_read_file(bpath, NULL);
    size_t cap = 0, n = 0;
    struct base_ev *ev = NULL;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(line, "EVENT ", 6) == 0) {
            ASSERT_OK(mem_grow(&ev, &cap, n + 1, sizeof *ev));
            char num[64];
            size_t j = 0;
            for (const char *p = line + 6; *p && *p != ':' && j + 1 < sizeof num; p++)
                if (*p != ',')
                    num[j++] = *p;
            num[j] = '\0';
            ev[n].ms = strtod(num, NULL);
            ev[n].pid = field(line, "PID=");
            ev[n].tid = field(line, "TID=");
            ev[n].cpu = field(line, "ProceNum=");
            ev[n].len = field(line, "DataLen=");
            ev[n].used = 0;
            n++;
        }
        line = nl ? nl + 1 : NULL;
    }
    ASSERT(n > 0);
    struct etl_reader *r;
    struct errbuf eb;
    ASSERT_OK(etl_open(path, NULL, &r, &eb));
    const struct trace_info *ti = etl_info(r);
    struct record rec;
    size_t matched = 0;
    while (etl_next(r, &rec, &eb) == 1) {
        double ms = (double)(rec.timestamp - ti->start_time) / 1e4;
        for (size_t i = 0; i < n; i++) {
            if (ev[i].used || ms < ev[i].ms - 0.00051 || ms > ev[i].ms + 0.00051)
                continue;
            if (ev[i].cpu != rec.cpu || ev[i].len != rec.data_len)
                continue;
            /* TraceEvent takes kernel events' pid/tid from their payloads (e.g. image rundown). */
            if (!(rec.evf & (ETWHOST_EVF_NO_PID | ETWHOST_EVF_KERNEL)) &&
                (ev[i].pid != (int32_t)rec.pid || ev[i].tid != (int32_t)rec.tid))
                continue;
            ev[i].used = 1;
            matched++;
            break;
        }
    }
    etl_close(r);
    printf("  %s: %zu of %zu baseline events matched\n", baseline, matched, n);
    for (size_t i = 0; i < n && matched < n; i++)
        if (!ev[i].used) {
            printf("  first unmatched: %.3f ms pid %lld tid %lld cpu %lld len %lld\n", ev[i].ms,
                   ev[i].pid, ev[i].tid, ev[i].cpu, ev[i].len);
            break;
        }
    ASSERT_MSG(matched == n, "%s: only %zu of %zu matched", baseline, matched, n);
    mem_free(ev);
    mem_free(text);
}

TEST(etl_corpus_timestamps_match_traceevent_baselines)
{
    check_baseline("etl/perfview__primitive-types.etl", "perfview__primitive-types.baseline.txt");
    check_baseline("etl/perfview__gcevents_PerfViewData.etl", "perfview__gcevents.baseline.txt");
    check_baseline("etl/perfview__gcrundown_PerfViewData.clrRundown.etl",
                   "perfview__gcrundownevents.baseline.txt");
}

TEST(etl_corpus_large_timestamps_match_traceevent_baselines)
{
    check_baseline("large/perfview__net.4.5.2.x64.etl", "perfview__net.4.5.2.x64.baseline.txt");
    check_baseline("large/perfview__net.4.5.2.x86.etl", "perfview__net.4.5.2.x86.baseline.txt");
}
