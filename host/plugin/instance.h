/*
 * instance: a configured, created plugin instance and the host API table
 * plugins call back into.
 *
 * Lifecycle (control thread): plugin_instance_create() finds and opens the
 * library (shared between instances), checks the settings keys against the
 * plugin's list, and calls create(); plugin_instance_destroy() calls
 * destroy() and releases the library.  process/write/flush/close are called
 * by the chain on the pipeline thread through the helpers below, which keep
 * the per-instance counters and serialize calls unless the plugin declared
 * ETWHOST_FLAG_THREAD_SAFE.
 */
#ifndef ETWHOST_INSTANCE_H
#define ETWHOST_INSTANCE_H

#include <stdatomic.h>
#include <stdint.h>

#include "etwhost/plugin.h"
#include "../platform/platform.h"
#include "loader.h"

struct cfg;
struct cfg_instance;

#define INSTANCE_MAX_COUNTERS 32

struct plugin_counter {
    char name[48];
    atomic_llong value;
};

/* The opaque handle plugins receive; first member of plugin_instance. */
struct etwhost_host {
    struct plugin_instance *inst;
};

struct plugin_instance {
    struct etwhost_host host;
    char *name;
    struct plugin_lib *lib;
    const etwhost_plugin *desc; /* &lib->desc */
    void *state;                /* the plugin's instance pointer */
    uint32_t kind, stage;
    int in_create;
    int serialize;
    int disabled; /* a sink that failed for good */
    int closed;
    char *state_dir;
    struct plat_mutex lock;
    /* Host-kept counters. */
    atomic_ullong in, out, dropped, errors, retries;
    /* Plugin-registered counters. */
    struct plugin_counter counters[INSTANCE_MAX_COUNTERS];
    atomic_int ncounters;
};

/* The host API table handed to every plugin. */
extern const etwhost_host_api host_api_table;

/*
 * Create the instance described by ci (plugin dirs from cfg plus the
 * built-in dirs).  On failure eb names the instance, its origin and what
 * went wrong (plugin not found, rejected, bad settings, create() error).
 */
int plugin_instance_create(const struct cfg *cfg, const struct cfg_instance *ci,
                           struct plugin_instance **out, struct errbuf *eb);

/* Call destroy() and free; NULL is fine.  Must not overlap other calls. */
void plugin_instance_destroy(struct plugin_instance *pi);

/* Filter: ETWHOST_OK / ETWHOST_DROP / < 0 (counted as an error; event passes). */
etwhost_status plugin_instance_process(struct plugin_instance *pi, const void *ev);
/* Sink write, flush, close (close only once). */
etwhost_status plugin_instance_write(struct plugin_instance *pi, const void *const *evs,
                                     uint32_t n, uint32_t *accepted);
etwhost_status plugin_instance_flush(struct plugin_instance *pi);
etwhost_status plugin_instance_close(struct plugin_instance *pi, char *err, size_t err_len);
/* Plugin stats JSON (ABI 1.1); ERR_NOTFOUND when the plugin has none. */
int plugin_instance_stats(struct plugin_instance *pi, char *buf, size_t cap);

/* Release every cached library that has no instance left (at exit). */
void plugin_libs_cleanup(void);

#endif
