-- +goose Up
-- Who looked requests up by an e-mail address, and when; never the address, nor its hash.
-- A search for a person is a use of their data, so it is kept like the audit log: the
-- application may only append.
CREATE TABLE staff_searches (
    id          TEXT PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    actor_id    TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL
);
CREATE INDEX staff_searches_at ON staff_searches (at);

-- +goose StatementBegin
CREATE FUNCTION staff_searches_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'staff_searches is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER staff_searches_append_only BEFORE UPDATE OR DELETE ON staff_searches
    FOR EACH ROW EXECUTE FUNCTION staff_searches_reject_change();

-- +goose Down
DROP TRIGGER staff_searches_append_only ON staff_searches;
DROP FUNCTION staff_searches_reject_change();
DROP TABLE staff_searches;
