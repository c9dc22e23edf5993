-- +goose Up
-- Appeals of refused requests, one per request. text is the person's own words and may
-- hold personal data; it is kept like the request it belongs to. refused_by_id and
-- decided_by_id are staff token IDs, which is what "decided by someone else" compares.
-- step_seq is the last appeal workflow step applied, so a retried step changes nothing.
CREATE TABLE appeals (
    request_id        TEXT PRIMARY KEY REFERENCES requests (id),
    status            TEXT NOT NULL,
    text              TEXT NOT NULL,
    received_at       DATETIME NOT NULL,
    due_at            DATETIME NOT NULL,
    original_due_at   DATETIME NOT NULL,
    extended_at       DATETIME,
    extension_reason  TEXT NOT NULL DEFAULT '',
    refused_by        TEXT NOT NULL DEFAULT '',
    refused_by_id     TEXT NOT NULL DEFAULT '',
    decided_by        TEXT NOT NULL DEFAULT '',
    decided_by_id     TEXT NOT NULL DEFAULT '',
    decided_at        DATETIME,
    decision_reason   TEXT NOT NULL DEFAULT '',
    overdue           BOOLEAN NOT NULL DEFAULT 0,
    step_seq          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX appeals_status_due ON appeals (status, due_at);

-- +goose Down
DROP TABLE appeals;
