/*
 * logaudit match: inputs -> entry reader -> catalogue -> stdout, writing
 * nothing to the store.  One line per entry (JSON Lines with --format
 * json); with --unmatched only the entries that no pattern matched but
 * that look like problems.  A summary of hits per pattern, and of matches
 * that hit the PCRE2 match limit, goes to stderr.
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

struct match_ctx {
	struct catalogue	*cat;
	size_t			*hits;
	unsigned long		*per_pattern;	/* hits per pattern */
	unsigned long		 entries;
	unsigned long		 shown;
	enum report_format	 format;
	int			 unmatched;
	yajl_gen		 g;
};

static void
match_usage(FILE *f)
{
	fprintf(f,
	    "usage: logaudit match [--format text|json] [--unmatched]\n"
	    "                      [--service S] [--revision R] [--text]\n"
	    "                      [--patterns DIR]... [FILE...|-]\n"
	    "\n"
	    "Read entries like ingest, but write nothing: print each entry\n"
	    "with the patterns it matches, one line each: time, severity,\n"
	    "service/revision, insertId (- if none), [pattern ids], first\n"
	    "line of the message (JSON Lines with --format json).\n"
	    "\n"
	    "  --format F      text (default) or json\n"
	    "  --unmatched     only entries no pattern matched that look like\n"
	    "                  problems: WARNING and above, DEFAULT-severity\n"
	    "                  stdout/stderr entries and text lines, requests\n"
	    "                  with status >= 500\n"
	    "  --service S, --revision R, --text   as for ingest\n"
	    "  --patterns DIR  catalogue directory (repeatable)\n");
}

/* Entries worth a person's look when nothing matched them. */
static int
looks_like_problem(const struct log_entry *e)
{
	if (e->severity >= 400)
		return (1);
	if (e->http_status >= 500)
		return (1);
	return (e->severity == 0 &&
	    (e->kind == LOG_STDOUT || e->kind == LOG_STDERR || e->is_text));
}

/*
 * A field of the text format: a blank or control byte in it (an insertId
 * may hold any) would break the line's columns, so it shows as '?'.
 */
static void
put_word(const char *p, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		putchar((unsigned char)p[i] <= ' ' || p[i] == 0x7f ? '?' :
		    p[i]);
}

static int
match_entry(const struct log_entry *e, void *arg)
{
	struct match_ctx	*m = arg;
	size_t			 n, i, nl, specific;
	char			 ts[40];

	n = catalogue_match(m->cat, e, m->hits);
	m->entries++;
	for (i = specific = 0; i < n; i++) {
		m->per_pattern[m->hits[i]]++;
		specific += !catalogue_pattern(m->cat, m->hits[i])->generic;
	}
	/* generic patterns ("an ERROR line") leave an entry unmatched */
	if (m->unmatched && (specific > 0 || !looks_like_problem(e)))
		return (0);
	m->shown++;
	if (m->format == FORMAT_JSON) {
		yajl_gen_map_open(m->g);
		rj_key(m->g, "insert_id");
		rj_str(m->g, e->insert_id.p, e->insert_id.len);
		rj_key_time(m->g, "timestamp", e->timestamp_ns);
		rj_key(m->g, "project");
		rj_str(m->g, e->project.p, e->project.len);
		rj_key(m->g, "location");
		rj_str(m->g, e->location.p, e->location.len);
		rj_key(m->g, "service");
		rj_str(m->g, e->service.p, e->service.len);
		rj_key(m->g, "revision");
		rj_str(m->g, e->revision.p, e->revision.len);
		rj_key_cstr(m->g, "severity", severity_name(e->severity));
		rj_key_cstr(m->g, "log", log_kind_name(e->kind));
		if (e->http_status != 0)
			rj_key_int(m->g, "status", e->http_status);
		rj_key(m->g, "message");
		rj_str(m->g, e->message.p, e->message.len);
		rj_key(m->g, "patterns");
		yajl_gen_array_open(m->g);
		for (i = 0; i < n; i++)
			rj_cstr(m->g, catalogue_pattern(m->cat,
			    m->hits[i])->id);
		yajl_gen_array_close(m->g);
		rj_key_int(m->g, "line", (long long)e->line);
		yajl_gen_map_close(m->g);
		report_json_flush(m->g, stdout);
		return (0);
	}
	/* text: time severity service/revision insertId [ids] first line */
	nl = 0;
	while (nl < e->message.len && e->message.p[nl] != '\n')
		nl++;
	printf("%s %-8s %.*s/%.*s ", time_format(e->timestamp_ns, ts,
	    sizeof(ts)), severity_name(e->severity), (int)e->service.len,
	    e->service.p, (int)e->revision.len, e->revision.p);
	/* "-" keeps the columns when there is none (text lines) */
	if (e->insert_id.len > 0)
		put_word(e->insert_id.p, e->insert_id.len);
	else
		putchar('-');
	printf(" [");
	for (i = 0; i < n; i++)
		printf("%s%s", i ? "," : "",
		    catalogue_pattern(m->cat, m->hits[i])->id);
	printf("] %.*s\n", (int)nl, e->message.p);
	return (0);
}

int
cmd_match(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "unmatched", no_argument, NULL, 'u' },
		CMD_INPUT_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cmd_input_opts		 io;
	struct match_ctx		 m;
	struct entry_stats		 stats;
	enum entry_framing		 framing;
	static char			 dash[] = "-";
	char				*stdin_only[] = { dash, NULL };
	size_t				 i;
	uint64_t			 off;
	int				 ch, in_array, rv = EXIT_OK;

	memset(&io, 0, sizeof(io));
	memset(&m, 0, sizeof(m));
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (report_format_parse(optarg, &m.format) == -1) {
				log_warnx("--format: text or json, not \"%s\"",
				    optarg);
				cmd_input_opts_clear(&io);
				return (EXIT_ERROR);
			}
			break;
		case 'u':
			m.unmatched = 1;
			break;
		case 'h':
			match_usage(stdout);
			cmd_input_opts_clear(&io);
			return (EXIT_OK);
		default:
			if (cmd_input_option(&io, ch, optarg))
				break;
			match_usage(stderr);
			cmd_input_opts_clear(&io);
			return (EXIT_ERROR);
		}
	}
	argc -= optind;
	argv += optind;
	m.cat = cmd_catalogue(io.pdirs, io.npdirs);
	cmd_input_opts_clear(&io);
	if (m.cat == NULL)
		return (EXIT_ERROR);
	m.hits = xcalloc(catalogue_size(m.cat) + 1, sizeof(*m.hits));
	m.per_pattern = xcalloc(catalogue_size(m.cat) + 1,
	    sizeof(*m.per_pattern));
	m.g = report_json_new(0);
	io.cfg.on_entry = match_entry;
	io.cfg.arg = &m;
	if (argc == 0)
		argv = stdin_only;
	for (i = 0; argv[i] != NULL && !cmd_interrupted; i++)
		if (cmd_read_input(argv[i], &io.cfg, NULL, NULL, &stats, &framing, &off,
		    &in_array) == -1)
			rv = EXIT_ERROR;
	fflush(stdout);
	fprintf(stderr, "logaudit: %lu entries, %lu shown\n", m.entries,
	    m.shown);
	for (i = 0; i < catalogue_size(m.cat); i++)
		if (m.per_pattern[i] > 0)
			fprintf(stderr, "  %-28s %lu\n",
			    catalogue_pattern(m.cat, i)->id, m.per_pattern[i]);
	catalogue_warn_match_errors(m.cat);
	if (cmd_interrupted)
		rv = EXIT_ERROR;
	yajl_gen_free(m.g);
	free(m.hits);
	free(m.per_pattern);
	catalogue_free(m.cat);
	return (rv);
}
