/*
 * Tests of the fast paths of decoding, JSON rendering and archive reading
 * against the general code they shortcut: schema hints (fixed-size runs and
 * arrays, plain and distinct names) must not change a single output byte,
 * for every truncation of a payload; integers, hex numbers and timestamps
 * are compared with printf and text.c; the archive reader's slim-row
 * transpose with a byte-by-byte one; "no schema" texts with printf.
 */
#include "test.h"

#include "archive/archive_int.h"
#include "core/arena.h"
#include "core/mem.h"
#include "core/text.h"
#include "decode/decode.h"
#include "schema/schema_cache.h"
#include "test_decode_util.h"

static const etwhost_guid prov_f = {0x600dcafe, 0x0102, 0x0304, {1, 2, 3, 4, 5, 6, 7, 8}};

static uint64_t fp_seed = 0x9E3779B97F4A7C15ull;

static uint64_t fp_rand(void)
{
    fp_seed ^= fp_seed << 13;
    fp_seed ^= fp_seed >> 7;
    fp_seed ^= fp_seed << 17;
    return fp_seed;
}

/*
 * One schema of every field shape the fast paths touch: runs of fixed-size
 * scalars (signed, hex, pointer, boolean), a count field and an array that
 * uses it, a string between runs, an array of structs, a pointer array to
 * the payload end.  Names: one that needs escaping, a repeat inside a struct
 * when dup is set.
 */
static struct schema *fp_schema(int dup)
{
    struct schema_builder b;
    schema_builder_init(&b, SCHEMA_SRC_MANIFEST);
    struct schema_field f = tdu_field("a", TDH_IN_UINT8, 0);
    schema_builder_add(&b, &f);                                       /* 0 */
    f = tdu_field("b", TDH_IN_INT16, 0);
    schema_builder_add(&b, &f);                                       /* 1 */
    f = tdu_field("quote\"d", TDH_IN_UINT32, TDH_OUT_HEXINT32);
    schema_builder_add(&b, &f);                                       /* 2 */
    f = tdu_field("p", TDH_IN_POINTER, 0);
    schema_builder_add(&b, &f);                                       /* 3 */
    f = tdu_field("flag", TDH_IN_BOOLEAN, 0);
    schema_builder_add(&b, &f);                                       /* 4 */
    f = tdu_field("n", TDH_IN_UINT16, 0);
    schema_builder_add(&b, &f);                                       /* 5 */
    f = tdu_field("vals", TDH_IN_INT32, 0);
    f.arity = SCHEMA_ARITY_FIELD;
    f.count = 5;
    schema_builder_add(&b, &f);                                       /* 6 */
    f = tdu_field("s", TDH_IN_UNICODESTRING, 0);
    schema_builder_add(&b, &f);                                       /* 7 */
    f = tdu_field("st", SCHEMA_IN_STRUCT, 0);
    f.arity = SCHEMA_ARITY_FIXED;
    f.count = 2;
    f.first = 10;
    f.nmembers = 2;
    schema_builder_add(&b, &f);                                       /* 8 */
    f = tdu_field("rest", TDH_IN_POINTER, 0);
    f.arity = SCHEMA_ARITY_REST;
    schema_builder_add(&b, &f);                                       /* 9 */
    f = tdu_field("x", TDH_IN_UINT64, 0);
    schema_builder_add(&b, &f);                                       /* 10 */
    f = tdu_field(dup ? "x" : "y", TDH_IN_INT8, 0);
    schema_builder_add(&b, &f);                                       /* 11 */
    struct schema *s = NULL;
    struct errbuf eb;
    int rc = schema_builder_finish(&b, 10, NULL, &s, &eb);
    ASSERT_MSG(rc == 0, "%s", eb.msg);
    schema_builder_free(&b);
    return s;
}

/* Take every hint away: the decoder and the writer then use their general code. */
static void fp_no_hints(struct schema *s)
{
    for (uint32_t i = 0; i < s->nfields; i++) {
        struct schema_field *f = (struct schema_field *)(uintptr_t)&s->fields[i];
        f->dflags &= (uint8_t) ~(SCHEMA_DF_FAST | SCHEMA_DF_REF | SCHEMA_DF_PLAIN_NAME);
        /* Without REF the count of 'vals' would not be kept: keep what decoding needs. */
        if (i == 5)
            f->dflags |= SCHEMA_DF_REF;
    }
    s->sdflags = 0;
    s->hname_plain = 0;
}

static void fp_payload(struct plb *p, int ptr32)
{
    p->n = 0;
    plb_u(p, 0xAB, 1);
    plb_u(p, 0xFFFE, 2);               /* -2 */
    plb_u(p, 0xDEADBEEF, 4);
    plb_u(p, 0x00007FF6A0001000ull, ptr32 ? 4 : 8);
    plb_u(p, 1, 4);
    plb_u(p, 3, 2);                    /* n */
    plb_u(p, 0xFFFFFFFF, 4);           /* vals: -1, 7, INT32_MIN */
    plb_u(p, 7, 4);
    plb_u(p, 0x80000000u, 4);
    plb_w(p, "h\"i", 1);
    for (int k = 0; k < 2; k++) {      /* st[2] */
        plb_u(p, 0x0123456789ABCDEFull + (uint64_t)k, 8);
        plb_u(p, 0x80 + (uint64_t)k, 1);
    }
    for (int k = 0; k < 3; k++)        /* rest */
        plb_u(p, 0xFFFFF80000000000ull + (uint64_t)k, ptr32 ? 4 : 8);
}

struct fp_dec {
    struct schema_cache *cache;
    struct decoder d;
    struct arena arena;
    struct event ev;
    struct record rec;
};

static void fp_dec_init(struct fp_dec *t)
{
    memset(t, 0, sizeof *t);
    t->cache = schema_cache_new(0);
    decoder_init(&t->d, t->cache);
    event_init(&t->ev, &t->arena);
}

static void fp_dec_free(struct fp_dec *t)
{
    event_free(&t->ev);
    arena_free(&t->arena);
    decoder_free(&t->d);
    schema_cache_free(t->cache);
}

/* The JSON line of p's first len bytes decoded with s (into out, reset). */
static void fp_decode(struct fp_dec *t, const struct schema *s, const struct plb *p, uint32_t len,
                      int ptr32, struct buf *out)
{
    struct plb cut = *p;
    cut.n = len;
    rec_make(&t->rec, &prov_f, NULL, &cut);
    t->rec.data = len ? p->b : NULL;
    t->rec.timestamp = 133000000000000000ll + len;
    if (ptr32)
        t->rec.evf |= ETWHOST_EVF_PTR32;
    arena_reset(&t->arena);
    event_set_record(&t->ev, &t->rec, "Fast-Provider");
    ASSERT_OK(decode_with_schema(&t->d, &t->rec, s, &t->ev));
    buf_reset(out);
    const struct buf *js = event_json(&t->ev);
    ASSERT(js != NULL);
    ASSERT_OK(buf_append(out, js->p, js->len));
}

TEST(fast_decode_matches_general_path_on_every_truncation)
{
    for (int dup = 0; dup < 2; dup++) {
        struct schema *fast = fp_schema(dup), *slow = fp_schema(dup);
        fp_no_hints(slow);
        ASSERT(fast->fields[0].dflags & SCHEMA_DF_FAST);
        ASSERT(fast->fields[2].dflags & SCHEMA_DF_FAST);
        ASSERT(!(fast->fields[2].dflags & SCHEMA_DF_PLAIN_NAME));
        ASSERT(fast->fields[5].dflags & SCHEMA_DF_REF);
        ASSERT_EQ(!!(fast->sdflags & SCHEMA_SDF_UNIQUE_NAMES), !dup);
        struct fp_dec a, b;
        fp_dec_init(&a);
        fp_dec_init(&b);
        struct buf ja = BUF_INIT, jb = BUF_INIT;
        for (int ptr32 = 0; ptr32 < 2; ptr32++) {
            struct plb p;
            fp_payload(&p, ptr32);
            for (uint32_t len = 0; len <= p.n; len++) {
                fp_decode(&a, fast, &p, len, ptr32, &ja);
                fp_decode(&b, slow, &p, len, ptr32, &jb);
                ASSERT_MSG(ja.len == jb.len && memcmp(ja.p, jb.p, ja.len) == 0,
                           "ptr32 %d, %u of %u bytes:\n fast %s\n slow %s", ptr32, len, p.n,
                           buf_cstr(&ja), buf_cstr(&jb));
                ASSERT_EQ(a.ev.hdr.decode_status, b.ev.hdr.decode_status);
                ASSERT_EQ(a.ev.nprops, b.ev.nprops);
                /* What plugins see of the tree too: links, values, names, data. */
                for (uint32_t i = 0; i < a.ev.nprops; i++) {
                    const etwhost_prop *x = &a.ev.props[i], *y = &b.ev.props[i];
                    ASSERT_MSG(x->type == y->type && x->format == y->format &&
                                   x->num.u == y->num.u && x->parent == y->parent &&
                                   x->next == y->next && x->count == y->count &&
                                   x->size == y->size && x->reserved == y->reserved &&
                                   x->data == y->data && x->map_text == y->map_text &&
                                   x->name_len == y->name_len &&
                                   strcmp(x->name, y->name) == 0,
                               "ptr32 %d, %u bytes: property %u differs", ptr32, len, i);
                }
            }
            /* The whole payload: everything decoded, repeats numbered. */
            ASSERT_EQ(a.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
            ASSERT_CONTAINS(buf_cstr(&ja), "\"quote\\\"d\":\"0xdeadbeef\"");
            ASSERT_CONTAINS(buf_cstr(&ja), "\"vals\":[-1,7,-2147483648]");
            ASSERT_CONTAINS(buf_cstr(&ja), dup ? "{\"x\":81985529216486895,\"x_2\":-128}"
                                               : "{\"x\":81985529216486895,\"y\":-128}");
        }
        buf_free(&ja);
        buf_free(&jb);
        fp_dec_free(&a);
        fp_dec_free(&b);
        schema_free(fast);
        schema_free(slow);
    }
}

/* One integer property per format and type, compared with printf. */
TEST(fast_json_integers_and_hex_match_printf)
{
    static const uint16_t types[] = {ETWHOST_PT_I8,  ETWHOST_PT_U8,  ETWHOST_PT_I16,
                                     ETWHOST_PT_U16, ETWHOST_PT_I32, ETWHOST_PT_U32,
                                     ETWHOST_PT_I64, ETWHOST_PT_U64, ETWHOST_PT_POINTER};
    static const uint16_t fmts[] = {ETWHOST_FMT_DEFAULT, ETWHOST_FMT_HEX, ETWHOST_FMT_PID,
                                    ETWHOST_FMT_NTSTATUS, ETWHOST_FMT_WIN32ERROR};
    struct arena ar = ARENA_INIT;
    struct event ev;
    event_init(&ev, &ar);
    struct record rec;
    memset(&rec, 0, sizeof rec);
    char want[64];
    for (int iter = 0; iter < 4000; iter++) {
        uint64_t v = fp_rand();
        switch (iter % 4) {
        case 0: v &= 0xFF; break;
        case 1: v >>= (unsigned)(fp_rand() % 64); break;
        case 2: v = iter & 8 ? 0 : ~0ull; break;
        default: break;
        }
        uint16_t t = types[(unsigned)iter % (sizeof types / sizeof types[0])];
        uint16_t f = fmts[(unsigned)(iter / 9) % (sizeof fmts / sizeof fmts[0])];
        event_set_record(&ev, &rec, "P");
        uint32_t i = event_prop_add(&ev, "v", 1, t);
        ev.props[i].num.u = v;
        ev.props[i].format = f;
        event_finish_decode(&ev);
        const struct buf *js = event_json(&ev);
        ASSERT(js != NULL);
        if (t == ETWHOST_PT_POINTER) {
            snprintf(want, sizeof want, "\"v\":\"0x%llx\"}", (unsigned long long)v);
        } else {
            uint64_t bits = event_prop_bits(&ev.props[i]);
            if (f == ETWHOST_FMT_HEX || f == ETWHOST_FMT_NTSTATUS)
                snprintf(want, sizeof want, "\"v\":\"0x%llx\"}", (unsigned long long)bits);
            else if (event_type_is_signed(t))
                snprintf(want, sizeof want, "\"v\":%lld}",
                         (long long)event_prop_signed(&ev.props[i]));
            else
                snprintf(want, sizeof want, "\"v\":%llu}", (unsigned long long)bits);
        }
        ASSERT_CONTAINS(buf_cstr(&ev.json), want);
        /* The keywords of the header are written the same way. */
        ev.hdr.keywords = v;
        event_json_invalidate(&ev);
        snprintf(want, sizeof want, "\"keywords\":\"0x%llx\"", (unsigned long long)v);
        ASSERT(event_json(&ev) != NULL);
        ASSERT_CONTAINS(buf_cstr(&ev.json), want);
        arena_reset(&ar);
    }
    event_free(&ev);
    arena_free(&ar);
}

/* Timestamps through the per-event cache of whole seconds, with text.c as the reference. */
TEST(fast_json_timestamps_match_text_rfc3339)
{
    struct arena ar = ARENA_INIT;
    struct event ev;
    event_init(&ev, &ar);
    struct record rec;
    memset(&rec, 0, sizeof rec);
    int64_t t = 133000000000000000ll;
    char want[64], txt[TEXT_RFC3339_LEN + 1];
    for (int iter = 0; iter < 20000; iter++) {
        switch (fp_rand() % 6) {
        case 0: t += (int64_t)(fp_rand() % 10); break;               /* same second */
        case 1: t += (int64_t)(fp_rand() % 30000000); break;         /* next seconds */
        case 2: t -= (int64_t)(fp_rand() % 20000000); break;         /* back */
        case 3: t = (int64_t)(fp_rand() % (uint64_t)TEXT_FILETIME_MAX); break;
        case 4: t = (t / 10000000) * 10000000 + (iter & 1 ? 9999999 : 0); break;
        default: t = iter & 1 ? -(int64_t)(fp_rand() % 1000) - 1 : TEXT_FILETIME_MAX; break;
        }
        rec.timestamp = t;
        event_set_record(&ev, &rec, "P");
        event_finish_decode(&ev);
        ASSERT(event_json(&ev) != NULL);
        if (text_filetime_rfc3339(txt, t) < 0) {
            snprintf(want, sizeof want, "{\"timestamp\":%lld,", (long long)t);
        } else {
            txt[TEXT_RFC3339_LEN] = '\0';
            snprintf(want, sizeof want, "{\"timestamp\":\"%s\",", txt);
        }
        ASSERT_MSG(strncmp(buf_cstr(&ev.json), want, strlen(want)) == 0, "%lld: %s vs %s",
                   (long long)t, buf_cstr(&ev.json), want);
        arena_reset(&ar);
    }
    event_free(&ev);
    arena_free(&ar);
}

/* The reader's slim rows (SSE2 transpose where available) against byte-by-byte reading. */
TEST(fast_archive_slim_rows_match_bytewise)
{
    static const uint32_t ns[] = {1, 15, 16, 17, 31, 255, 256, 257, 1000};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        uint32_t n = ns[k];
        uint8_t *cols = mem_alloc((size_t)n * AR_SLIM);
        uint8_t *out = mem_alloc((size_t)AR_CHUNK * AR_SLIM);
        ASSERT(cols != NULL && out != NULL);
        for (size_t i = 0; i < (size_t)n * AR_SLIM; i++)
            cols[i] = (uint8_t)fp_rand();
        for (uint32_t first = 0; first < n; first += AR_CHUNK) {
            uint32_t cnt = n - first < AR_CHUNK ? n - first : AR_CHUNK;
            ar_slim_rows(cols, n, first, cnt, out, AR_TILES_ALL);
            for (uint32_t r = 0; r < cnt; r++)
                for (uint32_t j = 0; j < AR_SLIM; j++)
                    ASSERT_MSG(out[(size_t)r * AR_SLIM + j] == cols[(size_t)j * n + first + r],
                               "n %u record %u byte %u", n, first + r, j);
            /* The index tiles alone: bytes 0..15 and 64..79. */
            memset(out, 0, (size_t)AR_CHUNK * AR_SLIM);
            ar_slim_rows(cols, n, first, cnt, out, AR_TILES_INDEX);
            for (uint32_t r = 0; r < cnt; r++)
                for (uint32_t j = 0; j < AR_SLIM; j++)
                    if (j < 16 || j >= 64)
                        ASSERT(out[(size_t)r * AR_SLIM + j] == cols[(size_t)j * n + first + r]);
        }
        mem_free(cols);
        mem_free(out);
    }
}

/* "no schema" texts built without printf read as the printf ones did. */
TEST(fast_schema_key_describe_matches_printf)
{
    struct schema_key k;
    char got[400], want[400], who[300], g[37], name[260];
    for (int iter = 0; iter < 3000; iter++) {
        memset(&k, 0, sizeof k);
        k.kind = (uint8_t)(iter % 3 == 0 ? SCHEMA_KEY_CLASSIC
                                         : iter % 3 == 1 ? SCHEMA_KEY_WPP : SCHEMA_KEY_MANIFEST);
        k.version = (uint8_t)fp_rand();
        k.opcode = (uint8_t)fp_rand();
        k.id = (uint16_t)fp_rand();
        k.guid.data1 = (uint32_t)fp_rand();
        size_t nl = (size_t)(fp_rand() % 259);
        for (size_t i = 0; i < nl; i++)
            name[i] = (char)('a' + fp_rand() % 26);
        name[nl] = '\0';
        const char *nm = iter % 5 == 0 ? NULL : name;
        schema_key_describe(&k, nm, got, sizeof got);
        guid_format(&k.guid, g);
        if (nm && *nm)
            snprintf(who, sizeof who, "%s {%s}", nm, g);
        else
            snprintf(who, sizeof who, "{%s}", g);
        if (k.kind == SCHEMA_KEY_CLASSIC)
            snprintf(want, sizeof want, "class %s opcode %u version %u", who, k.opcode, k.version);
        else if (k.kind == SCHEMA_KEY_WPP)
            snprintf(want, sizeof want, "WPP message %s number %u", who, k.id);
        else
            snprintf(want, sizeof want, "provider %s id %u version %u", who, k.id, k.version);
        ASSERT_STREQ(got, want);
    }
}
