/*
 * source_archive: event archives (.etwa) as a source, so archived events
 * replay through filters and sinks exactly as they were first decoded
 * (each record carries the schema it was decoded with; see
 * host/archive/archive_reader.h).
 *
 * Settings: "path" (string or array of strings; each may be a glob
 * pattern; relative paths are relative to the config folder), "speed"
 * (0 = as fast as possible, the default; 1.0 = the original pace by event
 * timestamps; 10 = ten times faster), "since" / "until" (RFC 3339 UTC or
 * FILETIME; only blocks overlapping the range are read), "provider" (name
 * or GUID; only blocks holding it are read).
 *
 * Files are read one after the other in the order given (globs sorted).
 * A file that cannot be opened is reported and counted as a failure, and
 * the next file is read; damaged blocks are skipped with a warning and
 * counted (archive_stats).  Records point at the reader's schemas and
 * names, so readers are kept open until the source is destroyed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../archive/archive_reader.h"
#include "../config/config.h"
#include "../core/log.h"
#include "../core/mem.h"
#include "../platform/platform.h"
#include "source.h"

struct arc_src {
    char **paths;
    size_t npaths, cur;
    struct archive_options opt;
    char *provider;
    double speed;
    struct archive_reader **rds; /* one per path, kept until close */
    int failed;
    /* Pacing. */
    int paced;
    int64_t t0;
    uint64_t w0;
    struct record held; /* a record read but not yet due */
    int has_held;
    uint64_t blocks_done;
};

static const char *const arc_keys[] = {"path", "speed", "since", "until", "provider", NULL};


static int get_time(const struct cfg *cfg, const json_t *obj, const char *key, int *has,
                    int64_t *out, struct errbuf *eb)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        *has = 1;
        return 0;
    }
    if (!json_is_string(v) || archive_parse_time(json_string_value(v), out))
        return cfg_err(cfg, obj, key, eb, ERR_CONFIG,
                       "\"%s\" must be an RFC 3339 time like 2026-01-01T00:00:00Z or a FILETIME "
                       "integer",
                       key);
    *has = 1;
    return 0;
}

static int arc_open(struct source *src, const struct cfg *cfg, const json_t *obj,
                    struct errbuf *eb)
{
    struct arc_src *a = mem_calloc(1, sizeof *a);
    if (a == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    src->priv = a;
    int rc = source_get_paths(cfg, obj, src->name, "an archive (.etwa)", &a->paths, &a->npaths, eb);
    if (rc)
        return rc;
    rc = cfg_get_f64(cfg, obj, "speed", 0.0, 0.0, 1e9, &a->speed, eb);
    if (rc)
        return rc;
    if ((rc = get_time(cfg, obj, "since", &a->opt.has_since, &a->opt.since, eb)) ||
        (rc = get_time(cfg, obj, "until", &a->opt.has_until, &a->opt.until, eb)))
        return rc;
    const char *prov = NULL;
    rc = cfg_get_str(cfg, obj, "provider", NULL, &prov, eb);
    if (rc)
        return rc;
    if (prov && (a->provider = mem_strdup(prov)) == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    a->opt.provider = a->provider;
    a->rds = mem_calloc(a->npaths ? a->npaths : 1, sizeof *a->rds);
    if (a->rds == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    return 0;
}

static void finish_file(struct arc_src *a)
{
    struct archive_stats st;
    archive_get_stats(a->rds[a->cur], &st);
    if (st.bad_blocks || st.bad_frames || st.damaged_bytes)
        log_warn("%s: %" PRIu64 " damaged blocks and %" PRIu64 " damaged frames skipped (%" PRIu64
                 " bytes); everything else was read",
                 a->paths[a->cur], st.bad_blocks, st.bad_frames, st.damaged_bytes);
    a->blocks_done += st.blocks;
    a->cur++;
}

/* 0 if rec is due now, else the nanoseconds to wait. */
static uint64_t wait_for(struct arc_src *a, const struct record *rec)
{
    if (a->speed <= 0.0)
        return 0;
    uint64_t now = plat_monotonic_ns();
    if (!a->paced) {
        a->paced = 1;
        a->t0 = rec->timestamp;
        a->w0 = now;
        return 0;
    }
    double dt = (double)(rec->timestamp - a->t0) * 100.0 / a->speed;
    if (dt <= 0)
        return 0;
    uint64_t due = a->w0 + (uint64_t)dt;
    return due > now ? due - now : 0;
}

static int arc_read(struct source *src, struct record_batch *b, struct errbuf *eb)
{
    struct arc_src *a = src->priv;
    int added = 0;
    while (!batch_full(b) && !atomic_load(&src->stop)) {
        struct record rec;
        if (a->has_held) {
            rec = a->held;
            a->has_held = 0;
        } else {
            if (a->cur >= a->npaths)
                break;
            if (a->rds[a->cur] == NULL) {
                struct errbuf oe;
                int rc = archive_open(a->paths[a->cur], &a->opt, &a->rds[a->cur], &oe);
                if (rc) {
                    log_error("%s", rc == ERR_NOMEM ? "out of memory" : oe.msg);
                    a->failed = 1;
                    a->cur++;
                    continue;
                }
            }
            int rc = archive_next(a->rds[a->cur], &rec, eb);
            if (rc < 0)
                return rc;
            if (rc == 0) {
                finish_file(a);
                continue;
            }
        }
        uint64_t wait = wait_for(a, &rec);
        if (wait) {
            /* The record's bytes stay valid: the reader does not move until the next call. */
            a->held = rec;
            a->has_held = 1;
            if (added)
                break;
            plat_sleep_ms(wait > 50000000ull ? 50 : (uint32_t)(wait / 1000000ull) + 1);
            continue;
        }
        int rc = batch_push_copy(b, &rec);
        if (rc)
            return errbuf_set(eb, rc, "%s: out of memory", a->paths[a->cur]);
        added++;
    }
    if (added == 0 && a->failed && a->cur >= a->npaths && !a->has_held)
        return errbuf_set(eb, ERR_IO, "some archives could not be read (see above)");
    return added;
}

static void arc_close(struct source *src)
{
    struct arc_src *a = src->priv;
    if (a == NULL)
        return;
    for (size_t i = 0; a->rds && i < a->npaths; i++)
        archive_close(a->rds[i]);
    mem_free(a->rds);
    mem_free(a->provider);
    plat_free_list(a->paths, a->npaths);
    mem_free(a);
    src->priv = NULL;
}

static void arc_progress(struct source *src, char *out, size_t cap)
{
    struct arc_src *a = src->priv;
    size_t cur = a->cur < a->npaths ? a->cur : a->npaths ? a->npaths - 1 : 0;
    const char *name = a->npaths ? a->paths[cur] : "";
    const char *slash = strrchr(name, '/');
    snprintf(out, cap, "archive %zu/%zu %s", cur + 1, a->npaths, slash ? slash + 1 : name);
}

const struct source_ops source_archive_ops = {
    "archive", arc_keys, arc_open, arc_read, arc_close, arc_progress,
};
