-- logaudit store, migration 001: the initial schema.
--
-- Applied by store.c (compiled in through build-aux/sql2c.sh) in one
-- transaction that then sets PRAGMA user_version = 1.  It is plain SQL, so
-- `sqlite3 logaudit.db < schema/001-initial.sql` builds the same tables.
--
-- Units used throughout:
--   *_ts, started, finished, updated, first_used
--              nanoseconds since 1970-01-01T00:00:00Z.  *_ts are entry times
--              (LogEntry.timestamp); the others are the wall clock.
--   minute     floor(entry time in seconds / 60), UTC: minute * 60 is a
--              Unix time, e.g. strftime('%Y-%m-%dT%H:%MZ', minute * 60,
--              'unixepoch').
--   counts     numbers of LogEntries (or plain text lines), each counted
--              once (see dedup).
-- The views at the end give the same numbers with readable times.

-- A Cloud Run revision, identified as resource.labels names it.  Missing
-- labels are stored as '' (never NULL) so the UNIQUE key holds.
CREATE TABLE revisions (
	id		INTEGER PRIMARY KEY,
	project		TEXT NOT NULL,	-- resource.labels.project_id
	location	TEXT NOT NULL,	-- resource.labels.location
	service		TEXT NOT NULL,	-- resource.labels.service_name
	revision	TEXT NOT NULL,	-- resource.labels.revision_name
	sequence	INTEGER,	-- 432 for "api-00432-w88"; NULL if none
	first_ts	INTEGER NOT NULL,	-- earliest entry time, ns
	last_ts		INTEGER NOT NULL,	-- latest entry time, ns
	entries		INTEGER NOT NULL DEFAULT 0,	-- all entries
	requests	INTEGER NOT NULL DEFAULT 0,	-- of which request logs
	-- entries by severity, rounded down to the named level (0..800)
	sev_default	INTEGER NOT NULL DEFAULT 0,
	sev_debug	INTEGER NOT NULL DEFAULT 0,
	sev_info	INTEGER NOT NULL DEFAULT 0,
	sev_notice	INTEGER NOT NULL DEFAULT 0,
	sev_warning	INTEGER NOT NULL DEFAULT 0,
	sev_error	INTEGER NOT NULL DEFAULT 0,
	sev_critical	INTEGER NOT NULL DEFAULT 0,
	sev_alert	INTEGER NOT NULL DEFAULT 0,
	sev_emergency	INTEGER NOT NULL DEFAULT 0,
	commit_sha	TEXT,		-- label commit-sha: the first seen,
					-- NULL when no entry carried it
	build_id	TEXT,		-- label gcb-build-id, likewise
	UNIQUE (project, location, service, revision)
);

-- Exposure: the traffic every count sits beside, per revision and minute,
-- so a rate over any window compares like with like.  One column per log
-- kind (entry.h enum log_kind); entries is their sum.
CREATE TABLE exposure (
	revision_id	INTEGER NOT NULL REFERENCES revisions (id)
			    ON DELETE CASCADE,
	minute		INTEGER NOT NULL,
	-- entries of each log, by the name run.googleapis.com/<column>,
	-- cloudaudit.googleapis.com/... for audit; other: anything else
	-- and plain text lines
	entries		INTEGER NOT NULL DEFAULT 0,	-- all kinds
	requests	INTEGER NOT NULL DEFAULT 0,
	stdout		INTEGER NOT NULL DEFAULT 0,
	stderr		INTEGER NOT NULL DEFAULT 0,
	system		INTEGER NOT NULL DEFAULT 0,	-- varlog/system
	audit		INTEGER NOT NULL DEFAULT 0,
	other		INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (revision_id, minute)
) WITHOUT ROWID;

-- Entries of a revision that matched a pattern, per minute.  An entry that
-- matches two patterns is counted under each.
CREATE TABLE counts (
	revision_id	INTEGER NOT NULL REFERENCES revisions (id)
			    ON DELETE CASCADE,
	pattern		TEXT NOT NULL,	-- catalogue pattern id
	minute		INTEGER NOT NULL,
	count		INTEGER NOT NULL,	-- entries
	PRIMARY KEY (revision_id, pattern, minute)
) WITHOUT ROWID;

-- Catalogue versions: a version is a hash of the catalogue's contents.
CREATE TABLE catalogue_versions (
	version		TEXT PRIMARY KEY,
	first_used	INTEGER NOT NULL,	-- wall clock, ns
	pattern_count	INTEGER NOT NULL	-- patterns it holds
);

-- The patterns each catalogue version holds, so a later reader can tell
-- "not seen" (the pattern was there and did not match) from "not
-- comparable" (the catalogue did not contain it).
CREATE TABLE catalogue_patterns (
	version		TEXT NOT NULL REFERENCES catalogue_versions (version)
			    ON DELETE CASCADE,
	pattern		TEXT NOT NULL,	-- pattern id
	title		TEXT NOT NULL,
	category	TEXT NOT NULL,
	level		TEXT NOT NULL,	-- info, warning, error, critical
	PRIMARY KEY (version, pattern)
) WITHOUT ROWID;

-- Per revision and pattern: the totals of counts, the first and last entry
-- time, and one sample message.  The sample is the message of the first
-- entry ever counted under the pattern (later batches keep it), repaired
-- to valid UTF-8 and cut to STORE_SAMPLE_MAX (2048) bytes.
CREATE TABLE revision_patterns (
	revision_id	INTEGER NOT NULL REFERENCES revisions (id)
			    ON DELETE CASCADE,
	pattern		TEXT NOT NULL,
	count		INTEGER NOT NULL,	-- entries, = sum(counts.count)
	first_ts	INTEGER NOT NULL,	-- earliest matching entry, ns
	last_ts		INTEGER NOT NULL,	-- latest matching entry, ns
	sample		TEXT NOT NULL,	-- message of the first one counted
	sample_insert_id TEXT NOT NULL,	-- its insertId ('' for text lines)
	catalogue_version TEXT REFERENCES catalogue_versions (version),
					-- version that counted the sample;
					-- NULL when none was set
	PRIMARY KEY (revision_id, pattern)
) WITHOUT ROWID;

-- Which catalogue versions counted entries of each revision: when two
-- revisions were classified by different catalogues, a pattern missing
-- from one side's catalogue is "not comparable", never "new".
CREATE TABLE revision_catalogues (
	revision_id	INTEGER NOT NULL REFERENCES revisions (id)
			    ON DELETE CASCADE,
	version		TEXT NOT NULL REFERENCES catalogue_versions (version),
	entries		INTEGER NOT NULL,	-- entries classified by it
	PRIMARY KEY (revision_id, version)
) WITHOUT ROWID;

-- One row per `logaudit ingest` or `follow` run.  The progress columns are
-- rewritten in the same transaction as every batch of counts, so a run
-- that dies part-way (status stays 'running') records exactly how far its
-- committed batches reached; resume_offset/in_array say where to resume.
CREATE TABLE ingest_runs (
	id		INTEGER PRIMARY KEY,
	source		TEXT NOT NULL,	-- file name, "-" for stdin, API filter
	started		INTEGER NOT NULL,	-- wall clock, ns
	updated		INTEGER,	-- wall clock of the last commit, ns
	finished	INTEGER,	-- wall clock, ns; NULL while running
	status		TEXT NOT NULL DEFAULT 'running' CHECK (status IN
			    ('running', 'ok', 'error', 'interrupted')),
	bytes		INTEGER NOT NULL DEFAULT 0,	-- read
	entries		INTEGER NOT NULL DEFAULT 0,	-- entries/lines read
	counted		INTEGER NOT NULL DEFAULT 0,
	duplicates	INTEGER NOT NULL DEFAULT 0,
	too_old		INTEGER NOT NULL DEFAULT 0,
	bad		INTEGER NOT NULL DEFAULT 0,	-- bad, truncated, big
	skipped_lines	INTEGER NOT NULL DEFAULT 0,	-- non-JSON lines
	resume_offset	INTEGER NOT NULL DEFAULT 0,	-- bytes: just past
							-- the last entry
	in_array	INTEGER NOT NULL DEFAULT 0,	-- 1: resume_offset
							-- lies in an array
	catalogue_version TEXT,		-- the catalogue in use
	message		TEXT		-- why it ended, for 'error'
);

-- Exactly once.  An entry is identified by (insertId, timestamp in ns,
-- logName), kept as a 16-byte key: the timestamp (int64), then h (uint64)
-- = hash64(logName) seeded with hash64(insertId) (src/util.c), both
-- little-endian.  keys is a packed array of such keys; each commit appends
-- one row per minute (of entry time) that got new keys, and a process
-- loads a minute's rows the first time it sees an entry of that minute.
-- Two different entries are taken for one only when they share the
-- nanosecond timestamp AND their 64-bit hashes collide.
-- Retention: rows older than the newest entry time minus the dedup window
-- (7 days by default) are deleted; entries that old are refused as "too
-- old" rather than counted again (meta.dedup_floor_minute).
CREATE TABLE dedup (
	minute		INTEGER NOT NULL,
	keys		BLOB NOT NULL	-- n * 16 bytes
);
CREATE INDEX dedup_minute ON dedup (minute);

-- Store-wide values:
--   newest_ts           the latest entry time ever counted (ns), text lines
--                       excepted; the too-old bound is newest_ts - window
--   dedup_floor_minute  dedup rows before this minute have been deleted:
--                       entries of earlier minutes are always too old
CREATE TABLE meta (
	key		TEXT PRIMARY KEY,
	value
);

-- Views for people using plain sqlite3.  Times are ISO 8601 UTC.

-- A revision per row with its headline numbers.
CREATE VIEW revision_summary AS
SELECT
	r.id,
	r.project,
	r.location,
	r.service,
	r.revision,
	r.sequence,
	strftime('%Y-%m-%dT%H:%M:%fZ', r.first_ts / 1e9, 'unixepoch')
	    AS first_seen,
	strftime('%Y-%m-%dT%H:%M:%fZ', r.last_ts / 1e9, 'unixepoch')
	    AS last_seen,
	r.entries,
	r.requests,
	r.sev_warning AS warnings,
	r.sev_error + r.sev_critical + r.sev_alert + r.sev_emergency
	    AS errors,		-- ERROR and above
	(SELECT count(*) FROM revision_patterns p WHERE p.revision_id = r.id)
	    AS patterns,	-- distinct patterns seen
	(SELECT coalesce(sum(p.count), 0) FROM revision_patterns p
	    WHERE p.revision_id = r.id) AS pattern_matches,
	r.commit_sha,
	r.build_id
FROM revisions r;

-- Per revision, pattern and minute: the count beside the traffic of that
-- minute, ready for rates (count * 1.0 / entries).
CREATE VIEW pattern_counts AS
SELECT
	r.project,
	r.location,
	r.service,
	r.revision,
	c.pattern,
	strftime('%Y-%m-%dT%H:%MZ', c.minute * 60, 'unixepoch') AS minute_utc,
	c.minute,
	c.count,
	x.entries,
	x.requests
FROM counts c
JOIN revisions r ON r.id = c.revision_id
LEFT JOIN exposure x ON x.revision_id = c.revision_id AND x.minute = c.minute;

-- Per revision and pattern: totals, times, the sample and the catalogue's
-- title and level for it.
CREATE VIEW revision_pattern_summary AS
SELECT
	r.project,
	r.location,
	r.service,
	r.revision,
	p.pattern,
	cp.title,
	cp.level,
	p.count,
	strftime('%Y-%m-%dT%H:%M:%fZ', p.first_ts / 1e9, 'unixepoch')
	    AS first_seen,
	strftime('%Y-%m-%dT%H:%M:%fZ', p.last_ts / 1e9, 'unixepoch')
	    AS last_seen,
	p.sample,
	p.catalogue_version
FROM revision_patterns p
JOIN revisions r ON r.id = p.revision_id
LEFT JOIN catalogue_patterns cp
    ON cp.version = p.catalogue_version AND cp.pattern = p.pattern;

-- Ingest runs with readable times.
CREATE VIEW ingest_run_summary AS
SELECT
	id,
	source,
	status,
	strftime('%Y-%m-%dT%H:%M:%SZ', started / 1000000000, 'unixepoch')
	    AS started_utc,
	strftime('%Y-%m-%dT%H:%M:%SZ', finished / 1000000000, 'unixepoch')
	    AS finished_utc,
	bytes,
	entries,
	counted,
	duplicates,
	too_old,
	bad,
	skipped_lines,
	resume_offset,
	message
FROM ingest_runs;
