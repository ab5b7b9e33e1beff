/*
 * kafka_spool: bounded, crash-safe on-disk FIFO of Kafka messages (see
 * kafka_spool.h for the format and the contract).
 */
#include "kafka_spool.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "kafka_os.h"
#include "psup_crc32c.h"
#include "psup_le.h"

#define FRAME_MAGIC 0x31534b45u /* "EKS1" little-endian */
#define FRAME_HDR 32u
#define ACK_MAGIC 0x31414b45u   /* "EKA1" */
#define REC_FIXED 24u           /* u32 len + 20 bytes of fixed fields */
#define MAX_RAW (1u << 30)      /* sanity bound on one frame */
#define SEG_PREFIX "seg-"
#define SEG_SUFFIX ".kspool"

/* Per-message window states. */
#define ST_NONE 0u
#define ST_OUT 1u /* handed out, not acknowledged */
#define ST_ACK 2u

struct kseg {
    uint64_t id;
    uint64_t first_seq;
    uint64_t end_seq;      /* one past the last message in a valid frame */
    uint64_t valid_bytes;  /* end of the last valid frame */
    uint64_t corrupt_seen; /* corruption before this offset was already counted */
};

struct bytes {
    uint8_t *p;
    size_t len, cap;
};

struct kspool {
    struct kspool_cfg cfg;
    char *dir;
    struct kos_lock *lock;
    char err[512];

    struct kseg *segs;
    size_t nsegs, segs_cap;
    uint64_t next_id;

    /* Writer: the open segment is segs[nsegs - 1] when wf != NULL. */
    FILE *wf;
    struct bytes praw; /* open block, raw records */
    uint32_t pn;
    uint64_t pfirst;
    uint64_t pstart_ms;
    struct bytes cbuf; /* compression output */
    ZSTD_CCtx *cctx;

    /* Reader. */
    size_t rseg;
    uint64_t roff;
    FILE *rf;
    uint64_t rf_id;
    struct bytes blk;  /* decoded frame */
    struct bytes rbuf; /* compressed frame as read */
    uint32_t blk_n, blk_i;
    size_t blk_pos;
    uint64_t blk_seq;
    ZSTD_DCtx *dctx;

    uint64_t next_seq;  /* sequence number of the next append */
    uint64_t read_seq;  /* next sequence number to hand out */
    uint64_t acked_seq; /* everything below is acknowledged */
    uint64_t saved_ack; /* acked_seq as last written to the ack file */
    uint8_t *states;    /* window ring, cfg.window entries */

    uint64_t appended, dropped, corrupt_frames, corrupt_records, corrupt_bytes;
    uint64_t disk_bytes; /* sum of segs[].valid_bytes */
};

/* ---- helpers ---- */

static void set_err(struct kspool *s, const char *fmt, ...)
#if defined(__MINGW32__) && defined(__MINGW_PRINTF_FORMAT)
    __attribute__((format(__MINGW_PRINTF_FORMAT, 2, 3)))
#elif defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void set_err(struct kspool *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
}

static int bytes_reserve(struct bytes *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap < b->len + extra)
        ncap *= 2;
    uint8_t *n = realloc(b->p, ncap);
    if (n == NULL)
        return -1;
    b->p = n;
    b->cap = ncap;
    return 0;
}

static void seg_path(const struct kspool *s, uint64_t id, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/" SEG_PREFIX "%016" PRIx64 SEG_SUFFIX, s->dir, id);
}

/* Header of one frame, parsed. */
struct frame {
    uint64_t first_seq;
    uint32_t n, raw_len, comp_len, payload_crc;
};

static int frame_parse(const uint8_t *h, struct frame *f)
{
    if (psup_get32(h) != FRAME_MAGIC)
        return -1;
    if (psup_crc32c(0, h + 8, FRAME_HDR - 8) != psup_get32(h + 4))
        return -1;
    f->first_seq = psup_get64(h + 8);
    f->n = psup_get32(h + 16);
    f->raw_len = psup_get32(h + 20);
    f->comp_len = psup_get32(h + 24);
    f->payload_crc = psup_get32(h + 28);
    if (f->n == 0 || f->raw_len > MAX_RAW || f->comp_len > MAX_RAW)
        return -1;
    return 0;
}

/*
 * Find the next valid frame header in f at or after off (below limit).
 * Returns 0 with *at and *fr set, or -1 if none.  A header counts as valid
 * if its CRC checks and its payload fits before limit.
 */
static int frame_find(FILE *f, uint64_t off, uint64_t limit, uint64_t *at, struct frame *fr)
{
    uint8_t buf[65536 + FRAME_HDR];
    /* The common case: a good frame right here. */
    if (off + FRAME_HDR <= limit && kos_seek(f, off) == 0 &&
        fread(buf, 1, FRAME_HDR, f) == FRAME_HDR && frame_parse(buf, fr) == 0 &&
        off + FRAME_HDR + (uint64_t)fr->comp_len <= limit) {
        *at = off;
        return 0;
    }
    while (off + FRAME_HDR <= limit) {
        if (kos_seek(f, off) != 0)
            return -1;
        size_t want = sizeof buf;
        if ((uint64_t)want > limit - off)
            want = (size_t)(limit - off);
        size_t got = fread(buf, 1, want, f);
        if (got < FRAME_HDR)
            return -1;
        for (size_t i = 0; i + FRAME_HDR <= got; i++) {
            if (buf[i] != 0x45 || psup_get32(buf + i) != FRAME_MAGIC)
                continue;
            if (frame_parse(buf + i, fr) == 0 &&
                off + i + FRAME_HDR + (uint64_t)fr->comp_len <= limit) {
                *at = off + i;
                return 0;
            }
        }
        /* Keep the last header-sized window: a header may straddle reads. */
        off += got - FRAME_HDR + 1;
    }
    return -1;
}

/* ---- segment list ---- */

static int segs_push(struct kspool *s, const struct kseg *g)
{
    if (s->nsegs == s->segs_cap) {
        size_t ncap = s->segs_cap ? s->segs_cap * 2 : 16;
        struct kseg *n = realloc(s->segs, ncap * sizeof *n);
        if (n == NULL)
            return -1;
        s->segs = n;
        s->segs_cap = ncap;
    }
    s->segs[s->nsegs++] = *g;
    return 0;
}

static void reader_close_file(struct kspool *s)
{
    if (s->rf) {
        fclose(s->rf);
        s->rf = NULL;
    }
}

static void reader_reset(struct kspool *s)
{
    reader_close_file(s);
    s->rseg = 0;
    s->roff = 0;
    s->blk_n = s->blk_i = 0;
    s->blk_pos = 0;
}

/* Remove the head segment from disk and from the list. */
static void seg_remove_head(struct kspool *s)
{
    char path[4200];
    if (s->nsegs == 0)
        return;
    if (s->rf && s->rf_id == s->segs[0].id)
        reader_close_file(s);
    if (s->wf && s->nsegs == 1) {
        fclose(s->wf);
        s->wf = NULL;
    }
    seg_path(s, s->segs[0].id, path, sizeof path);
    remove(path);
    s->disk_bytes -= s->segs[0].valid_bytes;
    memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof *s->segs);
    s->nsegs--;
    if (s->rseg > 0) {
        s->rseg--;
    } else {
        /* The reader was in the removed segment: continue at the next one. */
        s->roff = 0;
        s->blk_n = s->blk_i = 0;
        s->blk_pos = 0;
    }
}

static int save_ack(struct kspool *s)
{
    char path[4200], tmp[4200], eb[256];
    uint8_t rec[16];
    if (s->acked_seq == s->saved_ack)
        return 0;
    psup_put32(rec, ACK_MAGIC);
    psup_put64(rec + 4, s->acked_seq);
    psup_put32(rec + 12, psup_crc32c(0, rec, 12));
    snprintf(path, sizeof path, "%s/ack", s->dir);
    snprintf(tmp, sizeof tmp, "%s/ack.tmp", s->dir);
    FILE *f = fopen(tmp, "wb");
    if (f == NULL || fwrite(rec, 1, sizeof rec, f) != sizeof rec || kos_fsync(f) != 0) {
        set_err(s, "cannot write \"%s\": %s", tmp, kos_last_error(eb, sizeof eb));
        if (f)
            fclose(f);
        return KSPOOL_ERR;
    }
    fclose(f);
#if defined(_WIN32)
    remove(path);
#endif
    if (rename(tmp, path) != 0) {
        set_err(s, "cannot rename \"%s\": %s", tmp, kos_last_error(eb, sizeof eb));
        return KSPOOL_ERR;
    }
    s->saved_ack = s->acked_seq;
    return KSPOOL_OK;
}

static uint64_t load_ack(struct kspool *s)
{
    char path[4200];
    uint8_t rec[16];
    snprintf(path, sizeof path, "%s/ack", s->dir);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    size_t n = fread(rec, 1, sizeof rec, f);
    fclose(f);
    /* A bad ack file only costs duplicates: everything on disk is sent again. */
    if (n != sizeof rec || psup_get32(rec) != ACK_MAGIC ||
        psup_crc32c(0, rec, 12) != psup_get32(rec + 12))
        return 0;
    return psup_get64(rec + 4);
}

/* Delete head segments whose messages are all acknowledged. */
static void trim_acked(struct kspool *s)
{
    while (s->nsegs > 0) {
        const struct kseg *g = &s->segs[0];
        int is_writer = s->wf != NULL && s->nsegs == 1;
        if (g->end_seq > s->acked_seq)
            break;
        /* The open segment goes only when nothing more is buffered for it. */
        if (is_writer && s->pn > 0)
            break;
        seg_remove_head(s);
    }
}

static void advance_acked(struct kspool *s)
{
    uint64_t before = s->acked_seq;
    uint32_t w = s->cfg.window;
    while (s->acked_seq < s->read_seq && s->states[s->acked_seq % w] == ST_ACK) {
        s->states[s->acked_seq % w] = ST_NONE;
        s->acked_seq++;
    }
    if (s->acked_seq != before)
        trim_acked(s);
}

/* ---- writer ---- */

static int writer_open_segment(struct kspool *s)
{
    char path[4200], eb[256];
    struct kseg g;
    memset(&g, 0, sizeof g);
    g.id = s->next_id;
    g.first_seq = g.end_seq = s->pfirst;
    seg_path(s, g.id, path, sizeof path);
    s->wf = fopen(path, "wb");
    if (s->wf == NULL) {
        set_err(s, "cannot create spool segment \"%s\": %s", path, kos_last_error(eb, sizeof eb));
        return KSPOOL_ERR;
    }
    if (segs_push(s, &g)) {
        fclose(s->wf);
        s->wf = NULL;
        remove(path);
        set_err(s, "out of memory");
        return KSPOOL_ERR;
    }
    s->next_id++;
    return KSPOOL_OK;
}

/* Close the open segment (fsync'd) so the next frame starts a new one. */
static int writer_close_segment(struct kspool *s)
{
    int rc = KSPOOL_OK;
    char eb[256];
    if (s->wf == NULL)
        return KSPOOL_OK;
    if (kos_fsync(s->wf) != 0) {
        set_err(s, "cannot sync spool segment: %s", kos_last_error(eb, sizeof eb));
        rc = KSPOOL_ERR;
    }
    fclose(s->wf);
    s->wf = NULL;
    return rc;
}

/* Write the open block as one compressed frame. */
static int flush_block(struct kspool *s)
{
    char eb[256], path[4200];
    uint8_t h[FRAME_HDR];
    if (s->pn == 0)
        return KSPOOL_OK;
    if (s->wf == NULL && writer_open_segment(s) != KSPOOL_OK)
        return KSPOOL_ERR;
    size_t bound = ZSTD_compressBound(s->praw.len);
    s->cbuf.len = 0;
    if (bytes_reserve(&s->cbuf, bound)) {
        set_err(s, "out of memory compressing a spool frame");
        return KSPOOL_ERR;
    }
    size_t clen = ZSTD_compressCCtx(s->cctx, s->cbuf.p, bound, s->praw.p, s->praw.len,
                                    s->cfg.zstd_level);
    if (ZSTD_isError(clen)) {
        set_err(s, "zstd: %s", ZSTD_getErrorName(clen));
        return KSPOOL_ERR;
    }
    psup_put32(h, FRAME_MAGIC);
    psup_put64(h + 8, s->pfirst);
    psup_put32(h + 16, s->pn);
    psup_put32(h + 20, (uint32_t)s->praw.len);
    psup_put32(h + 24, (uint32_t)clen);
    psup_put32(h + 28, psup_crc32c(0, s->cbuf.p, clen));
    psup_put32(h + 4, psup_crc32c(0, h + 8, FRAME_HDR - 8));
    struct kseg *g = &s->segs[s->nsegs - 1];
    if (fwrite(h, 1, FRAME_HDR, s->wf) != FRAME_HDR || fwrite(s->cbuf.p, 1, clen, s->wf) != clen ||
        fflush(s->wf) != 0) {
        /*
         * Cut the segment back to its last whole frame and start a new one next
         * time, so a half-written frame never sits in front of good ones.  The
         * block stays buffered and is written again later.
         */
        set_err(s, "cannot write spool segment: %s", kos_last_error(eb, sizeof eb));
        fclose(s->wf);
        s->wf = NULL;
        seg_path(s, g->id, path, sizeof path);
        kos_truncate(path, g->valid_bytes);
        return KSPOOL_ERR;
    }
    g->valid_bytes += FRAME_HDR + clen;
    g->end_seq = s->pfirst + s->pn;
    s->disk_bytes += FRAME_HDR + clen;
    s->pfirst += s->pn;
    s->pn = 0;
    s->praw.len = 0;
    if (g->valid_bytes >= s->cfg.segment_bytes)
        return writer_close_segment(s);
    return KSPOOL_OK;
}

static size_t rec_size(const struct kspool_rec *r)
{
    size_t n = REC_FIXED + r->topic_len + (r->key ? r->key_len : 0) + r->value_len;
    for (uint32_t i = 0; i < r->nhdrs; i++)
        n += 6 + r->hdrs[i].name_len + r->hdrs[i].value_len;
    return n;
}

static void rec_encode(uint8_t *p, const struct kspool_rec *r, size_t size)
{
    psup_put32(p, (uint32_t)(size - 4));
    psup_put64(p + 4, (uint64_t)r->ts_ms);
    psup_put16(p + 12, (uint16_t)r->topic_len);
    p[14] = r->key ? 1 : 0;
    p[15] = (uint8_t)r->nhdrs;
    psup_put32(p + 16, r->key ? (uint32_t)r->key_len : 0);
    psup_put32(p + 20, (uint32_t)r->value_len);
    p += REC_FIXED;
    memcpy(p, r->topic, r->topic_len);
    p += r->topic_len;
    if (r->key && r->key_len) {
        memcpy(p, r->key, r->key_len);
        p += r->key_len;
    }
    for (uint32_t i = 0; i < r->nhdrs; i++) {
        psup_put16(p, (uint16_t)r->hdrs[i].name_len);
        psup_put32(p + 2, (uint32_t)r->hdrs[i].value_len);
        p += 6;
        memcpy(p, r->hdrs[i].name, r->hdrs[i].name_len);
        p += r->hdrs[i].name_len;
        if (r->hdrs[i].value_len)
            memcpy(p, r->hdrs[i].value, r->hdrs[i].value_len);
        p += r->hdrs[i].value_len;
    }
    if (r->value_len)
        memcpy(p, r->value, r->value_len);
}

/* Decode the record at blk[pos]; returns its total size or 0 if malformed. */
static size_t rec_decode(const uint8_t *p, size_t avail, struct kspool_rec *r)
{
    if (avail < REC_FIXED)
        return 0;
    size_t size = (size_t)psup_get32(p) + 4;
    if (size > avail || size < REC_FIXED)
        return 0;
    const uint8_t *end = p + size;
    memset(r, 0, sizeof *r);
    r->ts_ms = (int64_t)psup_get64(p + 4);
    r->topic_len = psup_get16(p + 12);
    int has_key = p[14] & 1;
    r->nhdrs = p[15];
    r->key_len = psup_get32(p + 16);
    r->value_len = psup_get32(p + 20);
    if (r->nhdrs > KSPOOL_MAX_HDRS)
        return 0;
    const uint8_t *q = p + REC_FIXED;
    if ((size_t)(end - q) < r->topic_len + r->key_len)
        return 0;
    r->topic = (const char *)q;
    q += r->topic_len;
    r->key = has_key ? (const void *)q : NULL;
    q += r->key_len;
    if (!has_key)
        r->key_len = 0;
    for (uint32_t i = 0; i < r->nhdrs; i++) {
        if (end - q < 6)
            return 0;
        size_t nl = psup_get16(q), vl = psup_get32(q + 2);
        q += 6;
        if ((size_t)(end - q) < nl + vl)
            return 0;
        r->hdrs[i].name = (const char *)q;
        r->hdrs[i].name_len = nl;
        r->hdrs[i].value = q + nl;
        r->hdrs[i].value_len = vl;
        q += nl + vl;
    }
    if ((size_t)(end - q) != r->value_len)
        return 0;
    r->value = q;
    return size;
}

/* Count the not-yet-acknowledged messages in [from, to) as dropped. */
static uint64_t count_unacked(struct kspool *s, uint64_t from, uint64_t to)
{
    uint64_t n = 0;
    uint32_t w = s->cfg.window;
    for (uint64_t q = from; q < to; q++) {
        if (q < s->read_seq && q - s->acked_seq < w) {
            if (s->states[q % w] != ST_ACK)
                n++;
            s->states[q % w] = ST_NONE;
        } else {
            n++;
        }
    }
    return n;
}

/* drop_oldest: delete the oldest segment, counting what was lost. */
static int drop_head(struct kspool *s)
{
    if (s->nsegs == 0 && s->pn > 0 && flush_block(s) != KSPOOL_OK)
        return KSPOOL_ERR;
    if (s->nsegs == 0)
        return KSPOOL_NONE;
    if (s->wf && s->nsegs == 1) {
        if (s->pn > 0 && flush_block(s) != KSPOOL_OK)
            return KSPOOL_ERR;
        if (s->wf && writer_close_segment(s) != KSPOOL_OK)
            return KSPOOL_ERR;
    }
    uint64_t end = s->segs[0].end_seq;
    if (end > s->acked_seq) {
        s->dropped += count_unacked(s, s->acked_seq, end);
        s->acked_seq = end;
        if (s->read_seq < end)
            s->read_seq = end;
    }
    seg_remove_head(s);
    return KSPOOL_OK;
}

int kspool_append(struct kspool *s, const struct kspool_rec *r, int force)
{
    size_t size = rec_size(r);
    int long_name = 0; /* a header name the 16-bit length field cannot hold */
    for (uint32_t i = 0; i < r->nhdrs && i < KSPOOL_MAX_HDRS; i++)
        long_name |= r->hdrs[i].name_len > 0xffffu;
    if (r->topic_len > 0xffffu || r->nhdrs > KSPOOL_MAX_HDRS || long_name ||
        size > MAX_RAW / 2 || size > s->cfg.max_bytes) {
        s->dropped++;
        return KSPOOL_TOOBIG;
    }
    while (s->disk_bytes + s->praw.len + size > s->cfg.max_bytes) {
        if (s->cfg.policy != KSPOOL_POLICY_DROP_OLDEST) {
            if (force)
                break;
            return KSPOOL_FULL;
        }
        int rc = drop_head(s);
        if (rc == KSPOOL_ERR)
            return KSPOOL_ERR;
        if (rc == KSPOOL_NONE)
            break;
    }
    if (bytes_reserve(&s->praw, size)) {
        set_err(s, "out of memory buffering a spool record");
        return KSPOOL_ERR;
    }
    if (s->pn == 0) {
        s->pfirst = s->next_seq;
        s->pstart_ms = kos_now_ms();
    }
    rec_encode(s->praw.p + s->praw.len, r, size);
    s->praw.len += size;
    s->pn++;
    s->next_seq++;
    s->appended++;
    if (s->praw.len >= s->cfg.block_bytes && flush_block(s) != KSPOOL_OK) {
        /* The record is buffered; the frame is written again on the next flush. */
        return KSPOOL_OK;
    }
    return KSPOOL_OK;
}

/* ---- reader ---- */

static int reader_open(struct kspool *s)
{
    char path[4200], eb[256];
    const struct kseg *g = &s->segs[s->rseg];
    if (s->rf && s->rf_id == g->id)
        return KSPOOL_OK;
    reader_close_file(s);
    seg_path(s, g->id, path, sizeof path);
    s->rf = fopen(path, "rb");
    if (s->rf == NULL) {
        set_err(s, "cannot open spool segment \"%s\": %s", path, kos_last_error(eb, sizeof eb));
        return KSPOOL_ERR;
    }
    s->rf_id = g->id;
    return KSPOOL_OK;
}

static void count_corrupt(struct kspool *s, struct kseg *g, uint64_t from, uint64_t to,
                          uint64_t records)
{
    if (to <= g->corrupt_seen)
        return;
    s->corrupt_frames++;
    s->corrupt_bytes += to - (from > g->corrupt_seen ? from : g->corrupt_seen);
    s->corrupt_records += records;
    g->corrupt_seen = to;
}

/*
 * Load the next frame of the current segment that holds messages at or
 * after read_seq.  Returns OK (block loaded), NONE (segment exhausted) or
 * ERR.
 */
static int reader_load_frame(struct kspool *s)
{
    struct kseg *g = &s->segs[s->rseg];
    for (;;) {
        if (s->roff + FRAME_HDR > g->valid_bytes)
            return KSPOOL_NONE;
        if (reader_open(s) != KSPOOL_OK)
            return KSPOOL_ERR;
        uint64_t at;
        struct frame fr;
        if (frame_find(s->rf, s->roff, g->valid_bytes, &at, &fr) != 0) {
            count_corrupt(s, g, s->roff, g->valid_bytes, 0);
            s->roff = g->valid_bytes;
            return KSPOOL_NONE;
        }
        if (at != s->roff)
            count_corrupt(s, g, s->roff, at, 0);
        s->roff = at + FRAME_HDR + fr.comp_len;
        if (fr.first_seq + fr.n <= s->read_seq)
            continue; /* all acknowledged or handed out already */
        s->rbuf.len = 0;
        if (bytes_reserve(&s->rbuf, fr.comp_len) || bytes_reserve(&s->blk, fr.raw_len + 1)) {
            set_err(s, "out of memory reading the spool");
            return KSPOOL_ERR;
        }
        if (kos_seek(s->rf, at + FRAME_HDR) != 0 ||
            fread(s->rbuf.p, 1, fr.comp_len, s->rf) != fr.comp_len ||
            psup_crc32c(0, s->rbuf.p, fr.comp_len) != fr.payload_crc) {
            count_corrupt(s, g, at, s->roff, fr.n);
            continue;
        }
        size_t got = ZSTD_decompressDCtx(s->dctx, s->blk.p, fr.raw_len, s->rbuf.p, fr.comp_len);
        if (ZSTD_isError(got) || got != fr.raw_len) {
            count_corrupt(s, g, at, s->roff, fr.n);
            continue;
        }
        s->blk.len = got;
        s->blk_n = fr.n;
        s->blk_i = 0;
        s->blk_pos = 0;
        s->blk_seq = fr.first_seq;
        return KSPOOL_OK;
    }
}

/* Jump read_seq forward over messages that do not exist (lost frames). */
static int reader_gap(struct kspool *s, uint64_t to)
{
    uint32_t w = s->cfg.window;
    if (to - s->acked_seq >= w) {
        if (s->acked_seq != s->read_seq)
            return KSPOOL_WAIT;
        s->acked_seq = s->read_seq = to;
        trim_acked(s);
        return KSPOOL_OK;
    }
    for (uint64_t q = s->read_seq; q < to; q++)
        s->states[q % w] = ST_ACK;
    s->read_seq = to;
    advance_acked(s);
    return KSPOOL_OK;
}

int kspool_next(struct kspool *s, struct kspool_rec *r, uint64_t *seq)
{
    uint32_t w = s->cfg.window;
    for (;;) {
        if (s->read_seq >= s->next_seq)
            return KSPOOL_NONE;
        if (s->read_seq - s->acked_seq >= w)
            return KSPOOL_WAIT;
        if (s->blk_i < s->blk_n) {
            size_t pos = s->blk_pos;
            size_t sz = rec_decode(s->blk.p + pos, s->blk.len - pos, r);
            if (sz == 0) {
                /* Cannot happen with a good CRC; skip the rest of the frame. */
                s->corrupt_records += s->blk_n - s->blk_i;
                s->corrupt_frames++;
                s->blk_n = s->blk_i = 0;
                continue;
            }
            uint64_t q = s->blk_seq;
            if (q < s->read_seq) {
                s->blk_pos += sz;
                s->blk_i++;
                s->blk_seq++;
                continue;
            }
            if (q > s->read_seq) {
                int rc = reader_gap(s, q);
                if (rc != KSPOOL_OK)
                    return rc;
                continue;
            }
            s->blk_pos += sz;
            s->blk_i++;
            s->blk_seq++;
            s->read_seq = q + 1;
            if (s->states[q % w] == ST_ACK)
                continue; /* delivered before a rewind */
            s->states[q % w] = ST_OUT;
            *seq = q;
            return KSPOOL_OK;
        }
        /* Need another frame. */
        if (s->rseg < s->nsegs) {
            int rc = reader_load_frame(s);
            if (rc == KSPOOL_OK)
                continue;
            if (rc == KSPOOL_ERR)
                return rc;
            int is_writer = s->wf != NULL && s->rseg == s->nsegs - 1;
            if (!is_writer) {
                /* Closed segment exhausted: move on. */
                reader_close_file(s);
                s->rseg++;
                s->roff = 0;
                continue;
            }
        }
        /* Caught up with the disk: the rest is in the open block. */
        if (s->pn > 0) {
            if (flush_block(s) != KSPOOL_OK)
                return KSPOOL_ERR;
            continue;
        }
        /* Messages that only exist as numbers (lost in a corrupt frame). */
        int rc = reader_gap(s, s->next_seq);
        if (rc != KSPOOL_OK)
            return rc;
    }
}

void kspool_ack(struct kspool *s, uint64_t seq)
{
    if (seq < s->acked_seq || seq >= s->read_seq)
        return;
    s->states[seq % s->cfg.window] = ST_ACK;
    advance_acked(s);
}

void kspool_rewind(struct kspool *s)
{
    uint32_t w = s->cfg.window;
    for (uint64_t q = s->acked_seq; q < s->read_seq; q++)
        if (s->states[q % w] == ST_OUT)
            s->states[q % w] = ST_NONE;
    s->read_seq = s->acked_seq;
    reader_reset(s);
}

int kspool_sync(struct kspool *s)
{
    char eb[256];
    int rc = flush_block(s);
    if (rc == KSPOOL_OK && s->wf && kos_fsync(s->wf) != 0) {
        set_err(s, "cannot sync spool segment: %s", kos_last_error(eb, sizeof eb));
        rc = KSPOOL_ERR;
    }
    if (save_ack(s) != KSPOOL_OK)
        rc = KSPOOL_ERR;
    return rc;
}

int kspool_flush_if_older(struct kspool *s, uint64_t now_ms, uint64_t max_age_ms)
{
    if (s->pn == 0 || now_ms - s->pstart_ms < max_age_ms)
        return KSPOOL_OK;
    return flush_block(s);
}

uint64_t kspool_unread(const struct kspool *s) { return s->next_seq - s->read_seq; }
uint64_t kspool_pending(const struct kspool *s) { return s->next_seq - s->acked_seq; }
const char *kspool_error(const struct kspool *s) { return s->err; }

void kspool_get_stats(const struct kspool *s, struct kspool_stats *st)
{
    memset(st, 0, sizeof *st);
    st->appended = s->appended;
    st->dropped = s->dropped;
    st->corrupt_frames = s->corrupt_frames;
    st->corrupt_records = s->corrupt_records;
    st->corrupt_bytes = s->corrupt_bytes;
    st->bytes = s->disk_bytes + s->praw.len;
    st->pending = s->next_seq - s->acked_seq;
    st->unread = s->next_seq - s->read_seq;
    st->segments = s->nsegs;
    st->next_seq = s->next_seq;
    st->acked_seq = s->acked_seq;
}

/* ---- open / close ---- */

/*
 * Scan one segment's frame headers: its sequence range and the end of its
 * last valid frame.  A torn or corrupt tail is counted here (it is never
 * read); corruption between valid frames is counted when read.
 */
static int scan_segment(struct kspool *s, struct kseg *g)
{
    char path[4200];
    seg_path(s, g->id, path, sizeof path);
    int64_t size = kos_file_size(path);
    FILE *f = fopen(path, "rb");
    if (f == NULL || size < 0) {
        if (f)
            fclose(f);
        return -1;
    }
    uint64_t off = 0, at, last_end = 0;
    struct frame fr;
    int found = 0;
    while (frame_find(f, off, (uint64_t)size, &at, &fr) == 0) {
        if (!found)
            g->first_seq = fr.first_seq;
        found = 1;
        g->end_seq = fr.first_seq + fr.n;
        off = at + FRAME_HDR + fr.comp_len;
        last_end = off;
    }
    fclose(f);
    g->valid_bytes = last_end;
    if ((uint64_t)size > last_end) {
        s->corrupt_frames++;
        s->corrupt_bytes += (uint64_t)size - last_end;
        /* Cut the torn tail so the file on disk matches what is counted. */
        kos_truncate(path, last_end);
    }
    return found ? 0 : 1;
}

static int parse_seg_id(const char *name, uint64_t *id)
{
    size_t pl = strlen(SEG_PREFIX);
    char *end;
    if (strlen(name) != pl + 16 + strlen(SEG_SUFFIX))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(name + pl, &end, 16);
    if (errno || end != name + pl + 16)
        return -1;
    *id = (uint64_t)v;
    return 0;
}

int kspool_open(struct kspool **out, const struct kspool_cfg *cfg, char *err, size_t err_len)
{
    char path[4200];
    char **names = NULL;
    size_t nnames = 0;
    *out = NULL;
    if (cfg->window == 0 || cfg->block_bytes == 0 || cfg->max_bytes == 0 ||
        cfg->segment_bytes == 0) {
        snprintf(err, err_len, "spool: bad limits");
        return KSPOOL_ERR;
    }
    struct kspool *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, err_len, "out of memory");
        return KSPOOL_ERR;
    }
    s->cfg = *cfg;
    size_t dl = strlen(cfg->dir);
    s->dir = malloc(dl + 1);
    s->states = calloc(cfg->window, 1);
    s->cctx = ZSTD_createCCtx();
    s->dctx = ZSTD_createDCtx();
    if (s->dir == NULL || s->states == NULL || s->cctx == NULL || s->dctx == NULL) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    memcpy(s->dir, cfg->dir, dl + 1);
    s->cfg.dir = s->dir;
    if (kos_mkdir_p(s->dir, err, err_len) != 0)
        goto fail;
    snprintf(path, sizeof path, "%s/lock", s->dir);
    s->lock = kos_lock_take(path, err, err_len);
    if (s->lock == NULL)
        goto fail;
    if (kos_list_dir(s->dir, SEG_PREFIX, SEG_SUFFIX, &names, &nnames, err, err_len) != 0)
        goto fail;
    uint64_t last_end = 0;
    for (size_t i = 0; i < nnames; i++) {
        struct kseg g;
        memset(&g, 0, sizeof g);
        if (parse_seg_id(names[i], &g.id) != 0)
            continue;
        if (g.id >= s->next_id)
            s->next_id = g.id + 1;
        int rc = scan_segment(s, &g);
        seg_path(s, g.id, path, sizeof path);
        if (rc != 0) {
            /* No valid frame at all: nothing to keep. */
            remove(path);
            continue;
        }
        if (g.first_seq < last_end) {
            /* Out-of-order segments would break the FIFO: refuse rather than guess. */
            snprintf(err, err_len, "spool segment \"%s\" overlaps the previous one", path);
            goto fail;
        }
        last_end = g.end_seq;
        if (segs_push(s, &g)) {
            snprintf(err, err_len, "out of memory");
            goto fail;
        }
        s->disk_bytes += g.valid_bytes;
    }
    kos_free_names(names, nnames);
    names = NULL;
    uint64_t ack = load_ack(s);
    s->saved_ack = ack;
    uint64_t first = s->nsegs ? s->segs[0].first_seq : last_end;
    s->acked_seq = ack > first ? ack : first;
    s->next_seq = last_end > s->acked_seq ? last_end : s->acked_seq;
    s->read_seq = s->acked_seq;
    s->pfirst = s->next_seq;
    trim_acked(s);
    *out = s;
    return KSPOOL_OK;
fail:
    if (names)
        kos_free_names(names, nnames);
    kos_lock_release(s->lock);
    ZSTD_freeCCtx(s->cctx);
    ZSTD_freeDCtx(s->dctx);
    free(s->states);
    free(s->segs);
    free(s->dir);
    free(s);
    return KSPOOL_ERR;
}

int kspool_close(struct kspool *s, char *err, size_t err_len)
{
    if (s == NULL)
        return KSPOOL_OK;
    int rc = kspool_sync(s);
    if (rc != KSPOOL_OK)
        snprintf(err, err_len, "%s", s->err);
    if (writer_close_segment(s) != KSPOOL_OK && rc == KSPOOL_OK) {
        snprintf(err, err_len, "%s", s->err);
        rc = KSPOOL_ERR;
    }
    reader_close_file(s);
    kos_lock_release(s->lock);
    ZSTD_freeCCtx(s->cctx);
    ZSTD_freeDCtx(s->dctx);
    free(s->praw.p);
    free(s->cbuf.p);
    free(s->blk.p);
    free(s->rbuf.p);
    free(s->states);
    free(s->segs);
    free(s->dir);
    free(s);
    return rc;
}
