/*
 * live_consumer: EVENT_RECORD -> struct record, the hand-off queue and the
 * consumer thread of one session (see live_consumer.h).
 */
#include "live_consumer.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "../core/log.h"
#include "../core/mem.h"
#include "../etl/etl_reader.h"
#include "../platform/platform.h"
#include "live_tables.h"

/* ---- Conversion ---- */

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

int live_event_to_record(const struct etw_event *ev, const struct trace_info *ti,
                         int kernel_session, uint8_t **scratch, size_t *cap,
                         struct record *rec)
{
    memset(rec, 0, sizeof *rec);
    uint16_t fl = ev->flags;
    rec->pid = ev->pid;
    rec->tid = ev->tid;
    rec->raw_timestamp = ev->timestamp;
    rec->timestamp = ti ? etl_clock_to_filetime(ti, ev->timestamp) : ev->timestamp;
    rec->provider = ev->provider;
    rec->id = ev->id;
    rec->version = ev->version;
    rec->channel = ev->channel;
    rec->level = ev->level;
    rec->opcode = ev->opcode;
    rec->task = ev->task;
    rec->keywords = ev->keyword;
    rec->activity = ev->activity;
    rec->cpu = ev->processor;
    rec->event_property = ev->event_property;
    rec->trace = ti;

    /* Extended items in the in-file layout: 8-byte header, data padded to 8. */
    size_t need = 0;
    for (uint16_t i = 0; i < ev->ext_count; i++)
        need += 8 + (((size_t)ev->ext[i].size + 7) & ~(size_t)7);
    int has_instance = 0;
    if (need) {
        if (need > UINT32_MAX)
            return ERR_RANGE;
        if (need > *cap) {
            uint8_t *p = mem_realloc(*scratch, need);
            if (p == NULL)
                return ERR_NOMEM;
            *scratch = p;
            *cap = need;
        }
        uint8_t *q = *scratch;
        size_t at = 0;
        for (uint16_t i = 0; i < ev->ext_count; i++) {
            const struct etw_ext_item *x = &ev->ext[i];
            size_t isz = 8 + (((size_t)x->size + 7) & ~(size_t)7);
            put16(q + at, (uint32_t)isz);
            put16(q + at + 2, x->type);
            put16(q + at + 4, i + 1 < ev->ext_count ? 1u : 0u);
            put16(q + at + 6, x->size);
            if (x->size && x->data)
                memcpy(q + at + 8, x->data, x->size);
            else if (x->size)
                memset(q + at + 8, 0, x->size);
            memset(q + at + 8 + x->size, 0, isz - 8 - x->size);
            const uint8_t *d = q + at + 8;
            switch (x->type) {
            case EXT_EVENT_SCHEMA_TL:
                rec->tl_meta = d;
                rec->tl_meta_len = x->size;
                break;
            case EXT_PROV_TRAITS:
                rec->tl_traits = d;
                rec->tl_traits_len = x->size;
                break;
            case EXT_RELATED_ACTIVITYID:
                if (x->size >= 16)
                    guid_read(&rec->related, d);
                break;
            case EXT_INSTANCE_INFO:
                has_instance = 1;
                break;
            default:
                break;
            }
            at += isz;
        }
        rec->ext = q;
        rec->ext_len = (uint32_t)need;
    }

    if (fl & ETW_EHF_TRACE_MESSAGE) {
        rec->kind = ETWHOST_HK_MESSAGE;
        rec->evf = ETWHOST_EVF_WPP;
        rec->message_number = ev->id;
        rec->id = 0;
        /*
         * The consumer API keeps the message GUID (TRACE_MESSAGE_GUID, 0x2) but not the
         * sequence number or component id, so only the GUID option is known.
         */
        rec->hdr_flags = guid_is_zero(&ev->provider) ? 0 : 0x2;
    } else if (fl & ETW_EHF_CLASSIC_HEADER) {
        rec->raw_version = ev->version;
        if (has_instance) {
            rec->kind = ETWHOST_HK_INSTANCE;
            rec->evf = ETWHOST_EVF_CLASSIC;
        } else if (kernel_session) {
            int perfinfo = ev->pid == UINT32_MAX && ev->tid == UINT32_MAX;
            rec->kind = perfinfo ? ETWHOST_HK_PERFINFO : ETWHOST_HK_SYSTEM;
            rec->evf = ETWHOST_EVF_KERNEL;
        } else {
            rec->kind = ETWHOST_HK_TRACE;
            rec->evf = ETWHOST_EVF_CLASSIC;
        }
    } else {
        rec->kind = ETWHOST_HK_EVENT;
        rec->hdr_flags = (uint16_t)((fl & (ETW_EHF_PRIVATE_SESSION | ETW_EHF_STRING_ONLY |
                                           ETW_EHF_NO_CPUTIME)) |
                                    (rec->ext_len ? ETW_EHF_EXTENDED_INFO : 0));
        if (fl & ETW_EHF_STRING_ONLY)
            rec->evf |= ETWHOST_EVF_STRING_ONLY;
        if (rec->tl_meta)
            rec->evf |= ETWHOST_EVF_TRACELOGGING;
    }
    if ((fl & ETW_EHF_32_BIT_HEADER) ||
        (!(fl & ETW_EHF_64_BIT_HEADER) && ti && ti->pointer_size == 4))
        rec->evf |= ETWHOST_EVF_PTR32;
    if (ev->pid == UINT32_MAX && ev->tid == UINT32_MAX)
        rec->evf |= ETWHOST_EVF_NO_PID;
    rec->data = ev->user_len ? ev->user_data : NULL;
    rec->data_len = ev->user_data ? ev->user_len : 0;
    return 0;
}

/* ---- Queue ---- */

struct live_queue {
    atomic_int refs;
    struct plat_mutex mu;
    struct plat_cond cv_data, cv_space;
    uint32_t batch_cap, max_batches, nbatches;
    struct record_batch *cur;      /* being filled */
    struct record_batch **ready;   /* ring of full batches */
    uint32_t head, nready;
    struct record_batch **spare;
    uint32_t nspare;
    int closed;
    struct live_queue_stats st;
};

struct live_queue *live_queue_new(uint32_t batch_cap, uint32_t max_batches)
{
    if (batch_cap == 0)
        batch_cap = 256;
    if (max_batches < 2)
        max_batches = 2;
    struct live_queue *q = mem_calloc(1, sizeof *q);
    if (q == NULL)
        return NULL;
    q->ready = mem_calloc(max_batches, sizeof *q->ready);
    q->spare = mem_calloc(max_batches, sizeof *q->spare);
    if (q->ready == NULL || q->spare == NULL) {
        mem_free(q->ready);
        mem_free(q->spare);
        mem_free(q);
        return NULL;
    }
    q->batch_cap = batch_cap;
    q->max_batches = max_batches;
    atomic_init(&q->refs, 1);
    plat_mutex_init(&q->mu);
    plat_cond_init(&q->cv_data);
    plat_cond_init(&q->cv_space);
    return q;
}

void live_queue_ref(struct live_queue *q)
{
    atomic_fetch_add(&q->refs, 1);
}

static void free_batch(struct record_batch *b)
{
    if (b) {
        batch_free(b);
        mem_free(b);
    }
}

void live_queue_unref(struct live_queue *q)
{
    if (q == NULL || atomic_fetch_sub(&q->refs, 1) != 1)
        return;
    free_batch(q->cur);
    for (uint32_t i = 0; i < q->nready; i++)
        free_batch(q->ready[(q->head + i) % q->max_batches]);
    for (uint32_t i = 0; i < q->nspare; i++)
        free_batch(q->spare[i]);
    mem_free(q->ready);
    mem_free(q->spare);
    plat_cond_destroy(&q->cv_data);
    plat_cond_destroy(&q->cv_space);
    plat_mutex_destroy(&q->mu);
    mem_free(q);
}

/* A batch to fill: a spare one, a new one while under the cap, else NULL. Locked. */
static struct record_batch *get_batch(struct live_queue *q)
{
    if (q->nspare)
        return q->spare[--q->nspare];
    if (q->nbatches >= q->max_batches)
        return NULL;
    struct record_batch *b = mem_alloc(sizeof *b);
    if (b == NULL || batch_init(b, q->batch_cap)) {
        mem_free(b);
        return NULL;
    }
    q->nbatches++;
    return b;
}

void live_queue_push(struct live_queue *q, const struct record *rec)
{
    plat_mutex_lock(&q->mu);
    while (!q->closed && q->cur == NULL) {
        q->cur = get_batch(q);
        if (q->cur == NULL) {
            q->st.waits++;
            plat_cond_timedwait(&q->cv_space, &q->mu, 100);
        }
    }
    if (q->closed) {
        q->st.dropped++;
        plat_mutex_unlock(&q->mu);
        return;
    }
    if (batch_push_copy(q->cur, rec) != 0) {
        q->st.nomem++;
    } else {
        q->st.pushed++;
        if (batch_full(q->cur)) {
            q->ready[(q->head + q->nready) % q->max_batches] = q->cur;
            q->nready++;
            q->cur = NULL;
            plat_cond_signal(&q->cv_data);
        }
    }
    plat_mutex_unlock(&q->mu);
}

uint32_t live_queue_take(struct live_queue *q, struct record_batch *b, uint32_t wait_ms)
{
    plat_mutex_lock(&q->mu);
    if (q->nready == 0 && wait_ms)
        plat_cond_timedwait(&q->cv_data, &q->mu, wait_ms);
    struct record_batch *src = NULL;
    int from_ready = 0;
    if (q->nready) {
        src = q->ready[q->head];
        from_ready = 1;
    } else if (q->cur && q->cur->n) {
        src = q->cur;
    }
    if (src == NULL) {
        plat_mutex_unlock(&q->mu);
        return 0;
    }
    uint32_t n;
    if (src->cap == b->cap && b->n == 0) {
        /* Swap the memory: the records move without a copy. */
        uint32_t idx = b->source_index;
        struct record_batch tmp = *b;
        *b = *src;
        *src = tmp;
        b->source_index = idx;
        n = b->n;
    } else {
        /* Different capacities: copy what fits, keep the rest at the front. */
        n = 0;
        while (n < src->n && !batch_full(b) && batch_push_copy(b, &src->recs[n]) == 0)
            n++;
        if (n < src->n) {
            memmove(src->recs, src->recs + n, (size_t)(src->n - n) * sizeof *src->recs);
            src->n -= n;
            plat_mutex_unlock(&q->mu);
            return n;
        }
    }
    batch_reset(src);
    if (from_ready) {
        q->head = (q->head + 1) % q->max_batches;
        q->nready--;
    } else {
        q->cur = NULL;
    }
    q->spare[q->nspare++] = src;
    plat_cond_broadcast(&q->cv_space);
    plat_mutex_unlock(&q->mu);
    return n;
}

int live_queue_empty(struct live_queue *q)
{
    plat_mutex_lock(&q->mu);
    int e = q->nready == 0 && (q->cur == NULL || q->cur->n == 0);
    plat_mutex_unlock(&q->mu);
    return e;
}

void live_queue_close(struct live_queue *q)
{
    plat_mutex_lock(&q->mu);
    q->closed = 1;
    plat_cond_broadcast(&q->cv_space);
    plat_cond_broadcast(&q->cv_data);
    plat_mutex_unlock(&q->mu);
}

void live_queue_get_stats(struct live_queue *q, struct live_queue_stats *out)
{
    plat_mutex_lock(&q->mu);
    *out = q->st;
    plat_mutex_unlock(&q->mu);
}

/* ---- The consumer ---- */

struct info_node {
    struct trace_info info;
    char *name;
    struct info_node *next;
};

struct live_trace {
    atomic_int refs;
    const struct etw_api *api;
    struct live_session_cfg cfg; /* owned */
    struct live_session sess;
    struct live_queue *q;
    struct live_tdh *tdh;
    struct etw_consumer cons;
    struct plat_mutex mu; /* session and trace handle state, below */
    struct plat_cond cv_done, cv_wake;
    uint64_t trace;
    int trace_open;
    int stopping;
    int thread_started;
    int ended;
    atomic_int done;
    atomic_int abandoned;
    struct plat_thread th;
    struct info_node *infos;          /* one per OpenTrace; records point at them */
    const struct trace_info *cur_info; /* consumer thread */
    int kernel_session;
    uint8_t *scratch; /* consumer thread */
    size_t scratch_cap;
    uint64_t seq;
    atomic_ullong events, rt_lost[3], restarts, restart_failures;
    struct etw_session_props last; /* guarded by mu */
    uint32_t last_rc;
    int have_last;
};

static void trace_unref(struct live_trace *t)
{
    if (atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    while (t->infos) {
        struct info_node *n = t->infos;
        t->infos = n->next;
        mem_free(n->name);
        mem_free(n);
    }
    mem_free(t->scratch);
    live_session_cfg_free(&t->cfg);
    live_queue_unref(t->q);
    live_tdh_unref(t->tdh);
    plat_cond_destroy(&t->cv_done);
    plat_cond_destroy(&t->cv_wake);
    plat_mutex_destroy(&t->mu);
    mem_free(t);
}

static void on_event(void *ctx, const struct etw_event *ev)
{
    struct live_trace *t = ctx;
    if (atomic_load_explicit(&t->abandoned, memory_order_relaxed))
        return;
    if (guid_eq(&ev->provider, &live_rt_lost_guid) && ev->opcode >= LIVE_RT_LOST_EVENT &&
        ev->opcode <= LIVE_RT_LOST_FILE) {
        atomic_fetch_add(&t->rt_lost[ev->opcode - LIVE_RT_LOST_EVENT], 1);
        return;
    }
    struct record rec;
    if (live_event_to_record(ev, t->cur_info, t->kernel_session, &t->scratch, &t->scratch_cap,
                             &rec) != 0) {
        plat_mutex_lock(&t->q->mu);
        t->q->st.nomem++;
        plat_mutex_unlock(&t->q->mu);
        return;
    }
    rec.seq = t->seq++;
    /* The name the provider was enabled under, for events no schema names. */
    for (size_t i = 0; i < t->cfg.nproviders; i++) {
        const struct live_provider *p = &t->cfg.providers[i];
        if (p->name && guid_eq(&p->guid, &rec.provider)) {
            rec.provider_name = p->name;
            break;
        }
    }
    if (t->tdh)
        rec.schema = live_tdh_resolve(t->tdh, t->api, ev, &rec);
    live_queue_push(t->q, &rec);
    atomic_fetch_add_explicit(&t->events, 1, memory_order_relaxed);
}

/* OpenTrace the session for real-time consumption.  Locked (or before the thread exists). */
static int open_consumer(struct live_trace *t, struct errbuf *eb)
{
    struct info_node *n = mem_calloc(1, sizeof *n);
    if (n == NULL || (n->name = mem_strdup(t->cfg.name)) == NULL) {
        mem_free(n);
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    }
    uint64_t h = 0;
    uint32_t w = t->api->open_trace(t->api->ctx, t->cfg.name, &t->cons, &h, &n->info);
    if (w != ETW_OK) {
        mem_free(n->name);
        mem_free(n);
        char text[300];
        return errbuf_set(eb, w == ETW_ERR_ACCESS_DENIED ? ERR_PERM : ERR_IO,
                          "session \"%s\": opening it for real-time consumption failed: %s",
                          t->cfg.name, etw_error_text(t->api, w, text, sizeof text));
    }
    n->info.path = n->name;
    n->info.logger_name = n->name;
    if (n->info.pointer_size != 4 && n->info.pointer_size != 8)
        n->info.pointer_size = 8;
    if (n->info.clock_type == 0)
        n->info.clock_type = t->cfg.clock;
    n->next = t->infos;
    t->infos = n;
    t->cur_info = &n->info;
    t->trace = h;
    t->trace_open = 1;
    return 0;
}

/* Start the session again after it vanished.  Locked. */
static int restart_session(struct live_trace *t, struct errbuf *eb)
{
    if (t->sess.owned) {
        struct live_session ns;
        /* The name is ours: if something else took it meanwhile, replace it. */
        int rc = live_session_start(&ns, t->api, &t->cfg, LIVE_EXISTING_STOP, eb);
        if (rc)
            return rc;
        t->sess = ns;
    } else {
        struct etw_session_props q;
        uint32_t w = t->api->control_trace(t->api->ctx, 0, t->cfg.name, ETW_CONTROL_QUERY, &q);
        if (w != ETW_OK) {
            char text[300];
            return errbuf_set(eb, ERR_IO, "session \"%s\" (attached) is gone: %s", t->cfg.name,
                              etw_error_text(t->api, w, text, sizeof text));
        }
        t->sess.handle = q.handle;
    }
    int rc = open_consumer(t, eb);
    if (rc && t->sess.owned)
        live_session_stop(&t->sess, NULL);
    return rc;
}

static void consumer_main(void *arg)
{
    struct live_trace *t = arg;
    int open = 1;
    unsigned attempt = 0;
    char text[300];
    for (;;) {
        if (open) {
            plat_mutex_lock(&t->mu);
            uint64_t h = t->trace;
            plat_mutex_unlock(&t->mu);
            uint64_t began = plat_monotonic_ns();
            uint32_t w = t->api->process_trace(t->api->ctx, h);
            int quick = plat_monotonic_ns() - began < 1000000000ull;
            plat_mutex_lock(&t->mu);
            if (t->trace_open) {
                t->api->close_trace(t->api->ctx, t->trace);
                t->trace_open = 0;
            }
            open = 0;
            int stopping = t->stopping;
            plat_mutex_unlock(&t->mu);
            if (stopping || atomic_load(&t->abandoned))
                break;
            etw_error_text(t->api, w, text, sizeof text);
            if (!t->cfg.restart) {
                log_warn("session \"%s\": the consumer ended (%s) and \"restart\" is off",
                         t->cfg.name, w == ETW_OK ? "the session was stopped" : text);
                break;
            }
            log_warn("session \"%s\": ProcessTrace returned (%s) while the source runs: the "
                     "session was stopped from outside or failed; restarting it",
                     t->cfg.name, w == ETW_OK ? "success" : text);
            /* A session that keeps ending at once is restarted with growing pauses. */
            attempt = quick ? attempt + 1 : 0;
        }
        /* Back off: at once, then 250 ms doubling up to 16 s (attempt counts failures). */
        uint64_t delay_ms = attempt == 0 ? 0 : 250ull << (attempt < 7 ? attempt - 1 : 6);
        uint64_t until = plat_monotonic_ns() + delay_ms * 1000000ull;
        plat_mutex_lock(&t->mu);
        while (!t->stopping && plat_monotonic_ns() < until)
            plat_cond_timedwait(&t->cv_wake, &t->mu, 50);
        if (t->stopping) {
            plat_mutex_unlock(&t->mu);
            break;
        }
        struct errbuf eb;
        int rc = restart_session(t, &eb);
        plat_mutex_unlock(&t->mu);
        if (rc == 0) {
            open = 1;
            uint64_t n = atomic_fetch_add(&t->restarts, 1) + 1;
            log_info("session \"%s\": restarted (restart %" PRIu64 ")", t->cfg.name, n);
        } else {
            atomic_fetch_add(&t->restart_failures, 1);
            attempt++;
            log_warn("session \"%s\": restart failed: %s; retrying", t->cfg.name, eb.msg);
        }
    }
    plat_mutex_lock(&t->mu);
    t->ended = !t->stopping;
    atomic_store(&t->done, 1);
    plat_cond_broadcast(&t->cv_done);
    plat_mutex_unlock(&t->mu);
    trace_unref(t);
}

int live_trace_start(const struct etw_api *api, struct live_session_cfg *cfg,
                     struct live_queue *q, struct live_tdh *tdh, struct live_trace **out,
                     struct errbuf *eb)
{
    *out = NULL;
    struct live_trace *t = mem_calloc(1, sizeof *t);
    if (t == NULL) {
        live_session_cfg_free(cfg);
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    }
    t->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    atomic_init(&t->refs, 1);
    t->api = api;
    t->q = q;
    live_queue_ref(q);
    if (tdh) {
        t->tdh = tdh;
        live_tdh_ref(tdh);
    }
    t->cons.on_event = on_event;
    t->cons.ctx = t;
    t->kernel_session = t->cfg.kind != LIVE_KIND_USER;
    plat_mutex_init(&t->mu);
    plat_cond_init(&t->cv_done);
    plat_cond_init(&t->cv_wake);
    int rc = live_session_start(&t->sess, api, &t->cfg, -1, eb);
    if (rc) {
        trace_unref(t);
        return rc;
    }
    if (!t->cfg.realtime) {
        /* A file-only session: nothing to consume; it runs until the source stops. */
        *out = t;
        return 0;
    }
    rc = open_consumer(t, eb);
    if (rc == 0) {
        atomic_fetch_add(&t->refs, 1); /* the thread's reference */
        if (plat_thread_start(&t->th, consumer_main, t) != 0) {
            atomic_fetch_sub(&t->refs, 1);
            api->close_trace(api->ctx, t->trace);
            t->trace_open = 0;
            rc = errbuf_set(eb, ERR_NOMEM, "session \"%s\": cannot start the consumer thread",
                            t->cfg.name);
        } else {
            t->thread_started = 1;
        }
    }
    if (rc) {
        live_session_stop(&t->sess, NULL);
        trace_unref(t);
        return rc;
    }
    *out = t;
    return 0;
}

const struct live_session_cfg *live_trace_cfg(const struct live_trace *t)
{
    return &t->cfg;
}

void live_trace_request_stop(struct live_trace *t)
{
    plat_mutex_lock(&t->mu);
    if (!t->stopping) {
        t->stopping = 1;
        plat_cond_broadcast(&t->cv_wake);
        if (t->sess.owned && t->sess.running) {
            /* ETW delivers what it buffered, then ProcessTrace returns. */
            t->last_rc = live_session_stop(&t->sess, &t->last);
            t->have_last = t->last_rc == ETW_OK;
            if (t->last_rc != ETW_OK && t->trace_open) {
                t->api->close_trace(t->api->ctx, t->trace);
                t->trace_open = 0;
            }
        } else if (t->trace_open) {
            t->api->close_trace(t->api->ctx, t->trace);
            t->trace_open = 0;
        }
        if (!t->thread_started) {
            atomic_store(&t->done, 1);
            plat_cond_broadcast(&t->cv_done);
        }
    }
    plat_mutex_unlock(&t->mu);
}

int live_trace_finished(struct live_trace *t)
{
    return atomic_load(&t->done);
}

/* Wait (locked) until done or ms elapsed. */
static void wait_done(struct live_trace *t, uint32_t ms)
{
    uint64_t until = plat_monotonic_ns() + (uint64_t)ms * 1000000ull;
    while (!atomic_load(&t->done)) {
        uint64_t now = plat_monotonic_ns();
        if (now >= until)
            break;
        uint64_t left = (until - now) / 1000000ull + 1;
        plat_cond_timedwait(&t->cv_done, &t->mu, left > 100 ? 100 : (uint32_t)left);
    }
}

int live_trace_shutdown(struct live_trace *t, uint32_t timeout_ms)
{
    live_trace_request_stop(t);
    plat_mutex_lock(&t->mu);
    wait_done(t, timeout_ms);
    if (!atomic_load(&t->done) && t->trace_open) {
        log_warn("session \"%s\": the consumer did not finish within %u ms; closing the trace",
                 t->cfg.name, timeout_ms);
        t->api->close_trace(t->api->ctx, t->trace);
        t->trace_open = 0;
    }
    if (!atomic_load(&t->done))
        wait_done(t, 1000);
    int joined = atomic_load(&t->done);
    plat_mutex_unlock(&t->mu);
    if (t->thread_started) {
        if (joined) {
            plat_thread_join(&t->th);
        } else {
            atomic_store(&t->abandoned, 1);
            live_queue_close(t->q);
            log_warn("session \"%s\": ProcessTrace did not return after the stop and "
                     "CloseTrace; abandoning its thread (its memory is released if it ever "
                     "returns)",
                     t->cfg.name);
        }
    }
    trace_unref(t);
    return joined ? 0 : 1;
}

void live_trace_get_stats(struct live_trace *t, int query, struct live_trace_stats *out)
{
    memset(out, 0, sizeof *out);
    plat_mutex_lock(&t->mu);
    if (query && t->sess.running && !t->stopping) {
        struct etw_session_props p;
        uint32_t w = live_session_query(&t->sess, &p);
        t->last_rc = w;
        if (w == ETW_OK) {
            t->last = p;
            t->have_last = 1;
        }
    }
    out->session = t->last;
    out->query_rc = t->have_last ? ETW_OK : t->last_rc;
    out->owned = t->sess.owned;
    out->ended = t->ended;
    plat_mutex_unlock(&t->mu);
    out->events = atomic_load(&t->events);
    out->rt_lost_events = atomic_load(&t->rt_lost[0]);
    out->rt_lost_buffers = atomic_load(&t->rt_lost[1]);
    out->rt_lost_files = atomic_load(&t->rt_lost[2]);
    out->restarts = atomic_load(&t->restarts);
    out->restart_failures = atomic_load(&t->restart_failures);
}
