/*
 * logaudit pull: read a project's Cloud Run logs from the Cloud Logging
 * API once and count them exactly as ingest would.  The reading -- the
 * window from the high-water mark, paging, retries, the access token --
 * is source_api.c's; this file turns the options into one window read as
 * one run of the store, and prints the summary.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalogue.h"
#include "cmd.h"
#include "count.h"
#include "http.h"
#include "log.h"
#include "source_api.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

static void
pull_usage(FILE *f)
{
	fprintf(f,
	    "usage: logaudit pull --project P [--filter F] [--since T]\n"
	    "                     [--db PATH] [--api-url URL] [--lag D]\n"
	    "                     [--overlap D] [--token-file F]\n"
	    "                     [--token-command CMD] [--ca-file F]\n"
	    "                     [--patterns DIR]... [-q]\n"
	    "\n"
	    "Read a project's logs from the Cloud Logging API (entries.list)\n"
	    "and count them per revision as ingest does.  The window ends\n"
	    "--lag before now and starts --overlap before the latest entry\n"
	    "counted by the last pull of this project and filter (the last\n"
	    "hour on a first pull); entries read twice are not counted twice.\n"
	    "\n"
	    "  --project P         the Google Cloud project id\n"
	    "  --filter F          Logging query (default\n"
	    "                      resource.type=\"cloud_run_revision\"),\n"
	    "                      ANDed with the time bounds\n"
	    "  --since T           start at T (RFC 3339 or a duration ago)\n"
	    "  --db PATH           database (default $LOGAUDIT_DB or ./logaudit.db)\n"
	    API_OPTIONS_USAGE
	    "  --ca-file F         CA certificates to verify the server with\n"
	    "  --patterns DIR      catalogue directory (repeatable)\n"
	    "  -q, --quiet         no summary\n"
	    "\n"
	    "Without --token-file, LOGAUDIT_ACCESS_TOKEN or --token-command,\n"
	    "the token comes from the metadata server ($GCE_METADATA_HOST),\n"
	    "again a minute before it expires.  A page over 64 MiB, or a\n"
	    "certificate that --ca-file or the system's CAs do not verify,\n"
	    "ends the pull at once (2).  Holding a token, pull dumps no core.\n"
	    "LOGAUDIT_BACKOFF_MS sets the first retry wait (tests; default\n"
	    "1000).\n", API_URL_DEFAULT);
}

/*
 * Read the window fixed by api_source_window() as one run; returns an
 * exit status.  *failed is set when the database failed.
 */
static int
pull_run(struct api_source *src, struct store *st,
    struct store_progress *prog, int *failed)
{
	enum api_status	 status;
	char		*cause = NULL;
	int		 rv;

	if (store_run_begin(st, api_source_name(src), &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return (EXIT_ERROR);
	}
	status = api_source_read(src, prog);
	*failed = status == API_STORE;
	rv = status == API_OK && !cmd_interrupted ? EXIT_OK : EXIT_ERROR;
	if (!*failed && store_run_end(st, prog, rv == EXIT_OK ? "ok" :
	    cmd_interrupted ? "interrupted" : "error", NULL, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		rv = EXIT_ERROR;
	}
	return (rv);
}

static int
pull_duration(const char *opt, const char *arg, int64_t *ns)
{
	if (duration_parse(arg, ns) == -1 || *ns < 0) {
		log_warnx("%s: bad duration \"%s\" (e.g. 2m, 10m)", opt, arg);
		return (-1);
	}
	return (0);
}

int
cmd_pull(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "project", required_argument, NULL, 'P' },
		{ "filter", required_argument, NULL, 'f' },
		{ "since", required_argument, NULL, 'S' },
		{ "db", required_argument, NULL, 'd' },
		{ "api-url", required_argument, NULL, 'a' },
		{ "lag", required_argument, NULL, 'l' },
		{ "overlap", required_argument, NULL, 'o' },
		{ "token-file", required_argument, NULL, 'F' },
		{ "token-command", required_argument, NULL, 'C' },
		{ "ca-file", required_argument, NULL, 'c' },
		{ "patterns", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cmd_input_opts	 io;
	struct api_config	 cfg;
	struct api_source	*src = NULL;
	struct store_progress	 prog;
	struct store		*st;
	struct counter		*counter = NULL;
	struct catalogue	*cat;
	const char		*db = NULL;
	char			*cause = NULL;
	int			 ch, quiet = 0, failed = 0, rv = EXIT_ERROR;

	memset(&io, 0, sizeof(io));
	memset(&cfg, 0, sizeof(cfg));
	memset(&prog, 0, sizeof(prog));
	cfg.api_url = API_URL_DEFAULT;
	cfg.lag_ns = API_LAG_DEFAULT;
	cfg.overlap_ns = API_OVERLAP_DEFAULT;
	cfg.stop = &cmd_interrupted;
	cfg.report_problem = cmd_report_problem;
	while ((ch = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'P':
			cfg.project = optarg;
			break;
		case 'f':
			cfg.filter = optarg;
			break;
		case 'S':
			cfg.since = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'a':
			cfg.api_url = optarg;
			break;
		case 'l':
			if (pull_duration("--lag", optarg, &cfg.lag_ns) == -1)
				goto usage_error;
			break;
		case 'o':
			if (pull_duration("--overlap", optarg,
			    &cfg.overlap_ns) == -1)
				goto usage_error;
			break;
		case 'F':
			cfg.token_file = optarg;
			break;
		case 'C':
			cfg.token_command = optarg;
			break;
		case 'c':
			cfg.ca_file = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			pull_usage(stdout);
			cmd_input_opts_clear(&io);
			return (EXIT_OK);
		default:
			if (cmd_input_option(&io, ch, optarg))
				break;
			pull_usage(stderr);
			goto usage_error;
		}
	}
	if (optind != argc || cfg.project == NULL || *cfg.project == '\0') {
		log_warnx("pull: --project P is required and takes no other "
		    "arguments");
		goto usage_error;
	}
	srandom((unsigned)(time_now_ns() ^ getpid()));
	http_init();

	if ((cat = cmd_catalogue(io.pdirs, io.npdirs)) == NULL)
		goto usage_error;
	cmd_input_opts_clear(&io);
	db = cmd_db_path(db);
	if ((st = store_open(db, &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		catalogue_free(cat);
		return (EXIT_ERROR);
	}
	if ((counter = counter_new(st, cat, 1, 400, &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		goto out;
	}
	src = api_source_new(&cfg, st, counter);
	switch (api_source_window(src)) {
	case -1:
		goto out;
	case 0:
		rv = EXIT_OK;
		goto out;
	}
	if (api_source_auth(src, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		goto out;
	}
	rv = pull_run(src, st, &prog, &failed);
	if (!quiet && !failed)
		log_warnx("%s: %llu entries, %llu counted, %llu duplicates, "
		    "%llu too old, %llu bad, 0 lines skipped (api)",
		    api_source_name(src), (unsigned long long)prog.entries,
		    (unsigned long long)prog.counted,
		    (unsigned long long)prog.duplicates,
		    (unsigned long long)prog.too_old,
		    (unsigned long long)prog.bad);
out:
	api_source_free(src);
	counter_free(counter);
	store_close(st);
	return (rv);
usage_error:
	cmd_input_opts_clear(&io);
	return (EXIT_ERROR);
}
