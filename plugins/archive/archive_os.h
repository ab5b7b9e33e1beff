/*
 * archive_os: the operating-system calls of the archive sink plugin.
 *
 * A plugin cannot use the host's platform layer (the host exports
 * nothing), so the few calls the sink needs are wrapped here.  This is a
 * deliberate, small duplicate of what plugins/file/file_os.h offers: the
 * plugins share no code.  Paths are UTF-8.  Functions return 0 or an OS
 * error number (> 0) that aos_strerror() turns into text.
 *
 * Threading: no state; one aos_file is used by one thread at a time.
 */
#ifndef ETWHOST_ARCHIVE_OS_H
#define ETWHOST_ARCHIVE_OS_H

#include <stddef.h>
#include <stdint.h>

typedef struct aos_file {
    intptr_t h;
} aos_file;

#define AOS_NO_FILE ((intptr_t)-1)

/* Create path (mode 0644), failing if it exists. */
int aos_create(const char *path, aos_file *f);
/* Write all len bytes (retrying short and interrupted writes). */
int aos_write(aos_file *f, const void *buf, size_t len);
/* Cut the file to size bytes (undo a partial frame). */
int aos_truncate(aos_file *f, uint64_t size);
/* Make data durable. */
int aos_sync(aos_file *f);
void aos_close(aos_file *f);

int aos_rename(const char *from, const char *to);
int aos_unlink(const char *path);
/* Size of path; ENOENT if absent. */
int aos_size(const char *path, uint64_t *size);
/* Make a directory's entries durable; best effort. */
int aos_sync_dir(const char *dir);

/* Call fn(ctx, name) for each entry of dir (not "." / ".."). */
int aos_list_dir(const char *dir, void (*fn)(void *ctx, const char *name), void *ctx);

/* Wall-clock time, 100 ns units since 1601-01-01 UTC (FILETIME). */
int64_t aos_now_filetime(void);
/* Monotonic nanoseconds. */
uint64_t aos_monotonic_ns(void);

/* Text of an error number into buf. */
const char *aos_strerror(int e, char *buf, size_t cap);

#endif
