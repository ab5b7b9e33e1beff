/*
 * The stand-in host of test_plugin_fakehost.h.
 */
#include "test_plugin_fakehost.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "platform/platform.h"
#include "test.h"

/* The settings of the create() in progress. */
struct fake_config {
    json_t *obj;
    char *dumps[16];
    int ndumps;
};

static struct plat_mutex fh_lock;
static int fh_lock_ready;

static struct fake_host *host_of(etwhost_host *h)
{
    return (struct fake_host *)(void *)h;
}

static const struct fake_event *ev_of(const etwhost_event *ev)
{
    return (const struct fake_event *)(const void *)ev;
}

static const char *ETWHOST_CALL f_version(void)
{
    return "0.0-fake";
}

static void ETWHOST_CALL f_log(etwhost_host *h, int32_t level, const char *msg)
{
    struct fake_host *fh = host_of(h);
    plat_mutex_lock(&fh_lock);
    size_t used = strlen(fh->log);
    snprintf(fh->log + used, sizeof fh->log - used, "%d %s\n", (int)level, msg);
    fh->nlogs++;
    plat_mutex_unlock(&fh_lock);
    fprintf(stderr, "[plugin log %d] %s\n", (int)level, msg);
}

static void *ETWHOST_CALL f_alloc(etwhost_host *h, size_t n)
{
    (void)h;
    return malloc(n);
}

static void ETWHOST_CALL f_free(etwhost_host *h, void *p)
{
    (void)h;
    free(p);
}

static json_t *cfg_get(const etwhost_config *c, const char *key)
{
    const struct fake_config *fc = (const struct fake_config *)(const void *)c;
    return json_object_get(fc->obj, key);
}

static etwhost_status ETWHOST_CALL f_cfg_str(const etwhost_config *c, const char *key,
                                             const char **out, size_t *len)
{
    json_t *v = cfg_get(c, key);
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    if (!json_is_string(v))
        return ETWHOST_ERR_TYPE;
    *out = json_string_value(v);
    if (len != NULL)
        *len = json_string_length(v);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL f_cfg_i64(const etwhost_config *c, const char *key,
                                             int64_t *out)
{
    json_t *v = cfg_get(c, key);
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    if (!json_is_integer(v))
        return ETWHOST_ERR_TYPE;
    *out = (int64_t)json_integer_value(v);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL f_cfg_f64(const etwhost_config *c, const char *key,
                                             double *out)
{
    json_t *v = cfg_get(c, key);
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    if (!json_is_number(v))
        return ETWHOST_ERR_TYPE;
    *out = json_number_value(v);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL f_cfg_bool(const etwhost_config *c, const char *key,
                                              int32_t *out)
{
    json_t *v = cfg_get(c, key);
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    if (!json_is_boolean(v))
        return ETWHOST_ERR_TYPE;
    *out = json_is_true(v);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL f_cfg_json(const etwhost_config *c, const char *key,
                                              const char **out, size_t *len)
{
    struct fake_config *fc = (struct fake_config *)(void *)(uintptr_t)(const void *)c;
    json_t *v = key == NULL ? fc->obj : json_object_get(fc->obj, key);
    if (v == NULL)
        return ETWHOST_ERR_NOTFOUND;
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (s == NULL || fc->ndumps == 16)
        return ETWHOST_ERR_NOMEM;
    fc->dumps[fc->ndumps++] = s;
    *out = s;
    if (len != NULL)
        *len = strlen(s);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL f_set_stage(etwhost_host *h, uint32_t stage)
{
    struct fake_host *fh = host_of(h);
    if (stage > ETWHOST_STAGE_RECORD)
        return ETWHOST_ERR_CONFIG;
    fh->stage = stage;
    fh->stage_set = 1;
    return ETWHOST_OK;
}

static const etwhost_event_header *ETWHOST_CALL f_header(const etwhost_event *ev)
{
    return &ev_of(ev)->hdr;
}

static uint32_t ETWHOST_CALL f_prop_count(const etwhost_event *ev)
{
    return ev_of(ev)->record_stage ? 0 : ev_of(ev)->nprops;
}

static etwhost_status ETWHOST_CALL f_prop_at(const etwhost_event *ev, uint32_t index,
                                             etwhost_prop *out)
{
    const struct fake_event *e = ev_of(ev);
    if (e->record_stage)
        return ETWHOST_ERR_STATE;
    if (index >= e->nprops)
        return ETWHOST_ERR_NOTFOUND;
    *out = e->props[index];
    return ETWHOST_OK;
}

static const etwhost_prop *find(const etwhost_event *ev, const char *path, size_t len,
                                etwhost_status *rc)
{
    const struct fake_event *e = ev_of(ev);
    if (e->record_stage) {
        *rc = ETWHOST_ERR_STATE;
        return NULL;
    }
    for (uint32_t k = 0; k < e->nprops; k++) {
        if (e->props[k].parent == ETWHOST_NONE && e->props[k].name_len == len &&
            memcmp(e->props[k].name, path, len) == 0) {
            *rc = ETWHOST_OK;
            return &e->props[k];
        }
    }
    *rc = ETWHOST_ERR_NOTFOUND;
    return NULL;
}

static etwhost_status ETWHOST_CALL f_prop_find(const etwhost_event *ev, const char *path,
                                               size_t path_len, etwhost_prop *out)
{
    etwhost_status rc;
    const etwhost_prop *p = find(ev, path, path_len, &rc);
    if (p != NULL)
        *out = *p;
    return rc;
}

static int is_int_type(uint16_t t)
{
    return t >= ETWHOST_PT_I8 && t <= ETWHOST_PT_U64;
}

static etwhost_status ETWHOST_CALL f_get_i64(const etwhost_event *ev, const char *path,
                                             int64_t *out)
{
    etwhost_status rc;
    const etwhost_prop *p = find(ev, path, strlen(path), &rc);
    if (p == NULL)
        return rc;
    if (!is_int_type(p->type))
        return ETWHOST_ERR_TYPE;
    if (p->type == ETWHOST_PT_U64 && p->num.u > (uint64_t)INT64_MAX)
        return ETWHOST_ERR_RANGE;
    *out = p->num.i;
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL f_get_u64(const etwhost_event *ev, const char *path,
                                             uint64_t *out)
{
    etwhost_status rc;
    const etwhost_prop *p = find(ev, path, strlen(path), &rc);
    if (p == NULL)
        return rc;
    if (!is_int_type(p->type))
        return ETWHOST_ERR_TYPE;
    if (p->type != ETWHOST_PT_U64 && p->num.i < 0)
        return ETWHOST_ERR_RANGE;
    *out = p->num.u;
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL f_get_f64(const etwhost_event *ev, const char *path,
                                             double *out)
{
    etwhost_status rc;
    const etwhost_prop *p = find(ev, path, strlen(path), &rc);
    if (p == NULL)
        return rc;
    if (p->type != ETWHOST_PT_F64 && p->type != ETWHOST_PT_F32)
        return ETWHOST_ERR_TYPE;
    *out = p->num.f;
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL f_get_str(const etwhost_event *ev, const char *path,
                                             const char **out, size_t *len)
{
    etwhost_status rc;
    const etwhost_prop *p = find(ev, path, strlen(path), &rc);
    if (p == NULL)
        return rc;
    struct fake_event *e = (struct fake_event *)(void *)(uintptr_t)(const void *)ev;
    if (p->type == ETWHOST_PT_STRING) {
        *out = (const char *)p->data;
        *len = p->size;
        return ETWHOST_OK;
    }
    int n;
    if (is_int_type(p->type) && p->format == ETWHOST_FMT_HEX)
        n = snprintf(e->scratch, sizeof e->scratch, "0x%llx", (unsigned long long)p->num.u);
    else if (p->type == ETWHOST_PT_U64)
        n = snprintf(e->scratch, sizeof e->scratch, "%llu", (unsigned long long)p->num.u);
    else if (is_int_type(p->type))
        n = snprintf(e->scratch, sizeof e->scratch, "%lld", (long long)p->num.i);
    else if (p->type == ETWHOST_PT_F64)
        n = snprintf(e->scratch, sizeof e->scratch, "%.17g", p->num.f);
    else
        return ETWHOST_ERR_TYPE;
    *out = e->scratch;
    *len = (size_t)n;
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL f_json(const etwhost_event *ev, const char **out, size_t *len)
{
    struct fake_event *e = (struct fake_event *)(void *)(uintptr_t)(const void *)ev;
    if (e->json_fail)
        return ETWHOST_ERR_NOMEM;
    if (e->json_len == 0) {
        int n = snprintf(e->json, sizeof e->json,
                         "{\"provider\":\"%s\",\"id\":%u,\"level\":%u,\"pid\":%u}",
                         e->hdr.provider_name, (unsigned)e->hdr.event_id, (unsigned)e->hdr.level,
                         (unsigned)e->hdr.pid);
        e->json_len = (size_t)n;
    }
    *out = e->json;
    *len = e->json_len;
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL f_raw(const etwhost_event *ev, const uint8_t **out,
                                         size_t *len)
{
    (void)ev;
    *out = (const uint8_t *)"";
    *len = 0;
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL f_add_str(const etwhost_event *ev, const char *name,
                                             const char *value, size_t value_len)
{
    struct fake_event *e = (struct fake_event *)(void *)(uintptr_t)(const void *)ev;
    size_t used = strlen(e->fields);
    snprintf(e->fields + used, sizeof e->fields - used, "%s=%.*s;", name, (int)value_len, value);
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL f_add_i64(const etwhost_event *ev, const char *name,
                                             int64_t value)
{
    struct fake_event *e = (struct fake_event *)(void *)(uintptr_t)(const void *)ev;
    size_t used = strlen(e->fields);
    snprintf(e->fields + used, sizeof e->fields - used, "%s=%lld;", name, (long long)value);
    return ETWHOST_OK;
}

static int32_t ETWHOST_CALL f_counter_register(etwhost_host *h, const char *name)
{
    struct fake_host *fh = host_of(h);
    plat_mutex_lock(&fh_lock);
    int32_t id = -1;
    if (fh->ncounters < 16) {
        id = fh->ncounters++;
        snprintf(fh->counter_names[id], sizeof fh->counter_names[id], "%s", name);
    }
    plat_mutex_unlock(&fh_lock);
    return id < 0 ? ETWHOST_ERR_NOMEM : id;
}

static void ETWHOST_CALL f_counter_add(etwhost_host *h, int32_t id, int64_t delta)
{
    /* Lock-free like the host's: plugins only add from their pipeline thread. */
    struct fake_host *fh = host_of(h);
    if (id >= 0 && id < fh->ncounters)
        fh->counters[id] += delta;
}

static etwhost_status ETWHOST_CALL f_state_dir(etwhost_host *h, char *buf, size_t cap,
                                               size_t *needed)
{
    struct fake_host *fh = host_of(h);
    size_t n = strlen(fh->state_dir) + 1;
    if (needed != NULL)
        *needed = n;
    if (n > cap)
        return ETWHOST_ERR_RANGE;
    memcpy(buf, fh->state_dir, n);
    return ETWHOST_OK;
}

/* Designated initializers: members the ABI appends later read as absent (NULL). */
static const etwhost_host_api fake_api = {
    .struct_size = sizeof(etwhost_host_api),
    .abi_major = ETWHOST_ABI_MAJOR,
    .abi_minor = ETWHOST_ABI_MINOR,
    .host_version = f_version,
    .log = f_log,
    .alloc = f_alloc,
    .free = f_free,
    .config_get_str = f_cfg_str,
    .config_get_i64 = f_cfg_i64,
    .config_get_f64 = f_cfg_f64,
    .config_get_bool = f_cfg_bool,
    .config_get_json = f_cfg_json,
    .set_stage = f_set_stage,
    .event_header = f_header,
    .event_prop_count = f_prop_count,
    .event_prop_at = f_prop_at,
    .event_prop_find = f_prop_find,
    .event_get_i64 = f_get_i64,
    .event_get_u64 = f_get_u64,
    .event_get_f64 = f_get_f64,
    .event_get_str = f_get_str,
    .event_json = f_json,
    .event_raw = f_raw,
    .event_add_str = f_add_str,
    .event_add_i64 = f_add_i64,
    .counter_register = f_counter_register,
    .counter_add = f_counter_add,
    .state_dir = f_state_dir,
};

const etwhost_host_api *fh_api(void)
{
    return &fake_api;
}

void fh_init(struct fake_host *fh, const char *name_or_path)
{
    memset(fh, 0, sizeof *fh);
    if (!fh_lock_ready) {
        plat_mutex_init(&fh_lock);
        fh_lock_ready = 1;
    }
    const char *path = strchr(name_or_path, '/') != NULL
                           ? name_or_path
                           : t_path("%s/plugins/%s%s", t_build(), name_or_path, plat_dl_suffix());
    struct errbuf eb;
    if (plat_dl_open(path, &fh->lib, &eb) != 0)
        t_fail(__FILE__, __LINE__, "cannot load %s: %s", path, eb.msg);
    etwhost_plugin_entry_fn entry =
        (etwhost_plugin_entry_fn)plat_dl_sym(fh->lib, ETWHOST_PLUGIN_ENTRY_NAME);
    if (entry == NULL)
        t_fail(__FILE__, __LINE__, "%s: no %s", path, ETWHOST_PLUGIN_ENTRY_NAME);
    fh->desc = entry();
    ASSERT(fh->desc != NULL);
    ASSERT_EQ(fh->desc->abi_major, ETWHOST_ABI_MAJOR);
    ASSERT_EQ(fh->desc->struct_size, sizeof(etwhost_plugin));
    fh->stage = fh->desc->stage;
    snprintf(fh->state_dir, sizeof fh->state_dir, "%s", t_tmpdir());
}

void fh_free(struct fake_host *fh)
{
    if (fh->lib != NULL)
        plat_dl_close(fh->lib);
    fh->lib = NULL;
}

etwhost_status fh_create(struct fake_host *fh, const char *settings_json, void **inst,
                         char *err, size_t err_len)
{
    json_error_t je;
    struct fake_config fc;
    memset(&fc, 0, sizeof fc);
    fc.obj = json_loads(settings_json, 0, &je);
    if (fc.obj == NULL || !json_is_object(fc.obj))
        t_fail(__FILE__, __LINE__, "bad settings JSON in test: %s", je.text);
    err[0] = '\0';
    if (fh->desc->settings_keys != NULL) {
        const char *key;
        json_t *v;
        json_object_foreach(fc.obj, key, v) {
            int ok = 0;
            for (const char *const *k = fh->desc->settings_keys; *k != NULL; k++)
                if (strcmp(*k, key) == 0)
                    ok = 1;
            if (!ok) {
                snprintf(err, err_len, "unknown setting \"%s\"", key);
                json_decref(fc.obj);
                return ETWHOST_ERR_CONFIG;
            }
        }
    }
    *inst = NULL;
    etwhost_status rc = fh->desc->create((etwhost_host *)(void *)fh, &fake_api,
                                         (const etwhost_config *)(void *)&fc, inst, err,
                                         err_len);
    for (int k = 0; k < fc.ndumps; k++)
        free(fc.dumps[k]);
    json_decref(fc.obj);
    if (rc == ETWHOST_OK)
        ASSERT(*inst != NULL);
    else
        ASSERT_MSG(err[0] != '\0', "create failed (%d) without a message", (int)rc);
    return rc;
}

int64_t fh_counter(const struct fake_host *fh, const char *name)
{
    for (int k = fh->ncounters - 1; k >= 0; k--)
        if (strcmp(fh->counter_names[k], name) == 0)
            return fh->counters[k];
    t_fail(__FILE__, __LINE__, "counter \"%s\" was never registered", name);
}

void fev_init(struct fake_event *e, const char *provider, uint16_t id, uint8_t level)
{
    memset(e, 0, sizeof *e);
    e->hdr.struct_size = sizeof e->hdr;
    e->hdr.provider_name = provider;
    e->hdr.event_name = "";
    e->hdr.task_name = "";
    e->hdr.opcode_name = "";
    e->hdr.event_id = id;
    e->hdr.level = level;
    e->hdr.timestamp = 133245763580175449LL; /* 2023-03-29T15:12:38.0175449Z */
    e->hdr.decode_status = ETWHOST_DECODE_FULL;
}

etwhost_prop *fev_add(struct fake_event *e, const char *name, uint16_t type)
{
    ASSERT(e->nprops < FEV_MAX_PROPS);
    etwhost_prop *p = &e->props[e->nprops];
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->type = type;
    p->name = name;
    p->name_len = (uint32_t)strlen(name);
    p->parent = ETWHOST_NONE;
    p->next = ETWHOST_NONE;
    if (e->nprops > 0)
        e->props[e->nprops - 1].next = e->nprops;
    e->nprops++;
    return p;
}

void fev_str(struct fake_event *e, const char *name, const char *value)
{
    etwhost_prop *p = fev_add(e, name, ETWHOST_PT_STRING);
    p->data = (const uint8_t *)value;
    p->size = (uint32_t)strlen(value);
}

void fev_int(struct fake_event *e, const char *name, uint16_t type, int64_t value)
{
    etwhost_prop *p = fev_add(e, name, type);
    p->num.i = value;
}

void fev_f64(struct fake_event *e, const char *name, double value)
{
    etwhost_prop *p = fev_add(e, name, ETWHOST_PT_F64);
    p->num.f = value;
}

void fev_json(struct fake_event *e, const char *json)
{
    snprintf(e->json, sizeof e->json, "%s", json);
    e->json_len = strlen(e->json);
}

uint64_t fh_now_ns(void)
{
    return plat_monotonic_ns();
}
