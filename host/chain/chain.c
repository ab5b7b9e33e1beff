/*
 * chain: build and destroy the instance chain of a configuration.
 */
#include "chain.h"

#include <stdio.h>
#include <string.h>

#include "../config/config.h"
#include "../core/log.h"
#include "../core/mem.h"

static int push(struct plugin_instance ***arr, size_t *n, struct plugin_instance *pi)
{
    struct plugin_instance **na = mem_realloc(*arr, (*n + 1) * sizeof *na);
    if (na == NULL)
        return ERR_NOMEM;
    na[(*n)++] = pi;
    *arr = na;
    return 0;
}

int chain_build(const struct cfg *cfg, const struct cfg_instance *inst, size_t n,
                struct chain **out, struct errbuf *eb)
{
    *out = NULL;
    if (inst == NULL) {
        inst = cfg->instances;
        n = cfg->n_instances;
    }
    struct chain *c = mem_calloc(1, sizeof *c);
    if (c == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct plugin_instance *pi = NULL;
        rc = plugin_instance_create(cfg, &inst[i], &pi, eb);
        if (rc)
            break;
        rc = push(&c->all, &c->n_all, pi);
        if (rc) {
            plugin_instance_destroy(pi);
            errbuf_set(eb, rc, "out of memory");
            break;
        }
        if (pi->kind == ETWHOST_KIND_SINK)
            rc = push(&c->sinks, &c->n_sinks, pi);
        else if (pi->stage == ETWHOST_STAGE_RECORD)
            rc = push(&c->rec_filters, &c->n_rec, pi);
        else
            rc = push(&c->ev_filters, &c->n_ev, pi);
        if (rc) {
            errbuf_set(eb, rc, "out of memory");
            break;
        }
    }
    if (rc == 0 && c->n_sinks == 0)
        rc = errbuf_set(eb, ERR_CONFIG,
                        "%s: no sink configured: events would go nowhere (add an instance of a "
                        "sink plugin such as \"stdout\" or \"file\" in conf.d/)",
                        cfg && cfg->dir ? cfg->dir : "configuration");
    if (rc) {
        chain_destroy(c);
        return rc;
    }
    c->records_only = c->n_ev == 0;
    for (size_t i = 0; i < c->n_sinks; i++)
        if (!(c->sinks[i]->desc->flags & ETWHOST_FLAG_RECORDS_ONLY))
            c->records_only = 0;
    *out = c;
    return 0;
}

void chain_destroy(struct chain *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_sinks; i++) {
        struct plugin_instance *pi = c->sinks[i];
        if (!pi->closed) {
            char err[1024];
            etwhost_status st = plugin_instance_close(pi, err, sizeof err);
            if (st < 0)
                log_error("sink \"%s\": close failed: %s", pi->name,
                          err[0] ? err : etwhost_status_name(st));
        }
    }
    for (size_t i = c->n_all; i-- > 0;)
        plugin_instance_destroy(c->all[i]);
    mem_free(c->all);
    mem_free(c->rec_filters);
    mem_free(c->ev_filters);
    mem_free(c->sinks);
    mem_free(c);
}

const char *run_not_decoded_text(const struct run_totals *t, char *buf, size_t cap)
{
    if (t->not_decoded == 0)
        snprintf(buf, cap, "%s", "");
    else
        snprintf(buf, cap, ", %llu not decoded (the sinks keep raw records)",
                 (unsigned long long)t->not_decoded);
    return buf;
}
