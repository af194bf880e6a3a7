-- +goose Up
-- The sealed real environment of a job's containers (the doc holds the
-- redacted one).
ALTER TABLE jobs ADD COLUMN sealed_env BLOB;
CREATE INDEX jobs_by_phase ON jobs (phase);

-- +goose Down
DROP INDEX jobs_by_phase;
ALTER TABLE jobs DROP COLUMN sealed_env;
