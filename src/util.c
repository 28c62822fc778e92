/*
 * Pure helpers: time, durations, hashing, severities, UTF-8 repair and
 * revision names.  Kept free of I/O so unit tests can pin every edge.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util.h"

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

static int
digits(const char *s, size_t n, int *out)
{
	int	v = 0;
	size_t	i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return (0);
}

/*
 * The shared core: "YYYY-MM-DD?HH:MM:SS[.frac]" where ? is sep_ok.  Sets
 * *used to the bytes consumed.
 */
static int
time_parse_core(const char *s, size_t len, int64_t *ns, size_t *used,
    const char *sep_ok)
{
	int	 y, mo, d, h, mi, sec;
	int64_t	 frac = 0, scale = 100000000;
	size_t	 i;

	if (len < 19 || s[4] != '-' || s[7] != '-' ||
	    strchr(sep_ok, s[10]) == NULL || s[10] == '\0' ||
	    s[13] != ':' || s[16] != ':')
		return (-1);
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
	    digits(s + 8, 2, &d) || digits(s + 11, 2, &h) ||
	    digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
		return (-1);
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return (-1);
	i = 19;
	if (i < len && (s[i] == '.' || s[i] == ',')) {
		i++;
		if (i >= len || s[i] < '0' || s[i] > '9')
			return (-1);
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			if (scale > 0) {
				frac += (s[i] - '0') * scale;
				scale /= 10;
			}
		}
	}
	*ns = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	    sec) * NS_PER_SEC) + frac;
	*used = i;
	return (0);
}

static int
time_parse_zone(const char *s, size_t len, size_t *i, int64_t *off_ns)
{
	int	 hh, mm, sign;

	*off_ns = 0;
	if (*i < len && (s[*i] == 'Z' || s[*i] == 'z')) {
		(*i)++;
		return (0);
	}
	if (*i + 6 <= len && (s[*i] == '+' || s[*i] == '-') &&
	    s[*i + 3] == ':') {
		sign = s[*i] == '-' ? -1 : 1;
		if (digits(s + *i + 1, 2, &hh) || digits(s + *i + 4, 2, &mm))
			return (-1);
		*off_ns = sign * (int64_t)(hh * 3600 + mm * 60) * NS_PER_SEC;
		*i += 6;
		return (0);
	}
	return (-1);
}

/*
 * The shape Cloud Logging writes, "2025-08-28T00:23:51.592013Z" with 0-9
 * fractional digits: read straight, no general parsing.  Returns -1 when
 * s has another shape (the general parser then decides).
 */
static int
time_parse_fast(const char *s, size_t len, int64_t *ns)
{
	const unsigned char	*p = (const unsigned char *)s;
	int			 y, mo, d, h, mi, sec;
	int64_t			 frac = 0, scale = 100000000;
	size_t			 i;

	if (len < 20 || p[len - 1] != 'Z' || p[4] != '-' || p[7] != '-' ||
	    p[10] != 'T' || p[13] != ':' || p[16] != ':')
		return (-1);
#define D(i) ((int)p[i] - '0')
	for (i = 0; i < 19; i++)
		if (i != 4 && i != 7 && i != 10 && i != 13 && i != 16 &&
		    (unsigned)D(i) > 9)
			return (-1);
	y = D(0) * 1000 + D(1) * 100 + D(2) * 10 + D(3);
	mo = D(5) * 10 + D(6);
	d = D(8) * 10 + D(9);
	h = D(11) * 10 + D(12);
	mi = D(14) * 10 + D(15);
	sec = D(17) * 10 + D(18);
	if (len > 20) {
		if (p[19] != '.' || len == 21 || len > 30)
			return (-1);
		for (i = 20; i < len - 1; i++) {
			if ((unsigned)D(i) > 9)
				return (-1);
			frac += D(i) * scale;
			scale /= 10;
		}
	}
#undef D
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return (-1);
	*ns = (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) *
	    NS_PER_SEC + frac;
	return (0);
}

int
time_parse_rfc3339(const char *s, size_t len, int64_t *ns)
{
	int64_t	 t, off;
	size_t	 i;

	if (time_parse_fast(s, len, ns) == 0)
		return (0);

	if (time_parse_core(s, len, &t, &i, "Tt ") == -1)
		return (-1);
	if (time_parse_zone(s, len, &i, &off) == -1 || i != len)
		return (-1);
	*ns = t - off;
	return (0);
}

int
time_parse_leading(const char *s, size_t len, int64_t *ns)
{
	int64_t	 t, off;
	size_t	 i, skip = 0;

	if (len > 0 && s[0] == '[')
		skip = 1;
	if (time_parse_core(s + skip, len - skip, &t, &i, "Tt ") == -1)
		return (-1);
	i += skip;
	if (time_parse_zone(s, len, &i, &off) == -1) {
		/* " +0000" as gunicorn prints it */
		off = 0;
		if (i + 6 <= len && s[i] == ' ' &&
		    (s[i + 1] == '+' || s[i + 1] == '-')) {
			int	hh, mm;

			if (digits(s + i + 2, 2, &hh) == 0 &&
			    digits(s + i + 4, 2, &mm) == 0)
				off = (s[i + 1] == '-' ? -1 : 1) *
				    (int64_t)(hh * 3600 + mm * 60) * NS_PER_SEC;
		}
	}
	*ns = t - off;
	return (0);
}

char *
time_format(int64_t ns, char *buf, size_t size)
{
	time_t		 sec;
	struct tm	 tm;
	int64_t		 rem;

	if (ns == TIME_NONE) {
		snprintf(buf, size, "-");
		return (buf);
	}
	sec = (time_t)(ns / NS_PER_SEC);
	rem = ns % NS_PER_SEC;
	if (rem < 0) {
		rem += NS_PER_SEC;
		sec--;
	}
	gmtime_r(&sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long long)(rem / 1000));
	return (buf);
}

int64_t
time_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec);
}

int
count_parse(const char *s, uint64_t *n)
{
	char			*end;
	unsigned long long	 v;

	if (*s < '0' || *s > '9')
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0)
		return (-1);
	*n = v;
	return (0);
}

int
duration_parse(const char *s, int64_t *ns)
{
	char		*end;
	double		 v;
	int64_t		 unit;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s) || *s == '-')
		return (-1);
	v = strtod(s, &end);
	if (end == s || v < 0)
		return (-1);
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		unit = NS_PER_SEC;
	else if (strcmp(end, "ms") == 0)
		unit = NS_PER_SEC / 1000;
	else if (strcmp(end, "m") == 0)
		unit = 60 * NS_PER_SEC;
	else if (strcmp(end, "h") == 0)
		unit = 3600 * NS_PER_SEC;
	else if (strcmp(end, "d") == 0)
		unit = 86400 * NS_PER_SEC;
	else
		return (-1);
	if (v * (double)unit > 9.2e18)
		return (-1);
	*ns = (int64_t)(v * (double)unit);
	return (0);
}

int
time_parse_option(const char *s, int64_t now_ns, int64_t *ns)
{
	int64_t	d;

	if (time_parse_rfc3339(s, strlen(s), ns) == 0)
		return (0);
	if (duration_parse(s, &d) == 0) {
		*ns = now_ns - d;
		return (0);
	}
	return (-1);
}

/*
 * A multiply-mix hash over 8-byte words: fast on the short keys logaudit
 * hashes (insert ids, log names, revision names) and well distributed in
 * all 64 bits, which the dedup set and hash maps index with.
 */
static inline uint64_t
mix64(uint64_t x)
{
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ULL;
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ULL;
	x ^= x >> 32;
	return (x);
}

uint64_t
hash64(const void *p, size_t len, uint64_t seed)
{
	const unsigned char	*s = p;
	uint64_t		 h, w;

	h = seed ^ (0x9e3779b97f4a7c15ULL * (len + 1));
	while (len >= 8) {
		memcpy(&w, s, 8);
		h = (h ^ mix64(w + 0x632be59bd9b4e019ULL)) *
		    0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
		s += 8;
		len -= 8;
	}
	if (len > 0) {
		w = 0;
		memcpy(&w, s, len);
		h = (h ^ mix64(w + 0x8cb92ba72f3d8dd7ULL + len)) *
		    0x9e3779b97f4a7c15ULL;
	}
	return (mix64(h));
}

static const char *severity_names[SEVERITY_COUNT] = {
	"DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR",
	"CRITICAL", "ALERT", "EMERGENCY"
};

int
severity_index(int sev)
{
	if (sev <= 0)
		return (0);
	if (sev >= 800)
		return (8);
	return (sev / 100);
}

int
severity_from_index(int idx)
{
	return (idx * 100);
}

const char *
severity_name(int sev)
{
	return (severity_names[severity_index(sev)]);
}

int
severity_parse(const char *s, size_t len)
{
	size_t	 i;
	int	 v;

	if (len > 0 && len < 5 && s[0] >= '0' && s[0] <= '9') {
		if (digits(s, len, &v) == -1)
			return (-1);
		return (v);
	}
	for (i = 0; i < SEVERITY_COUNT; i++) {
		if (strlen(severity_names[i]) == len &&
		    strncasecmp(severity_names[i], s, len) == 0)
			return ((int)i * 100);
	}
	/* Names apps write that Cloud Logging maps too. */
	if (len == 4 && strncasecmp(s, "warn", 4) == 0)
		return (400);
	if (len == 5 && strncasecmp(s, "fatal", 5) == 0)
		return (600);
	return (-1);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char	c = s[0];

	if (c < 0x80)
		return (1);
	if (c >= 0xc2 && c <= 0xdf)
		return (len >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0);
	if (c >= 0xe0 && c <= 0xef) {
		if (len < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return (0);
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return (0);	/* overlong, surrogate */
		return (3);
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (len < 4 || (s[1] & 0xc0) != 0x80 ||
		    (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return (0);
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return (0);
		return (4);
	}
	return (0);
}

size_t
utf8_repair(char *dst, size_t dst_size, const char *src, size_t len)
{
	const unsigned char	*s = (const unsigned char *)src;
	size_t			 i = 0, o = 0, n;

	while (i < len) {
		n = utf8_seq(s + i, len - i);
		if (n == 0) {
			if (o + 3 >= dst_size)
				break;
			memcpy(dst + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		if (o + n >= dst_size)
			break;
		if (n == 1 && s[i] == '\0')
			dst[o] = ' ';
		else
			memcpy(dst + o, s + i, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
	return (o);
}

long long
revision_sequence(const char *rev, size_t len)
{
	size_t		 end = len, i, ndig;
	long long	 v = 0;

	/* Strip "-<random suffix>" when the name ends in one. */
	for (i = len; i > 0 && isalnum((unsigned char)rev[i - 1]); i--)
		;
	if (i > 0 && rev[i - 1] == '-' && i < len) {
		/* "api-00432-w88": the suffix is not all digits, or it is
		 * the number itself ("myservice-00002"). */
		size_t	j;
		int	all_digits = 1;

		for (j = i; j < len; j++)
			if (!isdigit((unsigned char)rev[j]))
				all_digits = 0;
		if (all_digits && len - i >= 5)
			end = len;
		else
			end = i - 1;
	}
	for (i = end; i > 0 && isdigit((unsigned char)rev[i - 1]); i--)
		;
	ndig = end - i;
	if (ndig < 5 || ndig > 12 || i == 0 || rev[i - 1] != '-')
		return (-1);
	for (; i < end; i++)
		v = v * 10 + (rev[i] - '0');
	return (v);
}

int64_t
backoff_ms(int n, int64_t base_ms, int64_t cap_ms)
{
	const char	*env = getenv("LOGAUDIT_BACKOFF_MS");
	int64_t		 d = base_ms, v;
	char		*end;

	if (env != NULL && *env != '\0') {
		v = strtoll(env, &end, 10);
		if (*end == '\0' && v >= 0)
			d = v;
	}
	while (n-- > 0 && d < cap_ms)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	return (d / 2 + (d > 1 ? random() % (d / 2 + 1) : 0));
}
