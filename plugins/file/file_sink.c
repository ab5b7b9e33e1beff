/*
 * file: the built-in JSON-lines file sink.
 *
 * Settings (docs/plugins.md "file"):
 *   path               file to append to (required; never truncated)
 *   rotate_bytes       rotate when the file would exceed this size (0 = off;
 *                      integer or "64M"-style string, 1024-based)
 *   rotate_seconds     rotate files older than this (0 = off; integer or
 *                      "30s" / "15m" / "1h" / "1d")
 *   keep               rotated files to keep, oldest deleted first (default
 *                      10; 0 = keep all)
 *   compress           "none" (default) | "zstd": compress rotated files on a
 *                      background thread
 *   compress_level     zstd level (default 3)
 *   fsync              "never" | "rotate" (default) | "batch" | "always"
 *   fail_after_seconds after this long of continuous write errors give up
 *                      (ETWHOST_ERR_FATAL); 0 = retry forever (default)
 *   preallocate        reserve disk space this far ahead of the end (e.g.
 *                      "16M"; default 0 = off): less kernel time per byte on
 *                      Linux.  For a file no other process appends to: the
 *                      space left at close is released by cutting the file
 *                      to its size.  `etwhost convert` turns it on.
 *   drop_behind        after every this many bytes written (e.g. "8M";
 *                      default 0 = off), start their writeback and drop the
 *                      window before them from the page cache once written
 *                      (Linux): a long write then recycles a few megabytes
 *                      of cache instead of filling memory with pages nobody
 *                      reads.  For output read later, not by a live reader
 *                      (tail -f reads from disk then).  `etwhost convert`
 *                      turns it on.
 *
 * Rotated files sit next to the live file and are named
 * <stem>-<YYYYMMDDTHHMMSSZ>-<seq><ext>, e.g. events-20260101T120000Z-000007.jsonl,
 * where the time is the UTC time of rotation and seq (at least six digits)
 * increases by one per rotation and continues after restarts.  Names sort
 * in rotation order and never collide.  Compressed files get ".zst" appended.
 * The naming, the retention (keep), the setting parsers and the OS calls are
 * plugins/support/ (psup_*), shared with the archive sink.
 *
 * Line integrity: each batch is rendered into one buffer and written with as
 * few write() calls as possible.  When a write fails part-way the partial
 * line is cut off again (ftruncate); if even that fails, its remaining bytes
 * are kept and written first next time.  So the file only ever holds whole
 * lines, except after a crash mid-write: then, when the file is opened again
 * and does not end with '\n', a '\n' is appended first so the new lines stay
 * intact (the torn line remains, as a line that is not valid JSON).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "etwhost/plugin.h"
#include "psup_os.h"
#include "psup_rotate.h"
#include "psup_settings.h"

#define FSYNC_NEVER 0
#define FSYNC_ROTATE 1
#define FSYNC_BATCH 2
#define FSYNC_ALWAYS 3

/* Largest single write; bigger batches are written in pieces at line boundaries. */
#define CHUNK_BYTES (4u << 20)
/* After a failed rename, keep writing to the current file for this long. */
#define ROTATE_BACKOFF_NS (10ull * 1000000000ull)

struct fsink {
    etwhost_host *h;
    const etwhost_host_api *api;
    char *path;
    struct psup_rot rot; /* rotated names: dir, stem, ext */
    uint64_t rotate_bytes, rotate_ns, fail_after_ns;
    uint64_t prealloc; /* bytes to reserve ahead (0 = off) */
    uint64_t reserved; /* the live file's space is reserved up to here */
    uint64_t drop;     /* drop_behind window (0 = off) */
    uint64_t wb_from;  /* the live file's writeback is started up to here */
    uint64_t drop_from; /* and its pages dropped from the cache up to here */
    uint32_t keep;
    int compress, level, fsync_mode;

    psup_file f;
    int is_open, regular;
    uint64_t size;      /* bytes in the live file */
    uint64_t opened_ns; /* when the live file was opened (age rotation) */
    uint64_t rotate_blocked_until;

    char *buf;
    size_t cap;
    uint32_t *ends; /* ends[k]: offset after line k in buf */
    uint32_t ends_cap;

    /* Tail of a line that was accepted but only partly written. */
    char *carry;
    size_t carry_len;

    uint64_t next_seq;
    int failing, fatal, last_err;
    uint64_t fail_since;

    uint64_t lines, bytes, rotations, write_errors, encode_errors, newline_fixes;
    int32_t c_lines, c_bytes, c_rot, c_err;

    /* Compression worker; queue and counters under its lock. */
    psup_worker *w;
    int w_started, w_stop;
    char **queue;
    size_t qn, qcap;
    uint64_t compressed, compress_errors;
};

static const char *const file_keys[] = {"path", "rotate_bytes", "rotate_seconds", "keep",
                                        "compress", "compress_level", "fsync",
                                        "fail_after_seconds", "preallocate", "drop_behind", NULL};

/* ---- rotated files -------------------------------------------------------------- */

/* Variants of a rotated file: plain, compressed, and being compressed. */
#define VAR_PLAIN 0
#define VAR_ZST 1
#define VAR_ZST_TMP 2
static const char *const rot_variants[] = {"", ".zst", ".zst.tmp", NULL};

static void prune_failed(void *ctx, const char *path, int e)
{
    struct fsink *s = ctx;
    if (psup_exists(path))
        etwhost_logf(s->api, s->h, ETWHOST_LOG_WARN, "cannot remove old file %s", path);
}

/*
 * Delete the oldest rotated files so that at most 'keep' remain.  A file
 * counts once whether it is plain, compressed, or both (mid-compression).
 */
static void prune(struct fsink *s)
{
    psup_rot_prune(&s->rot, s->keep, prune_failed, s);
}

/* ---- compression worker ------------------------------------------------------------ */

static void log_io(struct fsink *s, int level, const char *what, const char *path, int e)
{
    char eb[128];
    etwhost_logf(s->api, s->h, level, "cannot %s %s: %s", what, path,
                 psup_strerror(e, eb, sizeof eb));
}

static int compress_one(struct fsink *s, const char *src)
{
    char *dst = psup_join3(src, ".zst", "");
    char *tmp = psup_join3(src, ".zst.tmp", "");
    psup_file in = {PSUP_NO_FILE, 0}, out = {PSUP_NO_FILE, 0};
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    size_t isz = ZSTD_CStreamInSize(), osz = ZSTD_CStreamOutSize();
    char *ib = malloc(isz), *ob = malloc(osz);
    int rc = -1, e = 0;
    const char *what = "compress";
    if (dst == NULL || tmp == NULL || cctx == NULL || ib == NULL || ob == NULL) {
        etwhost_logf(s->api, s->h, ETWHOST_LOG_WARN, "out of memory compressing %s", src);
        goto done;
    }
    if ((e = psup_open_read(src, &in)) != 0) {
        /* Pruned before its turn came: nothing to do. */
        if (!psup_exists(src))
            rc = 0;
        else
            log_io(s, ETWHOST_LOG_WARN, "read", src, e);
        goto done;
    }
    if ((e = psup_open_write_new(tmp, &out)) != 0) {
        log_io(s, ETWHOST_LOG_WARN, "create", tmp, e);
        goto done;
    }
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, s->level);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    for (;;) {
        size_t got;
        if ((e = psup_read(&in, ib, isz, &got)) != 0) {
            log_io(s, ETWHOST_LOG_WARN, "read", src, e);
            goto done;
        }
        ZSTD_EndDirective mode = got == 0 ? ZSTD_e_end : ZSTD_e_continue;
        ZSTD_inBuffer zin = {ib, got, 0};
        int finished = 0;
        do {
            ZSTD_outBuffer zout = {ob, osz, 0};
            size_t r = ZSTD_compressStream2(cctx, &zout, &zin, mode);
            if (ZSTD_isError(r)) {
                etwhost_logf(s->api, s->h, ETWHOST_LOG_WARN, "zstd failed on %s: %s", src,
                             ZSTD_getErrorName(r));
                goto done;
            }
            size_t wr;
            if (zout.pos > 0 && (e = psup_write(&out, ob, zout.pos, &wr)) != 0) {
                log_io(s, ETWHOST_LOG_WARN, "write", tmp, e);
                goto done;
            }
            finished = mode == ZSTD_e_end ? r == 0 : zin.pos == zin.size;
        } while (!finished);
        if (got == 0)
            break;
    }
    if (s->fsync_mode != FSYNC_NEVER && (e = psup_sync(&out)) != 0) {
        log_io(s, ETWHOST_LOG_WARN, "sync", tmp, e);
        goto done;
    }
    psup_close(&out);
    what = "rename";
    if ((e = psup_rename(tmp, dst)) != 0) {
        log_io(s, ETWHOST_LOG_WARN, what, tmp, e);
        goto done;
    }
    psup_close(&in);
    if ((e = psup_unlink(src)) != 0)
        log_io(s, ETWHOST_LOG_WARN, "remove", src, e);
    if (s->fsync_mode != FSYNC_NEVER)
        psup_sync_dir(s->rot.dir);
    rc = 1;
done:
    psup_close(&in);
    psup_close(&out);
    if (rc < 0 && tmp != NULL)
        psup_unlink(tmp);
    ZSTD_freeCCtx(cctx);
    free(ib);
    free(ob);
    free(dst);
    free(tmp);
    return rc;
}

static void worker_main(void *arg)
{
    struct fsink *s = arg;
    prune(s);
    psup_lock(s->w);
    for (;;) {
        while (s->qn == 0 && !s->w_stop)
            psup_wait(s->w, 1000);
        if (s->qn == 0)
            break;
        char *src = s->queue[0];
        memmove(s->queue, s->queue + 1, (s->qn - 1) * sizeof *s->queue);
        s->qn--;
        psup_unlock(s->w);
        int rc = compress_one(s, src);
        prune(s);
        free(src);
        psup_lock(s->w);
        if (rc > 0)
            s->compressed++;
        else if (rc < 0)
            s->compress_errors++;
    }
    psup_unlock(s->w);
}

/* Hand a rotated file to the worker (takes ownership of path). */
static void enqueue(struct fsink *s, char *path)
{
    psup_lock(s->w);
    if (s->qn == s->qcap) {
        size_t nc = s->qcap ? s->qcap * 2 : 8;
        char **nq = realloc(s->queue, nc * sizeof *nq);
        if (nq == NULL) {
            psup_unlock(s->w);
            etwhost_logf(s->api, s->h, ETWHOST_LOG_WARN,
                         "out of memory; %s stays uncompressed", path);
            free(path);
            return;
        }
        s->queue = nq;
        s->qcap = nc;
    }
    s->queue[s->qn++] = path;
    psup_signal(s->w);
    psup_unlock(s->w);
}

static void stop_worker(struct fsink *s)
{
    if (!s->w_started)
        return;
    psup_lock(s->w);
    s->w_stop = 1;
    psup_signal(s->w);
    psup_unlock(s->w);
    psup_worker_join(s->w);
    s->w_started = 0;
}

/* ---- the live file ------------------------------------------------------------------- */

static void note_ok(struct fsink *s)
{
    if (s->failing) {
        uint64_t secs = (psup_monotonic_ns() - s->fail_since) / 1000000000u;
        etwhost_logf(s->api, s->h, ETWHOST_LOG_INFO,
                     "writing to %s again after %llu s of errors", s->path,
                     (unsigned long long)secs);
        s->failing = 0;
    }
}

/*
 * Close the live file, first releasing disk space reserved past its end
 * (preallocate): it is cut to the size it has now.
 */
static void close_live(struct fsink *s)
{
    uint64_t now;
    if (s->reserved > 0 && psup_fsize(&s->f, &now) == 0 && now < s->reserved)
        psup_truncate(&s->f, now);
    s->reserved = 0;
    psup_close(&s->f);
    s->is_open = 0;
}

/* Before appending len bytes: reserve the next preallocate bytes once the end passes the reserve. */
static void reserve_ahead(struct fsink *s, size_t len)
{
    if (s->prealloc == 0 || !s->regular || s->size + len <= s->reserved)
        return;
    uint64_t step = s->prealloc > len ? s->prealloc : len;
    if (psup_reserve(&s->f, s->size, step) == 0)
        s->reserved = s->size + step;
    else
        s->prealloc = 0; /* the file system cannot: write as usual */
}

/*
 * After appending: once a drop_behind window has been written since the last
 * writeback started, start the writeback of it, and drop the window before
 * it from the page cache (waiting for its writeback, started a window ago).
 */
static void drop_behind(struct fsink *s)
{
    if (s->drop == 0 || !s->regular || s->size - s->wb_from < s->drop)
        return;
    if (psup_writeback_start(&s->f, s->wb_from, s->size - s->wb_from) != 0) {
        s->drop = 0; /* the system cannot: write as usual */
        return;
    }
    if (s->wb_from > s->drop_from) {
        psup_drop_cached(&s->f, s->drop_from, s->wb_from - s->drop_from);
        s->drop_from = s->wb_from;
    }
    s->wb_from = s->size;
}

/* A write-side failure: RETRY, or FATAL once fail_after_seconds have passed. */
static etwhost_status io_failed(struct fsink *s, const char *what, int e)
{
    char eb[128];
    uint64_t now = psup_monotonic_ns();
    s->write_errors++;
    if (s->c_err >= 0)
        s->api->counter_add(s->h, s->c_err, 1);
    if (!s->failing || e != s->last_err)
        etwhost_logf(s->api, s->h, ETWHOST_LOG_WARN, "cannot %s %s: %s; will retry", what,
                     s->path, psup_strerror(e, eb, sizeof eb));
    if (!s->failing) {
        s->failing = 1;
        s->fail_since = now;
    }
    s->last_err = e;
    if (s->is_open)
        close_live(s);
    if (s->fail_after_ns > 0 && now - s->fail_since >= s->fail_after_ns) {
        etwhost_logf(s->api, s->h, ETWHOST_LOG_ERROR,
                     "giving up on %s after %llu s of write errors (last: %s)", s->path,
                     (unsigned long long)(s->fail_after_ns / 1000000000u),
                     psup_strerror(e, eb, sizeof eb));
        s->fatal = 1;
        return ETWHOST_ERR_FATAL;
    }
    return ETWHOST_RETRY;
}

/* Open the live file if needed, repairing a missing final newline. */
static int open_live(struct fsink *s, int *err)
{
    if (s->is_open)
        return 0;
    int e = psup_open_append(s->path, &s->f, &s->size, &s->regular);
    if (e != 0) {
        *err = e;
        return -1;
    }
    s->is_open = 1;
    s->opened_ns = psup_monotonic_ns();
    s->wb_from = s->drop_from = s->size;
    if (s->regular && s->size > 0 && s->carry_len == 0) {
        unsigned char last;
        if (psup_last_byte(&s->f, s->size, &last) == 0 && last != '\n') {
            size_t wr;
            if ((e = psup_write(&s->f, "\n", 1, &wr)) != 0) {
                *err = e;
                return -1;
            }
            s->size++;
            s->newline_fixes++;
            etwhost_logf(s->api, s->h, ETWHOST_LOG_WARN,
                         "%s did not end with a newline (an earlier run stopped "
                         "mid-line); appended one so new lines stay intact",
                         s->path);
        }
    }
    return 0;
}

static int write_carry(struct fsink *s, int *err)
{
    if (s->carry_len == 0)
        return 0;
    size_t wr = 0;
    int e = psup_write(&s->f, s->carry, s->carry_len, &wr);
    s->size += wr;
    s->bytes += wr;
    memmove(s->carry, s->carry + wr, s->carry_len - wr);
    s->carry_len -= wr;
    if (e != 0) {
        *err = e;
        return -1;
    }
    return 0;
}

static void rotate(struct fsink *s)
{
    uint64_t now = psup_monotonic_ns();
    if (now < s->rotate_blocked_until)
        return;
    if (s->fsync_mode != FSYNC_NEVER)
        psup_sync(&s->f);
    /*
     * Never rename over an existing file: another instance on the same path
     * (briefly, during a configuration reload) may have used this number.
     */
    char *dst = NULL;
    for (int tries = 0; tries < 1000; tries++) {
        dst = psup_rot_path(&s->rot, s->next_seq);
        if (dst == NULL)
            return;
        char *z = psup_join3(dst, ".zst", "");
        int taken = psup_exists(dst) || (z != NULL && psup_exists(z));
        free(z);
        if (!taken)
            break;
        free(dst);
        dst = NULL;
        s->next_seq++;
    }
    if (dst == NULL)
        return;
    /* Closed first: Windows cannot rename an open file.  On failure we reopen it. */
    close_live(s);
    int e = psup_rename(s->path, dst);
    if (e != 0) {
        log_io(s, ETWHOST_LOG_WARN, "rotate (rename)", s->path, e);
        etwhost_logf(s->api, s->h, ETWHOST_LOG_WARN,
                     "continuing in %s; next rotation attempt in 10 s", s->path);
        s->rotate_blocked_until = now + ROTATE_BACKOFF_NS;
        free(dst);
        return;
    }
    s->next_seq++;
    s->rotations++;
    if (s->c_rot >= 0)
        s->api->counter_add(s->h, s->c_rot, 1);
    if (s->fsync_mode != FSYNC_NEVER)
        psup_sync_dir(s->rot.dir);
    if (s->compress) {
        enqueue(s, dst);
    } else {
        free(dst);
        prune(s);
    }
}

static int age_due(const struct fsink *s)
{
    return s->rotate_ns > 0 && s->is_open && s->size > 0 &&
           psup_monotonic_ns() - s->opened_ns >= s->rotate_ns;
}

static int grow(struct fsink *s, size_t need, uint32_t nlines)
{
    if (need > s->cap) {
        size_t nc = s->cap ? s->cap : 65536;
        while (nc < need)
            nc *= 2;
        char *nb = realloc(s->buf, nc);
        if (nb == NULL)
            return -1;
        s->buf = nb;
        s->cap = nc;
    }
    if (nlines > s->ends_cap) {
        uint32_t nc = s->ends_cap ? s->ends_cap * 2 : 1024;
        while (nc < nlines)
            nc *= 2;
        uint32_t *ne = realloc(s->ends, nc * sizeof *ne);
        if (ne == NULL)
            return -1;
        s->ends = ne;
        s->ends_cap = nc;
    }
    return 0;
}

/*
 * Write buf[0..len) holding nl lines.  On failure cut any partial line
 * (or keep its tail in carry) and report how many lines are accepted.
 */
static int write_chunk(struct fsink *s, size_t len, uint32_t nl, uint32_t *lines_done, int *err)
{
    size_t wr = 0;
    reserve_ahead(s, len);
    int e = psup_write(&s->f, s->buf, len, &wr);
    if (e == 0 && s->fsync_mode == FSYNC_ALWAYS)
        e = psup_sync(&s->f);
    if (e == 0) {
        s->size += len;
        s->bytes += len;
        *lines_done = nl;
        drop_behind(s);
        return 0;
    }
    uint32_t k = 0;
    while (k < nl && s->ends[k] <= wr)
        k++;
    size_t good = k ? s->ends[k - 1] : 0;
    if (wr > good) {
        uint64_t cur;
        size_t extra = wr - good;
        if (s->regular && psup_fsize(&s->f, &cur) == 0 && cur >= extra &&
            psup_truncate(&s->f, cur - extra) == 0) {
            s->size = cur - extra;
        } else {
            /* The torn line is in the file; the rest of it must follow before anything else. */
            size_t tail = s->ends[k] - wr;
            char *nc = realloc(s->carry, tail);
            if (nc != NULL) {
                s->carry = nc;
                memcpy(s->carry, s->buf + wr, tail);
                s->carry_len = tail;
                s->size += wr;
                s->bytes += wr;
                *lines_done = k + 1;
                *err = e;
                return -1;
            }
            s->size += wr;
        }
    }
    s->size += good;
    s->bytes += good;
    *lines_done = k;
    *err = e;
    return -1;
}

static void count_lines(struct fsink *s, uint64_t n, uint64_t bytes_before)
{
    s->lines += n;
    if (s->c_lines >= 0 && n > 0)
        s->api->counter_add(s->h, s->c_lines, (int64_t)n);
    if (s->c_bytes >= 0 && s->bytes > bytes_before)
        s->api->counter_add(s->h, s->c_bytes, (int64_t)(s->bytes - bytes_before));
}

/*
 * Before writing or flushing: open the live file (always when open_file, else only
 * to finish a carried line), write the carried tail, rotate by age.  OK or io_failed's
 * answer.
 */
static etwhost_status catch_up(struct fsink *s, int open_file)
{
    int e = 0;
    if ((open_file || s->carry_len > 0) && open_live(s, &e) != 0)
        return io_failed(s, "open", e);
    if (write_carry(s, &e) != 0)
        return io_failed(s, "write", e);
    if (age_due(s)) {
        rotate(s);
        if (open_live(s, &e) != 0)
            return io_failed(s, "open", e);
    }
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL file_write(void *inst, const etwhost_event *const *events,
                                              uint32_t count, uint32_t *accepted)
{
    struct fsink *s = inst;
    int e = 0;
    *accepted = 0;
    if (s->fatal)
        return ETWHOST_ERR_FATAL;
    uint64_t bytes_before = s->bytes;
    etwhost_status st = catch_up(s, 1);
    if (st != ETWHOST_OK)
        return st;
    uint32_t i = 0;
    while (i < count) {
        size_t len = 0;
        uint32_t nl = 0, j = i;
        int need_rotate = 0;
        uint32_t max_lines = s->fsync_mode == FSYNC_ALWAYS ? 1 : UINT32_MAX;
        while (j < count && nl < max_lines) {
            const char *js;
            size_t jl;
            etwhost_status rc = s->api->event_json(events[j], &js, &jl);
            if (rc != ETWHOST_OK) {
                if (nl > 0)
                    break; /* write the lines before it first */
                /* Cannot render this one: count it and go on rather than stall. */
                s->encode_errors++;
                etwhost_logf(s->api, s->h, ETWHOST_LOG_WARN,
                             "skipped an event that could not be rendered (%s)",
                             etwhost_status_name(rc));
                i = ++j;
                (*accepted)++;
                continue;
            }
            uint64_t line = (uint64_t)jl + 1;
            if (s->rotate_bytes > 0 && s->size + len > 0 &&
                s->size + len + line > s->rotate_bytes) {
                if (len > 0)
                    break; /* write what fits; the next round rotates */
                if (psup_monotonic_ns() >= s->rotate_blocked_until) {
                    need_rotate = 1;
                    break;
                }
                /* Rotation is backing off after a failure: keep appending. */
            }
            if (len > 0 && len + line > CHUNK_BYTES)
                break;
            if (grow(s, len + line, nl + 1) != 0) {
                if (nl > 0)
                    break;
                etwhost_logf(s->api, s->h, ETWHOST_LOG_WARN,
                             "out of memory for a %llu-byte line; will retry",
                             (unsigned long long)line);
                count_lines(s, 0, bytes_before);
                return ETWHOST_RETRY;
            }
            memcpy(s->buf + len, js, jl);
            s->buf[len + jl] = '\n';
            len += line;
            s->ends[nl++] = (uint32_t)len;
            j++;
        }
        if (need_rotate) {
            rotate(s);
            if (open_live(s, &e) != 0) {
                count_lines(s, 0, bytes_before);
                return io_failed(s, "open", e);
            }
            continue;
        }
        if (nl == 0)
            continue;
        uint32_t done = 0;
        int failed = write_chunk(s, len, nl, &done, &e);
        *accepted += done;
        count_lines(s, done, bytes_before);
        bytes_before = s->bytes;
        if (failed)
            return io_failed(s, "write", e);
        i = j;
    }
    if (s->fsync_mode == FSYNC_BATCH && (e = psup_sync(&s->f)) != 0)
        return io_failed(s, "sync", e);
    note_ok(s);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL file_flush(void *inst)
{
    struct fsink *s = inst;
    int e = 0;
    if (s->fatal)
        return ETWHOST_ERR_FATAL;
    etwhost_status st = catch_up(s, 0);
    if (st != ETWHOST_OK)
        return st;
    if (s->is_open && s->fsync_mode >= FSYNC_BATCH && (e = psup_sync(&s->f)) != 0)
        return io_failed(s, "sync", e);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL file_close(void *inst, char *err, size_t err_len)
{
    struct fsink *s = inst;
    int e = 0;
    etwhost_status rc = ETWHOST_OK;
    if (s->carry_len > 0 && !s->fatal && open_live(s, &e) == 0)
        write_carry(s, &e);
    if (s->is_open) {
        if (s->fsync_mode != FSYNC_NEVER && (e = psup_sync(&s->f)) != 0) {
            char eb[128];
            rc = etwhost_errf(err, err_len, ETWHOST_ERR_IO, "cannot sync %s: %s", s->path,
                              psup_strerror(e, eb, sizeof eb));
        }
        close_live(s);
    }
    /* Compress what was rotated so far before the plugin may be unloaded. */
    stop_worker(s);
    if (s->carry_len > 0)
        rc = etwhost_errf(err, err_len, ETWHOST_ERR_IO,
                          "%zu bytes of the last line could not be written to %s", s->carry_len,
                          s->path);
    return rc;
}

static void ETWHOST_CALL file_destroy(void *inst)
{
    struct fsink *s = inst;
    if (s == NULL)
        return;
    stop_worker(s);
    if (s->is_open)
        close_live(s);
    for (size_t k = 0; k < s->qn; k++)
        free(s->queue[k]);
    free(s->queue);
    psup_worker_free(s->w);
    free(s->path);
    psup_rot_free(&s->rot);
    free(s->buf);
    free(s->ends);
    free(s->carry);
    free(s);
}

/* Append s as a JSON string (escaped) to out. */
static size_t json_str(char *out, size_t cap, size_t pos, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[8];
        const char *p = esc;
        if (ch == '"' || ch == '\\')
            snprintf(esc, sizeof esc, "\\%c", ch);
        else if (ch < 0x20)
            snprintf(esc, sizeof esc, "\\u%04x", ch);
        else
            esc[0] = (char)ch, esc[1] = '\0';
        for (; *p; p++, pos++)
            if (pos + 1 < cap)
                out[pos] = *p;
    }
    return pos;
}

static etwhost_status ETWHOST_CALL file_stats(void *inst, char *buf, size_t cap, size_t *needed)
{
    struct fsink *s = inst;
    char tmp[4096];
    size_t pos = 0;
    uint64_t compressed, cerrs, pending;
    psup_lock(s->w);
    compressed = s->compressed;
    cerrs = s->compress_errors;
    pending = s->qn;
    psup_unlock(s->w);
    pos = (size_t)snprintf(tmp, sizeof tmp, "{\"path\":\"");
    pos = json_str(tmp, sizeof tmp, pos, s->path);
    int n = snprintf(tmp + (pos < sizeof tmp ? pos : sizeof tmp - 1),
                     pos < sizeof tmp ? sizeof tmp - pos : 1,
                     "\",\"lines\":%llu,\"bytes\":%llu,\"file_bytes\":%llu,\"rotations\":%llu,"
                     "\"write_errors\":%llu,\"failing\":%s,\"skipped_events\":%llu,"
                     "\"newline_repairs\":%llu,\"compressed\":%llu,\"compress_errors\":%llu,"
                     "\"compress_pending\":%llu}",
                     (unsigned long long)s->lines, (unsigned long long)s->bytes,
                     (unsigned long long)s->size, (unsigned long long)s->rotations,
                     (unsigned long long)s->write_errors, s->failing ? "true" : "false",
                     (unsigned long long)s->encode_errors,
                     (unsigned long long)s->newline_fixes, (unsigned long long)compressed,
                     (unsigned long long)cerrs, (unsigned long long)pending);
    pos += (size_t)n;
    if (needed != NULL)
        *needed = pos + 1;
    if (pos + 1 > cap || pos + 1 > sizeof tmp)
        return ETWHOST_ERR_RANGE;
    memcpy(buf, tmp, pos + 1);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL file_create(etwhost_host *h, const etwhost_host_api *api,
                                               const etwhost_config *cfg, void **out_inst,
                                               char *err, size_t err_len)
{
    static const struct psup_unit size_units[] = {{"", 1},
                                                  {"K", 1024ull},
                                                  {"M", 1024ull * 1024},
                                                  {"G", 1024ull * 1024 * 1024},
                                                  {"KiB", 1024ull},
                                                  {"MiB", 1024ull * 1024},
                                                  {"GiB", 1024ull * 1024 * 1024},
                                                  {NULL, 0}};
    static const char *const compress_values[] = {"none", "zstd", NULL};
    static const char *const fsync_values[] = {"never", "rotate", "batch", "always", NULL};
    etwhost_status rc;
    *out_inst = NULL;

    const char *path;
    size_t plen;
    rc = api->config_get_str(cfg, "path", &path, &plen);
    if (rc == ETWHOST_ERR_NOTFOUND)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                            "path: missing (the file sink needs the file to write, e.g. "
                            "\"/var/log/etwhost/events.jsonl\")");
    if (rc != ETWHOST_OK || plen == 0 || memchr(path, '\0', plen) != NULL)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                            "path: expected a non-empty file path string");
    if (psup_is_sep(path[plen - 1]))
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                            "path: \"%s\" names a directory; give a file name", path);

    struct fsink *s = calloc(1, sizeof *s);
    if (s == NULL)
        return etwhost_errf(err, err_len, ETWHOST_ERR_NOMEM, "out of memory");
    s->h = h;
    s->api = api;
    s->f.h = PSUP_NO_FILE;
    s->keep = 10;
    s->level = 3;
    s->fsync_mode = FSYNC_ROTATE;
    s->c_lines = s->c_bytes = s->c_rot = s->c_err = -1;

    uint64_t rotate_s = 0, keep = 10, fail_s = 0;
    int64_t level = 3;
    if ((rc = psup_get_amount(api, cfg, "rotate_bytes", size_units, "64M", &s->rotate_bytes,
                              err, err_len)) != ETWHOST_OK ||
        (rc = psup_get_amount(api, cfg, "rotate_seconds", psup_time_units, "1h", &rotate_s, err,
                              err_len)) != ETWHOST_OK ||
        (rc = psup_get_amount(api, cfg, "fail_after_seconds", psup_time_units, "10m", &fail_s,
                              err, err_len)) != ETWHOST_OK ||
        (rc = psup_get_amount(api, cfg, "preallocate", size_units, "16M", &s->prealloc, err,
                              err_len)) != ETWHOST_OK ||
        (rc = psup_get_amount(api, cfg, "drop_behind", size_units, "8M", &s->drop, err,
                              err_len)) != ETWHOST_OK ||
        (rc = psup_get_choice(api, cfg, "compress", compress_values, &s->compress, err,
                              err_len)) != ETWHOST_OK ||
        (rc = psup_get_choice(api, cfg, "fsync", fsync_values, &s->fsync_mode, err,
                              err_len)) != ETWHOST_OK)
        goto fail;
    int64_t kv;
    rc = api->config_get_i64(cfg, "keep", &kv);
    if (rc == ETWHOST_OK) {
        if (kv < 0 || kv > 1000000) {
            rc = etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                              "keep: expected 0 (keep all) to 1000000, got %lld", (long long)kv);
            goto fail;
        }
        keep = (uint64_t)kv;
    } else if (rc != ETWHOST_ERR_NOTFOUND) {
        rc = etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                          "keep: expected an integer (rotated files to keep; 0 = all)");
        goto fail;
    }
    rc = api->config_get_i64(cfg, "compress_level", &level);
    if (rc == ETWHOST_OK) {
        if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel() || level == 0) {
            rc = etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                              "compress_level: expected %d..-1 or 1..%d, got %lld",
                              ZSTD_minCLevel(), ZSTD_maxCLevel(), (long long)level);
            goto fail;
        }
    } else if (rc != ETWHOST_ERR_NOTFOUND) {
        rc = etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                          "compress_level: expected an integer zstd level");
        goto fail;
    }
    if (rotate_s > UINT64_MAX / 1000000000u || fail_s > UINT64_MAX / 1000000000u) {
        rc = etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG, "rotate_seconds / fail_after_seconds: "
                                                            "too large");
        goto fail;
    }
    s->keep = (uint32_t)keep;
    s->level = (int)level;
    s->rotate_ns = rotate_s * 1000000000u;
    s->fail_after_ns = fail_s * 1000000000u;

    /* Split path into directory, stem and extension for rotated names. */
    s->path = psup_dupn(path, plen);
    int rot_ok = psup_rot_init(&s->rot, path, plen) == 0;
    s->rot.variants = rot_variants;
    s->rot.temp_variant = VAR_ZST_TMP;
    s->w = psup_worker_new();
    if (s->path == NULL || !rot_ok || s->w == NULL) {
        rc = etwhost_errf(err, err_len, ETWHOST_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (!psup_is_dir(s->rot.dir)) {
        rc = etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                          "path: directory \"%s\" does not exist (create it first)", s->rot.dir);
        goto fail;
    }

    int e;
    if (open_live(s, &e) != 0) {
        char eb[128];
        rc = etwhost_errf(err, err_len, ETWHOST_ERR_IO, "path: cannot open \"%s\": %s", s->path,
                          psup_strerror(e, eb, sizeof eb));
        goto fail;
    }

    /* Continue the rotation sequence; finish what an earlier run left uncompressed. */
    struct psup_rot_list sc;
    psup_rot_scan(&s->rot, &sc);
    s->next_seq = sc.max_seq + 1;
    for (size_t k = 0; k < sc.n; k++) {
        char *p = psup_join3(s->rot.dir, "/", sc.v[k].name);
        if (p == NULL)
            continue;
        if (sc.v[k].variant == VAR_ZST_TMP) {
            psup_unlink(p);
            free(p);
        } else if (sc.v[k].variant == VAR_PLAIN && s->compress) {
            enqueue(s, p);
        } else {
            free(p);
        }
    }
    psup_rot_list_free(&sc);
    if (s->compress) {
        if ((e = psup_worker_start(s->w, worker_main, s)) != 0) {
            char eb[128];
            rc = etwhost_errf(err, err_len, ETWHOST_ERR, "cannot start the compression thread: %s",
                              psup_strerror(e, eb, sizeof eb));
            goto fail;
        }
        s->w_started = 1;
    } else {
        prune(s);
    }

    s->c_lines = api->counter_register(h, "lines");
    s->c_bytes = api->counter_register(h, "bytes");
    s->c_rot = api->counter_register(h, "rotations");
    s->c_err = api->counter_register(h, "write_errors");
    *out_inst = s;
    return ETWHOST_OK;
fail:
    file_destroy(s);
    return rc;
}

static const etwhost_plugin file_plugin = {
    sizeof(etwhost_plugin),
    ETWHOST_ABI_MAJOR,
    ETWHOST_ABI_MINOR,
    ETWHOST_KIND_SINK,
    0,
    "file",
    "1.0.0",
    "Append events as JSON lines to a file, with rotation, retention and zstd",
    0,
    0,
    file_keys,
    file_create,
    file_destroy,
    NULL,
    file_write,
    file_flush,
    file_close,
    file_stats,
};

ETWHOST_PLUGIN_DEFINE(file_plugin)
