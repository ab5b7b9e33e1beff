/*
 * archive_format: frames and blocks of the archive format (see archive_int.h
 * and docs/archive-format.md).  Every read is bounds-checked against the
 * file bytes; nothing here trusts a length it has not compared.
 */
#include "archive_int.h"

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
        uint32_t a = crc ^ ar_r32(p), b = ar_r32(p + 4);
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
    if (ar_r32(h) != AR_FRAME_MAGIC) {
        *why = "no frame starts here (bad frame magic)";
        return AR_FRAME_BAD;
    }
    if (ar_crc32c(0, h, 44) != ar_r32(h + 44)) {
        *why = "frame header checksum mismatch";
        return AR_FRAME_BAD;
    }
    f->off = off;
    f->type = h[4];
    f->codec = h[5];
    f->meta_len = ar_r32(h + 8);
    f->stored = ar_r32(h + 12);
    f->raw = ar_r32(h + 16);
    f->count = ar_r32(h + 20);
    f->a = ar_r64(h + 24);
    f->b = ar_r64(h + 32);
    f->crc = ar_r32(h + 40);
    if (ar_r16(h + 6) != AR_FRAME_HDR_SIZE) {
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
        if (memcmp(p, m, 4) == 0 && ar_crc32c(0, p, 44) == ar_r32(p + 44))
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
    m->dict_id = ar_r32(p);
    m->nprov = ar_r16(p + 4);
    for (uint32_t i = 0; i < m->nprov; i++) {
        if (len - off < 18) {
            *why = "block provider table cut off";
            return ERR_FORMAT;
        }
        m->prov_guid[i] = p + off;
        uint32_t nl = ar_r16(p + off + 16);
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
    m->nschemas = ar_r16(p + off);
    off += 2;
    if ((len - off) != (uint64_t)m->nschemas * 8 + 4) {
        *why = "block schema table size mismatch";
        return ERR_FORMAT;
    }
    m->schema_ids = p + off;
    m->ntemplates = ar_r32(p + off + (uint64_t)m->nschemas * 8);
    return 0;
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
        if (ar_r16(tp + 120) >= m->nprov) {
            *why = "record names a provider the block does not list";
            return ERR_FORMAT;
        }
        if (ar_r16(tp + 122) > m->nschemas) {
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
        uint32_t t = ar_r32(sr);
        if (t >= nt) {
            *why = "record names a template the block does not have";
            return ERR_FORMAT;
        }
        b->tcur[2 * t] += ar_r32(sr + 68);
        b->tcur[2 * t + 1] += ar_r32(sr + 72);
        xl += ar_r32(sr + 76);
    }
    uint64_t pos = tl + n * AR_SLIM;
    for (uint64_t t = 0; t < nt; t++) {
        uint64_t l = b->tcur[2 * t];
        b->tcur[2 * t] = pos;
        pos += l;
    }
    for (uint64_t t = 0; t < nt; t++) {
        uint64_t l = b->tcur[2 * t + 1];
        b->tcur[2 * t + 1] = pos;
        pos += l;
    }
    if (pos + xl != raw) {
        *why = "record lengths do not add up to the block size";
        return ERR_FORMAT;
    }
    uint64_t ts = 0, rts = 0, xo = pos;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *sr = b->slim + i * AR_SLIM;
        uint32_t t = ar_r32(sr);
        uint8_t *r = b->rows + i * AR_REC_FIXED;
        memcpy(r, tmpl + (size_t)t * AR_REC_FIXED, AR_REC_FIXED);
        memcpy(r + 16, sr + 4, 16);  /* pid, tid, cpu, wpp sequence */
        ts += ar_r64(sr + 20);
        rts += ar_r64(sr + 28);
        ar_w64(r + 32, ts);
        ar_w64(r + 40, rts);
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
        b->tcur[2 * t] += ar_r32(sr + 68);
        b->tcur[2 * t + 1] += ar_r32(sr + 72);
        xo += ar_r32(sr + 76);
    }
    b->n = (uint32_t)n;
    return 0;
}

void ar_block_free(struct ar_block *b)
{
    mem_free(b->rows);
    mem_free(b->body);
    mem_free(b->offs);
    mem_free(b->slim);
    mem_free(b->tcur);
    memset(b, 0, sizeof *b);
}
