-- +goose Up
-- Dashboard sessions: a staff member or auditor signs in with an API token and then uses a
-- cookie. Only the SHA-256 of the random session ID is kept, so a copy of this table lets
-- nobody sign in. A session lives only as long as its token: revoking the token ends it.
CREATE TABLE dashboard_sessions (
    id_hash     TEXT PRIMARY KEY,
    token_id    TEXT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    created_at  DATETIME NOT NULL,
    expires_at  DATETIME NOT NULL
);
CREATE INDEX dashboard_sessions_token_id ON dashboard_sessions (token_id);
CREATE INDEX dashboard_sessions_expires_at ON dashboard_sessions (expires_at);

-- +goose Down
DROP TABLE dashboard_sessions;
