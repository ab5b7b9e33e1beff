/*
 * archive_os_posix: archive_os.h for POSIX systems.
 */
#if !defined(_WIN32)

#define _POSIX_C_SOURCE 200809L
#define _FILE_OFFSET_BITS 64

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive_os.h"

int aos_create(const char *path, aos_file *f)
{
    int fd;
    do {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return errno;
    f->h = fd;
    return 0;
}

int aos_write(aos_file *f, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write((int)f->h, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (n == 0)
            return EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int aos_truncate(aos_file *f, uint64_t size)
{
    if (ftruncate((int)f->h, (off_t)size) != 0)
        return errno;
    if (lseek((int)f->h, (off_t)size, SEEK_SET) < 0)
        return errno;
    return 0;
}

int aos_sync(aos_file *f)
{
    return fsync((int)f->h) == 0 ? 0 : errno;
}

void aos_close(aos_file *f)
{
    if (f->h != AOS_NO_FILE)
        close((int)f->h);
    f->h = AOS_NO_FILE;
}

int aos_rename(const char *from, const char *to)
{
    return rename(from, to) == 0 ? 0 : errno;
}

int aos_unlink(const char *path)
{
    return unlink(path) == 0 ? 0 : errno;
}

int aos_size(const char *path, uint64_t *size)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno;
    *size = (uint64_t)st.st_size;
    return 0;
}

int aos_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int rc = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return rc;
}

int aos_list_dir(const char *dir, void (*fn)(void *ctx, const char *name), void *ctx)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        fn(ctx, e->d_name);
    }
    closedir(d);
    return 0;
}

int64_t aos_now_filetime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((int64_t)ts.tv_sec + 11644473600LL) * 10000000LL + ts.tv_nsec / 100;
}

uint64_t aos_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *aos_strerror(int e, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", strerror(e));
    return buf;
}

#else
typedef int archive_os_posix_empty; /* ISO C needs one declaration per file */
#endif
