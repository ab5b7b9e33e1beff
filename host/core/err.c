/*
 * err: names and messages of error codes, error buffers.
 */
#define _POSIX_C_SOURCE 200809L
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *err_name(int code)
{
    switch (code) {
    case 0: return "OK";
#define ERR_NAME(name, c, text) case c: return #name;
    ERR_MAP(ERR_NAME)
#undef ERR_NAME
    default: return "UNKNOWN";
    }
}

const char *err_str(int code)
{
    switch (code) {
    case 0: return "success";
#define ERR_TEXT(name, c, text) case c: return text;
    ERR_MAP(ERR_TEXT)
#undef ERR_TEXT
    default: return "unknown error";
    }
}

int errbuf_set(struct errbuf *eb, int code, const char *fmt, ...)
{
    if (eb) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void errbuf_prefix(struct errbuf *eb, const char *fmt, ...)
{
    if (eb == NULL)
        return;
    char pre[512], old[sizeof eb->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, eb->msg, sizeof old);
    size_t lp = strlen(pre), lo = strnlen(old, sizeof old - 1);
    if (lp > sizeof eb->msg - 1)
        lp = sizeof eb->msg - 1;
    if (lo > sizeof eb->msg - 1 - lp)
        lo = sizeof eb->msg - 1 - lp;
    memcpy(eb->msg, pre, lp);
    memcpy(eb->msg + lp, old, lo);
    eb->msg[lp + lo] = '\0';
}
