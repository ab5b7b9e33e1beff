/*
 * service_win: etwhost under the Service Control Manager
 * (host/live/live_service.h).  A stop or shutdown request raises
 * PLAT_SIG_STOP so the run drains and flushes as on Ctrl+C; the service
 * stays STOP_PENDING (with a wait hint) until the body returns.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdio.h>
#include <string.h>

#include "../../core/mem.h"
#include "../../live/live_service.h"
#include "../platform.h"
#include "win_util.h"

static SERVICE_STATUS_HANDLE g_handle;
static SERVICE_STATUS g_status;
static int (*g_body)(void *arg);
static void *g_arg;
static int g_exit;
static WCHAR g_name[256];

static void report(DWORD state, DWORD exit_code, DWORD wait_hint)
{
    static DWORD checkpoint = 1;
    g_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    g_status.dwCurrentState = state;
    g_status.dwWaitHint = wait_hint;
    g_status.dwControlsAccepted =
        state == SERVICE_RUNNING
            ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PARAMCHANGE
            : 0;
    if (exit_code) {
        g_status.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
        g_status.dwServiceSpecificExitCode = exit_code;
    } else {
        g_status.dwWin32ExitCode = NO_ERROR;
        g_status.dwServiceSpecificExitCode = 0;
    }
    g_status.dwCheckPoint =
        state == SERVICE_RUNNING || state == SERVICE_STOPPED ? 0 : checkpoint++;
    SetServiceStatus(g_handle, &g_status);
}

static DWORD WINAPI on_control(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
    (void)type;
    (void)data;
    (void)ctx;
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
        report(SERVICE_STOP_PENDING, 0, 30000);
        plat_signals_raise(PLAT_SIG_STOP);
        return NO_ERROR;
    case SERVICE_CONTROL_PARAMCHANGE:
        plat_signals_raise(PLAT_SIG_RELOAD);
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

static VOID WINAPI service_main(DWORD argc, LPWSTR *argv)
{
    (void)argc;
    (void)argv;
    g_handle = RegisterServiceCtrlHandlerExW(g_name, on_control, NULL);
    if (g_handle == NULL)
        return;
    report(SERVICE_START_PENDING, 0, 5000);
    report(SERVICE_RUNNING, 0, 0);
    g_exit = g_body(g_arg);
    report(SERVICE_STOPPED, (DWORD)g_exit, 0);
}

int svc_run(const char *name, int (*body)(void *arg), void *arg, struct errbuf *eb)
{
    if (MultiByteToWideChar(CP_UTF8, 0, name, -1, g_name, 256) <= 0)
        return errbuf_set(eb, ERR_INVAL, "bad service name \"%s\"", name);
    g_body = body;
    g_arg = arg;
    g_exit = 0;
    SERVICE_TABLE_ENTRYW table[2];
    table[0].lpServiceName = g_name;
    table[0].lpServiceProc = service_main;
    table[1].lpServiceName = NULL;
    table[1].lpServiceProc = NULL;
    if (!StartServiceCtrlDispatcherW(table)) {
        DWORD e = GetLastError();
        char t[256];
        if (e == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT)
            return errbuf_set(eb, ERR_STATE,
                              "'service run' is started by the Service Control Manager: use "
                              "'sc start %s', or 'etwhost run -c DIR' in a console",
                              name);
        return errbuf_set(eb, ERR_IO, "StartServiceCtrlDispatcher failed: %s",
                          win_error_text(e, t, sizeof t));
    }
    return g_exit;
}

static int scm_error(struct errbuf *eb, const char *what, const char *name)
{
    DWORD e = GetLastError();
    char t[256];
    if (e == ERROR_ACCESS_DENIED)
        return errbuf_set(eb, ERR_PERM, "%s service \"%s\": access denied: run as Administrator",
                          what, name);
    if (e == ERROR_SERVICE_EXISTS)
        return errbuf_set(eb, ERR_EXISTS, "service \"%s\" is already installed (uninstall it "
                          "first: etwhost service uninstall --name %s)", name, name);
    if (e == ERROR_SERVICE_DOES_NOT_EXIST)
        return errbuf_set(eb, ERR_NOTFOUND, "service \"%s\" is not installed", name);
    return errbuf_set(eb, ERR_IO, "%s service \"%s\": %s", what, name,
                      win_error_text(e, t, sizeof t));
}

int svc_install(const struct svc_options *o, struct errbuf *eb)
{
    WCHAR exe[MAX_PATH];
    DWORD n = GetModuleFileNameW(NULL, exe, MAX_PATH);
    if (n == 0 || n >= MAX_PATH)
        return errbuf_set(eb, ERR_IO, "cannot find the path of etwhost.exe");
    char *exe8 = win_utf8(exe);
    if (exe8 == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    char cmd[3 * MAX_PATH + 600], display[400];
    snprintf(cmd, sizeof cmd, "\"%s\" service run --name \"%s\" -c \"%s\"", exe8, o->name,
             o->config_dir);
    mem_free(exe8);
    snprintf(display, sizeof display, "%s",
             o->display ? o->display : "etwhost ETW collector");
    wchar_t *wname = win_wide(o->name), *wcmd = win_wide(cmd), *wdisp = win_wide(display);
    int rc = 0;
    SC_HANDLE scm = NULL, svc = NULL;
    if (wname == NULL || wcmd == NULL || wdisp == NULL) {
        rc = errbuf_set(eb, ERR_NOMEM, "out of memory");
        goto out;
    }
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE);
    if (scm == NULL) {
        rc = scm_error(eb, "installing", o->name);
        goto out;
    }
    svc = CreateServiceW(scm, wname, wdisp, SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
                         o->auto_start ? SERVICE_AUTO_START : SERVICE_DEMAND_START,
                         SERVICE_ERROR_NORMAL, wcmd, NULL, NULL, NULL, NULL, NULL);
    if (svc == NULL) {
        rc = scm_error(eb, "installing", o->name);
        goto out;
    }
    SERVICE_DESCRIPTIONW d;
    d.lpDescription = L"Collects Event Tracing for Windows events, decodes them and ships them "
                      L"to the configured sinks (etwhost run).";
    ChangeServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, &d);
out:
    if (svc)
        CloseServiceHandle(svc);
    if (scm)
        CloseServiceHandle(scm);
    mem_free(wname);
    mem_free(wcmd);
    mem_free(wdisp);
    return rc;
}

int svc_uninstall(const char *name, struct errbuf *eb)
{
    wchar_t *wname = win_wide(name);
    if (wname == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    int rc = 0;
    SC_HANDLE svc = NULL, scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    if (scm == NULL) {
        rc = scm_error(eb, "uninstalling", name);
        goto out;
    }
    svc = OpenServiceW(scm, wname, SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE);
    if (svc == NULL) {
        rc = scm_error(eb, "uninstalling", name);
        goto out;
    }
    SERVICE_STATUS st;
    if (ControlService(svc, SERVICE_CONTROL_STOP, &st)) {
        /* Let the run drain: wait up to 60 s for STOPPED. */
        for (int i = 0; i < 600 && st.dwCurrentState != SERVICE_STOPPED; i++) {
            Sleep(100);
            if (!QueryServiceStatus(svc, &st))
                break;
        }
    }
    if (!DeleteService(svc))
        rc = scm_error(eb, "uninstalling", name);
out:
    if (svc)
        CloseServiceHandle(svc);
    if (scm)
        CloseServiceHandle(scm);
    mem_free(wname);
    return rc;
}
