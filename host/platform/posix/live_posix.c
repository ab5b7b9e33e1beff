/*
 * live_posix: the POSIX side of the live-ETW interfaces.  There is no ETW
 * here: no etw_api table, and the service functions say so.
 */
#include "../../live/etw_api.h"
#include "../../live/live_service.h"

const struct etw_api *etw_api_platform(void)
{
    return NULL;
}

int svc_install(const struct svc_options *o, struct errbuf *eb)
{
    (void)o;
    return errbuf_set(eb, ERR_UNSUPPORTED, "Windows services need Windows");
}

int svc_uninstall(const char *name, struct errbuf *eb)
{
    (void)name;
    return errbuf_set(eb, ERR_UNSUPPORTED, "Windows services need Windows");
}

int svc_run(const char *name, int (*body)(void *arg), void *arg, struct errbuf *eb)
{
    (void)name;
    (void)body;
    (void)arg;
    return errbuf_set(eb, ERR_UNSUPPORTED, "Windows services need Windows");
}
