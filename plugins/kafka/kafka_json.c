/*
 * kafka_json: walk the "rdkafka" settings object with jansson (see
 * kafka_json.h).
 *
 * On Linux the plugin shares the host's libjansson (and its allocator); the
 * tree lives only inside this call and never crosses the plugin ABI.  On
 * Windows the DLL links its own static jansson.
 */
#include "kafka_json.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

/* librdkafka takes every property as a string: render scalars as text. */
static int value_text(const json_t *v, char *out, size_t cap)
{
    if (json_is_string(v)) {
        size_t l = json_string_length(v);
        if (memchr(json_string_value(v), '\0', l) != NULL)
            return -1; /* an embedded NUL cannot reach librdkafka */
        if (l >= cap)
            return -2;
        memcpy(out, json_string_value(v), l + 1);
        return 0;
    }
    if (json_is_boolean(v)) {
        snprintf(out, cap, "%s", json_is_true(v) ? "true" : "false");
        return 0;
    }
    if (json_is_integer(v)) {
        /* Not JSON_INTEGER_FORMAT: on Windows it is MSVC's "I64d", which MinGW's C99
         * printf (and its format check) does not take. */
        snprintf(out, cap, "%lld", (long long)json_integer_value(v));
        return 0;
    }
    if (json_is_real(v)) {
        char *s = json_dumps(v, JSON_ENCODE_ANY);
        if (s == NULL)
            return -2;
        int too_long = strlen(s) >= cap;
        if (!too_long)
            memcpy(out, s, strlen(s) + 1);
        free(s);
        return too_long ? -2 : 0;
    }
    return -1;
}

int kjson_each_member(const char *json, size_t len, kjson_member_fn fn, void *ctx, char *err,
                      size_t err_len)
{
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        snprintf(err, err_len, "\"rdkafka\": line %d column %d: %s", je.line, je.column, je.text);
        return -1;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(err, err_len, "\"rdkafka\" must be an object of librdkafka properties");
        return -1;
    }
    const char *key;
    json_t *v;
    int rc = 0;
    static char value[65536];
    json_object_foreach(root, key, v) {
        int t = value_text(v, value, sizeof value);
        if (t == -1) {
            snprintf(err, err_len,
                     "\"rdkafka\".\"%s\": the value must be a string, number or boolean", key);
            rc = -1;
            break;
        }
        if (t == -2) {
            snprintf(err, err_len, "\"rdkafka\".\"%s\": value too long", key);
            rc = -1;
            break;
        }
        rc = fn(ctx, key, value, err, err_len);
        if (rc != 0)
            break;
    }
    json_decref(root);
    return rc;
}
