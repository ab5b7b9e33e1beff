/*
 * cli_dump: `etwhost dump FILE...` (canonical JSON lines on stdout) and
 * `etwhost convert IN... -o OUT` (JSON lines into a file).  Both run the
 * normal chain (etl source -> decode -> stdout or file sink) and print a
 * summary on stderr: events, decoded, partially decoded, undecoded, lost
 * according to the file headers, seconds.  Progress is shown on a terminal.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "../chain/chain.h"
#include "../config/config.h"
#include "../core/log.h"
#include "../core/mem.h"
#include "../platform/platform.h"
#include "cli.h"

struct dump_args {
    const char *inputs[256];
    size_t ninputs;
    const char *manifests[64];
    size_t nmanifests;
    const char *out;
    const char *format; /* stdout format: json | text */
    int file_order, force, quiet, stats;
};

static void usage_dump(FILE *f)
{
    fprintf(f, "usage: etwhost dump [options] FILE...\n"
               "\n"
               "Decode .etl files and print one canonical JSON line per event on stdout.\n"
               "A summary (events, decoded, partial, undecoded, lost per the file header,\n"
               "seconds) goes to stderr.\n"
               "\n"
               "options:\n"
               "  --manifest FILE   load an instrumentation manifest (repeatable)\n"
               "  --order time|file timestamp order across CPUs (default) or file order\n"
               "  --text            compact one-line text instead of JSON\n"
               "  --stats           per-instance counters at exit\n"
               "  -q, --quiet       no progress, no summary\n");
}

static void usage_convert(FILE *f)
{
    fprintf(f, "usage: etwhost convert [options] IN... -o OUT\n"
               "\n"
               "Decode .etl files into OUT as JSON lines (OUT ending in .jsonl or .json).\n"
               "OUT must not exist unless --force is given.\n"
               "\n"
               "options:\n"
               "  -o, --output OUT  output file\n"
               "  --manifest FILE   load an instrumentation manifest (repeatable)\n"
               "  --order time|file timestamp order across CPUs (default) or file order\n"
               "  --force           replace OUT if it exists\n"
               "  -q, --quiet       no progress, no summary\n");
}

static int parse(int argc, char **argv, struct dump_args *a, int convert)
{
    memset(a, 0, sizeof *a);
    a->format = "json";
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            convert ? usage_convert(stdout) : usage_dump(stdout);
            return 1;
        } else if (strcmp(s, "--manifest") == 0 && i + 1 < argc) {
            if (a->nmanifests == 64)
                return -1;
            a->manifests[a->nmanifests++] = argv[++i];
        } else if (strcmp(s, "--order") == 0 && i + 1 < argc) {
            const char *o = argv[++i];
            if (strcmp(o, "file") == 0)
                a->file_order = 1;
            else if (strcmp(o, "time") != 0) {
                fprintf(stderr, "etwhost: --order must be 'time' or 'file'\n");
                return -1;
            }
        } else if (!convert && strcmp(s, "--text") == 0) {
            a->format = "text";
        } else if (convert && (strcmp(s, "-o") == 0 || strcmp(s, "--output") == 0) &&
                   i + 1 < argc) {
            a->out = argv[++i];
        } else if (convert && strcmp(s, "--force") == 0) {
            a->force = 1;
        } else if (strcmp(s, "--stats") == 0) {
            a->stats = 1;
        } else if (strcmp(s, "-q") == 0 || strcmp(s, "--quiet") == 0) {
            a->quiet = 1;
        } else if (s[0] == '-' && s[1] != '\0') {
            fprintf(stderr, "etwhost: unknown option '%s'\n", s);
            return -1;
        } else {
            if (a->ninputs == 256) {
                fprintf(stderr, "etwhost: too many input files (max 256; use a glob in a config)\n");
                return -1;
            }
            a->inputs[a->ninputs++] = s;
        }
    }
    if (a->ninputs == 0) {
        fprintf(stderr, "etwhost: no input files\n");
        return -1;
    }
    if (convert && a->out == NULL) {
        fprintf(stderr, "etwhost convert: missing -o OUT\n");
        return -1;
    }
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t l = strlen(s), k = strlen(suffix);
    return l >= k && strcmp(s + l - k, suffix) == 0;
}

/* Run inputs through one sink instance (plugin with settings). */
static int run_job(const struct dump_args *a, const char *plugin, json_t *settings)
{
    struct errbuf eb;
    int rc;
    cfg_global_init();
    json_t *src_obj = json_pack("{s:s, s:[], s:s}", "type", "etl", "path", "order",
                                a->file_order ? "file" : "time");
    if (src_obj == NULL) {
        json_decref(settings);
        log_error("out of memory");
        return CLI_EXIT_FAIL;
    }
    json_t *paths = json_object_get(src_obj, "path");
    for (size_t i = 0; i < a->ninputs; i++)
        json_array_append_new(paths, json_string(a->inputs[i]));

    struct source *src = NULL;
    struct chain *chain = NULL;
    rc = source_create(NULL, src_obj, "etl", 0, &src, &eb);
    if (rc == 0) {
        struct cfg_instance ci;
        memset(&ci, 0, sizeof ci);
        ci.name = (char *)(uintptr_t)plugin;
        ci.plugin = (char *)(uintptr_t)plugin;
        ci.settings = settings;
        ci.origin = (char *)(uintptr_t)"command line";
        ci.file = ci.origin;
        rc = chain_build(NULL, &ci, 1, &chain, &eb);
    }
    json_decref(settings);
    json_decref(src_obj);
    if (rc) {
        log_error("%s", eb.msg);
        source_destroy(src);
        plugin_libs_cleanup();
        return rc == ERR_NOTFOUND || rc == ERR_FORMAT || rc == ERR_IO ? CLI_EXIT_FAIL
                                                                       : CLI_EXIT_USAGE;
    }
    struct run_options opt;
    memset(&opt, 0, sizeof opt);
    opt.progress = !a->quiet && plat_isatty(stderr);
    opt.stats_at_exit = a->stats;
    opt.manifests = a->manifests;
    opt.n_manifests = a->nmanifests;
    struct run_totals t;
    memset(&t, 0, sizeof t);
    rc = chain_run(NULL, &src, 1, &chain, &opt, &t, &eb);
    if (rc)
        log_error("%s", eb.msg);
    if (!a->quiet)
        fprintf(stderr,
                "etwhost: %llu events: %llu decoded, %llu partially decoded, %llu undecoded; "
                "%llu lost according to the file header; %.2f s\n",
                (unsigned long long)t.records, (unsigned long long)t.decoded,
                (unsigned long long)t.partial, (unsigned long long)t.undecoded,
                (unsigned long long)t.header_events_lost, t.seconds);
    chain_destroy(chain);
    source_destroy(src);
    plugin_libs_cleanup();
    return rc || t.failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int cli_dump(int argc, char **argv)
{
    struct dump_args a;
    int rc = parse(argc, argv, &a, 0);
    if (rc)
        return rc > 0 ? CLI_EXIT_OK : (usage_dump(stderr), CLI_EXIT_USAGE);
    json_t *settings = json_pack("{s:s}", "format", a.format);
    return run_job(&a, "stdout", settings);
}

int cli_convert(int argc, char **argv)
{
    struct dump_args a;
    int rc = parse(argc, argv, &a, 1);
    if (rc)
        return rc > 0 ? CLI_EXIT_OK : (usage_convert(stderr), CLI_EXIT_USAGE);
    if (!ends_with(a.out, ".jsonl") && !ends_with(a.out, ".json")) {
        log_error("%s: unknown output format (use a name ending in .jsonl)", a.out);
        return CLI_EXIT_USAGE;
    }
    if (plat_is_file(a.out)) {
        if (!a.force) {
            log_error("%s exists; not overwriting it (use --force)", a.out);
            return CLI_EXIT_USAGE;
        }
        if (plat_remove(a.out)) {
            log_error("%s: cannot remove the existing file", a.out);
            return CLI_EXIT_FAIL;
        }
    }
    json_t *settings = json_pack("{s:s}", "path", a.out);
    return run_job(&a, "file", settings);
}
