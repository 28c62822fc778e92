/*
 * The one redactor: every sample that leaves logaudit (a webhook alert)
 * or is kept (a sample in the database, a template's text) and every
 * error message that may quote a request passes through it.  It knows the
 * shapes secrets take in logs: bearer tokens and Authorization headers,
 * JWTs, API keys of the common vendors, passwords in URLs, and
 * password=/token=/secret= values in query strings, key=value pairs and
 * JSON.  It is a net, not a proof: a secret in no known shape passes.
 */
#ifndef REDACT_H
#define REDACT_H

#include <stddef.h>

#define REDACT_MARK	"[REDACTED]"

/*
 * A copy of s[0..len) (NUL-terminated; caller frees) with every secret
 * the redactor knows replaced by REDACT_MARK.  s need not be valid UTF-8
 * nor NUL-terminated.  Thread-safe.
 */
char	*redact(const char *s, size_t len);

/*
 * redact() of the NUL-terminated s, and every occurrence of secret (a
 * token or a webhook URL we hold; NULL or "" for none) replaced too.
 */
char	*redact_with(const char *s, const char *secret);

#endif
