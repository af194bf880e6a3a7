-- +goose Up
-- What finished or deleted events left on the substrate, and when to remove
-- it. No foreign key: an entry outlives its event.
CREATE TABLE cleanups (
    event_id TEXT    NOT NULL PRIMARY KEY,
    due_ns   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX cleanups_by_due ON cleanups (due_ns);

-- +goose Down
DROP TABLE cleanups;
