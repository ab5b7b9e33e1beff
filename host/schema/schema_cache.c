/*
 * schema_cache: schemas, maps and provider names (see schema_cache.h).
 *
 * Three open-addressing tables with linear probing: schemas by key, map
 * slots by (provider, name), provider names by GUID.  Entries are never
 * deleted (a forgotten borrowed schema leaves its key with schema NULL,
 * which reads as "unknown"), so probing needs no tombstones.
 */
#include "schema_cache.h"

#include <stdio.h>
#include <string.h>

#include "../core/mem.h"
#include "tdh_embedded.h"
#include "tracelogging.h"

#define CACHE_DEFAULT_MAX_BYTES ((size_t)256 << 20)

struct centry {
    uint64_t hash; /* 0 = empty slot */
    struct schema_key key;
    const struct schema *s; /* NULL: unknown; &negative_schema: negative */
    uint8_t owned;
    uint8_t prio;
};

struct sentry {
    uint64_t hash;
    etwhost_guid provider;
    struct schema_map_slot *slot; /* owned, with its name */
};

struct pentry {
    uint64_t hash;
    etwhost_guid provider;
    char *name; /* owned */
};

/* Retired schemas and maps, kept alive until the cache is freed. */
struct retired {
    struct retired *next;
    void *p;
};

struct schema_cache {
    struct centry *tab;
    uint32_t cap, used;
    struct sentry *slots;
    uint32_t slot_cap, slot_used;
    struct pentry *prov;
    uint32_t prov_cap, prov_used;
    struct retired *retired;
    struct schema_map **maps; /* owned maps (freed at the end) */
    size_t nmaps, maps_cap;
    size_t max_bytes;
    struct schema_cache_stats st;
    /*
     * The last schema_cache_find answer: consecutive records mostly need
     * the same schema.  'gen' changes whenever an entry's schema changes, so
     * a remembered answer is used only while it is still the table's.
     */
    uint64_t gen, memo_gen;
    struct schema_key memo_key;
    const struct schema *memo_s;
    /*
     * Provider names found lately, by a few bits of the GUID (names are never
     * replaced or freed before the cache, so a remembered one stays right).
     */
    struct {
        etwhost_guid guid;
        const char *name;
    } pmemo[16];
};

static const struct schema negative_schema = {.flags = SCHEMA_F_NEGATIVE};

/* ---- Hashing ---------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/*
 * A fast non-cryptographic hash of n bytes (one multiply per 8 bytes, full
 * mix at the end); never returns 0, which marks empty slots.  Collisions
 * only cost a compare: every hit is confirmed on the key bytes.
 */
static uint64_t hash_bytes(const void *data, size_t n, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ull);
    while (n >= 8) {
        h = (h ^ load64(p)) * 0x9fb21c651e98df25ull;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++)
        t |= (uint64_t)p[i] << (8 * i);
    h = mix64(h ^ t ^ 0x6a09e667f3bcc909ull);
    return h ? h : 1;
}

static uint64_t guid_hash(const etwhost_guid *g, uint64_t seed)
{
    uint8_t b[16];
    memcpy(b, &g->data1, 4);
    memcpy(b + 4, &g->data2, 2);
    memcpy(b + 6, &g->data3, 2);
    memcpy(b + 8, g->data4, 8);
    return hash_bytes(b, 16, seed);
}

static uint64_t key_hash(const struct schema_key *k)
{
    uint64_t h = guid_hash(&k->guid, 0x5bd1e995u);
    h ^= (uint64_t)k->kind << 56 | (uint64_t)k->version << 48 | (uint64_t)k->opcode << 40 |
         (uint64_t)k->ptr_size << 32 | (uint64_t)k->id;
    h = mix64(h);
    return h ? h : 1;
}

static int key_eq(const struct schema_key *a, const struct schema_key *b)
{
    return a->kind == b->kind && a->version == b->version && a->opcode == b->opcode &&
           a->ptr_size == b->ptr_size && a->id == b->id && guid_eq(&a->guid, &b->guid);
}

/* ---- Keys ------------------------------------------------------------------------- */

void schema_key_for_record(const struct record *rec, struct schema_key *key)
{
    memset(key, 0, sizeof *key);
    key->guid = rec->provider;
    key->version = rec->version;
    switch (rec->kind) {
    case ETWHOST_HK_EVENT:
    case ETWHOST_HK_SYNTHETIC:
        key->kind = SCHEMA_KEY_MANIFEST;
        key->id = rec->id;
        break;
    case ETWHOST_HK_MESSAGE:
        key->kind = SCHEMA_KEY_WPP;
        key->id = rec->message_number;
        key->version = 0;
        break;
    default:
        key->kind = SCHEMA_KEY_CLASSIC;
        key->opcode = rec->opcode;
        key->ptr_size = (rec->evf & ETWHOST_EVF_PTR32) ? 4 : 8;
        break;
    }
}

/* Append s[0..n) at *o (the caller checked the room). */
static char *put_str(char *o, const char *s, size_t n)
{
    memcpy(o, s, n);
    return o + n;
}

/* Append v in decimal. */
static char *put_u32(char *o, uint32_t v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *o++ = tmp[--n];
    return o;
}

void schema_key_describe(const struct schema_key *k, const char *name, char *out, size_t cap)
{
    /*
     * Undecoded events describe their key once each, so the common case is
     * built without printf: the same text as below when nothing has to be
     * cut (a name of at most 200 bytes and room for the longest result).
     */
    size_t nl = name ? strlen(name) : 0;
    if (nl <= 200 && cap >= 300) {
        char g[37];
        guid_format(&k->guid, g);
        char *o = out;
        if (k->kind == SCHEMA_KEY_CLASSIC)
            o = put_str(o, "class ", 6);
        else if (k->kind == SCHEMA_KEY_WPP)
            o = put_str(o, "WPP message ", 12);
        else
            o = put_str(o, "provider ", 9);
        if (nl) {
            o = put_str(o, name, nl);
            *o++ = ' ';
        }
        *o++ = '{';
        o = put_str(o, g, 36);
        *o++ = '}';
        if (k->kind == SCHEMA_KEY_CLASSIC) {
            o = put_str(o, " opcode ", 8);
            o = put_u32(o, k->opcode);
            o = put_str(o, " version ", 9);
            o = put_u32(o, k->version);
        } else if (k->kind == SCHEMA_KEY_WPP) {
            o = put_str(o, " number ", 8);
            o = put_u32(o, k->id);
        } else {
            o = put_str(o, " id ", 4);
            o = put_u32(o, k->id);
            o = put_str(o, " version ", 9);
            o = put_u32(o, k->version);
        }
        *o = '\0';
        return;
    }
    char g[37];
    guid_format(&k->guid, g);
    char who[300];
    if (name && *name)
        snprintf(who, sizeof who, "%s {%s}", name, g);
    else
        snprintf(who, sizeof who, "{%s}", g);
    switch (k->kind) {
    case SCHEMA_KEY_CLASSIC:
        snprintf(out, cap, "class %s opcode %u version %u", who, k->opcode, k->version);
        break;
    case SCHEMA_KEY_WPP:
        snprintf(out, cap, "WPP message %s number %u", who, k->id);
        break;
    default:
        snprintf(out, cap, "provider %s id %u version %u", who, k->id, k->version);
        break;
    }
}

/* ---- Life cycle ------------------------------------------------------------------- */

struct schema_cache *schema_cache_new(size_t max_bytes)
{
    struct schema_cache *c = mem_calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->max_bytes = max_bytes ? max_bytes : CACHE_DEFAULT_MAX_BYTES;
    c->gen = 1; /* memo_gen 0: nothing remembered yet */
    return c;
}

void schema_cache_free(struct schema_cache *c)
{
    if (c == NULL)
        return;
    for (uint32_t i = 0; i < c->cap; i++)
        if (c->tab[i].hash && c->tab[i].owned)
            schema_free((struct schema *)c->tab[i].s);
    mem_free(c->tab);
    for (uint32_t i = 0; i < c->slot_cap; i++)
        if (c->slots[i].hash)
            mem_free(c->slots[i].slot);
    mem_free(c->slots);
    for (uint32_t i = 0; i < c->prov_cap; i++)
        if (c->prov[i].hash)
            mem_free(c->prov[i].name);
    mem_free(c->prov);
    for (size_t i = 0; i < c->nmaps; i++)
        mem_free(c->maps[i]);
    mem_free(c->maps);
    while (c->retired) {
        struct retired *r = c->retired;
        c->retired = r->next;
        mem_free(r->p);
        mem_free(r);
    }
    mem_free(c);
}

/* Keep p alive until the cache is freed; frees p at once if even that fails. */
static void retire(struct schema_cache *c, void *p)
{
    struct retired *r = mem_alloc(sizeof *r);
    if (r == NULL) {
        /* Cannot track it: leaking is safer than a dangling name in a live event. */
        return;
    }
    r->p = p;
    r->next = c->retired;
    c->retired = r;
}

/* ---- Schema table ----------------------------------------------------------------- */

/* Grow a table of 'size'-byte entries (hash first) to hold one more at load <= 1/2. */
static int table_grow(void *tabp, uint32_t *cap, uint32_t used, size_t size)
{
    if ((uint64_t)(used + 1) * 2 <= *cap)
        return 0;
    uint32_t ncap = *cap ? *cap * 2 : 64;
    if (ncap > (1u << 28))
        return ERR_NOMEM;
    unsigned char *old = *(unsigned char **)tabp;
    unsigned char *tab = mem_calloc(ncap, size);
    if (tab == NULL)
        return ERR_NOMEM;
    for (uint32_t i = 0; i < *cap; i++) {
        unsigned char *e = old + (size_t)i * size;
        uint64_t h;
        memcpy(&h, e, 8);
        if (h == 0)
            continue;
        uint32_t j = (uint32_t)h & (ncap - 1);
        for (;;) {
            uint64_t hj;
            memcpy(&hj, tab + (size_t)j * size, 8);
            if (hj == 0)
                break;
            j = (j + 1) & (ncap - 1);
        }
        memcpy(tab + (size_t)j * size, e, size);
    }
    mem_free(old);
    *(unsigned char **)tabp = tab;
    *cap = ncap;
    return 0;
}

static struct centry *find_key(const struct schema_cache *c, const struct schema_key *k,
                               uint64_t h)
{
    if (c->cap == 0)
        return NULL;
    uint32_t i = (uint32_t)h & (c->cap - 1);
    for (;;) {
        struct centry *e = &c->tab[i];
        if (e->hash == 0)
            return NULL;
        if (e->hash == h && key_eq(&e->key, k))
            return e;
        i = (i + 1) & (c->cap - 1);
    }
}

/* Find the TraceLogging entry of (provider, blob). */
static struct centry *find_tl(const struct schema_cache *c, const etwhost_guid *prov,
                              const uint8_t *blob, uint32_t len, uint64_t h)
{
    if (c->cap == 0)
        return NULL;
    uint32_t i = (uint32_t)h & (c->cap - 1);
    for (;;) {
        struct centry *e = &c->tab[i];
        if (e->hash == 0)
            return NULL;
        if (e->hash == h && e->key.kind == SCHEMA_KEY_TL && e->s &&
            guid_eq(&e->key.guid, prov) && e->s->tl_meta_len == len &&
            memcmp(e->s->tl_meta, blob, len) == 0)
            return e;
        i = (i + 1) & (c->cap - 1);
    }
}

/* A free slot for hash h (the table has room). */
static struct centry *new_entry(struct schema_cache *c, uint64_t h)
{
    if (table_grow(&c->tab, &c->cap, c->used, sizeof *c->tab))
        return NULL;
    uint32_t i = (uint32_t)h & (c->cap - 1);
    while (c->tab[i].hash)
        i = (i + 1) & (c->cap - 1);
    c->used++;
    c->gen++;
    c->tab[i].hash = h;
    return &c->tab[i];
}

static uint8_t source_prio(const struct schema *s)
{
    if (s->flags & SCHEMA_F_NEGATIVE)
        return 0;
    switch (s->source) {
    case SCHEMA_SRC_TDH_EMBEDDED: return 4;
    case SCHEMA_SRC_MANIFEST: case SCHEMA_SRC_TDH_LIVE: return 3;
    case SCHEMA_SRC_MOF: case SCHEMA_SRC_WPP: return 2;
    default: return 1;
    }
}

const struct schema *schema_cache_find(struct schema_cache *c, const struct schema_key *key)
{
    c->st.lookups++;
    if (c->memo_gen == c->gen && key_eq(&c->memo_key, key)) {
        const struct schema *m = c->memo_s;
        if (m == NULL)
            c->st.misses++;
        else
            c->st.hits++;
        return m;
    }
    struct centry *e = find_key(c, key, key_hash(key));
    const struct schema *s = e ? e->s : NULL;
    /*
     * Classic schemas registered for either pointer size (ptr_size 0) serve
     * both; they also win over a negative entry of the exact key recorded
     * before they arrived.
     */
    if (key->kind == SCHEMA_KEY_CLASSIC && key->ptr_size != 0 &&
        (s == NULL || (s->flags & SCHEMA_F_NEGATIVE))) {
        struct schema_key any = *key;
        any.ptr_size = 0;
        struct centry *e0 = find_key(c, &any, key_hash(&any));
        if (e0 && e0->s && !(e0->s->flags & SCHEMA_F_NEGATIVE))
            s = e0->s;
    }
    c->memo_key = *key;
    c->memo_s = s;
    c->memo_gen = c->gen;
    if (s == NULL) {
        c->st.misses++;
        return NULL;
    }
    c->st.hits++;
    return s;
}

/* Common insert; 'owned' says whether s is ours to free. */
static int insert(struct schema_cache *c, const struct schema_key *key, const struct schema *s,
                  int owned)
{
    uint64_t h = key_hash(key);
    uint8_t prio = source_prio(s);
    size_t bytes = owned ? s->alloc_size : 0;
    if (bytes && c->st.bytes + bytes > c->max_bytes) {
        c->st.refused++;
        schema_free((struct schema *)s);
        return ERR_RANGE;
    }
    struct centry *e = find_key(c, key, h);
    if (e && e->s) {
        if (prio <= e->prio) {
            c->st.duplicates++;
            if (owned)
                schema_free((struct schema *)s);
            return ERR_EXISTS;
        }
        if (e->prio > 0)
            c->st.replaced++;
        if (e->owned) {
            retire(c, (void *)e->s);
            c->st.schemas--;
        }
    } else if (e == NULL) {
        e = new_entry(c, h);
        if (e == NULL) {
            if (owned)
                schema_free((struct schema *)s);
            return ERR_NOMEM;
        }
        e->key = *key;
    }
    e->s = s;
    e->owned = (uint8_t)owned;
    e->prio = prio;
    c->gen++;
    if (prio == 0) {
        c->st.negative++;
    } else {
        c->st.inserted++;
        if (owned) {
            c->st.schemas++;
            c->st.bytes += bytes;
        }
    }
    return 0;
}

int schema_cache_insert(struct schema_cache *c, const struct schema_key *key, struct schema *s)
{
    return insert(c, key, s, 1);
}

int schema_cache_insert_borrowed(struct schema_cache *c, const struct schema_key *key,
                                 const struct schema *s)
{
    return insert(c, key, s, 0);
}

int schema_cache_insert_negative(struct schema_cache *c, const struct schema_key *key)
{
    int rc = insert(c, key, &negative_schema, 0);
    return rc == ERR_EXISTS ? 0 : rc;
}

void schema_cache_forget_borrowed(struct schema_cache *c)
{
    for (uint32_t i = 0; i < c->cap; i++) {
        struct centry *e = &c->tab[i];
        if (e->hash && e->s && !e->owned && e->s != &negative_schema) {
            e->s = NULL;
            e->prio = 0;
        }
    }
    c->gen++;
}

/* ---- TraceLogging ----------------------------------------------------------------- */

const struct schema *schema_cache_tracelogging(struct schema_cache *c, const struct record *rec,
                                               struct arena *arena)
{
    if (rec->tl_meta == NULL)
        return NULL;
    c->st.lookups++;
    uint64_t h = hash_bytes(rec->tl_meta, rec->tl_meta_len, guid_hash(&rec->provider, 0x7f4a7c15u));
    struct centry *e = find_tl(c, &rec->provider, rec->tl_meta, rec->tl_meta_len, h);
    if (e) {
        c->st.hits++;
        return e->s;
    }
    c->st.misses++;
    c->st.tl_parsed++;
    const char *pname = schema_cache_record_provider_name(c, rec);
    /* Parse into the heap; past the byte cap, parse again into the arena. */
    int over = 0;
    struct schema *s = NULL;
    for (int pass = 0; pass < 2; pass++) {
        struct arena *where = over ? arena : NULL;
        if (over && arena == NULL) {
            c->st.refused++;
            return NULL;
        }
        struct errbuf eb;
        int rc = tl_parse_meta(rec->tl_meta, rec->tl_meta_len, &rec->provider, pname, where, &s,
                               &eb);
        if (rc == ERR_NOMEM)
            return NULL;
        if (rc) {
            /* Cache the failure: a schema with no fields that carries the reason. */
            if (pass == 0)
                c->st.tl_errors++;
            struct schema_builder b;
            schema_builder_init(&b, SCHEMA_SRC_TRACELOGGING);
            b.hdr.provider = rec->provider;
            struct errbuf eb2;
            if (schema_builder_set_name(&b, SCHEMA_NAME_ERROR, eb.msg, strlen(eb.msg)) ||
                (pname &&
                 schema_builder_set_name(&b, SCHEMA_NAME_PROVIDER, pname, strlen(pname))) ||
                schema_builder_set_tl_meta(&b, rec->tl_meta, rec->tl_meta_len) ||
                schema_builder_finish(&b, 0, where, &s, &eb2)) {
                schema_builder_free(&b);
                return NULL;
            }
            schema_builder_free(&b);
        }
        if (over || c->st.bytes + s->alloc_size <= c->max_bytes)
            break;
        schema_free(s);
        s = NULL;
        over = 1;
    }
    if (over) {
        c->st.transient++;
        return s;
    }
    e = new_entry(c, h);
    if (e == NULL) {
        schema_free(s);
        return NULL;
    }
    e->key.kind = SCHEMA_KEY_TL;
    e->key.guid = rec->provider;
    e->s = s;
    e->owned = 1;
    e->prio = 1;
    c->st.inserted++;
    c->st.schemas++;
    c->st.bytes += s->alloc_size;
    return s;
}

/* ---- Map slots -------------------------------------------------------------------- */

static uint64_t slot_hash(const etwhost_guid *g, const char *name, size_t len)
{
    return hash_bytes(name, len, guid_hash(g, 0x3c6ef372u));
}

struct schema_map_slot *schema_cache_map_slot(struct schema_cache *c,
                                              const etwhost_guid *provider, const char *name,
                                              size_t len)
{
    uint64_t h = slot_hash(provider, name, len);
    if (c->slot_cap) {
        uint32_t i = (uint32_t)h & (c->slot_cap - 1);
        while (c->slots[i].hash) {
            struct sentry *e = &c->slots[i];
            if (e->hash == h && guid_eq(&e->provider, provider) &&
                strlen(e->slot->name) == len && memcmp(e->slot->name, name, len) == 0)
                return e->slot;
            i = (i + 1) & (c->slot_cap - 1);
        }
    }
    if (table_grow(&c->slots, &c->slot_cap, c->slot_used, sizeof *c->slots))
        return NULL;
    struct schema_map_slot *slot = mem_alloc(sizeof *slot + len + 1);
    if (slot == NULL)
        return NULL;
    char *nm = (char *)(slot + 1);
    memcpy(nm, name, len);
    nm[len] = '\0';
    slot->name = nm;
    slot->map = NULL;
    uint32_t i = (uint32_t)h & (c->slot_cap - 1);
    while (c->slots[i].hash)
        i = (i + 1) & (c->slot_cap - 1);
    c->slots[i].hash = h;
    c->slots[i].provider = *provider;
    c->slots[i].slot = slot;
    c->slot_used++;
    c->st.bytes += sizeof *slot + len + 1;
    return slot;
}

int schema_cache_add_map(struct schema_cache *c, const etwhost_guid *provider,
                         struct schema_map *m)
{
    size_t bytes = sizeof *m + m->count * sizeof(struct schema_map_entry);
    for (uint32_t i = 0; i < m->count; i++)
        bytes += strlen(m->entries[i].label) + 1;
    if (c->st.bytes + bytes > c->max_bytes) {
        c->st.refused++;
        mem_free(m);
        return ERR_RANGE;
    }
    struct schema_map_slot *slot = schema_cache_map_slot(c, provider, m->name, strlen(m->name));
    if (slot == NULL || mem_grow(&c->maps, &c->maps_cap, c->nmaps + 1, sizeof *c->maps)) {
        mem_free(m);
        return ERR_NOMEM;
    }
    if (slot->map) {
        c->st.duplicates++;
        mem_free(m);
        return ERR_EXISTS;
    }
    c->maps[c->nmaps++] = m;
    slot->map = m;
    c->st.maps++;
    c->st.bytes += bytes;
    return 0;
}

/* ---- Provider names --------------------------------------------------------------- */

static struct pentry *find_prov(const struct schema_cache *c, const etwhost_guid *g, uint64_t h)
{
    if (c->prov_cap == 0)
        return NULL;
    uint32_t i = (uint32_t)h & (c->prov_cap - 1);
    while (c->prov[i].hash) {
        if (c->prov[i].hash == h && guid_eq(&c->prov[i].provider, g))
            return &c->prov[i];
        i = (i + 1) & (c->prov_cap - 1);
    }
    return NULL;
}

int schema_cache_set_provider_name(struct schema_cache *c, const etwhost_guid *provider,
                                   const char *name, size_t len)
{
    uint64_t h = guid_hash(provider, 0x1b873593u);
    if (len == 0 || find_prov(c, provider, h))
        return 0;
    if (table_grow(&c->prov, &c->prov_cap, c->prov_used, sizeof *c->prov))
        return ERR_NOMEM;
    char *nm = mem_strndup(name, len);
    if (nm == NULL)
        return ERR_NOMEM;
    uint32_t i = (uint32_t)h & (c->prov_cap - 1);
    while (c->prov[i].hash)
        i = (i + 1) & (c->prov_cap - 1);
    c->prov[i].hash = h;
    c->prov[i].provider = *provider;
    c->prov[i].name = nm;
    c->prov_used++;
    c->st.bytes += len + 1;
    return 0;
}

const char *schema_cache_provider_name(const struct schema_cache *c,
                                       const etwhost_guid *provider)
{
    struct pentry *e = find_prov(c, provider, guid_hash(provider, 0x1b873593u));
    return e ? e->name : NULL;
}

const char *schema_cache_record_provider_name(struct schema_cache *c, const struct record *rec)
{
    unsigned m = (rec->provider.data1 ^ rec->provider.data1 >> 8 ^ rec->provider.data2) & 15u;
    if (c->pmemo[m].name != NULL && guid_eq(&c->pmemo[m].guid, &rec->provider))
        return c->pmemo[m].name;
    const char *n = schema_cache_provider_name(c, &rec->provider);
    if (n) {
        c->pmemo[m].guid = rec->provider;
        c->pmemo[m].name = n;
        return n;
    }
    if (rec->tl_traits == NULL)
        return n;
    const char *tn;
    size_t tl;
    if (tl_traits_name(rec->tl_traits, rec->tl_traits_len, &tn, &tl) || tl == 0)
        return NULL;
    if (schema_cache_set_provider_name(c, &rec->provider, tn, tl))
        return NULL;
    return schema_cache_provider_name(c, &rec->provider);
}

/* ---- TDH metadata records ----------------------------------------------------------- */

int schema_is_tdh_metadata_record(const struct record *rec)
{
    return (rec->kind == ETWHOST_HK_TRACE || rec->kind == ETWHOST_HK_INSTANCE) &&
           guid_eq(&rec->provider, &tdh_metadata_class_guid);
}

int schema_cache_ingest_record(struct schema_cache *c, const struct record *rec,
                               struct errbuf *eb)
{
    if (!schema_is_tdh_metadata_record(rec))
        return ERR_NOTFOUND;
    int rc;
    if (rec->opcode == TDH_META_OPCODE_EVENT_INFO) {
        struct schema *s = NULL;
        struct schema_key key;
        rc = tdh_parse_event_info(rec->data, rec->data_len, SCHEMA_SRC_TDH_EMBEDDED, c, &s, &key,
                                  eb);
        if (rc == 0) {
            if (s->provider_name)
                schema_cache_set_provider_name(c, &s->provider, s->provider_name,
                                               strlen(s->provider_name));
            rc = schema_cache_insert(c, &key, s);
            if (rc == ERR_EXISTS)
                rc = 0; /* the same info repeated (merged traces): keep the first */
            else if (rc == ERR_RANGE)
                errbuf_set(eb, rc, "schema cache full (%zu bytes)", c->max_bytes);
        }
    } else if (rec->opcode == TDH_META_OPCODE_MAP_INFO && rec->data_len < 16) {
        rc = errbuf_set(eb, ERR_FORMAT, "EventMapInfo record of %u bytes has no provider GUID",
                        rec->data_len);
    } else if (rec->opcode == TDH_META_OPCODE_MAP_INFO) {
        etwhost_guid prov;
        guid_read(&prov, rec->data);
        struct schema_map *m = NULL;
        rc = tdh_parse_map_info(rec->data + 16, rec->data_len - 16, &m, eb);
        if (rc == 0) {
            rc = schema_cache_add_map(c, &prov, m);
            if (rc == ERR_EXISTS)
                rc = 0;
            else if (rc == ERR_RANGE)
                errbuf_set(eb, rc, "schema cache full (%zu bytes)", c->max_bytes);
        }
    } else {
        rc = errbuf_set(eb, ERR_UNSUPPORTED, "MetaData record with opcode %u", rec->opcode);
    }
    if (rc == 0)
        c->st.ingested++;
    else if (rc != ERR_NOMEM)
        c->st.ingest_errors++;
    return rc;
}

void schema_cache_get_stats(const struct schema_cache *c, struct schema_cache_stats *out)
{
    *out = c->st;
}
