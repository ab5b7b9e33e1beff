/*
 * Windows console control events: Ctrl+C, Ctrl+Break, close and shutdown
 * request a stop.  There is no SIGHUP; a reload is requested by the service
 * control manager (PARAMCHANGE) or plat_signals_raise.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdatomic.h>

#include "../platform.h"

static atomic_uint pending;
static atomic_int installed;

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

void plat_signals_install(void)
{
    if (atomic_exchange(&installed, 1))
        return;
    SetConsoleCtrlHandler(on_ctrl, TRUE);
}

uint32_t plat_signals_take(void) { return atomic_exchange(&pending, 0); }
uint32_t plat_signals_peek(void) { return atomic_load(&pending); }
void plat_signals_raise(uint32_t bits) { atomic_fetch_or(&pending, bits); }
