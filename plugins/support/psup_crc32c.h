/*
 * psup_crc32c: CRC32C (Castagnoli, the iSCSI / ext4 polynomial), as the
 * plugins' file formats use it: the archive format's frame and footer
 * checksums (docs/archive-format.md).  "123456789" gives 0xE3069283.
 *
 * The host's archive reader has its own implementation (host/archive/
 * archive_format.c): the writer and the reader of the format sit on the two
 * sides of the plugin boundary, which share no code, and known-answer tests
 * (tests/unit/test_plugin_support.c) pin both to the same standard values.
 *
 * Threading: psup_crc32c_init fills a table once; call it before the first
 * use from more than one thread (e.g. in the plugin's create, which the host
 * serializes).  Afterwards psup_crc32c is thread-safe.
 */
#ifndef ETWHOST_PSUP_CRC32C_H
#define ETWHOST_PSUP_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Fill the lookup table (idempotent). */
void psup_crc32c_init(void);

/*
 * CRC32C of p[0..n) continuing from crc (0 to start): the CRC of a then b is
 * psup_crc32c(psup_crc32c(0, a, n), b, m).  Fills the table itself if
 * psup_crc32c_init was not called (single-threaded callers).
 */
uint32_t psup_crc32c(uint32_t crc, const void *p, size_t n);

#endif
