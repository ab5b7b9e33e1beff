/*
 * cli_run: `etwhost run -c DIR` — run the sources of a config folder through
 * its chain until they end or a signal stops them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../chain/chain.h"
#include "../config/config.h"
#include "../core/log.h"
#include "../core/mem.h"
#include "../platform/platform.h"
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: etwhost run -c DIR [options]\n"
            "\n"
            "Run the sources of the config folder DIR through its filters and sinks until\n"
            "every source ends or SIGINT/SIGTERM arrives (then drain, flush, close, exit 0).\n"
            "SIGHUP reloads DIR's filters and sinks between batches, losing nothing.\n"
            "\n"
            "options:\n"
            "  -c, --config DIR     config folder (etwhost.json + conf.d/*.json)\n"
            "  --stats[=N]          also print per-instance counters every N seconds (default\n"
            "                       10); the table always ends a run unless -q\n"
            "  --log-level LEVEL    error, warn, info (default) or debug\n"
            "  -q, --quiet          no summary and no counters table at exit\n"
            "  -h, --help           this text\n");
}

/* Open every configured source; on failure destroy those opened. */
static int open_sources(const struct cfg *cfg, struct source ***out, struct errbuf *eb)
{
    struct source **v = mem_calloc(cfg->n_sources ? cfg->n_sources : 1, sizeof *v);
    if (v == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < cfg->n_sources; i++) {
        int rc = source_create(cfg, cfg->sources[i].obj, cfg->sources[i].name, (uint32_t)i, &v[i],
                               eb);
        if (rc) {
            for (size_t j = 0; j < i; j++)
                source_destroy(v[j]);
            mem_free(v);
            return rc;
        }
    }
    *out = v;
    return 0;
}

int cli_run(int argc, char **argv)
{
    const char *dir = NULL;
    int stats = -1, quiet = 0;
    const char *level = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(a, "--stats") == 0)
            stats = 10;
        else if (strncmp(a, "--stats=", 8) == 0)
            stats = atoi(a + 8);
        else if (strcmp(a, "--log-level") == 0 && i + 1 < argc)
            level = argv[++i];
        else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
            quiet = 1;
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else {
            fprintf(stderr, "etwhost run: unknown option '%s'\n", a);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (dir == NULL) {
        fprintf(stderr, "etwhost run: missing -c DIR (the config folder)\n");
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (stats < -1 || stats > 86400 * 365) {
        fprintf(stderr, "etwhost run: bad --stats interval\n");
        return CLI_EXIT_USAGE;
    }

    cfg_global_init();
    struct errbuf eb;
    struct cfg *cfg = NULL;
    int rc = cfg_load(dir, &cfg, &eb);
    if (rc) {
        log_error("%s", eb.msg);
        return CLI_EXIT_USAGE;
    }
    log_set_level(cfg->log_level);
    if (level) {
        int l = log_level_parse(level);
        if (l < 0) {
            log_error("unknown --log-level '%s' (error, warn, info, debug)", level);
            cfg_free(cfg);
            return CLI_EXIT_USAGE;
        }
        log_set_level(l);
    }
    if (cfg->n_sources == 0) {
        log_error("%s/etwhost.json: no sources configured (add e.g. "
                  "\"sources\": [{\"type\": \"synthetic\"}])",
                  dir);
        cfg_free(cfg);
        return CLI_EXIT_USAGE;
    }
    struct source **sources = NULL;
    struct chain *chain = NULL;
    rc = open_sources(cfg, &sources, &eb);
    if (rc == 0) {
        rc = chain_build(cfg, NULL, 0, &chain, &eb);
        if (rc) {
            for (size_t i = 0; i < cfg->n_sources; i++)
                source_destroy(sources[i]);
            mem_free(sources);
            sources = NULL;
        }
    }
    if (rc) {
        log_error("%s", eb.msg);
        cfg_free(cfg);
        plugin_libs_cleanup();
        return CLI_EXIT_USAGE;
    }

    struct run_options opt;
    memset(&opt, 0, sizeof opt);
    opt.stats_interval = stats > 0 ? (uint32_t)stats : cfg->stats_interval;
    opt.stats_at_exit = !quiet; /* the per-instance table always ends a run */
    opt.reload_dir = dir;
    struct run_totals tot;
    memset(&tot, 0, sizeof tot);
    rc = chain_run(cfg, sources, cfg->n_sources, &chain, &opt, &tot, &eb);
    if (rc)
        log_error("%s", eb.msg);
    char nd[96];
    if (!quiet)
        log_info("%llu events in %.2f s: %llu delivered, %llu filtered, %llu lost; decoded %llu, "
                 "partial %llu, undecoded %llu%s",
                 (unsigned long long)tot.records, tot.seconds,
                 (unsigned long long)tot.delivered, (unsigned long long)tot.filtered,
                 (unsigned long long)tot.lost, (unsigned long long)tot.decoded,
                 (unsigned long long)tot.partial, (unsigned long long)tot.undecoded,
                 run_not_decoded_text(&tot, nd, sizeof nd));
    chain_destroy(chain);
    for (size_t i = 0; i < cfg->n_sources; i++)
        source_destroy(sources[i]);
    mem_free(sources);
    cfg_free(cfg);
    plugin_libs_cleanup();
    return rc || tot.failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
