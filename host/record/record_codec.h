/*
 * record_codec: the portable record encoding (docs/archive-format.md,
 * "Record encoding") that api->event_record() hands to plugins and that
 * archives store.
 *
 * An encoded record is a fixed 152-byte little-endian part followed by a
 * variable part: the extended data items (in-file layout), the payload, the
 * "extra" bytes (copies of TraceLogging shortcuts that did not point into
 * the extended items, and for WPP messages the recorded header bytes, whose
 * component id struct record has no member for), and the provider name
 * (UTF-8, no NUL).  Decoding it yields a struct record equal to the
 * original in every member except offset, seq and trace (where a record sat
 * in its source) and the replay hints; raw is rebuilt (header + payload)
 * only for WPP messages, the one kind whose decoding reads it.
 *
 * Threading: pure functions.  Errors: ERR_NOMEM from encoding; ERR_FORMAT
 * from decoding malformed bytes (never reads outside them).
 */
#ifndef ETWHOST_RECORD_CODEC_H
#define ETWHOST_RECORD_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"
#include "record.h"

#define RECORD_ENC_VERSION 1u
#define RECORD_ENC_FIXED 152u

/* Offsets of the fixed part (the format doc lists them too). */
#define RENC_VERSION 0
#define RENC_KIND 1
#define RENC_HDR_FLAGS 2
#define RENC_EVF 4
#define RENC_HOOK_ID 8
#define RENC_RAW_VERSION 10
#define RENC_EVENT_PROPERTY 12
#define RENC_MESSAGE_NUMBER 14
#define RENC_PID 16
#define RENC_TID 20
#define RENC_CPU 24
#define RENC_WPP_SEQUENCE 28
#define RENC_TIMESTAMP 32
#define RENC_RAW_TIMESTAMP 40
#define RENC_PROVIDER 48
#define RENC_ID 64
#define RENC_EVT_VERSION 66
#define RENC_CHANNEL 67
#define RENC_LEVEL 68
#define RENC_OPCODE 69
#define RENC_TASK 70
#define RENC_KEYWORDS 72
#define RENC_ACTIVITY 80
#define RENC_RELATED 96
#define RENC_EXT_LEN 112
#define RENC_DATA_LEN 116
#define RENC_NAME_LEN 120
#define RENC_RESERVED 122
#define RENC_EXTRA_LEN 124
#define RENC_TL_META_OFF 128
#define RENC_TL_META_LEN 132
#define RENC_TL_TRAITS_OFF 136
#define RENC_TL_TRAITS_LEN 140
#define RENC_RAW_HEAD_OFF 144
#define RENC_RAW_HEAD_LEN 148

/* "No shortcut" in RENC_TL_*_OFF. */
#define RENC_NONE 0xFFFFFFFFu

/*
 * Append the encoding of rec with provider name (NULL = "") to out.
 * 0, ERR_NOMEM, or ERR_RANGE (a provider name over 65535 bytes is cut;
 * never fails for that, only for sizes over 4 GiB).
 */
int record_encode(const struct record *rec, const char *provider_name, struct buf *out);

/*
 * Write the encoding into p, which holds record_encoded_size() bytes;
 * returns that size.  For callers that allocate themselves (event arenas).
 */
size_t record_encode_into(const struct record *rec, const char *provider_name, uint8_t *p);

/* Bytes record_encode would append. */
size_t record_encoded_size(const struct record *rec, const char *provider_name);

/*
 * Decode p[0..len) into *rec (zeroed first; its pointers point into p) and
 * the provider name (*name points into p, not NUL-terminated, *name_len
 * bytes).  *used gets the bytes consumed (len may hold more records).
 * ERR_FORMAT if the bytes are not a valid encoding.
 */
int record_decode(const uint8_t *p, size_t len, struct record *rec, const char **name,
                  size_t *name_len, size_t *used);

/*
 * Decode a fixed part whose variable columns are stored apart (archive
 * blocks): ext, data and extra hold the lengths the fixed part names.  The
 * provider-name length is ignored.  Shortcut offsets are resolved into the
 * three segments.  ERR_FORMAT for a bad version or a shortcut outside them.
 */
int record_decode_split(const uint8_t *fixed, const uint8_t *ext, const uint8_t *data,
                        const uint8_t *extra, struct record *rec);

/*
 * record_decode_split in two steps, for readers that decode one fixed part
 * (an archive template) once and reuse it: record_decode_fixed zeroes *rec
 * and fills every member the fixed part holds except the pointers (the
 * version byte is not checked); record_decode_pointers sets ext/data (el and
 * dl bytes) and resolves the shortcuts that fixed names into ext | data |
 * extra (xl bytes).  record_decode_pointers: 0 or ERR_FORMAT.
 */
void record_decode_fixed(const uint8_t *fixed, struct record *rec);
int record_decode_pointers(const uint8_t *fixed, const uint8_t *ext, uint32_t el,
                           const uint8_t *data, uint32_t dl, const uint8_t *extra, uint32_t xl,
                           struct record *rec);

/*
 * Bytes needed to rebuild rec->raw of an encoded fixed part (0 if the
 * encoding holds no recorded header), and the rebuild itself: raw_buf
 * (record_raw_size bytes) receives header + payload and rec->raw/raw_len/
 * data point into it.  Call after record_decode_split with the same
 * segments.  0 or ERR_FORMAT.
 */
size_t record_raw_size(const uint8_t *fixed);
int record_rebuild_raw(const uint8_t *fixed, const uint8_t *ext, const uint8_t *data,
                       const uint8_t *extra, uint8_t *raw_buf, struct record *rec);

#endif
