-- +goose Up
-- Which projects have a ready task of a kind (the scheduler asks on every
-- pass) is answered by seeking from one project to the next in this
-- index, instead of reading every queued task of the kind: with a thousand
-- events queued for one project, one seek per project rather than a
-- thousand rows.
CREATE INDEX queue_ready ON queue (kind, project_id, available_at_ns);

-- +goose Down
DROP INDEX queue_ready;
