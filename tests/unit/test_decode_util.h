/*
 * Helpers shared by the schema / decode / TraceLogging tests: building
 * TraceLogging metadata blobs and records by hand, and rendering decoded
 * properties in the compact text form tests/scripts/tl_oracle.py prints.
 */
#ifndef ETWHOST_TEST_DECODE_UTIL_H
#define ETWHOST_TEST_DECODE_UTIL_H

#include <string.h>

#include "core/buf.h"
#include "event/event.h"
#include "record/record.h"
#include "schema/schema.h"

/* A schema field with name, in-type and out-type set, everything else zero. */
static inline struct schema_field tdu_field(const char *name, unsigned in, unsigned out)
{
    struct schema_field f;
    memset(&f, 0, sizeof f);
    f.name = name;
    f.name_len = (uint32_t)strlen(name);
    f.in_type = (uint16_t)in;
    f.out_type = (uint16_t)out;
    return f;
}

/* ---- TraceLogging metadata builder ------------------------------------------ */

struct tlmb {
    uint8_t b[4096];
    size_t n;
};

/* Start a blob: size placeholder, event tags (0 = none), event name. */
static inline void tlmb_start(struct tlmb *m, const char *event, uint32_t tags)
{
    m->n = 2;
    if (tags == 0) {
        m->b[m->n++] = 0;
    } else {
        /* 28 bits, 7 per byte, high bits first, bit 7 = more bytes follow. */
        int nb = (tags & 0x7F) ? 4 : (tags & 0x3F80) ? 3 : (tags & 0x1FC000) ? 2 : 1;
        for (int i = 0; i < nb; i++) {
            uint8_t b = (uint8_t)((tags >> (21 - 7 * i)) & 0x7F);
            m->b[m->n++] = (uint8_t)(b | (i < nb - 1 ? 0x80 : 0));
        }
    }
    size_t l = strlen(event) + 1;
    memcpy(m->b + m->n, event, l);
    m->n += l;
}

/*
 * Add a field.  in: InMeta low 5 bits; arity: 0, 0x20 (ccount), 0x40
 * (vcount), 0x60 (custom); out: -1 for no OutMeta byte, else the OutType /
 * struct member count; ftags: field tags (needs out >= 0); ccount or the
 * custom bytes as applicable.
 */
static inline void tlmb_field(struct tlmb *m, const char *name, uint8_t in, uint8_t arity,
                              int out, uint8_t ftag_byte, uint16_t ccount,
                              const uint8_t *custom, uint16_t custom_len)
{
    size_t l = strlen(name) + 1;
    memcpy(m->b + m->n, name, l);
    m->n += l;
    m->b[m->n++] = (uint8_t)(in | arity | (out >= 0 ? 0x80 : 0));
    if (out >= 0) {
        m->b[m->n++] = (uint8_t)(out | (ftag_byte ? 0x80 : 0));
        if (ftag_byte)
            m->b[m->n++] = ftag_byte;
    }
    if (arity == 0x20) {
        m->b[m->n++] = (uint8_t)ccount;
        m->b[m->n++] = (uint8_t)(ccount >> 8);
    } else if (arity == 0x60) {
        m->b[m->n++] = (uint8_t)custom_len;
        m->b[m->n++] = (uint8_t)(custom_len >> 8);
        memcpy(m->b + m->n, custom, custom_len);
        m->n += custom_len;
    }
}

/* Shorthand: scalar field with an optional out-type. */
static inline void tlmb_simple(struct tlmb *m, const char *name, uint8_t in, int out)
{
    tlmb_field(m, name, in, 0, out, 0, 0, NULL, 0);
}

static inline void tlmb_end(struct tlmb *m)
{
    m->b[0] = (uint8_t)m->n;
    m->b[1] = (uint8_t)(m->n >> 8);
}

/* ---- Payload builder --------------------------------------------------------- */

struct plb {
    uint8_t b[8192];
    uint32_t n;
};

static inline void plb_bytes(struct plb *p, const void *d, size_t n)
{
    memcpy(p->b + p->n, d, n);
    p->n += (uint32_t)n;
}
static inline void plb_u(struct plb *p, uint64_t v, int size)
{
    for (int i = 0; i < size; i++)
        p->b[p->n++] = (uint8_t)(v >> (8 * i));
}
/* UTF-16LE of an ASCII string, with a NUL unless nul == 0. */
static inline void plb_w(struct plb *p, const char *s, int nul)
{
    for (; *s; s++)
        plb_u(p, (uint8_t)*s, 2);
    if (nul)
        plb_u(p, 0, 2);
}

/* ---- Records ------------------------------------------------------------------- */

/* A 64-bit EVENT_HEADER record of provider g with metadata m (NULL for none). */
static inline void rec_make(struct record *r, const etwhost_guid *g, const struct tlmb *m,
                            const struct plb *p)
{
    memset(r, 0, sizeof *r);
    r->kind = ETWHOST_HK_EVENT;
    r->provider = *g;
    if (m) {
        r->tl_meta = m->b;
        r->tl_meta_len = (uint32_t)m->n;
        r->evf |= ETWHOST_EVF_TRACELOGGING;
    }
    r->data = p ? p->b : NULL;
    r->data_len = p ? p->n : 0;
}

/* ---- Rendering ----------------------------------------------------------------- */

static inline void render_hex(struct buf *o, const uint8_t *d, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        buf_putc(o, hx[d[i] >> 4]);
        buf_putc(o, hx[d[i] & 15]);
    }
}

static inline void render_value(const struct event *ev, uint32_t i, struct buf *o);

/* name=value */
static inline void render_named(const struct event *ev, uint32_t i, struct buf *o)
{
    const etwhost_prop *p = &ev->props[i];
    buf_append(o, p->name, p->name_len);
    buf_putc(o, '=');
    render_value(ev, i, o);
}

static inline void render_value(const struct event *ev, uint32_t i, struct buf *o)
{
    const etwhost_prop *p = &ev->props[i];
    switch (p->type) {
    case ETWHOST_PT_ARRAY:
    case ETWHOST_PT_STRUCT: {
        int arr = p->type == ETWHOST_PT_ARRAY;
        buf_putc(o, arr ? '[' : '{');
        uint32_t c = p->count ? i + 1 : ETWHOST_NONE;
        for (int first = 1; c != ETWHOST_NONE; c = ev->props[c].next, first = 0) {
            if (!first)
                buf_putc(o, arr ? ',' : ';');
            if (arr)
                render_value(ev, c, o);
            else
                render_named(ev, c, o);
        }
        buf_putc(o, arr ? ']' : '}');
        return;
    }
    case ETWHOST_PT_I8: case ETWHOST_PT_U8: case ETWHOST_PT_I16: case ETWHOST_PT_U16:
    case ETWHOST_PT_I32: case ETWHOST_PT_U32: case ETWHOST_PT_I64: case ETWHOST_PT_U64:
        buf_printf(o, "%llu", (unsigned long long)event_prop_bits(p));
        return;
    case ETWHOST_PT_BOOL: case ETWHOST_PT_FILETIME: case ETWHOST_PT_POINTER:
        buf_printf(o, "%llu", (unsigned long long)p->num.u);
        return;
    case ETWHOST_PT_F32: {
        float f = (float)p->num.f;
        uint32_t bits;
        memcpy(&bits, &f, 4);
        uint8_t b[4] = {(uint8_t)bits, (uint8_t)(bits >> 8), (uint8_t)(bits >> 16),
                        (uint8_t)(bits >> 24)};
        render_hex(o, b, 4);
        return;
    }
    case ETWHOST_PT_F64: {
        uint64_t bits;
        memcpy(&bits, &p->num.f, 8);
        uint8_t b[8];
        for (int k = 0; k < 8; k++)
            b[k] = (uint8_t)(bits >> (8 * k));
        render_hex(o, b, 8);
        return;
    }
    case ETWHOST_PT_NULL:
        buf_puts(o, "null");
        return;
    default:
        render_hex(o, p->data, p->size);
        return;
    }
}

/* All top-level properties joined by ';' into o (appending). */
static inline void render_event(const struct event *ev, struct buf *o)
{
    uint32_t i = ev->nprops ? 0 : ETWHOST_NONE;
    for (int first = 1; i != ETWHOST_NONE; i = ev->props[i].next, first = 0) {
        if (!first)
            buf_putc(o, ';');
        render_named(ev, i, o);
    }
}

#endif
