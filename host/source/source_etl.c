/*
 * source_etl: .etl files as a source (one file, a list, or glob patterns),
 * read with the portable reader in timestamp order (or file order), so
 * recorded events flow through filters and sinks like live ones.
 *
 * Settings: "path" (string or array of strings; each may be a glob
 * pattern; relative paths are relative to the config folder), "order" ("time" default, or "file"), "max_buffer_mb" (cap of
 * one decompressed buffer, default 64).
 *
 * Files are read one after the other.  A file that cannot be opened is
 * reported (one line naming it) and counted as a failure, and the next file
 * is read.  Records point at a per-file copy of the trace header info owned
 * by the source, which lives until the source is destroyed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../config/config.h"
#include "../core/log.h"
#include "../core/mem.h"
#include "../etl/etl_reader.h"
#include "../platform/platform.h"
#include "source.h"

struct etl_file_info {
    struct trace_info info; /* strings below are owned */
    char *path, *logger;
};

struct etl_src {
    char **paths;
    size_t npaths, cur;
    struct etl_options opt;
    struct etl_reader *rd;
    struct etl_file_info *infos; /* one per path */
    uint64_t cur_size;
    atomic_ullong cur_bytes; /* for progress, written by the reader thread */
    int failed;
};

static const char *const etl_keys[] = {"path", "order", "max_buffer_mb", NULL};


static int etl_src_open(struct source *src, const struct cfg *cfg, const json_t *obj,
                        struct errbuf *eb)
{
    struct etl_src *e = mem_calloc(1, sizeof *e);
    if (e == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    src->priv = e;
    int rc = source_get_paths(cfg, obj, src->name, "an .etl file", &e->paths, &e->npaths, eb);
    if (rc)
        return rc;
    const char *order;
    rc = cfg_get_str(cfg, obj, "order", "time", &order, eb);
    if (rc)
        return rc;
    if (strcmp(order, "file") == 0)
        e->opt.file_order = 1;
    else if (strcmp(order, "time") != 0)
        return cfg_err(cfg, obj, "order", eb, ERR_CONFIG,
                       "\"order\" must be \"time\" or \"file\", not \"%s\"", order);
    uint32_t mb;
    rc = cfg_get_u32(cfg, obj, "max_buffer_mb", 64, 1, 4096, &mb, eb);
    if (rc)
        return rc;
    e->opt.max_buffer_bytes = (uint64_t)mb << 20;
    e->infos = mem_calloc(e->npaths, sizeof *e->infos);
    if (e->infos == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    return 0;
}

/* Keep a copy of the trace info so records stay valid after the reader closes. */
static int keep_info(struct etl_src *e, size_t i)
{
    struct etl_file_info *fi = &e->infos[i];
    fi->info = *etl_info(e->rd);
    fi->path = mem_strdup(e->paths[i]);
    fi->logger = mem_strdup(fi->info.logger_name ? fi->info.logger_name : "");
    if (fi->path == NULL || fi->logger == NULL)
        return ERR_NOMEM;
    fi->info.path = fi->path;
    fi->info.logger_name = fi->logger;
    return 0;
}

static void finish_file(struct source *src, struct etl_src *e)
{
    struct etl_stats st;
    etl_get_stats(e->rd, &st);
    if (st.bad_buffers || st.bad_records)
        log_warn("%s: %" PRIu64 " damaged buffers and %" PRIu64 " damaged records skipped (%" PRIu64
                 " bytes); everything else was read",
                 e->paths[e->cur], st.bad_buffers, st.bad_records, st.skipped_bytes);
    atomic_fetch_add(&src->header_events_lost, e->infos[e->cur].info.events_lost);
    etl_close(e->rd);
    e->rd = NULL;
    e->cur++;
}

static int etl_src_read(struct source *src, struct record_batch *b, struct errbuf *eb)
{
    struct etl_src *e = src->priv;
    int added = 0;
    while (!batch_full(b) && !atomic_load(&src->stop)) {
        if (e->rd == NULL) {
            if (e->cur >= e->npaths)
                break;
            struct errbuf oe;
            int rc = etl_open(e->paths[e->cur], &e->opt, &e->rd, &oe);
            if (rc == 0)
                rc = keep_info(e, e->cur);
            if (rc) {
                log_error("%s", rc == ERR_NOMEM ? "out of memory" : oe.msg);
                etl_close(e->rd);
                e->rd = NULL;
                e->failed = 1;
                e->cur++;
                continue;
            }
            plat_file_info(e->paths[e->cur], &e->cur_size, NULL);
        }
        struct record rec;
        int rc = etl_next(e->rd, &rec, eb);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            finish_file(src, e);
            continue;
        }
        rec.trace = &e->infos[e->cur].info;
        rc = batch_push_copy(b, &rec);
        if (rc)
            return errbuf_set(eb, rc, "%s: out of memory", e->paths[e->cur]);
        added++;
        if ((added & 1023) == 0) {
            struct etl_stats st;
            etl_get_stats(e->rd, &st);
            atomic_store(&e->cur_bytes, st.bytes);
        }
    }
    if (added == 0 && e->failed && e->cur >= e->npaths)
        return errbuf_set(eb, ERR_IO, "some input files could not be read (see above)");
    return added;
}

static void etl_src_close(struct source *src)
{
    struct etl_src *e = src->priv;
    if (e == NULL)
        return;
    etl_close(e->rd);
    for (size_t i = 0; e->infos && i < e->npaths; i++) {
        mem_free(e->infos[i].path);
        mem_free(e->infos[i].logger);
    }
    mem_free(e->infos);
    plat_free_list(e->paths, e->npaths);
    mem_free(e);
    src->priv = NULL;
}

static void etl_src_progress(struct source *src, char *out, size_t cap)
{
    struct etl_src *e = src->priv;
    size_t cur = e->cur < e->npaths ? e->cur : e->npaths - 1;
    const char *name = e->paths[cur];
    const char *slash = strrchr(name, '/');
    uint64_t done = atomic_load(&e->cur_bytes);
    snprintf(out, cap, "file %zu/%zu %s %.0f%%", cur + 1, e->npaths, slash ? slash + 1 : name,
             e->cur_size ? 100.0 * (double)done / (double)e->cur_size : 0.0);
}

const struct source_ops source_etl_ops = {
    "etl", etl_keys, etl_src_open, etl_src_read, etl_src_close, etl_src_progress,
};
