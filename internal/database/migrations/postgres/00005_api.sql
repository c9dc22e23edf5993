-- +goose Up
-- What the HTTP API keeps beside the request rows.

-- One row per intake made with an Idempotency-Key header: keyed hashes of the key and of the
-- validated body, the request it opened and the answer without its status token, which is
-- derived again from the key. The primary key is what makes concurrent retries safe.
CREATE TABLE idempotency_keys (
    key_hash      TEXT PRIMARY KEY,
    body_hash     TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    answer        TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL,
    completed_at  TIMESTAMPTZ
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- Opt-outs recorded without mailbox proof (CCPA §7026), such as a Global Privacy Control
-- signal on an intake, keyed by the hash of the address.
CREATE TABLE opt_outs (
    email_hash   TEXT NOT NULL,
    limit_kind   TEXT NOT NULL,
    source       TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (email_hash, limit_kind)
);

-- The staff list pages by (sort column, id); the others serve its filters, the metrics and
-- the audit log by time.
CREATE INDEX requests_received_at_id ON requests (received_at, id);
CREATE INDEX requests_due_at_id ON requests (due_at, id);
CREATE INDEX requests_status_received_at ON requests (status, received_at);
CREATE INDEX requests_assignee_due_at ON requests (assignee, due_at);
CREATE INDEX requests_completed_at ON requests (completed_at);
CREATE INDEX audit_events_at_id ON audit_events (at, id);

-- +goose Down
DROP INDEX audit_events_at_id;
DROP INDEX requests_completed_at;
DROP INDEX requests_assignee_due_at;
DROP INDEX requests_status_received_at;
DROP INDEX requests_due_at_id;
DROP INDEX requests_received_at_id;
DROP TABLE opt_outs;
DROP TABLE idempotency_keys;
