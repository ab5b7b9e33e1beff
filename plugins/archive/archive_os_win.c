/*
 * archive_os_win: archive_os.h for Windows.  Paths are converted from UTF-8
 * to UTF-16 at each call; error numbers are GetLastError() codes.
 */
#if defined(_WIN32)

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive_os.h"

/* New UTF-16 copy of a UTF-8 string (malloc); NULL on failure. */
static wchar_t *wide(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0)
        return NULL;
    wchar_t *w = malloc((size_t)n * sizeof *w);
    if (w != NULL && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) <= 0) {
        free(w);
        w = NULL;
    }
    return w;
}

/* New UTF-8 copy of a UTF-16 string (malloc); NULL on failure. */
static char *narrow(const wchar_t *w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    if (n <= 0)
        return NULL;
    char *s = malloc((size_t)n);
    if (s != NULL && WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) <= 0) {
        free(s);
        s = NULL;
    }
    return s;
}

static HANDLE h_of(const aos_file *f)
{
    return (HANDLE)f->h;
}

int aos_create(const char *path, aos_file *f)
{
    wchar_t *w = wide(path);
    if (w == NULL)
        return ERROR_NO_UNICODE_TRANSLATION;
    /* Readers (etwhost archive info, a tail) may open the file while it grows; DELETE
     * sharing lets rotation's clean-up remove an old file another process still reads. */
    HANDLE h = CreateFileW(w, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL,
                           CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD e = GetLastError();
    free(w);
    if (h == INVALID_HANDLE_VALUE)
        return (int)e;
    f->h = (intptr_t)h;
    return 0;
}

int aos_write(aos_file *f, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        DWORD chunk = len > 0x40000000u ? 0x40000000u : (DWORD)len, n = 0;
        if (!WriteFile(h_of(f), p, chunk, &n, NULL))
            return (int)GetLastError();
        if (n == 0)
            return ERROR_WRITE_FAULT;
        p += n;
        len -= n;
    }
    return 0;
}

int aos_truncate(aos_file *f, uint64_t size)
{
    LARGE_INTEGER pos;
    pos.QuadPart = (LONGLONG)size;
    /* SetEndOfFile cuts at the file pointer, which then stays there for the next write. */
    if (!SetFilePointerEx(h_of(f), pos, NULL, FILE_BEGIN) || !SetEndOfFile(h_of(f)))
        return (int)GetLastError();
    return 0;
}

int aos_sync(aos_file *f)
{
    return FlushFileBuffers(h_of(f)) ? 0 : (int)GetLastError();
}

void aos_close(aos_file *f)
{
    if (f->h != AOS_NO_FILE)
        CloseHandle(h_of(f));
    f->h = AOS_NO_FILE;
}

int aos_rename(const char *from, const char *to)
{
    wchar_t *a = wide(from), *b = wide(to);
    int rc = 0;
    if (a == NULL || b == NULL)
        rc = ERROR_NO_UNICODE_TRANSLATION;
    else if (!MoveFileExW(a, b, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        rc = (int)GetLastError();
    free(a);
    free(b);
    return rc;
}

int aos_unlink(const char *path)
{
    wchar_t *w = wide(path);
    if (w == NULL)
        return ERROR_NO_UNICODE_TRANSLATION;
    int rc = DeleteFileW(w) ? 0 : (int)GetLastError();
    free(w);
    return rc;
}

int aos_size(const char *path, uint64_t *size)
{
    wchar_t *w = wide(path);
    if (w == NULL)
        return ERROR_NO_UNICODE_TRANSLATION;
    WIN32_FILE_ATTRIBUTE_DATA d;
    BOOL ok = GetFileAttributesExW(w, GetFileExInfoStandard, &d);
    DWORD e = GetLastError();
    free(w);
    if (!ok)
        return (int)e;
    *size = ((uint64_t)d.nFileSizeHigh << 32) | d.nFileSizeLow;
    return 0;
}

int aos_sync_dir(const char *dir)
{
    /* NTFS journals directory entries itself; there is no directory fsync to call. */
    (void)dir;
    return 0;
}

int aos_list_dir(const char *dir, void (*fn)(void *ctx, const char *name), void *ctx)
{
    size_t l = strlen(dir);
    char *pattern = malloc(l + 3);
    if (pattern == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    memcpy(pattern, dir, l);
    memcpy(pattern + l, "\\*", 3);
    wchar_t *w = wide(pattern);
    free(pattern);
    if (w == NULL)
        return ERROR_NO_UNICODE_TRANSLATION;
    WIN32_FIND_DATAW fd;
    HANDLE h = FindFirstFileW(w, &fd);
    DWORD e = GetLastError();
    free(w);
    if (h == INVALID_HANDLE_VALUE)
        return e == ERROR_FILE_NOT_FOUND ? 0 : (int)e;
    do {
        if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
            continue;
        char *name = narrow(fd.cFileName);
        if (name != NULL) {
            fn(ctx, name);
            free(name);
        }
    } while (FindNextFileW(h, &fd));
    FindClose(h);
    return 0;
}

int64_t aos_now_filetime(void)
{
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    return (int64_t)(((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime);
}

uint64_t aos_monotonic_ns(void)
{
    LARGE_INTEGER freq, now;
    QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    uint64_t f = (uint64_t)freq.QuadPart, c = (uint64_t)now.QuadPart;
    return c / f * 1000000000ull + c % f * 1000000000ull / f;
}

const char *aos_strerror(int e, char *buf, size_t cap)
{
    wchar_t w[512];
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             (DWORD)e, 0, w, 512, NULL);
    while (n > 0 && (w[n - 1] == L'\n' || w[n - 1] == L'\r' || w[n - 1] == L' ' ||
                     w[n - 1] == L'.'))
        w[--n] = 0;
    char *s = n ? narrow(w) : NULL;
    if (s != NULL)
        snprintf(buf, cap, "%s (error %d)", s, e);
    else
        snprintf(buf, cap, "Windows error %d", e);
    free(s);
    return buf;
}

#else
typedef int archive_os_win_empty; /* ISO C needs one declaration per file */
#endif
