-- 002-templates.sql: errors no catalogue pattern knows, grouped into
-- templates (src/fingerprint.c).  A template is counted like a catalogue
-- pattern: its id ("tpl-" and 16 hex digits) stands in counts and
-- revision_patterns where a pattern id would, so comparisons, trends and
-- findings treat both alike.  The id is a hash of the template's text when
-- it was born and never changes; the text here is its current form, which
-- may have widened since (a position that varied became <*>).

CREATE TABLE templates (
    id          TEXT PRIMARY KEY,   -- tpl-<16 hex>, never reassigned
    text        TEXT NOT NULL,      -- current form, <*> for what varies
    first_ts    INTEGER NOT NULL,   -- ns since epoch: first entry counted
    last_ts     INTEGER NOT NULL    -- ns since epoch: latest entry counted
) WITHOUT ROWID;

-- Templates with their totals and the revision that first showed them.
CREATE VIEW template_summary AS
SELECT t.id,
       t.text,
       (SELECT sum(rp.count) FROM revision_patterns rp
         WHERE rp.pattern = t.id) AS count,
       (SELECT r.service || '/' || r.revision
          FROM revision_patterns rp JOIN revisions r ON r.id = rp.revision_id
         WHERE rp.pattern = t.id ORDER BY rp.first_ts LIMIT 1)
           AS first_revision,
       strftime('%Y-%m-%dT%H:%M:%fZ', t.first_ts / 1e9, 'unixepoch')
           AS first_seen,
       strftime('%Y-%m-%dT%H:%M:%fZ', t.last_ts / 1e9, 'unixepoch')
           AS last_seen
  FROM templates t;
