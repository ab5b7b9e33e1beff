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

/* New environment block: current environment plus extra "K=V" entries. */
static wchar_t *env_block(const char *const *env)
{
    if (env == NULL || env[0] == NULL)
        return NULL;
    for (const char *const *e = env; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (eq == NULL)
            continue;
        char name[256];
        size_t l = (size_t)(eq - *e) < sizeof name - 1 ? (size_t)(eq - *e) : sizeof name - 1;
        memcpy(name, *e, l);
        name[l] = '\0';
        wchar_t *wn = win_wide(name), *wv = win_wide(eq + 1);
        if (wn && wv)
            SetEnvironmentVariableW(wn, wv);
        mem_free(wn);
        mem_free(wv);
    }
    return NULL; /* inherit the (now updated) environment */
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

int plat_run(const char *const *argv, const char *const *env, const char *in, size_t in_len,
             char **out, size_t *out_len, char **err, size_t *err_len, uint32_t timeout_ms,
             int *status)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE in_r, in_w, out_r, out_w, err_r, err_w;
    if (!CreatePipe(&in_r, &in_w, &sa, 0) || !CreatePipe(&out_r, &out_w, &sa, 0) ||
        !CreatePipe(&err_r, &err_w, &sa, 0))
        return ERR_IO;
    SetHandleInformation(in_w, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(out_r, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(err_r, HANDLE_FLAG_INHERIT, 0);
    STARTUPINFOW si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = in_r;
    si.hStdOutput = out_w;
    si.hStdError = err_w;
    PROCESS_INFORMATION pi;
    wchar_t *cmd = command_line(argv);
    env_block(env);
    BOOL ok = cmd && CreateProcessW(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
    mem_free(cmd);
    CloseHandle(in_r);
    CloseHandle(out_w);
    CloseHandle(err_w);
    if (!ok) {
        CloseHandle(in_w);
        CloseHandle(out_r);
        CloseHandle(err_r);
        return ERR_IO;
    }
    struct reader ro = {out_r, BUF_INIT}, re = {err_r, BUF_INIT};
    HANDLE t1 = CreateThread(NULL, 0, read_all, &ro, 0, NULL);
    HANDLE t2 = CreateThread(NULL, 0, read_all, &re, 0, NULL);
    if (in && in_len) {
        DWORD w;
        size_t off = 0;
        while (off < in_len && WriteFile(in_w, in + off, (DWORD)(in_len - off), &w, NULL))
            off += w;
    }
    CloseHandle(in_w);
    DWORD wr = WaitForSingleObject(pi.hProcess, timeout_ms);
    if (wr == WAIT_TIMEOUT) {
        TerminateProcess(pi.hProcess, 1);
        WaitForSingleObject(pi.hProcess, INFINITE);
        *status = -1;
    } else {
        DWORD code = 0;
        GetExitCodeProcess(pi.hProcess, &code);
        *status = (int)code;
    }
    WaitForSingleObject(t1, INFINITE);
    WaitForSingleObject(t2, INFINITE);
    CloseHandle(t1);
    CloseHandle(t2);
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
    HANDLE ho = INVALID_HANDLE_VALUE, he = INVALID_HANDLE_VALUE;
    wchar_t *w;
    if (out_path && (w = win_wide(out_path)) != NULL) {
        ho = CreateFileW(w, GENERIC_WRITE, FILE_SHARE_READ, &sa, CREATE_ALWAYS, 0, NULL);
        mem_free(w);
    }
    if (err_path && (w = win_wide(err_path)) != NULL) {
        he = CreateFileW(w, GENERIC_WRITE, FILE_SHARE_READ, &sa, CREATE_ALWAYS, 0, NULL);
        mem_free(w);
    }
    STARTUPINFOW si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = ho != INVALID_HANDLE_VALUE ? ho : GetStdHandle(STD_OUTPUT_HANDLE);
    si.hStdError = he != INVALID_HANDLE_VALUE ? he : GetStdHandle(STD_ERROR_HANDLE);
    PROCESS_INFORMATION pi;
    wchar_t *cmd = command_line(argv);
    env_block(env);
    BOOL ok = cmd && CreateProcessW(NULL, cmd, NULL, NULL, TRUE, CREATE_NEW_PROCESS_GROUP, NULL,
                                    NULL, &si, &pi);
    mem_free(cmd);
    if (ho != INVALID_HANDLE_VALUE)
        CloseHandle(ho);
    if (he != INVALID_HANDLE_VALUE)
        CloseHandle(he);
    if (!ok)
        return ERR_IO;
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
    if (sig == PLAT_SIG_STOP) {
        /* The child runs in its own process group: Ctrl+Break reaches only it. */
        if (!GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, (DWORD)pid))
            return ERR_NOTFOUND;
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
