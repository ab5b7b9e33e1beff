/*
 * Tests of the MS-XCA Plain LZ77 codec: round trips, every compressed
 * buffer of the corpus, an independent decoder (dissect.util) on our
 * compressor's output, and malformed streams.
 */
#include "test.h"

#include "core/err.h"
#include "core/mem.h"
#include "etl/etl_format.h"
#include "etl/lz77.h"
#include "platform/platform.h"

static uint64_t rng = 88172645463325252ull;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* Compress, check the bound, decompress into an exact-size buffer, compare. */
static size_t round_trip(const uint8_t *src, size_t n)
{
    size_t cap = lz77_compress_bound(n), clen = 0, dlen = 0;
    uint8_t *c = mem_alloc(cap);
    uint8_t *d = mem_alloc(n ? n : 1);
    ASSERT(c && d);
    ASSERT_OK(lz77_compress(src, n, c, cap, &clen));
    ASSERT(clen <= cap);
    ASSERT_OK(lz77_decompress(c, clen, d, n, &dlen));
    ASSERT_EQ(dlen, n);
    ASSERT(n == 0 || memcmp(src, d, n) == 0);
    mem_free(c);
    mem_free(d);
    return clen;
}

TEST(lz77_round_trip_random_and_compressible)
{
    static const size_t sizes[] = {0, 1, 2, 3, 4, 7, 31, 32, 33, 63, 64, 65, 100, 4095, 65536,
                                   290944};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        uint8_t *buf = mem_alloc(n ? n : 1);
        /* Random bytes: nothing to find, close to the bound. */
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)next_rand();
        size_t c = round_trip(buf, n);
        ASSERT(c <= lz77_compress_bound(n));
        /* Record-like data: repeated headers with small variations. */
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)((i % 96) < 48 ? i % 7 : (next_rand() % 4));
        size_t c2 = round_trip(buf, n);
        if (n >= 4095)
            ASSERT_MSG(c2 < n / 2, "compressible data of %zu bytes gave %zu", n, c2);
        /* One long run: exercises the nibble, byte, u16 and u32 length forms. */
        memset(buf, 0xAB, n);
        size_t c3 = round_trip(buf, n);
        if (n >= 65536)
            ASSERT_MSG(c3 < 64, "a run of %zu bytes gave %zu", n, c3);
        mem_free(buf);
    }
}

TEST(lz77_length_forms_and_shared_nibbles)
{
    /* Matches of every length around the encoding thresholds, separated by literals. */
    static const size_t lens[] = {3, 9, 10, 11, 24, 25, 26, 279, 280, 281, 65537, 65538, 70000};
    size_t n = 0;
    uint8_t *buf = mem_alloc(300000);
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        buf[n++] = (uint8_t)(k + 1);
        buf[n++] = 0xEE;
        uint8_t a = (uint8_t)next_rand(), b = (uint8_t)next_rand();
        buf[n++] = a;
        buf[n++] = b;
        for (size_t i = 0; i < lens[k]; i++, n++)
            buf[n] = buf[n - 2]; /* distance 2, overlapping copy */
        for (int i = 0; i < 5; i++)
            buf[n++] = (uint8_t)next_rand();
    }
    round_trip(buf, n);
    mem_free(buf);
}

/* A hand-made stream: two matches sharing one nibble byte, then the end flag. */
TEST(lz77_decodes_hand_made_stream)
{
    /*
     * Items: 'a' 'b' (literals), match dist 2 len 10 (u16 = (1<<3)|7, nibble 0),
     * match dist 1 len 12 (u16 = (0<<3)|7, shares the high nibble: 2).
     * Flags: 0,0,1,1 then all ones.
     */
    uint8_t s[] = {0xFF, 0xFF, 0xFF, 0x3F, 'a', 'b', 0x0F, 0x00, 0x20, 0x07, 0x00};
    /* Flag word little-endian 0x3FFFFFFF: bits from the top 0,0,1,1,... */
    uint8_t out[64];
    size_t n = 0;
    ASSERT_OK(lz77_decompress(s, sizeof s, out, sizeof out, &n));
    ASSERT_EQ(n, 2 + 10 + 12);
    ASSERT(memcmp(out, "ababababababbbbbbbbbbbbb", 24) == 0);
}

TEST(lz77_rejects_malformed_streams)
{
    uint8_t out[256];
    size_t n = 99;
    /* Distance before the start of the output. */
    uint8_t far[] = {0xFF, 0xFF, 0xFF, 0x7F, 'x', 0x08, 0x00};
    ASSERT_EQ(lz77_decompress(far, sizeof far, out, sizeof out, &n), ERR_FORMAT);
    /* Output would exceed the capacity (match of 10 into room for 5). */
    uint8_t big[] = {0xFF, 0xFF, 0xFF, 0x7F, 'x', 0x07, 0x00, 0x00};
    ASSERT_EQ(lz77_decompress(big, sizeof big, out, 5, &n), ERR_FORMAT);
    ASSERT_OK(lz77_decompress(big, sizeof big, out, sizeof out, &n));
    ASSERT_EQ(n, 11);
    /* A u32 length of 0xFFFFFFFF must not wrap. */
    uint8_t huge[] = {0xFF, 0xFF, 0xFF, 0x7F, 'x', 0x07, 0x00, 0x0F, 0xFF, 0x00, 0x00,
                      0xFF, 0xFF, 0xFF, 0xFF};
    ASSERT_EQ(lz77_decompress(huge, sizeof huge, out, sizeof out, &n), ERR_FORMAT);
    /* A u16/u32 length below 22 is invalid. */
    uint8_t small[] = {0xFF, 0xFF, 0xFF, 0x7F, 'x', 0x07, 0x00, 0x0F, 0xFF, 0x05, 0x00};
    ASSERT_EQ(lz77_decompress(small, sizeof small, out, sizeof out, &n), ERR_FORMAT);
    /* Truncated flag word. */
    uint8_t trunc[] = {0x00, 0x00};
    ASSERT_EQ(lz77_decompress(trunc, sizeof trunc, out, sizeof out, &n), ERR_FORMAT);
    /* A literal flag with no input left ends the stream, also with no room at all. */
    uint8_t lit_end[] = {0xFF, 0xFF, 0xFF, 0x7F};
    ASSERT_OK(lz77_decompress(lit_end, sizeof lit_end, NULL, 0, &n));
    ASSERT_EQ(n, 0);
    /* Empty input is an empty output. */
    ASSERT_OK(lz77_decompress(trunc, 0, out, sizeof out, &n));
    ASSERT_EQ(n, 0);
}

/* Every prefix of a valid stream: an error or a shorter output, never an overrun. */
TEST(lz77_truncated_streams_are_safe)
{
    size_t n = 5000;
    uint8_t *src = mem_alloc(n);
    for (size_t i = 0; i < n; i++)
        src[i] = (uint8_t)((i % 300) < 200 ? (i % 13) * 3 : next_rand());
    size_t cap = lz77_compress_bound(n), clen = 0;
    uint8_t *c = mem_alloc(cap);
    ASSERT_OK(lz77_compress(src, n, c, cap, &clen));
    for (size_t cut = 0; cut < clen; cut++) {
        uint8_t *part = mem_alloc(cut ? cut : 1); /* exact size so ASan sees over-reads */
        memcpy(part, c, cut);
        uint8_t *d = mem_alloc(n);
        size_t got = 0;
        int rc = lz77_decompress(part, cut, d, n, &got);
        ASSERT(rc == 0 || rc == ERR_FORMAT);
        if (rc == 0) {
            ASSERT(got <= n);
            ASSERT(memcmp(d, src, got) == 0);
        }
        mem_free(d);
        mem_free(part);
    }
    /* Random garbage of many sizes into a small output. */
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = next_rand() % 200;
        uint8_t *g = mem_alloc(len ? len : 1);
        for (size_t i = 0; i < len; i++)
            g[i] = (uint8_t)next_rand();
        size_t dcap = next_rand() % 300;
        uint8_t *d = mem_alloc(dcap ? dcap : 1);
        size_t got = 0;
        int rc = lz77_decompress(g, len, d, dcap, &got);
        ASSERT(rc == 0 || rc == ERR_FORMAT);
        ASSERT(got <= dcap);
        mem_free(d);
        mem_free(g);
    }
    mem_free(c);
    mem_free(src);
}

/* Walk the buffers of a file; inflate each compressed one into exactly Offset-0x48 bytes. */
static void check_file_buffers(const char *path, uint64_t *nbuf)
{
    const uint8_t *d;
    size_t size;
    struct errbuf eb;
    ASSERT_MSG(plat_map_file(path, &d, &size, &eb) == 0, "%s", eb.msg);
    for (size_t off = 0; off + ETL_BUF_HDR <= size;) {
        uint32_t bs = le_r32(d + off);
        ASSERT(bs >= ETL_BUF_HDR && bs <= size - off);
        if (le_r16(d + off + ETL_BUF_FLAGS) & ETL_BUFFLAG_COMPRESSED) {
            uint32_t end = le_r32(d + off + ETL_BUF_OFFSET);
            size_t want = end - ETL_BUF_HDR, got = 0;
            uint8_t *out = mem_alloc(want);
            ASSERT_MSG(lz77_decompress(d + off + ETL_BUF_HDR, bs - ETL_BUF_HDR, out, want,
                                       &got) == 0,
                       "%s: buffer at 0x%zx does not inflate", path, off);
            ASSERT_EQ(got, want);
            /* Inflated data starts with a record marker (flags 0xC0 or 0x90). */
            ASSERT((out[3] & 0xC0) == 0xC0 || (out[3] & 0xD0) == 0x90);
            /* Our compressor must round-trip the same bytes. */
            round_trip(out, want);
            mem_free(out);
            ++*nbuf;
        }
        off += bs;
    }
    plat_unmap(d, size);
}

TEST(lz77_every_corpus_compressed_buffer)
{
    const char *corpus = t_corpus_or_skip();
    static const char *const dirs[] = {"etl", "large"};
    uint64_t nbuf = 0;
    for (int di = 0; di < 2; di++) {
        char **names = NULL;
        size_t count = 0;
        struct errbuf eb;
        if (plat_list_dir(t_path("%s/%s", corpus, dirs[di]), ".etl", &names, &count, &eb))
            continue;
        for (size_t i = 0; i < count; i++)
            check_file_buffers(t_path("%s/%s/%s", corpus, dirs[di], names[i]), &nbuf);
        plat_free_list(names, count);
    }
    printf("  %" PRIu64 " compressed buffers inflated\n", nbuf);
    ASSERT(nbuf > 0);
}

/* The independent decoder (dissect.util, the Python peer) must agree with our compressor. */
TEST(lz77_output_accepted_by_dissect_util)
{
    if (t_under_wine())
        SKIP("the dissect.util oracle is a Linux python3 module (not run under Wine)");
    const char *check[] = {"python3", "-c", "import dissect.util.compression.lzxpress", NULL};
    struct t_run probe = t_exec(check, NULL, NULL);
    int ok = probe.status == 0;
    t_run_free(&probe);
    if (!ok)
        SKIP("python3 with dissect.util not available (pip install dissect.util)");
    size_t n = 70000;
    uint8_t *src = mem_alloc(n);
    for (size_t i = 0; i < n; i++)
        src[i] = (uint8_t)((i % 500) < 300 ? (i / 7) % 11 : next_rand());
    memset(src + 1000, 0, 30000); /* a long run for the u16 length form */
    size_t cap = lz77_compress_bound(n), clen = 0;
    uint8_t *c = mem_alloc(cap);
    ASSERT_OK(lz77_compress(src, n, c, cap, &clen));
    const char *cin = t_path("%s/c.bin", t_tmpdir());
    const char *raw = t_path("%s/raw.bin", t_tmpdir());
    t_write_bytes(cin, c, clen);
    t_write_bytes(raw, src, n);
    char script[1024];
    snprintf(script, sizeof script,
             "from dissect.util.compression import lzxpress\n"
             "d = lzxpress.decompress(open('%s','rb').read())\n"
             "r = open('%s','rb').read()\n"
             "print('same' if d == r else 'differ %%d %%d' %% (len(d), len(r)))\n",
             cin, raw);
    const char *argv[] = {"python3", "-c", script, NULL};
    struct t_run r = t_exec(argv, NULL, NULL);
    ASSERT_MSG(r.status == 0, "python failed: %s", r.err);
    ASSERT_CONTAINS(r.out, "same");
    t_run_free(&r);
    mem_free(c);
    mem_free(src);
}
