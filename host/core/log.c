/*
 * log: serialized diagnostic lines on stderr.
 */
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static atomic_int level = LOG_INFO;

void log_set_level(int l) { atomic_store(&level, l); }
int log_get_level(void) { return atomic_load(&level); }

int log_level_parse(const char *s)
{
    if (strcmp(s, "error") == 0) return LOG_ERROR;
    if (strcmp(s, "warn") == 0 || strcmp(s, "warning") == 0) return LOG_WARN;
    if (strcmp(s, "info") == 0) return LOG_INFO;
    if (strcmp(s, "debug") == 0) return LOG_DEBUG;
    return -1;
}

void log_vmsg(int l, const char *fmt, va_list ap)
{
    if (l > atomic_load(&level))
        return;
    char line[2048];
    const char *pre = l == LOG_ERROR ? "error: " : l == LOG_WARN ? "warning: " :
                      l == LOG_DEBUG ? "debug: " : "";
    int n = snprintf(line, sizeof line, "etwhost: %s", pre);
    if (n < 0)
        return;
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = strlen(line);
    line[len++] = '\n';
    /* One fwrite per line: stdio locks the stream, so lines never interleave. */
    fwrite(line, 1, len, stderr);
    fflush(stderr);
}

void log_msg(int l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(l, fmt, ap);
    va_end(ap);
}
