/*
 * platform: the only interface to the operating system.
 *
 * Implemented once in posix/ and once in win/.  Nothing outside platform/
 * includes unistd.h, pthread.h or windows.h.  Paths are UTF-8 everywhere;
 * the Windows implementation converts to UTF-16 at the call.
 *
 * Errors: functions returning int give 0 or a negative ERR_* code and, where
 * an errbuf is taken, one line with the OS's own error text.
 */
#ifndef ETWHOST_PLATFORM_H
#define ETWHOST_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/err.h"

#if defined(_WIN32)
#include "win/plat_types.h"
#else
#include "posix/plat_types.h"
#endif

/* ---- Process set-up ---- */

/*
 * Once at start of the program: allocator tuning (on glibc one malloc arena
 * for the whole process: the host's threads allocate little after start-up,
 * and per-thread arenas made peak memory grow with the length of the input).
 */
void plat_init(void);

/* ---- Threads (plat_types.h defines the structs) ---- */

typedef void (*plat_thread_fn)(void *arg);
int plat_thread_start(struct plat_thread *t, plat_thread_fn fn, void *arg);
void plat_thread_join(struct plat_thread *t);

void plat_mutex_init(struct plat_mutex *m);
void plat_mutex_destroy(struct plat_mutex *m);
void plat_mutex_lock(struct plat_mutex *m);
void plat_mutex_unlock(struct plat_mutex *m);

void plat_cond_init(struct plat_cond *c);
void plat_cond_destroy(struct plat_cond *c);
void plat_cond_wait(struct plat_cond *c, struct plat_mutex *m);
/* Wait at most ms milliseconds; returns 0 if signalled or timed out alike. */
void plat_cond_timedwait(struct plat_cond *c, struct plat_mutex *m, uint32_t ms);
void plat_cond_signal(struct plat_cond *c);
void plat_cond_broadcast(struct plat_cond *c);

/* ---- Time ---- */

/* Current UTC time as FILETIME (100 ns since 1601-01-01). */
int64_t plat_now_filetime(void);
/* Monotonic clock in nanoseconds. */
uint64_t plat_monotonic_ns(void);
void plat_sleep_ms(uint32_t ms);

/* ---- Shared libraries ---- */

/*
 * Open a plugin library with immediate binding and local symbols.  On
 * failure eb holds the loader's own error text.
 */
int plat_dl_open(const char *path, void **handle, struct errbuf *eb);
/* A generic function pointer; cast to the real type at the call. */
typedef void (*plat_fnptr)(void);
plat_fnptr plat_dl_sym(void *handle, const char *name);
void plat_dl_close(void *handle);
/* File name suffix of shared libraries: ".so" or ".dll". */
const char *plat_dl_suffix(void);

/* ---- Files and directories ---- */

#define PLAT_PATH_SEP '/'

/* 1 if path exists and is a directory / regular file. */
int plat_is_dir(const char *path);
int plat_is_file(const char *path);
/* Size and modification time (FILETIME) of a file; ERR_NOTFOUND / ERR_IO. */
int plat_file_info(const char *path, uint64_t *size, int64_t *mtime);

/*
 * Refuse files or directories that group or others may write (POSIX); on
 * Windows always 0.  eb says which path and why.
 */
int plat_check_private(const char *path, struct errbuf *eb);

/* Sorted names (not paths) in dir ending with suffix (NULL = all), without . and .. */
int plat_list_dir(const char *dir, const char *suffix, char ***names, size_t *count,
                  struct errbuf *eb);
void plat_free_list(char **names, size_t count);

/*
 * Expand a file pattern (*, ? and [...] in the last path component; a
 * plain path is returned as is if it exists).  Sorted; ERR_NOTFOUND when
 * nothing matches.  Free with plat_free_list.
 */
int plat_glob(const char *pattern, char ***paths, size_t *count, struct errbuf *eb);

/* Create dir and parents (mode 0700 for new ones on POSIX). */
int plat_mkdir_p(const char *path, struct errbuf *eb);
int plat_rename(const char *from, const char *to, struct errbuf *eb);
/* Remove a file or an empty directory. */
int plat_remove(const char *path);
/* fsync the file behind f (after fflush). */
int plat_fsync(FILE *f);
/* Open for appending, creating with mode 0644; binary. NULL + eb on failure. */
FILE *plat_fopen(const char *path, const char *mode, struct errbuf *eb);

/*
 * Map a whole file read-only.  *data is NULL for an empty file.  Release
 * with plat_unmap.  ERR_NOTFOUND, ERR_IO with eb naming the file.
 */
int plat_map_file(const char *path, const uint8_t **data, size_t *size, struct errbuf *eb);
void plat_unmap(const uint8_t *data, size_t size);
/*
 * A file read at offsets (the .etl reader): no mapping, so the process's
 * resident memory is what the caller's buffers take, whatever the file's
 * size, and nothing has to be handed back (on Linux handing back mapped
 * pages cost a TLB flush of every CPU running one of the process's threads).
 *
 * plat_rfile_open: *f owned by the caller (plat_rfile_close); *size the
 * file's size.  ERR_NOTFOUND, ERR_IO (not a regular file, no access) with eb
 * naming the file.
 * plat_rfile_read: exactly len bytes at off into buf.  ERR_IO with eb naming
 * the file and offset on a read error or when the file ends early (it
 * shrank while being read).
 * Threading: one rfile is used by one thread at a time.
 */
struct plat_rfile;
int plat_rfile_open(const char *path, struct plat_rfile **f, uint64_t *size, struct errbuf *eb);
int plat_rfile_read(struct plat_rfile *f, uint64_t off, void *buf, size_t len, struct errbuf *eb);
/* Close f; NULL is ignored. */
void plat_rfile_close(struct plat_rfile *f);

/*
 * Memory for big blocks that live long and are used densely (the event and
 * batch pools allocated at start, archive block buffers): n bytes, zeroed,
 * page-aligned, NULL when out of memory.  On Linux a block of 1 MiB or more
 * takes whole 2 MiB units, aligned, marked for transparent huge pages, so
 * touching it costs one page fault per 2 MiB instead of one per 4 KiB.  Release with
 * plat_big_free and the same n.  Thread-safe.  Callers use mem_alloc_big.
 */
void *plat_big_alloc(size_t n);
void plat_big_free(void *p, size_t n);

/* Absolute form of path into out (cap bytes); ERR_NOTFOUND if it does not exist. */
int plat_abspath(const char *path, char *out, size_t cap);
/* Directory of the running executable (no trailing separator); static buffer. */
const char *plat_exe_dir(void);
/* Short host name; static buffer. */
const char *plat_hostname(void);
/* 1 if the stream is a terminal. */
int plat_isatty(FILE *f);
/* Temporary directory (TMPDIR or /tmp). */
const char *plat_tmpdir(void);
/* Process id. */
uint32_t plat_getpid(void);
/*
 * Replace main()'s arguments by their UTF-8 form.  POSIX: left as they are.
 * Windows: main() receives them in the ANSI code page, which loses what it
 * cannot represent; they are rebuilt from the UTF-16 command line.  Call
 * first thing in main(); the new array lives until exit (left as it was
 * when out of memory).
 */
void plat_utf8_args(int *argc, char ***argv);

/* ---- Signals ---- */

#define PLAT_SIG_STOP 0x1u   /* SIGINT, SIGTERM, Ctrl+C, Ctrl+Break */
#define PLAT_SIG_RELOAD 0x2u /* SIGHUP */

/* Install handlers that only record the signal.  Idempotent. */
void plat_signals_install(void);
/*
 * For commands whose only output is stdout (dump): a closed pipe ends the
 * process quietly like any filter tool (`etwhost dump x.etl | head`).
 * Call after plat_signals_install.  No-op on Windows.
 */
void plat_signals_quiet_pipe(void);
/* Return and clear the pending signal bits. */
uint32_t plat_signals_take(void);
/* Peek without clearing. */
uint32_t plat_signals_peek(void);
/* Raise a pending bit by hand (tests, internal stop). */
void plat_signals_raise(uint32_t bits);

/* ---- Processes (tests and tools) ---- */

/*
 * Run argv[0] with argv, optional extra environment entries ("K=V", NULL-
 * terminated), feeding 'in' to stdin, capturing stdout/stderr into malloc'd
 * (mem_alloc) NUL-terminated strings.  Kills the child after timeout_ms.
 * *status is the exit code, or 128+signal, or -1 on timeout.
 */
int plat_run(const char *const *argv, const char *const *env, const char *in, size_t in_len,
             char **out, size_t *out_len, char **err, size_t *err_len, uint32_t timeout_ms,
             int *status);

/* Start a child in the background with stdout/stderr to files; returns a pid. */
int plat_spawn(const char *const *argv, const char *const *env, const char *out_path,
               const char *err_path, int64_t *pid);
/* Wait up to wait_ms for a spawned child to exit; ERR_RETRY if still running. */
int plat_wait(int64_t pid, uint32_t wait_ms, int *status);
/* Send a signal (PLAT_SIG_*) or kill hard (0 = SIGKILL); wait for exit if wait_ms > 0. */
int plat_kill(int64_t pid, uint32_t sig, uint32_t wait_ms, int *status);

#endif
