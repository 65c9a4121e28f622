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

-- The log side: what each witness (by its vkey) last cosigned or said it had (a 409), so a
-- restart or another instance resumes instead of starting at old 0; the cosignature lines
-- kept per checkpoint size; the newest checkpoint whose cosignatures meet the quorum; answers
-- that may be evidence of a fork; and the lease that lets one instance at a time talk to
-- the witnesses.
CREATE TABLE log_witness_sizes (
    witness     TEXT PRIMARY KEY NOT NULL,
    size        INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE log_cosignatures (
    size        INTEGER NOT NULL,
    witness     TEXT NOT NULL,
    line        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (size, witness)
);
CREATE TABLE log_witnessed (
    id          INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    size        INTEGER NOT NULL,
    note        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE log_witness_evidence (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    witness     TEXT NOT NULL,
    status      INTEGER NOT NULL,
    request     TEXT NOT NULL,
    answer      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE leases (
    name        TEXT PRIMARY KEY NOT NULL,
    holder      TEXT NOT NULL,
    expires_ms  INTEGER NOT NULL
);
