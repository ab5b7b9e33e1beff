/*
 * kafka_json: walk the one JSON shape the kafka sink takes as text, the
 * flat "rdkafka" settings object ({"name": "value", ...}), parsed with
 * jansson.
 *
 * Values may be strings, numbers or booleans; numbers and booleans are
 * passed as their JSON text ("50", "0.5", "true"), since librdkafka takes
 * every property as a string.  Anything else (null, arrays, objects,
 * strings with NUL) is an error naming the key.
 *
 * Threading: not reentrant (one scratch value buffer); called from
 * create() on the control thread only.  Ownership: key and value passed to
 * the callback are NUL-terminated and valid during the call only.
 */
#ifndef ETWHOST_KAFKA_JSON_H
#define ETWHOST_KAFKA_JSON_H

#include <stddef.h>

/* Called once per member, in order; a non-zero return stops the walk and is returned. */
typedef int (*kjson_member_fn)(void *ctx, const char *key, const char *value, char *err,
                               size_t err_len);

/*
 * Walk the object in json[0..len).  Returns 0, the callback's non-zero
 * result, or -1 with one line in err for malformed input.
 */
int kjson_each_member(const char *json, size_t len, kjson_member_fn fn, void *ctx, char *err,
                      size_t err_len);

#endif
