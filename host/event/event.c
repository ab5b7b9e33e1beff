/*
 * event: building the property tree of a decoded event (see event.h).
 *
 * The tree is a flat array in pre-order.  The builder keeps a stack of open
 * containers and, for every level, the last child added, so an add is O(1):
 * it links the previous sibling's 'next' to the new entry and bumps the
 * parent's 'count'.  The links are therefore consistent at every moment,
 * even when decoding stops half-way through a struct, which is what lets
 * the JSON writer render partially decoded events without special cases.
 */
#include "event.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../core/err.h"
#include "../core/mem.h"

void event_init(struct event *ev, struct arena *arena)
{
    memset(ev, 0, sizeof *ev);
    ev->arena = arena;
    event_reset(ev);
}

/* Everything event_reset does but the header. */
static void reset_body(struct event *ev)
{
    ev->rec = NULL;
    ev->nprops = 0;
    ev->nfields = 0;
    ev->decode_error = NULL;
    ev->schema = NULL;
    ev->json_valid = 0;
    /*
     * Keep small buffers for reuse, but let go of the occasional huge one:
     * otherwise every event slot of a long run ends up holding the largest
     * line it ever rendered, and memory creeps up with the length of the input.
     */
    if (ev->json_home != NULL) {
        if (ev->json.p != ev->json_home) {
            buf_free(&ev->json);
            ev->json.p = ev->json_home;
            ev->json.cap = EVENT_JSON_KEEP;
        }
        ev->json.len = 0;
    } else if (ev->json.cap > EVENT_JSON_KEEP) {
        buf_free(&ev->json);
    } else {
        buf_reset(&ev->json);
    }
    if (ev->props_home != NULL) {
        if (ev->props != ev->props_home) {
            mem_free(ev->props);
            ev->props = ev->props_home;
            ev->props_cap = EVENT_PROPS_KEEP;
        }
    } else if (ev->props_cap > EVENT_PROPS_KEEP) {
        mem_free(ev->props);
        ev->props = NULL;
        ev->props_cap = 0;
    }
    ev->depth = 0;
    ev->last[0] = ETWHOST_NONE;
}

void event_reset(struct event *ev)
{
    memset(&ev->hdr, 0, sizeof ev->hdr);
    ev->hdr.struct_size = (uint32_t)sizeof ev->hdr;
    ev->hdr.decode_status = ETWHOST_DECODE_PENDING;
    ev->hdr.provider_name = "";
    ev->hdr.event_name = "";
    ev->hdr.task_name = "";
    ev->hdr.opcode_name = "";
    reset_body(ev);
}

void event_set_home(struct event *ev, etwhost_prop *props, char *json)
{
    if (ev->props != ev->props_home)
        mem_free(ev->props);
    if (ev->json.p != ev->json_home)
        buf_free(&ev->json);
    ev->props_home = ev->props = props;
    ev->props_cap = EVENT_PROPS_KEEP;
    ev->nprops = 0;
    ev->json_home = ev->json.p = json;
    ev->json.cap = EVENT_JSON_KEEP;
    ev->json.len = 0;
    ev->json_valid = 0;
}

void event_free(struct event *ev)
{
    if (ev->props != ev->props_home)
        mem_free(ev->props);
    mem_free(ev->fields);
    if (ev->json.p != ev->json_home)
        buf_free(&ev->json);
    else
        ev->json = (struct buf)BUF_INIT;
    ev->props_home = NULL;
    ev->json_home = NULL;
    ev->props = NULL;
    ev->fields = NULL;
    ev->props_cap = ev->fields_cap = 0;
    ev->nprops = ev->nfields = 0;
    ev->json_valid = 0;
}

void event_set_record(struct event *ev, const struct record *rec, const char *provider_name)
{
    reset_body(ev);
    ev->rec = rec;
    /* One store of the whole header (what event_reset and the fields below would leave). */
    ev->hdr = (etwhost_event_header){
        .struct_size = (uint32_t)sizeof ev->hdr,
        .flags = rec->evf,
        .timestamp = rec->timestamp,
        .provider_guid = rec->provider,
        .activity_id = rec->activity,
        .related_activity_id = rec->related,
        .keywords = rec->keywords,
        .event_id = rec->id,
        .version = rec->version,
        .channel = rec->channel,
        .level = rec->level,
        .opcode = rec->opcode,
        .task = rec->task,
        .pid = rec->pid,
        .tid = rec->tid,
        .cpu = rec->cpu,
        .header_kind = rec->kind,
        .decode_status = ETWHOST_DECODE_PENDING,
        .provider_name = provider_name ? provider_name : "",
        .event_name = "",
        .task_name = "",
        .opcode_name = "",
    };
}

/* The first error wins; later ones are usually consequences of it. */
static void set_error_text(struct event *ev, const char *text)
{
    if (ev->decode_error != NULL)
        return;
    ev->decode_error = text;
    ev->hdr.decode_status = ev->nprops > 0 ? ETWHOST_DECODE_PARTIAL : ETWHOST_DECODE_NONE;
    ev->json_valid = 0;
}

void event_set_error(struct event *ev, const char *fmt, ...)
{
    if (ev->decode_error != NULL)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) {
        set_error_text(ev, "decode error (message could not be formatted)");
        return;
    }
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    const char *copy = ev->arena ? arena_dup(ev->arena, line, len, 1) : NULL;
    set_error_text(ev, copy ? copy : "decode error (out of memory for its message)");
}

void event_set_error_str(struct event *ev, const char *msg)
{
    if (ev->decode_error != NULL)
        return;
    event_set_error_mem(ev, msg, strlen(msg));
}

void event_set_error_mem(struct event *ev, const char *msg, size_t len)
{
    if (ev->decode_error != NULL)
        return;
    if (len > 511)
        len = 511; /* event_set_error's line buffer */
    const char *copy = ev->arena ? arena_dup(ev->arena, msg, len, 1) : NULL;
    set_error_text(ev, copy ? copy : "decode error (out of memory for its message)");
}

void event_set_error_static(struct event *ev, const char *msg)
{
    set_error_text(ev, msg);
}

void event_finish_decode(struct event *ev)
{
    ev->depth = 0;
    if (ev->decode_error == NULL)
        ev->hdr.decode_status = ETWHOST_DECODE_FULL;
    ev->json_valid = 0;
}

int event_props_grow(struct event *ev)
{
    /* The pooled array is not ours to resize: move to a heap copy (back home at reset). */
    int home = ev->props != NULL && ev->props == ev->props_home;
    etwhost_prop *arr = home ? NULL : ev->props;
    size_t cap = home ? 0 : ev->props_cap;
    if (ev->nprops >= ETWHOST_NONE - 1 ||
        mem_grow(&arr, &cap, (size_t)ev->nprops + 1, sizeof *arr) != 0) {
        set_error_text(ev, "out of memory adding a property");
        return ERR_NOMEM;
    }
    if (home && ev->nprops)
        memcpy(arr, ev->props, (size_t)ev->nprops * sizeof *arr);
    ev->props = arr;
    ev->props_cap = cap > ETWHOST_NONE - 1 ? ETWHOST_NONE - 1 : (uint32_t)cap;
    return 0;
}

uint32_t event_prop_open(struct event *ev, const char *name, uint32_t name_len, uint16_t type)
{
    if (ev->depth >= EVENT_MAX_DEPTH) {
        event_set_error(ev, "properties nested deeper than %d levels", EVENT_MAX_DEPTH);
        return ETWHOST_NONE;
    }
    uint32_t i = event_prop_add(ev, name, name_len, type);
    if (i == ETWHOST_NONE)
        return i;
    ev->open[ev->depth++] = i;
    ev->last[ev->depth] = ETWHOST_NONE;
    return i;
}

void event_prop_close(struct event *ev, uint32_t container)
{
    if (container == ETWHOST_NONE)
        return;
    for (uint32_t d = ev->depth; d > 0; d--) {
        if (ev->open[d - 1] == container) {
            ev->depth = d - 1;
            return;
        }
    }
}
