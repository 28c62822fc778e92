/*
 * Unit tests for the revision comparison (src/compare.c): the binomial
 * upper tail against values computed independently in python3 with
 * math.comb, and cmp_classify on hand-built inputs -- the classes, the
 * rates over the traffic of the pattern's own logs, the "gone" p-value,
 * min_count, and Holm's step-down (multipliers, monotonicity, the cap).
 *
 * Every expected number is hard-coded with the python3 expression that
 * gave it, where
 *     from math import comb, exp
 *     from fractions import Fraction as F
 *     up = lambda k, n, p: sum(comb(n, i) * F(p)**i * (1 - F(p))**(n - i)
 *                              for i in range(k, n + 1))
 * (exact rational arithmetic, converted with float() at the end).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "compare.h"
#include "tap.h"

/* got within rel (relative) of want; want 0: |got| <= rel. */
static void
near(double got, double want, double rel, const char *name, int line)
{
	double	tol = want == 0 ? rel : fabs(want) * rel;

	if (!tap_ok(fabs(got - want) <= tol, name, __FILE__, line))
		printf("#   got %.17g, want %.17g (relative tolerance %g)\n",
		    got, want, rel);
}
#define is_near(got, want, rel, name)	near((got), (want), (rel), (name), \
	    __LINE__)

static void
test_binom_upper(void)
{
	/* edges: k = 0 is certain, k > n impossible */
	is_near(cmp_binom_upper(0, 10, 0.3), 1, 0, "P(X >= 0) = 1");
	is_near(cmp_binom_upper(0, 0, 0.3), 1, 0, "n = 0, k = 0: 1");
	is_near(cmp_binom_upper(11, 10, 0.3), 0, 0, "k > n: 0");
	is_near(cmp_binom_upper(1, 10, 0.0), 0, 0, "p = 0: 0");
	is_near(cmp_binom_upper(10, 10, 1.0), 1, 0, "p = 1: 1");

	/* float(up(2, 3, 0.5)) == 0.5 */
	is_near(cmp_binom_upper(2, 3, 0.5), 0.5, 1e-12, "up(2, 3, 0.5)");
	/* float(up(1, 1, 0.25)) == 0.25 */
	is_near(cmp_binom_upper(1, 1, 0.25), 0.25, 1e-12, "up(1, 1, 0.25)");
	/* float(up(5, 10, 0.5)) == 0.623046875 (638 / 1024) */
	is_near(cmp_binom_upper(5, 10, 0.5), 0.623046875, 1e-12,
	    "up(5, 10, 0.5)");
	/* float(up(7, 20, 0.1)) */
	is_near(cmp_binom_upper(7, 20, 0.1), 0.0023860894089661176, 1e-10,
	    "up(7, 20, 0.1)");
	/* float(up(3, 5, 0.9)) */
	is_near(cmp_binom_upper(3, 5, 0.9), 0.99144, 1e-10, "up(3, 5, 0.9)");
	/* float(up(20, 20, 0.9)) == 0.9**20 */
	is_near(cmp_binom_upper(20, 20, 0.9), 0.12157665459056935, 1e-10,
	    "up(20, 20, 0.9): p^n");
	/* float(up(50, 100, 0.3)) */
	is_near(cmp_binom_upper(50, 100, 0.3), 2.2060913327165967e-05, 1e-9,
	    "up(50, 100, 0.3)");
	/* float(up(60, 200, F(1, 3))) */
	is_near(cmp_binom_upper(60, 200, 1.0 / 3), 0.8591488415898166, 1e-9,
	    "up(60, 200, 1/3)");
	/* float(up(1, 10, 0.001)) == 1 - 0.999**10 */
	is_near(cmp_binom_upper(1, 10, 0.001), 0.00995511979025179, 1e-10,
	    "up(1, 10, 0.001)");
	/* float(up(25, 40, 0.5)), float(up(15, 40, 0.5)) */
	is_near(cmp_binom_upper(25, 40, 0.5), 0.07692997208141605, 1e-10,
	    "up(25, 40, 0.5)");
	is_near(cmp_binom_upper(15, 40, 0.5), 0.9596547661240038, 1e-10,
	    "up(15, 40, 0.5)");
	/* float(up(1000, 1010, 0.5)): far in the tail, no underflow */
	is_near(cmp_binom_upper(1000, 1010, 0.5), 2.6797874373123635e-281,
	    1e-8, "up(1000, 1010, 0.5) ~ 2.68e-281");
	/* float(up(4, 5, F(1000, 1001000))) */
	is_near(cmp_binom_upper(4, 5, 1000.0 / 1001000),
	    4.976069840314441e-12, 1e-9, "up(4, 5, 1000/1001000)");
	/* float(up(11, 1010, 0.5)) == 1.0 */
	is_near(cmp_binom_upper(11, 1010, 0.5), 1.0, 1e-12,
	    "up(11, 1010, 0.5) ~ 1");
}

/* A pattern as diff hands it over. */
static struct cmp_pattern
pat(const char *id, uint64_t count, uint64_t previous_count, uint32_t kinds,
    int seen_before, int comparable)
{
	struct cmp_pattern	p;

	memset(&p, 0, sizeof(p));
	p.id = id;
	p.count = count;
	p.previous_count = previous_count;
	p.log_kinds = kinds;
	p.seen_before = seen_before;
	p.comparable = comparable;
	return (p);
}

#define K(k)	(1u << (k))

static void
test_classes(void)
{
	/* requests, stdout, stderr, system, audit, other */
	const uint64_t		 e[LOG_KIND_COUNT] = { 2000, 1200, 20, 0, 0, 0 };
	const uint64_t		 e0[LOG_KIND_COUNT] = { 2000, 1200, 10, 0, 0, 0 };
	struct cmp_params	 params = { CMP_ALPHA_DEFAULT,
	    CMP_MIN_COUNT_DEFAULT };
	struct cmp_pattern	 p[8];

	p[0] = pat("new", 4, 0, K(LOG_STDOUT), 0, 1);
	p[1] = pat("returning", 3, 0, K(LOG_STDOUT), 1, 1);
	p[2] = pat("regressed", 1000, 10, K(LOG_REQUESTS), 1, 1);
	p[3] = pat("gone", 0, 6, K(LOG_STDERR), 1, 1);
	p[4] = pat("improved", 10, 1000, K(LOG_STDOUT), 1, 1);
	p[5] = pat("unchanged", 5, 5, K(LOG_STDOUT), 1, 1);
	p[6] = pat("not-comparable", 7, 0, K(LOG_STDOUT), 0, 0);
	p[7] = pat("tiny", 2, 1, K(LOG_REQUESTS), 1, 1);
	cmp_classify(p, 8, e, e0, &params);

	is_str(cmp_class_name(p[0].class), "new", "in R only, never before: new");
	is_near(p[0].p_value, -1, 0, "new: no p-value");
	is_near(p[0].rate, 1000.0 * 4 / 1200, 1e-12,
	    "new: rate per 1000 stdout entries");
	is_near(p[0].previous_rate, 0, 0, "new: previous rate 0");
	is_str(cmp_class_name(p[1].class), "returning",
	    "in R, not R0, seen before: returning");
	is_str(cmp_class_name(p[2].class), "regressed",
	    "1000 vs 10 on equal traffic: regressed");
	is_int(p[2].exposure, 2000, "regressed: exposure is the requests log");
	is_int(p[2].previous_exposure, 2000, "regressed: previous exposure");
	is_near(p[2].rate, 500, 1e-12, "regressed: rate 500 per 1000");
	is_near(p[2].previous_rate, 5, 1e-12, "regressed: previous rate 5");
	/*
	 * Holm over the 4 patterns in both (regressed, improved, unchanged,
	 * tiny): regressed's raw p is float(up(1000, 1010, F(1, 2))) =
	 * 2.6797874373123635e-281; it is the smallest or second smallest
	 * (improved's is as small), so times 4 or 3 (test_holm checks the
	 * multipliers exactly).
	 */
	ok(p[2].p_value >= 3 * 2.6797874373123635e-281 * (1 - 1e-8) &&
	    p[2].p_value <= 4 * 2.6797874373123635e-281 * (1 + 1e-8),
	    "regressed: Holm p-value 3 or 4 x up(1000, 1010, 1/2)");
	is_str(cmp_class_name(p[3].class), "gone", "in R0 only: gone");
	/* exp(-6 * 20 / 10) */
	is_near(p[3].p_value, 6.14421235332821e-06, 1e-10,
	    "gone: p = exp(-c0 * e / e0) = exp(-12)");
	is_near(p[3].rate, 0, 0, "gone: rate 0");
	is_near(p[3].previous_rate, 600, 1e-12,
	    "gone: previous rate 6 per 10 stderr entries = 600/1k");
	is_str(cmp_class_name(p[4].class), "improved",
	    "10 vs 1000 on equal traffic: improved");
	ok(p[4].p_value >= 0 && p[4].p_value < 1e-200,
	    "improved: p-value tiny");
	is_str(cmp_class_name(p[5].class), "unchanged", "5 vs 5: unchanged");
	/*
	 * float(up(5, 10, F(1, 2))) = 0.623046875, the larger of the 4:
	 * times 1, but no less than the previous adjusted value, tiny's:
	 * 1 - float(up(3, 3, F(1, 2))) = 0.875 for its lower tail vs
	 * float(up(2, 3, F(1, 2))) = 0.5 upper, min 0.5, times 2 = 1.0.
	 */
	is_near(p[5].p_value, 1.0, 1e-12,
	    "unchanged: Holm p-value monotone (max with the previous, 1.0)");
	is_str(cmp_class_name(p[6].class), "not_comparable",
	    "a side's catalogue lacked it: not comparable, never new");
	is_near(p[6].p_value, -1, 0, "not comparable: no p-value");
	is_str(cmp_class_name(p[7].class), "unchanged",
	    "2 vs 1 on tiny traffic: unchanged");
	is_near(p[7].p_value, 1.0, 1e-12,
	    "2 vs 1: Holm p-value min(1, 0.5 x 2)");
	is_str(cmp_class_name(CLASS_COUNT), "unknown", "class name out of range");
}

/* No predecessor: everything unchanged, no p-values, rates of R only. */
static void
test_no_previous(void)
{
	const uint64_t		 e[LOG_KIND_COUNT] = { 100, 0, 0, 0, 0, 0 };
	struct cmp_params	 params = { CMP_ALPHA_DEFAULT,
	    CMP_MIN_COUNT_DEFAULT };
	struct cmp_pattern	 p[2];

	p[0] = pat("a", 7, 0, K(LOG_REQUESTS), 0, 1);
	p[1] = pat("b", 3, 0, K(LOG_REQUESTS), 0, 0);
	cmp_classify(p, 2, e, NULL, &params);
	is_str(cmp_class_name(p[0].class), "unchanged",
	    "no previous revision: unchanged, not new");
	is_str(cmp_class_name(p[1].class), "unchanged",
	    "no previous revision: even a not-comparable one unchanged");
	is_near(p[0].p_value, -1, 0, "no previous: no p-value");
	is_near(p[0].rate, 70, 1e-12, "no previous: rate 7 per 100");
	is_near(p[0].previous_rate, -1, 0, "no previous: previous rate -1");
	is_int(p[0].previous_exposure, 0, "no previous: previous exposure 0");
	cmp_classify(p, 0, e, e, &params);
	ok(1, "no patterns: no crash");
}

/* A rate is the count over the traffic of its own logs. */
static void
test_log_kinds(void)
{
	const uint64_t		 e[LOG_KIND_COUNT] = { 2000, 50000, 20, 0, 0,
	    0 };
	const uint64_t		 e0[LOG_KIND_COUNT] = { 2000, 1000, 10, 0, 0,
	    0 };
	struct cmp_params	 params = { CMP_ALPHA_DEFAULT,
	    CMP_MIN_COUNT_DEFAULT };
	struct cmp_pattern	 p[3];

	p[0] = pat("http", 50, 50, K(LOG_REQUESTS), 1, 1);
	p[1] = pat("any", 300, 20, 0, 1, 1);
	p[2] = pat("out-err", 40, 40, K(LOG_STDOUT) | K(LOG_STDERR), 1, 1);
	cmp_classify(p, 3, e, e0, &params);
	is_int(p[0].exposure, 2000, "requests pattern: requests exposure");
	is_near(p[0].rate, 25, 1e-12, "requests pattern: rate 25");
	is_near(p[0].previous_rate, 25, 1e-12,
	    "requests pattern: previous rate 25");
	is_str(cmp_class_name(p[0].class), "unchanged",
	    "50 errors in 2000 requests both times, stdout x50: unchanged");
	is_int(p[1].exposure, 52020, "log_kinds 0: every log's exposure");
	is_int(p[1].previous_exposure, 3010,
	    "log_kinds 0: every log's previous exposure");
	is_int(p[2].exposure, 50020, "stdout|stderr: their exposure summed");
	is_int(p[2].previous_exposure, 1010,
	    "stdout|stderr: previous exposure summed");
	is_str(cmp_class_name(p[2].class), "improved",
	    "40 in 50020 vs 40 in 1010: improved");
	/*
	 * The lower tail P(X <= 40), X ~ Binomial(80, 50020 / 51030):
	 * float(1 - up(41, 80, F(50020, 51030))) = 3.569660250737912e-46,
	 * the smallest of 3 tests: times 3.  Computed as 1 - (upper tail)
	 * it would come out 0: the lower tail needs its own computation.
	 */
	is_near(p[2].p_value, 3 * 3.569660250737912e-46, 1e-6,
	    "improved: the lower-tail p-value keeps its precision (~1.07e-45)");
}

/* Holm's step-down, the monotone adjustment, min_count. */
static void
test_holm(void)
{
	const uint64_t		 e[LOG_KIND_COUNT] = { 1000, 0, 0, 0, 0, 0 };
	struct cmp_params	 params = { 0.05, CMP_MIN_COUNT_DEFAULT };
	struct cmp_pattern	 p[7], q[2];

	/*
	 * Equal exposure, share 1/2.  Raw p (the upper tail):
	 *   30 vs 10: float(up(30, 40, F(1, 2))) = 0.0011107168866146822
	 *   27 vs 13: float(up(27, 40, F(1, 2))) = 0.01923865414210013
	 *   26 vs 14: float(up(26, 40, F(1, 2))) = 0.0403452338759962
	 *   24 vs 16: float(up(24, 40, F(1, 2))) = 0.13409362552738457
	 * 5 tests (the new and the gone one are no tests): 30/10 twice gets
	 * x5 and x4 -> both 0.0055535844330734, 27/13 x3 = 0.0577159624263,
	 * 26/14 x2 = 0.0806904677519924, 24/16 x1 = 0.134093625527 -- so
	 * 27/13 and 26/14, significant alone at 0.05, are unchanged.
	 */
	p[0] = pat("a1", 30, 10, K(LOG_REQUESTS), 1, 1);
	p[1] = pat("c", 27, 13, K(LOG_REQUESTS), 1, 1);
	p[2] = pat("new", 50, 0, K(LOG_REQUESTS), 0, 1);
	p[3] = pat("a2", 30, 10, K(LOG_REQUESTS), 1, 1);
	p[4] = pat("d", 26, 14, K(LOG_REQUESTS), 1, 1);
	p[5] = pat("gone", 0, 50, K(LOG_REQUESTS), 1, 1);
	p[6] = pat("e", 24, 16, K(LOG_REQUESTS), 1, 1);
	cmp_classify(p, 7, e, e, &params);
	is_near(p[0].p_value, 5 * 0.0011107168866146822, 1e-9,
	    "Holm: smallest p times 5 (new and gone are no tests)");
	is_near(p[3].p_value, 5 * 0.0011107168866146822, 1e-9,
	    "Holm: a tie's x4 raised to the previous x5 (monotone)");
	is_str(cmp_class_name(p[0].class), "regressed", "30 vs 10: regressed");
	is_str(cmp_class_name(p[3].class), "regressed",
	    "30 vs 10 (twice): regressed");
	is_near(p[1].p_value, 3 * 0.01923865414210013, 1e-9,
	    "Holm: third smallest times 3");
	is_str(cmp_class_name(p[1].class), "unchanged",
	    "27 vs 13: p 0.019 alone, 0.058 after Holm: unchanged");
	is_near(p[4].p_value, 2 * 0.0403452338759962, 1e-9,
	    "Holm: fourth times 2");
	is_str(cmp_class_name(p[4].class), "unchanged",
	    "26 vs 14: p 0.040 alone, 0.081 after Holm: unchanged");
	is_near(p[6].p_value, 0.13409362552738457, 1e-9, "Holm: largest x1");
	is_str(cmp_class_name(p[2].class), "new", "new among tests: new");
	is_str(cmp_class_name(p[5].class), "gone", "gone among tests: gone");
	/* exp(-50 * 1000 / 1000) */
	is_near(p[5].p_value, 1.9287498479639178e-22, 1e-9,
	    "gone: exp(-50)");

	/* float(up(5, 10, F(1, 2))) = 0.623046875: x2 capped at 1 */
	q[0] = pat("x", 5, 5, K(LOG_REQUESTS), 1, 1);
	q[1] = pat("y", 5, 5, K(LOG_REQUESTS), 1, 1);
	cmp_classify(q, 2, e, e, &params);
	is_near(q[0].p_value, 1, 0, "Holm: adjusted p capped at 1");
	is_near(q[1].p_value, 1, 0, "Holm: and stays 1 (monotone)");

	/*
	 * min_count: 4 in 1000 vs 1 in 1000000 is significant,
	 * float(up(4, 5, F(1000, 1001000))) = 4.976069840314441e-12, but
	 * fewer than 5 occurrences: unchanged.  With min_count 4: regressed.
	 */
	{
		const uint64_t	big[LOG_KIND_COUNT] = { 1000000, 0, 0, 0, 0,
		    0 };

		q[0] = pat("few", 4, 1, K(LOG_REQUESTS), 1, 1);
		cmp_classify(q, 1, e, big, &params);
		is_near(q[0].p_value, 4.976069840314441e-12, 1e-8,
		    "4 vs 1 on 1000 vs 1000000: p ~ 5e-12");
		is_str(cmp_class_name(q[0].class), "unchanged",
		    "4 occurrences, min_count 5: unchanged");
		params.min_count = 4;
		cmp_classify(q, 1, e, big, &params);
		is_str(cmp_class_name(q[0].class), "regressed",
		    "4 occurrences, min_count 4: regressed");
		/* improvement: min_count applies to the previous count */
		q[0] = pat("few-before", 1, 4, K(LOG_REQUESTS), 1, 1);
		params.min_count = 5;
		cmp_classify(q, 1, big, e, &params);
		is_str(cmp_class_name(q[0].class), "unchanged",
		    "1 vs 4 previous, min_count 5: not improved");
		params.min_count = 4;
		cmp_classify(q, 1, big, e, &params);
		is_str(cmp_class_name(q[0].class), "improved",
		    "1 vs 4 previous, min_count 4: improved");
	}
}

int
main(void)
{
	test_binom_upper();
	test_classes();
	test_no_previous();
	test_log_kinds();
	test_holm();
	return (done_testing());
}
