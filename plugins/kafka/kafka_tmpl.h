/*
 * kafka_tmpl: topic and key templates over event header fields.
 *
 * A template is literal text with {field} placeholders; "{{" and "}}" stand
 * for literal braces.  Fields: provider (the provider name, or its GUID when
 * the name is unknown), provider_guid, event_id, level, opcode, task, pid,
 * tid, event_name, host.
 *
 * A topic template renders to a legal Kafka topic name: every byte outside
 * [a-zA-Z0-9._-] in a field value becomes '_', an empty value becomes
 * "unknown", and the result is cut to 249 bytes.  Literal text in a topic
 * template must already be legal (checked at compile time), so a typo is a
 * configuration error rather than a silently renamed topic.
 *
 * Ownership: a compiled template is owned by the caller (ktmpl_free).
 * Threading: rendering is read-only and may run on any thread.
 */
#ifndef ETWHOST_KAFKA_TMPL_H
#define ETWHOST_KAFKA_TMPL_H

#include <stddef.h>

#include "etwhost/plugin.h"

#define KTMPL_TOPIC_MAX 249u

struct ktmpl;

/*
 * Compile text.  is_topic selects the topic rules.  Returns 0, or -1 with
 * one line in err naming the offending placeholder or character.
 */
int ktmpl_compile(const char *text, int is_topic, struct ktmpl **out, char *err, size_t err_len);
void ktmpl_free(struct ktmpl *t);

/* 1 if the template has no placeholder (renders the same for every event). */
int ktmpl_is_constant(const struct ktmpl *t);

/*
 * Render for one event into buf (always NUL-terminated).  Returns the
 * length, or the length needed if it is >= cap (output truncated), like
 * snprintf.  Topic templates never exceed KTMPL_TOPIC_MAX.
 */
size_t ktmpl_render(const struct ktmpl *t, const etwhost_event_header *h, const char *host,
                    char *buf, size_t cap);

/* 1 if name is a legal Kafka topic name (length, characters, not "." / ".."). */
int ktmpl_topic_legal(const char *name, size_t len);

/* FILETIME (100 ns since 1601) to milliseconds since 1970; 0 if before 1970. */
int64_t ktmpl_filetime_to_ms(int64_t ft);

#endif
