/*
 * file_os_posix: file_os.h for POSIX systems.
 */
#if !defined(_WIN32)

#define _POSIX_C_SOURCE 200809L
#define _FILE_OFFSET_BITS 64

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file_os.h"

static int fd_of(const fos_file *f)
{
    return (int)f->h;
}

int fos_open_append(const char *path, fos_file *f, uint64_t *size, int *regular)
{
    int fd;
    do {
        fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        /* Write-only files (e.g. a FIFO or a device) are still usable. */
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return errno;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return e;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return EISDIR;
    }
    f->h = fd;
    *size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    *regular = S_ISREG(st.st_mode);
    return 0;
}

int fos_open_read(const char *path, fos_file *f)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    f->h = fd;
    return 0;
}

int fos_open_write_new(const char *path, fos_file *f)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno;
    f->h = fd;
    return 0;
}

void fos_close(fos_file *f)
{
    if (f->h != FOS_NO_FILE)
        close(fd_of(f));
    f->h = FOS_NO_FILE;
}

int fos_write(fos_file *f, const void *buf, size_t len, size_t *written)
{
    const char *p = buf;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd_of(f), p + done, len - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            *written = done;
            return errno;
        }
        if (n == 0) {
            *written = done;
            return EIO;
        }
        done += (size_t)n;
    }
    *written = done;
    return 0;
}

int fos_read(fos_file *f, void *buf, size_t len, size_t *got)
{
    for (;;) {
        ssize_t n = read(fd_of(f), buf, len);
        if (n >= 0) {
            *got = (size_t)n;
            return 0;
        }
        if (errno != EINTR)
            return errno;
    }
}

int fos_last_byte(fos_file *f, uint64_t size, unsigned char *out)
{
    if (size == 0)
        return EINVAL;
    ssize_t n = pread(fd_of(f), out, 1, (off_t)(size - 1));
    if (n == 1)
        return 0;
    return n < 0 ? errno : EIO;
}

int fos_size(fos_file *f, uint64_t *size)
{
    struct stat st;
    if (fstat(fd_of(f), &st) != 0)
        return errno;
    *size = (uint64_t)st.st_size;
    return 0;
}

int fos_truncate(fos_file *f, uint64_t size)
{
    return ftruncate(fd_of(f), (off_t)size) == 0 ? 0 : errno;
}

int fos_sync(fos_file *f)
{
    if (fsync(fd_of(f)) == 0)
        return 0;
    /* Devices and pipes cannot be synced; that is not a write failure. */
    return errno == EINVAL || errno == EROFS ? 0 : errno;
}

int fos_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int rc = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return rc == EINVAL ? 0 : rc;
}

int fos_rename(const char *from, const char *to)
{
    return rename(from, to) == 0 ? 0 : errno;
}

int fos_unlink(const char *path)
{
    return unlink(path) == 0 ? 0 : errno;
}

int fos_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int fos_is_dir(const char *dir)
{
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

int fos_list_dir(const char *dir, void (*fn)(const char *name, void *arg), void *arg)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        fn(de->d_name, arg);
    }
    closedir(d);
    return 0;
}

void fos_utc_now(int *year, int *mon, int *day, int *hour, int *min, int *sec)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    *year = tm.tm_year + 1900;
    *mon = tm.tm_mon + 1;
    *day = tm.tm_mday;
    *hour = tm.tm_hour;
    *min = tm.tm_min;
    *sec = tm.tm_sec;
}

uint64_t fos_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int fos_is_nospace(int err)
{
    return err == ENOSPC || err == EDQUOT || err == EFBIG;
}

const char *fos_strerror(int err, char *buf, size_t cap)
{
    if (strerror_r(err, buf, cap) != 0)
        snprintf(buf, cap, "error %d", err);
    return buf;
}

struct fos_worker {
    pthread_t t;
    pthread_mutex_t m;
    pthread_cond_t c;
    int started;
    void (*fn)(void *);
    void *arg;
};

fos_worker *fos_worker_new(void)
{
    fos_worker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    pthread_mutex_init(&w->m, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->c, &ca);
    pthread_condattr_destroy(&ca);
    return w;
}

void fos_worker_free(fos_worker *w)
{
    if (w == NULL)
        return;
    pthread_cond_destroy(&w->c);
    pthread_mutex_destroy(&w->m);
    free(w);
}

static void *trampoline(void *p)
{
    fos_worker *w = p;
    w->fn(w->arg);
    return NULL;
}

int fos_worker_start(fos_worker *w, void (*fn)(void *arg), void *arg)
{
    w->fn = fn;
    w->arg = arg;
    int rc = pthread_create(&w->t, NULL, trampoline, w);
    if (rc == 0)
        w->started = 1;
    return rc;
}

void fos_worker_join(fos_worker *w)
{
    if (w->started)
        pthread_join(w->t, NULL);
    w->started = 0;
}

void fos_lock(fos_worker *w)
{
    pthread_mutex_lock(&w->m);
}

void fos_unlock(fos_worker *w)
{
    pthread_mutex_unlock(&w->m);
}

void fos_wait(fos_worker *w, uint32_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&w->c, &w->m, &ts);
}

void fos_signal(fos_worker *w)
{
    pthread_cond_broadcast(&w->c);
}

#else
/* ISO C needs at least one declaration in a translation unit. */
typedef int file_os_posix_unused;
#endif
