/*
 * Stage 4: the SQLite store, the only file that includes sqlite3.h.
 *
 * store_add() never writes: it decides whether an entry is new, then adds
 * its counts to in-memory deltas (hash maps keyed by small integer structs:
 * the batch's revision index, its pattern index, the minute).  store_commit()
 * turns the deltas into one UPSERT per distinct key and writes them, the new
 * dedup keys, meta.newest_ts and the run's progress in one BEGIN IMMEDIATE
 * transaction.  Revisions and patterns are interned per batch; a revision's
 * row id comes back from its UPSERT (RETURNING id), so a rolled-back batch
 * can leave no stale id behind.
 *
 * The surprising part is exactly-once.  An INSERT per entry into an index
 * would cost as much as parsing the entry, so the keys of counted entries
 * live in an in-memory set and reach the database as one packed blob per
 * minute of entry time and commit (the dedup table in
 * schema/001-initial.sql).  The set is split by minute: a minute's keys
 * are loaded the first time an entry of that minute is seen, and since
 * consecutive entries share a minute the table probed stays small enough
 * for the cache.  The sets are dropped whenever they outgrow
 * STORE_DEDUP_KEYS_MAX and reload on demand.  Another process committing
 * to the same database is noticed through PRAGMA data_version: the batch's
 * keys are then checked against the database before they are written.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "entry.h"
#include "hmap.h"
#include "log.h"
#include "redact.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#include "schema.inc"

/*
 * STORE_DEDUP_KEYS_MAX (store.h): a key takes 16 bytes plus the map's
 * 8-byte hash, in a power-of-two table at most 3/4 full, so 250000 keys
 * hold ~12 MiB.  Past it the set is dropped after a commit (every key is
 * persisted) and minutes reload as entries need them.  A single batch may
 * exceed it: the caller bounds batches.
 */
/* Newest entry minute must advance this far between dedup prunes. */
#define STORE_PRUNE_MINUTES	60
#define STORE_KEY_LEN		16	/* bytes of a packed dedup key */
#define STORE_BUSY_MS		5000
#define STORE_NONE		UINT32_MAX	/* "no index" */
#define NS_PER_MINUTE		(60 * NS_PER_SEC)

enum store_stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_DATA_VERSION,
	S_META_GET,
	S_META_MAX,
	S_META_BUMP,
	S_META_SET,
	S_REV_UPSERT,
	S_EXPOSURE_UPSERT,
	S_COUNT_UPSERT,
	S_RP_UPSERT,
	S_RC_UPSERT,
	S_DEDUP_SELECT,
	S_DEDUP_INSERT,
	S_DEDUP_PRUNE,
	S_CAT_VERSION,
	S_CAT_PATTERN,
	S_RUN_INSERT,
	S_RUN_UPDATE,
	S_RUN_ORPHANS,
	S_RUN_DIED,
	S_REVISIONS,
	S_TOP_PATTERNS,
	S_TPL_UPSERT,
	S_TPL_EACH,
	S_TPL_LIST,
	S_WIN_EXPOSURE,
	S_WIN_COUNTS,
	S_CAT_LACKS,
	S_UNTEMPLATED,
	S_CAT_DRIFT,
	S_REV_CATALOGUES,
	S_ACK_UPSERT,
	S_ACK_GET,
	S_ACK_KNOWN,
	S_TREND_TIME,
	S_TREND_REV,
	S_SRC_UPSERT,
	S_SRC_DELETE,
	S_SRC_GET,
	S_SRC_AT,
	S_SRC_UNDER,
	S_FINDING_INSERT,
	S_FINDINGS,
	S_RP_COUNT,
	S_ALERT_QUEUE,
	S_ALERT_PENDING,
	S_ALERT_DROP,
	S_ALERTS_DUE,
	S_ALERT_UPDATE,
	S_ALERT_NEXT,
	S_ALERT_ORPHANS,
	S_COUNT
};

static const char *const store_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_DATA_VERSION] = "PRAGMA data_version",
	[S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[S_META_SET] =
	    "INSERT INTO meta (key, value) VALUES (?1, ?2) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[S_META_BUMP] =
	    "INSERT INTO meta (key, value) VALUES (?1, 1) "
	    "ON CONFLICT (key) DO UPDATE SET value = value + 1 "
	    "RETURNING value",
	[S_META_MAX] =
	    "INSERT INTO meta (key, value) VALUES (?1, ?2) "
	    "ON CONFLICT (key) DO UPDATE SET "
	    "value = max(value, excluded.value)",
	[S_REV_UPSERT] =
	    "INSERT INTO revisions (project, location, service, revision, "
	    "sequence, first_ts, last_ts, entries, requests, "
	    "sev_default, sev_debug, sev_info, sev_notice, sev_warning, "
	    "sev_error, sev_critical, sev_alert, sev_emergency, "
	    "commit_sha, build_id) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "?14, ?15, ?16, ?17, ?18, ?19, ?20) "
	    "ON CONFLICT (project, location, service, revision) DO UPDATE SET "
	    "first_ts = min(first_ts, excluded.first_ts), "
	    "last_ts = max(last_ts, excluded.last_ts), "
	    "entries = entries + excluded.entries, "
	    "requests = requests + excluded.requests, "
	    "sev_default = sev_default + excluded.sev_default, "
	    "sev_debug = sev_debug + excluded.sev_debug, "
	    "sev_info = sev_info + excluded.sev_info, "
	    "sev_notice = sev_notice + excluded.sev_notice, "
	    "sev_warning = sev_warning + excluded.sev_warning, "
	    "sev_error = sev_error + excluded.sev_error, "
	    "sev_critical = sev_critical + excluded.sev_critical, "
	    "sev_alert = sev_alert + excluded.sev_alert, "
	    "sev_emergency = sev_emergency + excluded.sev_emergency, "
	    "commit_sha = coalesce(commit_sha, excluded.commit_sha), "
	    "build_id = coalesce(build_id, excluded.build_id) "
	    "RETURNING id",
	[S_EXPOSURE_UPSERT] =
	    "INSERT INTO exposure (revision_id, minute, entries, requests, "
	    "stdout, stderr, system, audit, other) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
	    "ON CONFLICT (revision_id, minute) DO UPDATE SET "
	    "entries = entries + excluded.entries, "
	    "requests = requests + excluded.requests, "
	    "stdout = stdout + excluded.stdout, "
	    "stderr = stderr + excluded.stderr, "
	    "system = system + excluded.system, "
	    "audit = audit + excluded.audit, "
	    "other = other + excluded.other",
	[S_COUNT_UPSERT] =
	    "INSERT INTO counts (revision_id, pattern, minute, count) "
	    "VALUES (?1, ?2, ?3, ?4) "
	    "ON CONFLICT (revision_id, pattern, minute) DO UPDATE SET "
	    "count = count + excluded.count",
	[S_RP_UPSERT] =
	    "INSERT INTO revision_patterns (revision_id, pattern, count, "
	    "first_ts, last_ts, sample, sample_insert_id, catalogue_version, "
	    "log_kinds) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
	    "ON CONFLICT (revision_id, pattern) DO UPDATE SET "
	    "count = count + excluded.count, "
	    "first_ts = min(first_ts, excluded.first_ts), "
	    "last_ts = max(last_ts, excluded.last_ts), "
	    "log_kinds = log_kinds | excluded.log_kinds",
	[S_RC_UPSERT] =
	    "INSERT INTO revision_catalogues (revision_id, version, entries, "
	    "untemplated) VALUES (?1, ?2, ?3, ?4) "
	    "ON CONFLICT (revision_id, version) DO UPDATE SET "
	    "entries = entries + excluded.entries, "
	    "untemplated = untemplated + excluded.untemplated",
	[S_DEDUP_SELECT] = "SELECT keys FROM dedup WHERE minute = ?1",
	[S_DEDUP_INSERT] = "INSERT INTO dedup (minute, keys) VALUES (?1, ?2)",
	[S_DEDUP_PRUNE] = "DELETE FROM dedup WHERE minute < ?1",
	[S_CAT_VERSION] =
	    "INSERT OR IGNORE INTO catalogue_versions (version, first_used, "
	    "pattern_count) VALUES (?1, ?2, ?3)",
	[S_CAT_PATTERN] =
	    "INSERT OR IGNORE INTO catalogue_patterns (version, pattern, "
	    "title, category, level) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_RUN_INSERT] =
	    "INSERT INTO ingest_runs (source, started, updated, "
	    "catalogue_version, pid, host) VALUES (?1, ?2, ?2, ?3, ?4, ?5)",
	[S_RUN_ORPHANS] =
	    "SELECT id, pid FROM ingest_runs WHERE status = 'running' AND "
	    "host = ?1 AND pid IS NOT NULL",
	[S_RUN_DIED] =
	    "UPDATE ingest_runs SET status = 'interrupted', "
	    "finished = updated, message = 'its process ended without "
	    "closing it (killed or crashed)' WHERE id = ?1 AND "
	    "status = 'running'",
	/* NULL leaves a column as it is: commits bind no status. */
	[S_RUN_UPDATE] =
	    "UPDATE ingest_runs SET updated = ?2, "
	    "bytes = coalesce(?3, bytes), "
	    "entries = coalesce(?4, entries), "
	    "counted = coalesce(?5, counted), "
	    "duplicates = coalesce(?6, duplicates), "
	    "too_old = coalesce(?7, too_old), "
	    "bad = coalesce(?8, bad), "
	    "skipped_lines = coalesce(?9, skipped_lines), "
	    "resume_offset = coalesce(?10, resume_offset), "
	    "in_array = coalesce(?11, in_array), "
	    "catalogue_version = coalesce(?12, catalogue_version), "
	    "finished = coalesce(?13, finished), "
	    "status = coalesce(?14, status), "
	    "message = coalesce(?15, message) "
	    "WHERE id = ?1",
	[S_REVISIONS] =
	    "SELECT id, project, location, service, revision, sequence, "
	    "first_ts, last_ts, entries, requests, "
	    "sev_default, sev_debug, sev_info, sev_notice, sev_warning, "
	    "sev_error, sev_critical, sev_alert, sev_emergency, "
	    "commit_sha, build_id FROM revisions "
	    "WHERE ?1 IS NULL OR service = ?1 "
	    "ORDER BY project, location, service, revision = '', "
	    "sequence IS NULL, sequence, first_ts, revision, id",
	[S_TOP_PATTERNS] =
	    "SELECT pattern, count, first_ts, last_ts, sample "
	    "FROM revision_patterns WHERE revision_id = ?1 "
	    "ORDER BY count DESC, pattern LIMIT ?2",
	[S_TPL_UPSERT] =
	    "INSERT INTO templates (id, text, first_ts, last_ts) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET "
	    "text = excluded.text, first_ts = min(first_ts, excluded.first_ts), "
	    "last_ts = max(last_ts, excluded.last_ts)",
	[S_TPL_EACH] =
	    "SELECT t.id, t.text, coalesce((SELECT sum(rp.count) "
	    "FROM revision_patterns rp WHERE rp.pattern = t.id), 0) "
	    "FROM templates t ORDER BY t.first_ts, t.id",
	/* one row per (template, revision), first revision first */
	[S_TPL_LIST] =
	    "SELECT t.id, t.text, r.project, r.location, r.service, "
	    "r.revision, rp.count, rp.first_ts, rp.last_ts, rp.sample "
	    "FROM templates t JOIN revision_patterns rp ON rp.pattern = t.id "
	    "JOIN revisions r ON r.id = rp.revision_id "
	    "WHERE (?1 IS NULL OR r.service = ?1) "
	    "AND (?2 IS NULL OR r.revision = ?2) "
	    "ORDER BY t.first_ts, t.id, rp.first_ts",
	[S_WIN_EXPOSURE] =
	    "SELECT coalesce(sum(requests), 0), coalesce(sum(stdout), 0), "
	    "coalesce(sum(stderr), 0), coalesce(sum(system), 0), "
	    "coalesce(sum(audit), 0), coalesce(sum(other), 0) FROM exposure "
	    "WHERE revision_id = ?1 AND minute >= ?2 AND minute < ?3",
	[S_WIN_COUNTS] =
	    "SELECT c.pattern, sum(c.count), rp.log_kinds, rp.first_ts, "
	    "rp.sample, (SELECT cp.level FROM catalogue_patterns cp "
	    "WHERE cp.pattern = c.pattern ORDER BY cp.version LIMIT 1) "
	    "FROM counts c JOIN revision_patterns rp ON "
	    "rp.revision_id = c.revision_id AND rp.pattern = c.pattern "
	    "WHERE c.revision_id = ?1 AND c.minute >= ?2 AND c.minute < ?3 "
	    "GROUP BY c.pattern ORDER BY c.pattern",
	/* catalogue versions that counted the revision without the pattern */
	[S_CAT_LACKS] =
	    "SELECT count(*) FROM revision_catalogues rc WHERE "
	    "rc.revision_id = ?1 AND NOT EXISTS (SELECT 1 FROM "
	    "catalogue_patterns cp WHERE cp.version = rc.version AND "
	    "cp.pattern = ?2)",
	[S_UNTEMPLATED] =
	    "SELECT coalesce(sum(untemplated), 0) FROM revision_catalogues "
	    "WHERE revision_id = ?1",
	/* a catalogue pattern counted in ?1 that a version counting ?2 lacked */
	[S_CAT_DRIFT] =
	    "SELECT EXISTS (SELECT 1 FROM revision_patterns rp "
	    "JOIN revision_catalogues rc ON rc.revision_id = ?2 "
	    "WHERE rp.revision_id = ?1 AND rp.count > 0 AND "
	    "substr(rp.pattern, 1, 4) <> 'tpl-' AND NOT EXISTS (SELECT 1 FROM "
	    "catalogue_patterns cp WHERE cp.version = rc.version AND "
	    "cp.pattern = rp.pattern))",
	[S_REV_CATALOGUES] =
	    "SELECT version FROM revision_catalogues WHERE revision_id = ?1 "
	    "ORDER BY version",
	[S_ACK_UPSERT] =
	    "INSERT INTO acks (project, location, service, revision, pattern, "
	    "note, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
	    "ON CONFLICT DO UPDATE SET note = excluded.note, "
	    "created = excluded.created",
	/* ?1 bucket minutes, ?2 project, ?3 location, ?4 service, ?5 pattern,
	 * ?6 ?7 minutes [from, to) */
	[S_TREND_TIME] =
	    "WITH f AS (SELECT id, service, revision FROM revisions WHERE "
	    "(?2 IS NULL OR project = ?2) AND (?3 IS NULL OR location = ?3) "
	    "AND (?4 IS NULL OR service = ?4)), "
	    "x AS (SELECT e.minute / ?1 * ?1 AS b, sum(e.entries) AS entries, "
	    "sum(e.requests) AS requests FROM exposure e JOIN f ON "
	    "f.id = e.revision_id WHERE e.minute >= ?6 AND e.minute < ?7 "
	    "GROUP BY b) "
	    "SELECT c.minute / ?1 * ?1 AS b, '', '', c.pattern, sum(c.count), "
	    "x.entries, x.requests FROM counts c JOIN f ON f.id = c.revision_id "
	    "JOIN x ON x.b = c.minute / ?1 * ?1 WHERE (?5 IS NULL OR "
	    "c.pattern = ?5) AND c.minute >= ?6 AND c.minute < ?7 "
	    "GROUP BY b, c.pattern ORDER BY b, c.pattern",
	[S_TREND_REV] =
	    "WITH f AS (SELECT * FROM revisions WHERE "
	    "(?2 IS NULL OR project = ?2) AND (?3 IS NULL OR location = ?3) "
	    "AND (?4 IS NULL OR service = ?4) AND revision <> ''), "
	    "x AS (SELECT e.revision_id AS id, sum(e.entries) AS entries, "
	    "sum(e.requests) AS requests FROM exposure e JOIN f ON "
	    "f.id = e.revision_id WHERE e.minute >= ?6 AND e.minute < ?7 "
	    "GROUP BY e.revision_id) "
	    "SELECT min(c.minute), f.service, f.revision, c.pattern, "
	    "sum(c.count), x.entries, x.requests FROM counts c JOIN f ON "
	    "f.id = c.revision_id JOIN x ON x.id = f.id WHERE (?5 IS NULL OR "
	    "c.pattern = ?5) AND c.minute >= ?6 AND c.minute < ?7 AND ?1 > 0 "
	    "GROUP BY f.id, c.pattern ORDER BY f.project, f.location, "
	    "f.service, f.sequence IS NULL, f.sequence, f.first_ts, c.pattern",
	[S_ACK_GET] =
	    "SELECT note FROM acks WHERE project = ?1 AND location = ?2 AND "
	    "service = ?3 AND (revision = ?4 OR revision = '') AND "
	    "pattern = ?5 ORDER BY revision DESC LIMIT 1",
	/* counted in the service (any revision), or in a recorded catalogue */
	[S_ACK_KNOWN] =
	    "SELECT EXISTS (SELECT 1 FROM revisions r JOIN revision_patterns rp "
	    "ON rp.revision_id = r.id WHERE r.project = ?1 AND "
	    "r.location = ?2 AND r.service = ?3 AND rp.pattern = ?4) OR "
	    "EXISTS (SELECT 1 FROM catalogue_patterns WHERE pattern = ?4)",
	[S_SRC_UPSERT] =
	    "INSERT INTO sources (path, device, inode, fingerprint, "
	    "fingerprint_len, offset, in_array, line, text, updated) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
	    "ON CONFLICT (device, inode) DO UPDATE SET path = excluded.path, "
	    "fingerprint = excluded.fingerprint, "
	    "fingerprint_len = excluded.fingerprint_len, "
	    "offset = excluded.offset, in_array = excluded.in_array, "
	    "line = excluded.line, text = excluded.text, "
	    "updated = excluded.updated",
	[S_SRC_DELETE] = "DELETE FROM sources WHERE device = ?1 AND inode = ?2",
	[S_SRC_GET] =
	    "SELECT path, device, inode, fingerprint, fingerprint_len, offset, "
	    "in_array, line, text FROM sources "
	    "WHERE device = ?1 AND inode = ?2",
	[S_SRC_AT] =
	    "SELECT path, device, inode, fingerprint, fingerprint_len, offset, "
	    "in_array, line, text FROM sources WHERE path = ?1 "
	    "ORDER BY updated DESC",
	/* ?1 "dir/", ?2 "dir0": every path that starts with ?1, by index */
	[S_SRC_UNDER] =
	    "SELECT path, device, inode, fingerprint, fingerprint_len, offset, "
	    "in_array, line, text FROM sources WHERE path >= ?1 AND "
	    "path < ?2 ORDER BY path",
	[S_FINDING_INSERT] =
	    "INSERT INTO findings (found, project, location, service, "
	    "revision, pattern, kind, class, level, count, sample, insert_id, "
	    "entry_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
	    "?12, ?13) ON CONFLICT DO NOTHING",
	[S_FINDINGS] =
	    "SELECT found, project, location, service, revision, pattern, "
	    "kind, class, level, count, sample, insert_id, entry_ts "
	    "FROM findings WHERE found >= ?1 ORDER BY found, id",
	[S_RP_COUNT] =
	    "SELECT count FROM revision_patterns WHERE revision_id = ?1 AND "
	    "pattern = ?2",
	[S_ALERT_QUEUE] =
	    "INSERT INTO alerts (finding, target, state, attempts, queued, "
	    "next_try) SELECT id, ?6, 'pending', 0, ?7, ?7 FROM findings "
	    "WHERE project = ?1 AND location = ?2 AND service = ?3 AND "
	    "revision = ?4 AND pattern = ?5 ON CONFLICT DO NOTHING",
	[S_ALERT_PENDING] = "SELECT count(*) FROM alerts WHERE state = 'pending'",
	[S_ALERT_DROP] =
	    "UPDATE alerts SET state = 'dropped', done = ?2, "
	    "last_error = 'the queue was full' WHERE id IN (SELECT id FROM "
	    "alerts WHERE state = 'pending' ORDER BY id LIMIT ?1)",
	[S_ALERTS_DUE] =
	    "SELECT a.id, a.target, a.attempts, f.found, f.project, "
	    "f.location, f.service, f.revision, f.pattern, f.kind, f.class, "
	    "f.level, f.count, f.sample, f.insert_id, f.entry_ts "
	    "FROM alerts a JOIN findings f ON f.id = a.finding "
	    "WHERE a.state = 'pending' AND a.next_try <= ?1 AND a.target IN "
	    "(SELECT value FROM json_each(?2)) ORDER BY a.next_try, a.id "
	    "LIMIT ?3",
	[S_ALERT_UPDATE] =
	    "UPDATE alerts SET state = ?2, attempts = ?3, next_try = ?4, "
	    "last_error = ?5, done = CASE WHEN ?2 = 'pending' THEN NULL "
	    "ELSE ?6 END WHERE id = ?1",
	[S_ALERT_NEXT] =
	    "SELECT min(next_try) FROM alerts WHERE state = 'pending' AND "
	    "target IN (SELECT value FROM json_each(?1))",
	[S_ALERT_ORPHANS] =
	    "SELECT target, count(*) FROM alerts WHERE state = 'pending' AND "
	    "target NOT IN (SELECT value FROM json_each(?1)) GROUP BY target "
	    "ORDER BY target",
};

/*
 * The identity of a counted entry (see the dedup table in the schema).
 * Two entries are confused only when they share the nanosecond timestamp
 * AND a 64-bit hash of (insertId, logName): accepted as never in practice.
 */
struct dedup_key {
	int64_t		 ts;		/* entry time, ns */
	uint64_t	 h;		/* hash64(logName, hash64(insertId)) */
};

/* A revision seen in the current batch and its deltas. */
struct batch_rev {
	char		*raw[4];	/* project .. revision, bytes as read */
	size_t		 raw_len[4];
	char		*name[4];	/* the same as valid UTF-8, to bind */
	uint32_t	 next;		/* next revision with the same hash */
	int64_t		 id;		/* row id, set during commit */
	uint64_t	 entries;
	uint64_t	 requests;
	uint64_t	 severity[SEVERITY_COUNT];	/* by severity_index */
	int64_t		 first_ns;
	int64_t		 last_ns;
	char		*commit_sha;	/* first seen in the batch, or NULL */
	char		*build_id;	/* likewise */
};

struct batch_pattern {
	char		*id;
	uint32_t	 next;		/* next pattern with the same hash */
	char		*tpl_text;	/* a template's current text, or NULL */
	int64_t		 tpl_first_ns;	/* its entries' times in the batch */
	int64_t		 tpl_last_ns;
};

/* The first message counted under a (revision, pattern) in the batch. */
struct batch_sample {
	char		*message;	/* repaired, <= STORE_SAMPLE_MAX */
	char		*insert_id;	/* repaired */
};

/* A followed file's position, staged for the next commit. */
struct batch_source {
	struct store_source	 s;	/* path owned */
	int			 forget;	/* delete the row instead */
};

/* The keys of one minute new in this batch, packed as dedup stores them. */
struct batch_minute {
	int64_t		 minute;
	unsigned char	*keys;
	size_t		 keys_len;	/* bytes used */
	size_t		 keys_size;	/* bytes allocated */
};

/* hmap keys: padding is explicit and zeroed, as hmap hashes every byte. */
struct exposure_key {
	uint32_t	 rev;
	uint32_t	 zero;
	int64_t		 minute;
};

struct count_key {
	uint32_t	 rev;
	uint32_t	 pattern;
	int64_t		 minute;
};

struct rp_key {
	uint32_t	 rev;
	uint32_t	 pattern;
};

struct rp_val {
	uint64_t	 count;
	uint32_t	 log_kinds;	/* 1 << enum log_kind, or'ed */
	int64_t		 first_ns;
	int64_t		 last_ns;
	uint64_t	 sample;	/* index into samples */
};

struct store {
	sqlite3		*db;
	char		*path;
	sqlite3_stmt	*stmt[S_COUNT];	/* prepared on first use */

	int64_t		 window_ns;	/* dedup window */
	int64_t		 newest_ns;	/* latest entry time counted, text
					   lines excepted; TIME_NONE */
	int64_t		 newest_committed_ns;	/* ... as of the last commit */
	int64_t		 floor_minute;	/* dedup rows before it are deleted */
	int64_t		 pruned_minute;	/* newest minute at the last prune,
					   TIME_NONE before the first */
	int64_t		 data_version;	/* PRAGMA data_version when the
					   set was last known complete */
	int		 other_writer;	/* another connection committed */
	int64_t		 counting_epoch;	/* meta counting_epoch as this
					   connection last knew it */
	char		*catalogue;	/* version counting now, or NULL */
	int		 untemplated;	/* counting with templates off */
	int64_t		 run_id;	/* ingest_runs row, 0 when none */

	/* minute -> struct hmap * of struct dedup_key: all its keys */
	struct hmap	*minute_sets;
	size_t		 keys_count;	/* in all of them */

	/* The batch: everything below is discarded by each commit. */
	size_t		 pending;	/* entries */
	struct batch_rev *revs;
	size_t		 revs_count;
	size_t		 revs_size;
	struct hmap	*rev_index;	/* uint64 hash -> uint32 first rev */
	uint32_t	 last_rev;	/* the previous entry's, or NONE */
	struct batch_pattern *patterns;
	size_t		 patterns_count;
	size_t		 patterns_size;
	struct hmap	*pattern_index;	/* uint64 hash -> uint32 first */
	struct batch_minute *minutes;
	size_t		 minutes_count;
	size_t		 minutes_size;
	struct hmap	*minute_index;	/* minute -> uint32 into minutes */
	int64_t		 last_minute;	/* the previous entry's minute: */
	struct hmap	*last_set;	/* its set, and its index ... */
	uint32_t	 last_batch_minute;	/* ... in minutes, or NONE */
	struct hmap	*exposure;	/* exposure_key -> u64[kinds] */
	struct exposure_key last_exposure_key;
	uint64_t	*last_exposure;	/* its value, or NULL */
	struct hmap	*counts;	/* count_key -> uint64 */
	struct hmap	*rev_patterns;	/* rp_key -> rp_val */
	struct batch_sample *samples;
	size_t		 samples_count;
	size_t		 samples_size;
	struct batch_source *sources;	/* positions, in staging order */
	size_t		 sources_count;
	size_t		 sources_size;

	char		*meta_key;	/* staged store_meta_stage(), or NULL */
	int64_t		 meta_value;

	store_commit_fn	 hook;		/* runs inside each commit */
	void		*hook_arg;
};

static const char *const store_meta_newest = "newest_ts";
static const char *const store_meta_floor = "dedup_floor_minute";
/*
 * Bumped by every batch that counts or refuses entries (so writes dedup
 * keys, newest_ts or a prune): a commit of another connection that left
 * it alone (a finding, an alert's state, an ack) cannot have touched the
 * key sets, which then need no check and stay loaded.
 */
static const char *const store_meta_epoch = "counting_epoch";

/* floor(ns / 1 minute), also for times before 1970. */
static int64_t
minute_of(int64_t ns)
{
	int64_t	 m = ns / NS_PER_MINUTE;

	if (ns % NS_PER_MINUTE < 0)
		m--;
	return (m);
}

/* Little-endian whatever the host, so a database moves between hosts. */
static void
key_encode(unsigned char *p, const struct dedup_key *k)
{
	uint64_t	 ts = (uint64_t)k->ts;
	int		 i;

	for (i = 0; i < 8; i++) {
		p[i] = (unsigned char)(ts >> (8 * i));
		p[8 + i] = (unsigned char)(k->h >> (8 * i));
	}
}

static void
key_decode(const unsigned char *p, struct dedup_key *k)
{
	uint64_t	 ts = 0, h = 0;
	int		 i;

	for (i = 7; i >= 0; i--) {
		ts = (ts << 8) | p[i];
		h = (h << 8) | p[8 + i];
	}
	k->ts = (int64_t)ts;
	k->h = h;
}

/* A new NUL-terminated copy of p as valid UTF-8, at most max bytes. */
static char *
repair_dup(const char *p, size_t len, size_t max)
{
	size_t	 size;
	char	*s;

	/* Each invalid byte becomes 3: room for all, up to max. */
	size = len > max / 3 ? max : len * 3;
	s = xmalloc(size + 1);
	if (len == 0)
		s[0] = '\0';
	else
		utf8_repair(s, size + 1, p, len);
	return (s);
}

/*
 * A sample fit to keep: repaired, redacted (redact.h), then cut to
 * STORE_SAMPLE_MAX.  Redacting before the cut catches a secret that the
 * cut would have left half-recognisable.  Caller frees.
 */
static char *
sample_dup(const char *p, size_t len)
{
	char	*s, *r;

	s = repair_dup(p, len, 2 * STORE_SAMPLE_MAX);
	r = redact(s, strlen(s));
	free(s);
	if (strlen(r) <= STORE_SAMPLE_MAX)
		return (r);
	s = repair_dup(r, strlen(r), STORE_SAMPLE_MAX);
	free(r);
	return (s);
}

static void
store_grow(void **array, size_t *size, size_t count, size_t item_len)
{
	if (count < *size)
		return;
	*size = *size == 0 ? 16 : *size * 2;
	*array = xreallocarray(*array, *size, item_len);
}

/* Set *cause to "path: what: SQLite's message"; cause may be NULL. */
static void
store_cause(struct store *st, char **cause, const char *what)
{
	if (cause == NULL)
		return;
	xasprintf(cause, "%s: %s: %s", st->path, what,
	    sqlite3_errmsg(st->db));
}

static sqlite3_stmt *
store_stmt(struct store *st, enum store_stmt_id id, char **cause)
{
	if (st->stmt[id] == NULL &&
	    sqlite3_prepare_v3(st->db, store_sql[id], -1,
	    SQLITE_PREPARE_PERSISTENT, &st->stmt[id], NULL) != SQLITE_OK) {
		store_cause(st, cause, "preparing a statement");
		st->stmt[id] = NULL;
		return (NULL);
	}
	return (st->stmt[id]);
}

/* Step s to its end and reset it; what names the step in *cause. */
static int
store_finish(struct store *st, sqlite3_stmt *s, const char *what,
    char **cause)
{
	int	 rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE) {
		store_cause(st, cause, what);
		sqlite3_reset(s);
		return (-1);
	}
	sqlite3_reset(s);
	return (0);
}

/* Run a statement that takes no parameters. */
static int
store_simple(struct store *st, enum store_stmt_id id, const char *what,
    char **cause)
{
	sqlite3_stmt	*s;

	if ((s = store_stmt(st, id, cause)) == NULL)
		return (-1);
	return (store_finish(st, s, what, cause));
}

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

static void
bind_u64(sqlite3_stmt *s, int i, uint64_t v)
{
	sqlite3_bind_int64(s, i, (sqlite3_int64)v);
}

static char *
column_dup(sqlite3_stmt *s, int i)
{
	const unsigned char	*p;

	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return (NULL);
	p = sqlite3_column_text(s, i);
	return (xstrndup((const char *)p, (size_t)sqlite3_column_bytes(s, i)));
}

/* A single integer from an internal statement binding at most one text. */
static int
store_get_int(struct store *st, enum store_stmt_id id, const char *arg,
    int64_t *v, int *found, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((s = store_stmt(st, id, cause)) == NULL)
		return (-1);
	if (arg != NULL)
		bind_text(s, 1, arg);
	*found = 0;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW &&
	    sqlite3_column_type(s, 0) != SQLITE_NULL) {
		*v = sqlite3_column_int64(s, 0);
		*found = 1;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_cause(st, cause, "reading");
		sqlite3_reset(s);
		return (-1);
	}
	sqlite3_reset(s);
	return (0);
}

/* Read meta's newest_ts and dedup floor into st, keeping larger values. */
static int
store_load_meta(struct store *st, char **cause)
{
	int64_t	 v;
	int	 found;

	if (store_get_int(st, S_META_GET, store_meta_newest, &v, &found,
	    cause) == -1)
		return (-1);
	if (found && v > st->newest_ns)
		st->newest_ns = st->newest_committed_ns = v;
	if (store_get_int(st, S_META_GET, store_meta_floor, &v, &found,
	    cause) == -1)
		return (-1);
	if (found && v > st->floor_minute)
		st->floor_minute = v;
	return (0);
}

static int
store_load_epoch(struct store *st, char **cause)
{
	int	found;

	if (store_get_int(st, S_META_GET, store_meta_epoch,
	    &st->counting_epoch, &found, cause) == -1)
		return (-1);
	if (!found)
		st->counting_epoch = 0;
	return (0);
}

/* Inside a counting batch: tell other connections it happened. */
static int
store_bump_epoch(struct store *st, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((s = store_stmt(st, S_META_BUMP, cause)) == NULL)
		return (-1);
	bind_text(s, 1, store_meta_epoch);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		st->counting_epoch = sqlite3_column_int64(s, 0);
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_cause(st, cause, "writing meta");
		return (-1);
	}
	return (0);
}

static int
store_meta_max(struct store *st, const char *key, int64_t v, char **cause)
{
	sqlite3_stmt	*s;

	if ((s = store_stmt(st, S_META_MAX, cause)) == NULL)
		return (-1);
	bind_text(s, 1, key);
	sqlite3_bind_int64(s, 2, v);
	return (store_finish(st, s, "writing meta", cause));
}

/* Run sql (no parameters, no rows wanted) outside the statement cache. */
static int
store_exec(struct store *st, const char *sql, const char *what,
    char **cause)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		store_cause(st, cause, what);
		return (-1);
	}
	return (0);
}

static int
store_user_version(struct store *st, int *version, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s,
	    NULL) != SQLITE_OK) {
		store_cause(st, cause, "reading the schema version");
		return (-1);
	}
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*version = sqlite3_column_int(s, 0);
	else
		store_cause(st, cause, "reading the schema version");
	sqlite3_finalize(s);
	return (rc == SQLITE_ROW ? 0 : -1);
}

/*
 * Apply the migrations the file lacks, each in its own transaction that
 * also sets user_version.  The version is read again inside the
 * transaction: another process may have migrated meanwhile.
 */
static int
store_migrate(struct store *st, char **cause)
{
	const int	 n = (int)(sizeof(store_migrations) /
			    sizeof(store_migrations[0]));
	int		 version;
	char		*sql, what[64];

	if (store_user_version(st, &version, cause) == -1)
		return (-1);
	while (version < n) {
		if (store_exec(st, "BEGIN IMMEDIATE", "migrating", cause) == -1)
			return (-1);
		if (store_user_version(st, &version, cause) == -1)
			goto fail;
		if (version >= n)
			break;
		snprintf(what, sizeof(what), "applying schema migration %03d",
		    version + 1);
		if (store_exec(st, store_migrations[version], what,
		    cause) == -1)
			goto fail;
		xasprintf(&sql, "PRAGMA user_version = %d", version + 1);
		if (store_exec(st, sql, what, cause) == -1) {
			free(sql);
			goto fail;
		}
		free(sql);
		if (store_exec(st, "COMMIT", what, cause) == -1)
			goto fail;
		version++;
	}
	if (!sqlite3_get_autocommit(st->db) &&
	    store_exec(st, "COMMIT", "migrating", cause) == -1)
		goto fail;
	if (version > n) {
		xasprintf(cause, "%s: schema version %d is newer than this "
		    "logaudit knows (%d): upgrade logaudit", st->path,
		    version, n);
		return (-1);
	}
	return (0);
fail:
	if (!sqlite3_get_autocommit(st->db))
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return (-1);
}

static int
store_data_version(struct store *st, int64_t *v, char **cause)
{
	int	 found;

	if (store_get_int(st, S_DATA_VERSION, NULL, v, &found, cause) == -1)
		return (-1);
	if (!found) {
		xasprintf(cause, "%s: PRAGMA data_version gave no value",
		    st->path);
		return (-1);
	}
	return (0);
}

/* Connect, refuse what cannot be written, and set the pragmas. */
static int
store_connect(struct store *st, char **cause)
{
	const char	*mode;
	sqlite3_stmt	*s;
	int		 rc, err;

	rc = sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err = st->db != NULL ? sqlite3_system_errno(st->db) : 0;
		xasprintf(cause, "%s: cannot open the database: %s%s%s",
		    st->path, st->db != NULL ? sqlite3_errmsg(st->db) :
		    sqlite3_errstr(rc), err != 0 ? ": " : "",
		    err != 0 ? strerror(err) : "");
		return (-1);
	}
	/* SQLite falls back to read-only when it may not write. */
	if (sqlite3_db_readonly(st->db, "main") == 1) {
		xasprintf(cause, "%s: the database cannot be written "
		    "(permissions?)", st->path);
		return (-1);
	}
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	/* The first real read: a file that is no database fails here. */
	s = NULL;
	if ((rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1,
	    &s, NULL)) != SQLITE_OK || (rc = sqlite3_step(s)) != SQLITE_ROW) {
		if ((rc & 0xff) == SQLITE_READONLY ||
		    (rc & 0xff) == SQLITE_CANTOPEN)
			xasprintf(cause, "%s: the database cannot be written: "
			    "%s (WAL creates %s-wal: is the directory "
			    "writable?)", st->path, sqlite3_errmsg(st->db),
			    st->path);
		else
			store_cause(st, cause, "cannot use the database");
		sqlite3_finalize(s);
		return (-1);
	}
	mode = (const char *)sqlite3_column_text(s, 0);
	if (mode == NULL || (strcmp(mode, "wal") != 0 &&
	    strcmp(mode, "memory") != 0))
		log_warnx("%s: journal mode %s, not WAL: readers will block "
		    "ingest", st->path, mode != NULL ? mode : "unknown");
	sqlite3_finalize(s);
	/* NORMAL: a power cut may lose the last commits, never corrupt. */
	if (store_exec(st, "PRAGMA synchronous = NORMAL; "
	    "PRAGMA foreign_keys = ON; "
	    "PRAGMA cache_size = -8192",	/* KiB: 8 MiB of pages */
	    "setting pragmas", cause) == -1)
		return (-1);
	return (0);
}

struct store *
store_open(const char *path, char **cause)
{
	struct store	*st;

	st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(path);
	st->window_ns = STORE_DEDUP_WINDOW_DEFAULT;
	st->newest_ns = st->newest_committed_ns = TIME_NONE;
	st->floor_minute = INT64_MIN;
	st->pruned_minute = TIME_NONE;
	st->minute_sets = hmap_new(sizeof(int64_t), sizeof(struct hmap *));
	st->rev_index = hmap_new(sizeof(uint64_t), sizeof(uint32_t));
	st->pattern_index = hmap_new(sizeof(uint64_t), sizeof(uint32_t));
	st->minute_index = hmap_new(sizeof(int64_t), sizeof(uint32_t));
	st->exposure = hmap_new(sizeof(struct exposure_key),
	    LOG_KIND_COUNT * sizeof(uint64_t));
	st->counts = hmap_new(sizeof(struct count_key), sizeof(uint64_t));
	st->rev_patterns = hmap_new(sizeof(struct rp_key),
	    sizeof(struct rp_val));
	st->last_rev = STORE_NONE;
	st->last_batch_minute = STORE_NONE;

	if (store_connect(st, cause) == -1 ||
	    store_migrate(st, cause) == -1 ||
	    store_load_meta(st, cause) == -1 ||
	    store_load_epoch(st, cause) == -1 ||
	    store_data_version(st, &st->data_version, cause) == -1) {
		store_close(st);
		return (NULL);
	}
	return (st);
}

/* Forget the batch: deltas, interned names, pending keys of minutes. */
static void
store_batch_clear(struct store *st)
{
	size_t	 i;
	int	 j;

	for (i = 0; i < st->revs_count; i++) {
		for (j = 0; j < 4; j++) {
			free(st->revs[i].raw[j]);
			free(st->revs[i].name[j]);
		}
		free(st->revs[i].commit_sha);
		free(st->revs[i].build_id);
	}
	st->revs_count = 0;
	for (i = 0; i < st->patterns_count; i++) {
		free(st->patterns[i].id);
		free(st->patterns[i].tpl_text);
	}
	st->patterns_count = 0;
	for (i = 0; i < st->minutes_count; i++)
		free(st->minutes[i].keys);
	st->minutes_count = 0;
	for (i = 0; i < st->samples_count; i++) {
		free(st->samples[i].message);
		free(st->samples[i].insert_id);
	}
	st->samples_count = 0;
	for (i = 0; i < st->sources_count; i++)
		free(st->sources[i].s.path);
	st->sources_count = 0;
	free(st->meta_key);
	st->meta_key = NULL;
	hmap_clear(st->rev_index);
	hmap_clear(st->pattern_index);
	hmap_clear(st->minute_index);
	hmap_clear(st->exposure);
	hmap_clear(st->counts);
	hmap_clear(st->rev_patterns);
	st->last_rev = STORE_NONE;
	st->last_batch_minute = STORE_NONE;
	st->last_exposure = NULL;
	st->pending = 0;
}

/* Drop the in-memory key set; minutes reload from dedup on demand. */
static void
store_forget_keys(struct store *st)
{
	const void	*key;
	void		*val;
	size_t		 iter = 0;

	while (hmap_next(st->minute_sets, &iter, &key, &val))
		hmap_free(*(struct hmap **)val);
	hmap_clear(st->minute_sets);
	st->keys_count = 0;
	st->last_batch_minute = STORE_NONE;
	st->last_set = NULL;
	st->other_writer = 0;
}

void
store_close(struct store *st)
{
	int	 i;

	if (st == NULL)
		return;
	store_batch_clear(st);
	store_forget_keys(st);
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		log_warnx("%s: closing: %s", st->path, sqlite3_errmsg(st->db));
	hmap_free(st->minute_sets);
	hmap_free(st->rev_index);
	hmap_free(st->pattern_index);
	hmap_free(st->minute_index);
	hmap_free(st->exposure);
	hmap_free(st->counts);
	hmap_free(st->rev_patterns);
	free(st->revs);
	free(st->patterns);
	free(st->minutes);
	free(st->samples);
	free(st->sources);
	free(st->catalogue);
	free(st->path);
	free(st);
}

void
store_set_dedup_window(struct store *st, int64_t ns)
{
	st->window_ns = ns < 0 ? 0 : ns;
}

/*
 * Attribution to a catalogue is per batch, so a new catalogue may only
 * start between batches.
 */
int
store_set_catalogue(struct store *st, const char *version,
    const struct store_pattern *p, size_t n, char **cause)
{
	sqlite3_stmt	*s;
	size_t		 i;

	if (st->pending > 0) {
		xasprintf(cause, "%s: catalogue changed with %zu entries "
		    "not committed", st->path, st->pending);
		return (-1);
	}
	if (store_simple(st, S_BEGIN, "recording the catalogue",
	    cause) == -1)
		return (-1);
	if ((s = store_stmt(st, S_CAT_VERSION, cause)) == NULL)
		goto fail;
	bind_text(s, 1, version);
	sqlite3_bind_int64(s, 2, time_now_ns());
	bind_u64(s, 3, n);
	if (store_finish(st, s, "recording the catalogue", cause) == -1)
		goto fail;
	if ((s = store_stmt(st, S_CAT_PATTERN, cause)) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		bind_text(s, 1, version);
		bind_text(s, 2, p[i].id);
		bind_text(s, 3, p[i].title != NULL ? p[i].title : "");
		bind_text(s, 4, p[i].category != NULL ? p[i].category : "");
		bind_text(s, 5, p[i].level != NULL ? p[i].level : "");
		if (store_finish(st, s, "recording the catalogue",
		    cause) == -1)
			goto fail;
	}
	if (store_simple(st, S_COMMIT, "recording the catalogue",
	    cause) == -1)
		goto fail;
	free(st->catalogue);
	st->catalogue = xstrdup(version);
	return (0);
fail:
	if (!sqlite3_get_autocommit(st->db))
		(void)store_simple(st, S_ROLLBACK, "rolling back", NULL);
	return (-1);
}

/*
 * Close the runs of this host still 'running' whose process is gone: it
 * was killed or crashed, and what it committed stands (its counts and
 * positions were written together), but nobody will end its run.
 */
static int
store_close_dead_runs(struct store *st, const char *host, char **cause)
{
	sqlite3_stmt	*s, *d;
	int64_t		*dead = NULL;
	size_t		 n = 0, i;
	int		 rc;
	pid_t		 pid;

	if ((s = store_stmt(st, S_RUN_ORPHANS, cause)) == NULL)
		return (-1);
	bind_text(s, 1, host);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		pid = (pid_t)sqlite3_column_int64(s, 1);
		if (pid <= 0 || (kill(pid, 0) == -1 && errno == ESRCH)) {
			dead = xreallocarray(dead, n + 1, sizeof(*dead));
			dead[n++] = sqlite3_column_int64(s, 0);
		}
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_cause(st, cause, "reading the runs");
		free(dead);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		if ((d = store_stmt(st, S_RUN_DIED, cause)) == NULL)
			break;
		sqlite3_bind_int64(d, 1, dead[i]);
		if (store_finish(st, d, "closing a dead run", cause) == -1)
			break;
	}
	free(dead);
	return (i == n ? 0 : -1);
}

int
store_run_begin(struct store *st, const char *source, char **cause)
{
	sqlite3_stmt	*s;
	char		 host[256];

	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if (store_close_dead_runs(st, host, cause) == -1)
		return (-1);
	if ((s = store_stmt(st, S_RUN_INSERT, cause)) == NULL)
		return (-1);
	bind_text(s, 1, source);
	sqlite3_bind_int64(s, 2, time_now_ns());
	bind_text(s, 3, st->catalogue);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)getpid());
	bind_text(s, 5, host);
	if (store_finish(st, s, "starting the run", cause) == -1)
		return (-1);
	st->run_id = sqlite3_last_insert_rowid(st->db);
	return (0);
}

/*
 * Write p (NULL: leave the numbers) and, when status is not NULL, end the
 * run with it.
 */
static int
store_write_run(struct store *st, const struct store_progress *p,
    const char *status, const char *message, char **cause)
{
	sqlite3_stmt	*s;
	int64_t		 now = time_now_ns();

	if ((s = store_stmt(st, S_RUN_UPDATE, cause)) == NULL)
		return (-1);
	sqlite3_clear_bindings(s);
	sqlite3_bind_int64(s, 1, st->run_id);
	sqlite3_bind_int64(s, 2, now);
	if (p != NULL) {
		bind_u64(s, 3, p->bytes);
		bind_u64(s, 4, p->entries);
		bind_u64(s, 5, p->counted);
		bind_u64(s, 6, p->duplicates);
		bind_u64(s, 7, p->too_old);
		bind_u64(s, 8, p->bad);
		bind_u64(s, 9, p->skipped_lines);
		bind_u64(s, 10, p->offset);
		sqlite3_bind_int(s, 11, p->in_array != 0);
	}
	bind_text(s, 12, st->catalogue);
	if (status != NULL) {
		sqlite3_bind_int64(s, 13, now);
		bind_text(s, 14, status);
		bind_text(s, 15, message);
	}
	return (store_finish(st, s, "recording the run", cause));
}

int
store_run_end(struct store *st, const struct store_progress *p,
    const char *status, const char *message, char **cause)
{
	if (st->run_id == 0) {
		xasprintf(cause, "%s: no run to end", st->path);
		return (-1);
	}
	if (store_write_run(st, p, status, message, cause) == -1)
		return (-1);
	st->run_id = 0;
	return (0);
}

/* True when an entry at ts is refused as too old. */
static int
store_too_old(const struct store *st, int64_t ts, int64_t minute)
{
	if (minute < st->floor_minute)
		return (1);	/* its minute's keys may have been pruned */
	if (st->newest_ns == TIME_NONE || ts >= st->newest_ns)
		return (0);
	/* newest > ts, so the unsigned difference is exact. */
	return ((uint64_t)st->newest_ns - (uint64_t)ts >
	    (uint64_t)st->window_ns);
}

static int
store_minute_load(struct store *st, int64_t minute, struct hmap *set,
    char **cause)
{
	const unsigned char	*p;
	struct dedup_key	 k;
	sqlite3_stmt		*s;
	size_t			 len, i;
	int			 rc;

	if ((s = store_stmt(st, S_DEDUP_SELECT, cause)) == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, minute);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		p = sqlite3_column_blob(s, 0);
		len = (size_t)sqlite3_column_bytes(s, 0);
		if (len % STORE_KEY_LEN != 0)
			log_warnx("%s: dedup keys of minute %lld: %zu stray "
			    "bytes ignored", st->path, (long long)minute,
			    len % STORE_KEY_LEN);
		for (i = 0; i + STORE_KEY_LEN <= len; i += STORE_KEY_LEN) {
			key_decode(p + i, &k);
			(void)hmap_put(set, &k, NULL);
		}
	}
	if (rc != SQLITE_DONE) {
		store_cause(st, cause, "loading dedup keys");
		sqlite3_reset(s);
		return (-1);
	}
	sqlite3_reset(s);
	return (0);
}

/* Make minute current: its stored keys loaded, a batch slot for new ones. */
static int
store_minute_enter(struct store *st, int64_t minute, char **cause)
{
	struct batch_minute	*bm;
	struct hmap		**setp, *set;
	uint32_t		*idx;
	int			 is_new;

	if ((setp = hmap_get(st->minute_sets, &minute)) != NULL)
		set = *setp;
	else {
		set = hmap_new(sizeof(struct dedup_key), 0);
		if (store_minute_load(st, minute, set, cause) == -1) {
			hmap_free(set);
			return (-1);
		}
		st->keys_count += hmap_count(set);
		setp = hmap_put(st->minute_sets, &minute, NULL);
		*setp = set;
	}
	idx = hmap_put(st->minute_index, &minute, &is_new);
	if (is_new) {
		store_grow((void **)&st->minutes, &st->minutes_size,
		    st->minutes_count, sizeof(*st->minutes));
		bm = &st->minutes[st->minutes_count];
		memset(bm, 0, sizeof(*bm));
		bm->minute = minute;
		*idx = (uint32_t)st->minutes_count++;
	}
	st->last_minute = minute;
	st->last_set = set;
	st->last_batch_minute = *idx;
	return (0);
}

static enum store_verdict
store_dedup(struct store *st, const struct log_entry *e, int64_t minute,
    char **cause)
{
	struct batch_minute	*bm;
	struct dedup_key	 k;
	int			 is_new;

	if (st->last_batch_minute == STORE_NONE || st->last_minute != minute) {
		/* Nothing pending means every key in memory is stored: the
		 * sets can go before they grow (a re-read of a big export is
		 * all duplicates and never commits). */
		if (st->pending == 0 && st->keys_count > STORE_DEDUP_KEYS_MAX)
			store_forget_keys(st);
		if (store_minute_enter(st, minute, cause) == -1)
			return (STORE_ERROR);
	}
	k.ts = e->timestamp_ns;
	k.h = hash64(e->log_name.p, e->log_name.len,
	    hash64(e->insert_id.p, e->insert_id.len, 0));
	(void)hmap_put(st->last_set, &k, &is_new);
	if (!is_new)
		return (STORE_DUPLICATE);
	st->keys_count++;
	bm = &st->minutes[st->last_batch_minute];
	if (bm->keys_len == bm->keys_size) {
		bm->keys_size = bm->keys_size == 0 ? 64 * STORE_KEY_LEN :
		    bm->keys_size * 2;
		bm->keys = xreallocarray(bm->keys, bm->keys_size, 1);
	}
	key_encode(bm->keys + bm->keys_len, &k);
	bm->keys_len += STORE_KEY_LEN;
	return (STORE_COUNTED);
}

static int
rev_matches(const struct batch_rev *r, const struct str *const f[4])
{
	int	 i;

	for (i = 0; i < 4; i++) {
		if (r->raw_len[i] != f[i]->len || (f[i]->len > 0 &&
		    memcmp(r->raw[i], f[i]->p, f[i]->len) != 0))
			return (0);
	}
	return (1);
}

/* The batch index of e's revision, added when new. */
static uint32_t
store_rev(struct store *st, const struct log_entry *e)
{
	const struct str *const f[4] = {
		&e->project, &e->location, &e->service, &e->revision
	};
	struct batch_rev	*r;
	uint64_t		 h = 0;
	uint32_t		*head, ri;
	int			 i, is_new;

	if (st->last_rev != STORE_NONE &&
	    rev_matches(&st->revs[st->last_rev], f))
		return (st->last_rev);
	for (i = 0; i < 4; i++)
		h = hash64(f[i]->p, f[i]->len, h);
	head = hmap_put(st->rev_index, &h, &is_new);
	if (!is_new) {
		for (ri = *head; ri != STORE_NONE; ri = st->revs[ri].next)
			if (rev_matches(&st->revs[ri], f))
				return (st->last_rev = ri);
	}
	store_grow((void **)&st->revs, &st->revs_size, st->revs_count,
	    sizeof(*st->revs));
	ri = (uint32_t)st->revs_count++;
	r = &st->revs[ri];
	memset(r, 0, sizeof(*r));
	for (i = 0; i < 4; i++) {
		r->raw_len[i] = f[i]->len;
		r->raw[i] = f[i]->len > 0 ? xstrndup(f[i]->p, f[i]->len) :
		    xstrdup("");
		r->name[i] = repair_dup(f[i]->p, f[i]->len, 3 * f[i]->len);
	}
	r->first_ns = INT64_MAX;
	r->last_ns = INT64_MIN;
	r->next = is_new ? STORE_NONE : *head;
	*head = ri;
	return (st->last_rev = ri);
}

/* The batch index of pattern id, added when new. */
static uint32_t
store_pattern(struct store *st, const char *id)
{
	size_t		 len = strlen(id);
	uint64_t	 h = hash64(id, len, 0);
	uint32_t	*head, pi;
	int		 is_new;

	head = hmap_put(st->pattern_index, &h, &is_new);
	if (!is_new) {
		for (pi = *head; pi != STORE_NONE; pi = st->patterns[pi].next)
			if (strcmp(st->patterns[pi].id, id) == 0)
				return (pi);
	}
	store_grow((void **)&st->patterns, &st->patterns_size,
	    st->patterns_count, sizeof(*st->patterns));
	pi = (uint32_t)st->patterns_count++;
	memset(&st->patterns[pi], 0, sizeof(st->patterns[pi]));
	st->patterns[pi].id = xstrdup(id);
	st->patterns[pi].next = is_new ? STORE_NONE : *head;
	*head = pi;
	return (pi);
}

static uint64_t
store_sample(struct store *st, const struct log_entry *e)
{
	struct batch_sample	*bs;

	store_grow((void **)&st->samples, &st->samples_size,
	    st->samples_count, sizeof(*st->samples));
	bs = &st->samples[st->samples_count];
	bs->message = sample_dup(e->message.p, e->message.len);
	bs->insert_id = repair_dup(e->insert_id.p, e->insert_id.len,
	    3 * e->insert_id.len);
	return (st->samples_count++);
}

static void
store_count_rev(struct store *st, struct batch_rev *r,
    const struct log_entry *e)
{
	int64_t	 ts = e->timestamp_ns;

	r->entries++;
	if (e->kind == LOG_REQUESTS)
		r->requests++;
	r->severity[severity_index(e->severity)]++;
	if (ts < r->first_ns)
		r->first_ns = ts;
	if (ts > r->last_ns)
		r->last_ns = ts;
	if (r->commit_sha == NULL && e->commit_sha.len > 0)
		r->commit_sha = repair_dup(e->commit_sha.p, e->commit_sha.len,
		    3 * e->commit_sha.len);
	if (r->build_id == NULL && e->build_id.len > 0)
		r->build_id = repair_dup(e->build_id.p, e->build_id.len,
		    3 * e->build_id.len);
}

static void
store_count_exposure(struct store *st, uint32_t ri, int64_t minute,
    enum log_kind kind)
{
	struct exposure_key	 k;

	if ((unsigned)kind >= LOG_KIND_COUNT)
		kind = LOG_OTHER;
	if (st->last_exposure == NULL || st->last_exposure_key.rev != ri ||
	    st->last_exposure_key.minute != minute) {
		memset(&k, 0, sizeof(k));
		k.rev = ri;
		k.minute = minute;
		/* The only put into exposure: the pointer stays valid. */
		st->last_exposure = hmap_put(st->exposure, &k, NULL);
		st->last_exposure_key = k;
	}
	st->last_exposure[kind]++;
}

static void
store_count_pattern(struct store *st, uint32_t ri, uint32_t pi,
    int64_t minute, const struct log_entry *e)
{
	struct count_key	 ck;
	struct rp_key		 rk;
	struct rp_val		*rv;
	uint64_t		*c;
	int			 is_new;

	ck.rev = ri;
	ck.pattern = pi;
	ck.minute = minute;
	c = hmap_put(st->counts, &ck, NULL);
	(*c)++;

	rk.rev = ri;
	rk.pattern = pi;
	rv = hmap_put(st->rev_patterns, &rk, &is_new);
	if (is_new) {
		rv->first_ns = rv->last_ns = e->timestamp_ns;
		rv->sample = store_sample(st, e);
	}
	rv->count++;
	rv->log_kinds |= 1u << (e->kind < LOG_KIND_COUNT ? e->kind : LOG_OTHER);
	if (e->timestamp_ns < rv->first_ns)
		rv->first_ns = e->timestamp_ns;
	if (e->timestamp_ns > rv->last_ns)
		rv->last_ns = e->timestamp_ns;
}

void
store_template(struct store *st, const char *id, const char *text,
    int64_t ts)
{
	struct batch_pattern	*bp;
	uint32_t		 pi;

	pi = store_pattern(st, id);	/* may move st->patterns */
	bp = &st->patterns[pi];
	if (bp->tpl_text == NULL || strcmp(bp->tpl_text, text) != 0) {
		free(bp->tpl_text);
		bp->tpl_text = repair_dup(text, strlen(text), STORE_SAMPLE_MAX);
	}
	if (bp->tpl_first_ns == 0 || ts < bp->tpl_first_ns)
		bp->tpl_first_ns = ts;
	if (ts > bp->tpl_last_ns)
		bp->tpl_last_ns = ts;
}

int
store_templates_each(struct store *st, store_template_fn fn, void *arg,
    char **cause)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((s = store_stmt(st, S_TPL_EACH, cause)) == NULL)
		return (-1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (fn((const char *)sqlite3_column_text(s, 0),
		    (const char *)sqlite3_column_text(s, 1),
		    (uint64_t)sqlite3_column_int64(s, 2), arg) == -1)
			break;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_cause(st, cause, "reading templates");
		sqlite3_reset(s);
		return (-1);
	}
	sqlite3_reset(s);
	return (0);
}

int
store_templates(struct store *st, const char *service, const char *revision,
    struct store_template_row **out, size_t *n, char **cause)
{
	struct store_template_row	*v = NULL, *t;
	sqlite3_stmt			*s;
	size_t				 count = 0, size = 0;
	int				 rc;

	if ((s = store_stmt(st, S_TPL_LIST, cause)) == NULL)
		return (-1);
	bind_text(s, 1, service);
	bind_text(s, 2, revision);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_grow((void **)&v, &size, count, sizeof(*v));
		t = &v[count++];
		t->id = column_dup(s, 0);
		t->text = column_dup(s, 1);
		t->project = column_dup(s, 2);
		t->location = column_dup(s, 3);
		t->service = column_dup(s, 4);
		t->revision = column_dup(s, 5);
		t->count = (uint64_t)sqlite3_column_int64(s, 6);
		t->first_ns = sqlite3_column_int64(s, 7);
		t->last_ns = sqlite3_column_int64(s, 8);
		t->sample = column_dup(s, 9);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_cause(st, cause, "reading templates");
		store_templates_free(v, count);
		return (-1);
	}
	*out = v;
	*n = count;
	return (0);
}

void
store_templates_free(struct store_template_row *v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].text);
		free(v[i].project);
		free(v[i].location);
		free(v[i].service);
		free(v[i].revision);
		free(v[i].sample);
	}
	free(v);
}

enum store_verdict
store_add(struct store *st, const struct log_entry *e,
    const char *const *pattern_ids, size_t n, char **cause)
{
	enum store_verdict	 v;
	int64_t			 minute = minute_of(e->timestamp_ns);
	uint32_t		 ri;
	size_t			 i;

	if (!e->is_text) {
		if (store_too_old(st, e->timestamp_ns, minute))
			return (STORE_TOO_OLD);
		if ((v = store_dedup(st, e, minute, cause)) != STORE_COUNTED)
			return (v);
		if (e->timestamp_ns > st->newest_ns)
			st->newest_ns = e->timestamp_ns;
	}
	ri = store_rev(st, e);
	store_count_rev(st, &st->revs[ri], e);
	store_count_exposure(st, ri, minute, e->kind);
	for (i = 0; i < n; i++)
		store_count_pattern(st, ri, store_pattern(st, pattern_ids[i]),
		    minute, e);
	st->pending++;
	return (STORE_COUNTED);
}

size_t
store_pending(const struct store *st)
{
	return (st->pending);
}

/* How many of bm's keys the dedup table already holds. */
static int
store_minute_conflicts(struct store *st, const struct batch_minute *bm,
    size_t *conflicts, char **cause)
{
	const unsigned char	*p;
	struct dedup_key	 k;
	struct hmap		*mine;
	sqlite3_stmt		*s;
	size_t			 len, i;
	int			 rc;

	if ((s = store_stmt(st, S_DEDUP_SELECT, cause)) == NULL)
		return (-1);
	mine = hmap_new(sizeof(struct dedup_key), 0);
	for (i = 0; i + STORE_KEY_LEN <= bm->keys_len; i += STORE_KEY_LEN) {
		key_decode(bm->keys + i, &k);
		(void)hmap_put(mine, &k, NULL);
	}
	sqlite3_bind_int64(s, 1, bm->minute);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		p = sqlite3_column_blob(s, 0);
		len = (size_t)sqlite3_column_bytes(s, 0);
		for (i = 0; i + STORE_KEY_LEN <= len; i += STORE_KEY_LEN) {
			key_decode(p + i, &k);
			if (hmap_get(mine, &k) != NULL)
				(*conflicts)++;
		}
	}
	hmap_free(mine);
	if (rc != SQLITE_DONE) {
		store_cause(st, cause, "checking dedup keys");
		sqlite3_reset(s);
		return (-1);
	}
	sqlite3_reset(s);
	return (0);
}

/*
 * Inside the batch's transaction: when another connection has committed
 * since the key set was last complete, the set may lack its keys, so the
 * batch's new keys are checked against the table.  A batch that overlaps
 * is refused whole: its deltas cannot be taken apart any more.
 */
static int
store_check_writers(struct store *st, char **cause)
{
	int64_t	 dv;
	size_t	 i, conflicts = 0;

	int64_t	 epoch = st->counting_epoch;

	if (store_data_version(st, &dv, cause) == -1)
		return (-1);
	if (dv == st->data_version)
		return (0);
	st->data_version = dv;
	if (store_load_epoch(st, cause) == -1)
		return (-1);
	if (st->counting_epoch == epoch)
		return (0);	/* others wrote, but counted nothing */
	st->other_writer = 1;
	for (i = 0; i < st->minutes_count; i++) {
		if (store_minute_conflicts(st, &st->minutes[i], &conflicts,
		    cause) == -1)
			return (-1);
	}
	if (conflicts > 0) {
		xasprintf(cause, "%s: another process counted %zu entries of "
		    "this batch meanwhile; batch dropped", st->path,
		    conflicts);
		return (-1);
	}
	return (store_load_meta(st, cause));
}

static int
store_write_revisions(struct store *st, char **cause)
{
	struct batch_rev	*r;
	sqlite3_stmt		*s;
	long long		 seq;
	size_t			 i;
	int			 j, rc;

	if ((s = store_stmt(st, S_REV_UPSERT, cause)) == NULL)
		return (-1);
	for (i = 0; i < st->revs_count; i++) {
		r = &st->revs[i];
		for (j = 0; j < 4; j++)
			bind_text(s, j + 1, r->name[j]);
		seq = revision_sequence(r->raw[3], r->raw_len[3]);
		if (seq < 0)
			sqlite3_bind_null(s, 5);
		else
			sqlite3_bind_int64(s, 5, seq);
		sqlite3_bind_int64(s, 6, r->first_ns);
		sqlite3_bind_int64(s, 7, r->last_ns);
		bind_u64(s, 8, r->entries);
		bind_u64(s, 9, r->requests);
		for (j = 0; j < SEVERITY_COUNT; j++)
			bind_u64(s, 10 + j, r->severity[j]);
		bind_text(s, 19, r->commit_sha);
		bind_text(s, 20, r->build_id);
		if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
			store_cause(st, cause, "writing a revision");
			sqlite3_reset(s);
			return (-1);
		}
		r->id = sqlite3_column_int64(s, 0);
		if (store_finish(st, s, "writing a revision", cause) == -1)
			return (-1);
	}
	return (0);
}

static int
store_write_exposure(struct store *st, char **cause)
{
	const struct exposure_key	*k;
	const uint64_t			*v;
	sqlite3_stmt			*s;
	uint64_t			 sum;
	size_t				 iter = 0;
	void				*val;
	const void			*key;
	int				 i;

	if ((s = store_stmt(st, S_EXPOSURE_UPSERT, cause)) == NULL)
		return (-1);
	while (hmap_next(st->exposure, &iter, &key, &val)) {
		k = key;
		v = val;
		sqlite3_bind_int64(s, 1, st->revs[k->rev].id);
		sqlite3_bind_int64(s, 2, k->minute);
		for (i = 0, sum = 0; i < LOG_KIND_COUNT; i++)
			sum += v[i];
		bind_u64(s, 3, sum);
		/* Columns 4.. follow enum log_kind. */
		for (i = 0; i < LOG_KIND_COUNT; i++)
			bind_u64(s, 4 + i, v[i]);
		if (store_finish(st, s, "writing exposure", cause) == -1)
			return (-1);
	}
	return (0);
}

static int
store_write_counts(struct store *st, char **cause)
{
	const struct count_key	*k;
	sqlite3_stmt		*s;
	size_t			 iter = 0;
	void			*val;
	const void		*key;

	if ((s = store_stmt(st, S_COUNT_UPSERT, cause)) == NULL)
		return (-1);
	while (hmap_next(st->counts, &iter, &key, &val)) {
		k = key;
		sqlite3_bind_int64(s, 1, st->revs[k->rev].id);
		bind_text(s, 2, st->patterns[k->pattern].id);
		sqlite3_bind_int64(s, 3, k->minute);
		bind_u64(s, 4, *(const uint64_t *)val);
		if (store_finish(st, s, "writing counts", cause) == -1)
			return (-1);
	}
	return (0);
}

static int
store_write_rev_patterns(struct store *st, char **cause)
{
	const struct rp_key	*k;
	const struct rp_val	*v;
	sqlite3_stmt		*s;
	size_t			 iter = 0;
	void			*val;
	const void		*key;

	if ((s = store_stmt(st, S_RP_UPSERT, cause)) == NULL)
		return (-1);
	while (hmap_next(st->rev_patterns, &iter, &key, &val)) {
		k = key;
		v = val;
		sqlite3_bind_int64(s, 1, st->revs[k->rev].id);
		bind_text(s, 2, st->patterns[k->pattern].id);
		bind_u64(s, 3, v->count);
		sqlite3_bind_int64(s, 4, v->first_ns);
		sqlite3_bind_int64(s, 5, v->last_ns);
		bind_text(s, 6, st->samples[v->sample].message);
		bind_text(s, 7, st->samples[v->sample].insert_id);
		bind_text(s, 8, st->catalogue);
		sqlite3_bind_int64(s, 9, v->log_kinds);
		if (store_finish(st, s, "writing pattern totals", cause) == -1)
			return (-1);
	}
	return (0);
}

static int
store_write_templates(struct store *st, char **cause)
{
	struct batch_pattern	*bp;
	sqlite3_stmt		*s;
	size_t			 i;
	char			*text;
	int			 rc;

	if ((s = store_stmt(st, S_TPL_UPSERT, cause)) == NULL)
		return (-1);
	for (i = 0; i < st->patterns_count; i++) {
		bp = &st->patterns[i];
		if (bp->tpl_text == NULL)
			continue;
		/* the text as masked can still hold a secret's shape */
		text = sample_dup(bp->tpl_text, strlen(bp->tpl_text));
		bind_text(s, 1, bp->id);
		bind_text(s, 2, text);
		sqlite3_bind_int64(s, 3, bp->tpl_first_ns);
		sqlite3_bind_int64(s, 4, bp->tpl_last_ns);
		rc = store_finish(st, s, "writing templates", cause);
		free(text);
		if (rc == -1)
			return (-1);
	}
	return (0);
}

static int
store_write_catalogues(struct store *st, char **cause)
{
	sqlite3_stmt	*s;
	size_t		 i;

	if (st->catalogue == NULL)
		return (0);
	if ((s = store_stmt(st, S_RC_UPSERT, cause)) == NULL)
		return (-1);
	for (i = 0; i < st->revs_count; i++) {
		sqlite3_bind_int64(s, 1, st->revs[i].id);
		bind_text(s, 2, st->catalogue);
		bind_u64(s, 3, st->revs[i].entries);
		bind_u64(s, 4, st->untemplated ? st->revs[i].entries : 0);
		if (store_finish(st, s, "writing revision catalogues",
		    cause) == -1)
			return (-1);
	}
	return (0);
}

static int
store_write_dedup(struct store *st, char **cause)
{
	sqlite3_stmt	*s;
	size_t		 i;

	if ((s = store_stmt(st, S_DEDUP_INSERT, cause)) == NULL)
		return (-1);
	for (i = 0; i < st->minutes_count; i++) {
		if (st->minutes[i].keys_len == 0)
			continue;
		sqlite3_bind_int64(s, 1, st->minutes[i].minute);
		sqlite3_bind_blob(s, 2, st->minutes[i].keys,
		    (int)st->minutes[i].keys_len, SQLITE_TRANSIENT);
		if (store_finish(st, s, "writing dedup keys", cause) == -1)
			return (-1);
	}
	return (0);
}

/*
 * Delete dedup rows of minutes before newest - window, whose entries are
 * refused as too old anyway, and raise the floor so that a wider window
 * set later cannot count them again.  Runs on the first commit and then
 * each time the newest minute has moved on by STORE_PRUNE_MINUTES.
 */
static int
store_prune(struct store *st, char **cause)
{
	sqlite3_stmt	*s;
	int64_t		 newest_minute, cutoff;

	if (st->newest_ns == TIME_NONE ||
	    st->newest_ns < INT64_MIN + st->window_ns)
		return (0);
	newest_minute = minute_of(st->newest_ns);
	if (st->pruned_minute != TIME_NONE &&
	    newest_minute - st->pruned_minute < STORE_PRUNE_MINUTES)
		return (0);
	cutoff = minute_of(st->newest_ns - st->window_ns);
	if ((s = store_stmt(st, S_DEDUP_PRUNE, cause)) == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, cutoff);
	if (store_finish(st, s, "pruning dedup keys", cause) == -1)
		return (-1);
	if (store_meta_max(st, store_meta_floor, cutoff, cause) == -1)
		return (-1);
	if (cutoff > st->floor_minute)
		st->floor_minute = cutoff;
	st->pruned_minute = newest_minute;
	return (0);
}

static int
store_write_sources(struct store *st, char **cause)
{
	const struct batch_source	*bs;
	sqlite3_stmt			*s;
	size_t				 i;
	int64_t				 now = time_now_ns();

	for (i = 0; i < st->sources_count; i++) {
		bs = &st->sources[i];
		if (bs->forget) {
			if ((s = store_stmt(st, S_SRC_DELETE, cause)) == NULL)
				return (-1);
			bind_u64(s, 1, bs->s.device);
			bind_u64(s, 2, bs->s.inode);
		} else {
			if ((s = store_stmt(st, S_SRC_UPSERT, cause)) == NULL)
				return (-1);
			bind_text(s, 1, bs->s.path);
			bind_u64(s, 2, bs->s.device);
			bind_u64(s, 3, bs->s.inode);
			bind_u64(s, 4, bs->s.fingerprint);
			sqlite3_bind_int64(s, 5, bs->s.fingerprint_len);
			bind_u64(s, 6, bs->s.offset);
			sqlite3_bind_int(s, 7, bs->s.in_array != 0);
			bind_u64(s, 8, bs->s.line);
			sqlite3_bind_int(s, 9, bs->s.text != 0);
			sqlite3_bind_int64(s, 10, now);
		}
		if (store_finish(st, s, "writing a source position",
		    cause) == -1)
			return (-1);
	}
	return (0);
}

/* Everything of one commit, inside its transaction. */
static int
store_write_batch(struct store *st, const struct store_progress *p,
    char **cause)
{
	if (store_check_writers(st, cause) == -1)
		return (-1);
	if ((st->pending > 0 || st->minutes_count > 0) &&
	    store_bump_epoch(st, cause) == -1)
		return (-1);
	if (store_write_revisions(st, cause) == -1)
		return (-1);
	if (store_write_exposure(st, cause) == -1)
		return (-1);
	if (store_write_counts(st, cause) == -1)
		return (-1);
	if (store_write_rev_patterns(st, cause) == -1)
		return (-1);
	if (store_write_catalogues(st, cause) == -1)
		return (-1);
	if (store_write_templates(st, cause) == -1)
		return (-1);
	if (store_write_dedup(st, cause) == -1)
		return (-1);
	if (st->newest_ns != TIME_NONE &&
	    st->newest_ns != st->newest_committed_ns &&
	    store_meta_max(st, store_meta_newest, st->newest_ns, cause) == -1)
		return (-1);
	if (store_write_sources(st, cause) == -1)
		return (-1);
	if (st->meta_key != NULL &&
	    store_meta_max(st, st->meta_key, st->meta_value, cause) == -1)
		return (-1);
	if (st->run_id != 0 && p != NULL &&
	    store_write_run(st, p, NULL, NULL, cause) == -1)
		return (-1);
	if (store_prune(st, cause) == -1)
		return (-1);
	/* last: the hook reads what the batch wrote */
	if (st->hook != NULL && st->hook(st, st->hook_arg, cause) == -1)
		return (-1);
	return (0);
}

int
store_commit(struct store *st, const struct store_progress *p, char **cause)
{
	int64_t	 floor_minute = st->floor_minute;
	int64_t	 pruned_minute = st->pruned_minute;

	if (st->pending == 0 && st->sources_count == 0 &&
	    st->meta_key == NULL && (st->run_id == 0 || p == NULL))
		return (0);
	if (store_simple(st, S_BEGIN, "starting a batch", cause) == -1)
		goto fail;
	if (store_write_batch(st, p, cause) == -1)
		goto fail;
	if (store_simple(st, S_COMMIT, "committing a batch", cause) == -1)
		goto fail;
	store_batch_clear(st);
	st->newest_committed_ns = st->newest_ns;
	if (st->other_writer || st->keys_count > STORE_DEDUP_KEYS_MAX)
		store_forget_keys(st);
	return (0);
fail:
	if (!sqlite3_get_autocommit(st->db) &&
	    store_simple(st, S_ROLLBACK, "rolling back", NULL) == -1)
		log_warnx("%s: rollback failed: %s", st->path,
		    sqlite3_errmsg(st->db));
	/* The batch's keys are in the set: drop it so a retry counts. */
	store_batch_clear(st);
	store_forget_keys(st);
	st->newest_ns = st->newest_committed_ns;
	st->floor_minute = floor_minute;
	st->pruned_minute = pruned_minute;
	return (-1);
}

int
store_revisions(struct store *st, const char *service,
    struct store_revision **out, size_t *n, char **cause)
{
	struct store_revision	*v = NULL, *r;
	sqlite3_stmt		*s;
	size_t			 count = 0, size = 0;
	int			 rc, j;

	if ((s = store_stmt(st, S_REVISIONS, cause)) == NULL)
		return (-1);
	bind_text(s, 1, service);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_grow((void **)&v, &size, count, sizeof(*v));
		r = &v[count++];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(s, 0);
		r->project = column_dup(s, 1);
		r->location = column_dup(s, 2);
		r->service = column_dup(s, 3);
		r->revision = column_dup(s, 4);
		r->sequence = sqlite3_column_type(s, 5) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(s, 5);
		r->first_ns = sqlite3_column_int64(s, 6);
		r->last_ns = sqlite3_column_int64(s, 7);
		r->entries = (uint64_t)sqlite3_column_int64(s, 8);
		r->requests = (uint64_t)sqlite3_column_int64(s, 9);
		for (j = 0; j < SEVERITY_COUNT; j++)
			r->severity[j] =
			    (uint64_t)sqlite3_column_int64(s, 10 + j);
		r->commit_sha = column_dup(s, 19);
		r->build_id = column_dup(s, 20);
	}
	if (rc != SQLITE_DONE) {
		store_cause(st, cause, "reading revisions");
		sqlite3_reset(s);
		store_revisions_free(v, count);
		return (-1);
	}
	sqlite3_reset(s);
	*out = v;
	*n = count;
	return (0);
}

void
store_revisions_free(struct store_revision *v, size_t n)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].project);
		free(v[i].location);
		free(v[i].service);
		free(v[i].revision);
		free(v[i].commit_sha);
		free(v[i].build_id);
	}
	free(v);
}

int
store_top_patterns(struct store *st, int64_t revision_id, size_t limit,
    struct store_pattern_count **out, size_t *n, char **cause)
{
	struct store_pattern_count	*v = NULL, *pc;
	sqlite3_stmt			*s;
	size_t				 count = 0, size = 0;
	int				 rc;

	if ((s = store_stmt(st, S_TOP_PATTERNS, cause)) == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, revision_id);
	/* LIMIT -1 is none. */
	sqlite3_bind_int64(s, 2, limit == 0 || limit > INT64_MAX ? -1 :
	    (sqlite3_int64)limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_grow((void **)&v, &size, count, sizeof(*v));
		pc = &v[count++];
		pc->pattern = column_dup(s, 0);
		pc->count = (uint64_t)sqlite3_column_int64(s, 1);
		pc->first_ns = sqlite3_column_int64(s, 2);
		pc->last_ns = sqlite3_column_int64(s, 3);
		pc->sample = column_dup(s, 4);
	}
	if (rc != SQLITE_DONE) {
		store_cause(st, cause, "reading pattern counts");
		sqlite3_reset(s);
		store_pattern_counts_free(v, count);
		return (-1);
	}
	sqlite3_reset(s);
	*out = v;
	*n = count;
	return (0);
}

void
store_pattern_counts_free(struct store_pattern_count *v, size_t n)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].pattern);
		free(v[i].sample);
	}
	free(v);
}

/* Nanoseconds to the minute that holds them (floor). */
static int64_t
window_minute(int64_t ns)
{
	if (ns == INT64_MIN)
		return (INT64_MIN / 2);
	if (ns == INT64_MAX)
		return (INT64_MAX / 2);
	return (ns >= 0 ? ns / NS_PER_MINUTE :
	    -((-ns + NS_PER_MINUTE - 1) / NS_PER_MINUTE));
}

int
store_window(struct store *st, int64_t revision_id, int64_t from_ns,
    int64_t to_ns, uint64_t exposure[LOG_KIND_COUNT],
    struct store_window_pattern **out, size_t *n, char **cause)
{
	struct store_window_pattern	*v = NULL, *w;
	sqlite3_stmt			*s;
	size_t				 count = 0, size = 0;
	int64_t				 a = window_minute(from_ns);
	int64_t				 b = window_minute(to_ns);
	int				 rc, k;

	/* minutes [a, b): b is the first minute holding no instant before
	 * to_ns, so a window ending on a minute's start excludes it */
	if (to_ns != INT64_MAX)
		b = window_minute(to_ns - 1) + 1;
	if ((s = store_stmt(st, S_WIN_EXPOSURE, cause)) == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, revision_id);
	sqlite3_bind_int64(s, 2, a);
	sqlite3_bind_int64(s, 3, b);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		for (k = 0; k < LOG_KIND_COUNT; k++)
			exposure[k] = (uint64_t)sqlite3_column_int64(s, k);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW) {
		store_cause(st, cause, "reading exposure");
		return (-1);
	}
	if ((s = store_stmt(st, S_WIN_COUNTS, cause)) == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, revision_id);
	sqlite3_bind_int64(s, 2, a);
	sqlite3_bind_int64(s, 3, b);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_grow((void **)&v, &size, count, sizeof(*v));
		w = &v[count++];
		w->pattern = column_dup(s, 0);
		w->count = (uint64_t)sqlite3_column_int64(s, 1);
		w->log_kinds = (uint32_t)sqlite3_column_int64(s, 2);
		w->first_ns = sqlite3_column_int64(s, 3);
		w->sample = column_dup(s, 4);
		w->level = column_dup(s, 5);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_cause(st, cause, "reading pattern counts");
		store_window_free(v, count);
		return (-1);
	}
	*out = v;
	*n = count;
	return (0);
}

void
store_window_free(struct store_window_pattern *v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].pattern);
		free(v[i].sample);
		free(v[i].level);
	}
	free(v);
}

int
store_catalogue_knew(struct store *st, int64_t revision_id,
    const char *pattern, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc, lacks = 0;

	if ((s = store_stmt(st, S_CAT_LACKS, cause)) == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, revision_id);
	bind_text(s, 2, pattern);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		lacks = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW) {
		store_cause(st, cause, "reading catalogue versions");
		return (-1);
	}
	return (lacks == 0);
}

int
store_revision_catalogues(struct store *st, int64_t revision_id, char **out,
    char **cause)
{
	sqlite3_stmt	*s;
	const char	*v;
	char		*joined;
	int		 rc;

	/* joined here: group_concat() promises no order */
	*out = NULL;
	if ((s = store_stmt(st, S_REV_CATALOGUES, cause)) == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, revision_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((v = (const char *)sqlite3_column_text(s, 0)) == NULL)
			continue;
		if (*out == NULL)
			*out = xstrdup(v);
		else {
			xasprintf(&joined, "%s, %s", *out, v);
			free(*out);
			*out = joined;
		}
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		free(*out);
		*out = NULL;
		store_cause(st, cause, "reading catalogue versions");
		return (-1);
	}
	return (0);
}

void
store_set_templates(struct store *st, int on)
{
	st->untemplated = !on;
}

int
store_untemplated(struct store *st, int64_t revision_id, uint64_t *n,
    char **cause)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((s = store_stmt(st, S_UNTEMPLATED, cause)) == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, revision_id);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*n = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW) {
		store_cause(st, cause, "reading catalogue versions");
		return (-1);
	}
	return (0);
}

int
store_catalogue_drift(struct store *st, int64_t from, int64_t to,
    char **cause)
{
	sqlite3_stmt	*s;
	int		 rc, drift = 0;

	if ((s = store_stmt(st, S_CAT_DRIFT, cause)) == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, from);
	sqlite3_bind_int64(s, 2, to);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		drift = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW) {
		store_cause(st, cause, "reading catalogue versions");
		return (-1);
	}
	return (drift != 0);
}

int
store_ack(struct store *st, const char *project, const char *location,
    const char *service, const char *revision, const char *pattern,
    const char *note, char **cause)
{
	sqlite3_stmt	*s;

	if ((s = store_stmt(st, S_ACK_UPSERT, cause)) == NULL)
		return (-1);
	bind_text(s, 1, project);
	bind_text(s, 2, location);
	bind_text(s, 3, service);
	bind_text(s, 4, revision);
	bind_text(s, 5, pattern);
	bind_text(s, 6, note);
	sqlite3_bind_int64(s, 7, time_now_ns());
	return (store_finish(st, s, "recording the acknowledgement", cause));
}

int
store_acked(struct store *st, const char *project, const char *location,
    const char *service, const char *revision, const char *pattern,
    char **note, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((s = store_stmt(st, S_ACK_GET, cause)) == NULL)
		return (-1);
	bind_text(s, 1, project);
	bind_text(s, 2, location);
	bind_text(s, 3, service);
	bind_text(s, 4, revision);
	bind_text(s, 5, pattern);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && note != NULL)
		*note = column_dup(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_cause(st, cause, "reading acknowledgements");
		return (-1);
	}
	return (rc == SQLITE_ROW);
}

int
store_ack_known(struct store *st, const char *project, const char *location,
    const char *service, const char *pattern, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc, known = 0;

	if ((s = store_stmt(st, S_ACK_KNOWN, cause)) == NULL)
		return (-1);
	bind_text(s, 1, project);
	bind_text(s, 2, location);
	bind_text(s, 3, service);
	bind_text(s, 4, pattern);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		known = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW) {
		store_cause(st, cause, "reading patterns");
		return (-1);
	}
	return (known != 0);
}

int
store_trend(struct store *st, const struct store_trend_query *q,
    struct store_trend_row **out, size_t *n, char **cause)
{
	struct store_trend_row	*v = NULL, *t;
	sqlite3_stmt		*s;
	size_t			 count = 0, size = 0;
	int			 rc;

	s = store_stmt(st, q->bucket_minutes == 0 ? S_TREND_REV :
	    S_TREND_TIME, cause);
	if (s == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, q->bucket_minutes > 0 ? q->bucket_minutes :
	    1);
	bind_text(s, 2, q->project);
	bind_text(s, 3, q->location);
	bind_text(s, 4, q->service);
	bind_text(s, 5, q->pattern);
	sqlite3_bind_int64(s, 6, window_minute(q->from_ns));
	sqlite3_bind_int64(s, 7, q->to_ns == INT64_MAX ? INT64_MAX / 2 :
	    window_minute(q->to_ns - 1) + 1);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_grow((void **)&v, &size, count, sizeof(*v));
		t = &v[count++];
		t->bucket_ns = sqlite3_column_int64(s, 0) * NS_PER_MINUTE;
		t->service = column_dup(s, 1);
		t->revision = column_dup(s, 2);
		t->pattern = column_dup(s, 3);
		t->count = (uint64_t)sqlite3_column_int64(s, 4);
		t->entries = (uint64_t)sqlite3_column_int64(s, 5);
		t->requests = (uint64_t)sqlite3_column_int64(s, 6);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_cause(st, cause, "reading the trend");
		store_trend_free(v, count);
		return (-1);
	}
	*out = v;
	*n = count;
	return (0);
}

void
store_trend_free(struct store_trend_row *v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].service);
		free(v[i].revision);
		free(v[i].pattern);
	}
	free(v);
}

void
store_source(struct store *st, const struct store_source *s, int forget)
{
	struct batch_source	*bs;

	store_grow((void **)&st->sources, &st->sources_size,
	    st->sources_count, sizeof(*st->sources));
	bs = &st->sources[st->sources_count++];
	bs->s = *s;
	bs->s.path = xstrdup(s->path != NULL ? s->path : "");
	bs->forget = forget;
}

static void
source_row(sqlite3_stmt *s, struct store_source *out)
{
	out->path = column_dup(s, 0);
	if (out->path == NULL)
		out->path = xstrdup("");
	out->device = (uint64_t)sqlite3_column_int64(s, 1);
	out->inode = (uint64_t)sqlite3_column_int64(s, 2);
	out->fingerprint = (uint64_t)sqlite3_column_int64(s, 3);
	out->fingerprint_len = (uint32_t)sqlite3_column_int64(s, 4);
	out->offset = (uint64_t)sqlite3_column_int64(s, 5);
	out->in_array = sqlite3_column_int(s, 6);
	out->line = (uint64_t)sqlite3_column_int64(s, 7);
	out->text = sqlite3_column_int(s, 8);
}

int
store_source_get(struct store *st, uint64_t device, uint64_t inode,
    struct store_source *out, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((s = store_stmt(st, S_SRC_GET, cause)) == NULL)
		return (-1);
	bind_u64(s, 1, device);
	bind_u64(s, 2, inode);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		source_row(s, out);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_cause(st, cause, "reading source positions");
		return (-1);
	}
	return (rc == SQLITE_ROW);
}

int
store_sources_at(struct store *st, const char *path, int under,
    struct store_source **out, size_t *n, char **cause)
{
	struct store_source	*v = NULL;
	sqlite3_stmt		*s;
	size_t			 count = 0, size = 0;
	char			*lo = NULL, *hi = NULL;
	int			 rc;

	if ((s = store_stmt(st, under ? S_SRC_UNDER : S_SRC_AT,
	    cause)) == NULL)
		return (-1);
	if (under) {
		/* "dir/" up to "dir0": '0' follows '/' in every collation */
		xasprintf(&lo, "%s/", path);
		xasprintf(&hi, "%s0", path);
		bind_text(s, 1, lo);
		bind_text(s, 2, hi);
		free(lo);
		free(hi);
	} else
		bind_text(s, 1, path);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_grow((void **)&v, &size, count, sizeof(*v));
		source_row(s, &v[count++]);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_cause(st, cause, "reading source positions");
		store_sources_free(v, count);
		return (-1);
	}
	*out = v;
	*n = count;
	return (0);
}

void
store_sources_free(struct store_source *v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

void
store_set_commit_hook(struct store *st, store_commit_fn fn, void *arg)
{
	st->hook = fn;
	st->hook_arg = arg;
}

int
store_batch_patterns(struct store *st, store_batch_pattern_fn fn, void *arg)
{
	const struct rp_key		*k;
	const struct rp_val		*v;
	const struct batch_rev		*r;
	struct store_batch_pattern	 bp;
	size_t				 iter = 0;
	void				*val;
	const void			*key;

	while (hmap_next(st->rev_patterns, &iter, &key, &val)) {
		k = key;
		v = val;
		r = &st->revs[k->rev];
		bp.project = r->name[0];
		bp.location = r->name[1];
		bp.service = r->name[2];
		bp.revision = r->name[3];
		bp.revision_id = r->id;
		bp.pattern = st->patterns[k->pattern].id;
		bp.count = v->count;
		bp.first_ns = v->first_ns;
		bp.sample = st->samples[v->sample].message;
		bp.insert_id = st->samples[v->sample].insert_id;
		if (fn(&bp, arg) == -1)
			return (-1);
	}
	return (0);
}

int
store_pattern_total(struct store *st, int64_t revision_id,
    const char *pattern, uint64_t *count, char **cause)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((s = store_stmt(st, S_RP_COUNT, cause)) == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, revision_id);
	bind_text(s, 2, pattern);
	*count = 0;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*count = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_cause(st, cause, "reading pattern totals");
		return (-1);
	}
	return (0);
}

int
store_finding(struct store *st, const struct store_finding *f, char **cause)
{
	sqlite3_stmt	*s;

	if ((s = store_stmt(st, S_FINDING_INSERT, cause)) == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, f->found_ns);
	bind_text(s, 2, f->project);
	bind_text(s, 3, f->location);
	bind_text(s, 4, f->service);
	bind_text(s, 5, f->revision);
	bind_text(s, 6, f->pattern);
	bind_text(s, 7, f->kind);
	bind_text(s, 8, f->class);
	bind_text(s, 9, f->level);
	bind_u64(s, 10, f->count);
	bind_text(s, 11, f->sample != NULL ? f->sample : "");
	bind_text(s, 12, f->insert_id != NULL ? f->insert_id : "");
	sqlite3_bind_int64(s, 13, f->entry_ns);
	if (store_finish(st, s, "recording a finding", cause) == -1)
		return (-1);
	return (sqlite3_changes(st->db) > 0);
}

/* A finding's columns, from col on, in S_FINDINGS' order. */
static void
finding_row_read(sqlite3_stmt *s, int col, struct store_finding_row *f)
{
	f->found_ns = sqlite3_column_int64(s, col);
	f->project = column_dup(s, col + 1);
	f->location = column_dup(s, col + 2);
	f->service = column_dup(s, col + 3);
	f->revision = column_dup(s, col + 4);
	f->pattern = column_dup(s, col + 5);
	f->kind = column_dup(s, col + 6);
	f->class = column_dup(s, col + 7);
	f->level = column_dup(s, col + 8);
	f->count = (uint64_t)sqlite3_column_int64(s, col + 9);
	f->sample = column_dup(s, col + 10);
	f->insert_id = column_dup(s, col + 11);
	f->entry_ns = sqlite3_column_int64(s, col + 12);
}

static void
finding_row_clear(struct store_finding_row *f)
{
	free(f->project);
	free(f->location);
	free(f->service);
	free(f->revision);
	free(f->pattern);
	free(f->kind);
	free(f->class);
	free(f->level);
	free(f->sample);
	free(f->insert_id);
}

int
store_findings(struct store *st, int64_t since_ns,
    struct store_finding_row **out, size_t *n, char **cause)
{
	struct store_finding_row	*v = NULL, *f;
	sqlite3_stmt			*s;
	size_t				 count = 0, size = 0;
	int				 rc;

	if ((s = store_stmt(st, S_FINDINGS, cause)) == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, since_ns);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_grow((void **)&v, &size, count, sizeof(*v));
		f = &v[count++];
		finding_row_read(s, 0, f);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_cause(st, cause, "reading findings");
		store_findings_free(v, count);
		return (-1);
	}
	*out = v;
	*n = count;
	return (0);
}

void
store_findings_free(struct store_finding_row *v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		finding_row_clear(&v[i]);
	free(v);
}

int
store_meta_get(struct store *st, const char *key, int64_t *v, int *found,
    char **cause)
{
	return (store_get_int(st, S_META_GET, key, v, found, cause));
}

int
store_meta_set(struct store *st, const char *key, int64_t v, char **cause)
{
	sqlite3_stmt	*s;

	if ((s = store_stmt(st, S_META_SET, cause)) == NULL)
		return (-1);
	bind_text(s, 1, key);
	sqlite3_bind_int64(s, 2, v);
	return (store_finish(st, s, "writing meta", cause));
}

void
store_meta_stage(struct store *st, const char *key, int64_t v)
{
	if (st->meta_key != NULL && strcmp(st->meta_key, key) == 0) {
		if (v > st->meta_value)
			st->meta_value = v;
		return;
	}
	free(st->meta_key);
	st->meta_key = xstrdup(key);
	st->meta_value = v;
}

/* ---- alerts ---------------------------------------------------------- */

/* Drop the oldest pending alerts beyond STORE_ALERTS_MAX. */
static int
store_alerts_bound(struct store *st, uint64_t *dropped, char **cause)
{
	sqlite3_stmt	*s;
	int64_t		 pending;
	int		 found;

	if (store_get_int(st, S_ALERT_PENDING, NULL, &pending, &found,
	    cause) == -1)
		return (-1);
	if (!found || pending <= STORE_ALERTS_MAX)
		return (0);
	if ((s = store_stmt(st, S_ALERT_DROP, cause)) == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, pending - STORE_ALERTS_MAX);
	sqlite3_bind_int64(s, 2, time_now_ns());
	if (store_finish(st, s, "dropping old alerts", cause) == -1)
		return (-1);
	*dropped += (uint64_t)sqlite3_changes(st->db);
	return (0);
}

int
store_alerts_queue(struct store *st, const struct store_finding *f,
    const char *const *targets, size_t n, uint64_t *dropped, char **cause)
{
	sqlite3_stmt	*s;
	size_t		 i;
	int		 queued = 0;

	if ((s = store_stmt(st, S_ALERT_QUEUE, cause)) == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		bind_text(s, 1, f->project);
		bind_text(s, 2, f->location);
		bind_text(s, 3, f->service);
		bind_text(s, 4, f->revision);
		bind_text(s, 5, f->pattern);
		bind_text(s, 6, targets[i]);
		sqlite3_bind_int64(s, 7, time_now_ns());
		if (store_finish(st, s, "queueing an alert", cause) == -1)
			return (-1);
		queued += sqlite3_changes(st->db);
	}
	if (queued > 0 && store_alerts_bound(st, dropped, cause) == -1)
		return (-1);
	return (queued);
}

int
store_alerts_due(struct store *st, int64_t now_ns, const char *targets_json,
    size_t limit, struct store_alert **out, size_t *n, char **cause)
{
	struct store_alert	*v = NULL, *a;
	sqlite3_stmt		*s;
	size_t			 count = 0, size = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	if ((s = store_stmt(st, S_ALERTS_DUE, cause)) == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, now_ns);
	bind_text(s, 2, targets_json);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_grow((void **)&v, &size, count, sizeof(*v));
		a = &v[count++];
		memset(a, 0, sizeof(*a));
		a->id = sqlite3_column_int64(s, 0);
		a->target = column_dup(s, 1);
		a->attempts = sqlite3_column_int(s, 2);
		finding_row_read(s, 3, &a->f);
	}
	if (rc != SQLITE_DONE) {
		store_cause(st, cause, "reading the alert queue");
		sqlite3_reset(s);
		store_alerts_free(v, count);
		return (-1);
	}
	sqlite3_reset(s);
	*out = v;
	*n = count;
	return (0);
}

void
store_alerts_free(struct store_alert *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i].target);
		finding_row_clear(&v[i].f);
	}
	free(v);
}

int
store_alert_update(struct store *st, int64_t id, const char *state,
    int attempts, int64_t next_ns, const char *error, char **cause)
{
	sqlite3_stmt	*s;

	if ((s = store_stmt(st, S_ALERT_UPDATE, cause)) == NULL)
		return (-1);
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, state);
	sqlite3_bind_int(s, 3, attempts);
	sqlite3_bind_int64(s, 4, next_ns);
	bind_text(s, 5, error);
	sqlite3_bind_int64(s, 6, time_now_ns());
	return (store_finish(st, s, "recording a delivery", cause));
}

int
store_alert_next(struct store *st, const char *targets_json,
    int64_t *next_ns, int *found, char **cause)
{
	return (store_get_int(st, S_ALERT_NEXT, targets_json, next_ns, found,
	    cause));
}

int
store_alert_orphans(struct store *st, const char *targets_json,
    void (*fn)(const char *target, uint64_t pending, void *), void *arg,
    char **cause)
{
	sqlite3_stmt	*s;
	int		 rc;

	if ((s = store_stmt(st, S_ALERT_ORPHANS, cause)) == NULL)
		return (-1);
	bind_text(s, 1, targets_json);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		fn((const char *)sqlite3_column_text(s, 0),
		    (uint64_t)sqlite3_column_int64(s, 1), arg);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_cause(st, cause, "reading the alert queue");
		return (-1);
	}
	return (0);
}
