/*
 * logaudit revisions: services and their revisions in order, with entries
 * by severity, requests, time span and top patterns -- read from the
 * store, as a table or as JSON ({"schema_version": 1, "revisions": [...]}).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "report.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define TOP_PATTERNS	5

static void
revisions_usage(FILE *f)
{
	fprintf(f,
	    "usage: logaudit revisions [--db PATH] [--service S]\n"
	    "                          [--format text|json]\n"
	    "\n"
	    "List services and their revisions in order (by the sequence\n"
	    "number in the name, else first entry time) with entries by\n"
	    "severity, requests, time span and top patterns.\n"
	    "\n"
	    "  --db PATH     database (default $LOGAUDIT_DB or ./logaudit.db)\n"
	    "  --service S   only this service\n"
	    "  --format F    text (default) or json\n");
}

static void
revisions_json(struct store *st, struct store_revision *rv, size_t n)
{
	struct store_pattern_count	*pc;
	size_t				 i, k, npc;
	int				 s;
	char				*cause = NULL;
	yajl_gen			 g = report_json_new(1);

	yajl_gen_map_open(g);
	rj_key_int(g, "schema_version", 1);
	rj_key(g, "revisions");
	yajl_gen_array_open(g);
	for (i = 0; i < n; i++) {
		yajl_gen_map_open(g);
		rj_key_cstr(g, "project", rv[i].project);
		rj_key_cstr(g, "location", rv[i].location);
		rj_key_cstr(g, "service", rv[i].service);
		rj_key_cstr(g, "revision", rv[i].revision);
		rj_key(g, "sequence");
		if (rv[i].sequence < 0)
			yajl_gen_null(g);
		else
			rj_int(g, rv[i].sequence);
		rj_key_int(g, "entries", (long long)rv[i].entries);
		rj_key_int(g, "requests", (long long)rv[i].requests);
		rj_key(g, "severity");
		yajl_gen_map_open(g);
		for (s = 0; s < SEVERITY_COUNT; s++)
			rj_key_int(g, severity_name(severity_from_index(s)),
			    (long long)rv[i].severity[s]);
		yajl_gen_map_close(g);
		rj_key_time(g, "first_seen", rv[i].first_ns);
		rj_key_time(g, "last_seen", rv[i].last_ns);
		rj_key_cstr(g, "commit_sha", rv[i].commit_sha);
		rj_key_cstr(g, "build_id", rv[i].build_id);
		rj_key(g, "top_patterns");
		yajl_gen_array_open(g);
		if (store_top_patterns(st, rv[i].id, TOP_PATTERNS, &pc, &npc,
		    &cause) == 0) {
			for (k = 0; k < npc; k++) {
				yajl_gen_map_open(g);
				rj_key_cstr(g, "id", pc[k].pattern);
				rj_key_int(g, "count", (long long)pc[k].count);
				yajl_gen_map_close(g);
			}
			store_pattern_counts_free(pc, npc);
		} else {
			log_warnx("%s", cause);
			free(cause);
			cause = NULL;
		}
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	report_json_flush(g, stdout);
	yajl_gen_free(g);
}

static void
revisions_text(struct store *st, struct store_revision *rv, size_t n)
{
	static const char *head[] = { "SERVICE", "REVISION", "ENTRIES",
	    "REQUESTS", "ERROR+", "WARNING", "FIRST", "LAST", "TOP PATTERNS" };
	struct store_pattern_count	*pc;
	struct table			*t;
	char				 c[6][32], first[40], last[40];
	char				 top[256];
	const char			*cells[9];
	size_t				 i, k, npc, o;
	char				*cause = NULL;
	const char			*prev_proj = NULL, *prev_loc = NULL;

	if (n == 0) {
		printf("no revisions in the database\n");
		return;
	}
	t = table_new(9);
	table_add(t, head);
	for (i = 0; i < n; i++) {
		if (prev_proj == NULL || strcmp(prev_proj, rv[i].project) ||
		    strcmp(prev_loc, rv[i].location)) {
			if (prev_proj != NULL) {
				table_print(t, stdout);
				table_free(t);
				t = table_new(9);
				table_add(t, head);
				printf("\n");
			}
			printf("project %s, location %s\n",
			    *rv[i].project ? rv[i].project : "(none)",
			    *rv[i].location ? rv[i].location : "(none)");
			prev_proj = rv[i].project;
			prev_loc = rv[i].location;
		}
		snprintf(c[0], sizeof(c[0]), "%llu",
		    (unsigned long long)rv[i].entries);
		snprintf(c[1], sizeof(c[1]), "%llu",
		    (unsigned long long)rv[i].requests);
		snprintf(c[2], sizeof(c[2]), "%llu", (unsigned long long)
		    (rv[i].severity[5] + rv[i].severity[6] +
		    rv[i].severity[7] + rv[i].severity[8]));
		snprintf(c[3], sizeof(c[3]), "%llu",
		    (unsigned long long)rv[i].severity[4]);
		top[0] = '\0';
		o = 0;
		if (store_top_patterns(st, rv[i].id, 3, &pc, &npc,
		    &cause) == 0) {
			for (k = 0; k < npc && o < sizeof(top) - 1; k++)
				o += (size_t)snprintf(top + o, sizeof(top) - o,
				    "%s%s %llu", k ? ", " : "", pc[k].pattern,
				    (unsigned long long)pc[k].count);
			store_pattern_counts_free(pc, npc);
		} else {
			log_warnx("%s", cause);
			free(cause);
			cause = NULL;
		}
		cells[0] = *rv[i].service ? rv[i].service : "(none)";
		cells[1] = *rv[i].revision ? rv[i].revision : "(no revision)";
		cells[2] = c[0];
		cells[3] = c[1];
		cells[4] = c[2];
		cells[5] = c[3];
		cells[6] = time_format(rv[i].first_ns, first, sizeof(first));
		cells[7] = time_format(rv[i].last_ns, last, sizeof(last));
		cells[8] = top;
		table_add(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
}

int
cmd_revisions(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "service", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct store		*st;
	struct store_revision	*rv;
	enum report_format	 format = FORMAT_TEXT;
	const char		*db = NULL, *service = NULL;
	char			*cause = NULL;
	size_t			 n;
	int			 ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			db = optarg;
			break;
		case 's':
			service = optarg;
			break;
		case 'f':
			if (report_format_parse(optarg, &format) == -1) {
				log_warnx("--format: text or json, not \"%s\"",
				    optarg);
				return (EXIT_ERROR);
			}
			break;
		case 'h':
			revisions_usage(stdout);
			return (EXIT_OK);
		default:
			revisions_usage(stderr);
			return (EXIT_ERROR);
		}
	}
	if (optind != argc) {
		revisions_usage(stderr);
		return (EXIT_ERROR);
	}
	if ((st = cmd_store_existing(db)) == NULL)
		return (EXIT_ERROR);
	if (store_revisions(st, service, &rv, &n, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		store_close(st);
		return (EXIT_ERROR);
	}
	if (format == FORMAT_JSON)
		revisions_json(st, rv, n);
	else
		revisions_text(st, rv, n);
	store_revisions_free(rv, n);
	store_close(st);
	return (EXIT_OK);
}
