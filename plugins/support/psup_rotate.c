/*
 * psup_rotate: see psup_rotate.h.
 */
#include "psup_rotate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psup_os.h"

char *psup_dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *psup_join3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *d = malloc(la + lb + lc + 1);
    if (d != NULL) {
        memcpy(d, a, la);
        memcpy(d + la, b, lb);
        memcpy(d + la + lb, c, lc + 1);
    }
    return d;
}

int psup_is_sep(char ch)
{
#if defined(_WIN32)
    return ch == '/' || ch == '\\';
#else
    return ch == '/';
#endif
}

int psup_rot_init(struct psup_rot *r, const char *path, size_t len)
{
    memset(r, 0, sizeof *r);
    r->temp_variant = -1;
    size_t b = len;
    while (b > 0 && !psup_is_sep(path[b - 1]))
        b--;
    r->dir = b == 0 ? psup_dupn(".", 1) : b == 1 ? psup_dupn(path, 1) : psup_dupn(path, b - 1);
    const char *base = path + b, *end = path + len;
    const char *dot = NULL;
    for (const char *p = base; p < end; p++)
        if (*p == '.')
            dot = p;
    if (dot == NULL || dot == base)
        dot = end;
    r->stem = psup_dupn(base, (size_t)(dot - base));
    r->ext = psup_dupn(dot, (size_t)(end - dot));
    return r->dir != NULL && r->stem != NULL && r->ext != NULL ? 0 : -1;
}

void psup_rot_free(struct psup_rot *r)
{
    free(r->dir);
    free(r->stem);
    free(r->ext);
    r->dir = r->stem = r->ext = NULL;
}

char *psup_rot_path(const struct psup_rot *r, uint64_t seq)
{
    int y, mo, d, h, mi, sec;
    psup_utc_now(&y, &mo, &d, &h, &mi, &sec);
    char mid[64];
    snprintf(mid, sizeof mid, "-%04d%02d%02dT%02d%02d%02dZ-%06llu", y, mo, d, h, mi, sec,
             (unsigned long long)seq);
    size_t n = strlen(r->dir) + 1 + strlen(r->stem) + strlen(mid) + strlen(r->ext) + 1;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s%s%s", r->dir, r->stem, mid, r->ext);
    return p;
}

int psup_rot_parse(const struct psup_rot *r, const char *name, uint64_t *seq, int *variant)
{
    static const char *const plain[] = {"", NULL};
    size_t sl = strlen(r->stem), el = strlen(r->ext), n = strlen(name);
    if (n < sl + 1 + 16 + 1 + 6 + el || memcmp(name, r->stem, sl) != 0 || name[sl] != '-')
        return 0;
    const char *t = name + sl + 1;
    for (int i = 0; i < 16; i++) {
        char want = i == 8 ? 'T' : i == 15 ? 'Z' : 0;
        if (want ? t[i] != want : (t[i] < '0' || t[i] > '9'))
            return 0;
    }
    if (t[16] != '-')
        return 0;
    /* At least six digits; at most 19, so the number cannot overflow. */
    const char *d = t + 17;
    uint64_t v = 0;
    int nd = 0;
    while (d[nd] >= '0' && d[nd] <= '9' && nd < 19)
        v = v * 10 + (uint64_t)(d[nd++] - '0');
    if (nd < 6)
        return 0;
    const char *rest = d + nd;
    if (strncmp(rest, r->ext, el) != 0)
        return 0;
    rest += el;
    const char *const *vs = r->variants != NULL ? r->variants : plain;
    for (int k = 0; vs[k] != NULL; k++) {
        if (strcmp(rest, vs[k]) == 0) {
            *seq = v;
            *variant = k;
            return 1;
        }
    }
    return 0;
}

static void scan_one(const char *name, void *arg)
{
    struct psup_rot_list *l = arg;
    uint64_t seq;
    int variant;
    if (!psup_rot_parse(l->r, name, &seq, &variant))
        return;
    if (seq > l->max_seq)
        l->max_seq = seq;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        struct psup_rot_file *nv = realloc(l->v, nc * sizeof *nv);
        if (nv == NULL) {
            l->oom = 1;
            return;
        }
        l->v = nv;
        l->cap = nc;
    }
    char *d = psup_dupn(name, strlen(name));
    if (d == NULL) {
        l->oom = 1;
        return;
    }
    l->v[l->n].seq = seq;
    l->v[l->n].variant = variant;
    l->v[l->n].name = d;
    l->n++;
}

static int cmp_file(const void *a, const void *b)
{
    const struct psup_rot_file *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return (x->variant > y->variant) - (x->variant < y->variant);
}

int psup_rot_scan(const struct psup_rot *r, struct psup_rot_list *l)
{
    memset(l, 0, sizeof *l);
    l->r = r;
    int e = psup_list_dir(r->dir, scan_one, l);
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, cmp_file);
    return e;
}

void psup_rot_list_free(struct psup_rot_list *l)
{
    for (size_t k = 0; k < l->n; k++)
        free(l->v[k].name);
    free(l->v);
    memset(l, 0, sizeof *l);
}

void psup_rot_prune(const struct psup_rot *r, uint32_t keep,
                    void (*failed)(void *ctx, const char *path, int err), void *ctx)
{
    if (keep == 0)
        return;
    struct psup_rot_list l;
    if (psup_rot_scan(r, &l) != 0 || l.oom) {
        psup_rot_list_free(&l);
        return;
    }
    int tv = r->temp_variant;
    /* Sorted, so equal numbers are adjacent: count each number once. */
    size_t distinct = 0;
    uint64_t last = 0;
    for (size_t k = 0; k < l.n; k++) {
        if (l.v[k].variant != tv && (distinct == 0 || l.v[k].seq != last)) {
            last = l.v[k].seq;
            distinct++;
        }
    }
    size_t drop = distinct > keep ? distinct - keep : 0;
    if (drop > 0) {
        /* The drop-th oldest distinct sequence number is the last one deleted. */
        uint64_t cutoff = 0;
        size_t seen = 0;
        for (size_t k = 0; k < l.n && seen < drop; k++) {
            if (l.v[k].variant == tv || (seen > 0 && l.v[k].seq == cutoff))
                continue;
            cutoff = l.v[k].seq;
            seen++;
        }
        for (size_t k = 0; k < l.n && l.v[k].seq <= cutoff; k++) {
            if (l.v[k].variant == tv)
                continue;
            char *p = psup_join3(r->dir, "/", l.v[k].name);
            if (p == NULL)
                continue;
            int e = psup_unlink(p);
            if (e != 0 && failed != NULL)
                failed(ctx, p, e);
            free(p);
        }
    }
    psup_rot_list_free(&l);
}
