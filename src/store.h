/*
 * Stage 4: the SQLite store -- the only module that includes sqlite3.h.
 * It owns the schema (schema/NNN-*.sql, applied in order and tracked by
 * PRAGMA user_version), exactly-once counting (dedup keys per minute of
 * entry time) and batching: store_add() adds up counts in memory,
 * store_commit() writes the deltas, the dedup keys, the run's progress and
 * the positions of followed files in one transaction.  A crash loses at most the uncommitted batch, and the
 * run record says how far the committed part reached.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

#include "entry.h"

struct store;

#define STORE_DEDUP_WINDOW_DEFAULT	(7LL * 86400 * 1000000000LL)	/* ns */
#define STORE_SAMPLE_MAX		2048	/* bytes of a stored sample */
/*
 * Dedup keys kept in memory between commits (~12 MiB); past it the set is
 * dropped after a commit and reloads from the database per minute.
 */
#define STORE_DEDUP_KEYS_MAX		250000

/*
 * Open the store at path, creating it and applying pending migrations
 * (WAL, busy timeout 5 s).  Returns NULL and sets *cause (caller frees).
 */
struct store	*store_open(const char *path, char **cause);
void		 store_close(struct store *);	/* NULL ok; does not commit */

/* Entries older than the newest stored entry minus ns are refused. */
void		 store_set_dedup_window(struct store *, int64_t ns);

/* One catalogue pattern as the store records it. */
struct store_pattern {
	const char	*id;
	const char	*title;
	const char	*category;
	const char	*level;		/* info, warning, error, critical */
};

/*
 * Record the catalogue version (a hash of its contents) and the ids it
 * holds; counts added from now on are attributed to it.  Attribution is
 * per batch: -1 while entries are pending (commit first).
 */
int		 store_set_catalogue(struct store *, const char *version,
		    const struct store_pattern *p, size_t n, char **cause);

/* Start an ingest run reading source; returns 0 or -1 with *cause. */
int		 store_run_begin(struct store *, const char *source,
		    char **cause);

enum store_verdict {
	STORE_COUNTED,
	STORE_DUPLICATE,	/* same insertId, instant and logName seen */
	STORE_TOO_OLD,		/* older than newest - dedup window */
	STORE_ERROR		/* database error; *cause set */
};

/*
 * Count e and the patterns it matched (ids borrowed).  Text entries
 * (e->is_text) are not deduplicated.  Nothing reaches the database until
 * store_commit().
 */
enum store_verdict store_add(struct store *, const struct log_entry *e,
		    const char *const *pattern_ids, size_t n, char **cause);

/* Entries added since the last commit. */
size_t		 store_pending(const struct store *);

/* What a run has done so far; written with each commit. */
struct store_progress {
	uint64_t	bytes;		/* read */
	uint64_t	entries;	/* LogEntries or text lines read */
	uint64_t	counted;
	uint64_t	duplicates;
	uint64_t	too_old;
	uint64_t	bad;		/* bad, truncated or oversize entries */
	uint64_t	skipped_lines;	/* non-JSON lines in JSON input */
	uint64_t	offset;		/* just past the last entry read */
	int		in_array;	/* offset lies inside an array */
};

/*
 * Write every pending delta, the new dedup keys, p and the staged source
 * positions in one transaction, then run the commit hook inside it.
 * On failure nothing of the batch is kept, the in-memory batch is
 * discarded, and -1 is returned with *cause.
 */
int		 store_commit(struct store *, const struct store_progress *p,
		    char **cause);

/*
 * An integer of the meta table: *found 0 when key has none.  Returns 0,
 * or -1 with *cause.
 */
int		 store_meta_get(struct store *, const char *key, int64_t *v,
		    int *found, char **cause);

/* Set meta key to v now, in its own transaction (not with a batch). */
int		 store_meta_set(struct store *, const char *key, int64_t v,
		    char **cause);

/*
 * Raise meta key (copied) to at least v in the next store_commit(), in
 * the transaction of its counts (a high-water mark).  One key is staged
 * at a time; a failed commit discards it with the batch.
 */
void		 store_meta_stage(struct store *, const char *key, int64_t v);

/*
 * A followed file's position (schema/004-follow.sql): where to resume so
 * that the entries before offset are exactly the ones counted.
 */
struct store_source {
	char		*path;		/* the followed path it belongs to */
	uint64_t	 device;	/* st_dev */
	uint64_t	 inode;		/* st_ino */
	uint64_t	 fingerprint;	/* hash64 of the first fingerprint_len
					   bytes, seed 0 */
	uint32_t	 fingerprint_len;	/* bytes, <= 4096 */
	uint64_t	 offset;	/* just past the last entry counted */
	int		 in_array;	/* offset lies inside an array */
	uint64_t	 line;		/* 1-based line at offset */
	int		 text;		/* read as plain text lines */
};

/*
 * Stage s (copied) to be written by the next store_commit(), in the
 * transaction of the counts its entries produced; forget = 1 deletes the
 * row of (s->device, s->inode) instead.  Rows are written in the order
 * staged.  A failed commit discards what was staged with the batch.
 */
void		 store_source(struct store *, const struct store_source *s,
		    int forget);

/* The row of (device, inode): 1 found (out->path is the caller's), 0, -1. */
int		 store_source_get(struct store *, uint64_t device,
		    uint64_t inode, struct store_source *out, char **cause);

/*
 * The rows of path, latest first; or, with under, the rows of every file
 * under the directory path, by path.  Free with store_sources_free().
 */
int		 store_sources_at(struct store *, const char *path, int under,
		    struct store_source **out, size_t *n, char **cause);
void		 store_sources_free(struct store_source *, size_t n);

/*
 * Called by store_commit() inside the batch's transaction, after all of
 * the batch is written and before COMMIT, so its reads see the batch.  It
 * may read the store, walk the batch (store_batch_patterns()) and write
 * findings (store_finding()).  Returning -1 with *cause rolls the whole
 * batch back.
 */
typedef int	(*store_commit_fn)(struct store *, void *arg, char **cause);
void		 store_set_commit_hook(struct store *, store_commit_fn fn,
		    void *arg);

/* A (revision, pattern) pair counted in the batch being committed. */
struct store_batch_pattern {
	const char	*project;	/* valid UTF-8, as stored */
	const char	*location;
	const char	*service;
	const char	*revision;
	int64_t		 revision_id;	/* its row */
	const char	*pattern;
	uint64_t	 count;		/* in this batch */
	int64_t		 first_ns;	/* earliest entry time in the batch */
	const char	*sample;	/* the first entry's message ... */
	const char	*insert_id;	/* ... and insertId */
};
typedef int	(*store_batch_pattern_fn)(const struct store_batch_pattern *,
		    void *arg);

/*
 * Call fn for each pair of the batch; only from a commit hook.  Strings
 * die when the commit ends.  Stops at, and returns, fn's -1.
 */
int		 store_batch_patterns(struct store *, store_batch_pattern_fn fn,
		    void *arg);

/* A revision's count of pattern over its whole life (0: never). */
int		 store_pattern_total(struct store *, int64_t revision_id,
		    const char *pattern, uint64_t *count, char **cause);

/* A live finding (schema/004-follow.sql, findings); strings borrowed. */
struct store_finding {
	int64_t		 found_ns;	/* wall clock */
	const char	*project;
	const char	*location;
	const char	*service;
	const char	*revision;
	const char	*pattern;
	const char	*kind;		/* catalogue, template */
	const char	*class;		/* new, returning */
	const char	*level;		/* info .. critical */
	uint64_t	 count;		/* the revision's, when found */
	const char	*sample;
	const char	*insert_id;
	int64_t		 entry_ns;
};

/*
 * Record f unless its (project, location, service, revision, pattern)
 * has a finding already.  Returns 1 written, 0 already there, -1 error.
 * Outside a commit hook it is a transaction of its own.
 */
int		 store_finding(struct store *, const struct store_finding *f,
		    char **cause);

/* A finding as listed: the same fields, owned. */
struct store_finding_row {
	int64_t		 found_ns;
	char		*project;
	char		*location;
	char		*service;
	char		*revision;
	char		*pattern;
	char		*kind;
	char		*class;
	char		*level;
	uint64_t	 count;
	char		*sample;
	char		*insert_id;
	int64_t		 entry_ns;
};

/* Findings made at or after since_ns, oldest first. */
int		 store_findings(struct store *, int64_t since_ns,
		    struct store_finding_row **out, size_t *n, char **cause);
void		 store_findings_free(struct store_finding_row *, size_t n);

/*
 * The webhook alert queue (schema/005-alerts.sql): one row per finding
 * and target name.  targets_json is a JSON array of the target names
 * configured now; alerts for other names wait, untouched.
 */
#define STORE_ALERTS_MAX	10000	/* pending alerts kept; past it the
					   oldest are dropped */

/*
 * Queue finding f (found by its project .. pattern, so store_finding()
 * first) for each of targets[0..n); a (finding, target) queued before is
 * left as it is, so each is sent once.  Past STORE_ALERTS_MAX pending the
 * oldest are dropped and added to *dropped.  Returns how many were
 * queued, or -1.
 */
int		 store_alerts_queue(struct store *, const struct store_finding *f,
		    const char *const *targets, size_t n, uint64_t *dropped,
		    char **cause);

/* A pending alert with its finding. */
struct store_alert {
	int64_t			 id;
	char			*target;
	int			 attempts;	/* tried so far */
	struct store_finding_row f;
};

/* Pending alerts due at now_ns, the oldest due first, at most limit. */
int		 store_alerts_due(struct store *, int64_t now_ns,
		    const char *targets_json, size_t limit,
		    struct store_alert **out, size_t *n, char **cause);
void		 store_alerts_free(struct store_alert *, size_t n);

/*
 * After an attempt: state "pending" (try again at next_ns), "sent",
 * "failed" or "skipped"; error (redacted: it is stored) may be NULL.
 */
int		 store_alert_update(struct store *, int64_t id,
		    const char *state, int attempts, int64_t next_ns,
		    const char *error, char **cause);

/* The earliest next_try of a pending alert; *found 0 when none. */
int		 store_alert_next(struct store *, const char *targets_json,
		    int64_t *next_ns, int *found, char **cause);

/* Call fn for each target name not in targets_json with pending alerts. */
int		 store_alert_orphans(struct store *, const char *targets_json,
		    void (*fn)(const char *target, uint64_t pending, void *),
		    void *arg, char **cause);

/*
 * Close the run: status is "ok", "error" or "interrupted"; p may be NULL.
 * Pending entries are not committed: call store_commit() first.
 */
int		 store_run_end(struct store *, const struct store_progress *p,
		    const char *status, const char *message, char **cause);

/*
 * Note template id's current text, seen in an entry of time ts that
 * store_add() counted under id.  Written with the batch.
 */
void		 store_template(struct store *, const char *id,
		    const char *text, int64_t ts);

/* Each stored template with its total count, oldest first. */
typedef int	(*store_template_fn)(const char *id, const char *text,
		    uint64_t count, void *arg);
int		 store_templates_each(struct store *, store_template_fn fn,
		    void *arg, char **cause);

/* A template as counted in one revision. */
struct store_template_row {
	char		*id;
	char		*text;
	char		*project;
	char		*location;
	char		*service;
	char		*revision;
	uint64_t	 count;
	int64_t		 first_ns;
	int64_t		 last_ns;
	char		*sample;
};

/*
 * Templates by (template, revision), optionally of one service and
 * revision, the oldest template first and within it its first revision
 * first.  Caller frees with store_templates_free().
 */
int		 store_templates(struct store *, const char *service,
		    const char *revision, struct store_template_row **out,
		    size_t *n, char **cause);
void		 store_templates_free(struct store_template_row *, size_t n);

/* A revision as `logaudit revisions` shows it. */
struct store_revision {
	int64_t		 id;
	char		*project;
	char		*location;
	char		*service;
	char		*revision;
	long long	 sequence;	/* -1 when the name carries none */
	int64_t		 first_ns;	/* first entry time */
	int64_t		 last_ns;	/* last entry time */
	uint64_t	 entries;
	uint64_t	 requests;
	uint64_t	 severity[9];	/* by severity_index() */
	char		*commit_sha;	/* NULL when unknown */
	char		*build_id;	/* NULL when unknown */
};

/*
 * Revisions, optionally of one service, ordered by project, location,
 * service, then sequence (else first entry time); empty revision names
 * last.  Caller frees with store_revisions_free().
 */
int		 store_revisions(struct store *, const char *service,
		    struct store_revision **out, size_t *n, char **cause);
void		 store_revisions_free(struct store_revision *, size_t n);

struct store_pattern_count {
	char		*pattern;
	uint64_t	 count;
	int64_t		 first_ns;
	int64_t		 last_ns;
	char		*sample;
};

/* The revision's patterns, most counted first, at most limit (0: all). */
int		 store_top_patterns(struct store *, int64_t revision_id,
		    size_t limit, struct store_pattern_count **out, size_t *n,
		    char **cause);
void		 store_pattern_counts_free(struct store_pattern_count *,
		    size_t n);

/* A pattern's counts in a window of one revision (`logaudit diff`). */
struct store_window_pattern {
	char		*pattern;
	uint64_t	 count;		/* in the window */
	uint32_t	 log_kinds;	/* 1 << enum log_kind it came from */
	int64_t		 first_ns;	/* first seen in the revision */
	char		*sample;
	char		*level;		/* catalogue level; NULL: a template */
};

/*
 * Exposure (entries by log kind) and pattern counts of a revision between
 * from_ns and to_ns (INT64_MIN / INT64_MAX: unbounded), to the minute.
 * Caller frees with store_window_free().
 */
int		 store_window(struct store *, int64_t revision_id,
		    int64_t from_ns, int64_t to_ns,
		    uint64_t exposure[LOG_KIND_COUNT],
		    struct store_window_pattern **out, size_t *n, char **cause);
void		 store_window_free(struct store_window_pattern *, size_t n);

/*
 * Did every catalogue version that counted the revision contain pattern?
 * 1 yes, 0 no (its count there is unknown), -1 error.
 */
int		 store_catalogue_knew(struct store *, int64_t revision_id,
		    const char *pattern, char **cause);

/*
 * The catalogue versions that counted the revision, ", " between them, in
 * *out (NULL when none was recorded); caller frees.
 */
int		 store_revision_catalogues(struct store *, int64_t revision_id,
		    char **out, char **cause);
/*
 * Counting from now on makes templates (on) or not; the store records, per
 * revision, how many entries were counted without (default on).
 */
void		 store_set_templates(struct store *, int on);
/* *n: entries of the revision counted with templates off. */
int		 store_untemplated(struct store *, int64_t revision_id,
		    uint64_t *n, char **cause);
/*
 * Was a catalogue pattern counted in revision from missing from a catalogue
 * version that counted revision to?  Its entries there may have become
 * templates.  1 yes, 0 no, -1 error.
 */
int		 store_catalogue_drift(struct store *, int64_t from,
		    int64_t to, char **cause);

/* Record an acknowledgement (revision "" for every revision). */
int		 store_ack(struct store *, const char *project,
		    const char *location, const char *service,
		    const char *revision, const char *pattern, const char *note,
		    char **cause);
/* Is pattern acknowledged for the revision?  1, 0, or -1; *note set. */
int		 store_acked(struct store *, const char *project,
		    const char *location, const char *service,
		    const char *revision, const char *pattern, char **note,
		    char **cause);
/*
 * Is pattern one ack may name: counted in the service (any revision), or
 * held by a catalogue version the database recorded?  1, 0, or -1.
 */
int		 store_ack_known(struct store *, const char *project,
		    const char *location, const char *service,
		    const char *pattern, char **cause);

/* What `logaudit trend` asks: NULL filters match everything. */
struct store_trend_query {
	const char	*project;
	const char	*location;
	const char	*service;
	const char	*pattern;
	int64_t		 bucket_minutes;	/* 1, 60, 1440; 0: by revision */
	int64_t		 from_ns;	/* INT64_MIN: unbounded */
	int64_t		 to_ns;		/* INT64_MAX: unbounded */
};

/* One bucket (or revision) and pattern, with the bucket's traffic. */
struct store_trend_row {
	int64_t		 bucket_ns;	/* start; by revision: its first minute */
	char		*service;	/* by revision only, else "" */
	char		*revision;	/* by revision only, else "" */
	char		*pattern;
	uint64_t	 count;
	uint64_t	 entries;	/* all entries of the bucket/revision */
	uint64_t	 requests;
};

int		 store_trend(struct store *, const struct store_trend_query *,
		    struct store_trend_row **out, size_t *n, char **cause);
void		 store_trend_free(struct store_trend_row *, size_t n);

#endif
