/*
 * etl_reader: buffers -> streams -> records in timestamp (or file) order.
 *
 * The file is read at offsets (or given in memory) and walked buffer by
 * buffer by each buffer's own BufferSize.  Every buffer header becomes a
 * descriptor that is queued on its stream: the processor that filled it, or
 * one stream for header buffers (in file order mode everything is one
 * stream).  Each stream has at most one active buffer, held in the stream's
 * own buffer (read from the file, or inflated for compressed buffers; for
 * input given in memory, uncompressed buffers are used in place), and its
 * next record ("head") is parsed in advance.  Resident memory is thus the
 * active buffers and the queued descriptors, whatever the file's size: the
 * file is not mapped (handing mapped pages back cost a TLB flush of every
 * CPU running one of the process's threads, a quarter of the CPU time of a
 * dump on a 2-CPU machine).  A binary heap of active streams
 * ordered by (head timestamp, buffer ordinal, position) yields the records;
 * the scan runs ahead until `lookahead` descriptors are queued, so a stream
 * whose next buffer lies further on in the file still joins the merge in
 * time.
 *
 * The record handed out last stays valid until the next call: its stream is
 * only advanced at the start of the next etl_next.
 */
#include "etl_reader.h"
#include "../core/compiler.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../core/log.h"
#include "../core/mem.h"
#include "../platform/platform.h"
#include "etl_format.h"
#include "lz77.h"

#define DEFAULT_MAX_BUFFER (64ull << 20)
#define DEFAULT_LOOKAHEAD 1024u
#define BUDGET_FACTOR 8u
#define WARN_LOG_MAX 20u
#define HEADER_STREAM 0x10000u /* above every 16-bit processor index */
#define MAP_STREAMS_AFTER 8u
/* Bytes of the first buffer read for the logfile header: a record is at most 64 KiB. */
#define FIRST_READ_MAX (ETL_BUF_HDR + 0x10000u)
#define LOOKAHEAD_BYTES (32ull << 20) /* time order: file bytes queued ahead, at most */   /* linear search up to this many streams, then a table */

struct etl_bufdesc {
    uint64_t off;     /* file offset of the buffer */
    uint64_t ordinal; /* position in file order */
    uint32_t size;    /* BufferSize */
    uint32_t end;     /* Offset (or SavedOffset when Offset is 0): end of data incl. header */
    uint32_t cpu;
    uint16_t flags, type;
};

struct etl_stream {
    uint32_t key;
    /* Queued descriptors (a ring). */
    struct etl_bufdesc *q;
    uint32_t qcap, qhead, qlen;
    /* The active buffer. */
    int active;
    struct etl_bufdesc cur;
    const uint8_t *data;
    uint32_t len, pos;
    int compressed;
    int warned; /* a problem of the current buffer was reported */
    uint8_t *dbuf;
    size_t dcap;
    size_t dcounted; /* of dcap, counted in the reader's dec_bytes (inflate buffers) */
    int64_t last_raw; /* for records without a timestamp of their own */
    /* Its next record. */
    struct record head;
    uint32_t head_size;
    size_t hidx; /* index in the heap while active */
    uint8_t scratch[ETL_SCRATCH_BYTES];
};

struct etl_reader {
    const uint8_t *base;       /* input given in memory, or NULL */
    struct plat_rfile *file;   /* or the file read at offsets */
    uint64_t size;
    uint8_t *cbuf;             /* a compressed buffer read from the file */
    size_t ccap;
    char *name;
    char *logger_name, *logfile_name;
    struct trace_info info;
    int file_order;
    uint64_t max_buffer, budget, dec_bytes;
    uint32_t lookahead;
    etl_warn_fn warn;
    void *warn_ctx;
    uint64_t warn_count, warn_suppressed;
    /* Scan position. */
    uint64_t scan_off, scan_ordinal;
    int scan_done;
    uint64_t pending;       /* descriptors queued on streams */
    uint64_t pending_bytes; /* their on-disk size */
    /* Streams and the merge heap. */
    struct etl_stream **streams;
    size_t nstreams, cstreams;
    uint32_t *stream_map; /* hash: stream index + 1 by key, once there are many streams */
    size_t map_cap;
    struct etl_stream **heap;
    size_t nheap, cheap;
    struct etl_stream *advance; /* stream of the record handed out last */
    int64_t newest_raw;
    int any_returned;
    struct etl_stats st;
};

/* ---- Messages ---------------------------------------------------------- */

#if defined(__GNUC__) || defined(__clang__)
ETWHOST_PRINTF(3, 4)
#endif
static void warnf(struct etl_reader *r, uint64_t off, const char *fmt, ...)
{
    char msg[600];
    int n = snprintf(msg, sizeof msg, "%s: offset 0x%" PRIx64 ": ", r->name, off);
    if (n < 0 || (size_t)n >= sizeof msg)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    r->warn_count++;
    if (r->warn)
        r->warn(r->warn_ctx, msg);
    else if (r->warn_count <= WARN_LOG_MAX)
        log_warn("%s", msg);
    else
        r->warn_suppressed++;
}

/* ---- Clock ------------------------------------------------------------- */

/* floor(a * b / c) for a < c, without overflow. */
static uint64_t muldiv64(uint64_t a, uint64_t b, uint64_t c)
{
    if (b == 0 || a <= UINT64_MAX / b)
        return a * b / c;
#if defined(__SIZEOF_INT128__) && !defined(ETL_NO_INT128)
    __extension__ typedef unsigned __int128 u128;
    return (uint64_t)((u128)a * b / c);
#else
    /* 64x64 -> 128 product from 32-bit halves, then restoring division (hi < c). */
    uint64_t al = a & 0xFFFFFFFFu, ah = a >> 32, bl = b & 0xFFFFFFFFu, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);
    uint64_t lo = (ll & 0xFFFFFFFFu) | (mid << 32);
    uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    uint64_t q = 0, rem = hi;
    for (int i = 63; i >= 0; i--) {
        uint64_t carry = rem >> 63;
        rem = (rem << 1) | ((lo >> i) & 1u);
        q <<= 1;
        if (carry || rem >= c) {
            rem -= c;
            q |= 1;
        }
    }
    return q;
#endif
}

/* s + v or s - v, saturated to the int64 range. */
static int64_t sat_offset(int64_t s, uint64_t v, int negative)
{
    /* Work on s + 2^63 as an unsigned number so that every step is defined. */
    uint64_t u = (uint64_t)s ^ 0x8000000000000000ull;
    if (negative)
        u = v > u ? 0 : u - v;
    else
        u = v > UINT64_MAX - u ? UINT64_MAX : u + v;
    u ^= 0x8000000000000000ull;
    int64_t out;
    memcpy(&out, &u, sizeof out);
    return out;
}

int64_t etl_clock_to_filetime(const struct trace_info *ti, int64_t raw)
{
    uint64_t num, den;
    switch (ti->clock_type) {
    case TRACE_CLOCK_QPC:
        if (ti->perf_freq <= 0)
            return raw;
        num = 10000000u;
        den = (uint64_t)ti->perf_freq;
        break;
    case TRACE_CLOCK_CYCLES:
        if (ti->cpu_mhz == 0)
            return raw;
        num = 10u;
        den = ti->cpu_mhz;
        break;
    default:
        return raw;
    }
    int neg = raw < ti->t0_raw;
    uint64_t m = neg ? (uint64_t)ti->t0_raw - (uint64_t)raw : (uint64_t)raw - (uint64_t)ti->t0_raw;
    uint64_t v;
    if (num == den) {
        v = m;
    } else {
        uint64_t q = m / den, rem = m % den;
        if (q > UINT64_MAX / num) {
            v = UINT64_MAX;
        } else {
            v = q * num;
            uint64_t f = muldiv64(rem, num, den);
            v = f > UINT64_MAX - v ? UINT64_MAX : v + f;
        }
    }
    return sat_offset(ti->start_time, v, neg);
}

/* ---- Streams ----------------------------------------------------------- */

/* Index of key's slot in the stream hash (open addressing, linear probing). */
static size_t map_slot(const struct etl_reader *r, uint32_t key)
{
    size_t mask = r->map_cap - 1, i = (key * 2654435761u) & mask;
    while (r->stream_map[i] && r->streams[r->stream_map[i] - 1]->key != key)
        i = (i + 1) & mask;
    return i;
}

/* Rebuild the hash with room for twice the streams.  0 or ERR_NOMEM. */
static int map_grow(struct etl_reader *r)
{
    size_t cap = r->map_cap ? r->map_cap * 2 : 64;
    uint32_t *m = mem_calloc(cap, sizeof *m);
    if (m == NULL)
        return ERR_NOMEM;
    mem_free(r->stream_map);
    r->stream_map = m;
    r->map_cap = cap;
    for (size_t i = 0; i < r->nstreams; i++)
        r->stream_map[map_slot(r, r->streams[i]->key)] = (uint32_t)i + 1;
    return 0;
}

/* The stream of key, created on first use; NULL when out of memory. */
static struct etl_stream *stream_get(struct etl_reader *r, uint32_t key)
{
    if (r->stream_map) {
        uint32_t i = r->stream_map[map_slot(r, key)];
        if (i)
            return r->streams[i - 1];
    } else {
        for (size_t i = 0; i < r->nstreams; i++)
            if (r->streams[i]->key == key)
                return r->streams[i];
    }
    if (mem_grow(&r->streams, &r->cstreams, r->nstreams + 1, sizeof *r->streams) ||
        mem_grow(&r->heap, &r->cheap, r->nstreams + 1, sizeof *r->heap))
        return NULL;
    struct etl_stream *s = mem_calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->key = key;
    s->last_raw = r->info.t0_raw;
    r->streams[r->nstreams++] = s;
    /* A short list is searched; past MAP_STREAMS_AFTER a hash kept at most half full. */
    if (r->nstreams >= MAP_STREAMS_AFTER && 2 * r->nstreams > r->map_cap) {
        if (map_grow(r)) {
            r->nstreams--;
            mem_free(s);
            return NULL;
        }
    } else if (r->stream_map) {
        r->stream_map[map_slot(r, key)] = (uint32_t)r->nstreams;
    }
    return s;
}

static int queue_push(struct etl_stream *s, const struct etl_bufdesc *d)
{
    if (s->qlen == s->qcap) {
        uint32_t ncap = s->qcap ? s->qcap * 2 : 8;
        struct etl_bufdesc *nq = mem_alloc((size_t)ncap * sizeof *nq);
        if (nq == NULL)
            return ERR_NOMEM;
        for (uint32_t i = 0; i < s->qlen; i++)
            nq[i] = s->q[(s->qhead + i) % s->qcap];
        mem_free(s->q);
        s->q = nq;
        s->qcap = ncap;
        s->qhead = 0;
    }
    s->q[(s->qhead + s->qlen) % s->qcap] = *d;
    s->qlen++;
    return 0;
}

/* Report a problem of the stream's current buffer; only the first per buffer is reported. */
#if defined(__GNUC__) || defined(__clang__)
ETWHOST_PRINTF(4, 5)
#endif
static void buffer_warn(struct etl_reader *r, struct etl_stream *s, uint64_t off, const char *fmt,
                        ...)
{
    if (s->warned)
        return;
    s->warned = 1;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    warnf(r, off, "%s", msg);
}

/* File offset of the record at data position pos of the active buffer. */
static uint64_t record_offset(const struct etl_stream *s, uint32_t pos)
{
    return s->compressed ? s->cur.off : s->cur.off + ETL_BUF_HDR + pos;
}

/*
 * Parse records from s->pos on until one is good.  1 = s->head ready,
 * 0 = the buffer has no more records.
 */
static int stream_parse_head(struct etl_reader *r, struct etl_stream *s)
{
    for (;;) {
        uint32_t avail = s->len - s->pos;
        if (avail < 4)
            return 0; /* also keeps an empty inflated buffer's NULL data untouched */
        uint32_t size = 0;
        int has_ts = 1;
        const char *why = "";
        int rc = etl_parse_record(s->data + s->pos, avail, r->info.pointer_size, &s->head,
                                  s->scratch, &size, &has_ts, &why);
        if (rc == ETL_REC_OK) {
            struct record *h = &s->head;
            if (has_ts)
                s->last_raw = h->raw_timestamp;
            else
                h->raw_timestamp = s->last_raw;
            h->timestamp = etl_clock_to_filetime(&r->info, h->raw_timestamp);
            h->cpu = s->cur.cpu;
            h->offset = record_offset(s, s->pos);
            h->trace = &r->info;
            s->head_size = size;
            return 1;
        }
        if (rc == ETL_REC_END)
            return 0;
        r->st.bad_records++;
        if (rc == ETL_REC_SKIP) {
            r->st.skipped_bytes += size;
            buffer_warn(r, s, record_offset(s, s->pos), "record skipped: %s (size %" PRIu32 ")",
                        why, size);
            uint32_t step = (size + 7u) & ~7u;
            s->pos = step > avail ? s->len : s->pos + step;
            continue;
        }
        r->st.skipped_bytes += avail;
        buffer_warn(r, s, record_offset(s, s->pos),
                    "%s; the remaining %" PRIu32 " bytes of the buffer are skipped", why, avail);
        s->pos = s->len;
        return 0;
    }
}

/* Free the inflate buffers of streams that are not reading a buffer. */
static void release_idle_dbufs(struct etl_reader *r, const struct etl_stream *keep)
{
    for (size_t i = 0; i < r->nstreams; i++) {
        struct etl_stream *o = r->streams[i];
        if (o != keep && !o->active && o->dbuf) {
            r->dec_bytes -= o->dcounted;
            o->dcounted = 0;
            mem_free(o->dbuf);
            o->dbuf = NULL;
            o->dcap = 0;
        }
    }
}

/*
 * Make s->dbuf hold need bytes, within the reader's budget for inflated
 * buffers when budgeted (a buffer read as it is was checked against the
 * read cap instead).  0, ERR_RANGE or ERR_NOMEM.
 */
static int ensure_dbuf(struct etl_reader *r, struct etl_stream *s, size_t need, int budgeted)
{
    if (need == 0)
        need = 1; /* never hand the decompressor a NULL buffer */
    if (s->dcap >= need)
        return 0;
    size_t want = (need + 0xFFFFu) & ~(size_t)0xFFFFu;
    if (budgeted && r->dec_bytes - s->dcounted + want > r->budget) {
        release_idle_dbufs(r, s);
        if (r->dec_bytes - s->dcounted + want > r->budget) {
            want = need;
            if (r->dec_bytes - s->dcounted + want > r->budget)
                return ERR_RANGE;
        }
    }
    mem_free(s->dbuf);
    r->dec_bytes -= s->dcounted;
    s->dcap = s->dcounted = 0;
    s->dbuf = mem_alloc(want);
    if (s->dbuf == NULL)
        return ERR_NOMEM;
    s->dcap = want;
    if (budgeted) {
        s->dcounted = want;
        r->dec_bytes += want;
    }
    return 0;
}

/*
 * *out = the n bytes at file offset off: in place for input given in
 * memory, else read into *buf (grown to *cap as needed).  0, or ERR_NOMEM /
 * ERR_IO with eb naming the file and offset.
 */
static int read_at(struct etl_reader *r, uint64_t off, size_t n, uint8_t **buf, size_t *cap,
                   const uint8_t **out, struct errbuf *eb)
{
    if (r->base) {
        *out = r->base + off;
        return 0;
    }
    if (*cap < n || *buf == NULL) {
        size_t want = (n + 0xFFFFu) & ~(size_t)0xFFFFu;
        uint8_t *nb = mem_alloc(want ? want : 1);
        if (nb == NULL)
            return errbuf_set(eb, ERR_NOMEM, "%s: offset 0x%" PRIx64 ": out of memory reading a "
                              "%zu-byte buffer", r->name, off, n);
        mem_free(*buf);
        *buf = nb;
        *cap = want;
    }
    *out = *buf;
    return plat_rfile_read(r->file, off, *buf, n, eb);
}

/*
 * Make d the active buffer of s and parse its first record.  1 = head
 * ready, 0 = the buffer gave no record (empty or damaged, counted),
 * negative = fatal (ERR_NOMEM).
 */
static int stream_activate(struct etl_reader *r, struct etl_stream *s,
                           const struct etl_bufdesc *d, struct errbuf *eb)
{
    s->cur = *d;
    s->warned = 0;
    s->pos = 0;
    s->len = 0;
    s->data = NULL;
    s->compressed = 0;
    uint32_t end = d->end;
    /*
     * Read from a file, a buffer is held in memory: one over the cap (real
     * ones are at most a few MiB) is skipped, whatever memory it would take.
     */
    uint64_t read_cap = r->max_buffer > DEFAULT_MAX_BUFFER ? r->max_buffer : DEFAULT_MAX_BUFFER;
    if (r->file && (uint64_t)d->size - ETL_BUF_HDR > read_cap) {
        r->st.bad_buffers++;
        r->st.skipped_bytes += d->size;
        buffer_warn(r, s, d->off, "BufferSize %" PRIu32 " is over the %" PRIu64 "-byte cap for "
                    "a buffer; buffer skipped", d->size, read_cap);
        return 0;
    }
    if (d->flags & ETL_BUFFLAG_COMPRESSED) {
        s->compressed = 1;
        if (end < ETL_BUF_HDR) {
            r->st.bad_buffers++;
            r->st.skipped_bytes += d->size;
            buffer_warn(r, s, d->off, "compressed buffer with Offset 0x%" PRIx32
                        " inside its header; buffer skipped", end);
            return 0;
        }
        uint64_t out = end - ETL_BUF_HDR;
        if (out > r->max_buffer) {
            r->st.bad_buffers++;
            r->st.skipped_bytes += d->size;
            buffer_warn(r, s, d->off, "compressed buffer would inflate to %" PRIu64
                        " bytes, over the %" PRIu64 "-byte cap; buffer skipped", out,
                        r->max_buffer);
            return 0;
        }
        int rc = ensure_dbuf(r, s, (size_t)out, 1);
        if (rc == ERR_NOMEM)
            return errbuf_set(eb, ERR_NOMEM, "%s: offset 0x%" PRIx64 ": out of memory inflating "
                              "a %" PRIu64 "-byte buffer", r->name, d->off, out);
        if (rc) {
            r->st.bad_buffers++;
            r->st.skipped_bytes += d->size;
            buffer_warn(r, s, d->off, "inflating this buffer would exceed the %" PRIu64
                        "-byte memory budget for decompressed buffers; buffer skipped",
                        r->budget);
            return 0;
        }
        const uint8_t *in = NULL;
        rc = read_at(r, d->off + ETL_BUF_HDR, d->size - ETL_BUF_HDR, &r->cbuf, &r->ccap, &in, eb);
        if (rc)
            return rc;
        size_t n = 0;
        rc = lz77_decompress(in, d->size - ETL_BUF_HDR, s->dbuf, (size_t)out, &n);
        if (rc || n != out) {
            r->st.bad_buffers++;
            r->st.skipped_bytes += d->size;
            if (rc)
                buffer_warn(r, s, d->off, "damaged LZ77 stream; buffer skipped");
            else
                buffer_warn(r, s, d->off, "LZ77 stream inflates to %zu bytes, Offset says %" PRIu64
                            "; buffer skipped", n, out);
            return 0;
        }
        r->st.compressed_buffers++;
        s->data = s->dbuf;
        s->len = (uint32_t)out;
    } else {
        if (end != 0 && end < ETL_BUF_HDR) {
            r->st.bad_buffers++;
            r->st.skipped_bytes += d->size;
            buffer_warn(r, s, d->off, "Offset 0x%" PRIx32 " inside the buffer header; "
                        "buffer skipped", end);
            return 0;
        }
        if (end > d->size) {
            r->st.bad_buffers++;
            buffer_warn(r, s, d->off, "Offset 0x%" PRIx32 " beyond BufferSize 0x%" PRIx32
                        "; reading up to BufferSize", end, d->size);
            end = d->size;
        }
        s->len = end ? end - ETL_BUF_HDR : 0;
        if (r->base) {
            s->data = r->base + d->off + ETL_BUF_HDR;
        } else if (s->len) {
            int rc = ensure_dbuf(r, s, s->len, 0);
            if (rc)
                return errbuf_set(eb, ERR_NOMEM, "%s: offset 0x%" PRIx64 ": out of memory reading "
                                  "a %" PRIu32 "-byte buffer", r->name, d->off, s->len);
            rc = plat_rfile_read(r->file, d->off + ETL_BUF_HDR, s->dbuf, s->len, eb);
            if (rc)
                return rc;
            s->data = s->dbuf;
        }
    }
    return stream_parse_head(r, s);
}

/*
 * Activate queued buffers of s until one yields a record.  1 = s has a
 * head, 0 = s is idle, negative = fatal.
 */
static int stream_fill(struct etl_reader *r, struct etl_stream *s, struct errbuf *eb)
{
    while (s->qlen) {
        struct etl_bufdesc d = s->q[s->qhead];
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
        r->pending--;
        r->pending_bytes -= d.size;
        int rc = stream_activate(r, s, &d, eb);
        if (rc)
            return rc;
    }
    s->active = 0;
    return 0;
}

/* ---- Merge heap -------------------------------------------------------- */

static int stream_before(const struct etl_stream *a, const struct etl_stream *b)
{
    if (a->head.raw_timestamp != b->head.raw_timestamp)
        return a->head.raw_timestamp < b->head.raw_timestamp;
    if (a->cur.ordinal != b->cur.ordinal)
        return a->cur.ordinal < b->cur.ordinal;
    return a->pos < b->pos;
}

static void heap_set(struct etl_reader *r, size_t i, struct etl_stream *s)
{
    r->heap[i] = s;
    s->hidx = i;
}

static void heap_up(struct etl_reader *r, size_t i)
{
    struct etl_stream *s = r->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!stream_before(s, r->heap[p]))
            break;
        heap_set(r, i, r->heap[p]);
        i = p;
    }
    heap_set(r, i, s);
}

static void heap_down(struct etl_reader *r, size_t i)
{
    struct etl_stream *s = r->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= r->nheap)
            break;
        if (c + 1 < r->nheap && stream_before(r->heap[c + 1], r->heap[c]))
            c++;
        if (!stream_before(r->heap[c], s))
            break;
        heap_set(r, i, r->heap[c]);
        i = c;
    }
    heap_set(r, i, s);
}

static void heap_remove(struct etl_reader *r, size_t i)
{
    r->nheap--;
    if (i == r->nheap)
        return;
    struct etl_stream *x = r->heap[r->nheap];
    heap_set(r, i, x);
    heap_up(r, i);
    heap_down(r, x->hidx);
}

/* ---- Scanning ---------------------------------------------------------- */

/*
 * Read the next buffer header and queue it on its stream (activating the
 * stream if it was idle).  Sets scan_done at the end of the walkable data.
 * 0 or a fatal error.
 */
static int scan_one(struct etl_reader *r, struct errbuf *eb)
{
    uint64_t off = r->scan_off;
    if (off >= r->size) {
        r->scan_done = 1;
        return 0;
    }
    uint64_t left = r->size - off;
    if (left < ETL_BUF_HDR) {
        r->st.skipped_bytes += left;
        r->scan_done = 1;
        warnf(r, off, "%" PRIu64 " trailing bytes after the last buffer skipped", left);
        return 0;
    }
    uint8_t hdr[ETL_BUF_HDR];
    const uint8_t *b = r->base ? r->base + off : hdr;
    if (r->file) {
        int rc = plat_rfile_read(r->file, off, hdr, sizeof hdr, eb);
        if (rc)
            return rc;
    }
    uint32_t bs = le_r32(b + ETL_BUF_SIZE);
    if (bs < ETL_BUF_HDR) {
        r->st.skipped_bytes += left;
        r->scan_done = 1;
        if (bs == 0) {
            warnf(r, off, "BufferSize 0: %" PRIu64 " bytes after the last buffer skipped", left);
        } else {
            r->st.bad_buffers++;
            warnf(r, off, "BufferSize %" PRIu32 " is smaller than the buffer header; the rest "
                  "of the file (%" PRIu64 " bytes) is skipped", bs, left);
        }
        return 0;
    }
    r->st.buffers++;
    if (bs > left) {
        r->st.bytes += left;
        r->st.bad_buffers++;
        r->st.skipped_bytes += left;
        r->scan_done = 1;
        warnf(r, off, "truncated buffer: BufferSize %" PRIu32 " but only %" PRIu64
              " bytes left in the file; skipped", bs, left);
        return 0;
    }
    r->st.bytes += bs;
    r->scan_off = off + bs;
    struct etl_bufdesc d;
    d.off = off;
    d.ordinal = r->scan_ordinal++;
    d.size = bs;
    d.end = le_r32(b + ETL_BUF_OFFSET);
    if (d.end == 0)
        d.end = le_r32(b + ETL_BUF_SAVED);
    d.flags = le_r16(b + ETL_BUF_FLAGS);
    d.type = le_r16(b + ETL_BUF_TYPE);
    d.cpu = (d.flags & ETL_BUFFLAG_PROC_INDEX) ? le_r16(b + ETL_BUF_PROC) : b[ETL_BUF_PROC];
    uint32_t key = r->file_order ? 0 : d.type == ETL_BUFTYPE_HEADER ? HEADER_STREAM : d.cpu;
    struct etl_stream *s = stream_get(r, key);
    if (s == NULL)
        return errbuf_set(eb, ERR_NOMEM, "%s: offset 0x%" PRIx64 ": out of memory", r->name, off);
    if (queue_push(s, &d))
        return errbuf_set(eb, ERR_NOMEM, "%s: offset 0x%" PRIx64 ": out of memory", r->name, off);
    r->pending++;
    r->pending_bytes += d.size;
    if (!s->active) {
        int rc = stream_fill(r, s, eb);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            s->active = 1;
            heap_set(r, r->nheap++, s);
            heap_up(r, r->nheap - 1);
        }
    }
    return 0;
}

/* ---- Public API -------------------------------------------------------- */

static int reader_fail(struct etl_reader *r, struct errbuf *eb, int code, uint64_t off,
                       const char *what)
{
    return errbuf_set(eb, code, "%s: offset 0x%" PRIx64 ": %s", r->name, off, what);
}

static int read_logfile_header(struct etl_reader *r, const uint8_t *b, size_t have,
                               struct errbuf *eb);

static int open_common(struct etl_reader *r, const struct etl_options *opt, struct errbuf *eb)
{
    struct etl_options o;
    if (opt)
        o = *opt;
    else
        memset(&o, 0, sizeof o);
    r->file_order = o.file_order != 0;
    r->max_buffer = o.max_buffer_bytes ? o.max_buffer_bytes : DEFAULT_MAX_BUFFER;
    if (r->max_buffer > UINT32_MAX)
        r->max_buffer = UINT32_MAX;
    r->budget = r->max_buffer * BUDGET_FACTOR;
    r->lookahead = o.lookahead ? o.lookahead : DEFAULT_LOOKAHEAD;
    r->warn = o.warn;
    r->warn_ctx = o.warn_ctx;
    r->info.path = r->name;

    if (r->size == 0)
        return errbuf_set(eb, ERR_FORMAT, "%s: empty file", r->name);
    if (r->size < ETL_BUF_HDR)
        return reader_fail(r, eb, ERR_FORMAT, 0, "file too short for a buffer header "
                           "(not an .etl file)");
    /* The logfile header is the first record of the first buffer. */
    size_t have = r->size < FIRST_READ_MAX ? (size_t)r->size : FIRST_READ_MAX;
    uint8_t *first = NULL;
    size_t fcap = 0;
    const uint8_t *b = NULL;
    int rc = read_at(r, 0, have, &first, &fcap, &b, eb);
    if (rc == 0)
        rc = read_logfile_header(r, b, have, eb);
    mem_free(first);
    return rc;
}

/* Check the first buffer (have bytes of it at b) and read the logfile header from it. */
static int read_logfile_header(struct etl_reader *r, const uint8_t *b, size_t have,
                               struct errbuf *eb)
{
    uint32_t bs = le_r32(b);
    if (bs < ETL_BUF_HDR)
        return reader_fail(r, eb, ERR_FORMAT, 0, "BufferSize smaller than the buffer header "
                           "(not an .etl file)");
    if (bs > r->size)
        return reader_fail(r, eb, ERR_FORMAT, 0, "truncated file: the first buffer is longer "
                           "than the file");
    if (le_r16(b + ETL_BUF_FLAGS) & ETL_BUFFLAG_COMPRESSED)
        return reader_fail(r, eb, ERR_FORMAT, 0, "the header buffer is compressed "
                           "(not an .etl file?)");
    uint32_t end = le_r32(b + ETL_BUF_OFFSET);
    if (end == 0)
        end = le_r32(b + ETL_BUF_SAVED);
    if (end < ETL_BUF_HDR || end > bs)
        end = bs;
    if (end > have)
        end = (uint32_t)have;
    struct record rec;
    uint8_t scratch[ETL_SCRATCH_BYTES];
    uint32_t size = 0;
    int has_ts = 0;
    const char *why = "no record in the header buffer (not an .etl file?)";
    int rc = etl_parse_record(b + ETL_BUF_HDR, end - ETL_BUF_HDR, 8, &rec, scratch, &size,
                              &has_ts, &why);
    if (rc != ETL_REC_OK)
        return reader_fail(r, eb, ERR_FORMAT, ETL_BUF_HDR, why);
    rc = etl_parse_logfile_header(rec.raw, rec.raw_len, &r->info, &r->logger_name,
                                  &r->logfile_name, &why);
    if (rc == ERR_NOMEM)
        return errbuf_set(eb, rc, "%s: out of memory", r->name);
    if (rc)
        return reader_fail(r, eb, rc, ETL_BUF_HDR, why);
    r->info.path = r->name;
    switch (r->info.clock_type) {
    case TRACE_CLOCK_QPC:
        if (r->info.perf_freq <= 0)
            return reader_fail(r, eb, ERR_FORMAT, ETL_BUF_HDR, "logfile header: QPC clock "
                               "with a PerfFreq that is not positive");
        break;
    case TRACE_CLOCK_CYCLES:
        if (r->info.cpu_mhz == 0)
            return reader_fail(r, eb, ERR_FORMAT, ETL_BUF_HDR, "logfile header: CPU-cycle "
                               "clock with CpuSpeedInMHz 0");
        break;
    case TRACE_CLOCK_SYSTEM:
        break;
    default:
        /* Clock 0 ("raw") or unknown: use QPC rules when a frequency is given. */
        warnf(r, ETL_BUF_HDR, "logfile header: unknown clock type %" PRIu32 "; timestamps "
              "read as %s", r->info.clock_type, r->info.perf_freq > 0 ? "QPC" : "FILETIME");
        r->info.clock_type = r->info.perf_freq > 0 ? TRACE_CLOCK_QPC : TRACE_CLOCK_SYSTEM;
        break;
    }
    return 0;
}

static struct etl_reader *reader_new(const char *name)
{
    struct etl_reader *r = mem_calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->name = mem_strdup(name ? name : "(memory)");
    if (r->name == NULL) {
        mem_free(r);
        return NULL;
    }
    return r;
}

int etl_open_mem(const uint8_t *data, size_t len, const char *name,
                 const struct etl_options *opt, struct etl_reader **out, struct errbuf *eb)
{
    *out = NULL;
    struct etl_reader *r = reader_new(name);
    if (r == NULL)
        return errbuf_set(eb, ERR_NOMEM, "%s: out of memory", name ? name : "(memory)");
    r->base = data;
    r->size = data ? len : 0;
    int rc = open_common(r, opt, eb);
    if (rc) {
        etl_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

int etl_open(const char *path, const struct etl_options *opt, struct etl_reader **out,
             struct errbuf *eb)
{
    *out = NULL;
    struct plat_rfile *f = NULL;
    uint64_t size = 0;
    int rc = plat_rfile_open(path, &f, &size, eb);
    if (rc)
        return rc;
    struct etl_reader *r = reader_new(path);
    if (r == NULL) {
        plat_rfile_close(f);
        return errbuf_set(eb, ERR_NOMEM, "%s: out of memory", path);
    }
    r->file = f;
    r->size = size;
    rc = open_common(r, opt, eb);
    if (rc) {
        etl_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

const struct trace_info *etl_info(const struct etl_reader *r)
{
    return &r->info;
}

const char *etl_logfile_name(const struct etl_reader *r)
{
    return r->logfile_name ? r->logfile_name : "";
}

int etl_next(struct etl_reader *r, struct record *rec, struct errbuf *eb)
{
    if (r->advance) {
        struct etl_stream *s = r->advance;
        r->advance = NULL;
        uint32_t step = (s->head_size + 7u) & ~7u;
        s->pos = step > s->len - s->pos ? s->len : s->pos + step;
        int rc = stream_parse_head(r, s);
        if (rc == 0) {
            rc = stream_fill(r, s, eb);
            if (rc < 0)
                return rc;
        }
        if (rc == 1) {
            heap_up(r, s->hidx);
            heap_down(r, s->hidx);
        } else {
            heap_remove(r, s->hidx);
        }
    }
    while (!r->scan_done &&
           (r->nheap == 0 || (!r->file_order && r->pending < r->lookahead &&
                              r->pending_bytes < LOOKAHEAD_BYTES))) {
        int rc = scan_one(r, eb);
        if (rc < 0)
            return rc;
    }
    if (r->nheap == 0)
        return 0;
    struct etl_stream *s = r->heap[0];
    *rec = s->head;
    rec->seq = r->st.records++;
    if (r->any_returned && rec->raw_timestamp < r->newest_raw)
        r->st.late_records++;
    else
        r->newest_raw = rec->raw_timestamp;
    r->any_returned = 1;
    r->advance = s;
    return 1;
}

void etl_get_stats(const struct etl_reader *r, struct etl_stats *st)
{
    *st = r->st;
}

void etl_close(struct etl_reader *r)
{
    if (r == NULL)
        return;
    if (r->warn_suppressed)
        log_warn("%s: %" PRIu64 " further warnings not shown", r->name, r->warn_suppressed);
    for (size_t i = 0; i < r->nstreams; i++) {
        mem_free(r->streams[i]->q);
        mem_free(r->streams[i]->dbuf);
        mem_free(r->streams[i]);
    }
    mem_free(r->streams);
    mem_free(r->stream_map);
    mem_free(r->heap);
    plat_rfile_close(r->file);
    mem_free(r->cbuf);
    mem_free(r->logger_name);
    mem_free(r->logfile_name);
    mem_free(r->name);
    mem_free(r);
}
