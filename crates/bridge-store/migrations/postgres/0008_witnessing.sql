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

-- The log side: what each witness (by its vkey) last cosigned or said it had (a 409), so a
-- restart or another instance resumes instead of starting at old 0; the cosignature lines
-- kept per checkpoint size; the newest checkpoint whose cosignatures meet the quorum; answers
-- that may be evidence of a fork; and the lease that lets one instance at a time talk to
-- the witnesses.
CREATE TABLE log_witness_sizes (
    witness     TEXT PRIMARY KEY,
    size        BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE TABLE log_cosignatures (
    size        BIGINT NOT NULL,
    witness     TEXT NOT NULL,
    line        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (size, witness)
);
CREATE TABLE log_witnessed (
    id          INT PRIMARY KEY CHECK (id = 1),
    size        BIGINT NOT NULL,
    note        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE TABLE log_witness_evidence (
    id          BIGSERIAL PRIMARY KEY,
    witness     TEXT NOT NULL,
    status      INT NOT NULL,
    request     TEXT NOT NULL,
    answer      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
