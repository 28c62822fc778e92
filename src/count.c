/*
 * One entry through the classifying stages into the store: the catalogue's
 * matches, a template when no specific pattern knew a problem, then
 * store_add().  Pattern indexes become ids here, and the template's id is
 * appended to them, so the store sees strings and never the catalogue or
 * the template table.  Only a counted entry makes its template known to
 * the store: duplicates and too-old entries change nothing stored.
 */
#include <stdlib.h>
#include <string.h>

#include "count.h"
#include "fingerprint.h"
#include "log.h"
#include "xmalloc.h"

struct counter {
	struct store		*st;
	struct catalogue	*cat;
	size_t			*hits;		/* catalogue_size() + 1 slots */
	const char		**ids;
	struct fp_table		*fp;		/* NULL: no templates */
	int			 tpl_min_severity;
};

struct tpl_load {
	struct fp_table	*fp;
	unsigned long	 failed;
};

static int
counter_template_load(const char *id, const char *text, uint64_t count,
    void *arg)
{
	struct tpl_load	*tl = arg;

	/* the overflow template is counted but never grouped into */
	if (strcmp(id, FP_OVERFLOW_ID) != 0 &&
	    fp_load(tl->fp, id, text, count) == -1)
		tl->failed++;
	return (0);
}

/* The template table, with every template the store knows reloaded. */
static struct fp_table *
counter_templates(struct store *st, char **cause)
{
	struct tpl_load	 tl;
	int64_t		 version;
	int		 found;

	/* templates made by other rules may not regroup under their ids */
	if (store_meta_get(st, "fingerprint_version", &version, &found,
	    cause) == -1)
		return (NULL);
	if (found && version != FP_VERSION)
		log_warnx("the stored templates were grouped by fingerprint "
		    "rules %lld, this logaudit's are %d: messages may group "
		    "under new template ids", (long long)version, FP_VERSION);
	if ((!found || version != FP_VERSION) &&
	    store_meta_set(st, "fingerprint_version", FP_VERSION, cause) == -1)
		return (NULL);
	tl.fp = fp_new(0);
	tl.failed = 0;
	if (store_templates_each(st, counter_template_load, &tl,
	    cause) == -1) {
		fp_free(tl.fp);
		return (NULL);
	}
	if (tl.failed > 0)
		log_warnx("%lu stored templates not reloaded: the template "
		    "table is full (new messages like them get new ids)",
		    tl.failed);
	return (tl.fp);
}

/* Tell the store which catalogue counts from now on. */
static int
counter_record(struct store *st, const struct catalogue *cat, char **cause)
{
	struct store_pattern		*sp;
	const struct pattern_info	*pi;
	size_t				 i, n = catalogue_size(cat);
	int				 rv;

	sp = xcalloc(n + 1, sizeof(*sp));
	for (i = 0; i < n; i++) {
		pi = catalogue_pattern(cat, i);
		sp[i].id = pi->id;
		sp[i].title = pi->title;
		sp[i].category = pi->category;
		sp[i].level = pattern_level_name(pi->level);
	}
	rv = store_set_catalogue(st, catalogue_version(cat), sp, n, cause);
	free(sp);
	return (rv);
}

struct counter *
counter_new(struct store *st, struct catalogue *cat, int templates,
    int tpl_min_severity, char **cause)
{
	struct counter	*c;

	c = xcalloc(1, sizeof(*c));
	c->st = st;
	c->cat = cat;
	c->tpl_min_severity = tpl_min_severity;
	if (counter_record(st, cat, cause) == -1)
		goto fail;
	store_set_templates(st, templates);
	if (templates && (c->fp = counter_templates(st, cause)) == NULL)
		goto fail;
	c->hits = xcalloc(catalogue_size(cat) + 1, sizeof(*c->hits));
	c->ids = xcalloc(catalogue_size(cat) + 1, sizeof(*c->ids));
	return (c);
fail:
	counter_free(c);
	return (NULL);
}

void
counter_free(struct counter *c)
{
	if (c == NULL)
		return;
	catalogue_warn_match_errors(c->cat);
	catalogue_free(c->cat);
	fp_free(c->fp);
	free(c->hits);
	free(c->ids);
	free(c);
}

enum store_verdict
counter_add(struct counter *c, const struct log_entry *e,
    struct count_stats *stats, char **cause)
{
	const struct fp_template	*tpl = NULL;
	const struct pattern_info	*pi;
	size_t				 n, i, specific;
	enum store_verdict		 v;

	n = catalogue_match(c->cat, e, c->hits);
	specific = 0;
	for (i = 0; i < n; i++) {
		pi = catalogue_pattern(c->cat, c->hits[i]);
		c->ids[i] = pi->id;
		specific += !pi->generic;
	}
	/* A problem no specific pattern knows gets a template of its own:
	 * "an ERROR line" says nothing about which error it is. */
	if (specific == 0 && c->fp != NULL &&
	    entry_is_problem(e, c->tpl_min_severity)) {
		tpl = fp_add(c->fp, e->message.p, e->message.len);
		c->ids[n++] = tpl->id;	/* lives until the next fp_add */
	}
	v = store_add(c->st, e, c->ids, n, cause);
	if (v == STORE_ERROR)
		return (v);
	if (stats != NULL)
		stats->entries++;
	switch (v) {
	case STORE_COUNTED:
		if (stats != NULL)
			stats->counted++;
		/* only a counted entry makes its template known */
		if (tpl != NULL)
			store_template(c->st, tpl->id, tpl->text,
			    e->timestamp_ns);
		break;
	case STORE_DUPLICATE:
		if (stats != NULL)
			stats->duplicates++;
		break;
	default:
		if (stats != NULL)
			stats->too_old++;
		break;
	}
	return (v);
}

struct catalogue *
counter_catalogue(const struct counter *c)
{
	return (c->cat);
}

int
counter_set_catalogue(struct counter *c, struct catalogue *cat,
    char **cause)
{
	if (counter_record(c->st, cat, cause) == -1) {
		catalogue_free(cat);
		return (-1);
	}
	catalogue_free(c->cat);
	c->cat = cat;
	free(c->hits);
	free(c->ids);
	c->hits = xcalloc(catalogue_size(cat) + 1, sizeof(*c->hits));
	c->ids = xcalloc(catalogue_size(cat) + 1, sizeof(*c->ids));
	return (0);
}

const char *
counter_level(const struct counter *c, const char *id)
{
	const struct pattern_info	*pi;
	size_t				 i;

	for (i = 0; i < catalogue_size(c->cat); i++) {
		pi = catalogue_pattern(c->cat, i);
		if (strcmp(pi->id, id) == 0)
			return (pattern_level_name(pi->level));
	}
	return ("error");
}
