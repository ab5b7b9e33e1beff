/*
 * etl_writer: builds .etl files record by record.
 *
 * Each processor has one open buffer; a record goes to its processor's
 * buffer and a full buffer is written out (compressed if asked) before the
 * record that did not fit.  The header buffer is written first as a
 * placeholder and rewritten at close, when EndTime and BuffersWritten are
 * known.  Output goes to a FILE or to a growable memory buffer.
 */
#include "etl_writer.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/mem.h"
#include "../platform/platform.h"
#include "etl_format.h"
#include "etl_reader.h"
#include "lz77.h"

#define DEFAULT_BUFFER_SIZE 65536u
#define DEFAULT_START_TIME 133485408000000000LL /* 2024-01-01T00:00:00Z */
#define MAX_RECORD 0xFFFFu
#define COMPRESSED_HEADER_BUFFER 1024u

/* KernelTraceControl MetaData class: TDH schemas embedded by relogging tools. */
static const etwhost_guid tdh_metadata_guid = {
    0xbbccf6c1, 0x6cd1, 0x48c4, {0x80, 0xff, 0x83, 0x94, 0x82, 0xe3, 0x76, 0x71}};

struct wcpu {
    uint8_t *buf; /* buffer_size bytes: header + records */
    uint32_t used; /* record bytes after the header, 8-aligned */
    int64_t last_ts;
};

struct etl_writer {
    struct etl_writer_options o;
    struct trace_info ti; /* for time conversion */
    FILE *f;
    struct buf mem;
    int to_mem;
    int started; /* the header buffer placeholder is out */
    int failed;
    uint8_t *hdr; /* the header buffer */
    uint32_t hdr_size;
    struct wcpu *cpus; /* indexed by processor, grown on demand */
    size_t ncpus;
    uint8_t *rec;  /* one record being built */
    uint8_t *cbuf; /* compressed output */
    size_t ccap;
    uint64_t seq, buffers, records;
    int64_t max_ts;
};

static void put_guid(uint8_t *p, const etwhost_guid *g)
{
    le_w32(p, g->data1);
    le_w16(p + 4, g->data2);
    le_w16(p + 6, g->data3);
    memcpy(p + 8, g->data4, 8);
}

static uint32_t pad8(uint32_t n)
{
    return (n + 7u) & ~7u;
}

static int sink_write(struct etl_writer *w, const void *p, size_t n, struct errbuf *eb)
{
    if (w->to_mem) {
        if (buf_append(&w->mem, p, n))
            return errbuf_set(eb, ERR_NOMEM, "etl writer: out of memory");
        return 0;
    }
    if (n && fwrite(p, 1, n, w->f) != n)
        return errbuf_set(eb, ERR_IO, "etl writer: write failed");
    return 0;
}

/* Logfile header record at w->hdr + 0x48; returns its size. */
static uint32_t build_logfile_header(struct etl_writer *w, uint8_t *p)
{
    const struct etl_writer_options *o = &w->o;
    int is64 = o->pointer_size == 8;
    uint32_t lay = is64 ? ETL_LOGFILE_HDR64 : ETL_LOGFILE_HDR32;
    size_t ln = strlen(o->logger_name), fn = strlen(o->logfile_name);
    uint32_t size = ETL_SYSTEM_HDR + lay + (uint32_t)(2 * (ln + 1) + 2 * (fn + 1));
    memset(p, 0, size);
    le_w16(p, 2); /* Version */
    p[2] = (uint8_t)(is64 ? ETL_HT_SYSTEM64 : ETL_HT_SYSTEM32);
    p[3] = ETL_MARKER_FLAGS_TRACE;
    le_w16(p + 4, size);
    le_w16(p + 6, 0); /* hook: logfile header */
    le_w64(p + 16, (uint64_t)o->t0_raw);
    uint8_t *d = p + ETL_SYSTEM_HDR;
    le_w32(d, o->buffer_size);
    d[4] = (uint8_t)o->os_major;
    d[5] = (uint8_t)o->os_minor;
    d[6] = o->compress ? 2 : 1; /* SubVersion */
    d[7] = o->compress ? 0 : 5;
    le_w32(d + 0x08, o->os_build);
    le_w32(d + 0x0C, o->num_cpus);
    le_w64(d + 0x10, 0); /* EndTime, set at close */
    le_w32(d + 0x18, 156250);
    le_w32(d + 0x20, o->log_file_mode);
    le_w32(d + 0x28, 1); /* StartBuffers */
    le_w32(d + 0x2C, o->pointer_size);
    le_w32(d + 0x34, o->cpu_mhz);
    uint32_t ps = is64 ? 8 : 4;
    uint8_t *tz = d + 0x38 + 2 * ps;
    le_w32(tz, (uint32_t)o->tz_bias_minutes);
    static const char zone[] = "UTC";
    for (size_t i = 0; i < sizeof zone - 1; i++) {
        tz[4 + 2 * i] = (uint8_t)zone[i];
        tz[4 + 64 + 16 + 4 + 2 * i] = (uint8_t)zone[i];
    }
    uint8_t *t = d + lay - 0x20;
    int64_t boot = o->clock_type == TRACE_CLOCK_SYSTEM ? o->start_time
                                                       : etl_clock_to_filetime(&w->ti, 0);
    le_w64(t, (uint64_t)boot);
    le_w64(t + 8, (uint64_t)o->perf_freq);
    le_w64(t + 16, (uint64_t)o->start_time);
    le_w32(t + 24, o->clock_type);
    uint8_t *s = d + lay;
    for (size_t i = 0; i < ln; i++)
        s[2 * i] = (uint8_t)o->logger_name[i];
    s += 2 * (ln + 1);
    for (size_t i = 0; i < fn; i++)
        s[2 * i] = (uint8_t)o->logfile_name[i];
    return size;
}

/* Fill a WMI_BUFFER_HEADER. */
static void buffer_header(uint8_t *b, uint32_t size, uint32_t filled, int64_t ts, uint64_t seq,
                          uint32_t cpu, uint16_t flags, uint16_t type)
{
    memset(b, 0, ETL_BUF_HDR);
    le_w32(b + ETL_BUF_SIZE, size);
    le_w32(b + ETL_BUF_SAVED, filled);
    le_w32(b + 0x08, filled); /* CurrentOffset */
    le_w64(b + ETL_BUF_TIMESTAMP, (uint64_t)ts);
    le_w64(b + ETL_BUF_SEQ, seq);
    le_w16(b + ETL_BUF_PROC, cpu);
    le_w16(b + ETL_BUF_LOGGER, 1);
    le_w32(b + ETL_BUF_STATE, 3); /* flushed */
    le_w32(b + ETL_BUF_OFFSET, filled);
    le_w16(b + ETL_BUF_FLAGS, flags);
    le_w16(b + ETL_BUF_TYPE, type);
}

int etl_writer_open(const char *path, const struct etl_writer_options *opt, struct etl_writer **out,
                    struct errbuf *eb)
{
    *out = NULL;
    struct etl_writer *w = mem_calloc(1, sizeof *w);
    if (w == NULL)
        return errbuf_set(eb, ERR_NOMEM, "etl writer: out of memory");
    if (opt)
        w->o = *opt;
    struct etl_writer_options *o = &w->o;
    if (o->pointer_size == 0)
        o->pointer_size = 8;
    if (o->clock_type == 0)
        o->clock_type = TRACE_CLOCK_QPC;
    if (o->num_cpus == 0)
        o->num_cpus = 1;
    if (o->buffer_size == 0)
        o->buffer_size = DEFAULT_BUFFER_SIZE;
    if (o->start_time == 0)
        o->start_time = DEFAULT_START_TIME;
    if (o->perf_freq == 0)
        o->perf_freq = 10000000;
    if (o->cpu_mhz == 0)
        o->cpu_mhz = 3000;
    if (o->os_major == 0) {
        o->os_major = 10;
        o->os_build = o->os_build ? o->os_build : 19045;
    }
    if (o->log_file_mode == 0)
        o->log_file_mode = 0x1;
    if (o->compress)
        o->log_file_mode |= ETL_MODE_COMPRESSED;
    if (o->logger_name == NULL)
        o->logger_name = "etwhost";
    if (o->logfile_name == NULL)
        o->logfile_name = "";
    int rc = 0;
    if ((o->pointer_size != 4 && o->pointer_size != 8) || o->clock_type > TRACE_CLOCK_CYCLES ||
        o->buffer_size < 1024 || o->buffer_size > (64u << 20) || o->perf_freq < 0 ||
        strlen(o->logger_name) > 200 || strlen(o->logfile_name) > 200) {
        rc = errbuf_set(eb, ERR_INVAL, "etl writer: invalid options");
        goto fail;
    }
    w->ti.clock_type = o->clock_type;
    w->ti.perf_freq = o->perf_freq;
    w->ti.cpu_mhz = o->cpu_mhz;
    w->ti.start_time = o->start_time;
    w->ti.t0_raw = o->t0_raw;
    w->max_ts = o->t0_raw;
    w->rec = mem_alloc(MAX_RECORD + 8);
    w->ccap = lz77_compress_bound(o->buffer_size);
    w->cbuf = mem_alloc(w->ccap);
    /* The header buffer: a full buffer, or a small one as compressed sessions write. */
    uint8_t tmp[ETL_SYSTEM_HDR + ETL_LOGFILE_HDR64 + 2 * 202 * 2];
    uint32_t lsize = build_logfile_header(w, tmp);
    uint32_t need = ETL_BUF_HDR + pad8(lsize);
    w->hdr_size = o->compress ? (need + 511u) & ~511u : o->buffer_size;
    if (w->hdr_size < COMPRESSED_HEADER_BUFFER)
        w->hdr_size = o->compress ? COMPRESSED_HEADER_BUFFER : w->hdr_size;
    if (need > w->hdr_size) {
        rc = errbuf_set(eb, ERR_INVAL, "etl writer: buffer size too small for the header");
        goto fail;
    }
    w->hdr = mem_alloc(w->hdr_size);
    if (w->rec == NULL || w->cbuf == NULL || w->hdr == NULL) {
        rc = errbuf_set(eb, ERR_NOMEM, "etl writer: out of memory");
        goto fail;
    }
    memset(w->hdr, 0xFF, w->hdr_size);
    buffer_header(w->hdr, w->hdr_size, need, o->t0_raw, 0, 0, ETL_BUFFLAG_FLUSH_MARKER,
                  ETL_BUFTYPE_HEADER);
    memset(w->hdr + ETL_BUF_HDR, 0, pad8(lsize));
    memcpy(w->hdr + ETL_BUF_HDR, tmp, lsize);
    w->buffers = 1;
    if (path == NULL) {
        w->to_mem = 1;
    } else {
        w->f = plat_fopen(path, "wb", eb);
        if (w->f == NULL) {
            rc = ERR_IO;
            goto fail;
        }
    }
    rc = sink_write(w, w->hdr, w->hdr_size, eb);
    if (rc)
        goto fail;
    w->started = 1;
    *out = w;
    return 0;
fail:
    etl_writer_close(w, NULL, NULL, NULL);
    return rc;
}

/* Write out the buffer of processor cpu (if it holds records). */
static int flush_cpu(struct etl_writer *w, uint32_t cpu, uint16_t extra_flags, struct errbuf *eb)
{
    struct wcpu *c = &w->cpus[cpu];
    if (c->buf == NULL || c->used == 0)
        return 0;
    uint32_t filled = ETL_BUF_HDR + c->used;
    uint16_t flags = (uint16_t)(ETL_BUFFLAG_PROC_INDEX | extra_flags);
    int rc;
    w->seq++;
    if (w->o.compress) {
        size_t clen = 0;
        rc = lz77_compress(c->buf + ETL_BUF_HDR, c->used, w->cbuf, w->ccap, &clen);
        if (rc)
            return errbuf_set(eb, rc, "etl writer: compression failed");
        uint8_t h[ETL_BUF_HDR];
        buffer_header(h, (uint32_t)(ETL_BUF_HDR + clen), filled, c->last_ts, w->seq, cpu,
                      (uint16_t)(flags | ETL_BUFFLAG_COMPRESSED), ETL_BUFTYPE_GENERIC);
        rc = sink_write(w, h, ETL_BUF_HDR, eb);
        if (rc == 0)
            rc = sink_write(w, w->cbuf, clen, eb);
    } else {
        buffer_header(c->buf, w->o.buffer_size, filled, c->last_ts, w->seq, cpu, flags,
                      ETL_BUFTYPE_GENERIC);
        memset(c->buf + filled, 0xFF, w->o.buffer_size - filled);
        rc = sink_write(w, c->buf, w->o.buffer_size, eb);
    }
    if (rc)
        return rc;
    w->buffers++;
    c->used = 0;
    return 0;
}

/* Put size bytes of w->rec into the buffer of cpu. */
static int put_record(struct etl_writer *w, uint32_t cpu, uint32_t size, int64_t ts,
                      struct errbuf *eb)
{
    if (cpu > 0xFFFF)
        return errbuf_set(eb, ERR_INVAL, "etl writer: processor %" PRIu32 " out of range", cpu);
    if (ETL_BUF_HDR + pad8(size) > w->o.buffer_size)
        return errbuf_set(eb, ERR_RANGE, "etl writer: record of %" PRIu32 " bytes does not fit "
                          "a %" PRIu32 "-byte buffer", size, w->o.buffer_size);
    if (cpu >= w->ncpus) {
        size_t n = w->ncpus;
        if (mem_grow(&w->cpus, &w->ncpus, (size_t)cpu + 1, sizeof *w->cpus))
            return errbuf_set(eb, ERR_NOMEM, "etl writer: out of memory");
        memset(w->cpus + n, 0, (w->ncpus - n) * sizeof *w->cpus);
    }
    struct wcpu *c = &w->cpus[cpu];
    if (c->buf == NULL) {
        c->buf = mem_alloc(w->o.buffer_size);
        if (c->buf == NULL)
            return errbuf_set(eb, ERR_NOMEM, "etl writer: out of memory");
    }
    if (ETL_BUF_HDR + c->used + pad8(size) > w->o.buffer_size) {
        int rc = flush_cpu(w, cpu, 0, eb);
        if (rc)
            return rc;
    }
    uint8_t *p = c->buf + ETL_BUF_HDR + c->used;
    memcpy(p, w->rec, size);
    memset(p + size, 0, pad8(size) - size);
    c->used += pad8(size);
    c->last_ts = ts;
    if (ts > w->max_ts)
        w->max_ts = ts;
    w->records++;
    return 0;
}

int etl_writer_append(struct etl_writer *w, const struct etl_wrecord *r, struct errbuf *eb)
{
    if (w->failed)
        return errbuf_set(eb, ERR_STATE, "etl writer: an earlier error stopped this writer");
    uint8_t *p = w->rec;
    uint64_t size;
    int rc = 0;
    switch (r->kind) {
    case ETWHOST_HK_SYSTEM:
    case ETWHOST_HK_PERFINFO: {
        int perf = r->kind == ETWHOST_HK_PERFINFO;
        uint32_t hdr = perf ? ETL_PERFINFO_HDR : r->compact ? ETL_COMPACT_HDR : ETL_SYSTEM_HDR;
        if (r->n_pmc > 7)
            return errbuf_set(eb, ERR_INVAL, "etl writer: at most 7 PMC counters");
        uint32_t extb = 8 * ((r->has_pebs ? 1u : 0u) + r->n_pmc);
        size = (uint64_t)hdr + extb + r->data_len;
        if (size > MAX_RECORD)
            break;
        memset(p, 0, hdr);
        le_w16(p, (uint32_t)r->version | (r->has_pebs ? ETL_PEBS_FLAG : 0) | r->n_pmc << 8);
        if (perf)
            p[2] = (uint8_t)(r->ptr32 ? ETL_HT_PERFINFO32 : ETL_HT_PERFINFO64);
        else if (r->compact)
            p[2] = (uint8_t)(r->ptr32 ? ETL_HT_COMPACT32 : ETL_HT_COMPACT64);
        else
            p[2] = (uint8_t)(r->ptr32 ? ETL_HT_SYSTEM32 : ETL_HT_SYSTEM64);
        p[3] = ETL_MARKER_FLAGS_TRACE;
        le_w16(p + 4, (uint32_t)size);
        le_w16(p + 6, r->hook_id);
        if (perf) {
            le_w64(p + 8, (uint64_t)r->raw_timestamp);
        } else {
            le_w32(p + 8, r->tid);
            le_w32(p + 12, r->pid);
            le_w64(p + 16, (uint64_t)r->raw_timestamp);
        }
        uint8_t *q = p + hdr;
        if (r->has_pebs) {
            le_w64(q, r->pebs);
            q += 8;
        }
        for (uint32_t i = 0; i < r->n_pmc; i++, q += 8)
            le_w64(q, r->pmc[i]);
        if (r->data_len)
            memcpy(q, r->data, r->data_len);
        break;
    }
    case ETWHOST_HK_TRACE:
    case ETWHOST_HK_INSTANCE: {
        int inst = r->kind == ETWHOST_HK_INSTANCE;
        uint32_t hdr = inst ? ETL_INSTANCE_HDR : ETL_FULL_HDR;
        size = (uint64_t)hdr + r->data_len;
        if (size > MAX_RECORD)
            break;
        memset(p, 0, hdr);
        le_w16(p, (uint32_t)size);
        if (inst)
            p[2] = (uint8_t)(r->ptr32 ? ETL_HT_INSTANCE32 : ETL_HT_INSTANCE64);
        else
            p[2] = (uint8_t)(r->ptr32 ? ETL_HT_FULL32 : ETL_HT_FULL64);
        p[3] = ETL_MARKER_FLAGS_TRACE;
        p[4] = r->opcode;
        p[5] = r->level;
        le_w16(p + 6, r->version);
        le_w32(p + 8, r->tid);
        le_w32(p + 12, r->pid);
        le_w64(p + 16, (uint64_t)r->raw_timestamp);
        put_guid(p + 0x18, &r->guid);
        if (inst) {
            le_w32(p + 0x30, r->instance_id);
            le_w32(p + 0x34, r->parent_instance_id);
            put_guid(p + 0x38, &r->parent_guid);
        }
        if (r->data_len)
            memcpy(p + hdr, r->data, r->data_len);
        break;
    }
    case ETWHOST_HK_EVENT: {
        size = ETL_EVENT_HDR + (uint64_t)r->data_len;
        for (uint32_t i = 0; i < r->n_ext; i++)
            size += 8 + pad8(r->ext[i].len);
        if (size > MAX_RECORD)
            break;
        memset(p, 0, ETL_EVENT_HDR);
        le_w16(p, (uint32_t)size);
        p[2] = (uint8_t)(r->ptr32 ? ETL_HT_EVENT32 : ETL_HT_EVENT64);
        p[3] = ETL_MARKER_FLAGS_TRACE;
        uint16_t flags = (uint16_t)(r->flags & ~ETL_EHF_EXTENDED_INFO);
        if (r->n_ext)
            flags |= ETL_EHF_EXTENDED_INFO;
        le_w16(p + 4, flags);
        le_w16(p + 6, r->event_property);
        le_w32(p + 8, r->tid);
        le_w32(p + 12, r->pid);
        le_w64(p + 16, (uint64_t)r->raw_timestamp);
        put_guid(p + 0x18, &r->guid);
        le_w16(p + 0x28, r->id);
        p[0x2A] = r->version;
        p[0x2B] = r->channel;
        p[0x2C] = r->level;
        p[0x2D] = r->opcode;
        le_w16(p + 0x2E, r->task);
        le_w64(p + 0x30, r->keywords);
        put_guid(p + 0x40, &r->activity);
        uint8_t *q = p + ETL_EVENT_HDR;
        for (uint32_t i = 0; i < r->n_ext; i++) {
            uint32_t total = 8 + pad8(r->ext[i].len);
            le_w16(q, total);
            le_w16(q + 2, r->ext[i].type);
            le_w16(q + 4, i + 1 < r->n_ext ? 1u : 0u);
            le_w16(q + 6, r->ext[i].len);
            if (r->ext[i].len)
                memcpy(q + 8, r->ext[i].data, r->ext[i].len);
            memset(q + 8 + r->ext[i].len, 0, total - 8 - r->ext[i].len);
            q += total;
        }
        if (r->data_len)
            memcpy(q, r->data, r->data_len);
        break;
    }
    case ETWHOST_HK_MESSAGE: {
        uint16_t opt = r->wpp_options;
        if (!(opt & (ETL_WPP_POINTER32 | ETL_WPP_POINTER64)))
            opt |= r->ptr32 ? ETL_WPP_POINTER32 : ETL_WPP_POINTER64;
        uint32_t items = ((opt & ETL_WPP_SEQUENCE) ? 4 : 0) +
                         ((opt & ETL_WPP_COMPONENTID) ? 4 : (opt & ETL_WPP_GUID) ? 16 : 0) +
                         ((opt & (ETL_WPP_TIMESTAMP | ETL_WPP_PERF_TIMESTAMP)) ? 8 : 0) +
                         ((opt & ETL_WPP_SYSTEMINFO) ? 8 : 0);
        size = ETL_MESSAGE_HDR + (uint64_t)items + r->data_len;
        if (size > MAX_RECORD)
            break;
        le_w16(p, (uint32_t)size);
        p[2] = 0;
        p[3] = ETL_MARKER_FLAGS_MESSAGE;
        le_w16(p + 4, r->message_number);
        le_w16(p + 6, opt);
        uint8_t *q = p + ETL_MESSAGE_HDR;
        if (opt & ETL_WPP_SEQUENCE) {
            le_w32(q, r->sequence);
            q += 4;
        }
        if (opt & ETL_WPP_COMPONENTID) {
            le_w32(q, r->component_id);
            q += 4;
        } else if (opt & ETL_WPP_GUID) {
            put_guid(q, &r->guid);
            q += 16;
        }
        if (opt & (ETL_WPP_TIMESTAMP | ETL_WPP_PERF_TIMESTAMP)) {
            le_w64(q, (uint64_t)r->raw_timestamp);
            q += 8;
        }
        if (opt & ETL_WPP_SYSTEMINFO) {
            le_w32(q, r->tid);
            le_w32(q + 4, r->pid);
            q += 8;
        }
        if (r->data_len)
            memcpy(q, r->data, r->data_len);
        break;
    }
    default:
        return errbuf_set(eb, ERR_INVAL, "etl writer: unknown record kind %u", r->kind);
    }
    if (size > MAX_RECORD)
        return errbuf_set(eb, ERR_RANGE, "etl writer: record of %" PRIu64 " bytes exceeds the "
                          "65535-byte record limit", size);
    rc = put_record(w, r->cpu, (uint32_t)size, r->raw_timestamp, eb);
    if (rc && rc != ERR_RANGE && rc != ERR_INVAL)
        w->failed = 1;
    return rc;
}

static int tdh_record(struct etl_writer *w, uint8_t type, uint32_t cpu, int64_t raw_ts,
                      uint32_t pid, uint32_t tid, const uint8_t *data, uint32_t len,
                      struct errbuf *eb)
{
    struct etl_wrecord r;
    memset(&r, 0, sizeof r);
    r.kind = ETWHOST_HK_TRACE;
    r.cpu = cpu;
    r.raw_timestamp = raw_ts;
    r.pid = pid;
    r.tid = tid;
    r.guid = tdh_metadata_guid;
    r.opcode = type;
    r.data = data;
    r.data_len = len;
    return etl_writer_append(w, &r, eb);
}

int etl_writer_tdh_event_info(struct etl_writer *w, uint32_t cpu, int64_t raw_ts, uint32_t pid,
                              uint32_t tid, const void *tei, uint32_t len, struct errbuf *eb)
{
    return tdh_record(w, 32, cpu, raw_ts, pid, tid, tei, len, eb);
}

int etl_writer_tdh_map_info(struct etl_writer *w, uint32_t cpu, int64_t raw_ts, uint32_t pid,
                            uint32_t tid, const etwhost_guid *provider, const void *emi,
                            uint32_t len, struct errbuf *eb)
{
    if (len > MAX_RECORD - 16)
        return errbuf_set(eb, ERR_RANGE, "etl writer: EVENT_MAP_INFO too large");
    uint8_t *tmp = mem_alloc((size_t)len + 16);
    if (tmp == NULL)
        return errbuf_set(eb, ERR_NOMEM, "etl writer: out of memory");
    put_guid(tmp, provider);
    if (len)
        memcpy(tmp + 16, emi, len);
    int rc = tdh_record(w, 33, cpu, raw_ts, pid, tid, tmp, len + 16, eb);
    mem_free(tmp);
    return rc;
}

void etl_writer_counts(const struct etl_writer *w, uint64_t *records, uint64_t *buffers)
{
    if (records)
        *records = w->records;
    if (buffers)
        *buffers = w->buffers;
}

/* Patch EndTime and BuffersWritten of the logfile header held in hdr. */
static void patch_logfile_header(uint8_t *hdr, int64_t end_time, uint64_t buffers)
{
    uint8_t *d = hdr + ETL_BUF_HDR + ETL_SYSTEM_HDR;
    le_w64(d + 0x10, (uint64_t)end_time);
    le_w32(d + 0x24, buffers > UINT32_MAX ? UINT32_MAX : (uint32_t)buffers);
}

int etl_writer_close(struct etl_writer *w, uint8_t **data, size_t *len, struct errbuf *eb)
{
    struct errbuf tmp;
    if (eb == NULL)
        eb = &tmp;
    if (data)
        *data = NULL;
    if (len)
        *len = 0;
    if (w == NULL)
        return 0;
    int rc = w->failed ? errbuf_set(eb, ERR_STATE, "etl writer: an earlier error stopped this "
                                    "writer") : 0;
    if (w->started) {
        for (size_t c = 0; rc == 0 && c < w->ncpus; c++)
            rc = flush_cpu(w, (uint32_t)c, ETL_BUFFLAG_FLUSH_MARKER, eb);
        if (rc == 0) {
            patch_logfile_header(w->hdr, etl_clock_to_filetime(&w->ti, w->max_ts), w->buffers);
            if (w->to_mem) {
                memcpy(w->mem.p, w->hdr, w->hdr_size);
            } else if (fseek(w->f, 0, SEEK_SET) != 0 ||
                       fwrite(w->hdr, 1, w->hdr_size, w->f) != w->hdr_size) {
                rc = errbuf_set(eb, ERR_IO, "etl writer: cannot rewrite the header buffer");
            }
        }
    }
    if (w->f && fclose(w->f) != 0 && rc == 0)
        rc = errbuf_set(eb, ERR_IO, "etl writer: close failed");
    if (rc == 0 && w->to_mem && data && len) {
        *len = w->mem.len;
        *data = (uint8_t *)buf_take(&w->mem);
        if (*data == NULL) {
            *len = 0;
            rc = errbuf_set(eb, ERR_NOMEM, "etl writer: out of memory");
        }
    }
    buf_free(&w->mem);
    for (size_t c = 0; c < w->ncpus; c++)
        mem_free(w->cpus[c].buf);
    mem_free(w->cpus);
    mem_free(w->rec);
    mem_free(w->cbuf);
    mem_free(w->hdr);
    mem_free(w);
    return rc;
}

/* ---- Repeating a real trace ------------------------------------------- */

/* Shift the timestamp of every record in data[0..len) by shift. */
static void shift_records(uint8_t *data, uint32_t len, int64_t shift)
{
    uint32_t pos = 0;
    while (len - pos >= 8) {
        uint32_t m = le_r32(data + pos);
        if (m == 0 || m == 0xFFFFFFFFu)
            break;
        uint32_t size = etl_record_size(data + pos, len - pos);
        if (size < 8 || size > len - pos)
            break;
        uint32_t tso = etl_record_ts_offset(data + pos, size);
        if (tso) {
            uint64_t ts = le_r64(data + pos + tso);
            le_w64(data + pos + tso, ts + (uint64_t)shift);
        }
        uint32_t step = pad8(size);
        if (step > len - pos)
            break;
        pos += step;
    }
}

int etl_repeat_file(const char *src, const char *dst, uint64_t target_bytes, uint64_t *copies,
                    struct errbuf *eb)
{
    *copies = 0;
    struct etl_reader *r = NULL;
    struct etl_options ro;
    memset(&ro, 0, sizeof ro);
    ro.file_order = 1;
    int rc = etl_open(src, &ro, &r, eb);
    if (rc)
        return rc;
    /* The time span of the source decides how far each copy moves. */
    struct record rec;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    while ((rc = etl_next(r, &rec, eb)) == 1) {
        if (rec.raw_timestamp < lo)
            lo = rec.raw_timestamp;
        if (rec.raw_timestamp > hi)
            hi = rec.raw_timestamp;
    }
    struct trace_info ti = *etl_info(r);
    struct etl_stats st;
    etl_get_stats(r, &st);
    etl_close(r);
    if (rc < 0)
        return rc;
    if (st.bad_buffers || st.bad_records || st.records == 0)
        return errbuf_set(eb, ERR_FORMAT, "%s: the source trace is damaged or empty", src);
    int64_t span = hi - lo + 1;

    const uint8_t *map = NULL;
    size_t msize = 0;
    rc = plat_map_file(src, &map, &msize, eb);
    if (rc)
        return rc;
    FILE *f = NULL;
    uint8_t *hdr = NULL, *tmp = NULL, *cbuf = NULL;
    size_t tcap = 0, ccap = 0;
    uint32_t hsize = le_r32(map);
    uint64_t nbufs = 0, written = 0, out_buffers = 1;
    for (uint64_t off = hsize; off + ETL_BUF_HDR <= msize;) {
        uint32_t bs = le_r32(map + off);
        if (bs < ETL_BUF_HDR || bs > msize - off)
            break;
        nbufs++;
        off += bs;
    }
    if (nbufs == 0) {
        rc = errbuf_set(eb, ERR_FORMAT, "%s: no data buffers to repeat", src);
        goto done;
    }
    hdr = mem_alloc(hsize);
    f = plat_fopen(dst, "wb", eb);
    if (hdr == NULL || f == NULL) {
        rc = f ? errbuf_set(eb, ERR_NOMEM, "out of memory") : ERR_IO;
        goto done;
    }
    memcpy(hdr, map, hsize);
    if (fwrite(hdr, 1, hsize, f) != hsize)
        goto write_error;
    written = hsize;
    do {
        int64_t shift = (int64_t)*copies * span;
        uint64_t seq_shift = *copies * nbufs;
        for (uint64_t off = hsize; off + ETL_BUF_HDR <= msize;) {
            const uint8_t *b = map + off;
            uint32_t bs = le_r32(b);
            if (bs < ETL_BUF_HDR || bs > msize - off)
                break;
            off += bs;
            uint32_t end = le_r32(b + ETL_BUF_OFFSET);
            if (end == 0)
                end = le_r32(b + ETL_BUF_SAVED);
            uint16_t flags = le_r16(b + ETL_BUF_FLAGS);
            uint8_t h[ETL_BUF_HDR];
            memcpy(h, b, ETL_BUF_HDR);
            le_w64(h + ETL_BUF_SEQ, le_r64(b + ETL_BUF_SEQ) + seq_shift);
            if (le_r64(b + ETL_BUF_TIMESTAMP))
                le_w64(h + ETL_BUF_TIMESTAMP, le_r64(b + ETL_BUF_TIMESTAMP) + (uint64_t)shift);
            const uint8_t *body;
            size_t blen;
            if (flags & ETL_BUFFLAG_COMPRESSED) {
                if (end < ETL_BUF_HDR)
                    continue;
                size_t out = end - ETL_BUF_HDR, got = 0;
                if (mem_grow(&tmp, &tcap, out ? out : 1, 1) ||
                    mem_grow(&cbuf, &ccap, lz77_compress_bound(out), 1)) {
                    rc = errbuf_set(eb, ERR_NOMEM, "out of memory");
                    goto done;
                }
                if (lz77_decompress(b + ETL_BUF_HDR, bs - ETL_BUF_HDR, tmp, out, &got) ||
                    got != out) {
                    rc = errbuf_set(eb, ERR_FORMAT, "%s: offset 0x%" PRIx64 ": damaged LZ77 "
                                    "stream", src, off - bs);
                    goto done;
                }
                shift_records(tmp, (uint32_t)out, shift);
                rc = lz77_compress(tmp, out, cbuf, ccap, &blen);
                if (rc) {
                    errbuf_set(eb, rc, "compression failed");
                    goto done;
                }
                le_w32(h + ETL_BUF_SIZE, (uint32_t)(ETL_BUF_HDR + blen));
                body = cbuf;
            } else {
                if (mem_grow(&tmp, &tcap, bs, 1)) {
                    rc = errbuf_set(eb, ERR_NOMEM, "out of memory");
                    goto done;
                }
                memcpy(tmp, b + ETL_BUF_HDR, bs - ETL_BUF_HDR);
                if (end >= ETL_BUF_HDR && end <= bs)
                    shift_records(tmp, end - ETL_BUF_HDR, shift);
                body = tmp;
                blen = bs - ETL_BUF_HDR;
            }
            if (fwrite(h, 1, ETL_BUF_HDR, f) != ETL_BUF_HDR || fwrite(body, 1, blen, f) != blen)
                goto write_error;
            written += ETL_BUF_HDR + blen;
            out_buffers++;
        }
        ++*copies;
    } while (written < target_bytes);
    /* The header now covers all copies. */
    {
        int64_t last = hi + (int64_t)(*copies - 1) * span;
        patch_logfile_header(hdr, etl_clock_to_filetime(&ti, last), out_buffers);
        if (fseek(f, 0, SEEK_SET) != 0 || fwrite(hdr, 1, hsize, f) != hsize)
            goto write_error;
    }
    rc = 0;
    goto done;
write_error:
    rc = errbuf_set(eb, ERR_IO, "%s: write failed", dst);
done:
    if (f && fclose(f) != 0 && rc == 0)
        rc = errbuf_set(eb, ERR_IO, "%s: write failed", dst);
    plat_unmap(map, msize);
    mem_free(hdr);
    mem_free(tmp);
    mem_free(cbuf);
    return rc;
}
