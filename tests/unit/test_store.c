/*
 * Unit tests for store.c against real SQLite files in a temporary
 * directory.  Every number is read back through a second connection (or
 * store_revisions/store_top_patterns), never from the store's memory:
 * migrations, exact counts per revision, minute, kind and pattern,
 * exactly-once within a batch, across commits, across reopening and past
 * the in-memory key cap, the too-old bound and pruning, failed commits
 * (an injected error and a held lock) and their retries, two writers on
 * one file, and the ingest_runs record.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "entry.h"
#include "store.h"
#include "util.h"
#include "tap.h"

static char	 test_dir[] = "/tmp/test_store.XXXXXX";
static int64_t	 t0;		/* 2025-08-28T00:00:00Z, a minute boundary */

#define SEC(n)		((int64_t)(n) * NS_PER_SEC)
#define LOG_STDOUT_NAME	"projects/p/logs/run.googleapis.com%2Fstdout"

static struct str
S(const char *s)
{
	struct str	 v;

	v.p = s;
	v.len = s != NULL ? strlen(s) : 0;
	return (v);
}

/* An INFO stdout entry of service "api" in project "proj". */
static struct log_entry
entry(const char *rev, const char *insert_id, int64_t ts)
{
	struct log_entry	 e;

	memset(&e, 0, sizeof(e));
	e.insert_id = S(insert_id);
	e.log_name = S(LOG_STDOUT_NAME);
	e.kind = LOG_STDOUT;
	e.timestamp_ns = ts;
	e.receive_ns = TIME_NONE;
	e.severity = 200;
	e.project = S("proj");
	e.location = S("europe-west1");
	e.service = S("api");
	e.revision = S(rev);
	e.http_latency_ns = -1;
	e.message = S("hello");
	return (e);
}

static char *
db_path(const char *name)
{
	static char	 buf[4][256];
	static int	 i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", test_dir, name);
	return (buf[i]);
}

/* The first column of the first row of a query, on its own connection. */
static long long
q_int(const char *db, const char *fmt, ...)
{
	sqlite3		*h;
	sqlite3_stmt	*s;
	long long	 v = -999999;
	va_list		 ap;
	char		*sql;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		printf("# open %s: %s\n", db, sqlite3_errmsg(h));
	else if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK)
		printf("# %s: %s\n", sql, sqlite3_errmsg(h));
	else {
		if (sqlite3_step(s) == SQLITE_ROW)
			v = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 :
			    sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(h);
	sqlite3_free(sql);
	return (v);
}

static const char *
q_str(const char *db, const char *fmt, ...)
{
	static char	 buf[8192];
	sqlite3		*h;
	sqlite3_stmt	*s;
	va_list		 ap;
	char		*sql;

	snprintf(buf, sizeof(buf), "(error)");
	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			snprintf(buf, sizeof(buf), "%s",
			    sqlite3_column_type(s, 0) == SQLITE_NULL ?
			    "(null)" : (const char *)sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
	} else
		printf("# %s: %s\n", sql, sqlite3_errmsg(h));
	sqlite3_close(h);
	sqlite3_free(sql);
	return (buf);
}

/* Run sql on a read-write connection of its own. */
static int
q_exec(const char *db, const char *sql)
{
	sqlite3	*h;
	int	 rc;

	if (sqlite3_open(db, &h) != SQLITE_OK)
		return (-1);
	rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		printf("# %s: %s\n", sql, sqlite3_errmsg(h));
	sqlite3_close(h);
	return (rc == SQLITE_OK ? 0 : -1);
}

static struct store *
open_ok(const char *path)
{
	struct store	*st;
	char		*cause = NULL;

	st = store_open(path, &cause);
	if (st == NULL) {
		printf("Bail out! store_open %s: %s\n", path, cause);
		exit(1);
	}
	return (st);
}

static int
commit_ok(struct store *st)
{
	char	*cause = NULL;

	if (store_commit(st, NULL, &cause) == -1) {
		printf("# commit: %s\n", cause);
		free(cause);
		return (0);
	}
	return (1);
}

static enum store_verdict
add(struct store *st, const struct log_entry *e, const char *p1,
    const char *p2)
{
	const char	*ids[2];
	char		*cause = NULL;
	size_t		 n = 0;
	enum store_verdict v;

	if (p1 != NULL)
		ids[n++] = p1;
	if (p2 != NULL)
		ids[n++] = p2;
	v = store_add(st, e, ids, n, &cause);
	if (v == STORE_ERROR) {
		printf("# store_add: %s\n", cause);
		free(cause);
	}
	return (v);
}

static long long
rev_col(const char *db, const char *col, const char *rev)
{
	return (q_int(db, "SELECT %s FROM revisions WHERE revision = %Q",
	    col, rev));
}

static long long
exposure_col(const char *db, const char *col, const char *rev, int minute)
{
	return (q_int(db, "SELECT %s FROM exposure WHERE revision_id = "
	    "(SELECT id FROM revisions WHERE revision = %Q) AND minute = %lld",
	    col, rev, (long long)(t0 / SEC(60)) + minute));
}

static long long
count_at(const char *db, const char *rev, const char *pattern, int minute)
{
	return (q_int(db, "SELECT coalesce(sum(c.count), 0) FROM counts c "
	    "JOIN revisions r ON r.id = c.revision_id WHERE r.revision = %Q "
	    "AND c.pattern = %Q AND c.minute = %lld", rev, pattern,
	    (long long)(t0 / SEC(60)) + minute));
}

static void
test_migrations(void)
{
	struct store	*st;
	struct log_entry e;
	char		*cause = NULL;
	const char	*db = db_path("m.db"), *bad = db_path("nope/x.db");
	const char	*junk = db_path("junk.db"), *newer = db_path("new.db");
	FILE		*f;
	int		 i;

	st = open_ok(db);
	is_int(q_int(db, "PRAGMA user_version"), 7,
	    "fresh file: user_version 7 (every migration)");
	is_str(q_str(db, "PRAGMA journal_mode"), "wal", "journal_mode WAL");
	is_int(q_int(db, "SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'view'"), 8, "eight views (those of 002 and 003 too)");
	e = entry("api-00001-abc", "m1", t0);
	is_int(add(st, &e, NULL, NULL), STORE_COUNTED, "entry counted");
	ok(commit_ok(st), "commit");
	store_close(st);

	st = open_ok(db);
	is_int(q_int(db, "PRAGMA user_version"), 7, "reopened: user_version 7");
	is_int(rev_col(db, "entries", "api-00001-abc"), 1,
	    "reopened: data kept");
	e = entry("api-00001-abc", "m2", t0);
	is_int(add(st, &e, NULL, NULL), STORE_COUNTED, "another entry");
	ok(commit_ok(st), "commit after reopening");
	is_int(rev_col(db, "entries", "api-00001-abc"), 2, "counts add up");
	store_close(st);

	st = store_open(bad, &cause);
	ok(st == NULL, "no such directory: NULL");
	ok(cause != NULL && strstr(cause, bad) != NULL,
	    "no such directory: cause names the path");
	printf("# %s\n", cause != NULL ? cause : "(no cause)");
	free(cause);
	cause = NULL;

	f = fopen(junk, "w");
	for (i = 0; i < 200; i++)
		fputs("this is not an SQLite database\n", f);
	fclose(f);
	st = store_open(junk, &cause);
	ok(st == NULL, "not a database: NULL");
	ok(cause != NULL && strstr(cause, junk) != NULL &&
	    strstr(cause, "not a database") != NULL,
	    "not a database: cause names the path and the reason");
	printf("# %s\n", cause != NULL ? cause : "(no cause)");
	free(cause);
	cause = NULL;

	store_close(open_ok(newer));
	q_exec(newer, "PRAGMA user_version = 99");
	st = store_open(newer, &cause);
	ok(st == NULL && cause != NULL && strstr(cause, newer) != NULL &&
	    strstr(cause, "newer") != NULL, "newer schema refused");
	printf("# %s\n", cause != NULL ? cause : "(no cause)");
	free(cause);
}

/* Needs a user that permissions bind: root writes anyway. */
static void
test_read_only(void)
{
	const char	*db = db_path("ro.db");
	struct store	*st;
	char		*cause = NULL;

	if (geteuid() == 0) {
		ok(1, "read-only file refused # SKIP running as root");
		ok(1, "read-only file: cause # SKIP running as root");
		return;
	}
	store_close(open_ok(db));
	chmod(db, 0444);
	st = store_open(db, &cause);
	ok(st == NULL, "read-only file refused");
	ok(cause != NULL && strstr(cause, db) != NULL &&
	    strstr(cause, "cannot be written") != NULL,
	    "read-only file: cause names the path");
	printf("# %s\n", cause != NULL ? cause : "(no cause)");
	free(cause);
	store_close(st);
	chmod(db, 0644);
}

static void
test_counts(void)
{
	struct store		*st;
	struct store_revision	*r = NULL;
	struct store_pattern_count *pc = NULL;
	struct store_pattern	 cat[2] = {
		{ "p1", "Pattern one", "test", "error" },
		{ "p2", "Pattern two", "test", "warning" }
	};
	struct log_entry	 e;
	const char		*db = db_path("c.db");
	const char		*A = "api-00002-abc", *B = "api-00003-xyz";
	char			*cause = NULL;
	size_t			 n = 0;
	int			 v;

	st = open_ok(db);
	ok(store_set_catalogue(st, "v1", cat, 2, &cause) == 0,
	    "set catalogue");

	/* Batch 1: revision A over three minutes. */
	e = entry(A, "a1", t0 + SEC(1));
	e.message = S("boom one");
	v = add(st, &e, "p1", NULL);
	e = entry(A, "a2", t0 + SEC(2));
	e.kind = LOG_REQUESTS;
	e.severity = 0;
	v |= add(st, &e, NULL, NULL);
	e = entry(A, "a3", t0 + SEC(61));
	e.kind = LOG_STDERR;
	e.severity = 500;
	e.message = S("boom two");
	v |= add(st, &e, "p1", "p2");
	e = entry(A, "a4", t0 + SEC(125));
	e.kind = LOG_STDERR;
	e.severity = 550;	/* rounds down to ERROR */
	e.message = S("boom three");
	v |= add(st, &e, "p1", NULL);
	e = entry(A, "a5", t0 + SEC(126));
	e.kind = LOG_SYSTEM;
	e.severity = 400;
	e.commit_sha = S("abc123");
	v |= add(st, &e, NULL, NULL);
	is_int(v, STORE_COUNTED, "batch 1: all counted");
	is_int(store_pending(st), 5, "batch 1: 5 pending");
	ok(commit_ok(st), "batch 1 committed");
	is_int(store_pending(st), 0, "nothing pending after commit");

	/* Batch 2: revision B, and A again with an earlier entry. */
	e = entry(B, "b1", t0 + SEC(30));
	e.kind = LOG_REQUESTS;
	v = add(st, &e, NULL, NULL);
	e = entry(B, "b2", t0 + SEC(90));
	e.kind = LOG_AUDIT;
	e.severity = 300;
	e.message = S("b two");
	v |= add(st, &e, "p2", NULL);
	e = entry(B, "b3", t0 + SEC(150));
	e.kind = LOG_OTHER;
	e.severity = 800;
	e.build_id = S("build-7");
	v |= add(st, &e, NULL, NULL);
	e = entry(A, "a6", t0);
	e.message = S("boom zero");
	e.commit_sha = S("def456");	/* A has one already: kept */
	v |= add(st, &e, "p1", NULL);
	is_int(v, STORE_COUNTED, "batch 2: all counted");
	ok(commit_ok(st), "batch 2 committed");

	is_int(rev_col(db, "entries", A), 6, "A: entries");
	is_int(rev_col(db, "requests", A), 1, "A: requests");
	is_int(rev_col(db, "sev_default", A), 1, "A: DEFAULT");
	is_int(rev_col(db, "sev_info", A), 2, "A: INFO");
	is_int(rev_col(db, "sev_warning", A), 1, "A: WARNING");
	is_int(rev_col(db, "sev_error", A), 2, "A: ERROR");
	is_int(rev_col(db, "sev_debug + sev_notice + sev_critical + "
	    "sev_alert + sev_emergency", A), 0, "A: no other severity");
	is_int(rev_col(db, "first_ts", A), t0, "A: first_ts from batch 2");
	is_int(rev_col(db, "last_ts", A), t0 + SEC(126), "A: last_ts");
	is_int(rev_col(db, "sequence", A), 2, "A: sequence");
	is_str(q_str(db, "SELECT commit_sha FROM revisions WHERE "
	    "revision = %Q", A), "abc123", "A: first commit_sha kept");
	is_str(q_str(db, "SELECT build_id FROM revisions WHERE "
	    "revision = %Q", A), "(null)", "A: no build_id");
	is_str(q_str(db, "SELECT project || '/' || location || '/' || "
	    "service FROM revisions WHERE revision = %Q", A),
	    "proj/europe-west1/api", "A: attribution");
	is_int(rev_col(db, "entries", B), 3, "B: entries");
	is_int(rev_col(db, "requests", B), 1, "B: requests");
	is_int(rev_col(db, "sev_info", B), 1, "B: INFO");
	is_int(rev_col(db, "sev_notice", B), 1, "B: NOTICE");
	is_int(rev_col(db, "sev_emergency", B), 1, "B: EMERGENCY");
	is_int(rev_col(db, "sequence", B), 3, "B: sequence");
	is_str(q_str(db, "SELECT build_id FROM revisions WHERE "
	    "revision = %Q", B), "build-7", "B: build_id");

	is_int(exposure_col(db, "entries", A, 0), 3, "A minute 0: entries");
	is_int(exposure_col(db, "requests", A, 0), 1, "A minute 0: requests");
	is_int(exposure_col(db, "stdout", A, 0), 2, "A minute 0: stdout");
	is_int(exposure_col(db, "stderr + system + audit + other", A, 0), 0,
	    "A minute 0: nothing else");
	is_int(exposure_col(db, "entries", A, 1), 1, "A minute 1: entries");
	is_int(exposure_col(db, "stderr", A, 1), 1, "A minute 1: stderr");
	is_int(exposure_col(db, "entries", A, 2), 2, "A minute 2: entries");
	is_int(exposure_col(db, "stderr", A, 2), 1, "A minute 2: stderr");
	is_int(exposure_col(db, "system", A, 2), 1, "A minute 2: system");
	is_int(exposure_col(db, "requests", B, 0), 1, "B minute 0: requests");
	is_int(exposure_col(db, "audit", B, 1), 1, "B minute 1: audit");
	is_int(exposure_col(db, "other", B, 2), 1, "B minute 2: other");
	is_int(q_int(db, "SELECT count(*) FROM exposure"), 6,
	    "exposure: 6 rows");
	is_int(q_int(db, "SELECT sum(entries) FROM exposure"), 9,
	    "exposure: 9 entries in all");

	is_int(count_at(db, A, "p1", 0), 2, "A p1 minute 0");
	is_int(count_at(db, A, "p1", 1), 1, "A p1 minute 1");
	is_int(count_at(db, A, "p1", 2), 1, "A p1 minute 2");
	is_int(count_at(db, A, "p2", 1), 1, "A p2 minute 1");
	is_int(count_at(db, B, "p2", 1), 1, "B p2 minute 1");
	is_int(q_int(db, "SELECT count(*) FROM counts"), 5, "counts: 5 rows");

	is_int(q_int(db, "SELECT p.count FROM revision_patterns p JOIN "
	    "revisions r ON r.id = p.revision_id WHERE r.revision = %Q AND "
	    "p.pattern = 'p1'", A), 4, "A p1: total");
	is_int(q_int(db, "SELECT p.first_ts - %lld FROM revision_patterns p "
	    "JOIN revisions r ON r.id = p.revision_id WHERE r.revision = %Q "
	    "AND p.pattern = 'p1'", (long long)t0, A), 0, "A p1: first_ts");
	is_int(q_int(db, "SELECT p.last_ts - %lld FROM revision_patterns p "
	    "JOIN revisions r ON r.id = p.revision_id WHERE r.revision = %Q "
	    "AND p.pattern = 'p1'", (long long)t0, A), SEC(125),
	    "A p1: last_ts");
	is_str(q_str(db, "SELECT p.sample || ' / ' || p.sample_insert_id "
	    "FROM revision_patterns p JOIN revisions r ON "
	    "r.id = p.revision_id WHERE r.revision = %Q AND p.pattern = 'p1'",
	    A), "boom one / a1", "A p1: the first counted sample is kept");
	is_str(q_str(db, "SELECT p.sample FROM revision_patterns p JOIN "
	    "revisions r ON r.id = p.revision_id WHERE r.revision = %Q AND "
	    "p.pattern = 'p2'", A), "boom two", "A p2: sample");
	is_int(q_int(db, "SELECT count(*) FROM revision_patterns p WHERE "
	    "p.count != (SELECT sum(c.count) FROM counts c WHERE "
	    "c.revision_id = p.revision_id AND c.pattern = p.pattern)"), 0,
	    "revision_patterns totals equal the sums of counts");
	is_str(q_str(db, "SELECT group_concat(DISTINCT catalogue_version) "
	    "FROM revision_patterns"), "v1", "patterns attributed to v1");
	is_int(q_int(db, "SELECT pattern_count FROM catalogue_versions "
	    "WHERE version = 'v1'"), 2, "catalogue v1: 2 patterns");
	is_str(q_str(db, "SELECT title || ',' || level FROM "
	    "catalogue_patterns WHERE version = 'v1' AND pattern = 'p2'"),
	    "Pattern two,warning", "catalogue pattern recorded");
	is_int(q_int(db, "SELECT rc.entries FROM revision_catalogues rc "
	    "JOIN revisions r ON r.id = rc.revision_id WHERE r.revision = %Q "
	    "AND rc.version = 'v1'", A), 6, "A: 6 entries counted by v1");
	is_int(q_int(db, "SELECT value FROM meta WHERE key = 'newest_ts'"),
	    t0 + SEC(150), "meta newest_ts");

	is_int(q_int(db, "SELECT errors FROM revision_summary WHERE "
	    "revision = %Q", A), 2, "view revision_summary: errors");
	is_str(q_str(db, "SELECT first_seen FROM revision_summary WHERE "
	    "revision = %Q", A), "2025-08-28T00:00:00.000Z",
	    "view revision_summary: first_seen");
	is_str(q_str(db, "SELECT minute_utc || ' ' || count || '/' || "
	    "entries FROM pattern_counts WHERE revision = %Q AND "
	    "pattern = 'p1' ORDER BY minute LIMIT 1", A),
	    "2025-08-28T00:00Z 2/3", "view pattern_counts");
	is_str(q_str(db, "SELECT title FROM revision_pattern_summary WHERE "
	    "revision = %Q AND pattern = 'p1'", A), "Pattern one",
	    "view revision_pattern_summary");

	ok(store_revisions(st, NULL, &r, &n, &cause) == 0, "store_revisions");
	is_int(n, 2, "store_revisions: 2");
	if (n == 2) {
		is_str(r[0].revision, A, "store_revisions: A first");
		is_int(r[0].entries, 6, "store_revisions: A entries");
		is_int(r[0].requests, 1, "store_revisions: A requests");
		is_int(r[0].severity[5], 2, "store_revisions: A ERROR");
		is_int(r[0].sequence, 2, "store_revisions: A sequence");
		is_int(r[0].first_ns, t0, "store_revisions: A first_ns");
		is_int(r[0].last_ns, t0 + SEC(126),
		    "store_revisions: A last_ns");
		is_str(r[0].commit_sha, "abc123",
		    "store_revisions: commit_sha");
		ok(r[0].build_id == NULL, "store_revisions: build_id NULL");
		is_str(r[1].revision, B, "store_revisions: B second");
		is_int(r[1].severity[8], 1, "store_revisions: B EMERGENCY");

		ok(store_top_patterns(st, r[0].id, 10, &pc, &n, &cause) == 0,
		    "store_top_patterns");
		is_int(n, 2, "store_top_patterns: 2");
		if (n == 2) {
			is_str(pc[0].pattern, "p1", "top: p1 first");
			is_int(pc[0].count, 4, "top: p1 count");
			is_int(pc[0].first_ns, t0, "top: p1 first_ns");
			is_str(pc[0].sample, "boom one", "top: p1 sample");
			is_str(pc[1].pattern, "p2", "top: p2 second");
		}
		store_pattern_counts_free(pc, n);
		ok(store_top_patterns(st, r[0].id, 1, &pc, &n, &cause) == 0 &&
		    n == 1, "store_top_patterns: limit 1");
		store_pattern_counts_free(pc, n);
	}
	store_revisions_free(r, 2);
	store_close(st);
}

/* Samples are valid UTF-8, NUL-free and capped. */
static void
test_sample(void)
{
	struct store	*st;
	struct log_entry e;
	const char	*db = db_path("s.db");
	char		*msg;

	st = open_ok(db);
	msg = malloc(5001);
	memset(msg, 'x', 5000);
	msg[0] = (char)0xff;
	msg[1] = '\0';
	e = entry("api-00001-abc", "s1", t0);
	e.message.p = msg;
	e.message.len = 5000;
	is_int(add(st, &e, "long", NULL), STORE_COUNTED, "long message");
	free(msg);	/* the store copied what it keeps */
	ok(commit_ok(st), "commit");
	is_int(q_int(db, "SELECT length(CAST(sample AS BLOB)) FROM "
	    "revision_patterns"), STORE_SAMPLE_MAX, "sample capped");
	is_str(q_str(db, "SELECT substr(sample, 1, 3) FROM revision_patterns"),
	    "\xef\xbf\xbd x", "invalid byte repaired, NUL made a space");
	is_int(q_int(db, "SELECT sum(entries) FROM revisions"), 1,
	    "one entry");
	/* a secret is redacted before the sample is cut */
	msg = malloc(STORE_SAMPLE_MAX + 64);
	memset(msg, 'y', STORE_SAMPLE_MAX + 63);
	memcpy(msg + STORE_SAMPLE_MAX - 20, "password=hunter2hunter2hunter2", 30);
	msg[STORE_SAMPLE_MAX + 63] = '\0';
	e = entry("api-00001-abc", "s2", t0);
	e.message.p = msg;
	e.message.len = strlen(msg);
	is_int(add(st, &e, "secret", NULL), STORE_COUNTED, "a secret");
	free(msg);
	ok(commit_ok(st), "commit");
	is_int(q_int(db, "SELECT instr(sample, 'hunter2') FROM "
	    "revision_patterns WHERE pattern = 'secret'"), 0,
	    "the secret is not stored, not even the part before the cut");
	is_int(q_int(db, "SELECT instr(sample, 'password=[REDAC') FROM "
	    "revision_patterns WHERE pattern = 'secret'"),
	    STORE_SAMPLE_MAX - 20 + 1, "the key stays, its value redacted");
	store_close(st);
}

/* The alert queue: once per (finding, target), due order, the bound. */
static void
test_alerts(void)
{
	struct store		*st;
	struct store_finding	 f;
	struct store_alert	*v;
	const char		*db = db_path("al.db");
	const char		*targets[] = { "ops", "audit" };
	char			*cause = NULL, pat[32];
	uint64_t		 dropped = 0;
	size_t			 n, i;
	int64_t			 next;
	int			 found, queued = 0;

	st = open_ok(db);
	memset(&f, 0, sizeof(f));
	f.found_ns = t0;
	f.project = "p";
	f.location = "eu";
	f.service = "shop";
	f.revision = "shop-00002-bbb";
	f.pattern = "connection-error";
	f.kind = "catalogue";
	f.class = "new";
	f.level = "error";
	f.count = 3;
	f.sample = "connection refused";
	f.insert_id = "i1";
	f.entry_ns = t0;
	is_int(store_finding(st, &f, &cause), 1, "a finding");
	is_int(store_alerts_queue(st, &f, targets, 2, &dropped, &cause), 2,
	    "queued for two targets");
	is_int(store_alerts_queue(st, &f, targets, 2, &dropped, &cause), 0,
	    "queued again: nothing, each (finding, target) is queued once");
	ok(store_alerts_due(st, time_now_ns(), "[\"audit\"]", 10, &v, &n,
	    &cause) == 0 && n == 1, "due for one named target: one");
	if (n == 1) {
		is_str(v[0].target, "audit", "its target");
		is_str(v[0].f.sample, "connection refused", "with its finding");
		is_int(v[0].attempts, 0, "not tried yet");
		ok(store_alert_update(st, v[0].id, "pending", 1,
		    time_now_ns() + 3600 * NS_PER_SEC, "HTTP 500", &cause) == 0,
		    "retry later");
	}
	store_alerts_free(v, n);
	ok(store_alerts_due(st, time_now_ns(), "[\"audit\",\"ops\"]", 10,
	    &v, &n, &cause) == 0 && n == 1 && strcmp(v[0].target, "ops") == 0,
	    "the one retried later is not due");
	store_alerts_free(v, n);
	ok(store_alert_next(st, "[\"audit\"]", &next, &found, &cause) == 0 &&
	    found && next > time_now_ns(), "its next try is in the future");

	/* the bound: the oldest pending are dropped */
	for (i = 0; i < STORE_ALERTS_MAX; i++) {
		snprintf(pat, sizeof(pat), "p%zu", i);
		f.pattern = pat;
		if (store_finding(st, &f, &cause) != 1 ||
		    store_alerts_queue(st, &f, targets, 1, &dropped,
		    &cause) != 1)
			break;
		queued++;
	}
	is_int(queued, STORE_ALERTS_MAX, "10000 more queued");
	is_int((long long)dropped, 2, "two dropped past the bound");
	is_int(q_int(db, "SELECT count(*) FROM alerts WHERE state = "
	    "'pending'"), STORE_ALERTS_MAX, "the queue holds its bound");
	is_str(q_str(db, "SELECT group_concat(target) FROM (SELECT target "
	    "FROM alerts WHERE state = 'dropped' ORDER BY id)"), "ops,audit",
	    "the oldest were dropped");
	free(cause);
	store_close(st);
}

static void
test_ordering(void)
{
	struct store		*st;
	struct store_revision	*r = NULL;
	struct log_entry	 e;
	const char		*db = db_path("o.db");
	const char		*want[] = {
		"aaa/api-00001-qqq",
		"proj/api-00002-bbb", "proj/api-00010-aaa",
		"proj/api-other", "proj/api-custom", "proj/",
		"proj/web-00001-zzz"
	};
	char			*cause = NULL, got[128];
	size_t			 n = 0, i;

	st = open_ok(db);
	e = entry("api-00010-aaa", "o1", t0);
	add(st, &e, NULL, NULL);
	e = entry("", "o2", t0 - SEC(100));
	add(st, &e, NULL, NULL);
	e = entry("api-custom", "o3", t0 + SEC(5));
	add(st, &e, NULL, NULL);
	e = entry("api-other", "o4", t0 + SEC(1));
	add(st, &e, NULL, NULL);
	e = entry("api-00002-bbb", "o5", t0 + SEC(50));
	add(st, &e, NULL, NULL);
	e = entry("web-00001-zzz", "o6", t0);
	e.service = S("web");
	add(st, &e, NULL, NULL);
	e = entry("api-00001-qqq", "o7", t0);
	e.project = S("aaa");
	add(st, &e, NULL, NULL);
	ok(commit_ok(st), "commit");
	ok(store_revisions(st, NULL, &r, &n, &cause) == 0, "store_revisions");
	is_int(n, 7, "7 revisions");
	for (i = 0; i < n && i < 7; i++) {
		snprintf(got, sizeof(got), "%s/%s", r[i].project,
		    r[i].revision);
		is_str(got, want[i], "revision order");
	}
	is_int(n > 5 ? r[5].sequence : 0, -1, "no sequence: -1");
	store_revisions_free(r, n);
	ok(store_revisions(st, "web", &r, &n, &cause) == 0 && n == 1,
	    "store_revisions of one service");
	store_revisions_free(r, n);
	store_close(st);
}

static void
test_dedup(void)
{
	struct store	*st;
	struct log_entry e, e2, e3;
	const char	*db = db_path("d.db");
	const char	*R = "api-00001-abc";

	st = open_ok(db);
	e = entry(R, "x1", t0 + SEC(10));
	is_int(add(st, &e, "p", NULL), STORE_COUNTED, "first: counted");
	is_int(add(st, &e, "p", NULL), STORE_DUPLICATE,
	    "again in the same batch: duplicate");
	is_int(store_pending(st), 1, "one pending");
	ok(commit_ok(st), "commit");
	is_int(rev_col(db, "entries", R), 1, "1 entry");
	is_int(add(st, &e, "p", NULL), STORE_DUPLICATE,
	    "again after commit: duplicate");

	e2 = e;
	e2.timestamp_ns++;
	is_int(add(st, &e2, NULL, NULL), STORE_COUNTED,
	    "same insertId, 1 ns later: counted");
	e3 = e;
	e3.log_name = S("projects/p/logs/run.googleapis.com%2Fstderr");
	is_int(add(st, &e3, NULL, NULL), STORE_COUNTED,
	    "same insertId, other logName: counted");
	ok(commit_ok(st), "commit");
	is_int(q_int(db, "SELECT sum(length(keys)) FROM dedup"), 3 * 16,
	    "dedup: 3 keys of 16 bytes");
	is_int(q_int(db, "SELECT count(*) FROM dedup"), 2,
	    "dedup: a row per minute and commit");
	store_close(st);

	st = open_ok(db);
	is_int(add(st, &e, NULL, NULL), STORE_DUPLICATE,
	    "after reopening: duplicate");
	is_int(add(st, &e2, NULL, NULL), STORE_DUPLICATE,
	    "after reopening: duplicate (ns)");
	is_int(add(st, &e3, NULL, NULL), STORE_DUPLICATE,
	    "after reopening: duplicate (logName)");
	ok(commit_ok(st), "empty commit");
	is_int(rev_col(db, "entries", R), 3, "3 entries");
	is_int(q_int(db, "SELECT count FROM counts"), 1,
	    "pattern counted once");

	e = entry(R, "", t0 + SEC(20));
	e.is_text = 1;
	is_int(add(st, &e, NULL, NULL), STORE_COUNTED, "text line counted");
	is_int(add(st, &e, NULL, NULL), STORE_COUNTED,
	    "the same text line again: counted");
	ok(commit_ok(st), "commit");
	is_int(rev_col(db, "entries", R), 5, "5 entries");
	is_int(q_int(db, "SELECT sum(length(keys)) FROM dedup"), 3 * 16,
	    "text lines leave no key");
	store_close(st);
}

static void
test_too_old(void)
{
	struct store	*st;
	struct log_entry e;
	const char	*db = db_path("t.db");
	const char	*R = "api-00001-abc";
	int64_t		 w = SEC(3600), T = t0 + SEC(10 * 3600);

	st = open_ok(db);
	store_set_dedup_window(st, w);
	e = entry(R, "new", T);
	is_int(add(st, &e, NULL, NULL), STORE_COUNTED, "newest counted");
	e = entry(R, "old", T - w - 1);
	is_int(add(st, &e, NULL, NULL), STORE_TOO_OLD,
	    "newest - window - 1 ns: too old");
	e = entry(R, "edge", T - w);
	is_int(add(st, &e, NULL, NULL), STORE_COUNTED,
	    "newest - window: counted");
	e = entry(R, "young", T - w + 1);
	is_int(add(st, &e, NULL, NULL), STORE_COUNTED,
	    "newest - window + 1 ns: counted");
	e = entry(R, "", T - w - SEC(600));
	e.is_text = 1;
	is_int(add(st, &e, NULL, NULL), STORE_COUNTED,
	    "text line: never too old");
	ok(commit_ok(st), "commit");
	is_int(rev_col(db, "entries", R), 4, "4 entries");
	store_close(st);

	st = open_ok(db);
	store_set_dedup_window(st, w);
	e = entry(R, "old", T - w - 1);
	is_int(add(st, &e, NULL, NULL), STORE_TOO_OLD,
	    "after reopening: newest_ts loaded, still too old");
	e = entry(R, "young", T - w + 1);
	is_int(add(st, &e, NULL, NULL), STORE_DUPLICATE,
	    "after reopening: duplicate");

	/* Two hours on: the first prune deletes minutes before T+2h-w. */
	e = entry(R, "later", T + SEC(7200));
	is_int(add(st, &e, NULL, NULL), STORE_COUNTED, "two hours later");
	ok(commit_ok(st), "commit");
	is_int(q_int(db, "SELECT count(*) FROM dedup WHERE minute < %lld",
	    (long long)((T + SEC(7200) - w) / SEC(60))), 0,
	    "dedup pruned to newest - window");
	is_int(q_int(db, "SELECT min(minute) FROM dedup"),
	    (T + SEC(7200)) / SEC(60), "the newest minute's keys kept");
	is_int(q_int(db, "SELECT value FROM meta WHERE "
	    "key = 'dedup_floor_minute'"), (T + SEC(7200) - w) / SEC(60),
	    "meta dedup_floor_minute");
	store_set_dedup_window(st, STORE_DEDUP_WINDOW_DEFAULT);
	e = entry(R, "new", T);
	is_int(add(st, &e, NULL, NULL), STORE_TOO_OLD,
	    "a wider window cannot recount pruned minutes");
	e = entry(R, "fresh", T + SEC(7200) - w);
	is_int(add(st, &e, NULL, NULL), STORE_COUNTED,
	    "the floor minute still counts");
	ok(commit_ok(st), "commit");
	is_int(rev_col(db, "entries", R), 6, "6 entries");
	store_close(st);
}

/* More keys than the in-memory cap: the set is dropped and reloads. */
static void
test_memory_cap(void)
{
	struct store	*st;
	struct log_entry e;
	const char	*db = db_path("cap.db");
	const int	 total = STORE_DEDUP_KEYS_MAX + 100000;
	int		 i, counted = 0, dups = 0;
	char		 id[32];

	st = open_ok(db);
	for (i = 0; i < total; i++) {
		snprintf(id, sizeof(id), "k%d", i);
		/* 100 entries a second: 6000 keys a minute */
		e = entry("api-00001-abc", id, t0 + i * (NS_PER_SEC / 100));
		counted += add(st, &e, NULL, NULL) == STORE_COUNTED;
		if (i % 50000 == 49999 && !commit_ok(st))
			break;
	}
	ok(commit_ok(st), "commit");
	is_int(counted, total, "all counted");
	for (i = 0; i < total; i++) {
		snprintf(id, sizeof(id), "k%d", i);
		e = entry("api-00001-abc", id, t0 + i * (NS_PER_SEC / 100));
		dups += add(st, &e, NULL, NULL) == STORE_DUPLICATE;
		if (i % 50000 == 49999 && !commit_ok(st))
			break;
	}
	ok(commit_ok(st), "commit");
	is_int(dups, total, "all duplicates on the second pass");
	is_int(rev_col(db, "entries", "api-00001-abc"), total,
	    "entries counted once");
	is_int(q_int(db, "SELECT sum(length(keys)) / 16 FROM dedup"), total,
	    "one key each in dedup");
	store_close(st);
}

static int
add_three(struct store *st, int64_t ts)
{
	struct log_entry e;
	int		 v;

	e = entry("api-00001-abc", "f1", ts);
	v = add(st, &e, "p", NULL);
	e = entry("api-00001-abc", "f2", ts + SEC(60));
	v |= add(st, &e, "p", NULL);
	e = entry("api-00002-new", "f3", ts + SEC(6 * 86400));
	v |= add(st, &e, NULL, NULL);
	return (v);
}

static void
test_failed_commit(void)
{
	struct store		*st;
	struct store_progress	 p;
	struct log_entry	 e;
	sqlite3			*h;
	const char		*db = db_path("f.db");
	char			*cause = NULL;

	st = open_ok(db);
	ok(store_run_begin(st, "f.json", &cause) == 0, "run begins");
	memset(&p, 0, sizeof(p));
	e = entry("api-00001-abc", "f0", t0);
	add(st, &e, "p", NULL);
	p.bytes = p.offset = 10;
	ok(store_commit(st, &p, &cause) == 0, "first batch");

	/* An error in the middle of the transaction. */
	q_exec(db, "CREATE TRIGGER fail BEFORE INSERT ON dedup BEGIN "
	    "SELECT RAISE(ABORT, 'injected failure'); END");
	is_int(add_three(st, t0 + SEC(1)), STORE_COUNTED, "three added");
	e = entry("api-00001-abc", "f8", t0 + SEC(8 * 86400));
	is_int(add(st, &e, NULL, NULL), STORE_COUNTED, "one 8 days later");
	p.bytes = p.offset = 40;
	is_int(store_commit(st, &p, &cause), -1, "injected: commit fails");
	ok(cause != NULL && strstr(cause, "injected failure") != NULL &&
	    strstr(cause, db) != NULL, "injected: cause names path and error");
	printf("# %s\n", cause != NULL ? cause : "(no cause)");
	free(cause);
	cause = NULL;
	is_int(store_pending(st), 0, "injected: batch discarded");
	is_int(q_int(db, "SELECT sum(entries) FROM revisions"), 1,
	    "injected: entries unchanged");
	is_int(q_int(db, "SELECT count(*) FROM revisions"), 1,
	    "injected: no new revision row");
	is_int(q_int(db, "SELECT sum(count) FROM counts"), 1,
	    "injected: counts unchanged");
	is_int(q_int(db, "SELECT sum(entries) FROM exposure"), 1,
	    "injected: exposure unchanged");
	is_int(q_int(db, "SELECT sum(length(keys)) FROM dedup"), 16,
	    "injected: dedup unchanged");
	is_int(q_int(db, "SELECT bytes FROM ingest_runs"), 10,
	    "injected: progress unchanged");
	is_int(q_int(db, "SELECT value FROM meta WHERE key = 'newest_ts'"),
	    t0, "injected: newest_ts unchanged");
	e = entry("api-00001-abc", "f9", t0 + SEC(2));
	is_int(add(st, &e, NULL, NULL), STORE_COUNTED,
	    "newest restored: not too old");
	q_exec(db, "DROP TRIGGER fail");

	is_int(add_three(st, t0 + SEC(1)), STORE_COUNTED,
	    "retry: the three are new again");
	ok(store_commit(st, &p, &cause) == 0, "retry commits");
	is_int(q_int(db, "SELECT sum(entries) FROM revisions"), 5,
	    "retry: counted exactly once");
	is_int(q_int(db, "SELECT sum(count) FROM counts"), 3,
	    "retry: patterns counted once");
	is_int(q_int(db, "SELECT bytes FROM ingest_runs"), 40,
	    "retry: progress written");
	is_int(add_three(st, t0 + SEC(1)), STORE_DUPLICATE,
	    "after the retry: duplicates");

	/* A writer holding the lock past the busy timeout (5 s). */
	ok(sqlite3_open(db, &h) == SQLITE_OK &&
	    sqlite3_exec(h, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK,
	    "another connection holds the write lock");
	e = entry("api-00001-abc", "L1", t0 + SEC(3));
	is_int(add(st, &e, NULL, NULL), STORE_COUNTED, "added under lock");
	is_int(store_commit(st, &p, &cause), -1, "locked: commit fails");
	ok(cause != NULL && strstr(cause, db) != NULL &&
	    strstr(cause, "locked") != NULL, "locked: cause says so");
	printf("# %s\n", cause != NULL ? cause : "(no cause)");
	free(cause);
	cause = NULL;
	sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(h);
	is_int(q_int(db, "SELECT sum(entries) FROM revisions"), 5,
	    "locked: entries unchanged");
	is_int(add(st, &e, NULL, NULL), STORE_COUNTED, "retry after unlock");
	ok(store_commit(st, &p, &cause) == 0, "retry commits");
	is_int(q_int(db, "SELECT sum(entries) FROM revisions"), 6,
	    "retry: counted once");
	store_close(st);
}

/* Two stores on one file: the overlap is caught at commit. */
static void
test_two_writers(void)
{
	struct store	*a, *b;
	struct log_entry e;
	const char	*db = db_path("w.db");
	char		*cause = NULL;

	a = open_ok(db);
	b = open_ok(db);
	e = entry("api-00001-abc", "w0", t0);
	is_int(add(a, &e, NULL, NULL), STORE_COUNTED, "a: w0");
	ok(commit_ok(a), "a commits");
	e = entry("api-00001-abc", "w1", t0 + SEC(1));
	is_int(add(b, &e, NULL, NULL), STORE_COUNTED, "b: w1 (b loaded w0)");
	is_int(add(a, &e, NULL, NULL), STORE_COUNTED, "a: w1 too");
	ok(commit_ok(a), "a commits w1");
	is_int(store_commit(b, NULL, &cause), -1, "b: overlapping batch fails");
	ok(cause != NULL && strstr(cause, "another process") != NULL,
	    "b: cause names the other writer");
	printf("# %s\n", cause != NULL ? cause : "(no cause)");
	free(cause);
	is_int(add(b, &e, NULL, NULL), STORE_DUPLICATE,
	    "b: w1 now a duplicate (keys reloaded)");
	e = entry("api-00001-abc", "w2", t0 + SEC(2));
	is_int(add(b, &e, NULL, NULL), STORE_COUNTED, "b: w2");
	ok(commit_ok(b), "b commits w2");
	e = entry("api-00001-abc", "w3", t0 + SEC(3));
	is_int(add(a, &e, NULL, NULL), STORE_COUNTED, "a: w3");
	ok(commit_ok(a), "a commits w3, no overlap");
	is_int(add(a, &e, NULL, NULL), STORE_DUPLICATE, "a: w3 duplicate");
	e = entry("api-00001-abc", "w2", t0 + SEC(2));
	is_int(add(a, &e, NULL, NULL), STORE_DUPLICATE,
	    "a: w2 (b's) duplicate");
	is_int(rev_col(db, "entries", "api-00001-abc"), 4, "4 entries");
	store_close(a);
	store_close(b);
}

static void
test_runs(void)
{
	struct store		*st;
	struct store_progress	 p;
	struct log_entry	 e;
	const char		*db = db_path("r.db");
	char			*cause = NULL;

	st = open_ok(db);
	ok(store_set_catalogue(st, "v9", NULL, 0, &cause) == 0, "catalogue");
	ok(store_run_begin(st, "export.json", &cause) == 0, "run begins");
	is_str(q_str(db, "SELECT status || ' ' || source || ' ' || "
	    "catalogue_version FROM ingest_runs"), "running export.json v9",
	    "running");
	e = entry("api-00001-abc", "r1", t0);
	add(st, &e, NULL, NULL);
	add(st, &e, NULL, NULL);
	memset(&p, 0, sizeof(p));
	p.bytes = 100;
	p.entries = 2;
	p.counted = 1;
	p.duplicates = 1;
	p.offset = 95;
	p.in_array = 1;
	ok(store_commit(st, &p, &cause) == 0, "commit");
	is_str(q_str(db, "SELECT status || ' ' || bytes || ' ' || entries || "
	    "' ' || counted || ' ' || duplicates || ' ' || resume_offset || "
	    "' ' || in_array || ' ' || (finished IS NULL) FROM ingest_runs"),
	    "running 100 2 1 1 95 1 1", "progress written with the batch");
	p.bytes = 200;
	ok(store_commit(st, &p, &cause) == 0, "commit of progress alone");
	is_int(q_int(db, "SELECT bytes FROM ingest_runs"), 200,
	    "progress alone written");
	p.bytes = 120;
	p.offset = 120;
	p.in_array = 0;
	p.bad = 3;
	p.too_old = 4;
	p.skipped_lines = 5;
	ok(store_run_end(st, &p, "ok", NULL, &cause) == 0, "run ends");
	is_str(q_str(db, "SELECT status || ' ' || bytes || ' ' || "
	    "resume_offset || ' ' || in_array || ' ' || bad || ' ' || "
	    "too_old || ' ' || skipped_lines || ' ' || (finished > started) "
	    "FROM ingest_runs"), "ok 120 120 0 3 4 5 1", "ended");
	ok(store_run_end(st, &p, "ok", NULL, &cause) == -1,
	    "no second end");
	free(cause);
	cause = NULL;
	ok(store_run_begin(st, "-", &cause) == 0, "second run");
	ok(store_run_end(st, NULL, "bogus", NULL, &cause) == -1,
	    "bad status refused");
	free(cause);
	cause = NULL;
	ok(store_run_end(st, NULL, "error", "disk full", &cause) == 0,
	    "error status");
	is_str(q_str(db, "SELECT status || ': ' || message FROM ingest_runs "
	    "WHERE source = '-'"), "error: disk full", "message kept");
	store_close(st);
}

static void
cleanup(void)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[512];

	if ((d = opendir(test_dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", test_dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(test_dir);
}

static int
tpl_each(const char *id, const char *text, uint64_t count, void *arg)
{
	char	*out = arg;
	size_t	 l = strlen(out);

	snprintf(out + l, 512 - l, "%s|%s|%llu\n", id, text,
	    (unsigned long long)count);
	return (0);
}

/* Templates: stored with the batch, text widened in place, id kept. */
static void
test_templates(void)
{
	const char			*db = db_path("tpl.db");
	struct store			*st;
	struct log_entry		 e;
	struct store_template_row	*rows;
	char				 got[512] = "", *cause = NULL;
	size_t				 n = 0;
	int64_t				 tb = 1756340000LL * NS_PER_SEC;

	st = open_ok(db);
	e = entry("api-00001-abc", "t1", tb);
	e.message = S("Connection to 10.0.0.1 refused");
	store_template(st, "tpl-00000000000000aa", "Connection to <*> refused",
	    t0);
	add(st, &e, "tpl-00000000000000aa", NULL);
	e = entry("api-00002-def", "t2", tb + NS_PER_SEC);
	store_template(st, "tpl-00000000000000aa", "Connection <*> <*> refused",
	    tb + NS_PER_SEC);
	add(st, &e, "tpl-00000000000000aa", NULL);
	ok(commit_ok(st), "templates commit");
	ok(store_templates_each(st, tpl_each, got, &cause) == 0,
	    "templates read back");
	is_str(got, "tpl-00000000000000aa|Connection <*> <*> refused|2\n",
	    "one template, widened text, count over both revisions");
	ok(store_templates(st, "api", "api-00002-def", &rows, &n, &cause) == 0,
	    "templates of one revision");
	is_int(n, 1, "one row for that revision");
	if (n == 1) {
		is_str(rows[0].revision, "api-00002-def", "its revision");
		is_int(rows[0].count, 1, "its count there");
	}
	store_templates_free(rows, n);
	ok(store_templates(st, NULL, NULL, &rows, &n, &cause) == 0 && n == 2 &&
	    strcmp(rows[0].revision, "api-00001-abc") == 0,
	    "all revisions, the first revision first");
	store_templates_free(rows, n);
	store_close(st);
	free(cause);
}

int
main(void)
{
	const char	*t = "2025-08-28T00:00:00Z";

	if (mkdtemp(test_dir) == NULL) {
		printf("Bail out! mkdtemp\n");
		return (1);
	}
	if (time_parse_rfc3339(t, strlen(t), &t0) == -1) {
		printf("Bail out! time_parse_rfc3339\n");
		return (1);
	}
	test_migrations();
	test_read_only();
	test_counts();
	test_sample();
	test_alerts();
	test_ordering();
	test_dedup();
	test_too_old();
	test_memory_cap();
	test_failed_commit();
	test_two_writers();
	test_runs();
	test_templates();
	cleanup();
	return (done_testing());
}
