/*
 * Windows UTF-8/UTF-16 conversion and error messages.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdio.h>
#include <string.h>

#include "../../core/mem.h"
#include "win_util.h"

wchar_t *win_wide(const char *utf8)
{
    int n = MultiByteToWideChar(CP_UTF8, 0, utf8, -1, NULL, 0);
    if (n <= 0)
        return NULL;
    wchar_t *w = mem_alloc((size_t)n * sizeof(wchar_t));
    if (w && MultiByteToWideChar(CP_UTF8, 0, utf8, -1, w, n) <= 0) {
        mem_free(w);
        return NULL;
    }
    return w;
}

wchar_t *win_wpath(struct win_wpath *w, const char *utf8)
{
    int cap = (int)(sizeof w->buf / sizeof w->buf[0]);
    int n = MultiByteToWideChar(CP_UTF8, 0, utf8, -1, w->buf, cap);
    if (n > 0)
        return w->p = w->buf;
    w->p = GetLastError() == ERROR_INSUFFICIENT_BUFFER ? win_wide(utf8) : NULL;
    return w->p;
}

void win_wpath_free(struct win_wpath *w)
{
    if (w->p != w->buf)
        mem_free(w->p);
    w->p = NULL;
}

char *win_utf8(const wchar_t *w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    if (n <= 0)
        return NULL;
    char *s = mem_alloc((size_t)n);
    if (s && WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) <= 0) {
        mem_free(s);
        return NULL;
    }
    return s;
}

const char *win_error_text(unsigned long err, char *buf, size_t cap)
{
    wchar_t wbuf[512];
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             err, 0, wbuf, 512, NULL);
    if (n == 0) {
        snprintf(buf, cap, "Windows error %lu", err);
        return buf;
    }
    while (n > 0 && (wbuf[n - 1] == L'\n' || wbuf[n - 1] == L'\r' || wbuf[n - 1] == L' '))
        wbuf[--n] = 0;
    if (WideCharToMultiByte(CP_UTF8, 0, wbuf, -1, buf, (int)cap, NULL, NULL) <= 0)
        snprintf(buf, cap, "Windows error %lu", err);
    size_t l = strlen(buf);
    snprintf(buf + l, cap - l, " (error %lu)", err);
    return buf;
}
