/*
 * config_util: helpers of the config module that know nothing about its
 * format: reading one JSON file, nearest-key suggestions, path joining.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_int.h"

#include "../core/mem.h"
#include "../platform/platform.h"

static atomic_int jansson_ready;

/*
 * Set when an allocation made by jansson fails on this thread.  jansson
 * reports some allocation failures inside its parser as syntax errors, so
 * cfg_read_json looks here to tell "out of memory" from a broken file.
 */
static _Thread_local int json_alloc_failed;

static void *cfg_json_alloc(size_t n)
{
    void *p = mem_alloc(n);
    if (p == NULL)
        json_alloc_failed = 1;
    return p;
}

static void cfg_json_free(void *p) { mem_free(p); }

void cfg_global_init(void)
{
    if (atomic_exchange(&jansson_ready, 1))
        return;
    json_set_alloc_funcs(cfg_json_alloc, cfg_json_free);
}

/* ---- paths ---- */

int cfg_path_is_absolute(const char *p)
{
    if (p[0] == '/' || p[0] == '\\')
        return 1;
    /* A Windows drive letter ("C:\x", "C:/x", also "C:x" which is drive-relative). */
    return ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) && p[1] == ':';
}

char *cfg_path_join(const char *base, const char *path)
{
    if (base == NULL || base[0] == '\0' || cfg_path_is_absolute(path))
        return mem_strdup(path);
    size_t bl = strlen(base), pl = strlen(path);
    int sep = base[bl - 1] != '/' && base[bl - 1] != '\\';
    char *r = mem_alloc(bl + (size_t)sep + pl + 1);
    if (r == NULL)
        return NULL;
    memcpy(r, base, bl);
    if (sep)
        r[bl] = '/';
    memcpy(r + bl + (size_t)sep, path, pl + 1);
    return r;
}

/* ---- reading JSON ---- */

int cfg_read_json(const char *path, json_t **out, struct pos_index *ix, uint32_t file_id,
                  struct errbuf *eb)
{
    *out = NULL;
    cfg_global_init();
    uint64_t fsize = 0;
    if (plat_file_info(path, &fsize, NULL) == 0 && fsize > CFG_MAX_FILE_SIZE)
        return errbuf_set(eb, ERR_CONFIG, "%s: file too large (%llu bytes, limit %u)", path,
                          (unsigned long long)fsize, CFG_MAX_FILE_SIZE);
    const uint8_t *data;
    size_t len;
    int rc = plat_map_file(path, &data, &len, eb);
    if (rc)
        return rc;
    if (len > CFG_MAX_FILE_SIZE) {
        plat_unmap(data, len);
        return errbuf_set(eb, ERR_CONFIG, "%s: file too large (%zu bytes, limit %u)", path, len,
                          CFG_MAX_FILE_SIZE);
    }
    if (len == 0)
        return errbuf_set(eb, ERR_FORMAT, "%s: empty file (expected a JSON object)", path);
    /* A UTF-8 byte order mark (Windows editors write one) is not part of the JSON text. */
    const uint8_t *text = data;
    size_t tlen = len;
    if (tlen >= 3 && text[0] == 0xEF && text[1] == 0xBB && text[2] == 0xBF) {
        text += 3;
        tlen -= 3;
    }
    json_error_t je;
    json_alloc_failed = 0;
    json_t *root = json_loadb((const char *)text, tlen, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        plat_unmap(data, len);
        if (json_error_code(&je) == json_error_out_of_memory || json_alloc_failed)
            return errbuf_set(eb, ERR_NOMEM, "%s: out of memory", path);
        if (je.line < 1)
            return errbuf_set(eb, ERR_FORMAT, "%s: %s", path, je.text);
        return errbuf_set(eb, ERR_FORMAT, "%s:%d:%d: %s", path, je.line,
                          je.column < 1 ? 1 : je.column, je.text);
    }
    if (ix && (rc = pos_index_scan(ix, file_id, (const char *)text, tlen, root))) {
        plat_unmap(data, len);
        json_decref(root);
        return errbuf_set(eb, rc, "%s: out of memory", path);
    }
    plat_unmap(data, len);
    *out = root;
    return 0;
}

int cfg_load_file_json(const char *path, json_t **out, struct errbuf *eb)
{
    return cfg_read_json(path, out, NULL, 0, eb);
}

/* ---- suggestions ---- */

#define SUGGEST_MAX 64

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/*
 * Optimal string alignment distance (Levenshtein plus adjacent
 * transpositions), ignoring ASCII case: "levle" is one step from "level".
 */
static size_t osa_distance(const char *a, size_t n, const char *b, size_t m)
{
    uint16_t d[SUGGEST_MAX + 1][SUGGEST_MAX + 1]; /* 8 KiB: fine on any thread's stack */
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (uint16_t)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (uint16_t)j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            unsigned char ai = lower((unsigned char)a[i - 1]), bj = lower((unsigned char)b[j - 1]);
            size_t cost = ai != bj;
            size_t del = (size_t)d[i - 1][j] + 1, ins = (size_t)d[i][j - 1] + 1;
            size_t sub = (size_t)d[i - 1][j - 1] + cost;
            size_t v = del < ins ? del : ins;
            if (sub < v)
                v = sub;
            if (i > 1 && j > 1 && ai == lower((unsigned char)b[j - 2]) &&
                lower((unsigned char)a[i - 2]) == bj && (size_t)d[i - 2][j - 2] + 1 < v)
                v = (size_t)d[i - 2][j - 2] + 1;
            d[i][j] = (uint16_t)v;
        }
    }
    return d[n][m];
}

static int has_prefix_nocase(const char *s, const char *pre, size_t pl)
{
    for (size_t i = 0; i < pl; i++)
        if (s[i] == '\0' || lower((unsigned char)s[i]) != lower((unsigned char)pre[i]))
            return 0;
    return 1;
}

const char *cfg_suggest(const char *word, const char *const *candidates)
{
    size_t wl = strlen(word);
    if (wl == 0 || wl > SUGGEST_MAX || candidates == NULL)
        return NULL;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (const char *const *c = candidates; *c; c++) {
        size_t cl = strlen(*c);
        if (cl > SUGGEST_MAX)
            continue;
        size_t d = osa_distance(word, wl, *c, cl);
        /* About one typo per three characters, at most three. */
        size_t limit = cl / 3;
        if (limit < 1)
            limit = 1;
        if (limit > 3)
            limit = 3;
        /* A truncated key ("batch" for "batch_size") is close enough as well. */
        int close = d <= limit || (wl >= 3 && has_prefix_nocase(*c, word, wl));
        if (close && d < best_d) {
            best = *c;
            best_d = d;
        }
    }
    return best;
}
