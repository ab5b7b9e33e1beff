/*
 * schema: the one description of an event payload every schema source
 * produces and the decode engine consumes.
 *
 * A schema is an ordered list of fields stored in one flat array.  The
 * top-level fields are fields[0 .. ntop); a STRUCT field names the range
 * [first, first + nmembers) of its direct members, which always lie after
 * the struct itself (the TDH TRACE_EVENT_INFO layout).  Each field carries:
 *   - an in-type in TDH numbering (TDH_IN_*: 1 UnicodeString .. 25
 *     CountedBinary, 300..310 WBEM/MOF types) or SCHEMA_IN_STRUCT;
 *   - an out-type in TDH numbering (TDH_OUT_*); TraceLogging out-types are
 *     translated when the TraceLogging source builds the schema;
 *   - an arity (scalar, fixed count, count taken from another field,
 *     TraceLogging variable count read from the payload, custom);
 *   - a length (none, fixed, taken from another field) for strings/binary;
 *   - an optional value map or bitmap (through a map slot owned by the
 *     schema cache, so maps that arrive after the schema are still found).
 * Event-level names (provider, event, task, opcode, level, keywords,
 * channel, message) are UTF-8 or NULL when unknown.
 *
 * Schemas are built with a struct schema_builder and are immutable once
 * built: one allocation holds the struct, the field array and every string,
 * so a schema is released with schema_free() (or with its arena).
 *
 * Threading: a built schema is read-only and may be shared by any number of
 * threads.  A builder is used by one thread.
 */
#ifndef ETWHOST_SCHEMA_H
#define ETWHOST_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "etwhost/plugin.h"
#include "../core/arena.h"
#include "../core/err.h"

/* ---- In-types (TDH_IN_TYPE numbering) ---------------------------------- */

#define TDH_IN_NULL 0u
#define TDH_IN_UNICODESTRING 1u
#define TDH_IN_ANSISTRING 2u
#define TDH_IN_INT8 3u
#define TDH_IN_UINT8 4u
#define TDH_IN_INT16 5u
#define TDH_IN_UINT16 6u
#define TDH_IN_INT32 7u
#define TDH_IN_UINT32 8u
#define TDH_IN_INT64 9u
#define TDH_IN_UINT64 10u
#define TDH_IN_FLOAT 11u
#define TDH_IN_DOUBLE 12u
#define TDH_IN_BOOLEAN 13u /* 4 bytes */
#define TDH_IN_BINARY 14u  /* length from the schema (fixed or another field) */
#define TDH_IN_GUID 15u
#define TDH_IN_POINTER 16u /* 4 or 8 bytes by the record's pointer size */
#define TDH_IN_FILETIME 17u
#define TDH_IN_SYSTEMTIME 18u
#define TDH_IN_SID 19u /* 8 + 4 * SubAuthorityCount */
#define TDH_IN_HEXINT32 20u
#define TDH_IN_HEXINT64 21u
#define TDH_IN_COUNTEDSTRING 22u     /* u16 byte count + UTF-16LE */
#define TDH_IN_COUNTEDANSISTRING 23u /* u16 byte count + bytes */
#define TDH_IN_RESERVED24 24u        /* TraceLogging struct marker, never in a schema */
#define TDH_IN_COUNTEDBINARY 25u     /* u16 byte count + bytes */
#define TDH_IN_WBEM_COUNTEDSTRING 300u
#define TDH_IN_WBEM_COUNTEDANSISTRING 301u
#define TDH_IN_WBEM_REVERSEDCOUNTEDSTRING 302u     /* u16 big-endian byte count */
#define TDH_IN_WBEM_REVERSEDCOUNTEDANSISTRING 303u /* u16 big-endian byte count */
#define TDH_IN_WBEM_NONNULLTERMINATEDSTRING 304u   /* UTF-16 up to the payload end */
#define TDH_IN_WBEM_NONNULLTERMINATEDANSISTRING 305u
#define TDH_IN_WBEM_UNICODECHAR 306u
#define TDH_IN_WBEM_ANSICHAR 307u
#define TDH_IN_WBEM_SIZET 308u   /* pointer-sized */
#define TDH_IN_WBEM_HEXDUMP 309u /* u32 byte count + bytes */
#define TDH_IN_WBEM_SID 310u     /* TOKEN_USER (2 pointers) + SID, or 4 zero bytes */
/* A struct: no bytes of its own; its members follow (first/nmembers). */
#define SCHEMA_IN_STRUCT 0xFFFFu

/* ---- Out-types (TDH_OUT_TYPE numbering) -------------------------------- */

#define TDH_OUT_NULL 0u
#define TDH_OUT_STRING 1u
#define TDH_OUT_DATETIME 2u
#define TDH_OUT_BYTE 3u
#define TDH_OUT_UNSIGNEDBYTE 4u
#define TDH_OUT_SHORT 5u
#define TDH_OUT_UNSIGNEDSHORT 6u
#define TDH_OUT_INT 7u
#define TDH_OUT_UNSIGNEDINT 8u
#define TDH_OUT_LONG 9u
#define TDH_OUT_UNSIGNEDLONG 10u
#define TDH_OUT_FLOAT 11u
#define TDH_OUT_DOUBLE 12u
#define TDH_OUT_BOOLEAN 13u
#define TDH_OUT_GUID 14u
#define TDH_OUT_HEXBINARY 15u
#define TDH_OUT_HEXINT8 16u
#define TDH_OUT_HEXINT16 17u
#define TDH_OUT_HEXINT32 18u
#define TDH_OUT_HEXINT64 19u
#define TDH_OUT_PID 20u
#define TDH_OUT_TID 21u
#define TDH_OUT_PORT 22u /* u16 in network byte order */
#define TDH_OUT_IPV4 23u
#define TDH_OUT_IPV6 24u
#define TDH_OUT_SOCKETADDRESS 25u
#define TDH_OUT_CIMDATETIME 26u
#define TDH_OUT_ETWTIME 27u
#define TDH_OUT_XML 28u
#define TDH_OUT_ERRORCODE 29u
#define TDH_OUT_WIN32ERROR 30u
#define TDH_OUT_NTSTATUS 31u
#define TDH_OUT_HRESULT 32u
#define TDH_OUT_CULTURE_INSENSITIVE_DATETIME 33u
#define TDH_OUT_JSON 34u
#define TDH_OUT_UTF8 35u
#define TDH_OUT_PKCS7_WITH_TYPE_INFO 36u
#define TDH_OUT_CODE_POINTER 37u
#define TDH_OUT_DATETIME_UTC 38u
#define TDH_OUT_REDUCEDSTRING 300u
#define TDH_OUT_NOPRINT 301u

/* ---- Field shape --------------------------------------------------------- */

/* Arity: how many values a field has (schema_field.arity). */
#define SCHEMA_ARITY_SCALAR 0u   /* one value */
#define SCHEMA_ARITY_FIXED 1u    /* array of 'count' values (may be 0 or 1) */
#define SCHEMA_ARITY_FIELD 2u    /* array; count is the value of field 'count' */
#define SCHEMA_ARITY_TL_VCOUNT 3u /* array; u16 element count in the payload first */
#define SCHEMA_ARITY_CUSTOM 4u   /* TraceLogging custom: u16 byte count + bytes */
#define SCHEMA_ARITY_REST 5u     /* array of fixed-size values up to the payload end (MOF stacks) */

/* Length of strings / binary (schema_field.len_kind). */
#define SCHEMA_LEN_NONE 0u  /* by in-type (NUL-terminated, counted, fixed size) */
#define SCHEMA_LEN_FIXED 1u /* 'length' units (WCHARs for UTF-16, else bytes) */
#define SCHEMA_LEN_FIELD 2u /* the value of field 'length' */

/* Where a schema came from (schema.source). */
#define SCHEMA_SRC_NONE 0u
#define SCHEMA_SRC_TRACELOGGING 1u
#define SCHEMA_SRC_TDH_EMBEDDED 2u /* TRACE_EVENT_INFO records inside the trace */
#define SCHEMA_SRC_MANIFEST 3u     /* instrumentation manifest (XML / WEVT_TEMPLATE) */
#define SCHEMA_SRC_MOF 4u          /* kernel / classic MOF classes */
#define SCHEMA_SRC_WPP 5u          /* TMF format descriptions */
#define SCHEMA_SRC_TDH_LIVE 6u     /* TdhGetEventInformation on Windows */
#define SCHEMA_SRC_COUNT 7u

/* Map kinds (schema_map.kind), normalised by the sources. */
#define SCHEMA_MAP_VALUE 1u  /* exact value -> label */
#define SCHEMA_MAP_BITMAP 2u /* entries are masks; labels of set masks joined by " | " */

/* One value map or bitmap.  Entries of value maps are sorted by value. */
struct schema_map_entry {
    uint64_t value; /* value, or mask for bitmaps */
    const char *label; /* UTF-8, NUL-terminated */
};

struct schema_map {
    const char *name; /* UTF-8 */
    uint32_t kind;    /* SCHEMA_MAP_* */
    uint32_t count;
    const struct schema_map_entry *entries;
};

/*
 * A named map reference, owned by the schema cache (one per provider and
 * map name).  'map' is NULL until a source registers the map; a schema
 * points to the slot, so a map that arrives after the schema that uses it
 * is still applied (TDH metadata records come in either order).
 */
struct schema_map_slot {
    const char *name;
    const struct schema_map *map;
};

/* Field flags (schema_field.flags). */
#define SCHEMA_FF_HAS_TAGS 0x1u
#define SCHEMA_FF_TL_BINARY 0x2u /* TraceLogging Binary (14), stored as COUNTEDBINARY */

struct schema_field {
    const char *name; /* UTF-8, NUL-terminated, owned by the schema */
    uint32_t name_len;
    uint16_t in_type;  /* TDH_IN_* or SCHEMA_IN_STRUCT */
    uint16_t out_type; /* TDH_OUT_* */
    uint8_t arity;     /* SCHEMA_ARITY_* */
    uint8_t len_kind;  /* SCHEMA_LEN_* */
    uint16_t flags;    /* SCHEMA_FF_* */
    uint32_t count;    /* FIXED: element count; FIELD: index of the count field */
    uint32_t length;   /* LEN_FIXED: length; LEN_FIELD: index of the length field */
    uint32_t first;    /* STRUCT: index of the first member */
    uint32_t nmembers; /* STRUCT: number of direct members */
    uint32_t tags;     /* 28-bit field tags (TraceLogging, TDH) */
    const struct schema_map_slot *map; /* NULL if none */
    const uint8_t *custom; /* ARITY_CUSTOM: schema bytes from the metadata */
    uint32_t custom_len;

    /* Derived when the schema is built (decode fast path); sources leave 0. */
    uint8_t pt;     /* ETWHOST_PT_* of one value */
    uint8_t fmt;    /* ETWHOST_FMT_* */
    uint8_t fsize;  /* bytes of one value if fixed, SCHEMA_FSIZE_PTR, or 0 */
    uint8_t dflags; /* SCHEMA_DF_* */
};

#define SCHEMA_FSIZE_PTR 0xFFu /* pointer-sized: 4 or 8 by the record */
#define SCHEMA_DF_INT 0x2u     /* integer value (usable as count/length, mappable) */
#define SCHEMA_DF_SIGNED 0x4u  /* sign-extend the value */
/* Values of a fixed size read as little-endian integers, no value map: the decode fast path. */
#define SCHEMA_DF_FAST 0x8u
/* Another field takes its count or length from this one (its value is kept while decoding). */
#define SCHEMA_DF_REF 0x10u
/* The name is printable ASCII without '"' or '\\': JSON shows it as it is. */
#define SCHEMA_DF_PLAIN_NAME 0x20u

/* Schema flags (schema.flags). */
#define SCHEMA_F_NEGATIVE 0x1u /* internal: "no schema" marker in the cache */

struct schema {
    uint32_t alloc_size; /* bytes of the single allocation */
    uint16_t source;     /* SCHEMA_SRC_* */
    uint16_t flags;      /* SCHEMA_F_* */
    etwhost_guid provider;   /* provider GUID (class GUID for MOF) */
    etwhost_guid event_guid; /* TDH EventGuid / MOF class GUID; zero if none */
    uint16_t id;
    uint8_t version, channel, level, opcode;
    uint16_t task;
    uint64_t keywords;
    uint32_t tags; /* 28-bit event tags */
    /* Names: UTF-8, NUL-terminated, NULL when unknown. */
    const char *provider_name;
    const char *event_name;
    const char *task_name;
    const char *opcode_name;
    const char *level_name;
    const char *keywords_name;
    const char *channel_name;
    const char *message; /* event message template, e.g. "PktGroupId %1, ..." */
    /* Fields. */
    uint32_t nfields;
    uint32_t ntop; /* top-level fields are fields[0 .. ntop) */
    const struct schema_field *fields;
    /* TraceLogging: copy of the metadata blob (ext item 11), the cache key. */
    const uint8_t *tl_meta;
    uint32_t tl_meta_len;
    /*
     * Non-NULL when the source could not make sense of its description: the
     * decoder then reports this text and decodes nothing.
     */
    const char *error;
    /*
     * Derived when the schema is built: the lengths of provider_name,
     * event_name, task_name and opcode_name (0 when NULL), and bit k set when
     * name k is printable ASCII without '"' or '\\' (JSON shows it as it is).
     */
    uint32_t hname_len[4];
    uint32_t hname_plain;
    /* Derived: SCHEMA_SDF_* (never stored; flags above are the schema's own). */
    uint32_t sdflags;
};

/* The members of every struct, and the top-level fields, have distinct names. */
#define SCHEMA_SDF_UNIQUE_NAMES 0x1u

/* Release a schema built with mem (not arena).  NULL is fine. */
void schema_free(struct schema *s);

/* Name of a SCHEMA_SRC_* value ("tracelogging", "tdh-embedded", ...); static. */
const char *schema_source_name(unsigned source);

/* ---- Builder --------------------------------------------------------------- */

/*
 * Accumulates a schema.  Strings passed in are copied.  Fields are appended
 * in their final order; struct members must come after their struct and be
 * contiguous (schema_builder_finish checks every index).
 *
 * Errors: every add/set returns 0 or ERR_NOMEM / ERR_RANGE; after a failure
 * the builder stays usable only for schema_builder_free().
 */
struct schema_builder {
    struct schema hdr;      /* event-level numbers; names are kept in name_off */
    size_t name_off[9];     /* pool offset + 1 of each SCHEMA_NAME_*, 0 if unset */
    size_t tl_meta_off;     /* pool offset + 1 of the TraceLogging blob, 0 if none */
    struct schema_field *fields; /* name/custom pointers stay NULL while building */
    size_t *offs;           /* per field: pool offset of its name, of its custom bytes */
    size_t nfields, fields_cap;
    char *pool;             /* strings (NUL-terminated) and custom bytes */
    size_t pool_len, pool_cap;
    int failed;             /* an append failed: only schema_builder_free() is valid */
};

/* Start a schema of the given SCHEMA_SRC_*. */
void schema_builder_init(struct schema_builder *b, unsigned source);
/* Release the builder's memory (the built schema is independent). */
void schema_builder_free(struct schema_builder *b);

/* Which event-level name schema_builder_set_name() sets. */
#define SCHEMA_NAME_PROVIDER 0
#define SCHEMA_NAME_EVENT 1
#define SCHEMA_NAME_TASK 2
#define SCHEMA_NAME_OPCODE 3
#define SCHEMA_NAME_LEVEL 4
#define SCHEMA_NAME_KEYWORDS 5
#define SCHEMA_NAME_CHANNEL 6
#define SCHEMA_NAME_MESSAGE 7
#define SCHEMA_NAME_ERROR 8

/* Set an event-level name from UTF-8 bytes (len bytes, no NUL needed). */
int schema_builder_set_name(struct schema_builder *b, int which, const char *s, size_t len);

/*
 * Append a field.  The caller fills 'f' (name/name_len point to UTF-8 that
 * is copied; custom/custom_len likewise; derived members are ignored).
 * Returns the new field's index (>= 0) or a negative ERR_*.
 */
int schema_builder_add(struct schema_builder *b, const struct schema_field *f);

/* Keep a copy of the TraceLogging metadata blob in the schema (the cache key). */
int schema_builder_set_tl_meta(struct schema_builder *b, const uint8_t *blob, size_t len);

/* Access a field added earlier (to patch first/nmembers); NULL if out of range. */
struct schema_field *schema_builder_field(struct schema_builder *b, uint32_t index);

/*
 * Validate and produce the immutable schema.  ntop is the number of
 * top-level fields (the first ntop fields).  With arena == NULL the schema
 * is one mem_alloc block (release with schema_free); otherwise it lives in
 * the arena.  On a structural error (bad struct range, count/length index
 * that does not name an earlier integer field, unknown in-type) returns
 * ERR_FORMAT with one line in eb.  The builder may be freed afterwards.
 */
int schema_builder_finish(struct schema_builder *b, uint32_t ntop, struct arena *arena,
                          struct schema **out, struct errbuf *eb);

/* ---- Maps ------------------------------------------------------------------ */

/*
 * Build an immutable map (one allocation, release with mem_free).  Labels
 * are copied and trailing spaces trimmed (manifest labels often end in one).
 * Value maps are sorted by value.  Returns 0 or ERR_NOMEM.
 */
int schema_map_new(const char *name, size_t name_len, unsigned kind,
                   const uint64_t *values, const char *const *labels, const size_t *label_lens,
                   uint32_t count, struct schema_map **out);

/* Label of 'value' in a value map, or NULL.  No allocation. */
const char *schema_map_lookup(const struct schema_map *m, uint64_t value);

/*
 * Label text of 'value' for any map kind, written into out (always
 * NUL-terminated); returns the length, 0 if nothing matched.  Bitmap labels
 * are joined with " | ".
 */
size_t schema_map_format(const struct schema_map *m, uint64_t value, char *out, size_t cap);

/* ---- Helpers --------------------------------------------------------------- */

/* Size in bytes of one value of a fixed-size in-type (pointer types: ptr_size); 0 if variable. */
unsigned schema_in_type_size(unsigned in_type, unsigned ptr_size);

/* Name of a TDH in-type ("UInt32") / out-type ("HexInt32"); "?" if unknown.  Static. */
const char *schema_in_type_name(unsigned in_type);
const char *schema_out_type_name(unsigned out_type);

/*
 * Convert UTF-16LE (n code units read from unaligned bytes) to UTF-8 into
 * out (cap bytes, NUL-terminated).  Unpaired surrogates become U+FFFD.
 * Returns the UTF-8 length, or the length needed if it exceeds cap - 1.
 */
size_t schema_utf16_to_utf8(const uint8_t *u16, size_t n, char *out, size_t cap);

/*
 * Write a human-readable description of s (one line per field) into out
 * (NUL-terminated, truncated to cap).  For tests and the docs.
 */
void schema_describe(const struct schema *s, char *out, size_t cap);

#endif
