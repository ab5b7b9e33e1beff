/*
 * filter: the built-in rule filter plugin.
 *
 * Settings (docs/plugins.md "filter"):
 *   mode   "include" (default: pass events the rule matches) | "exclude"
 *   rule   the rule tree (filter_rule.h), required
 *   stage  "auto" (default) | "record" | "event"
 *
 * With stage "auto" the instance runs at the record stage (before decoding,
 * so dropped events never pay for it) when the rule only looks at header
 * fields, and at the event stage when it needs properties.
 *
 * The rule arrives as JSON text (api->config_get_json) and is read with
 * jansson, which the plugin links itself.  jansson's allocation functions
 * are process-global (json_set_alloc_funcs): on Linux the plugin's
 * libjansson.so is the same loaded library as the host's (RTLD_LOCAL does
 * not load a second copy of a DSO already in the process), so the json_t
 * values made here are allocated through the allocator the host installed.
 * That is safe because they never cross the ABI: create() parses, compiles
 * and json_decref()s the tree in the same call, and the compiled rule keeps
 * only its own malloc'd copies.  On Windows the plugin DLL links jansson
 * statically and has its own copy with its own (default) allocator, which
 * is equally fine for the same reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "etwhost/plugin.h"
#include "filter_rule.h"

/* Nesting the rule text may have, as the filter always accepted. */
#define FLT_MAX_JSON_DEPTH 64

struct flt {
    etwhost_host *h;
    const etwhost_host_api *api;
    struct frule *rule;
    int exclude;
    uint32_t stage;
    /* Plain counts for stats(): the host already counts in/out/dropped per instance,
     * so no per-event counter calls here. */
    uint64_t passed, dropped;
};

static const char *const flt_keys[] = {"mode", "rule", "stage", NULL};

/* Read an optional string setting that must be one of 'values'; index into *out. */
static etwhost_status pick(const etwhost_host_api *api, const etwhost_config *cfg,
                           const char *key, const char *const *values, int *out, char *err,
                           size_t err_len)
{
    const char *s;
    size_t len;
    etwhost_status rc = api->config_get_str(cfg, key, &s, &len);
    if (rc == ETWHOST_ERR_NOTFOUND)
        return ETWHOST_OK;
    if (rc != ETWHOST_OK)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                            "%s: expected a string (\"%s\" or \"%s\")", key, values[0], values[1]);
    for (int k = 0; values[k] != NULL; k++) {
        if (strlen(values[k]) == len && memcmp(values[k], s, len) == 0) {
            *out = k;
            return ETWHOST_OK;
        }
    }
    char shown[64];
    snprintf(shown, sizeof shown, "%.*s", (int)(len < 60 ? len : 60), s);
    const char *sug = frule_suggest(shown, values);
    if (sug != NULL)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                            "%s: unknown value \"%s\" (did you mean \"%s\"?)", key, shown, sug);
    return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG, "%s: unknown value \"%s\"", key, shown);
}

/* Is v nested deeper than FLT_MAX_JSON_DEPTH (v itself at 'depth')? */
static int too_deep(json_t *v, int depth)
{
    if (depth > FLT_MAX_JSON_DEPTH)
        return 1;
    if (json_is_array(v)) {
        for (size_t k = 0; k < json_array_size(v); k++)
            if (too_deep(json_array_get(v, k), depth + 1))
                return 1;
    } else if (json_is_object(v)) {
        const char *key;
        json_t *m;
        json_object_foreach(v, key, m) {
            if (too_deep(m, depth + 1))
                return 1;
        }
    }
    return 0;
}

static void ETWHOST_CALL flt_destroy(void *inst)
{
    struct flt *f = inst;
    if (f == NULL)
        return;
    frule_free(f->rule);
    free(f);
}

static etwhost_status ETWHOST_CALL flt_create(etwhost_host *h, const etwhost_host_api *api,
                                              const etwhost_config *cfg, void **out_inst,
                                              char *err, size_t err_len)
{
    static const char *const modes[] = {"include", "exclude", NULL};
    static const char *const stages[] = {"auto", "record", "event", NULL};
    int mode = 0, stage = 0;
    etwhost_status rc;
    *out_inst = NULL;
    if ((rc = pick(api, cfg, "mode", modes, &mode, err, err_len)) != ETWHOST_OK)
        return rc;
    if ((rc = pick(api, cfg, "stage", stages, &stage, err, err_len)) != ETWHOST_OK)
        return rc;
    const char *text;
    size_t len;
    rc = api->config_get_json(cfg, "rule", &text, &len);
    if (rc == ETWHOST_ERR_NOTFOUND)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                            "rule: missing (the filter needs a rule, e.g. "
                            "{\"provider\": \"Microsoft-Windows-PowerShell\"})");
    if (rc != ETWHOST_OK)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG, "rule: cannot read (%s)",
                            etwhost_status_name(rc));
    /* Any value (the compiler names a non-object); a repeated member is an error. */
    json_error_t je;
    json_t *tree = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (tree == NULL)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG, "rule: line %d column %d: %s",
                            je.line, je.column, je.text);
    if (too_deep(tree, 0)) {
        json_decref(tree);
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                            "rule: nesting deeper than %d levels", FLT_MAX_JSON_DEPTH);
    }
    struct flt *f = calloc(1, sizeof *f);
    if (f == NULL) {
        json_decref(tree);
        return etwhost_errf(err, err_len, ETWHOST_ERR_NOMEM, "out of memory");
    }
    f->h = h;
    f->api = api;
    f->exclude = mode == 1;
    rc = frule_compile(tree, "rule", &f->rule, err, err_len);
    json_decref(tree);
    if (rc != ETWHOST_OK) {
        flt_destroy(f);
        return rc;
    }
    char where[256];
    int props = frule_needs_props(f->rule, where, sizeof where);
    if (stage == 1 && props) {
        flt_destroy(f);
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                            "stage: \"record\" is impossible: %s needs decoded properties "
                            "(use \"auto\" or \"event\")",
                            where);
    }
    f->stage = (stage == 2 || props) ? ETWHOST_STAGE_EVENT : ETWHOST_STAGE_RECORD;
    rc = api->set_stage(h, f->stage);
    if (rc != ETWHOST_OK) {
        const char *sname = f->stage == ETWHOST_STAGE_RECORD ? "record" : "event";
        flt_destroy(f);
        return etwhost_errf(err, err_len, rc, "cannot select the %s stage (%s)", sname,
                            etwhost_status_name(rc));
    }
    *out_inst = f;
    return ETWHOST_OK;
}

static etwhost_status ETWHOST_CALL flt_process(void *inst, const etwhost_event *ev)
{
    struct flt *f = inst;
    int pass = frule_eval(f->rule, f->api, ev) != f->exclude;
    if (pass) {
        f->passed++;
        return ETWHOST_OK;
    }
    f->dropped++;
    return ETWHOST_DROP;
}

static etwhost_status ETWHOST_CALL flt_stats(void *inst, char *buf, size_t cap, size_t *needed)
{
    const struct flt *f = inst;
    char tmp[256];
    int n = snprintf(tmp, sizeof tmp,
                     "{\"mode\":\"%s\",\"stage\":\"%s\",\"passed\":%llu,\"dropped\":%llu}",
                     f->exclude ? "exclude" : "include",
                     f->stage == ETWHOST_STAGE_RECORD ? "record" : "event",
                     (unsigned long long)f->passed, (unsigned long long)f->dropped);
    if (needed != NULL)
        *needed = (size_t)n + 1;
    if ((size_t)n + 1 > cap)
        return ETWHOST_ERR_RANGE;
    memcpy(buf, tmp, (size_t)n + 1);
    return ETWHOST_OK;
}

static const etwhost_plugin flt_plugin = {
    sizeof(etwhost_plugin),
    ETWHOST_ABI_MAJOR,
    ETWHOST_ABI_MINOR,
    ETWHOST_KIND_FILTER,
    0,
    "filter",
    "1.0.0",
    "Pass or drop events by a rule tree over header fields and properties",
    0,
    ETWHOST_STAGE_EVENT,
    flt_keys,
    flt_create,
    flt_destroy,
    flt_process,
    NULL,
    NULL,
    NULL,
    flt_stats,
};

ETWHOST_PLUGIN_DEFINE(flt_plugin)
