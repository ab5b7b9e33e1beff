/*
 * err: the host's error codes, one table.
 *
 * Functions return 0 on success or a negative code from ERR_MAP.  Where a
 * user must see what went wrong, the function also fills a caller-owned
 * struct errbuf with one line naming the culprit (file, offset, key...).
 */
#ifndef ETWHOST_ERR_H
#define ETWHOST_ERR_H

#include <stddef.h>
#include "compiler.h"

#define ERR_MAP(XX)                                   \
    XX(NOMEM, -1, "out of memory")                    \
    XX(IO, -2, "input/output error")                  \
    XX(CONFIG, -3, "invalid configuration")           \
    XX(FORMAT, -4, "malformed input")                 \
    XX(NOTFOUND, -5, "not found")                     \
    XX(RANGE, -6, "value out of range")               \
    XX(ABI, -7, "incompatible plugin ABI")            \
    XX(PLUGIN, -8, "plugin failure")                  \
    XX(STATE, -9, "operation not valid in this state") \
    XX(INVAL, -10, "invalid argument")                \
    XX(TRUNCATED, -11, "truncated input")             \
    XX(UNSUPPORTED, -12, "not supported")             \
    XX(PERM, -13, "permission denied")                \
    XX(EXISTS, -14, "already exists")                 \
    XX(RETRY, -15, "temporary failure, retry")        \
    XX(STOPPED, -16, "stopped")                       \
    XX(TYPE, -17, "wrong type")

enum err_code {
#define ERR_ENUM(name, code, text) ERR_##name = code,
    ERR_MAP(ERR_ENUM)
#undef ERR_ENUM
};

/* Short name ("NOMEM") and message of a code; static strings. */
const char *err_name(int code);
const char *err_str(int code);

/* One line of error text, owned by the caller (usually on the stack). */
struct errbuf {
    char msg[1024];
};

/* printf into eb (NULL is fine); returns code so callers can `return errbuf_set(...)`. */
#if defined(__GNUC__) || defined(__clang__)
ETWHOST_PRINTF(3, 4)
#endif
int errbuf_set(struct errbuf *eb, int code, const char *fmt, ...);

/* Prefix existing text in eb with a formatted context ("file.json: "). */
#if defined(__GNUC__) || defined(__clang__)
ETWHOST_PRINTF(2, 3)
#endif
void errbuf_prefix(struct errbuf *eb, const char *fmt, ...);

#endif
