/*
 * Stage 5: what changed between two revisions -- pure functions, no I/O.
 * `diff` classifies with them, and so will the daemon's live findings and
 * the alerts: one meaning of "new" everywhere.
 */
#ifndef COMPARE_H
#define COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include "entry.h"

enum cmp_class {
	CLASS_NEW,		/* in R, in no earlier revision of the service */
	CLASS_RETURNING,	/* in R, not in R0, in an older revision */
	CLASS_REGRESSED,	/* in both, significantly more often in R */
	CLASS_GONE,		/* in R0, not in R */
	CLASS_IMPROVED,		/* in both, significantly less often in R */
	CLASS_UNCHANGED,
	CLASS_NOT_COMPARABLE,	/* a catalogue of one side lacked it */
	CLASS_COUNT
};
const char	*cmp_class_name(enum cmp_class);

#define CMP_ALPHA_DEFAULT	0.001	/* before Holm's correction */
#define CMP_MIN_COUNT_DEFAULT	5	/* occurrences in R to regress */

struct cmp_params {
	double		 alpha;
	uint64_t	 min_count;
};

/* One pattern or template, as input (above) and result (below). */
struct cmp_pattern {
	const char	*id;
	uint64_t	 count;		/* in R's window */
	uint64_t	 previous_count;	/* in R0's window */
	uint32_t	 log_kinds;	/* 1 << enum log_kind, either side */
	int		 seen_before;	/* in a revision older than R0 */
	int		 comparable;	/* both sides' catalogues knew it */

	enum cmp_class	 class;
	uint64_t	 exposure;	/* R's traffic of its logs */
	uint64_t	 previous_exposure;
	double		 rate;		/* per 1000 exposure; -1: none */
	double		 previous_rate;
	double		 p_value;	/* the test's, after Holm; for gone the
					   chance of no occurrence at R0's
					   rate; -1 when no test */
};

/*
 * Classify n patterns of revision R against R0.  exposure and previous
 * are entries by log kind in each window; previous is NULL when R has no
 * predecessor (everything is then CLASS_UNCHANGED: nothing to compare).
 * A rate is count over the traffic of the logs the pattern came from.
 * Regression and improvement: the one-sided conditional binomial test for
 * two Poisson rates, alpha with Holm's correction across the patterns in
 * both, at least min_count occurrences on the larger side.
 */
void	cmp_classify(struct cmp_pattern *p, size_t n,
	    const uint64_t exposure[LOG_KIND_COUNT],
	    const uint64_t *previous, const struct cmp_params *params);

/* P(X >= k) and P(X <= k) for X ~ Binomial(n, p): the two tails. */
double	cmp_binom_upper(uint64_t k, uint64_t n, double p);
double	cmp_binom_lower(uint64_t k, uint64_t n, double p);

#endif
