/*
 * win_util: UTF-8 <-> UTF-16 conversion and error text for the Windows
 * platform files.  Internal to host/platform/win.
 */
#ifndef ETWHOST_WIN_UTIL_H
#define ETWHOST_WIN_UTIL_H

#include <stddef.h>
#include <wchar.h>

/* New UTF-16 string (mem_alloc) from UTF-8; NULL on failure. */
wchar_t *win_wide(const char *utf8);
/* New UTF-8 string (mem_alloc) from UTF-16; NULL on failure. */
char *win_utf8(const wchar_t *w);
/* FormatMessage text of err (no trailing newline) into buf. */
const char *win_error_text(unsigned long err, char *buf, size_t cap);

#endif
