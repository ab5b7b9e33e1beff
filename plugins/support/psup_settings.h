/*
 * psup_settings: reading plugin settings with the messages the built-in
 * plugins share.
 *
 * Every function reads one key through the host API (config_get_*), leaves
 * *out unchanged when the key is absent (so the caller presets the default)
 * and returns ETWHOST_OK, or ETWHOST_ERR_CONFIG with one line naming the key
 * in err (etwhost_errf).  No allocation, no state: thread-safe as far as the
 * host's config accessors are.
 */
#ifndef ETWHOST_PSUP_SETTINGS_H
#define ETWHOST_PSUP_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "etwhost/plugin.h"

/* A unit suffix and its multiplier; tables end with {NULL, 0}. */
struct psup_unit {
    const char *suffix;
    uint64_t mult;
};

/* Seconds: "" and "s", "m", "h", "d". */
extern const struct psup_unit psup_time_units[];

/*
 * An amount: a non-negative integer, or a string of decimal digits followed
 * by one of the suffixes in units (e.g. "64M", "1h").  example names a valid
 * string in the messages.  Overflow of the product is an error.
 */
etwhost_status psup_get_amount(const etwhost_host_api *api, const etwhost_config *cfg,
                               const char *key, const struct psup_unit *units,
                               const char *example, uint64_t *out, char *err, size_t err_len);

/* An integer from lo to hi (inclusive). */
etwhost_status psup_get_int(const etwhost_host_api *api, const etwhost_config *cfg,
                            const char *key, int64_t lo, int64_t hi, int64_t *out, char *err,
                            size_t err_len);

/*
 * One of the strings in values (NULL-terminated); *out gets its index.  The
 * messages list the values, so keep the list short (160 bytes of text).
 */
etwhost_status psup_get_choice(const etwhost_host_api *api, const etwhost_config *cfg,
                               const char *key, const char *const *values, int *out, char *err,
                               size_t err_len);

#endif
