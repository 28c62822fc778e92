/*
 * logaudit follow: the daemon.  Followed files (source_tail.c) -> one
 * entry reader per file -> catalogue, templates and store (count.c), on
 * one thread.  Counts are committed at least every --flush, and with them,
 * in the same transaction, where each file stands: the end of the last
 * entry counted.  After a crash a file resumes there, so no entry is lost
 * or counted twice; stdin, which cannot be positioned, relies on the
 * insertId dedup.
 *
 * Inside each commit (the store's commit hook) the (revision, pattern)
 * pairs that the batch counted and this process has not looked at yet are
 * classified as `diff` would classify them (cmd_classify()); the new and
 * returning ones become findings in the same transaction and are logged
 * once it is committed.
 *
 * With --cloud the entries come from the Logging API (source_api.c)
 * instead of files: one window every --interval, each page committed with
 * its high-water mark through the same store, so the commit hook makes
 * the same findings.
 *
 * The one surprising part: a commit that fails discards its batch, so
 * every file is moved back to where its last committed entry ended and
 * read again.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "catalogue.h"
#include "cmd.h"
#include "count.h"
#include "entry.h"
#include "hmap.h"
#include "http.h"
#include "log.h"
#include "source_api.h"
#include "source_tail.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define FOLLOW_BATCH		100000	/* entries per transaction, at most
					   about */
#define FOLLOW_TICK_MS		100	/* open files are read this often */
#define FOLLOW_BUDGET		(1024 * 1024)	/* bytes per file and round */
#define FOLLOW_POLL_DEFAULT	NS_PER_SEC
#define FOLLOW_FLUSH_DEFAULT	NS_PER_SEC
#define FOLLOW_IDLE_DEFAULT	(60 * NS_PER_SEC)
#define FOLLOW_RETRY_MAX	(30 * NS_PER_SEC)	/* commit backoff cap */
#define FOLLOW_LAG_SHOWN	10	/* sources in a statistics line */
#define FOLLOW_SAMPLE_SHOWN	120	/* bytes of a sample in a log line */
#define FOLLOW_DEPTH_MAX	32	/* directory levels, as source_tail.c */

struct follower;

/* A followed file's counting state (tail_file.user). */
struct ffile {
	struct follower		*fw;
	struct tail_file	*tf;
	struct entry_reader	*r;		/* NULL while closed */
	/* resume point: just past the last entry counted */
	uint64_t		 offset;
	int			 in_array;
	uint64_t		 line;
	int			 text;		/* framing is plain text */
	/* where the entries not yet committed began: a failed commit
	 * moves the file back here */
	uint64_t		 base_offset;
	int			 base_in_array;
	uint64_t		 base_line;
	int			 base_text;
	int			 dirty;		/* position not committed */
	int			 restart;	/* reader stopped: start anew */
	int			 refused;	/* YAML: read no further */
	uint64_t		 uncommitted;	/* stdin: entries not committed */
	unsigned		 shown;		/* problems logged */
	struct ffile		*next;
	struct ffile		*prev;
};

/* A (revision, pattern) pair being classified inside a commit. */
struct candidate {
	struct store_batch_pattern	 bp;	/* strings live in the batch */
	uint64_t			 key;
};

struct follower {
	struct store		*st;
	struct counter		*counter;
	struct tail		*tail;
	struct entry_reader_config cfg;		/* --service, --revision,
						   --text */
	char			**pdirs;	/* --patterns, for SIGHUP */
	size_t			 npdirs;
	int64_t			 flush_ns;
	int			 min_level;	/* 0 info .. 3 critical */
	int			 quiet;
	struct ffile		*files;		/* every file with state */
	int			 dirty;		/* a position moved */
	int			 restart;	/* a reader stopped */
	struct store_progress	 prog;		/* of this process */
	struct count_stats	 cs;
	struct count_stats	 cs_committed;	/* cs as of the last commit */
	uint64_t		 bad_done;	/* of readers freed */
	/* commits */
	int64_t			 last_commit_ns;	/* monotonic */
	int64_t			 retry_ns;	/* not before, when failing */
	int64_t			 backoff_ns;
	int			 failing;
	/* findings: pairs looked at, and those of the commit under way */
	struct hmap		*seen;		/* uint64 key -> nothing */
	struct candidate	*cand;
	size_t			 ncand;
	size_t			 scand;
	uint64_t		*looked;	/* keys classified in the commit */
	size_t			 nlooked;
	char			**lines;	/* to log once committed */
	size_t			 nlines;
	/* alerts: queued with the findings, sent by the alerter's thread */
	struct alert_targets	*targets;	/* NULL: no alerts */
	struct alerter		*alerter;
	int			 alerts_queued;	/* by the commit under way */
	uint64_t		 alerts_dropped;	/* ... out of a full queue */
	/* statistics (SIGUSR1) */
	int64_t			 stats_ns;	/* monotonic, of the last line */
	uint64_t		 stats_entries;
	uint64_t		 stats_bytes;
};

static void
follow_usage(FILE *f)
{
	fprintf(f,
	    "usage: logaudit follow [--db PATH] [--poll D] [--flush D] [--idle D]\n"
	    "                       [--patterns DIR]... [--no-templates] [--no-inotify]\n"
	    "                       [--templates-min-severity SEV]\n"
	    "                       [--min-level LEVEL] [--service S]\n"
	    "                       [--revision R] [--text] [--dedup-window D]\n"
	    "                       [--pidfile PATH] [--webhooks FILE]\n"
	    "                       [--ca-file F] [-D] [--check] [-q] PATH...|-\n"
	    "       logaudit follow --cloud PROJECT [--filter F] [--interval D]\n"
	    "                       [--api-url URL] [--lag D] [--overlap D]\n"
	    "                       [--token-file F] [--token-command CMD]\n"
	    "                       [--ca-file F] [--db PATH] [--patterns DIR]...\n"
	    "                       [--min-level LEVEL] [--pidfile PATH]\n"
	    "                       [--webhooks FILE] [-D] [--check] [-q]\n"
	    "\n"
	    "Follow Cloud Logging exports as they are written and count them\n"
	    "into the database like ingest, until SIGTERM or SIGINT.  Each PATH\n"
	    "is a file, a directory, a pattern or - (stdin).\n"
	    "\n"
	    "A file is followed like tail -F: what is appended is read; a\n"
	    "rename (rotation) is noticed, the old file read to its end and the\n"
	    "new one from its start; a file truncated (copytruncate) or\n"
	    "rewritten is read again from its start; a file that does not\n"
	    "exist yet is waited for.  A directory is followed recursively:\n"
	    "every regular file under it (names starting with '.' excepted),\n"
	    "with new files and folders found as they appear, as a Cloud\n"
	    "Storage log sink writes them.  A file read to its end and idle\n"
	    "for --idle is closed, and opened again when it grows; a file\n"
	    "renamed inside the directory keeps its place.  stdin is read to\n"
	    "its end (followed alone, the daemon then exits).\n"
	    "\n"
	    "A PATH with *, ? or [ in it is a pattern, as the shell's (quote it:\n"
	    "'logs/*.json'): each file or directory it matches is followed as\n"
	    "if named, and it is matched again at every full check and when a\n"
	    "name appears in a directory it matches in, so that files created\n"
	    "later are followed too (with wildcards in a directory part, a new\n"
	    "directory is found by the next full check).  A pattern that matches\n"
	    "nothing yet is waited for, like a missing file.\n"
	    "\n"
	    "Where each file stands is committed with the counts it produced:\n"
	    "after a crash or restart a file resumes just past the last entry\n"
	    "counted, and no entry is lost or counted twice.  A file rotated\n"
	    "away meanwhile is found beside its path and read to its end.  A\n"
	    "file the database holds no position for is read from its start\n"
	    "(entries already counted, by ingest for instance, are known by\n"
	    "their insertId).  stdin has no position: its entries count once\n"
	    "by their insertId.\n"
	    "\n"
	    "When a revision shows a pattern or template for the first time\n"
	    "that is new (in no earlier revision of its service) or returning\n"
	    "(not in the previous revision, in an older one), one line is\n"
	    "logged and a finding recorded; see logaudit findings.\n"
	    "\n"
	    "  --db PATH           database (default $LOGAUDIT_DB or ./logaudit.db)\n"
	    "  --poll D            where inotify cannot be used (remote file systems,\n"
	    "                      --no-inotify, watches exhausted) stat the paths\n"
	    "                      and walk the directories every D (default 1s);\n"
	    "                      with inotify, changes are seen at once and a full\n"
	    "                      check runs every 10 s (or D, if longer) as a\n"
	    "                      safety net; open files are read every 100 ms\n"
	    "  --no-inotify        poll every path as above, inotify unused\n"
	    "  --flush D           commit counts at least every D (default 1s)\n"
	    "  --idle D            close a file idle at its end for D (default\n"
	    "                      1m; files under a directory, rotated files)\n"
	    "  --patterns DIR      catalogue directory (repeatable)\n"
	    "  --no-templates      count catalogue patterns only\n"
	    "  --templates-min-severity SEV\n"
	    "                      group unmatched entries of this severity and\n"
	    "                      above into templates (default WARNING)\n"
	    "  --min-level L       record findings of this catalogue level and\n"
	    "                      above: info, warning (default), error,\n"
	    "                      critical; templates are error\n"
	    "  --service S, --revision R\n"
	    "                      as for ingest: labels for input that has none\n"
	    "  --text              read plain text lines, one entry each; give it\n"
	    "                      for a plain text log (without it a file is\n"
	    "                      taken for text only once 1 MiB of it shows\n"
	    "                      no JSON)\n"
	    "  --dedup-window D    as for ingest (default 7d)\n"
	    "  --pidfile PATH      write the process id to PATH, locked while\n"
	    "                      running: a second daemon with it is refused\n"
	    "  -D                  detach: run in the background once started\n"
	    "                      (exit 0; 2 when starting failed); logs still\n"
	    "                      go to stderr, so redirect it.  Not with -\n"
	    "  --check             check the options and the catalogue, then\n"
	    "                      exit 0, or 2 saying what is wrong\n"
	    "  --webhooks FILE     alert targets, one \"name url [slack|json]\" a\n"
	    "                      line (default: $LOGAUDIT_WEBHOOKS, same lines,\n"
	    "                      ';' between them): each finding is sent to\n"
	    "                      each target once, from a thread per target,\n"
	    "                      retried with backoff; see ALERTS in logaudit(1)\n"
	    "  --ca-file F         CA certificates to verify webhook servers (and\n"
	    "                      with --cloud the API) with\n"
	    "  -q, --quiet         no start and stop lines\n"
	    "\n"
	    "With --cloud, read a project's logs from the Cloud Logging API\n"
	    "instead, as pull does, one window every --interval: from --overlap\n"
	    "before the newest entry read to --lag before now.  Each page is\n"
	    "committed with its counts and findings.  A read that fails (the API\n"
	    "down, 429 or 5xx after 10 tries) is logged and made again at the\n"
	    "next interval.  A request the API refuses (400: a bad filter, 403:\n"
	    "a missing role) ends the daemon (2) on the first read; later it is\n"
	    "logged and retried.  --poll, --flush, --idle, --text, --service\n"
	    "and --revision do not apply.\n"
	    "\n"
	    "  --cloud PROJECT     read the Google Cloud project PROJECT; no PATH\n"
	    "  --filter F          Logging query (default\n"
	    "                      resource.type=\"cloud_run_revision\")\n"
	    "  --interval D        start a read every D (default 60s)\n"
	    API_OPTIONS_USAGE
	    "\n"
	    "Without --token-file, LOGAUDIT_ACCESS_TOKEN or --token-command,\n"
	    "the token comes from the metadata server ($GCE_METADATA_HOST),\n"
	    "again a minute before it expires.  Holding a token, the daemon\n"
	    "dumps no core.\n"
	    "\n"
	    "Signals: SIGTERM and SIGINT commit and exit 0.  SIGHUP loads the\n"
	    "catalogue again; when it fails to load, the one in use stays and\n"
	    "the reason is logged.  SIGUSR1 logs a statistics line: entries\n"
	    "and bytes read, entries per second since the last such line, bad\n"
	    "entries, and the bytes each source is behind its end.  Logs go\n"
	    "to stderr; logaudit -v follow also says where each file starts.\n"
	    "\n"
	    "Exit status: 0 stopped by a signal or stdin ended, 2 error.\n",
	    API_URL_DEFAULT);
}

static int64_t
mono_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec);
}

/* ---- one file --------------------------------------------------------- */

static int	follow_entry(const struct log_entry *, void *);
static int	follow_commit(struct follower *);
static int	follow_due(struct follower *, int64_t);

static void
follow_problem(const struct entry_problem *p, void *arg)
{
	struct ffile	*ff = arg;

	cmd_report_problem(ff->tf->name, p, &ff->shown);
}

static void
reader_free(struct ffile *ff)
{
	if (ff->r == NULL)
		return;
	ff->fw->bad_done += cmd_bad_count(entry_reader_stats(ff->r));
	entry_reader_free(ff->r);
	ff->r = NULL;
}

/* A reader starting at the resume point. */
static void
reader_new(struct ffile *ff)
{
	struct entry_reader_config	cfg = ff->fw->cfg;

	reader_free(ff);
	cfg.on_entry = follow_entry;
	cfg.arg = ff;
	cfg.on_problem = follow_problem;
	cfg.problem_arg = ff;
	cfg.start_offset = ff->offset;
	cfg.start_in_array = ff->in_array;
	cfg.start_line = ff->line;
	if (ff->offset > 0 && ff->text)
		cfg.force_text = 1;	/* detected by the first reading */
	ff->r = entry_reader_new(&cfg);
	ff->restart = 0;
}

static struct ffile *
ffile_new(struct follower *fw, struct tail_file *tf)
{
	struct ffile	*ff;

	ff = xcalloc(1, sizeof(*ff));
	ff->fw = fw;
	ff->tf = tf;
	ff->line = ff->base_line = 1;
	ff->next = fw->files;
	if (fw->files != NULL)
		fw->files->prev = ff;
	fw->files = ff;
	tf->user = ff;
	return (ff);
}

static void
ffile_free(struct ffile *ff)
{
	reader_free(ff);
	if (ff->prev != NULL)
		ff->prev->next = ff->next;
	else
		ff->fw->files = ff->next;
	if (ff->next != NULL)
		ff->next->prev = ff->prev;
	free(ff);
}

static void
ffile_at(struct ffile *ff, uint64_t offset, int in_array, uint64_t line,
    int text)
{
	ff->offset = ff->base_offset = offset;
	ff->in_array = ff->base_in_array = in_array;
	ff->line = ff->base_line = line > 0 ? line : 1;
	ff->text = ff->base_text = text;
}

/* Does the stored row describe the file open as tf? */
static int
row_matches(struct tail_file *tf, const struct store_source *row)
{
	uint64_t	h;

	if (row->offset > tf->size)
		return (0);
	if (row->fingerprint_len == 0)
		return (row->offset == 0);
	return (tail_head(tf, row->fingerprint_len, &h) == 0 &&
	    h == row->fingerprint);
}

/*
 * Where a file seen for the first time starts: its row by (device, inode),
 * else a row of its path with the same head (a device renumbered by a
 * reboot), else its start.
 */
static void
follow_position(struct follower *fw, struct ffile *ff)
{
	struct tail_file	*tf = ff->tf;
	struct store_source	 row, *v = NULL;
	size_t			 n = 0, i;
	char			*cause = NULL;
	int			 found;

	ffile_at(ff, 0, 0, 1, 0);
	ff->dirty = fw->dirty = 1;
	memset(&row, 0, sizeof(row));
	found = store_source_get(fw->st, tf->device, tf->inode, &row, &cause);
	if (found == 1 && row_matches(tf, &row)) {
		ffile_at(ff, row.offset, row.in_array, row.line, row.text);
		ff->dirty = 0;
		free(row.path);
		log_info("%s: resuming at byte %llu", tf->name,
		    (unsigned long long)ff->offset);
		return;
	}
	free(row.path);
	if (found == 0 && store_sources_at(fw->st, tf->path, 0, &v, &n,
	    &cause) == 0) {
		for (i = 0; i < n; i++) {
			if (!row_matches(tf, &v[i]))
				continue;
			ffile_at(ff, v[i].offset, v[i].in_array, v[i].line,
			    v[i].text);
			store_source(fw->st, &v[i], 1);	/* its old key */
			log_info("%s: resuming at byte %llu (found by path)",
			    tf->name, (unsigned long long)ff->offset);
			break;
		}
		store_sources_free(v, n);
		if (i < n)
			return;
	}
	if (cause != NULL) {
		log_warnx("%s: no stored position: %s", tf->name, cause);
		free(cause);
	}
	log_info("%s: reading from the start", tf->name);
}

static void
follow_open(struct tail_file *tf, int reset, void *arg)
{
	struct follower	*fw = arg;
	struct ffile	*ff = tf->user;

	if (ff == NULL) {
		ff = ffile_new(fw, tf);
		if (!tf->is_stdin)
			follow_position(fw, ff);
	} else if (reset) {
		/* the old content is gone: nothing of it to go back to */
		ffile_at(ff, 0, 0, 1, 0);
		ff->dirty = fw->dirty = 1;
		ff->refused = 0;
	}
	reader_new(ff);
	tf->pos = ff->offset;
}

static void
follow_data(struct tail_file *tf, const void *buf, size_t len, void *arg)
{
	struct follower	*fw = arg;
	struct ffile	*ff = tf->user;

	fw->prog.bytes += len;
	if (ff == NULL || ff->r == NULL || ff->refused || ff->restart)
		return;
	if (entry_reader_feed(ff->r, buf, len) == 0) {
		/* a full batch: commit between chunks, where every reader
		 * stands just past an entry it counted */
		if (store_pending(fw->st) >= FOLLOW_BATCH &&
		    follow_due(fw, mono_ns()))
			(void)follow_commit(fw);
		return;
	}
	if (entry_reader_framing(ff->r) == FRAMING_YAML) {
		log_warnx("%s: this is YAML, gcloud's default output format: "
		    "not read (write the logs with --format=json)", tf->name);
		ff->refused = 1;
		return;
	}
	ff->restart = fw->restart = 1;	/* stopped by a store error */
}

static void
follow_close(struct tail_file *tf, int forget, void *arg)
{
	struct follower		*fw = arg;
	struct ffile		*ff = tf->user;
	struct store_source	 src;

	if (ff == NULL)
		return;
	if (!forget) {
		reader_free(ff);
		return;
	}
	/* gone for good: a last line without its newline still counts */
	if (ff->r != NULL && !ff->refused && !ff->restart)
		(void)entry_reader_finish(ff->r);
	if (!tf->is_stdin) {
		memset(&src, 0, sizeof(src));
		src.path = NULL;
		src.device = tf->device;
		src.inode = tf->inode;
		store_source(fw->st, &src, 1);
		fw->dirty = 1;
		log_info("%s: done", tf->name);
	}
	ffile_free(ff);
	tf->user = NULL;
}

static int
follow_entry(const struct log_entry *e, void *arg)
{
	struct ffile	*ff = arg;
	struct follower	*fw = ff->fw;
	char		*cause = NULL;

	if (counter_add(fw->counter, e, &fw->cs, &cause) == STORE_ERROR) {
		log_warnx("%s", cause);
		free(cause);
		return (-1);	/* the reader starts again at offset */
	}
	ff->offset = entry_reader_resume_offset(ff->r, &ff->in_array,
	    &ff->line);
	ff->dirty = fw->dirty = 1;
	if (ff->tf->is_stdin)
		ff->uncommitted++;
	return (0);
}

/* Readers a store error stopped start again at their resume point. */
static void
follow_restart(struct follower *fw)
{
	struct ffile	*ff;

	for (ff = fw->files; ff != NULL; ff = ff->next) {
		if (!ff->restart || ff->tf->is_stdin)
			continue;
		reader_new(ff);
		tail_seek(ff->tf, ff->offset);
	}
	fw->restart = 0;
}

/* ---- findings, inside the commit -------------------------------------- */

static uint64_t
pair_key(const struct store_batch_pattern *bp)
{
	const char	*f[5] = { bp->project, bp->location, bp->service,
	    bp->revision, bp->pattern };
	uint64_t	 h = 0;
	int		 i;

	for (i = 0; i < 5; i++)
		h = hash64(f[i], strlen(f[i]) + 1, h);	/* with the NUL */
	return (h);
}

static int
collect_pair(const struct store_batch_pattern *bp, void *arg)
{
	struct follower	*fw = arg;
	uint64_t	 key;

	/* revisions with no name take no part in the ordering */
	if (bp->service[0] == '\0' || bp->revision[0] == '\0')
		return (0);
	key = pair_key(bp);
	if (hmap_get(fw->seen, &key) != NULL)
		return (0);
	if (fw->ncand == fw->scand) {
		fw->scand = fw->scand == 0 ? 16 : fw->scand * 2;
		fw->cand = xreallocarray(fw->cand, fw->scand,
		    sizeof(*fw->cand));
	}
	fw->cand[fw->ncand].bp = *bp;
	fw->cand[fw->ncand].key = key;
	fw->ncand++;
	return (0);
}

static int
cand_cmp(const void *a, const void *b)
{
	const struct candidate	*x = a, *y = b;
	int			 c;

	if ((c = strcmp(x->bp.project, y->bp.project)) != 0)
		return (c);
	if ((c = strcmp(x->bp.location, y->bp.location)) != 0)
		return (c);
	return (strcmp(x->bp.service, y->bp.service));
}

/* The first line of s, at most max bytes. */
static char *
first_line(const char *s, size_t max)
{
	size_t	n = strcspn(s, "\r\n");
	char	*out;

	if (n > max)
		n = max;
	xasprintf(&out, "%.*s%s", (int)n, s, s[n] != '\0' ? "..." : "");
	return (out);
}

/* Record and queue the log line of a finding; c's revision is v[r]. */
static int
follow_finding(struct follower *fw, const struct candidate *c,
    const struct store_revision *r, enum cmp_class class, char **cause)
{
	struct store_finding	 f;
	char			*sample, *line;
	int			 is_template, written, acked, n;

	is_template = strncmp(c->bp.pattern, "tpl-", 4) == 0;
	memset(&f, 0, sizeof(f));
	f.level = is_template ? "error" :
	    counter_level(fw->counter, c->bp.pattern);
	if (pattern_level_parse(f.level) < fw->min_level)
		return (0);
	f.found_ns = time_now_ns();
	f.project = c->bp.project;
	f.location = c->bp.location;
	f.service = c->bp.service;
	f.revision = c->bp.revision;
	f.pattern = c->bp.pattern;
	f.kind = is_template ? "template" : "catalogue";
	f.class = cmp_class_name(class);
	f.sample = c->bp.sample;
	f.insert_id = c->bp.insert_id;
	f.entry_ns = c->bp.first_ns;
	if (store_pattern_total(fw->st, r->id, c->bp.pattern, &f.count,
	    cause) == -1)
		return (-1);
	if ((written = store_finding(fw->st, &f, cause)) == -1)
		return (-1);
	if (written == 0)
		return (0);	/* found before, by an earlier process */
	if ((acked = store_acked(fw->st, f.project, f.location, f.service,
	    f.revision, f.pattern, NULL, cause)) == -1)
		return (-1);
	/* queued in this transaction: a crash cannot lose nor repeat it */
	if (fw->targets != NULL && !acked) {
		if ((n = store_alerts_queue(fw->st, &f, fw->targets->names,
		    fw->targets->n, &fw->alerts_dropped, cause)) == -1)
			return (-1);
		fw->alerts_queued += n;
	}
	sample = first_line(f.sample, FOLLOW_SAMPLE_SHOWN);
	xasprintf(&line, "finding: %s %s %s in %s revision %s (project %s, "
	    "location %s)%s, %llu so far: %s", f.class, f.kind, f.pattern,
	    f.service, f.revision, f.project, f.location,
	    acked ? " (acknowledged)" : "", (unsigned long long)f.count,
	    sample);
	free(sample);
	fw->lines = xreallocarray(fw->lines, fw->nlines + 1,
	    sizeof(*fw->lines));
	fw->lines[fw->nlines++] = line;
	return (0);
}

/* Classify the candidates of one service, c[0..n). */
static int
follow_classify(struct follower *fw, struct candidate *c, size_t n,
    char **cause)
{
	struct store_revision	*v = NULL;
	enum cmp_class		 class;
	size_t			 nv = 0, i, k, first;
	int			 rv = -1;

	if (store_revisions(fw->st, c[0].bp.service, &v, &nv, cause) == -1)
		return (-1);
	for (first = 0; first < nv; first++)
		if (strcmp(v[first].project, c[0].bp.project) == 0 &&
		    strcmp(v[first].location, c[0].bp.location) == 0)
			break;
	for (i = 0; i < n; i++) {
		for (k = first; k < nv; k++)
			if (strcmp(v[k].project, c[i].bp.project) == 0 &&
			    strcmp(v[k].location, c[i].bp.location) == 0 &&
			    strcmp(v[k].revision, c[i].bp.revision) == 0)
				break;
		if (k == nv)
			continue;	/* cannot be: the batch wrote it */
		if (cmd_classify(fw->st, v, first, &v[k], c[i].bp.pattern,
		    &class, cause) == -1)
			goto out;
		if ((class == CLASS_NEW || class == CLASS_RETURNING) &&
		    follow_finding(fw, &c[i], &v[k], class, cause) == -1)
			goto out;
		fw->looked = xreallocarray(fw->looked, fw->nlooked + 1,
		    sizeof(*fw->looked));
		fw->looked[fw->nlooked++] = c[i].key;
	}
	rv = 0;
out:
	store_revisions_free(v, nv);
	return (rv);
}

/* The commit hook: findings of the batch, in its transaction. */
static int
follow_hook(struct store *st, void *arg, char **cause)
{
	struct follower	*fw = arg;
	size_t		 i, j;

	fw->ncand = 0;
	if (store_batch_patterns(st, collect_pair, fw) == -1)
		return (-1);
	if (fw->ncand == 0)
		return (0);
	qsort(fw->cand, fw->ncand, sizeof(*fw->cand), cand_cmp);
	for (i = 0; i < fw->ncand; i = j) {
		for (j = i + 1; j < fw->ncand &&
		    cand_cmp(&fw->cand[i], &fw->cand[j]) == 0; j++)
			;
		if (follow_classify(fw, &fw->cand[i], j - i, cause) == -1)
			return (-1);
	}
	return (0);
}

/* The findings of a commit: kept when it committed, else dropped. */
static void
findings_done(struct follower *fw, int committed)
{
	size_t	i;

	for (i = 0; i < fw->nlooked; i++)
		if (committed)
			(void)hmap_put(fw->seen, &fw->looked[i], NULL);
	for (i = 0; i < fw->nlines; i++) {
		if (committed)
			log_warnx("%s", fw->lines[i]);
		free(fw->lines[i]);
	}
	fw->nlooked = fw->nlines = 0;
	if (committed && fw->alerts_queued > 0)
		alerter_kick(fw->alerter);
	if (committed && fw->alerts_dropped > 0)
		log_warnx("alerts: the queue is full (%d pending): %llu oldest "
		    "dropped", STORE_ALERTS_MAX,
		    (unsigned long long)fw->alerts_dropped);
	fw->alerts_queued = 0;
	fw->alerts_dropped = 0;
}

/* ---- commits ---------------------------------------------------------- */

static void
stage_positions(struct follower *fw)
{
	struct store_source	 src;
	struct ffile		*ff;

	for (ff = fw->files; ff != NULL; ff = ff->next) {
		if (!ff->dirty || ff->tf->is_stdin)
			continue;
		if (ff->r != NULL && ff->offset > 0)
			ff->text = entry_reader_framing(ff->r) ==
			    FRAMING_TEXT || (ff->text &&
			    entry_reader_framing(ff->r) == FRAMING_UNKNOWN);
		memset(&src, 0, sizeof(src));
		src.path = (char *)(uintptr_t)ff->tf->path;
		src.device = ff->tf->device;
		src.inode = ff->tf->inode;
		src.fingerprint = ff->tf->fingerprint;
		src.fingerprint_len = ff->tf->fingerprint_len;
		src.offset = ff->offset;
		src.in_array = ff->in_array;
		src.line = ff->line;
		src.text = ff->text;
		store_source(fw->st, &src, 0);
	}
}

/* A failed commit discarded the batch: read it again. */
static void
follow_rewind(struct follower *fw)
{
	struct ffile	*ff;

	for (ff = fw->files; ff != NULL; ff = ff->next) {
		if (ff->tf->is_stdin) {
			if (ff->uncommitted > 0)
				log_warnx("(stdin): %llu entries lost with the "
				    "batch (stdin cannot be read again)",
				    (unsigned long long)ff->uncommitted);
			ff->uncommitted = 0;
			continue;
		}
		ff->offset = ff->base_offset;
		ff->in_array = ff->base_in_array;
		ff->line = ff->base_line;
		ff->text = ff->base_text;
		ff->dirty = fw->dirty = 1;
		if (ff->r != NULL) {
			reader_new(ff);
			tail_seek(ff->tf, ff->offset);
		}
	}
}

static int
follow_commit(struct follower *fw)
{
	struct ffile	*ff;
	char		*cause = NULL;
	int64_t		 now = mono_ns();

	fw->last_commit_ns = now;
	stage_positions(fw);
	fw->prog.entries = fw->cs.entries;
	fw->prog.counted = fw->cs.counted;
	fw->prog.duplicates = fw->cs.duplicates;
	fw->prog.too_old = fw->cs.too_old;
	fw->prog.bad = fw->bad_done;
	for (ff = fw->files; ff != NULL; ff = ff->next)
		if (ff->r != NULL)
			fw->prog.bad += cmd_bad_count(
			    entry_reader_stats(ff->r));
	if (store_commit(fw->st, &fw->prog, &cause) == -1) {
		findings_done(fw, 0);
		if (!fw->failing)
			log_warnx("%s: reading the uncommitted entries again, "
			    "retrying", cause);
		free(cause);
		fw->failing = 1;
		fw->backoff_ns = fw->backoff_ns == 0 ? fw->flush_ns :
		    fw->backoff_ns * 2;
		if (fw->backoff_ns > FOLLOW_RETRY_MAX)
			fw->backoff_ns = FOLLOW_RETRY_MAX;
		fw->retry_ns = now + fw->backoff_ns;
		fw->cs = fw->cs_committed;	/* they are read again */
		follow_rewind(fw);
		return (-1);
	}
	fw->cs_committed = fw->cs;
	findings_done(fw, 1);
	if (fw->failing)
		log_warnx("the database takes commits again");
	fw->failing = 0;
	fw->backoff_ns = 0;
	fw->dirty = 0;
	for (ff = fw->files; ff != NULL; ff = ff->next) {
		ff->base_offset = ff->offset;
		ff->base_in_array = ff->in_array;
		ff->base_line = ff->line;
		ff->base_text = ff->text;
		ff->dirty = 0;
		ff->uncommitted = 0;
	}
	return (0);
}

static int
follow_due(struct follower *fw, int64_t now)
{
	if (!fw->dirty && store_pending(fw->st) == 0)
		return (0);
	if (fw->failing && now < fw->retry_ns)
		return (0);
	return (store_pending(fw->st) >= FOLLOW_BATCH ||
	    now - fw->last_commit_ns >= fw->flush_ns);
}

/* ---- signals ---------------------------------------------------------- */

static void
follow_reload(struct follower *fw)
{
	struct catalogue	*cat, *old = counter_catalogue(fw->counter);
	char			*cause = NULL, *was;

	log_warnx("SIGHUP: loading the catalogue again");
	if ((cat = cmd_catalogue(fw->pdirs, fw->npdirs)) == NULL) {
		log_warnx("catalogue not reloaded: keeping %s",
		    catalogue_version(old));
		return;
	}
	if (strcmp(catalogue_version(cat), catalogue_version(old)) == 0) {
		log_warnx("catalogue unchanged (%s)", catalogue_version(old));
		catalogue_free(cat);
		return;
	}
	/* counts are attributed to a catalogue per batch: commit first */
	if ((fw->dirty || store_pending(fw->st) > 0) &&
	    follow_commit(fw) == -1) {
		log_warnx("catalogue not reloaded (the database failed): "
		    "keeping %s", catalogue_version(old));
		catalogue_free(cat);
		return;
	}
	was = xstrdup(catalogue_version(old));
	if (counter_set_catalogue(fw->counter, cat, &cause) == -1) {
		log_warnx("catalogue not reloaded: %s: keeping %s", cause, was);
		free(cause);
	} else
		log_warnx("catalogue reloaded: %s, %zu patterns (was %s)",
		    catalogue_version(counter_catalogue(fw->counter)),
		    catalogue_size(counter_catalogue(fw->counter)), was);
	free(was);
}

struct lag {
	char	*text;
	size_t	 len;
	size_t	 shown;
	size_t	 more;
	uint64_t total;
};

static void
lag_of(struct tail_file *tf, void *arg)
{
	struct lag	*l = arg;
	uint64_t	 behind;
	char		*add;

	if (tf->is_stdin)
		return;
	behind = tf->size > tf->pos ? tf->size - tf->pos : 0;
	l->total += behind;
	if (behind == 0)
		return;
	if (l->shown++ >= FOLLOW_LAG_SHOWN) {
		l->more++;
		return;
	}
	xasprintf(&add, "%s%s%s %llu", l->text, l->len > 0 ? ", " : "",
	    tf->name, (unsigned long long)behind);
	free(l->text);
	l->text = add;
	l->len = strlen(add);
}

static void
follow_stats(struct follower *fw)
{
	struct lag	 l;
	struct ffile	*ff;
	int64_t		 now = mono_ns();
	double		 sec = (double)(now - fw->stats_ns) / NS_PER_SEC;
	uint64_t	 bad = fw->bad_done;

	for (ff = fw->files; ff != NULL; ff = ff->next)
		if (ff->r != NULL)
			bad += cmd_bad_count(entry_reader_stats(ff->r));
	memset(&l, 0, sizeof(l));
	l.text = xstrdup("");
	if (fw->tail != NULL)
		tail_each(fw->tail, lag_of, &l);
	log_warnx("stats: %llu entries (%.0f/s), %llu bytes (%.0f/s), "
	    "%llu counted, %llu duplicates, %llu too old, %llu bad, "
	    "%zu pending; lag %llu bytes%s%s%s%s",
	    (unsigned long long)fw->cs.entries,
	    sec > 0 ? (double)(fw->cs.entries - fw->stats_entries) / sec : 0,
	    (unsigned long long)fw->prog.bytes,
	    sec > 0 ? (double)(fw->prog.bytes - fw->stats_bytes) / sec : 0,
	    (unsigned long long)fw->cs.counted,
	    (unsigned long long)fw->cs.duplicates,
	    (unsigned long long)fw->cs.too_old, (unsigned long long)bad,
	    store_pending(fw->st), (unsigned long long)l.total,
	    l.len > 0 ? ": " : "", l.text, l.more > 0 ? ", ..." : "",
	    l.more > 0 ? " (more)" : "");
	free(l.text);
	fw->stats_ns = now;
	fw->stats_entries = fw->cs.entries;
	fw->stats_bytes = fw->prog.bytes;
}

/* ---- startup ---------------------------------------------------------- */

/* Every regular file under dir, as (device, inode) keys into set. */
static void
inodes_under(const char *dir, struct hmap *set, int depth)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		*p;
	uint64_t	 key[2];

	if (depth > FOLLOW_DEPTH_MAX || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (S_ISDIR(st.st_mode)) {
			xasprintf(&p, "%s/%s", dir, de->d_name);
			inodes_under(p, set, depth + 1);
			free(p);
		} else if (S_ISREG(st.st_mode)) {
			key[0] = (uint64_t)st.st_dev;
			key[1] = (uint64_t)st.st_ino;
			(void)hmap_put(set, key, NULL);
		}
	}
	closedir(d);
}

/*
 * The rows of files under the followed directory dir that were deleted
 * while we were down: forgotten, or they would stay for ever.  A file
 * renamed meanwhile keeps its row, which its inode finds.  Nothing is
 * forgotten when dir is not there (a mount not up yet).
 */
static int
follow_prune_dir(struct follower *fw, const char *dir)
{
	struct store_source	*v;
	struct hmap		*set = NULL;
	struct stat		 st;
	size_t			 n, i, gone = 0;
	char			*cause = NULL;
	uint64_t		 key[2];

	if (store_sources_at(fw->st, dir, 1, &v, &n, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		if (lstat(v[i].path, &st) == 0 &&
		    (uint64_t)st.st_dev == v[i].device &&
		    (uint64_t)st.st_ino == v[i].inode)
			continue;	/* where it was */
		if (set == NULL) {
			set = hmap_new(sizeof(key), 0);
			inodes_under(dir, set, 0);
		}
		key[0] = v[i].device;
		key[1] = v[i].inode;
		if (hmap_get(set, key) != NULL)
			continue;	/* renamed within dir */
		store_source(fw->st, &v[i], 1);
		fw->dirty = 1;
		gone++;
	}
	if (gone > 0)
		log_info("%s: forgetting %zu file%s deleted while stopped",
		    dir, gone, gone == 1 ? "" : "s");
	hmap_free(set);
	store_sources_free(v, n);
	return (0);
}

/*
 * A followed file rotated while we were down: its row names the path it
 * was followed at.  Find it beside the path and drain it; forget rows of
 * files that are gone.  For a directory, forget the rows of files deleted
 * from it.
 */
static int
follow_recover(struct follower *fw, const char *path)
{
	struct store_source	*v;
	struct stat		 st;
	size_t			 n, i;
	char			*cause = NULL;
	int			 here;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return (follow_prune_dir(fw, path));
	if (store_sources_at(fw->st, path, 0, &v, &n, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return (-1);
	}
	here = stat(path, &st) == 0;
	for (i = 0; i < n; i++) {
		if (here && (uint64_t)st.st_dev == v[i].device &&
		    (uint64_t)st.st_ino == v[i].inode)
			continue;	/* the file at the path: not rotated */
		if (tail_add_rotated(fw->tail, path, v[i].device,
		    v[i].inode))
			log_info("%s: rotated while stopped: reading the rest "
			    "of the old file", path);
		else {
			store_source(fw->st, &v[i], 1);
			fw->dirty = 1;
		}
	}
	store_sources_free(v, n);
	return (0);
}

static int
path_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/*
 * follow_recover() for each path the pattern matches now, and for each
 * path it matches that a row names (a file it matched rotated away or
 * deleted while we were down), the rows found under the directory the
 * pattern starts with.  A pattern without one (*.log) has only the
 * paths it matches now.
 */
static int
follow_recover_pattern(struct follower *fw, const char *pattern)
{
	struct store_source	*v = NULL;
	glob_t			 g;
	char			**paths, *dir = NULL, *cause = NULL;
	const char		*slash;
	size_t			 n = 0, npaths = 0, nglob, i;
	int			 rv = 0;

	memset(&g, 0, sizeof(g));
	/* on an error g may hold a partial list: globfree() frees it */
	nglob = glob(pattern, 0, NULL, &g) == 0 ? g.gl_pathc : 0;
	/* the directories before the first wildcard */
	slash = pattern + strcspn(pattern, "*?[\\");
	while (slash > pattern && *slash != '/')
		slash--;
	if (*slash == '/')
		dir = xstrndup(pattern, slash == pattern ? 1 :
		    (size_t)(slash - pattern));
	if (dir != NULL && store_sources_at(fw->st, strcmp(dir, "/") == 0 ?
	    "" : dir, 1, &v, &n, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		free(dir);
		globfree(&g);
		return (-1);
	}
	paths = xreallocarray(NULL, nglob + n + 1, sizeof(*paths));
	for (i = 0; i < nglob; i++)
		paths[npaths++] = g.gl_pathv[i];
	for (i = 0; i < n; i++)
		if (fnmatch(pattern, v[i].path, FNM_PATHNAME | FNM_PERIOD) == 0)
			paths[npaths++] = v[i].path;
	qsort(paths, npaths, sizeof(*paths), path_cmp);
	for (i = 0; rv == 0 && i < npaths; i++)
		if (i == 0 || strcmp(paths[i], paths[i - 1]) != 0)
			rv = follow_recover(fw, paths[i]);
	free(paths);
	store_sources_free(v, n);
	free(dir);
	globfree(&g);
	return (rv);
}

static int
follow_parse_duration(const char *opt, const char *arg, int64_t *ns)
{
	if (duration_parse(arg, ns) == -1 || *ns <= 0) {
		log_warnx("--%s: bad duration \"%s\" (e.g. 500ms, 1s, 5m)",
		    opt, arg);
		return (-1);
	}
	return (0);
}

static void
follow_free(struct follower *fw)
{
	size_t	i;

	while (fw->files != NULL)
		ffile_free(fw->files);
	tail_free(fw->tail);	/* after: its close callbacks find no state */
	alerter_free(fw->alerter);	/* stops its thread */
	alert_targets_free(fw->targets);
	counter_free(fw->counter);
	store_close(fw->st);
	hmap_free(fw->seen);
	free(fw->cand);
	free(fw->looked);
	for (i = 0; i < fw->nlines; i++)
		free(fw->lines[i]);
	free(fw->lines);
}

static void
detach_user(struct tail_file *tf, void *arg)
{
	(void)arg;
	tf->user = NULL;
}

/*
 * -D: go to the background.  The parent waits until the child says it is
 * running (one byte on a pipe) and exits 0, or 2 when the child failed
 * first (its reason is on stderr, which the child keeps).  Returns the
 * pipe's write end in the child, or -1 after a failure to fork.
 */
static int
follow_detach(void)
{
	int	 p[2], fd;
	pid_t	 pid;
	ssize_t	 n;
	char	 c;

	if (pipe(p) == -1) {
		log_warnx("-D: pipe: %s", strerror(errno));
		return (-1);
	}
	if ((pid = fork()) == -1) {
		log_warnx("-D: fork: %s", strerror(errno));
		return (-1);
	}
	if (pid > 0) {
		close(p[1]);
		c = 0;
		do
			n = read(p[0], &c, 1);
		while (n == -1 && errno == EINTR);
		_exit(n == 1 && c == '1' ? EXIT_OK : EXIT_ERROR);
	}
	close(p[0]);
	(void)setsid();
	if ((pid = fork()) == -1)
		_exit(EXIT_ERROR);
	if (pid > 0)
		_exit(EXIT_OK);	/* not a session leader: no terminal */
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return (p[1]);
}

/*
 * Write our pid to path, locked for as long as we run: a second daemon
 * with the same pidfile is refused.  Returns the descriptor, or -1.
 */
static int
pidfile_open(const char *path)
{
	char	 buf[32];
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		log_warnx("%s: %s", path, strerror(errno));
		return (-1);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		log_warnx("%s: locked: logaudit follow runs already%s%s%s",
		    path, buf[0] != '\0' ? " (pid " : "", buf,
		    buf[0] != '\0' ? ")" : "");
		close(fd);
		return (-1);
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || write(fd, buf, (size_t)n) != n) {
		log_warnx("%s: %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
	return (fd);
}

/* SIGHUP and SIGUSR1, between reads. */
static void
follow_signals(struct follower *fw)
{
	if (cmd_reload) {
		cmd_reload = 0;
		follow_reload(fw);
	}
	if (cmd_stats) {
		cmd_stats = 0;
		follow_stats(fw);
	}
}

/* The main loop: read, poll, commit, until a signal or stdin's end. */
static int
follow_run(struct follower *fw)
{
	int64_t	 now;
	size_t	 n;

	fw->last_commit_ns = fw->stats_ns = mono_ns();
	tail_poll(fw->tail, 1);
	while (!cmd_interrupted) {
		follow_signals(fw);
		tail_poll(fw->tail, 0);
		n = tail_read(fw->tail, FOLLOW_BUDGET);
		if (fw->restart)
			follow_restart(fw);
		now = mono_ns();
		if (follow_due(fw, now))
			(void)follow_commit(fw);
		if (!tail_active(fw->tail))
			break;
		if (n == 0)
			tail_wait(fw->tail, FOLLOW_TICK_MS);
	}
	if (fw->dirty || store_pending(fw->st) > 0) {
		fw->failing = 0;
		if (follow_commit(fw) == -1)
			return (-1);
	}
	return (0);
}

/* ---- --cloud: the Logging API instead of files ------------------------ */

#define FOLLOW_INTERVAL_DEFAULT	(60 * NS_PER_SEC)

/* --cloud's options: long only, numbered past every short option */
enum {
	FOLLOW_OPT_CLOUD = 256,
	FOLLOW_OPT_FILTER,
	FOLLOW_OPT_INTERVAL,
	FOLLOW_OPT_API_URL,
	FOLLOW_OPT_LAG,
	FOLLOW_OPT_OVERLAP,
	FOLLOW_OPT_TOKEN_FILE,
	FOLLOW_OPT_TOKEN_COMMAND,
	FOLLOW_OPT_CA_FILE,
	FOLLOW_OPT_WEBHOOKS
};

#define FOLLOW_CLOUD_OPTIONS						\
	{ "cloud", required_argument, NULL, FOLLOW_OPT_CLOUD },		\
	{ "filter", required_argument, NULL, FOLLOW_OPT_FILTER },	\
	{ "interval", required_argument, NULL, FOLLOW_OPT_INTERVAL },	\
	{ "api-url", required_argument, NULL, FOLLOW_OPT_API_URL },	\
	{ "lag", required_argument, NULL, FOLLOW_OPT_LAG },		\
	{ "overlap", required_argument, NULL, FOLLOW_OPT_OVERLAP },	\
	{ "token-file", required_argument, NULL, FOLLOW_OPT_TOKEN_FILE }, \
	{ "token-command", required_argument, NULL,			\
	    FOLLOW_OPT_TOKEN_COMMAND },					\
	{ "ca-file", required_argument, NULL, FOLLOW_OPT_CA_FILE }

struct follow_cloud {
	struct api_config	 cfg;		/* strings borrowed from argv */
	int64_t			 interval_ns;	/* between the starts of two
						   reads */
	const char		*interval;	/* as given, for the log */
	const char		*given;		/* an option of --cloud given,
						   for when --cloud is not */
};

static void
follow_cloud_init(struct follow_cloud *fc)
{
	memset(fc, 0, sizeof(*fc));
	fc->cfg.lag_ns = API_LAG_DEFAULT;
	fc->cfg.overlap_ns = API_OVERLAP_DEFAULT;
	fc->cfg.stop = &cmd_interrupted;
	fc->cfg.report_problem = cmd_report_problem;
	fc->interval_ns = FOLLOW_INTERVAL_DEFAULT;
	fc->interval = "60s";
}

/* Apply option ch of FOLLOW_CLOUD_OPTIONS; 0, or -1 (said why). */
static int
follow_cloud_option(struct follow_cloud *fc, int ch, const char *arg)
{
	int64_t	*ns;

	switch (ch) {
	case FOLLOW_OPT_CLOUD:
		if (*arg == '\0') {
			log_warnx("--cloud: name the Google Cloud project");
			return (-1);
		}
		fc->cfg.project = arg;
		return (0);
	case FOLLOW_OPT_FILTER:
		fc->cfg.filter = arg;
		fc->given = "--filter";
		return (0);
	case FOLLOW_OPT_INTERVAL:
		fc->given = "--interval";
		fc->interval = arg;
		return (follow_parse_duration("interval", arg,
		    &fc->interval_ns));
	case FOLLOW_OPT_API_URL:
		fc->cfg.api_url = arg;
		fc->given = "--api-url";
		return (0);
	case FOLLOW_OPT_TOKEN_FILE:
		fc->cfg.token_file = arg;
		fc->given = "--token-file";
		return (0);
	case FOLLOW_OPT_TOKEN_COMMAND:
		fc->cfg.token_command = arg;
		fc->given = "--token-command";
		return (0);
	case FOLLOW_OPT_CA_FILE:
		fc->cfg.ca_file = arg;	/* for webhooks too: no fc->given */
		return (0);
	}
	/* --lag and --overlap: 0 is a duration too */
	fc->given = ch == FOLLOW_OPT_LAG ? "--lag" : "--overlap";
	ns = ch == FOLLOW_OPT_LAG ? &fc->cfg.lag_ns : &fc->cfg.overlap_ns;
	if (duration_parse(arg, ns) == -1 || *ns < 0) {
		log_warnx("%s: bad duration \"%s\" (e.g. 2m, 10m)", fc->given,
		    arg);
		return (-1);
	}
	return (0);
}

/* --cloud takes no PATH, and its options need it; 0, or -1 (said why). */
static int
follow_cloud_args(const struct follow_cloud *fc, int argc)
{
	if (fc->cfg.project == NULL) {
		if (fc->given == NULL)
			return (0);
		log_warnx("follow: %s is an option of --cloud", fc->given);
		return (-1);
	}
	if (argc > 0) {
		log_warnx("follow: --cloud reads the Logging API, not files: "
		    "no PATH or - with it");
		return (-1);
	}
	return (0);
}

/* The counts of a read, where follow_stats() and the last line look. */
static void
follow_cloud_sync(struct follower *fw)
{
	fw->cs.entries = fw->prog.entries;
	fw->cs.counted = fw->prog.counted;
	fw->cs.duplicates = fw->prog.duplicates;
	fw->cs.too_old = fw->prog.too_old;
	fw->cs_committed = fw->cs;
	fw->bad_done = fw->prog.bad;
}


/*
 * After each page's commit, as after follow_commit(): the findings of the
 * hook are kept and logged, or dropped with the batch.  Between pages is
 * also where a long read sees SIGHUP and SIGUSR1.
 */
static void
follow_cloud_committed(int committed, void *arg)
{
	struct follower	*fw = arg;

	findings_done(fw, committed);
	follow_cloud_sync(fw);
	follow_signals(fw);
}

/*
 * The main loop of --cloud: read a window every interval, sleeping in
 * slices in between so that signals are seen within 100 ms.  A read that
 * fails is made again at the next interval; one the API refuses ends the
 * daemon only on the first read, where it means the options are wrong.
 * -D's parent exits once the first read is done.  Returns an exit status.
 */
static int
follow_cloud_run(struct follower *fw, struct follow_cloud *fc, const char *db,
    int *ready)
{
	struct api_source	*src;
	struct timespec		 ts;
	enum api_status		 status;
	const char		*name;
	char			*cause = NULL, *source;
	int64_t			 now, next;
	int			 first = 1, failing = 0, rv = EXIT_OK;

	srandom((unsigned)(time_now_ns() ^ getpid()));
	fc->cfg.on_commit = follow_cloud_committed;
	fc->cfg.commit_arg = fw;
	src = api_source_new(&fc->cfg, fw->st, fw->counter);
	name = api_source_name(src);
	if (api_source_auth(src, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		api_source_free(src);
		return (EXIT_ERROR);
	}
	xasprintf(&source, "follow %s", name);
	if (store_run_begin(fw->st, source, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		free(source);
		api_source_free(src);
		return (EXIT_ERROR);
	}
	free(source);
	if (!fw->quiet)
		log_warnx("following %s from the Logging API every %s into %s, "
		    "catalogue %s (pid %ld)", name, fc->interval, db,
		    catalogue_version(counter_catalogue(fw->counter)),
		    (long)getpid());
	fw->stats_ns = next = mono_ns();
	while (!cmd_interrupted) {
		follow_signals(fw);
		now = mono_ns();
		if (now < next) {
			ts.tv_sec = 0;
			ts.tv_nsec = next - now < FOLLOW_TICK_MS * 1000000LL ?
			    next - now : FOLLOW_TICK_MS * 1000000LL;
			nanosleep(&ts, NULL);
			continue;
		}
		next = now + fc->interval_ns;
		status = api_source_read(src, &fw->prog);
		follow_cloud_sync(fw);
		if (cmd_interrupted)
			break;
		if (first && status == API_REFUSED) {
			log_warnx("%s: the first read was refused: stopping",
			    name);
			rv = EXIT_ERROR;
			break;
		}
		first = 0;
		if (*ready != -1) {
			(void)write(*ready, "1", 1);	/* the parent exits 0 */
			close(*ready);
			*ready = -1;
		}
		if (status != API_OK && !failing)
			log_warnx("%s: reading again every %s until a read "
			    "succeeds", name, fc->interval);
		else if (status == API_OK && failing)
			log_warnx("%s: a read succeeded again", name);
		failing = status != API_OK;
	}
	api_source_free(src);
	if (store_run_end(fw->st, &fw->prog, rv == EXIT_OK ? "ok" : "error",
	    NULL, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		rv = EXIT_ERROR;
	}
	if (!fw->quiet)
		log_warnx("stopped: %llu entries, %llu counted, %llu "
		    "duplicates, %llu too old, %llu bytes",
		    (unsigned long long)fw->cs.entries,
		    (unsigned long long)fw->cs.counted,
		    (unsigned long long)fw->cs.duplicates,
		    (unsigned long long)fw->cs.too_old,
		    (unsigned long long)fw->prog.bytes);
	return (rv);
}

/*
 * Deliver alerts from a thread per target: what earlier runs left queued
 * at once, then each commit's.  0, or -1 (said why).
 */
static int
follow_alerts_start(struct follower *fw, const char *db, const char *ca_file)
{
	char	*cause = NULL;

	if ((fw->alerter = alerter_new(db, fw->targets, ca_file,
	    &cause)) == NULL || alerter_start(fw->alerter, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		return (-1);
	}
	if (!fw->quiet)
		log_warnx("alerting %zu webhook target%s", fw->targets->n,
		    fw->targets->n == 1 ? "" : "s");
	return (0);
}

int
cmd_follow(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		CMD_INPUT_OPTIONS,
		{ "poll", required_argument, NULL, 'P' },
		{ "no-inotify", no_argument, NULL, 'n' },
		{ "flush", required_argument, NULL, 'F' },
		{ "idle", required_argument, NULL, 'I' },
		{ "dedup-window", required_argument, NULL, 'w' },
		{ "templates-min-severity", required_argument, NULL, 'm' },
		{ "no-templates", no_argument, NULL, 'N' },
		{ "min-level", required_argument, NULL, 'l' },
		{ "check", no_argument, NULL, 'C' },
		{ "pidfile", required_argument, NULL, 'i' },
		FOLLOW_CLOUD_OPTIONS,
		{ "webhooks", required_argument, NULL, FOLLOW_OPT_WEBHOOKS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct tail_config	 tc;
	struct cmd_input_opts	 io;
	struct follower		 fw;
	struct follow_cloud	 cloud;
	struct catalogue	*cat;
	const char		*db = NULL, *pidfile = NULL, *webhooks = NULL;
	char			*cause = NULL, *source;
	int64_t			 window = STORE_DEDUP_WINDOW_DEFAULT;
	int64_t			 poll_ns = FOLLOW_POLL_DEFAULT;
	int64_t			 idle_ns = FOLLOW_IDLE_DEFAULT;
	int			 ch, i, check = 0, templates = 1, rv = EXIT_OK;
	int			 tpl_min_severity = 400;	/* WARNING */
	int			 detach = 0, ready = -1, pidfd = -1;
	int			 no_inotify = 0;
	struct stat		 st;

	memset(&io, 0, sizeof(io));
	memset(&fw, 0, sizeof(fw));
	fw.flush_ns = FOLLOW_FLUSH_DEFAULT;
	fw.min_level = 1;
	follow_cloud_init(&cloud);
	while ((ch = getopt_long(argc, argv, "Dqh", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			db = optarg;
			break;
		case 'D':
			detach = 1;
			break;
		case 'i':
			pidfile = optarg;
			break;
		case 'P':
			if (follow_parse_duration("poll", optarg,
			    &poll_ns) == -1)
				goto usage;
			break;
		case 'n':
			no_inotify = 1;
			break;
		case 'F':
			if (follow_parse_duration("flush", optarg,
			    &fw.flush_ns) == -1)
				goto usage;
			break;
		case 'I':
			if (follow_parse_duration("idle", optarg,
			    &idle_ns) == -1)
				goto usage;
			break;
		case 'w':
			if (follow_parse_duration("dedup-window", optarg,
			    &window) == -1)
				goto usage;
			break;
		case 'm':
			if ((tpl_min_severity = severity_parse(optarg,
			    strlen(optarg))) < 0) {
				log_warnx("--templates-min-severity: unknown "
				    "severity \"%s\"", optarg);
				goto usage;
			}
			break;
		case 'N':
			templates = 0;
			break;
		case 'l':
			if ((fw.min_level = pattern_level_parse(optarg)) == -1) {
				log_warnx("--min-level: info, warning, error "
				    "or critical, not \"%s\"", optarg);
				goto usage;
			}
			break;
		case 'C':
			check = 1;
			break;
		case FOLLOW_OPT_WEBHOOKS:
			webhooks = optarg;
			break;
		case FOLLOW_OPT_CLOUD:
		case FOLLOW_OPT_FILTER:
		case FOLLOW_OPT_INTERVAL:
		case FOLLOW_OPT_API_URL:
		case FOLLOW_OPT_LAG:
		case FOLLOW_OPT_OVERLAP:
		case FOLLOW_OPT_TOKEN_FILE:
		case FOLLOW_OPT_TOKEN_COMMAND:
		case FOLLOW_OPT_CA_FILE:
			if (follow_cloud_option(&cloud, ch, optarg) == -1)
				goto usage;
			break;
		case 'q':
			fw.quiet = 1;
			break;
		case 'h':
			follow_usage(stdout);
			cmd_input_opts_clear(&io);
			return (EXIT_OK);
		default:
			if (cmd_input_option(&io, ch, optarg))
				break;
			follow_usage(stderr);
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (follow_cloud_args(&cloud, argc) == -1)
		goto usage;
	if (argc == 0 && cloud.cfg.project == NULL) {
		log_warnx("follow: name at least one file, directory or -");
		follow_usage(stderr);
		goto usage;
	}
	for (i = 0, ch = 0; i < argc; i++)
		ch += strcmp(argv[i], "-") == 0;
	if (ch > 1) {
		log_warnx("follow: - (stdin) given twice");
		goto usage;
	}
	if (ch > 0 && detach) {
		log_warnx("follow: -D leaves stdin behind: no - with it");
		goto usage;
	}
	fw.cfg = io.cfg;
	fw.pdirs = io.pdirs;
	fw.npdirs = io.npdirs;
	if (alert_targets_load(webhooks, &fw.targets, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		cmd_input_opts_clear(&io);
		return (EXIT_ERROR);
	}
	if ((cat = cmd_catalogue(fw.pdirs, fw.npdirs)) == NULL) {
		alert_targets_free(fw.targets);
		cmd_input_opts_clear(&io);
		return (EXIT_ERROR);
	}
	if (check) {
		for (i = 0; i < argc; i++) {
			glob_t	g;

			if (strcmp(argv[i], "-") == 0)
				continue;
			if (!tail_is_pattern(argv[i])) {
				if (stat(argv[i], &st) == -1)
					log_warnx("%s: %s (follow waits for "
					    "it)", argv[i], strerror(errno));
				continue;
			}
			memset(&g, 0, sizeof(g));
			if (glob(argv[i], 0, NULL, &g) != 0)
				log_warnx("%s: no match (follow waits for "
				    "one)", argv[i]);
			globfree(&g);
		}
		printf("options ok; catalogue %s, %zu patterns; %zu webhook "
		    "target%s\n", catalogue_version(cat), catalogue_size(cat),
		    fw.targets != NULL ? fw.targets->n : 0,
		    fw.targets != NULL && fw.targets->n == 1 ? "" : "s");
		catalogue_free(cat);
		alert_targets_free(fw.targets);
		cmd_input_opts_clear(&io);
		return (EXIT_OK);
	}
	db = cmd_db_path(db);
	if (detach) {
		/* refuse a bad database here; no connection crosses fork() */
		if ((fw.st = store_open(db, &cause)) != NULL) {
			store_close(fw.st);
			fw.st = NULL;
		}
		if (cause != NULL || (ready = follow_detach()) == -1) {
			if (cause != NULL)
				log_warnx("%s", cause);
			free(cause);
			catalogue_free(cat);
			alert_targets_free(fw.targets);
			cmd_input_opts_clear(&io);
			return (EXIT_ERROR);
		}
	}
	if (pidfile != NULL && (pidfd = pidfile_open(pidfile)) == -1) {
		catalogue_free(cat);
		alert_targets_free(fw.targets);
		cmd_input_opts_clear(&io);
		return (EXIT_ERROR);
	}
	if ((fw.st = store_open(db, &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		catalogue_free(cat);
		rv = EXIT_ERROR;
		goto out;
	}
	store_set_dedup_window(fw.st, window);
	if ((fw.counter = counter_new(fw.st, cat, templates, tpl_min_severity,
	    &cause)) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		rv = EXIT_ERROR;
		goto out;
	}
	fw.seen = hmap_new(sizeof(uint64_t), 0);
	store_set_commit_hook(fw.st, follow_hook, &fw);
	if (fw.targets != NULL || cloud.cfg.project != NULL)
		http_init();	/* before the alert thread starts */
	if (fw.targets != NULL && follow_alerts_start(&fw, db,
	    cloud.cfg.ca_file) == -1) {
		rv = EXIT_ERROR;
		goto out;
	}
	if (cloud.cfg.project != NULL) {
		rv = follow_cloud_run(&fw, &cloud, db, &ready);
		goto out;
	}
	memset(&tc, 0, sizeof(tc));
	tc.poll_ns = poll_ns;
	tc.no_inotify = no_inotify;
	tc.idle_ns = idle_ns;
	tc.cb.open = follow_open;
	tc.cb.data = follow_data;
	tc.cb.close = follow_close;
	tc.cb.arg = &fw;
	fw.tail = tail_new(&tc);
	/* a followed folder may hold the database: never read it */
	tail_exclude(fw.tail, db);
	if (pidfile != NULL)
		tail_exclude(fw.tail, pidfile);
	source = xstrdup("follow");
	for (i = 0; i < argc; i++) {
		char	*s;

		xasprintf(&s, "%s %s", source, argv[i]);
		free(source);
		source = s;
		if (strcmp(argv[i], "-") != 0 && (tail_is_pattern(argv[i]) ?
		    follow_recover_pattern(&fw, argv[i]) :
		    follow_recover(&fw, argv[i])) == -1) {
			free(source);
			rv = EXIT_ERROR;
			goto out;
		}
		tail_add(fw.tail, argv[i]);
	}
	if (store_run_begin(fw.st, source, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		free(source);
		rv = EXIT_ERROR;
		goto out;
	}
	free(source);
	if (!fw.quiet) {
		char	how[48];

		if (tail_uses_inotify(fw.tail))
			snprintf(how, sizeof(how), "inotify");
		else if (poll_ns % NS_PER_SEC == 0)
			snprintf(how, sizeof(how), "polling every %llds",
			    (long long)(poll_ns / NS_PER_SEC));
		else
			snprintf(how, sizeof(how), "polling every %lldms",
			    (long long)(poll_ns / 1000000));
		log_warnx("following %d path%s (%s) into %s, catalogue %s "
		    "(pid %ld)", argc, argc == 1 ? "" : "s", how, db,
		    catalogue_version(counter_catalogue(fw.counter)),
		    (long)getpid());
	}
	if (ready != -1) {
		(void)write(ready, "1", 1);	/* the parent exits 0 */
		close(ready);
		ready = -1;
	}
	if (follow_run(&fw) == -1)
		rv = EXIT_ERROR;
	if (store_run_end(fw.st, &fw.prog, rv == EXIT_OK ? "ok" : "error",
	    NULL, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		rv = EXIT_ERROR;
	}
	if (!fw.quiet)
		log_warnx("stopped: %llu entries, %llu counted, %llu "
		    "duplicates, %llu too old, %llu bytes",
		    (unsigned long long)fw.cs.entries,
		    (unsigned long long)fw.cs.counted,
		    (unsigned long long)fw.cs.duplicates,
		    (unsigned long long)fw.cs.too_old,
		    (unsigned long long)fw.prog.bytes);
out:
	if (fw.tail != NULL)
		tail_each(fw.tail, detach_user, NULL);
	follow_free(&fw);
	cmd_input_opts_clear(&io);
	if (pidfd != -1) {
		(void)unlink(pidfile);
		close(pidfd);
	}
	if (ready != -1)
		close(ready);	/* failed before running: the parent exits 2 */
	return (rv);
usage:
	cmd_input_opts_clear(&io);
	return (EXIT_ERROR);
}
