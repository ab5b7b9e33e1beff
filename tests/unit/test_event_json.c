/*
 * Tests of host/event: the property tree builder and the canonical JSON line.
 *
 * Events are built by hand from records with real payload bytes, the way a
 * decoder builds them: strings point at UTF-16LE / ANSI / UTF-8 bytes, the
 * writer converts them.  Exact lines are checked for a few events; every
 * other produced line is parsed back with jansson and checked for UTF-8.
 */
#include "test.h"

#include <float.h>
#include <math.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/mem.h"
#include "core/text.h"
#include "event/event.h"
#include "event/event_access.h"
#include "schema/schema.h"

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

struct fx {
    struct arena arena;
    struct event ev;
    struct record rec;
    int64_t live;
};

/* Microsoft-Windows-PowerShell. */
static const etwhost_guid PS_GUID = {0xa0c1853b, 0x5c40, 0x4b15,
                                     {0x87, 0x66, 0x3c, 0xf1, 0xc5, 0x8f, 0x98, 0x5a}};

static void fx_init(struct fx *f, const uint8_t *payload, uint32_t len)
{
    f->live = mem_live_blocks();
    f->arena = (struct arena)ARENA_INIT;
    memset(&f->rec, 0, sizeof f->rec);
    f->rec.kind = ETWHOST_HK_EVENT;
    f->rec.timestamp = 133245763580175449LL;
    f->rec.provider = PS_GUID;
    f->rec.id = 4104;
    f->rec.version = 1;
    f->rec.channel = 16;
    f->rec.level = 5;
    f->rec.opcode = 15;
    f->rec.task = 2;
    f->rec.keywords = 0x8000000000000010ull;
    f->rec.pid = 1234;
    f->rec.tid = 5678;
    f->rec.cpu = 3;
    f->rec.data = payload;
    f->rec.data_len = len;
    event_init(&f->ev, &f->arena);
    event_set_record(&f->ev, &f->rec, "Microsoft-Windows-PowerShell");
}

static struct buf line_buf = BUF_INIT;

static void fx_free(struct fx *f)
{
    buf_free(&line_buf);
    event_free(&f->ev);
    arena_free(&f->arena);
    ASSERT_EQ(mem_live_blocks(), f->live);
}

/* Render ev and return the line as a NUL-terminated string (static, overwritten). */
static const char *render(struct event *ev)
{
    buf_reset(&line_buf);
    ASSERT_OK(event_json_render(ev, &line_buf));
    return buf_cstr(&line_buf);
}

/* Parse a line with jansson (duplicate keys rejected) and check UTF-8; returns the object. */
static json_t *parse(const char *line, size_t len)
{
    json_error_t err;
    ASSERT_MSG(text_utf8_valid((const uint8_t *)line, len), "not UTF-8: %s", line);
    ASSERT_MSG(memchr(line, '\n', len) == NULL, "newline in line: %s", line);
    json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &err);
    ASSERT_MSG(j != NULL, "jansson: %s at %d: %s", err.text, err.position, line);
    ASSERT(json_is_object(j));
    return j;
}

static uint32_t add_u(struct event *ev, const char *name, uint16_t type, uint64_t v)
{
    uint32_t i = event_prop_add(ev, name, (uint32_t)strlen(name), type);
    ASSERT(i != ETWHOST_NONE);
    ev->props[i].num.u = v;
    return i;
}

static uint32_t add_i(struct event *ev, const char *name, uint16_t type, int64_t v)
{
    uint32_t i = event_prop_add(ev, name, (uint32_t)strlen(name), type);
    ASSERT(i != ETWHOST_NONE);
    ev->props[i].num.i = v;
    return i;
}

static uint32_t add_f(struct event *ev, const char *name, uint16_t type, double v)
{
    uint32_t i = event_prop_add(ev, name, (uint32_t)strlen(name), type);
    ASSERT(i != ETWHOST_NONE);
    ev->props[i].num.f = v;
    return i;
}

static uint32_t add_bytes(struct event *ev, const char *name, uint16_t type, uint16_t enc,
                          const void *data, size_t size)
{
    uint32_t i = event_prop_add(ev, name, (uint32_t)strlen(name), type);
    ASSERT(i != ETWHOST_NONE);
    ev->props[i].data = data;
    ev->props[i].size = (uint32_t)size;
    ev->props[i].reserved = enc;
    return i;
}

/* UTF-16LE bytes of code units, in the arena (like a payload). */
static const uint8_t *u16(struct arena *a, const uint16_t *units, size_t n)
{
    uint8_t *p = arena_alloc(a, 2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        p[2 * i] = (uint8_t)units[i];
        p[2 * i + 1] = (uint8_t)(units[i] >> 8);
    }
    return p;
}

/* UTF-16LE bytes of an ASCII string. */
static const uint8_t *u16a(struct arena *a, const char *s, size_t *size)
{
    size_t n = strlen(s);
    uint16_t units[256];
    for (size_t i = 0; i < n; i++)
        units[i] = (uint8_t)s[i];
    *size = 2 * n;
    return u16(a, units, n);
}

TEST(event_json_exact_line_full_event)
{
    struct fx f;
    fx_init(&f, NULL, 0);
    struct event *ev = &f.ev;
    ev->hdr.activity_id = (etwhost_guid){0x11111111, 0x2222, 0x3333,
                                         {0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb}};
    ev->hdr.task_name = "Execute a Remote Command";
    ev->hdr.opcode_name = "On create calls";
    add_u(ev, "MessageNumber", ETWHOST_PT_U32, 1);
    add_u(ev, "MessageTotal", ETWHOST_PT_U32, 1);
    /* Write-Host "hi" NL TAB U+1F600 backslash, as recorded (UTF-16LE, NUL-terminated). */
    const uint16_t text[] = {'W', 'r', 'i', 't', 'e', '-', 'H', 'o', 's', 't', ' ', '"', 'h',
                             'i', '"', '\n', '\t', 0xD83D, 0xDE00, '\\', 0};
    add_bytes(ev, "ScriptBlockText", ETWHOST_PT_STRING, PROP_ENC_UTF16, u16(&f.arena, text, 21),
              42);
    const etwhost_guid id = {0x4f2e1d3c, 0x5b6a, 0x7d8c,
                             {0x9e, 0xaf, 0xb0, 0xc1, 0xd2, 0xe3, 0xf4, 0x05}};
    add_bytes(ev, "ScriptBlockId", ETWHOST_PT_GUID, 0, &id, 16);
    add_bytes(ev, "Path", ETWHOST_PT_STRING, PROP_ENC_UTF16, "\0\0", 2);
    add_i(ev, "When", ETWHOST_PT_FILETIME, 133245763580175449LL);
    add_i(ev, "Min", ETWHOST_PT_I64, INT64_MIN);
    add_u(ev, "Max", ETWHOST_PT_U64, UINT64_MAX);
    uint32_t h = add_u(ev, "Flags", ETWHOST_PT_U32, 0xdeadbeef);
    ev->props[h].format = ETWHOST_FMT_HEX;
    add_u(ev, "Ptr", ETWHOST_PT_POINTER, 0x7ff6a0001000ull);
    add_u(ev, "Ok", ETWHOST_PT_BOOL, 1);
    add_f(ev, "Ratio", ETWHOST_PT_F64, 0.1);
    add_f(ev, "Half", ETWHOST_PT_F32, 1.5);
    add_f(ev, "Nan", ETWHOST_PT_F64, NAN);
    add_f(ev, "Inf", ETWHOST_PT_F32, (double)INFINITY);
    add_i(ev, "Small", ETWHOST_PT_I8, -128);
    add_i(ev, "Neg", ETWHOST_PT_I32, -1);
    event_finish_decode(ev);
    ASSERT_EQ(ev->hdr.decode_status, ETWHOST_DECODE_FULL);
    const char *line = render(ev);
    ASSERT_STREQ(line,
                 "{\"timestamp\":\"2023-03-29T15:12:38.0175449Z\","
                 "\"provider\":\"Microsoft-Windows-PowerShell\","
                 "\"provider_guid\":\"a0c1853b-5c40-4b15-8766-3cf1c58f985a\","
                 "\"event_id\":4104,\"version\":1,\"level\":5,\"opcode\":15,\"task\":2,"
                 "\"keywords\":\"0x8000000000000010\",\"channel\":16,\"pid\":1234,\"tid\":5678,"
                 "\"cpu\":3,\"event_name\":null,"
                 "\"activity_id\":\"11111111-2222-3333-4455-66778899aabb\","
                 "\"related_activity_id\":null,\"task_name\":\"Execute a Remote Command\","
                 "\"opcode_name\":\"On create calls\",\"props\":{\"MessageNumber\":1,"
                 "\"MessageTotal\":1,"
                 "\"ScriptBlockText\":\"Write-Host \\\"hi\\\"\\n\\t\xF0\x9F\x98\x80\\\\\","
                 "\"ScriptBlockId\":\"4f2e1d3c-5b6a-7d8c-9eaf-b0c1d2e3f405\",\"Path\":\"\","
                 "\"When\":\"2023-03-29T15:12:38.0175449Z\",\"Min\":-9223372036854775808,"
                 "\"Max\":18446744073709551615,\"Flags\":\"0xdeadbeef\","
                 "\"Ptr\":\"0x7ff6a0001000\",\"Ok\":true,\"Ratio\":0.1,\"Half\":1.5,"
                 "\"Nan\":null,\"Inf\":null,\"Small\":-128,\"Neg\":-1}}");
    json_t *j = parse(line, strlen(line));
    ASSERT_STREQ(json_string_value(json_object_get(json_object_get(j, "props"),
                                                   "ScriptBlockText")),
                 "Write-Host \"hi\"\n\t\xF0\x9F\x98\x80\\");
    json_decref(j);
    /* The cached line is the same text, and stays cached. */
    const struct buf *c = event_json(ev);
    ASSERT(c != NULL && c->len == strlen(line) && memcmp(c->p, line, c->len) == 0);
    ASSERT(event_json(ev) == c && c->p == event_json(ev)->p);
    fx_free(&f);
}

TEST(event_tree_links_nesting_and_duplicate_names)
{
    struct fx f;
    fx_init(&f, NULL, 0);
    struct event *ev = &f.ev;
    add_u(ev, "x", ETWHOST_PT_U8, 1);
    uint32_t s = event_prop_open(ev, "s", 1, ETWHOST_PT_STRUCT);
    add_u(ev, "a", ETWHOST_PT_U8, 2);
    uint32_t arr = event_prop_open(ev, "arr", 3, ETWHOST_PT_ARRAY);
    add_i(ev, "", ETWHOST_PT_I16, -1);
    add_i(ev, "", ETWHOST_PT_I16, 2);
    uint32_t el = event_prop_open(ev, "", 0, ETWHOST_PT_STRUCT);
    add_u(ev, "k", ETWHOST_PT_U8, 3);
    event_prop_close(ev, el);
    event_prop_close(ev, arr);
    uint32_t inner = event_prop_open(ev, "inner", 5, ETWHOST_PT_STRUCT);
    event_prop_close(ev, inner);
    add_u(ev, "a", ETWHOST_PT_U8, 4);
    event_prop_close(ev, s);
    add_u(ev, "x", ETWHOST_PT_U8, 5);
    add_u(ev, "x", ETWHOST_PT_U8, 6);
    uint32_t e = event_prop_open(ev, "e", 1, ETWHOST_PT_ARRAY);
    event_prop_close(ev, e);
    event_finish_decode(ev);

    /* Links as plugin.h documents them. */
    ASSERT_EQ(ev->nprops, 13);
    ASSERT_EQ(ev->props[0].next, s);
    ASSERT_EQ(ev->props[s].count, 4);
    ASSERT_EQ(ev->props[s].parent, ETWHOST_NONE);
    ASSERT_EQ(ev->props[s].next, 10);
    ASSERT_EQ(ev->props[arr].parent, s);
    ASSERT_EQ(ev->props[arr].count, 3);
    ASSERT_EQ(ev->props[arr].next, inner);
    ASSERT_EQ(ev->props[el].parent, arr);
    ASSERT_EQ(ev->props[el + 1].parent, el);
    ASSERT_EQ(ev->props[el + 1].next, ETWHOST_NONE);
    ASSERT_EQ(ev->props[inner].count, 0);
    ASSERT_EQ(ev->props[inner].next, 9);
    ASSERT_EQ(ev->props[9].parent, s);
    ASSERT_EQ(ev->props[9].next, ETWHOST_NONE);
    ASSERT_EQ(ev->props[11].next, e);
    ASSERT_EQ(ev->props[e].next, ETWHOST_NONE);

    const char *line = render(ev);
    ASSERT_CONTAINS(line, ",\"props\":{\"x\":1,\"s\":{\"a\":2,\"arr\":[-1,2,{\"k\":3}],"
                          "\"inner\":{},\"a_2\":4},\"x_2\":5,\"x_3\":6,\"e\":[]}}");
    json_decref(parse(line, strlen(line)));
    fx_free(&f);
}

TEST(event_partial_decode_keeps_props_raw_and_first_error)
{
    const uint8_t payload[] = {1, 2, 3, 4, 5};
    struct fx f;
    fx_init(&f, payload, sizeof payload);
    struct event *ev = &f.ev;
    add_u(ev, "first", ETWHOST_PT_U32, 7);
    event_prop_open(ev, "st", 2, ETWHOST_PT_STRUCT);
    add_u(ev, "m", ETWHOST_PT_U16, 8);
    event_set_error(ev, "truncated at offset %u", 12u);
    event_set_error(ev, "a later error");
    event_finish_decode(ev);
    ASSERT_EQ(ev->hdr.decode_status, ETWHOST_DECODE_PARTIAL);
    ASSERT_STREQ(ev->decode_error, "truncated at offset 12");
    const char *line = render(ev);
    ASSERT_CONTAINS(line, ",\"props\":{\"first\":7,\"st\":{\"m\":8}},\"raw\":\"AQIDBAU=\","
                          "\"decode_error\":\"truncated at offset 12\"}");
    json_decref(parse(line, strlen(line)));

    /* An error before any property: NONE. */
    event_set_record(ev, &f.rec, NULL);
    event_set_error(ev, "no schema for %s", "event 4104 \"v1\"");
    ASSERT_EQ(ev->hdr.decode_status, ETWHOST_DECODE_NONE);
    line = render(ev);
    ASSERT_CONTAINS(line, "\"provider\":null,");
    ASSERT_CONTAINS(line, ",\"props\":{},\"raw\":\"AQIDBAU=\","
                          "\"decode_error\":\"no schema for event 4104 \\\"v1\\\"\"}");
    json_decref(parse(line, strlen(line)));
    fx_free(&f);
}

TEST(event_header_variants_and_record_stage)
{
    const uint8_t payload[] = {0xff, 0xfe};
    struct fx f;
    fx_init(&f, payload, sizeof payload);
    struct event *ev = &f.ev;
    f.rec.evf = ETWHOST_EVF_NO_PID | ETWHOST_EVF_KERNEL;
    f.rec.related = PS_GUID;
    f.rec.keywords = 0;
    f.rec.kind = ETWHOST_HK_PERFINFO;
    event_set_record(ev, &f.rec, "");
    ASSERT_EQ(ev->hdr.decode_status, ETWHOST_DECODE_PENDING);
    ASSERT_EQ(ev->hdr.header_kind, ETWHOST_HK_PERFINFO);
    ASSERT_EQ(ev->hdr.flags, ETWHOST_EVF_NO_PID | ETWHOST_EVF_KERNEL);
    ASSERT_EQ(ev->hdr.struct_size, sizeof(etwhost_event_header));
    ASSERT(ev->hdr.event_name != NULL && ev->hdr.task_name != NULL);
    ev->hdr.event_name = "Tab\tName";
    const char *line = render(ev);
    ASSERT_STREQ(line,
                 "{\"timestamp\":\"2023-03-29T15:12:38.0175449Z\",\"provider\":null,"
                 "\"provider_guid\":\"a0c1853b-5c40-4b15-8766-3cf1c58f985a\",\"event_id\":4104,"
                 "\"version\":1,\"level\":5,\"opcode\":15,\"task\":2,\"keywords\":\"0x0\","
                 "\"channel\":16,\"pid\":null,\"tid\":null,\"cpu\":3,"
                 "\"event_name\":\"Tab\\tName\",\"activity_id\":null,"
                 "\"related_activity_id\":\"a0c1853b-5c40-4b15-8766-3cf1c58f985a\","
                 "\"props\":{},\"raw\":\"//4=\",\"decode_error\":\"not decoded\"}");
    /* NONE without a message, and timestamps RFC 3339 cannot express. */
    ev->hdr.decode_status = ETWHOST_DECODE_NONE;
    ev->hdr.timestamp = INT64_MAX;
    line = render(ev);
    ASSERT_CONTAINS(line, "{\"timestamp\":9223372036854775807,");
    ASSERT_CONTAINS(line, "\"decode_error\":\"no schema\"}");
    ev->hdr.timestamp = -1;
    line = render(ev);
    ASSERT_CONTAINS(line, "{\"timestamp\":-1,");
    json_decref(parse(line, strlen(line)));
    fx_free(&f);
}

/* The header members must follow each field, also when the writer has seen the rest before. */
static void check_header(struct event *ev, const char *provider)
{
    const char *line = render(ev);
    json_t *j = parse(line, strlen(line));
    const etwhost_event_header *h = &ev->hdr;
    json_t *pv = json_object_get(j, "provider");
    if (provider == NULL)
        ASSERT_MSG(json_is_null(pv), "provider not null: %s", line);
    else
        ASSERT_STREQ(json_string_value(pv), provider);
    char g[40];
    snprintf(g, sizeof g, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", h->provider_guid.data1,
             h->provider_guid.data2, h->provider_guid.data3, h->provider_guid.data4[0],
             h->provider_guid.data4[1], h->provider_guid.data4[2], h->provider_guid.data4[3],
             h->provider_guid.data4[4], h->provider_guid.data4[5], h->provider_guid.data4[6],
             h->provider_guid.data4[7]);
    ASSERT_STREQ(json_string_value(json_object_get(j, "provider_guid")), g);
    ASSERT_EQ((uint64_t)json_number_value(json_object_get(j, "event_id")), h->event_id);
    ASSERT_EQ((uint64_t)json_number_value(json_object_get(j, "version")), h->version);
    ASSERT_EQ((uint64_t)json_number_value(json_object_get(j, "level")), h->level);
    ASSERT_EQ((uint64_t)json_number_value(json_object_get(j, "opcode")), h->opcode);
    ASSERT_EQ((uint64_t)json_number_value(json_object_get(j, "task")), h->task);
    ASSERT_EQ((uint64_t)json_number_value(json_object_get(j, "channel")), h->channel);
    char kw[24];
    snprintf(kw, sizeof kw, "0x%llx", (unsigned long long)h->keywords);
    ASSERT_STREQ(json_string_value(json_object_get(j, "keywords")), kw);
    json_decref(j);
}

TEST(event_json_header_follows_each_field)
{
    const uint8_t payload[] = {1, 2, 3};
    struct fx f;
    fx_init(&f, payload, sizeof payload);
    struct event *ev = &f.ev;
    etwhost_event_header *h = &ev->hdr;
    static const char long_name[] = "A-Provider-Name-That-Is-Longer-Than-Sixty-Four-Characters-In-All-Of-It";
    static const char *const names[] = {"Microsoft-Windows-PowerShell", "Other", "Quote\"Name",
                                        long_name, "", "Microsoft-Windows-PowerShell"};
    for (int round = 0; round < 2; round++) {
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
            h->provider_name = names[k];
            check_header(ev, names[k][0] ? names[k] : NULL);
        }
        h->provider_name = "Microsoft-Windows-PowerShell";
        for (int field = 0; field < 8; field++) {
            etwhost_event_header saved = *h;
            switch (field) {
            case 0: h->provider_guid.data4[7] ^= 0x10; break;
            case 1: h->event_id++; break;
            case 2: h->version++; break;
            case 3: h->level++; break;
            case 4: h->opcode++; break;
            case 5: h->task++; break;
            case 6: h->keywords ^= 0x100000000ull; break;
            default: h->channel++; break;
            }
            check_header(ev, "Microsoft-Windows-PowerShell");
            *h = saved;
            check_header(ev, "Microsoft-Windows-PowerShell");
        }
    }
    /*
     * One field at a time through more values than the writer keeps texts
     * for (everything else the same), so values meet in the same place and
     * only that field tells them apart; names of one length likewise.
     */
    etwhost_event_header saved = *h;
    /* Provider names are reused as text when they are the schema's own (known to need no escaping). */
    static struct schema sc[2];
    for (int k = 0; k < 2; k++) {
        sc[k].provider_name = k ? "Provider-B" : "Provider-A";
        sc[k].hname_len[0] = 10;
        sc[k].hname_plain = 1;
    }
    for (int field = 0; field < 5; field++) {
        for (uint32_t v = 0; v < 300; v++) {
            *h = saved;
            ev->schema = &sc[0];
            switch (field) {
            case 0: h->event_id = (uint16_t)v; break;
            case 1: h->keywords = (uint64_t)v << 33 | v; break;
            case 2: h->provider_guid.data1 = v * 0x01000193u; break;
            case 3: h->task = (uint16_t)v; h->opcode = (uint8_t)(v >> 2); break;
            default: ev->schema = &sc[v % 2]; break;
            }
            h->provider_name = ev->schema->provider_name;
            check_header(ev, h->provider_name);
        }
    }
    ev->schema = NULL;
    *h = saved;
    fx_free(&f);
}

/* Render one property alone and return the text of its value. */
static const char *value_of(struct event *ev)
{
    event_finish_decode(ev);
    const char *line = render(ev);
    const char *p = strstr(line, "\"props\":{");
    ASSERT(p != NULL);
    p = strchr(p + 9, ':');
    ASSERT(p != NULL);
    static char out[4096];
    size_t n = strlen(p + 1);
    ASSERT(n >= 2 && n < sizeof out);
    memcpy(out, p + 1, n - 2); /* drop the closing "}}" */
    out[n - 2] = '\0';
    json_decref(parse(line, strlen(line)));
    return out;
}

#define ONE(f) (event_set_record(&(f).ev, &(f).rec, "P"), &(f).ev)

TEST(event_json_string_conversions)
{
    struct fx f;
    fx_init(&f, NULL, 0);
    struct arena *a = &f.arena;
    size_t n;
    struct event *ev;

    /* Every control character is escaped; DEL and '/' are not. */
    uint16_t ctl[34];
    for (int i = 0; i < 31; i++)
        ctl[i] = (uint16_t)(i + 1);
    ctl[31] = 0x7f;
    ctl[32] = '/';
    ev = ONE(f);
    add_bytes(ev, "s", ETWHOST_PT_STRING, PROP_ENC_UTF16, u16(a, ctl, 33), 66);
    ASSERT_STREQ(value_of(ev), "\"\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n"
                               "\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014"
                               "\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c"
                               "\\u001d\\u001e\\u001f\x7f/\"");
    /* Unpaired surrogates -> U+FFFD; a pair -> one 4-byte sequence. */
    const uint16_t sur[] = {'a', 0xD800, 'b', 0xDC00, 0xD801, 0xDC37, 0xDBFF};
    ev = ONE(f);
    add_bytes(ev, "s", ETWHOST_PT_STRING, PROP_ENC_UTF16, u16(a, sur, 7), 14);
    ASSERT_STREQ(value_of(ev), "\"a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xF0\x90\x90\xB7\xEF\xBF\xBD\"");
    /* An embedded NUL ends the string (ETW strings are NUL-terminated). */
    ev = ONE(f);
    const uint16_t emb[] = {'a', 'b', 0, 'c', 'd'};
    add_bytes(ev, "s", ETWHOST_PT_STRING, PROP_ENC_UTF16, u16(a, emb, 5), 10);
    ASSERT_STREQ(value_of(ev), "\"ab\"");
    ev = ONE(f);
    add_bytes(ev, "s", ETWHOST_PT_STRING, PROP_ENC_ANSI, "ab\0cd", 5);
    ASSERT_STREQ(value_of(ev), "\"ab\"");
    /* ANSI: UTF-8 kept; otherwise Windows-1252. */
    ev = ONE(f);
    add_bytes(ev, "s", ETWHOST_PT_STRING, PROP_ENC_ANSI, "h\xC3\xA9\"", 4);
    ASSERT_STREQ(value_of(ev), "\"h\xC3\xA9\\\"\"");
    ev = ONE(f);
    add_bytes(ev, "s", ETWHOST_PT_STRING, PROP_ENC_ANSI, "caf\xE9 \x80\x01", 7);
    ASSERT_STREQ(value_of(ev), "\"caf\xC3\xA9 \xE2\x82\xAC\\u0001\"");
    /* UTF-8 marked strings are repaired, never passed through broken. */
    ev = ONE(f);
    add_bytes(ev, "s", ETWHOST_PT_STRING, PROP_ENC_UTF8, "ok\xFF\xE2\x82 long enough\n", 19);
    ASSERT_STREQ(value_of(ev), "\"ok\xEF\xBF\xBD\xEF\xBF\xBD long enough\\n\"");
    /* Long ASCII runs go through the fast paths; quotes at every position of a word. */
    for (int pos = 0; pos < 20; pos++) {
        char txt[41];
        memset(txt, 'x', 40);
        txt[40] = '\0';
        txt[pos] = '"';
        char exp[64];
        snprintf(exp, sizeof exp, "\"%.*s\\\"%s\"", pos, txt, txt + pos + 1);
        ev = ONE(f);
        const uint8_t *w = u16a(a, txt, &n);
        add_bytes(ev, "s", ETWHOST_PT_STRING, PROP_ENC_UTF16, w, n);
        ASSERT_STREQ(value_of(ev), exp);
        ev = ONE(f);
        add_bytes(ev, "s", ETWHOST_PT_STRING, PROP_ENC_ANSI, txt, 40);
        ASSERT_STREQ(value_of(ev), exp);
    }
    /* Names are escaped and repaired too. */
    ev = ONE(f);
    add_u(ev, "we\"ird\xFF", ETWHOST_PT_U8, 1);
    ASSERT_CONTAINS(render(ev), "\"props\":{},");
    event_finish_decode(ev);
    ASSERT_CONTAINS(render(ev), "\"props\":{\"we\\\"ird\xEF\xBF\xBD\":1}");
    fx_free(&f);
}

TEST(event_json_value_formats)
{
    struct fx f;
    fx_init(&f, NULL, 0);
    struct event *ev;
    uint32_t i;

    ev = ONE(f);
    add_i(ev, "t", ETWHOST_PT_FILETIME, 0);
    ASSERT_STREQ(value_of(ev), "null");
    ev = ONE(f);
    add_i(ev, "t", ETWHOST_PT_FILETIME, INT64_MAX);
    ASSERT_STREQ(value_of(ev), "9223372036854775807");
    ev = ONE(f);
    add_i(ev, "t", ETWHOST_PT_FILETIME, -5);
    ASSERT_STREQ(value_of(ev), "-5");
    ev = ONE(f);
    add_i(ev, "t", ETWHOST_PT_SYSTEMTIME, 0);
    ASSERT_STREQ(value_of(ev), "null");
    ev = ONE(f);
    add_i(ev, "t", ETWHOST_PT_SYSTEMTIME, 133245763580170000LL);
    ASSERT_STREQ(value_of(ev), "\"2023-03-29T15:12:38.0170000Z\"");

    const uint8_t system[] = {1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0};
    ev = ONE(f);
    add_bytes(ev, "sid", ETWHOST_PT_SID, 0, system, sizeof system);
    ASSERT_STREQ(value_of(ev), "\"S-1-5-18\"");
    ev = ONE(f);
    add_bytes(ev, "sid", ETWHOST_PT_SID, 0, system, 3);
    ASSERT_STREQ(value_of(ev), "\"010100\"");
    ev = ONE(f);
    add_bytes(ev, "b", ETWHOST_PT_BINARY, 0, "\xde\xad\x00\x01", 4);
    ASSERT_STREQ(value_of(ev), "\"dead0001\"");
    ev = ONE(f);
    add_bytes(ev, "b", ETWHOST_PT_BINARY, 0, NULL, 0);
    ASSERT_STREQ(value_of(ev), "\"\"");

    /* Addresses and ports, as recorded in network order. */
    ev = ONE(f);
    i = add_u(ev, "ip", ETWHOST_PT_U32, 192u | 168u << 8 | 1u << 16 | 10u << 24);
    ev->props[i].format = ETWHOST_FMT_IPV4;
    ASSERT_STREQ(value_of(ev), "\"192.168.1.10\"");
    ev = ONE(f);
    i = add_u(ev, "port", ETWHOST_PT_U16, 0xBB01); /* bytes 01 BB */
    ev->props[i].format = ETWHOST_FMT_PORT;
    ASSERT_STREQ(value_of(ev), "443");
    const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    ev = ONE(f);
    i = add_bytes(ev, "ip6", ETWHOST_PT_BINARY, 0, v6, 16);
    ev->props[i].format = ETWHOST_FMT_IPV6;
    ASSERT_STREQ(value_of(ev), "\"2001:db8::1\"");
    const uint8_t sa4[16] = {2, 0, 0, 80, 127, 0, 0, 1};
    ev = ONE(f);
    i = add_bytes(ev, "sa", ETWHOST_PT_BINARY, 0, sa4, 16);
    ev->props[i].format = ETWHOST_FMT_SOCKADDR;
    ASSERT_STREQ(value_of(ev), "\"127.0.0.1:80\"");
    const uint8_t sa6[28] = {23, 0, 0x01, 0xBB, [23] = 1};
    ev = ONE(f);
    i = add_bytes(ev, "sa", ETWHOST_PT_BINARY, 0, sa6, 28);
    ev->props[i].format = ETWHOST_FMT_SOCKADDR;
    ASSERT_STREQ(value_of(ev), "\"[::1]:443\"");
    const uint8_t sa_other[8] = {1, 0, 9, 9};
    ev = ONE(f);
    i = add_bytes(ev, "sa", ETWHOST_PT_BINARY, 0, sa_other, 8);
    ev->props[i].format = ETWHOST_FMT_SOCKADDR;
    ASSERT_STREQ(value_of(ev), "\"0100090900000000\"");

    /* Value maps, hex-like formats, booleans, characters. */
    ev = ONE(f);
    i = add_u(ev, "state", ETWHOST_PT_U32, 3);
    ev->props[i].map_text = "Running \"fast\"";
    ASSERT_STREQ(value_of(ev), "\"Running \\\"fast\\\"\"");
    ev = ONE(f);
    i = add_u(ev, "st", ETWHOST_PT_U32, 0xC0000022);
    ev->props[i].format = ETWHOST_FMT_NTSTATUS;
    ASSERT_STREQ(value_of(ev), "\"0xc0000022\"");
    ev = ONE(f);
    i = add_i(ev, "h", ETWHOST_PT_I32, -1);
    ev->props[i].format = ETWHOST_FMT_HEX;
    ASSERT_STREQ(value_of(ev), "\"0xffffffff\"");
    ev = ONE(f);
    i = add_u(ev, "b", ETWHOST_PT_U8, 0);
    ev->props[i].format = ETWHOST_FMT_BOOL;
    ASSERT_STREQ(value_of(ev), "false");
    ev = ONE(f);
    i = add_u(ev, "c", ETWHOST_PT_U8, '"');
    ev->props[i].format = ETWHOST_FMT_CHAR;
    ASSERT_STREQ(value_of(ev), "\"\\\"\"");
    ev = ONE(f);
    i = add_u(ev, "c", ETWHOST_PT_U16, 0x20AC);
    ev->props[i].format = ETWHOST_FMT_CHAR;
    ASSERT_STREQ(value_of(ev), "\"\xE2\x82\xAC\"");
    ev = ONE(f);
    i = add_u(ev, "e", ETWHOST_PT_U32, 5);
    ev->props[i].format = ETWHOST_FMT_WIN32ERROR;
    ASSERT_STREQ(value_of(ev), "5");
    ev = ONE(f);
    add_bytes(ev, "g", ETWHOST_PT_GUID, 0, "short", 5);
    ASSERT_STREQ(value_of(ev), "null");
    ev = ONE(f);
    add_u(ev, "n", ETWHOST_PT_NULL, 0);
    ASSERT_STREQ(value_of(ev), "null");
    /* Integers wider than their type are cut to the declared width. */
    ev = ONE(f);
    add_u(ev, "u8", ETWHOST_PT_U8, 0x1FF);
    ASSERT_STREQ(value_of(ev), "255");
    ev = ONE(f);
    add_u(ev, "i16", ETWHOST_PT_I16, 0x8000);
    ASSERT_STREQ(value_of(ev), "-32768");

    /* Floats: shortest round trip, integral values keep ".0". */
    ev = ONE(f);
    add_f(ev, "f", ETWHOST_PT_F64, 1e300);
    ASSERT_STREQ(value_of(ev), "1e+300");
    ev = ONE(f);
    add_f(ev, "f", ETWHOST_PT_F64, -0.0);
    ASSERT_STREQ(value_of(ev), "-0.0");
    ev = ONE(f);
    add_f(ev, "f", ETWHOST_PT_F64, 123.0);
    ASSERT_STREQ(value_of(ev), "123.0");
    ev = ONE(f);
    add_f(ev, "f", ETWHOST_PT_F32, (double)0.1f);
    ASSERT_STREQ(value_of(ev), "0.1");
    ev = ONE(f);
    add_f(ev, "f", ETWHOST_PT_F64, -INFINITY);
    ASSERT_STREQ(value_of(ev), "null");
    fx_free(&f);
}

TEST(event_json_floats_round_trip_through_jansson)
{
    struct fx f;
    fx_init(&f, NULL, 0);
    for (int iter = 0; iter < 20000; iter++) {
        uint64_t bits = rnd();
        double d;
        memcpy(&d, &bits, 8);
        if (!isfinite(d))
            continue;
        uint32_t fb = (uint32_t)rnd();
        float fl;
        memcpy(&fl, &fb, 4);
        if (!isfinite(fl))
            continue;
        struct event *ev = ONE(f);
        add_f(ev, "d", ETWHOST_PT_F64, d);
        add_f(ev, "f", ETWHOST_PT_F32, (double)fl);
        add_f(ev, "i", ETWHOST_PT_F64, (double)(int64_t)(rnd() % 2000000000000000ull) - 1e15);
        event_finish_decode(ev);
        const char *line = render(ev);
        json_t *j = parse(line, strlen(line));
        json_t *props = json_object_get(j, "props");
        ASSERT_MSG(json_real_value(json_object_get(props, "d")) == d, "%.17g in %s", d, line);
        ASSERT_MSG((float)json_real_value(json_object_get(props, "f")) == fl, "%.9g in %s",
                   (double)fl, line);
        ASSERT(json_is_real(json_object_get(props, "i")));
        json_decref(j);
    }
    const double edge[] = {DBL_MAX, -DBL_MAX, DBL_MIN, 5e-324, 0.1, 1.0 / 3, 1e15, 1e16,
                           9007199254740993.0, 123456789.123};
    for (size_t k = 0; k < sizeof edge / sizeof edge[0]; k++) {
        struct event *ev = ONE(f);
        add_f(ev, "d", ETWHOST_PT_F64, edge[k]);
        event_finish_decode(ev);
        const char *line = render(ev);
        json_t *j = parse(line, strlen(line));
        ASSERT_MSG(json_real_value(json_object_get(json_object_get(j, "props"), "d")) == edge[k],
                   "%s", line);
        json_decref(j);
    }
    fx_free(&f);
}

TEST(event_nesting_deeper_than_limit_is_safe)
{
    struct fx f;
    fx_init(&f, NULL, 0);
    struct event *ev = &f.ev;
    uint32_t opened = 0;
    for (int d = 0; d < 40; d++) {
        uint32_t i = event_prop_open(ev, "n", 1, ETWHOST_PT_STRUCT);
        if (i != ETWHOST_NONE)
            opened++;
        add_u(ev, "v", ETWHOST_PT_U8, (uint64_t)d);
    }
    ASSERT_EQ(opened, EVENT_MAX_DEPTH);
    ASSERT_EQ(ev->hdr.decode_status, ETWHOST_DECODE_PARTIAL);
    ASSERT_CONTAINS(ev->decode_error, "deeper than 32");
    event_finish_decode(ev);
    const char *line = render(ev);
    json_t *j = parse(line, strlen(line));
    json_t *o = json_object_get(j, "props");
    int depth = 0;
    while (json_object_get(o, "n") != NULL) {
        o = json_object_get(o, "n");
        depth++;
    }
    ASSERT_EQ(depth, 32);
    /* The innermost struct received every add after the limit: v, v_2 .. v_9. */
    ASSERT(json_object_get(o, "v_9") != NULL);
    json_decref(j);
    fx_free(&f);
}

TEST(event_many_members_use_hashed_duplicate_check)
{
    struct fx f;
    fx_init(&f, NULL, 0);
    struct event *ev = &f.ev;
    static char names[300][8];
    for (int i = 0; i < 300; i++) {
        snprintf(names[i], sizeof names[i], "m%d", i % 100);
        add_u(ev, names[i], ETWHOST_PT_U32, (uint64_t)i);
    }
    uint32_t s = event_prop_open(ev, "s", 1, ETWHOST_PT_STRUCT);
    for (int i = 0; i < 100; i++)
        add_u(ev, names[i % 50], ETWHOST_PT_U32, (uint64_t)i);
    event_prop_close(ev, s);
    event_finish_decode(ev);
    const char *line = render(ev);
    json_t *j = parse(line, strlen(line));
    json_t *props = json_object_get(j, "props");
    ASSERT_EQ(json_object_size(props), 301);
    ASSERT_EQ(json_real_value(json_object_get(props, "m7")), 7);
    ASSERT_EQ(json_real_value(json_object_get(props, "m7_2")), 107);
    ASSERT_EQ(json_real_value(json_object_get(props, "m7_3")), 207);
    json_t *st = json_object_get(props, "s");
    ASSERT_EQ(json_object_size(st), 100);
    ASSERT_EQ(json_real_value(json_object_get(st, "m49_2")), 99);
    json_decref(j);
    fx_free(&f);
}

TEST(event_fields_and_cache_invalidation)
{
    struct fx f;
    fx_init(&f, NULL, 0);
    struct event *ev = &f.ev;
    const etwhost_event *h = (const etwhost_event *)ev;
    const struct buf *b = event_json(ev);
    ASSERT(b != NULL);
    ASSERT_NOT_CONTAINS(buf_cstr(&ev->json), "fields");
    ASSERT_EQ(evapi_add_str(h, "tag", "v\"1\xFF", 4), ETWHOST_OK);
    ASSERT_EQ(evapi_add_i64(h, "n", -5), ETWHOST_OK);
    ASSERT_EQ(evapi_add_str(h, "tag", "x", 1), ETWHOST_OK);
    ASSERT_EQ(evapi_add_str(h, "empty", NULL, 0), ETWHOST_OK);
    ASSERT_EQ(evapi_add_str(h, "", "x", 1), ETWHOST_ERR);
    ASSERT_EQ(evapi_add_str(h, NULL, "x", 1), ETWHOST_ERR);
    ASSERT_EQ(evapi_add_str(h, "bad", NULL, 3), ETWHOST_ERR);
    b = event_json(ev);
    ASSERT(b != NULL);
    const char *line = buf_cstr(&ev->json);
    ASSERT_CONTAINS(line, ",\"props\":{},\"fields\":{\"tag\":\"v\\\"1\xEF\xBF\xBD\",\"n\":-5,"
                          "\"tag_2\":\"x\",\"empty\":\"\"},\"raw\":\"\","
                          "\"decode_error\":\"not decoded\"}");
    json_decref(parse(line, strlen(line)));
    fx_free(&f);
}

/* 100k events with random bytes as UTF-16 / ANSI / UTF-8 strings and random names. */
TEST(event_json_random_strings_always_valid)
{
    struct fx f;
    fx_init(&f, NULL, 0);
    static const char *const pool[] = {"a", "b", "\xC3\xA9", "\xFF", "\"", "\\", "\x01",
                                       "name", "z", "x y"};
    uint8_t bytes[8][96];
    char conv[8][400];
    size_t conv_len[8];
    char names[8][16];
    uint8_t *exact[8];
    for (int iter = 0; iter < 100000; iter++) {
        struct event *ev = ONE(f);
        arena_reset(&f.arena);
        int nprops = 1 + (int)(rnd() % 8);
        uint32_t open = ETWHOST_NONE;
        for (int k = 0; k < nprops; k++) {
            size_t n = (size_t)(rnd() % 96);
            int mode = (int)(rnd() % 5);
            for (size_t b = 0; b < n; b++) {
                uint64_t r = rnd();
                /*
                 * Modes 3 and 4 bias towards ASCII (as bytes, or as UTF-16 units with a
                 * zero high byte) so the word-at-a-time paths run and end at every offset.
                 */
                if (mode == 3 && (r & 0x300))
                    bytes[k][b] = (uint8_t)(0x20 + (r & 0x3F));
                else if (mode == 4 && (b & 1) && (r & 0x3000))
                    bytes[k][b] = 0;
                else if (mode == 4 && (r & 0x300))
                    bytes[k][b] = (uint8_t)(0x20 + (r & 0x3F));
                else
                    bytes[k][b] = (uint8_t)r;
            }
            uint16_t enc = mode == 0 || mode == 4 ? PROP_ENC_UTF16 : mode == 1 ? PROP_ENC_ANSI
                         : mode == 2 ? PROP_ENC_UTF8 : (uint16_t)(rnd() % 3);
            if (enc == PROP_ENC_UTF16)
                conv_len[k] = text_utf16_to_utf8(conv[k], bytes[k], n);
            else if (enc == PROP_ENC_ANSI)
                conv_len[k] = text_ansi_to_utf8(conv[k], bytes[k], n);
            else
                conv_len[k] = text_utf8_repair(conv[k], bytes[k], n);
            snprintf(names[k], sizeof names[k], "%s%s", pool[rnd() % 10], pool[rnd() % 10]);
            if (open == ETWHOST_NONE && rnd() % 5 == 0)
                open = event_prop_open(ev, "st", 2, ETWHOST_PT_STRUCT);
            /* An exact-size heap copy, so a sanitizer build catches any over-read. */
            exact[k] = mem_alloc(n);
            ASSERT(exact[k] != NULL);
            memcpy(exact[k], bytes[k], n);
            add_bytes(ev, names[k], ETWHOST_PT_STRING, enc, exact[k], n);
        }
        event_prop_close(ev, open);
        event_finish_decode(ev);
        const char *line = render(ev);
        json_t *j = parse(line, strlen(line));
        /* The first string (never a duplicate name) reads back as the reference conversion. */
        json_t *props = json_object_get(j, "props");
        json_t *v = json_object_get(props, names[0]);
        if (v == NULL) {
            /* Names are repaired like values: look the key up through the same conversion. */
            char key[64];
            size_t kl = text_utf8_repair(key, (const uint8_t *)names[0], strlen(names[0]));
            key[kl] = '\0';
            v = json_object_get(props, key);
            if (v == NULL)
                v = json_object_get(json_object_get(props, "st"), key);
        }
        ASSERT_MSG(v != NULL && json_is_string(v), "iteration %d: %s", iter, line);
        ASSERT_MSG(json_string_length(v) == conv_len[0] &&
                       memcmp(json_string_value(v), conv[0], conv_len[0]) == 0,
                   "iteration %d: %s", iter, line);
        json_decref(j);
        for (int k = 0; k < nprops; k++)
            mem_free(exact[k]);
    }
    fx_free(&f);
}

TEST(event_json_out_of_memory_and_cap)
{
    struct fx f;
    fx_init(&f, NULL, 0);
    struct event *ev = &f.ev;
    add_bytes(ev, "s", ETWHOST_PT_STRING, PROP_ENC_ANSI, "0123456789", 10);
    event_finish_decode(ev);
    struct buf small = BUF_INIT;
    small.limit = 64;
    ASSERT_EQ(event_json_render(ev, &small), ERR_RANGE);
    ASSERT_EQ(small.len, 0);
    buf_free(&small);
    mem_fail_after(1);
    ASSERT(event_json(ev) == NULL);
    mem_fail_after(0);
    ASSERT(event_json(ev) != NULL);
    /* Property arrays that cannot grow record an error instead of crashing. */
    event_set_record(ev, &f.rec, "P");
    uint32_t last = ETWHOST_NONE;
    mem_fail_after(1);
    for (int i = 0; i < 100; i++)
        last = event_prop_add(ev, "x", 1, ETWHOST_PT_U8);
    mem_fail_after(0);
    (void)last;
    ASSERT(ev->decode_error != NULL);
    const char *line = render(ev);
    json_decref(parse(line, strlen(line)));
    fx_free(&f);
}
