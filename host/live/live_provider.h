/*
 * live_provider: which providers a live session enables, and how.
 *
 * A provider is given as a string
 *     (Name|GUID)[:Level[:EventIDs[:MatchAnyKeyword[:MatchAllKeyword]]]]
 * (empty fields keep the defaults; numbers decimal or 0x hex; EventIDs a
 * comma list with optional a-b ranges, a leading '!' excludes them
 * instead; keywords of system providers may also be names joined by '|')
 * or as an equivalent JSON object (docs/live.md) that adds the scope
 * filters (event ids, PIDs, executable names, TraceLogging event names),
 * stack capture with its filters, and the enable properties.
 *
 * The filter descriptors EnableTraceEx2 takes are built here in portable
 * memory (live_filters_build): exact little-endian bytes of
 * EVENT_FILTER_EVENT_ID, PID arrays, the UTF-16 executable list,
 * EVENT_FILTER_EVENT_NAME and EVENT_FILTER_LEVEL_KW, each 8-aligned in one
 * block the descriptors point into.
 *
 * Names resolve through the registered providers (TdhEnumerateProviders,
 * parsed by live_provider_list_parse) and the built-in system providers;
 * an unknown name is an error naming the nearest registered name.
 *
 * Threading: plain data; no shared state.
 */
#ifndef ETWHOST_LIVE_PROVIDER_H
#define ETWHOST_LIVE_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../core/err.h"
#include "etw_api.h"
#include "live_tables.h"

struct cfg;

#define LIVE_LEVEL_DEFAULT 255u
#define LIVE_ANY_DEFAULT UINT64_MAX

struct live_provider {
    char *spec;     /* the text it came from (string form) or the name/GUID, for messages */
    char *name;     /* as given or resolved; NULL if given by GUID and unknown */
    etwhost_guid guid;
    int has_guid;   /* guid is set (given, or resolved) */
    const struct live_system_provider *sys; /* a Windows 11 system provider */
    uint8_t level;
    uint64_t match_any, match_all;
    uint32_t properties; /* LIVE_PROP_* */
    /* Scope filters. */
    uint16_t event_ids[LIVE_MAX_EVENT_FILTER_EVENT_ID_COUNT];
    uint32_t n_event_ids;
    int event_ids_in;    /* 1 include (only these), 0 exclude */
    uint32_t pids[LIVE_MAX_EVENT_FILTER_PID_COUNT];
    uint32_t n_pids;
    char *exe;           /* "a.exe;b.exe", NULL if none */
    char **event_names;  /* TraceLogging event names */
    uint32_t n_event_names;
    int event_names_in;
    /* Stacks (need LIVE_PROP_STACK_TRACE, set by any of these). */
    uint16_t stack_ids[LIVE_MAX_EVENT_FILTER_EVENT_ID_COUNT];
    uint32_t n_stack_ids;
    int stack_ids_in;
    int stack_lkw;       /* a level/keyword stack filter is set */
    uint8_t stack_level;
    uint64_t stack_any, stack_all;
};

/* Fill p with the defaults (level 255, every keyword, no filters). */
void live_provider_init(struct live_provider *p);
/* Release p's memory (p itself is the caller's). */
void live_provider_free(struct live_provider *p);

/*
 * Parse the string form into p (initialised here).  Errors: ERR_CONFIG with
 * one line "provider \"SPEC\": what".
 */
int live_provider_parse(const char *spec, struct live_provider *p, struct errbuf *eb);

/*
 * Parse one element of a "providers" array: a string (string form) or an
 * object (keys in docs/live.md, checked with cfg_check_keys).  cfg may be
 * NULL (messages then carry no position).  ERR_CONFIG with one line.
 */
int live_provider_from_json(const struct cfg *cfg, const json_t *v, struct live_provider *p,
                            struct errbuf *eb);

/* 1 if events of p are (or may be) logged from kernel mode, where PID/exe filters do nothing. */
int live_provider_is_kernel(const struct live_provider *p);

/* One line describing p ("Name {guid} level 5 any 0x10 ..."), into out. */
void live_provider_describe(const struct live_provider *p, char *out, size_t cap);

/* ---- Filter descriptors ---- */

struct live_filters {
    struct etw_filter_desc d[LIVE_MAX_EVENT_FILTERS_COUNT];
    uint32_t n;
    uint8_t *mem; /* every descriptor's bytes (mem_alloc) */
    size_t len;
};

/*
 * Build the EVENT_FILTER_DESCRIPTORs of p (event ids, PIDs, executable
 * names, event names, stack ids, stack level/keyword) into f, in that
 * order.  ERR_CONFIG (over a documented limit) with one line, ERR_NOMEM.
 * Release with live_filters_free.
 */
int live_filters_build(const struct live_provider *p, struct live_filters *f,
                       struct errbuf *eb);
void live_filters_free(struct live_filters *f);

/* The EnableTraceEx2 arguments for p (filters from f, which must outlive e). */
void live_provider_enable_args(const struct live_provider *p, const struct live_filters *f,
                               struct etw_enable *e);

/* ---- Registered providers (TdhEnumerateProviders) ---- */

struct live_provider_info {
    etwhost_guid guid;
    uint32_t schema_source; /* 0 manifest, 1 MOF */
    char *name;             /* UTF-8 */
};

struct live_provider_list {
    struct live_provider_info *v;
    size_t n;
};

/*
 * Parse a PROVIDER_ENUMERATION_INFO blob ({u32 count, u32 reserved,
 * count x {GUID, u32 SchemaSource, u32 NameOffset}}, names UTF-16 at
 * offsets from the blob start).  Every offset is checked.  ERR_FORMAT with
 * one line, ERR_NOMEM.  Free with live_provider_list_free.
 */
int live_provider_list_parse(const uint8_t *blob, size_t len, struct live_provider_list *out,
                             struct errbuf *eb);
/* Call api->tdh_providers (growing the buffer) and parse the result. */
int live_provider_list_load(const struct etw_api *api, struct live_provider_list *out,
                            struct errbuf *eb);
void live_provider_list_free(struct live_provider_list *l);
/* Case-insensitive name / exact GUID look-up; NULL if absent. */
const struct live_provider_info *live_provider_list_find(const struct live_provider_list *l,
                                                         const char *name,
                                                         const etwhost_guid *guid);

/*
 * Give every provider of v a GUID: GUIDs stay, system provider names map to
 * their table GUID, other names are looked up in the registered providers
 * (loaded through api once, only if needed).  An unknown name fails with
 * "unknown provider \"X\" (did you mean \"Y\"?) ...".  Also warns (log) when
 * a PID or executable filter is set on a kernel provider.  0, ERR_CONFIG,
 * ERR_UNSUPPORTED (no provider list available) or ERR_NOMEM.
 */
int live_providers_resolve(struct live_provider *v, size_t n, const struct etw_api *api,
                           struct errbuf *eb);

#endif
