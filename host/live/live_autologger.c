/*
 * live_autologger: the AutoLogger registry layout (see live_autologger.h).
 */
#include "live_autologger.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../core/mem.h"

static int perm_or_io(uint32_t w)
{
    return w == ETW_ERR_ACCESS_DENIED ? ERR_PERM : ERR_IO;
}

int live_autologger_check(const struct live_session_cfg *c, struct errbuf *eb)
{
    if (c->name[0] == '\0' || strchr(c->name, '\\') || strlen(c->name) > 200)
        return errbuf_set(eb, ERR_CONFIG, "AutoLogger name \"%s\" must be 1..200 characters "
                          "without '\\'", c->name);
    if (c->kind == LIVE_KIND_KERNEL)
        return errbuf_set(eb, ERR_CONFIG, "AutoLogger \"%s\": the NT Kernel Logger cannot be an "
                          "AutoLogger (Windows uses the Global Logger for kernel flags)", c->name);
    if (c->kernel_flags)
        return errbuf_set(eb, ERR_CONFIG, "AutoLogger \"%s\": kernel flags cannot be written to "
                          "an AutoLogger; use system providers with kind \"system\"", c->name);
    if (c->nproviders == 0)
        return errbuf_set(eb, ERR_CONFIG, "AutoLogger \"%s\" needs at least one provider",
                          c->name);
    for (size_t i = 0; i < c->nproviders; i++) {
        const struct live_provider *p = &c->providers[i];
        /*
         * PID filters have no registry form (processes do not exist at boot);
         * event-name and stack level/keyword filters have one only on newer
         * Windows builds (subkeys of Filters), which etwhost does not write.
         */
        const char *what = p->n_pids ? "PID filters have no AutoLogger registry form (processes "
                                       "do not exist at boot)"
                           : p->n_event_names ? "event name filters are not written to AutoLoggers "
                                                "by etwhost"
                           : p->stack_lkw ? "stack level/keyword filters are not written to "
                                            "AutoLoggers by etwhost"
                                          : NULL;
        if (what)
            return errbuf_set(eb, ERR_CONFIG, "AutoLogger \"%s\": provider \"%s\": %s", c->name,
                              p->spec, what);
        if (!p->has_guid)
            return errbuf_set(eb, ERR_CONFIG, "AutoLogger \"%s\": provider \"%s\" has no GUID",
                              c->name, p->spec);
    }
    return 0;
}

static void key_path(char *out, size_t cap, const char *name, const etwhost_guid *prov,
                     int filters)
{
    if (prov == NULL) {
        snprintf(out, cap, "%s\\%s", LIVE_AUTOLOGGER_ROOT, name);
        return;
    }
    char g[37];
    guid_format(prov, g);
    for (char *p = g; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    snprintf(out, cap, "%s\\%s\\{%s}%s", LIVE_AUTOLOGGER_ROOT, name, g, filters ? "\\Filters" : "");
}

struct writer {
    const struct etw_api *api;
    const char *key;
    uint32_t w;
    const char *value;
};

static int set_dword(struct writer *wr, const char *value, uint32_t v)
{
    if (wr->w)
        return -1;
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    wr->w = wr->api->reg_set(wr->api->ctx, wr->key, value, ETW_REG_DWORD, b, 4);
    wr->value = value;
    return wr->w ? -1 : 0;
}

static int set_qword(struct writer *wr, const char *value, uint64_t v)
{
    if (wr->w)
        return -1;
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    wr->w = wr->api->reg_set(wr->api->ctx, wr->key, value, ETW_REG_QWORD, b, 8);
    wr->value = value;
    return wr->w ? -1 : 0;
}

static int set_sz(struct writer *wr, const char *value, const char *s)
{
    if (wr->w)
        return -1;
    wr->w = wr->api->reg_set(wr->api->ctx, wr->key, value, ETW_REG_SZ, s, (uint32_t)strlen(s));
    wr->value = value;
    return wr->w ? -1 : 0;
}

static int set_ids(struct writer *wr, const char *value, const uint16_t *ids, uint32_t n)
{
    if (wr->w)
        return -1;
    uint8_t b[2 * LIVE_MAX_EVENT_FILTER_EVENT_ID_COUNT];
    for (uint32_t i = 0; i < n; i++) {
        b[2 * i] = (uint8_t)ids[i];
        b[2 * i + 1] = (uint8_t)(ids[i] >> 8);
    }
    wr->w = wr->api->reg_set(wr->api->ctx, wr->key, value, ETW_REG_BINARY, b, 2 * n);
    wr->value = value;
    return wr->w ? -1 : 0;
}

int live_autologger_create(const struct etw_api *api, const struct live_session_cfg *c,
                           int start, struct errbuf *eb)
{
    int rc = live_autologger_check(c, eb);
    if (rc)
        return rc;
    char key[512], name[ETW_NAME_MAX];
    snprintf(name, sizeof name, "%s", c->name);
    key_path(key, sizeof key, name, NULL, 0);
    char probe[8];
    uint32_t w = api->reg_enum_value(api->ctx, key, 0, probe, sizeof probe);
    if (w != ETW_ERR_FILE_NOT_FOUND) {
        if (w == ETW_OK || w == ETW_ERR_NO_MORE_ITEMS || w == ETW_ERR_MORE_DATA)
            return errbuf_set(eb, ERR_EXISTS, "AutoLogger \"%s\" already exists (HKLM\\%s); "
                              "delete it first: etwhost autologger delete \"%s\"",
                              name, key, name);
        char t[300];
        return errbuf_set(eb, perm_or_io(w), "AutoLogger \"%s\": reading HKLM\\%s failed: %s",
                          name, key, etw_error_text(api, w, t, sizeof t));
    }
    struct etw_session_props p;
    live_session_props(c, &p);
    struct writer wr = {api, key, 0, NULL};
    char g[40];
    g[0] = '{';
    guid_format(&c->guid, g + 1);
    strcat(g, "}");
    set_dword(&wr, "Start", start ? 1u : 0u);
    set_sz(&wr, "Guid", g);
    set_dword(&wr, "LogFileMode", p.log_file_mode);
    set_dword(&wr, "BufferSize", p.buffer_size_kb);
    set_dword(&wr, "MinimumBuffers", p.min_buffers);
    set_dword(&wr, "MaximumBuffers", p.max_buffers);
    set_dword(&wr, "FlushTimer", p.flush_timer_s);
    set_dword(&wr, "ClockType", p.clock_type);
    if (c->file)
        set_sz(&wr, "FileName", c->file);
    if (c->max_file_mb)
        set_dword(&wr, "MaxFileSize", c->max_file_mb);
    char pkey[512], fkey[560];
    for (size_t i = 0; i < c->nproviders && wr.w == 0; i++) {
        const struct live_provider *pr = &c->providers[i];
        key_path(pkey, sizeof pkey, name, &pr->guid, 0);
        wr.key = pkey;
        set_dword(&wr, "Enabled", 1);
        set_dword(&wr, "EnableLevel", pr->level);
        set_qword(&wr, "MatchAnyKeyword", pr->match_any);
        set_qword(&wr, "MatchAllKeyword", pr->match_all);
        if (pr->properties)
            set_dword(&wr, "EnableProperty", pr->properties);
        if (pr->n_event_ids || pr->exe || pr->n_stack_ids) {
            key_path(fkey, sizeof fkey, name, &pr->guid, 1);
            wr.key = fkey;
            set_dword(&wr, "Enabled", 1);
            if (pr->n_event_ids) {
                set_dword(&wr, "EventIdFilterIn", pr->event_ids_in ? 1u : 0u);
                set_ids(&wr, "EventIds", pr->event_ids, pr->n_event_ids);
            }
            if (pr->exe)
                set_sz(&wr, "ExeFilter", pr->exe);
            if (pr->n_stack_ids) {
                set_dword(&wr, "StackWalkFilterIn", pr->stack_ids_in ? 1u : 0u);
                set_ids(&wr, "StackWalkIds", pr->stack_ids, pr->n_stack_ids);
            }
        }
    }
    if (wr.w) {
        char t[300];
        rc = errbuf_set(eb, perm_or_io(wr.w), "AutoLogger \"%s\": writing HKLM\\%s\\%s failed: %s",
                        name, wr.key, wr.value, etw_error_text(api, wr.w, t, sizeof t));
        api->reg_delete_tree(api->ctx, key);
        return rc;
    }
    return 0;
}

int live_autologger_delete(const struct etw_api *api, const char *name, struct errbuf *eb)
{
    char key[512];
    key_path(key, sizeof key, name, NULL, 0);
    uint32_t w = api->reg_delete_tree(api->ctx, key);
    if (w == ETW_ERR_FILE_NOT_FOUND)
        return errbuf_set(eb, ERR_NOTFOUND, "AutoLogger \"%s\" does not exist (HKLM\\%s)", name,
                          key);
    if (w) {
        char t[300];
        return errbuf_set(eb, perm_or_io(w), "AutoLogger \"%s\": deleting HKLM\\%s failed: %s",
                          name, key, etw_error_text(api, w, t, sizeof t));
    }
    return 0;
}

static uint64_t rdle(const uint8_t *p, uint32_t n)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < n && i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Print every value of key (indent spaces), then its subkeys, depth-first. */
static int show_key(const struct etw_api *api, const char *key, const char *label, int indent,
                    struct buf *out, int depth)
{
    buf_printf(out, "%*s%s\n", indent, "", label);
    uint8_t data[4096];
    char vname[256];
    for (uint32_t i = 0;; i++) {
        uint32_t w = api->reg_enum_value(api->ctx, key, i, vname, sizeof vname);
        if (w == ETW_ERR_NO_MORE_ITEMS)
            break;
        if (w)
            return (int)w;
        uint32_t type = 0, len = sizeof data - 1;
        w = api->reg_get(api->ctx, key, vname, &type, data, &len);
        if (w) {
            buf_printf(out, "%*s  %s: unreadable (error %u)\n", indent, "", vname, w);
            continue;
        }
        buf_printf(out, "%*s  %-18s ", indent, "", vname);
        if (type == ETW_REG_DWORD && len == 4) {
            uint64_t v = rdle(data, 4);
            buf_printf(out, "%" PRIu64 " (0x%" PRIx64 ")", v, v);
        } else if (type == ETW_REG_QWORD && len == 8) {
            buf_printf(out, "0x%" PRIx64, rdle(data, 8));
        } else if (type == ETW_REG_SZ) {
            data[len] = 0;
            buf_printf(out, "\"%s\"", (const char *)data);
        } else if (type == ETW_REG_BINARY &&
                   (strcmp(vname, "EventIds") == 0 || strcmp(vname, "StackWalkIds") == 0)) {
            for (uint32_t k = 0; k + 1 < len; k += 2)
                buf_printf(out, "%s%u", k ? "," : "", (unsigned)rdle(data + k, 2));
            buf_printf(out, " (event ids)");
        } else {
            for (uint32_t k = 0; k < len && k < 64; k++)
                buf_printf(out, "%02x", data[k]);
            if (len > 64)
                buf_printf(out, "... (%u bytes)", len);
            buf_printf(out, " (type %u)", type);
        }
        buf_putc(out, '\n');
    }
    if (depth >= 3)
        return 0;
    char sub[256], path[1024];
    for (uint32_t i = 0;; i++) {
        uint32_t w = api->reg_enum_key(api->ctx, key, i, sub, sizeof sub);
        if (w == ETW_ERR_NO_MORE_ITEMS)
            break;
        if (w)
            return (int)w;
        snprintf(path, sizeof path, "%s\\%s", key, sub);
        int rc = show_key(api, path, sub, indent + 2, out, depth + 1);
        if (rc)
            return rc;
    }
    return 0;
}

int live_autologger_show(const struct etw_api *api, const char *name, struct buf *out,
                         struct errbuf *eb)
{
    char key[512], label[700];
    key_path(key, sizeof key, name, NULL, 0);
    snprintf(label, sizeof label, "AutoLogger \"%s\" (HKLM\\%s)", name, key);
    int w = show_key(api, key, label, 0, out, 1);
    if (w == (int)ETW_ERR_FILE_NOT_FOUND)
        return errbuf_set(eb, ERR_NOTFOUND, "AutoLogger \"%s\" does not exist (HKLM\\%s)", name,
                          key);
    if (w) {
        char t[300];
        return errbuf_set(eb, perm_or_io((uint32_t)w), "AutoLogger \"%s\": reading failed: %s",
                          name, etw_error_text(api, (uint32_t)w, t, sizeof t));
    }
    return 0;
}

int live_autologger_list(const struct etw_api *api, struct buf *out, struct errbuf *eb)
{
    char name[256], key[512], sub[256];
    for (uint32_t i = 0;; i++) {
        uint32_t w = api->reg_enum_key(api->ctx, LIVE_AUTOLOGGER_ROOT, i, name, sizeof name);
        if (w == ETW_ERR_NO_MORE_ITEMS || (w == ETW_ERR_FILE_NOT_FOUND && i == 0))
            break;
        if (w) {
            char t[300];
            return errbuf_set(eb, perm_or_io(w), "reading HKLM\\%s failed: %s",
                              LIVE_AUTOLOGGER_ROOT, etw_error_text(api, w, t, sizeof t));
        }
        key_path(key, sizeof key, name, NULL, 0);
        uint8_t d[8] = {0};
        uint32_t type = 0, len = sizeof d;
        long start = -1;
        if (api->reg_get(api->ctx, key, "Start", &type, d, &len) == ETW_OK && type == ETW_REG_DWORD)
            start = (long)rdle(d, 4);
        char guid[64] = "";
        len = sizeof guid - 1;
        if (api->reg_get(api->ctx, key, "Guid", &type, guid, &len) == ETW_OK && type == ETW_REG_SZ)
            guid[len] = 0;
        else
            guid[0] = 0;
        uint32_t np = 0;
        while (api->reg_enum_key(api->ctx, key, np, sub, sizeof sub) == ETW_OK)
            np++;
        buf_printf(out, "%-40s start=%ld guid=%s providers=%u\n", name, start,
                   guid[0] ? guid : "-", np);
    }
    return 0;
}
