/*
 * manifest_xml: instrumentation manifests as a schema source
 * (SCHEMA_SRC_MANIFEST).
 *
 * Two input forms are read:
 *   - instrumentation manifests (<instrumentationManifest> .man/.xml files,
 *     the input of mc.exe), including their <localization> string tables,
 *     and the XML that `wevtutil gp NAME /ge /gm /f:xml` prints (a bare
 *     <provider> element whose events carry numeric attributes and an
 *     inline <template>);
 *   - the default text output of `wevtutil gp NAME /ge /gm` ("name: ...",
 *     "events:" ... with the templates as XML fragments).
 * Files may be UTF-8 or UTF-16LE with a byte order mark.
 *
 * Every event definition becomes one schema keyed by (provider GUID, event
 * id, version).  Templates give the fields: in-types and out-types map to
 * TDH numbers, `length`/`count` are numbers or the name of an earlier field
 * (SCHEMA_LEN_FIELD / SCHEMA_ARITY_FIELD), <struct> elements become struct
 * fields.  Names follow TDH: task, opcode, level, channel names are their
 * localized messages ($(string.X) resolved), falling back to the name
 * attribute; the winmeta values (win:Informational = 4, win:Start = 1 ...)
 * are built in.  The event name is the event's `name` attribute when the
 * manifest has one, otherwise "Task/Opcode" (opcode omitted when it is
 * win:Info), the convention TraceEvent uses; without a task it is the
 * event's symbol, else "EventID(N)".
 *
 * Value maps and bitmaps are registered in the schema cache per provider
 * (schema_cache_add_map), and provider names with
 * schema_cache_set_provider_name, so events decoded by other sources find
 * them too.
 *
 * Look-up falls back to the highest known lower version of the same event
 * id when the exact version is missing (providers append fields when they
 * bump a version; the decoder tolerates the trailing bytes).  This is a
 * heuristic and is counted in manifest_stats.fallbacks.
 *
 * Threading: a set is built by one thread; once loading is done, look-ups
 * are read-only and may run on any one thread at a time (the decoder's).
 */
#ifndef ETWHOST_MANIFEST_XML_H
#define ETWHOST_MANIFEST_XML_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"
#include "../decode/decode.h"
#include "schema.h"
#include "schema_cache.h"

struct manifest_set;

struct manifest_stats {
    uint64_t files;      /* files loaded */
    uint64_t providers;  /* <provider> elements */
    uint64_t schemas;    /* event schemas built */
    uint64_t duplicates; /* (provider, id, version) defined twice: the first kept */
    uint64_t maps;       /* value maps and bitmaps registered */
    uint64_t lookups;    /* manifest_set_find calls */
    uint64_t fallbacks;  /* ... answered with a lower version */
};

/*
 * Create an empty set that registers maps and provider names in cache
 * (borrowed; it must outlive the set's use).  NULL on out of memory.
 */
struct manifest_set *manifest_set_new(struct schema_cache *cache);

/* Release the set and every schema it built (NULL is fine). */
void manifest_set_free(struct manifest_set *ms);

/*
 * Load one manifest file (any form above).  On error nothing of the file
 * is kept and eb holds one line "file:line: what" (ERR_FORMAT), or names
 * the file for ERR_NOTFOUND / ERR_IO / ERR_NOMEM.
 */
int manifest_set_load_file(struct manifest_set *ms, const char *path, struct errbuf *eb);

/* The same over bytes in memory; name is used in messages. */
int manifest_set_load_mem(struct manifest_set *ms, const char *name, const void *data,
                          size_t len, struct errbuf *eb);

/*
 * The schema of (provider, id, version), or the highest lower version of
 * the same id, or NULL.  Owned by the set.  No allocation.
 */
const struct schema *manifest_set_find(struct manifest_set *ms, const etwhost_guid *provider,
                                       uint16_t id, uint8_t version);

/*
 * The i-th schema of the set in no particular order (0 <= i < schemas
 * loaded), NULL past the end.  For tools, tests and fuzzing; O(table size).
 */
const struct schema *manifest_set_schema_at(const struct manifest_set *ms, size_t i);

/* Copy the counters. */
void manifest_set_get_stats(const struct manifest_set *ms, struct manifest_stats *out);

/*
 * Fill *src with a schema source over ms (EVENT_HEADER and synthetic records,
 * the records whose cache key is the manifest key).  The
 * source's destroy() frees ms, so after decoder_add_source succeeds the
 * decoder owns the set.
 */
void manifest_set_source(struct manifest_set *ms, struct schema_source *src);

/*
 * TDH in-type / out-type number of a manifest type name ("win:UInt32",
 * "xs:string", "win:HexInt32" ...); 0 if unknown (in-type 0 is never valid,
 * out-type names are always non-zero).  Exposed for tests.
 */
unsigned manifest_in_type(const char *name);
unsigned manifest_out_type(const char *name);

#endif
