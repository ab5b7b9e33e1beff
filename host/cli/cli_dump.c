/*
 * cli_dump: `etwhost dump FILE...` (canonical JSON lines on stdout) and
 * `etwhost convert IN... -o OUT` (JSON lines or an event archive).  Both run
 * the normal chain (etl or archive source -> decode -> stdout, file or
 * archive sink) and print a summary on stderr: events, decoded, partially
 * decoded, undecoded, lost according to the file headers, seconds.
 * Progress is shown on a terminal.
 *
 * Inputs are told apart by their first bytes: archives (.etwa) start with
 * the archive magic, everything else is read as .etl.  One command reads
 * one kind.  --since/--until/--provider select events of archives, reading
 * only the blocks that can hold them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../archive/archive_reader.h"
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
    int archives;            /* inputs are archives */
    const char *since, *until, *provider;
    const char *out_format;  /* convert: jsonl | archive (NULL = by extension) */
    int level, block_kb, dictionary;
    int sync;                /* convert: fsync OUT before exiting */
};

static void usage_dump(FILE *f)
{
    fprintf(f, "usage: etwhost dump [options] FILE...\n"
               "\n"
               "Decode .etl files or event archives (.etwa) and print one canonical JSON\n"
               "line per event on stdout.  A summary (events, decoded, partial, undecoded,\n"
               "lost per the file header, seconds) goes to stderr.\n"
               "\n"
               "options:\n"
               "  --manifest FILE   load an instrumentation manifest (repeatable)\n"
               "  --since T         archives: events at or after T (RFC 3339 UTC or FILETIME)\n"
               "  --until T         archives: events at or before T\n"
               "  --provider P      archives: events of provider P (name or GUID)\n"
               "  --order time|file timestamp order across CPUs (default) or file order\n"
               "  --text            compact one-line text instead of JSON\n"
               "  --stats           per-instance counters at exit\n"
               "  -q, --quiet       no progress, no summary\n");
}

static void usage_convert(FILE *f)
{
    fprintf(f, "usage: etwhost convert [options] IN... -o OUT\n"
               "\n"
               "Decode .etl files or archives into OUT: JSON lines (OUT ending in .jsonl or\n"
               ".json) or an event archive (OUT ending in .etwa).  OUT must not exist unless\n"
               "--force is given.\n"
               "\n"
               "options:\n"
               "  -o, --output OUT  output file\n"
               "  --format F        jsonl | archive (default: by OUT's extension)\n"
               "  --level N         archive: zstd level 1..19 (default 6)\n"
               "  --block-kb N      archive: uncompressed block size in KiB (default 16384)\n"
               "  --dictionary      archive: train a zstd dictionary for the blocks\n"
               "  --since T, --until T, --provider P   select events of archive inputs\n"
               "  --manifest FILE   load an instrumentation manifest (repeatable)\n"
               "  --order time|file timestamp order across CPUs (default) or file order\n"
               "  --force           replace OUT if it exists\n"
               "  --sync            force OUT to disk (fsync) before exiting; by default the\n"
               "                    system writes it back in its own time, as cp does\n"
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
        } else if (strcmp(s, "--since") == 0 && i + 1 < argc) {
            a->since = argv[++i];
        } else if (strcmp(s, "--until") == 0 && i + 1 < argc) {
            a->until = argv[++i];
        } else if (strcmp(s, "--provider") == 0 && i + 1 < argc) {
            a->provider = argv[++i];
        } else if (convert && strcmp(s, "--format") == 0 && i + 1 < argc) {
            a->out_format = argv[++i];
            if (strcmp(a->out_format, "jsonl") != 0 && strcmp(a->out_format, "archive") != 0) {
                fprintf(stderr, "etwhost: --format must be 'jsonl' or 'archive'\n");
                return -1;
            }
        } else if (convert && strcmp(s, "--level") == 0 && i + 1 < argc) {
            a->level = atoi(argv[++i]);
            if (a->level < 1 || a->level > 19) {
                fprintf(stderr, "etwhost: --level must be 1..19\n");
                return -1;
            }
        } else if (convert && strcmp(s, "--block-kb") == 0 && i + 1 < argc) {
            a->block_kb = atoi(argv[++i]);
            if (a->block_kb < 16 || a->block_kb > 262144) {
                fprintf(stderr, "etwhost: --block-kb must be 16..262144\n");
                return -1;
            }
        } else if (convert && strcmp(s, "--dictionary") == 0) {
            a->dictionary = 1;
        } else if (!convert && strcmp(s, "--text") == 0) {
            a->format = "text";
        } else if (convert && (strcmp(s, "-o") == 0 || strcmp(s, "--output") == 0) &&
                   i + 1 < argc) {
            a->out = argv[++i];
        } else if (convert && strcmp(s, "--force") == 0) {
            a->force = 1;
        } else if (convert && strcmp(s, "--sync") == 0) {
            a->sync = 1;
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
    size_t narch = 0;
    for (size_t i = 0; i < a->ninputs; i++)
        narch += (size_t)archive_is_archive(a->inputs[i]);
    if (narch && narch != a->ninputs) {
        fprintf(stderr, "etwhost: inputs mix archives and .etl files; give one kind at a time\n");
        return -1;
    }
    a->archives = narch > 0;
    if (!a->archives && (a->since || a->until || a->provider)) {
        fprintf(stderr, "etwhost: --since, --until and --provider apply to archive inputs\n");
        return -1;
    }
    int64_t t;
    if ((a->since && archive_parse_time(a->since, &t)) ||
        (a->until && archive_parse_time(a->until, &t))) {
        fprintf(stderr, "etwhost: --since/--until take an RFC 3339 UTC time like "
                        "2026-01-01T00:00:00Z or a FILETIME integer\n");
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
    json_t *src_obj = a->archives ? json_pack("{s:s, s:[]}", "type", "archive", "path")
                                  : json_pack("{s:s, s:[], s:s}", "type", "etl", "path", "order",
                                              a->file_order ? "file" : "time");
    if (src_obj && a->since)
        json_object_set_new(src_obj, "since", json_string(a->since));
    if (src_obj && a->until)
        json_object_set_new(src_obj, "until", json_string(a->until));
    if (src_obj && a->provider)
        json_object_set_new(src_obj, "provider", json_string(a->provider));
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
    rc = source_create(NULL, src_obj, a->archives ? "archive" : "etl", 0, &src, &eb);
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
    char nd[96];
    if (!a->quiet)
        fprintf(stderr,
                "etwhost: %llu events: %llu decoded, %llu partially decoded, %llu undecoded%s; "
                "%llu lost according to the file header; %.2f s\n",
                (unsigned long long)t.records, (unsigned long long)t.decoded,
                (unsigned long long)t.partial, (unsigned long long)t.undecoded,
                run_not_decoded_text(&t, nd, sizeof nd),
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
    /* `etwhost dump x.etl | head` ends quietly when head exits, like any filter tool. */
    plat_signals_install();
    plat_signals_quiet_pipe();
    return run_job(&a, "stdout", settings);
}

int cli_convert(int argc, char **argv)
{
    struct dump_args a;
    int rc = parse(argc, argv, &a, 1);
    if (rc)
        return rc > 0 ? CLI_EXIT_OK : (usage_convert(stderr), CLI_EXIT_USAGE);
    int archive = 0;
    if (a.out_format)
        archive = strcmp(a.out_format, "archive") == 0;
    else if (ends_with(a.out, ".etwa"))
        archive = 1;
    else if (!ends_with(a.out, ".jsonl") && !ends_with(a.out, ".json")) {
        log_error("%s: unknown output format (use a name ending in .jsonl or .etwa, or "
                  "--format)",
                  a.out);
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
    json_t *settings = json_pack("{s:s, s:s}", "path", a.out, "fsync", a.sync ? "rotate" : "never");
    /*
     * OUT is new and only this process writes it: reserving its space ahead is
     * safe, and its pages need not stay in the page cache once written.
     */
    if (!archive && settings) {
        json_object_set_new(settings, "preallocate", json_string("16M"));
        json_object_set_new(settings, "drop_behind", json_string("8M"));
    }
    if (archive && settings) {
        if (a.level)
            json_object_set_new(settings, "level", json_integer(a.level));
        if (a.block_kb)
            json_object_set_new(settings, "block_kb", json_integer(a.block_kb));
        if (a.dictionary)
            json_object_set_new(settings, "dictionary", json_true());
        /* A conversion keeps everything in one file. */
        json_object_set_new(settings, "block_seconds", json_integer(0));
    }
    return run_job(&a, archive ? "archive" : "file", settings);
}
