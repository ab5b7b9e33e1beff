/*
 * archive: the compressed, self-describing event archive sink.
 *
 * Writes every event it receives as its raw record (api->event_record) and
 * each schema needed to decode it once per file (api->event_schema), in
 * independent zstd-compressed blocks with checksums, event counts and time
 * ranges, followed at close by an index and a footer.  The format is
 * specified in docs/archive-format.md; user documentation is docs/archive.md.
 * The host reads archives with host/archive/archive_reader.c.  The two sides
 * of the plugin boundary share no code (a plugin includes only the SDK and
 * plugin-side support code, the host exports nothing), so the format
 * constants and the little-endian helpers below, and the CRC32C in
 * plugins/support/psup_crc32c.c, are a second implementation of
 * docs/archive-format.md next to the reader's (host/archive/archive_int.h, host/core/le.h);
 * the round-trip and known-answer tests hold the two together.
 *
 * Settings:
 *   path            the live archive file (required), conventionally *.etwa
 *   level           zstd level of the payloads, 1..19 (default 6; record headers
 *                   use min(level, 3))
 *   block_kb        uncompressed bytes per block before it is written
 *                   (default 16384; 16..262144)
 *   segment_kb      payload bytes handed to the compression thread at a time
 *                   while a block fills (default 1024; 4..65536)
 *   block_seconds   write a block once its first event is this old, checked
 *                   when events arrive (default 5; 0 = only when full)
 *   dictionary      true: train a zstd dictionary (ZDICT) on the first blocks
 *                   and use it for the later ones; pays off for small blocks
 *   dictionary_kb   dictionary size (default 64; 1..1024)
 *   rotate_bytes    rotate when the file would exceed this size (0 = off;
 *                   integer or "256M"-style string, 1024-based)
 *   rotate_seconds  rotate files older than this (0 = off; "30s"/"15m"/"1h"/"1d")
 *   keep            rotated files to keep, oldest deleted first (default 10;
 *                   0 = keep all)
 *   fsync           "never" | "rotate" (default: at rotation and close) |
 *                   "block" (after every block)
 *   threads         compression threads, one block each (default 2; 1..8;
 *                   0 = compress on the pipeline thread)
 *
 * Rotation works like the file sink's, with the same code (plugins/support/
 * psup_rotate.c, as are the OS calls and the setting parsers): the live file
 * is finished (index and footer), renamed to
 * <stem>-<YYYYMMDDTHHMMSSZ>-<seq><ext> next to it, e.g.
 * trace-20260101T120000Z-000007.etwa (UTC time of rotation, seq increasing
 * and continuing after restarts), and a new live file is started.  A live
 * file left by a previous run (e.g. after a crash) is rotated away unchanged
 * when the sink starts; it stays readable (see crash safety in the docs).
 *
 * Crash safety: every frame (schema, dictionary, block) is appended with a
 * single write and carries its own checksums, so after a crash every block
 * written completely is readable and a torn last frame is detected.
 *
 * Threading: the host serializes calls into one instance.  A full block is
 * compressed on one of the instance's threads while the next ones fill (up
 * to `threads` blocks in flight); the pipeline thread writes them to the
 * file in order on its next calls (or waits for the oldest when it needs a
 * free slot or the file: rotation, flush, close, a block due by age).  Only
 * the pipeline thread touches the file and the index.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zdict.h>
/* ZSTD_customMem and ZSTD_createCCtx_advanced (stable in practice since zstd 1.0). */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#if (defined(__SSE2__) || defined(_M_X64)) && !defined(ETWHOST_NO_SIMD)
#include <emmintrin.h>
#endif

#include "etwhost/plugin.h"
#include "psup_crc32c.h"
#include "psup_le.h"
#include "psup_mem.h"
#include "psup_os.h"
#include "psup_rotate.h"
#include "psup_settings.h"

/* ---- Format constants (docs/archive-format.md; duplicated in the host reader) ---- */

static const uint8_t FILE_MAGIC[8] = {0x89, 'E', 'T', 'W', 'A', 0x0D, 0x0A, 0x1A};
#define FORMAT_MAJOR 3u
#define FORMAT_MINOR 0u
#define FILE_HDR_SIZE 64u
#define FRAME_MAGIC 0x46575445u /* "ETWF" */
#define FRAME_HDR_SIZE 48u
#define FRAME_BLOCK 1u
#define FRAME_SCHEMA 2u
#define FRAME_DICT 3u
#define FRAME_INDEX 4u
#define CODEC_NONE 0u
#define CODEC_ZSTD 1u
#define FOOTER_SIZE 32u
#define FOOTER_MAGIC 0x5A415445u /* "ETAZ" */

/* Record encoding (plugin.h event_record; docs/archive-format.md). */
#define REC_FIXED 152u
#define REC_TIMESTAMP 32
#define REC_RAW_TIMESTAMP 40
#define REC_PROVIDER 48
#define REC_EXT_LEN 112
#define REC_DATA_LEN 116
#define REC_NAME_LEN 120
#define REC_RESERVED 122
#define REC_EXTRA_LEN 124

/*
 * A block stores each record as a template index plus a slim row of the
 * fields that change from event to event; the template holds the rest of
 * the record's fixed part (docs/archive-format.md "Block body").
 */
#define SLIM 80u
#define SL_TEMPLATE 0
#define SL_PID 4
#define SL_TID 8
#define SL_CPU 12
#define SL_WPP_SEQ 16
#define SL_TS 20
#define SL_RAW_TS 28
#define SL_ACTIVITY 36
#define SL_RELATED 52
#define SL_EXT_LEN 68
#define SL_DATA_LEN 72
#define SL_EXTRA_LEN 76

#define MAX_BLOCK_RECORDS (1u << 20)
#define MAX_BLOCK_TABLE 65535u

#define FSYNC_NEVER 0
#define FSYNC_ROTATE 1
#define FSYNC_BLOCK 2

/*
 * A growing byte buffer.  From BIG_BYTES on its memory comes from
 * psup_big_alloc (huge pages where the system has them): a block's buffers
 * are megabytes, and on first touch 4 KiB pages cost a fault each (writing
 * a 180 k-event trace took 15 600 faults, 3 800 with huge pages here and
 * for zstd's tables).
 */
struct bytes {
    uint8_t *p;
    size_t len, cap; /* p is from psup_big_alloc(cap) when cap >= BIG_BYTES */
};

#define BIG_BYTES ((size_t)1 << 20)

/* n bytes: from psup_big_alloc from BIG_BYTES on, else malloc.  Free with sized_free(p, n). */
static void *sized_alloc(size_t n)
{
    return n >= BIG_BYTES ? psup_big_alloc(n) : malloc(n);
}

static void sized_free(void *p, size_t n)
{
    if (n >= BIG_BYTES)
        psup_big_free(p, n);
    else
        free(p);
}

static int bytes_reserve(struct bytes *b, size_t n)
{
    if (b->cap - b->len >= n)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n) {
        if (cap > ((size_t)1 << 40))
            return -1;
        cap *= 2;
    }
    uint8_t *np;
    if (cap >= BIG_BYTES) {
        np = sized_alloc(cap);
        if (np == NULL)
            return -1;
        if (b->len)
            memcpy(np, b->p, b->len);
        sized_free(b->p, b->cap);
    } else {
        np = realloc(b->p, cap);
        if (np == NULL)
            return -1;
    }
    b->p = np;
    b->cap = cap;
    return 0;
}

static int bytes_put(struct bytes *b, const void *p, size_t n)
{
    if (bytes_reserve(b, n))
        return -1;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static void bytes_free(struct bytes *b)
{
    sized_free(b->p, b->cap);
    memset(b, 0, sizeof *b);
}

/*
 * zstd's memory for a compression context: its match tables for a block
 * are megabytes that zstd clears at every frame, so they come from
 * psup_big_alloc (huge pages) from BIG_BYTES on.  A header in front of each
 * allocation keeps its size for the free.
 */
#define ZMEM_HDR 64

static void *zmem_alloc(void *opaque, size_t n)
{
    (void)opaque;
    if (n > SIZE_MAX - ZMEM_HDR)
        return NULL;
    size_t total = n + ZMEM_HDR;
    uint8_t *p = sized_alloc(total);
    if (p == NULL)
        return NULL;
    memcpy(p, &total, sizeof total);
    return p + ZMEM_HDR;
}

static void zmem_free(void *opaque, void *q)
{
    (void)opaque;
    if (q == NULL)
        return;
    uint8_t *p = (uint8_t *)q - ZMEM_HDR;
    size_t total;
    memcpy(&total, p, sizeof total);
    sized_free(p, total);
}

static ZSTD_CCtx *zcctx_new(void)
{
    ZSTD_customMem cm = {zmem_alloc, zmem_free, NULL};
    return ZSTD_createCCtx_advanced(cm);
}

/*
 * Room for need elements of elem bytes in the array whose pointer is at pp
 * (any object pointer type) with capacity *cap, doubling from first.  0, or
 * -1 with the array unchanged.
 */
static int grow_array(void *pp, size_t elem, size_t need, size_t *cap, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : first;
    while (nc < need) {
        if (nc > ((size_t)1 << 40) / elem)
            return -1;
        nc *= 2;
    }
    void *old, *np;
    memcpy(&old, pp, sizeof old);
    if ((np = realloc(old, nc * elem)) == NULL)
        return -1;
    memcpy(pp, &np, sizeof np);
    *cap = nc;
    return 0;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001B3ull;
    return h;
}

/* Hash of a record template (REC_FIXED bytes, a multiple of 8): one multiply per word. */
static uint64_t hash_template(const uint8_t *p)
{
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < REC_FIXED; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
    }
    return h;
}

/* ---- Provider and schema tables ----------------------------------------------------- */

/* A (provider GUID, provider name) pair; names live in 'names'. */
struct prov {
    uint8_t guid[16];
    uint32_t name_off, name_len;
    uint64_t hash;
};

struct prov_table {
    struct prov *v;
    uint32_t n;
    size_t cap;
    uint32_t *slots; /* index + 1, 0 = empty */
    uint32_t nslots;
    struct bytes names;
};

static void prov_table_reset(struct prov_table *t)
{
    t->n = 0;
    t->names.len = 0;
    if (t->slots)
        memset(t->slots, 0, t->nslots * sizeof *t->slots);
}

static void prov_table_free(struct prov_table *t)
{
    free(t->v);
    free(t->slots);
    bytes_free(&t->names);
    memset(t, 0, sizeof *t);
}

/* Index of (guid, name) in t, added if new; -1 on out of memory or when full. */
static int32_t prov_index(struct prov_table *t, const uint8_t *guid, const char *name,
                          uint32_t nl)
{
    uint64_t h = hash_bytes((const uint8_t *)name, nl, hash_bytes(guid, 16, 0xCBF29CE484222325ull));
    if (t->nslots) {
        uint32_t j = (uint32_t)h & (t->nslots - 1);
        while (t->slots[j]) {
            struct prov *p = &t->v[t->slots[j] - 1];
            if (p->hash == h && p->name_len == nl && memcmp(p->guid, guid, 16) == 0 &&
                memcmp(t->names.p + p->name_off, name, nl) == 0)
                return (int32_t)(t->slots[j] - 1);
            j = (j + 1) & (t->nslots - 1);
        }
    }
    if (t->n >= MAX_BLOCK_TABLE)
        return -1;
    if ((t->n + 1) * 2 > t->nslots) {
        uint32_t ns = t->nslots ? t->nslots * 2 : 64;
        uint32_t *sl = calloc(ns, sizeof *sl);
        if (sl == NULL)
            return -1;
        for (uint32_t i = 0; i < t->n; i++) {
            uint32_t j = (uint32_t)t->v[i].hash & (ns - 1);
            while (sl[j])
                j = (j + 1) & (ns - 1);
            sl[j] = i + 1;
        }
        free(t->slots);
        t->slots = sl;
        t->nslots = ns;
    }
    if (grow_array(&t->v, sizeof *t->v, (size_t)t->n + 1, &t->cap, 32))
        return -1;
    struct prov *p = &t->v[t->n];
    memcpy(p->guid, guid, 16);
    p->name_off = (uint32_t)t->names.len;
    p->name_len = nl;
    p->hash = h;
    if (bytes_put(&t->names, name, nl))
        return -1;
    uint32_t j = (uint32_t)h & (t->nslots - 1);
    while (t->slots[j])
        j = (j + 1) & (t->nslots - 1);
    t->slots[j] = t->n + 1;
    return (int32_t)t->n++;
}

/* Every schema seen (bytes kept), with the file generation it was last written to. */
struct schema_ent {
    uint64_t id;
    uint8_t *bytes;
    size_t len;
    uint64_t written_gen;
};

/* ---- The sink ---------------------------------------------------------------------- */

struct idx_block {
    uint64_t off;
    uint32_t len, count;
    int64_t tmin, tmax;
    uint32_t prov_first, nprov; /* into asink.idx_provs */
};

struct idx_ref {
    uint64_t off;
    uint64_t id;
};

/*
 * A block handed to a compression thread: each job slot has its own thread
 * and zstd context.  A slot is claimed when the block's first segment of
 * payloads is ready (JOB_FILLING): the pipeline thread appends segments to
 * data and publishes them (avail), the compression thread compresses them
 * as they come; at the block's end the pipeline adds the record headers
 * (hdr), meta and extra bytes and queues it (JOB_QUEUED); the compression
 * thread finishes it into frame (JOB_DONE).  state and avail are read and
 * written under the slot's worker lock.  While FILLING, data's memory never
 * moves: the compression thread reads bytes [0, avail), the pipeline thread
 * only writes after them.  zdata and zpos belong to the compression thread
 * while FILLING or QUEUED; everything else to the pipeline thread, except
 * that the compression thread reads it once QUEUED.
 */
enum { JOB_IDLE, JOB_FILLING, JOB_QUEUED, JOB_DONE };
#define MAX_JOBS 8
struct asink;
struct zjob {
    struct asink *s;
    psup_worker *w;
    int started, stop;
    ZSTD_CCtx *cc;
    const ZSTD_CDict *cdict;   /* the dictionary when the block started */
    uint32_t dict_id;          /* its id, 0 = none */
    int state;
    const char *why;           /* zstd's error text when compression failed, else NULL */
    struct bytes hdr;          /* templates, slim rows transposed, ext streams */
    struct bytes data;         /* payload segments, then the extra bytes */
    struct bytes zdata;        /* data compressed so far */
    struct bytes meta, frame;
    size_t avail;              /* data bytes published to the compression thread */
    size_t zpos;               /* data bytes given to zstd */
    int zstream;               /* 0 none yet, 1 open over data, 2 ended, -1 failed */
    uint32_t count;
    int64_t tmin, tmax;
    uint32_t *prov;            /* the block's providers as indexes into the file's table */
    uint32_t nprov;
    size_t prov_cap;
};

struct asink {
    etwhost_host *h;
    const etwhost_host_api *api;
    int has_schema_api;
    char *path;
    struct psup_rot rot; /* rotated names: dir, stem, ext */
    int level, fsync_mode, dict_wanted;
    uint64_t block_bytes, block_ns, rotate_bytes, rotate_ns;
    /*
     * A block's payloads go to its compression thread a segment at a time:
     * once the events since the last segment hold seg_target payload bytes,
     * they are grouped by template and handed over, so the block is
     * compressed while it fills (format 3; docs/archive-format.md "Block body").
     */
    size_t seg_target;
    uint32_t keep, dict_bytes;

    /* The live file. */
    psup_file f;
    int is_open;
    uint64_t size, gen, opened_ns, next_seq;

    /* The block being filled: slim rows, templates with their ext streams, extra. */
    struct bytes rows, extra;
    struct bytes tmpl;        /* ntmpl x REC_FIXED */
    struct bytes *t_ext;      /* per template, for the block */
    struct bytes *t_data;     /* per template, payloads of the current segment */
    uint32_t *segs;           /* events per segment handed over */
    uint32_t nsegs, seg_events;
    size_t segs_cap, seg_bytes;
    int filling;              /* the slot after the blocks in flight holds this block's segments */
    uint64_t *t_hash;
    uint32_t ntmpl, tmpl_cap;
    uint32_t *t_slots;        /* index + 1 */
    uint32_t t_nslots;
    uint32_t last_tmpl;
    uint32_t n;
    uint64_t raw_bytes;
    int64_t tmin, tmax, last_ts, last_raw;
    uint64_t block_started_ns;
    struct prov_table bprov;
    uint64_t *bschemas; /* ids, block-local index + 1 */
    uint32_t nbschemas;
    size_t bschemas_cap;
    uint64_t last_schema_id;
    uint32_t last_schema_idx;
    int32_t last_prov;
    uint8_t last_prov_guid[16];
    uint32_t last_prov_nlen;
    char last_prov_name[256];

    /* Every schema seen, hashed by id. */
    struct schema_ent *schemas;
    uint32_t nschemas, schema_slots; /* open addressing, id 0 = empty */

    /* Index of the live file. */
    struct prov_table fprov;
    struct idx_block *blocks;
    size_t nblocks, blocks_cap;
    uint32_t *idx_provs;
    size_t nidx_provs, idx_provs_cap;
    struct idx_ref *sframes, *dframes;
    size_t nsframes, sframes_cap, ndframes, dframes_cap;
    uint64_t file_events;

    /* zstd */
    ZSTD_CCtx *cctx;
    ZSTD_CDict *cdict;
    uint8_t *dict;
    size_t dict_len;
    uint32_t dict_id;
    struct bytes train; /* bodies of the first blocks, for ZDICT */
    int dict_failed;

    struct bytes frame; /* schema, dictionary and index frames */
    struct zjob jobs[MAX_JOBS]; /* blocks in flight: jobs[head], ... in the order written */
    uint32_t njobs, head, inflight;
    int write_failed; /* a block could not be written: retry it before new events */

    uint64_t events, blocks_written, schemas_written, bytes_raw, bytes_out, rotations,
        write_errors, bad_records;
    int32_t c_events, c_blocks, c_bytes, c_errors;
};

static const char *const archive_keys[] = {
    "path",         "level",          "block_kb", "segment_kb", "block_seconds",
    "dictionary",   "dictionary_kb",  "rotate_bytes", "rotate_seconds", "keep",
    "fsync",        "threads",        NULL};

static void log_io(struct asink *s, const char *what, const char *path, int e)
{
    char buf[160];
    etwhost_logf(s->api, s->h, ETWHOST_LOG_ERROR, "%s %s: %s", what, path,
                 psup_strerror_num(e, buf, sizeof buf));
}

/* ---- Rotated names (plugins/support/psup_rotate.h) ---------------------------------- */

static void keep_failed(void *ctx, const char *path, int e)
{
    log_io(ctx, "cannot delete old archive", path, e);
}

/* Delete the oldest rotated files beyond 'keep'. */
static void apply_keep(struct asink *s)
{
    psup_rot_prune(&s->rot, s->keep, keep_failed, s);
}

/* ---- Frames ------------------------------------------------------------------------------ */

/* Append the whole frame in s->frame to the file, undoing a partial write. */
static int write_out(struct asink *s, const uint8_t *p, size_t n)
{
    int e = psup_write(&s->f, p, n, NULL);
    if (e) {
        log_io(s, "cannot write", s->path, e);
        psup_truncate(&s->f, s->size);
        s->write_errors++;
        return -1;
    }
    s->size += n;
    s->bytes_out += n;
    return 0;
}

/*
 * Compress src into dst (cap bytes) as one zstd frame at level, with a window
 * that spans the whole input (blocks are independent, so the window costs no
 * decoder more memory than the block itself).  Blocks use the trained
 * dictionary when there is one (its parameters then take over).  The stored
 * size, or 0 with *why set to zstd's (static) error text.
 */
/* zstd's window log for n bytes: the smallest window holding them, between 1 KiB and 128 MiB. */
static int wlog_for(uint64_t n)
{
    int wlog = 10;
    while (wlog < 27 && ((uint64_t)1 << wlog) < n)
        wlog++;
    return wlog;
}

static size_t zcompress(ZSTD_CCtx *cc, const ZSTD_CDict *cdict, uint8_t *dst, size_t cap,
                        const uint8_t *src, size_t len, int level, const char **why)
{
    ZSTD_CCtx_reset(cc, ZSTD_reset_session_only);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, wlog_for(len));
    ZSTD_CCtx_refCDict(cc, cdict);
    size_t n = ZSTD_compress2(cc, dst, cap, src, len);
    if (ZSTD_isError(n)) {
        *why = ZSTD_getErrorName(n);
        return 0;
    }
    return n;
}

/*
 * Fill in the header of the frame at h, whose meta (meta_len bytes) and
 * stored body (stored bytes) follow it: raw is the body's length after
 * decompression, a and b the type-specific header words.  0, or -1 with
 * *why when a length does not fit the format.
 */
static int seal_frame(uint8_t *h, unsigned type, unsigned codec, size_t meta_len, size_t stored,
                      size_t raw, uint32_t count, uint64_t a, uint64_t b, const char **why)
{
    if (stored > 0xFFFFFFF0u || meta_len > 0xFFFFFFF0u || raw > 0xFFFFFFF0u) {
        *why = "frame larger than 4 GiB";
        return -1;
    }
    *why = NULL;
    memset(h, 0, FRAME_HDR_SIZE);
    psup_put32(h, FRAME_MAGIC);
    h[4] = (uint8_t)type;
    h[5] = (uint8_t)codec;
    psup_put16(h + 6, FRAME_HDR_SIZE);
    psup_put32(h + 8, (uint32_t)meta_len);
    psup_put32(h + 12, (uint32_t)stored);
    psup_put32(h + 16, (uint32_t)raw);
    psup_put32(h + 20, count);
    psup_put64(h + 24, a);
    psup_put64(h + 32, b);
    psup_put32(h + 40, psup_crc32c(0, h + FRAME_HDR_SIZE, meta_len + stored));
    psup_put32(h + 44, psup_crc32c(0, h, 44));
    return 0;
}

/*
 * Build a schema, dictionary or index frame in out with compression context
 * cc: header, meta, body (compressed with zstd when codec is CODEC_ZSTD).
 * 0, or -1 with *why (out of memory or zstd's error).
 */
static int build_frame_into(struct asink *s, ZSTD_CCtx *cc, struct bytes *out, unsigned type,
                            unsigned codec, const uint8_t *meta, size_t meta_len,
                            const uint8_t *body, size_t body_len, uint32_t count, uint64_t a,
                            uint64_t b, const char **why)
{
    out->len = 0;
    size_t bound = codec == CODEC_ZSTD ? ZSTD_compressBound(body_len) : body_len;
    *why = "out of memory";
    if (bytes_reserve(out, FRAME_HDR_SIZE + meta_len + bound))
        return -1;
    uint8_t *h = out->p;
    if (meta_len)
        memcpy(h + FRAME_HDR_SIZE, meta, meta_len);
    uint8_t *dst = h + FRAME_HDR_SIZE + meta_len;
    size_t stored = body_len;
    if (codec == CODEC_ZSTD) {
        if ((stored = zcompress(cc, NULL, dst, bound, body, body_len, s->level, why)) == 0)
            return -1;
    } else if (body_len) {
        memcpy(dst, body, body_len);
    }
    if (seal_frame(h, type, codec, meta_len, stored, body_len, count, a, b, why))
        return -1;
    out->len = FRAME_HDR_SIZE + meta_len + stored;
    return 0;
}

/* A schema, dictionary or index frame into s->frame (pipeline thread); errors are logged. */
static int build_frame(struct asink *s, unsigned type, unsigned codec, const uint8_t *meta,
                       size_t meta_len, const uint8_t *body, size_t body_len, uint32_t count,
                       uint64_t a, uint64_t b)
{
    const char *why;
    if (build_frame_into(s, s->cctx, &s->frame, type, codec, meta, meta_len, body, body_len,
                         count, a, b, &why) == 0)
        return 0;
    etwhost_logf(s->api, s->h, ETWHOST_LOG_ERROR, "cannot build a frame: %s", why);
    return -1;
}

static int add_ref(struct idx_ref **v, size_t *n, size_t *cap, uint64_t off, uint64_t id)
{
    if (grow_array(v, sizeof **v, *n + 1, cap, 16))
        return -1;
    (*v)[*n].off = off;
    (*v)[*n].id = id;
    (*n)++;
    return 0;
}

static int write_dict_frame(struct asink *s)
{
    uint64_t off = s->size;
    if (build_frame(s, FRAME_DICT, CODEC_NONE, NULL, 0, s->dict, s->dict_len, 0, s->dict_id, 0) ||
        write_out(s, s->frame.p, s->frame.len))
        return -1;
    return add_ref(&s->dframes, &s->ndframes, &s->dframes_cap, off, s->dict_id);
}

/* Start a new live file: header (and the dictionary, when there is one). */
static int open_file(struct asink *s)
{
    int e = psup_create_new(s->path, &s->f);
    if (e) {
        log_io(s, "cannot create", s->path, e);
        s->write_errors++;
        return -1;
    }
    s->is_open = 1;
    s->size = 0;
    s->gen++;
    s->opened_ns = psup_monotonic_ns();
    s->nblocks = s->nidx_provs = s->nsframes = s->ndframes = 0;
    s->file_events = 0;
    prov_table_reset(&s->fprov);
    uint8_t h[FILE_HDR_SIZE];
    memset(h, 0, sizeof h);
    memcpy(h, FILE_MAGIC, 8);
    psup_put16(h + 8, FORMAT_MAJOR);
    psup_put16(h + 10, FORMAT_MINOR);
    psup_put32(h + 12, FILE_HDR_SIZE);
    psup_put64(h + 16, (uint64_t)psup_now_filetime());
    psup_put32(h + 24, (uint32_t)(s->block_bytes));
    psup_put32(h + 28, (uint32_t)s->level);
    psup_put32(h + 60, psup_crc32c(0, h, 60));
    if (write_out(s, h, sizeof h)) {
        psup_close(&s->f);
        s->is_open = 0;
        return -1;
    }
    if (s->dict && write_dict_frame(s))
        return -1;
    return 0;
}

/* Index frame and footer; the file is complete afterwards. */
static int finish_file(struct asink *s)
{
    struct bytes ix = {0};
    uint8_t t[64];
    int rc = 0;
    psup_put32(t, (uint32_t)s->nblocks);
    psup_put32(t + 4, (uint32_t)s->nsframes);
    psup_put32(t + 8, (uint32_t)s->ndframes);
    psup_put32(t + 12, s->fprov.n);
    psup_put64(t + 16, s->file_events);
    rc |= bytes_put(&ix, t, 24);
    for (uint32_t i = 0; i < s->fprov.n; i++) {
        const struct prov *p = &s->fprov.v[i];
        rc |= bytes_put(&ix, p->guid, 16);
        psup_put16(t, p->name_len);
        rc |= bytes_put(&ix, t, 2);
        rc |= bytes_put(&ix, s->fprov.names.p + p->name_off, p->name_len);
    }
    for (size_t i = 0; i < s->nblocks; i++) {
        const struct idx_block *b = &s->blocks[i];
        psup_put64(t, b->off);
        psup_put32(t + 8, b->len);
        psup_put32(t + 12, b->count);
        psup_put64(t + 16, (uint64_t)b->tmin);
        psup_put64(t + 24, (uint64_t)b->tmax);
        psup_put32(t + 32, b->nprov);
        rc |= bytes_put(&ix, t, 36);
        for (uint32_t k = 0; k < b->nprov; k++) {
            psup_put16(t, s->idx_provs[b->prov_first + k]);
            rc |= bytes_put(&ix, t, 2);
        }
    }
    for (size_t i = 0; i < s->nsframes; i++) {
        psup_put64(t, s->sframes[i].off);
        psup_put64(t + 8, s->sframes[i].id);
        rc |= bytes_put(&ix, t, 16);
    }
    for (size_t i = 0; i < s->ndframes; i++) {
        psup_put64(t, s->dframes[i].off);
        psup_put64(t + 8, s->dframes[i].id);
        rc |= bytes_put(&ix, t, 16);
    }
    uint64_t off = s->size;
    if (rc || build_frame(s, FRAME_INDEX, CODEC_ZSTD, NULL, 0, ix.p, ix.len, 0, s->nblocks,
                          s->file_events)) {
        bytes_free(&ix);
        return -1;
    }
    bytes_free(&ix);
    size_t flen = s->frame.len;
    if (write_out(s, s->frame.p, flen))
        return -1;
    uint8_t f[FOOTER_SIZE];
    psup_put64(f, off);
    psup_put64(f + 8, flen);
    psup_put64(f + 16, s->file_events);
    psup_put32(f + 24, psup_crc32c(0, f, 24));
    psup_put32(f + 28, FOOTER_MAGIC);
    return write_out(s, f, sizeof f);
}

static void close_file(struct asink *s, int finish)
{
    if (!s->is_open)
        return;
    if (finish)
        finish_file(s);
    if (s->fsync_mode != FSYNC_NEVER) {
        int e = psup_sync(&s->f);
        if (e)
            log_io(s, "cannot sync", s->path, e);
    }
    psup_close(&s->f);
    s->is_open = 0;
}

static int rotate_to_next(struct asink *s, const char *why)
{
    char *dst = psup_rot_path(&s->rot, s->next_seq);
    if (dst == NULL)
        return -1;
    int e = psup_rename(s->path, dst);
    if (e) {
        log_io(s, "cannot rotate", s->path, e);
        free(dst);
        s->write_errors++;
        return -1;
    }
    etwhost_logf(s->api, s->h, ETWHOST_LOG_INFO, "rotated %s to %s (%s)", s->path, dst, why);
    free(dst);
    s->next_seq++;
    s->rotations++;
    if (s->fsync_mode != FSYNC_NEVER)
        psup_sync_dir(s->rot.dir);
    apply_keep(s);
    return 0;
}

static int rotate(struct asink *s)
{
    close_file(s, 1);
    return rotate_to_next(s, "size or age limit");
}

/* ---- Blocks ------------------------------------------------------------------------------ */

static struct schema_ent *schema_find(struct asink *s, uint64_t id)
{
    if (s->schema_slots == 0)
        return NULL;
    uint32_t j = (uint32_t)(id ^ id >> 29) & (s->schema_slots - 1);
    while (s->schemas[j].id) {
        if (s->schemas[j].id == id)
            return &s->schemas[j];
        j = (j + 1) & (s->schema_slots - 1);
    }
    return NULL;
}

static struct schema_ent *schema_add(struct asink *s, uint64_t id, const uint8_t *p, size_t n)
{
    if ((s->nschemas + 1) * 2 > s->schema_slots) {
        uint32_t ns = s->schema_slots ? s->schema_slots * 2 : 256;
        struct schema_ent *nt = calloc(ns, sizeof *nt);
        if (nt == NULL)
            return NULL;
        for (uint32_t i = 0; i < s->schema_slots; i++) {
            if (!s->schemas[i].id)
                continue;
            uint32_t j = (uint32_t)(s->schemas[i].id ^ s->schemas[i].id >> 29) & (ns - 1);
            while (nt[j].id)
                j = (j + 1) & (ns - 1);
            nt[j] = s->schemas[i];
        }
        free(s->schemas);
        s->schemas = nt;
        s->schema_slots = ns;
    }
    uint8_t *copy = malloc(n ? n : 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, p, n);
    uint32_t j = (uint32_t)(id ^ id >> 29) & (s->schema_slots - 1);
    while (s->schemas[j].id)
        j = (j + 1) & (s->schema_slots - 1);
    struct schema_ent *e = &s->schemas[j];
    e->id = id;
    e->bytes = copy;
    e->len = n;
    e->written_gen = 0;
    s->nschemas++;
    return e;
}

/* Write the schema frames the block needs that this file does not have yet. */
static int write_block_schemas(struct asink *s)
{
    for (uint32_t i = 0; i < s->nbschemas; i++) {
        struct schema_ent *e = schema_find(s, s->bschemas[i]);
        if (e == NULL || e->written_gen == s->gen)
            continue;
        uint64_t off = s->size;
        if (build_frame(s, FRAME_SCHEMA, CODEC_ZSTD, NULL, 0, e->bytes, e->len, 0, e->id, 0) ||
            write_out(s, s->frame.p, s->frame.len) ||
            add_ref(&s->sframes, &s->nsframes, &s->sframes_cap, off, e->id))
            return -1;
        e->written_gen = s->gen;
        s->schemas_written++;
    }
    return 0;
}

/* Train the dictionary once enough block bodies were collected. */
static void maybe_train(struct asink *s)
{
    if (!s->dict_wanted || s->dict || s->dict_failed)
        return;
    /* Samples: the body cut into pieces about the size of a small block. */
    size_t piece = 16 * 1024;
    size_t nsamples = 0;
    size_t *sizes = NULL;
    for (size_t pos = 0; pos < s->train.len; pos += piece) {
        size_t *ns = realloc(sizes, (nsamples + 1) * sizeof *ns);
        if (ns == NULL) {
            free(sizes);
            return;
        }
        sizes = ns;
        sizes[nsamples++] = s->train.len - pos < piece ? s->train.len - pos : piece;
    }
    if (s->train.len < (size_t)s->dict_bytes * 8 || nsamples < 8) {
        free(sizes);
        return; /* not enough yet */
    }
    uint8_t *d = malloc(s->dict_bytes);
    if (d == NULL) {
        free(sizes);
        return;
    }
    size_t n = ZDICT_trainFromBuffer(d, s->dict_bytes, s->train.p, sizes, (unsigned)nsamples);
    free(sizes);
    if (ZDICT_isError(n)) {
        etwhost_logf(s->api, s->h, ETWHOST_LOG_WARN,
                     "dictionary training failed (%s); blocks are compressed without one",
                     ZDICT_getErrorName(n));
        free(d);
        s->dict_failed = 1;
        bytes_free(&s->train);
        return;
    }
    s->cdict = ZSTD_createCDict(d, n, s->level);
    if (s->cdict == NULL) {
        free(d);
        s->dict_failed = 1;
        return;
    }
    s->dict = d;
    s->dict_len = n;
    s->dict_id = ZDICT_getDictID(d, n);
    bytes_free(&s->train);
    if (s->is_open)
        write_dict_frame(s);
}

static void reset_block(struct asink *s)
{
    s->rows.len = s->extra.len = 0;
    for (uint32_t t = 0; t < s->ntmpl; t++)
        s->t_ext[t].len = s->t_data[t].len = 0;
    s->ntmpl = 0;
    s->tmpl.len = 0;
    if (s->t_slots)
        memset(s->t_slots, 0, s->t_nslots * sizeof *s->t_slots);
    s->last_tmpl = UINT32_MAX;
    s->n = 0;
    s->raw_bytes = 0;
    s->last_ts = s->last_raw = 0;
    prov_table_reset(&s->bprov);
    s->nbschemas = 0;
    s->last_schema_id = 0;
    s->last_prov = -1;
    s->nsegs = s->seg_events = 0;
    s->seg_bytes = 0;
}

/*
 * Slim rows (n x SLIM bytes) into columns (column j holds byte j of every
 * row, n bytes each).  With SSE2, 16 rows x 16 columns per step in four
 * rounds of unpacks, written out so that the compiler keeps them in
 * registers; the reader undoes it the same way.
 */
#if (defined(__SSE2__) || defined(_M_X64)) && !defined(ETWHOST_NO_SIMD)
#define TR_UNPACK(kind, d0, d1, a, b) \
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
    TR_UNPACK(epi8, t0, t1, x0, x1);
    TR_UNPACK(epi8, t2, t3, x2, x3);
    TR_UNPACK(epi8, t4, t5, x4, x5);
    TR_UNPACK(epi8, t6, t7, x6, x7);
    TR_UNPACK(epi8, t8, t9, x8, x9);
    TR_UNPACK(epi8, t10, t11, x10, x11);
    TR_UNPACK(epi8, t12, t13, x12, x13);
    TR_UNPACK(epi8, t14, t15, x14, x15);
    TR_UNPACK(epi16, x0, x1, t0, t2);
    TR_UNPACK(epi16, x2, x3, t1, t3);
    TR_UNPACK(epi16, x4, x5, t4, t6);
    TR_UNPACK(epi16, x6, x7, t5, t7);
    TR_UNPACK(epi16, x8, x9, t8, t10);
    TR_UNPACK(epi16, x10, x11, t9, t11);
    TR_UNPACK(epi16, x12, x13, t12, t14);
    TR_UNPACK(epi16, x14, x15, t13, t15);
    TR_UNPACK(epi32, t0, t1, x0, x4);
    TR_UNPACK(epi32, t2, t3, x1, x5);
    TR_UNPACK(epi32, t4, t5, x2, x6);
    TR_UNPACK(epi32, t6, t7, x3, x7);
    TR_UNPACK(epi32, t8, t9, x8, x12);
    TR_UNPACK(epi32, t10, t11, x9, x13);
    TR_UNPACK(epi32, t12, t13, x10, x14);
    TR_UNPACK(epi32, t14, t15, x11, x15);
    TR_UNPACK(epi64, x0, x1, t0, t8);
    TR_UNPACK(epi64, x2, x3, t1, t9);
    TR_UNPACK(epi64, x4, x5, t2, t10);
    TR_UNPACK(epi64, x6, x7, t3, t11);
    TR_UNPACK(epi64, x8, x9, t4, t12);
    TR_UNPACK(epi64, x10, x11, t5, t13);
    TR_UNPACK(epi64, x12, x13, t6, t14);
    TR_UNPACK(epi64, x14, x15, t7, t15);
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
#define TR_SSE2 1
#else
#define TR_SSE2 0
#endif

static void transpose_rows(const uint8_t *rows, size_t n, uint8_t *cols)
{
    size_t i = 0;
#if TR_SSE2
    for (; i + 16 <= n; i += 16)
        for (size_t j = 0; j < SLIM; j += 16)
            transpose16(rows + i * SLIM + j, SLIM, cols + j * n + i, n);
#endif
    for (; i < n; i++)
        for (size_t j = 0; j < SLIM; j++)
            cols[j * n + i] = rows[i * SLIM + j];
}

/* ---- The compression thread ---------------------------------------------------------- */

/*
 * Compress the job's data from zpos up to upto, ending the zstd frame when
 * end is set (upto is then the data's whole length).  The stream refers to
 * data in place (ZSTD_c_stableInBuffer) where zstd allows it, so data must
 * not move while the stream is open.  0, or -1 with j->why (the stream is
 * then given up: j->zstream -1).  Runs on the job's thread (or the pipeline
 * thread without one).
 */
static int stream_data(struct zjob *j, size_t upto, int end)
{
    ZSTD_CCtx *cc = j->cc;
    if (j->zstream < 0)
        return -1;
    if (j->zstream == 2)
        return 0; /* ended already (a retry of the rest of the block) */
    if (j->zstream == 0) {
        ZSTD_CCtx_reset(cc, ZSTD_reset_session_only);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, j->s->level);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, wlog_for(j->s->block_bytes));
        /* Tables sized for a block (small blocks get small tables, cleared faster). */
        ZSTD_CCtx_setParameter(cc, ZSTD_c_srcSizeHint,
                               j->s->block_bytes < INT_MAX ? (int)j->s->block_bytes : INT_MAX);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_stableInBuffer, 1); /* refused by old zstd: then copied */
        ZSTD_CCtx_refCDict(cc, j->cdict);
        j->zdata.len = 0;
        j->zpos = 0;
        j->zstream = 1;
    }
    ZSTD_inBuffer in = {j->data.p, upto, j->zpos};
    for (;;) {
        size_t room = ZSTD_compressBound(upto - in.pos) + ZSTD_CStreamOutSize();
        if (bytes_reserve(&j->zdata, room)) {
            j->why = "out of memory";
            break;
        }
        ZSTD_outBuffer out = {j->zdata.p, j->zdata.cap, j->zdata.len};
        size_t r = ZSTD_compressStream2(cc, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
        j->zdata.len = out.pos;
        if (ZSTD_isError(r)) {
            j->why = ZSTD_getErrorName(r);
            break;
        }
        if (end ? r == 0 : in.pos == in.size) {
            j->zpos = in.pos;
            if (end)
                j->zstream = 2;
            return 0;
        }
    }
    j->zstream = -1;
    ZSTD_CCtx_reset(cc, ZSTD_reset_session_only);
    return -1;
}

/*
 * Finish the job's block frame (its thread, or the pipeline thread without
 * one): the payload stream ended (or, when streaming failed, the payloads
 * compressed in one go), the record headers compressed at level
 * min(level, 3), header and meta in front.  On failure frame.len is 0 and
 * j->why says why; the pipeline thread then tries again with j->zstream -1.
 */
static void compress_job(struct zjob *j)
{
    struct asink *s = j->s;
    j->frame.len = 0;
    if (stream_data(j, j->data.len, 1)) {
        /* The stream failed: the payloads in one go, like any other frame body. */
        size_t bound = ZSTD_compressBound(j->data.len);
        j->zdata.len = 0;
        if (bytes_reserve(&j->zdata, bound)) {
            j->why = "out of memory";
            return;
        }
        if ((j->zdata.len = zcompress(j->cc, j->cdict, j->zdata.p, bound, j->data.p,
                                      j->data.len, s->level, &j->why)) == 0)
            return;
    }
    size_t hb = ZSTD_compressBound(j->hdr.len);
    if (bytes_reserve(&j->frame, FRAME_HDR_SIZE + j->meta.len + hb + j->zdata.len)) {
        j->why = "out of memory";
        return;
    }
    uint8_t *h = j->frame.p;
    memcpy(h + FRAME_HDR_SIZE, j->meta.p, j->meta.len);
    uint8_t *dst = h + FRAME_HDR_SIZE + j->meta.len;
    size_t n1 = zcompress(j->cc, j->cdict, dst, hb, j->hdr.p, j->hdr.len,
                          s->level < 3 ? s->level : 3, &j->why);
    if (n1 == 0)
        return;
    memcpy(dst + n1, j->zdata.p, j->zdata.len);
    if (seal_frame(h, FRAME_BLOCK, CODEC_ZSTD, j->meta.len, n1 + j->zdata.len,
                   j->hdr.len + j->data.len, j->count, (uint64_t)j->tmin, (uint64_t)j->tmax,
                   &j->why))
        return;
    j->frame.len = FRAME_HDR_SIZE + j->meta.len + n1 + j->zdata.len;
}

/* 1 when a filling block has published payloads its open (or not yet opened) stream lacks. */
static int segment_waiting(const struct zjob *j)
{
    return j->state == JOB_FILLING && j->avail > j->zpos && (j->zstream == 0 || j->zstream == 1);
}

/*
 * A compression thread: compresses its slot's payload segments as they are
 * published, and the block when it is queued.
 */
static void zworker_main(void *arg)
{
    struct zjob *j = arg;
    psup_lock(j->w);
    for (;;) {
        while (!j->stop && j->state != JOB_QUEUED && !segment_waiting(j))
            psup_wait(j->w, 1000);
        if (j->state == JOB_QUEUED) {
            psup_unlock(j->w);
            compress_job(j);
            psup_lock(j->w);
            j->state = JOB_DONE;
            psup_signal(j->w);
        } else if (segment_waiting(j)) {
            size_t upto = j->avail;
            psup_unlock(j->w);
            stream_data(j, upto, 0);
            psup_lock(j->w);
        } else {
            break;
        }
    }
    psup_unlock(j->w);
}

/* Wait until job j is compressed (no-op unless it is queued). */
static void job_wait(struct zjob *j)
{
    if (!j->started)
        return;
    psup_lock(j->w);
    while (j->state == JOB_QUEUED)
        psup_wait(j->w, 1000);
    psup_unlock(j->w);
}

/* 1 when job j is compressed and waits to be written. */
static int job_done(struct zjob *j)
{
    if (!j->started)
        return j->state == JOB_DONE;
    psup_lock(j->w);
    int done = j->state == JOB_DONE;
    psup_unlock(j->w);
    return done;
}

/* Mark job j written (its slot free for the next block). */
static void job_set_idle(struct zjob *j)
{
    if (j->started)
        psup_lock(j->w);
    j->state = JOB_IDLE;
    if (j->started)
        psup_unlock(j->w);
}

/* Stop and join job j's thread (it finishes a queued block first). */
static void job_stop(struct zjob *j)
{
    if (!j->started)
        return;
    psup_lock(j->w);
    j->stop = 1;
    psup_signal(j->w);
    psup_unlock(j->w);
    psup_worker_join(j->w);
    j->started = 0;
}

/* Grow the index tables for one more block of nprov providers.  0 or -1. */
static int index_reserve(struct asink *s, uint32_t nprov)
{
    return grow_array(&s->blocks, sizeof *s->blocks, s->nblocks + 1, &s->blocks_cap, 64) ||
                   grow_array(&s->idx_provs, sizeof *s->idx_provs, s->nidx_provs + nprov,
                              &s->idx_provs_cap, 256)
               ? -1
               : 0;
}

/*
 * Write the oldest block in flight (waiting for its compression) and index
 * it.  0 (also when none is in flight), or -1: it stays in flight,
 * compressed, and the next call tries again.
 */
static int complete_one(struct asink *s)
{
    if (s->inflight == 0)
        return 0;
    struct zjob *j = &s->jobs[s->head];
    job_wait(j);
    if (j->frame.len == 0) {
        /* Compression failed (out of memory?): try again here. */
        etwhost_logf(s->api, s->h, ETWHOST_LOG_ERROR, "cannot compress a block: %s",
                     j->why ? j->why : "unknown error");
        compress_job(j);
        if (j->frame.len == 0) {
            s->write_errors++;
            return -1;
        }
    }
    if (index_reserve(s, j->nprov))
        return -1;
    uint64_t off = s->size;
    if (write_out(s, j->frame.p, j->frame.len))
        return -1;
    struct idx_block *b = &s->blocks[s->nblocks++];
    b->off = off;
    b->len = (uint32_t)j->frame.len;
    b->count = j->count;
    b->tmin = j->tmin;
    b->tmax = j->tmax;
    b->prov_first = (uint32_t)s->nidx_provs;
    b->nprov = j->nprov;
    memcpy(s->idx_provs + s->nidx_provs, j->prov, j->nprov * sizeof *j->prov);
    s->nidx_provs += j->nprov;
    if (s->fsync_mode == FSYNC_BLOCK) {
        int e = psup_sync(&s->f);
        if (e)
            log_io(s, "cannot sync", s->path, e);
    }
    s->file_events += j->count;
    s->blocks_written++;
    s->bytes_raw += j->hdr.len + j->data.len;
    s->api->counter_add(s->h, s->c_blocks, 1);
    s->api->counter_add(s->h, s->c_bytes, (int64_t)j->frame.len);
    job_set_idle(j);
    s->head = (s->head + 1) % s->njobs;
    s->inflight--;
    return 0;
}

/* Write every block in flight, oldest first.  0, or -1 (the rest stay in flight). */
static int complete_pending(struct asink *s)
{
    while (s->inflight)
        if (complete_one(s))
            return -1;
    return 0;
}

/* Write the blocks in flight that are already compressed, oldest first.  0 or -1. */
static int complete_done(struct asink *s)
{
    while (s->inflight && job_done(&s->jobs[s->head]))
        if (complete_one(s))
            return -1;
    return 0;
}

/* The slot of the block being filled: the one after the blocks in flight. */
static struct zjob *fill_slot(struct asink *s)
{
    return &s->jobs[(s->head + s->inflight) % s->njobs];
}

/*
 * Room the block's data needs in its slot: the block size target, a
 * segment and the extra bytes, or what the block holds already when that is
 * more (a single big event).
 */
static size_t data_room(const struct asink *s)
{
    size_t room = (size_t)s->block_bytes + 2 * s->seg_target + s->extra.len;
    size_t now = s->seg_bytes + s->extra.len + s->seg_target;
    return room > now ? room : now;
}

/*
 * Hand the payloads of the events since the last segment, grouped by
 * template, to the block's compression thread; the first segment of a
 * block claims the slot after the blocks in flight (after writing the
 * oldest when every slot is busy).  0, or -1 with nothing changed.
 */
static int publish_segment(struct asink *s)
{
    if (s->seg_events == 0)
        return 0;
    if (s->nsegs == UINT32_MAX || grow_array(&s->segs, sizeof *s->segs, (size_t)s->nsegs + 1,
                                             &s->segs_cap, 16))
        return -1;
    struct zjob *j;
    if (!s->filling) {
        if (s->inflight == s->njobs && complete_one(s))
            return -1;
        j = fill_slot(s);
        j->data.len = 0;
        if (bytes_reserve(&j->data, data_room(s)))
            return -1;
        j->avail = j->zpos = 0;
        j->zstream = 0;
        j->zdata.len = 0;
        j->why = NULL;
        j->cdict = s->cdict;
        j->dict_id = s->cdict ? s->dict_id : 0;
        if (j->started) {
            psup_lock(j->w);
            j->state = JOB_FILLING;
            psup_unlock(j->w);
        } else {
            j->state = JOB_FILLING;
        }
        s->filling = 1;
    } else {
        j = fill_slot(s);
    }
    /* add_event keeps the block within data's room, so data does not move here. */
    uint8_t *o = j->data.p + j->data.len;
    for (uint32_t t = 0; t < s->ntmpl; t++) {
        struct bytes *td = &s->t_data[t];
        if (td->len)
            memcpy(o, td->p, td->len);
        o += td->len;
        td->len = 0;
    }
    j->data.len = (size_t)(o - j->data.p);
    s->segs[s->nsegs++] = s->seg_events;
    s->seg_events = 0;
    s->seg_bytes = 0;
    if (j->started) {
        psup_lock(j->w);
        j->avail = j->data.len;
        psup_signal(j->w);
        psup_unlock(j->w);
    } else {
        stream_data(j, j->data.len, 0); /* a failure falls back to one go at the end */
    }
    return 0;
}

/*
 * End the current block: its last segment handed over, then its record
 * headers, meta and extra bytes, and the block queued for its compression
 * thread to finish.  0, or -1: the block is kept for a retry.
 */
static int flush_block(struct asink *s)
{
    if (s->n == 0)
        return 0;
    if (s->is_open) {
        int age = s->rotate_ns && psup_monotonic_ns() - s->opened_ns >= s->rotate_ns;
        int big = s->rotate_bytes && s->size > FILE_HDR_SIZE &&
                  s->size + s->raw_bytes / 4 > s->rotate_bytes;
        /* The blocks in flight belong to the file being rotated away. */
        if ((age || big) && (complete_pending(s) || rotate(s)))
            return -1;
    }
    if (!s->is_open && open_file(s))
        return -1;
    if (write_block_schemas(s))
        return -1;
    if (publish_segment(s))
        return -1;
    struct zjob *j = fill_slot(s);
    /* Record headers: templates, slim rows transposed byte by byte, ext by template. */
    size_t n = s->n, tl = (size_t)s->ntmpl * REC_FIXED, slim = (size_t)SLIM * n;
    size_t el = 0;
    for (uint32_t t = 0; t < s->ntmpl; t++)
        el += s->t_ext[t].len;
    j->hdr.len = 0;
    if (bytes_reserve(&j->hdr, tl + slim + el))
        return -1;
    uint8_t *o = j->hdr.p;
    memcpy(o, s->tmpl.p, tl);
    transpose_rows(s->rows.p, n, o + tl);
    size_t pos = tl + slim;
    for (uint32_t t = 0; t < s->ntmpl; t++) {
        if (s->t_ext[t].len)
            memcpy(o + pos, s->t_ext[t].p, s->t_ext[t].len);
        pos += s->t_ext[t].len;
    }
    j->hdr.len = pos;
    /* Meta: dictionary id, providers, schema ids, templates, segments. */
    struct bytes *meta = &j->meta;
    uint8_t t[24];
    int rc = 0;
    meta->len = 0;
    psup_put32(t, j->dict_id);
    psup_put16(t + 4, s->bprov.n);
    rc |= bytes_put(meta, t, 6);
    for (uint32_t i = 0; i < s->bprov.n; i++) {
        const struct prov *p = &s->bprov.v[i];
        rc |= bytes_put(meta, p->guid, 16);
        psup_put16(t, p->name_len);
        rc |= bytes_put(meta, t, 2);
        rc |= bytes_put(meta, s->bprov.names.p + p->name_off, p->name_len);
    }
    psup_put16(t, s->nbschemas);
    rc |= bytes_put(meta, t, 2);
    for (uint32_t i = 0; i < s->nbschemas; i++) {
        psup_put64(t, s->bschemas[i]);
        rc |= bytes_put(meta, t, 8);
    }
    psup_put32(t, s->ntmpl);
    psup_put32(t + 4, s->nsegs);
    rc |= bytes_put(meta, t, 8);
    for (uint32_t i = 0; i < s->nsegs; i++) {
        psup_put32(t, s->segs[i]);
        rc |= bytes_put(meta, t, 4);
    }
    if (rc)
        return -1;
    /* The block's providers as file-level indexes, for the index entry. */
    if (grow_array(&j->prov, sizeof *j->prov, s->bprov.n, &j->prov_cap, 64))
        return -1;
    j->nprov = 0;
    for (uint32_t i = 0; i < s->bprov.n; i++) {
        const struct prov *p = &s->bprov.v[i];
        int32_t fi = prov_index(&s->fprov, p->guid, (const char *)s->bprov.names.p + p->name_off,
                                p->name_len);
        if (fi >= 0)
            j->prov[j->nprov++] = (uint32_t)fi;
    }
    /* Nothing fails from here on.  The extra bytes follow the payloads (add_event kept room). */
    if (s->extra.len)
        memcpy(j->data.p + j->data.len, s->extra.p, s->extra.len);
    j->data.len += s->extra.len;
    if (s->dict_wanted && !s->dict && !s->dict_failed) {
        bytes_put(&s->train, j->hdr.p, j->hdr.len);
        bytes_put(&s->train, j->data.p, j->data.len);
        maybe_train(s);
    }
    j->count = s->n;
    j->tmin = s->tmin;
    j->tmax = s->tmax;
    if (j->started) {
        psup_lock(j->w);
        j->state = JOB_QUEUED;
        psup_signal(j->w);
        psup_unlock(j->w);
    } else {
        compress_job(j);
        j->state = JOB_DONE;
    }
    s->filling = 0;
    s->inflight++;
    reset_block(s);
    return 0;
}

/* Everything received so far to the file: the current block and the ones in flight. */
static int flush_all(struct asink *s)
{
    return flush_block(s) || complete_pending(s) ? -1 : 0;
}

/* Block-local schema index (1-based) of id; 0 when the table is full. */
static uint32_t block_schema(struct asink *s, uint64_t id)
{
    if (id == s->last_schema_id && s->last_schema_idx)
        return s->last_schema_idx;
    for (uint32_t i = 0; i < s->nbschemas; i++) {
        if (s->bschemas[i] == id) {
            s->last_schema_id = id;
            s->last_schema_idx = i + 1;
            return i + 1;
        }
    }
    if (s->nbschemas >= MAX_BLOCK_TABLE)
        return 0;
    if (grow_array(&s->bschemas, sizeof *s->bschemas, (size_t)s->nbschemas + 1,
                   &s->bschemas_cap, 64))
        return 0;
    s->bschemas[s->nbschemas++] = id;
    s->last_schema_id = id;
    s->last_schema_idx = s->nbschemas;
    return s->nbschemas;
}

/* Block-local index of template tp (added if new); -1 on out of memory or when full. */
static int32_t template_index(struct asink *s, const uint8_t *tp)
{
    if (s->last_tmpl != UINT32_MAX &&
        memcmp(s->tmpl.p + (size_t)s->last_tmpl * REC_FIXED, tp, REC_FIXED) == 0)
        return (int32_t)s->last_tmpl;
    uint64_t h = hash_template(tp);
    if (s->t_nslots) {
        uint32_t j = (uint32_t)h & (s->t_nslots - 1);
        while (s->t_slots[j]) {
            uint32_t t = s->t_slots[j] - 1;
            if (s->t_hash[t] == h && memcmp(s->tmpl.p + (size_t)t * REC_FIXED, tp, REC_FIXED) == 0) {
                s->last_tmpl = t;
                return (int32_t)t;
            }
            j = (j + 1) & (s->t_nslots - 1);
        }
    }
    if (s->ntmpl >= MAX_BLOCK_TABLE)
        return -1;
    if (s->ntmpl == s->tmpl_cap) {
        uint32_t nc = s->tmpl_cap ? s->tmpl_cap * 2 : 64;
        struct bytes *ne = realloc(s->t_ext, nc * sizeof *ne);
        if (ne == NULL)
            return -1;
        s->t_ext = ne;
        struct bytes *nd = realloc(s->t_data, nc * sizeof *nd);
        if (nd == NULL)
            return -1;
        s->t_data = nd;
        uint64_t *nh = realloc(s->t_hash, nc * sizeof *nh);
        if (nh == NULL)
            return -1;
        s->t_hash = nh;
        memset(s->t_ext + s->tmpl_cap, 0, (nc - s->tmpl_cap) * sizeof *ne);
        memset(s->t_data + s->tmpl_cap, 0, (nc - s->tmpl_cap) * sizeof *nd);
        s->tmpl_cap = nc;
    }
    if ((s->ntmpl + 1) * 2 > s->t_nslots) {
        uint32_t ns = s->t_nslots ? s->t_nslots * 2 : 128;
        uint32_t *sl = calloc(ns, sizeof *sl);
        if (sl == NULL)
            return -1;
        for (uint32_t i = 0; i < s->ntmpl; i++) {
            uint32_t j = (uint32_t)s->t_hash[i] & (ns - 1);
            while (sl[j])
                j = (j + 1) & (ns - 1);
            sl[j] = i + 1;
        }
        free(s->t_slots);
        s->t_slots = sl;
        s->t_nslots = ns;
    }
    if (bytes_put(&s->tmpl, tp, REC_FIXED))
        return -1;
    uint32_t t = s->ntmpl++;
    s->t_hash[t] = h;
    uint32_t j = (uint32_t)h & (s->t_nslots - 1);
    while (s->t_slots[j])
        j = (j + 1) & (s->t_nslots - 1);
    s->t_slots[j] = t + 1;
    s->last_tmpl = t;
    return (int32_t)t;
}

/* Add one event to the block.  0, 1 (skipped: counted), -1 out of memory. */
static int add_event(struct asink *s, const etwhost_event *ev)
{
    const uint8_t *r;
    size_t rl;
    if (s->api->event_record(ev, &r, &rl) != ETWHOST_OK || rl < REC_FIXED || r[0] != 1) {
        s->bad_records++;
        return 1;
    }
    uint32_t el = psup_get32(r + REC_EXT_LEN), dl = psup_get32(r + REC_DATA_LEN), xl = psup_get32(r + REC_EXTRA_LEN);
    uint32_t nl = psup_get16(r + REC_NAME_LEN);
    if ((uint64_t)REC_FIXED + el + dl + xl + nl != rl) {
        s->bad_records++;
        return 1;
    }
    /* A block's tables hold 65535 entries: a block that would need more is written first. */
    if (s->bprov.n >= MAX_BLOCK_TABLE - 1 || s->nbschemas >= MAX_BLOCK_TABLE - 1 ||
        s->ntmpl >= MAX_BLOCK_TABLE - 1)
        if (flush_block(s))
            return -1;
    /* The block's payloads stay within its slot's room: publish_segment never moves them. */
    if (s->filling) {
        const struct zjob *j = fill_slot(s);
        if (j->data.len + s->seg_bytes + s->extra.len + (uint64_t)dl + xl > j->data.cap)
            if (flush_block(s))
                return -1;
    }
    uint32_t sidx = 0;
    if (s->has_schema_api) {
        const uint8_t *sb;
        size_t sl;
        uint64_t id;
        if (s->api->event_schema(ev, &sb, &sl, &id) == ETWHOST_OK && id != 0) {
            if (schema_find(s, id) == NULL && schema_add(s, id, sb, sl) == NULL)
                return -1;
            sidx = block_schema(s, id);
        }
    }
    const uint8_t *v = r + REC_FIXED;
    const char *name = (const char *)(v + el + dl + xl);
    int32_t pidx;
    if (s->last_prov >= 0 && nl == s->last_prov_nlen && nl <= sizeof s->last_prov_name &&
        memcmp(s->last_prov_guid, r + REC_PROVIDER, 16) == 0 &&
        memcmp(s->last_prov_name, name, nl) == 0) {
        pidx = s->last_prov;
    } else {
        pidx = prov_index(&s->bprov, r + REC_PROVIDER, name, nl);
        if (pidx < 0)
            return -1;
        s->last_prov = pidx;
        memcpy(s->last_prov_guid, r + REC_PROVIDER, 16);
        s->last_prov_nlen = nl;
        if (nl <= sizeof s->last_prov_name)
            memcpy(s->last_prov_name, name, nl);
        else
            s->last_prov = -1;
    }
    /* The template: the fixed part without the per-event fields. */
    uint8_t tp[REC_FIXED];
    memcpy(tp, r, REC_FIXED);
    memset(tp + 16, 0, 32);  /* pid, tid, cpu, wpp sequence, timestamps */
    memset(tp + 80, 0, 40);  /* activity, related, ext and data lengths */
    memset(tp + REC_EXTRA_LEN, 0, 4);
    psup_put16(tp + REC_NAME_LEN, (uint32_t)pidx);
    psup_put16(tp + REC_RESERVED, sidx);
    int32_t ti = template_index(s, tp);
    if (ti < 0)
        return -1;
    struct bytes *te = &s->t_ext[ti], *td = &s->t_data[ti];
    if (bytes_reserve(&s->rows, SLIM) || bytes_reserve(te, el) || bytes_reserve(td, dl) ||
        bytes_reserve(&s->extra, xl))
        return -1;
    uint8_t *row = s->rows.p + s->rows.len;
    int64_t ts = (int64_t)psup_get64(r + REC_TIMESTAMP), raw = (int64_t)psup_get64(r + REC_RAW_TIMESTAMP);
    psup_put32(row + SL_TEMPLATE, (uint32_t)ti);
    memcpy(row + SL_PID, r + 16, 16); /* pid, tid, cpu, wpp sequence */
    psup_put64(row + SL_TS, (uint64_t)ts - (uint64_t)s->last_ts);
    /* The raw timestamp's delta less the timestamp's: 0 when the clock counts 100 ns. */
    psup_put64(row + SL_RAW_TS, ((uint64_t)raw - (uint64_t)s->last_raw) - ((uint64_t)ts - (uint64_t)s->last_ts));
    memcpy(row + SL_ACTIVITY, r + 80, 32); /* activity, related */
    psup_put32(row + SL_EXT_LEN, el);
    psup_put32(row + SL_DATA_LEN, dl);
    psup_put32(row + SL_EXTRA_LEN, xl);
    s->rows.len += SLIM;
    /* bytes_put: an empty buffer may have no memory yet (no memcpy from/to NULL). */
    bytes_put(te, v, el);
    bytes_put(td, v + el, dl);
    bytes_put(&s->extra, v + el + dl, xl);
    if (s->n == 0) {
        s->tmin = s->tmax = ts;
        s->block_started_ns = psup_monotonic_ns();
    } else {
        if (ts < s->tmin)
            s->tmin = ts;
        if (ts > s->tmax)
            s->tmax = ts;
    }
    s->last_ts = ts;
    s->last_raw = raw;
    s->n++;
    s->raw_bytes += REC_FIXED + el + dl + xl;
    s->seg_events++;
    s->seg_bytes += dl;
    /* A full segment goes to compression now; if it cannot, it grows and goes later. */
    if (s->seg_bytes >= s->seg_target)
        publish_segment(s);
    return 0;
}

/* ---- Plugin callbacks ------------------------------------------------------------------- */

static void ETWHOST_CALL archive_destroy(void *inst);

static etwhost_status ETWHOST_CALL archive_create(etwhost_host *h, const etwhost_host_api *api,
                                                  const etwhost_config *cfg, void **out,
                                                  char *err, size_t err_len)
{
    static const struct psup_unit bytes_units[] = {{"", 1}, {"K", 1024}, {"M", 1 << 20},
                                                   {"G", 1 << 30}, {NULL, 0}};
    psup_crc32c_init();
    if (!ETWHOST_API_HAS(api, event_record))
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                            "the host is too old for the archive sink (needs event_record)");
    struct asink *s = calloc(1, sizeof *s);
    if (s == NULL)
        return etwhost_errf(err, err_len, ETWHOST_ERR_NOMEM, "out of memory");
    *out = s;
    s->h = h;
    s->api = api;
    s->has_schema_api = ETWHOST_API_HAS(api, event_schema);
    s->f.h = PSUP_NO_FILE;
    s->last_prov = -1;
    s->last_tmpl = UINT32_MAX;
    const char *p;
    size_t pl;
    if (api->config_get_str(cfg, "path", &p, &pl) != ETWHOST_OK || pl == 0)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                            "path: required (the archive file to write, e.g. \"trace.etwa\")");
    s->path = psup_dupn(p, pl);
    if (s->path == NULL || psup_rot_init(&s->rot, s->path, strlen(s->path)))
        return etwhost_errf(err, err_len, ETWHOST_ERR_NOMEM, "out of memory");
    int64_t v = 6;
    etwhost_status st = psup_get_int(api, cfg, "level", 1, 19, &v, err, err_len);
    if (st)
        return st;
    s->level = (int)v;
    v = 16384;
    if ((st = psup_get_int(api, cfg, "block_kb", 16, 262144, &v, err, err_len)))
        return st;
    s->block_bytes = (uint64_t)v * 1024;
    v = 1024;
    if ((st = psup_get_int(api, cfg, "segment_kb", 4, 65536, &v, err, err_len)))
        return st;
    s->seg_target = (size_t)v * 1024;
    v = 5;
    if ((st = psup_get_int(api, cfg, "block_seconds", 0, 86400, &v, err, err_len)))
        return st;
    s->block_ns = (uint64_t)v * 1000000000ull;
    int32_t b = 0;
    st = api->config_get_bool(cfg, "dictionary", &b);
    if (st != ETWHOST_OK && st != ETWHOST_ERR_NOTFOUND)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG, "dictionary: expected true or false");
    s->dict_wanted = st == ETWHOST_OK && b;
    v = 64;
    if ((st = psup_get_int(api, cfg, "dictionary_kb", 1, 1024, &v, err, err_len)))
        return st;
    s->dict_bytes = (uint32_t)v * 1024;
    uint64_t amount = 0;
    if ((st = psup_get_amount(api, cfg, "rotate_bytes", bytes_units, "256M", &amount, err,
                              err_len)))
        return st;
    s->rotate_bytes = amount;
    amount = 0;
    if ((st = psup_get_amount(api, cfg, "rotate_seconds", psup_time_units, "1h", &amount, err,
                              err_len)))
        return st;
    s->rotate_ns = amount * 1000000000ull;
    v = 10;
    if ((st = psup_get_int(api, cfg, "keep", 0, 1000000, &v, err, err_len)))
        return st;
    s->keep = (uint32_t)v;
    s->fsync_mode = FSYNC_ROTATE;
    if (api->config_get_str(cfg, "fsync", &p, &pl) == ETWHOST_OK) {
        if (pl == 5 && memcmp(p, "never", 5) == 0)
            s->fsync_mode = FSYNC_NEVER;
        else if (pl == 6 && memcmp(p, "rotate", 6) == 0)
            s->fsync_mode = FSYNC_ROTATE;
        else if (pl == 5 && memcmp(p, "block", 5) == 0)
            s->fsync_mode = FSYNC_BLOCK;
        else
            return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                                "fsync: expected one of \"never\", \"rotate\", \"block\"");
    }
    v = 2;
    if ((st = psup_get_int(api, cfg, "threads", 0, MAX_JOBS, &v, err, err_len)))
        return st;
    s->njobs = v ? (uint32_t)v : 1;
    s->cctx = zcctx_new();
    if (s->cctx == NULL)
        return etwhost_errf(err, err_len, ETWHOST_ERR_NOMEM, "out of memory");
    ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_checksumFlag, 0);
    for (uint32_t k = 0; k < s->njobs; k++) {
        struct zjob *j = &s->jobs[k];
        j->s = s;
        j->cc = zcctx_new();
        j->w = v ? psup_worker_new() : NULL;
        if (j->cc == NULL || (v && j->w == NULL))
            return etwhost_errf(err, err_len, ETWHOST_ERR_NOMEM, "out of memory");
        ZSTD_CCtx_setParameter(j->cc, ZSTD_c_checksumFlag, 0);
        int e = j->w ? psup_worker_start(j->w, zworker_main, j) : 0;
        if (e) {
            char eb[128];
            etwhost_logf(api, h, ETWHOST_LOG_WARN,
                         "cannot start a compression thread (%s): its blocks are compressed on "
                         "the pipeline thread", psup_strerror(e, eb, sizeof eb));
        }
        j->started = j->w != NULL && e == 0;
    }
    /* Continue the sequence of rotated names after a restart. */
    struct psup_rot_list sc;
    psup_rot_scan(&s->rot, &sc);
    s->next_seq = sc.max_seq + 1;
    psup_rot_list_free(&sc);
    /* A live file left behind (e.g. by a crash) is kept, under a rotated name. */
    uint64_t size;
    if (psup_path_size(s->path, &size) == 0) {
        if (size == 0)
            psup_unlink(s->path);
        else if (rotate_to_next(s, "left by an earlier run"))
            return etwhost_errf(err, err_len, ETWHOST_ERR_IO,
                                "%s exists and cannot be rotated away", s->path);
    }
    s->c_events = api->counter_register(h, "events");
    s->c_blocks = api->counter_register(h, "blocks");
    s->c_bytes = api->counter_register(h, "bytes");
    s->c_errors = api->counter_register(h, "errors");
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL archive_write(void *inst, const etwhost_event *const *events,
                                                 uint32_t count, uint32_t *accepted)
{
    struct asink *s = inst;
    *accepted = 0;
    if (s->write_failed) {
        /* A block is still waiting: write it before taking more. */
        if (flush_all(s))
            return ETWHOST_RETRY;
        s->write_failed = 0;
    }
    /* Blocks compressed meanwhile go to the file now. */
    if (complete_done(s)) {
        s->write_failed = 1;
        return ETWHOST_RETRY;
    }
    /*
     * A block written for its age goes to the file now, not on the next call:
     * at a low event rate the next call may be far away.
     */
    if (s->n && s->block_ns && psup_monotonic_ns() - s->block_started_ns >= s->block_ns &&
        flush_all(s)) {
        s->write_failed = 1;
        return ETWHOST_RETRY;
    }
    uint32_t i = 0;
    for (; i < count; i++) {
        int rc = add_event(s, events[i]);
        if (rc < 0) {
            *accepted = i;
            s->api->counter_add(s->h, s->c_errors, 1);
            return i ? ETWHOST_RETRY : ETWHOST_ERR_NOMEM;
        }
        if (rc == 0)
            s->events++;
        if (s->raw_bytes >= s->block_bytes || s->n >= MAX_BLOCK_RECORDS) {
            if (flush_block(s)) {
                /* Accepted: the block stays in memory and is retried first next time. */
                s->write_failed = 1;
                *accepted = i + 1;
                s->api->counter_add(s->h, s->c_events, i + 1);
                return ETWHOST_RETRY;
            }
        }
    }
    *accepted = count;
    s->api->counter_add(s->h, s->c_events, count);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL archive_flush(void *inst)
{
    struct asink *s = inst;
    if (flush_all(s)) {
        s->write_failed = 1;
        return ETWHOST_ERR_IO;
    }
    s->write_failed = 0;
    return ETWHOST_OK;
}

/* Events in the blocks in flight. */
static uint64_t inflight_events(const struct asink *s)
{
    uint64_t n = 0;
    for (uint32_t k = 0; k < s->inflight; k++)
        n += s->jobs[(s->head + k) % s->njobs].count;
    return n;
}

static etwhost_status ETWHOST_CALL archive_close(void *inst, char *err, size_t err_len)
{
    struct asink *s = inst;
    etwhost_status st = ETWHOST_OK;
    if (flush_all(s))
        st = etwhost_errf(err, err_len, ETWHOST_ERR_IO, "%s: %llu events could not be written",
                          s->path, (unsigned long long)(s->n + inflight_events(s)));
    close_file(s, 1);
    return st;
}

static void ETWHOST_CALL archive_destroy(void *inst)
{
    struct asink *s = inst;
    if (s == NULL)
        return;
    for (uint32_t k = 0; k < MAX_JOBS; k++)
        job_stop(&s->jobs[k]);
    if (s->is_open) {
        complete_pending(s);
        close_file(s, 1);
    }
    free(s->path);
    psup_rot_free(&s->rot);
    bytes_free(&s->rows);
    bytes_free(&s->extra);
    bytes_free(&s->tmpl);
    for (uint32_t t = 0; t < s->tmpl_cap; t++) {
        bytes_free(&s->t_ext[t]);
        bytes_free(&s->t_data[t]);
    }
    free(s->t_ext);
    free(s->t_data);
    free(s->segs);
    free(s->t_hash);
    free(s->t_slots);
    for (uint32_t k = 0; k < MAX_JOBS; k++) {
        struct zjob *j = &s->jobs[k];
        bytes_free(&j->hdr);
        bytes_free(&j->data);
        bytes_free(&j->zdata);
        bytes_free(&j->meta);
        bytes_free(&j->frame);
        free(j->prov);
        psup_worker_free(j->w);
        ZSTD_freeCCtx(j->cc);
    }
    bytes_free(&s->frame);
    bytes_free(&s->train);
    prov_table_free(&s->bprov);
    prov_table_free(&s->fprov);
    free(s->bschemas);
    for (uint32_t i = 0; i < s->schema_slots; i++)
        free(s->schemas[i].bytes);
    free(s->schemas);
    free(s->blocks);
    free(s->idx_provs);
    free(s->sframes);
    free(s->dframes);
    ZSTD_freeCCtx(s->cctx);
    ZSTD_freeCDict(s->cdict);
    free(s->dict);
    free(s);
}

static etwhost_status ETWHOST_CALL archive_stats(void *inst, char *buf, size_t cap,
                                                 size_t *needed)
{
    struct asink *s = inst;
    char tmp[512];
    int n = snprintf(tmp, sizeof tmp,
                     "{\"events\":%llu,\"blocks\":%llu,\"schemas_written\":%llu,"
                     "\"bytes_raw\":%llu,\"bytes_written\":%llu,\"rotations\":%llu,"
                     "\"write_errors\":%llu,\"bad_records\":%llu,\"dictionary\":%s}",
                     (unsigned long long)s->events, (unsigned long long)s->blocks_written,
                     (unsigned long long)s->schemas_written, (unsigned long long)s->bytes_raw,
                     (unsigned long long)s->bytes_out, (unsigned long long)s->rotations,
                     (unsigned long long)s->write_errors, (unsigned long long)s->bad_records,
                     s->dict ? "true" : "false");
    if (n < 0)
        return ETWHOST_ERR;
    if (needed)
        *needed = (size_t)n + 1;
    if (cap < (size_t)n + 1)
        return ETWHOST_ERR_RANGE;
    memcpy(buf, tmp, (size_t)n + 1);
    return ETWHOST_OK;
}

static const etwhost_plugin archive_plugin = {
    sizeof(etwhost_plugin),
    ETWHOST_ABI_MAJOR,
    ETWHOST_ABI_MINOR,
    ETWHOST_KIND_SINK,
    0,
    "archive",
    "1.0",
    "compressed, self-describing event archive (.etwa): raw records + schemas in zstd blocks",
    ETWHOST_FLAG_RECORDS_ONLY, /* events are read through event_record and event_schema only */
    0,
    archive_keys,
    archive_create,
    archive_destroy,
    NULL,
    archive_write,
    archive_flush,
    archive_close,
    archive_stats,
};

ETWHOST_PLUGIN_DEFINE(archive_plugin)
