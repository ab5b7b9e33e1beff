/*
 * Archive damage tests: a writer killed with SIGKILL leaves every complete
 * block readable; flipped bytes and truncation at every frame boundary are
 * reported by verify, skipped (and counted) by the reader, and repaired.
 */
#include "test.h"

#include "archive/archive_int.h"
#include "archive/archive_reader.h"
#include "core/le.h"
#include "core/mem.h"
#include "platform/platform.h"

#include "test_archive_util.h"

/* A many-block archive of the synthetic source (deterministic), path in out. */
static void make_archive(char *out, size_t cap, uint32_t events)
{
    snprintf(out, cap, "%s/d.etwa", t_tmpdir());
    ta_archive_write(t_path("{\"type\": \"synthetic\", \"count\": %u}", events), out,
                     "\"block_kb\": 32, \"level\": 3", "synthetic");
}

/* Records readable from bytes (never fails: damage is skipped). */
static uint64_t count_mem(const uint8_t *p, size_t len, struct archive_stats *st)
{
    struct archive_reader *ar;
    struct errbuf eb;
    if (archive_open_mem(p, len, "t", NULL, &ar, &eb) != 0)
        return UINT64_MAX;
    struct record rec;
    uint64_t n = 0;
    int rc;
    while ((rc = archive_next(ar, &rec, &eb)) == 1)
        n++;
    ASSERT_EQ(rc, 0);
    archive_get_stats(ar, st);
    archive_close(ar);
    return n;
}

static void quiet_warn(void *ctx, const char *msg)
{
    (*(int *)ctx)++;
    (void)msg;
}

/* Start `etwhost run -c dir` in the background (output in <tag>-out.txt, -err.txt); its pid. */
static int64_t spawn_run(const char *dir, const char *tag)
{
    char exe[1024];
    snprintf(exe, sizeof exe, "%s/etwhost", t_build());
    const char *argv[] = {exe, "run", "-c", dir, NULL};
    int64_t pid = 0;
    ASSERT_OK(plat_spawn(argv, NULL, t_path("%s/%s-out.txt", t_tmpdir(), tag),
                         t_path("%s/%s-err.txt", t_tmpdir(), tag), &pid));
    return pid;
}

/*
 * block_seconds at a low event rate: a block that is due by age is on disk
 * when it is due, not only when the next event comes.  Events come every
 * 2 s and blocks are due after 1 s, so the first block is due with the
 * second event (~2 s after start) and the third event is ~4 s after start:
 * a complete block must be readable well before that.
 */
TEST(archive_block_seconds_writes_when_due_at_low_rates)
{
    char arc[1024];
    snprintf(arc, sizeof arc, "%s/slow.etwa", t_tmpdir());
    const char *dir = ta_conf("{\"sources\": [{\"type\": \"synthetic\", \"count\": 0, "
                              "\"rate\": 0.5}]}");
    ta_dropin(dir, "10-a.json",
              t_path("{\"name\": \"a\", \"plugin\": \"archive\", \"settings\": "
                     "{\"path\": \"%s\", \"block_seconds\": 1}}",
                     arc));
    uint64_t t0 = plat_monotonic_ns();
    int64_t pid = spawn_run(dir, "slow");
    struct archive_check c;
    memset(&c, 0, sizeof c);
    double took = 0;
    while ((took = (double)(plat_monotonic_ns() - t0) / 1e9) < 3.4) {
        plat_sleep_ms(50);
        if (plat_is_file(arc)) {
            struct errbuf eb;
            if (archive_verify(arc, &c, NULL, NULL, &eb) == 0 && c.good_blocks >= 1)
                break;
        }
    }
    int status;
    ASSERT_OK(plat_kill(pid, 0, 5000, &status));
    ASSERT_MSG(c.good_blocks >= 1, "no complete block %.1f s after start", took);
    ASSERT_MSG(took >= 1.5, "a block after %.1f s, before it was due", took);
    ASSERT(c.events >= 1 && c.events <= 2);
}

TEST(archive_kill9_every_complete_block_readable)
{
    char arc[1024];
    snprintf(arc, sizeof arc, "%s/live.etwa", t_tmpdir());
    const char *dir = ta_conf("{\"sources\": [{\"type\": \"synthetic\", \"count\": 0}]}");
    ta_dropin(dir, "10-a.json",
              t_path("{\"name\": \"a\", \"plugin\": \"archive\", \"settings\": "
                     "{\"path\": \"%s\", \"block_kb\": 64, \"level\": 1}}",
                     arc));
    int64_t pid = spawn_run(dir, "kill9");
    uint64_t size = 0;
    for (int i = 0; i < 400 && size < 3u << 20; i++) {
        plat_sleep_ms(25);
        plat_file_info(arc, &size, NULL);
    }
    int status;
    ASSERT_OK(plat_kill(pid, 0, 5000, &status));
    ASSERT_MSG(size >= 1u << 20, "the writer wrote only %llu bytes", (unsigned long long)size);

    /* verify: complete blocks, no footer, maybe a torn block; exit 1. */
    struct archive_check c;
    int problems = ta_verify(arc, &c);
    ASSERT(problems >= 1);
    ASSERT(!c.has_footer);
    ASSERT(c.good_blocks >= 10);
    ASSERT(c.bad_blocks <= 1);
    const char *vargs[] = {"archive", "verify", arc, NULL};
    struct t_run r = t_etwhost(vargs, NULL, NULL);
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.out, "no footer");
    t_run_free(&r);

    /* dump shows every event of every complete block. */
    const char *dargs[] = {"dump", "-q", arc, NULL};
    r = t_etwhost(dargs, NULL, NULL);
    ASSERT_MSG(r.status == 0, "dump: %s", r.err);
    ASSERT_EQ_U64(t_count_lines(r.out), c.events);
    /* They are the synthetic source's first events, in order: compare with a fresh run. */
    char *first = mem_strdup(r.out);
    t_run_free(&r);
    char jl[1024];
    snprintf(jl, sizeof jl, "%s/ref.jsonl", t_tmpdir());
    const char *rdir = ta_conf(t_path("{\"sources\": [{\"type\": \"synthetic\", \"count\": %llu}]}",
                                      (unsigned long long)c.events));
    ta_dropin(rdir, "10-f.json",
              t_path("{\"name\": \"f\", \"plugin\": \"file\", \"settings\": {\"path\": \"%s\"}}",
                     jl));
    const char *rargs[] = {"run", "-c", rdir, NULL};
    r = t_etwhost(rargs, NULL, NULL);
    ASSERT_MSG(r.status == 0, "reference run: %s", r.err);
    t_run_free(&r);
    char *ref = t_read_file(jl, NULL);
    ta_assert_same(ref, first, "events before the kill");
    mem_free(ref);
    mem_free(first);

    /* repair in place: a complete archive with the same events. */
    const char *pargs[] = {"archive", "repair", arc, NULL};
    r = t_etwhost(pargs, NULL, NULL);
    ASSERT_MSG(r.status == 0, "repair: %s%s", r.out, r.err);
    t_run_free(&r);
    struct archive_check c2;
    ASSERT_EQ(ta_verify(arc, &c2), 0);
    ASSERT(c2.has_footer && c2.index_ok);
    ASSERT_EQ_U64(c2.events, c.events);

    r = t_etwhost((const char *[]){"archive", "info", arc, NULL}, NULL, NULL);
    ASSERT_EQ(r.status, 0);
    ASSERT_CONTAINS(r.out, "complete (footer and index)");
    t_run_free(&r);

    /* A new writer on the same path keeps the old file under a rotated name. */
    const char *ndir = ta_conf("{\"sources\": [{\"type\": \"synthetic\", \"count\": 100}]}");
    ta_dropin(ndir, "10-a.json",
              t_path("{\"name\": \"a\", \"plugin\": \"archive\", \"settings\": "
                     "{\"path\": \"%s\"}}",
                     arc));
    r = t_etwhost((const char *[]){"run", "-c", ndir, NULL}, NULL, NULL);
    ASSERT_MSG(r.status == 0, "second run: %s", r.err);
    ASSERT_CONTAINS(r.err, "(left by an earlier run)");
    t_run_free(&r);
    char **names;
    size_t n;
    ASSERT_OK(plat_list_dir(t_tmpdir(), ".etwa", &names, &n, NULL));
    uint64_t seen = 0;
    for (size_t i = 0; i < n; i++) {
        struct archive_check c3;
        ASSERT_EQ(ta_verify(t_path("%s/%s", t_tmpdir(), names[i]), &c3), 0);
        seen += c3.events;
    }
    ASSERT_EQ(n, 2);
    ASSERT_EQ_U64(seen, c.events + 100);
    plat_free_list(names, n);
}

TEST(archive_flipped_bytes_skip_only_that_block)
{
    char arc[1024];
    make_archive(arc, sizeof arc, 20000);
    size_t len;
    uint8_t *orig = (uint8_t *)t_read_file(arc, &len);
    ASSERT(orig != NULL);
    struct archive_reader *ar;
    struct errbuf eb;
    ASSERT_OK(archive_open(arc, NULL, &ar, &eb));
    size_t nb = archive_block_count(ar);
    ASSERT(nb >= 8);
    struct archive_block blocks[64];
    size_t take = nb < 64 ? nb : 64;
    for (size_t i = 0; i < take; i++)
        blocks[i] = *archive_block_at(ar, i);
    archive_close(ar);
    uint8_t *p = mem_alloc(len);
    /* In each block: the header, the meta and the compressed body. */
    for (size_t i = 0; i < take; i += 3) {
        uint32_t where[3] = {10, 50, blocks[i].frame_len / 2};
        for (int w = 0; w < 3; w++) {
            memcpy(p, orig, len);
            p[blocks[i].offset + where[w]] ^= 0x40;
            struct archive_stats st;
            uint64_t n = count_mem(p, len, &st);
            ASSERT_EQ_U64(n, 20000 - blocks[i].count);
            ASSERT_EQ_U64(st.bad_blocks, 1);
            const char *bad = t_path("%s/bad.etwa", t_tmpdir());
            t_write_bytes(bad, p, len);
            struct archive_check c;
            ASSERT(ta_verify(bad, &c) >= 1);
            ASSERT_EQ_U64(c.events, 20000 - blocks[i].count);
            const char *vargs[] = {"archive", "verify", bad, NULL};
            struct t_run r = t_etwhost(vargs, NULL, NULL);
            ASSERT_EQ(r.status, 1);
            if (w == 0) {
                /* A damaged frame header: the bytes up to the next frame are skipped. */
                ASSERT(c.damaged_bytes >= blocks[i].frame_len);
                ASSERT_CONTAINS(r.out, t_path("offset 0x%llx: frame header checksum mismatch",
                                              (unsigned long long)blocks[i].offset));
            } else {
                ASSERT_EQ_U64(c.bad_blocks, 1);
                ASSERT_CONTAINS(r.out, t_path("offset 0x%llx: block %zu:",
                                              (unsigned long long)blocks[i].offset, i));
            }
            t_run_free(&r);
        }
    }
    /* Damage in the index: the reader falls back to scanning and loses nothing. */
    memcpy(p, orig, len);
    p[len - 40] ^= 0x01;
    struct archive_stats st;
    int warns = 0;
    struct archive_options o;
    memset(&o, 0, sizeof o);
    o.warn = quiet_warn;
    o.warn_ctx = &warns;
    ASSERT_OK(archive_open_mem(p, len, "t", &o, &ar, &eb));
    struct record rec;
    uint64_t n = 0;
    while (archive_next(ar, &rec, &eb) == 1)
        n++;
    archive_get_stats(ar, &st);
    archive_close(ar);
    ASSERT_EQ_U64(n, 20000);
    ASSERT(!st.indexed && warns >= 1);
    /* repair -o drops the damaged block and gives a clean archive. */
    memcpy(p, orig, len);
    p[blocks[1].offset + blocks[1].frame_len / 2] ^= 0x10;
    const char *bad = t_path("%s/bad2.etwa", t_tmpdir());
    t_write_bytes(bad, p, len);
    char fixed[1024];
    snprintf(fixed, sizeof fixed, "%s/fixed.etwa", t_tmpdir());
    const char *pargs[] = {"archive", "repair", bad, "-o", fixed, NULL};
    struct t_run r = t_etwhost(pargs, NULL, NULL);
    ASSERT_MSG(r.status == 0, "repair: %s", r.err);
    ASSERT_CONTAINS(r.out, "dropped 1 damaged blocks");
    t_run_free(&r);
    struct archive_check c;
    ASSERT_EQ(ta_verify(fixed, &c), 0);
    ASSERT_EQ_U64(c.events, 20000 - blocks[1].count);
    mem_free(p);
    mem_free(orig);
}

/*
 * A block is decompressed as it is read, a segment at a time: when its body
 * stops decompressing part-way (damage that the frame checksum does not
 * catch: here the checksums are recomputed over it), the events of the
 * segments before the damage are delivered, byte for byte those of the
 * undamaged archive, and the rest of the block is skipped with one warning
 * and counted as a damaged block.
 */
TEST(archive_block_damaged_part_way_keeps_the_segments_before)
{
    char arc[1024];
    snprintf(arc, sizeof arc, "%s/seg.etwa", t_tmpdir());
    ta_archive_write("{\"type\": \"synthetic\", \"count\": 20000}", arc,
                     "\"block_kb\": 65536, \"segment_kb\": 16, \"level\": 3", "one block");
    size_t len;
    uint8_t *orig = (uint8_t *)t_read_file(arc, &len);
    ASSERT(orig != NULL);
    struct archive_reader *ar;
    struct errbuf eb;
    ASSERT_OK(archive_open_mem(orig, len, "orig", NULL, &ar, &eb));
    ASSERT_EQ_U64(archive_block_count(ar), 1);
    uint64_t off = archive_block_at(ar, 0)->offset;
    /* The second half of the payloads' zstd frame (after the record headers' frame) -> 0xFF. */
    uint8_t *p = mem_alloc(len);
    memcpy(p, orig, len);
    struct ar_frame f;
    const char *why;
    ASSERT_EQ(ar_frame_at(p, len, off, &f, &why), AR_FRAME_OK);
    size_t h = ZSTD_findFrameCompressedSize(f.body, f.stored);
    ASSERT(!ZSTD_isError(h) && h < f.stored);
    size_t from = h + (f.stored - h) / 2;
    memset(p + (f.body - p) + from, 0xFF, f.stored - from);
    le_w32(p + off + 40, ar_crc32c(0, f.meta, (size_t)f.meta_len + f.stored));
    le_w32(p + off + 44, ar_crc32c(0, p + off, 44));
    int warns = 0;
    struct archive_options o;
    memset(&o, 0, sizeof o);
    o.warn = quiet_warn;
    o.warn_ctx = &warns;
    struct archive_reader *bad;
    ASSERT_OK(archive_open_mem(p, len, "bad", &o, &bad, &eb));
    struct record a, b;
    uint64_t n = 0;
    int rc;
    while ((rc = archive_next(bad, &b, &eb)) == 1) {
        ASSERT_EQ(archive_next(ar, &a, &eb), 1);
        ASSERT_EQ(a.timestamp, b.timestamp);
        ASSERT_EQ(a.id, b.id);
        ASSERT_EQ(a.data_len, b.data_len);
        ASSERT(a.data_len == 0 || memcmp(a.data, b.data, a.data_len) == 0);
        n++;
    }
    ASSERT_EQ(rc, 0);
    struct archive_stats st;
    archive_get_stats(bad, &st);
    ASSERT_MSG(n > 1000 && n < 20000, "%llu events before the damage", (unsigned long long)n);
    ASSERT_EQ_U64(st.bad_blocks, 1);
    ASSERT_EQ(warns, 1);
    archive_close(bad);
    archive_close(ar);
    mem_free(p);
    mem_free(orig);
}

TEST(archive_truncated_at_every_frame_boundary)
{
    char arc[1024];
    make_archive(arc, sizeof arc, 8000);
    size_t len;
    uint8_t *orig = (uint8_t *)t_read_file(arc, &len);
    struct archive_reader *ar;
    struct errbuf eb;
    ASSERT_OK(archive_open(arc, NULL, &ar, &eb));
    size_t nb = archive_block_count(ar);
    ASSERT(nb >= 4);
    /* Events in blocks that end at or before each cut. */
    uint64_t *ends = mem_calloc(nb, sizeof *ends), *cum = mem_calloc(nb, sizeof *cum);
    uint64_t total = 0;
    for (size_t i = 0; i < nb; i++) {
        const struct archive_block *b = archive_block_at(ar, i);
        ends[i] = b->offset + b->frame_len;
        total += b->count;
        cum[i] = total;
    }
    archive_close(ar);
    ASSERT_EQ_U64(total, 8000);
    for (size_t i = 0; i < nb; i++) {
        /* Cut right after block i, and in the middle of block i + 1. */
        uint64_t cuts[2] = {ends[i], i + 1 < nb ? ends[i] + (ends[i + 1] - ends[i]) / 2 : len - 7};
        for (int k = 0; k < 2; k++) {
            struct archive_stats st;
            int warns = 0;
            struct archive_options o;
            memset(&o, 0, sizeof o);
            o.warn = quiet_warn;
            o.warn_ctx = &warns;
            ASSERT_OK(archive_open_mem(orig, (size_t)cuts[k], "t", &o, &ar, &eb));
            struct record rec;
            uint64_t n = 0;
            while (archive_next(ar, &rec, &eb) == 1)
                n++;
            archive_get_stats(ar, &st);
            archive_close(ar);
            ASSERT_MSG(n == cum[i], "cut at %llu: %llu events, want %llu",
                       (unsigned long long)cuts[k], (unsigned long long)n,
                       (unsigned long long)cum[i]);
            ASSERT(!st.indexed);
            if (k == 1)
                ASSERT(st.damaged_bytes > 0 && warns > 0);
        }
    }
    /* verify and repair on one truncated copy. */
    const char *cut = t_path("%s/cut.etwa", t_tmpdir());
    t_write_bytes(cut, orig, (size_t)(ends[1] + 100));
    struct archive_check c;
    ASSERT(ta_verify(cut, &c) >= 2); /* torn frame + no footer */
    ASSERT_EQ_U64(c.events, cum[1]);
    const char *pargs[] = {"archive", "repair", cut, NULL};
    struct t_run r = t_etwhost(pargs, NULL, NULL);
    ASSERT_MSG(r.status == 0, "repair: %s", r.err);
    t_run_free(&r);
    ASSERT_EQ(ta_verify(cut, &c), 0);
    ASSERT_EQ_U64(c.events, cum[1]);
    ASSERT(!plat_is_file(t_path("%s/cut.etwa.repair.tmp", t_tmpdir())));
    /* Not an archive at all. */
    ASSERT(archive_open_mem(orig, 7, "t", NULL, &ar, &eb) == ERR_FORMAT);
    mem_free(ends);
    mem_free(cum);
    mem_free(orig);
}
