/*
 * libFuzzer target: TRACE_EVENT_INFO and EVENT_MAP_INFO blobs fed as
 * embedded-metadata records, then a payload decoded with the result.
 *
 * Input: byte 0 = flags (bit 0: 32-bit pointers, bit 1: map before info),
 * bytes 1-2 = info length, bytes 3-4 = map length (little-endian, clamped),
 * then the info blob, the map blob (the provider GUID is taken from the
 * info blob so maps can attach), then the payload.  Each part is copied
 * into a buffer of its exact size.
 *
 * Invariants checked: ingesting and decoding never crash or fail except
 * for out of memory / malformed input; a parsed schema serialises back to
 * a TRACE_EVENT_INFO that parses to the same description.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/mem.h"
#include "decode/decode.h"
#include "schema/schema_cache.h"
#include "schema/tdh_embedded.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (d == NULL)
        abort();
    memcpy(d, p, n);
    return d;
}

static void meta_record(struct record *r, uint8_t opcode, const uint8_t *blob, size_t len)
{
    memset(r, 0, sizeof *r);
    r->kind = ETWHOST_HK_TRACE;
    r->evf = ETWHOST_EVF_CLASSIC;
    r->provider = tdh_metadata_class_guid;
    r->opcode = opcode;
    r->data = blob;
    r->data_len = (uint32_t)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    uint8_t flags = data[0];
    size_t ilen = (size_t)data[1] | (size_t)data[2] << 8;
    size_t mlen = (size_t)data[3] | (size_t)data[4] << 8;
    data += 5;
    size -= 5;
    if (ilen > size)
        ilen = size;
    if (mlen > size - ilen)
        mlen = size - ilen;
    uint8_t *info = dup_exact(data, ilen);
    /* Map record = provider GUID of the info (if any) + map blob. */
    uint8_t *map = malloc(16 + mlen);
    if (map == NULL)
        abort();
    memset(map, 0, 16);
    if (ilen >= 16)
        memcpy(map, info, 16);
    memcpy(map + 16, data + ilen, mlen);
    uint8_t *payload = dup_exact(data + ilen + mlen, size - ilen - mlen);
    size_t plen = size - ilen - mlen;

    struct schema_cache *c = schema_cache_new(0);
    struct decoder d;
    decoder_init(&d, c);
    struct arena a = ARENA_INIT;
    struct event ev;
    event_init(&ev, &a);
    struct errbuf eb;
    struct record mr, ir;
    meta_record(&ir, TDH_META_OPCODE_EVENT_INFO, info, ilen);
    meta_record(&mr, TDH_META_OPCODE_MAP_INFO, map, 16 + mlen);
    if (flags & 2) {
        schema_cache_ingest_record(c, &mr, &eb);
        schema_cache_ingest_record(c, &ir, &eb);
    } else {
        schema_cache_ingest_record(c, &ir, &eb);
        schema_cache_ingest_record(c, &mr, &eb);
    }

    struct schema *s = NULL;
    struct schema_key key;
    if (tdh_parse_event_info(info, ilen, 0, c, &s, &key, &eb) == 0) {
        /* Decode as the event the info describes, via the cache. */
        struct record r;
        memset(&r, 0, sizeof r);
        r.kind = key.kind == SCHEMA_KEY_CLASSIC ? ETWHOST_HK_TRACE : ETWHOST_HK_EVENT;
        r.evf = (flags & 1) ? ETWHOST_EVF_PTR32 : 0;
        r.provider = key.guid;
        r.id = key.id;
        r.version = key.version;
        r.opcode = key.opcode;
        r.data = payload;
        r.data_len = (uint32_t)plen;
        int rc = decode_record(&d, &r, &ev);
        if (rc != 0 && rc != ERR_NOMEM)
            abort();
        if (ev.hdr.decode_status != ETWHOST_DECODE_FULL && ev.decode_error == NULL)
            abort();
        if (event_json(&ev) == NULL)
            abort();
        /* Serialise and parse again: the same schema. */
        struct buf blob = BUF_INIT;
        unsigned ds = key.kind == SCHEMA_KEY_CLASSIC ? TDH_DECODING_WBEM : TDH_DECODING_XMLFILE;
        if (tdhinfo_build(s, ds, &blob) == 0) {
            struct schema *back = NULL;
            struct schema_key k2;
            if (tdh_parse_event_info((const uint8_t *)blob.p, blob.len, 0, c, &back, &k2,
                                     &eb) != 0)
                abort();
            static char d1[1 << 16], d2[1 << 16];
            schema_describe(s, d1, sizeof d1);
            schema_describe(back, d2, sizeof d2);
            if (strcmp(d1, d2) != 0 || memcmp(&key, &k2, sizeof key) != 0)
                abort();
            schema_free(back);
        }
        buf_free(&blob);
        schema_free(s);
    }
    event_free(&ev);
    arena_free(&a);
    decoder_free(&d);
    schema_cache_free(c);
    free(info);
    free(map);
    free(payload);
    return 0;
}
