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
#include "xmalloc.h"

/* Services named when --service is missing and there are several. */
#define SERVICES_NAMED	10

static void
ack_usage(FILE *f)
{
	fprintf(f,
	    "usage: logaudit ack [--db PATH] [--service S] [--revision R]\n"
	    "                    [--project P] [--location L] [--note TEXT] ID\n"
	    "\n"
	    "Acknowledge pattern or template ID in revision R of service S\n"
	    "(every revision without --revision): diff still reports it,\n"
	    "marked, but it no longer fails the run.  --service defaults to\n"
	    "the database's only service, --project and --location to the\n"
	    "service's only one.  R must be a revision of S, and ID a pattern\n"
	    "or template counted in S or held by a catalogue the database\n"
	    "recorded.\n");
}

/*
 * The service ack works on without --service: the only one of the
 * revisions v (in project and location when given).  NULL after saying
 * why when there is none or several; the string points into v.
 */
static const char *
ack_default_service(const struct store_revision *v, size_t n,
    const char *project, const char *location)
{
	const char	**seen = NULL, *only;
	char		 *names = NULL, *more;
	size_t		  nseen = 0, i, k;

	for (i = 0; i < n; i++) {
		if ((project != NULL && strcmp(project, v[i].project) != 0) ||
		    (location != NULL &&
		    strcmp(location, v[i].location) != 0) ||
		    v[i].service[0] == '\0')
			continue;
		for (k = 0; k < nseen && strcmp(seen[k], v[i].service) != 0;
		    k++)
			;
		if (k < nseen)
			continue;
		seen = xreallocarray(seen, nseen + 1, sizeof(*seen));
		seen[nseen++] = v[i].service;
	}
	only = nseen == 1 ? seen[0] : NULL;
	if (nseen == 0)
		log_warnx("no service in the database%s", project != NULL ||
		    location != NULL ? " in that project and location" : "");
	else if (nseen > 1) {
		names = xstrdup(seen[0]);
		for (k = 1; k < nseen && k < SERVICES_NAMED; k++) {
			xasprintf(&more, "%s, %s", names, seen[k]);
			free(names);
			names = more;
		}
		if (nseen > SERVICES_NAMED) {
			xasprintf(&more, "%s and %zu more", names,
			    nseen - SERVICES_NAMED);
			free(names);
			names = more;
		}
		log_warnx("several services (%s); give --service", names);
		free(names);
	}
	free(seen);
	return (only);
}

/* Does service (in project, location) have a revision of this name? */
static int
ack_has_revision(const struct store_revision *v, size_t n,
    const char *project, const char *location, const char *service,
    const char *revision)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].project, project) == 0 &&
		    strcmp(v[i].location, location) == 0 &&
		    strcmp(v[i].service, service) == 0 &&
		    strcmp(v[i].revision, revision) == 0)
			return (1);
	return (0);
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
	const char		*pattern;
	char			*cause = NULL;
	size_t			 n, i, matches = 0;
	int			 ch, known, rv = EXIT_OK;

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
	if (optind + 1 != argc) {
		ack_usage(stderr);
		return (EXIT_ERROR);
	}
	pattern = argv[optind];
	if ((st = cmd_store_existing(db)) == NULL)
		return (EXIT_ERROR);
	if (store_revisions(st, service, &v, &n, &cause) == -1)
		goto fail;
	if (service == NULL && (service = ack_default_service(v, n,
	    project_opt, location_opt)) == NULL) {
		store_revisions_free(v, n);
		store_close(st);
		return (EXIT_ERROR);
	}
	/* the service's (project, location): the one given, or the only one */
	for (i = 0; i < n; i++) {
		if (strcmp(service, v[i].service) != 0 ||
		    (project_opt != NULL &&
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
	} else if (revision[0] != '\0' && !ack_has_revision(v, n, project,
	    location, service, revision)) {
		/* a typo must not acknowledge nothing and exit 0 */
		log_warnx("service %s: no revision %s (logaudit revisions "
		    "lists them)", service, revision);
		rv = EXIT_ERROR;
	} else if ((known = store_ack_known(st, project, location, service,
	    pattern, &cause)) == -1) {
		store_revisions_free(v, n);
		goto fail;
	} else if (!known) {
		log_warnx("service %s: no pattern or template %s: not counted "
		    "in the service, nor in any catalogue the database "
		    "recorded", service, pattern);
		rv = EXIT_ERROR;
	} else if (store_ack(st, project, location, service, revision,
	    pattern, note, &cause) == -1) {
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
