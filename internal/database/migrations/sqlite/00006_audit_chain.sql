-- +goose Up
-- The audit log becomes a hash chain: each event stores the hash of the event before it in
-- one global order (chain_seq) and its own hash over a canonical form (see
-- requestdb.AuditEvent.ChainHash). Events written before this migration keep a NULL
-- chain_seq and empty hashes; nothing is backfilled.
ALTER TABLE audit_events ADD COLUMN chain_seq INTEGER;
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN hash TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX audit_events_chain_seq ON audit_events (chain_seq);

-- The last link of the chain. SQLite's immediate transactions already serialize appenders;
-- verification compares this row with the last event, so losing events at the tail shows.
CREATE TABLE audit_chain_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    chain_seq  INTEGER NOT NULL,
    hash       TEXT NOT NULL
);
INSERT INTO audit_chain_head (id, chain_seq, hash) VALUES (1, 0, '');

-- The application may only append: rewriting or removing an event is refused. Later
-- migrations must keep these triggers.
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER audit_events_no_delete;
DROP TRIGGER audit_events_no_update;
DROP TABLE audit_chain_head;
DROP INDEX audit_events_chain_seq;
ALTER TABLE audit_events DROP COLUMN hash;
ALTER TABLE audit_events DROP COLUMN prev_hash;
ALTER TABLE audit_events DROP COLUMN chain_seq;
