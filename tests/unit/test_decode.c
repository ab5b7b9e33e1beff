/*
 * Tests of the decode engine on schemas built in the test: every TDH size
 * rule (strings with and without length, counted/reversed/non-terminated
 * strings, binary lengths, SIDs, WBEM SIDs, pointers by header, maps),
 * partial decodes, the NONE path, the schema source interface with
 * negative caching, STRING_ONLY events, and the decode rate.
 */
#include "test.h"

#include <time.h>

#include "core/arena.h"
#include "core/mem.h"
#include "decode/decode.h"
#include "platform/platform.h"
#include "schema/schema_cache.h"
#include "test_decode_util.h"

static const etwhost_guid prov_d = {0x0badf00d, 0x1234, 0x5678, {9, 9, 9, 9, 1, 2, 3, 4}};

struct dctx {
    struct schema_cache *cache;
    struct decoder d;
    struct arena arena;
    struct event ev;
    struct buf out;
    struct record rec; /* the event points at it: it must outlive run() */
};

static void dctx_init(struct dctx *t)
{
    memset(t, 0, sizeof *t);
    t->cache = schema_cache_new(0);
    decoder_init(&t->d, t->cache);
    event_init(&t->ev, &t->arena);
}

static void dctx_free(struct dctx *t)
{
    event_free(&t->ev);
    arena_free(&t->arena);
    decoder_free(&t->d);
    schema_cache_free(t->cache);
    buf_free(&t->out);
}

/* Decode payload p with schema s as a manifest event (64-bit unless ptr32). */
static const char *run(struct dctx *t, const struct schema *s, const struct plb *p, int ptr32)
{
    rec_make(&t->rec, &prov_d, NULL, p);
    if (ptr32)
        t->rec.evf |= ETWHOST_EVF_PTR32;
    arena_reset(&t->arena);
    ASSERT_OK(decode_with_schema(&t->d, &t->rec, s, &t->ev));
    buf_reset(&t->out);
    render_event(&t->ev, &t->out);
    return buf_cstr(&t->out);
}

static struct schema *finish(struct schema_builder *b, uint32_t ntop)
{
    struct schema *s = NULL;
    struct errbuf eb;
    int rc = schema_builder_finish(b, ntop, NULL, &s, &eb);
    ASSERT_MSG(rc == 0, "%s", eb.msg);
    schema_builder_free(b);
    return s;
}

TEST(decode_strings_by_tdh_rules)
{
    struct schema_builder b;
    schema_builder_init(&b, SCHEMA_SRC_MANIFEST);
    struct schema_field f = tdu_field("nt", TDH_IN_UNICODESTRING, 0);      /* NUL-terminated */
    schema_builder_add(&b, &f);
    f = tdu_field("fixed", TDH_IN_UNICODESTRING, 0);                       /* WCHAR[6] */
    f.len_kind = SCHEMA_LEN_FIXED;
    f.length = 6;
    schema_builder_add(&b, &f);
    f = tdu_field("n", TDH_IN_UINT8, 0);
    schema_builder_add(&b, &f);
    f = tdu_field("bylen", TDH_IN_ANSISTRING, 0);                          /* length from 'n' */
    f.len_kind = SCHEMA_LEN_FIELD;
    f.length = 2;
    schema_builder_add(&b, &f);
    f = tdu_field("cnt", TDH_IN_COUNTEDSTRING, 0);
    schema_builder_add(&b, &f);
    f = tdu_field("rev", TDH_IN_WBEM_REVERSEDCOUNTEDANSISTRING, 0);
    schema_builder_add(&b, &f);
    f = tdu_field("wc", TDH_IN_WBEM_UNICODECHAR, 0);
    schema_builder_add(&b, &f);
    f = tdu_field("ac", TDH_IN_WBEM_ANSICHAR, 0);
    schema_builder_add(&b, &f);
    f = tdu_field("rest", TDH_IN_WBEM_NONNULLTERMINATEDSTRING, 0);
    schema_builder_add(&b, &f);
    struct schema *s = finish(&b, 9);

    struct plb p = {.n = 0};
    plb_w(&p, "ab", 1);
    plb_w(&p, "xy", 1);
    plb_bytes(&p, "\xEE\xEE\xEE\xEE\xEE\xEE", 6); /* garbage after the NUL of 'fixed' */
    plb_u(&p, 3, 1);
    plb_bytes(&p, "abc", 3);
    plb_u(&p, 4, 2);
    plb_w(&p, "hi", 0);
    plb_bytes(&p, "\x00\x02", 2); /* big-endian 2 */
    plb_bytes(&p, "zz", 2);
    plb_u(&p, 'W', 2);
    plb_u(&p, 'A', 1);
    plb_w(&p, "end", 0);
    struct dctx t;
    dctx_init(&t);
    const char *txt = run(&t, s, &p, 0);
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
    ASSERT_STREQ(txt, "nt=61006200;fixed=78007900;n=3;bylen=616263;cnt=68006900;rev=7a7a;"
                      "wc=87;ac=65;rest=65006e006400");
    const struct buf *js = event_json(&t.ev);
    ASSERT_CONTAINS(js->p, "\"wc\":\"W\"");
    ASSERT_CONTAINS(js->p, "\"rest\":\"end\"");

    /* A NUL-terminated string missing its NUL at the payload end is clamped. */
    struct schema_builder b2;
    schema_builder_init(&b2, SCHEMA_SRC_MANIFEST);
    f = tdu_field("a", TDH_IN_UINT8, 0);
    schema_builder_add(&b2, &f);
    f = tdu_field("s", TDH_IN_UNICODESTRING, 0);
    schema_builder_add(&b2, &f);
    struct schema *s2 = finish(&b2, 2);
    struct plb q = {.n = 0};
    plb_u(&q, 1, 1);
    plb_w(&q, "abc", 0);
    plb_u(&q, 0x41, 1); /* odd trailing byte */
    ASSERT_STREQ(run(&t, s2, &q, 0), "a=1;s=610062006300");
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
    /* Nothing left at all: an empty string. */
    q.n = 1;
    ASSERT_STREQ(run(&t, s2, &q, 0), "a=1;s=");
    /* Fixed length past the end: PARTIAL with the field named. */
    p.n = 6;
    run(&t, s, &p, 0);
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_PARTIAL);
    ASSERT_CONTAINS(t.ev.decode_error, "field 'fixed' at payload offset 6: needs 12 bytes, 0 left");
    schema_free(s);
    schema_free(s2);
    dctx_free(&t);
}

TEST(decode_binary_sid_pointer_rules)
{
    struct schema_builder b;
    schema_builder_init(&b, SCHEMA_SRC_MOF);
    struct schema_field f = tdu_field("ip6", TDH_IN_BINARY, TDH_OUT_IPV6); /* no length: 16 */
    schema_builder_add(&b, &f);
    f = tdu_field("bin", TDH_IN_BINARY, 0);
    f.len_kind = SCHEMA_LEN_FIXED;
    f.length = 3;
    schema_builder_add(&b, &f);
    f = tdu_field("sid", TDH_IN_SID, 0);
    schema_builder_add(&b, &f);
    f = tdu_field("user", TDH_IN_WBEM_SID, 0);
    schema_builder_add(&b, &f);
    f = tdu_field("nouser", TDH_IN_WBEM_SID, 0);
    schema_builder_add(&b, &f);
    f = tdu_field("ptr", TDH_IN_POINTER, 0);
    schema_builder_add(&b, &f);
    f = tdu_field("size", TDH_IN_WBEM_SIZET, 0);
    schema_builder_add(&b, &f);
    f = tdu_field("dump", TDH_IN_WBEM_HEXDUMP, 0);
    schema_builder_add(&b, &f);
    f = tdu_field("port", TDH_IN_UINT16, TDH_OUT_PORT);
    schema_builder_add(&b, &f);
    f = tdu_field("addr", TDH_IN_UINT32, TDH_OUT_IPV4);
    schema_builder_add(&b, &f);
    struct schema *s = finish(&b, 10);
    static const uint8_t sid[16] = {1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0};

    for (int ptr32 = 0; ptr32 < 2; ptr32++) {
        unsigned ps = ptr32 ? 4 : 8;
        struct plb p = {.n = 0};
        plb_bytes(&p, "\xfe\x80\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
        plb_bytes(&p, "\x01\x02\x03", 3);
        plb_bytes(&p, sid, 16);
        plb_u(&p, 0x1111, ps); /* TOKEN_USER: Sid pointer ... */
        plb_u(&p, 0, ps);      /* ... and Attributes (padded to a pointer) */
        plb_bytes(&p, sid, 16);
        plb_u(&p, 0, 4);       /* no TOKEN_USER: 4 zero bytes */
        plb_u(&p, 0xFEEDFACE, ps);
        plb_u(&p, 4096, ps);
        plb_u(&p, 2, 4);
        plb_bytes(&p, "\xAB\xCD", 2);
        plb_bytes(&p, "\x01\xBB", 2); /* port 443 in network order */
        plb_bytes(&p, "\x0a\x00\x00\x02", 4);
        struct dctx t;
        dctx_init(&t);
        const char *txt = run(&t, s, &p, ptr32);
        ASSERT_MSG(t.ev.hdr.decode_status == ETWHOST_DECODE_FULL, "ptr32=%d: %s", ptr32,
                   t.ev.decode_error);
        ASSERT_STREQ(txt, "ip6=fe800000000000000000000000000001;bin=010203;"
                          "sid=01020000000000052000000020020000;"
                          "user=01020000000000052000000020020000;nouser=null;"
                          "ptr=4277009102;size=4096;dump=abcd;port=47873;addr=33554442");
        const struct buf *js = event_json(&t.ev);
        ASSERT_CONTAINS(js->p, "\"sid\":\"S-1-5-32-544\"");
        ASSERT_CONTAINS(js->p, "\"ip6\":\"fe80::1\"");
        ASSERT_CONTAINS(js->p, "\"port\":443");
        ASSERT_CONTAINS(js->p, "\"addr\":\"10.0.0.2\"");
        dctx_free(&t);
    }
    schema_free(s);
}

TEST(decode_counts_maps_and_struct_arrays)
{
    struct schema_cache *c = schema_cache_new(0);
    struct schema_builder b;
    schema_builder_init(&b, SCHEMA_SRC_MANIFEST);
    /* 0 n, 1 items[n] struct {3 kind(map), 4 flags(bitmap)}, 2 tail[2] */
    struct schema_field f = tdu_field("n", TDH_IN_UINT16, 0);
    schema_builder_add(&b, &f);
    f = tdu_field("items", SCHEMA_IN_STRUCT, 0);
    f.arity = SCHEMA_ARITY_FIELD;
    f.count = 0;
    f.first = 3;
    f.nmembers = 2;
    schema_builder_add(&b, &f);
    f = tdu_field("tail", TDH_IN_INT8, 0);
    f.arity = SCHEMA_ARITY_FIXED;
    f.count = 2;
    schema_builder_add(&b, &f);
    f = tdu_field("kind", TDH_IN_UINT32, 0);
    f.map = schema_cache_map_slot(c, &prov_d, "Kinds", 5);
    schema_builder_add(&b, &f);
    f = tdu_field("flags", TDH_IN_UINT32, 0);
    f.map = schema_cache_map_slot(c, &prov_d, "Flags", 5);
    schema_builder_add(&b, &f);
    struct schema *s = finish(&b, 3);

    struct plb p = {.n = 0};
    plb_u(&p, 3, 2);
    plb_u(&p, 1, 4);
    plb_u(&p, 3, 4);
    plb_u(&p, 2, 4);
    plb_u(&p, 0, 4);
    plb_u(&p, 9, 4);
    plb_u(&p, 4, 4);
    plb_u(&p, 0xFF, 1);
    plb_u(&p, 1, 1);
    struct dctx t;
    dctx_init(&t);
    /* Maps not registered yet: values only. */
    ASSERT_STREQ(run(&t, s, &p, 0),
                 "n=3;items=[{kind=1;flags=3},{kind=2;flags=0},{kind=9;flags=4}];tail=[255,1]");
    ASSERT(t.ev.props[2].map_text == NULL);
    /* Registered later (as embedded TDH maps arrive after the schema). */
    const uint64_t kv[] = {1, 2};
    const char *kl[] = {"One", "Two"};
    const size_t kll[] = {3, 3};
    struct schema_map *m;
    ASSERT_OK(schema_map_new("Kinds", 5, SCHEMA_MAP_VALUE, kv, kl, kll, 2, &m));
    ASSERT_OK(schema_cache_add_map(c, &prov_d, m));
    const uint64_t fv[] = {1, 2, 4};
    const char *fl[] = {"A", "B", "C"};
    const size_t fll[] = {1, 1, 1};
    ASSERT_OK(schema_map_new("Flags", 5, SCHEMA_MAP_BITMAP, fv, fl, fll, 3, &m));
    ASSERT_OK(schema_cache_add_map(c, &prov_d, m));
    run(&t, s, &p, 0);
    const struct buf *js = event_json(&t.ev);
    ASSERT_CONTAINS(js->p, "\"items\":[{\"kind\":\"One\",\"flags\":\"A | B\"},"
                           "{\"kind\":\"Two\",\"flags\":0},{\"kind\":9,\"flags\":\"C\"}]");
    ASSERT_CONTAINS(js->p, "\"tail\":[-1,1]");
    /* Count larger than the payload: PARTIAL inside the array, tree well formed. */
    p.b[0] = 200;
    run(&t, s, &p, 0);
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_PARTIAL);
    ASSERT_CONTAINS(t.ev.decode_error, "field 'kind'");
    ASSERT(event_json(&t.ev) != NULL);
    schema_free(s);
    dctx_free(&t);
    schema_cache_free(c);
}

/* A schema source that knows one key and counts its look-ups. */
struct fake_source {
    struct schema *s;
    int lookups;
    int destroyed;
};

static int fake_lookup(void *ctx, const struct record *rec, const struct schema **out)
{
    struct fake_source *fs = ctx;
    fs->lookups++;
    if (rec->id == 5 && rec->version == 1) {
        *out = fs->s;
        return 0;
    }
    return ERR_NOTFOUND;
}

static void fake_destroy(void *ctx)
{
    struct fake_source *fs = ctx;
    fs->destroyed++;
}

TEST(decode_sources_and_negative_cache)
{
    struct schema_builder b;
    schema_builder_init(&b, SCHEMA_SRC_MANIFEST);
    schema_builder_set_name(&b, SCHEMA_NAME_EVENT, "Five", 4);
    struct schema_field f = tdu_field("v", TDH_IN_UINT32, 0);
    schema_builder_add(&b, &f);
    struct fake_source fs = {finish(&b, 1), 0, 0};
    struct dctx t;
    dctx_init(&t);
    struct schema_source src = {"fake", &fs, fake_lookup, fake_destroy};
    ASSERT_OK(decoder_add_source(&t.d, &src));
    schema_cache_set_provider_name(t.cache, &prov_d, "Test-Provider", 13);

    struct plb p = {.n = 0};
    plb_u(&p, 42, 4);
    struct record r;
    rec_make(&r, &prov_d, NULL, &p);
    r.id = 5;
    r.version = 1;
    for (int i = 0; i < 3; i++) {
        arena_reset(&t.arena);
        ASSERT_OK(decode_record(&t.d, &r, &t.ev));
        ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
        ASSERT_STREQ(t.ev.hdr.event_name, "Five");
        ASSERT_STREQ(t.ev.hdr.provider_name, "Test-Provider");
    }
    ASSERT_EQ(fs.lookups, 1); /* then the cache answers */
    r.id = 6;
    for (int i = 0; i < 3; i++) {
        arena_reset(&t.arena);
        ASSERT_OK(decode_record(&t.d, &r, &t.ev));
        ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_NONE);
        ASSERT_STREQ(t.ev.decode_error, "no schema for provider Test-Provider "
                                        "{0badf00d-1234-5678-0909-090901020304} id 6 version 1");
        ASSERT_EQ(t.ev.nprops, 0);
    }
    ASSERT_EQ(fs.lookups, 2); /* the miss was remembered */
    /* Classic records are described by class, opcode and version. */
    struct record k;
    rec_make(&k, &prov_d, NULL, &p);
    k.kind = ETWHOST_HK_SYSTEM;
    k.opcode = 10;
    k.version = 3;
    arena_reset(&t.arena);
    ASSERT_OK(decode_record(&t.d, &k, &t.ev));
    ASSERT_CONTAINS(t.ev.decode_error, "no schema for class Test-Provider {0badf00d-1234-5678-"
                                       "0909-090901020304} opcode 10 version 3");
    decoder_free(&t.d);
    ASSERT_EQ(fs.destroyed, 1);
    decoder_init(&t.d, t.cache);
    schema_free(fs.s);
    dctx_free(&t);
}

TEST(decode_string_only_and_trailing)
{
    struct dctx t;
    dctx_init(&t);
    struct plb p = {.n = 0};
    plb_w(&p, "free text", 1);
    struct record r;
    rec_make(&r, &prov_d, NULL, &p);
    r.hdr_flags = 0x4; /* EVENT_HEADER_FLAG_STRING_ONLY */
    ASSERT_OK(decode_record(&t.d, &r, &t.ev));
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
    const struct buf *js = event_json(&t.ev);
    ASSERT_CONTAINS(js->p, "\"message\":\"free text\"");

    /* Manifest schemas tolerate trailing bytes (counted). */
    struct schema_builder b;
    schema_builder_init(&b, SCHEMA_SRC_TDH_EMBEDDED);
    struct schema_field f = tdu_field("v", TDH_IN_UINT16, 0);
    schema_builder_add(&b, &f);
    struct schema *s = finish(&b, 1);
    struct plb q = {.n = 0};
    plb_u(&q, 7, 2);
    plb_u(&q, 0, 4);
    ASSERT_STREQ(run(&t, s, &q, 0), "v=7");
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
    ASSERT_EQ(t.d.st.trailing, 1);
    /* The same event object is reused: props do not accumulate. */
    ASSERT_STREQ(run(&t, s, &q, 0), "v=7");
    ASSERT_EQ(t.ev.nprops, 1);
    schema_free(s);
    dctx_free(&t);
}

TEST(decode_huge_counts_are_bounded)
{
    struct schema_builder b;
    schema_builder_init(&b, SCHEMA_SRC_MANIFEST);
    struct schema_field f = tdu_field("n", TDH_IN_UINT64, 0);
    schema_builder_add(&b, &f);
    f = tdu_field("s", TDH_IN_ANSISTRING, 0); /* may consume 0 bytes at the payload end */
    f.arity = SCHEMA_ARITY_FIELD;
    f.count = 0;
    schema_builder_add(&b, &f);
    struct schema *s = finish(&b, 2);
    struct plb p = {.n = 0};
    plb_u(&p, 0xFFFFFFFFFFull, 8);
    struct dctx t;
    dctx_init(&t);
    run(&t, s, &p, 0);
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_PARTIAL);
    ASSERT_CONTAINS(t.ev.decode_error, "array of 1099511627775 elements");
    /*
     * Just under the bound, strings at the payload end take no bytes: one is
     * tolerated (a clamped string), the second stops the array.
     */
    p.n = 0;
    plb_u(&p, DECODE_MAX_PROPS, 8);
    run(&t, s, &p, 0);
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_PARTIAL);
    ASSERT_CONTAINS(t.ev.decode_error, "field 's' at payload offset 8: element 2 of 262144: "
                                       "no bytes left");
    ASSERT_EQ(t.ev.nprops, 3);
    /* With bytes left, zero-size elements still cannot exceed the property cap. */
    schema_free(s);
    schema_builder_init(&b, SCHEMA_SRC_MANIFEST);
    f = tdu_field("n", TDH_IN_UINT64, 0);
    schema_builder_add(&b, &f);
    f = tdu_field("e", TDH_IN_UINT8, 0); /* fixed arrays of 0 elements: no bytes */
    f.arity = SCHEMA_ARITY_FIXED;
    f.count = 0;
    schema_builder_add(&b, &f);
    f = tdu_field("arr", SCHEMA_IN_STRUCT, 0);
    f.arity = SCHEMA_ARITY_FIELD;
    f.count = 0;
    f.first = 3;
    f.nmembers = 1;
    schema_builder_add(&b, &f);
    f = tdu_field("empty", TDH_IN_UINT8, 0);
    f.arity = SCHEMA_ARITY_FIXED;
    f.count = 0;
    schema_builder_add(&b, &f);
    s = finish(&b, 3);
    p.n = 0;
    plb_u(&p, DECODE_MAX_PROPS, 8);
    plb_u(&p, 1, 1);
    run(&t, s, &p, 0);
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_PARTIAL);
    ASSERT_CONTAINS(t.ev.decode_error, "more than");
    schema_free(s);

    /* A length field of 2^63 WCHARs must not wrap to a small byte count. */
    schema_builder_init(&b, SCHEMA_SRC_MANIFEST);
    f = tdu_field("len", TDH_IN_UINT64, 0);
    schema_builder_add(&b, &f);
    f = tdu_field("text", TDH_IN_UNICODESTRING, 0);
    f.len_kind = SCHEMA_LEN_FIELD;
    f.length = 0;
    schema_builder_add(&b, &f);
    s = finish(&b, 2);
    p.n = 0;
    plb_u(&p, 0x8000000000000000ull, 8);
    plb_w(&p, "abc", 1);
    run(&t, s, &p, 0);
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_PARTIAL);
    ASSERT_CONTAINS(t.ev.decode_error, "field 'text' at payload offset 8: length "
                                       "9223372036854775808 is too large");
    schema_free(s);
    dctx_free(&t);
}

/*
 * Decode rate of a typical TraceLogging event (8 fields: strings, integers,
 * a GUID, a small array) on one core, cache hit path.  Printed for the
 * record; the assertion only catches gross regressions.
 */
TEST(decode_rate_tracelogging)
{
    struct tlmb m;
    tlmb_start(&m, "RequestCompleted", 0);
    tlmb_simple(&m, "Url", 1, -1);
    tlmb_simple(&m, "Method", 2, -1);
    tlmb_simple(&m, "Status", 8, -1);
    tlmb_simple(&m, "Bytes", 10, -1);
    tlmb_simple(&m, "Elapsed", 12, -1);
    tlmb_simple(&m, "Request", 15, -1);
    tlmb_simple(&m, "Success", 13, -1);
    tlmb_field(&m, "Stages", 6, 0x40, -1, 0, 0, NULL, 0);
    tlmb_end(&m);
    struct plb p = {.n = 0};
    plb_w(&p, "https://example.test/index.html", 1);
    plb_bytes(&p, "GET\0", 4);
    plb_u(&p, 200, 4);
    plb_u(&p, 123456, 8);
    double el = 12.5;
    plb_bytes(&p, &el, 8);
    plb_bytes(&p, "0123456789abcdef", 16);
    plb_u(&p, 1, 4);
    plb_u(&p, 4, 2);
    for (int i = 0; i < 4; i++)
        plb_u(&p, (uint64_t)i, 2);
    struct record r;
    rec_make(&r, &prov_d, &m, &p);
    struct dctx t;
    dctx_init(&t);
    /* Sanitizer builds are 20-50x slower: measure less, assert nothing. */
#if defined(__SANITIZE_ADDRESS__)
#define DECODE_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DECODE_SANITIZED 1
#endif
#endif
#ifdef DECODE_SANITIZED
    const int n = 20000;
#else
    const int n = 200000;
#endif
    /*
     * Ten rounds; the fastest one is reported, as the machine may be busy
     * with other work (wall time is all the platform layer offers).
     */
    double best = 1e30;
    for (int round = 0; round < 10; round++) {
        uint64_t a = plat_monotonic_ns();
        for (int i = 0; i < n; i++) {
            if ((i & 255) == 0)
                arena_reset(&t.arena);
            decode_record(&t.d, &r, &t.ev);
        }
        uint64_t z = plat_monotonic_ns();
        double secs = (double)(z - a) / 1e9;
        if (secs < best)
            best = secs;
    }
    ASSERT_EQ(t.ev.hdr.decode_status, ETWHOST_DECODE_FULL);
    ASSERT_EQ(t.ev.nprops, 12);
    double rate = n / best;
    printf("decode rate: %.2f M TraceLogging events/s (best of 10 rounds of %d events, %.3f s; "
           "%u-byte payload)\n", rate / 1e6, n, best, p.n);
#ifndef DECODE_SANITIZED
    ASSERT(rate > 100000);
#endif
    dctx_free(&t);
}
