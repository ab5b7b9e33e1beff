/*
 * filter_json: recursive-descent JSON reader (RFC 8259) for rule settings.
 */
#include "filter_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FJ_MAX_DEPTH 64

struct fj_parser {
    const char *p, *start, *end;
    char *err;
    size_t err_len;
    int failed;
};

static int fail(struct fj_parser *ps, const char *what)
{
    if (!ps->failed) {
        /* Position as line and column so the user can find it in the file. */
        size_t line = 1, col = 1;
        for (const char *q = ps->start; q < ps->p && q < ps->end; q++) {
            if (*q == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        if (ps->err != NULL && ps->err_len > 0)
            snprintf(ps->err, ps->err_len, "line %zu column %zu: %s", line, col, what);
        ps->failed = 1;
    }
    return -1;
}

static void skip_ws(struct fj_parser *ps)
{
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int hex4(struct fj_parser *ps, unsigned *out)
{
    unsigned v = 0;
    if (ps->end - ps->p < 4)
        return fail(ps, "truncated \\u escape");
    for (int k = 0; k < 4; k++) {
        char c = *ps->p++;
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return fail(ps, "bad \\u escape");
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parse a string at ps->p (which points at the opening quote). */
static int parse_string(struct fj_parser *ps, char **out, size_t *out_len)
{
    const char *q = ++ps->p;
    size_t cap = 0;
    /* The decoded text is never longer than the escaped text. */
    while (q < ps->end && *q != '"') {
        if (*q == '\\' && q + 1 < ps->end)
            q++;
        q++;
    }
    if (q >= ps->end)
        return fail(ps, "unterminated string");
    cap = (size_t)(q - ps->p) + 1;
    char *s = malloc(cap);
    if (s == NULL)
        return fail(ps, "out of memory");
    size_t n = 0;
    while (*ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) {
            free(s);
            return fail(ps, "control character in string");
        }
        if (c != '\\') {
            s[n++] = (char)c;
            ps->p++;
            continue;
        }
        ps->p++;
        char e = *ps->p++;
        unsigned cp, lo;
        switch (e) {
        case '"': s[n++] = '"'; break;
        case '\\': s[n++] = '\\'; break;
        case '/': s[n++] = '/'; break;
        case 'b': s[n++] = '\b'; break;
        case 'f': s[n++] = '\f'; break;
        case 'n': s[n++] = '\n'; break;
        case 'r': s[n++] = '\r'; break;
        case 't': s[n++] = '\t'; break;
        case 'u':
            if (hex4(ps, &cp) != 0) {
                free(s);
                return -1;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                    free(s);
                    return fail(ps, "unpaired surrogate in \\u escape");
                }
                ps->p += 2;
                if (hex4(ps, &lo) != 0) {
                    free(s);
                    return -1;
                }
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    free(s);
                    return fail(ps, "unpaired surrogate in \\u escape");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                free(s);
                return fail(ps, "unpaired surrogate in \\u escape");
            }
            n += put_utf8(s + n, cp);
            break;
        default:
            free(s);
            ps->p--;
            return fail(ps, "bad escape in string");
        }
    }
    ps->p++;
    s[n] = '\0';
    *out = s;
    *out_len = n;
    return 0;
}

static int parse_number(struct fj_parser *ps, struct fj_value *v)
{
    const char *b = ps->p;
    const char *q = b;
    int is_int = 1;
    if (q < ps->end && *q == '-')
        q++;
    if (q >= ps->end || *q < '0' || *q > '9')
        return fail(ps, "bad number");
    if (*q == '0' && q + 1 < ps->end && q[1] >= '0' && q[1] <= '9')
        return fail(ps, "leading zero in number");
    while (q < ps->end && *q >= '0' && *q <= '9')
        q++;
    if (q < ps->end && *q == '.') {
        is_int = 0;
        q++;
        if (q >= ps->end || *q < '0' || *q > '9')
            return fail(ps, "bad number");
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        is_int = 0;
        q++;
        if (q < ps->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= ps->end || *q < '0' || *q > '9')
            return fail(ps, "bad number");
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    char tmp[64];
    size_t n = (size_t)(q - b);
    if (n >= sizeof tmp)
        return fail(ps, "number too long");
    memcpy(tmp, b, n);
    tmp[n] = '\0';
    v->type = FJ_NUM;
    v->d = strtod(tmp, NULL);
    v->is_int = 0;
    if (is_int) {
        /* Exact int64 without relying on strtoll's long width. */
        int neg = tmp[0] == '-';
        uint64_t acc = 0, lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
        int ok = 1;
        for (const char *c = tmp + neg; *c; c++) {
            uint64_t dgt = (uint64_t)(*c - '0');
            if (acc > (lim - dgt) / 10) {
                ok = 0;
                break;
            }
            acc = acc * 10 + dgt;
        }
        if (ok) {
            v->is_int = 1;
            v->i = neg ? (acc == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)acc)
                       : (int64_t)acc;
        }
    }
    ps->p = q;
    return 0;
}

static int parse_value(struct fj_parser *ps, struct fj_value *v, int depth);

static int parse_array(struct fj_parser *ps, struct fj_value *v, int depth)
{
    size_t cap = 0;
    ps->p++;
    v->type = FJ_ARR;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return 0;
    }
    for (;;) {
        if (v->len == cap) {
            size_t nc = cap ? cap * 2 : 4;
            struct fj_value *ni = realloc(v->items, nc * sizeof *ni);
            if (ni == NULL)
                return fail(ps, "out of memory");
            v->items = ni;
            cap = nc;
        }
        struct fj_value *it = &v->items[v->len];
        memset(it, 0, sizeof *it);
        v->len++;
        if (parse_value(ps, it, depth + 1) != 0)
            return -1;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return 0;
        }
        return fail(ps, "expected ',' or ']' in array");
    }
}

static int parse_object(struct fj_parser *ps, struct fj_value *v, int depth)
{
    size_t cap = 0;
    ps->p++;
    v->type = FJ_OBJ;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return 0;
    }
    for (;;) {
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '"')
            return fail(ps, "expected a member name in quotes");
        if (v->len == cap) {
            size_t nc = cap ? cap * 2 : 4;
            struct fj_member *nm = realloc(v->members, nc * sizeof *nm);
            if (nm == NULL)
                return fail(ps, "out of memory");
            v->members = nm;
            cap = nc;
        }
        struct fj_member *m = &v->members[v->len];
        memset(m, 0, sizeof *m);
        v->len++;
        size_t klen;
        const char *kpos = ps->p;
        if (parse_string(ps, &m->key, &klen) != 0)
            return -1;
        for (size_t k = 0; k + 1 < v->len; k++) {
            if (strcmp(v->members[k].key, m->key) == 0) {
                char msg[160];
                snprintf(msg, sizeof msg, "duplicate member \"%.100s\"", m->key);
                ps->p = kpos;
                return fail(ps, msg);
            }
        }
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':')
            return fail(ps, "expected ':' after member name");
        ps->p++;
        if (parse_value(ps, &m->val, depth + 1) != 0)
            return -1;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            return 0;
        }
        return fail(ps, "expected ',' or '}' in object");
    }
}

static int match_word(struct fj_parser *ps, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, w, n) == 0) {
        ps->p += n;
        return 1;
    }
    return 0;
}

static int parse_value(struct fj_parser *ps, struct fj_value *v, int depth)
{
    if (depth > FJ_MAX_DEPTH)
        return fail(ps, "nesting deeper than 64 levels");
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, "unexpected end of text");
    switch (*ps->p) {
    case '{': return parse_object(ps, v, depth);
    case '[': return parse_array(ps, v, depth);
    case '"':
        v->type = FJ_STR;
        return parse_string(ps, &v->s, &v->len);
    case 't':
        if (!match_word(ps, "true"))
            return fail(ps, "unexpected character");
        v->type = FJ_BOOL;
        v->b = 1;
        return 0;
    case 'f':
        if (!match_word(ps, "false"))
            return fail(ps, "unexpected character");
        v->type = FJ_BOOL;
        v->b = 0;
        return 0;
    case 'n':
        if (!match_word(ps, "null"))
            return fail(ps, "unexpected character");
        v->type = FJ_NULL;
        return 0;
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
            return parse_number(ps, v);
        return fail(ps, "unexpected character");
    }
}

int fj_parse(const char *text, size_t len, struct fj_value *out, char *err, size_t err_len)
{
    struct fj_parser ps = {text, text, text + len, err, err_len, 0};
    memset(out, 0, sizeof *out);
    if (parse_value(&ps, out, 0) != 0) {
        fj_free(out);
        return -1;
    }
    skip_ws(&ps);
    if (ps.p != ps.end) {
        fail(&ps, "extra text after the JSON value");
        fj_free(out);
        return -1;
    }
    return 0;
}

void fj_free(struct fj_value *v)
{
    if (v == NULL)
        return;
    if (v->type == FJ_STR) {
        free(v->s);
    } else if (v->type == FJ_ARR) {
        for (size_t k = 0; k < v->len; k++)
            fj_free(&v->items[k]);
        free(v->items);
    } else if (v->type == FJ_OBJ) {
        for (size_t k = 0; k < v->len; k++) {
            free(v->members[k].key);
            fj_free(&v->members[k].val);
        }
        free(v->members);
    }
    memset(v, 0, sizeof *v);
}

const struct fj_value *fj_get(const struct fj_value *obj, const char *key)
{
    if (obj == NULL || obj->type != FJ_OBJ)
        return NULL;
    for (size_t k = 0; k < obj->len; k++)
        if (strcmp(obj->members[k].key, key) == 0)
            return &obj->members[k].val;
    return NULL;
}

const char *fj_type_name(int type)
{
    switch (type) {
    case FJ_OBJ: return "object";
    case FJ_ARR: return "array";
    case FJ_STR: return "string";
    case FJ_NUM: return "number";
    case FJ_BOOL: return "boolean";
    default: return "null";
    }
}
