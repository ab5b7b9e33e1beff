/*
 * Windows files and directories (wide-character APIs, UTF-8 paths).
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <shellapi.h>
#include <shlwapi.h>

#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/mem.h"
#include "../platform.h"
#include "win_util.h"

static DWORD attrs_of(const char *path)
{
    struct win_wpath wp;
    wchar_t *w = win_wpath(&wp, path);
    if (w == NULL)
        return INVALID_FILE_ATTRIBUTES;
    DWORD a = GetFileAttributesW(w);
    win_wpath_free(&wp);
    return a;
}

int plat_is_dir(const char *path)
{
    DWORD a = attrs_of(path);
    return a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY);
}

int plat_is_file(const char *path)
{
    DWORD a = attrs_of(path);
    return a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY);
}

int plat_file_info(const char *path, uint64_t *size, int64_t *mtime)
{
    struct win_wpath wp;
    wchar_t *w = win_wpath(&wp, path);
    if (w == NULL)
        return ERR_NOMEM;
    WIN32_FILE_ATTRIBUTE_DATA d;
    BOOL ok = GetFileAttributesExW(w, GetFileExInfoStandard, &d);
    DWORD e = GetLastError();
    win_wpath_free(&wp);
    if (!ok)
        return (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND) ? ERR_NOTFOUND : ERR_IO;
    if (size)
        *size = ((uint64_t)d.nFileSizeHigh << 32) | d.nFileSizeLow;
    if (mtime)
        *mtime = (int64_t)(((uint64_t)d.ftLastWriteTime.dwHighDateTime << 32) |
                           d.ftLastWriteTime.dwLowDateTime);
    return 0;
}

int plat_check_private(const char *path, struct errbuf *eb)
{
    /* ACLs are the administrator's business on Windows; DLL search is locked down instead. */
    if (attrs_of(path) == INVALID_FILE_ATTRIBUTES)
        return errbuf_set(eb, ERR_NOTFOUND, "%s: not found", path);
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
    char pattern[4200];
    snprintf(pattern, sizeof pattern, "%s\\*", dir);
    struct win_wpath wp;
    wchar_t *w = win_wpath(&wp, pattern);
    if (w == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    WIN32_FIND_DATAW fd;
    HANDLE h = FindFirstFileW(w, &fd);
    win_wpath_free(&wp);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        char text[256];
        if (e == ERROR_FILE_NOT_FOUND)
            return 0;
        return errbuf_set(eb, e == ERROR_PATH_NOT_FOUND ? ERR_NOTFOUND : ERR_IO, "%s: %s", dir,
                          win_error_text(e, text, sizeof text));
    }
    char **v = NULL;
    size_t n = 0, cap = 0, sl = suffix ? strlen(suffix) : 0;
    int rc = 0;
    do {
        char *nm = win_utf8(fd.cFileName);
        if (nm == NULL) {
            rc = ERR_NOMEM;
            break;
        }
        size_t l = strlen(nm);
        if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 ||
            (suffix && (l < sl || strcmp(nm + l - sl, suffix) != 0))) {
            mem_free(nm);
            continue;
        }
        if (mem_grow(&v, &cap, n + 1, sizeof *v)) {
            mem_free(nm);
            rc = ERR_NOMEM;
            break;
        }
        v[n++] = nm;
    } while (FindNextFileW(h, &fd));
    FindClose(h);
    if (rc) {
        plat_free_list(v, n);
        return errbuf_set(eb, rc, "%s: out of memory", dir);
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
    if (strpbrk(pattern, "*?") == NULL) {
        if (!plat_is_file(pattern) && !plat_is_dir(pattern))
            return errbuf_set(eb, ERR_NOTFOUND, "%s: no such file", pattern);
        char **v = mem_calloc(1, sizeof *v);
        if (v == NULL || (v[0] = mem_strdup(pattern)) == NULL) {
            mem_free(v);
            return errbuf_set(eb, ERR_NOMEM, "out of memory");
        }
        *paths = v;
        *count = 1;
        return 0;
    }
    /* Wildcards in the last component only: list the directory and match. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", pattern);
    char *slash = strrchr(dir, '/'), *bs = strrchr(dir, '\\');
    if (bs && (!slash || bs > slash))
        slash = bs;
    const char *leaf = slash ? pattern + (slash - dir) + 1 : pattern;
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    char **names;
    size_t n;
    int rc = plat_list_dir(dir, NULL, &names, &n, eb);
    if (rc)
        return rc;
    char **v = mem_calloc(n ? n : 1, sizeof *v);
    size_t k = 0;
    wchar_t *wl = win_wide(leaf);
    for (size_t i = 0; v && wl && i < n; i++) {
        wchar_t *wn = win_wide(names[i]);
        if (wn && PathMatchSpecW(wn, wl)) {
            char full[4400];
            snprintf(full, sizeof full, "%s%s%s", slash ? dir : "", slash ? "/" : "", names[i]);
            v[k] = mem_strdup(full);
            if (v[k])
                k++;
        }
        mem_free(wn);
    }
    mem_free(wl);
    plat_free_list(names, n);
    if (v == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    if (k == 0) {
        mem_free(v);
        return errbuf_set(eb, ERR_NOTFOUND, "%s: no such file", pattern);
    }
    *paths = v;
    *count = k;
    return 0;
}

static int mkdir_one(const char *path)
{
    struct win_wpath wp;
    wchar_t *w = win_wpath(&wp, path);
    if (w == NULL)
        return ERR_NOMEM;
    BOOL ok = CreateDirectoryW(w, NULL);
    DWORD e = GetLastError();
    win_wpath_free(&wp);
    return ok || e == ERROR_ALREADY_EXISTS ? 0 : ERR_IO;
}

int plat_mkdir_p(const char *path, struct errbuf *eb)
{
    char tmp[4096];
    size_t l = strlen(path);
    if (l == 0 || l >= sizeof tmp)
        return errbuf_set(eb, ERR_INVAL, "bad directory path '%s'", path);
    memcpy(tmp, path, l + 1);
    for (char *p = tmp + 1; *p; p++) {
        if ((*p == '/' || *p == '\\') && p[-1] != ':') {
            char c = *p;
            *p = '\0';
            if (mkdir_one(tmp))
                return errbuf_set(eb, ERR_IO, "cannot create %s", tmp);
            *p = c;
        }
    }
    if (mkdir_one(tmp) || !plat_is_dir(tmp))
        return errbuf_set(eb, ERR_IO, "cannot create directory %s", tmp);
    return 0;
}

int plat_rename(const char *from, const char *to, struct errbuf *eb)
{
    wchar_t *a = win_wide(from), *b = win_wide(to);
    BOOL ok = a && b && MoveFileExW(a, b, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);
    DWORD e = GetLastError();
    mem_free(a);
    mem_free(b);
    if (!ok) {
        char text[256];
        return errbuf_set(eb, ERR_IO, "cannot rename %s to %s: %s", from, to,
                          win_error_text(e, text, sizeof text));
    }
    return 0;
}

int plat_remove(const char *path)
{
    struct win_wpath wp;
    wchar_t *w = win_wpath(&wp, path);
    if (w == NULL)
        return ERR_NOMEM;
    BOOL ok = plat_is_dir(path) ? RemoveDirectoryW(w) : DeleteFileW(w);
    win_wpath_free(&wp);
    return ok ? 0 : ERR_IO;
}

int plat_fsync(FILE *f)
{
    if (fflush(f) != 0)
        return ERR_IO;
    HANDLE h = (HANDLE)_get_osfhandle(_fileno(f));
    return FlushFileBuffers(h) ? 0 : ERR_IO;
}

FILE *plat_fopen(const char *path, const char *mode, struct errbuf *eb)
{
    wchar_t *w = win_wide(path), *m = win_wide(mode);
    FILE *f = (w && m) ? _wfopen(w, m) : NULL;
    mem_free(w);
    mem_free(m);
    if (f == NULL)
        errbuf_set(eb, ERR_IO, "cannot open %s", path);
    return f;
}

/*
 * Open path for reading, letting others go on writing, renaming or deleting
 * it (an .etl being recorded): *h and its *size.  With disk_only, anything
 * but a disk file (a pipe, a console) fails as "not a regular file".
 */
static int open_shared_read(const char *path, DWORD flags, int disk_only, HANDLE *h,
                            uint64_t *size, struct errbuf *eb)
{
    char text[256];
    struct win_wpath wp;
    wchar_t *w = win_wpath(&wp, path);
    if (w == NULL)
        return errbuf_set(eb, ERR_NOMEM, "out of memory");
    HANDLE fh = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                            NULL, OPEN_EXISTING, flags, NULL);
    DWORD e = GetLastError();
    win_wpath_free(&wp);
    if (fh == INVALID_HANDLE_VALUE)
        return errbuf_set(eb, (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND) ? ERR_NOTFOUND : ERR_IO,
                          "%s: %s", path, win_error_text(e, text, sizeof text));
    if (disk_only && GetFileType(fh) != FILE_TYPE_DISK) {
        CloseHandle(fh);
        return errbuf_set(eb, ERR_IO, "%s: not a regular file", path);
    }
    LARGE_INTEGER sz;
    if (!GetFileSizeEx(fh, &sz)) {
        e = GetLastError();
        CloseHandle(fh);
        if (disk_only)
            return errbuf_set(eb, ERR_IO, "%s: not a regular file", path);
        return errbuf_set(eb, ERR_IO, "%s: %s", path, win_error_text(e, text, sizeof text));
    }
    *h = fh;
    *size = (uint64_t)sz.QuadPart;
    return 0;
}

int plat_map_file(const char *path, const uint8_t **data, size_t *size, struct errbuf *eb)
{
    *data = NULL;
    *size = 0;
    char text[256];
    HANDLE fh;
    uint64_t n;
    int rc = open_shared_read(path, FILE_ATTRIBUTE_NORMAL, 0, &fh, &n, eb);
    if (rc)
        return rc;
    if (n == 0) {
        CloseHandle(fh);
        return 0;
    }
    HANDLE mh = CreateFileMappingW(fh, NULL, PAGE_READONLY, 0, 0, NULL);
    DWORD e = GetLastError();
    CloseHandle(fh);
    if (mh == NULL)
        return errbuf_set(eb, ERR_IO, "%s: cannot map: %s", path, win_error_text(e, text, sizeof text));
    void *p = MapViewOfFile(mh, FILE_MAP_READ, 0, 0, 0);
    e = GetLastError();
    CloseHandle(mh);
    if (p == NULL)
        return errbuf_set(eb, ERR_IO, "%s: cannot map: %s", path, win_error_text(e, text, sizeof text));
    *data = p;
    *size = (size_t)n;
    return 0;
}

void plat_unmap(const uint8_t *data, size_t size)
{
    (void)size;
    if (data)
        UnmapViewOfFile(data);
}

struct plat_rfile {
    HANDLE h;
    char *path;
};

int plat_rfile_open(const char *path, struct plat_rfile **f, uint64_t *size, struct errbuf *eb)
{
    *f = NULL;
    *size = 0;
    HANDLE fh;
    uint64_t n;
    int rc = open_shared_read(path, FILE_FLAG_SEQUENTIAL_SCAN, 1, &fh, &n, eb);
    if (rc)
        return rc;
    struct plat_rfile *rf = mem_alloc(sizeof *rf);
    char *p = mem_strdup(path);
    if (rf == NULL || p == NULL) {
        mem_free(rf);
        mem_free(p);
        CloseHandle(fh);
        return errbuf_set(eb, ERR_NOMEM, "%s: out of memory", path);
    }
    rf->h = fh;
    rf->path = p;
    *f = rf;
    *size = n;
    return 0;
}

int plat_rfile_read(struct plat_rfile *f, uint64_t off, void *buf, size_t len, struct errbuf *eb)
{
    uint8_t *p = buf;
    char text[256];
    while (len > 0) {
        DWORD want = len > ((size_t)1 << 30) ? (DWORD)1 << 30 : (DWORD)len;
        OVERLAPPED ov;
        memset(&ov, 0, sizeof ov);
        ov.Offset = (DWORD)off;
        ov.OffsetHigh = (DWORD)(off >> 32);
        DWORD got = 0;
        if (!ReadFile(f->h, p, want, &got, &ov)) {
            DWORD e = GetLastError();
            if (e != ERROR_HANDLE_EOF)
                return errbuf_set(eb, ERR_IO, "%s: offset 0x%llx: read error: %s", f->path,
                                  (unsigned long long)off, win_error_text(e, text, sizeof text));
            got = 0;
        }
        if (got == 0)
            return errbuf_set(eb, ERR_IO, "%s: offset 0x%llx: the file ended early (it "
                              "shrank while being read)", f->path, (unsigned long long)off);
        p += got;
        off += got;
        len -= got;
    }
    return 0;
}

void plat_rfile_close(struct plat_rfile *f)
{
    if (f == NULL)
        return;
    CloseHandle(f->h);
    mem_free(f->path);
    mem_free(f);
}

int plat_abspath(const char *path, char *out, size_t cap)
{
    struct win_wpath wp;
    wchar_t *w = win_wpath(&wp, path);
    wchar_t full[MAX_PATH * 4];
    if (w == NULL)
        return ERR_NOMEM;
    DWORD n = GetFullPathNameW(w, MAX_PATH * 4, full, NULL);
    win_wpath_free(&wp);
    if (n == 0 || n >= MAX_PATH * 4)
        return ERR_NOTFOUND;
    if (GetFileAttributesW(full) == INVALID_FILE_ATTRIBUTES)
        return ERR_NOTFOUND;
    char *u = win_utf8(full);
    if (u == NULL)
        return ERR_NOMEM;
    size_t l = strlen(u);
    int rc = 0;
    if (l >= cap)
        rc = ERR_RANGE;
    else
        memcpy(out, u, l + 1);
    mem_free(u);
    return rc;
}

const char *plat_exe_dir(void)
{
    static char dir[4096];
    if (dir[0])
        return dir;
    wchar_t w[MAX_PATH * 4];
    DWORD n = GetModuleFileNameW(NULL, w, MAX_PATH * 4);
    char *u = (n > 0 && n < MAX_PATH * 4) ? win_utf8(w) : NULL;
    if (u == NULL) {
        strcpy(dir, ".");
        return dir;
    }
    snprintf(dir, sizeof dir, "%s", u);
    mem_free(u);
    char *slash = strrchr(dir, '\\');
    char *fs = strrchr(dir, '/');
    if (fs && (!slash || fs > slash))
        slash = fs;
    if (slash)
        *slash = '\0';
    return dir;
}

const char *plat_hostname(void)
{
    static char name[256];
    if (name[0] == '\0') {
        wchar_t w[256];
        DWORD n = 256;
        char *u = GetComputerNameExW(ComputerNameDnsHostname, w, &n) ? win_utf8(w) : NULL;
        snprintf(name, sizeof name, "%s", u ? u : "localhost");
        mem_free(u);
    }
    return name;
}

int plat_isatty(FILE *f)
{
    return _isatty(_fileno(f));
}

const char *plat_tmpdir(void)
{
    static char dir[4096];
    if (dir[0] == '\0') {
        wchar_t w[MAX_PATH + 1];
        DWORD n = GetTempPathW(MAX_PATH + 1, w);
        char *u = n ? win_utf8(w) : NULL;
        snprintf(dir, sizeof dir, "%s", u ? u : ".");
        mem_free(u);
        size_t l = strlen(dir);
        if (l > 1 && (dir[l - 1] == '\\' || dir[l - 1] == '/'))
            dir[l - 1] = '\0';
    }
    return dir;
}

uint32_t plat_getpid(void)
{
    return (uint32_t)GetCurrentProcessId();
}

void plat_utf8_args(int *argc, char ***argv)
{
    int n = 0;
    wchar_t **w = CommandLineToArgvW(GetCommandLineW(), &n);
    if (w == NULL)
        return;
    char **v = mem_calloc((size_t)n + 1, sizeof *v);
    int ok = v != NULL;
    for (int i = 0; ok && i < n; i++)
        ok = (v[i] = win_utf8(w[i])) != NULL;
    LocalFree(w);
    if (!ok) {
        for (int i = 0; v && i < n; i++)
            mem_free(v[i]);
        mem_free(v);
        return;
    }
    *argc = n;
    *argv = v;
}
