-- +goose Up
-- The language the requester chose at intake (a BCP 47 tag such as nb); their pages
-- and mail speak it. Rows from before this were all in English.
ALTER TABLE requests ADD COLUMN language TEXT NOT NULL DEFAULT 'en';

-- +goose Down
ALTER TABLE requests DROP COLUMN language;
