/*
 * record: helpers shared by every source (GUIDs, extended items).
 */
#include "record.h"

#include <stdio.h>
#include <string.h>

#include "../core/err.h"
#include "../core/text.h"

int record_ext_next(const struct record *r, uint32_t *pos, uint16_t *type, const uint8_t **data,
                    uint16_t *len)
{
    uint32_t p = *pos;
    if (r->ext == NULL || p + 8 > r->ext_len)
        return 0;
    const uint8_t *q = r->ext + p;
    uint16_t size = (uint16_t)(q[0] | q[1] << 8);
    uint16_t dsz = (uint16_t)(q[6] | q[7] << 8);
    if (size < 8 || p + size > r->ext_len || (uint32_t)dsz + 8 > size)
        return 0;
    *type = (uint16_t)(q[2] | q[3] << 8);
    *data = q + 8;
    *len = dsz;
    *pos = p + size;
    return 1;
}

void guid_read(etwhost_guid *g, const uint8_t *p)
{
    g->data1 = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    g->data2 = (uint16_t)(p[4] | p[5] << 8);
    g->data3 = (uint16_t)(p[6] | p[7] << 8);
    memcpy(g->data4, p + 8, 8);
}

void guid_format(const etwhost_guid *g, char out[37])
{
    /* Two hex digits per byte from text_hex2, in the GUID's printed byte order. */
    uint8_t b[16];
    b[0] = (uint8_t)(g->data1 >> 24);
    b[1] = (uint8_t)(g->data1 >> 16);
    b[2] = (uint8_t)(g->data1 >> 8);
    b[3] = (uint8_t)g->data1;
    b[4] = (uint8_t)(g->data2 >> 8);
    b[5] = (uint8_t)g->data2;
    b[6] = (uint8_t)(g->data3 >> 8);
    b[7] = (uint8_t)g->data3;
    memcpy(b + 8, g->data4, 8);
    static const uint8_t at[16] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};
    for (int i = 0; i < 16; i++)
        memcpy(out + at[i], text_hex2 + 2 * b[i], 2);
    out[8] = out[13] = out[18] = out[23] = '-';
    out[36] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int guid_parse(const char *s, size_t len, etwhost_guid *g)
{
    if (len == 38 && s[0] == '{' && s[37] == '}') {
        s++;
        len -= 2;
    }
    if (len != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
        return ERR_FORMAT;
    uint8_t b[16];
    int bi = 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            continue;
        int h = hexval(s[i]), l = hexval(s[i + 1]);
        if (h < 0 || l < 0)
            return ERR_FORMAT;
        b[bi++] = (uint8_t)(h << 4 | l);
        i++;
    }
    g->data1 = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    g->data2 = (uint16_t)(b[4] << 8 | b[5]);
    g->data3 = (uint16_t)(b[6] << 8 | b[7]);
    memcpy(g->data4, b + 8, 8);
    return 0;
}

int guid_is_zero(const etwhost_guid *g)
{
    static const etwhost_guid z;
    return memcmp(g, &z, sizeof z) == 0;
}
