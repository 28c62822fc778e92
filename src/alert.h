/*
 * Stage 7: webhook alerts.  Targets come from a file (--webhooks FILE,
 * one "name url [format]" a line) or from $LOGAUDIT_WEBHOOKS (the same
 * lines), never from the command line: a webhook URL is a secret, and
 * argv shows in ps and in unit files.  A URL lives in memory and in the
 * request only; the queue in the store (schema/005-alerts.sql) holds
 * target names, and every message that could quote a URL is redacted of
 * it.
 *
 * Findings are queued by the store (store_alerts_queue()) in the
 * transaction that records them; an alerter delivers the queue of one
 * database, with a worker per target and its own connection: one POST
 * per alert, 2xx sent, 429, 5xx and network errors retried with
 * exponential backoff and jitter up to ALERT_TRIES_MAX tries, other
 * answers failed for good.  follow runs each worker on a thread of its
 * own, so a slow or dead webhook holds up neither counting nor another
 * target; diff delivers before it exits, within a time budget, and
 * leaves the rest queued for the next run.
 */
#ifndef ALERT_H
#define ALERT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define ALERT_TRIES_MAX		12	/* then failed */
#define ALERT_BACKOFF_MS	5000	/* first wait; LOGAUDIT_BACKOFF_MS */
#define ALERT_BACKOFF_CAP_MS	(3600 * 1000)
#define ALERT_TIMEOUT_SEC	10	/* per request */
#define ALERT_TARGETS_MAX	64
#define ALERT_SAMPLE_SHOWN	300	/* bytes of a sample in a slack text */

enum alert_format {
	ALERT_SLACK,		/* {"text": "..."}, Slack mrkdwn */
	ALERT_JSON		/* the finding record */
};

struct alert_target {
	char			*name;
	char			*url;		/* secret: never printed */
	enum alert_format	 format;
};

struct alert_targets {
	struct alert_target	*v;
	size_t			 n;
	const char		**names;	/* v[i].name, for the store */
	char			*names_json;	/* ["name", ...] */
};

/*
 * Load targets from file, or, when file is NULL, from $LOGAUDIT_WEBHOOKS.
 * Sets *out to NULL when neither names any (no alerts).  Errors name the
 * file and line, never a URL; returns -1 with *cause (caller frees).
 */
int	 alert_targets_load(const char *file, struct alert_targets **out,
	    char **cause);
void	 alert_targets_free(struct alert_targets *);

struct store_finding_row;

/* The body of an alert about f in format; caller frees. */
char	*alert_payload(enum alert_format, const struct store_finding_row *f,
	    int acknowledged);

struct alerter;

/*
 * An alerter for the database at db, with its own connection.  targets
 * are borrowed and must outlive it.  NULL with *cause on failure.
 */
struct alerter	*alerter_new(const char *db, const struct alert_targets *,
		    const char *ca_file, char **cause);
void		 alerter_free(struct alerter *);

/*
 * One attempt at every alert due now; returns the number sent, or -1 when
 * the store failed (logged).  Stops early when *stop is set.
 */
int		 alerter_deliver(struct alerter *, volatile sig_atomic_t *stop);

/*
 * Deliver until the queue holds nothing due within budget_ns from now,
 * sleeping for retries that fall inside it: what cron runs use before
 * exiting.  Returns the number sent, or -1.
 */
int		 alerter_flush(struct alerter *, int64_t budget_ns,
		    volatile sig_atomic_t *stop);

/* Deliver on a thread per target: every second, or when kicked. */
int		 alerter_start(struct alerter *, char **cause);
void		 alerter_kick(struct alerter *);
/* Stop the thread (the request under way is aborted) and join it. */
void		 alerter_stop(struct alerter *);

#endif
