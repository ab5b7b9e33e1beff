/*
 * tracelogging: TraceLogging metadata -> schema (see tracelogging.h).
 */
#include "tracelogging.h"

#include <string.h>

#include "../core/mem.h"

/* One field as it appears in the blob (pre-order). */
struct tl_raw {
    const char *name;
    uint32_t name_len;
    uint8_t in;    /* InMeta & 0x1F */
    uint8_t arity; /* InMeta & 0x60 */
    uint8_t out;   /* OutMeta & 0x7F (member count for structs) */
    uint8_t has_out;
    uint32_t tags;
    uint16_t ccount;
    const uint8_t *custom;
    uint16_t custom_len;
    uint32_t offset; /* of the name, for messages */
};

/* A queued group of siblings for the breadth-first re-layout. */
struct tl_group {
    int32_t parent; /* new index of the struct, -1 for top level */
    uint32_t pre;   /* pre-order index of the first sibling */
    uint32_t count; /* number of siblings */
};

unsigned tl_out_to_tdh(unsigned out, unsigned in)
{
    unsigned size = 0;
    switch (in) {
    case 3: case 4: size = 1; break;
    case 5: case 6: size = 2; break;
    case 7: case 8: case 13: case 20: size = 4; break;
    case 9: case 10: case 21: size = 8; break;
    default: break;
    }
    switch (out) {
    case 0: return TDH_OUT_NULL;
    case 1: return TDH_OUT_NOPRINT;
    case 2: return TDH_OUT_STRING;
    case 3: return TDH_OUT_BOOLEAN;
    case 4:
        switch (size) {
        case 1: return TDH_OUT_HEXINT8;
        case 2: return TDH_OUT_HEXINT16;
        case 4: return TDH_OUT_HEXINT32;
        case 8: return TDH_OUT_HEXINT64;
        default: return TDH_OUT_HEXBINARY;
        }
    case 5: return TDH_OUT_PID;
    case 6: return TDH_OUT_TID;
    case 7: return TDH_OUT_PORT;
    case 8: return TDH_OUT_IPV4;
    case 9: return TDH_OUT_IPV6;
    case 10: return TDH_OUT_SOCKETADDRESS;
    case 11: return TDH_OUT_XML;
    case 12: return TDH_OUT_JSON;
    case 13: return TDH_OUT_WIN32ERROR;
    case 14: return TDH_OUT_NTSTATUS;
    case 15: return TDH_OUT_HRESULT;
    case 16: return TDH_OUT_DATETIME;
    case 17:
        switch (size) {
        case 1: return TDH_OUT_BYTE;
        case 2: return TDH_OUT_SHORT;
        case 4: return TDH_OUT_INT;
        case 8: return TDH_OUT_LONG;
        default: return TDH_OUT_NULL;
        }
    case 18:
        switch (size) {
        case 1: return TDH_OUT_UNSIGNEDBYTE;
        case 2: return TDH_OUT_UNSIGNEDSHORT;
        case 4: return TDH_OUT_UNSIGNEDINT;
        case 8: return TDH_OUT_UNSIGNEDLONG;
        default: return TDH_OUT_NULL;
        }
    case 33: return TDH_OUT_CULTURE_INSENSITIVE_DATETIME;
    case 35: return TDH_OUT_UTF8;
    case 36: return TDH_OUT_PKCS7_WITH_TYPE_INFO;
    case 37: return TDH_OUT_CODE_POINTER;
    case 38: return TDH_OUT_DATETIME_UTC;
    default: return TDH_OUT_NULL; /* unknown hints fall back to the in-type's default */
    }
}

/* Read continuation-encoded tags at *off (at most 4 bytes = 28 bits). */
static int read_tags(const uint8_t *p, size_t end, size_t *off, uint32_t *tags,
                     struct errbuf *eb)
{
    uint32_t t = 0;
    int shift = 21;
    for (int i = 0;; i++) {
        if (*off >= end)
            return errbuf_set(eb, ERR_FORMAT, "TraceLogging metadata: tags run past the end "
                              "at offset %zu", *off);
        if (i == 4)
            return errbuf_set(eb, ERR_FORMAT, "TraceLogging metadata: tags longer than 4 bytes "
                              "at offset %zu", *off);
        uint8_t b = p[(*off)++];
        t |= (uint32_t)(b & 0x7F) << shift;
        shift -= 7;
        if (!(b & 0x80))
            break;
    }
    *tags = t;
    return 0;
}

/* NUL-terminated UTF-8 string at *off; fails if no NUL before end. */
static int read_cstr(const uint8_t *p, size_t end, size_t *off, const char **s, uint32_t *len,
                     const char *what, struct errbuf *eb)
{
    size_t o = *off;
    const uint8_t *z = o < end ? memchr(p + o, 0, end - o) : NULL;
    if (z == NULL)
        return errbuf_set(eb, ERR_FORMAT, "TraceLogging metadata: %s at offset %zu has no "
                          "terminating NUL", what, o);
    *s = (const char *)p + o;
    *len = (uint32_t)(z - (p + o));
    *off = (size_t)(z - p) + 1;
    return 0;
}

int tl_traits_name(const uint8_t *blob, size_t len, const char **name, size_t *name_len)
{
    if (len < 3)
        return ERR_FORMAT;
    size_t size = (size_t)blob[0] | (size_t)blob[1] << 8;
    if (size < 3 || size > len)
        return ERR_FORMAT;
    const uint8_t *z = memchr(blob + 2, 0, size - 2);
    if (z == NULL)
        return ERR_FORMAT;
    *name = (const char *)blob + 2;
    *name_len = (size_t)(z - (blob + 2));
    return 0;
}

/* Parse the field list of the blob into raw[] (pre-order); *n gets the count. */
static int parse_fields(const uint8_t *p, size_t size, size_t off, struct tl_raw *raw,
                        uint32_t cap, uint32_t *n, struct errbuf *eb)
{
    uint32_t k = 0;
    while (off < size) {
        if (k == cap)
            return errbuf_set(eb, ERR_FORMAT, "TraceLogging metadata: too many fields");
        struct tl_raw *r = &raw[k];
        memset(r, 0, sizeof *r);
        r->offset = (uint32_t)off;
        int rc = read_cstr(p, size, &off, &r->name, &r->name_len, "field name", eb);
        if (rc)
            return rc;
        if (off >= size)
            return errbuf_set(eb, ERR_FORMAT, "TraceLogging metadata: field '%.*s' at offset "
                              "%u has no type byte", (int)r->name_len, r->name, r->offset);
        uint8_t in = p[off++];
        r->in = in & 0x1F;
        r->arity = in & 0x60;
        if (in & 0x80) {
            if (off >= size)
                return errbuf_set(eb, ERR_FORMAT, "TraceLogging metadata: field '%.*s' misses "
                                  "its OutMeta byte", (int)r->name_len, r->name);
            uint8_t om = p[off++];
            r->out = om & 0x7F;
            r->has_out = 1;
            if (om & 0x80) {
                rc = read_tags(p, size, &off, &r->tags, eb);
                if (rc)
                    return rc;
            }
        }
        if (r->arity == 0x20 || r->arity == 0x60) {
            if (off + 2 > size)
                return errbuf_set(eb, ERR_FORMAT, "TraceLogging metadata: field '%.*s' misses "
                                  "its %s", (int)r->name_len, r->name,
                                  r->arity == 0x20 ? "count" : "custom size");
            uint16_t v = (uint16_t)(p[off] | p[off + 1] << 8);
            off += 2;
            if (r->arity == 0x20) {
                r->ccount = v;
            } else {
                if (v > size - off)
                    return errbuf_set(eb, ERR_FORMAT, "TraceLogging metadata: custom schema of "
                                      "field '%.*s' (%u bytes) runs past the end",
                                      (int)r->name_len, r->name, v);
                r->custom = p + off;
                r->custom_len = v;
                off += v;
            }
        }
        if (r->in == 0 || (r->in > 25 && r->in != TL_IN_STRUCT))
            return errbuf_set(eb, ERR_FORMAT, "TraceLogging metadata: field '%.*s' has "
                              "unsupported in-type %u", (int)r->name_len, r->name, r->in);
        if (r->in == TL_IN_STRUCT) {
            if (r->out == 0)
                return errbuf_set(eb, ERR_FORMAT, "TraceLogging metadata: struct '%.*s' has "
                                  "no members", (int)r->name_len, r->name);
            if (r->arity == 0x60)
                return errbuf_set(eb, ERR_FORMAT, "TraceLogging metadata: struct '%.*s' "
                                  "cannot be custom", (int)r->name_len, r->name);
        }
        k++;
    }
    *n = k;
    return 0;
}

int tl_parse_meta(const uint8_t *blob, size_t len, const etwhost_guid *provider,
                  const char *provider_name, struct arena *arena, struct schema **out,
                  struct errbuf *eb)
{
    *out = NULL;
    if (len < 3)
        return errbuf_set(eb, ERR_FORMAT, "TraceLogging metadata: %zu bytes is too short", len);
    size_t size = (size_t)blob[0] | (size_t)blob[1] << 8;
    if (size < 3 || size > len)
        return errbuf_set(eb, ERR_FORMAT, "TraceLogging metadata: size %zu does not fit the "
                          "%zu bytes given", size, len);
    size_t off = 2;
    uint32_t etags = 0;
    int rc = read_tags(blob, size, &off, &etags, eb);
    if (rc)
        return rc;
    const char *ename = "";
    uint32_t ename_len = 0;
    rc = read_cstr(blob, size, &off, &ename, &ename_len, "event name", eb);
    if (rc)
        return rc;

    /* Every field takes at least 2 bytes (empty name + InMeta). */
    uint32_t cap = (uint32_t)((size - off) / 2 + 1);
    struct tl_raw *raw = mem_calloc(cap, sizeof *raw);
    uint32_t *end = mem_calloc(cap + 1, sizeof *end);
    struct tl_group *queue = mem_calloc(cap + 1, sizeof *queue);
    struct schema_builder b;
    schema_builder_init(&b, SCHEMA_SRC_TRACELOGGING);
    uint32_t n = 0;
    if (raw == NULL || end == NULL || queue == NULL) {
        rc = errbuf_set(eb, ERR_NOMEM, "out of memory parsing TraceLogging metadata");
        goto done;
    }
    rc = parse_fields(blob, size, off, raw, cap, &n, eb);
    if (rc)
        goto done;

    /*
     * end[i] = pre-order index after field i and all its descendants,
     * computed backwards so each struct only walks already-known subtrees.
     */
    for (uint32_t i = n; i-- > 0;) {
        if (raw[i].in != TL_IN_STRUCT) {
            end[i] = i + 1;
            continue;
        }
        uint32_t j = i + 1;
        for (uint32_t m = 0; m < raw[i].out; m++) {
            if (j >= n) {
                rc = errbuf_set(eb, ERR_FORMAT, "TraceLogging metadata: struct '%.*s' declares "
                                "%u members but only %u fields follow", (int)raw[i].name_len,
                                raw[i].name, raw[i].out, n - i - 1);
                goto done;
            }
            j = end[j];
        }
        end[i] = j;
    }

    /* Breadth-first re-layout: each sibling group becomes a contiguous range. */
    uint32_t qh = 0, qt = 0, next = 0, ntop = 0;
    {
        uint32_t cnt = 0;
        for (uint32_t i = 0; i < n; i = end[i])
            cnt++;
        queue[qt++] = (struct tl_group){-1, 0, cnt};
        ntop = cnt;
    }
    while (qh < qt) {
        struct tl_group g = queue[qh++];
        uint32_t start = next;
        uint32_t i = g.pre;
        for (uint32_t m = 0; m < g.count; m++) {
            const struct tl_raw *r = &raw[i];
            struct schema_field f;
            memset(&f, 0, sizeof f);
            f.name = r->name;
            f.name_len = r->name_len;
            f.tags = r->tags;
            if (r->tags)
                f.flags |= SCHEMA_FF_HAS_TAGS;
            if (r->in == TL_IN_STRUCT) {
                f.in_type = SCHEMA_IN_STRUCT;
                f.nmembers = r->out;
            } else if (r->arity == 0x60) {
                f.in_type = TDH_IN_COUNTEDBINARY;
                f.custom = r->custom;
                f.custom_len = r->custom_len;
            } else if (r->in == TL_IN_BINARY) {
                f.in_type = TDH_IN_COUNTEDBINARY;
                f.flags |= SCHEMA_FF_TL_BINARY;
                f.out_type = (uint16_t)tl_out_to_tdh(r->out, r->in);
            } else {
                f.in_type = r->in;
                f.out_type = (uint16_t)tl_out_to_tdh(r->out, r->in);
            }
            switch (r->arity) {
            case 0x20: f.arity = SCHEMA_ARITY_FIXED; f.count = r->ccount; break;
            case 0x40: f.arity = SCHEMA_ARITY_TL_VCOUNT; break;
            case 0x60: f.arity = SCHEMA_ARITY_CUSTOM; break;
            default: f.arity = SCHEMA_ARITY_SCALAR; break;
            }
            int idx = schema_builder_add(&b, &f);
            if (idx < 0) {
                rc = errbuf_set(eb, idx, "out of memory parsing TraceLogging metadata");
                goto done;
            }
            next++;
            if (r->in == TL_IN_STRUCT)
                queue[qt++] = (struct tl_group){idx, i + 1, r->out};
            i = end[i];
        }
        if (g.parent >= 0)
            schema_builder_field(&b, (uint32_t)g.parent)->first = start;
    }

    b.hdr.provider = *provider;
    b.hdr.tags = etags;
    rc = schema_builder_set_name(&b, SCHEMA_NAME_EVENT, ename, ename_len);
    if (rc == 0 && provider_name)
        rc = schema_builder_set_name(&b, SCHEMA_NAME_PROVIDER, provider_name,
                                     strlen(provider_name));
    if (rc == 0)
        rc = schema_builder_set_tl_meta(&b, blob, len);
    if (rc) {
        rc = errbuf_set(eb, rc, "out of memory parsing TraceLogging metadata");
        goto done;
    }
    rc = schema_builder_finish(&b, ntop, arena, out, eb);
    if (rc == ERR_FORMAT)
        errbuf_prefix(eb, "TraceLogging metadata: ");
done:
    schema_builder_free(&b);
    mem_free(raw);
    mem_free(end);
    mem_free(queue);
    return rc;
}
