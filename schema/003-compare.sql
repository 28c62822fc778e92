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
