/*
 * A fake etw_api for the live-ETW tests: an in-memory ETW that keeps
 * sessions, records every controller call in a log, replays recorded
 * records (from .etl files read with the portable reader, or the
 * project's own fixtures) as EVENT_RECORDs through the real consumer
 * callback, answers TDH questions from TRACE_EVENT_INFO / EVENT_MAP_INFO
 * blobs, and holds an in-memory registry.
 *
 * Replay: process_trace delivers every queued event of its session (each
 * converted the way Windows presents it: classic / WPP / 32-bit header
 * flags, extended items as {type, size, pointer}), then blocks until the
 * session is stopped or the trace closed, like real-time ProcessTrace.
 * Options simulate an external stop after N events, a ProcessTrace that
 * never returns, RT_Lost events and error codes.
 *
 * Threading: every function takes the fake's mutex; the consumer callback
 * is called without it.
 */
#ifndef ETWHOST_TEST_LIVE_FAKE_H
#define ETWHOST_TEST_LIVE_FAKE_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/buf.h"
#include "live/etw_api.h"
#include "platform/platform.h"
#include "record/batch.h"
#include "schema/schema_cache.h"

#define FAKE_MAX_SESSIONS 16

struct fake_session {
    int used, running;
    struct etw_session_props props;
    uint64_t handle;
    /* Consumer side. */
    const struct etw_consumer *cons;
    uint64_t trace;
    int trace_open;
    int external_done;
    uint32_t nevents; /* indexes into fake_etw.events for this session */
    uint32_t *events;
    uint32_t cursor;
};

struct fake_tdh {
    struct schema_key key;
    uint8_t *blob;
    uint32_t len;
};

struct fake_map {
    etwhost_guid provider;
    char *name;
    uint8_t *blob;
    uint32_t len;
};

struct fake_regval {
    char *key, *name;
    uint32_t type;
    uint8_t *data;
    uint32_t len;
};

struct fake_etw {
    struct etw_api api;
    struct plat_mutex mu;
    struct plat_cond cv;
    struct fake_session s[FAKE_MAX_SESSIONS];
    uint64_t next_handle;
    /* Records to replay, in delivery order; each names its session. */
    const struct record **events;
    char **event_session;
    uint32_t nevents, cap_events;
    struct record_batch **stores; /* own the copied records and their bytes */
    uint32_t nstores;
    struct trace_info info;    /* what open_trace reports */
    /* Behaviour. */
    uint32_t external_stop_after; /* stop the session "from outside" after N events (once) */
    int stuck;                    /* process_trace ignores stop and close */
    int end_when_drained;         /* a session stops by itself once its events are delivered */
    atomic_int unstick;
    uint32_t rt_lost[3];          /* RT_Lost events (opcodes 32..34) delivered first */
    uint32_t start_rc, enable_rc, open_rc; /* injected errors (0 = none) */
    char existing[4][ETW_NAME_MAX]; /* names that exist already (ALREADY_EXISTS) */
    uint32_t events_lost, rt_buffers_lost, log_buffers_lost; /* reported by QUERY/STOP */
    uint32_t ncpu;
    /* TDH. */
    struct fake_tdh *tdh;
    uint32_t ntdh;
    struct fake_map *maps;
    uint32_t nmaps;
    uint32_t tdh_calls, map_calls, providers_calls;
    uint8_t *provider_blob; /* PROVIDER_ENUMERATION_INFO, NULL: TDH unavailable */
    uint32_t provider_len;
    /* Registry. */
    char **keys;
    uint32_t nkeys;
    struct fake_regval *vals;
    uint32_t nvals;
    /* "start NAME ...", "enable ...", "open NAME", "stop NAME", ... one per line. */
    struct buf log;
    uint32_t delivered;
};

/* Prepare f (api table, defaults: 2 CPUs, QPC info) and f->api.ctx = f. */
void fake_init(struct fake_etw *f);
void fake_free(struct fake_etw *f);

/* Queue rec (copied) for delivery to session 'session' ("" = the first session opened). */
void fake_add_record(struct fake_etw *f, const char *session, const struct record *rec);

/*
 * Queue every record of an .etl file (read in time order) for 'session';
 * f->info becomes the file's trace info.  skip_metadata leaves out TDH
 * metadata records (class bbccf6c1-...).  Returns the number queued.
 */
uint32_t fake_add_etl(struct fake_etw *f, const char *session, const char *path,
                      int skip_metadata);

/* TDH answers: a TRACE_EVENT_INFO for key, an EVENT_MAP_INFO for (provider, name). */
void fake_add_tdh(struct fake_etw *f, const struct schema_key *key, const void *blob,
                  uint32_t len);
void fake_add_map(struct fake_etw *f, const etwhost_guid *provider, const char *name,
                  const void *blob, uint32_t len);
/* TDH answers from the embedded metadata records of an .etl file; returns how many. */
uint32_t fake_add_tdh_from_etl(struct fake_etw *f, const char *path);

/* A PROVIDER_ENUMERATION_INFO blob of n (name, guid, schema source) entries. */
void fake_set_providers(struct fake_etw *f, const char *const *names, const etwhost_guid *guids,
                        uint32_t n);

/* The session named name, or NULL. */
struct fake_session *fake_session(struct fake_etw *f, const char *name);

/* Registry look-up: the value's bytes (REG_SZ as UTF-8) or NULL. */
const struct fake_regval *fake_reg_find(struct fake_etw *f, const char *key, const char *name);

/* Wait until every queued event was delivered (or ms passed); 1 if so. */
int fake_wait_delivered(struct fake_etw *f, uint32_t ms);

#endif
