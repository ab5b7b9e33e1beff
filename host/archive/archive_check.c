/*
 * archive_check: `etwhost archive verify` and `repair` (see archive_reader.h).
 *
 * Both walk the file frame by frame without trusting the index: every frame
 * header and payload checksum is checked, every block is decompressed and
 * each of its records decoded.  verify then compares the footer and index
 * with what it found; repair copies the good frames unchanged into a new
 * file and writes a fresh index and footer (uncompressed index: the format
 * allows either codec).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../core/compiler.h"
#include "../core/mem.h"
#include "../platform/platform.h"
#include "../record/record_codec.h"
#include "../schema/schema_codec.h"
#include "archive_int.h"
#include "archive_reader.h"

struct walk {
    const uint8_t *base;
    uint64_t len;
    struct archive_check *c;
    archive_line_fn line;
    void *ctx;
    ZSTD_DCtx *dctx;
    struct ar_block_meta *meta;
    struct ar_block blk;
    uint8_t *tmp;
    size_t tmp_cap;
    struct arena arena;
    /* Valid schema ids and dictionaries seen so far. */
    uint64_t *sids;
    size_t nsids, sids_cap;
    uint32_t *dids;
    ZSTD_DDict **dd;
    size_t ndids, dids_cap, dd_cap;
    /* Good frames (offset, length, type) for repair and index comparison. */
    struct ar_frame *good;
    size_t ngood, good_cap;
    uint64_t footer_index_off;
    int stop_at_footer;
};

#if defined(__GNUC__) || defined(__clang__)
ETWHOST_PRINTF(3, 4)
#endif
static void report(struct walk *w, uint64_t off, const char *fmt, ...)
{
    char what[600], line[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "offset 0x%llx: %s", (unsigned long long)off, what);
    w->c->problems++;
    if (w->line)
        w->line(w->ctx, line);
}

static int has_sid(const struct walk *w, uint64_t id)
{
    for (size_t i = 0; i < w->nsids; i++)
        if (w->sids[i] == id)
            return 1;
    return 0;
}

static ZSTD_DDict *get_dict(const struct walk *w, uint32_t id)
{
    for (size_t i = 0; i < w->ndids; i++)
        if (w->dids[i] == id)
            return w->dd[i];
    return NULL;
}

static int keep_good(struct walk *w, const struct ar_frame *f)
{
    if (mem_grow(&w->good, &w->good_cap, w->ngood + 1, sizeof *w->good))
        return ERR_NOMEM;
    w->good[w->ngood++] = *f;
    return 0;
}

/* Check one block completely; 0 good, 1 damaged (reported), ERR_NOMEM. */
static int check_block(struct walk *w, const struct ar_frame *f, uint64_t bno)
{
    const char *why = NULL;
    int rc = ar_block_meta_parse(f, w->meta, &why);
    ZSTD_DDict *dd = NULL;
    if (rc == 0 && w->meta->dict_id && (dd = get_dict(w, w->meta->dict_id)) == NULL) {
        why = "its dictionary frame is missing or damaged";
        rc = ERR_FORMAT;
    }
    if (rc == 0)
        rc = ar_block_decode(w->dctx, dd, f, w->meta, &w->blk, &why);
    if (rc == ERR_NOMEM)
        return rc;
    if (rc) {
        report(w, f->off, "block %llu: %s (%u events lost)", (unsigned long long)bno, why,
               f->count);
        return 1;
    }
    if (w->blk.tmin != (int64_t)f->a || w->blk.tmax != (int64_t)f->b) {
        report(w, f->off, "block %llu: time range in the header differs from its events",
               (unsigned long long)bno);
        return 1;
    }
    for (uint32_t i = 0; i < w->blk.n; i++) {
        const uint8_t *row = w->blk.rows + (size_t)i * AR_REC_FIXED;
        const uint64_t *of = w->blk.offs + 3 * (size_t)i;
        struct record rec;
        if (record_decode_split(row, w->blk.body + of[0], w->blk.body + of[1],
                                w->blk.body + of[2], &rec)) {
            report(w, f->off, "block %llu: record %u: malformed", (unsigned long long)bno, i);
            return 1;
        }
    }
    for (uint32_t k = 0; k < w->meta->nschemas; k++) {
        uint64_t id = le_r64(w->meta->schema_ids + 8 * k);
        if (!has_sid(w, id))
            report(w, f->off,
                   "block %llu: schema %016llx is not in the archive before it (its events "
                   "decode without it)",
                   (unsigned long long)bno, (unsigned long long)id);
    }
    return 0;
}

static int check_aux(struct walk *w, const struct ar_frame *f)
{
    const char *why = NULL;
    int rc = ar_frame_body(w->dctx, NULL, f, &w->tmp, &w->tmp_cap, &why);
    if (rc == ERR_NOMEM)
        return rc;
    if (f->type == AR_FRAME_SCHEMA) {
        struct schema *s;
        struct errbuf eb;
        if (rc == 0) {
            rc = schema_decode(w->tmp, f->raw, &w->arena, &s, &eb);
            why = eb.msg;
            if (rc == 0 && schema_content_id(w->tmp, f->raw) != f->a) {
                rc = ERR_FORMAT;
                why = "content id does not match the schema bytes";
            }
        }
        if (rc == ERR_NOMEM)
            return rc;
        if (rc) {
            report(w, f->off, "schema frame: %s", why);
            w->c->bad_schemas++;
            return 1;
        }
        if (mem_grow(&w->sids, &w->sids_cap, w->nsids + 1, sizeof *w->sids))
            return ERR_NOMEM;
        w->sids[w->nsids++] = f->a;
        w->c->schemas++;
        return 0;
    }
    if (rc) {
        report(w, f->off, "dictionary frame: %s", why);
        return 1;
    }
    ZSTD_DDict *d = ZSTD_createDDict(w->tmp, f->raw);
    if (d == NULL || mem_grow(&w->dids, &w->dids_cap, w->ndids + 1, sizeof *w->dids) ||
        mem_grow(&w->dd, &w->dd_cap, w->ndids + 1, sizeof *w->dd)) {
        ZSTD_freeDDict(d);
        return ERR_NOMEM;
    }
    w->dids[w->ndids] = (uint32_t)f->a;
    w->dd[w->ndids++] = d;
    w->c->dicts++;
    return 0;
}

static int footer_valid(const uint8_t *base, uint64_t len, uint64_t *ioff)
{
    if (len < AR_FILE_HDR_SIZE + AR_FOOTER_SIZE)
        return 0;
    const uint8_t *ft = base + len - AR_FOOTER_SIZE;
    if (le_r32(ft + 28) != AR_FOOTER_MAGIC || ar_crc32c(0, ft, 24) != le_r32(ft + 24))
        return 0;
    *ioff = le_r64(ft);
    return 1;
}

/* Walk every frame. */
static int walk_all(struct walk *w)
{
    struct archive_check *c = w->c;
    uint64_t ioff = 0;
    c->has_footer = footer_valid(w->base, w->len, &ioff);
    uint64_t end = c->has_footer ? w->len - AR_FOOTER_SIZE : w->len;
    uint64_t off = AR_FILE_HDR_SIZE, bno = 0;
    while (off < end) {
        struct ar_frame f;
        const char *why;
        int fr = ar_frame_at(w->base, end, off, &f, &why);
        if (fr == AR_FRAME_TORN) {
            report(w, off, "%s: the last %llu bytes are not a complete frame%s", why,
                   (unsigned long long)(end - off),
                   f.type == AR_FRAME_BLOCK ? " (a block torn by a crash?)" : "");
            c->damaged_bytes += end - off;
            if (f.type == AR_FRAME_BLOCK) {
                c->blocks++;
                c->bad_blocks++;
            }
            break;
        }
        if (fr == AR_FRAME_BAD) {
            uint64_t next = ar_resync(w->base, end, off + 1);
            report(w, off, "%s; %llu bytes skipped up to the next valid frame", why,
                   (unsigned long long)(next - off));
            c->damaged_bytes += next - off;
            off = next;
            continue;
        }
        c->frames++;
        if (f.type == AR_FRAME_BLOCK)
            c->blocks++;
        if (!ar_frame_payload_ok(&f)) {
            const char *kind = f.type == AR_FRAME_BLOCK ? "block" : f.type == AR_FRAME_SCHEMA
                                                                        ? "schema frame"
                                                                        : "frame";
            if (f.type == AR_FRAME_BLOCK) {
                report(w, off, "block %llu: payload checksum mismatch (%u events lost)",
                       (unsigned long long)bno, f.count);
                c->bad_blocks++;
                bno++;
            } else {
                report(w, off, "%s: payload checksum mismatch", kind);
                if (f.type == AR_FRAME_SCHEMA)
                    c->bad_schemas++;
            }
            off += f.total;
            continue;
        }
        int rc = 0;
        if (f.type == AR_FRAME_BLOCK) {
            rc = check_block(w, &f, bno++);
            if (rc == 0) {
                c->good_blocks++;
                c->events += f.count;
            } else if (rc == 1) {
                c->bad_blocks++;
            }
        } else if (f.type == AR_FRAME_SCHEMA || f.type == AR_FRAME_DICT) {
            rc = check_aux(w, &f);
        } else if (f.type == AR_FRAME_INDEX) {
            rc = 1; /* never copied; compared below */
            if (!(c->has_footer && off == ioff) && w->stop_at_footer == 0)
                report(w, off, "index frame not referenced by the footer");
        } else {
            report(w, off, "frame of unknown type %u skipped", f.type);
            rc = 1;
        }
        if (rc == ERR_NOMEM)
            return rc;
        if (rc == 0 && keep_good(w, &f))
            return ERR_NOMEM;
        off += f.total;
    }
    return 0;
}

/* The reader's own warnings: the walk has reported the same damage already. */
static void quiet(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
}

/* Compare the footer's index with the frames found. */
static void compare_index(struct walk *w)
{
    struct archive_check *c = w->c;
    if (!c->has_footer) {
        report(w, w->len, "no footer: the writer did not finish this file (killed or still "
                          "writing); 'etwhost archive repair' adds an index and footer");
        return;
    }
    struct archive_options o;
    memset(&o, 0, sizeof o);
    o.warn = quiet;
    struct archive_reader *ar = NULL;
    struct errbuf eb;
    if (archive_open_mem(w->base, (size_t)w->len, "archive", &o, &ar, &eb)) {
        report(w, 0, "%s", eb.msg);
        return;
    }
    struct archive_stats st;
    archive_get_stats(ar, &st);
    if (!st.indexed) {
        report(w, w->len - AR_FOOTER_SIZE, "footer present but its index is unusable");
    } else {
        size_t nb = archive_block_count(ar), k = 0;
        int same = 1;
        for (size_t i = 0; i < w->ngood && same; i++) {
            if (w->good[i].type != AR_FRAME_BLOCK)
                continue;
            const struct archive_block *b = archive_block_at(ar, k++);
            if (b == NULL || b->offset != w->good[i].off || b->count != w->good[i].count)
                same = 0;
        }
        if (same && k == nb)
            c->index_ok = 1;
        else
            report(w, w->len - AR_FOOTER_SIZE,
                   "the index lists %zu blocks but %zu good blocks were found, or their "
                   "offsets differ",
                   nb, (size_t)c->good_blocks);
    }
    archive_close(ar);
}

static void walk_free(struct walk *w)
{
    ZSTD_freeDCtx(w->dctx);
    mem_free(w->meta);
    ar_block_free(&w->blk);
    mem_free(w->tmp);
    arena_free(&w->arena);
    mem_free(w->sids);
    for (size_t i = 0; i < w->ndids; i++)
        ZSTD_freeDDict(w->dd[i]);
    mem_free(w->dids);
    mem_free(w->dd);
    mem_free(w->good);
}

/* A walk reporting to c and line(ctx, ...), over no bytes yet. */
static void walk_begin(struct walk *w, struct archive_check *c, archive_line_fn line, void *ctx)
{
    memset(w, 0, sizeof *w);
    memset(c, 0, sizeof *c);
    w->c = c;
    w->line = line;
    w->ctx = ctx;
    w->arena.chunk_size = 64 * 1024;
}

/* Point the walk at the archive bytes data[0..len) (named path in messages): header checks. */
static int walk_header(struct walk *w, const char *path, const uint8_t *data, size_t len,
                       struct errbuf *eb)
{
    w->base = data;
    w->len = len;
    w->dctx = ZSTD_createDCtx();
    w->meta = mem_alloc(sizeof *w->meta);
    if (w->dctx == NULL || w->meta == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    if (len < AR_FILE_HDR_SIZE || memcmp(data, archive_magic, 8) != 0)
        return errbuf_set(eb, ERR_FORMAT, "%s: offset 0x0: not an etwhost archive (bad magic)",
                          path);
    if (ar_crc32c(0, data, 60) != le_r32(data + 60))
        return errbuf_set(eb, ERR_FORMAT, "%s: offset 0x0: file header checksum mismatch", path);
    unsigned major = le_r16(data + 8);
    if (major < AR_FORMAT_MAJOR_OLDEST || major > AR_FORMAT_MAJOR)
        return errbuf_set(eb, ERR_FORMAT, "%s: offset 0x8: archive format %u.x is not supported",
                          path, major);
    w->meta->major = major;
    return 0;
}

static int walk_open(struct walk *w, const char *path, struct archive_check *c,
                     archive_line_fn line, void *ctx, const uint8_t **data, size_t *len,
                     struct errbuf *eb)
{
    walk_begin(w, c, line, ctx);
    int rc = plat_map_file(path, data, len, eb);
    if (rc)
        return rc;
    return walk_header(w, path, *data, *len, eb);
}

int archive_verify_mem(const uint8_t *data, size_t len, const char *name,
                       struct archive_check *c, archive_line_fn line, void *ctx,
                       struct errbuf *eb)
{
    struct walk w;
    walk_begin(&w, c, line, ctx);
    int rc = walk_header(&w, name, data, len, eb);
    if (rc == 0) {
        rc = walk_all(&w);
        if (rc)
            errbuf_set(eb, rc, "%s: out of memory", name);
        else
            compare_index(&w);
    }
    walk_free(&w);
    return rc;
}

int archive_verify(const char *path, struct archive_check *c, archive_line_fn line, void *ctx,
                   struct errbuf *eb)
{
    const uint8_t *data = NULL;
    size_t len = 0;
    memset(c, 0, sizeof *c);
    int rc = plat_map_file(path, &data, &len, eb);
    if (rc)
        return rc;
    rc = archive_verify_mem(data, len, path, c, line, ctx, eb);
    plat_unmap(data, len);
    return rc;
}

/* ---- Repair ---------------------------------------------------------------------------------- */

struct out {
    FILE *f;
    uint64_t size;
    int failed;
};

static void out_put(struct out *o, const void *p, size_t n)
{
    if (o->failed)
        return;
    if (n && fwrite(p, 1, n, o->f) != n)
        o->failed = 1;
    o->size += n;
}

struct growbuf {
    uint8_t *p;
    size_t len, cap;
    int failed;
};

static void gb_put(struct growbuf *g, const void *p, size_t n)
{
    if (g->failed)
        return;
    if (mem_grow(&g->p, &g->cap, g->len + n, 1)) {
        g->failed = 1;
        return;
    }
    if (n)
        memcpy(g->p + g->len, p, n);
    g->len += n;
}

/* The index (docs/archive-format.md "Index frame") of the kept frames, with new offsets. */
static int build_index(struct walk *w, const uint64_t *newoff, struct growbuf *ix)
{
    /* File-level providers: from each kept block's meta. */
    struct pv {
        const uint8_t *guid;
        const char *name;
        uint32_t nl;
    } *pv = NULL;
    size_t npv = 0, pvcap = 0;
    struct growbuf blocks = {0}, refs = {0};
    uint32_t nb = 0, ns = 0, nd = 0;
    uint64_t events = 0;
    uint8_t t[40];
    const char *why;
    for (size_t i = 0; i < w->ngood; i++) {
        const struct ar_frame *f = &w->good[i];
        if (f->type == AR_FRAME_SCHEMA || f->type == AR_FRAME_DICT)
            continue;
        if (ar_block_meta_parse(f, w->meta, &why))
            continue;
        le_w64(t, newoff[i]);
        le_w32(t + 8, (uint32_t)f->total);
        le_w32(t + 12, f->count);
        le_w64(t + 16, f->a);
        le_w64(t + 24, f->b);
        le_w32(t + 32, w->meta->nprov);
        gb_put(&blocks, t, 36);
        for (uint32_t k = 0; k < w->meta->nprov; k++) {
            size_t j = 0;
            for (; j < npv; j++)
                if (pv[j].nl == w->meta->prov_name_len[k] &&
                    memcmp(pv[j].guid, w->meta->prov_guid[k], 16) == 0 &&
                    memcmp(pv[j].name, w->meta->prov_name[k], pv[j].nl) == 0)
                    break;
            if (j == npv) {
                if (npv >= 65535 || mem_grow(&pv, &pvcap, npv + 1, sizeof *pv)) {
                    mem_free(pv);
                    mem_free(blocks.p);
                    return ERR_NOMEM;
                }
                pv[npv].guid = w->meta->prov_guid[k];
                pv[npv].name = w->meta->prov_name[k];
                pv[npv].nl = w->meta->prov_name_len[k];
                npv++;
            }
            le_w16(t, (uint32_t)j);
            gb_put(&blocks, t, 2);
        }
        nb++;
        events += f->count;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < w->ngood; i++) {
            const struct ar_frame *f = &w->good[i];
            if (f->type != (pass == 0 ? AR_FRAME_SCHEMA : AR_FRAME_DICT))
                continue;
            le_w64(t, newoff[i]);
            le_w64(t + 8, f->a);
            gb_put(&refs, t, 16);
            if (pass == 0)
                ns++;
            else
                nd++;
        }
    }
    le_w32(t, nb);
    le_w32(t + 4, ns);
    le_w32(t + 8, nd);
    le_w32(t + 12, (uint32_t)npv);
    le_w64(t + 16, events);
    gb_put(ix, t, 24);
    for (size_t j = 0; j < npv; j++) {
        gb_put(ix, pv[j].guid, 16);
        le_w16(t, pv[j].nl);
        gb_put(ix, t, 2);
        gb_put(ix, pv[j].name, pv[j].nl);
    }
    gb_put(ix, blocks.p, blocks.len);
    gb_put(ix, refs.p, refs.len);
    int bad = blocks.failed || refs.failed || ix->failed;
    mem_free(pv);
    mem_free(blocks.p);
    mem_free(refs.p);
    return bad ? ERR_NOMEM : 0;
}

int archive_repair(const char *path, const char *outp, struct archive_check *c,
                   archive_line_fn line, void *ctx, struct errbuf *eb)
{
    struct walk w;
    const uint8_t *data = NULL;
    size_t len = 0;
    char tmp[4096];
    FILE *f = NULL;
    uint64_t *newoff = NULL;
    struct growbuf ix = {0};
    int rc = walk_open(&w, path, c, line, ctx, &data, &len, eb);
    if (rc)
        goto out;
    w.stop_at_footer = 1;
    rc = walk_all(&w);
    if (rc) {
        errbuf_set(eb, rc, "%s: out of memory", path);
        goto out;
    }
    if (outp && plat_is_file(outp)) {
        rc = errbuf_set(eb, ERR_EXISTS, "%s exists; not overwriting it", outp);
        goto out;
    }
    snprintf(tmp, sizeof tmp, "%s%s", outp ? outp : path, outp ? "" : ".repair.tmp");
    f = plat_fopen(tmp, "wb", NULL);
    if (f == NULL) {
        rc = errbuf_set(eb, ERR_IO, "%s: cannot create", tmp);
        goto out;
    }
    newoff = mem_calloc(w.ngood ? w.ngood : 1, sizeof *newoff);
    if (newoff == NULL) {
        rc = errbuf_set(eb, ERR_NOMEM, "out of memory");
        goto out;
    }
    struct out o = {f, 0, 0};
    out_put(&o, data, AR_FILE_HDR_SIZE);
    /* Schemas and dictionaries first would change nothing: keep the file order. */
    for (size_t i = 0; i < w.ngood; i++) {
        newoff[i] = o.size;
        out_put(&o, w.good[i].meta - AR_FRAME_HDR_SIZE, (size_t)w.good[i].total);
    }
    rc = build_index(&w, newoff, &ix);
    if (rc) {
        errbuf_set(eb, rc, "out of memory");
        goto out;
    }
    uint8_t h[AR_FRAME_HDR_SIZE];
    memset(h, 0, sizeof h);
    le_w32(h, AR_FRAME_MAGIC);
    h[4] = AR_FRAME_INDEX;
    h[5] = AR_CODEC_NONE;
    le_w16(h + 6, AR_FRAME_HDR_SIZE);
    le_w32(h + 12, (uint32_t)ix.len);
    le_w32(h + 16, (uint32_t)ix.len);
    le_w64(h + 24, c->good_blocks);
    le_w64(h + 32, c->events);
    le_w32(h + 40, ar_crc32c(0, ix.p, ix.len));
    le_w32(h + 44, ar_crc32c(0, h, 44));
    uint64_t ioff = o.size;
    out_put(&o, h, sizeof h);
    out_put(&o, ix.p, ix.len);
    uint8_t ft[AR_FOOTER_SIZE];
    le_w64(ft, ioff);
    le_w64(ft + 8, AR_FRAME_HDR_SIZE + ix.len);
    le_w64(ft + 16, c->events);
    le_w32(ft + 24, ar_crc32c(0, ft, 24));
    le_w32(ft + 28, AR_FOOTER_MAGIC);
    out_put(&o, ft, sizeof ft);
    if (o.failed || fflush(f) != 0 || plat_fsync(f) != 0) {
        rc = errbuf_set(eb, ERR_IO, "%s: write failed", tmp);
        goto out;
    }
    fclose(f);
    f = NULL;
    if (outp == NULL) {
        plat_unmap(data, len);
        data = NULL;
        rc = plat_rename(tmp, path, eb);
    }
out:
    if (f) {
        fclose(f);
        plat_remove(tmp);
    }
    mem_free(ix.p);
    mem_free(newoff);
    walk_free(&w);
    if (data)
        plat_unmap(data, len);
    return rc;
}
