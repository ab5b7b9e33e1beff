/*
 * filter_json: a small JSON reader for the filter plugin's rule tree.
 *
 * The plugin receives its "rule" setting as JSON text (api->config_get_json)
 * and must validate it itself with errors that name the JSON path, so it
 * parses the text into a plain tree here.  Object members keep their order;
 * duplicate keys are rejected.  Used at create() only, never per event.
 *
 * Ownership: fj_parse fills a tree the caller releases with fj_free.  All
 * memory comes from the plugin's own malloc.  Threading: none (pure).
 */
#ifndef ETWHOST_FILTER_JSON_H
#define ETWHOST_FILTER_JSON_H

#include <stddef.h>
#include <stdint.h>

#define FJ_NULL 0
#define FJ_BOOL 1
#define FJ_NUM 2
#define FJ_STR 3
#define FJ_ARR 4
#define FJ_OBJ 5

struct fj_member;

struct fj_value {
    int type;      /* FJ_* */
    int b;         /* FJ_BOOL */
    int is_int;    /* FJ_NUM: the text was an integer that fits int64 */
    int64_t i;     /* FJ_NUM with is_int */
    double d;      /* FJ_NUM, always set */
    char *s;       /* FJ_STR: NUL-terminated UTF-8 (may contain NUL: see len) */
    size_t len;    /* FJ_STR length; FJ_ARR / FJ_OBJ item count */
    struct fj_value *items;   /* FJ_ARR */
    struct fj_member *members; /* FJ_OBJ */
};

struct fj_member {
    char *key;
    struct fj_value val;
};

/*
 * Parse text[0..len) as one JSON value (nesting limited to 64 levels).
 * Returns 0, or -1 with one line in err ("line L column C: ...").
 */
int fj_parse(const char *text, size_t len, struct fj_value *out, char *err, size_t err_len);

/* Release what fj_parse allocated; the value becomes FJ_NULL. */
void fj_free(struct fj_value *v);

/* Member of an object by key, or NULL. */
const struct fj_value *fj_get(const struct fj_value *obj, const char *key);

/* "object", "array", "string", "number", "boolean" or "null". */
const char *fj_type_name(int type);

#endif
