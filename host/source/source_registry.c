/*
 * source_registry: the known source kinds and generic source creation.
 */
#include <string.h>

#include "../config/config.h"
#include "../core/mem.h"
#include "source.h"

extern const struct source_ops source_synthetic_ops;
extern const struct source_ops source_etl_ops;
extern const struct source_ops source_archive_ops;
extern const struct source_ops source_live_ops;

static const struct source_ops *const registry[] = {
    &source_synthetic_ops,
    &source_etl_ops,
    &source_archive_ops,
    &source_live_ops,
};

#define NREG (sizeof registry / sizeof registry[0])

const struct source_ops *source_find(const char *type)
{
    for (size_t i = 0; i < NREG; i++)
        if (strcmp(registry[i]->type, type) == 0)
            return registry[i];
    return NULL;
}

const char *source_types(void)
{
    static char list[256];
    if (list[0] == '\0') {
        size_t used = 0;
        for (size_t i = 0; i < NREG && used + 40 < sizeof list; i++) {
            size_t l = strlen(registry[i]->type);
            if (i) {
                memcpy(list + used, ", ", 2);
                used += 2;
            }
            memcpy(list + used, registry[i]->type, l);
            used += l;
        }
        list[used] = '\0';
    }
    return list;
}

int source_create(const struct cfg *cfg, const json_t *obj, const char *name, uint32_t index,
                  struct source **out, struct errbuf *eb)
{
    *out = NULL;
    const json_t *t = json_object_get(obj, "type");
    if (!json_is_string(t))
        return cfg_err(cfg, obj, "type", eb, ERR_CONFIG, "source needs a \"type\" (one of: %s)",
                       source_types());
    const struct source_ops *ops = source_find(json_string_value(t));
    if (ops == NULL) {
        const char *cands[16];
        size_t n = 0;
        for (size_t i = 0; i < NREG && n < 15; i++)
            cands[n++] = registry[i]->type;
        cands[n] = NULL;
        const char *near = cfg_suggest(json_string_value(t), cands);
        return cfg_err(cfg, obj, "type", eb, ERR_CONFIG,
                       "unknown source type \"%s\"%s%s%s (known: %s)", json_string_value(t),
                       near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "",
                       source_types());
    }
    /* Allowed keys: the kind's own plus type and name. */
    const char *keys[64];
    size_t nk = 0;
    keys[nk++] = "type";
    keys[nk++] = "name";
    for (const char *const *k = ops->keys; k && *k && nk < 63; k++)
        keys[nk++] = *k;
    keys[nk] = NULL;
    char what[128];
    snprintf(what, sizeof what, "source \"%s\"", name);
    int rc = cfg_check_keys(cfg, obj, keys, what, eb);
    if (rc)
        return rc;

    struct source *s = mem_calloc(1, sizeof *s);
    if (s == NULL || (s->name = mem_strdup(name)) == NULL) {
        mem_free(s);
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    }
    s->ops = ops;
    s->index = index;
    rc = ops->open(s, cfg, obj, eb);
    if (rc) {
        source_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

void source_destroy(struct source *s)
{
    if (s == NULL)
        return;
    if (s->ops && s->ops->close)
        s->ops->close(s);
    mem_free(s->name);
    mem_free(s);
}
