/*
 * source_live: a live ETW session as a source (Windows).
 *
 * Settings (docs/live.md): "session" (object: name, kind, file, buffers,
 * clock, existing-session policy, kernel flags, restart...), "providers"
 * (array of provider strings or objects), "tdh" (use TDH for schemas of
 * events without in-band metadata, default true), "queue_batches" (batches
 * buffered between the ETW callback and the pipeline, default 64).
 *
 * open() validates everything without touching a session (configuration,
 * provider names, filter limits), so `etwhost check` has no side effect.
 * The first read() starts (or joins) the session and its consumer thread;
 * missing rights or a provider ETW refuses fail there with one line.
 * read() then hands over the batches the consumer filled, waiting for
 * events until the run stops; on stop it stops the session (ETW flushes its
 * buffers to the consumer) and keeps delivering until the consumer finished
 * or the session's stop timeout passed.  Without Windows, open() fails with
 * "live ETW sessions need Windows".
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../config/config.h"
#include "../core/log.h"
#include "../core/mem.h"
#include "../live/live_consumer.h"
#include "../platform/platform.h"
#include "source.h"

struct live_src {
    const struct etw_api *api;
    struct live_queue *q;
    struct live_tdh *tdh;
    /* Set by the source thread's first read(), read by the control thread (stats). */
    _Atomic(struct live_trace *) trace;
    struct live_session_cfg cfg; /* until the first read() hands it to the trace */
    int started;
    int stopping;
    uint64_t deadline_ns;
    uint32_t stop_timeout_ms;
    char name[ETW_NAME_MAX];
};

static const char *const live_keys[] = {"session", "providers", "tdh", "queue_batches", NULL};

static void live_stats(struct source *src, char *out, size_t cap);

static int live_open(struct source *src, const struct cfg *cfg, const json_t *obj,
                     struct errbuf *eb)
{
    const struct etw_api *api = etw_api_get();
    if (api == NULL)
        return errbuf_set(eb, ERR_UNSUPPORTED, "source \"%s\": live ETW sessions need Windows",
                          src->name);
    struct live_src *e = mem_calloc(1, sizeof *e);
    if (e == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    src->priv = e;
    e->api = api;
    int tdh;
    uint32_t qb;
    int rc = cfg_get_bool(cfg, obj, "tdh", 1, &tdh, eb);
    if (rc == 0)
        rc = cfg_get_u32(cfg, obj, "queue_batches", 64, 2, 65536, &qb, eb);
    if (rc)
        return rc;
    uint32_t ncpu = api->cpu_count ? api->cpu_count(api->ctx) : 1;
    struct live_session_cfg sc;
    rc = live_session_cfg_from_json(cfg, obj, ncpu, &sc, eb);
    if (rc)
        return rc;
    rc = live_providers_resolve(sc.providers, sc.nproviders, api, eb);
    if (rc) {
        live_session_cfg_free(&sc);
        return rc;
    }
    snprintf(e->name, sizeof e->name, "%s", sc.name);
    e->stop_timeout_ms = sc.stop_timeout_ms;
    uint32_t batch = cfg && cfg->batch_size ? cfg->batch_size : CFG_DEFAULT_BATCH_SIZE;
    e->q = live_queue_new(batch, qb);
    if (e->q == NULL || (tdh && (e->tdh = live_tdh_new()) == NULL)) {
        live_session_cfg_free(&sc);
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < sc.nproviders; i++) {
        char d[512];
        live_provider_describe(&sc.providers[i], d, sizeof d);
        log_debug("source \"%s\": session \"%s\": provider %s", src->name, sc.name, d);
        struct live_filters f;
        rc = live_filters_build(&sc.providers[i], &f, eb);
        live_filters_free(&f);
        if (rc) {
            live_session_cfg_free(&sc);
            return rc;
        }
    }
    e->cfg = sc;
    src->stats = live_stats;
    return 0;
}

static int live_read(struct source *src, struct record_batch *b, struct errbuf *eb)
{
    struct live_src *e = src->priv;
    if (!e->started) {
        e->started = 1;
        if (atomic_load(&src->stop))
            return 0;
        struct live_trace *t;
        int rc = live_trace_start(e->api, &e->cfg, e->q, e->tdh, &t, eb);
        if (rc)
            return rc;
        atomic_store(&e->trace, t);
        log_info("source \"%s\": consuming session \"%s\"", src->name, e->name);
    }
    struct live_trace *t = atomic_load(&e->trace);
    if (t == NULL)
        return 0;
    for (;;) {
        if (atomic_load(&src->stop) && !e->stopping) {
            e->stopping = 1;
            e->deadline_ns = plat_monotonic_ns() + (uint64_t)e->stop_timeout_ms * 1000000ull;
            live_trace_request_stop(t);
        }
        /* Finished first, then take: records queued before the end are not missed. */
        int finished = live_trace_finished(t);
        uint32_t n = live_queue_take(e->q, b, 50);
        if (n > 0)
            return (int)n;
        if (finished && live_queue_empty(e->q))
            return 0;
        if (e->stopping && plat_monotonic_ns() > e->deadline_ns) {
            log_warn("source \"%s\": session \"%s\" did not finish within %u ms of the stop",
                     src->name, e->name, e->stop_timeout_ms);
            return 0;
        }
    }
}

static void live_close(struct source *src)
{
    struct live_src *e = src->priv;
    if (e == NULL)
        return;
    struct live_trace *t = atomic_load(&e->trace);
    if (t) {
        live_trace_shutdown(t, e->stopping ? 1000 : e->stop_timeout_ms);
        atomic_store(&e->trace, NULL);
    }
    if (e->q) {
        struct live_queue_stats qs;
        live_queue_close(e->q);
        live_queue_get_stats(e->q, &qs);
        if (qs.dropped || qs.nomem)
            log_warn("source \"%s\": %" PRIu64 " events dropped at shutdown, %" PRIu64
                     " for lack of memory",
                     src->name, qs.dropped, qs.nomem);
    }
    live_queue_unref(e->q);
    live_tdh_unref(e->tdh);
    live_session_cfg_free(&e->cfg);
    mem_free(e);
    src->priv = NULL;
    src->stats = NULL;
}

static void live_stats(struct source *src, char *out, size_t cap)
{
    struct live_src *e = src->priv;
    struct live_trace *t = e ? atomic_load(&e->trace) : NULL;
    if (t == NULL) {
        out[0] = '\0';
        return;
    }
    struct live_trace_stats st;
    live_trace_get_stats(t, 1, &st);
    struct live_queue_stats qs;
    live_queue_get_stats(e->q, &qs);
    struct live_tdh_stats ts;
    memset(&ts, 0, sizeof ts);
    if (e->tdh)
        live_tdh_get_stats(e->tdh, &ts);
    const struct etw_session_props *p = &st.session;
    char sess[256];
    if (st.query_rc == ETW_OK)
        snprintf(sess, sizeof sess,
                 "EventsLost %u, LogBuffersLost %u, RealTimeBuffersLost %u, buffers %u (%u free)",
                 p->q_events_lost, p->q_log_buffers_lost, p->q_real_time_buffers_lost,
                 p->q_number_of_buffers, p->q_free_buffers);
    else
        snprintf(sess, sizeof sess, "ControlTrace QUERY failed (error %u)", st.query_rc);
    snprintf(out, cap,
             "session \"%s\": events %" PRIu64 ", %s, RT_LostEvent %" PRIu64
             ", RT_LostBuffer %" PRIu64 ", RT_LostFile %" PRIu64 ", restarts %" PRIu64
             ", queue waits %" PRIu64 ", dropped %" PRIu64 ", TDH schemas %" PRIu64
             " (unknown %" PRIu64 ", maps %" PRIu64 ")",
             e->name, st.events, sess, st.rt_lost_events, st.rt_lost_buffers, st.rt_lost_files,
             st.restarts, qs.waits, qs.dropped + qs.nomem, ts.schemas, ts.failed, ts.maps);
}

static void live_progress(struct source *src, char *out, size_t cap)
{
    struct live_src *e = src->priv;
    struct live_trace_stats st;
    memset(&st, 0, sizeof st);
    struct live_trace *t = atomic_load(&e->trace);
    if (t)
        live_trace_get_stats(t, 0, &st);
    snprintf(out, cap, "session %s, %" PRIu64 " events", e->name, st.events);
}

const struct source_ops source_live_ops = {
    "live", live_keys, live_open, live_read, live_close, live_progress,
};
