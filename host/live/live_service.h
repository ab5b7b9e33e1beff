/*
 * live_service: etwhost as a Windows service (Service Control Manager).
 *
 * `etwhost service install` registers "<exe> service run --name NAME -c
 * DIR" as a service; the SCM then starts it, svc_run connects to the SCM
 * and runs the body (the usual `etwhost run -c DIR`) on the service
 * thread.  A stop or shutdown request raises PLAT_SIG_STOP, which makes the
 * run drain and flush like Ctrl+C does; a parameter-change request raises
 * PLAT_SIG_RELOAD.  The service reports STOPPED with the body's exit code.
 *
 * Implemented in host/platform/win/service_win.c; the POSIX build returns
 * ERR_UNSUPPORTED.  Errors are one line in eb.
 *
 * Threading: svc_run blocks the calling thread (the SCM dispatcher) until
 * the service stopped.
 */
#ifndef ETWHOST_LIVE_SERVICE_H
#define ETWHOST_LIVE_SERVICE_H

#include "../core/err.h"

#define SVC_DEFAULT_NAME "etwhost"

struct svc_options {
    const char *name;        /* service name */
    const char *display;     /* display name (NULL: "etwhost ETW collector (NAME)") */
    const char *config_dir;  /* config folder given to "service run" (made absolute) */
    int auto_start;          /* 1: start at boot; 0: on demand */
};

/* CreateServiceW (own process, LocalSystem); ERR_EXISTS when installed already. */
int svc_install(const struct svc_options *o, struct errbuf *eb);

/* Stop the service if it runs, then DeleteService; ERR_NOTFOUND if not installed. */
int svc_uninstall(const char *name, struct errbuf *eb);

/*
 * Run body(arg) as service 'name' under the SCM and return its exit code
 * (>= 0), or a negative ERR_*: ERR_STATE when the process was not started
 * by the SCM.
 */
int svc_run(const char *name, int (*body)(void *arg), void *arg, struct errbuf *eb);

#endif
