/*
 * POSIX child processes for tests and tools: run-and-capture, spawn, kill.
 */
#define _GNU_SOURCE /* pipe2 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../platform.h"
#include "../../core/buf.h"
#include "../../core/mem.h"

extern char **environ;

static void apply_env(const char *const *env)
{
    for (; env && *env; env++)
        putenv((char *)(uintptr_t)*env);
}

static int decode_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return -1;
}

int plat_run(const char *const *argv, const char *const *env, const char *in, size_t in_len,
             char **out, size_t *out_len, char **err, size_t *err_len, uint32_t timeout_ms,
             int *status)
{
    int pin[2], pout[2], perr[2];
    /* Close-on-exec: children started by other threads must not inherit these. */
    if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC))
        return ERR_IO;
    pid_t pid = fork();
    if (pid < 0)
        return ERR_IO;
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        close(pin[0]); close(pin[1]); close(pout[0]); close(pout[1]);
        close(perr[0]); close(perr[1]);
        setpgid(0, 0);
        apply_env(env);
        execvp(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    fcntl(pin[1], F_SETFL, O_NONBLOCK);
    struct buf bo = BUF_INIT, be = BUF_INIT;
    size_t in_off = 0;
    if (in == NULL || in_len == 0) {
        close(pin[1]);
        pin[1] = -1;
    }
    uint64_t deadline = plat_monotonic_ns() + (uint64_t)timeout_ms * 1000000ULL;
    int open_fds = 2, timed_out = 0;
    while (open_fds > 0) {
        struct pollfd fds[3];
        int nf = 0;
        int io = -1, ie = -1, ii = -1;
        if (pout[0] >= 0) { fds[nf].fd = pout[0]; fds[nf].events = POLLIN; io = nf++; }
        if (perr[0] >= 0) { fds[nf].fd = perr[0]; fds[nf].events = POLLIN; ie = nf++; }
        if (pin[1] >= 0) { fds[nf].fd = pin[1]; fds[nf].events = POLLOUT; ii = nf++; }
        uint64_t now = plat_monotonic_ns();
        if (now >= deadline) { timed_out = 1; break; }
        int ms = (int)((deadline - now) / 1000000ULL) + 1;
        int r = poll(fds, (nfds_t)nf, ms);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) break;
        char tmp[65536];
        if (io >= 0 && (fds[io].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(pout[0], tmp, sizeof tmp);
            if (n > 0) buf_append(&bo, tmp, (size_t)n);
            else { close(pout[0]); pout[0] = -1; open_fds--; }
        }
        if (ie >= 0 && (fds[ie].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(perr[0], tmp, sizeof tmp);
            if (n > 0) buf_append(&be, tmp, (size_t)n);
            else { close(perr[0]); perr[0] = -1; open_fds--; }
        }
        if (ii >= 0 && (fds[ii].revents & (POLLOUT | POLLHUP | POLLERR))) {
            ssize_t n = write(pin[1], in + in_off, in_len - in_off);
            if (n > 0) in_off += (size_t)n;
            if (n < 0 || in_off >= in_len) { close(pin[1]); pin[1] = -1; }
        }
    }
    if (pin[1] >= 0) close(pin[1]);
    if (pout[0] >= 0) close(pout[0]);
    if (perr[0] >= 0) close(perr[0]);
    int st = 0;
    if (timed_out) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        *status = -1;
    } else {
        waitpid(pid, &st, 0);
        *status = decode_status(st);
    }
    if (out) { *out = buf_take(&bo); if (out_len) *out_len = *out ? strlen(*out) : 0; }
    else buf_free(&bo);
    if (err) { *err = buf_take(&be); if (err_len) *err_len = *err ? strlen(*err) : 0; }
    else buf_free(&be);
    return 0;
}

int plat_spawn(const char *const *argv, const char *const *env, const char *out_path,
               const char *err_path, int64_t *pid_out)
{
    pid_t pid = fork();
    if (pid < 0)
        return ERR_IO;
    if (pid == 0) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd >= 0) { dup2(fd, 0); close(fd); }
        if (out_path) {
            fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) { dup2(fd, 1); close(fd); }
        }
        if (err_path) {
            fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) { dup2(fd, 2); close(fd); }
        }
        apply_env(env);
        execvp(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    *pid_out = pid;
    return 0;
}

int plat_kill(int64_t pid, uint32_t sig, uint32_t wait_ms, int *status)
{
    int s = sig == PLAT_SIG_RELOAD ? SIGHUP : sig == PLAT_SIG_STOP ? SIGTERM : SIGKILL;
    if (kill((pid_t)pid, s) != 0)
        return ERR_NOTFOUND;
    if (wait_ms == 0)
        return 0;
    return plat_wait(pid, wait_ms, status);
}

int plat_wait(int64_t pid, uint32_t wait_ms, int *status)
{
    uint64_t deadline = plat_monotonic_ns() + (uint64_t)wait_ms * 1000000ULL;
    for (;;) {
        int st;
        pid_t r = waitpid((pid_t)pid, &st, WNOHANG);
        if (r == (pid_t)pid) {
            if (status)
                *status = decode_status(st);
            return 0;
        }
        if (r < 0)
            return ERR_NOTFOUND;
        if (plat_monotonic_ns() >= deadline)
            return ERR_RETRY;
        plat_sleep_ms(10);
    }
}
