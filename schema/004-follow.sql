-- 004-follow.sql: what `logaudit follow` keeps beyond the counts.

-- Where the daemon stands in each file it follows.  A row is rewritten in
-- the same transaction as the counts its entries produced, so after a
-- crash at any instant the file resumes at offset and no entry is lost or
-- counted twice.  A file is recognised by (device, inode) and, so that a
-- reused inode or a file rewritten in place is not taken for the old one,
-- by a hash of its head; a row whose device changed (a reboot may number
-- devices anew) is found again by path and head.
CREATE TABLE sources (
    path            TEXT NOT NULL,      -- the followed path (for a rotated
                                        -- file: the path it was rotated
                                        -- away from)
    device          INTEGER NOT NULL,   -- st_dev
    inode           INTEGER NOT NULL,   -- st_ino
    fingerprint     INTEGER NOT NULL,   -- hash64 of the first
                                        -- fingerprint_len bytes (src/util.c)
    fingerprint_len INTEGER NOT NULL,   -- bytes hashed: min(size, 4096)
    offset          INTEGER NOT NULL,   -- bytes: just past the last entry
                                        -- counted
    in_array        INTEGER NOT NULL,   -- 1: offset lies inside an array
    line            INTEGER NOT NULL,   -- 1-based line at offset
    text            INTEGER NOT NULL,   -- 1: read as plain text lines
    updated         INTEGER NOT NULL,   -- wall clock of the commit, ns
    PRIMARY KEY (device, inode)
) WITHOUT ROWID;
CREATE INDEX sources_path ON sources (path);

-- Live findings: the first time a revision showed a pattern or template
-- that the comparison calls new (in no earlier revision of the service)
-- or returning (not in the previous revision, in an older one).  One row
-- per revision and pattern, written in the transaction that counted the
-- entry that triggered it.
CREATE TABLE findings (
    id              INTEGER PRIMARY KEY,
    found           INTEGER NOT NULL,   -- wall clock, ns
    project         TEXT NOT NULL,
    location        TEXT NOT NULL,
    service         TEXT NOT NULL,
    revision        TEXT NOT NULL,
    pattern         TEXT NOT NULL,      -- pattern id, or tpl-... template
    kind            TEXT NOT NULL CHECK (kind IN ('catalogue', 'template')),
    class           TEXT NOT NULL CHECK (class IN ('new', 'returning')),
    level           TEXT NOT NULL,      -- info, warning, error, critical
    count           INTEGER NOT NULL,   -- the revision's entries of the
                                        -- pattern when it was found
    sample          TEXT NOT NULL,      -- the triggering entry's message
    insert_id       TEXT NOT NULL,      -- ... and insertId
    entry_ts        INTEGER NOT NULL,   -- ... and time, ns
    UNIQUE (project, location, service, revision, pattern)
);
CREATE INDEX findings_found ON findings (found);
