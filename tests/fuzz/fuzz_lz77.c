/*
 * libFuzzer target for the Plain LZ77 codec.  Input: u32 output capacity
 * (mod 512 KiB), then a compressed stream to inflate into exactly that much
 * room.  The input (its first 4 KiB, to keep iterations fast under
 * instrumentation) also goes through compress -> decompress and must come
 * back unchanged.  Build and run: tests/scripts/fuzz.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "etl/lz77.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 4) {
        size_t cap = ((size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 |
                      (size_t)data[3] << 24) % (1u << 19);
        uint8_t *out = mem_alloc(cap ? cap : 1);
        if (out == NULL)
            return 0;
        size_t n = 0;
        int rc = lz77_decompress(data + 4, size - 4, out, cap, &n);
        if (rc == 0 && n > cap)
            abort();
        mem_free(out);
    }
    if (size > 4096)
        size = 4096;
    size_t bound = lz77_compress_bound(size), clen = 0, dlen = 0;
    uint8_t *c = mem_alloc(bound);
    uint8_t *d = mem_alloc(size ? size : 1);
    if (c == NULL || d == NULL)
        abort();
    if (lz77_compress(data, size, c, bound, &clen) != 0 || clen > bound)
        abort();
    if (lz77_decompress(c, clen, d, size, &dlen) != 0 || dlen != size ||
        (size && memcmp(d, data, size) != 0))
        abort();
    mem_free(c);
    mem_free(d);
    return 0;
}
