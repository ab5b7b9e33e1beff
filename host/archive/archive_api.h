/*
 * archive_api: the host API functions that let a sink plugin archive
 * events self-describingly (api->event_record, api->event_schema; see
 * plugin.h and docs/archive-format.md).
 *
 * Each function has exactly the type of its etwhost_host_api member.
 * Returned bytes are borrowed: event_record's live in the event's arena
 * (until the event is reset), event_schema's in the schema encoding cache
 * (until schema_codec_cache_clear).  Status codes are ETWHOST_* ones.
 * Threading: like the other event accessors, one event is used by one
 * thread at a time; the schema cache is thread-safe.
 */
#ifndef ETWHOST_ARCHIVE_API_H
#define ETWHOST_ARCHIVE_API_H

#include "etwhost/plugin.h"

/* The record encoding of ev's record.  ERR_STATE if ev has no record, ERR_NOMEM. */
etwhost_status ETWHOST_CALL archive_api_event_record(const etwhost_event *ev,
                                                     const uint8_t **out, size_t *len);

/*
 * The schema encoding and content id of the schema ev was decoded with.
 * ERR_STATE at record stage, ERR_NOTFOUND without a storable schema
 * (TraceLogging, string-only, undecoded), ERR_NOMEM.
 */
etwhost_status ETWHOST_CALL archive_api_event_schema(const etwhost_event *ev,
                                                     const uint8_t **out, size_t *len,
                                                     uint64_t *id);

#endif
