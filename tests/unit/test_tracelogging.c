/*
 * Tests of TraceLogging decoding: hand-built metadata for every in-type,
 * structs, arrays, tags, custom fields and malformed blobs; the schema
 * collision case (same descriptor, different metadata); and every
 * TraceLogging event of the corpus against an independent reference
 * (tests/scripts/tl_oracle.py over shared/tools/tlcheck.py).
 */
#include "test.h"

#include "core/arena.h"
#include "core/mem.h"
#include "core/text.h"
#include "decode/decode.h"
#include "etl/etl_reader.h"
#include "schema/schema_cache.h"
#include "schema/tracelogging.h"
#include "test_decode_util.h"

static const etwhost_guid prov_a = {0x11223344, 0x5566, 0x7788, {1, 2, 3, 4, 5, 6, 7, 8}};

/* A decoder + cache + event + arena bundle. */
struct tctx {
    struct schema_cache *cache;
    struct decoder d;
    struct arena arena;
    struct event ev;
    struct buf out;
};

static void tctx_init(struct tctx *t)
{
    memset(t, 0, sizeof *t);
    t->cache = schema_cache_new(0);
    ASSERT(t->cache != NULL);
    decoder_init(&t->d, t->cache);
    event_init(&t->ev, &t->arena);
}

static void tctx_free(struct tctx *t)
{
    event_free(&t->ev);
    arena_free(&t->arena);
    decoder_free(&t->d);
    schema_cache_free(t->cache);
    buf_free(&t->out);
}

/* Decode r and render its properties into t->out (NUL-terminated). */
static const char *decode_render(struct tctx *t, const struct record *r)
{
    arena_reset(&t->arena);
    event_reset(&t->ev);
    ASSERT_OK(decode_record(&t->d, r, &t->ev));
    buf_reset(&t->out);
    render_event(&t->ev, &t->out);
    return buf_cstr(&t->out);
}

/* Find a top-level or nested property by path (uses the event accessors' rules). */
static const etwhost_prop *prop_named(const struct event *ev, const char *name)
{
    for (uint32_t i = 0; i < ev->nprops; i++)
        if (ev->props[i].name_len == strlen(name) &&
            memcmp(ev->props[i].name, name, ev->props[i].name_len) == 0)
            return &ev->props[i];
    return NULL;
}

TEST(tl_every_scalar_in_type)
{
    struct tlmb m;
    tlmb_start(&m, "AllTypes", 0);
    tlmb_simple(&m, "wstr", 1, -1);
    tlmb_simple(&m, "astr", 2, -1);
    tlmb_simple(&m, "i8", 3, -1);
    tlmb_simple(&m, "u8", 4, -1);
    tlmb_simple(&m, "i16", 5, -1);
    tlmb_simple(&m, "u16", 6, -1);
    tlmb_simple(&m, "i32", 7, -1);
    tlmb_simple(&m, "u32", 8, -1);
    tlmb_simple(&m, "i64", 9, -1);
    tlmb_simple(&m, "u64", 10, -1);
    tlmb_simple(&m, "f32", 11, -1);
    tlmb_simple(&m, "f64", 12, -1);
    tlmb_simple(&m, "b32", 13, -1);
    tlmb_simple(&m, "bin", 14, -1);
    tlmb_simple(&m, "guid", 15, -1);
    tlmb_simple(&m, "ptr", 16, -1);
    tlmb_simple(&m, "ft", 17, -1);
    tlmb_simple(&m, "st", 18, -1);
    tlmb_simple(&m, "sid", 19, -1);
    tlmb_simple(&m, "h32", 20, -1);
    tlmb_simple(&m, "h64", 21, -1);
    tlmb_simple(&m, "cstr", 22, -1);
    tlmb_simple(&m, "castr", 23, -1);
    tlmb_simple(&m, "cbin", 25, -1);
    tlmb_end(&m);

    struct plb p = {.n = 0};
    plb_w(&p, "hi", 1);
    plb_bytes(&p, "ansi\0", 5);
    plb_u(&p, 0xFE, 1);                  /* i8 = -2 */
    plb_u(&p, 200, 1);
    plb_u(&p, 0xFFFD, 2);                /* i16 = -3 */
    plb_u(&p, 60000, 2);
    plb_u(&p, 0xFFFFFFFC, 4);            /* i32 = -4 */
    plb_u(&p, 4000000000u, 4);
    plb_u(&p, (uint64_t)-5, 8);
    plb_u(&p, 0x123456789ABCDEF0ull, 8);
    float f = 1.5f;
    double dd = -2.25;
    plb_bytes(&p, &f, 4);
    plb_bytes(&p, &dd, 8);
    plb_u(&p, 1, 4);
    plb_u(&p, 3, 2);
    plb_bytes(&p, "\x01\x02\x03", 3);
    static const uint8_t g[16] = {0x3b, 0x85, 0xc1, 0xa0, 0x40, 0x5c, 0x15, 0x4b,
                                  0x87, 0x66, 0x3c, 0xf1, 0xc5, 0x8f, 0x98, 0x5a};
    plb_bytes(&p, g, 16);
    plb_u(&p, 0xDEADBEEFCAFEull, 8);     /* pointer (64-bit record) */
    plb_u(&p, 132756731757990000ull, 8); /* FILETIME */
    static const uint16_t st[8] = {2021, 9, 4, 9, 14, 59, 35, 30};
    for (int i = 0; i < 8; i++)
        plb_u(&p, st[i], 2);
    static const uint8_t sid[12] = {1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}; /* S-1-5-18 */
    plb_bytes(&p, sid, 12);
    plb_u(&p, 0x80070005u, 4);
    plb_u(&p, 0x1122334455667788ull, 8);
    plb_u(&p, 4, 2);
    plb_w(&p, "ok", 0);
    plb_u(&p, 3, 2);
    plb_bytes(&p, "abc", 3);
    plb_u(&p, 2, 2);
    plb_bytes(&p, "\xAA\xBB", 2);

    struct tctx t;
    tctx_init(&t);
    struct record r;
    rec_make(&r, &prov_a, &m, &p);
    const char *txt = decode_render(&t, &r);
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
    ASSERT_STREQ(t.ev.hdr.event_name, "AllTypes");
    ASSERT_EQ(t.ev.nprops, 24);
    ASSERT_CONTAINS(txt, "wstr=68006900;astr=616e7369;i8=254;u8=200;i16=65533;u16=60000;");
    const etwhost_prop *pp = prop_named(&t.ev, "i8");
    ASSERT_EQ(pp->type, ETWHOST_PT_I8);
    ASSERT_EQ(event_prop_signed(pp), -2);
    ASSERT_EQ(event_prop_signed(prop_named(&t.ev, "i32")), -4);
    ASSERT_EQ(prop_named(&t.ev, "i64")->num.i, -5);
    ASSERT_EQ_U64(prop_named(&t.ev, "u64")->num.u, 0x123456789ABCDEF0ull);
    ASSERT(prop_named(&t.ev, "f32")->num.f == 1.5);
    ASSERT(prop_named(&t.ev, "f64")->num.f == -2.25);
    ASSERT_EQ(prop_named(&t.ev, "b32")->type, ETWHOST_PT_BOOL);
    pp = prop_named(&t.ev, "bin");
    ASSERT_EQ(pp->type, ETWHOST_PT_BINARY);
    ASSERT_EQ(pp->size, 3);
    pp = prop_named(&t.ev, "guid");
    ASSERT_EQ(pp->type, ETWHOST_PT_GUID);
    etwhost_guid gg;
    memcpy(&gg, pp->data, 16);
    ASSERT_EQ(gg.data1, 0xa0c1853bu);
    ASSERT_EQ(gg.data2, 0x5c40);
    pp = prop_named(&t.ev, "ptr");
    ASSERT_EQ(pp->type, ETWHOST_PT_POINTER);
    ASSERT_EQ_U64(pp->num.u, 0xDEADBEEFCAFEull);
    ASSERT_EQ(prop_named(&t.ev, "ft")->type, ETWHOST_PT_FILETIME);
    pp = prop_named(&t.ev, "st");
    ASSERT_EQ(pp->type, ETWHOST_PT_SYSTEMTIME);
    int64_t want = 0;
    ASSERT_OK(text_systemtime_to_filetime((const uint8_t *)pp->data, &want));
    ASSERT_EQ(pp->num.i, want);
    ASSERT(want > 132756000000000000ll);
    pp = prop_named(&t.ev, "sid");
    ASSERT_EQ(pp->type, ETWHOST_PT_SID);
    ASSERT_EQ(pp->size, 12);
    pp = prop_named(&t.ev, "h32");
    ASSERT_EQ(pp->type, ETWHOST_PT_U32);
    ASSERT_EQ(pp->format, ETWHOST_FMT_HEX);
    pp = prop_named(&t.ev, "cstr");
    ASSERT_EQ(pp->reserved, PROP_ENC_UTF16);
    ASSERT_EQ(pp->size, 4);
    pp = prop_named(&t.ev, "castr");
    ASSERT_EQ(pp->reserved, PROP_ENC_ANSI);
    ASSERT_EQ(pp->size, 3);
    ASSERT_EQ(prop_named(&t.ev, "cbin")->size, 2);
    /* The canonical JSON renders it all. */
    const struct buf *js = event_json(&t.ev);
    ASSERT(js != NULL);
    ASSERT_CONTAINS(js->p, "S-1-5-18");
    ASSERT_CONTAINS(js->p, "a0c1853b-5c40-4b15-8766-3cf1c58f985a");
    tctx_free(&t);
}

TEST(tl_pointer_size_follows_record)
{
    struct tlmb m;
    tlmb_start(&m, "P", 0);
    tlmb_simple(&m, "p", 16, -1);
    tlmb_simple(&m, "after", 6, -1);
    tlmb_end(&m);
    struct plb p = {.n = 0};
    plb_u(&p, 0x12345678, 4);
    plb_u(&p, 7, 2);
    struct tctx t;
    tctx_init(&t);
    struct record r;
    rec_make(&r, &prov_a, &m, &p);
    r.evf |= ETWHOST_EVF_PTR32;
    ASSERT_STREQ(decode_render(&t, &r), "p=305419896;after=7");
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
    r.evf &= ~ETWHOST_EVF_PTR32; /* the same bytes as a 64-bit record run short */
    decode_render(&t, &r);
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_PARTIAL);
    tctx_free(&t);
}

TEST(tl_structs_arrays_nested)
{
    /*
     * top: u8 a; struct s { u16 x; struct inner { wstr n; u32 v[2] (ccount) } };
     *      vcount array of struct pt { i32 x; i32 y }; u8 z;
     */
    struct tlmb m;
    tlmb_start(&m, "Nested", 0);
    tlmb_simple(&m, "a", 4, -1);
    tlmb_field(&m, "s", 24, 0, 2, 0, 0, NULL, 0);
    tlmb_simple(&m, "x", 6, -1);
    tlmb_field(&m, "inner", 24, 0, 2, 0, 0, NULL, 0);
    tlmb_simple(&m, "n", 1, -1);
    tlmb_field(&m, "v", 8, 0x20, -1, 0, 2, NULL, 0);
    tlmb_field(&m, "pts", 24, 0x40, 2, 0, 0, NULL, 0);
    tlmb_simple(&m, "x", 7, -1);
    tlmb_simple(&m, "y", 7, -1);
    tlmb_simple(&m, "z", 4, -1);
    tlmb_end(&m);
    struct plb p = {.n = 0};
    plb_u(&p, 1, 1);
    plb_u(&p, 2, 2);
    plb_w(&p, "q", 1);
    plb_u(&p, 10, 4);
    plb_u(&p, 11, 4);
    plb_u(&p, 3, 2); /* three points */
    for (int i = 0; i < 3; i++) {
        plb_u(&p, (uint64_t)(100 + i), 4);
        plb_u(&p, (uint64_t)(200 + i), 4);
    }
    plb_u(&p, 9, 1);

    struct tctx t;
    tctx_init(&t);
    struct record r;
    rec_make(&r, &prov_a, &m, &p);
    const char *txt = decode_render(&t, &r);
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
    ASSERT_STREQ(txt, "a=1;s={x=2;inner={n=7100;v=[10,11]}};"
                      "pts=[{x=100;y=200},{x=101;y=201},{x=102;y=202}];z=9");
    /* Tree links: 'pts' is an ARRAY of 3 STRUCT elements with empty names. */
    const etwhost_prop *pts = prop_named(&t.ev, "pts");
    ASSERT_EQ(pts->type, ETWHOST_PT_ARRAY);
    ASSERT_EQ(pts->count, 3);
    uint32_t pi = (uint32_t)(pts - t.ev.props);
    ASSERT_EQ(t.ev.props[pi + 1].type, ETWHOST_PT_STRUCT);
    ASSERT_EQ(t.ev.props[pi + 1].name_len, 0);
    ASSERT_EQ(t.ev.props[pi + 1].parent, pi);
    /* The schema was laid out top level first, members contiguous. */
    const struct schema *s = schema_cache_tracelogging(t.cache, &r, NULL);
    ASSERT(s != NULL);
    ASSERT_EQ(s->ntop, 4);
    ASSERT_EQ(s->nfields, 10);
    ASSERT_EQ(s->fields[1].in_type, SCHEMA_IN_STRUCT);
    ASSERT_EQ(s->fields[1].nmembers, 2);
    ASSERT_STREQ(s->fields[s->fields[1].first].name, "x");
    ASSERT_EQ(s->fields[2].arity, SCHEMA_ARITY_TL_VCOUNT);
    tctx_free(&t);
}

TEST(tl_tags_and_out_types)
{
    struct tlmb m;
    tlmb_start(&m, "Tagged", 0x0ABCDEF);
    tlmb_field(&m, "port", 6, 0, 7, 0x05, 0, NULL, 0);   /* Port, field tag 0x05<<21 */
    tlmb_field(&m, "ip", 8, 0, 8, 0, 0, NULL, 0);        /* IPv4 */
    tlmb_field(&m, "flag", 4, 0, 3, 0, 0, NULL, 0);      /* UInt8 as Boolean */
    tlmb_field(&m, "hx", 4, 0, 4, 0, 0, NULL, 0);        /* UInt8 as Hex */
    tlmb_field(&m, "pid", 8, 0, 5, 0, 0, NULL, 0);       /* Pid */
    tlmb_field(&m, "hr", 7, 0, 15, 0, 0, NULL, 0);       /* HResult */
    tlmb_field(&m, "signed", 10, 0, 17, 0, 0, NULL, 0);  /* UInt64 shown Signed */
    tlmb_field(&m, "ch", 6, 0, 2, 0, 0, NULL, 0);        /* UInt16 as char */
    tlmb_field(&m, "js", 2, 0, 12, 0, 0, NULL, 0);       /* Json */
    tlmb_field(&m, "v6", 14, 0, 9, 0, 0, NULL, 0);       /* Binary IPv6 */
    tlmb_end(&m);
    struct plb p = {.n = 0};
    plb_u(&p, 0x5000, 2); /* port 80 in network order */
    plb_bytes(&p, "\x7f\x00\x00\x01", 4);
    plb_u(&p, 1, 1);
    plb_u(&p, 0xAB, 1);
    plb_u(&p, 4242, 4);
    plb_u(&p, 0x80004005u, 4);
    plb_u(&p, (uint64_t)-7, 8);
    plb_u(&p, 'Z', 2);
    plb_bytes(&p, "{\"k\":1}\0", 8);
    plb_u(&p, 16, 2);
    plb_bytes(&p, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);

    struct tctx t;
    tctx_init(&t);
    struct record r;
    rec_make(&r, &prov_a, &m, &p);
    decode_render(&t, &r);
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
    const struct schema *s = schema_cache_tracelogging(t.cache, &r, NULL);
    ASSERT_EQ(s->tags, 0x0ABCDEF);
    ASSERT_EQ(s->fields[0].tags, 0x05u << 21);
    ASSERT_EQ(s->fields[0].out_type, TDH_OUT_PORT);
    ASSERT_EQ(s->fields[2].out_type, TDH_OUT_BOOLEAN);
    ASSERT_EQ(s->fields[3].out_type, TDH_OUT_HEXINT8);
    ASSERT_EQ(s->fields[6].out_type, TDH_OUT_LONG);
    ASSERT_EQ(prop_named(&t.ev, "port")->format, ETWHOST_FMT_PORT);
    ASSERT_EQ(prop_named(&t.ev, "flag")->type, ETWHOST_PT_BOOL);
    ASSERT_EQ(prop_named(&t.ev, "signed")->type, ETWHOST_PT_I64);
    ASSERT_EQ(prop_named(&t.ev, "signed")->num.i, -7);
    ASSERT_EQ(prop_named(&t.ev, "hr")->format, ETWHOST_FMT_HRESULT);
    ASSERT_EQ(prop_named(&t.ev, "js")->format, ETWHOST_FMT_JSON);
    const struct buf *js = event_json(&t.ev);
    ASSERT(js != NULL);
    ASSERT_CONTAINS(js->p, "\"port\":80");
    ASSERT_CONTAINS(js->p, "127.0.0.1");
    ASSERT_CONTAINS(js->p, "\"flag\":true");
    ASSERT_CONTAINS(js->p, "\"ch\":\"Z\"");
    ASSERT_CONTAINS(js->p, "2001:db8::1");
    tctx_free(&t);
}

TEST(tl_custom_field_is_binary)
{
    static const uint8_t schema_bytes[3] = {9, 8, 7};
    struct tlmb m;
    tlmb_start(&m, "Custom", 0);
    tlmb_field(&m, "bond", 25, 0x60, -1, 0, 0, schema_bytes, 3);
    tlmb_simple(&m, "tail", 4, -1);
    tlmb_end(&m);
    struct plb p = {.n = 0};
    plb_u(&p, 4, 2);
    plb_bytes(&p, "\x01\x02\x03\x04", 4);
    plb_u(&p, 5, 1);
    struct tctx t;
    tctx_init(&t);
    struct record r;
    rec_make(&r, &prov_a, &m, &p);
    ASSERT_STREQ(decode_render(&t, &r), "bond=01020304;tail=5");
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
    const struct schema *s = schema_cache_tracelogging(t.cache, &r, NULL);
    ASSERT_EQ(s->fields[0].arity, SCHEMA_ARITY_CUSTOM);
    ASSERT_EQ(s->fields[0].custom_len, 3);
    ASSERT(memcmp(s->fields[0].custom, schema_bytes, 3) == 0);
    tctx_free(&t);
}

TEST(tl_exact_consumption_required)
{
    struct tlmb m;
    tlmb_start(&m, "Short", 0);
    tlmb_simple(&m, "a", 8, -1);
    tlmb_simple(&m, "b", 8, -1);
    tlmb_end(&m);
    struct tctx t;
    tctx_init(&t);
    struct record r;
    /* Two extra bytes: PARTIAL, both fields kept, the error says how many. */
    struct plb p = {.n = 0};
    plb_u(&p, 1, 4);
    plb_u(&p, 2, 4);
    plb_u(&p, 0, 2);
    rec_make(&r, &prov_a, &m, &p);
    ASSERT_STREQ(decode_render(&t, &r), "a=1;b=2");
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_PARTIAL);
    ASSERT_CONTAINS(t.ev.decode_error, "2 bytes left");
    /* Payload cut inside b: 'a' is kept, the error names 'b' and the offset. */
    p.n = 6;
    rec_make(&r, &prov_a, &m, &p);
    ASSERT_STREQ(decode_render(&t, &r), "a=1");
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_PARTIAL);
    ASSERT_CONTAINS(t.ev.decode_error, "field 'b' at payload offset 4");
    /* Exact: FULL. */
    p.n = 8;
    rec_make(&r, &prov_a, &m, &p);
    decode_render(&t, &r);
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
    ASSERT(t.ev.decode_error == NULL);
    tctx_free(&t);
}

/*
 * Two events of one provider with the same id/version/opcode/level/task/
 * keywords/channel but different metadata must get different schemas (the
 * schema-collision bug of other consumers keyed by descriptor).
 */
TEST(tl_same_descriptor_different_metadata)
{
    struct tlmb m1, m2;
    tlmb_start(&m1, "Ev", 0);
    tlmb_simple(&m1, "count", 8, -1);
    tlmb_end(&m1);
    tlmb_start(&m2, "Ev", 0);
    tlmb_simple(&m2, "name", 2, -1);
    tlmb_simple(&m2, "flag", 4, -1);
    tlmb_end(&m2);
    struct plb p1 = {.n = 0}, p2 = {.n = 0};
    plb_u(&p1, 77, 4);
    plb_bytes(&p2, "abc\0", 4);
    plb_u(&p2, 1, 1);
    struct tctx t;
    tctx_init(&t);
    struct record r1, r2;
    rec_make(&r1, &prov_a, &m1, &p1);
    rec_make(&r2, &prov_a, &m2, &p2);
    r1.id = r2.id = 0;
    r1.version = r2.version = 0;
    r1.opcode = r2.opcode = 0;
    r1.channel = r2.channel = 11;
    for (int round = 0; round < 3; round++) {
        ASSERT_STREQ(decode_render(&t, &r1), "count=77");
        ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
        ASSERT_STREQ(decode_render(&t, &r2), "name=616263;flag=1");
        ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
    }
    struct schema_cache_stats st;
    schema_cache_get_stats(t.cache, &st);
    ASSERT_EQ(st.tl_parsed, 2);
    ASSERT_EQ(st.hits, 4);
    /* Same metadata bytes from another provider: a third schema. */
    etwhost_guid other = prov_a;
    other.data1 ^= 1;
    struct record r3;
    rec_make(&r3, &other, &m1, &p1);
    decode_render(&t, &r3);
    schema_cache_get_stats(t.cache, &st);
    ASSERT_EQ(st.tl_parsed, 3);
    ASSERT(schema_cache_tracelogging(t.cache, &r1, NULL) !=
           schema_cache_tracelogging(t.cache, &r3, NULL));
    tctx_free(&t);
}

TEST(tl_provider_name_from_traits)
{
    struct tlmb m;
    tlmb_start(&m, "E", 0);
    tlmb_simple(&m, "x", 4, -1);
    tlmb_end(&m);
    static const uint8_t traits[] = {15, 0, 'M', 'y', '.', 'P', 'r', 'o', 'v', 0,
                                     4,  0, 1,   'g', 0};
    struct plb p = {.n = 0};
    plb_u(&p, 1, 1);
    struct record r;
    rec_make(&r, &prov_a, &m, &p);
    r.tl_traits = traits;
    r.tl_traits_len = sizeof traits;
    struct tctx t;
    tctx_init(&t);
    ASSERT(schema_cache_provider_name(t.cache, &prov_a) == NULL);
    ASSERT_STREQ(schema_cache_record_provider_name(t.cache, &r), "My.Prov");
    ASSERT_STREQ(schema_cache_provider_name(t.cache, &prov_a), "My.Prov");
    decode_render(&t, &r);
    ASSERT_STREQ(t.ev.hdr.provider_name, "My.Prov");
    const char *nm;
    size_t nl;
    ASSERT_EQ(tl_traits_name(traits, 3, &nm, &nl), ERR_FORMAT);
    tctx_free(&t);
}

TEST(tl_malformed_metadata_is_reported_once)
{
    struct tctx t;
    tctx_init(&t);
    struct plb p = {.n = 4};
    memset(p.b, 0, 4);
    struct record r;
    struct {
        const char *what;
        uint8_t blob[32];
        size_t len;
        const char *msg;
    } cases[] = {
        {"short", {2, 0}, 2, "too short"},
        {"size past end", {40, 0, 0, 'E', 0}, 5, "does not fit"},
        {"no event NUL", {5, 0, 0, 'E', 'x'}, 5, "event name"},
        {"field no type", {6, 0, 0, 'E', 0, 'f'}, 6, "no terminating NUL"},
        {"type missing", {7, 0, 0, 'E', 0, 'f', 0}, 7, "no type byte"},
        {"null in-type", {8, 0, 0, 'E', 0, 'f', 0, 0}, 8, "in-type 0"},
        {"struct short", {8, 0, 0, 'E', 0, 'f', 0, 24 | 0x80}, 8, "OutMeta"},
        {"struct members", {9, 0, 0, 'E', 0, 'f', 0, 24 | 0x80, 3}, 9, "declares 3 members"},
        {"ccount short", {9, 0, 0, 'E', 0, 'f', 0, 8 | 0x20, 1}, 9, "count"},
        {"custom past", {11, 0, 0, 'E', 0, 'f', 0, 8 | 0x60, 9, 0, 1}, 11, "custom schema"},
        {"tags long", {8, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0}, 8, "tags"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tlmb m;
        memcpy(m.b, cases[i].blob, cases[i].len);
        m.n = cases[i].len;
        rec_make(&r, &prov_a, &m, &p);
        for (int k = 0; k < 2; k++) {
            decode_render(&t, &r);
            ASSERT_MSG(t.ev.hdr.decode_status == ETWHOST_DECODE_NONE, "%s: status %u",
                       cases[i].what, t.ev.hdr.decode_status);
            ASSERT_MSG(t.ev.decode_error && strstr(t.ev.decode_error, cases[i].msg),
                       "%s: error '%s'", cases[i].what,
                       t.ev.decode_error ? t.ev.decode_error : "(null)");
        }
    }
    struct schema_cache_stats st;
    schema_cache_get_stats(t.cache, &st);
    ASSERT_EQ(st.tl_errors, sizeof cases / sizeof cases[0]);
    ASSERT_EQ(st.tl_parsed, sizeof cases / sizeof cases[0]);
    tctx_free(&t);
}

TEST(tl_struct_nesting_is_bounded)
{
    /* 40 nested single-member structs: rejected, not a stack overflow. */
    struct tlmb m;
    tlmb_start(&m, "Deep", 0);
    for (int i = 0; i < 40; i++)
        tlmb_field(&m, "s", 24, 0, 1, 0, 0, NULL, 0);
    tlmb_simple(&m, "leaf", 4, -1);
    tlmb_end(&m);
    struct plb p = {.n = 1};
    p.b[0] = 1;
    struct record r;
    rec_make(&r, &prov_a, &m, &p);
    struct tctx t;
    tctx_init(&t);
    decode_render(&t, &r);
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_NONE);
    ASSERT_CONTAINS(t.ev.decode_error, "nested deeper");
    /* 15 levels with arrays of structs at each level still decode. */
    tlmb_start(&m, "Fifteen", 0);
    for (int i = 0; i < 15; i++)
        tlmb_field(&m, "s", 24, 0x20, 1, 0, 1, NULL, 0);
    tlmb_simple(&m, "leaf", 4, -1);
    tlmb_end(&m);
    rec_make(&r, &prov_a, &m, &p);
    decode_render(&t, &r);
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
    tctx_free(&t);
}

/* After warm-up, decoding TraceLogging events allocates nothing. */
TEST(tl_hot_path_does_not_allocate)
{
    struct tlmb m;
    tlmb_start(&m, "Hot", 0);
    tlmb_simple(&m, "s", 1, -1);
    tlmb_simple(&m, "g", 15, -1);
    tlmb_field(&m, "arr", 8, 0x40, -1, 0, 0, NULL, 0);
    tlmb_end(&m);
    struct plb p = {.n = 0};
    plb_w(&p, "hello", 1);
    plb_bytes(&p, "0123456789abcdef", 16);
    plb_u(&p, 5, 2);
    for (int i = 0; i < 5; i++)
        plb_u(&p, (uint64_t)i, 4);
    struct record r;
    rec_make(&r, &prov_a, &m, &p);
    struct tctx t;
    tctx_init(&t);
    decode_render(&t, &r);
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
    mem_fail_after(1); /* any allocation from now on fails */
    for (int i = 0; i < 1000; i++) {
        arena_reset(&t.arena);
        event_reset(&t.ev);
        ASSERT_OK(decode_record(&t.d, &r, &t.ev));
        ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
    }
    mem_fail_after(0);
    tctx_free(&t);
}

/* ---- Corpus ---------------------------------------------------------------------- */

/* Run a command and return its stdout (SKIP if python3 is missing). */
static char *run_py(const char *const *argv)
{
    if (t_under_wine())
        SKIP("the tlcheck.py oracle is a Linux python3 program (not run under Wine)");
    struct t_run rr = t_exec(argv, NULL, NULL);
    if (rr.status == 127 || (rr.status != 0 && rr.err && strstr(rr.err, "No such file")))
        SKIP("python3 not available: %s", rr.err ? rr.err : "");
    ASSERT_MSG(rr.status == 0, "%s failed (%d): %s", argv[1], rr.status, rr.err);
    char *out = rr.out;
    rr.out = NULL;
    t_run_free(&rr);
    return out;
}

struct corpus_result {
    unsigned tl_events;
    unsigned exact; /* FULL and identical to the reference */
};

/*
 * Decode every TraceLogging record of path and compare each with the
 * reference line, in file order.
 */
static struct corpus_result check_file(const char *path)
{
    const char *corpus = t_corpus_or_skip();
    const char *tools = t_path("%s/../tools", corpus);
    const char *script = t_path("%s/tests/scripts/tl_oracle.py", t_root());
    const char *argv[] = {"python3", script, tools, path, NULL};
    char *ref = run_py(argv);
    const char *tl_argv[] = {"python3", t_path("%s/tlcheck.py", tools), path, NULL};
    char *tlc = run_py(tl_argv);

    struct tctx t;
    tctx_init(&t);
    struct etl_options opt = {.file_order = 1};
    struct etl_reader *rd = NULL;
    struct errbuf eb;
    ASSERT_MSG(etl_open(path, &opt, &rd, &eb) == 0, "%s", eb.msg);
    struct record rec;
    struct corpus_result res = {0, 0};
    const char *line = ref;
    struct buf mine = BUF_INIT;
    int rc;
    while ((rc = etl_next(rd, &rec, &eb)) == 1) {
        if (rec.tl_meta == NULL)
            continue;
        res.tl_events++;
        const char *nl = strchr(line, '\n');
        ASSERT_MSG(nl != NULL, "%s: reference has fewer events than the decoder (%u)", path,
                   res.tl_events);
        decode_render(&t, &rec);
        buf_reset(&mine);
        buf_printf(&mine, "%s: %s", t.ev.hdr.event_name, t.out.p ? t.out.p : "");
        size_t ll = (size_t)(nl - line);
        int same = mine.len == ll && memcmp(mine.p, line, ll) == 0;
        ASSERT_MSG(same && t.ev.hdr.decode_status == ETWHOST_DECODE_FULL,
                   "%s: TraceLogging event %u differs (status %u, %s)\n  mine: %.*s\n  ref:  %.*s",
                   path, res.tl_events, t.ev.hdr.decode_status,
                   t.ev.decode_error ? t.ev.decode_error : "no error", (int)mine.len, mine.p,
                   (int)ll, line);
        res.exact++;
        line = nl + 1;
    }
    ASSERT_MSG(rc == 0, "%s", eb.msg);
    ASSERT_MSG(*line == '\0', "%s: reference has more events than the decoder (%u)", path,
               res.tl_events);
    /* tlcheck.py's count of exactly consumed events agrees. */
    char want[64];
    snprintf(want, sizeof want, "\"exact\": %u}", res.exact);
    ASSERT_CONTAINS(tlc, want);
    printf("%s: %u of %u TraceLogging events identical to the reference\n", path, res.exact,
           res.tl_events);
    buf_free(&mine);
    etl_close(rd);
    mem_free(ref);
    mem_free(tlc);
    tctx_free(&t);
    return res;
}

TEST(tl_corpus_matches_reference)
{
    const char *corpus = t_corpus_or_skip();
    static const char *const files[] = {
        "etl/etlparser__AMSITrace.etl", "etl/etlparser__lxcore_kernel.etl",
        "etl/perfview__SelfDescribingSingleEvent.etl", "etl/perfview__primitive-types.etl",
        "etl/sonde__test.etl", "large/perfview__diaghub.user_paged.1.etl"};
    static const unsigned expected[] = {19, 2, 1, 5, 9, 256};
    unsigned total = 0, exact = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        const char *path = t_path("%s/%s", corpus, files[i]);
        FILE *f = fopen(path, "rb");
        if (f == NULL) {
            printf("%s: absent, skipped\n", path);
            continue;
        }
        fclose(f);
        struct corpus_result r = check_file(path);
        ASSERT_EQ(r.tl_events, expected[i]);
        total += r.tl_events;
        exact += r.exact;
    }
    ASSERT(total > 0);
    printf("corpus: %u of %u TraceLogging events exact\n", exact, total);
    ASSERT_EQ(exact, total);
}

/* primitive-types: values as TraceEvent's baseline shows them. */
TEST(tl_primitive_types_baseline)
{
    const char *corpus = t_corpus_or_skip();
    const char *path = t_path("%s/etl/perfview__primitive-types.etl", corpus);
    struct tctx t;
    tctx_init(&t);
    struct etl_reader *rd = NULL;
    struct errbuf eb;
    ASSERT_MSG(etl_open(path, NULL, &rd, &eb) == 0, "%s", eb.msg);
    struct record rec;
    static const char *const names[] = {"Mercury", "Venus", "Earth", "Mars", "Jupiter"};
    static const int64_t i16[] = {-51, -95, -65, -29, -69};
    static const int bools[] = {0, 1, 0, 0, 1};
    static const int chars[] = {77, 86, 69, 77, 74};
    static const char *const guids[] = {"0ad614c4-0ef4-4225-8", "e04ff801-9ea3-494f-a",
                                        "c7a6c80e-f2a6-4220-a", "0a922cee-67c1-4108-b",
                                        "bb11b97b-1110-4eb6-b"};
    int n = 0;
    while (etl_next(rd, &rec, &eb) == 1) {
        if (rec.tl_meta == NULL)
            continue;
        ASSERT(n < 5);
        decode_render(&t, &rec);
        ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
        ASSERT_STREQ(t.ev.hdr.event_name, "PrimitiveTypesTest");
        ASSERT_STREQ(t.ev.hdr.provider_name, "solar_system");
        const struct buf *js = event_json(&t.ev);
        ASSERT(js != NULL);
        char want[128];
        snprintf(want, sizeof want, "\"string_type\":\"%s\"", names[n]);
        ASSERT_CONTAINS(js->p, want);
        snprintf(want, sizeof want, "\"boolean_type\":%s", bools[n] ? "true" : "false");
        ASSERT_CONTAINS(js->p, want);
        ASSERT_EQ(event_prop_bits(prop_named(&t.ev, "char_type")), chars[n]);
        snprintf(want, sizeof want, "\"int16_type\":%lld", (long long)i16[n]);
        ASSERT_CONTAINS(js->p, want);
        snprintf(want, sizeof want, "\"int32_type\":%lld", (long long)i16[n] * 2);
        ASSERT_CONTAINS(js->p, want);
        snprintf(want, sizeof want, "\"uint16_type\":%lld", (long long)-i16[n]);
        ASSERT_CONTAINS(js->p, want);
        /*
         * The metadata declares int64_type as UInt64 (in-type 10, no out-type);
         * TraceEvent prints every 64-bit integer signed (-204).  The bits agree.
         */
        const etwhost_prop *i64p = prop_named(&t.ev, "int64_type");
        ASSERT_EQ(i64p->type, ETWHOST_PT_U64);
        ASSERT_EQ((int64_t)i64p->num.u, i16[n] * 4);
        snprintf(want, sizeof want, "\"uint64_type\":%lld", (long long)-i16[n] * 4);
        ASSERT_CONTAINS(js->p, want);
        ASSERT_CONTAINS(js->p, guids[n]);
        /*
         * The program logged the same instant twice: SYSTEMTIME (ms precision)
         * equals the FILETIME, which ends in whole milliseconds.  (The
         * baseline's ".03" for every SYSTEMTIME does not match the recorded
         * milliseconds, e.g. 0x031f = 799 in the first event.)
         */
        const etwhost_prop *ft = prop_named(&t.ev, "file_time_type");
        const etwhost_prop *st = prop_named(&t.ev, "system_time_type");
        ASSERT_EQ(ft->type, ETWHOST_PT_FILETIME);
        ASSERT_EQ(st->type, ETWHOST_PT_SYSTEMTIME);
        ASSERT_EQ(st->num.i, ft->num.i);
        ASSERT_CONTAINS(js->p, "\"file_time_type\":\"2021-09-09T14:59:3");
        n++;
    }
    ASSERT_EQ(n, 5);
    etl_close(rd);
    tctx_free(&t);
}
