/*
 * kafka_json: flat JSON object reader for the "rdkafka" settings (see
 * kafka_json.h).
 */
#include "kafka_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rd {
    const char *p, *end;
};

static void skip_ws(struct rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int read_hex4(struct rd *r, unsigned *out)
{
    unsigned v = 0;
    if (r->end - r->p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        int h = hexval(r->p[i]);
        if (h < 0)
            return -1;
        v = v << 4 | (unsigned)h;
    }
    r->p += 4;
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
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Read a string at r->p (at the opening quote) into a malloc'd buffer. */
static char *read_string(struct rd *r)
{
    if (r->p >= r->end || *r->p != '"')
        return NULL;
    r->p++;
    char *o = malloc((size_t)(r->end - r->p) + 1), *w = o;
    if (o == NULL)
        return NULL;
    while (r->p < r->end && *r->p != '"') {
        char c = *r->p++;
        if ((unsigned char)c < 0x20)
            goto bad;
        if (c != '\\') {
            *w++ = c;
            continue;
        }
        if (r->p >= r->end)
            goto bad;
        c = *r->p++;
        switch (c) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '/': *w++ = '/'; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case 't': *w++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (read_hex4(r, &cp))
                goto bad;
            if (cp >= 0xD800 && cp < 0xDC00) {
                if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u')
                    goto bad;
                r->p += 2;
                if (read_hex4(r, &lo) || lo < 0xDC00 || lo >= 0xE000)
                    goto bad;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                goto bad;
            }
            if (cp == 0)
                goto bad; /* would cut the C string */
            w += put_utf8(w, cp);
            break;
        }
        default: goto bad;
        }
    }
    if (r->p >= r->end)
        goto bad;
    r->p++;
    *w = '\0';
    return o;
bad:
    free(o);
    return NULL;
}

int kjson_each_member(const char *json, size_t len, kjson_member_fn fn, void *ctx, char *err,
                      size_t err_len)
{
    struct rd r = {json, json + len};
    char *key = NULL, *val = NULL;
    int rc = -1;
    skip_ws(&r);
    if (r.p >= r.end || *r.p != '{') {
        snprintf(err, err_len, "\"rdkafka\" must be an object of librdkafka properties");
        return -1;
    }
    r.p++;
    skip_ws(&r);
    if (r.p < r.end && *r.p == '}')
        return 0;
    for (;;) {
        skip_ws(&r);
        key = read_string(&r);
        if (key == NULL) {
            snprintf(err, err_len, "\"rdkafka\": malformed member name");
            goto out;
        }
        skip_ws(&r);
        if (r.p >= r.end || *r.p != ':') {
            snprintf(err, err_len, "\"rdkafka\": expected ':' after \"%s\"", key);
            goto out;
        }
        r.p++;
        skip_ws(&r);
        if (r.p < r.end && *r.p == '"') {
            val = read_string(&r);
        } else {
            const char *s = r.p;
            while (r.p < r.end && *r.p != ',' && *r.p != '}' && *r.p != ' ' && *r.p != '\t' &&
                   *r.p != '\n' && *r.p != '\r')
                r.p++;
            size_t n = (size_t)(r.p - s);
            int ok = n > 0 && ((n == 4 && memcmp(s, "true", 4) == 0) ||
                               (n == 5 && memcmp(s, "false", 5) == 0));
            if (!ok && n > 0) {
                ok = 1;
                for (size_t i = 0; i < n; i++)
                    if (!strchr("0123456789+-.eE", s[i]))
                        ok = 0;
            }
            if (!ok) {
                snprintf(err, err_len,
                         "\"rdkafka\".\"%s\": value must be a string, number or boolean", key);
                goto out;
            }
            val = malloc(n + 1);
            if (val) {
                memcpy(val, s, n);
                val[n] = '\0';
            }
        }
        if (val == NULL) {
            snprintf(err, err_len, "\"rdkafka\".\"%s\": malformed value", key);
            goto out;
        }
        int cb = fn(ctx, key, val, err, err_len);
        if (cb != 0) {
            rc = cb;
            goto out;
        }
        free(key);
        free(val);
        key = val = NULL;
        skip_ws(&r);
        if (r.p < r.end && *r.p == ',') {
            r.p++;
            continue;
        }
        if (r.p < r.end && *r.p == '}') {
            rc = 0;
            goto out;
        }
        snprintf(err, err_len, "\"rdkafka\": expected ',' or '}'");
        goto out;
    }
out:
    free(key);
    free(val);
    return rc;
}
