-- +goose Up
-- A request an authorized agent made for a person (CCPA regulations §7063): the agent's
-- name and contact, how it came (form or drp), and where staff stand on its signed
-- permission (pending, accepted, refused; empty when none is reviewed).
ALTER TABLE requests ADD COLUMN agent_name TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN agent_contact TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN agent_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN agent_permission TEXT NOT NULL DEFAULT '';

-- The permission the person signed for the agent, sealed with the codec key ring as
-- store results are (key_id names the key). It may name and show the person.
CREATE TABLE agent_permissions (
    request_id TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    key_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    size BIGINT NOT NULL,
    stored_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE agent_permissions;
ALTER TABLE requests DROP COLUMN agent_permission;
ALTER TABLE requests DROP COLUMN agent_kind;
ALTER TABLE requests DROP COLUMN agent_contact;
ALTER TABLE requests DROP COLUMN agent_name;
