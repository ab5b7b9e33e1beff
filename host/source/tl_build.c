/*
 * tl_build: TraceLogging metadata and payload builder (see tl_build.h).
 */
#include "tl_build.h"

#include <string.h>

#include "../core/err.h"

void tl_meta_begin(struct tl_meta *m, const char *event_name, uint32_t tags)
{
    m->len = 2;
    if (tags == 0) {
        m->bytes[m->len++] = 0;
    } else {
        /* 28-bit tags, 7 bits per byte, high bits first, bit 7 = more. */
        uint8_t parts[4];
        int n = 0;
        for (int shift = 21; shift >= 0; shift -= 7)
            parts[n++] = (uint8_t)((tags >> shift) & 0x7F);
        int last = 3;
        while (last > 0 && parts[last] == 0)
            last--;
        for (int i = 0; i <= last; i++)
            m->bytes[m->len++] = (uint8_t)(parts[i] | (i < last ? 0x80 : 0));
    }
    size_t l = strlen(event_name) + 1;
    memcpy(m->bytes + m->len, event_name, l);
    m->len = (uint16_t)(m->len + l);
}

int tl_meta_field(struct tl_meta *m, const char *name, uint8_t intype, uint8_t outtype,
                  uint16_t ccount)
{
    size_t l = strlen(name) + 1;
    if (m->len + l + 5 > sizeof m->bytes)
        return ERR_RANGE;
    memcpy(m->bytes + m->len, name, l);
    m->len = (uint16_t)(m->len + l);
    int has_out = outtype != 0 || (intype & 0x1F) == TL_IN_STRUCT;
    m->bytes[m->len++] = (uint8_t)(intype | (has_out ? 0x80 : 0));
    if (has_out)
        m->bytes[m->len++] = outtype & 0x7F;
    if ((intype & 0x60) == TL_ARITY_CCOUNT) {
        m->bytes[m->len++] = (uint8_t)(ccount & 0xFF);
        m->bytes[m->len++] = (uint8_t)(ccount >> 8);
    }
    return 0;
}

void tl_meta_end(struct tl_meta *m)
{
    m->bytes[0] = (uint8_t)(m->len & 0xFF);
    m->bytes[1] = (uint8_t)(m->len >> 8);
}

void tl_traits_build(struct tl_meta *m, const char *provider_name)
{
    size_t l = strlen(provider_name) + 1;
    if (l > sizeof m->bytes - 2)
        l = sizeof m->bytes - 2;
    memcpy(m->bytes + 2, provider_name, l);
    m->len = (uint16_t)(2 + l);
    tl_meta_end(m);
}

int tl_put_u8(struct buf *b, uint8_t v) { return buf_append(b, &v, 1); }

int tl_put_u16(struct buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    return buf_append(b, x, 2);
}

int tl_put_u32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return buf_append(b, x, 4);
}

int tl_put_u64(struct buf *b, uint64_t v)
{
    int rc = tl_put_u32(b, (uint32_t)v);
    return rc ? rc : tl_put_u32(b, (uint32_t)(v >> 32));
}

int tl_put_f64(struct buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return tl_put_u64(b, u);
}

int tl_put_utf16z(struct buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp = *p++;
        if (cp >= 0xC0 && (cp & 0xE0) == 0xC0 && *p) {
            cp = ((cp & 0x1F) << 6) | (*p++ & 0x3F);
        } else if ((cp & 0xF0) == 0xE0 && p[0] && p[1]) {
            cp = ((cp & 0x0F) << 12) | ((uint32_t)(p[0] & 0x3F) << 6) | (p[1] & 0x3F);
            p += 2;
        }
        int rc = tl_put_u16(b, (uint16_t)cp);
        if (rc)
            return rc;
    }
    return tl_put_u16(b, 0);
}

int tl_put_ansiz(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s) + 1);
}

int tl_put_guid(struct buf *b, const uint8_t guid_le[16])
{
    return buf_append(b, guid_le, 16);
}

static int put_item(struct buf *b, uint16_t type, const struct tl_meta *m, int more)
{
    uint16_t total = (uint16_t)((8 + m->len + 7) & ~7);
    int rc = tl_put_u16(b, total);
    if (!rc) rc = tl_put_u16(b, type);
    if (!rc) rc = tl_put_u16(b, (uint16_t)(more ? 1 : 0));
    if (!rc) rc = tl_put_u16(b, m->len);
    if (!rc) rc = buf_append(b, m->bytes, m->len);
    static const uint8_t zero[8];
    if (!rc) rc = buf_append(b, zero, (size_t)(total - 8 - m->len));
    return rc;
}

int tl_ext_items(struct buf *b, const struct tl_meta *traits, const struct tl_meta *meta)
{
    int rc = put_item(b, 12, traits, 1);
    return rc ? rc : put_item(b, 11, meta, 0);
}
