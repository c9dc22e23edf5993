-- +goose Up
-- Bearer tokens of staff and auditors. Only the SHA-256 of a token is kept, so a copy of
-- this table lets nobody sign in; the unique index is how a presented token is found.
CREATE TABLE api_tokens (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('analyst', 'admin', 'auditor')),
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);

-- +goose Down
DROP TABLE api_tokens;
