/*
 * event_access: the event functions of the plugin host API table.
 *
 * Each function has exactly the type of its etwhost_host_api member
 * (plugin.h) so the table can hold them directly.  The etwhost_event handle
 * a plugin receives is a struct event (event.h).
 *
 * Returned pointers are borrowed: valid until the callback that received
 * the event returns (precisely: until the event is reset).  Status codes
 * are the ETWHOST_* ones of plugin.h, never the host's ERR_* codes.
 *
 * Threading: the functions may convert strings to UTF-8, cache the JSON
 * line or attach fields, i.e. they update the event and its arena.  One
 * event must therefore be used by one thread at a time, which the pipeline
 * guarantees by serializing the callbacks that see a given event.
 *
 * At record stage (decode_status == ETWHOST_DECODE_PENDING) the property
 * functions return ETWHOST_ERR_STATE (prop_count returns 0); header, JSON,
 * raw payload and attached fields work at both stages.
 */
#ifndef ETWHOST_EVENT_ACCESS_H
#define ETWHOST_EVENT_ACCESS_H

#include "etwhost/plugin.h"

/* Header fields; never NULL. */
const etwhost_event_header *ETWHOST_CALL evapi_header(const etwhost_event *ev);

/* Entries in the property tree; 0 at record stage. */
uint32_t ETWHOST_CALL evapi_prop_count(const etwhost_event *ev);

/*
 * Copy property 'index' into *out.  out->struct_size must be set by the
 * caller: at most that many bytes are written (an older plugin with a
 * smaller etwhost_prop gets the prefix it knows), and out->struct_size is
 * set to the number of bytes filled.  STRING data is converted to UTF-8 on
 * first access (into the event arena) and is followed by a NUL byte not
 * counted in size.  reserved reads 0.  ERR_NOTFOUND for an index past the
 * end, ERR_STATE at record stage, ERR (out NULL or struct_size < 4),
 * ERR_NOMEM.
 */
etwhost_status ETWHOST_CALL evapi_prop_at(const etwhost_event *ev, uint32_t index,
                                          etwhost_prop *out);

/*
 * Find a property by path and copy it like evapi_prop_at.  Paths: "name",
 * "a.b" (member b of struct a), "a[2]" (element 2 of array a), "a[2].b",
 * "a[1][0]".  A repeated member name can be reached as "name_2", "name_3"
 * ..., as the JSON line spells it.  ERR_NOTFOUND if absent, ERR_TYPE when
 * the path indexes a non-array or descends into a non-struct, ERR for a
 * malformed path, ERR_STATE at record stage.
 */
etwhost_status ETWHOST_CALL evapi_prop_find(const etwhost_event *ev, const char *path,
                                            size_t path_len, etwhost_prop *out);

/*
 * Typed getters by path (NUL-terminated).  Integer types, BOOL, POINTER,
 * FILETIME and SYSTEMTIME read as integers; ERR_RANGE if the value does not
 * fit the requested type, ERR_TYPE for any other type.  get_f64 also
 * accepts F32/F64 and converts integers.
 */
etwhost_status ETWHOST_CALL evapi_get_i64(const etwhost_event *ev, const char *path,
                                          int64_t *out);
etwhost_status ETWHOST_CALL evapi_get_u64(const etwhost_event *ev, const char *path,
                                          uint64_t *out);
etwhost_status ETWHOST_CALL evapi_get_f64(const etwhost_event *ev, const char *path,
                                          double *out);

/*
 * Text of a property by path: STRING as UTF-8; a value-map label as that
 * label; any other scalar as its JSON text without the quotes (GUID, time,
 * SID, "0x..." hex, numbers, true/false, null).  The text is NUL-terminated
 * (not counted in *len) and borrowed.  ERR_TYPE for STRUCT/ARRAY.
 */
etwhost_status ETWHOST_CALL evapi_get_str(const etwhost_event *ev, const char *path,
                                          const char **out, size_t *len);

/* The canonical JSON line (NUL-terminated, no newline), cached in the event. */
etwhost_status ETWHOST_CALL evapi_json(const etwhost_event *ev, const char **out, size_t *len);

/* The payload as recorded (empty, not NULL, when there is none). */
etwhost_status ETWHOST_CALL evapi_raw(const etwhost_event *ev, const uint8_t **out, size_t *len);

/*
 * Attach a field (name and value are copied into the event arena); it
 * appears under "fields" in the JSON line.  ERR for a NULL/empty name or a
 * NULL value with a non-zero length, ERR_NOMEM.
 */
etwhost_status ETWHOST_CALL evapi_add_str(const etwhost_event *ev, const char *name,
                                          const char *value, size_t value_len);
etwhost_status ETWHOST_CALL evapi_add_i64(const etwhost_event *ev, const char *name,
                                          int64_t value);

#endif
