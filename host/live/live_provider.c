/*
 * live_provider: provider specs, filter descriptor bytes and provider names
 * (see live_provider.h).
 */
#include "live_provider.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../config/config.h"
#include "../core/buf.h"
#include "../core/log.h"
#include "../core/mem.h"
#include "../schema/schema.h"

static int lc_ascii(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

void live_provider_init(struct live_provider *p)
{
    memset(p, 0, sizeof *p);
    p->level = LIVE_LEVEL_DEFAULT;
    p->match_any = LIVE_ANY_DEFAULT;
    p->event_ids_in = 1;
    p->event_names_in = 1;
    p->stack_ids_in = 1;
}

void live_provider_free(struct live_provider *p)
{
    if (p == NULL)
        return;
    mem_free(p->spec);
    mem_free(p->name);
    mem_free(p->exe);
    for (uint32_t i = 0; i < p->n_event_names; i++)
        mem_free(p->event_names[i]);
    mem_free(p->event_names);
    live_provider_init(p);
}

/* Set the identity from "Name" or "GUID" / "{GUID}". */
static int set_identity(struct live_provider *p, const char *s, size_t len, struct errbuf *eb)
{
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0)
        return errbuf_set(eb, ERR_CONFIG, "provider \"%s\": no name or GUID", p->spec);
    if (guid_parse(s, len, &p->guid) == 0) {
        p->has_guid = 1;
        p->sys = live_system_provider_find(NULL, &p->guid);
        return 0;
    }
    mem_free(p->name);
    p->name = mem_strndup(s, len);
    if (p->name == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    p->sys = live_system_provider_find(p->name, NULL);
    if (p->sys) {
        p->guid = p->sys->guid;
        p->has_guid = 1;
    }
    return 0;
}

/* Event ids "1,2,7-9", with a leading '!' meaning exclude. */
static int parse_ids(const struct live_provider *p, const char *s, size_t len, uint16_t *ids,
                     uint32_t *n, int *in, const char *what, struct errbuf *eb)
{
    *n = 0;
    *in = 1;
    if (len && s[0] == '!') {
        *in = 0;
        s++;
        len--;
    }
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != ',')
            j++;
        size_t dash = i;
        while (dash < j && s[dash] != '-')
            dash++;
        uint64_t a, b;
        if (live_parse_u64(s + i, dash - i, 65535, &a) ||
            (dash < j ? live_parse_u64(s + dash + 1, j - dash - 1, 65535, &b) : (b = a, 0)) ||
            b < a)
            return errbuf_set(eb, ERR_CONFIG,
                              "provider \"%s\": %s \"%.*s\" is not an id (0..65535) or a range a-b",
                              p->spec, what, (int)(j - i), s + i);
        for (uint64_t v = a; v <= b; v++) {
            if (*n >= LIVE_MAX_EVENT_FILTER_EVENT_ID_COUNT)
                return errbuf_set(eb, ERR_CONFIG,
                                  "provider \"%s\": more than %u %s (the ETW limit)", p->spec,
                                  LIVE_MAX_EVENT_FILTER_EVENT_ID_COUNT, what);
            ids[(*n)++] = (uint16_t)v;
        }
        i = j + 1;
    }
    if (*n == 0)
        return errbuf_set(eb, ERR_CONFIG, "provider \"%s\": empty %s list", p->spec, what);
    return 0;
}

/* A keyword mask: numbers and (system providers) keyword names joined by '|'. */
static int parse_keywords(const struct live_provider *p, const char *s, size_t len,
                          uint64_t *out, const char *what, struct errbuf *eb)
{
    uint64_t v = 0;
    size_t i = 0;
    if (len == 0)
        return errbuf_set(eb, ERR_CONFIG, "provider \"%s\": empty %s", p->spec, what);
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != '|')
            j++;
        uint64_t x;
        if (live_parse_u64(s + i, j - i, UINT64_MAX, &x) != 0 &&
            !(p->sys && live_bit_find(p->sys->keywords, p->sys->nkeywords, s + i, j - i,
                                      p->sys->kw_prefix, &x))) {
            if (p->sys)
                return errbuf_set(eb, ERR_CONFIG,
                                  "provider \"%s\": %s \"%.*s\" is neither a number nor a "
                                  "%s* keyword of %s",
                                  p->spec, what, (int)(j - i), s + i, p->sys->kw_prefix,
                                  p->sys->name);
            return errbuf_set(eb, ERR_CONFIG,
                              "provider \"%s\": %s \"%.*s\" is not a number (decimal or 0x hex)",
                              p->spec, what, (int)(j - i), s + i);
        }
        v |= x;
        i = j + 1;
    }
    *out = v;
    return 0;
}

static int parse_level(const struct live_provider *p, const char *s, size_t len, uint8_t *out,
                       struct errbuf *eb)
{
    if (live_level_parse(s, len, out) != 0)
        return errbuf_set(eb, ERR_CONFIG,
                          "provider \"%s\": level \"%.*s\" is not 0..255 or a level name "
                          "(critical, error, warning, info, verbose)",
                          p->spec, (int)len, s);
    return 0;
}

int live_provider_parse(const char *spec, struct live_provider *p, struct errbuf *eb)
{
    live_provider_init(p);
    p->spec = mem_strdup(spec);
    if (p->spec == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    const char *f[6];
    size_t fl[6], nf = 0;
    const char *s = spec;
    for (;;) {
        const char *c = strchr(s, ':');
        size_t l = c ? (size_t)(c - s) : strlen(s);
        if (nf == 5)
            return errbuf_set(eb, ERR_CONFIG,
                              "provider \"%s\": too many fields (Name|GUID[:Level[:EventIDs"
                              "[:MatchAnyKeyword[:MatchAllKeyword]]]])",
                              spec);
        f[nf] = s;
        fl[nf++] = l;
        if (c == NULL)
            break;
        s = c + 1;
    }
    int rc = set_identity(p, f[0], fl[0], eb);
    if (rc == 0 && nf > 1 && fl[1])
        rc = parse_level(p, f[1], fl[1], &p->level, eb);
    if (rc == 0 && nf > 2 && fl[2])
        rc = parse_ids(p, f[2], fl[2], p->event_ids, &p->n_event_ids, &p->event_ids_in,
                       "event ids", eb);
    if (rc == 0 && nf > 3 && fl[3])
        rc = parse_keywords(p, f[3], fl[3], &p->match_any, "MatchAnyKeyword", eb);
    if (rc == 0 && nf > 4 && fl[4])
        rc = parse_keywords(p, f[4], fl[4], &p->match_all, "MatchAllKeyword", eb);
    return rc;
}

/* ---- JSON form ---- */

static const char *const provider_keys[] = {
    "name", "guid", "level", "match_any_keyword", "match_all_keyword", "event_ids",
    "exclude_event_ids", "pids", "exe", "event_names", "exclude_event_names", "stack",
    "stack_event_ids", "stack_exclude_event_ids", "stack_level", "stack_match_any_keyword",
    "stack_match_all_keyword", "properties", NULL,
};

/* A number or a string, as text (numbers as decimal). */
static int json_text(const json_t *v, char *buf, size_t cap, const char **s, size_t *len)
{
    if (json_is_string(v)) {
        *s = json_string_value(v);
        *len = json_string_length(v);
        return 0;
    }
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        snprintf(buf, cap, "%" PRIu64, (uint64_t)json_integer_value(v));
        *s = buf;
        *len = strlen(buf);
        return 0;
    }
    return -1;
}

static int json_keywords(const struct cfg *cfg, const json_t *obj, const char *key,
                         struct live_provider *p, uint64_t *out, struct errbuf *eb)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    char nb[32];
    const char *s;
    size_t len;
    if (json_text(v, nb, sizeof nb, &s, &len))
        return cfg_err(cfg, obj, key, eb, ERR_CONFIG,
                       "\"%s\" must be a number or a string (\"0x10\", \"GENERAL|THREAD\")", key);
    int rc = parse_keywords(p, s, len, out, key, eb);
    if (rc)
        errbuf_prefix(eb, "%s: ", cfg_where(cfg, v));
    return rc;
}

static int json_ids(const struct cfg *cfg, const json_t *obj, const char *key,
                    const struct live_provider *p, uint16_t *ids, uint32_t *n,
                    struct errbuf *eb)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_array(v) || json_array_size(v) == 0)
        return cfg_err(cfg, obj, key, eb, ERR_CONFIG,
                       "\"%s\" must be a non-empty array of event ids", key);
    if (json_array_size(v) > LIVE_MAX_EVENT_FILTER_EVENT_ID_COUNT)
        return cfg_err(cfg, obj, key, eb, ERR_CONFIG,
                       "provider \"%s\": \"%s\" has %zu ids, ETW takes at most %u", p->spec, key,
                       json_array_size(v), LIVE_MAX_EVENT_FILTER_EVENT_ID_COUNT);
    size_t i;
    const json_t *e;
    *n = 0;
    json_array_foreach(v, i, e) {
        if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > 65535)
            return cfg_err(cfg, obj, key, eb, ERR_CONFIG,
                           "\"%s\" must hold event ids 0..65535", key);
        ids[(*n)++] = (uint16_t)json_integer_value(e);
    }
    return 0;
}

static int json_strings(const struct cfg *cfg, const json_t *obj, const char *key,
                        char ***out, uint32_t *n, struct errbuf *eb)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_array(v) || json_array_size(v) == 0)
        return cfg_err(cfg, obj, key, eb, ERR_CONFIG, "\"%s\" must be a non-empty array of "
                       "strings", key);
    char **a = mem_calloc(json_array_size(v), sizeof *a);
    if (a == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    *out = a;
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e) || json_string_length(e) == 0)
            return cfg_err(cfg, obj, key, eb, ERR_CONFIG, "\"%s\" must hold non-empty strings",
                           key);
        if ((a[i] = mem_strdup(json_string_value(e))) == NULL)
            return errbuf_set(eb, ERR_NOMEM, "out of memory");
        *n = (uint32_t)i + 1;
    }
    return 0;
}

static int json_object_provider(const struct cfg *cfg, const json_t *obj,
                                struct live_provider *p, struct errbuf *eb)
{
    int rc = cfg_check_keys(cfg, obj, provider_keys, "provider", eb);
    if (rc)
        return rc;
    const char *name, *guid;
    if ((rc = cfg_get_str(cfg, obj, "name", NULL, &name, eb)) ||
        (rc = cfg_get_str(cfg, obj, "guid", NULL, &guid, eb)))
        return rc;
    if (name == NULL && guid == NULL)
        return cfg_err(cfg, obj, NULL, eb, ERR_CONFIG, "a provider object needs \"name\" or "
                       "\"guid\"");
    p->spec = mem_strdup(guid ? guid : name);
    if (p->spec == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    if (guid) {
        if (guid_parse(guid, strlen(guid), &p->guid))
            return cfg_err(cfg, obj, "guid", eb, ERR_CONFIG, "\"guid\" is not a GUID: \"%s\"",
                           guid);
        p->has_guid = 1;
        p->sys = live_system_provider_find(NULL, &p->guid);
        if (name && (p->name = mem_strdup(name)) == NULL)
            return errbuf_set(eb, ERR_NOMEM, "out of memory");
    } else if ((rc = set_identity(p, name, strlen(name), eb)) != 0) {
        return rc;
    }
    const json_t *v = json_object_get(obj, "level");
    if (v) {
        char nb[32];
        const char *s;
        size_t len;
        if (json_text(v, nb, sizeof nb, &s, &len) || live_level_parse(s, len, &p->level))
            return cfg_err(cfg, obj, "level", eb, ERR_CONFIG,
                           "\"level\" must be 0..255 or critical, error, warning, info, verbose");
    }
    if ((rc = json_keywords(cfg, obj, "match_any_keyword", p, &p->match_any, eb)) ||
        (rc = json_keywords(cfg, obj, "match_all_keyword", p, &p->match_all, eb)))
        return rc;
    int inc = json_object_get(obj, "event_ids") != NULL;
    int exc = json_object_get(obj, "exclude_event_ids") != NULL;
    if (inc && exc)
        return cfg_err(cfg, obj, "exclude_event_ids", eb, ERR_CONFIG,
                       "\"event_ids\" and \"exclude_event_ids\" cannot both be set (ETW takes "
                       "one event id filter per provider)");
    if (inc || exc) {
        p->event_ids_in = inc;
        rc = json_ids(cfg, obj, inc ? "event_ids" : "exclude_event_ids", p, p->event_ids,
                      &p->n_event_ids, eb);
        if (rc)
            return rc;
    }
    v = json_object_get(obj, "pids");
    if (v) {
        if (!json_is_array(v) || json_array_size(v) == 0)
            return cfg_err(cfg, obj, "pids", eb, ERR_CONFIG, "\"pids\" must be a non-empty "
                           "array of process ids");
        if (json_array_size(v) > LIVE_MAX_EVENT_FILTER_PID_COUNT)
            return cfg_err(cfg, obj, "pids", eb, ERR_CONFIG,
                           "\"pids\" has %zu process ids, ETW takes at most %u",
                           json_array_size(v), LIVE_MAX_EVENT_FILTER_PID_COUNT);
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e) {
            if (!json_is_integer(e) || json_integer_value(e) < 0 ||
                json_integer_value(e) > 0xFFFFFFFFll)
                return cfg_err(cfg, obj, "pids", eb, ERR_CONFIG,
                               "\"pids\" must hold process ids 0..4294967295");
            p->pids[p->n_pids++] = (uint32_t)json_integer_value(e);
        }
    }
    v = json_object_get(obj, "exe");
    if (v) {
        struct buf b = BUF_INIT;
        int bad = 0;
        if (json_is_string(v) && json_string_length(v) > 0) {
            bad |= buf_append(&b, json_string_value(v), json_string_length(v));
        } else if (json_is_array(v) && json_array_size(v) > 0) {
            size_t i;
            const json_t *e;
            json_array_foreach(v, i, e) {
                if (!json_is_string(e) || json_string_length(e) == 0 ||
                    strchr(json_string_value(e), ';')) {
                    buf_free(&b);
                    return cfg_err(cfg, obj, "exe", eb, ERR_CONFIG,
                                   "\"exe\" must hold executable names without ';'");
                }
                if (i)
                    bad |= buf_putc(&b, ';');
                bad |= buf_append(&b, json_string_value(e), json_string_length(e));
            }
        } else {
            return cfg_err(cfg, obj, "exe", eb, ERR_CONFIG, "\"exe\" must be an executable "
                           "name or an array of them");
        }
        p->exe = bad ? NULL : buf_take(&b);
        buf_free(&b);
        if (p->exe == NULL)
            return errbuf_set(eb, ERR_NOMEM, "out of memory");
    }
    inc = json_object_get(obj, "event_names") != NULL;
    exc = json_object_get(obj, "exclude_event_names") != NULL;
    if (inc && exc)
        return cfg_err(cfg, obj, "exclude_event_names", eb, ERR_CONFIG,
                       "\"event_names\" and \"exclude_event_names\" cannot both be set");
    if (inc || exc) {
        p->event_names_in = inc;
        rc = json_strings(cfg, obj, inc ? "event_names" : "exclude_event_names",
                          &p->event_names, &p->n_event_names, eb);
        if (rc)
            return rc;
    }
    int stack;
    if ((rc = cfg_get_bool(cfg, obj, "stack", 0, &stack, eb)))
        return rc;
    if (stack)
        p->properties |= LIVE_PROP_STACK_TRACE;
    inc = json_object_get(obj, "stack_event_ids") != NULL;
    exc = json_object_get(obj, "stack_exclude_event_ids") != NULL;
    if (inc && exc)
        return cfg_err(cfg, obj, "stack_exclude_event_ids", eb, ERR_CONFIG,
                       "\"stack_event_ids\" and \"stack_exclude_event_ids\" cannot both be set");
    if (inc || exc) {
        p->stack_ids_in = inc;
        rc = json_ids(cfg, obj, inc ? "stack_event_ids" : "stack_exclude_event_ids", p,
                      p->stack_ids, &p->n_stack_ids, eb);
        if (rc)
            return rc;
        p->properties |= LIVE_PROP_STACK_TRACE;
    }
    if (json_object_get(obj, "stack_level") || json_object_get(obj, "stack_match_any_keyword") ||
        json_object_get(obj, "stack_match_all_keyword")) {
        p->stack_lkw = 1;
        p->stack_level = LIVE_LEVEL_DEFAULT;
        p->stack_any = LIVE_ANY_DEFAULT;
        v = json_object_get(obj, "stack_level");
        if (v) {
            char nb[32];
            const char *s;
            size_t len;
            if (json_text(v, nb, sizeof nb, &s, &len) || live_level_parse(s, len, &p->stack_level))
                return cfg_err(cfg, obj, "stack_level", eb, ERR_CONFIG,
                               "\"stack_level\" must be 0..255 or a level name");
        }
        if ((rc = json_keywords(cfg, obj, "stack_match_any_keyword", p, &p->stack_any, eb)) ||
            (rc = json_keywords(cfg, obj, "stack_match_all_keyword", p, &p->stack_all, eb)))
            return rc;
        p->properties |= LIVE_PROP_STACK_TRACE;
    }
    v = json_object_get(obj, "properties");
    if (v) {
        size_t np;
        const struct live_bit *props = live_enable_properties(&np);
        if (!json_is_array(v))
            return cfg_err(cfg, obj, "properties", eb, ERR_CONFIG,
                           "\"properties\" must be an array of names (sid, ts_id, stack_trace, "
                           "process_start_key, event_key, ...)");
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e) {
            uint64_t bit;
            if (!json_is_string(e) || !live_bit_find(props, np, json_string_value(e),
                                                     json_string_length(e),
                                                     "EVENT_ENABLE_PROPERTY_", &bit)) {
                const char *cands[16];
                size_t k = 0;
                for (; k < np && k < 15; k++)
                    cands[k] = props[k].name;
                cands[k] = NULL;
                const char *near =
                    json_is_string(e) ? cfg_suggest(json_string_value(e), cands) : NULL;
                return cfg_err(cfg, obj, "properties", eb, ERR_CONFIG,
                               "unknown enable property %s%s%s%s%s", json_is_string(e) ? "\"" : "",
                               json_is_string(e) ? json_string_value(e) : "(not a string)",
                               json_is_string(e) ? "\"" : "", near ? "; did you mean " : "",
                               near ? near : "");
            }
            p->properties |= (uint32_t)bit;
        }
    }
    return 0;
}

int live_provider_from_json(const struct cfg *cfg, const json_t *v, struct live_provider *p,
                            struct errbuf *eb)
{
    if (json_is_string(v)) {
        int rc = live_provider_parse(json_string_value(v), p, eb);
        if (rc && cfg_where(cfg, v)[0])
            errbuf_prefix(eb, "%s: ", cfg_where(cfg, v));
        return rc;
    }
    live_provider_init(p);
    if (!json_is_object(v))
        return errbuf_set(eb, ERR_CONFIG,
                          "%s%sa provider is a string \"Name[:Level[:EventIDs[:Any[:All]]]]\" or "
                          "an object",
                          cfg_where(cfg, v), cfg_where(cfg, v)[0] ? ": " : "");
    return json_object_provider(cfg, v, p, eb);
}

static int starts_nocase(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if (lc_ascii(*s) != lc_ascii(*prefix))
            return 0;
    return 1;
}

int live_provider_is_kernel(const struct live_provider *p)
{
    if (p->sys)
        return 1;
    if (p->has_guid && guid_eq(&p->guid, &live_system_trace_control_guid))
        return 1;
    return p->name && starts_nocase(p->name, "Microsoft-Windows-Kernel-");
}

void live_provider_describe(const struct live_provider *p, char *out, size_t cap)
{
    char g[37] = "?";
    if (p->has_guid)
        guid_format(&p->guid, g);
    int n = snprintf(out, cap, "%s {%s} level %u any 0x%" PRIx64 " all 0x%" PRIx64,
                     p->name ? p->name : "(unnamed)", g, p->level, p->match_any, p->match_all);
    size_t used = n > 0 ? (size_t)n : 0;
#define ADD(...)                                                                  \
    do {                                                                          \
        if (used < cap) {                                                         \
            int k_ = snprintf(out + used, cap - used, __VA_ARGS__);               \
            if (k_ > 0)                                                           \
                used += (size_t)k_;                                               \
        }                                                                         \
    } while (0)
    if (p->n_event_ids) {
        ADD(" %s", p->event_ids_in ? "ids" : "not-ids");
        for (uint32_t i = 0; i < p->n_event_ids; i++)
            ADD("%c%u", i ? ',' : ' ', p->event_ids[i]);
    }
    if (p->n_pids) {
        ADD(" pids");
        for (uint32_t i = 0; i < p->n_pids; i++)
            ADD("%c%u", i ? ',' : ' ', p->pids[i]);
    }
    if (p->exe)
        ADD(" exe %s", p->exe);
    if (p->n_event_names)
        ADD(" %s %u", p->event_names_in ? "names" : "not-names", p->n_event_names);
    if (p->properties)
        ADD(" properties 0x%x", p->properties);
    if (p->n_stack_ids)
        ADD(" stack-%s %u", p->stack_ids_in ? "ids" : "not-ids", p->n_stack_ids);
    if (p->stack_lkw)
        ADD(" stack-level %u", p->stack_level);
#undef ADD
}

/* ---- Filter descriptors ---- */

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Reserve n zeroed bytes at an 8-aligned offset of b; returns the offset or SIZE_MAX. */
static size_t reserve(struct buf *b, size_t n)
{
    size_t pad = (8 - (b->len & 7)) & 7;
    if (buf_reserve(b, pad + n))
        return SIZE_MAX;
    memset(b->p + b->len, 0, pad + n);
    b->len += pad;
    size_t at = b->len;
    b->len += n;
    return at;
}

/* EVENT_FILTER_EVENT_ID: {BOOLEAN FilterIn, UCHAR Reserved, USHORT Count, USHORT Events[]}. */
static size_t put_event_ids(struct buf *b, int in, const uint16_t *ids, uint32_t n,
                            uint32_t *size)
{
    *size = 4 + 2 * n;
    size_t at = reserve(b, *size);
    if (at == SIZE_MAX)
        return at;
    uint8_t *q = (uint8_t *)b->p + at;
    q[0] = in ? 1 : 0;
    put16(q + 2, n);
    for (uint32_t i = 0; i < n; i++)
        put16(q + 4 + 2 * i, ids[i]);
    return at;
}

/*
 * EVENT_FILTER_EVENT_NAME: {ULONGLONG MatchAnyKeyword, MatchAllKeyword; UCHAR Level;
 * BOOLEAN FilterIn; USHORT NameCount; UCHAR Names[]} with NUL-terminated UTF-8 names.
 */
static size_t put_event_names(struct buf *b, const struct live_provider *p, uint32_t *size)
{
    size_t n = 20;
    for (uint32_t i = 0; i < p->n_event_names; i++)
        n += strlen(p->event_names[i]) + 1;
    *size = (uint32_t)n;
    if (n > LIVE_MAX_EVENT_FILTER_EVENT_NAME_SIZE)
        return SIZE_MAX - 1;
    size_t at = reserve(b, n);
    if (at == SIZE_MAX)
        return at;
    uint8_t *q = (uint8_t *)b->p + at;
    put64(q, p->match_any);
    put64(q + 8, p->match_all);
    q[16] = p->level;
    q[17] = p->event_names_in ? 1 : 0;
    put16(q + 18, p->n_event_names);
    size_t o = 20;
    for (uint32_t i = 0; i < p->n_event_names; i++) {
        size_t l = strlen(p->event_names[i]) + 1;
        memcpy(q + o, p->event_names[i], l);
        o += l;
    }
    return at;
}

/* UTF-8 to UTF-16LE code units (invalid bytes become U+FFFD); returns units written or needed. */
static size_t utf8_to_utf16(const char *s, uint8_t *out, size_t cap_units)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    while (*p) {
        uint32_t c = *p++, need = 0;
        if (c >= 0xF0 && c < 0xF8) { c &= 7; need = 3; }
        else if (c >= 0xE0) { c &= 0xF; need = 2; }
        else if (c >= 0xC0) { c &= 0x1F; need = 1; }
        else if (c >= 0x80) c = 0xFFFD;
        for (; need; need--) {
            if ((*p & 0xC0) != 0x80) {
                c = 0xFFFD;
                break;
            }
            c = c << 6 | (*p++ & 0x3F);
        }
        if (c > 0x10FFFF)
            c = 0xFFFD;
        if (c >= 0x10000) {
            if (out && n + 2 <= cap_units) {
                put16(out + 2 * n, 0xD800 + ((c - 0x10000) >> 10));
                put16(out + 2 * n + 2, 0xDC00 + ((c - 0x10000) & 0x3FF));
            }
            n += 2;
        } else {
            if (out && n + 1 <= cap_units)
                put16(out + 2 * n, c);
            n++;
        }
    }
    return n;
}

int live_filters_build(const struct live_provider *p, struct live_filters *f, struct errbuf *eb)
{
    memset(f, 0, sizeof *f);
    struct buf b = BUF_INIT;
    size_t offs[LIVE_MAX_EVENT_FILTERS_COUNT];
    size_t at;
    uint32_t size;
#define CHECK_AT()                                                          \
    do {                                                                    \
        if (at == SIZE_MAX) {                                               \
            buf_free(&b);                                                   \
            return errbuf_set(eb, ERR_NOMEM, "out of memory");              \
        }                                                                   \
    } while (0)
#define ADD_DESC(t)                                                         \
    do {                                                                    \
        offs[f->n] = at;                                                    \
        f->d[f->n].size = size;                                             \
        f->d[f->n].type = (t);                                              \
        f->n++;                                                             \
    } while (0)
    if (p->n_event_ids) {
        at = put_event_ids(&b, p->event_ids_in, p->event_ids, p->n_event_ids, &size);
        CHECK_AT();
        ADD_DESC(LIVE_FILTER_EVENT_ID);
    }
    if (p->n_pids) {
        size = 4 * p->n_pids;
        at = reserve(&b, size);
        CHECK_AT();
        for (uint32_t i = 0; i < p->n_pids; i++)
            put32((uint8_t *)b.p + at + 4 * i, p->pids[i]);
        ADD_DESC(LIVE_FILTER_PID);
    }
    if (p->exe) {
        size_t units = utf8_to_utf16(p->exe, NULL, 0) + 1;
        if (units * 2 > LIVE_MAX_EVENT_FILTER_DATA_SIZE) {
            buf_free(&b);
            return errbuf_set(eb, ERR_CONFIG,
                              "provider \"%s\": the executable list \"%s\" takes %zu bytes as "
                              "UTF-16, ETW takes at most %u",
                              p->spec, p->exe, units * 2, LIVE_MAX_EVENT_FILTER_DATA_SIZE);
        }
        size = (uint32_t)(units * 2);
        at = reserve(&b, size);
        CHECK_AT();
        utf8_to_utf16(p->exe, (uint8_t *)b.p + at, units);
        ADD_DESC(LIVE_FILTER_EXECUTABLE_NAME);
    }
    if (p->n_event_names) {
        at = put_event_names(&b, p, &size);
        if (at == SIZE_MAX - 1) {
            buf_free(&b);
            return errbuf_set(eb, ERR_CONFIG,
                              "provider \"%s\": the event name filter takes %u bytes, ETW takes "
                              "at most %u",
                              p->spec, size, LIVE_MAX_EVENT_FILTER_EVENT_NAME_SIZE);
        }
        CHECK_AT();
        ADD_DESC(LIVE_FILTER_EVENT_NAME);
    }
    if (p->n_stack_ids) {
        at = put_event_ids(&b, p->stack_ids_in, p->stack_ids, p->n_stack_ids, &size);
        CHECK_AT();
        ADD_DESC(LIVE_FILTER_STACKWALK);
    }
    if (p->stack_lkw) {
        /* EVENT_FILTER_LEVEL_KW: {ULONGLONG Any, All; UCHAR Level; BOOLEAN FilterIn}, 24 bytes. */
        size = 24;
        at = reserve(&b, size);
        CHECK_AT();
        uint8_t *q = (uint8_t *)b.p + at;
        put64(q, p->stack_any);
        put64(q + 8, p->stack_all);
        q[16] = p->stack_level;
        q[17] = 1;
        ADD_DESC(LIVE_FILTER_STACKWALK_LEVEL_KW);
    }
#undef CHECK_AT
#undef ADD_DESC
    f->len = b.len;
    f->mem = (uint8_t *)buf_take(&b);
    if (f->n && f->mem == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < f->n; i++)
        f->d[i].ptr = f->mem + offs[i];
    return 0;
}

void live_filters_free(struct live_filters *f)
{
    mem_free(f->mem);
    memset(f, 0, sizeof *f);
}

void live_provider_enable_args(const struct live_provider *p, const struct live_filters *f,
                               struct etw_enable *e)
{
    memset(e, 0, sizeof *e);
    e->provider = p->guid;
    e->control_code = ETW_CONTROL_CODE_ENABLE;
    e->level = p->level;
    e->match_any = p->match_any;
    e->match_all = p->match_all;
    e->enable_property = p->properties;
    e->filters = f && f->n ? f->d : NULL;
    e->nfilters = f ? f->n : 0;
}

/* ---- Registered providers ---- */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int live_provider_list_parse(const uint8_t *b, size_t len, struct live_provider_list *out,
                             struct errbuf *eb)
{
    memset(out, 0, sizeof *out);
    if (len < 8)
        return errbuf_set(eb, ERR_FORMAT, "PROVIDER_ENUMERATION_INFO of %zu bytes is shorter "
                          "than its header", len);
    uint32_t n = rd32(b);
    if ((uint64_t)n * 24 > len - 8)
        return errbuf_set(eb, ERR_FORMAT, "PROVIDER_ENUMERATION_INFO: %u providers do not fit "
                          "%zu bytes", n, len);
    out->v = mem_calloc(n ? n : 1, sizeof *out->v);
    if (out->v == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = b + 8 + (size_t)i * 24;
        struct live_provider_info *pi = &out->v[i];
        guid_read(&pi->guid, e);
        pi->schema_source = rd32(e + 16);
        uint32_t off = rd32(e + 20);
        size_t units = 0;
        if (off >= len || (off & 1)) {
            live_provider_list_free(out);
            return errbuf_set(eb, ERR_FORMAT, "PROVIDER_ENUMERATION_INFO: provider %u name "
                              "offset 0x%x outside the %zu-byte blob", i, off, len);
        }
        while ((size_t)off + units * 2 + 2 <= len && (b[off + units * 2] || b[off + units * 2 + 1]))
            units++;
        if ((size_t)off + units * 2 + 2 > len) {
            live_provider_list_free(out);
            return errbuf_set(eb, ERR_FORMAT, "PROVIDER_ENUMERATION_INFO: provider %u name has no "
                              "terminating NUL", i);
        }
        size_t need = schema_utf16_to_utf8(b + off, units, NULL, 0);
        pi->name = mem_alloc(need + 1);
        if (pi->name == NULL) {
            live_provider_list_free(out);
            return errbuf_set(eb, ERR_NOMEM, "out of memory");
        }
        schema_utf16_to_utf8(b + off, units, pi->name, need + 1);
        out->n = i + 1;
    }
    return 0;
}

int live_provider_list_load(const struct etw_api *api, struct live_provider_list *out,
                            struct errbuf *eb)
{
    memset(out, 0, sizeof *out);
    if (api == NULL || api->tdh_providers == NULL)
        return errbuf_set(eb, ERR_UNSUPPORTED, "listing providers needs Windows");
    uint32_t cap = 256 * 1024;
    for (int tries = 0; tries < 5; tries++) {
        uint8_t *buf = mem_alloc(cap);
        if (buf == NULL)
            return errbuf_set(eb, ERR_NOMEM, "out of memory");
        uint32_t size = cap;
        uint32_t rc = api->tdh_providers(api->ctx, buf, &size);
        if (rc == ETW_OK) {
            int r = live_provider_list_parse(buf, size, out, eb);
            mem_free(buf);
            return r;
        }
        mem_free(buf);
        if (rc != ETW_ERR_INSUFFICIENT_BUFFER || size <= cap) {
            char t[256];
            return errbuf_set(eb, ERR_UNSUPPORTED, "TdhEnumerateProviders failed: %s",
                              etw_error_text(api, rc, t, sizeof t));
        }
        cap = size;
    }
    return errbuf_set(eb, ERR_IO, "TdhEnumerateProviders kept asking for a larger buffer");
}

void live_provider_list_free(struct live_provider_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        mem_free(l->v[i].name);
    mem_free(l->v);
    memset(l, 0, sizeof *l);
}

const struct live_provider_info *live_provider_list_find(const struct live_provider_list *l,
                                                         const char *name,
                                                         const etwhost_guid *guid)
{
    for (size_t i = 0; i < l->n; i++) {
        if (guid && guid_eq(guid, &l->v[i].guid))
            return &l->v[i];
        if (name) {
            const char *a = name, *b = l->v[i].name;
            while (*a && lc_ascii(*a) == lc_ascii(*b)) {
                a++;
                b++;
            }
            if (*a == '\0' && *b == '\0')
                return &l->v[i];
        }
    }
    return NULL;
}

/* The nearest registered name to word (cfg_suggest over the list), or NULL. */
static const char *nearest(const struct live_provider_list *l, const char *word)
{
    const char **cands = mem_calloc(l->n + 1, sizeof *cands);
    if (cands == NULL)
        return NULL;
    for (size_t i = 0; i < l->n; i++)
        cands[i] = l->v[i].name;
    const char *near = cfg_suggest(word, cands);
    mem_free(cands);
    return near;
}

int live_providers_resolve(struct live_provider *v, size_t n, const struct etw_api *api,
                           struct errbuf *eb)
{
    struct live_provider_list list;
    int loaded = 0, rc = 0;
    memset(&list, 0, sizeof list);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct live_provider *p = &v[i];
        if (!p->has_guid) {
            if (!loaded) {
                struct errbuf le;
                rc = live_provider_list_load(api, &list, &le);
                if (rc) {
                    rc = errbuf_set(eb, rc == ERR_NOMEM ? ERR_NOMEM : ERR_UNSUPPORTED,
                                    "provider \"%s\": cannot resolve names (%s); give the "
                                    "provider GUID instead",
                                    p->spec, le.msg);
                    break;
                }
                loaded = 1;
            }
            const struct live_provider_info *pi = live_provider_list_find(&list, p->name, NULL);
            if (pi == NULL) {
                const char *near = nearest(&list, p->name);
                rc = errbuf_set(eb, ERR_CONFIG,
                                "unknown provider \"%s\"%s%s%s; TraceLogging providers are not "
                                "registered by name: give their GUID (etwhost providers lists "
                                "the registered ones)",
                                p->name, near ? " (did you mean \"" : "", near ? near : "",
                                near ? "\"?)" : "");
                break;
            }
            p->guid = pi->guid;
            p->has_guid = 1;
            mem_free(p->name);
            if ((p->name = mem_strdup(pi->name)) == NULL)
                rc = errbuf_set(eb, ERR_NOMEM, "out of memory");
        }
        if (rc == 0 && (p->n_pids || p->exe) && live_provider_is_kernel(p))
            log_warn("provider \"%s\": ETW ignores PID and executable filters for events "
                     "logged from kernel mode (kernel and system providers); this filter may "
                     "not reduce anything",
                     p->spec);
    }
    if (loaded)
        live_provider_list_free(&list);
    return rc;
}
