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

void
cmd_report_problem(const char *name, const struct entry_problem *p,
    unsigned *shown)
{
	const char		*what;

	if ((*shown)++ >= PROBLEMS_SHOWN) {
		if (*shown == PROBLEMS_SHOWN + 1)
			log_warnx("%s: further problems are counted, not shown",
			    name);
		return;
	}
	switch (p->kind) {
	case PROBLEM_SKIPPED_TEXT:
		log_warnx("%s:%llu: %llu non-JSON line%s skipped", name,
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
	log_warnx("%s:%llu: byte %llu: %s: %s", name,
	    (unsigned long long)p->line, (unsigned long long)p->offset, what,
	    p->detail);
}

static void
input_problem(const struct entry_problem *p, void *arg)
{
	struct input_ctx	*in = arg;

	cmd_report_problem(in->path, p, &in->shown);
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

const struct store_revision *
cmd_predecessor(const struct store_revision *v, size_t first,
    const struct store_revision *r)
{
	const struct store_revision	*r0 = NULL;
	size_t				 i;

	for (i = first; &v[i] != r; i++)
		if (v[i].revision[0] != '\0' && v[i].entries > 0)
			r0 = &v[i];
	return (r0);
}

/*
 * A template stands for the problems no catalogue pattern caught, so what it
 * counts depends on the catalogues of both sides: a pattern that counted
 * entries on one side and is missing from the other side's catalogue turns
 * them into templates there, and a side counted with templates off has
 * none.  Either would make a template look new or gone for what is only a
 * change of counting.
 */
static int
template_comparable(struct store *st, const struct store_revision *r,
    const struct store_revision *r0, uint64_t count, uint64_t previous_count,
    char **cause)
{
	uint64_t	n;
	int		drift;

	if (store_untemplated(st, r->id, &n, cause) == -1)
		return (-1);
	if (n > 0 || r0 == NULL)
		return (n == 0);
	if (store_untemplated(st, r0->id, &n, cause) == -1)
		return (-1);
	if (n > 0)
		return (0);
	if (count > 0 &&
	    (drift = store_catalogue_drift(st, r0->id, r->id, cause)) != 0)
		return (drift == 1 ? 0 : -1);
	if (previous_count > 0 &&
	    (drift = store_catalogue_drift(st, r->id, r0->id, cause)) != 0)
		return (drift == 1 ? 0 : -1);
	return (1);
}

int
cmd_comparable(struct store *st, const struct store_revision *r,
    const struct store_revision *r0, const char *pattern, uint64_t count,
    uint64_t previous_count, char **cause)
{
	int	knew;

	if (strncmp(pattern, "tpl-", 4) == 0)
		return (template_comparable(st, r, r0, count, previous_count,
		    cause));
	/* a catalogue that lacked the pattern: that side unknown */
	if ((knew = store_catalogue_knew(st, r->id, pattern, cause)) != 1)
		return (knew);
	if (r0 == NULL)
		return (1);
	return (store_catalogue_knew(st, r0->id, pattern, cause));
}

int
cmd_classify(struct store *st, const struct store_revision *v, size_t first,
    const struct store_revision *r, const char *pattern,
    enum cmp_class *class, char **cause)
{
	const struct store_revision	*r0;
	struct cmp_pattern		 cp;
	struct cmp_params		 params;
	uint64_t			 zero[LOG_KIND_COUNT], n;
	size_t				 i;
	int				 comparable;

	*class = CLASS_UNCHANGED;
	if ((r0 = cmd_predecessor(v, first, r)) == NULL)
		return (0);
	memset(&cp, 0, sizeof(cp));
	cp.id = pattern;
	if (store_pattern_total(st, r->id, pattern, &cp.count, cause) == -1 ||
	    store_pattern_total(st, r0->id, pattern, &cp.previous_count,
	    cause) == -1)
		return (-1);
	for (i = first; &v[i] != r && !cp.seen_before; i++) {
		if (&v[i] == r0)
			continue;
		if (store_pattern_total(st, v[i].id, pattern, &n, cause) == -1)
			return (-1);
		cp.seen_before = n > 0;
	}
	if ((comparable = cmd_comparable(st, r, r0, pattern, cp.count,
	    cp.previous_count, cause)) == -1)
		return (-1);
	cp.comparable = comparable;
	/* new and returning need no rates: exposure does not matter */
	memset(zero, 0, sizeof(zero));
	params.alpha = CMP_ALPHA_DEFAULT;
	params.min_count = CMP_MIN_COUNT_DEFAULT;
	cmp_classify(&cp, 1, zero, zero, &params);
	*class = cp.class;
	return (0);
}
