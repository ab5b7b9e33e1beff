/*
 * config_pos: a JSON scanner that records where each value of a parsed tree
 * starts (see config_pos.h).
 */
#include "config_pos.h"

#include <stdio.h>
#include <string.h>

#include "../core/arena.h"
#include "../core/buf.h"
#include "../core/err.h"
#include "../core/mem.h"

/* jansson refuses deeper nesting (2048), so a valid file never reaches this. */
#define POS_MAX_DEPTH 4096

struct pos_index {
    struct pos_ent *ents;
    size_t n, cap;
    /* Open addressing tables of entry index + 1 (0 = empty); sizes are powers of two. */
    uint32_t *by_node, *by_member;
    size_t tab_size;
    char **files;
    size_t n_files, cap_files;
    struct arena strings; /* keys and "where" texts */
};

struct pos_index *pos_index_new(void)
{
    struct pos_index *ix = mem_calloc(1, sizeof *ix);
    if (ix)
        ix->strings.chunk_size = 8192;
    return ix;
}

void pos_index_free(struct pos_index *ix)
{
    if (ix == NULL)
        return;
    mem_free(ix->ents);
    mem_free(ix->by_node);
    mem_free(ix->by_member);
    for (size_t i = 0; i < ix->n_files; i++)
        mem_free(ix->files[i]);
    mem_free(ix->files);
    arena_free(&ix->strings);
    mem_free(ix);
}

int pos_index_add_file(struct pos_index *ix, const char *name, uint32_t *id)
{
    if (mem_grow(&ix->files, &ix->cap_files, ix->n_files + 1, sizeof *ix->files))
        return ERR_NOMEM;
    char *d = mem_strdup(name);
    if (d == NULL)
        return ERR_NOMEM;
    ix->files[ix->n_files] = d;
    *id = (uint32_t)ix->n_files++;
    return 0;
}

const char *pos_index_file_name(const struct pos_index *ix, uint32_t id)
{
    return id < ix->n_files ? ix->files[id] : "";
}

/* ---- hashing ---- */

static size_t hash_ptr(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static size_t hash_member(const void *parent, const char *key, size_t index)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over the key, mixed with the rest */
    if (key)
        for (const unsigned char *k = (const unsigned char *)key; *k; k++)
            h = (h ^ *k) * 1099511628211ULL;
    else
        h ^= (uint64_t)index * 0x9E3779B97F4A7C15ULL;
    return hash_ptr(parent) ^ (size_t)(h * 0x9E3779B97F4A7C15ULL);
}

static int member_eq(const struct pos_ent *e, const void *parent, const char *key, size_t index)
{
    if (e->parent != parent)
        return 0;
    if (key == NULL)
        return e->key == NULL && e->index == index;
    return e->key != NULL && strcmp(e->key, key) == 0;
}

static void tab_put(struct pos_index *ix, size_t i)
{
    size_t mask = ix->tab_size - 1;
    const struct pos_ent *e = &ix->ents[i];
    if (e->node) {
        size_t h = hash_ptr(e->node) & mask;
        while (ix->by_node[h])
            h = (h + 1) & mask;
        ix->by_node[h] = (uint32_t)(i + 1);
    }
    if (e->parent) {
        size_t h = hash_member(e->parent, e->key, e->index) & mask;
        while (ix->by_member[h])
            h = (h + 1) & mask;
        ix->by_member[h] = (uint32_t)(i + 1);
    }
}

/* Keep the tables at most half full. */
static int tab_reserve(struct pos_index *ix, size_t n)
{
    if (n * 2 <= ix->tab_size)
        return 0;
    size_t size = ix->tab_size ? ix->tab_size : 64;
    while (n * 2 > size)
        size *= 2;
    uint32_t *a = mem_calloc(size, sizeof *a), *b = mem_calloc(size, sizeof *b);
    if (a == NULL || b == NULL) {
        mem_free(a);
        mem_free(b);
        return ERR_NOMEM;
    }
    mem_free(ix->by_node);
    mem_free(ix->by_member);
    ix->by_node = a;
    ix->by_member = b;
    ix->tab_size = size;
    for (size_t i = 0; i < ix->n; i++)
        tab_put(ix, i);
    return 0;
}

const struct pos_ent *pos_index_node(const struct pos_index *ix, const json_t *node)
{
    if (ix == NULL || node == NULL || ix->tab_size == 0)
        return NULL;
    size_t mask = ix->tab_size - 1;
    for (size_t h = hash_ptr(node) & mask; ix->by_node[h]; h = (h + 1) & mask) {
        const struct pos_ent *e = &ix->ents[ix->by_node[h] - 1];
        if (e->node == node)
            return e;
    }
    return NULL;
}

static const struct pos_ent *find_member(const struct pos_index *ix, const json_t *parent,
                                         const char *key, size_t index)
{
    if (ix == NULL || parent == NULL || ix->tab_size == 0)
        return NULL;
    size_t mask = ix->tab_size - 1;
    for (size_t h = hash_member(parent, key, index) & mask; ix->by_member[h];
         h = (h + 1) & mask) {
        const struct pos_ent *e = &ix->ents[ix->by_member[h] - 1];
        if (member_eq(e, parent, key, index))
            return e;
    }
    return NULL;
}

const struct pos_ent *pos_index_member(const struct pos_index *ix, const json_t *obj,
                                       const char *key)
{
    return key ? find_member(ix, obj, key, 0) : NULL;
}

const struct pos_ent *pos_index_elem(const struct pos_index *ix, const json_t *arr,
                                     size_t index)
{
    return find_member(ix, arr, NULL, index);
}

/* ---- the scanner ---- */

struct scan {
    struct pos_index *ix;
    uint32_t file;
    const unsigned char *p, *end;
    uint32_t line, col;
    int depth;
    int nomem;
    struct buf key; /* the member name being read, decoded */
};

/*
 * Columns count characters like jansson does: only the first byte of a
 * UTF-8 sequence moves the column.
 */
static void adv(struct scan *s)
{
    unsigned char c = *s->p++;
    if (c == '\n') {
        s->line++;
        s->col = 1;
    } else if ((c & 0xC0) != 0x80) {
        s->col++;
    }
}

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        adv(s);
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Read the 4 hex digits after "\u"; -1 on malformed text. */
static long read_u4(struct scan *s)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        if (s->p >= s->end || hexval(*s->p) < 0)
            return -1;
        v = v * 16 + hexval(*s->p);
        adv(s);
    }
    return v;
}

static int put_utf8(struct buf *b, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_append(b, u, n);
}

/*
 * Skip a string starting at its opening quote; when out is set, decode it
 * there the way jansson does (escapes, surrogate pairs).  -1 on malformed
 * text, ERR_NOMEM.
 */
static int scan_string(struct scan *s, struct buf *out)
{
    adv(s); /* opening quote */
    while (s->p < s->end) {
        unsigned char c = *s->p;
        if (c == '"') {
            adv(s);
            return 0;
        }
        if (c != '\\') {
            if (out && buf_putc(out, (char)c))
                return ERR_NOMEM;
            adv(s);
            continue;
        }
        adv(s);
        if (s->p >= s->end)
            return -1;
        unsigned char e = *s->p;
        adv(s);
        char d;
        switch (e) {
        case '"': d = '"'; break;
        case '\\': d = '\\'; break;
        case '/': d = '/'; break;
        case 'b': d = '\b'; break;
        case 'f': d = '\f'; break;
        case 'n': d = '\n'; break;
        case 'r': d = '\r'; break;
        case 't': d = '\t'; break;
        case 'u': {
            long cp = read_u4(s);
            if (cp < 0)
                return -1;
            if (cp >= 0xD800 && cp <= 0xDBFF && s->end - s->p >= 6 && s->p[0] == '\\' &&
                s->p[1] == 'u') {
                adv(s);
                adv(s);
                long lo = read_u4(s);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return -1;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (out && put_utf8(out, (unsigned long)cp))
                return ERR_NOMEM;
            continue;
        }
        default: return -1;
        }
        if (out && buf_putc(out, d))
            return ERR_NOMEM;
    }
    return -1;
}

static int is_singleton(const json_t *v)
{
    return v == NULL || json_is_true(v) || json_is_false(v) || json_is_null(v);
}

static int record(struct scan *s, const json_t *node, const json_t *parent, const char *key,
                  size_t keylen, size_t index, uint32_t kline, uint32_t kcol)
{
    struct pos_index *ix = s->ix;
    if (ix->n >= UINT32_MAX - 1)
        return 0; /* absurdly large file: stop recording, positions stay unknown */
    if (mem_grow(&ix->ents, &ix->cap, ix->n + 1, sizeof *ix->ents) ||
        tab_reserve(ix, ix->n + 1))
        return ERR_NOMEM;
    struct pos_ent *e = &ix->ents[ix->n];
    memset(e, 0, sizeof *e);
    e->node = is_singleton(node) ? NULL : node;
    e->parent = parent;
    e->index = index;
    e->file = s->file;
    e->kline = kline;
    e->kcol = kcol;
    e->vline = s->line;
    e->vcol = s->col;
    if (key) {
        e->key = arena_dup(&ix->strings, key, keylen, 1);
        if (e->key == NULL)
            return ERR_NOMEM;
    }
    const char *fname = pos_index_file_name(ix, s->file);
    char tail[32];
    int tl = snprintf(tail, sizeof tail, ":%u:%u", (unsigned)s->line, (unsigned)s->col);
    size_t fl = strlen(fname);
    char *w = arena_alloc(&ix->strings, fl + (size_t)tl + 1);
    if (w == NULL)
        return ERR_NOMEM;
    memcpy(w, fname, fl);
    memcpy(w + fl, tail, (size_t)tl + 1);
    e->where = w;
    /* Only a parent-less root or a found child is worth an entry in the tables. */
    if (e->node == NULL && e->parent == NULL)
        return 0;
    ix->n++;
    tab_put(ix, ix->n - 1);
    return 0;
}

/*
 * Scan one value at s->p.  node is the matching jansson value (NULL if the
 * walk lost track, then nothing below is recorded).  Returns 0, -1 on a text
 * jansson would not have accepted, ERR_NOMEM.
 */
static int scan_value(struct scan *s, const json_t *node, const json_t *parent, const char *key,
                      size_t keylen, size_t index, uint32_t kline, uint32_t kcol)
{
    int rc;
    skip_ws(s);
    if (s->p >= s->end)
        return -1;
    if (node && (rc = record(s, node, parent, key, keylen, index, kline, kcol)))
        return rc;
    unsigned char c = *s->p;
    if (c == '{' || c == '[') {
        if (++s->depth > POS_MAX_DEPTH)
            return -1;
        unsigned char close = c == '{' ? '}' : ']';
        adv(s);
        skip_ws(s);
        if (s->p < s->end && *s->p == close) {
            adv(s);
            s->depth--;
            return 0;
        }
        for (size_t i = 0;; i++) {
            skip_ws(s);
            if (s->p >= s->end)
                return -1;
            const json_t *child = NULL;
            if (c == '{') {
                if (*s->p != '"')
                    return -1;
                uint32_t kl = s->line, kc = s->col;
                buf_reset(&s->key);
                if ((rc = scan_string(s, &s->key)))
                    return rc;
                if (buf_cstr(&s->key) == NULL)
                    return ERR_NOMEM;
                skip_ws(s);
                if (s->p >= s->end || *s->p != ':')
                    return -1;
                adv(s);
                if (json_is_object(node))
                    child = json_object_getn(node, s->key.p, s->key.len);
                /* record() copies the key before the buffer is reused further down. */
                rc = scan_value(s, child, node, s->key.p, s->key.len, 0, kl, kc);
            } else {
                if (json_is_array(node))
                    child = json_array_get(node, i);
                rc = scan_value(s, child, node, NULL, 0, i, 0, 0);
            }
            if (rc)
                return rc;
            skip_ws(s);
            if (s->p >= s->end)
                return -1;
            if (*s->p == ',') {
                adv(s);
                continue;
            }
            if (*s->p != close)
                return -1;
            adv(s);
            s->depth--;
            return 0;
        }
    }
    if (c == '"')
        return scan_string(s, NULL);
    /* Numbers, true, false, null. */
    while (s->p < s->end && !strchr(",]} \t\r\n", *s->p))
        adv(s);
    return 0;
}

int pos_index_scan(struct pos_index *ix, uint32_t file, const char *text, size_t len,
                   const json_t *root)
{
    struct scan s;
    memset(&s, 0, sizeof s);
    s.ix = ix;
    s.file = file;
    s.p = (const unsigned char *)text;
    s.end = s.p + len;
    s.line = 1;
    s.col = 1;
    int rc = scan_value(&s, root, NULL, NULL, 0, 0, 0, 0);
    buf_free(&s.key);
    return rc == ERR_NOMEM ? ERR_NOMEM : 0;
}
