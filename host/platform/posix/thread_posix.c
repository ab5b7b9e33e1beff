/*
 * POSIX threads, mutexes, condition variables and clocks.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif
#include <stdlib.h>
#include <time.h>

#include "../platform.h"
#include "../../core/mem.h"

void plat_init(void)
{
#if defined(M_ARENA_MAX)
    mallopt(M_ARENA_MAX, 1);
#endif
}

struct thread_start {
    plat_thread_fn fn;
    void *arg;
};

static void *thread_main(void *p)
{
    struct thread_start s = *(struct thread_start *)p;
    mem_free(p);
    s.fn(s.arg);
    return NULL;
}

int plat_thread_start(struct plat_thread *t, plat_thread_fn fn, void *arg)
{
    struct thread_start *s = mem_alloc(sizeof *s);
    if (s == NULL)
        return ERR_NOMEM;
    s->fn = fn;
    s->arg = arg;
    if (pthread_create(&t->t, NULL, thread_main, s) != 0) {
        mem_free(s);
        return ERR_NOMEM;
    }
    return 0;
}

void plat_thread_join(struct plat_thread *t)
{
    pthread_join(t->t, NULL);
}

void plat_mutex_init(struct plat_mutex *m) { pthread_mutex_init(&m->m, NULL); }
void plat_mutex_destroy(struct plat_mutex *m) { pthread_mutex_destroy(&m->m); }
void plat_mutex_lock(struct plat_mutex *m) { pthread_mutex_lock(&m->m); }
void plat_mutex_unlock(struct plat_mutex *m) { pthread_mutex_unlock(&m->m); }

void plat_cond_init(struct plat_cond *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&c->c, &a);
    pthread_condattr_destroy(&a);
}
void plat_cond_destroy(struct plat_cond *c) { pthread_cond_destroy(&c->c); }
void plat_cond_wait(struct plat_cond *c, struct plat_mutex *m) { pthread_cond_wait(&c->c, &m->m); }
void plat_cond_signal(struct plat_cond *c) { pthread_cond_signal(&c->c); }
void plat_cond_broadcast(struct plat_cond *c) { pthread_cond_broadcast(&c->c); }

void plat_cond_timedwait(struct plat_cond *c, struct plat_mutex *m, uint32_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&c->c, &m->m, &ts);
}

/* FILETIME of the Unix epoch. */
#define FILETIME_UNIX_EPOCH 116444736000000000LL

int64_t plat_now_filetime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return FILETIME_UNIX_EPOCH + (int64_t)ts.tv_sec * 10000000LL + ts.tv_nsec / 100;
}

uint64_t plat_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void plat_sleep_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
