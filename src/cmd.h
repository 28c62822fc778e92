/*
 * Subcommands: each turns its options into calls of the stages.  main.c
 * dispatches; cmd_common.c holds what several commands share (reading an
 * input through the entry reader, reporting its problems, option values).
 */
#ifndef CMD_H
#define CMD_H

#include <signal.h>
#include <stdint.h>

#include "catalogue.h"
#include "compare.h"
#include "entry.h"
#include "store.h"

/* Set by SIGINT/SIGTERM (main.c); commands stop at the next chunk. */
extern volatile sig_atomic_t cmd_interrupted;
/* Set by SIGHUP and SIGUSR1 for `follow` (main.c): reload, statistics. */
extern volatile sig_atomic_t cmd_reload;
extern volatile sig_atomic_t cmd_stats;

int	cmd_fingerprint(int argc, char **argv);
int	cmd_ingest(int argc, char **argv);
int	cmd_match(int argc, char **argv);
int	cmd_revisions(int argc, char **argv);
int	cmd_diff(int argc, char **argv);
int	cmd_ack(int argc, char **argv);
int	cmd_trend(int argc, char **argv);
int	cmd_patterns(int argc, char **argv);
int	cmd_templates(int argc, char **argv);
int	cmd_follow(int argc, char **argv);
int	cmd_findings(int argc, char **argv);
int	cmd_pull(int argc, char **argv);

/* Exit statuses every command uses (logaudit(1), EXIT STATUS). */
#define EXIT_OK		0
#define EXIT_FOUND	1
#define EXIT_ERROR	2

/* The database path: --db, else LOGAUDIT_DB, else ./logaudit.db. */
const char	*cmd_db_path(const char *opt);

/*
 * Open the database of a reading command: one that does not exist is an
 * error (reading must not leave an empty database behind a typo).
 * Returns NULL after saying why.
 */
struct store	*cmd_store_existing(const char *opt_db);

/* Load the catalogue from --patterns dirs or the search order. */
struct catalogue *cmd_catalogue(char *const *dirs, size_t n);

/*
 * Read one input (path, "-" for stdin) through a reader made from cfg;
 * problems are printed as "path:line: ..." (the first few of each
 * input).  chunk_done(chunk_arg), when not NULL, runs after each chunk
 * read is parsed: a live stream's entries must not wait in a batch while
 * the next read blocks.  Returns 0, 1 when interrupted or stopped by the callback, or
 * -1 when the input cannot be read or is refused (the reason printed).
 * *stats and *framing receive the reader's figures.
 */
int	cmd_read_input(const char *path, const struct entry_reader_config *cfg,
	    void (*chunk_done)(void *), void *chunk_arg,
	    struct entry_stats *stats, enum entry_framing *framing,
	    uint64_t *resume_offset, int *resume_in_array);

/*
 * Log problem p of input name as "name:line: byte N: what: why", the
 * first few of an input (*shown counts them; start it at 0).
 */
void	cmd_report_problem(const char *name, const struct entry_problem *p,
	    unsigned *shown);

/* The input options ingest and match share, for their option tables. */
#define CMD_INPUT_OPTIONS						\
	{ "service", required_argument, NULL, 's' },			\
	{ "revision", required_argument, NULL, 'r' },			\
	{ "text", no_argument, NULL, 't' },				\
	{ "patterns", required_argument, NULL, 'p' }

struct cmd_input_opts {
	struct entry_reader_config	 cfg;	/* --service, --revision, --text */
	char				**pdirs;	/* --patterns, borrowed strings */
	size_t				 npdirs;
};

/* Apply option ch of CMD_INPUT_OPTIONS; returns 1 if it was one. */
int	cmd_input_option(struct cmd_input_opts *, int ch, char *arg);
void	cmd_input_opts_clear(struct cmd_input_opts *);

/* Bad entries of all kinds in stats. */
uint64_t	cmd_bad_count(const struct entry_stats *);

/*
 * What revision r is compared with: the last revision before it in
 * v[first..r) -- one service's revisions in store_revisions() order --
 * that has a name and entries.  NULL when there is none.
 */
const struct store_revision *cmd_predecessor(const struct store_revision *v,
	    size_t first, const struct store_revision *r);

/*
 * Can pattern, count times in r and previous_count in r0 (r0 may be NULL),
 * be compared between them?  A catalogue pattern when every catalogue that
 * counted either revision held it.  A template when both sides were counted
 * with templates on and no catalogue pattern that counted entries on the
 * other side is missing from the catalogue of the side where it is seen.
 * Returns 1, 0, or -1 with *cause.
 */
int	cmd_comparable(struct store *st, const struct store_revision *r,
	    const struct store_revision *r0, const char *pattern,
	    uint64_t count, uint64_t previous_count, char **cause);

/*
 * The class of pattern in revision r over the revisions' whole lives,
 * as `diff` gives it without a window: against r's predecessor, with
 * every revision before r but the predecessor as "seen before".
 * v[first..r] are r's service's revisions in store order.  *class is
 * CLASS_UNCHANGED when r has no predecessor.  Returns 0, or -1 with
 * *cause.
 */
int	cmd_classify(struct store *st, const struct store_revision *v,
	    size_t first, const struct store_revision *r, const char *pattern,
	    enum cmp_class *class, char **cause);

#endif
