/*
 * Windows child processes for tests and tools (CreateProcessW).
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <stdio.h>
#include <string.h>

#include "../../core/buf.h"
#include "../../core/mem.h"
#include "../platform.h"
#include "win_util.h"

/* Quote one argument per the MSVCRT command-line rules. */
static int append_arg(struct buf *b, const char *a)
{
    int rc = 0;
    if (b->len)
        rc |= buf_putc(b, ' ');
    if (*a && strpbrk(a, " \t\"") == NULL)
        return rc | buf_puts(b, a);
    rc |= buf_putc(b, '"');
    for (const char *p = a;; p++) {
        size_t bs = 0;
        while (*p == '\\') {
            p++;
            bs++;
        }
        if (*p == '\0') {
            for (size_t i = 0; i < bs * 2; i++)
                rc |= buf_putc(b, '\\');
            break;
        }
        if (*p == '"') {
            for (size_t i = 0; i < bs * 2 + 1; i++)
                rc |= buf_putc(b, '\\');
        } else {
            for (size_t i = 0; i < bs; i++)
                rc |= buf_putc(b, '\\');
        }
        rc |= buf_putc(b, *p);
    }
    return rc | buf_putc(b, '"');
}

static wchar_t *command_line(const char *const *argv)
{
    struct buf b = BUF_INIT;
    for (; *argv; argv++)
        if (append_arg(&b, *argv)) {
            buf_free(&b);
            return NULL;
        }
    const char *s = buf_cstr(&b);
    wchar_t *w = s ? win_wide(s) : NULL;
    buf_free(&b);
    return w;
}

/* Length of the name part of a "K=V" entry (a leading '=' belongs to the name: "=C:=C:\x"). */
static size_t wname_len(const wchar_t *e)
{
    const wchar_t *eq = wcschr(e + 1, L'=');
    return eq ? (size_t)(eq - e) : wcslen(e);
}

/*
 * New environment block (mem_alloc): the current environment with the extra
 * "K=V" entries added or replacing same-named ones (names compare without
 * case, as Windows does).  NULL env: *block NULL, the child inherits.
 */
static int env_block(const char *const *env, wchar_t **block)
{
    *block = NULL;
    if (env == NULL || env[0] == NULL)
        return 0;
    size_t nextra = 0;
    while (env[nextra])
        nextra++;
    wchar_t **extra = mem_calloc(nextra, sizeof *extra);
    if (extra == NULL)
        return ERR_NOMEM;
    int rc = 0;
    for (size_t i = 0; i < nextra && rc == 0; i++)
        if ((extra[i] = win_wide(env[i])) == NULL)
            rc = ERR_NOMEM;
    wchar_t *cur = GetEnvironmentStringsW();
    struct buf b = BUF_INIT;
    for (const wchar_t *e = cur; rc == 0 && e && *e; e += wcslen(e) + 1) {
        int replaced = 0;
        for (size_t i = 0; i < nextra && !replaced; i++)
            replaced = wname_len(e) == wname_len(extra[i]) &&
                       _wcsnicmp(e, extra[i], wname_len(e)) == 0;
        if (!replaced && buf_append(&b, e, (wcslen(e) + 1) * sizeof(wchar_t)))
            rc = ERR_NOMEM;
    }
    for (size_t i = 0; i < nextra && rc == 0; i++)
        if (buf_append(&b, extra[i], (wcslen(extra[i]) + 1) * sizeof(wchar_t)))
            rc = ERR_NOMEM;
    if (cur)
        FreeEnvironmentStringsW(cur);
    for (size_t i = 0; i < nextra; i++)
        mem_free(extra[i]);
    mem_free(extra);
    static const wchar_t end[2] = {0, 0}; /* the block ends with an empty entry */
    if (rc == 0 && buf_append(&b, end, sizeof end))
        rc = ERR_NOMEM;
    if (rc) {
        buf_free(&b);
        return rc;
    }
    *block = (wchar_t *)(void *)buf_take(&b);
    return *block ? 0 : ERR_NOMEM;
}

/*
 * Start a child that inherits exactly the given handles (not every
 * inheritable handle of this process, which would hand a grandchild the
 * test runner's pipes and keep them open after the child is gone), in a job
 * object so that a timeout can end the child together with its descendants,
 * as a POSIX process group does.  *job may come back NULL (no job support).
 */
static BOOL start_child(wchar_t *cmd, wchar_t *envb, DWORD flags, HANDLE hin, HANDLE hout,
                        HANDLE herr, PROCESS_INFORMATION *pi, HANDLE *job)
{
    STARTUPINFOEXW si;
    memset(&si, 0, sizeof si);
    si.StartupInfo.cb = sizeof si;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = hin;
    si.StartupInfo.hStdOutput = hout;
    si.StartupInfo.hStdError = herr;
    HANDLE list[3];
    DWORD n = 0;
    HANDLE cand[3] = {hin, hout, herr};
    for (int i = 0; i < 3; i++) {
        int dup = cand[i] == NULL || cand[i] == INVALID_HANDLE_VALUE;
        for (DWORD k = 0; k < n && !dup; k++)
            dup = list[k] == cand[i];
        if (!dup)
            list[n++] = cand[i];
    }
    SIZE_T asize = 0;
    LPPROC_THREAD_ATTRIBUTE_LIST attrs = NULL;
    InitializeProcThreadAttributeList(NULL, 1, 0, &asize);
    if (asize)
        attrs = mem_alloc(asize);
    if (attrs && InitializeProcThreadAttributeList(attrs, 1, 0, &asize)) {
        if (n && UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list,
                                           n * sizeof(HANDLE), NULL, NULL))
            si.lpAttributeList = attrs;
    }
    *job = CreateJobObjectW(NULL, NULL);
    flags |= CREATE_SUSPENDED | CREATE_UNICODE_ENVIRONMENT;
    if (si.lpAttributeList)
        flags |= EXTENDED_STARTUPINFO_PRESENT;
    BOOL ok = CreateProcessW(NULL, cmd, NULL, NULL, TRUE, flags, envb, NULL,
                             &si.StartupInfo, pi);
    DWORD e = GetLastError();
    if (attrs) {
        if (si.lpAttributeList)
            DeleteProcThreadAttributeList(attrs);
        mem_free(attrs);
    }
    if (!ok) {
        if (*job)
            CloseHandle(*job);
        *job = NULL;
        SetLastError(e); /* the caller reports why */
        return FALSE;
    }
    if (*job && !AssignProcessToJobObject(*job, pi->hProcess)) {
        CloseHandle(*job);
        *job = NULL;
    }
    ResumeThread(pi->hThread);
    return TRUE;
}

struct reader {
    HANDLE h;
    struct buf b;
};

static DWORD WINAPI read_all(LPVOID p)
{
    struct reader *r = p;
    char tmp[65536];
    DWORD n;
    while (ReadFile(r->h, tmp, sizeof tmp, &n, NULL) && n > 0)
        buf_append(&r->b, tmp, n);
    return 0;
}

struct writer {
    HANDLE h;
    const char *data;
    size_t len;
};

/* Feeds stdin on its own thread: a child that does not read cannot block the caller. */
static DWORD WINAPI write_all(LPVOID p)
{
    struct writer *w = p;
    size_t off = 0;
    DWORD n;
    while (off < w->len) {
        DWORD chunk = w->len - off > 65536 ? 65536 : (DWORD)(w->len - off);
        if (!WriteFile(w->h, w->data + off, chunk, &n, NULL))
            break;
        off += n;
    }
    CloseHandle(w->h);
    return 0;
}

/* Milliseconds left until deadline (monotonic ns), 0 when passed. */
static DWORD ms_left(uint64_t deadline)
{
    uint64_t now = plat_monotonic_ns();
    return now >= deadline ? 0 : (DWORD)((deadline - now) / 1000000ULL) + 1;
}

int plat_run(const char *const *argv, const char *const *env, const char *in, size_t in_len,
             char **out, size_t *out_len, char **err, size_t *err_len, uint32_t timeout_ms,
             int *status)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE in_r, in_w, out_r, out_w, err_r, err_w;
    if (!CreatePipe(&in_r, &in_w, &sa, 0))
        return ERR_IO;
    if (!CreatePipe(&out_r, &out_w, &sa, 0)) {
        CloseHandle(in_r);
        CloseHandle(in_w);
        return ERR_IO;
    }
    if (!CreatePipe(&err_r, &err_w, &sa, 0)) {
        CloseHandle(in_r);
        CloseHandle(in_w);
        CloseHandle(out_r);
        CloseHandle(out_w);
        return ERR_IO;
    }
    SetHandleInformation(in_w, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(out_r, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(err_r, HANDLE_FLAG_INHERIT, 0);
    PROCESS_INFORMATION pi;
    HANDLE job = NULL;
    wchar_t *cmd = command_line(argv), *envb = NULL;
    int erc = env_block(env, &envb);
    BOOL ok = cmd && erc == 0 && start_child(cmd, envb, 0, in_r, out_w, err_w, &pi, &job);
    DWORD e = ok ? 0 : GetLastError();
    mem_free(cmd);
    mem_free(envb);
    CloseHandle(in_r);
    CloseHandle(out_w);
    CloseHandle(err_w);
    if (!ok) {
        CloseHandle(in_w);
        CloseHandle(out_r);
        CloseHandle(err_r);
        if (erc)
            return erc;
        if (e != ERROR_FILE_NOT_FOUND && e != ERROR_PATH_NOT_FOUND)
            return ERR_IO;
        /* Like a failed exec on POSIX: the caller sees status 127 and the reason. */
        char text[256], msg[512];
        snprintf(msg, sizeof msg, "%s: %s\n", argv[0], win_error_text(e, text, sizeof text));
        *status = 127;
        if (out) { *out = mem_strdup(""); if (out_len) *out_len = 0; }
        if (err) { *err = mem_strdup(msg); if (err_len) *err_len = *err ? strlen(*err) : 0; }
        return 0;
    }
    uint64_t deadline = plat_monotonic_ns() + (uint64_t)timeout_ms * 1000000ULL;
    struct reader ro = {out_r, BUF_INIT}, re = {err_r, BUF_INIT};
    struct writer wi = {in_w, in, in ? in_len : 0};
    HANDLE th[3];
    th[0] = CreateThread(NULL, 0, read_all, &ro, 0, NULL);
    th[1] = CreateThread(NULL, 0, read_all, &re, 0, NULL);
    th[2] = CreateThread(NULL, 0, write_all, &wi, 0, NULL);
    if (th[2] == NULL)
        CloseHandle(in_w);
    /* Like the POSIX version: done when the child has exited and its output is closed
     * (descendants that inherited it included); at the deadline the whole job is killed. */
    int timed_out = WaitForSingleObject(pi.hProcess, ms_left(deadline)) == WAIT_TIMEOUT;
    for (int i = 0; i < 2 && !timed_out; i++)
        if (th[i] && WaitForSingleObject(th[i], ms_left(deadline)) == WAIT_TIMEOUT)
            timed_out = 1;
    if (timed_out) {
        if (job)
            TerminateJobObject(job, 1);
        TerminateProcess(pi.hProcess, 1);
        WaitForSingleObject(pi.hProcess, INFINITE);
        *status = -1;
    } else {
        DWORD code = 0;
        GetExitCodeProcess(pi.hProcess, &code);
        *status = (int)code;
    }
    for (int i = 0; i < 3; i++) {
        if (th[i] == NULL)
            continue;
        /* After a kill the pipes close; a reader still stuck is cut loose. */
        if (WaitForSingleObject(th[i], 5000) == WAIT_TIMEOUT)
            CancelSynchronousIo(th[i]);
        WaitForSingleObject(th[i], INFINITE);
        CloseHandle(th[i]);
    }
    if (job)
        CloseHandle(job);
    CloseHandle(out_r);
    CloseHandle(err_r);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    if (out) { *out = buf_take(&ro.b); if (out_len) *out_len = *out ? strlen(*out) : 0; }
    else buf_free(&ro.b);
    if (err) { *err = buf_take(&re.b); if (err_len) *err_len = *err ? strlen(*err) : 0; }
    else buf_free(&re.b);
    return 0;
}

int plat_spawn(const char *const *argv, const char *const *env, const char *out_path,
               const char *err_path, int64_t *pid)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE hi = INVALID_HANDLE_VALUE, ho = INVALID_HANDLE_VALUE, he = INVALID_HANDLE_VALUE;
    wchar_t *w;
    /* stdin from NUL, as /dev/null on POSIX. */
    hi = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                     OPEN_EXISTING, 0, NULL);
    if (out_path && (w = win_wide(out_path)) != NULL) {
        ho = CreateFileW(w, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                         &sa, CREATE_ALWAYS, 0, NULL);
        mem_free(w);
    }
    if (err_path && (w = win_wide(err_path)) != NULL) {
        he = CreateFileW(w, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                         &sa, CREATE_ALWAYS, 0, NULL);
        mem_free(w);
    }
    PROCESS_INFORMATION pi;
    HANDLE job = NULL;
    wchar_t *cmd = command_line(argv), *envb = NULL;
    int erc = env_block(env, &envb);
    BOOL ok = cmd && erc == 0 &&
              start_child(cmd, envb, CREATE_NEW_PROCESS_GROUP, hi,
                          ho != INVALID_HANDLE_VALUE ? ho : GetStdHandle(STD_OUTPUT_HANDLE),
                          he != INVALID_HANDLE_VALUE ? he : GetStdHandle(STD_ERROR_HANDLE), &pi,
                          &job);
    mem_free(cmd);
    mem_free(envb);
    if (hi != INVALID_HANDLE_VALUE)
        CloseHandle(hi);
    if (ho != INVALID_HANDLE_VALUE)
        CloseHandle(ho);
    if (he != INVALID_HANDLE_VALUE)
        CloseHandle(he);
    if (!ok)
        return erc ? erc : ERR_IO;
    /* A background child outlives its job handle: closing the job does not kill it. */
    if (job)
        CloseHandle(job);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    *pid = (int64_t)pi.dwProcessId;
    return 0;
}

int plat_wait(int64_t pid, uint32_t wait_ms, int *status)
{
    HANDLE h = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
    if (h == NULL)
        return ERR_NOTFOUND;
    DWORD r = WaitForSingleObject(h, wait_ms);
    if (r == WAIT_TIMEOUT) {
        CloseHandle(h);
        return ERR_RETRY;
    }
    DWORD code = 0;
    GetExitCodeProcess(h, &code);
    CloseHandle(h);
    if (status)
        *status = (int)code;
    return 0;
}

int plat_kill(int64_t pid, uint32_t sig, uint32_t wait_ms, int *status)
{
    if (sig == PLAT_SIG_STOP || sig == PLAT_SIG_RELOAD) {
        /* The events plat_signals_install made reach any process, console or not. */
        wchar_t name[64];
        win_signal_event_name((uint32_t)pid, sig, name, 64);
        HANDLE ev = OpenEventW(EVENT_MODIFY_STATE, FALSE, name);
        if (ev != NULL) {
            BOOL ok = SetEvent(ev);
            CloseHandle(ev);
            if (!ok)
                return ERR_IO;
        } else if (sig == PLAT_SIG_RELOAD) {
            return ERR_NOTFOUND;
        } else if (!GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, (DWORD)pid)) {
            /* Not (yet) listening: Ctrl+Break reaches a child in its own process group. */
            return ERR_NOTFOUND;
        }
    } else {
        HANDLE h = OpenProcess(PROCESS_TERMINATE, FALSE, (DWORD)pid);
        if (h == NULL)
            return ERR_NOTFOUND;
        TerminateProcess(h, 137);
        CloseHandle(h);
    }
    if (wait_ms == 0)
        return 0;
    return plat_wait(pid, wait_ms, status);
}
