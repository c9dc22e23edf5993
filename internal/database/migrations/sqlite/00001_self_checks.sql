-- +goose Up
-- A self-check is a tiny workflow that proves the API, the engine, a worker and this
-- database are wired together; each run leaves one row.
CREATE TABLE self_checks (
    id           TEXT PRIMARY KEY,
    started_at   DATETIME NOT NULL,
    recorded_at  DATETIME NOT NULL,
    worker       TEXT NOT NULL
);

-- +goose Down
DROP TABLE self_checks;
