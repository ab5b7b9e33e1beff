/*
 * level: a complete etwhost filter plugin, written as a third party would.
 * Drops events less severe than "max" (1 critical .. 5 verbose; default 4)
 * and, when "tag" is set, attaches it to every event it lets through.
 */
#include <stdlib.h>
#include <string.h>

#include <etwhost/plugin.h>

struct level {
    const etwhost_host_api *api;
    int64_t max;
    char tag[64];
};

static const char *const level_keys[] = {"max", "tag", NULL};

static etwhost_status ETWHOST_CALL level_create(etwhost_host *h, const etwhost_host_api *api,
                                                const etwhost_config *cfg, void **out,
                                                char *err, size_t err_len)
{
    int64_t max = 4;
    const char *tag = "";
    size_t tag_len = 0;
    etwhost_status rc = api->config_get_i64(cfg, "max", &max);
    if ((rc != ETWHOST_OK && rc != ETWHOST_ERR_NOTFOUND) || max < 0 || max > 255)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG, "max: expected a level 0-255");
    rc = api->config_get_str(cfg, "tag", &tag, &tag_len);
    if ((rc != ETWHOST_OK && rc != ETWHOST_ERR_NOTFOUND) || tag_len >= 64)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG, "tag: expected a short string");
    struct level *l = calloc(1, sizeof *l);
    if (l == NULL)
        return etwhost_errf(err, err_len, ETWHOST_ERR_NOMEM, "out of memory");
    l->api = api;
    l->max = max;
    memcpy(l->tag, tag, tag_len);
    /* Only the header is needed to drop: run before decoding unless we tag. */
    api->set_stage(h, tag_len > 0 ? ETWHOST_STAGE_EVENT : ETWHOST_STAGE_RECORD);
    *out = l;
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL level_process(void *inst, const etwhost_event *ev)
{
    struct level *l = inst;
    if (l->api->event_header(ev)->level > l->max)
        return ETWHOST_DROP;
    /* The host copies the value; should that fail, the event still passes untagged. */
    if (l->tag[0] != '\0')
        (void)l->api->event_add_str(ev, "tag", l->tag, strlen(l->tag));
    return ETWHOST_OK;
}

static void ETWHOST_CALL level_destroy(void *inst)
{
    free(inst);
}

static const etwhost_plugin level_plugin = {
    sizeof(etwhost_plugin), ETWHOST_ABI_MAJOR, ETWHOST_ABI_MINOR, ETWHOST_KIND_FILTER, 0,
    "level", "1.0.0", "Drop events above a level; optionally tag the rest", 0,
    ETWHOST_STAGE_EVENT, level_keys, level_create, level_destroy, level_process,
    NULL, NULL, NULL, NULL,
};

ETWHOST_PLUGIN_DEFINE(level_plugin)
