/*
 * Tests of host/config: config folders written to a per-test directory,
 * loaded with cfg_load, and "etwhost check" run through the real binary.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include <jansson.h>

#include "config/config.h"
#include "platform/platform.h"
#include "core/log.h"
#include "core/mem.h"

/* Per-test config folder "<tmp>/cfg" (stable storage, unlike t_path's ring). */
static char cdir[4096];

static const char *mkcfg(const char *main_json)
{
    snprintf(cdir, sizeof cdir, "%s/cfg", t_tmpdir());
    t_mkdir(cdir);
    if (main_json)
        t_write_file(t_path("%s/etwhost.json", cdir), main_json);
    return cdir;
}

static void dropin(const char *name, const char *text)
{
    t_mkdir(t_path("%s/conf.d", cdir));
    t_write_file(t_path("%s/conf.d/%s", cdir, name), text);
}

/* Load that must fail with expect_rc; returns the message (static copy). */
static const char *load_err_at(int line, int expect_rc)
{
    static struct errbuf eb;
    struct cfg *c = (struct cfg *)1;
    memset(&eb, 0, sizeof eb);
    int64_t live = mem_live_blocks();
    int rc = cfg_load(cdir, &c, &eb);
    if (rc != expect_rc)
        t_fail(__FILE__, line, "cfg_load returned %d (%s), expected %d; message: %s", rc,
               err_name(rc), expect_rc, eb.msg);
    if (c != NULL || mem_live_blocks() != live || eb.msg[0] == '\0' ||
        strchr(eb.msg, '\n') != NULL)
        t_fail(__FILE__, line, "failed load left a cfg, leaked or gave no single line: %s",
               eb.msg);
    return eb.msg;
}
#define load_err(rc) load_err_at(__LINE__, rc)

static struct cfg *load_ok(void)
{
    struct errbuf eb;
    struct cfg *c = NULL;
    memset(&eb, 0, sizeof eb);
    int rc = cfg_load(cdir, &c, &eb);
    ASSERT_MSG(rc == 0, "cfg_load failed (%s): %s", err_name(rc), eb.msg);
    ASSERT(c != NULL);
    return c;
}

static const char *const no_env[] = {NULL};

/* Tests run in their own process, so changing its environment affects only the test. */
static void set_env(const char *name, const char *value)
{
#if defined(_WIN32)
    ASSERT_OK(_putenv_s(name, value));
#else
    ASSERT_OK(setenv(name, value, 1));
#endif
}

TEST(config_minimal_defaults)
{
    cfg_global_init();
    int64_t live = mem_live_blocks();
    mkcfg("{}\n");
    struct cfg *c = load_ok();
    ASSERT_STREQ(c->dir, cdir);
    ASSERT_EQ(c->n_plugin_dirs, 1);
    ASSERT_STREQ(c->plugin_dirs[0], t_path("%s/plugins", cdir));
    ASSERT_STREQ(c->state_dir, t_path("%s/state", cdir));
    ASSERT_EQ(c->log_level, LOG_INFO);
    ASSERT_EQ(c->stats_interval, 0);
    ASSERT_EQ(c->batch_size, 256);
    ASSERT_EQ(c->queue_depth, CFG_DEFAULT_QUEUE_DEPTH);
    ASSERT_EQ(c->retry_initial_ms, 50);
    ASSERT_EQ(c->retry_max_ms, 5000);
    ASSERT_EQ(c->on_sink_error_continue, 0);
    ASSERT_EQ(c->n_manifests, 0);
    ASSERT_EQ(c->n_sources, 0);
    ASSERT_EQ(c->n_instances, 0);
    ASSERT_EQ(c->n_files, 1);
    ASSERT_STREQ(c->files[0], t_path("%s/etwhost.json", cdir));
    cfg_free(c);
    ASSERT_EQ(mem_live_blocks(), live);
}

TEST(config_complete_main_file)
{
    cfg_global_init();
    int64_t live = mem_live_blocks();
    mkcfg("{\n"
          "  \"plugin_dirs\": [\"plugins\", \"/opt/etwhost/plugins\", \"more/\"],\n"
          "  \"state_dir\": \"/var/lib/etwhost\",\n"
          "  \"log_level\": \"debug\",\n"
          "  \"stats_interval\": 10,\n"
          "  \"batch_size\": 1024,\n"
          "  \"queue_depth\": 8,\n"
          "  \"retry\": {\"initial_ms\": 100, \"max_ms\": 20000},\n"
          "  \"on_sink_error\": \"continue\",\n"
          "  \"manifests\": [\"man/app.man\"],\n"
          "  \"sources\": [\n"
          "    {\"type\": \"etl\", \"path\": \"a.etl\"},\n"
          "    {\"type\": \"synthetic\", \"name\": \"gen\", \"count\": 5}\n"
          "  ],\n"
          "  \"instances\": [\n"
          "    {\"plugin\": \"level\", \"settings\": {\"max\": 3}},\n"
          "    {\"name\": \"out\", \"plugin\": \"stdout\", \"path\": \"lib/stdout.so\"}\n"
          "  ]\n"
          "}\n");
    struct cfg *c = load_ok();
    ASSERT_EQ(c->n_plugin_dirs, 3);
    ASSERT_STREQ(c->plugin_dirs[0], t_path("%s/plugins", cdir));
    ASSERT_STREQ(c->plugin_dirs[1], "/opt/etwhost/plugins");
    ASSERT_STREQ(c->plugin_dirs[2], t_path("%s/more/", cdir));
    ASSERT_STREQ(c->state_dir, "/var/lib/etwhost");
    ASSERT_EQ(c->log_level, LOG_DEBUG);
    ASSERT_EQ(c->stats_interval, 10);
    ASSERT_EQ(c->batch_size, 1024);
    ASSERT_EQ(c->queue_depth, 8);
    ASSERT_EQ(c->retry_initial_ms, 100);
    ASSERT_EQ(c->retry_max_ms, 20000);
    ASSERT_EQ(c->on_sink_error_continue, 1);
    ASSERT_EQ(c->n_manifests, 1);
    ASSERT_STREQ(c->manifests[0], t_path("%s/man/app.man", cdir));

    ASSERT_EQ(c->n_sources, 2);
    ASSERT_STREQ(c->sources[0].name, "etl");
    ASSERT_STREQ(c->sources[0].type, "etl");
    ASSERT_STREQ(c->sources[0].origin, t_path("%s/etwhost.json:12:5", cdir));
    /* The default name is written into the object the source module gets. */
    ASSERT_STREQ(json_string_value(json_object_get(c->sources[0].obj, "name")), "etl");
    ASSERT_STREQ(json_string_value(json_object_get(c->sources[0].obj, "path")), "a.etl");
    ASSERT_STREQ(c->sources[1].name, "gen");
    ASSERT_EQ(json_integer_value(json_object_get(c->sources[1].obj, "count")), 5);

    ASSERT_EQ(c->n_instances, 2);
    ASSERT_STREQ(c->instances[0].name, "level");
    ASSERT_STREQ(c->instances[0].plugin, "level");
    ASSERT(c->instances[0].path == NULL);
    ASSERT_EQ(json_integer_value(json_object_get(c->instances[0].settings, "max")), 3);
    ASSERT_STREQ(c->instances[0].origin, t_path("%s/etwhost.json:16:5", cdir));
    ASSERT_STREQ(c->instances[0].file, t_path("%s/etwhost.json", cdir));
    ASSERT_STREQ(c->instances[1].name, "out");
    ASSERT_STREQ(c->instances[1].plugin, "stdout");
    ASSERT_STREQ(c->instances[1].path, t_path("%s/lib/stdout.so", cdir));
    ASSERT(json_is_object(c->instances[1].settings));
    ASSERT_EQ(json_object_size(c->instances[1].settings), 0);
    cfg_free(c);
    ASSERT_EQ(mem_live_blocks(), live);
}

TEST(config_dropins_merge_in_byte_order)
{
    cfg_global_init();
    int64_t live = mem_live_blocks();
    mkcfg("{\"instances\": [{\"plugin\": \"first\"}], \"sources\": [{\"type\": \"etl\"}]}");
    /* Byte order: "10-a" < "100-c" < "20-b" < "AA" (digits sort before letters). */
    dropin("20-b.json", "{\"plugin\": \"b\", \"path\": \"b.so\"}");
    dropin("10-a.json", "{\"instances\": [{\"plugin\": \"a1\"}, {\"plugin\": \"a2\"}],\n"
                        " \"sources\": [{\"type\": \"etl\"}, {\"type\": \"live\"}]}");
    dropin("100-c.json", "{\"name\": \"c\", \"plugin\": \"cplug\"}");
    dropin("AA.json", "{\"plugin\": \"upper\"}");
    struct cfg *c = load_ok();
    const char *want[] = {"first", "a1", "a2", "c", "b", "upper"};
    ASSERT_EQ(c->n_instances, 6);
    for (size_t i = 0; i < 6; i++)
        ASSERT_STREQ(c->instances[i].name, want[i]);
    ASSERT_STREQ(c->instances[3].plugin, "cplug");
    /* A relative "path" in a drop-in resolves against conf.d. */
    ASSERT_STREQ(c->instances[4].path, t_path("%s/conf.d/b.so", cdir));
    ASSERT_STREQ(c->instances[4].file, t_path("%s/conf.d/20-b.json", cdir));
    ASSERT_STREQ(c->instances[4].origin, t_path("%s/conf.d/20-b.json:1:1", cdir));
    ASSERT_STREQ(c->instances[1].origin, t_path("%s/conf.d/10-a.json:1:16", cdir));
    ASSERT_EQ(c->n_files, 5);
    ASSERT_STREQ(c->files[0], t_path("%s/etwhost.json", cdir));
    ASSERT_STREQ(c->files[1], t_path("%s/conf.d/10-a.json", cdir));
    ASSERT_STREQ(c->files[2], t_path("%s/conf.d/100-c.json", cdir));
    ASSERT_STREQ(c->files[3], t_path("%s/conf.d/20-b.json", cdir));
    ASSERT_STREQ(c->files[4], t_path("%s/conf.d/AA.json", cdir));
    /* Unnamed sources of one type are numbered across files. */
    ASSERT_EQ(c->n_sources, 3);
    ASSERT_STREQ(c->sources[0].name, "etl");
    ASSERT_STREQ(c->sources[1].name, "etl-2");
    ASSERT_STREQ(c->sources[2].name, "live");
    ASSERT_STREQ(c->sources[1].origin, t_path("%s/conf.d/10-a.json:2:14", cdir));
    cfg_free(c);
    ASSERT_EQ(mem_live_blocks(), live);
}

TEST(config_chain_reorders_instances)
{
    cfg_global_init();
    int64_t live = mem_live_blocks();
    mkcfg("{\"chain\": [\"c\", \"off\", \"a\"]}");
    dropin("10.json", "{\"instances\": [{\"name\": \"a\", \"plugin\": \"p\"},"
                      " {\"name\": \"b\", \"plugin\": \"p\"}]}");
    dropin("20.json", "{\"name\": \"off\", \"plugin\": \"p\", \"enabled\": false}");
    dropin("30.json", "{\"name\": \"c\", \"plugin\": \"p\"}");
    dropin("40.json", "{\"name\": \"d\", \"plugin\": \"p\"}");
    struct cfg *c = load_ok();
    /* Listed first in chain order (the disabled one is skipped), the rest in load order. */
    const char *want[] = {"c", "a", "b", "d"};
    ASSERT_EQ(c->n_instances, 4);
    for (size_t i = 0; i < 4; i++)
        ASSERT_STREQ(c->instances[i].name, want[i]);
    cfg_free(c);
    ASSERT_EQ(mem_live_blocks(), live);

    mkcfg("{\n  \"chain\": [\"c\", \"dd\"]\n}\n");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/etwhost.json:2:18: unknown instance \"dd\" in \"chain\" (did you mean "
                        "\"d\"?)",
                        cdir));
    mkcfg("{\n  \"chain\": [\"c\", \"zzzzzz\"]\n}\n");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/etwhost.json:2:18: unknown instance \"zzzzzz\" in \"chain\" (no "
                        "instance has that name)",
                        cdir));
    mkcfg("{\"chain\": [\"a\", \"c\", \"a\"]}");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/etwhost.json:1:22: instance \"a\" is listed twice in \"chain\"", cdir));
    mkcfg("{\"chain\": [\"a\", 7]}");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/etwhost.json:1:17: \"chain\"[1] must be an instance name, not an "
                        "integer",
                        cdir));
}

TEST(config_duplicate_names)
{
    cfg_global_init();
    mkcfg("{}");
    dropin("10-out.json", "{\"plugin\": \"stdout\"}");
    dropin("20-out.json", "{\n  \"plugin\": \"stdout\",\n  \"settings\": {}\n}\n");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/conf.d/20-out.json:2:13: duplicate instance name \"stdout\" (also at "
                        "%s/conf.d/10-out.json:1:1); give one of them a different \"name\"",
                        cdir, cdir));
    /* Naming the second one fixes it. */
    dropin("20-out.json", "{\"name\": \"stdout2\", \"plugin\": \"stdout\"}");
    struct cfg *c = load_ok();
    ASSERT_EQ(c->n_instances, 2);
    cfg_free(c);
    /* An explicit name clashing with a defaulted one is reported at the "name" value. */
    dropin("20-out.json", "{\"name\": \"stdout\", \"plugin\": \"file\"}");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/conf.d/20-out.json:1:10: duplicate instance name \"stdout\" (also at "
                        "%s/conf.d/10-out.json:1:1); give one of them a different \"name\"",
                        cdir, cdir));
    /* A disabled duplicate is as good as deleted. */
    dropin("20-out.json", "{\"name\": \"stdout\", \"plugin\": \"file\", \"enabled\": false}");
    c = load_ok();
    ASSERT_EQ(c->n_instances, 1);
    ASSERT_STREQ(c->instances[0].plugin, "stdout");
    cfg_free(c);

    /* Sources: explicit names must be unique... */
    mkcfg("{\"sources\": [{\"type\": \"etl\", \"name\": \"a\"},"
          " {\"type\": \"live\", \"name\": \"a\"}]}");
    dropin("20-out.json", "{}");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/etwhost.json:1:69: duplicate source name \"a\" (also at "
                        "%s/etwhost.json:1:14)",
                        cdir, cdir));
    /* ...and defaults step around explicit ones. */
    mkcfg("{\"sources\": [{\"type\": \"etl\"}, {\"type\": \"etl\", \"name\": \"etl\"},"
          " {\"type\": \"etl\"}]}");
    c = load_ok();
    ASSERT_EQ(c->n_sources, 3);
    ASSERT_STREQ(c->sources[0].name, "etl-2");
    ASSERT_STREQ(c->sources[1].name, "etl");
    ASSERT_STREQ(c->sources[2].name, "etl-3");
    cfg_free(c);
    mkcfg("{\"sources\": [{\"type\": \"etl\"}, {\"type\": \"etl\", \"name\": \"etl-2\"},"
          " {\"type\": \"etl\"}, {\"type\": \"etl\", \"name\": \"x\"}]}");
    c = load_ok();
    ASSERT_EQ(c->n_sources, 4);
    ASSERT_STREQ(c->sources[0].name, "etl");
    ASSERT_STREQ(c->sources[1].name, "etl-2");
    ASSERT_STREQ(c->sources[2].name, "etl-3");
    ASSERT_STREQ(c->sources[3].name, "x");
    cfg_free(c);
}

TEST(config_unknown_key_names_position_and_suggestion)
{
    cfg_global_init();
    mkcfg("{}");
    dropin("10-x.json", "{\n"
                        "    \"name\": \"out\",\n"
                        "    \"settings\": {},\n"
                        "    \"plugn\": \"stdout\"\n"
                        "}\n");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/conf.d/10-x.json:4:5: unknown key \"plugn\" in instance (did you mean "
                        "\"plugin\"?)",
                        cdir));
    /* Nothing close: the valid keys are listed instead. */
    dropin("10-x.json", "{\"plugin\": \"stdout\", \"colour\": 1}");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/conf.d/10-x.json:1:22: unknown key \"colour\" in instance (valid "
                        "keys: name, plugin, path, enabled, settings)",
                        cdir));
    /* Inside an "instances" array, after a multi-byte character (columns count characters). */
    dropin("10-x.json", "{\"instances\": [\n"
                        "  {\"plugin\": \"x\"},\n"
                        "  {\"settings\": {\"s\": \"\xc3\xa9\"}, \"Enabled\": true,"
                        " \"plugin\": \"y\"}\n"
                        "]}\n");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/conf.d/10-x.json:3:28: unknown key \"Enabled\" in instance (did you "
                        "mean \"enabled\"?)",
                        cdir));
    dropin("10-x.json", "{\"instances\": [], \"source\": []}");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/conf.d/10-x.json:1:19: unknown key \"source\" in drop-in file (did "
                        "you mean \"sources\"?)",
                        cdir));
    dropin("10-x.json", "{}");
    mkcfg("{\n\t\"bach_size\": 10\n}");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/etwhost.json:2:2: unknown key \"bach_size\" in etwhost.json (did you "
                        "mean \"batch_size\"?)",
                        cdir));
    mkcfg("{\"retry\": {\"max\": 10}}");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/etwhost.json:1:12: unknown key \"max\" in \"retry\" (did you mean "
                        "\"max_ms\"?)",
                        cdir));
}

TEST(config_check_keys_for_plugin_settings)
{
    cfg_global_init();
    int64_t live = mem_live_blocks();
    mkcfg("{}");
    dropin("10-f.json", "{\n"
                        "  \"name\": \"f\",\n"
                        "  \"plugin\": \"level\",\n"
                        "  \"settings\": {\n"
                        "    \"level\": 3,\n"
                        "    \"nested\": {\"deep\": [1, {\"k\": true}]},\n"
                        "    \"levle\": 4\n"
                        "  }\n"
                        "}\n");
    struct cfg *c = load_ok();
    const json_t *st = c->instances[0].settings;
    static const char *const keys[] = {"level", "nested", NULL};
    struct errbuf eb;
    ASSERT_EQ(cfg_check_keys(c, st, keys, "settings of instance \"f\"", &eb), ERR_CONFIG);
    ASSERT_STREQ(eb.msg, t_path("%s/conf.d/10-f.json:7:5: unknown key \"levle\" in settings of "
                                "instance \"f\" (did you mean \"level\"?)",
                                cdir));
    static const char *const keys2[] = {"level", "nested", "levle", NULL};
    ASSERT_OK(cfg_check_keys(c, st, keys2, "x", &eb));
    ASSERT_OK(cfg_check_keys(c, st, NULL, "settings validated by the plugin", &eb));
    static const char *const none[] = {NULL};
    ASSERT_EQ(cfg_check_keys(c, st, none, "settings of instance \"f\"", &eb), ERR_CONFIG);
    ASSERT_STREQ(eb.msg, t_path("%s/conf.d/10-f.json:5:5: unknown key \"level\" in settings of "
                                "instance \"f\" (it takes no keys)",
                                cdir));

    /* Positions of nested values, and of the shared true value through its member. */
    const json_t *nested = json_object_get(st, "nested");
    const json_t *deep = json_object_get(nested, "deep");
    const json_t *inner = json_array_get(deep, 1);
    ASSERT_STREQ(cfg_where(c, st), t_path("%s/conf.d/10-f.json:4:15", cdir));
    ASSERT_STREQ(cfg_where(c, nested), t_path("%s/conf.d/10-f.json:6:15", cdir));
    ASSERT_STREQ(cfg_where(c, json_array_get(deep, 0)), t_path("%s/conf.d/10-f.json:6:25", cdir));
    ASSERT_STREQ(cfg_where(c, inner), t_path("%s/conf.d/10-f.json:6:28", cdir));
    ASSERT_STREQ(cfg_where(c, json_object_get(inner, "k")), "");
    char buf[512];
    ASSERT_STREQ(cfg_where_member(c, inner, "k", 0, buf, sizeof buf),
                 t_path("%s/conf.d/10-f.json:6:34", cdir));
    ASSERT_STREQ(cfg_where_member(c, inner, "k", 1, buf, sizeof buf),
                 t_path("%s/conf.d/10-f.json:6:29", cdir));
    /* A missing member falls back to its object; foreign values are unknown. */
    ASSERT_STREQ(cfg_where_member(c, inner, "nope", 1, buf, sizeof buf),
                 t_path("%s/conf.d/10-f.json:6:28", cdir));
    json_t *foreign = json_object();
    ASSERT_STREQ(cfg_where(c, foreign), "");
    ASSERT_STREQ(cfg_where(NULL, st), "");

    /* Getters: defaults, values, and messages at the value's position. */
    int64_t i64;
    uint32_t u32;
    double f;
    int b;
    const char *s;
    ASSERT_OK(cfg_get_i64(c, st, "level", 0, 0, 5, &i64, &eb));
    ASSERT_EQ(i64, 3);
    ASSERT_OK(cfg_get_u32(c, st, "absent", 77, 0, 100, &u32, &eb));
    ASSERT_EQ(u32, 77);
    ASSERT_EQ(cfg_get_u32(c, st, "levle", 0, 0, 3, &u32, &eb), ERR_CONFIG);
    ASSERT_STREQ(eb.msg, t_path("%s/conf.d/10-f.json:7:14: \"levle\" must be between 0 and 3, "
                                "not 4",
                                cdir));
    ASSERT_EQ(cfg_get_str(c, st, "level", NULL, &s, &eb), ERR_CONFIG);
    ASSERT_STREQ(eb.msg, t_path("%s/conf.d/10-f.json:5:14: \"level\" must be a string, not an "
                                "integer",
                                cdir));
    ASSERT_OK(cfg_get_str(c, st, "absent", NULL, &s, &eb));
    ASSERT(s == NULL);
    ASSERT_OK(cfg_get_f64(c, st, "level", 0.5, 0, 10, &f, &eb));
    ASSERT(f == 3.0);
    ASSERT_EQ(cfg_get_f64(c, st, "level", 0.5, 0, 1, &f, &eb), ERR_CONFIG);
    ASSERT_OK(cfg_get_bool(c, inner, "k", 0, &b, &eb));
    ASSERT_EQ(b, 1);
    ASSERT_EQ(cfg_get_bool(c, st, "nested", 0, &b, &eb), ERR_CONFIG);
    ASSERT_STREQ(eb.msg, t_path("%s/conf.d/10-f.json:6:15: \"nested\" must be true or false, not "
                                "an object",
                                cdir));
    ASSERT_EQ(cfg_get_i64(NULL, foreign, "x", 1, 0, 2, &i64, &eb), 0);
    json_object_set_new(foreign, "x", json_string("no"));
    ASSERT_EQ(cfg_get_i64(NULL, foreign, "x", 1, 0, 2, &i64, &eb), ERR_CONFIG);
    ASSERT_STREQ(eb.msg, "\"x\" must be an integer, not a string");
    ASSERT_EQ(cfg_err(c, st, "level", &eb, ERR_NOTFOUND, "no such thing: %d", 5), ERR_NOTFOUND);
    ASSERT_STREQ(eb.msg, t_path("%s/conf.d/10-f.json:5:14: no such thing: 5", cdir));
    json_decref(foreign);
    cfg_free(c);
    ASSERT_EQ(mem_live_blocks(), live);
}

/* Escaped keys, CRLF line ends, tabs and a byte order mark do not throw positions off. */
TEST(config_positions_with_escapes_and_crlf)
{
    cfg_global_init();
    int64_t live = mem_live_blocks();
    mkcfg("\xef\xbb\xbf{\"batch_size\": 7}");
    dropin("10-e.json", "{\r\n"
                        "\t\"na\\u006de\": \"a\",\r\n"
                        "\t\"pl\\u0075gin\": \"p\",\r\n"
                        "\t\"settings\": {\"\\ud83d\\ude00\": 1, \"k\\\"q\": {\"levle\": 2}}\r\n"
                        "}\r\n");
    struct cfg *c = load_ok();
    ASSERT_EQ(c->batch_size, 7);
    ASSERT_EQ(c->n_instances, 1);
    ASSERT_STREQ(c->instances[0].name, "a");
    ASSERT_STREQ(c->instances[0].plugin, "p");
    const json_t *st = c->instances[0].settings;
    char buf[512];
    ASSERT_STREQ(cfg_where_member(c, st, "\xf0\x9f\x98\x80", 1, buf, sizeof buf),
                 t_path("%s/conf.d/10-e.json:4:15", cdir));
    ASSERT_STREQ(cfg_where(c, json_object_get(st, "\xf0\x9f\x98\x80")),
                 t_path("%s/conf.d/10-e.json:4:31", cdir));
    static const char *const keys[] = {"level", NULL};
    struct errbuf eb;
    ASSERT_EQ(cfg_check_keys(c, json_object_get(st, "k\"q"), keys, "x", &eb), ERR_CONFIG);
    ASSERT_STREQ(eb.msg, t_path("%s/conf.d/10-e.json:4:43: unknown key \"levle\" in x (did you "
                                "mean \"level\"?)",
                                cdir));
    ASSERT_STREQ(cfg_where(c, st), t_path("%s/conf.d/10-e.json:4:14", cdir));
    cfg_free(c);
    ASSERT_EQ(mem_live_blocks(), live);
    /* With a byte order mark, positions on the first line start after it. */
    mkcfg("\xef\xbb\xbf{\"batch_size\": true}");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/etwhost.json:1:16: \"batch_size\" must be an integer, not a boolean",
                        cdir));
}

TEST(config_wrong_types_and_values)
{
    cfg_global_init();
    struct {
        const char *json;
        const char *msg; /* after "<dir>/etwhost.json:" */
    } cases[] = {
        {"{\n  \"batch_size\": \"x\"\n}", "2:17: \"batch_size\" must be an integer, not a string"},
        {"{\"batch_size\": 0}", "1:16: \"batch_size\" must be between 1 and 65536, not 0"},
        {"{\"batch_size\": 2.5}",
         "1:16: \"batch_size\" must be an integer, not a fractional number"},
        {"{\"queue_depth\": 5000}", "1:17: \"queue_depth\" must be between 1 and 4096, not 5000"},
        {"{\"stats_interval\": -1}",
         "1:20: \"stats_interval\" must be between 0 and 604800, not -1"},
        {"{\"log_level\": \"loud\"}",
         "1:15: \"log_level\" must be one of \"error\", \"warn\", \"info\", \"debug\", "
         "not \"loud\""},
        {"{\"on_sink_error\": \"ignore\"}",
         "1:19: \"on_sink_error\" must be one of \"stop\", \"continue\", not \"ignore\""},
        {"{\"plugin_dirs\": \"plugins\"}", "1:17: \"plugin_dirs\" must be an array, not a string"},
        {"{\"plugin_dirs\": [\"a\", 3]}",
         "1:23: \"plugin_dirs\"[1] must be a string, not an integer"},
        {"{\"manifests\": [\"\"]}", "1:16: \"manifests\"[0] is an empty path"},
        {"{\"state_dir\": \"\"}", "1:15: \"state_dir\" is empty"},
        {"{\"retry\": 5}",
         "1:11: \"retry\" must be an object like {\"initial_ms\": 50, \"max_ms\": 5000}, not an "
         "integer"},
        {"{\"retry\": {\"initial_ms\": 100, \"max_ms\": 20}}",
         "1:41: \"max_ms\" (20) must not be less than \"initial_ms\" (100)"},
        {"{\"sources\": {}}", "1:13: \"sources\" must be an array, not an object"},
        {"{\"sources\": [\"etl\"]}", "1:14: a source must be an object, not a string"},
        {"{\"sources\": [{\"path\": \"x\"}]}",
         "1:14: source has no \"type\" (synthetic, etl, archive or live)"},
        {"{\"sources\": [{\"type\": 1}]}", "1:23: \"type\" must be a string, not an integer"},
        {"{\"sources\": [{\"type\": \"etl\", \"name\": \"a b\"}]}",
         "1:38: bad source name \"a b\" (use letters, digits, '_', '.' and '-')"},
        {"{\"instances\": [[]]}", "1:16: an instance must be an object, not an array"},
        {"{\"instances\": [{\"name\": \"x\"}]}",
         "1:16: instance has no \"plugin\" (the name of the plugin to load)"},
        {"{\"instances\": [{\"plugin\": \"p\", \"enabled\": \"yes\"}]}",
         "1:43: \"enabled\" must be true or false, not a string"},
        {"{\"instances\": [{\"plugin\": \"p\", \"settings\": []}]}",
         "1:44: \"settings\" must be an object, not an array"},
        {"{\"instances\": [{\"plugin\": \"../evil\"}]}",
         "1:27: bad plugin name \"../evil\" (letters, digits, '_', '.' and '-'; use \"path\" for "
         "a library elsewhere)"},
        {"{\"instances\": [{\"plugin\": \"p\", \"name\": \"\"}]}",
         "1:40: bad instance name \"\" (use letters, digits, '_', '.' and '-')"},
        {"{\"instances\": [{\"plugin\": \"p\", \"path\": \"\"}]}", "1:40: \"path\" is empty"},
        {"[]", "1:1: the top level must be an object, not an array"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mkcfg(cases[i].json);
        ASSERT_STREQ(load_err(ERR_CONFIG),
                     t_path("%s/etwhost.json:%s", cdir, cases[i].msg));
    }
}

TEST(config_parse_errors_carry_line_and_column)
{
    cfg_global_init();
    mkcfg("{\n  \"batch_size\": 10,\n}\n");
    const char *m = load_err(ERR_FORMAT);
    const char *pre = t_path("%s/etwhost.json:3:1: ", cdir);
    ASSERT_MSG(strncmp(m, pre, strlen(pre)) == 0, "%s", m);
    ASSERT_CONTAINS(m, "expected");
    /* Duplicate keys are rejected, not silently merged. */
    mkcfg("{\n  \"batch_size\": 10,\n  \"batch_size\": 20\n}\n");
    m = load_err(ERR_FORMAT);
    ASSERT_CONTAINS(m, t_path("%s/etwhost.json:3:", cdir));
    ASSERT_CONTAINS(m, "duplicate object key");
    mkcfg("{}");
    dropin("50-bad.json", "{\"plugin\": \"x\"");
    m = load_err(ERR_FORMAT);
    ASSERT_CONTAINS(m, t_path("%s/conf.d/50-bad.json:1:", cdir));
    dropin("50-bad.json", "");
    ASSERT_STREQ(load_err(ERR_FORMAT),
                 t_path("%s/conf.d/50-bad.json: empty file (expected a JSON object)", cdir));
    /* cfg_load_file_json reports the same way and works without a cfg. */
    json_t *j = NULL;
    struct errbuf eb;
    t_write_file(t_path("%s/t.json", cdir), "[1,\n 2,\n x]");
    ASSERT_EQ(cfg_load_file_json(t_path("%s/t.json", cdir), &j, &eb), ERR_FORMAT);
    ASSERT_CONTAINS(eb.msg, t_path("%s/t.json:3:", cdir));
    ASSERT(j == NULL);
    ASSERT_EQ(cfg_load_file_json(t_path("%s/none.json", cdir), &j, &eb), ERR_NOTFOUND);
    ASSERT_CONTAINS(eb.msg, "none.json");
    t_write_file(t_path("%s/t.json", cdir), "[1, {\"a\": \"b\"}]");
    ASSERT_OK(cfg_load_file_json(t_path("%s/t.json", cdir), &j, &eb));
    ASSERT_EQ(json_array_size(j), 2);
    json_decref(j);
}

TEST(config_env_expansion)
{
    cfg_global_init();
    int64_t live = mem_live_blocks();
    set_env("ETWH_TEST_TOKEN", "s3cr\xc3\xa9t");
    set_env("ETWH_TEST_DIR", "/srv/etw");
    /* ETWH_TEST_UNSET is never set; an empty value is a value (Windows cannot set one). */
#if defined(_WIN32)
    set_env("ETWH_TEST_EMPTY", "x");
    mkcfg("{\"state_dir\": \"${ETWH_TEST_DIR}/state\", \"log_level\": \"warn\"}");
#else
    set_env("ETWH_TEST_EMPTY", "");
    mkcfg("{\"state_dir\": \"${ETWH_TEST_DIR}/state\", \"log_level\": \"${ETWH_TEST_EMPTY}warn\"}");
#endif
    dropin("10-k.json", "{\n"
                        "  \"plugin\": \"kafka\",\n"
                        "  \"settings\": {\n"
                        "    \"password\": \"${ETWH_TEST_TOKEN}\",\n"
                        "    \"list\": [\"a${ETWH_TEST_TOKEN}b\", {\"x\": \"${ETWH_TEST_DIR}\"}],\n"
                        "    \"literal\": \"$${ETWH_TEST_TOKEN} costs $5 $$ $\",\n"
                        "    \"two\": \"${ETWH_TEST_DIR}${ETWH_TEST_DIR}\"\n"
                        "  }\n"
                        "}\n");
    /* A disabled instance needs none of its variables. */
    dropin("20-off.json", "{\"plugin\": \"p\", \"enabled\": false, \"settings\": {\"a\": "
                          "\"${ETWH_TEST_UNSET}\"}}");
    struct cfg *c = load_ok();
    ASSERT_STREQ(c->state_dir, "/srv/etw/state");
    ASSERT_EQ(c->log_level, LOG_WARN);
    ASSERT_EQ(c->n_instances, 1);
    const json_t *st = c->instances[0].settings;
    ASSERT_STREQ(json_string_value(json_object_get(st, "password")), "s3cr\xc3\xa9t");
    const json_t *list = json_object_get(st, "list");
    ASSERT_STREQ(json_string_value(json_array_get(list, 0)), "as3cr\xc3\xa9tb");
    ASSERT_STREQ(json_string_value(json_object_get(json_array_get(list, 1), "x")), "/srv/etw");
    ASSERT_STREQ(json_string_value(json_object_get(st, "literal")),
                 "${ETWH_TEST_TOKEN} costs $5 $$ $");
    ASSERT_STREQ(json_string_value(json_object_get(st, "two")), "/srv/etw/srv/etw");
    /* Expansion keeps the value's identity, so its position is still known. */
    ASSERT_STREQ(cfg_where(c, json_object_get(st, "password")),
                 t_path("%s/conf.d/10-k.json:4:17", cdir));
    cfg_free(c);
    ASSERT_EQ(mem_live_blocks(), live);

    dropin("20-off.json",
           "{\"plugin\": \"p\", \"settings\": {\n  \"a\": \"x${ETWH_TEST_UNSET}\"}}");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/conf.d/20-off.json:2:8: environment variable \"ETWH_TEST_UNSET\" is "
                        "not set",
                        cdir));
    dropin("20-off.json", "{\"plugin\": \"p\", \"settings\": {\"a\": \"${ETWH_TEST_DIR\"}}");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/conf.d/20-off.json:1:35: unterminated \"${\" in string (write \"$${\" "
                        "for a literal \"${\")",
                        cdir));
    dropin("20-off.json", "{\"plugin\": \"p\", \"settings\": {\"a\": \"${A-B}\"}}");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/conf.d/20-off.json:1:35: bad variable name \"${A-B}\" (letters, "
                        "digits and _; write \"$${\" for a literal \"${\")",
                        cdir));
    /* Variables expand before validation: the name must still be valid afterwards. */
    set_env("ETWH_TEST_NAME", "my sink");
    dropin("20-off.json", "{\"plugin\": \"p\", \"name\": \"${ETWH_TEST_NAME}\"}");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/conf.d/20-off.json:1:25: bad instance name \"my sink\" (use letters, "
                        "digits, '_', '.' and '-')",
                        cdir));
#if !defined(_WIN32)
    set_env("ETWH_TEST_BAD", "\xff");
    dropin("20-off.json", "{\"plugin\": \"p\", \"settings\": {\"a\": \"${ETWH_TEST_BAD}\"}}");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/conf.d/20-off.json:1:35: the value after expanding environment "
                        "variables is not valid UTF-8",
                        cdir));
#endif
    /* Keys are never expanded. */
    dropin("20-off.json", "{\"plugin\": \"p\", \"settings\": {\"${ETWH_TEST_DIR}\": 1}}");
    c = load_ok();
    ASSERT(json_object_get(c->instances[1].settings, "${ETWH_TEST_DIR}") != NULL);
    cfg_free(c);
}

TEST(config_missing_and_empty_folders)
{
    cfg_global_init();
    snprintf(cdir, sizeof cdir, "%s/nope", t_tmpdir());
    ASSERT_STREQ(load_err(ERR_NOTFOUND), t_path("%s: config folder not found", cdir));
    mkcfg(NULL);
    ASSERT_STREQ(load_err(ERR_NOTFOUND),
                 t_path("%s/etwhost.json: not found (a config folder needs an etwhost.json; {} "
                        "will do)",
                        cdir));
    t_write_file(t_path("%s/file", t_tmpdir()), "{}");
    snprintf(cdir, sizeof cdir, "%s/file", t_tmpdir());
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s: not a folder (give the config folder, which holds etwhost.json)",
                        cdir));
    /* An empty conf.d and a trailing slash on the folder are fine. */
    mkcfg("{}");
    t_mkdir(t_path("%s/conf.d", cdir));
    char slash[4200];
    snprintf(slash, sizeof slash, "%s/", cdir);
    struct cfg *c = NULL;
    struct errbuf eb;
    ASSERT_OK(cfg_load(slash, &c, &eb));
    ASSERT_EQ(c->n_files, 1);
    ASSERT_STREQ(c->files[0], t_path("%s/etwhost.json", cdir));
    ASSERT_EQ(c->n_instances, 0);
    cfg_free(c);
    /* conf.d as a file is a mistake worth reporting. */
    mkcfg("{}");
    t_write_file(t_path("%s/conf.d", t_tmpdir()), "");
    snprintf(cdir, sizeof cdir, "%s", t_tmpdir());
    t_write_file(t_path("%s/etwhost.json", cdir), "{}");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/conf.d: not a folder (drop-in files go there)", cdir));
}

TEST(config_disabled_and_ignored_files)
{
    cfg_global_init();
    int64_t live = mem_live_blocks();
    mkcfg("{\"instances\": [{\"plugin\": \"a\", \"enabled\": false}, {\"plugin\": \"b\"}]}");
    dropin("10-on.json", "{\"plugin\": \"c\", \"enabled\": true}");
    dropin("20-off.json", "{\"plugin\": \"d\", \"enabled\": false, \"settings\": {\"x\": 1}}");
    dropin("30-x.json.disabled", "{\"plugin\": \"e\"}");
    dropin("README", "not json at all");
    dropin("40.JSON", "{ broken");
    dropin(".#50-y.json", "{ broken");
    dropin("60-empty.json", "{}");
    t_mkdir(t_path("%s/conf.d/70-dir.json", cdir));
    struct cfg *c = load_ok();
    ASSERT_EQ(c->n_instances, 2);
    ASSERT_STREQ(c->instances[0].name, "b");
    ASSERT_STREQ(c->instances[1].name, "c");
    /* Files read: only the .json ones (the disabled instance's file is still read). */
    ASSERT_EQ(c->n_files, 4);
    ASSERT_STREQ(c->files[1], t_path("%s/conf.d/10-on.json", cdir));
    ASSERT_STREQ(c->files[2], t_path("%s/conf.d/20-off.json", cdir));
    ASSERT_STREQ(c->files[3], t_path("%s/conf.d/60-empty.json", cdir));
    cfg_free(c);
    ASSERT_EQ(mem_live_blocks(), live);
    /* A disabled instance still has to be well-formed. */
    dropin("20-off.json", "{\"plugin\": \"d\", \"enabled\": false, \"setings\": {}}");
    ASSERT_STREQ(load_err(ERR_CONFIG),
                 t_path("%s/conf.d/20-off.json:1:35: unknown key \"setings\" in instance (did "
                        "you mean \"settings\"?)",
                        cdir));
}

TEST(config_suggest_distance)
{
    static const char *const keys[] = {"plugin_dirs", "state_dir", "log_level", "batch_size",
                                       "queue_depth", "retry",     "sources",   NULL};
    ASSERT_STREQ(cfg_suggest("bach_size", keys), "batch_size");
    ASSERT_STREQ(cfg_suggest("batch", keys), "batch_size");      /* truncated */
    ASSERT_STREQ(cfg_suggest("LOG_LEVEL", keys), "log_level");   /* case */
    ASSERT_STREQ(cfg_suggest("log_lveel", keys), "log_level");   /* transposition */
    ASSERT_STREQ(cfg_suggest("source", keys), "sources");
    ASSERT_STREQ(cfg_suggest("rety", keys), "retry");
    ASSERT_STREQ(cfg_suggest("que", keys), "queue_depth");
    ASSERT(cfg_suggest("retries", keys) == NULL);
    ASSERT(cfg_suggest("colour", keys) == NULL);
    ASSERT(cfg_suggest("", keys) == NULL);
    ASSERT(cfg_suggest("x", keys) == NULL);
}

/* Every allocation failure gives ERR_NOMEM, never a crash or a leak. */
TEST(config_out_of_memory_is_clean)
{
    cfg_global_init();
    set_env("ETWH_TEST_TOKEN", "value");
    mkcfg("{\"plugin_dirs\": [\"p1\", \"p2\"], \"manifests\": [\"m\"], \"chain\": [\"b\"],\n"
          " \"sources\": [{\"type\": \"etl\"}, {\"type\": \"etl\"}, {\"type\": \"live\", \"name\": "
          "\"l\"}]}");
    dropin("10.json", "{\"instances\": [{\"plugin\": \"a\", \"settings\": {\"t\": "
                      "\"${ETWH_TEST_TOKEN}\", \"arr\": [1, 2, {\"z\": null}]}},"
                      " {\"plugin\": \"b\"}]}");
    dropin("20.json", "{\"plugin\": \"c\", \"path\": \"c.so\"}");
    int64_t live = mem_live_blocks();
    int ok = 0;
    for (int64_t n = 1; n < 100000 && !ok; n++) {
        struct cfg *c = NULL;
        struct errbuf eb;
        eb.msg[0] = '\0';
        mem_fail_after(n);
        int rc = cfg_load(cdir, &c, &eb);
        mem_fail_after(0);
        if (rc == 0) {
            ASSERT_EQ(c->n_instances, 3);
            ASSERT_STREQ(c->instances[0].name, "b");
            ASSERT_STREQ(c->sources[1].name, "etl-2");
            cfg_free(c);
            ok = 1;
        } else {
            ASSERT_MSG(rc == ERR_NOMEM, "allocation %lld: rc %d: %s", (long long)n, rc, eb.msg);
            ASSERT(c == NULL);
        }
        ASSERT_MSG(mem_live_blocks() == live, "allocation %lld: %lld blocks leaked", (long long)n,
                   (long long)(mem_live_blocks() - live));
    }
    ASSERT(ok);
}

TEST(config_check_cli_end_to_end)
{
    mkcfg("{\n"
          "  \"plugin_dirs\": [\"plugins\", \"/opt/p\"],\n"
          "  \"sources\": [{\"type\": \"etl\", \"path\": \"x.etl\"}],\n"
          "  \"chain\": [\"out\"]\n"
          "}\n");
    dropin("10-lvl.json", "{\"plugin\": \"level\", \"settings\": {\"max\": 3, \"secret\": "
                          "\"${ETWH_CHECK_SECRET}\"}}");
    dropin("20-out.json", "{\"name\": \"out\", \"plugin\": \"stdout\"}");
    /* check also opens the sources and loads each plugin: give it real ones. */
    t_write_file(t_path("%s/x.etl", cdir), "");
    t_mkdir(t_path("%s/plugins", cdir));
    size_t len;
    const char *so = plat_dl_suffix();
    char *lib = t_read_file(t_path("%s/tests/plugins/compat%s", t_build(), so), &len);
    ASSERT(lib != NULL);
    t_write_bytes(t_path("%s/plugins/level%s", cdir, so), lib, len);
    t_write_bytes(t_path("%s/plugins/stdout%s", cdir, so), lib, len);
    mem_free(lib);
    const char *args[] = {"check", "-c", cdir, NULL};
    const char *env[] = {"ETWH_CHECK_SECRET=hunter2", NULL};
    struct t_run r = t_etwhost(args, NULL, env);
    ASSERT_MSG(r.status == 0, "status %d, stderr: %s", r.status, r.err);
    ASSERT_CONTAINS(r.out, t_path("config folder: %s\n", cdir));
    ASSERT_CONTAINS(r.out, t_path("plugin dirs (2):\n  %s/plugins\n  /opt/p\n", cdir));
    ASSERT_CONTAINS(r.out,
                    t_path("sources (1):\n  etl (type etl) at %s/etwhost.json:3:15\n", cdir));
    ASSERT_CONTAINS(r.out, t_path("instances in chain order (2):\n"
                                  "  1. out (plugin stdout) at %s/conf.d/20-out.json:1:1\n"
                                  "  2. level (plugin level) at %s/conf.d/10-lvl.json:1:1\n"
                                  "     settings: max, secret\n",
                                  cdir, cdir));
    ASSERT_CONTAINS(r.out, t_path("ok: %s is valid\n", cdir));
    /* Secrets from the environment are never printed. */
    ASSERT_NOT_CONTAINS(r.out, "hunter2");
    ASSERT_EQ(r.err_len, 0);
    t_run_free(&r);

    /* Without the variable: one error line, exit 2. */
    r = t_etwhost(args, NULL, no_env);
    ASSERT_EQ(r.status, 2);
    ASSERT_STREQ(r.err, t_path("etwhost: error: %s/conf.d/10-lvl.json:1:54: environment variable "
                               "\"ETWH_CHECK_SECRET\" is not set\n",
                               cdir));
    ASSERT_EQ(r.out_len, 0);
    t_run_free(&r);

    dropin("10-lvl.json", "{\"plugn\": \"level\"}");
    r = t_etwhost(args, NULL, env);
    ASSERT_EQ(r.status, 2);
    ASSERT_STREQ(r.err, t_path("etwhost: error: %s/conf.d/10-lvl.json:1:2: unknown key \"plugn\" "
                               "in instance (did you mean \"plugin\"?)\n",
                               cdir));
    t_run_free(&r);

    const char *help[] = {"check", "--help", NULL};
    r = t_etwhost(help, NULL, NULL);
    ASSERT_EQ(r.status, 0);
    ASSERT_CONTAINS(r.out, "usage: etwhost check -c DIR");
    t_run_free(&r);

    const char *noarg[] = {"check", NULL};
    r = t_etwhost(noarg, NULL, NULL);
    ASSERT_EQ(r.status, 2);
    ASSERT_CONTAINS(r.err, "missing -c DIR");
    t_run_free(&r);

    const char *missing[] = {"check", "--config", t_path("%s/none", t_tmpdir()), NULL};
    r = t_etwhost(missing, NULL, NULL);
    ASSERT_EQ(r.status, 2);
    ASSERT_STREQ(r.err, t_path("etwhost: error: %s/none: config folder not found\n", t_tmpdir()));
    t_run_free(&r);

    /* The verb is listed in the top-level usage. */
    const char *top[] = {"--help", NULL};
    r = t_etwhost(top, NULL, NULL);
    ASSERT_CONTAINS(r.out, "check");
    t_run_free(&r);
}

/* The configuration shipped in conf/ must always load. */
TEST(config_shipped_conf_loads)
{
    cfg_global_init();
    int64_t live = mem_live_blocks();
    snprintf(cdir, sizeof cdir, "%s/conf", t_root());
    struct cfg *c = load_ok();
    ASSERT(c->n_sources >= 1);
    ASSERT(c->n_instances >= 1);
    ASSERT_STREQ(c->files[0], t_path("%s/etwhost.json", cdir));
    cfg_free(c);
    ASSERT_EQ(mem_live_blocks(), live);
    const char *args[] = {"check", "-c", cdir, NULL};
    struct t_run r = t_etwhost(args, NULL, NULL);
    ASSERT_MSG(r.status == 0, "status %d, stderr: %s", r.status, r.err);
    ASSERT_CONTAINS(r.out, t_path("ok: %s is valid\n", cdir));
    t_run_free(&r);
}

/* ---- property test of the position index on generated documents ---- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33) % n;
}

static json_t *gen_value(int depth)
{
    static const char *const words[] = {"a", "level", "k\"q", "caf\xc3\xa9", "\xf0\x9f\x98\x80x",
                                        "tab\there", "new\nline", "sl/ash", "back\\slash", "z"};
    uint32_t kind = depth > 3 ? rnd(6) : rnd(8);
    switch (kind) {
    case 0: return json_integer((json_int_t)rnd(100000) - 50000);
    case 1: return json_real((double)rnd(1000) / 8.0);
    case 2: return json_string(words[rnd(10)]);
    case 3: return json_true();
    case 4: return json_false();
    case 5: return json_null();
    case 6: {
        json_t *a = json_array();
        for (uint32_t i = 0, n = rnd(5); i < n; i++)
            json_array_append_new(a, gen_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (uint32_t i = 0, n = rnd(6); i < n; i++) {
            char key[64];
            snprintf(key, sizeof key, "%s%u", words[rnd(10)], rnd(50));
            json_object_set_new(o, key, gen_value(depth + 1));
        }
        return o;
    }
    }
}

/* Byte offset of 1-based line/column (columns count UTF-8 characters) in text. */
static size_t offset_of(const char *text, unsigned line, unsigned col)
{
    size_t i = 0;
    for (unsigned l = 1; l < line; i++)
        if (text[i] == '\n')
            l++;
    for (unsigned c = 1; c < col; c++) {
        i++;
        while (((unsigned char)text[i] & 0xC0) == 0x80)
            i++;
    }
    return i;
}

static const char *text_at(const char *text, const char *where)
{
    /* where = "<file>:<line>:<col>" */
    const char *c2 = strrchr(where, ':');
    ASSERT(c2 != NULL && c2 > where);
    const char *c1 = c2 - 1;
    while (c1 > where && *c1 != ':')
        c1--;
    unsigned line = (unsigned)strtoul(c1 + 1, NULL, 10), col = (unsigned)strtoul(c2 + 1, NULL, 10);
    ASSERT(line >= 1 && col >= 1);
    return text + offset_of(text, line, col);
}

/* The text at the recorded position must be where the value (or key) starts. */
static void check_value_at(const struct cfg *c, const char *text, const json_t *parent,
                           const char *key, size_t index, const json_t *v)
{
    char where[600];
    if (key) {
        cfg_where_member(c, parent, key, 1, where, sizeof where);
        ASSERT_MSG(*text_at(text, where) == '"', "key %s at %s", key, where);
        cfg_where_member(c, parent, key, 0, where, sizeof where);
    } else if (json_is_boolean(v) || json_is_null(v)) {
        return; /* no identity and no key: nothing to look up */
    } else {
        snprintf(where, sizeof where, "%s", cfg_where(c, v));
    }
    ASSERT_MSG(where[0] != '\0', "no position for member %s[%zu]", key ? key : "", index);
    const char *at = text_at(text, where);
    char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    ASSERT(dump != NULL);
    if (json_is_object(v) || json_is_array(v) || json_is_string(v))
        ASSERT_MSG(*at == dump[0], "value %s at %s starts with %.10s", dump, where, at);
    else
        ASSERT_MSG(strncmp(at, dump, strlen(dump)) == 0, "value %s at %s is %.20s", dump, where,
                   at);
    mem_free(dump);
    if (key)
        ASSERT(json_is_boolean(v) || json_is_null(v) ||
               strcmp(cfg_where(c, v), where) == 0);
    const char *k;
    json_t *m;
    size_t i;
    if (json_is_object(v))
        json_object_foreach((json_t *)v, k, m) check_value_at(c, text, v, k, 0, m);
    else if (json_is_array(v))
        json_array_foreach(v, i, m) check_value_at(c, text, v, NULL, i, m);
}

TEST(config_positions_match_generated_documents)
{
    cfg_global_init();
    int64_t live = mem_live_blocks();
    mkcfg("{}");
    for (uint64_t seed = 1; seed <= 200; seed++) {
        rng_state = seed;
        json_t *settings = gen_value(2);
        if (!json_is_object(settings)) {
            json_t *o = json_object();
            json_object_set_new(o, "v", settings);
            settings = o;
        }
        json_t *inst = json_pack("{s:s, s:o}", "plugin", "p", "settings", settings);
        size_t flags = JSON_INDENT(rnd(5)) | (rnd(2) ? JSON_ENSURE_ASCII : 0) |
                       (rnd(2) ? JSON_COMPACT : 0) | (rnd(2) ? JSON_ESCAPE_SLASH : 0);
        char *text = json_dumps(inst, flags);
        ASSERT(text != NULL);
        dropin("10-gen.json", text);
        struct cfg *c = load_ok();
        const json_t *st = c->instances[0].settings;
        ASSERT_MSG(json_equal(st, settings), "seed %llu: loaded settings differ",
                   (unsigned long long)seed);
        check_value_at(c, text, NULL, NULL, 0, st);
        cfg_free(c);
        mem_free(text);
        json_decref(inst);
    }
    ASSERT_EQ(mem_live_blocks(), live);
}
