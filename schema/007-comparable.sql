-- 007-comparable.sql: what makes templates comparable between revisions.

-- Entries of the revision counted with templates off (`--no-templates`).
-- A template's absence on such a side means nothing, so `diff` calls the
-- templates of the pair "not comparable" rather than new or gone.
ALTER TABLE revision_catalogues ADD COLUMN untemplated INTEGER NOT NULL
    DEFAULT 0;

-- new_patterns as before, but only for revisions that have a predecessor
-- with entries: a service's first revision has nothing to compare with,
-- as `logaudit diff` says, so nothing in it is "new".
DROP VIEW new_patterns;
CREATE VIEW new_patterns AS
SELECT r.project, r.location, r.service, r.revision, rp.pattern, rp.count,
       strftime('%Y-%m-%dT%H:%M:%fZ', rp.first_ts / 1e9, 'unixepoch')
           AS first_seen
  FROM revision_patterns rp JOIN revisions r ON r.id = rp.revision_id
 WHERE r.revision <> '' AND EXISTS (
       SELECT 1 FROM revisions r2
        WHERE r2.project = r.project AND r2.location = r.location
          AND r2.service = r.service AND r2.revision <> ''
          AND r2.entries > 0
          AND (r2.sequence IS NULL, coalesce(r2.sequence, 0), r2.first_ts)
            < (r.sequence IS NULL, coalesce(r.sequence, 0), r.first_ts))
   AND NOT EXISTS (
       SELECT 1 FROM revision_patterns rp2
         JOIN revisions r2 ON r2.id = rp2.revision_id
        WHERE rp2.pattern = rp.pattern AND r2.project = r.project
          AND r2.location = r.location AND r2.service = r.service
          AND r2.revision <> ''
          AND (r2.sequence IS NULL, coalesce(r2.sequence, 0), r2.first_ts)
            < (r.sequence IS NULL, coalesce(r.sequence, 0), r.first_ts));
