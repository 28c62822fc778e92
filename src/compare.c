/*
 * Revision comparison.  "New" means no earlier revision of the service
 * ever showed the pattern; a catalogue that did not hold it makes a side
 * unknown, so such a pattern is "not comparable", never "new".
 *
 * The test: given c occurrences in R and c0 in R0 over exposures e and e0,
 * under equal rates c is Binomial(c + c0, e / (e + e0)); a small upper
 * tail says R got worse, a small lower tail better.  Holm's step-down
 * keeps the chance of any false "regressed" across the patterns at alpha.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"

static const char *class_names[CLASS_COUNT] = {
	"new", "returning", "regressed", "gone", "improved", "unchanged",
	"not_comparable"
};

const char *
cmp_class_name(enum cmp_class c)
{
	return (c < CLASS_COUNT ? class_names[c] : "unknown");
}

/* Continued fraction of the incomplete beta (modified Lentz). */
static double
beta_cf(double a, double b, double x)
{
	const double	 tiny = 1e-300, eps = 1e-14;
	double		 c = 1, d, h, num, del;
	int		 m, m2;

	d = 1 - (a + b) * x / (a + 1);
	if (fabs(d) < tiny)
		d = tiny;
	d = 1 / d;
	h = d;
	for (m = 1; m <= 10000; m++) {
		m2 = 2 * m;
		num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
		d = 1 + num * d;
		d = fabs(d) < tiny ? tiny : d;
		c = 1 + num / c;
		c = fabs(c) < tiny ? tiny : c;
		d = 1 / d;
		h *= d * c;
		num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
		d = 1 + num * d;
		d = fabs(d) < tiny ? tiny : d;
		c = 1 + num / c;
		c = fabs(c) < tiny ? tiny : c;
		d = 1 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < eps)
			break;
	}
	return (h);
}

/* The regularised incomplete beta I_x(a, b). */
static double
beta_inc(double a, double b, double x)
{
	double	front;

	if (x <= 0)
		return (0);
	if (x >= 1)
		return (1);
	front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) +
	    b * log1p(-x));
	if (x < (a + 1) / (a + b + 2))
		return (front * beta_cf(a, b, x) / a);
	return (1 - front * beta_cf(b, a, 1 - x) / b);
}

double
cmp_binom_lower(uint64_t k, uint64_t n, double p)
{
	if (k >= n)
		return (1);
	/* P(X <= k) = I_{1-p}(n - k, k + 1), without 1 - upper's
	 * cancellation when the tail is tiny */
	return (beta_inc((double)(n - k), (double)k + 1, 1 - p));
}

double
cmp_binom_upper(uint64_t k, uint64_t n, double p)
{
	if (k == 0)
		return (1);
	if (k > n)
		return (0);
	/* P(X >= k) = I_p(k, n - k + 1) */
	return (beta_inc((double)k, (double)(n - k + 1), p));
}

static uint64_t
exposure_of(const uint64_t e[LOG_KIND_COUNT], uint32_t kinds)
{
	uint64_t	sum = 0;
	int		k;

	for (k = 0; k < LOG_KIND_COUNT; k++)
		if (kinds == 0 || (kinds & (1u << k)))
			sum += e[k];
	return (sum);
}

struct holm {
	double	 p;
	size_t	 i;
};

static int
holm_cmp(const void *a, const void *b)
{
	const struct holm	*x = a, *y = b;

	return (x->p < y->p ? -1 : x->p > y->p);
}

void
cmp_classify(struct cmp_pattern *p, size_t n,
    const uint64_t exposure[LOG_KIND_COUNT], const uint64_t *previous,
    const struct cmp_params *params)
{
	struct holm	*tests;
	size_t		 i, m = 0;
	double		 share, up, down, adj, prev_adj = 0;

	tests = calloc(n + 1, sizeof(*tests));
	if (tests == NULL)
		abort();
	for (i = 0; i < n; i++) {
		struct cmp_pattern	*c = &p[i];

		c->exposure = exposure_of(exposure, c->log_kinds);
		c->previous_exposure = previous != NULL ?
		    exposure_of(previous, c->log_kinds) : 0;
		c->rate = c->exposure > 0 ?
		    1000.0 * (double)c->count / (double)c->exposure : -1;
		c->previous_rate = c->previous_exposure > 0 ? 1000.0 *
		    (double)c->previous_count / (double)c->previous_exposure :
		    -1;
		c->p_value = -1;
		c->class = CLASS_UNCHANGED;
		if (previous == NULL)
			continue;	/* nothing to compare */
		if (!c->comparable) {
			c->class = CLASS_NOT_COMPARABLE;
			continue;
		}
		if (c->count > 0 && c->previous_count == 0) {
			c->class = c->seen_before ? CLASS_RETURNING : CLASS_NEW;
			continue;
		}
		if (c->count == 0) {
			c->class = CLASS_GONE;
			/* how likely no occurrence was at R0's rate */
			if (c->previous_exposure > 0)
				c->p_value = exp(-(double)c->previous_count *
				    (double)c->exposure /
				    (double)c->previous_exposure);
			continue;
		}
		/* in both: test in the direction the rate moved */
		if (c->exposure == 0 || c->previous_exposure == 0)
			continue;
		share = (double)c->exposure /
		    (double)(c->exposure + c->previous_exposure);
		up = cmp_binom_upper(c->count, c->count + c->previous_count,
		    share);
		down = cmp_binom_lower(c->count, c->count + c->previous_count,
		    share);
		tests[m].p = up < down ? up : down;
		tests[m].i = i;
		m++;
	}
	/* Holm: the k-th smallest p against alpha / (m - k), monotone */
	qsort(tests, m, sizeof(*tests), holm_cmp);
	for (i = 0; i < m; i++) {
		struct cmp_pattern	*c = &p[tests[i].i];
		int			 worse = c->rate > c->previous_rate;

		adj = tests[i].p * (double)(m - i);
		if (adj < prev_adj)
			adj = prev_adj;
		if (adj > 1)
			adj = 1;
		prev_adj = adj;
		c->p_value = adj;
		if (adj > params->alpha)
			continue;
		if (worse && c->count >= params->min_count)
			c->class = CLASS_REGRESSED;
		else if (!worse && c->previous_count >= params->min_count)
			c->class = CLASS_IMPROVED;
	}
	free(tests);
}
