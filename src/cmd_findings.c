/*
 * logaudit findings: what the daemon found -- a pattern or template new
 * or returning in a revision, the moment it was first counted -- read
 * from the store's findings table, as a table or as JSON
 * ({"schema_version": 1, "findings": [...]}), with acknowledgements.
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

#define SAMPLE_SHOWN	60	/* bytes of a sample in the table */

static void
findings_usage(FILE *f)
{
	fprintf(f,
	    "usage: logaudit findings [--db PATH] [--since T]\n"
	    "                         [--format text|json]\n"
	    "\n"
	    "List the findings of logaudit follow, oldest first: each time a\n"
	    "revision first showed a pattern or template that no earlier\n"
	    "revision of its service showed (new), or that the previous one\n"
	    "did not and an older one did (returning).  One finding per\n"
	    "revision and pattern, with the time it was found, the revision's\n"
	    "count then, and the entry that triggered it.\n"
	    "\n"
	    "  --db PATH     database (default $LOGAUDIT_DB or ./logaudit.db)\n"
	    "  --since T     only findings made since T (RFC 3339, or a\n"
	    "                duration ago: 2h)\n"
	    "  --format F    text (default) or json: {\"schema_version\": 1,\n"
	    "                \"findings\": [{\"time\", \"project\", \"location\",\n"
	    "                \"service\", \"revision\", \"pattern\", \"kind\",\n"
	    "                \"class\", \"level\", \"count\", \"sample\",\n"
	    "                \"insert_id\", \"entry_time\", \"acknowledged\"}]}\n"
	    "\n"
	    "Acknowledged: logaudit ack was given for the pattern in that\n"
	    "revision, or in every revision of the service.\n");
}

static void
findings_json(const struct store_finding_row *v, const int *acked, size_t n)
{
	yajl_gen	g = report_json_new(1);
	size_t		i;

	yajl_gen_map_open(g);
	rj_key_int(g, "schema_version", 1);
	rj_key(g, "findings");
	yajl_gen_array_open(g);
	for (i = 0; i < n; i++) {
		yajl_gen_map_open(g);
		rj_finding_fields(g, &v[i], acked[i]);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	report_json_flush(g, stdout);
	yajl_gen_free(g);
}

static void
findings_text(const struct store_finding_row *v, const int *acked, size_t n)
{
	static const char	*head[] = { "TIME", "CLASS", "SERVICE",
	    "REVISION", "PATTERN", "COUNT", "SAMPLE" };
	struct table		*t;
	const char		*cells[7];
	char			 when[40], cls[32], count[24], sample[96];
	size_t			 i, len;

	if (n == 0) {
		printf("no findings\n");
		return;
	}
	t = table_new(7);
	table_add(t, head);
	for (i = 0; i < n; i++) {
		len = strcspn(v[i].sample, "\r\n");
		if (len > SAMPLE_SHOWN)
			len = SAMPLE_SHOWN;
		snprintf(sample, sizeof(sample), "%.*s%s", (int)len,
		    v[i].sample, v[i].sample[len] != '\0' ? "..." : "");
		snprintf(cls, sizeof(cls), "%s%s", v[i].class,
		    acked[i] ? " (ack)" : "");
		snprintf(count, sizeof(count), "%llu",
		    (unsigned long long)v[i].count);
		cells[0] = time_format(v[i].found_ns, when, sizeof(when));
		cells[1] = cls;
		cells[2] = v[i].service;
		cells[3] = v[i].revision;
		cells[4] = v[i].pattern;
		cells[5] = count;
		cells[6] = sample;
		table_add(t, cells);
	}
	table_print(t, stdout);
	table_free(t);
}

int
cmd_findings(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "since", required_argument, NULL, 'S' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct store_finding_row	*v = NULL;
	struct store			*st;
	const char			*db = NULL;
	char				*cause = NULL;
	int64_t				 since = INT64_MIN;
	size_t				 n = 0, i;
	int				 ch, json = 0, rv = EXIT_OK, *acked;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			db = optarg;
			break;
		case 'S':
			if (time_parse_option(optarg, time_now_ns(),
			    &since) == -1) {
				log_warnx("--since: not a time or duration: "
				    "\"%s\"", optarg);
				return (EXIT_ERROR);
			}
			break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = 1;
			else if (strcmp(optarg, "text") != 0) {
				log_warnx("--format: text or json, not \"%s\"",
				    optarg);
				return (EXIT_ERROR);
			}
			break;
		case 'h':
			findings_usage(stdout);
			return (EXIT_OK);
		default:
			findings_usage(stderr);
			return (EXIT_ERROR);
		}
	}
	if (optind != argc) {
		findings_usage(stderr);
		return (EXIT_ERROR);
	}
	if ((st = cmd_store_existing(db)) == NULL)
		return (EXIT_ERROR);
	if (store_findings(st, since, &v, &n, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		store_close(st);
		return (EXIT_ERROR);
	}
	acked = xcalloc(n + 1, sizeof(*acked));
	for (i = 0; i < n && rv == EXIT_OK; i++) {
		if ((acked[i] = store_acked(st, v[i].project, v[i].location,
		    v[i].service, v[i].revision, v[i].pattern, NULL,
		    &cause)) == -1) {
			log_warnx("%s", cause);
			free(cause);
			rv = EXIT_ERROR;
		}
	}
	if (rv == EXIT_OK) {
		if (json)
			findings_json(v, acked, n);
		else
			findings_text(v, acked, n);
	}
	free(acked);
	store_findings_free(v, n);
	store_close(st);
	return (rv);
}
