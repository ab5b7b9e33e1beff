/*
 * POSIX files and directories.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../platform.h"
#include "../../core/mem.h"

int plat_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int plat_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int plat_file_info(const char *path, uint64_t *size, int64_t *mtime)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
    if (size)
        *size = (uint64_t)st.st_size;
    if (mtime)
        *mtime = 116444736000000000LL + (int64_t)st.st_mtim.tv_sec * 10000000LL +
                 st.st_mtim.tv_nsec / 100;
    return 0;
}

int plat_check_private(const char *path, struct errbuf *eb)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errbuf_set(eb, ERR_NOTFOUND, "%s: %s", path, strerror(errno));
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return errbuf_set(eb, ERR_PERM,
                          "%s is writable by %s (mode %04o); refusing to load code from it "
                          "(run: chmod go-w '%s')",
                          path, (st.st_mode & S_IWOTH) ? "others" : "its group",
                          (unsigned)(st.st_mode & 07777), path);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int plat_list_dir(const char *dir, const char *suffix, char ***names, size_t *count,
                  struct errbuf *eb)
{
    *names = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errbuf_set(eb, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: %s", dir,
                          strerror(errno));
    char **v = NULL;
    size_t n = 0, cap = 0;
    size_t sl = suffix ? strlen(suffix) : 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
            continue;
        size_t l = strlen(nm);
        if (suffix && (l < sl || strcmp(nm + l - sl, suffix) != 0))
            continue;
        if (mem_grow(&v, &cap, n + 1, sizeof *v) || (v[n] = mem_strdup(nm)) == NULL) {
            rc = errbuf_set(eb, ERR_NOMEM, "%s: out of memory", dir);
            break;
        }
        n++;
    }
    closedir(d);
    if (rc) {
        plat_free_list(v, n);
        return rc;
    }
    if (n)
        qsort(v, n, sizeof *v, cmp_str);
    *names = v;
    *count = n;
    return 0;
}

void plat_free_list(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        mem_free(names[i]);
    mem_free(names);
}

int plat_glob(const char *pattern, char ***paths, size_t *count, struct errbuf *eb)
{
    *paths = NULL;
    *count = 0;
    glob_t g;
    memset(&g, 0, sizeof g);
    int r = glob(pattern, 0, NULL, &g);
    if (r == GLOB_NOMATCH || (r == 0 && g.gl_pathc == 0)) {
        globfree(&g);
        return errbuf_set(eb, ERR_NOTFOUND, "%s: no such file", pattern);
    }
    if (r != 0) {
        globfree(&g);
        return errbuf_set(eb, r == GLOB_NOSPACE ? ERR_NOMEM : ERR_IO, "%s: cannot expand pattern",
                          pattern);
    }
    char **v = mem_calloc(g.gl_pathc, sizeof *v);
    if (v == NULL) {
        globfree(&g);
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        if ((v[i] = mem_strdup(g.gl_pathv[i])) == NULL) {
            plat_free_list(v, i);
            globfree(&g);
            return errbuf_set(eb, ERR_NOMEM, "out of memory");
        }
    }
    *count = g.gl_pathc;
    *paths = v;
    globfree(&g);
    return 0;
}

int plat_mkdir_p(const char *path, struct errbuf *eb)
{
    char tmp[PATH_MAX];
    size_t l = strlen(path);
    if (l == 0 || l >= sizeof tmp)
        return errbuf_set(eb, ERR_INVAL, "bad directory path '%s'", path);
    memcpy(tmp, path, l + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return errbuf_set(eb, ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
            *p = '/';
        }
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return errbuf_set(eb, ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    if (!plat_is_dir(tmp))
        return errbuf_set(eb, ERR_IO, "%s exists and is not a directory", tmp);
    return 0;
}

int plat_rename(const char *from, const char *to, struct errbuf *eb)
{
    if (rename(from, to) != 0)
        return errbuf_set(eb, ERR_IO, "cannot rename %s to %s: %s", from, to, strerror(errno));
    return 0;
}

int plat_remove(const char *path)
{
    return remove(path) == 0 ? 0 : ERR_IO;
}

int plat_fsync(FILE *f)
{
    if (fflush(f) != 0)
        return ERR_IO;
    return fsync(fileno(f)) == 0 ? 0 : ERR_IO;
}

FILE *plat_fopen(const char *path, const char *mode, struct errbuf *eb)
{
    FILE *f = fopen(path, mode);
    if (f == NULL)
        errbuf_set(eb, ERR_IO, "cannot open %s: %s", path, strerror(errno));
    return f;
}

/* Open path read-only, and only if it is a regular file: *fd and its *size.  As plat_map_file. */
static int open_regular(const char *path, int *fd_out, uint64_t *size, struct errbuf *eb)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errbuf_set(eb, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "%s: %s", path,
                          strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return errbuf_set(eb, ERR_IO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return errbuf_set(eb, ERR_IO, "%s: not a regular file", path);
    }
    *fd_out = fd;
    *size = (uint64_t)st.st_size;
    return 0;
}

int plat_map_file(const char *path, const uint8_t **data, size_t *size, struct errbuf *eb)
{
    *data = NULL;
    *size = 0;
    int fd;
    uint64_t n;
    int rc = open_regular(path, &fd, &n, eb);
    if (rc)
        return rc;
    if (n == 0) {
        close(fd);
        return 0;
    }
    void *p = mmap(NULL, (size_t)n, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED)
        return errbuf_set(eb, ERR_IO, "%s: cannot map: %s", path, strerror(e));
    *data = p;
    *size = (size_t)n;
    return 0;
}

void plat_unmap(const uint8_t *data, size_t size)
{
    if (data)
        munmap((void *)(uintptr_t)data, size);
}

struct plat_rfile {
    int fd;
    char *path;
};

int plat_rfile_open(const char *path, struct plat_rfile **f, uint64_t *size, struct errbuf *eb)
{
    *f = NULL;
    *size = 0;
    int fd;
    uint64_t n;
    int rc = open_regular(path, &fd, &n, eb);
    if (rc)
        return rc;
    struct plat_rfile *rf = mem_alloc(sizeof *rf);
    char *p = mem_strdup(path);
    if (rf == NULL || p == NULL) {
        mem_free(rf);
        mem_free(p);
        close(fd);
        return errbuf_set(eb, ERR_NOMEM, "%s: out of memory", path);
    }
#if defined(POSIX_FADV_SEQUENTIAL)
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* bigger read-ahead; a hint only */
#endif
    rf->fd = fd;
    rf->path = p;
    *f = rf;
    *size = n;
    return 0;
}

int plat_rfile_read(struct plat_rfile *f, uint64_t off, void *buf, size_t len, struct errbuf *eb)
{
    uint8_t *p = buf;
    while (len > 0) {
        size_t want = len > ((size_t)1 << 30) ? (size_t)1 << 30 : len;
        ssize_t n = pread(f->fd, p, want, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errbuf_set(eb, ERR_IO, "%s: offset 0x%llx: read error: %s", f->path,
                              (unsigned long long)off, strerror(errno));
        }
        if (n == 0)
            return errbuf_set(eb, ERR_IO, "%s: offset 0x%llx: the file ended early (it "
                              "shrank while being read)", f->path, (unsigned long long)off);
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

void plat_rfile_close(struct plat_rfile *f)
{
    if (f == NULL)
        return;
    close(f->fd);
    mem_free(f->path);
    mem_free(f);
}

int plat_abspath(const char *path, char *out, size_t cap)
{
    char tmp[PATH_MAX];
    if (realpath(path, tmp) == NULL)
        return ERR_NOTFOUND;
    if (strlen(tmp) >= cap)
        return ERR_RANGE;
    strcpy(out, tmp);
    return 0;
}

const char *plat_exe_dir(void)
{
    static char dir[PATH_MAX];
    if (dir[0])
        return dir;
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n <= 0) {
        strcpy(dir, ".");
        return dir;
    }
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir)
        *slash = '\0';
    return dir;
}

const char *plat_hostname(void)
{
    static char name[256];
    if (name[0] == '\0' && gethostname(name, sizeof name - 1) != 0)
        strcpy(name, "localhost");
    return name;
}

int plat_isatty(FILE *f)
{
    return isatty(fileno(f));
}

const char *plat_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    return (t && *t) ? t : "/tmp";
}

uint32_t plat_getpid(void)
{
    return (uint32_t)getpid();
}

void plat_utf8_args(int *argc, char ***argv)
{
    /* Arguments are bytes on POSIX; UTF-8 locales give UTF-8. */
    (void)argc;
    (void)argv;
}
