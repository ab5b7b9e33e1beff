/*
 * registry_win: HKEY_LOCAL_MACHINE access for the etw_api table (AutoLogger
 * sessions), through the registry API (RegCreateKeyExW, RegSetValueExW,
 * RegQueryValueExW, RegEnumKeyExW, RegEnumValueW, RegDeleteTreeW).  Paths
 * and REG_SZ data are UTF-8 on the portable side and UTF-16 here.  The
 * 64-bit registry view is used so a 32-bit build writes where Windows'
 * AutoLogger code reads.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <string.h>

#include "../../core/mem.h"
#include "../../live/etw_api.h"
#include "registry_win.h"
#include "win_util.h"

#define WOW KEY_WOW64_64KEY

static uint32_t open_key(const char *path, REGSAM sam, HKEY *k)
{
    wchar_t *w = win_wide(path);
    if (w == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    LSTATUS rc = RegOpenKeyExW(HKEY_LOCAL_MACHINE, w, 0, sam | WOW, k);
    mem_free(w);
    return (uint32_t)rc;
}

static uint32_t create_key(const char *path, REGSAM sam, HKEY *k)
{
    wchar_t *w = win_wide(path);
    if (w == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    LSTATUS rc = RegCreateKeyExW(HKEY_LOCAL_MACHINE, w, 0, NULL, REG_OPTION_NON_VOLATILE,
                                 sam | WOW, NULL, k, NULL);
    mem_free(w);
    return (uint32_t)rc;
}

uint32_t winreg_create(void *ctx, const char *key)
{
    (void)ctx;
    HKEY k;
    uint32_t rc = create_key(key, KEY_SET_VALUE, &k);
    if (rc == ERROR_SUCCESS)
        RegCloseKey(k);
    return rc;
}

uint32_t winreg_set(void *ctx, const char *key, const char *value, uint32_t type,
                    const void *data, uint32_t len)
{
    (void)ctx;
    HKEY k;
    uint32_t rc = create_key(key, KEY_SET_VALUE, &k);
    if (rc != ERROR_SUCCESS)
        return rc;
    wchar_t *wv = win_wide(value);
    wchar_t *ws = NULL;
    const BYTE *bytes = data;
    DWORD size = len;
    if (type == ETW_REG_SZ) {
        /* UTF-8 text of len bytes -> UTF-16 with its NUL. */
        int n = MultiByteToWideChar(CP_UTF8, 0, data, (int)len, NULL, 0);
        ws = mem_alloc(((size_t)n + 1) * sizeof *ws);
        if (ws) {
            if (len)
                MultiByteToWideChar(CP_UTF8, 0, data, (int)len, ws, n);
            ws[n] = 0;
            bytes = (const BYTE *)ws;
            size = (DWORD)(((size_t)n + 1) * sizeof *ws);
        }
    }
    if (wv == NULL || (type == ETW_REG_SZ && ws == NULL))
        rc = ERROR_NOT_ENOUGH_MEMORY;
    else
        rc = (uint32_t)RegSetValueExW(k, wv, 0, type, bytes, size);
    mem_free(wv);
    mem_free(ws);
    RegCloseKey(k);
    return rc;
}

uint32_t winreg_get(void *ctx, const char *key, const char *value, uint32_t *type, void *buf,
                    uint32_t *len)
{
    (void)ctx;
    HKEY k;
    uint32_t rc = open_key(key, KEY_QUERY_VALUE, &k);
    if (rc != ERROR_SUCCESS)
        return rc;
    wchar_t *wv = win_wide(value);
    if (wv == NULL) {
        RegCloseKey(k);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    DWORD t = 0, size = 0;
    rc = (uint32_t)RegQueryValueExW(k, wv, NULL, &t, NULL, &size);
    BYTE *tmp = NULL;
    if (rc == ERROR_SUCCESS) {
        tmp = mem_alloc(size + 2);
        if (tmp == NULL)
            rc = ERROR_NOT_ENOUGH_MEMORY;
        else
            rc = (uint32_t)RegQueryValueExW(k, wv, NULL, &t, tmp, &size);
    }
    if (rc == ERROR_SUCCESS) {
        *type = t;
        if (t == REG_SZ || t == REG_EXPAND_SZ) {
            /* UTF-16 (maybe without its NUL) -> UTF-8 without NUL. */
            size_t units = size / 2;
            const wchar_t *w = (const wchar_t *)tmp;
            while (units && w[units - 1] == 0)
                units--;
            int n = units ? WideCharToMultiByte(CP_UTF8, 0, w, (int)units, NULL, 0, NULL, NULL)
                          : 0;
            if ((uint32_t)n > *len) {
                rc = ERROR_MORE_DATA;
            } else if (n) {
                WideCharToMultiByte(CP_UTF8, 0, w, (int)units, buf, n, NULL, NULL);
            }
            *len = (uint32_t)n;
            *type = ETW_REG_SZ;
        } else {
            if (size > *len)
                rc = ERROR_MORE_DATA;
            else
                memcpy(buf, tmp, size);
            *len = size;
        }
    }
    mem_free(tmp);
    mem_free(wv);
    RegCloseKey(k);
    return rc;
}

uint32_t winreg_enum_key(void *ctx, const char *key, uint32_t index, char *name, size_t cap)
{
    (void)ctx;
    HKEY k;
    uint32_t rc = open_key(key, KEY_ENUMERATE_SUB_KEYS, &k);
    if (rc != ERROR_SUCCESS)
        return rc;
    wchar_t w[256];
    DWORD n = 256;
    rc = (uint32_t)RegEnumKeyExW(k, index, w, &n, NULL, NULL, NULL, NULL);
    RegCloseKey(k);
    if (rc == ERROR_SUCCESS &&
        WideCharToMultiByte(CP_UTF8, 0, w, -1, name, (int)cap, NULL, NULL) <= 0)
        rc = ERROR_MORE_DATA;
    return rc;
}

uint32_t winreg_enum_value(void *ctx, const char *key, uint32_t index, char *name, size_t cap)
{
    (void)ctx;
    HKEY k;
    uint32_t rc = open_key(key, KEY_QUERY_VALUE, &k);
    if (rc != ERROR_SUCCESS)
        return rc;
    wchar_t *w = mem_alloc(16384 * sizeof *w);
    if (w == NULL) {
        RegCloseKey(k);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    DWORD n = 16384;
    rc = (uint32_t)RegEnumValueW(k, index, w, &n, NULL, NULL, NULL, NULL);
    RegCloseKey(k);
    if (rc == ERROR_SUCCESS &&
        WideCharToMultiByte(CP_UTF8, 0, w, -1, name, (int)cap, NULL, NULL) <= 0)
        rc = ERROR_MORE_DATA;
    mem_free(w);
    return rc;
}

uint32_t winreg_delete_tree(void *ctx, const char *key)
{
    (void)ctx;
    HKEY k;
    uint32_t rc = open_key(key, DELETE | KEY_ENUMERATE_SUB_KEYS | KEY_QUERY_VALUE | KEY_SET_VALUE,
                           &k);
    if (rc != ERROR_SUCCESS)
        return rc;
    rc = (uint32_t)RegDeleteTreeW(k, NULL);
    RegCloseKey(k);
    if (rc != ERROR_SUCCESS)
        return rc;
    wchar_t *w = win_wide(key);
    if (w == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    rc = (uint32_t)RegDeleteKeyExW(HKEY_LOCAL_MACHINE, w, WOW, 0);
    mem_free(w);
    return rc;
}
