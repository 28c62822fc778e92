/*
 * logaudit: audit Cloud Logging streams from Cloud Run services.  This file
 * parses the global options, installs the signal handlers and dispatches to
 * a subcommand (cmd_*.c); nothing else.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "cmd.h"
#include "log.h"

volatile sig_atomic_t cmd_interrupted;
volatile sig_atomic_t cmd_reload;
volatile sig_atomic_t cmd_stats;

static const struct {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*summary;
	int		 is_daemon;	/* takes SIGHUP and SIGUSR1 */
} commands[] = {
	{ "ingest", cmd_ingest,
	    "count Cloud Logging exports per revision into the database", 0 },
	{ "follow", cmd_follow,
	    "the daemon: follow files, directories, stdin or the Logging API",
	    1 },
	{ "pull", cmd_pull,
	    "read a project's logs from the Cloud Logging API and count them",
	    0 },
	{ "findings", cmd_findings,
	    "list what follow found new or returning in a revision", 0 },
	{ "match", cmd_match,
	    "show the patterns each entry matches, writing nothing", 0 },
	{ "revisions", cmd_revisions,
	    "list services and revisions with their counts", 0 },
	{ "diff", cmd_diff,
	    "what a revision brought: new, gone, regressed patterns", 0 },
	{ "ack", cmd_ack,
	    "acknowledge a finding so it no longer fails diff", 0 },
	{ "trend", cmd_trend,
	    "pattern counts and rates over time or revisions", 0 },
	{ "patterns", cmd_patterns,
	    "list, show and test the pattern catalogue", 0 },
	{ "templates", cmd_templates,
	    "list the templates of errors no pattern knows; promote one", 0 },
	{ "fingerprint", cmd_fingerprint,
	    "print the template of each message read from stdin", 0 },
};

static void
usage(FILE *f)
{
	size_t	i;

	fprintf(f,
	    "usage: logaudit [-v] [--version] [--help] COMMAND [ARGS]\n"
	    "\n"
	    "Audit Google Cloud Logging exports from Cloud Run: count entries\n"
	    "and known error patterns per service and revision.\n"
	    "\n"
	    "commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name,
		    commands[i].summary);
	fprintf(f,
	    "\n"
	    "Run 'logaudit COMMAND --help' for a command's options; see\n"
	    "logaudit(1) and logaudit-patterns(5).\n"
	    "\n"
	    "  -v, --verbose   more diagnostics on stderr (repeat for more)\n"
	    "\n"
	    "Exit status: 0 ok, 1 the check found what it fails on, 2 usage\n"
	    "or input error.\n");
}

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGHUP:
		cmd_reload = 1;
		break;
	case SIGUSR1:
		cmd_stats = 1;
		break;
	default:
		cmd_interrupted = 1;
		break;
	}
}

int
main(int argc, char **argv)
{
	struct sigaction	 sa;
	int			 i, verbose = 0;
	size_t			 k;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--verbose") == 0)
			verbose++;
		else if (argv[i][1] == 'v' &&
		    strspn(argv[i] + 1, "v") == strlen(argv[i] + 1))
			verbose += (int)strlen(argv[i] + 1);	/* -v, -vv, ... */
		else if (strcmp(argv[i], "--version") == 0) {
			printf("logaudit %s\n", PACKAGE_VERSION);
			return (EXIT_OK);
		} else if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return (EXIT_OK);
		} else {
			fprintf(stderr, "logaudit: unknown option %s\n",
			    argv[i]);
			usage(stderr);
			return (EXIT_ERROR);
		}
	}
	if (i == argc) {
		usage(stderr);
		return (EXIT_ERROR);
	}
	log_init(verbose);

	/* No SA_RESTART: a blocked read(2) returns so the loop sees it. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		if (strcmp(argv[i], commands[k].name) != 0)
			continue;
		if (commands[k].is_daemon) {
			sigaction(SIGHUP, &sa, NULL);
			sigaction(SIGUSR1, &sa, NULL);
		}
		return (commands[k].fn(argc - i, argv + i));
	}
	if (strcmp(argv[i], "help") == 0) {
		usage(stdout);
		return (EXIT_OK);
	}
	fprintf(stderr, "logaudit: unknown command \"%s\"\n", argv[i]);
	usage(stderr);
	return (EXIT_ERROR);
}
