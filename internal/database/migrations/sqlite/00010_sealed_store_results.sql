-- +goose Up
-- Store results hold a review's exported data and a correction's old values, so they are
-- sealed (AES-256-GCM) with the codec key ring. key_id names the key that sealed result;
-- an empty key_id marks a row written in clear before this migration, which
-- requestdb.Repo.SealStoreResults seals in place.
ALTER TABLE store_results ADD COLUMN key_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE store_results DROP COLUMN key_id;
