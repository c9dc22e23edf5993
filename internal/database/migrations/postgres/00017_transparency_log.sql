-- +goose Up
-- The public transparency log of request milestones (RFC 6962 Merkle tree). An entry holds
-- no personal data: a keyed hash of the request ID, the milestone, its time, the due date
-- and the request type. leaf_hash is the entry's RFC 6962 leaf hash, from which proofs are
-- computed. The application may only append.
CREATE TABLE tlog_entries (
    idx          BIGINT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    milestone    TEXT NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    due_at       TIMESTAMPTZ NOT NULL,
    request_type TEXT NOT NULL,
    leaf_hash    TEXT NOT NULL,
    UNIQUE (request_hash, milestone)
);

-- The tree size: the row appends lock so that they take turns.
CREATE TABLE tlog_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL
);
INSERT INTO tlog_head (id, size) VALUES (1, 0);

-- +goose StatementBegin
CREATE FUNCTION tlog_entries_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'tlog_entries is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER tlog_entries_append_only BEFORE UPDATE OR DELETE ON tlog_entries
    FOR EACH ROW EXECUTE FUNCTION tlog_entries_reject_change();

-- +goose Down
DROP TRIGGER tlog_entries_append_only ON tlog_entries;
DROP FUNCTION tlog_entries_reject_change();
DROP TABLE tlog_head;
DROP TABLE tlog_entries;
