/*
 * Tests of the schema model, the schema cache and the embedded-TDH source:
 * builder validation, key priorities and negative entries, map formatting,
 * TRACE_EVENT_INFO / EVENT_MAP_INFO parsing (hand-made blobs, serialised
 * round trips, malformed blobs) and the TDH metadata of real merged traces.
 */
#include "test.h"

#include "core/arena.h"
#include "core/buf.h"
#include "core/mem.h"
#include "decode/decode.h"
#include "etl/etl_reader.h"
#include "schema/schema.h"
#include "schema/schema_cache.h"
#include "schema/tdh_embedded.h"
#include "test_decode_util.h"

static const etwhost_guid prov_m = {0xa0c1853b, 0x5c40, 0x4b15,
                                    {0x87, 0x66, 0x3c, 0xf1, 0xc5, 0x8f, 0x98, 0x5a}};

/* Build a schema or fail the test; returns it (mem-owned). */
static struct schema *build(struct schema_builder *b, uint32_t ntop)
{
    struct schema *s = NULL;
    struct errbuf eb;
    int rc = schema_builder_finish(b, ntop, NULL, &s, &eb);
    ASSERT_MSG(rc == 0, "finish: %s", eb.msg);
    schema_builder_free(b);
    return s;
}

TEST(schema_builder_validates_structure)
{
    struct errbuf eb;
    struct schema *s = NULL;
    struct schema_builder b;

    /* A struct whose members point back at itself. */
    schema_builder_init(&b, SCHEMA_SRC_MANIFEST);
    struct schema_field f = tdu_field("s", SCHEMA_IN_STRUCT, 0);
    f.first = 0;
    f.nmembers = 1;
    ASSERT_EQ(schema_builder_add(&b, &f), 0);
    ASSERT_EQ(schema_builder_finish(&b, 1, NULL, &s, &eb), ERR_FORMAT);
    ASSERT_CONTAINS(eb.msg, "members");
    schema_builder_free(&b);

    /* Members outside the array. */
    schema_builder_init(&b, SCHEMA_SRC_MANIFEST);
    f.first = 1;
    f.nmembers = 3;
    schema_builder_add(&b, &f);
    struct schema_field m = tdu_field("m", TDH_IN_UINT8, 0);
    schema_builder_add(&b, &m);
    ASSERT_EQ(schema_builder_finish(&b, 1, NULL, &s, &eb), ERR_FORMAT);
    ASSERT_CONTAINS(eb.msg, "outside");
    schema_builder_free(&b);

    /* A count taken from a later field, and from a string. */
    schema_builder_init(&b, SCHEMA_SRC_MANIFEST);
    struct schema_field a = tdu_field("arr", TDH_IN_UINT32, 0);
    a.arity = SCHEMA_ARITY_FIELD;
    a.count = 1;
    schema_builder_add(&b, &a);
    struct schema_field c = tdu_field("n", TDH_IN_UINT32, 0);
    schema_builder_add(&b, &c);
    ASSERT_EQ(schema_builder_finish(&b, 2, NULL, &s, &eb), ERR_FORMAT);
    ASSERT_CONTAINS(eb.msg, "not an earlier field");
    schema_builder_free(&b);

    schema_builder_init(&b, SCHEMA_SRC_MANIFEST);
    struct schema_field str = tdu_field("str", TDH_IN_UNICODESTRING, 0);
    schema_builder_add(&b, &str);
    struct schema_field bin = tdu_field("bin", TDH_IN_BINARY, 0);
    bin.len_kind = SCHEMA_LEN_FIELD;
    bin.length = 0;
    schema_builder_add(&b, &bin);
    ASSERT_EQ(schema_builder_finish(&b, 2, NULL, &s, &eb), ERR_FORMAT);
    ASSERT_CONTAINS(eb.msg, "is not an integer");
    schema_builder_free(&b);

    /* Unknown in-type. */
    schema_builder_init(&b, SCHEMA_SRC_MANIFEST);
    struct schema_field u = tdu_field("u", 77, 0);
    schema_builder_add(&b, &u);
    ASSERT_EQ(schema_builder_finish(&b, 1, NULL, &s, &eb), ERR_FORMAT);
    ASSERT_CONTAINS(eb.msg, "in-type 77");
    schema_builder_free(&b);

    /* A good one: names copied, strings owned by the schema. */
    schema_builder_init(&b, SCHEMA_SRC_MANIFEST);
    char nm[8] = "count";
    struct schema_field n = tdu_field(nm, TDH_IN_UINT16, 0);
    schema_builder_add(&b, &n);
    struct schema_field v = tdu_field("values", TDH_IN_INT32, 0);
    v.arity = SCHEMA_ARITY_FIELD;
    v.count = 0;
    schema_builder_add(&b, &v);
    schema_builder_set_name(&b, SCHEMA_NAME_EVENT, "Ev", 2);
    memset(nm, 'x', 5);
    s = build(&b, 2);
    ASSERT_STREQ(s->fields[0].name, "count");
    ASSERT_STREQ(s->event_name, "Ev");
    ASSERT(s->task_name == NULL);
    ASSERT_EQ(s->fields[1].pt, ETWHOST_PT_I32);
    schema_free(s);
}

TEST(schema_map_value_and_bitmap)
{
    const uint64_t vals[] = {5, 1, 3};
    const char *labels[] = {"Five ", "One", "Three"};
    const size_t lens[] = {5, 3, 5};
    struct schema_map *m = NULL;
    ASSERT_OK(schema_map_new("V", 1, SCHEMA_MAP_VALUE, vals, labels, lens, 3, &m));
    ASSERT_STREQ(schema_map_lookup(m, 5), "Five"); /* trailing space trimmed */
    ASSERT_STREQ(schema_map_lookup(m, 1), "One");
    ASSERT(schema_map_lookup(m, 2) == NULL);
    mem_free(m);

    const uint64_t masks[] = {0, 1, 2, 4};
    const char *bl[] = {"None", "Read", "Write", "Exec"};
    const size_t bll[] = {4, 4, 5, 4};
    ASSERT_OK(schema_map_new("B", 1, SCHEMA_MAP_BITMAP, masks, bl, bll, 4, &m));
    char out[64];
    ASSERT_EQ(schema_map_format(m, 5, out, sizeof out), strlen("Read | Exec"));
    ASSERT_STREQ(out, "Read | Exec");
    schema_map_format(m, 0, out, sizeof out);
    ASSERT_STREQ(out, "None");
    ASSERT_EQ(schema_map_format(m, 8, out, sizeof out), 0);
    /* Truncation keeps whole labels. */
    schema_map_format(m, 7, out, 12);
    ASSERT_STREQ(out, "Read");
    mem_free(m);
}

TEST(schema_cache_keys_priorities_negative)
{
    struct schema_cache *c = schema_cache_new(0);
    struct schema_key k = {.kind = SCHEMA_KEY_MANIFEST, .version = 1, .id = 7, .guid = prov_m};
    ASSERT(schema_cache_find(c, &k) == NULL);
    ASSERT_OK(schema_cache_insert_negative(c, &k));
    const struct schema *s = schema_cache_find(c, &k);
    ASSERT(s != NULL && (s->flags & SCHEMA_F_NEGATIVE));

    /* A manifest schema replaces the negative entry ... */
    struct schema_builder b;
    schema_builder_init(&b, SCHEMA_SRC_MANIFEST);
    struct schema_field f = tdu_field("a", TDH_IN_UINT8, 0);
    schema_builder_add(&b, &f);
    struct schema *man = build(&b, 1);
    ASSERT_OK(schema_cache_insert(c, &k, man));
    ASSERT(schema_cache_find(c, &k) == man);
    /* ... a second manifest one is a duplicate (freed) ... */
    schema_builder_init(&b, SCHEMA_SRC_MANIFEST);
    schema_builder_add(&b, &f);
    ASSERT_EQ(schema_cache_insert(c, &k, build(&b, 1)), ERR_EXISTS);
    /* ... embedded TDH metadata wins over it (the old one is retired, not freed). */
    schema_builder_init(&b, SCHEMA_SRC_TDH_EMBEDDED);
    schema_builder_add(&b, &f);
    struct schema *emb = build(&b, 1);
    ASSERT_OK(schema_cache_insert(c, &k, emb));
    ASSERT(schema_cache_find(c, &k) == emb);
    ASSERT_STREQ(man->fields[0].name, "a"); /* still readable */

    /* Classic keys differ by opcode and pointer size. */
    struct schema_key kc = {.kind = SCHEMA_KEY_CLASSIC, .version = 2, .opcode = 10,
                            .ptr_size = 8, .guid = prov_m};
    ASSERT(schema_cache_find(c, &kc) == NULL);
    static struct schema borrowed;
    borrowed.source = SCHEMA_SRC_MOF;
    ASSERT_OK(schema_cache_insert_borrowed(c, &kc, &borrowed));
    ASSERT(schema_cache_find(c, &kc) == &borrowed);
    kc.ptr_size = 4;
    ASSERT(schema_cache_find(c, &kc) == NULL);
    kc.ptr_size = 8;
    schema_cache_forget_borrowed(c);
    ASSERT(schema_cache_find(c, &kc) == NULL);

    /* A classic schema for either pointer size serves both, even over a negative entry. */
    struct schema_key k4 = kc, k0 = kc;
    k4.ptr_size = 4;
    k4.opcode = k0.opcode = 11;
    k0.ptr_size = 0;
    ASSERT_OK(schema_cache_insert_negative(c, &k4));
    ASSERT(schema_cache_find(c, &k4)->flags & SCHEMA_F_NEGATIVE);
    schema_builder_init(&b, SCHEMA_SRC_MOF);
    schema_builder_add(&b, &f);
    struct schema *any = build(&b, 1);
    ASSERT_OK(schema_cache_insert(c, &k0, any));
    ASSERT(schema_cache_find(c, &k4) == any);
    k4.ptr_size = 8;
    ASSERT(schema_cache_find(c, &k4) == any);

    /* Many keys: the table grows and everything is still found. */
    for (unsigned i = 0; i < 5000; i++) {
        struct schema_key ki = {.kind = SCHEMA_KEY_MANIFEST, .id = (uint16_t)i, .guid = prov_m};
        ki.version = 9;
        ASSERT_OK(schema_cache_insert_negative(c, &ki));
    }
    for (unsigned i = 0; i < 5000; i++) {
        struct schema_key ki = {.kind = SCHEMA_KEY_MANIFEST, .id = (uint16_t)i, .guid = prov_m};
        ki.version = 9;
        ASSERT(schema_cache_find(c, &ki) != NULL);
    }
    struct schema_cache_stats st;
    schema_cache_get_stats(c, &st);
    ASSERT_EQ(st.duplicates, 1);
    ASSERT_EQ(st.replaced, 1);
    ASSERT_EQ(st.schemas, 2);
    schema_cache_free(c);
}

TEST(schema_cache_byte_cap)
{
    struct schema_cache *c = schema_cache_new(2000);
    struct schema_builder b;
    int refused = 0;
    for (unsigned i = 0; i < 50; i++) {
        schema_builder_init(&b, SCHEMA_SRC_MANIFEST);
        struct schema_field f = tdu_field("a_rather_long_field_name", TDH_IN_UINT8, 0);
        schema_builder_add(&b, &f);
        struct schema_key k = {.kind = SCHEMA_KEY_MANIFEST, .id = (uint16_t)i, .guid = prov_m};
        int rc = schema_cache_insert(c, &k, build(&b, 1));
        if (rc == ERR_RANGE)
            refused++;
        else
            ASSERT_OK(rc);
    }
    ASSERT(refused > 0);
    struct schema_cache_stats st;
    schema_cache_get_stats(c, &st);
    ASSERT(st.bytes <= 2000);
    ASSERT_EQ(st.refused, (uint64_t)refused);

    /* Beyond the cap TraceLogging schemas live in the caller's arena. */
    struct tlmb m;
    tlmb_start(&m, "E", 0);
    tlmb_simple(&m, "x", 4, -1);
    tlmb_end(&m);
    struct plb p = {.n = 1};
    p.b[0] = 3;
    struct record r;
    rec_make(&r, &prov_m, &m, &p);
    ASSERT(schema_cache_tracelogging(c, &r, NULL) == NULL);
    struct arena a = ARENA_INIT;
    const struct schema *s = schema_cache_tracelogging(c, &r, &a);
    ASSERT(s != NULL && s->nfields == 1);
    schema_cache_get_stats(c, &st);
    ASSERT_EQ(st.transient, 1);
    arena_free(&a);
    schema_cache_free(c);
}

/* ---- TDH blobs --------------------------------------------------------------------- */

/* A manifest-like schema with every field shape TDH can express. */
static struct schema *sample_schema(struct schema_cache *c)
{
    struct schema_builder b;
    schema_builder_init(&b, SCHEMA_SRC_MANIFEST);
    b.hdr.provider = prov_m;
    b.hdr.id = 160;
    b.hdr.version = 2;
    b.hdr.level = 4;
    b.hdr.opcode = 1;
    b.hdr.task = 3;
    b.hdr.keywords = 0x8000000000000010ull;
    schema_builder_set_name(&b, SCHEMA_NAME_PROVIDER, "Microsoft-Windows-Test", 22);
    schema_builder_set_name(&b, SCHEMA_NAME_EVENT, "PacketSeen", 10);
    schema_builder_set_name(&b, SCHEMA_NAME_TASK, "Packets", 7);
    schema_builder_set_name(&b, SCHEMA_NAME_OPCODE, "win:Start", 9);
    schema_builder_set_name(&b, SCHEMA_NAME_LEVEL, "win:Informational", 17);
    schema_builder_set_name(&b, SCHEMA_NAME_KEYWORDS, "Payload", 7);
    schema_builder_set_name(&b, SCHEMA_NAME_MESSAGE, "Packet %1 ünïcødé", strlen("Packet %1 ünïcødé"));
    /* 0 dir (map), 1 len, 2 payload(len=@1), 3 n, 4 items[@3] struct{5 id,6 name}, 7 ip6 */
    struct schema_field f = tdu_field("Dir", TDH_IN_UINT16, 0);
    f.map = schema_cache_map_slot(c, &prov_m, "DirMap", 6);
    schema_builder_add(&b, &f);
    f = tdu_field("Len", TDH_IN_UINT16, 0);
    schema_builder_add(&b, &f);
    f = tdu_field("Payload", TDH_IN_BINARY, TDH_OUT_HEXBINARY);
    f.len_kind = SCHEMA_LEN_FIELD;
    f.length = 1;
    schema_builder_add(&b, &f);
    f = tdu_field("N", TDH_IN_UINT32, 0);
    schema_builder_add(&b, &f);
    f = tdu_field("Items", SCHEMA_IN_STRUCT, 0);
    f.arity = SCHEMA_ARITY_FIELD;
    f.count = 3;
    f.first = 6;
    f.nmembers = 2;
    schema_builder_add(&b, &f);
    f = tdu_field("Addr", TDH_IN_BINARY, TDH_OUT_IPV6);
    schema_builder_add(&b, &f);
    f = tdu_field("Id", TDH_IN_UINT64, TDH_OUT_HEXINT64);
    f.flags = SCHEMA_FF_HAS_TAGS;
    f.tags = 0x123;
    schema_builder_add(&b, &f);
    f = tdu_field("Name", TDH_IN_UNICODESTRING, TDH_OUT_STRING);
    f.len_kind = SCHEMA_LEN_FIXED;
    f.length = 4;
    schema_builder_add(&b, &f);
    return build(&b, 6);
}

TEST(tdh_event_info_round_trip)
{
    struct schema_cache *c = schema_cache_new(0);
    struct schema *s = sample_schema(c);
    struct buf blob = BUF_INIT;
    ASSERT_OK(tdhinfo_build(s, TDH_DECODING_XMLFILE, &blob));
    ASSERT(blob.len > TDH_EVENT_INFO_HEADER + 8 * 24);
    struct schema *back = NULL;
    struct schema_key key;
    struct errbuf eb;
    int rc = tdh_parse_event_info((const uint8_t *)blob.p, blob.len, SCHEMA_SRC_MANIFEST, c,
                                  &back, &key, &eb);
    ASSERT_MSG(rc == 0, "%s", eb.msg);
    ASSERT_EQ(key.kind, SCHEMA_KEY_MANIFEST);
    ASSERT_EQ(key.id, 160);
    ASSERT_EQ(key.version, 2);
    ASSERT(guid_eq(&key.guid, &prov_m));
    char d1[4096], d2[4096];
    schema_describe(s, d1, sizeof d1);
    schema_describe(back, d2, sizeof d2);
    ASSERT_STREQ(d2, d1);
    ASSERT_STREQ(back->message, s->message);
    ASSERT_STREQ(back->keywords_name, "Payload");
    ASSERT_STREQ(back->level_name, "win:Informational");
    ASSERT_EQ_U64(back->keywords, s->keywords);
    ASSERT(back->fields[0].map == s->fields[0].map); /* the same cache slot */
    /* A schema cannot be serialised with TraceLogging-only shapes. */
    struct tlmb m;
    tlmb_start(&m, "E", 0);
    tlmb_field(&m, "v", 4, 0x40, -1, 0, 0, NULL, 0);
    tlmb_end(&m);
    struct plb p = {.n = 0};
    struct record r;
    rec_make(&r, &prov_m, &m, &p);
    ASSERT_EQ(tdhinfo_build(schema_cache_tracelogging(c, &r, NULL), 0, &blob), ERR_UNSUPPORTED);
    buf_free(&blob);
    schema_free(s);
    schema_free(back);
    schema_cache_free(c);
}

/* Raw EVENT_MAP_INFO blob: header + n entries + strings. */
static size_t map_blob(uint8_t *b, const char *name, uint32_t flag, uint32_t vt,
                       const uint32_t *vals, const char *const *labels, uint32_t n)
{
    memset(b, 0, 16 + 8 * n);
    size_t o = 16 + 8 * (size_t)n;
#define W32(at, v) do { uint32_t v_ = (v); memcpy(b + (at), &v_, 4); } while (0)
#define WSTR(s) do { for (const char *q_ = (s); *q_; q_++) { b[o++] = (uint8_t)*q_; b[o++] = 0; } b[o++] = 0; b[o++] = 0; } while (0)
    W32(0, (uint32_t)o);
    WSTR(name);
    W32(4, flag);
    W32(8, n);
    W32(12, vt);
    for (uint32_t i = 0; i < n; i++) {
        W32(16 + 8 * i, (uint32_t)o);
        WSTR(labels[i]);
        if (vt == 1 && vals) {
            W32(16 + 8 * i + 4, (uint32_t)o);
            char num[16];
            snprintf(num, sizeof num, "%u", vals[i]);
            WSTR(num);
        } else if (vals) {
            W32(16 + 8 * i + 4, vals[i]);
        }
    }
#undef W32
#undef WSTR
    return o;
}

TEST(tdh_map_info_kinds)
{
    uint8_t b[1024];
    struct schema_map *m = NULL;
    struct errbuf eb;
    char out[128];
    const uint32_t vals[] = {0, 1, 4};
    const char *const labels[] = {"Zero ", "One ", "Four "};

    /* Manifest value map. */
    size_t n = map_blob(b, "VMap", TDH_MAP_MANIFEST_VALUEMAP, 0, vals, labels, 3);
    ASSERT_OK(tdh_parse_map_info(b, n, &m, &eb));
    ASSERT_STREQ(m->name, "VMap");
    ASSERT_EQ(m->kind, SCHEMA_MAP_VALUE);
    ASSERT_STREQ(schema_map_lookup(m, 4), "Four");
    /* Round trip through the serialiser. */
    struct buf sb = BUF_INIT;
    ASSERT_OK(tdhmap_build(m, &sb));
    struct schema_map *m2 = NULL;
    ASSERT_OK(tdh_parse_map_info((const uint8_t *)sb.p, sb.len, &m2, &eb));
    ASSERT_EQ(m2->count, 3);
    ASSERT_STREQ(schema_map_lookup(m2, 1), "One");
    buf_free(&sb);
    mem_free(m2);
    mem_free(m);

    /* Manifest bitmap: masks. */
    n = map_blob(b, "BMap", TDH_MAP_MANIFEST_BITMAP, 0, vals, labels, 3);
    ASSERT_OK(tdh_parse_map_info(b, n, &m, &eb));
    schema_map_format(m, 5, out, sizeof out);
    ASSERT_STREQ(out, "One | Four");
    mem_free(m);

    /* WBEM value map without ValueMap: entry i means value i. */
    n = map_blob(b, "W", TDH_MAP_WBEM_VALUEMAP | TDH_MAP_WBEM_NO_MAP, 0, NULL, labels, 3);
    ASSERT_OK(tdh_parse_map_info(b, n, &m, &eb));
    ASSERT_STREQ(schema_map_lookup(m, 2), "Four");
    mem_free(m);

    /* WBEM bitmap without BitMap: entry i means bit i. */
    n = map_blob(b, "WB", TDH_MAP_WBEM_BITMAP | TDH_MAP_WBEM_NO_MAP, 0, NULL, labels, 3);
    ASSERT_OK(tdh_parse_map_info(b, n, &m, &eb));
    schema_map_format(m, 6, out, sizeof out);
    ASSERT_STREQ(out, "One | Four");
    mem_free(m);

    /* WBEM ValueMap with flag values given as strings. */
    const uint32_t fl[] = {1, 2, 8};
    n = map_blob(b, "WF", TDH_MAP_WBEM_VALUEMAP | TDH_MAP_WBEM_FLAG, 1, fl, labels, 3);
    ASSERT_OK(tdh_parse_map_info(b, n, &m, &eb));
    ASSERT_EQ(m->kind, SCHEMA_MAP_BITMAP);
    schema_map_format(m, 9, out, sizeof out);
    ASSERT_STREQ(out, "Zero | Four");
    mem_free(m);

    /* Pattern maps are skipped; truncated blobs are errors. */
    n = map_blob(b, "P", TDH_MAP_MANIFEST_PATTERNMAP, 0, vals, labels, 3);
    ASSERT_EQ(tdh_parse_map_info(b, n, &m, &eb), ERR_UNSUPPORTED);
    n = map_blob(b, "VMap", TDH_MAP_MANIFEST_VALUEMAP, 0, vals, labels, 3);
    ASSERT_EQ(tdh_parse_map_info(b, 20, &m, &eb), ERR_FORMAT);
    ASSERT_EQ(tdh_parse_map_info(b, n - 1, &m, &eb), ERR_FORMAT);
    ASSERT_CONTAINS(eb.msg, "no terminating NUL");
    ASSERT_EQ(tdh_parse_map_info(b, 8, &m, &eb), ERR_FORMAT);
}

TEST(tdh_event_info_malformed)
{
    struct schema_cache *c = schema_cache_new(0);
    struct schema *s = sample_schema(c);
    struct buf blob = BUF_INIT;
    ASSERT_OK(tdhinfo_build(s, TDH_DECODING_XMLFILE, &blob));
    uint8_t *b = (uint8_t *)blob.p;
    struct schema *out = NULL;
    struct schema_key key;
    struct errbuf eb;
    /* Every truncation fails cleanly (ASan would catch a read past the end). */
    for (size_t n = 0; n < blob.len; n++) {
        uint8_t *copy = mem_alloc(n ? n : 1);
        memcpy(copy, b, n);
        int rc = tdh_parse_event_info(copy, n, 0, c, &out, &key, &eb);
        ASSERT_MSG(rc == ERR_FORMAT, "length %zu: rc %d", n, rc);
        mem_free(copy);
    }
    /* A property count that does not fit, a name offset outside the blob. */
    uint32_t big = 100000;
    memcpy(b + 0x64, &big, 4);
    ASSERT_EQ(tdh_parse_event_info(b, blob.len, 0, c, &out, &key, &eb), ERR_FORMAT);
    uint32_t pc = s->nfields;
    memcpy(b + 0x64, &pc, 4);
    uint32_t off = (uint32_t)blob.len + 10;
    memcpy(b + 0x70 + 4, &off, 4);
    ASSERT_EQ(tdh_parse_event_info(b, blob.len, 0, c, &out, &key, &eb), ERR_FORMAT);
    ASSERT_CONTAINS(eb.msg, "outside");
    /* WPP / TraceLogging infos are not used. */
    uint32_t ds = TDH_DECODING_TLG;
    memcpy(b + 0x30, &ds, 4);
    ASSERT_EQ(tdh_parse_event_info(b, blob.len, 0, c, &out, &key, &eb), ERR_UNSUPPORTED);
    buf_free(&blob);
    schema_free(s);
    schema_cache_free(c);
}

/* Classic MetaData record (opcode 32/33) carrying blob. */
static void meta_record(struct record *r, uint8_t opcode, const uint8_t *blob, uint32_t len)
{
    memset(r, 0, sizeof *r);
    r->kind = ETWHOST_HK_TRACE;
    r->evf = ETWHOST_EVF_CLASSIC;
    r->provider = tdh_metadata_class_guid;
    r->opcode = opcode;
    r->data = blob;
    r->data_len = len;
}

TEST(tdh_ingest_then_decode)
{
    struct schema_cache *c = schema_cache_new(0);
    struct schema_cache *scratch = schema_cache_new(0);
    struct schema *s = sample_schema(scratch);
    struct buf info = BUF_INIT;
    ASSERT_OK(tdhinfo_build(s, TDH_DECODING_XMLFILE, &info));
    struct record r;
    struct errbuf eb;
    meta_record(&r, 32, (const uint8_t *)info.p, (uint32_t)info.len);
    ASSERT_OK(schema_cache_ingest_record(c, &r, &eb));
    /* The map arrives after the schema that uses it. */
    uint8_t mb[512];
    const uint32_t vals[] = {1, 2};
    const char *const labels[] = {"In ", "Out "};
    memcpy(mb, &prov_m.data1, 4);
    memcpy(mb + 4, &prov_m.data2, 2);
    memcpy(mb + 6, &prov_m.data3, 2);
    memcpy(mb + 8, prov_m.data4, 8);
    size_t ml = map_blob(mb + 16, "DirMap", TDH_MAP_MANIFEST_VALUEMAP, 0, vals, labels, 2);
    meta_record(&r, 33, mb, (uint32_t)(16 + ml));
    ASSERT_OK(schema_cache_ingest_record(c, &r, &eb));
    ASSERT_STREQ(schema_cache_provider_name(c, &prov_m), "Microsoft-Windows-Test");
    /* Not a metadata record / unknown opcode. */
    struct record other = r;
    other.provider.data1 ^= 1;
    ASSERT_EQ(schema_cache_ingest_record(c, &other, &eb), ERR_NOTFOUND);
    other = r;
    other.opcode = 34;
    ASSERT_EQ(schema_cache_ingest_record(c, &other, &eb), ERR_UNSUPPORTED);
    meta_record(&other, 33, mb, 10);
    ASSERT_EQ(schema_cache_ingest_record(c, &other, &eb), ERR_FORMAT);

    /* An event of that provider/id/version. */
    struct plb p = {.n = 0};
    plb_u(&p, 2, 2);            /* Dir = Out */
    plb_u(&p, 3, 2);            /* Len */
    plb_bytes(&p, "\x01\x02\x03", 3);
    plb_u(&p, 2, 4);            /* N */
    plb_u(&p, 0xAA, 8);
    plb_w(&p, "ab", 1);
    plb_u(&p, 0, 2);            /* fixed 4 WCHARs: "ab\0\0" */
    plb_u(&p, 0xBB, 8);
    plb_w(&p, "wxyz", 0);       /* no NUL inside the fixed length */
    plb_bytes(&p, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02", 16); /* Addr */
    struct record ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = ETWHOST_HK_EVENT;
    ev.provider = prov_m;
    ev.id = 160;
    ev.version = 2;
    ev.data = p.b;
    ev.data_len = p.n;
    struct decoder d;
    decoder_init(&d, c);
    struct arena a = ARENA_INIT;
    struct event e;
    event_init(&e, &a);
    ASSERT_OK(decode_record(&d, &ev, &e));
    ASSERT_MSG(e.hdr.decode_status == ETWHOST_DECODE_FULL, "%s", e.decode_error);
    ASSERT_STREQ(e.hdr.event_name, "PacketSeen");
    ASSERT_STREQ(e.hdr.task_name, "Packets");
    ASSERT_STREQ(e.hdr.opcode_name, "win:Start");
    ASSERT_STREQ(e.hdr.provider_name, "Microsoft-Windows-Test");
    struct buf txt = BUF_INIT;
    render_event(&e, &txt);
    ASSERT_STREQ(buf_cstr(&txt), "Dir=2;Len=3;Payload=010203;N=2;Items=[{Id=170;Name=6100"
                                 "6200},{Id=187;Name=7700780079007a00}];"
                                 "Addr=20010db8000000000000000000000002");
    ASSERT_STREQ(e.props[0].map_text, "Out");
    const struct buf *js = event_json(&e);
    ASSERT_CONTAINS(js->p, "\"Dir\":\"Out\"");
    ASSERT_CONTAINS(js->p, "\"Addr\":\"2001:db8::2\"");
    ASSERT_CONTAINS(js->p, "\"Name\":\"wxyz\"");

    /* Version 3 is unknown: NONE naming provider, id and version. */
    ev.version = 3;
    arena_reset(&a);
    ASSERT_OK(decode_record(&d, &ev, &e));
    ASSERT_EQ(e.hdr.decode_status, ETWHOST_DECODE_NONE);
    ASSERT_CONTAINS(e.decode_error, "no schema for provider Microsoft-Windows-Test {a0c1853b-"
                                    "5c40-4b15-8766-3cf1c58f985a} id 160 version 3");
    struct schema_cache_stats st;
    schema_cache_get_stats(c, &st);
    ASSERT_EQ(st.ingested, 2);
    ASSERT_EQ(st.ingest_errors, 2);
    buf_free(&txt);
    buf_free(&info);
    event_free(&e);
    arena_free(&a);
    decoder_free(&d);
    schema_free(s);
    schema_cache_free(scratch);
    schema_cache_free(c);
}

/* ---- Corpus: embedded TDH metadata of merged traces ---------------------------------- */

struct merged_result {
    unsigned meta, ingested, events_with_schema, full, partial;
};

/*
 * Feed every MetaData record to the cache and decode every EVENT_HEADER
 * record of the providers the metadata describes (no manifests loaded).
 */
static struct merged_result decode_merged(const char *path, const etwhost_guid *only,
                                          void (*check)(const struct event *ev))
{
    struct merged_result res = {0, 0, 0, 0, 0};
    struct schema_cache *c = schema_cache_new(0);
    struct decoder d;
    decoder_init(&d, c);
    struct arena a = ARENA_INIT;
    struct event e;
    event_init(&e, &a);
    struct etl_reader *rd = NULL;
    struct errbuf eb;
    ASSERT_MSG(etl_open(path, NULL, &rd, &eb) == 0, "%s", eb.msg);
    struct record rec;
    while (etl_next(rd, &rec, &eb) == 1) {
        if (schema_is_tdh_metadata_record(&rec)) {
            res.meta++;
            int rc = schema_cache_ingest_record(c, &rec, &eb);
            ASSERT_MSG(rc == 0, "%s: metadata record %u: %s", path, res.meta, eb.msg);
            res.ingested++;
            continue;
        }
        if (rec.kind != ETWHOST_HK_EVENT || rec.tl_meta)
            continue;
        if (only && !guid_eq(&rec.provider, only))
            continue;
        arena_reset(&a);
        ASSERT_OK(decode_record(&d, &rec, &e));
        if (e.hdr.decode_status == ETWHOST_DECODE_NONE)
            continue;
        res.events_with_schema++;
        if (e.hdr.decode_status == ETWHOST_DECODE_FULL)
            res.full++;
        else
            res.partial++;
        ASSERT_MSG(e.hdr.decode_status == ETWHOST_DECODE_FULL, "%s: %s id %u: %s", path,
                   e.hdr.provider_name, e.hdr.event_id, e.decode_error);
        ASSERT(event_json(&e) != NULL);
        if (check)
            check(&e);
    }
    etl_close(rd);
    event_free(&e);
    arena_free(&a);
    decoder_free(&d);
    schema_cache_free(c);
    return res;
}

static unsigned pktmon_160;

static void check_pktmon(const struct event *e)
{
    ASSERT_STREQ(e->hdr.provider_name, "Microsoft-Windows-PktMon");
    if (e->hdr.event_id != 160)
        return;
    pktmon_160++;
    static const char *const names[] = {
        "PktGroupId", "PktNumber", "AppearanceCount", "DirTag", "PacketType", "ComponentId",
        "EdgeId", "FilterId", "DropReason", "DropLocation", "OriginalPayloadSize",
        "LoggedPayloadSize", "Payload"};
    ASSERT_EQ(e->nprops, 13);
    for (int i = 0; i < 13; i++)
        ASSERT_MSG(e->props[i].name_len == strlen(names[i]) &&
                       memcmp(e->props[i].name, names[i], e->props[i].name_len) == 0,
                   "prop %d is %.*s", i, (int)e->props[i].name_len, e->props[i].name);
    /* Payload length comes from LoggedPayloadSize; DirTag/PacketType are mapped. */
    ASSERT_EQ(e->props[12].size, e->props[11].num.u);
    ASSERT(e->props[12].size > 0);
    ASSERT(e->props[3].map_text != NULL);
    ASSERT(e->props[4].map_text != NULL);
    ASSERT_STREQ(e->props[4].map_text, "Ethernet");
}

TEST(tdh_embedded_pktmon)
{
    const char *corpus = t_corpus_or_skip();
    const char *path = t_path("%s/etl/demikernel__PktMon.etl", corpus);
    static const etwhost_guid pktmon = {0x4d4f80d9, 0xc8bd, 0x4d73,
                                        {0xbb, 0x5b, 0x19, 0xc9, 0x04, 0x02, 0xc5, 0xac}};
    pktmon_160 = 0;
    struct merged_result r = decode_merged(path, &pktmon, check_pktmon);
    printf("PktMon: %u metadata records, %u events decoded (%u FULL), %u packet events\n",
           r.meta, r.events_with_schema, r.full, pktmon_160);
    ASSERT(r.meta >= 10);
    ASSERT_EQ(r.ingested, r.meta);
    ASSERT(pktmon_160 > 100);
    ASSERT_EQ(r.full, r.events_with_schema);
}

/* Find a top-level property by name. */
static const etwhost_prop *top_prop(const struct event *e, const char *name)
{
    for (uint32_t i = 0; i != ETWHOST_NONE && i < e->nprops; i = e->props[i].next)
        if (e->props[i].name_len == strlen(name) && memcmp(e->props[i].name, name, e->props[i].name_len) == 0)
            return &e->props[i];
    return NULL;
}

static unsigned clr_alloc_ticks, clr_gc_start, clr_segments, clr_runtime_start;

/* CLR events of net.4.5.2.x64 against TraceEvent's baseline (corpus/expected). */
static void check_clr(const struct event *e)
{
    static const etwhost_guid clr = {0xe13c0d23, 0xccbc, 0x4e12,
                                     {0x93, 0x1b, 0xd9, 0xcc, 0x2e, 0xee, 0x27, 0xe4}};
    if (!guid_eq(&e->hdr.provider_guid, &clr))
        return;
    ASSERT_STREQ(e->hdr.provider_name, "Microsoft-Windows-DotNETRuntime");
    const etwhost_prop *p;
    switch (e->hdr.event_id) {
    case 10: /* GC/AllocationTick */
        if (clr_alloc_ticks++ == 0) {
            /* AllocationAmount=107,620; AllocationKind=Small; ...; Address=0x1118b854 */
            ASSERT_EQ(top_prop(e, "AllocationAmount")->num.u, 107620);
            ASSERT_STREQ(top_prop(e, "AllocationKind")->map_text, "Small");
            ASSERT_EQ(top_prop(e, "ClrInstanceID")->num.u, 11);
            ASSERT_EQ_U64(top_prop(e, "Address")->num.u, 0x1118b854u);
            p = top_prop(e, "TypeName");
            ASSERT(p && p->reserved == PROP_ENC_UTF16);
            ASSERT_EQ(p->size, 2 * strlen("System.Windows.Media.HitTestWithPointDrawingContextWalker"));
        }
        break;
    case 1:
        clr_gc_start++;
        break;
    case 5: /* GC/CreateSegment: Type=SmallObjectHeap, then LargeObjectHeap */
        p = top_prop(e, "Type");
        ASSERT_STREQ(p->map_text, clr_segments++ % 2 ? "LargeObjectHeap" : "SmallObjectHeap");
        break;
    case 187: /* Runtime/Start: Sku=DesktopClr; StartupFlags=CONCURRENT_GC; StartupMode=ManagedExe */
        clr_runtime_start++;
        ASSERT_STREQ(top_prop(e, "Sku")->map_text, "DesktopClr");
        ASSERT_STREQ(top_prop(e, "StartupFlags")->map_text, "CONCURRENT_GC");
        ASSERT_STREQ(top_prop(e, "StartupMode")->map_text, "ManagedExe");
        ASSERT_EQ(top_prop(e, "VMBuildNumber")->num.u, 30319);
        break;
    default:
        break;
    }
}

/*
 * Other merged traces: every metadata record parses, and the events they
 * describe decode FULL with no manifest (diaghub.etl carries metadata but
 * none of the events it describes).
 */
TEST(tdh_embedded_merged_traces)
{
    const char *corpus = t_corpus_or_skip();
    static const struct {
        const char *file;
        unsigned min_events;
        void (*check)(const struct event *e);
    } files[] = {
        {"large/perfview__net.4.5.2.x64.etl", 60000, check_clr},
        {"large/perfview__net.4.5.2.x86.etl", 1, NULL},
        {"large/perfview__net.4.5.x86_PerfViewData.etl", 0, NULL},
        {"large/perfview__diaghub.etl", 0, NULL},
    };
    unsigned seen = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        const char *path = t_path("%s/%s", corpus, files[i].file);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        fclose(f);
        seen++;
        clr_alloc_ticks = clr_gc_start = clr_segments = clr_runtime_start = 0;
        struct merged_result r = decode_merged(path, NULL, files[i].check);
        printf("%s: %u metadata records, %u events decoded with them (%u FULL)\n", path, r.meta,
               r.events_with_schema, r.full);
        ASSERT_EQ(r.ingested, r.meta);
        ASSERT(r.events_with_schema >= files[i].min_events);
        if (files[i].check == check_clr) {
            /* Counts of the baseline: GC/AllocationTick:10382, GC/Start:528, CreateSegment:2. */
            ASSERT_EQ(clr_alloc_ticks, 10382);
            ASSERT_EQ(clr_gc_start, 528);
            ASSERT_EQ(clr_segments, 2);
            ASSERT_EQ(clr_runtime_start, 1);
        }
    }
    if (seen == 0)
        SKIP("no large merged traces under %s/large", corpus);
}
