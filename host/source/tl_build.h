/*
 * tl_build: build TraceLogging metadata blobs (extended items 11 and 12) and
 * payloads, for the synthetic source and for tests.
 *
 * A tl_meta is filled once (event name + fields) and then immutable.
 * Payload helpers append little-endian values to a struct buf.  Errors:
 * functions return 0 or ERR_RANGE when a blob would exceed 32 KiB.
 * Not thread-safe per object.
 */
#ifndef ETWHOST_TL_BUILD_H
#define ETWHOST_TL_BUILD_H

#include <stdint.h>

#include "../core/buf.h"

/* TraceLogging in-types (5 bits) and arity flags. */
#define TL_IN_UNICODESTRING 1
#define TL_IN_ANSISTRING 2
#define TL_IN_INT8 3
#define TL_IN_UINT8 4
#define TL_IN_INT16 5
#define TL_IN_UINT16 6
#define TL_IN_INT32 7
#define TL_IN_UINT32 8
#define TL_IN_INT64 9
#define TL_IN_UINT64 10
#define TL_IN_FLOAT 11
#define TL_IN_DOUBLE 12
#define TL_IN_BOOL32 13
#define TL_IN_BINARY 14
#define TL_IN_GUID 15
#define TL_IN_FILETIME 17
#define TL_IN_SYSTEMTIME 18
#define TL_IN_SID 19
#define TL_IN_HEXINT32 20
#define TL_IN_HEXINT64 21
#define TL_IN_COUNTEDSTRING 22
#define TL_IN_COUNTEDANSISTRING 23
#define TL_IN_STRUCT 24
#define TL_IN_COUNTEDBINARY 25
#define TL_ARITY_CCOUNT 0x20
#define TL_ARITY_VCOUNT 0x40

/* TraceLogging out-types (7 bits). */
#define TL_OUT_DEFAULT 0
#define TL_OUT_STRING 2
#define TL_OUT_BOOLEAN 3
#define TL_OUT_HEX 4
#define TL_OUT_PID 5
#define TL_OUT_TID 6
#define TL_OUT_PORT 7
#define TL_OUT_IPV4 8
#define TL_OUT_IPV6 9
#define TL_OUT_NTSTATUS 0xE
#define TL_OUT_UTF8 0x23

struct tl_meta {
    uint8_t bytes[1024];
    uint16_t len;
};

/* Start an event blob with name and event tags (0 = none). */
void tl_meta_begin(struct tl_meta *m, const char *event_name, uint32_t tags);
/*
 * Add a field.  intype may carry TL_ARITY_* bits; outtype 0 = none; for a
 * struct, outtype is the member count; ccount is used with TL_ARITY_CCOUNT.
 */
int tl_meta_field(struct tl_meta *m, const char *name, uint8_t intype, uint8_t outtype,
                  uint16_t ccount);
/* Finish (writes the size prefix). */
void tl_meta_end(struct tl_meta *m);

/* Provider traits blob: u16 size + NUL-terminated name (no traits). */
void tl_traits_build(struct tl_meta *m, const char *provider_name);

/* Payload helpers (little-endian). */
int tl_put_u8(struct buf *b, uint8_t v);
int tl_put_u16(struct buf *b, uint16_t v);
int tl_put_u32(struct buf *b, uint32_t v);
int tl_put_u64(struct buf *b, uint64_t v);
int tl_put_f64(struct buf *b, double v);
/* UTF-8 text as NUL-terminated UTF-16LE (ASCII/BMP only). */
int tl_put_utf16z(struct buf *b, const char *utf8);
int tl_put_ansiz(struct buf *b, const char *s);
int tl_put_guid(struct buf *b, const uint8_t guid_le[16]);

/*
 * Build the in-file extended item area for a TraceLogging event: traits
 * (type 12) then metadata (type 11), each 8-byte aligned, linkage set.
 */
int tl_ext_items(struct buf *b, const struct tl_meta *traits, const struct tl_meta *meta);

#endif
