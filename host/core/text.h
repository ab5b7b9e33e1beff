/*
 * text: conversions between the encodings ETW records use and the UTF-8 /
 * JSON-friendly text the host emits.
 *
 * - UTF-16LE -> UTF-8 (unpaired surrogates become U+FFFD);
 * - UTF-8 validation and repair (invalid sequences become U+FFFD);
 * - "ANSI" bytes: kept when the whole string is valid UTF-8, otherwise read
 *   as Windows-1252, byte by byte;
 * - base64 (RFC 4648, with padding);
 * - FILETIME -> RFC 3339 UTC with 7 fractional digits, SYSTEMTIME -> FILETIME;
 * - binary SID -> "S-1-5-21-...", IPv4 / IPv6 address text (RFC 5952);
 * - decimal / hexadecimal integer formatting without printf.
 *
 * Every function here is pure: no allocation except the struct buf variants,
 * no global state, thread-safe.  Writers into raw char arrays document the
 * capacity the caller must provide (the *_MAX / *_max() bounds); they never
 * write a terminating NUL unless stated.
 *
 * ETW strings are NUL-terminated: the conversions stop at the first NUL
 * code unit (UTF-16) or byte (UTF-8, ANSI) and do not emit it.
 */
#ifndef ETWHOST_TEXT_H
#define ETWHOST_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The host is little-endian on every platform it targets; fast paths rely on it. */
#if defined(_WIN32) || (defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
#define TEXT_LITTLE_ENDIAN 1
#else
#define TEXT_LITTLE_ENDIAN 0
#endif

/* ---- Unicode ----------------------------------------------------------- */

/* Encode code point cp (<= 0x10FFFF, not a surrogate) as UTF-8; returns 1..4. */
static inline size_t text_utf8_put(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * Length of the well-formed UTF-8 sequence starting at p (at most n bytes
 * available): 1..4, or 0 if the bytes there are not a well-formed sequence
 * (overlong forms, surrogates, code points above U+10FFFF and truncated
 * sequences are rejected, per Unicode table 3-7).  *cp receives the code
 * point when the result is non-zero.  n must be >= 1.
 */
size_t text_utf8_decode(const uint8_t *p, size_t n, uint32_t *cp);

/*
 * One step of UTF-8 decoding: the length (1..4) of the well-formed sequence
 * at p (*cp set), or minus the length of the maximal ill-formed subpart
 * there, which a repairing reader replaces by one U+FFFD (the Unicode
 * "best practice" for substitution).  n must be >= 1.
 */
int text_utf8_step(const uint8_t *p, size_t n, uint32_t *cp);

/* Windows-1252 code point of byte b (0x80..0xFF; the five unassigned bytes map to U+0081...). */
extern const uint16_t text_cp1252_high[128];

/*
 * Bytes of the string part of a UTF-16LE buffer of nbytes bytes: up to the
 * first NUL code unit (an odd trailing byte counts as one more unit).
 */
size_t text_utf16_strlen_bytes(const uint8_t *p, size_t nbytes);
/* Bytes before the first NUL in p[0..n). */
size_t text_strnlen(const uint8_t *p, size_t n);

/* Worst-case UTF-8 size of the conversions below. */
static inline size_t text_utf16_to_utf8_max(size_t nbytes) { return (nbytes + 1) / 2 * 3; }
static inline size_t text_ansi_to_utf8_max(size_t n) { return n * 3; }

/*
 * UTF-16LE (nbytes bytes, stops at a NUL unit) -> UTF-8 in dst, which must
 * hold text_utf16_to_utf8_max(nbytes) bytes.  Unpaired surrogates and an odd
 * trailing byte become U+FFFD.  Returns the bytes written; the output is
 * always valid UTF-8.
 */
size_t text_utf16_to_utf8(char *dst, const uint8_t *src, size_t nbytes);

/*
 * 1 if p[0..n) is entirely valid UTF-8 (NUL bytes are valid here; callers
 * that want ETW string semantics cut at text_strnlen first).
 */
int text_utf8_valid(const uint8_t *p, size_t n);

/*
 * UTF-8 with repair: copies p[0..n) up to the first NUL, replacing every
 * maximal ill-formed subsequence by U+FFFD.  dst holds 3*n bytes.  Returns
 * the bytes written (always valid UTF-8).
 */
size_t text_utf8_repair(char *dst, const uint8_t *src, size_t n);

/*
 * ANSI bytes (up to the first NUL) -> UTF-8: if they are valid UTF-8 they
 * are copied as they are, otherwise every byte is read as Windows-1252.
 * The decision is made for the whole string, because a legacy code page
 * string that happens to contain a valid UTF-8 sequence is still a code
 * page string.  dst holds text_ansi_to_utf8_max(n).  Returns bytes written.
 */
size_t text_ansi_to_utf8(char *dst, const uint8_t *src, size_t n);

/* struct buf variants of the three conversions: append; 0, ERR_NOMEM or ERR_RANGE. */
int text_utf16_to_buf(struct buf *out, const uint8_t *src, size_t nbytes);
int text_ansi_to_buf(struct buf *out, const uint8_t *src, size_t n);
int text_utf8_repair_to_buf(struct buf *out, const uint8_t *src, size_t n);

/* ---- base64 (RFC 4648 section 4, padded) ------------------------------- */

static inline size_t text_base64_len(size_t n) { return (n + 2) / 3 * 4; }
/* Encode n bytes into dst (text_base64_len(n) bytes, no NUL).  Returns that length. */
size_t text_base64_encode(char *dst, const uint8_t *src, size_t n);
/*
 * Decode base64 text (padding optional, no whitespace) into dst, which must
 * hold len / 4 * 3 + 3 bytes.  Returns the decoded length or ERR_FORMAT.
 */
long long text_base64_decode(uint8_t *dst, const char *src, size_t len);

/* ---- Integers ---------------------------------------------------------- */

/* "00".."99", two characters per value. */
extern const char text_digits2[200];
/* "00".."ff", two lowercase hex characters per byte value. */
extern const char text_hex2[512];

/* Decimal digits of v into dst (at most 20 bytes); returns the count. */
size_t text_u64_dec(char *dst, uint64_t v);
/* Signed decimal (at most 20 bytes, INT64_MIN included); returns the count. */
size_t text_i64_dec(char *dst, int64_t v);
/* "0x" + lowercase hex without leading zeros ("0x0" for 0); at most 18 bytes. */
size_t text_u64_hex(char *dst, uint64_t v);
/* Lowercase hex of n bytes (2n bytes into dst). */
void text_hex_bytes(char *dst, const uint8_t *src, size_t n);

/* ---- Time -------------------------------------------------------------- */

#define TEXT_RFC3339_LEN 28 /* "YYYY-MM-DDTHH:MM:SS.fffffffZ" */
/* FILETIME of 10000-01-01T00:00:00Z: the first value RFC 3339 cannot express. */
#define TEXT_FILETIME_MAX 2650467744000000000LL

/*
 * Format FILETIME ft as RFC 3339 UTC with exactly 7 fractional digits into
 * dst (TEXT_RFC3339_LEN bytes, no NUL).  Returns TEXT_RFC3339_LEN, or
 * ERR_RANGE (nothing written) if ft is negative or at/after year 10000.
 */
int text_filetime_rfc3339(char *dst, int64_t ft);

/*
 * Convert a SYSTEMTIME (8 little-endian u16: year, month, day-of-week, day,
 * hour, minute, second, milliseconds) to FILETIME.  An all-zero SYSTEMTIME
 * (the conventional "not set") converts to 0.  Returns 0 or ERR_RANGE for
 * fields out of range (year 1601..30827, month 1..12, valid day of month,
 * hour < 24, minute < 60, second < 60, ms < 1000; day-of-week is ignored).
 */
int text_systemtime_to_filetime(const uint8_t raw[16], int64_t *ft);

/* FILETIME of a civil UTC date-time; no range checks beyond the caller's. */
int64_t text_civil_to_filetime(int year, int month, int day, int hour, int minute, int second,
                               int ms);

/* ---- Security identifiers and addresses -------------------------------- */

#define TEXT_SID_MAX 192 /* longest text of a SID with 15 sub-authorities */
/*
 * Binary SID (revision, count, 6-byte big-endian authority, count
 * little-endian u32 sub-authorities) -> "S-1-5-21-..." in dst (TEXT_SID_MAX
 * bytes, no NUL).  Authorities >= 2^32 are written in hex as Windows does.
 * Returns the length, or ERR_FORMAT if size is too short for the SID or its
 * sub-authority count exceeds 15.  Bytes after the SID are ignored.
 */
int text_sid_format(char *dst, const uint8_t *sid, size_t size);
/* Size in bytes of the SID at sid (8 + 4*count), or 0 if size is too short / count > 15. */
size_t text_sid_size(const uint8_t *sid, size_t size);

#define TEXT_IPV4_MAX 15
#define TEXT_IPV6_MAX 45
/* Dotted quad of 4 bytes in network order; returns the length. */
size_t text_ipv4_format(char *dst, const uint8_t addr[4]);
/*
 * RFC 5952 text of 16 bytes in network order: lowercase, leading zeros
 * dropped, the longest run (>= 2) of zero groups as "::" (first on ties),
 * IPv4-mapped addresses as "::ffff:a.b.c.d".  Returns the length.
 */
size_t text_ipv6_format(char *dst, const uint8_t addr[16]);

#endif
