/*
 * live_tdh: schemas of live manifest and MOF events from TDH
 * (TdhGetEventInformation / TdhGetEventMapInformation), asked once per
 * schema key and kept.
 *
 * TDH needs the EVENT_RECORD itself, which exists only inside the consumer
 * callback, so the consumer resolves a record's schema there and hands it
 * to the decoder with the record (struct record.schema): the decoder then
 * walks the payload with it like any other schema (values are decoded by
 * the host's engine, never by TdhFormatProperty).  The TRACE_EVENT_INFO and
 * EVENT_MAP_INFO blobs are parsed by the same code as TDH metadata embedded
 * in merged traces (tdh_embedded.h), with source SCHEMA_SRC_TDH_LIVE, so
 * the schemas serialise into archives like any other.
 *
 * Keys are the decoder's (schema_key_for_record): manifest events by
 * (provider, id, version), MOF events by (class, version, opcode, pointer
 * size).  TraceLogging records (they carry their own metadata) and WPP
 * records never go to TDH, nor do kernel and classic events of the MOF
 * classes the host has built in (they decode exactly as in .etl files; TDH
 * fills the gaps).  A key TDH does not know is remembered as
 * negative and not asked again; maps are asked once per (provider, name)
 * when the first schema that uses them arrives, before that schema is
 * handed out, so a map slot never changes while the pipeline reads it.
 *
 * Threading: one table may be shared by several consumer threads (one
 * mutex); returned schemas are immutable and stay valid until the last
 * reference is dropped.  Reference counted: live_tdh_new returns one
 * reference; live_tdh_unref frees at zero.
 */
#ifndef ETWHOST_LIVE_TDH_H
#define ETWHOST_LIVE_TDH_H

#include <stdint.h>

#include "../record/record.h"
#include "../schema/schema.h"
#include "etw_api.h"

struct live_tdh;

struct live_tdh_stats {
    uint64_t asked;       /* TdhGetEventInformation calls (one per new key) */
    uint64_t builtin;     /* keys left to the built-in kernel MOF classes */
    uint64_t schemas;     /* schemas obtained */
    uint64_t failed;      /* keys TDH did not know or returned a bad blob for */
    uint64_t unsupported; /* WPP / TraceLogging infos, not used */
    uint64_t maps;        /* maps obtained */
    uint64_t maps_failed;
};

/* A new empty table (one reference), or NULL on out of memory. */
struct live_tdh *live_tdh_new(void);
void live_tdh_ref(struct live_tdh *t);
/* Drop a reference; the last one frees every schema and map (NULL is fine). */
void live_tdh_unref(struct live_tdh *t);

/*
 * The schema of rec (converted from ev) according to TDH, or NULL when TDH
 * has none, when rec never goes to TDH (TraceLogging, WPP), or on out of
 * memory.  Calls api->tdh_event_info only for a key seen the first time.
 */
const struct schema *live_tdh_resolve(struct live_tdh *t, const struct etw_api *api,
                                      const struct etw_event *ev, const struct record *rec);

void live_tdh_get_stats(struct live_tdh *t, struct live_tdh_stats *out);

#endif
