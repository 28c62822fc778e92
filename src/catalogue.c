/*
 * The pattern catalogue: pattern files -> compiled PCRE2 (JIT) -> matches.
 *
 * File format (logaudit-patterns(5)): "[id]" opens a pattern; "key = value"
 * lines follow, the value being the rest of the line after '=' with the
 * blanks around it removed -- verbatim, no escapes, no inline comments, no
 * length limit, so a regex is written exactly as PCRE2 reads it.  Lines
 * starting with '#' are comments.
 *
 * A pattern matches an entry when the entry passes its filters (log,
 * min-severity) and any of its regexes matches the message or its status
 * ranges contain httpRequest.status.  Every matching pattern counts.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "catalogue.h"
#include "log.h"
#include "prefilter.h"
#include "util.h"
#include "xmalloc.h"

#ifndef LOGAUDIT_PATTERNS_DIR
#define LOGAUDIT_PATTERNS_DIR "/usr/local/share/logaudit/patterns"
#endif

/*
 * PCRE2's match limit counts internal backtracking steps; under JIT the
 * depth and heap limits do not apply.  100k steps is a few milliseconds at
 * worst and far above what any sane pattern needs on a 16 KiB message.
 */
#define MATCH_LIMIT		100000
#define JIT_STACK_MIN		(32 * 1024)
#define JIT_STACK_MAX		(512 * 1024)

struct status_range {
	int	lo;
	int	hi;
};

struct pattern {
	struct pattern_info	 info;
	pcre2_code		**re;
	char			**re_src;	/* as written, for literals */
	size_t			 re_count;
	size_t			 re_base;	/* id of its first regex */
	struct status_range	*status;
	size_t			 status_count;
	char			***lits;	/* per regex: required literals */
	int			*declared;	/* per regex: lits from "literal" */
	struct pattern_example	*ex;
	size_t			 ex_count;
	char			*text;		/* its stanza, for the version */
};

struct catalogue {
	struct pattern		**p;
	size_t			  count;
	char			  version[17];
	pcre2_match_data	 *md;
	pcre2_match_context	 *mctx;
	pcre2_jit_stack		 *jit_stack;
	unsigned long		  match_errors;
	char			 *scratch;	/* message without ANSI escapes */
	size_t			  scratch_size;
	/* the prefilter, over every regex of every pattern */
	struct prefilter	 *pf;
	size_t			  nre;		/* regexes in all */
	unsigned char		 *always;	/* by regex id: no literal */
	uint32_t		 *mark;		/* by regex id: candidate stamp */
	uint32_t		  stamp;
};

static const char *level_names[] = { "info", "warning", "error", "critical" };

const char *
pattern_level_name(enum pattern_level l)
{
	return (l <= LEVEL_CRITICAL ? level_names[l] : "error");
}

int
pattern_level_parse(const char *s)
{
	int	i;

	for (i = 0; s != NULL && i <= LEVEL_CRITICAL; i++)
		if (strcmp(s, level_names[i]) == 0)
			return (i);
	return (-1);
}

char **
catalogue_dirs(char *const *opt_dirs, size_t n)
{
	char		**dirs;
	const char	 *env;
	char		 *copy, *tok, *save;
	size_t		  i, k = 0;

	if (n > 0) {
		dirs = xcalloc(n + 1, sizeof(*dirs));
		for (i = 0; i < n; i++)
			dirs[i] = xstrdup(opt_dirs[i]);
		return (dirs);
	}
	env = getenv("LOGAUDIT_PATTERNS");
	if (env != NULL && *env != '\0') {
		dirs = xcalloc(strlen(env) + 2, sizeof(*dirs));
		copy = xstrdup(env);
		for (tok = strtok_r(copy, ":", &save); tok != NULL;
		    tok = strtok_r(NULL, ":", &save))
			dirs[k++] = xstrdup(tok);
		free(copy);
		return (dirs);
	}
	dirs = xcalloc(2, sizeof(*dirs));
#ifdef LOGAUDIT_SOURCE_PATTERNS_DIR
	/* Not installed: a binary run from its build tree uses the
	 * catalogue of the source tree it was built from. */
	if (access(LOGAUDIT_PATTERNS_DIR, F_OK) == -1 &&
	    access(LOGAUDIT_SOURCE_PATTERNS_DIR, F_OK) == 0) {
		dirs[0] = xstrdup(LOGAUDIT_SOURCE_PATTERNS_DIR);
		return (dirs);
	}
#endif
	dirs[0] = xstrdup(LOGAUDIT_PATTERNS_DIR);
	return (dirs);
}

void
catalogue_dirs_free(char **dirs)
{
	size_t	i;

	if (dirs == NULL)
		return;
	for (i = 0; dirs[i] != NULL; i++)
		free(dirs[i]);
	free(dirs);
}

static void
pattern_free(struct pattern *p)
{
	size_t	i;

	if (p == NULL)
		return;
	for (i = 0; i < p->re_count; i++) {
		pcre2_code_free(p->re[i]);
		free(p->re_src[i]);
		prefilter_lits_free(p->lits[i]);
	}
	free(p->re);
	free(p->re_src);
	free(p->lits);
	free(p->declared);
	for (i = 0; i < p->ex_count; i++) {
		free(p->ex[i].text);
		free(p->ex[i].source);
	}
	free(p->ex);
	free(p->status);
	free(p->info.log);
	free(p->info.id);
	free(p->info.title);
	free(p->info.category);
	free(p->info.file);
	free(p->text);
	free(p);
}

void
catalogue_free(struct catalogue *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->count; i++)
		pattern_free(c->p[i]);
	free(c->p);
	pcre2_match_data_free(c->md);
	pcre2_match_context_free(c->mctx);
	if (c->jit_stack != NULL)
		pcre2_jit_stack_free(c->jit_stack);
	free(c->scratch);
	prefilter_free(c->pf);
	free(c->always);
	free(c->mark);
	free(c);
}

static int
valid_id(const char *id)
{
	const char	*s;

	if (*id == '\0' || *id == '-')
		return (0);
	for (s = id; *s != '\0'; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
		    *s != '-')
			return (0);
	return (s[-1] != '-');
}

/* Parse "500-599" or "404" into r.  Returns 0 or -1. */
static int
parse_status(const char *v, struct status_range *r)
{
	char	*end;
	long	 lo, hi;

	lo = strtol(v, &end, 10);
	hi = lo;
	if (*end == '-')
		hi = strtol(end + 1, &end, 10);
	if (*end != '\0' || lo < 100 || hi > 599 || lo > hi)
		return (-1);
	r->lo = (int)lo;
	r->hi = (int)hi;
	return (0);
}

static int
pattern_add_regex(struct pattern *p, const char *v, const char *file,
    int line, char **cause)
{
	pcre2_code	*re;
	int		 err;
	PCRE2_SIZE	 off;
	PCRE2_UCHAR	 msg[256];

	re = pcre2_compile((PCRE2_SPTR)v, PCRE2_ZERO_TERMINATED,
	    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &off, NULL);
	if (re == NULL) {
		pcre2_get_error_message(err, msg, sizeof(msg));
		xasprintf(cause, "%s:%d: bad regex at offset %zu: %s", file,
		    line, (size_t)off, (char *)msg);
		return (-1);
	}
	/* JIT can be unavailable on odd hardware: interpretation is slower
	 * but still correct, and the match limit still applies. */
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	p->re = xreallocarray(p->re, p->re_count + 1, sizeof(*p->re));
	p->re_src = xreallocarray(p->re_src, p->re_count + 1,
	    sizeof(*p->re_src));
	p->re_src[p->re_count] = xstrdup(v);
	p->lits = xreallocarray(p->lits, p->re_count + 1, sizeof(*p->lits));
	p->lits[p->re_count] = prefilter_literals(v);
	p->declared = xreallocarray(p->declared, p->re_count + 1,
	    sizeof(*p->declared));
	p->declared[p->re_count] = 0;
	p->re[p->re_count++] = re;
	p->info.regex_count = p->re_count;
	return (0);
}

static int
pattern_has_example(const struct pattern *p)
{
	size_t	i;

	for (i = 0; i < p->ex_count; i++)
		if (!p->ex[i].is_counter)
			return (1);
	return (0);
}

/* Check a finished stanza; returns 0 or -1 with *cause. */
static int
pattern_check(const struct pattern *p, char **cause)
{
	if (p->info.title == NULL)
		xasprintf(cause, "%s:%d: pattern %s has no title", p->info.file,
		    p->info.line, p->info.id);
	else if (p->re_count == 0 && p->status_count == 0)
		xasprintf(cause, "%s:%d: pattern %s has no regex or status",
		    p->info.file, p->info.line, p->info.id);
	else if (!pattern_has_example(p))
		xasprintf(cause, "%s:%d: pattern %s has no example",
		    p->info.file, p->info.line, p->info.id);
	else
		return (0);
	return (-1);
}

/* Apply one "key = value" line to p. */
/* Resolve \n \t \e \\ in an example line (regexes keep theirs). */
static char *
example_unescape(const char *v)
{
	char	*out, *o;

	out = o = xmalloc(strlen(v) + 1);
	for (; *v != '\0'; v++) {
		if (*v == '\\' && v[1] != '\0' && strchr("nte\\", v[1])) {
			v++;
			*o++ = *v == 'n' ? '\n' : *v == 't' ? '\t' :
			    *v == 'e' ? '\x1b' : '\\';
		} else
			*o++ = *v;
	}
	*o = '\0';
	return (out);
}

static void
pattern_add_example(struct pattern *p, const char *key, const char *v,
    const char *source, int line)
{
	struct pattern_example	*x;

	p->ex = xreallocarray(p->ex, p->ex_count + 1, sizeof(*p->ex));
	x = &p->ex[p->ex_count++];
	x->is_json = strstr(key, "-json") != NULL;
	x->is_counter = strncmp(key, "counter", 7) == 0;
	x->text = x->is_json ? xstrdup(v) : example_unescape(v);
	x->source = source != NULL && *source != '\0' ? xstrdup(source) :
	    NULL;
	x->line = line;
}

/* "literal = text": a required literal of the regex just above. */
static int
pattern_add_literal(struct pattern *p, const char *v, const char *file,
    int line, char **cause)
{
	char	***l;
	size_t	  n = 0, k = p->re_count - 1, i;

	if (p->re_count == 0 || *v == '\0') {
		xasprintf(cause, "%s:%d: literal must follow a regex and not be "
		    "empty", file, line);
		return (-1);
	}
	l = &p->lits[k];
	if (!p->declared[k]) {
		/* declared literals replace extracted ones */
		prefilter_lits_free(*l);
		*l = NULL;
		p->declared[k] = 1;
	}
	while (*l != NULL && (*l)[n] != NULL)
		n++;
	*l = xreallocarray(*l, n + 2, sizeof(**l));
	(*l)[n] = xstrdup(v);
	for (i = 0; (*l)[n][i] != '\0'; i++)
		(*l)[n][i] = (char)tolower((unsigned char)(*l)[n][i]);
	(*l)[n + 1] = NULL;
	return (0);
}

static int
pattern_set(struct pattern *p, const char *key, const char *v,
    const char *source, const char *file, int line, char **cause)
{
	int	sev, lvl;

	if (strcmp(key, "title") == 0) {
		free(p->info.title);
		p->info.title = xstrdup(v);
	} else if (strcmp(key, "category") == 0) {
		free(p->info.category);
		p->info.category = xstrdup(v);
	} else if (strcmp(key, "level") == 0) {
		if ((lvl = pattern_level_parse(v)) == -1) {
			xasprintf(cause, "%s:%d: level must be info, warning, "
			    "error or critical", file, line);
			return (-1);
		}
		p->info.level = (enum pattern_level)lvl;
	} else if (strcmp(key, "regex") == 0) {
		return (pattern_add_regex(p, v, file, line, cause));
	} else if (strcmp(key, "status") == 0) {
		p->status = xreallocarray(p->status, p->status_count + 1,
		    sizeof(*p->status));
		if (parse_status(v, &p->status[p->status_count]) == -1) {
			xasprintf(cause, "%s:%d: status must be NNN or NNN-NNN "
			    "within 100-599", file, line);
			return (-1);
		}
		p->status_count++;
		p->info.status_count = p->status_count;
	} else if (strcmp(key, "log") == 0) {
		free(p->info.log);
		p->info.log = xstrdup(v);
	} else if (strcmp(key, "generic") == 0) {
		if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0) {
			xasprintf(cause, "%s:%d: generic must be yes or no",
			    file, line);
			return (-1);
		}
		p->info.generic = strcmp(v, "yes") == 0;
	} else if (strcmp(key, "literal") == 0) {
		return (pattern_add_literal(p, v, file, line, cause));
	} else if (strcmp(key, "min-severity") == 0) {
		if ((sev = severity_parse(v, strlen(v))) < 0) {
			xasprintf(cause, "%s:%d: unknown severity \"%s\"", file,
			    line, v);
			return (-1);
		}
		p->info.min_severity = sev;
	} else if (strcmp(key, "example") == 0 ||
	    strcmp(key, "example-json") == 0 ||
	    strcmp(key, "counter") == 0 ||
	    strcmp(key, "counter-json") == 0) {
		pattern_add_example(p, key, v, source, line);
	} else {
		xasprintf(cause, "%s:%d: unknown key \"%s\"", file, line, key);
		return (-1);
	}
	return (0);
}

static char *
trim(char *s)
{
	char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return (s);
}

/* Add p to c, replacing a pattern of the same id from an earlier dir. */
static void
catalogue_put(struct catalogue *c, struct pattern *p)
{
	size_t	i;

	for (i = 0; i < c->count; i++) {
		if (strcmp(c->p[i]->info.id, p->info.id) == 0) {
			pattern_free(c->p[i]);
			c->p[i] = p;
			return;
		}
	}
	c->p = xreallocarray(c->p, c->count + 1, sizeof(*c->p));
	c->p[c->count++] = p;
}

/*
 * Read one pattern file.  ids holds the ids already defined in this
 * directory, to refuse duplicates.
 */
/* The ids one directory defines, to refuse duplicates within it. */
struct dir_ids {
	char	**id;
	int	 *line;
	char	**file;
	size_t	  n;
};

static void
dir_ids_clear(struct dir_ids *d)
{
	size_t	i;

	for (i = 0; i < d->n; i++) {
		free(d->id[i]);
		free(d->file[i]);
	}
	free(d->id);
	free(d->line);
	free(d->file);
	memset(d, 0, sizeof(*d));
}

/*
 * "[id]" at path:line opens a pattern: check the id and that this
 * directory has not defined it yet.  Returns the new pattern, or NULL with
 * *cause.
 */
static struct pattern *
stanza_open(char *s, const char *path, int line, struct dir_ids *seen,
    char **cause)
{
	struct pattern	*p;
	char		*end;
	size_t		 i;

	end = strchr(s, ']');
	if (end == NULL || end[1] != '\0') {
		xasprintf(cause, "%s:%d: expected [pattern-id]", path, line);
		return (NULL);
	}
	*end = '\0';
	s++;
	if (!valid_id(s)) {
		xasprintf(cause, "%s:%d: bad id \"%s\": use lowercase letters, "
		    "digits and '-'", path, line, s);
		return (NULL);
	}
	for (i = 0; i < seen->n; i++) {
		if (strcmp(seen->id[i], s) == 0) {
			xasprintf(cause, "%s:%d: duplicate id \"%s\" (first in "
			    "%s:%d)", path, line, s, seen->file[i],
			    seen->line[i]);
			return (NULL);
		}
	}
	seen->id = xreallocarray(seen->id, seen->n + 1, sizeof(*seen->id));
	seen->file = xreallocarray(seen->file, seen->n + 1,
	    sizeof(*seen->file));
	seen->line = xreallocarray(seen->line, seen->n + 1,
	    sizeof(*seen->line));
	seen->id[seen->n] = xstrdup(s);
	seen->file[seen->n] = xstrdup(path);
	seen->line[seen->n++] = line;
	p = xcalloc(1, sizeof(*p));
	p->info.id = xstrdup(s);
	p->info.category = xstrdup("other");
	p->info.level = LEVEL_ERROR;
	p->info.file = xstrdup(path);
	p->info.line = line;
	p->info.min_severity = -1;
	return (p);
}

/* Append a line to a growing text (comment block or stanza). */
static void
text_add(char **text, size_t *len, const char *s)
{
	size_t	l = strlen(s);

	*text = xreallocarray(*text, *len + l + 2, 1);
	memcpy(*text + *len, s, l);
	(*text)[*len + l] = '\n';
	*len += l + 1;
	(*text)[*len] = '\0';
}

static int
is_example_key(const char *key)
{
	return (strncmp(key, "example", 7) == 0 ||
	    strncmp(key, "counter", 7) == 0);
}

/*
 * Read one pattern file.  The comment block right above an example (or a
 * run of examples) is its source; comments do not enter the version.
 */
static int
catalogue_read_file(struct catalogue *c, const char *path,
    struct dir_ids *seen, char **cause)
{
	FILE		*f;
	char		*buf = NULL, *s, *eq, *key;
	char		*stanza = NULL, *comment = NULL, *source = NULL;
	size_t		 bufsz = 0, stanza_len = 0, comment_len = 0;
	ssize_t		 n;
	int		 line = 0, rv = -1, after_comment = 0;
	struct pattern	*p = NULL;

	if ((f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	while ((n = getline(&buf, &bufsz, f)) != -1 || p != NULL) {
		s = n == -1 ? NULL : trim(buf);
		line += n != -1;
		if (n == -1 || *s == '[') {
			if (p != NULL) {
				if (pattern_check(p, cause) == -1)
					goto out;
				p->text = stanza;
				stanza = NULL;
				stanza_len = 0;
				catalogue_put(c, p);
				p = NULL;
			}
			if (n == -1)
				break;
			if ((p = stanza_open(s, path, line, seen, cause)) ==
			    NULL)
				goto out;
			text_add(&stanza, &stanza_len, s);
			free(source);
			source = NULL;
			after_comment = 0;
			continue;
		}
		if (*s == '#') {
			if (!after_comment)
				comment_len = 0;
			text_add(&comment, &comment_len, trim(s + 1));
			after_comment = 1;
			continue;
		}
		if (*s == '\0') {
			/* a blank line ends a comment block and a run of
			 * examples sharing a source */
			after_comment = 0;
			free(source);
			source = NULL;
			continue;
		}
		if (p == NULL) {
			xasprintf(cause, "%s:%d: expected [pattern-id] before "
			    "keys", path, line);
			goto out;
		}
		text_add(&stanza, &stanza_len, s);
		if ((eq = strchr(s, '=')) == NULL) {
			xasprintf(cause, "%s:%d: expected key = value", path,
			    line);
			goto out;
		}
		*eq = '\0';
		key = trim(s);
		/* a comment right above starts a new source; a run of
		 * examples shares it; any other key or a blank line ends it */
		if (!is_example_key(key) || after_comment) {
			free(source);
			source = is_example_key(key) && after_comment ?
			    xstrndup(comment, comment_len - 1) : NULL;
		}
		after_comment = 0;
		if (pattern_set(p, key, trim(eq + 1), source, path, line,
		    cause) == -1)
			goto out;
	}
	rv = 0;
out:
	if (ferror(f) && rv == 0) {
		xasprintf(cause, "%s: read error", path);
		rv = -1;
	}
	pattern_free(p);
	free(stanza);
	free(comment);
	free(source);
	free(buf);
	fclose(f);
	return (rv);
}

static int
name_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

static int
catalogue_read_dir(struct catalogue *c, const char *dir, char **cause)
{
	DIR		*d;
	struct dirent	*de;
	char		**names = NULL, *path;
	size_t		  n = 0, i, l;
	int		  rv = 0;
	struct dir_ids	  seen;

	if ((d = opendir(dir)) == NULL) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (l < 6 || strcmp(de->d_name + l - 5, ".conf") != 0 ||
		    de->d_name[0] == '.')
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	memset(&seen, 0, sizeof(seen));
	/* sorted, so the version does not depend on readdir order */
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n && rv == 0; i++) {
		xasprintf(&path, "%s/%s", dir, names[i]);
		rv = catalogue_read_file(c, path, &seen, cause);
		free(path);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	dir_ids_clear(&seen);
	return (rv);
}

/*
 * Build the prefilter: regex ids run over all patterns in order, and each
 * regex either has literals in the automaton or always runs.
 */
static void
catalogue_prefilter(struct catalogue *c)
{
	char	**lits;
	size_t	  i, k, l, id = 0;

	for (i = 0; i < c->count; i++)
		c->nre += c->p[i]->re_count;
	c->always = xcalloc(c->nre + 1, 1);
	c->mark = xcalloc(c->nre + 1, sizeof(*c->mark));
	c->pf = prefilter_new();
	for (i = 0; i < c->count; i++) {
		c->p[i]->re_base = id;
		for (k = 0; k < c->p[i]->re_count; k++, id++) {
			lits = c->p[i]->lits[k];
			if (lits == NULL) {
				c->always[id] = 1;
				continue;
			}
			for (l = 0; lits[l] != NULL; l++)
				prefilter_add(c->pf, lits[l], (uint32_t)id);
		}
	}
	prefilter_build(c->pf);
}

struct catalogue *
catalogue_load(char *const *dirs, char **cause)
{
	struct catalogue	*c;
	uint64_t		 h = 0;
	size_t			 i;

	c = xcalloc(1, sizeof(*c));
	for (i = 0; dirs[i] != NULL; i++)
		if (catalogue_read_dir(c, dirs[i], cause) == -1)
			goto fail;
	/* The version: what the patterns say, not where they live. */
	for (i = 0; i < c->count; i++)
		h = hash64(c->p[i]->text, strlen(c->p[i]->text), h);
	snprintf(c->version, sizeof(c->version), "%016llx",
	    (unsigned long long)h);
	c->md = pcre2_match_data_create(1, NULL);
	c->mctx = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(c->mctx, MATCH_LIMIT);
	c->jit_stack = pcre2_jit_stack_create(JIT_STACK_MIN, JIT_STACK_MAX,
	    NULL);
	if (c->jit_stack != NULL)
		pcre2_jit_stack_assign(c->mctx, NULL, c->jit_stack);
	c->scratch_size = ENTRY_MESSAGE_MAX + 64;
	c->scratch = xmalloc(c->scratch_size);
	catalogue_prefilter(c);
	return (c);
fail:
	catalogue_free(c);
	return (NULL);
}

const char *
catalogue_version(const struct catalogue *c)
{
	return (c->version);
}

size_t
catalogue_size(const struct catalogue *c)
{
	return (c->count);
}

const struct pattern_info *
catalogue_pattern(const struct catalogue *c, size_t i)
{
	return (&c->p[i]->info);
}

unsigned long
catalogue_match_errors(const struct catalogue *c)
{
	return (c->match_errors);
}

void
catalogue_warn_match_errors(const struct catalogue *c)
{
	if (c != NULL && c->match_errors > 0)
		log_warnx("%lu matches hit the PCRE2 match limit and counted "
		    "as no match", c->match_errors);
}

static size_t	catalogue_match_some(struct catalogue *,
		    const struct log_entry *, size_t *, int);

/* Copy msg without ANSI CSI sequences (ESC '[' ... final byte). */
static size_t
strip_ansi(char *dst, const char *src, size_t len)
{
	size_t	i = 0, o = 0;

	while (i < len) {
		if (src[i] == '\x1b' && i + 1 < len && src[i + 1] == '[') {
			i += 2;
			while (i < len && ((unsigned char)src[i] < 0x40 ||
			    (unsigned char)src[i] > 0x7e))
				i++;
			i++;
			continue;
		}
		dst[o++] = src[i++];
	}
	return (o);
}

/* Does the entry's log id equal want ("run.googleapis.com/requests")? */
static int
log_is(const struct log_entry *e, const char *want)
{
	const char	*p;
	size_t		 n, i, j, wl = strlen(want);

	if (e->log_name.len == 0)
		return (0);
	p = memmem(e->log_name.p, e->log_name.len, "/logs/", 6);
	if (p == NULL)
		return (0);
	p += 6;
	n = e->log_name.len - (size_t)(p - e->log_name.p);
	/* compare with %2F decoded */
	for (i = 0, j = 0; i < n && j < wl; j++) {
		if (p[i] == '%' && i + 2 < n && p[i + 1] == '2' &&
		    (p[i + 2] == 'F' || p[i + 2] == 'f')) {
			if (want[j] != '/')
				return (0);
			i += 3;
		} else if (p[i++] != want[j])
			return (0);
	}
	return (i == n && j == wl);
}

size_t
catalogue_match(struct catalogue *c, const struct log_entry *e, size_t *out)
{
	return (catalogue_match_some(c, e, out, 1));
}

size_t
catalogue_match_all(struct catalogue *c, const struct log_entry *e,
    size_t *out)
{
	return (catalogue_match_some(c, e, out, 0));
}

size_t
catalogue_examples(const struct catalogue *c, size_t i,
    const struct pattern_example **out)
{
	*out = c->p[i]->ex;
	return (c->p[i]->ex_count);
}

const char *
catalogue_regex(const struct catalogue *c, size_t i, size_t k,
    char *const **lits, int *declared)
{
	*lits = c->p[i]->lits[k];
	*declared = c->p[i]->declared[k];
	return (c->p[i]->re_src[k]);
}

void
catalogue_status(const struct catalogue *c, size_t i, size_t k, int *lo,
    int *hi)
{
	*lo = c->p[i]->status[k].lo;
	*hi = c->p[i]->status[k].hi;
}

/* Match e; use_prefilter 0 runs every regex (to check the prefilter). */
static size_t
catalogue_match_some(struct catalogue *c, const struct log_entry *e,
    size_t *out, int use_prefilter)
{
	const struct pattern	*p;
	const char		*msg = e->message.p;
	size_t			 len = e->message.len, i, k, n = 0, id;
	int			 rc, hit;

	if (len > 0 && memchr(msg, '\x1b', len) != NULL) {
		len = strip_ansi(c->scratch, msg, len);
		msg = c->scratch;
	}
	if (++c->stamp == 0) {
		/* wrapped: no stale mark may equal a new stamp */
		memset(c->mark, 0, (c->nre + 1) * sizeof(*c->mark));
		c->stamp = 1;
	}
	prefilter_scan(c->pf, msg, len, c->mark, c->stamp);
	for (i = 0; i < c->count; i++) {
		p = c->p[i];
		id = p->re_base;
		if (p->info.min_severity >= 0 &&
		    e->severity < p->info.min_severity)
			continue;
		if (p->info.log != NULL && !log_is(e, p->info.log))
			continue;
		hit = 0;
		for (k = 0; k < p->status_count && !hit; k++)
			hit = e->http_status >= p->status[k].lo &&
			    e->http_status <= p->status[k].hi;
		for (k = 0; k < p->re_count && !hit; k++) {
			if (use_prefilter && !c->always[id + k] &&
			    c->mark[id + k] != c->stamp)
				continue;	/* no required literal here */
			rc = pcre2_match(p->re[k], (PCRE2_SPTR)msg, len, 0, 0,
			    c->md, c->mctx);
			if (rc >= 0)
				hit = 1;
			else if (rc == PCRE2_ERROR_MATCHLIMIT ||
			    rc == PCRE2_ERROR_JIT_STACKLIMIT)
				c->match_errors++;
		}
		if (hit)
			out[n++] = i;
	}
	return (n);
}
