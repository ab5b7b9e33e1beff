/*
 * source_synthetic: deterministic, realistic TraceLogging events at a
 * configured rate and count, for tests, benchmarks and `make run`.
 *
 * Events are real TraceLogging records (metadata in extended items 11/12),
 * so they go through the same decode engine as recorded traces.  The same
 * seed always yields the same events, including timestamps (unless
 * start_time is "now").
 *
 * Settings: count (0 = until stopped; default 1000), rate (events/s, 0 =
 * as fast as possible), seed, start_time ("now" or RFC 3339 UTC, default
 * 2026-01-01T00:00:00Z), step_us (time between events, default 100),
 * kinds (array of "process", "file", "tcp", "dns", "module", "blob"),
 * blob_bytes (size of the "blob" event's data, default 4096), pool (0 =
 * every event generated afresh; N = N events generated at start and
 * replayed in a cycle with advancing timestamps, which makes the source
 * nearly free for benchmarks of the rest of the pipeline).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../archive/archive_reader.h"
#include "../config/config.h"
#include "../core/buf.h"
#include "../core/mem.h"
#include "../platform/platform.h"
#include "source.h"
#include "tl_build.h"

enum syn_kind { SYN_PROCESS, SYN_FILE, SYN_TCP, SYN_DNS, SYN_MODULE, SYN_BLOB, SYN_NKINDS };

static const char *const kind_names[SYN_NKINDS] = {"process", "file", "tcp", "dns", "module",
                                                    "blob"};

struct syn_type {
    const char *provider;
    uint8_t guid[16]; /* provider GUID, file byte order */
    uint16_t id;
    uint8_t level;
    uint64_t keywords;
    struct tl_meta meta, traits;
    struct buf ext; /* in-file extended items */
};

/* One pre-generated event of the pool. */
struct syn_pooled {
    uint8_t kind;
    uint8_t level;
    uint32_t pid, tid;
    etwhost_guid activity;
    uint8_t *payload;
    uint32_t len;
};

struct syn {
    uint64_t count, emitted;
    double rate;
    uint64_t rng;
    int64_t t0, step; /* FILETIME base and step (100 ns units) */
    int now_times;
    uint32_t blob_bytes;
    int kinds[SYN_NKINDS];
    int nkinds;
    struct syn_type types[SYN_NKINDS];
    uint64_t start_ns;
    struct trace_info info;
    struct buf payload;
    struct syn_pooled *pool;
    uint32_t npool;
};

static int generate(struct syn *s, int64_t ts, struct syn_pooled *ev);

static const char *const syn_keys[] = {"count", "rate", "seed", "start_time", "step_us", "kinds",
                                       "blob_bytes", "pool", NULL};

/* splitmix64: small, fast, good enough for test data. */
static uint64_t rnd(struct syn *s)
{
    uint64_t z = (s->rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint32_t rnd_below(struct syn *s, uint32_t n)
{
    return (uint32_t)(rnd(s) % n);
}

static void guid_from_name(const char *name, uint8_t out[16])
{
    /* A stable GUID per provider name (FNV-1a spread over 16 bytes). */
    uint64_t h1 = 1469598103934665603ULL, h2 = 0x84222325CBF29CE4ULL;
    for (const char *p = name; *p; p++) {
        h1 = (h1 ^ (uint8_t)*p) * 1099511628211ULL;
        h2 = (h2 ^ (uint8_t)*p) * 0x100000001B3ULL + 7;
    }
    memcpy(out, &h1, 8);
    memcpy(out + 8, &h2, 8);
    out[7] = (uint8_t)((out[7] & 0x0F) | 0x50);
    out[8] = (uint8_t)((out[8] & 0x3F) | 0x80);
}

static int type_init(struct syn_type *t, enum syn_kind k)
{
    struct tl_meta *m = &t->meta;
    switch (k) {
    case SYN_PROCESS:
        t->provider = "Etwhost-Synthetic-Process";
        t->id = 1;
        t->level = 4;
        t->keywords = 0x10;
        tl_meta_begin(m, "ProcessStart", 0);
        tl_meta_field(m, "ProcessId", TL_IN_UINT32, TL_OUT_PID, 0);
        tl_meta_field(m, "ParentProcessId", TL_IN_UINT32, TL_OUT_PID, 0);
        tl_meta_field(m, "SessionId", TL_IN_UINT32, 0, 0);
        tl_meta_field(m, "ImageName", TL_IN_UNICODESTRING, 0, 0);
        tl_meta_field(m, "CommandLine", TL_IN_UNICODESTRING, 0, 0);
        tl_meta_field(m, "UserSid", TL_IN_SID, 0, 0);
        tl_meta_field(m, "CreateTime", TL_IN_FILETIME, 0, 0);
        tl_meta_field(m, "Flags", TL_IN_HEXINT32, 0, 0);
        tl_meta_field(m, "PackageName", TL_IN_ANSISTRING, 0, 0);
        tl_meta_field(m, "Elevated", TL_IN_BOOL32, 0, 0);
        break;
    case SYN_FILE:
        t->provider = "Etwhost-Synthetic-File";
        t->id = 2;
        t->level = 5;
        t->keywords = 0x20;
        tl_meta_begin(m, "FileCreate", 0);
        tl_meta_field(m, "FileObject", TL_IN_HEXINT64, 0, 0);
        tl_meta_field(m, "FileName", TL_IN_UNICODESTRING, 0, 0);
        tl_meta_field(m, "CreateDisposition", TL_IN_UINT32, 0, 0);
        tl_meta_field(m, "FileAttributes", TL_IN_HEXINT32, 0, 0);
        tl_meta_field(m, "ShareAccess", TL_IN_UINT16, 0, 0);
        tl_meta_field(m, "Status", TL_IN_INT32, TL_OUT_NTSTATUS, 0);
        break;
    case SYN_TCP:
        t->provider = "Etwhost-Synthetic-Network";
        t->id = 3;
        t->level = 4;
        t->keywords = 0x40;
        tl_meta_begin(m, "TcpConnect", 0);
        tl_meta_field(m, "ProcessId", TL_IN_UINT32, TL_OUT_PID, 0);
        tl_meta_field(m, "SourceAddress", TL_IN_UINT32, TL_OUT_IPV4, 0);
        tl_meta_field(m, "DestAddress", TL_IN_UINT32, TL_OUT_IPV4, 0);
        tl_meta_field(m, "SourcePort", TL_IN_UINT16, TL_OUT_PORT, 0);
        tl_meta_field(m, "DestPort", TL_IN_UINT16, TL_OUT_PORT, 0);
        tl_meta_field(m, "Size", TL_IN_UINT32, 0, 0);
        tl_meta_field(m, "ConnectionId", TL_IN_GUID, 0, 0);
        break;
    case SYN_DNS:
        t->provider = "Etwhost-Synthetic-Dns";
        t->id = 4;
        t->level = 4;
        t->keywords = 0x80;
        tl_meta_begin(m, "DnsQuery", 0);
        tl_meta_field(m, "QueryName", TL_IN_UNICODESTRING, 0, 0);
        tl_meta_field(m, "QueryType", TL_IN_UINT16, 0, 0);
        tl_meta_field(m, "Status", TL_IN_UINT32, 0, 0);
        tl_meta_field(m, "Results", TL_IN_ANSISTRING, 0, 0);
        tl_meta_field(m, "LatencyMs", TL_IN_DOUBLE, 0, 0);
        break;
    case SYN_MODULE:
        t->provider = "Etwhost-Synthetic-Process";
        t->id = 5;
        t->level = 3;
        t->keywords = 0x10;
        tl_meta_begin(m, "ModuleLoad", 0);
        tl_meta_field(m, "ImageBase", TL_IN_HEXINT64, 0, 0);
        tl_meta_field(m, "ImageSize", TL_IN_UINT32, 0, 0);
        tl_meta_field(m, "Exports", TL_IN_UNICODESTRING | TL_ARITY_VCOUNT, 0, 0);
        tl_meta_field(m, "Version", TL_IN_STRUCT, 2, 0);
        tl_meta_field(m, "Major", TL_IN_UINT16, 0, 0);
        tl_meta_field(m, "Minor", TL_IN_UINT16, 0, 0);
        break;
    default:
        t->provider = "Etwhost-Synthetic-Blob";
        t->id = 6;
        t->level = 2;
        t->keywords = 0x100;
        tl_meta_begin(m, "BlobWritten", 0);
        tl_meta_field(m, "Sequence", TL_IN_UINT64, 0, 0);
        tl_meta_field(m, "Data", TL_IN_COUNTEDBINARY, 0, 0);
        break;
    }
    tl_meta_end(m);
    tl_traits_build(&t->traits, t->provider);
    guid_from_name(t->provider, t->guid);
    return tl_ext_items(&t->ext, &t->traits, &t->meta);
}

static const char *const images[] = {"C:\\Windows\\System32\\svchost.exe",
                                     "C:\\Program Files\\Contoso\\agent.exe",
                                     "C:\\Windows\\explorer.exe",
                                     "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                                     "C:\\Users\\Public\\t\u00e9st\\app.exe"};
static const char *const hosts[] = {"contoso.example", "login.example.net", "cdn.example.org",
                                    "updates.example.com", "intranet.corp.example"};

static int put_sid(struct buf *b, uint32_t rid)
{
    /* S-1-5-21-x-y-z-rid */
    static const uint8_t head[8] = {1, 5, 0, 0, 0, 0, 0, 5};
    int rc = buf_append(b, head, 8);
    uint32_t sub[5] = {21, 1004336348, 1177238915, 682003330, rid};
    for (int i = 0; !rc && i < 5; i++)
        rc = tl_put_u32(b, sub[i]);
    return rc;
}

/* Write the payload of one event of kind k into s->payload. */
static int make_payload(struct syn *s, enum syn_kind k, uint32_t pid, int64_t ts)
{
    struct buf *b = &s->payload;
    char text[512];
    int rc = 0;
    buf_reset(b);
    switch (k) {
    case SYN_PROCESS: {
        const char *img = images[rnd_below(s, 5)];
        rc |= tl_put_u32(b, pid);
        rc |= tl_put_u32(b, 4 + rnd_below(s, 2000) * 4);
        rc |= tl_put_u32(b, rnd_below(s, 3));
        rc |= tl_put_utf16z(b, img);
        snprintf(text, sizeof text, "\"%s\" --job %" PRIu64 " --mode \"fast\"", img,
                 rnd(s) % 100000);
        rc |= tl_put_utf16z(b, text);
        rc |= put_sid(b, 1000 + rnd_below(s, 50));
        rc |= tl_put_u64(b, (uint64_t)(ts - (int64_t)rnd_below(s, 10000000)));
        rc |= tl_put_u32(b, rnd_below(s, 0x10000));
        rc |= tl_put_ansiz(b, rnd_below(s, 2) ? "Contoso.Agent_1.2.3.4_x64" : "");
        rc |= tl_put_u32(b, rnd_below(s, 2));
        break;
    }
    case SYN_FILE:
        rc |= tl_put_u64(b, 0xFFFF800000000000ULL | (rnd(s) & 0xFFFFFFFFF0ULL));
        {
            /* One call per statement: argument evaluation order is unspecified. */
            uint32_t user = rnd_below(s, 20);
            uint32_t doc = rnd_below(s, 100000);
            snprintf(text, sizeof text,
                     "\\Device\\HarddiskVolume3\\Users\\user%u\\Documents\\report-%u.docx", user,
                     doc);
        }
        rc |= tl_put_utf16z(b, text);
        rc |= tl_put_u32(b, rnd_below(s, 6));
        rc |= tl_put_u32(b, 0x80 | rnd_below(s, 0x40));
        rc |= tl_put_u16(b, (uint16_t)rnd_below(s, 8));
        rc |= tl_put_u32(b, rnd_below(s, 10) == 0 ? 0xC0000034u : 0);
        break;
    case SYN_TCP: {
        uint8_t g[16];
        uint64_t a = rnd(s);
        uint64_t c = rnd(s);
        memcpy(g, &a, 8);
        memcpy(g + 8, &c, 8);
        rc |= tl_put_u32(b, pid);
        /* Addresses and ports are recorded in network byte order. */
        uint8_t src[4] = {10, 0, 0, 0}, dst[4] = {192, 0, 2, 0};
        src[2] = (uint8_t)rnd_below(s, 256);
        src[3] = (uint8_t)(1 + rnd_below(s, 254));
        dst[3] = (uint8_t)(1 + rnd_below(s, 254));
        rc |= buf_append(b, src, 4);
        rc |= buf_append(b, dst, 4);
        uint16_t sp = (uint16_t)(49152 + rnd_below(s, 16000));
        uint16_t dp = rnd_below(s, 2) ? 443 : 80;
        uint8_t ports[4] = {(uint8_t)(sp >> 8), (uint8_t)sp, (uint8_t)(dp >> 8), (uint8_t)dp};
        rc |= buf_append(b, ports, 4);
        rc |= tl_put_u32(b, rnd_below(s, 65536));
        rc |= tl_put_guid(b, g);
        break;
    }
    case SYN_DNS: {
        const char *h = hosts[rnd_below(s, 5)];
        rc |= tl_put_utf16z(b, h);
        rc |= tl_put_u16(b, rnd_below(s, 2) ? 1 : 28);
        rc |= tl_put_u32(b, rnd_below(s, 8) == 0 ? 9003 : 0);
        uint32_t a1 = 1 + rnd_below(s, 254);
        uint32_t a2 = 1 + rnd_below(s, 254);
        snprintf(text, sizeof text, "192.0.2.%u;198.51.100.%u", a1, a2);
        rc |= tl_put_ansiz(b, text);
        rc |= tl_put_f64(b, (double)rnd_below(s, 100000) / 1000.0);
        break;
    }
    case SYN_MODULE: {
        rc |= tl_put_u64(b, 0x7FF000000000ULL + ((rnd(s) & 0xFFFFF) << 16));
        rc |= tl_put_u32(b, 0x1000 * (1 + rnd_below(s, 4096)));
        uint16_t n = (uint16_t)rnd_below(s, 4);
        rc |= tl_put_u16(b, n);
        for (uint16_t i = 0; i < n; i++) {
            snprintf(text, sizeof text, "Export%u", rnd_below(s, 1000));
            rc |= tl_put_utf16z(b, text);
        }
        rc |= tl_put_u16(b, (uint16_t)(6 + rnd_below(s, 5)));
        rc |= tl_put_u16(b, (uint16_t)rnd_below(s, 4));
        break;
    }
    default: {
        rc |= tl_put_u64(b, s->emitted);
        uint16_t n = (uint16_t)(s->blob_bytes > 65535 ? 65535 : s->blob_bytes);
        rc |= tl_put_u16(b, n);
        rc |= buf_reserve(b, n);
        if (!rc) {
            for (uint16_t i = 0; i < n; i++)
                b->p[b->len + i] = (char)rnd(s);
            b->len += n;
        }
        break;
    }
    }
    return rc ? ERR_NOMEM : 0;
}

static int syn_open(struct source *src, const struct cfg *cfg, const json_t *obj,
                    struct errbuf *eb)
{
    struct syn *s = mem_calloc(1, sizeof *s);
    if (s == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    src->priv = s;
    uint32_t u;
    int64_t i64;
    const char *str;
    int rc;
    rc = cfg_get_i64(cfg, obj, "count", 1000, 0, INT64_MAX, &i64, eb);
    if (rc)
        return rc;
    s->count = (uint64_t)i64;
    rc = cfg_get_f64(cfg, obj, "rate", 0, 0, 1e9, &s->rate, eb);
    if (rc)
        return rc;
    rc = cfg_get_i64(cfg, obj, "seed", 1, INT64_MIN, INT64_MAX, &i64, eb);
    if (rc)
        return rc;
    s->rng = (uint64_t)i64;
    rc = cfg_get_u32(cfg, obj, "step_us", 100, 0, 3600000000u, &u, eb);
    if (rc)
        return rc;
    s->step = (int64_t)u * 10;
    rc = cfg_get_u32(cfg, obj, "blob_bytes", 4096, 0, 65535, &s->blob_bytes, eb);
    if (rc)
        return rc;
    rc = cfg_get_str(cfg, obj, "start_time", "2026-01-01T00:00:00Z", &str, eb);
    if (rc)
        return rc;
    /* Read like --since/--until (archive_parse_time): one RFC 3339 reading in the program. */
    if (strcmp(str, "now") == 0) {
        s->now_times = 1;
        s->t0 = plat_now_filetime();
    } else if (archive_parse_time(str, &s->t0) != 0 || s->t0 < 0) {
        return errbuf_set(eb, ERR_CONFIG,
                          "%s: start_time \"%s\" is not \"now\" or an RFC 3339 UTC time like "
                          "2026-01-01T00:00:00Z",
                          cfg_where(cfg, json_object_get(obj, "start_time")), str);
    }
    const json_t *kinds = json_object_get(obj, "kinds");
    if (kinds) {
        size_t idx;
        const json_t *v;
        if (!json_is_array(kinds) || json_array_size(kinds) == 0)
            return errbuf_set(eb, ERR_CONFIG, "%s: kinds must be a non-empty array of strings",
                              cfg_where(cfg, kinds));
        json_array_foreach(kinds, idx, v) {
            int found = -1;
            for (int k = 0; k < SYN_NKINDS; k++)
                if (json_is_string(v) && strcmp(json_string_value(v), kind_names[k]) == 0)
                    found = k;
            if (found < 0)
                return errbuf_set(eb, ERR_CONFIG,
                                  "%s: unknown synthetic event kind %s (known: process, file, "
                                  "tcp, dns, module, blob)",
                                  cfg_where(cfg, v),
                                  json_is_string(v) ? json_string_value(v) : "(not a string)");
            s->kinds[s->nkinds++] = found;
        }
    } else {
        for (int k = 0; k < SYN_MODULE + 1; k++)
            s->kinds[s->nkinds++] = k;
    }
    for (int k = 0; k < SYN_NKINDS; k++)
        if (type_init(&s->types[k], (enum syn_kind)k))
            return errbuf_set(eb, ERR_NOMEM, "out of memory");
    uint32_t npool;
    rc = cfg_get_u32(cfg, obj, "pool", 0, 0, 1u << 20, &npool, eb);
    if (rc)
        return rc;
    if (npool) {
        s->pool = mem_calloc(npool, sizeof *s->pool);
        if (s->pool == NULL)
            return errbuf_set(eb, ERR_NOMEM, "out of memory");
        for (uint32_t i = 0; i < npool; i++, s->npool++) {
            struct syn_pooled *p = &s->pool[i];
            if (generate(s, s->t0 + (int64_t)i * s->step, p))
                return errbuf_set(eb, ERR_NOMEM, "out of memory");
            uint8_t *copy = mem_alloc(p->len ? p->len : 1);
            if (copy == NULL)
                return errbuf_set(eb, ERR_NOMEM, "out of memory");
            memcpy(copy, p->payload, p->len);
            p->payload = copy;
        }
    }
    s->info.path = src->name;
    s->info.logger_name = "synthetic";
    s->info.pointer_size = 8;
    s->info.clock_type = TRACE_CLOCK_SYSTEM;
    s->info.num_cpus = 4;
    s->info.start_time = s->t0;
    s->start_ns = plat_monotonic_ns();
    return 0;
}

/*
 * Draw one event: kind, ids, level, activity id and payload (in s->payload,
 * which ev->payload points to until the next call).
 */
static int generate(struct syn *s, int64_t ts, struct syn_pooled *ev)
{
    memset(ev, 0, sizeof *ev);
    enum syn_kind k = (enum syn_kind)s->kinds[rnd_below(s, (uint32_t)s->nkinds)];
    ev->kind = (uint8_t)k;
    ev->pid = 1000 + rnd_below(s, 64) * 4;
    if (make_payload(s, k, ev->pid, ts))
        return ERR_NOMEM;
    ev->tid = ev->pid + 4 + rnd_below(s, 16) * 4;
    ev->level = (k == SYN_FILE && rnd_below(s, 10) == 0) ? 3 : s->types[k].level;
    if (rnd_below(s, 4) == 0) {
        uint8_t g[16];
        uint64_t a = rnd(s);
        uint64_t c = rnd(s);
        memcpy(g, &a, 8);
        memcpy(g + 8, &c, 8);
        guid_read(&ev->activity, g);
    }
    ev->payload = (uint8_t *)s->payload.p;
    ev->len = (uint32_t)s->payload.len;
    return 0;
}

static int syn_read(struct source *src, struct record_batch *b, struct errbuf *eb)
{
    struct syn *s = src->priv;
    int added = 0;
    while (!batch_full(b)) {
        if (s->count && s->emitted >= s->count)
            break;
        if (atomic_load(&src->stop))
            break;
        if (s->rate > 0) {
            /* Pace: the nth event is due at n / rate seconds after start. */
            uint64_t due = s->start_ns + (uint64_t)((double)s->emitted * 1e9 / s->rate);
            uint64_t now = plat_monotonic_ns();
            if (now < due) {
                if (added)
                    break; /* hand over what we have */
                uint64_t wait_ms = (due - now) / 1000000ULL;
                plat_sleep_ms((uint32_t)(wait_ms > 50 ? 50 : wait_ms));
                continue;
            }
        }
        struct syn_pooled ev;
        int64_t ts = s->now_times ? plat_now_filetime() : s->t0 + (int64_t)s->emitted * s->step;
        if (s->npool) {
            ev = s->pool[s->emitted % s->npool];
        } else if (generate(s, ts, &ev)) {
            return errbuf_set(eb, ERR_NOMEM, "synthetic: out of memory");
        }
        struct syn_type *t = &s->types[ev.kind];
        struct record *r = batch_push_slot(b);
        uint8_t *mem = arena_alloc(&b->arena, t->ext.len + ev.len);
        if (mem == NULL)
            return errbuf_set(eb, ERR_NOMEM, "synthetic: out of memory");
        memcpy(mem, t->ext.p, t->ext.len);
        memcpy(mem + t->ext.len, ev.payload, ev.len);
        r->kind = ETWHOST_HK_EVENT;
        r->hdr_flags = 0x1; /* EVENT_HEADER_FLAG_EXTENDED_INFO */
        r->evf = ETWHOST_EVF_TRACELOGGING;
        r->pid = ev.pid;
        r->tid = ev.tid;
        r->cpu = (uint32_t)(s->emitted % 4);
        r->timestamp = r->raw_timestamp = ts;
        guid_read(&r->provider, t->guid);
        r->id = t->id;
        r->channel = 11;
        r->level = ev.level;
        r->keywords = t->keywords | 0x0000400000000000ULL;
        r->activity = ev.activity;
        r->ext = mem;
        r->ext_len = (uint32_t)t->ext.len;
        r->tl_traits = mem + 8;
        r->tl_traits_len = t->traits.len;
        r->tl_meta = mem + ((8 + t->traits.len + 7) & ~7u) + 8;
        r->tl_meta_len = t->meta.len;
        r->data = mem + t->ext.len;
        r->data_len = ev.len;
        r->seq = s->emitted;
        r->trace = &s->info;
        s->emitted++;
        added++;
    }
    return added;
}

static void syn_close(struct source *src)
{
    struct syn *s = src->priv;
    if (s == NULL)
        return;
    for (int k = 0; k < SYN_NKINDS; k++)
        buf_free(&s->types[k].ext);
    buf_free(&s->payload);
    for (uint32_t i = 0; i < s->npool; i++)
        mem_free(s->pool[i].payload);
    mem_free(s->pool);
    mem_free(s);
    src->priv = NULL;
}

static void syn_progress(struct source *src, char *out, size_t cap)
{
    struct syn *s = src->priv;
    if (s->count)
        snprintf(out, cap, "%" PRIu64 "/%" PRIu64 " events", s->emitted, s->count);
    else
        snprintf(out, cap, "%" PRIu64 " events", s->emitted);
}

const struct source_ops source_synthetic_ops = {
    "synthetic", syn_keys, syn_open, syn_read, syn_close, syn_progress,
};
