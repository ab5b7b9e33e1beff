/*
 * Tests of host/core/text: encodings, base64, integers, time, SIDs, addresses.
 *
 * Fast paths (word-at-a-time ASCII runs) are checked against straightforward
 * reference implementations written here, on many random inputs.
 */
#include "test.h"

#include <time.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/text.h"

/* A small deterministic PRNG (xorshift64*), so failures reproduce. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

/* UTF-16LE bytes from a list of code units. */
static size_t u16(uint8_t *out, const uint16_t *units, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = (uint8_t)units[i];
        out[2 * i + 1] = (uint8_t)(units[i] >> 8);
    }
    return 2 * n;
}

static const char *conv16(const uint16_t *units, size_t n)
{
    static char out[1024];
    uint8_t in[512];
    size_t len = text_utf16_to_utf8(out, in, u16(in, units, n));
    out[len] = '\0';
    return out;
}

TEST(text_utf16_pairs_and_unpaired_surrogates)
{
    const uint16_t ok[] = {'A', 0xE9, 0x20AC, 0xD83D, 0xDE00, 'z'};
    ASSERT_STREQ(conv16(ok, 6), "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z");
    const uint16_t lone_high[] = {'a', 0xD800, 'b'};
    ASSERT_STREQ(conv16(lone_high, 3), "a\xEF\xBF\xBD" "b");
    const uint16_t lone_low[] = {0xDC00, 'c'};
    ASSERT_STREQ(conv16(lone_low, 2), "\xEF\xBF\xBD" "c");
    const uint16_t high_at_end[] = {'x', 0xDBFF};
    ASSERT_STREQ(conv16(high_at_end, 2), "x\xEF\xBF\xBD");
    const uint16_t two_highs[] = {0xD800, 0xD800, 0xDC00};
    ASSERT_STREQ(conv16(two_highs, 3), "\xEF\xBF\xBD\xF0\x90\x80\x80");
    const uint16_t max[] = {0xDBFF, 0xDFFF, 0xFFFF};
    ASSERT_STREQ(conv16(max, 3), "\xF4\x8F\xBF\xBF\xEF\xBF\xBF");
    /* The first NUL unit ends the string. */
    const uint16_t nul[] = {'h', 'i', 0, 'x', 'y'};
    ASSERT_STREQ(conv16(nul, 5), "hi");
    /* An odd trailing byte is half a unit: U+FFFD, unless it is a NUL. */
    char out[16];
    const uint8_t odd[] = {'a', 0, 'b'};
    ASSERT_EQ(text_utf16_to_utf8(out, odd, 3), 4);
    ASSERT(memcmp(out, "a\xEF\xBF\xBD", 4) == 0);
    const uint8_t odd0[] = {'a', 0, 0};
    ASSERT_EQ(text_utf16_to_utf8(out, odd0, 3), 1);
    ASSERT_EQ(text_utf16_strlen_bytes((const uint8_t *)"a\0b\0\0\0c\0", 8), 4);
    ASSERT_EQ(text_utf16_strlen_bytes(odd0, 3), 2);
    ASSERT_EQ(text_utf16_strlen_bytes(odd, 3), 3);
}

/* Reference UTF-16LE -> UTF-8, one unit at a time. */
static size_t ref_utf16(char *o, const uint8_t *s, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        uint32_t u = (uint32_t)s[i] | (uint32_t)s[i + 1] << 8;
        if (u == 0)
            return len;
        if (u >= 0xD800 && u <= 0xDBFF && i + 3 < n) {
            uint32_t v = (uint32_t)s[i + 2] | (uint32_t)s[i + 3] << 8;
            if (v >= 0xDC00 && v <= 0xDFFF) {
                len += text_utf8_put(o + len, 0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00));
                i += 2;
                continue;
            }
        }
        if (u >= 0xD800 && u <= 0xDFFF)
            u = 0xFFFD;
        len += text_utf8_put(o + len, u);
    }
    if (n % 2 && s[n - 1] != 0)
        len += text_utf8_put(o + len, 0xFFFD);
    return len;
}

TEST(text_utf16_fast_path_matches_reference)
{
    uint8_t in[200];
    char a[400], b[400];
    for (int iter = 0; iter < 100000; iter++) {
        size_t n = (size_t)(rnd() % 160);
        for (size_t i = 0; i < n; i += 2) {
            /* Mostly ASCII runs, some NULs, BMP, surrogates. */
            uint64_t r = rnd() % 100;
            uint16_t u = r < 80 ? (uint16_t)(0x20 + rnd() % 0x5f)
                       : r < 83 ? 0
                       : r < 90 ? (uint16_t)(rnd() & 0xFFFF)
                       : r < 95 ? (uint16_t)(0xD800 + rnd() % 0x400)
                                : (uint16_t)(0xDC00 + rnd() % 0x400);
            in[i] = (uint8_t)u;
            if (i + 1 < n)
                in[i + 1] = (uint8_t)(u >> 8);
        }
        size_t la = text_utf16_to_utf8(a, in, n);
        size_t lb = ref_utf16(b, in, n);
        ASSERT_MSG(la == lb && memcmp(a, b, la) == 0, "iteration %d: length %zu vs %zu", iter,
                   la, lb);
        ASSERT(la <= text_utf16_to_utf8_max(n));
        ASSERT(text_utf8_valid((const uint8_t *)a, la));
    }
}

TEST(text_utf8_validation_table_3_7)
{
    struct {
        const char *s;
        int valid;
    } cases[] = {
        {"plain ascii", 1},
        {"\xC3\xA9", 1},
        {"\xE2\x82\xAC", 1},
        {"\xF0\x9F\x98\x80", 1},
        {"\xF4\x8F\xBF\xBF", 1},        /* U+10FFFF */
        {"\xC0\x80", 0},                /* overlong NUL */
        {"\xC1\xBF", 0},                /* overlong */
        {"\xE0\x80\x80", 0},            /* overlong */
        {"\xE0\x9F\xBF", 0},            /* overlong */
        {"\xED\xA0\x80", 0},            /* surrogate D800 */
        {"\xED\x9F\xBF", 1},            /* U+D7FF */
        {"\xF0\x80\x80\x80", 0},        /* overlong */
        {"\xF4\x90\x80\x80", 0},        /* above U+10FFFF */
        {"\xF5\x80\x80\x80", 0},
        {"\xE2\x82", 0},                /* truncated */
        {"\x80", 0},                    /* lone continuation */
        {"\xFF", 0},
        {"abcdefgh\xC3", 0},            /* after a fast-path word */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ASSERT_MSG(text_utf8_valid((const uint8_t *)cases[i].s, strlen(cases[i].s)) ==
                       cases[i].valid,
                   "case %zu", i);
    uint32_t cp;
    ASSERT_EQ(text_utf8_decode((const uint8_t *)"\xF0\x9F\x98\x80", 4, &cp), 4);
    ASSERT_EQ(cp, 0x1F600);
    ASSERT_EQ(text_utf8_decode((const uint8_t *)"\xF0\x9F\x98", 3, &cp), 0);
}

static const char *repair(const char *s, size_t n)
{
    static char out[256];
    size_t len = text_utf8_repair(out, (const uint8_t *)s, n);
    out[len] = '\0';
    return out;
}

TEST(text_utf8_repair_maximal_subparts)
{
    /* The example of Unicode chapter 3 ("U+FFFD substitution of maximal subparts"). */
    const char in[] = "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64";
    ASSERT_STREQ(repair(in, sizeof in - 1), "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "b"
                                            "\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD" "d");
    ASSERT_STREQ(repair("\xC0\xAF", 2), "\xEF\xBF\xBD\xEF\xBF\xBD");
    ASSERT_STREQ(repair("\xED\xA0\x80", 3), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    ASSERT_STREQ(repair("ok\0gone", 7), "ok");
    ASSERT_STREQ(repair("\xE2\x82\xAC", 3), "\xE2\x82\xAC");
}

TEST(text_ansi_utf8_or_windows_1252)
{
    char out[64];
    size_t n = text_ansi_to_utf8(out, (const uint8_t *)"h\xC3\xA9llo", 6);
    ASSERT(n == 6 && memcmp(out, "h\xC3\xA9llo", 6) == 0);
    /* 0xE9 alone is not UTF-8: the whole string is read as Windows-1252. */
    n = text_ansi_to_utf8(out, (const uint8_t *)"caf\xE9 \xC3\xA9", 7);
    ASSERT_EQ(n, 10);
    ASSERT(memcmp(out, "caf\xC3\xA9 \xC3\x83\xC2\xA9", 10) == 0);
    n = text_ansi_to_utf8(out, (const uint8_t *)"\x80\x81\x9F\xFF", 4);
    ASSERT_EQ(n, 9);
    ASSERT(memcmp(out, "\xE2\x82\xAC\xC2\x81\xC5\xB8\xC3\xBF", 9) == 0);
    n = text_ansi_to_utf8(out, (const uint8_t *)"ab\0\xFF", 4);
    ASSERT_EQ(n, 2);
    /* Every byte value: the result is valid UTF-8. */
    uint8_t all[255];
    for (int i = 0; i < 255; i++)
        all[i] = (uint8_t)(i + 1);
    char big[1024];
    n = text_ansi_to_utf8(big, all, sizeof all);
    ASSERT(n <= text_ansi_to_utf8_max(sizeof all));
    ASSERT(text_utf8_valid((const uint8_t *)big, n));
    struct buf b = BUF_INIT;
    ASSERT_OK(text_ansi_to_buf(&b, (const uint8_t *)"\x80", 1));
    ASSERT_OK(text_utf16_to_buf(&b, (const uint8_t *)"x\0", 2));
    ASSERT_OK(text_utf8_repair_to_buf(&b, (const uint8_t *)"\xFF", 1));
    ASSERT_STREQ(buf_cstr(&b), "\xE2\x82\xACx\xEF\xBF\xBD");
    buf_free(&b);
}

TEST(text_base64_rfc4648_vectors)
{
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char enc[16];
    uint8_t dec[16];
    for (int i = 0; i < 7; i++) {
        size_t n = text_base64_encode(enc, (const uint8_t *)in[i], strlen(in[i]));
        ASSERT_EQ(n, text_base64_len(strlen(in[i])));
        enc[n] = '\0';
        ASSERT_STREQ(enc, out[i]);
        long long d = text_base64_decode(dec, out[i], strlen(out[i]));
        ASSERT_EQ(d, (long long)strlen(in[i]));
        ASSERT(memcmp(dec, in[i], (size_t)d) == 0);
    }
    ASSERT_EQ(text_base64_decode(dec, "Zm9v!", 5), ERR_FORMAT);
    ASSERT_EQ(text_base64_decode(dec, "Z", 1), ERR_FORMAT);
    uint8_t src[300], back[300];
    char txt[420];
    for (int iter = 0; iter < 2000; iter++) {
        size_t n = (size_t)(rnd() % 300);
        for (size_t i = 0; i < n; i++)
            src[i] = (uint8_t)rnd();
        size_t m = text_base64_encode(txt, src, n);
        ASSERT_EQ(text_base64_decode(back, txt, m), (long long)n);
        ASSERT(memcmp(src, back, n) == 0);
    }
}

/* The encoder (SIMD where the CPU has it) against a plain 6-bits-at-a-time one. */
TEST(text_base64_matches_reference_at_every_length)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t src[400];
    char got[600], want[600];
    for (int iter = 0; iter < 40; iter++) {
        for (size_t i = 0; i < sizeof src; i++)
            src[i] = (uint8_t)(iter == 0 ? 0xFF : iter == 1 ? 0 : rnd());
        for (size_t off = 0; off < 4; off++) {
            for (size_t n = 0; n + off <= sizeof src; n += 1 + (n > 64) * 7) {
                size_t w = 0, i = 0;
                for (; i + 3 <= n; i += 3) {
                    uint32_t v = (uint32_t)src[off + i] << 16 | (uint32_t)src[off + i + 1] << 8 |
                                 src[off + i + 2];
                    for (int k = 3; k >= 0; k--)
                        want[w++] = abc[(v >> (6 * k)) & 63];
                }
                if (n - i == 1) {
                    uint32_t v = (uint32_t)src[off + i] << 16;
                    want[w++] = abc[v >> 18];
                    want[w++] = abc[(v >> 12) & 63];
                    want[w++] = '=';
                    want[w++] = '=';
                } else if (n - i == 2) {
                    uint32_t v = (uint32_t)src[off + i] << 16 | (uint32_t)src[off + i + 1] << 8;
                    want[w++] = abc[v >> 18];
                    want[w++] = abc[(v >> 12) & 63];
                    want[w++] = abc[(v >> 6) & 63];
                    want[w++] = '=';
                }
                size_t m = text_base64_encode(got, src + off, n);
                ASSERT_EQ(m, w);
                ASSERT_MSG(memcmp(got, want, w) == 0, "length %zu, offset %zu, pass %d", n, off,
                           iter);
            }
        }
    }
}

TEST(text_integers_match_printf)
{
    char a[32], b[32];
    ASSERT_EQ(text_u64_dec(a, UINT64_MAX), 20);
    ASSERT(memcmp(a, "18446744073709551615", 20) == 0);
    ASSERT_EQ(text_i64_dec(a, INT64_MIN), 20);
    ASSERT(memcmp(a, "-9223372036854775808", 20) == 0);
    ASSERT_EQ(text_u64_dec(a, 0), 1);
    ASSERT_EQ(a[0], '0');
    ASSERT_EQ(text_u64_hex(a, 0), 3);
    ASSERT(memcmp(a, "0x0", 3) == 0);
    ASSERT_EQ(text_u64_hex(a, 0x8000000000000000ull), 18);
    ASSERT(memcmp(a, "0x8000000000000000", 18) == 0);
    for (int iter = 0; iter < 200000; iter++) {
        uint64_t v = rnd() >> (rnd() % 64);
        size_t n = text_u64_dec(a, v);
        int m = snprintf(b, sizeof b, "%" PRIu64, v);
        ASSERT(n == (size_t)m && memcmp(a, b, n) == 0);
        int64_t s = (int64_t)(rnd() >> (rnd() % 64));
        n = text_i64_dec(a, s);
        m = snprintf(b, sizeof b, "%" PRId64, s);
        ASSERT(n == (size_t)m && memcmp(a, b, n) == 0);
        n = text_u64_hex(a, v);
        m = snprintf(b, sizeof b, "0x%" PRIx64, v);
        ASSERT(n == (size_t)m && memcmp(a, b, n) == 0);
    }
    text_hex_bytes(a, (const uint8_t *)"\x00\xAB\xFF", 3);
    ASSERT(memcmp(a, "00abff", 6) == 0);
}

static const char *rfc(int64_t ft)
{
    static char out[TEXT_RFC3339_LEN + 1];
    int n = text_filetime_rfc3339(out, ft);
    if (n < 0)
        return "range";
    out[n] = '\0';
    return out;
}

TEST(text_filetime_rfc3339)
{
    ASSERT_STREQ(rfc(133245763580175449LL), "2023-03-29T15:12:38.0175449Z");
    ASSERT_STREQ(rfc(0), "1601-01-01T00:00:00.0000000Z");
    ASSERT_STREQ(rfc(116444736000000000LL), "1970-01-01T00:00:00.0000000Z");
    ASSERT_STREQ(rfc(TEXT_FILETIME_MAX - 1), "9999-12-31T23:59:59.9999999Z");
    ASSERT_STREQ(rfc(TEXT_FILETIME_MAX), "range");
    ASSERT_STREQ(rfc(-1), "range");
    ASSERT_STREQ(rfc(INT64_MAX), "range");
    ASSERT_EQ(text_civil_to_filetime(2024, 2, 29, 23, 59, 59, 999), 133537247999990000LL);
    ASSERT_STREQ(rfc(133537247999990000LL), "2024-02-29T23:59:59.9990000Z");
    /* Against the C library for the Unix era (time_t is 64-bit on the test hosts). */
    for (int iter = 0; iter < 100000; iter++) {
        int64_t secs = (int64_t)(rnd() % 8000000000ull); /* 1970 .. 2223 */
        unsigned frac = (unsigned)(rnd() % 10000000);
        int64_t ft = (secs + 11644473600LL) * 10000000LL + frac;
        time_t t = (time_t)secs;
        struct tm *tm = gmtime(&t);
        ASSERT(tm != NULL);
        char exp[64];
        snprintf(exp, sizeof exp, "%04d-%02d-%02dT%02d:%02d:%02d.%07uZ", tm->tm_year + 1900,
                 tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec, frac);
        ASSERT_STREQ(rfc(ft), exp);
        ASSERT_EQ(text_civil_to_filetime(tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday,
                                         tm->tm_hour, tm->tm_min, tm->tm_sec, 0),
                  ft - frac);
    }
}

static int st(int y, int mo, int d, int h, int mi, int s, int ms, int64_t *ft)
{
    uint16_t f[8] = {(uint16_t)y, (uint16_t)mo, 3, (uint16_t)d, (uint16_t)h, (uint16_t)mi,
                     (uint16_t)s, (uint16_t)ms};
    uint8_t raw[16];
    u16(raw, f, 8);
    return text_systemtime_to_filetime(raw, ft);
}

TEST(text_systemtime_to_filetime)
{
    int64_t ft = -1;
    ASSERT_OK(st(2023, 3, 29, 15, 12, 38, 17, &ft));
    ASSERT_STREQ(rfc(ft), "2023-03-29T15:12:38.0170000Z");
    ASSERT_OK(st(1601, 1, 1, 0, 0, 0, 0, &ft));
    ASSERT_EQ(ft, 0);
    ASSERT_OK(st(2024, 2, 29, 0, 0, 0, 0, &ft));
    ASSERT_EQ(st(2023, 2, 29, 0, 0, 0, 0, &ft), ERR_RANGE);
    ASSERT_EQ(st(1900, 2, 29, 0, 0, 0, 0, &ft), ERR_RANGE);
    ASSERT_OK(st(2000, 2, 29, 0, 0, 0, 0, &ft));
    ASSERT_EQ(st(2023, 13, 1, 0, 0, 0, 0, &ft), ERR_RANGE);
    ASSERT_EQ(st(2023, 4, 31, 0, 0, 0, 0, &ft), ERR_RANGE);
    ASSERT_EQ(st(2023, 1, 1, 24, 0, 0, 0, &ft), ERR_RANGE);
    ASSERT_EQ(st(2023, 1, 1, 0, 0, 0, 1000, &ft), ERR_RANGE);
    ASSERT_EQ(st(1600, 12, 31, 0, 0, 0, 0, &ft), ERR_RANGE);
    ASSERT_OK(st(30827, 12, 31, 23, 59, 59, 999, &ft));
    ASSERT(ft > TEXT_FILETIME_MAX);
    /* All zero (day of week included) is "not set"; zero fields with a weekday are not. */
    const uint8_t zero[16] = {0};
    ft = 5;
    ASSERT_OK(text_systemtime_to_filetime(zero, &ft));
    ASSERT_EQ(ft, 0);
    ASSERT_EQ(st(0, 0, 0, 0, 0, 0, 0, &ft), ERR_RANGE);
}

static const char *sid(const uint8_t *b, size_t n)
{
    static char out[TEXT_SID_MAX + 1];
    int len = text_sid_format(out, b, n);
    if (len < 0)
        return "bad";
    out[len] = '\0';
    return out;
}

TEST(text_sid_strings)
{
    const uint8_t system[] = {1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0};
    ASSERT_STREQ(sid(system, sizeof system), "S-1-5-18");
    ASSERT_EQ(text_sid_size(system, sizeof system), 12);
    /* S-1-5-21-1004336348-1177238915-682003330-512 */
    const uint8_t dom[] = {1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 0xDC, 0xF4, 0xDC, 0x3B,
                           0x83, 0x3D, 0x2B, 0x46, 0x82, 0x8B, 0xA6, 0x28, 0x00, 0x02, 0, 0};
    ASSERT_STREQ(sid(dom, sizeof dom), "S-1-5-21-1004336348-1177238915-682003330-512");
    const uint8_t world[] = {1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xAA};
    ASSERT_STREQ(sid(world, sizeof world), "S-1-1-0");
    const uint8_t bigauth[] = {1, 0, 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC};
    ASSERT_STREQ(sid(bigauth, sizeof bigauth), "S-1-0x123456789abc");
    ASSERT_STREQ(sid(dom, sizeof dom - 1), "bad");
    ASSERT_STREQ(sid(dom, 7), "bad");
    uint8_t many[8 + 4 * 16] = {1, 16};
    ASSERT_STREQ(sid(many, sizeof many), "bad");
    /* The longest SID fits TEXT_SID_MAX. */
    uint8_t maxsid[8 + 4 * 15];
    memset(maxsid, 0xFF, sizeof maxsid);
    maxsid[0] = 255;
    maxsid[1] = 15;
    ASSERT(strlen(sid(maxsid, sizeof maxsid)) <= TEXT_SID_MAX);
}

static const char *v6(const char *hex32)
{
    static char out[TEXT_IPV6_MAX + 1];
    uint8_t a[16];
    for (int i = 0; i < 16; i++) {
        unsigned v;
        sscanf(hex32 + 2 * i, "%2x", &v);
        a[i] = (uint8_t)v;
    }
    size_t n = text_ipv6_format(out, a);
    out[n] = '\0';
    return out;
}

TEST(text_ip_addresses_rfc5952)
{
    char out[32];
    const uint8_t lo[4] = {127, 0, 0, 1};
    out[text_ipv4_format(out, lo)] = '\0';
    ASSERT_STREQ(out, "127.0.0.1");
    const uint8_t bc[4] = {255, 255, 255, 255};
    out[text_ipv4_format(out, bc)] = '\0';
    ASSERT_STREQ(out, "255.255.255.255");
    ASSERT_STREQ(v6("00000000000000000000000000000000"), "::");
    ASSERT_STREQ(v6("00000000000000000000000000000001"), "::1");
    ASSERT_STREQ(v6("20010db8000000000000000000000001"), "2001:db8::1");
    ASSERT_STREQ(v6("20010db8000000000001000000000001"), "2001:db8::1:0:0:1");
    ASSERT_STREQ(v6("20010db8000000010001000100010001"), "2001:db8:0:1:1:1:1:1");
    ASSERT_STREQ(v6("20010db8000000000000000100000000"), "2001:db8::1:0:0");
    ASSERT_STREQ(v6("fe800000000000000000000000000000"), "fe80::");
    ASSERT_STREQ(v6("00000000000000000000ffffc0000201"), "::ffff:192.0.2.1");
    ASSERT_STREQ(v6("ffffffffffffffffffffffffffffffff"),
                 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    ASSERT_STREQ(v6("00010000000000000000000000000000"), "1::");
    ASSERT_STREQ(v6("00000001000000000000000000000000"), "0:1::");
}
