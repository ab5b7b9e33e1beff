/*
 * libFuzzer target: TraceLogging metadata + payload through the schema
 * cache and the decode engine, then the JSON writer.
 *
 * Input: byte 0 = flags (bit 0: 32-bit pointers, bit 1: also decode with a
 * traits blob, bit 2: decode the record twice), bytes 1-2 = metadata length
 * (little-endian, clamped), then the metadata, then the payload.  Metadata
 * and payload are copied into buffers of their exact size so any read past
 * them is caught by AddressSanitizer.
 *
 * Invariants checked: decode never fails except for out of memory; FULL
 * means the payload was consumed exactly; a schema that serialises to a
 * TRACE_EVENT_INFO parses back.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint8_t flags = data[0];
    size_t mlen = (size_t)data[1] | (size_t)data[2] << 8;
    data += 3;
    size -= 3;
    if (mlen > size)
        mlen = size;
    uint8_t *meta = malloc(mlen ? mlen : 1);
    uint8_t *payload = malloc(size - mlen ? size - mlen : 1);
    if (meta == NULL || payload == NULL)
        abort();
    memcpy(meta, data, mlen);
    memcpy(payload, data + mlen, size - mlen);
    static const uint8_t traits[] = {12, 0, 'F', 'u', 'z', 'z', '.', 'P', 'r', 'o', 'v', 0};

    struct record r;
    memset(&r, 0, sizeof r);
    r.kind = ETWHOST_HK_EVENT;
    r.evf = ETWHOST_EVF_TRACELOGGING | ((flags & 1) ? ETWHOST_EVF_PTR32 : 0);
    r.provider.data1 = 0x12345678;
    r.tl_meta = meta;
    r.tl_meta_len = (uint32_t)mlen;
    if (flags & 2) {
        r.tl_traits = traits;
        r.tl_traits_len = sizeof traits;
    }
    r.data = payload;
    r.data_len = (uint32_t)(size - mlen);

    struct schema_cache *c = schema_cache_new(0);
    struct decoder d;
    decoder_init(&d, c);
    struct arena a = ARENA_INIT;
    struct event ev;
    event_init(&ev, &a);
    for (int round = 0; round < ((flags & 4) ? 2 : 1); round++) {
        arena_reset(&a);
        int rc = decode_record(&d, &r, &ev);
        if (rc != 0 && rc != ERR_NOMEM)
            abort();
        if (ev.hdr.decode_status == ETWHOST_DECODE_PENDING)
            abort();
        if (ev.hdr.decode_status != ETWHOST_DECODE_FULL && ev.decode_error == NULL)
            abort();
        if (event_json(&ev) == NULL)
            abort();
    }
    /* A schema that TDH can express must survive serialisation. */
    const struct schema *s = schema_cache_tracelogging(c, &r, &a);
    if (s && !s->error) {
        struct buf blob = BUF_INIT;
        if (tdhinfo_build(s, TDH_DECODING_XMLFILE, &blob) == 0) {
            struct schema *back = NULL;
            struct schema_key key;
            struct errbuf eb;
            if (tdh_parse_event_info((const uint8_t *)blob.p, blob.len, 0, c, &back, &key,
                                     &eb) != 0)
                abort();
            if (back->nfields != s->nfields || back->ntop != s->ntop)
                abort();
            schema_free(back);
        }
        buf_free(&blob);
    }
    event_free(&ev);
    arena_free(&a);
    decoder_free(&d);
    schema_cache_free(c);
    free(meta);
    free(payload);
    return 0;
}
