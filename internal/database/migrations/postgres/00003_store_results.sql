-- +goose Up
-- What each system found and did for a request, including a review's exported data. It
-- stays here, in the application database, so the engine's history never holds it.
CREATE TABLE store_results (
    request_id   TEXT NOT NULL REFERENCES requests (id),
    store        TEXT NOT NULL,
    result       TEXT NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (request_id, store)
);

-- +goose Down
DROP TABLE store_results;
