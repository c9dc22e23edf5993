-- +goose Up
-- Mail goes to the address as the requester typed it, since a local part may be
-- case-sensitive; requests.email keeps the normalised form that records are matched on.
-- Rows from before this are mailed at requests.email, as they always were.
ALTER TABLE requests ADD COLUMN mailbox_email TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE requests DROP COLUMN mailbox_email;
