/*
 * archive_reader: reads event archives (.etwa) written by the archive sink
 * plugin (plugins/archive/).  Format: docs/archive-format.md.
 *
 * The reader and the writer share no code (a plugin includes only the
 * SDK and plugin-side support code): the format constants and the CRC32C
 * here are the host's implementation of the same specification.
 *
 * Opening.  A finished archive ends with a footer that points at an index
 * frame: the reader then knows every block's offset, event count, time
 * range and providers without touching the blocks, and reads (decompresses)
 * only the blocks a filter selects.  An unfinished archive (the writer was
 * killed) or one whose index is damaged is scanned frame by frame instead;
 * every frame carries its own checksums, so every complete block is found
 * and a torn or damaged frame is skipped, counted and reported.
 *
 * Records.  archive_next() yields struct records equal to the ones the sink
 * received, with the replay hints set: rec->schema (the archived schema the
 * event was decoded with, or NULL) and rec->provider_name.  A damaged block
 * is skipped whole, counted in archive_stats.bad_blocks and reported once;
 * reading goes on with the next block.
 *
 * Threading: a reader is used by one thread at a time.
 */
#ifndef ETWHOST_ARCHIVE_READER_H
#define ETWHOST_ARCHIVE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"
#include "../record/record.h"

/* The first 8 bytes of every archive. */
extern const uint8_t archive_magic[8];

/* One recoverable problem: "name: offset 0x...: what". */
typedef void (*archive_warn_fn)(void *ctx, const char *msg);

struct archive_options {
    int has_since, has_until;
    int64_t since, until; /* FILETIME, inclusive */
    /* Provider name (ASCII case-insensitive) or GUID ("{...}" optional); NULL = all. */
    const char *provider;
    int force_scan;       /* ignore the index (tests, repair) */
    archive_warn_fn warn; /* NULL = log_warn for the first 20 */
    void *warn_ctx;
};

struct archive_stats {
    uint64_t blocks;         /* blocks in the archive (index or scan) */
    uint64_t blocks_read;    /* blocks decompressed */
    uint64_t blocks_skipped; /* blocks a filter excluded without reading them */
    uint64_t bad_blocks;     /* blocks skipped because they are damaged */
    uint64_t bad_frames;     /* other frames (schemas, dictionaries) damaged or torn */
    uint64_t damaged_bytes;  /* bytes not part of a usable frame (torn tail, garbage) */
    uint64_t records;        /* records returned */
    uint64_t missing_schemas; /* records whose schema frame was damaged (decoded without) */
    uint64_t events_total;   /* events in every block (from the index or block headers) */
    uint64_t stored_bytes;   /* on-disk bytes of the blocks read */
    uint64_t raw_bytes;      /* uncompressed bytes of the blocks read */
    int indexed;             /* 1 if the footer and index were used */
};

/* One block as the index (or the scan) describes it. */
struct archive_block {
    uint64_t offset;    /* frame offset in the file */
    uint32_t frame_len; /* header + meta + stored body */
    uint32_t count;     /* events */
    int64_t tmin, tmax; /* FILETIME range of its events */
    uint32_t prov_first, nprov; /* providers: archive_provider(ar, provs[prov_first + k]) */
};

struct archive_reader;

/*
 * Open an archive (memory-mapped).  opt may be NULL.  ERR_NOTFOUND/ERR_IO
 * (cannot open), ERR_FORMAT (not an archive, unsupported major version,
 * damaged file header), ERR_NOMEM; eb: "path: offset 0x...: what".
 * Damage past the file header is not an open error (see above).
 */
int archive_open(const char *path, const struct archive_options *opt, struct archive_reader **out,
                 struct errbuf *eb);

/* The same over bytes in memory, which must outlive the reader (fuzzing, tests). */
int archive_open_mem(const uint8_t *data, size_t len, const char *name,
                     const struct archive_options *opt, struct archive_reader **out,
                     struct errbuf *eb);

/*
 * Next record that passes the filters: 1 with *rec filled (pointers valid
 * until the next call; rec->schema, rec->provider_name and rec->trace live
 * as long as the reader), 0 at the end, negative ERR_* (out of memory)
 * with eb set.
 */
int archive_next(struct archive_reader *ar, struct record *rec, struct errbuf *eb);

/* Blocks, providers.  Pointers owned by the reader. */
size_t archive_block_count(const struct archive_reader *ar);
const struct archive_block *archive_block_at(const struct archive_reader *ar, size_t i);
const uint32_t *archive_block_providers(const struct archive_reader *ar);
size_t archive_provider_count(const struct archive_reader *ar);
/* Provider i: GUID and UTF-8 name ("" if unknown). */
const char *archive_provider(const struct archive_reader *ar, size_t i, etwhost_guid *guid);
/* Schemas loaded from the archive. */
size_t archive_schema_count(const struct archive_reader *ar);
/* Format version of the file header. */
void archive_version(const struct archive_reader *ar, unsigned *major, unsigned *minor);
/* File size in bytes. */
uint64_t archive_file_size(const struct archive_reader *ar);

void archive_get_stats(const struct archive_reader *ar, struct archive_stats *st);

/* Release the reader (NULL is fine). */
void archive_close(struct archive_reader *ar);

/* 1 if the file at path starts with the archive magic, 0 otherwise (also when unreadable). */
int archive_is_archive(const char *path);

/*
 * Parse a time for --since/--until: RFC 3339 ("2026-01-01T00:00:00Z",
 * fraction and +hh:mm offsets allowed, date alone = midnight UTC) or a
 * FILETIME integer.  0 or ERR_FORMAT.
 */
int archive_parse_time(const char *s, int64_t *ft);

/* ---- Verification and repair (archive_check.c) ---------------------------------- */

struct archive_check {
    uint64_t frames, blocks, good_blocks, bad_blocks, schemas, bad_schemas, dicts, events;
    uint64_t damaged_bytes; /* bytes outside any valid frame (incl. a torn tail) */
    int has_footer, index_ok;
    int problems;           /* number of problems reported */
};

/* One line of the report (no newline). */
typedef void (*archive_line_fn)(void *ctx, const char *line);

/*
 * Check every byte of the archive at path: file header; every frame's
 * header and payload checksums; every block decompressed and each record
 * decoded (lengths, schema and provider references, count, time range);
 * the footer and the index against what the scan found.  Each problem is
 * one line "offset 0x...: block N: what".  Returns 0 (the check ran; see
 * c->problems) or ERR_* when the file cannot be read at all.
 */
int archive_verify(const char *path, struct archive_check *c, archive_line_fn line, void *ctx,
                   struct errbuf *eb);
/* archive_verify over data[0..len) (borrowed, not kept), called name in messages. */
int archive_verify_mem(const uint8_t *data, size_t len, const char *name,
                       struct archive_check *c, archive_line_fn line, void *ctx,
                       struct errbuf *eb);

/*
 * Rebuild an archive: every valid schema, dictionary and block frame is
 * copied unchanged (damaged ones and old indexes are dropped and reported
 * through line), then a new index and footer are written.  With out NULL
 * the result replaces path atomically (written to path + ".repair.tmp",
 * synced, renamed over path); otherwise it goes to out, which must not
 * exist.  c receives what was kept.  0 or ERR_*.
 */
int archive_repair(const char *path, const char *out, struct archive_check *c,
                   archive_line_fn line, void *ctx, struct errbuf *eb);

#endif
