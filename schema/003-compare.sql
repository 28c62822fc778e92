-- 003-compare.sql: what revision comparisons need beyond the counts.

-- Which logs a pattern's entries came from in a revision: a bit per log
-- kind (1 requests, 2 stdout, 4 stderr, 8 system, 16 audit, 32 other).
-- A pattern's rate is its count over the traffic of those logs, so a
-- revision that merely logs more INFO lines elsewhere does not make an
-- error look rarer.
ALTER TABLE revision_patterns ADD COLUMN log_kinds INTEGER NOT NULL DEFAULT 0;

-- A person has seen a finding: `logaudit ack`.  An acknowledged pattern
-- stays in reports, marked, and no longer fails `diff`.  revision '' acks
-- the pattern in every revision of the service.
CREATE TABLE acks (
    project     TEXT NOT NULL,
    location    TEXT NOT NULL,
    service     TEXT NOT NULL,
    revision    TEXT NOT NULL,
    pattern     TEXT NOT NULL,
    note        TEXT,
    created     INTEGER NOT NULL,   -- ns since epoch, wall clock
    PRIMARY KEY (project, location, service, revision, pattern)
) WITHOUT ROWID;

-- For sqlite3 users: each revision's patterns with rates per 1000 entries
-- (and per 1000 requests), in the order diff uses.
CREATE VIEW revision_pattern_rates AS
SELECT r.project, r.location, r.service, r.revision, r.sequence,
       rp.pattern, rp.count, r.entries, r.requests,
       round(1000.0 * rp.count / nullif(r.entries, 0), 3) AS per_1k_entries,
       round(1000.0 * rp.count / nullif(r.requests, 0), 3)
           AS per_1k_requests
  FROM revision_patterns rp JOIN revisions r ON r.id = rp.revision_id;

-- Each service's pattern counts per day (UTC) of entry time.
CREATE VIEW daily_pattern_counts AS
SELECT r.project, r.location, r.service, c.pattern,
       date(c.minute * 60, 'unixepoch') AS day, sum(c.count) AS count
  FROM counts c JOIN revisions r ON r.id = c.revision_id
 GROUP BY r.project, r.location, r.service, c.pattern, day;

-- Patterns new in a revision: no earlier revision of the service (by the
-- sequence number in the name, else first entry time) showed them.
-- `logaudit diff` says the same, and more (catalogue changes, windows).
CREATE VIEW new_patterns AS
SELECT r.project, r.location, r.service, r.revision, rp.pattern, rp.count,
       strftime('%Y-%m-%dT%H:%M:%fZ', rp.first_ts / 1e9, 'unixepoch')
           AS first_seen
  FROM revision_patterns rp JOIN revisions r ON r.id = rp.revision_id
 WHERE r.revision <> '' AND NOT EXISTS (
       SELECT 1 FROM revision_patterns rp2
         JOIN revisions r2 ON r2.id = rp2.revision_id
        WHERE rp2.pattern = rp.pattern AND r2.project = r.project
          AND r2.location = r.location AND r2.service = r.service
          AND r2.revision <> ''
          AND (r2.sequence IS NULL, coalesce(r2.sequence, 0), r2.first_ts)
            < (r.sequence IS NULL, coalesce(r.sequence, 0), r.first_ts));
