/*
 * mof_kernel: the built-in MOF class table as a schema source (see
 * mof_kernel.h).
 *
 * At creation every (class, version, event type) of mof_tables.c becomes one
 * entry of a sorted index; the field text of an entry is checked once by
 * building its 64-bit schema, so a typo in the table fails loudly (in the
 * tests) instead of at the first matching event.  Schemas are then built on
 * first use per pointer size and kept until the source is destroyed.
 */
#include "mof_kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/mem.h"

#define MOF_PROVIDER "Windows Kernel"
#define MOF_PROVIDER_KTC "KernelTraceControl"

struct mof_entry {
    etwhost_guid guid;
    uint8_t version;
    uint8_t opcode;
    uint16_t cls;           /* index into mof_classes */
    const char *type_name;  /* into the table's types text */
    uint32_t type_len;
    struct schema *s;       /* built on first lookup; pointer-sized fields size at decode time */
    int failed;             /* the table entry does not build (reported once) */
};

struct mof_kernel {
    struct mof_entry *e;
    size_t n;
    struct mof_kernel_stats st;
};

static int entry_cmp(const void *a, const void *b)
{
    const struct mof_entry *x = a, *y = b;
    int c = memcmp(&x->guid, &y->guid, sizeof x->guid);
    if (c)
        return c;
    if (x->opcode != y->opcode)
        return x->opcode < y->opcode ? -1 : 1;
    if (x->version != y->version)
        return x->version < y->version ? -1 : 1;
    return 0;
}

static const char *provider_of(const struct mof_class *c)
{
    return strcmp(c->task, "ImageID") == 0 ? MOF_PROVIDER_KTC : MOF_PROVIDER;
}

/* ---- Field text -> schema ----------------------------------------------------------- */

struct mof_type {
    const char *name;
    uint16_t in, out;
};

static const struct mof_type mof_types[] = {
    {"u8", TDH_IN_UINT8, 0},          {"i8", TDH_IN_INT8, 0},
    {"u16", TDH_IN_UINT16, 0},        {"i16", TDH_IN_INT16, 0},
    {"u32", TDH_IN_UINT32, 0},        {"i32", TDH_IN_INT32, 0},
    {"u64", TDH_IN_UINT64, 0},        {"i64", TDH_IN_INT64, 0},
    {"x16", TDH_IN_UINT16, TDH_OUT_HEXINT16},
    {"x32", TDH_IN_UINT32, TDH_OUT_HEXINT32},
    {"x64", TDH_IN_UINT64, TDH_OUT_HEXINT64},
    {"ptr", TDH_IN_POINTER, 0},       {"sz", TDH_IN_WBEM_SIZET, 0},
    {"str", TDH_IN_ANSISTRING, 0},    {"wstr", TDH_IN_UNICODESTRING, 0},
    {"bin", TDH_IN_BINARY, 0},        {"sid", TDH_IN_WBEM_SID, 0},
    {"guid", TDH_IN_GUID, 0},         {"ft", TDH_IN_FILETIME, 0},
    {"bool8", TDH_IN_UINT8, TDH_OUT_BOOLEAN},
    {"ip4", TDH_IN_UINT32, TDH_OUT_IPV4},
    {"ip6", TDH_IN_BINARY, TDH_OUT_IPV6},
    {"port", TDH_IN_UINT16, TDH_OUT_PORT},
    {"wchar", TDH_IN_WBEM_UNICODECHAR, 0},
};

/* Build the schema of table class c for event type (opcode, name). */
static int build_schema(const struct mof_class *c, uint8_t opcode, const char *tname,
                        size_t tlen, struct schema **out, struct errbuf *eb)
{
    struct schema_builder b;
    schema_builder_init(&b, SCHEMA_SRC_MOF);
    etwhost_guid g;
    guid_parse(c->guid, strlen(c->guid), &g);
    b.hdr.provider = g;
    b.hdr.event_guid = g;
    b.hdr.version = c->version;
    b.hdr.opcode = opcode;
    char ev[128];
    int evn = snprintf(ev, sizeof ev, "%s/%.*s", c->task, (int)tlen, tname);
    const char *prov = provider_of(c);
    int rc = 0;
    if (schema_builder_set_name(&b, SCHEMA_NAME_PROVIDER, prov, strlen(prov)) ||
        schema_builder_set_name(&b, SCHEMA_NAME_TASK, c->task, strlen(c->task)) ||
        schema_builder_set_name(&b, SCHEMA_NAME_OPCODE, tname, tlen) ||
        schema_builder_set_name(&b, SCHEMA_NAME_EVENT, ev, (size_t)evn))
        rc = errbuf_set(eb, ERR_NOMEM, "out of memory");
    const char *p = c->fields;
    uint32_t nf = 0;
    while (rc == 0 && *p) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        const char *name = p;
        while (*p && *p != ':' && *p != ' ')
            p++;
        size_t nl = (size_t)(p - name);
        if (*p != ':' || nl == 0) {
            rc = errbuf_set(eb, ERR_FORMAT, "MOF %s v%u: field without a type", c->task,
                            c->version);
            break;
        }
        p++;
        const char *ty = p;
        while (*p && *p != ' ' && *p != '[' && *p != '@')
            p++;
        size_t tyl = (size_t)(p - ty);
        const struct mof_type *mt = NULL;
        for (size_t i = 0; i < sizeof mof_types / sizeof mof_types[0]; i++)
            if (strlen(mof_types[i].name) == tyl && memcmp(mof_types[i].name, ty, tyl) == 0)
                mt = &mof_types[i];
        if (mt == NULL) {
            rc = errbuf_set(eb, ERR_FORMAT, "MOF %s v%u: field %.*s: unknown type %.*s", c->task,
                            c->version, (int)nl, name, (int)tyl, ty);
            break;
        }
        struct schema_field f;
        memset(&f, 0, sizeof f);
        f.name = name;
        f.name_len = (uint32_t)nl;
        f.in_type = mt->in;
        f.out_type = mt->out;
        if (mt->in == TDH_IN_BINARY && mt->out == TDH_OUT_IPV6) {
            f.len_kind = SCHEMA_LEN_FIXED;
            f.length = 16;
        }
        if (*p == '[') {
            char *end;
            unsigned long v = strtoul(p + 1, &end, 10);
            if (*end != ']' || v == 0) {
                rc = errbuf_set(eb, ERR_FORMAT, "MOF %s v%u: field %.*s: bad length", c->task,
                                c->version, (int)nl, name);
                break;
            }
            f.len_kind = SCHEMA_LEN_FIXED;
            f.length = (uint32_t)v;
            p = end + 1;
        } else if (mt->in == TDH_IN_BINARY && f.len_kind == 0) {
            rc = errbuf_set(eb, ERR_FORMAT, "MOF %s v%u: field %.*s: bin needs a length",
                            c->task, c->version, (int)nl, name);
            break;
        }
        if (*p == '@') {
            p++;
            if (*p == '*') {
                f.arity = SCHEMA_ARITY_REST;
                p++;
            } else {
                const char *ref = p;
                while (*p && *p != ' ')
                    p++;
                size_t rl = (size_t)(p - ref);
                int found = -1;
                for (uint32_t i = 0; i < nf; i++) {
                    const struct schema_field *pf = schema_builder_field(&b, i);
                    const char *pn = b.pool + b.offs[i * 2] - 1;
                    if (pf && strlen(pn) == rl && memcmp(pn, ref, rl) == 0)
                        found = (int)i;
                }
                if (found < 0) {
                    rc = errbuf_set(eb, ERR_FORMAT, "MOF %s v%u: field %.*s: count field %.*s "
                                    "is not an earlier field", c->task, c->version, (int)nl, name,
                                    (int)rl, ref);
                    break;
                }
                f.arity = SCHEMA_ARITY_FIELD;
                f.count = (uint32_t)found;
            }
        }
        if (*p != '\0' && *p != ' ') {
            rc = errbuf_set(eb, ERR_FORMAT, "MOF %s v%u: field %.*s: junk after the type",
                            c->task, c->version, (int)nl, name);
            break;
        }
        int idx = schema_builder_add(&b, &f);
        if (idx < 0)
            rc = errbuf_set(eb, idx, "out of memory");
        nf++;
    }
    struct schema *s = NULL;
    if (rc == 0) {
        struct errbuf feb;
        rc = schema_builder_finish(&b, nf, NULL, &s, &feb);
        if (rc)
            errbuf_set(eb, rc, "MOF %s v%u: %s", c->task, c->version, feb.msg);
    }
    schema_builder_free(&b);
    *out = s;
    return rc;
}

/* ---- Index ----------------------------------------------------------------------------- */

int mof_kernel_new(struct schema_cache *cache, struct mof_kernel **out, struct errbuf *eb)
{
    int rc = ERR_FORMAT;
    *out = NULL;
    size_t n = 0;
    for (size_t i = 0; i < mof_nclasses; i++) {
        const char *t = mof_classes[i].types;
        while (*t) {
            while (*t == ' ')
                t++;
            if (*t == '\0')
                break;
            n++;
            while (*t && *t != ' ')
                t++;
        }
    }
    struct mof_kernel *mk = mem_calloc(1, sizeof *mk);
    struct mof_entry *e = mem_calloc(n ? n : 1, sizeof *e);
    if (mk == NULL || e == NULL) {
        mem_free(mk);
        mem_free(e);
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    }
    mk->e = e;
    size_t k = 0;
    for (size_t i = 0; i < mof_nclasses; i++) {
        const struct mof_class *c = &mof_classes[i];
        etwhost_guid g;
        if (guid_parse(c->guid, strlen(c->guid), &g)) {
            errbuf_set(eb, ERR_FORMAT, "MOF %s v%u: bad class GUID", c->task, c->version);
            goto fail;
        }
        const char *t = c->types;
        while (*t) {
            while (*t == ' ')
                t++;
            if (*t == '\0')
                break;
            char *end;
            unsigned long op = strtoul(t, &end, 10);
            if (end == t || *end != ':' || op > 255) {
                errbuf_set(eb, ERR_FORMAT, "MOF %s v%u: bad event type list", c->task,
                           c->version);
                goto fail;
            }
            const char *nm = end + 1;
            const char *ne = nm;
            while (*ne && *ne != ' ')
                ne++;
            e[k].guid = g;
            e[k].version = c->version;
            e[k].opcode = (uint8_t)op;
            e[k].cls = (uint16_t)i;
            e[k].type_name = nm;
            e[k].type_len = (uint32_t)(ne - nm);
            k++;
            t = ne;
        }
        if (cache) {
            const char *pn = provider_of(c);
            if (schema_cache_set_provider_name(cache, &g, pn, strlen(pn))) {
                rc = errbuf_set(eb, ERR_NOMEM, "out of memory");
                goto fail;
            }
        }
    }
    mk->n = k;
    qsort(e, k, sizeof *e, entry_cmp);
    for (size_t i = 0; i + 1 < k; i++) {
        if (entry_cmp(&e[i], &e[i + 1]) == 0) {
            const struct mof_class *c = &mof_classes[e[i].cls];
            errbuf_set(eb, ERR_FORMAT, "MOF %s v%u: event type %u defined twice", c->task,
                       c->version, e[i].opcode);
            goto fail;
        }
    }
    *out = mk;
    return 0;
fail:
    mof_kernel_free(mk);
    return rc;
}

static int build_entry(struct mof_kernel *mk, struct mof_entry *m, struct errbuf *eb)
{
    const struct mof_class *c = &mof_classes[m->cls];
    int rc = build_schema(c, m->opcode, m->type_name, m->type_len, &m->s, eb);
    if (rc == 0)
        mk->st.built++;
    return rc;
}

int mof_kernel_build_all(struct mof_kernel *mk, struct errbuf *eb)
{
    for (size_t i = 0; i < mk->n; i++) {
        if (mk->e[i].s)
            continue;
        int rc = build_entry(mk, &mk->e[i], eb);
        if (rc)
            return rc;
    }
    return 0;
}

void mof_kernel_free(struct mof_kernel *mk)
{
    if (mk == NULL)
        return;
    for (size_t i = 0; i < mk->n; i++)
        schema_free(mk->e[i].s);
    mem_free(mk->e);
    mem_free(mk);
}

const struct schema *mof_kernel_find(struct mof_kernel *mk, const etwhost_guid *cls,
                                     uint8_t version, uint8_t opcode, unsigned ptr_size)
{
    mk->st.lookups++;
    /* Lower bound of (cls, opcode, version + 1): the entry before it is the best match. */
    struct mof_entry key;
    memset(&key, 0, sizeof key);
    key.guid = *cls;
    key.opcode = opcode;
    size_t lo = 0, hi = mk->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct mof_entry *m = &mk->e[mid];
        int c = memcmp(&m->guid, cls, sizeof *cls);
        if (c == 0)
            c = m->opcode != opcode ? (m->opcode < opcode ? -1 : 1)
                                    : (m->version <= version ? -1 : 1);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) {
        mk->st.misses++;
        return NULL;
    }
    struct mof_entry *m = &mk->e[lo - 1];
    if (!guid_eq(&m->guid, cls) || m->opcode != opcode) {
        mk->st.misses++;
        return NULL;
    }
    if (m->s == NULL) {
        struct errbuf eb;
        if (m->failed)
            return NULL;
        if (build_entry(mk, m, &eb)) {
            m->failed = 1;
            log_error("kernel MOF table: %s (these events stay undecoded)", eb.msg);
            mk->st.misses++;
            return NULL;
        }
    }
    if (m->version != version)
        mk->st.fallbacks++;
    (void)ptr_size; /* one schema serves both: pointer fields are sized per record */
    return m->s;
}

void mof_kernel_get_stats(const struct mof_kernel *mk, struct mof_kernel_stats *out)
{
    *out = mk->st;
}

static int mk_lookup(void *ctx, const struct record *rec, const struct schema **out)
{
    switch (rec->kind) {
    case ETWHOST_HK_SYSTEM:
    case ETWHOST_HK_PERFINFO:
    case ETWHOST_HK_TRACE:
    case ETWHOST_HK_INSTANCE:
        break;
    default:
        return ERR_NOTFOUND;
    }
    const struct schema *s = mof_kernel_find(ctx, &rec->provider, rec->version, rec->opcode,
                                             (rec->evf & ETWHOST_EVF_PTR32) ? 4 : 8);
    if (s == NULL)
        return ERR_NOTFOUND;
    *out = s;
    return 0;
}

static void mk_destroy(void *ctx)
{
    mof_kernel_free(ctx);
}

int mof_kernel_source(struct schema_cache *cache, struct schema_source *src)
{
    memset(src, 0, sizeof *src);
    struct errbuf eb;
    struct mof_kernel *mk = NULL;
    int rc = mof_kernel_new(cache, &mk, &eb);
    if (rc)
        return rc;
    src->name = "mof";
    src->ctx = mk;
    src->lookup = mk_lookup;
    src->destroy = mk_destroy;
    return 0;
}
