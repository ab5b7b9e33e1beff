/*
 * config_int: declarations shared by the files of host/config only.
 */
#ifndef ETWHOST_CONFIG_INT_H
#define ETWHOST_CONFIG_INT_H

#include <jansson.h>
#include <stdint.h>

#include "../core/err.h"
#include "config_pos.h"

/* 1 for "/x", "\x", "C:..." paths. */
int cfg_path_is_absolute(const char *p);

/*
 * Read and parse path (object or array at the top, duplicate keys
 * rejected); when ix is set also record positions under file_id.  *out is a
 * new reference.  Errors as cfg_load_file_json.
 */
int cfg_read_json(const char *path, json_t **out, struct pos_index *ix, uint32_t file_id,
                  struct errbuf *eb);

#endif
