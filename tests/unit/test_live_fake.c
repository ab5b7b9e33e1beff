/*
 * The fake etw_api of the live-ETW tests (see test_live_fake.h).
 */
#include "test_live_fake.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/compiler.h"
#include "core/mem.h"
#include "etl/etl_reader.h"
#include "live/live_tables.h"
#include "schema/tdh_embedded.h"

static void logf_(struct fake_etw *f, const char *fmt, ...) ETWHOST_PRINTF(2, 3);

static void logf_(struct fake_etw *f, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    buf_puts(&f->log, line);
    buf_putc(&f->log, '\n');
}

static struct fake_session *by_name(struct fake_etw *f, const char *name, int running_only)
{
    for (int i = 0; i < FAKE_MAX_SESSIONS; i++)
        if (f->s[i].used && strcmp(f->s[i].props.name, name) == 0 &&
            (!running_only || f->s[i].running))
            return &f->s[i];
    return NULL;
}

static struct fake_session *by_handle(struct fake_etw *f, uint64_t h)
{
    for (int i = 0; i < FAKE_MAX_SESSIONS; i++)
        if (f->s[i].used && f->s[i].running && f->s[i].handle == h)
            return &f->s[i];
    return NULL;
}

static struct fake_session *by_trace(struct fake_etw *f, uint64_t t)
{
    for (int i = 0; i < FAKE_MAX_SESSIONS; i++)
        if (f->s[i].used && f->s[i].trace == t)
            return &f->s[i];
    return NULL;
}

static int is_existing(struct fake_etw *f, const char *name)
{
    for (int i = 0; i < 4; i++)
        if (f->existing[i][0] && strcmp(f->existing[i], name) == 0)
            return i;
    return -1;
}

static void fill_out(struct fake_etw *f, const struct fake_session *s,
                     struct etw_session_props *io)
{
    if (io == NULL)
        return;
    *io = s->props;
    io->handle = s->handle;
    io->q_events_lost = f->events_lost;
    io->q_real_time_buffers_lost = f->rt_buffers_lost;
    io->q_log_buffers_lost = f->log_buffers_lost;
    io->q_number_of_buffers = s->props.min_buffers;
    io->q_free_buffers = s->props.min_buffers / 2;
}

static uint32_t f_start(void *ctx, struct etw_session_props *p)
{
    struct fake_etw *f = ctx;
    plat_mutex_lock(&f->mu);
    char g[37];
    guid_format(&p->guid, g);
    logf_(f, "start %s mode=0x%x buf=%u min=%u max=%u flush=%u clock=%u flags=0x%x file=%s guid=%s",
          p->name, p->log_file_mode, p->buffer_size_kb, p->min_buffers, p->max_buffers,
          p->flush_timer_s, p->clock_type, p->enable_flags, p->file[0] ? p->file : "-", g);
    uint32_t rc = f->start_rc;
    if (rc == 0 && (is_existing(f, p->name) >= 0 || by_name(f, p->name, 1)))
        rc = ETW_ERR_ALREADY_EXISTS;
    if (rc) {
        plat_mutex_unlock(&f->mu);
        return rc;
    }
    struct fake_session *s = by_name(f, p->name, 0);
    for (int i = 0; s == NULL && i < FAKE_MAX_SESSIONS; i++)
        if (!f->s[i].used)
            s = &f->s[i];
    if (s == NULL) {
        plat_mutex_unlock(&f->mu);
        return ETW_ERR_NO_SYSTEM_RESOURCES;
    }
    s->used = 1;
    s->running = 1;
    s->props = *p;
    s->handle = f->next_handle++;
    p->handle = s->handle;
    plat_mutex_unlock(&f->mu);
    return ETW_OK;
}

static uint32_t f_control(void *ctx, uint64_t handle, const char *name, uint32_t code,
                          struct etw_session_props *io)
{
    struct fake_etw *f = ctx;
    static const char *const codes[] = {"query", "stop", "update", "flush"};
    plat_mutex_lock(&f->mu);
    struct fake_session *s = handle ? by_handle(f, handle) : by_name(f, name, 1);
    const char *n = s ? s->props.name : name ? name : "?";
    logf_(f, "%s %s", code < 4 ? codes[code] : "control", n);
    uint32_t rc = ETW_OK;
    if (s == NULL) {
        int e = name ? is_existing(f, name) : -1;
        if (e >= 0) {
            if (io) {
                memset(io, 0, sizeof *io);
                snprintf(io->name, sizeof io->name, "%s", name);
                io->handle = 0xE000u + (uint64_t)e;
                io->q_events_lost = f->events_lost;
            }
            if (code == ETW_CONTROL_STOP)
                f->existing[e][0] = '\0';
        } else {
            rc = ETW_ERR_WMI_INSTANCE_NOT_FOUND;
        }
    } else {
        fill_out(f, s, io);
        if (code == ETW_CONTROL_STOP) {
            s->running = 0;
            plat_cond_broadcast(&f->cv);
        }
    }
    plat_mutex_unlock(&f->mu);
    return rc;
}

static uint32_t f_enable(void *ctx, uint64_t handle, const struct etw_enable *e)
{
    struct fake_etw *f = ctx;
    plat_mutex_lock(&f->mu);
    char g[37];
    guid_format(&e->provider, g);
    struct buf b = BUF_INIT;
    for (uint32_t i = 0; i < e->nfilters; i++) {
        buf_printf(&b, " 0x%x:%u:", e->filters[i].type, e->filters[i].size);
        for (uint32_t k = 0; k < e->filters[i].size; k++)
            buf_printf(&b, "%02x", ((const uint8_t *)e->filters[i].ptr)[k]);
    }
    logf_(f, "enable %s code=%u level=%u any=0x%" PRIx64 " all=0x%" PRIx64 " prop=0x%x filters=%u%s",
          g, e->control_code, e->level, e->match_any, e->match_all, e->enable_property,
          e->nfilters, b.len ? buf_cstr(&b) : "");
    buf_free(&b);
    uint32_t rc = f->enable_rc;
    if (rc == 0 && by_handle(f, handle) == NULL && handle < 0xE000u)
        rc = ETW_ERR_INVALID_HANDLE;
    plat_mutex_unlock(&f->mu);
    return rc;
}

static uint32_t f_query_all(void *ctx, struct etw_session_props *out, uint32_t cap,
                            uint32_t *count)
{
    struct fake_etw *f = ctx;
    plat_mutex_lock(&f->mu);
    uint32_t n = 0;
    for (int i = 0; i < FAKE_MAX_SESSIONS && n < cap; i++)
        if (f->s[i].used && f->s[i].running)
            fill_out(f, &f->s[i], &out[n++]);
    for (int i = 0; i < 4 && n < cap; i++)
        if (f->existing[i][0]) {
            memset(&out[n], 0, sizeof out[n]);
            snprintf(out[n].name, sizeof out[n].name, "%s", f->existing[i]);
            out[n].log_file_mode = ETW_MODE_FILE_CIRCULAR;
            snprintf(out[n].file, sizeof out[n].file, "C:\\logs\\%s.etl", f->existing[i]);
            n++;
        }
    *count = n;
    plat_mutex_unlock(&f->mu);
    return ETW_OK;
}

static uint32_t f_open(void *ctx, const char *name, const struct etw_consumer *cons,
                       uint64_t *trace, struct trace_info *info)
{
    struct fake_etw *f = ctx;
    plat_mutex_lock(&f->mu);
    logf_(f, "open %s", name);
    uint32_t rc = f->open_rc;
    struct fake_session *s = by_name(f, name, 1);
    if (rc == 0 && s == NULL)
        rc = ETW_ERR_WMI_INSTANCE_NOT_FOUND;
    if (rc) {
        plat_mutex_unlock(&f->mu);
        return rc;
    }
    if (s->events == NULL) {
        s->events = mem_calloc(f->nevents + 1, sizeof *s->events);
        for (uint32_t i = 0; i < f->nevents; i++)
            if (f->event_session[i][0] == '\0' || strcmp(f->event_session[i], name) == 0)
                s->events[s->nevents++] = i;
    }
    s->cons = cons;
    s->trace = f->next_handle++;
    s->trace_open = 1;
    *trace = s->trace;
    *info = f->info;
    info->path = info->logger_name = NULL;
    plat_mutex_unlock(&f->mu);
    return ETW_OK;
}

/* Present a recorded record the way the consumer API presents it. */
static void to_event(const struct record *r, struct etw_event *ev, struct etw_ext_item *items,
                     uint16_t cap)
{
    memset(ev, 0, sizeof *ev);
    uint16_t fl;
    switch (r->kind) {
    case ETWHOST_HK_EVENT:
    case ETWHOST_HK_SYNTHETIC:
        fl = r->hdr_flags & (ETW_EHF_PRIVATE_SESSION | ETW_EHF_STRING_ONLY | ETW_EHF_NO_CPUTIME);
        ev->id = r->id;
        break;
    case ETWHOST_HK_MESSAGE:
        fl = ETW_EHF_TRACE_MESSAGE;
        ev->id = r->message_number;
        break;
    default:
        fl = ETW_EHF_CLASSIC_HEADER;
        ev->id = r->id;
        break;
    }
    fl |= (r->evf & ETWHOST_EVF_PTR32) ? ETW_EHF_32_BIT_HEADER : ETW_EHF_64_BIT_HEADER;
    uint32_t pos = 0;
    uint16_t n = 0, type, len;
    const uint8_t *d;
    while (n < cap && record_ext_next(r, &pos, &type, &d, &len)) {
        items[n].type = type;
        items[n].size = len;
        items[n].data = d;
        n++;
    }
    if (n)
        fl |= ETW_EHF_EXTENDED_INFO;
    ev->flags = fl;
    ev->event_property = r->event_property;
    ev->pid = r->pid;
    ev->tid = r->tid;
    ev->timestamp = r->raw_timestamp;
    ev->provider = r->provider;
    ev->version = r->version;
    ev->channel = r->channel;
    ev->level = r->level;
    ev->opcode = r->opcode;
    ev->task = r->task;
    ev->keyword = r->keywords;
    ev->activity = r->activity;
    ev->processor = (uint16_t)r->cpu;
    ev->ext_count = n;
    ev->ext = items;
    ev->user_len = (uint16_t)r->data_len;
    ev->user_data = r->data;
    ev->native = r;
}

static uint32_t f_process(void *ctx, uint64_t trace)
{
    struct fake_etw *f = ctx;
    plat_mutex_lock(&f->mu);
    struct fake_session *s = by_trace(f, trace);
    if (s == NULL) {
        plat_mutex_unlock(&f->mu);
        return ETW_ERR_INVALID_HANDLE;
    }
    logf_(f, "process %s", s->props.name);
    const struct etw_consumer *cons = s->cons;
    struct etw_ext_item items[64];
    struct etw_event ev;
    /* RT_Lost events come first, once. */
    for (int k = 0; k < 3; k++) {
        while (f->rt_lost[k]) {
            f->rt_lost[k]--;
            memset(&ev, 0, sizeof ev);
            ev.flags = ETW_EHF_CLASSIC_HEADER | ETW_EHF_64_BIT_HEADER;
            ev.provider = live_rt_lost_guid;
            ev.opcode = (uint8_t)(LIVE_RT_LOST_EVENT + k);
            plat_mutex_unlock(&f->mu);
            cons->on_event(cons->ctx, &ev);
            plat_mutex_lock(&f->mu);
        }
    }
    while (s->cursor < s->nevents) {
        if (!f->stuck && !s->trace_open)
            break; /* CloseTrace discards what is left */
        if (f->external_stop_after && f->delivered == f->external_stop_after &&
            !s->external_done) {
            s->external_done = 1;
            s->running = 0;
            logf_(f, "external-stop %s", s->props.name);
            plat_mutex_unlock(&f->mu);
            return ETW_OK;
        }
        const struct record *r = f->events[s->events[s->cursor++]];
        f->delivered++;
        plat_cond_broadcast(&f->cv);
        plat_mutex_unlock(&f->mu);
        to_event(r, &ev, items, 64);
        cons->on_event(cons->ctx, &ev);
        plat_mutex_lock(&f->mu);
    }
    if (f->external_stop_after && f->delivered == f->external_stop_after && !s->external_done) {
        s->external_done = 1;
        s->running = 0;
        logf_(f, "external-stop %s", s->props.name);
        plat_mutex_unlock(&f->mu);
        return ETW_OK;
    }
    if (f->end_when_drained && !f->stuck) {
        s->running = 0;
        logf_(f, "drained-stop %s", s->props.name);
        plat_mutex_unlock(&f->mu);
        return ETW_OK;
    }
    /* Real time: wait until the session stops or the trace is closed. */
    for (;;) {
        if (f->stuck ? atomic_load(&f->unstick) != 0 : (!s->running || !s->trace_open))
            break;
        plat_cond_timedwait(&f->cv, &f->mu, 20);
    }
    logf_(f, "process-end %s", s->props.name);
    plat_mutex_unlock(&f->mu);
    return ETW_OK;
}

static uint32_t f_close(void *ctx, uint64_t trace)
{
    struct fake_etw *f = ctx;
    plat_mutex_lock(&f->mu);
    struct fake_session *s = by_trace(f, trace);
    uint32_t rc = ETW_ERR_INVALID_HANDLE;
    if (s && s->trace_open) {
        logf_(f, "close %s", s->props.name);
        s->trace_open = 0;
        plat_cond_broadcast(&f->cv);
        rc = ETW_OK;
    }
    plat_mutex_unlock(&f->mu);
    return rc;
}

static int key_match(const struct schema_key *a, const struct schema_key *b)
{
    if (a->kind != b->kind || !guid_eq(&a->guid, &b->guid) || a->version != b->version)
        return 0;
    if (a->kind == SCHEMA_KEY_CLASSIC)
        return a->opcode == b->opcode;
    return a->id == b->id;
}

static uint32_t f_tdh_info(void *ctx, const struct etw_event *ev, uint8_t *buf, uint32_t *size)
{
    struct fake_etw *f = ctx;
    plat_mutex_lock(&f->mu);
    f->tdh_calls++;
    struct schema_key key;
    schema_key_for_record(ev->native, &key);
    uint32_t rc = ETW_ERR_NOT_FOUND;
    for (uint32_t i = 0; i < f->ntdh; i++) {
        if (!key_match(&f->tdh[i].key, &key))
            continue;
        if (*size < f->tdh[i].len) {
            rc = ETW_ERR_INSUFFICIENT_BUFFER;
        } else {
            memcpy(buf, f->tdh[i].blob, f->tdh[i].len);
            rc = ETW_OK;
        }
        *size = f->tdh[i].len;
        break;
    }
    plat_mutex_unlock(&f->mu);
    return rc;
}

static uint32_t f_map_info(void *ctx, const struct etw_event *ev, const char *name, uint8_t *buf,
                           uint32_t *size)
{
    struct fake_etw *f = ctx;
    plat_mutex_lock(&f->mu);
    f->map_calls++;
    const struct record *r = ev->native;
    uint32_t rc = ETW_ERR_NOT_FOUND;
    for (uint32_t i = 0; i < f->nmaps; i++) {
        if (!guid_eq(&f->maps[i].provider, &r->provider) || strcmp(f->maps[i].name, name) != 0)
            continue;
        if (*size < f->maps[i].len) {
            rc = ETW_ERR_INSUFFICIENT_BUFFER;
        } else {
            memcpy(buf, f->maps[i].blob, f->maps[i].len);
            rc = ETW_OK;
        }
        *size = f->maps[i].len;
        break;
    }
    plat_mutex_unlock(&f->mu);
    return rc;
}

static uint32_t f_providers(void *ctx, uint8_t *buf, uint32_t *size)
{
    struct fake_etw *f = ctx;
    plat_mutex_lock(&f->mu);
    f->providers_calls++;
    uint32_t rc = ETW_ERR_NOT_SUPPORTED;
    if (f->provider_blob) {
        if (*size < f->provider_len) {
            rc = ETW_ERR_INSUFFICIENT_BUFFER;
        } else {
            memcpy(buf, f->provider_blob, f->provider_len);
            rc = ETW_OK;
        }
        *size = f->provider_len;
    }
    plat_mutex_unlock(&f->mu);
    return rc;
}

/* ---- Registry ---- */

static int ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        int x = *a >= 'A' && *a <= 'Z' ? *a + 32 : *a, y = *b >= 'A' && *b <= 'Z' ? *b + 32 : *b;
        if (x != y)
            return 0;
    }
    return *a == *b;
}

static int key_index(struct fake_etw *f, const char *key)
{
    for (uint32_t i = 0; i < f->nkeys; i++)
        if (ieq(f->keys[i], key))
            return (int)i;
    return -1;
}

static void add_key(struct fake_etw *f, const char *key)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", key);
    for (char *p = tmp;; p++) {
        if (*p == '\\' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (key_index(f, tmp) < 0) {
                f->keys = mem_realloc(f->keys, (f->nkeys + 1) * sizeof *f->keys);
                f->keys[f->nkeys++] = mem_strdup(tmp);
            }
            *p = c;
            if (c == '\0')
                break;
        }
    }
}

static struct fake_regval *find_val(struct fake_etw *f, const char *key, const char *name)
{
    for (uint32_t i = 0; i < f->nvals; i++)
        if (ieq(f->vals[i].key, key) && ieq(f->vals[i].name, name))
            return &f->vals[i];
    return NULL;
}

const struct fake_regval *fake_reg_find(struct fake_etw *f, const char *key, const char *name)
{
    return find_val(f, key, name);
}

static uint32_t f_reg_set(void *ctx, const char *key, const char *value, uint32_t type,
                          const void *data, uint32_t len)
{
    struct fake_etw *f = ctx;
    plat_mutex_lock(&f->mu);
    add_key(f, key);
    struct fake_regval *v = find_val(f, key, value);
    if (v == NULL) {
        f->vals = mem_realloc(f->vals, (f->nvals + 1) * sizeof *f->vals);
        v = &f->vals[f->nvals++];
        v->key = mem_strdup(key);
        v->name = mem_strdup(value);
    } else {
        mem_free(v->data);
    }
    v->type = type;
    v->data = mem_alloc(len + 1);
    memcpy(v->data, data, len);
    v->len = len;
    plat_mutex_unlock(&f->mu);
    return ETW_OK;
}

static uint32_t f_reg_create(void *ctx, const char *key)
{
    struct fake_etw *f = ctx;
    plat_mutex_lock(&f->mu);
    add_key(f, key);
    plat_mutex_unlock(&f->mu);
    return ETW_OK;
}

static uint32_t f_reg_get(void *ctx, const char *key, const char *value, uint32_t *type,
                          void *buf, uint32_t *len)
{
    struct fake_etw *f = ctx;
    plat_mutex_lock(&f->mu);
    struct fake_regval *v = find_val(f, key, value);
    uint32_t rc = ETW_ERR_FILE_NOT_FOUND;
    if (v) {
        *type = v->type;
        rc = v->len > *len ? ETW_ERR_MORE_DATA : ETW_OK;
        if (rc == ETW_OK)
            memcpy(buf, v->data, v->len);
        *len = v->len;
    }
    plat_mutex_unlock(&f->mu);
    return rc;
}

/* The part of child after "parent\" if child is a direct subkey of parent. */
static const char *direct_child(const char *parent, const char *child)
{
    size_t pl = strlen(parent);
    if (strlen(child) <= pl + 1 || child[pl] != '\\')
        return NULL;
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%.*s", (int)pl, child);
    if (!ieq(tmp, parent) || strchr(child + pl + 1, '\\'))
        return NULL;
    return child + pl + 1;
}

static uint32_t f_reg_enum_key(void *ctx, const char *key, uint32_t index, char *name,
                               size_t cap)
{
    struct fake_etw *f = ctx;
    plat_mutex_lock(&f->mu);
    uint32_t rc = key_index(f, key) < 0 ? ETW_ERR_FILE_NOT_FOUND : ETW_ERR_NO_MORE_ITEMS;
    uint32_t k = 0;
    for (uint32_t i = 0; rc == ETW_ERR_NO_MORE_ITEMS && i < f->nkeys; i++) {
        const char *c = direct_child(key, f->keys[i]);
        if (c && k++ == index) {
            snprintf(name, cap, "%s", c);
            rc = ETW_OK;
        }
    }
    plat_mutex_unlock(&f->mu);
    return rc;
}

static uint32_t f_reg_enum_value(void *ctx, const char *key, uint32_t index, char *name,
                                 size_t cap)
{
    struct fake_etw *f = ctx;
    plat_mutex_lock(&f->mu);
    uint32_t rc = key_index(f, key) < 0 ? ETW_ERR_FILE_NOT_FOUND : ETW_ERR_NO_MORE_ITEMS;
    uint32_t k = 0;
    for (uint32_t i = 0; rc == ETW_ERR_NO_MORE_ITEMS && i < f->nvals; i++) {
        if (ieq(f->vals[i].key, key) && k++ == index) {
            snprintf(name, cap, "%s", f->vals[i].name);
            rc = ETW_OK;
        }
    }
    plat_mutex_unlock(&f->mu);
    return rc;
}

static int under(const char *key, const char *root)
{
    size_t rl = strlen(root);
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%.*s", (int)rl, key);
    return ieq(tmp, root) && (key[rl] == '\0' || key[rl] == '\\');
}

static uint32_t f_reg_delete_tree(void *ctx, const char *key)
{
    struct fake_etw *f = ctx;
    plat_mutex_lock(&f->mu);
    uint32_t rc = ETW_ERR_FILE_NOT_FOUND;
    if (key_index(f, key) >= 0) {
        rc = ETW_OK;
        uint32_t w = 0;
        for (uint32_t i = 0; i < f->nkeys; i++) {
            if (under(f->keys[i], key))
                mem_free(f->keys[i]);
            else
                f->keys[w++] = f->keys[i];
        }
        f->nkeys = w;
        w = 0;
        for (uint32_t i = 0; i < f->nvals; i++) {
            if (under(f->vals[i].key, key)) {
                mem_free(f->vals[i].key);
                mem_free(f->vals[i].name);
                mem_free(f->vals[i].data);
            } else {
                f->vals[w++] = f->vals[i];
            }
        }
        f->nvals = w;
    }
    plat_mutex_unlock(&f->mu);
    return rc;
}

/* ---- Process ---- */

static uint32_t f_privilege(void *ctx, const char *name)
{
    struct fake_etw *f = ctx;
    plat_mutex_lock(&f->mu);
    logf_(f, "privilege %s", name);
    plat_mutex_unlock(&f->mu);
    return ETW_OK;
}

static uint32_t f_cpus(void *ctx)
{
    return ((struct fake_etw *)ctx)->ncpu;
}

static const char *f_wine(void *ctx)
{
    (void)ctx;
    return NULL;
}

static void f_error_text(void *ctx, uint32_t code, char *buf, size_t cap)
{
    (void)ctx;
    snprintf(buf, cap, "fake error %u", code);
}

void fake_init(struct fake_etw *f)
{
    memset(f, 0, sizeof *f);
    plat_mutex_init(&f->mu);
    plat_cond_init(&f->cv);
    f->next_handle = 0x1000;
    f->ncpu = 2;
    f->info.pointer_size = 8;
    f->info.clock_type = TRACE_CLOCK_QPC;
    f->info.perf_freq = 10000000;
    f->info.start_time = 133500000000000000LL;
    f->info.num_cpus = 2;
    struct etw_api *a = &f->api;
    a->name = "fake";
    a->ctx = f;
    a->start_trace = f_start;
    a->control_trace = f_control;
    a->enable_trace = f_enable;
    a->query_all_traces = f_query_all;
    a->open_trace = f_open;
    a->process_trace = f_process;
    a->close_trace = f_close;
    a->tdh_event_info = f_tdh_info;
    a->tdh_map_info = f_map_info;
    a->tdh_providers = f_providers;
    a->reg_set = f_reg_set;
    a->reg_create = f_reg_create;
    a->reg_get = f_reg_get;
    a->reg_enum_key = f_reg_enum_key;
    a->reg_enum_value = f_reg_enum_value;
    a->reg_delete_tree = f_reg_delete_tree;
    a->enable_privilege = f_privilege;
    a->cpu_count = f_cpus;
    a->wine_version = f_wine;
    a->error_text = f_error_text;
}

void fake_free(struct fake_etw *f)
{
    for (int i = 0; i < FAKE_MAX_SESSIONS; i++)
        mem_free(f->s[i].events);
    for (uint32_t i = 0; i < f->nevents; i++)
        mem_free(f->event_session[i]);
    mem_free(f->events);
    mem_free(f->event_session);
    for (uint32_t i = 0; i < f->nstores; i++) {
        batch_free(f->stores[i]);
        mem_free(f->stores[i]);
    }
    mem_free(f->stores);
    for (uint32_t i = 0; i < f->ntdh; i++)
        mem_free(f->tdh[i].blob);
    mem_free(f->tdh);
    for (uint32_t i = 0; i < f->nmaps; i++) {
        mem_free(f->maps[i].name);
        mem_free(f->maps[i].blob);
    }
    mem_free(f->maps);
    mem_free(f->provider_blob);
    for (uint32_t i = 0; i < f->nkeys; i++)
        mem_free(f->keys[i]);
    mem_free(f->keys);
    for (uint32_t i = 0; i < f->nvals; i++) {
        mem_free(f->vals[i].key);
        mem_free(f->vals[i].name);
        mem_free(f->vals[i].data);
    }
    mem_free(f->vals);
    buf_free(&f->log);
    plat_cond_destroy(&f->cv);
    plat_mutex_destroy(&f->mu);
}

void fake_add_record(struct fake_etw *f, const char *session, const struct record *rec)
{
    if (f->nstores == 0 || batch_full(f->stores[f->nstores - 1])) {
        f->stores = mem_realloc(f->stores, (f->nstores + 1) * sizeof *f->stores);
        struct record_batch *b = mem_alloc(sizeof *b);
        batch_init(b, 4096);
        f->stores[f->nstores++] = b;
    }
    struct record_batch *b = f->stores[f->nstores - 1];
    batch_push_copy(b, rec);
    if (f->nevents == f->cap_events) {
        f->cap_events = f->cap_events ? f->cap_events * 2 : 1024;
        f->events = mem_realloc(f->events, f->cap_events * sizeof *f->events);
        f->event_session = mem_realloc(f->event_session, f->cap_events * sizeof *f->event_session);
    }
    f->events[f->nevents] = &b->recs[b->n - 1];
    f->event_session[f->nevents] = mem_strdup(session);
    f->nevents++;
}

uint32_t fake_add_etl(struct fake_etw *f, const char *session, const char *path,
                      int skip_metadata)
{
    struct etl_reader *rd;
    struct errbuf eb;
    if (etl_open(path, NULL, &rd, &eb) != 0)
        return 0;
    f->info = *etl_info(rd);
    f->info.path = f->info.logger_name = NULL;
    struct record rec;
    uint32_t n = 0;
    while (etl_next(rd, &rec, &eb) == 1) {
        if (skip_metadata && schema_is_tdh_metadata_record(&rec))
            continue;
        rec.trace = NULL;
        fake_add_record(f, session, &rec);
        n++;
    }
    etl_close(rd);
    return n;
}

void fake_add_tdh(struct fake_etw *f, const struct schema_key *key, const void *blob,
                  uint32_t len)
{
    f->tdh = mem_realloc(f->tdh, (f->ntdh + 1) * sizeof *f->tdh);
    f->tdh[f->ntdh].key = *key;
    f->tdh[f->ntdh].blob = mem_alloc(len);
    memcpy(f->tdh[f->ntdh].blob, blob, len);
    f->tdh[f->ntdh].len = len;
    f->ntdh++;
}

void fake_add_map(struct fake_etw *f, const etwhost_guid *provider, const char *name,
                  const void *blob, uint32_t len)
{
    f->maps = mem_realloc(f->maps, (f->nmaps + 1) * sizeof *f->maps);
    struct fake_map *m = &f->maps[f->nmaps++];
    m->provider = *provider;
    m->name = mem_strdup(name);
    m->blob = mem_alloc(len);
    memcpy(m->blob, blob, len);
    m->len = len;
}

uint32_t fake_add_tdh_from_etl(struct fake_etw *f, const char *path)
{
    struct etl_reader *rd;
    struct errbuf eb;
    if (etl_open(path, NULL, &rd, &eb) != 0)
        return 0;
    struct record rec;
    uint32_t n = 0;
    while (etl_next(rd, &rec, &eb) == 1) {
        if (!schema_is_tdh_metadata_record(&rec))
            continue;
        if (rec.opcode == TDH_META_OPCODE_EVENT_INFO) {
            struct schema *s;
            struct schema_key key;
            if (tdh_parse_event_info(rec.data, rec.data_len, 0, NULL, &s, &key, &eb) == 0) {
                fake_add_tdh(f, &key, rec.data, rec.data_len);
                schema_free(s);
                n++;
            }
        } else if (rec.opcode == TDH_META_OPCODE_MAP_INFO && rec.data_len > 16) {
            struct schema_map *m;
            etwhost_guid prov;
            guid_read(&prov, rec.data);
            if (tdh_parse_map_info(rec.data + 16, rec.data_len - 16, &m, &eb) == 0) {
                fake_add_map(f, &prov, m->name, rec.data + 16, rec.data_len - 16);
                mem_free(m);
                n++;
            }
        }
    }
    etl_close(rd);
    return n;
}

void fake_set_providers(struct fake_etw *f, const char *const *names, const etwhost_guid *guids,
                        uint32_t n)
{
    struct buf b = BUF_INIT;
    uint8_t hdr[8] = {0};
    hdr[0] = (uint8_t)n;
    buf_append(&b, hdr, 8);
    size_t strings = 8 + (size_t)n * 24;
    uint8_t zero[24] = {0};
    for (uint32_t i = 0; i < n; i++)
        buf_append(&b, zero, 24);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = (uint8_t *)b.p + 8 + (size_t)i * 24;
        const etwhost_guid *g = &guids[i];
        uint8_t gb[16] = {(uint8_t)g->data1, (uint8_t)(g->data1 >> 8), (uint8_t)(g->data1 >> 16),
                          (uint8_t)(g->data1 >> 24), (uint8_t)g->data2, (uint8_t)(g->data2 >> 8),
                          (uint8_t)g->data3, (uint8_t)(g->data3 >> 8)};
        memcpy(gb + 8, g->data4, 8);
        memcpy(e, gb, 16);
        e[16] = (uint8_t)(i & 1); /* alternate manifest / MOF */
        e[20] = (uint8_t)strings;
        e[21] = (uint8_t)(strings >> 8);
        e[22] = (uint8_t)(strings >> 16);
        for (const char *c = names[i];; c++) {
            uint8_t u[2] = {(uint8_t)*c, 0};
            buf_append(&b, u, 2);
            strings += 2;
            if (*c == '\0')
                break;
        }
    }
    mem_free(f->provider_blob);
    f->provider_len = (uint32_t)b.len;
    f->provider_blob = (uint8_t *)buf_take(&b);
}

struct fake_session *fake_session(struct fake_etw *f, const char *name)
{
    plat_mutex_lock(&f->mu);
    struct fake_session *s = by_name(f, name, 0);
    plat_mutex_unlock(&f->mu);
    return s;
}

int fake_wait_delivered(struct fake_etw *f, uint32_t ms)
{
    uint64_t until = plat_monotonic_ns() + (uint64_t)ms * 1000000ull;
    plat_mutex_lock(&f->mu);
    while (f->delivered < f->nevents && plat_monotonic_ns() < until)
        plat_cond_timedwait(&f->cv, &f->mu, 20);
    int ok = f->delivered >= f->nevents;
    plat_mutex_unlock(&f->mu);
    return ok;
}
