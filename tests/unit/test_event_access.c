/*
 * Tests of host/event/event_access: the event functions plugins call
 * through the host API table.
 */
#include "test.h"

#include "core/arena.h"
#include "core/mem.h"
#include "event/event.h"
#include "event/event_access.h"

/* The accessors fit the host API table members exactly (a compile-time check). */
static const etwhost_host_api table_shape = {
    .event_header = evapi_header,
    .event_prop_count = evapi_prop_count,
    .event_prop_at = evapi_prop_at,
    .event_prop_find = evapi_prop_find,
    .event_get_i64 = evapi_get_i64,
    .event_get_u64 = evapi_get_u64,
    .event_get_f64 = evapi_get_f64,
    .event_get_str = evapi_get_str,
    .event_json = evapi_json,
    .event_raw = evapi_raw,
    .event_add_str = evapi_add_str,
    .event_add_i64 = evapi_add_i64,
};

struct afx {
    struct arena arena;
    struct event ev;
    struct record rec;
    int64_t live;
    uint8_t payload[256];
    uint32_t len;
};

static uint32_t put16(struct afx *f, const char *ascii)
{
    uint32_t start = f->len;
    for (const char *s = ascii;; s++) {
        f->payload[f->len++] = (uint8_t)*s;
        f->payload[f->len++] = 0;
        if (*s == '\0')
            break;
    }
    return start;
}

static uint32_t add(struct event *ev, const char *name, uint16_t type)
{
    uint32_t i = event_prop_add(ev, name, (uint32_t)strlen(name), type);
    ASSERT(i != ETWHOST_NONE);
    return i;
}

/*
 * An event like a decoder makes: strings pointing at UTF-16 / ANSI payload
 * bytes, a struct, an array of structs, repeated names.
 */
static const etwhost_event *build(struct afx *f)
{
    f->live = mem_live_blocks();
    f->arena = (struct arena)ARENA_INIT;
    memset(&f->rec, 0, sizeof f->rec);
    f->len = 0;
    uint32_t s_off = put16(f, "C:\\Windows\\notepad.exe");
    uint32_t s_len = f->len - s_off - 2;
    uint32_t a_off = f->len;
    memcpy(f->payload + f->len, "caf\xE9", 5);
    f->len += 5;
    f->rec.data = f->payload;
    f->rec.data_len = f->len;
    f->rec.id = 1;
    f->rec.timestamp = 133245763580175449LL;
    event_init(&f->ev, &f->arena);
    event_set_record(&f->ev, &f->rec, "Prov");
    struct event *ev = &f->ev;
    uint32_t i;
    i = add(ev, "Image", ETWHOST_PT_STRING);
    ev->props[i].data = f->payload + s_off;
    ev->props[i].size = s_len;
    ev->props[i].reserved = PROP_ENC_UTF16;
    i = add(ev, "Ansi", ETWHOST_PT_STRING);
    ev->props[i].data = f->payload + a_off;
    ev->props[i].size = 4;
    ev->props[i].reserved = PROP_ENC_ANSI;
    add(ev, "I8", ETWHOST_PT_I8);
    ev->props[2].num.i = -5;
    add(ev, "Big", ETWHOST_PT_U64);
    ev->props[3].num.u = UINT64_MAX;
    add(ev, "Neg", ETWHOST_PT_I32);
    ev->props[4].num.i = -1;
    add(ev, "Half", ETWHOST_PT_F32);
    ev->props[5].num.f = 1.5;
    add(ev, "Count", ETWHOST_PT_U32);
    ev->props[6].num.u = 42;
    i = add(ev, "Id", ETWHOST_PT_GUID);
    static const etwhost_guid g = {0x01020304, 0x0506, 0x0708,
                                   {9, 10, 11, 12, 13, 14, 15, 16}};
    ev->props[i].data = (const uint8_t *)&g;
    ev->props[i].size = 16;
    i = add(ev, "When", ETWHOST_PT_FILETIME);
    ev->props[i].num.i = 133245763580175449LL;
    i = add(ev, "Flags", ETWHOST_PT_U32);
    ev->props[i].num.u = 0xdeadbeef;
    ev->props[i].format = ETWHOST_FMT_HEX;
    i = add(ev, "State", ETWHOST_PT_U32);
    ev->props[i].num.u = 2;
    ev->props[i].map_text = "Running";
    i = add(ev, "Quote", ETWHOST_PT_U8);
    ev->props[i].num.u = '"';
    ev->props[i].format = ETWHOST_FMT_CHAR;
    add(ev, "Ok", ETWHOST_PT_BOOL);
    ev->props[i + 1].num.u = 1;
    uint32_t s = event_prop_open(ev, "s", 1, ETWHOST_PT_STRUCT);
    i = add(ev, "b", ETWHOST_PT_U16);
    ev->props[i].num.u = 7;
    event_prop_close(ev, s);
    uint32_t arr = event_prop_open(ev, "arr", 3, ETWHOST_PT_ARRAY);
    for (int k = 0; k < 3; k++) {
        uint32_t el = event_prop_open(ev, "", 0, ETWHOST_PT_STRUCT);
        i = add(ev, "x", ETWHOST_PT_I64);
        ev->props[i].num.i = 100 + k;
        event_prop_close(ev, el);
    }
    event_prop_close(ev, arr);
    i = add(ev, "Count", ETWHOST_PT_U32);
    ev->props[i].num.u = 43;
    event_finish_decode(ev);
    return (const etwhost_event *)ev;
}

static void done(struct afx *f)
{
    event_free(&f->ev);
    arena_free(&f->arena);
    ASSERT_EQ(mem_live_blocks(), f->live);
}

TEST(event_api_record_stage_has_no_props)
{
    struct afx f;
    const etwhost_event *h = build(&f);
    f.ev.hdr.decode_status = ETWHOST_DECODE_PENDING;
    etwhost_prop p = {.struct_size = sizeof p};
    int64_t i;
    const char *s;
    size_t n;
    ASSERT_EQ(evapi_prop_count(h), 0);
    ASSERT_EQ(evapi_prop_at(h, 0, &p), ETWHOST_ERR_STATE);
    ASSERT_EQ(evapi_prop_find(h, "I8", 2, &p), ETWHOST_ERR_STATE);
    ASSERT_EQ(evapi_get_i64(h, "I8", &i), ETWHOST_ERR_STATE);
    ASSERT_EQ(evapi_get_str(h, "Image", &s, &n), ETWHOST_ERR_STATE);
    /* Header, JSON, raw payload and fields work at record stage. */
    ASSERT_EQ(evapi_header(h)->event_id, 1);
    ASSERT_STREQ(evapi_header(h)->provider_name, "Prov");
    ASSERT_EQ(evapi_add_i64(h, "seen", 1), ETWHOST_OK);
    ASSERT_EQ(evapi_json(h, &s, &n), ETWHOST_OK);
    ASSERT_EQ(strlen(s), n);
    ASSERT_CONTAINS(s, "\"props\":{},\"fields\":{\"seen\":1},\"raw\":\"");
    const uint8_t *raw;
    ASSERT_EQ(evapi_raw(h, &raw, &n), ETWHOST_OK);
    ASSERT(raw == f.payload && n == f.len);
    done(&f);
}

TEST(event_api_prop_at_converts_strings_and_honours_struct_size)
{
    struct afx f;
    const etwhost_event *h = build(&f);
    ASSERT_EQ(evapi_prop_count(h), f.ev.nprops);
    etwhost_prop p;
    memset(&p, 0xAB, sizeof p);
    p.struct_size = sizeof p;
    ASSERT_EQ(evapi_prop_at(h, 0, &p), ETWHOST_OK);
    ASSERT_EQ(p.struct_size, sizeof p);
    ASSERT_EQ(p.type, ETWHOST_PT_STRING);
    ASSERT_EQ(p.name_len, 5);
    ASSERT(memcmp(p.name, "Image", 5) == 0);
    ASSERT_EQ(p.size, strlen("C:\\Windows\\notepad.exe"));
    ASSERT(memcmp(p.data, "C:\\Windows\\notepad.exe", p.size) == 0);
    ASSERT_EQ(p.data[p.size], 0);
    ASSERT_EQ(p.reserved, 0);
    ASSERT(p.map_text == NULL);
    ASSERT_EQ(p.parent, ETWHOST_NONE);
    ASSERT_EQ(p.next, 1);
    /* Converted once: the second read returns the same bytes. */
    const uint8_t *first = p.data;
    ASSERT_EQ(evapi_prop_at(h, 0, &p), ETWHOST_OK);
    ASSERT(p.data == first);
    /* ANSI that is not UTF-8 reads as Windows-1252. */
    ASSERT_EQ(evapi_prop_at(h, 1, &p), ETWHOST_OK);
    ASSERT_EQ(p.size, 5);
    ASSERT(memcmp(p.data, "caf\xC3\xA9", 5) == 0);

    /* An older plugin whose etwhost_prop ends before map_text gets only that prefix. */
    unsigned char older[sizeof(etwhost_prop) + 8];
    memset(older, 0xCD, sizeof older);
    etwhost_prop *o = (etwhost_prop *)(void *)older;
    uint32_t old_size = (uint32_t)offsetof(etwhost_prop, map_text);
    o->struct_size = old_size;
    ASSERT_EQ(evapi_prop_at(h, 10, o), ETWHOST_OK); /* State, which has a map_text */
    ASSERT_EQ(o->struct_size, old_size);
    ASSERT_EQ(o->num.u, 2);
    for (size_t k = old_size; k < sizeof older; k++)
        ASSERT_MSG(older[k] == 0xCD, "byte %zu past the caller's struct was written", k);
    /* A newer plugin with a larger struct: the host fills what it knows and says so. */
    memset(older, 0xCD, sizeof older);
    o->struct_size = (uint32_t)sizeof older;
    ASSERT_EQ(evapi_prop_at(h, 10, o), ETWHOST_OK);
    ASSERT_EQ(o->struct_size, sizeof(etwhost_prop));
    ASSERT_STREQ(o->map_text, "Running");
    ASSERT_EQ(older[sizeof(etwhost_prop)], 0xCD);

    p.struct_size = 0;
    ASSERT_EQ(evapi_prop_at(h, 0, &p), ETWHOST_ERR);
    ASSERT_EQ(evapi_prop_at(h, 0, NULL), ETWHOST_ERR);
    p.struct_size = sizeof p;
    ASSERT_EQ(evapi_prop_at(h, f.ev.nprops, &p), ETWHOST_ERR_NOTFOUND);
    /* The JSON is unchanged by the conversion. */
    const char *s;
    size_t n;
    ASSERT_EQ(evapi_json(h, &s, &n), ETWHOST_OK);
    ASSERT_CONTAINS(s, "\"Image\":\"C:\\\\Windows\\\\notepad.exe\",\"Ansi\":\"caf\xC3\xA9\"");
    done(&f);
}

TEST(event_api_prop_find_paths)
{
    struct afx f;
    const etwhost_event *h = build(&f);
    etwhost_prop p = {.struct_size = sizeof p};
#define FIND(path) evapi_prop_find(h, (path), strlen(path), &p)
    ASSERT_EQ(FIND("I8"), ETWHOST_OK);
    ASSERT_EQ(p.num.i, -5);
    ASSERT_EQ(FIND("s.b"), ETWHOST_OK);
    ASSERT_EQ(p.num.u, 7);
    ASSERT_EQ(FIND("s"), ETWHOST_OK);
    ASSERT_EQ(p.type, ETWHOST_PT_STRUCT);
    ASSERT_EQ(p.count, 1);
    ASSERT_EQ(FIND("arr[2].x"), ETWHOST_OK);
    ASSERT_EQ(p.num.i, 102);
    ASSERT_EQ(FIND("arr[0]"), ETWHOST_OK);
    ASSERT_EQ(p.type, ETWHOST_PT_STRUCT);
    ASSERT_EQ(FIND("Count"), ETWHOST_OK);
    ASSERT_EQ(p.num.u, 42);
    ASSERT_EQ(FIND("Count_2"), ETWHOST_OK);
    ASSERT_EQ(p.num.u, 43);
    ASSERT_EQ(FIND("Count_3"), ETWHOST_ERR_NOTFOUND);
    ASSERT_EQ(FIND("arr[3]"), ETWHOST_ERR_NOTFOUND);
    ASSERT_EQ(FIND("arr[0].y"), ETWHOST_ERR_NOTFOUND);
    ASSERT_EQ(FIND("nope"), ETWHOST_ERR_NOTFOUND);
    ASSERT_EQ(FIND("s.nope"), ETWHOST_ERR_NOTFOUND);
    ASSERT_EQ(FIND("I8[0]"), ETWHOST_ERR_TYPE);
    ASSERT_EQ(FIND("I8.x"), ETWHOST_ERR_TYPE);
    ASSERT_EQ(FIND("arr.x"), ETWHOST_ERR_TYPE);
    ASSERT_EQ(FIND(""), ETWHOST_ERR);
    ASSERT_EQ(FIND("s."), ETWHOST_ERR);
    ASSERT_EQ(FIND(".s"), ETWHOST_ERR);
    ASSERT_EQ(FIND("arr["), ETWHOST_ERR);
    ASSERT_EQ(FIND("arr[x]"), ETWHOST_ERR);
    ASSERT_EQ(FIND("arr[1"), ETWHOST_ERR);
    ASSERT_EQ(FIND("arr[99999999999999]"), ETWHOST_ERR);
    /* path_len is honoured: "s.b" cut to "s". */
    ASSERT_EQ(evapi_prop_find(h, "s.b", 1, &p), ETWHOST_OK);
    ASSERT_EQ(p.type, ETWHOST_PT_STRUCT);
    ASSERT_EQ(evapi_prop_find(h, NULL, 0, &p), ETWHOST_ERR);
#undef FIND
    done(&f);
}

TEST(event_api_typed_getters_convert_with_range_checks)
{
    struct afx f;
    const etwhost_event *h = build(&f);
    int64_t i = 0;
    uint64_t u = 0;
    double d = 0;
    ASSERT_EQ(evapi_get_i64(h, "I8", &i), ETWHOST_OK);
    ASSERT_EQ(i, -5);
    ASSERT_EQ(evapi_get_u64(h, "I8", &u), ETWHOST_ERR_RANGE);
    ASSERT_EQ(evapi_get_u64(h, "Big", &u), ETWHOST_OK);
    ASSERT_EQ_U64(u, UINT64_MAX);
    ASSERT_EQ(evapi_get_i64(h, "Big", &i), ETWHOST_ERR_RANGE);
    ASSERT_EQ(evapi_get_i64(h, "Neg", &i), ETWHOST_OK);
    ASSERT_EQ(i, -1);
    ASSERT_EQ(evapi_get_u64(h, "Neg", &u), ETWHOST_ERR_RANGE);
    ASSERT_EQ(evapi_get_u64(h, "Count", &u), ETWHOST_OK);
    ASSERT_EQ(u, 42);
    ASSERT_EQ(evapi_get_i64(h, "arr[1].x", &i), ETWHOST_OK);
    ASSERT_EQ(i, 101);
    ASSERT_EQ(evapi_get_i64(h, "Ok", &i), ETWHOST_OK);
    ASSERT_EQ(i, 1);
    ASSERT_EQ(evapi_get_i64(h, "When", &i), ETWHOST_OK);
    ASSERT_EQ(i, 133245763580175449LL);
    ASSERT_EQ(evapi_get_i64(h, "Image", &i), ETWHOST_ERR_TYPE);
    ASSERT_EQ(evapi_get_i64(h, "Half", &i), ETWHOST_ERR_TYPE);
    ASSERT_EQ(evapi_get_i64(h, "s", &i), ETWHOST_ERR_TYPE);
    ASSERT_EQ(evapi_get_i64(h, "missing", &i), ETWHOST_ERR_NOTFOUND);
    ASSERT_EQ(evapi_get_f64(h, "Half", &d), ETWHOST_OK);
    ASSERT(d == 1.5);
    ASSERT_EQ(evapi_get_f64(h, "Neg", &d), ETWHOST_OK);
    ASSERT(d == -1.0);
    ASSERT_EQ(evapi_get_f64(h, "Big", &d), ETWHOST_OK);
    ASSERT(d == 18446744073709551615.0);
    ASSERT_EQ(evapi_get_f64(h, "Id", &d), ETWHOST_ERR_TYPE);
    done(&f);
}

TEST(event_api_get_str_text_of_every_scalar)
{
    struct afx f;
    const etwhost_event *h = build(&f);
    const char *s;
    size_t n;
#define STR(path, expect)                                                    \
    do {                                                                     \
        ASSERT_EQ(evapi_get_str(h, (path), &s, &n), ETWHOST_OK);             \
        ASSERT_STREQ(s, (expect));                                           \
        ASSERT_EQ(n, strlen(expect));                                        \
    } while (0)
    STR("Image", "C:\\Windows\\notepad.exe");
    STR("Ansi", "caf\xC3\xA9");
    STR("I8", "-5");
    STR("Big", "18446744073709551615");
    STR("Half", "1.5");
    STR("Id", "01020304-0506-0708-090a-0b0c0d0e0f10");
    STR("When", "2023-03-29T15:12:38.0175449Z");
    STR("Flags", "0xdeadbeef");
    STR("State", "Running");
    STR("Quote", "\"");
    STR("Ok", "true");
    STR("arr[2].x", "102");
#undef STR
    ASSERT_EQ(evapi_get_str(h, "s", &s, &n), ETWHOST_ERR_TYPE);
    ASSERT_EQ(evapi_get_str(h, "arr", &s, &n), ETWHOST_ERR_TYPE);
    ASSERT_EQ(evapi_get_str(h, "zz", &s, &n), ETWHOST_ERR_NOTFOUND);
    done(&f);
}

TEST(event_api_json_fields_and_raw)
{
    struct afx f;
    const etwhost_event *h = build(&f);
    const char *s1, *s2;
    size_t n1, n2;
    ASSERT_EQ(evapi_json(h, &s1, &n1), ETWHOST_OK);
    ASSERT_EQ(s1[n1], '\0');
    ASSERT_EQ(evapi_json(h, &s2, &n2), ETWHOST_OK);
    ASSERT(s1 == s2 && n1 == n2);
    ASSERT_NOT_CONTAINS(s1, "\"raw\"");
    ASSERT_CONTAINS(s1, "\"arr\":[{\"x\":100},{\"x\":101},{\"x\":102}],\"Count_2\":43}}");
    ASSERT_EQ(evapi_add_str(h, "rule", "r1", 2), ETWHOST_OK);
    ASSERT_EQ(evapi_add_i64(h, "score", INT64_MIN), ETWHOST_OK);
    ASSERT_EQ(evapi_json(h, &s2, &n2), ETWHOST_OK);
    ASSERT_CONTAINS(s2, "\"Count_2\":43},\"fields\":{\"rule\":\"r1\","
                        "\"score\":-9223372036854775808}}");
    ASSERT_EQ(strlen(s2), n2);
    /* No record: an empty (non-NULL) payload. */
    struct event bare;
    struct arena a = ARENA_INIT;
    event_init(&bare, &a);
    const uint8_t *raw = NULL;
    size_t rl = 99;
    ASSERT_EQ(evapi_raw((const etwhost_event *)&bare, &raw, &rl), ETWHOST_OK);
    ASSERT(raw != NULL && rl == 0);
    event_free(&bare);
    arena_free(&a);
    (void)table_shape;
    done(&f);
}

TEST(event_api_out_of_memory_is_reported)
{
    struct afx f;
    const etwhost_event *h = build(&f);
    /* Nothing of the event lives in the arena yet: empty it so the next use must allocate. */
    arena_free(&f.arena);
    etwhost_prop p = {.struct_size = sizeof p};
    mem_fail_after(1);
    etwhost_status st = evapi_prop_at(h, 0, &p);
    const char *s;
    size_t n;
    etwhost_status st2 = evapi_get_str(h, "Id", &s, &n);
    etwhost_status st3 = evapi_add_str(h, "x", "y", 1);
    mem_fail_after(0);
    ASSERT_EQ(st, ETWHOST_ERR_NOMEM);
    ASSERT_EQ(st2, ETWHOST_ERR_NOMEM);
    ASSERT_EQ(st3, ETWHOST_ERR_NOMEM);
    /* And works again afterwards. */
    ASSERT_EQ(evapi_prop_at(h, 0, &p), ETWHOST_OK);
    ASSERT(memcmp(p.data, "C:\\", 3) == 0);
    done(&f);
}
