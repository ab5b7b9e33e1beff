/*
 * source_paths: the "path" setting of file sources (one path, a glob, or an
 * array of them; relative to the config folder), expanded to a file list.
 */
#include "../config/config.h"
#include "../core/mem.h"
#include "../platform/platform.h"
#include "source.h"

/* Expand one pattern and append the matches to *paths. */
static int add_pattern(const struct cfg *cfg, const char *pattern, char ***paths, size_t *n,
                       struct errbuf *eb)
{
    char **found;
    size_t nf;
    char *joined = cfg_path_join(cfg ? cfg->dir : NULL, pattern);
    if (joined == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    int rc = plat_glob(joined, &found, &nf, eb);
    mem_free(joined);
    if (rc)
        return rc;
    char **np = mem_realloc(*paths, (*n + nf) * sizeof *np);
    if (np == NULL) {
        plat_free_list(found, nf);
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    }
    *paths = np;
    for (size_t i = 0; i < nf; i++)
        np[(*n)++] = found[i];
    mem_free(found); /* the strings moved into *paths */
    return 0;
}

int source_get_paths(const struct cfg *cfg, const json_t *obj, const char *source_name,
                     const char *what, char ***paths, size_t *npaths, struct errbuf *eb)
{
    *paths = NULL;
    *npaths = 0;
    const json_t *p = json_object_get(obj, "path");
    int rc = 0;
    if (json_is_string(p)) {
        rc = add_pattern(cfg, json_string_value(p), paths, npaths, eb);
        if (rc)
            errbuf_prefix(eb, "%s: ", cfg_where(cfg, p));
    } else if (json_is_array(p) && json_array_size(p) > 0) {
        size_t i;
        const json_t *v;
        json_array_foreach(p, i, v) {
            if (!json_is_string(v)) {
                rc = cfg_err(cfg, obj, "path", eb, ERR_CONFIG,
                             "\"path\" must be a string or an array of strings");
                break;
            }
            rc = add_pattern(cfg, json_string_value(v), paths, npaths, eb);
            if (rc) {
                errbuf_prefix(eb, "%s: ", cfg_where(cfg, v));
                break;
            }
        }
    } else {
        rc = cfg_err(cfg, obj, "path", eb, ERR_CONFIG,
                     "source \"%s\" needs \"path\": %s, a glob pattern, or an array of them",
                     source_name, what);
    }
    if (rc) {
        plat_free_list(*paths, *npaths);
        *paths = NULL;
        *npaths = 0;
    }
    return rc;
}
