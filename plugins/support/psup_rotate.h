/*
 * psup_rotate: names and retention of rotated files, shared by the sinks
 * that rotate (file, archive).
 *
 * A live file <dir>/<stem><ext> is rotated by renaming it to
 * <dir>/<stem>-<YYYYMMDDTHHMMSSZ>-<seq><ext>, e.g.
 * events-20260101T120000Z-000007.jsonl: the UTC time of rotation and a
 * sequence number (at least six digits) that increases by one per rotation
 * and continues after restarts, so names sort in rotation order.  A sink may
 * derive variants of a rotated file by appending a suffix after <ext> (the
 * file sink's ".zst" and ".zst.tmp").
 *
 * Memory comes from malloc (plugin side); strings returned are the caller's
 * to free().  No global state: thread-safe, one struct psup_rot per sink.
 */
#ifndef ETWHOST_PSUP_ROTATE_H
#define ETWHOST_PSUP_ROTATE_H

#include <stddef.h>
#include <stdint.h>

/* New NUL-terminated copy of s[0..n) (malloc); NULL when out of memory. */
char *psup_dupn(const char *s, size_t n);
/* New concatenation a + b + c (malloc); NULL when out of memory. */
char *psup_join3(const char *a, const char *b, const char *c);
/* 1 if ch separates path components ('/'; on Windows also '\\'). */
int psup_is_sep(char ch);

/*
 * The rotated files of one live file.  variants lists the suffixes a rotated
 * name may carry after <ext>, NULL-terminated, variants[0] being ""
 * (variants == NULL means only ""); temp_variant is the index of a variant
 * that marks unfinished work (never counted nor deleted by psup_rot_prune),
 * or -1.  The caller sets variants and temp_variant after psup_rot_init.
 */
struct psup_rot {
    char *dir, *stem, *ext;
    const char *const *variants;
    int temp_variant;
};

/*
 * Split path[0..len) into directory ("." when there is none, "/" for the
 * root), stem and extension (from the last '.' of the file name, unless the
 * name starts with it).  0, or -1 when out of memory (free with
 * psup_rot_free either way).
 */
int psup_rot_init(struct psup_rot *r, const char *path, size_t len);
void psup_rot_free(struct psup_rot *r);

/* <dir>/<stem>-<now, UTC>-<seq><ext> (malloc); NULL when out of memory. */
char *psup_rot_path(const struct psup_rot *r, uint64_t seq);

/* 1 if name (no directory) is a rotated file of r: *seq and *variant set; else 0. */
int psup_rot_parse(const struct psup_rot *r, const char *name, uint64_t *seq, int *variant);

/* One rotated file found in the directory. */
struct psup_rot_file {
    uint64_t seq;
    int variant;
    char *name; /* without the directory */
};

/*
 * The rotated files in r's directory, sorted by sequence number, then
 * variant (the order of r->variants).  max_seq is the highest sequence
 * number seen (0 when none), also when oom is set (an entry could not be
 * stored: the list is incomplete).
 */
struct psup_rot_list {
    struct psup_rot_file *v;
    size_t n, cap;
    uint64_t max_seq;
    int oom;
    const struct psup_rot *r;
};

/* List r's rotated files into l (zeroed first).  0 or the error of listing the directory. */
int psup_rot_scan(const struct psup_rot *r, struct psup_rot_list *l);
void psup_rot_list_free(struct psup_rot_list *l);

/*
 * Delete the oldest rotated files so that at most keep remain (keep 0: keep
 * all).  A rotated file counts once whatever variants of it exist, and they
 * go together (the temp variant excepted: it is left alone).  Nothing is
 * deleted when the directory cannot be listed completely.  failed(ctx, path, err) is called for each file that could not
 * be deleted (err from psup_unlink).
 */
void psup_rot_prune(const struct psup_rot *r, uint32_t keep,
                    void (*failed)(void *ctx, const char *path, int err), void *ctx);

#endif
