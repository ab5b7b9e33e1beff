/*
 * config: loading, validating and merging a config folder (see config.h and
 * docs/config.md).
 */
#include "config.h"
#include "../core/compiler.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "config_pos.h"

#include "../core/buf.h"
#include "../core/log.h"
#include "../core/mem.h"
#include "../platform/platform.h"

#define CFG_NAME_MAX 128

struct cfg_priv {
    struct pos_index *ix;
    json_t **roots; /* every parsed file, kept so positions stay tied to live values */
    size_t n_roots, cap_roots;
    size_t cap_files; /* capacity of cfg.files */
};

/* ---- positions and messages ---- */

const char *cfg_where(const struct cfg *c, const json_t *value)
{
    if (c == NULL || c->priv == NULL)
        return "";
    const struct pos_ent *e = pos_index_node(c->priv->ix, value);
    return e ? e->where : "";
}

const char *cfg_where_member(const struct cfg *c, const json_t *obj, const char *key,
                             int key_pos, char *buf, size_t cap)
{
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    if (c == NULL || c->priv == NULL)
        return buf;
    const struct pos_ent *e = key ? pos_index_member(c->priv->ix, obj, key) : NULL;
    if (e) {
        uint32_t line = key_pos && e->kline ? e->kline : e->vline;
        uint32_t col = key_pos && e->kline ? e->kcol : e->vcol;
        snprintf(buf, cap, "%s:%u:%u", pos_index_file_name(c->priv->ix, e->file),
                 (unsigned)line, (unsigned)col);
    } else {
        snprintf(buf, cap, "%s", cfg_where(c, obj));
    }
    return buf;
}

/* eb = "<where>: <text>", or just the text when the position is unknown. */
static int verr_at(const char *where, struct errbuf *eb, int code, const char *fmt, va_list ap)
{
    if (eb == NULL)
        return code;
    size_t n = 0;
    if (where && where[0]) {
        n = strlen(where);
        if (n > sizeof eb->msg / 2)
            n = sizeof eb->msg / 2;
        memcpy(eb->msg, where, n);
        eb->msg[n++] = ':';
        eb->msg[n++] = ' ';
    }
    vsnprintf(eb->msg + n, sizeof eb->msg - n, fmt, ap);
    return code;
}

int cfg_err(const struct cfg *c, const json_t *obj, const char *key, struct errbuf *eb, int code,
            const char *fmt, ...)
{
    char where[600];
    cfg_where_member(c, obj, key, 0, where, sizeof where);
    va_list ap;
    va_start(ap, fmt);
    verr_at(where, eb, code, fmt, ap);
    va_end(ap);
    return code;
}

/* Error at a value itself (an array element, an object). */
#if defined(__GNUC__) || defined(__clang__)
ETWHOST_PRINTF(5, 6)
#endif
static int err_node(const struct cfg *c, const json_t *node, struct errbuf *eb, int code,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr_at(cfg_where(c, node), eb, code, fmt, ap);
    va_end(ap);
    return code;
}

/* "a string", "an integer"...: what a value is, for messages. */
static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a fractional number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

int cfg_check_keys(const struct cfg *c, const json_t *obj, const char *const *allowed,
                   const char *what, struct errbuf *eb)
{
    if (allowed == NULL)
        return 0; /* the owner of obj validates it itself */
    if (!json_is_object(obj))
        return err_node(c, obj, eb, ERR_CONFIG, "%s must be an object, not %s", what,
                        obj ? type_name(obj) : "absent");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        const char *const *a = allowed;
        while (*a && strcmp(*a, key) != 0)
            a++;
        if (*a)
            continue;
        char where[600];
        cfg_where_member(c, obj, key, 1, where, sizeof where);
        const char *near = cfg_suggest(key, allowed);
        if (near)
            return errbuf_set(eb, ERR_CONFIG, "%s%sunknown key \"%s\" in %s (did you mean \"%s\"?)",
                              where, where[0] ? ": " : "", key, what, near);
        char list[512] = "";
        size_t used = 0;
        for (a = allowed; *a && used < sizeof list - 1; a++) {
            int n = snprintf(list + used, sizeof list - used, "%s%s", a == allowed ? "" : ", ", *a);
            if (n < 0)
                break;
            used += (size_t)n;
        }
        if (allowed[0] == NULL)
            return errbuf_set(eb, ERR_CONFIG, "%s%sunknown key \"%s\" in %s (it takes no keys)",
                              where, where[0] ? ": " : "", key, what);
        return errbuf_set(eb, ERR_CONFIG, "%s%sunknown key \"%s\" in %s (valid keys: %s)", where,
                          where[0] ? ": " : "", key, what, list);
    }
    return 0;
}

/* ---- typed getters ---- */

int cfg_get_u32(const struct cfg *c, const json_t *obj, const char *key, uint32_t def,
                uint32_t min, uint32_t max, uint32_t *out, struct errbuf *eb)
{
    int64_t v;
    int rc = cfg_get_i64(c, obj, key, def, min, max, &v, eb);
    if (rc == 0)
        *out = (uint32_t)v;
    return rc;
}

int cfg_get_i64(const struct cfg *c, const json_t *obj, const char *key, int64_t def,
                int64_t min, int64_t max, int64_t *out, struct errbuf *eb)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v))
        return cfg_err(c, obj, key, eb, ERR_CONFIG, "\"%s\" must be an integer, not %s", key,
                       type_name(v));
    json_int_t i = json_integer_value(v);
    if (i < min || i > max)
        return cfg_err(c, obj, key, eb, ERR_CONFIG,
                       "\"%s\" must be between %lld and %lld, not %lld", key, (long long)min,
                       (long long)max, (long long)i);
    *out = (int64_t)i;
    return 0;
}

int cfg_get_f64(const struct cfg *c, const json_t *obj, const char *key, double def, double min,
                double max, double *out, struct errbuf *eb)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    if (!json_is_number(v))
        return cfg_err(c, obj, key, eb, ERR_CONFIG, "\"%s\" must be a number, not %s", key,
                       type_name(v));
    double d = json_number_value(v);
    if (!(d >= min && d <= max))
        return cfg_err(c, obj, key, eb, ERR_CONFIG, "\"%s\" must be between %g and %g, not %g",
                       key, min, max, d);
    *out = d;
    return 0;
}

int cfg_get_str(const struct cfg *c, const json_t *obj, const char *key, const char *def,
                const char **out, struct errbuf *eb)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        *out = def;
        return 0;
    }
    if (!json_is_string(v))
        return cfg_err(c, obj, key, eb, ERR_CONFIG, "\"%s\" must be a string, not %s", key,
                       type_name(v));
    *out = json_string_value(v);
    return 0;
}

int cfg_get_bool(const struct cfg *c, const json_t *obj, const char *key, int def, int *out,
                 struct errbuf *eb)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        *out = def ? 1 : 0;
        return 0;
    }
    if (!json_is_boolean(v))
        return cfg_err(c, obj, key, eb, ERR_CONFIG, "\"%s\" must be true or false, not %s", key,
                       type_name(v));
    *out = json_is_true(v);
    return 0;
}

/* ---- the loader ---- */

/* An instance as read, before the chain is ordered. */
struct pend {
    json_t *obj;      /* borrowed: the file roots are alive */
    const char *file; /* borrowed from cfg.files */
    const char *name; /* borrowed from the tree (the name or the plugin) */
    char *path;       /* resolved explicit path or NULL (owned) */
    int enabled;
    int placed;       /* already put into the chain */
};

struct loader {
    struct cfg *c;
    struct errbuf *eb;
    struct pend *pend;
    size_t n_pend, cap_pend;
    json_t **srcs; /* borrowed source objects */
    size_t n_srcs, cap_srcs;
    const json_t *chain; /* borrowed */
};

static const char *const k_main_keys[] = {
    "plugin_dirs",   "state_dir", "log_level", "stats_interval", "batch_size", "queue_depth",
    "retry",         "on_sink_error", "manifests", "sources",    "chain",      "instances",
    NULL};
static const char *const k_retry_keys[] = {"initial_ms", "max_ms", NULL};
static const char *const k_instance_keys[] = {"name", "plugin", "path", "enabled", "settings",
                                              NULL};
static const char *const k_dropin_keys[] = {"instances", "sources", NULL};
static const char *const k_log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const k_sink_error[] = {"stop", "continue", NULL};

static int oom(struct loader *L)
{
    return errbuf_set(L->eb, ERR_NOMEM, "%s: out of memory while loading the configuration",
                      L->c->dir);
}

/* Names of instances and sources: [A-Za-z0-9_.-]+, so they are safe in paths and messages. */
static int valid_name(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return 0;
    }
    return n > 0 && n <= CFG_NAME_MAX && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* ---- ${NAME} expansion ---- */

static int var_char(char ch, int first)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
           (!first && ch >= '0' && ch <= '9');
}

/*
 * Strict UTF-8 (no overlong forms, surrogates or values above U+10FFFF), the
 * rule jansson applies, so a failing json_string_setn can only mean memory.
 */
static int utf8_valid(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* Expand one string value in place, so its identity (and position) is kept. */
static int expand_string(struct loader *L, json_t *s)
{
    const char *in = json_string_value(s);
    size_t len = json_string_length(s);
    if (memchr(in, '$', len) == NULL)
        return 0;
    struct buf b = BUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < len && rc == 0;) {
        if (in[i] == '$' && i + 2 < len && in[i + 1] == '$' && in[i + 2] == '{') {
            rc = buf_append(&b, "${", 2);
            i += 3;
            continue;
        }
        if (!(in[i] == '$' && i + 1 < len && in[i + 1] == '{')) {
            rc = buf_putc(&b, in[i]);
            i++;
            continue;
        }
        const char *close = memchr(in + i + 2, '}', len - i - 2);
        if (close == NULL) {
            buf_free(&b);
            return err_node(L->c, s, L->eb, ERR_CONFIG,
                            "unterminated \"${\" in string (write \"$${\" for a literal \"${\")");
        }
        size_t nl = (size_t)(close - (in + i + 2));
        char name[256];
        int ok = nl > 0 && nl < sizeof name;
        for (size_t k = 0; ok && k < nl; k++)
            ok = var_char(in[i + 2 + k], k == 0);
        if (!ok) {
            buf_free(&b);
            return err_node(L->c, s, L->eb, ERR_CONFIG,
                            "bad variable name \"${%.*s}\" (letters, digits and _; write \"$${\" "
                            "for a literal \"${\")",
                            (int)(nl > 100 ? 100 : nl), in + i + 2);
        }
        memcpy(name, in + i + 2, nl);
        name[nl] = '\0';
        const char *val = getenv(name);
        if (val == NULL) {
            buf_free(&b);
            return err_node(L->c, s, L->eb, ERR_CONFIG, "environment variable \"%s\" is not set",
                            name);
        }
        rc = buf_puts(&b, val);
        i += 2 + nl + 1;
    }
    if (rc == 0 && buf_cstr(&b) == NULL)
        rc = ERR_NOMEM;
    if (rc) {
        buf_free(&b);
        return oom(L);
    }
    if (!utf8_valid(b.p, b.len)) {
        buf_free(&b);
        return err_node(L->c, s, L->eb, ERR_CONFIG,
                        "the value after expanding environment variables is not valid UTF-8");
    }
    if (json_string_setn(s, b.p, b.len) != 0) {
        buf_free(&b);
        return oom(L);
    }
    buf_free(&b);
    return 0;
}

static int expand_tree(struct loader *L, json_t *v)
{
    int rc = 0;
    if (json_is_string(v))
        return expand_string(L, v);
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach(v, k, m) {
            if ((rc = expand_tree(L, m)))
                return rc;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m) {
            if ((rc = expand_tree(L, m)))
                return rc;
        }
    }
    return 0;
}

/* ---- files ---- */

/* Read one file into the cfg (files list, position index, kept roots); top level must be {}. */
static int load_file(struct loader *L, const char *path, json_t **root)
{
    struct cfg *c = L->c;
    struct cfg_priv *pv = c->priv;
    *root = NULL;
    if (mem_grow(&c->files, &pv->cap_files, c->n_files + 1, sizeof *c->files) ||
        mem_grow(&pv->roots, &pv->cap_roots, pv->n_roots + 1, sizeof *pv->roots) ||
        (c->files[c->n_files] = mem_strdup(path)) == NULL)
        return oom(L);
    c->n_files++;
    uint32_t id;
    if (pos_index_add_file(pv->ix, path, &id))
        return oom(L);
    json_t *r;
    int rc = cfg_read_json(path, &r, pv->ix, id, L->eb);
    if (rc)
        return rc;
    pv->roots[pv->n_roots++] = r;
    if (!json_is_object(r))
        return err_node(c, r, L->eb, ERR_CONFIG, "the top level must be an object, not %s",
                        type_name(r));
    *root = r;
    return 0;
}

/* A member that must be an array when present; NULL when absent. */
static int get_array(struct loader *L, const json_t *obj, const char *key, json_t **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL)
        return 0;
    if (!json_is_array(v))
        return cfg_err(L->c, obj, key, L->eb, ERR_CONFIG, "\"%s\" must be an array, not %s", key,
                       type_name(v));
    *out = v;
    return 0;
}

/* "key": [ "path", ... ] resolved against base; def (may be NULL) when absent. */
static int get_paths(struct loader *L, const json_t *obj, const char *key, const char *def,
                     const char *base, char ***out, size_t *n)
{
    json_t *arr;
    int rc = get_array(L, obj, key, &arr);
    if (rc)
        return rc;
    size_t count = arr ? json_array_size(arr) : def ? 1 : 0;
    if (count == 0)
        return 0;
    char **v = mem_calloc(count, sizeof *v);
    if (v == NULL)
        return oom(L);
    *out = v;
    for (size_t i = 0; i < count; i++) {
        const char *s = def;
        if (arr) {
            json_t *e = json_array_get(arr, i);
            if (!json_is_string(e))
                return err_node(L->c, e, L->eb, ERR_CONFIG, "\"%s\"[%zu] must be a string, not %s",
                                key, i, type_name(e));
            s = json_string_value(e);
            if (s[0] == '\0')
                return err_node(L->c, e, L->eb, ERR_CONFIG, "\"%s\"[%zu] is an empty path", key,
                                i);
        }
        if ((v[i] = cfg_path_join(base, s)) == NULL)
            return oom(L);
        (*n)++;
    }
    return 0;
}

/* A string member that must be one of choices; its index in *out. */
static int get_choice(struct loader *L, const json_t *obj, const char *key, const char *def,
                      const char *const *choices, int *out)
{
    const char *s;
    int rc = cfg_get_str(L->c, obj, key, def, &s, L->eb);
    if (rc)
        return rc;
    for (int i = 0; choices[i]; i++) {
        if (strcmp(choices[i], s) == 0) {
            *out = i;
            return 0;
        }
    }
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; choices[i] && used < sizeof list - 1; i++) {
        int n = snprintf(list + used, sizeof list - used, "%s\"%s\"", i ? ", " : "", choices[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return cfg_err(L->c, obj, key, L->eb, ERR_CONFIG, "\"%s\" must be one of %s, not \"%s\"", key,
                   list, s);
}

/* A source object: type and name only; the source module checks the rest. */
static int add_source(struct loader *L, json_t *src)
{
    struct cfg *c = L->c;
    if (!json_is_object(src))
        return err_node(c, src, L->eb, ERR_CONFIG, "a source must be an object, not %s",
                        type_name(src));
    int rc = expand_tree(L, src);
    if (rc)
        return rc;
    const json_t *type = json_object_get(src, "type");
    if (type == NULL)
        return err_node(c, src, L->eb, ERR_CONFIG,
                        "source has no \"type\" (synthetic, etl, archive or live)");
    const char *t, *name;
    if ((rc = cfg_get_str(c, src, "type", NULL, &t, L->eb)))
        return rc;
    if (!valid_name(t))
        return cfg_err(c, src, "type", L->eb, ERR_CONFIG, "bad source type \"%s\"", t);
    if ((rc = cfg_get_str(c, src, "name", NULL, &name, L->eb)))
        return rc;
    if (name && !valid_name(name))
        return cfg_err(c, src, "name", L->eb, ERR_CONFIG,
                       "bad source name \"%s\" (use letters, digits, '_', '.' and '-')", name);
    if (mem_grow(&L->srcs, &L->cap_srcs, L->n_srcs + 1, sizeof *L->srcs))
        return oom(L);
    L->srcs[L->n_srcs++] = src;
    return 0;
}

/* An instance object; fdir is the folder its relative "path" resolves against. */
static int add_instance(struct loader *L, json_t *obj, const char *file, const char *fdir)
{
    struct cfg *c = L->c;
    struct errbuf *eb = L->eb;
    if (!json_is_object(obj))
        return err_node(c, obj, eb, ERR_CONFIG, "an instance must be an object, not %s",
                        type_name(obj));
    int rc = cfg_check_keys(c, obj, k_instance_keys, "instance", eb);
    if (rc)
        return rc;
    int enabled;
    if ((rc = cfg_get_bool(c, obj, "enabled", 1, &enabled, eb)))
        return rc;
    if (json_object_get(obj, "plugin") == NULL)
        return err_node(c, obj, eb, ERR_CONFIG,
                        "instance has no \"plugin\" (the name of the plugin to load)");
    /* A disabled instance is only checked for its shape: its variables need not be set. */
    if (enabled && (rc = expand_tree(L, obj)))
        return rc;
    const char *plugin, *name, *path;
    if ((rc = cfg_get_str(c, obj, "plugin", NULL, &plugin, eb)) ||
        (rc = cfg_get_str(c, obj, "name", NULL, &name, eb)) ||
        (rc = cfg_get_str(c, obj, "path", NULL, &path, eb)))
        return rc;
    const json_t *settings = json_object_get(obj, "settings");
    if (settings && !json_is_object(settings))
        return cfg_err(c, obj, "settings", eb, ERR_CONFIG, "\"settings\" must be an object, not %s",
                       type_name(settings));
    if (enabled) {
        if (!valid_name(plugin))
            return cfg_err(c, obj, "plugin", eb, ERR_CONFIG,
                           "bad plugin name \"%s\" (letters, digits, '_', '.' and '-'; use "
                           "\"path\" for a library elsewhere)",
                           plugin);
        if (name && !valid_name(name))
            return cfg_err(c, obj, "name", eb, ERR_CONFIG,
                           "bad instance name \"%s\" (use letters, digits, '_', '.' and '-')",
                           name);
        if (path && path[0] == '\0')
            return cfg_err(c, obj, "path", eb, ERR_CONFIG, "\"path\" is empty");
    }
    if (mem_grow(&L->pend, &L->cap_pend, L->n_pend + 1, sizeof *L->pend))
        return oom(L);
    struct pend *p = &L->pend[L->n_pend];
    memset(p, 0, sizeof *p);
    p->obj = obj;
    p->file = file;
    p->name = name ? name : plugin;
    p->enabled = enabled;
    if (enabled && path && (p->path = cfg_path_join(fdir, path)) == NULL)
        return oom(L);
    L->n_pend++;
    return 0;
}

static int add_sources_and_instances(struct loader *L, const json_t *root, const char *file,
                                     const char *fdir)
{
    json_t *arr, *e;
    size_t i;
    int rc = get_array(L, root, "sources", &arr);
    if (rc)
        return rc;
    json_array_foreach(arr, i, e) {
        if ((rc = add_source(L, e)))
            return rc;
    }
    if ((rc = get_array(L, root, "instances", &arr)))
        return rc;
    json_array_foreach(arr, i, e) {
        if ((rc = add_instance(L, e, file, fdir)))
            return rc;
    }
    return 0;
}

static int load_main(struct loader *L)
{
    struct cfg *c = L->c;
    struct errbuf *eb = L->eb;
    if (!plat_is_dir(c->dir)) {
        uint64_t sz;
        if (plat_file_info(c->dir, &sz, NULL) == 0)
            return errbuf_set(eb, ERR_CONFIG, "%s: not a folder (give the config folder, which "
                              "holds etwhost.json)", c->dir);
        return errbuf_set(eb, ERR_NOTFOUND, "%s: config folder not found", c->dir);
    }
    char *path = cfg_path_join(c->dir, "etwhost.json");
    if (path == NULL)
        return oom(L);
    if (!plat_is_file(path)) {
        int rc = errbuf_set(eb, ERR_NOTFOUND,
                            "%s: not found (a config folder needs an etwhost.json; {} will do)",
                            path);
        mem_free(path);
        return rc;
    }
    json_t *root;
    int rc = load_file(L, path, &root);
    mem_free(path);
    if (rc)
        return rc;
    const char *file = c->files[c->n_files - 1];
    if ((rc = cfg_check_keys(c, root, k_main_keys, "etwhost.json", eb)))
        return rc;
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        /* Sources and instances expand on their own (disabled instances do not). */
        if (strcmp(k, "sources") != 0 && strcmp(k, "instances") != 0 && (rc = expand_tree(L, v)))
            return rc;
    }
    if ((rc = get_paths(L, root, "plugin_dirs", "plugins", c->dir, &c->plugin_dirs,
                        &c->n_plugin_dirs)))
        return rc;
    const char *state;
    if ((rc = cfg_get_str(c, root, "state_dir", "state", &state, eb)))
        return rc;
    if (state[0] == '\0')
        return cfg_err(c, root, "state_dir", eb, ERR_CONFIG, "\"state_dir\" is empty");
    if ((c->state_dir = cfg_path_join(c->dir, state)) == NULL)
        return oom(L);
    int level, sink;
    if ((rc = get_choice(L, root, "log_level", "info", k_log_levels, &level)))
        return rc;
    c->log_level = log_level_parse(k_log_levels[level]);
    if ((rc = cfg_get_u32(c, root, "stats_interval", 0, 0, 604800, &c->stats_interval, eb)) ||
        (rc = cfg_get_u32(c, root, "batch_size", CFG_DEFAULT_BATCH_SIZE, 1, 65536,
                          &c->batch_size, eb)) ||
        (rc = cfg_get_u32(c, root, "queue_depth", CFG_DEFAULT_QUEUE_DEPTH, 1, 4096,
                          &c->queue_depth, eb)))
        return rc;
    const json_t *retry = json_object_get(root, "retry");
    c->retry_initial_ms = CFG_DEFAULT_RETRY_INITIAL_MS;
    c->retry_max_ms = CFG_DEFAULT_RETRY_MAX_MS;
    if (retry) {
        if (!json_is_object(retry))
            return cfg_err(c, root, "retry", eb, ERR_CONFIG,
                           "\"retry\" must be an object like {\"initial_ms\": 50, \"max_ms\": "
                           "5000}, not %s",
                           type_name(retry));
        if ((rc = cfg_check_keys(c, retry, k_retry_keys, "\"retry\"", eb)) ||
            (rc = cfg_get_u32(c, retry, "initial_ms", CFG_DEFAULT_RETRY_INITIAL_MS, 1, 600000,
                              &c->retry_initial_ms, eb)))
            return rc;
        /* Raising only initial_ms must not trip over the default maximum. */
        uint32_t defmax = c->retry_initial_ms > CFG_DEFAULT_RETRY_MAX_MS
                              ? c->retry_initial_ms : CFG_DEFAULT_RETRY_MAX_MS;
        if ((rc = cfg_get_u32(c, retry, "max_ms", defmax, 1, 3600000, &c->retry_max_ms, eb)))
            return rc;
        if (c->retry_max_ms < c->retry_initial_ms)
            return cfg_err(c, retry, "max_ms", eb, ERR_CONFIG,
                           "\"max_ms\" (%u) must not be less than \"initial_ms\" (%u)",
                           (unsigned)c->retry_max_ms, (unsigned)c->retry_initial_ms);
    }
    if ((rc = get_choice(L, root, "on_sink_error", "stop", k_sink_error, &sink)))
        return rc;
    c->on_sink_error_continue = sink == 1;
    if ((rc = get_paths(L, root, "manifests", NULL, c->dir, &c->manifests, &c->n_manifests)))
        return rc;
    json_t *chain;
    if ((rc = get_array(L, root, "chain", &chain)))
        return rc;
    L->chain = chain;
    return add_sources_and_instances(L, root, file, c->dir);
}

static int load_dropins(struct loader *L)
{
    struct cfg *c = L->c;
    char *dir = cfg_path_join(c->dir, "conf.d");
    if (dir == NULL)
        return oom(L);
    int rc = 0;
    char **names = NULL;
    size_t n = 0;
    if (!plat_is_dir(dir)) {
        uint64_t sz;
        if (plat_file_info(dir, &sz, NULL) == 0)
            rc = errbuf_set(L->eb, ERR_CONFIG, "%s: not a folder (drop-in files go there)", dir);
        mem_free(dir);
        return rc; /* no conf.d is fine */
    }
    if ((rc = plat_list_dir(dir, ".json", &names, &n, L->eb))) {
        mem_free(dir);
        return rc;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        /* Hidden files are editor leftovers (".#10-x.json"), never configuration. */
        if (names[i][0] == '.')
            continue;
        char *path = cfg_path_join(dir, names[i]);
        if (path == NULL) {
            rc = oom(L);
            break;
        }
        if (!plat_is_file(path)) {
            mem_free(path);
            continue;
        }
        json_t *root;
        rc = load_file(L, path, &root);
        mem_free(path);
        if (rc)
            break;
        const char *file = c->files[c->n_files - 1];
        /* A container holds "instances"/"sources"; anything else is one instance. */
        if (json_object_size(root) == 0)
            continue;
        if (json_object_get(root, "instances") || json_object_get(root, "sources")) {
            if ((rc = cfg_check_keys(c, root, k_dropin_keys, "drop-in file", L->eb)) == 0)
                rc = add_sources_and_instances(L, root, file, dir);
        } else {
            rc = add_instance(L, root, file, dir);
        }
    }
    plat_free_list(names, n);
    mem_free(dir);
    return rc;
}

/* Candidate list (NULL-terminated) of the instance names, for suggestions. */
static const char **pend_names(struct loader *L)
{
    const char **v = mem_calloc(L->n_pend + 1, sizeof *v);
    if (v)
        for (size_t i = 0; i < L->n_pend; i++)
            v[i] = L->pend[i].name;
    return v;
}

static int place_instance(struct loader *L, struct pend *p)
{
    struct cfg *c = L->c;
    struct cfg_instance *ci = &c->instances[c->n_instances];
    memset(ci, 0, sizeof *ci);
    c->n_instances++; /* counted first so cfg_free releases a half-filled entry */
    p->placed = 1;
    const char *plugin = json_string_value(json_object_get(p->obj, "plugin"));
    json_t *settings = json_object_get(p->obj, "settings");
    ci->name = mem_strdup(p->name);
    ci->plugin = mem_strdup(plugin);
    ci->origin = mem_strdup(cfg_where(c, p->obj));
    ci->file = mem_strdup(p->file);
    ci->path = p->path;
    p->path = NULL;
    ci->settings = settings ? json_incref(settings) : json_object();
    if (!ci->name || !ci->plugin || !ci->origin || !ci->file || !ci->settings)
        return oom(L);
    return 0;
}

static int finish_instances(struct loader *L)
{
    struct cfg *c = L->c;
    struct errbuf *eb = L->eb;
    int rc;
    /* Names are unique among enabled instances (a disabled one is as good as deleted). */
    for (size_t i = 0; i < L->n_pend; i++) {
        struct pend *p = &L->pend[i];
        if (!p->enabled)
            continue;
        for (size_t j = 0; j < i; j++) {
            const struct pend *q = &L->pend[j];
            if (!q->enabled || strcmp(p->name, q->name) != 0)
                continue;
            int named = json_object_get(p->obj, "name") != NULL;
            return cfg_err(c, p->obj, named ? "name" : "plugin", eb, ERR_CONFIG,
                           "duplicate instance name \"%s\" (also at %s); give one of them a "
                           "different \"name\"",
                           p->name, cfg_where(c, q->obj));
        }
    }
    size_t n_enabled = 0;
    for (size_t i = 0; i < L->n_pend; i++)
        n_enabled += L->pend[i].enabled != 0;
    if (n_enabled && (c->instances = mem_calloc(n_enabled, sizeof *c->instances)) == NULL)
        return oom(L);
    /* "chain" lists instances to run first, in its order; the rest follow in load order. */
    if (L->chain) {
        size_t i;
        json_t *e;
        json_array_foreach(L->chain, i, e) {
            if (!json_is_string(e))
                return err_node(c, e, eb, ERR_CONFIG,
                                "\"chain\"[%zu] must be an instance name, not %s", i,
                                type_name(e));
            const char *want = json_string_value(e);
            struct pend *hit = NULL;
            for (size_t k = 0; k < L->n_pend && hit == NULL; k++)
                if (L->pend[k].enabled && strcmp(L->pend[k].name, want) == 0)
                    hit = &L->pend[k];
            int disabled = 0;
            for (size_t k = 0; k < L->n_pend && hit == NULL && !disabled; k++)
                disabled = strcmp(L->pend[k].name, want) == 0;
            for (size_t k = 0; k < i; k++)
                if (json_is_string(json_array_get(L->chain, k)) &&
                    strcmp(json_string_value(json_array_get(L->chain, k)), want) == 0)
                    return err_node(c, e, eb, ERR_CONFIG,
                                    "instance \"%s\" is listed twice in \"chain\"", want);
            if (disabled)
                continue; /* disabling an instance does not require editing the chain */
            if (hit == NULL) {
                const char **names = pend_names(L);
                if (names == NULL)
                    return oom(L);
                const char *near = cfg_suggest(want, names);
                if (near)
                    rc = err_node(c, e, eb, ERR_CONFIG,
                                  "unknown instance \"%s\" in \"chain\" (did you mean \"%s\"?)",
                                  want, near);
                else
                    rc = err_node(c, e, eb, ERR_CONFIG,
                                  "unknown instance \"%s\" in \"chain\" (no instance has that "
                                  "name)",
                                  want);
                mem_free(names);
                return rc;
            }
            if ((rc = place_instance(L, hit)))
                return rc;
        }
    }
    for (size_t i = 0; i < L->n_pend; i++)
        if (L->pend[i].enabled && !L->pend[i].placed && (rc = place_instance(L, &L->pend[i])))
            return rc;
    return 0;
}

static int source_name_taken(struct loader *L, const char *name, size_t upto)
{
    for (size_t i = 0; i < upto; i++)
        if (L->c->sources[i].name && strcmp(L->c->sources[i].name, name) == 0)
            return 1;
    return 0;
}

static int finish_sources(struct loader *L)
{
    struct cfg *c = L->c;
    if (L->n_srcs == 0)
        return 0;
    if ((c->sources = mem_calloc(L->n_srcs, sizeof *c->sources)) == NULL)
        return oom(L);
    c->n_sources = L->n_srcs;
    /* Explicit names first, so a default never takes a name someone wrote down. */
    for (size_t i = 0; i < L->n_srcs; i++) {
        struct cfg_source *s = &c->sources[i];
        json_t *obj = L->srcs[i];
        s->obj = json_incref(obj);
        const char *name = json_string_value(json_object_get(obj, "name"));
        if (name == NULL)
            continue;
        for (size_t j = 0; j < i; j++)
            if (c->sources[j].name && strcmp(c->sources[j].name, name) == 0)
                return cfg_err(c, obj, "name", L->eb, ERR_CONFIG,
                               "duplicate source name \"%s\" (also at %s)", name,
                               c->sources[j].origin);
        if ((s->name = mem_strdup(name)) == NULL ||
            (s->origin = mem_strdup(cfg_where(c, obj))) == NULL)
            return oom(L);
    }
    for (size_t i = 0; i < L->n_srcs; i++) {
        struct cfg_source *s = &c->sources[i];
        json_t *obj = L->srcs[i];
        const char *type = json_string_value(json_object_get(obj, "type"));
        if ((s->type = mem_strdup(type)) == NULL)
            return oom(L);
        if (s->name)
            continue;
        char name[CFG_NAME_MAX + 32];
        snprintf(name, sizeof name, "%s", type);
        for (unsigned k = 2; source_name_taken(L, name, L->n_srcs); k++)
            snprintf(name, sizeof name, "%s-%u", type, k);
        json_t *jn = json_string(name);
        if (jn == NULL || json_object_set_new(obj, "name", jn) != 0 ||
            (s->name = mem_strdup(name)) == NULL ||
            (s->origin = mem_strdup(cfg_where(c, obj))) == NULL)
            return oom(L);
    }
    return 0;
}

int cfg_load(const char *dir, struct cfg **out, struct errbuf *eb)
{
    cfg_global_init();
    *out = NULL;
    struct cfg *c = mem_calloc(1, sizeof *c);
    if (c == NULL)
        return errbuf_set(eb, ERR_NOMEM, "%s: out of memory", dir);
    struct loader L;
    memset(&L, 0, sizeof L);
    L.c = c;
    L.eb = eb;
    int rc;
    if ((c->priv = mem_calloc(1, sizeof *c->priv)) == NULL ||
        (c->priv->ix = pos_index_new()) == NULL || (c->dir = mem_strdup(dir)) == NULL) {
        rc = errbuf_set(eb, ERR_NOMEM, "%s: out of memory", dir);
        goto done;
    }
    c->log_level = LOG_INFO;
    if ((rc = load_main(&L)) || (rc = load_dropins(&L)) || (rc = finish_instances(&L)) ||
        (rc = finish_sources(&L)))
        goto done;
done:
    for (size_t i = 0; i < L.n_pend; i++)
        mem_free(L.pend[i].path);
    mem_free(L.pend);
    mem_free(L.srcs);
    if (rc) {
        cfg_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mem_free(v[i]);
    mem_free(v);
}

void cfg_free(struct cfg *c)
{
    if (c == NULL)
        return;
    mem_free(c->dir);
    free_strv(c->plugin_dirs, c->n_plugin_dirs);
    mem_free(c->state_dir);
    free_strv(c->manifests, c->n_manifests);
    for (size_t i = 0; i < c->n_sources; i++) {
        struct cfg_source *s = &c->sources[i];
        mem_free(s->name);
        mem_free(s->type);
        json_decref(s->obj);
        mem_free(s->origin);
    }
    mem_free(c->sources);
    for (size_t i = 0; i < c->n_instances; i++) {
        struct cfg_instance *in = &c->instances[i];
        mem_free(in->name);
        mem_free(in->plugin);
        mem_free(in->path);
        json_decref(in->settings);
        mem_free(in->origin);
        mem_free(in->file);
    }
    mem_free(c->instances);
    free_strv(c->files, c->n_files);
    if (c->priv) {
        for (size_t i = 0; i < c->priv->n_roots; i++)
            json_decref(c->priv->roots[i]);
        mem_free(c->priv->roots);
        pos_index_free(c->priv->ix);
        mem_free(c->priv);
    }
    mem_free(c);
}
