/*
 * compiler: portable attribute macros.
 *
 * ETWHOST_PRINTF(f, a) marks a printf-like function (format string at
 * argument f, arguments from a).  On MinGW the host is built with
 * __USE_MINGW_ANSI_STDIO=1 (C99 formats such as %zu and %lld), so the
 * format archetype is the one MinGW's stdio.h declares.
 */
#ifndef ETWHOST_COMPILER_H
#define ETWHOST_COMPILER_H

#include <stdio.h>

#if defined(__MINGW32__) && defined(__MINGW_PRINTF_FORMAT)
#define ETWHOST_PRINTF(f, a) __attribute__((format(__MINGW_PRINTF_FORMAT, f, a)))
#elif defined(__GNUC__) || defined(__clang__)
#define ETWHOST_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ETWHOST_PRINTF(f, a)
#endif

#endif
