/*
 * A sink that takes every event and does nothing with it (optionally
 * rendering its JSON line first), for benchmarks and runtime tests.
 * settings: "render_json" (bool), "retry_every" (int: return RETRY with
 * half the batch taken on every Nth write, to exercise back-off),
 * "fail_after" (int: return ERR_FATAL after N events), "fail_create" (bool:
 * create() fails with a message).
 */
#include <stdio.h>

#include "etwhost/plugin.h"

struct nullsink {
    const etwhost_host_api *api;
    etwhost_host *h;
    int32_t render;
    int64_t retry_every, fail_after, writes, events, bytes;
    int32_t c_events, c_bytes;
};

static const char *const keys[] = {"render_json", "retry_every", "fail_after", "fail_create",
                                   NULL};

static etwhost_status ETWHOST_CALL ns_create(etwhost_host *h, const etwhost_host_api *api,
                                             const etwhost_config *cfg, void **out, char *err,
                                             size_t err_len)
{
    int32_t fail = 0;
    api->config_get_bool(cfg, "fail_create", &fail);
    if (fail)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                            "cannot open the null device: fail_create is set");
    struct nullsink *n = api->alloc(h, sizeof *n);
    if (n == NULL)
        return etwhost_errf(err, err_len, ETWHOST_ERR_NOMEM, "out of memory");
    n->api = api;
    n->h = h;
    n->render = 0;
    n->retry_every = n->fail_after = n->writes = n->events = n->bytes = 0;
    api->config_get_bool(cfg, "render_json", &n->render);
    api->config_get_i64(cfg, "retry_every", &n->retry_every);
    api->config_get_i64(cfg, "fail_after", &n->fail_after);
    n->c_events = api->counter_register(h, "events");
    n->c_bytes = api->counter_register(h, "json_bytes");
    *out = n;
    return ETWHOST_OK;
}

static void ETWHOST_CALL ns_destroy(void *inst)
{
    struct nullsink *n = inst;
    n->api->free(n->h, n);
}

static etwhost_status ETWHOST_CALL ns_write(void *inst, const etwhost_event *const *evs,
                                            uint32_t count, uint32_t *accepted)
{
    struct nullsink *n = inst;
    n->writes++;
    uint32_t take = count;
    etwhost_status st = ETWHOST_OK;
    if (n->retry_every > 0 && n->writes % n->retry_every == 0 && count > 1) {
        take = count / 2;
        st = ETWHOST_RETRY;
    }
    if (n->fail_after > 0 && n->events + take > n->fail_after) {
        take = (uint32_t)(n->fail_after - n->events);
        st = ETWHOST_ERR_FATAL;
    }
    for (uint32_t i = 0; i < take; i++) {
        if (n->render) {
            const char *p;
            size_t len;
            if (n->api->event_json(evs[i], &p, &len) == ETWHOST_OK)
                n->bytes += (int64_t)len;
        }
    }
    n->events += take;
    n->api->counter_add(n->h, n->c_events, take);
    *accepted = take;
    return st;
}

static etwhost_status ETWHOST_CALL ns_close(void *inst, char *err, size_t err_len)
{
    struct nullsink *n = inst;
    (void)err;
    (void)err_len;
    n->api->counter_add(n->h, n->c_bytes, n->bytes);
    return ETWHOST_OK;
}

static const etwhost_plugin desc = {
    sizeof(etwhost_plugin), ETWHOST_ABI_MAJOR, ETWHOST_ABI_MINOR, ETWHOST_KIND_SINK, 0,
    "nullsink", "1.0.0", "discards events (benchmarks, tests)", 0, 0, keys,
    ns_create, ns_destroy, NULL, ns_write, NULL, ns_close, NULL,
};

ETWHOST_PLUGIN_DEFINE(desc)
