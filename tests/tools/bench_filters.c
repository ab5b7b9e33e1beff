/*
 * bench_filters: the cost of one filter instance per event, measured on
 * decoded synthetic events held in memory (no source, no sink, no JSON),
 * calling each filter exactly as the pipeline does.
 *
 * usage: bench_filters PLUGIN_DIR [REPEATS]
 * Prints one line per rule: ns per filter per event.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config/config.h"
#include "core/arena.h"
#include "core/mem.h"
#include "decode/decode.h"
#include "event/event.h"
#include "platform/platform.h"
#include "plugin/instance.h"
#include "record/batch.h"
#include "schema/schema_cache.h"
#include "source/source.h"

#define NEV 4096

static const struct {
    const char *label;
    const char *rule;
} rules[] = {
    {"level_max (record stage)", "{\"level_max\": 5}"},
    {"provider + event_id list (record stage)",
     "{\"provider\": \"Etwhost-Synthetic-*\", \"event_id\": [1, 2, \"3-5\"]}"},
    {"keywords_any + not pid (record stage)",
     "{\"and\": [{\"keywords_any\": \"0xf0\"}, {\"not\": {\"pid\": [4]}}]}"},
    {"property numeric compare (event stage)", "{\"prop\": \"ProcessId\", \"gt\": 0}"},
    {"property regex (event stage)",
     "{\"prop\": \"ImageName\", \"regex\": \"(?i)powershell\"}"},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_filters PLUGIN_DIR [REPEATS]\n");
        return 2;
    }
    int repeats = argc > 2 ? atoi(argv[2]) : 200;
    cfg_global_init();
    struct errbuf eb;
    json_t *sobj = json_pack("{s:s, s:i, s:i}", "type", "synthetic", "count", NEV, "seed", 3);
    struct source *src;
    if (source_create(NULL, sobj, "synthetic", 0, &src, &eb)) {
        fprintf(stderr, "%s\n", eb.msg);
        return 1;
    }
    struct record_batch b;
    batch_init(&b, NEV);
    while (!batch_full(&b) && src->ops->read(src, &b, &eb) > 0)
        ;
    struct schema_cache *cache = schema_cache_new(0);
    struct decoder dec;
    decoder_init(&dec, cache);
    struct arena ar = ARENA_INIT;
    ar.chunk_size = 1 << 22;
    struct event *evs = mem_calloc(b.n, sizeof *evs);
    for (uint32_t i = 0; i < b.n; i++) {
        event_init(&evs[i], &ar);
        event_set_record(&evs[i], &b.recs[i], schema_cache_record_provider_name(cache, &b.recs[i]));
        decode_record(&dec, &b.recs[i], &evs[i]);
    }
    printf("%u decoded events, %d passes each\n", b.n, repeats);
    for (size_t k = 0; k < sizeof rules / sizeof rules[0]; k++) {
        char settings[512];
        snprintf(settings, sizeof settings, "{\"mode\": \"include\", \"rule\": %s}", rules[k].rule);
        json_error_t je;
        json_t *set = json_loads(settings, 0, &je);
        struct cfg c;
        memset(&c, 0, sizeof c);
        char *dirs[1] = {argv[1]};
        c.plugin_dirs = dirs;
        c.n_plugin_dirs = 1;
        struct cfg_instance ci;
        memset(&ci, 0, sizeof ci);
        ci.name = "f";
        ci.plugin = "filter";
        ci.settings = set;
        ci.origin = "bench";
        struct plugin_instance *pi;
        if (plugin_instance_create(&c, &ci, &pi, &eb)) {
            fprintf(stderr, "%s\n", eb.msg);
            return 1;
        }
        uint64_t kept = 0;
        uint64_t t0 = plat_monotonic_ns();
        for (int r = 0; r < repeats; r++)
            for (uint32_t i = 0; i < b.n; i++)
                kept += plugin_instance_process(pi, &evs[i]) == ETWHOST_OK;
        uint64_t t1 = plat_monotonic_ns();
        double ns = (double)(t1 - t0) / ((double)repeats * b.n);
        printf("  %-42s %6.1f ns per event (%s stage, %.0f%% kept)\n", rules[k].label, ns,
               pi->stage == ETWHOST_STAGE_RECORD ? "record" : "event",
               100.0 * (double)kept / ((double)repeats * b.n));
        plugin_instance_destroy(pi);
        json_decref(set);
    }
    for (uint32_t i = 0; i < b.n; i++)
        event_free(&evs[i]);
    mem_free(evs);
    arena_free(&ar);
    decoder_free(&dec);
    schema_cache_free(cache);
    batch_free(&b);
    source_destroy(src);
    json_decref(sobj);
    plugin_libs_cleanup();
    return 0;
}
