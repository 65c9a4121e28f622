-- The seven tables of SPEC §7. Append-only tables are keyed by time-ordered ids or integer
-- sequences (cheap appends); only metadata_stamps carries a random-hash index, because
-- idempotency needs it.

-- One row per (namespace, content): the unique key is what makes stamping idempotent.
-- Rows append in rowid order; the unique key is the table's only random-order index.
CREATE TABLE metadata_stamps (
    id              INTEGER PRIMARY KEY,
    stamp_id        TEXT NOT NULL UNIQUE,        -- UUIDv7 (time-ordered: cheap appends)
    namespace       TEXT NOT NULL,
    file_hash       TEXT NOT NULL,               -- 64 lowercase hex
    content_type    TEXT NOT NULL,
    file_size       INTEGER NOT NULL,
    file_path       TEXT,
    stamp_type      TEXT NOT NULL,               -- rich | lightweight
    sidecar         INTEGER NOT NULL,            -- 1: stamp kept beside the content
    stamp           TEXT NOT NULL,               -- the stamp text as written
    metadata        TEXT,                        -- client metadata (JSON object)
    op_id           TEXT,
    workflow_id     TEXT,
    correlation_id  TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    -- file_hash first, so GET /stamp/{hash} without a namespace uses this index's prefix.
    UNIQUE (file_hash, namespace)
);

CREATE TABLE workflow_executions (
    workflow_id     TEXT PRIMARY KEY NOT NULL,
    correlation_id  TEXT NOT NULL,
    namespace       TEXT NOT NULL,
    state           TEXT NOT NULL,               -- PENDING | PROCESSING | COMPLETED | FAILED
    stamp_id        TEXT,
    error           TEXT,
    intelligence    TEXT,                        -- JSON result of the optional step
    started_at      TEXT NOT NULL,
    completed_at    TEXT,
    duration_ms     REAL
);

-- Keyed by (workflow, position): one B-tree, appended in order (workflow ids are UUIDv7),
-- and GET /workflows/{id} reads a contiguous range.
CREATE TABLE workflow_steps (
    workflow_id     TEXT NOT NULL,
    step_index      INTEGER NOT NULL,
    step_name       TEXT NOT NULL,
    status          TEXT NOT NULL,               -- COMPLETED | FAILED | SKIPPED
    attempts        INTEGER NOT NULL,
    duration_ms     REAL NOT NULL,
    error           TEXT,
    PRIMARY KEY (workflow_id, step_index)
) WITHOUT ROWID;

CREATE TABLE fsm_transitions (
    workflow_id     TEXT NOT NULL,
    position        INTEGER NOT NULL,            -- order within the workflow
    from_state      TEXT NOT NULL,
    to_state        TEXT NOT NULL,
    reason          TEXT,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (workflow_id, position)
) WITHOUT ROWID;

-- Per-namespace aggregates of the reducer, with the optimistic-lock version.
CREATE TABLE bridge_states (
    namespace        TEXT PRIMARY KEY NOT NULL,
    total_stamps     INTEGER NOT NULL DEFAULT 0,
    total_size_bytes INTEGER NOT NULL DEFAULT 0,
    file_types       TEXT NOT NULL DEFAULT '[]', -- JSON array of distinct content types
    workflow_count   INTEGER NOT NULL DEFAULT 0,
    first_stamp_at   TEXT,
    last_stamp_at    TEXT,
    last_event_seq   INTEGER NOT NULL DEFAULT 0, -- applied cursor: replays never double-count
    version          INTEGER NOT NULL DEFAULT 0,
    updated_at       TEXT NOT NULL
);

CREATE TABLE node_registrations (
    node_id          TEXT PRIMARY KEY NOT NULL,
    node_type        TEXT NOT NULL,
    version          TEXT NOT NULL,
    capabilities     TEXT NOT NULL DEFAULT '[]',
    endpoints        TEXT NOT NULL DEFAULT '{}',
    metadata         TEXT NOT NULL DEFAULT '{}',
    health_status    TEXT NOT NULL,
    last_heartbeat   TEXT NOT NULL,
    registered_at    TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);

-- The event log and transactional outbox: rows are written in the workflow's transaction
-- and relayed in `seq` order.
CREATE TABLE event_logs (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT NOT NULL UNIQUE,
    event_type      TEXT NOT NULL,
    topic           TEXT,
    message_key     TEXT NOT NULL,
    correlation_id  TEXT NOT NULL,
    workflow_id     TEXT,
    namespace       TEXT,
    payload         TEXT NOT NULL,               -- the OnexEnvelopeV1 JSON
    status          TEXT NOT NULL DEFAULT 'pending', -- pending | sent | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
-- The relay claims pending rows in order; the partial index stays small once rows are sent.
CREATE INDEX event_logs_pending ON event_logs (seq) WHERE status = 'pending';
