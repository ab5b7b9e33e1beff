/*
 * config: the configuration folder of etwhost (format in docs/config.md).
 *
 * A folder DIR holds DIR/etwhost.json (host settings, sources, chain order,
 * instances) and drop-ins DIR/conf.d/NAME.json merged in byte order of their
 * file names.  cfg_load() reads, validates and merges everything into one
 * immutable struct cfg; "${NAME}" in string values is expanded from the
 * environment at that moment.
 *
 * Every error is one line that starts with "file:line:column: " (the file
 * path as opened, i.e. DIR joined with the file's name; line and column are
 * 1-based, columns count characters) and says what is wrong.  Because
 * jansson keeps no positions, the module keeps its own index from each JSON
 * value of the loaded tree to its place in the text; cfg_where(),
 * cfg_check_keys() and the getters use it, so modules that validate their
 * own part of the configuration (sources, plugins) produce the same kind of
 * messages.
 *
 * Threading: cfg_load() and cfg_free() run on the control thread.  A loaded
 * struct cfg is never modified, so every read-only function below may be
 * called from any thread while the cfg is alive.  The json_t values a cfg
 * hands out are borrowed unless stated otherwise; do not modify them.
 */
#ifndef ETWHOST_CONFIG_H
#define ETWHOST_CONFIG_H

#include <jansson.h>
#include "../core/compiler.h"
#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"

/* One element of "sources", after name defaulting. */
struct cfg_source {
    char *name;   /* unique among sources; default: type, then type-2, type-3... */
    char *type;   /* "synthetic", "etl", "archive", "live"... (not checked here) */
    json_t *obj;  /* the whole object including "type" and "name"; owned reference */
    char *origin; /* "file:line:col" of the object */
};

/* One enabled plugin instance (disabled ones are dropped at load). */
struct cfg_instance {
    char *name;       /* unique among instances; default: the plugin name */
    char *plugin;     /* plugin name: loaded from <plugin>.so / .dll in the plugin dirs */
    char *path;       /* explicit library path resolved against the file's folder, or NULL */
    json_t *settings; /* object (empty if absent); owned reference */
    char *origin;     /* "file:line:col" of the instance object */
    char *file;       /* the file that defined the instance */
};

struct cfg_priv;

struct cfg {
    char *dir;                                  /* config folder as given */
    char **plugin_dirs;                         /* resolved against dir */
    size_t n_plugin_dirs;
    char *state_dir;                            /* resolved against dir */
    int log_level;                              /* LOG_* from core/log.h */
    uint32_t stats_interval;                    /* seconds, 0 = off */
    uint32_t batch_size;                        /* events per batch */
    uint32_t queue_depth;                       /* batches in flight */
    uint32_t retry_initial_ms, retry_max_ms;    /* sink back-off bounds */
    int on_sink_error_continue;                 /* 1: "continue", 0: "stop" */
    char **manifests;                           /* resolved against dir */
    size_t n_manifests;
    struct cfg_source *sources;
    size_t n_sources;
    struct cfg_instance *instances;             /* final chain order */
    size_t n_instances;
    char **files;                               /* every file read, in order */
    size_t n_files;
    struct cfg_priv *priv;                      /* position index and parsed trees */
};

/* Defaults of the host settings (also used by the docs and the tests). */
#define CFG_DEFAULT_BATCH_SIZE 256u
#define CFG_DEFAULT_QUEUE_DEPTH 16u
#define CFG_DEFAULT_RETRY_INITIAL_MS 50u
#define CFG_DEFAULT_RETRY_MAX_MS 5000u
#define CFG_MAX_FILE_SIZE (16u * 1024u * 1024u)

/*
 * Make jansson allocate through mem_alloc/mem_free.  Idempotent and cheap;
 * call it from main() before any other jansson use (cfg_load and
 * cfg_load_file_json call it too).  Not safe to race with other jansson use.
 */
void cfg_global_init(void);

/*
 * Load the config folder dir.  On success *out is a new cfg the caller frees
 * with cfg_free() and 0 is returned.  On failure *out is NULL, eb holds one
 * line and the result is ERR_NOTFOUND (no folder / no etwhost.json),
 * ERR_FORMAT (JSON syntax), ERR_CONFIG (valid JSON, bad content), ERR_IO or
 * ERR_NOMEM.  Reads the environment for "${NAME}" expansion.
 */
int cfg_load(const char *dir, struct cfg **out, struct errbuf *eb);

/* Free c and everything it owns (NULL is fine). */
void cfg_free(struct cfg *c);

/*
 * Reject any key of obj not in allowed (NULL-terminated).  The message names
 * the key's position when obj belongs to c's tree (c may be NULL), what
 * (e.g. "source \"etl\"", "settings of instance \"out\"") and the nearest
 * valid key when one is close, else the list of valid keys.  Keys are checked
 * in file order, so the first unknown one is reported.  allowed NULL accepts
 * any key (a plugin without a key list validates its settings itself).
 * 0, or ERR_CONFIG (also when obj is not an object).
 */
int cfg_check_keys(const struct cfg *c, const json_t *obj, const char *const *allowed,
                   const char *what, struct errbuf *eb);

/*
 * "file:line:col" where value starts in c's files, or "" if unknown (values
 * added at load, such as defaults, and the shared true/false/null values,
 * which have no identity).  The string lives as long as c.
 */
const char *cfg_where(const struct cfg *c, const json_t *value);

/*
 * Like cfg_where for the member key of object obj: where its value starts
 * (key_pos 0) or where the key itself starts (key_pos 1).  Falls back to
 * obj's position, then to "".  Works for true/false/null members too.
 * Writes into buf (size cap) and returns buf.
 */
const char *cfg_where_member(const struct cfg *c, const json_t *obj, const char *key,
                             int key_pos, char *buf, size_t cap);

/*
 * Fill eb with "<position of obj.key (or of obj if key is NULL)>: <text>" and
 * return code; for modules reporting a bad value they found in the config.
 */
#if defined(__GNUC__) || defined(__clang__)
ETWHOST_PRINTF(6, 7)
#endif
int cfg_err(const struct cfg *c, const json_t *obj, const char *key, struct errbuf *eb, int code,
            const char *fmt, ...);

/*
 * Typed getters for member key of object obj (obj may be a settings object or
 * a source object of c; c may be NULL, then messages carry no position).
 * An absent key gives def; a present one must have the right type and lie in
 * [min, max].  Returns 0, or ERR_CONFIG with "file:line:col: "key" must be
 * ..." in eb.  *out is written only on success.  Strings are borrowed from
 * the tree and live as long as it does.
 */
int cfg_get_u32(const struct cfg *c, const json_t *obj, const char *key, uint32_t def,
                uint32_t min, uint32_t max, uint32_t *out, struct errbuf *eb);
int cfg_get_i64(const struct cfg *c, const json_t *obj, const char *key, int64_t def,
                int64_t min, int64_t max, int64_t *out, struct errbuf *eb);
/* Integers are accepted as numbers too. */
int cfg_get_f64(const struct cfg *c, const json_t *obj, const char *key, double def, double min,
                double max, double *out, struct errbuf *eb);
/* def may be NULL (then *out is NULL when the key is absent). */
int cfg_get_str(const struct cfg *c, const json_t *obj, const char *key, const char *def,
                const char **out, struct errbuf *eb);
/* *out is 0 or 1. */
int cfg_get_bool(const struct cfg *c, const json_t *obj, const char *key, int def, int *out,
                 struct errbuf *eb);

/*
 * Parse one JSON file (object or array at the top, duplicate keys rejected)
 * without any config semantics: for templates and other side files.  *out is
 * a new reference the caller releases with json_decref.  Errors:
 * ERR_NOTFOUND / ERR_IO (eb: "path: reason"), ERR_FORMAT (eb:
 * "path:line:col: jansson's text"), ERR_NOMEM.
 */
int cfg_load_file_json(const char *path, json_t **out, struct errbuf *eb);

/*
 * The candidate nearest to word (Damerau-Levenshtein distance, case
 * ignored), or NULL if none is reasonably close.  candidates is
 * NULL-terminated.  Thread-safe; the result points into candidates.
 */
const char *cfg_suggest(const char *word, const char *const *candidates);

/*
 * Join a path relative to base ("" or NULL base: path unchanged); an
 * absolute path is returned unchanged.  New string (mem_alloc), NULL on OOM.
 */
char *cfg_path_join(const char *base, const char *path);

#endif
