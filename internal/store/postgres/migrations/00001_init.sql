-- +goose Up
-- The PostgreSQL schema: the SQLite schema's tables, in PostgreSQL's own
-- types. Objects are kept as their JSON wire documents (doc, text: it keeps
-- every byte the encoder wrote) plus the columns queries filter, order or
-- join on. Times are Unix nanoseconds (bigint), UTC. Keys and ids compare
-- byte by byte (COLLATE "C"), as SQLite's do, whatever the database's
-- locale. Later changes go in 00002_..., 00003_... as with SQLite.

CREATE TABLE projects (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    created_ns bigint NOT NULL,
    doc        text   NOT NULL
);

-- doc is the event without worker.jobs (those live in jobs). sel holds
-- what selectors match on: {"q": qualifiers, "l": labels, "s": source
-- state}.
CREATE TABLE events (
    id                text COLLATE "C" NOT NULL PRIMARY KEY,
    project_id        text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    source            text   NOT NULL,
    type              text   NOT NULL,
    created_ns        bigint NOT NULL,
    phase             text   NOT NULL,
    worker_token_hash text,
    sel               jsonb  NOT NULL DEFAULT '{}',
    doc               text   NOT NULL
);
CREATE INDEX events_by_created ON events (created_ns DESC, id);
CREATE INDEX events_by_project ON events (project_id, created_ns DESC, id);
CREATE INDEX events_by_phase ON events (phase);
CREATE UNIQUE INDEX events_by_worker_token ON events (worker_token_hash)
    WHERE worker_token_hash IS NOT NULL;

-- seq (one sequence for every event) keeps creation order within an event.
CREATE TABLE jobs (
    event_id   text COLLATE "C" NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    name       text COLLATE "C" NOT NULL,
    seq        bigserial NOT NULL,
    phase      text   NOT NULL,
    doc        text   NOT NULL,
    sealed_env bytea,
    PRIMARY KEY (event_id, name)
);
CREATE INDEX jobs_by_event ON jobs (event_id, seq);
CREATE INDEX jobs_by_phase ON jobs (phase);

CREATE TABLE secrets (
    project_id text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key        text COLLATE "C" NOT NULL,
    sealed     bytea NOT NULL,
    PRIMARY KEY (project_id, key)
);

CREATE TABLE sessions (
    id               text    NOT NULL PRIMARY KEY,
    token_hash       text    NOT NULL UNIQUE,
    root             boolean NOT NULL,
    user_id          text    NOT NULL,
    created_ns       bigint  NOT NULL,
    authenticated_ns bigint,
    expires_ns       bigint,
    auth_state_hash  text,
    success_url      text    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_expiry ON sessions (expires_ns) WHERE expires_ns IS NOT NULL;
CREATE INDEX sessions_by_user ON sessions (user_id) WHERE user_id <> '';
CREATE UNIQUE INDEX sessions_by_auth_state ON sessions (auth_state_hash)
    WHERE auth_state_hash IS NOT NULL;

-- One row per container log stream: the last seq handed out and whether
-- the stream was closed. Appends to a stream take turns on its row.
CREATE TABLE log_streams (
    event_id  text COLLATE "C" NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    job       text COLLATE "C" NOT NULL,
    container text COLLATE "C" NOT NULL,
    last_seq  bigint  NOT NULL DEFAULT 0,
    closed    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (event_id, job, container)
);

-- One row per line; the message as the bytes the container wrote (text
-- would refuse NUL bytes and invalid UTF-8).
CREATE TABLE logs (
    event_id  text COLLATE "C" NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    job       text COLLATE "C" NOT NULL,
    container text COLLATE "C" NOT NULL,
    seq       bigint NOT NULL,
    time_ns   bigint NOT NULL,
    message   bytea  NOT NULL,
    PRIMARY KEY (event_id, job, container, seq)
);

-- A task is leasable when available_at_ns <= now; leasing pushes it out by
-- the lease's ttl, so an expired lease makes it leasable again.
CREATE TABLE queue (
    id              bigserial NOT NULL PRIMARY KEY,
    kind            text   NOT NULL,
    project_id      text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    event_id        text COLLATE "C" NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    job_name        text   NOT NULL DEFAULT '',
    available_at_ns bigint NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    created_ns      bigint NOT NULL
);
CREATE INDEX queue_by_project ON queue (project_id, kind, id);
CREATE INDEX queue_by_kind ON queue (kind, id);
CREATE INDEX queue_by_event ON queue (event_id);

CREATE TABLE settings (
    key   text COLLATE "C" NOT NULL PRIMARY KEY,
    value text NOT NULL
);

-- No foreign key: an entry outlives its event.
CREATE TABLE cleanups (
    event_id text COLLATE "C" NOT NULL PRIMARY KEY,
    due_ns   bigint NOT NULL
);
CREATE INDEX cleanups_by_due ON cleanups (due_ns);

-- A user's id is compared without regard to case (lower_id).
CREATE TABLE users (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    lower_id   text COLLATE "C" NOT NULL UNIQUE,
    name       text   NOT NULL,
    created_ns bigint NOT NULL,
    locked_ns  bigint
);

CREATE TABLE service_accounts (
    id          text COLLATE "C" NOT NULL PRIMARY KEY,
    description text   NOT NULL,
    created_ns  bigint NOT NULL,
    locked_ns   bigint,
    token_hash  text   NOT NULL UNIQUE
);

-- scope is '' for unscoped roles.
CREATE TABLE role_assignments (
    principal_type text COLLATE "C" NOT NULL,
    principal_id   text COLLATE "C" NOT NULL,
    role           text COLLATE "C" NOT NULL,
    scope          text COLLATE "C" NOT NULL,
    PRIMARY KEY (principal_type, principal_id, role, scope)
);

CREATE TABLE project_role_assignments (
    project_id     text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    principal_type text COLLATE "C" NOT NULL,
    principal_id   text COLLATE "C" NOT NULL,
    role           text COLLATE "C" NOT NULL,
    PRIMARY KEY (project_id, principal_type, principal_id, role)
);
CREATE INDEX project_role_assignments_by_principal
    ON project_role_assignments (principal_type, principal_id);

CREATE TABLE audit (
    id             bigserial NOT NULL PRIMARY KEY,
    time_ns        bigint  NOT NULL,
    principal_kind text    NOT NULL,
    principal_id   text    NOT NULL,
    action         text    NOT NULL,
    object         text    NOT NULL,
    client         text    NOT NULL,
    status         integer NOT NULL,
    error          text    NOT NULL
);
CREATE INDEX audit_by_time ON audit (time_ns);
CREATE INDEX audit_by_principal ON audit (principal_kind, principal_id);

CREATE TABLE deliveries (
    source    text COLLATE "C" NOT NULL,
    key       text COLLATE "C" NOT NULL,
    event_ids text[] NOT NULL,
    time_ns   bigint NOT NULL,
    PRIMARY KEY (source, key)
);
CREATE INDEX deliveries_by_time ON deliveries (time_ns);

-- +goose Down
DROP TABLE deliveries;
DROP TABLE audit;
DROP TABLE project_role_assignments;
DROP TABLE role_assignments;
DROP TABLE service_accounts;
DROP TABLE users;
DROP TABLE cleanups;
DROP TABLE settings;
DROP TABLE queue;
DROP TABLE logs;
DROP TABLE log_streams;
DROP TABLE sessions;
DROP TABLE secrets;
DROP TABLE jobs;
DROP TABLE events;
DROP TABLE projects;
