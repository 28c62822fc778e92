/*
 * Stage 1: entries from the Cloud Logging API (POST v2/entries:list), for
 * `pull` (one window) and `follow --cloud` (one window per interval).
 * A read covers the window [mark - overlap, now - lag): the mark is the
 * newest entry time read for the project and filter, kept in the store's
 * meta table and raised in the transaction of each page's counts, so a
 * read that stops part way resumes at what it committed, and the overlap
 * read again is absorbed by the insertId dedup.  Entries go through the
 * counter (count.c); each page is one store_commit(), which runs the
 * store's commit hook.  The caller owns the run (store_run_begin() and
 * store_run_end()).
 *
 * The access token lives only in this module's memory and the
 * Authorization header: never in argv, the environment of a child, a log
 * line or the store.
 */
#ifndef SOURCE_API_H
#define SOURCE_API_H

#include <signal.h>
#include <stdint.h>

#include "count.h"
#include "entry.h"
#include "store.h"
#include "util.h"

#define API_URL_DEFAULT		"https://logging.googleapis.com"
#define API_FILTER_DEFAULT	"resource.type=\"cloud_run_revision\""
#define API_LAG_DEFAULT		(120LL * NS_PER_SEC)
#define API_OVERLAP_DEFAULT	(600LL * NS_PER_SEC)

struct api_source;

/* What to read and how; strings are copied by api_source_new(). */
struct api_config {
	const char	*project;	/* the Google Cloud project id */
	const char	*filter;	/* Logging query; NULL or "": the
					   default, API_FILTER_DEFAULT */
	const char	*api_url;	/* NULL: API_URL_DEFAULT */
	const char	*ca_file;	/* NULL: the system's CAs */
	const char	*token_file;	/* NULL: not this source */
	const char	*token_command;	/* NULL: not this source */
	int64_t		 lag_ns;	/* the window ends this before now */
	int64_t		 overlap_ns;	/* and starts this before the mark */
	const char	*since;		/* the first window's start (RFC 3339
					   or a duration ago); NULL: the mark */
	volatile sig_atomic_t *stop;	/* a signal flag: when set, stop
					   reading (may be NULL) */
	/*
	 * Logs problem p of a reply named name, the first few (*shown
	 * counts them): cmd_report_problem(); may be NULL.
	 */
	void		(*report_problem)(const char *name,
			    const struct entry_problem *p, unsigned *shown);
	/*
	 * Called after each page's store_commit(), committed 1, or 0 when
	 * it failed and the page's counts were discarded; may be NULL.
	 */
	void		(*on_commit)(int committed, void *arg);
	void		*commit_arg;
};

/* How a read ended. */
enum api_status {
	API_OK,		/* every page read and committed */
	API_FAILED,	/* network errors, 429 or 5xx past the retries, a
			   failed token refresh, or interrupted: the next
			   read tries again */
	API_REFUSED,	/* the API refused the request (400, 403, another
			   4xx, a 401 after a refresh): a configuration
			   error */
	API_STORE	/* a database error: the page's counts discarded */
};

/*
 * A source reading cfg's project into st through counter (both borrowed,
 * and must outlive it).  No token is fetched yet: see api_source_auth().
 */
struct api_source	*api_source_new(const struct api_config *cfg,
			    struct store *st, struct counter *counter);
void			 api_source_free(struct api_source *);	/* NULL ok */

/* "projects/P", for log lines and the run's source. */
const char		*api_source_name(const struct api_source *);

/*
 * Get the access token from the first source that applies: --token-file,
 * LOGAUDIT_ACCESS_TOKEN, --token-command, the metadata server.  First it
 * makes the process unable to dump core (RLIMIT_CORE 0) and, on Linux,
 * not dumpable (PR_SET_DUMPABLE 0: no ptrace, /proc/PID/mem, environ or
 * fd for other processes of the user): this changes the whole process.
 * The token is fetched again before each request that finds it near its
 * expiry, or --token-file changed.  Returns 0, or -1 with *cause (caller
 * frees; it never quotes the token).
 */
int			 api_source_auth(struct api_source *, char **cause);

/*
 * Fix the window of the next read: from since on the first, else from
 * the stored mark minus the overlap, else (no mark yet) an hour ago; to
 * now minus the lag.  Returns 1 when it holds something to read ("reading
 * FROM to TO" logged at info), 0 when it is empty (logged at info), -1 on
 * a bad since or a database error (logged).
 */
int			 api_source_window(struct api_source *);

/*
 * Read the window fixed by api_source_window(), fixing one first when
 * none is, page by page; every page is counted through the counter and
 * committed with the mark before the next is asked for.  429, 5xx and
 * network errors are retried with backoff (logged once per episode), a
 * 401 once after fetching the token again; a certificate that cannot be
 * verified is API_REFUSED, a page over API_PAGE_BODY_MAX (64 MiB)
 * API_FAILED, neither retried.  Adds what it read to *prog
 * and commits *prog with each page.  Stops early when *cfg->stop is set
 * (API_FAILED, nothing logged); every other failure is logged once.  A
 * window it cannot fix itself is API_STORE.  Reads with nothing to read
 * are API_OK.
 */
enum api_status		 api_source_read(struct api_source *,
			    struct store_progress *prog);

/* The help of the options pull and follow --cloud share; one %s: the URL. */
#define API_OPTIONS_USAGE						\
	"  --api-url URL       endpoint (default %s)\n"			\
	"  --lag D             leave the last D out (default 2m)\n"	\
	"  --overlap D         re-read D before the mark (default 10m)\n"	\
	"  --token-file F      access token: F's first line (read again\n"	\
	"                      when F changes, and on HTTP 401)\n"		\
	"  --token-command CMD access token: the first line CMD prints\n"	\
	"                      (run by /bin/sh; again after 50 minutes, or\n" \
	"                      before the lifetime in seconds that a second\n" \
	"                      line gives runs out, and on HTTP 401)\n"

#endif
