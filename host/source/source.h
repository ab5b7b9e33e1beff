/*
 * source: where records come from (synthetic, .etl files, archives, live
 * sessions).  Each source kind is one file implementing struct source_ops.
 *
 * Threading: a source is opened and closed on the control thread; read()
 * runs on the source's own thread.  stop is set by the control thread and
 * polled by read() implementations that may block (rate pacing, live).
 */
#ifndef ETWHOST_SOURCE_H
#define ETWHOST_SOURCE_H

#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>

#include "../core/err.h"
#include "../record/batch.h"

struct cfg;
struct source;

struct source_ops {
    const char *type;
    /* Settings keys accepted (besides "type" and "name"), NULL-terminated. */
    const char *const *keys;
    /*
     * Open from a config object (validated keys).  cfg gives positions for
     * messages (may be NULL when opened from the command line).
     */
    int (*open)(struct source *s, const struct cfg *cfg, const json_t *obj, struct errbuf *eb);
    /*
     * Append records to b until it is full or no more are ready.  Returns
     * the number appended (> 0), 0 at end of data, or a negative error
     * with eb set.  Must return promptly (< 100 ms) when s->stop is set.
     */
    int (*read)(struct source *s, struct record_batch *b, struct errbuf *eb);
    /* Release everything. */
    void (*close)(struct source *s);
    /* Optional: one line of progress ("12.3 MB of 40 MB"), for terminals. */
    void (*progress)(struct source *s, char *buf, size_t cap);
};

struct source {
    const struct source_ops *ops;
    void *priv;
    char *name;
    atomic_int stop;
    atomic_ullong produced; /* records handed to the pipeline */
    /* Events the recorder itself lost, per trace headers (file sources). */
    atomic_ullong header_events_lost;
    uint32_t index;         /* position in the run's source list */
    /*
     * Optional, set by open(): one line of the source's own counters (live
     * sessions: ETW losses, restarts) for --stats; called on the control
     * thread while the source runs and once after it ended.
     */
    void (*stats)(struct source *s, char *buf, size_t cap);
};

/*
 * The "path" setting of a file source: a string or an array of strings, each
 * a file or a glob pattern, relative to the config folder (cfg may be NULL:
 * relative to the working directory).  *paths is a new list (free with
 * plat_free_list).  Errors name the position in the config; what describes
 * the expected files ("an .etl file") for the message when path is missing.
 */
int source_get_paths(const struct cfg *cfg, const json_t *obj, const char *source_name,
                     const char *what, char ***paths, size_t *npaths, struct errbuf *eb);

/* The registered source kinds (source_registry.c); NULL if unknown. */
const struct source_ops *source_find(const char *type);
/* Comma-separated list of known types, for messages. */
const char *source_types(void);

/*
 * Create and open a source of obj["type"].  *out owned by caller
 * (source_destroy).  Unknown type or keys -> ERR_CONFIG with a message.
 */
int source_create(const struct cfg *cfg, const json_t *obj, const char *name, uint32_t index,
                  struct source **out, struct errbuf *eb);
void source_destroy(struct source *s);

#endif
