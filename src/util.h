/*
 * Small pure helpers shared by every stage: time and duration parsing, a
 * 64-bit hash, severity names, UTF-8 repair.  No I/O, no allocation except
 * where a function says it returns a new string.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>

#define NS_PER_SEC	1000000000LL
#define TIME_NONE	INT64_MIN	/* "no timestamp" */

/*
 * Parse an RFC 3339 time ("2025-08-28T00:23:51.592013Z", 0-9 fractional
 * digits, "Z" or "+hh:mm") of len bytes into nanoseconds since the epoch.
 * Returns 0, or -1 when s is not such a time.
 */
int		 time_parse_rfc3339(const char *s, size_t len, int64_t *ns);

/*
 * Recognise a timestamp at the start of a plain text line: RFC 3339, or
 * "YYYY-MM-DD HH:MM:SS[.frac]" optionally inside '[' ']' (taken as UTC).
 * Returns 0 and sets *ns, or -1.
 */
int		 time_parse_leading(const char *s, size_t len, int64_t *ns);

/* Format ns as RFC 3339 UTC with microseconds into buf (>= 32 bytes). */
char		*time_format(int64_t ns, char *buf, size_t size);

/* The wall clock in nanoseconds since the epoch. */
int64_t		 time_now_ns(void);

/*
 * Parse a duration "90s", "5m", "2h", "7d", "250ms" (a bare number is
 * seconds) into nanoseconds.  Returns 0, or -1 when malformed.
 */
int		 duration_parse(const char *s, int64_t *ns);

/* Parse a count of 1 or more, all digits.  Returns 0, or -1. */
int		 count_parse(const char *s, uint64_t *n);

/*
 * Parse a time option: RFC 3339, or a duration meaning that long before
 * now_ns.  Returns 0, or -1.
 */
int		 time_parse_option(const char *s, int64_t now_ns, int64_t *ns);

/* A fast non-cryptographic 64-bit hash; seed chains several fields. */
uint64_t	 hash64(const void *p, size_t len, uint64_t seed);

/*
 * Severity: Cloud Logging's ladder DEFAULT(0) .. EMERGENCY(800).  Numbers
 * are kept as the API's values; severity_index() maps them to 0..8 for
 * arrays, rounding down to the nearest named level.
 */
#define SEVERITY_COUNT	9
int		 severity_index(int sev);
int		 severity_from_index(int idx);
const char	*severity_name(int sev);
/* Parse a name (any case) or a number; -1 if neither. */
int		 severity_parse(const char *s, size_t len);

/*
 * Copy src into dst (dst_size >= 1) as valid UTF-8 without NUL bytes:
 * each byte of an invalid sequence becomes U+FFFD, NUL becomes a space.
 * Stops before a character that would not fit.  Returns the bytes
 * written, excluding the terminating NUL that is always written.
 */
size_t		 utf8_repair(char *dst, size_t dst_size, const char *src,
		    size_t len);

/*
 * The sequence number Cloud Run puts in a revision name: "api-00432-w88"
 * -> 432, "myservice-00002" -> 2.  Returns -1 when the name carries none.
 */
long long	 revision_sequence(const char *rev, size_t len);

/*
 * The wait before retry n (0-based) of something that failed: base_ms
 * ($LOGAUDIT_BACKOFF_MS instead when set: tests) doubled n times, at most
 * cap_ms, then half of it fixed and half random, so clients that failed
 * together do not retry together.
 */
int64_t		 backoff_ms(int n, int64_t base_ms, int64_t cap_ms);

#endif
