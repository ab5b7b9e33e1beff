/*
 * kafka_os: OS services for the kafka sink (see kafka_os.h).  POSIX and
 * Windows implementations side by side; nothing else in the plugin includes
 * OS headers.
 */
#if !defined(_WIN32)
#define _DEFAULT_SOURCE 1
#define _POSIX_C_SOURCE 200809L
#endif

#include "kafka_os.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <io.h>
#include <windows.h>
#else
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#endif

/* ---- names (shared) ---- */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int name_matches(const char *name, const char *prefix, const char *suffix)
{
    size_t n = strlen(name), p = prefix ? strlen(prefix) : 0, s = suffix ? strlen(suffix) : 0;
    if (n < p + s)
        return 0;
    if (p && memcmp(name, prefix, p) != 0)
        return 0;
    if (s && memcmp(name + n - s, suffix, s) != 0)
        return 0;
    return 1;
}

/* Append a copy of name to the growing list; -1 on out of memory. */
static int names_push(char ***names, size_t *count, size_t *cap, const char *name)
{
    if (*count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        char **n = realloc(*names, ncap * sizeof *n);
        if (n == NULL)
            return -1;
        *names = n;
        *cap = ncap;
    }
    size_t len = strlen(name);
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, name, len + 1);
    (*names)[(*count)++] = copy;
    return 0;
}

void kos_free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

int kos_mkdir_p(const char *path, char *err, size_t err_len)
{
    char tmp[4096], eb[256];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof tmp) {
        snprintf(err, err_len, "bad directory path \"%s\"", path);
        return -1;
    }
    memcpy(tmp, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (tmp[i] != '/' && tmp[i] != '\\' && tmp[i] != '\0')
            continue;
        char c = tmp[i];
        tmp[i] = '\0';
#if defined(_WIN32)
        int rc = CreateDirectoryA(tmp, NULL) || GetLastError() == ERROR_ALREADY_EXISTS ? 0 : -1;
#else
        int rc = mkdir(tmp, 0700) == 0 || errno == EEXIST ? 0 : -1;
#endif
        if (rc != 0 && !(i < len && (tmp[i - 1] == ':'))) {
            snprintf(err, err_len, "cannot create directory \"%s\": %s", tmp,
                     kos_last_error(eb, sizeof eb));
            return -1;
        }
        tmp[i] = c;
    }
    return 0;
}

int kos_seek(FILE *f, uint64_t off)
{
#if defined(_WIN32)
    return _fseeki64(f, (long long)off, SEEK_SET) == 0 ? 0 : -1;
#else
    return fseeko(f, (off_t)off, SEEK_SET) == 0 ? 0 : -1;
#endif
}

int64_t kos_file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    int64_t size = -1;
#if defined(_WIN32)
    if (_fseeki64(f, 0, SEEK_END) == 0)
        size = _ftelli64(f);
#else
    if (fseeko(f, 0, SEEK_END) == 0)
        size = (int64_t)ftello(f);
#endif
    fclose(f);
    return size;
}

#if defined(_WIN32)

/* ---- Windows ---- */

struct kos_mutex {
    CRITICAL_SECTION cs;
};
struct kos_cond {
    CONDITION_VARIABLE cv;
};
struct kos_thread {
    HANDLE h;
    void (*fn)(void *);
    void *arg;
};
struct kos_lock {
    HANDLE h;
};

static SRWLOCK global_lock = SRWLOCK_INIT;
void kos_global_lock(void) { AcquireSRWLockExclusive(&global_lock); }
void kos_global_unlock(void) { ReleaseSRWLockExclusive(&global_lock); }

struct kos_mutex *kos_mutex_new(void)
{
    struct kos_mutex *m = malloc(sizeof *m);
    if (m)
        InitializeCriticalSection(&m->cs);
    return m;
}
void kos_mutex_free(struct kos_mutex *m)
{
    if (m) {
        DeleteCriticalSection(&m->cs);
        free(m);
    }
}
void kos_mutex_lock(struct kos_mutex *m) { EnterCriticalSection(&m->cs); }
void kos_mutex_unlock(struct kos_mutex *m) { LeaveCriticalSection(&m->cs); }

struct kos_cond *kos_cond_new(void)
{
    struct kos_cond *c = malloc(sizeof *c);
    if (c)
        InitializeConditionVariable(&c->cv);
    return c;
}
void kos_cond_free(struct kos_cond *c) { free(c); }
void kos_cond_timedwait(struct kos_cond *c, struct kos_mutex *m, uint32_t ms)
{
    SleepConditionVariableCS(&c->cv, &m->cs, ms);
}
void kos_cond_broadcast(struct kos_cond *c) { WakeAllConditionVariable(&c->cv); }

static DWORD WINAPI thread_main(LPVOID p)
{
    struct kos_thread *t = p;
    t->fn(t->arg);
    return 0;
}

struct kos_thread *kos_thread_start(void (*fn)(void *), void *arg)
{
    struct kos_thread *t = malloc(sizeof *t);
    if (t == NULL)
        return NULL;
    t->fn = fn;
    t->arg = arg;
    t->h = CreateThread(NULL, 0, thread_main, t, 0, NULL);
    if (t->h == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

void kos_thread_join(struct kos_thread *t)
{
    if (t == NULL)
        return;
    WaitForSingleObject(t->h, INFINITE);
    CloseHandle(t->h);
    free(t);
}

uint64_t kos_now_ms(void) { return (uint64_t)GetTickCount64(); }
void kos_sleep_ms(uint32_t ms) { Sleep(ms); }

void kos_hostname(char *buf, size_t cap)
{
    char name[MAX_COMPUTERNAME_LENGTH + 1];
    DWORD n = sizeof name;
    if (GetComputerNameA(name, &n))
        snprintf(buf, cap, "%s", name);
    else
        snprintf(buf, cap, "unknown");
}

int kos_list_dir(const char *dir, const char *prefix, const char *suffix, char ***names,
                 size_t *count, char *err, size_t err_len)
{
    char pattern[4096], eb[256];
    WIN32_FIND_DATAA fd;
    size_t cap = 0;
    *names = NULL;
    *count = 0;
    snprintf(pattern, sizeof pattern, "%s\\*", dir);
    HANDLE h = FindFirstFileA(pattern, &fd);
    if (h == INVALID_HANDLE_VALUE) {
        if (GetLastError() == ERROR_FILE_NOT_FOUND)
            return 0;
        snprintf(err, err_len, "cannot list \"%s\": %s", dir, kos_last_error(eb, sizeof eb));
        return -1;
    }
    do {
        if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
            continue;
        if (!name_matches(fd.cFileName, prefix, suffix))
            continue;
        if (names_push(names, count, &cap, fd.cFileName)) {
            FindClose(h);
            kos_free_names(*names, *count);
            snprintf(err, err_len, "out of memory listing \"%s\"", dir);
            return -1;
        }
    } while (FindNextFileA(h, &fd));
    FindClose(h);
    if (*count)
        qsort(*names, *count, sizeof **names, name_cmp);
    return 0;
}

int kos_fsync(FILE *f)
{
    if (fflush(f) != 0)
        return -1;
    return _commit(_fileno(f)) == 0 ? 0 : -1;
}

int kos_truncate(const char *path, uint64_t len)
{
    FILE *f = fopen(path, "r+b");
    if (f == NULL)
        return -1;
    int rc = _chsize_s(_fileno(f), (__int64)len) == 0 ? 0 : -1;
    fclose(f);
    return rc;
}

struct kos_lock *kos_lock_take(const char *path, char *err, size_t err_len)
{
    char eb[256];
    /* No sharing: a second open, from this process or another, fails while we hold it. */
    HANDLE h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        if (GetLastError() == ERROR_SHARING_VIOLATION)
            snprintf(err, err_len, "spool \"%s\" is locked by another instance or process: %s",
                     path, kos_last_error(eb, sizeof eb));
        else
            snprintf(err, err_len, "cannot open lock file \"%s\": %s", path,
                     kos_last_error(eb, sizeof eb));
        return NULL;
    }
    struct kos_lock *l = malloc(sizeof *l);
    if (l == NULL) {
        CloseHandle(h);
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    l->h = h;
    return l;
}

void kos_lock_release(struct kos_lock *l)
{
    if (l) {
        CloseHandle(l->h);
        free(l);
    }
}

const char *kos_last_error(char *buf, size_t cap)
{
    DWORD e = GetLastError();
    if (e == 0 && errno != 0) {
        snprintf(buf, cap, "%s", strerror(errno));
        return buf;
    }
    if (!FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, e, 0,
                        buf, (DWORD)cap, NULL))
        snprintf(buf, cap, "error %lu", (unsigned long)e);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == '.'))
        buf[--n] = '\0';
    return buf;
}

#else

/* ---- POSIX ---- */

struct kos_mutex {
    pthread_mutex_t m;
};
struct kos_cond {
    pthread_cond_t c;
};
struct kos_thread {
    pthread_t t;
    void (*fn)(void *);
    void *arg;
};
struct kos_lock {
    int fd;
};

static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
void kos_global_lock(void) { pthread_mutex_lock(&global_lock); }
void kos_global_unlock(void) { pthread_mutex_unlock(&global_lock); }

struct kos_mutex *kos_mutex_new(void)
{
    struct kos_mutex *m = malloc(sizeof *m);
    if (m && pthread_mutex_init(&m->m, NULL) != 0) {
        free(m);
        m = NULL;
    }
    return m;
}
void kos_mutex_free(struct kos_mutex *m)
{
    if (m) {
        pthread_mutex_destroy(&m->m);
        free(m);
    }
}
void kos_mutex_lock(struct kos_mutex *m) { pthread_mutex_lock(&m->m); }
void kos_mutex_unlock(struct kos_mutex *m) { pthread_mutex_unlock(&m->m); }

struct kos_cond *kos_cond_new(void)
{
    struct kos_cond *c = malloc(sizeof *c);
    pthread_condattr_t a;
    if (c == NULL)
        return NULL;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    if (pthread_cond_init(&c->c, &a) != 0) {
        free(c);
        c = NULL;
    }
    pthread_condattr_destroy(&a);
    return c;
}
void kos_cond_free(struct kos_cond *c)
{
    if (c) {
        pthread_cond_destroy(&c->c);
        free(c);
    }
}
void kos_cond_timedwait(struct kos_cond *c, struct kos_mutex *m, uint32_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&c->c, &m->m, &ts);
}
void kos_cond_broadcast(struct kos_cond *c) { pthread_cond_broadcast(&c->c); }

static void *thread_main(void *p)
{
    struct kos_thread *t = p;
    t->fn(t->arg);
    return NULL;
}

struct kos_thread *kos_thread_start(void (*fn)(void *), void *arg)
{
    struct kos_thread *t = malloc(sizeof *t);
    if (t == NULL)
        return NULL;
    t->fn = fn;
    t->arg = arg;
    if (pthread_create(&t->t, NULL, thread_main, t) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

void kos_thread_join(struct kos_thread *t)
{
    if (t == NULL)
        return;
    pthread_join(t->t, NULL);
    free(t);
}

uint64_t kos_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void kos_sleep_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void kos_hostname(char *buf, size_t cap)
{
    char name[256];
    if (gethostname(name, sizeof name) == 0) {
        name[sizeof name - 1] = '\0';
        char *dot = strchr(name, '.');
        if (dot)
            *dot = '\0';
        snprintf(buf, cap, "%s", name);
    } else {
        snprintf(buf, cap, "unknown");
    }
}

int kos_list_dir(const char *dir, const char *prefix, const char *suffix, char ***names,
                 size_t *count, char *err, size_t err_len)
{
    char eb[256];
    size_t cap = 0;
    *names = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err, err_len, "cannot list \"%s\": %s", dir, kos_last_error(eb, sizeof eb));
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!name_matches(e->d_name, prefix, suffix))
            continue;
        if (names_push(names, count, &cap, e->d_name)) {
            closedir(d);
            kos_free_names(*names, *count);
            *names = NULL;
            *count = 0;
            snprintf(err, err_len, "out of memory listing \"%s\"", dir);
            return -1;
        }
    }
    closedir(d);
    if (*count)
        qsort(*names, *count, sizeof **names, name_cmp);
    return 0;
}

int kos_fsync(FILE *f)
{
    if (fflush(f) != 0)
        return -1;
    return fsync(fileno(f)) == 0 ? 0 : -1;
}

int kos_truncate(const char *path, uint64_t len)
{
    return truncate(path, (off_t)len) == 0 ? 0 : -1;
}

struct kos_lock *kos_lock_take(const char *path, char *err, size_t err_len)
{
    char eb[256];
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_len, "cannot open lock file \"%s\": %s", path,
                 kos_last_error(eb, sizeof eb));
        return NULL;
    }
    /* flock locks belong to the open file, so two instances in one process conflict too. */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, err_len, "spool \"%s\" is locked by another instance or process: %s", path,
                 kos_last_error(eb, sizeof eb));
        close(fd);
        return NULL;
    }
    struct kos_lock *l = malloc(sizeof *l);
    if (l == NULL) {
        close(fd);
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    l->fd = fd;
    return l;
}

void kos_lock_release(struct kos_lock *l)
{
    if (l) {
        flock(l->fd, LOCK_UN);
        close(l->fd);
        free(l);
    }
}

const char *kos_last_error(char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", strerror(errno));
    return buf;
}

#endif
