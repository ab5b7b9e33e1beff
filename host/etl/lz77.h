/*
 * lz77: the MS-XCA "Plain LZ77" codec (LZXpress, COMPRESSION_FORMAT_XPRESS)
 * that compressed .etl files use for their data buffers.
 *
 * Stream format (MS-XCA 2.3/2.4): groups of up to 32 items, each group led
 * by a little-endian u32 whose bits (most significant first) say literal (0)
 * or match (1).  A match is a u16 (distance - 1) << 3 | length bits, with
 * longer lengths in a shared nibble, then a byte, then a u16 or u32.  A match
 * flag with no input left ends the stream.
 *
 * Both functions are pure and thread-safe; they never read or write outside
 * the bounds given.
 */
#ifndef ETWHOST_LZ77_H
#define ETWHOST_LZ77_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decompress src[0..slen) into dst[0..dcap).  On success returns 0 and sets
 * *out_len to the bytes produced (which may be less than dcap: the caller
 * compares it with the size it expects).  Returns ERR_FORMAT for a malformed
 * stream: a match reaching before the start of the output, output that
 * would exceed dcap, a truncated flag word, match or length field.  dst
 * contents are unspecified after an error.
 */
int lz77_decompress(const uint8_t *src, size_t slen, uint8_t *dst, size_t dcap, size_t *out_len);

/* Upper bound of the compressed size of n input bytes (all literals plus flag words). */
size_t lz77_compress_bound(size_t n);

/*
 * Compress src[0..n) into dst[0..cap) with a greedy hash-chain matcher
 * (window 8192, matches >= 3 bytes).  The output is a valid Plain LZ77
 * stream that lz77_decompress (and Windows' RtlDecompressBuffer with
 * COMPRESSION_FORMAT_XPRESS) inflate back to exactly n bytes.  Returns 0
 * and *out_len, ERR_RANGE if cap < lz77_compress_bound(n), or ERR_NOMEM for
 * the matcher's working memory (about 96 KiB, freed before returning).
 */
int lz77_compress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap, size_t *out_len);

#endif
