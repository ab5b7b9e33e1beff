/*
 * Windows definitions of the platform thread types.  SRWLOCK and
 * CONDITION_VARIABLE are one pointer each, so no windows.h is needed here.
 */
#ifndef ETWHOST_PLAT_TYPES_WIN_H
#define ETWHOST_PLAT_TYPES_WIN_H

struct plat_thread {
    void *handle;
};
struct plat_mutex {
    void *srw; /* SRWLOCK */
};
struct plat_cond {
    void *cv; /* CONDITION_VARIABLE */
};

#endif
