/*
 * psup_os_win: psup_os.h for Windows.  Paths are converted from UTF-8 to
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

#include "psup_os.h"

static HANDLE h_of(const psup_file *f)
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

static int open_w(const char *path, DWORD access, DWORD share, DWORD disposition, psup_file *f)
{
    wchar_t *w = wide(path);
    if (w == NULL)
        return ERROR_NO_UNICODE_TRANSLATION;
    HANDLE h = CreateFileW(w, access, share, NULL, disposition, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD e = GetLastError();
    free(w);
    if (h == INVALID_HANDLE_VALUE)
        return (int)e;
    f->h = (intptr_t)h;
    f->append = 0;
    return 0;
}

#define SHARE_ALL (FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)

int psup_open_append(const char *path, psup_file *f, uint64_t *size, int *regular)
{
    /* GENERIC_WRITE (not FILE_APPEND_DATA alone) so that a torn line can be cut off;
     * every write seeks to the end first. */
    int e = open_w(path, GENERIC_READ | GENERIC_WRITE, SHARE_ALL, OPEN_ALWAYS, f);
    if (e != 0)
        e = open_w(path, GENERIC_WRITE, SHARE_ALL, OPEN_ALWAYS, f);
    if (e != 0)
        return e;
    f->append = 1;
    *regular = GetFileType(h_of(f)) == FILE_TYPE_DISK;
    *size = 0;
    if (*regular) {
        LARGE_INTEGER sz;
        if (!GetFileSizeEx(h_of(f), &sz)) {
            e = (int)GetLastError();
            psup_close(f);
            return e;
        }
        *size = (uint64_t)sz.QuadPart;
    }
    return 0;
}

int psup_open_read(const char *path, psup_file *f)
{
    return open_w(path, GENERIC_READ, SHARE_ALL, OPEN_EXISTING, f);
}

int psup_open_write_new(const char *path, psup_file *f)
{
    return open_w(path, GENERIC_WRITE, SHARE_ALL, CREATE_ALWAYS, f);
}

int psup_create_new(const char *path, psup_file *f)
{
    /* Readers (etwhost archive info, a tail) may open the file while it grows; DELETE
     * sharing lets rotation's clean-up remove an old file another process still reads. */
    return open_w(path, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_DELETE, CREATE_NEW, f);
}

void psup_close(psup_file *f)
{
    if (f->h != PSUP_NO_FILE)
        CloseHandle(h_of(f));
    f->h = PSUP_NO_FILE;
}

int psup_write(psup_file *f, const void *buf, size_t len, size_t *written)
{
    const char *p = buf;
    size_t done = 0;
    int rc = 0;
    if (f->append && GetFileType(h_of(f)) == FILE_TYPE_DISK) {
        LARGE_INTEGER zero;
        zero.QuadPart = 0;
        SetFilePointerEx(h_of(f), zero, NULL, FILE_END);
    }
    while (done < len) {
        DWORD chunk = len - done > 0x40000000u ? 0x40000000u : (DWORD)(len - done);
        DWORD n = 0;
        if (!WriteFile(h_of(f), p + done, chunk, &n, NULL)) {
            rc = (int)GetLastError();
            done += n;
            break;
        }
        if (n == 0) {
            rc = ERROR_WRITE_FAULT;
            break;
        }
        done += n;
    }
    if (written != NULL)
        *written = done;
    return rc;
}

int psup_read(psup_file *f, void *buf, size_t len, size_t *got)
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

int psup_last_byte(psup_file *f, uint64_t size, unsigned char *out)
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

int psup_fsize(psup_file *f, uint64_t *size)
{
    LARGE_INTEGER sz;
    if (!GetFileSizeEx(h_of(f), &sz))
        return (int)GetLastError();
    *size = (uint64_t)sz.QuadPart;
    return 0;
}

int psup_path_size(const char *path, uint64_t *size)
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

int psup_truncate(psup_file *f, uint64_t size)
{
    LARGE_INTEGER pos;
    pos.QuadPart = (LONGLONG)size;
    /* SetEndOfFile cuts at the file pointer, which then stays there for the next write. */
    if (!SetFilePointerEx(h_of(f), pos, NULL, FILE_BEGIN) || !SetEndOfFile(h_of(f)))
        return (int)GetLastError();
    return 0;
}

int psup_sync(psup_file *f)
{
    if (GetFileType(h_of(f)) != FILE_TYPE_DISK)
        return 0;
    return FlushFileBuffers(h_of(f)) ? 0 : (int)GetLastError();
}

int psup_sync_dir(const char *dir)
{
    /* NTFS journals renames itself; there is no directory handle to flush. */
    (void)dir;
    return 0;
}

int psup_rename(const char *from, const char *to)
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

int psup_unlink(const char *path)
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

int psup_exists(const char *path)
{
    return attrs(path) != INVALID_FILE_ATTRIBUTES;
}

int psup_is_dir(const char *dir)
{
    DWORD a = attrs(dir);
    return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY);
}

int psup_list_dir(const char *dir, void (*fn)(const char *name, void *arg), void *arg)
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
            fn(name, arg);
            free(name);
        }
    } while (FindNextFileW(h, &fd));
    FindClose(h);
    return 0;
}

void psup_utc_now(int *year, int *mon, int *day, int *hour, int *min, int *sec)
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

int64_t psup_now_filetime(void)
{
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    return (int64_t)(((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime);
}

uint64_t psup_monotonic_ns(void)
{
    LARGE_INTEGER c, f;
    QueryPerformanceCounter(&c);
    QueryPerformanceFrequency(&f);
    uint64_t q = (uint64_t)c.QuadPart, fr = (uint64_t)f.QuadPart;
    return q / fr * 1000000000u + q % fr * 1000000000u / fr;
}

/* The system's text for err without the final period and line break (malloc), or NULL. */
static char *system_text(int err)
{
    wchar_t w[512];
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             (DWORD)err, 0, w, sizeof w / sizeof w[0], NULL);
    while (n > 0 && (w[n - 1] == L'\n' || w[n - 1] == L'\r' || w[n - 1] == L' ' ||
                     w[n - 1] == L'.'))
        w[--n] = 0;
    return n ? narrow(w) : NULL;
}

const char *psup_strerror(int err, char *buf, size_t cap)
{
    char *s = system_text(err);
    if (s != NULL)
        snprintf(buf, cap, "%s", s);
    else
        snprintf(buf, cap, "Windows error %d", err);
    free(s);
    return buf;
}

const char *psup_strerror_num(int err, char *buf, size_t cap)
{
    char *s = system_text(err);
    if (s != NULL)
        snprintf(buf, cap, "%s (error %d)", s, err);
    else
        snprintf(buf, cap, "Windows error %d", err);
    free(s);
    return buf;
}

struct psup_worker {
    HANDLE t;
    SRWLOCK m;
    CONDITION_VARIABLE c;
    void (*fn)(void *);
    void *arg;
};

psup_worker *psup_worker_new(void)
{
    psup_worker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    InitializeSRWLock(&w->m);
    InitializeConditionVariable(&w->c);
    return w;
}

void psup_worker_free(psup_worker *w)
{
    free(w);
}

static unsigned __stdcall trampoline(void *p)
{
    psup_worker *w = p;
    w->fn(w->arg);
    return 0;
}

int psup_worker_start(psup_worker *w, void (*fn)(void *arg), void *arg)
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

void psup_worker_join(psup_worker *w)
{
    if (w->t != NULL) {
        WaitForSingleObject(w->t, INFINITE);
        CloseHandle(w->t);
        w->t = NULL;
    }
}

void psup_lock(psup_worker *w)
{
    AcquireSRWLockExclusive(&w->m);
}

void psup_unlock(psup_worker *w)
{
    ReleaseSRWLockExclusive(&w->m);
}

void psup_wait(psup_worker *w, uint32_t ms)
{
    SleepConditionVariableSRW(&w->c, &w->m, ms, 0);
}

void psup_signal(psup_worker *w)
{
    WakeAllConditionVariable(&w->c);
}

#else
/* ISO C needs at least one declaration in a translation unit. */
typedef int psup_os_win_unused;
#endif
