/*
 * logaudit ingest: inputs -> entry reader -> catalogue -> store.  Counts
 * are added up in memory and committed in batches (one transaction per
 * batch, with the run's progress), so an interrupted or failed run keeps
 * what it committed and records where it stopped.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalogue.h"
#include "cmd.h"
#include "count.h"
#include "entry.h"
#include "log.h"
#include "pipeline.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define INGEST_BATCH	100000		/* entries per transaction */
#define INGEST_FLUSH_NS	(1000000000LL)	/* commit at least this often */

struct ingest {
	struct counter		*counter;
	struct store		*st;
	struct store_progress	 prog;		/* of the current input */
	struct store_progress	 done;		/* ... as last committed */
	int64_t			 last_commit_ns;
	int			 failed;	/* a database error happened */
	struct pipeline		*pl;		/* NULL: one thread */
};

static void
ingest_usage(FILE *f)
{
	fprintf(f,
	    "usage: logaudit ingest [--db PATH] [--service S] [--revision R]\n"
	    "                       [--text] [--strict] [--dedup-window D]\n"
	    "                       [--patterns DIR]... [--threads N] [-q]\n"
	    "                       [--templates-min-severity SEV]\n"
	    "                       [--no-templates]\n"
	    "                       [FILE...|-]\n"
	    "\n"
	    "Read Cloud Logging exports (gcloud logging read --format=json,\n"
	    "sink files, console copies, a live stream on stdin, or plain\n"
	    "text) and count entries and catalogue patterns per revision.\n"
	    "An entry already counted (same insertId, timestamp, logName) is\n"
	    "not counted again.\n"
	    "\n"
	    "  --db PATH           database (default $LOGAUDIT_DB or ./logaudit.db)\n"
	    "  --service S         service for input that names none (text,\n"
	    "                      non-Cloud Run resources)\n"
	    "  --revision R        revision for such input\n"
	    "  --text              read plain text lines, one entry each\n"
	    "  --strict            exit 2 if any entry was bad or any line\n"
	    "                      was skipped\n"
	    "  --dedup-window D    keep dedup keys for D of entry time; older\n"
	    "                      entries are refused (default 7d)\n"
	    "  --patterns DIR      catalogue directory (repeatable)\n"
	    "  --templates-min-severity SEV\n"
	    "                      group unmatched entries of this severity and\n"
	    "                      above into templates (default WARNING; also\n"
	    "                      severity-less errors and requests >= 500)\n"
	    "  --no-templates      count catalogue patterns only\n"
	    "  --threads N         1: read, match and count on one thread;\n"
	    "                      2 (default with two or more CPUs): parse on\n"
	    "                      one, match and count on the other\n"
	    "  -q, --quiet         no per-input summary\n");
}

static int64_t
clock_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ((int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec);
}

/* Commit the batch; on failure remember why and stop. */
static int
ingest_commit(struct ingest *in)
{
	char	*cause = NULL;
	size_t	 n = store_pending(in->st);
	int64_t	 t0 = clock_ns();

	in->last_commit_ns = t0;
	if (store_commit(in->st, &in->prog, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		in->failed = 1;
		return (-1);
	}
	in->done = in->prog;
	log_debug("committed %zu entries in %lld ms", n,
	    (long long)((clock_ns() - t0) / 1000000));
	return (0);
}

static int
ingest_entry(const struct log_entry *e, void *arg)
{
	struct ingest		*in = arg;
	struct count_stats	 cs;
	char			*cause = NULL;

	memset(&cs, 0, sizeof(cs));
	if (counter_add(in->counter, e, &cs, &cause) == STORE_ERROR) {
		log_warnx("%s", cause);
		free(cause);
		in->failed = 1;
		return (-1);
	}
	in->prog.entries += cs.entries;
	in->prog.counted += cs.counted;
	in->prog.duplicates += cs.duplicates;
	in->prog.too_old += cs.too_old;
	in->prog.offset = e->end_offset;
	/* a coarse clock read is a few ns: cheap enough per entry */
	if (store_pending(in->st) >= INGEST_BATCH ||
	    (store_pending(in->st) > 0 &&
	    clock_ns() - in->last_commit_ns > INGEST_FLUSH_NS))
		return (ingest_commit(in));
	return (0);
}

/* After each chunk: hand what was parsed to the counting thread. */
static void
ingest_chunk_done(void *arg)
{
	struct ingest	*in = arg;

	pipeline_flush(in->pl);
}

/* Ingest one input; returns 0, or -1 when it failed. */
static int
ingest_input(struct ingest *in, const char *path,
    const struct entry_reader_config *cfg, int strict, int quiet)
{
	struct entry_stats	 stats;
	enum entry_framing	 framing;
	const char		*name = strcmp(path, "-") == 0 ? "(stdin)" : path;
	char			*cause = NULL;
	int			 rv, in_array;
	uint64_t		 resume;
	const char		*status;

	memset(&in->prog, 0, sizeof(in->prog));
	memset(&in->done, 0, sizeof(in->done));
	if (store_run_begin(in->st, name, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return (-1);
	}
	in->last_commit_ns = clock_ns();
	rv = cmd_read_input(path, cfg, in->pl != NULL ? ingest_chunk_done :
	    NULL, in, &stats, &framing, &resume, &in_array);
	/* the counting thread may still hold entries: let it finish */
	if (in->pl != NULL)
		(void)pipeline_drain(in->pl);
	in->prog.offset = resume;
	in->prog.in_array = in_array;
	in->prog.bytes = stats.bytes;
	in->prog.bad = cmd_bad_count(&stats);
	in->prog.skipped_lines = stats.skipped_lines;
	if (!in->failed)
		ingest_commit(in);
	status = in->failed || rv == -1 ? "error" :
	    cmd_interrupted ? "interrupted" : "ok";
	if (!in->failed &&
	    store_run_end(in->st, &in->prog, status, NULL, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		in->failed = 1;
	} else if (in->failed) {
		/*
		 * The batch that failed was rolled back: what the run
		 * counted is what it committed before, whatever it read.
		 * Say so in its record too, if the database still takes a
		 * small write.
		 */
		in->prog.entries = in->done.entries;
		in->prog.counted = in->done.counted;
		in->prog.duplicates = in->done.duplicates;
		in->prog.too_old = in->done.too_old;
		in->prog.offset = in->done.offset;
		in->prog.in_array = in->done.in_array;
		if (store_run_end(in->st, &in->prog, "error",
		    "a database error; counted up to offset as recorded",
		    &cause) == -1) {
			log_warnx("%s", cause);
			free(cause);
		}
	}
	log_info("%s: %llu bytes, framing %s, catalogue %s", name,
	    (unsigned long long)in->prog.bytes, entry_framing_name(framing),
	    catalogue_version(counter_catalogue(in->counter)));
	if (in->failed)
		log_warnx("%s: stopped by the database error: %llu entries "
		    "counted, up to byte %llu; ingesting it again counts the "
		    "rest once", name, (unsigned long long)in->done.counted,
		    (unsigned long long)in->done.offset);
	else if (!quiet && rv != -1)
		log_warnx("%s: %llu entries, %llu counted, %llu duplicates, "
		    "%llu too old, %llu bad, %llu lines skipped (%s)", name,
		    (unsigned long long)in->prog.entries,
		    (unsigned long long)in->prog.counted,
		    (unsigned long long)in->prog.duplicates,
		    (unsigned long long)in->prog.too_old,
		    (unsigned long long)in->prog.bad,
		    (unsigned long long)in->prog.skipped_lines,
		    entry_framing_name(framing));
	if (in->prog.too_old > 0)
		log_warnx("%s: %llu entries older than the dedup window were "
		    "refused (see --dedup-window)", name,
		    (unsigned long long)in->prog.too_old);
	if (rv == -1 || in->failed)
		return (-1);
	if (strict && (in->prog.bad > 0 || in->prog.skipped_lines > 0)) {
		log_warnx("%s: bad input with --strict", name);
		return (-1);
	}
	return (0);
}

int
cmd_ingest(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		CMD_INPUT_OPTIONS,
		{ "strict", no_argument, NULL, 'S' },
		{ "dedup-window", required_argument, NULL, 'w' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "threads", required_argument, NULL, 'T' },
		{ "templates-min-severity", required_argument, NULL, 'm' },
		{ "no-templates", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cmd_input_opts		 io;
	struct ingest			 in;
	const char			*db = NULL;
	char				*cause = NULL;
	struct catalogue		*cat;
	size_t				 i;
	int64_t				 window = STORE_DEDUP_WINDOW_DEFAULT;
	int				 ch, strict = 0, quiet = 0, rv = EXIT_OK;
	int				 threads, templates = 1;
	int				 tpl_min_severity = 400; /* WARNING */
	static char			 dash[] = "-";
	char				*stdin_only[] = { dash, NULL };

	memset(&io, 0, sizeof(io));
	memset(&in, 0, sizeof(in));
	threads = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1;
	while ((ch = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			db = optarg;
			break;
		case 'S':
			strict = 1;
			break;
		case 'w':
			if (duration_parse(optarg, &window) == -1 ||
			    window <= 0) {
				log_warnx("--dedup-window: bad duration "
				    "\"%s\" (e.g. 90s, 12h, 7d)", optarg);
				cmd_input_opts_clear(&io);
				return (EXIT_ERROR);
			}
			break;
		case 'q':
			quiet = 1;
			break;
		case 'm':
			if ((tpl_min_severity = severity_parse(optarg,
			    strlen(optarg))) < 0) {
				log_warnx("--templates-min-severity: unknown "
				    "severity \"%s\"", optarg);
				cmd_input_opts_clear(&io);
				return (EXIT_ERROR);
			}
			break;
		case 'N':
			templates = 0;
			break;
		case 'T':
			if (strcmp(optarg, "1") != 0 &&
			    strcmp(optarg, "2") != 0) {
				log_warnx("--threads: 1 or 2, not \"%s\"",
				    optarg);
				cmd_input_opts_clear(&io);
				return (EXIT_ERROR);
			}
			threads = atoi(optarg);
			break;
		case 'h':
			ingest_usage(stdout);
			cmd_input_opts_clear(&io);
			return (EXIT_OK);
		default:
			if (cmd_input_option(&io, ch, optarg))
				break;
			ingest_usage(stderr);
			cmd_input_opts_clear(&io);
			return (EXIT_ERROR);
		}
	}
	argc -= optind;
	argv += optind;

	/* A catalogue error stops everything before any input is read. */
	cat = cmd_catalogue(io.pdirs, io.npdirs);
	cmd_input_opts_clear(&io);
	if (cat == NULL)
		return (EXIT_ERROR);
	db = cmd_db_path(db);
	if ((in.st = store_open(db, &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		catalogue_free(cat);
		return (EXIT_ERROR);
	}
	store_set_dedup_window(in.st, window);
	if ((in.counter = counter_new(in.st, cat, templates, tpl_min_severity,
	    &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		rv = EXIT_ERROR;
		goto out;
	}
	io.cfg.on_entry = ingest_entry;
	io.cfg.arg = &in;
	if (threads == 2 && (in.pl = pipeline_start(ingest_entry, &in)) !=
	    NULL) {
		io.cfg.on_entry = pipeline_push;
		io.cfg.arg = in.pl;
	}
	if (argc == 0)
		argv = stdin_only;
	for (i = 0; argv[i] != NULL && !cmd_interrupted && !in.failed; i++)
		if (ingest_input(&in, argv[i], &io.cfg, strict, quiet) == -1)
			rv = EXIT_ERROR;
	if (cmd_interrupted && rv == EXIT_OK)
		rv = EXIT_ERROR;
out:
	pipeline_free(in.pl);
	counter_free(in.counter);
	store_close(in.st);
	return (rv);
}
