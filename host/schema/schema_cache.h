/*
 * schema_cache: the one place schemas, value maps and provider names live
 * while a pipeline runs.
 *
 * Keys (struct schema_key):
 *   - TraceLogging: a hash of the event metadata blob (ext item 11) plus the
 *     provider GUID; a hit is confirmed by comparing the whole blob, so two
 *     events that share provider/id/version/opcode but carry different
 *     metadata always get different schemas;
 *   - manifest / TDH (SCHEMA_KEY_MANIFEST): (provider GUID, id, version);
 *   - classic / MOF (SCHEMA_KEY_CLASSIC): (class GUID, version, opcode,
 *     pointer size), pointer size 0 meaning "either";
 *   - WPP (SCHEMA_KEY_WPP): (message GUID, message number).
 * A key may also be cached as negative ("no source knows it") so the
 * decoder does not ask every source again for each event.
 *
 * Priority: when two sources register the same key, the more specific one
 * wins (TDH metadata embedded in the trace > manifest = live TDH > MOF =
 * WPP); equal priority keeps the first.  Replaced schemas are retired, not
 * freed, because events already decoded may still point at their names.
 *
 * Memory: every schema, map and name is kept until schema_cache_free()
 * (traces carry a few hundred schemas).  A byte cap (default 256 MiB)
 * guards against hostile streams: beyond it new TraceLogging schemas are
 * built in the caller's arena for the one event (counted as 'transient')
 * and other inserts are refused (counted as 'refused').
 *
 * Threading: a cache is used by one thread at a time (the pipeline thread
 * that decodes).  Lookups never allocate on a hit and never modify shared
 * state except statistics counters; no locking is done.
 */
#ifndef ETWHOST_SCHEMA_CACHE_H
#define ETWHOST_SCHEMA_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "schema.h"
#include "../core/arena.h"
#include "../core/err.h"
#include "../record/record.h"

/* Key kinds (schema_key.kind). */
#define SCHEMA_KEY_MANIFEST 1u /* guid = provider, id, version */
#define SCHEMA_KEY_CLASSIC 2u  /* guid = class GUID, version, opcode, ptr_size (0 = any) */
#define SCHEMA_KEY_WPP 3u      /* guid = message GUID, id = message number */
#define SCHEMA_KEY_TL 4u       /* internal: TraceLogging metadata */

struct schema_key {
    uint8_t kind;     /* SCHEMA_KEY_* */
    uint8_t version;
    uint8_t opcode;   /* classic only */
    uint8_t ptr_size; /* classic only: 4, 8 or 0 */
    uint16_t id;      /* manifest event id / WPP message number */
    uint16_t pad;     /* zero */
    etwhost_guid guid;
};

/*
 * Fill *key with the manifest key (EVENT_HEADER records) or the classic key
 * (system, perfinfo, classic and instance headers) of rec.  WPP records get
 * the WPP key.  Never fails.
 */
void schema_key_for_record(const struct record *rec, struct schema_key *key);

/* Format a key for messages: "provider {guid} id 5 version 1" etc. */
void schema_key_describe(const struct schema_key *key, const char *provider_name, char *out,
                         size_t cap);

struct schema_cache_stats {
    uint64_t lookups;     /* schema_cache_find + TraceLogging look-ups */
    uint64_t hits;
    uint64_t misses;
    uint64_t tl_parsed;   /* TraceLogging metadata blobs parsed */
    uint64_t tl_errors;   /* ... of which were malformed */
    uint64_t transient;   /* schemas built in an arena because the cap was reached */
    uint64_t inserted;    /* schemas registered */
    uint64_t replaced;    /* ... replacing a lower-priority one */
    uint64_t duplicates;  /* inserts refused: key already known at >= priority */
    uint64_t refused;     /* inserts refused: byte cap reached */
    uint64_t negative;    /* negative entries recorded */
    uint64_t ingested;    /* TDH metadata records turned into schemas or maps */
    uint64_t ingest_errors; /* ... that were malformed or unsupported */
    uint64_t maps;        /* maps registered */
    uint64_t schemas;     /* live schemas owned by the cache */
    uint64_t bytes;       /* bytes of schemas, maps and names owned by the cache */
};

struct schema_cache;

/*
 * Create an empty cache.  max_bytes caps the memory of schemas and maps (0 =
 * 256 MiB).  Returns NULL on out of memory.  Free with schema_cache_free.
 */
struct schema_cache *schema_cache_new(size_t max_bytes);

/* Release every schema, map, slot and name (NULL is fine). */
void schema_cache_free(struct schema_cache *c);

/*
 * Find the schema of key.  Returns NULL if the key is unknown, the schema
 * (borrowed, valid until schema_cache_free, or for borrowed entries until
 * schema_cache_forget_borrowed) otherwise.  A negative entry returns a
 * static schema whose flags have SCHEMA_F_NEGATIVE.  No allocation.
 */
const struct schema *schema_cache_find(struct schema_cache *c, const struct schema_key *key);

/*
 * Register schema s under key.  The cache takes ownership of s (built
 * without arena) in every case: on refusal it is freed at once.
 * Returns 0 (stored), ERR_EXISTS (a schema of >= priority is already
 * there), ERR_RANGE (byte cap reached) or ERR_NOMEM.
 */
int schema_cache_insert(struct schema_cache *c, const struct schema_key *key, struct schema *s);

/*
 * Register a schema owned by someone else (a schema source); it must stay
 * valid until schema_cache_forget_borrowed() or schema_cache_free().
 * Same return values as schema_cache_insert (nothing is freed).
 */
int schema_cache_insert_borrowed(struct schema_cache *c, const struct schema_key *key,
                                 const struct schema *s);

/* Record that no source knows key (0 or ERR_NOMEM).  A later insert replaces it. */
int schema_cache_insert_negative(struct schema_cache *c, const struct schema_key *key);

/* Drop every borrowed entry (call before the schema sources are destroyed). */
void schema_cache_forget_borrowed(struct schema_cache *c);

/*
 * The schema of a TraceLogging record (rec->tl_meta set): found by blob
 * hash + provider GUID + byte compare, or parsed and inserted on a miss.
 * Metadata that does not parse yields a schema whose 'error' says why
 * (cached too, so a bad blob is parsed once).  When the byte cap is reached
 * the schema is built in 'arena' instead (may be NULL: then nothing is
 * returned).  Returns NULL on out of memory or if rec has no metadata.
 */
const struct schema *schema_cache_tracelogging(struct schema_cache *c, const struct record *rec,
                                               struct arena *arena);

/*
 * Feed one record of the KernelTraceControl "MetaData" class
 * (bbccf6c1-6cd1-48c4-80ff-839482e37671): opcode 32 carries a
 * TRACE_EVENT_INFO, opcode 33 a provider GUID + EVENT_MAP_INFO.  The
 * resulting schema or map is registered (embedded TDH metadata has the
 * highest priority).  Returns 0, ERR_NOTFOUND if rec is not such a record,
 * ERR_UNSUPPORTED for WPP / TraceLogging infos and pattern maps (skipped,
 * counted), ERR_FORMAT with one line in eb for a malformed blob, or
 * ERR_NOMEM.
 */
int schema_cache_ingest_record(struct schema_cache *c, const struct record *rec,
                               struct errbuf *eb);

/* 1 if rec is a KernelTraceControl MetaData record (class GUID above). */
int schema_is_tdh_metadata_record(const struct record *rec);

/*
 * The map slot of (provider, name), created empty if new.  Slots live until
 * schema_cache_free.  NULL on out of memory.
 */
struct schema_map_slot *schema_cache_map_slot(struct schema_cache *c,
                                              const etwhost_guid *provider, const char *name,
                                              size_t name_len);

/*
 * Register map m (from mem, ownership taken in every case) for provider
 * under m->name.  The first map registered for a slot wins.  0, ERR_EXISTS
 * (m freed), ERR_RANGE (cap, m freed) or ERR_NOMEM (m freed).
 */
int schema_cache_add_map(struct schema_cache *c, const etwhost_guid *provider,
                         struct schema_map *m);

/*
 * Provider names.  set: copies name (first name registered wins; 0 or
 * ERR_NOMEM).  get: UTF-8 name or NULL, no allocation.
 */
int schema_cache_set_provider_name(struct schema_cache *c, const etwhost_guid *provider,
                                   const char *name, size_t len);
const char *schema_cache_provider_name(const struct schema_cache *c,
                                       const etwhost_guid *provider);

/*
 * The name of rec's provider: the registry entry, else (TraceLogging) the
 * name in the provider traits blob (ext item 12), which is then registered.
 * NULL if unknown.  Cheap: one hash probe on the usual path.
 */
const char *schema_cache_record_provider_name(struct schema_cache *c, const struct record *rec);

/* Copy the counters. */
void schema_cache_get_stats(const struct schema_cache *c, struct schema_cache_stats *out);

#endif
