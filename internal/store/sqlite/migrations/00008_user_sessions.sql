-- +goose Up
-- A third-party login under way keeps the hash of its OAuth2 state (the
-- callback finds the session by it) and where the browser goes when the
-- login is done. The state is cleared when the login completes, so a
-- callback cannot be replayed.
ALTER TABLE sessions ADD COLUMN auth_state_hash TEXT;
ALTER TABLE sessions ADD COLUMN success_url TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX sessions_by_auth_state ON sessions (auth_state_hash)
    WHERE auth_state_hash IS NOT NULL;

-- +goose Down
DROP INDEX sessions_by_auth_state;
ALTER TABLE sessions DROP COLUMN success_url;
ALTER TABLE sessions DROP COLUMN auth_state_hash;
