/*
 * stdout: the built-in standard-output sink.
 *
 * Settings (docs/plugins.md "stdout"):
 *   format  "json" (default): the canonical JSON line of each event
 *           "text": one compact human-readable line per event:
 *           2023-03-29T15:12:38.0175449Z Microsoft-Windows-PowerShell/Id=4104 v1 L4
 *           pid=1234 tid=5678 Name=value ...
 *   flush   "batch" (default): flush stdout once per batch
 *           "line": flush after every line (for interactive tails)
 *
 * Lines are rendered into the plugin's own buffer and written with fwrite.
 * When stdout fails (EPIPE because the reader went away, or any other
 * error) the sink logs why and returns ETWHOST_ERR_FATAL; the host ignores
 * SIGPIPE, so the process is not killed by it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etwhost/plugin.h"

#if defined(_WIN32)
#include <fcntl.h>
#include <io.h>
#endif

#define FLUSH_AT (64u * 1024u)

struct osink {
    etwhost_host *h;
    const etwhost_host_api *api;
    int text, per_line;
    char *buf;
    size_t len, cap;
    int oom;
    uint64_t lines, bytes, skipped;
    uint32_t skip_uncounted; /* skipped in the current write() call */
    int32_t c_lines, c_bytes;
    int fatal;
};

static const char *const stdout_keys[] = {"format", "flush", NULL};

/* ---- output buffer ------------------------------------------------------------ */

static void put(struct osink *s, const char *p, size_t n)
{
    if (s->len + n > s->cap) {
        size_t nc = s->cap ? s->cap : 65536;
        while (nc < s->len + n)
            nc *= 2;
        char *nb = realloc(s->buf, nc);
        if (nb == NULL) {
            s->oom = 1;
            return;
        }
        s->buf = nb;
        s->cap = nc;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static void puts_(struct osink *s, const char *p)
{
    put(s, p, strlen(p));
}

ETWHOST_PRINTF_ATTR(2, 3)
static void putf(struct osink *s, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(s, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ---- text format ------------------------------------------------------------------ */

/* FILETIME (100 ns since 1601) as 2023-03-29T15:12:38.0175449Z, without gmtime. */
static void put_time(struct osink *s, int64_t ft)
{
    if (ft < 0) {
        putf(s, "@%lld", (long long)ft);
        return;
    }
    int64_t secs = ft / 10000000, frac = ft % 10000000;
    int64_t days = secs / 86400, rem = secs % 86400;
    /* Days from 1601-01-01 to 1970-01-01 are 134774; then civil-from-days. */
    int64_t z = days - 134774 + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    putf(s, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%07lldZ", (long long)y, (long long)m,
         (long long)d, (long long)(rem / 3600), (long long)(rem / 60 % 60), (long long)(rem % 60),
         (long long)frac);
}

static void put_guid(struct osink *s, const etwhost_guid *g)
{
    putf(s, "{%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}", (unsigned)g->data1,
         (unsigned)g->data2, (unsigned)g->data3, g->data4[0], g->data4[1], g->data4[2],
         g->data4[3], g->data4[4], g->data4[5], g->data4[6], g->data4[7]);
}

/* A value: bare when it is one plain word, else quoted with \" and control escapes. */
static void put_value(struct osink *s, const char *v, size_t n)
{
    int quote = n == 0;
    for (size_t i = 0; i < n && !quote; i++) {
        unsigned char ch = (unsigned char)v[i];
        quote = ch <= ' ' || ch == '"' || ch == '=' || ch == 0x7f || ch == '{' || ch == '}' ||
                ch == '[' || ch == ']';
    }
    if (!quote) {
        put(s, v, n);
        return;
    }
    put(s, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch >= ' ' && ch != '"' && ch != 0x7f)
            continue;
        put(s, v + run, i - run);
        run = i + 1;
        switch (ch) {
        case '"': puts_(s, "\\\""); break;
        case '\n': puts_(s, "\\n"); break;
        case '\r': puts_(s, "\\r"); break;
        case '\t': puts_(s, "\\t"); break;
        default: putf(s, "\\x%02x", ch); break;
        }
    }
    put(s, v + run, n - run);
    put(s, "\"", 1);
}

/* The property's value as the host renders it (path "a.b" / "a[2]"), else our own. */
static void put_scalar(struct osink *s, const etwhost_event *ev, const etwhost_prop *p,
                       const char *path, int path_ok)
{
    const char *v;
    size_t n;
    if (p->map_text != NULL && p->map_text[0] != '\0') {
        put_value(s, p->map_text, strlen(p->map_text));
        return;
    }
    if (path_ok && s->api->event_get_str(ev, path, &v, &n) == ETWHOST_OK) {
        put_value(s, v, n);
        return;
    }
    switch (p->type) {
    case ETWHOST_PT_NULL: puts_(s, "null"); break;
    case ETWHOST_PT_I8:
    case ETWHOST_PT_I16:
    case ETWHOST_PT_I32:
    case ETWHOST_PT_I64: putf(s, "%lld", (long long)p->num.i); break;
    case ETWHOST_PT_U8:
    case ETWHOST_PT_U16:
    case ETWHOST_PT_U32:
    case ETWHOST_PT_U64:
        putf(s, p->format == ETWHOST_FMT_HEX ? "0x%llx" : "%llu", (unsigned long long)p->num.u);
        break;
    case ETWHOST_PT_POINTER: putf(s, "0x%llx", (unsigned long long)p->num.u); break;
    case ETWHOST_PT_F32:
    case ETWHOST_PT_F64: putf(s, "%.17g", p->num.f); break;
    case ETWHOST_PT_BOOL: puts_(s, p->num.i ? "true" : "false"); break;
    case ETWHOST_PT_STRING: put_value(s, (const char *)p->data, p->size); break;
    case ETWHOST_PT_GUID:
        if (p->data != NULL && p->size >= 16) {
            etwhost_guid g;
            memcpy(&g, p->data, sizeof g);
            put_guid(s, &g);
        }
        break;
    case ETWHOST_PT_FILETIME:
    case ETWHOST_PT_SYSTEMTIME: put_time(s, p->num.i); break;
    default:
        /* SID, BINARY: hex bytes. */
        puts_(s, "0x");
        for (uint32_t i = 0; p->data != NULL && i < p->size; i++)
            putf(s, "%02x", p->data[i]);
        break;
    }
}

/*
 * Render property 'idx' (and its children) as name=value.  'path' holds the
 * host path of the enclosing container; returns the index after the subtree.
 */
static uint32_t put_prop(struct osink *s, const etwhost_event *ev, uint32_t idx, uint32_t total,
                         char *path, size_t plen, size_t pcap, int path_ok, int named)
{
    etwhost_prop p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    if (s->api->event_prop_at(ev, idx, &p) != ETWHOST_OK)
        return total;
    size_t mylen = plen;
    if (named) {
        put(s, p.name, p.name_len);
        put(s, "=", 1);
        /* Names with path syntax in them cannot be looked up by path. */
        if (memchr(p.name, '.', p.name_len) || memchr(p.name, '[', p.name_len) ||
            plen + p.name_len + 2 > pcap)
            path_ok = 0;
        if (path_ok) {
            if (plen > 0)
                path[mylen++] = '.';
            memcpy(path + mylen, p.name, p.name_len);
            mylen += p.name_len;
            path[mylen] = '\0';
        }
    }
    if (p.type != ETWHOST_PT_STRUCT && p.type != ETWHOST_PT_ARRAY) {
        put_scalar(s, ev, &p, path, path_ok);
        path[plen] = '\0';
        return idx + 1;
    }
    int is_arr = p.type == ETWHOST_PT_ARRAY;
    put(s, is_arr ? "[" : "{", 1);
    uint32_t next = idx + 1;
    for (uint32_t k = 0; k < p.count && next < total; k++) {
        if (k > 0)
            put(s, " ", 1);
        size_t elen = mylen;
        int eok = path_ok;
        if (is_arr && eok) {
            int n = snprintf(path + mylen, pcap - mylen, "[%u]", (unsigned)k);
            if (n < 0 || (size_t)n >= pcap - mylen)
                eok = 0;
            else
                elen += (size_t)n;
        }
        next = put_prop(s, ev, next, total, path, elen, pcap, eok, !is_arr);
        path[mylen] = '\0';
    }
    put(s, is_arr ? "]" : "}", 1);
    path[plen] = '\0';
    return next;
}

static void render_text(struct osink *s, const etwhost_event *ev)
{
    const etwhost_event_header *h = s->api->event_header(ev);
    put_time(s, h->timestamp);
    put(s, " ", 1);
    if (h->provider_name[0] != '\0')
        put_value(s, h->provider_name, strlen(h->provider_name));
    else
        put_guid(s, &h->provider_guid);
    putf(s, "/Id=%u", (unsigned)h->event_id);
    if (h->event_name[0] != '\0') {
        put(s, " ", 1);
        put_value(s, h->event_name, strlen(h->event_name));
    }
    putf(s, " v%u L%u", (unsigned)h->version, (unsigned)h->level);
    if (!(h->flags & ETWHOST_EVF_NO_PID))
        putf(s, " pid=%u tid=%u", (unsigned)h->pid, (unsigned)h->tid);
    uint32_t total = s->api->event_prop_count(ev);
    char path[512];
    path[0] = '\0';
    for (uint32_t i = 0; i < total;) {
        put(s, " ", 1);
        i = put_prop(s, ev, i, total, path, 0, sizeof path, 1, 1);
    }
    if (h->decode_status == ETWHOST_DECODE_PARTIAL) {
        puts_(s, " decode=partial");
    } else if (h->decode_status == ETWHOST_DECODE_NONE) {
        const uint8_t *raw;
        size_t rl;
        puts_(s, " decode=none");
        if (s->api->event_raw(ev, &raw, &rl) == ETWHOST_OK)
            putf(s, " raw_bytes=%zu", rl);
    }
    put(s, "\n", 1);
}

/* ---- the sink --------------------------------------------------------------------- */

/* Write the buffer to stdout; 0 or an errno value. */
static int emit(struct osink *s, int do_flush)
{
    if (s->len > 0) {
        errno = 0;
        size_t n = fwrite(s->buf, 1, s->len, stdout);
        if (n != s->len) {
            int e = errno ? errno : EIO;
            clearerr(stdout);
            s->len = 0;
            return e;
        }
        s->bytes += n;
        if (s->c_bytes >= 0)
            s->api->counter_add(s->h, s->c_bytes, (int64_t)n);
        s->len = 0;
    }
    if (do_flush) {
        errno = 0;
        if (fflush(stdout) != 0) {
            int e = errno ? errno : EIO;
            clearerr(stdout);
            return e;
        }
    }
    return 0;
}

static etwhost_status fail(struct osink *s, int e)
{
    char why[160];
#ifdef EPIPE
    if (e == EPIPE)
        snprintf(why, sizeof why, "the reader closed the pipe (EPIPE)");
    else
#endif
        snprintf(why, sizeof why, "%s", strerror(e));
    etwhost_logf(s->api, s->h, ETWHOST_LOG_ERROR, "cannot write: %s; sink stopped", why);
    s->fatal = 1;
    return ETWHOST_ERR_FATAL;
}

/* n events were accepted; the skipped ones among them are not lines. */
static void count_done(struct osink *s, uint32_t n)
{
    uint32_t skip = s->skip_uncounted < n ? s->skip_uncounted : n;
    s->skip_uncounted = 0;
    n -= skip;
    s->lines += n;
    if (s->c_lines >= 0 && n > 0)
        s->api->counter_add(s->h, s->c_lines, (int64_t)n);
}

static etwhost_status ETWHOST_CALL stdout_write(void *inst, const etwhost_event *const *events,
                                                uint32_t count, uint32_t *accepted)
{
    struct osink *s = inst;
    uint32_t done = 0, pending = 0;
    int e;
    *accepted = 0;
    if (s->fatal)
        return ETWHOST_ERR_FATAL;
    for (uint32_t i = 0; i < count; i++) {
        size_t before = s->len;
        if (s->text) {
            render_text(s, events[i]);
        } else {
            const char *js;
            size_t jl;
            etwhost_status rc = s->api->event_json(events[i], &js, &jl);
            if (rc != ETWHOST_OK) {
                /* Cannot render this one: count it and go on rather than stall. */
                s->skipped++;
                s->skip_uncounted++;
                etwhost_logf(s->api, s->h, ETWHOST_LOG_WARN,
                             "skipped an event that could not be rendered (%s)",
                             etwhost_status_name(rc));
                pending++;
                continue;
            }
            put(s, js, jl);
            put(s, "\n", 1);
        }
        if (s->oom) {
            s->oom = 0;
            s->len = before;
            if ((e = emit(s, 1)) != 0)
                return fail(s, e);
            count_done(s, done + pending);
            *accepted = done + pending;
            return ETWHOST_RETRY;
        }
        pending++;
        if (s->per_line || s->len >= FLUSH_AT) {
            if ((e = emit(s, s->per_line)) != 0) {
                count_done(s, done);
                *accepted = done;
                return fail(s, e);
            }
            done += pending;
            pending = 0;
        }
    }
    if ((e = emit(s, 1)) != 0) {
        count_done(s, done);
        *accepted = done;
        return fail(s, e);
    }
    done += pending;
    count_done(s, done);
    *accepted = done;
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL stdout_flush(void *inst)
{
    struct osink *s = inst;
    if (s->fatal)
        return ETWHOST_ERR_FATAL;
    int e = emit(s, 1);
    return e ? fail(s, e) : ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL stdout_close(void *inst, char *err, size_t err_len)
{
    struct osink *s = inst;
    /* A fatal failure was reported when it happened; nothing is pending since. */
    if (s->fatal)
        return ETWHOST_OK;
    int e = emit(s, 1);
    if (e != 0)
        return etwhost_errf(err, err_len, ETWHOST_ERR_IO, "cannot write to stdout: %s",
                            strerror(e));
    return ETWHOST_OK;
}

static void ETWHOST_CALL stdout_destroy(void *inst)
{
    struct osink *s = inst;
    if (s == NULL)
        return;
    free(s->buf);
    free(s);
}

static etwhost_status ETWHOST_CALL stdout_stats(void *inst, char *buf, size_t cap,
                                                size_t *needed)
{
    const struct osink *s = inst;
    char tmp[128];
    int n = snprintf(tmp, sizeof tmp,
                     "{\"format\":\"%s\",\"lines\":%llu,\"bytes\":%llu,\"skipped_events\":%llu}",
                     s->text ? "text" : "json", (unsigned long long)s->lines,
                     (unsigned long long)s->bytes, (unsigned long long)s->skipped);
    if (needed != NULL)
        *needed = (size_t)n + 1;
    if ((size_t)n + 1 > cap)
        return ETWHOST_ERR_RANGE;
    memcpy(buf, tmp, (size_t)n + 1);
    return ETWHOST_OK;
}

static etwhost_status choice(const etwhost_host_api *api, const etwhost_config *cfg,
                             const char *key, const char *a, const char *b, int *is_b, char *err,
                             size_t err_len)
{
    const char *v;
    size_t n;
    etwhost_status rc = api->config_get_str(cfg, key, &v, &n);
    if (rc == ETWHOST_ERR_NOTFOUND)
        return ETWHOST_OK;
    if (rc == ETWHOST_OK && n == strlen(a) && memcmp(v, a, n) == 0) {
        *is_b = 0;
        return ETWHOST_OK;
    }
    if (rc == ETWHOST_OK && n == strlen(b) && memcmp(v, b, n) == 0) {
        *is_b = 1;
        return ETWHOST_OK;
    }
    if (rc != ETWHOST_OK)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                            "%s: expected a string (\"%s\" or \"%s\")", key, a, b);
    return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                        "%s: unknown value \"%.*s\" (expected \"%s\" or \"%s\")", key,
                        (int)(n < 40 ? n : 40), v, a, b);
}

static etwhost_status ETWHOST_CALL stdout_create(etwhost_host *h, const etwhost_host_api *api,
                                                 const etwhost_config *cfg, void **out_inst,
                                                 char *err, size_t err_len)
{
    int text = 0, per_line = 0;
    etwhost_status rc;
    *out_inst = NULL;
    if ((rc = choice(api, cfg, "format", "json", "text", &text, err, err_len)) != ETWHOST_OK ||
        (rc = choice(api, cfg, "flush", "batch", "line", &per_line, err, err_len)) != ETWHOST_OK)
        return rc;
    struct osink *s = calloc(1, sizeof *s);
    if (s == NULL)
        return etwhost_errf(err, err_len, ETWHOST_ERR_NOMEM, "out of memory");
#if defined(_WIN32)
    /* Lines end in "\n" as on every system, also when stdout is a file or pipe. */
    fflush(stdout);
    _setmode(_fileno(stdout), _O_BINARY);
#endif
    s->h = h;
    s->api = api;
    s->text = text;
    s->per_line = per_line;
    s->c_lines = api->counter_register(h, "lines");
    s->c_bytes = api->counter_register(h, "bytes");
    *out_inst = s;
    return ETWHOST_OK;
}

static const etwhost_plugin stdout_plugin = {
    sizeof(etwhost_plugin),
    ETWHOST_ABI_MAJOR,
    ETWHOST_ABI_MINOR,
    ETWHOST_KIND_SINK,
    0,
    "stdout",
    "1.0.0",
    "Write events to standard output as JSON lines or compact text",
    0,
    0,
    stdout_keys,
    stdout_create,
    stdout_destroy,
    NULL,
    stdout_write,
    stdout_flush,
    stdout_close,
    stdout_stats,
};

ETWHOST_PLUGIN_DEFINE(stdout_plugin)
