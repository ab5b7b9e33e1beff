/*
 * Paths outside ASCII reach the host intact on every OS: arguments
 * (Windows hands main() the ANSI code page; plat_utf8_args rebuilds them
 * from the UTF-16 command line), config files and plugin files (UTF-8 in
 * the host, UTF-16 at each Windows call).
 */
#include "test.h"

#include "core/mem.h"

/* "été-日本" in UTF-8: one Latin-1 letter and two that no Western code page has. */
#define T_NAME "\xc3\xa9t\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac"

TEST(unicode_paths_in_arguments_config_and_sink)
{
    char dir[2048], out[4096];
    snprintf(dir, sizeof dir, "%s/cfg-" T_NAME, t_tmpdir());
    snprintf(out, sizeof out, "%s/events-" T_NAME ".jsonl", dir);
    t_mkdir(t_path("%s/conf.d", dir));
    t_write_file(t_path("%s/etwhost.json", dir),
                 "{\"sources\": [{\"type\": \"synthetic\", \"count\": 50}]}\n");
    t_write_file(t_path("%s/conf.d/50-file.json", dir),
                 t_path("{\"name\": \"out\", \"plugin\": \"file\", \"settings\": {\"path\": "
                        "\"%s\"}}\n",
                        out));
    const char *check[] = {"check", "-c", dir, NULL};
    struct t_run r = t_etwhost(check, NULL, NULL);
    ASSERT_MSG(r.status == 0, "exit %d, stderr:\n%s", r.status, r.err);
    ASSERT_CONTAINS(r.out, t_path("ok: %s is valid\n", dir));
    t_run_free(&r);
    const char *run[] = {"run", "-c", dir, NULL};
    r = t_etwhost(run, NULL, NULL);
    ASSERT_MSG(r.status == 0, "exit %d, stderr:\n%s", r.status, r.err);
    t_run_free(&r);
    size_t len = 0;
    char *text = t_read_file(out, &len);
    ASSERT_MSG(text != NULL, "%s was not written", out);
    ASSERT_EQ(t_count_lines(text), 50);
    ASSERT_EQ(t_count(text, "\"provider\""), 50);
    mem_free(text);
}
