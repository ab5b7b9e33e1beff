/*
 * live_session: session configuration, properties and start/stop policy
 * (see live_session.h).
 */
#include "live_session.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "../config/config.h"
#include "../core/log.h"
#include "../core/mem.h"
#include "../platform/platform.h"

static atomic_uint name_counter;

void live_unique_name(char *out, size_t cap)
{
    unsigned n = atomic_fetch_add(&name_counter, 1) + 1;
    snprintf(out, cap, "etwhost-%u-%u", (unsigned)plat_getpid(), n);
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void live_new_guid(etwhost_guid *g)
{
    static atomic_ullong salt;
    uint64_t s = (uint64_t)plat_now_filetime() ^ plat_monotonic_ns() ^
                 ((uint64_t)plat_getpid() << 32) ^ atomic_fetch_add(&salt, 0x632BE59BD9B4E019ull);
    uint64_t a = splitmix(&s), b = splitmix(&s);
    g->data1 = (uint32_t)a;
    g->data2 = (uint16_t)(a >> 32);
    g->data3 = (uint16_t)((a >> 48) & 0x0FFF) | 0x4000; /* version 4 */
    for (int i = 0; i < 8; i++)
        g->data4[i] = (uint8_t)(b >> (8 * i));
    g->data4[0] = (uint8_t)((g->data4[0] & 0x3F) | 0x80); /* RFC 4122 variant */
}

void live_default_buffers(uint32_t ncpu, uint32_t *min_buffers, uint32_t *max_buffers)
{
    if (ncpu == 0)
        ncpu = 1;
    uint32_t mn = 4 * ncpu, mx = 16 * ncpu;
    if (mn < 64)
        mn = 64;
    if (mx < 256)
        mx = 256;
    if (mx > 1024)
        mx = 1024;
    if (mn > mx)
        mn = mx;
    *min_buffers = mn;
    *max_buffers = mx;
}

void live_session_cfg_init(struct live_session_cfg *c, uint32_t ncpu)
{
    memset(c, 0, sizeof *c);
    live_unique_name(c->name, sizeof c->name);
    c->kind = LIVE_KIND_USER;
    c->realtime = 1;
    c->existing = LIVE_EXISTING_FAIL;
    c->restart = 1;
    c->profile_privilege = 1;
    c->buffer_kb = LIVE_DEFAULT_BUFFER_KB;
    live_default_buffers(ncpu, &c->min_buffers, &c->max_buffers);
    c->flush_s = LIVE_DEFAULT_FLUSH_S;
    c->clock = TRACE_CLOCK_QPC;
    c->stop_timeout_ms = LIVE_DEFAULT_STOP_TIMEOUT_MS;
    live_new_guid(&c->guid);
}

void live_session_cfg_free(struct live_session_cfg *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nproviders; i++)
        live_provider_free(&c->providers[i]);
    mem_free(c->providers);
    mem_free(c->file);
    memset(c, 0, sizeof *c);
}

int live_kernel_flags_parse(const char *s, size_t len, uint32_t *flags, struct errbuf *eb)
{
    size_t n;
    const struct live_bit *t = live_kernel_flags(&n);
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != '|' && s[j] != ',' && s[j] != '+')
            j++;
        size_t a = i, b = j;
        while (a < b && s[a] == ' ')
            a++;
        while (b > a && s[b - 1] == ' ')
            b--;
        uint64_t v;
        if (b > a && live_parse_u64(s + a, b - a, UINT32_MAX, &v) != 0 &&
            !live_bit_find(t, n, s + a, b - a, "EVENT_TRACE_FLAG_", &v)) {
            const char *cands[40];
            size_t k = 0;
            for (; k < n && k < 39; k++)
                cands[k] = t[k].name;
            cands[k] = NULL;
            char word[64];
            snprintf(word, sizeof word, "%.*s", (int)(b - a), s + a);
            const char *near = cfg_suggest(word, cands);
            errbuf_set(eb, ERR_CONFIG,
                       "unknown kernel flag \"%s\"%s%s%s (Process, Thread, ImageLoad, DiskIo, "
                       "DiskIoInit, FileIo, FileIoInit, NetworkTcpip, Registry, ... or a number)",
                       word, near ? " (did you mean \"" : "", near ? near : "",
                       near ? "\"?)" : "");
            return -1;
        }
        if (b > a)
            *flags |= (uint32_t)v;
        i = j + 1;
    }
    return 0;
}

static const char *const session_keys[] = {
    "name", "kind", "realtime", "paged", "file", "file_mode", "max_file_mb", "buffer_kb",
    "min_buffers", "max_buffers", "flush_s", "clock", "kernel_flags", "existing", "restart",
    "stop_timeout_ms", "guid", "profile_privilege", NULL,
};

/* Index of s in a NULL-terminated list, or -1. */
static int choice(const char *s, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return i;
    return -1;
}

static int get_choice(const struct cfg *cfg, const json_t *obj, const char *key,
                      const char *const *list, const char *def, int *out, const char *help,
                      struct errbuf *eb)
{
    const char *s;
    int rc = cfg_get_str(cfg, obj, key, def, &s, eb);
    if (rc)
        return rc;
    int i = choice(s, list);
    if (i < 0)
        return cfg_err(cfg, obj, key, eb, ERR_CONFIG, "\"%s\" must be %s, not \"%s\"", key, help,
                       s);
    *out = i;
    return 0;
}

static int session_from_json(const struct cfg *cfg, const json_t *so, struct live_session_cfg *c,
                             struct errbuf *eb)
{
    int rc = cfg_check_keys(cfg, so, session_keys, "\"session\" of a live source", eb);
    if (rc)
        return rc;
    const char *name;
    if ((rc = cfg_get_str(cfg, so, "name", NULL, &name, eb)))
        return rc;
    if (name) {
        if (name[0] == '\0' || strlen(name) >= sizeof c->name)
            return cfg_err(cfg, so, "name", eb, ERR_CONFIG,
                           "\"name\" must be 1..%zu bytes", sizeof c->name - 1);
        snprintf(c->name, sizeof c->name, "%s", name);
    }
    static const char *const kinds[] = {"user", "kernel", "system", NULL};
    static const char *const policies[] = {"fail", "stop", "attach", NULL};
    static const char *const modes[] = {"none", "sequential", "circular", "newfile", NULL};
    static const char *const clocks[] = {"", "qpc", "system", "cycles", NULL};
    int clock = TRACE_CLOCK_QPC;
    if ((rc = get_choice(cfg, so, "kind", kinds, "user", &c->kind,
                         "\"user\", \"kernel\" or \"system\"", eb)) ||
        (rc = get_choice(cfg, so, "existing", policies, "fail", &c->existing,
                         "\"fail\", \"stop\" or \"attach\"", eb)) ||
        (rc = get_choice(cfg, so, "clock", clocks, "qpc", &clock,
                         "\"qpc\", \"system\" or \"cycles\"", eb)) ||
        (rc = cfg_get_bool(cfg, so, "realtime", 1, &c->realtime, eb)) ||
        (rc = cfg_get_bool(cfg, so, "paged", 0, &c->paged, eb)) ||
        (rc = cfg_get_bool(cfg, so, "restart", 1, &c->restart, eb)) ||
        (rc = cfg_get_bool(cfg, so, "profile_privilege", 1, &c->profile_privilege, eb)) ||
        (rc = cfg_get_u32(cfg, so, "buffer_kb", c->buffer_kb, 1, 1024, &c->buffer_kb, eb)) ||
        (rc = cfg_get_u32(cfg, so, "min_buffers", c->min_buffers, 2, 65535, &c->min_buffers,
                          eb)) ||
        (rc = cfg_get_u32(cfg, so, "max_buffers", c->max_buffers, 2, 65535, &c->max_buffers,
                          eb)) ||
        (rc = cfg_get_u32(cfg, so, "flush_s", c->flush_s, 0, 3600, &c->flush_s, eb)) ||
        (rc = cfg_get_u32(cfg, so, "max_file_mb", 0, 0, 1u << 30, &c->max_file_mb, eb)) ||
        (rc = cfg_get_u32(cfg, so, "stop_timeout_ms", c->stop_timeout_ms, 100, 600000,
                          &c->stop_timeout_ms, eb)))
        return rc;
    if (clock == 0)
        return cfg_err(cfg, so, "clock", eb, ERR_CONFIG,
                       "\"clock\" must be \"qpc\", \"system\" or \"cycles\"");
    c->clock = (uint32_t)clock;
    /* A min above an explicit max is an error; above a default max, the max follows. */
    if (c->min_buffers > c->max_buffers) {
        if (json_object_get(so, "max_buffers"))
            return cfg_err(cfg, so, "min_buffers", eb, ERR_CONFIG,
                           "\"min_buffers\" (%u) is above \"max_buffers\" (%u)", c->min_buffers,
                           c->max_buffers);
        c->max_buffers = c->min_buffers;
    }
    const char *guid;
    if ((rc = cfg_get_str(cfg, so, "guid", NULL, &guid, eb)))
        return rc;
    if (guid && guid_parse(guid, strlen(guid), &c->guid))
        return cfg_err(cfg, so, "guid", eb, ERR_CONFIG, "\"guid\" is not a GUID: \"%s\"", guid);
    const char *file;
    if ((rc = cfg_get_str(cfg, so, "file", NULL, &file, eb)))
        return rc;
    int fm = -1;
    if (json_object_get(so, "file_mode") &&
        (rc = get_choice(cfg, so, "file_mode", modes, "none", &fm,
                         "\"sequential\", \"circular\" or \"newfile\"", eb)))
        return rc;
    if (file) {
        if (file[0] == '\0')
            return cfg_err(cfg, so, "file", eb, ERR_CONFIG, "\"file\" is empty");
        c->file = cfg_path_join(cfg ? cfg->dir : NULL, file);
        if (c->file == NULL)
            return errbuf_set(eb, ERR_NOMEM, "out of memory");
        if (strlen(c->file) >= ETW_PATH_MAX)
            return cfg_err(cfg, so, "file", eb, ERR_CONFIG, "\"file\" is longer than %d bytes",
                           ETW_PATH_MAX - 1);
        c->file_mode = fm > 0 ? fm : LIVE_FILE_SEQUENTIAL;
        if (fm == LIVE_FILE_NONE)
            return cfg_err(cfg, so, "file_mode", eb, ERR_CONFIG,
                           "\"file_mode\" \"none\" contradicts \"file\"");
    } else if (fm > 0) {
        return cfg_err(cfg, so, "file_mode", eb, ERR_CONFIG,
                       "\"file_mode\" needs \"file\" (the log file path)");
    }
    if ((c->file_mode == LIVE_FILE_CIRCULAR || c->file_mode == LIVE_FILE_NEWFILE) &&
        c->max_file_mb == 0)
        return cfg_err(cfg, so, "file_mode", eb, ERR_CONFIG,
                       "a %s log file needs \"max_file_mb\"",
                       c->file_mode == LIVE_FILE_CIRCULAR ? "circular" : "new-file");
    if (c->file_mode == LIVE_FILE_NEWFILE && strstr(c->file, "%d") == NULL)
        return cfg_err(cfg, so, "file", eb, ERR_CONFIG,
                       "a \"newfile\" log file path needs %%d (replaced by the file number)");
    const json_t *kf = json_object_get(so, "kernel_flags");
    if (kf) {
        struct errbuf ke;
        int bad = 0;
        if (json_is_string(kf)) {
            bad = live_kernel_flags_parse(json_string_value(kf), json_string_length(kf),
                                          &c->kernel_flags, &ke) != 0;
        } else if (json_is_array(kf)) {
            size_t i;
            const json_t *e;
            json_array_foreach(kf, i, e) {
                if (json_is_integer(e) && json_integer_value(e) >= 0 &&
                    json_integer_value(e) <= 0xFFFFFFFFll) {
                    c->kernel_flags |= (uint32_t)json_integer_value(e);
                } else if (!json_is_string(e)) {
                    bad = 1;
                    errbuf_set(&ke, ERR_CONFIG, "kernel flags are names or numbers");
                } else if (live_kernel_flags_parse(json_string_value(e), json_string_length(e),
                                                   &c->kernel_flags, &ke)) {
                    bad = 1;
                }
                if (bad)
                    break;
            }
        } else {
            bad = 1;
            errbuf_set(&ke, ERR_CONFIG, "\"kernel_flags\" must be an array of flag names or a "
                       "string \"Process|Thread\"");
        }
        if (bad)
            return cfg_err(cfg, so, "kernel_flags", eb, ERR_CONFIG, "%s", ke.msg);
    }
    if (c->kind == LIVE_KIND_KERNEL) {
        if (name && strcmp(name, LIVE_KERNEL_LOGGER_NAME) != 0)
            return cfg_err(cfg, so, "name", eb, ERR_CONFIG,
                           "kind \"kernel\" is the session \"%s\"; use kind \"system\" for a "
                           "kernel session of another name",
                           LIVE_KERNEL_LOGGER_NAME);
        snprintf(c->name, sizeof c->name, "%s", LIVE_KERNEL_LOGGER_NAME);
        c->guid = live_system_trace_control_guid;
    }
    if (c->paged && c->kind != LIVE_KIND_USER)
        return cfg_err(cfg, so, "paged", eb, ERR_CONFIG,
                       "paged memory is for user-mode providers only (kind \"user\")");
    if (!c->realtime && c->file == NULL)
        return cfg_err(cfg, so, "realtime", eb, ERR_CONFIG,
                       "a session that is not real-time needs \"file\"");
    if (c->kernel_flags && c->kind == LIVE_KIND_USER)
        return cfg_err(cfg, so, "kernel_flags", eb, ERR_CONFIG,
                       "\"kernel_flags\" need kind \"kernel\" or \"system\"");
    return 0;
}

int live_session_cfg_from_json(const struct cfg *cfg, const json_t *src, uint32_t ncpu,
                               struct live_session_cfg *c, struct errbuf *eb)
{
    live_session_cfg_init(c, ncpu);
    const json_t *so = json_object_get(src, "session");
    int rc = 0;
    if (so && !json_is_object(so))
        rc = cfg_err(cfg, src, "session", eb, ERR_CONFIG, "\"session\" must be an object");
    if (rc == 0 && so)
        rc = session_from_json(cfg, so, c, eb);
    const json_t *pv = json_object_get(src, "providers");
    if (rc == 0 && pv) {
        if (!json_is_array(pv)) {
            rc = cfg_err(cfg, src, "providers", eb, ERR_CONFIG,
                         "\"providers\" must be an array of provider strings or objects");
        } else if (json_array_size(pv) > 0) {
            c->providers = mem_calloc(json_array_size(pv), sizeof *c->providers);
            if (c->providers == NULL)
                rc = errbuf_set(eb, ERR_NOMEM, "out of memory");
            size_t i;
            const json_t *e;
            json_array_foreach(pv, i, e) {
                if (rc)
                    break;
                rc = live_provider_from_json(cfg, e, &c->providers[i], eb);
                c->nproviders = i + 1;
            }
        }
    }
    if (rc == 0) {
        size_t nsys = 0;
        for (size_t i = 0; i < c->nproviders; i++)
            nsys += c->providers[i].sys != NULL;
        if (c->kind == LIVE_KIND_KERNEL && c->nproviders)
            rc = cfg_err(cfg, src, "providers", eb, ERR_CONFIG,
                         "the NT Kernel Logger (kind \"kernel\") takes \"kernel_flags\", not "
                         "providers; use kind \"system\" to combine both");
        else if (c->kind == LIVE_KIND_USER && nsys)
            rc = cfg_err(cfg, src, "providers", eb, ERR_CONFIG,
                         "system providers (System*Provider) need a session of kind \"system\"");
        else if (c->kind == LIVE_KIND_KERNEL && c->kernel_flags == 0 &&
                 c->existing != LIVE_EXISTING_ATTACH)
            rc = cfg_err(cfg, src, "session", eb, ERR_CONFIG,
                         "kind \"kernel\" needs \"kernel_flags\" (e.g. [\"Process\", \"Thread\", "
                         "\"ImageLoad\"])");
        else if (c->kind != LIVE_KIND_KERNEL && c->nproviders == 0 && c->kernel_flags == 0 &&
                 c->existing != LIVE_EXISTING_ATTACH)
            rc = cfg_err(cfg, src, NULL, eb, ERR_CONFIG,
                         "a live session needs \"providers\"%s (or \"existing\": \"attach\" to "
                         "consume a running session as it is)",
                         c->kind == LIVE_KIND_SYSTEM ? " or \"kernel_flags\"" : "");
    }
    if (rc)
        live_session_cfg_free(c);
    return rc;
}

void live_session_props(const struct live_session_cfg *c, struct etw_session_props *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", c->name);
    if (c->file)
        snprintf(p->file, sizeof p->file, "%s", c->file);
    p->guid = c->guid;
    p->clock_type = c->clock;
    p->buffer_size_kb = c->buffer_kb;
    p->min_buffers = c->min_buffers;
    p->max_buffers = c->max_buffers;
    p->flush_timer_s = c->flush_s;
    p->max_file_size_mb = c->max_file_mb;
    uint32_t m = 0;
    if (c->realtime)
        m |= ETW_MODE_REAL_TIME;
    switch (c->file_mode) {
    case LIVE_FILE_SEQUENTIAL: m |= ETW_MODE_FILE_SEQUENTIAL; break;
    case LIVE_FILE_CIRCULAR: m |= ETW_MODE_FILE_CIRCULAR; break;
    case LIVE_FILE_NEWFILE: m |= ETW_MODE_FILE_NEWFILE; break;
    default: break;
    }
    if (c->paged)
        m |= ETW_MODE_USE_PAGED_MEMORY;
    if (c->kind == LIVE_KIND_SYSTEM)
        m |= ETW_MODE_SYSTEM_LOGGER;
    p->log_file_mode = m;
    if (c->kind != LIVE_KIND_USER)
        p->enable_flags = c->kernel_flags;
}

static void describe_rc(const struct live_session *s, uint32_t rc, char *out, size_t cap)
{
    etw_error_text(s->api, rc, out, cap);
}

/* Enable every provider; on failure eb names the provider. */
static int enable_providers(struct live_session *s, struct errbuf *eb)
{
    const struct live_session_cfg *c = s->cfg;
    for (size_t i = 0; i < c->nproviders; i++) {
        const struct live_provider *p = &c->providers[i];
        struct live_filters f;
        int rc = live_filters_build(p, &f, eb);
        if (rc)
            return rc;
        struct etw_enable e;
        live_provider_enable_args(p, &f, &e);
        uint32_t w = s->api->enable_trace(s->api->ctx, s->handle, &e);
        live_filters_free(&f);
        if (w != ETW_OK) {
            char t[300], d[400];
            describe_rc(s, w, t, sizeof t);
            live_provider_describe(p, d, sizeof d);
            return errbuf_set(eb, w == ETW_ERR_ACCESS_DENIED ? ERR_PERM : ERR_CONFIG,
                              "session \"%s\": enabling provider %s failed: %s%s", c->name, d, t,
                              w == ETW_ERR_INVALID_PARAMETER
                                  ? " (a filter this Windows version does not support?)"
                                  : "");
        }
    }
    return 0;
}

int live_session_start(struct live_session *s, const struct etw_api *api,
                       const struct live_session_cfg *cfg, int existing, struct errbuf *eb)
{
    memset(s, 0, sizeof *s);
    s->api = api;
    s->cfg = cfg;
    if (existing < 0)
        existing = cfg->existing;
    if (cfg->kind != LIVE_KIND_USER && cfg->profile_privilege && api->enable_privilege) {
        uint32_t w = api->enable_privilege(api->ctx, "SeSystemProfilePrivilege");
        if (w != ETW_OK) {
            char t[300];
            log_warn("session \"%s\": cannot enable SeSystemProfilePrivilege (%s); profile and "
                     "stack events may be missing",
                     cfg->name, etw_error_text(api, w, t, sizeof t));
        }
    }
    struct etw_session_props props;
    live_session_props(cfg, &props);
    uint32_t w = api->start_trace(api->ctx, &props);
    if (w == ETW_ERR_ALREADY_EXISTS) {
        struct etw_session_props q;
        memset(&q, 0, sizeof q);
        switch (existing) {
        case LIVE_EXISTING_STOP:
            w = api->control_trace(api->ctx, 0, cfg->name, ETW_CONTROL_STOP, &q);
            if (w != ETW_OK && w != ETW_ERR_WMI_INSTANCE_NOT_FOUND) {
                char t[300];
                describe_rc(s, w, t, sizeof t);
                return errbuf_set(eb, w == ETW_ERR_ACCESS_DENIED ? ERR_PERM : ERR_IO,
                                  "session \"%s\" already exists and stopping it failed: %s",
                                  cfg->name, t);
            }
            log_info("session \"%s\" already existed: stopped it (policy \"stop\"; it had lost "
                     "%u events)", cfg->name, q.q_events_lost);
            live_session_props(cfg, &props);
            w = api->start_trace(api->ctx, &props);
            break;
        case LIVE_EXISTING_ATTACH:
            w = api->control_trace(api->ctx, 0, cfg->name, ETW_CONTROL_QUERY, &q);
            if (w != ETW_OK) {
                char t[300];
                describe_rc(s, w, t, sizeof t);
                return errbuf_set(eb, w == ETW_ERR_ACCESS_DENIED ? ERR_PERM : ERR_IO,
                                  "session \"%s\" exists but cannot be queried: %s", cfg->name, t);
            }
            s->handle = q.handle;
            s->owned = 0;
            s->running = 1;
            log_info("session \"%s\" already exists: attached to it (policy \"attach\"; it is "
                     "left running at the end)", cfg->name);
            return enable_providers(s, eb);
        default:
            return errbuf_set(eb, ERR_EXISTS,
                              "session \"%s\" already exists (policy \"fail\"): set \"existing\" "
                              "to \"stop\" to replace it or \"attach\" to consume it, or stop it "
                              "with: etwhost stop \"%s\"",
                              cfg->name, cfg->name);
        }
    }
    if (w != ETW_OK) {
        char t[300];
        describe_rc(s, w, t, sizeof t);
        return errbuf_set(eb, w == ETW_ERR_ACCESS_DENIED ? ERR_PERM
                              : w == ETW_ERR_ALREADY_EXISTS ? ERR_EXISTS
                                                           : ERR_IO,
                          "starting session \"%s\" failed: %s", cfg->name, t);
    }
    s->handle = props.handle;
    s->owned = 1;
    s->running = 1;
    int rc = enable_providers(s, eb);
    if (rc) {
        live_session_stop(s, NULL);
        return rc;
    }
    return 0;
}

uint32_t live_session_stop(struct live_session *s, struct etw_session_props *final)
{
    if (!s->running || !s->owned)
        return ETW_OK;
    struct etw_session_props q;
    memset(&q, 0, sizeof q);
    uint32_t w = s->api->control_trace(s->api->ctx, s->handle, s->cfg->name, ETW_CONTROL_STOP, &q);
    s->running = 0;
    if (final)
        *final = q;
    return w;
}

uint32_t live_session_query(const struct live_session *s, struct etw_session_props *out)
{
    memset(out, 0, sizeof *out);
    return s->api->control_trace(s->api->ctx, s->handle, s->cfg->name, ETW_CONTROL_QUERY, out);
}
