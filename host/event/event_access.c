/*
 * event_access: the plugin-facing event accessors (see event_access.h).
 *
 * Plugins always see UTF-8 strings, but converting every string of every
 * event up front would waste the work for the many events no plugin looks
 * into.  A STRING property is therefore converted the first time a plugin
 * reads it; the converted copy (in the event arena) replaces the recorded
 * bytes in the property, marked PROP_ENC_UTF8_OK, so later reads and the
 * JSON writer reuse it.  The JSON text is identical either way.
 */
#include "event_access.h"

#include <limits.h>
#include <string.h>

#include "../core/err.h"
#include "../core/mem.h"
#include "../core/text.h"
#include "event.h"

/* The handle plugins hold is the host's struct event (event.h). */
static inline struct event *EV(const etwhost_event *e)
{
    return (struct event *)(uintptr_t)e;
}

static etwhost_status status_of(int rc)
{
    switch (rc) {
    case 0: return ETWHOST_OK;
    case ERR_NOMEM: return ETWHOST_ERR_NOMEM;
    case ERR_RANGE: return ETWHOST_ERR_RANGE;
    case ERR_TYPE: return ETWHOST_ERR_TYPE;
    case ERR_NOTFOUND: return ETWHOST_ERR_NOTFOUND;
    case ERR_STATE: return ETWHOST_ERR_STATE;
    default: return ETWHOST_ERR;
    }
}

static inline int props_ready(const struct event *ev)
{
    return ev->hdr.decode_status != ETWHOST_DECODE_PENDING;
}

/* Convert a STRING property to checked, NUL-terminated UTF-8 in the arena (once). */
static etwhost_status prop_utf8(struct event *ev, etwhost_prop *p)
{
    if (p->type != ETWHOST_PT_STRING || p->reserved == PROP_ENC_UTF8_OK)
        return ETWHOST_OK;
    const uint8_t *d = p->data;
    size_t n = d ? p->size : 0;
    size_t cap = p->reserved == PROP_ENC_UTF16 ? text_utf16_to_utf8_max(n) : 3 * n;
    if (ev->arena == NULL)
        return ETWHOST_ERR_NOMEM;
    char *dst = arena_alloc(ev->arena, cap + 1);
    if (dst == NULL)
        return ETWHOST_ERR_NOMEM;
    size_t len = 0;
    if (n > 0) {
        if (p->reserved == PROP_ENC_UTF16)
            len = text_utf16_to_utf8(dst, d, n);
        else if (p->reserved == PROP_ENC_ANSI)
            len = text_ansi_to_utf8(dst, d, n);
        else
            len = text_utf8_repair(dst, d, n);
    }
    if (len > UINT32_MAX)
        return ETWHOST_ERR_RANGE;
    dst[len] = '\0';
    p->data = (const uint8_t *)dst;
    p->size = (uint32_t)len;
    p->reserved = PROP_ENC_UTF8_OK;
    return ETWHOST_OK;
}

/* Copy props[index] into a caller struct of out->struct_size bytes. */
static etwhost_status copy_prop(struct event *ev, uint32_t index, etwhost_prop *out)
{
    if (out == NULL || out->struct_size < sizeof(uint32_t))
        return ETWHOST_ERR;
    etwhost_prop *p = &ev->props[index];
    etwhost_status st = prop_utf8(ev, p);
    if (st != ETWHOST_OK)
        return st;
    etwhost_prop tmp = *p;
    size_t n = out->struct_size < sizeof tmp ? out->struct_size : sizeof tmp;
    tmp.struct_size = (uint32_t)n;
    tmp.reserved = 0;
    tmp.reserved2 = 0;
    memcpy(out, &tmp, n);
    return ETWHOST_OK;
}

const etwhost_event_header *ETWHOST_CALL evapi_header(const etwhost_event *ev)
{
    return &EV(ev)->hdr;
}

uint32_t ETWHOST_CALL evapi_prop_count(const etwhost_event *ev)
{
    const struct event *e = EV(ev);
    return props_ready(e) ? e->nprops : 0;
}

etwhost_status ETWHOST_CALL evapi_prop_at(const etwhost_event *ev, uint32_t index,
                                          etwhost_prop *out)
{
    struct event *e = EV(ev);
    if (!props_ready(e))
        return ETWHOST_ERR_STATE;
    if (index >= e->nprops)
        return ETWHOST_ERR_NOTFOUND;
    return copy_prop(e, index, out);
}

/* ---- Paths ------------------------------------------------------------- */

static inline uint32_t first_child(const struct event *ev, uint32_t parent)
{
    if (parent == ETWHOST_NONE)
        return ev->nprops > 0 ? 0 : ETWHOST_NONE;
    return ev->props[parent].count > 0 ? parent + 1 : ETWHOST_NONE;
}

static inline int name_is(const etwhost_prop *p, const char *s, size_t n)
{
    return p->name_len == n && memcmp(p->name, s, n) == 0;
}

/*
 * Member 'name' of struct 'parent' (ETWHOST_NONE: top level).  When no
 * member has that exact name, "base_k" (k >= 2) selects the k-th member
 * named "base", matching the names the JSON line gives repeats.
 */
static uint32_t find_member(const struct event *ev, uint32_t parent, const char *name,
                            size_t n)
{
    uint32_t first = first_child(ev, parent);
    for (uint32_t j = first; j < ev->nprops; j = ev->props[j].next)
        if (name_is(&ev->props[j], name, n))
            return j;
    size_t us = n;
    while (us > 0 && name[us - 1] >= '0' && name[us - 1] <= '9')
        us--;
    if (us == n || us < 2 || name[us - 1] != '_' || n - us > 9)
        return ETWHOST_NONE;
    uint32_t k = 0;
    for (size_t i = us; i < n; i++)
        k = k * 10 + (uint32_t)(name[i] - '0');
    if (k < 2)
        return ETWHOST_NONE;
    uint32_t seen = 0;
    for (uint32_t j = first; j < ev->nprops; j = ev->props[j].next)
        if (name_is(&ev->props[j], name, us - 1) && ++seen == k)
            return j;
    return ETWHOST_NONE;
}

static int find_path(const struct event *ev, const char *path, size_t len, uint32_t *out)
{
    if (path == NULL)
        return ERR_INVAL;
    size_t pos = 0;
    uint32_t cur = ETWHOST_NONE;
    for (;;) {
        size_t start = pos;
        while (pos < len && path[pos] != '.' && path[pos] != '[')
            pos++;
        if (pos == start)
            return ERR_INVAL;
        if (cur != ETWHOST_NONE && ev->props[cur].type != ETWHOST_PT_STRUCT)
            return ERR_TYPE;
        cur = find_member(ev, cur, path + start, pos - start);
        if (cur == ETWHOST_NONE)
            return ERR_NOTFOUND;
        while (pos < len && path[pos] == '[') {
            uint64_t k = 0;
            size_t d = ++pos;
            while (pos < len && path[pos] >= '0' && path[pos] <= '9' && pos - d < 10)
                k = k * 10 + (uint64_t)(path[pos++] - '0');
            if (pos == d || pos >= len || path[pos] != ']')
                return ERR_INVAL;
            pos++;
            const etwhost_prop *a = &ev->props[cur];
            if (a->type != ETWHOST_PT_ARRAY)
                return ERR_TYPE;
            if (k >= a->count)
                return ERR_NOTFOUND;
            uint32_t j = first_child(ev, cur);
            for (uint64_t step = 0; step < k && j < ev->nprops; step++)
                j = ev->props[j].next;
            if (j >= ev->nprops)
                return ERR_NOTFOUND;
            cur = j;
        }
        if (pos == len) {
            *out = cur;
            return 0;
        }
        if (path[pos] != '.' || ++pos == len)
            return ERR_INVAL;
    }
}

/* Resolve a path for the getters; status, and the live property on success. */
static etwhost_status lookup(const etwhost_event *ev, const char *path, size_t len,
                             etwhost_prop **out)
{
    struct event *e = EV(ev);
    if (!props_ready(e))
        return ETWHOST_ERR_STATE;
    uint32_t idx;
    int rc = find_path(e, path, len, &idx);
    if (rc)
        return status_of(rc);
    *out = &e->props[idx];
    return ETWHOST_OK;
}

etwhost_status ETWHOST_CALL evapi_prop_find(const etwhost_event *ev, const char *path,
                                            size_t path_len, etwhost_prop *out)
{
    etwhost_prop *p = NULL;
    etwhost_status st = lookup(ev, path, path_len, &p);
    if (st != ETWHOST_OK)
        return st;
    return copy_prop(EV(ev), (uint32_t)(p - EV(ev)->props), out);
}

/* ---- Typed getters ---------------------------------------------------------- */

/* Integer view of p: *neg set for negative signed values, *mag the value's bits. */
static etwhost_status int_view(const etwhost_prop *p, int64_t *sv, uint64_t *uv, int *is_signed)
{
    if (event_type_is_int(p->type)) {
        *is_signed = event_type_is_signed(p->type);
        if (*is_signed)
            *sv = event_prop_signed(p);
        else
            *uv = event_prop_bits(p);
        return ETWHOST_OK;
    }
    switch (p->type) {
    case ETWHOST_PT_BOOL:
        *is_signed = 0;
        *uv = p->num.u != 0;
        return ETWHOST_OK;
    case ETWHOST_PT_POINTER:
        *is_signed = 0;
        *uv = p->num.u;
        return ETWHOST_OK;
    case ETWHOST_PT_FILETIME:
    case ETWHOST_PT_SYSTEMTIME:
        *is_signed = 1;
        *sv = p->num.i;
        return ETWHOST_OK;
    default:
        return ETWHOST_ERR_TYPE;
    }
}

static const char *path_or_empty(const char *path, size_t *len)
{
    *len = path ? strlen(path) : 0;
    return path;
}

etwhost_status ETWHOST_CALL evapi_get_i64(const etwhost_event *ev, const char *path,
                                          int64_t *out)
{
    size_t len;
    etwhost_prop *p = NULL;
    path = path_or_empty(path, &len);
    etwhost_status st = lookup(ev, path, len, &p);
    if (st != ETWHOST_OK)
        return st;
    int64_t sv = 0;
    uint64_t uv = 0;
    int sg = 0;
    st = int_view(p, &sv, &uv, &sg);
    if (st != ETWHOST_OK)
        return st;
    if (!sg) {
        if (uv > (uint64_t)INT64_MAX)
            return ETWHOST_ERR_RANGE;
        sv = (int64_t)uv;
    }
    if (out)
        *out = sv;
    return ETWHOST_OK;
}

etwhost_status ETWHOST_CALL evapi_get_u64(const etwhost_event *ev, const char *path,
                                          uint64_t *out)
{
    size_t len;
    etwhost_prop *p = NULL;
    path = path_or_empty(path, &len);
    etwhost_status st = lookup(ev, path, len, &p);
    if (st != ETWHOST_OK)
        return st;
    int64_t sv = 0;
    uint64_t uv = 0;
    int sg = 0;
    st = int_view(p, &sv, &uv, &sg);
    if (st != ETWHOST_OK)
        return st;
    if (sg) {
        if (sv < 0)
            return ETWHOST_ERR_RANGE;
        uv = (uint64_t)sv;
    }
    if (out)
        *out = uv;
    return ETWHOST_OK;
}

etwhost_status ETWHOST_CALL evapi_get_f64(const etwhost_event *ev, const char *path,
                                          double *out)
{
    size_t len;
    etwhost_prop *p = NULL;
    path = path_or_empty(path, &len);
    etwhost_status st = lookup(ev, path, len, &p);
    if (st != ETWHOST_OK)
        return st;
    double v;
    if (p->type == ETWHOST_PT_F64) {
        v = p->num.f;
    } else if (p->type == ETWHOST_PT_F32) {
        v = (double)(float)p->num.f;
    } else {
        int64_t sv = 0;
        uint64_t uv = 0;
        int sg = 0;
        st = int_view(p, &sv, &uv, &sg);
        if (st != ETWHOST_OK)
            return st;
        v = sg ? (double)sv : (double)uv;
    }
    if (out)
        *out = v;
    return ETWHOST_OK;
}

/*
 * Undo the escapes of a JSON string body in place.  Only the forms the JSON
 * writer produces occur: \" \\ \b \f \n \r \t and \u00XX.
 */
static size_t unescape_in_place(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 >= n) {
            s[o++] = s[i];
            continue;
        }
        char c = s[++i];
        switch (c) {
        case 'b': s[o++] = '\b'; break;
        case 'f': s[o++] = '\f'; break;
        case 'n': s[o++] = '\n'; break;
        case 'r': s[o++] = '\r'; break;
        case 't': s[o++] = '\t'; break;
        case 'u':
            if (i + 4 < n) {
                unsigned v = 0;
                for (int k = 1; k <= 4; k++) {
                    char h = s[i + (size_t)k];
                    v = v * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
                }
                s[o++] = (char)v;
                i += 4;
            }
            break;
        default: s[o++] = c; break;
        }
    }
    return o;
}

etwhost_status ETWHOST_CALL evapi_get_str(const etwhost_event *ev, const char *path,
                                          const char **out, size_t *len)
{
    size_t plen;
    etwhost_prop *p = NULL;
    path = path_or_empty(path, &plen);
    etwhost_status st = lookup(ev, path, plen, &p);
    if (st != ETWHOST_OK)
        return st;
    struct event *e = EV(ev);
    const char *text;
    size_t n;
    if (p->type == ETWHOST_PT_STRUCT || p->type == ETWHOST_PT_ARRAY)
        return ETWHOST_ERR_TYPE;
    if (p->map_text != NULL) {
        text = p->map_text;
        n = strlen(text);
    } else if (p->type == ETWHOST_PT_STRING) {
        st = prop_utf8(e, p);
        if (st != ETWHOST_OK)
            return st;
        text = (const char *)p->data;
        n = p->size;
    } else {
        char *buf = e->arena ? arena_alloc(e->arena, event_json_scalar_bound(p) + 1) : NULL;
        if (buf == NULL)
            return ETWHOST_ERR_NOMEM;
        n = event_json_scalar_to(buf, e, p);
        if (n >= 2 && buf[0] == '"') {
            n = unescape_in_place(buf + 1, n - 2);
            buf++;
        }
        buf[n] = '\0';
        text = buf;
    }
    if (out)
        *out = text;
    if (len)
        *len = n;
    return ETWHOST_OK;
}

/* ---- JSON, raw payload, fields ---------------------------------------------- */

etwhost_status ETWHOST_CALL evapi_json(const etwhost_event *ev, const char **out, size_t *len)
{
    struct event *e = EV(ev);
    const struct buf *b = event_json(e);
    if (b == NULL)
        return ETWHOST_ERR_NOMEM;
    const char *s = buf_cstr(&e->json);
    if (s == NULL)
        return ETWHOST_ERR_NOMEM;
    if (out)
        *out = s;
    if (len)
        *len = e->json.len;
    return ETWHOST_OK;
}

etwhost_status ETWHOST_CALL evapi_raw(const etwhost_event *ev, const uint8_t **out, size_t *len)
{
    static const uint8_t empty[1] = {0};
    const struct event *e = EV(ev);
    const uint8_t *d = empty;
    size_t n = 0;
    if (e->rec != NULL && e->rec->data != NULL) {
        d = e->rec->data;
        n = e->rec->data_len;
    }
    if (out)
        *out = d;
    if (len)
        *len = n;
    return ETWHOST_OK;
}

static etwhost_status add_field(struct event *e, const char *name, const char *str,
                                size_t str_len, int64_t i)
{
    if (name == NULL || name[0] == '\0')
        return ETWHOST_ERR;
    if (e->arena == NULL)
        return ETWHOST_ERR_NOMEM;
    if (e->nfields >= e->fields_cap) {
        size_t cap = e->fields_cap;
        if (e->nfields >= UINT32_MAX / 2 ||
            mem_grow(&e->fields, &cap, (size_t)e->nfields + 1, sizeof *e->fields) != 0)
            return ETWHOST_ERR_NOMEM;
        e->fields_cap = cap > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)cap;
    }
    const char *n = arena_dup(e->arena, name, strlen(name), 1);
    const char *v = str ? arena_dup(e->arena, str, str_len, 1) : NULL;
    if (n == NULL || (str != NULL && v == NULL))
        return ETWHOST_ERR_NOMEM;
    struct event_field *f = &e->fields[e->nfields++];
    f->name = n;
    f->str = v;
    f->str_len = str ? str_len : 0;
    f->i = i;
    event_json_invalidate(e);
    return ETWHOST_OK;
}

etwhost_status ETWHOST_CALL evapi_add_str(const etwhost_event *ev, const char *name,
                                          const char *value, size_t value_len)
{
    if (value == NULL && value_len > 0)
        return ETWHOST_ERR;
    return add_field(EV(ev), name, value ? value : "", value_len, 0);
}

etwhost_status ETWHOST_CALL evapi_add_i64(const etwhost_event *ev, const char *name,
                                          int64_t value)
{
    return add_field(EV(ev), name, NULL, 0, value);
}
