/*
 * runtime: sources -> bounded queue -> pipeline thread -> chain (see chain.h).
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "../config/config.h"
#include "../core/log.h"
#include "../core/mem.h"
#include "../decode/decode.h"
#include "../event/event.h"
#include "../platform/platform.h"
#include "../schema/schema_sources.h"
#include "chain.h"

/* ---- Batch queue (bounded, multi-producer, single consumer) ---- */

struct queue {
    struct plat_mutex mu;
    struct plat_cond not_empty, not_full;
    struct record_batch **full; /* ring of filled batches */
    struct record_batch **free; /* stack of empty batches */
    uint32_t cap, head, count, nfree;
    uint32_t sources_running;
};

struct run;

struct source_thread {
    struct run *run;
    struct source *src;
    struct plat_thread th;
    int started;
    int failed;
    struct errbuf eb;
};

struct run {
    const struct cfg *cfg;
    const struct run_options *opt;
    struct queue q;
    struct source_thread *st;
    size_t nsources;
    struct chain *chain;
    struct schema_cache *cache;
    struct decoder dec;
    int dec_ready;
    uint64_t ingest_errors;
    /* Reload hand-over between the control and pipeline threads. */
    struct plat_mutex swap_mu;
    struct chain *pending;  /* new chain waiting to be installed */
    struct chain *retired;  /* old chain waiting to be destroyed */
    atomic_int hard_stop;   /* second stop signal: give up retries */
    atomic_int stopping;
    atomic_int pipeline_done;
    /* The pipeline's end wakes the control loop at once (it otherwise wakes every 20 ms). */
    struct plat_mutex done_mu;
    struct plat_cond done_cv;
    atomic_int fatal;       /* a sink failed and on_sink_error is stop */
    uint32_t retry_initial_ms, retry_max_ms;
    int continue_on_sink_error;
    /* Totals (pipeline thread writes, control thread reads). */
    atomic_ullong records, events, decoded, partial, undecoded, not_decoded, filtered, delivered,
        lost;
    struct arena ev_arena;
    struct event *evs;
    const struct event **out;
    uint32_t ev_cap;
    struct {
        void *p;
        size_t n;
    } *pools; /* mem_alloc_big blocks of the event slots and batches */
    size_t npools, pools_cap;
};

/* The batches' record slots and first arena chunks come from one block (batch_pool_new). */
static int queue_init(struct queue *q, uint32_t depth, uint32_t batch_size)
{
    memset(q, 0, sizeof *q);
    plat_mutex_init(&q->mu);
    plat_cond_init(&q->not_empty);
    plat_cond_init(&q->not_full);
    q->cap = depth;
    q->full = mem_calloc(depth, sizeof *q->full);
    q->free = mem_calloc(depth, sizeof *q->free);
    if (q->full == NULL || q->free == NULL)
        return ERR_NOMEM;
    struct batch_pool *pool = batch_pool_new(batch_size, depth);
    if (pool == NULL)
        return ERR_NOMEM;
    for (uint32_t i = 0; i < depth; i++) {
        struct record_batch *b = mem_alloc(sizeof *b);
        if (b == NULL) {
            batch_pool_release(pool, depth - i);
            return ERR_NOMEM;
        }
        batch_init_pooled(b, pool, i);
        q->free[q->nfree++] = b;
    }
    return 0;
}

static void queue_free(struct queue *q)
{
    for (uint32_t i = 0; i < q->nfree; i++) {
        batch_free(q->free[i]);
        mem_free(q->free[i]);
    }
    for (uint32_t i = 0; i < q->count; i++) {
        struct record_batch *b = q->full[(q->head + i) % q->cap];
        batch_free(b);
        mem_free(b);
    }
    mem_free(q->full);
    mem_free(q->free);
    plat_cond_destroy(&q->not_empty);
    plat_cond_destroy(&q->not_full);
    plat_mutex_destroy(&q->mu);
}

/* Take an empty batch; NULL if the source should stop. */
static struct record_batch *queue_get_free(struct run *r, struct source *src)
{
    struct queue *q = &r->q;
    plat_mutex_lock(&q->mu);
    while (q->nfree == 0 && !atomic_load(&src->stop))
        plat_cond_timedwait(&q->not_full, &q->mu, 100);
    struct record_batch *b = q->nfree ? q->free[--q->nfree] : NULL;
    plat_mutex_unlock(&q->mu);
    if (b)
        batch_reset(b);
    return b;
}

/*
 * Sources blocked on a full queue are woken once half the batches are free
 * again, not for every batch: a fast source then fills several batches per
 * wake-up instead of trading one context switch per batch with the pipeline.
 */
static void queue_put_free(struct queue *q, struct record_batch *b)
{
    plat_mutex_lock(&q->mu);
    q->free[q->nfree++] = b;
    if (q->nfree >= (q->cap + 1) / 2)
        plat_cond_broadcast(&q->not_full);
    plat_mutex_unlock(&q->mu);
}

static void queue_push(struct queue *q, struct record_batch *b)
{
    plat_mutex_lock(&q->mu);
    q->full[(q->head + q->count) % q->cap] = b;
    q->count++;
    plat_cond_signal(&q->not_empty);
    plat_mutex_unlock(&q->mu);
}

/* Next filled batch, or NULL when every source has ended and the queue is empty. */
static struct record_batch *queue_pop(struct queue *q)
{
    plat_mutex_lock(&q->mu);
    while (q->count == 0 && q->sources_running > 0)
        plat_cond_timedwait(&q->not_empty, &q->mu, 100);
    struct record_batch *b = NULL;
    if (q->count) {
        b = q->full[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
    }
    plat_mutex_unlock(&q->mu);
    return b;
}

static void queue_source_done(struct queue *q)
{
    plat_mutex_lock(&q->mu);
    q->sources_running--;
    plat_cond_broadcast(&q->not_empty);
    plat_mutex_unlock(&q->mu);
}

/* ---- Source threads ---- */

static void source_main(void *arg)
{
    struct source_thread *t = arg;
    struct source *src = t->src;
    for (;;) {
        struct record_batch *b = queue_get_free(t->run, src);
        if (b == NULL)
            break;
        b->source_index = src->index;
        int n = src->ops->read(src, b, &t->eb);
        if (n < 0) {
            t->failed = 1;
            log_error("source \"%s\": %s", src->name, t->eb.msg);
        }
        if (b->n > 0) {
            atomic_fetch_add(&src->produced, b->n);
            queue_push(&t->run->q, b);
        } else {
            queue_put_free(&t->run->q, b);
        }
        if (n <= 0)
            break;
    }
    queue_source_done(&t->run->q);
}

/* ---- Pipeline ---- */

/* Sleep up to ms, waking early on a hard stop. */
static void backoff_sleep(struct run *r, uint32_t ms)
{
    while (ms > 0 && !atomic_load(&r->hard_stop)) {
        uint32_t step = ms > 50 ? 50 : ms;
        plat_sleep_ms(step);
        ms -= step;
    }
}

/* Hand events[0..n) to one sink, retrying with back-off on RETRY. */
static void deliver(struct run *r, struct plugin_instance *s, const struct event **evs,
                    uint32_t n)
{
    uint32_t off = 0, delay = r->retry_initial_ms;
    int warned = 0;
    if (s->disabled) {
        atomic_fetch_add(&s->dropped, n);
        atomic_fetch_add(&r->lost, n);
        return;
    }
    atomic_fetch_add(&s->in, n);
    while (off < n) {
        uint32_t acc = 0;
        etwhost_status st =
            plugin_instance_write(s, (const void *const *)(evs + off), n - off, &acc);
        atomic_fetch_add(&s->out, acc);
        off += acc;
        if (st == ETWHOST_OK || off >= n)
            break;
        if (st == ETWHOST_RETRY) {
            atomic_fetch_add(&s->retries, 1);
            if (atomic_load(&r->hard_stop)) {
                uint32_t left = n - off;
                atomic_fetch_add(&s->dropped, left);
                atomic_fetch_add(&r->lost, left);
                log_error("sink \"%s\": stopping with %u events it did not accept (counted as "
                          "lost)",
                          s->name, left);
                return;
            }
            if (!warned && delay >= r->retry_max_ms) {
                log_warn("sink \"%s\" keeps asking to retry; holding the sources back", s->name);
                warned = 1;
            }
            backoff_sleep(r, delay);
            delay = delay * 2 > r->retry_max_ms ? r->retry_max_ms : delay * 2;
            continue;
        }
        /* An error: the rest of this batch is lost for this sink. */
        uint32_t left = n - off;
        atomic_fetch_add(&s->errors, left);
        atomic_fetch_add(&r->lost, left);
        if (st == ETWHOST_ERR_FATAL) {
            s->disabled = 1;
            log_error("sink \"%s\" failed for good (%s); %u events not written%s", s->name,
                      etwhost_status_name(st), left,
                      r->continue_on_sink_error ? "; continuing without it" : "; stopping");
            if (!r->continue_on_sink_error)
                atomic_store(&r->fatal, 1);
        } else {
            log_error("sink \"%s\": write failed (%s); %u events not written", s->name,
                      etwhost_status_name(st), left);
            if (!r->continue_on_sink_error)
                atomic_store(&r->fatal, 1);
        }
        return;
    }
}

/*
 * Per-batch filter counters: plain integers on the pipeline thread, added to
 * the instances' atomic counters once per batch (an atomic add per event and
 * filter would cost more than a simple filter itself).
 */
struct fcount {
    uint64_t in, dropped, errors;
};

/* Run the filters of one stage; 1 = keep, 0 = dropped. */
static int run_filters(struct plugin_instance **fs, size_t n, struct fcount *fc,
                       const struct event *ev)
{
    for (size_t i = 0; i < n; i++) {
        fc[i].in++;
        etwhost_status st = plugin_instance_process(fs[i], ev);
        if (st == ETWHOST_DROP) {
            fc[i].dropped++;
            return 0;
        }
        if (st < 0)
            fc[i].errors++;
    }
    return 1;
}

static void add_fcounts(struct plugin_instance **fs, size_t n, const struct fcount *fc)
{
    for (size_t i = 0; i < n; i++) {
        if (fc[i].in == 0)
            continue;
        atomic_fetch_add_explicit(&fs[i]->in, fc[i].in, memory_order_relaxed);
        atomic_fetch_add_explicit(&fs[i]->out, fc[i].in - fc[i].dropped, memory_order_relaxed);
        atomic_fetch_add_explicit(&fs[i]->dropped, fc[i].dropped, memory_order_relaxed);
        if (fc[i].errors)
            atomic_fetch_add_explicit(&fs[i]->errors, fc[i].errors, memory_order_relaxed);
    }
}

/* Bytes of one event slot's pooled buffers: properties, then the JSON line. */
#define SLOT_PROPS_BYTES ((size_t)EVENT_PROPS_KEEP * sizeof(etwhost_prop))
#define SLOT_BYTES (SLOT_PROPS_BYTES + EVENT_JSON_KEEP)

static int add_pool(struct run *r, void *p, size_t n)
{
    size_t cap = r->pools_cap;
    if (mem_grow(&r->pools, &cap, r->npools + 1, sizeof *r->pools))
        return ERR_NOMEM;
    r->pools_cap = cap;
    r->pools[r->npools].p = p;
    r->pools[r->npools].n = n;
    r->npools++;
    return 0;
}

static int ensure_events(struct run *r, uint32_t n)
{
    if (n <= r->ev_cap)
        return 0;
    struct event *ne = mem_realloc(r->evs, n * sizeof *ne);
    if (ne == NULL)
        return ERR_NOMEM;
    r->evs = ne;
    /*
     * Every slot gets the buffers it keeps across resets now, from one block
     * for all of them, so memory is flat from the first batch on instead of
     * creeping up as slots meet bigger events (peak RSS must not depend on
     * the input's length), and one block costs a few page faults (huge
     * pages) where a buffer per slot cost several each.  The block comes
     * zeroed and is not touched here: a short run faults in only the slots
     * it uses.
     */
    size_t bytes = (size_t)(n - r->ev_cap) * SLOT_BYTES;
    uint8_t *pool = mem_alloc_big(bytes);
    if (pool == NULL || add_pool(r, pool, bytes)) {
        mem_free_big(pool, bytes);
        return ERR_NOMEM;
    }
    for (uint32_t i = r->ev_cap; i < n; i++) {
        uint8_t *slot = pool + (size_t)(i - r->ev_cap) * SLOT_BYTES;
        event_init(&r->evs[i], &r->ev_arena);
        event_set_home(&r->evs[i], (etwhost_prop *)(void *)slot, (char *)slot + SLOT_PROPS_BYTES);
    }
    const struct event **no = mem_realloc(r->out, n * sizeof *no);
    if (no == NULL)
        return ERR_NOMEM;
    r->out = no;
    r->ev_cap = n;
    return 0;
}

/*
 * Schema records embedded in the trace (TDH metadata of merged/relogged
 * files) are registered before any filter sees them, so a filter dropping
 * them never breaks decoding of the events that follow.
 */
static void ingest_metadata(struct run *r, const struct record *rec)
{
    struct errbuf eb;
    int rc = schema_cache_ingest_record(r->cache, rec, &eb);
    if (rc == ERR_FORMAT || rc == ERR_NOMEM) {
        if (r->ingest_errors++ < 5)
            log_warn("%s: offset 0x%llx: embedded schema record skipped: %s",
                     rec->trace && rec->trace->path ? rec->trace->path : "trace",
                     (unsigned long long)rec->offset, rc == ERR_NOMEM ? "out of memory" : eb.msg);
    }
}

static void process_batch(struct run *r, struct record_batch *b)
{
    struct chain *c = r->chain;
    if (ensure_events(r, b->n)) {
        log_error("out of memory processing a batch of %u records (counted as lost)", b->n);
        atomic_fetch_add(&r->lost, b->n);
        return;
    }
    arena_reset(&r->ev_arena);
    uint32_t nout = 0;
    uint64_t nev = 0, full = 0, part = 0, none = 0, lookup = 0, filt = 0;
    struct fcount frec[64], fev[64];
    struct fcount *fr = c->n_rec <= 64 ? frec : mem_calloc(c->n_rec, sizeof *fr);
    struct fcount *fe = c->n_ev <= 64 ? fev : mem_calloc(c->n_ev, sizeof *fe);
    if (fr == NULL || fe == NULL) {
        if (fr != frec)
            mem_free(fr);
        log_error("out of memory processing a batch of %u records (counted as lost)", b->n);
        atomic_fetch_add(&r->lost, b->n);
        return;
    }
    memset(fr, 0, (c->n_rec < 64 ? 64 : c->n_rec) * sizeof *fr);
    memset(fe, 0, (c->n_ev < 64 ? 64 : c->n_ev) * sizeof *fe);
    for (uint32_t i = 0; i < b->n; i++) {
        const struct record *rec = &b->recs[i];
        struct event *ev = &r->evs[i];
        if (schema_is_tdh_metadata_record(rec))
            ingest_metadata(r, rec);
        event_set_record(ev, rec, rec->provider_name ? rec->provider_name
                                  : schema_cache_record_provider_name(r->cache, rec));
        if (!run_filters(c->rec_filters, c->n_rec, fr, ev)) {
            filt++;
            continue;
        }
        nev++;
        if (c->records_only) {
            if (decode_lookup(&r->dec, rec, ev))
                lookup++;
            else
                none++;
        } else {
            decode_record(&r->dec, rec, ev);
            switch (ev->hdr.decode_status) {
            case ETWHOST_DECODE_FULL: full++; break;
            case ETWHOST_DECODE_PARTIAL: part++; break;
            default: none++; break;
            }
        }
        if (!run_filters(c->ev_filters, c->n_ev, fe, ev)) {
            filt++;
            continue;
        }
        r->out[nout++] = ev;
    }
    add_fcounts(c->rec_filters, c->n_rec, fr);
    add_fcounts(c->ev_filters, c->n_ev, fe);
    if (fr != frec)
        mem_free(fr);
    if (fe != fev)
        mem_free(fe);
    atomic_fetch_add(&r->records, b->n);
    atomic_fetch_add(&r->events, nev);
    atomic_fetch_add(&r->decoded, full);
    atomic_fetch_add(&r->partial, part);
    atomic_fetch_add(&r->undecoded, none);
    atomic_fetch_add(&r->not_decoded, lookup);
    atomic_fetch_add(&r->filtered, filt);
    if (nout == 0)
        return;
    for (size_t s = 0; s < c->n_sinks; s++)
        deliver(r, c->sinks[s], r->out, nout);
    atomic_fetch_add(&r->delivered, nout);
}

/* Flush and close every sink of a chain that is being retired or finished. */
static void close_sinks(struct chain *c)
{
    for (size_t s = 0; s < c->n_sinks; s++) {
        struct plugin_instance *pi = c->sinks[s];
        if (pi->disabled || pi->closed)
            continue;
        etwhost_status st = plugin_instance_flush(pi);
        if (st < 0)
            log_error("sink \"%s\": flush failed (%s)", pi->name, etwhost_status_name(st));
        char err[1024];
        st = plugin_instance_close(pi, err, sizeof err);
        if (st < 0)
            log_error("sink \"%s\": close failed: %s", pi->name,
                      err[0] ? err : etwhost_status_name(st));
    }
}

/* Install a reloaded chain between batches: nothing is lost or duplicated. */
static void maybe_swap_chain(struct run *r)
{
    plat_mutex_lock(&r->swap_mu);
    struct chain *next = r->pending;
    r->pending = NULL;
    plat_mutex_unlock(&r->swap_mu);
    if (next == NULL)
        return;
    struct chain *old = r->chain;
    close_sinks(old);
    r->chain = next;
    plat_mutex_lock(&r->swap_mu);
    r->retired = old;
    plat_mutex_unlock(&r->swap_mu);
    log_info("configuration reloaded: %zu filters, %zu sinks", next->n_rec + next->n_ev,
             next->n_sinks);
}

static void pipeline_main(void *arg)
{
    struct run *r = arg;
    for (;;) {
        maybe_swap_chain(r);
        struct record_batch *b = queue_pop(&r->q);
        if (b == NULL)
            break;
        process_batch(r, b);
        queue_put_free(&r->q, b);
        if (atomic_load(&r->fatal)) {
            for (size_t i = 0; i < r->nsources; i++)
                atomic_store(&r->st[i].src->stop, 1);
        }
    }
    maybe_swap_chain(r);
    close_sinks(r->chain);
    plat_mutex_lock(&r->done_mu);
    atomic_store(&r->pipeline_done, 1);
    plat_cond_broadcast(&r->done_cv);
    plat_mutex_unlock(&r->done_mu);
}

/* ---- Statistics ---- */

static void print_stats(struct run *r, double secs)
{
    struct chain *c = r->chain;
    fprintf(stderr,
            "etwhost: after %.1f s: records %" PRIu64 ", events %" PRIu64 " (decoded %" PRIu64
            ", partial %" PRIu64 ", undecoded %" PRIu64 ", not decoded %" PRIu64
            "), filtered %" PRIu64 ", lost %" PRIu64 "\n",
            secs, (uint64_t)atomic_load(&r->records), (uint64_t)atomic_load(&r->events),
            (uint64_t)atomic_load(&r->decoded), (uint64_t)atomic_load(&r->partial),
            (uint64_t)atomic_load(&r->undecoded), (uint64_t)atomic_load(&r->not_decoded),
            (uint64_t)atomic_load(&r->filtered), (uint64_t)atomic_load(&r->lost));
    fprintf(stderr, "  %-20s %-6s %12s %12s %10s %8s %8s\n", "instance", "kind", "in", "out",
            "dropped", "errors", "retries");
    for (size_t i = 0; i < c->n_all; i++) {
        struct plugin_instance *pi = c->all[i];
        fprintf(stderr, "  %-20s %-6s %12" PRIu64 " %12" PRIu64 " %10" PRIu64 " %8" PRIu64
                        " %8" PRIu64 "%s\n",
                pi->name, plugin_kind_name(pi->kind), (uint64_t)atomic_load(&pi->in),
                (uint64_t)atomic_load(&pi->out), (uint64_t)atomic_load(&pi->dropped),
                (uint64_t)atomic_load(&pi->errors), (uint64_t)atomic_load(&pi->retries),
                pi->disabled ? "  (failed)" : "");
        int nc = atomic_load(&pi->ncounters);
        if (nc > 0) {
            fprintf(stderr, "  %-20s", "");
            for (int k = 0; k < nc; k++)
                fprintf(stderr, " %s=%" PRId64, pi->counters[k].name,
                        (int64_t)atomic_load(&pi->counters[k].value));
            fputc('\n', stderr);
        }
    }
    for (size_t i = 0; i < r->nsources; i++) {
        struct source *s = r->st[i].src;
        char line[1024];
        line[0] = '\0';
        if (s->stats)
            s->stats(s, line, sizeof line);
        if (line[0])
            fprintf(stderr, "  source %s: %s\n", s->name, line);
    }
    fflush(stderr);
}

static void print_plugin_stats(struct run *r)
{
    static char buf[65536];
    for (size_t i = 0; i < r->chain->n_all; i++) {
        struct plugin_instance *pi = r->chain->all[i];
        if (plugin_instance_stats(pi, buf, sizeof buf) == 0 && buf[0])
            fprintf(stderr, "etwhost: stats %s: %s\n", pi->name, buf);
    }
}

static void progress_line(struct run *r, double secs)
{
    char line[512], part[256];
    size_t used = 0;
    for (size_t i = 0; i < r->nsources; i++) {
        struct source *s = r->st[i].src;
        part[0] = '\0';
        if (s->ops->progress)
            s->ops->progress(s, part, sizeof part);
        int n = snprintf(line + used, sizeof line - used, "%s%s: %s", i ? "; " : "", s->name,
                         part[0] ? part : "");
        if (n > 0 && (size_t)n < sizeof line - used)
            used += (size_t)n;
    }
    fprintf(stderr, "\r\033[K%s | %" PRIu64 " events, %.0f/s", line,
            (uint64_t)atomic_load(&r->records),
            secs > 0 ? (double)atomic_load(&r->records) / secs : 0.0);
    fflush(stderr);
}

/* ---- Reload (control thread) ---- */

static void do_reload(struct run *r)
{
    struct cfg *ncfg = NULL;
    struct errbuf eb;
    struct chain *nc = NULL;
    log_info("reloading configuration from %s", r->opt->reload_dir);
    if (cfg_load(r->opt->reload_dir, &ncfg, &eb) || chain_build(ncfg, NULL, 0, &nc, &eb)) {
        log_error("reload failed, keeping the running configuration: %s", eb.msg);
        cfg_free(ncfg);
        return;
    }
    /* Settings like paths were copied by the plugins in create(). */
    cfg_free(ncfg);
    plat_mutex_lock(&r->swap_mu);
    if (r->pending)
        chain_destroy(r->pending);
    r->pending = nc;
    plat_mutex_unlock(&r->swap_mu);
}

static void collect_retired(struct run *r)
{
    plat_mutex_lock(&r->swap_mu);
    struct chain *old = r->retired;
    r->retired = NULL;
    plat_mutex_unlock(&r->swap_mu);
    if (old)
        chain_destroy(old);
}

/* ---- Entry ---- */

int chain_run(const struct cfg *cfg, struct source **sources, size_t nsources,
              struct chain **chainp, const struct run_options *opt, struct run_totals *totals,
              struct errbuf *eb)
{
    struct run *r = mem_calloc(1, sizeof *r);
    if (r == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    int rc = 0;
    r->cfg = cfg;
    r->opt = opt;
    r->chain = *chainp;
    r->retry_initial_ms = cfg ? cfg->retry_initial_ms : 50;
    r->retry_max_ms = cfg ? cfg->retry_max_ms : 5000;
    if (r->retry_initial_ms == 0)
        r->retry_initial_ms = 1;
    if (r->retry_max_ms < r->retry_initial_ms)
        r->retry_max_ms = r->retry_initial_ms;
    r->continue_on_sink_error = cfg ? cfg->on_sink_error_continue : 0;
    r->ev_arena.chunk_size = 1 << 20;
    plat_mutex_init(&r->swap_mu);
    plat_mutex_init(&r->done_mu);
    plat_cond_init(&r->done_cv);
    uint32_t batch = cfg && cfg->batch_size ? cfg->batch_size : 256;
    uint32_t depth = cfg && cfg->queue_depth ? cfg->queue_depth : CFG_DEFAULT_QUEUE_DEPTH;
    if (queue_init(&r->q, depth, batch) || ensure_events(r, batch)) {
        rc = errbuf_set(eb, ERR_NOMEM, "out of memory");
        goto out;
    }
    r->cache = schema_cache_new(0);
    if (r->cache == NULL) {
        rc = errbuf_set(eb, ERR_NOMEM, "out of memory");
        goto out;
    }
    decoder_init(&r->dec, r->cache);
    r->dec_ready = 1;
    /* Schema sources: built-in kernel MOF classes and WPP, then the user's manifests. */
    rc = schema_sources_builtin(&r->dec, eb);
    if (rc == 0 && cfg && cfg->n_manifests)
        rc = schema_sources_manifests(&r->dec, (const char *const *)cfg->manifests,
                                      cfg->n_manifests, eb);
    if (rc == 0 && opt && opt->n_manifests)
        rc = schema_sources_manifests(&r->dec, opt->manifests, opt->n_manifests, eb);
    if (rc)
        goto out;

    plat_signals_install();
    uint64_t t0 = plat_monotonic_ns();
    r->st = mem_calloc(nsources ? nsources : 1, sizeof *r->st);
    if (r->st == NULL) {
        rc = errbuf_set(eb, ERR_NOMEM, "out of memory");
        goto out;
    }
    r->nsources = nsources;
    r->q.sources_running = (uint32_t)nsources;
    for (size_t i = 0; i < nsources; i++) {
        r->st[i].run = r;
        r->st[i].src = sources[i];
        if (plat_thread_start(&r->st[i].th, source_main, &r->st[i]) == 0)
            r->st[i].started = 1;
        else {
            queue_source_done(&r->q);
            r->st[i].failed = 1;
            log_error("source \"%s\": cannot start its thread", sources[i]->name);
        }
    }
    struct plat_thread pipe;
    if (plat_thread_start(&pipe, pipeline_main, r) != 0) {
        rc = errbuf_set(eb, ERR_NOMEM, "cannot start the pipeline thread");
        for (size_t i = 0; i < nsources; i++)
            atomic_store(&sources[i]->stop, 1);
        for (size_t i = 0; i < nsources; i++)
            if (r->st[i].started)
                plat_thread_join(&r->st[i].th);
        goto out;
    }

    /* Control loop: signals, reload, statistics, progress. */
    uint64_t next_stats = opt->stats_interval ? t0 + opt->stats_interval * 1000000000ULL : 0;
    uint64_t next_progress = t0 + 500000000ULL;
    int progress_shown = 0, stops = 0;
    while (!atomic_load(&r->pipeline_done)) {
        plat_mutex_lock(&r->done_mu);
        if (!atomic_load(&r->pipeline_done))
            plat_cond_timedwait(&r->done_cv, &r->done_mu, 20);
        plat_mutex_unlock(&r->done_mu);
        uint32_t sig = plat_signals_take();
        if (sig & PLAT_SIG_STOP) {
            stops++;
            if (stops == 1) {
                log_info("stopping: draining queued events (signal again to give up retries)");
                for (size_t i = 0; i < nsources; i++)
                    atomic_store(&sources[i]->stop, 1);
            } else {
                atomic_store(&r->hard_stop, 1);
            }
        }
        if ((sig & PLAT_SIG_RELOAD) && opt->reload_dir)
            do_reload(r);
        collect_retired(r);
        uint64_t now = plat_monotonic_ns();
        double secs = (double)(now - t0) / 1e9;
        if (next_stats && now >= next_stats) {
            if (progress_shown) {
                fputs("\r\033[K", stderr);
                progress_shown = 0;
            }
            print_stats(r, secs);
            print_plugin_stats(r);
            next_stats += opt->stats_interval * 1000000000ULL;
        }
        if (opt->progress && now >= next_progress) {
            progress_line(r, secs);
            progress_shown = 1;
            next_progress = now + 500000000ULL;
        }
    }
    plat_thread_join(&pipe);
    for (size_t i = 0; i < nsources; i++)
        if (r->st[i].started)
            plat_thread_join(&r->st[i].th);
    collect_retired(r);
    plat_mutex_lock(&r->swap_mu);
    if (r->pending) {
        chain_destroy(r->pending);
        r->pending = NULL;
    }
    plat_mutex_unlock(&r->swap_mu);
    if (progress_shown)
        fputs("\r\033[K", stderr);
    double secs = (double)(plat_monotonic_ns() - t0) / 1e9;
    if (opt->stats_at_exit || opt->stats_interval) {
        print_stats(r, secs);
        print_plugin_stats(r);
    }
    *chainp = r->chain;
    if (totals) {
        memset(totals, 0, sizeof *totals);
        totals->records = atomic_load(&r->records);
        totals->events = atomic_load(&r->events);
        totals->decoded = atomic_load(&r->decoded);
        totals->partial = atomic_load(&r->partial);
        totals->undecoded = atomic_load(&r->undecoded);
        totals->not_decoded = atomic_load(&r->not_decoded);
        totals->filtered = atomic_load(&r->filtered);
        totals->delivered = atomic_load(&r->delivered);
        totals->lost = atomic_load(&r->lost);
        totals->seconds = secs;
        for (size_t i = 0; i < nsources; i++) {
            totals->header_events_lost += atomic_load(&sources[i]->header_events_lost);
            if (r->st[i].failed)
                totals->failed = 1;
        }
        if (atomic_load(&r->fatal))
            totals->failed = 1;
    }
    for (size_t i = 0; i < nsources; i++) {
        if (r->st[i].failed && rc == 0)
            rc = errbuf_set(eb, ERR_IO, "source \"%s\": %s", sources[i]->name, r->st[i].eb.msg);
    }
    if (rc == 0 && atomic_load(&r->fatal))
        rc = errbuf_set(eb, ERR_PLUGIN, "a sink failed; see the messages above");

out:
    if (r->dec_ready)
        decoder_free(&r->dec);
    schema_cache_free(r->cache);
    for (uint32_t i = 0; i < r->ev_cap; i++)
        event_free(&r->evs[i]);
    mem_free(r->evs);
    mem_free(r->out);
    arena_free(&r->ev_arena);
    queue_free(&r->q);
    for (size_t i = 0; i < r->npools; i++)
        mem_free_big(r->pools[i].p, r->pools[i].n);
    mem_free(r->pools);
    mem_free(r->st);
    plat_mutex_destroy(&r->swap_mu);
    plat_cond_destroy(&r->done_cv);
    plat_mutex_destroy(&r->done_mu);
    mem_free(r);
    return rc;
}
