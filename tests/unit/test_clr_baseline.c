/*
 * The real CLR manifest (shared/corpus/manifests/ClrEtwAll.man) on the CLR
 * traces of the corpus, event by event against TraceEvent's baselines
 * (shared/corpus/expected/perfview__*.baseline.txt).
 *
 * A baseline line is "EVENT <ms>: <Provider>/<Event> PID=..; TID=..; PName=..;
 * ProceNum=..; DataLen=..; field=value; ..." (values cut to 20 characters
 * plus "..."); the baselines hold the first five events of each kind plus
 * COUNT lines.  Each line is matched to the decoded event with the same
 * pid, tid and payload length whose relative time is closest (within 2 µs),
 * preferring one with the same name.  Names are compared as TraceEvent forms
 * them: provider name "/" event name, which the manifest source builds from
 * the task and opcode messages.  Values are compared after normalising
 * TraceEvent's formatting: numbers with thousands separators or in hex are
 * compared as numbers (the manifest's out-types only change the display),
 * enum and bitmap labels as text (", " vs " | "), strings and GUIDs on the
 * 20 characters TraceEvent keeps.
 *
 * Only the manifest source decodes CLR events here: the embedded TDH
 * metadata of the merged traces is deliberately not ingested, so what is
 * measured is the manifest parser.  Every mismatch is classified, and any
 * mismatch outside these classes fails the test:
 *   - event unknown to the manifest: the corpus manifest predates the .NET 8
 *     runtime of gcevents/gcrundown (MarkWithType, GC settings rundown ...);
 *   - beyond the manifest template: the event carries more bytes than its
 *     template describes (a newer runtime appended fields without a version
 *     bump) and TraceEvent's parser knows them;
 *   - not in the payload: our decode consumed the whole payload, so the
 *     value cannot come from it: TraceEvent lists fields of newer versions
 *     with default values (ReJITID, OptimizationTier ...) and computed ones
 *     (ModuleILFileName, TypeName looked up from other events);
 *   - enum value not in the manifest's map (ReadyToRun, PinnedObjectHeap,
 *     "None" for 0) and TraceEvent enums on fields the manifest maps with
 *     nothing (NgenBind ReasonCode, private GC history);
 *   - names in known_names below.
 */
#include "test.h"

#include <math.h>

#include "core/arena.h"
#include "core/mem.h"
#include "decode/decode.h"
#include "etl/etl_reader.h"
#include "platform/platform.h"
#include "schema/manifest_xml.h"
#include "schema/schema_cache.h"
#include "schema/schema_sources.h"

/* ---- Baseline lines ------------------------------------------------------------------ */

/*
 * Kernel mode: compare the kernel and KernelTraceControl events (built-in
 * MOF source) instead of the CLR ones; field names compare without case
 * (TraceEvent says ProcessID where the MOF class says ProcessId) and
 * perfinfo records, which carry no pid/tid, match on time and length.
 */
static int g_kernel_mode;

#define BL_MAX_FIELDS 64

struct bl_field {
    char *name, *value;
};

struct bl_line {
    double ms;
    char *name; /* "Provider/Event" */
    uint32_t pid, tid, datalen;
    struct bl_field f[BL_MAX_FIELDS];
    int nf;
    int clr;
    /* Best match so far. */
    int matched;
    int name_eq;
    double dms;
    int fields_eq, fields_cmp;
    char ours[200];
    char report[2048]; /* mismatches of the best match */
    int n_missing_trailing, n_computed, n_missing, n_label_newer, n_label_te, n_value, n_skipped;
    int n_path, n_te_zero;
    int no_schema; /* the best match had no schema (event newer than the manifest) */
};

static double parse_num_commas(const char *s, int *ok)
{
    char buf[64];
    size_t n = 0;
    for (; *s && n + 1 < sizeof buf; s++)
        if (*s != ',')
            buf[n++] = *s;
    buf[n] = '\0';
    char *end;
    double v = strtod(buf, &end);
    *ok = n > 0 && *end == '\0';
    return v;
}

/* Split one baseline line in place; 0 if it is not an EVENT line. */
static int bl_parse(char *line, struct bl_line *b)
{
    memset(b, 0, sizeof *b);
    if (strncmp(line, "EVENT ", 6) != 0)
        return 0;
    char *p = line + 6;
    char *colon = strstr(p, ": ");
    if (colon == NULL)
        return 0;
    *colon = '\0';
    int ok;
    b->ms = parse_num_commas(p, &ok);
    if (!ok)
        return 0;
    p = colon + 2;
    char *pidp = strstr(p, " PID=");
    if (pidp == NULL)
        return 0;
    *pidp = '\0';
    b->name = p;
    p = pidp + 1;
    /* "k=v; k=v; " */
    while (*p) {
        char *semi = strstr(p, "; ");
        if (semi)
            *semi = '\0';
        char *eq = strchr(p, '=');
        if (eq) {
            *eq = '\0';
            const char *k = p, *v = eq + 1;
            if (strcmp(k, "PID") == 0)
                b->pid = (uint32_t)strtol(v, NULL, 10);
            else if (strcmp(k, "TID") == 0)
                b->tid = (uint32_t)strtol(v, NULL, 10);
            else if (strcmp(k, "DataLen") == 0)
                b->datalen = (uint32_t)parse_num_commas(v, &ok);
            else if (strcmp(k, "PName") == 0 || strcmp(k, "ProceNum") == 0)
                ;
            else if (b->nf < BL_MAX_FIELDS) {
                b->f[b->nf].name = (char *)k;
                b->f[b->nf].value = (char *)v;
                b->nf++;
            }
        }
        if (semi == NULL)
            break;
        p = semi + 2;
    }
    if (g_kernel_mode)
        b->clr = strncmp(b->name, "Windows Kernel/", 15) == 0 ||
                 strncmp(b->name, "KernelTraceControl/", 19) == 0;
    else
        b->clr = strncmp(b->name, "Microsoft-Windows-DotNETRuntime", 31) == 0;
    return 1;
}

/* ---- Our values in TraceEvent's terms ------------------------------------------------- */

static int name_eq(const char *a, size_t an, const char *b)
{
    if (an != strlen(b))
        return 0;
    for (size_t i = 0; i < an; i++) {
        char x = a[i], y = b[i];
        if (g_kernel_mode) {
            x = (char)(x >= 'A' && x <= 'Z' ? x + 32 : x);
            y = (char)(y >= 'A' && y <= 'Z' ? y + 32 : y);
        }
        if (x != y)
            return 0;
    }
    return 1;
}

static const etwhost_prop *find_prop(const struct event *e, const char *name)
{
    for (uint32_t i = e->nprops ? 0 : ETWHOST_NONE; i != ETWHOST_NONE; i = e->props[i].next)
        if (name_eq(e->props[i].name, e->props[i].name_len, name))
            return &e->props[i];
    return NULL;
}

/* UTF-8 text of a string property (UTF-16 converted). */
static void prop_text(const etwhost_prop *p, char *out, size_t cap)
{
    if (p->reserved == PROP_ENC_UTF16) {
        schema_utf16_to_utf8(p->data, p->size / 2, out, cap);
    } else {
        size_t n = p->size < cap - 1 ? p->size : cap - 1;
        memcpy(out, p->data, n);
        out[n] = '\0';
    }
}

/* First 20 UTF-16 code units of s (as TraceEvent cuts), "..." when cut; \n escaped. */
static void te_cut(const char *s, char *out, size_t cap)
{
    size_t units = 0, o = 0;
    const unsigned char *u = (const unsigned char *)s;
    while (*u && units < 20 && o + 8 < cap) {
        int len = *u < 0x80 ? 1 : *u < 0xE0 ? 2 : *u < 0xF0 ? 3 : 4;
        units += len == 4 ? 2 : 1;
        if (units > 20)
            break;
        if (*u == '\n' || *u == '\r') {
            out[o++] = '\\';
            out[o++] = *u == '\n' ? 'n' : 'r';
            u++;
            continue;
        }
        for (int i = 0; i < len && *u; i++)
            out[o++] = (char)*u++;
    }
    if (*u && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static int is_int_type(uint16_t t)
{
    return (t >= ETWHOST_PT_I8 && t <= ETWHOST_PT_U64) || t == ETWHOST_PT_POINTER ||
           t == ETWHOST_PT_BOOL;
}

enum cmp_result { CMP_EQ, CMP_MISSING, CMP_LABEL, CMP_VALUE, CMP_SKIP, CMP_PATH, CMP_TE_ZERO };

/* 1 if the schema field named like the property has a value map or bitmap. */
static int field_has_map(const struct event *e, const char *name)
{
    const struct schema *s = e->schema;
    if (s == NULL)
        return 0;
    for (uint32_t i = 0; i < s->nfields; i++)
        if (strcmp(s->fields[i].name, name) == 0)
            return s->fields[i].map != NULL;
    return 0;
}

static enum cmp_result compare_field(const struct event *e, const struct bl_field *bf,
                                     char *why, size_t cap)
{
    const etwhost_prop *p = find_prop(e, bf->name);
    if (p == NULL) {
        snprintf(why, cap, "%s: not in our event", bf->name);
        return CMP_MISSING;
    }
    const char *bv = bf->value;
    char buf[1024];
    if (is_int_type(p->type) && p->format == ETWHOST_FMT_IPV4) {
        /* Network byte order: the first byte in memory is the first number. */
        uint64_t b = event_prop_bits(p);
        snprintf(buf, sizeof buf, "%u.%u.%u.%u", (unsigned)(b & 0xFF), (unsigned)(b >> 8 & 0xFF),
                 (unsigned)(b >> 16 & 0xFF), (unsigned)(b >> 24 & 0xFF));
        if (strcmp(buf, bv) == 0)
            return CMP_EQ;
        snprintf(why, cap, "%s: %s vs ours %.40s", bf->name, bv, buf);
        return CMP_VALUE;
    }
    if (is_int_type(p->type)) {
        uint64_t bits = event_prop_bits(p);
        /* Ports are kept as recorded (network order); TraceEvent shows the port number. */
        if (p->format == ETWHOST_FMT_PORT)
            bits = (bits >> 8 & 0xFF) | (bits & 0xFF) << 8;
        int64_t sv = event_type_is_signed(p->type) ? event_prop_signed(p) : (int64_t)bits;
        if (p->type == ETWHOST_PT_BOOL && (strcmp(bv, "True") == 0 || strcmp(bv, "False") == 0))
            return (bits != 0) == (bv[0] == 'T') ? CMP_EQ : CMP_VALUE;
        if (bv[0] == '0' && bv[1] == 'x') {
            uint64_t h = strtoull(bv + 2, NULL, 16);
            if (h == bits || h == (uint64_t)sv)
                return CMP_EQ;
            snprintf(why, cap, "%s: %s vs ours %llu", bf->name, bv, (unsigned long long)bits);
            return CMP_VALUE;
        }
        int ok;
        double d = parse_num_commas(bv, &ok);
        if (ok) {
            if (d == (double)sv || d == (double)bits)
                return CMP_EQ;
            /* TraceEvent shows some unsigned manifest fields as signed (HRESULTs). */
            if (d < 0 && d >= -2147483648.0 && (p->type == ETWHOST_PT_U32 || p->type == ETWHOST_PT_I32) &&
                (uint32_t)(int32_t)d == (uint32_t)bits)
                return CMP_EQ;
            snprintf(why, cap, "%s: %s vs ours %lld", bf->name, bv, (long long)sv);
            return CMP_VALUE;
        }
        /* A label. */
        if (p->map_text == NULL) {
            snprintf(why, cap, "%s: %s vs ours %llu (no label)", bf->name, bv,
                     (unsigned long long)bits);
            return CMP_LABEL;
        }
        size_t o = 0;
        for (const char *m = p->map_text; *m && o + 3 < sizeof buf;) {
            if (strncmp(m, " | ", 3) == 0) {
                buf[o++] = ',';
                buf[o++] = ' ';
                m += 3;
            } else {
                buf[o++] = *m++;
            }
        }
        buf[o] = '\0';
        char cut[256];
        te_cut(buf, cut, sizeof cut);
        if (strcmp(cut, bv) == 0)
            return CMP_EQ;
        snprintf(why, cap, "%s: %s vs ours %s", bf->name, bv, cut);
        return CMP_LABEL;
    }
    switch (p->type) {
    case ETWHOST_PT_STRING: {
        prop_text(p, buf, sizeof buf);
        char cut[256];
        te_cut(buf, cut, sizeof cut);
        if (strcmp(cut, bv) == 0)
            return CMP_EQ;
        snprintf(why, cap, "%s: \"%s\" vs ours \"%s\"", bf->name, bv, cut);
        /* TraceEvent shows kernel file names as DOS paths ("\Device\HarddiskVolume2\x" -> "C:\x"). */
        if (g_kernel_mode && buf[0] == '\\' && bv[0] && (bv[1] == ':' || bv[0] == '\\'))
            return CMP_PATH;
        return CMP_VALUE;
    }
    case ETWHOST_PT_GUID: {
        etwhost_guid g;
        memcpy(&g, p->data, sizeof g);
        char s[37], cut[64];
        guid_format(&g, s);
        te_cut(s, cut, sizeof cut);
        if (strcmp(cut, bv) == 0)
            return CMP_EQ;
        snprintf(why, cap, "%s: %s vs ours %s", bf->name, bv, cut);
        return CMP_VALUE;
    }
    case ETWHOST_PT_F32:
    case ETWHOST_PT_F64: {
        int ok;
        double d = parse_num_commas(bv, &ok);
        if (ok && fabs(d - p->num.f) <= 1e-6 * (fabs(d) + 1))
            return CMP_EQ;
        snprintf(why, cap, "%s: %s vs ours %g", bf->name, bv, p->num.f);
        return CMP_VALUE;
    }
    default:
        /* Dates (local time in TraceEvent), binary, arrays, structs: not compared. */
        return CMP_SKIP;
    }
}

/* ---- One trace against one baseline --------------------------------------------------- */

struct cmp_totals {
    unsigned lines, clr_lines, clr_matched, clr_names_eq, clr_no_schema, other_lines,
        other_matched, other_names_eq;
    unsigned fields_cmp, fields_eq, missing_trailing, computed, missing, label_newer, label_te,
        value, skipped, names_known, path, te_zero;
    uint64_t events, decoded_full, decoded_partial;
    uint64_t src_events, src_ns; /* events decoded by the source under test, their decode time */
    double seconds;
};

static void fmt_name(const struct event *e, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", e->hdr.provider_name, e->hdr.event_name);
}

/*
 * trailing: the decode was FULL with bytes left after the template's last
 * field; exact: FULL and every payload byte consumed.
 */
static int known_name(const char *ours, const char *theirs);

/*
 * Compare event e with line *best as a candidate; keep it if it is better
 * than the best so far: same name first, then more equal fields (two events
 * of one kind in the same microsecond), then closer in time.
 */
static void compare_line(struct bl_line *best, const struct event *e, double dms, int trailing,
                         int exact)
{
    static struct bl_line cand;
    struct bl_line *b = &cand;
    *b = *best;
    char ours[200];
    fmt_name(e, ours, sizeof ours);
    int name_eq = strcmp(ours, b->name) == 0 || known_name(ours, b->name);
    b->matched = 1;
    b->name_eq = name_eq;
    b->dms = dms;
    snprintf(b->ours, sizeof b->ours, "%s", ours);
    b->fields_eq = b->fields_cmp = 0;
    b->n_missing_trailing = b->n_computed = b->n_missing = b->n_label_newer = b->n_label_te = 0;
    b->n_value = b->n_skipped = b->n_path = b->n_te_zero = 0;
    b->no_schema = e->schema == NULL;
    b->report[0] = '\0';
    if (b->no_schema) {
        snprintf(b->report, sizeof b->report, "\n      [event unknown to the manifest] %s",
                 e->decode_error ? e->decode_error : "");
    }
    size_t rl = 0;
    for (int i = 0; i < b->nf && !b->no_schema; i++) {
        char why[512] = "";
        enum cmp_result r = compare_field(e, &b->f[i], why, sizeof why);
        if (r == CMP_SKIP) {
            b->n_skipped++;
            continue;
        }
        b->fields_cmp++;
        if (r == CMP_EQ) {
            b->fields_eq++;
            continue;
        }
        const char *cls = "value";
        if (r == CMP_MISSING) {
            if (trailing) {
                b->n_missing_trailing++;
                cls = "beyond the manifest template (trailing bytes)";
            } else if (exact) {
                b->n_computed++;
                cls = "not in the payload (fully decoded without it)";
            } else {
                b->n_missing++;
                cls = "missing";
            }
        } else if (r == CMP_PATH) {
            b->n_path++;
            cls = "TraceEvent rewrites NT paths as DOS paths";
        } else if (r == CMP_VALUE && strcmp(b->name, "KernelTraceControl/ImageID") == 0 &&
                   strcmp(b->f[i].name, "ProcessID") == 0 && strcmp(b->f[i].value, "0") == 0) {
            b->n_te_zero++;
            cls = "TraceEvent returns 0 for ImageID's ProcessID whatever the payload says";
        } else if (r == CMP_VALUE && g_kernel_mode && strcmp(b->f[i].name, "ProcessName") == 0) {
            b->n_te_zero++;
            cls = "TraceEvent's ProcessName is the name of the event's process, not the payload";
        } else if (r == CMP_LABEL) {
            if (field_has_map(e, b->f[i].name)) {
                b->n_label_newer++;
                cls = "enum value not in the manifest's map";
            } else {
                b->n_label_te++;
                cls = "TraceEvent's own enum (no map in the manifest)";
            }
        } else {
            b->n_value++;
        }
        int n = snprintf(b->report + rl, sizeof b->report - rl, "\n      [%s] %s", cls, why);
        if (n > 0 && (size_t)n < sizeof b->report - rl)
            rl += (size_t)n;
    }
    if (best->matched &&
        (best->name_eq > b->name_eq ||
         (best->name_eq == b->name_eq &&
          (best->fields_eq > b->fields_eq ||
           (best->fields_eq == b->fields_eq && best->dms <= b->dms)))))
        return;
    *best = *b;
}

/*
 * Names where TraceEvent's hand-maintained CLR parser differs from the
 * manifest (ours, TraceEvent's, why).  Each was checked in ClrEtwAll.man.
 */
static const char *const known_names[][3] = {
    {"Microsoft-Windows-DotNETRuntime/GC/GCGenerationRange",
     "Microsoft-Windows-DotNETRuntime/GC/GenerationRange",
     "the manifest has no string for the opcode message, so its name shows; TraceEvent drops "
     "the GC prefix"},
    {"Microsoft-Windows-DotNETRuntime/GC/GCBulkMovedObjectRanges",
     "Microsoft-Windows-DotNETRuntime/GC/BulkMovedObjectRanges", "same"},
    {"Microsoft-Windows-DotNETRuntime/GC/GCBulkSurvivingObjectRanges",
     "Microsoft-Windows-DotNETRuntime/GC/BulkSurvivingObjectRanges", "same"},
    {"Microsoft-Windows-DotNETRuntime/GC/IncreaseMemoryPressure",
     "Microsoft-Windows-DotNETRuntime/GarbageCollection/IncreaseMemoryPressure",
     "TraceEvent registers this event under the task's name instead of its message (\"GC\")"},
    /* TraceEvent's kernel parser has its own names; ours are wmicore.mof's EventTypeNames. */
    {"Windows Kernel/EventTrace/Header", "Windows Kernel/EventTrace", "kernel"},
    {"Windows Kernel/EventTrace/RDComplete", "Windows Kernel/EventTrace/RundownComplete", "kernel"},
    {"Windows Kernel/Process/End", "Windows Kernel/Process/Stop", "kernel"},
    {"Windows Kernel/Process/DCEnd", "Windows Kernel/Process/DCStop", "kernel"},
    {"Windows Kernel/Thread/End", "Windows Kernel/Thread/Stop", "kernel"},
    {"Windows Kernel/Thread/DCEnd", "Windows Kernel/Thread/DCStop", "kernel"},
    {"Windows Kernel/Image/UnLoad", "Windows Kernel/Image/Unload", "kernel"},
    {"Windows Kernel/Image/DCEnd", "Windows Kernel/Image/DCStop", "kernel"},
    {"Windows Kernel/DiskIo/Read", "Windows Kernel/DiskIO/Read", "kernel"},
    {"Windows Kernel/DiskIo/Write", "Windows Kernel/DiskIO/Write", "kernel"},
    {"Windows Kernel/DiskIo/ReadInit", "Windows Kernel/DiskIO/ReadInit", "kernel"},
    {"Windows Kernel/DiskIo/WriteInit", "Windows Kernel/DiskIO/WriteInit", "kernel"},
    {"Windows Kernel/DiskIo/FlushInit", "Windows Kernel/DiskIO/FlushInit", "kernel"},
    {"Windows Kernel/DiskIo/FlushBuffers", "Windows Kernel/DiskIO/FlushBuffers", "kernel"},
    {"Windows Kernel/PageFault/HardFault", "Windows Kernel/Memory/HardFault", "kernel"},
    {"Windows Kernel/PerfInfo/SampleProf", "Windows Kernel/PerfInfo/Sample", "kernel"},
    {"Windows Kernel/TcpIp/SendIPV4", "Windows Kernel/TcpIp/Send", "kernel"},
    {"Windows Kernel/TcpIp/RecvIPV4", "Windows Kernel/TcpIp/Recv", "kernel"},
    {"Windows Kernel/TcpIp/AcceptIPV4", "Windows Kernel/TcpIp/Accept", "kernel"},
    {"Windows Kernel/TcpIp/ConnectIPV4", "Windows Kernel/TcpIp/Connect", "kernel"},
    {"Windows Kernel/TcpIp/DisconnectIPV4", "Windows Kernel/TcpIp/Disconnect", "kernel"},
    {"Windows Kernel/TcpIp/RetransmitIPV4", "Windows Kernel/TcpIp/Retransmit", "kernel"},
    {"Windows Kernel/TcpIp/TCPCopyIPV4", "Windows Kernel/TcpIp/TCPCopy", "kernel"},
    {"Windows Kernel/UdpIp/SendIPV4", "Windows Kernel/UdpIp/Send", "kernel"},
    {"Windows Kernel/UdpIp/RecvIPV4", "Windows Kernel/UdpIp/Recv", "kernel"},
    {"KernelTraceControl/ImageID/Info", "KernelTraceControl/ImageID", "kernel"},
};

static int known_name(const char *ours, const char *theirs)
{
    for (size_t i = 0; i < sizeof known_names / sizeof known_names[0]; i++)
        if (strcmp(ours, known_names[i][0]) == 0 && strcmp(theirs, known_names[i][1]) == 0)
            return 1;
    return 0;
}

static char *read_text(const char *path)
{
    size_t len;
    return t_read_file(path, &len);
}

/* Decode path with the CLR manifest (and the built-in sources) and compare with baseline. */
static struct cmp_totals compare_trace(const char *path, const char *baseline,
                                       const char *manifest, int verbose)
{
    struct cmp_totals t;
    memset(&t, 0, sizeof t);
    char *text = read_text(baseline);
    ASSERT_MSG(text != NULL, "cannot read %s", baseline);
    size_t cap = 1024, n = 0;
    struct bl_line *lines = mem_calloc(cap, sizeof *lines);
    for (char *ln = strtok(text, "\n"); ln; ln = strtok(NULL, "\n")) {
        size_t l = strlen(ln);
        if (l && ln[l - 1] == '\r')
            ln[l - 1] = '\0';
        if (n == cap)
            break;
        if (bl_parse(ln, &lines[n]))
            n++;
    }
    t.lines = (unsigned)n;

    struct schema_cache *c = schema_cache_new(0);
    struct decoder d;
    decoder_init(&d, c);
    struct errbuf eb;
    ASSERT_MSG(schema_sources_builtin(&d, &eb) == 0, "%s", eb.msg);
    const char *mans[1] = {manifest};
    ASSERT_MSG(schema_sources_manifests(&d, mans, 1, &eb) == 0, "%s", eb.msg);
    struct arena a = ARENA_INIT;
    struct event e;
    event_init(&e, &a);
    struct etl_reader *rd = NULL;
    ASSERT_MSG(etl_open(path, NULL, &rd, &eb) == 0, "%s", eb.msg);
    const struct trace_info *ti = etl_info(rd);
    struct record rec;
    uint64_t t0 = plat_monotonic_ns();
    while (etl_next(rd, &rec, &eb) == 1) {
        arena_reset(&a);
        uint64_t trailing_before = d.st.trailing;
        uint64_t td = plat_monotonic_ns();
        ASSERT_OK(decode_record(&d, &rec, &e));
        td = plat_monotonic_ns() - td;
        if (e.schema && e.schema->source == (g_kernel_mode ? SCHEMA_SRC_MOF : SCHEMA_SRC_MANIFEST)) {
            t.src_events++;
            t.src_ns += td;
        }
        int trailing = d.st.trailing != trailing_before;
        int exact = e.hdr.decode_status == ETWHOST_DECODE_FULL && !trailing;
        t.events++;
        if (e.hdr.decode_status == ETWHOST_DECODE_FULL)
            t.decoded_full++;
        else if (e.hdr.decode_status == ETWHOST_DECODE_PARTIAL)
            t.decoded_partial++;
        double ms;
        if (ti->clock_type == TRACE_CLOCK_QPC && ti->perf_freq > 0)
            ms = (double)(rec.raw_timestamp - ti->t0_raw) * 1000.0 / (double)ti->perf_freq;
        else
            ms = (double)(rec.timestamp - ti->start_time) / 10000.0;
        for (size_t i = 0; i < n; i++) {
            struct bl_line *b = &lines[i];
            if (b->datalen != rec.data_len)
                continue;
            /*
             * TraceEvent rewrites the pid/tid of kernel events (the new thread for
             * Thread/Start, the owner for perfinfo records): kernel lines match on time
             * and length only.
             */
            if (!g_kernel_mode && (b->pid != rec.pid || b->tid != rec.tid))
                continue;
            double dms = fabs(b->ms - ms);
            if (dms > 0.002)
                continue;
            compare_line(b, &e, dms, trailing, exact);
        }
    }
    t.seconds = (double)(plat_monotonic_ns() - t0) / 1e9;
    etl_close(rd);

    for (size_t i = 0; i < n; i++) {
        struct bl_line *b = &lines[i];
        if (b->clr) {
            t.clr_lines++;
            t.clr_matched += b->matched;
            t.clr_names_eq += b->matched && b->name_eq && strcmp(b->ours, b->name) == 0;
            t.names_known += b->matched && b->name_eq && strcmp(b->ours, b->name) != 0;
            t.clr_no_schema += b->matched && b->no_schema;
            if (b->matched) {
                t.fields_cmp += (unsigned)b->fields_cmp;
                t.fields_eq += (unsigned)b->fields_eq;
                t.missing_trailing += (unsigned)b->n_missing_trailing;
                t.computed += (unsigned)b->n_computed;
                t.missing += (unsigned)b->n_missing;
                t.label_newer += (unsigned)b->n_label_newer;
                t.label_te += (unsigned)b->n_label_te;
                t.path += (unsigned)b->n_path;
                t.te_zero += (unsigned)b->n_te_zero;
                t.value += (unsigned)b->n_value;
                t.skipped += (unsigned)b->n_skipped;
            }
            if (verbose && (!b->matched || !b->name_eq || b->report[0]))
                printf("    %.3f %s -> %s%s\n", b->ms, b->name,
                       b->matched ? b->ours : "(no event)", b->report);
        } else {
            t.other_lines++;
            t.other_matched += b->matched;
            t.other_names_eq += b->matched && b->name_eq;
        }
    }
    event_free(&e);
    arena_free(&a);
    decoder_free(&d);
    schema_cache_free(c);
    mem_free(lines);
    mem_free(text);
    return t;
}

static void print_totals(const char *what, const struct cmp_totals *t)
{
    printf("%s: %llu events (%llu FULL, %llu PARTIAL) in %.2f s; %llu decoded by the %s source "
           "at %.0f events/s\n"
           "  CLR baseline events: %u, matched %u, names agree %u, unknown to the manifest %u\n"
           "  CLR fields compared %u, agree %u; explained: %u beyond the manifest template, "
           "%u not in the payload (TraceEvent's newer-version defaults or computed values), %u enum values not in the manifest's maps, "
           "%u TraceEvent enums on fields without a map; "
           "unexplained: %u missing, %u values; %u not compared (dates, arrays)\n"
           "  kernel: %u NT paths TraceEvent shows as DOS paths, %u values TraceEvent takes from "
           "elsewhere (ImageID ProcessID, ProcessName)\n"
           "  names differing for a documented reason: %u\n"
           "  other providers' baseline events: %u, matched by time/pid/tid/length %u, "
           "names agree %u\n",
           what, (unsigned long long)t->events, (unsigned long long)t->decoded_full,
           (unsigned long long)t->decoded_partial, t->seconds, (unsigned long long)t->src_events,
           g_kernel_mode ? "MOF" : "manifest",
           t->src_ns ? (double)t->src_events * 1e9 / (double)t->src_ns : 0.0, t->clr_lines, t->clr_matched,
           t->clr_names_eq, t->clr_no_schema, t->fields_cmp, t->fields_eq, t->missing_trailing,
           t->computed, t->label_newer, t->label_te, t->missing, t->value, t->skipped, t->path,
           t->te_zero, t->names_known, t->other_lines, t->other_matched, t->other_names_eq);
}

static const char *manifest_or_skip(void)
{
    const char *corpus = t_corpus_or_skip();
    const char *m = t_path("%s/manifests/ClrEtwAll.man", corpus);
    FILE *f = fopen(m, "rb");
    if (f == NULL)
        SKIP("%s not found", m);
    fclose(f);
    return mem_strdup(m);
}

static void run_pair(const char *etl, const char *baseline, int must_agree)
{
    const char *manifest = manifest_or_skip();
    const char *corpus = t_corpus();
    char *path = mem_strdup(t_path("%s/%s", corpus, etl));
    char *bl = mem_strdup(t_path("%s/expected/%s", corpus, baseline));
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        SKIP("%s not found", path);
    fclose(f);
    struct cmp_totals t = compare_trace(path, bl, manifest, 1);
    print_totals(etl, &t);
    if (must_agree) {
        ASSERT(t.clr_lines > 0);
        /* Every CLR line has its event; every event the manifest knows has TraceEvent's name. */
        ASSERT_EQ(t.clr_matched, t.clr_lines);
        ASSERT_EQ(t.clr_names_eq + t.clr_no_schema + t.names_known, t.clr_lines);
        ASSERT_EQ(t.missing, 0);
        ASSERT_EQ(t.value, 0);
        ASSERT(t.fields_eq * 10 >= t.fields_cmp * (g_kernel_mode ? 7 : 8));
    }
    mem_free(path);
    mem_free(bl);
    mem_free((void *)manifest);
}

TEST(clr_baseline_gcevents)
{
    run_pair("etl/perfview__gcevents_PerfViewData.etl", "perfview__gcevents.baseline.txt", 1);
}

TEST(clr_baseline_gcrundown)
{
    run_pair("etl/perfview__gcrundown_PerfViewData.clrRundown.etl",
             "perfview__gcrundownevents.baseline.txt", 1);
}

TEST(clr_baseline_net452_x64)
{
    run_pair("large/perfview__net.4.5.2.x64.etl", "perfview__net.4.5.2.x64.baseline.txt", 1);
}

TEST(clr_baseline_net452_x86)
{
    run_pair("large/perfview__net.4.5.2.x86.etl", "perfview__net.4.5.2.x86.baseline.txt", 1);
}

/* ---- Kernel events: the built-in MOF classes against TraceEvent's kernel parser ---------- */

static void run_kernel(const char *etl, const char *baseline)
{
    g_kernel_mode = 1;
    run_pair(etl, baseline, 1);
}

TEST(traceevent_kernel_net452_x64)
{
    run_kernel("large/perfview__net.4.5.2.x64.etl", "perfview__net.4.5.2.x64.baseline.txt");
}

TEST(traceevent_kernel_net452_x86)
{
    run_kernel("large/perfview__net.4.5.2.x86.etl", "perfview__net.4.5.2.x86.baseline.txt");
}

/*
 * perfview__net.4.5.x86.baseline.txt and large/perfview__net.4.5.x86_PerfViewData.etl
 * come from different recordings (see the report printed): the test checks
 * which of the two it is by matching every baseline line on time, pid, tid
 * and payload length.
 */
TEST(clr_baseline_net45_x86_pairing)
{
    const char *manifest = manifest_or_skip();
    const char *corpus = t_corpus();
    char *path = mem_strdup(t_path("%s/large/perfview__net.4.5.x86_PerfViewData.etl", corpus));
    char *bl = mem_strdup(t_path("%s/expected/perfview__net.4.5.x86.baseline.txt", corpus));
    if (!plat_is_file(path))
        SKIP("%s not found", path);
    struct cmp_totals t = compare_trace(path, bl, manifest, 0);
    print_totals("large/perfview__net.4.5.x86_PerfViewData.etl vs net.4.5.x86 baseline", &t);
    unsigned matched = t.clr_matched + t.other_matched, lines = t.clr_lines + t.other_lines;
    /* The baseline's own logfile header event says which recording it describes. */
    char *text = read_text(bl);
    ASSERT(text != NULL);
    char *nl = strchr(text, '\n');
    if (nl)
        *nl = '\0';
    struct bl_line hdr;
    ASSERT(bl_parse(text, &hdr));
    unsigned bl_build = 0, bl_cpus = 0;
    int ok;
    for (int i = 0; i < hdr.nf; i++) {
        if (strcmp(hdr.f[i].name, "ProviderVersion") == 0)
            bl_build = (unsigned)parse_num_commas(hdr.f[i].value, &ok);
        if (strcmp(hdr.f[i].name, "NumberOfProcessors") == 0)
            bl_cpus = (unsigned)parse_num_commas(hdr.f[i].value, &ok);
    }
    struct etl_reader *rd = NULL;
    struct errbuf eb;
    ASSERT_OK(etl_open(path, NULL, &rd, &eb));
    const struct trace_info *ti = etl_info(rd);
    printf("  matched %u of %u baseline events; the baseline describes build %u with %u "
           "processors, the .etl build %u with %u processors: different recordings, so the "
           "pair is not used for agreement numbers\n",
           matched, lines, bl_build, bl_cpus, ti->os_build, ti->num_cpus);
    ASSERT(bl_build != ti->os_build || bl_cpus != ti->num_cpus);
    ASSERT(matched * 10 < lines);
    etl_close(rd);
    mem_free(text);
    mem_free(path);
    mem_free(bl);
    mem_free((void *)manifest);
}

/*
 * Decode rate of manifest events: every CLR event of net.4.5.2.x64 decoded
 * with the manifest source (each record decoded 4 times while its buffer is
 * current, so reading the file is not measured).
 */
TEST(clr_manifest_decode_rate)
{
    const char *manifest = manifest_or_skip();
    const char *path = t_path("%s/large/perfview__net.4.5.2.x64.etl", t_corpus());
    if (!plat_is_file(path))
        SKIP("%s not found", path);
    struct schema_cache *c = schema_cache_new(0);
    struct decoder d;
    decoder_init(&d, c);
    struct errbuf eb;
    const char *mans[1] = {manifest};
    ASSERT_MSG(schema_sources_manifests(&d, mans, 1, &eb) == 0, "%s", eb.msg);
    struct arena a = ARENA_INIT;
    struct event e;
    event_init(&e, &a);
    struct etl_reader *rd = NULL;
    ASSERT_MSG(etl_open(path, NULL, &rd, &eb) == 0, "%s", eb.msg);
    struct record rec;
    uint64_t n = 0, ns = 0, bytes = 0;
    while (etl_next(rd, &rec, &eb) == 1) {
        if (rec.kind != ETWHOST_HK_EVENT)
            continue;
        arena_reset(&a);
        ASSERT_OK(decode_record(&d, &rec, &e));
        if (e.schema == NULL || e.schema->source != SCHEMA_SRC_MANIFEST)
            continue;
        ASSERT_EQ(e.hdr.decode_status, ETWHOST_DECODE_FULL);
        uint64_t t0 = plat_monotonic_ns();
        for (int k = 0; k < 4; k++) {
            arena_reset(&a);
            decode_record(&d, &rec, &e);
        }
        ns += plat_monotonic_ns() - t0;
        n += 4;
        bytes += 4ull * rec.data_len;
    }
    printf("manifest events: %llu decodes in %.3f s: %.0f events/s, %.1f MB/s of payload\n",
           (unsigned long long)n, (double)ns / 1e9, n * 1e9 / (double)(ns ? ns : 1),
           bytes * 1e3 / (double)(ns ? ns : 1));
    ASSERT(n > 200000);
    etl_close(rd);
    event_free(&e);
    arena_free(&a);
    decoder_free(&d);
    schema_cache_free(c);
    mem_free((void *)manifest);
}
