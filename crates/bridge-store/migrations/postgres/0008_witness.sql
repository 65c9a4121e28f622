-- The witness side of SPEC §13 (C2SP tlog-witness): per log origin, the latest checkpoint
-- this witness cosigned. A new one is stored by compare-and-swap on (size, root), so that the
-- check and the write are one atomic step, also for several witness processes on one
-- database.
CREATE TABLE witness_logs (
    origin       TEXT PRIMARY KEY,
    origin_hash  TEXT NOT NULL UNIQUE,
    size         BIGINT NOT NULL,
    root         BYTEA NOT NULL,
    checkpoint   TEXT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
