/*
 * text: encoding conversions and fixed-format text (see text.h).
 *
 * The hot conversions (UTF-16 -> UTF-8, integers, timestamps) avoid printf
 * and per-character branches where they can: digit-pair tables, and for
 * ASCII runs a word-at-a-time test on little-endian hosts.
 */
#include "text.h"

#include <string.h>

#include "err.h"

/* ---- Tables ------------------------------------------------------------ */

#define D10(a) a "0" a "1" a "2" a "3" a "4" a "5" a "6" a "7" a "8" a "9"
const char text_digits2[200] = D10("0") D10("1") D10("2") D10("3") D10("4") D10("5") D10("6")
    D10("7") D10("8") D10("9");
#undef D10

#define H16(a) a "0" a "1" a "2" a "3" a "4" a "5" a "6" a "7" a "8" a "9" a "a" a "b" a "c" \
    a "d" a "e" a "f"
const char text_hex2[512] = H16("0") H16("1") H16("2") H16("3") H16("4") H16("5") H16("6")
    H16("7") H16("8") H16("9") H16("a") H16("b") H16("c") H16("d") H16("e") H16("f");
#undef H16

#define L8(b) b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7
const uint16_t text_cp1252_high[128] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    L8(0xA0), L8(0xA8), L8(0xB0), L8(0xB8), L8(0xC0), L8(0xC8), L8(0xD0), L8(0xD8),
    L8(0xE0), L8(0xE8), L8(0xF0), L8(0xF8),
};
#undef L8

/* ---- UTF-8 ------------------------------------------------------------- */

/* Table 3-7 of the Unicode standard, as one loop with per-lead-byte bounds. */
int text_utf8_step(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t b = p[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    uint8_t lo = 0x80, hi = 0xBF;
    int len;
    uint32_t c;
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
        c = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        c = b & 0x0F;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        c = b & 0x07;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else {
        return -1;
    }
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n || p[i] < lo || p[i] > hi)
            return -i;
        c = c << 6 | (p[i] & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = c;
    return len;
}

size_t text_utf8_decode(const uint8_t *p, size_t n, uint32_t *cp)
{
    int r = text_utf8_step(p, n, cp);
    return r > 0 ? (size_t)r : 0;
}

#if TEXT_LITTLE_ENDIAN
static inline uint64_t load64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}
#endif

int text_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
#if TEXT_LITTLE_ENDIAN
        while (i + 8 <= n && (load64(p + i) & 0x8080808080808080ull) == 0)
            i += 8;
        if (i >= n)
            break;
#endif
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        int r = text_utf8_step(p + i, n - i, &cp);
        if (r < 0)
            return 0;
        i += (size_t)r;
    }
    return 1;
}

size_t text_strnlen(const uint8_t *p, size_t n)
{
    const uint8_t *z = memchr(p, 0, n);
    return z ? (size_t)(z - p) : n;
}

size_t text_utf8_repair(char *dst, const uint8_t *src, size_t n)
{
    n = text_strnlen(src, n);
    size_t i = 0, o = 0;
    while (i < n) {
        uint32_t cp;
        int r = text_utf8_step(src + i, n - i, &cp);
        if (r > 0) {
            memcpy(dst + o, src + i, (size_t)r);
            o += (size_t)r;
            i += (size_t)r;
        } else {
            o += text_utf8_put(dst + o, 0xFFFD);
            i += (size_t)-r;
        }
    }
    return o;
}

/* ---- UTF-16 ------------------------------------------------------------ */

size_t text_utf16_strlen_bytes(const uint8_t *p, size_t nbytes)
{
    size_t i = 0;
    for (; i + 1 < nbytes; i += 2)
        if ((p[i] | p[i + 1]) == 0)
            return i;
    if (i < nbytes && p[i] == 0)
        return i;
    return nbytes;
}

size_t text_utf16_to_utf8(char *dst, const uint8_t *src, size_t nbytes)
{
    size_t i = 0, o = 0;
    while (i + 1 < nbytes) {
#if TEXT_LITTLE_ENDIAN
        /* Four ASCII units (no NUL) at a time: high bytes zero, low bytes 0x01..0x7f. */
        while (i + 8 <= nbytes) {
            uint64_t w = load64(src + i);
            if ((w & 0xFF80FF80FF80FF80ull) != 0 ||
                ((w - 0x0001000100010001ull) & ~w & 0x8000800080008000ull) != 0)
                break;
            uint32_t four = (uint32_t)((w & 0xFF) | ((w >> 8) & 0xFF00) |
                                       ((w >> 16) & 0xFF0000) | ((w >> 24) & 0xFF000000));
            memcpy(dst + o, &four, 4);
            o += 4;
            i += 8;
        }
        if (i + 1 >= nbytes)
            break;
#endif
        uint32_t u = (uint32_t)src[i] | (uint32_t)src[i + 1] << 8;
        i += 2;
        if (u == 0)
            return o;
        if (u < 0x80) {
            dst[o++] = (char)u;
        } else if (u < 0xD800 || u > 0xDFFF) {
            o += text_utf8_put(dst + o, u);
        } else if (u <= 0xDBFF && i + 1 < nbytes) {
            uint32_t u2 = (uint32_t)src[i] | (uint32_t)src[i + 1] << 8;
            if (u2 >= 0xDC00 && u2 <= 0xDFFF) {
                i += 2;
                o += text_utf8_put(dst + o, 0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00));
            } else {
                o += text_utf8_put(dst + o, 0xFFFD);
            }
        } else {
            o += text_utf8_put(dst + o, 0xFFFD);
        }
    }
    /* An odd trailing byte is half a code unit: replace it unless it is a NUL. */
    if (i < nbytes && i + 1 == nbytes && src[i] != 0)
        o += text_utf8_put(dst + o, 0xFFFD);
    return o;
}

/* ---- ANSI -------------------------------------------------------------- */

static size_t cp1252_to_utf8(char *dst, const uint8_t *src, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = src[i];
        if (b < 0x80)
            dst[o++] = (char)b;
        else
            o += text_utf8_put(dst + o, text_cp1252_high[b - 0x80]);
    }
    return o;
}

size_t text_ansi_to_utf8(char *dst, const uint8_t *src, size_t n)
{
    n = text_strnlen(src, n);
    if (text_utf8_valid(src, n)) {
        if (n)
            memcpy(dst, src, n);
        return n;
    }
    return cp1252_to_utf8(dst, src, n);
}

int text_utf16_to_buf(struct buf *out, const uint8_t *src, size_t nbytes)
{
    int rc = buf_reserve(out, text_utf16_to_utf8_max(nbytes));
    if (rc)
        return rc;
    out->len += text_utf16_to_utf8(out->p + out->len, src, nbytes);
    return 0;
}

int text_ansi_to_buf(struct buf *out, const uint8_t *src, size_t n)
{
    int rc = buf_reserve(out, text_ansi_to_utf8_max(n));
    if (rc)
        return rc;
    out->len += text_ansi_to_utf8(out->p + out->len, src, n);
    return 0;
}

int text_utf8_repair_to_buf(struct buf *out, const uint8_t *src, size_t n)
{
    int rc = buf_reserve(out, n * 3);
    if (rc)
        return rc;
    out->len += text_utf8_repair(out->p + out->len, src, n);
    return 0;
}

/* ---- base64 ------------------------------------------------------------ */

static const char b64_alphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * The two base64 characters of every 12-bit value, built by the compiler
 * (B64C is a constant expression): undecoded events show their whole
 * payload in base64, so the encoder turns 12 bits into two characters with
 * one lookup.
 */
#define B64C(v)                                                                                  \
    (char)((v) < 26 ? 'A' + (v) : (v) < 52 ? 'a' + (v)-26 : (v) < 62 ? '0' + (v)-52           \
                                                         : (v) == 62 ? '+' : '/')
#define B64P(x) {B64C((x) >> 6), B64C((x)&63)}
#define B64P4(x) B64P(x), B64P((x) + 1), B64P((x) + 2), B64P((x) + 3)
#define B64P16(x) B64P4(x), B64P4((x) + 4), B64P4((x) + 8), B64P4((x) + 12)
#define B64P64(x) B64P16(x), B64P16((x) + 16), B64P16((x) + 32), B64P16((x) + 48)
#define B64P256(x) B64P64(x), B64P64((x) + 64), B64P64((x) + 128), B64P64((x) + 192)
#define B64P1024(x) B64P256(x), B64P256((x) + 256), B64P256((x) + 512), B64P256((x) + 768)
static const char b64_pairs[4096][2] = {B64P1024(0), B64P1024(1024), B64P1024(2048),
                                        B64P1024(3072)};

/*
 * SSSE3: 12 input bytes to 16 characters per step (16 bytes must be
 * readable), the usual shuffle / multiply split into 6-bit indices and a
 * pshufb table of offsets per index range ('A', 'a', '0', '+', '/').
 * SSSE3 is not in the x86-64 baseline, so the function is compiled for it
 * alone and chosen at run time.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(ETWHOST_NO_SIMD)
#include <tmmintrin.h>
#define TEXT_B64_SSSE3 1

__attribute__((target("ssse3"))) static size_t b64_ssse3(char *dst, const uint8_t *src,
                                                          size_t n, size_t *consumed)
{
    const __m128i shuf = _mm_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1);
    const __m128i lut = _mm_setr_epi8('a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                                      '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                                      '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
    size_t i = 0, o = 0;
    for (; n - i >= 16; i += 12, o += 16) {
        __m128i in = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(src + i)),
                                      shuf);
        __m128i t0 = _mm_and_si128(in, _mm_set1_epi32(0x0fc0fc00));
        __m128i t1 = _mm_mulhi_epu16(t0, _mm_set1_epi32(0x04000040));
        __m128i t2 = _mm_and_si128(in, _mm_set1_epi32(0x003f03f0));
        __m128i t3 = _mm_mullo_epi16(t2, _mm_set1_epi32(0x01000010));
        __m128i idx = _mm_or_si128(t1, t3);
        __m128i red = _mm_subs_epu8(idx, _mm_set1_epi8(51));
        __m128i less = _mm_cmpgt_epi8(_mm_set1_epi8(26), idx);
        red = _mm_or_si128(red, _mm_and_si128(less, _mm_set1_epi8(13)));
        __m128i out = _mm_add_epi8(_mm_shuffle_epi8(lut, red), idx);
        _mm_storeu_si128((__m128i *)(void *)(dst + o), out);
    }
    *consumed = i;
    return o;
}

/*
 * AVX2: the same steps on 24 input bytes (two 12-byte groups, one per
 * 128-bit lane) to 32 characters (28 bytes must be readable).  Not on
 * Windows: gcc there does not align the stack for 32-byte spills.
 */
#if !defined(_WIN32)
#include <immintrin.h>
#define TEXT_B64_AVX2 1

__attribute__((target("avx2"))) static size_t b64_avx2(char *dst, const uint8_t *src, size_t n,
                                                        size_t *consumed)
{
    const __m256i shuf = _mm256_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1, 10,
                                         11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1);
    const __m256i lut = _mm256_setr_epi8(
        'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
        '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0, 'a' - 26, '0' - 52, '0' - 52, '0' - 52,
        '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63,
        'A', 0, 0);
    size_t i = 0, o = 0;
    for (; n - i >= 28; i += 24, o += 32) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(src + i + 12));
        __m256i in = _mm256_shuffle_epi8(
            _mm256_inserti128_si256(_mm256_castsi128_si256(a), b, 1), shuf);
        __m256i t0 = _mm256_and_si256(in, _mm256_set1_epi32(0x0fc0fc00));
        __m256i t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
        __m256i t2 = _mm256_and_si256(in, _mm256_set1_epi32(0x003f03f0));
        __m256i t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
        __m256i idx = _mm256_or_si256(t1, t3);
        __m256i red = _mm256_subs_epu8(idx, _mm256_set1_epi8(51));
        __m256i less = _mm256_cmpgt_epi8(_mm256_set1_epi8(26), idx);
        red = _mm256_or_si256(red, _mm256_and_si256(less, _mm256_set1_epi8(13)));
        __m256i out = _mm256_add_epi8(_mm256_shuffle_epi8(lut, red), idx);
        _mm256_storeu_si256((__m256i *)(void *)(dst + o), out);
    }
    *consumed = i;
    return o;
}
#endif

/* 2 with AVX2 (where compiled), 1 with SSSE3, else 0. */
static int b64_simd_level(void)
{
    static int level = -1; /* benign race: every thread computes the same value */
    if (level < 0) {
        __builtin_cpu_init();
        level = __builtin_cpu_supports("ssse3") ? 1 : 0;
#if defined(TEXT_B64_AVX2)
        if (level && __builtin_cpu_supports("avx2"))
            level = 2;
#endif
    }
    return level;
}
#endif

size_t text_base64_encode(char *dst, const uint8_t *src, size_t n)
{
    size_t i = 0, o = 0;
#if defined(TEXT_B64_SSSE3)
    int simd = n >= 16 ? b64_simd_level() : 0;
#if defined(TEXT_B64_AVX2)
    if (simd == 2 && n >= 28)
        o = b64_avx2(dst, src, n, &i);
#endif
    if (simd && n - i >= 16) {
        size_t used;
        o += b64_ssse3(dst + o, src + i, n - i, &used);
        i += used;
    }
#endif
    /* Six input bytes per step, read as one big-endian word (8 bytes must be readable). */
    for (; i + 8 <= n; i += 6) {
        uint64_t w;
        memcpy(&w, src + i, 8);
#if TEXT_LITTLE_ENDIAN && (defined(__GNUC__) || defined(__clang__))
        w = __builtin_bswap64(w);
#elif TEXT_LITTLE_ENDIAN
        w = (w >> 56) | ((w >> 40) & 0xFF00u) | ((w >> 24) & 0xFF0000u) |
            ((w >> 8) & 0xFF000000u) | ((w & 0xFF000000u) << 8) | ((w & 0xFF0000u) << 24) |
            ((w & 0xFF00u) << 40) | (w << 56);
#endif
        memcpy(dst + o, b64_pairs[w >> 52], 2);
        memcpy(dst + o + 2, b64_pairs[(w >> 40) & 0xFFF], 2);
        memcpy(dst + o + 4, b64_pairs[(w >> 28) & 0xFFF], 2);
        memcpy(dst + o + 6, b64_pairs[(w >> 16) & 0xFFF], 2);
        o += 8;
    }
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
        dst[o] = b64_alphabet[v >> 18];
        dst[o + 1] = b64_alphabet[(v >> 12) & 63];
        dst[o + 2] = b64_alphabet[(v >> 6) & 63];
        dst[o + 3] = b64_alphabet[v & 63];
        o += 4;
    }
    if (i < n) {
        uint32_t v = (uint32_t)src[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)src[i + 1] << 8;
        dst[o] = b64_alphabet[v >> 18];
        dst[o + 1] = b64_alphabet[(v >> 12) & 63];
        dst[o + 2] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
        dst[o + 3] = '=';
        o += 4;
    }
    return o;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

long long text_base64_decode(uint8_t *dst, const char *src, size_t len)
{
    while (len > 0 && src[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return ERR_FORMAT;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value(src[i]);
        if (v < 0)
            return ERR_FORMAT;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            dst[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (long long)o;
}

/* ---- Integers ---------------------------------------------------------- */

static inline unsigned dec_digits(uint64_t v)
{
    unsigned n = 1;
    for (;;) {
        if (v < 10) return n;
        if (v < 100) return n + 1;
        if (v < 1000) return n + 2;
        if (v < 10000) return n + 3;
        v /= 10000;
        n += 4;
    }
}

size_t text_u64_dec(char *dst, uint64_t v)
{
    unsigned n = dec_digits(v);
    char *p = dst + n;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, text_digits2 + r * 2, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, text_digits2 + v * 2, 2);
    } else {
        *--p = (char)('0' + v);
    }
    return n;
}

size_t text_i64_dec(char *dst, int64_t v)
{
    if (v < 0) {
        dst[0] = '-';
        return 1 + text_u64_dec(dst + 1, 0 - (uint64_t)v);
    }
    return text_u64_dec(dst, (uint64_t)v);
}

size_t text_u64_hex(char *dst, uint64_t v)
{
#if defined(__GNUC__) || defined(__clang__)
    unsigned nib = v ? (unsigned)(67 - __builtin_clzll(v)) / 4 : 1;
#else
    unsigned nib = 1;
    for (uint64_t t = v >> 4; t; t >>= 4)
        nib++;
#endif
    /* All 16 digits two at a time from the byte table, then keep the significant ones. */
    char all[16];
    for (int k = 7; k >= 0; k--) {
        memcpy(all + 2 * k, text_hex2 + 2 * (v & 0xFF), 2);
        v >>= 8;
    }
    dst[0] = '0';
    dst[1] = 'x';
    memcpy(dst + 2, all + 16 - nib, nib);
    return 2 + nib;
}

void text_hex_bytes(char *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        memcpy(dst + 2 * i, text_hex2 + 2 * src[i], 2);
}

/* ---- Time -------------------------------------------------------------- */

/* Days between 1601-01-01 and 1970-01-01. */
#define DAYS_1601_TO_1970 134774LL
#define TICKS_PER_SEC 10000000LL
#define TICKS_PER_DAY (86400LL * TICKS_PER_SEC)

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int64_t text_civil_to_filetime(int year, int month, int day, int hour, int minute, int second,
                               int ms)
{
    int64_t days = days_from_civil(year, (unsigned)month, (unsigned)day) + DAYS_1601_TO_1970;
    return days * TICKS_PER_DAY +
           ((int64_t)hour * 3600 + (int64_t)minute * 60 + second) * TICKS_PER_SEC +
           (int64_t)ms * 10000;
}

int text_filetime_rfc3339(char *dst, int64_t ft)
{
    if (ft < 0 || ft >= TEXT_FILETIME_MAX)
        return ERR_RANGE;
    int64_t days = ft / TICKS_PER_DAY;
    int64_t rem = ft % TICKS_PER_DAY;
    unsigned secs = (unsigned)(rem / TICKS_PER_SEC);
    unsigned frac = (unsigned)(rem % TICKS_PER_SEC);
    int64_t y;
    unsigned m, d;
    civil_from_days(days - DAYS_1601_TO_1970, &y, &m, &d);
    unsigned yy = (unsigned)y;
    memcpy(dst, text_digits2 + (yy / 100) * 2, 2);
    memcpy(dst + 2, text_digits2 + (yy % 100) * 2, 2);
    dst[4] = '-';
    memcpy(dst + 5, text_digits2 + m * 2, 2);
    dst[7] = '-';
    memcpy(dst + 8, text_digits2 + d * 2, 2);
    dst[10] = 'T';
    memcpy(dst + 11, text_digits2 + (secs / 3600) * 2, 2);
    dst[13] = ':';
    memcpy(dst + 14, text_digits2 + (secs / 60 % 60) * 2, 2);
    dst[16] = ':';
    memcpy(dst + 17, text_digits2 + (secs % 60) * 2, 2);
    dst[19] = '.';
    dst[20] = (char)('0' + frac / 1000000);
    frac %= 1000000;
    memcpy(dst + 21, text_digits2 + (frac / 10000) * 2, 2);
    memcpy(dst + 23, text_digits2 + (frac / 100 % 100) * 2, 2);
    memcpy(dst + 25, text_digits2 + (frac % 100) * 2, 2);
    dst[27] = 'Z';
    return TEXT_RFC3339_LEN;
}

static int is_leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int text_systemtime_to_filetime(const uint8_t raw[16], int64_t *ft)
{
    unsigned f[8];
    unsigned any = 0;
    for (int i = 0; i < 8; i++) {
        f[i] = (unsigned)raw[2 * i] | (unsigned)raw[2 * i + 1] << 8;
        any |= f[i];
    }
    if (any == 0) {
        *ft = 0;
        return 0;
    }
    static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y = f[0], m = f[1], d = f[3];
    if (y < 1601 || y > 30827 || m < 1 || m > 12 || d < 1 ||
        d > mdays[m - 1] + (unsigned)(m == 2 && is_leap(y)) || f[4] > 23 || f[5] > 59 || f[6] > 59 ||
        f[7] > 999)
        return ERR_RANGE;
    *ft = text_civil_to_filetime((int)y, (int)m, (int)d, (int)f[4], (int)f[5], (int)f[6],
                                 (int)f[7]);
    return 0;
}

/* ---- SID and addresses --------------------------------------------------- */

size_t text_sid_size(const uint8_t *sid, size_t size)
{
    if (size < 8 || sid[1] > 15 || size < 8 + 4 * (size_t)sid[1])
        return 0;
    return 8 + 4 * (size_t)sid[1];
}

int text_sid_format(char *dst, const uint8_t *sid, size_t size)
{
    if (text_sid_size(sid, size) == 0)
        return ERR_FORMAT;
    size_t o = 0;
    dst[o++] = 'S';
    dst[o++] = '-';
    o += text_u64_dec(dst + o, sid[0]);
    dst[o++] = '-';
    uint64_t auth = 0;
    for (int i = 2; i < 8; i++)
        auth = auth << 8 | sid[i];
    if (auth >> 32) {
        dst[o++] = '0';
        dst[o++] = 'x';
        text_hex_bytes(dst + o, sid + 2, 6);
        o += 12;
    } else {
        o += text_u64_dec(dst + o, auth);
    }
    for (unsigned k = 0; k < sid[1]; k++) {
        const uint8_t *p = sid + 8 + 4 * k;
        uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        dst[o++] = '-';
        o += text_u64_dec(dst + o, v);
    }
    return (int)o;
}

size_t text_ipv4_format(char *dst, const uint8_t addr[4])
{
    size_t o = 0;
    for (int i = 0; i < 4; i++) {
        if (i)
            dst[o++] = '.';
        o += text_u64_dec(dst + o, addr[i]);
    }
    return o;
}

size_t text_ipv6_format(char *dst, const uint8_t addr[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(addr, mapped, 12) == 0) {
        memcpy(dst, "::ffff:", 7);
        return 7 + text_ipv4_format(dst + 7, addr + 12);
    }
    unsigned g[8];
    for (int i = 0; i < 8; i++)
        g[i] = (unsigned)addr[2 * i] << 8 | addr[2 * i + 1];
    /* The longest run of zero groups, first on ties; runs of one are not compressed. */
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (g[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    if (best_len < 2)
        best = -1;
    size_t o = 0;
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            dst[o++] = ':';
            dst[o++] = ':';
            i += best_len - 1;
            continue;
        }
        if (i > 0 && i != best + best_len)
            dst[o++] = ':';
        /* Hex without leading zeros. */
        unsigned v = g[i];
        int started = 0;
        for (int s = 12; s >= 0; s -= 4) {
            unsigned nib = (v >> s) & 15;
            if (nib || started || s == 0) {
                dst[o++] = "0123456789abcdef"[nib];
                started = 1;
            }
        }
    }
    return o;
}
