/*
 * tdh_embedded: TRACE_EVENT_INFO / EVENT_MAP_INFO <-> schema model
 * (see tdh_embedded.h).
 */
#include "tdh_embedded.h"

#include <stdlib.h>
#include <string.h>

#include "../core/mem.h"

const etwhost_guid tdh_metadata_class_guid = {
    0xbbccf6c1u, 0x6cd1u, 0x48c4u, {0x80, 0xff, 0x83, 0x94, 0x82, 0xe3, 0x76, 0x71}};

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * UTF-16 string at blob offset 'off' converted to UTF-8 in tmp (reset
 * first).  *units gets the UTF-16 length without the NUL, so callers can
 * walk string lists.  Offset 0 means "none": *s = NULL.  A string without
 * a NUL before the end of the blob is an error.
 */
static int blob_wstr(const uint8_t *b, size_t len, uint32_t off, struct buf *tmp,
                     const char **s, size_t *slen, size_t *units, const char *what,
                     struct errbuf *eb)
{
    *s = NULL;
    *slen = 0;
    if (units)
        *units = 0;
    if (off == 0)
        return 0;
    if (off >= len)
        return errbuf_set(eb, ERR_FORMAT, "%s offset 0x%x outside the %zu-byte blob", what, off,
                          len);
    size_t n = 0;
    for (;;) {
        size_t o = (size_t)off + n * 2;
        if (o + 2 > len)
            return errbuf_set(eb, ERR_FORMAT, "%s at offset 0x%x has no terminating NUL",
                              what, off);
        if (b[o] == 0 && b[o + 1] == 0)
            break;
        n++;
    }
    size_t need = schema_utf16_to_utf8(b + off, n, NULL, 0);
    buf_reset(tmp);
    if (buf_reserve(tmp, need + 1))
        return errbuf_set(eb, ERR_NOMEM, "out of memory reading %s", what);
    schema_utf16_to_utf8(b + off, n, tmp->p, need + 1);
    tmp->len = need;
    *s = tmp->p;
    *slen = need;
    if (units)
        *units = n;
    return 0;
}

/* Set an event-level name from a blob offset. */
static int set_wname(struct schema_builder *sb, int which, const uint8_t *b, size_t len,
                     uint32_t off, struct buf *tmp, const char *what, struct errbuf *eb)
{
    const char *s;
    size_t sl;
    int rc = blob_wstr(b, len, off, tmp, &s, &sl, NULL, what, eb);
    if (rc || s == NULL)
        return rc;
    if (schema_builder_set_name(sb, which, s, sl))
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    return 0;
}

/* KeywordsName is a list of strings ended by an empty one; joined with ",". */
static int set_keywords(struct schema_builder *sb, const uint8_t *b, size_t len, uint32_t off,
                        struct buf *tmp, struct errbuf *eb)
{
    if (off == 0)
        return 0;
    struct buf all = BUF_INIT;
    int rc = 0;
    for (int i = 0; i < 64 && off < len; i++) {
        const char *s;
        size_t sl, units;
        rc = blob_wstr(b, len, off, tmp, &s, &sl, &units, "keyword name", eb);
        if (rc || sl == 0)
            break;
        if ((all.len && buf_putc(&all, ',')) || buf_append(&all, s, sl)) {
            rc = errbuf_set(eb, ERR_NOMEM, "out of memory");
            break;
        }
        off += (uint32_t)(units + 1) * 2;
    }
    if (rc == 0 && all.len && schema_builder_set_name(sb, SCHEMA_NAME_KEYWORDS, all.p, all.len))
        rc = errbuf_set(eb, ERR_NOMEM, "out of memory");
    buf_free(&all);
    return rc;
}

/* In-types whose size a TDH 'length' describes. */
static int has_length(unsigned in)
{
    return in == TDH_IN_UNICODESTRING || in == TDH_IN_ANSISTRING || in == TDH_IN_BINARY;
}

int tdh_parse_event_info(const uint8_t *b, size_t len, unsigned source,
                         struct schema_cache *cache, struct schema **out,
                         struct schema_key *key, struct errbuf *eb)
{
    *out = NULL;
    memset(key, 0, sizeof *key);
    if (len < TDH_EVENT_INFO_HEADER)
        return errbuf_set(eb, ERR_FORMAT, "TRACE_EVENT_INFO of %zu bytes is shorter than its "
                          "0x70-byte header", len);
    uint32_t ds = rd32(b + 0x30);
    uint32_t pc = rd32(b + 0x64), tpc = rd32(b + 0x68), tflags = rd32(b + 0x6C);
    if (ds == TDH_DECODING_WPP || ds == TDH_DECODING_TLG)
        return errbuf_set(eb, ERR_UNSUPPORTED, "TRACE_EVENT_INFO with decoding source %u "
                          "(WPP/TraceLogging) is not used", ds);
    if (ds != TDH_DECODING_XMLFILE && ds != TDH_DECODING_WBEM)
        return errbuf_set(eb, ERR_FORMAT, "TRACE_EVENT_INFO: unknown decoding source %u", ds);
    if (pc > 0xFFFF || (uint64_t)pc * TDH_PROPERTY_INFO_SIZE > len - TDH_EVENT_INFO_HEADER)
        return errbuf_set(eb, ERR_FORMAT, "TRACE_EVENT_INFO: %u properties do not fit the "
                          "%zu-byte blob", pc, len);
    if (tpc > pc)
        return errbuf_set(eb, ERR_FORMAT, "TRACE_EVENT_INFO: %u top-level properties of %u",
                          tpc, pc);

    struct schema_builder sb;
    schema_builder_init(&sb, source ? source : SCHEMA_SRC_TDH_EMBEDDED);
    struct buf tmp = BUF_INIT;
    int rc = 0;
    guid_read(&sb.hdr.provider, b);
    guid_read(&sb.hdr.event_guid, b + 0x10);
    sb.hdr.id = rd16(b + 0x20);
    sb.hdr.version = b[0x22];
    sb.hdr.channel = b[0x23];
    sb.hdr.level = b[0x24];
    sb.hdr.opcode = b[0x25];
    sb.hdr.task = rd16(b + 0x26);
    sb.hdr.keywords = (uint64_t)rd32(b + 0x28) | (uint64_t)rd32(b + 0x2C) << 32;
    sb.hdr.tags = tflags >> 4;

    static const struct {
        uint32_t off;
        int which;
        const char *what;
    } names[] = {
        {0x34, SCHEMA_NAME_PROVIDER, "provider name"}, {0x38, SCHEMA_NAME_LEVEL, "level name"},
        {0x3C, SCHEMA_NAME_CHANNEL, "channel name"},   {0x44, SCHEMA_NAME_TASK, "task name"},
        {0x48, SCHEMA_NAME_OPCODE, "opcode name"},     {0x4C, SCHEMA_NAME_MESSAGE, "message"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0] && rc == 0; i++)
        rc = set_wname(&sb, names[i].which, b, len, rd32(b + names[i].off), &tmp,
                       names[i].what, eb);
    /* 0x5C is EventNameOffset for manifest infos, ActivityIDNameOffset for WBEM ones. */
    if (rc == 0 && ds == TDH_DECODING_XMLFILE)
        rc = set_wname(&sb, SCHEMA_NAME_EVENT, b, len, rd32(b + 0x5C), &tmp, "event name", eb);
    if (rc == 0)
        rc = set_keywords(&sb, b, len, rd32(b + 0x40), &tmp, eb);

    for (uint32_t i = 0; i < pc && rc == 0; i++) {
        const uint8_t *p = b + TDH_EVENT_INFO_HEADER + (size_t)i * TDH_PROPERTY_INFO_SIZE;
        uint32_t fl = rd32(p);
        struct schema_field f;
        memset(&f, 0, sizeof f);
        const char *nm;
        size_t nl;
        rc = blob_wstr(b, len, rd32(p + 4), &tmp, &nm, &nl, NULL, "property name", eb);
        if (rc)
            break;
        f.name = nm ? nm : "";
        f.name_len = (uint32_t)nl;
        uint16_t cnt = rd16(p + 16), lng = rd16(p + 18);
        if (fl & TDH_PROP_STRUCT) {
            f.in_type = SCHEMA_IN_STRUCT;
            f.first = rd16(p + 8);
            f.nmembers = rd16(p + 10);
        } else {
            f.in_type = rd16(p + 8);
            f.out_type = rd16(p + 10);
            if (has_length(f.in_type)) {
                if (fl & TDH_PROP_PARAM_LENGTH) {
                    f.len_kind = SCHEMA_LEN_FIELD;
                    f.length = lng;
                } else if ((fl & TDH_PROP_PARAM_FIXED_LENGTH) || lng > 0) {
                    f.len_kind = SCHEMA_LEN_FIXED;
                    f.length = lng;
                }
            }
        }
        if (fl & TDH_PROP_PARAM_COUNT) {
            f.arity = SCHEMA_ARITY_FIELD;
            f.count = cnt;
        } else if ((fl & TDH_PROP_PARAM_FIXED_COUNT) || cnt > 1) {
            f.arity = SCHEMA_ARITY_FIXED;
            f.count = cnt;
        }
        if (fl & TDH_PROP_HAS_TAGS) {
            f.tags = rd32(p + 20) & 0x0FFFFFFFu;
            f.flags |= SCHEMA_FF_HAS_TAGS;
        }
        int idx = schema_builder_add(&sb, &f);
        if (idx < 0) {
            rc = errbuf_set(eb, idx, "out of memory");
            break;
        }
        uint32_t mapoff = rd32(p + 12);
        if (!(fl & (TDH_PROP_STRUCT | TDH_PROP_HAS_CUSTOM_SCHEMA)) && mapoff && cache) {
            const char *mn;
            size_t ml;
            rc = blob_wstr(b, len, mapoff, &tmp, &mn, &ml, NULL, "map name", eb);
            if (rc)
                break;
            struct schema_map_slot *slot = schema_cache_map_slot(cache, &sb.hdr.provider, mn, ml);
            if (slot == NULL) {
                rc = errbuf_set(eb, ERR_NOMEM, "out of memory");
                break;
            }
            schema_builder_field(&sb, (uint32_t)idx)->map = slot;
        }
    }
    if (rc == 0) {
        rc = schema_builder_finish(&sb, tpc, NULL, out, eb);
        if (rc == ERR_FORMAT)
            errbuf_prefix(eb, "TRACE_EVENT_INFO: ");
    }
    if (rc == 0) {
        if (ds == TDH_DECODING_WBEM) {
            key->kind = SCHEMA_KEY_CLASSIC;
            key->guid = (*out)->event_guid;
            key->opcode = (*out)->opcode;
        } else {
            key->kind = SCHEMA_KEY_MANIFEST;
            key->guid = (*out)->provider;
            key->id = (*out)->id;
        }
        key->version = (*out)->version;
    }
    schema_builder_free(&sb);
    buf_free(&tmp);
    return rc;
}

/* Parse a WBEM ValueMap string ("5", "-1", "0x10") as an integer. */
static int parse_int_text(const char *s, uint64_t *v)
{
    char *end;
    while (*s == ' ')
        s++;
    if (*s == '-') {
        long long x = strtoll(s, &end, 0);
        *v = (uint64_t)(uint32_t)(int32_t)x;
    } else {
        *v = strtoull(s, &end, 0);
    }
    return end != s;
}

int tdh_parse_map_info(const uint8_t *b, size_t len, struct schema_map **out,
                       struct errbuf *eb)
{
    *out = NULL;
    if (len < TDH_MAP_INFO_HEADER)
        return errbuf_set(eb, ERR_FORMAT, "EVENT_MAP_INFO of %zu bytes is shorter than its "
                          "16-byte header", len);
    uint32_t flag = rd32(b + 4), n = rd32(b + 8), vt = rd32(b + 12);
    if ((uint64_t)n * 8 > len - TDH_MAP_INFO_HEADER)
        return errbuf_set(eb, ERR_FORMAT, "EVENT_MAP_INFO: %u entries do not fit the %zu-byte "
                          "blob", n, len);
    if (flag & TDH_MAP_MANIFEST_PATTERNMAP)
        return errbuf_set(eb, ERR_UNSUPPORTED, "EVENT_MAP_INFO: pattern maps are not used");
    int bitmap = (flag & (TDH_MAP_MANIFEST_BITMAP | TDH_MAP_WBEM_BITMAP)) ||
                 ((flag & TDH_MAP_WBEM_VALUEMAP) && (flag & TDH_MAP_WBEM_FLAG));
    int nomap = (flag & TDH_MAP_WBEM_NO_MAP) != 0;
    int strvals = !nomap && vt == 1;

    struct buf tmp = BUF_INIT, names = BUF_INIT;
    uint64_t *values = mem_calloc(n ? n : 1, sizeof *values);
    size_t *offs = mem_calloc(n ? n : 1, sizeof *offs);
    size_t *lens = mem_calloc(n ? n : 1, sizeof *lens);
    const char **labels = mem_calloc(n ? n : 1, sizeof *labels);
    char *mapname = NULL;
    size_t mapname_len = 0;
    uint32_t k = 0;
    int rc = 0;
    if (values == NULL || offs == NULL || lens == NULL || labels == NULL) {
        rc = errbuf_set(eb, ERR_NOMEM, "out of memory");
        goto done;
    }
    const char *s;
    size_t sl;
    rc = blob_wstr(b, len, rd32(b), &tmp, &s, &sl, NULL, "map name", eb);
    if (rc)
        goto done;
    mapname = mem_strndup(s ? s : "", sl);
    mapname_len = sl;
    if (mapname == NULL) {
        rc = errbuf_set(eb, ERR_NOMEM, "out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = b + TDH_MAP_INFO_HEADER + (size_t)i * 8;
        uint64_t v;
        if (nomap) {
            if (bitmap && i >= 64)
                continue;
            v = bitmap ? (uint64_t)1 << i : i;
        } else if (strvals) {
            rc = blob_wstr(b, len, rd32(e + 4), &tmp, &s, &sl, NULL, "map input", eb);
            if (rc)
                goto done;
            if (s == NULL || !parse_int_text(s, &v))
                continue;
        } else {
            v = rd32(e + 4);
        }
        rc = blob_wstr(b, len, rd32(e), &tmp, &s, &sl, NULL, "map label", eb);
        if (rc)
            goto done;
        offs[k] = names.len;
        lens[k] = sl;
        values[k] = v;
        if (buf_append(&names, s ? s : "", sl)) {
            rc = errbuf_set(eb, ERR_NOMEM, "out of memory");
            goto done;
        }
        k++;
    }
    for (uint32_t i = 0; i < k; i++)
        labels[i] = names.p + offs[i];
    rc = schema_map_new(mapname, mapname_len, bitmap ? SCHEMA_MAP_BITMAP : SCHEMA_MAP_VALUE,
                        values, labels, lens, k, out);
    if (rc)
        errbuf_set(eb, rc, "out of memory");
done:
    mem_free(values);
    mem_free(offs);
    mem_free(lens);
    mem_free(labels);
    mem_free(mapname);
    buf_free(&tmp);
    buf_free(&names);
    return rc;
}

/* ---- Serialisation ------------------------------------------------------------------ */

static void wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void wrguid(uint8_t *p, const etwhost_guid *g)
{
    wr32(p, g->data1);
    wr16(p + 4, g->data2);
    wr16(p + 6, g->data3);
    memcpy(p + 8, g->data4, 8);
}

/* Append utf8 as NUL-terminated UTF-16LE (invalid bytes become U+FFFD). */
static int put_wstr(struct buf *out, const char *s, int extra_nul)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t c = *p, need = 0;
        if (c < 0x80) need = 0;
        else if ((c & 0xE0) == 0xC0) { c &= 0x1F; need = 1; }
        else if ((c & 0xF0) == 0xE0) { c &= 0x0F; need = 2; }
        else if ((c & 0xF8) == 0xF0) { c &= 0x07; need = 3; }
        else { c = 0xFFFD; need = 0; }
        p++;
        for (uint32_t i = 0; i < need; i++) {
            if ((*p & 0xC0) != 0x80) {
                c = 0xFFFD;
                break;
            }
            c = c << 6 | (*p++ & 0x3F);
        }
        uint8_t u[4];
        size_t n = 2;
        if (c >= 0x10000 && c <= 0x10FFFF) {
            c -= 0x10000;
            wr16(u, 0xD800 + (c >> 10));
            wr16(u + 2, 0xDC00 + (c & 0x3FF));
            n = 4;
        } else {
            wr16(u, c > 0x10FFFF ? 0xFFFD : c);
        }
        if (buf_append(out, u, n))
            return ERR_NOMEM;
    }
    static const uint8_t z[4];
    return buf_append(out, z, extra_nul ? 4 : 2);
}

/* Append a string and patch its offset (relative to base) at blob position 'at'. */
static int put_named(struct buf *out, size_t base, size_t at, const char *s, int extra_nul)
{
    if (s == NULL)
        return 0;
    size_t off = out->len - base;
    if (off > UINT32_MAX)
        return ERR_RANGE;
    int rc = put_wstr(out, s, extra_nul);
    if (rc)
        return rc;
    wr32((uint8_t *)out->p + base + at, (uint32_t)off);
    return 0;
}

int tdhinfo_build(const struct schema *s, unsigned ds, struct buf *out)
{
    size_t base = out->len;
    size_t fixed = TDH_EVENT_INFO_HEADER + (size_t)s->nfields * TDH_PROPERTY_INFO_SIZE;
    for (uint32_t i = 0; i < s->nfields; i++) {
        const struct schema_field *f = &s->fields[i];
        /* TraceLogging variable counts, custom fields, arrays to the payload end. */
        if (f->arity > SCHEMA_ARITY_FIELD)
            return ERR_UNSUPPORTED;
        if (f->first > 0xFFFF || f->nmembers > 0xFFFF || f->count > 0xFFFF ||
            f->length > 0xFFFF)
            return ERR_RANGE;
    }
    if (s->nfields > 0xFFFF)
        return ERR_RANGE;
    int rc = buf_reserve(out, fixed);
    if (rc)
        return rc;
    memset(out->p + base, 0, fixed);
    out->len += fixed;
    uint8_t *h = (uint8_t *)out->p + base;
    wrguid(h, &s->provider);
    wrguid(h + 0x10, &s->event_guid);
    wr16(h + 0x20, s->id);
    h[0x22] = s->version;
    h[0x23] = s->channel;
    h[0x24] = s->level;
    h[0x25] = s->opcode;
    wr16(h + 0x26, s->task);
    wr32(h + 0x28, (uint32_t)s->keywords);
    wr32(h + 0x2C, (uint32_t)(s->keywords >> 32));
    wr32(h + 0x30, ds);
    wr32(h + 0x64, s->nfields);
    wr32(h + 0x68, s->ntop);
    wr32(h + 0x6C, (s->tags & 0x0FFFFFFFu) << 4);
    for (uint32_t i = 0; i < s->nfields; i++) {
        const struct schema_field *f = &s->fields[i];
        uint8_t *p = (uint8_t *)out->p + base + TDH_EVENT_INFO_HEADER + (size_t)i * 24;
        uint32_t fl = 0;
        uint32_t cnt = 1, lng = 0;
        if (f->in_type == SCHEMA_IN_STRUCT) {
            fl |= TDH_PROP_STRUCT;
            wr16(p + 8, f->first);
            wr16(p + 10, f->nmembers);
        } else {
            wr16(p + 8, f->in_type);
            wr16(p + 10, f->out_type);
            lng = schema_in_type_size(f->in_type, 8);
        }
        if (f->arity == SCHEMA_ARITY_FIELD) {
            fl |= TDH_PROP_PARAM_COUNT;
            cnt = f->count;
        } else if (f->arity == SCHEMA_ARITY_FIXED) {
            fl |= TDH_PROP_PARAM_FIXED_COUNT;
            cnt = f->count;
        }
        if (f->len_kind == SCHEMA_LEN_FIELD) {
            fl |= TDH_PROP_PARAM_LENGTH;
            lng = f->length;
        } else if (f->len_kind == SCHEMA_LEN_FIXED) {
            fl |= TDH_PROP_PARAM_FIXED_LENGTH;
            lng = f->length;
        }
        if (f->flags & SCHEMA_FF_HAS_TAGS) {
            fl |= TDH_PROP_HAS_TAGS;
            wr32(p + 20, f->tags & 0x0FFFFFFFu);
        }
        wr32(p, fl);
        wr16(p + 16, cnt);
        wr16(p + 18, lng);
    }
    /* Strings after the fixed part; 'out' may move, so offsets are re-derived each time. */
    rc = put_named(out, base, 0x34, s->provider_name, 0);
    if (rc == 0) rc = put_named(out, base, 0x38, s->level_name, 0);
    if (rc == 0) rc = put_named(out, base, 0x3C, s->channel_name, 0);
    if (rc == 0) rc = put_named(out, base, 0x40, s->keywords_name, 1);
    if (rc == 0) rc = put_named(out, base, 0x44, s->task_name, 0);
    if (rc == 0) rc = put_named(out, base, 0x48, s->opcode_name, 0);
    if (rc == 0) rc = put_named(out, base, 0x4C, s->message, 0);
    if (rc == 0 && ds != TDH_DECODING_WBEM)
        rc = put_named(out, base, 0x5C, s->event_name, 0);
    for (uint32_t i = 0; i < s->nfields && rc == 0; i++) {
        const struct schema_field *f = &s->fields[i];
        size_t at = TDH_EVENT_INFO_HEADER + (size_t)i * 24;
        rc = put_named(out, base, at + 4, f->name, 0);
        if (rc == 0 && f->map && f->in_type != SCHEMA_IN_STRUCT)
            rc = put_named(out, base, at + 12, f->map->name, 0);
    }
    if (rc)
        out->len = base;
    return rc;
}

int tdhmap_build(const struct schema_map *m, struct buf *out)
{
    size_t base = out->len;
    size_t fixed = TDH_MAP_INFO_HEADER + (size_t)m->count * 8;
    for (uint32_t i = 0; i < m->count; i++)
        if (m->entries[i].value > UINT32_MAX)
            return ERR_RANGE;
    int rc = buf_reserve(out, fixed);
    if (rc)
        return rc;
    memset(out->p + base, 0, fixed);
    out->len += fixed;
    uint8_t *h = (uint8_t *)out->p + base;
    wr32(h + 4, m->kind == SCHEMA_MAP_BITMAP ? TDH_MAP_MANIFEST_BITMAP
                                             : TDH_MAP_MANIFEST_VALUEMAP);
    wr32(h + 8, m->count);
    for (uint32_t i = 0; i < m->count; i++)
        wr32(h + TDH_MAP_INFO_HEADER + (size_t)i * 8 + 4, (uint32_t)m->entries[i].value);
    rc = put_named(out, base, 0, m->name, 0);
    for (uint32_t i = 0; i < m->count && rc == 0; i++)
        rc = put_named(out, base, TDH_MAP_INFO_HEADER + (size_t)i * 8, m->entries[i].label, 0);
    if (rc)
        out->len = base;
    return rc;
}
