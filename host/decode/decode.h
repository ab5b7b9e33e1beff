/*
 * decode: the one decode engine.  (record, schema) -> typed properties.
 *
 * decode_record() finds the schema of a record and walks its fields over
 * the payload, appending etwhost_prop entries to the event:
 *   1. a TraceLogging record (ext item 11 present) uses its own metadata
 *      (schema_cache_tracelogging);
 *   2. otherwise the schema cache is asked by key (manifest key for
 *      EVENT_HEADER records, classic key for MOF/kernel records, WPP key);
 *   3. otherwise each registered schema source is asked in order; a found
 *      schema is remembered in the cache (borrowed), a miss everywhere is
 *      remembered as negative so later events of that key skip the sources.
 *
 * Result in ev->hdr.decode_status:
 *   FULL     every field decoded.  TraceLogging events must consume the
 *            payload exactly (trailing bytes make them PARTIAL); other
 *            sources tolerate trailing bytes (providers append fields
 *            without bumping the version) and count them in
 *            decoder_stats.trailing;
 *   PARTIAL  a schema was found but a field could not be decoded: the
 *            properties before it are kept and ev->decode_error says which
 *            field, at which payload offset, and why;
 *   NONE     no schema: "no schema for provider X id N version V"; the
 *            event keeps its header and raw payload.
 * Events are never dropped.
 *
 * Strings are zero-copy: STRING properties point into the payload with
 * PROP_ENC_UTF16 / PROP_ENC_ANSI in prop.reserved (NUL terminator not
 * included; a missing final NUL is tolerated at the payload end).  Names
 * point into the schema.  Only GUID values (copied aligned), bitmap label
 * texts and error messages go to the event's arena.
 *
 * Cost: no heap allocation per event once warm (the props array of the
 * event and the decoder's scratch grow to the largest event seen).
 *
 * Threading: a decoder (and the cache it uses) belongs to one thread.
 */
#ifndef ETWHOST_DECODE_H
#define ETWHOST_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "../event/event.h"
#include "../record/record.h"
#include "../schema/schema.h"
#include "../schema/schema_cache.h"

/* More properties than this in one event stop decoding (PARTIAL). */
#define DECODE_MAX_PROPS (1u << 18)
/* At most this many schema sources per decoder. */
#define DECODE_MAX_SOURCES 8

/*
 * A pluggable schema source (manifests, MOF tables, live TDH, WPP).
 * lookup() returns 0 and *out (a schema the source owns and keeps valid
 * until destroy()), ERR_NOTFOUND, or another negative ERR_* (counted, the
 * next source is tried).  It is called only on cache misses.  destroy()
 * may be NULL.
 */
struct schema_source {
    const char *name;
    void *ctx;
    int (*lookup)(void *ctx, const struct record *rec, const struct schema **out);
    void (*destroy)(void *ctx);
};

struct decoder_stats {
    uint64_t records;  /* decode_record calls */
    uint64_t full;
    uint64_t partial;
    uint64_t none;
    uint64_t trailing; /* FULL events (not TraceLogging) with bytes after the last field */
    uint64_t source_errors; /* lookups that failed with something other than NOTFOUND */
    uint64_t nomem;
    uint64_t lookups; /* decode_lookup calls */
};

#define DECODE_NOSCH_SLOTS 16

struct decoder {
    struct schema_cache *cache; /* not owned */
    struct schema_source sources[DECODE_MAX_SOURCES];
    uint32_t nsources;
    /* Scratch: last integer value of each field (count/length references). */
    uint64_t *vals;
    uint32_t *vals_epoch;
    uint32_t vals_cap;
    uint32_t epoch;
    struct decoder_stats st;
    /*
     * "no schema for ..." texts of recent events without a schema, with the
     * key and provider name each describes, by a hash of the key: events of
     * providers nobody has a manifest for (often most of a trace) reuse them.
     */
    struct decoder_nosch {
        struct schema_key key;
        uint32_t len;      /* 0: empty */
        char name[204];    /* provider name it was built with ("" for none) */
        char text[414];
    } nosch[DECODE_NOSCH_SLOTS];
};

/* Prepare a decoder using cache (borrowed; must outlive the decoder's use). */
void decoder_init(struct decoder *d, struct schema_cache *cache);

/*
 * Release the decoder: forgets the cache's borrowed entries, then destroys
 * every source.  The cache itself is not freed.
 */
void decoder_free(struct decoder *d);

/* Append a schema source (copied).  0, or ERR_RANGE when DECODE_MAX_SOURCES are set. */
int decoder_add_source(struct decoder *d, const struct schema_source *src);

/*
 * Decode rec into ev.  If ev does not already hold rec's header
 * (event_set_record), it is set here.  Sets decode_status, decode_error,
 * provider/event/task/opcode names and the properties.  Returns 0, or
 * ERR_NOMEM when memory ran out (the event is still valid: PARTIAL or NONE
 * with an error text).  Never reads outside rec->data[0 .. data_len).
 */
int decode_record(struct decoder *d, const struct record *rec, struct event *ev);

/*
 * Everything decode_record does except decoding the properties, for chains
 * whose every consumer reads records only (ETWHOST_FLAG_RECORDS_ONLY): the
 * header, the schema decode_record would use (ev->schema) and the names it
 * gives.  The event gets status NONE and the decode_error
 * DECODE_NOT_DECODED_TEXT.  Returns 1 when a schema that decodes was
 * found, 0 when not (no schema, or one that cannot decode, such as WPP
 * without TMF).  Counted in d->st.lookups, not in full/partial/none.
 */
int decode_lookup(struct decoder *d, const struct record *rec, struct event *ev);
#define DECODE_NOT_DECODED_TEXT "not decoded: every sink of the chain reads records only"

/*
 * Decode rec's payload with a given schema (no look-up).  Same contract as
 * decode_record; used by tests, fuzzers and sources that resolve schemas
 * themselves.
 */
int decode_with_schema(struct decoder *d, const struct record *rec, const struct schema *s,
                       struct event *ev);

/*
 * The schema decode_record would use for rec (NULL if none), without
 * decoding.  The schema is borrowed from the cache or a source.
 */
const struct schema *decoder_find_schema(struct decoder *d, const struct record *rec,
                                         struct arena *arena);

#endif
