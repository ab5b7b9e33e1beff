/*
 * POSIX signals: the handlers only record which signal arrived.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "../platform.h"

static atomic_uint pending;
static atomic_int installed;

static void on_signal(int sig)
{
    atomic_fetch_or(&pending, sig == SIGHUP ? PLAT_SIG_RELOAD : PLAT_SIG_STOP);
}

void plat_signals_install(void)
{
    if (atomic_exchange(&installed, 1))
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void plat_signals_quiet_pipe(void)
{
    signal(SIGPIPE, SIG_DFL);
}

uint32_t plat_signals_take(void)
{
    return atomic_exchange(&pending, 0);
}

uint32_t plat_signals_peek(void)
{
    return atomic_load(&pending);
}

void plat_signals_raise(uint32_t bits)
{
    atomic_fetch_or(&pending, bits);
}
