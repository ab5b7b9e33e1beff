/*
 * schema_codec: the portable schema encoding (docs/archive-format.md,
 * "Schema encoding") that api->event_schema() hands to plugins and that
 * archives store, so an archived event decodes years later exactly as it
 * did when it was recorded, without the provider's manifest.
 *
 * The encoding holds every member of struct schema a decode depends on:
 * event-level numbers and names, the error text, every field (name, in/out
 * types, arity, length, struct ranges, tags, custom bytes) and, for fields
 * with a value map or bitmap, the map slot's name and the map content at
 * the time of encoding (kind, entries with labels).  Derived members are
 * not stored: the schema builder derives them again.
 *
 * The content id is a 64-bit hash of the encoding: equal bytes, equal id.
 *
 * Threading: schema_encode / schema_decode are pure.  The encoding cache
 * (schema_codec_cached) is thread-safe (one mutex).
 */
#ifndef ETWHOST_SCHEMA_CODEC_H
#define ETWHOST_SCHEMA_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "../core/arena.h"
#include "../core/buf.h"
#include "../core/err.h"
#include "schema.h"

#define SCHEMA_ENC_VERSION 1u

/* Append the encoding of s to out.  0, ERR_NOMEM or ERR_RANGE. */
int schema_encode(const struct schema *s, struct buf *out);

/* The content id of an encoding (a 64-bit hash of the bytes; never 0). */
uint64_t schema_content_id(const uint8_t *p, size_t len);

/*
 * Rebuild a schema from its encoding.  The schema, its map slots and maps
 * all live in arena (released with it).  ERR_FORMAT with one line in eb
 * for bytes that are not a valid encoding (never reads outside them),
 * ERR_NOMEM.
 */
int schema_decode(const uint8_t *p, size_t len, struct arena *arena, struct schema **out,
                  struct errbuf *eb);

/*
 * The encoding and id of s from a process-wide cache keyed by the schema's
 * address (schemas are immutable and live as long as their cache or
 * source).  A map that arrived in one of the schema's map slots since the
 * last encoding is noticed and the schema encoded again (new id).  The
 * bytes stay valid until schema_codec_cache_clear().  0 or ERR_NOMEM.
 */
int schema_codec_cached(const struct schema *s, const uint8_t **bytes, size_t *len,
                        uint64_t *id);

/* Release the cache (at exit, or between runs in tests). */
void schema_codec_cache_clear(void);

#endif
