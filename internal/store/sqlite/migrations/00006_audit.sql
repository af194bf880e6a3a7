-- +goose Up
-- The audit log: one row per state-changing API call. AUTOINCREMENT keeps
-- ids of pruned rows from coming back, so a page cursor stays valid.
CREATE TABLE audit (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ns        INTEGER NOT NULL,
    principal_kind TEXT    NOT NULL,
    principal_id   TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    object         TEXT    NOT NULL,
    client         TEXT    NOT NULL,
    status         INTEGER NOT NULL,
    error          TEXT    NOT NULL
);
CREATE INDEX audit_by_time ON audit (time_ns);
CREATE INDEX audit_by_principal ON audit (principal_kind, principal_id);

-- +goose Down
DROP TABLE audit;
