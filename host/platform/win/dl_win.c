/*
 * Windows plugin loading: LoadLibraryExW with the safe search flags.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <string.h>

#include "../../core/mem.h"
#include "../platform.h"
#include "win_util.h"

#ifndef LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR
#define LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR 0x00000100
#endif
#ifndef LOAD_LIBRARY_SEARCH_DEFAULT_DIRS
#define LOAD_LIBRARY_SEARCH_DEFAULT_DIRS 0x00001000
#endif

int plat_dl_open(const char *path, void **handle, struct errbuf *eb)
{
    wchar_t *w = win_wide(path);
    char text[512];
    if (w == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    /* A full path is required by LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR. */
    wchar_t full[MAX_PATH * 4];
    DWORD n = GetFullPathNameW(w, MAX_PATH * 4, full, NULL);
    HMODULE h = NULL;
    if (n > 0 && n < MAX_PATH * 4)
        h = LoadLibraryExW(full, NULL,
                           LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR | LOAD_LIBRARY_SEARCH_DEFAULT_DIRS);
    DWORD e = GetLastError();
    mem_free(w);
    if (h == NULL)
        return errbuf_set(eb, ERR_PLUGIN, "%s", win_error_text(e, text, sizeof text));
    *handle = h;
    return 0;
}

plat_fnptr plat_dl_sym(void *handle, const char *name)
{
    FARPROC p = GetProcAddress((HMODULE)handle, name);
    plat_fnptr f = NULL;
    memcpy(&f, &p, sizeof f);
    return f;
}

void plat_dl_close(void *handle)
{
    if (handle)
        FreeLibrary((HMODULE)handle);
}

const char *plat_dl_suffix(void)
{
    return ".dll";
}
