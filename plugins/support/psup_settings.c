/*
 * psup_settings: see psup_settings.h.
 */
#include "psup_settings.h"

#include <stdio.h>
#include <string.h>

const struct psup_unit psup_time_units[] = {{"", 1},    {"s", 1},     {"m", 60},
                                            {"h", 3600}, {"d", 86400}, {NULL, 0}};

etwhost_status psup_get_amount(const etwhost_host_api *api, const etwhost_config *cfg,
                               const char *key, const struct psup_unit *units,
                               const char *example, uint64_t *out, char *err, size_t err_len)
{
    int64_t v;
    etwhost_status rc = api->config_get_i64(cfg, key, &v);
    if (rc == ETWHOST_ERR_NOTFOUND)
        return ETWHOST_OK;
    if (rc == ETWHOST_OK) {
        if (v < 0)
            return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                                "%s: must not be negative (got %lld)", key, (long long)v);
        *out = (uint64_t)v;
        return ETWHOST_OK;
    }
    const char *s;
    size_t len;
    if (api->config_get_str(cfg, key, &s, &len) != ETWHOST_OK)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                            "%s: expected a non-negative integer or a string like \"%s\"", key,
                            example);
    uint64_t n = 0;
    size_t i = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9' && n < (UINT64_MAX - 9) / 10)
        n = n * 10 + (uint64_t)(s[i++] - '0');
    for (const struct psup_unit *u = units; i > 0 && u->suffix != NULL; u++) {
        size_t sl = strlen(u->suffix);
        if (len - i == sl && memcmp(s + i, u->suffix, sl) == 0) {
            if (u->mult != 0 && n > UINT64_MAX / u->mult)
                break;
            *out = n * u->mult;
            return ETWHOST_OK;
        }
    }
    return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                        "%s: cannot read \"%.*s\" (expected a number with an optional unit, "
                        "like \"%s\")",
                        key, (int)(len < 40 ? len : 40), s, example);
}

etwhost_status psup_get_int(const etwhost_host_api *api, const etwhost_config *cfg,
                            const char *key, int64_t lo, int64_t hi, int64_t *out, char *err,
                            size_t err_len)
{
    int64_t v;
    etwhost_status rc = api->config_get_i64(cfg, key, &v);
    if (rc == ETWHOST_ERR_NOTFOUND)
        return ETWHOST_OK;
    if (rc != ETWHOST_OK || v < lo || v > hi)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                            "%s: expected an integer from %lld to %lld", key, (long long)lo,
                            (long long)hi);
    *out = v;
    return ETWHOST_OK;
}

etwhost_status psup_get_choice(const etwhost_host_api *api, const etwhost_config *cfg,
                               const char *key, const char *const *values, int *out, char *err,
                               size_t err_len)
{
    const char *s;
    size_t len;
    etwhost_status rc = api->config_get_str(cfg, key, &s, &len);
    if (rc == ETWHOST_ERR_NOTFOUND)
        return ETWHOST_OK;
    char list[160] = "";
    for (int k = 0; values[k] != NULL; k++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s\"%s\"", k ? ", " : "", values[k]);
    }
    if (rc != ETWHOST_OK)
        return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG, "%s: expected one of %s", key,
                            list);
    for (int k = 0; values[k] != NULL; k++) {
        if (strlen(values[k]) == len && memcmp(values[k], s, len) == 0) {
            *out = k;
            return ETWHOST_OK;
        }
    }
    return etwhost_errf(err, err_len, ETWHOST_ERR_CONFIG,
                        "%s: unknown value \"%.*s\" (expected one of %s)", key,
                        (int)(len < 40 ? len : 40), s, list);
}
