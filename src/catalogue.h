/*
 * Stage 3: the pattern catalogue.  Pattern files (patterns/ *.conf, format
 * in logaudit-patterns(5)) -> a compiled set (PCRE2 JIT) -> the patterns
 * each entry matches.  The catalogue's version is a hash of its contents,
 * so the store can say which catalogue counted what.
 */
#ifndef CATALOGUE_H
#define CATALOGUE_H

#include <stddef.h>

#include "entry.h"

enum pattern_level {
	LEVEL_INFO,
	LEVEL_WARNING,
	LEVEL_ERROR,
	LEVEL_CRITICAL
};
const char	*pattern_level_name(enum pattern_level);
/* "info" .. "critical" (NULL ok) -> its level, or -1. */
int		 pattern_level_parse(const char *);

struct pattern_info {
	char			*id;		/* lowercase, '-' separated */
	char			*title;
	char			*category;
	enum pattern_level	 level;
	char			*file;		/* where it was defined */
	int			 line;
	int			 min_severity;	/* -1: any */
	char			*log;		/* log id filter, or NULL */
	size_t			 regex_count;
	size_t			 status_count;
	int			 generic;	/* "generic = yes": counts, but does
						   not keep an entry from its
						   template */
};

/* An example (must match) or counter (must not) of a pattern. */
struct pattern_example {
	char		*text;		/* escapes \n \t \e \\ resolved */
	int		 is_json;	/* a whole LogEntry */
	int		 is_counter;
	char		*source;	/* the comment lines above it, or NULL */
	int		 line;		/* in the pattern's file */
};

struct catalogue;

/*
 * The directories to load, by the search order: the --patterns dirs when
 * any were given, else LOGAUDIT_PATTERNS (':'-separated), else the
 * installed directory.  Returns a NULL-terminated array the caller frees
 * with catalogue_dirs_free().
 */
char		**catalogue_dirs(char *const *opt_dirs, size_t n);
void		  catalogue_dirs_free(char **);

/*
 * Load every *.conf in dirs (NULL-terminated), later directories
 * overriding patterns of the same id.  Returns NULL and sets *cause
 * ("file:line: reason") on the first error.
 */
struct catalogue	*catalogue_load(char *const *dirs, char **cause);
void			 catalogue_free(struct catalogue *);	/* NULL ok */

const char		*catalogue_version(const struct catalogue *);
size_t			 catalogue_size(const struct catalogue *);
const struct pattern_info *catalogue_pattern(const struct catalogue *,
			    size_t i);

/*
 * Match e against every pattern.  Writes the indexes of the patterns that
 * match into out (room for catalogue_size() items) and returns how many.
 */
size_t			 catalogue_match(struct catalogue *,
			    const struct log_entry *e, size_t *out);

/* The same without the literal prefilter: every regex runs (for tests). */
size_t			 catalogue_match_all(struct catalogue *,
			    const struct log_entry *e, size_t *out);

/* Pattern i's examples and counters, in file order. */
size_t			 catalogue_examples(const struct catalogue *, size_t i,
			    const struct pattern_example **out);

/*
 * Regex k of pattern i as written; *lits gets its required literals
 * (NULL-terminated, declared with "literal" or extracted; NULL when it
 * has none and runs on every message).
 */
const char		*catalogue_regex(const struct catalogue *, size_t i,
			    size_t k, char *const **lits, int *declared);

/* "lo-hi" of status range k of pattern i. */
void			 catalogue_status(const struct catalogue *, size_t i,
			    size_t k, int *lo, int *hi);

/* Matches that hit PCRE2's match limit (counted as no match). */
unsigned long		 catalogue_match_errors(const struct catalogue *);

/*
 * Say on stderr how many matches hit the limit, if any: the end-of-run
 * line every command that matches prints (NULL ok).
 */
void			 catalogue_warn_match_errors(const struct catalogue *);

#endif
