-- +goose Up
-- Deliveries that a sender keyed (a webhook's delivery ID, a CloudEvent's
-- id, a cron firing) with the ids of the events they created, as a JSON
-- array: a repeated delivery answers with them and creates nothing.
-- Entries older than the retention window are deleted in the background.
CREATE TABLE deliveries (
    source    TEXT    NOT NULL,
    key       TEXT    NOT NULL,
    event_ids TEXT    NOT NULL,
    time_ns   INTEGER NOT NULL,
    PRIMARY KEY (source, key)
) WITHOUT ROWID;
CREATE INDEX deliveries_by_time ON deliveries (time_ns);

-- +goose Down
DROP TABLE deliveries;
