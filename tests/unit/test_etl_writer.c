/*
 * The project's own .etl files: every header kind written by etl_writer
 * and read back field by field (plain/compressed, 32/64-bit, QPC/system
 * clock), multi-processor time ordering, lookahead limits, repetition of a
 * trace into a longer one, the etlgen tool, and etlscan's opinion of our
 * files.
 */
#include "test.h"

#include <jansson.h>

#include "core/err.h"
#include "core/mem.h"
#include "etl/etl_format.h"
#include "etl/etl_reader.h"
#include "etl/etl_writer.h"
#include "platform/platform.h"

__extension__ typedef __int128 i128;

static const etwhost_guid prov = {0x11223344, 0x5566, 0x7788, {1, 2, 3, 4, 5, 6, 7, 8}};
static const etwhost_guid klass = {0xa1b2c3d4, 0xe5f6, 0x0718, {9, 10, 11, 12, 13, 14, 15, 16}};
static const etwhost_guid act = {0xdeadbeef, 0x0102, 0x0304, {0xaa, 0xbb, 0xcc, 0xdd, 0, 1, 2, 3}};
static const etwhost_guid rel = {0xfeedface, 0x1111, 0x2222, {3, 3, 3, 3, 4, 4, 4, 4}};

static uint8_t tl_meta[] = {0x13, 0x00, 0x00, 'E', 'v', 0, 'F', 'i', 'e', 'l', 'd', 0, 0x08,
                            'S', 't', 'r', 0, 0x02, 0x00};
static uint8_t tl_traits[] = {0x0A, 0x00, 'P', 'r', 'o', 'v', 'i', 'd', 'r', 0};

/* Reference conversion, computed independently of the reader. */
static int64_t expect_ft(uint32_t clock, int64_t start, int64_t t0, int64_t freq, int64_t raw)
{
    if (clock == TRACE_CLOCK_SYSTEM)
        return raw;
    i128 d = (i128)raw - t0;
    i128 q = d * 10000000 / freq; /* C division truncates toward zero, as the reader does */
    return (int64_t)(start + q);
}

static void guid_bytes(uint8_t *p, const etwhost_guid *g)
{
    le_w32(p, g->data1);
    le_w16(p + 4, g->data2);
    le_w16(p + 6, g->data3);
    memcpy(p + 8, g->data4, 8);
}

/* Find ext item type in rec; returns its data or NULL. */
static const uint8_t *find_ext(const struct record *rec, uint16_t want, uint16_t *len)
{
    uint32_t pos = 0;
    uint16_t type;
    const uint8_t *d;
    while (record_ext_next(rec, &pos, &type, &d, len))
        if (type == want)
            return d;
    return NULL;
}

static void round_trip(uint32_t ptr, int compress, uint32_t clock)
{
    struct etl_writer_options o;
    memset(&o, 0, sizeof o);
    o.pointer_size = ptr;
    o.compress = compress;
    o.clock_type = clock;
    o.num_cpus = 3;
    o.buffer_size = 8192;
    o.start_time = 133000000000000000LL;
    o.perf_freq = 3117777; /* odd frequency: exercises the exact division */
    o.t0_raw = clock == TRACE_CLOCK_SYSTEM ? o.start_time : 987654321;
    o.logger_name = "roundtrip";
    o.logfile_name = "C:\\traces\\rt.etl";
    o.os_major = 10;
    o.os_build = 22631;
    o.tz_bias_minutes = -60;
    struct etl_writer *w;
    struct errbuf eb;
    ASSERT_MSG(etl_writer_open(NULL, &o, &w, &eb) == 0, "%s", eb.msg);
    int ptr32 = ptr == 4;
    int64_t ts = o.t0_raw + 1000;
    uint8_t payload[64];
    for (int i = 0; i < 64; i++)
        payload[i] = (uint8_t)(i * 7);
    uint8_t relb[16], stack[8 + 16];
    guid_bytes(relb, &rel);
    memset(stack, 0x5A, sizeof stack);
    struct etl_wext ext[] = {{EXT_RELATED_ACTIVITYID, 16, relb},
                             {EXT_PROV_TRAITS, sizeof tl_traits, tl_traits},
                             {EXT_EVENT_SCHEMA_TL, sizeof tl_meta, tl_meta},
                             {EXT_STACK_TRACE64, sizeof stack, stack}};
    uint64_t pmc[3] = {111, 222, 333};
    struct etl_wrecord r;
    /* 1: EVENT_HEADER with four extended items. */
    memset(&r, 0, sizeof r);
    r.kind = ETWHOST_HK_EVENT;
    r.ptr32 = (uint8_t)ptr32;
    r.cpu = 1;
    r.raw_timestamp = ts++;
    r.pid = 100;
    r.tid = 200;
    r.guid = prov;
    r.id = 42;
    r.version = 3;
    r.channel = 11;
    r.level = 5;
    r.opcode = 9;
    r.task = 0x1234;
    r.keywords = 0x8000000000000abcull;
    r.event_property = 0x8;
    r.activity = act;
    r.ext = ext;
    r.n_ext = 4;
    r.data = payload;
    r.data_len = 13;
    ASSERT_OK(etl_writer_append(w, &r, &eb));
    /* 2: string-only EVENT_HEADER without items. */
    r.ext = NULL;
    r.n_ext = 0;
    r.flags = ETL_EHF_STRING_ONLY;
    r.raw_timestamp = ts++;
    r.data = "h\0i\0\0\0";
    r.data_len = 6;
    ASSERT_OK(etl_writer_append(w, &r, &eb));
    /* 3: classic EVENT_TRACE_HEADER. */
    memset(&r, 0, sizeof r);
    r.kind = ETWHOST_HK_TRACE;
    r.ptr32 = (uint8_t)ptr32;
    r.cpu = 1;
    r.raw_timestamp = ts++;
    r.pid = 101;
    r.tid = 201;
    r.guid = klass;
    r.opcode = 37;
    r.level = 2;
    r.version = 4;
    r.data = payload;
    r.data_len = 20;
    ASSERT_OK(etl_writer_append(w, &r, &eb));
    /* 4: instance header. */
    r.kind = ETWHOST_HK_INSTANCE;
    r.raw_timestamp = ts++;
    r.instance_id = 77;
    r.parent_instance_id = 66;
    r.parent_guid = rel;
    ASSERT_OK(etl_writer_append(w, &r, &eb));
    /* 5, 6: SYSTEM full and compact. */
    memset(&r, 0, sizeof r);
    r.kind = ETWHOST_HK_SYSTEM;
    r.ptr32 = (uint8_t)ptr32;
    r.cpu = 1;
    r.raw_timestamp = ts++;
    r.pid = 4;
    r.tid = 8;
    r.hook_id = 0x030A; /* image load under the Process group: the Image class */
    r.version = 3;
    r.data = payload;
    r.data_len = 30;
    ASSERT_OK(etl_writer_append(w, &r, &eb));
    r.compact = 1;
    r.hook_id = 0x0524;
    r.raw_timestamp = ts++;
    r.data_len = 24;
    ASSERT_OK(etl_writer_append(w, &r, &eb));
    /* 7: PERFINFO with PEBS index and three PMC counters. */
    memset(&r, 0, sizeof r);
    r.kind = ETWHOST_HK_PERFINFO;
    r.ptr32 = (uint8_t)ptr32;
    r.cpu = 1;
    r.raw_timestamp = ts++;
    r.hook_id = 0x0F2E;
    r.version = 2;
    r.has_pebs = 1;
    r.pebs = 0x0102030405060708ull;
    r.pmc = pmc;
    r.n_pmc = 3;
    r.data = payload;
    r.data_len = 16;
    ASSERT_OK(etl_writer_append(w, &r, &eb));
    /* 8-10: WPP messages with different optional items. */
    static const uint16_t wopts[] = {0x2B, 0x2C, 0x02};
    for (int i = 0; i < 3; i++) {
        memset(&r, 0, sizeof r);
        r.kind = ETWHOST_HK_MESSAGE;
        r.ptr32 = (uint8_t)ptr32;
        r.cpu = 1;
        r.raw_timestamp = ts++;
        r.pid = 300;
        r.tid = 400;
        r.guid = klass;
        r.message_number = (uint16_t)(10 + i);
        r.wpp_options = wopts[i];
        r.sequence = 5000u + (uint32_t)i;
        r.component_id = 9;
        r.data = payload;
        r.data_len = 11;
        ASSERT_OK(etl_writer_append(w, &r, &eb));
    }
    /* 11, 12: embedded TDH metadata. */
    ASSERT_OK(etl_writer_tdh_event_info(w, 1, ts++, 4, 8, payload, 40, &eb));
    ASSERT_OK(etl_writer_tdh_map_info(w, 1, ts++, 4, 8, &prov, payload, 24, &eb));
    int64_t last_ts = ts - 1;
    uint8_t *file = NULL;
    size_t flen = 0;
    ASSERT_OK(etl_writer_close(w, &file, &flen, &eb));

    struct etl_options ro;
    memset(&ro, 0, sizeof ro);
    ro.file_order = 1;
    struct etl_reader *rd;
    ASSERT_MSG(etl_open_mem(file, flen, "rt.etl", &ro, &rd, &eb) == 0, "%s", eb.msg);
    const struct trace_info *ti = etl_info(rd);
    ASSERT_EQ(ti->pointer_size, ptr);
    ASSERT_EQ(ti->clock_type, clock);
    ASSERT_EQ(ti->num_cpus, 3);
    ASSERT_EQ(ti->buffer_size, 8192);
    ASSERT_EQ(ti->perf_freq, o.perf_freq);
    ASSERT_EQ(ti->start_time, o.start_time);
    ASSERT_EQ(ti->t0_raw, o.t0_raw);
    ASSERT_EQ(ti->os_major, 10);
    ASSERT_EQ(ti->os_build, 22631);
    ASSERT_EQ(ti->tz_bias_minutes, -60);
    ASSERT_EQ(!!(ti->log_file_mode & ETL_MODE_COMPRESSED), compress);
    ASSERT_EQ(ti->end_time, expect_ft(clock, o.start_time, o.t0_raw, o.perf_freq, last_ts));
    ASSERT_STREQ(ti->logger_name, "roundtrip");
    ASSERT_STREQ(etl_logfile_name(rd), "C:\\traces\\rt.etl");
    uint32_t p32 = ptr32 ? ETWHOST_EVF_PTR32 : 0;
    struct record rec;
    int64_t want_ts = o.t0_raw + 1000;
    uint16_t len;
    const uint8_t *d;

    ASSERT_EQ(etl_next(rd, &rec, &eb), 1); /* logfile header */
    ASSERT_EQ(rec.kind, ETWHOST_HK_SYSTEM);
    ASSERT_EQ(rec.hook_id, 0);
    ASSERT_EQ(rec.timestamp, o.clock_type == TRACE_CLOCK_SYSTEM ? o.t0_raw : o.start_time);

    ASSERT_EQ(etl_next(rd, &rec, &eb), 1);
    ASSERT_EQ(rec.kind, ETWHOST_HK_EVENT);
    ASSERT_EQ(rec.evf, p32 | ETWHOST_EVF_TRACELOGGING);
    ASSERT_EQ(rec.raw_timestamp, want_ts);
    ASSERT_EQ(rec.timestamp, expect_ft(clock, o.start_time, o.t0_raw, o.perf_freq, want_ts));
    want_ts++;
    ASSERT_EQ(rec.pid, 100);
    ASSERT_EQ(rec.tid, 200);
    ASSERT_EQ(rec.cpu, 1);
    ASSERT(guid_eq(&rec.provider, &prov));
    ASSERT(guid_eq(&rec.activity, &act));
    ASSERT(guid_eq(&rec.related, &rel));
    ASSERT_EQ(rec.id, 42);
    ASSERT_EQ(rec.version, 3);
    ASSERT_EQ(rec.channel, 11);
    ASSERT_EQ(rec.level, 5);
    ASSERT_EQ(rec.opcode, 9);
    ASSERT_EQ(rec.task, 0x1234);
    ASSERT_EQ_U64(rec.keywords, 0x8000000000000abcull);
    ASSERT_EQ(rec.event_property, 8);
    ASSERT_EQ(rec.hdr_flags, ETL_EHF_EXTENDED_INFO);
    ASSERT_EQ(rec.tl_meta_len, sizeof tl_meta);
    ASSERT(memcmp(rec.tl_meta, tl_meta, sizeof tl_meta) == 0);
    ASSERT_EQ(rec.tl_traits_len, sizeof tl_traits);
    ASSERT(memcmp(rec.tl_traits, tl_traits, sizeof tl_traits) == 0);
    d = find_ext(&rec, EXT_STACK_TRACE64, &len);
    ASSERT(d && len == sizeof stack && memcmp(d, stack, len) == 0);
    ASSERT_EQ(rec.ext_len, (8 + 16) + (8 + 16) + (8 + 24) + (8 + 24));
    ASSERT_EQ(rec.data_len, 13);
    ASSERT(memcmp(rec.data, payload, 13) == 0);
    ASSERT_EQ(rec.raw_len, 0x50 + rec.ext_len + 13);
    ASSERT(rec.offset >= 0x48);

    ASSERT_EQ(etl_next(rd, &rec, &eb), 1);
    ASSERT_EQ(rec.kind, ETWHOST_HK_EVENT);
    ASSERT_EQ(rec.evf, p32 | ETWHOST_EVF_STRING_ONLY);
    ASSERT(rec.ext == NULL && rec.ext_len == 0 && rec.tl_meta == NULL);
    ASSERT_EQ(rec.data_len, 6);
    ASSERT_EQ(rec.raw_timestamp, want_ts++);

    ASSERT_EQ(etl_next(rd, &rec, &eb), 1);
    ASSERT_EQ(rec.kind, ETWHOST_HK_TRACE);
    ASSERT_EQ(rec.evf, p32 | ETWHOST_EVF_CLASSIC);
    ASSERT(guid_eq(&rec.provider, &klass));
    ASSERT_EQ(rec.opcode, 37);
    ASSERT_EQ(rec.level, 2);
    ASSERT_EQ(rec.version, 4);
    ASSERT_EQ(rec.raw_version, 4);
    ASSERT_EQ(rec.pid, 101);
    ASSERT_EQ(rec.tid, 201);
    ASSERT_EQ(rec.data_len, 20);
    ASSERT_EQ(rec.raw_len, 0x30 + 20);
    ASSERT_EQ(rec.raw_timestamp, want_ts++);

    ASSERT_EQ(etl_next(rd, &rec, &eb), 1);
    ASSERT_EQ(rec.kind, ETWHOST_HK_INSTANCE);
    ASSERT_EQ(rec.evf, p32 | ETWHOST_EVF_CLASSIC);
    d = find_ext(&rec, EXT_INSTANCE_INFO, &len);
    ASSERT(d != NULL && len == 24);
    ASSERT_EQ(le_r32(d), 77);
    ASSERT_EQ(le_r32(d + 4), 66);
    etwhost_guid pg;
    guid_read(&pg, d + 8);
    ASSERT(guid_eq(&pg, &rel));
    ASSERT_EQ(rec.data_len, 20);
    ASSERT_EQ(rec.raw_len, 0x48 + 20);
    ASSERT_EQ(rec.raw_timestamp, want_ts++);

    ASSERT_EQ(etl_next(rd, &rec, &eb), 1);
    ASSERT_EQ(rec.kind, ETWHOST_HK_SYSTEM);
    ASSERT_EQ(rec.evf, p32 | ETWHOST_EVF_KERNEL);
    ASSERT_EQ(rec.hook_id, 0x030A);
    ASSERT_EQ(rec.opcode, 0x0A);
    ASSERT_EQ(rec.version, 3);
    char g[37];
    guid_format(&rec.provider, g);
    ASSERT_STREQ(g, "2cb15d1d-5fc1-11d2-abe1-00a0c911f518"); /* Image */
    ASSERT_EQ(rec.pid, 4);
    ASSERT_EQ(rec.tid, 8);
    ASSERT_EQ(rec.data_len, 30);
    ASSERT_EQ(rec.raw[2], ptr32 ? ETL_HT_SYSTEM32 : ETL_HT_SYSTEM64);
    ASSERT_EQ(rec.raw_timestamp, want_ts++);

    ASSERT_EQ(etl_next(rd, &rec, &eb), 1);
    ASSERT_EQ(rec.kind, ETWHOST_HK_SYSTEM);
    ASSERT_EQ(rec.raw[2], ptr32 ? ETL_HT_COMPACT32 : ETL_HT_COMPACT64);
    ASSERT_EQ(rec.hook_id, 0x0524);
    guid_format(&rec.provider, g);
    ASSERT_STREQ(g, "3d6fa8d1-fe05-11d0-9dda-00c04fd7ba7c"); /* Thread */
    ASSERT_EQ(rec.data_len, 24);
    ASSERT_EQ(rec.raw_len, 0x18 + 24);
    ASSERT_EQ(rec.raw_timestamp, want_ts++);

    ASSERT_EQ(etl_next(rd, &rec, &eb), 1);
    ASSERT_EQ(rec.kind, ETWHOST_HK_PERFINFO);
    ASSERT_EQ(rec.evf, p32 | ETWHOST_EVF_KERNEL | ETWHOST_EVF_NO_PID);
    ASSERT_EQ(rec.hook_id, 0x0F2E);
    ASSERT_EQ(rec.version, 2);
    ASSERT_EQ(rec.raw_version, 0x8000 | 0x0300 | 2);
    d = find_ext(&rec, EXT_PEBS_INDEX, &len);
    ASSERT(d && len == 8 && le_r64(d) == 0x0102030405060708ull);
    d = find_ext(&rec, EXT_PMC_COUNTERS, &len);
    ASSERT(d && len == 24 && le_r64(d) == 111 && le_r64(d + 16) == 333);
    ASSERT_EQ(rec.data_len, 16);
    ASSERT(memcmp(rec.data, payload, 16) == 0);
    ASSERT_EQ(rec.raw_timestamp, want_ts++);

    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(etl_next(rd, &rec, &eb), 1);
        ASSERT_EQ(rec.kind, ETWHOST_HK_MESSAGE);
        ASSERT_EQ(rec.message_number, 10 + i);
        ASSERT_EQ(rec.hdr_flags & 0x3F, wopts[i]);
        ASSERT_EQ(rec.hdr_flags & 0xC0, ptr32 ? ETL_WPP_POINTER32 : ETL_WPP_POINTER64);
        ASSERT_EQ(rec.evf & ETWHOST_EVF_PTR32, p32);
        ASSERT(rec.evf & ETWHOST_EVF_WPP);
        ASSERT_EQ(rec.data_len, 11);
        ASSERT(memcmp(rec.data, payload, 11) == 0);
        if (wopts[i] & ETL_WPP_SEQUENCE)
            ASSERT_EQ(rec.wpp_sequence, 5000 + i);
        if (wopts[i] & ETL_WPP_COMPONENTID)
            ASSERT(guid_is_zero(&rec.provider));
        else
            ASSERT(guid_eq(&rec.provider, &klass));
        if (wopts[i] & ETL_WPP_SYSTEMINFO) {
            ASSERT_EQ(rec.pid, 300);
            ASSERT_EQ(rec.tid, 400);
        } else {
            ASSERT(rec.evf & ETWHOST_EVF_NO_PID);
        }
        if (wopts[i] & ETL_WPP_TIMESTAMP)
            ASSERT_EQ(rec.raw_timestamp, want_ts);
        else /* no timestamp of its own: the previous record's */
            ASSERT_EQ(rec.raw_timestamp, want_ts - 1);
        want_ts++;
    }

    ASSERT_EQ(etl_next(rd, &rec, &eb), 1);
    ASSERT_EQ(rec.kind, ETWHOST_HK_TRACE);
    guid_format(&rec.provider, g);
    ASSERT_STREQ(g, "bbccf6c1-6cd1-48c4-80ff-839482e37671");
    ASSERT_EQ(rec.opcode, 32);
    ASSERT_EQ(rec.data_len, 40);
    ASSERT_EQ(rec.evf, ETWHOST_EVF_CLASSIC);
    ASSERT_EQ(etl_next(rd, &rec, &eb), 1);
    ASSERT_EQ(rec.opcode, 33);
    ASSERT_EQ(rec.data_len, 16 + 24);
    etwhost_guid mp;
    guid_read(&mp, rec.data);
    ASSERT(guid_eq(&mp, &prov));
    ASSERT_EQ(etl_next(rd, &rec, &eb), 0);
    struct etl_stats st;
    etl_get_stats(rd, &st);
    ASSERT_EQ(st.records, 13);
    ASSERT_EQ(st.buffers, 2);
    ASSERT_EQ(st.compressed_buffers, compress ? 1 : 0);
    ASSERT_EQ(st.bad_buffers + st.bad_records + st.skipped_bytes, 0);
    ASSERT_EQ(st.bytes, flen);
    etl_close(rd);
    mem_free(file);
}

TEST(etl_writer_round_trip_every_header_kind)
{
    int64_t live = mem_live_blocks();
    for (uint32_t ptr = 4; ptr <= 8; ptr += 4)
        for (int compress = 0; compress <= 1; compress++)
            for (uint32_t clock = TRACE_CLOCK_QPC; clock <= TRACE_CLOCK_SYSTEM; clock++)
                round_trip(ptr, compress, clock);
    ASSERT_EQ(mem_live_blocks(), live);
}

/*
 * Events with strictly increasing timestamps spread over processors, one of
 * them rarely used (its only buffer is written at the end of the file).
 */
static uint8_t *make_multi_cpu(int compress, uint32_t n, size_t *len)
{
    struct etl_writer_options o;
    memset(&o, 0, sizeof o);
    o.num_cpus = 6;
    o.buffer_size = 2048;
    o.compress = compress;
    o.t0_raw = 1000;
    struct etl_writer *w;
    struct errbuf eb;
    ASSERT_OK(etl_writer_open(NULL, &o, &w, &eb));
    uint64_t x = 12345;
    for (uint32_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint8_t data[12];
        le_w32(data, i);
        le_w64(data + 4, x);
        struct etl_wrecord r;
        memset(&r, 0, sizeof r);
        r.kind = (x >> 40) % 3 == 0 ? ETWHOST_HK_SYSTEM : ETWHOST_HK_EVENT;
        r.hook_id = 0x0501;
        r.guid = prov;
        r.cpu = i % 97 == 0 ? 5 : (uint32_t)((x >> 33) % 5);
        r.raw_timestamp = 2000 + (int64_t)i * 10;
        r.data = data;
        r.data_len = (uint32_t)(4 + (x >> 60) % 9);
        ASSERT_OK(etl_writer_append(w, &r, &eb));
    }
    uint8_t *file;
    ASSERT_OK(etl_writer_close(w, &file, len, &eb));
    return file;
}

static void check_order(const uint8_t *file, size_t len, uint32_t n, uint32_t lookahead,
                        int file_order, struct etl_stats *st)
{
    struct etl_options o;
    memset(&o, 0, sizeof o);
    o.file_order = file_order;
    o.lookahead = lookahead;
    struct etl_reader *r;
    struct errbuf eb;
    ASSERT_OK(etl_open_mem(file, len, "multi.etl", &o, &r, &eb));
    uint8_t *seen = mem_calloc(n, 1);
    int32_t last_per_cpu[8];
    for (int i = 0; i < 8; i++)
        last_per_cpu[i] = -1;
    struct record rec;
    uint32_t got = 0;
    int64_t prev = INT64_MIN;
    int in_order = 1;
    while (etl_next(r, &rec, &eb) == 1) {
        if (rec.hook_id == 0 && rec.kind == ETWHOST_HK_SYSTEM)
            continue; /* logfile header */
        uint32_t idx = le_r32(rec.data);
        ASSERT(idx < n && !seen[idx]);
        seen[idx] = 1;
        ASSERT_EQ(rec.raw_timestamp, 2000 + (int64_t)idx * 10);
        /* Records of one processor never change order. */
        ASSERT(rec.cpu < 8 && (int32_t)idx > last_per_cpu[rec.cpu]);
        last_per_cpu[rec.cpu] = (int32_t)idx;
        if (rec.raw_timestamp < prev)
            in_order = 0;
        prev = rec.raw_timestamp;
        got++;
    }
    ASSERT_EQ(got, n);
    etl_get_stats(r, st);
    ASSERT_EQ(st->late_records == 0, in_order);
    etl_close(r);
    mem_free(seen);
}

TEST(etl_writer_multi_cpu_time_order)
{
    for (int compress = 0; compress <= 1; compress++) {
        size_t len;
        uint32_t n = 20000;
        uint8_t *file = make_multi_cpu(compress, n, &len);
        struct etl_stats st;
        /* Default: the whole file fits the lookahead, so the merge is exact. */
        check_order(file, len, n, 0, 0, &st);
        ASSERT_EQ(st.late_records, 0);
        ASSERT(st.buffers > 50);
        /* File order is not time order for this file. */
        check_order(file, len, n, 0, 1, &st);
        ASSERT(st.late_records > 0);
        /* A tiny lookahead merges the rare processor's buffer late; it is counted. */
        check_order(file, len, n, 2, 0, &st);
        ASSERT(st.late_records > 0);
        printf("  compress=%d: %" PRIu64 " buffers, late with lookahead 2: %" PRIu64 "\n",
               compress, st.buffers, st.late_records);
        mem_free(file);
    }
}

static json_t *etlscan(const char *path)
{
    if (t_under_wine())
        SKIP("the etlscan.py oracle is a Linux python3 program (not run under Wine)");
    const char *corpus = t_corpus();
    const char *tool = corpus ? t_path("%s/../tools/etlscan.py", corpus) : NULL;
    if (tool == NULL || !plat_is_file(tool))
        SKIP("shared/tools/etlscan.py not found");
    const char *argv[] = {"python3", tool, path, NULL};
    struct t_run r = t_exec(argv, NULL, NULL);
    if (r.status != 0)
        SKIP("etlscan.py failed (python3 missing?): %s", r.err);
    json_error_t je;
    json_t *j = json_loads(r.out, 0, &je);
    ASSERT(j != NULL);
    t_run_free(&r);
    return j;
}

/* The independent structure walk accepts our files, compressed ones included. */
TEST(etl_writer_output_accepted_by_etlscan)
{
    for (int compress = 0; compress <= 1; compress++) {
        size_t len;
        uint8_t *file = make_multi_cpu(compress, 5000, &len);
        const char *path = t_path("%s/w%d.etl", t_tmpdir(), compress);
        t_write_bytes(path, file, len);
        json_t *j = etlscan(path);
        const char *e = json_string_value(json_array_get(json_object_get(j, "errors"), 0));
        if (compress && e && strstr(e, "dissect"))
            SKIP("etlscan needs dissect.util for compressed files (pip install dissect.util)");
        ASSERT_MSG(json_integer_value(json_object_get(j, "n_errors")) == 0, "%s", e ? e : "");
        ASSERT_EQ(json_integer_value(json_object_get(j, "events")), 5001);
        struct etl_reader *r;
        struct errbuf eb;
        ASSERT_OK(etl_open(path, NULL, &r, &eb));
        struct etl_stats st;
        struct record rec;
        while (etl_next(r, &rec, &eb) == 1)
            ;
        etl_get_stats(r, &st);
        ASSERT_EQ(st.buffers, json_integer_value(json_object_get(j, "buffers")));
        etl_close(r);
        json_decref(j);
        mem_free(file);
    }
}

/* A trace repeated into a longer one stays valid and in time order. */
TEST(etl_repeat_file_builds_a_longer_trace)
{
    for (int compress = 0; compress <= 1; compress++) {
        size_t len;
        uint8_t *file = make_multi_cpu(compress, 3000, &len);
        const char *src = t_path("%s/src%d.etl", t_tmpdir(), compress);
        const char *dst = t_path("%s/big%d.etl", t_tmpdir(), compress);
        t_write_bytes(src, file, len);
        uint64_t copies = 0;
        struct errbuf eb;
        ASSERT_MSG(etl_repeat_file(src, dst, (uint64_t)len * 3 + 1, &copies, &eb) == 0, "%s",
                   eb.msg);
        ASSERT(copies >= 3);
        struct etl_reader *r;
        ASSERT_OK(etl_open(dst, NULL, &r, &eb));
        struct record rec;
        uint64_t n = 0;
        int64_t prev = INT64_MIN, first = 0;
        while (etl_next(r, &rec, &eb) == 1) {
            ASSERT(rec.raw_timestamp >= prev);
            prev = rec.raw_timestamp;
            if (n == 1)
                first = rec.raw_timestamp;
            n++;
        }
        struct etl_stats st;
        etl_get_stats(r, &st);
        ASSERT_EQ(st.bad_buffers + st.bad_records + st.late_records, 0);
        ASSERT_EQ(n, 1 + copies * 3000);
        /* Span of the source: t0 (1000) .. last event; each copy moves by span + 1. */
        int64_t span = (2000 + 2999 * 10) - 1000 + 1;
        ASSERT_EQ(prev, 2000 + 2999 * 10 + (int64_t)(copies - 1) * span);
        ASSERT_EQ(first, 2000);
        ASSERT_EQ(etl_info(r)->end_time, etl_clock_to_filetime(etl_info(r), prev));
        etl_close(r);
        mem_free(file);
    }
}

static void run_etlgen(const char *const *args, char **out)
{
    const char *exe = t_path("%s/tools/etlgen%s", t_build(), t_exe_suffix());
    if (!plat_is_file(exe))
        SKIP("%s not built", exe);
    const char *argv[32];
    int n = 0;
    argv[n++] = exe;
    for (; *args; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    struct t_run r = t_exec(argv, NULL, NULL);
    ASSERT_MSG(r.status == 0, "etlgen failed: %s", r.err);
    *out = r.out;
    mem_free(r.err);
}

/* etlgen makes every kind of trace, and its walk agrees with the request. */
TEST(etl_etlgen_makes_every_kind)
{
    static const char *const kinds[] = {"mixed", "tracelogging", "kernel", "wpp"};
    for (int k = 0; k < 4; k++) {
        for (int v = 0; v < 3; v++) {
            const char *path = t_path("%s/%s%d.etl", t_tmpdir(), kinds[k], v);
            char p[4096];
            snprintf(p, sizeof p, "%s", path);
            const char *gen[] = {"--kind", kinds[k], "--events", "3000", "--cpus", "4",
                                 "--seed", "7", "-o", p, "--ptr", v == 1 ? "4" : "8",
                                 "--clock", v == 2 ? "system" : "qpc",
                                 v == 1 ? "--compress" : NULL, NULL};
            char *out;
            run_etlgen(gen, &out);
            mem_free(out);
            const char *walk[] = {"--walk", p, NULL};
            run_etlgen(walk, &out);
            json_error_t je;
            json_t *j = json_loads(out, 0, &je);
            ASSERT_MSG(j != NULL, "walk output: %s", out);
            ASSERT_EQ(json_integer_value(json_object_get(j, "records")), 3001);
            ASSERT_EQ(json_integer_value(json_object_get(j, "bad_buffers")), 0);
            ASSERT_EQ(json_integer_value(json_object_get(j, "bad_records")), 0);
            ASSERT_EQ(json_integer_value(json_object_get(j, "late_records")), 0);
            if (v == 1)
                ASSERT(json_integer_value(json_object_get(j, "compressed_buffers")) > 0);
            if (strcmp(kinds[k], "wpp") == 0)
                ASSERT_EQ(json_integer_value(json_object_get(j, "message")), 3000);
            if (strcmp(kinds[k], "kernel") == 0)
                ASSERT(json_integer_value(json_object_get(j, "perfinfo")) > 0);
            json_decref(j);
            mem_free(out);
        }
    }
}
