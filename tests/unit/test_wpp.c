/*
 * WPP records without TMF information: on the OneDrive traces of the corpus
 * (32-bit, system-time clock) and on records written with the project's ETL
 * writer with every optional header item.  Each WPP event must come out
 * undecoded with the one explanation, its raw argument bytes and its header
 * items (message number, GUID or component id, sequence) as properties.
 */
#include "test.h"

#include "core/arena.h"
#include "core/mem.h"
#include "core/text.h"
#include "decode/decode.h"
#include "etl/etl_format.h"
#include "etl/etl_reader.h"
#include "etl/etl_writer.h"
#include "event/event.h"
#include "platform/platform.h"
#include "schema/schema_cache.h"
#include "schema/schema_sources.h"
#include "schema/wpp.h"

static const etwhost_prop *top(const struct event *e, const char *name)
{
    for (uint32_t i = e->nprops ? 0 : ETWHOST_NONE; i != ETWHOST_NONE; i = e->props[i].next)
        if (e->props[i].name_len == strlen(name) &&
            memcmp(e->props[i].name, name, e->props[i].name_len) == 0)
            return &e->props[i];
    return NULL;
}

/* Check one decoded WPP event against its record. */
static void check_wpp_event(const struct record *rec, struct event *e)
{
    ASSERT_EQ(e->hdr.decode_status, ETWHOST_DECODE_NONE);
    ASSERT_STREQ(e->decode_error, WPP_NO_TMF);
    char name[40];
    snprintf(name, sizeof name, "WPP message %u", rec->message_number);
    ASSERT_STREQ(e->hdr.event_name, name);
    const etwhost_prop *p = top(e, "MessageNumber");
    ASSERT(p != NULL);
    ASSERT_EQ(p->num.u, rec->message_number);
    if (rec->hdr_flags & ETL_WPP_SEQUENCE)
        ASSERT_EQ(top(e, "SequenceNumber")->num.u, rec->wpp_sequence);
    else
        ASSERT(top(e, "SequenceNumber") == NULL);
    if (rec->hdr_flags & ETL_WPP_COMPONENTID) {
        ASSERT(top(e, "ComponentId") != NULL);
        ASSERT(top(e, "MessageGuid") == NULL);
    } else if (rec->hdr_flags & ETL_WPP_GUID) {
        p = top(e, "MessageGuid");
        ASSERT(p != NULL && p->type == ETWHOST_PT_GUID);
        ASSERT(memcmp(p->data, &rec->provider, 16) == 0);
    }
    /* The argument bytes stay in the JSON line, undecoded. */
    const struct buf *j = event_json(e);
    ASSERT(j != NULL);
    char *b64 = mem_alloc(rec->data_len * 2 + 8);
    size_t n = text_base64_encode(b64, rec->data, rec->data_len);
    b64[n] = '\0';
    char *want = mem_alloc(n + 16);
    snprintf(want, n + 16, "\"raw\":\"%s\"", b64);
    char *line = mem_strndup(j->p, j->len);
    ASSERT_CONTAINS(line, want);
    ASSERT_CONTAINS(line, "\"decode_error\":\"" WPP_NO_TMF "\"");
    mem_free(line);
    mem_free(want);
    mem_free(b64);
}

TEST(wpp_onedrive_corpus)
{
    const char *corpus = t_corpus_or_skip();
    static const char *const files[] = {
        "dfirmuseum__OneDrive_TraceCurrent.0304.0007.etl",
        "dfirmuseum__OneDrive_TraceCurrent.1202.0003.etl",
        "dfirmuseum__OneDrive_TraceCurrent.6673.1011.etl",
        "dfirmuseum__OneDrive_TraceCurrent.6931.0609.etl",
    };
    unsigned total = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        const char *path = t_path("%s/etl/%s", corpus, files[f]);
        if (!plat_is_file(path))
            continue;
        struct schema_cache *c = schema_cache_new(0);
        struct decoder d;
        decoder_init(&d, c);
        struct errbuf eb;
        ASSERT_OK(schema_sources_builtin(&d, &eb));
        struct arena a = ARENA_INIT;
        struct event e;
        event_init(&e, &a);
        struct etl_reader *rd = NULL;
        ASSERT_MSG(etl_open(path, NULL, &rd, &eb) == 0, "%s", eb.msg);
        const struct trace_info *ti = etl_info(rd);
        ASSERT_EQ(ti->pointer_size, 4);
        ASSERT_EQ(ti->clock_type, TRACE_CLOCK_SYSTEM);
        struct record rec;
        unsigned wpp = 0, others = 0, others_full = 0;
        while (etl_next(rd, &rec, &eb) == 1) {
            arena_reset(&a);
            ASSERT_OK(decode_record(&d, &rec, &e));
            if (rec.kind != ETWHOST_HK_MESSAGE) {
                /* The header records: logfile header, build info, PDB id, partition. */
                others++;
                others_full += e.hdr.decode_status == ETWHOST_DECODE_FULL;
                continue;
            }
            wpp++;
            ASSERT(rec.evf & ETWHOST_EVF_PTR32);
            /* System-time clock: timestamps are the recorded FILETIMEs (2023 here). */
            ASSERT(rec.timestamp > 133000000000000000LL && rec.timestamp < 134000000000000000LL);
            check_wpp_event(&rec, &e);
        }
        printf("%s: %u WPP events undecoded with their header items, %u other records "
               "(%u FULL)\n", files[f], wpp, others, others_full);
        ASSERT(wpp > 10);
        ASSERT_EQ(others_full, others);
        total += wpp;
        etl_close(rd);
        event_free(&e);
        arena_free(&a);
        decoder_free(&d);
        schema_cache_free(c);
    }
    if (total == 0)
        SKIP("no OneDrive traces under %s/etl", corpus);
}

TEST(wpp_written_records_with_every_header_item)
{
    static const etwhost_guid mg = {0x8a52b050, 0xbe2f, 0xbe88,
                                    {0x43, 0xab, 0x1e, 0x4c, 0x46, 0x5b, 0x36, 0x0d}};
    static const uint16_t opts[] = {
        ETL_WPP_SEQUENCE | ETL_WPP_COMPONENTID | ETL_WPP_TIMESTAMP | ETL_WPP_SYSTEMINFO,
        ETL_WPP_GUID | ETL_WPP_TIMESTAMP | ETL_WPP_SYSTEMINFO | ETL_WPP_POINTER32,
        ETL_WPP_SEQUENCE | ETL_WPP_GUID,
        0,
    };
    struct etl_writer *w = NULL;
    struct errbuf eb;
    ASSERT_MSG(etl_writer_open(NULL, NULL, &w, &eb) == 0, "%s", eb.msg);
    for (uint16_t i = 0; i < 4; i++) {
        struct etl_wrecord r;
        memset(&r, 0, sizeof r);
        r.kind = ETWHOST_HK_MESSAGE;
        r.raw_timestamp = 100 + i;
        r.pid = 7;
        r.tid = 9;
        r.guid = mg;
        r.message_number = (uint16_t)(10 + i);
        r.wpp_options = opts[i];
        r.sequence = 1000u + i;
        r.component_id = 0xC0DE;
        uint8_t args[5] = {1, 2, 3, 4, (uint8_t)i};
        r.data = args;
        r.data_len = 5;
        ASSERT_MSG(etl_writer_append(w, &r, &eb) == 0, "%s", eb.msg);
    }
    uint8_t *file = NULL;
    size_t len = 0;
    ASSERT_OK(etl_writer_close(w, &file, &len, &eb));

    struct schema_cache *c = schema_cache_new(0);
    struct decoder d;
    decoder_init(&d, c);
    ASSERT_OK(schema_sources_builtin(&d, &eb));
    struct arena a = ARENA_INIT;
    struct event e;
    event_init(&e, &a);
    struct etl_reader *rd = NULL;
    struct etl_options o;
    memset(&o, 0, sizeof o);
    o.file_order = 1;
    ASSERT_MSG(etl_open_mem(file, len, "wpp.etl", &o, &rd, &eb) == 0, "%s", eb.msg);
    struct record rec;
    unsigned n = 0;
    while (etl_next(rd, &rec, &eb) == 1) {
        if (rec.kind != ETWHOST_HK_MESSAGE)
            continue;
        arena_reset(&a);
        ASSERT_OK(decode_record(&d, &rec, &e));
        check_wpp_event(&rec, &e);
        ASSERT_EQ(rec.data_len, 5);
        if (opts[n] & ETL_WPP_COMPONENTID)
            ASSERT_EQ(top(&e, "ComponentId")->num.u, 0xC0DE);
        n++;
    }
    ASSERT_EQ(n, 4);
    etl_close(rd);
    event_free(&e);
    arena_free(&a);
    decoder_free(&d);
    schema_cache_free(c);
    mem_free(file);
}

TEST(wpp_schema_count_is_bounded)
{
    struct schema_source src;
    ASSERT_OK(wpp_source(&src));
    struct record rec;
    memset(&rec, 0, sizeof rec);
    rec.kind = ETWHOST_HK_MESSAGE;
    const struct schema *first = NULL, *s = NULL;
    /* Distinct (GUID, number) pairs up to the cap get their own schema, then one shared. */
    for (uint32_t i = 0; i <= WPP_MAX_SCHEMAS; i++) {
        rec.provider.data1 = i >> 16;
        rec.message_number = (uint16_t)i;
        ASSERT_OK(src.lookup(src.ctx, &rec, &s));
        ASSERT_STREQ(s->error, WPP_NO_TMF);
        if (i == 0)
            first = s;
    }
    ASSERT_STREQ(s->event_name, "WPP message");
    /* Known pairs still get their own schema; other record kinds are not WPP's. */
    rec.provider.data1 = 0;
    rec.message_number = 0;
    ASSERT_OK(src.lookup(src.ctx, &rec, &s));
    ASSERT(s == first);
    rec.kind = ETWHOST_HK_EVENT;
    ASSERT_EQ(src.lookup(src.ctx, &rec, &s), ERR_NOTFOUND);
    src.destroy(src.ctx);
}
