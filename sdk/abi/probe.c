/*
 * ABI probe: a tiny library whose only exported function takes every type
 * of the plugin ABI, so `abidw` can dump their layout from its debug info
 * and `abidiff` can compare it with the committed baseline
 * (sdk/abi/etwhost-abi-1.xml).  Built by `make abi-check`.
 */
#include "etwhost/plugin.h"

ETWHOST_EXPORT void etwhost_abi_probe(const etwhost_plugin *p, const etwhost_host_api *a,
                                      const etwhost_event_header *h, const etwhost_prop *pr,
                                      const etwhost_guid *g, etwhost_plugin_entry_fn e);
ETWHOST_EXPORT void etwhost_abi_probe(const etwhost_plugin *p, const etwhost_host_api *a,
                                      const etwhost_event_header *h, const etwhost_prop *pr,
                                      const etwhost_guid *g, etwhost_plugin_entry_fn e)
{
    (void)p;
    (void)a;
    (void)h;
    (void)pr;
    (void)g;
    (void)e;
}
