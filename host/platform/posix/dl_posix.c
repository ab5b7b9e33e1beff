/*
 * POSIX shared-library loading: dlopen with RTLD_NOW | RTLD_LOCAL.
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <string.h>

#include "../platform.h"

int plat_dl_open(const char *path, void **handle, struct errbuf *eb)
{
    dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        const char *e = dlerror();
        return errbuf_set(eb, ERR_PLUGIN, "%s", e ? e : "dlopen failed");
    }
    *handle = h;
    return 0;
}

plat_fnptr plat_dl_sym(void *handle, const char *name)
{
    void *p = dlsym(handle, name);
    plat_fnptr f = NULL;
    /* POSIX guarantees object and function pointers convert; ISO C does not. */
    if (p)
        memcpy(&f, &p, sizeof f);
    return f;
}

void plat_dl_close(void *handle)
{
    if (handle)
        dlclose(handle);
}

const char *plat_dl_suffix(void)
{
    return ".so";
}
