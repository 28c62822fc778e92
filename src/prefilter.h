/*
 * The catalogue's prefilter: one Aho-Corasick pass over a message finds
 * which regexes can possibly match (each has literals of which one must
 * occur), so PCRE2 runs only on those.  Calling PCRE2 for every regex on
 * every message costs a call each; this pass costs one table step per
 * byte whatever the number of patterns.  Matching is ASCII case-folded:
 * a false candidate costs one PCRE2 call, never a wrong answer.
 */
#ifndef PREFILTER_H
#define PREFILTER_H

#include <stddef.h>
#include <stdint.h>

/*
 * The literals one of which every match of regex contains, lowercased,
 * as a NULL-terminated array the caller frees with prefilter_lits_free().
 * NULL when the regex has none that can be proven (it must always run).
 */
char		**prefilter_literals(const char *regex);
void		  prefilter_lits_free(char **);

struct prefilter;

struct prefilter *prefilter_new(void);
void		  prefilter_free(struct prefilter *);	/* NULL ok */
/* Add a literal standing for regex id (ids are small and dense). */
void		  prefilter_add(struct prefilter *, const char *lit,
		    uint32_t id);
/* Build the automaton; no prefilter_add() after this. */
void		  prefilter_build(struct prefilter *);
/* Set mark[id] = stamp for every id one of whose literals occurs. */
void		  prefilter_scan(const struct prefilter *, const char *text,
		    size_t len, uint32_t *mark, uint32_t stamp);

#endif
