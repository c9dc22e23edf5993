-- +goose Up
-- Each recipient told of a correction, suppression or restriction (GDPR Art. 19), how, and
-- what it answered. One row per request and recipient makes a retried notice a no-op.
CREATE TABLE recipient_notices (
    request_id  TEXT NOT NULL REFERENCES requests (id),
    recipient   TEXT NOT NULL,
    channel     TEXT NOT NULL,
    status      TEXT NOT NULL,
    answer      TEXT NOT NULL DEFAULT '',
    sent_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (request_id, recipient)
);

-- +goose Down
DROP TABLE recipient_notices;
