/*
 * log: the host's diagnostic lines on stderr.
 *
 * Each line is "etwhost: <level>: <text>" (errors and warnings) or
 * "etwhost: <text>" (info).  Thread-safe; lines never interleave.
 */
#ifndef ETWHOST_LOG_H
#define ETWHOST_LOG_H

#include <stdarg.h>
#include "compiler.h"

#define LOG_ERROR 1
#define LOG_WARN 2
#define LOG_INFO 3
#define LOG_DEBUG 4

/* Lines above this level are dropped (default LOG_INFO). */
void log_set_level(int level);
int log_get_level(void);
/* Parse "error"|"warn"|"info"|"debug"; -1 if unknown. */
int log_level_parse(const char *s);

#if defined(__GNUC__) || defined(__clang__)
ETWHOST_PRINTF(2, 3)
#endif
void log_msg(int level, const char *fmt, ...);
void log_vmsg(int level, const char *fmt, va_list ap);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
