-- The witness side of SPEC §13 (C2SP tlog-witness): per log origin, the latest checkpoint
-- this witness cosigned. A new one is stored by compare-and-swap on (size, root), so that the
-- check and the write are one atomic step, also for several witness processes on one file.
CREATE TABLE witness_logs (
    origin       TEXT PRIMARY KEY NOT NULL,
    origin_hash  TEXT NOT NULL UNIQUE,
    size         INTEGER NOT NULL,
    root         BLOB NOT NULL,
    checkpoint   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
