-- +goose Up
-- Objects are kept as their JSON wire documents (doc) plus the columns that
-- queries filter, order or join on. Times are Unix nanoseconds, UTC.

CREATE TABLE projects (
    id         TEXT    NOT NULL PRIMARY KEY,
    created_ns INTEGER NOT NULL,
    doc        TEXT    NOT NULL
);

-- doc is the event without worker.jobs (those live in jobs).
CREATE TABLE events (
    id                TEXT    NOT NULL PRIMARY KEY,
    project_id        TEXT    NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    source            TEXT    NOT NULL,
    type              TEXT    NOT NULL,
    created_ns        INTEGER NOT NULL,
    phase             TEXT    NOT NULL,
    worker_token_hash TEXT,
    doc               TEXT    NOT NULL
);
CREATE INDEX events_by_created ON events (created_ns DESC, id);
CREATE INDEX events_by_project ON events (project_id, created_ns DESC, id);
CREATE UNIQUE INDEX events_by_worker_token ON events (worker_token_hash)
    WHERE worker_token_hash IS NOT NULL;

-- seq keeps creation order within an event.
CREATE TABLE jobs (
    event_id TEXT    NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    name     TEXT    NOT NULL,
    seq      INTEGER NOT NULL,
    phase    TEXT    NOT NULL,
    doc      TEXT    NOT NULL,
    PRIMARY KEY (event_id, name)
) WITHOUT ROWID;

CREATE TABLE secrets (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    PRIMARY KEY (project_id, key)
) WITHOUT ROWID;

CREATE TABLE sessions (
    id               TEXT    NOT NULL PRIMARY KEY,
    token_hash       TEXT    NOT NULL UNIQUE,
    root             INTEGER NOT NULL,
    user_id          TEXT    NOT NULL,
    created_ns       INTEGER NOT NULL,
    authenticated_ns INTEGER,
    expires_ns       INTEGER
);
CREATE INDEX sessions_by_expiry ON sessions (expires_ns) WHERE expires_ns IS NOT NULL;

-- One row per container log stream: the last Seq handed out and whether the
-- stream was closed.
CREATE TABLE log_streams (
    event_id  TEXT    NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    job       TEXT    NOT NULL,
    container TEXT    NOT NULL,
    last_seq  INTEGER NOT NULL DEFAULT 0,
    closed    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, job, container)
) WITHOUT ROWID;

CREATE TABLE logs (
    event_id  TEXT    NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    job       TEXT    NOT NULL,
    container TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    time_ns   INTEGER NOT NULL,
    message   TEXT    NOT NULL,
    PRIMARY KEY (event_id, job, container, seq)
) WITHOUT ROWID;

-- A task is leasable when available_at_ns <= now; leasing pushes it out by
-- the lease's ttl.
CREATE TABLE queue (
    id              INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    project_id      TEXT    NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    event_id        TEXT    NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    job_name        TEXT    NOT NULL DEFAULT '',
    available_at_ns INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_ns      INTEGER NOT NULL
);
CREATE INDEX queue_by_project ON queue (project_id, kind, id);
CREATE INDEX queue_by_kind ON queue (kind, id);
CREATE INDEX queue_by_event ON queue (event_id);

CREATE TABLE settings (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- +goose Down
DROP TABLE settings;
DROP TABLE queue;
DROP TABLE logs;
DROP TABLE log_streams;
DROP TABLE sessions;
DROP TABLE secrets;
DROP TABLE jobs;
DROP TABLE events;
DROP TABLE projects;
