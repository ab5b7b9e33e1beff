/*
 * lz77: MS-XCA Plain LZ77 decompressor and a greedy hash-chain compressor.
 *
 * The decompressor checks every read against the input length and every
 * write against the output capacity before it happens; lengths are computed
 * in 64 bits so that a 32-bit length field cannot wrap.  Fast paths: literal
 * runs are found with one count-leading-zeros of the flag word and copied
 * with memcpy; matches whose distance is at least 8 are copied 8 bytes at a
 * time when the output has room for the overshoot.
 */
#include "lz77.h"

#include <string.h>

#include "../core/err.h"
#include "../core/le.h"
#include "../core/mem.h"

#define LZ_WINDOW 8192u    /* distances are 13 bits: 1..8192 */
#define LZ_MIN_MATCH 3u
#define LZ_HASH_BITS 14u
#define LZ_CHAIN_DEPTH 8u
#define LZ_NICE_MATCH 64u /* a match this long ends the search */
#define LZ_NO_HALF SIZE_MAX

/* Leading zero bits of a non-zero 32-bit value. */
static inline unsigned clz32(uint32_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_clz(x);
#else
    unsigned n = 0;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        n++;
    }
    return n;
#endif
}

/*
 * Copy a match of n bytes from dist bytes back to dst + dp; the caller has
 * checked dist <= dp and n <= dcap - dp.  Overlapping matches (dist < n)
 * repeat their source, as LZ77 means; with room after the match, whole
 * 16- or 8-byte chunks are copied (each source chunk lies entirely before
 * its destination when dist is at least the chunk size).
 */
static inline void copy_match(uint8_t *dst, size_t dcap, size_t dp, size_t dist, size_t n)
{
    uint8_t *o = dst + dp;
    const uint8_t *s = o - dist;
    if (dist >= 16 && dcap - dp >= n + 16) {
        for (size_t i = 0; i < n; i += 16)
            memcpy(o + i, s + i, 16);
    } else if (dist >= 8 && dcap - dp >= n + 8) {
        for (size_t i = 0; i < n; i += 8)
            memcpy(o + i, s + i, 8);
    } else if (dist == 1) {
        memset(o, s[0], n);
    } else if (dist >= n) {
        memcpy(o, s, n);
    } else {
        for (size_t i = 0; i < n; i++)
            o[i] = s[i];
    }
}

int lz77_decompress(const uint8_t *src, size_t slen, uint8_t *dst, size_t dcap, size_t *out_len)
{
    size_t sp = 0, dp = 0;
    size_t half = LZ_NO_HALF; /* input index of the shared length nibble byte */
    uint32_t flags = 0;
    unsigned nflags = 0;

    *out_len = 0;
    for (;;) {
        /*
         * Far from both ends (a flag word, a literal run of up to 32 bytes or
         * a match header all fit), items skip the input-end checks below;
         * they make the same decisions otherwise.
         */
        while (slen - sp >= 48 && dcap - dp >= 48) {
            if (nflags == 0) {
                flags = le_r32(src + sp);
                sp += 4;
                nflags = 32;
            }
            if (!((flags >> (nflags - 1)) & 1u)) {
                uint32_t x = flags << (32 - nflags);
                unsigned run = x ? clz32(x) : nflags;
                if (run > nflags)
                    run = nflags;
                memcpy(dst + dp, src + sp, 16);
                if (run > 16)
                    memcpy(dst + dp + 16, src + sp + 16, 16);
                dp += run;
                sp += run;
                nflags -= run;
                continue;
            }
            nflags--;
            uint32_t v = le_r16(src + sp);
            sp += 2;
            uint64_t len = v & 7u;
            size_t dist = (size_t)(v >> 3) + 1;
            if (len == 7) {
                if (half == LZ_NO_HALF) {
                    half = sp;
                    len = src[sp] & 0x0Fu;
                    sp++;
                } else {
                    len = src[half] >> 4;
                    half = LZ_NO_HALF;
                }
                if (len == 15) {
                    len = src[sp++];
                    if (len == 255) {
                        len = le_r16(src + sp);
                        sp += 2;
                        if (len == 0) {
                            len = le_r32(src + sp);
                            sp += 4;
                        }
                        if (len < 15 + 7)
                            return ERR_FORMAT;
                        len -= 15 + 7;
                    }
                    len += 15;
                }
                len += 7;
            }
            len += 3;
            if (dist > dp || len > (uint64_t)(dcap - dp))
                return ERR_FORMAT;
            copy_match(dst, dcap, dp, dist, (size_t)len);
            dp += (size_t)len;
        }
        if (nflags == 0) {
            if (sp == slen)
                break;
            if (slen - sp < 4)
                return ERR_FORMAT;
            flags = le_r32(src + sp);
            sp += 4;
            nflags = 32;
        }
        if (!((flags >> (nflags - 1)) & 1u)) {
            /* A run of literals: every zero bit from here on is one input byte. */
            uint32_t x = flags << (32 - nflags);
            unsigned run = x ? clz32(x) : nflags;
            int last = 0;
            if (run > nflags)
                run = nflags;
            if (run > slen - sp) {
                run = (unsigned)(slen - sp); /* the stream ends inside the run */
                last = 1;
                if (run == 0)
                    break;
            }
            if (run > dcap - dp)
                return ERR_FORMAT;
            if (slen - sp >= 32 && dcap - dp >= 32) {
                /* Fixed-size copies compile to a few moves; the extra bytes are rewritten later. */
                memcpy(dst + dp, src + sp, 16);
                if (run > 16)
                    memcpy(dst + dp + 16, src + sp + 16, 16);
            } else {
                memcpy(dst + dp, src + sp, run);
            }
            dp += run;
            sp += run;
            nflags -= run;
            if (last)
                break;
            continue;
        }
        nflags--;
        if (sp == slen)
            break; /* a match flag with no input left ends the stream */
        if (slen - sp < 2)
            return ERR_FORMAT;
        uint32_t v = le_r16(src + sp);
        sp += 2;
        uint64_t len = v & 7u;
        size_t dist = (size_t)(v >> 3) + 1;
        if (len == 7) {
            if (half == LZ_NO_HALF) {
                if (sp >= slen)
                    return ERR_FORMAT;
                half = sp;
                len = src[sp] & 0x0Fu;
                sp++;
            } else {
                len = src[half] >> 4;
                half = LZ_NO_HALF;
            }
            if (len == 15) {
                if (sp >= slen)
                    return ERR_FORMAT;
                len = src[sp++];
                if (len == 255) {
                    if (slen - sp < 2)
                        return ERR_FORMAT;
                    len = le_r16(src + sp);
                    sp += 2;
                    if (len == 0) {
                        if (slen - sp < 4)
                            return ERR_FORMAT;
                        len = le_r32(src + sp);
                        sp += 4;
                    }
                    if (len < 15 + 7)
                        return ERR_FORMAT;
                    len -= 15 + 7;
                }
                len += 15;
            }
            len += 7;
        }
        len += 3;
        if (dist > dp || len > (uint64_t)(dcap - dp))
            return ERR_FORMAT;
        copy_match(dst, dcap, dp, dist, (size_t)len);
        dp += (size_t)len;
    }
    *out_len = dp;
    return 0;
}

size_t lz77_compress_bound(size_t n)
{
    /* Every item costs at most its input bytes plus one flag bit. */
    return n + 4 * (n / 32 + 2);
}

struct lz_out {
    uint8_t *dst;
    size_t op;       /* next output byte */
    size_t fpos;     /* where the current flag word goes */
    uint32_t flags;  /* bits collected so far, first item most significant */
    unsigned nbits;
    size_t half;     /* output index of a nibble byte with a free high half */
};

/* Record one item's flag bit after its bytes were written. */
static inline void lz_bit(struct lz_out *w, uint32_t bit)
{
    w->flags = (w->flags << 1) | bit;
    if (++w->nbits == 32) {
        le_w32(w->dst + w->fpos, w->flags);
        w->fpos = w->op;
        w->op += 4;
        w->flags = 0;
        w->nbits = 0;
    }
}

static void lz_match(struct lz_out *w, size_t dist, size_t len)
{
    uint8_t *d = w->dst;
    size_t m = len - 3;
    uint32_t code = (uint32_t)(dist - 1) << 3;
    if (m < 7) {
        le_w16(d + w->op, code | (uint32_t)m);
        w->op += 2;
    } else {
        le_w16(d + w->op, code | 7u);
        w->op += 2;
        m -= 7;
        uint8_t nib = (uint8_t)(m < 15 ? m : 15);
        if (w->half == LZ_NO_HALF) {
            w->half = w->op;
            d[w->op++] = nib;
        } else {
            d[w->half] = (uint8_t)(d[w->half] | nib << 4);
            w->half = LZ_NO_HALF;
        }
        if (m >= 15) {
            m -= 15;
            if (m < 255) {
                d[w->op++] = (uint8_t)m;
            } else {
                d[w->op++] = 255;
                m = len - 3;
                if (m < 65536) {
                    le_w16(d + w->op, (uint32_t)m);
                    w->op += 2;
                } else {
                    le_w16(d + w->op, 0);
                    le_w32(d + w->op + 2, (uint32_t)m);
                    w->op += 6;
                }
            }
        }
    }
    lz_bit(w, 1);
}

static inline uint32_t lz_hash(const uint8_t *p)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
    return (v * 2654435761u) >> (32 - LZ_HASH_BITS);
}

int lz77_compress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap, size_t *out_len)
{
    if (cap < lz77_compress_bound(n) || n >= 0xFFFFFFF0u)
        return ERR_RANGE;
    /* Positions are stored + 1 so that 0 means "none". */
    uint32_t *head = mem_calloc((size_t)1 << LZ_HASH_BITS, sizeof *head);
    uint32_t *prev = mem_calloc(LZ_WINDOW, sizeof *prev);
    if (head == NULL || prev == NULL) {
        mem_free(head);
        mem_free(prev);
        return ERR_NOMEM;
    }
    struct lz_out w = {dst, 4, 0, 0, 0, LZ_NO_HALF};
    size_t i = 0;
    while (i < n) {
        size_t best = 0, best_dist = 0;
        if (n - i >= LZ_MIN_MATCH) {
            uint32_t h = lz_hash(src + i);
            uint32_t c = head[h];
            size_t maxlen = n - i;
            for (unsigned depth = 0; c != 0 && depth < LZ_CHAIN_DEPTH; depth++) {
                size_t cand = c - 1;
                if (cand >= i || i - cand > LZ_WINDOW)
                    break;
                const uint8_t *a = src + cand, *b = src + i;
                if (a[best] == b[best] || best == 0) {
                    size_t l = 0;
                    while (l + 8 <= maxlen && memcmp(a + l, b + l, 8) == 0)
                        l += 8;
                    while (l < maxlen && a[l] == b[l])
                        l++;
                    if (l > best) {
                        best = l;
                        best_dist = i - cand;
                        if (l == maxlen || l >= LZ_NICE_MATCH)
                            break;
                    }
                }
                uint32_t nc = prev[cand & (LZ_WINDOW - 1)];
                if (nc == 0 || nc - 1 >= cand)
                    break; /* stale slot from an older window position */
                c = nc;
            }
        }
        size_t step = best >= LZ_MIN_MATCH ? best : 1;
        if (best >= LZ_MIN_MATCH) {
            lz_match(&w, best_dist, best);
        } else {
            dst[w.op++] = src[i];
            lz_bit(&w, 0);
        }
        /* Insert every position covered by this item into the chains. */
        for (size_t k = i; k < i + step; k++) {
            if (n - k < LZ_MIN_MATCH)
                break;
            uint32_t h = lz_hash(src + k);
            prev[k & (LZ_WINDOW - 1)] = head[h];
            head[h] = (uint32_t)(k + 1);
        }
        i += step;
    }
    /* Unused flag bits are set: a match flag with no input left ends the stream. */
    if (w.nbits == 0)
        w.flags = 0xFFFFFFFFu;
    else
        w.flags = (w.flags << (32 - w.nbits)) | ((1u << (32 - w.nbits)) - 1);
    le_w32(dst + w.fpos, w.flags);
    *out_len = w.op;
    mem_free(head);
    mem_free(prev);
    return 0;
}
