/*
 * config_pos: where each JSON value of the loaded configuration came from.
 *
 * jansson keeps no source positions, so after jansson has accepted a file
 * this module scans the same bytes once more and walks the parsed tree in
 * step with the text: each object member and array element is recorded with
 * the line and column of its key and of its value.  Lookups are by value
 * identity (the json_t pointer, for everything except the shared
 * true/false/null singletons) and by (object, key) or (array, index).
 *
 * Internal to host/config.  Not thread-safe while being built; read-only
 * lookups are safe from any thread afterwards.
 */
#ifndef ETWHOST_CONFIG_POS_H
#define ETWHOST_CONFIG_POS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct pos_ent {
    const json_t *node;   /* the value; NULL for true/false/null (no identity) */
    const json_t *parent; /* enclosing object or array; NULL for a file's root */
    const char *key;      /* member name (NULL for array elements and roots) */
    size_t index;         /* array index (0 otherwise) */
    uint32_t file;        /* index into the file name table */
    uint32_t kline, kcol; /* where the key starts (0 for elements and roots) */
    uint32_t vline, vcol; /* where the value starts */
    const char *where;    /* "file:vline:vcol", lives as long as the index */
};

struct pos_index;

/* A new empty index; NULL on out of memory. */
struct pos_index *pos_index_new(void);
void pos_index_free(struct pos_index *ix);

/* Register a file name (copied); *id receives its number.  0 or ERR_NOMEM. */
int pos_index_add_file(struct pos_index *ix, const char *name, uint32_t *id);
const char *pos_index_file_name(const struct pos_index *ix, uint32_t id);

/*
 * Record the positions of every value of root, parsed by jansson from
 * text[0..len).  The text must be what jansson accepted; a mismatch stops
 * the scan quietly (positions stay unknown) rather than failing.  0 or
 * ERR_NOMEM.
 */
int pos_index_scan(struct pos_index *ix, uint32_t file, const char *text, size_t len,
                   const json_t *root);

/* Lookups; NULL if unknown. */
const struct pos_ent *pos_index_node(const struct pos_index *ix, const json_t *node);
const struct pos_ent *pos_index_member(const struct pos_index *ix, const json_t *obj,
                                       const char *key);
const struct pos_ent *pos_index_elem(const struct pos_index *ix, const json_t *arr,
                                     size_t index);

#endif
