/*
 * psup_os_posix: psup_os.h for POSIX systems.
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

#include "psup_os.h"

static int fd_of(const psup_file *f)
{
    return (int)f->h;
}

int psup_open_append(const char *path, psup_file *f, uint64_t *size, int *regular)
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
    f->append = 1;
    *size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    *regular = S_ISREG(st.st_mode);
    return 0;
}

int psup_open_read(const char *path, psup_file *f)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    f->h = fd;
    f->append = 0;
    return 0;
}

int psup_open_write_new(const char *path, psup_file *f)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno;
    f->h = fd;
    f->append = 0;
    return 0;
}

int psup_create_new(const char *path, psup_file *f)
{
    int fd;
    do {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return errno;
    f->h = fd;
    f->append = 0;
    return 0;
}

void psup_close(psup_file *f)
{
    if (f->h != PSUP_NO_FILE)
        close(fd_of(f));
    f->h = PSUP_NO_FILE;
}

int psup_write(psup_file *f, const void *buf, size_t len, size_t *written)
{
    const char *p = buf;
    size_t done = 0;
    int rc = 0;
    while (done < len) {
        ssize_t n = write(fd_of(f), p + done, len - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = errno;
            break;
        }
        if (n == 0) {
            rc = EIO;
            break;
        }
        done += (size_t)n;
    }
    if (written != NULL)
        *written = done;
    return rc;
}

int psup_read(psup_file *f, void *buf, size_t len, size_t *got)
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

int psup_last_byte(psup_file *f, uint64_t size, unsigned char *out)
{
    if (size == 0)
        return EINVAL;
    ssize_t n = pread(fd_of(f), out, 1, (off_t)(size - 1));
    if (n == 1)
        return 0;
    return n < 0 ? errno : EIO;
}

int psup_fsize(psup_file *f, uint64_t *size)
{
    struct stat st;
    if (fstat(fd_of(f), &st) != 0)
        return errno;
    *size = (uint64_t)st.st_size;
    return 0;
}

int psup_path_size(const char *path, uint64_t *size)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno;
    *size = (uint64_t)st.st_size;
    return 0;
}

int psup_truncate(psup_file *f, uint64_t size)
{
    if (ftruncate(fd_of(f), (off_t)size) != 0)
        return errno;
    /* Files written without O_APPEND continue at the cut. */
    if (lseek(fd_of(f), (off_t)size, SEEK_SET) < 0)
        return errno;
    return 0;
}

int psup_sync(psup_file *f)
{
    if (fsync(fd_of(f)) == 0)
        return 0;
    /* Devices and pipes cannot be synced; that is not a write failure. */
    return errno == EINVAL || errno == EROFS ? 0 : errno;
}

int psup_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int rc = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return rc == EINVAL ? 0 : rc;
}

int psup_rename(const char *from, const char *to)
{
    return rename(from, to) == 0 ? 0 : errno;
}

int psup_unlink(const char *path)
{
    return unlink(path) == 0 ? 0 : errno;
}

int psup_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int psup_is_dir(const char *dir)
{
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

int psup_list_dir(const char *dir, void (*fn)(const char *name, void *arg), void *arg)
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

void psup_utc_now(int *year, int *mon, int *day, int *hour, int *min, int *sec)
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

int64_t psup_now_filetime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((int64_t)ts.tv_sec + 11644473600LL) * 10000000LL + ts.tv_nsec / 100;
}

uint64_t psup_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *psup_strerror(int err, char *buf, size_t cap)
{
    if (strerror_r(err, buf, cap) != 0)
        snprintf(buf, cap, "error %d", err);
    return buf;
}

const char *psup_strerror_num(int err, char *buf, size_t cap)
{
    return psup_strerror(err, buf, cap);
}

struct psup_worker {
    pthread_t t;
    pthread_mutex_t m;
    pthread_cond_t c;
    int started;
    void (*fn)(void *);
    void *arg;
};

psup_worker *psup_worker_new(void)
{
    psup_worker *w = calloc(1, sizeof *w);
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

void psup_worker_free(psup_worker *w)
{
    if (w == NULL)
        return;
    pthread_cond_destroy(&w->c);
    pthread_mutex_destroy(&w->m);
    free(w);
}

static void *trampoline(void *p)
{
    psup_worker *w = p;
    w->fn(w->arg);
    return NULL;
}

int psup_worker_start(psup_worker *w, void (*fn)(void *arg), void *arg)
{
    w->fn = fn;
    w->arg = arg;
    int rc = pthread_create(&w->t, NULL, trampoline, w);
    if (rc == 0)
        w->started = 1;
    return rc;
}

void psup_worker_join(psup_worker *w)
{
    if (w->started)
        pthread_join(w->t, NULL);
    w->started = 0;
}

void psup_lock(psup_worker *w)
{
    pthread_mutex_lock(&w->m);
}

void psup_unlock(psup_worker *w)
{
    pthread_mutex_unlock(&w->m);
}

void psup_wait(psup_worker *w, uint32_t ms)
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

void psup_signal(psup_worker *w)
{
    pthread_cond_broadcast(&w->c);
}

#else
/* ISO C needs at least one declaration in a translation unit. */
typedef int psup_os_posix_unused;
#endif
