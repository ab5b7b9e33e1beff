/*
 * Event archive tests: `dump x.etwa` prints exactly the JSON lines of the
 * source it was written from (corpus traces, the project's own fixtures, the
 * synthetic source, manifest-decoded events), block selection by time and
 * provider reads only the needed blocks, rotation, replay pacing, and the
 * codecs behind api->event_record / api->event_schema.
 * Damage (kill -9, flipped bytes, truncation) is in test_archive_damage.c.
 */
#include "test.h"

#include "archive/archive_int.h"
#include "archive/archive_reader.h"
#include "core/mem.h"
#include "etl/etl_reader.h"
#include "platform/platform.h"
#include "record/record_codec.h"
#include "schema/schema.h"
#include "schema/schema_codec.h"

#include "test_archive_util.h"

/* ---- Round trips ------------------------------------------------------------------- */

/* Every .etl in corpus/<sub>: dump == dump(convert). */
static void roundtrip_dir(const char *sub)
{
    const char *corpus = t_corpus_or_skip();
    char **names;
    size_t n;
    if (plat_list_dir(t_path("%s/%s", corpus, sub), ".etl", &names, &n, NULL) || n == 0)
        SKIP("no .etl files in %s/%s", corpus, sub);
    for (size_t i = 0; i < n; i++) {
        const char *etl = t_path("%s/%s/%s", corpus, sub, names[i]);
        ta_roundtrip(etl, t_path("%s/%zu.etwa", t_tmpdir(), i), NULL);
    }
    plat_free_list(names, n);
}

TEST(archive_roundtrip_corpus_etl)
{
    roundtrip_dir("etl");
}

TEST(archive_roundtrip_corpus_large)
{
    roundtrip_dir("large");
}

/*
 * Events decoded with a manifest: the archive carries the schemas, so
 * dumping it without the manifest prints what dumping the .etl with it does
 * (and not what dumping the .etl without it does).
 */
TEST(archive_roundtrip_manifest_schemas)
{
    const char *corpus = t_corpus_or_skip();
    const char *etl = t_path("%s/large/perfview__net.4.5.2.x64.etl", corpus);
    const char *man = t_path("%s/manifests/ClrEtwAll.man", corpus);
    if (!plat_is_file(etl) || !plat_is_file(man))
        SKIP("corpus file or manifest absent");
    char *with = ta_dump2(etl, "--manifest", man);
    char *without = ta_dump2(etl, NULL, NULL);
    char arc[1024];
    snprintf(arc, sizeof arc, "%s/m.etwa", t_tmpdir());
    const char *cargs[] = {"convert", "-q", "--manifest", man, etl, "-o", arc, NULL};
    struct t_run r = t_etwhost(cargs, NULL, NULL);
    ASSERT_MSG(r.status == 0, "convert: %s", r.err);
    t_run_free(&r);
    char *back = ta_dump2(arc, NULL, NULL);
    ASSERT(strcmp(with, without) != 0);
    ta_assert_same(with, back, "manifest-decoded events");
    struct archive_reader *ar;
    struct errbuf eb;
    ASSERT_OK(archive_open(arc, NULL, &ar, &eb));
    ASSERT(archive_schema_count(ar) > 10);
    archive_close(ar);
    mem_free(with);
    mem_free(without);
    mem_free(back);
}

/* The project's own .etl fixtures, every record kind, both pointer sizes, compressed. */
TEST(archive_roundtrip_etlgen_fixtures)
{
    static const char *const kinds[][4] = {
        {"mixed", "8", "", "4"},        {"mixed", "4", "--compress", "2"},
        {"tracelogging", "8", "", "2"}, {"kernel", "8", "--compress", "4"},
        {"kernel", "4", "", "1"},       {"wpp", "8", "", "2"},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        char etl[1024];
        snprintf(etl, sizeof etl, "%s/fx%zu.etl", t_tmpdir(), k);
        const char *opts[] = {"--kind", kinds[k][0], "--events", "3000", "--ptr", kinds[k][1],
                              "--cpus", kinds[k][3], kinds[k][2][0] ? kinds[k][2] : NULL, NULL};
        t_etlgen(etl, opts);
        ta_roundtrip(etl, t_path("%s/fx%zu.etwa", t_tmpdir(), k), NULL);
        /* Small blocks with a dictionary must give the same lines too. */
        ta_roundtrip(etl, t_path("%s/fx%zu-d.etwa", t_tmpdir(), k), "--dictionary");
    }
}

/* Records of an .etl file or an archive, one after the other. */
struct rsrc {
    struct etl_reader *etl;
    struct archive_reader *arc;
};

static void rsrc_open(struct rsrc *s, const char *path)
{
    struct errbuf eb;
    memset(s, 0, sizeof *s);
    if (archive_is_archive(path))
        ASSERT_MSG(archive_open(path, NULL, &s->arc, &eb) == 0, "%s", eb.msg);
    else
        ASSERT_MSG(etl_open(path, NULL, &s->etl, &eb) == 0, "%s", eb.msg);
}

/* 1 with the next record in rec, 0 at the end. */
static int rsrc_next(struct rsrc *s, struct record *rec)
{
    struct errbuf eb;
    int rc = s->arc ? archive_next(s->arc, rec, &eb) : etl_next(s->etl, rec, &eb);
    ASSERT_MSG(rc >= 0, "%s", eb.msg);
    return rc > 0;
}

static void rsrc_close(struct rsrc *s)
{
    if (s->arc)
        archive_close(s->arc);
    if (s->etl)
        etl_close(s->etl);
}

/*
 * Every record of a equals the record of b at the same position, byte for
 * byte in the record encoding (every header field, both timestamps, ext
 * items, payload); returns the count.
 */
static uint64_t ta_same_records(const char *a, const char *b)
{
    struct rsrc x, y;
    rsrc_open(&x, a);
    rsrc_open(&y, b);
    struct record ra, rb;
    struct buf ba = BUF_INIT, bb = BUF_INIT;
    uint64_t n = 0;
    for (;; n++) {
        int ha = rsrc_next(&x, &ra), hb = rsrc_next(&y, &rb);
        ASSERT_MSG(ha == hb, "%s has %s records than %s (%" PRIu64 ")", a, ha ? "more" : "fewer",
                   b, n);
        if (!ha)
            break;
        ba.len = bb.len = 0;
        ASSERT_OK(record_encode(&ra, "", &ba));
        ASSERT_OK(record_encode(&rb, "", &bb));
        ASSERT_MSG(ba.len == bb.len && memcmp(ba.p, bb.p, ba.len) == 0,
                   "record %" PRIu64 " differs (timestamps %lld/%lld, raw %lld/%lld)", n,
                   (long long)ra.timestamp, (long long)rb.timestamp, (long long)ra.raw_timestamp,
                   (long long)rb.raw_timestamp);
    }
    buf_free(&ba);
    buf_free(&bb);
    rsrc_close(&x);
    rsrc_close(&y);
    return n;
}

/*
 * The archive keeps raw records exactly, raw timestamps included, whatever
 * the clock: QPC at 10 MHz (raw deltas equal the timestamp deltas), QPC at
 * another frequency, the system clock.
 */
TEST(archive_records_equal_the_source_byte_for_byte)
{
    static const char *const clocks[][2] = {{"qpc", "0"}, {"qpc", "3579545"}, {"system", "0"}};
    for (size_t k = 0; k < 3; k++) {
        char etl[1024], arc[1024];
        snprintf(etl, sizeof etl, "%s/clk%zu.etl", t_tmpdir(), k);
        snprintf(arc, sizeof arc, "%s/clk%zu.etwa", t_tmpdir(), k);
        const char *opts[] = {"--kind", "mixed", "--events", "5000", "--clock", clocks[k][0],
                              "--qpc-freq", clocks[k][1], NULL};
        t_etlgen(etl, opts);
        const char *cargs[] = {"convert", "-q", etl, "-o", arc, NULL};
        struct t_run r = t_etwhost(cargs, NULL, NULL);
        ASSERT_MSG(r.status == 0, "convert: %s", r.err);
        t_run_free(&r);
        ASSERT_EQ(ta_same_records(etl, arc), 5001); /* + the logfile header */
    }
}

/*
 * Archives of the older formats still read: format 1 (raw timestamp deltas
 * stored as such) and format 2 (payloads grouped by template over the whole
 * block); the records of each equal those of the format-3 file it converts
 * to, and both dump the same lines.
 */
TEST(archive_formats_1_and_2_still_read)
{
    static const char *const seeds[] = {"mixed", "kernel", "wpp"};
    for (size_t k = 0; k < 6; k++) {
        unsigned want = k < 3 ? 1 : 2;
        const char *old = t_path("%s/tests/fuzz/seeds/archive/%s%s.etwa", t_root(), seeds[k % 3],
                                 want == 2 ? "-v2" : "");
        char arc[1024];
        snprintf(arc, sizeof arc, "%s/v3-%s-%u.etwa", t_tmpdir(), seeds[k % 3], want);
        struct archive_reader *ar;
        struct errbuf eb;
        unsigned major, minor;
        ASSERT_MSG(archive_open(old, NULL, &ar, &eb) == 0, "%s", eb.msg);
        archive_version(ar, &major, &minor);
        archive_close(ar);
        ASSERT_EQ(major, want);
        const char *cargs[] = {"convert", "-q", old, "-o", arc, NULL};
        struct t_run r = t_etwhost(cargs, NULL, NULL);
        ASSERT_MSG(r.status == 0, "convert: %s", r.err);
        t_run_free(&r);
        ASSERT_MSG(archive_open(arc, NULL, &ar, &eb) == 0, "%s", eb.msg);
        archive_version(ar, &major, &minor);
        archive_close(ar);
        ASSERT_EQ(major, 3);
        ASSERT(ta_same_records(old, arc) > 40);
        char *a = ta_dump2(old, NULL, NULL), *b = ta_dump2(arc, NULL, NULL);
        ta_assert_same(a, b, seeds[k % 3]);
        mem_free(a);
        mem_free(b);
    }
}

/*
 * convert to JSON lines writes exactly what dump prints, with --sync too;
 * an existing OUT is refused without --force and replaced with it.
 */
TEST(convert_jsonl_equals_dump_sync_and_force)
{
    char etl[1024], out[1024];
    snprintf(etl, sizeof etl, "%s/cv.etl", t_tmpdir());
    snprintf(out, sizeof out, "%s/cv.jsonl", t_tmpdir());
    const char *gen[] = {"--kind", "mixed", "--events", "4000", NULL};
    t_etlgen(etl, gen);
    char *want = ta_dump2(etl, NULL, NULL);
    const char *plain[] = {"convert", "-q", etl, "-o", out, NULL};
    const char *sync[] = {"convert", "-q", "--sync", "--force", etl, "-o", out, NULL};
    struct t_run r = t_etwhost(plain, NULL, NULL);
    ASSERT_MSG(r.status == 0, "convert: %s", r.err);
    t_run_free(&r);
    char *got = t_read_file(out, NULL);
    ta_assert_same(want, got, "convert -o .jsonl");
    mem_free(got);
    r = t_etwhost(plain, NULL, NULL);
    ASSERT(r.status != 0);
    ASSERT_CONTAINS(r.err, "exists; not overwriting it (use --force)");
    t_run_free(&r);
    r = t_etwhost(sync, NULL, NULL);
    ASSERT_MSG(r.status == 0, "convert --sync --force: %s", r.err);
    t_run_free(&r);
    got = t_read_file(out, NULL);
    ta_assert_same(want, got, "convert --sync --force");
    mem_free(got);
    mem_free(want);
}

/*
 * `etwhost run` from etl through the archive sink into arc; settings are the
 * sink's settings after "path" (JSON members), what names the run in a
 * failure.
 */
/* .etl -> archive through `etwhost run` with the sink settings given. */
static void ta_archive_run(const char *etl, const char *arc, const char *settings,
                           const char *what)
{
    ta_archive_write(t_path("{\"type\": \"etl\", \"path\": \"%s\"}", etl), arc, settings, what);
}

/*
 * A mixed trace of 20 000 events (tag names its files) written with 0, 1
 * and 3 compression threads and the sink settings given; each archive goes
 * to check, then must dump exactly like the trace.
 */
static void ta_each_thread_count(const char *tag, const char *settings,
                                 void (*check)(const char *etl, const char *arc))
{
    char etl[1024];
    snprintf(etl, sizeof etl, "%s/%s.etl", t_tmpdir(), tag);
    const char *gen[] = {"--kind", "mixed", "--events", "20000", NULL};
    t_etlgen(etl, gen);
    char *want = ta_dump2(etl, NULL, NULL);
    static const int threads[] = {0, 1, 3};
    for (size_t k = 0; k < 3; k++) {
        char arc[1024];
        snprintf(arc, sizeof arc, "%s/%s%d.etwa", t_tmpdir(), tag, threads[k]);
        ta_archive_run(etl, arc, t_path("%s, \"threads\": %d", settings, threads[k]),
                       t_path("threads %d", threads[k]));
        check(etl, arc);
        char *got = ta_dump2(arc, NULL, NULL);
        ta_assert_same(want, got, t_path("threads %d", threads[k]));
        mem_free(got);
    }
    mem_free(want);
}

static void check_blocks_complete(const char *etl, const char *arc)
{
    (void)etl;
    struct archive_check c;
    ASSERT_EQ(ta_verify(arc, &c), 0);
    ASSERT_MSG(c.good_blocks >= 20, "%llu blocks", (unsigned long long)c.good_blocks);
    ASSERT(c.has_footer && c.index_ok);
}

/*
 * Compression threads: inline (0), one, and several blocks in flight write
 * the blocks in order — the archive dumps exactly like the .etl, with small
 * blocks so that many are in flight at once.
 */
TEST(archive_threads_keep_blocks_in_order)
{
    ta_each_thread_count("thr", "\"block_kb\": 64", check_blocks_complete);
}

/*
 * Blocks whose payloads went to compression in many segments (format 3:
 * grouped by template within each segment) read back record for record,
 * with every compression-thread arrangement.  ta_segments walks the block
 * frames of arc: each meta lists segments adding up to its records, and
 * each block decoded whole (ar_block_decode, as `archive verify` does)
 * gives every record the same ext items and payload as the reader; it
 * returns the segments over all blocks, the most in one block, the blocks.
 */
static void ta_segments(const char *arc, uint64_t *total, uint32_t *most, uint64_t *blocks)
{
    size_t len;
    uint8_t *d = (uint8_t *)t_read_file(arc, &len);
    struct ar_block_meta *m = mem_calloc(1, sizeof *m);
    struct ar_block blk;
    memset(&blk, 0, sizeof blk);
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    ASSERT(d != NULL && m != NULL && dctx != NULL);
    struct rsrc rd;
    rsrc_open(&rd, arc);
    *total = *blocks = 0;
    *most = 0;
    uint64_t off = AR_FILE_HDR_SIZE;
    struct ar_frame f;
    const char *why;
    while (off < len && ar_frame_at(d, len, off, &f, &why) == AR_FRAME_OK) {
        if (f.type == AR_FRAME_BLOCK) {
            m->major = 3;
            ASSERT_MSG(ar_block_meta_parse(&f, m, &why) == 0, "block at %llu: %s",
                       (unsigned long long)off, why);
            uint64_t sum = 0;
            for (uint32_t k = 0; k < m->nsegs; k++)
                sum += le_r32(m->segs + 4 * (size_t)k);
            ASSERT_EQ(sum, f.count);
            *total += m->nsegs;
            if (m->nsegs > *most)
                *most = m->nsegs;
            (*blocks)++;
            ASSERT_MSG(ar_block_decode(dctx, NULL, &f, m, &blk, &why) == 0, "block at %llu: %s",
                       (unsigned long long)off, why);
            for (uint32_t i = 0; i < blk.n; i++) {
                const uint64_t *of = blk.offs + 3 * (size_t)i;
                struct record a, b;
                ASSERT_OK(record_decode_split(blk.rows + (size_t)i * AR_REC_FIXED,
                                              blk.body + of[0], blk.body + of[1],
                                              blk.body + of[2], &a));
                ASSERT(rsrc_next(&rd, &b));
                ASSERT_MSG(a.data_len == b.data_len && a.ext_len == b.ext_len &&
                               (a.data_len == 0 || memcmp(a.data, b.data, a.data_len) == 0) &&
                               (a.ext_len == 0 || memcmp(a.ext, b.ext, a.ext_len) == 0),
                           "block at %llu, record %u: decoded whole, it differs from the reader's",
                           (unsigned long long)off, i);
            }
        }
        off += f.total;
    }
    rsrc_close(&rd);
    ar_block_free(&blk);
    ZSTD_freeDCtx(dctx);
    mem_free(m);
    mem_free(d);
}

static void check_segments(const char *etl, const char *arc)
{
    uint64_t segs, blocks;
    uint32_t most;
    ta_segments(arc, &segs, &most, &blocks);
    ASSERT_MSG(blocks >= 2 && most >= 16 && segs > 8 * blocks,
               "%llu blocks, %llu segments, at most %u in one", (unsigned long long)blocks,
               (unsigned long long)segs, most);
    ASSERT_EQ(ta_same_records(etl, arc), 20001); /* + the logfile header */
}

TEST(archive_segments_read_back_with_every_thread_count)
{
    ta_each_thread_count("seg", "\"block_kb\": 512, \"segment_kb\": 4", check_segments);
}

/* The synthetic source through the archive sink in `etwhost run`, against the file sink. */
TEST(archive_roundtrip_synthetic_run)
{
    const char *dir = ta_conf("{\"sources\": [{\"type\": \"synthetic\", \"count\": 30000, "
                              "\"kinds\": [\"process\", \"file\", \"tcp\", \"dns\", \"module\", "
                              "\"blob\"]}]}");
    char arc[1024], jl[1024];
    snprintf(arc, sizeof arc, "%s/syn.etwa", t_tmpdir());
    snprintf(jl, sizeof jl, "%s/syn.jsonl", t_tmpdir());
    ta_dropin(dir, "10-a.json",
              t_path("{\"name\": \"a\", \"plugin\": \"archive\", \"settings\": "
                     "{\"path\": \"%s\", \"block_kb\": 64}}",
                     arc));
    ta_dropin(dir, "20-f.json",
              t_path("{\"name\": \"f\", \"plugin\": \"file\", \"settings\": {\"path\": \"%s\"}}",
                     jl));
    const char *args[] = {"run", "-c", dir, NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_MSG(r.status == 0, "run: %s", r.err);
    t_run_free(&r);
    char *expect = t_read_file(jl, NULL);
    char *back = ta_dump2(arc, NULL, NULL);
    ASSERT(t_count_lines(expect) == 30000);
    ta_assert_same(expect, back, "synthetic events");
    struct archive_check c;
    ASSERT_EQ(ta_verify(arc, &c), 0);
    ASSERT(c.good_blocks > 5);
    ASSERT_EQ_U64(c.events, 30000);
    mem_free(expect);
    mem_free(back);
}

/* The number before `label` in text (e.g. "undecoded 12"), -1 if absent. */
static long long count_before(const char *text, const char *label)
{
    const char *p = strstr(text, label);
    if (p == NULL)
        return -1;
    while (p > text && p[-1] == ' ')
        p--;
    while (p > text && p[-1] >= '0' && p[-1] <= '9')
        p--;
    return atoll(p);
}

/* The number after `label` in text (e.g. "undecoded 12"), -1 if absent. */
static long long count_after(const char *text, const char *label)
{
    const char *p = strstr(text, label);
    return p ? atoll(p + strlen(label)) : -1;
}

/*
 * A chain whose only sink is the archive (which reads records only) looks
 * schemas up without decoding properties; with one more sink that reads
 * properties, the same run decodes.  Both archives dump to the same lines
 * as the source, and the counts agree: what one run did not decode is what
 * the other decoded.
 */
TEST(archive_records_only_chain_skips_decoding)
{
    char etl[1024];
    snprintf(etl, sizeof etl, "%s/ro.etl", t_tmpdir());
    const char *gen[] = {"--kind", "mixed", "--events", "4000", "--cpus", "2", NULL};
    t_etlgen(etl, gen);
    char *want = ta_dump2(etl, NULL, NULL);
    char arc[2][1024];
    long long nd = 0, und[2] = {0, 0}, dec = 0, part = 0;
    for (int k = 0; k < 2; k++) {
        snprintf(arc[k], sizeof arc[k], "%s/ro%d.etwa", t_tmpdir(), k);
        const char *dir = ta_conf(t_path("{\"sources\": [{\"type\": \"etl\", \"path\": \"%s\"}]}",
                                         etl));
        ta_dropin(dir, "10-a.json",
                  t_path("{\"name\": \"a\", \"plugin\": \"archive\", \"settings\": "
                         "{\"path\": \"%s\", \"block_kb\": 64}}",
                         arc[k]));
        if (k == 1)
            ta_dropin(dir, "20-n.json",
                      t_path("{\"name\": \"n\", \"plugin\": \"nullsink\", \"path\": "
                             "\"%s/tests/plugins/nullsink%s\", \"settings\": "
                             "{\"render_json\": true}}",
                             t_build(), plat_dl_suffix()));
        const char *args[] = {"run", "-c", dir, NULL};
        struct t_run r = t_etwhost(args, NULL, NULL);
        ASSERT_MSG(r.status == 0, "run: %s", r.err);
        const char *sum = strstr(r.err, " events in "); /* the summary line */
        ASSERT_MSG(sum != NULL, "no summary: %s", r.err);
        und[k] = count_after(sum, "undecoded ");
        if (k == 0) {
            nd = count_before(sum, "not decoded (the sinks keep raw records)");
            ASSERT_MSG(nd > 0, "archive only: %s", sum);
            ASSERT_CONTAINS(sum, "decoded 0, partial 0,");
        } else {
            ASSERT_MSG(strstr(sum, "not decoded") == NULL, "with a JSON sink: %s", sum);
            dec = count_after(sum, "decoded ");
            part = count_after(sum, "partial ");
            ASSERT_MSG(dec > 0, "with a JSON sink: %s", sum);
        }
        t_run_free(&r);
        char *got = ta_dump2(arc[k], NULL, NULL);
        ta_assert_same(want, got, k ? "archive written with decoding" : "archive written records-only");
        mem_free(got);
    }
    ASSERT_EQ(nd, dec + part);
    ASSERT_EQ(und[0], und[1]);
    ASSERT_EQ_U64((uint64_t)(nd + und[0]), (uint64_t)t_count_lines(want));
    mem_free(want);
}

/* ---- Selection: only the needed blocks are read -------------------------------------- */

TEST(archive_since_until_provider_read_only_needed_blocks)
{
    /* The 26 MB corpus trace in 256 KiB blocks, or else the project's own trace in 16 KiB ones. */
    const char *corpus = t_corpus();
    char etl[1024], arc[1024];
    const char *block_kb = "256";
    snprintf(etl, sizeof etl, "%s/large/perfview__net.4.5.x86_PerfViewData.etl",
             corpus ? corpus : ".");
    if (corpus == NULL || !plat_is_file(etl)) {
        snprintf(etl, sizeof etl, "%s/own.etl", t_tmpdir());
        const char *gen[] = {"--kind", "mixed", "--events", "20000", "--cpus", "2", NULL};
        t_etlgen(etl, gen);
        block_kb = "16";
        printf("corpus trace absent: the project's own trace (etlgen mixed, 20000 events)\n");
    }
    snprintf(arc, sizeof arc, "%s/s.etwa", t_tmpdir());
    const char *cargs[] = {"convert", "-q", etl, "-o", arc, "--block-kb", block_kb, NULL};
    struct t_run r = t_etwhost(cargs, NULL, NULL);
    ASSERT_MSG(r.status == 0, "convert: %s", r.err);
    t_run_free(&r);

    struct archive_reader *ar;
    struct errbuf eb;
    ASSERT_OK(archive_open(arc, NULL, &ar, &eb));
    size_t nb = archive_block_count(ar);
    ASSERT(nb >= 20);
    /* A window over blocks 5..7: since = first event of block 5, until = last of block 7. */
    int64_t since = archive_block_at(ar, 5)->tmin, until = archive_block_at(ar, 7)->tmax;
    uint64_t overlap = 0, inwin = 0, all = 0;
    for (size_t i = 0; i < nb; i++) {
        const struct archive_block *b = archive_block_at(ar, i);
        if (b->tmax >= since && b->tmin <= until)
            overlap++;
    }
    struct record rec;
    while (archive_next(ar, &rec, &eb) == 1) {
        all++;
        if (rec.timestamp >= since && rec.timestamp <= until)
            inwin++;
    }
    archive_close(ar);

    struct archive_options o;
    memset(&o, 0, sizeof o);
    o.has_since = o.has_until = 1;
    o.since = since;
    o.until = until;
    ASSERT_OK(archive_open(arc, &o, &ar, &eb));
    uint64_t got = 0;
    while (archive_next(ar, &rec, &eb) == 1) {
        ASSERT(rec.timestamp >= since && rec.timestamp <= until);
        got++;
    }
    struct archive_stats st;
    archive_get_stats(ar, &st);
    archive_close(ar);
    ASSERT(st.indexed);
    ASSERT_EQ_U64(got, inwin);
    ASSERT(got > 0 && got < all);
    ASSERT_EQ_U64(st.blocks_read, overlap);
    ASSERT_EQ_U64(st.blocks_read + st.blocks_skipped, nb);
    ASSERT(overlap < nb / 2);

    /* The same through the CLI: the lines are the matching subset of the full dump. */
    char sa[32], ua[32];
    snprintf(sa, sizeof sa, "%lld", (long long)since);
    snprintf(ua, sizeof ua, "%lld", (long long)until);
    const char *dargs[] = {"dump", "-q", arc, "--since", sa, "--until", ua, NULL};
    r = t_etwhost(dargs, NULL, NULL);
    ASSERT_MSG(r.status == 0, "dump: %s", r.err);
    ASSERT_EQ(t_count_lines(r.out), got);
    char *full = ta_dump2(arc, NULL, NULL);
    ASSERT(strstr(full, r.out) != NULL); /* a contiguous run of the full output */
    t_run_free(&r);
    mem_free(full);

    /*
     * A provider present only in some blocks, chosen by GUID (names can be
     * shared: several kernel GUIDs are all "Windows Kernel"); then, when one
     * has a name no other provider has, by name too.
     */
    ASSERT_OK(archive_open(arc, NULL, &ar, &eb));
    const uint32_t *bp = archive_block_providers(ar);
    size_t np = archive_provider_count(ar);
    size_t best_g = SIZE_MAX, bestn_g = SIZE_MAX, best_n = SIZE_MAX, bestn_n = SIZE_MAX;
    for (size_t p = 0; p < np; p++) {
        size_t in = 0, same_name = 0;
        for (size_t i = 0; i < nb; i++) {
            const struct archive_block *b = archive_block_at(ar, i);
            for (uint32_t k = 0; k < b->nprov; k++)
                in += bp[b->prov_first + k] == p;
        }
        const char *name = archive_provider(ar, p, NULL);
        for (size_t q = 0; q < np; q++)
            same_name += strcmp(archive_provider(ar, q, NULL), name) == 0;
        if (in > 0 && in < bestn_g) {
            best_g = p;
            bestn_g = in;
        }
        if (name[0] && same_name == 1 && in > 0 && in < nb && in < bestn_n) {
            best_n = p;
            bestn_n = in;
        }
    }
    ASSERT(best_g != SIZE_MAX && bestn_g < nb);
    struct {
        char filter[400];
        size_t prov, blocks;
    } runs[2];
    size_t nruns = 0;
    etwhost_guid g;
    archive_provider(ar, best_g, &g);
    guid_format(&g, runs[0].filter);
    runs[0].prov = best_g;
    runs[0].blocks = bestn_g;
    nruns = 1;
    if (best_n != SIZE_MAX) {
        snprintf(runs[1].filter, sizeof runs[1].filter, "%s", archive_provider(ar, best_n, NULL));
        runs[1].prov = best_n;
        runs[1].blocks = bestn_n;
        nruns = 2;
    }
    archive_close(ar);
    for (size_t k = 0; k < nruns; k++) {
        etwhost_guid want_g;
        char want_name[400];
        ASSERT_OK(archive_open(arc, NULL, &ar, &eb));
        snprintf(want_name, sizeof want_name, "%s", archive_provider(ar, runs[k].prov, &want_g));
        uint64_t want = 0;
        while (archive_next(ar, &rec, &eb) == 1)
            want += k == 0 ? memcmp(&rec.provider, &want_g, sizeof want_g) == 0
                           : strcmp(rec.provider_name ? rec.provider_name : "", want_name) == 0;
        archive_close(ar);
        memset(&o, 0, sizeof o);
        o.provider = runs[k].filter;
        ASSERT_OK(archive_open(arc, &o, &ar, &eb));
        got = 0;
        while (archive_next(ar, &rec, &eb) == 1) {
            if (k == 0)
                ASSERT(memcmp(&rec.provider, &want_g, sizeof want_g) == 0);
            else
                ASSERT_STREQ(rec.provider_name, want_name);
            got++;
        }
        archive_get_stats(ar, &st);
        archive_close(ar);
        ASSERT_MSG(got == want && want > 0, "provider %s: %llu events, want %llu", runs[k].filter,
                   (unsigned long long)got, (unsigned long long)want);
        ASSERT_EQ_U64(st.blocks_read, runs[k].blocks);
    }
}

TEST(archive_parse_time_forms)
{
    int64_t ft;
    ASSERT_OK(archive_parse_time("1601-01-01T00:00:00Z", &ft));
    ASSERT_EQ(ft, 0);
    ASSERT_OK(archive_parse_time("2026-01-01T00:00:00.5Z", &ft));
    int64_t base;
    ASSERT_OK(archive_parse_time("2026-01-01", &base));
    ASSERT_EQ(ft - base, 5000000);
    ASSERT_OK(archive_parse_time("2026-01-01T01:00:00+01:00", &ft));
    ASSERT_EQ(ft, base);
    ASSERT_OK(archive_parse_time("133801632000000000", &ft));
    ASSERT_EQ(ft, 133801632000000000LL);
    ASSERT(archive_parse_time("2026-13-01", &ft) != 0);
    ASSERT(archive_parse_time("yesterday", &ft) != 0);
    ASSERT(archive_parse_time("2026-01-01T00:00:00", &ft) != 0); /* no zone */
}

/* ---- Rotation and replay ---------------------------------------------------------------- */

TEST(archive_rotation_by_size_predictable_names)
{
    const char *dir = ta_conf("{\"sources\": [{\"type\": \"synthetic\", \"count\": 40000, "
                              "\"kinds\": [\"blob\"], \"blob_bytes\": 2000}]}");
    char out[1024];
    snprintf(out, sizeof out, "%s/out", t_tmpdir());
    t_mkdir(out);
    ta_dropin(dir, "10-a.json",
              t_path("{\"name\": \"a\", \"plugin\": \"archive\", \"settings\": "
                     "{\"path\": \"%s/live.etwa\", \"block_kb\": 256, \"level\": 1, "
                     "\"rotate_bytes\": \"1M\", \"keep\": 0}}",
                     out));
    const char *args[] = {"run", "-c", dir, NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_MSG(r.status == 0, "run: %s", r.err);
    t_run_free(&r);
    char **names;
    size_t n;
    ASSERT_OK(plat_list_dir(out, ".etwa", &names, &n, NULL));
    ASSERT(n >= 3);
    uint64_t total = 0;
    size_t rotated = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], "live.etwa") != 0) {
            /* live-YYYYMMDDTHHMMSSZ-NNNNNN.etwa */
            ASSERT_MSG(strlen(names[i]) == strlen("live-20260101T000000Z-000001.etwa") &&
                           strncmp(names[i], "live-", 5) == 0 && names[i][13] == 'T',
                       "unexpected name %s", names[i]);
            rotated++;
        }
        struct archive_check c;
        ASSERT_EQ(ta_verify(t_path("%s/%s", out, names[i]), &c), 0);
        total += c.events;
    }
    ASSERT_EQ(rotated, n - 1);
    ASSERT_EQ_U64(total, 40000);
    /* Replaying every file in name order gives the events in their original order. */
    const char *rdir = ta_conf(t_path("{\"sources\": [{\"type\": \"archive\", \"path\": "
                                      "[\"%s/live-*.etwa\", \"%s/live.etwa\"]}]}",
                                      out, out));
    char jl[1024];
    snprintf(jl, sizeof jl, "%s/replay.jsonl", t_tmpdir());
    ta_dropin(rdir, "10-f.json",
              t_path("{\"name\": \"f\", \"plugin\": \"file\", \"settings\": {\"path\": \"%s\"}}",
                     jl));
    const char *rargs[] = {"run", "-c", rdir, NULL};
    r = t_etwhost(rargs, NULL, NULL);
    ASSERT_MSG(r.status == 0, "replay: %s", r.err);
    t_run_free(&r);
    char *txt = t_read_file(jl, NULL);
    ASSERT_EQ(t_count_lines(txt), 40000);
    mem_free(txt);
    plat_free_list(names, n);
}

/* speed 1.0 replays at the original pace; speed 0 as fast as possible. */
TEST(archive_source_replay_speed)
{
    /* 2000 events 500 us apart: one second of recorded time. */
    char arc[1024];
    snprintf(arc, sizeof arc, "%s/p.etwa", t_tmpdir());
    ta_archive_write("{\"type\": \"synthetic\", \"count\": 2000, \"step_us\": 500}", arc, "",
                     "paced source");
    double speeds[] = {1.0, 4.0, 0.0};
    double took[3];
    for (int k = 0; k < 3; k++) {
        const char *rdir = ta_conf(t_path("{\"sources\": [{\"type\": \"archive\", \"path\": "
                                          "\"%s\", \"speed\": %g}]}",
                                          arc, speeds[k]));
        ta_dropin(rdir, "10-n.json",
                  t_path("{\"name\": \"n\", \"plugin\": \"nullsink\", \"path\": "
                         "\"%s/tests/plugins/nullsink%s\"}",
                         t_build(), plat_dl_suffix()));
        const char *rargs[] = {"run", "-c", rdir, NULL};
        uint64_t t0 = plat_monotonic_ns();
        struct t_run r = t_etwhost(rargs, NULL, NULL);
        took[k] = (double)(plat_monotonic_ns() - t0) / 1e9;
        ASSERT_MSG(r.status == 0, "replay: %s", r.err);
        ASSERT_CONTAINS(r.err, "2000 delivered");
        t_run_free(&r);
    }
    ASSERT_MSG(took[0] >= 0.95 && took[0] < 3.0, "speed 1 took %.2f s", took[0]);
    ASSERT_MSG(took[1] >= 0.24 && took[1] < took[0], "speed 4 took %.2f s", took[1]);
    ASSERT_MSG(took[2] < took[1], "speed 0 took %.2f s", took[2]);
}

/* ---- Codecs ------------------------------------------------------------------------------ */

TEST(archive_record_codec_roundtrip)
{
    uint8_t ext[40], data[21], meta_out[9] = "metadata";
    memset(ext, 0, sizeof ext);
    /* One ext item of type 11 (TraceLogging metadata), 8-byte header + 24 bytes. */
    ext[0] = 32;
    ext[2] = 11;
    ext[6] = 24;
    for (int i = 8; i < 32; i++)
        ext[i] = (uint8_t)i;
    for (int i = 0; i < 21; i++)
        data[i] = (uint8_t)(0xA0 + i);
    struct record r;
    memset(&r, 0, sizeof r);
    r.kind = ETWHOST_HK_EVENT;
    r.hdr_flags = 0x1;
    r.evf = ETWHOST_EVF_TRACELOGGING | ETWHOST_EVF_PTR32;
    r.pid = 4242;
    r.tid = 77;
    r.cpu = 3;
    r.timestamp = 133801632000000001LL;
    r.raw_timestamp = -5;
    r.provider.data1 = 0x12345678;
    r.provider.data4[7] = 9;
    r.id = 513;
    r.version = 2;
    r.level = 4;
    r.opcode = 1;
    r.task = 700;
    r.keywords = 0x8000000000000001ull;
    r.activity.data2 = 5;
    r.related.data3 = 6;
    r.ext = ext;
    r.ext_len = 32;
    r.tl_meta = ext + 8;
    r.tl_meta_len = 24;
    r.tl_traits = meta_out; /* not inside ext: stored as extra bytes */
    r.tl_traits_len = 8;
    r.data = data;
    r.data_len = 21;
    struct buf b = BUF_INIT;
    ASSERT_OK(record_encode(&r, "My-Provider", &b));
    ASSERT_EQ(b.len, record_encoded_size(&r, "My-Provider"));
    ASSERT_EQ(b.len, RECORD_ENC_FIXED + 32 + 21 + 8 + 11);
    struct record d;
    const char *name;
    size_t nl, used;
    ASSERT_OK(record_decode((const uint8_t *)b.p, b.len, &d, &name, &nl, &used));
    ASSERT_EQ(used, b.len);
    ASSERT(nl == 11 && memcmp(name, "My-Provider", 11) == 0);
    ASSERT(d.kind == r.kind && d.hdr_flags == r.hdr_flags && d.evf == r.evf);
    ASSERT(d.pid == r.pid && d.tid == r.tid && d.cpu == r.cpu);
    ASSERT(d.timestamp == r.timestamp && d.raw_timestamp == r.raw_timestamp);
    ASSERT(guid_eq(&d.provider, &r.provider) && guid_eq(&d.activity, &r.activity) &&
           guid_eq(&d.related, &r.related));
    ASSERT(d.id == r.id && d.version == r.version && d.level == r.level &&
           d.opcode == r.opcode && d.task == r.task && d.keywords == r.keywords);
    ASSERT(d.ext_len == 32 && memcmp(d.ext, ext, 32) == 0);
    ASSERT(d.data_len == 21 && memcmp(d.data, data, 21) == 0);
    ASSERT(d.tl_meta == d.ext + 8 && d.tl_meta_len == 24);
    ASSERT(d.tl_traits_len == 8 && memcmp(d.tl_traits, "metadata", 8) == 0);
    /* Every truncation is rejected, never read past. */
    for (size_t cut = 0; cut < b.len; cut++)
        ASSERT(record_decode((const uint8_t *)b.p, cut, &d, &name, &nl, &used) != 0);
    buf_free(&b);
}

TEST(archive_schema_codec_roundtrip_and_id)
{
    struct schema_builder sb;
    schema_builder_init(&sb, SCHEMA_SRC_MANIFEST);
    sb.hdr.id = 17;
    sb.hdr.version = 3;
    sb.hdr.keywords = 0x10;
    ASSERT_OK(schema_builder_set_name(&sb, SCHEMA_NAME_PROVIDER, "Prov", 4));
    ASSERT_OK(schema_builder_set_name(&sb, SCHEMA_NAME_EVENT, "Ev", 2));
    struct schema_map_entry ents[2] = {{1, "One"}, {2, "Two"}};
    struct schema_map m = {"Colors", SCHEMA_MAP_VALUE, 2, ents};
    struct schema_map_slot slot = {"Colors", &m};
    struct schema_field f;
    memset(&f, 0, sizeof f);
    f.name = "Count";
    f.name_len = 5;
    f.in_type = TDH_IN_UINT32;
    f.out_type = TDH_OUT_UNSIGNEDINT;
    f.map = &slot;
    ASSERT(schema_builder_add(&sb, &f) == 0);
    memset(&f, 0, sizeof f);
    f.name = "Items";
    f.name_len = 5;
    f.in_type = TDH_IN_UINT16;
    f.arity = SCHEMA_ARITY_FIELD;
    f.count = 0;
    ASSERT(schema_builder_add(&sb, &f) == 1);
    struct schema *s;
    struct errbuf eb;
    ASSERT_OK(schema_builder_finish(&sb, 2, NULL, &s, &eb));
    schema_builder_free(&sb);
    struct buf a = BUF_INIT, b = BUF_INIT;
    ASSERT_OK(schema_encode(s, &a));
    struct arena ar = {0};
    ar.chunk_size = 4096;
    struct schema *d;
    ASSERT_OK(schema_decode((const uint8_t *)a.p, a.len, &ar, &d, &eb));
    ASSERT_OK(schema_encode(d, &b));
    ASSERT(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
    ASSERT_STREQ(d->event_name, "Ev");
    ASSERT_EQ(d->nfields, 2);
    ASSERT(d->fields[0].map && d->fields[0].map->map);
    ASSERT_STREQ(schema_map_lookup(d->fields[0].map->map, 2), "Two");
    uint64_t id = schema_content_id((const uint8_t *)a.p, a.len);
    /* The cache gives the same bytes and id, and notices a map arriving later. */
    const uint8_t *cb;
    size_t cl;
    uint64_t cid;
    slot.map = NULL;
    ASSERT_OK(schema_codec_cached(s, &cb, &cl, &cid));
    ASSERT(cid != id);
    slot.map = &m;
    ASSERT_OK(schema_codec_cached(s, &cb, &cl, &cid));
    ASSERT(cid == id && cl == a.len && memcmp(cb, a.p, cl) == 0);
    /* Malformed encodings: every truncation and many byte flips fail cleanly. */
    for (size_t cut = 0; cut < a.len; cut++) {
        struct schema *x;
        ASSERT(schema_decode((const uint8_t *)a.p, cut, &ar, &x, &eb) != 0);
    }
    for (size_t i = 0; i < a.len; i++) {
        uint8_t *p = (uint8_t *)a.p;
        p[i] ^= 0x5A;
        struct schema *x;
        (void)schema_decode(p, a.len, &ar, &x, &eb);
        p[i] ^= 0x5A;
    }
    schema_codec_cache_clear();
    arena_free(&ar);
    buf_free(&a);
    buf_free(&b);
    schema_free(s);
}
