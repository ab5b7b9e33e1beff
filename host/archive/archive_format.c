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
    if ((len - off) != (uint64_t)m->nschemas * 8) {
        *why = "block schema table size mismatch";
        return ERR_FORMAT;
    }
    m->schema_ids = p + off;
    return 0;
}

int ar_block_decode(ZSTD_DCtx *dctx, const ZSTD_DDict *ddict, const struct ar_frame *f,
                    const struct ar_block_meta *m, struct ar_block *b, const char **why)
{
    int rc = ar_frame_body(dctx, ddict, f, &b->body, &b->body_cap, why);
    if (rc)
        return rc;
    uint64_t n = f->count, raw = f->raw;
    if (n == 0 || n * AR_REC_FIXED > raw) {
        *why = n == 0 ? "block with no events" : "block smaller than its record headers";
        return ERR_FORMAT;
    }
    size_t rows = (size_t)n * AR_REC_FIXED;
    if (b->rows_cap < rows) {
        uint8_t *nr = mem_realloc(b->rows, rows);
        if (nr == NULL) {
            *why = "out of memory";
            return ERR_NOMEM;
        }
        b->rows = nr;
        b->rows_cap = rows;
    }
    /* Un-transpose: column j holds byte j of every record. */
    for (size_t j = 0; j < AR_REC_FIXED; j++) {
        const uint8_t *col = b->body + j * n;
        uint8_t *dst = b->rows + j;
        for (size_t i = 0; i < n; i++)
            dst[i * AR_REC_FIXED] = col[i];
    }
    uint64_t el = 0, dl = 0, xl = 0;
    uint64_t ts = 0, rts = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t *r = b->rows + i * AR_REC_FIXED;
        if (r[0] != 1) {
            *why = "record with an unknown encoding version";
            return ERR_FORMAT;
        }
        ts += ar_r64(r + 32);
        rts += ar_r64(r + 40);
        ar_w64(r + 32, ts);
        ar_w64(r + 40, rts);
        if ((int64_t)ts < b->tmin || i == 0)
            b->tmin = (int64_t)ts;
        if ((int64_t)ts > b->tmax || i == 0)
            b->tmax = (int64_t)ts;
        el += ar_r32(r + 112);
        dl += ar_r32(r + 116);
        xl += ar_r32(r + 124);
        if (ar_r16(r + 120) >= m->nprov) {
            *why = "record names a provider the block does not list";
            return ERR_FORMAT;
        }
        if (ar_r16(r + 122) > m->nschemas) {
            *why = "record names a schema the block does not list";
            return ERR_FORMAT;
        }
    }
    if (rows + el + dl + xl != raw) {
        *why = "record lengths do not add up to the block size";
        return ERR_FORMAT;
    }
    b->n = (uint32_t)n;
    b->ext = b->body + rows;
    b->data = b->ext + el;
    b->extra = b->data + dl;
    return 0;
}

void ar_block_free(struct ar_block *b)
{
    mem_free(b->rows);
    mem_free(b->body);
    memset(b, 0, sizeof *b);
}
