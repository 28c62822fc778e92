-- 005-alerts.sql: webhook alerts, queued in the database so that each
-- finding reaches each target once, across restarts and cron runs.

-- One row per finding and target.  A row is queued in the transaction
-- that records the finding (follow) or by the diff that reports it, and
-- then tried until it is sent, refused for good, or out of tries.  The
-- target is its name in the webhooks file: its URL is a secret and is
-- never stored.
CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    finding         INTEGER NOT NULL REFERENCES findings (id),
    target          TEXT NOT NULL,      -- the target's name
    state           TEXT NOT NULL CHECK (state IN
                        ('pending', 'sent', 'failed', 'dropped',
                         'skipped')),   -- skipped: acknowledged before
                                        -- it was sent; dropped: the
                                        -- queue was full
    attempts        INTEGER NOT NULL,   -- deliveries tried
    queued          INTEGER NOT NULL,   -- wall clock, ns
    next_try        INTEGER NOT NULL,   -- wall clock, ns: pending rows
                                        -- are tried from then on
    done            INTEGER,            -- wall clock, ns, once not
                                        -- pending
    last_error      TEXT,               -- the last failure, redacted
    UNIQUE (finding, target)
);
CREATE INDEX alerts_due ON alerts (state, next_try);
