/*
 * file_os: the operating-system calls of the file sink plugin.
 *
 * A plugin cannot use the host's platform layer (the host exports nothing),
 * so the few calls the file sink needs are wrapped here, once per OS.  Paths
 * are UTF-8.  Errors: functions return 0 or an OS error number (> 0) that
 * fos_strerror() turns into text; FOS_ENOSPC etc. classify it.
 *
 * Threading: all functions are thread-safe (they keep no state), except
 * that one fos_file must be used by one thread at a time.
 */
#ifndef ETWHOST_FILE_OS_H
#define ETWHOST_FILE_OS_H

#include <stddef.h>
#include <stdint.h>

/* An open file: a descriptor on POSIX, a HANDLE on Windows. */
typedef struct fos_file {
    intptr_t h;
} fos_file;

#define FOS_NO_FILE ((intptr_t)-1)

/*
 * Open path for appending (created with mode 0644 if absent, never
 * truncated) with read access for the newline check.  *size gets the
 * current size, *regular 1 if it is a regular file.
 */
int fos_open_append(const char *path, fos_file *f, uint64_t *size, int *regular);
/* Open for reading / create-or-truncate for writing (compression). */
int fos_open_read(const char *path, fos_file *f);
int fos_open_write_new(const char *path, fos_file *f);
void fos_close(fos_file *f);

/*
 * Write len bytes; *written gets how many reached the file even on error
 * (retrying interrupted and short writes internally).  Returns 0 only when
 * all were written.
 */
int fos_write(fos_file *f, const void *buf, size_t len, size_t *written);
/* Read up to len bytes; *got 0 at end of file. */
int fos_read(fos_file *f, void *buf, size_t len, size_t *got);
/* Read the last byte of a file of 'size' bytes. */
int fos_last_byte(fos_file *f, uint64_t size, unsigned char *out);
/* Current size. */
int fos_size(fos_file *f, uint64_t *size);
/* Cut the file to 'size' bytes. */
int fos_truncate(fos_file *f, uint64_t size);
/* Make data (and size) durable. */
int fos_sync(fos_file *f);
/* Make a directory's entries (renames, creations) durable; best effort. */
int fos_sync_dir(const char *dir);

int fos_rename(const char *from, const char *to);
int fos_unlink(const char *path);
/* 1 if path exists. */
int fos_exists(const char *path);
/* 1 if dir is an existing directory. */
int fos_is_dir(const char *dir);

/*
 * Call fn(name, arg) for each entry of dir (not . and ..).  Returns 0 or
 * an error number.
 */
int fos_list_dir(const char *dir, void (*fn)(const char *name, void *arg), void *arg);

/* Wall clock as UTC broken down; monotonic clock in nanoseconds. */
void fos_utc_now(int *year, int *mon, int *day, int *hour, int *min, int *sec);
uint64_t fos_monotonic_ns(void);

/* Error classification and text. */
int fos_is_nospace(int err);
const char *fos_strerror(int err, char *buf, size_t cap);

/* A thread with a mutex and condition variable, enough for one worker. */
typedef struct fos_worker fos_worker;
fos_worker *fos_worker_new(void);
void fos_worker_free(fos_worker *w);
/* Start fn(arg) on a new thread; 0 or an error number. */
int fos_worker_start(fos_worker *w, void (*fn)(void *arg), void *arg);
void fos_worker_join(fos_worker *w);
void fos_lock(fos_worker *w);
void fos_unlock(fos_worker *w);
/* Wait (lock held) until signalled or ms elapse. */
void fos_wait(fos_worker *w, uint32_t ms);
void fos_signal(fos_worker *w);

#endif
