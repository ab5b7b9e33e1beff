/* POSIX definitions of the platform thread types. */
#ifndef ETWHOST_PLAT_TYPES_POSIX_H
#define ETWHOST_PLAT_TYPES_POSIX_H

#include <pthread.h>

struct plat_thread {
    pthread_t t;
};
struct plat_mutex {
    pthread_mutex_t m;
};
struct plat_cond {
    pthread_cond_t c;
};

#endif
