/*
 * tdh_embedded: schemas from TDH metadata blobs (TRACE_EVENT_INFO and
 * EVENT_MAP_INFO as laid out in tdh.h), and the reverse: serialising a
 * schema or map back into those blobs.
 *
 * Merge/relog tools embed these blobs in the trace as classic records of
 * class bbccf6c1-6cd1-48c4-80ff-839482e37671 (opcode 32: TRACE_EVENT_INFO,
 * opcode 33: provider GUID + EVENT_MAP_INFO), before the events that use
 * them.  The same format is what TdhGetEventInformation returns on Windows,
 * so the live-TDH source and the archive format can reuse it.
 *
 * TRACE_EVENT_INFO: 0x70-byte header, then PropertyCount 24-byte
 * EVENT_PROPERTY_INFO; every offset is relative to the blob start and names
 * a NUL-terminated UTF-16 string.  EVENT_MAP_INFO: 16-byte header, then
 * EntryCount 8-byte EVENT_MAP_ENTRY.  Every offset and count is checked
 * against the blob length.
 *
 * Threading: parse/build functions are pure; the ones taking a cache
 * follow the cache's rules (one thread).
 */
#ifndef ETWHOST_TDH_EMBEDDED_H
#define ETWHOST_TDH_EMBEDDED_H

#include <stddef.h>
#include <stdint.h>

#include "schema.h"
#include "schema_cache.h"
#include "../core/buf.h"

/* TRACE_EVENT_INFO.DecodingSource */
#define TDH_DECODING_XMLFILE 0u
#define TDH_DECODING_WBEM 1u
#define TDH_DECODING_WPP 2u
#define TDH_DECODING_TLG 3u

/* EVENT_PROPERTY_INFO.Flags */
#define TDH_PROP_STRUCT 0x1u
#define TDH_PROP_PARAM_LENGTH 0x2u
#define TDH_PROP_PARAM_COUNT 0x4u
#define TDH_PROP_WBEM_XML_FRAGMENT 0x8u
#define TDH_PROP_PARAM_FIXED_LENGTH 0x10u
#define TDH_PROP_PARAM_FIXED_COUNT 0x20u
#define TDH_PROP_HAS_TAGS 0x40u
#define TDH_PROP_HAS_CUSTOM_SCHEMA 0x80u

/* EVENT_MAP_INFO.Flag */
#define TDH_MAP_MANIFEST_VALUEMAP 0x1u
#define TDH_MAP_MANIFEST_BITMAP 0x2u
#define TDH_MAP_MANIFEST_PATTERNMAP 0x4u
#define TDH_MAP_WBEM_VALUEMAP 0x8u
#define TDH_MAP_WBEM_BITMAP 0x10u
#define TDH_MAP_WBEM_FLAG 0x20u
#define TDH_MAP_WBEM_NO_MAP 0x40u

#define TDH_EVENT_INFO_HEADER 0x70u
#define TDH_PROPERTY_INFO_SIZE 24u
#define TDH_MAP_INFO_HEADER 16u

/* Record opcodes of the MetaData class. */
#define TDH_META_OPCODE_EVENT_INFO 32u
#define TDH_META_OPCODE_MAP_INFO 33u

/* The MetaData class GUID, bbccf6c1-6cd1-48c4-80ff-839482e37671. */
extern const etwhost_guid tdh_metadata_class_guid;

/*
 * Parse a TRACE_EVENT_INFO blob into a new mem-allocated schema (source
 * SCHEMA_SRC_TDH_EMBEDDED unless 'source' says otherwise) and the key it
 * belongs under (manifest key for DecodingSource XMLFile, classic key with
 * pointer size 0 for Wbem).  Map names become slots of 'cache' (may be NULL:
 * maps are then dropped).  Returns 0, ERR_UNSUPPORTED (WPP / TraceLogging
 * infos), ERR_FORMAT with one line in eb, or ERR_NOMEM.
 */
int tdh_parse_event_info(const uint8_t *blob, size_t len, unsigned source,
                         struct schema_cache *cache, struct schema **out,
                         struct schema_key *key, struct errbuf *eb);

/*
 * Parse an EVENT_MAP_INFO blob into a new map (release with mem_free).
 * WBEM index maps and bit-position maps are normalised to value maps and
 * mask bitmaps; WBEM string values are parsed as integers.  Returns 0,
 * ERR_UNSUPPORTED (pattern maps), ERR_FORMAT with eb, or ERR_NOMEM.
 */
int tdh_parse_map_info(const uint8_t *blob, size_t len, struct schema_map **out,
                       struct errbuf *eb);

/*
 * Serialise schema s as a TRACE_EVENT_INFO blob appended to out (offsets
 * relative to the blob start, which is out->len on entry).  decoding_source
 * is written as given.  TraceLogging-only shapes (variable count read from
 * the payload, custom fields) cannot be expressed: ERR_UNSUPPORTED.
 * Returns 0, ERR_UNSUPPORTED, ERR_NOMEM or ERR_RANGE.
 */
int tdhinfo_build(const struct schema *s, unsigned decoding_source, struct buf *out);

/*
 * Serialise map m as an EVENT_MAP_INFO blob appended to out (manifest value
 * map or bitmap).  0, ERR_NOMEM or ERR_RANGE.
 */
int tdhmap_build(const struct schema_map *m, struct buf *out);

#endif
