/*
 * kafka_tmpl: topic and key templates (see kafka_tmpl.h).
 */
#include "kafka_tmpl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kfield {
    KF_LITERAL,
    KF_PROVIDER,
    KF_PROVIDER_GUID,
    KF_EVENT_ID,
    KF_LEVEL,
    KF_OPCODE,
    KF_TASK,
    KF_PID,
    KF_TID,
    KF_EVENT_NAME,
    KF_HOST
};

static const struct {
    const char *name;
    enum kfield f;
} field_names[] = {
    {"provider", KF_PROVIDER}, {"provider_guid", KF_PROVIDER_GUID}, {"event_id", KF_EVENT_ID},
    {"level", KF_LEVEL},       {"opcode", KF_OPCODE},               {"task", KF_TASK},
    {"pid", KF_PID},           {"tid", KF_TID},                     {"event_name", KF_EVENT_NAME},
    {"host", KF_HOST},
};

struct kpart {
    enum kfield f;
    size_t off, len; /* literal text in t->text */
};

struct ktmpl {
    int is_topic;
    char *text; /* literal bytes, braces unescaped */
    struct kpart *parts;
    size_t nparts;
};

static int topic_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

int ktmpl_topic_legal(const char *name, size_t len)
{
    if (len == 0 || len > KTMPL_TOPIC_MAX)
        return 0;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!topic_char((unsigned char)name[i]))
            return 0;
    return 1;
}

int64_t ktmpl_filetime_to_ms(int64_t ft)
{
    const int64_t epoch = 116444736000000000LL; /* 1970-01-01 in FILETIME units */
    return ft > epoch ? (ft - epoch) / 10000 : 0;
}

void ktmpl_free(struct ktmpl *t)
{
    if (t) {
        free(t->text);
        free(t->parts);
        free(t);
    }
}

int ktmpl_is_constant(const struct ktmpl *t)
{
    for (size_t i = 0; i < t->nparts; i++)
        if (t->parts[i].f != KF_LITERAL)
            return 0;
    return 1;
}

int ktmpl_compile(const char *text, int is_topic, struct ktmpl **out, char *err, size_t err_len)
{
    const char *what = is_topic ? "topic" : "key";
    size_t n = strlen(text);
    struct ktmpl *t = calloc(1, sizeof *t);
    *out = NULL;
    if (t == NULL || (t->text = malloc(n + 1)) == NULL ||
        (t->parts = calloc(n + 1, sizeof *t->parts)) == NULL) {
        ktmpl_free(t);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    t->is_topic = is_topic;
    size_t tl = 0;
    struct kpart *lit = NULL;
    for (size_t i = 0; i < n;) {
        char c = text[i];
        if ((c == '{' && text[i + 1] == '{') || (c == '}' && text[i + 1] == '}')) {
            c = text[i];
            i += 2;
        } else if (c == '{') {
            const char *end = strchr(text + i + 1, '}');
            if (end == NULL) {
                snprintf(err, err_len, "%s template \"%s\": unclosed '{' at offset %zu", what,
                         text, i);
                goto fail;
            }
            size_t nl = (size_t)(end - (text + i + 1));
            enum kfield f = KF_LITERAL;
            for (size_t k = 0; k < sizeof field_names / sizeof field_names[0]; k++)
                if (strlen(field_names[k].name) == nl &&
                    memcmp(field_names[k].name, text + i + 1, nl) == 0)
                    f = field_names[k].f;
            if (f == KF_LITERAL) {
                snprintf(err, err_len,
                         "%s template \"%s\": unknown placeholder {%.*s} (known: provider, "
                         "provider_guid, event_id, level, opcode, task, pid, tid, event_name, "
                         "host)",
                         what, text, (int)nl, text + i + 1);
                goto fail;
            }
            t->parts[t->nparts++].f = f;
            lit = NULL;
            i += nl + 2;
            continue;
        } else if (c == '}') {
            snprintf(err, err_len, "%s template \"%s\": unmatched '}' at offset %zu", what, text,
                     i);
            goto fail;
        } else {
            i++;
        }
        if (is_topic && !topic_char((unsigned char)c)) {
            snprintf(err, err_len,
                     "topic template \"%s\": illegal character '%c' (topic names allow only "
                     "[a-zA-Z0-9._-])",
                     text, c);
            goto fail;
        }
        if (lit == NULL) {
            lit = &t->parts[t->nparts++];
            lit->f = KF_LITERAL;
            lit->off = tl;
            lit->len = 0;
        }
        t->text[tl++] = c;
        lit->len++;
    }
    t->text[tl] = '\0';
    if (is_topic && t->nparts == 0) {
        snprintf(err, err_len, "topic template is empty");
        goto fail;
    }
    if (is_topic && ktmpl_is_constant(t) && !ktmpl_topic_legal(t->text, tl)) {
        snprintf(err, err_len, "topic \"%s\" is not a legal Kafka topic name%s", t->text,
                 tl > KTMPL_TOPIC_MAX ? " (longer than 249 characters)" : "");
        goto fail;
    }
    *out = t;
    return 0;
fail:
    ktmpl_free(t);
    return -1;
}

static size_t fmt_guid(char *o, const etwhost_guid *g)
{
    return (size_t)snprintf(o, 40, "%08" PRIx32 "-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                            g->data1, g->data2, g->data3, g->data4[0], g->data4[1], g->data4[2],
                            g->data4[3], g->data4[4], g->data4[5], g->data4[6], g->data4[7]);
}

/* Writer that keeps counting past cap, like snprintf. */
struct out {
    char *buf;
    size_t cap, len;
    int is_topic;
};

static void out_put(struct out *o, const char *s, size_t n, int sanitize)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (sanitize && !topic_char((unsigned char)c))
            c = '_';
        if (o->is_topic && o->len >= KTMPL_TOPIC_MAX)
            return;
        if (o->len + 1 < o->cap)
            o->buf[o->len] = c;
        o->len++;
    }
}

size_t ktmpl_render(const struct ktmpl *t, const etwhost_event_header *h, const char *host,
                    char *buf, size_t cap)
{
    struct out o = {buf, cap, 0, t->is_topic};
    char tmp[48];
    for (size_t i = 0; i < t->nparts; i++) {
        const struct kpart *p = &t->parts[i];
        const char *s = tmp;
        size_t n = 0;
        switch (p->f) {
        case KF_LITERAL:
            out_put(&o, t->text + p->off, p->len, 0);
            continue;
        case KF_PROVIDER:
            if (h->provider_name && h->provider_name[0]) {
                s = h->provider_name;
                n = strlen(s);
            } else {
                n = fmt_guid(tmp, &h->provider_guid);
            }
            break;
        case KF_PROVIDER_GUID: n = fmt_guid(tmp, &h->provider_guid); break;
        case KF_EVENT_ID: n = (size_t)snprintf(tmp, sizeof tmp, "%u", (unsigned)h->event_id); break;
        case KF_LEVEL: n = (size_t)snprintf(tmp, sizeof tmp, "%u", (unsigned)h->level); break;
        case KF_OPCODE: n = (size_t)snprintf(tmp, sizeof tmp, "%u", (unsigned)h->opcode); break;
        case KF_TASK: n = (size_t)snprintf(tmp, sizeof tmp, "%u", (unsigned)h->task); break;
        case KF_PID: n = (size_t)snprintf(tmp, sizeof tmp, "%" PRIu32, h->pid); break;
        case KF_TID: n = (size_t)snprintf(tmp, sizeof tmp, "%" PRIu32, h->tid); break;
        case KF_EVENT_NAME:
            s = h->event_name ? h->event_name : "";
            n = strlen(s);
            break;
        case KF_HOST:
            s = host ? host : "";
            n = strlen(s);
            break;
        }
        if (t->is_topic && n == 0) {
            s = "unknown";
            n = 7;
        }
        out_put(&o, s, n, t->is_topic);
    }
    if (cap > 0)
        buf[o.len < cap ? o.len : cap - 1] = '\0';
    /* "." and ".." alone are reserved; only possible from a bare {field}. */
    if (t->is_topic && o.len <= 2 && o.len < cap && !ktmpl_topic_legal(buf, o.len)) {
        for (size_t i = 0; i < o.len; i++)
            buf[i] = '_';
    }
    return o.len;
}
