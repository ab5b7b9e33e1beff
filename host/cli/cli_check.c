/*
 * cli_check: "etwhost check -c DIR" loads and validates a config folder and
 * prints what it amounts to.
 */
#include "cli_check.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "../plugin/instance.h"
#include "../plugin/loader.h"
#include "../source/source.h"
#include "config/config.h"
#include "core/log.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: etwhost check -c DIR\n"
            "\n"
            "Validate the config folder DIR (DIR/etwhost.json plus DIR/conf.d/*.json) and\n"
            "print the sources, the plugin instances in chain order and the plugin dirs.\n"
            "Exit status: 0 valid, 2 usage error or invalid configuration (one line on\n"
            "stderr naming file:line:column).\n"
            "\n"
            "options:\n"
            "  -c, --config DIR   the config folder\n"
            "  -h, --help         this text\n");
}

static const char *level_name(int level)
{
    switch (level) {
    case LOG_ERROR: return "error";
    case LOG_WARN: return "warn";
    case LOG_DEBUG: return "debug";
    default: return "info";
    }
}

void cli_check_summary(const struct cfg *c, FILE *f)
{
    fprintf(f, "config folder: %s\n", c->dir);
    fprintf(f, "files (%zu):\n", c->n_files);
    for (size_t i = 0; i < c->n_files; i++)
        fprintf(f, "  %s\n", c->files[i]);
    fprintf(f, "plugin dirs (%zu):\n", c->n_plugin_dirs);
    for (size_t i = 0; i < c->n_plugin_dirs; i++)
        fprintf(f, "  %s\n", c->plugin_dirs[i]);
    fprintf(f, "state dir: %s\n", c->state_dir);
    fprintf(f, "host: log_level=%s stats_interval=%u batch_size=%u queue_depth=%u "
               "retry=%u..%u ms on_sink_error=%s\n",
            level_name(c->log_level), (unsigned)c->stats_interval, (unsigned)c->batch_size,
            (unsigned)c->queue_depth, (unsigned)c->retry_initial_ms, (unsigned)c->retry_max_ms,
            c->on_sink_error_continue ? "continue" : "stop");
    if (c->n_manifests) {
        fprintf(f, "manifests (%zu):\n", c->n_manifests);
        for (size_t i = 0; i < c->n_manifests; i++)
            fprintf(f, "  %s\n", c->manifests[i]);
    }
    fprintf(f, "sources (%zu):\n", c->n_sources);
    for (size_t i = 0; i < c->n_sources; i++)
        fprintf(f, "  %s (type %s) at %s\n", c->sources[i].name, c->sources[i].type,
                c->sources[i].origin);
    fprintf(f, "instances in chain order (%zu):\n", c->n_instances);
    for (size_t i = 0; i < c->n_instances; i++) {
        const struct cfg_instance *in = &c->instances[i];
        fprintf(f, "  %zu. %s (plugin %s", i + 1, in->name, in->plugin);
        if (in->path)
            fprintf(f, ", path %s", in->path);
        fprintf(f, ") at %s\n", in->origin);
        /* Keys only: values may be secrets expanded from the environment. */
        if (json_object_size(in->settings)) {
            const char *k;
            json_t *v;
            int first = 1;
            fprintf(f, "     settings:");
            json_object_foreach(in->settings, k, v) {
                fprintf(f, "%s %s", first ? "" : ",", k);
                first = 0;
            }
            fprintf(f, "\n");
        }
    }
}

/*
 * Open and close every source: validates type, keys and values (paths that
 * match nothing, bad options) without reading any event.
 */
static int check_sources(const struct cfg *c, struct errbuf *eb)
{
    for (size_t i = 0; i < c->n_sources; i++) {
        struct source *s = NULL;
        int rc = source_create(c, c->sources[i].obj, c->sources[i].name, (uint32_t)i, &s, eb);
        source_destroy(s);
        if (rc)
            return rc;
    }
    return 0;
}

/*
 * Find and load (ABI check) each instance's plugin and check its settings
 * keys.  Instances are not created: that could open files or connect.
 */
static int check_plugins(const struct cfg *c, struct errbuf *eb)
{
    for (size_t i = 0; i < c->n_instances; i++) {
        const struct cfg_instance *ci = &c->instances[i];
        char path[4096];
        int rc;
        if (ci->path) {
            snprintf(path, sizeof path, "%s", ci->path);
        } else {
            const char *dirs[80];
            size_t n = 0, nb;
            for (size_t k = 0; k < c->n_plugin_dirs && n < 64; k++)
                dirs[n++] = c->plugin_dirs[k];
            const char *const *b = plugin_builtin_dirs(&nb);
            for (size_t k = 0; k < nb; k++)
                dirs[n++] = b[k];
            rc = plugin_find(ci->plugin, dirs, n, path, sizeof path, eb);
            if (rc) {
                errbuf_prefix(eb, "%s: instance \"%s\": ", ci->origin, ci->name);
                return rc;
            }
        }
        struct plugin_lib *lib;
        rc = plugin_lib_open(path, &lib, eb);
        if (rc) {
            errbuf_prefix(eb, "%s: instance \"%s\": ", ci->origin, ci->name);
            return rc;
        }
        char what[256];
        snprintf(what, sizeof what, "settings of instance \"%s\" (plugin %s)", ci->name,
                 lib->desc.name);
        rc = cfg_check_keys(c, ci->settings, lib->desc.settings_keys, what, eb);
        plugin_lib_release(lib);
        if (rc)
            return rc;
    }
    return 0;
}

int cli_check(int argc, char **argv)
{
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc) {
            dir = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            dir = a + 9;
        } else {
            fprintf(stderr, "etwhost check: unexpected argument '%s'\n", a);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (dir == NULL || dir[0] == '\0') {
        fprintf(stderr, "etwhost check: missing -c DIR (the config folder)\n");
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    cfg_global_init();
    struct cfg *c;
    struct errbuf eb;
    eb.msg[0] = '\0';
    int rc = cfg_load(dir, &c, &eb);
    if (rc) {
        log_error("%s", eb.msg);
        return CLI_EXIT_USAGE;
    }

    rc = check_sources(c, &eb);
    if (rc == 0)
        rc = check_plugins(c, &eb);
    plugin_libs_cleanup();
    if (rc) {
        log_error("%s", eb.msg);
        cfg_free(c);
        return CLI_EXIT_USAGE;
    }

    cli_check_summary(c, stdout);
    printf("ok: %s is valid\n", dir);
    cfg_free(c);
    return CLI_EXIT_OK;
}
