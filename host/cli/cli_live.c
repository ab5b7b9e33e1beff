/*
 * cli_live: `etwhost sessions | stop | providers | autologger | service`
 * (see cli_live.h and docs/live.md).
 */
#include "cli_live.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../config/config.h"
#include "../core/buf.h"
#include "../core/mem.h"
#include "../live/etw_api.h"
#include "../live/live_autologger.h"
#include "../live/live_provider.h"
#include "../live/live_service.h"
#include "../live/live_session.h"
#include "../platform/platform.h"
#include "cli.h"

static int help_asked(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

static const struct etw_api *need_api(const char *verb, FILE *err)
{
    const struct etw_api *api = etw_api_get();
    if (api == NULL)
        fprintf(err, "etwhost %s: live ETW sessions need Windows\n", verb);
    return api;
}

/* ---- sessions ---- */

static void mode_text(uint32_t m, char *out, size_t cap)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } bits[] = {
        {ETW_MODE_REAL_TIME, "realtime"},      {ETW_MODE_FILE_SEQUENTIAL, "sequential"},
        {ETW_MODE_FILE_CIRCULAR, "circular"},  {ETW_MODE_FILE_NEWFILE, "newfile"},
        {ETW_MODE_FILE_APPEND, "append"},      {ETW_MODE_USE_PAGED_MEMORY, "paged"},
        {ETW_MODE_SYSTEM_LOGGER, "system"},    {ETW_MODE_INDEPENDENT_SESSION, "independent"},
    };
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        if (!(m & bits[i].bit))
            continue;
        int n = snprintf(out + used, cap - used, "%s%s", used ? "," : "", bits[i].name);
        if (n > 0 && (size_t)n < cap - used)
            used += (size_t)n;
    }
    if (used == 0)
        snprintf(out, cap, "0x%x", m);
}

static int do_sessions(int argc, char **argv, FILE *out, FILE *err)
{
    if (help_asked(argc, argv)) {
        fprintf(out, "usage: etwhost sessions\n\nList the running ETW sessions (QueryAllTraces) "
                     "with their buffers and losses.\n");
        return CLI_EXIT_OK;
    }
    if (argc > 1) {
        fprintf(err, "etwhost sessions: unexpected argument '%s'\n", argv[1]);
        return CLI_EXIT_USAGE;
    }
    const struct etw_api *api = need_api("sessions", err);
    if (api == NULL)
        return CLI_EXIT_USAGE;
    uint32_t cap = 256, n = 0;
    struct etw_session_props *v = mem_calloc(cap, sizeof *v);
    if (v == NULL) {
        fprintf(err, "etwhost sessions: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    uint32_t w = api->query_all_traces(api->ctx, v, cap, &n);
    if (w != ETW_OK) {
        char t[300];
        fprintf(err, "etwhost sessions: QueryAllTraces failed: %s\n",
                etw_error_text(api, w, t, sizeof t));
        mem_free(v);
        return CLI_EXIT_FAIL;
    }
    fprintf(out, "%-40s %-22s %8s %9s %11s %10s %10s  %s\n", "NAME", "MODE", "BUF(KB)",
            "BUFFERS", "EVENTSLOST", "LOGBUFLOST", "RTBUFLOST", "FILE");
    for (uint32_t i = 0; i < n; i++) {
        const struct etw_session_props *p = &v[i];
        char mode[128], bufs[32];
        mode_text(p->log_file_mode, mode, sizeof mode);
        snprintf(bufs, sizeof bufs, "%u/%u", p->q_number_of_buffers, p->q_free_buffers);
        fprintf(out, "%-40s %-22s %8u %9s %11u %10u %10u  %s\n", p->name, mode,
                p->buffer_size_kb, bufs, p->q_events_lost, p->q_log_buffers_lost,
                p->q_real_time_buffers_lost, p->file[0] ? p->file : "-");
    }
    fprintf(out, "%u session%s (BUFFERS: in use/free)\n", n, n == 1 ? "" : "s");
    mem_free(v);
    return CLI_EXIT_OK;
}

/* ---- stop ---- */

static int do_stop(int argc, char **argv, FILE *out, FILE *err)
{
    if (help_asked(argc, argv) || argc != 2) {
        fprintf(argc == 2 ? out : err, "usage: etwhost stop NAME\n\nStop the ETW session NAME "
                                       "(ControlTrace STOP) and print its final counters.\n");
        return argc == 2 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    const struct etw_api *api = need_api("stop", err);
    if (api == NULL)
        return CLI_EXIT_USAGE;
    struct etw_session_props q;
    memset(&q, 0, sizeof q);
    uint32_t w = api->control_trace(api->ctx, 0, argv[1], ETW_CONTROL_STOP, &q);
    if (w != ETW_OK) {
        char t[300];
        fprintf(err, "etwhost stop: session \"%s\": %s\n", argv[1],
                etw_error_text(api, w, t, sizeof t));
        return CLI_EXIT_FAIL;
    }
    fprintf(out, "stopped session \"%s\": EventsLost %u, LogBuffersLost %u, RealTimeBuffersLost "
                 "%u, buffers written %u\n",
            argv[1], q.q_events_lost, q.q_log_buffers_lost, q.q_real_time_buffers_lost,
            q.q_buffers_written);
    return CLI_EXIT_OK;
}

/* ---- providers ---- */

static int lc(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Case-insensitive glob (* and ?). */
static int glob_match(const char *p, const char *s)
{
    if (*p == '\0')
        return *s == '\0';
    if (*p == '*')
        return glob_match(p + 1, s) || (*s && glob_match(p, s + 1));
    if (*s && (*p == '?' || lc((unsigned char)*p) == lc((unsigned char)*s)))
        return glob_match(p + 1, s + 1);
    return 0;
}

static int name_matches(const char *pattern, const char *name, const char *guid)
{
    if (pattern == NULL)
        return 1;
    if (strchr(pattern, '*') || strchr(pattern, '?'))
        return glob_match(pattern, name) || glob_match(pattern, guid);
    size_t pl = strlen(pattern);
    for (const char *h = name; *h; h++) {
        size_t i = 0;
        while (i < pl && h[i] && lc((unsigned char)h[i]) == lc((unsigned char)pattern[i]))
            i++;
        if (i == pl)
            return 1;
    }
    return strstr(guid, pattern) != NULL;
}

static int cmp_info(const void *a, const void *b)
{
    const struct live_provider_info *x = a, *y = b;
    const char *p = x->name, *q = y->name;
    while (*p && lc((unsigned char)*p) == lc((unsigned char)*q)) {
        p++;
        q++;
    }
    return lc((unsigned char)*p) - lc((unsigned char)*q);
}

static int do_providers(int argc, char **argv, FILE *out, FILE *err)
{
    const char *pattern = NULL;
    int sys = 0, kflags = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--system") == 0)
            sys = 1;
        else if (strcmp(argv[i], "--kernel-flags") == 0)
            kflags = 1;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fprintf(out, "usage: etwhost providers [PATTERN]   registered providers "
                         "(TdhEnumerateProviders)\n"
                         "       etwhost providers --system    Windows 11 system providers and "
                         "keywords\n"
                         "       etwhost providers --kernel-flags  NT Kernel Logger flags\n"
                         "PATTERN: a substring, or a glob with * and ?, of the name or GUID.\n");
            return CLI_EXIT_OK;
        } else if (argv[i][0] == '-') {
            fprintf(err, "etwhost providers: unknown option '%s'\n", argv[i]);
            return CLI_EXIT_USAGE;
        } else if (pattern == NULL) {
            pattern = argv[i];
        } else {
            fprintf(err, "etwhost providers: one PATTERN at most\n");
            return CLI_EXIT_USAGE;
        }
    }
    if (kflags) {
        size_t n;
        const struct live_bit *t = live_kernel_flags(&n);
        for (size_t i = 0; i < n; i++)
            if (name_matches(pattern, t[i].name, ""))
                fprintf(out, "%-18s 0x%08" PRIx64 "\n", t[i].name, t[i].value);
        return CLI_EXIT_OK;
    }
    if (sys) {
        size_t n;
        const struct live_system_provider *t = live_system_providers(&n);
        for (size_t i = 0; i < n; i++) {
            char g[37];
            guid_format(&t[i].guid, g);
            if (!name_matches(pattern, t[i].name, g))
                continue;
            fprintf(out, "{%s}  %s\n", g, t[i].name);
            for (size_t k = 0; k < t[i].nkeywords; k++)
                fprintf(out, "    %s%-24s 0x%" PRIx64 "\n", t[i].kw_prefix, t[i].keywords[k].name,
                        t[i].keywords[k].value);
        }
        return CLI_EXIT_OK;
    }
    const struct etw_api *api = need_api("providers", err);
    if (api == NULL)
        return CLI_EXIT_USAGE;
    struct live_provider_list l;
    struct errbuf eb;
    if (live_provider_list_load(api, &l, &eb)) {
        fprintf(err, "etwhost providers: %s\n", eb.msg);
        return CLI_EXIT_FAIL;
    }
    qsort(l.v, l.n, sizeof *l.v, cmp_info);
    size_t shown = 0;
    for (size_t i = 0; i < l.n; i++) {
        char g[37];
        guid_format(&l.v[i].guid, g);
        if (!name_matches(pattern, l.v[i].name, g))
            continue;
        fprintf(out, "{%s}  %-60s %s\n", g, l.v[i].name,
                l.v[i].schema_source == 0 ? "manifest" : "mof");
        shown++;
    }
    fprintf(out, "%zu of %zu registered providers\n", shown, l.n);
    live_provider_list_free(&l);
    return CLI_EXIT_OK;
}

/* ---- autologger ---- */

static void autologger_usage(FILE *f)
{
    fprintf(f,
            "usage: etwhost autologger create NAME --provider SPEC... [options]\n"
            "       etwhost autologger delete NAME\n"
            "       etwhost autologger show NAME\n"
            "       etwhost autologger list\n"
            "\n"
            "create options:\n"
            "  --provider SPEC     (Name|GUID)[:Level[:EventIDs[:MatchAny[:MatchAll]]]], repeatable\n"
            "  --json FILE         {\"session\": {...}, \"providers\": [...]} as in a live source\n"
            "  --file PATH         log file (absolute); without it the session is real-time\n"
            "  --file-mode MODE    sequential (default), circular or newfile\n"
            "  --max-file-mb N     file size limit (needed by circular and newfile)\n"
            "  --realtime          also real-time when writing a file\n"
            "  --kind KIND         user (default) or system (Windows 11 system providers)\n"
            "  --buffer-kb N  --min-buffers N  --max-buffers N  --flush-s N\n"
            "  --clock CLOCK       qpc (default), system or cycles\n"
            "  --guid GUID         session GUID (default: a new one)\n"
            "  --disabled          write Start=0 (configured, not started at boot)\n"
            "Changes take effect at the next boot.\n");
}

/* A number option value as a JSON integer. */
static json_t *int_arg(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (*s == '\0' || *end != '\0' || v > 0xFFFFFFFFull)
        return NULL;
    return json_integer((json_int_t)v);
}

static int is_absolute(const char *p)
{
    return (p[0] && p[1] == ':' && (p[2] == '\\' || p[2] == '/')) ||
           (p[0] == '\\' && p[1] == '\\') || p[0] == '/';
}

static int autologger_create(const struct etw_api *api, int argc, char **argv, FILE *out,
                             FILE *err)
{
    if (argc < 3) {
        autologger_usage(err);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[2];
    json_t *src = json_object(), *sess = json_object(), *provs = json_array();
    int start = 1, realtime = 0, rc = CLI_EXIT_USAGE;
    const char *file = NULL;
    if (src == NULL || sess == NULL || provs == NULL)
        goto oom;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        static const struct {
            const char *opt, *key;
            int numeric;
        } map[] = {
            {"--file-mode", "file_mode", 0}, {"--max-file-mb", "max_file_mb", 1},
            {"--kind", "kind", 0},           {"--buffer-kb", "buffer_kb", 1},
            {"--min-buffers", "min_buffers", 1}, {"--max-buffers", "max_buffers", 1},
            {"--flush-s", "flush_s", 1},     {"--clock", "clock", 0},
            {"--guid", "guid", 0},
        };
        size_t k = 0;
        for (; k < sizeof map / sizeof map[0]; k++)
            if (strcmp(a, map[k].opt) == 0)
                break;
        if (k < sizeof map / sizeof map[0]) {
            json_t *jv = v == NULL ? NULL : map[k].numeric ? int_arg(v) : json_string(v);
            if (jv == NULL) {
                fprintf(err, "etwhost autologger: %s needs a %s\n", a,
                        map[k].numeric ? "number" : "value");
                goto done;
            }
            json_object_set_new(sess, map[k].key, jv);
            i++;
        } else if (strcmp(a, "--provider") == 0 && v) {
            json_array_append_new(provs, json_string(v));
            i++;
        } else if (strcmp(a, "--file") == 0 && v) {
            file = v;
            i++;
        } else if (strcmp(a, "--json") == 0 && v) {
            json_t *j;
            struct errbuf eb;
            if (cfg_load_file_json(v, &j, &eb)) {
                fprintf(err, "etwhost autologger: %s\n", eb.msg);
                rc = CLI_EXIT_USAGE;
                goto done;
            }
            const json_t *js = json_object_get(j, "session"), *jp = json_object_get(j, "providers");
            const char *key;
            json_t *val;
            if (json_is_object(js))
                json_object_foreach((json_t *)js, key, val)
                    if (json_object_get(sess, key) == NULL)
                        json_object_set(sess, key, val);
            if (json_is_array(jp)) {
                size_t x;
                json_array_foreach((json_t *)jp, x, val)
                    json_array_append(provs, val);
            }
            json_decref(j);
            i++;
        } else if (strcmp(a, "--realtime") == 0) {
            realtime = 1;
        } else if (strcmp(a, "--disabled") == 0) {
            start = 0;
        } else {
            fprintf(err, "etwhost autologger create: unknown or incomplete option '%s'\n", a);
            autologger_usage(err);
            goto done;
        }
    }
    if (file) {
        if (!is_absolute(file)) {
            fprintf(err, "etwhost autologger: --file must be an absolute path (Windows opens it "
                         "at boot): \"%s\"\n", file);
            goto done;
        }
        json_object_set_new(sess, "file", json_string(file));
    }
    if (json_object_get(sess, "file") == NULL || realtime)
        json_object_set_new(sess, "realtime", json_true());
    else if (json_object_get(sess, "realtime") == NULL)
        json_object_set_new(sess, "realtime", json_false());
    if (json_array_size(provs) == 0) {
        fprintf(err, "etwhost autologger: AutoLogger \"%s\" needs at least one provider "
                     "(--provider or --json)\n", name);
        goto done;
    }
    json_object_set_new(sess, "name", json_string(name));
    json_object_set(src, "session", sess);
    json_object_set(src, "providers", provs);
    struct live_session_cfg c;
    struct errbuf eb;
    uint32_t ncpu = api->cpu_count ? api->cpu_count(api->ctx) : 1;
    if (live_session_cfg_from_json(NULL, src, ncpu, &c, &eb)) {
        fprintf(err, "etwhost autologger: %s\n", eb.msg);
        goto done;
    }
    int r = live_providers_resolve(c.providers, c.nproviders, api, &eb);
    if (r == 0)
        r = live_autologger_create(api, &c, start, &eb);
    if (r) {
        fprintf(err, "etwhost autologger: %s\n", eb.msg);
        rc = r == ERR_CONFIG ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    } else {
        fprintf(out, "created AutoLogger \"%s\" (HKLM\\%s\\%s) with %zu provider%s; it starts "
                     "at the next boot%s\n",
                name, LIVE_AUTOLOGGER_ROOT, name, c.nproviders, c.nproviders == 1 ? "" : "s",
                start ? "" : " once Start is set to 1");
        rc = CLI_EXIT_OK;
    }
    live_session_cfg_free(&c);
    goto done;
oom:
    fprintf(err, "etwhost autologger: out of memory\n");
    rc = CLI_EXIT_FAIL;
done:
    json_decref(src);
    json_decref(sess);
    json_decref(provs);
    return rc;
}

static int do_autologger(int argc, char **argv, FILE *out, FILE *err)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        autologger_usage(argc < 2 ? err : out);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "create") != 0 && strcmp(sub, "delete") != 0 && strcmp(sub, "show") != 0 &&
        strcmp(sub, "list") != 0) {
        fprintf(err, "etwhost autologger: unknown subcommand '%s' (create, delete, show, list)\n",
                sub);
        return CLI_EXIT_USAGE;
    }
    const struct etw_api *api = need_api("autologger", err);
    if (api == NULL)
        return CLI_EXIT_USAGE;
    if (strcmp(sub, "create") == 0)
        return autologger_create(api, argc, argv, out, err);
    struct errbuf eb;
    struct buf b = BUF_INIT;
    int r;
    if (strcmp(sub, "list") == 0) {
        if (argc != 2) {
            autologger_usage(err);
            return CLI_EXIT_USAGE;
        }
        r = live_autologger_list(api, &b, &eb);
    } else {
        if (argc != 3) {
            autologger_usage(err);
            return CLI_EXIT_USAGE;
        }
        if (strcmp(sub, "delete") == 0) {
            r = live_autologger_delete(api, argv[2], &eb);
            if (r == 0)
                buf_printf(&b, "deleted AutoLogger \"%s\"\n", argv[2]);
        } else {
            r = live_autologger_show(api, argv[2], &b, &eb);
        }
    }
    if (r) {
        fprintf(err, "etwhost autologger: %s\n", eb.msg);
        buf_free(&b);
        return CLI_EXIT_FAIL;
    }
    if (b.len)
        fwrite(b.p, 1, b.len, out);
    buf_free(&b);
    return CLI_EXIT_OK;
}

/* ---- service ---- */

static void service_usage(FILE *f)
{
    fprintf(f, "usage: etwhost service install -c DIR [--name NAME] [--display TEXT] [--manual]\n"
               "       etwhost service uninstall [--name NAME]\n"
               "       etwhost service run -c DIR [--name NAME]   (started by the Service "
               "Control Manager)\n"
               "The service runs `etwhost run -c DIR`; stopping it drains and flushes like "
               "Ctrl+C.\n");
}

static int service_body(void *arg)
{
    char *args[] = {"run", "-c", (char *)arg, NULL};
    return cli_run(3, args);
}

static int do_service(int argc, char **argv, FILE *out, FILE *err)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        service_usage(argc < 2 ? err : out);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    struct svc_options o;
    memset(&o, 0, sizeof o);
    o.name = SVC_DEFAULT_NAME;
    o.auto_start = 1;
    for (int i = 2; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && v) {
            o.config_dir = v;
            i++;
        } else if (strcmp(argv[i], "--name") == 0 && v) {
            o.name = v;
            i++;
        } else if (strcmp(argv[i], "--display") == 0 && v) {
            o.display = v;
            i++;
        } else if (strcmp(argv[i], "--manual") == 0) {
            o.auto_start = 0;
        } else {
            fprintf(err, "etwhost service: unknown or incomplete option '%s'\n", argv[i]);
            service_usage(err);
            return CLI_EXIT_USAGE;
        }
    }
    const char *sub = argv[1];
    int install = strcmp(sub, "install") == 0, run = strcmp(sub, "run") == 0;
    if (!install && !run && strcmp(sub, "uninstall") != 0) {
        fprintf(err, "etwhost service: unknown subcommand '%s' (install, uninstall, run)\n", sub);
        return CLI_EXIT_USAGE;
    }
    if ((install || run) && o.config_dir == NULL) {
        fprintf(err, "etwhost service %s: missing -c DIR (the config folder)\n", sub);
        return CLI_EXIT_USAGE;
    }
    if (etw_api_platform() == NULL) {
        fprintf(err, "etwhost service: Windows services need Windows\n");
        return CLI_EXIT_USAGE;
    }
    struct errbuf eb;
    int r;
    if (install) {
        char abs[1024];
        if (plat_abspath(o.config_dir, abs, sizeof abs) != 0) {
            fprintf(err, "etwhost service: config folder \"%s\" not found\n", o.config_dir);
            return CLI_EXIT_USAGE;
        }
        o.config_dir = abs;
        r = svc_install(&o, &eb);
        if (r == 0)
            fprintf(out, "installed service \"%s\" running etwhost run -c \"%s\" (%s start)\n",
                    o.name, abs, o.auto_start ? "automatic" : "manual");
    } else if (run) {
        r = svc_run(o.name, service_body, (void *)o.config_dir, &eb);
        if (r >= 0)
            return r;
    } else {
        r = svc_uninstall(o.name, &eb);
        if (r == 0)
            fprintf(out, "uninstalled service \"%s\"\n", o.name);
    }
    if (r) {
        fprintf(err, "etwhost service: %s\n", eb.msg);
        return r == ERR_STATE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

int cli_live_verb(const char *verb, int argc, char **argv, FILE *out, FILE *err)
{
    if (strcmp(verb, "sessions") == 0)
        return do_sessions(argc, argv, out, err);
    if (strcmp(verb, "stop") == 0)
        return do_stop(argc, argv, out, err);
    if (strcmp(verb, "providers") == 0)
        return do_providers(argc, argv, out, err);
    if (strcmp(verb, "autologger") == 0)
        return do_autologger(argc, argv, out, err);
    if (strcmp(verb, "service") == 0)
        return do_service(argc, argv, out, err);
    fprintf(err, "etwhost: unknown live command '%s'\n", verb);
    return CLI_EXIT_USAGE;
}

int cli_sessions(int argc, char **argv)
{
    return cli_live_verb("sessions", argc, argv, stdout, stderr);
}

int cli_stop(int argc, char **argv)
{
    return cli_live_verb("stop", argc, argv, stdout, stderr);
}

int cli_providers(int argc, char **argv)
{
    return cli_live_verb("providers", argc, argv, stdout, stderr);
}

int cli_autologger(int argc, char **argv)
{
    return cli_live_verb("autologger", argc, argv, stdout, stderr);
}

int cli_service(int argc, char **argv)
{
    return cli_live_verb("service", argc, argv, stdout, stderr);
}
