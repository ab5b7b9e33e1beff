/*
 * etl_inflate: write a copy of an .etl file whose LZ77-compressed buffers
 * are inflated (plain buffers), for size comparisons in the archive
 * benchmark (tests/scripts/bench-archive.sh): zstd of the plain trace is the
 * fair baseline for the archive's size.
 *
 *   etl_inflate IN.etl OUT.etl
 *
 * Each compressed buffer (BufferFlag 0x40) becomes its 0x48-byte header
 * followed by the inflated data (Offset - 0x48 bytes), with the flag cleared
 * and BufferSize set to the new length; other buffers are copied as they
 * are.  Exit 1 with a message naming the buffer on damage.
 */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "etl/etl_format.h"
#include "etl/lz77.h"
#include "platform/platform.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: etl_inflate IN.etl OUT.etl\n");
        return 2;
    }
    const uint8_t *d;
    size_t len;
    struct errbuf eb;
    if (plat_map_file(argv[1], &d, &len, &eb)) {
        fprintf(stderr, "%s\n", eb.msg);
        return 1;
    }
    FILE *o = fopen(argv[2], "wb");
    if (o == NULL) {
        fprintf(stderr, "%s: cannot create\n", argv[2]);
        return 1;
    }
    uint8_t *buf = NULL;
    size_t cap = 0, off = 0, inflated = 0;
    int rc = 0;
    while (off + ETL_BUF_HDR <= len) {
        uint32_t bs = rd32(d + off + ETL_BUF_SIZE);
        if (bs < ETL_BUF_HDR || bs > len - off) {
            fprintf(stderr, "%s: offset 0x%zx: bad BufferSize %u\n", argv[1], off, bs);
            rc = 1;
            break;
        }
        uint16_t flags = (uint16_t)(d[off + ETL_BUF_FLAGS] | d[off + ETL_BUF_FLAGS + 1] << 8);
        uint32_t end = rd32(d + off + ETL_BUF_OFFSET);
        if ((flags & ETL_BUFFLAG_COMPRESSED) && end > ETL_BUF_HDR) {
            size_t want = end, got = 0;
            if (mem_grow(&buf, &cap, want, 1)) {
                rc = 1;
                break;
            }
            memcpy(buf, d + off, ETL_BUF_HDR);
            if (lz77_decompress(d + off + ETL_BUF_HDR, bs - ETL_BUF_HDR, buf + ETL_BUF_HDR,
                                want - ETL_BUF_HDR, &got) != 0) {
                fprintf(stderr, "%s: offset 0x%zx: LZ77 stream does not inflate\n", argv[1], off);
                rc = 1;
                break;
            }
            flags &= (uint16_t)~ETL_BUFFLAG_COMPRESSED;
            buf[ETL_BUF_FLAGS] = (uint8_t)flags;
            buf[ETL_BUF_FLAGS + 1] = (uint8_t)(flags >> 8);
            wr32(buf + ETL_BUF_SIZE, (uint32_t)(ETL_BUF_HDR + got));
            fwrite(buf, 1, ETL_BUF_HDR + got, o);
            inflated++;
        } else {
            fwrite(d + off, 1, bs, o);
        }
        off += bs;
    }
    if (fclose(o) != 0)
        rc = 1;
    mem_free(buf);
    plat_unmap(d, len);
    fprintf(stderr, "etl_inflate: %zu buffers inflated\n", inflated);
    return rc;
}
