/*
 * psup_le: little-endian integers in byte buffers, as the plugins' file
 * formats store them (the archive format, the kafka spool's frames) and as
 * psup_crc32c loads its words.
 *
 * Byte by byte through uint8_t: any alignment, any host byte order, no
 * aliasing questions; compilers turn each helper into one load or store
 * where the target allows it.  p must point to at least 2, 4 or 8 bytes.
 *
 * Header only (static inline): a plugin needs no SRCS_<name> entry for it.
 * No state, no allocation, no errors: thread-safe.
 */
#ifndef ETWHOST_PSUP_LE_H
#define ETWHOST_PSUP_LE_H

#include <stdint.h>

/* Store v in p[0..2), least significant byte first. */
static inline void psup_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* Store v in p[0..4), least significant byte first. */
static inline void psup_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Store v in p[0..8), least significant byte first. */
static inline void psup_put64(uint8_t *p, uint64_t v)
{
    psup_put32(p, (uint32_t)v);
    psup_put32(p + 4, (uint32_t)(v >> 32));
}

/* The value stored in p[0..2), least significant byte first. */
static inline uint16_t psup_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* The value stored in p[0..4), least significant byte first. */
static inline uint32_t psup_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The value stored in p[0..8), least significant byte first. */
static inline uint64_t psup_get64(const uint8_t *p)
{
    return (uint64_t)psup_get32(p) | (uint64_t)psup_get32(p + 4) << 32;
}

#endif
