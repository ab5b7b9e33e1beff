/*
 * chain: the plugin instances of one configuration, in order, and the
 * runtime that moves records from sources through them.
 *
 * Data path per batch (one pipeline thread): record-stage filters (header
 * fields only, before decoding) -> decode -> event-stage filters -> every
 * sink (fan-out).  A sink returning RETRY is called again with the events
 * it did not take, with exponential back-off; meanwhile the bounded queue
 * fills and the sources block, so nothing is dropped.  Every drop that
 * policy allows is counted and reported.
 *
 * Threads: sources read on their own threads into batches; one pipeline
 * thread runs the chain; the calling (control) thread handles signals
 * (stop, reload), statistics and progress.  Plugin calls are therefore
 * serialized per instance.
 */
#ifndef ETWHOST_CHAIN_H
#define ETWHOST_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"
#include "../plugin/instance.h"
#include "../source/source.h"

struct cfg;
struct cfg_instance;

struct chain {
    struct plugin_instance **all; /* config order */
    size_t n_all;
    struct plugin_instance **rec_filters, **ev_filters, **sinks;
    size_t n_rec, n_ev, n_sinks;
    /*
     * Every sink reads records only (ETWHOST_FLAG_RECORDS_ONLY) and no
     * event-stage filter needs properties: events get their schema looked
     * up (decode_lookup) but their properties are not decoded.
     */
    int records_only;
};

/*
 * Create every instance of cfg (or of the n instances given explicitly when
 * inst != NULL).  A chain needs at least one sink.  On failure eb names the
 * culprit and nothing is left created.
 */
int chain_build(const struct cfg *cfg, const struct cfg_instance *inst, size_t n,
                struct chain **out, struct errbuf *eb);

/* Close sinks that are still open (reporting errors) and destroy all. */
void chain_destroy(struct chain *c);

/* What a run did, for summaries and exit codes. */
struct run_totals {
    uint64_t records;   /* records read from sources */
    uint64_t events;    /* records that became events (passed record filters) */
    uint64_t decoded;   /* fully decoded */
    uint64_t partial;   /* partially decoded */
    uint64_t undecoded; /* no schema / not decodable */
    uint64_t not_decoded; /* with a schema, not decoded: every sink reads records only */
    uint64_t filtered;  /* dropped by filters */
    uint64_t delivered; /* events accepted by all sinks */
    uint64_t lost;      /* events a sink could not take (counted, reported) */
    uint64_t header_events_lost; /* per the trace headers of file sources */
    double seconds;
    int failed; /* a source or sink failed: exit non-zero */
};

/*
 * ", N not decoded (the sinks keep raw records)" into buf when t counts
 * such events, else "".  Returns buf.
 */
const char *run_not_decoded_text(const struct run_totals *t, char *buf, size_t cap);

struct run_options {
    uint32_t stats_interval; /* seconds, 0 = only at exit */
    int stats_at_exit;       /* print the instance table at exit */
    int progress;            /* progress line on a terminal */
    int summary;             /* one-line decode summary on stderr */
    const char *reload_dir;  /* config folder to reload on SIGHUP (NULL: no reload) */
    const char *const *manifests; /* extra manifest files (besides cfg->manifests) */
    size_t n_manifests;
};

/*
 * Run sources through the chain until every source ends or a stop signal
 * arrives; then drain, flush and close.  Takes ownership of neither sources
 * nor the chain (the chain may be replaced on reload: *chainp is updated
 * and the caller destroys the final one).  0 or an error with eb.
 */
int chain_run(const struct cfg *cfg, struct source **sources, size_t nsources,
              struct chain **chainp, const struct run_options *opt, struct run_totals *totals,
              struct errbuf *eb);

#endif
