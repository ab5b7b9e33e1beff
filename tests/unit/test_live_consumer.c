/*
 * The live consumer path, driven by the fake etw_api: real traces from the
 * corpus and the project's own fixtures are replayed as EVENT_RECORDs
 * through the real callback, the live source and the decode engine, and
 * must decode exactly like the same records read from the .etl file.
 * Also: TDH schemas (from the TRACE_EVENT_INFO blobs a merged trace
 * carries), restart after an external stop, RT_Lost and QueryTrace
 * counters, back-pressure, shutdown with a stuck ProcessTrace, and the
 * full runtime with two sessions at once.
 */
#include "test.h"

#include <jansson.h>

#include "archive/archive_reader.h"
#include "chain/chain.h"
#include "config/config.h"
#include "core/mem.h"
#include "decode/decode.h"
#include "etl/etl_format.h"
#include "etl/etl_reader.h"
#include "etl/etl_writer.h"
#include "event/event.h"
#include "live/live_consumer.h"
#include "live/live_tables.h"
#include "platform/platform.h"
#include "schema/mof_kernel.h"
#include "schema/schema_codec.h"
#include "schema/schema_sources.h"
#include "source/source.h"
#include "test_live_fake.h"

/* ---- JSON lines ---- */

struct jl {
    char **v;
    size_t n, cap;
};

static void jl_add(struct jl *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->v = mem_realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = mem_strndup(s, len);
}

static void jl_free(struct jl *l)
{
    for (size_t i = 0; i < l->n; i++)
        mem_free(l->v[i]);
    mem_free(l->v);
    memset(l, 0, sizeof *l);
}

struct dec {
    struct schema_cache *cache;
    struct decoder d;
    struct arena a;
    struct event e;
    struct buf json;
};

static void dec_init(struct dec *x, const char *manifest)
{
    memset(x, 0, sizeof *x);
    x->cache = schema_cache_new(0);
    decoder_init(&x->d, x->cache);
    struct errbuf eb;
    ASSERT_MSG(schema_sources_builtin(&x->d, &eb) == 0, "%s", eb.msg);
    if (manifest) {
        const char *m[1] = {manifest};
        ASSERT_MSG(schema_sources_manifests(&x->d, m, 1, &eb) == 0, "%s", eb.msg);
    }
    event_init(&x->e, &x->a);
}

static void dec_free(struct dec *x)
{
    event_free(&x->e);
    arena_free(&x->a);
    decoder_free(&x->d);
    schema_cache_free(x->cache);
    buf_free(&x->json);
}

/* Decode rec as the runtime does (embedded metadata first) and append its JSON line. */
static void dec_one(struct dec *x, const struct record *rec, struct jl *out)
{
    arena_reset(&x->a);
    event_reset(&x->e);
    if (schema_is_tdh_metadata_record(rec)) {
        struct errbuf eb;
        schema_cache_ingest_record(x->cache, rec, &eb);
    }
    ASSERT_OK(decode_record(&x->d, rec, &x->e));
    buf_reset(&x->json);
    ASSERT_OK(event_json_render(&x->e, &x->json));
    jl_add(out, x->json.p, x->json.len);
}

/* Every record of an .etl file decoded to JSON (metadata records ingested, optionally not listed). */
static void etl_json(const char *path, const char *manifest, int skip_meta, struct jl *out)
{
    struct dec x;
    dec_init(&x, manifest);
    struct etl_reader *rd;
    struct errbuf eb;
    ASSERT_MSG(etl_open(path, NULL, &rd, &eb) == 0, "%s", eb.msg);
    struct record rec;
    while (etl_next(rd, &rec, &eb) == 1) {
        if (skip_meta && schema_is_tdh_metadata_record(&rec)) {
            schema_cache_ingest_record(x.cache, &rec, &eb);
            continue;
        }
        dec_one(&x, &rec, out);
    }
    etl_close(rd);
    dec_free(&x);
}

/* A live source from a JSON text (cfg-less, as from the command line). */
static struct source *live_source(const char *json)
{
    json_error_t je;
    json_t *obj = json_loads(json, 0, &je);
    ASSERT_MSG(obj != NULL, "bad test JSON: %s", je.text);
    struct source *s = NULL;
    struct errbuf eb;
    int rc = source_create(NULL, obj, "live", 0, &s, &eb);
    json_decref(obj);
    ASSERT_MSG(rc == 0, "source_create: %s", eb.msg);
    return s;
}

/*
 * Read 'expect' records from the source (decoding each with x into out),
 * then stop it and drain until it ends.  Returns the records read.
 */
static uint64_t read_all(struct source *s, uint64_t expect, struct dec *x, struct jl *out)
{
    struct record_batch b;
    ASSERT_OK(batch_init(&b, CFG_DEFAULT_BATCH_SIZE));
    struct errbuf eb;
    uint64_t got = 0;
    uint64_t t0 = plat_monotonic_ns();
    while (got < expect) {
        ASSERT_MSG(plat_monotonic_ns() - t0 < 60000000000ull, "only %llu of %llu records in 60 s",
                   (unsigned long long)got, (unsigned long long)expect);
        batch_reset(&b);
        int n = s->ops->read(s, &b, &eb);
        ASSERT_MSG(n >= 0, "read: %s", eb.msg);
        for (uint32_t i = 0; i < b.n; i++)
            if (x)
                dec_one(x, &b.recs[i], out);
        got += b.n;
        if (n == 0)
            break;
    }
    atomic_store(&s->stop, 1);
    for (;;) {
        batch_reset(&b);
        int n = s->ops->read(s, &b, &eb);
        ASSERT_MSG(n >= 0, "read: %s", eb.msg);
        for (uint32_t i = 0; i < b.n; i++)
            if (x)
                dec_one(x, &b.recs[i], out);
        got += b.n;
        if (n == 0)
            break;
    }
    batch_free(&b);
    return got;
}

static void assert_same_lines(const struct jl *want, const struct jl *got, const char *what)
{
    ASSERT_MSG(want->n == got->n, "%s: %zu events from the .etl reader, %zu through the live path",
               what, want->n, got->n);
    for (size_t i = 0; i < want->n; i++)
        ASSERT_MSG(strcmp(want->v[i], got->v[i]) == 0,
                   "%s: event %zu differs:\n  etl:  %s\n  live: %s", what, i, want->v[i],
                   got->v[i]);
}

/*
 * Drop the WPP properties the consumer API does not hand over: "SequenceNumber":N
 * and "ComponentId":N, with the comma that separates them from their neighbours.
 */
static void drop_prop_number(char *line, const char *key)
{
    char *p = strstr(line, key);
    if (p == NULL)
        return;
    char *q = p + strlen(key);
    while (*q >= '0' && *q <= '9')
        q++;
    if (*q == ',')
        q++;
    else if (p > line && p[-1] == ',')
        p--; /* the last property: drop the comma before it */
    memmove(p, q, strlen(q) + 1);
}

static void drop_wpp_sequence(struct jl *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strstr(l->v[i], "\"event_name\":\"WPP message") == NULL)
            continue;
        drop_prop_number(l->v[i], "\"SequenceNumber\":");
        drop_prop_number(l->v[i], "\"ComponentId\":");
    }
}

/*
 * Replay the trace at path through the live source (session_json) and require
 * the lines the .etl reader gives for it; manifest: a full path or NULL; wpp:
 * the live API hands over no WPP sequence numbers, so the reader's are dropped.
 */
static void replay_path(const char *path, const char *session_json, const char *man, int wpp)
{
    const char *file = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const char *manifest = man;
    struct jl want = {0}, got = {0};
    etl_json(path, manifest ? man : NULL, 0, &want);
    ASSERT(want.n > 0);
    if (wpp)
        drop_wpp_sequence(&want);

    struct fake_etw f;
    fake_init(&f);
    uint32_t n = fake_add_etl(&f, "", path, 0);
    ASSERT_EQ(n, want.n);
    etw_api_override(&f.api);
    struct source *s = live_source(session_json);
    struct dec x;
    dec_init(&x, manifest ? man : NULL);
    uint64_t read = read_all(s, n, &x, &got);
    ASSERT_EQ_U64(read, n);
    assert_same_lines(&want, &got, file);
    source_destroy(s);
    etw_api_override(NULL);
    /* The controller sequence of a real-time session. */
    const char *log = buf_cstr(&f.log);
    ASSERT_CONTAINS(log, "start ");
    ASSERT_CONTAINS(log, "open ");
    ASSERT_CONTAINS(log, "stop ");
    dec_free(&x);
    jl_free(&want);
    jl_free(&got);
    fake_free(&f);
    printf("%s: %u events decoded identically through the live callback path\n", file, n);
}

/* replay_path on a corpus trace (skipped without the corpus); manifest: a corpus manifest. */
static void replay_file(const char *file, const char *session_json, const char *manifest,
                        int wpp)
{
    const char *corpus = t_corpus_or_skip();
    char man[4096] = "";
    if (manifest)
        snprintf(man, sizeof man, "%s/manifests/%s", corpus, manifest);
    replay_path(t_path("%s/etl/%s", corpus, file), session_json, manifest ? man : NULL, wpp);
}

/*
 * A trace of the project's own writer (tests/tools/etlgen) in the test's
 * temporary folder, its path into out: kind mixed | tracelogging | kernel |
 * wpp, ptr "4" or "8", extra an etlgen option or NULL.
 */
static void own_trace(char *out, size_t cap, const char *kind, int events, const char *ptr,
                      const char *extra)
{
    static int seq;
    char ev[16];
    snprintf(ev, sizeof ev, "%d", events);
    snprintf(out, cap, "%s/own-%s-%d.etl", t_tmpdir(), kind, seq++);
    const char *opts[] = {"--kind", kind, "--events", ev, "--ptr", ptr, "--cpus", "2", extra,
                          NULL};
    t_etlgen(out, opts);
}

static const char *user_session =
    "{\"type\": \"live\", \"tdh\": false, \"session\": {\"name\": \"replay\"}, "
    "\"providers\": [\"{a0c1853b-5c40-4b15-8766-3cf1c58f985a}:5\"]}";

TEST(live_replay_powershell_manifest_events)
{
    replay_file("krabsetw__powershell.etl", user_session, NULL, 0);
}

TEST(live_replay_tracelogging_events)
{
    replay_file("etlparser__AMSITrace.etl", user_session, NULL, 0);
    replay_file("perfview__primitive-types.etl", user_session, NULL, 0);
    replay_file("perfview__SelfDescribingSingleEvent.etl", user_session, NULL, 0);
    replay_file("sonde__test.etl", user_session, NULL, 0);
}

TEST(live_replay_clr_events_with_manifest)
{
    replay_file("perfview__gcevents_PerfViewData.etl", user_session, "ClrEtwAll.man", 0);
}

TEST(live_replay_kernel_session)
{
    replay_file("perfview__diaghub.kernel.1.etl",
                "{\"type\": \"live\", \"tdh\": false, \"session\": {\"kind\": \"kernel\", "
                "\"kernel_flags\": [\"Process\", \"Thread\", \"ImageLoad\", \"DiskIo\"]}}",
                NULL, 0);
}

TEST(live_replay_wpp_32bit_system_clock)
{
    replay_file("dfirmuseum__OneDrive_TraceCurrent.6673.1011.etl", user_session, NULL, 1);
}

/* The same on the project's own traces: runs without the corpus. */
TEST(live_replay_own_traces)
{
    char p[1024];
    /* mixed: TraceLogging, manifest events with embedded TDH metadata, kernel, WPP. */
    own_trace(p, sizeof p, "mixed", 1500, "8", NULL);
    replay_path(p, user_session, NULL, 1);
    own_trace(p, sizeof p, "mixed", 1500, "4", "--compress");
    replay_path(p, user_session, NULL, 1);
    own_trace(p, sizeof p, "tracelogging", 800, "8", NULL);
    replay_path(p, user_session, NULL, 0);
    own_trace(p, sizeof p, "wpp", 600, "4", NULL);
    replay_path(p, user_session, NULL, 1);
    own_trace(p, sizeof p, "kernel", 1500, "8", "--compress");
    replay_path(p,
                "{\"type\": \"live\", \"tdh\": false, \"session\": {\"kind\": \"kernel\", "
                "\"kernel_flags\": [\"Process\", \"Thread\", \"ImageLoad\", \"DiskIo\"]}}",
                NULL, 0);
}

/* ---- The project's own fixture: every extended item kind, header kinds ---- */

static const etwhost_guid fx_prov = {0x5eed1234, 0x0001, 0x0002, {1, 2, 3, 4, 5, 6, 7, 8}};
static const etwhost_guid fx_klass = {0x3d6fa8d0, 0xfe05, 0x11d0,
                                      {0x9d, 0xda, 0, 0xc0, 0x4f, 0xd7, 0xba, 0x7c}};

static uint8_t *fixture_etl(size_t *len)
{
    struct etl_writer_options o;
    memset(&o, 0, sizeof o);
    o.num_cpus = 2;
    o.t0_raw = 5000000;
    o.perf_freq = 2929687; /* odd: the conversion must be exact */
    struct etl_writer *w;
    struct errbuf eb;
    ASSERT_OK(etl_writer_open(NULL, &o, &w, &eb));
    uint8_t sid[16] = {1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0};
    uint8_t tsid[4] = {7, 0, 0, 0};
    uint8_t psk[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t evkey[8] = {9, 9, 9, 9, 0, 0, 0, 1};
    uint8_t stack[8 + 24];
    for (size_t i = 0; i < sizeof stack; i++)
        stack[i] = (uint8_t)(0x40 + i);
    uint8_t rel[16] = {0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    uint8_t cont[16] = {0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
                        0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf};
    struct etl_wext ext[] = {
        {EXT_RELATED_ACTIVITYID, 16, rel}, {EXT_SID, sizeof sid, sid},
        {EXT_TS_ID, 4, tsid},              {EXT_STACK_TRACE64, sizeof stack, stack},
        {EXT_PROCESS_START_KEY, 8, psk},   {EXT_EVENT_KEY, 8, evkey},
        {EXT_CONTAINER_ID, 16, cont},
    };
    uint8_t payload[40];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 3 + 1);
    struct etl_wrecord r;
    int64_t ts = o.t0_raw + 17;
    for (int i = 0; i < 40; i++) {
        memset(&r, 0, sizeof r);
        r.cpu = (uint32_t)(i & 1);
        r.raw_timestamp = ts;
        ts += 1000 + i;
        r.pid = 100 + (uint32_t)i;
        r.tid = 200 + (uint32_t)i;
        r.data = payload;
        r.data_len = (uint32_t)(i % 40);
        switch (i % 5) {
        case 0: /* EVENT_HEADER with seven extended items */
        case 1: /* ... 32-bit header, items subset */
            r.kind = ETWHOST_HK_EVENT;
            r.ptr32 = (uint8_t)(i % 5);
            r.guid = fx_prov;
            r.id = (uint16_t)(10 + i);
            r.version = 2;
            r.channel = 16;
            r.level = 4;
            r.opcode = 1;
            r.task = 7;
            r.keywords = 0x8000000000000001ull;
            r.activity = fx_klass;
            r.ext = ext;
            r.n_ext = i % 5 == 0 ? 7 : 3;
            break;
        case 2: /* string-only */
            r.kind = ETWHOST_HK_EVENT;
            r.flags = ETL_EHF_STRING_ONLY;
            r.guid = fx_prov;
            r.id = 3;
            r.data = (const uint8_t *)"h\0i\0\0\0";
            r.data_len = 6;
            break;
        case 3: /* kernel system header */
            r.kind = ETWHOST_HK_SYSTEM;
            r.hook_id = 0x0301; /* Process group, type 1 */
            r.version = 3;
            break;
        default: /* classic EVENT_TRACE_HEADER */
            r.kind = ETWHOST_HK_TRACE;
            r.guid = fx_klass;
            r.opcode = 11;
            r.level = 2;
            r.version = 1;
            break;
        }
        ASSERT_MSG(etl_writer_append(w, &r, &eb) == 0, "%s", eb.msg);
    }
    uint8_t *data;
    ASSERT_OK(etl_writer_close(w, &data, len, &eb));
    return data;
}

TEST(live_conversion_keeps_every_record_field_of_the_fixture)
{
    size_t len;
    uint8_t *etl = fixture_etl(&len);
    const char *path = t_path("%s/fixture.etl", t_tmpdir());
    t_write_bytes(path, etl, len);
    mem_free(etl);
    struct fake_etw f;
    fake_init(&f);
    uint32_t n = fake_add_etl(&f, "", path, 0);
    ASSERT(n >= 40);
    /* Convert each as Windows presents it, then back, and compare with the reader's record. */
    uint8_t *scratch = NULL;
    size_t cap = 0;
    int kinds[8] = {0};
    for (uint32_t i = 0; i < n; i++) {
        const struct record *a = f.events[i];
        struct etw_event ev;
        struct etw_ext_item items[64];
        /* The fake's presentation is what process_trace hands over. */
        memset(&ev, 0, sizeof ev);
        uint32_t pos = 0;
        uint16_t k = 0, type, l;
        const uint8_t *d;
        while (record_ext_next(a, &pos, &type, &d, &l)) {
            items[k].type = type;
            items[k].size = l;
            items[k].data = d;
            k++;
        }
        ev.flags = (uint16_t)((a->kind == ETWHOST_HK_EVENT
                                   ? (a->hdr_flags & ETW_EHF_STRING_ONLY)
                                   : ETW_EHF_CLASSIC_HEADER) |
                              ((a->evf & ETWHOST_EVF_PTR32) ? ETW_EHF_32_BIT_HEADER
                                                            : ETW_EHF_64_BIT_HEADER) |
                              (k ? ETW_EHF_EXTENDED_INFO : 0));
        ev.pid = a->pid;
        ev.tid = a->tid;
        ev.timestamp = a->raw_timestamp;
        ev.provider = a->provider;
        ev.id = a->id;
        ev.version = a->version;
        ev.channel = a->channel;
        ev.level = a->level;
        ev.opcode = a->opcode;
        ev.task = a->task;
        ev.keyword = a->keywords;
        ev.activity = a->activity;
        ev.processor = (uint16_t)a->cpu;
        ev.ext_count = k;
        ev.ext = items;
        ev.user_len = (uint16_t)a->data_len;
        ev.user_data = a->data;
        struct record b;
        ASSERT_OK(live_event_to_record(&ev, &f.info, a->kind == ETWHOST_HK_SYSTEM, &scratch,
                                       &cap, &b));
        ASSERT_EQ(b.kind, a->kind);
        kinds[a->kind & 7]++;
        ASSERT_EQ(b.evf, a->evf);
        ASSERT_EQ(b.pid, a->pid);
        ASSERT_EQ(b.tid, a->tid);
        ASSERT_EQ(b.cpu, a->cpu);
        ASSERT_EQ(b.raw_timestamp, a->raw_timestamp);
        ASSERT_EQ(b.timestamp, a->timestamp); /* same clock arithmetic as the reader */
        ASSERT(guid_eq(&b.provider, &a->provider));
        ASSERT(guid_eq(&b.activity, &a->activity));
        ASSERT(guid_eq(&b.related, &a->related));
        ASSERT_EQ(b.id, a->id);
        ASSERT_EQ(b.version, a->version);
        ASSERT_EQ(b.channel, a->channel);
        ASSERT_EQ(b.level, a->level);
        ASSERT_EQ(b.opcode, a->opcode);
        ASSERT_EQ(b.task, a->task);
        ASSERT_EQ_U64(b.keywords, a->keywords);
        if (a->kind == ETWHOST_HK_EVENT)
            ASSERT_EQ(b.hdr_flags, a->hdr_flags);
        /* Extended items rebuilt byte for byte in the in-file layout. */
        ASSERT_EQ(b.ext_len, a->ext_len);
        if (a->ext_len)
            ASSERT(memcmp(b.ext, a->ext, a->ext_len) == 0);
        ASSERT_EQ(b.data_len, a->data_len);
        if (a->data_len)
            ASSERT(memcmp(b.data, a->data, a->data_len) == 0);
    }
    ASSERT(kinds[ETWHOST_HK_EVENT] == 24 && kinds[ETWHOST_HK_SYSTEM] >= 8 &&
           kinds[ETWHOST_HK_TRACE] == 8);
    mem_free(scratch);
    fake_free(&f);
}

TEST(live_replay_fixture_through_the_source)
{
    size_t len;
    uint8_t *etl = fixture_etl(&len);
    const char *path = t_path("%s/fixture.etl", t_tmpdir());
    t_write_bytes(path, etl, len);
    mem_free(etl);
    struct jl want = {0}, got = {0};
    etl_json(path, NULL, 0, &want);
    struct fake_etw f;
    fake_init(&f);
    uint32_t n = fake_add_etl(&f, "replay", path, 0);
    etw_api_override(&f.api);
    struct source *s = live_source(user_session);
    struct dec x;
    dec_init(&x, NULL);
    ASSERT_EQ_U64(read_all(s, n, &x, &got), n);
    assert_same_lines(&want, &got, "fixture");
    /* The related activity id came through the shortcut. */
    size_t related = 0;
    for (size_t i = 0; i < got.n; i++)
        related += strstr(got.v[i], "\"related_activity_id\":\"ddccbbaa-0201-0403-0506-"
                                    "0708090a0b0c\"") != NULL;
    ASSERT_EQ(related, 16);
    source_destroy(s);
    etw_api_override(NULL);
    dec_free(&x);
    jl_free(&want);
    jl_free(&got);
    fake_free(&f);
}

/* ---- TDH ---- */

/* Keys TDH must be asked about: not TraceLogging, not WPP, not a built-in kernel class. */
static uint32_t distinct_keys(const struct fake_etw *f)
{
    struct schema_key *k = mem_calloc(f->nevents + 1, sizeof *k);
    struct mof_kernel *mk;
    struct errbuf eb;
    ASSERT_OK(mof_kernel_new(NULL, &mk, &eb));
    uint32_t n = 0;
    for (uint32_t i = 0; i < f->nevents; i++) {
        struct schema_key key;
        const struct record *r = f->events[i];
        if (r->tl_meta || r->kind == ETWHOST_HK_MESSAGE)
            continue;
        if (r->kind != ETWHOST_HK_EVENT &&
            mof_kernel_find(mk, &r->provider, r->version, r->opcode,
                            (r->evf & ETWHOST_EVF_PTR32) ? 4 : 8))
            continue;
        schema_key_for_record(f->events[i], &key);
        uint32_t j = 0;
        while (j < n && memcmp(&k[j], &key, sizeof key) != 0)
            j++;
        if (j == n)
            k[n++] = key;
    }
    mof_kernel_free(mk);
    mem_free(k);
    return n;
}

/*
 * Replay the trace at path without its TDH metadata records; TDH answers with
 * the blobs those records carry.  Every event must decode as the .etl reader
 * decodes it with the metadata, more than 100 lines must contain marker (and
 * no decode_error), and TdhGetEventInformation runs once per schema key.
 * min_answers: TDH answers the trace must provide; maps: 1 when
 * TdhGetEventMapInformation must be used (1..16 times).
 */
static void tdh_replay(const char *path, const char *session_json, const char *marker,
                       uint32_t min_answers, int maps, const char *what)
{
    struct jl want = {0}, got = {0};
    etl_json(path, NULL, 1, &want);
    drop_wpp_sequence(&want);
    struct fake_etw f;
    fake_init(&f);
    uint32_t answers = fake_add_tdh_from_etl(&f, path);
    ASSERT(answers >= min_answers);
    uint32_t n = fake_add_etl(&f, "", path, 1);
    ASSERT_EQ(n, want.n);
    etw_api_override(&f.api);
    struct source *s = live_source(session_json);
    struct dec x;
    dec_init(&x, NULL);
    ASSERT_EQ_U64(read_all(s, n, &x, &got), n);
    assert_same_lines(&want, &got, what);
    size_t decoded = 0;
    for (size_t i = 0; i < got.n; i++)
        decoded += strstr(got.v[i], marker) != NULL && strstr(got.v[i], "\"decode_error\"") == NULL;
    ASSERT_MSG(decoded > 100, "%s: only %zu events with %s decoded", what, decoded, marker);
    uint32_t keys = distinct_keys(&f);
    ASSERT(f.tdh_calls >= 1);
    ASSERT_EQ(f.tdh_calls, keys);
    if (maps)
        ASSERT(f.map_calls >= 1 && f.map_calls <= 16);
    source_destroy(s);
    etw_api_override(NULL);
    dec_free(&x);
    jl_free(&want);
    jl_free(&got);
    fake_free(&f);
    printf("%s: %u events, %zu decoded from TDH schemas, %u TDH calls for %u keys, %u map "
           "calls\n",
           what, n, decoded, f.tdh_calls, keys, f.map_calls);
}

TEST(live_tdh_schemas_decode_like_embedded_metadata)
{
    const char *corpus = t_corpus_or_skip();
    tdh_replay(t_path("%s/etl/demikernel__PktMon.etl", corpus),
               "{\"type\": \"live\", \"session\": {\"name\": \"pktmon\"}, "
               "\"providers\": [\"{4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac}:5\"]}",
               "\"PktGroupId\":", 7, 1, "PktMon via TDH");
}

/*
 * The same on the project's own trace: etlgen's manifest-style events carry
 * their TRACE_EVENT_INFO (and maps) only as embedded metadata records, so
 * live they decode only through the TDH answers.  Runs without the corpus.
 */
TEST(live_tdh_schemas_decode_like_embedded_metadata_own_trace)
{
    char path[1024];
    own_trace(path, sizeof path, "mixed", 2000, "8", NULL);
    tdh_replay(path,
               "{\"type\": \"live\", \"session\": {\"name\": \"own\"}, "
               "\"providers\": [\"{3c4b5a69-7d8e-4f90-a1b2-c3d4e5f60718}:5\"]}",
               "\"provider\":\"Etwhost-Sample-Manifest\"", 1, 0,
               "own manifest-style events via TDH");
}

TEST(live_tdh_schema_survives_the_archive_encoding)
{
    const char *corpus = t_corpus_or_skip();
    const char *path = t_path("%s/etl/demikernel__PktMon.etl", corpus);
    struct fake_etw f;
    fake_init(&f);
    fake_add_tdh_from_etl(&f, path);
    uint32_t n = fake_add_etl(&f, "", path, 1);
    struct live_tdh *t = live_tdh_new();
    uint32_t checked = 0;
    struct arena a = ARENA_INIT;
    struct dec x1, x2;
    dec_init(&x1, NULL);
    dec_init(&x2, NULL);
    for (uint32_t i = 0; i < n; i++) {
        const struct record *r = f.events[i];
        struct etw_event ev;
        memset(&ev, 0, sizeof ev);
        ev.native = r;
        const struct schema *s = live_tdh_resolve(t, &f.api, &ev, r);
        if (s == NULL)
            continue;
        ASSERT_EQ(s->source, SCHEMA_SRC_TDH_LIVE);
        /* Encode as an archive does, decode, and decode the event with both. */
        struct buf enc = BUF_INIT;
        ASSERT_OK(schema_encode(s, &enc));
        struct schema *back;
        struct errbuf eb;
        ASSERT_MSG(schema_decode((const uint8_t *)enc.p, enc.len, &a, &back, &eb) == 0, "%s",
                   eb.msg);
        struct jl j1 = {0}, j2 = {0};
        struct dec *xs[2] = {&x1, &x2};
        const struct schema *ss[2] = {s, back};
        struct jl *js[2] = {&j1, &j2};
        for (int k = 0; k < 2; k++) {
            arena_reset(&xs[k]->a);
            event_reset(&xs[k]->e);
            buf_reset(&xs[k]->json);
            ASSERT_OK(decode_with_schema(&xs[k]->d, r, ss[k], &xs[k]->e));
            ASSERT_OK(event_json_render(&xs[k]->e, &xs[k]->json));
            jl_add(js[k], xs[k]->json.p, xs[k]->json.len);
        }
        ASSERT_NOT_CONTAINS(j1.v[0], "decode_error");
        assert_same_lines(&j1, &j2, "TDH schema after the archive encoding");
        jl_free(&j1);
        jl_free(&j2);
        buf_free(&enc);
        checked++;
    }
    dec_free(&x1);
    dec_free(&x2);
    ASSERT(checked > 100);
    struct live_tdh_stats st;
    live_tdh_get_stats(t, &st);
    ASSERT(st.schemas >= 3);
    ASSERT_EQ_U64(st.asked, f.tdh_calls);
    live_tdh_unref(t);
    arena_free(&a);
    fake_free(&f);
}

TEST(live_tdh_never_asked_for_tracelogging_or_wpp)
{
    const char *corpus = t_corpus_or_skip();
    struct fake_etw f;
    fake_init(&f);
    uint32_t n = fake_add_etl(&f, "", t_path("%s/etl/etlparser__AMSITrace.etl", corpus), 0);
    n += fake_add_etl(&f, "",
                      t_path("%s/etl/dfirmuseum__OneDrive_TraceCurrent.1202.0003.etl", corpus), 0);
    struct live_tdh *t = live_tdh_new();
    uint32_t tl = 0, wpp = 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct record *r = f.events[i];
        struct etw_event ev;
        memset(&ev, 0, sizeof ev);
        ev.native = r;
        if (r->tl_meta || r->kind == ETWHOST_HK_MESSAGE) {
            ASSERT(live_tdh_resolve(t, &f.api, &ev, r) == NULL);
            tl += r->tl_meta != NULL;
            wpp += r->kind == ETWHOST_HK_MESSAGE;
        }
    }
    ASSERT(tl >= 19 && wpp >= 19);
    ASSERT_EQ(f.tdh_calls, 0);
    /* Kernel events of the built-in MOF classes decode with those, as in .etl files. */
    uint32_t before = f.nevents;
    n = fake_add_etl(&f, "", t_path("%s/etl/perfview__diaghub.kernel.1.etl", corpus), 0);
    for (uint32_t i = before; i < before + n; i++) {
        struct etw_event ev;
        memset(&ev, 0, sizeof ev);
        ev.native = f.events[i];
        live_tdh_resolve(t, &f.api, &ev, f.events[i]);
    }
    struct live_tdh_stats st;
    live_tdh_get_stats(t, &st);
    ASSERT(st.builtin > 20);
    ASSERT_EQ_U64(st.asked, f.tdh_calls);
    ASSERT_MSG(f.tdh_calls < 10, "TDH asked %u times for a kernel trace", f.tdh_calls);
    live_tdh_unref(t);
    fake_free(&f);
}

/* ---- Restart, losses, back-pressure, shutdown ---- */

static uint32_t count_lines(const char *log, const char *prefix)
{
    uint32_t n = 0;
    size_t pl = strlen(prefix);
    for (const char *p = log; p && *p;) {
        if (strncmp(p, prefix, pl) == 0)
            n++;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return n;
}

TEST(live_restarts_after_an_external_stop_without_losing_or_repeating_events)
{
    char path[1024];
    own_trace(path, sizeof path, "tracelogging", 400, "8", NULL);
    struct jl want = {0}, got = {0};
    etl_json(path, NULL, 0, &want);
    struct fake_etw f;
    fake_init(&f);
    uint32_t n = fake_add_etl(&f, "", path, 0);
    f.external_stop_after = 50;
    etw_api_override(&f.api);
    struct source *s = live_source(user_session);
    struct dec x;
    dec_init(&x, NULL);
    ASSERT_EQ_U64(read_all(s, n, &x, &got), n);
    assert_same_lines(&want, &got, "own trace across a restart");
    char st[1024];
    s->stats(s, st, sizeof st);
    ASSERT_CONTAINS(st, "restarts 1");
    const char *log = buf_cstr(&f.log);
    ASSERT_CONTAINS(log, "external-stop replay");
    /* Started twice, provider enabled twice, opened twice. */
    ASSERT_EQ(count_lines(log, "start replay"), 2);
    ASSERT_EQ(count_lines(log, "enable a0c1853b-5c40-4b15-8766-3cf1c58f985a"), 2);
    ASSERT_EQ(count_lines(log, "open replay"), 2);
    source_destroy(s);
    etw_api_override(NULL);
    dec_free(&x);
    jl_free(&want);
    jl_free(&got);
    fake_free(&f);
}

TEST(live_events_carry_the_name_their_provider_was_enabled_under)
{
    const char *corpus = t_corpus_or_skip();
    struct fake_etw f;
    fake_init(&f);
    uint32_t n = fake_add_etl(&f, "", t_path("%s/etl/krabsetw__powershell.etl", corpus), 0);
    const char *names[] = {"Microsoft-Windows-PowerShell"};
    etwhost_guid g;
    guid_parse("a0c1853b-5c40-4b15-8766-3cf1c58f985a", 36, &g);
    fake_set_providers(&f, names, &g, 1);
    etw_api_override(&f.api);
    struct source *s = live_source("{\"type\": \"live\", \"tdh\": false, \"providers\": "
                                   "[\"microsoft-windows-powershell:5\"]}");
    struct dec x;
    dec_init(&x, NULL);
    struct jl got = {0};
    ASSERT_EQ_U64(read_all(s, n, &x, &got), n);
    /* Undecoded (no manifest here), yet named: the registered spelling. */
    size_t named = 0;
    for (size_t i = 0; i < got.n; i++)
        named += strstr(got.v[i], "\"provider\":\"Microsoft-Windows-PowerShell\"") != NULL;
    ASSERT_EQ(named, 112);
    source_destroy(s);
    etw_api_override(NULL);
    dec_free(&x);
    jl_free(&got);
    fake_free(&f);
}

TEST(live_open_and_close_touch_no_session)
{
    /* What `etwhost check` does: open and close; nothing may start or stop on the machine. */
    struct fake_etw f;
    fake_init(&f);
    etw_api_override(&f.api);
    struct source *s = live_source(
        "{\"type\": \"live\", \"session\": {\"name\": \"x\", \"existing\": \"stop\"}, "
        "\"providers\": [{\"guid\": \"a0c1853b-5c40-4b15-8766-3cf1c58f985a\", \"event_ids\": "
        "[1]}]}");
    char st[256];
    s->stats(s, st, sizeof st);
    ASSERT_STREQ(st, "");
    source_destroy(s);
    ASSERT_STREQ(buf_cstr(&f.log), "");
    /* Filter limits are checked at open, before any session exists. */
    json_t *obj = json_loads("{\"type\": \"live\", \"providers\": [{\"name\": \"P\", \"exe\": "
                             "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                             ".exe\"}]}", 0, NULL);
    const char *names[] = {"P"};
    etwhost_guid g = fx_prov;
    fake_set_providers(&f, names, &g, 1);
    struct errbuf eb;
    ASSERT_EQ(source_create(NULL, obj, "live", 0, &s, &eb), ERR_CONFIG);
    ASSERT_CONTAINS(eb.msg, "ETW takes at most 1024");
    json_decref(obj);
    ASSERT_NOT_CONTAINS(buf_cstr(&f.log), "start");
    etw_api_override(NULL);
    fake_free(&f);
}

TEST(live_no_restart_ends_the_source)
{
    char path[1024];
    own_trace(path, sizeof path, "mixed", 600, "8", NULL);
    struct fake_etw f;
    fake_init(&f);
    uint32_t n = fake_add_etl(&f, "", path, 0);
    f.external_stop_after = n; /* the session vanishes once everything was delivered */
    etw_api_override(&f.api);
    struct source *s = live_source(
        "{\"type\": \"live\", \"tdh\": false, \"session\": {\"name\": \"once\", \"restart\": "
        "false}, \"providers\": [\"{a0c1853b-5c40-4b15-8766-3cf1c58f985a}\"]}");
    struct record_batch b;
    batch_init(&b, 256);
    struct errbuf eb;
    uint64_t total = 0;
    for (;;) {
        batch_reset(&b);
        int r = s->ops->read(s, &b, &eb); /* ends by itself: nobody sets stop */
        ASSERT(r >= 0);
        total += b.n;
        if (r == 0)
            break;
    }
    ASSERT_EQ_U64(total, n);
    ASSERT_EQ(count_lines(buf_cstr(&f.log), "start once"), 1);
    batch_free(&b);
    source_destroy(s);
    etw_api_override(NULL);
    fake_free(&f);
}

TEST(live_counts_rt_lost_events_and_session_losses)
{
    char path[1024];
    own_trace(path, sizeof path, "mixed", 600, "8", NULL);
    struct fake_etw f;
    fake_init(&f);
    uint32_t n = fake_add_etl(&f, "", path, 0);
    f.rt_lost[0] = 3;
    f.rt_lost[1] = 2;
    f.rt_lost[2] = 1;
    f.events_lost = 17;
    f.rt_buffers_lost = 4;
    f.log_buffers_lost = 5;
    etw_api_override(&f.api);
    struct source *s = live_source(user_session);
    /* RT_Lost events are counted, not forwarded: exactly the trace's records arrive. */
    struct record_batch b;
    batch_init(&b, 256);
    struct errbuf eb;
    uint64_t got = 0;
    while (got < n) {
        batch_reset(&b);
        ASSERT(s->ops->read(s, &b, &eb) > 0);
        for (uint32_t i = 0; i < b.n; i++)
            ASSERT(!guid_eq(&b.recs[i].provider, &live_rt_lost_guid));
        got += b.n;
    }
    ASSERT_EQ_U64(got, n);
    char st[1024];
    s->stats(s, st, sizeof st);
    ASSERT_CONTAINS(st, "EventsLost 17, LogBuffersLost 5, RealTimeBuffersLost 4");
    ASSERT_CONTAINS(st, "RT_LostEvent 3, RT_LostBuffer 2, RT_LostFile 1");
    ASSERT_CONTAINS(st, t_path("events %u", n));
    atomic_store(&s->stop, 1);
    while (s->ops->read(s, &b, &eb) > 0)
        batch_reset(&b);
    /* After the stop, the counters are the final ones ControlTrace STOP returned. */
    s->stats(s, st, sizeof st);
    ASSERT_CONTAINS(st, "EventsLost 17");
    batch_free(&b);
    source_destroy(s);
    etw_api_override(NULL);
    fake_free(&f);
}

TEST(live_back_pressure_waits_and_keeps_order)
{
    struct fake_etw f;
    fake_init(&f);
    struct record r;
    uint8_t payload[8];
    for (uint32_t i = 0; i < 3000; i++) {
        memset(&r, 0, sizeof r);
        r.kind = ETWHOST_HK_EVENT;
        r.provider = fx_prov;
        r.id = 1;
        r.raw_timestamp = 1000 + i;
        memcpy(payload, &i, 4);
        r.data = payload;
        r.data_len = 4;
        fake_add_record(&f, "", &r);
    }
    etw_api_override(&f.api);
    struct source *s = live_source(
        "{\"type\": \"live\", \"tdh\": false, \"queue_batches\": 2, \"session\": {\"name\": "
        "\"bp\"}, \"providers\": [\"{5eed1234-0001-0002-0102-030405060708}\"]}");
    struct record_batch b;
    batch_init(&b, 256);
    struct errbuf eb;
    uint32_t next = 0;
    while (next < 3000) {
        plat_sleep_ms(2); /* a slow pipeline */
        batch_reset(&b);
        ASSERT(s->ops->read(s, &b, &eb) > 0);
        for (uint32_t i = 0; i < b.n; i++) {
            uint32_t v;
            memcpy(&v, b.recs[i].data, 4);
            ASSERT_EQ(v, next);
            next++;
        }
    }
    char st[1024];
    s->stats(s, st, sizeof st);
    ASSERT_NOT_CONTAINS(st, "queue waits 0,");
    ASSERT_CONTAINS(st, "dropped 0");
    atomic_store(&s->stop, 1);
    while (s->ops->read(s, &b, &eb) > 0)
        batch_reset(&b);
    batch_free(&b);
    source_destroy(s);
    etw_api_override(NULL);
    fake_free(&f);
}

TEST(live_shutdown_abandons_a_stuck_process_trace)
{
    struct fake_etw f;
    fake_init(&f);
    struct record r;
    memset(&r, 0, sizeof r);
    r.kind = ETWHOST_HK_EVENT;
    r.provider = fx_prov;
    fake_add_record(&f, "", &r);
    f.stuck = 1;
    struct live_session_cfg c;
    live_session_cfg_init(&c, 2);
    snprintf(c.name, sizeof c.name, "stuck");
    c.nproviders = 1;
    c.providers = mem_calloc(1, sizeof *c.providers);
    live_provider_init(&c.providers[0]);
    c.providers[0].guid = fx_prov;
    c.providers[0].has_guid = 1;
    struct live_queue *q = live_queue_new(16, 4);
    struct live_trace *t;
    struct errbuf eb;
    ASSERT_MSG(live_trace_start(&f.api, &c, q, NULL, &t, &eb) == 0, "%s", eb.msg);
    ASSERT(fake_wait_delivered(&f, 5000));
    uint64_t t0 = plat_monotonic_ns();
    ASSERT_EQ(live_trace_shutdown(t, 300), 1); /* abandoned */
    uint64_t ms = (plat_monotonic_ns() - t0) / 1000000;
    ASSERT_MSG(ms >= 1250 && ms < 5000, "shutdown took %llu ms (300 + CloseTrace grace 1000)",
               (unsigned long long)ms);
    const char *log = buf_cstr(&f.log);
    ASSERT_CONTAINS(log, "stop stuck");
    ASSERT_CONTAINS(log, "close stuck"); /* CloseTrace after the timeout */
    /* The queue was closed: the source can go; a late event is dropped and counted. */
    struct record_batch b;
    batch_init(&b, 16);
    ASSERT_EQ(live_queue_take(q, &b, 0), 1);
    batch_free(&b);
    live_queue_unref(q);
    /* The abandoned thread still returns one day and frees what it holds. */
    atomic_store(&f.unstick, 1);
    plat_sleep_ms(300);
    fake_free(&f);
}

TEST(live_graceful_stop_stops_an_owned_session_and_leaves_an_attached_one)
{
    struct fake_etw f;
    fake_init(&f);
    /* Another tool's session. */
    struct etw_session_props other;
    memset(&other, 0, sizeof other);
    snprintf(other.name, sizeof other.name, "shared");
    ASSERT_EQ(f.api.start_trace(f.api.ctx, &other), ETW_OK);
    struct record r;
    memset(&r, 0, sizeof r);
    r.kind = ETWHOST_HK_EVENT;
    r.provider = fx_prov;
    fake_add_record(&f, "replay", &r);
    fake_add_record(&f, "shared", &r);
    etw_api_override(&f.api);
    struct source *own = live_source(user_session);
    struct source *att = live_source(
        "{\"type\": \"live\", \"tdh\": false, \"session\": {\"name\": \"shared\", \"existing\": "
        "\"attach\"}}");
    /* Opening has no side effect; the first read starts (or joins) the session. */
    ASSERT_EQ(t_count(buf_cstr(&f.log), "start"), 1);
    ASSERT_EQ_U64(read_all(own, 1, NULL, NULL), 1);
    ASSERT_EQ_U64(read_all(att, 1, NULL, NULL), 1);
    source_destroy(own);
    source_destroy(att);
    const char *log = buf_cstr(&f.log);
    ASSERT_CONTAINS(log, "stop replay");
    ASSERT_NOT_CONTAINS(log, "stop shared");
    ASSERT_CONTAINS(log, "close shared");
    ASSERT_EQ(count_lines(log, "start shared"), 2); /* the other tool's, then ours: exists */
    ASSERT_CONTAINS(log, "query shared");
    etw_api_override(NULL);
    fake_free(&f);
}

/* ---- The whole runtime with two sessions at once ---- */

TEST(live_runtime_consumes_two_sessions_at_once)
{
    char one[1024], two[1024];
    own_trace(one, sizeof one, "mixed", 800, "8", NULL);
    own_trace(two, sizeof two, "tracelogging", 500, "4", "--compress");
    struct fake_etw f;
    fake_init(&f);
    uint32_t n1 = fake_add_etl(&f, "one", one, 0);
    uint32_t n2 = fake_add_etl(&f, "two", two, 0);
    /* Each session vanishes once its events are delivered; restart off ends its source. */
    f.end_when_drained = 1;
    const char *dir = t_path("%s/conf", t_tmpdir());
    t_mkdir(dir);
    t_write_file(t_path("%s/etwhost.json", dir),
                 t_path("{\"sources\": ["
                        "{\"type\": \"live\", \"name\": \"a\", \"tdh\": false, \"session\": "
                        "{\"name\": \"one\", \"restart\": false}, \"providers\": "
                        "[\"{a0c1853b-5c40-4b15-8766-3cf1c58f985a}\"]},"
                        "{\"type\": \"live\", \"name\": \"b\", \"tdh\": false, \"session\": "
                        "{\"name\": \"two\", \"restart\": false}, \"providers\": "
                        "[\"{2a576b87-09a7-520e-c21a-4942f0271d67}\"]}],"
                        "\"instances\": [{\"plugin\": \"nullsink\", \"path\": "
                        "\"%s/tests/plugins/nullsink%s\"}]}",
                        t_build(), plat_dl_suffix()));
    struct cfg *cfg;
    struct errbuf eb;
    ASSERT_MSG(cfg_load(dir, &cfg, &eb) == 0, "%s", eb.msg);
    etw_api_override(&f.api);
    struct source *src[2];
    for (size_t i = 0; i < 2; i++)
        ASSERT_MSG(source_create(cfg, cfg->sources[i].obj, cfg->sources[i].name, (uint32_t)i,
                                 &src[i], &eb) == 0,
                   "%s", eb.msg);
    struct chain *chain;
    ASSERT_MSG(chain_build(cfg, NULL, 0, &chain, &eb) == 0, "%s", eb.msg);
    struct run_options opt;
    memset(&opt, 0, sizeof opt);
    opt.stats_at_exit = 1;
    struct run_totals tot;
    ASSERT_MSG(chain_run(cfg, src, 2, &chain, &opt, &tot, &eb) == 0, "%s", eb.msg);
    ASSERT_EQ_U64(tot.records, (uint64_t)n1 + n2);
    ASSERT_EQ_U64(tot.delivered, (uint64_t)n1 + n2);
    /* As many fully decoded events as the .etl reader gets from the same files. */
    struct jl j = {0};
    etl_json(one, NULL, 0, &j);
    etl_json(two, NULL, 0, &j);
    uint64_t full = 0;
    for (size_t i = 0; i < j.n; i++)
        full += strstr(j.v[i], "\"decode_error\"") == NULL;
    jl_free(&j);
    ASSERT(full > 0);
    ASSERT_EQ_U64(tot.decoded, full);
    ASSERT_EQ_U64(tot.decoded + tot.partial + tot.undecoded, (uint64_t)n1 + n2);
    chain_destroy(chain);
    source_destroy(src[0]);
    source_destroy(src[1]);
    cfg_free(cfg);
    etw_api_override(NULL);
    fake_free(&f);
}

TEST(live_source_without_windows_says_so)
{
    if (etw_api_platform() != NULL)
        SKIP("this platform has ETW (the live source opens for real here)");
    json_t *obj = json_pack("{s:s, s:[s]}", "type", "live", "providers", "X");
    struct source *s = NULL;
    struct errbuf eb;
    ASSERT_EQ(source_create(NULL, obj, "live", 0, &s, &eb), ERR_UNSUPPORTED);
    ASSERT_STREQ(eb.msg, "source \"live\": live ETW sessions need Windows");
    json_decref(obj);
    const char *args[] = {"run", "-c", t_path("%s/c", t_tmpdir()), NULL};
    t_mkdir(t_path("%s/c", t_tmpdir()));
    t_write_file(t_path("%s/c/etwhost.json", t_tmpdir()),
                 "{\"sources\": [{\"type\": \"live\", \"providers\": [\"X\"]}], "
                 "\"instances\": [{\"plugin\": \"stdout\"}]}");
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_EQ(r.status, 2);
    ASSERT_CONTAINS(r.err, "live ETW sessions need Windows");
    ASSERT_EQ(t_count_lines(r.err), 1);
    t_run_free(&r);
}

/*
 * Live events decoded with TDH schemas go through the archive sink; the archive carries the
 * schemas, so `etwhost dump` of it prints what `etwhost dump` of the original trace prints.
 */
TEST(live_tdh_events_archive_and_dump_like_the_etl)
{
    const char *corpus = t_corpus_or_skip();
    char etl[2048], arc[2048];
    snprintf(etl, sizeof etl, "%s", t_path("%s/etl/demikernel__PktMon.etl", corpus));
    snprintf(arc, sizeof arc, "%s", t_path("%s/live.etwa", t_tmpdir()));
    struct fake_etw f;
    fake_init(&f);
    fake_add_tdh_from_etl(&f, etl);
    uint32_t n = fake_add_etl(&f, "pk", etl, 1);
    f.end_when_drained = 1;
    const char *dir = t_path("%s/conf", t_tmpdir());
    t_mkdir(dir);
    t_write_file(t_path("%s/etwhost.json", dir),
                 t_path("{\"sources\": [{\"type\": \"live\", \"session\": {\"name\": \"pk\", "
                        "\"restart\": false}, \"providers\": "
                        "[\"{4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac}\"]}], "
                        "\"instances\": [{\"plugin\": \"archive\", \"path\": "
                        "\"%s/plugins/archive%s\", \"settings\": {\"path\": \"%s\"}}]}",
                        t_build(), plat_dl_suffix(), arc));
    struct cfg *cfg;
    struct errbuf eb;
    ASSERT_MSG(cfg_load(dir, &cfg, &eb) == 0, "%s", eb.msg);
    etw_api_override(&f.api);
    struct source *src;
    ASSERT_MSG(source_create(cfg, cfg->sources[0].obj, "pk", 0, &src, &eb) == 0, "%s", eb.msg);
    struct chain *chain;
    ASSERT_MSG(chain_build(cfg, NULL, 0, &chain, &eb) == 0, "%s", eb.msg);
    struct run_options opt;
    memset(&opt, 0, sizeof opt);
    struct run_totals tot;
    ASSERT_MSG(chain_run(cfg, &src, 1, &chain, &opt, &tot, &eb) == 0, "%s", eb.msg);
    ASSERT_EQ_U64(tot.records, n);
    ASSERT_EQ_U64(tot.delivered, n);
    chain_destroy(chain);
    source_destroy(src);
    cfg_free(cfg);
    etw_api_override(NULL);
    fake_free(&f);

    const char *d1[] = {"dump", "-q", etl, NULL}, *d2[] = {"dump", "-q", arc, NULL};
    struct t_run r1 = t_etwhost(d1, NULL, NULL), r2 = t_etwhost(d2, NULL, NULL);
    ASSERT_MSG(r1.status == 0 && r2.status == 0, "dump: %s %s", r1.err, r2.err);
    /* The .etl dump also lists the metadata records the live stream does not have. */
    struct buf want = BUF_INIT;
    size_t meta = 0;
    for (char *line = r1.out; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
        char *hit = strstr(line, "bbccf6c1-6cd1-48c4-80ff-839482e37671");
        if (hit && hit < line + len)
            meta++;
        else
            buf_append(&want, line, len);
        line += len;
    }
    ASSERT(meta > 0);
    ASSERT_EQ(t_count_lines(r1.out), n + meta);
    ASSERT_EQ(t_count_lines(r2.out), n);
    ASSERT_MSG(strcmp(buf_cstr(&want), r2.out) == 0, "dump of the live archive differs");
    ASSERT(t_count(r2.out, "\"PktGroupId\":") > 100);
    struct archive_reader *ar;
    ASSERT_OK(archive_open(arc, NULL, &ar, &eb));
    ASSERT(archive_schema_count(ar) >= 3);
    archive_close(ar);
    buf_free(&want);
    t_run_free(&r1);
    t_run_free(&r2);
}
