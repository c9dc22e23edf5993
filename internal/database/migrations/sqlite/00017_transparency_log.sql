-- +goose Up
-- The public transparency log of request milestones (RFC 6962 Merkle tree). An entry holds
-- no personal data: a keyed hash of the request ID, the milestone, its time, the due date
-- and the request type. leaf_hash is the entry's RFC 6962 leaf hash, from which proofs are
-- computed. The application may only append.
CREATE TABLE tlog_entries (
    idx          INTEGER PRIMARY KEY,
    request_hash TEXT NOT NULL,
    milestone    TEXT NOT NULL,
    at           DATETIME NOT NULL,
    due_at       DATETIME NOT NULL,
    request_type TEXT NOT NULL,
    leaf_hash    TEXT NOT NULL,
    UNIQUE (request_hash, milestone)
);

-- The tree size; SQLite admits one writer at a time, so appends already take turns.
CREATE TABLE tlog_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL
);
INSERT INTO tlog_head (id, size) VALUES (1, 0);

-- +goose StatementBegin
CREATE TRIGGER tlog_entries_no_update BEFORE UPDATE ON tlog_entries
BEGIN
    SELECT RAISE(ABORT, 'tlog_entries is append-only: UPDATE refused');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER tlog_entries_no_delete BEFORE DELETE ON tlog_entries
BEGIN
    SELECT RAISE(ABORT, 'tlog_entries is append-only: DELETE refused');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER tlog_entries_no_delete;
DROP TRIGGER tlog_entries_no_update;
DROP TABLE tlog_head;
DROP TABLE tlog_entries;
