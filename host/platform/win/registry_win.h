/*
 * registry_win: the registry functions of the Windows etw_api table
 * (HKEY_LOCAL_MACHINE-relative UTF-8 paths; see host/live/etw_api.h for
 * the contract).  Internal to host/platform/win.
 */
#ifndef ETWHOST_REGISTRY_WIN_H
#define ETWHOST_REGISTRY_WIN_H

#include <stddef.h>
#include <stdint.h>

uint32_t winreg_set(void *ctx, const char *key, const char *value, uint32_t type,
                    const void *data, uint32_t len);
uint32_t winreg_create(void *ctx, const char *key);
uint32_t winreg_get(void *ctx, const char *key, const char *value, uint32_t *type, void *buf,
                    uint32_t *len);
uint32_t winreg_enum_key(void *ctx, const char *key, uint32_t index, char *name, size_t cap);
uint32_t winreg_enum_value(void *ctx, const char *key, uint32_t index, char *name, size_t cap);
uint32_t winreg_delete_tree(void *ctx, const char *key);

#endif
