/*
 * filter_rule: rule compiler and evaluator (see filter_rule.h and
 * docs/plugins.md).
 *
 * A compiled rule is a tree of nodes.  Header conditions are reduced at
 * compile time to the cheapest test that answers them: a bitmap for event id
 * / opcode / task sets, sorted ranges for pid / tid, a one-entry cache for
 * provider matches (events arrive in runs of one provider), precompiled
 * PCRE2 code with JIT for regular expressions.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "filter_rule.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- node kinds --------------------------------------------------------- */

enum fn_kind {
    FN_AND,
    FN_OR,
    FN_NOT,
    FN_PROVIDER,
    FN_EVENT_ID,
    FN_LEVEL_MAX,
    FN_LEVEL_MIN,
    FN_KW_ANY,
    FN_KW_ALL,
    FN_OPCODE,
    FN_TASK,
    FN_VERSION,
    FN_PID,
    FN_TID,
    FN_EVENT_NAME,
    FN_PROCESS_NAME,
    FN_PROP
};

/* A set of unsigned ids as sorted, merged ranges, plus a bitmap for small domains. */
struct idset {
    uint32_t n;
    uint32_t (*r)[2];
    uint64_t *bits; /* covers 0..bits_max when non-NULL */
    uint32_t bits_max;
};

#define PAT_GUID 0
#define PAT_EXACT 1
#define PAT_GLOB 2

/* One provider / name pattern. */
struct pat {
    int kind;
    etwhost_guid guid;
    char *s;
    size_t len;
};

struct patset {
    struct pat *p;
    uint32_t n;
};

/* String operators of a "prop" condition. */
#define SOP_EQUALS 0
#define SOP_PREFIX 1
#define SOP_SUFFIX 2
#define SOP_CONTAINS 3

struct strop {
    int op;
    char *s;
    size_t len;
};

/* Numeric operators of a "prop" condition. */
#define NOP_EQ 0
#define NOP_NE 1
#define NOP_GT 2
#define NOP_GE 3
#define NOP_LT 4
#define NOP_LE 5

struct num {
    int is_int;
    int64_t i;
    double d;
};

struct numop {
    int op;
    struct num v;
};

struct prop_cond {
    char *path;
    size_t path_len;
    int icase;
    int exists; /* -1 not given, 0 must be absent, 1 must be present */
    struct strop *sops;
    uint32_t nsops;
    struct numop *nops;
    uint32_t nnops;
    /* "in": any of these strings or numbers. */
    struct strop *in_s;
    uint32_t nin_s;
    struct num *in_n;
    uint32_t nin_n;
    int has_in;
    pcre2_code *re;
    pcre2_match_data *md;
};

/*
 * Provider answers, direct-mapped by GUID.  A provider's name never changes
 * for its GUID, but the name may be unknown ("") for some events, so the name
 * pointer is part of the key: a different pointer is a miss, never a wrong
 * answer.
 */
#define PCACHE_SIZE 64

struct pcache_entry {
    etwhost_guid guid;
    const char *name;
    int valid, val;
};

struct pcache {
    struct pcache_entry e[PCACHE_SIZE];
};

struct fnode {
    enum fn_kind kind;
    struct fnode **kids;
    uint32_t nkids;
    uint32_t u;   /* level bound */
    uint64_t mask; /* keywords */
    struct idset ids;
    struct patset pats;
    /* Provider answers by GUID and name pointer (see provider_match). */
    struct pcache *cache;
    struct prop_cond *prop;
    char *path; /* JSON path, kept for frule_needs_props */
};

struct frule {
    struct fnode *root;
};

/* ---- errors and JSON paths ------------------------------------------------ */

struct ctx {
    char *err;
    size_t err_len;
    char path[512];
    size_t plen;
};

ETWHOST_PRINTF_ATTR(2, 3)
static etwhost_status cerr(struct ctx *c, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    etwhost_errf(c->err, c->err_len, ETWHOST_ERR_CONFIG, "%s: %s", c->path, msg);
    return ETWHOST_ERR_CONFIG;
}

static etwhost_status nomem(struct ctx *c)
{
    etwhost_errf(c->err, c->err_len, ETWHOST_ERR_NOMEM, "%s: out of memory", c->path);
    return ETWHOST_ERR_NOMEM;
}

/* Append ".key" or "[i]" to the current path; returns the old length to restore. */
static size_t push_key(struct ctx *c, const char *key)
{
    size_t old = c->plen;
    int n = snprintf(c->path + c->plen, sizeof c->path - c->plen, ".%s", key);
    if (n > 0)
        c->plen = c->plen + (size_t)n < sizeof c->path ? c->plen + (size_t)n : sizeof c->path - 1;
    return old;
}

static size_t push_index(struct ctx *c, size_t i)
{
    size_t old = c->plen;
    int n = snprintf(c->path + c->plen, sizeof c->path - c->plen, "[%zu]", i);
    if (n > 0)
        c->plen = c->plen + (size_t)n < sizeof c->path ? c->plen + (size_t)n : sizeof c->path - 1;
    return old;
}

static void pop(struct ctx *c, size_t old)
{
    c->plen = old;
    c->path[old] = '\0';
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* ---- nearest-key suggestion ---------------------------------------------- */

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

/* Optimal string alignment distance (case-insensitive), capped at 99. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 48 || lb > 48)
        return 99;
    size_t d[49][49];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = lower((unsigned char)a[i - 1]) == lower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && lower((unsigned char)a[i - 1]) == lower((unsigned char)b[j - 2]) &&
                lower((unsigned char)a[i - 2]) == lower((unsigned char)b[j - 1]) &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *frule_suggest(const char *key, const char *const *candidates)
{
    const char *best = NULL;
    size_t best_d = 99;
    for (size_t k = 0; candidates[k] != NULL; k++) {
        size_t d = edit_distance(key, candidates[k]);
        /* A typo is a few edits, relative to the word's length. */
        size_t limit = 1 + strlen(candidates[k]) / 4;
        if (limit > 3)
            limit = 3;
        if (d <= limit && d < best_d) {
            best = candidates[k];
            best_d = d;
        }
    }
    return best;
}

/* Every key a rule object may contain. */
static const char *const rule_keys[] = {
    "and", "or", "not", "provider", "event_id", "level_max", "level_min", "keywords_any",
    "keywords_all", "opcode", "task", "version", "pid", "tid", "event_name", "process_name",
    "prop", "equals", "prefix", "suffix", "contains", "in", "regex", "eq", "ne", "gt", "ge",
    "lt", "le", "exists", "ignore_case", NULL};

static int is_prop_op(const char *k)
{
    static const char *const ops[] = {"equals", "prefix", "suffix", "contains", "in",
                                      "regex", "eq", "ne", "gt", "ge",
                                      "lt", "le", "exists", "ignore_case", NULL};
    for (size_t i = 0; ops[i]; i++)
        if (strcmp(ops[i], k) == 0)
            return 1;
    return 0;
}

/* ---- small matchers -------------------------------------------------------- */

static int eq_icase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* '*' any run, '?' one byte; ASCII case-insensitive; iterative with one backtrack point. */
static int glob_icase(const char *p, size_t pn, const char *s, size_t sn)
{
    size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;
    while (si < sn) {
        if (pi < pn && (p[pi] == '?' || (p[pi] != '*' && lower((unsigned char)p[pi]) ==
                                                             lower((unsigned char)s[si])))) {
            pi++;
            si++;
        } else if (pi < pn && p[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (star != (size_t)-1) {
            pi = star + 1;
            si = ++mark;
        } else {
            return 0;
        }
    }
    while (pi < pn && p[pi] == '*')
        pi++;
    return pi == pn;
}

static int pat_match_name(const struct pat *p, const char *s, size_t sn)
{
    if (p->kind == PAT_EXACT)
        return sn == p->len && eq_icase(p->s, s, sn);
    if (p->kind == PAT_GLOB)
        return glob_icase(p->s, p->len, s, sn);
    return 0;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" with or without braces. */
static int parse_guid(const char *s, size_t n, etwhost_guid *g)
{
    if (n == 38) {
        if (s[0] != '{' || s[37] != '}')
            return -1;
        s++;
        n -= 2;
    }
    if (n != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
        return -1;
    uint8_t b[16];
    size_t k = 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            continue;
        int hi = hexval((unsigned char)s[i]), lo = hexval((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        b[k++] = (uint8_t)(hi << 4 | lo);
        i++;
    }
    g->data1 = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    g->data2 = (uint16_t)(b[4] << 8 | b[5]);
    g->data3 = (uint16_t)(b[6] << 8 | b[7]);
    memcpy(g->data4, b + 8, 8);
    return 0;
}

static int guid_eq(const etwhost_guid *a, const etwhost_guid *b)
{
    return a->data1 == b->data1 && a->data2 == b->data2 && a->data3 == b->data3 &&
           memcmp(a->data4, b->data4, 8) == 0;
}

/* ---- idsets ------------------------------------------------------------------ */

static int range_cmp(const void *a, const void *b)
{
    const uint32_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

static etwhost_status idset_add(struct ctx *c, struct idset *s, uint32_t lo, uint32_t hi)
{
    uint32_t(*nr)[2] = realloc(s->r, (s->n + 1) * sizeof *nr);
    if (nr == NULL)
        return nomem(c);
    s->r = nr;
    s->r[s->n][0] = lo;
    s->r[s->n][1] = hi;
    s->n++;
    return ETWHOST_OK;
}

static etwhost_status idset_finish(struct ctx *c, struct idset *s)
{
    qsort(s->r, s->n, sizeof *s->r, range_cmp);
    uint32_t w = 0;
    for (uint32_t k = 0; k < s->n; k++) {
        if (w > 0 && (uint64_t)s->r[k][0] <= (uint64_t)s->r[w - 1][1] + 1) {
            if (s->r[k][1] > s->r[w - 1][1])
                s->r[w - 1][1] = s->r[k][1];
        } else {
            s->r[w][0] = s->r[k][0];
            s->r[w][1] = s->r[k][1];
            w++;
        }
    }
    s->n = w;
    /* Small domains with more than a couple of ranges get a bitmap: one load per test. */
    if (s->n > 2 && s->r[s->n - 1][1] <= 0xFFFF) {
        uint32_t max = s->r[s->n - 1][1];
        s->bits = calloc(max / 64 + 1, sizeof(uint64_t));
        if (s->bits == NULL)
            return nomem(c);
        s->bits_max = max;
        for (uint32_t k = 0; k < s->n; k++)
            for (uint32_t v = s->r[k][0];; v++) {
                s->bits[v >> 6] |= 1ull << (v & 63);
                if (v == s->r[k][1])
                    break;
            }
    }
    return ETWHOST_OK;
}

static int idset_has(const struct idset *s, uint32_t v)
{
    if (s->bits != NULL)
        return v <= s->bits_max && ((s->bits[v >> 6] >> (v & 63)) & 1u);
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (v < s->r[mid][0])
            hi = mid;
        else if (v > s->r[mid][1])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

/* Parse an unsigned decimal or 0x-hex number from text; -1 if malformed or > max. */
static int parse_u64_text(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    if (n == 0)
        return -1;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        i = 2;
        for (; i < n; i++) {
            int h = hexval((unsigned char)s[i]);
            if (h < 0 || v > (UINT64_MAX >> 4))
                return -1;
            v = v << 4 | (uint64_t)h;
        }
    } else {
        for (; i < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                return -1;
            uint64_t d = (uint64_t)(s[i] - '0');
            if (v > (UINT64_MAX - d) / 10)
                return -1;
            v = v * 10 + d;
        }
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

/* One element of an id list: integer, "N" or "A-B". */
static etwhost_status idset_elem(struct ctx *c, struct idset *s, const struct fj_value *v,
                                 uint32_t max)
{
    if (v->type == FJ_NUM) {
        if (!v->is_int || v->i < 0 || (uint64_t)v->i > max)
            return cerr(c, "%g is not an integer in 0-%u", v->d, (unsigned)max);
        return idset_add(c, s, (uint32_t)v->i, (uint32_t)v->i);
    }
    if (v->type == FJ_STR) {
        const char *dash = memchr(v->s, '-', v->len);
        uint64_t lo, hi;
        if (dash == NULL) {
            if (parse_u64_text(v->s, v->len, max, &lo) != 0)
                return cerr(c, "bad value \"%s\" (expected a number in 0-%u or a range \"A-B\")",
                            v->s, (unsigned)max);
            return idset_add(c, s, (uint32_t)lo, (uint32_t)lo);
        }
        if (parse_u64_text(v->s, (size_t)(dash - v->s), max, &lo) != 0 ||
            parse_u64_text(dash + 1, v->len - (size_t)(dash - v->s) - 1, max, &hi) != 0)
            return cerr(c, "bad range \"%s\" (expected \"A-B\" with numbers in 0-%u)", v->s,
                        (unsigned)max);
        if (lo > hi)
            return cerr(c, "bad range \"%s\" (start is greater than end)", v->s);
        return idset_add(c, s, (uint32_t)lo, (uint32_t)hi);
    }
    return cerr(c, "expected a number or a range string \"A-B\", got %s", fj_type_name(v->type));
}

static etwhost_status compile_idset(struct ctx *c, struct idset *s, const struct fj_value *v,
                                    uint32_t max)
{
    etwhost_status rc;
    if (v->type == FJ_ARR) {
        if (v->len == 0)
            return cerr(c, "empty list (it would never match)");
        for (size_t k = 0; k < v->len; k++) {
            size_t old = push_index(c, k);
            rc = idset_elem(c, s, &v->items[k], max);
            if (rc != ETWHOST_OK)
                return rc;
            pop(c, old);
        }
    } else {
        rc = idset_elem(c, s, v, max);
        if (rc != ETWHOST_OK)
            return rc;
    }
    return idset_finish(c, s);
}

/* ---- pattern sets (provider, event_name, process_name) ------------------------ */

static etwhost_status pat_elem(struct ctx *c, struct patset *ps, const struct fj_value *v,
                               int allow_guid)
{
    if (v->type != FJ_STR)
        return cerr(c, "expected a string, got %s", fj_type_name(v->type));
    if (v->len == 0)
        return cerr(c, "empty name");
    struct pat *np = realloc(ps->p, (ps->n + 1) * sizeof *np);
    if (np == NULL)
        return nomem(c);
    ps->p = np;
    struct pat *p = &ps->p[ps->n];
    memset(p, 0, sizeof *p);
    if (allow_guid && parse_guid(v->s, v->len, &p->guid) == 0) {
        p->kind = PAT_GUID;
    } else {
        if (allow_guid && v->s[0] == '{')
            return cerr(c, "bad GUID \"%s\" (expected {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx})",
                        v->s);
        p->kind = strpbrk(v->s, "*?") != NULL ? PAT_GLOB : PAT_EXACT;
        p->s = xstrdup(v->s);
        if (p->s == NULL)
            return nomem(c);
        p->len = v->len;
    }
    ps->n++;
    return ETWHOST_OK;
}

static etwhost_status compile_patset(struct ctx *c, struct patset *ps, const struct fj_value *v,
                                     int allow_guid)
{
    etwhost_status rc;
    if (v->type == FJ_ARR) {
        if (v->len == 0)
            return cerr(c, "empty list (it would never match)");
        for (size_t k = 0; k < v->len; k++) {
            size_t old = push_index(c, k);
            rc = pat_elem(c, ps, &v->items[k], allow_guid);
            if (rc != ETWHOST_OK)
                return rc;
            pop(c, old);
        }
        return ETWHOST_OK;
    }
    return pat_elem(c, ps, v, allow_guid);
}

/* ---- numbers ------------------------------------------------------------------- */

static etwhost_status get_num(struct ctx *c, const struct fj_value *v, struct num *out)
{
    if (v->type == FJ_BOOL) {
        out->is_int = 1;
        out->i = v->b;
        out->d = v->b;
        return ETWHOST_OK;
    }
    if (v->type != FJ_NUM)
        return cerr(c, "expected a number, got %s", fj_type_name(v->type));
    out->is_int = v->is_int;
    out->i = v->i;
    out->d = v->d;
    return ETWHOST_OK;
}

static etwhost_status get_mask(struct ctx *c, const struct fj_value *v, uint64_t *out)
{
    if (v->type == FJ_NUM && v->is_int && v->i >= 0) {
        *out = (uint64_t)v->i;
    } else if (v->type == FJ_STR) {
        if (parse_u64_text(v->s, v->len, UINT64_MAX, out) != 0)
            return cerr(c, "bad mask \"%s\" (expected a number or \"0x...\" hex string)", v->s);
    } else {
        return cerr(c, "expected a non-negative integer or a \"0x...\" hex string, got %s",
                    v->type == FJ_NUM ? "a fraction or negative number" : fj_type_name(v->type));
    }
    if (*out == 0)
        return cerr(c, "mask 0 selects no keyword bits");
    return ETWHOST_OK;
}

/* ---- property conditions ------------------------------------------------------ */

static etwhost_status add_strop(struct ctx *c, struct strop **arr, uint32_t *n, int op,
                                const struct fj_value *v)
{
    if (v->type != FJ_STR)
        return cerr(c, "expected a string, got %s", fj_type_name(v->type));
    struct strop *na = realloc(*arr, (*n + 1) * sizeof *na);
    if (na == NULL)
        return nomem(c);
    *arr = na;
    na[*n].op = op;
    na[*n].len = v->len;
    na[*n].s = malloc(v->len + 1);
    if (na[*n].s == NULL)
        return nomem(c);
    memcpy(na[*n].s, v->s, v->len + 1);
    (*n)++;
    return ETWHOST_OK;
}

static etwhost_status add_numop(struct ctx *c, struct prop_cond *pc, int op,
                                const struct fj_value *v)
{
    struct numop *na = realloc(pc->nops, (pc->nnops + 1) * sizeof *na);
    if (na == NULL)
        return nomem(c);
    pc->nops = na;
    na[pc->nnops].op = op;
    etwhost_status rc = get_num(c, v, &na[pc->nnops].v);
    if (rc != ETWHOST_OK)
        return rc;
    pc->nnops++;
    return ETWHOST_OK;
}

static etwhost_status compile_regex(struct ctx *c, struct prop_cond *pc, const struct fj_value *v)
{
    if (v->type != FJ_STR)
        return cerr(c, "expected a string, got %s", fj_type_name(v->type));
    int ecode;
    PCRE2_SIZE eoff;
    uint32_t opts = PCRE2_UTF;
#ifdef PCRE2_MATCH_INVALID_UTF
    opts |= PCRE2_MATCH_INVALID_UTF;
#endif
    if (pc->icase)
        opts |= PCRE2_CASELESS;
    pc->re = pcre2_compile((PCRE2_SPTR)v->s, v->len, opts, &ecode, &eoff, NULL);
    if (pc->re == NULL) {
        PCRE2_UCHAR msg[200];
        pcre2_get_error_message(ecode, msg, sizeof msg);
        return cerr(c, "bad regular expression at offset %zu: %s", (size_t)eoff, (char *)msg);
    }
    /* JIT is an optimisation only: without it matching still works. */
    (void)pcre2_jit_compile(pc->re, PCRE2_JIT_COMPLETE);
    pc->md = pcre2_match_data_create_from_pattern(pc->re, NULL);
    if (pc->md == NULL)
        return nomem(c);
    return ETWHOST_OK;
}

static void free_prop(struct prop_cond *pc)
{
    if (pc == NULL)
        return;
    free(pc->path);
    for (uint32_t k = 0; k < pc->nsops; k++)
        free(pc->sops[k].s);
    free(pc->sops);
    for (uint32_t k = 0; k < pc->nin_s; k++)
        free(pc->in_s[k].s);
    free(pc->in_s);
    free(pc->in_n);
    free(pc->nops);
    if (pc->md != NULL)
        pcre2_match_data_free(pc->md);
    if (pc->re != NULL)
        pcre2_code_free(pc->re);
    free(pc);
}

/* Compile the "prop" member and its operators from object o. */
static etwhost_status compile_prop(struct ctx *c, struct fnode *n, const struct fj_value *o)
{
    const struct fj_value *pv = fj_get(o, "prop");
    etwhost_status rc;
    size_t old = push_key(c, "prop");
    if (pv->type != FJ_STR)
        return cerr(c, "expected a property name (string), got %s", fj_type_name(pv->type));
    if (pv->len == 0)
        return cerr(c, "empty property name");
    pop(c, old);
    struct prop_cond *pc = calloc(1, sizeof *pc);
    if (pc == NULL)
        return nomem(c);
    n->prop = pc;
    pc->exists = -1;
    pc->path = xstrdup(pv->s);
    if (pc->path == NULL)
        return nomem(c);
    pc->path_len = pv->len;
    const struct fj_value *ic = fj_get(o, "ignore_case");
    if (ic != NULL) {
        old = push_key(c, "ignore_case");
        if (ic->type != FJ_BOOL)
            return cerr(c, "expected true or false, got %s", fj_type_name(ic->type));
        pc->icase = ic->b;
        pop(c, old);
    }
    int nops = 0;
    for (size_t k = 0; k < o->len; k++) {
        const char *key = o->members[k].key;
        const struct fj_value *v = &o->members[k].val;
        /* Other conditions in the same object are compiled by compile_node. */
        if (strcmp(key, "prop") == 0 || strcmp(key, "ignore_case") == 0 || !is_prop_op(key))
            continue;
        old = push_key(c, key);
        nops++;
        if (strcmp(key, "equals") == 0) {
            if (v->type == FJ_STR)
                rc = add_strop(c, &pc->sops, &pc->nsops, SOP_EQUALS, v);
            else if (v->type == FJ_NUM || v->type == FJ_BOOL)
                rc = add_numop(c, pc, NOP_EQ, v);
            else
                rc = cerr(c, "expected a string, number or boolean, got %s",
                          fj_type_name(v->type));
        } else if (strcmp(key, "prefix") == 0) {
            rc = add_strop(c, &pc->sops, &pc->nsops, SOP_PREFIX, v);
        } else if (strcmp(key, "suffix") == 0) {
            rc = add_strop(c, &pc->sops, &pc->nsops, SOP_SUFFIX, v);
        } else if (strcmp(key, "contains") == 0) {
            rc = add_strop(c, &pc->sops, &pc->nsops, SOP_CONTAINS, v);
            if (rc == ETWHOST_OK && v->len == 0)
                rc = cerr(c, "empty string (it would always match)");
        } else if (strcmp(key, "regex") == 0) {
            rc = compile_regex(c, pc, v);
        } else if (strcmp(key, "in") == 0) {
            pc->has_in = 1;
            if (v->type != FJ_ARR || v->len == 0) {
                rc = cerr(c, "expected a non-empty array of strings or numbers, got %s",
                          v->type == FJ_ARR ? "an empty array" : fj_type_name(v->type));
            } else {
                rc = ETWHOST_OK;
                for (size_t j = 0; j < v->len && rc == ETWHOST_OK; j++) {
                    size_t o2 = push_index(c, j);
                    const struct fj_value *e = &v->items[j];
                    if (e->type == FJ_STR) {
                        rc = add_strop(c, &pc->in_s, &pc->nin_s, SOP_EQUALS, e);
                    } else if (e->type == FJ_NUM) {
                        struct num *nn = realloc(pc->in_n, (pc->nin_n + 1) * sizeof *nn);
                        if (nn == NULL)
                            return nomem(c);
                        pc->in_n = nn;
                        rc = get_num(c, e, &nn[pc->nin_n]);
                        pc->nin_n++;
                    } else {
                        rc = cerr(c, "expected a string or number, got %s",
                                  fj_type_name(e->type));
                    }
                    if (rc == ETWHOST_OK)
                        pop(c, o2);
                }
            }
        } else if (strcmp(key, "exists") == 0) {
            if (v->type != FJ_BOOL)
                rc = cerr(c, "expected true or false, got %s", fj_type_name(v->type));
            else {
                pc->exists = v->b;
                rc = ETWHOST_OK;
            }
        } else {
            static const char *const names[] = {"eq", "ne", "gt", "ge", "lt", "le"};
            int op = -1;
            for (int j = 0; j < 6; j++)
                if (strcmp(key, names[j]) == 0)
                    op = j;
            if (op < 0 || v->type != FJ_NUM)
                rc = cerr(c, "expected a number, got %s", fj_type_name(v->type));
            else
                rc = add_numop(c, pc, op, v);
        }
        if (rc != ETWHOST_OK)
            return rc;
        pop(c, old);
    }
    if (nops == 0)
        return cerr(c, "\"prop\" needs an operator: equals, prefix, suffix, contains, in, regex, "
                       "eq, ne, gt, ge, lt, le or exists");
    if (pc->exists == 0 && nops > 1)
        return cerr(c, "\"exists\": false cannot be combined with other operators");
    return ETWHOST_OK;
}

/* ---- the tree ------------------------------------------------------------------ */

static void free_node(struct fnode *n)
{
    if (n == NULL)
        return;
    for (uint32_t k = 0; k < n->nkids; k++)
        free_node(n->kids[k]);
    free(n->kids);
    free(n->ids.r);
    free(n->ids.bits);
    for (uint32_t k = 0; k < n->pats.n; k++)
        free(n->pats.p[k].s);
    free(n->pats.p);
    free_prop(n->prop);
    free(n->cache);
    free(n->path);
    free(n);
}

static struct fnode *new_node(struct ctx *c, enum fn_kind kind)
{
    struct fnode *n = calloc(1, sizeof *n);
    if (n != NULL) {
        n->kind = kind;
        n->path = xstrdup(c->path);
        if (n->path == NULL) {
            free(n);
            n = NULL;
        }
    }
    return n;
}

static etwhost_status add_kid(struct ctx *c, struct fnode *parent, struct fnode *kid)
{
    struct fnode **nk = realloc(parent->kids, (parent->nkids + 1) * sizeof *nk);
    if (nk == NULL) {
        free_node(kid);
        return nomem(c);
    }
    parent->kids = nk;
    nk[parent->nkids++] = kid;
    return ETWHOST_OK;
}

static etwhost_status compile_node(struct ctx *c, const struct fj_value *v, struct fnode **out,
                                   int depth);

static etwhost_status compile_level(struct ctx *c, struct fnode *n, const struct fj_value *v)
{
    if (v->type != FJ_NUM || !v->is_int || v->i < 0 || v->i > 255)
        return cerr(c, "expected an integer level in 0-255 (1 critical .. 5 verbose)");
    n->u = (uint32_t)v->i;
    return ETWHOST_OK;
}

/* One condition key of a leaf object (not "prop" or its operators). */
static etwhost_status compile_cond(struct ctx *c, const char *key, const struct fj_value *v,
                                   struct fnode **out)
{
    static const struct {
        const char *key;
        enum fn_kind kind;
    } table[] = {{"provider", FN_PROVIDER},     {"event_id", FN_EVENT_ID},
                 {"level_max", FN_LEVEL_MAX},   {"level_min", FN_LEVEL_MIN},
                 {"keywords_any", FN_KW_ANY},   {"keywords_all", FN_KW_ALL},
                 {"opcode", FN_OPCODE},         {"task", FN_TASK},
                 {"version", FN_VERSION},       {"pid", FN_PID},
                 {"tid", FN_TID},               {"event_name", FN_EVENT_NAME},
                 {"process_name", FN_PROCESS_NAME}};
    enum fn_kind kind = FN_AND;
    int found = 0;
    for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
        if (strcmp(table[k].key, key) == 0) {
            kind = table[k].kind;
            found = 1;
        }
    if (!found) {
        if (is_prop_op(key))
            return cerr(c, "\"%s\" is a property operator and needs \"prop\" in the same object",
                        key);
        const char *s = frule_suggest(key, rule_keys);
        if (s != NULL)
            return cerr(c, "unknown key \"%s\" (did you mean \"%s\"?)", key, s);
        return cerr(c, "unknown key \"%s\"", key);
    }
    size_t old = push_key(c, key);
    struct fnode *n = new_node(c, kind);
    if (n == NULL)
        return nomem(c);
    etwhost_status rc = ETWHOST_OK;
    switch (kind) {
    case FN_PROVIDER:
        n->cache = calloc(1, sizeof *n->cache);
        rc = n->cache == NULL ? nomem(c) : compile_patset(c, &n->pats, v, 1);
        break;
    case FN_EVENT_NAME:
    case FN_PROCESS_NAME: rc = compile_patset(c, &n->pats, v, 0); break;
    case FN_EVENT_ID:
    case FN_TASK: rc = compile_idset(c, &n->ids, v, 0xFFFF); break;
    case FN_OPCODE:
    case FN_VERSION: rc = compile_idset(c, &n->ids, v, 0xFF); break;
    case FN_PID:
    case FN_TID: rc = compile_idset(c, &n->ids, v, 0xFFFFFFFFu); break;
    case FN_LEVEL_MAX:
    case FN_LEVEL_MIN: rc = compile_level(c, n, v); break;
    case FN_KW_ANY:
    case FN_KW_ALL: rc = get_mask(c, v, &n->mask); break;
    default: break;
    }
    if (rc != ETWHOST_OK) {
        free_node(n);
        return rc;
    }
    pop(c, old);
    *out = n;
    return ETWHOST_OK;
}

static etwhost_status compile_list(struct ctx *c, struct fnode *n, const struct fj_value *v,
                                   const char *key, int depth)
{
    size_t old = push_key(c, key);
    if (v->type != FJ_ARR)
        return cerr(c, "expected an array of rules, got %s", fj_type_name(v->type));
    if (v->len == 0)
        return cerr(c, "empty array (\"%s\" needs at least one rule)", key);
    for (size_t k = 0; k < v->len; k++) {
        size_t o2 = push_index(c, k);
        struct fnode *kid = NULL;
        etwhost_status rc = compile_node(c, &v->items[k], &kid, depth + 1);
        if (rc != ETWHOST_OK)
            return rc;
        rc = add_kid(c, n, kid);
        if (rc != ETWHOST_OK)
            return rc;
        pop(c, o2);
    }
    pop(c, old);
    return ETWHOST_OK;
}

static etwhost_status compile_node(struct ctx *c, const struct fj_value *v, struct fnode **out,
                                   int depth)
{
    etwhost_status rc;
    *out = NULL;
    if (depth > 32)
        return cerr(c, "rule nested deeper than 32 levels");
    if (v->type != FJ_OBJ)
        return cerr(c, "expected a rule object, got %s", fj_type_name(v->type));
    if (v->len == 0)
        return cerr(c, "empty rule object (expected \"and\", \"or\", \"not\" or conditions "
                       "such as \"provider\")");
    /* A combinator must be alone in its object so the meaning is never ambiguous. */
    static const char *const combos[] = {"and", "or", "not"};
    for (int k = 0; k < 3; k++) {
        const struct fj_value *cv = fj_get(v, combos[k]);
        if (cv == NULL)
            continue;
        if (v->len != 1) {
            const char *other = strcmp(v->members[0].key, combos[k]) == 0
                                    ? v->members[1].key
                                    : v->members[0].key;
            return cerr(c, "\"%s\" must be the only key of its object (found \"%s\" too; "
                           "wrap conditions in {\"and\": [...]})",
                        combos[k], other);
        }
        struct fnode *n = new_node(c, k == 0 ? FN_AND : k == 1 ? FN_OR : FN_NOT);
        if (n == NULL)
            return nomem(c);
        if (k < 2) {
            rc = compile_list(c, n, cv, combos[k], depth);
        } else {
            size_t old = push_key(c, "not");
            struct fnode *kid = NULL;
            rc = compile_node(c, cv, &kid, depth + 1);
            if (rc == ETWHOST_OK)
                rc = add_kid(c, n, kid);
            if (rc == ETWHOST_OK)
                pop(c, old);
        }
        if (rc != ETWHOST_OK) {
            free_node(n);
            return rc;
        }
        *out = n;
        return ETWHOST_OK;
    }
    /* Unknown keys first, so a typo is named as such rather than as a missing operator. */
    for (size_t k = 0; k < v->len; k++) {
        const char *key = v->members[k].key;
        int known = 0;
        for (size_t j = 0; rule_keys[j] != NULL && !known; j++)
            known = strcmp(rule_keys[j], key) == 0;
        if (!known) {
            const char *s = frule_suggest(key, rule_keys);
            if (s != NULL)
                return cerr(c, "unknown key \"%s\" (did you mean \"%s\"?)", key, s);
            return cerr(c, "unknown key \"%s\"", key);
        }
    }
    /* Conditions: every key must hold.  "prop" and its operators form one condition. */
    struct fnode *all = new_node(c, FN_AND);
    if (all == NULL)
        return nomem(c);
    int has_prop = fj_get(v, "prop") != NULL;
    if (has_prop) {
        struct fnode *pn = new_node(c, FN_PROP);
        if (pn == NULL) {
            free_node(all);
            return nomem(c);
        }
        rc = compile_prop(c, pn, v);
        if (rc == ETWHOST_OK)
            rc = add_kid(c, all, pn);
        else
            free_node(pn);
        if (rc != ETWHOST_OK) {
            free_node(all);
            return rc;
        }
    }
    for (size_t k = 0; k < v->len; k++) {
        const char *key = v->members[k].key;
        if (strcmp(key, "prop") == 0 || (has_prop && is_prop_op(key)))
            continue;
        struct fnode *kid = NULL;
        rc = compile_cond(c, key, &v->members[k].val, &kid);
        if (rc == ETWHOST_OK)
            rc = add_kid(c, all, kid);
        if (rc != ETWHOST_OK) {
            free_node(all);
            return rc;
        }
    }
    if (all->nkids == 1) {
        *out = all->kids[0];
        all->nkids = 0;
        free_node(all);
    } else {
        *out = all;
    }
    return ETWHOST_OK;
}

etwhost_status frule_compile(const struct fj_value *rule, const char *path, struct frule **out,
                             char *err, size_t err_len)
{
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.err = err;
    c.err_len = err_len;
    snprintf(c.path, sizeof c.path, "%s", path);
    c.plen = strlen(c.path);
    *out = NULL;
    struct frule *r = calloc(1, sizeof *r);
    if (r == NULL)
        return nomem(&c);
    etwhost_status rc = compile_node(&c, rule, &r->root, 0);
    if (rc != ETWHOST_OK) {
        frule_free(r);
        return rc;
    }
    *out = r;
    return ETWHOST_OK;
}

static const struct fnode *find_props(const struct fnode *n)
{
    if (n->kind == FN_PROP || n->kind == FN_PROCESS_NAME)
        return n;
    for (uint32_t k = 0; k < n->nkids; k++) {
        const struct fnode *f = find_props(n->kids[k]);
        if (f != NULL)
            return f;
    }
    return NULL;
}

int frule_needs_props(const struct frule *r, char *where, size_t where_len)
{
    const struct fnode *f = find_props(r->root);
    if (f == NULL)
        return 0;
    if (where != NULL && where_len > 0)
        snprintf(where, where_len, "%s", f->path);
    return 1;
}

void frule_free(struct frule *r)
{
    if (r == NULL)
        return;
    free_node(r->root);
    free(r);
}

/* ---- evaluation ------------------------------------------------------------------- */

static int provider_match(struct fnode *n, const etwhost_event_header *h)
{
    const etwhost_guid *g = &h->provider_guid;
    uint32_t slot = (g->data1 ^ (g->data1 >> 11) ^ g->data2 ^ ((uint32_t)g->data3 << 3) ^
                     g->data4[7]) % PCACHE_SIZE;
    struct pcache_entry *ce = &n->cache->e[slot];
    if (ce->valid && ce->name == h->provider_name && guid_eq(&ce->guid, g))
        return ce->val;
    size_t len = strlen(h->provider_name);
    int val = 0;
    for (uint32_t k = 0; k < n->pats.n && !val; k++) {
        const struct pat *p = &n->pats.p[k];
        val = p->kind == PAT_GUID ? guid_eq(&p->guid, g) : pat_match_name(p, h->provider_name, len);
    }
    ce->valid = 1;
    ce->val = val;
    ce->name = h->provider_name;
    ce->guid = *g;
    return val;
}

static int names_match(const struct patset *ps, const char *s, size_t len)
{
    for (uint32_t k = 0; k < ps->n; k++)
        if (pat_match_name(&ps->p[k], s, len))
            return 1;
    return 0;
}

static int process_name_match(const struct fnode *n, const etwhost_host_api *api,
                              const etwhost_event *ev)
{
    static const char *const props[] = {"ImageName", "ProcessName"};
    for (int k = 0; k < 2; k++) {
        const char *s;
        size_t len;
        if (api->event_get_str(ev, props[k], &s, &len) != ETWHOST_OK)
            continue;
        if (names_match(&n->pats, s, len))
            return 1;
        /* Also try the file name alone: "C:\Windows\System32\cmd.exe" matches "cmd.exe". */
        size_t b = len;
        while (b > 0 && s[b - 1] != '\\' && s[b - 1] != '/')
            b--;
        if (b > 0 && names_match(&n->pats, s + b, len - b))
            return 1;
        return 0;
    }
    return 0;
}

static int cmp_num(int op, int c)
{
    switch (op) {
    case NOP_EQ: return c == 0;
    case NOP_NE: return c != 0;
    case NOP_GT: return c > 0;
    case NOP_GE: return c >= 0;
    case NOP_LT: return c < 0;
    default: return c <= 0;
    }
}

/* A property's numeric value: exact integer (signed or unsigned) or double. */
struct pval {
    int kind; /* 0 none, 1 i64, 2 u64 (> INT64_MAX), 3 double */
    int64_t i;
    uint64_t u;
    double d;
};

static void fetch_num(const etwhost_host_api *api, const etwhost_event *ev, const char *path,
                      struct pval *pv)
{
    pv->kind = 0;
    if (api->event_get_i64(ev, path, &pv->i) == ETWHOST_OK) {
        pv->kind = 1;
        return;
    }
    if (api->event_get_u64(ev, path, &pv->u) == ETWHOST_OK) {
        pv->kind = pv->u > (uint64_t)INT64_MAX ? 2 : 1;
        pv->i = (int64_t)pv->u;
        return;
    }
    if (api->event_get_f64(ev, path, &pv->d) == ETWHOST_OK) {
        pv->kind = 3;
        return;
    }
    /* A number held in a string ("443"): compare it as a number too. */
    const char *s;
    size_t len;
    if (api->event_get_str(ev, path, &s, &len) == ETWHOST_OK && len > 0 && len < 40) {
        char tmp[40];
        memcpy(tmp, s, len);
        tmp[len] = '\0';
        char *end;
        double d = strtod(tmp, &end);
        if (*end == '\0') {
            pv->kind = 3;
            pv->d = d;
        }
    }
}

/* Compare property value with constant: <0, 0, >0; 2 if not comparable (NaN). */
static int compare(const struct pval *pv, const struct num *k)
{
    if (pv->kind == 1 && k->is_int)
        return pv->i < k->i ? -1 : pv->i > k->i;
    if (pv->kind == 2 && k->is_int)
        return 1; /* larger than any int64 */
    double a = pv->kind == 3 ? pv->d : pv->kind == 2 ? (double)pv->u : (double)pv->i;
    if (a != a || k->d != k->d)
        return 2;
    return a < k->d ? -1 : a > k->d;
}

static int find_icase(const char *hay, size_t hn, const char *nd, size_t nn, int icase)
{
    if (nn > hn)
        return 0;
    if (!icase) {
        /* memchr for the first byte skips most positions at memory speed. */
        const char *p = hay, *end = hay + hn - nn + 1;
        while (p < end && (p = memchr(p, nd[0], (size_t)(end - p))) != NULL) {
            if (memcmp(p, nd, nn) == 0)
                return 1;
            p++;
        }
        return 0;
    }
    int f = lower((unsigned char)nd[0]);
    for (size_t i = 0; i + nn <= hn; i++)
        if (lower((unsigned char)hay[i]) == f && eq_icase(hay + i + 1, nd + 1, nn - 1))
            return 1;
    return 0;
}

static int str_test(const struct strop *o, const char *s, size_t len, int icase)
{
    switch (o->op) {
    case SOP_EQUALS:
        return len == o->len && (icase ? eq_icase(s, o->s, len) : memcmp(s, o->s, len) == 0);
    case SOP_PREFIX:
        return len >= o->len &&
               (icase ? eq_icase(s, o->s, o->len) : memcmp(s, o->s, o->len) == 0);
    case SOP_SUFFIX:
        return len >= o->len && (icase ? eq_icase(s + len - o->len, o->s, o->len)
                                       : memcmp(s + len - o->len, o->s, o->len) == 0);
    default: return find_icase(s, len, o->s, o->len, icase);
    }
}

static int prop_eval(const struct prop_cond *pc, const etwhost_host_api *api,
                     const etwhost_event *ev)
{
    const char *s = NULL;
    size_t len = 0;
    int have_str = 0;
    if (pc->exists >= 0) {
        etwhost_prop p;
        memset(&p, 0, sizeof p);
        p.struct_size = sizeof p;
        int present = api->event_prop_find(ev, pc->path, pc->path_len, &p) == ETWHOST_OK;
        if (present != pc->exists)
            return 0;
        if (!present)
            return 1;
    }
    if (pc->nsops > 0 || pc->re != NULL || pc->nin_s > 0) {
        if (api->event_get_str(ev, pc->path, &s, &len) != ETWHOST_OK) {
            /* Absent property: string operators fail; "in" may still match a number. */
            if (pc->nsops > 0 || pc->re != NULL || pc->nin_n == 0)
                return 0;
        } else {
            have_str = 1;
        }
    }
    for (uint32_t k = 0; k < pc->nsops; k++)
        if (!str_test(&pc->sops[k], s, len, pc->icase))
            return 0;
    if (pc->re != NULL) {
        int rc = pcre2_match(pc->re, (PCRE2_SPTR)s, len, 0, 0, pc->md, NULL);
        if (rc < 0)
            return 0;
    }
    struct pval pv;
    pv.kind = -1;
    if (pc->nnops > 0) {
        fetch_num(api, ev, pc->path, &pv);
        if (pv.kind == 0)
            return 0;
        for (uint32_t k = 0; k < pc->nnops; k++) {
            int c = compare(&pv, &pc->nops[k].v);
            if (c == 2 ? pc->nops[k].op != NOP_NE : !cmp_num(pc->nops[k].op, c))
                return 0;
        }
    }
    if (pc->has_in) {
        int any = 0;
        for (uint32_t k = 0; k < pc->nin_s && have_str && !any; k++)
            any = str_test(&pc->in_s[k], s, len, pc->icase);
        if (!any && pc->nin_n > 0) {
            if (pv.kind < 0)
                fetch_num(api, ev, pc->path, &pv);
            for (uint32_t k = 0; k < pc->nin_n && pv.kind > 0 && !any; k++)
                any = compare(&pv, &pc->in_n[k]) == 0;
        }
        if (!any)
            return 0;
    }
    return 1;
}

static int eval(struct fnode *n, const etwhost_host_api *api, const etwhost_event *ev,
                const etwhost_event_header *h)
{
    switch (n->kind) {
    case FN_AND:
        for (uint32_t k = 0; k < n->nkids; k++)
            if (!eval(n->kids[k], api, ev, h))
                return 0;
        return 1;
    case FN_OR:
        for (uint32_t k = 0; k < n->nkids; k++)
            if (eval(n->kids[k], api, ev, h))
                return 1;
        return 0;
    case FN_NOT: return !eval(n->kids[0], api, ev, h);
    case FN_PROVIDER: return provider_match(n, h);
    case FN_EVENT_ID: return idset_has(&n->ids, h->event_id);
    case FN_LEVEL_MAX: return h->level <= n->u;
    case FN_LEVEL_MIN: return h->level >= n->u;
    case FN_KW_ANY: return (h->keywords & n->mask) != 0;
    case FN_KW_ALL: return (h->keywords & n->mask) == n->mask;
    case FN_OPCODE: return idset_has(&n->ids, h->opcode);
    case FN_TASK: return idset_has(&n->ids, h->task);
    case FN_VERSION: return idset_has(&n->ids, h->version);
    case FN_PID: return !(h->flags & ETWHOST_EVF_NO_PID) && idset_has(&n->ids, h->pid);
    case FN_TID: return !(h->flags & ETWHOST_EVF_NO_PID) && idset_has(&n->ids, h->tid);
    case FN_EVENT_NAME: return names_match(&n->pats, h->event_name, strlen(h->event_name));
    case FN_PROCESS_NAME: return process_name_match(n, api, ev);
    case FN_PROP: return prop_eval(n->prop, api, ev);
    }
    return 0;
}

int frule_eval(struct frule *r, const etwhost_host_api *api, const etwhost_event *ev)
{
    return eval(r->root, api, ev, api->event_header(ev));
}
