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
#include <stdint.h>

#include "etwhost/plugin.h"
#include "../core/arena.h"
#include "../core/buf.h"
#include "../record/record.h"

/* Encoding of a STRING property's bytes (etwhost_prop.reserved). */
#define PROP_ENC_UTF8 0u
#define PROP_ENC_UTF16 1u /* UTF-16LE, size in bytes */
#define PROP_ENC_ANSI 2u  /* bytes, UTF-8 if valid else Windows-1252 */

/* A field attached by a filter (api->event_add_*). */
struct event_field {
    const char *name; /* arena */
    const char *str;  /* arena, NULL for integers */
    size_t str_len;
    int64_t i;
};

struct event {
    etwhost_event_header hdr; /* must stay first */
    const struct record *rec;
    etwhost_prop *props;
    uint32_t nprops, props_cap;
    const char *decode_error; /* NULL if none; arena or static */
    struct event_field *fields;
    uint32_t nfields, fields_cap;
    struct arena *arena; /* not owned */
    struct buf json;     /* cache of the canonical JSON line */
    uint8_t json_valid;
};

/* Prepare an empty event using 'arena' for scratch memory. */
void event_init(struct event *ev, struct arena *arena);
/* Forget contents (keeps arrays and JSON buffer for reuse). */
void event_reset(struct event *ev);
/* Release the arrays and buffer. */
void event_free(struct event *ev);

/*
 * Fill header fields from a record.  provider_name may be NULL ("").
 * Sets decode_status to ETWHOST_DECODE_PENDING.
 */
void event_set_record(struct event *ev, const struct record *rec, const char *provider_name);

/*
 * Append a property; returns its index or ETWHOST_NONE on out of memory.
 * The caller fills the returned entry (name, type, value); parent/next/count
 * links are maintained by event_prop_open/close for containers.
 */
uint32_t event_prop_add(struct event *ev, const char *name, uint32_t name_len, uint16_t type);
/* Start a STRUCT/ARRAY container; later adds become its children until close. */
uint32_t event_prop_open(struct event *ev, const char *name, uint32_t name_len, uint16_t type);
void event_prop_close(struct event *ev, uint32_t container);

/* Record a decode error (copied into the arena); status becomes PARTIAL or NONE. */
void event_set_error(struct event *ev, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/*
 * Render the canonical JSON line (no newline) into out, appending.  Always
 * valid UTF-8 JSON.  0, ERR_NOMEM or ERR_RANGE.  See README "Event JSON".
 */
int event_json_render(const struct event *ev, struct buf *out);

/* The cached JSON of ev (rendered on first use).  NULL on out of memory. */
const struct buf *event_json(struct event *ev);

#endif
