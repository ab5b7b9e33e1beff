/*
 * A plugin built with a different runtime than the host still works, and
 * memory never crosses runtimes: tests/plugins/compat.c built as compat_crt
 * (its own static copy of libgcc; on Windows linked against the Universal
 * CRT while the host uses msvcrt.dll, so two C runtimes with two heaps share
 * the process).  The plugin takes its instance state from the host
 * (api->alloc) and returns it through api->free, and keeps a block of its
 * own runtime's heap that it frees itself.  Were the plugin to free host
 * memory with its own free(), the host's live-block count would not return
 * to where it was; were the host to free plugin memory, the other runtime's
 * heap would be corrupted (a crash under Wine or Windows).
 */
#include "test.h"

#include "config/config.h"
#include "core/mem.h"
#include "platform/platform.h"
#include "plugin/instance.h"
#include "plugin/loader.h"

static const char *crt_plugin(void)
{
    const char *p = t_path("%s/tests/plugins/compat_crt%s", t_build(), plat_dl_suffix());
    if (!plat_is_file(p))
        t_fail(__FILE__, __LINE__, "%s not built", p);
    return p;
}

/* A config folder with one instance of compat_crt. */
static const char *crt_config(const char *sources)
{
    const char *dir = t_path("%s/cfg", t_tmpdir());
    t_mkdir(t_path("%s/conf.d", dir));
    t_write_file(t_path("%s/etwhost.json", dir), sources);
    t_write_file(t_path("%s/conf.d/10-crt.json", dir),
                 t_path("{\"name\": \"crt\", \"plugin\": \"compat\", \"path\": \"%s\"}\n",
                        crt_plugin()));
    return dir;
}

TEST(plugin_other_runtime_owns_only_its_memory)
{
    cfg_global_init();
    const char *dir = crt_config("{\"sources\": [{\"type\": \"synthetic\", \"count\": 1}]}");
    struct errbuf eb;
    struct cfg *c = NULL;
    ASSERT_MSG(cfg_load(dir, &c, &eb) == 0, "%s", eb.msg);
    ASSERT_EQ(c->n_instances, 1);
    int64_t live = mem_live_blocks();
    for (int round = 0; round < 3; round++) {
        struct plugin_instance *pi = NULL;
        ASSERT_MSG(plugin_instance_create(c, &c->instances[0], &pi, &eb) == 0, "%s", eb.msg);
        /* Its state came from the host's allocator. */
        ASSERT(mem_live_blocks() > live);
        ASSERT_STREQ(pi->desc->name, "compat");
        ASSERT_EQ(pi->desc->abi_minor, 0);
        int dummy = 0;
        const void *evs[4] = {&dummy, &dummy, &dummy, &dummy};
        uint32_t acc = 0;
        ASSERT_EQ(plugin_instance_write(pi, evs, 4, &acc), ETWHOST_OK);
        ASSERT_EQ(acc, 4);
        char err[256];
        ASSERT_EQ(plugin_instance_close(pi, err, sizeof err), ETWHOST_OK);
        plugin_instance_destroy(pi);
        plugin_libs_cleanup();
        /* Everything the plugin took from the host went back through api->free. */
        ASSERT_EQ(mem_live_blocks(), live);
    }
    cfg_free(c);
}

TEST(plugin_other_runtime_runs_in_chain)
{
    const char *dir =
        crt_config("{\"sources\": [{\"type\": \"synthetic\", \"count\": 5000}]}\n");
    const char *args[] = {"run", "-c", dir, NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_MSG(r.status == 0, "exit %d, stderr:\n%s", r.status, r.err);
    /* The plugin's own heap block was in use for the whole run and freed at destroy. */
    ASSERT_CONTAINS(r.err, "compat plugin saw 5000 events (own heap used)");
    t_run_free(&r);
}
