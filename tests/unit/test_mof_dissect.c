/*
 * The built-in kernel MOF classes against the dissect.etl peer, event by
 * event, on the kernel traces of the corpus.
 *
 * shared/tools/dissect_dump.py --mode fixed prints one JSON object per
 * record in file order ("n", "symbol" = Task/Opcode, "fields"); the host
 * reads the same file in file order and decodes every record with the
 * built-in sources only.  For each record both sides decoded, the names
 * are compared (dissect calls the EventTrace task "EventTraceEvent") and
 * every dissect field is compared with the property of the same name:
 * integers as numbers (pointer fields too), strings as text (dissect prints
 * ANSI strings as hex bytes), GUIDs by value, byte arrays by bytes, the
 * UserSID by its SID, dissect's Stack1..StackN with the elements of our
 * Stack array.
 *
 * dissect 3.13 must be installed (tests/scripts/deps.sh creates
 * build/venv-dissect); the test skips without it or without the corpus.
 */
#include "test.h"

#include <jansson.h>

#include "core/arena.h"
#include "core/mem.h"
#include "decode/decode.h"
#include "etl/etl_reader.h"
#include "platform/platform.h"
#include "schema/mof_kernel.h"
#include "schema/schema_cache.h"
#include "schema/schema_sources.h"

/* The Python that can import dissect.etl, or NULL. */
static const char *dissect_python(void)
{
    static char path[4096];
    const char *env = getenv("ETWHOST_DISSECT_PYTHON");
    if (env && *env)
        return env;
    snprintf(path, sizeof path, "%s/build/venv-dissect/bin/python3", t_root());
    if (plat_is_file(path))
        return path;
    return NULL;
}

struct dx_totals {
    unsigned records, dissect_decoded, ours_decoded, both, names_eq;
    unsigned fields_cmp, fields_eq, missing, differ;
    unsigned only_dissect, only_ours;
    double our_seconds;
    char examples[4096];
    size_t exlen;
};

static void example(struct dx_totals *t, const char *fmt, ...) T_PRINTF(2, 3);
static void example(struct dx_totals *t, const char *fmt, ...)
{
    if (t->exlen + 300 >= sizeof t->examples)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->examples + t->exlen, sizeof t->examples - t->exlen, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->exlen += (size_t)n;
}

static const etwhost_prop *prop_named(const struct event *e, const char *name, size_t nl)
{
    for (uint32_t i = e->nprops ? 0 : ETWHOST_NONE; i != ETWHOST_NONE; i = e->props[i].next)
        if (e->props[i].name_len == nl && memcmp(e->props[i].name, name, nl) == 0)
            return &e->props[i];
    return NULL;
}

static void hex_of(const uint8_t *p, size_t n, char *out, size_t cap)
{
    static const char hx[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 < cap; i++) {
        out[o++] = hx[p[i] >> 4];
        out[o++] = hx[p[i] & 15];
    }
    out[o] = '\0';
}

/*
 * jansson refuses integers beyond the int64 range (kernel pointers): turn
 * every bare number of 19 digits or more (sign included) into a string
 * "#digits".  Returns a mem_alloc'd copy.
 */
static char *quote_big_numbers(const char *line)
{
    size_t n = strlen(line);
    char *out = mem_alloc(n * 2 + 1);
    size_t o = 0;
    int in_str = 0;
    for (size_t i = 0; i < n;) {
        char ch = line[i];
        if (in_str) {
            out[o++] = ch;
            if (ch == '\\' && i + 1 < n)
                out[o++] = line[++i];
            else if (ch == '"')
                in_str = 0;
            i++;
            continue;
        }
        if (ch == '"') {
            in_str = 1;
            out[o++] = ch;
            i++;
            continue;
        }
        if ((ch >= '0' && ch <= '9') || (ch == '-' && i + 1 < n && line[i + 1] >= '0' &&
                                          line[i + 1] <= '9')) {
            size_t j = i + 1;
            while (j < n && line[j] >= '0' && line[j] <= '9')
                j++;
            if (j - i >= 19) {
                out[o++] = '"';
                out[o++] = '#';
                memcpy(out + o, line + i, j - i);
                o += j - i;
                out[o++] = '"';
            } else {
                memcpy(out + o, line + i, j - i);
                o += j - i;
            }
            i = j;
            continue;
        }
        out[o++] = ch;
        i++;
    }
    out[o] = '\0';
    return out;
}

/* The integer value of a property (pointers, FILETIMEs, booleans included); 0 if none. */
static int prop_int(const etwhost_prop *p, uint64_t *v)
{
    if (event_type_is_int(p->type)) {
        *v = event_prop_bits(p);
        return 1;
    }
    if (p->type == ETWHOST_PT_POINTER || p->type == ETWHOST_PT_FILETIME ||
        p->type == ETWHOST_PT_BOOL) {
        *v = p->num.u;
        return 1;
    }
    return 0;
}

/* Compare one dissect value with our property; 1 equal, 0 different. */
static int same_value(const etwhost_prop *p, json_t *v, const struct event *e, char *ours,
                      size_t cap)
{
    ours[0] = '\0';
    uint64_t u;
    if (json_is_integer(v)) {
        if (!prop_int(p, &u))
            return 0;
        uint64_t dv = (uint64_t)json_integer_value(v);
        snprintf(ours, cap, "%llu", (unsigned long long)u);
        if (u == dv)
            return 1;
        /* dissect sign-extends signed fields; compare at the property's width. */
        unsigned bits = p->type == ETWHOST_PT_I32 || p->type == ETWHOST_PT_U32   ? 32
                        : p->type == ETWHOST_PT_I16 || p->type == ETWHOST_PT_U16 ? 16
                        : p->type == ETWHOST_PT_I8 || p->type == ETWHOST_PT_U8   ? 8
                                                                                 : 64;
        uint64_t mask = bits == 64 ? ~0ull : ((1ull << bits) - 1);
        return (u & mask) == (dv & mask);
    }
    if (json_is_string(v) && json_string_value(v)[0] == '#') {
        if (!prop_int(p, &u))
            return 0;
        snprintf(ours, cap, "%llu", (unsigned long long)u);
        const char *num = json_string_value(v) + 1;
        if (num[0] == '-')
            return u == (uint64_t)strtoll(num, NULL, 10);
        return u == strtoull(num, NULL, 10);
    }
    if (json_is_string(v)) {
        const char *dv = json_string_value(v);
        char buf[4096];
        if (p->type == ETWHOST_PT_STRING) {
            if (p->reserved == PROP_ENC_UTF16) {
                schema_utf16_to_utf8(p->data, p->size / 2, buf, sizeof buf);
            } else {
                size_t n = p->size < sizeof buf - 1 ? p->size : sizeof buf - 1;
                memcpy(buf, p->data, n);
                buf[n] = '\0';
            }
            snprintf(ours, cap, "\"%.200s\"", buf);
            if (strcmp(buf, dv) == 0)
                return 1;
            /* dissect prints ANSI strings as the hex of their bytes. */
            hex_of(p->data, p->size, buf, sizeof buf);
            return strcmp(buf, dv) == 0;
        }
        if (p->type == ETWHOST_PT_GUID) {
            etwhost_guid g;
            memcpy(&g, p->data, sizeof g);
            char s[37], t[33];
            guid_format(&g, s);
            size_t o = 0;
            for (size_t i = 0; s[i]; i++)
                if (s[i] != '-')
                    t[o++] = s[i];
            t[o] = '\0';
            snprintf(ours, cap, "%s", s);
            return strcmp(t, dv) == 0 || strcmp(s, dv) == 0;
        }
        return 0;
    }
    if (json_is_array(v)) {
        /* Byte arrays. */
        if (p->type != ETWHOST_PT_BINARY || json_array_size(v) != p->size)
            return 0;
        for (size_t i = 0; i < p->size; i++)
            if ((uint64_t)json_integer_value(json_array_get(v, i)) != p->data[i])
                return 0;
        return 1;
    }
    if (json_is_object(v)) {
        /* UserSID: {"blob": TOKEN_USER, "sid": {revision, subAuthorityCount, authority, ...}}. */
        json_t *sid = json_object_get(v, "sid");
        if (sid == NULL || p->type != ETWHOST_PT_SID || p->size < 8)
            return 0;
        const uint8_t *s = p->data;
        char auth[16];
        hex_of(s + 2, 6, auth, sizeof auth);
        json_t *subs = json_object_get(sid, "subAuthorities");
        if ((uint64_t)json_integer_value(json_object_get(sid, "revision")) != s[0] ||
            (uint64_t)json_integer_value(json_object_get(sid, "subAuthorityCount")) != s[1] ||
            json_string_value(json_object_get(sid, "authority")) == NULL ||
            strcmp(json_string_value(json_object_get(sid, "authority")), auth) != 0 ||
            json_array_size(subs) != s[1] || p->size != 8u + 4u * s[1])
            return 0;
        for (size_t i = 0; i < s[1]; i++) {
            const uint8_t *q = s + 8 + 4 * i;
            uint32_t sa = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
                          (uint32_t)q[3] << 24;
            if ((uint64_t)json_integer_value(json_array_get(subs, i)) != sa)
                return 0;
        }
        return 1;
    }
    (void)e;
    return 0;
}

/* Element i of array property p (its i-th child), or NULL. */
static const etwhost_prop *array_elem(const struct event *e, const etwhost_prop *p, size_t i)
{
    if (p->type != ETWHOST_PT_ARRAY || i >= p->count)
        return NULL;
    uint32_t k = (uint32_t)(p - e->props) + 1;
    for (size_t j = 0; j < i && k != ETWHOST_NONE; j++)
        k = e->props[k].next;
    return k == ETWHOST_NONE ? NULL : &e->props[k];
}

static void compare_fields(struct dx_totals *t, const struct event *e, json_t *fields,
                           unsigned n)
{
    const char *k;
    json_t *v;
    json_object_foreach(fields, k, v) {
        if (json_is_null(v))
            continue;
        const etwhost_prop *p = prop_named(e, k, strlen(k));
        /* dissect's Stack1..StackN are our Stack array. */
        if (p == NULL && strncmp(k, "Stack", 5) == 0 && k[5] >= '1' && k[5] <= '9') {
            const etwhost_prop *arr = prop_named(e, "Stack", 5);
            size_t idx = (size_t)strtoul(k + 5, NULL, 10) - 1;
            if (arr && idx >= arr->count)
                continue; /* dissect reads 32 frames whatever the event holds */
            p = arr ? array_elem(e, arr, idx) : NULL;
        }
        t->fields_cmp++;
        if (p == NULL) {
            t->missing++;
            example(t, "    #%u %s: field %s missing in ours\n", n, e->hdr.event_name, k);
            continue;
        }
        char ours[256];
        if (same_value(p, v, e, ours, sizeof ours)) {
            t->fields_eq++;
        } else {
            t->differ++;
            char *dv = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            example(t, "    #%u %s: %s = %.80s, ours %.80s\n", n, e->hdr.event_name, k,
                    dv ? dv : "?", ours);
            free(dv);
        }
    }
}

/* dissect's Task/Opcode in our naming. */
static void norm_symbol(const char *sym, char *out, size_t cap)
{
    if (strncmp(sym, "EventTraceEvent/", 16) == 0)
        snprintf(out, cap, "EventTrace/%s", sym + 16);
    else
        snprintf(out, cap, "%s", sym);
}

static struct dx_totals compare_file(const char *path)
{
    struct dx_totals t;
    memset(&t, 0, sizeof t);
    if (t_under_wine())
        SKIP("the dissect.etl oracle is a Linux python3 program (not run under Wine)");
    const char *py = dissect_python();
    if (py == NULL)
        SKIP("dissect.etl not installed: run tests/scripts/deps.sh (build/venv-dissect)");
    const char *tool = t_path("%s/../tools/dissect_dump.py", t_corpus());
    if (!plat_is_file(tool))
        SKIP("%s not found", tool);
    const char *argv[] = {py, tool, "--mode", "fixed", path, NULL};
    struct t_run r = t_exec(argv, NULL, NULL);
    ASSERT_MSG(r.status == 0, "dissect_dump.py failed (%d): %.2000s", r.status, r.err);

    struct schema_cache *c = schema_cache_new(0);
    struct decoder d;
    decoder_init(&d, c);
    struct errbuf eb;
    ASSERT_MSG(schema_sources_builtin(&d, &eb) == 0, "%s", eb.msg);
    struct arena a = ARENA_INIT;
    struct event e;
    event_init(&e, &a);
    struct etl_options opt;
    memset(&opt, 0, sizeof opt);
    opt.file_order = 1;
    struct etl_reader *rd = NULL;
    ASSERT_MSG(etl_open(path, &opt, &rd, &eb) == 0, "%s", eb.msg);
    struct record rec;
    char *line = r.out;
    unsigned n = 0;
    uint64_t ns = 0;
    for (;;) {
        int more = etl_next(rd, &rec, &eb);
        ASSERT(more >= 0);
        char *nl = line ? strchr(line, '\n') : NULL;
        if (!more || nl == NULL) {
            ASSERT_MSG(!more && (nl == NULL || line[0] != '{'),
                       "%s: record counts differ at %u (ours %s)", path, n,
                       more ? "has more" : "ended");
            break;
        }
        *nl = '\0';
        json_error_t je;
        char *q = quote_big_numbers(line);
        json_t *j = json_loads(q, 0, &je);
        mem_free(q);
        ASSERT_MSG(j != NULL, "bad JSON from dissect at line %u: %s", n, je.text);
        line = nl + 1;
        ASSERT_EQ(json_integer_value(json_object_get(j, "n")), n);
        arena_reset(&a);
        uint64_t t0 = plat_monotonic_ns();
        ASSERT_OK(decode_record(&d, &rec, &e));
        ns += plat_monotonic_ns() - t0;
        t.records++;
        json_t *fields = json_object_get(j, "fields");
        const char *sym = json_string_value(json_object_get(j, "symbol"));
        int dis_ok = json_is_object(fields) && sym != NULL;
        int our_ok = e.hdr.decode_status == ETWHOST_DECODE_FULL;
        t.dissect_decoded += dis_ok;
        t.ours_decoded += our_ok;
        if (dis_ok && our_ok) {
            t.both++;
            char ds[200];
            norm_symbol(sym, ds, sizeof ds);
            if (strcmp(ds, e.hdr.event_name) == 0)
                t.names_eq++;
            else
                example(&t, "    #%u name: dissect %s, ours %s\n", n, ds, e.hdr.event_name);
            compare_fields(&t, &e, fields, n);
        } else if (dis_ok) {
            t.only_dissect++;
            example(&t, "    #%u only dissect decodes %s: ours %s\n", n, sym,
                    e.decode_error ? e.decode_error : "?");
        } else if (our_ok) {
            t.only_ours++;
        }
        json_decref(j);
        n++;
    }
    t.our_seconds = (double)ns / 1e9;
    etl_close(rd);
    event_free(&e);
    arena_free(&a);
    decoder_free(&d);
    schema_cache_free(c);
    t_run_free(&r);
    return t;
}

static void run_file(const char *rel)
{
    const char *corpus = t_corpus_or_skip();
    char *path = mem_strdup(t_path("%s/%s", corpus, rel));
    if (!plat_is_file(path))
        SKIP("%s not found", path);
    struct dx_totals t = compare_file(path);
    printf("%s: %u records; dissect decodes %u, we decode %u (FULL), both %u; "
           "names agree %u of %u; fields agree %u of %u (%u missing, %u differ); "
           "only dissect %u, only ours %u; our decode %.3f s (%.0f events/s)\n%s",
           rel, t.records, t.dissect_decoded, t.ours_decoded, t.both, t.names_eq, t.both,
           t.fields_eq, t.fields_cmp, t.missing, t.differ, t.only_dissect, t.only_ours,
           t.our_seconds, t.our_seconds > 0 ? t.records / t.our_seconds : 0.0, t.examples);
    ASSERT(t.both > 0);
    ASSERT_EQ(t.names_eq, t.both);
    ASSERT_EQ(t.missing, 0);
    ASSERT_EQ(t.differ, 0);
    ASSERT_EQ(t.only_dissect, 0);
    mem_free(path);
}

TEST(mof_dissect_shutdown_perfdiag)
{
    run_file("etl/etlparser__ShutdownPerfDiagLogger.etl");
}

TEST(mof_dissect_diaghub_kernel)
{
    run_file("etl/perfview__diaghub.kernel.1.etl");
}
