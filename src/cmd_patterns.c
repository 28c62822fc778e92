/*
 * logaudit patterns list|show ID|test: the catalogue itself.  `test` is
 * the catalogue's proof: every example matches its pattern, no counter
 * does, every example names where its wording comes from, every regex has
 * a required literal, and matching with and without the prefilter agrees
 * on every example and counter.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "cmd.h"
#include "entry.h"
#include "log.h"
#include "report.h"
#include "util.h"
#include "xmalloc.h"

static void
patterns_usage(FILE *f)
{
	fprintf(f,
	    "usage: logaudit patterns [--patterns DIR]... list [--format text|json]\n"
	    "       logaudit patterns [--patterns DIR]... show ID\n"
	    "       logaudit patterns [--patterns DIR]... test\n"
	    "\n"
	    "list   the patterns: id, level, category, title\n"
	    "show   one pattern: regexes with their required literals, status\n"
	    "       ranges, filters, examples and counters with their sources\n"
	    "test   check every example matches and no counter does, each has a\n"
	    "       source comment, each regex a required literal, and the\n"
	    "       prefilter changes no result; exit 1 naming each failure\n"
	    "\n"
	    "  --patterns DIR  catalogue directory (repeatable; default: the\n"
	    "                  search order of logaudit-patterns(5))\n"
	    "  --format F      text (default) or json, for list\n");
}

static int
patterns_list(struct catalogue *c, enum report_format format)
{
	const struct pattern_info	*pi;
	const struct pattern_example	*ex;
	struct table			*t;
	const char			*cells[4];
	size_t				 i, k, n, nex, ncn;
	yajl_gen			 g;

	if (format == FORMAT_TEXT) {
		t = table_new(4);
		cells[0] = "ID";
		cells[1] = "LEVEL";
		cells[2] = "CATEGORY";
		cells[3] = "TITLE";
		table_add(t, cells);
		for (i = 0; i < catalogue_size(c); i++) {
			pi = catalogue_pattern(c, i);
			cells[0] = pi->id;
			cells[1] = pattern_level_name(pi->level);
			cells[2] = pi->category;
			cells[3] = pi->title;
			table_add(t, cells);
		}
		table_print(t, stdout);
		table_free(t);
		printf("%zu patterns, catalogue version %s\n", catalogue_size(c),
		    catalogue_version(c));
		return (EXIT_OK);
	}
	g = report_json_new(1);
	yajl_gen_map_open(g);
	rj_key_int(g, "schema_version", 1);
	rj_key_cstr(g, "catalogue_version", catalogue_version(c));
	rj_key(g, "patterns");
	yajl_gen_array_open(g);
	for (i = 0; i < catalogue_size(c); i++) {
		pi = catalogue_pattern(c, i);
		n = catalogue_examples(c, i, &ex);
		for (k = nex = ncn = 0; k < n; k++)
			ex[k].is_counter ? ncn++ : nex++;
		yajl_gen_map_open(g);
		rj_key_cstr(g, "id", pi->id);
		rj_key_cstr(g, "title", pi->title);
		rj_key_cstr(g, "category", pi->category);
		rj_key_cstr(g, "level", pattern_level_name(pi->level));
		rj_key_cstr(g, "file", pi->file);
		rj_key_int(g, "line", pi->line);
		rj_key_int(g, "regexes", (long long)pi->regex_count);
		rj_key_int(g, "examples", (long long)nex);
		rj_key_int(g, "counters", (long long)ncn);
		rj_key(g, "generic");
		yajl_gen_bool(g, pi->generic);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	report_json_flush(g, stdout);
	yajl_gen_free(g);
	return (EXIT_OK);
}

static int
patterns_show(struct catalogue *c, const char *id)
{
	const struct pattern_info	*pi = NULL;
	const struct pattern_example	*ex;
	char *const			*lits;
	size_t				 i, k, n;
	int				 declared, lo, hi;

	for (i = 0; i < catalogue_size(c); i++) {
		pi = catalogue_pattern(c, i);
		if (strcmp(pi->id, id) == 0)
			break;
	}
	if (i == catalogue_size(c)) {
		log_warnx("no pattern \"%s\" in the catalogue", id);
		return (EXIT_ERROR);
	}
	printf("[%s]  %s:%d\n", pi->id, pi->file, pi->line);
	printf("title        %s\n", pi->title);
	printf("category     %s\n", pi->category);
	printf("level        %s\n", pattern_level_name(pi->level));
	if (pi->generic)
		printf("generic      yes (counts, but leaves the entry to its "
		    "template)\n");
	for (k = 0; k < pi->regex_count; k++) {
		printf("regex        %s\n", catalogue_regex(c, i, k, &lits,
		    &declared));
		printf("  literals   ");
		if (lits == NULL)
			printf("(none: runs on every message)");
		for (n = 0; lits != NULL && lits[n] != NULL; n++)
			printf("%s\"%s\"", n ? " or " : "", lits[n]);
		printf("%s\n", declared ? " (declared)" : "");
	}
	for (k = 0; k < pi->status_count; k++) {
		catalogue_status(c, i, k, &lo, &hi);
		printf("status       %d-%d\n", lo, hi);
	}
	if (pi->log != NULL)
		printf("log          %s\n", pi->log);
	if (pi->min_severity >= 0)
		printf("min-severity %s\n", severity_name(pi->min_severity));
	n = catalogue_examples(c, i, &ex);
	for (k = 0; k < n; k++) {
		if (ex[k].source != NULL) {
			const char	*l = ex[k].source, *nl;

			for (; (nl = strchr(l, '\n')) != NULL; l = nl + 1)
				printf("  # %.*s\n", (int)(nl - l), l);
			printf("  # %s\n", l);
		}
		printf("%-12s %s\n", ex[k].is_counter ? (ex[k].is_json ?
		    "counter-json" : "counter") : (ex[k].is_json ?
		    "example-json" : "example"), ex[k].text);
	}
	return (EXIT_OK);
}

/* State of one `patterns test` run. */
struct ptest {
	struct catalogue	*c;
	size_t			*with;		/* matches with the prefilter */
	size_t			*without;
	size_t			 failures;
	size_t			 checked;
	size_t			 idx;		/* pattern under test */
	const struct pattern_example *ex;
	int			 entries;	/* in a JSON example */
};

static void
ptest_fail(struct ptest *t, const struct pattern_example *ex,
    const char *what)
{
	const struct pattern_info	*pi = catalogue_pattern(t->c, t->idx);

	t->failures++;
	printf("FAIL %s:%d: %s: %s %s: \"%.120s\"\n", pi->file, ex->line,
	    pi->id, ex->is_counter ? "counter" : "example", what, ex->text);
}

/* Match one example entry and judge it. */
static int
ptest_entry(const struct log_entry *e, void *arg)
{
	struct ptest	*t = arg;
	size_t		 n1, n2, k;
	int		 hit = 0;

	t->entries++;
	n1 = catalogue_match(t->c, e, t->with);
	n2 = catalogue_match_all(t->c, e, t->without);
	if (n1 != n2 || memcmp(t->with, t->without, n1 * sizeof(*t->with)))
		ptest_fail(t, t->ex, "matches differently without the "
		    "prefilter (a required literal is wrong)");
	for (k = 0; k < n1; k++)
		if (t->with[k] == t->idx)
			hit = 1;
	if (!t->ex->is_counter && !hit)
		ptest_fail(t, t->ex, "does not match");
	if (t->ex->is_counter && hit)
		ptest_fail(t, t->ex, "matches");
	return (0);
}

/*
 * A message example stands for an entry that passes the pattern's
 * filters, so it tests the regexes; JSON examples are entries as they are.
 */
static void
ptest_example(struct ptest *t, const struct pattern_example *ex)
{
	const struct pattern_info	*pi = catalogue_pattern(t->c, t->idx);
	struct entry_reader_config	 cfg;
	struct entry_reader		*r;
	struct log_entry		 e;
	char				 logname[512], *o;
	const char			*s;

	t->ex = ex;
	t->entries = 0;
	t->checked++;
	if (ex->source == NULL)
		ptest_fail(t, ex, "has no source comment above it");
	if (ex->is_json) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.on_entry = ptest_entry;
		cfg.arg = t;
		r = entry_reader_new(&cfg);
		entry_reader_feed(r, ex->text, strlen(ex->text));
		entry_reader_finish(r);
		entry_reader_free(r);
		if (t->entries != 1)
			ptest_fail(t, ex, "is not one LogEntry");
		return;
	}
	memset(&e, 0, sizeof(e));
	e.message.p = ex->text;
	e.message.len = strlen(ex->text);
	e.severity = pi->min_severity > 0 ? pi->min_severity : 0;
	e.http_latency_ns = -1;
	if (pi->log != NULL) {
		o = logname + snprintf(logname, sizeof(logname),
		    "projects/example/logs/");
		for (s = pi->log; *s != '\0' && o < logname + 500; s++) {
			if (*s == '/') {
				memcpy(o, "%2F", 3);
				o += 3;
			} else
				*o++ = *s;
		}
		*o = '\0';
		e.log_name.p = logname;
		e.log_name.len = strlen(logname);
	}
	ptest_entry(&e, t);
}

static int
patterns_test(struct catalogue *c)
{
	const struct pattern_info	*pi;
	const struct pattern_example	*ex;
	struct ptest			 t;
	char *const			*lits;
	size_t				 i, k, n;
	int				 declared;

	memset(&t, 0, sizeof(t));
	t.c = c;
	t.with = xcalloc(catalogue_size(c) + 1, sizeof(*t.with));
	t.without = xcalloc(catalogue_size(c) + 1, sizeof(*t.without));
	for (i = 0; i < catalogue_size(c); i++) {
		pi = catalogue_pattern(c, i);
		t.idx = i;
		for (k = 0; k < pi->regex_count; k++) {
			catalogue_regex(c, i, k, &lits, &declared);
			if (lits != NULL)
				continue;
			t.failures++;
			printf("FAIL %s:%d: %s: regex %zu has no required "
			    "literal: declare one with \"literal =\"\n",
			    pi->file, pi->line, pi->id, k + 1);
		}
		n = catalogue_examples(c, i, &ex);
		for (k = 0; k < n; k++)
			ptest_example(&t, &ex[k]);
	}
	printf("%zu patterns, %zu examples and counters checked, %zu "
	    "failure%s (catalogue %s)\n", catalogue_size(c), t.checked,
	    t.failures, t.failures == 1 ? "" : "s", catalogue_version(c));
	if (catalogue_match_errors(c) > 0)
		printf("%lu matches hit the PCRE2 match limit\n",
		    catalogue_match_errors(c));
	free(t.with);
	free(t.without);
	return (t.failures > 0 ? EXIT_FOUND : EXIT_OK);
}

int
cmd_patterns(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "patterns", required_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cmd_input_opts	 io;
	struct catalogue	*c;
	enum report_format	 format = FORMAT_TEXT;
	int			 ch, rv;

	memset(&io, 0, sizeof(io));
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (report_format_parse(optarg, &format) == -1) {
				log_warnx("--format: text or json, not \"%s\"",
				    optarg);
				cmd_input_opts_clear(&io);
				return (EXIT_ERROR);
			}
			break;
		case 'h':
			patterns_usage(stdout);
			cmd_input_opts_clear(&io);
			return (EXIT_OK);
		default:
			if (cmd_input_option(&io, ch, optarg))
				break;
			patterns_usage(stderr);
			cmd_input_opts_clear(&io);
			return (EXIT_ERROR);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || (strcmp(argv[0], "show") == 0 && argc != 2) ||
	    (strcmp(argv[0], "show") != 0 && argc != 1)) {
		patterns_usage(stderr);
		cmd_input_opts_clear(&io);
		return (EXIT_ERROR);
	}
	c = cmd_catalogue(io.pdirs, io.npdirs);
	cmd_input_opts_clear(&io);
	if (c == NULL)
		return (EXIT_ERROR);
	if (strcmp(argv[0], "list") == 0)
		rv = patterns_list(c, format);
	else if (strcmp(argv[0], "show") == 0)
		rv = patterns_show(c, argv[1]);
	else if (strcmp(argv[0], "test") == 0)
		rv = patterns_test(c);
	else {
		patterns_usage(stderr);
		rv = EXIT_ERROR;
	}
	catalogue_free(c);
	return (rv);
}
