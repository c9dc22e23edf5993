-- +goose Up
-- Who looked requests up by an e-mail address, and when; never the address, nor its hash.
-- A search for a person is a use of their data, so it is kept like the audit log: the
-- application may only append.
CREATE TABLE staff_searches (
    id          TEXT PRIMARY KEY,
    at          DATETIME NOT NULL,
    actor       TEXT NOT NULL,
    actor_id    TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL
);
CREATE INDEX staff_searches_at ON staff_searches (at);

-- +goose StatementBegin
CREATE TRIGGER staff_searches_no_update BEFORE UPDATE ON staff_searches
BEGIN
    SELECT RAISE(ABORT, 'staff_searches is append-only: UPDATE refused');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER staff_searches_no_delete BEFORE DELETE ON staff_searches
BEGIN
    SELECT RAISE(ABORT, 'staff_searches is append-only: DELETE refused');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER staff_searches_no_delete;
DROP TRIGGER staff_searches_no_update;
DROP TABLE staff_searches;
