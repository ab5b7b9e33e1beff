/*
 * decode: walk a schema over a payload (see decode.h).
 *
 * The walk is recursive over structs (depth bounded by the schema builder)
 * and iterative over arrays.  Every read goes through need(), which checks
 * the bytes left in the payload first.  Errors stop the walk: the function
 * that opened a container closes it on the way out, so the property tree
 * is always well formed, and the message names the field and offset.
 */
#include "decode.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../core/compiler.h"
#include "../core/mem.h"
#include "../core/text.h"
#include "../schema/wpp.h"

struct walk {
    struct decoder *d;
    const struct schema *s;
    struct event *ev;
    const uint8_t *p;
    uint32_t len, off;
    uint32_t ptr; /* pointer size of the payload: 4 or 8 */
    char err[256];
};

#define WALK_FAIL ERR_FORMAT

/* Format the error of field f and return WALK_FAIL (or code). */
#if defined(__GNUC__) || defined(__clang__)
ETWHOST_PRINTF(3, 4)
#endif
static int fail(struct walk *w, const struct schema_field *f, const char *fmt, ...)
{
    char why[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(w->err, sizeof w->err, "field '%s' at payload offset %u: %s", f ? f->name : "?",
             w->off, why);
    return WALK_FAIL;
}

static int nomem(struct walk *w)
{
    snprintf(w->err, sizeof w->err, "out of memory at payload offset %u", w->off);
    return ERR_NOMEM;
}

/* Are n more bytes available? */
static inline int need(struct walk *w, const struct schema_field *f, uint64_t n)
{
    if (n <= (uint64_t)(w->len - w->off))
        return 0;
    return fail(w, f, "needs %llu bytes, %u left", (unsigned long long)n, w->len - w->off);
}

/* Read an n-byte (n <= 8) little-endian unsigned integer. */
static inline uint64_t rd_le(const uint8_t *p, unsigned n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v = 0;
    switch (n) {
    case 1: return p[0];
    case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
    case 4: { uint32_t x; memcpy(&x, p, 4); return x; }
    case 8: memcpy(&v, p, 8); return v;
    default: memcpy(&v, p, n); return v;
    }
#else
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
#endif
}

/* Append a property; fails past DECODE_MAX_PROPS or on out of memory. */
static int add(struct walk *w, const struct schema_field *f, const char *name, uint32_t nl,
               uint16_t type, int container, uint32_t *idx)
{
    if (w->ev->nprops >= DECODE_MAX_PROPS)
        return fail(w, f, "more than %u properties", DECODE_MAX_PROPS);
    if (container && w->ev->depth >= EVENT_MAX_DEPTH)
        return fail(w, f, "properties nested deeper than %d levels", EVENT_MAX_DEPTH);
    uint32_t i = container ? event_prop_open(w->ev, name, nl, type)
                           : event_prop_add_f(w->ev, name, nl, type,
                                              name == f->name && (f->dflags & SCHEMA_DF_PLAIN_NAME)
                                                  ? PROP_F_NAME_PLAIN
                                                  : 0);
    if (i == ETWHOST_NONE)
        return nomem(w);
    /* event_prop_add zeroed the entry: value, data, size, map_text are 0/NULL. */
    *idx = i;
    return 0;
}

/* ---- Values ----------------------------------------------------------------------- */

/* Map label of an integer value (NULL if none); bitmap texts go to the arena. */
static const char *map_label(struct walk *w, const struct schema_field *f, uint64_t v)
{
    const struct schema_map *m = f->map ? f->map->map : NULL;
    if (m == NULL)
        return NULL;
    if (m->kind == SCHEMA_MAP_VALUE)
        return schema_map_lookup(m, v);
    char tmp[512];
    size_t n = schema_map_format(m, v, tmp, sizeof tmp);
    if (n == 0)
        return NULL;
    return arena_dup(w->ev->arena, tmp, n, 1);
}

/* Length (in units) of a string/binary with an explicit length; 1 if found. */
static int explicit_length(struct walk *w, const struct schema_field *f, uint64_t *units)
{
    if (f->len_kind == SCHEMA_LEN_FIXED) {
        *units = f->length;
        return 1;
    }
    if (f->len_kind == SCHEMA_LEN_FIELD) {
        struct decoder *d = w->d;
        if (d->vals_epoch[f->length] != d->epoch)
            return -1;
        *units = d->vals[f->length];
        return 1;
    }
    return 0;
}

/*
 * Length in bytes of a NUL-terminated UTF-16 string at p; *adv gets the
 * bytes consumed.  Looks at four code units per step (a zero 16-bit lane
 * test on a 64-bit word), which matters: strings dominate decode time.
 */
static uint32_t scan_utf16(const uint8_t *p, uint32_t avail, uint32_t *adv)
{
    uint32_t i = 0;
    while (i + 8 <= avail) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if ((v - 0x0001000100010001ull) & ~v & 0x8000800080008000ull)
            break; /* a zero unit is in this word (or a false hit: the loop below decides) */
        i += 8;
    }
    for (; i + 1 < avail; i += 2) {
        if (p[i] == 0 && p[i + 1] == 0) {
            *adv = i + 2;
            return i;
        }
    }
    *adv = avail; /* missing NUL: clamp to the payload end */
    return avail & ~1u;
}

static uint32_t scan_ansi(const uint8_t *p, uint32_t avail, uint32_t *adv)
{
    const uint8_t *z = avail ? memchr(p, 0, avail) : NULL;
    if (z) {
        *adv = (uint32_t)(z - p) + 1;
        return (uint32_t)(z - p);
    }
    *adv = avail;
    return avail;
}

/* Decode one value of scalar field f (index fi) into a new property. */
static int decode_value(struct walk *w, uint32_t fi, const char *name, uint32_t nl, int in_array)
{
    const struct schema_field *f = &w->s->fields[fi];
    struct decoder *d = w->d;
    const uint8_t *p = w->p + w->off;
    uint32_t idx;
    int rc;
    unsigned in = f->in_type;

    /* Fixed-size values first: the common case. */
    unsigned size = f->fsize == SCHEMA_FSIZE_PTR ? w->ptr : f->fsize;
    if (size && in != TDH_IN_GUID && in != TDH_IN_SYSTEMTIME) {
        if ((rc = need(w, f, size)) != 0)
            return rc;
        if ((rc = add(w, f, name, nl, f->pt, 0, &idx)) != 0)
            return rc;
        etwhost_prop *pr = &w->ev->props[idx];
        pr->format = f->fmt;
        if (in == TDH_IN_FLOAT) {
            float x;
            memcpy(&x, p, 4);
            pr->num.f = x;
        } else if (in == TDH_IN_DOUBLE) {
            double x;
            memcpy(&x, p, 8);
            pr->num.f = x;
        } else {
            uint64_t v = rd_le(p, size);
            if ((f->dflags & SCHEMA_DF_SIGNED) && size < 8 && (v >> (size * 8 - 1)) & 1)
                v |= ~(uint64_t)0 << (size * 8);
            pr->num.u = v;
            if (f->dflags & SCHEMA_DF_INT) {
                if (f->map)
                    pr->map_text = map_label(w, f, v);
                if (!in_array && (f->dflags & SCHEMA_DF_REF)) {
                    d->vals[fi] = v;
                    d->vals_epoch[fi] = d->epoch;
                }
            }
        }
        w->off += size;
        return 0;
    }

    uint64_t units = 0;
    uint32_t bytes = 0, adv = 0;
    uint16_t enc = PROP_ENC_ANSI;
    uint16_t pt = f->pt;
    const uint8_t *data = p;
    uint32_t avail = w->len - w->off;
    switch (in) {
    case TDH_IN_GUID: {
        if ((rc = need(w, f, 16)) != 0)
            return rc;
        etwhost_guid *g = arena_alloc(w->ev->arena, sizeof *g);
        if (g == NULL)
            return nomem(w);
        guid_read(g, p);
        if ((rc = add(w, f, name, nl, ETWHOST_PT_GUID, 0, &idx)) != 0)
            return rc;
        w->ev->props[idx].data = (const uint8_t *)g;
        w->ev->props[idx].size = 16;
        w->off += 16;
        return 0;
    }
    case TDH_IN_SYSTEMTIME: {
        if ((rc = need(w, f, 16)) != 0)
            return rc;
        int64_t ft = 0;
        int bad = text_systemtime_to_filetime(p, &ft) != 0;
        if ((rc = add(w, f, name, nl, bad ? ETWHOST_PT_BINARY : ETWHOST_PT_SYSTEMTIME, 0,
                      &idx)) != 0)
            return rc;
        w->ev->props[idx].num.i = ft;
        w->ev->props[idx].data = p;
        w->ev->props[idx].size = 16;
        w->off += 16;
        return 0;
    }
    case TDH_IN_UNICODESTRING:
    case TDH_IN_ANSISTRING: {
        int wide = in == TDH_IN_UNICODESTRING;
        enc = wide ? PROP_ENC_UTF16 : PROP_ENC_ANSI;
        int ex = explicit_length(w, f, &units);
        if (ex < 0)
            return fail(w, f, "length field '%s' has no value", w->s->fields[f->length].name);
        if (ex) {
            if (units > UINT32_MAX) /* keeps units * 2 from wrapping */
                return fail(w, f, "length %llu is too large", (unsigned long long)units);
            uint64_t nb = units * (wide ? 2u : 1u);
            if ((rc = need(w, f, nb)) != 0)
                return rc;
            adv = (uint32_t)nb;
            /* Fixed-size buffers hold a NUL and garbage after the text. */
            uint32_t dummy;
            bytes = wide ? scan_utf16(p, adv, &dummy) : scan_ansi(p, adv, &dummy);
        } else {
            bytes = wide ? scan_utf16(p, avail, &adv) : scan_ansi(p, avail, &adv);
        }
        break;
    }
    case TDH_IN_COUNTEDSTRING: case TDH_IN_COUNTEDANSISTRING:
    case TDH_IN_WBEM_COUNTEDSTRING: case TDH_IN_WBEM_COUNTEDANSISTRING:
    case TDH_IN_WBEM_REVERSEDCOUNTEDSTRING: case TDH_IN_WBEM_REVERSEDCOUNTEDANSISTRING: {
        if ((rc = need(w, f, 2)) != 0)
            return rc;
        uint32_t n = (uint32_t)rd_le(p, 2);
        if (in == TDH_IN_WBEM_REVERSEDCOUNTEDSTRING || in == TDH_IN_WBEM_REVERSEDCOUNTEDANSISTRING)
            n = (n >> 8 | n << 8) & 0xFFFF;
        int wide = in == TDH_IN_COUNTEDSTRING || in == TDH_IN_WBEM_COUNTEDSTRING ||
                   in == TDH_IN_WBEM_REVERSEDCOUNTEDSTRING;
        if (n > avail - 2)
            return fail(w, f, "counted string of %u bytes, %u left", n, avail - 2);
        enc = wide ? PROP_ENC_UTF16 : PROP_ENC_ANSI;
        data = p + 2;
        bytes = wide ? n & ~1u : n;
        adv = 2 + n;
        break;
    }
    case TDH_IN_WBEM_NONNULLTERMINATEDSTRING:
        enc = PROP_ENC_UTF16;
        bytes = avail & ~1u;
        adv = avail;
        break;
    case TDH_IN_WBEM_NONNULLTERMINATEDANSISTRING:
        bytes = adv = avail;
        break;
    case TDH_IN_BINARY: {
        int ex = explicit_length(w, f, &units);
        if (ex < 0)
            return fail(w, f, "length field '%s' has no value", w->s->fields[f->length].name);
        if (!ex) {
            if (f->out_type == TDH_OUT_IPV6)
                units = 16;
            else
                return fail(w, f, "binary field without a length");
        }
        if ((rc = need(w, f, units)) != 0)
            return rc;
        bytes = adv = (uint32_t)units;
        break;
    }
    case TDH_IN_COUNTEDBINARY: {
        if ((rc = need(w, f, 2)) != 0)
            return rc;
        uint32_t n = (uint32_t)rd_le(p, 2);
        if (n > avail - 2)
            return fail(w, f, "counted binary of %u bytes, %u left", n, avail - 2);
        data = p + 2;
        bytes = n;
        adv = 2 + n;
        break;
    }
    case TDH_IN_WBEM_HEXDUMP: {
        if ((rc = need(w, f, 4)) != 0)
            return rc;
        uint64_t n = rd_le(p, 4);
        if (n > avail - 4)
            return fail(w, f, "hex dump of %llu bytes, %u left", (unsigned long long)n,
                        avail - 4);
        data = p + 4;
        bytes = (uint32_t)n;
        adv = 4 + (uint32_t)n;
        break;
    }
    case TDH_IN_WBEM_SID:
        if ((rc = need(w, f, 4)) != 0)
            return rc;
        if (rd_le(p, 4) == 0) {
            /* No TOKEN_USER: the field is a single zero u32. */
            if ((rc = add(w, f, name, nl, ETWHOST_PT_NULL, 0, &idx)) != 0)
                return rc;
            w->off += 4;
            return 0;
        }
        if ((rc = need(w, f, 2u * w->ptr)) != 0)
            return rc;
        p += 2u * w->ptr;
        avail -= 2u * w->ptr;
        data = p;
        adv = 2u * w->ptr;
        /* fall through: the SID follows the TOKEN_USER */
        /* FALLTHRU */
    case TDH_IN_SID: {
        if (avail < 8)
            return fail(w, f, "SID needs 8 bytes, %u left", avail);
        uint32_t n = 8u + 4u * p[1];
        if (n > avail)
            return fail(w, f, "SID of %u bytes, %u left", n, avail);
        data = p;
        bytes = n;
        adv += n;
        break;
    }
    default:
        return fail(w, f, "in-type %u cannot be decoded", in);
    }
    if ((rc = add(w, f, name, nl, pt, 0, &idx)) != 0)
        return rc;
    etwhost_prop *pr = &w->ev->props[idx];
    pr->format = f->fmt;
    pr->data = data;
    pr->size = bytes;
    if (pt == ETWHOST_PT_STRING)
        pr->reserved = enc;
    w->off += adv;
    return 0;
}

/*
 * Fast path of decode_value for a SCHEMA_DF_FAST field (index fi): 1 when
 * the value was added, 0 when the general path must run (it reports what
 * is wrong: too few bytes, too many properties), ERR_NOMEM.
 */
static inline int fast_value(struct walk *w, const struct schema_field *f, uint32_t fi,
                             const char *name, uint32_t nl, uint32_t pflags, int in_array)
{
    struct event *ev = w->ev;
    unsigned size = f->fsize == SCHEMA_FSIZE_PTR ? w->ptr : f->fsize;
    if (size > w->len - w->off || ev->nprops >= DECODE_MAX_PROPS)
        return 0;
    uint64_t v = rd_le(w->p + w->off, size);
    if ((f->dflags & SCHEMA_DF_SIGNED) && size < 8 && (v >> (size * 8 - 1)) & 1)
        v |= ~(uint64_t)0 << (size * 8);
    uint32_t idx = event_prop_add_f(ev, name, nl, f->pt, pflags);
    if (idx == ETWHOST_NONE)
        return nomem(w);
    etwhost_prop *pr = &ev->props[idx];
    pr->format = f->fmt;
    pr->num.u = v;
    if (!in_array &&
        (f->dflags & (SCHEMA_DF_REF | SCHEMA_DF_INT)) == (SCHEMA_DF_REF | SCHEMA_DF_INT)) {
        w->d->vals[fi] = v;
        w->d->vals_epoch[fi] = w->d->epoch;
    }
    w->off += size;
    return 1;
}

/*
 * Elements of array arr (field f, SCHEMA_DF_FAST, n of them) decoded in one
 * go, as many as fit in the payload and the property array's room.  Returns
 * how many; the caller takes the general path for the rest.
 */
static uint64_t fast_array(struct walk *w, const struct schema_field *f, uint32_t arr, uint64_t n)
{
    struct event *ev = w->ev;
    unsigned size = f->fsize == SCHEMA_FSIZE_PTR ? w->ptr : f->fsize;
    uint64_t m = (w->len - w->off) / size;
    if (m > n)
        m = n;
    uint32_t base = ev->nprops;
    if (m > DECODE_MAX_PROPS - base)
        m = DECODE_MAX_PROPS - base;
    if (m > ev->props_cap - base)
        return 0; /* one by one, growing the array as they come */
    if (m == 0)
        return 0;
    uint32_t level = ev->depth; /* inside arr */
    const uint8_t *p = w->p + w->off;
    int sgn = (f->dflags & SCHEMA_DF_SIGNED) && size < 8;
    etwhost_prop *pr = &ev->props[base];
    for (uint32_t k = 0; k < (uint32_t)m; k++, pr++, p += size) {
        uint64_t v = rd_le(p, size);
        if (sgn && (v >> (size * 8 - 1)) & 1)
            v |= ~(uint64_t)0 << (size * 8);
        pr->struct_size = (uint32_t)sizeof *pr;
        pr->type = f->pt;
        pr->format = f->fmt;
        pr->num.u = v;
        pr->name_len = 0;
        pr->parent = arr;
        pr->next = base + k + 1;
        pr->count = 0;
        pr->size = 0;
        pr->reserved = 0;
        pr->reserved2 = 0;
        pr->name = "";
        pr->data = NULL;
        pr->map_text = NULL;
    }
    ev->props[base + m - 1].next = ETWHOST_NONE;
    if (ev->last[level] != ETWHOST_NONE)
        ev->props[ev->last[level]].next = base;
    ev->last[level] = base + (uint32_t)m - 1;
    ev->props[arr].count += (uint32_t)m;
    ev->nprops = base + (uint32_t)m;
    ev->json_valid = 0;
    w->off += (uint32_t)m * size;
    return m;
}

static int decode_fields(struct walk *w, uint32_t first, uint32_t count);

/* One struct instance: a STRUCT container holding its members. */
static int decode_struct(struct walk *w, const struct schema_field *f, const char *name,
                         uint32_t nl)
{
    uint32_t idx = ETWHOST_NONE;
    int rc = add(w, f, name, nl, ETWHOST_PT_STRUCT, 1, &idx);
    if (rc)
        return rc;
    rc = decode_fields(w, f->first, f->nmembers);
    event_prop_close(w->ev, idx);
    return rc;
}

static int decode_field(struct walk *w, uint32_t fi)
{
    const struct schema_field *f = &w->s->fields[fi];
    int is_struct = f->in_type == SCHEMA_IN_STRUCT;
    int rc;
    uint64_t n;
    switch (f->arity) {
    case SCHEMA_ARITY_SCALAR:
        return is_struct ? decode_struct(w, f, f->name, f->name_len)
                         : decode_value(w, fi, f->name, f->name_len, 0);
    case SCHEMA_ARITY_CUSTOM: {
        if ((rc = need(w, f, 2)) != 0)
            return rc;
        uint32_t cb = (uint32_t)rd_le(w->p + w->off, 2);
        if (cb > w->len - w->off - 2)
            return fail(w, f, "custom value of %u bytes, %u left", cb, w->len - w->off - 2);
        uint32_t idx;
        if ((rc = add(w, f, f->name, f->name_len, ETWHOST_PT_BINARY, 0, &idx)) != 0)
            return rc;
        w->ev->props[idx].data = w->p + w->off + 2;
        w->ev->props[idx].size = cb;
        w->off += 2 + cb;
        return 0;
    }
    case SCHEMA_ARITY_FIXED:
        n = f->count;
        break;
    case SCHEMA_ARITY_FIELD:
        if (w->d->vals_epoch[f->count] != w->d->epoch)
            return fail(w, f, "count field '%s' has no value", w->s->fields[f->count].name);
        n = w->d->vals[f->count];
        break;
    case SCHEMA_ARITY_TL_VCOUNT:
        if ((rc = need(w, f, 2)) != 0)
            return rc;
        n = rd_le(w->p + w->off, 2);
        w->off += 2;
        break;
    case SCHEMA_ARITY_REST: {
        unsigned es = f->fsize == SCHEMA_FSIZE_PTR ? w->ptr : f->fsize;
        n = es ? (w->len - w->off) / es : 0;
        break;
    }
    default:
        return fail(w, f, "unknown arity %u", f->arity);
    }
    if (n > DECODE_MAX_PROPS)
        return fail(w, f, "array of %llu elements", (unsigned long long)n);
    uint32_t arr;
    if ((rc = add(w, f, f->name, f->name_len, ETWHOST_PT_ARRAY, 1, &arr)) != 0)
        return rc;
    uint64_t k = 0;
    if (f->dflags & SCHEMA_DF_FAST) {
        k = fast_array(w, f, arr, n);
        /* Fixed-size elements: the general path only for one that does not fit. */
        for (; k < n; k++) {
            int r = fast_value(w, f, fi, "", 0, 0, 1);
            if (r == 0)
                break;
            if (r < 0) {
                rc = r;
                break;
            }
        }
    }
    for (; k < n && rc == 0; k++) {
        uint32_t before = w->off;
        rc = is_struct ? decode_struct(w, f, "", 0) : decode_value(w, fi, "", 0, 1);
        /*
         * An element that took no bytes with the payload exhausted (a string
         * clamped at the end) is tolerated once; more such elements mean the
         * payload is shorter than the schema says.
         */
        if (rc == 0 && w->off == before && w->off == w->len && k + 1 < n)
            rc = fail(w, f, "element %llu of %llu: no bytes left", (unsigned long long)k + 2,
                      (unsigned long long)n);
    }
    event_prop_close(w->ev, arr);
    return rc;
}

/*
 * Run of SCHEMA_DF_FAST scalar fields first.. (at most count) decoded in one
 * go while the property array has room for all of them: the properties are
 * written and linked directly, which is what event_prop_add_f would do one
 * by one.  Returns how many fields were decoded; the caller takes the
 * general path from the first one left (it reports what is wrong).
 */
static uint32_t fast_run(struct walk *w, uint32_t first, uint32_t count)
{
    const struct schema_field *fields = w->s->fields;
    struct event *ev = w->ev;
    uint32_t base = ev->nprops;
    if (ev->props_cap - base < count || DECODE_MAX_PROPS - base < count || count == 0)
        return 0;
    uint32_t level = ev->depth;
    uint32_t parent = level > 0 ? ev->open[level - 1] : ETWHOST_NONE;
    struct decoder *d = w->d;
    etwhost_prop *pr = &ev->props[base];
    uint32_t k = 0;
    for (; k < count; k++, pr++) {
        const struct schema_field *f = &fields[first + k];
        if ((f->dflags & SCHEMA_DF_FAST) == 0 || f->arity != SCHEMA_ARITY_SCALAR)
            break;
        unsigned size = f->fsize == SCHEMA_FSIZE_PTR ? w->ptr : f->fsize;
        if (size > w->len - w->off)
            break;
        uint64_t v = rd_le(w->p + w->off, size);
        if ((f->dflags & SCHEMA_DF_SIGNED) && size < 8 && (v >> (size * 8 - 1)) & 1)
            v |= ~(uint64_t)0 << (size * 8);
        pr->struct_size = (uint32_t)sizeof *pr;
        pr->type = f->pt;
        pr->format = f->fmt;
        pr->num.u = v;
        pr->name_len = f->name_len;
        pr->parent = parent;
        pr->next = base + k + 1;
        pr->count = 0;
        pr->size = 0;
        pr->reserved = 0;
        pr->reserved2 = (f->dflags & SCHEMA_DF_PLAIN_NAME) ? PROP_F_NAME_PLAIN : 0;
        pr->name = f->name;
        pr->data = NULL;
        pr->map_text = NULL;
        if ((f->dflags & (SCHEMA_DF_REF | SCHEMA_DF_INT)) == (SCHEMA_DF_REF | SCHEMA_DF_INT)) {
            d->vals[first + k] = v;
            d->vals_epoch[first + k] = d->epoch;
        }
        w->off += size;
    }
    if (k == 0)
        return 0;
    ev->props[base + k - 1].next = ETWHOST_NONE;
    if (ev->last[level] != ETWHOST_NONE)
        ev->props[ev->last[level]].next = base;
    ev->last[level] = base + k - 1;
    if (level > 0)
        ev->props[parent].count += k;
    ev->nprops = base + k;
    ev->json_valid = 0;
    return k;
}

/*
 * Fields first..first+count.  Fixed-size scalars (SCHEMA_DF_FAST, most
 * fields) are decoded inline; everything else goes through decode_field.
 */
static int decode_fields(struct walk *w, uint32_t first, uint32_t count)
{
    const struct schema_field *fields = w->s->fields;
    for (uint32_t i = first; i < first + count; i++) {
        const struct schema_field *f = &fields[i];
        if ((f->dflags & SCHEMA_DF_FAST) && f->arity == SCHEMA_ARITY_SCALAR) {
            uint32_t done = fast_run(w, i, first + count - i);
            if (done > 0) {
                i += done - 1;
                continue;
            }
            int r = fast_value(w, f, i, f->name, f->name_len,
                               (f->dflags & SCHEMA_DF_PLAIN_NAME) ? PROP_F_NAME_PLAIN : 0, 0);
            if (r > 0)
                continue;
            if (r < 0)
                return r;
        }
        int rc = decode_field(w, i);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- Decoder ---------------------------------------------------------------------- */

void decoder_init(struct decoder *d, struct schema_cache *cache)
{
    memset(d, 0, sizeof *d);
    d->cache = cache;
    d->epoch = 1;
}

void decoder_free(struct decoder *d)
{
    if (d->cache)
        schema_cache_forget_borrowed(d->cache);
    for (uint32_t i = 0; i < d->nsources; i++)
        if (d->sources[i].destroy)
            d->sources[i].destroy(d->sources[i].ctx);
    mem_free(d->vals);
    mem_free(d->vals_epoch);
    memset(d, 0, sizeof *d);
}

int decoder_add_source(struct decoder *d, const struct schema_source *src)
{
    if (d->nsources >= DECODE_MAX_SOURCES)
        return ERR_RANGE;
    d->sources[d->nsources++] = *src;
    return 0;
}

/* Make room for per-field scratch of n fields and start a new epoch. */
static int scratch_prepare(struct decoder *d, uint32_t n)
{
    if (n > d->vals_cap) {
        uint32_t cap = d->vals_cap ? d->vals_cap : 64;
        while (cap < n)
            cap *= 2;
        uint64_t *v = mem_realloc(d->vals, (size_t)cap * sizeof *v);
        if (v == NULL)
            return ERR_NOMEM;
        d->vals = v;
        uint32_t *e = mem_realloc(d->vals_epoch, (size_t)cap * sizeof *e);
        if (e == NULL)
            return ERR_NOMEM;
        memset(e + d->vals_cap, 0, (size_t)(cap - d->vals_cap) * sizeof *e);
        d->vals_epoch = e;
        d->vals_cap = cap;
    }
    if (++d->epoch == 0) {
        memset(d->vals_epoch, 0, (size_t)d->vals_cap * sizeof *d->vals_epoch);
        d->epoch = 1;
    }
    return 0;
}

static void set_names(struct event *ev, const struct schema *s)
{
    if (s->provider_name)
        ev->hdr.provider_name = s->provider_name;
    if (s->event_name)
        ev->hdr.event_name = s->event_name;
    if (s->task_name)
        ev->hdr.task_name = s->task_name;
    if (s->opcode_name)
        ev->hdr.opcode_name = s->opcode_name;
}

static void finish(struct decoder *d, struct event *ev, uint16_t status)
{
    event_finish_decode(ev);
    ev->hdr.decode_status = status;
    if (status == ETWHOST_DECODE_FULL)
        d->st.full++;
    else if (status == ETWHOST_DECODE_PARTIAL)
        d->st.partial++;
    else
        d->st.none++;
}

/*
 * An event that already holds a decode result, or another record, starts
 * over; one prepared for rec (event_set_record, record-stage fields
 * attached) is kept as it is.
 */
static void ensure_header(struct decoder *d, const struct record *rec, struct event *ev)
{
    if (ev->rec != rec || ev->hdr.decode_status != ETWHOST_DECODE_PENDING)
        event_set_record(ev, rec, rec->provider_name ? rec->provider_name
                                  : d->cache ? schema_cache_record_provider_name(d->cache, rec)
                                             : NULL);
}

int decode_with_schema(struct decoder *d, const struct record *rec, const struct schema *s,
                       struct event *ev)
{
    ensure_header(d, rec, ev);
    d->st.records++;
    ev->schema = s;
    set_names(ev, s);
    if (s->error) {
        /* WPP without TMF: the header items stay visible as properties. */
        if (s->source == SCHEMA_SRC_WPP && wpp_add_header_props(rec, ev) == ERR_NOMEM)
            d->st.nomem++;
        event_set_error_str(ev, s->error);
        finish(d, ev, ETWHOST_DECODE_NONE);
        return 0;
    }
    if (scratch_prepare(d, s->nfields)) {
        d->st.nomem++;
        event_set_error(ev, "out of memory");
        finish(d, ev, ETWHOST_DECODE_NONE);
        return ERR_NOMEM;
    }
    struct walk w;
    w.d = d;
    w.s = s;
    w.ev = ev;
    w.p = rec->data;
    w.len = rec->data ? rec->data_len : 0;
    w.off = 0;
    w.ptr = (rec->evf & ETWHOST_EVF_PTR32) ? 4 : 8;
    w.err[0] = '\0';
    int rc = decode_fields(&w, 0, s->ntop);
    if (rc == 0 && w.off < w.len) {
        if (s->source == SCHEMA_SRC_TRACELOGGING) {
            snprintf(w.err, sizeof w.err, "%u bytes left after the last field (payload %u)",
                     w.len - w.off, w.len);
            rc = WALK_FAIL;
        } else {
            d->st.trailing++;
        }
    }
    if (rc) {
        if (rc == ERR_NOMEM)
            d->st.nomem++;
        event_set_error_str(ev, w.err);
        finish(d, ev, ETWHOST_DECODE_PARTIAL);
        return rc == ERR_NOMEM ? ERR_NOMEM : 0;
    }
    finish(d, ev, ETWHOST_DECODE_FULL);
    return 0;
}

/* Look the schema up; *key is filled for non-TraceLogging records. */
static const struct schema *find_schema(struct decoder *d, const struct record *rec,
                                        struct arena *arena, struct schema_key *key)
{
    memset(key, 0, sizeof *key);
    if (rec->tl_meta)
        return schema_cache_tracelogging(d->cache, rec, arena);
    schema_key_for_record(rec, key);
    const struct schema *s = schema_cache_find(d->cache, key);
    if (s)
        return (s->flags & SCHEMA_F_NEGATIVE) ? NULL : s;
    for (uint32_t i = 0; i < d->nsources; i++) {
        const struct schema *found = NULL;
        int rc = d->sources[i].lookup(d->sources[i].ctx, rec, &found);
        if (rc == 0 && found) {
            schema_cache_insert_borrowed(d->cache, key, found);
            return found;
        }
        if (rc != ERR_NOTFOUND && rc != 0)
            d->st.source_errors++;
    }
    schema_cache_insert_negative(d->cache, key);
    return NULL;
}

const struct schema *decoder_find_schema(struct decoder *d, const struct record *rec,
                                         struct arena *arena)
{
    struct schema_key key;
    return find_schema(d, rec, arena, &key);
}

/* STRING_ONLY events: the payload is one NUL-terminated UTF-16 string. */
/* An event whose payload is one UTF-16 string (EVENT_HEADER_FLAG_STRING_ONLY). */
static int is_string_only(const struct record *rec)
{
    return (rec->evf & ETWHOST_EVF_STRING_ONLY) ||
           (rec->kind == ETWHOST_HK_EVENT && (rec->hdr_flags & 0x4));
}

static int decode_string_only(struct decoder *d, const struct record *rec, struct event *ev)
{
    d->st.records++;
    uint32_t adv;
    uint32_t len = rec->data ? rec->data_len : 0;
    uint32_t bytes = scan_utf16(rec->data, len, &adv);
    uint32_t idx = event_prop_add(ev, "message", 7, ETWHOST_PT_STRING);
    if (idx == ETWHOST_NONE) {
        d->st.nomem++;
        event_set_error(ev, "out of memory");
        finish(d, ev, ETWHOST_DECODE_NONE);
        return ERR_NOMEM;
    }
    etwhost_prop *pr = &ev->props[idx];
    pr->format = ETWHOST_FMT_DEFAULT;
    pr->num.u = 0;
    pr->data = rec->data;
    pr->size = bytes;
    pr->reserved = PROP_ENC_UTF16;
    pr->map_text = NULL;
    finish(d, ev, ETWHOST_DECODE_FULL);
    return 0;
}

int decode_lookup(struct decoder *d, const struct record *rec, struct event *ev)
{
    ensure_header(d, rec, ev);
    d->st.lookups++;
    const struct schema *s = rec->schema;
    int string_only = is_string_only(rec);
    if (s == NULL && !(string_only && rec->tl_meta == NULL)) {
        struct schema_key key;
        s = find_schema(d, rec, ev->arena, &key);
    }
    if (s) {
        ev->schema = s;
        set_names(ev, s);
    }
    event_set_error_static(ev, DECODE_NOT_DECODED_TEXT);
    ev->hdr.decode_status = ETWHOST_DECODE_NONE;
    return string_only || (s != NULL && s->error == NULL);
}

int decode_record(struct decoder *d, const struct record *rec, struct event *ev)
{
    ensure_header(d, rec, ev);
    if (rec->schema) /* replay: the schema the event was archived with */
        return decode_with_schema(d, rec, rec->schema, ev);
    if (is_string_only(rec) && rec->tl_meta == NULL)
        return decode_string_only(d, rec, ev);
    struct schema_key key;
    const struct schema *s = find_schema(d, rec, ev->arena, &key);
    if (s)
        return decode_with_schema(d, rec, s, ev);
    d->st.records++;
    if (rec->tl_meta) {
        d->st.nomem++;
        event_set_error(ev, "TraceLogging metadata could not be cached (out of memory)");
        finish(d, ev, ETWHOST_DECODE_NONE);
        return ERR_NOMEM;
    }
    /* The text depends on the key and the provider name only: the last one is kept. */
    const char *name = ev->hdr.provider_name ? ev->hdr.provider_name : "";
    size_t nl = strlen(name);
    uint32_t h = (key.guid.data1 ^ (uint32_t)key.id * 0x9E3779B1u ^ (uint32_t)key.version << 7 ^
                  (uint32_t)key.opcode << 13 ^ (uint32_t)key.kind << 21) *
                 0x85EBCA6Bu;
    struct decoder_nosch *m = &d->nosch[(h >> 16) % DECODE_NOSCH_SLOTS];
    if (m->len == 0 || memcmp(&m->key, &key, sizeof key) != 0 || nl >= sizeof m->name ||
        memcmp(m->name, name, nl + 1) != 0) {
        memcpy(m->text, "no schema for ", 14);
        schema_key_describe(&key, ev->hdr.provider_name, m->text + 14, sizeof m->text - 14);
        size_t tl = strlen(m->text);
        m->key = key;
        m->len = nl < sizeof m->name ? (uint32_t)tl : 0; /* a longer name is not kept */
        if (m->len)
            memcpy(m->name, name, nl + 1);
        event_set_error_mem(ev, m->text, tl);
    } else {
        event_set_error_mem(ev, m->text, m->len);
    }
    finish(d, ev, ETWHOST_DECODE_NONE);
    return 0;
}
