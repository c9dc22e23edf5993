-- +goose Up
-- The appeals list pages by keyset, (due_at, request_id) after the last row seen, in one
-- status or in all of them: an index for each, so a page reads only its own rows.
DROP INDEX appeals_status_due;
CREATE INDEX appeals_status_due_id ON appeals (status, due_at, request_id);
CREATE INDEX appeals_due_id ON appeals (due_at, request_id);
-- A granted appeal opens a new request for the person to carry the original out; this
-- names it, so the appeal's pages and mail can point to it.
ALTER TABLE appeals ADD COLUMN follow_up_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE appeals DROP COLUMN follow_up_id;
DROP INDEX appeals_due_id;
DROP INDEX appeals_status_due_id;
CREATE INDEX appeals_status_due ON appeals (status, due_at);
