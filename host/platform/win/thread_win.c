/*
 * Windows threads (CreateThread), SRW locks, condition variables, clocks.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include "../../core/mem.h"
#include "../platform.h"

void plat_init(void)
{
    /* The CRT heap needs no tuning; nothing to do. */
}

struct thread_start {
    plat_thread_fn fn;
    void *arg;
};

static DWORD WINAPI thread_main(LPVOID p)
{
    struct thread_start s = *(struct thread_start *)p;
    mem_free(p);
    s.fn(s.arg);
    return 0;
}

int plat_thread_start(struct plat_thread *t, plat_thread_fn fn, void *arg)
{
    struct thread_start *s = mem_alloc(sizeof *s);
    if (s == NULL)
        return ERR_NOMEM;
    s->fn = fn;
    s->arg = arg;
    HANDLE h = CreateThread(NULL, 0, thread_main, s, 0, NULL);
    if (h == NULL) {
        mem_free(s);
        return ERR_NOMEM;
    }
    t->handle = h;
    return 0;
}

void plat_thread_join(struct plat_thread *t)
{
    WaitForSingleObject((HANDLE)t->handle, INFINITE);
    CloseHandle((HANDLE)t->handle);
}

void plat_mutex_init(struct plat_mutex *m) { InitializeSRWLock((PSRWLOCK)&m->srw); }
void plat_mutex_destroy(struct plat_mutex *m) { (void)m; }
void plat_mutex_lock(struct plat_mutex *m) { AcquireSRWLockExclusive((PSRWLOCK)&m->srw); }
void plat_mutex_unlock(struct plat_mutex *m) { ReleaseSRWLockExclusive((PSRWLOCK)&m->srw); }

void plat_cond_init(struct plat_cond *c) { InitializeConditionVariable((PCONDITION_VARIABLE)&c->cv); }
void plat_cond_destroy(struct plat_cond *c) { (void)c; }

void plat_cond_wait(struct plat_cond *c, struct plat_mutex *m)
{
    SleepConditionVariableSRW((PCONDITION_VARIABLE)&c->cv, (PSRWLOCK)&m->srw, INFINITE, 0);
}

void plat_cond_timedwait(struct plat_cond *c, struct plat_mutex *m, uint32_t ms)
{
    SleepConditionVariableSRW((PCONDITION_VARIABLE)&c->cv, (PSRWLOCK)&m->srw, ms, 0);
}

void plat_cond_signal(struct plat_cond *c) { WakeConditionVariable((PCONDITION_VARIABLE)&c->cv); }
void plat_cond_broadcast(struct plat_cond *c)
{
    WakeAllConditionVariable((PCONDITION_VARIABLE)&c->cv);
}

int64_t plat_now_filetime(void)
{
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    return (int64_t)(((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime);
}

uint64_t plat_monotonic_ns(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER now;
    if (freq.QuadPart == 0)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    uint64_t q = (uint64_t)now.QuadPart / (uint64_t)freq.QuadPart;
    uint64_t r = (uint64_t)now.QuadPart % (uint64_t)freq.QuadPart;
    return q * 1000000000ULL + r * 1000000000ULL / (uint64_t)freq.QuadPart;
}

void plat_sleep_ms(uint32_t ms)
{
    Sleep(ms);
}
