/*
 * psup_os: the operating-system calls shared by the built-in plugins.
 *
 * A plugin cannot use the host's platform layer (the host exports nothing
 * and a plugin includes only the SDK header), so the few calls the sinks
 * need are wrapped here, once per OS: psup_os_posix.c and psup_os_win.c.
 * A plugin that uses them lists the POSIX file in its plugin.mk
 * (SRCS_<name> := plugins/support/psup_os_posix.c ...); the Windows build
 * takes psup_os_win.c instead.  This module is compiled into each plugin
 * that lists it: plugins share source, never state.
 *
 * Paths are UTF-8.  Errors: functions return 0 or an OS error number (> 0:
 * errno on POSIX, GetLastError() on Windows) that psup_strerror() turns into
 * text.  Memory comes from the C runtime (malloc/free); nothing allocated
 * here crosses into the host.
 *
 * Threading: all functions are thread-safe (they keep no state), except
 * that one psup_file or psup_worker is used by one thread at a time (the
 * worker's lock functions excepted).
 */
#ifndef ETWHOST_PSUP_OS_H
#define ETWHOST_PSUP_OS_H

#include <stddef.h>
#include <stdint.h>

/*
 * An open file: a descriptor on POSIX, a HANDLE on Windows.  append is set
 * by psup_open_append: on Windows every write then goes to the end of the
 * file (POSIX has O_APPEND for that).  Initialize as {PSUP_NO_FILE, 0}.
 */
typedef struct psup_file {
    intptr_t h;
    int append;
} psup_file;

#define PSUP_NO_FILE ((intptr_t)-1)

/*
 * Open path for appending (created with mode 0644 if absent, never
 * truncated) with read access when the OS allows it (for the newline check;
 * write-only files such as a FIFO or a device are opened without).  *size
 * gets the current size (0 if not a regular file), *regular 1 if it is a
 * regular file.  A directory fails with EISDIR (POSIX).
 */
int psup_open_append(const char *path, psup_file *f, uint64_t *size, int *regular);
/* Open an existing file for reading. */
int psup_open_read(const char *path, psup_file *f);
/* Create path for writing, or truncate it if it exists (mode 0644). */
int psup_open_write_new(const char *path, psup_file *f);
/*
 * Create path for writing (mode 0644), failing if it exists.  Others may
 * read it while it grows and delete it (Windows sharing: read and delete).
 */
int psup_create_new(const char *path, psup_file *f);
/* Close f if open and mark it closed; safe on a closed file. */
void psup_close(psup_file *f);

/*
 * Write all len bytes, retrying interrupted and short writes.  Returns 0
 * only when all were written.  *written (may be NULL) gets how many reached
 * the file, also on error.
 */
int psup_write(psup_file *f, const void *buf, size_t len, size_t *written);
/* Read up to len bytes; *got 0 at end of file. */
int psup_read(psup_file *f, void *buf, size_t len, size_t *got);
/* Read the last byte of a file of 'size' bytes (size > 0). */
int psup_last_byte(psup_file *f, uint64_t size, unsigned char *out);
/* Current size of an open file. */
int psup_fsize(psup_file *f, uint64_t *size);
/* Size of the file at path; ENOENT (ERROR_FILE_NOT_FOUND) if absent. */
int psup_path_size(const char *path, uint64_t *size);
/* Cut the file to 'size' bytes; the next (non-append) write goes there. */
int psup_truncate(psup_file *f, uint64_t size);
/*
 * Reserve disk space for bytes [from, from+len) of a file being appended to,
 * without changing its size (Linux: fallocate with FALLOC_FL_KEEP_SIZE; other
 * systems return ENOSYS / ERROR_NOT_SUPPORTED and do nothing).  Appends into reserved space skip the file
 * system's per-block allocation work (ext4: about 40 % of the kernel time of
 * a buffered write).  Best effort: 0, or an error number the caller may
 * ignore (the file system cannot reserve).  Space still reserved past the end
 * when the file is closed stays allocated until the file is cut: psup_truncate
 * to its size releases it.  In psup_reserve_posix.c / psup_reserve_win.c (its
 * own file: fallocate needs _GNU_SOURCE, which would change strerror_r here).
 */
int psup_reserve(psup_file *f, uint64_t from, uint64_t len);
/*
 * Drop-behind for a file written sequentially, so a long write recycles a
 * few megabytes of page cache instead of filling memory with pages nobody
 * reads (Linux: sync_file_range and posix_fadvise; other systems return
 * ENOSYS / ERROR_NOT_SUPPORTED and do nothing).  psup_writeback_start starts
 * writing bytes [from, from+len) to disk and returns; psup_drop_cached waits
 * until bytes [from, from+len) are written and drops them from the page
 * cache.  Neither makes data durable (no metadata, no device cache flush).
 * Best effort: 0, or an error number the caller may ignore.  In
 * psup_reserve_posix.c / psup_reserve_win.c, for the same reason as
 * psup_reserve.
 */
int psup_writeback_start(psup_file *f, uint64_t from, uint64_t len);
int psup_drop_cached(psup_file *f, uint64_t from, uint64_t len);
/* Make data (and size) durable.  Files that cannot be synced (pipes, devices) give 0. */
int psup_sync(psup_file *f);
/* Make a directory's entries (renames, creations) durable; best effort. */
int psup_sync_dir(const char *dir);

/* Rename, replacing an existing 'to'. */
int psup_rename(const char *from, const char *to);
int psup_unlink(const char *path);
/* 1 if path exists (a dangling link counts on POSIX). */
int psup_exists(const char *path);
/* 1 if dir is an existing directory. */
int psup_is_dir(const char *dir);

/*
 * Call fn(name, arg) for each entry of dir (not "." and "..").  Returns 0
 * or an error number; a directory with no entries at all is not an error.
 */
int psup_list_dir(const char *dir, void (*fn)(const char *name, void *arg), void *arg);

/* Wall clock as UTC broken down (month 1..12, day 1..31). */
void psup_utc_now(int *year, int *mon, int *day, int *hour, int *min, int *sec);
/* Wall clock in 100 ns units since 1601-01-01 UTC (FILETIME). */
int64_t psup_now_filetime(void);
/* Monotonic clock in nanoseconds. */
uint64_t psup_monotonic_ns(void);

/*
 * Text of error number err into buf (cap bytes, always terminated); returns
 * buf.  On Windows the system message without its final period.
 */
const char *psup_strerror(int err, char *buf, size_t cap);
/*
 * Like psup_strerror, but on Windows the number follows the text, as in
 * "Access is denied (error 5)" (Windows texts are less specific than errno
 * names); on POSIX the same as psup_strerror.
 */
const char *psup_strerror_num(int err, char *buf, size_t cap);

/* A thread with a mutex and a condition variable: enough for one worker. */
typedef struct psup_worker psup_worker;
/* New worker (not started); NULL when out of memory.  Free with psup_worker_free. */
psup_worker *psup_worker_new(void);
/* Free w (joined or never started); NULL is ignored. */
void psup_worker_free(psup_worker *w);
/* Start fn(arg) on a new thread; 0 or an error number. */
int psup_worker_start(psup_worker *w, void (*fn)(void *arg), void *arg);
/* Wait for the thread started by psup_worker_start to end; no-op if none runs. */
void psup_worker_join(psup_worker *w);
void psup_lock(psup_worker *w);
void psup_unlock(psup_worker *w);
/* Wait (lock held) until signalled or ms elapse; may wake early. */
void psup_wait(psup_worker *w, uint32_t ms);
/* Wake every waiter (called with the lock held). */
void psup_signal(psup_worker *w);

#endif
