/*
 * A stand-in host for unit tests of the built-in plugins.
 *
 * It loads a plugin library exactly as the host does (the built .so, its
 * etwhost_plugin_entry) and hands it a complete etwhost_host_api backed by
 * simple test structures: settings from a JSON text, events built by hand,
 * counters and log lines recorded for assertions.  End-to-end tests run the
 * real binary instead; this harness lets a test reach one code path
 * precisely (a partial write, a rule on a property of a given type).
 *
 * Threading: the API functions may be called from plugin threads (log and
 * counters are locked).  Ownership: everything is released by fh_free.
 */
#ifndef ETWHOST_TEST_PLUGIN_FAKEHOST_H
#define ETWHOST_TEST_PLUGIN_FAKEHOST_H

#include <stddef.h>
#include <stdint.h>

#include "etwhost/plugin.h"

#define FEV_MAX_PROPS 32

/* A hand-made event.  hdr comes first so api->event_header is a cast. */
struct fake_event {
    etwhost_event_header hdr;
    etwhost_prop props[FEV_MAX_PROPS];
    uint32_t nprops;
    int record_stage; /* 1: property accessors answer ERR_STATE */
    char json[2048];  /* canonical line; built from the header when empty */
    size_t json_len;
    char scratch[128]; /* text rendering of scalars for event_get_str */
    char fields[512];  /* attached fields as "name=value;" */
    int json_fail;     /* event_json returns ERR_NOMEM */
};

struct fake_host {
    const etwhost_plugin *desc;
    void *lib;
    uint32_t stage;
    int stage_set;
    char counter_names[16][32];
    int64_t counters[16];
    int ncounters;
    char log[8192]; /* all log lines, '\n'-separated */
    int nlogs;
    char state_dir[512];
};

/* Load build/plugins/<name>.so (or an absolute .so path); SKIP-free: fails the test. */
void fh_init(struct fake_host *fh, const char *name_or_path);
void fh_free(struct fake_host *fh);

/* The host API table the fake hands to plugins. */
const etwhost_host_api *fh_api(void);

/*
 * Create an instance with settings given as JSON object text.  Unknown keys
 * are rejected against the descriptor's settings_keys like the host does.
 * Returns the status; err holds the plugin's message.
 */
etwhost_status fh_create(struct fake_host *fh, const char *settings_json, void **inst,
                         char *err, size_t err_len);

/* Value of the counter last registered under name (fails the test if none was). */
int64_t fh_counter(const struct fake_host *fh, const char *name);

/* Events. */
void fev_init(struct fake_event *e, const char *provider, uint16_t id, uint8_t level);
void fev_str(struct fake_event *e, const char *name, const char *value);
void fev_int(struct fake_event *e, const char *name, uint16_t type, int64_t value);
void fev_f64(struct fake_event *e, const char *name, double value);
void fev_json(struct fake_event *e, const char *json);
/* Append a raw property (top level, next-linked to the previous one) to fill by hand. */
etwhost_prop *fev_add(struct fake_event *e, const char *name, uint16_t type);

#define FEV(e) ((const etwhost_event *)(void *)(e))

/* Monotonic nanoseconds (for speed measurements). */
uint64_t fh_now_ns(void);

#endif
