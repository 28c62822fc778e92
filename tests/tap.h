/*
 * A minimal TAP producer for unit tests: plan, ok, is_int, is_str.
 * Failures print what was got and what was wanted.
 */
#ifndef TAP_H
#define TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define plan(n)		printf("1..%d\n", (n))
#define done_testing()	(printf("1..%d\n", tap_n), tap_failed ? 1 : 0)

static inline int
tap_ok(int cond, const char *name, const char *file, int line)
{
	tap_n++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_n, name);
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	return (cond);
}

#define ok(cond, name)	tap_ok(!!(cond), (name), __FILE__, __LINE__)

#define is_int(got, want, name) do {					\
	long long tap_g = (long long)(got), tap_w = (long long)(want);	\
	if (!tap_ok(tap_g == tap_w, (name), __FILE__, __LINE__))	\
		printf("#   got %lld, want %lld\n", tap_g, tap_w);		\
} while (0)

#define is_str(got, want, name) do {					\
	const char *tap_g = (got), *tap_w = (want);			\
	int tap_eq = (tap_g == NULL && tap_w == NULL) ||		\
	    (tap_g != NULL && tap_w != NULL && strcmp(tap_g, tap_w) == 0); \
	if (!tap_ok(tap_eq, (name), __FILE__, __LINE__))		\
		printf("#   got \"%s\", want \"%s\"\n",			\
		    tap_g ? tap_g : "(null)", tap_w ? tap_w : "(null)");	\
} while (0)

#endif
