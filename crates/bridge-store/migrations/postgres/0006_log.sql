-- The transparency log (SPEC §11, C2SP tlog-tiles). Every new signed stamp is one entry
-- (its statement and signature line), given the next index in the transaction that stores
-- the stamp; so a stamp has an entry if and only if it was stored, across crashes too.
-- log_hashes holds the RFC 6962 tree in "stored hash index" order (every complete subtree's
-- hash, the leaves included): tiles and proofs are read from it. A checkpoint is signed per
-- group commit. log_head is the tree's size, one row: each group commit locks it (FOR
-- UPDATE) before it appends, so instances on one database take turns and keep one tree,
-- as Tessera's SQL backends do.
ALTER TABLE metadata_stamps ADD COLUMN log_index BIGINT;
CREATE TABLE log_head (
    id    INT PRIMARY KEY CHECK (id = 1),
    size  BIGINT NOT NULL
);
INSERT INTO log_head (id, size) VALUES (1, 0);
CREATE TABLE log_entries (
    idx        BIGINT PRIMARY KEY,
    stamp_id   UUID NOT NULL UNIQUE,
    namespace  TEXT NOT NULL,
    entry      BYTEA NOT NULL
);
CREATE INDEX log_entries_by_namespace ON log_entries (namespace, idx);
CREATE TABLE log_hashes (
    id    BIGINT PRIMARY KEY,
    hash  BYTEA NOT NULL
);
CREATE TABLE log_checkpoints (
    size        BIGINT PRIMARY KEY,
    note        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
