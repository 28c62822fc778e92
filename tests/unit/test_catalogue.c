/*
 * Unit tests for the catalogue (src/catalogue.c): loading pattern files,
 * every load error naming file and line, overriding by id across
 * directories, the version hash, and matching (regex, status ranges,
 * filters, ANSI escapes, the match limit).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalogue.h"
#include "tap.h"
#include "util.h"

static char tmp[256];

static void
write_file(const char *dir, const char *name, const char *text)
{
	char	 path[512];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static struct catalogue *
load1(const char *dir, char **cause)
{
	char	*dirs[2];

	dirs[0] = (char *)(uintptr_t)dir;
	dirs[1] = NULL;
	*cause = NULL;
	return (catalogue_load(dirs, cause));
}

static char *
subdir(const char *name)
{
	static char	path[4][512];
	static int	n;
	char		*p = path[n++ % 4];

	snprintf(p, 512, "%s/%s", tmp, name);
	mkdir(p, 0700);
	return (p);
}

#define GOOD \
	"# comment\n" \
	"[x-one]\n" \
	"title = One ; not a comment\n" \
	"level = warning\n" \
	"regex = \\bNO_TOKEN\\b\n" \
	"example = NO_TOKEN\n"

static void
test_errors(void)
{
	struct catalogue	*c;
	char			*cause, *d;

	d = subdir("badre");
	write_file(d, "a.conf", GOOD "[x-two]\ntitle = t\nregex = (unclosed\n"
	    "example = x\n");
	c = load1(d, &cause);
	ok(c == NULL && cause != NULL && strstr(cause, "a.conf:9:") &&
	    strstr(cause, "offset 9") && strstr(cause, "missing closing"),
	    "bad regex: file, line, offset, PCRE2's message");
	free(cause);

	d = subdir("badkey");
	write_file(d, "a.conf", GOOD "colour = red\n");
	c = load1(d, &cause);
	ok(c == NULL && strstr(cause, "a.conf:7: unknown key \"colour\""),
	    "unknown key");
	free(cause);

	d = subdir("dup");
	write_file(d, "a.conf", GOOD);
	write_file(d, "b.conf", GOOD);
	c = load1(d, &cause);
	ok(c == NULL && strstr(cause, "b.conf:2: duplicate id \"x-one\""),
	    "duplicate id in one directory");
	free(cause);

	d = subdir("noex");
	write_file(d, "a.conf", "[x-one]\ntitle = t\nregex = x\n");
	c = load1(d, &cause);
	ok(c == NULL && strstr(cause, "has no example"), "no example");
	free(cause);

	d = subdir("badid");
	write_file(d, "a.conf", "[Bad_Id]\ntitle = t\n");
	c = load1(d, &cause);
	ok(c == NULL && strstr(cause, "a.conf:1: bad id"), "bad id");
	free(cause);

	c = load1("/nonexistent/patterns", &cause);
	ok(c == NULL && strstr(cause, "/nonexistent/patterns"),
	    "missing directory named");
	free(cause);
}

static struct log_entry
entry(const char *msg, int status, int sev, const char *log)
{
	struct log_entry	e;

	memset(&e, 0, sizeof(e));
	e.message.p = msg;
	e.message.len = strlen(msg);
	e.http_status = status;
	e.severity = sev;
	e.log_name.p = log;
	e.log_name.len = strlen(log);
	return (e);
}

static void
test_match(void)
{
	struct catalogue	*c;
	struct log_entry	 e;
	char			*cause, *d, *d2, *dirs[3];
	size_t			 hits[8], n;
	char			 v1[17], *slow;
	clock_t			 t0;

	d = subdir("m");
	write_file(d, "a.conf", GOOD
	    "[x-5xx]\ntitle = five\nstatus = 500-599\nstatus = 429\n"
	    "example = x\n"
	    "[x-req]\ntitle = requests only\nregex = boom\n"
	    "log = run.googleapis.com/requests\nmin-severity = ERROR\n"
	    "example = boom\n");
	c = load1(d, &cause);
	ok(c != NULL, "load");
	if (c == NULL) {
		printf("# %s\n", cause);
		return;
	}
	is_int(catalogue_size(c), 3, "three patterns");
	is_str(catalogue_pattern(c, 0)->title, "One ; not a comment",
	    "value verbatim, ';' included");
	is_int(catalogue_pattern(c, 0)->level, LEVEL_WARNING, "level");
	snprintf(v1, sizeof(v1), "%s", catalogue_version(c));
	is_int(strlen(v1), 16, "version is 16 hex digits");

	e = entry("ws rejected: NO_TOKEN", 0, 0, "");
	n = catalogue_match(c, &e, hits);
	ok(n == 1 && hits[0] == 0, "regex match");
	e = entry("\x1b[31mNO_\x1b[0mTOKEN", 0, 0, "");
	ok(catalogue_match(c, &e, hits) == 1, "ANSI escapes stripped");
	e = entry("NO_TOKENS", 0, 0, "");
	is_int(catalogue_match(c, &e, hits), 0, "word boundary respected");
	e = entry("", 503, 500, "");
	n = catalogue_match(c, &e, hits);
	ok(n == 1 && hits[0] == 1, "status range");
	e = entry("", 429, 400, "");
	is_int(catalogue_match(c, &e, hits), 1, "single status");
	e = entry("", 404, 400, "");
	is_int(catalogue_match(c, &e, hits), 0, "status outside");
	e = entry("boom NO_TOKEN", 502, 500,
	    "projects/p/logs/run.googleapis.com%2Frequests");
	is_int(catalogue_match(c, &e, hits), 3, "every matching pattern counts");
	e = entry("boom", 0, 400,
	    "projects/p/logs/run.googleapis.com%2Frequests");
	is_int(catalogue_match(c, &e, hits), 0, "min-severity filter");
	e = entry("boom", 0, 500, "projects/p/logs/run.googleapis.com%2Fstdout");
	is_int(catalogue_match(c, &e, hits), 0, "log filter");
	e = entry("caf\xff\xfe NO_TOKEN", 0, 0, "");
	is_int(catalogue_match(c, &e, hits), 1, "invalid UTF-8 still matches");
	catalogue_free(c);

	/* a later directory overrides by id; the version follows content */
	d2 = subdir("m2");
	write_file(d2, "z.conf", "[x-one]\ntitle = replaced\nregex = other\n"
	    "example = other\n");
	dirs[0] = d;
	dirs[1] = d2;
	dirs[2] = NULL;
	c = catalogue_load(dirs, &cause);
	ok(c != NULL && catalogue_size(c) == 3, "override keeps the count");
	if (c != NULL) {
		is_str(catalogue_pattern(c, 0)->title, "replaced",
		    "later directory wins");
		ok(strcmp(catalogue_version(c), v1) != 0,
		    "version changes with content");
		catalogue_free(c);
	}

	/* a duplicate inside a later directory is still an error */
	d2 = subdir("m3");
	write_file(d2, "a.conf", "[x-one]\ntitle = a\nregex = a\nexample = a\n"
	    "[x-one]\ntitle = b\nregex = b\nexample = b\n");
	dirs[0] = d;
	dirs[1] = d2;
	c = catalogue_load(dirs, &cause);
	ok(c == NULL && cause != NULL && strstr(cause, "a.conf:5: duplicate"),
	    "duplicate within an overriding directory");
	free(cause);

	/* the prefilter folds ASCII only; (?i) k and s fold wider */
	d = subdir("fold");
	write_file(d, "a.conf", "[x-k]\ntitle = t\nregex = (?i)kelvin\n"
	    "example = Kelvin\n[x-s]\ntitle = t\nregex = (?i)stop\n"
	    "example = STOP\n");
	c = load1(d, &cause);
	if (c != NULL) {
		e = entry("200 \xe2\x84\xaa" "ELVIN", 0, 0, "");
		is_int(catalogue_match(c, &e, hits), 1,
		    "(?i)k matches the Kelvin sign despite the prefilter");
		e = entry("\xc5\xbfTOP now", 0, 0, "");
		is_int(catalogue_match(c, &e, hits), 1,
		    "(?i)s matches the long s despite the prefilter");
		catalogue_free(c);
	} else
		ok(0, "fold patterns load");

	/* catastrophic backtracking hits the match limit, quickly */
	d = subdir("slow");
	write_file(d, "a.conf", "[x-slow]\ntitle = t\nregex = ^(a|aa)+$\n"
	    "example = aaaa\n");
	c = load1(d, &cause);
	if (c == NULL) {
		ok(0, "slow pattern loads");
		return;
	}
	slow = malloc(10001);
	memset(slow, 'a', 10000);
	slow[9999] = 'b';
	slow[10000] = '\0';
	e = entry(slow, 0, 0, "");
	t0 = clock();
	n = catalogue_match(c, &e, hits);
	is_int(n, 0, "pathological message: no match");
	is_int(catalogue_match_errors(c), 1, "counted as a matcher error");
	ok((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0,
	    "and it returns (well under a second)");
	free(slow);
	catalogue_free(c);
}

static void
test_shipped(void)
{
	const char		*src = getenv("TEST_SRCDIR");
	char			 dir[512], *cause = NULL;
	struct catalogue	*c;

	snprintf(dir, sizeof(dir), "%s/../patterns", src ? src : "tests");
	c = load1(dir, &cause);
	ok(c != NULL && catalogue_size(c) >= 5, "shipped catalogue loads");
	if (c == NULL)
		printf("# %s\n", cause);
	free(cause);
	catalogue_free(c);
}

int
main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/test_catalogue.XXXXXX");
	if (mkdtemp(tmp) == NULL)
		return (1);
	test_errors();
	test_match();
	test_shipped();
	{
		char	cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
		(void)system(cmd);
	}
	return (done_testing());
}
