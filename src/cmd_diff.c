/*
 * logaudit diff: what a revision brought -- new, returning, regressed,
 * gone, improved -- against its predecessor, from the store's counts, as
 * text, JSON or a Markdown report, with an exit status for cron and CI.
 * The classes come from compare.c; this file gathers the numbers and
 * renders them.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "catalogue.h"
#include "cmd.h"
#include "compare.h"
#include "http.h"
#include "log.h"
#include "report.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define DIFF_ALERT_WAIT_DEFAULT	(30 * NS_PER_SEC)	/* --alert-wait */

enum diff_format {
	DIFF_TEXT,
	DIFF_JSON,
	DIFF_MARKDOWN
};

struct diff_opts {
	const char		*project;
	const char		*location;
	const char		*service;
	const char		*revision;
	const char		*against;
	int64_t			 window_ns;	/* 0: whole lives */
	int64_t			 since_ns;	/* INT64_MIN: unbounded */
	int64_t			 until_ns;	/* INT64_MAX: unbounded */
	enum diff_format	 format;
	unsigned		 fail_on;	/* 1 << enum cmp_class */
	uint64_t		 min_count;
	int			 min_level;	/* 0 info .. 3 critical */
	int			 color;		/* text: colour the classes */
	struct cmp_params	 params;
	struct alert_targets	*targets;	/* NULL: no alerts */
	int64_t			 alert_wait_ns;	/* retries within the run */
	uint64_t		 queued;	/* alerts queued by this run */
	uint64_t		 dropped;	/* ... pushed out of the queue */
};

/* One pattern of a comparison, with what the report shows of it. */
struct diff_row {
	struct cmp_pattern	 c;
	char			*id;
	int			 is_template;
	int			 level;		/* 0 info .. 3 critical */
	int64_t			 first_ns;
	char			*sample;
	int			 acked;
	char			*ack_note;
	int			 flagged;	/* fails the run */
};

struct comparison {
	const struct store_revision	*r;
	const struct store_revision	*r0;	/* NULL: nothing to compare */
	int64_t				 from, to, from0, to0;
	uint64_t			 exposure[LOG_KIND_COUNT];
	uint64_t			 exposure0[LOG_KIND_COUNT];
	struct diff_row			*rows;
	size_t				 nrows;
	char				*catalogue;	/* of R, or NULL */
	char				*catalogue0;	/* of R0, or NULL */
};

static void
diff_usage(FILE *f)
{
	fprintf(f,
	    "usage: logaudit diff [--db PATH] [--project P] [--location L]\n"
	    "                     [--service S] [--revision R] [--against R0]\n"
	    "                     [--window D | --since T [--until T]]\n"
	    "                     [--format text|json|markdown]\n"
	    "                     [--fail-on new|returning|regressed|any|none]\n"
	    "                     [--min-count N] [--min-level LEVEL]\n"
	    "                     [--alpha A] [--min-change-count N]\n"
	    "                     [--color auto|always|never]\n"
	    "                     [--webhooks FILE] [--ca-file F]\n"
	    "                     [--alert-wait D]\n"
	    "\n"
	    "Compare a revision with its predecessor: which patterns and\n"
	    "templates are new (in no earlier revision), returning, regressed,\n"
	    "gone, improved, unchanged or not comparable (a catalogue of one\n"
	    "side lacked them).  Default: each service's latest revision\n"
	    "against the one before it.\n"
	    "\n"
	    "  --revision R     the revision to judge (default: the latest)\n"
	    "  --against R0     compare with R0 (default: R's predecessor)\n"
	    "  --window D       the first D of each revision's life (e.g. 30m)\n"
	    "  --since T, --until T  only entries in [T, T) (RFC 3339 or 2h)\n"
	    "  --format F       text (default), json or markdown\n"
	    "  --fail-on C      exit 1 when a pattern is in class C: new\n"
	    "                   (default), returning, regressed, any of them,\n"
	    "                   or none\n"
	    "  --min-count N    occurrences in R before new or returning\n"
	    "                   counts (default 1)\n"
	    "  --min-level L    info, warning (default), error or critical:\n"
	    "                   lower levels are reported but never fail\n"
	    "  --alpha A        significance before Holm's correction (0.001)\n"
	    "  --min-change-count N  occurrences on the larger side before a\n"
	    "                   rate is tested for regressed or improved\n"
	    "                   (default 5)\n"
	    "  --color WHEN     colour the classes in text output: auto (on a\n"
	    "                   terminal, unless $NO_COLOR is set), always,\n"
	    "                   never\n"
	    "  --webhooks FILE  alert targets, one \"name url [slack|json]\" a\n"
	    "                   line (default: $LOGAUDIT_WEBHOOKS, same lines,\n"
	    "                   ';' between them): each flagged new or\n"
	    "                   returning pattern is recorded as a finding and\n"
	    "                   sent once per target, ever\n"
	    "  --alert-wait D   retry failed sends for up to D (default 30s);\n"
	    "                   what is left is retried by the next run\n"
	    "  --ca-file F      CA certificates to verify webhook servers with\n"
	    "\n"
	    "Exit status: 0 nothing flagged, 1 flagged, 2 error.\n");
}

/* Importance order of the classes in reports. */
static int
class_rank(enum cmp_class c)
{
	static const int rank[CLASS_COUNT] = { 0, 1, 2, 3, 4, 6, 5 };

	return (rank[c]);
}

static int
row_cmp(const void *a, const void *b)
{
	const struct diff_row	*x = a, *y = b;

	if (class_rank(x->c.class) != class_rank(y->c.class))
		return (class_rank(x->c.class) - class_rank(y->c.class));
	if (x->c.count != y->c.count)
		return (x->c.count < y->c.count ? 1 : -1);
	return (strcmp(x->id, y->id));
}

/* The revision's window, [*from, *to). */
static void
window_of(const struct diff_opts *o, const struct store_revision *r,
    int64_t *from, int64_t *to)
{
	*from = o->since_ns;
	*to = o->until_ns;
	if (o->window_ns > 0) {
		*from = r->first_ns;
		*to = r->first_ns + o->window_ns;
	}
}

/* Add the pattern ids of revision id to the names list (deduplicated). */
static int
seen_add(struct store *st, int64_t id, char ***names, size_t *n)
{
	struct store_pattern_count	*pc;
	size_t				 k, i, npc;
	char				*cause = NULL;

	if (store_top_patterns(st, id, 0, &pc, &npc, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return (-1);
	}
	for (k = 0; k < npc; k++) {
		for (i = 0; i < *n; i++)
			if (strcmp((*names)[i], pc[k].pattern) == 0)
				break;
		if (i < *n)
			continue;
		*names = xreallocarray(*names, *n + 1, sizeof(**names));
		(*names)[(*n)++] = xstrdup(pc[k].pattern);
	}
	store_pattern_counts_free(pc, npc);
	return (0);
}

static int
name_in(char *const *names, size_t n, const char *s)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (1);
	return (0);
}

static struct diff_row *
row_get(struct comparison *cmp, const char *id)
{
	struct diff_row	*row;
	size_t		 i;

	for (i = 0; i < cmp->nrows; i++)
		if (strcmp(cmp->rows[i].id, id) == 0)
			return (&cmp->rows[i]);
	cmp->rows = xreallocarray(cmp->rows, cmp->nrows + 1,
	    sizeof(*cmp->rows));
	row = &cmp->rows[cmp->nrows++];
	memset(row, 0, sizeof(*row));
	row->id = xstrdup(id);
	row->c.id = row->id;
	row->is_template = strncmp(id, "tpl-", 4) == 0;
	row->level = 2;		/* templates: uncatalogued errors */
	row->first_ns = TIME_NONE;
	return (row);
}

/*
 * Gather R's and R0's numbers, classify, mark acks and what fails.
 * earlier[0..nearlier) are the revisions before R.
 */
static int
compare_one(struct store *st, const struct diff_opts *o,
    struct comparison *cmp, const struct store_revision *earlier,
    size_t nearlier)
{
	struct store_window_pattern	*w = NULL, *w0 = NULL;
	struct diff_row			*row;
	char				**seen = NULL, *cause = NULL;
	size_t				 nw = 0, nw0 = 0, nseen = 0, i;
	int				 knew, rv = -1, side;

	window_of(o, cmp->r, &cmp->from, &cmp->to);
	if (store_window(st, cmp->r->id, cmp->from, cmp->to, cmp->exposure,
	    &w, &nw, &cause) == -1)
		goto out;
	if (cmp->r0 != NULL) {
		window_of(o, cmp->r0, &cmp->from0, &cmp->to0);
		if (store_window(st, cmp->r0->id, cmp->from0, cmp->to0,
		    cmp->exposure0, &w0, &nw0, &cause) == -1)
			goto out;
	}
	/* every revision before R but R0 itself: "returning" needs them;
	 * with a window R0 counts there too, for what it showed outside the
	 * window is not new either */
	for (i = 0; i < nearlier; i++)
		if ((cmp->r0 == NULL || earlier[i].id != cmp->r0->id ||
		    o->window_ns > 0 || o->since_ns != INT64_MIN ||
		    o->until_ns != INT64_MAX) &&
		    seen_add(st, earlier[i].id, &seen, &nseen) == -1)
			goto out;
	for (side = 0; side < 2; side++) {
		struct store_window_pattern	*v = side ? w0 : w;
		size_t				 nv = side ? nw0 : nw, k;

		for (k = 0; k < nv; k++) {
			row = row_get(cmp, v[k].pattern);
			if (side == 0) {
				row->c.count = v[k].count;
				row->first_ns = v[k].first_ns;
				free(row->sample);
				row->sample = xstrdup(v[k].sample != NULL ?
				    v[k].sample : "");
			} else {
				row->c.previous_count = v[k].count;
				if (row->sample == NULL)
					row->sample = xstrdup(v[k].sample !=
					    NULL ? v[k].sample : "");
			}
			row->c.log_kinds |= v[k].log_kinds;
			if (v[k].level != NULL)
				row->level = pattern_level_parse(v[k].level);
		}
	}
	for (i = 0; i < cmp->nrows; i++) {
		row = &cmp->rows[i];
		row->c.seen_before = name_in(seen, nseen, row->id);
		if ((knew = cmd_comparable(st, cmp->r, cmp->r0, row->id,
		    row->c.count, row->c.previous_count, &cause)) == -1)
			goto out;
		row->c.comparable = knew;
	}
	{
		struct cmp_pattern	*cp;

		cp = xcalloc(cmp->nrows + 1, sizeof(*cp));
		for (i = 0; i < cmp->nrows; i++)
			cp[i] = cmp->rows[i].c;
		cmp_classify(cp, cmp->nrows, cmp->exposure,
		    cmp->r0 != NULL ? cmp->exposure0 : NULL, &o->params);
		for (i = 0; i < cmp->nrows; i++)
			cmp->rows[i].c = cp[i];
		free(cp);
	}
	for (i = 0; i < cmp->nrows; i++) {
		row = &cmp->rows[i];
		if ((row->acked = store_acked(st, cmp->r->project,
		    cmp->r->location, cmp->r->service, cmp->r->revision,
		    row->id, &row->ack_note, &cause)) == -1)
			goto out;
		row->flagged = !row->acked && cmp->r0 != NULL &&
		    (o->fail_on & (1u << row->c.class)) &&
		    row->level >= o->min_level &&
		    (row->c.class == CLASS_REGRESSED ||
		    row->c.count >= o->min_count);
	}
	if (cmp->nrows > 0)	/* rows is NULL when there are none */
		qsort(cmp->rows, cmp->nrows, sizeof(*cmp->rows), row_cmp);
	rv = 0;
out:
	if (rv == -1 && cause != NULL) {
		log_warnx("%s", cause);
		free(cause);
	}
	store_window_free(w, nw);
	store_window_free(w0, nw0);
	for (i = 0; i < nseen; i++)
		free(seen[i]);
	free(seen);
	return (rv);
}

static void
comparison_clear(struct comparison *cmp)
{
	size_t	i;

	for (i = 0; i < cmp->nrows; i++) {
		free(cmp->rows[i].id);
		free(cmp->rows[i].sample);
		free(cmp->rows[i].ack_note);
	}
	free(cmp->rows);
	free(cmp->catalogue);
	free(cmp->catalogue0);
	memset(cmp, 0, sizeof(*cmp));
}

static uint64_t
exposure_total(const uint64_t e[LOG_KIND_COUNT])
{
	uint64_t	sum = 0;
	int		k;

	for (k = 0; k < LOG_KIND_COUNT; k++)
		sum += e[k];
	return (sum);
}

/* The first line of s, at most max bytes, into buf. */
static const char *
first_line(const char *s, char *buf, size_t size, size_t max)
{
	size_t	n = s != NULL ? strcspn(s, "\n") : 0;

	if (n > max)
		n = max;
	snprintf(buf, size, "%.*s%s", (int)n, s != NULL ? s : "",
	    s != NULL && s[n] != '\0' ? "..." : "");
	return (buf);
}

static void
fmt_rate(char *buf, size_t size, double rate)
{
	if (rate < 0)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.3g", rate);
}

/*
 * The one-line verdict of the text and Markdown reports: what fails the
 * run, else whether anything is new, and in either case what returned or
 * got worse, so "no new error patterns" never hides a regression.
 */
static void
verdict(const struct comparison *cmp, FILE *f)
{
	static const enum cmp_class	 worse[] = { CLASS_NEW,
	    CLASS_RETURNING, CLASS_REGRESSED };
	size_t				 n[CLASS_COUNT], flagged = 0, i, k;
	const char			*sep = " (";

	memset(n, 0, sizeof(n));
	for (i = 0; i < cmp->nrows; i++) {
		n[cmp->rows[i].c.class]++;
		flagged += cmp->rows[i].flagged;
	}
	if (flagged > 0)
		fprintf(f, "%zu finding%s need%s attention", flagged,
		    flagged == 1 ? "" : "s", flagged == 1 ? "s" : "");
	else if (n[CLASS_NEW] > 0)
		fprintf(f, "%zu new pattern%s, none failing (below the "
		    "failing level or count, acknowledged, or --fail-on "
		    "excludes new)", n[CLASS_NEW], n[CLASS_NEW] == 1 ? "" :
		    "s");
	else
		fprintf(f, "no new error patterns introduced by %s",
		    cmp->r->revision);
	for (k = 0; k < sizeof(worse) / sizeof(worse[0]); k++) {
		if (n[worse[k]] == 0 || (flagged == 0 && worse[k] ==
		    CLASS_NEW))
			continue;
		fprintf(f, "%s%zu %s", sep, n[worse[k]],
		    cmp_class_name(worse[k]));
		sep = ", ";
	}
	fprintf(f, "%s.\n", sep[0] == ',' ? ")" : "");
}

/* ANSI colours of the classes in text output; none for unchanged. */
static const char *
class_color(enum cmp_class c)
{
	switch (c) {
	case CLASS_NEW:
		return ("\033[1;31m");
	case CLASS_RETURNING:
	case CLASS_REGRESSED:
		return ("\033[31m");
	case CLASS_GONE:
	case CLASS_IMPROVED:
		return ("\033[32m");
	case CLASS_NOT_COMPARABLE:
		return ("\033[2m");
	default:
		return ("");
	}
}

static void
render_text(const struct comparison *cmp, int color, FILE *f)
{
	static const char	*head[] = { "CLASS", "PATTERN", "COUNT", "PREV",
	    "RATE/1k", "PREV/1k", "P", "SAMPLE" };
	const struct diff_row	*row;
	struct table		*t;
	const char		*cells[8];
	char			 c[6][48], sample[96], a[40], b[40];
	const char		*on, *off;
	size_t			 i;

	fprintf(f, "%s (project %s, location %s): %s", cmp->r->service,
	    cmp->r->project, cmp->r->location, cmp->r->revision);
	if (cmp->r0 == NULL) {
		fprintf(f, ": no earlier revision, nothing to compare\n");
		return;
	}
	fprintf(f, " against %s\n", cmp->r0->revision);
	fprintf(f, "  exposure: %llu entries (%llu requests) in %s .. %s; "
	    "%llu (%llu) in %s .. %s\n",
	    (unsigned long long)exposure_total(cmp->exposure),
	    (unsigned long long)cmp->exposure[LOG_REQUESTS],
	    time_format(cmp->from == INT64_MIN ? cmp->r->first_ns : cmp->from,
	    a, sizeof(a)), time_format(cmp->to == INT64_MAX ?
	    cmp->r->last_ns : cmp->to, b, sizeof(b)),
	    (unsigned long long)exposure_total(cmp->exposure0),
	    (unsigned long long)cmp->exposure0[LOG_REQUESTS],
	    time_format(cmp->from0 == INT64_MIN ? cmp->r0->first_ns :
	    cmp->from0, c[0], sizeof(c[0])), time_format(cmp->to0 ==
	    INT64_MAX ? cmp->r0->last_ns : cmp->to0, c[1], sizeof(c[1])));
	t = table_new(8);
	table_add(t, head);
	for (i = 0; i < cmp->nrows; i++) {
		row = &cmp->rows[i];
		if (row->c.class == CLASS_UNCHANGED)
			continue;
		on = color ? class_color(row->c.class) : "";
		off = *on != '\0' ? "\033[0m" : "";
		snprintf(c[0], sizeof(c[0]), "%s%s%s%s%s", on,
		    cmp_class_name(row->c.class), row->acked ? " (ack)" : "",
		    row->flagged ? " *" : "", off);
		snprintf(c[1], sizeof(c[1]), "%llu",
		    (unsigned long long)row->c.count);
		snprintf(c[2], sizeof(c[2]), "%llu",
		    (unsigned long long)row->c.previous_count);
		fmt_rate(c[3], sizeof(c[3]), row->c.rate);
		fmt_rate(c[4], sizeof(c[4]), row->c.previous_rate);
		if (row->c.p_value < 0)
			snprintf(c[5], sizeof(c[5]), "-");
		else
			snprintf(c[5], sizeof(c[5]), "%.2g", row->c.p_value);
		cells[0] = c[0];
		cells[1] = row->id;
		cells[2] = c[1];
		cells[3] = c[2];
		cells[4] = c[3];
		cells[5] = c[4];
		cells[6] = c[5];
		cells[7] = first_line(row->sample, sample, sizeof(sample), 60);
		table_add(t, cells);
	}
	table_print(t, f);
	table_free(t);
	fprintf(f, "verdict: ");
	verdict(cmp, f);
}

static void
json_window(yajl_gen g, const char *key, int64_t from, int64_t to,
    const uint64_t e[LOG_KIND_COUNT])
{
	int	k;

	rj_key(g, key);
	yajl_gen_map_open(g);
	rj_key_time(g, "from", from == INT64_MIN ? TIME_NONE : from);
	rj_key_time(g, "until", to == INT64_MAX ? TIME_NONE : to);
	rj_key_int(g, "entries", (long long)exposure_total(e));
	for (k = 0; k < LOG_KIND_COUNT; k++)
		rj_key_int(g, log_kind_name((enum log_kind)k), (long long)e[k]);
	yajl_gen_map_close(g);
}

static void
json_double(yajl_gen g, const char *key, double v)
{
	rj_key(g, key);
	if (v < 0)
		yajl_gen_null(g);
	else
		yajl_gen_double(g, v);
}

static void
render_json(yajl_gen g, const struct comparison *cmp)
{
	const struct diff_row	*row;
	size_t			 i;

	yajl_gen_map_open(g);
	rj_key_cstr(g, "project", cmp->r->project);
	rj_key_cstr(g, "location", cmp->r->location);
	rj_key_cstr(g, "service", cmp->r->service);
	rj_key_cstr(g, "revision", cmp->r->revision);
	rj_key_cstr(g, "against", cmp->r0 != NULL ? cmp->r0->revision : NULL);
	rj_key(g, "exposure");
	yajl_gen_map_open(g);
	json_window(g, "revision", cmp->from, cmp->to, cmp->exposure);
	if (cmp->r0 != NULL)
		json_window(g, "against", cmp->from0, cmp->to0,
		    cmp->exposure0);
	yajl_gen_map_close(g);
	rj_key(g, "patterns");
	yajl_gen_array_open(g);
	for (i = 0; i < cmp->nrows && cmp->r0 != NULL; i++) {
		row = &cmp->rows[i];
		yajl_gen_map_open(g);
		rj_key_cstr(g, "id", row->id);
		rj_key_cstr(g, "kind", row->is_template ? "template" :
		    "catalogue");
		rj_key_cstr(g, "class", cmp_class_name(row->c.class));
		rj_key_cstr(g, "level", pattern_level_name((enum pattern_level)row->level));
		rj_key_int(g, "count", (long long)row->c.count);
		rj_key_int(g, "previous_count",
		    (long long)row->c.previous_count);
		json_double(g, "rate", row->c.rate);
		json_double(g, "previous_rate", row->c.previous_rate);
		json_double(g, "p_value", row->c.p_value);
		rj_key_time(g, "first_seen", row->first_ns);
		rj_key_cstr(g, "sample", row->sample);
		rj_key(g, "acknowledged");
		yajl_gen_bool(g, row->acked);
		rj_key(g, "flagged");
		yajl_gen_bool(g, row->flagged);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
}

/* Markdown: a table cell holds no '|' and no newline. */
static void
md_cell(FILE *f, const char *s, size_t max)
{
	size_t	n = 0;

	for (; s != NULL && *s != '\0' && *s != '\n' && n < max; s++, n++) {
		if (*s == '|')
			fputs("\\|", f);
		else if (*s == '`')
			fputc('\'', f);
		else
			fputc(*s, f);
	}
	if (s != NULL && *s != '\0')
		fputs("...", f);
}

/* "commit C, build B", or "" when the entries carried neither. */
static const char *
deployed_from(const struct store_revision *r, char *buf, size_t len)
{
	if (r->commit_sha == NULL && r->build_id == NULL)
		return ("");
	snprintf(buf, len, "; commit %s, build %s", r->commit_sha != NULL ?
	    r->commit_sha : "-", r->build_id != NULL ? r->build_id : "-");
	return (buf);
}

static void
render_markdown(const struct comparison *cmp, FILE *f)
{
	static const enum cmp_class order[] = { CLASS_NEW, CLASS_RETURNING,
	    CLASS_REGRESSED, CLASS_GONE, CLASS_IMPROVED,
	    CLASS_NOT_COMPARABLE };
	static const char *titles[] = { "New", "Returning", "Regressed",
	    "Gone", "Improved", "Not comparable" };
	const struct diff_row	*row;
	size_t			 i, k, shown;
	int			 tested;
	char			 a[40], b[40], rate[32], prev[32], dep[256];

	fprintf(f, "## Deployment check: %s %s\n\n", cmp->r->service,
	    cmp->r->revision);
	fprintf(f, "| | |\n|---|---|\n");
	fprintf(f, "| Service | %s (project %s, location %s) |\n",
	    cmp->r->service, cmp->r->project, cmp->r->location);
	fprintf(f, "| Revision | %s, %s .. %s%s |\n", cmp->r->revision,
	    time_format(cmp->from != INT64_MIN ? cmp->from : cmp->r->first_ns,
	    a, sizeof(a)), time_format(cmp->to != INT64_MAX ? cmp->to :
	    cmp->r->last_ns, b, sizeof(b)), deployed_from(cmp->r, dep,
	    sizeof(dep)));
	if (cmp->r0 == NULL) {
		fprintf(f, "\n**Verdict:** no earlier revision of %s: nothing "
		    "to compare.\n", cmp->r->service);
		return;
	}
	fprintf(f, "| Compared with | %s, %s .. %s%s |\n", cmp->r0->revision,
	    time_format(cmp->from0 != INT64_MIN ? cmp->from0 :
	    cmp->r0->first_ns, a, sizeof(a)), time_format(cmp->to0 !=
	    INT64_MAX ? cmp->to0 : cmp->r0->last_ns, b, sizeof(b)),
	    deployed_from(cmp->r0, dep, sizeof(dep)));
	fprintf(f, "| Exposure compared | %llu entries (%llu requests) "
	    "against %llu (%llu) |\n",
	    (unsigned long long)exposure_total(cmp->exposure),
	    (unsigned long long)cmp->exposure[LOG_REQUESTS],
	    (unsigned long long)exposure_total(cmp->exposure0),
	    (unsigned long long)cmp->exposure0[LOG_REQUESTS]);
	if (cmp->catalogue != NULL || cmp->catalogue0 != NULL) {
		if (cmp->catalogue != NULL && cmp->catalogue0 != NULL &&
		    strcmp(cmp->catalogue, cmp->catalogue0) == 0)
			fprintf(f, "| Catalogue | %s |\n", cmp->catalogue);
		else
			fprintf(f, "| Catalogue | %s (%s), %s (%s) |\n",
			    cmp->catalogue != NULL ? cmp->catalogue : "-",
			    cmp->r->revision, cmp->catalogue0 != NULL ?
			    cmp->catalogue0 : "-", cmp->r0->revision);
	}
	for (k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		/* a p-value where a rate was tested: gone says how likely
		 * none was at R0's rate, so gone on little traffic shows */
		tested = order[k] == CLASS_REGRESSED || order[k] ==
		    CLASS_GONE || order[k] == CLASS_IMPROVED;
		for (i = shown = 0; i < cmp->nrows; i++) {
			row = &cmp->rows[i];
			if (row->c.class != order[k])
				continue;
			if (shown++ == 0)
				fprintf(f, "\n### %s\n\n| Pattern | Count | "
				    "Previous | Rate/1k | Previous/1k |%s "
				    "First seen | Sample |\n|---|---:|---:|"
				    "---:|---:|%s---|---|\n", titles[k],
				    tested ? " p |" : "", tested ? "---:|" :
				    "");
			fmt_rate(rate, sizeof(rate), row->c.rate);
			fmt_rate(prev, sizeof(prev), row->c.previous_rate);
			fprintf(f, "| `%s`%s | %llu | %llu | %s | %s |",
			    row->id, row->acked ? " (acknowledged)" : "",
			    (unsigned long long)row->c.count,
			    (unsigned long long)row->c.previous_count, rate,
			    prev);
			if (tested && row->c.p_value >= 0)
				fprintf(f, " %.2g |", row->c.p_value);
			else if (tested)
				fprintf(f, " - |");
			fprintf(f, " %s | ", time_format(row->first_ns, a,
			    sizeof(a)));
			md_cell(f, row->sample, 100);
			fprintf(f, " |\n");
		}
	}
	fprintf(f, "\n**Verdict:** ");
	verdict(cmp, f);
}

static const struct store_revision *
find_rev(const struct store_revision *v, size_t first, size_t end,
    const char *name)
{
	size_t	i;

	for (i = first; i < end; i++)
		if (strcmp(v[i].revision, name) == 0)
			return (&v[i]);
	return (NULL);
}

/* Compare within the group v[first..end) of one service.  -1: error. */
/*
 * Record each flagged new or returning pattern of cmp as a finding (one
 * that follow or an earlier diff made stays as it was) and queue it for
 * every target: the queue sends each (finding, target) once, so an hourly
 * run does not repeat itself.  Regressions fail the run but are not
 * alerted: they are a matter of degree, and move with the window.
 */
static int
diff_alerts(struct store *st, struct diff_opts *o,
    const struct comparison *cmp)
{
	struct store_finding	 f;
	const struct diff_row	*row;
	char			*cause = NULL;
	size_t			 i;
	int			 n;

	for (i = 0; i < cmp->nrows; i++) {
		row = &cmp->rows[i];
		if (!row->flagged || (row->c.class != CLASS_NEW &&
		    row->c.class != CLASS_RETURNING))
			continue;
		memset(&f, 0, sizeof(f));
		f.found_ns = time_now_ns();
		f.project = cmp->r->project;
		f.location = cmp->r->location;
		f.service = cmp->r->service;
		f.revision = cmp->r->revision;
		f.pattern = row->id;
		f.kind = row->is_template ? "template" : "catalogue";
		f.class = cmp_class_name(row->c.class);
		f.level = pattern_level_name(row->level);
		f.sample = row->sample;
		f.insert_id = "";
		f.entry_ns = row->first_ns;
		if (store_pattern_total(st, cmp->r->id, row->id, &f.count,
		    &cause) == -1 || store_finding(st, &f, &cause) == -1 ||
		    (n = store_alerts_queue(st, &f, o->targets->names,
		    o->targets->n, &o->dropped, &cause)) == -1) {
			log_warnx("%s", cause);
			free(cause);
			return (-1);
		}
		o->queued += (uint64_t)n;
	}
	return (0);
}

static int
diff_service(struct store *st, struct diff_opts *o,
    const struct store_revision *v, size_t first, size_t end, yajl_gen g,
    int *flagged)
{
	struct comparison		 cmp;
	const struct store_revision	*r = NULL, *r0 = NULL;
	char				*cause = NULL;
	size_t				 i, nearlier;

	memset(&cmp, 0, sizeof(cmp));
	/* revisions with no name or no entries take no part */
	while (end > first && (v[end - 1].revision[0] == '\0' ||
	    v[end - 1].entries == 0))
		end--;
	if (end == first)
		return (0);
	if (o->revision != NULL) {
		if ((r = find_rev(v, first, end, o->revision)) == NULL)
			return (0);
	} else
		r = &v[end - 1];
	if (o->against != NULL) {
		if ((r0 = find_rev(v, first, end, o->against)) == NULL) {
			log_warnx("%s: no revision %s", r->service, o->against);
			return (-1);
		}
	} else
		r0 = cmd_predecessor(v, first, r);
	cmp.r = r;
	cmp.r0 = r0;
	/* earlier: every revision before R (compare_one skips R0) */
	nearlier = (size_t)(r - &v[first]);
	if (compare_one(st, o, &cmp, &v[first], nearlier) == -1) {
		comparison_clear(&cmp);
		return (-1);
	}
	for (i = 0; i < cmp.nrows; i++)
		*flagged += cmp.rows[i].flagged;
	if (o->format == DIFF_MARKDOWN && (store_revision_catalogues(st,
	    r->id, &cmp.catalogue, &cause) == -1 || (r0 != NULL &&
	    store_revision_catalogues(st, r0->id, &cmp.catalogue0,
	    &cause) == -1))) {
		log_warnx("%s", cause);
		free(cause);
		comparison_clear(&cmp);
		return (-1);
	}
	if (o->targets != NULL && diff_alerts(st, o, &cmp) == -1) {
		comparison_clear(&cmp);
		return (-1);
	}
	switch (o->format) {
	case DIFF_JSON:
		render_json(g, &cmp);
		break;
	case DIFF_MARKDOWN:
		render_markdown(&cmp, stdout);
		fputc('\n', stdout);
		break;
	default:
		render_text(&cmp, o->color, stdout);
		fputc('\n', stdout);
		break;
	}
	comparison_clear(&cmp);
	return (1);
}

/* Colour by default only on a terminal, and never under $NO_COLOR. */
static int
color_auto(void)
{
	const char	*nc = getenv("NO_COLOR");

	return (isatty(STDOUT_FILENO) && (nc == NULL || *nc == '\0'));
}

static int
diff_parse(struct diff_opts *o, int ch, const char *arg)
{
	int64_t	now = time_now_ns();

	switch (ch) {
	case 'P':
		o->project = arg;
		break;
	case 'L':
		o->location = arg;
		break;
	case 's':
		o->service = arg;
		break;
	case 'r':
		o->revision = arg;
		break;
	case 'a':
		o->against = arg;
		break;
	case 'w':
		if (duration_parse(arg, &o->window_ns) == -1 ||
		    o->window_ns <= 0) {
			log_warnx("--window: bad duration \"%s\"", arg);
			return (-1);
		}
		break;
	case 'S':
	case 'U':
		if (time_parse_option(arg, now, ch == 'S' ? &o->since_ns :
		    &o->until_ns) == -1) {
			log_warnx("--%s: not a time or duration: \"%s\"",
			    ch == 'S' ? "since" : "until", arg);
			return (-1);
		}
		break;
	case 'f':
		if (strcmp(arg, "text") == 0)
			o->format = DIFF_TEXT;
		else if (strcmp(arg, "json") == 0)
			o->format = DIFF_JSON;
		else if (strcmp(arg, "markdown") == 0)
			o->format = DIFF_MARKDOWN;
		else {
			log_warnx("--format: text, json or markdown, not "
			    "\"%s\"", arg);
			return (-1);
		}
		break;
	case 'F':
		if (strcmp(arg, "new") == 0)
			o->fail_on = 1u << CLASS_NEW;
		else if (strcmp(arg, "returning") == 0)
			o->fail_on = 1u << CLASS_RETURNING;
		else if (strcmp(arg, "regressed") == 0)
			o->fail_on = 1u << CLASS_REGRESSED;
		else if (strcmp(arg, "any") == 0)
			o->fail_on = (1u << CLASS_NEW) |
			    (1u << CLASS_RETURNING) | (1u << CLASS_REGRESSED);
		else if (strcmp(arg, "none") == 0)
			o->fail_on = 0;
		else {
			log_warnx("--fail-on: new, returning, regressed, any "
			    "or none, not \"%s\"", arg);
			return (-1);
		}
		break;
	case 'n':
	case 'C':
		if (count_parse(arg, ch == 'n' ? &o->min_count :
		    &o->params.min_count) == -1) {
			log_warnx("--%s: a count of 1 or more, not \"%s\"",
			    ch == 'n' ? "min-count" : "min-change-count", arg);
			return (-1);
		}
		break;
	case 'o':
		if (strcmp(arg, "always") == 0)
			o->color = 1;
		else if (strcmp(arg, "never") == 0)
			o->color = 0;
		else if (strcmp(arg, "auto") == 0)
			o->color = color_auto();
		else {
			log_warnx("--color: auto, always or never, not \"%s\"",
			    arg);
			return (-1);
		}
		break;
	case 'l':
		if ((o->min_level = pattern_level_parse(arg)) == -1) {
			log_warnx("--min-level: info, warning, error or "
			    "critical, not \"%s\"", arg);
			return (-1);
		}
		break;
	case 'X':
		if (duration_parse(arg, &o->alert_wait_ns) == -1 ||
		    o->alert_wait_ns < 0) {
			log_warnx("--alert-wait: bad duration \"%s\"", arg);
			return (-1);
		}
		break;
	case 'A':
		o->params.alpha = strtod(arg, NULL);
		if (!(o->params.alpha > 0 && o->params.alpha < 1)) {
			log_warnx("--alpha: a number between 0 and 1");
			return (-1);
		}
		break;
	default:
		return (-1);
	}
	return (0);
}

/* Send what is due, this run's alerts and earlier runs' retries. */
static int
diff_deliver(const struct diff_opts *o, const char *db, const char *ca_file)
{
	struct alerter	*a;
	char		*cause = NULL;
	int		 sent;

	if (o->dropped > 0)
		log_warnx("alerts: the queue is full (%d pending): %llu oldest "
		    "dropped", STORE_ALERTS_MAX,
		    (unsigned long long)o->dropped);
	http_init();
	if ((a = alerter_new(db, o->targets, ca_file, &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		return (-1);
	}
	sent = alerter_flush(a, o->alert_wait_ns, &cmd_interrupted);
	alerter_free(a);
	if (sent > 0 || o->queued > 0)
		log_info("alerts: %llu queued, %d sent",
		    (unsigned long long)o->queued, sent);
	return (sent == -1 ? -1 : 0);
}

int
cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "project", required_argument, NULL, 'P' },
		{ "location", required_argument, NULL, 'L' },
		{ "service", required_argument, NULL, 's' },
		{ "revision", required_argument, NULL, 'r' },
		{ "against", required_argument, NULL, 'a' },
		{ "window", required_argument, NULL, 'w' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "format", required_argument, NULL, 'f' },
		{ "fail-on", required_argument, NULL, 'F' },
		{ "min-count", required_argument, NULL, 'n' },
		{ "min-level", required_argument, NULL, 'l' },
		{ "alpha", required_argument, NULL, 'A' },
		{ "min-change-count", required_argument, NULL, 'C' },
		{ "color", required_argument, NULL, 'o' },
		{ "webhooks", required_argument, NULL, 'W' },
		{ "ca-file", required_argument, NULL, 'c' },
		{ "alert-wait", required_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct diff_opts	 o;
	struct store		*st;
	struct store_revision	*v;
	const char		*db = NULL, *webhooks = NULL, *ca_file = NULL;
	char			*cause = NULL;
	size_t			 n, i, first;
	int			 ch, rv = EXIT_OK, flagged = 0, done = 0, r;
	yajl_gen		 g = NULL;

	memset(&o, 0, sizeof(o));
	o.since_ns = INT64_MIN;
	o.until_ns = INT64_MAX;
	o.fail_on = 1u << CLASS_NEW;
	o.min_count = 1;
	o.min_level = 1;
	o.color = color_auto();
	o.params.alpha = CMP_ALPHA_DEFAULT;
	o.alert_wait_ns = DIFF_ALERT_WAIT_DEFAULT;
	o.params.min_count = CMP_MIN_COUNT_DEFAULT;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'h') {
			diff_usage(stdout);
			return (EXIT_OK);
		}
		if (ch == 'd' || ch == 'W' || ch == 'c') {
			if (ch == 'd')
				db = optarg;
			else if (ch == 'W')
				webhooks = optarg;
			else
				ca_file = optarg;
			continue;
		}
		if (diff_parse(&o, ch, optarg) == -1) {
			if (ch == '?' || ch == ':')
				diff_usage(stderr);
			return (EXIT_ERROR);
		}
	}
	if (optind != argc || (o.window_ns > 0 && (o.since_ns != INT64_MIN ||
	    o.until_ns != INT64_MAX))) {
		diff_usage(stderr);
		return (EXIT_ERROR);
	}
	if (alert_targets_load(webhooks, &o.targets, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return (EXIT_ERROR);
	}
	if ((st = cmd_store_existing(db)) == NULL) {
		alert_targets_free(o.targets);
		return (EXIT_ERROR);
	}
	if (store_revisions(st, o.service, &v, &n, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		store_close(st);
		return (EXIT_ERROR);
	}
	if (o.format == DIFF_JSON) {
		g = report_json_new(1);
		yajl_gen_map_open(g);
		rj_key_int(g, "schema_version", 1);
		rj_key(g, "comparisons");
		yajl_gen_array_open(g);
	}
	/* one comparison per (project, location, service) */
	for (first = 0; first < n; first = i) {
		for (i = first + 1; i < n && strcmp(v[i].project,
		    v[first].project) == 0 && strcmp(v[i].location,
		    v[first].location) == 0 && strcmp(v[i].service,
		    v[first].service) == 0; i++)
			;
		if ((o.project != NULL && strcmp(o.project,
		    v[first].project) != 0) || (o.location != NULL &&
		    strcmp(o.location, v[first].location) != 0) ||
		    v[first].service[0] == '\0')
			continue;
		if ((r = diff_service(st, &o, v, first, i, g, &flagged)) == -1)
			rv = EXIT_ERROR;
		done += r > 0;
	}
	if (g != NULL) {
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
		report_json_flush(g, stdout);
		yajl_gen_free(g);
	}
	if (done == 0 && rv == EXIT_OK) {
		log_warnx("no revision to compare%s%s%s", o.service != NULL ?
		    " for service " : "", o.service != NULL ? o.service : "",
		    o.revision != NULL ? " (is --revision right?)" : "");
		/* a named service or revision that is not there is an
		 * error; an empty database is merely nothing to do */
		rv = o.revision != NULL || o.service != NULL ? EXIT_ERROR :
		    EXIT_OK;
	}
	store_revisions_free(v, n);
	store_close(st);
	if (o.targets != NULL && diff_deliver(&o, cmd_db_path(db), ca_file) ==
	    -1)
		rv = EXIT_ERROR;
	alert_targets_free(o.targets);
	if (rv == EXIT_OK && flagged > 0)
		rv = EXIT_FOUND;
	return (rv);
}
