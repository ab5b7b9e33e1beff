/*
 * The manifest source on the project's own fixtures: a manifest written by
 * the test (structs, counts and lengths taken from other fields, value maps,
 * bitmaps, string tables, task-specific and winmeta opcodes, channels,
 * keywords) and events written with the project's ETL writer, decoded
 * through the real reader and decoder and checked in the canonical JSON
 * line.  Also the wevtutil text form, UTF-16 files, version fall-back,
 * duplicate definitions, every error path with its "file:line: what"
 * message, and the runtime wiring (`etwhost dump --manifest`).
 */
#include "test.h"

#include "core/arena.h"
#include "core/mem.h"
#include "decode/decode.h"
#include "etl/etl_reader.h"
#include "etl/etl_writer.h"
#include "event/event.h"
#include "schema/manifest_xml.h"
#include "schema/schema_cache.h"
#include "schema/schema_sources.h"
#include "test_decode_util.h"

/* {6f1d2c3b-0a09-4807-8605-040302010000} */
static const etwhost_guid prov_t = {0x6f1d2c3b, 0x0a09, 0x4807,
                                    {0x86, 0x05, 0x04, 0x03, 0x02, 0x01, 0x00, 0x00}};
#define PROV_T_STR "{6f1d2c3b-0a09-4807-8605-040302010000}"

/* The fixture manifest, in parts (ISO C caps string literals at 4095 bytes). */
static const char *const fixture_parts[] = {
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<instrumentationManifest xmlns=\"http://schemas.microsoft.com/win/2004/08/events\"\n"
    "    xmlns:win=\"http://manifests.microsoft.com/win/2004/08/windows/events\"\n"
    "    xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n"
    " <instrumentation>\n"
    "  <events>\n"
    "   <provider name=\"Etwhost-Test\" guid=\"" PROV_T_STR "\" symbol=\"ETWHOST_TEST\">\n"
    "    <channels>\n"
    "     <importChannel name=\"System\" chid=\"sys\"/>\n"
    "     <channel name=\"Etwhost-Test/Operational\" chid=\"op\" type=\"Operational\"/>\n"
    "    </channels>\n"
    "    <levels><level name=\"Chatty\" value=\"17\" message=\"$(string.level.chatty)\"/></levels>\n"
    "    <tasks>\n"
    "     <task name=\"Transfer\" value=\"7\" message=\"$(string.task.transfer)\"\n"
    "           eventGUID=\"{11111111-2222-3333-4444-555555555555}\">\n"
    "      <opcodes><opcode name=\"Chunk\" value=\"11\" message=\"$(string.op.chunk)\"/></opcodes>\n"
    "     </task>\n"
    "     <task name=\"Plain\" value=\"8\"/>\n"
    "    </tasks>\n"
    "    <opcodes><opcode name=\"Ping\" value=\"20\" message=\"$(string.op.ping)\"/></opcodes>\n"
    "    <keywords>\n"
    "     <keyword name=\"kwA\" mask=\"0x1\"/><keyword name=\"kwB\" mask=\"0x100\"/>\n"
    "    </keywords>\n"
    "    <maps>\n"
    "     <valueMap name=\"ColorMap\">\n"
    "      <map value=\"0\" message=\"$(string.color.red)\"/>\n"
    "      <map value=\"0x1\" message=\"$(string.color.green)\"/>\n"
    "     </valueMap>\n"
    "     <bitMap name=\"FlagsMap\">\n"
    "      <map value=\"0x1\" message=\"$(string.flag.read)\"/>\n"
    "      <map value=\"0x2\" message=\"$(string.flag.write)\"/>\n"
    "      <map value=\"0x4\" message=\"$(string.flag.exec)\"/>\n"
    "     </bitMap>\n"
    "    </maps>\n"
    "    <templates>\n"
    "     <template tid=\"T1\">\n"
    "      <data name=\"Count\" inType=\"win:UInt16\"/>\n"
    "      <data name=\"Items\" inType=\"win:UInt32\" count=\"Count\"/>\n"
    "      <data name=\"Name\" inType=\"win:UnicodeString\"/>\n"
    "      <data name=\"Color\" inType=\"win:UInt32\" map=\"ColorMap\"/>\n"
    "      <data name=\"Flags\" inType=\"win:UInt32\" map=\"FlagsMap\"/>\n"
    "      <data name=\"BlobLen\" inType=\"win:UInt16\"/>\n"
    "      <data name=\"Blob\" inType=\"win:Binary\" length=\"BlobLen\"/>\n"
    "      <data name=\"Tag\" inType=\"win:AnsiString\" length=\"4\"/>\n"
    "      <data name=\"Addr\" inType=\"win:Pointer\"/>\n"
    "      <data name=\"Port\" inType=\"win:UInt16\" outType=\"win:Port\"/>\n",
    "      <data name=\"Ok\" inType=\"win:Boolean\"/>\n"
    "      <data name=\"Id\" inType=\"win:GUID\"/>\n"
    "      <data name=\"Hex\" inType=\"win:UInt32\" outType=\"win:HexInt32\"/>\n"
    "      <data name=\"NPts\" inType=\"win:UInt8\"/>\n"
    "      <struct name=\"Pts\" count=\"NPts\">\n"
    "       <data name=\"X\" inType=\"win:Int32\"/>\n"
    "       <data name=\"Len\" inType=\"win:UInt8\"/>\n"
    "       <data name=\"Label\" inType=\"win:AnsiString\" length=\"Len\"/>\n"
    "      </struct>\n"
    "      <data name=\"Tail\" inType=\"win:Int64\"/>\n"
    "      <UserData><T1 xmlns=\"x\"><Count>%1</Count></T1></UserData>\n"
    "     </template>\n"
    "     <template tid=\"T2\"><data name=\"Value\" inType=\"win:UInt32\"/></template>\n"
    "    </templates>\n"
    "    <events>\n"
    "     <event value=\"1\" version=\"0\" level=\"win:Informational\" task=\"Transfer\"\n"
    "            opcode=\"win:Start\" keywords=\"kwA kwB\" channel=\"op\" template=\"T1\"\n"
    "            symbol=\"TransferStart\" message=\"$(string.event.start)\"/>\n"
    "     <event value=\"2\" version=\"0\" level=\"Chatty\" task=\"Transfer\" opcode=\"Chunk\"\n"
    "            channel=\"sys\" template=\"T2\" symbol=\"TransferChunk\"/>\n"
    "     <event value=\"2\" version=\"1\" level=\"win:Verbose\" task=\"Transfer\" opcode=\"Chunk\"\n"
    "            template=\"T2\" symbol=\"TransferChunk_V1\"/>\n"
    "     <event value=\"3\" version=\"0\" opcode=\"Ping\" symbol=\"PingSym\" template=\"T2\"/>\n"
    "     <event value=\"4\" version=\"0\" task=\"Plain\" name=\"ExplicitName\" template=\"T2\"/>\n"
    "     <event value=\"5\" version=\"0\" symbol=\"NoTemplate\"/>\n"
    "    </events>\n"
    "   </provider>\n"
    "  </events>\n"
    " </instrumentation>\n"
    " <localization>\n"
    "  <resources culture=\"de-DE\"><stringTable>\n"
    "   <string id=\"color.red\" value=\"Rot\"/>\n"
    "  </stringTable></resources>\n"
    "  <resources culture=\"en-US\"><stringTable>\n"
    "   <string id=\"task.transfer\" value=\"Xfer\"/>\n"
    "   <string id=\"op.chunk\" value=\"Piece\"/>\n"
    "   <string id=\"op.ping\" value=\"Ping!\"/>\n"
    "   <string id=\"level.chatty\" value=\"Chatty level\"/>\n"
    "   <string id=\"color.red\" value=\"Red \"/>\n"
    "   <string id=\"color.green\" value=\"Green\"/>\n"
    "   <string id=\"flag.read\" value=\"Read\"/>\n"
    "   <string id=\"flag.write\" value=\"Write\"/>\n"
    "   <string id=\"flag.exec\" value=\"Exec\"/>\n"
    "   <string id=\"event.start\" value=\"Transfer %1 started\"/>\n",
    "  </stringTable></resources>\n"
    " </localization>\n"
    "</instrumentationManifest>\n",
};

/* ---- Writing and decoding traces ------------------------------------------------------- */

struct mrec {
    uint16_t id;
    uint8_t version, opcode, ptr32;
    uint16_t task;
    struct plb p;
};

/* Write records as EVENT_HEADER events of prov_t into a memory trace. */
static uint8_t *write_trace(const struct mrec *recs, size_t n, size_t *len)
{
    struct etl_writer *w = NULL;
    struct errbuf eb;
    ASSERT_MSG(etl_writer_open(NULL, NULL, &w, &eb) == 0, "%s", eb.msg);
    for (size_t i = 0; i < n; i++) {
        struct etl_wrecord r;
        memset(&r, 0, sizeof r);
        r.kind = ETWHOST_HK_EVENT;
        r.ptr32 = recs[i].ptr32;
        r.raw_timestamp = 1000 + (int64_t)i;
        r.pid = 10;
        r.tid = 20;
        r.guid = prov_t;
        r.id = recs[i].id;
        r.version = recs[i].version;
        r.opcode = recs[i].opcode;
        r.task = recs[i].task;
        r.data = recs[i].p.b;
        r.data_len = recs[i].p.n;
        ASSERT_MSG(etl_writer_append(w, &r, &eb) == 0, "%s", eb.msg);
    }
    uint8_t *file = NULL;
    ASSERT_MSG(etl_writer_close(w, &file, len, &eb) == 0, "%s", eb.msg);
    return file;
}

/*
 * Decode every non-header record of the trace with the given manifests and
 * return the JSON lines (one per event, joined by '\n'; mem_alloc'd).
 */
static char *decode_with(const char *const *manifests, size_t nm, const uint8_t *file,
                         size_t len, struct manifest_stats *ms_out)
{
    struct schema_cache *c = schema_cache_new(0);
    struct decoder d;
    decoder_init(&d, c);
    struct errbuf eb;
    ASSERT_MSG(schema_sources_manifests(&d, manifests, nm, &eb) == 0, "%s", eb.msg);
    struct arena a = ARENA_INIT;
    struct event e;
    event_init(&e, &a);
    struct etl_reader *rd = NULL;
    ASSERT_MSG(etl_open_mem(file, len, "fixture.etl", NULL, &rd, &eb) == 0, "%s", eb.msg);
    struct buf out;
    memset(&out, 0, sizeof out);
    struct record rec;
    while (etl_next(rd, &rec, &eb) == 1) {
        if (rec.kind != ETWHOST_HK_EVENT)
            continue;
        arena_reset(&a);
        ASSERT_OK(decode_record(&d, &rec, &e));
        const struct buf *j = event_json(&e);
        ASSERT(j != NULL);
        buf_append(&out, j->p, j->len);
        buf_putc(&out, '\n');
    }
    if (ms_out) {
        /* The manifest source is the only source of this decoder. */
        ASSERT_EQ(d.nsources, 1);
        manifest_set_get_stats(d.sources[0].ctx, ms_out);
    }
    etl_close(rd);
    event_free(&e);
    arena_free(&a);
    decoder_free(&d);
    schema_cache_free(c);
    buf_putc(&out, '\0');
    return out.p;
}

/* Line i (0-based) of text, copied into a static buffer. */
static const char *line_of(const char *text, int i)
{
    static char ln[16384];
    const char *p = text;
    for (; i > 0 && p; i--) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    ASSERT(p != NULL && *p);
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    ASSERT(n < sizeof ln);
    memcpy(ln, p, n);
    ln[n] = '\0';
    return ln;
}

/* The T1 payload: Count items, name, color, flags, blob, tag, pointer, port, ... */
static void t1_payload(struct plb *p, int ptr32, uint8_t npts)
{
    memset(p, 0, sizeof *p);
    plb_u(p, 3, 2);          /* Count */
    plb_u(p, 10, 4);         /* Items[0..2] */
    plb_u(p, 20, 4);
    plb_u(p, 30, 4);
    plb_w(p, "fixture", 1);  /* Name */
    plb_u(p, 1, 4);          /* Color = Green */
    plb_u(p, 5, 4);          /* Flags = Read | Exec */
    plb_u(p, 3, 2);          /* BlobLen */
    plb_bytes(p, "\xde\xad\xbe", 3);
    plb_bytes(p, "ab\0z", 4); /* Tag: 4 bytes, NUL inside */
    plb_u(p, 0x12345678, ptr32 ? 4 : 8); /* Addr */
    plb_bytes(p, "\x01\xbb", 2);         /* Port 443 in network order */
    plb_u(p, 1, 4);                      /* Ok */
    static const uint8_t g[16] = {0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66,
                                  0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    plb_bytes(p, g, 16);                 /* Id */
    plb_u(p, 0xbeef, 4);                 /* Hex */
    plb_u(p, npts, 1);                   /* NPts */
    for (uint8_t i = 0; i < npts; i++) {
        plb_u(p, (uint64_t)(int64_t)(-1 - i), 4); /* X */
        plb_u(p, 2, 1);                           /* Len */
        plb_bytes(p, i ? "cd" : "ab", 2);         /* Label */
    }
    plb_u(p, (uint64_t)-5, 8);           /* Tail */
}

static const char *fixture_path(void)
{
    struct buf b;
    memset(&b, 0, sizeof b);
    for (size_t i = 0; i < sizeof fixture_parts / sizeof fixture_parts[0]; i++)
        buf_puts(&b, fixture_parts[i]);
    buf_putc(&b, '\0');
    const char *path = t_path("%s/fixture.man", t_tmpdir());
    t_write_file(path, b.p);
    buf_free(&b);
    return mem_strdup(path);
}

/*
 * A trace of two events of the fixture manifest's event 1 (Xfer/Start): one
 * 64-bit with two points, one 32-bit with none.  mem_alloc'd, length in *len.
 */
static uint8_t *fixture_trace(size_t *len)
{
    struct mrec r[2];
    memset(r, 0, sizeof r);
    r[0].id = 1;
    r[0].opcode = 1;
    r[0].task = 7;
    t1_payload(&r[0].p, 0, 2);
    r[1] = r[0];
    r[1].ptr32 = 1;
    t1_payload(&r[1].p, 1, 0);
    return write_trace(r, 2, len);
}

/* ---- Tests ---------------------------------------------------------------------------- */

TEST(manifest_fixture_decodes_every_construct)
{
    const char *man = fixture_path();
    size_t len;
    uint8_t *file = fixture_trace(&len);
    char *out = decode_with(&man, 1, file, len, NULL);
    const char *l0 = line_of(out, 0);
    ASSERT_CONTAINS(l0, "\"provider\":\"Etwhost-Test\"");
    ASSERT_CONTAINS(l0, "\"event_name\":\"Xfer/Start\"");
    ASSERT_CONTAINS(l0, "\"task_name\":\"Xfer\",\"opcode_name\":\"Start\"");
    ASSERT_CONTAINS(l0, "\"Count\":3,\"Items\":[10,20,30],\"Name\":\"fixture\"");
    ASSERT_CONTAINS(l0, "\"Color\":\"Green\"");
    ASSERT_CONTAINS(l0, "\"Flags\":\"Read | Exec\"");
    ASSERT_CONTAINS(l0, "\"BlobLen\":3,\"Blob\":\"deadbe\"");
    ASSERT_CONTAINS(l0, "\"Tag\":\"ab\"");
    ASSERT_CONTAINS(l0, "\"Addr\":\"0x12345678\"");
    ASSERT_CONTAINS(l0, "\"Port\":443");
    ASSERT_CONTAINS(l0, "\"Ok\":true");
    ASSERT_CONTAINS(l0, "\"Id\":\"00112233-4455-6677-8899-aabbccddeeff\"");
    ASSERT_CONTAINS(l0, "\"Hex\":\"0xbeef\"");
    ASSERT_CONTAINS(l0, "\"NPts\":2,\"Pts\":[{\"X\":-1,\"Len\":2,\"Label\":\"ab\"},"
                        "{\"X\":-2,\"Len\":2,\"Label\":\"cd\"}]");
    ASSERT_CONTAINS(l0, "\"Tail\":-5}");
    ASSERT_NOT_CONTAINS(l0, "decode_error");
    /* 32-bit pointers and an empty struct array. */
    const char *l1 = line_of(out, 1);
    ASSERT_CONTAINS(l1, "\"Addr\":\"0x12345678\",\"Port\":443");
    ASSERT_CONTAINS(l1, "\"NPts\":0,\"Pts\":[],\"Tail\":-5}");
    ASSERT_NOT_CONTAINS(l1, "decode_error");
    mem_free(out);
    mem_free(file);
    mem_free((void *)man);
}

/*
 * Manifest schemas travel in archives: a trace of the fixture's events,
 * converted with --manifest, dumps exactly like the .etl dumped with
 * --manifest, with no manifest at hand.  Runs without the corpus.
 */
TEST(manifest_schemas_travel_in_archives)
{
    const char *man = fixture_path();
    size_t len;
    uint8_t *file = fixture_trace(&len);
    char etl[1024], arc[1024];
    snprintf(etl, sizeof etl, "%s/m.etl", t_tmpdir());
    snprintf(arc, sizeof arc, "%s/m.etwa", t_tmpdir());
    t_write_bytes(etl, file, len);
    const char *with_args[] = {"dump", "-q", "--manifest", man, etl, NULL};
    struct t_run with = t_etwhost(with_args, NULL, NULL);
    ASSERT_MSG(with.status == 0, "dump --manifest: %s", with.err);
    const char *without_args[] = {"dump", "-q", etl, NULL};
    struct t_run without = t_etwhost(without_args, NULL, NULL);
    ASSERT_MSG(without.status == 0, "dump: %s", without.err);
    ASSERT_CONTAINS(with.out, "\"event_name\":\"Xfer/Start\"");
    ASSERT_CONTAINS(without.out, "decode_error");
    const char *conv_args[] = {"convert", "-q", "--manifest", man, etl, "-o", arc, NULL};
    struct t_run conv = t_etwhost(conv_args, NULL, NULL);
    ASSERT_MSG(conv.status == 0, "convert: %s", conv.err);
    const char *back_args[] = {"dump", "-q", arc, NULL};
    struct t_run back = t_etwhost(back_args, NULL, NULL);
    ASSERT_MSG(back.status == 0, "dump archive: %s", back.err);
    ASSERT_STREQ(back.out, with.out);
    t_run_free(&with);
    t_run_free(&without);
    t_run_free(&conv);
    t_run_free(&back);
    mem_free(file);
    mem_free((void *)man);
}

TEST(manifest_fixture_names_levels_keywords_channels)
{
    const char *man = fixture_path();
    struct schema_cache *c = schema_cache_new(0);
    struct manifest_set *ms = manifest_set_new(c);
    struct errbuf eb;
    ASSERT_MSG(manifest_set_load_file(ms, man, &eb) == 0, "%s", eb.msg);
    const struct schema *s = manifest_set_find(ms, &prov_t, 1, 0);
    ASSERT(s != NULL);
    ASSERT_EQ(s->source, SCHEMA_SRC_MANIFEST);
    ASSERT_EQ(s->level, 4);
    ASSERT_STREQ(s->level_name, "Information");
    ASSERT_EQ(s->task, 7);
    ASSERT_EQ(s->opcode, 1);
    ASSERT_EQ_U64(s->keywords, 0x101);
    ASSERT_STREQ(s->keywords_name, "kwA kwB");
    ASSERT_EQ(s->channel, 16); /* first channel without a value */
    ASSERT_STREQ(s->channel_name, "Etwhost-Test/Operational");
    ASSERT_STREQ(s->message, "Transfer %1 started");
    ASSERT_EQ(s->event_guid.data1, 0x11111111u);
    /* Struct layout: top level first, members after, counts/lengths point back. */
    ASSERT_EQ(s->ntop, 16);
    const struct schema_field *pts = &s->fields[14];
    ASSERT_STREQ(pts->name, "Pts");
    ASSERT_EQ(pts->in_type, SCHEMA_IN_STRUCT);
    ASSERT_EQ(pts->arity, SCHEMA_ARITY_FIELD);
    ASSERT_STREQ(s->fields[pts->count].name, "NPts");
    ASSERT_EQ(pts->first, 16);
    ASSERT_EQ(pts->nmembers, 3);
    ASSERT_STREQ(s->fields[18].name, "Label");
    ASSERT_EQ(s->fields[18].len_kind, SCHEMA_LEN_FIELD);
    ASSERT_EQ(s->fields[18].length, 17);
    ASSERT_EQ(s->fields[7].len_kind, SCHEMA_LEN_FIXED);
    ASSERT_EQ(s->fields[7].length, 4);
    ASSERT_EQ(s->fields[9].out_type, TDH_OUT_PORT);
    /* Task-specific opcode, custom level, imported channel. */
    s = manifest_set_find(ms, &prov_t, 2, 0);
    ASSERT_STREQ(s->event_name, "Xfer/Piece");
    ASSERT_EQ(s->opcode, 11);
    ASSERT_EQ(s->level, 17);
    ASSERT_STREQ(s->level_name, "Chatty level");
    ASSERT_EQ(s->channel, 8);
    ASSERT_STREQ(s->channel_name, "System");
    /* Global opcode without a task: the symbol names the event. */
    s = manifest_set_find(ms, &prov_t, 3, 0);
    ASSERT_STREQ(s->event_name, "PingSym");
    ASSERT_STREQ(s->opcode_name, "Ping!");
    ASSERT_EQ(s->opcode, 20);
    /* Explicit name; a task without a message shows its name. */
    s = manifest_set_find(ms, &prov_t, 4, 0);
    ASSERT_STREQ(s->event_name, "ExplicitName");
    ASSERT_STREQ(s->task_name, "Plain");
    s = manifest_set_find(ms, &prov_t, 5, 0);
    ASSERT_EQ(s->nfields, 0);
    ASSERT_STREQ(s->event_name, "NoTemplate");
    /* Provider name and maps are in the cache for everyone. */
    ASSERT_STREQ(schema_cache_provider_name(c, &prov_t), "Etwhost-Test");
    const struct schema_map_slot *slot = schema_cache_map_slot(c, &prov_t, "ColorMap", 8);
    ASSERT(slot && slot->map);
    ASSERT_STREQ(schema_map_lookup(slot->map, 0), "Red"); /* en-US wins, trailing space gone */
    struct manifest_stats st;
    manifest_set_get_stats(ms, &st);
    ASSERT_EQ(st.schemas, 6);
    ASSERT_EQ(st.maps, 2);
    ASSERT_EQ(st.providers, 1);
    manifest_set_free(ms);
    schema_cache_free(c);
    mem_free((void *)man);
}

TEST(manifest_version_fallback_and_unknown_id)
{
    const char *man = fixture_path();
    struct mrec r[3];
    memset(r, 0, sizeof r);
    /* Version 5 of event 2 is unknown: version 1 decodes it, the extra bytes are tolerated. */
    r[0].id = 2;
    r[0].version = 5;
    plb_u(&r[0].p, 77, 4);
    plb_u(&r[0].p, 99, 4);
    /* Event 9 is unknown. */
    r[1].id = 9;
    plb_u(&r[1].p, 1, 4);
    /* Event 2 version 0 with a short payload: PARTIAL with the field named. */
    r[2].id = 2;
    plb_u(&r[2].p, 1, 2);
    size_t len;
    uint8_t *file = write_trace(r, 3, &len);
    struct manifest_stats st;
    char *out = decode_with(&man, 1, file, len, &st);
    ASSERT_CONTAINS(line_of(out, 0), "\"version\":5");
    ASSERT_CONTAINS(line_of(out, 0), "\"props\":{\"Value\":77}");
    ASSERT_NOT_CONTAINS(line_of(out, 0), "decode_error");
    ASSERT_CONTAINS(line_of(out, 1),
                    "\"decode_error\":\"no schema for provider Etwhost-Test {6f1d2c3b");
    ASSERT_CONTAINS(line_of(out, 2), "field 'Value' at payload offset 0: needs 4 bytes, 2 left");
    ASSERT_EQ(st.fallbacks, 1);
    mem_free(out);
    mem_free(file);
    mem_free((void *)man);
}

/* The text that `wevtutil gp Etwhost-Test /ge /gm` prints for a part of the fixture. */
static const char wevtutil_text[] =
    "name: Etwhost-Test\r\n"
    "guid: 6f1d2c3b-0a09-4807-8605-040302010000\r\n"
    "helpLink: https://example.invalid/\r\n"
    "resourceFileName: C:\\x.dll\r\n"
    "messageFileName: C:\\x.dll\r\n"
    "message: Etwhost-Test\r\n"
    "channels:\r\n"
    "  channel:\r\n"
    "    name: Etwhost-Test/Operational\r\n"
    "    id: 16\r\n"
    "    flags: 0\r\n"
    "    message: Etwhost-Test/Operational\r\n"
    "levels:\r\n"
    "  level:\r\n"
    "    name: win:Informational\r\n"
    "    value: 4\r\n"
    "    message: Information\r\n"
    "opcodes:\r\n"
    "  opcode:\r\n"
    "    name: win:Start\r\n"
    "    value: 65536\r\n"
    "    message: Start\r\n"
    "  opcode:\r\n"
    "    name: Chunk\r\n"
    "    value: 720903\r\n"
    "    message: Piece\r\n"
    "tasks:\r\n"
    "  task:\r\n"
    "    name: Transfer\r\n"
    "    value: 7\r\n"
    "    eventGUID: 00000000-0000-0000-0000-000000000000\r\n"
    "    message: Xfer\r\n"
    "keywords:\r\n"
    "  keyword:\r\n"
    "    name: kwA\r\n"
    "    mask: 1\r\n"
    "    message: kwA\r\n"
    "events:\r\n"
    "  event:\r\n"
    "    value: 2\r\n"
    "    version: 0\r\n"
    "    opcode: 11\r\n"
    "    channel: 16\r\n"
    "    level: 4\r\n"
    "    task: 7\r\n"
    "    keywords: 0x8000000000000001\r\n"
    "    message: A chunk of %1\r\n"
    "      bytes went by.\r\n"
    "    template: <template xmlns=\"http://schemas.microsoft.com/win/2004/08/events\">\r\n"
    "  <data name=\"Value\" inType=\"win:UInt32\" outType=\"xs:unsignedInt\"/>\r\n"
    "  <data name=\"What\" inType=\"win:UnicodeString\" outType=\"xs:string\"/>\r\n"
    "</template>\r\n"
    "\r\n"
    "  event:\r\n"
    "    value: 6\r\n"
    "    version: 0\r\n"
    "    opcode: 1\r\n"
    "    channel: 0\r\n"
    "    level: 4\r\n"
    "    task: 7\r\n"
    "    keywords: 0x0\r\n"
    "    message: \r\n"
    "\r\n";

TEST(manifest_wevtutil_text_form)
{
    const char *path = t_path("%s/wevtutil.txt", t_tmpdir());
    t_write_file(path, wevtutil_text);
    struct schema_cache *c = schema_cache_new(0);
    struct manifest_set *ms = manifest_set_new(c);
    struct errbuf eb;
    ASSERT_MSG(manifest_set_load_file(ms, path, &eb) == 0, "%s", eb.msg);
    const struct schema *s = manifest_set_find(ms, &prov_t, 2, 0);
    ASSERT(s != NULL);
    ASSERT_STREQ(s->provider_name, "Etwhost-Test");
    ASSERT_STREQ(s->event_name, "Xfer/Piece"); /* task-specific opcode from the opcode value */
    ASSERT_STREQ(s->channel_name, "Etwhost-Test/Operational");
    ASSERT_STREQ(s->level_name, "Information");
    ASSERT_STREQ(s->message, "A chunk of %1\n      bytes went by.");
    ASSERT_EQ(s->nfields, 2);
    ASSERT_STREQ(s->fields[1].name, "What");
    ASSERT_EQ(s->fields[1].in_type, TDH_IN_UNICODESTRING);
    s = manifest_set_find(ms, &prov_t, 6, 0);
    ASSERT(s != NULL);
    ASSERT_STREQ(s->event_name, "Xfer/Start");
    ASSERT_EQ(s->nfields, 0);
    manifest_set_free(ms);

    /* The same text saved as UTF-16LE with a byte order mark (PowerShell's redirection). */
    size_t n = strlen(wevtutil_text);
    uint8_t *u16 = mem_alloc(2 + 2 * n);
    u16[0] = 0xFF;
    u16[1] = 0xFE;
    for (size_t i = 0; i < n; i++) {
        u16[2 + 2 * i] = (uint8_t)wevtutil_text[i];
        u16[3 + 2 * i] = 0;
    }
    const char *p16 = t_path("%s/wevtutil16.txt", t_tmpdir());
    t_write_bytes(p16, u16, 2 + 2 * n);
    ms = manifest_set_new(c);
    ASSERT_MSG(manifest_set_load_file(ms, p16, &eb) == 0, "%s", eb.msg);
    ASSERT(manifest_set_find(ms, &prov_t, 2, 0) != NULL);
    manifest_set_free(ms);
    mem_free(u16);
    schema_cache_free(c);
}

TEST(manifest_wevtutil_xml_form)
{
    /* `wevtutil gp NAME /ge /gm /f:xml`: a bare <provider> with numeric attributes. */
    static const char xml[] =
        "<provider name=\"Etwhost-Test\" guid=\"" PROV_T_STR "\">\n"
        " <events>\n"
        "  <event value=\"2\" version=\"0\" opcode=\"2\" level=\"4\" task=\"7\" keywords=\"0x1\"\n"
        "         message=\"Done\">\n"
        "   <template xmlns=\"http://schemas.microsoft.com/win/2004/08/events\">\n"
        "    <data name=\"Value\" inType=\"win:UInt32\"/>\n"
        "   </template>\n"
        "  </event>\n"
        " </events>\n"
        " <tasks><task value=\"7\" name=\"Transfer\" message=\"Xfer\"/></tasks>\n"
        "</provider>\n";
    const char *path = t_path("%s/gp.xml", t_tmpdir());
    t_write_file(path, xml);
    struct schema_cache *c = schema_cache_new(0);
    struct manifest_set *ms = manifest_set_new(c);
    struct errbuf eb;
    ASSERT_MSG(manifest_set_load_file(ms, path, &eb) == 0, "%s", eb.msg);
    const struct schema *s = manifest_set_find(ms, &prov_t, 2, 0);
    ASSERT(s != NULL);
    ASSERT_STREQ(s->event_name, "Xfer/Stop");
    ASSERT_EQ(s->nfields, 1);
    ASSERT_STREQ(s->message, "Done");
    manifest_set_free(ms);
    schema_cache_free(c);
}

/* Load text as a manifest and return the error message (static). */
static const char *load_error(const char *text)
{
    static char msg[1024];
    const char *path = t_path("%s/bad.man", t_tmpdir());
    t_write_file(path, text);
    struct schema_cache *c = schema_cache_new(0);
    struct manifest_set *ms = manifest_set_new(c);
    struct errbuf eb;
    eb.msg[0] = '\0';
    int rc = manifest_set_load_file(ms, path, &eb);
    ASSERT_MSG(rc != 0, "loaded: %s", text);
    struct manifest_stats st;
    manifest_set_get_stats(ms, &st);
    ASSERT_EQ(st.schemas, 0); /* nothing of a bad file is kept */
    /* Messages name the file (made relative for the assertions). */
    const char *rel = strstr(eb.msg, "bad.man");
    snprintf(msg, sizeof msg, "%s", rel ? rel : eb.msg);
    manifest_set_free(ms);
    schema_cache_free(c);
    return msg;
}

#define PROV_OPEN "<instrumentationManifest><instrumentation><events>\n<provider name=\"P\" guid=\"" PROV_T_STR "\">\n"
#define PROV_CLOSE "</provider></events></instrumentation></instrumentationManifest>\n"

TEST(manifest_errors_name_file_and_line)
{
    ASSERT_STREQ(load_error("<instrumentationManifest>\n<events>\n</instrumentationManifest>\n"),
                 "bad.man:3: mismatched tag");
    ASSERT_STREQ(load_error(""), "bad.man:1: empty manifest");
    ASSERT_STREQ(load_error("<instrumentationManifest/>\n"), "bad.man:1: no <provider> found");
    ASSERT_STREQ(load_error(PROV_OPEN "<events>\n<event value=\"1\" template=\"Nope\"/>\n"
                            "</events>" PROV_CLOSE),
                 "bad.man:4: event 1 version 0: unknown template \"Nope\"");
    ASSERT_STREQ(load_error(PROV_OPEN "<templates>\n<template tid=\"T\">\n"
                            "<data name=\"A\" inType=\"win:Int128\"/>\n</template></templates>"
                            "<events><event value=\"1\" template=\"T\"/></events>" PROV_CLOSE),
                 "bad.man:5: field \"A\": unknown inType \"win:Int128\"");
    ASSERT_STREQ(load_error(PROV_OPEN "<templates><template tid=\"T\">\n"
                            "<data name=\"A\" inType=\"win:UInt32\" count=\"B\"/>\n"
                            "<data name=\"B\" inType=\"win:UInt32\"/>\n</template></templates>"
                            "<events><event value=\"1\" template=\"T\"/></events>" PROV_CLOSE),
                 "bad.man:4: field \"A\": count names no earlier field \"B\"");
    ASSERT_STREQ(load_error(PROV_OPEN "<templates><template tid=\"T\">\n"
                            "<data name=\"S\" inType=\"win:UnicodeString\"/>\n"
                            "<data name=\"B\" inType=\"win:UInt32\" count=\"S\"/>\n"
                            "</template></templates>"
                            "<events><event value=\"1\" template=\"T\"/></events>" PROV_CLOSE),
                 "bad.man:6: event 1 version 0: field 1 (B): count field 0 (S) is not an integer");
    ASSERT_STREQ(load_error("<instrumentationManifest><instrumentation><events>\n"
                            "<provider name=\"P\" guid=\"{nope}\">\n" PROV_CLOSE),
                 "bad.man:2: provider P: bad guid \"{nope}\"");
    ASSERT_STREQ(load_error(PROV_OPEN "<events>\n<event value=\"70000\"/>\n</events>" PROV_CLOSE),
                 "bad.man:4: event 70000 version 0: bad value \"70000\"");
    ASSERT_STREQ(load_error(PROV_OPEN "<events>\n<event value=\"1\" opcode=\"Nope\"/>\n</events>"
                            PROV_CLOSE),
                 "bad.man:4: event 1 version 0: unknown opcode \"Nope\"");
    ASSERT_STREQ(load_error(PROV_OPEN "<maps><valueMap name=\"M\">\n<map message=\"x\"/>\n"
                            "</valueMap></maps>" PROV_CLOSE),
                 "bad.man:4: map entry without a value in \"M\"");
    ASSERT_STREQ(load_error("name: P\nguid: 6f1d2c3b-0a09-4807-8605-040302010000\nevents:\n"
                            "  event:\n    value: 1\n    template: <template>\n"
                            "<data name=\"x\"/>\n"),
                 "bad.man:6: template without </template>");
    ASSERT_STREQ(load_error("guid: 6f1d2c3b-0a09-4807-8605-040302010000\n"),
                 "bad.man:1: \"guid\" before the provider name");

    /* A missing file is named too. */
    struct schema_cache *c = schema_cache_new(0);
    struct manifest_set *ms = manifest_set_new(c);
    struct errbuf eb;
    const char *missing = t_path("%s/none.man", t_tmpdir());
    ASSERT(manifest_set_load_file(ms, missing, &eb) != 0);
    ASSERT_CONTAINS(eb.msg, "none.man");
    manifest_set_free(ms);
    schema_cache_free(c);
}

TEST(manifest_duplicates_keep_the_first)
{
    const char *man = fixture_path();
    const char *second = t_path("%s/second.man", t_tmpdir());
    t_write_file(second, PROV_OPEN "<templates><template tid=\"T\">"
                                   "<data name=\"Other\" inType=\"win:UInt8\"/></template>"
                                   "</templates><events><event value=\"2\" template=\"T\"/>"
                                   "<event value=\"42\" template=\"T\"/></events>" PROV_CLOSE);
    struct schema_cache *c = schema_cache_new(0);
    struct decoder d;
    decoder_init(&d, c);
    struct errbuf eb;
    const char *both[2] = {man, second};
    ASSERT_MSG(schema_sources_manifests(&d, both, 2, &eb) == 0, "%s", eb.msg);
    struct manifest_set *ms = d.sources[0].ctx;
    ASSERT_STREQ(manifest_set_find(ms, &prov_t, 2, 0)->fields[0].name, "Value");
    ASSERT_STREQ(manifest_set_find(ms, &prov_t, 42, 0)->fields[0].name, "Other");
    struct manifest_stats st;
    manifest_set_get_stats(ms, &st);
    ASSERT_EQ(st.duplicates, 1);
    ASSERT_EQ(st.files, 2);
    /* The first name registered for the provider stays. */
    ASSERT_STREQ(schema_cache_provider_name(c, &prov_t), "Etwhost-Test");
    decoder_free(&d);
    schema_cache_free(c);
    mem_free((void *)man);
}

TEST(manifest_no_memory_is_reported)
{
    const char *man = fixture_path();
    /* Fail every allocation from the nth on, for growing n, until loading succeeds. */
    int ok = 0, failures = 0;
    int64_t live = mem_live_blocks();
    for (int64_t n = 1; n < 5000 && !ok; n += 3) {
        struct schema_cache *c = schema_cache_new(0);
        if (c == NULL)
            continue;
        struct manifest_set *ms = manifest_set_new(c);
        if (ms == NULL) {
            schema_cache_free(c);
            continue;
        }
        struct errbuf eb;
        mem_fail_after(n);
        int rc = manifest_set_load_file(ms, man, &eb);
        mem_fail_after(0);
        if (rc == 0) {
            ok = 1;
        } else {
            ASSERT_MSG(rc == ERR_NOMEM, "n=%lld: %s", (long long)n, eb.msg);
            failures++;
        }
        manifest_set_free(ms);
        schema_cache_free(c);
        ASSERT_EQ(mem_live_blocks(), live); /* nothing leaks on any failure path */
    }
    ASSERT(ok);
    ASSERT(failures > 20);
    mem_free((void *)man);
}

TEST(manifest_type_names)
{
    ASSERT_EQ(manifest_in_type("win:UInt32"), TDH_IN_UINT32);
    ASSERT_EQ(manifest_in_type("win:Pointer"), TDH_IN_POINTER);
    ASSERT_EQ(manifest_in_type("win:CountedUnicodeString"), TDH_IN_COUNTEDSTRING);
    ASSERT_EQ(manifest_in_type("win:CountedBinary"), TDH_IN_COUNTEDBINARY);
    ASSERT_EQ(manifest_in_type("xs:string"), 0);
    ASSERT_EQ(manifest_out_type("xs:string"), TDH_OUT_STRING);
    ASSERT_EQ(manifest_out_type("win:HexInt32"), TDH_OUT_HEXINT32);
    ASSERT_EQ(manifest_out_type("win:Port"), TDH_OUT_PORT);
    ASSERT_EQ(manifest_out_type("win:IPv6"), TDH_OUT_IPV6);
    ASSERT_EQ(manifest_out_type("win:Nope"), 0);
}

/* The runtime loads --manifest files; a bad one fails the run with its one line. */
TEST(manifest_dump_cli)
{
    const char *man = fixture_path();
    struct mrec r[1];
    memset(r, 0, sizeof r);
    r[0].id = 3;
    plb_u(&r[0].p, 123, 4);
    size_t len;
    uint8_t *file = write_trace(r, 1, &len);
    const char *etl = t_path("%s/one.etl", t_tmpdir());
    t_write_bytes(etl, file, len);
    char *etl_copy = mem_strdup(etl);
    const char *args[] = {"dump", "-q", "--manifest", man, etl_copy, NULL};
    struct t_run run = t_etwhost(args, NULL, NULL);
    ASSERT_MSG(run.status == 0, "%s", run.err);
    ASSERT_CONTAINS(run.out, "\"provider\":\"Etwhost-Test\"");
    ASSERT_CONTAINS(run.out, "\"event_name\":\"PingSym\"");
    ASSERT_CONTAINS(run.out, "\"props\":{\"Value\":123}");
    t_run_free(&run);

    const char *bad = t_path("%s/broken.man", t_tmpdir());
    t_write_file(bad, "<instrumentationManifest>\n<oops>\n");
    char *bad_copy = mem_strdup(bad);
    const char *args2[] = {"dump", "-q", "--manifest", bad_copy, etl_copy, NULL};
    run = t_etwhost(args2, NULL, NULL);
    ASSERT(run.status != 0);
    ASSERT_CONTAINS(run.err, "broken.man:3: ");
    ASSERT_EQ(t_count(run.err, "broken.man"), 1);
    t_run_free(&run);
    mem_free(bad_copy);
    mem_free(etl_copy);
    mem_free(file);
    mem_free((void *)man);
}
