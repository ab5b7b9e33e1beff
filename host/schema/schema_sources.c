/*
 * schema_sources: the built-in and manifest sources of a decoder (see
 * schema_sources.h).
 */
#include "schema_sources.h"

#include "manifest_xml.h"
#include "mof_kernel.h"
#include "wpp.h"

int schema_sources_builtin(struct decoder *d, struct errbuf *eb)
{
    struct schema_source src;
    int rc = mof_kernel_source(d->cache, &src);
    if (rc)
        return errbuf_set(eb, rc, "kernel MOF classes: %s", err_str(rc));
    rc = decoder_add_source(d, &src);
    if (rc) {
        if (src.destroy)
            src.destroy(src.ctx);
        return errbuf_set(eb, rc, "kernel MOF classes: no free schema source slot");
    }
    rc = wpp_source(&src);
    if (rc)
        return errbuf_set(eb, rc, "WPP: %s", err_str(rc));
    rc = decoder_add_source(d, &src);
    if (rc) {
        if (src.destroy)
            src.destroy(src.ctx);
        return errbuf_set(eb, rc, "WPP: no free schema source slot");
    }
    return 0;
}

int schema_sources_manifests(struct decoder *d, const char *const *paths, size_t n,
                             struct errbuf *eb)
{
    if (n == 0)
        return 0;
    struct manifest_set *ms = manifest_set_new(d->cache);
    if (ms == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int rc = manifest_set_load_file(ms, paths[i], eb);
        if (rc) {
            manifest_set_free(ms);
            return rc;
        }
    }
    struct schema_source src;
    manifest_set_source(ms, &src);
    int rc = decoder_add_source(d, &src);
    if (rc) {
        manifest_set_free(ms);
        return errbuf_set(eb, rc, "manifests: no free schema source slot");
    }
    return 0;
}
