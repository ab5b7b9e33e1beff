/*
 * archive_int: format constants and frame/block decoding shared by the
 * host's archive reader, verifier and repairer (host/archive/ only).
 *
 * The archive sink plugin (plugins/archive/archive_sink.c) cannot include
 * this header (host code stays out of plugins): it has its own constants,
 * and its CRC32C is plugins/support/psup_crc32c.c.  docs/archive-format.md
 * is the single specification of both; known-answer tests
 * (tests/unit/test_plugin_support.c) check the two CRC32Cs against it.
 */
#ifndef ETWHOST_ARCHIVE_INT_H
#define ETWHOST_ARCHIVE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <zstd.h>

#include "../core/err.h"
#include "../core/le.h"

/*
 * Format majors read: 1, 2 and 3 (written).  2 differs from 1 in one field:
 * a slim row's raw timestamp delta is the raw clock's own delta in 1, and
 * its delta less the timestamp's delta in 2.  3 differs from 2 in the
 * payloads' order: grouped by template within segments of records (listed
 * in the block meta) instead of over the whole block.
 */
#define AR_FORMAT_MAJOR 3u
#define AR_FORMAT_MAJOR_OLDEST 1u
#define AR_FILE_HDR_SIZE 64u
#define AR_FRAME_MAGIC 0x46575445u /* "ETWF" */
#define AR_FRAME_HDR_SIZE 48u
#define AR_FRAME_BLOCK 1u
#define AR_FRAME_SCHEMA 2u
#define AR_FRAME_DICT 3u
#define AR_FRAME_INDEX 4u
#define AR_CODEC_NONE 0u
#define AR_CODEC_ZSTD 1u
#define AR_FOOTER_SIZE 32u
#define AR_FOOTER_MAGIC 0x5A415445u /* "ETAZ" */
#define AR_REC_FIXED 152u
#define AR_MAX_RAW (1u << 30) /* largest body a reader accepts */

/* CRC32C (Castagnoli); the writer's side is plugins/support/psup_crc32c.c. */
uint32_t ar_crc32c(uint32_t crc, const uint8_t *p, size_t n);

/* A parsed frame header; meta/body point into the file bytes. */
struct ar_frame {
    uint64_t off;
    unsigned type, codec;
    uint32_t meta_len, stored, raw, count;
    uint64_t a, b; /* block: tmin, tmax; schema: id; dict: id; index: nblocks, events */
    uint32_t crc;
    const uint8_t *meta, *body;
    uint64_t total; /* header + meta + stored */
};

#define AR_FRAME_OK 0
#define AR_FRAME_BAD (-1)   /* not a frame header here (magic or header checksum) */
#define AR_FRAME_TORN (-2)  /* a valid header whose payload runs past the end */

/* Parse the frame header at off.  AR_FRAME_OK / _BAD / _TORN; why gets a reason. */
int ar_frame_at(const uint8_t *base, uint64_t len, uint64_t off, struct ar_frame *f,
                const char **why);

/* 1 if the payload checksum matches. */
int ar_frame_payload_ok(const struct ar_frame *f);

/* Next offset > from where a valid frame header starts, or len if none. */
uint64_t ar_resync(const uint8_t *base, uint64_t len, uint64_t from);

/* Decompress (or copy) a frame body into *buf (grown; mem_*).  0 or ERR_FORMAT / ERR_NOMEM. */
int ar_frame_body(ZSTD_DCtx *dctx, const ZSTD_DDict *ddict, const struct ar_frame *f,
                  uint8_t **buf, size_t *cap, const char **why);

/* Block meta: providers and schema ids. */
struct ar_block_meta {
    uint32_t dict_id;
    uint32_t nprov;
    const uint8_t *prov_guid[65535];
    const char *prov_name[65535];
    uint16_t prov_name_len[65535];
    uint32_t nschemas;
    const uint8_t *schema_ids; /* nschemas x u64 */
    uint32_t ntemplates;
    uint32_t nsegs;      /* format 3: payload segments (else 0) */
    const uint8_t *segs; /* format 3: nsegs x u32 record counts, each > 0, adding up to the block's */
    unsigned major; /* the file's format major: set by the caller, not by the parser */
};

/*
 * Format 3 scratch: the templates of one payload segment with their payload
 * bytes (arrays of the block's template count), to place each template's
 * payloads of the segment.
 */
struct ar_segs {
    uint64_t *len;
    uint32_t *list;
    uint8_t *seen;
    uint32_t nlist;
    size_t cap; /* templates the arrays hold */
};

/* Parse a block frame's meta.  0 or ERR_FORMAT with why. */
int ar_block_meta_parse(const struct ar_frame *f, struct ar_block_meta *m, const char **why);

/* Slim row of a stored record (docs/archive-format.md "Block body"). */
#define AR_SLIM 80u

/*
 * A decompressed block: each record's fixed part rebuilt (template + slim
 * row, absolute timestamps) in rows, and the offsets of its extended items,
 * payload and extra bytes in body.  Validated: every length adds up,
 * template, provider and schema indexes are in range.
 */
struct ar_block {
    uint32_t n;
    uint8_t *rows; /* n x AR_REC_FIXED */
    size_t rows_cap;
    uint8_t *body;
    size_t body_cap;
    uint64_t *offs; /* 3 per record: ext, data, extra offsets into body */
    size_t offs_cap;
    uint8_t *slim;
    size_t slim_cap;
    uint64_t *tcur; /* per template: ext and data cursors */
    size_t tcur_cap;
    struct ar_segs sg;
    int64_t tmin, tmax; /* of the records */
};

int ar_block_decode(ZSTD_DCtx *dctx, const ZSTD_DDict *ddict, const struct ar_frame *f,
                    const struct ar_block_meta *m, struct ar_block *b, const char **why);

void ar_block_free(struct ar_block *b);

/*
 * A block read in order, for the archive reader: opening decompresses and
 * checks it as a whole (the same checks as ar_block_decode), and the
 * records' fixed parts are then rebuilt AR_CHUNK at a time, so a block of a
 * million events needs no per-record arrays.  Not thread-safe.
 */
#define AR_CHUNK 256u

struct ar_cursor {
    uint8_t *body;
    size_t body_cap;
    uint32_t n;      /* records in the block */
    uint32_t next;   /* records rebuilt so far */
    uint32_t nt;     /* templates */
    uint64_t *tcur;  /* per template: ext and data cursors into body */
    size_t tcur_cap;
    uint64_t xo;     /* extra cursor */
    uint64_t ts, rts; /* running timestamps */
    int rts_rel;      /* raw timestamp deltas are relative to the timestamp's (major 2) */
    uint32_t *segs;       /* format 3: record counts of the payload segments (from the meta) */
    size_t segs_cap;
    uint32_t nsegs, seg;  /* segments, the next one to place */
    uint32_t seg_end;     /* first record after the placed segments */
    uint64_t dpos;        /* where the next segment's payloads start */
    struct ar_segs sg;
    /*
     * Format 3 bodies are decompressed as they are read: up to the payloads
     * when the block is opened, then one segment at a time, so the first
     * events go out before the whole block is decompressed.
     */
    ZSTD_DCtx *zs;          /* the cursor's own stream (NULL until needed) */
    const uint8_t *zsrc;    /* the compressed body, zsize bytes */
    size_t zsize, zpos;     /* consumed so far */
    size_t have;            /* body bytes decompressed so far (== raw when whole) */
    size_t raw;
    size_t zlast;           /* the stream's last hint (0: its frames are complete) */
    const char *err;        /* why the block stopped early (ar_cursor_items gave 0), or NULL */
    uint32_t lost;          /* and how many of its records were not handed out */
    uint8_t slim[AR_CHUNK * AR_SLIM];
    uint8_t seg_slim[AR_CHUNK * AR_SLIM];
};

/* Open f's block (meta m) for reading.  0, or ERR_FORMAT / ERR_NOMEM with why. */
int ar_cursor_open(ZSTD_DCtx *dctx, const ZSTD_DDict *ddict, const struct ar_frame *f,
                   const struct ar_block_meta *m, struct ar_cursor *c, const char **why);

/* One record of a block as the cursor hands it out. */
struct ar_item {
    const uint8_t *slim; /* its slim row (in the cursor; valid until the next call) */
    const uint8_t *tmpl; /* its template (AR_REC_FIXED bytes of the body) */
    uint32_t t;          /* template index */
    uint64_t ts, rts;    /* absolute timestamps */
    uint64_t eo, dof, xo; /* body offsets of its extended items, payload and extra bytes */
};

/*
 * The next records (at most max <= AR_CHUNK) into items; how many, 0 after
 * the last — or when the rest of the body does not decompress, with c->err
 * saying why (the records not handed out are lost with the block).
 */
uint32_t ar_cursor_items(struct ar_cursor *c, struct ar_item *items, uint32_t max);

/* An item's whole fixed part (template + slim row, absolute timestamps), AR_REC_FIXED bytes. */
void ar_item_row(const struct ar_item *it, uint8_t *row);

/*
 * Slim rows of records first..first+cnt-1 (cnt <= AR_CHUNK) from the block's
 * column layout (cols: AR_SLIM columns of n bytes) into out (AR_SLIM bytes
 * per record).  tiles: bit t asks for bytes 16t..16t+15 of every row (others
 * may be left unwritten).
 */
#define AR_TILES_ALL 0x1Fu
#define AR_TILES_INDEX 0x11u /* template index and lengths (bytes 0..15, 64..79) */
void ar_slim_rows(const uint8_t *cols, uint64_t n, uint64_t first, uint32_t cnt, uint8_t *out,
                  unsigned tiles);

void ar_cursor_free(struct ar_cursor *c);

#endif
