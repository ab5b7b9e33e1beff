/*
 * kafka: a sink that sends every event to Apache Kafka and never loses one
 * silently.
 *
 * Each event becomes one Kafka message: value = the event's canonical JSON
 * line, topic and key from templates over header fields, headers provider /
 * event_id / host, timestamp = event time.  librdkafka does the protocol;
 * any librdkafka property passes through the "rdkafka" settings object.
 *
 * Delivery (at-least-once): an event counts as delivered only when its
 * delivery report says so.  A message whose delivery failed for a transient
 * reason (broker down, timeout, purge at shutdown) goes to an on-disk spool
 * (kafka_spool.h).  While the spool holds unsent messages, new events are
 * appended behind them, and a drainer sends the spool in order; once it has
 * caught up, events go straight to the producer again.  A full producer
 * queue while brokers are up is back-pressure (ETWHOST_RETRY), not a drop.
 *
 * Threads: the pipeline thread calls write/flush/close; one service thread
 * owned by the instance polls librdkafka (delivery reports, errors,
 * statistics), drains the spool and syncs it.  k->mu guards the spool, the
 * drain state and the producer handle swap after a fatal producer error.
 */
#include <stdatomic.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* librdkafka's argument type checks are GNU statement expressions, refused by -Wpedantic. */
#define LIBRDKAFKA_TYPECHECKS 0
#include <librdkafka/rdkafka.h>

#include "etwhost/plugin.h"
#include "kafka_json.h"
#include "kafka_os.h"
#include "kafka_spool.h"
#include "kafka_tmpl.h"
#include "psup_crc32c.h"

#define KAFKA_PLUGIN_VERSION "1.0.0"
#define DEFAULT_TOPIC "etw.{provider}"
#define DEFAULT_FLUSH_MS 10000
#define DEFAULT_SPOOL_MAX (1024ull * 1024 * 1024)
#define QUEUE_WAIT_MS 1000      /* write() waits this long for queue space before RETRY */
#define DRAIN_BACKOFF_MIN 250u  /* after a failed drain, first wait (ms) */
#define DRAIN_BACKOFF_MAX 30000u
#define SPOOL_SYNC_MS 1000u     /* fsync + ack file this often while dirty */
#define SPOOL_BLOCK_AGE_MS 200u /* an open spool block is written after this long */
#define PROBE_MS 1000u          /* while all brokers are down, ask for metadata this often */
#define ORDER_HOLD_MS 5000u     /* longest wait for queued messages to reach the spool first */

enum counter_ids {
    C_PRODUCED,
    C_DELIVERED,
    C_FAILED,
    C_RETRIED,
    C_SPOOLED,
    C_DRAINED,
    C_DROPPED,
    C_REJECTED,
    C_SPOOL_CORRUPT,
    C_QUEUE_DEPTH,
    C_COUNT
};

static const char *const counter_names[C_COUNT] = {
    "produced", "delivered", "failed",        "retried",    "spooled",
    "drained",  "dropped",   "rejected",      "spool_corrupt", "queue_depth",
};

struct ktopic {
    char *name;
    uint64_t hash;
    rd_kafka_topic_t *rkt;
};

/*
 * The per-message opaque.  A message produced from the spool carries a
 * malloc'd drain_tag (an even pointer): its delivery report acknowledges
 * seq.  A message produced directly carries its timestamp with the low bit
 * set, because a failed delivery report no longer has the timestamp
 * (rd_kafka_message_timestamp() returns -1 on error) and the spool must keep
 * it; where a pointer cannot hold 63 bits, a malloc'd copy is pointed to.
 */
struct drain_tag {
    uint64_t seq;
};

static void *direct_opaque(int64_t ts_ms)
{
#if UINTPTR_MAX >= UINT64_MAX
    return (void *)(uintptr_t)(((uint64_t)ts_ms << 1) | 1u);
#else
    int64_t *p = malloc(sizeof *p);
    if (p == NULL)
        return (void *)(uintptr_t)1u; /* timestamp lost, message not */
    *p = ts_ms;
    return (void *)((uintptr_t)p | 1u);
#endif
}

static int is_direct(const void *op)
{
    return ((uintptr_t)op & 1u) != 0;
}

/* The timestamp of a direct message's opaque; releases it. */
static int64_t direct_ts(void *op)
{
#if UINTPTR_MAX >= UINT64_MAX
    return (int64_t)((uint64_t)(uintptr_t)op >> 1);
#else
    int64_t *p = (int64_t *)((uintptr_t)op & ~(uintptr_t)1u), ts = 0;
    if (p) {
        ts = *p;
        free(p);
    }
    return ts;
#endif
}

struct ksink {
    etwhost_host *h;
    const etwhost_host_api *api;

    /* Settings. */
    struct ktmpl *topic_t, *key_t;
    char host[256];
    int headers;
    int event_time;
    uint32_t flush_timeout_ms;
    char spool_dir[4096];
    char brokers_text[512];

    /* Producer; replaced only by the service thread, under mu, after a fatal error. */
    rd_kafka_t *rk;
    rd_kafka_conf_t *conf_tmpl; /* kept to build a new producer */
    struct ktopic *topics;
    size_t ntopics, topics_cap;
    int rebuilding;

    struct kos_mutex *mu;
    struct kos_cond *cv; /* signalled on delivery reports when someone waits */
    struct kos_thread *thr;
    atomic_int stop;
    atomic_int waiters;
    atomic_int brokers_down;
    atomic_int fatal_pending;
    atomic_int flush_req; /* flush/close waiting: the service thread ignores linger.ms */
    atomic_int purge_req; /* brokers just went down: move the producer queue to the spool */
    atomic_llong direct_depth; /* messages in librdkafka that did not come from the spool */
    uint64_t hold_until_ms; /* under mu: new events wait for that move until then */
    int closed;

    /* Spool and drain state (under mu). */
    struct kspool *spool; /* NULL until open: see take_spool() */
    struct kspool_cfg scfg;
    int spool_registered;
    uint64_t spool_wait_logged_ms;
    uint32_t drain_window;
    int64_t wake_depth; /* delivery reports wake waiting writers at this queue depth */
    uint64_t drain_inflight;
    int drain_failed;
    uint64_t drain_resume_ms;
    uint32_t drain_backoff_ms;
    struct kspool_stats sp_last; /* for counter deltas; the final state after close */
    uint64_t last_sync_ms;
    uint64_t next_probe_ms;

    /* Counters: host ids and own totals (for stats and the close summary). */
    int32_t cid[C_COUNT];
    atomic_llong cnt[C_COUNT];
    atomic_ullong log_counts[8];

    /* Latest librdkafka statistics JSON (under mu). */
    char *rdstats;
};

enum log_kind { LK_REJECT, LK_SPOOL_ERR, LK_DROP, LK_PRODUCE_ERR, LK_NKINDS };

/* ---- small helpers ---- */

static void cnt_add(struct ksink *k, int id, int64_t d)
{
    atomic_fetch_add_explicit(&k->cnt[id], d, memory_order_relaxed);
    if (k->cid[id] >= 0)
        k->api->counter_add(k->h, k->cid[id], d);
}

static int64_t cnt_get(struct ksink *k, int id)
{
    return atomic_load_explicit(&k->cnt[id], memory_order_relaxed);
}

/* Log the first few occurrences of a kind of problem, then every power of ten. */
static int log_due(struct ksink *k, enum log_kind kind)
{
    uint64_t n = atomic_fetch_add(&k->log_counts[kind], 1) + 1;
    if (n <= 5)
        return 1;
    while (n % 10 == 0)
        n /= 10;
    return n == 1;
}

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/*
 * Wake threads waiting for queue room or for the queue to empty.  Only once
 * the queue is down to wake_depth: a writer woken for every single report
 * would fight the service thread for the mutex once per message.
 */
static void wake_waiters(struct ksink *k)
{
    if (atomic_load_explicit(&k->waiters, memory_order_relaxed) > 0 &&
        cnt_get(k, C_QUEUE_DEPTH) <= k->wake_depth) {
        kos_mutex_lock(k->mu);
        kos_cond_broadcast(k->cv);
        kos_mutex_unlock(k->mu);
    }
}

/* Errors that no retry can fix: the message itself is refused. */
static int permanent_error(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return 1;
    default:
        return 0;
    }
}

/* ---- topic handle cache (under mu, or single-threaded) ---- */

static void topics_clear(struct ksink *k)
{
    for (size_t i = 0; i < k->topics_cap; i++) {
        if (k->topics[i].name) {
            rd_kafka_topic_destroy(k->topics[i].rkt);
            free(k->topics[i].name);
        }
    }
    free(k->topics);
    k->topics = NULL;
    k->ntopics = k->topics_cap = 0;
}

static rd_kafka_topic_t *topic_get(struct ksink *k, const char *name, size_t len)
{
    uint64_t h = fnv1a(name, len);
    if (k->topics_cap) {
        for (size_t i = h & (k->topics_cap - 1);; i = (i + 1) & (k->topics_cap - 1)) {
            struct ktopic *t = &k->topics[i];
            if (t->name == NULL)
                break;
            if (t->hash == h && strlen(t->name) == len && memcmp(t->name, name, len) == 0)
                return t->rkt;
        }
    }
    if ((k->ntopics + 1) * 10 >= k->topics_cap * 7) {
        size_t ncap = k->topics_cap ? k->topics_cap * 2 : 16;
        struct ktopic *nt = calloc(ncap, sizeof *nt);
        if (nt == NULL)
            return NULL;
        for (size_t i = 0; i < k->topics_cap; i++) {
            if (k->topics[i].name == NULL)
                continue;
            size_t j = k->topics[i].hash & (ncap - 1);
            while (nt[j].name)
                j = (j + 1) & (ncap - 1);
            nt[j] = k->topics[i];
        }
        free(k->topics);
        k->topics = nt;
        k->topics_cap = ncap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, name, len);
    copy[len] = '\0';
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(k->rk, copy, NULL);
    if (rkt == NULL) {
        free(copy);
        return NULL;
    }
    size_t i = h & (k->topics_cap - 1);
    while (k->topics[i].name)
        i = (i + 1) & (k->topics_cap - 1);
    k->topics[i].name = copy;
    k->topics[i].hash = h;
    k->topics[i].rkt = rkt;
    k->ntopics++;
    return rkt;
}

/* ---- one message, rendered ---- */

struct kmsg {
    char topic[KTMPL_TOPIC_MAX + 1];
    size_t topic_len;
    char keybuf[512];
    char *key; /* keybuf, heap, or NULL for no key */
    size_t key_len;
    const char *value;
    size_t value_len;
    int64_t ts_ms;
    const char *provider;
    size_t provider_len;
    char pguid[40];
    char event_id[8];
    size_t event_id_len;
};

static void kmsg_free(struct kmsg *m)
{
    if (m->key && m->key != m->keybuf)
        free(m->key);
    m->key = NULL;
}

static int kmsg_render(struct ksink *k, const etwhost_event *ev, struct kmsg *m)
{
    const etwhost_event_header *h = k->api->event_header(ev);
    const char *json;
    size_t jlen;
    if (k->api->event_json(ev, &json, &jlen) != ETWHOST_OK)
        return -1;
    m->value = json;
    m->value_len = jlen;
    m->topic_len = ktmpl_render(k->topic_t, h, k->host, m->topic, sizeof m->topic);
    m->key = NULL;
    m->key_len = 0;
    if (k->key_t) {
        size_t n = ktmpl_render(k->key_t, h, k->host, m->keybuf, sizeof m->keybuf);
        if (n >= sizeof m->keybuf) {
            char *big = malloc(n + 1);
            if (big == NULL)
                return -1;
            ktmpl_render(k->key_t, h, k->host, big, n + 1);
            m->key = big;
        } else {
            m->key = m->keybuf;
        }
        m->key_len = n;
    }
    m->ts_ms = k->event_time ? ktmpl_filetime_to_ms(h->timestamp) : 0;
    if (h->provider_name && h->provider_name[0]) {
        m->provider = h->provider_name;
        m->provider_len = strlen(h->provider_name);
    } else {
        const etwhost_guid *g = &h->provider_guid;
        snprintf(m->pguid, sizeof m->pguid,
                 "%08" PRIx32 "-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", g->data1, g->data2,
                 g->data3, g->data4[0], g->data4[1], g->data4[2], g->data4[3], g->data4[4],
                 g->data4[5], g->data4[6], g->data4[7]);
        m->provider = m->pguid;
        m->provider_len = strlen(m->pguid);
    }
    m->event_id_len = (size_t)snprintf(m->event_id, sizeof m->event_id, "%u",
                                       (unsigned)h->event_id);
    return 0;
}

static void kmsg_to_rec(struct ksink *k, const struct kmsg *m, struct kspool_rec *r)
{
    memset(r, 0, sizeof *r);
    r->topic = m->topic;
    r->topic_len = m->topic_len;
    r->key = m->key;
    r->key_len = m->key_len;
    r->value = m->value;
    r->value_len = m->value_len;
    r->ts_ms = m->ts_ms;
    if (k->headers) {
        r->nhdrs = 3;
        r->hdrs[0] = (struct kspool_hdr){"provider", 8, m->provider, m->provider_len};
        r->hdrs[1] = (struct kspool_hdr){"event_id", 8, m->event_id, m->event_id_len};
        r->hdrs[2] = (struct kspool_hdr){"host", 4, k->host, strlen(k->host)};
    }
}

/* ---- producing ---- */

/*
 * Produce a direct message (opaque: its timestamp).  The queue depth is raised before the
 * call so a fast delivery report never sees it negative.  Returns the
 * librdkafka error.
 */
static rd_kafka_resp_err_t produce_msg(struct ksink *k, const struct kmsg *m)
{
    rd_kafka_resp_err_t e;
    rd_kafka_topic_t *rkt = topic_get(k, m->topic, m->topic_len);
    if (rkt == NULL)
        return RD_KAFKA_RESP_ERR__FAIL;
    cnt_add(k, C_QUEUE_DEPTH, 1);
    atomic_fetch_add(&k->direct_depth, 1);
    void *op = direct_opaque(m->ts_ms);
    if (k->headers)
        e = rd_kafka_producev(
            k->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_VALUE((void *)m->value, m->value_len),
            RD_KAFKA_V_KEY(m->key, m->key ? m->key_len : 0), RD_KAFKA_V_TIMESTAMP(m->ts_ms),
            RD_KAFKA_V_HEADER("provider", m->provider, (ssize_t)m->provider_len),
            RD_KAFKA_V_HEADER("event_id", m->event_id, (ssize_t)m->event_id_len),
            RD_KAFKA_V_HEADER("host", k->host, (ssize_t)strlen(k->host)),
            RD_KAFKA_V_OPAQUE(op), RD_KAFKA_V_END);
    else
        e = rd_kafka_producev(k->rk, RD_KAFKA_V_RKT(rkt),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_VALUE((void *)m->value, m->value_len),
                              RD_KAFKA_V_KEY(m->key, m->key ? m->key_len : 0),
                              RD_KAFKA_V_TIMESTAMP(m->ts_ms), RD_KAFKA_V_OPAQUE(op),
                              RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        cnt_add(k, C_PRODUCED, 1);
    } else {
        direct_ts(op);
        cnt_add(k, C_QUEUE_DEPTH, -1);
        atomic_fetch_sub(&k->direct_depth, 1);
    }
    return e;
}

/* Produce a message read from the spool, tagged with its sequence number. */
static rd_kafka_resp_err_t produce_rec(struct ksink *k, const struct kspool_rec *r, uint64_t seq)
{
    char topic[KTMPL_TOPIC_MAX + 1];
    size_t tl = r->topic_len < sizeof topic - 1 ? r->topic_len : sizeof topic - 1;
    memcpy(topic, r->topic, tl);
    topic[tl] = '\0';
    rd_kafka_topic_t *rkt = topic_get(k, topic, tl);
    if (rkt == NULL)
        return RD_KAFKA_RESP_ERR__FAIL;
    struct drain_tag *tag = malloc(sizeof *tag);
    if (tag == NULL)
        return RD_KAFKA_RESP_ERR__FAIL;
    tag->seq = seq;
    cnt_add(k, C_QUEUE_DEPTH, 1);
    rd_kafka_headers_t *hdrs = NULL;
    if (r->nhdrs) {
        hdrs = rd_kafka_headers_new(r->nhdrs);
        for (uint32_t i = 0; i < r->nhdrs; i++)
            rd_kafka_header_add(hdrs, r->hdrs[i].name, (ssize_t)r->hdrs[i].name_len,
                                r->hdrs[i].value, (ssize_t)r->hdrs[i].value_len);
    }
    rd_kafka_resp_err_t e = rd_kafka_producev(
        k->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE((void *)r->value, r->value_len),
        RD_KAFKA_V_KEY(r->key, r->key ? r->key_len : 0), RD_KAFKA_V_TIMESTAMP(r->ts_ms),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(tag), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        cnt_add(k, C_QUEUE_DEPTH, -1);
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        free(tag);
    } else {
        cnt_add(k, C_PRODUCED, 1);
    }
    return e;
}

/*
 * Spools open in this process, by directory.  On a configuration reload the
 * host creates the new instances while the old ones still run, so a new
 * instance may find its spool held by the instance it replaces: it then
 * opens the spool only once that one has closed it (before the new one sees
 * its first event).  The plugin stays loaded (-z nodelete), so the registry
 * outlives both.  Guarded by kos_global_lock().
 */
static void spool_counters(struct ksink *k);

#define MAX_OPEN_SPOOLS 64
static char open_spools[MAX_OPEN_SPOOLS][4096];

static int spool_registered_elsewhere(const char *dir)
{
    for (int i = 0; i < MAX_OPEN_SPOOLS; i++)
        if (open_spools[i][0] && strcmp(open_spools[i], dir) == 0)
            return 1;
    return 0;
}

static void spool_register(const char *dir)
{
    for (int i = 0; i < MAX_OPEN_SPOOLS; i++) {
        if (open_spools[i][0] == '\0') {
            snprintf(open_spools[i], sizeof open_spools[i], "%s", dir);
            return;
        }
    }
}

static void spool_unregister(const char *dir)
{
    for (int i = 0; i < MAX_OPEN_SPOOLS; i++)
        if (open_spools[i][0] && strcmp(open_spools[i], dir) == 0) {
            open_spools[i][0] = '\0';
            return;
        }
}

/*
 * Open the spool unless another instance of this process holds it.  Returns
 * KSPOOL_OK (open now or already), KSPOOL_WAIT (held here by an instance that
 * has not closed yet), or KSPOOL_ERR with err.  Under mu (or in create).
 */
static int take_spool(struct ksink *k, char *err, size_t err_len)
{
    if (k->spool)
        return KSPOOL_OK;
    kos_global_lock();
    int rc = KSPOOL_WAIT;
    if (!spool_registered_elsewhere(k->spool_dir)) {
        rc = kspool_open(&k->spool, &k->scfg, err, err_len);
        if (rc == KSPOOL_OK) {
            spool_register(k->spool_dir);
            k->spool_registered = 1;
        }
    }
    kos_global_unlock();
    if (rc == KSPOOL_OK) {
        /* A torn tail found while opening is counted and logged like any other. */
        kspool_get_stats(k->spool, &k->sp_last);
        k->sp_last.corrupt_frames = k->sp_last.corrupt_bytes = k->sp_last.corrupt_records = 0;
        spool_counters(k);
    }
    return rc;
}

/* Close the spool and let a successor instance take it.  Under mu. */
static int release_spool(struct ksink *k, char *err, size_t err_len)
{
    int rc = KSPOOL_OK;
    if (k->spool) {
        rc = kspool_close(k->spool, err, err_len);
        k->spool = NULL;
    }
    if (k->spool_registered) {
        kos_global_lock();
        spool_unregister(k->spool_dir);
        kos_global_unlock();
        k->spool_registered = 0;
    }
    return rc;
}

/* Append to the spool; on failure log and count.  Returns the kspool code.  Under mu. */
static int spool_put(struct ksink *k, const struct kspool_rec *r, int force)
{
    struct kspool_stats a, b;
    if (k->spool == NULL) {
        /* Only possible if a message is produced before the spool opened: never lose it quietly. */
        cnt_add(k, C_DROPPED, 1);
        etwhost_logf(k->api, k->h, ETWHOST_LOG_ERROR,
                     "kafka: no spool open for a returned message of %zu bytes (counted in "
                     "\"dropped\")",
                     r->value_len);
        return KSPOOL_ERR;
    }
    kspool_get_stats(k->spool, &a);
    int rc = kspool_append(k->spool, r, force);
    kspool_get_stats(k->spool, &b);
    uint64_t oldest = b.dropped - a.dropped - (rc == KSPOOL_TOOBIG ? 1 : 0);
    if (oldest > 0) {
        cnt_add(k, C_DROPPED, (int64_t)oldest);
        if (log_due(k, LK_DROP))
            etwhost_logf(k->api, k->h, ETWHOST_LOG_WARN,
                         "kafka: spool %s full (spool_max_bytes): dropped the %" PRIu64
                         " oldest message(s) (spool_full_policy \"drop_oldest\"; counted in "
                         "\"dropped\")",
                         k->spool_dir, oldest);
    }
    if (rc == KSPOOL_OK) {
        cnt_add(k, C_SPOOLED, 1);
    } else if (rc == KSPOOL_TOOBIG) {
        cnt_add(k, C_DROPPED, 1);
        if (log_due(k, LK_DROP))
            etwhost_logf(k->api, k->h, ETWHOST_LOG_ERROR,
                         "kafka: message of %zu bytes for topic \"%.*s\" is larger than the "
                         "spool (spool_max_bytes); dropped (counted in \"dropped\")",
                         r->value_len, (int)r->topic_len, r->topic);
    } else if (rc == KSPOOL_ERR) {
        if (log_due(k, LK_SPOOL_ERR))
            etwhost_logf(k->api, k->h, ETWHOST_LOG_ERROR, "kafka: spool %s: %s", k->spool_dir,
                         kspool_error(k->spool));
    }
    return rc;
}

/* 1 if new events must queue behind the spool.  Under mu. */
static int spool_mode(struct ksink *k)
{
    return k->rebuilding || k->drain_failed || kspool_unread(k->spool) > 0 ||
           atomic_load(&k->brokers_down) || atomic_load(&k->fatal_pending);
}

/*
 * 1 while events sent straight to the producer before an outage are still
 * on their way into the spool: new events wait (RETRY) so they land behind
 * them, for at most ORDER_HOLD_MS.  Under mu.
 */
static int hold_for_order(struct ksink *k)
{
    if (k->hold_until_ms == 0)
        return 0;
    if (atomic_load(&k->direct_depth) <= 0 || kos_now_ms() >= k->hold_until_ms) {
        k->hold_until_ms = 0;
        return 0;
    }
    return 1;
}

/* ---- librdkafka callbacks (service thread, or whoever polls) ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    struct ksink *k = opaque;
    int direct = is_direct(msg->_private);
    struct drain_tag *tag = direct ? NULL : msg->_private;
    int64_t ts_ms = direct ? direct_ts(msg->_private) : 0;
    rd_kafka_resp_err_t e = msg->err;
    (void)rk;
    cnt_add(k, C_QUEUE_DEPTH, -1);
    if (tag == NULL && e == RD_KAFKA_RESP_ERR_NO_ERROR)
        atomic_fetch_sub(&k->direct_depth, 1);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        cnt_add(k, C_DELIVERED, 1);
        if (atomic_load_explicit(&k->brokers_down, memory_order_relaxed))
            atomic_store(&k->brokers_down, 0);
        if (tag) {
            kos_mutex_lock(k->mu);
            kspool_ack(k->spool, tag->seq);
            k->drain_inflight--;
            k->drain_backoff_ms = DRAIN_BACKOFF_MIN;
            kos_mutex_unlock(k->mu);
            cnt_add(k, C_DRAINED, 1);
            free(tag);
        }
        wake_waiters(k);
        return;
    }
    cnt_add(k, C_FAILED, 1);
    const char *topic = rd_kafka_topic_name(msg->rkt);
    if (permanent_error(e)) {
        cnt_add(k, C_REJECTED, 1);
        if (log_due(k, LK_REJECT))
            etwhost_logf(k->api, k->h, ETWHOST_LOG_ERROR,
                         "kafka: topic \"%s\" refused a message of %zu bytes for good: %s "
                         "(counted in \"rejected\")",
                         topic, msg->len, rd_kafka_err2str(e));
    }
    kos_mutex_lock(k->mu);
    if (tag) {
        k->drain_inflight--;
        if (permanent_error(e))
            kspool_ack(k->spool, tag->seq);
        else
            k->drain_failed = 1;
        free(tag);
    } else if (!permanent_error(e)) {
        struct kspool_rec r;
        memset(&r, 0, sizeof r);
        r.topic = topic;
        r.topic_len = strlen(topic);
        r.key = msg->key;
        r.key_len = msg->key ? msg->key_len : 0;
        r.value = msg->payload;
        r.value_len = msg->len;
        r.ts_ms = ts_ms;
        rd_kafka_headers_t *hdrs = NULL;
        if (rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
            const char *name;
            const void *val;
            size_t vlen;
            for (size_t i = 0; r.nhdrs < KSPOOL_MAX_HDRS &&
                               rd_kafka_header_get_all(hdrs, i, &name, &val, &vlen) == 0;
                 i++) {
                r.hdrs[r.nhdrs++] = (struct kspool_hdr){name, strlen(name), val, vlen};
            }
        }
        if (spool_put(k, &r, 1) == KSPOOL_ERR)
            cnt_add(k, C_DROPPED, 1);
    }
    if (tag == NULL)
        atomic_fetch_sub(&k->direct_depth, 1); /* after the spool has it: see hold_for_order */
    kos_mutex_unlock(k->mu);
    wake_waiters(k);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct ksink *k = opaque;
    char fbuf[512];
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, fbuf, sizeof fbuf);
        etwhost_logf(k->api, k->h, ETWHOST_LOG_ERROR,
                     "kafka: fatal producer error: %s; spooling and restarting the producer",
                     fbuf);
        atomic_store(&k->fatal_pending, 1);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        /*
         * Raise the flag and the hold together under the mutex: write() holds it
         * for a whole batch, and must never see "down" without the hold, or new
         * events could enter the spool ahead of those still in the producer.
         */
        kos_mutex_lock(k->mu);
        int was = atomic_exchange(&k->brokers_down, 1);
        if (!was)
            k->hold_until_ms = kos_now_ms() + ORDER_HOLD_MS;
        kos_mutex_unlock(k->mu);
        if (!was) {
            atomic_store(&k->purge_req, 1);
            etwhost_logf(k->api, k->h, ETWHOST_LOG_WARN,
                         "kafka: all brokers down (%s); new events go to the spool %s", reason,
                         k->spool_dir);
        }
        return;
    }
    etwhost_logf(k->api, k->h, ETWHOST_LOG_DEBUG, "kafka: %s: %s", rd_kafka_err2name(err),
                 reason);
}

static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    struct ksink *k = opaque;
    (void)rk;
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, json, len);
    copy[len] = '\0';
    kos_mutex_lock(k->mu);
    free(k->rdstats);
    k->rdstats = copy;
    kos_mutex_unlock(k->mu);
    return 0;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    struct ksink *k = rd_kafka_opaque(rk);
    /* syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug */
    int32_t l = level <= 3 ? ETWHOST_LOG_ERROR : level == 4 ? ETWHOST_LOG_WARN :
                level <= 6 ? ETWHOST_LOG_INFO : ETWHOST_LOG_DEBUG;
    if (k)
        etwhost_logf(k->api, k->h, l, "kafka: rdkafka %s: %s", fac, buf);
}

/* ---- the drainer (service thread, under mu) ---- */

/* Send spooled messages while the window allows.  Returns 1 if more work is ready. */
static int drain_step(struct ksink *k, uint64_t now)
{
    if (k->rebuilding || k->spool == NULL)
        return 0;
    if (k->drain_failed) {
        if (k->drain_inflight > 0)
            return 0;
        /* Every failed message is still unacknowledged on disk: send again after a pause. */
        kspool_rewind(k->spool);
        k->drain_failed = 0;
        k->drain_resume_ms = now + k->drain_backoff_ms;
        k->drain_backoff_ms =
            k->drain_backoff_ms * 2 > DRAIN_BACKOFF_MAX ? DRAIN_BACKOFF_MAX : k->drain_backoff_ms * 2;
        return 0;
    }
    /* While no broker answers, the spool waits for probe_brokers() to see one. */
    if (now < k->drain_resume_ms || atomic_load(&k->brokers_down))
        return 0;
    for (int budget = 0; budget < 20000; budget++) {
        if (k->drain_inflight >= k->drain_window)
            return 0;
        struct kspool_rec r;
        uint64_t seq;
        int rc = kspool_next(k->spool, &r, &seq);
        if (rc == KSPOOL_NONE || rc == KSPOOL_WAIT)
            return 0;
        if (rc == KSPOOL_ERR) {
            if (log_due(k, LK_SPOOL_ERR))
                etwhost_logf(k->api, k->h, ETWHOST_LOG_ERROR, "kafka: reading spool %s: %s",
                             k->spool_dir, kspool_error(k->spool));
            k->drain_resume_ms = now + DRAIN_BACKOFF_MAX;
            return 0;
        }
        rd_kafka_resp_err_t e = produce_rec(k, &r, seq);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            k->drain_inflight++;
            continue;
        }
        if (permanent_error(e)) {
            cnt_add(k, C_REJECTED, 1);
            if (log_due(k, LK_REJECT))
                etwhost_logf(k->api, k->h, ETWHOST_LOG_ERROR,
                             "kafka: spooled message of %zu bytes for topic \"%.*s\" refused: %s "
                             "(counted in \"rejected\")",
                             r.value_len, (int)r.topic_len, r.topic, rd_kafka_err2str(e));
            kspool_ack(k->spool, seq);
            continue;
        }
        if (e == RD_KAFKA_RESP_ERR__FATAL)
            atomic_store(&k->fatal_pending, 1);
        /* Queue full or similar: resend from the first unacknowledged message later. */
        k->drain_failed = 1;
        k->drain_backoff_ms = DRAIN_BACKOFF_MIN;
        return 0;
    }
    return 1;
}

/* Mirror spool-side counts (drop_oldest, corruption) into the counters.  Under mu. */
static void spool_counters(struct ksink *k)
{
    struct kspool_stats st;
    if (k->spool == NULL)
        return;
    kspool_get_stats(k->spool, &st);
    uint64_t corrupt = st.corrupt_records + st.corrupt_frames;
    uint64_t corrupt_last = k->sp_last.corrupt_records + k->sp_last.corrupt_frames;
    if (st.corrupt_frames > k->sp_last.corrupt_frames) {
        etwhost_logf(k->api, k->h, ETWHOST_LOG_WARN,
                     "kafka: spool %s: skipped %" PRIu64 " torn or corrupt frame(s), %" PRIu64
                     " bytes, %" PRIu64 " message(s) known lost",
                     k->spool_dir, st.corrupt_frames - k->sp_last.corrupt_frames,
                     st.corrupt_bytes - k->sp_last.corrupt_bytes,
                     st.corrupt_records - k->sp_last.corrupt_records);
    }
    if (corrupt > corrupt_last)
        cnt_add(k, C_SPOOL_CORRUPT, (int64_t)(corrupt - corrupt_last));
    k->sp_last = st;
}

/* ---- producer construction ---- */

static rd_kafka_t *make_producer(struct ksink *k, char *err, size_t err_len)
{
    char es[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_dup(k->conf_tmpl);
    if (conf == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, es, sizeof es);
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, err_len, "cannot create the Kafka producer: %s", es);
    }
    return rk;
}

/*
 * After a fatal producer error (idempotence broken beyond repair) the
 * producer refuses everything: push what it holds into the spool and start
 * a new one.  Service thread only.
 */
static void rebuild_producer(struct ksink *k)
{
    char err[512];
    kos_mutex_lock(k->mu);
    k->rebuilding = 1;
    kos_mutex_unlock(k->mu);
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    uint64_t deadline = kos_now_ms() + 10000;
    while (cnt_get(k, C_QUEUE_DEPTH) > 0 && kos_now_ms() < deadline)
        rd_kafka_poll(k->rk, 50);
    kos_mutex_lock(k->mu);
    if (cnt_get(k, C_QUEUE_DEPTH) > 0)
        etwhost_logf(k->api, k->h, ETWHOST_LOG_ERROR,
                     "kafka: %" PRId64 " message(s) still held by the failed producer are lost",
                     cnt_get(k, C_QUEUE_DEPTH));
    topics_clear(k);
    rd_kafka_destroy(k->rk);
    atomic_store(&k->direct_depth, 0);
    k->rk = make_producer(k, err, sizeof err);
    if (k->rk == NULL) {
        etwhost_logf(k->api, k->h, ETWHOST_LOG_ERROR, "kafka: %s; events stay in the spool", err);
        kos_mutex_unlock(k->mu);
        return; /* rebuilding stays set: everything keeps going to the spool */
    }
    atomic_store(&k->fatal_pending, 0);
    k->rebuilding = 0;
    k->drain_inflight = 0;
    k->drain_failed = 1;
    kos_mutex_unlock(k->mu);
    etwhost_logf(k->api, k->h, ETWHOST_LOG_INFO, "kafka: producer restarted");
}

/* ---- service thread ---- */

/*
 * All brokers were down: ask for metadata.  An answer means a broker is back,
 * so the spool drains at once instead of waiting out its back-off.
 */
static void probe_brokers(struct ksink *k, uint64_t now)
{
    const struct rd_kafka_metadata *md = NULL;
    k->next_probe_ms = now + PROBE_MS;
    if (rd_kafka_metadata(k->rk, 0, NULL, &md, 500) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    int up = md->broker_cnt > 0;
    rd_kafka_metadata_destroy(md);
    if (!up)
        return;
    kos_mutex_lock(k->mu);
    atomic_store(&k->brokers_down, 0);
    k->drain_resume_ms = 0;
    k->drain_backoff_ms = DRAIN_BACKOFF_MIN;
    uint64_t pending = k->spool ? kspool_pending(k->spool) : 0;
    kos_mutex_unlock(k->mu);
    etwhost_logf(k->api, k->h, ETWHOST_LOG_INFO,
                 "kafka: brokers reachable again; sending %" PRIu64 " spooled message(s)",
                 pending);
}

static void service_main(void *arg)
{
    struct ksink *k = arg;
    while (!atomic_load(&k->stop)) {
        uint64_t now = kos_now_ms();
        kos_mutex_lock(k->mu);
        if (k->spool == NULL) {
            char err[512];
            if (take_spool(k, err, sizeof err) == KSPOOL_ERR &&
                now - k->spool_wait_logged_ms >= 10000) {
                k->spool_wait_logged_ms = now;
                etwhost_logf(k->api, k->h, ETWHOST_LOG_ERROR, "kafka: spool: %s", err);
            }
        }
        int more = drain_step(k, now);
        if (k->spool)
            kspool_flush_if_older(k->spool, now, SPOOL_BLOCK_AGE_MS);
        if (k->spool && now - k->last_sync_ms >= SPOOL_SYNC_MS) {
            if (kspool_sync(k->spool) != KSPOOL_OK && log_due(k, LK_SPOOL_ERR))
                etwhost_logf(k->api, k->h, ETWHOST_LOG_ERROR, "kafka: spool %s: %s",
                             k->spool_dir, kspool_error(k->spool));
            k->last_sync_ms = now;
        }
        spool_counters(k);
        kos_cond_broadcast(k->cv);
        kos_mutex_unlock(k->mu);
        if (atomic_exchange(&k->purge_req, 0) && k->rk != NULL && !k->rebuilding) {
            /*
             * Messages waiting in the producer would only time out: put them in
             * the spool now, ahead of the events that arrive from here on.
             */
            kos_mutex_lock(k->mu);
            k->hold_until_ms = now + ORDER_HOLD_MS;
            kos_mutex_unlock(k->mu);
            rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE);
        }
        if (atomic_load(&k->brokers_down) && k->rk != NULL && !k->rebuilding &&
            now >= k->next_probe_ms)
            probe_brokers(k, now);
        if (atomic_load(&k->fatal_pending) && k->rk != NULL)
            rebuild_producer(k);
        else if (k->rk == NULL) {
            kos_sleep_ms(1000);
            kos_mutex_lock(k->mu);
            char err[512];
            k->rk = make_producer(k, err, sizeof err);
            if (k->rk) {
                k->rebuilding = 0;
                atomic_store(&k->fatal_pending, 0);
            }
            kos_mutex_unlock(k->mu);
            continue;
        }
        if (k->rk == NULL)
            continue;
        if (atomic_load(&k->flush_req) && cnt_get(k, C_QUEUE_DEPTH) > 0)
            rd_kafka_flush(k->rk, 20); /* sends lingering batches now, serves reports */
        else
            rd_kafka_poll(k->rk, more ? 0 : 20);
    }
}

/* Wait (pipeline thread) until pred holds or the deadline passes; 1 if it holds. */
static int wait_until(struct ksink *k, int (*pred)(struct ksink *), uint64_t deadline)
{
    int ok;
    atomic_fetch_add(&k->waiters, 1);
    kos_mutex_lock(k->mu);
    while (!(ok = pred(k)) && kos_now_ms() < deadline)
        kos_cond_timedwait(k->cv, k->mu, 50);
    kos_mutex_unlock(k->mu);
    atomic_fetch_sub(&k->waiters, 1);
    return ok;
}

static int pred_queue_empty(struct ksink *k) { return cnt_get(k, C_QUEUE_DEPTH) <= 0; }

static int pred_all_delivered(struct ksink *k)
{
    return cnt_get(k, C_QUEUE_DEPTH) <= 0 && (k->spool == NULL || kspool_pending(k->spool) == 0) &&
           !k->drain_failed;
}

/* ---- descriptor callbacks ---- */

static etwhost_status ETWHOST_CALL k_write(void *inst, const etwhost_event *const *events,
                                           uint32_t count, uint32_t *accepted)
{
    struct ksink *k = inst;
    etwhost_status st = ETWHOST_OK;
    uint32_t i = 0;
    kos_mutex_lock(k->mu);
    if (k->spool == NULL) {
        /* The spool goes first: nothing is sent before it is open (see take_spool). */
        char err[512];
        int rc = take_spool(k, err, sizeof err);
        if (rc != KSPOOL_OK) {
            uint64_t now = kos_now_ms();
            if (now - k->spool_wait_logged_ms >= 10000) {
                k->spool_wait_logged_ms = now;
                if (rc == KSPOOL_ERR)
                    etwhost_logf(k->api, k->h, ETWHOST_LOG_ERROR, "kafka: spool: %s", err);
                else
                    etwhost_logf(k->api, k->h, ETWHOST_LOG_WARN,
                                 "kafka: spool %s is still held by another instance of this "
                                 "process; holding events back (two instances must not share "
                                 "a spool_dir)",
                                 k->spool_dir);
            }
            kos_mutex_unlock(k->mu);
            *accepted = 0;
            cnt_add(k, C_RETRIED, (int64_t)count);
            return ETWHOST_RETRY;
        }
    }
    for (; i < count; i++) {
        struct kmsg m;
        if (kmsg_render(k, events[i], &m) != 0) {
            st = ETWHOST_RETRY; /* out of memory: let the host back off */
            break;
        }
        for (;;) {
            if (spool_mode(k) && hold_for_order(k)) {
                st = ETWHOST_RETRY;
                break;
            }
            if (spool_mode(k)) {
                struct kspool_rec r;
                kmsg_to_rec(k, &m, &r);
                int rc = spool_put(k, &r, 0);
                if (rc != KSPOOL_OK && rc != KSPOOL_TOOBIG)
                    st = ETWHOST_RETRY; /* spool full (policy "block") or unwritable */
                break;
            }
            rd_kafka_resp_err_t e = produce_msg(k, &m);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
                break;
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && !atomic_load(&k->brokers_down)) {
                /* Brokers are up but slower than the sources: wait a little for room. */
                uint64_t deadline = kos_now_ms() + QUEUE_WAIT_MS;
                atomic_fetch_add(&k->waiters, 1);
                while ((e = produce_msg(k, &m)) == RD_KAFKA_RESP_ERR__QUEUE_FULL &&
                       kos_now_ms() < deadline && !atomic_load(&k->brokers_down))
                    kos_cond_timedwait(k->cv, k->mu, 10);
                atomic_fetch_sub(&k->waiters, 1);
                if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
                    break;
                if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && !atomic_load(&k->brokers_down)) {
                    st = ETWHOST_RETRY;
                    break;
                }
            }
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                continue; /* brokers down and the producer queue full: the spool takes it */
            if (permanent_error(e)) {
                cnt_add(k, C_REJECTED, 1);
                if (log_due(k, LK_REJECT))
                    etwhost_logf(k->api, k->h, ETWHOST_LOG_ERROR,
                                 "kafka: message of %zu bytes for topic \"%s\" refused: %s "
                                 "(counted in \"rejected\"; see message.max.bytes)",
                                 m.value_len, m.topic, rd_kafka_err2str(e));
                break;
            }
            /* Anything else (fatal producer error, no memory): keep it in the spool. */
            if (e == RD_KAFKA_RESP_ERR__FATAL)
                atomic_store(&k->fatal_pending, 1);
            if (log_due(k, LK_PRODUCE_ERR))
                etwhost_logf(k->api, k->h, ETWHOST_LOG_WARN,
                             "kafka: produce to \"%s\" failed (%s); spooling", m.topic,
                             rd_kafka_err2str(e));
            struct kspool_rec r;
            kmsg_to_rec(k, &m, &r);
            int rc = spool_put(k, &r, 0);
            if (rc != KSPOOL_OK && rc != KSPOOL_TOOBIG)
                st = ETWHOST_RETRY;
            break;
        }
        kmsg_free(&m);
        if (st != ETWHOST_OK)
            break;
    }
    kos_mutex_unlock(k->mu);
    *accepted = i;
    if (st != ETWHOST_OK)
        cnt_add(k, C_RETRIED, (int64_t)(count - i));
    return st;
}

/*
 * Flush: with brokers up, wait up to flush_timeout_ms for the producer queue
 * to empty.  With all brokers down nothing would arrive, so the messages
 * still queued (none are in flight) go to the spool at once instead.
 */
static etwhost_status ETWHOST_CALL k_flush(void *inst)
{
    struct ksink *k = inst;
    int ok;
    if (atomic_load(&k->brokers_down)) {
        kos_mutex_lock(k->mu);
        if (!k->rebuilding && k->rk)
            rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE);
        kos_mutex_unlock(k->mu);
    }
    atomic_store(&k->flush_req, 1);
    ok = wait_until(k, pred_queue_empty, kos_now_ms() + k->flush_timeout_ms);
    atomic_store(&k->flush_req, 0);
    kos_mutex_lock(k->mu);
    int rc = k->spool ? kspool_sync(k->spool) : KSPOOL_OK;
    kos_mutex_unlock(k->mu);
    if (rc != KSPOOL_OK)
        return ETWHOST_ERR_IO;
    return ok ? ETWHOST_OK : ETWHOST_RETRY;
}

static void stop_service(struct ksink *k)
{
    if (k->thr) {
        atomic_store(&k->stop, 1);
        kos_thread_join(k->thr);
        k->thr = NULL;
    }
}

/*
 * Close: give deliveries and the spool drain flush_timeout_ms, then purge
 * what librdkafka still holds into the spool (its delivery reports do that)
 * and sync the spool.  Nothing accepted is dropped here.
 */
static etwhost_status ETWHOST_CALL k_close(void *inst, char *err, size_t err_len)
{
    struct ksink *k = inst;
    if (k->closed)
        return ETWHOST_OK;
    k->closed = 1;
    atomic_store(&k->flush_req, 1);
    wait_until(k, pred_all_delivered, kos_now_ms() + k->flush_timeout_ms);
    stop_service(k);
    if (k->rk) {
        if (cnt_get(k, C_QUEUE_DEPTH) > 0) {
            rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            uint64_t deadline = kos_now_ms() + 10000;
            while (cnt_get(k, C_QUEUE_DEPTH) > 0 && kos_now_ms() < deadline)
                rd_kafka_poll(k->rk, 50);
        }
        rd_kafka_poll(k->rk, 0);
    }
    etwhost_status st = ETWHOST_OK;
    kos_mutex_lock(k->mu);
    spool_counters(k);
    struct kspool_stats sp = k->sp_last;
    if (k->spool)
        kspool_get_stats(k->spool, &sp);
    k->sp_last = sp;
    int64_t lost = cnt_get(k, C_QUEUE_DEPTH);
    char cerr[512] = "";
    int rc = release_spool(k, cerr, sizeof cerr);
    kos_mutex_unlock(k->mu);
    if (rc != KSPOOL_OK) {
        st = etwhost_errf(err, err_len, ETWHOST_ERR_IO,
                          "kafka: spool %s could not be saved: %s (%" PRIu64
                          " undelivered message(s) at risk)",
                          k->spool_dir, cerr, sp.pending);
    } else if (lost > 0) {
        st = etwhost_errf(err, err_len, ETWHOST_ERR_IO,
                          "kafka: %" PRId64 " message(s) neither delivered nor spooled", lost);
    }
    etwhost_logf(k->api, k->h, sp.pending ? ETWHOST_LOG_WARN : ETWHOST_LOG_INFO,
                 "kafka: closed: %" PRId64 " delivered (%" PRId64 " from the spool), %" PRIu64
                 " kept in spool %s, %" PRId64 " dropped, %" PRId64 " rejected",
                 cnt_get(k, C_DELIVERED), cnt_get(k, C_DRAINED), sp.pending, k->spool_dir,
                 cnt_get(k, C_DROPPED), cnt_get(k, C_REJECTED));
    return st;
}

/* JSON string escaping for stats. */
static size_t json_str(char *o, size_t cap, const char *s)
{
    size_t n = 0;
#define PUT(c) do { if (n + 1 < cap) o[n] = (c); n++; } while (0)
    PUT('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            PUT('\\');
            PUT((char)c);
        } else if (c < 0x20) {
            char u[8];
            snprintf(u, sizeof u, "\\u%04x", c);
            for (int i = 0; u[i]; i++)
                PUT(u[i]);
        } else {
            PUT((char)c);
        }
    }
    PUT('"');
#undef PUT
    if (cap)
        o[n < cap ? n : cap - 1] = '\0';
    return n;
}

static etwhost_status ETWHOST_CALL k_stats(void *inst, char *buf, size_t cap, size_t *needed)
{
    struct ksink *k = inst;
    char head[2048], dir[1024];
    struct kspool_stats sp;
    memset(&sp, 0, sizeof sp);
    kos_mutex_lock(k->mu);
    if (k->spool)
        kspool_get_stats(k->spool, &sp);
    else
        sp = k->sp_last;
    json_str(dir, sizeof dir, k->spool_dir);
    int hl = snprintf(head, sizeof head,
                      "{\"produced\":%" PRId64 ",\"delivered\":%" PRId64 ",\"failed\":%" PRId64
                      ",\"retried\":%" PRId64 ",\"spooled\":%" PRId64 ",\"drained\":%" PRId64
                      ",\"dropped\":%" PRId64 ",\"rejected\":%" PRId64
                      ",\"queue_depth\":%" PRId64 ",\"brokers_down\":%s,\"spool\":{\"dir\":%s,"
                      "\"bytes\":%" PRIu64 ",\"pending\":%" PRIu64 ",\"segments\":%" PRIu64
                      ",\"corrupt_frames\":%" PRIu64 ",\"corrupt_messages\":%" PRIu64 "}",
                      cnt_get(k, C_PRODUCED), cnt_get(k, C_DELIVERED), cnt_get(k, C_FAILED),
                      cnt_get(k, C_RETRIED), cnt_get(k, C_SPOOLED), cnt_get(k, C_DRAINED),
                      cnt_get(k, C_DROPPED), cnt_get(k, C_REJECTED), cnt_get(k, C_QUEUE_DEPTH),
                      atomic_load(&k->brokers_down) ? "true" : "false", dir, sp.bytes,
                      sp.pending, sp.segments, sp.corrupt_frames, sp.corrupt_records);
    size_t rl = k->rdstats ? strlen(k->rdstats) : 0;
    size_t need = (size_t)hl + (rl ? 11 + rl : 0) + 2;
    etwhost_status st = ETWHOST_OK;
    if (needed)
        *needed = need;
    if (buf == NULL || cap < need) {
        /* Too small for librdkafka's statistics: fall back to ours alone. */
        if (buf && cap >= (size_t)hl + 2) {
            memcpy(buf, head, (size_t)hl);
            memcpy(buf + hl, "}", 2);
        } else {
            st = ETWHOST_ERR_RANGE;
        }
    } else {
        memcpy(buf, head, (size_t)hl);
        size_t o = (size_t)hl;
        if (rl) {
            memcpy(buf + o, ",\"rdkafka\":", 11);
            o += 11;
            memcpy(buf + o, k->rdstats, rl);
            o += rl;
        }
        memcpy(buf + o, "}", 2);
    }
    kos_mutex_unlock(k->mu);
    return st;
}

static void k_destroy(void *inst)
{
    struct ksink *k = inst;
    if (k == NULL)
        return;
    if (!k->closed) {
        /* Never closed (host stopping early): do not wait, but keep everything. */
        char err[256];
        k->flush_timeout_ms = 0;
        k_close(k, err, sizeof err);
    }
    stop_service(k);
    if (k->mu) {
        char err[256];
        release_spool(k, err, sizeof err);
    }
    topics_clear(k);
    if (k->rk)
        rd_kafka_destroy(k->rk);
    if (k->conf_tmpl)
        rd_kafka_conf_destroy(k->conf_tmpl);
    ktmpl_free(k->topic_t);
    ktmpl_free(k->key_t);
    kos_cond_free(k->cv);
    kos_mutex_free(k->mu);
    free(k->rdstats);
    free(k);
}

/* ---- create ---- */

struct conf_ctx {
    rd_kafka_conf_t *conf;
    int has_bootstrap;
};

static int conf_member(void *ctx, const char *key, const char *value, char *err, size_t err_len)
{
    struct conf_ctx *c = ctx;
    char es[512];
    if (rd_kafka_conf_set(c->conf, key, value, es, sizeof es) != RD_KAFKA_CONF_OK) {
        snprintf(err, err_len, "rdkafka property \"%s\": %s", key, es);
        return -1;
    }
    if (strcmp(key, "bootstrap.servers") == 0 || strcmp(key, "metadata.broker.list") == 0)
        c->has_bootstrap = value[0] != '\0';
    return 0;
}

static etwhost_status get_str(const etwhost_host_api *api, const etwhost_config *c,
                              const char *key, const char **out, char *err, size_t err_len)
{
    size_t len;
    etwhost_status st = api->config_get_str(c, key, out, &len);
    if (st == ETWHOST_ERR_NOTFOUND) {
        *out = NULL;
        return ETWHOST_OK;
    }
    if (st != ETWHOST_OK)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG, "setting \"%s\" must be a string",
                            key);
    if (strlen(*out) != len)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                            "setting \"%s\" contains a NUL character", key);
    return ETWHOST_OK;
}

static etwhost_status get_int(const etwhost_host_api *api, const etwhost_config *c,
                              const char *key, int64_t def, int64_t lo, int64_t hi, int64_t *out,
                              char *err, size_t err_len)
{
    etwhost_status st = api->config_get_i64(c, key, out);
    if (st == ETWHOST_ERR_NOTFOUND) {
        *out = def;
        return ETWHOST_OK;
    }
    if (st != ETWHOST_OK)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG, "setting \"%s\" must be an integer",
                            key);
    if (*out < lo || *out > hi)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                            "setting \"%s\" = %" PRId64 " is out of range [%" PRId64
                            ", %" PRId64 "]",
                            key, *out, lo, hi);
    return ETWHOST_OK;
}

static etwhost_status set_default(rd_kafka_conf_t *conf, const char *key, const char *value,
                                  char *err, size_t err_len)
{
    char es[512];
    if (rd_kafka_conf_set(conf, key, value, es, sizeof es) != RD_KAFKA_CONF_OK)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG, "rdkafka default %s=%s: %s", key,
                            value, es);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL k_create(etwhost_host *h, const etwhost_host_api *api,
                                            const etwhost_config *c, void **out, char *err,
                                            size_t err_len)
{
    etwhost_status st;
    const char *s;
    int64_t v;
    char e2[512];
    *out = NULL;
    /* The spool's checksum table, filled here (serialized) before any service thread runs. */
    psup_crc32c_init();
    struct ksink *k = calloc(1, sizeof *k);
    if (k == NULL)
        return etwhost_errf(err, err_len, ETWHOST_ERR_NOMEM, "out of memory");
    k->h = h;
    k->api = api;
    for (int i = 0; i < C_COUNT; i++)
        k->cid[i] = -1;
    k->drain_backoff_ms = DRAIN_BACKOFF_MIN;
    k->mu = kos_mutex_new();
    k->cv = kos_cond_new();
    if (k->mu == NULL || k->cv == NULL) {
        st = etwhost_errf(err, err_len, ETWHOST_ERR_NOMEM, "out of memory");
        goto fail;
    }

    /* Templates. */
    if ((st = get_str(api, c, "topic", &s, err, err_len)) != ETWHOST_OK)
        goto fail;
    if (ktmpl_compile(s ? s : DEFAULT_TOPIC, 1, &k->topic_t, err, err_len) != 0) {
        st = ETWHOST_ERR_CONFIG;
        goto fail;
    }
    if ((st = get_str(api, c, "key", &s, err, err_len)) != ETWHOST_OK)
        goto fail;
    if (s && s[0] && ktmpl_compile(s, 0, &k->key_t, err, err_len) != 0) {
        st = ETWHOST_ERR_CONFIG;
        goto fail;
    }
    int32_t b = 1;
    st = api->config_get_bool(c, "headers", &b);
    if (st != ETWHOST_OK && st != ETWHOST_ERR_NOTFOUND) {
        st = etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG, "setting \"headers\" must be true or false");
        goto fail;
    }
    k->headers = st == ETWHOST_OK ? b != 0 : 1;
    if ((st = get_str(api, c, "host", &s, err, err_len)) != ETWHOST_OK)
        goto fail;
    if (s && s[0])
        snprintf(k->host, sizeof k->host, "%s", s);
    else
        kos_hostname(k->host, sizeof k->host);
    if ((st = get_str(api, c, "timestamp", &s, err, err_len)) != ETWHOST_OK)
        goto fail;
    k->event_time = 1;
    if (s && strcmp(s, "now") == 0)
        k->event_time = 0;
    else if (s && strcmp(s, "event") != 0) {
        st = etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                          "setting \"timestamp\" must be \"event\" or \"now\", not \"%s\"", s);
        goto fail;
    }
    if ((st = get_int(api, c, "flush_timeout_ms", DEFAULT_FLUSH_MS, 0, 3600000, &v, err,
                      err_len)) != ETWHOST_OK)
        goto fail;
    k->flush_timeout_ms = (uint32_t)v;

    /* librdkafka configuration: our defaults, then the user's properties, then brokers. */
    k->conf_tmpl = rd_kafka_conf_new();
    if (k->conf_tmpl == NULL) {
        st = etwhost_errf(err, err_len, ETWHOST_ERR_NOMEM, "out of memory");
        goto fail;
    }
    static const char *const defaults[][2] = {
        {"enable.idempotence", "true"}, {"acks", "all"},         {"compression.type", "zstd"},
        {"linger.ms", "5"},             {"client.id", "etwhost"},
    };
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if ((st = set_default(k->conf_tmpl, defaults[i][0], defaults[i][1], err, err_len)) !=
            ETWHOST_OK)
            goto fail;
    struct conf_ctx cc = {k->conf_tmpl, 0};
    const char *rj;
    size_t rjl;
    st = api->config_get_json(c, "rdkafka", &rj, &rjl);
    if (st == ETWHOST_OK) {
        if (kjson_each_member(rj, rjl, conf_member, &cc, err, err_len) != 0) {
            st = ETWHOST_ERR_CONFIG;
            goto fail;
        }
    } else if (st != ETWHOST_ERR_NOTFOUND) {
        st = etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                          "setting \"rdkafka\" must be an object of librdkafka properties");
        goto fail;
    }
    if ((st = get_str(api, c, "brokers", &s, err, err_len)) != ETWHOST_OK)
        goto fail;
    if (s && s[0]) {
        if (rd_kafka_conf_set(k->conf_tmpl, "bootstrap.servers", s, e2, sizeof e2) !=
            RD_KAFKA_CONF_OK) {
            st = etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG, "setting \"brokers\": %s", e2);
            goto fail;
        }
        snprintf(k->brokers_text, sizeof k->brokers_text, "%s", s);
    } else if (!cc.has_bootstrap) {
        st = etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                          "setting \"brokers\" is required (bootstrap servers, e.g. "
                          "\"127.0.0.1:9092\")");
        goto fail;
    } else {
        size_t bl = sizeof k->brokers_text;
        rd_kafka_conf_get(k->conf_tmpl, "bootstrap.servers", k->brokers_text, &bl);
    }
    char qmax[32];
    size_t ql = sizeof qmax;
    int64_t queue_max = 100000;
    if (rd_kafka_conf_get(k->conf_tmpl, "queue.buffering.max.messages", qmax, &ql) ==
        RD_KAFKA_CONF_OK)
        queue_max = strtoll(qmax, NULL, 10);
    k->drain_window = (uint32_t)(queue_max / 2 > 65536 ? 65536 : queue_max / 2 < 1 ? 1 :
                                 queue_max / 2);
    k->wake_depth = queue_max * 3 / 4;

    /* Spool. */
    if ((st = get_str(api, c, "spool_dir", &s, err, err_len)) != ETWHOST_OK)
        goto fail;
    if (s && s[0]) {
        snprintf(k->spool_dir, sizeof k->spool_dir, "%s", s);
    } else {
        char sd[4000];
        size_t need = 0;
        if (!ETWHOST_API_HAS(api, state_dir) ||
            api->state_dir(h, sd, sizeof sd, &need) != ETWHOST_OK) {
            st = etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                              "setting \"spool_dir\" is required (this host gives no state "
                              "directory)");
            goto fail;
        }
        snprintf(k->spool_dir, sizeof k->spool_dir, "%s/spool", sd);
    }
    struct kspool_cfg scfg;
    memset(&scfg, 0, sizeof scfg);
    scfg.dir = k->spool_dir; /* points into k: copied with scfg below */
    if ((st = get_int(api, c, "spool_max_bytes", (int64_t)DEFAULT_SPOOL_MAX, 1 << 20, INT64_MAX,
                      &v, err, err_len)) != ETWHOST_OK)
        goto fail;
    scfg.max_bytes = (uint64_t)v;
    uint64_t segdef = scfg.max_bytes / 16;
    segdef = segdef < (1u << 20) ? (1u << 20) : segdef > (64u << 20) ? (64u << 20) : segdef;
    if ((st = get_int(api, c, "spool_segment_bytes", (int64_t)segdef, 64 << 10, 1LL << 32, &v,
                      err, err_len)) != ETWHOST_OK)
        goto fail;
    scfg.segment_bytes = (uint64_t)v;
    scfg.block_bytes = 256u << 10;
    scfg.window = k->drain_window;
    scfg.zstd_level = 1;
    scfg.policy = KSPOOL_POLICY_BLOCK;
    if ((st = get_str(api, c, "spool_full_policy", &s, err, err_len)) != ETWHOST_OK)
        goto fail;
    if (s && strcmp(s, "drop_oldest") == 0)
        scfg.policy = KSPOOL_POLICY_DROP_OLDEST;
    else if (s && strcmp(s, "block") != 0) {
        st = etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                          "setting \"spool_full_policy\" must be \"block\" or \"drop_oldest\", "
                          "not \"%s\"",
                          s);
        goto fail;
    }
    k->scfg = scfg;
    for (int i = 0; i < C_COUNT; i++) {
        int32_t id = api->counter_register(h, counter_names[i]);
        k->cid[i] = id >= 0 ? id : -1;
    }
    int sprc = take_spool(k, e2, sizeof e2);
    if (sprc == KSPOOL_ERR) {
        st = etwhost_errf(err, err_len, ETWHOST_ERR_IO, "spool: %s", e2);
        goto fail;
    }
    if (sprc == KSPOOL_WAIT)
        etwhost_logf(api, h, ETWHOST_LOG_INFO,
                     "kafka: spool %s is still open in the instance this one replaces; taking "
                     "it over when that one closes",
                     k->spool_dir);

    k->rk = make_producer(k, err, err_len);
    if (k->rk == NULL) {
        st = ETWHOST_ERR_CONFIG;
        goto fail;
    }
    k->last_sync_ms = kos_now_ms();
    k->thr = kos_thread_start(service_main, k);
    if (k->thr == NULL) {
        st = etwhost_errf(err, err_len, ETWHOST_ERR, "cannot start the kafka service thread");
        goto fail;
    }
    uint64_t pending = k->spool ? kspool_pending(k->spool) : 0;
    etwhost_logf(api, h, ETWHOST_LOG_INFO,
                 "kafka: brokers %s, spool %s%s%" PRIu64 " message(s) pending%s",
                 k->brokers_text, k->spool_dir, pending ? " (" : " (", pending,
                 pending ? ", sending them first)" : ")");
    *out = k;
    return ETWHOST_OK;
fail:
    if (k->mu)
        release_spool(k, e2, sizeof e2);
    k->closed = 1;
    k_destroy(k);
    return st < 0 ? st : ETWHOST_ERR_CONFIG;
}

static const char *const kafka_keys[] = {
    "brokers",         "topic",           "key",       "headers",
    "host",            "timestamp",       "rdkafka",   "flush_timeout_ms",
    "spool_dir",       "spool_max_bytes", "spool_segment_bytes", "spool_full_policy",
    NULL,
};

static const etwhost_plugin kafka_plugin = {
    sizeof(etwhost_plugin),
    ETWHOST_ABI_MAJOR,
    ETWHOST_ABI_MINOR,
    ETWHOST_KIND_SINK,
    0,
    "kafka",
    KAFKA_PLUGIN_VERSION,
    "Apache Kafka sink (librdkafka) with an at-least-once disk spool",
    0,
    0,
    kafka_keys,
    k_create,
    k_destroy,
    NULL,
    k_write,
    k_flush,
    k_close,
    k_stats,
};

ETWHOST_PLUGIN_DEFINE(kafka_plugin)
