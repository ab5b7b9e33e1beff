/*
 * filter_rule: rule compiler and evaluator (see filter_rule.h and
 * docs/plugins.md).
 *
 * A compiled rule is a tree of nodes.  Header conditions are reduced at
 * compile time to the cheapest test that answers them: a bitmap for event id
 * / opcode / task sets, sorted ranges for pid / tid, a cache of provider
 * answers by GUID and name pointer, precompiled PCRE2 code with JIT for
 * regular expressions.  Property conditions remember per event type where
 * their property sits (struct loc_entry), read it once per event and take
 * its text and number from it.
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

/*
 * Where a property sits in events of one type.  Events of one type (provider
 * GUID, event id, version, opcode, header flags and event name pointer) are
 * decoded with one schema, so their top-level property names are the same
 * and a top-level property is found at the same pre-order index unless a
 * variable-length array before it moved it.  The index is therefore checked
 * on every use (event_prop_at, then parent and name compare) and a failed
 * check searches by name again.
 *
 * Absence cannot be checked without a search, so it is remembered only from
 * a fully decoded event (a partly decoded one lacks properties its type has)
 * and trusted only for fully decoded events of the type with the same number
 * of properties: two schemas that share a key (an event name pointer reused
 * after its schema was freed, templates changed without a version bump)
 * would also have to agree on that count.  Types whose arrays vary in
 * length then search as before.
 */
#define LOC_EMPTY 0
#define LOC_INDEX 1  /* at 'index' (checked on each use) */
#define LOC_ABSENT 2 /* absent from fully decoded events of the type with 'nprops' */
#define LOC_SEARCH 3 /* not cacheable (repeated name, struct, ...): search by name */

struct loc_entry {
    etwhost_guid guid;
    const char *event_name;
    uint32_t flags;
    uint16_t event_id;
    uint8_t version, opcode;
    uint32_t state; /* LOC_* */
    uint32_t index;  /* LOC_INDEX */
    uint32_t nprops; /* LOC_ABSENT */
};

/* Set-associative by event type: streams interleave a few dozen types at most. */
#define LOC_SETS 8
#define LOC_WAYS 4

struct loc_cache {
    struct loc_entry e[LOC_SETS][LOC_WAYS];
    uint8_t victim[LOC_SETS]; /* next way to replace, round robin */
};

/* A property path and, for a plain top-level name, its per-type cache. */
struct prop_ref {
    char *path; /* NUL-terminated, for the getters */
    size_t path_len;
    char *alias2;            /* path + "_2": finds a second property of that name */
    struct loc_cache *cache; /* NULL for "a.b" and "a[2]" paths */
};

struct prop_cond {
    struct prop_ref ref;
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
    struct prop_ref names[2]; /* process_name: ImageName, ProcessName */
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

/* How a JSON value's type is named in messages. */
static const char *jtype(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
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
static etwhost_status idset_elem(struct ctx *c, struct idset *s, json_t *v, uint32_t max)
{
    if (json_is_number(v)) {
        json_int_t i = json_is_integer(v) ? json_integer_value(v) : -1;
        if (!json_is_integer(v) || i < 0 || (uint64_t)i > max)
            return cerr(c, "%g is not an integer in 0-%u", json_number_value(v), (unsigned)max);
        return idset_add(c, s, (uint32_t)i, (uint32_t)i);
    }
    if (json_is_string(v)) {
        const char *str = json_string_value(v);
        size_t len = json_string_length(v);
        const char *dash = memchr(str, '-', len);
        uint64_t lo, hi;
        if (dash == NULL) {
            if (parse_u64_text(str, len, max, &lo) != 0)
                return cerr(c, "bad value \"%s\" (expected a number in 0-%u or a range \"A-B\")",
                            str, (unsigned)max);
            return idset_add(c, s, (uint32_t)lo, (uint32_t)lo);
        }
        if (parse_u64_text(str, (size_t)(dash - str), max, &lo) != 0 ||
            parse_u64_text(dash + 1, len - (size_t)(dash - str) - 1, max, &hi) != 0)
            return cerr(c, "bad range \"%s\" (expected \"A-B\" with numbers in 0-%u)", str,
                        (unsigned)max);
        if (lo > hi)
            return cerr(c, "bad range \"%s\" (start is greater than end)", str);
        return idset_add(c, s, (uint32_t)lo, (uint32_t)hi);
    }
    return cerr(c, "expected a number or a range string \"A-B\", got %s", jtype(v));
}

static etwhost_status compile_idset(struct ctx *c, struct idset *s, json_t *v, uint32_t max)
{
    etwhost_status rc;
    if (json_is_array(v)) {
        if (json_array_size(v) == 0)
            return cerr(c, "empty list (it would never match)");
        for (size_t k = 0; k < json_array_size(v); k++) {
            size_t old = push_index(c, k);
            rc = idset_elem(c, s, json_array_get(v, k), max);
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

static etwhost_status pat_elem(struct ctx *c, struct patset *ps, json_t *v, int allow_guid)
{
    if (!json_is_string(v))
        return cerr(c, "expected a string, got %s", jtype(v));
    const char *str = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0)
        return cerr(c, "empty name");
    struct pat *np = realloc(ps->p, (ps->n + 1) * sizeof *np);
    if (np == NULL)
        return nomem(c);
    ps->p = np;
    struct pat *p = &ps->p[ps->n];
    memset(p, 0, sizeof *p);
    if (allow_guid && parse_guid(str, len, &p->guid) == 0) {
        p->kind = PAT_GUID;
    } else {
        if (allow_guid && str[0] == '{')
            return cerr(c, "bad GUID \"%s\" (expected {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx})",
                        str);
        p->kind = strpbrk(str, "*?") != NULL ? PAT_GLOB : PAT_EXACT;
        p->s = xstrdup(str);
        if (p->s == NULL)
            return nomem(c);
        p->len = len;
    }
    ps->n++;
    return ETWHOST_OK;
}

static etwhost_status compile_patset(struct ctx *c, struct patset *ps, json_t *v, int allow_guid)
{
    etwhost_status rc;
    if (json_is_array(v)) {
        if (json_array_size(v) == 0)
            return cerr(c, "empty list (it would never match)");
        for (size_t k = 0; k < json_array_size(v); k++) {
            size_t old = push_index(c, k);
            rc = pat_elem(c, ps, json_array_get(v, k), allow_guid);
            if (rc != ETWHOST_OK)
                return rc;
            pop(c, old);
        }
        return ETWHOST_OK;
    }
    return pat_elem(c, ps, v, allow_guid);
}

/* ---- numbers ------------------------------------------------------------------- */

/*
 * A JSON number as the rule keeps it.  The text the plugin parses was written
 * by jansson (the host's settings), so integers fit int64 and keep their
 * integer type; anything with a fraction or exponent is a real.
 */
static etwhost_status get_num(struct ctx *c, json_t *v, struct num *out)
{
    if (json_is_boolean(v)) {
        out->is_int = 1;
        out->i = json_is_true(v);
        out->d = (double)out->i;
        return ETWHOST_OK;
    }
    if (!json_is_number(v))
        return cerr(c, "expected a number, got %s", jtype(v));
    out->is_int = json_is_integer(v);
    out->i = out->is_int ? (int64_t)json_integer_value(v) : 0;
    out->d = json_number_value(v);
    return ETWHOST_OK;
}

static etwhost_status get_mask(struct ctx *c, json_t *v, uint64_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
    } else if (json_is_string(v)) {
        if (parse_u64_text(json_string_value(v), json_string_length(v), UINT64_MAX, out) != 0)
            return cerr(c, "bad mask \"%s\" (expected a number or \"0x...\" hex string)",
                        json_string_value(v));
    } else {
        return cerr(c, "expected a non-negative integer or a \"0x...\" hex string, got %s",
                    json_is_number(v) ? "a fraction or negative number" : jtype(v));
    }
    if (*out == 0)
        return cerr(c, "mask 0 selects no keyword bits");
    return ETWHOST_OK;
}

/* ---- property conditions ------------------------------------------------------ */

/* Set up a path; -1 when out of memory (what was allocated is freed by prop_ref_free). */
static int prop_ref_init(struct prop_ref *r, const char *path, size_t len)
{
    memset(r, 0, sizeof *r);
    r->path = malloc(len + 1);
    if (r->path == NULL)
        return -1;
    memcpy(r->path, path, len);
    r->path[len] = '\0';
    r->path_len = len;
    /* Only a plain top-level name is cached: a path into a struct or an array element can
     * move with the array lengths of each event. */
    if (memchr(path, '.', len) != NULL || memchr(path, '[', len) != NULL)
        return 0;
    r->alias2 = malloc(len + 3);
    r->cache = calloc(1, sizeof *r->cache);
    if (r->alias2 == NULL || r->cache == NULL)
        return -1;
    memcpy(r->alias2, path, len);
    memcpy(r->alias2 + len, "_2", 3);
    return 0;
}

static void prop_ref_free(struct prop_ref *r)
{
    free(r->path);
    free(r->alias2);
    free(r->cache);
    memset(r, 0, sizeof *r);
}

static etwhost_status add_strop(struct ctx *c, struct strop **arr, uint32_t *n, int op, json_t *v)
{
    if (!json_is_string(v))
        return cerr(c, "expected a string, got %s", jtype(v));
    size_t len = json_string_length(v);
    struct strop *na = realloc(*arr, (*n + 1) * sizeof *na);
    if (na == NULL)
        return nomem(c);
    *arr = na;
    na[*n].op = op;
    na[*n].len = len;
    na[*n].s = malloc(len + 1);
    if (na[*n].s == NULL)
        return nomem(c);
    memcpy(na[*n].s, json_string_value(v), len + 1);
    (*n)++;
    return ETWHOST_OK;
}

static etwhost_status add_numop(struct ctx *c, struct prop_cond *pc, int op, json_t *v)
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

static etwhost_status compile_regex(struct ctx *c, struct prop_cond *pc, json_t *v)
{
    if (!json_is_string(v))
        return cerr(c, "expected a string, got %s", jtype(v));
    int ecode;
    PCRE2_SIZE eoff;
    uint32_t opts = PCRE2_UTF;
#ifdef PCRE2_MATCH_INVALID_UTF
    opts |= PCRE2_MATCH_INVALID_UTF;
#endif
    if (pc->icase)
        opts |= PCRE2_CASELESS;
    pc->re = pcre2_compile((PCRE2_SPTR)json_string_value(v), json_string_length(v), opts, &ecode,
                           &eoff, NULL);
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
    prop_ref_free(&pc->ref);
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
static etwhost_status compile_prop(struct ctx *c, struct fnode *n, json_t *o)
{
    json_t *pv = json_object_get(o, "prop");
    etwhost_status rc;
    size_t old = push_key(c, "prop");
    if (!json_is_string(pv))
        return cerr(c, "expected a property name (string), got %s", jtype(pv));
    if (json_string_length(pv) == 0)
        return cerr(c, "empty property name");
    pop(c, old);
    struct prop_cond *pc = calloc(1, sizeof *pc);
    if (pc == NULL)
        return nomem(c);
    n->prop = pc;
    pc->exists = -1;
    if (prop_ref_init(&pc->ref, json_string_value(pv), json_string_length(pv)) != 0)
        return nomem(c);
    json_t *ic = json_object_get(o, "ignore_case");
    if (ic != NULL) {
        old = push_key(c, "ignore_case");
        if (!json_is_boolean(ic))
            return cerr(c, "expected true or false, got %s", jtype(ic));
        pc->icase = json_is_true(ic);
        pop(c, old);
    }
    int nops = 0;
    const char *key;
    json_t *v;
    /* Members in the order they were written, so the first bad operator is named. */
    json_object_foreach(o, key, v) {
        /* Other conditions in the same object are compiled by compile_node. */
        if (strcmp(key, "prop") == 0 || strcmp(key, "ignore_case") == 0 || !is_prop_op(key))
            continue;
        old = push_key(c, key);
        nops++;
        if (strcmp(key, "equals") == 0) {
            if (json_is_string(v))
                rc = add_strop(c, &pc->sops, &pc->nsops, SOP_EQUALS, v);
            else if (json_is_number(v) || json_is_boolean(v))
                rc = add_numop(c, pc, NOP_EQ, v);
            else
                rc = cerr(c, "expected a string, number or boolean, got %s", jtype(v));
        } else if (strcmp(key, "prefix") == 0) {
            rc = add_strop(c, &pc->sops, &pc->nsops, SOP_PREFIX, v);
        } else if (strcmp(key, "suffix") == 0) {
            rc = add_strop(c, &pc->sops, &pc->nsops, SOP_SUFFIX, v);
        } else if (strcmp(key, "contains") == 0) {
            rc = add_strop(c, &pc->sops, &pc->nsops, SOP_CONTAINS, v);
            if (rc == ETWHOST_OK && json_string_length(v) == 0)
                rc = cerr(c, "empty string (it would always match)");
        } else if (strcmp(key, "regex") == 0) {
            rc = compile_regex(c, pc, v);
        } else if (strcmp(key, "in") == 0) {
            pc->has_in = 1;
            if (!json_is_array(v) || json_array_size(v) == 0) {
                rc = cerr(c, "expected a non-empty array of strings or numbers, got %s",
                          json_is_array(v) ? "an empty array" : jtype(v));
            } else {
                rc = ETWHOST_OK;
                for (size_t j = 0; j < json_array_size(v) && rc == ETWHOST_OK; j++) {
                    size_t o2 = push_index(c, j);
                    json_t *e = json_array_get(v, j);
                    if (json_is_string(e)) {
                        rc = add_strop(c, &pc->in_s, &pc->nin_s, SOP_EQUALS, e);
                    } else if (json_is_number(e)) {
                        struct num *nn = realloc(pc->in_n, (pc->nin_n + 1) * sizeof *nn);
                        if (nn == NULL)
                            return nomem(c);
                        pc->in_n = nn;
                        rc = get_num(c, e, &nn[pc->nin_n]);
                        pc->nin_n++;
                    } else {
                        rc = cerr(c, "expected a string or number, got %s", jtype(e));
                    }
                    if (rc == ETWHOST_OK)
                        pop(c, o2);
                }
            }
        } else if (strcmp(key, "exists") == 0) {
            if (!json_is_boolean(v)) {
                rc = cerr(c, "expected true or false, got %s", jtype(v));
            } else {
                pc->exists = json_is_true(v);
                rc = ETWHOST_OK;
            }
        } else {
            static const char *const names[] = {"eq", "ne", "gt", "ge", "lt", "le"};
            int op = -1;
            for (int j = 0; j < 6; j++)
                if (strcmp(key, names[j]) == 0)
                    op = j;
            if (op < 0 || !json_is_number(v))
                rc = cerr(c, "expected a number, got %s", jtype(v));
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
    prop_ref_free(&n->names[0]);
    prop_ref_free(&n->names[1]);
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

static etwhost_status compile_node(struct ctx *c, json_t *v, struct fnode **out, int depth);

static etwhost_status compile_level(struct ctx *c, struct fnode *n, json_t *v)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255)
        return cerr(c, "expected an integer level in 0-255 (1 critical .. 5 verbose)");
    n->u = (uint32_t)json_integer_value(v);
    return ETWHOST_OK;
}

/* One condition key of a leaf object (not "prop" or its operators). */
static etwhost_status compile_cond(struct ctx *c, const char *key, json_t *v, struct fnode **out)
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
    case FN_EVENT_NAME: rc = compile_patset(c, &n->pats, v, 0); break;
    case FN_PROCESS_NAME:
        if (prop_ref_init(&n->names[0], "ImageName", 9) != 0 ||
            prop_ref_init(&n->names[1], "ProcessName", 11) != 0)
            rc = nomem(c);
        else
            rc = compile_patset(c, &n->pats, v, 0);
        break;
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

static etwhost_status compile_list(struct ctx *c, struct fnode *n, json_t *v, const char *key,
                                   int depth)
{
    size_t old = push_key(c, key);
    if (!json_is_array(v))
        return cerr(c, "expected an array of rules, got %s", jtype(v));
    if (json_array_size(v) == 0)
        return cerr(c, "empty array (\"%s\" needs at least one rule)", key);
    for (size_t k = 0; k < json_array_size(v); k++) {
        size_t o2 = push_index(c, k);
        struct fnode *kid = NULL;
        etwhost_status rc = compile_node(c, json_array_get(v, k), &kid, depth + 1);
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

static etwhost_status compile_node(struct ctx *c, json_t *v, struct fnode **out, int depth)
{
    etwhost_status rc;
    const char *key;
    json_t *kv;
    *out = NULL;
    if (depth > 32)
        return cerr(c, "rule nested deeper than 32 levels");
    if (!json_is_object(v))
        return cerr(c, "expected a rule object, got %s", jtype(v));
    if (json_object_size(v) == 0)
        return cerr(c, "empty rule object (expected \"and\", \"or\", \"not\" or conditions "
                       "such as \"provider\")");
    /* A combinator must be alone in its object so the meaning is never ambiguous. */
    static const char *const combos[] = {"and", "or", "not"};
    for (int k = 0; k < 3; k++) {
        json_t *cv = json_object_get(v, combos[k]);
        if (cv == NULL)
            continue;
        if (json_object_size(v) != 1) {
            /* Name the first other key as written (members keep their order). */
            const char *other = "";
            json_object_foreach(v, key, kv) {
                if (strcmp(key, combos[k]) != 0) {
                    other = key;
                    break;
                }
            }
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
    json_object_foreach(v, key, kv) {
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
    int has_prop = json_object_get(v, "prop") != NULL;
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
    json_object_foreach(v, key, kv) {
        if (strcmp(key, "prop") == 0 || (has_prop && is_prop_op(key)))
            continue;
        struct fnode *kid = NULL;
        rc = compile_cond(c, key, kv, &kid);
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

etwhost_status frule_compile(json_t *rule, const char *path, struct frule **out,
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
    /* The name pointer is part of the slot too: each TraceLogging event type of one
     * provider carries its own copy of the name, and those types interleave. */
    uintptr_t np = (uintptr_t)h->provider_name;
    uint32_t slot = (g->data1 ^ (g->data1 >> 11) ^ g->data2 ^ ((uint32_t)g->data3 << 3) ^
                     g->data4[7] ^ (uint32_t)(np >> 3) ^ (uint32_t)(np >> 11)) %
                    PCACHE_SIZE;
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

/* Cache set of an event type. */
static uint32_t loc_set(const etwhost_event_header *h)
{
    const etwhost_guid *g = &h->provider_guid;
    uint32_t x = g->data1 ^ ((uint32_t)g->data2 << 16 | g->data3) ^ g->data4[7] ^
                 ((uint32_t)h->event_id << 8) ^ ((uint32_t)h->version << 24) ^ h->opcode;
    return (x * 0x9E3779B1u) >> 29; /* top 3 bits: LOC_SETS == 8 */
}

static int loc_same_type(const struct loc_entry *e, const etwhost_event_header *h)
{
    return e->state != LOC_EMPTY && e->event_id == h->event_id &&
           e->event_name == h->event_name && e->version == h->version &&
           e->opcode == h->opcode && e->flags == h->flags &&
           guid_eq(&e->guid, &h->provider_guid);
}

/* Does p (just read at some index) name r's property at the top level? */
static int names_ref(const struct prop_ref *r, const etwhost_prop *p)
{
    return p->parent == ETWHOST_NONE && p->name_len == r->path_len && p->name != NULL &&
           memcmp(p->name, r->path, r->path_len) == 0;
}

/*
 * Fill e after a search by name found (found = 1, in *p) or missed the property.
 * The index of a top-level property without children is one before its next
 * sibling (or the last one); anything else is searched by name every time.
 */
static void loc_fill(struct loc_entry *e, const struct prop_ref *r, const etwhost_host_api *api,
                     const etwhost_event *ev, const etwhost_event_header *h, int found,
                     etwhost_status st, const etwhost_prop *p)
{
    e->guid = h->provider_guid;
    e->event_name = h->event_name;
    e->flags = h->flags;
    e->event_id = h->event_id;
    e->version = h->version;
    e->opcode = h->opcode;
    e->state = LOC_SEARCH;
    if (!found) {
        /* A partly decoded event lacks properties its type has. */
        e->state = st == ETWHOST_ERR_NOTFOUND && h->decode_status == ETWHOST_DECODE_FULL
                       ? LOC_ABSENT
                       : LOC_EMPTY;
        e->nprops = api->event_prop_count(ev);
        return;
    }
    uint32_t nprops = api->event_prop_count(ev);
    /* "Name_3" finds the third "Name": such a path names no property by itself. */
    if (!names_ref(r, p))
        return;
    if ((p->type == ETWHOST_PT_STRUCT || p->type == ETWHOST_PT_ARRAY) && p->count > 0)
        return;
    uint32_t end = p->next != ETWHOST_NONE ? p->next : nprops;
    if (end == 0 || end > nprops)
        return;
    /* A second property of the same name could take the index in another event of the
     * type whose arrays are shorter: those types are searched every time. */
    etwhost_prop q;
    memset(&q, 0, sizeof q);
    q.struct_size = sizeof q;
    if (api->event_prop_find(ev, r->alias2, r->path_len + 2, &q) != ETWHOST_ERR_NOTFOUND)
        return;
    memset(&q, 0, sizeof q);
    q.struct_size = sizeof q;
    if (api->event_prop_at(ev, end - 1, &q) != ETWHOST_OK || !names_ref(r, &q) ||
        q.next != p->next)
        return;
    e->state = LOC_INDEX;
    e->index = end - 1;
}

/*
 * The property r names in ev: 1 with *p filled, or 0 when the event has none.
 * Same answer as api->event_prop_find(r->path), with the search skipped for
 * event types seen before.
 */
static int prop_get(struct prop_ref *r, const etwhost_host_api *api, const etwhost_event *ev,
                    const etwhost_event_header *h, etwhost_prop *p)
{
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    if (r->cache == NULL)
        return api->event_prop_find(ev, r->path, r->path_len, p) == ETWHOST_OK;
    uint32_t set = loc_set(h);
    struct loc_entry *ways = r->cache->e[set];
    struct loc_entry *e = NULL;
    for (uint32_t w = 0; w < LOC_WAYS && e == NULL; w++)
        if (loc_same_type(&ways[w], h))
            e = &ways[w];
    if (e != NULL) {
        switch (e->state) {
        case LOC_INDEX:
            if (api->event_prop_at(ev, e->index, p) == ETWHOST_OK && names_ref(r, p))
                return 1;
            /* Moved: search again below. */
            memset(p, 0, sizeof *p);
            p->struct_size = sizeof *p;
            break;
        case LOC_ABSENT:
            if (h->decode_status == ETWHOST_DECODE_FULL && api->event_prop_count(ev) == e->nprops)
                return 0;
            break;
        default: return api->event_prop_find(ev, r->path, r->path_len, p) == ETWHOST_OK;
        }
    } else {
        e = &ways[r->cache->victim[set]];
        r->cache->victim[set] = (uint8_t)((r->cache->victim[set] + 1) % LOC_WAYS);
    }
    etwhost_status st = api->event_prop_find(ev, r->path, r->path_len, p);
    int found = st == ETWHOST_OK;
    if (found) {
        /* loc_fill reads other properties into its own buffer; keep *p. */
        loc_fill(e, r, api, ev, h, 1, st, p);
    } else {
        loc_fill(e, r, api, ev, h, 0, st, NULL);
    }
    return found;
}

/*
 * The property's text as api->event_get_str gives it: a plain string is read
 * from the property itself; other types (rendered numbers, GUIDs, value-map
 * labels) come from the getter.  1, or 0 when it has no text.
 */
static int prop_text(const struct prop_ref *r, const etwhost_host_api *api,
                     const etwhost_event *ev, const etwhost_prop *p, const char **s,
                     size_t *len)
{
    if (p->type == ETWHOST_PT_STRING && p->map_text == NULL) {
        *s = p->data != NULL ? (const char *)p->data : "";
        *len = p->size;
        return 1;
    }
    return api->event_get_str(ev, r->path, s, len) == ETWHOST_OK;
}

static int process_name_match(struct fnode *n, const etwhost_host_api *api,
                              const etwhost_event *ev, const etwhost_event_header *h)
{
    for (int k = 0; k < 2; k++) {
        const char *s;
        size_t len;
        etwhost_prop p;
        if (!prop_get(&n->names[k], api, ev, h, &p) ||
            !prop_text(&n->names[k], api, ev, &p, &s, &len))
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

/* A number held in a string ("443"): compared as a number too. */
static void num_from_text(const char *s, size_t len, struct pval *pv)
{
    if (len > 0 && len < 40) {
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

/* The numeric value through the typed getters (i64, then u64, f64, text). */
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
    const char *s;
    size_t len;
    if (api->event_get_str(ev, path, &s, &len) == ETWHOST_OK)
        num_from_text(s, len, pv);
}

/*
 * The numeric value of property p, as fetch_num would find it.  Integers and
 * floats are read from the property (at their declared width, as the getters
 * convert them), plain strings parsed; other types go through the getters.
 */
static void prop_num(const struct prop_ref *r, const etwhost_host_api *api,
                     const etwhost_event *ev, const etwhost_prop *p, struct pval *pv)
{
    pv->kind = 1;
    switch (p->type) {
    case ETWHOST_PT_I8: pv->i = (int8_t)(p->num.u & 0xFFu); return;
    case ETWHOST_PT_I16: pv->i = (int16_t)(p->num.u & 0xFFFFu); return;
    case ETWHOST_PT_I32: pv->i = (int32_t)(p->num.u & 0xFFFFFFFFu); return;
    case ETWHOST_PT_I64: pv->i = p->num.i; return;
    case ETWHOST_PT_U8: pv->u = p->num.u & 0xFFu; break;
    case ETWHOST_PT_U16: pv->u = p->num.u & 0xFFFFu; break;
    case ETWHOST_PT_U32: pv->u = p->num.u & 0xFFFFFFFFu; break;
    case ETWHOST_PT_U64: pv->u = p->num.u; break;
    case ETWHOST_PT_F64:
        pv->kind = 3;
        pv->d = p->num.f;
        return;
    case ETWHOST_PT_F32:
        pv->kind = 3;
        pv->d = (double)(float)p->num.f;
        return;
    case ETWHOST_PT_STRING:
        if (p->map_text == NULL) {
            pv->kind = 0;
            num_from_text(p->data != NULL ? (const char *)p->data : "", p->size, pv);
            return;
        }
        fetch_num(api, ev, r->path, pv);
        return;
    default: fetch_num(api, ev, r->path, pv); return;
    }
    pv->kind = pv->u > (uint64_t)INT64_MAX ? 2 : 1;
    pv->i = (int64_t)pv->u;
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

static int prop_eval(struct prop_cond *pc, const etwhost_host_api *api, const etwhost_event *ev,
                     const etwhost_event_header *h)
{
    const char *s = NULL;
    size_t len = 0;
    int have_str = 0;
    etwhost_prop p;
    /* One search (or cache hit) serves every operator of the condition. */
    int present = prop_get(&pc->ref, api, ev, h, &p);
    if (pc->exists >= 0) {
        if (present != pc->exists)
            return 0;
        if (!present)
            return 1;
    }
    if (pc->nsops > 0 || pc->re != NULL || pc->nin_s > 0) {
        if (!present || !prop_text(&pc->ref, api, ev, &p, &s, &len)) {
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
        pv.kind = 0;
        if (present)
            prop_num(&pc->ref, api, ev, &p, &pv);
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
            if (pv.kind < 0) {
                pv.kind = 0;
                if (present)
                    prop_num(&pc->ref, api, ev, &p, &pv);
            }
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
    case FN_PROCESS_NAME: return process_name_match(n, api, ev, h);
    case FN_PROP: return prop_eval(n->prop, api, ev, h);
    }
    return 0;
}

int frule_eval(struct frule *r, const etwhost_host_api *api, const etwhost_event *ev)
{
    return eval(r->root, api, ev, api->event_header(ev));
}
