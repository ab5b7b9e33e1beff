/*
 * le: little-endian loads and stores of 16, 32 and 64-bit values at any
 * alignment, the byte order of every on-disk format the host reads and
 * writes (.etl files, archives, the record codec, LZ77 streams).  Written byte by byte:
 * compilers merge them into single moves on little-endian machines.
 * Pure functions; no ownership, no errors, thread-safe.
 */
#ifndef ETWHOST_CORE_LE_H
#define ETWHOST_CORE_LE_H

#include <stdint.h>

static inline uint32_t le_r16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static inline uint32_t le_r32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t le_r64(const uint8_t *p)
{
    return (uint64_t)le_r32(p) | (uint64_t)le_r32(p + 4) << 32;
}
static inline void le_w16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void le_w32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void le_w64(uint8_t *p, uint64_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
    p[4] = (uint8_t)(v >> 32);
    p[5] = (uint8_t)(v >> 40);
    p[6] = (uint8_t)(v >> 48);
    p[7] = (uint8_t)(v >> 56);
}

#endif
