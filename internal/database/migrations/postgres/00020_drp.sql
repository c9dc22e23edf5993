-- +goose Up
-- Data Rights Protocol 1.0 state (internal/drp). drp_agent_tokens holds the pair-wise
-- bearer token of each authorized agent (section 2.05), only as a SHA-256 hash.
CREATE TABLE drp_agent_tokens (
    agent_id   TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

-- The signed messages already taken, by the hash of their signature, kept until they expire,
-- so that a message is acted on once (section 3.07).
CREATE TABLE drp_seen_messages (
    signature_hash TEXT PRIMARY KEY,
    agent_id       TEXT NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL
);

-- A dsr request opened by an agent: who sent it, what it asked and where to report.
CREATE TABLE drp_requests (
    request_id       TEXT PRIMARY KEY REFERENCES requests (id),
    agent_id         TEXT NOT NULL,
    agent_request_id TEXT NOT NULL DEFAULT '',
    exercise         TEXT NOT NULL,
    regime           TEXT NOT NULL DEFAULT '',
    status_callback  TEXT NOT NULL DEFAULT '',
    received_at      TIMESTAMPTZ NOT NULL,
    revoked_at       TIMESTAMPTZ,
    -- The identity claims that give data points (section 3.04), sealed with the codec keys
    -- until they are handed to the request's identity check, then erased.
    identity_key_id  TEXT NOT NULL DEFAULT '',
    identity_claims  TEXT NOT NULL DEFAULT '',
    identity_fed_at  TIMESTAMPTZ
);
CREATE INDEX drp_requests_agent ON drp_requests (agent_id);

-- The status callbacks owed to agents (section 2.03): a row per status change or extension,
-- written in the step's own transaction, sent and retried by the callback sender.
CREATE TABLE drp_callbacks (
    id           BIGSERIAL PRIMARY KEY,
    request_id   TEXT NOT NULL REFERENCES drp_requests (request_id),
    step_seq     BIGINT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      TIMESTAMPTZ NOT NULL,
    sent_at      TIMESTAMPTZ,
    last_error   TEXT NOT NULL DEFAULT '',
    UNIQUE (request_id, step_seq)
);
CREATE INDEX drp_callbacks_due ON drp_callbacks (next_at) WHERE sent_at IS NULL;

-- +goose Down
DROP TABLE drp_callbacks;
DROP TABLE drp_requests;
DROP TABLE drp_seen_messages;
DROP TABLE drp_agent_tokens;
