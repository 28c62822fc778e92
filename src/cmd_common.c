/*
 * What several subcommands share: option defaults, loading the catalogue,
 * and reading one input through the entry reader with its problems
 * reported once, naming the file, line and byte offset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "log.h"
#include "source.h"
#include "xmalloc.h"

/* Problems shown per input; the rest are only counted. */
#define PROBLEMS_SHOWN	10

const char *
cmd_db_path(const char *opt)
{
	const char	*env;

	if (opt != NULL)
		return (opt);
	if ((env = getenv("LOGAUDIT_DB")) != NULL && *env != '\0')
		return (env);
	return ("logaudit.db");
}

struct store *
cmd_store_existing(const char *opt_db)
{
	struct store	*st;
	const char	*db = cmd_db_path(opt_db);
	char		*cause = NULL;

	if (access(db, F_OK) == -1) {
		log_warnx("%s: no such database (logaudit ingest creates it)",
		    db);
		return (NULL);
	}
	if ((st = store_open(db, &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
	}
	return (st);
}

struct catalogue *
cmd_catalogue(char *const *dirs, size_t n)
{
	struct catalogue	*c;
	char			**search, *cause = NULL;

	search = catalogue_dirs(dirs, n);
	c = catalogue_load(search, &cause);
	catalogue_dirs_free(search);
	if (c == NULL) {
		log_warnx("catalogue: %s", cause);
		free(cause);
	}
	return (c);
}

int
cmd_input_option(struct cmd_input_opts *o, int ch, char *arg)
{
	switch (ch) {
	case 's':
		o->cfg.default_service = arg;
		return (1);
	case 'r':
		o->cfg.default_revision = arg;
		return (1);
	case 't':
		o->cfg.force_text = 1;
		return (1);
	case 'p':
		o->pdirs = xreallocarray(o->pdirs, o->npdirs + 1,
		    sizeof(*o->pdirs));
		o->pdirs[o->npdirs++] = arg;
		return (1);
	default:
		return (0);
	}
}

void
cmd_input_opts_clear(struct cmd_input_opts *o)
{
	free(o->pdirs);
	o->pdirs = NULL;
	o->npdirs = 0;
}

uint64_t
cmd_bad_count(const struct entry_stats *s)
{
	return (s->problems[PROBLEM_BAD_ENTRY] +
	    s->problems[PROBLEM_NOT_AN_ENTRY] +
	    s->problems[PROBLEM_TRUNCATED] + s->problems[PROBLEM_OVERSIZE] +
	    s->problems[PROBLEM_BAD_TIMESTAMP]);
}

struct input_ctx {
	const char			*path;
	struct entry_reader		*r;
	const struct entry_reader_config *cfg;
	unsigned			 shown;
	void				(*chunk_done)(void *);
	void				*chunk_arg;
};

static void
input_problem(const struct entry_problem *p, void *arg)
{
	struct input_ctx	*in = arg;
	const char		*what;

	if (in->shown++ >= PROBLEMS_SHOWN) {
		if (in->shown == PROBLEMS_SHOWN + 1)
			log_warnx("%s: further problems are counted, not shown",
			    in->path);
		return;
	}
	switch (p->kind) {
	case PROBLEM_SKIPPED_TEXT:
		log_warnx("%s:%llu: %llu non-JSON line%s skipped", in->path,
		    (unsigned long long)p->line, (unsigned long long)p->count,
		    p->count == 1 ? "" : "s");
		return;
	case PROBLEM_BAD_ENTRY:
		what = "malformed entry skipped";
		break;
	case PROBLEM_NOT_AN_ENTRY:
		what = "skipped";
		break;
	case PROBLEM_TRUNCATED:
		what = "entry cut off by the end of input, not counted";
		break;
	case PROBLEM_OVERSIZE:
		what = "entry too large, skipped";
		break;
	case PROBLEM_BAD_TIMESTAMP:
		what = "entry skipped";
		break;
	default:
		what = "problem";
		break;
	}
	log_warnx("%s:%llu: byte %llu: %s: %s", in->path,
	    (unsigned long long)p->line, (unsigned long long)p->offset, what,
	    p->detail);
}

static int
input_chunk(const void *buf, size_t len, void *arg)
{
	struct input_ctx	*in = arg;
	int			 rv;

	rv = entry_reader_feed(in->r, buf, len);
	if (in->chunk_done != NULL)
		in->chunk_done(in->chunk_arg);
	return (rv);
}

int
cmd_read_input(const char *path, const struct entry_reader_config *cfg,
    void (*chunk_done)(void *), void *chunk_arg, struct entry_stats *stats, enum entry_framing *framing,
    uint64_t *resume_offset, int *resume_in_array)
{
	struct entry_reader_config	 c = *cfg;
	struct input_ctx		 in;
	char				*cause = NULL;
	int				 rv;

	memset(&in, 0, sizeof(in));
	in.path = strcmp(path, "-") == 0 ? "(stdin)" : path;
	in.cfg = cfg;
	in.chunk_done = chunk_done;
	in.chunk_arg = chunk_arg;
	c.on_problem = input_problem;
	c.problem_arg = &in;
	in.r = entry_reader_new(&c);
	rv = source_file_read(path, input_chunk, &in, &cmd_interrupted,
	    &cause);
	if (rv == -1) {
		log_warnx("%s", cause);
		free(cause);
	} else if (rv == 0 && entry_reader_finish(in.r) == -1 &&
	    entry_reader_framing(in.r) != FRAMING_YAML)
		rv = 1;
	if (entry_reader_framing(in.r) == FRAMING_YAML) {
		log_warnx("%s: this is YAML, gcloud's default output format; "
		    "read the logs again with --format=json", in.path);
		rv = -1;
	}
	*stats = *entry_reader_stats(in.r);
	*framing = entry_reader_framing(in.r);
	*resume_offset = entry_reader_resume_offset(in.r, resume_in_array,
	    NULL);
	entry_reader_free(in.r);
	return (rv);
}
