/*
 * schema: builder, derived decode hints, maps and small helpers (see schema.h).
 */
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/mem.h"
#include "../record/record.h"

/*
 * Struct nesting deeper than this is rejected: it bounds the decoder's
 * recursion, and an array of structs at every level opens two property
 * containers per level, which must stay within EVENT_MAX_DEPTH (32).
 */
#define SCHEMA_MAX_DEPTH 15

void schema_free(struct schema *s)
{
    mem_free(s);
}

const char *schema_source_name(unsigned source)
{
    switch (source) {
    case SCHEMA_SRC_TRACELOGGING: return "tracelogging";
    case SCHEMA_SRC_TDH_EMBEDDED: return "tdh-embedded";
    case SCHEMA_SRC_MANIFEST: return "manifest";
    case SCHEMA_SRC_MOF: return "mof";
    case SCHEMA_SRC_WPP: return "wpp";
    case SCHEMA_SRC_TDH_LIVE: return "tdh-live";
    default: return "none";
    }
}

/* ---- Builder ------------------------------------------------------------------- */

void schema_builder_init(struct schema_builder *b, unsigned source)
{
    memset(b, 0, sizeof *b);
    b->hdr.source = (uint16_t)source;
}

void schema_builder_free(struct schema_builder *b)
{
    mem_free(b->fields);
    mem_free(b->offs);
    mem_free(b->pool);
    memset(b, 0, sizeof *b);
}

/* Append bytes (plus a NUL when as_str) to the pool; returns offset + 1, 0 on failure. */
static size_t pool_put(struct schema_builder *b, const void *p, size_t n, int as_str)
{
    if (b->failed)
        return 0;
    if (n > UINT32_MAX / 2) {
        b->failed = 1;
        return 0;
    }
    size_t need = b->pool_len + n + 1;
    if (need > b->pool_cap) {
        size_t cap = b->pool_cap ? b->pool_cap : 256;
        while (cap < need)
            cap *= 2;
        char *np = mem_realloc(b->pool, cap);
        if (np == NULL) {
            b->failed = 1;
            return 0;
        }
        b->pool = np;
        b->pool_cap = cap;
    }
    size_t off = b->pool_len;
    if (n)
        memcpy(b->pool + off, p, n);
    b->pool[off + n] = '\0';
    b->pool_len += n + (as_str ? 1 : 0);
    return off + 1;
}

int schema_builder_set_name(struct schema_builder *b, int which, const char *s, size_t len)
{
    if (which < 0 || which > SCHEMA_NAME_ERROR)
        return ERR_INVAL;
    size_t off = pool_put(b, s, len, 1);
    if (off == 0)
        return ERR_NOMEM;
    b->name_off[which] = off;
    return 0;
}

int schema_builder_set_tl_meta(struct schema_builder *b, const uint8_t *blob, size_t len)
{
    size_t off = pool_put(b, blob, len, 0);
    if (off == 0)
        return ERR_NOMEM;
    b->tl_meta_off = off;
    b->hdr.tl_meta_len = (uint32_t)len;
    return 0;
}

int schema_builder_add(struct schema_builder *b, const struct schema_field *f)
{
    if (b->failed)
        return ERR_NOMEM;
    if (b->nfields >= 0xFFFFu * 4) {
        b->failed = 1;
        return ERR_RANGE;
    }
    if (b->nfields == b->fields_cap) {
        size_t cap = b->fields_cap, cap2 = b->fields_cap * 2;
        if (mem_grow(&b->fields, &cap, b->nfields + 1, sizeof *b->fields) ||
            mem_grow(&b->offs, &cap2, cap * 2, sizeof *b->offs)) {
            b->failed = 1;
            return ERR_NOMEM;
        }
        b->fields_cap = cap;
    }
    size_t noff = pool_put(b, f->name ? f->name : "", f->name ? f->name_len : 0, 1);
    if (noff == 0)
        return ERR_NOMEM;
    size_t coff = 0;
    if (f->custom && f->custom_len) {
        coff = pool_put(b, f->custom, f->custom_len, 0);
        if (coff == 0)
            return ERR_NOMEM;
    }
    struct schema_field *d = &b->fields[b->nfields];
    *d = *f;
    d->name = NULL;
    d->custom = NULL;
    if (!f->custom)
        d->custom_len = 0;
    d->pt = d->fmt = d->fsize = d->dflags = 0;
    b->offs[b->nfields * 2] = noff;
    b->offs[b->nfields * 2 + 1] = coff;
    return (int)b->nfields++;
}

struct schema_field *schema_builder_field(struct schema_builder *b, uint32_t index)
{
    return index < b->nfields ? &b->fields[index] : NULL;
}

/* ---- Derived decode hints ------------------------------------------------------ */

unsigned schema_in_type_size(unsigned t, unsigned ptr)
{
    switch (t) {
    case TDH_IN_INT8: case TDH_IN_UINT8: case TDH_IN_WBEM_ANSICHAR: return 1;
    case TDH_IN_INT16: case TDH_IN_UINT16: case TDH_IN_WBEM_UNICODECHAR: return 2;
    case TDH_IN_INT32: case TDH_IN_UINT32: case TDH_IN_FLOAT: case TDH_IN_BOOLEAN:
    case TDH_IN_HEXINT32: return 4;
    case TDH_IN_INT64: case TDH_IN_UINT64: case TDH_IN_DOUBLE: case TDH_IN_FILETIME:
    case TDH_IN_HEXINT64: return 8;
    case TDH_IN_GUID: case TDH_IN_SYSTEMTIME: return 16;
    case TDH_IN_POINTER: case TDH_IN_WBEM_SIZET: return ptr;
    default: return 0;
    }
}

/*
 * 1 if fields first..first+count have distinct names (then the JSON writer
 * need not look for repeats among them).  Large groups are not checked.
 */
static int names_unique(const struct schema_field *fl, uint32_t first, uint32_t count)
{
    if (count > 256)
        return 0;
    for (uint32_t i = first; i < first + count; i++)
        for (uint32_t j = first; j < i; j++)
            if (fl[i].name_len == fl[j].name_len &&
                memcmp(fl[i].name, fl[j].name, fl[i].name_len) == 0)
                return 0;
    return 1;
}

/* 1 if s[0..n) is printable ASCII without '"' or '\\' (a JSON string as it is). */
static int is_plain_ascii(const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\')
            return 0;
    }
    return 1;
}

/*
 * SCHEMA_DF_FAST and SCHEMA_DF_PLAIN_NAME of a finished field (name set):
 * hints that let the decoder and the JSON writer skip general code for the
 * common fields.
 */
static uint8_t fast_flags(const struct schema_field *f)
{
    uint8_t fl = 0;
    unsigned in = f->in_type;
    if (in != SCHEMA_IN_STRUCT && f->fsize != 0 && in != TDH_IN_GUID && in != TDH_IN_SYSTEMTIME && in != TDH_IN_FLOAT &&
        in != TDH_IN_DOUBLE && !((f->dflags & SCHEMA_DF_INT) && f->map != NULL))
        fl |= SCHEMA_DF_FAST;
    if (is_plain_ascii(f->name, f->name_len))
        fl |= SCHEMA_DF_PLAIN_NAME;
    return fl;
}

/* Signed / unsigned property type of an integer of 'size' bytes. */
static uint8_t int_pt(unsigned size, int is_signed)
{
    switch (size) {
    case 1: return is_signed ? ETWHOST_PT_I8 : ETWHOST_PT_U8;
    case 2: return is_signed ? ETWHOST_PT_I16 : ETWHOST_PT_U16;
    case 4: return is_signed ? ETWHOST_PT_I32 : ETWHOST_PT_U32;
    default: return is_signed ? ETWHOST_PT_I64 : ETWHOST_PT_U64;
    }
}

/*
 * Fill pt/fmt/fsize/dflags of f from its in- and out-type.  Returns 0, or
 * ERR_FORMAT for an in-type the decoder cannot size.
 */
static int field_derive(struct schema_field *f)
{
    unsigned in = f->in_type, out = f->out_type;
    f->fmt = ETWHOST_FMT_DEFAULT;
    f->dflags = 0;
    f->fsize = 0;
    switch (in) {
    case SCHEMA_IN_STRUCT:
        f->pt = ETWHOST_PT_STRUCT;
        return 0;
    case TDH_IN_UNICODESTRING: case TDH_IN_ANSISTRING:
    case TDH_IN_COUNTEDSTRING: case TDH_IN_COUNTEDANSISTRING:
    case TDH_IN_WBEM_COUNTEDSTRING: case TDH_IN_WBEM_COUNTEDANSISTRING:
    case TDH_IN_WBEM_REVERSEDCOUNTEDSTRING: case TDH_IN_WBEM_REVERSEDCOUNTEDANSISTRING:
    case TDH_IN_WBEM_NONNULLTERMINATEDSTRING: case TDH_IN_WBEM_NONNULLTERMINATEDANSISTRING:
        f->pt = ETWHOST_PT_STRING;
        if (out == TDH_OUT_XML)
            f->fmt = ETWHOST_FMT_XML;
        else if (out == TDH_OUT_JSON)
            f->fmt = ETWHOST_FMT_JSON;
        return 0;
    case TDH_IN_INT8: case TDH_IN_UINT8: case TDH_IN_INT16: case TDH_IN_UINT16:
    case TDH_IN_INT32: case TDH_IN_UINT32: case TDH_IN_INT64: case TDH_IN_UINT64:
    case TDH_IN_HEXINT32: case TDH_IN_HEXINT64: {
        unsigned size = schema_in_type_size(in, 8);
        int sgn = in == TDH_IN_INT8 || in == TDH_IN_INT16 || in == TDH_IN_INT32 ||
                  in == TDH_IN_INT64;
        f->fsize = (uint8_t)size;
        f->dflags = SCHEMA_DF_INT;
        if (in == TDH_IN_HEXINT32 || in == TDH_IN_HEXINT64)
            f->fmt = ETWHOST_FMT_HEX;
        switch (out) {
        case TDH_OUT_BYTE: case TDH_OUT_SHORT: case TDH_OUT_INT: case TDH_OUT_LONG:
            sgn = 1;
            break;
        case TDH_OUT_UNSIGNEDBYTE: case TDH_OUT_UNSIGNEDSHORT: case TDH_OUT_UNSIGNEDINT:
        case TDH_OUT_UNSIGNEDLONG:
            sgn = 0;
            break;
        case TDH_OUT_HEXINT8: case TDH_OUT_HEXINT16: case TDH_OUT_HEXINT32:
        case TDH_OUT_HEXINT64: case TDH_OUT_HEXBINARY:
            sgn = 0;
            f->fmt = ETWHOST_FMT_HEX;
            break;
        case TDH_OUT_BOOLEAN:
            f->pt = ETWHOST_PT_BOOL;
            f->fmt = ETWHOST_FMT_BOOL;
            return 0;
        case TDH_OUT_PID: f->fmt = ETWHOST_FMT_PID; break;
        case TDH_OUT_TID: f->fmt = ETWHOST_FMT_TID; break;
        case TDH_OUT_PORT:
            if (size == 2) {
                f->fmt = ETWHOST_FMT_PORT; /* value kept as recorded (network order) */
                sgn = 0;
            }
            break;
        case TDH_OUT_IPV4:
            if (size == 4) {
                f->fmt = ETWHOST_FMT_IPV4;
                sgn = 0;
            }
            break;
        case TDH_OUT_ERRORCODE: case TDH_OUT_WIN32ERROR: f->fmt = ETWHOST_FMT_WIN32ERROR; break;
        case TDH_OUT_NTSTATUS: f->fmt = ETWHOST_FMT_NTSTATUS; sgn = 0; break;
        case TDH_OUT_HRESULT: f->fmt = ETWHOST_FMT_HRESULT; break;
        case TDH_OUT_STRING:
            if (size <= 2)
                f->fmt = ETWHOST_FMT_CHAR;
            break;
        case TDH_OUT_DATETIME: case TDH_OUT_CULTURE_INSENSITIVE_DATETIME:
        case TDH_OUT_DATETIME_UTC:
            if (size == 8) {
                f->pt = ETWHOST_PT_FILETIME;
                return 0;
            }
            break;
        case TDH_OUT_CODE_POINTER:
            if (size >= 4) {
                f->pt = ETWHOST_PT_POINTER;
                f->fmt = ETWHOST_FMT_HEX;
                return 0;
            }
            break;
        default:
            break;
        }
        if (sgn)
            f->dflags |= SCHEMA_DF_SIGNED;
        f->pt = int_pt(size, sgn);
        return 0;
    }
    case TDH_IN_FLOAT: f->pt = ETWHOST_PT_F32; f->fsize = 4; return 0;
    case TDH_IN_DOUBLE: f->pt = ETWHOST_PT_F64; f->fsize = 8; return 0;
    case TDH_IN_BOOLEAN: f->pt = ETWHOST_PT_BOOL; f->fsize = 4; f->fmt = ETWHOST_FMT_BOOL; return 0;
    case TDH_IN_BINARY: case TDH_IN_COUNTEDBINARY: case TDH_IN_WBEM_HEXDUMP:
        f->pt = ETWHOST_PT_BINARY;
        if (out == TDH_OUT_IPV6)
            f->fmt = ETWHOST_FMT_IPV6;
        else if (out == TDH_OUT_SOCKETADDRESS)
            f->fmt = ETWHOST_FMT_SOCKADDR;
        return 0;
    case TDH_IN_GUID: f->pt = ETWHOST_PT_GUID; f->fsize = 16; return 0;
    case TDH_IN_POINTER:
        f->pt = ETWHOST_PT_POINTER;
        f->fsize = SCHEMA_FSIZE_PTR;
        f->fmt = ETWHOST_FMT_HEX;
        f->dflags = SCHEMA_DF_INT;
        return 0;
    case TDH_IN_WBEM_SIZET:
        f->pt = ETWHOST_PT_U64;
        f->fsize = SCHEMA_FSIZE_PTR;
        f->dflags = SCHEMA_DF_INT;
        if (out == TDH_OUT_HEXINT32 || out == TDH_OUT_HEXINT64)
            f->fmt = ETWHOST_FMT_HEX;
        return 0;
    case TDH_IN_FILETIME: f->pt = ETWHOST_PT_FILETIME; f->fsize = 8; return 0;
    case TDH_IN_SYSTEMTIME: f->pt = ETWHOST_PT_SYSTEMTIME; f->fsize = 16; return 0;
    case TDH_IN_SID: case TDH_IN_WBEM_SID: f->pt = ETWHOST_PT_SID; return 0;
    case TDH_IN_WBEM_UNICODECHAR:
        f->pt = ETWHOST_PT_U16; f->fsize = 2; f->fmt = ETWHOST_FMT_CHAR;
        f->dflags = SCHEMA_DF_INT;
        return 0;
    case TDH_IN_WBEM_ANSICHAR:
        f->pt = ETWHOST_PT_U8; f->fsize = 1; f->fmt = ETWHOST_FMT_CHAR;
        f->dflags = SCHEMA_DF_INT;
        return 0;
    default:
        return ERR_FORMAT;
    }
}

/* ---- Finish ------------------------------------------------------------------------ */

/*
 * Check struct ranges: members lie after their struct, inside the array,
 * and every field below ntop is reached at most once.  Depth-first with an
 * explicit bound so hostile metadata cannot recurse without end.
 */
static int check_struct(const struct schema_field *fl, uint32_t n, uint32_t idx, int depth,
                        struct errbuf *eb)
{
    const struct schema_field *f = &fl[idx];
    if (depth > SCHEMA_MAX_DEPTH)
        return errbuf_set(eb, ERR_FORMAT, "structs nested deeper than %d at field %u",
                          SCHEMA_MAX_DEPTH, idx);
    if (f->nmembers == 0)
        return errbuf_set(eb, ERR_FORMAT, "struct field %u (%s) has no members", idx,
                          f->name);
    if (f->first <= idx || f->first > n || f->nmembers > n - f->first)
        return errbuf_set(eb, ERR_FORMAT,
                          "struct field %u (%s) members [%u, +%u) outside the %u fields", idx,
                          f->name, f->first, f->nmembers, n);
    for (uint32_t i = f->first; i < f->first + f->nmembers; i++) {
        if (fl[i].in_type == SCHEMA_IN_STRUCT) {
            int rc = check_struct(fl, n, i, depth + 1, eb);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Check the count/length reference of field i. */
static int check_ref(const struct schema_field *fl, uint32_t i, uint32_t ref, const char *what,
                     struct errbuf *eb)
{
    if (ref >= i)
        return errbuf_set(eb, ERR_FORMAT, "field %u (%s): %s field %u is not an earlier field",
                          i, fl[i].name, what, ref);
    if (!(fl[ref].dflags & SCHEMA_DF_INT) || fl[ref].arity != SCHEMA_ARITY_SCALAR)
        return errbuf_set(eb, ERR_FORMAT, "field %u (%s): %s field %u (%s) is not an integer",
                          i, fl[i].name, what, ref, fl[ref].name);
    return 0;
}

int schema_builder_finish(struct schema_builder *b, uint32_t ntop, struct arena *arena,
                          struct schema **out, struct errbuf *eb)
{
    *out = NULL;
    if (b->failed)
        return errbuf_set(eb, ERR_NOMEM, "out of memory while building a schema");
    uint32_t n = (uint32_t)b->nfields;
    if (ntop > n)
        return errbuf_set(eb, ERR_FORMAT, "%u top-level fields but only %u fields", ntop, n);
    for (uint32_t i = 0; i < n; i++) {
        struct schema_field *f = &b->fields[i];
        const char *nm = b->pool + b->offs[i * 2] - 1;
        if (field_derive(f))
            return errbuf_set(eb, ERR_FORMAT, "field %u (%s): unsupported in-type %u", i, nm,
                              f->in_type);
        if (f->arity > SCHEMA_ARITY_REST || f->len_kind > SCHEMA_LEN_FIELD)
            return errbuf_set(eb, ERR_FORMAT, "field %u (%s): bad arity/length kind", i, nm);
        if (f->arity == SCHEMA_ARITY_REST && (f->fsize == 0 || f->in_type == SCHEMA_IN_STRUCT))
            return errbuf_set(eb, ERR_FORMAT, "field %u (%s): an array to the payload end needs "
                              "fixed-size values", i, nm);
    }
    /* Reference checks need names: patch temporary name pointers in. */
    for (uint32_t i = 0; i < n; i++)
        b->fields[i].name = b->pool + b->offs[i * 2] - 1;
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        const struct schema_field *f = &b->fields[i];
        if (f->in_type == SCHEMA_IN_STRUCT && i < ntop)
            rc = check_struct(b->fields, n, i, 0, eb);
        if (rc == 0 && f->arity == SCHEMA_ARITY_FIELD)
            rc = check_ref(b->fields, i, f->count, "count", eb);
        if (rc == 0 && f->len_kind == SCHEMA_LEN_FIELD)
            rc = check_ref(b->fields, i, f->length, "length", eb);
    }
    for (uint32_t i = 0; i < n; i++)
        b->fields[i].name = NULL;
    if (rc)
        return rc;

    size_t hdr_sz = (sizeof(struct schema) + 15) & ~(size_t)15;
    size_t fld_sz = (size_t)n * sizeof(struct schema_field);
    size_t total = hdr_sz + fld_sz + b->pool_len + 1;
    if (total > UINT32_MAX)
        return errbuf_set(eb, ERR_RANGE, "schema too large (%zu bytes)", total);
    unsigned char *mem = arena ? arena_alloc(arena, total) : mem_alloc(total);
    if (mem == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory while building a schema");
    struct schema *s = (struct schema *)mem;
    struct schema_field *fl = (struct schema_field *)(mem + hdr_sz);
    char *pool = (char *)(mem + hdr_sz + fld_sz);
    if (b->pool_len)
        memcpy(pool, b->pool, b->pool_len);
    pool[b->pool_len] = '\0';
    *s = b->hdr;
    s->alloc_size = (uint32_t)total;
    const char **names[9] = {&s->provider_name, &s->event_name,    &s->task_name,
                             &s->opcode_name,   &s->level_name,    &s->keywords_name,
                             &s->channel_name,  &s->message,       &s->error};
    for (int i = 0; i < 9; i++)
        *names[i] = b->name_off[i] ? pool + b->name_off[i] - 1 : NULL;
    s->tl_meta = b->tl_meta_off ? (const uint8_t *)pool + b->tl_meta_off - 1 : NULL;
    if (!s->tl_meta)
        s->tl_meta_len = 0;
    for (uint32_t i = 0; i < n; i++) {
        fl[i] = b->fields[i];
        fl[i].name = pool + b->offs[i * 2] - 1;
        fl[i].name_len = (uint32_t)strlen(fl[i].name);
        fl[i].custom = b->offs[i * 2 + 1] ? (const uint8_t *)pool + b->offs[i * 2 + 1] - 1 : NULL;
        fl[i].dflags |= fast_flags(&fl[i]);
    }
    /* References were checked above: count and length indexes are valid. */
    for (uint32_t i = 0; i < n; i++) {
        if (fl[i].arity == SCHEMA_ARITY_FIELD)
            fl[fl[i].count].dflags |= SCHEMA_DF_REF;
        if (fl[i].len_kind == SCHEMA_LEN_FIELD)
            fl[fl[i].length].dflags |= SCHEMA_DF_REF;
    }
    s->fields = fl;
    s->nfields = n;
    s->ntop = ntop;
    s->sdflags = 0;
    int unique = names_unique(fl, 0, ntop);
    for (uint32_t i = 0; i < n && unique; i++)
        if (fl[i].in_type == SCHEMA_IN_STRUCT)
            unique = names_unique(fl, fl[i].first, fl[i].nmembers);
    if (unique)
        s->sdflags |= SCHEMA_SDF_UNIQUE_NAMES;
    const char *hn[4] = {s->provider_name, s->event_name, s->task_name, s->opcode_name};
    s->hname_plain = 0;
    for (int k = 0; k < 4; k++) {
        size_t len = hn[k] ? strlen(hn[k]) : 0;
        s->hname_len[k] = len > UINT32_MAX ? 0 : (uint32_t)len;
        if (hn[k] && len <= UINT32_MAX && is_plain_ascii(hn[k], len))
            s->hname_plain |= 1u << k;
    }
    *out = s;
    return 0;
}

/* ---- Maps ------------------------------------------------------------------------ */

static int entry_cmp(const void *a, const void *b)
{
    const struct schema_map_entry *x = a, *y = b;
    return x->value < y->value ? -1 : x->value > y->value;
}

int schema_map_new(const char *name, size_t name_len, unsigned kind, const uint64_t *values,
                   const char *const *labels, const size_t *label_lens, uint32_t count,
                   struct schema_map **out)
{
    *out = NULL;
    size_t strings = name_len + 1;
    for (uint32_t i = 0; i < count; i++)
        strings += label_lens[i] + 1;
    size_t total = sizeof(struct schema_map) + (size_t)count * sizeof(struct schema_map_entry) +
                   strings;
    unsigned char *mem = mem_alloc(total);
    if (mem == NULL)
        return ERR_NOMEM;
    struct schema_map *m = (struct schema_map *)mem;
    struct schema_map_entry *e = (struct schema_map_entry *)(mem + sizeof *m);
    char *p = (char *)(e + count);
    memcpy(p, name, name_len);
    p[name_len] = '\0';
    m->name = p;
    p += name_len + 1;
    for (uint32_t i = 0; i < count; i++) {
        size_t l = label_lens[i];
        while (l > 0 && (labels[i][l - 1] == ' ' || labels[i][l - 1] == '\t'))
            l--;
        memcpy(p, labels[i], l);
        p[l] = '\0';
        e[i].value = values[i];
        e[i].label = p;
        p += l + 1;
    }
    if (kind == SCHEMA_MAP_VALUE && count > 1)
        qsort(e, count, sizeof *e, entry_cmp);
    m->kind = kind;
    m->count = count;
    m->entries = e;
    *out = m;
    return 0;
}

const char *schema_map_lookup(const struct schema_map *m, uint64_t value)
{
    uint32_t lo = 0, hi = m->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint64_t v = m->entries[mid].value;
        if (v == value)
            return m->entries[mid].label;
        if (v < value)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t schema_map_format(const struct schema_map *m, uint64_t value, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    out[0] = '\0';
    if (m->kind == SCHEMA_MAP_VALUE) {
        const char *l = schema_map_lookup(m, value);
        if (l == NULL)
            return 0;
        size_t n = strlen(l);
        if (n >= cap)
            n = cap - 1;
        memcpy(out, l, n);
        out[n] = '\0';
        return n;
    }
    size_t len = 0;
    for (uint32_t i = 0; i < m->count; i++) {
        uint64_t mask = m->entries[i].value;
        int hit = mask == 0 ? value == 0 : (value & mask) == mask;
        if (!hit)
            continue;
        const char *l = m->entries[i].label;
        size_t n = strlen(l);
        size_t sep = len ? 3 : 0;
        if (len + sep + n >= cap)
            break;
        if (sep)
            memcpy(out + len, " | ", 3);
        memcpy(out + len + sep, l, n);
        len += sep + n;
        out[len] = '\0';
    }
    return len;
}

/* ---- Text helpers ------------------------------------------------------------------ */

size_t schema_utf16_to_utf8(const uint8_t *u, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = (uint32_t)u[i * 2] | (uint32_t)u[i * 2 + 1] << 8;
        if (c >= 0xD800 && c < 0xDC00 && i + 1 < n) {
            uint32_t d = (uint32_t)u[i * 2 + 2] | (uint32_t)u[i * 2 + 3] << 8;
            if (d >= 0xDC00 && d < 0xE000) {
                c = 0x10000 + ((c - 0xD800) << 10) + (d - 0xDC00);
                i++;
            } else {
                c = 0xFFFD;
            }
        } else if (c >= 0xD800 && c < 0xE000) {
            c = 0xFFFD;
        }
        char tmp[4];
        size_t k;
        if (c < 0x80) {
            tmp[0] = (char)c;
            k = 1;
        } else if (c < 0x800) {
            tmp[0] = (char)(0xC0 | c >> 6);
            tmp[1] = (char)(0x80 | (c & 0x3F));
            k = 2;
        } else if (c < 0x10000) {
            tmp[0] = (char)(0xE0 | c >> 12);
            tmp[1] = (char)(0x80 | ((c >> 6) & 0x3F));
            tmp[2] = (char)(0x80 | (c & 0x3F));
            k = 3;
        } else {
            tmp[0] = (char)(0xF0 | c >> 18);
            tmp[1] = (char)(0x80 | ((c >> 12) & 0x3F));
            tmp[2] = (char)(0x80 | ((c >> 6) & 0x3F));
            tmp[3] = (char)(0x80 | (c & 0x3F));
            k = 4;
        }
        if (cap && len + k < cap)
            memcpy(out + len, tmp, k);
        len += k;
    }
    if (cap)
        out[len < cap ? len : cap - 1] = '\0';
    return len;
}

const char *schema_in_type_name(unsigned t)
{
    static const char *const names[] = {
        "Null", "UnicodeString", "AnsiString", "Int8", "UInt8", "Int16", "UInt16", "Int32",
        "UInt32", "Int64", "UInt64", "Float", "Double", "Boolean", "Binary", "GUID", "Pointer",
        "FILETIME", "SYSTEMTIME", "SID", "HexInt32", "HexInt64", "CountedString",
        "CountedAnsiString", "Struct24", "CountedBinary"};
    static const char *const wbem[] = {
        "CountedStringW", "CountedAnsiStringW", "ReversedCountedString",
        "ReversedCountedAnsiString", "NonNullTerminatedString", "NonNullTerminatedAnsiString",
        "UnicodeChar", "AnsiChar", "SizeT", "HexDump", "WbemSID"};
    if (t == SCHEMA_IN_STRUCT)
        return "Struct";
    if (t < sizeof names / sizeof names[0])
        return names[t];
    if (t >= 300 && t <= 310)
        return wbem[t - 300];
    return "?";
}

const char *schema_out_type_name(unsigned t)
{
    static const char *const names[] = {
        "Null", "String", "DateTime", "Byte", "UnsignedByte", "Short", "UnsignedShort", "Int",
        "UnsignedInt", "Long", "UnsignedLong", "Float", "Double", "Boolean", "GUID",
        "HexBinary", "HexInt8", "HexInt16", "HexInt32", "HexInt64", "PID", "TID", "Port",
        "IPv4", "IPv6", "SocketAddress", "CIMDateTime", "ETWTIME", "Xml", "ErrorCode",
        "Win32Error", "NTSTATUS", "HResult", "CultureInsensitiveDateTime", "Json", "Utf8",
        "Pkcs7WithTypeInfo", "CodePointer", "DateTimeUtc"};
    if (t < sizeof names / sizeof names[0])
        return names[t];
    if (t == TDH_OUT_REDUCEDSTRING)
        return "ReducedString";
    if (t == TDH_OUT_NOPRINT)
        return "NoPrint";
    return "?";
}

void schema_describe(const struct schema *s, char *out, size_t cap)
{
    if (cap == 0)
        return;
    size_t len = 0;
    out[0] = '\0';
#define APPEND(...)                                                         \
    do {                                                                    \
        if (len < cap) {                                                    \
            int w_ = snprintf(out + len, cap - len, __VA_ARGS__);           \
            if (w_ > 0)                                                     \
                len += (size_t)w_ < cap - len ? (size_t)w_ : cap - len - 1; \
        }                                                                   \
    } while (0)
    char g[37];
    guid_format(&s->provider, g);
    APPEND("%s provider=%s {%s} event=%s id=%u v%u op=%u task=%u fields=%u top=%u\n",
           schema_source_name(s->source), s->provider_name ? s->provider_name : "", g,
           s->event_name ? s->event_name : "", s->id, s->version, s->opcode, s->task,
           s->nfields, s->ntop);
    for (uint32_t i = 0; i < s->nfields; i++) {
        const struct schema_field *f = &s->fields[i];
        APPEND("  [%u] %s %s/%s", i, f->name, schema_in_type_name(f->in_type),
               schema_out_type_name(f->out_type));
        if (f->in_type == SCHEMA_IN_STRUCT)
            APPEND(" members=[%u,+%u)", f->first, f->nmembers);
        switch (f->arity) {
        case SCHEMA_ARITY_FIXED: APPEND(" count=%u", f->count); break;
        case SCHEMA_ARITY_FIELD: APPEND(" count=@%u", f->count); break;
        case SCHEMA_ARITY_TL_VCOUNT: APPEND(" count=vcount"); break;
        case SCHEMA_ARITY_CUSTOM: APPEND(" custom(%u)", f->custom_len); break;
        case SCHEMA_ARITY_REST: APPEND(" count=rest"); break;
        default: break;
        }
        if (f->len_kind == SCHEMA_LEN_FIXED)
            APPEND(" length=%u", f->length);
        else if (f->len_kind == SCHEMA_LEN_FIELD)
            APPEND(" length=@%u", f->length);
        if (f->map)
            APPEND(" map=%s%s", f->map->name, f->map->map ? "" : "(unresolved)");
        if (f->tags)
            APPEND(" tags=0x%x", f->tags);
        APPEND("\n");
    }
#undef APPEND
}
