/*
 * Windows stop and reload requests.
 *
 * Console control events (Ctrl+C, Ctrl+Break, close, shutdown) request a
 * stop, as SIGINT/SIGTERM do on POSIX.  A console event only reaches
 * processes attached to the sender's console, so a background etwhost (a
 * child without a console, a service) also listens on two named events,
 * "Local\etwhost-<pid>-stop" and "Local\etwhost-<pid>-reload": plat_kill
 * sets them, which gives Windows the SIGTERM and SIGHUP of POSIX.  The
 * service control manager's STOP/PARAMCHANGE call plat_signals_raise.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdatomic.h>
#include <stdio.h>

#include "../platform.h"
#include "win_util.h"

static atomic_uint pending;
static atomic_int installed;
static HANDLE events[2]; /* stop, reload */

static BOOL WINAPI on_ctrl(DWORD type)
{
    switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
    case CTRL_CLOSE_EVENT:
    case CTRL_SHUTDOWN_EVENT:
        atomic_fetch_or(&pending, PLAT_SIG_STOP);
        return TRUE;
    default:
        return FALSE;
    }
}

/* Turns the named events into pending bits; runs until the process exits. */
static DWORD WINAPI event_watch(LPVOID arg)
{
    (void)arg;
    for (;;) {
        DWORD r = WaitForMultipleObjects(2, events, FALSE, INFINITE);
        if (r == WAIT_OBJECT_0)
            atomic_fetch_or(&pending, PLAT_SIG_STOP);
        else if (r == WAIT_OBJECT_0 + 1)
            atomic_fetch_or(&pending, PLAT_SIG_RELOAD);
        else
            return 0;
    }
}

void win_signal_event_name(uint32_t pid, uint32_t sig, wchar_t *out, size_t cap)
{
    _snwprintf(out, cap, L"Local\\etwhost-%lu-%ls", (unsigned long)pid,
               sig == PLAT_SIG_RELOAD ? L"reload" : L"stop");
    out[cap - 1] = 0;
}

void plat_signals_install(void)
{
    if (atomic_exchange(&installed, 1))
        return;
    SetConsoleCtrlHandler(on_ctrl, TRUE);
    wchar_t name[64];
    uint32_t self = (uint32_t)GetCurrentProcessId();
    win_signal_event_name(self, PLAT_SIG_STOP, name, 64);
    events[0] = CreateEventW(NULL, FALSE, FALSE, name); /* auto-reset */
    win_signal_event_name(self, PLAT_SIG_RELOAD, name, 64);
    events[1] = CreateEventW(NULL, FALSE, FALSE, name);
    if (events[0] == NULL || events[1] == NULL)
        return; /* console events still work */
    HANDLE t = CreateThread(NULL, 0, event_watch, NULL, 0, NULL);
    if (t != NULL)
        CloseHandle(t);
}

void plat_signals_quiet_pipe(void) {}

uint32_t plat_signals_take(void) { return atomic_exchange(&pending, 0); }
uint32_t plat_signals_peek(void) { return atomic_load(&pending); }
void plat_signals_raise(uint32_t bits) { atomic_fetch_or(&pending, bits); }
