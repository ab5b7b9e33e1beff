/*
 * cli_archive: `etwhost archive verify|repair|info FILE`.
 *
 *   verify FILE          check every frame, block and record, the footer and
 *                        the index; one line per problem ("offset 0x...:
 *                        block N: what") and a summary.  Exit 0 only for a
 *                        complete, undamaged archive; 1 otherwise.
 *   repair FILE [-o OUT] copy every good frame into a new file with a fresh
 *                        index and footer.  Without -o, FILE is replaced
 *                        atomically (FILE.repair.tmp, synced, renamed).
 *                        Exit 0 when the result is complete (damaged blocks
 *                        are dropped and listed), 1 on failure.
 *   info FILE            events, providers (with event counts), time range,
 *                        blocks, schemas and the compression ratio.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../archive/archive_reader.h"
#include "../core/log.h"
#include "../core/mem.h"
#include "../core/text.h"
#include "cli.h"
#include "cli_archive.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: etwhost archive verify FILE\n"
               "       etwhost archive repair FILE [-o OUT]\n"
               "       etwhost archive info FILE\n"
               "\n"
               "verify  check every checksum, block and record, the index and the footer;\n"
               "        print each problem with its file offset; exit 1 if there is any\n"
               "repair  keep every good frame, drop damaged ones, write a new index and\n"
               "        footer (in place, atomically, unless -o OUT is given)\n"
               "info    events, providers, time range, blocks, compression ratio\n");
}

static void print_line(void *ctx, const char *line)
{
    fprintf((FILE *)ctx, "%s\n", line);
}

static void fmt_time(int64_t ft, char out[40])
{
    if (text_filetime_rfc3339(out, ft) == TEXT_RFC3339_LEN)
        out[TEXT_RFC3339_LEN] = '\0';
    else
        snprintf(out, 40, "%" PRId64, ft);
}

static int do_verify(const char *path)
{
    struct archive_check c;
    struct errbuf eb;
    int rc = archive_verify(path, &c, print_line, stdout, &eb);
    if (rc) {
        log_error("%s", eb.msg);
        return CLI_EXIT_FAIL;
    }
    printf("%s: %" PRIu64 " blocks (%" PRIu64 " good, %" PRIu64 " damaged), %" PRIu64
           " events in good blocks, %" PRIu64 " schemas (%" PRIu64 " damaged), %" PRIu64
           " dictionaries, %" PRIu64 " damaged bytes; footer %s, index %s\n",
           path, c.blocks, c.good_blocks, c.bad_blocks, c.events, c.schemas, c.bad_schemas,
           c.dicts, c.damaged_bytes, c.has_footer ? "present" : "missing",
           c.index_ok ? "matches" : "missing or wrong");
    if (c.problems) {
        printf("%s: %d problem%s found\n", path, c.problems, c.problems == 1 ? "" : "s");
        return CLI_EXIT_FAIL;
    }
    printf("%s: OK\n", path);
    return CLI_EXIT_OK;
}

static int do_repair(const char *path, const char *out)
{
    struct archive_check c;
    struct errbuf eb;
    int rc = archive_repair(path, out, &c, print_line, stdout, &eb);
    if (rc) {
        log_error("%s", eb.msg);
        return CLI_EXIT_FAIL;
    }
    printf("%s: kept %" PRIu64 " blocks (%" PRIu64 " events), %" PRIu64 " schemas, %" PRIu64
           " dictionaries; dropped %" PRIu64 " damaged blocks and %" PRIu64
           " damaged bytes; wrote a new index and footer to %s\n",
           path, c.good_blocks, c.events, c.schemas, c.dicts, c.bad_blocks, c.damaged_bytes,
           out ? out : path);
    return CLI_EXIT_OK;
}

static int do_info(const char *path)
{
    struct archive_reader *ar;
    struct errbuf eb;
    int rc = archive_open(path, NULL, &ar, &eb);
    if (rc) {
        log_error("%s", eb.msg);
        return CLI_EXIT_FAIL;
    }
    size_t np = archive_provider_count(ar);
    /* Providers can appear while reading (scan and index list them first). */
    uint64_t *counts = NULL;
    size_t ncounts = 0;
    struct record rec;
    int64_t tmin = 0, tmax = 0;
    uint64_t n = 0;
    while ((rc = archive_next(ar, &rec, &eb)) == 1) {
        if (n == 0 || rec.timestamp < tmin)
            tmin = rec.timestamp;
        if (n == 0 || rec.timestamp > tmax)
            tmax = rec.timestamp;
        n++;
        np = archive_provider_count(ar);
        if (np > ncounts) {
            uint64_t *nc = mem_realloc(counts, np * sizeof *nc);
            if (nc == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            memset(nc + ncounts, 0, (np - ncounts) * sizeof *nc);
            counts = nc;
            ncounts = np;
        }
        for (size_t i = 0; i < np; i++) {
            etwhost_guid g;
            const char *name = archive_provider(ar, i, &g);
            if (name == rec.provider_name) {
                counts[i]++;
                break;
            }
        }
    }
    if (rc < 0) {
        log_error("%s", eb.msg);
        mem_free(counts);
        archive_close(ar);
        return CLI_EXIT_FAIL;
    }
    struct archive_stats st;
    archive_get_stats(ar, &st);
    unsigned ma, mi;
    archive_version(ar, &ma, &mi);
    uint64_t size = archive_file_size(ar);
    char a[40], b[40];
    fmt_time(tmin, a);
    fmt_time(tmax, b);
    printf("file:         %s\n", path);
    printf("format:       %u.%u, %s\n", ma, mi,
           st.indexed ? "complete (footer and index)" : "no usable index (scanned)");
    printf("size:         %" PRIu64 " bytes\n", size);
    printf("events:       %" PRIu64 "\n", n);
    printf("time range:   %s .. %s\n", n ? a : "-", n ? b : "-");
    printf("blocks:       %" PRIu64 " (%" PRIu64 " damaged)\n", st.blocks, st.bad_blocks);
    printf("schemas:      %zu\n", archive_schema_count(ar));
    printf("raw records:  %" PRIu64 " bytes\n", st.raw_bytes);
    printf("compression:  %.2fx (raw record bytes / file size)\n",
           size ? (double)st.raw_bytes / (double)size : 0.0);
    printf("providers:    %zu\n", ncounts);
    for (size_t i = 0; i < ncounts; i++) {
        etwhost_guid g;
        const char *name = archive_provider(ar, i, &g);
        char gs[37];
        guid_format(&g, gs);
        printf("  %12" PRIu64 "  {%s}  %s\n", counts[i], gs, name[0] ? name : "(no name)");
    }
    mem_free(counts);
    archive_close(ar);
    return st.bad_blocks || st.bad_frames ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int cli_archive(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    const char *cmd = argv[1], *file = NULL, *out = NULL;
    for (int i = 2; i < argc; i++) {
        if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) && i + 1 < argc &&
            strcmp(cmd, "repair") == 0) {
            out = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "etwhost archive: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return CLI_EXIT_USAGE;
        } else if (file == NULL) {
            file = argv[i];
        } else {
            fprintf(stderr, "etwhost archive: one FILE at a time\n");
            return CLI_EXIT_USAGE;
        }
    }
    if (file == NULL) {
        fprintf(stderr, "etwhost archive %s: missing FILE\n", cmd);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(cmd, "verify") == 0)
        return do_verify(file);
    if (strcmp(cmd, "repair") == 0)
        return do_repair(file, out);
    if (strcmp(cmd, "info") == 0)
        return do_info(file);
    fprintf(stderr, "etwhost archive: unknown command '%s' (verify, repair, info)\n", cmd);
    return CLI_EXIT_USAGE;
}
