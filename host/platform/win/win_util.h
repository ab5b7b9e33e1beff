/*
 * win_util: UTF-8 <-> UTF-16 conversion and error text for the Windows
 * platform files.  Internal to host/platform/win.
 */
#ifndef ETWHOST_WIN_UTIL_H
#define ETWHOST_WIN_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

/* New UTF-16 string (mem_alloc) from UTF-8; NULL on failure. */
wchar_t *win_wide(const char *utf8);
/*
 * UTF-16 form of a UTF-8 path: in buf when it fits (no allocation, so that
 * plat_is_dir and friends keep working when memory runs out), else on the
 * heap.  win_wpath returns w->p, NULL on invalid UTF-8 or out of memory;
 * release with win_wpath_free.
 */
struct win_wpath {
    wchar_t *p;
    wchar_t buf[1024];
};
wchar_t *win_wpath(struct win_wpath *w, const char *utf8);
void win_wpath_free(struct win_wpath *w);
/* New UTF-8 string (mem_alloc) from UTF-16; NULL on failure. */
char *win_utf8(const wchar_t *w);
/* FormatMessage text of err (no trailing newline) into buf. */
const char *win_error_text(unsigned long err, char *buf, size_t cap);
/*
 * Name of the event through which process pid receives sig (PLAT_SIG_STOP or
 * PLAT_SIG_RELOAD): plat_signals_install creates it, plat_kill sets it.
 */
void win_signal_event_name(uint32_t pid, uint32_t sig, wchar_t *out, size_t cap);

#endif
