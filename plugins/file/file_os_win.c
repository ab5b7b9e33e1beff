/*
 * file_os_win: file_os.h for Windows.  Paths are converted from UTF-8 to
 * UTF-16 at each call; error numbers are GetLastError() codes.
 */
#if defined(_WIN32)

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <process.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_os.h"

static HANDLE h_of(const fos_file *f)
{
    return (HANDLE)f->h;
}

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

static int open_w(const char *path, DWORD access, DWORD disposition, fos_file *f)
{
    wchar_t *w = wide(path);
    if (w == NULL)
        return ERROR_NO_UNICODE_TRANSLATION;
    HANDLE h = CreateFileW(w, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, disposition, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD e = GetLastError();
    free(w);
    if (h == INVALID_HANDLE_VALUE)
        return (int)e;
    f->h = (intptr_t)h;
    return 0;
}

int fos_open_append(const char *path, fos_file *f, uint64_t *size, int *regular)
{
    /* GENERIC_WRITE (not FILE_APPEND_DATA alone) so that a torn line can be cut off;
     * every write seeks to the end first. */
    int e = open_w(path, GENERIC_READ | GENERIC_WRITE, OPEN_ALWAYS, f);
    if (e != 0)
        e = open_w(path, GENERIC_WRITE, OPEN_ALWAYS, f);
    if (e != 0)
        return e;
    *regular = GetFileType(h_of(f)) == FILE_TYPE_DISK;
    *size = 0;
    if (*regular) {
        LARGE_INTEGER sz;
        if (!GetFileSizeEx(h_of(f), &sz)) {
            e = (int)GetLastError();
            fos_close(f);
            return e;
        }
        *size = (uint64_t)sz.QuadPart;
    }
    return 0;
}

int fos_open_read(const char *path, fos_file *f)
{
    return open_w(path, GENERIC_READ, OPEN_EXISTING, f);
}

int fos_open_write_new(const char *path, fos_file *f)
{
    return open_w(path, GENERIC_WRITE, CREATE_ALWAYS, f);
}

void fos_close(fos_file *f)
{
    if (f->h != FOS_NO_FILE)
        CloseHandle(h_of(f));
    f->h = FOS_NO_FILE;
}

int fos_write(fos_file *f, const void *buf, size_t len, size_t *written)
{
    const char *p = buf;
    size_t done = 0;
    LARGE_INTEGER zero;
    zero.QuadPart = 0;
    if (GetFileType(h_of(f)) == FILE_TYPE_DISK)
        SetFilePointerEx(h_of(f), zero, NULL, FILE_END);
    while (done < len) {
        DWORD chunk = len - done > 0x40000000u ? 0x40000000u : (DWORD)(len - done);
        DWORD n = 0;
        if (!WriteFile(h_of(f), p + done, chunk, &n, NULL)) {
            *written = done + n;
            return (int)GetLastError();
        }
        if (n == 0) {
            *written = done;
            return ERROR_WRITE_FAULT;
        }
        done += n;
    }
    *written = done;
    return 0;
}

int fos_read(fos_file *f, void *buf, size_t len, size_t *got)
{
    DWORD n = 0;
    DWORD chunk = len > 0x40000000u ? 0x40000000u : (DWORD)len;
    if (!ReadFile(h_of(f), buf, chunk, &n, NULL)) {
        DWORD e = GetLastError();
        if (e == ERROR_HANDLE_EOF || e == ERROR_BROKEN_PIPE) {
            *got = 0;
            return 0;
        }
        return (int)e;
    }
    *got = n;
    return 0;
}

int fos_last_byte(fos_file *f, uint64_t size, unsigned char *out)
{
    if (size == 0)
        return ERROR_INVALID_PARAMETER;
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.Offset = (DWORD)((size - 1) & 0xFFFFFFFFu);
    ov.OffsetHigh = (DWORD)((size - 1) >> 32);
    DWORD n = 0;
    if (!ReadFile(h_of(f), out, 1, &n, &ov))
        return (int)GetLastError();
    return n == 1 ? 0 : ERROR_HANDLE_EOF;
}

int fos_size(fos_file *f, uint64_t *size)
{
    LARGE_INTEGER sz;
    if (!GetFileSizeEx(h_of(f), &sz))
        return (int)GetLastError();
    *size = (uint64_t)sz.QuadPart;
    return 0;
}

int fos_truncate(fos_file *f, uint64_t size)
{
    LARGE_INTEGER pos;
    pos.QuadPart = (LONGLONG)size;
    if (!SetFilePointerEx(h_of(f), pos, NULL, FILE_BEGIN) || !SetEndOfFile(h_of(f)))
        return (int)GetLastError();
    return 0;
}

int fos_sync(fos_file *f)
{
    if (GetFileType(h_of(f)) != FILE_TYPE_DISK)
        return 0;
    return FlushFileBuffers(h_of(f)) ? 0 : (int)GetLastError();
}

int fos_sync_dir(const char *dir)
{
    /* NTFS journals renames itself; there is no directory handle to flush. */
    (void)dir;
    return 0;
}

int fos_rename(const char *from, const char *to)
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

int fos_unlink(const char *path)
{
    wchar_t *w = wide(path);
    if (w == NULL)
        return ERROR_NO_UNICODE_TRANSLATION;
    int rc = DeleteFileW(w) ? 0 : (int)GetLastError();
    free(w);
    return rc;
}

static DWORD attrs(const char *path)
{
    wchar_t *w = wide(path);
    if (w == NULL)
        return INVALID_FILE_ATTRIBUTES;
    DWORD a = GetFileAttributesW(w);
    free(w);
    return a;
}

int fos_exists(const char *path)
{
    return attrs(path) != INVALID_FILE_ATTRIBUTES;
}

int fos_is_dir(const char *dir)
{
    DWORD a = attrs(dir);
    return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY);
}

int fos_list_dir(const char *dir, void (*fn)(const char *name, void *arg), void *arg)
{
    size_t n = strlen(dir);
    char *pat = malloc(n + 3);
    if (pat == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    memcpy(pat, dir, n);
    memcpy(pat + n, "\\*", 3);
    wchar_t *w = wide(pat);
    free(pat);
    if (w == NULL)
        return ERROR_NO_UNICODE_TRANSLATION;
    WIN32_FIND_DATAW fd;
    HANDLE h = FindFirstFileW(w, &fd);
    free(w);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        return e == ERROR_FILE_NOT_FOUND ? 0 : (int)e;
    }
    do {
        char name[MAX_PATH * 4];
        if (WideCharToMultiByte(CP_UTF8, 0, fd.cFileName, -1, name, sizeof name, NULL, NULL) <= 0)
            continue;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        fn(name, arg);
    } while (FindNextFileW(h, &fd));
    FindClose(h);
    return 0;
}

void fos_utc_now(int *year, int *mon, int *day, int *hour, int *min, int *sec)
{
    SYSTEMTIME st;
    GetSystemTime(&st);
    *year = st.wYear;
    *mon = st.wMonth;
    *day = st.wDay;
    *hour = st.wHour;
    *min = st.wMinute;
    *sec = st.wSecond;
}

uint64_t fos_monotonic_ns(void)
{
    LARGE_INTEGER c, f;
    QueryPerformanceCounter(&c);
    QueryPerformanceFrequency(&f);
    uint64_t q = (uint64_t)c.QuadPart, fr = (uint64_t)f.QuadPart;
    return q / fr * 1000000000u + q % fr * 1000000000u / fr;
}

int fos_is_nospace(int err)
{
    return err == ERROR_DISK_FULL || err == ERROR_HANDLE_DISK_FULL;
}

const char *fos_strerror(int err, char *buf, size_t cap)
{
    wchar_t w[256];
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             (DWORD)err, 0, w, sizeof w / sizeof w[0], NULL);
    while (n > 0 && (w[n - 1] == L'\n' || w[n - 1] == L'\r' || w[n - 1] == L'.'))
        w[--n] = 0;
    if (n == 0 ||
        WideCharToMultiByte(CP_UTF8, 0, w, -1, buf, (int)(cap > 0x7fffffff ? 0x7fffffff : cap),
                            NULL, NULL) <= 0)
        snprintf(buf, cap, "Windows error %d", err);
    return buf;
}

struct fos_worker {
    HANDLE t;
    SRWLOCK m;
    CONDITION_VARIABLE c;
    void (*fn)(void *);
    void *arg;
};

fos_worker *fos_worker_new(void)
{
    fos_worker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    InitializeSRWLock(&w->m);
    InitializeConditionVariable(&w->c);
    return w;
}

void fos_worker_free(fos_worker *w)
{
    free(w);
}

static unsigned __stdcall trampoline(void *p)
{
    fos_worker *w = p;
    w->fn(w->arg);
    return 0;
}

int fos_worker_start(fos_worker *w, void (*fn)(void *arg), void *arg)
{
    w->fn = fn;
    w->arg = arg;
    /* _beginthreadex, not CreateThread: the worker uses the C runtime. */
    uintptr_t t = _beginthreadex(NULL, 0, trampoline, w, 0, NULL);
    if (t == 0)
        return (int)GetLastError();
    w->t = (HANDLE)t;
    return 0;
}

void fos_worker_join(fos_worker *w)
{
    if (w->t != NULL) {
        WaitForSingleObject(w->t, INFINITE);
        CloseHandle(w->t);
        w->t = NULL;
    }
}

void fos_lock(fos_worker *w)
{
    AcquireSRWLockExclusive(&w->m);
}

void fos_unlock(fos_worker *w)
{
    ReleaseSRWLockExclusive(&w->m);
}

void fos_wait(fos_worker *w, uint32_t ms)
{
    SleepConditionVariableSRW(&w->c, &w->m, ms, 0);
}

void fos_signal(fos_worker *w)
{
    WakeAllConditionVariable(&w->c);
}

#else
/* ISO C needs at least one declaration in a translation unit. */
typedef int file_os_win_unused;
#endif
