/*
 * The redactor (see redact.h): a short list of PCRE2 substitutions, run
 * in order over the text.  The list is compiled once per process
 * (pthread_once: the alert thread and the main thread both redact) and
 * matched in byte mode, so any bytes are fine.  A substitution that fails
 * (a match limit hit: the rules are linear, so only on a bug) yields
 * REDACT_MARK alone: saying nothing is safer than saying the secret.
 *
 * Costs do not matter much: the store redacts one sample per revision and
 * pattern per commit, not one per entry.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "redact.h"
#include "xmalloc.h"

#define REDACT_MATCH_LIMIT	1000000

struct redact_rule {
	const char	*re;
	const char	*with;
};

/*
 * A key may carry a prefix (DB_PASSWORD=, "smtp_password":), so the key
 * rules take any name that ends in a known one.  Order matters: a header or a key=value rule replaces the whole value
 * (whatever its shape) before the shape rules look for what is left.
 */
static const struct redact_rule redact_rules[] = {
	/* PEM private keys, to their end or the end of the text */
	{ "-----BEGIN[A-Z ]*PRIVATE KEY-----(?s:.*?)"
	  "(?:-----END[A-Z ]*PRIVATE KEY-----|$)",
	  "[REDACTED PRIVATE KEY]" },
	/* Authorization headers: "Authorization: Basic x", authorization=x */
	{ "(?i)\\b((?:proxy-)?authorization[\"']?\\s*[:=]\\s*[\"']?)"
	  "(?:(?:bearer|basic|digest|token|negotiate)\\s+)?[^\\s\"',;]+",
	  "${1}" REDACT_MARK },
	/* bearer tokens anywhere else */
	{ "(?i)\\b(bearer\\s+)[A-Za-z0-9._~+/=-]+", "${1}" REDACT_MARK },
	/* JSON and YAML: "password": "x", 'api_key': 'x' */
	{ "(?i)([\"'][a-z0-9_.-]*?(?:password|passwd|pwd|secret|"
	  "client[_-]?secret|api[_-]?key|apikey|access[_-]?token|"
	  "refresh[_-]?token|id[_-]?token|auth[_-]?token|token|private[_-]?key)[\"']\\s*:\\s*"
	  "[\"'])[^\"']*", "${1}" REDACT_MARK },
	/* query strings and key=value pairs: password=x&..., token=x */
	{ "(?i)\\b([a-z0-9_.-]*?(?:password|passwd|pwd|secret|"
	  "client[_-]?secret|api[_-]?key|apikey|access[_-]?token|"
	  "refresh[_-]?token|id[_-]?token|auth[_-]?token|token|sig|signature|"
	  "x-goog-signature|private[_-]?key)=)[^&\\s\"',;]+",
	  "${1}" REDACT_MARK },
	/* password: x */
	{ "(?i)\\b([a-z0-9_.-]*?(?:password|passwd|client[_-]?secret|"
	  "api[_-]?key)\\s*:\\s*)[^\\s\"',;]+", "${1}" REDACT_MARK },
	/* a password in a URL: scheme://user:password@host */
	{ "(?i)\\b([a-z][a-z0-9+.-]{0,15}://[^/\\s:@\"'<>]*:)"
	  "[^/\\s@\"'<>]+@", "${1}" REDACT_MARK "@" },
	/* JWTs: header.payload.signature, base64url */
	{ "\\beyJ[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]*",
	  REDACT_MARK },
	/* webhook URLs are secrets themselves */
	{ "(?i)(hooks\\.slack\\.com/)[A-Za-z0-9/_-]+", "${1}" REDACT_MARK },
	{ "(?i)(discord(?:app)?\\.com/api/webhooks/)[A-Za-z0-9/_-]+",
	  "${1}" REDACT_MARK },
	/*
	 * keys by their vendor's shape: Google API keys and OAuth tokens,
	 * Slack, GitHub, AWS access key ids, Stripe, private key ids
	 */
	{ "\\b(?:AIza[0-9A-Za-z_-]{35}|ya29\\.[0-9A-Za-z_.-]{20,}|"
	  "xox[abposr]-[0-9A-Za-z-]{10,}|gh[pousr]_[A-Za-z0-9]{36,}|"
	  "github_pat_[A-Za-z0-9_]{22,}|(?:AKIA|ASIA)[0-9A-Z]{16}|"
	  "[rs]k_live_[0-9A-Za-z]{16,})", REDACT_MARK },
};

#define REDACT_NRULES	(sizeof(redact_rules) / sizeof(redact_rules[0]))

static pcre2_code		*redact_code[REDACT_NRULES];
static pcre2_match_context	*redact_mctx;
static pthread_once_t		 redact_once = PTHREAD_ONCE_INIT;

static void
redact_compile(void)
{
	PCRE2_UCHAR	 msg[256];
	PCRE2_SIZE	 off;
	size_t		 i;
	int		 err;

	redact_mctx = pcre2_match_context_create(NULL);
	if (redact_mctx == NULL) {
		log_warnx("out of memory");
		abort();
	}
	pcre2_set_match_limit(redact_mctx, REDACT_MATCH_LIMIT);
	for (i = 0; i < REDACT_NRULES; i++) {
		redact_code[i] = pcre2_compile(
		    (PCRE2_SPTR)redact_rules[i].re, PCRE2_ZERO_TERMINATED, 0,
		    &err, &off, NULL);
		if (redact_code[i] == NULL) {
			pcre2_get_error_message(err, msg, sizeof(msg));
			log_warnx("redact: rule %zu: %s at %zu", i, msg,
			    (size_t)off);
			abort();	/* a bug: the rules are fixed */
		}
		(void)pcre2_jit_compile(redact_code[i], PCRE2_JIT_COMPLETE);
	}
}

/*
 * Apply rule i to s[0..len); returns the result (caller frees, *outlen
 * its length), or NULL when the substitution failed.
 */
static char *
redact_rule_apply(size_t i, const char *s, size_t len, size_t *outlen)
{
	PCRE2_SIZE	 size = len + len / 2 + 64, need;
	char		*out;
	int		 rc;

	for (;;) {
		out = xmalloc(size);
		need = size;
		rc = pcre2_substitute(redact_code[i], (PCRE2_SPTR)s, len, 0,
		    PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH,
		    NULL, redact_mctx, (PCRE2_SPTR)redact_rules[i].with,
		    PCRE2_ZERO_TERMINATED, (PCRE2_UCHAR *)out, &need);
		if (rc == PCRE2_ERROR_NOMEMORY && need > size) {
			free(out);
			size = need;
			continue;
		}
		if (rc < 0) {
			free(out);
			return (NULL);
		}
		*outlen = need;
		return (out);
	}
}

char *
redact(const char *s, size_t len)
{
	char	*cur, *next;
	size_t	 i, n;

	pthread_once(&redact_once, redact_compile);
	cur = xmalloc(len + 1);
	memcpy(cur, s, len);
	cur[len] = '\0';
	n = len;
	for (i = 0; i < REDACT_NRULES; i++) {
		if ((next = redact_rule_apply(i, cur, n, &n)) == NULL) {
			free(cur);
			return (xstrdup(REDACT_MARK));
		}
		free(cur);
		cur = next;
	}
	return (cur);
}

char *
redact_with(const char *s, const char *secret)
{
	char		*r, *d, *p, *hit;
	size_t		 slen, mlen = sizeof(REDACT_MARK) - 1, hits = 0, n = 0;

	r = redact(s, strlen(s));
	if (secret == NULL || (slen = strlen(secret)) == 0)
		return (r);
	for (p = r; (hit = strstr(p, secret)) != NULL; p = hit + slen)
		hits++;
	if (hits == 0)
		return (r);
	d = xmalloc(strlen(r) + hits * mlen + 1);
	for (p = r; (hit = strstr(p, secret)) != NULL; p = hit + slen) {
		memcpy(d + n, p, (size_t)(hit - p));
		n += (size_t)(hit - p);
		memcpy(d + n, REDACT_MARK, mlen);
		n += mlen;
	}
	memcpy(d + n, p, strlen(p) + 1);
	free(r);
	return (d);
}
