-- +goose Up
-- One row per privacy request. The workflow owns the request's progress; this row is the
-- application's copy for lists, dashboards and evidence. step_seq is the last workflow step
-- applied, so a retried or late step cannot roll the row back.
CREATE TABLE requests (
    id                 TEXT PRIMARY KEY,
    type               TEXT NOT NULL,
    jurisdiction       TEXT NOT NULL,
    status             TEXT NOT NULL,
    email              TEXT NOT NULL,
    email_hash         TEXT NOT NULL,
    details            TEXT NOT NULL DEFAULT '',
    status_token_hash  TEXT NOT NULL DEFAULT '',
    received_at        TIMESTAMPTZ NOT NULL,
    due_at             TIMESTAMPTZ NOT NULL,
    original_due_at    TIMESTAMPTZ NOT NULL,
    acknowledge_by     TIMESTAMPTZ,
    extended_at        TIMESTAMPTZ,
    extension_reason   TEXT NOT NULL DEFAULT '',
    assignee           TEXT NOT NULL DEFAULT '',
    opened_by          TEXT NOT NULL DEFAULT '',
    status_reason      TEXT NOT NULL DEFAULT '',
    outcome            TEXT NOT NULL DEFAULT '',
    joined_to          TEXT NOT NULL DEFAULT '',
    step_seq           BIGINT NOT NULL DEFAULT 0,
    updated_at         TIMESTAMPTZ NOT NULL,
    completed_at       TIMESTAMPTZ
);
CREATE INDEX requests_email_hash_type ON requests (email_hash, type);
CREATE INDEX requests_status_due_at ON requests (status, due_at);
CREATE INDEX requests_received_at ON requests (received_at);

-- Who did what to a request, one row per workflow step.
CREATE TABLE audit_events (
    id           TEXT PRIMARY KEY,
    request_id   TEXT NOT NULL REFERENCES requests (id),
    seq          BIGINT NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    actor        TEXT NOT NULL DEFAULT '',
    role         TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL,
    from_status  TEXT NOT NULL DEFAULT '',
    to_status    TEXT NOT NULL DEFAULT '',
    details      TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX audit_events_request_id_seq ON audit_events (request_id, seq);

-- At most one open request per verified address and type; later ones join it.
CREATE TABLE request_claims (
    email_hash  TEXT NOT NULL,
    type        TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    claimed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (email_hash, type)
);
CREATE INDEX request_claims_request_id ON request_claims (request_id);

-- Which notices went out: metadata only, never bodies.
CREATE TABLE mail_log (
    key         TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    sent_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX mail_log_request_id ON mail_log (request_id, sent_at);

-- The dev mailbox: under `dsr dev` mail is stored here instead of sent.
CREATE TABLE dev_mail (
    id       TEXT PRIMARY KEY,
    to_addr  TEXT NOT NULL,
    subject  TEXT NOT NULL,
    text     TEXT NOT NULL,
    html     TEXT NOT NULL DEFAULT '',
    sent_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX dev_mail_to_addr_sent_at ON dev_mail (to_addr, sent_at);

-- +goose Down
DROP TABLE dev_mail;
DROP TABLE mail_log;
DROP TABLE request_claims;
DROP TABLE audit_events;
DROP TABLE requests;
