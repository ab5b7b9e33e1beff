/*
 * wpp: WPP records without TMF information (see wpp.h).
 */
#include "wpp.h"

#include <stdio.h>
#include <string.h>

#include "../core/mem.h"
#include "../etl/etl_format.h"

struct wpp_slot {
    etwhost_guid guid;
    uint16_t number;
    uint8_t used;
    struct schema *s;
};

struct wpp_ctx {
    struct wpp_slot *slots;
    size_t cap, count;
    struct schema *shared; /* answers once WPP_MAX_SCHEMAS are built */
};

static uint64_t wpp_hash(const etwhost_guid *g, uint16_t n)
{
    uint64_t h = 1469598103934665603ull;
    const uint8_t *p = (const uint8_t *)g;
    for (size_t i = 0; i < sizeof *g; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    h = (h ^ n) * 1099511628211ull;
    return h ^ (h >> 31);
}

/* The undecodable schema of one message (number 0 and a zero GUID for the shared one). */
static struct schema *wpp_schema(const etwhost_guid *g, uint16_t number, int shared)
{
    struct schema_builder b;
    schema_builder_init(&b, SCHEMA_SRC_WPP);
    b.hdr.provider = *g;
    b.hdr.id = number;
    char name[48];
    int n = shared ? snprintf(name, sizeof name, "WPP message")
                   : snprintf(name, sizeof name, "WPP message %u", (unsigned)number);
    struct schema *s = NULL;
    struct errbuf eb;
    if (schema_builder_set_name(&b, SCHEMA_NAME_EVENT, name, (size_t)n) == 0 &&
        schema_builder_set_name(&b, SCHEMA_NAME_ERROR, WPP_NO_TMF, strlen(WPP_NO_TMF)) == 0)
        schema_builder_finish(&b, 0, NULL, &s, &eb);
    schema_builder_free(&b);
    return s;
}

static int wpp_grow(struct wpp_ctx *c)
{
    if ((c->count + 1) * 2 <= c->cap)
        return 0;
    size_t cap = c->cap ? c->cap * 2 : 64;
    struct wpp_slot *ns = mem_calloc(cap, sizeof *ns);
    if (ns == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < c->cap; i++) {
        if (!c->slots[i].used)
            continue;
        size_t j = wpp_hash(&c->slots[i].guid, c->slots[i].number) & (cap - 1);
        while (ns[j].used)
            j = (j + 1) & (cap - 1);
        ns[j] = c->slots[i];
    }
    mem_free(c->slots);
    c->slots = ns;
    c->cap = cap;
    return 0;
}

static int wpp_lookup(void *ctx, const struct record *rec, const struct schema **out)
{
    struct wpp_ctx *c = ctx;
    if (rec->kind != ETWHOST_HK_MESSAGE)
        return ERR_NOTFOUND;
    if (c->cap) {
        size_t mask = c->cap - 1;
        for (size_t i = wpp_hash(&rec->provider, rec->message_number) & mask; c->slots[i].used;
             i = (i + 1) & mask) {
            if (c->slots[i].number == rec->message_number &&
                guid_eq(&c->slots[i].guid, &rec->provider)) {
                *out = c->slots[i].s;
                return 0;
            }
        }
    }
    if (c->count >= WPP_MAX_SCHEMAS) {
        if (c->shared == NULL) {
            etwhost_guid zero;
            memset(&zero, 0, sizeof zero);
            c->shared = wpp_schema(&zero, 0, 1);
            if (c->shared == NULL)
                return ERR_NOMEM;
        }
        *out = c->shared;
        return 0;
    }
    if (wpp_grow(c))
        return ERR_NOMEM;
    size_t mask = c->cap - 1;
    size_t i = wpp_hash(&rec->provider, rec->message_number) & mask;
    while (c->slots[i].used)
        i = (i + 1) & mask;
    struct schema *s = wpp_schema(&rec->provider, rec->message_number, 0);
    if (s == NULL)
        return ERR_NOMEM;
    c->slots[i].used = 1;
    c->slots[i].guid = rec->provider;
    c->slots[i].number = rec->message_number;
    c->slots[i].s = s;
    c->count++;
    *out = s;
    return 0;
}

static void wpp_destroy(void *ctx)
{
    struct wpp_ctx *c = ctx;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i].used)
            schema_free(c->slots[i].s);
    schema_free(c->shared);
    mem_free(c->slots);
    mem_free(c);
}

int wpp_source(struct schema_source *src)
{
    memset(src, 0, sizeof *src);
    struct wpp_ctx *c = mem_calloc(1, sizeof *c);
    if (c == NULL)
        return ERR_NOMEM;
    src->name = "wpp";
    src->ctx = c;
    src->lookup = wpp_lookup;
    src->destroy = wpp_destroy;
    return 0;
}

static int add_u(struct event *ev, const char *name, uint16_t type, uint64_t v)
{
    uint32_t i = event_prop_add(ev, name, (uint32_t)strlen(name), type);
    if (i == ETWHOST_NONE)
        return ERR_NOMEM;
    etwhost_prop *p = &ev->props[i];
    p->format = ETWHOST_FMT_DEFAULT;
    p->num.u = v;
    p->data = NULL;
    p->size = 0;
    p->reserved = 0;
    p->map_text = NULL;
    return 0;
}

int wpp_add_header_props(const struct record *rec, struct event *ev)
{
    if (rec->kind != ETWHOST_HK_MESSAGE)
        return ERR_NOTFOUND;
    unsigned opt = rec->hdr_flags;
    if (add_u(ev, "MessageNumber", ETWHOST_PT_U16, rec->message_number))
        return ERR_NOMEM;
    if ((opt & ETL_WPP_SEQUENCE) && add_u(ev, "SequenceNumber", ETWHOST_PT_U32, rec->wpp_sequence))
        return ERR_NOMEM;
    if (opt & ETL_WPP_COMPONENTID) {
        /* The component id follows the header and the optional sequence number. */
        uint32_t off = ETL_MESSAGE_HDR + ((opt & ETL_WPP_SEQUENCE) ? 4u : 0u);
        if (rec->raw != NULL && rec->raw_len >= off + 4) {
            const uint8_t *q = rec->raw + off;
            uint32_t id = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
                          (uint32_t)q[3] << 24;
            if (add_u(ev, "ComponentId", ETWHOST_PT_U32, id))
                return ERR_NOMEM;
        }
    } else if (opt & ETL_WPP_GUID) {
        etwhost_guid *g = arena_alloc(ev->arena, sizeof *g);
        if (g == NULL)
            return ERR_NOMEM;
        *g = rec->provider;
        uint32_t i = event_prop_add(ev, "MessageGuid", 11, ETWHOST_PT_GUID);
        if (i == ETWHOST_NONE)
            return ERR_NOMEM;
        etwhost_prop *p = &ev->props[i];
        p->format = ETWHOST_FMT_DEFAULT;
        p->num.u = 0;
        p->data = (const uint8_t *)g;
        p->size = 16;
        p->reserved = 0;
        p->map_text = NULL;
    }
    return 0;
}
