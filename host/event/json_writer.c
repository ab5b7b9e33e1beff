/*
 * json_writer: the canonical JSON line of an event (docs/event-json.md).
 *
 * Speed matters here: every event a sink writes passes through this file.
 * The writer therefore works in two passes over the event:
 *
 *  1. json_bound() computes an upper bound of the output size (every byte
 *     of a string may become a 6-byte \u00XX escape, every number its
 *     longest form, ...), and the output buffer is reserved once;
 *  2. the render pass writes through a raw char pointer with no bounds
 *     checks and no calls into printf for integers, GUIDs or timestamps.
 *
 * String conversion and escaping are fused: UTF-16LE, ANSI and UTF-8 input
 * is converted, repaired and escaped in one loop, with a word-at-a-time fast
 * path for runs of characters that need neither conversion nor escaping.
 */
#include "event.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/err.h"
#include "../core/mem.h"
#include "../core/text.h"
#include "../schema/schema.h"

/* ---- Escaping ---------------------------------------------------------- */

/*
 * For each ASCII byte: 0 if it is copied as it is, otherwise the character
 * after the backslash ('u' for the \u00XX form).
 */
static const char esc_tab[128] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    0, 0, '"', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\\', 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

#define PUTLIT(o, s) (memcpy((o), (s), sizeof(s) - 1), (o) += sizeof(s) - 1)

/* Escape ASCII byte c (esc_tab[c] != 0). */
static inline char *put_esc(char *o, unsigned c)
{
    char e = esc_tab[c];
    o[0] = '\\';
    if (e != 'u') {
        o[1] = e;
        return o + 2;
    }
    memcpy(o + 1, "u00", 3);
    o[4] = "0123456789abcdef"[c >> 4];
    o[5] = "0123456789abcdef"[c & 15];
    return o + 6;
}

/*
 * Fast paths: find the run of "plain" input at the front of a string (bytes
 * or UTF-16 units that are ASCII, not control characters, not '"' or '\\')
 * and copy it in blocks.  With SSE2 (every x86-64) 16 input bytes are
 * tested per step; elsewhere 8 bytes per step with SWAR tricks.  The block
 * stores may write a few bytes past the plain run: the callers' reservation
 * (at least one output byte per input byte still to read) covers them, and
 * the bytes are overwritten by what comes next.  Loads never go past the
 * input: short tails are assembled into a zeroed word.
 */
#if (defined(__SSE2__) || defined(_M_X64)) && !defined(ETWHOST_NO_SIMD)
#define JSON_SSE2 1
#include <emmintrin.h>
#else
#define JSON_SSE2 0
#endif
/* ETWHOST_NO_SWAR builds the byte-at-a-time fallback (to test it on any host). */
#if TEXT_LITTLE_ENDIAN && !defined(ETWHOST_NO_SWAR)
#define JSON_SWAR 1
#else
#define JSON_SWAR 0
#endif

static inline unsigned ctz64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    while ((x & 1) == 0) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

#if JSON_SWAR
#define ONES8 0x0101010101010101ull
#define HIGH8 0x8080808080808080ull
#define ONES16 0x0001000100010001ull
#define HIGH16 0x8000800080008000ull

static inline uint64_t ld64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

/*
 * Bit 7 of each byte of the result flags a byte of w that is not plain.
 * Only the lowest flag is exact (borrows can set flags above a true one),
 * which is all a "first non-plain byte" search needs.
 */
static inline uint64_t bad8(uint64_t w)
{
    uint64_t ctl = (w - ONES8 * 0x20) & ~w;
    uint64_t quo = w ^ (ONES8 * 0x22);
    uint64_t bsl = w ^ (ONES8 * 0x5C);
    quo = (quo - ONES8) & ~quo;
    bsl = (bsl - ONES8) & ~bsl;
    return (w | ctl | quo | bsl) & HIGH8;
}

/* The same for four UTF-16 units: bit 15 of each lane. */
static inline uint64_t bad16(uint64_t w)
{
    uint64_t hi = w & 0xFF80FF80FF80FF80ull;
    hi = ((hi & 0x7FFF7FFF7FFF7FFFull) + 0x7FFF7FFF7FFF7FFFull) | hi;
    uint64_t ctl = (w - ONES16 * 0x20) & ~w;
    uint64_t quo = w ^ (ONES16 * 0x22);
    uint64_t bsl = w ^ (ONES16 * 0x5C);
    quo = (quo - ONES16) & ~quo;
    bsl = (bsl - ONES16) & ~bsl;
    return (hi | ctl | quo | bsl) & HIGH16;
}

/*
 * Load r (1..7) bytes into the low bytes of a zeroed word, and store them
 * back, with at most two overlapping loads/stores: building the word byte by
 * byte on the stack would stall on store-to-load forwarding.
 */
static inline uint64_t load_tail(const uint8_t *p, size_t r)
{
    if (r >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + r - 4, 4);
        return (uint64_t)lo | (uint64_t)hi << (8 * (r - 4));
    }
    if (r >= 2) {
        uint16_t lo, hi;
        memcpy(&lo, p, 2);
        memcpy(&hi, p + r - 2, 2);
        return (uint64_t)lo | (uint64_t)hi << (8 * (r - 2));
    }
    return p[0];
}

static inline void store_tail(char *o, uint64_t w, size_t r)
{
    if (r >= 4) {
        uint32_t lo = (uint32_t)w, hi = (uint32_t)(w >> (8 * (r - 4)));
        memcpy(o, &lo, 4);
        memcpy(o + r - 4, &hi, 4);
    } else if (r >= 2) {
        uint16_t lo = (uint16_t)w, hi = (uint16_t)(w >> (8 * (r - 2)));
        memcpy(o, &lo, 2);
        memcpy(o + r - 2, &hi, 2);
    } else {
        o[0] = (char)w;
    }
}

/* The low bytes of four 16-bit lanes, packed. */
static inline uint32_t pack4(uint64_t w)
{
    return (uint32_t)((w & 0xFF) | ((w >> 8) & 0xFF00) | ((w >> 16) & 0xFF0000) |
                      ((w >> 24) & 0xFF000000));
}
#endif

/* Copy the plain bytes at the front of s[0..n) to o; returns how many there are. */
static inline size_t plain_bytes(char *o, const uint8_t *s, size_t n)
{
    size_t i = 0;
#if JSON_SSE2
    const __m128i c20 = _mm_set1_epi8(0x20), cq = _mm_set1_epi8('"'),
                  cb = _mm_set1_epi8('\\');
    while (n - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        /* Signed compare: bytes >= 0x80 are negative, so one test covers them and controls. */
        __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, c20),
                                   _mm_or_si128(_mm_cmpeq_epi8(v, cq), _mm_cmpeq_epi8(v, cb)));
        _mm_storeu_si128((__m128i *)(void *)(o + i), v);
        unsigned m = (unsigned)_mm_movemask_epi8(bad);
        if (m)
            return i + ctz64(m);
        i += 16;
    }
#endif
#if JSON_SWAR
    while (n - i >= 8) {
        uint64_t w = ld64(s + i);
        memcpy(o + i, &w, 8);
        uint64_t m = bad8(w);
        if (m)
            return i + (ctz64(m) >> 3);
        i += 8;
    }
    if (i < n) {
        size_t r = n - i;
        uint64_t w = load_tail(s + i, r);
        store_tail(o + i, w, r);
        uint64_t m = bad8(w) & ((1ull << (8 * r)) - 1);
        return m ? i + (ctz64(m) >> 3) : n;
    }
    return i;
#else
    while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\') {
        o[i] = (char)s[i];
        i++;
    }
    return i;
#endif
}

/* Copy the plain UTF-16 units at the front of s (units of them) to o as bytes; returns how many. */
static inline size_t plain_units(char *o, const uint8_t *s, size_t units)
{
    size_t i = 0;
#if JSON_SSE2
    const __m128i c20 = _mm_set1_epi16(0x20), c7f = _mm_set1_epi16(0x7F),
                  cq = _mm_set1_epi16('"'), cb = _mm_set1_epi16('\\');
    while (units - i >= 8) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + 2 * i));
        /* Signed compares: units >= 0x8000 are negative and count as "< 0x20". */
        __m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmplt_epi16(v, c20), _mm_cmpgt_epi16(v, c7f)),
                                   _mm_or_si128(_mm_cmpeq_epi16(v, cq), _mm_cmpeq_epi16(v, cb)));
        _mm_storel_epi64((__m128i *)(void *)(o + i), _mm_packus_epi16(v, v));
        unsigned m = (unsigned)_mm_movemask_epi8(bad);
        if (m)
            return i + ctz64(m) / 2;
        i += 8;
    }
#endif
#if JSON_SWAR
    while (units - i >= 4) {
        uint64_t w = ld64(s + 2 * i);
        uint32_t four = pack4(w);
        memcpy(o + i, &four, 4);
        uint64_t m = bad16(w);
        if (m)
            return i + (ctz64(m) >> 4);
        i += 4;
    }
    if (i < units) {
        size_t r = units - i;
        uint64_t w = load_tail(s + 2 * i, 2 * r);
        store_tail(o + i, pack4(w), r);
        uint64_t m = bad16(w) & ((1ull << (16 * r)) - 1);
        return m ? i + (ctz64(m) >> 4) : units;
    }
    return i;
#else
    while (i < units) {
        unsigned u = (unsigned)s[2 * i] | (unsigned)s[2 * i + 1] << 8;
        if (u < 0x20 || u >= 0x80 || u == '"' || u == '\\')
            break;
        o[i] = (char)u;
        i++;
    }
    return i;
#endif
}

/*
 * UTF-8 bytes (up to the first NUL) as JSON string content.  strict = 0:
 * ill-formed sequences become U+FFFD.  strict = 1: return NULL at the first
 * ill-formed sequence (the caller then reads the bytes as Windows-1252).
 * Needs 6 bytes of room per input byte.
 */
static char *w_utf8(char *o, const uint8_t *s, size_t n, int strict)
{
    size_t i = 0;
    while (i < n) {
        size_t k = plain_bytes(o, s + i, n - i);
        o += k;
        i += k;
        if (i >= n)
            break;
        uint8_t b = s[i];
        if (b < 0x80) {
            if (b == 0)
                break;
            o = put_esc(o, b);
            i++;
            continue;
        }
        uint32_t cp;
        int r = text_utf8_step(s + i, n - i, &cp);
        if (r > 0) {
            memcpy(o, s + i, (size_t)r);
            o += r;
            i += (size_t)r;
            continue;
        }
        if (strict)
            return NULL;
        o += text_utf8_put(o, 0xFFFD);
        i += (size_t)-r;
    }
    return o;
}

/* Windows-1252 bytes (up to the first NUL) as JSON string content; 6 bytes room per byte. */
static char *w_cp1252(char *o, const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = plain_bytes(o, s + i, n - i);
        o += k;
        i += k;
        if (i >= n)
            break;
        uint8_t b = s[i];
        if (b < 0x80) {
            if (b == 0)
                break;
            if (esc_tab[b])
                o = put_esc(o, b);
            else
                *o++ = (char)b;
        } else {
            o += text_utf8_put(o, text_cp1252_high[b - 0x80]);
        }
    }
    return o;
}

/* ANSI: valid UTF-8 is kept, otherwise the whole string is read as Windows-1252. */
static char *w_ansi(char *o, const uint8_t *s, size_t n)
{
    char *r = w_utf8(o, s, n, 1);
    return r ? r : w_cp1252(o, s, n);
}

/*
 * UTF-16LE (nbytes bytes, up to the first NUL unit) as JSON string content.
 * Unpaired surrogates and an odd trailing byte become U+FFFD.  Needs 3 bytes
 * of room per input byte, plus 3.
 */
static char *w_utf16(char *o, const uint8_t *s, size_t nbytes)
{
    size_t i = 0;
    while (i + 1 < nbytes) {
        size_t k = plain_units(o, s + i, (nbytes - i) / 2);
        o += k;
        i += 2 * k;
        if (i + 1 >= nbytes)
            break;
        uint32_t u = (uint32_t)s[i] | (uint32_t)s[i + 1] << 8;
        i += 2;
        if (u < 0x80) {
            if (u == 0)
                return o;
            o = put_esc(o, u);
        } else if (u < 0xD800 || u > 0xDFFF) {
            o += text_utf8_put(o, u);
        } else if (u <= 0xDBFF && i + 1 < nbytes) {
            uint32_t u2 = (uint32_t)s[i] | (uint32_t)s[i + 1] << 8;
            if (u2 >= 0xDC00 && u2 <= 0xDFFF) {
                i += 2;
                o += text_utf8_put(o, 0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00));
            } else {
                o += text_utf8_put(o, 0xFFFD);
            }
        } else {
            o += text_utf8_put(o, 0xFFFD);
        }
    }
    if (i + 1 == nbytes && s[i] != 0)
        o += text_utf8_put(o, 0xFFFD);
    return o;
}

/* A quoted UTF-8 string, repaired; needs 6*n + 2. */
static inline char *w_qutf8(char *o, const char *s, size_t n)
{
    *o++ = '"';
    o = w_utf8(o, (const uint8_t *)s, n, 0);
    *o++ = '"';
    return o;
}

/*
 * Copy n bytes that need no escaping.  Short strings (names) are copied
 * with two overlapping loads and stores instead of a call: reads stay inside
 * s[0..n), and the output has room for n bytes by the caller's reservation.
 */
static inline char *put_plain(char *o, const char *s, size_t n)
{
    if (n >= 8) {
        if (n > 16) {
            memcpy(o, s, n);
            return o + n;
        }
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(o, &a, 8);
        memcpy(o + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(o, &a, 4);
        memcpy(o + n - 4, &b, 4);
    } else if (n > 0) {
        o[0] = s[0];
        o[n / 2] = s[n / 2];
        o[n - 1] = s[n - 1];
    }
    return o + n;
}

/* ---- Scalars ----------------------------------------------------------- */

/*
 * The 8 hex digits of x, most significant first, as the 8 bytes of a
 * little-endian word: each nibble is spread into its own byte, then turned
 * into '0'..'9' / 'a'..'f' without a table.
 */
static inline uint64_t hex8(uint32_t x)
{
    uint64_t y = x;
    y = (y | y << 16) & 0x0000FFFF0000FFFFull;
    y = (y | y << 8) & 0x00FF00FF00FF00FFull;
    y = (y | y << 4) & 0x0F0F0F0F0F0F0F0Full;
    uint64_t letter = ((y + 0x0606060606060606ull) >> 4) & 0x0101010101010101ull;
    y += 0x3030303030303030ull + letter * ('a' - '0' - 10);
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_bswap64(y);
#else
    uint64_t r = 0;
    for (int i = 0; i < 8; i++)
        r |= ((y >> (8 * i)) & 0xFF) << (8 * (7 - i));
    return r;
#endif
}

/*
 * "0x" and the hex digits of v without leading zeros (like text_u64_hex).
 * Writes 18 bytes whatever the length (the callers' bounds allow 48).
 */
static inline char *w_hex64(char *o, uint64_t v)
{
#if (defined(__GNUC__) || defined(__clang__)) && TEXT_LITTLE_ENDIAN
    unsigned nib = v ? (unsigned)(67 - __builtin_clzll(v)) / 4 : 1;
    uint64_t d[4] = {hex8((uint32_t)(v >> 32)), hex8((uint32_t)v), 0, 0};
    o[0] = '0';
    o[1] = 'x';
    memcpy(o + 2, (const char *)d + 16 - nib, 16);
    return o + 2 + nib;
#else
    return o + text_u64_hex(o, v);
#endif
}

static inline char *w_guid(char *o, const etwhost_guid *g)
{
    uint32_t d1 = g->data1;
    memcpy(o, text_hex2 + 2 * (d1 >> 24), 2);
    memcpy(o + 2, text_hex2 + 2 * ((d1 >> 16) & 0xFF), 2);
    memcpy(o + 4, text_hex2 + 2 * ((d1 >> 8) & 0xFF), 2);
    memcpy(o + 6, text_hex2 + 2 * (d1 & 0xFF), 2);
    o[8] = '-';
    memcpy(o + 9, text_hex2 + 2 * (g->data2 >> 8), 2);
    memcpy(o + 11, text_hex2 + 2 * (g->data2 & 0xFF), 2);
    o[13] = '-';
    memcpy(o + 14, text_hex2 + 2 * (g->data3 >> 8), 2);
    memcpy(o + 16, text_hex2 + 2 * (g->data3 & 0xFF), 2);
    o[18] = '-';
    memcpy(o + 19, text_hex2 + 2 * g->data4[0], 2);
    memcpy(o + 21, text_hex2 + 2 * g->data4[1], 2);
    o[23] = '-';
    for (int i = 0; i < 6; i++)
        memcpy(o + 24 + 2 * i, text_hex2 + 2 * g->data4[2 + i], 2);
    return o + 36;
}

static inline char *w_qguid(char *o, const etwhost_guid *g)
{
    *o++ = '"';
    o = w_guid(o, g);
    *o++ = '"';
    return o;
}

/* A GUID string, or null when all zero (activity ids). */
static inline char *w_guid_or_null(char *o, const etwhost_guid *g)
{
    if (guid_is_zero(g)) {
        PUTLIT(o, "null");
        return o;
    }
    return w_qguid(o, g);
}

/* FILETIME as a quoted RFC 3339 string, or as a number when out of range. */
static inline char *w_filetime(char *o, int64_t ft)
{
    o[0] = '"';
    int n = text_filetime_rfc3339(o + 1, ft);
    if (n < 0)
        return o + text_i64_dec(o, ft);
    o[1 + n] = '"';
    return o + n + 2;
}

/*
 * The header timestamp through the event's cache of the last whole second it
 * showed: consecutive events mostly fall into the same second, so only the
 * fraction has to be written.  Same text as w_filetime.
 */
static char *w_ts_cached(char *o, struct event_ts_cache *tc, int64_t ft)
{
    if (ft < 0 || ft >= TEXT_FILETIME_MAX)
        return w_filetime(o, ft);
    int64_t sec = ft / 10000000;
    uint32_t frac = (uint32_t)(ft - sec * 10000000);
    if (tc->sec != sec + 1) {
        char tmp[TEXT_RFC3339_LEN];
        text_filetime_rfc3339(tmp, sec * 10000000);
        memcpy(tc->text, tmp, 20); /* "YYYY-MM-DDTHH:MM:SS." */
        tc->sec = sec + 1;
    }
    o[0] = '"';
    memcpy(o + 1, tc->text, 20);
    uint32_t a = frac / 100000, r = frac % 100000; /* 2 + 2 + 2 + 1 digits */
    uint32_t b = r / 1000, c = r % 1000;
    memcpy(o + 21, text_digits2 + 2 * a, 2);
    memcpy(o + 23, text_digits2 + 2 * b, 2);
    memcpy(o + 25, text_digits2 + 2 * (c / 10), 2);
    o[27] = (char)('0' + c % 10);
    o[28] = 'Z';
    o[29] = '"';
    return o + 30;
}

/*
 * Shortest text that reads back as the same double (15, 16 or 17 significant
 * digits), or float when is_f32.  Integral values keep a ".0" so the number
 * stays a floating-point number for typed readers.  NaN and infinities,
 * which JSON cannot express, become null.  Needs 40 bytes.
 */
static char *w_float(char *o, double v, int is_f32)
{
    if (!isfinite(v)) {
        PUTLIT(o, "null");
        return o;
    }
    if (v == 0.0) {
        if (signbit(v))
            *o++ = '-';
        PUTLIT(o, "0.0");
        return o;
    }
    if (fabs(v) < 1e15 && v == (double)(int64_t)v) {
        o += text_i64_dec(o, (int64_t)v);
        PUTLIT(o, ".0");
        return o;
    }
    char tmp[48];
    int n = 0;
    int lo = is_f32 ? 6 : 15, hi = is_f32 ? 9 : 17;
    for (int prec = lo; prec <= hi; prec++) {
        n = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (n <= 0 || n >= (int)sizeof tmp) {
            PUTLIT(o, "null");
            return o;
        }
        if (prec == hi)
            break;
        if (is_f32 ? strtof(tmp, NULL) == (float)v : strtod(tmp, NULL) == v)
            break;
    }
    int has_point = 0;
    for (int i = 0; i < n; i++) {
        char c = tmp[i];
        if (c == ',')
            c = '.'; /* a decimal comma from a foreign LC_NUMERIC */
        if (c == '.' || c == 'e' || c == 'E')
            has_point = 1;
        o[i] = c;
    }
    o += n;
    if (!has_point)
        PUTLIT(o, ".0");
    return o;
}

static char *w_ipv4_bytes(char *o, const uint8_t b[4])
{
    *o++ = '"';
    o += text_ipv4_format(o, b);
    *o++ = '"';
    return o;
}

static char *w_ipv6_bytes(char *o, const uint8_t b[16])
{
    *o++ = '"';
    o += text_ipv6_format(o, b);
    *o++ = '"';
    return o;
}

/* Windows SOCKADDR_IN / SOCKADDR_IN6 as "a.b.c.d:port" / "[v6]:port"; NULL if neither. */
static char *w_sockaddr(char *o, const uint8_t *d, uint32_t size)
{
    if (size < 8)
        return NULL;
    unsigned family = (unsigned)d[0] | (unsigned)d[1] << 8;
    unsigned port = (unsigned)d[2] << 8 | d[3];
    if (family == 2) {
        *o++ = '"';
        o += text_ipv4_format(o, d + 4);
    } else if (family == 23 && size >= 24) {
        *o++ = '"';
        *o++ = '[';
        o += text_ipv6_format(o, d + 8);
        *o++ = ']';
    } else {
        return NULL;
    }
    *o++ = ':';
    o += text_u64_dec(o, port);
    *o++ = '"';
    return o;
}

static char *w_hex_string(char *o, const uint8_t *d, uint32_t size)
{
    *o++ = '"';
    if (d != NULL) {
        text_hex_bytes(o, d, size);
        o += 2 * (size_t)size;
    }
    *o++ = '"';
    return o;
}

/* Unsigned decimal; one- and two-digit numbers (most values) without a call. */
static inline char *w_u64(char *o, uint64_t v)
{
    if (v < 10) {
        *o = (char)('0' + v);
        return o + 1;
    }
    if (v < 100) {
        memcpy(o, text_digits2 + 2 * v, 2);
        return o + 2;
    }
    return o + text_u64_dec(o, v);
}

static char *w_integer(char *o, const etwhost_prop *p)
{
    switch (p->format) {
    case ETWHOST_FMT_HEX:
    case ETWHOST_FMT_NTSTATUS:
    case ETWHOST_FMT_HRESULT:
        *o++ = '"';
        o = w_hex64(o, event_prop_bits(p));
        *o++ = '"';
        return o;
    case ETWHOST_FMT_BOOL:
        if (event_prop_bits(p))
            PUTLIT(o, "true");
        else
            PUTLIT(o, "false");
        return o;
    case ETWHOST_FMT_IPV4:
        if (p->type == ETWHOST_PT_U32 || p->type == ETWHOST_PT_I32) {
            /* The four bytes as recorded (network order) sit in the low bytes. */
            uint64_t v = event_prop_bits(p);
            uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                            (uint8_t)(v >> 24)};
            return w_ipv4_bytes(o, b);
        }
        break;
    case ETWHOST_FMT_PORT:
        if (p->type == ETWHOST_PT_U16 || p->type == ETWHOST_PT_I16) {
            uint64_t v = event_prop_bits(p);
            return o + text_u64_dec(o, (v >> 8) | (v & 0xFF) << 8);
        }
        break;
    case ETWHOST_FMT_CHAR:
        if (p->type == ETWHOST_PT_U8 || p->type == ETWHOST_PT_I8 ||
            p->type == ETWHOST_PT_U16 || p->type == ETWHOST_PT_I16) {
            uint8_t raw[2] = {(uint8_t)event_prop_bits(p), (uint8_t)(event_prop_bits(p) >> 8)};
            *o++ = '"';
            if (p->type == ETWHOST_PT_U16 || p->type == ETWHOST_PT_I16)
                o = w_utf16(o, raw, 2);
            else
                o = w_cp1252(o, raw, 1);
            *o++ = '"';
            return o;
        }
        break;
    default:
        break;
    }
    if (event_type_is_signed(p->type))
        return o + text_i64_dec(o, event_prop_signed(p));
    return w_u64(o, event_prop_bits(p));
}

/* Worst-case JSON size of one scalar value (map_text included). */
static size_t value_bound(const etwhost_prop *p)
{
    size_t n;
    switch (p->type) {
    case ETWHOST_PT_F32:
    case ETWHOST_PT_F64:
        n = 48;
        break;
    case ETWHOST_PT_STRING:
        n = (p->reserved == PROP_ENC_UTF16 ? 3 * (size_t)p->size + 3 : 6 * (size_t)p->size) + 2;
        break;
    case ETWHOST_PT_SID:
    case ETWHOST_PT_BINARY:
        n = 2 * (size_t)p->size + TEXT_SID_MAX + 64;
        break;
    default:
        n = 48; /* integers, hex, GUID, FILETIME, addresses, single chars */
        break;
    }
    if (p->map_text != NULL)
        n += 6 * strlen(p->map_text) + 2;
    return n;
}

/* One scalar value (STRUCT/ARRAY are the caller's business). */
static char *w_value(char *o, const struct event *ev, const etwhost_prop *p)
{
    if (p->map_text != NULL)
        return w_qutf8(o, p->map_text, strlen(p->map_text));
    switch (p->type) {
    case ETWHOST_PT_I8:
    case ETWHOST_PT_U8:
    case ETWHOST_PT_I16:
    case ETWHOST_PT_U16:
    case ETWHOST_PT_I32:
    case ETWHOST_PT_U32:
    case ETWHOST_PT_I64:
    case ETWHOST_PT_U64:
        return w_integer(o, p);
    case ETWHOST_PT_F32:
        return w_float(o, (double)(float)p->num.f, 1);
    case ETWHOST_PT_F64:
        return w_float(o, p->num.f, 0);
    case ETWHOST_PT_BOOL:
        if (p->num.u)
            PUTLIT(o, "true");
        else
            PUTLIT(o, "false");
        return o;
    case ETWHOST_PT_STRING:
        *o++ = '"';
        if (p->data != NULL) {
            if (p->reserved == PROP_ENC_UTF16)
                o = w_utf16(o, p->data, p->size);
            else if (p->reserved == PROP_ENC_ANSI)
                o = w_ansi(o, p->data, p->size);
            else
                o = w_utf8(o, p->data, p->size, 0);
        }
        *o++ = '"';
        return o;
    case ETWHOST_PT_GUID:
        if (p->data != NULL && p->size >= 16) {
            etwhost_guid g;
            memcpy(&g, p->data, sizeof g);
            return w_qguid(o, &g);
        }
        break;
    case ETWHOST_PT_FILETIME:
    case ETWHOST_PT_SYSTEMTIME:
        if (p->num.i == 0)
            break;
        return w_filetime(o, p->num.i);
    case ETWHOST_PT_SID:
        if (p->data != NULL) {
            o[0] = '"';
            int n = text_sid_format(o + 1, p->data, p->size);
            if (n >= 0) {
                o[1 + n] = '"';
                return o + 2 + n;
            }
            return w_hex_string(o, p->data, p->size);
        }
        break;
    case ETWHOST_PT_POINTER:
        *o++ = '"';
        o = w_hex64(o, p->num.u);
        *o++ = '"';
        return o;
    case ETWHOST_PT_BINARY:
        if (p->data != NULL) {
            if (p->format == ETWHOST_FMT_IPV6 && p->size == 16)
                return w_ipv6_bytes(o, p->data);
            if (p->format == ETWHOST_FMT_IPV4 && p->size == 4)
                return w_ipv4_bytes(o, p->data);
            if (p->format == ETWHOST_FMT_SOCKADDR) {
                char *r = w_sockaddr(o, p->data, p->size);
                if (r != NULL)
                    return r;
            }
        }
        return w_hex_string(o, p->data, p->size);
    default:
        break;
    }
    (void)ev;
    PUTLIT(o, "null");
    return o;
}

/* ---- Duplicate member names ---------------------------------------------- */

/*
 * Member names within one object are made unique: the k-th repeat of a name
 * is written as "name_k" (k >= 2).  For small objects the previous siblings
 * are compared directly; objects with many members use a hash table over
 * (parent, name), built per render, so cost stays linear.
 */
#define DUP_LINEAR_MAX 32

struct dup_slot {
    uint32_t index; /* first prop with this (parent, name), ETWHOST_NONE if empty */
    uint32_t seen;  /* occurrences so far */
};

struct dup_table {
    struct dup_slot *slots;
    size_t mask;
};

static uint64_t name_hash(uint32_t parent, const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull ^ parent;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

static inline int same_name(const etwhost_prop *a, const etwhost_prop *b)
{
    return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

/*
 * Occurrence number (1 for the first) of props[i]'s name among the siblings
 * before it, starting at 'first' (small objects: a direct walk).
 */
static uint32_t dup_linear(const struct event *ev, uint32_t first, uint32_t i)
{
    const etwhost_prop *p = &ev->props[i];
    uint32_t rank = 1;
    for (uint32_t j = first; j != i && j < ev->nprops; j = ev->props[j].next)
        rank += same_name(&ev->props[j], p);
    return rank;
}

/* The same through the per-render hash table over (parent, name) (large objects). */
static uint32_t dup_hashed(const struct event *ev, struct dup_table *t, uint32_t i)
{
    const etwhost_prop *p = &ev->props[i];
    size_t h = (size_t)name_hash(p->parent, p->name, p->name_len) & t->mask;
    for (;;) {
        struct dup_slot *s = &t->slots[h];
        if (s->index == ETWHOST_NONE) {
            s->index = i;
            s->seen = 1;
            return 1;
        }
        const etwhost_prop *q = &ev->props[s->index];
        if (q->parent == p->parent && same_name(q, p))
            return ++s->seen;
        h = (h + 1) & t->mask;
    }
}

/*
 * One bit (of 64) per name, for a per-object Bloom filter: a name whose bit
 * is not set yet cannot be a repeat, so the common case (all names
 * distinct) rarely walks the siblings at all.
 */
static inline uint64_t name_bit(const etwhost_prop *p)
{
    uint32_t n = p->name_len;
    uint32_t h = n * 7u;
    if (n > 0)
        h += (uint8_t)p->name[0] * 3u + (uint8_t)p->name[n - 1] + (uint8_t)p->name[n / 2] * 5u;
    return 1ull << (h & 63);
}

/* Key with its quotes, the dedup suffix and the colon; needs 6*len + 16. */
static inline char *w_key(char *o, const char *name, size_t len, uint32_t rank, int plain)
{
    *o++ = '"';
    if (plain)
        o = put_plain(o, name, len);
    else
        o = w_utf8(o, (const uint8_t *)name, len, 0);
    if (rank > 1) {
        *o++ = '_';
        o += text_u64_dec(o, rank);
    }
    *o++ = '"';
    *o++ = ':';
    return o;
}

/* ---- Size bound ------------------------------------------------------------ */

#define HEADER_BOUND 1024

/*
 * The header's provider, event, task and opcode names with their lengths.
 * Names that are the decoding schema's own strings come with lengths and
 * plainness worked out when the schema was built; others are measured here.
 */
struct hnames {
    const char *s[4];
    size_t len[4];
    unsigned plain; /* bit k: s[k] needs no escaping */
};

static void header_names(const struct event *ev, struct hnames *hn)
{
    const etwhost_event_header *h = &ev->hdr;
    const struct schema *sc = ev->schema;
    hn->s[0] = h->provider_name;
    hn->s[1] = h->event_name;
    hn->s[2] = h->task_name;
    hn->s[3] = h->opcode_name;
    hn->plain = 0;
    const char *own[4] = {NULL, NULL, NULL, NULL};
    if (sc != NULL) {
        own[0] = sc->provider_name;
        own[1] = sc->event_name;
        own[2] = sc->task_name;
        own[3] = sc->opcode_name;
    }
    for (int k = 0; k < 4; k++) {
        if (own[k] != NULL && hn->s[k] == own[k] && (sc->hname_plain >> k & 1u)) {
            hn->len[k] = sc->hname_len[k];
            hn->plain |= 1u << k;
        } else {
            hn->len[k] = strlen(hn->s[k]);
        }
    }
}

static size_t json_bound(const struct event *ev, const struct hnames *hn, int *need_dup_table,
                         uint32_t *top_count)
{
    const etwhost_event_header *h = &ev->hdr;
    size_t n = HEADER_BOUND;
    n += 6 * (hn->len[0] + hn->len[1] + hn->len[2] + hn->len[3]);
    uint32_t top = 0;
    /* Types whose bound is not the flat 48 of value_bound (checked as one bit test). */
    const uint32_t sized = 1u << ETWHOST_PT_STRING | 1u << ETWHOST_PT_SID |
                           1u << ETWHOST_PT_BINARY | 1u << ETWHOST_PT_STRUCT |
                           1u << ETWHOST_PT_ARRAY;
    for (uint32_t i = 0; i < ev->nprops; i++) {
        const etwhost_prop *p = &ev->props[i];
        n += 6 * (size_t)p->name_len + 24;
        top += p->parent == ETWHOST_NONE;
        if (p->type < 32 && !(sized >> p->type & 1u) && p->map_text == NULL) {
            n += 48; /* value_bound of every other type */
            continue;
        }
        if (p->type == ETWHOST_PT_STRUCT || p->type == ETWHOST_PT_ARRAY) {
            n += 2;
            if (p->type == ETWHOST_PT_STRUCT && p->count > DUP_LINEAR_MAX)
                *need_dup_table = 1;
        } else {
            n += value_bound(p);
        }
    }
    if (top > DUP_LINEAR_MAX)
        *need_dup_table = 1;
    *top_count = top;
    for (uint32_t i = 0; i < ev->nfields; i++) {
        const struct event_field *f = &ev->fields[i];
        n += 6 * strlen(f->name) + 24 + (f->str ? 6 * f->str_len + 2 : 24);
    }
    if (h->decode_status != ETWHOST_DECODE_FULL) {
        if (ev->rec != NULL)
            n += text_base64_len(ev->rec->data_len);
        if (ev->decode_error != NULL)
            n += 6 * strlen(ev->decode_error);
    }
    return n;
}

/* ---- Render ---------------------------------------------------------------- */

struct level {
    uint64_t bloom;     /* name_bit() of the members written so far */
    uint32_t first;     /* first child */
    uint32_t remaining; /* children not yet complete */
    uint32_t count;     /* all children */
    uint8_t is_array;
    uint8_t any; /* a child was written: the next needs a comma */
};

/* 1 if props[j] lies in the subtree of props[c]. */
static int is_inside(const struct event *ev, uint32_t j, uint32_t c)
{
    for (int hops = 0; hops <= EVENT_MAX_DEPTH + 2 && j < ev->nprops; hops++) {
        j = ev->props[j].parent;
        if (j == c)
            return 1;
    }
    return 0;
}

/*
 * Integer formats w_integer shows as plain decimal (bit per ETWHOST_FMT_*:
 * all but HEX, IPV4, PORT, NTSTATUS, HRESULT, CHAR and BOOL).
 */
#define DEC_FORMATS (~0x6316u & 0xFFFFu)

static char *w_props(char *o, const struct event *ev, struct dup_table *dt, uint32_t top_count)
{
    /*
     * Events decoded with a schema whose names are distinct at every level
     * cannot have repeated names: no need to look for them.
     */
    const struct schema *sc = ev->schema;
    int unique = sc != NULL && sc->error == NULL && (sc->sdflags & SCHEMA_SDF_UNIQUE_NAMES);
    PUTLIT(o, ",\"props\":");
    struct level lv[EVENT_MAX_DEPTH + 2];
    uint32_t d = 0;
    lv[0] = (struct level){0, 0, UINT32_MAX, top_count, 0, 0};
    *o++ = '{';
    for (uint32_t i = 0; i < ev->nprops; i++) {
        const etwhost_prop *p = &ev->props[i];
        struct level *L = &lv[d];
        if (L->any)
            *o++ = ',';
        L->any = 1;
        if (!L->is_array) {
            uint32_t rank = 1;
            if (unique) {
                /* rank stays 1 */
            } else if (L->count > DUP_LINEAR_MAX && dt->slots != NULL) {
                rank = dup_hashed(ev, dt, i);
            } else {
                uint64_t bit = name_bit(p);
                if (L->bloom & bit)
                    rank = dup_linear(ev, L->first, i);
                L->bloom |= bit;
            }
            o = w_key(o, p->name, p->name_len, rank, (p->reserved2 & PROP_F_NAME_PLAIN) != 0);
        }
        int container = p->type == ETWHOST_PT_STRUCT || p->type == ETWHOST_PT_ARRAY;
        if (container && p->count > 0 && d + 1 < EVENT_MAX_DEPTH + 2) {
            *o++ = p->type == ETWHOST_PT_STRUCT ? '{' : '[';
            lv[++d] = (struct level){0, i + 1, p->count, p->count,
                                     (uint8_t)(p->type == ETWHOST_PT_ARRAY), 0};
            continue;
        }
        if (container) {
            if (p->type == ETWHOST_PT_STRUCT)
                PUTLIT(o, "{}");
            else
                PUTLIT(o, "[]");
            /*
             * Only a tree nested deeper than the builder allows gets here with
             * children: leave them out rather than misplace them.
             */
            while (p->count > 0 && i + 1 < ev->nprops && is_inside(ev, i + 1, i))
                i++;
        } else if (p->map_text == NULL && event_type_is_int(p->type) && p->format < 16 &&
                   (DEC_FORMATS >> p->format & 1u)) {
            /* The common case of w_value, without its dispatch. */
            if (event_type_is_signed(p->type))
                o += text_i64_dec(o, event_prop_signed(p));
            else
                o = w_u64(o, event_prop_bits(p));
        } else {
            o = w_value(o, ev, p);
        }
        /* props[i] is complete: close every container it completes. */
        while (d > 0 && --lv[d].remaining == 0) {
            *o++ = lv[d].is_array ? ']' : '}';
            d--;
        }
    }
    /* Links are consistent by construction; close anything left open anyway. */
    while (d > 0) {
        *o++ = lv[d].is_array ? ']' : '}';
        d--;
    }
    *o++ = '}';
    return o;
}

static char *w_fields(char *o, const struct event *ev)
{
    PUTLIT(o, ",\"fields\":{");
    for (uint32_t i = 0; i < ev->nfields; i++) {
        const struct event_field *f = &ev->fields[i];
        size_t len = strlen(f->name);
        uint32_t rank = 1;
        for (uint32_t j = 0; j < i; j++)
            rank += strcmp(ev->fields[j].name, f->name) == 0;
        if (i)
            *o++ = ',';
        o = w_key(o, f->name, len, rank, 0);
        if (f->str != NULL)
            o = w_qutf8(o, f->str, f->str_len);
        else
            o += text_i64_dec(o, f->i);
    }
    *o++ = '}';
    return o;
}

static const char *status_text(uint16_t status)
{
    switch (status) {
    case ETWHOST_DECODE_PENDING: return "not decoded";
    case ETWHOST_DECODE_PARTIAL: return "partially decoded";
    default: return "no schema";
    }
}


/* Header name k of hn as a JSON string. */
static inline char *w_hname(char *o, const struct hnames *hn, int k)
{
    if (!(hn->plain >> k & 1u))
        return w_qutf8(o, hn->s[k], hn->len[k]);
    *o++ = '"';
    o = put_plain(o, hn->s[k], hn->len[k]);
    *o++ = '"';
    return o;
}

/*
 * The header members from "provider" to "channel" depend only on the
 * provider (name and GUID) and the event descriptor (id, version, channel,
 * level, opcode, task, keywords), which repeat from event to event: their
 * text is kept in a small per-thread cache keyed by that content (so it
 * never depends on a schema's lifetime) and copied on a hit.  About 6 % of
 * the instructions of a dump of a CLR trace (GUID and integer formatting).
 */
#define HEAD_SLOTS 64u
#define HEAD_TEXT_MAX 256u /* well within HEADER_BOUND, which json_bound() always reserves */
#define HEAD_NAME_MAX 64u

/* event_id, version, channel, level, opcode, task: 8 bytes without padding, read as one. */
_Static_assert(offsetof(etwhost_event_header, task) - offsetof(etwhost_event_header, event_id) == 6 &&
                   sizeof(((etwhost_event_header *)0)->task) == 2,
               "event descriptor fields are not contiguous");

struct head_slot {
    etwhost_guid guid;
    uint64_t keywords, desc;
    uint16_t len;       /* of text; 0 = empty slot */
    uint8_t name_len;   /* provider name, plain (no escaping), 0 = null */
    uint8_t name_off;   /* where the name starts in text */
    char text[HEAD_TEXT_MAX];
};

_Static_assert(HEAD_TEXT_MAX + 64 <= HEADER_BOUND, "a cached header copy could overrun the bound");

static _Thread_local struct head_slot head_cache[HEAD_SLOTS];

static char *w_head_full(char *o, const etwhost_event_header *h, const struct hnames *hn)
{
    PUTLIT(o, ",\"provider\":");
    if (hn->len[0])
        o = w_hname(o, hn, 0);
    else
        PUTLIT(o, "null");
    PUTLIT(o, ",\"provider_guid\":");
    o = w_qguid(o, &h->provider_guid);
    PUTLIT(o, ",\"event_id\":");
    o = w_u64(o, h->event_id);
    PUTLIT(o, ",\"version\":");
    o = w_u64(o, h->version);
    PUTLIT(o, ",\"level\":");
    o = w_u64(o, h->level);
    PUTLIT(o, ",\"opcode\":");
    o = w_u64(o, h->opcode);
    PUTLIT(o, ",\"task\":");
    o = w_u64(o, h->task);
    PUTLIT(o, ",\"keywords\":\"");
    o = w_hex64(o, h->keywords);
    PUTLIT(o, "\",\"channel\":");
    o = w_u64(o, h->channel);
    return o;
}

static char *w_head(char *o, const etwhost_event_header *h, const struct hnames *hn)
{
    size_t nl = hn->len[0];
    /* Only plain (or absent) provider names of modest length are cached. */
    if (nl > HEAD_NAME_MAX || (nl > 0 && !(hn->plain & 1u)))
        return w_head_full(o, h, hn);
    uint64_t desc;
    memcpy(&desc, &h->event_id, sizeof desc);
    uint32_t x = h->provider_guid.data1 ^ (uint32_t)(desc * 0x9E3779B97F4A7C15ull >> 32) ^
                 (uint32_t)h->keywords ^ (uint32_t)(h->keywords >> 32);
    struct head_slot *sl = &head_cache[(x ^ x >> 6 ^ x >> 12) & (HEAD_SLOTS - 1)];
    if (sl->len != 0 && sl->desc == desc && sl->keywords == h->keywords &&
        sl->name_len == nl && memcmp(&sl->guid, &h->provider_guid, sizeof sl->guid) == 0 &&
        (nl == 0 || memcmp(sl->text + sl->name_off, hn->s[0], nl) == 0)) {
        /* A fixed-size copy (inlined): the bytes past len are rewritten next, within the bound. */
        memcpy(o, sl->text, HEAD_TEXT_MAX);
        return o + sl->len;
    }
    char *start = o;
    o = w_head_full(o, h, hn);
    size_t len = (size_t)(o - start);
    if (len <= HEAD_TEXT_MAX) {
        memcpy(sl->text, start, len);
        sl->len = (uint16_t)len;
        sl->guid = h->provider_guid;
        sl->keywords = h->keywords;
        sl->desc = desc;
        sl->name_len = (uint8_t)nl;
        sl->name_off = (uint8_t)(sizeof(",\"provider\":\"") - 1);
    }
    return o;
}

static char *w_event(char *o, const struct event *ev, struct event_ts_cache *tc,
                     const struct hnames *hn, struct dup_table *dt, uint32_t top_count)
{
    const etwhost_event_header *h = &ev->hdr;
    PUTLIT(o, "{\"timestamp\":");
    o = tc ? w_ts_cached(o, tc, h->timestamp) : w_filetime(o, h->timestamp);
    o = w_head(o, h, hn);
    if (h->flags & ETWHOST_EVF_NO_PID) {
        PUTLIT(o, ",\"pid\":null,\"tid\":null");
    } else {
        PUTLIT(o, ",\"pid\":");
        o = w_u64(o, h->pid);
        PUTLIT(o, ",\"tid\":");
        o = w_u64(o, h->tid);
    }
    PUTLIT(o, ",\"cpu\":");
    o = w_u64(o, h->cpu);
    PUTLIT(o, ",\"event_name\":");
    if (hn->len[1])
        o = w_hname(o, hn, 1);
    else
        PUTLIT(o, "null");
    PUTLIT(o, ",\"activity_id\":");
    o = w_guid_or_null(o, &h->activity_id);
    PUTLIT(o, ",\"related_activity_id\":");
    o = w_guid_or_null(o, &h->related_activity_id);
    if (hn->len[2]) {
        PUTLIT(o, ",\"task_name\":");
        o = w_hname(o, hn, 2);
    }
    if (hn->len[3]) {
        PUTLIT(o, ",\"opcode_name\":");
        o = w_hname(o, hn, 3);
    }
    /* At record stage properties do not exist yet, whatever the arrays hold. */
    if (h->decode_status == ETWHOST_DECODE_PENDING)
        PUTLIT(o, ",\"props\":{}");
    else
        o = w_props(o, ev, dt, top_count);
    if (ev->nfields > 0)
        o = w_fields(o, ev);
    if (h->decode_status != ETWHOST_DECODE_FULL) {
        PUTLIT(o, ",\"raw\":\"");
        if (ev->rec != NULL && ev->rec->data != NULL)
            o += text_base64_encode(o, ev->rec->data, ev->rec->data_len);
        PUTLIT(o, "\",\"decode_error\":");
        const char *e = ev->decode_error ? ev->decode_error : status_text(h->decode_status);
        o = w_qutf8(o, e, strlen(e));
    }
    *o++ = '}';
    return o;
}

static int render(const struct event *ev, struct event_ts_cache *tc, struct buf *out)
{
    int need_dt = 0;
    uint32_t top_count = 0;
    struct hnames hn;
    header_names(ev, &hn);
    size_t bound = json_bound(ev, &hn, &need_dt, &top_count);
    /* A pooled line buffer (event_set_home) that is too small is left for a heap one. */
    if (out->p != NULL && out->p == ev->json_home && out->cap - out->len <= bound)
        *out = (struct buf)BUF_INIT;
    int rc = buf_reserve(out, bound);
    if (rc)
        return rc;
    struct dup_table dt = {NULL, 0};
    if (need_dt) {
        size_t cap = 64;
        while (cap < 2 * (size_t)ev->nprops)
            cap *= 2;
        dt.slots = mem_alloc(cap * sizeof *dt.slots);
        if (dt.slots == NULL)
            return ERR_NOMEM;
        for (size_t i = 0; i < cap; i++)
            dt.slots[i].index = ETWHOST_NONE;
        dt.mask = cap - 1;
    }
    char *start = out->p + out->len;
    char *end = w_event(start, ev, tc, &hn, &dt, top_count);
    mem_free(dt.slots);
    out->len += (size_t)(end - start);
    return 0;
}

int event_json_render(const struct event *ev, struct buf *out)
{
    return render(ev, NULL, out);
}

const struct buf *event_json(struct event *ev)
{
    if (ev->json_valid)
        return &ev->json;
    buf_reset(&ev->json);
    if (render(ev, &ev->ts_cache, &ev->json) != 0) {
        buf_reset(&ev->json);
        return NULL;
    }
    ev->json_valid = 1;
    return &ev->json;
}

int event_json_scalar(const struct event *ev, const etwhost_prop *p, struct buf *out)
{
    if (p->type == ETWHOST_PT_STRUCT || p->type == ETWHOST_PT_ARRAY)
        return ERR_TYPE;
    int rc = buf_reserve(out, value_bound(p));
    if (rc)
        return rc;
    char *start = out->p + out->len;
    out->len += (size_t)(w_value(start, ev, p) - start);
    return 0;
}

size_t event_json_scalar_bound(const etwhost_prop *p)
{
    return value_bound(p);
}

size_t event_json_scalar_to(char *dst, const struct event *ev, const etwhost_prop *p)
{
    if (p->type == ETWHOST_PT_STRUCT || p->type == ETWHOST_PT_ARRAY)
        return 0;
    return (size_t)(w_value(dst, ev, p) - dst);
}

int json_put_string(struct buf *out, const char *s, size_t len)
{
    if (len > ((size_t)1 << 40))
        return ERR_RANGE;
    int rc = buf_reserve(out, 6 * len + 2);
    if (rc)
        return rc;
    char *start = out->p + out->len;
    out->len += (size_t)(w_qutf8(start, s, len) - start);
    return 0;
}
