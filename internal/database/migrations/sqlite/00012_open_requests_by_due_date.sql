-- +goose Up
-- The open queue and the overdue list walk requests by due date but want only open ones;
-- with most requests closed, the full (due_at, id) index made them read and discard the
-- closed majority (about 180 ms over 100k requests; under 1 ms with this index).
CREATE INDEX requests_open_due_at ON requests (due_at, id) WHERE status NOT IN ('completed', 'denied', 'cancelled', 'expired');

-- +goose Down
DROP INDEX requests_open_due_at;
