/*
 * Unit tests for the pure helpers (src/util.c, src/hmap.c): RFC 3339 and
 * leading timestamps, durations, severities, UTF-8 repair, revision
 * sequence numbers, the hash map.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "tap.h"
#include "util.h"

static int64_t
ts(const char *s)
{
	int64_t	ns = 0;

	if (time_parse_rfc3339(s, strlen(s), &ns) == -1)
		return (-1);
	return (ns);
}

static void
test_time(void)
{
	char	 buf[40];
	int64_t	 ns;

	is_int(ts("1970-01-01T00:00:00Z"), 0, "epoch");
	is_int(ts("2025-08-28T00:23:51.592013Z"),
	    1756340631LL * NS_PER_SEC + 592013000, "Cloud Run timestamp");
	is_int(ts("2025-08-28T00:23:51.5920130Z"),
	    ts("2025-08-28T00:23:51.592013Z"), "trailing zeros: same instant");
	is_int(ts("2025-08-19T20:57:37.526596303Z") % NS_PER_SEC, 526596303,
	    "nine fractional digits");
	is_int(ts("2025-08-28T02:23:51+02:00"), ts("2025-08-28T00:23:51Z"),
	    "offset");
	is_int(ts("2000-02-29T00:00:00Z"), 951782400LL * NS_PER_SEC,
	    "leap day");
	is_int(ts("2025-13-01T00:00:00Z"), -1, "month 13 refused");
	is_int(ts("2025-08-28 00:23:51"), -1, "no zone refused");
	is_int(ts("yesterday"), -1, "junk refused");
	is_int(ts("2025-08-28T00:23:51.Z"), -1, "empty fraction refused");
	is_str(time_format(ts("2025-08-28T00:23:51.592013Z"), buf, sizeof(buf)),
	    "2025-08-28T00:23:51.592013Z", "format round trip");
	ok(time_parse_leading("[2025-08-19 20:57:37 +0000] [1] [INFO] x", 40,
	    &ns) == 0 && ns == ts("2025-08-19T20:57:37Z"), "gunicorn prefix");
	ok(time_parse_leading("2025-08-19 22:57:37 +0200 x", 27, &ns) == 0 &&
	    ns == ts("2025-08-19T20:57:37Z"), "numeric zone after a blank");
	ok(time_parse_leading("INFO: started", 13, &ns) == -1,
	    "no leading time");
}

static void
test_count(void)
{
	uint64_t	n = 7;

	ok(count_parse("1", &n) == 0 && n == 1, "count 1");
	ok(count_parse("18446744073709551615", &n) == 0 &&
	    n == UINT64_MAX, "count: the largest");
	n = 7;
	ok(count_parse("0", &n) == -1 && n == 7, "count 0: refused, unchanged");
	ok(count_parse("-1", &n) == -1, "count -1: refused");
	ok(count_parse("+5", &n) == -1, "count +5: refused");
	ok(count_parse(" 5", &n) == -1, "count with a blank: refused");
	ok(count_parse("5x", &n) == -1, "count 5x: refused");
	ok(count_parse("", &n) == -1, "count empty: refused");
	ok(count_parse("18446744073709551616", &n) == -1,
	    "count past 2^64 - 1: refused");
}

static void
test_duration(void)
{
	int64_t	ns;

	ok(duration_parse("90s", &ns) == 0 && ns == 90 * NS_PER_SEC, "90s");
	ok(duration_parse("5m", &ns) == 0 && ns == 300 * NS_PER_SEC, "5m");
	ok(duration_parse("2h", &ns) == 0 && ns == 7200 * NS_PER_SEC, "2h");
	ok(duration_parse("7d", &ns) == 0 && ns == 604800 * NS_PER_SEC, "7d");
	ok(duration_parse("250ms", &ns) == 0 && ns == NS_PER_SEC / 4,
	    "250ms");
	ok(duration_parse("1.5h", &ns) == 0 && ns == 5400 * NS_PER_SEC, "1.5h");
	ok(duration_parse("5x", &ns) == -1, "unknown unit");
	ok(duration_parse("-5m", &ns) == -1, "negative");
	ok(duration_parse("", &ns) == -1, "empty");
	ok(time_parse_option("2h", 10000 * NS_PER_SEC, &ns) == 0 &&
	    ns == 2800 * NS_PER_SEC, "--since 2h");
}

static void
test_severity(void)
{
	is_int(severity_parse("ERROR", 5), 500, "ERROR");
	is_int(severity_parse("error", 5), 500, "error");
	is_int(severity_parse("Warning", 7), 400, "Warning");
	is_int(severity_parse("warn", 4), 400, "warn");
	is_int(severity_parse("500", 3), 500, "500");
	is_int(severity_parse("nonsense", 8), -1, "nonsense");
	is_str(severity_name(0), "DEFAULT", "0 is DEFAULT");
	is_str(severity_name(450), "WARNING", "450 rounds down");
	is_str(severity_name(800), "EMERGENCY", "800");
	is_int(severity_index(650), 6, "index of 650");
}

static void
test_utf8(void)
{
	char	out[64];

	is_int(utf8_repair(out, sizeof(out), "caf\xc3\xa9", 5), 5, "valid");
	is_str(out, "caf\xc3\xa9", "valid kept");
	utf8_repair(out, sizeof(out), "a\xff" "b", 3);
	is_str(out, "a\xef\xbf\xbd" "b", "invalid byte replaced");
	utf8_repair(out, sizeof(out), "a\0b", 3);
	is_str(out, "a b", "NUL replaced");
	utf8_repair(out, sizeof(out), "\xed\xa0\x80", 3);
	is_str(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", "surrogate refused");
	is_int(utf8_repair(out, 4, "abcdef", 6), 3, "capped by dst");
}

static void
test_revision(void)
{
	is_int(revision_sequence("api-00432-w88", 13), 432, "api-00432-w88");
	is_int(revision_sequence("netra-backend-staging-00742-b95", 31), 742,
	    "long service name");
	is_int(revision_sequence("myservice-00002", 15), 2, "no suffix");
	is_int(revision_sequence("helloworld-v1", 13), -1, "custom suffix");
	is_int(revision_sequence("api-1234567-abc", 15), 1234567,
	    "wider than five digits");
	is_int(revision_sequence("", 0), -1, "empty");
}

static void
test_hmap(void)
{
	struct hmap	*m;
	uint64_t	 k, *v;
	size_t		 it = 0, n = 0, sum = 0;
	const void	*key;
	void		*val;
	int		 is_new, all = 1;

	m = hmap_new(sizeof(k), sizeof(uint64_t));
	for (k = 0; k < 10000; k++) {
		v = hmap_put(m, &k, &is_new);
		*v = k * 2;
		if (!is_new)
			all = 0;
	}
	ok(all, "10000 new keys");
	is_int(hmap_count(m), 10000, "count");
	k = 4321;
	v = hmap_get(m, &k);
	ok(v != NULL && *v == 8642, "get");
	k = 10001;
	ok(hmap_get(m, &k) == NULL, "absent key");
	while (hmap_next(m, &it, &key, &val)) {
		n++;
		sum += *(const uint64_t *)key;
	}
	is_int(n, 10000, "iteration sees every key");
	is_int(sum, 49995000, "iteration sum");
	hmap_clear(m);
	is_int(hmap_count(m), 0, "clear");
	hmap_free(m);
	ok(hash64("abc", 3, 0) != hash64("abd", 3, 0), "hash differs");
	ok(hash64("abc", 3, 1) != hash64("abc", 3, 0), "seed matters");
}

int
main(void)
{
	test_time();
	test_duration();
	test_count();
	test_severity();
	test_utf8();
	test_revision();
	test_hmap();
	return (done_testing());
}
