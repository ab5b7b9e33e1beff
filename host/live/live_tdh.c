/*
 * live_tdh: TDH schemas of live events, once per key (see live_tdh.h).
 */
#include "live_tdh.h"

#include <stdatomic.h>
#include <string.h>

#include "../core/log.h"
#include "../core/mem.h"
#include "../platform/platform.h"
#include "../schema/mof_kernel.h"
#include "../schema/schema_cache.h"
#include "../schema/tdh_embedded.h"

struct live_tdh {
    atomic_int refs;
    struct plat_mutex mu;
    struct schema_cache *cache; /* schemas (owned), negative keys, map slots and maps */
    struct mof_kernel *mof;     /* the decoder's built-in kernel classes: not asked to TDH */
    const struct schema_map_slot **tried; /* slots whose map TDH was asked for */
    size_t ntried, cap_tried;
    uint8_t *buf;
    uint32_t cap;
    struct live_tdh_stats st;
    int warned;
};

struct live_tdh *live_tdh_new(void)
{
    struct live_tdh *t = mem_calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    struct errbuf eb;
    t->cache = schema_cache_new(0);
    if (t->cache == NULL || mof_kernel_new(NULL, &t->mof, &eb) != 0) {
        schema_cache_free(t->cache);
        mem_free(t);
        return NULL;
    }
    atomic_init(&t->refs, 1);
    plat_mutex_init(&t->mu);
    return t;
}

void live_tdh_ref(struct live_tdh *t)
{
    atomic_fetch_add(&t->refs, 1);
}

void live_tdh_unref(struct live_tdh *t)
{
    if (t == NULL || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    schema_cache_free(t->cache);
    mof_kernel_free(t->mof);
    mem_free(t->tried);
    mem_free(t->buf);
    plat_mutex_destroy(&t->mu);
    mem_free(t);
}

/*
 * Call a TDH function that fills t->buf, growing it on
 * ETW_ERR_INSUFFICIENT_BUFFER.  Returns the Win32 code; *size the bytes.
 */
static uint32_t fetch(struct live_tdh *t, const struct etw_api *api, const struct etw_event *ev,
                      const char *map_name, uint32_t *size)
{
    if (t->buf == NULL) {
        t->cap = 8192;
        t->buf = mem_alloc(t->cap);
        if (t->buf == NULL) {
            t->cap = 0;
            return ETW_ERR_NO_SYSTEM_RESOURCES;
        }
    }
    for (int tries = 0; tries < 4; tries++) {
        *size = t->cap;
        uint32_t rc = map_name ? api->tdh_map_info(api->ctx, ev, map_name, t->buf, size)
                               : api->tdh_event_info(api->ctx, ev, t->buf, size);
        if (rc != ETW_ERR_INSUFFICIENT_BUFFER)
            return rc;
        if (*size <= t->cap || *size > (64u << 20))
            return rc;
        uint8_t *nb = mem_realloc(t->buf, *size);
        if (nb == NULL)
            return ETW_ERR_NO_SYSTEM_RESOURCES;
        t->buf = nb;
        t->cap = *size;
    }
    return ETW_ERR_INSUFFICIENT_BUFFER;
}

static int was_tried(const struct live_tdh *t, const struct schema_map_slot *slot)
{
    for (size_t i = 0; i < t->ntried; i++)
        if (t->tried[i] == slot)
            return 1;
    return 0;
}

/* Ask TDH once for each map s uses that no earlier schema brought. */
static void fetch_maps(struct live_tdh *t, const struct etw_api *api, const struct etw_event *ev,
                       const struct schema *s)
{
    for (uint32_t i = 0; i < s->nfields; i++) {
        const struct schema_map_slot *slot = s->fields[i].map;
        if (slot == NULL || slot->map != NULL || was_tried(t, slot))
            continue;
        if (mem_grow(&t->tried, &t->cap_tried, t->ntried + 1, sizeof *t->tried))
            return;
        t->tried[t->ntried++] = slot;
        uint32_t size;
        uint32_t rc = api->tdh_map_info ? fetch(t, api, ev, slot->name, &size)
                                        : ETW_ERR_NOT_SUPPORTED;
        struct schema_map *m = NULL;
        struct errbuf eb;
        if (rc == ETW_OK && tdh_parse_map_info(t->buf, size, &m, &eb) == 0 &&
            schema_cache_add_map(t->cache, &s->provider, m) == 0) {
            t->st.maps++;
        } else {
            t->st.maps_failed++;
            log_debug("TDH: no map \"%s\" for %s (error %u)", slot->name,
                      s->provider_name ? s->provider_name : "provider", rc);
        }
    }
}

const struct schema *live_tdh_resolve(struct live_tdh *t, const struct etw_api *api,
                                      const struct etw_event *ev, const struct record *rec)
{
    if (rec->tl_meta || rec->kind == ETWHOST_HK_MESSAGE || api == NULL ||
        api->tdh_event_info == NULL)
        return NULL;
    struct schema_key key;
    schema_key_for_record(rec, &key);
    plat_mutex_lock(&t->mu);
    const struct schema *s = schema_cache_find(t->cache, &key);
    if (s) {
        plat_mutex_unlock(&t->mu);
        return (s->flags & SCHEMA_F_NEGATIVE) ? NULL : s;
    }
    /*
     * Kernel and classic events of the built-in MOF classes decode with those (as in .etl
     * files): TDH is asked only about classes the host does not know.
     */
    if (rec->kind != ETWHOST_HK_EVENT &&
        mof_kernel_find(t->mof, &rec->provider, rec->version, rec->opcode,
                        (rec->evf & ETWHOST_EVF_PTR32) ? 4 : 8) != NULL) {
        schema_cache_insert_negative(t->cache, &key);
        t->st.builtin++;
        plat_mutex_unlock(&t->mu);
        return NULL;
    }
    t->st.asked++;
    uint32_t size;
    uint32_t rc = fetch(t, api, ev, NULL, &size);
    struct schema *built = NULL;
    if (rc == ETW_OK) {
        struct schema_key pkey;
        struct errbuf eb;
        int prc = tdh_parse_event_info(t->buf, size, SCHEMA_SRC_TDH_LIVE, t->cache, &built,
                                       &pkey, &eb);
        if (prc == ERR_UNSUPPORTED) {
            t->st.unsupported++;
        } else if (prc != 0) {
            t->st.failed++;
            char desc[400];
            schema_key_describe(&key, NULL, desc, sizeof desc);
            log_warn("TDH returned an unusable TRACE_EVENT_INFO for %s: %s", desc, eb.msg);
        }
    } else {
        t->st.failed++;
        char desc[400], text[256];
        schema_key_describe(&key, NULL, desc, sizeof desc);
        if (!t->warned) {
            t->warned = 1;
            log_warn("TDH has no schema for %s (%s); such events stay undecoded unless a "
                     "manifest is configured (further misses at debug level)",
                     desc, etw_error_text(api, rc, text, sizeof text));
        } else {
            log_debug("TDH has no schema for %s (error %u)", desc, rc);
        }
    }
    if (built == NULL) {
        schema_cache_insert_negative(t->cache, &key);
        plat_mutex_unlock(&t->mu);
        return NULL;
    }
    fetch_maps(t, api, ev, built);
    /* The cache owns the schema from here on, also when it refuses it (cap reached). */
    if (schema_cache_insert(t->cache, &key, built) != 0) {
        schema_cache_insert_negative(t->cache, &key);
        plat_mutex_unlock(&t->mu);
        return NULL;
    }
    t->st.schemas++;
    plat_mutex_unlock(&t->mu);
    return built;
}

void live_tdh_get_stats(struct live_tdh *t, struct live_tdh_stats *out)
{
    plat_mutex_lock(&t->mu);
    *out = t->st;
    plat_mutex_unlock(&t->mu);
}
