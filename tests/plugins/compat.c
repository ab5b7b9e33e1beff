/*
 * A test sink plugin compiled at several ABI versions (COMPAT_MAJOR,
 * COMPAT_MINOR) to check what the loader accepts and rejects, and with
 * COMPAT_NO_ENTRY to have no entry symbol at all.
 *
 * At minor 0 it presents a 1.0-sized descriptor; the 1.1 member that follows
 * in memory is a trap: a host that reads past struct_size calls it and the
 * process aborts.
 */
#include <stdio.h>
#include <stdlib.h>

#include "etwhost/plugin.h"

#ifndef COMPAT_MAJOR
#define COMPAT_MAJOR ETWHOST_ABI_MAJOR
#endif
#ifndef COMPAT_MINOR
#define COMPAT_MINOR ETWHOST_ABI_MINOR
#endif

struct compat {
    const etwhost_host_api *api;
    etwhost_host *h;
    unsigned long long n;
    char *own; /* COMPAT_CRT: memory of the plugin's own C runtime */
};

static etwhost_status ETWHOST_CALL c_create(etwhost_host *h, const etwhost_host_api *api,
                                            const etwhost_config *cfg, void **out, char *err,
                                            size_t err_len)
{
    (void)cfg;
    (void)err;
    (void)err_len;
    struct compat *c = api->alloc(h, sizeof *c);
    if (c == NULL)
        return ETWHOST_ERR_NOMEM;
    c->api = api;
    c->h = h;
    c->n = 0;
    c->own = NULL;
#ifdef COMPAT_CRT
    /* Built against another C runtime than the host's: this block comes from, and goes
     * back to, that runtime's heap only, as the host's blocks go back through api->free. */
    c->own = malloc(4096);
    if (c->own == NULL) {
        api->free(h, c);
        return ETWHOST_ERR_NOMEM;
    }
    snprintf(c->own, 4096, "compat private buffer");
#endif
    *out = c;
    return ETWHOST_OK;
}

static void ETWHOST_CALL c_destroy(void *inst)
{
    struct compat *c = inst;
    char line[128];
    snprintf(line, sizeof line, "compat plugin saw %llu events%s", c->n,
             c->own ? " (own heap used)" : "");
    c->api->log(c->h, ETWHOST_LOG_INFO, line);
    free(c->own);
    c->api->free(c->h, c);
}

static etwhost_status ETWHOST_CALL c_write(void *inst, const etwhost_event *const *evs,
                                           uint32_t n, uint32_t *accepted)
{
    struct compat *c = inst;
    (void)evs;
    c->n += n;
    *accepted = n;
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL c_trap(void *inst, char *buf, size_t cap, size_t *needed)
{
    (void)inst;
    (void)buf;
    (void)cap;
    (void)needed;
    fprintf(stderr, "compat: host read a member beyond the descriptor's struct_size\n");
    abort();
}

#if COMPAT_MINOR == 0
#define COMPAT_SIZE ETWHOST_PLUGIN_SIZE_1_0
#else
#define COMPAT_SIZE sizeof(etwhost_plugin)
#endif

static const etwhost_plugin desc = {
    COMPAT_SIZE,
    COMPAT_MAJOR,
    COMPAT_MINOR,
    ETWHOST_KIND_SINK,
    0,
    "compat",
    "1.0.0",
    "ABI compatibility test sink",
    0,
    0,
    NULL,
    c_create,
    c_destroy,
    NULL,
    c_write,
    NULL,
    NULL,
    c_trap, /* beyond struct_size at minor 0 */
};

#ifndef COMPAT_NO_ENTRY
ETWHOST_PLUGIN_DEFINE(desc)
#else
/* Exported, but under the wrong name. */
ETWHOST_EXPORT const etwhost_plugin *ETWHOST_CALL not_the_entry(void);
ETWHOST_EXPORT const etwhost_plugin *ETWHOST_CALL not_the_entry(void) { return &desc; }
#endif
