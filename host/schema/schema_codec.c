/*
 * schema_codec: the portable schema encoding and its cache (see schema_codec.h).
 *
 * Layout (little-endian; "str" is u32 length + 1 followed by the bytes, 0
 * meaning NULL):
 *   u8 version (1), u8 0, u16 source, u16 flags, u16 0,
 *   guid provider, guid event_guid (16 bytes each, Windows file layout),
 *   u16 id, u8 version, u8 channel, u8 level, u8 opcode, u16 task,
 *   u64 keywords, u32 tags,
 *   9 x str: provider, event, task, opcode, level, keywords, channel, message, error,
 *   u32 nfields, u32 ntop,
 *   per field: str name, u16 in_type, u16 out_type, u8 arity, u8 len_kind, u16 flags,
 *              u32 count, u32 length, u32 first, u32 nmembers, u32 tags,
 *              u32 custom_len + bytes,
 *              u8 map (0 none, 1 slot without a map yet, 2 slot with map),
 *              [str slot name], [str map name, u32 kind, u32 count, count x (u64, str)],
 *   u32 tl_meta_len + bytes.
 */
#include "schema_codec.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "../core/mem.h"
#include "../record/record.h"

/* ---- Encoding ----------------------------------------------------------- */

static int put(struct buf *b, const void *p, size_t n) { return buf_append(b, p, n); }

static int put_u8(struct buf *b, unsigned v)
{
    uint8_t x = (uint8_t)v;
    return put(b, &x, 1);
}
static int put_u16(struct buf *b, unsigned v)
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    return put(b, x, 2);
}
static int put_u32(struct buf *b, uint32_t v)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    return put(b, x, 4);
}
static int put_u64(struct buf *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    return put(b, x, 8);
}
static int put_guid(struct buf *b, const etwhost_guid *g)
{
    int rc = put_u32(b, g->data1);
    rc = rc ? rc : put_u16(b, g->data2);
    rc = rc ? rc : put_u16(b, g->data3);
    return rc ? rc : put(b, g->data4, 8);
}
static int put_strn(struct buf *b, const char *s, size_t n)
{
    if (s == NULL)
        return put_u32(b, 0);
    if (n >= 0xFFFFFFF0u)
        return ERR_RANGE;
    int rc = put_u32(b, (uint32_t)n + 1);
    return rc ? rc : put(b, s, n);
}
static int put_str(struct buf *b, const char *s) { return put_strn(b, s, s ? strlen(s) : 0); }

int schema_encode(const struct schema *s, struct buf *out)
{
    size_t start = out->len;
    int rc = put_u8(out, SCHEMA_ENC_VERSION);
    rc = rc ? rc : put_u8(out, 0);
    rc = rc ? rc : put_u16(out, s->source);
    rc = rc ? rc : put_u16(out, s->flags);
    rc = rc ? rc : put_u16(out, 0);
    rc = rc ? rc : put_guid(out, &s->provider);
    rc = rc ? rc : put_guid(out, &s->event_guid);
    rc = rc ? rc : put_u16(out, s->id);
    rc = rc ? rc : put_u8(out, s->version);
    rc = rc ? rc : put_u8(out, s->channel);
    rc = rc ? rc : put_u8(out, s->level);
    rc = rc ? rc : put_u8(out, s->opcode);
    rc = rc ? rc : put_u16(out, s->task);
    rc = rc ? rc : put_u64(out, s->keywords);
    rc = rc ? rc : put_u32(out, s->tags);
    const char *names[9] = {s->provider_name, s->event_name,    s->task_name,
                            s->opcode_name,   s->level_name,    s->keywords_name,
                            s->channel_name,  s->message,       s->error};
    for (int i = 0; i < 9 && rc == 0; i++)
        rc = put_str(out, names[i]);
    rc = rc ? rc : put_u32(out, s->nfields);
    rc = rc ? rc : put_u32(out, s->ntop);
    for (uint32_t i = 0; i < s->nfields && rc == 0; i++) {
        const struct schema_field *f = &s->fields[i];
        rc = put_strn(out, f->name ? f->name : "", f->name ? f->name_len : 0);
        rc = rc ? rc : put_u16(out, f->in_type);
        rc = rc ? rc : put_u16(out, f->out_type);
        rc = rc ? rc : put_u8(out, f->arity);
        rc = rc ? rc : put_u8(out, f->len_kind);
        rc = rc ? rc : put_u16(out, f->flags);
        rc = rc ? rc : put_u32(out, f->count);
        rc = rc ? rc : put_u32(out, f->length);
        rc = rc ? rc : put_u32(out, f->first);
        rc = rc ? rc : put_u32(out, f->nmembers);
        rc = rc ? rc : put_u32(out, f->tags);
        uint32_t cl = f->custom ? f->custom_len : 0;
        rc = rc ? rc : put_u32(out, cl);
        rc = rc || cl == 0 ? rc : put(out, f->custom, cl);
        if (rc)
            break;
        const struct schema_map *m = f->map ? f->map->map : NULL;
        rc = put_u8(out, f->map == NULL ? 0 : m == NULL ? 1 : 2);
        if (rc == 0 && f->map)
            rc = put_str(out, f->map->name ? f->map->name : "");
        if (rc == 0 && m) {
            rc = put_str(out, m->name ? m->name : "");
            rc = rc ? rc : put_u32(out, m->kind);
            rc = rc ? rc : put_u32(out, m->count);
            for (uint32_t k = 0; k < m->count && rc == 0; k++) {
                rc = put_u64(out, m->entries[k].value);
                rc = rc ? rc : put_str(out, m->entries[k].label);
            }
        }
    }
    uint32_t tl = s->tl_meta ? s->tl_meta_len : 0;
    rc = rc ? rc : put_u32(out, tl);
    rc = rc || tl == 0 ? rc : put(out, s->tl_meta, tl);
    if (rc)
        out->len = start;
    return rc;
}

/* A 64-bit hash (multiply-xorshift over 8-byte words); not cryptographic. */
uint64_t schema_content_id(const uint8_t *p, size_t len)
{
    const uint64_t k1 = 0x9E3779B97F4A7C15ull, k2 = 0xC2B2AE3D27D4EB4Full;
    uint64_t h = 0x27D4EB2F165667C5ull ^ (len * k1);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w = 0;
        for (int j = 0; j < 8; j++)
            w |= (uint64_t)p[i + j] << (8 * j);
        w *= k2;
        w ^= w >> 31;
        h = (h ^ w) * k1;
        h ^= h >> 29;
    }
    uint64_t w = 0;
    for (int j = 0; i < len; i++, j++)
        w |= (uint64_t)p[i] << (8 * j);
    h = (h ^ (w * k2)) * k1;
    h ^= h >> 32;
    h *= k2;
    h ^= h >> 29;
    return h ? h : 1;
}

/* ---- Decoding ------------------------------------------------------------ */

struct rd {
    const uint8_t *p;
    size_t len, off;
    int bad;
};

static const uint8_t *take(struct rd *r, size_t n)
{
    if (r->bad || n > r->len - r->off) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *q = r->p + r->off;
    r->off += n;
    return q;
}
static uint64_t get_n(struct rd *r, unsigned n)
{
    const uint8_t *q = take(r, n);
    uint64_t v = 0;
    for (unsigned i = 0; q && i < n; i++)
        v |= (uint64_t)q[i] << (8 * i);
    return v;
}
static void get_guid(struct rd *r, etwhost_guid *g)
{
    const uint8_t *q = take(r, 16);
    if (q)
        guid_read(g, q);
}
/* A string: *s NULL for a NULL string; *n its length. */
static void get_str(struct rd *r, const char **s, size_t *n)
{
    uint32_t l = (uint32_t)get_n(r, 4);
    *s = NULL;
    *n = 0;
    if (l == 0 || r->bad)
        return;
    const uint8_t *q = take(r, l - 1);
    if (q) {
        *s = (const char *)q;
        *n = l - 1;
    }
}

static char *arena_str(struct arena *a, const char *s, size_t n)
{
    return arena_dup(a, s ? s : "", n, 1);
}

int schema_decode(const uint8_t *p, size_t len, struct arena *arena, struct schema **out,
                  struct errbuf *eb)
{
    *out = NULL;
    struct rd r = {p, len, 0, 0};
    if (get_n(&r, 1) != SCHEMA_ENC_VERSION)
        return errbuf_set(eb, ERR_FORMAT, "schema encoding version is not %u", SCHEMA_ENC_VERSION);
    get_n(&r, 1);
    unsigned source = (unsigned)get_n(&r, 2);
    struct schema_builder b;
    schema_builder_init(&b, source);
    b.hdr.flags = (uint16_t)get_n(&r, 2);
    get_n(&r, 2);
    get_guid(&r, &b.hdr.provider);
    get_guid(&r, &b.hdr.event_guid);
    b.hdr.id = (uint16_t)get_n(&r, 2);
    b.hdr.version = (uint8_t)get_n(&r, 1);
    b.hdr.channel = (uint8_t)get_n(&r, 1);
    b.hdr.level = (uint8_t)get_n(&r, 1);
    b.hdr.opcode = (uint8_t)get_n(&r, 1);
    b.hdr.task = (uint16_t)get_n(&r, 2);
    b.hdr.keywords = get_n(&r, 8);
    b.hdr.tags = (uint32_t)get_n(&r, 4);
    int rc = 0;
    for (int i = 0; i < 9 && !r.bad && rc == 0; i++) {
        const char *s;
        size_t n;
        get_str(&r, &s, &n);
        if (s)
            rc = schema_builder_set_name(&b, i, s, n);
    }
    uint32_t nfields = (uint32_t)get_n(&r, 4), ntop = (uint32_t)get_n(&r, 4);
    /* Each field takes at least 37 bytes: a count beyond that is malformed. */
    if (!r.bad && (uint64_t)nfields * 37 > len - r.off)
        r.bad = 1;
    for (uint32_t i = 0; i < nfields && !r.bad && rc == 0; i++) {
        struct schema_field f;
        memset(&f, 0, sizeof f);
        size_t n;
        get_str(&r, &f.name, &n);
        f.name_len = (uint32_t)n;
        f.in_type = (uint16_t)get_n(&r, 2);
        f.out_type = (uint16_t)get_n(&r, 2);
        f.arity = (uint8_t)get_n(&r, 1);
        f.len_kind = (uint8_t)get_n(&r, 1);
        f.flags = (uint16_t)get_n(&r, 2);
        f.count = (uint32_t)get_n(&r, 4);
        f.length = (uint32_t)get_n(&r, 4);
        f.first = (uint32_t)get_n(&r, 4);
        f.nmembers = (uint32_t)get_n(&r, 4);
        f.tags = (uint32_t)get_n(&r, 4);
        f.custom_len = (uint32_t)get_n(&r, 4);
        f.custom = f.custom_len ? take(&r, f.custom_len) : NULL;
        unsigned has_map = (unsigned)get_n(&r, 1);
        if (r.bad)
            break;
        if (has_map > 2) {
            r.bad = 1;
            break;
        }
        if (has_map) {
            const char *sn;
            size_t sl;
            get_str(&r, &sn, &sl);
            struct schema_map_slot *slot = arena_alloc(arena, sizeof *slot);
            char *sname = arena_str(arena, sn, sl);
            if (slot == NULL || sname == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            slot->name = sname;
            slot->map = NULL;
            if (has_map == 2) {
                const char *mn;
                size_t ml;
                get_str(&r, &mn, &ml);
                uint32_t kind = (uint32_t)get_n(&r, 4), count = (uint32_t)get_n(&r, 4);
                if (r.bad || (uint64_t)count * 12 > len - r.off) {
                    r.bad = 1;
                    break;
                }
                struct schema_map *m = arena_alloc(arena, sizeof *m);
                struct schema_map_entry *e =
                    count ? arena_alloc(arena, (size_t)count * sizeof *e) : NULL;
                char *mname = arena_str(arena, mn, ml);
                if (m == NULL || mname == NULL || (count && e == NULL)) {
                    rc = ERR_NOMEM;
                    break;
                }
                for (uint32_t k = 0; k < count && !r.bad; k++) {
                    e[k].value = get_n(&r, 8);
                    const char *lb;
                    size_t ll;
                    get_str(&r, &lb, &ll);
                    e[k].label = lb ? arena_str(arena, lb, ll) : NULL;
                    if (lb && e[k].label == NULL)
                        rc = ERR_NOMEM;
                }
                m->name = mname;
                m->kind = kind;
                m->count = count;
                m->entries = e;
                slot->map = m;
            }
            f.map = slot;
        }
        if (rc == 0 && !r.bad && schema_builder_add(&b, &f) < 0)
            rc = ERR_NOMEM;
    }
    uint32_t tl = (uint32_t)get_n(&r, 4);
    const uint8_t *tlp = tl ? take(&r, tl) : NULL;
    if (rc == 0 && !r.bad && tlp)
        rc = schema_builder_set_tl_meta(&b, tlp, tl);
    if (rc == 0 && !r.bad && r.off != len)
        r.bad = 1;
    if (rc == 0 && r.bad) {
        schema_builder_free(&b);
        return errbuf_set(eb, ERR_FORMAT, "schema encoding malformed near byte %zu of %zu",
                          r.off, len);
    }
    if (rc) {
        schema_builder_free(&b);
        return errbuf_set(eb, rc, "out of memory decoding a schema");
    }
    rc = schema_builder_finish(&b, ntop, arena, out, eb);
    schema_builder_free(&b);
    return rc;
}

/* ---- Cache --------------------------------------------------------------- */

struct enc_entry {
    const struct schema *s;
    uint64_t fp;      /* fingerprint against a reused address */
    uint64_t maps_fp; /* the slots' map pointers when encoded */
    uint64_t id;
    uint8_t *bytes;
    size_t len;
};

static atomic_flag cache_lock = ATOMIC_FLAG_INIT;
static struct enc_entry *cache_tab;
static size_t cache_cap, cache_n;
static uint8_t **retired; /* replaced encodings, freed at clear */
static size_t nretired, retired_cap;

static void lock(void)
{
    while (atomic_flag_test_and_set_explicit(&cache_lock, memory_order_acquire))
        ;
}
static void unlock(void) { atomic_flag_clear_explicit(&cache_lock, memory_order_release); }

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h;
}

static uint64_t fingerprint(const struct schema *s)
{
    uint64_t h = mix(0, s->alloc_size);
    h = mix(h, (uintptr_t)s->fields);
    h = mix(h, s->nfields);
    h = mix(h, (uint64_t)s->source << 32 | s->id);
    h = mix(h, s->provider.data1);
    h = mix(h, (uintptr_t)s->event_name);
    return h;
}

static uint64_t maps_fingerprint(const struct schema *s)
{
    uint64_t h = 0;
    for (uint32_t i = 0; i < s->nfields; i++)
        if (s->fields[i].map)
            h = mix(h, (uintptr_t)s->fields[i].map->map + i);
    return h;
}

static size_t slot_of(const struct schema *s, size_t cap)
{
    uint64_t x = (uintptr_t)s;
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

static int grow(void)
{
    size_t ncap = cache_cap ? cache_cap * 2 : 64;
    struct enc_entry *nt = mem_calloc(ncap, sizeof *nt);
    if (nt == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < cache_cap; i++) {
        if (cache_tab[i].s == NULL)
            continue;
        size_t j = slot_of(cache_tab[i].s, ncap);
        while (nt[j].s)
            j = (j + 1) & (ncap - 1);
        nt[j] = cache_tab[i];
    }
    mem_free(cache_tab);
    cache_tab = nt;
    cache_cap = ncap;
    return 0;
}

int schema_codec_cached(const struct schema *s, const uint8_t **bytes, size_t *len, uint64_t *id)
{
    uint64_t fp = fingerprint(s), mfp = maps_fingerprint(s);
    lock();
    if (cache_cap) {
        size_t j = slot_of(s, cache_cap);
        while (cache_tab[j].s) {
            struct enc_entry *e = &cache_tab[j];
            if (e->s == s && e->fp == fp && e->maps_fp == mfp) {
                *bytes = e->bytes;
                *len = e->len;
                *id = e->id;
                unlock();
                return 0;
            }
            if (e->s == s)
                break;
            j = (j + 1) & (cache_cap - 1);
        }
    }
    unlock();
    struct buf b = BUF_INIT;
    b.limit = (size_t)1 << 31;
    int rc = schema_encode(s, &b);
    if (rc) {
        buf_free(&b);
        return rc;
    }
    uint64_t cid = schema_content_id((const uint8_t *)b.p, b.len);
    lock();
    if ((cache_n + 1) * 2 > cache_cap && grow()) {
        unlock();
        buf_free(&b);
        return ERR_NOMEM;
    }
    size_t j = slot_of(s, cache_cap);
    while (cache_tab[j].s && cache_tab[j].s != s)
        j = (j + 1) & (cache_cap - 1);
    struct enc_entry *e = &cache_tab[j];
    if (e->s == s) {
        /* Stale (new map, or a reused address): keep the old bytes for borrowers. */
        if (nretired == retired_cap) {
            size_t cap = retired_cap;
            if (mem_grow(&retired, &cap, nretired + 1, sizeof *retired)) {
                unlock();
                buf_free(&b);
                return ERR_NOMEM;
            }
            retired_cap = cap;
        }
        retired[nretired++] = e->bytes;
    } else {
        cache_n++;
    }
    e->s = s;
    e->fp = fp;
    e->maps_fp = mfp;
    e->id = cid;
    e->len = b.len;
    e->bytes = (uint8_t *)b.p;
    *bytes = e->bytes;
    *len = e->len;
    *id = cid;
    unlock();
    return 0;
}

void schema_codec_cache_clear(void)
{
    lock();
    for (size_t i = 0; i < cache_cap; i++)
        mem_free(cache_tab[i].bytes);
    mem_free(cache_tab);
    for (size_t i = 0; i < nretired; i++)
        mem_free(retired[i]);
    mem_free(retired);
    cache_tab = NULL;
    retired = NULL;
    cache_cap = cache_n = nretired = retired_cap = 0;
    unlock();
}
