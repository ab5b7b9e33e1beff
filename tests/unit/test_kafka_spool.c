/*
 * Tests of the kafka sink's internals, compiled straight from the plugin's
 * sources: the disk spool (order, acknowledgement, restart, torn tails and
 * corrupt frames after a crash, both spool-full policies, the window, the
 * lock), the topic/key templates and the "rdkafka" settings reader.
 *
 * The plugin's OS layer comes first: it sets the feature-test macros its
 * POSIX calls need.  The spool's CRC-32C (plugins/support/psup_crc32c.c) is
 * linked into the test runner as its own object (Makefile, TEST_PSUP_SRCS).
 */
#include "../../plugins/kafka/kafka_os.c"
#include "../../plugins/kafka/kafka_json.c"
#include "../../plugins/kafka/kafka_spool.c"
#include "../../plugins/kafka/kafka_tmpl.c"

#include "test.h"

/* A record whose fields all derive from i, so a reader can check it alone. */
struct trec {
    char topic[64], key[64], value[4096], prov[32];
    struct kspool_rec r;
};

static void make_rec(struct trec *t, uint64_t i, size_t value_len)
{
    memset(t, 0, sizeof *t);
    int tl = snprintf(t->topic, sizeof t->topic, "topic.%u", (unsigned)(i % 3));
    int kl = snprintf(t->key, sizeof t->key, "key-%" PRIu64, i);
    int vl = snprintf(t->value, sizeof t->value, "{\"i\":%" PRIu64 ",\"pad\":\"", i);
    size_t n = (size_t)vl;
    while (n + 2 < value_len && n + 2 < sizeof t->value) {
        t->value[n] = (char)('a' + (i + n) % 26);
        n++;
    }
    t->value[n++] = '"';
    t->value[n++] = '}';
    t->r.topic = t->topic;
    t->r.topic_len = (size_t)tl;
    /* Every 5th record has no key, every 7th an empty one. */
    if (i % 5 == 0) {
        t->r.key = NULL;
    } else {
        t->r.key = t->key;
        t->r.key_len = i % 7 == 0 ? 0 : (size_t)kl;
    }
    t->r.value = t->value;
    t->r.value_len = n;
    t->r.ts_ms = 1767225600000 + (int64_t)i;
    int pl = snprintf(t->prov, sizeof t->prov, "Prov%u", (unsigned)(i % 11));
    t->r.nhdrs = i % 4 == 0 ? 0 : 2;
    t->r.hdrs[0] = (struct kspool_hdr){"provider", 8, t->prov, (size_t)pl};
    t->r.hdrs[1] = (struct kspool_hdr){"empty", 5, "", 0};
}

static void check_rec(const struct kspool_rec *got, uint64_t i, size_t value_len)
{
    struct trec t;
    make_rec(&t, i, value_len);
    ASSERT_EQ(got->topic_len, t.r.topic_len);
    ASSERT(memcmp(got->topic, t.r.topic, t.r.topic_len) == 0);
    ASSERT_EQ(got->key == NULL, t.r.key == NULL);
    ASSERT_EQ(got->key_len, t.r.key_len);
    if (t.r.key_len)
        ASSERT(memcmp(got->key, t.r.key, t.r.key_len) == 0);
    ASSERT_EQ(got->value_len, t.r.value_len);
    ASSERT_MSG(memcmp(got->value, t.r.value, t.r.value_len) == 0, "value of record %" PRIu64,
               i);
    ASSERT_EQ(got->ts_ms, t.r.ts_ms);
    ASSERT_EQ(got->nhdrs, t.r.nhdrs);
    for (uint32_t h = 0; h < t.r.nhdrs; h++) {
        ASSERT_EQ(got->hdrs[h].name_len, t.r.hdrs[h].name_len);
        ASSERT(memcmp(got->hdrs[h].name, t.r.hdrs[h].name, t.r.hdrs[h].name_len) == 0);
        ASSERT_EQ(got->hdrs[h].value_len, t.r.hdrs[h].value_len);
        if (t.r.hdrs[h].value_len)
            ASSERT(memcmp(got->hdrs[h].value, t.r.hdrs[h].value, t.r.hdrs[h].value_len) == 0);
    }
}

static struct kspool_cfg scfg(const char *dir)
{
    struct kspool_cfg c;
    memset(&c, 0, sizeof c);
    c.dir = dir;
    c.max_bytes = 64u << 20;
    c.segment_bytes = 256u << 10;
    c.block_bytes = 16u << 10;
    c.window = 4096;
    c.policy = KSPOOL_POLICY_BLOCK;
    c.zstd_level = 1;
    return c;
}

static struct kspool *open_ok(const struct kspool_cfg *c)
{
    struct kspool *s = NULL;
    char err[512];
    int rc = kspool_open(&s, c, err, sizeof err);
    ASSERT_MSG(rc == KSPOOL_OK, "kspool_open: %s", err);
    return s;
}

static void close_ok(struct kspool *s)
{
    char err[512];
    int rc = kspool_close(s, err, sizeof err);
    ASSERT_MSG(rc == KSPOOL_OK, "kspool_close: %s", err);
}

static void append_range(struct kspool *s, uint64_t from, uint64_t to, size_t vlen)
{
    for (uint64_t i = from; i < to; i++) {
        struct trec t;
        make_rec(&t, i, vlen);
        ASSERT_EQ(kspool_append(s, &t.r, 0), KSPOOL_OK);
    }
}

/* Read n records expecting record ids from..from+n in order; ack them if ack. */
static void read_range(struct kspool *s, uint64_t from, uint64_t n, size_t vlen, int ack)
{
    for (uint64_t i = from; i < from + n; i++) {
        struct kspool_rec r;
        uint64_t seq = 0;
        int rc = kspool_next(s, &r, &seq);
        ASSERT_MSG(rc == KSPOOL_OK, "kspool_next at %" PRIu64 ": rc %d (%s)", i, rc,
                   kspool_error(s));
        ASSERT_EQ_U64(seq, i);
        check_rec(&r, i, vlen);
        if (ack)
            kspool_ack(s, seq);
    }
}

/* A closed spool in dir holding messages 0..99, the first 60 read and acknowledged. */
static struct kspool_cfg spool_acked_60_of_100(const char *dir)
{
    struct kspool_cfg c = scfg(dir);
    struct kspool *s = open_ok(&c);
    append_range(s, 0, 100, 100);
    read_range(s, 0, 60, 100, 1);
    close_ok(s);
    return c;
}

static size_t count_segments(const char *dir)
{
    char **names;
    size_t n;
    char err[256];
    ASSERT_OK(kos_list_dir(dir, "seg-", ".kspool", &names, &n, err, sizeof err));
    kos_free_names(names, n);
    return n;
}

/*
 * The spool's checksum is psup_crc32c, the CRC-32C of the iSCSI specification
 * (RFC 3720), and its ack file is pinned byte for byte: spools left by earlier
 * builds stay readable from their acknowledged position.
 */
TEST(kafka_spool_crc32c_and_ack_file_bytes)
{
    ASSERT_EQ_U64(psup_crc32c(0, "123456789", 9), 0xE3069283u);
    ASSERT_EQ_U64(psup_crc32c(psup_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
    uint8_t zeros[32] = {0};
    ASSERT_EQ_U64(psup_crc32c(0, zeros, 32), 0x8A9136AAu);

    /* "EKA1", the acknowledged position 60 (u64), CRC-32C of those 12 bytes; little-endian. */
    static const uint8_t ack60[16] = {0x45, 0x4B, 0x41, 0x31, 60,   0,    0,    0,
                                      0,    0,    0,    0,    0x4E, 0x9F, 0xB4, 0xAF};
    const char *dir = t_path("%s/spool", t_tmpdir());
    struct kspool_cfg c = spool_acked_60_of_100(dir);
    size_t len = 0;
    char *got = t_read_file(t_path("%s/ack", dir), &len);
    ASSERT_EQ(len, sizeof ack60);
    ASSERT(memcmp(got, ack60, sizeof ack60) == 0);
    free(got);
    struct kspool *s = open_ok(&c);
    ASSERT_EQ_U64(kspool_pending(s), 40);
    read_range(s, 60, 40, 100, 1);
    close_ok(s);
}

TEST(kafka_spool_fifo_roundtrip_and_cleanup)
{
    const char *dir = t_path("%s/spool", t_tmpdir());
    struct kspool_cfg c = scfg(dir);
    c.segment_bytes = 32u << 10;
    struct kspool *s = open_ok(&c);
    append_range(s, 0, 5000, 300);
    ASSERT_EQ_U64(kspool_pending(s), 5000);
    ASSERT(count_segments(dir) >= 2); /* 5000 x ~300 B, compressed, span segments */
    read_range(s, 0, 5000, 300, 1);
    struct kspool_rec r;
    uint64_t seq;
    ASSERT_EQ(kspool_next(s, &r, &seq), KSPOOL_NONE);
    ASSERT_EQ_U64(kspool_pending(s), 0);
    /* Every message acknowledged: no segment is left behind. */
    ASSERT_EQ(count_segments(dir), 0);
    struct kspool_stats st;
    kspool_get_stats(s, &st);
    ASSERT_EQ_U64(st.appended, 5000);
    ASSERT_EQ_U64(st.corrupt_frames, 0);
    close_ok(s);
    /* Sequence numbers continue after a restart. */
    s = open_ok(&c);
    kspool_get_stats(s, &st);
    ASSERT_EQ_U64(st.next_seq, 5000);
    ASSERT_EQ_U64(st.pending, 0);
    close_ok(s);
}

TEST(kafka_spool_restart_resumes_after_last_ack)
{
    const char *dir = t_path("%s/spool", t_tmpdir());
    struct kspool_cfg c = scfg(dir);
    struct kspool *s = open_ok(&c);
    append_range(s, 0, 3000, 200);
    read_range(s, 0, 1200, 200, 1);
    /* Handed out but never acknowledged: must come back after the restart. */
    read_range(s, 1200, 300, 200, 0);
    close_ok(s);
    s = open_ok(&c);
    ASSERT_EQ_U64(kspool_pending(s), 1800);
    read_range(s, 1200, 1800, 200, 1);
    ASSERT_EQ_U64(kspool_pending(s), 0);
    close_ok(s);
}

TEST(kafka_spool_rewind_resends_only_unacknowledged)
{
    const char *dir = t_path("%s/spool", t_tmpdir());
    struct kspool_cfg c = scfg(dir);
    struct kspool *s = open_ok(&c);
    append_range(s, 0, 20, 100);
    struct kspool_rec r;
    uint64_t seq;
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(kspool_next(s, &r, &seq), KSPOOL_OK);
    /* Deliveries 0-4 and 7 succeeded; 5, 6, 8, 9 failed. */
    for (uint64_t q = 0; q < 5; q++)
        kspool_ack(s, q);
    kspool_ack(s, 7);
    ASSERT_EQ_U64(kspool_pending(s), 15);
    kspool_rewind(s);
    uint64_t expect[] = {5, 6, 8, 9, 10, 11};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        ASSERT_EQ(kspool_next(s, &r, &seq), KSPOOL_OK);
        ASSERT_EQ_U64(seq, expect[i]);
        check_rec(&r, seq, 100);
    }
    close_ok(s);
}

TEST(kafka_spool_window_limits_unacknowledged)
{
    const char *dir = t_path("%s/spool", t_tmpdir());
    struct kspool_cfg c = scfg(dir);
    c.window = 8;
    struct kspool *s = open_ok(&c);
    append_range(s, 0, 20, 100);
    struct kspool_rec r;
    uint64_t seq;
    for (int i = 0; i < 8; i++)
        ASSERT_EQ(kspool_next(s, &r, &seq), KSPOOL_OK);
    ASSERT_EQ(kspool_next(s, &r, &seq), KSPOOL_WAIT);
    kspool_ack(s, 1); /* out of order: the window starts at 0 still */
    ASSERT_EQ(kspool_next(s, &r, &seq), KSPOOL_WAIT);
    kspool_ack(s, 0);
    ASSERT_EQ(kspool_next(s, &r, &seq), KSPOOL_OK);
    ASSERT_EQ_U64(seq, 8);
    ASSERT_EQ(kspool_next(s, &r, &seq), KSPOOL_OK);
    ASSERT_EQ_U64(seq, 9);
    ASSERT_EQ(kspool_next(s, &r, &seq), KSPOOL_WAIT);
    close_ok(s);
}

TEST(kafka_spool_torn_tail_after_crash_is_skipped_and_counted)
{
    const char *dir = t_path("%s/spool", t_tmpdir());
    struct kspool_cfg c = scfg(dir);
    c.segment_bytes = 64u << 20; /* one segment */
    struct kspool *s = open_ok(&c);
    append_range(s, 0, 1000, 400);
    ASSERT_OK(kspool_sync(s));
    close_ok(s);
    ASSERT_EQ(count_segments(dir), 1);
    const char *seg = t_path("%s/seg-0000000000000000.kspool", dir);
    int64_t size = kos_file_size(seg);
    ASSERT(size > 10000);
    /*
     * A crash in the middle of writing the last frame: cut the file inside
     * it, then add what an interrupted append leaves (a header and junk).
     */
    size_t len;
    char *data = t_read_file(seg, &len);
    ASSERT(data != NULL);
    /* Find the last frame's start by walking the headers. */
    uint64_t off = 0, last = 0, last_first = 0;
    uint32_t last_n = 0;
    struct frame fr;
    while (off + FRAME_HDR <= len && frame_parse((const uint8_t *)data + off, &fr) == 0) {
        last = off;
        last_first = fr.first_seq;
        last_n = fr.n;
        off += FRAME_HDR + fr.comp_len;
    }
    ASSERT_EQ_U64(off, (uint64_t)len);
    ASSERT(last > 0 && last_n > 0);
    size_t cut = (size_t)last + FRAME_HDR + 10;
    FILE *f = fopen(seg, "wb");
    ASSERT(f != NULL);
    ASSERT_EQ(fwrite(data, 1, cut, f), cut);
    fclose(f);
    free(data);

    s = open_ok(&c);
    struct kspool_stats st;
    kspool_get_stats(s, &st);
    ASSERT_EQ_U64(st.corrupt_frames, 1);
    ASSERT(st.corrupt_bytes > 0);
    /* Everything before the torn frame is intact and in order. */
    ASSERT_EQ_U64(st.pending, last_first);
    read_range(s, 0, last_first, 400, 1);
    struct kspool_rec r;
    uint64_t seq;
    ASSERT_EQ(kspool_next(s, &r, &seq), KSPOOL_NONE);
    /* New appends continue after the lost numbers, readable despite the old tail. */
    ASSERT_EQ_U64(st.next_seq, last_first);
    append_range(s, last_first, last_first + 10, 400);
    read_range(s, last_first, 10, 400, 1);
    close_ok(s);
    /* The torn bytes were cut off: a second restart finds nothing new to count. */
    s = open_ok(&c);
    kspool_get_stats(s, &st);
    ASSERT_EQ_U64(st.corrupt_frames, 0);
    ASSERT_EQ_U64(st.pending, 0);
    close_ok(s);
}

TEST(kafka_spool_corrupt_frame_in_the_middle_is_skipped)
{
    const char *dir = t_path("%s/spool", t_tmpdir());
    struct kspool_cfg c = scfg(dir);
    c.segment_bytes = 64u << 20;
    struct kspool *s = open_ok(&c);
    append_range(s, 0, 2000, 300);
    close_ok(s);
    const char *seg = t_path("%s/seg-0000000000000000.kspool", dir);
    size_t len;
    char *data = t_read_file(seg, &len);
    ASSERT(data != NULL);
    /* Frames: flip one payload byte of the second, smash the header of the fourth. */
    uint64_t offs[64];
    struct frame frs[64];
    size_t nf = 0;
    for (uint64_t off = 0; off + FRAME_HDR <= len && nf < 64;) {
        ASSERT_OK(frame_parse((const uint8_t *)data + off, &frs[nf]));
        offs[nf] = off;
        off += FRAME_HDR + frs[nf].comp_len;
        nf++;
    }
    ASSERT(nf >= 6);
    data[offs[1] + FRAME_HDR + frs[1].comp_len / 2] ^= 0x5a;
    memset(data + offs[3] + 8, 0xff, 8);
    t_write_bytes(seg, data, len);
    free(data);

    s = open_ok(&c);
    struct kspool_rec r;
    uint64_t seq, got = 0, expect = 0;
    int rc;
    while ((rc = kspool_next(s, &r, &seq)) == KSPOOL_OK) {
        /* Skip the numbers of the two damaged frames. */
        if (expect == frs[1].first_seq)
            expect += frs[1].n;
        if (expect == frs[3].first_seq)
            expect += frs[3].n;
        ASSERT_EQ_U64(seq, expect);
        check_rec(&r, seq, 300);
        kspool_ack(s, seq);
        expect++;
        got++;
    }
    ASSERT_EQ(rc, KSPOOL_NONE);
    ASSERT_EQ_U64(got, 2000 - frs[1].n - frs[3].n);
    struct kspool_stats st;
    kspool_get_stats(s, &st);
    ASSERT_EQ_U64(st.corrupt_frames, 2);
    ASSERT_EQ_U64(st.corrupt_records, frs[1].n); /* the smashed header hides its count */
    ASSERT_EQ_U64(st.pending, 0);
    close_ok(s);
}

TEST(kafka_spool_block_policy_refuses_when_full)
{
    const char *dir = t_path("%s/spool", t_tmpdir());
    struct kspool_cfg c = scfg(dir);
    c.max_bytes = 1u << 20;
    c.segment_bytes = 128u << 10;
    struct kspool *s = open_ok(&c);
    uint64_t i = 0;
    int rc;
    struct trec t;
    /* Incompressible values so the limit is reached quickly. */
    for (;; i++) {
        make_rec(&t, i, 2000);
        for (size_t k = 20; k + 2 < t.r.value_len; k++)
            t.value[k] = (char)('!' + (psup_crc32c(0, &k, sizeof k) ^ i) % 90);
        rc = kspool_append(s, &t.r, 0);
        if (rc != KSPOOL_OK)
            break;
        ASSERT(i < 100000);
    }
    ASSERT_EQ(rc, KSPOOL_FULL);
    struct kspool_stats st;
    kspool_get_stats(s, &st);
    ASSERT(st.bytes <= c.max_bytes);
    ASSERT(st.bytes > c.max_bytes / 2);
    ASSERT_EQ_U64(st.dropped, 0);
    ASSERT_EQ_U64(st.pending, i);
    /* Messages returned by failed deliveries are never refused. */
    ASSERT_EQ(kspool_append(s, &t.r, 1), KSPOOL_OK);
    ASSERT_EQ_U64(kspool_pending(s), i + 1);
    /* Draining makes room again. */
    for (uint64_t q = 0; q < i / 2; q++) {
        struct kspool_rec r;
        uint64_t seq;
        ASSERT_EQ(kspool_next(s, &r, &seq), KSPOOL_OK);
        kspool_ack(s, seq);
    }
    make_rec(&t, 999999, 2000);
    ASSERT_EQ(kspool_append(s, &t.r, 0), KSPOOL_OK);
    /* One message bigger than the whole spool can never fit. */
    static char huge[2u << 20];
    memset(huge, 'x', sizeof huge);
    t.r.value = huge;
    t.r.value_len = sizeof huge;
    ASSERT_EQ(kspool_append(s, &t.r, 1), KSPOOL_TOOBIG);
    /* Nor one whose header name is longer than its 16-bit length field holds. */
    make_rec(&t, 1000000, 100);
    static char long_name[70000];
    memset(long_name, 'h', sizeof long_name);
    t.r.nhdrs = 1;
    t.r.hdrs[0] = (struct kspool_hdr){long_name, sizeof long_name, "v", 1};
    struct kspool_stats before;
    kspool_get_stats(s, &before);
    ASSERT_EQ(kspool_append(s, &t.r, 1), KSPOOL_TOOBIG);
    kspool_get_stats(s, &st);
    ASSERT_EQ_U64(st.dropped, before.dropped + 1);
    ASSERT_EQ_U64(st.pending, before.pending);
    close_ok(s);
}

TEST(kafka_spool_drop_oldest_keeps_newest_in_order)
{
    const char *dir = t_path("%s/spool", t_tmpdir());
    struct kspool_cfg c = scfg(dir);
    c.max_bytes = 1u << 20;
    c.segment_bytes = 128u << 10;
    c.policy = KSPOOL_POLICY_DROP_OLDEST;
    struct kspool *s = open_ok(&c);
    const uint64_t n = 3000;
    for (uint64_t i = 0; i < n; i++) {
        struct trec t;
        make_rec(&t, i, 1500);
        for (size_t k = 20; k + 2 < t.r.value_len; k++)
            t.value[k] = (char)('!' + (psup_crc32c(0, &k, sizeof k) ^ i) % 90);
        ASSERT_EQ(kspool_append(s, &t.r, 0), KSPOOL_OK);
    }
    struct kspool_stats st;
    kspool_get_stats(s, &st);
    ASSERT(st.dropped > 0);
    ASSERT(st.bytes <= c.max_bytes);
    ASSERT_EQ_U64(st.pending + st.dropped, n);
    /* What is left is the newest messages, contiguous and in order. */
    struct kspool_rec r;
    uint64_t seq, expect = st.dropped;
    while (kspool_next(s, &r, &seq) == KSPOOL_OK) {
        ASSERT_EQ_U64(seq, expect);
        ASSERT_EQ(r.value_len, 1500);
        kspool_ack(s, seq);
        expect++;
    }
    ASSERT_EQ_U64(expect, n);
    close_ok(s);
}

TEST(kafka_spool_lock_keeps_a_second_opener_out)
{
    const char *dir = t_path("%s/spool", t_tmpdir());
    struct kspool_cfg c = scfg(dir);
    struct kspool *s = open_ok(&c), *s2 = NULL;
    char err[512] = "";
    ASSERT_EQ(kspool_open(&s2, &c, err, sizeof err), KSPOOL_ERR);
    ASSERT_CONTAINS(err, "locked");
    ASSERT_CONTAINS(err, dir);
    close_ok(s);
    s2 = open_ok(&c);
    close_ok(s2);
}

TEST(kafka_spool_bad_ack_file_means_resend_not_loss)
{
    const char *dir = t_path("%s/spool", t_tmpdir());
    struct kspool_cfg c = spool_acked_60_of_100(dir);
    t_write_file(t_path("%s/ack", dir), "garbage garbage!");
    struct kspool *s = open_ok(&c);
    /* Without a trustworthy position, everything still on disk is sent again. */
    ASSERT(kspool_pending(s) >= 40);
    struct kspool_rec r;
    uint64_t seq, last = 0, n = 0;
    while (kspool_next(s, &r, &seq) == KSPOOL_OK) {
        last = seq;
        n++;
        kspool_ack(s, seq);
    }
    ASSERT_EQ_U64(last, 99);
    ASSERT(n >= 40);
    close_ok(s);
}

/* ---- templates ---- */

static etwhost_event_header hdr_of(const char *provider, const char *name)
{
    etwhost_event_header h;
    memset(&h, 0, sizeof h);
    h.struct_size = sizeof h;
    h.provider_name = provider;
    h.event_name = name;
    h.task_name = h.opcode_name = "";
    h.provider_guid.data1 = 0x22fb2cd6;
    h.provider_guid.data2 = 0x0e7b;
    h.provider_guid.data3 = 0x422b;
    const uint8_t d4[8] = {0xa0, 0xc7, 0x2f, 0xad, 0x1f, 0xd0, 0xe7, 0x16};
    memcpy(h.provider_guid.data4, d4, 8);
    h.event_id = 4688;
    h.level = 4;
    h.opcode = 1;
    h.task = 13312;
    h.pid = 1234;
    h.tid = 5678;
    h.timestamp = 133801632000000000LL; /* 2025-01-01T00:00:00Z */
    return h;
}

static const char *render(const char *tmpl, int topic, const etwhost_event_header *h)
{
    static char out[1024];
    struct ktmpl *t;
    char err[512];
    ASSERT_MSG(ktmpl_compile(tmpl, topic, &t, err, sizeof err) == 0, "%s", err);
    size_t n = ktmpl_render(t, h, "host-1", out, sizeof out);
    ASSERT_EQ(n, strlen(out));
    ktmpl_free(t);
    return out;
}

TEST(kafka_templates_render_and_sanitize)
{
    etwhost_event_header h = hdr_of("Microsoft-Windows-Security Auditing", "Proc/Start");
    ASSERT_STREQ(render("etw.{provider}", 1, &h), "etw.Microsoft-Windows-Security_Auditing");
    ASSERT_STREQ(render("{provider_guid}", 0, &h), "22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716");
    ASSERT_STREQ(render("{pid}/{tid}:{event_id}:{level}:{opcode}:{task}@{host}", 0, &h),
                 "1234/5678:4688:4:1:13312@host-1");
    /* Keys are not sanitized; topics are. */
    ASSERT_STREQ(render("{event_name}", 0, &h), "Proc/Start");
    ASSERT_STREQ(render("t-{event_name}", 1, &h), "t-Proc_Start");
    ASSERT_STREQ(render("{{literal}}-{pid}", 0, &h), "{literal}-1234");
    /* No provider name: the GUID stands in; an empty field is "unknown" in topics. */
    etwhost_event_header anon = hdr_of("", "");
    ASSERT_STREQ(render("etw.{provider}", 1, &anon), "etw.22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716");
    ASSERT_STREQ(render("etw.{event_name}", 1, &anon), "etw.unknown");
    ASSERT_STREQ(render("x{event_name}", 0, &anon), "x");
    /* UTF-8 in a provider name becomes one '_' per byte. */
    etwhost_event_header u = hdr_of("Caf\xc3\xa9", "");
    ASSERT_STREQ(render("{provider}", 1, &u), "Caf__");
    /* A bare "." or ".." is reserved. */
    etwhost_event_header dot = hdr_of(".", "..");
    ASSERT_STREQ(render("{provider}", 1, &dot), "_");
    ASSERT_STREQ(render("{event_name}", 1, &dot), "__");
    /* Topic names are cut at 249 bytes. */
    char longname[400];
    memset(longname, 'p', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    etwhost_event_header lh = hdr_of(longname, "");
    ASSERT_EQ(strlen(render("etw.{provider}", 1, &lh)), 249);
    ASSERT_EQ(strlen(render("{provider}", 0, &lh)), 399);
}

TEST(kafka_templates_reject_bad_text)
{
    struct ktmpl *t = NULL;
    char err[512];
    ASSERT_EQ(ktmpl_compile("etw {provider}", 1, &t, err, sizeof err), -1);
    ASSERT_CONTAINS(err, "illegal character ' '");
    ASSERT_EQ(ktmpl_compile("etw.{nope}", 1, &t, err, sizeof err), -1);
    ASSERT_CONTAINS(err, "unknown placeholder {nope}");
    ASSERT_EQ(ktmpl_compile("etw.{provider", 0, &t, err, sizeof err), -1);
    ASSERT_CONTAINS(err, "unclosed");
    ASSERT_EQ(ktmpl_compile("a}b", 0, &t, err, sizeof err), -1);
    ASSERT_CONTAINS(err, "unmatched");
    ASSERT_EQ(ktmpl_compile("..", 1, &t, err, sizeof err), -1);
    ASSERT_CONTAINS(err, "not a legal Kafka topic name");
    ASSERT_EQ(ktmpl_compile("", 1, &t, err, sizeof err), -1);
    char longt[300];
    memset(longt, 'a', sizeof longt - 1);
    longt[sizeof longt - 1] = '\0';
    ASSERT_EQ(ktmpl_compile(longt, 1, &t, err, sizeof err), -1);
    ASSERT_CONTAINS(err, "249");
    ASSERT_EQ(ktmpl_compile("etw_{provider}.{level}", 1, &t, err, sizeof err), 0);
    ASSERT(!ktmpl_is_constant(t));
    ktmpl_free(t);
    ASSERT_EQ(ktmpl_compile("fixed.topic-1", 1, &t, err, sizeof err), 0);
    ASSERT(ktmpl_is_constant(t));
    ktmpl_free(t);
}

TEST(kafka_filetime_to_epoch_ms)
{
    ASSERT_EQ(ktmpl_filetime_to_ms(116444736000000000LL), 0);
    ASSERT_EQ(ktmpl_filetime_to_ms(116444736000000000LL + 10000), 1);
    /* 2026-01-01T00:00:00.0003Z -> 1767225600000 ms (sub-ms truncated). */
    ASSERT_EQ(ktmpl_filetime_to_ms(116444736000000000LL + 17672256000000000LL + 3000),
              1767225600000LL);
    ASSERT_EQ(ktmpl_filetime_to_ms(5), 0);
}

/* ---- the "rdkafka" settings reader ---- */

struct kv_seen {
    char text[1024];
};

static int collect(void *ctx, const char *key, const char *value, char *err, size_t err_len)
{
    struct kv_seen *s = ctx;
    size_t n = strlen(s->text);
    snprintf(s->text + n, sizeof s->text - n, "%s=%s;", key, value);
    if (strcmp(key, "stop.here") == 0) {
        snprintf(err, err_len, "stopped at %s", key);
        return 7;
    }
    return 0;
}

TEST(kafka_rdkafka_settings_reader)
{
    struct kv_seen s = {""};
    char err[256] = "";
    const char *j = "{ \"linger.ms\": 50, \"enable.idempotence\" : false,\n"
                    "\"sasl.password\":\"p\\\"w\\\\d\\u00e9\\ud83d\\ude00\", \"x\":\"\" , "
                    "\"n\": -1.5e3 }";
    ASSERT_OK(kjson_each_member(j, strlen(j), collect, &s, err, sizeof err));
    ASSERT_STREQ(s.text, "linger.ms=50;enable.idempotence=false;"
                         "sasl.password=p\"w\\d\xc3\xa9\xf0\x9f\x98\x80;x=;n=-1500.0;");
    s.text[0] = '\0';
    ASSERT_OK(kjson_each_member("{}", 2, collect, &s, err, sizeof err));
    ASSERT_STREQ(s.text, "");
    const char *bad[] = {"[]", "{\"a\":null}", "{\"a\":{}}", "{\"a\":[1]}", "{\"a\" 1}",
                         "{\"a\":\"x\"", "{\"a\":\"\\q\"}", "{\"a\":\"\\u0000\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ASSERT_MSG(kjson_each_member(bad[i], strlen(bad[i]), collect, &s, err, sizeof err) != 0,
                   "accepted %s", bad[i]);
        ASSERT_MSG(err[0] != '\0', "no message for %s", bad[i]);
    }
    s.text[0] = '\0';
    const char *st = "{\"a\":\"1\",\"stop.here\":\"2\",\"b\":\"3\"}";
    ASSERT_EQ(kjson_each_member(st, strlen(st), collect, &s, err, sizeof err), 7);
    ASSERT_STREQ(s.text, "a=1;stop.here=2;");
}
