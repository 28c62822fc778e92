/*
 * logaudit ack: a person has seen a finding.  The pattern stays in diff's
 * reports, marked acknowledged, and no longer fails the run.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "store.h"

static void
ack_usage(FILE *f)
{
	fprintf(f,
	    "usage: logaudit ack [--db PATH] --service S [--revision R]\n"
	    "                    [--project P] [--location L] [--note TEXT] ID\n"
	    "\n"
	    "Acknowledge pattern or template ID in revision R of service S\n"
	    "(every revision without --revision): diff still reports it,\n"
	    "marked, but it no longer fails the run.  --project and --location\n"
	    "default to the service's only one.\n");
}

int
cmd_ack(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "service", required_argument, NULL, 's' },
		{ "revision", required_argument, NULL, 'r' },
		{ "project", required_argument, NULL, 'P' },
		{ "location", required_argument, NULL, 'L' },
		{ "note", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct store		*st;
	struct store_revision	*v;
	const char		*db = NULL, *service = NULL, *revision = "";
	const char		*project = NULL, *location = NULL, *note = NULL;
	const char		*project_opt = NULL, *location_opt = NULL;
	char			*cause = NULL;
	size_t			 n, i, matches = 0;
	int			 ch, rv = EXIT_OK;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			db = optarg;
			break;
		case 's':
			service = optarg;
			break;
		case 'r':
			revision = optarg;
			break;
		case 'P':
			project_opt = optarg;
			break;
		case 'L':
			location_opt = optarg;
			break;
		case 'n':
			note = optarg;
			break;
		case 'h':
			ack_usage(stdout);
			return (EXIT_OK);
		default:
			ack_usage(stderr);
			return (EXIT_ERROR);
		}
	}
	if (service == NULL || optind + 1 != argc) {
		ack_usage(stderr);
		return (EXIT_ERROR);
	}
	if ((st = cmd_store_existing(db)) == NULL)
		return (EXIT_ERROR);
	if (store_revisions(st, service, &v, &n, &cause) == -1)
		goto fail;
	/* the service's (project, location): the one given, or the only one */
	for (i = 0; i < n; i++) {
		if ((project_opt != NULL &&
		    strcmp(project_opt, v[i].project) != 0) ||
		    (location_opt != NULL &&
		    strcmp(location_opt, v[i].location) != 0))
			continue;
		if (matches == 0 || strcmp(project, v[i].project) != 0 ||
		    strcmp(location, v[i].location) != 0)
			matches++;
		project = v[i].project;
		location = v[i].location;
	}
	if (matches != 1) {
		log_warnx("service %s: %s; give --project and --location",
		    service, matches == 0 ? "not in the database" :
		    "in several projects or locations");
		rv = EXIT_ERROR;
	} else if (store_ack(st, project, location, service, revision,
	    argv[optind], note, &cause) == -1) {
		store_revisions_free(v, n);
		goto fail;
	}
	store_revisions_free(v, n);
	store_close(st);
	return (rv);
fail:
	log_warnx("%s", cause);
	free(cause);
	store_close(st);
	return (EXIT_ERROR);
}
