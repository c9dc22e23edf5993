-- +goose Up
-- The request row and store_results are the read model: every status page, staff view and
-- list reads them, never the workflow. Each audit step writes the workflow's progress on
-- the mailbox and identity checks with it, and each system's state (running, pending,
-- failed, done) is kept beside its result. The outcome is read from store_results alone,
-- so the copy in requests.outcome goes.
ALTER TABLE requests ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE requests ADD COLUMN code_attempts_left INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN identity_requirement TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN identity_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE requests ADD COLUMN identity_method TEXT NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN identity_attempts_left INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests DROP COLUMN outcome;
ALTER TABLE store_results ADD COLUMN state TEXT NOT NULL DEFAULT 'done';
ALTER TABLE store_results ADD COLUMN error TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE store_results DROP COLUMN error;
ALTER TABLE store_results DROP COLUMN state;
ALTER TABLE requests ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
ALTER TABLE requests DROP COLUMN identity_attempts_left;
ALTER TABLE requests DROP COLUMN identity_method;
ALTER TABLE requests DROP COLUMN identity_verified;
ALTER TABLE requests DROP COLUMN identity_requirement;
ALTER TABLE requests DROP COLUMN code_attempts_left;
ALTER TABLE requests DROP COLUMN email_verified;
