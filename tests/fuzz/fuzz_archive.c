/*
 * libFuzzer target: the archive reader (host/archive/) over arbitrary bytes,
 * then every record it yields through the decode engine with its replay
 * hints (the archived schema) and the JSON writer.
 *
 * The input is copied into a buffer of its exact size so any read past it
 * is caught by AddressSanitizer.  Invariants checked: opening fails only
 * with ERR_FORMAT (or ERR_NOMEM); reading never fails except for out of
 * memory; every record's pointers lie inside the reader's buffers (ASan);
 * decoding never fails except for out of memory.  The record and schema
 * decoders are also run on the raw input, and so is `archive verify`
 * (every block decoded whole): it either cannot read the bytes at all
 * (ERR_FORMAT, ERR_NOMEM) or accounts for every block as good or bad.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive_reader.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/mem.h"
#include "decode/decode.h"
#include "event/event.h"
#include "record/record_codec.h"
#include "schema/schema_cache.h"
#include "schema/schema_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void no_warn(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
}

static void no_line(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    if (p == NULL)
        return 0;
    memcpy(p, data, size);

    /* The codecs on their own. */
    struct arena ar0 = {0};
    ar0.chunk_size = 16 * 1024;
    struct schema *s;
    struct errbuf eb;
    if (schema_decode(p, size, &ar0, &s, &eb) == 0) {
        struct buf b = BUF_INIT;
        if (schema_encode(s, &b) != 0 && b.len)
            abort();
        buf_free(&b);
    }
    arena_free(&ar0);
    struct record r;
    const char *name;
    size_t nl, used;
    if (record_decode(p, size, &r, &name, &nl, &used) == 0 && used > size)
        abort();

    /* The whole-file check. */
    struct archive_check chk;
    int vrc = archive_verify_mem(p, size, "fuzz", &chk, no_line, NULL, &eb);
    if (vrc != 0 && vrc != ERR_FORMAT && vrc != ERR_NOMEM)
        abort();
    if (vrc == 0 && chk.good_blocks + chk.bad_blocks != chk.blocks)
        abort();

    /* The reader, then decoding with the hints. */
    struct archive_options o;
    memset(&o, 0, sizeof o);
    o.warn = no_warn;
    o.force_scan = size > 0 && (p[size - 1] & 1);
    struct archive_reader *ar;
    int rc = archive_open_mem(p, size, "fuzz", &o, &ar, &eb);
    if (rc != 0) {
        if (rc != ERR_FORMAT && rc != ERR_NOMEM)
            abort();
        free(p);
        return 0;
    }
    struct schema_cache *cache = schema_cache_new(0);
    struct decoder dec;
    decoder_init(&dec, cache);
    struct arena ea = {0};
    ea.chunk_size = 64 * 1024;
    struct event ev;
    event_init(&ev, &ea);
    struct record rec;
    for (int i = 0; i < 100000; i++) {
        rc = archive_next(ar, &rec, &eb);
        if (rc < 0 && rc != ERR_NOMEM)
            abort();
        if (rc != 1)
            break;
        event_reset(&ev);
        if (decode_record(&dec, &rec, &ev) != 0)
            continue;
        event_json(&ev);
        arena_reset(&ea);
    }
    struct archive_stats st;
    archive_get_stats(ar, &st);
    if (st.blocks_read > st.blocks)
        abort();
    event_free(&ev);
    arena_free(&ea);
    decoder_free(&dec);
    schema_cache_free(cache);
    archive_close(ar);
    free(p);
    return 0;
}
