/*
 * instance: plugin instances and the host API table (see instance.h).
 */
#include "instance.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "../config/config.h"
#include "../core/log.h"
#include "../core/mem.h"
#include "../archive/archive_api.h"
#include "../event/event_access.h"

/* ---- Library cache: one handle per path, shared by instances ---- */

#define MAX_LIBS 256
static struct plugin_lib *libs[MAX_LIBS];
static size_t nlibs;

static int lib_get(const char *path, struct plugin_lib **out, struct errbuf *eb)
{
    for (size_t i = 0; i < nlibs; i++) {
        if (strcmp(libs[i]->path, path) == 0) {
            libs[i]->refs++;
            *out = libs[i];
            return 0;
        }
    }
    if (nlibs == MAX_LIBS)
        return errbuf_set(eb, ERR_RANGE, "too many plugin libraries (max %d)", MAX_LIBS);
    int rc = plugin_lib_open(path, out, eb);
    if (rc)
        return rc;
    (*out)->refs++; /* the cache's own reference */
    libs[nlibs++] = *out;
    return 0;
}

void plugin_libs_cleanup(void)
{
    size_t keep = 0;
    for (size_t i = 0; i < nlibs; i++) {
        if (libs[i]->refs <= 1)
            plugin_lib_release(libs[i]);
        else {
            libs[i]->refs--; /* drop the cache reference, instances keep theirs */
            libs[keep++] = libs[i];
        }
    }
    nlibs = keep;
}

/* ---- Host API functions ---- */

static const char *ETWHOST_CALL api_host_version(void)
{
    return ETWHOST_VERSION;
}

static void ETWHOST_CALL api_log(etwhost_host *h, int32_t level, const char *msg)
{
    int l = level <= ETWHOST_LOG_ERROR ? LOG_ERROR : level == ETWHOST_LOG_WARN ? LOG_WARN :
            level == ETWHOST_LOG_INFO ? LOG_INFO : LOG_DEBUG;
    log_msg(l, "%s: %s", h && h->inst ? h->inst->name : "plugin", msg ? msg : "(null)");
}

static void *ETWHOST_CALL api_alloc(etwhost_host *h, size_t n)
{
    (void)h;
    return mem_alloc(n);
}

static void ETWHOST_CALL api_free(etwhost_host *h, void *p)
{
    (void)h;
    mem_free(p);
}

/* What a plugin sees as etwhost_config: its settings object during create. */
struct etwhost_config {
    const json_t *settings;
    char *texts[64]; /* JSON texts handed out, freed after create() */
    size_t ntexts;
};

static const json_t *cfg_member(const etwhost_config *c, const char *key)
{
    if (c == NULL || c->settings == NULL || key == NULL)
        return NULL;
    return json_object_get(c->settings, key);
}

static etwhost_status ETWHOST_CALL api_config_get_str(const etwhost_config *c, const char *key,
                                                     const char **out, size_t *len)
{
    const json_t *v = cfg_member(c, key);
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    if (!json_is_string(v))
        return ETWHOST_ERR_TYPE;
    *out = json_string_value(v);
    if (len)
        *len = json_string_length(v);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL api_config_get_i64(const etwhost_config *c, const char *key,
                                                     int64_t *out)
{
    const json_t *v = cfg_member(c, key);
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    if (!json_is_integer(v))
        return ETWHOST_ERR_TYPE;
    *out = (int64_t)json_integer_value(v);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL api_config_get_f64(const etwhost_config *c, const char *key,
                                                     double *out)
{
    const json_t *v = cfg_member(c, key);
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    if (!json_is_number(v))
        return ETWHOST_ERR_TYPE;
    *out = json_number_value(v);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL api_config_get_bool(const etwhost_config *c, const char *key,
                                                      int32_t *out)
{
    const json_t *v = cfg_member(c, key);
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    if (!json_is_boolean(v))
        return ETWHOST_ERR_TYPE;
    *out = json_is_true(v) ? 1 : 0;
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL api_config_get_json(const etwhost_config *c, const char *key,
                                                      const char **out, size_t *len)
{
    etwhost_config *mc = (etwhost_config *)(uintptr_t)c;
    const json_t *v = key ? cfg_member(c, key) : (c ? c->settings : NULL);
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    if (mc->ntexts == sizeof mc->texts / sizeof mc->texts[0])
        return ETWHOST_ERR_RANGE;
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    if (s == NULL)
        return ETWHOST_ERR_NOMEM;
    mc->texts[mc->ntexts++] = s;
    *out = s;
    if (len)
        *len = strlen(s);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL api_set_stage(etwhost_host *h, uint32_t stage)
{
    struct plugin_instance *pi = h ? h->inst : NULL;
    if (pi == NULL || !pi->in_create || pi->kind != ETWHOST_KIND_FILTER)
        return ETWHOST_ERR_STATE;
    if (stage != ETWHOST_STAGE_EVENT && stage != ETWHOST_STAGE_RECORD)
        return ETWHOST_ERR_RANGE;
    pi->stage = stage;
    return ETWHOST_OK;
}

static int32_t ETWHOST_CALL api_counter_register(etwhost_host *h, const char *name)
{
    struct plugin_instance *pi = h ? h->inst : NULL;
    if (pi == NULL || name == NULL)
        return ETWHOST_ERR;
    int n = atomic_load(&pi->ncounters);
    for (int i = 0; i < n; i++)
        if (strcmp(pi->counters[i].name, name) == 0)
            return i;
    if (n >= INSTANCE_MAX_COUNTERS)
        return ETWHOST_ERR_RANGE;
    snprintf(pi->counters[n].name, sizeof pi->counters[n].name, "%s", name);
    atomic_store(&pi->counters[n].value, 0);
    atomic_store(&pi->ncounters, n + 1);
    return n;
}

static void ETWHOST_CALL api_counter_add(etwhost_host *h, int32_t id, int64_t delta)
{
    struct plugin_instance *pi = h ? h->inst : NULL;
    if (pi == NULL || id < 0 || id >= atomic_load(&pi->ncounters))
        return;
    atomic_fetch_add_explicit(&pi->counters[id].value, delta, memory_order_relaxed);
}

static etwhost_status ETWHOST_CALL api_state_dir(etwhost_host *h, char *buf, size_t cap,
                                                size_t *needed)
{
    struct plugin_instance *pi = h ? h->inst : NULL;
    if (pi == NULL || pi->state_dir == NULL)
        return ETWHOST_ERR_STATE;
    struct errbuf eb;
    if (plat_mkdir_p(pi->state_dir, &eb)) {
        log_error("%s: %s", pi->name, eb.msg);
        return ETWHOST_ERR_IO;
    }
    size_t l = strlen(pi->state_dir) + 1;
    if (needed)
        *needed = l;
    if (buf == NULL || cap < l)
        return ETWHOST_ERR_RANGE;
    memcpy(buf, pi->state_dir, l);
    return ETWHOST_OK;
}

const etwhost_host_api host_api_table = {
    sizeof(etwhost_host_api),
    ETWHOST_ABI_MAJOR,
    ETWHOST_ABI_MINOR,
    api_host_version,
    api_log,
    api_alloc,
    api_free,
    api_config_get_str,
    api_config_get_i64,
    api_config_get_f64,
    api_config_get_bool,
    api_config_get_json,
    api_set_stage,
    evapi_header,
    evapi_prop_count,
    evapi_prop_at,
    evapi_prop_find,
    evapi_get_i64,
    evapi_get_u64,
    evapi_get_f64,
    evapi_get_str,
    evapi_json,
    evapi_raw,
    evapi_add_str,
    evapi_add_i64,
    api_counter_register,
    api_counter_add,
    api_state_dir,
    archive_api_event_record,
    archive_api_event_schema,
};

/* ---- Instances ---- */

int plugin_instance_create(const struct cfg *cfg, const struct cfg_instance *ci,
                           struct plugin_instance **out, struct errbuf *eb)
{
    char path[4096];
    int rc;
    *out = NULL;
    if (ci->path) {
        snprintf(path, sizeof path, "%s", ci->path);
    } else {
        const char *dirs[64];
        size_t n = 0, nb;
        for (size_t i = 0; cfg && i < cfg->n_plugin_dirs && n < 60; i++)
            dirs[n++] = cfg->plugin_dirs[i];
        const char *const *b = plugin_builtin_dirs(&nb);
        for (size_t i = 0; i < nb; i++)
            dirs[n++] = b[i];
        rc = plugin_find(ci->plugin, dirs, n, path, sizeof path, eb);
        if (rc) {
            errbuf_prefix(eb, "%s: instance \"%s\": ", ci->origin, ci->name);
            return rc;
        }
    }
    struct plugin_lib *lib = NULL;
    rc = lib_get(path, &lib, eb);
    if (rc) {
        errbuf_prefix(eb, "%s: instance \"%s\": ", ci->origin, ci->name);
        return rc;
    }
    const etwhost_plugin *d = &lib->desc;
    if (strcmp(d->name, ci->plugin) != 0 && ci->path == NULL)
        log_warn("%s: instance \"%s\": library %s calls itself \"%s\"", ci->origin, ci->name,
                 path, d->name);
    if (d->settings_keys) {
        char what[256];
        snprintf(what, sizeof what, "settings of instance \"%s\" (plugin %s)", ci->name, d->name);
        rc = cfg_check_keys(cfg, ci->settings, d->settings_keys, what, eb);
        if (rc) {
            plugin_lib_release(lib);
            return rc;
        }
    }

    struct plugin_instance *pi = mem_calloc(1, sizeof *pi);
    if (pi == NULL || (pi->name = mem_strdup(ci->name)) == NULL) {
        mem_free(pi);
        plugin_lib_release(lib);
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    }
    pi->host.inst = pi;
    pi->lib = lib;
    pi->desc = d;
    pi->kind = d->kind;
    pi->stage = d->stage;
    plat_mutex_init(&pi->lock);
    if (cfg && cfg->state_dir) {
        char sd[4200];
        snprintf(sd, sizeof sd, "%s/%s", cfg->state_dir, ci->name);
        pi->state_dir = mem_strdup(sd);
    }

    struct etwhost_config conf;
    memset(&conf, 0, sizeof conf);
    conf.settings = ci->settings;
    char err[1024] = "";
    pi->in_create = 1;
    etwhost_status st = d->create(&pi->host, &host_api_table, &conf, &pi->state, err, sizeof err);
    pi->in_create = 0;
    for (size_t i = 0; i < conf.ntexts; i++)
        mem_free(conf.texts[i]);
    if (st < 0) {
        err[sizeof err - 1] = '\0';
        errbuf_set(eb, ERR_PLUGIN, "%s: instance \"%s\" (plugin %s %s): %s", ci->origin,
                   ci->name, d->name, d->version ? d->version : "?",
                   err[0] ? err : etwhost_status_name(st));
        pi->state = NULL;
        plugin_instance_destroy(pi);
        return ERR_PLUGIN;
    }
    *out = pi;
    return 0;
}

void plugin_instance_destroy(struct plugin_instance *pi)
{
    if (pi == NULL)
        return;
    if (pi->state && pi->desc->destroy)
        pi->desc->destroy(pi->state);
    plat_mutex_destroy(&pi->lock);
    plugin_lib_release(pi->lib);
    mem_free(pi->state_dir);
    mem_free(pi->name);
    mem_free(pi);
}

etwhost_status plugin_instance_process(struct plugin_instance *pi, const void *ev)
{
    etwhost_status st;
    if (pi->serialize) {
        plat_mutex_lock(&pi->lock);
        st = pi->desc->process(pi->state, (const etwhost_event *)ev);
        plat_mutex_unlock(&pi->lock);
    } else {
        st = pi->desc->process(pi->state, (const etwhost_event *)ev);
    }
    return st;
}

etwhost_status plugin_instance_write(struct plugin_instance *pi, const void *const *evs,
                                     uint32_t n, uint32_t *accepted)
{
    etwhost_status st;
    *accepted = 0;
    if (pi->serialize)
        plat_mutex_lock(&pi->lock);
    st = pi->desc->write(pi->state, (const etwhost_event *const *)evs, n, accepted);
    if (pi->serialize)
        plat_mutex_unlock(&pi->lock);
    if (*accepted > n)
        *accepted = n; /* never trust a count beyond what was offered */
    if (st == ETWHOST_OK)
        *accepted = n;
    return st;
}

etwhost_status plugin_instance_flush(struct plugin_instance *pi)
{
    if (pi->desc->flush == NULL)
        return ETWHOST_OK;
    if (pi->serialize)
        plat_mutex_lock(&pi->lock);
    etwhost_status st = pi->desc->flush(pi->state);
    if (pi->serialize)
        plat_mutex_unlock(&pi->lock);
    return st;
}

etwhost_status plugin_instance_close(struct plugin_instance *pi, char *err, size_t err_len)
{
    if (pi->closed || pi->desc->close == NULL)
        return ETWHOST_OK;
    pi->closed = 1;
    err[0] = '\0';
    return pi->desc->close(pi->state, err, err_len);
}

int plugin_instance_stats(struct plugin_instance *pi, char *buf, size_t cap)
{
    if (!ETWHOST_PLUGIN_HAS(pi->desc, stats))
        return ERR_NOTFOUND;
    size_t needed = 0;
    buf[0] = '\0';
    etwhost_status st = pi->desc->stats(pi->state, buf, cap, &needed);
    if (st != ETWHOST_OK)
        return ERR_RANGE;
    buf[cap - 1] = '\0';
    return 0;
}
