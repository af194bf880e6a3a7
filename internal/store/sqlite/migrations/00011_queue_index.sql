-- +goose Up
-- One index serves every question asked of the queue, instead of three
-- that each new task, lease and acknowledgement had to update:
--   Lease (a project's first leasable task): seek (kind, project_id), walk
--     in id order, skip the tasks leased or put off (available_at_ns, read
--     from the index);
--   Ready (which projects have a leasable task): the skip-scan seeks from
--     one project to the next within the kind;
--   Len and NextDue: the kind's range of the index.
-- A project's leased tasks come before its others in id order (the queue
-- is FIFO), so Lease and Ready step over at most the project's running
-- tasks and those put off after a failed start.
DROP INDEX queue_by_kind;
DROP INDEX queue_by_project;
DROP INDEX queue_ready;
CREATE INDEX queue_by_project ON queue (kind, project_id, id, available_at_ns);

-- +goose Down
DROP INDEX queue_by_project;
CREATE INDEX queue_by_project ON queue (project_id, kind, id);
CREATE INDEX queue_by_kind ON queue (kind, id);
CREATE INDEX queue_ready ON queue (kind, project_id, available_at_ns);
