/*
 * Stages 3 to 4 for one entry: catalogue -> template -> store.  ingest
 * and follow both count through this, so an entry counts the same
 * whichever command read it.  The counter records its catalogue in the
 * store, reloads the stored templates so that messages join them under
 * their ids, and may be handed a new catalogue between batches (SIGHUP).
 */
#ifndef COUNT_H
#define COUNT_H

#include <stdint.h>

#include "catalogue.h"
#include "entry.h"
#include "store.h"

struct counter;

/* What the entries given to counter_add() came to. */
struct count_stats {
	uint64_t	entries;
	uint64_t	counted;
	uint64_t	duplicates;
	uint64_t	too_old;
};

/*
 * A counter adding to st (borrowed) with cat, which it takes.  templates:
 * group problems no specific pattern matched (entry_is_problem() at
 * tpl_min_severity) into templates.  Records the catalogue in the store
 * (store_set_catalogue()).  Returns NULL with *cause; cat is then freed.
 */
struct counter	*counter_new(struct store *st, struct catalogue *cat,
		    int templates, int tpl_min_severity, char **cause);
void		 counter_free(struct counter *);	/* NULL ok */

/*
 * Match, template and count e.  Adds the verdict to *stats (may be NULL).
 * STORE_ERROR sets *cause and adds nothing.
 */
enum store_verdict counter_add(struct counter *, const struct log_entry *e,
		    struct count_stats *stats, char **cause);

/* The catalogue in use. */
struct catalogue *counter_catalogue(const struct counter *);

/*
 * Count with cat (taken) from now on: the store must have nothing pending
 * (commit first).  On failure the old catalogue stays, cat is freed, and
 * -1 is returned with *cause.
 */
int		 counter_set_catalogue(struct counter *, struct catalogue *cat,
		    char **cause);

/* The level of pattern id ("error" for a template or an unknown id). */
const char	*counter_level(const struct counter *, const char *id);

#endif
