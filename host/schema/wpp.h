/*
 * wpp: the WPP (software tracing preprocessor) schema source
 * (SCHEMA_SRC_WPP).
 *
 * A WPP record (MESSAGE_TRACE_HEADER) carries a message GUID, a message
 * number and an untyped concatenation of arguments; the format string and
 * the argument types live in TMF files generated from the provider's PDB.
 * Without TMF information nothing in the argument blob can be decoded, so
 * this source answers every WPP record with a schema whose error is
 *     "WPP message: no TMF format information"
 * (one schema per message GUID and number, event name "WPP message N"):
 * the event is marked undecoded, keeps its raw argument bytes, and the
 * decoder adds the header items of the record as properties (see
 * wpp_add_header_props), so the message number, GUID or component id and
 * sequence number stay visible.
 *
 * Threading: the source belongs to the decoder's thread.
 */
#ifndef ETWHOST_WPP_H
#define ETWHOST_WPP_H

#include "../decode/decode.h"
#include "../event/event.h"
#include "../record/record.h"

/* The decode error of WPP events (static). */
#define WPP_NO_TMF "WPP message: no TMF format information"

/* At most this many per-message schemas; beyond, one shared schema answers. */
#define WPP_MAX_SCHEMAS 65536u

/* Fill *src with a new WPP source (destroy frees it).  0 or ERR_NOMEM. */
int wpp_source(struct schema_source *src);

/*
 * Add the header items of WPP record rec to ev as properties:
 * MessageNumber (u16), SequenceNumber (u32, when the record has one),
 * MessageGuid (GUID) or ComponentId (u32).  Names are static; the GUID
 * value goes to ev's arena.  Returns 0, ERR_NOTFOUND when rec is not a WPP
 * record, or ERR_NOMEM.
 */
int wpp_add_header_props(const struct record *rec, struct event *ev);

#endif
