-- +goose Up
-- The audit log becomes a hash chain: each event stores the hash of the event before it in
-- one global order (chain_seq) and its own hash over a canonical form (see
-- requestdb.AuditEvent.ChainHash). Events written before this migration keep a NULL
-- chain_seq and empty hashes; nothing is backfilled.
ALTER TABLE audit_events ADD COLUMN chain_seq BIGINT;
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN hash TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX audit_events_chain_seq ON audit_events (chain_seq);

-- The last link of the chain. Appenders lock this one row, so appends are serialized, and
-- verification compares it with the last event, so losing events at the tail shows.
CREATE TABLE audit_chain_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    chain_seq  BIGINT NOT NULL,
    hash       TEXT NOT NULL
);
INSERT INTO audit_chain_head (id, chain_seq, hash) VALUES (1, 0, '');

-- The application may only append: rewriting or removing an event is refused. Later
-- migrations must keep these triggers.
-- +goose StatementBegin
CREATE FUNCTION audit_events_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_reject_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_reject_change();

-- +goose Down
DROP TRIGGER audit_events_no_truncate ON audit_events;
DROP TRIGGER audit_events_append_only ON audit_events;
DROP FUNCTION audit_events_reject_change();
DROP TABLE audit_chain_head;
DROP INDEX audit_events_chain_seq;
ALTER TABLE audit_events DROP COLUMN hash;
ALTER TABLE audit_events DROP COLUMN prev_hash;
ALTER TABLE audit_events DROP COLUMN chain_seq;
