/*
 * archive_format: frames and blocks of the archive format (see archive_int.h
 * and docs/archive-format.md).  Every read is bounds-checked against the
 * file bytes; nothing here trusts a length it has not compared.
 */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_d_stableOutBuffer: decompress into the block in place */
#include "archive_int.h"

#include <stdlib.h>
#include <string.h>

#include "../core/mem.h"

static uint32_t crc_tab[8][256];
static int crc_ready;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_tab[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xFF];
    crc_ready = 1;
}

uint32_t ar_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
    if (!crc_ready)
        crc_init(); /* idempotent: a race writes the same values */
    crc = ~crc;
    while (n >= 8) {
        uint32_t a = crc ^ le_r32(p), b = le_r32(p + 4);
        crc = crc_tab[7][a & 0xFF] ^ crc_tab[6][(a >> 8) & 0xFF] ^ crc_tab[5][(a >> 16) & 0xFF] ^
              crc_tab[4][a >> 24] ^ crc_tab[3][b & 0xFF] ^ crc_tab[2][(b >> 8) & 0xFF] ^
              crc_tab[1][(b >> 16) & 0xFF] ^ crc_tab[0][b >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ crc_tab[0][(crc ^ *p++) & 0xFF];
    return ~crc;
}

int ar_frame_at(const uint8_t *base, uint64_t len, uint64_t off, struct ar_frame *f,
                const char **why)
{
    memset(f, 0, sizeof *f);
    if (off > len || len - off < AR_FRAME_HDR_SIZE) {
        *why = "frame header cut off by the end of the file";
        return AR_FRAME_TORN;
    }
    const uint8_t *h = base + off;
    if (le_r32(h) != AR_FRAME_MAGIC) {
        *why = "no frame starts here (bad frame magic)";
        return AR_FRAME_BAD;
    }
    if (ar_crc32c(0, h, 44) != le_r32(h + 44)) {
        *why = "frame header checksum mismatch";
        return AR_FRAME_BAD;
    }
    f->off = off;
    f->type = h[4];
    f->codec = h[5];
    f->meta_len = le_r32(h + 8);
    f->stored = le_r32(h + 12);
    f->raw = le_r32(h + 16);
    f->count = le_r32(h + 20);
    f->a = le_r64(h + 24);
    f->b = le_r64(h + 32);
    f->crc = le_r32(h + 40);
    if (le_r16(h + 6) != AR_FRAME_HDR_SIZE) {
        *why = "unsupported frame header size";
        return AR_FRAME_BAD;
    }
    f->total = (uint64_t)AR_FRAME_HDR_SIZE + f->meta_len + f->stored;
    if (f->total > len - off) {
        *why = "frame runs past the end of the file (torn write)";
        return AR_FRAME_TORN;
    }
    f->meta = h + AR_FRAME_HDR_SIZE;
    f->body = f->meta + f->meta_len;
    return AR_FRAME_OK;
}

int ar_frame_payload_ok(const struct ar_frame *f)
{
    return ar_crc32c(0, f->meta, (size_t)f->meta_len + f->stored) == f->crc;
}

uint64_t ar_resync(const uint8_t *base, uint64_t len, uint64_t from)
{
    static const uint8_t m[4] = {0x45, 0x54, 0x57, 0x46};
    for (uint64_t o = from; o + AR_FRAME_HDR_SIZE <= len; o++) {
        const uint8_t *p = memchr(base + o, m[0], (size_t)(len - o - 3));
        if (p == NULL)
            break;
        o = (uint64_t)(p - base);
        if (o + AR_FRAME_HDR_SIZE > len)
            break;
        if (memcmp(p, m, 4) == 0 && ar_crc32c(0, p, 44) == le_r32(p + 44))
            return o;
    }
    return len;
}

int ar_frame_body(ZSTD_DCtx *dctx, const ZSTD_DDict *ddict, const struct ar_frame *f,
                  uint8_t **buf, size_t *cap, const char **why)
{
    if (f->raw > AR_MAX_RAW) {
        *why = "frame body larger than 1 GiB";
        return ERR_FORMAT;
    }
    size_t need = f->raw ? f->raw : 1;
    if (*cap < need) {
        uint8_t *nb = mem_realloc(*buf, need);
        if (nb == NULL) {
            *why = "out of memory";
            return ERR_NOMEM;
        }
        *buf = nb;
        *cap = need;
    }
    if (f->codec == AR_CODEC_NONE) {
        if (f->stored != f->raw) {
            *why = "stored and raw sizes differ for an uncompressed frame";
            return ERR_FORMAT;
        }
        if (f->raw)
            memcpy(*buf, f->body, f->raw);
        return 0;
    }
    if (f->codec != AR_CODEC_ZSTD) {
        *why = "unknown codec";
        return ERR_FORMAT;
    }
    size_t got = ddict ? ZSTD_decompress_usingDDict(dctx, *buf, f->raw, f->body, f->stored, ddict)
                       : ZSTD_decompressDCtx(dctx, *buf, f->raw, f->body, f->stored);
    if (ZSTD_isError(got)) {
        *why = ZSTD_getErrorName(got);
        return ERR_FORMAT;
    }
    if (got != f->raw) {
        *why = "decompressed size differs from the frame header";
        return ERR_FORMAT;
    }
    return 0;
}

int ar_block_meta_parse(const struct ar_frame *f, struct ar_block_meta *m, const char **why)
{
    const uint8_t *p = f->meta;
    uint64_t len = f->meta_len, off = 6;
    if (len < 6) {
        *why = "block meta too short";
        return ERR_FORMAT;
    }
    m->dict_id = le_r32(p);
    m->nprov = le_r16(p + 4);
    for (uint32_t i = 0; i < m->nprov; i++) {
        if (len - off < 18) {
            *why = "block provider table cut off";
            return ERR_FORMAT;
        }
        m->prov_guid[i] = p + off;
        uint32_t nl = le_r16(p + off + 16);
        off += 18;
        if (len - off < nl) {
            *why = "block provider name cut off";
            return ERR_FORMAT;
        }
        m->prov_name[i] = (const char *)(p + off);
        m->prov_name_len[i] = (uint16_t)nl;
        off += nl;
    }
    if (len - off < 2) {
        *why = "block schema table cut off";
        return ERR_FORMAT;
    }
    m->nschemas = le_r16(p + off);
    off += 2;
    uint64_t tail = m->major >= 3 ? 8 : 4; /* template count (and segment count) */
    if ((len - off) < (uint64_t)m->nschemas * 8 + tail ||
        (m->major < 3 && (len - off) != (uint64_t)m->nschemas * 8 + tail)) {
        *why = "block schema table size mismatch";
        return ERR_FORMAT;
    }
    m->schema_ids = p + off;
    off += (uint64_t)m->nschemas * 8;
    m->ntemplates = le_r32(p + off);
    m->nsegs = 0;
    m->segs = NULL;
    if (m->major < 3)
        return 0;
    m->nsegs = le_r32(p + off + 4);
    off += 8;
    if (len - off != (uint64_t)m->nsegs * 4) {
        *why = "block segment table size mismatch";
        return ERR_FORMAT;
    }
    m->segs = p + off;
    uint64_t sum = 0;
    for (uint32_t k = 0; k < m->nsegs; k++) {
        uint32_t c = le_r32(m->segs + 4 * (uint64_t)k);
        if (c == 0) {
            *why = "block segment with no records";
            return ERR_FORMAT;
        }
        sum += c;
    }
    if (sum != f->count) {
        *why = "block segments do not add up to its record count";
        return ERR_FORMAT;
    }
    return 0;
}

/* Scratch for nt templates (format 3).  0 or ERR_NOMEM with why. */
static int segs_reserve(struct ar_segs *sg, uint64_t nt, const char **why)
{
    if (sg->cap >= nt)
        return 0;
    mem_free(sg->len);
    mem_free(sg->list);
    mem_free(sg->seen);
    sg->len = mem_calloc((size_t)nt, sizeof *sg->len);
    sg->list = mem_alloc((size_t)nt * sizeof *sg->list);
    sg->seen = mem_calloc((size_t)nt, 1);
    if (sg->len == NULL || sg->list == NULL || sg->seen == NULL) {
        mem_free(sg->len);
        mem_free(sg->list);
        mem_free(sg->seen);
        memset(sg, 0, sizeof *sg);
        *why = "out of memory";
        return ERR_NOMEM;
    }
    sg->cap = (size_t)nt;
    sg->nlist = 0;
    return 0;
}

static void segs_free(struct ar_segs *sg)
{
    mem_free(sg->len);
    mem_free(sg->list);
    mem_free(sg->seen);
    memset(sg, 0, sizeof *sg);
}

/* One record of the segment being placed: its template (checked < cap) and payload bytes. */
static inline void segs_add(struct ar_segs *sg, uint32_t t, uint32_t dl)
{
    if (!sg->seen[t]) {
        sg->seen[t] = 1;
        sg->list[sg->nlist++] = t;
    }
    sg->len[t] += dl;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/*
 * Place the segment's payloads from pos on: each of its templates, in
 * template order, starts where the previous ends (tcur[2t + 1]).  Returns
 * where the next segment starts; the scratch is empty again.
 */
static uint64_t segs_place(struct ar_segs *sg, uint64_t *tcur, uint64_t pos)
{
    qsort(sg->list, sg->nlist, sizeof *sg->list, cmp_u32);
    for (uint32_t k = 0; k < sg->nlist; k++) {
        uint32_t t = sg->list[k];
        tcur[2 * (uint64_t)t + 1] = pos;
        pos += sg->len[t];
        sg->len[t] = 0;
        sg->seen[t] = 0;
    }
    sg->nlist = 0;
    return pos;
}

static int ensure(void *pp, size_t *cap, size_t n, const char **why)
{
    if (*cap >= n)
        return 0;
    void **p = pp;
    void *np = mem_realloc(*p, n);
    if (np == NULL) {
        *why = "out of memory";
        return ERR_NOMEM;
    }
    *p = np;
    *cap = n;
    return 0;
}

/*
 * The body lays out, after the templates and slim rows (starting at pos),
 * every template's extended data, then every template's payloads, then the
 * extra bytes (xl).  tcur holds the per-template byte counts (ext, data) on
 * entry and their start offsets on return; *end is where the extra bytes
 * start.  0, or -1 with *why when the lengths do not add up to raw.
 * (Format 3 orders the payloads by segment: its readers take only where
 * they start from here, template 0's data offset, and place each segment
 * with segs_place.)
 */
static int template_offsets(uint64_t *tcur, uint64_t nt, uint64_t pos, uint64_t xl,
                            uint64_t raw, uint64_t *end, const char **why)
{
    for (uint64_t t = 0; t < nt; t++) {
        uint64_t l = tcur[2 * t];
        tcur[2 * t] = pos;
        pos += l;
    }
    for (uint64_t t = 0; t < nt; t++) {
        uint64_t l = tcur[2 * t + 1];
        tcur[2 * t + 1] = pos;
        pos += l;
    }
    if (pos + xl != raw) {
        *why = "record lengths do not add up to the block size";
        return -1;
    }
    *end = pos;
    return 0;
}

int ar_block_decode(ZSTD_DCtx *dctx, const ZSTD_DDict *ddict, const struct ar_frame *f,
                    const struct ar_block_meta *m, struct ar_block *b, const char **why)
{
    int rc = ar_frame_body(dctx, ddict, f, &b->body, &b->body_cap, why);
    if (rc)
        return rc;
    uint64_t n = f->count, raw = f->raw, nt = m->ntemplates;
    uint64_t tl = nt * AR_REC_FIXED;
    if (n == 0 || nt == 0 || nt > 65535 || tl + n * AR_SLIM > raw) {
        *why = n == 0 ? "block with no events" : "block smaller than its record headers";
        return ERR_FORMAT;
    }
    if ((rc = ensure(&b->rows, &b->rows_cap, (size_t)n * AR_REC_FIXED, why)) ||
        (rc = ensure(&b->slim, &b->slim_cap, (size_t)n * AR_SLIM, why)) ||
        (rc = ensure(&b->offs, &b->offs_cap, (size_t)n * 3 * sizeof(uint64_t), why)) ||
        (rc = ensure(&b->tcur, &b->tcur_cap, (size_t)nt * 2 * sizeof(uint64_t), why)))
        return rc;
    const uint8_t *tmpl = b->body;
    for (uint64_t t = 0; t < nt; t++) {
        const uint8_t *tp = tmpl + t * AR_REC_FIXED;
        if (tp[0] != 1) {
            *why = "record template with an unknown encoding version";
            return ERR_FORMAT;
        }
        if (le_r16(tp + 120) >= m->nprov) {
            *why = "record names a provider the block does not list";
            return ERR_FORMAT;
        }
        if (le_r16(tp + 122) > m->nschemas) {
            *why = "record names a schema the block does not list";
            return ERR_FORMAT;
        }
    }
    /* Un-transpose the slim rows: column j holds byte j of every record. */
    const uint8_t *cols = b->body + tl;
    for (size_t j = 0; j < AR_SLIM; j++) {
        const uint8_t *col = cols + j * n;
        uint8_t *dst = b->slim + j;
        for (size_t i = 0; i < n; i++)
            dst[i * AR_SLIM] = col[i];
    }
    /* Per-template stream sizes, then each record's offsets. */
    memset(b->tcur, 0, (size_t)nt * 2 * sizeof(uint64_t));
    uint64_t xl = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *sr = b->slim + i * AR_SLIM;
        uint32_t t = le_r32(sr);
        if (t >= nt) {
            *why = "record names a template the block does not have";
            return ERR_FORMAT;
        }
        b->tcur[2 * t] += le_r32(sr + 68);
        b->tcur[2 * t + 1] += le_r32(sr + 72);
        xl += le_r32(sr + 76);
    }
    uint64_t pos;
    if (template_offsets(b->tcur, nt, tl + n * AR_SLIM, xl, raw, &pos, why))
        return ERR_FORMAT;
    uint64_t dpos = b->tcur[1]; /* the payloads start with template 0's */
    size_t seg_end = 0;
    uint32_t seg = 0;
    if (m->major >= 3 && (rc = segs_reserve(&b->sg, nt, why)))
        return rc;
    uint64_t ts = 0, rts = 0, xo = pos;
    for (size_t i = 0; i < n; i++) {
        if (m->major >= 3 && i == seg_end) {
            /* Format 3: the next segment's payloads, by template in template order. */
            seg_end = i + le_r32(m->segs + 4 * (uint64_t)seg++);
            for (size_t k = i; k < seg_end; k++)
                segs_add(&b->sg, le_r32(b->slim + k * AR_SLIM),
                         le_r32(b->slim + k * AR_SLIM + 72));
            dpos = segs_place(&b->sg, b->tcur, dpos);
        }
        const uint8_t *sr = b->slim + i * AR_SLIM;
        uint32_t t = le_r32(sr);
        uint8_t *r = b->rows + i * AR_REC_FIXED;
        memcpy(r, tmpl + (size_t)t * AR_REC_FIXED, AR_REC_FIXED);
        memcpy(r + 16, sr + 4, 16);  /* pid, tid, cpu, wpp sequence */
        ts += le_r64(sr + 20);
        rts += le_r64(sr + 28) + (m->major >= 2 ? le_r64(sr + 20) : 0);
        le_w64(r + 32, ts);
        le_w64(r + 40, rts);
        memcpy(r + 80, sr + 36, 32); /* activity, related */
        memcpy(r + 112, sr + 68, 8); /* ext and data lengths */
        memcpy(r + 124, sr + 76, 4); /* extra length */
        if (i == 0 || (int64_t)ts < b->tmin)
            b->tmin = (int64_t)ts;
        if (i == 0 || (int64_t)ts > b->tmax)
            b->tmax = (int64_t)ts;
        b->offs[3 * i] = b->tcur[2 * t];
        b->offs[3 * i + 1] = b->tcur[2 * t + 1];
        b->offs[3 * i + 2] = xo;
        b->tcur[2 * t] += le_r32(sr + 68);
        b->tcur[2 * t + 1] += le_r32(sr + 72);
        xo += le_r32(sr + 76);
    }
    b->n = (uint32_t)n;
    return 0;
}

#if (defined(__SSE2__) || defined(_M_X64)) && !defined(ETWHOST_NO_SIMD)
#include <emmintrin.h>

/*
 * 16 records x 16 columns: y[r] byte k = column k's byte of record r, in four
 * rounds of unpacks (written out: the compiler keeps it all in registers).
 */
#define AR_UNPACK(kind, d0, d1, a, b) \
    d0 = _mm_unpacklo_##kind(a, b);      \
    d1 = _mm_unpackhi_##kind(a, b)

static inline void transpose16(const uint8_t *src, size_t stride, uint8_t *dst, size_t dstride)
{
    __m128i x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15;
    __m128i t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15;
    x0 = _mm_loadu_si128((const __m128i *)(const void *)(src + 0 * stride));
    x1 = _mm_loadu_si128((const __m128i *)(const void *)(src + 1 * stride));
    x2 = _mm_loadu_si128((const __m128i *)(const void *)(src + 2 * stride));
    x3 = _mm_loadu_si128((const __m128i *)(const void *)(src + 3 * stride));
    x4 = _mm_loadu_si128((const __m128i *)(const void *)(src + 4 * stride));
    x5 = _mm_loadu_si128((const __m128i *)(const void *)(src + 5 * stride));
    x6 = _mm_loadu_si128((const __m128i *)(const void *)(src + 6 * stride));
    x7 = _mm_loadu_si128((const __m128i *)(const void *)(src + 7 * stride));
    x8 = _mm_loadu_si128((const __m128i *)(const void *)(src + 8 * stride));
    x9 = _mm_loadu_si128((const __m128i *)(const void *)(src + 9 * stride));
    x10 = _mm_loadu_si128((const __m128i *)(const void *)(src + 10 * stride));
    x11 = _mm_loadu_si128((const __m128i *)(const void *)(src + 11 * stride));
    x12 = _mm_loadu_si128((const __m128i *)(const void *)(src + 12 * stride));
    x13 = _mm_loadu_si128((const __m128i *)(const void *)(src + 13 * stride));
    x14 = _mm_loadu_si128((const __m128i *)(const void *)(src + 14 * stride));
    x15 = _mm_loadu_si128((const __m128i *)(const void *)(src + 15 * stride));
    /* rows k, k+1 of records 0..7 (t even) and 8..15 (t odd) */
    AR_UNPACK(epi8, t0, t1, x0, x1);
    AR_UNPACK(epi8, t2, t3, x2, x3);
    AR_UNPACK(epi8, t4, t5, x4, x5);
    AR_UNPACK(epi8, t6, t7, x6, x7);
    AR_UNPACK(epi8, t8, t9, x8, x9);
    AR_UNPACK(epi8, t10, t11, x10, x11);
    AR_UNPACK(epi8, t12, t13, x12, x13);
    AR_UNPACK(epi8, t14, t15, x14, x15);
    /* rows 4q..4q+3 of records 4g..4g+3 in x[4q + g] */
    AR_UNPACK(epi16, x0, x1, t0, t2);
    AR_UNPACK(epi16, x2, x3, t1, t3);
    AR_UNPACK(epi16, x4, x5, t4, t6);
    AR_UNPACK(epi16, x6, x7, t5, t7);
    AR_UNPACK(epi16, x8, x9, t8, t10);
    AR_UNPACK(epi16, x10, x11, t9, t11);
    AR_UNPACK(epi16, x12, x13, t12, t14);
    AR_UNPACK(epi16, x14, x15, t13, t15);
    /* rows 8h..8h+7 of records 2m, 2m+1 in t[8h + m] */
    AR_UNPACK(epi32, t0, t1, x0, x4);
    AR_UNPACK(epi32, t2, t3, x1, x5);
    AR_UNPACK(epi32, t4, t5, x2, x6);
    AR_UNPACK(epi32, t6, t7, x3, x7);
    AR_UNPACK(epi32, t8, t9, x8, x12);
    AR_UNPACK(epi32, t10, t11, x9, x13);
    AR_UNPACK(epi32, t12, t13, x10, x14);
    AR_UNPACK(epi32, t14, t15, x11, x15);
    /* record 2m, 2m+1 */
    AR_UNPACK(epi64, x0, x1, t0, t8);
    AR_UNPACK(epi64, x2, x3, t1, t9);
    AR_UNPACK(epi64, x4, x5, t2, t10);
    AR_UNPACK(epi64, x6, x7, t3, t11);
    AR_UNPACK(epi64, x8, x9, t4, t12);
    AR_UNPACK(epi64, x10, x11, t5, t13);
    AR_UNPACK(epi64, x12, x13, t6, t14);
    AR_UNPACK(epi64, x14, x15, t7, t15);
    _mm_storeu_si128((__m128i *)(void *)(dst + 0 * dstride), x0);
    _mm_storeu_si128((__m128i *)(void *)(dst + 1 * dstride), x1);
    _mm_storeu_si128((__m128i *)(void *)(dst + 2 * dstride), x2);
    _mm_storeu_si128((__m128i *)(void *)(dst + 3 * dstride), x3);
    _mm_storeu_si128((__m128i *)(void *)(dst + 4 * dstride), x4);
    _mm_storeu_si128((__m128i *)(void *)(dst + 5 * dstride), x5);
    _mm_storeu_si128((__m128i *)(void *)(dst + 6 * dstride), x6);
    _mm_storeu_si128((__m128i *)(void *)(dst + 7 * dstride), x7);
    _mm_storeu_si128((__m128i *)(void *)(dst + 8 * dstride), x8);
    _mm_storeu_si128((__m128i *)(void *)(dst + 9 * dstride), x9);
    _mm_storeu_si128((__m128i *)(void *)(dst + 10 * dstride), x10);
    _mm_storeu_si128((__m128i *)(void *)(dst + 11 * dstride), x11);
    _mm_storeu_si128((__m128i *)(void *)(dst + 12 * dstride), x12);
    _mm_storeu_si128((__m128i *)(void *)(dst + 13 * dstride), x13);
    _mm_storeu_si128((__m128i *)(void *)(dst + 14 * dstride), x14);
    _mm_storeu_si128((__m128i *)(void *)(dst + 15 * dstride), x15);
}
#define AR_SSE2 1
#else
#define AR_SSE2 0
#endif

void ar_slim_rows(const uint8_t *cols, uint64_t n, uint64_t first, uint32_t cnt, uint8_t *out,
                  unsigned tiles)
{
    uint32_t k = 0;
#if AR_SSE2
    /* 16 records x 16 columns per step; AR_SLIM is a multiple of 16. */
    for (; k + 16 <= cnt; k += 16) {
        for (uint32_t j = 0; j < AR_SLIM; j += 16)
            if (tiles >> (j / 16) & 1u)
                transpose16(cols + j * n + first + k, (size_t)n, out + (size_t)k * AR_SLIM + j,
                        AR_SLIM);
    }
#endif
    for (; k < cnt; k++)
        for (uint32_t j = 0; j < AR_SLIM; j++)
            out[(size_t)k * AR_SLIM + j] = cols[j * n + first + k];
}

/* Compressed bytes handed to the stream per call: enough output to go on with, no more. */
#define AR_FEED ((size_t)32 << 10)

/*
 * One call of the cursor's stream on the compressed bytes up to end (from
 * where it stopped) into out.  0 when it consumed or produced something, 1
 * when neither, ERR_FORMAT with why on a zstd error.
 */
static int cursor_step(struct ar_cursor *c, ZSTD_outBuffer *out, size_t end, const char **why)
{
    ZSTD_inBuffer in = {c->zsrc, end, c->zpos};
    size_t was = out->pos;
    size_t r = ZSTD_decompressStream(c->zs, out, &in);
    if (ZSTD_isError(r)) {
        *why = ZSTD_getErrorName(r);
        return ERR_FORMAT;
    }
    if (in.pos == c->zpos && out->pos == was)
        return 1;
    c->zpos = in.pos;
    c->zlast = r;
    return 0;
}

/* Decompress the cursor's body up to at least upto bytes.  0, or ERR_FORMAT with why. */
static int cursor_fill(struct ar_cursor *c, size_t upto, const char **why)
{
    ZSTD_outBuffer out = {c->body, c->raw, c->have};
    while (out.pos < upto) {
        if (c->zpos >= c->zsize) {
            *why = "block body ends before its records do";
            return ERR_FORMAT;
        }
        size_t end = c->zsize - c->zpos > AR_FEED ? c->zpos + AR_FEED : c->zsize;
        int rc = cursor_step(c, &out, end, why);
        if (rc == 1)
            *why = "block body does not decompress";
        if (rc)
            return ERR_FORMAT;
        c->have = out.pos;
    }
    return 0;
}

/* Decompress the rest and check it ends where the frame says.  0, or ERR_FORMAT with why. */
static int cursor_finish(struct ar_cursor *c, const char **why)
{
    int rc = cursor_fill(c, c->raw, why);
    ZSTD_outBuffer out = {c->body, c->raw, c->have};
    /* Output is full: only frame ends (last block, checksum) may be left. */
    while (rc == 0 && c->zpos < c->zsize)
        rc = cursor_step(c, &out, c->zsize, why); /* 1: nothing more it takes */
    if (rc == ERR_FORMAT)
        return rc;
    if (c->zpos != c->zsize || c->zlast != 0 || out.pos != c->raw) {
        *why = "decompressed size differs from the frame header";
        return ERR_FORMAT;
    }
    return 0;
}

/* Start decompressing f's body into c->body as a stream.  0, or ERR_* with why. */
static int cursor_stream(const ZSTD_DDict *ddict, const struct ar_frame *f, struct ar_cursor *c,
                         const char **why)
{
    if (c->zs == NULL && (c->zs = ZSTD_createDCtx()) == NULL) {
        *why = "out of memory";
        return ERR_NOMEM;
    }
    size_t e = ZSTD_DCtx_reset(c->zs, ZSTD_reset_session_and_parameters);
    if (!ZSTD_isError(e))
        e = ZSTD_DCtx_setParameter(c->zs, ZSTD_d_stableOutBuffer, 1);
    if (!ZSTD_isError(e) && ddict)
        e = ZSTD_DCtx_refDDict(c->zs, ddict);
    if (ZSTD_isError(e)) {
        *why = ZSTD_getErrorName(e);
        return ERR_FORMAT;
    }
    c->zsrc = f->body;
    c->zsize = f->stored;
    c->zpos = c->have = 0;
    c->raw = f->raw;
    c->zlast = 1;
    return 0;
}

int ar_cursor_open(ZSTD_DCtx *dctx, const ZSTD_DDict *ddict, const struct ar_frame *f,
                   const struct ar_block_meta *m, struct ar_cursor *c, const char **why)
{
    c->n = c->next = c->lost = 0;
    c->err = NULL;
    /*
     * The body buffer is a big block (huge pages: a 16 MiB block faulted in
     * 4 KiB at a time cost more than decompressing it), grown by replacing it.
     */
    size_t need = f->raw && f->raw <= AR_MAX_RAW ? f->raw : 1;
    if (c->body_cap < need) {
        size_t cap = (need + ((size_t)1 << 20) - 1) & ~(((size_t)1 << 20) - 1);
        mem_free_big(c->body, c->body_cap);
        c->body_cap = 0;
        c->body = mem_alloc_big(cap);
        if (c->body == NULL) {
            *why = "out of memory";
            return ERR_NOMEM;
        }
        c->body_cap = cap;
    }
    /* Format 3 zstd bodies stream (see struct ar_cursor); others are decompressed whole. */
    int rc;
    c->raw = c->have = f->raw;
    c->zsize = c->zpos = c->zlast = 0;
    if (m->major >= 3 && f->codec == AR_CODEC_ZSTD && f->raw <= AR_MAX_RAW)
        rc = cursor_stream(ddict, f, c, why);
    else
        rc = ar_frame_body(dctx, ddict, f, &c->body, &c->body_cap, why);
    if (rc)
        return rc;
    uint64_t n = f->count, raw = f->raw, nt = m->ntemplates;
    uint64_t tl = nt * AR_REC_FIXED;
    if (n == 0 || nt == 0 || nt > 65535 || tl + n * AR_SLIM > raw) {
        *why = n == 0 ? "block with no events" : "block smaller than its record headers";
        return ERR_FORMAT;
    }
    if ((rc = cursor_fill(c, (size_t)(tl + n * AR_SLIM), why)) ||
        (rc = ensure(&c->tcur, &c->tcur_cap, (size_t)nt * 2 * sizeof(uint64_t), why)))
        return rc;
    const uint8_t *tmpl = c->body;
    for (uint64_t t = 0; t < nt; t++) {
        const uint8_t *tp = tmpl + t * AR_REC_FIXED;
        if (tp[0] != 1) {
            *why = "record template with an unknown encoding version";
            return ERR_FORMAT;
        }
        if (le_r16(tp + 120) >= m->nprov) {
            *why = "record names a provider the block does not list";
            return ERR_FORMAT;
        }
        if (le_r16(tp + 122) > m->nschemas) {
            *why = "record names a schema the block does not list";
            return ERR_FORMAT;
        }
    }
    /* Per-template stream sizes, read a chunk of slim rows at a time. */
    memset(c->tcur, 0, (size_t)nt * 2 * sizeof(uint64_t));
    const uint8_t *cols = c->body + tl;
    uint64_t xl = 0;
    for (uint64_t i0 = 0; i0 < n; i0 += AR_CHUNK) {
        uint32_t cnt = n - i0 < AR_CHUNK ? (uint32_t)(n - i0) : AR_CHUNK;
        ar_slim_rows(cols, n, i0, cnt, c->slim, AR_TILES_INDEX);
        for (uint32_t k = 0; k < cnt; k++) {
            const uint8_t *sr = c->slim + (size_t)k * AR_SLIM;
            uint32_t t = le_r32(sr);
            if (t >= nt) {
                *why = "record names a template the block does not have";
                return ERR_FORMAT;
            }
            c->tcur[2 * t] += le_r32(sr + 68);
            c->tcur[2 * t + 1] += le_r32(sr + 72);
            xl += le_r32(sr + 76);
        }
    }
    uint64_t pos;
    if (template_offsets(c->tcur, nt, tl + n * AR_SLIM, xl, raw, &pos, why))
        return ERR_FORMAT;
    c->xo = pos;
    c->dpos = c->tcur[1]; /* the payloads start with template 0's */
    /* The extended items now; the extra bytes (after the payloads) are rare: all then. */
    if ((rc = xl ? cursor_finish(c, why) : cursor_fill(c, (size_t)c->dpos, why)))
        return rc;
    c->nsegs = c->seg = c->seg_end = 0;
    if (m->major >= 3) {
        if ((rc = segs_reserve(&c->sg, nt, why)) ||
            (rc = ensure(&c->segs, &c->segs_cap, (size_t)m->nsegs * sizeof *c->segs, why)))
            return rc;
        for (uint32_t k = 0; k < m->nsegs; k++)
            c->segs[k] = le_r32(m->segs + 4 * (uint64_t)k);
        c->nsegs = m->nsegs;
    }
    c->ts = c->rts = 0;
    c->rts_rel = m->major >= 2;
    c->nt = (uint32_t)nt;
    c->n = (uint32_t)n;
    return 0;
}

uint32_t ar_cursor_items(struct ar_cursor *c, struct ar_item *items, uint32_t max)
{
    uint32_t left = c->n - c->next;
    uint32_t cnt = left < max ? left : max;
    if (cnt > AR_CHUNK)
        cnt = AR_CHUNK;
    if (cnt == 0)
        return 0;
    uint64_t tl = (uint64_t)c->nt * AR_REC_FIXED;
    if (c->nsegs && c->next + cnt > c->seg_end) /* a segment starts in this chunk: stop there */
        cnt = c->next < c->seg_end ? c->seg_end - c->next : cnt;
    if (c->nsegs && c->next == c->seg_end) {
        /* Format 3: place the next segment's payloads (checked at open: it exists). */
        uint32_t first = c->seg_end, end = first + c->segs[c->seg++];
        for (uint32_t i0 = first; i0 < end; i0 += AR_CHUNK) {
            uint32_t m = end - i0 < AR_CHUNK ? end - i0 : AR_CHUNK;
            ar_slim_rows(c->body + tl, c->n, i0, m, c->seg_slim, AR_TILES_INDEX);
            for (uint32_t k = 0; k < m; k++)
                segs_add(&c->sg, le_r32(c->seg_slim + (size_t)k * AR_SLIM),
                         le_r32(c->seg_slim + (size_t)k * AR_SLIM + 72));
        }
        c->dpos = segs_place(&c->sg, c->tcur, c->dpos);
        c->seg_end = end;
        int rc = c->seg == c->nsegs ? cursor_finish(c, &c->err)
                                    : cursor_fill(c, (size_t)c->dpos, &c->err);
        if (rc) {
            c->lost = c->n - c->next; /* the rest of the block is lost */
            c->n = c->next;
            return 0;
        }
        if (c->next + cnt > end)
            cnt = end - c->next;
    }
    ar_slim_rows(c->body + tl, c->n, c->next, cnt, c->slim, AR_TILES_ALL);
    for (uint32_t k = 0; k < cnt; k++) {
        const uint8_t *sr = c->slim + (size_t)k * AR_SLIM;
        uint32_t t = le_r32(sr); /* checked when the block was opened */
        struct ar_item *it = &items[k];
        uint64_t d = le_r64(sr + 20);
        c->ts += d;
        c->rts += le_r64(sr + 28) + (c->rts_rel ? d : 0);
        it->slim = sr;
        it->tmpl = c->body + (size_t)t * AR_REC_FIXED;
        it->t = t;
        it->ts = c->ts;
        it->rts = c->rts;
        it->eo = c->tcur[2 * t];
        it->dof = c->tcur[2 * t + 1];
        it->xo = c->xo;
        c->tcur[2 * t] += le_r32(sr + 68);
        c->tcur[2 * t + 1] += le_r32(sr + 72);
        c->xo += le_r32(sr + 76);
    }
    c->next += cnt;
    return cnt;
}

void ar_item_row(const struct ar_item *it, uint8_t *r)
{
    const uint8_t *sr = it->slim;
    memcpy(r, it->tmpl, AR_REC_FIXED);
    memcpy(r + 16, sr + 4, 16);  /* pid, tid, cpu, wpp sequence */
    le_w64(r + 32, it->ts);
    le_w64(r + 40, it->rts);
    memcpy(r + 80, sr + 36, 32); /* activity, related */
    memcpy(r + 112, sr + 68, 8); /* ext and data lengths */
    memcpy(r + 124, sr + 76, 4); /* extra length */
}

void ar_cursor_free(struct ar_cursor *c)
{
    ZSTD_freeDCtx(c->zs);
    c->zs = NULL;
    mem_free_big(c->body, c->body_cap);
    mem_free(c->tcur);
    mem_free(c->segs);
    segs_free(&c->sg);
    c->body = NULL;
    c->tcur = NULL;
    c->segs = NULL;
    c->body_cap = c->tcur_cap = c->segs_cap = 0;
    c->n = c->next = 0;
}

void ar_block_free(struct ar_block *b)
{
    mem_free(b->rows);
    mem_free(b->body);
    mem_free(b->offs);
    mem_free(b->slim);
    mem_free(b->tcur);
    segs_free(&b->sg);
    memset(b, 0, sizeof *b);
}
