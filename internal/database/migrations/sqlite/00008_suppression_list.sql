-- +goose Up
-- Keyed hashes of suppressed addresses, so marketing imports can be checked against them
-- without the list holding the addresses themselves.
CREATE TABLE suppression_list (
    email_hash  TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL,
    added_at    DATETIME NOT NULL
);

-- +goose Down
DROP TABLE suppression_list;
