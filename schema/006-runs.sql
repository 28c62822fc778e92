-- 006-runs.sql: which process a run is, so that a run whose process died
-- (kill -9, a crash, a power cut) is closed by the next one on the host
-- instead of showing 'running' for ever.
ALTER TABLE ingest_runs ADD COLUMN pid INTEGER;     -- of the process
ALTER TABLE ingest_runs ADD COLUMN host TEXT;       -- gethostname()
