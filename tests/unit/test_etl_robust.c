/*
 * The .etl reader on damaged input: empty, tiny, random, truncated and
 * bit-flipped files, lying sizes and offsets, decompression bombs, memory
 * budget, allocation failures.  Every case must end in one clear error with
 * an offset, or in a walk whose damage is counted, never in a crash or a
 * hang (these tests also run under ASan/UBSan).  Also: the clock
 * conversion against 128-bit reference arithmetic.
 */
#include "test.h"

#include "core/err.h"
#include "core/mem.h"
#include "etl/etl_format.h"
#include "etl/etl_reader.h"
#include "etl/etl_writer.h"
#include "platform/platform.h"

__extension__ typedef __int128 i128;

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

struct warns {
    int n;
    char last[600];
};

static void on_warn(void *ctx, const char *msg)
{
    struct warns *w = ctx;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", msg);
}

struct result {
    int open_rc;
    char msg[1024];
    uint64_t records;
    uint64_t hash; /* of the records' bytes, times, offsets and processors */
    struct etl_stats st;
    struct warns w;
};

/* FNV-1a over n bytes, continuing h. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001B3ull;
    return h;
}

/*
 * Open and walk bytes, from memory or (path not NULL) from a file holding
 * them; every returned record must lie inside its buffer's bytes.
 */
static struct result walk_in(const uint8_t *data, size_t len, int file_order, uint64_t max_buffer,
                             const char *path)
{
    struct result res;
    memset(&res, 0, sizeof res);
    res.hash = 0xCBF29CE484222325ull;
    struct etl_options o;
    memset(&o, 0, sizeof o);
    o.file_order = file_order;
    o.max_buffer_bytes = max_buffer;
    o.warn = on_warn;
    o.warn_ctx = &res.w;
    struct etl_reader *r;
    struct errbuf eb;
    eb.msg[0] = '\0';
    if (path) {
        plat_remove(path); /* a fresh file: rewriting in place makes ext4 flush it at close */
        t_write_bytes(path, data, len);
        res.open_rc = etl_open(path, &o, &r, &eb);
    } else {
        res.open_rc = etl_open_mem(data, len, "t.etl", &o, &r, &eb);
    }
    if (res.open_rc) {
        snprintf(res.msg, sizeof res.msg, "%s", eb.msg);
        return res;
    }
    struct record rec;
    int rc;
    while ((rc = etl_next(r, &rec, &eb)) == 1) {
        res.records++;
        ASSERT(res.records <= len / 8 + 1); /* records are at least 8 bytes apart */
        ASSERT(rec.raw_len >= 8);
        ASSERT(rec.data >= rec.raw && rec.data + rec.data_len <= rec.raw + rec.raw_len);
        if (rec.raw >= data && rec.raw < data + len)
            ASSERT(rec.raw + rec.raw_len <= data + len);
        if (rec.ext && rec.kind == ETWHOST_HK_EVENT)
            ASSERT(rec.ext >= rec.raw && rec.ext + rec.ext_len <= rec.raw + rec.raw_len);
        if (rec.tl_meta)
            ASSERT(rec.tl_meta + rec.tl_meta_len <= rec.raw + rec.raw_len);
        res.hash = fnv(res.hash, rec.raw, rec.raw_len);
        res.hash = fnv(res.hash, &rec.timestamp, sizeof rec.timestamp);
        res.hash = fnv(res.hash, &rec.offset, sizeof rec.offset);
        res.hash = fnv(res.hash, &rec.cpu, sizeof rec.cpu);
    }
    ASSERT_MSG(rc == 0, "fatal error on damaged input: %s", eb.msg);
    etl_get_stats(r, &res.st);
    ASSERT_EQ(res.st.records, res.records);
    etl_close(r);
    return res;
}

/*
 * Walk bytes given in memory and (every eighth small input, to keep the
 * tests fast) the same bytes read from a file: both must see the same
 * records (bytes, times, offsets), the same counted damage and the same
 * number of warnings.
 */
static struct result walk(const uint8_t *data, size_t len, int file_order, uint64_t max_buffer)
{
    static unsigned calls;
    struct result m = walk_in(data, len, file_order, max_buffer, NULL);
    if (len > (256u << 10) || calls++ % 8 != 0)
        return m;
    struct result f = walk_in(data, len, file_order, max_buffer, t_path("%s/t.etl", t_tmpdir()));
    ASSERT_EQ(f.open_rc, m.open_rc);
    ASSERT_EQ(f.records, m.records);
    ASSERT_EQ(f.hash, m.hash);
    ASSERT_EQ(f.w.n, m.w.n);
    ASSERT_MSG(memcmp(&f.st, &m.st, sizeof f.st) == 0, "file and memory walks count damage "
               "differently (%zu bytes)", len);
    return m;
}

/* A small trace of every kind, one processor or several, plain or compressed. */
static uint8_t *fixture(int compress, uint32_t cpus, uint32_t n, size_t *len)
{
    struct etl_writer_options o;
    memset(&o, 0, sizeof o);
    o.compress = compress;
    o.num_cpus = cpus;
    o.buffer_size = 1024;
    o.t0_raw = 5000;
    struct etl_writer *w;
    struct errbuf eb;
    ASSERT_OK(etl_writer_open(NULL, &o, &w, &eb));
    static const uint8_t meta[] = {0x0C, 0x00, 0x00, 'E', 0, 'F', 0, 0x08, 'G', 0, 0x07, 0};
    static const uint8_t traits[] = {0x04, 0x00, 'P', 0};
    uint64_t pmc[2] = {1, 2};
    for (uint32_t i = 0; i < n; i++) {
        uint8_t data[40];
        memset(data, (int)i, sizeof data);
        struct etl_wext ext[2] = {{EXT_PROV_TRAITS, sizeof traits, traits},
                                  {EXT_EVENT_SCHEMA_TL, sizeof meta, meta}};
        struct etl_wrecord r;
        memset(&r, 0, sizeof r);
        r.cpu = i % cpus;
        r.raw_timestamp = 6000 + i;
        r.data = data;
        r.data_len = 8 + i % 30;
        switch (i % 5) {
        case 0:
            r.kind = ETWHOST_HK_EVENT;
            r.ext = ext;
            r.n_ext = 2;
            break;
        case 1:
            r.kind = ETWHOST_HK_PERFINFO;
            r.hook_id = 0x0F2E;
            r.pmc = pmc;
            r.n_pmc = 2;
            break;
        case 2:
            r.kind = ETWHOST_HK_MESSAGE;
            r.wpp_options = i % 2 ? 0x2B : 0x08;
            break;
        case 3:
            r.kind = ETWHOST_HK_INSTANCE;
            break;
        default:
            r.kind = ETWHOST_HK_SYSTEM;
            r.hook_id = 0x0301;
            break;
        }
        ASSERT_OK(etl_writer_append(w, &r, &eb));
    }
    uint8_t *file;
    ASSERT_OK(etl_writer_close(w, &file, len, &eb));
    return file;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *q = mem_alloc(n ? n : 1);
    memcpy(q, p, n);
    return q;
}

TEST(etl_robust_empty_tiny_missing)
{
    struct errbuf eb;
    struct etl_reader *r;
    const char *empty = t_path("%s/empty.etl", t_tmpdir());
    t_write_bytes(empty, "", 0);
    ASSERT_EQ(etl_open(empty, NULL, &r, &eb), ERR_FORMAT);
    ASSERT_CONTAINS(eb.msg, "empty.etl");
    ASSERT_CONTAINS(eb.msg, "empty file");
    ASSERT_EQ(etl_open(t_path("%s/missing.etl", t_tmpdir()), NULL, &r, &eb), ERR_NOTFOUND);
    ASSERT_CONTAINS(eb.msg, "missing.etl");
    uint8_t zeros[0x100];
    memset(zeros, 0, sizeof zeros);
    for (size_t n = 0; n < sizeof zeros; n++) {
        struct result res = walk(zeros, n, 0, 0);
        ASSERT_EQ(res.open_rc, ERR_FORMAT);
        if (n)
            ASSERT_CONTAINS(res.msg, "offset 0x0");
    }
    /* A text file is not a trace. */
    const char *txt = "this is not an etl file, just some text that is long enough to fill a "
                      "buffer header and then some more";
    struct result res = walk((const uint8_t *)txt, strlen(txt), 0, 0);
    ASSERT_EQ(res.open_rc, ERR_FORMAT);
    ASSERT_CONTAINS(res.msg, "t.etl: offset 0x");
}

/* A file that shrinks while it is read: one error naming the file and offset, no crash. */
TEST(etl_robust_file_shrinks_while_read)
{
    size_t len;
    uint8_t *fx = fixture(0, 1, 2000, &len);
    const char *path = t_path("%s/shrinks.etl", t_tmpdir());
    plat_remove(path);
    t_write_bytes(path, fx, len);
    struct etl_options o;
    memset(&o, 0, sizeof o);
    o.file_order = 1;
    struct etl_reader *r;
    struct errbuf eb;
    ASSERT_OK(etl_open(path, &o, &r, &eb));
    struct record rec;
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(etl_next(r, &rec, &eb), 1);
    t_write_bytes(path, fx, len / 2); /* same file, cut in half */
    uint64_t n = 10;
    int rc;
    while ((rc = etl_next(r, &rec, &eb)) == 1)
        n++;
    ASSERT_MSG(rc < 0, "the walk ended without an error after %" PRIu64 " records", n);
    ASSERT_EQ(rc, ERR_IO);
    ASSERT_CONTAINS(eb.msg, "shrinks.etl: offset 0x");
    ASSERT_CONTAINS(eb.msg, "ended early");
    struct etl_stats st;
    etl_get_stats(r, &st);
    ASSERT(st.records < 2000 && st.records == n);
    etl_close(r);
    mem_free(fx);
}

TEST(etl_robust_random_garbage)
{
    size_t flen;
    uint8_t *fx = fixture(0, 2, 40, &flen);
    for (int iter = 0; iter < 4000; iter++) {
        size_t n = (size_t)(rnd() % 5000);
        uint8_t *b = mem_alloc(n ? n : 1);
        for (size_t i = 0; i < n; i++)
            b[i] = (uint8_t)rnd();
        /* Half of them keep a valid header buffer so the walk itself sees garbage. */
        if (iter & 1 && n > 1024)
            memcpy(b, fx, 1024);
        struct result res = walk(b, n, iter & 2, 1 << 20);
        if (res.open_rc)
            ASSERT_CONTAINS(res.msg, "t.etl:");
        mem_free(b);
    }
    mem_free(fx);
}

/* Cut a trace at many offsets: open fails with an offset, or the loss is counted. */
static void truncations(const uint8_t *file, size_t len, const char *what)
{
    struct result full = walk(file, len, 1, 0);
    ASSERT_EQ(full.open_rc, 0);
    uint32_t first = le_r32(file);
    size_t step = len / 400 + 1;
    uint64_t n = 0;
    for (size_t cut = 0; cut < len; cut += (cut < first + 200 ? 1 : step), n++) {
        struct result res = walk(file, cut, (int)(cut & 1), 0);
        if (res.open_rc) {
            ASSERT_MSG(cut < first, "%s: open failed at cut %zu: %s", what, cut, res.msg);
            ASSERT_CONTAINS(res.msg, cut ? "offset 0x" : "empty file");
            continue;
        }
        ASSERT(res.records <= full.records);
        /* Unless the cut falls on a buffer boundary, something was counted as lost. */
        size_t b = 0;
        int on_boundary = 0;
        while (b < cut) {
            b += le_r32(file + b);
            if (b == cut)
                on_boundary = 1;
        }
        if (on_boundary)
            ASSERT_EQ(res.st.skipped_bytes + res.st.bad_buffers, 0);
        else
            ASSERT_MSG(res.st.skipped_bytes > 0 && res.w.n > 0, "%s: cut at %zu not counted",
                       what, cut);
    }
    printf("  %s: %" PRIu64 " truncations of %zu bytes\n", what, n, len);
}

TEST(etl_robust_truncated_files)
{
    for (int compress = 0; compress <= 1; compress++) {
        size_t len;
        uint8_t *fx = fixture(compress, 3, 300, &len);
        truncations(fx, len, compress ? "compressed fixture" : "plain fixture");
        mem_free(fx);
    }
    const char *corpus = t_corpus();
    static const char *const files[] = {"etl/demikernel__PktMon.etl", "etl/krabsetw__powershell.etl",
                                        "etl/dfirmuseum__OneDrive_TraceCurrent.6931.0609.etl"};
    for (int i = 0; corpus && i < 3; i++) {
        const char *p = t_path("%s/%s", corpus, files[i]);
        size_t len;
        uint8_t *data = (uint8_t *)t_read_file(p, &len);
        if (data == NULL)
            continue;
        truncations(data, len, files[i]);
        mem_free(data);
    }
}

TEST(etl_robust_bit_flips)
{
    const char *corpus = t_corpus();
    for (int v = 0; v < 3; v++) {
        size_t len;
        uint8_t *fx;
        if (v < 2) {
            fx = fixture(v, 3, 200, &len);
        } else {
            fx = corpus ? (uint8_t *)t_read_file(t_path("%s/etl/perfview__SelfDescribingSingleEvent.etl",
                                                        corpus), &len)
                        : NULL;
            if (fx == NULL)
                continue;
        }
        uint64_t damaged = 0;
        for (int iter = 0; iter < 3000; iter++) {
            uint8_t *b = dup_bytes(fx, len);
            int flips = 1 + (int)(rnd() % 8);
            for (int k = 0; k < flips; k++) {
                size_t at = (size_t)(rnd() % len);
                /* Aim at headers often: they decide the structure. */
                if (rnd() % 2)
                    at = (at & ~(size_t)0x3FF) + rnd() % 0x60;
                if (at < len)
                    b[at] ^= (uint8_t)(1u << (rnd() % 8));
            }
            struct result res = walk(b, len, iter & 1, 1 << 20);
            if (res.open_rc == 0 && (res.st.bad_buffers || res.st.bad_records))
                damaged++;
            mem_free(b);
        }
        printf("  variant %d: %" PRIu64 " of 3000 mutants had counted damage\n", v, damaged);
        ASSERT(damaged > 0);
        mem_free(fx);
    }
}

/* Offsets of the records of a fixture, in file order. */
static size_t record_offsets(const uint8_t *file, size_t len, uint64_t *offs, uint16_t *kinds,
                             size_t cap)
{
    struct etl_options o;
    memset(&o, 0, sizeof o);
    o.file_order = 1;
    struct etl_reader *r;
    struct errbuf eb;
    ASSERT_OK(etl_open_mem(file, len, "t.etl", &o, &r, &eb));
    struct record rec;
    size_t n = 0;
    while (etl_next(r, &rec, &eb) == 1 && n < cap) {
        offs[n] = rec.offset;
        kinds[n] = rec.kind;
        n++;
    }
    etl_close(r);
    return n;
}

TEST(etl_robust_lying_sizes_and_offsets)
{
    size_t len;
    uint8_t *fx = fixture(0, 1, 60, &len);
    struct result full = walk(fx, len, 1, 0);
    ASSERT_EQ(full.st.bad_buffers + full.st.bad_records, 0);
    uint32_t hsize = le_r32(fx);
    uint32_t b1 = hsize, b2 = hsize + le_r32(fx + hsize);
    uint64_t offs[128];
    uint16_t kinds[128];
    size_t nrec = record_offsets(fx, len, offs, kinds, 128);
    ASSERT_EQ(nrec, 61);
    struct result res;
    uint8_t *b;

    /* BufferSize 0 in the second buffer: the rest of the file is skipped, with a warning. */
    b = dup_bytes(fx, len);
    le_w32(b + b1, 0);
    res = walk(b, len, 1, 0);
    ASSERT_EQ(res.st.skipped_bytes, len - b1);
    ASSERT_CONTAINS(res.w.last, "BufferSize 0");
    ASSERT(res.records < full.records);
    mem_free(b);

    /* BufferSize smaller than the header. */
    b = dup_bytes(fx, len);
    le_w32(b + b2, 0x47);
    res = walk(b, len, 0, 0);
    ASSERT_EQ(res.st.bad_buffers, 1);
    ASSERT_CONTAINS(res.w.last, "smaller than the buffer header");
    mem_free(b);

    /* BufferSize beyond the end of the file. */
    b = dup_bytes(fx, len);
    le_w32(b + b2, 0x7FFFFFFF);
    res = walk(b, len, 0, 0);
    ASSERT_EQ(res.st.bad_buffers, 1);
    ASSERT_CONTAINS(res.w.last, "truncated buffer");
    char want[64];
    snprintf(want, sizeof want, "offset 0x%x", b2);
    ASSERT_CONTAINS(res.w.last, want);
    mem_free(b);

    /* Offset inside the buffer header: that buffer is skipped, the next one is read. */
    b = dup_bytes(fx, len);
    le_w32(b + b1 + ETL_BUF_OFFSET, 0x10);
    res = walk(b, len, 1, 0);
    ASSERT_EQ(res.st.bad_buffers, 1);
    ASSERT(res.records > 1 && res.records < full.records);
    mem_free(b);

    /* Offset beyond BufferSize: counted, read up to BufferSize (the 0xFF fill stops it). */
    b = dup_bytes(fx, len);
    le_w32(b + b1 + ETL_BUF_OFFSET, 0xFFFFF);
    res = walk(b, len, 1, 0);
    ASSERT_EQ(res.st.bad_buffers, 1);
    ASSERT_EQ(res.records, full.records);
    mem_free(b);

    /* Record sizes: smaller than the header, beyond the data, unknown markers. */
    for (int k = 0; k < 3; k++) {
        size_t i = 10 + (size_t)k;
        ASSERT(i < nrec);
        b = dup_bytes(fx, len);
        uint8_t *p = b + offs[i];
        if (k == 0) {
            if (kinds[i] == ETWHOST_HK_PERFINFO || kinds[i] == ETWHOST_HK_SYSTEM)
                le_w16(p + 4, 4);
            else
                le_w16(p, 4);
        } else if (k == 1) {
            if (kinds[i] == ETWHOST_HK_PERFINFO || kinds[i] == ETWHOST_HK_SYSTEM)
                le_w16(p + 4, 0xFFF0);
            else
                le_w16(p, 0xFFF0);
        } else {
            p[3] = 0x12;
        }
        res = walk(b, len, k & 1, 0);
        ASSERT_EQ(res.st.bad_records, 1);
        ASSERT(res.st.skipped_bytes > 0);
        ASSERT(res.records >= i && res.records < full.records);
        ASSERT_EQ(res.w.n, 1);
        mem_free(b);
    }

    /* Inner damage skips only that record: lying ext item, WPP options, PMC bits. */
    int hit[3] = {0, 0, 0};
    for (size_t i = 1; i < nrec; i++) {
        int which = kinds[i] == ETWHOST_HK_EVENT ? 0 : kinds[i] == ETWHOST_HK_MESSAGE ? 1
                  : kinds[i] == ETWHOST_HK_PERFINFO ? 2 : -1;
        if (which < 0 || hit[which])
            continue;
        hit[which] = 1;
        b = dup_bytes(fx, len);
        uint8_t *p = b + offs[i];
        if (which == 0)
            le_w16(p + 0x50, 0x7FF0); /* first item's size */
        else if (which == 1)
            le_w16(p + 6, 0x2B | 0x80); /* more optional items than the record holds */
        else
            le_w16(p, 0x0702); /* 7 PMC counters in a short record */
        res = walk(b, len, 1, 0);
        ASSERT_EQ(res.st.bad_records, 1);
        ASSERT_EQ(res.records, full.records - 1);
        ASSERT_CONTAINS(res.w.last, "record skipped");
        mem_free(b);
    }
    ASSERT(hit[0] && hit[1] && hit[2]);

    /* Several bad records in one buffer: all counted, one warning for the buffer. */
    b = dup_bytes(fx, len);
    int bad = 0;
    for (size_t i = 1; i < nrec; i++)
        if (kinds[i] == ETWHOST_HK_EVENT && offs[i] > b1 && offs[i] < b2) {
            le_w16(b + offs[i] + 0x56, 0x7FF0); /* DataSize of the first item */
            bad++;
        }
    ASSERT(bad >= 2);
    res = walk(b, len, 1, 0);
    ASSERT_EQ(res.st.bad_records, (uint64_t)bad);
    ASSERT_EQ(res.w.n, 1);
    mem_free(b);
    mem_free(fx);
}

TEST(etl_robust_logfile_header_damage)
{
    size_t len;
    uint8_t *fx = fixture(0, 1, 10, &len);
    uint8_t *lh = fx + ETL_BUF_HDR;
    uint8_t *b;
    struct result res;
    /* Hook id not 0. */
    b = dup_bytes(fx, len);
    le_w16(b + ETL_BUF_HDR + 6, 0x0050);
    res = walk(b, len, 0, 0);
    ASSERT_EQ(res.open_rc, ERR_FORMAT);
    ASSERT_CONTAINS(res.msg, "offset 0x48");
    ASSERT_CONTAINS(res.msg, "hook id");
    mem_free(b);
    /* Record too short for TRACE_LOGFILE_HEADER. */
    b = dup_bytes(fx, len);
    le_w16(b + ETL_BUF_HDR + 4, 0x40);
    res = walk(b, len, 0, 0);
    ASSERT_EQ(res.open_rc, ERR_FORMAT);
    ASSERT_CONTAINS(res.msg, "too short");
    mem_free(b);
    /* QPC clock without a frequency. */
    uint32_t lay = lh[2] == ETL_HT_SYSTEM64 ? ETL_LOGFILE_HDR64 : ETL_LOGFILE_HDR32;
    b = dup_bytes(fx, len);
    le_w64(b + ETL_BUF_HDR + ETL_SYSTEM_HDR + lay - 0x20 + 8, 0);
    res = walk(b, len, 0, 0);
    ASSERT_EQ(res.open_rc, ERR_FORMAT);
    ASSERT_CONTAINS(res.msg, "PerfFreq");
    mem_free(b);
    /* An unknown clock type is read as QPC, with a warning. */
    b = dup_bytes(fx, len);
    le_w32(b + ETL_BUF_HDR + ETL_SYSTEM_HDR + lay - 0x20 + 24, 7);
    res = walk(b, len, 0, 0);
    ASSERT_EQ(res.open_rc, 0);
    ASSERT_CONTAINS(res.w.last, "unknown clock type 7");
    mem_free(b);
    /* A compressed header buffer is refused. */
    b = dup_bytes(fx, len);
    le_w16(b + ETL_BUF_FLAGS, ETL_BUFFLAG_COMPRESSED);
    res = walk(b, len, 0, 0);
    ASSERT_EQ(res.open_rc, ERR_FORMAT);
    mem_free(b);
    mem_free(fx);
}

TEST(etl_robust_compressed_buffer_damage_and_bombs)
{
    size_t len;
    uint8_t *fx = fixture(1, 1, 100, &len);
    struct result full = walk(fx, len, 1, 0);
    ASSERT(full.st.compressed_buffers >= 3);
    uint32_t b1 = le_r32(fx);
    uint32_t b2 = b1 + le_r32(fx + b1);
    uint8_t *b;
    struct result res;
    /* Offset says 4 GiB: over the cap, skipped without allocating it. */
    b = dup_bytes(fx, len);
    le_w32(b + b1 + ETL_BUF_OFFSET, 0xFFFFFFFFu);
    int64_t live = mem_live_blocks();
    res = walk(b, len, 1, 0);
    ASSERT_EQ(mem_live_blocks(), live);
    ASSERT_EQ(res.st.bad_buffers, 1);
    ASSERT_CONTAINS(res.w.last, "cap");
    ASSERT_EQ(res.st.compressed_buffers, full.st.compressed_buffers - 1);
    mem_free(b);
    /* Offset says the buffer is empty: the stream has more, so it is damaged. */
    b = dup_bytes(fx, len);
    le_w32(b + b1 + ETL_BUF_OFFSET, ETL_BUF_HDR);
    res = walk(b, len, 1, 0);
    ASSERT_EQ(res.st.bad_buffers, 1);
    mem_free(b);
    /* An empty stream for an empty buffer is fine. */
    b = dup_bytes(fx, len);
    le_w32(b + b1 + ETL_BUF_OFFSET, ETL_BUF_HDR);
    memcpy(b + b1 + ETL_BUF_HDR, "\xff\xff\xff\xff", 4);
    size_t cut = b1 + ETL_BUF_HDR + 4;
    le_w32(b + b1, ETL_BUF_HDR + 4);
    memmove(b + cut, fx + b2, len - b2);
    res = walk(b, cut + (len - b2), 1, 0);
    ASSERT_EQ(res.st.bad_buffers + res.st.bad_records, 0);
    ASSERT(res.records < full.records);
    mem_free(b);
    /* Offset one byte off: the stream does not inflate to it. */
    b = dup_bytes(fx, len);
    le_w32(b + b1 + ETL_BUF_OFFSET, le_r32(fx + b1 + ETL_BUF_OFFSET) + 1);
    res = walk(b, len, 1, 0);
    ASSERT_EQ(res.st.bad_buffers, 1);
    ASSERT_CONTAINS(res.w.last, "LZ77");
    mem_free(b);
    /* Damaged stream: every byte of the second buffer's stream in turn. */
    for (uint32_t at = b2 + ETL_BUF_HDR; at < b2 + le_r32(fx + b2); at++) {
        b = dup_bytes(fx, len);
        b[at] ^= 0xA5;
        res = walk(b, len, (int)(at & 1), 0);
        ASSERT(res.st.bad_buffers <= 1);
        mem_free(b);
    }
    /* A small cap refuses every compressed buffer, with a warning each. */
    uint64_t over = 0;
    for (size_t off = b1; off < len; off += le_r32(fx + off))
        if (le_r32(fx + off + ETL_BUF_OFFSET) - ETL_BUF_HDR > 256)
            over++;
    ASSERT(over > 0);
    res = walk(fx, len, 1, 256);
    ASSERT_EQ(res.st.bad_buffers, over);
    ASSERT_EQ(res.w.n, (int)over);
    ASSERT_EQ(res.st.compressed_buffers, full.st.compressed_buffers - over);
    ASSERT(res.records < full.records);
    mem_free(fx);
}

/* Many processors at once: the inflate buffers held together stay within 8 x the cap. */
TEST(etl_robust_decompression_memory_budget)
{
    size_t len;
    uint8_t *fx = fixture(1, 40, 1200, &len);
    /* Cap 1024: each inflated buffer (up to ~976 bytes) fits; 40 at once do not (8 KiB). */
    struct result t = walk(fx, len, 0, 1024);
    ASSERT(t.st.bad_buffers > 0);
    ASSERT_CONTAINS(t.w.last, "budget");
    /* File order holds one buffer at a time: nothing refused. */
    struct result f = walk(fx, len, 1, 1024);
    ASSERT_EQ(f.st.bad_buffers, 0);
    ASSERT(f.records > t.records);
    mem_free(fx);
}

TEST(etl_robust_allocation_failures)
{
    size_t len;
    uint8_t *fx = fixture(1, 4, 400, &len);
    int64_t live = mem_live_blocks();
    int failures = 0, successes = 0;
    for (int64_t n = 1; n < 200; n++) {
        struct etl_options o;
        memset(&o, 0, sizeof o);
        struct etl_reader *r = NULL;
        struct errbuf eb;
        eb.msg[0] = '\0';
        mem_fail_after(n);
        int rc = etl_open_mem(fx, len, "t.etl", &o, &r, &eb);
        if (rc == 0) {
            struct record rec;
            while ((rc = etl_next(r, &rec, &eb)) == 1)
                ;
            etl_close(r);
        }
        mem_fail_after(0);
        ASSERT(rc == 0 || rc == ERR_NOMEM);
        if (rc) {
            ASSERT_CONTAINS(eb.msg, "out of memory");
            failures++;
        } else {
            successes++;
        }
        ASSERT_EQ(mem_live_blocks(), live);
    }
    ASSERT(failures > 0 && successes > 0);
    mem_free(fx);
}

/* Does text contain pat, where '_' in pat stands for a space and '-' for any character? */
static int loose_contains(const char *text, const char *pat, size_t plen)
{
    for (; *text; text++) {
        size_t i = 0;
        while (i < plen && text[i] &&
               (pat[i] == '-' || (pat[i] == '_' ? text[i] == ' ' : text[i] == pat[i])))
            i++;
        if (i == plen)
            return 1;
    }
    return 0;
}

struct warn_log {
    char text[8192];
    size_t len;
};

static void log_warning(void *ctx, const char *msg)
{
    struct warn_log *w = ctx;
    int n = snprintf(w->text + w->len, sizeof w->text - w->len, "%s\n", msg);
    if (n > 0 && (size_t)n < sizeof w->text - w->len)
        w->len += (size_t)n;
}

/*
 * Damaged inputs kept from fuzzing (seeded with the project's own fixtures
 * only), one per kind of damage.  The file name says what must happen:
 * open-<text>.bin fails to open with <text> in the error, warn-<text>.bin
 * opens and reports <text> in a warning, in time or file order.
 */
TEST(etl_robust_damage_regressions)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/data/etl", t_root());
    char **names = NULL;
    size_t count = 0;
    struct errbuf eb;
    ASSERT_MSG(plat_list_dir(dir, ".bin", &names, &count, &eb) == 0, "%s", eb.msg);
    ASSERT(count >= 30);
    for (size_t i = 0; i < count; i++) {
        size_t len;
        uint8_t *data = (uint8_t *)t_read_file(t_path("%s/%s", dir, names[i]), &len);
        ASSERT(data != NULL);
        uint8_t *exact = dup_bytes(data, len); /* exact size so ASan sees over-reads */
        const char *pat = names[i] + 5;
        size_t plen = strlen(pat) - 4;
        struct warn_log log;
        log.len = 0;
        log.text[0] = '\0';
        for (int order = 0; order < 2; order++) {
            struct etl_options o;
            memset(&o, 0, sizeof o);
            o.file_order = order;
            o.max_buffer_bytes = 1 << 20;
            o.warn = log_warning;
            o.warn_ctx = &log;
            struct etl_reader *r;
            int rc = etl_open_mem(exact, len, "t.etl", &o, &r, &eb);
            if (strncmp(names[i], "open-", 5) == 0) {
                ASSERT_EQ(rc, ERR_FORMAT);
                ASSERT_MSG(loose_contains(eb.msg, pat, plen), "%s: error was: %s", names[i],
                           eb.msg);
                continue;
            }
            ASSERT_MSG(rc == 0, "%s: %s", names[i], eb.msg);
            struct record rec;
            while ((rc = etl_next(r, &rec, &eb)) == 1)
                ;
            ASSERT_EQ(rc, 0);
            etl_close(r);
        }
        if (strncmp(names[i], "warn-", 5) == 0)
            ASSERT_MSG(loose_contains(log.text, pat, plen), "%s: warnings were:\n%s", names[i],
                       log.text);
        walk(exact, len, 0, 1 << 20);
        walk(exact, len, 1, 1 << 20);
        mem_free(exact);
        mem_free(data);
    }
    plat_free_list(names, count);
}

/* ---- Clock ------------------------------------------------------------- */

static int64_t ref_ft(const struct trace_info *ti, int64_t raw)
{
    i128 num, den;
    if (ti->clock_type == TRACE_CLOCK_SYSTEM)
        return raw;
    if (ti->clock_type == TRACE_CLOCK_QPC) {
        num = 10000000;
        den = ti->perf_freq;
    } else {
        num = 10;
        den = ti->cpu_mhz;
    }
    i128 v = (i128)ti->start_time + ((i128)raw - ti->t0_raw) * num / den;
    if (v > INT64_MAX)
        return INT64_MAX;
    if (v < INT64_MIN)
        return INT64_MIN;
    return (int64_t)v;
}

TEST(etl_clock_conversion_exact)
{
    struct trace_info ti;
    memset(&ti, 0, sizeof ti);
    static const int64_t freqs[] = {1, 3, 1000, 3117777, 10000000, 14318180, 2600000000LL,
                                    (int64_t)1 << 40, INT64_MAX};
    static const uint32_t mhz[] = {1, 3400, 4294967295u};
    for (int clock = 1; clock <= 3; clock++) {
        ti.clock_type = (uint32_t)clock;
        for (int f = 0; f < 9; f++) {
            ti.perf_freq = freqs[f];
            ti.cpu_mhz = mhz[f % 3];
            for (int i = 0; i < 20000; i++) {
                int scale = (int)(rnd() % 4);
                ti.start_time = scale == 0 ? (int64_t)rnd() : 133000000000000000LL;
                ti.t0_raw = scale == 1 ? (int64_t)rnd() : 12676583967LL;
                int64_t raw = scale >= 2 ? ti.t0_raw + (int64_t)(rnd() % 100000000000ull) -
                                               50000000000LL
                                         : (int64_t)rnd();
                int64_t got = etl_clock_to_filetime(&ti, raw);
                ASSERT_MSG(got == ref_ft(&ti, raw),
                           "clock %d freq %" PRId64 " start %" PRId64 " t0 %" PRId64
                           " raw %" PRId64 ": %" PRId64 " != %" PRId64,
                           clock, ti.perf_freq, ti.start_time, ti.t0_raw, raw, got,
                           ref_ft(&ti, raw));
            }
            /* Extremes saturate without overflow. */
            int64_t ext[] = {INT64_MIN, INT64_MAX, 0, -1};
            for (int a = 0; a < 4; a++)
                for (int c = 0; c < 4; c++) {
                    ti.t0_raw = ext[a];
                    ti.start_time = ext[c];
                    for (int e = 0; e < 4; e++)
                        ASSERT_EQ(etl_clock_to_filetime(&ti, ext[e]), ref_ft(&ti, ext[e]));
                }
        }
    }
    /* The documented sanity check (etl-format.md section 6). */
    ti.clock_type = TRACE_CLOCK_QPC;
    ti.perf_freq = 10000000;
    ti.t0_raw = 12676583967LL;
    ti.start_time = 133245763580175449LL;
    ASSERT_EQ(etl_clock_to_filetime(&ti, ti.t0_raw), ti.start_time);
    ASSERT_EQ(etl_clock_to_filetime(&ti, ti.t0_raw + 12345), ti.start_time + 12345);
    /* Unusable clocks return the raw value. */
    ti.perf_freq = 0;
    ASSERT_EQ(etl_clock_to_filetime(&ti, 77), 77);
}
