/*
 * archive_reader: reading .etwa archives (see archive_reader.h).
 */
#include "archive_reader.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/compiler.h"
#include "../core/arena.h"
#include "../core/log.h"
#include "../core/mem.h"
#include "../core/text.h"
#include "../platform/platform.h"
#include "../record/record_codec.h"
#include "../schema/schema_codec.h"
#include "archive_int.h"

const uint8_t archive_magic[8] = {0x89, 'E', 'T', 'W', 'A', 0x0D, 0x0A, 0x1A};

struct ar_prov {
    etwhost_guid guid;
    uint8_t raw_guid[16];
    char *name;
    uint32_t name_len;
    int match; /* passes the provider filter */
};

struct ar_schema {
    uint64_t id;
    const struct schema *s;
};

struct ar_dict {
    uint32_t id;
    ZSTD_DDict *d;
};

/*
 * A block's record template decoded once: records of the template differ
 * only in the per-event fields of their slim rows and in their lengths.
 */
struct ar_tmpl {
    struct record rec; /* every fixed member; the per-event ones are zero */
    int whole;         /* holds a recorded WPP header: records take the general path */
    int shortcuts;     /* names TraceLogging shortcuts (resolved per record) */
};

struct archive_reader {
    char *name;
    const uint8_t *base;
    uint64_t len;
    int mapped;
    struct archive_options opt;
    int prov_filter, prov_is_guid;
    etwhost_guid prov_guid;
    unsigned major, minor;

    struct archive_block *blocks;
    size_t nblocks, blocks_cap;
    uint32_t *bprovs;
    size_t nbprovs, bprovs_cap;
    struct ar_prov *provs;
    size_t nprovs, provs_cap;
    struct ar_schema *schemas;
    size_t nschemas, schemas_cap;
    struct ar_dict *dicts;
    size_t ndicts, dicts_cap;
    struct arena arena; /* decoded schemas */

    ZSTD_DCtx *dctx;
    struct ar_block_meta *meta;
    struct ar_cursor blk;
    struct ar_item items[AR_CHUNK]; /* the current chunk of the block's records */
    uint32_t rn;                    /* items in it */
    struct ar_tmpl *tmpls;          /* the block's templates, decoded */
    size_t tmpls_cap;
    uint8_t *tmp;
    size_t tmp_cap;
    /* Current block. */
    size_t cur;
    int loaded;
    uint32_t ri;
    uint8_t *rawbuf; /* rebuilt raw record (WPP) */
    size_t rawbuf_cap;
    uint32_t *lprov;                  /* block-local -> reader provider */
    const struct schema **lschema;    /* block-local (1-based) -> schema */
    uint8_t *lschema_missing;
    uint64_t ordinal;

    struct trace_info info;
    struct archive_stats st;
    unsigned warned;
};

/* ---- Messages ---------------------------------------------------------------------- */

#if defined(__GNUC__) || defined(__clang__)
ETWHOST_PRINTF(3, 4)
#endif
static void warnf(struct archive_reader *ar, uint64_t off, const char *fmt, ...)
{
    char what[512], line[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "%s: offset 0x%llx: %s", ar->name, (unsigned long long)off, what);
    if (ar->opt.warn)
        ar->opt.warn(ar->opt.warn_ctx, line);
    else if (ar->warned++ < 20)
        log_warn("%s", line);
}

/* ---- Tables ------------------------------------------------------------------------- */

static int grow(void *pp, size_t *cap, size_t need, size_t size)
{
    return mem_grow(pp, cap, need, size);
}

/* Reader-wide index of (guid, name); -1 on out of memory. */
static int64_t intern_prov(struct archive_reader *ar, const uint8_t *guid, const char *name,
                           uint32_t nl)
{
    for (size_t i = ar->nprovs; i-- > 0;) {
        struct ar_prov *p = &ar->provs[i];
        if (p->name_len == nl && memcmp(p->raw_guid, guid, 16) == 0 &&
            memcmp(p->name, name, nl) == 0)
            return (int64_t)i;
    }
    if (grow(&ar->provs, &ar->provs_cap, ar->nprovs + 1, sizeof *ar->provs))
        return -1;
    struct ar_prov *p = &ar->provs[ar->nprovs];
    memset(p, 0, sizeof *p);
    memcpy(p->raw_guid, guid, 16);
    guid_read(&p->guid, guid);
    p->name = mem_strndup(name, nl);
    if (p->name == NULL)
        return -1;
    p->name_len = nl;
    p->match = 1;
    if (ar->prov_filter) {
        if (ar->prov_is_guid) {
            p->match = guid_eq(&p->guid, &ar->prov_guid);
        } else {
            const char *f = ar->opt.provider;
            size_t fl = strlen(f);
            p->match = fl == nl;
            for (size_t k = 0; p->match && k < nl; k++)
                if (tolower((unsigned char)f[k]) != tolower((unsigned char)name[k]))
                    p->match = 0;
        }
    }
    return (int64_t)ar->nprovs++;
}

static const struct schema *find_schema(const struct archive_reader *ar, uint64_t id)
{
    for (size_t i = 0; i < ar->nschemas; i++)
        if (ar->schemas[i].id == id)
            return ar->schemas[i].s;
    return NULL;
}

static ZSTD_DDict *find_dict(const struct archive_reader *ar, uint32_t id)
{
    for (size_t i = 0; i < ar->ndicts; i++)
        if (ar->dicts[i].id == id)
            return ar->dicts[i].d;
    return NULL;
}

/* Load a schema or dictionary frame (already header-checked). 0, 1 if damaged, ERR_NOMEM. */
static int load_aux(struct archive_reader *ar, const struct ar_frame *f)
{
    const char *why = NULL;
    if (!ar_frame_payload_ok(f)) {
        warnf(ar, f->off, "%s frame: payload checksum mismatch (skipped)",
              f->type == AR_FRAME_SCHEMA ? "schema" : "dictionary");
        ar->st.bad_frames++;
        return 1;
    }
    if (f->type == AR_FRAME_SCHEMA) {
        if (find_schema(ar, f->a))
            return 0;
        int rc = ar_frame_body(ar->dctx, NULL, f, &ar->tmp, &ar->tmp_cap, &why);
        struct schema *s = NULL;
        struct errbuf eb;
        if (rc == 0)
            rc = schema_decode(ar->tmp, f->raw, &ar->arena, &s, &eb);
        else
            snprintf(eb.msg, sizeof eb.msg, "%s", why);
        if (rc == ERR_NOMEM)
            return ERR_NOMEM;
        if (rc) {
            warnf(ar, f->off, "schema frame: %s (skipped)", eb.msg);
            ar->st.bad_frames++;
            return 1;
        }
        if (grow(&ar->schemas, &ar->schemas_cap, ar->nschemas + 1, sizeof *ar->schemas))
            return ERR_NOMEM;
        ar->schemas[ar->nschemas].id = f->a;
        ar->schemas[ar->nschemas++].s = s;
        return 0;
    }
    if (f->type == AR_FRAME_DICT) {
        uint32_t id = (uint32_t)f->a;
        if (find_dict(ar, id))
            return 0;
        int rc = ar_frame_body(ar->dctx, NULL, f, &ar->tmp, &ar->tmp_cap, &why);
        if (rc) {
            warnf(ar, f->off, "dictionary frame: %s (skipped)", why);
            ar->st.bad_frames++;
            return rc == ERR_NOMEM ? ERR_NOMEM : 1;
        }
        ZSTD_DDict *d = ZSTD_createDDict(ar->tmp, f->raw);
        if (d == NULL)
            return ERR_NOMEM;
        if (grow(&ar->dicts, &ar->dicts_cap, ar->ndicts + 1, sizeof *ar->dicts)) {
            ZSTD_freeDDict(d);
            return ERR_NOMEM;
        }
        ar->dicts[ar->ndicts].id = id;
        ar->dicts[ar->ndicts++].d = d;
    }
    return 0;
}

static int add_block(struct archive_reader *ar, uint64_t off, uint32_t flen, uint32_t count,
                     int64_t tmin, int64_t tmax)
{
    if (grow(&ar->blocks, &ar->blocks_cap, ar->nblocks + 1, sizeof *ar->blocks))
        return ERR_NOMEM;
    struct archive_block *b = &ar->blocks[ar->nblocks++];
    b->offset = off;
    b->frame_len = flen;
    b->count = count;
    b->tmin = tmin;
    b->tmax = tmax;
    b->prov_first = (uint32_t)ar->nbprovs;
    b->nprov = 0;
    ar->st.events_total += count;
    return 0;
}

static int add_block_prov(struct archive_reader *ar, int64_t pi)
{
    if (pi < 0 || grow(&ar->bprovs, &ar->bprovs_cap, ar->nbprovs + 1, sizeof *ar->bprovs))
        return ERR_NOMEM;
    ar->bprovs[ar->nbprovs++] = (uint32_t)pi;
    ar->blocks[ar->nblocks - 1].nprov++;
    return 0;
}

/* The block tables (about 2 MB), allocated when the first block is met. */
static int ensure_tables(struct archive_reader *ar)
{
    if (ar->meta)
        return 0;
    ar->meta = mem_alloc(sizeof *ar->meta);
    ar->lprov = mem_alloc(65536 * sizeof *ar->lprov);
    ar->lschema = mem_alloc(65536 * sizeof *ar->lschema);
    ar->lschema_missing = mem_alloc(65536);
    if (ar->meta == NULL || ar->lprov == NULL || ar->lschema == NULL ||
        ar->lschema_missing == NULL) {
        mem_free(ar->meta);
        mem_free(ar->lprov);
        mem_free(ar->lschema);
        mem_free(ar->lschema_missing);
        ar->meta = NULL;
        ar->lprov = NULL;
        ar->lschema = NULL;
        ar->lschema_missing = NULL;
        return ERR_NOMEM;
    }
    ar->meta->major = ar->major;
    return 0;
}

/* ---- Opening: index -------------------------------------------------------------------- */

/* Use the footer and index; 1 if done, 0 if absent or damaged (scan instead), <0 OOM. */
static int open_index(struct archive_reader *ar)
{
    if (ar->len < AR_FILE_HDR_SIZE + AR_FRAME_HDR_SIZE + AR_FOOTER_SIZE)
        return 0;
    const uint8_t *ft = ar->base + ar->len - AR_FOOTER_SIZE;
    if (le_r32(ft + 28) != AR_FOOTER_MAGIC || ar_crc32c(0, ft, 24) != le_r32(ft + 24))
        return 0;
    uint64_t ioff = le_r64(ft), ilen = le_r64(ft + 8);
    struct ar_frame f;
    const char *why;
    if (ioff < AR_FILE_HDR_SIZE || ioff + ilen != ar->len - AR_FOOTER_SIZE ||
        ar_frame_at(ar->base, ar->len - AR_FOOTER_SIZE, ioff, &f, &why) != AR_FRAME_OK ||
        f.type != AR_FRAME_INDEX || !ar_frame_payload_ok(&f)) {
        warnf(ar, ioff, "index damaged; scanning the frames instead");
        return 0;
    }
    int rc = ar_frame_body(ar->dctx, NULL, &f, &ar->tmp, &ar->tmp_cap, &why);
    if (rc == ERR_NOMEM)
        return rc;
    if (rc) {
        warnf(ar, ioff, "index: %s; scanning the frames instead", why);
        return 0;
    }
    /* Parse into a copy: loading schemas reuses ar->tmp. */
    uint8_t *ix = mem_alloc(f.raw ? f.raw : 1);
    if (ix == NULL)
        return ERR_NOMEM;
    memcpy(ix, ar->tmp, f.raw);
    uint64_t len = f.raw, o = 24;
    int ok = len >= 24;
    uint32_t nb = ok ? le_r32(ix) : 0, ns = ok ? le_r32(ix + 4) : 0, nd = ok ? le_r32(ix + 8) : 0;
    uint32_t np = ok ? le_r32(ix + 12) : 0;
    uint32_t *pmap = NULL;
    if (ok && np) {
        pmap = mem_calloc(np, sizeof *pmap);
        if (pmap == NULL) {
            mem_free(ix);
            return ERR_NOMEM;
        }
    }
    for (uint32_t i = 0; ok && i < np; i++) {
        if (len - o < 18) {
            ok = 0;
            break;
        }
        uint32_t nl = le_r16(ix + o + 16);
        if (len - o - 18 < nl) {
            ok = 0;
            break;
        }
        int64_t pi = intern_prov(ar, ix + o, (const char *)ix + o + 18, nl);
        if (pi < 0) {
            rc = ERR_NOMEM;
            ok = 0;
            break;
        }
        pmap[i] = (uint32_t)pi;
        o += 18 + nl;
    }
    for (uint32_t i = 0; ok && i < nb; i++) {
        if (len - o < 36) {
            ok = 0;
            break;
        }
        const uint8_t *e = ix + o;
        uint64_t boff = le_r64(e);
        uint32_t bl = le_r32(e + 8), cnt = le_r32(e + 12), bnp = le_r32(e + 32);
        if (boff < AR_FILE_HDR_SIZE || boff > ioff || bl > ioff - boff ||
            (len - o - 36) / 2 < bnp) {
            ok = 0;
            break;
        }
        if (add_block(ar, boff, bl, cnt, (int64_t)le_r64(e + 16), (int64_t)le_r64(e + 24))) {
            rc = ERR_NOMEM;
            ok = 0;
            break;
        }
        o += 36;
        for (uint32_t k = 0; k < bnp; k++, o += 2) {
            uint32_t pi = le_r16(ix + o);
            if (pi >= np) {
                ok = 0;
                break;
            }
            if (add_block_prov(ar, pmap[pi])) {
                rc = ERR_NOMEM;
                ok = 0;
                break;
            }
        }
    }
    if (ok && (len - o) != ((uint64_t)ns + nd) * 16)
        ok = 0;
    for (uint32_t i = 0; ok && i < ns + nd; i++, o += 16) {
        uint64_t foff = le_r64(ix + o);
        struct ar_frame af;
        if (ar_frame_at(ar->base, ioff, foff, &af, &why) != AR_FRAME_OK ||
            af.type != (i < ns ? AR_FRAME_SCHEMA : AR_FRAME_DICT)) {
            warnf(ar, foff, "index names a %s frame that is not there (%s)",
                  i < ns ? "schema" : "dictionary", why);
            ar->st.bad_frames++;
            continue;
        }
        int lr = load_aux(ar, &af);
        if (lr == ERR_NOMEM) {
            rc = ERR_NOMEM;
            ok = 0;
        }
    }
    mem_free(pmap);
    mem_free(ix);
    if (rc)
        return rc;
    if (!ok) {
        warnf(ar, ioff, "index malformed; scanning the frames instead");
        /* Forget what the index added. */
        ar->nblocks = ar->nbprovs = 0;
        ar->st.events_total = 0;
        return 0;
    }
    ar->st.indexed = 1;
    return 1;
}

/* ---- Opening: scan ----------------------------------------------------------------------- */

static int is_footer_at(const struct archive_reader *ar, uint64_t off)
{
    if (off + AR_FOOTER_SIZE != ar->len)
        return 0;
    const uint8_t *ft = ar->base + off;
    return le_r32(ft + 28) == AR_FOOTER_MAGIC && ar_crc32c(0, ft, 24) == le_r32(ft + 24);
}

static int open_scan(struct archive_reader *ar)
{
    uint64_t off = AR_FILE_HDR_SIZE;
    while (off < ar->len) {
        if (is_footer_at(ar, off))
            break;
        struct ar_frame f;
        const char *why;
        int fr = ar_frame_at(ar->base, ar->len, off, &f, &why);
        if (fr == AR_FRAME_TORN) {
            warnf(ar, off, "%s: %llu bytes at the end are not a complete frame (skipped)", why,
                  (unsigned long long)(ar->len - off));
            ar->st.damaged_bytes += ar->len - off;
            if (f.type == AR_FRAME_BLOCK)
                ar->st.bad_blocks++;
            else
                ar->st.bad_frames++;
            break;
        }
        if (fr == AR_FRAME_BAD) {
            uint64_t next = ar_resync(ar->base, ar->len, off + 1);
            warnf(ar, off, "%s: %llu bytes skipped up to the next frame", why,
                  (unsigned long long)(next - off));
            ar->st.damaged_bytes += next - off;
            ar->st.bad_frames++;
            off = next;
            continue;
        }
        if (f.type == AR_FRAME_BLOCK) {
            if (ensure_tables(ar))
                return ERR_NOMEM;
            if (!ar_frame_payload_ok(&f)) {
                warnf(ar, off, "block: payload checksum mismatch (%u events skipped)", f.count);
                ar->st.bad_blocks++;
            } else {
                const char *w2;
                if (ar_block_meta_parse(&f, ar->meta, &w2)) {
                    warnf(ar, off, "block: %s (%u events skipped)", w2, f.count);
                    ar->st.bad_blocks++;
                } else {
                    if (add_block(ar, off, (uint32_t)f.total, f.count, (int64_t)f.a,
                                  (int64_t)f.b))
                        return ERR_NOMEM;
                    for (uint32_t k = 0; k < ar->meta->nprov; k++)
                        if (add_block_prov(ar, intern_prov(ar, ar->meta->prov_guid[k],
                                                           ar->meta->prov_name[k],
                                                           ar->meta->prov_name_len[k])))
                            return ERR_NOMEM;
                }
            }
        } else if (f.type == AR_FRAME_SCHEMA || f.type == AR_FRAME_DICT) {
            if (load_aux(ar, &f) == ERR_NOMEM)
                return ERR_NOMEM;
        }
        off += f.total;
    }
    return 0;
}

/* ---- Open / close ---------------------------------------------------------------------- */

static int parse_guid_filter(const char *s, etwhost_guid *g)
{
    return guid_parse(s, strlen(s), g) == 0;
}

static int open_common(struct archive_reader *ar, const struct archive_options *opt,
                       struct errbuf *eb)
{
    if (opt)
        ar->opt = *opt;
    ar->opt.provider = NULL;
    if (opt && opt->provider && opt->provider[0]) {
        ar->opt.provider = mem_strdup(opt->provider);
        if (ar->opt.provider == NULL)
            return errbuf_set(eb, ERR_NOMEM, "out of memory");
        ar->prov_filter = 1;
        ar->prov_is_guid = parse_guid_filter(ar->opt.provider, &ar->prov_guid);
    }
    ar->arena.chunk_size = 64 * 1024;
    ar->dctx = ZSTD_createDCtx();
    if (ar->dctx == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    if (ar->len < AR_FILE_HDR_SIZE || memcmp(ar->base, archive_magic, 8) != 0)
        return errbuf_set(eb, ERR_FORMAT, "%s: offset 0x0: not an etwhost archive (bad magic)",
                          ar->name);
    if (ar_crc32c(0, ar->base, 60) != le_r32(ar->base + 60))
        return errbuf_set(eb, ERR_FORMAT, "%s: offset 0x0: file header checksum mismatch",
                          ar->name);
    ar->major = le_r16(ar->base + 8);
    ar->minor = le_r16(ar->base + 10);
    if (ar->major < AR_FORMAT_MAJOR_OLDEST || ar->major > AR_FORMAT_MAJOR ||
        le_r32(ar->base + 12) != AR_FILE_HDR_SIZE)
        return errbuf_set(eb, ERR_FORMAT,
                          "%s: offset 0x8: archive format %u.%u is not supported (this "
                          "etwhost reads %u.x to %u.x)",
                          ar->name, ar->major, ar->minor, AR_FORMAT_MAJOR_OLDEST, AR_FORMAT_MAJOR);
    int rc = ar->opt.force_scan ? 0 : open_index(ar);
    if (rc < 0)
        return errbuf_set(eb, rc, "out of memory");
    if (rc == 0) {
        ar->nblocks = ar->nbprovs = 0;
        ar->st.events_total = 0;
        rc = open_scan(ar);
        if (rc)
            return errbuf_set(eb, rc, "out of memory");
    }
    ar->st.blocks = ar->nblocks;
    ar->info.path = ar->name;
    ar->info.logger_name = "archive";
    ar->info.pointer_size = 8;
    ar->info.clock_type = TRACE_CLOCK_SYSTEM;
    if (ar->nblocks) {
        ar->info.start_time = ar->blocks[0].tmin;
        ar->info.end_time = ar->blocks[ar->nblocks - 1].tmax;
    }
    return 0;
}

int archive_open_mem(const uint8_t *data, size_t len, const char *name,
                     const struct archive_options *opt, struct archive_reader **out,
                     struct errbuf *eb)
{
    *out = NULL;
    struct archive_reader *ar = mem_calloc(1, sizeof *ar);
    if (ar == NULL || (ar->name = mem_strdup(name ? name : "archive")) == NULL) {
        mem_free(ar);
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    }
    ar->base = data;
    ar->len = len;
    int rc = open_common(ar, opt, eb);
    if (rc) {
        archive_close(ar);
        return rc;
    }
    *out = ar;
    return 0;
}

int archive_open(const char *path, const struct archive_options *opt, struct archive_reader **out,
                 struct errbuf *eb)
{
    *out = NULL;
    const uint8_t *data = NULL;
    size_t len = 0;
    int rc = plat_map_file(path, &data, &len, eb);
    if (rc)
        return rc;
    struct archive_reader *ar = NULL;
    rc = archive_open_mem(data, len, path, opt, &ar, eb);
    if (rc) {
        plat_unmap(data, len);
        return rc;
    }
    ar->mapped = 1;
    *out = ar;
    return 0;
}

void archive_close(struct archive_reader *ar)
{
    if (ar == NULL)
        return;
    if (ar->mapped)
        plat_unmap(ar->base, (size_t)ar->len);
    for (size_t i = 0; i < ar->nprovs; i++)
        mem_free(ar->provs[i].name);
    mem_free(ar->provs);
    for (size_t i = 0; i < ar->ndicts; i++)
        ZSTD_freeDDict(ar->dicts[i].d);
    mem_free(ar->dicts);
    mem_free(ar->schemas);
    mem_free(ar->blocks);
    mem_free(ar->bprovs);
    arena_free(&ar->arena);
    ZSTD_freeDCtx(ar->dctx);
    mem_free(ar->meta);
    ar_cursor_free(&ar->blk);
    mem_free(ar->tmpls);
    mem_free(ar->tmp);
    mem_free(ar->rawbuf);
    mem_free(ar->lprov);
    mem_free(ar->lschema);
    mem_free(ar->lschema_missing);
    mem_free((char *)(uintptr_t)ar->opt.provider);
    mem_free(ar->name);
    mem_free(ar);
}

/* ---- Reading ------------------------------------------------------------------------------ */

static int block_selected(const struct archive_reader *ar, const struct archive_block *b)
{
    if (ar->opt.has_since && b->tmax < ar->opt.since)
        return 0;
    if (ar->opt.has_until && b->tmin > ar->opt.until)
        return 0;
    if (ar->prov_filter) {
        for (uint32_t k = 0; k < b->nprov; k++)
            if (ar->provs[ar->bprovs[b->prov_first + k]].match)
                return 1;
        return 0;
    }
    return 1;
}

/* Load block ar->cur: 0, 1 damaged (skipped and counted), ERR_NOMEM. */
static int load_block(struct archive_reader *ar)
{
    const struct archive_block *b = &ar->blocks[ar->cur];
    struct ar_frame f;
    const char *why = "not a block frame";
    if (ensure_tables(ar))
        return ERR_NOMEM;
    int fr = ar_frame_at(ar->base, ar->len, b->offset, &f, &why);
    if (fr != AR_FRAME_OK || f.type != AR_FRAME_BLOCK) {
        warnf(ar, b->offset, "block: %s (%u events skipped)", why, b->count);
        ar->st.bad_blocks++;
        return 1;
    }
    if (ar->st.indexed && !ar_frame_payload_ok(&f)) {
        warnf(ar, b->offset, "block: payload checksum mismatch (%u events skipped)", b->count);
        ar->st.bad_blocks++;
        return 1;
    }
    int rc = ar_block_meta_parse(&f, ar->meta, &why);
    ZSTD_DDict *dd = NULL;
    if (rc == 0 && ar->meta->dict_id) {
        dd = find_dict(ar, ar->meta->dict_id);
        if (dd == NULL) {
            why = "its dictionary is missing or damaged";
            rc = ERR_FORMAT;
        }
    }
    if (rc == 0)
        rc = ar_cursor_open(ar->dctx, dd, &f, ar->meta, &ar->blk, &why);
    if (rc == ERR_NOMEM)
        return rc;
    if (rc) {
        warnf(ar, b->offset, "block: %s (%u events skipped)", why, b->count);
        ar->st.bad_blocks++;
        return 1;
    }
    uint32_t nt = ar->meta->ntemplates;
    if (nt > ar->tmpls_cap) {
        struct ar_tmpl *nv = mem_realloc(ar->tmpls, (size_t)nt * sizeof *nv);
        if (nv == NULL)
            return ERR_NOMEM;
        ar->tmpls = nv;
        ar->tmpls_cap = nt;
    }
    for (uint32_t t = 0; t < nt; t++) {
        const uint8_t *tp = ar->blk.body + (size_t)t * AR_REC_FIXED;
        struct ar_tmpl *T = &ar->tmpls[t];
        record_decode_fixed(tp, &T->rec);
        T->whole = le_r32(tp + RENC_RAW_HEAD_OFF) != RENC_NONE;
        T->shortcuts = le_r32(tp + RENC_TL_META_OFF) != RENC_NONE ||
                       le_r32(tp + RENC_TL_TRAITS_OFF) != RENC_NONE;
    }
    for (uint32_t k = 0; k < ar->meta->nprov; k++) {
        int64_t pi = intern_prov(ar, ar->meta->prov_guid[k], ar->meta->prov_name[k],
                                 ar->meta->prov_name_len[k]);
        if (pi < 0)
            return ERR_NOMEM;
        ar->lprov[k] = (uint32_t)pi;
    }
    for (uint32_t k = 0; k < ar->meta->nschemas; k++) {
        ar->lschema[k + 1] = find_schema(ar, le_r64(ar->meta->schema_ids + 8 * k));
        ar->lschema_missing[k + 1] = ar->lschema[k + 1] == NULL;
    }
    ar->st.blocks_read++;
    ar->st.stored_bytes += f.total;
    ar->st.raw_bytes += f.raw;
    ar->ri = ar->rn = 0;
    return 0;
}

int archive_next(struct archive_reader *ar, struct record *rec, struct errbuf *eb)
{
    for (;;) {
        if (!ar->loaded) {
            while (ar->cur < ar->nblocks) {
                if (!block_selected(ar, &ar->blocks[ar->cur])) {
                    ar->st.blocks_skipped++;
                    ar->cur++;
                    continue;
                }
                int rc = load_block(ar);
                if (rc == ERR_NOMEM)
                    return errbuf_set(eb, rc, "%s: out of memory", ar->name);
                if (rc == 0)
                    break;
                ar->cur++;
            }
            if (ar->cur >= ar->nblocks)
                return 0;
            ar->loaded = 1;
        }
        for (;;) {
            if (ar->ri == ar->rn) {
                ar->rn = ar_cursor_items(&ar->blk, ar->items, AR_CHUNK);
                ar->ri = 0;
                if (ar->rn == 0 && ar->blk.err) {
                    warnf(ar, ar->blocks[ar->cur].offset, "block: %s (%u events skipped)",
                          ar->blk.err, ar->blk.lost);
                    ar->st.bad_blocks++;
                }
                if (ar->rn == 0)
                    break;
            }
            const struct ar_item *it = &ar->items[ar->ri++];
            const struct ar_tmpl *T = &ar->tmpls[it->t];
            const uint8_t *e = ar->blk.body + it->eo, *d = ar->blk.body + it->dof,
                          *x = ar->blk.body + it->xo;
            const uint8_t *row = it->tmpl; /* the members the template holds */
            int rc = 0;
            if (T->whole) {
                uint8_t whole[AR_REC_FIXED];
                ar_item_row(it, whole);
                rc = record_decode_split(whole, e, d, x, rec);
                size_t rs = rc ? 0 : record_raw_size(whole);
                if (rs) {
                    if (rs > ar->rawbuf_cap) {
                        uint8_t *nb = mem_realloc(ar->rawbuf, rs);
                        if (nb == NULL)
                            return errbuf_set(eb, ERR_NOMEM, "%s: out of memory", ar->name);
                        ar->rawbuf = nb;
                        ar->rawbuf_cap = rs;
                    }
                    rc = record_rebuild_raw(whole, e, d, x, ar->rawbuf, rec);
                }
            } else {
                /* What record_decode_split gives for the template + slim row, in pieces. */
                const uint8_t *sr = it->slim;
                uint32_t el = le_r32(sr + 68), dl = le_r32(sr + 72);
                *rec = T->rec;
                rec->pid = le_r32(sr + 4);
                rec->tid = le_r32(sr + 8);
                rec->cpu = le_r32(sr + 12);
                rec->wpp_sequence = le_r32(sr + 16);
                rec->timestamp = (int64_t)it->ts;
                rec->raw_timestamp = (int64_t)it->rts;
                guid_read(&rec->activity, sr + 36);
                guid_read(&rec->related, sr + 52);
                if (T->shortcuts) {
                    rc = record_decode_pointers(row, e, el, d, dl, x, le_r32(sr + 76), rec);
                } else {
                    rec->ext = el ? e : NULL;
                    rec->ext_len = el;
                    rec->data = dl ? d : NULL;
                    rec->data_len = dl;
                }
            }
            if (rc) {
                /* The block was validated as a whole; only a bad shortcut gets here. */
                warnf(ar, ar->blocks[ar->cur].offset, "record %u: bad extended-item shortcut",
                      ar->blk.next - ar->rn + ar->ri - 1);
                continue;
            }
            const struct ar_prov *p = &ar->provs[ar->lprov[le_r16(row + 120)]];
            if (ar->prov_filter && !p->match)
                continue;
            if (ar->opt.has_since && rec->timestamp < ar->opt.since)
                continue;
            if (ar->opt.has_until && rec->timestamp > ar->opt.until)
                continue;
            uint32_t si = le_r16(row + 122);
            rec->schema = si ? ar->lschema[si] : NULL;
            if (si && ar->lschema_missing[si])
                ar->st.missing_schemas++;
            rec->provider_name = p->name;
            rec->offset = ar->blocks[ar->cur].offset;
            rec->seq = ar->ordinal++;
            rec->trace = &ar->info;
            ar->st.records++;
            return 1;
        }
        ar->loaded = 0;
        ar->cur++;
    }
}

/* ---- Accessors ------------------------------------------------------------------------------ */

size_t archive_block_count(const struct archive_reader *ar) { return ar->nblocks; }

const struct archive_block *archive_block_at(const struct archive_reader *ar, size_t i)
{
    return i < ar->nblocks ? &ar->blocks[i] : NULL;
}

const uint32_t *archive_block_providers(const struct archive_reader *ar) { return ar->bprovs; }

size_t archive_provider_count(const struct archive_reader *ar) { return ar->nprovs; }

const char *archive_provider(const struct archive_reader *ar, size_t i, etwhost_guid *guid)
{
    if (i >= ar->nprovs)
        return NULL;
    if (guid)
        *guid = ar->provs[i].guid;
    return ar->provs[i].name;
}

size_t archive_schema_count(const struct archive_reader *ar) { return ar->nschemas; }

void archive_version(const struct archive_reader *ar, unsigned *major, unsigned *minor)
{
    *major = ar->major;
    *minor = ar->minor;
}

uint64_t archive_file_size(const struct archive_reader *ar) { return ar->len; }

void archive_get_stats(const struct archive_reader *ar, struct archive_stats *st) { *st = ar->st; }

int archive_is_archive(const char *path)
{
    /* plat_fopen: UTF-8 paths on Windows too (fopen takes the ANSI code page there). */
    FILE *f = plat_fopen(path, "rb", NULL);
    if (f == NULL)
        return 0;
    uint8_t m[8];
    size_t n = fread(m, 1, 8, f);
    fclose(f);
    return n == 8 && memcmp(m, archive_magic, 8) == 0;
}

/* ---- Time parsing ---------------------------------------------------------------------------- */

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int archive_parse_time(const char *s, int64_t *ft)
{
    size_t n = strlen(s);
    if (n == 0)
        return ERR_FORMAT;
    int all_digits = 1;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            all_digits = 0;
    if (all_digits && n > 10) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (*end)
            return ERR_FORMAT;
        *ft = v;
        return 0;
    }
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (n < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31)
        return ERR_FORMAT;
    int64_t frac = 0, off_min = 0;
    const char *p = s + 10;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        if (strlen(p) < 9 || digits(p + 1, 2, &h) || p[3] != ':' || digits(p + 4, 2, &mi) ||
            p[6] != ':' || digits(p + 7, 2, &se) || h > 23 || mi > 59 || se > 60)
            return ERR_FORMAT;
        p += 9;
        if (*p == '.') {
            int k = 0;
            p++;
            while (*p >= '0' && *p <= '9') {
                if (k < 7) {
                    frac = frac * 10 + (*p - '0');
                    k++;
                }
                p++;
            }
            if (k == 0)
                return ERR_FORMAT;
            while (k++ < 7)
                frac *= 10;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            if (strlen(p) != 6 || digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om))
                return ERR_FORMAT;
            off_min = (oh * 60 + om) * (*p == '+' ? 1 : -1);
            p += 6;
        } else {
            return ERR_FORMAT;
        }
    }
    if (*p)
        return ERR_FORMAT;
    *ft = text_civil_to_filetime(y, mo, d, h, mi, se, 0) - off_min * 60 * 10000000LL + frac;
    return 0;
}
