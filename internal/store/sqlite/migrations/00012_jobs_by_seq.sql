-- +goose Up
-- A job is appended after its event's last one: seq is MAX(seq) + 1 over
-- the event's jobs. Without an index on seq that read walked every job row
-- of the event (each with its document), so creating the n-th job of an
-- event cost O(n); with it, one seek. Listing an event's jobs in order
-- walks it too.
CREATE INDEX jobs_by_seq ON jobs (event_id, seq);

-- +goose Down
DROP INDEX jobs_by_seq;
