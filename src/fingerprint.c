/*
 * Stage 3b: templates for errors no catalogue pattern knows (see
 * fingerprint.h for the contract).
 *
 * Three parts.  The masker is one pass over the message's bytes: tokens
 * are split at whitespace, and inside a token each "word" (a run of
 * letters, digits, '_', '-', '.', and bytes >= 0x80) holding a digit
 * becomes <*>, a dot-separated part at a time and sparing names like
 * "psycopg2"; so do emails, IPv6 addresses, quoted phrases and URL query
 * strings.  The punctuation between words stays, so a path keeps its
 * shape and "size=67108864" becomes "size=<*>".  Variables joined by ':'
 * '.' ',' '-' '+' fold into one ("10.1.2.3:5432", "07:07:00" -> <*>), and
 * so do variable tokens in a row with the month and weekday names among
 * them ("Fri Jun 17 07:07:00 2005" -> <*>).  A token with neither a digit
 * nor one of ' " ? @ : is copied as it is, which is most of them.
 *
 * The grouper is Drain's, minus its habit of renaming: templates sit in
 * buckets keyed by token count and the first two constant tokens with their
 * positions, so a template never widens at a key position and the bucket
 * of its current text is the bucket of its birth text, before and after a
 * restart.  Ties between equally similar templates go to the smaller id,
 * so the order templates were loaded in does not matter.  A token holding
 * a variable ("(uid=<*>)") is structure: a message whose token there is
 * not of its kind is another kind of message.
 *
 * The traceback reader keys a Python traceback by exception type and the
 * innermost application frames, skipping library frames.
 *
 * Surprising: the id is hash64() of the birth text, so ids are stable only
 * as long as hash64() and the masking rules are: changing either starts
 * every template afresh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fingerprint.h"
#include "util.h"
#include "xmalloc.h"

#define NONE		UINT32_MAX
#define QUOTE_MAX	256	/* bytes searched for a closing quote */
#define QUOTE_WORD_MAX	48	/* a longer quoted word is a value */
#define HIST		4	/* token starts kept for look-back */
#define TB_TYPE_MAX	128	/* bytes of an exception's type name */

/* ---- masking ---------------------------------------------------------- */

#define C_SPACE		0x01
#define C_DIGIT		0x02
#define C_ALPHA		0x04
#define C_WORD		0x08	/* alnum '_' '-' '.', bytes >= 0x80 */
#define C_XDIGIT	0x10
#define C_JOIN		0x20	/* joins variables: : . , - + */
#define C_SPECIAL	0x40	/* a digit or one of ' " ? @ : -- a token
				   without one is copied as it is */

static const unsigned char cclass[256] = {
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  1,  1,  1,  1,  1,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 1,  0, 64,  0,  0,  0,  0, 64,  0,  0,  0, 32, 32, 40, 40,  0,
	90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 96,  0,  0,  0,  0, 64,
	64, 28, 28, 28, 28, 28, 28, 12, 12, 12, 12, 12, 12, 12, 12, 12,
	12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,  0,  0,  0,  0,  8,
	 0, 28, 28, 28, 28, 28, 28, 12, 12, 12, 12, 12, 12, 12, 12, 12,
	12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,  0,  0,  0,  0,  0,
	 8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,
	 8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,
	 8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,
	 8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,
	 8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,
	 8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,
	 8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,
	 8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,
};

#define CC(c)		(cclass[(unsigned char)(c)])
#define is_space(c)	(CC(c) & C_SPACE)
#define is_digit(c)	(CC(c) & C_DIGIT)
#define is_alpha(c)	(CC(c) & C_ALPHA)
#define is_alnum(c)	(CC(c) & (C_DIGIT | C_ALPHA))
#define is_xdigit(c)	(CC(c) & C_XDIGIT)
#define is_word(c)	(CC(c) & C_WORD)

struct mout {
	char	*p;
	size_t	 size;		/* bytes of p, NUL included */
	size_t	 len;		/* bytes written */
	size_t	 ntok;
	size_t	 tok[HIST];	/* token starts: [0] this one, [1] the
				   one before...; SIZE_MAX unknown */
	int	 full;
	int	 in_path;	/* a '/' seen in the current token */
	size_t	 clear[2];	/* no closing ' / " before these */
};

/* c is one of set (never NUL, which strchr() would find). */
static inline int
in_set(char c, const char *set)
{
	return (c != '\0' && strchr(set, c) != NULL);
}

static inline void
put(struct mout *m, const char *s, size_t n)
{
	if (m->len + n >= m->size) {
		m->full = 1;
		return;
	}
	memcpy(m->p + m->len, s, n);
	m->len += n;
}

static inline void
put_c(struct mout *m, char c)
{
	if (m->len + 1 >= m->size) {
		m->full = 1;
		return;
	}
	m->p[m->len++] = c;
}

static inline int
ends_var(const struct mout *m, size_t at, size_t from)
{
	return (at >= from + 3 && m->p[at - 1] == '>' && m->p[at - 2] == '*' &&
	    m->p[at - 3] == '<');
}

/* Emit <*>, folding it into a variable just before it in this token. */
static void
put_var(struct mout *m)
{
	size_t	k = m->len, start = m->tok[0];

	while (k > start && m->len - k < 2 && (CC(m->p[k - 1]) & C_JOIN))
		k--;
	if (ends_var(m, k, start)) {
		m->len = k;
		return;
	}
	put(m, "<*>", 3);
}

/*
 * The word at j: its end, and the classes of its bytes or'ed in *acc.  A
 * dot before a dot is an ellipsis, punctuation.
 */
static inline size_t
word_end(const char *s, size_t n, size_t j, unsigned *acc)
{
	unsigned	a = 0, c;

	for (; j < n; j++) {
		c = CC(s[j]);
		if (!(c & C_WORD) || (s[j] == '.' && j + 1 < n &&
		    s[j + 1] == '.'))
			break;
		a |= c;
	}
	*acc = a;
	return (j);
}

static int
has_digit(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (is_digit(s[i]))
			return (1);
	return (0);
}

/*
 * A name with a number in it, not a variable: two or more letters, then
 * one to three digits ("psycopg2", "boto3", "http2", "ssh2", "sha256").
 */
static int
is_name(const char *w, size_t n)
{
	size_t	i = 0, d;

	while (i < n && is_alpha(w[i]))
		i++;
	if (i < 2)
		return (0);
	for (d = 0; i < n && is_digit(w[i]); i++)
		d++;
	return (i == n && d >= 1 && d <= 3);
}

/*
 * A word holding a digit: each dot-separated part holding one becomes
 * <*>, unless it is a name (see is_name()): "10.1.2.3" -> <*>,
 * "core.4900" -> "core.<*>", "psycopg2.errors.UniqueViolation" stays.
 */
static void
mask_word(struct mout *m, const char *w, size_t n)
{
	size_t	i = 0, e;

	while (i < n) {
		for (e = i; e < n && w[e] != '.'; e++)
			;
		if (has_digit(w + i, e - i) && !is_name(w + i, e - i))
			put_var(m);
		else
			put(m, w + i, e - i);
		if (e < n)
			put_c(m, '.');
		i = e + 1;
	}
}

/*
 * An IPv6 address (or a MAC address, or a time: all variable) at j: hex
 * groups of at most 4 joined by ':', at least two colons, a hex digit, a
 * digit or "::", and no word character after it.  Returns its end, or 0.
 */
static size_t
try_ipv6(const char *s, size_t n, size_t j)
{
	size_t	k, colons = 0, grp = 0, hex = 0;
	int	digit = 0, dbl = 0;

	for (k = j; k < n; k++) {
		if (is_xdigit(s[k])) {
			if (++grp > 4)
				return (0);
			hex++;
			digit |= is_digit(s[k]) != 0;
		} else if (s[k] == ':') {
			if (k > j && s[k - 1] == ':') {
				if (dbl)
					return (0);
				dbl = 1;
			}
			colons++;
			grp = 0;
		} else
			break;
	}
	if (colons < 2 || hex == 0 || !(digit || dbl))
		return (0);
	if (k < n && is_word(s[k]))
		return (0);
	if (s[k - 1] == ':' && s[k - 2] != ':')
		k--;		/* "12:30:" -- the colon ends a label */
	return (k);
}

/*
 * An email whose local part ends at k (s[k] == '@'): the domain is a word
 * with a dot.  Returns its end, or 0.
 */
static size_t
try_email(const char *s, size_t n, size_t k)
{
	unsigned	acc;
	size_t		e;

	e = word_end(s, n, k + 1, &acc);
	if (e == k + 1 || memchr(s + k + 1, '.', e - k - 1) == NULL)
		return (0);
	return (e);
}

static int
is_http_method(const char *s, size_t n)
{
	static const char *const m[] = { "GET ", "POST ", "PUT ", "DELETE ",
	    "PATCH ", "HEAD ", "OPTIONS ", "CONNECT ", "TRACE " };
	size_t	i, l;

	if (n < 4 || !(s[0] >= 'A' && s[0] <= 'Z'))
		return (0);
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		l = strlen(m[i]);
		if (n > l && memcmp(s, m[i], l) == 0)
			return (1);
	}
	return (0);
}

/*
 * The closing quote for the one at j: the next q followed by whitespace,
 * the end, or closing punctuation, within QUOTE_MAX bytes.  Returns its
 * offset, or 0.  Whether a quote closes does not depend on where the
 * opening one was, so the stretch a search found none in is remembered
 * and never searched again: a message full of stray quotes costs linear
 * time.
 */
static size_t
find_close(struct mout *m, const char *s, size_t n, size_t j)
{
	const char	*p;
	char		 q = s[j];
	size_t		 k = j + 1, lim = j + 1 + QUOTE_MAX;
	size_t		*clear = &m->clear[q == '"'];

	if (lim > n)
		lim = n;
	if (k < *clear)
		k = *clear;
	while (k < lim && (p = memchr(s + k, q, lim - k)) != NULL) {
		k = p - s;
		if (k + 1 == n || is_space(s[k + 1]) ||
		    in_set(s[k + 1], ",;:)]}>.!?")) {
			*clear = k;
			return (k);
		}
		k++;
	}
	if (*clear < lim)
		*clear = lim;
	return (0);
}

/*
 * A quote at j opens a quoted value: at a token's start or after "=:([{,<".
 * A phrase (whitespace inside) or a long word becomes '<*>'; an HTTP
 * request line ("GET /path HTTP/1.1") stays, as it says what failed; a
 * short word stays (KeyError: 'email', relation "users").  Returns where
 * to go on, or j when the quote is an ordinary character.
 */
static size_t
mask_quote(struct mout *m, const char *s, size_t n, size_t j, size_t start)
{
	size_t	c, i;
	int	phrase = 0;

	if (j > start && !in_set(s[j - 1], "=:([{,<"))
		return (j);
	if ((c = find_close(m, s, n, j)) == 0)
		return (j);
	for (i = j + 1; i < c; i++)
		if (is_space(s[i])) {
			phrase = 1;
			break;
		}
	if (phrase ? is_http_method(s + j + 1, c - j - 1) :
	    c - j - 1 <= QUOTE_WORD_MAX)
		return (j);
	put_c(m, s[j]);
	put(m, "<*>", 3);
	put_c(m, s[c]);
	return (c + 1);
}

/* A query string: "?<*>", keeping the punctuation that closes the token. */
static size_t
mask_query(struct mout *m, const char *s, size_t n, size_t j)
{
	size_t	e = j, t;

	while (e < n && !is_space(s[e]))
		e++;
	t = e;
	while (t > j + 1 && in_set(s[t - 1], "\"')]}>,;"))
		t--;
	if (t == j + 1)
		return (j);
	put(m, "?<*>", 4);
	put(m, s + t, e - t);
	return (e);
}

/* A word at j, ending at k; returns where to go on. */
static size_t
mask_word_at(struct mout *m, const char *s, size_t n, size_t j, size_t k,
    unsigned acc)
{
	size_t	e;

	if (k < n && s[k] == ':') {
		/* an IPv6 address starts with a short hex word and a colon */
		if (k - j <= 4 && (e = try_ipv6(s, n, j)) != 0) {
			put_var(m);
			return (e);
		}
		if (k + 2 < n && s[k + 1] == '/' && s[k + 2] == '/') {
			put(m, s + j, k + 3 - j);	/* scheme:// */
			m->in_path = 1;
			return (k + 3);
		}
	} else if (k < n && s[k] == '@' && (e = try_email(s, n, k)) != 0) {
		put_var(m);
		return (e);
	}
	if ((acc & (C_DIGIT | C_ALPHA)) == C_DIGIT)
		put_var(m);		/* a number, an IPv4 address */
	else if (acc & C_DIGIT)
		mask_word(m, s + j, k - j);
	else
		put(m, s + j, k - j);
	return (k);
}

/*
 * Mask the token starting at i, one holding a digit or a special
 * character; returns the offset just past it.
 */
static __attribute__((noinline)) size_t
mask_token(struct mout *m, const char *s, size_t n, size_t i)
{
	size_t		j = i, k, e;
	unsigned	acc;

	m->in_path = 0;
	while (j < n && !is_space(s[j])) {
		k = word_end(s, n, j, &acc);
		if (k > j) {
			j = mask_word_at(m, s, n, j, k, acc);
			continue;
		}
		switch (s[j]) {
		case '\'':
		case '"':
			if ((k = mask_quote(m, s, n, j, i)) != j) {
				j = k;
				continue;
			}
			break;
		case '?':
			if (m->in_path && (k = mask_query(m, s, n, j)) != j) {
				j = k;
				continue;
			}
			break;
		case ':':
			if (j + 1 < n && s[j + 1] == ':' &&
			    (e = try_ipv6(s, n, j)) != 0) {
				put_var(m);
				j = e;
				continue;
			}
			break;
		case '/':
			m->in_path = 1;
			break;
		}
		put_c(m, s[j]);
		j++;
	}
	return (j);
}

/* A month or weekday name, which a date's number after it makes variable. */
static int
is_date_word(const char *t, size_t n)
{
	static const char abbr[] = "JanFebMarAprMayJunJulAugSepOctNovDec"
	    "MonTueWedThuFriSatSun";
	static const char *const full[] = { "January", "February", "March",
	    "April", "May", "June", "July", "August", "September", "October",
	    "November", "December", "Monday", "Tuesday", "Wednesday",
	    "Thursday", "Friday", "Saturday", "Sunday" };
	size_t	i;

	if (n > 0 && t[n - 1] == ',')
		n--;
	if (n < 3 || n > 9 || !(t[0] >= 'A' && t[0] <= 'Z'))
		return (0);
	for (i = 0; i < sizeof(full) / sizeof(full[0]); i++)
		if (memcmp(t, abbr + 3 * i, 3) == 0)
			return (n == 3 || (strlen(full[i]) == n &&
			    memcmp(t, full[i], n) == 0));
	return (0);
}

static void
token_drop(struct mout *m)
{
	int	i;

	m->len = m->tok[0] - 1;		/* the space before it too */
	for (i = 0; i < HIST - 1; i++)
		m->tok[i] = m->tok[i + 1];
	m->tok[HIST - 1] = SIZE_MAX;
	m->ntok--;
}

/*
 * A token ended.  A whole <*> folds into a token before it that ends with
 * a variable, and swallows a month or weekday name before it; so does a
 * time zone "+<*>" ("[2025-08-19 20:57:37 +0000]" -> "[<*>]", "Fri Jun 17
 * 07:07:00 2005" -> one <*>), however many parts the date is written in.
 */
static void
token_end(struct mout *m)
{
	char	 tail[8];
	size_t	 clen, plen, tlen, i;
	int	 prev_var;

	while (m->tok[1] != SIZE_MAX) {
		clen = m->len - m->tok[0];
		plen = m->tok[0] - 1 - m->tok[1];
		prev_var = ends_var(m, m->tok[0] - 1, m->tok[1]);
		if (clen == 3 && ends_var(m, m->len, m->tok[0])) {
			if (prev_var) {
				token_drop(m);
				continue;
			}
			if (!is_date_word(m->p + m->tok[1], plen))
				return;
			token_drop(m);
			m->len = m->tok[0];
			put(m, "<*>", 3);
			continue;
		}
		if (clen < 4 || clen - 4 > sizeof(tail) || !prev_var ||
		    m->p[m->tok[0]] != '+' || !ends_var(m, m->tok[0] + 4,
		    m->tok[0]))
			return;
		tlen = clen - 4;
		memcpy(tail, m->p + m->tok[0] + 4, tlen);
		for (i = 0; i < tlen; i++)
			if (!in_set(tail[i], ")]}>,;"))
				return;
		token_drop(m);
		put(m, tail, tlen);
		return;
	}
}

static size_t
mask_run(const char *s, size_t n, char *out, size_t outsz, size_t max_tokens)
{
	struct mout	m;
	size_t		i = 0, j, k, avail;
	unsigned	acc, c;

	m.p = out;
	m.size = outsz;
	m.len = m.ntok = 0;
	m.full = m.in_path = 0;
	for (k = 0; k < HIST; k++)
		m.tok[k] = SIZE_MAX;
	m.clear[0] = m.clear[1] = 0;
	for (;;) {
		while (i < n && is_space(s[i]))
			i++;
		if (i == n || m.ntok == max_tokens)
			break;
		if (m.ntok > 0)
			put_c(&m, ' ');
		for (k = HIST - 1; k > 0; k--)
			m.tok[k] = m.tok[k - 1];
		m.tok[0] = m.len;
		m.ntok++;
		/* copy while looking: most tokens are plain words */
		avail = m.size - 1 - m.len;
		for (j = i, acc = 0; j < n; j++) {
			c = CC(s[j]);
			if (c & C_SPACE)
				break;
			acc |= c;
			if (j - i < avail)
				out[m.len + j - i] = s[j];
		}
		if (acc & C_SPECIAL)
			i = mask_token(&m, s, n, i);
		else if (j - i > avail)
			m.full = 1;
		else {
			m.len += j - i;
			i = j;
		}
		if (m.full) {
			/* cut at the token boundary: no half "<*" */
			m.len = m.tok[0] > 0 ? m.tok[0] - 1 : 0;
			break;
		}
		token_end(&m);
	}
	out[m.len] = '\0';
	return (m.len);
}

size_t
fp_mask(const char *msg, size_t len, char *out, size_t outsz)
{
	if (outsz == 0)
		return (0);
	return (mask_run(msg, len, out, outsz, SIZE_MAX));
}

/* ---- tracebacks ------------------------------------------------------- */

struct frame {
	const char	*path;
	size_t		 path_len;
	const char	*func;
	size_t		 func_len;
};

/*
 * Library code: a path with a directory site-packages, dist-packages or
 * pythonX.Y under lib, or a pseudo-path like "<frozen ...>".  Returns the
 * bytes before the package's own path ("flask/app.py"; all of a
 * pseudo-path), or 0 when p is application code.
 */
static size_t
library_prefix(const char *p, size_t n)
{
	const char	*s, *e = p + n, *seg;
	size_t		 l;

	if (n > 0 && p[0] == '<')
		return (n);
	for (s = p; s < e && (s = memchr(s, '/', e - s)) != NULL; s++) {
		seg = s + 1;
		l = e - seg;
		if ((l > 14 && memcmp(seg, "site-packages/", 14) == 0) ||
		    (l > 14 && memcmp(seg, "dist-packages/", 14) == 0))
			return (seg + 14 - p);
		if (l > 11 && memcmp(seg, "lib/python", 10) == 0 &&
		    is_digit(seg[10]) &&
		    (seg = memchr(seg + 10, '/', e - seg - 10)) != NULL &&
		    memchr(seg + 1, '/', e - seg - 1) != NULL) {
			/* the package under site-packages, if any, else this */
			if ((l = library_prefix(seg, e - seg)) > 0)
				return (seg - p + l);
			return (seg + 1 - p);
		}
	}
	return (0);
}

/* `File "path", line N, in func` (leading blanks gone): 1 and *f, or 0. */
static int
parse_frame(const char *s, size_t n, struct frame *f)
{
	const char	*q, *e = s + n;

	if (n < 6 || memcmp(s, "File \"", 6) != 0)
		return (0);
	if ((q = memchr(s + 6, '"', n - 6)) == NULL)
		return (0);
	f->path = s + 6;
	f->path_len = q - f->path;
	if (e - q < 8 || memcmp(q, "\", line ", 8) != 0)
		return (0);
	for (q += 8; q < e && is_digit(*q); q++)
		;
	if (e - q < 5 || memcmp(q, ", in ", 5) != 0)
		return (0);
	f->func = q + 5;
	f->func_len = e - f->func;
	while (f->func_len > 0 && is_space(f->func[f->func_len - 1]))
		f->func_len--;
	return (f->path_len > 0 && f->func_len > 0);
}

static void
key_put(char *out, size_t outsz, size_t *len, const char *s, size_t n)
{
	if (*len + n >= outsz)
		n = outsz - 1 - *len;	/* cut: the key is too long */
	memcpy(out + *len, s, n);
	*len += n;
}

/*
 * One pass over the lines: a header line starts a traceback (again, for a
 * chained one: the last is the one raised), frame lines add frames, and
 * the first unindented line after frames names the exception.  A message
 * without a newline is no traceback, and costs one memchr().
 */
size_t
fp_traceback_key(const char *msg, size_t len, char *out, size_t outsz)
{
	static const char head[] = "Traceback (most recent call last):";
	struct frame	 app[FP_TB_FRAMES], any[FP_TB_FRAMES], f, *use;
	const char	*s, *e, *p, *end = msg + len, *type = NULL;
	size_t		 napp = 0, nany = 0, type_len = 0, o = 0;
	size_t		 i, k, nuse;
	int		 in_tb = 0;

	if (outsz == 0 || memchr(msg, '\n', len) == NULL)
		return (0);
	for (s = msg; s < end; s = e + 1) {
		if ((e = memchr(s, '\n', end - s)) == NULL)
			e = end;
		p = s;
		while (p < e && (*p == ' ' || *p == '\t' || *p == '|'))
			p++;
		if ((size_t)(e - p) >= sizeof(head) - 1 &&
		    memcmp(p, head, sizeof(head) - 1) == 0) {
			in_tb = 1;
			napp = nany = 0;
			type = NULL;
		} else if (!in_tb || type != NULL)
			;
		else if (parse_frame(p, e - p, &f)) {
			if (library_prefix(f.path, f.path_len) == 0)
				app[napp++ % FP_TB_FRAMES] = f;
			any[nany++ % FP_TB_FRAMES] = f;
		} else if (p == s && p < e && nany > 0) {
			/* unindented after the frames: "pkg.ExcType: text" */
			type = p;
			for (type_len = 0; type_len < (size_t)(e - p) &&
			    (is_alnum(p[type_len]) || p[type_len] == '_' ||
			    p[type_len] == '.'); type_len++)
				;
			if (type_len == 0 || type_len > TB_TYPE_MAX)
				type = NULL;	/* not a type: look on */
		}
		if (e == end)
			break;
	}
	if (type == NULL)
		return (0);
	use = napp > 0 ? app : any;
	nuse = napp > 0 ? napp : nany;
	key_put(out, outsz, &o, type, type_len);
	for (i = 0; i < FP_TB_FRAMES && i < nuse; i++) {
		/* innermost first */
		f = use[(nuse - 1 - i) % FP_TB_FRAMES];
		if (napp == 0) {
			/* library frames: the path from the package on */
			k = library_prefix(f.path, f.path_len);
			if (k < f.path_len) {
				f.path += k;
				f.path_len -= k;
			}
		}
		key_put(out, outsz, &o, i == 0 ? " @ " : " < ", 3);
		key_put(out, outsz, &o, f.path, f.path_len);
		key_put(out, outsz, &o, ":", 1);
		key_put(out, outsz, &o, f.func, f.func_len);
	}
	out[o] = '\0';
	return (o);
}

/* ---- a u64 -> u32 map with deletion ----------------------------------- */

struct u64map {
	uint64_t	*keys;
	uint32_t	*vals;		/* NONE: empty slot */
	size_t		 cap;		/* a power of two */
	size_t		 count;
};

static inline size_t
map_slot(const struct u64map *mp, uint64_t key)
{
	return ((size_t)((key * 0x9e3779b97f4a7c15ULL) >> 17) & (mp->cap - 1));
}

static void
map_init(struct u64map *mp, size_t cap)
{
	mp->cap = cap;
	mp->count = 0;
	mp->keys = xcalloc(cap, sizeof(*mp->keys));
	mp->vals = xreallocarray(NULL, cap, sizeof(*mp->vals));
	memset(mp->vals, 0xff, cap * sizeof(*mp->vals));
}

static void
map_clear(struct u64map *mp)
{
	free(mp->keys);
	free(mp->vals);
}

static uint32_t
map_get(const struct u64map *mp, uint64_t key)
{
	size_t	i = map_slot(mp, key);

	while (mp->vals[i] != NONE) {
		if (mp->keys[i] == key)
			return (mp->vals[i]);
		i = (i + 1) & (mp->cap - 1);
	}
	return (NONE);
}

static void map_set(struct u64map *, uint64_t, uint32_t);

static void
map_grow(struct u64map *mp)
{
	struct u64map	old = *mp;
	size_t		i;

	map_init(mp, old.cap * 2);
	for (i = 0; i < old.cap; i++)
		if (old.vals[i] != NONE)
			map_set(mp, old.keys[i], old.vals[i]);
	map_clear(&old);
}

static void
map_set(struct u64map *mp, uint64_t key, uint32_t val)
{
	size_t	i;

	if ((mp->count + 1) * 4 > mp->cap * 3)
		map_grow(mp);
	i = map_slot(mp, key);
	while (mp->vals[i] != NONE) {
		if (mp->keys[i] == key) {
			mp->vals[i] = val;
			return;
		}
		i = (i + 1) & (mp->cap - 1);
	}
	mp->keys[i] = key;
	mp->vals[i] = val;
	mp->count++;
}

/* Linear probing's deletion: shift later entries of the run back. */
static void
map_del(struct u64map *mp, uint64_t key)
{
	size_t	i = map_slot(mp, key), j, h, mask = mp->cap - 1;

	while (mp->vals[i] != NONE && mp->keys[i] != key)
		i = (i + 1) & mask;
	if (mp->vals[i] == NONE)
		return;
	mp->vals[i] = NONE;
	mp->count--;
	for (j = (i + 1) & mask; mp->vals[j] != NONE; j = (j + 1) & mask) {
		h = map_slot(mp, mp->keys[j]);
		/* move j to i unless its home lies cyclically in (i, j] */
		if (((j - h) & mask) >= ((j - i) & mask)) {
			mp->keys[i] = mp->keys[j];
			mp->vals[i] = mp->vals[j];
			mp->vals[j] = NONE;
			i = j;
		}
	}
}

/* ---- the table -------------------------------------------------------- */

struct ftok {
	uint64_t	h;		/* tok_hash() of its bytes */
	uint16_t	off;		/* bytes into the text */
	uint16_t	len;		/* bytes */
	uint8_t		wild;		/* exactly <*> */
	uint8_t		glob;		/* holds <*>: a pattern */
};

struct tpl {
	struct fp_template pub;
	char		*text;
	size_t		 text_size;	/* bytes allocated */
	struct ftok	*tok;
	uint32_t	 ntok;
	uint32_t	 nconst;	/* tokens without <*> */
	uint64_t	 key;		/* bucket; 0 for tracebacks */
	uint32_t	 bprev, bnext;	/* bucket list */
	uint32_t	 lprev, lnext;	/* seen-once list, oldest first */
	int		 in_once;
};

struct fp_table {
	size_t		 cap;		/* templates */
	struct tpl	**slot;
	size_t		 nslot;		/* slots in use or freed */
	size_t		 slot_size;	/* slots allocated */
	uint32_t	*freed;		/* slots to reuse */
	size_t		 nfreed;
	struct u64map	 ids;		/* hash -> slot */
	struct u64map	 buckets;	/* key -> first slot */
	uint32_t	 once_head, once_tail;
	struct tpl	 overflow;
	struct fp_stats	 st;
	/* per message, reused */
	char		 mask[FP_TEXT_MAX + 1];
	struct ftok	 mtok[FP_TOKEN_MAX];
	uint32_t	 nmtok;
	char		 wbuf[FP_WIDE_MAX + 1];
};

static const char WILD[] = "<*>";

static uint64_t
id_hash(const char *s, size_t n)
{
	uint64_t	h = hash64(s, n, 0);

	return (h == 0 ? 1 : h);	/* 0 is the overflow's */
}

static void
id_format(char *out, uint64_t h)
{
	snprintf(out, FP_ID_LEN, "tpl-%016llx", (unsigned long long)h);
}

static int
id_parse(const char *id, uint64_t *h)
{
	size_t		i;
	uint64_t	v = 0;
	unsigned char	c;

	if (strncmp(id, "tpl-", 4) != 0 || strlen(id) != FP_ID_LEN - 1)
		return (-1);
	for (i = 4; i < FP_ID_LEN - 1; i++) {
		c = id[i];
		if (is_digit(c))
			v = v << 4 | (c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (c - 'a' + 10);
		else
			return (-1);
	}
	*h = v;
	return (0);
}

/*
 * A token's hash, for equality within this process only (templates are
 * re-tokenized when loaded): cheaper than hash64() on short tokens.
 */
static inline uint64_t
tok_hash(const char *s, size_t n)
{
	uint64_t	h = 0x9e3779b97f4a7c15ULL ^ n, w;

	while (n >= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	if (n > 0) {
		w = 0;
		memcpy(&w, s, n);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	h *= 0xc4ceb9fe1a85ec53ULL;
	return (h ^ (h >> 29));
}

/* Split text (single spaces) into toks, at most FP_TOKEN_MAX. */
static uint32_t
tokenize(const char *text, size_t len, struct ftok *toks)
{
	size_t		i = 0, j;
	uint32_t	n = 0;
	int		glob;

	while (i < len && n < FP_TOKEN_MAX) {
		for (glob = 0, j = i; j < len && text[j] != ' '; j++)
			if (text[j] == '*' && j > i && text[j - 1] == '<' &&
			    j + 1 < len && text[j + 1] == '>')
				glob = 1;
		if (j > i) {
			toks[n].off = (uint16_t)i;
			toks[n].len = (uint16_t)(j - i);
			toks[n].h = tok_hash(text + i, j - i);
			toks[n].wild = j - i == 3 && glob;
			toks[n].glob = glob;
			n++;
		}
		i = j + 1;
	}
	return (n);
}

/* Token count and the first two constant tokens, with their positions. */
static uint64_t
bucket_key(const struct ftok *t, uint32_t n)
{
	uint64_t	k[5];
	uint32_t	i, m = 0;

	memset(k, 0, sizeof(k));
	k[0] = n;
	for (i = 0; i < n && m < 2; i++)
		if (!t[i].wild) {
			k[1 + 2 * m] = i;
			k[2 + 2 * m] = t[i].h;
			m++;
		}
	return (id_hash((const char *)k, sizeof(k)));
}

/* Does token s match pattern p, where each <*> in p stands for anything? */
static int
glob_match(const char *p, size_t pn, const char *s, size_t sn)
{
	size_t	pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;

	while (si < sn) {
		if (pi + 3 <= pn && memcmp(p + pi, WILD, 3) == 0) {
			star_p = pi += 3;
			star_s = si;
		} else if (pi < pn && p[pi] == s[si]) {
			pi++;
			si++;
		} else if (star_p != SIZE_MAX) {
			pi = star_p;
			si = ++star_s;
		} else
			return (0);
	}
	while (pi + 3 <= pn && memcmp(p + pi, WILD, 3) == 0)
		pi += 3;
	return (pi == pn);
}

static inline int
tok_equal(const struct tpl *t, const struct ftok *a, const char *mtext,
    const struct ftok *b)
{
	if (a->h == b->h)
		return (1);
	return (a->glob && glob_match(t->text + a->off, a->len,
	    mtext + b->off, b->len));
}

/*
 * Do tokens a and b share a prefix up to punctuation ("/api/users/",
 * "size=", "(")?  Then they are one kind of token however their variable
 * parts differ.
 */
static int
same_kind(const char *a, size_t an, const char *b, size_t bn)
{
	size_t	p = 0;

	while (p < an && p < bn && a[p] == b[p]) {
		if (!is_alnum(a[p]) && a[p] != '_' && a[p] != '<' &&
		    a[p] != '*' && (unsigned char)a[p] < 0x80)
			return (1);
		p++;
	}
	return (0);
}

/*
 * How alike t and the message are: *eq of t's *den constant tokens are
 * equal.  A token of t holding a variable ("rhost=<*>", "(uid=<*>)",
 * "<*>:") does not count, but when the message's token neither matches it
 * nor is of its kind (see same_kind()) returns -1: its punctuation is
 * structure, and a message without it is another kind of message.
 */
static int
similarity(const struct tpl *t, const char *mtext, const struct ftok *m,
    uint32_t *eq, uint32_t *den)
{
	const struct ftok	*a;
	uint32_t		 i;

	*eq = 0;
	*den = t->nconst;
	for (i = 0; i < t->ntok; i++) {
		a = &t->tok[i];
		if (a->wild)
			continue;
		if (!a->glob)
			*eq += a->h == m[i].h;
		else if (!tok_equal(t, a, mtext, &m[i]) &&
		    !same_kind(t->text + a->off, a->len, mtext + m[i].off,
		    m[i].len))
			return (-1);
	}
	return (0);
}

static inline int
is_cut(unsigned char c)
{
	/* a prefix or suffix may end or start here: not inside a word */
	return (!is_alnum(c) && c != '_' && c < 0x80);
}

/*
 * The pattern covering tokens a and b: their common prefix up to its last
 * punctuation, <*>, their common suffix from its first punctuation
 * ("user=root", "user=guest" -> "user=<*>").  Written to out; returns its
 * length.
 */
static size_t
widen(const char *a, size_t an, const char *b, size_t bn, char *out)
{
	size_t	p = 0, s = 0, mn = an < bn ? an : bn, o = 0;

	while (p < mn && a[p] == b[p])
		p++;
	while (p > 0 && (!is_cut(a[p - 1]) || a[p - 1] == '<' ||
	    a[p - 1] == '*'))
		p--;
	while (s < mn - p && a[an - 1 - s] == b[bn - 1 - s])
		s++;
	while (s > 0 && (!is_cut(a[an - s]) || a[an - s] == '*' ||
	    a[an - s] == '>'))
		s--;
	memcpy(out, a, p);
	o = p;
	if (!(o >= 3 && memcmp(out + o - 3, WILD, 3) == 0)) {
		memcpy(out + o, WILD, 3);
		o += 3;
	}
	if (s >= 3 && memcmp(a + an - s, WILD, 3) == 0)
		s -= 3;		/* "<*><*>" is "<*>" */
	memcpy(out + o, a + an - s, s);
	return (o + s);
}

static void
tpl_set_text(struct tpl *t, const char *text, size_t len)
{
	if (len + 1 > t->text_size) {
		t->text = xreallocarray(t->text, len + 1, 1);
		t->text_size = len + 1;
	}
	memcpy(t->text, text, len);
	t->text[len] = '\0';
	t->pub.text = t->text;
}

/*
 * Widen t where the message differs; 1 if the text changed.  The text is
 * rebuilt in the table's scratch buffer, then copied back.  A text that
 * would outgrow FP_WIDE_MAX (only a loaded one can) stays as it is.
 */
static int
tpl_widen(struct fp_table *tb, struct tpl *t)
{
	struct ftok	*a, *b;
	char		*w = tb->wbuf, tmp[FP_WIDE_MAX + 3];
	const char	*src;
	size_t		 o = 0, n;
	uint32_t	 i, changed = 0;

	for (i = 0; i < t->ntok; i++) {
		a = &t->tok[i];
		b = &tb->mtok[i];
		src = t->text + a->off;
		n = a->len;
		if (!a->wild && !tok_equal(t, a, tb->mask, b)) {
			n = widen(src, a->len, tb->mask + b->off, b->len, tmp);
			src = tmp;
			changed++;
		}
		if (o + (i > 0) + n > FP_WIDE_MAX)
			return (0);
		if (i > 0)
			w[o++] = ' ';
		memcpy(w + o, src, n);
		o += n;
	}
	if (changed == 0)
		return (0);
	tpl_set_text(t, w, o);
	t->ntok = tokenize(t->text, o, t->tok);
	for (t->nconst = 0, i = 0; i < t->ntok; i++)
		t->nconst += !t->tok[i].glob;
	return (1);
}

static void
once_unlink(struct fp_table *tb, struct tpl *t)
{
	if (!t->in_once)
		return;
	if (t->lprev != NONE)
		tb->slot[t->lprev]->lnext = t->lnext;
	else
		tb->once_head = t->lnext;
	if (t->lnext != NONE)
		tb->slot[t->lnext]->lprev = t->lprev;
	else
		tb->once_tail = t->lprev;
	t->in_once = 0;
}

static void
once_append(struct fp_table *tb, uint32_t idx)
{
	struct tpl	*t = tb->slot[idx];

	t->lprev = tb->once_tail;
	t->lnext = NONE;
	if (tb->once_tail != NONE)
		tb->slot[tb->once_tail]->lnext = idx;
	else
		tb->once_head = idx;
	tb->once_tail = idx;
	t->in_once = 1;
}

static void
bucket_unlink(struct fp_table *tb, struct tpl *t)
{
	if (t->key == 0)
		return;
	if (t->bprev != NONE)
		tb->slot[t->bprev]->bnext = t->bnext;
	else if (t->bnext != NONE)
		map_set(&tb->buckets, t->key, t->bnext);
	else
		map_del(&tb->buckets, t->key);
	if (t->bnext != NONE)
		tb->slot[t->bnext]->bprev = t->bprev;
}

static void
bucket_insert(struct fp_table *tb, uint32_t idx)
{
	struct tpl	*t = tb->slot[idx];
	uint32_t	 head;

	if (t->key == 0)
		return;
	head = map_get(&tb->buckets, t->key);
	t->bprev = NONE;
	t->bnext = head;
	if (head != NONE)
		tb->slot[head]->bprev = idx;
	map_set(&tb->buckets, t->key, idx);
}

static void
tpl_destroy(struct tpl *t)
{
	if (t == NULL)
		return;
	free(t->text);
	free(t->tok);
	free(t);
}

static void
tpl_remove(struct fp_table *tb, uint32_t idx)
{
	struct tpl	*t = tb->slot[idx];

	once_unlink(tb, t);
	bucket_unlink(tb, t);
	map_del(&tb->ids, t->pub.hash);
	tpl_destroy(t);
	tb->slot[idx] = NULL;
	tb->freed[tb->nfreed++] = idx;
}

/* A free slot, evicting the oldest template seen once; NONE when full. */
static uint32_t
slot_take(struct fp_table *tb)
{
	if (tb->nslot - tb->nfreed >= tb->cap) {
		if (tb->once_head == NONE)
			return (NONE);
		tpl_remove(tb, tb->once_head);
		tb->st.evicted++;
	}
	if (tb->nfreed > 0)
		return (tb->freed[--tb->nfreed]);
	if (tb->nslot == tb->slot_size) {
		tb->slot_size = tb->slot_size * 2;
		if (tb->slot_size > tb->cap)
			tb->slot_size = tb->cap;
		tb->slot = xreallocarray(tb->slot, tb->slot_size,
		    sizeof(*tb->slot));
		tb->freed = xreallocarray(tb->freed, tb->slot_size,
		    sizeof(*tb->freed));
	}
	return ((uint32_t)tb->nslot++);
}

/*
 * A new template with text (tokens toks, or none for a traceback) in a
 * free slot; NONE when the table is full.
 */
static uint32_t
tpl_create(struct fp_table *tb, uint64_t hash, const char *text, size_t len,
    const struct ftok *toks, uint32_t ntok, int is_traceback, uint64_t count)
{
	struct tpl	*t;
	uint32_t	 idx, i;

	if ((idx = slot_take(tb)) == NONE)
		return (NONE);
	t = xcalloc(1, sizeof(*t));
	tb->slot[idx] = t;
	t->pub.hash = hash;
	id_format(t->pub.id, hash);
	t->pub.count = count;
	t->pub.is_traceback = is_traceback;
	tpl_set_text(t, text, len);
	t->bprev = t->bnext = t->lprev = t->lnext = NONE;
	if (!is_traceback) {
		t->tok = xreallocarray(NULL, ntok > 0 ? ntok : 1,
		    sizeof(*t->tok));
		memcpy(t->tok, toks, ntok * sizeof(*toks));
		t->ntok = ntok;
		for (i = 0; i < ntok; i++)
			t->nconst += !toks[i].glob;
		t->key = bucket_key(toks, ntok);
		bucket_insert(tb, idx);
	}
	map_set(&tb->ids, hash, idx);
	if (count == 1)
		once_append(tb, idx);
	return (idx);
}

struct fp_table *
fp_new(size_t cap)
{
	struct fp_table	*tb;

	tb = xcalloc(1, sizeof(*tb));
	tb->cap = cap > 0 ? cap : FP_CAP_DEFAULT;
	if (tb->cap >= NONE)
		tb->cap = NONE - 1;
	tb->slot_size = tb->cap < 64 ? tb->cap : 64;
	tb->slot = xreallocarray(NULL, tb->slot_size, sizeof(*tb->slot));
	tb->freed = xreallocarray(NULL, tb->slot_size, sizeof(*tb->freed));
	map_init(&tb->ids, 128);
	map_init(&tb->buckets, 128);
	tb->once_head = tb->once_tail = NONE;
	memcpy(tb->overflow.pub.id, FP_OVERFLOW_ID, FP_ID_LEN);
	tb->overflow.pub.text = "<overflow>";
	tb->overflow.pub.is_overflow = 1;
	return (tb);
}

void
fp_free(struct fp_table *tb)
{
	size_t	i;

	if (tb == NULL)
		return;
	for (i = 0; i < tb->nslot; i++)
		tpl_destroy(tb->slot[i]);
	free(tb->slot);
	free(tb->freed);
	map_clear(&tb->ids);
	map_clear(&tb->buckets);
	free(tb);
}

static const struct fp_template *
seen(struct fp_table *tb, struct tpl *t, int is_new, int widened)
{
	if (!is_new) {
		once_unlink(tb, t);
		t->pub.count++;
	}
	t->pub.is_new = is_new;
	t->pub.widened = widened;
	return (&t->pub);
}

static const struct fp_template *
overflow(struct fp_table *tb)
{
	tb->st.overflowed++;
	tb->overflow.pub.count++;
	return (&tb->overflow.pub);
}

/* The most similar template in the message's bucket, or NONE. */
static uint32_t
best_match(struct fp_table *tb)
{
	struct tpl	*t, *best = NULL;
	uint32_t	 idx, bidx = NONE, eq, den, beq = 0, bden = 1;
	uint64_t	 l, r;

	idx = map_get(&tb->buckets, bucket_key(tb->mtok, tb->nmtok));
	for (; idx != NONE; idx = t->bnext) {
		t = tb->slot[idx];
		if (t->ntok != tb->nmtok)
			continue;	/* a hash collision of keys */
		if (similarity(t, tb->mask, tb->mtok, &eq, &den) == -1 ||
		    eq * 100ULL < (uint64_t)FP_SIM_PCT * den)
			continue;
		if (den == 0)
			eq = den = 1;	/* nothing but variables */
		/* eq / den against beq / bden, without floating point */
		l = (uint64_t)eq * bden;
		r = (uint64_t)beq * den;
		if (best == NULL || l > r ||
		    (l == r && t->pub.hash < best->pub.hash)) {
			best = t;
			bidx = idx;
			beq = eq;
			bden = den;
		}
	}
	return (bidx);
}

const struct fp_template *
fp_add(struct fp_table *tb, const char *msg, size_t len)
{
	struct tpl	*t;
	size_t		 n;
	uint64_t	 h;
	uint32_t	 idx;

	if ((n = fp_traceback_key(msg, len, tb->mask, sizeof(tb->mask))) > 0) {
		h = id_hash(tb->mask, n);
		if ((idx = map_get(&tb->ids, h)) != NONE)
			return (seen(tb, tb->slot[idx], 0, 0));
		if ((idx = tpl_create(tb, h, tb->mask, n, NULL, 0, 1, 1)) ==
		    NONE)
			return (overflow(tb));
		tb->st.born++;
		return (seen(tb, tb->slot[idx], 1, 0));
	}
	n = len;
	if (n > FP_SCAN_MAX) {
		/* cut at whitespace: half a token could look constant */
		for (n = FP_SCAN_MAX; n > 0 && !is_space(msg[n]); n--)
			;
		if (n == 0)
			n = FP_SCAN_MAX;
	}
	n = mask_run(msg, n, tb->mask, sizeof(tb->mask), FP_TOKEN_MAX);
	h = id_hash(tb->mask, n);
	if ((idx = map_get(&tb->ids, h)) != NONE)
		return (seen(tb, tb->slot[idx], 0, 0)); /* birth text */
	tb->nmtok = tokenize(tb->mask, n, tb->mtok);
	if ((idx = best_match(tb)) != NONE) {
		t = tb->slot[idx];
		return (seen(tb, t, 0, tpl_widen(tb, t)));
	}
	if ((idx = tpl_create(tb, h, tb->mask, n, tb->mtok, tb->nmtok, 0,
	    1)) == NONE)
		return (overflow(tb));
	tb->st.born++;
	return (seen(tb, tb->slot[idx], 1, 0));
}

/*
 * A traceback key: its shape ("Type @ path:func[ < path:func]") and an id
 * that is the hash of the text, as a key never widens.
 */
static int
is_traceback_text(const char *text, size_t len, uint64_t h)
{
	const char	*at = strstr(text, " @ ");

	return (at != NULL && at > text && strchr(text, ' ') == at &&
	    strchr(at + 3, ':') != NULL && id_hash(text, len) == h);
}

int
fp_load(struct fp_table *tb, const char *id, const char *text,
    uint64_t count)
{
	struct ftok	 toks[FP_TOKEN_MAX];
	uint64_t	 h;
	uint32_t	 idx, ntok = 0;
	size_t		 len;
	int		 is_tb;

	if (id_parse(id, &h) == -1 || h == 0)
		return (-1);
	if (count == 0)
		count = 1;
	len = strlen(text);
	if (len > FP_WIDE_MAX)
		len = FP_WIDE_MAX;		/* not one of ours: cut it */
	if ((idx = map_get(&tb->ids, h)) != NONE)
		tpl_remove(tb, idx);
	is_tb = is_traceback_text(text, len, h);
	if (!is_tb) {
		ntok = tokenize(text, len, toks);
		if (ntok > 0)
			len = toks[ntok - 1].off + toks[ntok - 1].len;
	}
	if (tpl_create(tb, h, text, len, toks, ntok, is_tb, count) == NONE)
		return (-1);
	return (0);
}

void
fp_stats(const struct fp_table *tb, struct fp_stats *st)
{
	*st = tb->st;
	st->templates = tb->nslot - tb->nfreed;
}
