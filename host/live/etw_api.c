/*
 * etw_api: table selection and error texts (see etw_api.h).
 */
#include "etw_api.h"

#include <stdatomic.h>
#include <stdio.h>

static _Atomic(const struct etw_api *) override;

const struct etw_api *etw_api_get(void)
{
    const struct etw_api *a = atomic_load(&override);
    return a ? a : etw_api_platform();
}

void etw_api_override(const struct etw_api *api)
{
    atomic_store(&override, api);
}

const char *etw_error_text(const struct etw_api *api, uint32_t code, char *buf, size_t cap)
{
    const char *what = NULL;
    switch (code) {
    case ETW_ERR_ACCESS_DENIED:
        what = "access denied: run as Administrator or a member of Performance Log Users";
        break;
    case ETW_ERR_PRIVILEGE_NOT_HELD:
        what = "a required privilege is not held: run as Administrator";
        break;
    case ETW_ERR_ALREADY_EXISTS:
        what = "a session of that name already exists";
        break;
    case ETW_ERR_WMI_INSTANCE_NOT_FOUND:
        what = "no such session";
        break;
    case ETW_ERR_NO_SYSTEM_RESOURCES:
        what = "no system resources: too many sessions (64 at most) or buffers too large";
        break;
    case ETW_ERR_BAD_LENGTH:
        what = "bad buffer size or log file mode combination";
        break;
    case ETW_ERR_NOT_SUPPORTED:
        /* Under Wine the table explains which call it skipped. */
        if (api == NULL || api->wine_version == NULL || api->wine_version(api->ctx) == NULL)
            what = "not supported on this system";
        break;
    default:
        break;
    }
    char sys[256];
    sys[0] = '\0';
    if (what == NULL && api && api->error_text)
        api->error_text(api->ctx, code, sys, sizeof sys);
    if (what)
        snprintf(buf, cap, "%s (error %u)", what, code);
    else if (sys[0])
        snprintf(buf, cap, "%s", sys);
    else
        snprintf(buf, cap, "Windows error %u", code);
    return buf;
}
