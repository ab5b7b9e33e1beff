/*
 * loader: find, open and check plugin libraries.
 *
 * A plugin library is accepted iff it is not writable by group/others (POSIX),
 * loads with immediate binding and local symbols, exports
 * etwhost_plugin_entry, and its descriptor's ABI major equals the host's and
 * its minor is <= the host's.  Every rejection is one line naming the file,
 * the plugin name/version when readable, found vs supported ABI and the OS
 * loader's own error text.
 *
 * Threading: open/close run on the control thread only.
 */
#ifndef ETWHOST_LOADER_H
#define ETWHOST_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "etwhost/plugin.h"
#include "../core/err.h"

struct plugin_lib {
    char *path;
    void *handle;
    /* The plugin's descriptor copied into a zeroed host-size struct, so
     * members beyond the plugin's struct_size read as absent (NULL). */
    etwhost_plugin desc;
    uint32_t plugin_size; /* the plugin's own struct_size */
    int refs;
};

/*
 * Open and check the library at path.  On success *out is owned by the
 * caller (plugin_lib_release).  On failure eb holds the one-line rejection
 * and the library is unloaded.
 */
int plugin_lib_open(const char *path, struct plugin_lib **out, struct errbuf *eb);

/* Drop one reference; unloads when none remain.  NULL is fine. */
void plugin_lib_release(struct plugin_lib *lib);

/*
 * Find "<name><suffix>" in dirs (first match wins).  Writes the path into
 * out (cap bytes).  ERR_NOTFOUND with eb listing the searched dirs.
 */
int plugin_find(const char *name, const char *const *dirs, size_t ndirs, char *out, size_t cap,
                struct errbuf *eb);

/*
 * The built-in plugin directories: <exe dir>/plugins and
 * <exe dir>/../lib/etwhost/plugins.  Static strings; *n set to the count.
 */
const char *const *plugin_builtin_dirs(size_t *n);

/* "filter", "sink" or "unknown". */
const char *plugin_kind_name(uint32_t kind);

#endif
