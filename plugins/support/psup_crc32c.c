/*
 * psup_crc32c: see psup_crc32c.h.  Slicing by 8: eight 256-entry tables,
 * eight bytes per step.
 */
#include "psup_crc32c.h"

#include "psup_le.h"

static uint32_t crc_tab[8][256];
static int crc_ready;

void psup_crc32c_init(void)
{
    if (crc_ready)
        return;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_tab[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xFF];
    crc_ready = 1;
}

uint32_t psup_crc32c(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    if (!crc_ready)
        psup_crc32c_init();
    crc = ~crc;
    while (n >= 8) {
        uint32_t a = crc ^ psup_get32(p), b = psup_get32(p + 4);
        crc = crc_tab[7][a & 0xFF] ^ crc_tab[6][(a >> 8) & 0xFF] ^ crc_tab[5][(a >> 16) & 0xFF] ^
              crc_tab[4][a >> 24] ^ crc_tab[3][b & 0xFF] ^ crc_tab[2][(b >> 8) & 0xFF] ^
              crc_tab[1][(b >> 16) & 0xFF] ^ crc_tab[0][b >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ crc_tab[0][(crc ^ *p++) & 0xFF];
    return ~crc;
}
