/*
 * loader: open plugin libraries and check their ABI (see loader.h).
 */
#include "loader.h"

#include <stdio.h>
#include <string.h>

#include "../core/mem.h"
#include "../platform/platform.h"

/* Longest name/version we copy from an untrusted descriptor into messages. */
#define DESC_TEXT_MAX 64

const char *plugin_kind_name(uint32_t kind)
{
    switch (kind) {
    case ETWHOST_KIND_FILTER: return "filter";
    case ETWHOST_KIND_SINK: return "sink";
    default: return "unknown";
    }
}

/* Copy a descriptor string defensively: printable ASCII only, bounded. */
static void safe_text(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    if (src == NULL) {
        snprintf(dst, cap, "?");
        return;
    }
    for (; src[i] && i < cap - 1 && i < DESC_TEXT_MAX; i++)
        dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
    dst[i] = '\0';
}

static int valid_name(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if (i >= DESC_TEXT_MAX)
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

int plugin_lib_open(const char *path, struct plugin_lib **out, struct errbuf *eb)
{
    struct errbuf le;
    int rc;
    *out = NULL;

    if (!plat_is_file(path))
        return errbuf_set(eb, ERR_NOTFOUND, "plugin %s: no such file", path);
    /* Refuse code that others could have replaced: the file and its directory. */
    rc = plat_check_private(path, &le);
    if (rc)
        return errbuf_set(eb, rc, "plugin %s rejected: %s", path, le.msg);
    {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        char *bslash = strrchr(dir, '\\');
        if (bslash && (!slash || bslash > slash))
            slash = bslash;
        if (slash) {
            if (slash == dir)
                slash[1] = '\0';
            else
                *slash = '\0';
        } else {
            snprintf(dir, sizeof dir, ".");
        }
        rc = plat_check_private(dir, &le);
        if (rc)
            return errbuf_set(eb, rc, "plugin %s rejected: %s", path, le.msg);
    }

    void *h = NULL;
    rc = plat_dl_open(path, &h, &le);
    if (rc)
        return errbuf_set(eb, ERR_PLUGIN,
                          "plugin %s rejected: cannot load: %s (check its dependencies with ldd)",
                          path, le.msg);

    plat_fnptr sym = plat_dl_sym(h, ETWHOST_PLUGIN_ENTRY_NAME);
    if (sym == NULL) {
        plat_dl_close(h);
        return errbuf_set(eb, ERR_PLUGIN,
                          "plugin %s rejected: missing symbol '%s' (not an etwhost plugin, or "
                          "built without ETWHOST_PLUGIN_DEFINE?)",
                          path, ETWHOST_PLUGIN_ENTRY_NAME);
    }
    const etwhost_plugin *d = ((etwhost_plugin_entry_fn)sym)();
    if (d == NULL) {
        plat_dl_close(h);
        return errbuf_set(eb, ERR_PLUGIN, "plugin %s rejected: %s() returned NULL", path,
                          ETWHOST_PLUGIN_ENTRY_NAME);
    }
    /* The eternal prefix is always readable, so name the plugin first. */
    char name[DESC_TEXT_MAX + 1], version[DESC_TEXT_MAX + 1];
    safe_text(name, sizeof name, d->name);
    safe_text(version, sizeof version, d->version);
    /* Copy the prefix now: nothing of the library may be read after dlclose. */
    unsigned major = d->abi_major, minor = d->abi_minor, size = d->struct_size;
    if (major != ETWHOST_ABI_MAJOR || minor > ETWHOST_ABI_MINOR) {
        plat_dl_close(h);
        return errbuf_set(eb, ERR_ABI,
                          "plugin %s (%s %s) rejected: built for plugin ABI %u.%u, host supports "
                          "%u.0-%u.%u; rebuild it against etwhost SDK %u.x",
                          path, name, version, major, minor, ETWHOST_ABI_MAJOR, ETWHOST_ABI_MAJOR,
                          ETWHOST_ABI_MINOR, ETWHOST_ABI_MAJOR);
    }
    if (size < ETWHOST_PLUGIN_SIZE_1_0 || size > 65536) {
        plat_dl_close(h);
        return errbuf_set(eb, ERR_ABI,
                          "plugin %s (%s %s) rejected: descriptor size %u is invalid for ABI "
                          "%u.%u (expected at least %u)",
                          path, name, version, size, major, minor,
                          (unsigned)ETWHOST_PLUGIN_SIZE_1_0);
    }

    struct plugin_lib *lib = mem_calloc(1, sizeof *lib);
    if (lib == NULL || (lib->path = mem_strdup(path)) == NULL) {
        mem_free(lib);
        plat_dl_close(h);
        return errbuf_set(eb, ERR_NOMEM, "plugin %s: out of memory", path);
    }
    lib->handle = h;
    lib->refs = 1;
    lib->plugin_size = d->struct_size;
    /* A newer minor can only be larger; never read past what the plugin declared. */
    memcpy(&lib->desc, d, d->struct_size < sizeof lib->desc ? d->struct_size : sizeof lib->desc);

    const etwhost_plugin *c = &lib->desc;
    const char *why = NULL;
    if (!valid_name(c->name))
        why = "invalid plugin name (allowed: letters, digits, '_', '-', '.')";
    else if (c->kind != ETWHOST_KIND_FILTER && c->kind != ETWHOST_KIND_SINK)
        why = "unknown plugin kind";
    else if (c->create == NULL)
        why = "descriptor has no create()";
    else if (c->kind == ETWHOST_KIND_FILTER && c->process == NULL)
        why = "filter descriptor has no process()";
    else if (c->kind == ETWHOST_KIND_SINK && c->write == NULL)
        why = "sink descriptor has no write()";
    else if (c->kind == ETWHOST_KIND_FILTER && c->stage != ETWHOST_STAGE_EVENT &&
             c->stage != ETWHOST_STAGE_RECORD)
        why = "unknown filter stage";
    if (why) {
        plugin_lib_release(lib);
        return errbuf_set(eb, ERR_PLUGIN, "plugin %s (%s %s) rejected: %s", path, name, version,
                          why);
    }
    *out = lib;
    return 0;
}

void plugin_lib_release(struct plugin_lib *lib)
{
    if (lib == NULL || --lib->refs > 0)
        return;
    plat_dl_close(lib->handle);
    mem_free(lib->path);
    mem_free(lib);
}

int plugin_find(const char *name, const char *const *dirs, size_t ndirs, char *out, size_t cap,
                struct errbuf *eb)
{
    char searched[768] = "";
    size_t used = 0;
    for (size_t i = 0; i < ndirs; i++) {
        snprintf(out, cap, "%s/%s%s", dirs[i], name, plat_dl_suffix());
        if (plat_is_file(out))
            return 0;
        int n = snprintf(searched + used, sizeof searched - used, "%s%s", i ? ", " : "", dirs[i]);
        if (n > 0 && (size_t)n < sizeof searched - used)
            used += (size_t)n;
    }
    out[0] = '\0';
    return errbuf_set(eb, ERR_NOTFOUND, "plugin '%s' not found (looked for %s%s in: %s)", name,
                      name, plat_dl_suffix(), ndirs ? searched : "no plugin directories");
}

const char *const *plugin_builtin_dirs(size_t *n)
{
    static char d1[4200], d2[4200];
    static const char *dirs[2];
    if (dirs[0] == NULL) {
        snprintf(d1, sizeof d1, "%s/plugins", plat_exe_dir());
        snprintf(d2, sizeof d2, "%s/../lib/etwhost/plugins", plat_exe_dir());
        dirs[0] = d1;
        dirs[1] = d2;
    }
    *n = 2;
    return dirs;
}
