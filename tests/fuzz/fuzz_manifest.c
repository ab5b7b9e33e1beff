/*
 * libFuzzer target: load arbitrary bytes as an instrumentation manifest (XML
 * or the wevtutil text form), then decode the input itself as the payload of
 * every event the manifest defines, with 32- and 64-bit pointers, so the
 * schemas the parser builds from hostile text are exercised by the decoder
 * too.  Build and run: tests/scripts/fuzz.sh fuzz_manifest.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "decode/decode.h"
#include "event/event.h"
#include "schema/manifest_xml.h"
#include "schema/schema_cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct schema_cache *c = schema_cache_new(1u << 24);
    if (c == NULL)
        return 0;
    struct manifest_set *ms = manifest_set_new(c);
    struct errbuf eb;
    if (ms && manifest_set_load_mem(ms, "fuzz.man", data, size, &eb) == 0) {
        struct decoder d;
        decoder_init(&d, c);
        struct arena a = ARENA_INIT;
        struct event e;
        event_init(&e, &a);
        struct record rec;
        for (size_t i = 0; i < 64; i++) {
            const struct schema *s = manifest_set_schema_at(ms, i);
            if (s == NULL)
                break;
            for (int ptr32 = 0; ptr32 < 2; ptr32++) {
                memset(&rec, 0, sizeof rec);
                rec.kind = ETWHOST_HK_EVENT;
                rec.provider = s->provider;
                rec.id = s->id;
                rec.version = s->version;
                rec.evf = ptr32 ? ETWHOST_EVF_PTR32 : 0;
                rec.data = data;
                rec.data_len = (uint32_t)(size < 4096 ? size : 4096);
                arena_reset(&a);
                decode_with_schema(&d, &rec, s, &e);
                event_json(&e);
            }
        }
        event_free(&e);
        arena_free(&a);
        decoder_free(&d);
    }
    manifest_set_free(ms);
    schema_cache_free(c);
    return 0;
}
