/*
 * event: the decoded event plugins see, and its canonical JSON line.
 *
 * A struct event is built from a struct record: header fields first (record
 * stage), then decoded properties (event stage).  The plugin-visible handle
 * (etwhost_event *) is a pointer to a struct event; its hdr member comes
 * first so api->event_header() is a cast.
 *
 * Properties are etwhost_prop entries in pre-order (see plugin.h).  Inside
 * the host, a STRING property may still hold its recorded encoding (UTF-16LE
 * or ANSI) in data/size, marked in the 'reserved' member (PROP_ENC_*); the
 * JSON writer converts on output and the plugin accessors convert to UTF-8
 * on demand.  Property names and string data point into the record payload,
 * the schema cache or the event's arena; all stay valid until the event is
 * reset.
 *
 * Ownership: an event owns its props/fields arrays and JSON buffer (reused
 * across resets); arena memory belongs to the arena's owner (the batch).
 * Threading: an event is used by one thread at a time.
 */
#ifndef ETWHOST_EVENT_H
#define ETWHOST_EVENT_H

#include <stddef.h>
#include "../core/compiler.h"
#include <stdint.h>

#include "etwhost/plugin.h"
#include "../core/arena.h"
#include "../core/buf.h"
#include "../record/record.h"

/* Encoding of a STRING property's bytes (etwhost_prop.reserved). */
#define PROP_ENC_UTF8 0u
#define PROP_ENC_UTF16 1u /* UTF-16LE, size in bytes */
#define PROP_ENC_ANSI 2u  /* bytes, UTF-8 if valid else Windows-1252 */
#define PROP_ENC_UTF8_OK 3u /* UTF-8 checked by the host: valid, no NUL, NUL after data[size] */

/* Deepest nesting of STRUCT/ARRAY containers an event can hold. */
#define EVENT_MAX_DEPTH 32

struct schema;

/* A field attached by a filter (api->event_add_*). */
struct event_field {
    const char *name; /* arena */
    const char *str;  /* arena, NULL for integers */
    size_t str_len;
    int64_t i;
};

/* Capacities an event keeps across resets (larger ones are released). */
#define EVENT_JSON_KEEP (4u * 1024u)
#define EVENT_PROPS_KEEP 128u

/* The JSON writer's memory of the last whole second it wrote for an event slot. */
struct event_ts_cache {
    int64_t sec;   /* FILETIME / 10^7 + 1; 0 = nothing yet */
    char text[20]; /* "YYYY-MM-DDTHH:MM:SS." */
};

struct event {
    etwhost_event_header hdr; /* must stay first */
    const struct record *rec;
    etwhost_prop *props;
    uint32_t nprops, props_cap;
    const char *decode_error; /* NULL if none; arena or static */
    /* The schema the event was decoded with (decode_with_schema), NULL if none. */
    const struct schema *schema;
    struct event_field *fields;
    uint32_t nfields, fields_cap;
    struct arena *arena; /* not owned */
    struct buf json;     /* cache of the canonical JSON line */
    uint8_t json_valid;
    /*
     * Pooled buffers (event_set_home) of EVENT_PROPS_KEEP properties and
     * EVENT_JSON_KEEP bytes, or NULL: bigger events use heap copies, which
     * reset gives back.
     */
    etwhost_prop *props_home;
    char *json_home;
    struct event_ts_cache ts_cache; /* kept across resets */
    /*
     * Builder state: the open containers (indexes) and, per level, the last
     * child added (level 0 = top level), so siblings get linked in O(1).
     */
    uint32_t depth;
    uint32_t open[EVENT_MAX_DEPTH];
    uint32_t last[EVENT_MAX_DEPTH + 1];
};

/* Prepare an empty event using 'arena' for scratch memory. */
void event_init(struct event *ev, struct arena *arena);
/* Forget contents (keeps arrays and JSON buffer for reuse). */
void event_reset(struct event *ev);
/* Release the arrays and buffer (not the pooled ones of event_set_home). */
void event_free(struct event *ev);
/*
 * Make props (EVENT_PROPS_KEEP entries) and json (EVENT_JSON_KEEP bytes) the
 * event's own buffers, reused across resets instead of heap arrays; both
 * belong to the caller and must outlive the event.  For pools of event
 * slots allocated in one block.  Call on an empty event.
 */
void event_set_home(struct event *ev, etwhost_prop *props, char *json);

/*
 * Fill header fields from a record.  provider_name may be NULL ("").
 * Sets decode_status to ETWHOST_DECODE_PENDING.
 */
void event_set_record(struct event *ev, const struct record *rec, const char *provider_name);

/*
 * Append a property; returns its index or ETWHOST_NONE on out of memory
 * (an error is then recorded with event_set_error).  The caller fills the
 * returned entry (value, format, data, map_text; reserved = PROP_ENC_* for
 * STRING); name, type and the parent/next/count links are set here: the
 * new entry becomes the last child of the innermost open container (or a
 * top-level property).  name is borrowed (must outlive the event use).
 * The returned pointer &ev->props[i] stays valid until the next add.
 */
static inline uint32_t event_prop_add(struct event *ev, const char *name, uint32_t name_len,
                                      uint16_t type);
/*
 * The same with host flags (PROP_F_*, kept in 'reserved2', which plugins see
 * as zero).
 */
static inline uint32_t event_prop_add_f(struct event *ev, const char *name, uint32_t name_len,
                                        uint16_t type, uint32_t flags);
/*
 * Start a STRUCT/ARRAY container; later adds become its children until
 * event_prop_close(container).  Beyond EVENT_MAX_DEPTH open containers it
 * records an error and returns ETWHOST_NONE without adding anything (later
 * adds go to the innermost container that is open).
 */
uint32_t event_prop_open(struct event *ev, const char *name, uint32_t name_len, uint16_t type);
/*
 * Close 'container' (and any container opened inside it and left open).
 * A container that is not open (or ETWHOST_NONE) is ignored.
 */
void event_prop_close(struct event *ev, uint32_t container);

/*
 * Record a decode error (formatted into the arena; the first error wins).
 * On the first error decode_status becomes PARTIAL if some properties were
 * decoded, NONE otherwise.
 */
void event_set_error(struct event *ev, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    ETWHOST_PRINTF(2, 3)
#endif
    ;

/* The same with a finished message (copied; cut like event_set_error's). */
void event_set_error_str(struct event *ev, const char *msg);
/* event_set_error_str for the len bytes at msg (no NUL needed; at most 511 are kept). */
void event_set_error_mem(struct event *ev, const char *msg, size_t len);
/* The same for a message with static storage (a string literal): kept, not copied. */
void event_set_error_static(struct event *ev, const char *msg);

/*
 * Mark decoding as finished: decode_status becomes FULL unless an error was
 * recorded.  Open containers are closed.
 */
void event_finish_decode(struct event *ev);

/* Host flags of a property (etwhost_prop.reserved2; zero in the copies plugins get). */
#define PROP_F_NAME_PLAIN 1u /* the name is printable ASCII without '"' or '\\' */

/*
 * Make room for one more property (the slow path of event_prop_add).  0, or
 * ERR_NOMEM with an error recorded on the event.
 */
int event_props_grow(struct event *ev);

static inline uint32_t event_prop_add_f(struct event *ev, const char *name, uint32_t name_len,
                                        uint16_t type, uint32_t flags)
{
    if (ev->nprops >= ev->props_cap && event_props_grow(ev) != 0)
        return ETWHOST_NONE;
    uint32_t i = ev->nprops++;
    uint32_t level = ev->depth;
    uint32_t parent = level > 0 ? ev->open[level - 1] : ETWHOST_NONE;
    etwhost_prop *p = &ev->props[i];
    p->struct_size = (uint32_t)sizeof *p;
    p->type = type;
    p->format = 0;
    p->num.u = 0;
    p->name_len = name ? name_len : 0;
    p->parent = parent;
    p->next = ETWHOST_NONE;
    p->count = 0;
    p->size = 0;
    p->reserved = 0;
    p->reserved2 = flags;
    p->name = name ? name : "";
    p->data = NULL;
    p->map_text = NULL;
    if (level > 0)
        ev->props[parent].count++;
    if (ev->last[level] != ETWHOST_NONE)
        ev->props[ev->last[level]].next = i;
    ev->last[level] = i;
    ev->json_valid = 0;
    return i;
}

static inline uint32_t event_prop_add(struct event *ev, const char *name, uint32_t name_len,
                                      uint16_t type)
{
    return event_prop_add_f(ev, name, name_len, type, 0);
}

/* Encoding (PROP_ENC_*) of a STRING property. */
static inline uint32_t event_prop_enc(const etwhost_prop *p) { return p->reserved; }

/* 1 for the fixed-width integer types I8..U64. */
static inline int event_type_is_int(uint16_t t)
{
    return t >= ETWHOST_PT_I8 && t <= ETWHOST_PT_U64;
}
/* 1 for I8, I16, I32, I64. */
static inline int event_type_is_signed(uint16_t t)
{
    return t == ETWHOST_PT_I8 || t == ETWHOST_PT_I16 || t == ETWHOST_PT_I32 ||
           t == ETWHOST_PT_I64;
}
/* The bits of an integer property reduced to its declared width (zero-extended). */
static inline uint64_t event_prop_bits(const etwhost_prop *p)
{
    switch (p->type) {
    case ETWHOST_PT_I8:
    case ETWHOST_PT_U8: return p->num.u & 0xFFu;
    case ETWHOST_PT_I16:
    case ETWHOST_PT_U16: return p->num.u & 0xFFFFu;
    case ETWHOST_PT_I32:
    case ETWHOST_PT_U32: return p->num.u & 0xFFFFFFFFu;
    default: return p->num.u;
    }
}
/* The value of a signed integer property, sign-extended from its declared width. */
static inline int64_t event_prop_signed(const etwhost_prop *p)
{
    switch (p->type) {
    case ETWHOST_PT_I8: return (int8_t)(p->num.u & 0xFFu);
    case ETWHOST_PT_I16: return (int16_t)(p->num.u & 0xFFFFu);
    case ETWHOST_PT_I32: return (int32_t)(p->num.u & 0xFFFFFFFFu);
    default: return p->num.i;
    }
}

/*
 * Render the canonical JSON line (no newline) into out, appending.  Always
 * valid UTF-8 JSON.  0, ERR_NOMEM or ERR_RANGE.  Format: docs/event-json.md.
 */
int event_json_render(const struct event *ev, struct buf *out);

/*
 * The cached JSON of ev (rendered on first use; the cache is dropped by
 * event_reset and by any change made through the event_* builders or
 * the plugin accessors that add fields).  NULL on out of memory.
 */
const struct buf *event_json(struct event *ev);

/* Forget the cached JSON (call after changing an event behind the builders' back). */
static inline void event_json_invalidate(struct event *ev) { ev->json_valid = 0; }

/*
 * Render the JSON value of one scalar property p (of event ev) into out,
 * appending, exactly as the canonical line shows it (quotes included for
 * strings).  ERR_TYPE for STRUCT/ARRAY; 0, ERR_NOMEM or ERR_RANGE otherwise.
 */
int event_json_scalar(const struct event *ev, const etwhost_prop *p, struct buf *out);
/* The same into dst, which holds event_json_scalar_bound(p) bytes; returns the length. */
size_t event_json_scalar_bound(const etwhost_prop *p);
size_t event_json_scalar_to(char *dst, const struct event *ev, const etwhost_prop *p);

/*
 * Append s[0..len) as a JSON string (quotes included) to out.  Bytes are
 * taken as UTF-8 up to the first NUL; ill-formed sequences become U+FFFD,
 * so the output is valid UTF-8 whatever the input.  0, ERR_NOMEM, ERR_RANGE.
 */
int json_put_string(struct buf *out, const char *s, size_t len);

#endif
