/*
 * manifest_xml: instrumentation manifests -> schemas (see manifest_xml.h).
 *
 * Loading a file has three steps:
 *   1. parse it into a small model (providers, events, templates, maps,
 *      tasks, opcodes, levels, keywords, channels, string table) whose
 *      strings live in an arena.  XML goes through expat; the text form of
 *      wevtutil is read line by line and its template fragments go through
 *      expat too;
 *   2. resolve names ($(string.X), task-specific opcodes, winmeta values)
 *      and build one schema per event with a schema_builder;
 *   3. drop the model.
 * Nothing of a file is kept unless the whole file loads: schemas are
 * collected first and published into the set's table at the end.
 */
#include "manifest_xml.h"

#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/compiler.h"
#include "../core/arena.h"
#include "../core/mem.h"
#include "../platform/platform.h"

/* ---- Model ------------------------------------------------------------------------ */

struct mx_link {
    struct mx_link *next;
};

struct mx_list {
    struct mx_link *head, *tail;
};

static void list_add(struct mx_list *l, void *node)
{
    struct mx_link *n = node;
    n->next = NULL;
    if (l->tail)
        l->tail->next = n;
    else
        l->head = n;
    l->tail = n;
}

#define MX_NO_TASK 0xFFFFFFFFu

/* A named value: level, opcode, task, keyword, channel, map entry. */
struct mx_item {
    struct mx_link link;
    const char *name;
    const char *message; /* as written: may be $(string.X) */
    const char *chid;    /* channels: the id events use */
    const char *guid;    /* tasks: eventGUID */
    uint64_t value;
    int has_value;
    uint32_t task;       /* task-specific opcodes: the task value */
    struct mx_list sub;  /* tasks: their opcodes */
    long line;
};

struct mx_field {
    struct mx_link link;
    const char *name, *in, *out, *length, *count, *map;
    int is_struct;
    struct mx_list children;
    long line;
    uint32_t index; /* schema field index once placed */
    int placed;
};

struct mx_template {
    struct mx_link link;
    const char *tid;
    struct mx_list fields;
    long line;
};

struct mx_map {
    struct mx_link link;
    const char *name;
    unsigned kind; /* SCHEMA_MAP_* */
    struct mx_list entries;
    uint32_t n;
    long line;
};

struct mx_event {
    struct mx_link link;
    const char *value, *version, *level, *task, *opcode, *keywords, *channel;
    const char *tmpl_name, *symbol, *name, *message;
    struct mx_template *inline_tmpl;
    long line;
};

struct mx_provider {
    struct mx_link link;
    const char *name, *guid, *message;
    long line;
    int numeric_opcodes; /* wevtutil text: opcode values are (opcode << 16) | task */
    struct mx_list events, templates, maps, tasks, opcodes, levels, keywords, channels;
};

struct mx_string {
    struct mx_link link;
    const char *id, *value;
    int pref; /* 0 for en-US, 1 otherwise: the preferred culture sorts first */
};

struct mx_model {
    struct arena a;
    struct mx_list providers;
    struct mx_list strings;
    /* Sorted string table (mem), built after parsing. */
    struct mx_string **sorted;
    size_t nsorted;
};

/* ---- The set ------------------------------------------------------------------------ */

struct mx_slot {
    etwhost_guid guid;
    uint16_t id;
    uint8_t version;
    uint8_t used;
    struct schema *s;
};

struct manifest_set {
    struct schema_cache *cache;
    struct mx_slot *slots;
    size_t cap, count;
    struct manifest_stats st;
};

static uint64_t key_hash(const etwhost_guid *g, uint16_t id, uint8_t version)
{
    uint64_t h = 1469598103934665603ull;
    const uint8_t *p = (const uint8_t *)g;
    for (size_t i = 0; i < sizeof *g; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    h = (h ^ id) * 1099511628211ull;
    h = (h ^ version) * 1099511628211ull;
    return h ^ (h >> 29);
}

static struct mx_slot *slot_find(const struct manifest_set *ms, const etwhost_guid *g,
                                 uint16_t id, uint8_t version)
{
    if (ms->cap == 0)
        return NULL;
    size_t mask = ms->cap - 1;
    for (size_t i = key_hash(g, id, version) & mask;; i = (i + 1) & mask) {
        struct mx_slot *sl = &ms->slots[i];
        if (!sl->used)
            return NULL;
        if (sl->id == id && sl->version == version && guid_eq(&sl->guid, g))
            return sl;
    }
}

static int table_grow(struct manifest_set *ms, size_t need)
{
    if ((need + 1) * 2 <= ms->cap)
        return 0;
    size_t cap = ms->cap ? ms->cap : 64;
    while ((need + 1) * 2 > cap)
        cap *= 2;
    struct mx_slot *ns = mem_calloc(cap, sizeof *ns);
    if (ns == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < ms->cap; i++) {
        struct mx_slot *o = &ms->slots[i];
        if (!o->used)
            continue;
        for (size_t j = key_hash(&o->guid, o->id, o->version) & (cap - 1);; j = (j + 1) & (cap - 1)) {
            if (!ns[j].used) {
                ns[j] = *o;
                break;
            }
        }
    }
    mem_free(ms->slots);
    ms->slots = ns;
    ms->cap = cap;
    return 0;
}

/* Insert s (ownership taken); a duplicate key keeps the first and frees s. */
static void table_put(struct manifest_set *ms, struct schema *s)
{
    if (slot_find(ms, &s->provider, s->id, s->version)) {
        ms->st.duplicates++;
        schema_free(s);
        return;
    }
    size_t mask = ms->cap - 1;
    for (size_t i = key_hash(&s->provider, s->id, s->version) & mask;; i = (i + 1) & mask) {
        struct mx_slot *sl = &ms->slots[i];
        if (!sl->used) {
            sl->used = 1;
            sl->guid = s->provider;
            sl->id = s->id;
            sl->version = s->version;
            sl->s = s;
            ms->count++;
            ms->st.schemas++;
            return;
        }
    }
}

struct manifest_set *manifest_set_new(struct schema_cache *cache)
{
    struct manifest_set *ms = mem_calloc(1, sizeof *ms);
    if (ms)
        ms->cache = cache;
    return ms;
}

void manifest_set_free(struct manifest_set *ms)
{
    if (ms == NULL)
        return;
    for (size_t i = 0; i < ms->cap; i++)
        if (ms->slots[i].used)
            schema_free(ms->slots[i].s);
    mem_free(ms->slots);
    mem_free(ms);
}

const struct schema *manifest_set_find(struct manifest_set *ms, const etwhost_guid *provider,
                                       uint16_t id, uint8_t version)
{
    ms->st.lookups++;
    struct mx_slot *sl = slot_find(ms, provider, id, version);
    if (sl)
        return sl->s;
    for (int v = (int)version - 1; v >= 0; v--) {
        sl = slot_find(ms, provider, id, (uint8_t)v);
        if (sl) {
            ms->st.fallbacks++;
            return sl->s;
        }
    }
    return NULL;
}

const struct schema *manifest_set_schema_at(const struct manifest_set *ms, size_t i)
{
    for (size_t k = 0; k < ms->cap; k++) {
        if (!ms->slots[k].used)
            continue;
        if (i-- == 0)
            return ms->slots[k].s;
    }
    return NULL;
}

void manifest_set_get_stats(const struct manifest_set *ms, struct manifest_stats *out)
{
    *out = ms->st;
}

static int source_lookup(void *ctx, const struct record *rec, const struct schema **out)
{
    /* Manifest keys: EVENT_HEADER records and the synthetic source's records. */
    if ((rec->kind != ETWHOST_HK_EVENT && rec->kind != ETWHOST_HK_SYNTHETIC) ||
        rec->tl_meta != NULL)
        return ERR_NOTFOUND;
    const struct schema *s = manifest_set_find(ctx, &rec->provider, rec->id, rec->version);
    if (s == NULL)
        return ERR_NOTFOUND;
    *out = s;
    return 0;
}

static void source_destroy(void *ctx)
{
    manifest_set_free(ctx);
}

void manifest_set_source(struct manifest_set *ms, struct schema_source *src)
{
    memset(src, 0, sizeof *src);
    src->name = "manifest";
    src->ctx = ms;
    src->lookup = source_lookup;
    src->destroy = source_destroy;
}

/* ---- Type names --------------------------------------------------------------------- */

struct type_name {
    const char *name;
    unsigned value;
};

static const struct type_name in_types[] = {
    {"win:UnicodeString", TDH_IN_UNICODESTRING}, {"win:AnsiString", TDH_IN_ANSISTRING},
    {"win:Int8", TDH_IN_INT8}, {"win:UInt8", TDH_IN_UINT8},
    {"win:Int16", TDH_IN_INT16}, {"win:UInt16", TDH_IN_UINT16},
    {"win:Int32", TDH_IN_INT32}, {"win:UInt32", TDH_IN_UINT32},
    {"win:Int64", TDH_IN_INT64}, {"win:UInt64", TDH_IN_UINT64},
    {"win:Float", TDH_IN_FLOAT}, {"win:Double", TDH_IN_DOUBLE},
    {"win:Boolean", TDH_IN_BOOLEAN}, {"win:Binary", TDH_IN_BINARY},
    {"win:GUID", TDH_IN_GUID}, {"win:Pointer", TDH_IN_POINTER},
    {"win:FILETIME", TDH_IN_FILETIME}, {"win:SYSTEMTIME", TDH_IN_SYSTEMTIME},
    {"win:SID", TDH_IN_SID}, {"win:HexInt32", TDH_IN_HEXINT32},
    {"win:HexInt64", TDH_IN_HEXINT64},
    /* Counted types (Windows 10 1809+ manifests); both spellings occur. */
    {"win:CountedUnicodeString", TDH_IN_COUNTEDSTRING},
    {"win:CountedString", TDH_IN_COUNTEDSTRING},
    {"win:CountedAnsiString", TDH_IN_COUNTEDANSISTRING},
    {"win:CountedBinary", TDH_IN_COUNTEDBINARY},
};

static const struct type_name out_types[] = {
    {"xs:string", TDH_OUT_STRING}, {"xs:dateTime", TDH_OUT_DATETIME},
    {"xs:byte", TDH_OUT_BYTE}, {"xs:unsignedByte", TDH_OUT_UNSIGNEDBYTE},
    {"xs:short", TDH_OUT_SHORT}, {"xs:unsignedShort", TDH_OUT_UNSIGNEDSHORT},
    {"xs:int", TDH_OUT_INT}, {"xs:unsignedInt", TDH_OUT_UNSIGNEDINT},
    {"xs:long", TDH_OUT_LONG}, {"xs:unsignedLong", TDH_OUT_UNSIGNEDLONG},
    {"xs:float", TDH_OUT_FLOAT}, {"xs:double", TDH_OUT_DOUBLE},
    {"xs:boolean", TDH_OUT_BOOLEAN}, {"xs:GUID", TDH_OUT_GUID},
    {"xs:hexBinary", TDH_OUT_HEXBINARY}, {"win:HexInt8", TDH_OUT_HEXINT8},
    {"win:HexInt16", TDH_OUT_HEXINT16}, {"win:HexInt32", TDH_OUT_HEXINT32},
    {"win:HexInt64", TDH_OUT_HEXINT64}, {"win:PID", TDH_OUT_PID}, {"win:TID", TDH_OUT_TID},
    {"win:Port", TDH_OUT_PORT}, {"win:IPv4", TDH_OUT_IPV4}, {"win:IPv6", TDH_OUT_IPV6},
    {"win:SocketAddress", TDH_OUT_SOCKETADDRESS}, {"win:CIMDateTime", TDH_OUT_CIMDATETIME},
    {"win:ETWTIME", TDH_OUT_ETWTIME}, {"win:Xml", TDH_OUT_XML},
    {"win:ErrorCode", TDH_OUT_ERRORCODE}, {"win:Win32Error", TDH_OUT_WIN32ERROR},
    {"win:NTSTATUS", TDH_OUT_NTSTATUS}, {"win:HResult", TDH_OUT_HRESULT},
    {"win:DateTimeCultureInsensitive", TDH_OUT_CULTURE_INSENSITIVE_DATETIME},
    {"win:Json", TDH_OUT_JSON}, {"win:Utf8", TDH_OUT_UTF8},
    {"win:Pkcs7WithTypeInfo", TDH_OUT_PKCS7_WITH_TYPE_INFO},
    {"win:CodePointer", TDH_OUT_CODE_POINTER}, {"win:DateTimeUtc", TDH_OUT_DATETIME_UTC},
};

static unsigned type_lookup(const struct type_name *t, size_t n, const char *name)
{
    if (name == NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i].value;
    return 0;
}

unsigned manifest_in_type(const char *name)
{
    return type_lookup(in_types, sizeof in_types / sizeof in_types[0], name);
}

unsigned manifest_out_type(const char *name)
{
    return type_lookup(out_types, sizeof out_types / sizeof out_types[0], name);
}

/* ---- winmeta.xml: the values every manifest may use ------------------------------ */

struct wm_entry {
    const char *name;
    uint64_t value;
    const char *message;
};

static const struct wm_entry wm_levels[] = {
    {"win:LogAlways", 0, "Log Always"}, {"win:Critical", 1, "Critical"},
    {"win:Error", 2, "Error"},          {"win:Warning", 3, "Warning"},
    {"win:Informational", 4, "Information"}, {"win:Verbose", 5, "Verbose"},
};

static const struct wm_entry wm_opcodes[] = {
    {"win:Info", 0, "Info"},       {"win:Start", 1, "Start"},   {"win:Stop", 2, "Stop"},
    {"win:DC_Start", 3, "DCStart"}, {"win:DC_Stop", 4, "DCStop"},
    {"win:Extension", 5, "Extension"}, {"win:Reply", 6, "Reply"},
    {"win:Resume", 7, "Resume"},   {"win:Suspend", 8, "Suspend"}, {"win:Send", 9, "Send"},
    {"win:Receive", 240, "Receive"},
};

static const struct wm_entry wm_channels[] = {
    {"TraceClassic", 0, "TraceClassic"}, {"System", 8, "System"},
    {"Application", 9, "Application"},   {"Security", 10, "Security"},
    {"TraceLogging", 11, "TraceLogging"}, {"ProviderMetadata", 12, "ProviderMetadata"},
};

static const struct wm_entry wm_keywords[] = {
    {"win:AnyKeyword", 0, "AnyKeyword"},
    {"win:ResponseTime", 0x1000000000000ull, "Response Time"},
    {"win:WDIDiag", 0x4000000000000ull, "WDI Diag"},
    {"win:SQM", 0x8000000000000ull, "SQM"},
    {"win:AuditFailure", 0x10000000000000ull, "Audit Failure"},
    {"win:AuditSuccess", 0x20000000000000ull, "Audit Success"},
    {"win:CorrelationHint", 0x40000000000000ull, "Correlation Hint"},
    {"win:EventlogClassic", 0x80000000000000ull, "Classic"},
};

#define WM_COUNT(t) (sizeof(t) / sizeof((t)[0]))

static const struct wm_entry *wm_by_name(const struct wm_entry *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

static const struct wm_entry *wm_by_value(const struct wm_entry *t, size_t n, uint64_t v)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].value == v)
            return &t[i];
    return NULL;
}

/* ---- Small helpers -------------------------------------------------------------------- */

/* Parse a decimal or 0x-hex unsigned number filling the whole string (spaces trimmed). */
static int parse_num(const char *s, uint64_t *out)
{
    if (s == NULL)
        return -1;
    while (*s == ' ' || *s == '\t')
        s++;
    uint64_t v = 0;
    int digits = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        for (; *s; s++, digits++) {
            int d = *s >= '0' && *s <= '9'   ? *s - '0'
                    : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
                    : *s >= 'A' && *s <= 'F' ? *s - 'A' + 10
                                             : -1;
            if (d < 0)
                break;
            if (v >> 60)
                return -1;
            v = v << 4 | (uint64_t)d;
        }
    } else {
        for (; *s >= '0' && *s <= '9'; s++, digits++) {
            uint64_t d = (uint64_t)(*s - '0');
            if (v > (UINT64_MAX - d) / 10)
                return -1;
            v = v * 10 + d;
        }
    }
    while (*s == ' ' || *s == '\t')
        s++;
    if (digits == 0 || *s != '\0')
        return -1;
    *out = v;
    return 0;
}

/* Local part of a possibly prefixed XML name ("ns:event" -> "event"). */
static const char *local_name(const char *n)
{
    const char *c = strrchr(n, ':');
    return c ? c + 1 : n;
}

static const char *attr(const char **atts, const char *name)
{
    for (size_t i = 0; atts[i]; i += 2)
        if (strcmp(local_name(atts[i]), name) == 0)
            return atts[i + 1];
    return NULL;
}

/* ---- Parsing context ---------------------------------------------------------------- */

enum kind {
    K_OTHER, K_SKIP, K_PROVIDER, K_EVENTS, K_EVENT, K_TEMPLATES, K_TEMPLATE, K_STRUCT, K_DATA,
    K_MAPS, K_MAP, K_TASKS, K_TASK, K_TASK_OPCODES, K_OPCODES, K_LEVELS, K_KEYWORDS,
    K_CHANNELS, K_LOCALIZATION, K_RESOURCES, K_STRINGTABLE
};

#define PX_MAX_DEPTH 64

struct px {
    XML_Parser xp;
    struct mx_model *m;
    const char *fname;
    long line_base; /* text form: line of the fragment's first line, minus 1 */
    struct errbuf *eb;
    int err;
    int depth;
    enum kind kinds[PX_MAX_DEPTH + 1];
    struct mx_list *containers[PX_MAX_DEPTH + 1]; /* field lists of templates/structs */
    struct mx_provider *prov;
    struct mx_event *event;
    struct mx_map *map;
    struct mx_item *task;
    int culture_pref;
};

static long px_line(struct px *p)
{
    return p->line_base + (long)XML_GetCurrentLineNumber(p->xp);
}

#if defined(__GNUC__) || defined(__clang__)
ETWHOST_PRINTF(2, 3)
#endif
static void px_fail(struct px *p, const char *fmt, ...)
{
    if (p->err)
        return;
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    p->err = ERR_FORMAT;
    errbuf_set(p->eb, ERR_FORMAT, "%s:%ld: %s", p->fname, px_line(p), why);
    XML_StopParser(p->xp, XML_FALSE);
}

static void px_nomem(struct px *p)
{
    if (p->err)
        return;
    p->err = ERR_NOMEM;
    errbuf_set(p->eb, ERR_NOMEM, "%s: out of memory", p->fname);
    XML_StopParser(p->xp, XML_FALSE);
}

static const char *px_dup(struct px *p, const char *s)
{
    if (s == NULL)
        return NULL;
    char *d = arena_dup(&p->m->a, s, strlen(s), 1);
    if (d == NULL)
        px_nomem(p);
    return d;
}

static void *px_new(struct px *p, size_t size)
{
    void *n = arena_alloc(&p->m->a, size);
    if (n == NULL) {
        px_nomem(p);
        return NULL;
    }
    memset(n, 0, size);
    return n;
}

static struct mx_item *px_item(struct px *p, struct mx_list *l, const char **atts,
                               const char *value_attr)
{
    struct mx_item *it = px_new(p, sizeof *it);
    if (it == NULL)
        return NULL;
    it->name = px_dup(p, attr(atts, "name"));
    it->message = px_dup(p, attr(atts, "message"));
    it->chid = px_dup(p, attr(atts, "chid"));
    it->guid = px_dup(p, attr(atts, "eventGUID"));
    it->task = MX_NO_TASK;
    it->line = px_line(p);
    const char *v = attr(atts, value_attr);
    if (v) {
        if (parse_num(v, &it->value)) {
            px_fail(p, "bad %s \"%s\"", value_attr, v);
            return NULL;
        }
        it->has_value = 1;
    }
    list_add(l, it);
    return it;
}

static struct mx_template *px_template(struct px *p, const char **atts, int inline_tmpl)
{
    struct mx_template *t = px_new(p, sizeof *t);
    if (t == NULL)
        return NULL;
    t->tid = px_dup(p, attr(atts, "tid"));
    t->line = px_line(p);
    if (!inline_tmpl) {
        if (t->tid == NULL) {
            px_fail(p, "template without a tid");
            return NULL;
        }
        list_add(&p->prov->templates, t);
    }
    return t;
}

static struct mx_field *px_field(struct px *p, struct mx_list *container, const char **atts,
                                 int is_struct)
{
    struct mx_field *f = px_new(p, sizeof *f);
    if (f == NULL)
        return NULL;
    f->is_struct = is_struct;
    f->name = px_dup(p, attr(atts, "name"));
    f->in = px_dup(p, attr(atts, "inType"));
    f->out = px_dup(p, attr(atts, "outType"));
    f->length = px_dup(p, attr(atts, "length"));
    f->count = px_dup(p, attr(atts, "count"));
    f->map = px_dup(p, attr(atts, "map"));
    f->line = px_line(p);
    if (f->name == NULL || f->name[0] == '\0') {
        px_fail(p, "<%s> without a name", is_struct ? "struct" : "data");
        return NULL;
    }
    if (!is_struct && f->in == NULL) {
        px_fail(p, "data \"%s\" without an inType", f->name);
        return NULL;
    }
    list_add(container, f);
    return f;
}

/* Kind of a new element given its parent's kind; may create model nodes. */
static enum kind px_enter(struct px *p, enum kind parent, const char *n, const char **atts)
{
    switch (parent) {
    case K_SKIP:
    case K_DATA:
        return K_SKIP;
    case K_PROVIDER:
        if (strcmp(n, "events") == 0) return K_EVENTS;
        if (strcmp(n, "templates") == 0) return K_TEMPLATES;
        if (strcmp(n, "maps") == 0) return K_MAPS;
        if (strcmp(n, "tasks") == 0) return K_TASKS;
        if (strcmp(n, "opcodes") == 0) return K_OPCODES;
        if (strcmp(n, "levels") == 0) return K_LEVELS;
        if (strcmp(n, "keywords") == 0) return K_KEYWORDS;
        if (strcmp(n, "channels") == 0) return K_CHANNELS;
        return K_SKIP;
    case K_EVENTS:
        if (strcmp(n, "event") == 0) {
            struct mx_event *e = px_new(p, sizeof *e);
            if (e == NULL)
                return K_SKIP;
            e->value = px_dup(p, attr(atts, "value"));
            e->version = px_dup(p, attr(atts, "version"));
            e->level = px_dup(p, attr(atts, "level"));
            e->task = px_dup(p, attr(atts, "task"));
            e->opcode = px_dup(p, attr(atts, "opcode"));
            e->keywords = px_dup(p, attr(atts, "keywords"));
            e->channel = px_dup(p, attr(atts, "channel"));
            e->tmpl_name = px_dup(p, attr(atts, "template"));
            e->symbol = px_dup(p, attr(atts, "symbol"));
            e->name = px_dup(p, attr(atts, "name"));
            e->message = px_dup(p, attr(atts, "message"));
            e->line = px_line(p);
            if (e->value == NULL) {
                px_fail(p, "event without a value");
                return K_SKIP;
            }
            list_add(&p->prov->events, e);
            p->event = e;
            return K_EVENT;
        }
        return K_SKIP;
    case K_EVENT:
        if (strcmp(n, "template") == 0 && p->event && p->event->inline_tmpl == NULL) {
            struct mx_template *t = px_template(p, atts, 1);
            if (t == NULL)
                return K_SKIP;
            p->event->inline_tmpl = t;
            p->containers[p->depth] = &t->fields;
            return K_TEMPLATE;
        }
        return K_SKIP;
    case K_TEMPLATES:
        if (strcmp(n, "template") == 0) {
            struct mx_template *t = px_template(p, atts, 0);
            if (t == NULL)
                return K_SKIP;
            p->containers[p->depth] = &t->fields;
            return K_TEMPLATE;
        }
        return K_SKIP;
    case K_TEMPLATE:
    case K_STRUCT: {
        struct mx_list *c = p->containers[p->depth - 1];
        if (strcmp(n, "data") == 0) {
            px_field(p, c, atts, 0);
            return K_DATA;
        }
        if (strcmp(n, "struct") == 0) {
            struct mx_field *f = px_field(p, c, atts, 1);
            if (f == NULL)
                return K_SKIP;
            p->containers[p->depth] = &f->children;
            return K_STRUCT;
        }
        return K_SKIP; /* UserData, binary and other rendering hints */
    }
    case K_MAPS:
        if (strcmp(n, "valueMap") == 0 || strcmp(n, "bitMap") == 0) {
            struct mx_map *m = px_new(p, sizeof *m);
            if (m == NULL)
                return K_SKIP;
            m->name = px_dup(p, attr(atts, "name"));
            m->kind = n[0] == 'v' ? SCHEMA_MAP_VALUE : SCHEMA_MAP_BITMAP;
            m->line = px_line(p);
            if (m->name == NULL) {
                px_fail(p, "%s without a name", n);
                return K_SKIP;
            }
            list_add(&p->prov->maps, m);
            p->map = m;
            return K_MAP;
        }
        return K_SKIP; /* patternMap: formatting only */
    case K_MAP:
        if (strcmp(n, "map") == 0) {
            struct mx_item *it = px_item(p, &p->map->entries, atts, "value");
            if (it && !it->has_value)
                px_fail(p, "map entry without a value in \"%s\"", p->map->name);
            if (it)
                p->map->n++;
        }
        return K_SKIP;
    case K_TASKS:
        if (strcmp(n, "task") == 0) {
            p->task = px_item(p, &p->prov->tasks, atts, "value");
            return p->task ? K_TASK : K_SKIP;
        }
        return K_SKIP;
    case K_TASK:
        return strcmp(n, "opcodes") == 0 ? K_TASK_OPCODES : K_SKIP;
    case K_TASK_OPCODES:
        if (strcmp(n, "opcode") == 0) {
            struct mx_item *it = px_item(p, &p->task->sub, atts, "value");
            if (it)
                it->task = p->task->has_value ? (uint32_t)p->task->value : MX_NO_TASK;
        }
        return K_SKIP;
    case K_OPCODES:
        if (strcmp(n, "opcode") == 0)
            px_item(p, &p->prov->opcodes, atts, "value");
        return K_SKIP;
    case K_LEVELS:
        if (strcmp(n, "level") == 0)
            px_item(p, &p->prov->levels, atts, "value");
        return K_SKIP;
    case K_KEYWORDS:
        if (strcmp(n, "keyword") == 0)
            px_item(p, &p->prov->keywords, atts, "mask");
        return K_SKIP;
    case K_CHANNELS:
        if (strcmp(n, "channel") == 0 || strcmp(n, "importChannel") == 0)
            px_item(p, &p->prov->channels, atts, "value");
        return K_SKIP;
    case K_LOCALIZATION:
        if (strcmp(n, "resources") == 0) {
            const char *c = attr(atts, "culture");
            p->culture_pref = (c && strcmp(c, "en-US") == 0) ? 0 : 1;
            return K_RESOURCES;
        }
        return K_SKIP;
    case K_RESOURCES:
        return strcmp(n, "stringTable") == 0 ? K_STRINGTABLE : K_SKIP;
    case K_STRINGTABLE:
        if (strcmp(n, "string") == 0) {
            const char *id = attr(atts, "id"), *v = attr(atts, "value");
            if (id == NULL || v == NULL) {
                px_fail(p, "string without id or value");
                return K_SKIP;
            }
            struct mx_string *s = px_new(p, sizeof *s);
            if (s == NULL)
                return K_SKIP;
            s->id = px_dup(p, id);
            s->value = px_dup(p, v);
            s->pref = p->culture_pref;
            list_add(&p->m->strings, s);
        }
        return K_SKIP;
    default:
        break;
    }
    /* Outside any provider: find providers and the localization section. */
    if (strcmp(n, "provider") == 0) {
        struct mx_provider *pv = px_new(p, sizeof *pv);
        if (pv == NULL)
            return K_SKIP;
        pv->name = px_dup(p, attr(atts, "name"));
        pv->guid = px_dup(p, attr(atts, "guid"));
        pv->message = px_dup(p, attr(atts, "message"));
        pv->line = px_line(p);
        if (pv->guid == NULL) {
            px_fail(p, "provider %s without a guid", pv->name ? pv->name : "");
            return K_SKIP;
        }
        list_add(&p->m->providers, pv);
        p->prov = pv;
        return K_PROVIDER;
    }
    if (strcmp(n, "localization") == 0)
        return K_LOCALIZATION;
    if (strcmp(n, "metadata") == 0)
        return K_SKIP; /* winmeta.xml itself: its values are built in */
    return K_OTHER;
}

static void XMLCALL px_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct px *p = ud;
    if (p->err)
        return;
    if (p->depth >= PX_MAX_DEPTH) {
        px_fail(p, "elements nested deeper than %d", PX_MAX_DEPTH);
        return;
    }
    enum kind parent = p->kinds[p->depth];
    p->depth++;
    p->containers[p->depth] = NULL;
    p->kinds[p->depth] = px_enter(p, parent, local_name(name), atts);
}

static void XMLCALL px_end(void *ud, const XML_Char *name)
{
    struct px *p = ud;
    (void)name;
    if (p->depth > 0) {
        enum kind k = p->kinds[p->depth];
        if (k == K_PROVIDER)
            p->prov = NULL;
        else if (k == K_EVENT)
            p->event = NULL;
        p->depth--;
    }
}

static void *XMLCALL mx_malloc(size_t n) { return mem_alloc(n); }
static void *XMLCALL mx_realloc(void *q, size_t n) { return mem_realloc(q, n); }
static void XMLCALL mx_free(void *q) { mem_free(q); }

/*
 * Parse XML text into the model.  base_kind is the kind of the virtual
 * parent of the root element (K_OTHER for files, K_EVENT for a template
 * fragment of the text form, with p->prov / p->event set).
 */
static int parse_xml(struct mx_model *m, const char *fname, const char *data, size_t len,
                     long line_base, enum kind base_kind, struct mx_provider *prov,
                     struct mx_event *event, struct errbuf *eb)
{
    static const XML_Memory_Handling_Suite mm = {mx_malloc, mx_realloc, mx_free};
    struct px p;
    memset(&p, 0, sizeof p);
    p.xp = XML_ParserCreate_MM(NULL, &mm, NULL);
    if (p.xp == NULL)
        return errbuf_set(eb, ERR_NOMEM, "%s: out of memory", fname);
    p.m = m;
    p.fname = fname;
    p.line_base = line_base;
    p.eb = eb;
    p.kinds[0] = base_kind;
    p.prov = prov;
    p.event = event;
    XML_SetUserData(p.xp, &p);
    XML_SetElementHandler(p.xp, px_start, px_end);
    int rc = 0;
    /* Feed in slices: expat takes an int length. */
    size_t off = 0;
    do {
        size_t n = len - off > (1u << 30) ? (1u << 30) : len - off;
        int final = off + n == len;
        if (XML_Parse(p.xp, data + off, (int)n, final) == XML_STATUS_ERROR) {
            if (p.err) {
                rc = p.err;
            } else if (XML_GetErrorCode(p.xp) == XML_ERROR_NO_MEMORY) {
                rc = errbuf_set(eb, ERR_NOMEM, "%s: out of memory", fname);
            } else {
                rc = errbuf_set(eb, ERR_FORMAT, "%s:%ld: %s", fname,
                                line_base + (long)XML_GetCurrentLineNumber(p.xp),
                                XML_ErrorString(XML_GetErrorCode(p.xp)));
            }
            break;
        }
        off += n;
    } while (off < len);
    if (rc == 0 && p.err)
        rc = p.err;
    XML_ParserFree(p.xp);
    return rc;
}

/* ---- The text form of `wevtutil gp NAME /ge /gm` ---------------------------------- */

struct tx {
    struct mx_model *m;
    const char *fname;
    struct errbuf *eb;
    long line;
    enum { S_NONE, S_CHANNELS, S_LEVELS, S_OPCODES, S_TASKS, S_KEYWORDS, S_EVENTS } sec;
    struct mx_provider *prov;
    struct mx_item *item;
    struct mx_event *event;
    const char **last_value; /* for continuation lines of an event message */
};

static const char *tx_dup(struct tx *t, const char *s, size_t n)
{
    return arena_dup(&t->m->a, s, n, 1);
}

static int tx_nomem(struct tx *t)
{
    return errbuf_set(t->eb, ERR_NOMEM, "%s: out of memory", t->fname);
}

static int tx_item_value(struct tx *t, struct mx_item *it, const char *key, const char *v,
                         int hex_default)
{
    uint64_t x;
    int rc = parse_num(v, &x);
    if (rc && hex_default) {
        /* Keyword masks are printed in hex without a prefix. */
        char buf[40];
        snprintf(buf, sizeof buf, "0x%s", v);
        rc = parse_num(buf, &x);
    }
    if (rc)
        return errbuf_set(t->eb, ERR_FORMAT, "%s:%ld: bad %s \"%s\"", t->fname, t->line, key, v);
    if (t->sec == S_OPCODES && x > 0xFF) {
        /* EvtPublisherMetadataOpcodeValue: opcode in the high word, task in the low word. */
        it->task = (x & 0xFFFF) ? (uint32_t)(x & 0xFFFF) : MX_NO_TASK;
        x >>= 16;
    }
    it->value = x;
    it->has_value = 1;
    return 0;
}

/* Parse one whole text-form document. */
static int parse_text(struct mx_model *m, const char *fname, const char *data, size_t len,
                      struct errbuf *eb)
{
    struct tx t;
    memset(&t, 0, sizeof t);
    t.m = m;
    t.fname = fname;
    t.eb = eb;
    size_t pos = 0;
    while (pos < len) {
        size_t e = pos;
        while (e < len && data[e] != '\n')
            e++;
        size_t next = e < len ? e + 1 : e;
        t.line++;
        size_t le = e;
        if (le > pos && data[le - 1] == '\r')
            le--;
        const char *ln = data + pos;
        size_t n = le - pos;
        size_t ind = 0;
        while (ind < n && (ln[ind] == ' ' || ln[ind] == '\t'))
            ind++;
        const char *body = ln + ind;
        size_t bn = n - ind;
        pos = next;
        if (bn == 0) {
            t.last_value = NULL;
            continue;
        }
        const char *colon = memchr(body, ':', bn);
        size_t klen = colon ? (size_t)(colon - body) : 0;
        int is_key = colon != NULL && klen > 0;
        for (size_t i = 0; i < klen && is_key; i++)
            if (!((body[i] >= 'a' && body[i] <= 'z') || (body[i] >= 'A' && body[i] <= 'Z')))
                is_key = 0;
        if (!is_key) {
            if (t.last_value && *t.last_value) {
                /* A message spanning several lines. */
                size_t ol = strlen(*t.last_value);
                char *nv = arena_alloc(&m->a, ol + 1 + n + 1);
                if (nv == NULL)
                    return tx_nomem(&t);
                memcpy(nv, *t.last_value, ol);
                nv[ol] = '\n';
                memcpy(nv + ol + 1, ln, n);
                nv[ol + 1 + n] = '\0';
                *t.last_value = nv;
                continue;
            }
            return errbuf_set(eb, ERR_FORMAT, "%s:%ld: expected \"key: value\"", fname, t.line);
        }
        char key[32];
        if (klen >= sizeof key)
            klen = sizeof key - 1;
        memcpy(key, body, klen);
        key[klen] = '\0';
        const char *vs = colon + 1;
        while (vs < body + bn && (*vs == ' ' || *vs == '\t'))
            vs++;
        size_t vn = (size_t)(body + bn - vs);
        const char *v = tx_dup(&t, vs, vn);
        if (v == NULL)
            return tx_nomem(&t);
        t.last_value = NULL;

        if (ind == 0) {
            /* Provider-level key. */
            t.item = NULL;
            t.event = NULL;
            if (strcmp(key, "name") == 0) {
                struct mx_provider *pv = arena_alloc(&m->a, sizeof *pv);
                if (pv == NULL)
                    return tx_nomem(&t);
                memset(pv, 0, sizeof *pv);
                pv->name = v;
                pv->line = t.line;
                pv->numeric_opcodes = 1;
                list_add(&m->providers, pv);
                t.prov = pv;
                t.sec = S_NONE;
                continue;
            }
            if (t.prov == NULL)
                return errbuf_set(eb, ERR_FORMAT, "%s:%ld: \"%s\" before the provider name",
                                  fname, t.line, key);
            if (strcmp(key, "guid") == 0)
                t.prov->guid = v;
            else if (strcmp(key, "message") == 0)
                t.prov->message = v;
            else if (strcmp(key, "channels") == 0)
                t.sec = S_CHANNELS;
            else if (strcmp(key, "levels") == 0)
                t.sec = S_LEVELS;
            else if (strcmp(key, "opcodes") == 0)
                t.sec = S_OPCODES;
            else if (strcmp(key, "tasks") == 0)
                t.sec = S_TASKS;
            else if (strcmp(key, "keywords") == 0)
                t.sec = S_KEYWORDS;
            else if (strcmp(key, "events") == 0)
                t.sec = S_EVENTS;
            else
                t.sec = S_NONE; /* helpLink, resourceFileName, ... */
            continue;
        }
        if (t.prov == NULL)
            return errbuf_set(eb, ERR_FORMAT, "%s:%ld: \"%s\" before the provider name", fname,
                              t.line, key);
        if (vn == 0 && t.sec == S_EVENTS && strcmp(key, "event") == 0) {
            struct mx_event *ev = arena_alloc(&m->a, sizeof *ev);
            if (ev == NULL)
                return tx_nomem(&t);
            memset(ev, 0, sizeof *ev);
            ev->line = t.line;
            list_add(&t.prov->events, ev);
            t.event = ev;
            continue;
        }
        if (vn == 0 && t.sec != S_EVENTS && t.sec != S_NONE &&
            (strcmp(key, "channel") == 0 || strcmp(key, "level") == 0 ||
             strcmp(key, "opcode") == 0 || strcmp(key, "task") == 0 ||
             strcmp(key, "keyword") == 0)) {
            struct mx_list *l = t.sec == S_CHANNELS ? &t.prov->channels
                                : t.sec == S_LEVELS ? &t.prov->levels
                                : t.sec == S_OPCODES ? &t.prov->opcodes
                                : t.sec == S_TASKS ? &t.prov->tasks
                                                   : &t.prov->keywords;
            struct mx_item *it = arena_alloc(&m->a, sizeof *it);
            if (it == NULL)
                return tx_nomem(&t);
            memset(it, 0, sizeof *it);
            it->task = MX_NO_TASK;
            it->line = t.line;
            list_add(l, it);
            t.item = it;
            continue;
        }
        if (t.sec == S_EVENTS && t.event) {
            struct mx_event *ev = t.event;
            if (strcmp(key, "template") == 0) {
                /* The template is an XML fragment running to its closing tag. */
                const char *start = vs;
                long first_line = t.line;
                const char *end_tag = "</template>";
                const char *found = NULL;
                size_t scan = (size_t)(vs - data);
                if (vn >= 2 && vs[vn - 2] == '/' && vs[vn - 1] == '>') {
                    found = vs + vn;
                } else {
                    for (size_t i = scan; i + 11 <= len; i++) {
                        if (data[i] == '\n')
                            t.line++;
                        if (memcmp(data + i, end_tag, 11) == 0) {
                            found = data + i + 11;
                            break;
                        }
                    }
                    if (found == NULL && vn > 0)
                        return errbuf_set(eb, ERR_FORMAT, "%s:%ld: template without </template>",
                                          fname, first_line);
                }
                if (vn == 0)
                    continue;
                int rc = parse_xml(m, fname, start, (size_t)(found - start), first_line - 1,
                                   K_EVENT, t.prov, ev, eb);
                if (rc)
                    return rc;
                /* Continue after the fragment's line. */
                size_t fpos = (size_t)(found - data);
                while (fpos < len && data[fpos] != '\n')
                    fpos++;
                pos = fpos < len ? fpos + 1 : fpos;
                continue;
            }
            const char **slot = strcmp(key, "value") == 0      ? &ev->value
                                : strcmp(key, "version") == 0  ? &ev->version
                                : strcmp(key, "opcode") == 0   ? &ev->opcode
                                : strcmp(key, "channel") == 0  ? &ev->channel
                                : strcmp(key, "level") == 0    ? &ev->level
                                : strcmp(key, "task") == 0     ? &ev->task
                                : strcmp(key, "keywords") == 0 ? &ev->keywords
                                : strcmp(key, "message") == 0  ? &ev->message
                                                               : NULL;
            if (slot) {
                *slot = v;
                if (slot == &ev->message)
                    t.last_value = slot;
            }
            continue;
        }
        if (t.item) {
            struct mx_item *it = t.item;
            if (strcmp(key, "name") == 0) {
                it->name = v;
            } else if (strcmp(key, "message") == 0) {
                it->message = v;
            } else if (strcmp(key, "eventGUID") == 0) {
                it->guid = v;
            } else if (strcmp(key, "value") == 0 || strcmp(key, "mask") == 0 ||
                       strcmp(key, "id") == 0) {
                int rc = tx_item_value(&t, it, key, v, strcmp(key, "mask") == 0);
                if (rc)
                    return rc;
            }
            continue;
        }
        /* Unknown nested keys outside items are ignored. */
    }
    /* Task-specific opcodes found in the flat opcode list move under their task. */
    for (struct mx_link *pl = m->providers.head; pl; pl = pl->next) {
        struct mx_provider *pv = (struct mx_provider *)pl;
        if (!pv->numeric_opcodes)
            continue;
        if (pv->guid == NULL)
            return errbuf_set(eb, ERR_FORMAT, "%s:%ld: provider %s without a guid", fname,
                              pv->line, pv->name ? pv->name : "");
        for (struct mx_link *l = pv->events.head; l; l = l->next) {
            struct mx_event *ev = (struct mx_event *)l;
            if (ev->value == NULL)
                return errbuf_set(eb, ERR_FORMAT, "%s:%ld: event without a value", fname,
                                  ev->line);
        }
    }
    return 0;
}

/* ---- Resolution ------------------------------------------------------------------------ */

static int string_cmp(const void *a, const void *b)
{
    const struct mx_string *x = *(const struct mx_string *const *)a;
    const struct mx_string *y = *(const struct mx_string *const *)b;
    int c = strcmp(x->id, y->id);
    return c ? c : x->pref - y->pref;
}

static int build_string_table(struct mx_model *m)
{
    size_t n = 0;
    for (struct mx_link *l = m->strings.head; l; l = l->next)
        n++;
    if (n == 0)
        return 0;
    m->sorted = mem_alloc(n * sizeof *m->sorted);
    if (m->sorted == NULL)
        return ERR_NOMEM;
    n = 0;
    for (struct mx_link *l = m->strings.head; l; l = l->next)
        m->sorted[n++] = (struct mx_string *)l;
    qsort(m->sorted, n, sizeof *m->sorted, string_cmp);
    m->nsorted = n;
    return 0;
}

/* Resolve "$(string.X)"; other text is returned as is; NULL stays NULL. */
static const char *resolve(const struct mx_model *m, const char *msg)
{
    if (msg == NULL)
        return NULL;
    size_t n = strlen(msg);
    if (n < 11 || strncmp(msg, "$(string.", 9) != 0 || msg[n - 1] != ')')
        return msg;
    const char *id = msg + 9;
    size_t idn = n - 10;
    size_t lo = 0, hi = m->nsorted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *s = m->sorted[mid]->id;
        int c = strncmp(s, id, idn);
        if (c == 0 && s[idn] != '\0')
            c = 1;
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < m->nsorted && strncmp(m->sorted[lo]->id, id, idn) == 0 &&
        m->sorted[lo]->id[idn] == '\0')
        return m->sorted[lo]->value;
    return NULL;
}

/* Display name of an item: its localized message, else its name. */
static const char *item_label(const struct mx_model *m, const struct mx_item *it)
{
    const char *r = resolve(m, it->message);
    if (r && r[0])
        return r;
    return it->name;
}

static const struct mx_item *item_by_name(const struct mx_list *l, const char *name)
{
    for (const struct mx_link *x = l->head; x; x = x->next) {
        const struct mx_item *it = (const struct mx_item *)x;
        if ((it->name && strcmp(it->name, name) == 0) || (it->chid && strcmp(it->chid, name) == 0))
            return it;
    }
    return NULL;
}

/*
 * The item of value v; with a task given, an opcode of that very task is
 * preferred over a provider-wide one (the text form lists both together).
 */
static const struct mx_item *item_by_value(const struct mx_list *l, uint64_t v, uint32_t task)
{
    const struct mx_item *any = NULL;
    for (const struct mx_link *x = l->head; x; x = x->next) {
        const struct mx_item *it = (const struct mx_item *)x;
        if (!it->has_value || it->value != v)
            continue;
        if (task == MX_NO_TASK || it->task == task)
            return it;
        if (it->task == MX_NO_TASK && any == NULL)
            any = it;
    }
    return any;
}

/* ---- Building schemas ---------------------------------------------------------------- */

struct bx {
    struct manifest_set *ms;
    struct mx_model *m;
    struct mx_provider *pv;
    etwhost_guid guid;
    const char *fname;
    struct errbuf *eb;
    /* Schemas built for this file, published only when the whole file is good. */
    struct schema **out;
    size_t nout, capout;
};

/* One container level while placing fields. */
struct place {
    struct mx_list *list;      /* the siblings */
    struct mx_field *owner;    /* the struct (NULL for the top level) */
    struct place *parent;      /* enclosing level */
    struct mx_field *upto;     /* in the parent: the struct field itself */
};

static const struct mx_field *ref_lookup(const struct place *pl, const struct mx_field *self,
                                         const char *name)
{
    const struct mx_field *stop = self;
    for (; pl; stop = pl->upto, pl = pl->parent) {
        for (const struct mx_link *x = pl->list->head; x; x = x->next) {
            const struct mx_field *f = (const struct mx_field *)x;
            if (f == stop)
                break;
            if (f->placed && !f->is_struct && strcmp(f->name, name) == 0)
                return f;
        }
    }
    return NULL;
}

static int bx_fail_field(struct bx *b, const struct mx_field *f, const char *what,
                         const char *arg)
{
    return errbuf_set(b->eb, ERR_FORMAT, "%s:%ld: field \"%s\": %s%s%s%s", b->fname, f->line,
                      f->name, what, arg ? " \"" : "", arg ? arg : "", arg ? "\"" : "");
}

/* Add the fields of one container; struct members are queued (breadth-first layout). */
static int add_fields(struct bx *b, struct schema_builder *sb, struct place *pl,
                      struct place **queue, size_t *nq, size_t capq)
{
    for (struct mx_link *x = pl->list->head; x; x = x->next) {
        struct mx_field *f = (struct mx_field *)x;
        struct schema_field sf;
        memset(&sf, 0, sizeof sf);
        sf.name = f->name;
        sf.name_len = (uint32_t)strlen(f->name);
        if (f->is_struct) {
            if (f->children.head == NULL)
                return bx_fail_field(b, f, "struct without members", NULL);
            sf.in_type = SCHEMA_IN_STRUCT;
        } else {
            sf.in_type = (uint16_t)manifest_in_type(f->in);
            if (sf.in_type == 0)
                return bx_fail_field(b, f, "unknown inType", f->in);
            sf.out_type = (uint16_t)manifest_out_type(f->out);
        }
        uint64_t num;
        if (f->count) {
            if (parse_num(f->count, &num) == 0) {
                if (num > 0xFFFFFFFFu)
                    return bx_fail_field(b, f, "count too large", f->count);
                sf.arity = SCHEMA_ARITY_FIXED;
                sf.count = (uint32_t)num;
            } else {
                const struct mx_field *r = ref_lookup(pl, f, f->count);
                if (r == NULL)
                    return bx_fail_field(b, f, "count names no earlier field", f->count);
                sf.arity = SCHEMA_ARITY_FIELD;
                sf.count = r->index;
            }
        }
        if (f->length && !f->is_struct) {
            if (parse_num(f->length, &num) == 0) {
                if (num > 0xFFFFFFFFu)
                    return bx_fail_field(b, f, "length too large", f->length);
                sf.len_kind = SCHEMA_LEN_FIXED;
                sf.length = (uint32_t)num;
            } else {
                const struct mx_field *r = ref_lookup(pl, f, f->length);
                if (r == NULL)
                    return bx_fail_field(b, f, "length names no earlier field", f->length);
                sf.len_kind = SCHEMA_LEN_FIELD;
                sf.length = r->index;
            }
        }
        if (f->map && !f->is_struct) {
            sf.map = schema_cache_map_slot(b->ms->cache, &b->guid, f->map, strlen(f->map));
            if (sf.map == NULL)
                return errbuf_set(b->eb, ERR_NOMEM, "%s: out of memory", b->fname);
        }
        int idx = schema_builder_add(sb, &sf);
        if (idx < 0)
            return errbuf_set(b->eb, idx, "%s: out of memory", b->fname);
        f->index = (uint32_t)idx;
        f->placed = 1;
        if (f->is_struct) {
            if (*nq >= capq)
                return bx_fail_field(b, f, "too many structs", NULL);
            struct place *np = queue[*nq];
            np->list = &f->children;
            np->owner = f;
            np->parent = pl;
            np->upto = f;
            (*nq)++;
        }
    }
    return 0;
}

static size_t count_structs(const struct mx_list *l)
{
    size_t n = 0;
    for (const struct mx_link *x = l->head; x; x = x->next) {
        const struct mx_field *f = (const struct mx_field *)x;
        if (f->is_struct)
            n += 1 + count_structs(&f->children);
    }
    return n;
}

static void clear_placed(struct mx_list *l)
{
    for (struct mx_link *x = l->head; x; x = x->next) {
        struct mx_field *f = (struct mx_field *)x;
        f->placed = 0;
        clear_placed(&f->children);
    }
}

static uint32_t list_len(const struct mx_list *l)
{
    uint32_t n = 0;
    for (const struct mx_link *x = l->head; x; x = x->next)
        n++;
    return n;
}

/* Lay the template's fields out: top level first, then each struct's members in turn. */
static int build_fields(struct bx *b, struct schema_builder *sb, struct mx_template *t,
                        uint32_t *ntop)
{
    clear_placed(&t->fields);
    size_t ns = count_structs(&t->fields);
    struct place top = {&t->fields, NULL, NULL, NULL};
    struct place *store = NULL, **queue = NULL;
    if (ns) {
        store = mem_calloc(ns, sizeof *store);
        queue = mem_calloc(ns, sizeof *queue);
        if (store == NULL || queue == NULL) {
            mem_free(store);
            mem_free(queue);
            return errbuf_set(b->eb, ERR_NOMEM, "%s: out of memory", b->fname);
        }
        for (size_t i = 0; i < ns; i++)
            queue[i] = &store[i];
    }
    size_t nq = 0, done = 0;
    int rc = add_fields(b, sb, &top, queue, &nq, ns);
    *ntop = list_len(&t->fields);
    while (rc == 0 && done < nq) {
        struct place *pl = queue[done++];
        uint32_t first = (uint32_t)sb->nfields;
        rc = add_fields(b, sb, pl, queue, &nq, ns);
        if (rc == 0) {
            struct schema_field *sf = schema_builder_field(sb, pl->owner->index);
            sf->first = first;
            sf->nmembers = (uint32_t)sb->nfields - first;
        }
    }
    mem_free(store);
    mem_free(queue);
    return rc;
}

static int set_name(struct bx *b, struct schema_builder *sb, int which, const char *s)
{
    if (s == NULL || s[0] == '\0')
        return 0;
    if (schema_builder_set_name(sb, which, s, strlen(s)))
        return errbuf_set(b->eb, ERR_NOMEM, "%s: out of memory", b->fname);
    return 0;
}

static int bx_fail_event(struct bx *b, const struct mx_event *e, const char *what,
                         const char *arg)
{
    return errbuf_set(b->eb, ERR_FORMAT, "%s:%ld: event %s version %s: %s \"%s\"", b->fname,
                      e->line, e->value, e->version ? e->version : "0", what, arg ? arg : "");
}

static struct mx_template *find_template(struct mx_provider *pv, const char *tid)
{
    for (struct mx_link *x = pv->templates.head; x; x = x->next) {
        struct mx_template *t = (struct mx_template *)x;
        if (strcmp(t->tid, tid) == 0)
            return t;
    }
    return NULL;
}

static int build_event(struct bx *b, struct mx_event *e)
{
    struct mx_model *m = b->m;
    struct mx_provider *pv = b->pv;
    uint64_t id, version = 0, v;
    if (parse_num(e->value, &id) || id > 0xFFFF)
        return bx_fail_event(b, e, "bad value", e->value);
    if (e->version && (parse_num(e->version, &version) || version > 0xFF))
        return bx_fail_event(b, e, "bad version", e->version);

    struct schema_builder sb;
    schema_builder_init(&sb, SCHEMA_SRC_MANIFEST);
    sb.hdr.provider = b->guid;
    sb.hdr.id = (uint16_t)id;
    sb.hdr.version = (uint8_t)version;
    int rc = set_name(b, &sb, SCHEMA_NAME_PROVIDER, pv->name);

    /* Level. */
    const char *level_name = NULL;
    if (rc == 0 && e->level) {
        const struct mx_item *it = NULL;
        const struct wm_entry *w = NULL;
        if (parse_num(e->level, &v) == 0) {
            it = item_by_value(&pv->levels, v, MX_NO_TASK);
            w = it ? NULL : wm_by_value(wm_levels, WM_COUNT(wm_levels), v);
        } else if ((it = item_by_name(&pv->levels, e->level)) != NULL) {
            v = it->value;
        } else if ((w = wm_by_name(wm_levels, WM_COUNT(wm_levels), e->level)) != NULL) {
            v = w->value;
        } else {
            rc = bx_fail_event(b, e, "unknown level", e->level);
        }
        if (rc == 0) {
            sb.hdr.level = (uint8_t)v;
            level_name = it ? item_label(m, it) : w ? w->message : NULL;
        }
    }
    /* Task. */
    const struct mx_item *task = NULL;
    uint32_t task_value = MX_NO_TASK;
    if (rc == 0 && e->task) {
        if (parse_num(e->task, &v) == 0) {
            task = item_by_value(&pv->tasks, v, MX_NO_TASK);
        } else if ((task = item_by_name(&pv->tasks, e->task)) != NULL && task->has_value) {
            v = task->value;
        } else if (strcmp(e->task, "win:None") == 0) {
            v = 0;
        } else {
            rc = bx_fail_event(b, e, "unknown task", e->task);
        }
        if (rc == 0) {
            sb.hdr.task = (uint16_t)v;
            task_value = (uint32_t)v;
            if (task && task->guid)
                guid_parse(task->guid, strlen(task->guid), &sb.hdr.event_guid);
        }
    }
    const char *task_name = task ? item_label(m, task) : NULL;
    /* Opcode: task-specific, then provider-wide, then winmeta. */
    const char *opcode_name = NULL;
    if (rc == 0 && e->opcode) {
        const struct mx_item *it = NULL;
        const struct wm_entry *w = NULL;
        if (parse_num(e->opcode, &v) == 0) {
            if (task)
                it = item_by_value(&task->sub, v, MX_NO_TASK);
            if (it == NULL)
                it = item_by_value(&pv->opcodes, v, task_value);
            if (it == NULL)
                w = wm_by_value(wm_opcodes, WM_COUNT(wm_opcodes), v);
        } else {
            if (task)
                it = item_by_name(&task->sub, e->opcode);
            if (it == NULL)
                it = item_by_name(&pv->opcodes, e->opcode);
            if (it && it->has_value)
                v = it->value;
            else if ((w = wm_by_name(wm_opcodes, WM_COUNT(wm_opcodes), e->opcode)) != NULL)
                v = w->value;
            else
                rc = bx_fail_event(b, e, "unknown opcode", e->opcode);
        }
        if (rc == 0) {
            sb.hdr.opcode = (uint8_t)v;
            opcode_name = it ? item_label(m, it) : w ? w->message : NULL;
        }
    }
    /* Keywords: a number or names separated by spaces. */
    if (rc == 0 && e->keywords) {
        if (parse_num(e->keywords, &v) == 0) {
            sb.hdr.keywords = v;
        } else {
            char name[256];
            const char *s = e->keywords;
            while (rc == 0 && *s) {
                while (*s == ' ' || *s == '\t')
                    s++;
                size_t n = 0;
                while (s[n] && s[n] != ' ' && s[n] != '\t')
                    n++;
                if (n == 0)
                    break;
                if (n >= sizeof name)
                    n = sizeof name - 1;
                memcpy(name, s, n);
                name[n] = '\0';
                s += n;
                const struct mx_item *it = item_by_name(&pv->keywords, name);
                const struct wm_entry *w = it ? NULL
                                              : wm_by_name(wm_keywords, WM_COUNT(wm_keywords), name);
                if (it)
                    sb.hdr.keywords |= it->value;
                else if (w)
                    sb.hdr.keywords |= w->value;
                else
                    rc = bx_fail_event(b, e, "unknown keyword", name);
            }
            if (rc == 0)
                rc = set_name(b, &sb, SCHEMA_NAME_KEYWORDS, e->keywords);
        }
    }
    /* Channel: chid, name or value. */
    if (rc == 0 && e->channel) {
        const struct mx_item *it = NULL;
        const struct wm_entry *w = NULL;
        if (parse_num(e->channel, &v) == 0) {
            it = item_by_value(&pv->channels, v, MX_NO_TASK);
            w = it ? NULL : wm_by_value(wm_channels, WM_COUNT(wm_channels), v);
        } else if ((it = item_by_name(&pv->channels, e->channel)) != NULL) {
            v = it->value;
        } else if ((w = wm_by_name(wm_channels, WM_COUNT(wm_channels), e->channel)) != NULL) {
            v = w->value;
        } else {
            rc = bx_fail_event(b, e, "unknown channel", e->channel);
        }
        if (rc == 0) {
            sb.hdr.channel = (uint8_t)v;
            rc = set_name(b, &sb, SCHEMA_NAME_CHANNEL,
                          it ? (it->name ? it->name : item_label(m, it)) : w ? w->message : NULL);
        }
    }
    if (rc == 0)
        rc = set_name(b, &sb, SCHEMA_NAME_LEVEL, level_name);
    if (rc == 0)
        rc = set_name(b, &sb, SCHEMA_NAME_TASK, task_name);
    if (rc == 0)
        rc = set_name(b, &sb, SCHEMA_NAME_OPCODE, sb.hdr.opcode || e->opcode ? opcode_name : NULL);
    if (rc == 0)
        rc = set_name(b, &sb, SCHEMA_NAME_MESSAGE, resolve(m, e->message));
    /* Event name: explicit, else Task/Opcode as TraceEvent shows it, else symbol. */
    if (rc == 0) {
        char nm[512];
        const char *en = e->name;
        if (en == NULL && task_name) {
            if (sb.hdr.opcode != 0 && opcode_name)
                snprintf(nm, sizeof nm, "%s/%s", task_name, opcode_name);
            else
                snprintf(nm, sizeof nm, "%s", task_name);
            en = nm;
        } else if (en == NULL && e->symbol) {
            en = e->symbol;
        } else if (en == NULL) {
            snprintf(nm, sizeof nm, "EventID(%u)", (unsigned)id);
            en = nm;
        }
        rc = set_name(b, &sb, SCHEMA_NAME_EVENT, en);
    }
    /* Fields. */
    uint32_t ntop = 0;
    if (rc == 0) {
        struct mx_template *t = e->inline_tmpl;
        if (t == NULL && e->tmpl_name) {
            t = find_template(pv, e->tmpl_name);
            if (t == NULL)
                rc = bx_fail_event(b, e, "unknown template", e->tmpl_name);
        }
        if (rc == 0 && t)
            rc = build_fields(b, &sb, t, &ntop);
    }
    struct schema *s = NULL;
    if (rc == 0) {
        struct errbuf feb;
        rc = schema_builder_finish(&sb, ntop, NULL, &s, &feb);
        if (rc == ERR_NOMEM)
            errbuf_set(b->eb, rc, "%s: out of memory", b->fname);
        else if (rc)
            errbuf_set(b->eb, rc, "%s:%ld: event %s version %s: %s", b->fname, e->line,
                       e->value, e->version ? e->version : "0", feb.msg);
    }
    schema_builder_free(&sb);
    if (rc)
        return rc;
    if (b->nout == b->capout) {
        if (mem_grow(&b->out, &b->capout, b->nout + 1, sizeof *b->out)) {
            schema_free(s);
            return errbuf_set(b->eb, ERR_NOMEM, "%s: out of memory", b->fname);
        }
    }
    b->out[b->nout++] = s;
    return 0;
}

static int build_maps(struct bx *b)
{
    for (struct mx_link *x = b->pv->maps.head; x; x = x->next) {
        struct mx_map *mp = (struct mx_map *)x;
        uint32_t n = mp->n;
        uint64_t *values = mem_calloc(n ? n : 1, sizeof *values);
        const char **labels = mem_calloc(n ? n : 1, sizeof *labels);
        size_t *lens = mem_calloc(n ? n : 1, sizeof *lens);
        int rc = 0;
        if (values == NULL || labels == NULL || lens == NULL)
            rc = ERR_NOMEM;
        uint32_t i = 0;
        for (struct mx_link *y = mp->entries.head; y && rc == 0 && i < n; y = y->next, i++) {
            struct mx_item *it = (struct mx_item *)y;
            const char *l = resolve(b->m, it->message);
            if (l == NULL)
                l = it->message ? it->message : "";
            values[i] = it->value;
            labels[i] = l;
            lens[i] = strlen(l);
        }
        struct schema_map *map = NULL;
        if (rc == 0)
            rc = schema_map_new(mp->name, strlen(mp->name), mp->kind, values, labels, lens, i,
                                &map);
        mem_free(values);
        mem_free(labels);
        mem_free(lens);
        if (rc == 0) {
            rc = schema_cache_add_map(b->ms->cache, &b->guid, map);
            if (rc == 0)
                b->ms->st.maps++;
            if (rc == ERR_EXISTS || rc == ERR_RANGE)
                rc = 0; /* the first map of a name wins; a full cache keeps labels off */
        }
        if (rc)
            return errbuf_set(b->eb, ERR_NOMEM, "%s: out of memory", b->fname);
    }
    return 0;
}

/* Channels without a value get 16, 17, ... in order, as the message compiler assigns them. */
static void assign_channels(struct mx_provider *pv)
{
    uint64_t next = 16;
    for (struct mx_link *x = pv->channels.head; x; x = x->next) {
        struct mx_item *it = (struct mx_item *)x;
        if (it->has_value) {
            if (it->value >= next)
                next = it->value + 1;
            continue;
        }
        const struct wm_entry *w =
            it->name ? wm_by_name(wm_channels, WM_COUNT(wm_channels), it->name) : NULL;
        it->value = w ? w->value : next++;
        it->has_value = 1;
    }
}

static int build_model(struct manifest_set *ms, struct mx_model *m, const char *fname,
                       struct errbuf *eb)
{
    if (build_string_table(m))
        return errbuf_set(eb, ERR_NOMEM, "%s: out of memory", fname);
    struct bx b;
    memset(&b, 0, sizeof b);
    b.ms = ms;
    b.m = m;
    b.fname = fname;
    b.eb = eb;
    int rc = 0;
    size_t nprov = 0;
    for (struct mx_link *x = m->providers.head; x && rc == 0; x = x->next) {
        struct mx_provider *pv = (struct mx_provider *)x;
        b.pv = pv;
        nprov++;
        if (guid_parse(pv->guid, strlen(pv->guid), &b.guid)) {
            rc = errbuf_set(eb, ERR_FORMAT, "%s:%ld: provider %s: bad guid \"%s\"", fname,
                            pv->line, pv->name ? pv->name : "", pv->guid);
            break;
        }
        assign_channels(pv);
        for (struct mx_link *y = pv->events.head; y && rc == 0; y = y->next)
            rc = build_event(&b, (struct mx_event *)y);
        if (rc == 0)
            rc = build_maps(&b);
        if (rc == 0 && pv->name &&
            schema_cache_set_provider_name(ms->cache, &b.guid, pv->name, strlen(pv->name)))
            rc = errbuf_set(eb, ERR_NOMEM, "%s: out of memory", fname);
    }
    if (rc == 0 && nprov == 0)
        rc = errbuf_set(eb, ERR_FORMAT, "%s:1: no <provider> found", fname);
    if (rc == 0 && table_grow(ms, ms->count + b.nout))
        rc = errbuf_set(eb, ERR_NOMEM, "%s: out of memory", fname);
    if (rc == 0) {
        for (size_t i = 0; i < b.nout; i++)
            table_put(ms, b.out[i]);
        ms->st.files++;
        ms->st.providers += nprov;
    } else {
        for (size_t i = 0; i < b.nout; i++)
            schema_free(b.out[i]);
    }
    mem_free(b.out);
    return rc;
}

/* ---- Loading ------------------------------------------------------------------------------ */

/* UTF-16LE (after a BOM) to UTF-8 in a new mem block. */
static char *utf16_to_utf8(const uint8_t *p, size_t len, size_t *out_len)
{
    size_t units = len / 2;
    size_t cap = units * 3 + 1;
    char *o = mem_alloc(cap);
    if (o == NULL)
        return NULL;
    *out_len = schema_utf16_to_utf8(p, units, o, cap);
    return o;
}

int manifest_set_load_mem(struct manifest_set *ms, const char *name, const void *data,
                          size_t len, struct errbuf *eb)
{
    const uint8_t *p = data;
    char *conv = NULL;
    if (len >= 2 && p[0] == 0xFF && p[1] == 0xFE) {
        size_t n = 0;
        conv = utf16_to_utf8(p + 2, len - 2, &n);
        if (conv == NULL)
            return errbuf_set(eb, ERR_NOMEM, "%s: out of memory", name);
        p = (const uint8_t *)conv;
        len = n;
    } else if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
        p += 3;
        len -= 3;
    }
    size_t i = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    struct mx_model m;
    memset(&m, 0, sizeof m);
    m.a.chunk_size = 256 * 1024;
    int rc;
    if (i == len)
        rc = errbuf_set(eb, ERR_FORMAT, "%s:1: empty manifest", name);
    else if (p[i] == '<')
        rc = parse_xml(&m, name, (const char *)p, len, 0, K_OTHER, NULL, NULL, eb);
    else
        rc = parse_text(&m, name, (const char *)p, len, eb);
    if (rc == 0)
        rc = build_model(ms, &m, name, eb);
    mem_free(m.sorted);
    arena_free(&m.a);
    mem_free(conv);
    return rc;
}

int manifest_set_load_file(struct manifest_set *ms, const char *path, struct errbuf *eb)
{
    const uint8_t *data = NULL;
    size_t size = 0;
    int rc = plat_map_file(path, &data, &size, eb);
    if (rc)
        return rc;
    rc = manifest_set_load_mem(ms, path, data ? data : (const uint8_t *)"", size, eb);
    if (data)
        plat_unmap(data, size);
    return rc;
}
