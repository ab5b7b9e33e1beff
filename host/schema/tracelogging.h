/*
 * tracelogging: schemas from TraceLogging in-band metadata.
 *
 * A TraceLogging event carries its own description in extended data item
 * 11 (EVENT_SCHEMA_TL): u16 size, continuation-encoded event tags, the
 * event name, then one entry per field (name, InMeta, optional OutMeta and
 * field tags, optional fixed count or custom schema).  Struct members follow
 * their struct in the blob; the parser re-lays them out in the schema model
 * (top-level fields first, each struct's members contiguous).  Provider
 * traits (ext item 12) carry the provider name.
 *
 * Translation into the schema model: in-types keep their numbers (they are
 * TDH's), except Binary (14, u16-prefixed in TraceLogging) which becomes
 * COUNTEDBINARY with SCHEMA_FF_TL_BINARY, and Struct (24) which becomes
 * SCHEMA_IN_STRUCT; out-types are translated to TDH numbering
 * (tl_out_to_tdh); Ccount arrays are SCHEMA_ARITY_FIXED, Vcount arrays
 * SCHEMA_ARITY_TL_VCOUNT, custom fields SCHEMA_ARITY_CUSTOM (decoded as
 * binary, their schema bytes kept in the field).
 *
 * All functions are pure (no global state) and thread-safe; they read only
 * the len bytes given.
 */
#ifndef ETWHOST_TRACELOGGING_H
#define ETWHOST_TRACELOGGING_H

#include <stddef.h>
#include <stdint.h>

#include "schema.h"

/* TraceLogging in-types that differ in meaning from TDH's. */
#define TL_IN_BINARY 14u
#define TL_IN_STRUCT 24u

/*
 * Parse metadata blob (len bytes) into a new schema (mem-allocated, or in
 * arena when not NULL).  provider / provider_name (UTF-8, may be NULL) go
 * into the schema; the blob is copied into it as the cache key.  Returns 0,
 * ERR_FORMAT with one line in eb (naming the byte offset), or ERR_NOMEM.
 */
int tl_parse_meta(const uint8_t *blob, size_t len, const etwhost_guid *provider,
                  const char *provider_name, struct arena *arena, struct schema **out,
                  struct errbuf *eb);

/*
 * Provider name in a traits blob: *name points into blob (not
 * NUL-terminated), *name_len its length.  0 or ERR_FORMAT.
 */
int tl_traits_name(const uint8_t *blob, size_t len, const char **name, size_t *name_len);

/* TDH out-type for a TraceLogging out-type used with a TraceLogging in-type. */
unsigned tl_out_to_tdh(unsigned tl_out, unsigned tl_in);

#endif
