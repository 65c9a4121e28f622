-- The transparency log (SPEC §11, C2SP tlog-tiles). Every new signed stamp is one entry
-- (its statement and signature line), given the next index in the transaction that stores
-- the stamp; so a stamp has an entry if and only if it was stored, across crashes too.
-- log_hashes holds the RFC 6962 tree in "stored hash index" order (every complete subtree's
-- hash, the leaves included): tiles and proofs are read from it. A checkpoint is signed per
-- group commit. log_head is the tree's size, one row, so that the database serialises
-- integration (on SQLite the single writer does already).
ALTER TABLE metadata_stamps ADD COLUMN log_index INTEGER;
CREATE TABLE log_head (
    id    INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    size  INTEGER NOT NULL
);
INSERT INTO log_head (id, size) VALUES (1, 0);
CREATE TABLE log_entries (
    idx        INTEGER PRIMARY KEY NOT NULL,
    stamp_id   TEXT NOT NULL UNIQUE,
    namespace  TEXT NOT NULL,
    entry      BLOB NOT NULL
);
CREATE INDEX log_entries_by_namespace ON log_entries (namespace, idx);
CREATE TABLE log_hashes (
    id    INTEGER PRIMARY KEY NOT NULL,
    hash  BLOB NOT NULL
);
CREATE TABLE log_checkpoints (
    size        INTEGER PRIMARY KEY NOT NULL,
    note        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
