-- +goose Up
-- Work for the privacy team in systems dsr cannot reach: one task per request and manual
-- store. The request waits until a staff member completes it with the store's result.
CREATE TABLE tasks (
    id            TEXT PRIMARY KEY,
    request_id    TEXT NOT NULL REFERENCES requests (id),
    store         TEXT NOT NULL,
    operation     TEXT NOT NULL,
    instructions  TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL,
    due_at        TIMESTAMPTZ NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    completed_at  TIMESTAMPTZ,
    completed_by  TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT '',
    result        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX tasks_status_due_at ON tasks (status, due_at);
CREATE INDEX tasks_request_id ON tasks (request_id);

-- +goose Down
DROP TABLE tasks;
