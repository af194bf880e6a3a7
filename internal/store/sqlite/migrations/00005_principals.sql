-- +goose Up
-- Users (created on their first third-party login) and service accounts,
-- and the roles granted to them. A user's id is compared without regard to
-- case. Only the hash of a service account's token is kept.
CREATE TABLE users (
    id         TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
    name       TEXT    NOT NULL,
    created_ns INTEGER NOT NULL,
    locked_ns  INTEGER
) WITHOUT ROWID;

CREATE TABLE service_accounts (
    id          TEXT    NOT NULL PRIMARY KEY,
    description TEXT    NOT NULL,
    created_ns  INTEGER NOT NULL,
    locked_ns   INTEGER,
    token_hash  TEXT    NOT NULL UNIQUE
) WITHOUT ROWID;

-- scope is '' for unscoped roles.
CREATE TABLE role_assignments (
    principal_type TEXT NOT NULL,
    principal_id   TEXT NOT NULL,
    role           TEXT NOT NULL,
    scope          TEXT NOT NULL,
    PRIMARY KEY (principal_type, principal_id, role, scope)
) WITHOUT ROWID;

CREATE TABLE project_role_assignments (
    project_id     TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    principal_type TEXT NOT NULL,
    principal_id   TEXT NOT NULL,
    role           TEXT NOT NULL,
    PRIMARY KEY (project_id, principal_type, principal_id, role)
) WITHOUT ROWID;
CREATE INDEX project_role_assignments_by_principal
    ON project_role_assignments (principal_type, principal_id);
CREATE INDEX sessions_by_user ON sessions (user_id) WHERE user_id <> '';

-- +goose Down
DROP INDEX sessions_by_user;
DROP TABLE project_role_assignments;
DROP TABLE role_assignments;
DROP TABLE service_accounts;
DROP TABLE users;
