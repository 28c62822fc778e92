/*
 * Required literals of a regex, and an Aho-Corasick automaton over them.
 *
 * Extraction is conservative: it walks the regex's top level, keeps runs
 * of plain characters (escaped punctuation included, zero-width
 * assertions skipped), breaks a run at anything else (classes, groups,
 * '.', character-type escapes) and drops a character a quantifier makes
 * optional.  The longest run of each top-level alternative is required;
 * if any alternative has none, or the regex uses extended mode or \Q,
 * there is nothing to require and the regex always runs.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "prefilter.h"
#include "xmalloc.h"

#define AC_ALPHABET	256

struct ac_out {
	uint32_t	id;
	int32_t		next;		/* index in outs, -1 ends */
};

struct prefilter {
	int32_t		*delta;		/* states x 256: the DFA being built */
	int32_t		*cdelta;	/* states x nclass: the DFA scanned */
	unsigned char	 cls[AC_ALPHABET];	/* byte -> class, case folded */
	size_t		 nclass;
	int32_t		*fail;
	int32_t		*out;		/* first output of a state, -1 none */
	size_t		 states;
	size_t		 cap;
	struct ac_out	*outs;
	size_t		 nouts;
	unsigned char	 fold[AC_ALPHABET];
};

/* ---- literal extraction ------------------------------------------------ */

/* Skip a character class starting at re[i] == '['; returns the index after. */
static size_t
skip_class(const char *re, size_t i)
{
	i++;
	if (re[i] == '^')
		i++;
	if (re[i] == ']')
		i++;
	while (re[i] != '\0' && re[i] != ']') {
		if (re[i] == '\\' && re[i + 1] != '\0')
			i += 2;
		else if (re[i] == '[' && re[i + 1] == ':') {
			const char	*e = strstr(re + i + 2, ":]");

			i = e != NULL ? (size_t)(e - re) + 2 : i + 1;
		} else
			i++;
	}
	return (re[i] == ']' ? i + 1 : i);
}

/* Skip a group starting at re[i] == '('; returns the index after. */
static size_t
skip_group(const char *re, size_t i)
{
	int	depth = 0;

	while (re[i] != '\0') {
		if (re[i] == '\\' && re[i + 1] != '\0')
			i += 2;
		else if (re[i] == '[')
			i = skip_class(re, i);
		else {
			if (re[i] == '(')
				depth++;
			else if (re[i] == ')' && --depth == 0)
				return (i + 1);
			i++;
		}
	}
	return (i);
}

/*
 * Skip what an escape letter c takes after it (\x{e9}, \xe9, \p{L},
 * \k<name>, \cX, \12): returns the index after it.
 */
static size_t
skip_escape_arg(const char *re, size_t i, char c)
{
	const char	*e;
	int		 n;

	if (re[i] == '{' && strchr("xopPNgk", c) != NULL) {
		e = strchr(re + i, '}');
		return (e != NULL ? (size_t)(e - re) + 1 : i);
	}
	if ((c == 'k' || c == 'g') && (re[i] == '<' || re[i] == '\'')) {
		e = strchr(re + i + 1, re[i] == '<' ? '>' : '\'');
		return (e != NULL ? (size_t)(e - re) + 1 : i);
	}
	if (c == 'x')
		for (n = 0; n < 2 && isxdigit((unsigned char)re[i]); n++)
			i++;
	else if (c == 'c' && re[i] != '\0')
		i++;
	else if (isdigit((unsigned char)c))
		while (isdigit((unsigned char)re[i]))
			i++;
	return (i);
}

/* A quantifier at re[i]?  Returns its length (0: none), *min its minimum. */
static size_t
quantifier(const char *re, size_t i, int *min)
{
	size_t	j;

	switch (re[i]) {
	case '?':
	case '*':
		*min = 0;
		break;
	case '+':
		*min = 1;
		break;
	case '{':
		if (!isdigit((unsigned char)re[i + 1]))
			return (0);
		*min = atoi(re + i + 1);
		for (j = i + 1; isdigit((unsigned char)re[j]) || re[j] == ',';
		    j++)
			;
		if (re[j] != '}')
			return (0);
		j++;
		if (re[j] == '?' || re[j] == '+')
			j++;
		return (j - i);
	default:
		return (0);
	}
	/* lazy or possessive suffix */
	return (re[i + 1] == '?' || re[i + 1] == '+' ? 2 : 1);
}

/*
 * The longest required run of re[from..to), lowercased into best (room
 * for to - from + 1).  Returns its length.
 */
static size_t
best_run(const char *re, size_t from, size_t to, int ci, char *best)
{
	char	*run;
	size_t	 i = from, n = 0, nb = 0, q, atom_start;
	int	 min, is_lit;
	char	 c;

	run = xmalloc(to - from + 1);
#define RUN_END() do {							\
	if (n > nb) {							\
		memcpy(best, run, n);					\
		nb = n;							\
	}								\
	n = 0;								\
} while (0)
	while (i < to) {
		atom_start = i;
		is_lit = 0;
		c = re[i];
		if (c == '\\') {
			c = re[i + 1];
			i += 2;
			if (c != '\0' && strchr("bBAzZG", c) != NULL)
				continue;	/* zero-width */
			if (c == 'n' || c == 't' || c == 'r' || c == 'f' ||
			    c == 'e') {
				c = c == 'n' ? '\n' : c == 't' ? '\t' :
				    c == 'r' ? '\r' : c == 'f' ? '\f' : '\x1b';
				is_lit = 1;
			} else if (c != '\0' && !isalnum((unsigned char)c))
				is_lit = 1;
			else
				i = skip_escape_arg(re, i, c);
		} else if (c == '[') {
			i = skip_class(re, i);
		} else if (c == '(') {
			i = skip_group(re, i);
		} else if (c == '^' || c == '$') {
			i++;
			continue;
		} else if (c == '.') {
			i++;
		} else {
			is_lit = 1;
			i++;
		}
		/* The automaton folds ASCII only.  Under (?i) PCRE2 folds by
		 * Unicode, where k matches U+212A (Kelvin) and s U+017F (long
		 * s): such letters cannot be required. */
		if (is_lit && ci && ((unsigned char)c >= 0x80 ||
		    c == 'k' || c == 'K' || c == 's' || c == 'S'))
			is_lit = 0;
		q = quantifier(re, i, &min);
		i += q;
		if (!is_lit) {
			RUN_END();
			continue;
		}
		if (q > 0 && min == 0) {
			RUN_END();
			continue;
		}
		run[n++] = (char)tolower((unsigned char)c);
		if (q > 0)
			RUN_END();	/* repeated: what follows is not adjacent */
		(void)atom_start;
	}
	RUN_END();
#undef RUN_END
	free(run);
	return (nb);
}

/* Does an inline option setting "(?letters)" or "(?letters:" hold opt? */
static int
has_option(const char *re, char opt)
{
	const char	*p = re, *q;

	while ((p = strstr(p, "(?")) != NULL) {
		p += 2;
		for (q = p; isalpha((unsigned char)*q) || *q == '-'; q++)
			if (*q == opt)
				break;
		if (*q == opt)
			return (1);
	}
	return (0);
}

char **
prefilter_literals(const char *re)
{
	char	**lits = NULL, *best;
	size_t	  i = 0, from = 0, len = strlen(re), n = 0, l;
	int	  ci, depth = 0;

	/* extended mode makes blanks mean nothing; \Q quotes: give up */
	if (has_option(re, 'x') || strstr(re, "\\Q") != NULL)
		return (NULL);
	ci = has_option(re, 'i');
	best = xmalloc(len + 1);
	for (;;) {
		if (re[i] == '\\' && re[i + 1] != '\0') {
			i += 2;
			continue;
		}
		if (re[i] == '[') {
			i = skip_class(re, i);
			continue;
		}
		if (re[i] == '(')
			depth++;
		else if (re[i] == ')')
			depth--;
		if (re[i] == '\0' || (re[i] == '|' && depth == 0)) {
			l = best_run(re, from, i, ci, best);
			if (l == 0) {
				prefilter_lits_free(lits);
				free(best);
				return (NULL);
			}
			lits = xreallocarray(lits, n + 2, sizeof(*lits));
			lits[n++] = xstrndup(best, l);
			lits[n] = NULL;
			if (re[i] == '\0')
				break;
			from = i + 1;
		}
		i++;
	}
	free(best);
	return (lits);
}

void
prefilter_lits_free(char **lits)
{
	size_t	i;

	if (lits == NULL)
		return;
	for (i = 0; lits[i] != NULL; i++)
		free(lits[i]);
	free(lits);
}

/* ---- Aho-Corasick ------------------------------------------------------ */

static int32_t
ac_state_new(struct prefilter *pf)
{
	size_t	i;

	if (pf->states == pf->cap) {
		pf->cap = pf->cap == 0 ? 64 : pf->cap * 2;
		pf->delta = xreallocarray(pf->delta, pf->cap * AC_ALPHABET,
		    sizeof(*pf->delta));
		pf->fail = xreallocarray(pf->fail, pf->cap,
		    sizeof(*pf->fail));
		pf->out = xreallocarray(pf->out, pf->cap, sizeof(*pf->out));
	}
	for (i = 0; i < AC_ALPHABET; i++)
		pf->delta[pf->states * AC_ALPHABET + i] = -1;
	pf->fail[pf->states] = 0;
	pf->out[pf->states] = -1;
	return ((int32_t)pf->states++);
}

struct prefilter *
prefilter_new(void)
{
	struct prefilter	*pf;
	int			 i;

	pf = xcalloc(1, sizeof(*pf));
	for (i = 0; i < AC_ALPHABET; i++)
		pf->fold[i] = (unsigned char)tolower(i);
	ac_state_new(pf);	/* the root */
	return (pf);
}

void
prefilter_free(struct prefilter *pf)
{
	if (pf == NULL)
		return;
	free(pf->delta);
	free(pf->cdelta);
	free(pf->fail);
	free(pf->out);
	free(pf->outs);
	free(pf);
}

static void
ac_out_add(struct prefilter *pf, int32_t state, uint32_t id)
{
	pf->outs = xreallocarray(pf->outs, pf->nouts + 1, sizeof(*pf->outs));
	pf->outs[pf->nouts].id = id;
	pf->outs[pf->nouts].next = pf->out[state];
	pf->out[state] = (int32_t)pf->nouts++;
}

void
prefilter_add(struct prefilter *pf, const char *lit, uint32_t id)
{
	int32_t		s = 0, t;
	unsigned char	c;

	for (; *lit != '\0'; lit++) {
		c = pf->fold[(unsigned char)*lit];
		t = pf->delta[s * AC_ALPHABET + c];
		if (t == -1) {
			t = ac_state_new(pf);
			pf->delta[s * AC_ALPHABET + c] = t;
		}
		s = t;
	}
	ac_out_add(pf, s, id);
}

/*
 * Shrink the DFA's rows from 256 bytes to the classes of bytes the
 * literals use (plus one for all others): with hundreds of patterns the
 * full table is megabytes and every scanned byte would miss the cache.
 */
static void
prefilter_compress(struct prefilter *pf)
{
	unsigned char	 rep[AC_ALPHABET];
	size_t		 s, c, b;
	int		 used[AC_ALPHABET] = { 0 };

	/* a byte is used when the trie moves on it from some state */
	for (s = 0; s < pf->states; s++)
		for (b = 0; b < AC_ALPHABET; b++)
			if (pf->fold[b] == b && pf->delta[s * AC_ALPHABET + b] != 0)
				used[b] = 1;
	pf->nclass = 1;		/* class 0: bytes no literal holds */
	rep[0] = 0;
	memset(pf->cls, 0, sizeof(pf->cls));
	for (b = 0; b < AC_ALPHABET; b++) {
		if (!used[b])
			continue;
		rep[pf->nclass] = (unsigned char)b;
		pf->cls[b] = (unsigned char)pf->nclass++;
	}
	for (b = 0; b < AC_ALPHABET; b++)
		if (pf->fold[b] != b)
			pf->cls[b] = pf->cls[pf->fold[b]];
	/* class 0 must stand for a byte that is no literal's */
	for (b = 0; b < AC_ALPHABET && used[pf->fold[b]]; b++)
		;
	rep[0] = (unsigned char)(b < AC_ALPHABET ? b : 0);
	pf->cdelta = xreallocarray(NULL, pf->states * pf->nclass,
	    sizeof(*pf->cdelta));
	for (s = 0; s < pf->states; s++)
		for (c = 0; c < pf->nclass; c++)
			pf->cdelta[s * pf->nclass + c] =
			    pf->delta[s * AC_ALPHABET + rep[c]];
	free(pf->delta);
	pf->delta = NULL;
}

void
prefilter_build(struct prefilter *pf)
{
	int32_t		*queue, s, t, f, o;
	size_t		 head = 0, tail = 0, c;

	queue = xcalloc(pf->states, sizeof(*queue));
	for (c = 0; c < AC_ALPHABET; c++) {
		t = pf->delta[c];
		if (t == -1)
			pf->delta[c] = 0;
		else {
			pf->fail[t] = 0;
			queue[tail++] = t;
		}
	}
	while (head < tail) {
		s = queue[head++];
		/* a state reports what its failure state reports too */
		f = pf->fail[s];
		for (o = pf->out[f]; o != -1; o = pf->outs[o].next)
			ac_out_add(pf, s, pf->outs[o].id);
		for (c = 0; c < AC_ALPHABET; c++) {
			t = pf->delta[s * AC_ALPHABET + c];
			if (t == -1) {
				pf->delta[s * AC_ALPHABET + c] =
				    pf->delta[f * AC_ALPHABET + c];
				continue;
			}
			pf->fail[t] = pf->delta[f * AC_ALPHABET + c];
			queue[tail++] = t;
		}
	}
	free(queue);
	prefilter_compress(pf);
}

void
prefilter_scan(const struct prefilter *pf, const char *text, size_t len,
    uint32_t *mark, uint32_t stamp)
{
	const unsigned char	*p = (const unsigned char *)text;
	const int32_t		*delta = pf->cdelta;
	size_t			 i, nclass = pf->nclass;
	int32_t			 s = 0, o;

	for (i = 0; i < len; i++) {
		s = delta[(size_t)s * nclass + pf->cls[p[i]]];
		for (o = pf->out[s]; o != -1; o = pf->outs[o].next)
			mark[pf->outs[o].id] = stamp;
	}
}
