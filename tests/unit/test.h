/*
 * The test framework: each TEST(name) in tests/unit/ files is registered
 * automatically (the Makefile greps for TEST( lines) and run by
 * tests/runner.c in its own process with a timeout.
 *
 * Inside a test: ASSERT* print file:line and both values then exit(1);
 * SKIP() prints the reason and exits with 77.
 */
#ifndef ETWHOST_TEST_H
#define ETWHOST_TEST_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"

#define TEST(name) void test_##name(void); void test_##name(void)

#define TEST_EXIT_SKIP 77

#if defined(__GNUC__) || defined(__clang__)
#define T_NORETURN __attribute__((noreturn))
#define T_PRINTF(a, b) ETWHOST_PRINTF(a, b)
#else
#define T_NORETURN
#define T_PRINTF(a, b)
#endif

T_NORETURN T_PRINTF(3, 4) void t_fail(const char *file, int line, const char *fmt, ...);
T_NORETURN T_PRINTF(1, 2) void t_skip(const char *fmt, ...);

#define ASSERT(c) \
    do { if (!(c)) t_fail(__FILE__, __LINE__, "assertion failed: %s", #c); } while (0)
#define ASSERT_MSG(c, ...) \
    do { if (!(c)) t_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)
#define ASSERT_EQ(a, b)                                                                   \
    do {                                                                                  \
        long long a_ = (long long)(a), b_ = (long long)(b);                               \
        if (a_ != b_)                                                                     \
            t_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_);         \
    } while (0)
#define ASSERT_EQ_U64(a, b)                                                               \
    do {                                                                                  \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                  \
        if (a_ != b_)                                                                     \
            t_fail(__FILE__, __LINE__, "%s == %s: %" PRIu64 " != %" PRIu64, #a, #b, a_, b_); \
    } while (0)
#define ASSERT_OK(x)                                                                      \
    do {                                                                                  \
        long long r_ = (long long)(x);                                                    \
        if (r_ != 0) t_fail(__FILE__, __LINE__, "%s returned %lld", #x, r_);              \
    } while (0)
#define ASSERT_STREQ(a, b)                                                                \
    do {                                                                                  \
        const char *a_ = (a), *b_ = (b);                                                  \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                              \
            t_fail(__FILE__, __LINE__, "%s == %s:\n  got:      \"%s\"\n  expected: \"%s\"", \
                   #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                      \
    } while (0)
#define ASSERT_CONTAINS(hay, needle)                                                      \
    do {                                                                                  \
        const char *h_ = (hay), *n_ = (needle);                                           \
        if (h_ == NULL || strstr(h_, n_) == NULL)                                         \
            t_fail(__FILE__, __LINE__, "%s does not contain \"%s\":\n%s", #hay, n_,        \
                   h_ ? h_ : "(null)");                                                   \
    } while (0)
#define ASSERT_NOT_CONTAINS(hay, needle)                                                  \
    do {                                                                                  \
        const char *h_ = (hay), *n_ = (needle);                                           \
        if (h_ != NULL && strstr(h_, n_) != NULL)                                         \
            t_fail(__FILE__, __LINE__, "%s contains \"%s\":\n%s", #hay, n_, h_);           \
    } while (0)
#define SKIP(...) t_skip(__VA_ARGS__)

/* ---- Helpers (tests/runner.c) ---- */

/* Repository root, build dir (with etwhost, plugins/), a fresh empty per-test dir. */
const char *t_root(void);
const char *t_build(void);
const char *t_tmpdir(void);
/* ../shared/corpus relative to the root, or NULL if absent. */
const char *t_corpus(void);
/* The corpus dir or SKIP with a clear message. */
const char *t_corpus_or_skip(void);
/* 1 when the tests run under Wine. */
int t_under_wine(void);
/* File name suffix of programs: ".exe" on Windows, "" elsewhere. */
const char *t_exe_suffix(void);

/* Formatted path into a static ring of buffers (valid for a few calls). */
T_PRINTF(1, 2) const char *t_path(const char *fmt, ...);

/* Write / read whole files (read returns mem_alloc'd NUL-terminated text, NULL if absent). */
void t_write_file(const char *path, const char *text);
void t_write_bytes(const char *path, const void *data, size_t len);
char *t_read_file(const char *path, size_t *len);
void t_mkdir(const char *path);

/* Result of running a program. */
struct t_run {
    int status; /* exit code, 128+signal, -1 on timeout */
    char *out;  /* stdout, NUL-terminated */
    char *err;  /* stderr */
    size_t out_len, err_len;
};
/*
 * Run build/etwhost with the given arguments (NULL-terminated), optional
 * stdin text and environment ("K=V" list, NULL-terminated, may be NULL).
 * Times out after 120 s.
 */
struct t_run t_etwhost(const char *const *args, const char *in, const char *const *env);
/* Run any program (argv[0] searched in PATH). */
struct t_run t_exec(const char *const *argv, const char *in, const char *const *env);
/*
 * Write the trace out with the project's own writer (build/tools/etlgen):
 * opts are its options before "-o out" (NULL-terminated, at most 24).  The
 * test fails with etlgen's message if it fails.
 */
void t_etlgen(const char *out, const char *const *opts);
void t_run_free(struct t_run *r);
/* Count lines in text. */
size_t t_count_lines(const char *text);
/* Count non-overlapping occurrences of needle. */
size_t t_count(const char *text, const char *needle);

#endif
