/*
 * cli_plugins: `etwhost plugins` lists the plugin libraries found in the
 * plugin directories with their ABI; `--check FILE` validates one library.
 */
#include <stdio.h>
#include <string.h>

#include "../config/config.h"
#include "../core/log.h"
#include "../core/mem.h"
#include "../platform/platform.h"
#include "../plugin/loader.h"
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: etwhost plugins [-c DIR]      list plugins in DIR's plugin dirs and the\n"
               "                                    built-in dirs, with their ABI\n"
               "       etwhost plugins --check FILE validate one plugin library\n");
}

static void describe(const struct plugin_lib *lib)
{
    const etwhost_plugin *d = &lib->desc;
    printf("%-16s %-8s %-6s ABI %u.%u  %s\n", d->name, d->version ? d->version : "?",
           plugin_kind_name(d->kind), (unsigned)d->abi_major, (unsigned)d->abi_minor,
           d->description ? d->description : "");
}

/* Check one file; print "ok" line or the rejection; 0 when accepted. */
static int check_one(const char *path, int verbose)
{
    struct plugin_lib *lib;
    struct errbuf eb;
    if (plugin_lib_open(path, &lib, &eb)) {
        printf("REJECT %s\n", eb.msg);
        return 1;
    }
    if (verbose) {
        const etwhost_plugin *d = &lib->desc;
        printf("OK %s: %s %s, %s%s, plugin ABI %u.%u (host %u.%u), descriptor %u bytes\n", path,
               d->name, d->version ? d->version : "?", plugin_kind_name(d->kind),
               d->kind == ETWHOST_KIND_FILTER
                   ? (d->stage == ETWHOST_STAGE_RECORD ? " (record stage)" : " (event stage)")
                   : "",
               (unsigned)d->abi_major, (unsigned)d->abi_minor, ETWHOST_ABI_MAJOR,
               ETWHOST_ABI_MINOR, (unsigned)lib->plugin_size);
    } else {
        describe(lib);
    }
    plugin_lib_release(lib);
    return 0;
}

int cli_plugins(int argc, char **argv)
{
    const char *dir = NULL, *check = NULL;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--check") == 0 && i + 1 < argc)
            check = argv[++i];
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else {
            fprintf(stderr, "etwhost plugins: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (check)
        return check_one(check, 1) ? CLI_EXIT_FAIL : CLI_EXIT_OK;

    const char *dirs[80];
    size_t n = 0, nb;
    struct cfg *cfg = NULL;
    struct errbuf eb;
    if (dir) {
        cfg_global_init();
        if (cfg_load(dir, &cfg, &eb)) {
            log_error("%s", eb.msg);
            return CLI_EXIT_USAGE;
        }
        for (size_t i = 0; i < cfg->n_plugin_dirs && n < 64; i++)
            dirs[n++] = cfg->plugin_dirs[i];
    }
    const char *const *b = plugin_builtin_dirs(&nb);
    for (size_t i = 0; i < nb; i++)
        dirs[n++] = b[i];
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        char **names;
        size_t cnt;
        if (plat_list_dir(dirs[i], plat_dl_suffix(), &names, &cnt, NULL) != 0)
            continue;
        printf("%s:\n", dirs[i]);
        for (size_t k = 0; k < cnt; k++) {
            char path[4400];
            snprintf(path, sizeof path, "%s/%s", dirs[i], names[k]);
            printf("  ");
            bad |= check_one(path, 0);
        }
        plat_free_list(names, cnt);
    }
    cfg_free(cfg);
    return bad ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
