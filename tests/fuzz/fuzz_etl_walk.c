/*
 * libFuzzer target: open arbitrary bytes as an .etl file and walk every
 * record in both orders.  Every record's bytes are read so that ASan checks
 * the pointers the reader hands out.  Build and run: tests/scripts/fuzz.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "etl/etl_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
}

/*
 * Read n bytes at p through memcmp: ASan's interceptor checks the whole range
 * at once, much faster than an instrumented loop over every byte.
 */
static int (*volatile compare)(const void *, const void *, size_t) = memcmp;

static uint64_t touch(const uint8_t *p, size_t n)
{
    return (uint64_t)compare(p, p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int order = 0; order < 2; order++) {
        struct etl_options o;
        memset(&o, 0, sizeof o);
        o.file_order = order;
        o.max_buffer_bytes = 1u << 20; /* keep iterations fast; the cap logic is the same */
        o.lookahead = (size & 1) ? 2 : 0;
        o.warn = quiet;
        struct etl_reader *r;
        struct errbuf eb;
        if (etl_open_mem(data, size, "fuzz.etl", &o, &r, &eb) != 0)
            return 0;
        const struct trace_info *ti = etl_info(r);
        volatile uint64_t sink = touch((const uint8_t *)ti->logger_name, strlen(ti->logger_name));
        struct record rec;
        uint64_t n = 0;
        int rc;
        while ((rc = etl_next(r, &rec, &eb)) == 1) {
            sink += touch(rec.raw, rec.raw_len);
            if (rec.ext)
                sink += touch(rec.ext, rec.ext_len);
            if (rec.tl_meta)
                sink += touch(rec.tl_meta, rec.tl_meta_len);
            if (rec.tl_traits)
                sink += touch(rec.tl_traits, rec.tl_traits_len);
            if (rec.data < rec.raw || rec.data + rec.data_len > rec.raw + rec.raw_len)
                abort();
            uint32_t pos = 0;
            uint16_t type, len;
            const uint8_t *d;
            while (record_ext_next(&rec, &pos, &type, &d, &len))
                sink += touch(d, len);
            /* Records are at least 8 bytes apart in the input or in an inflated buffer. */
            if (++n > size * 64 + 16)
                abort();
        }
        (void)sink;
        if (rc < 0 && strstr(eb.msg, "out of memory") == NULL)
            abort(); /* only memory exhaustion may be fatal */
        struct etl_stats st;
        etl_get_stats(r, &st);
        if (st.records != n)
            abort();
        etl_close(r);
    }
    return 0;
}
