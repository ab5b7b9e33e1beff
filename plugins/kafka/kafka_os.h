/*
 * kafka_os: the operating-system services the kafka sink needs (a thread, a
 * mutex and condition variable, directory listing, fsync, an exclusive lock
 * file, the host name, a monotonic clock).
 *
 * This file pair is the only place in the plugin that includes OS headers
 * (pthread/dirent/unistd on POSIX, windows.h on Windows), like the host's
 * platform layer, which a plugin may not use.
 *
 * Errors: functions returning int give 0 on success and -1 on failure; where
 * an err buffer is taken it receives one line with the OS's error text.
 * Threading: all functions are thread-safe; a kos_mutex/kos_cond is used
 * like its pthread counterpart.
 */
#ifndef ETWHOST_KAFKA_OS_H
#define ETWHOST_KAFKA_OS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Opaque OS objects, heap-allocated by kos_*_new so no OS type leaks out. */
struct kos_mutex;
struct kos_cond;
struct kos_thread;
struct kos_lock;

/* One process-wide mutex, usable without set-up (static initialisation). */
void kos_global_lock(void);
void kos_global_unlock(void);

/* Create/destroy a mutex; NULL on out of memory. */
struct kos_mutex *kos_mutex_new(void);
void kos_mutex_free(struct kos_mutex *m);
void kos_mutex_lock(struct kos_mutex *m);
void kos_mutex_unlock(struct kos_mutex *m);

/* Condition variable bound at wait time to a mutex the caller holds. */
struct kos_cond *kos_cond_new(void);
void kos_cond_free(struct kos_cond *c);
/* Wait at most ms milliseconds (spurious wake-ups possible). */
void kos_cond_timedwait(struct kos_cond *c, struct kos_mutex *m, uint32_t ms);
void kos_cond_broadcast(struct kos_cond *c);

/* Start fn(arg) on a new thread; NULL on failure.  kos_thread_join frees it. */
struct kos_thread *kos_thread_start(void (*fn)(void *), void *arg);
void kos_thread_join(struct kos_thread *t);

/* Monotonic milliseconds (arbitrary origin). */
uint64_t kos_now_ms(void);
void kos_sleep_ms(uint32_t ms);

/* Short host name into buf (NUL-terminated, "unknown" on failure). */
void kos_hostname(char *buf, size_t cap);

/* Create dir and missing parents (mode 0700 for new ones); -1 + err on failure. */
int kos_mkdir_p(const char *path, char *err, size_t err_len);

/*
 * Sorted names (not paths) in dir that start with prefix and end with
 * suffix.  *names is malloc'd (free with kos_free_names).  -1 + err.
 */
int kos_list_dir(const char *dir, const char *prefix, const char *suffix, char ***names,
                 size_t *count, char *err, size_t err_len);
void kos_free_names(char **names, size_t count);

/* Flush stdio and the OS cache of f to disk; -1 on failure. */
int kos_fsync(FILE *f);

/* Seek f to an absolute 64-bit offset; -1 on failure. */
int kos_seek(FILE *f, uint64_t off);

/* Size of a file in bytes, or -1 if it cannot be read. */
int64_t kos_file_size(const char *path);

/* Truncate the file at path to len bytes; -1 on failure. */
int kos_truncate(const char *path, uint64_t len);

/*
 * Take an exclusive, non-blocking lock on path (created if needed) so two
 * processes never share one spool.  NULL + err (naming the path) if another
 * process holds it.  kos_lock_release drops the lock and frees the handle.
 */
struct kos_lock *kos_lock_take(const char *path, char *err, size_t err_len);
void kos_lock_release(struct kos_lock *l);

/* Text of the last OS error (errno / GetLastError) into buf; returns buf. */
const char *kos_last_error(char *buf, size_t cap);

#endif
