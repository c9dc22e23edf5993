-- +goose Up
-- Witnesses' cosignatures of the transparency log's checkpoints (C2SP tlog-cosignature):
-- one signature line per witness and tree size, as the witness returned it. The checkpoint
-- itself is not stored: the log re-signs the same bytes for a size on demand.
CREATE TABLE tlog_cosignatures (
    tree_size  INTEGER NOT NULL,
    witness    TEXT NOT NULL,
    signature  TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (tree_size, witness)
);

-- +goose Down
DROP TABLE tlog_cosignatures;
