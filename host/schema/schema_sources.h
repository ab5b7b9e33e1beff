/*
 * schema_sources: registration of the schema sources a decoder asks on a
 * cache miss, in this order:
 *   1. instrumentation manifests given by the user (manifest_xml.h);
 *   2. the built-in kernel MOF classes of the NT Kernel Logger and the
 *      classic KernelTraceControl classes (mof_kernel.h);
 *   3. WPP, which recognises WPP records and explains why they cannot be
 *      decoded without TMF information (wpp.h).
 * TraceLogging metadata and TDH metadata embedded in the trace are not
 * sources: the schema cache handles them before any source is asked, and
 * embedded TDH metadata replaces a schema of the same key from a manifest.
 *
 * Threading: call these while setting the decoder up, on the thread that
 * owns it.
 */
#ifndef ETWHOST_SCHEMA_SOURCES_H
#define ETWHOST_SCHEMA_SOURCES_H

#include <stddef.h>

#include "../core/err.h"
#include "../decode/decode.h"

/* Register the built-in sources (kernel MOF classes, WPP) with d. 0 or ERR_NOMEM. */
int schema_sources_builtin(struct decoder *d, struct errbuf *eb);

/*
 * Load instrumentation manifests (XML .man or `wevtutil gp NAME /ge /gm`
 * output) and register them as one source; also registers provider names in
 * d->cache.  Errors name "file:line: what".  n == 0 registers nothing.
 * Returns 0, ERR_FORMAT / ERR_NOTFOUND / ERR_IO for a bad or missing file
 * (nothing registered), ERR_RANGE when the decoder has no free source slot,
 * or ERR_NOMEM.
 */
int schema_sources_manifests(struct decoder *d, const char *const *paths, size_t n,
                             struct errbuf *eb);

#endif
