/*
 * archive_api: api->event_record and api->event_schema (see archive_api.h).
 */
#include "archive_api.h"

#include "../event/event.h"
#include "../record/record_codec.h"
#include "../schema/schema.h"
#include "../schema/schema_codec.h"

etwhost_status ETWHOST_CALL archive_api_event_record(const etwhost_event *h,
                                                     const uint8_t **out, size_t *len)
{
    const struct event *ev = (const struct event *)h;
    if (ev == NULL || ev->rec == NULL || out == NULL || len == NULL)
        return ETWHOST_ERR_STATE;
    /*
     * The name the event shows: after decoding it already includes what the
     * schema says, which decoding the replayed record sets again.
     */
    const char *name = ev->hdr.provider_name;
    size_t n = record_encoded_size(ev->rec, name);
    uint8_t *p = arena_alloc(ev->arena, n);
    if (p == NULL)
        return ETWHOST_ERR_NOMEM;
    record_encode_into(ev->rec, name, p);
    *out = p;
    *len = n;
    return ETWHOST_OK;
}

etwhost_status ETWHOST_CALL archive_api_event_schema(const etwhost_event *h,
                                                     const uint8_t **out, size_t *len,
                                                     uint64_t *id)
{
    const struct event *ev = (const struct event *)h;
    if (ev == NULL || out == NULL || len == NULL || id == NULL)
        return ETWHOST_ERR_STATE;
    if (ev->hdr.decode_status == ETWHOST_DECODE_PENDING)
        return ETWHOST_ERR_STATE;
    const struct schema *s = ev->schema;
    /* TraceLogging schemas come from the record's own metadata on replay. */
    if (s == NULL || s->source == SCHEMA_SRC_TRACELOGGING)
        return ETWHOST_ERR_NOTFOUND;
    int rc = schema_codec_cached(s, out, len, id);
    return rc ? ETWHOST_ERR_NOMEM : ETWHOST_OK;
}
