-- +goose Up
-- What each system was planned to change for a request, before it changed anything: per
-- table the rows matched (their keys), what happens to each column, and what is kept. The
-- plan names rows, so it is sealed (AES-256-GCM) with the codec key ring like store
-- results; sha256 is the digest of the plan in clear, which the audit chain records. A
-- plan the rows no longer matched is dropped, so that a retry plans afresh.
CREATE TABLE store_plans (
    request_id  TEXT NOT NULL REFERENCES requests (id),
    store       TEXT NOT NULL,
    plan        TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    planned_at  DATETIME NOT NULL,
    PRIMARY KEY (request_id, store)
);

-- +goose Down
DROP TABLE store_plans;
