/*
 * Plugin ABI stability: compile-time pins of every ABI member, and the
 * loader's verdicts on plugins built at older, current and newer ABI
 * versions, without an entry symbol, and on files that are not libraries.
 */
#include "test.h"

#include "../../sdk/abi/abi_layout.h"

#include "core/mem.h"
#include "platform/platform.h"
#include "plugin/loader.h"

#include <sys/stat.h>

static const char *compat(const char *variant)
{
    return t_path("%s/tests/plugins/%s%s", t_build(), variant, plat_dl_suffix());
}

TEST(abi_accepts_older_minor_without_reading_past_it)
{
    struct plugin_lib *lib;
    struct errbuf eb;
    ASSERT_OK(plugin_lib_open(compat("compat_1_0"), &lib, &eb));
    ASSERT_EQ(lib->desc.abi_minor, 0);
    ASSERT_EQ(lib->plugin_size, ETWHOST_PLUGIN_SIZE_1_0);
    /* The 1.1 member lies beyond the plugin's struct_size: it must read as absent. */
    ASSERT(lib->desc.stats == NULL);
    ASSERT(!ETWHOST_PLUGIN_HAS(&lib->desc, stats));
    ASSERT_STREQ(lib->desc.name, "compat");
    plugin_lib_release(lib);
}

TEST(abi_accepts_current_minor)
{
    struct plugin_lib *lib;
    struct errbuf eb;
    ASSERT_OK(plugin_lib_open(compat("compat_1_1"), &lib, &eb));
    ASSERT_EQ(lib->plugin_size, sizeof(etwhost_plugin));
    ASSERT(ETWHOST_PLUGIN_HAS(&lib->desc, stats));
    plugin_lib_release(lib);
}

TEST(abi_rejects_newer_minor)
{
    struct plugin_lib *lib = NULL;
    struct errbuf eb;
    const char *p = compat("compat_1_9");
    ASSERT_EQ(plugin_lib_open(p, &lib, &eb), ERR_ABI);
    ASSERT(lib == NULL);
    ASSERT_CONTAINS(eb.msg, p);
    ASSERT_CONTAINS(eb.msg, "(compat 1.0.0)");
    ASSERT_CONTAINS(eb.msg, "built for plugin ABI 1.9, host supports 1.0-1.1");
}

TEST(abi_rejects_other_major)
{
    struct plugin_lib *lib = NULL;
    struct errbuf eb;
    ASSERT_EQ(plugin_lib_open(compat("compat_2_0"), &lib, &eb), ERR_ABI);
    ASSERT_CONTAINS(eb.msg, "(compat 1.0.0)");
    ASSERT_CONTAINS(eb.msg, "built for plugin ABI 2.0, host supports 1.0-1.1");
}

TEST(abi_rejects_missing_entry)
{
    struct plugin_lib *lib = NULL;
    struct errbuf eb;
    const char *p = compat("compat_noentry");
    ASSERT_EQ(plugin_lib_open(p, &lib, &eb), ERR_PLUGIN);
    ASSERT_CONTAINS(eb.msg, p);
    ASSERT_CONTAINS(eb.msg, "missing symbol 'etwhost_plugin_entry'");
}

TEST(abi_rejects_not_a_library)
{
    struct plugin_lib *lib = NULL;
    struct errbuf eb;
    const char *p = t_path("%s/notalib%s", t_tmpdir(), plat_dl_suffix());
    t_write_file(p, "this is a text file, not a shared library\n");
    ASSERT_EQ(plugin_lib_open(p, &lib, &eb), ERR_PLUGIN);
    ASSERT_CONTAINS(eb.msg, p);
    ASSERT_CONTAINS(eb.msg, "cannot load");
    /* The OS loader's own text is part of the line. */
    ASSERT(strstr(eb.msg, "invalid ELF header") || strstr(eb.msg, "file too short") ||
           strstr(eb.msg, "not a valid Win32") || strstr(eb.msg, "%1"));
}

TEST(abi_rejects_writable_plugin_file_and_dir)
{
    if (strcmp(plat_dl_suffix(), ".dll") == 0)
        SKIP("permission bits are a POSIX check");
    struct plugin_lib *lib = NULL;
    struct errbuf eb;
    size_t len;
    char *bytes = t_read_file(compat("compat_1_1"), &len);
    ASSERT(bytes != NULL);
    const char *dir = t_path("%s/plugins", t_tmpdir());
    t_mkdir(dir);
    const char *p = t_path("%s/compat.so", dir);
    t_write_bytes(p, bytes, len);
    mem_free(bytes);
    chmod(p, 0664);
    ASSERT_EQ(plugin_lib_open(p, &lib, &eb), ERR_PERM);
    ASSERT_CONTAINS(eb.msg, "writable by its group");
    chmod(p, 0644);
    chmod(dir, 0777);
    ASSERT_EQ(plugin_lib_open(p, &lib, &eb), ERR_PERM);
    ASSERT_CONTAINS(eb.msg, "writable by others");
    chmod(dir, 0755);
    ASSERT_OK(plugin_lib_open(p, &lib, &eb));
    plugin_lib_release(lib);
}

TEST(abi_plugins_check_verb)
{
    const char *ok[] = {"plugins", "--check", compat("compat_1_0"), NULL};
    struct t_run r = t_etwhost(ok, NULL, NULL);
    ASSERT_EQ(r.status, 0);
    ASSERT_CONTAINS(r.out, "compat 1.0.0, sink, plugin ABI 1.0 (host 1.1)");
    t_run_free(&r);
    const char *bad[] = {"plugins", "--check", compat("compat_2_0"), NULL};
    r = t_etwhost(bad, NULL, NULL);
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.out, "REJECT");
    ASSERT_CONTAINS(r.out, "built for plugin ABI 2.0");
    t_run_free(&r);
}

/* An old (1.0) plugin keeps working in a real run, and its 1.1 trap is never called. */
TEST(abi_old_plugin_runs_in_chain)
{
    const char *dir = t_tmpdir();
    t_mkdir(t_path("%s/conf.d", dir));
    t_write_file(t_path("%s/etwhost.json", dir),
                 "{\"sources\": [{\"type\": \"synthetic\", \"count\": 5000}]}\n");
    t_write_file(t_path("%s/conf.d/10-old.json", dir),
                 t_path("{\"name\": \"old\", \"plugin\": \"compat\", \"path\": \"%s\"}\n",
                        compat("compat_1_0")));
    const char *args[] = {"run", "-c", dir, "--stats", NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_MSG(r.status == 0, "exit %d, stderr:\n%s", r.status, r.err);
    ASSERT_CONTAINS(r.err, "compat plugin saw 5000 events");
    ASSERT_NOT_CONTAINS(r.err, "beyond the descriptor");
    t_run_free(&r);
}
