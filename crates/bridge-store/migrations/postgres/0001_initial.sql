-- The seven tables of SPEC §7, with the same names and meaning as the SQLite schema.
-- Ids are native UUIDs (16 bytes), times TIMESTAMPTZ. Every index
-- below says which query needs it; there is no other.

CREATE TABLE metadata_stamps (
    -- Row order for "the oldest stamp of this hash in any namespace".
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Unique: stamps are looked up and referenced by it.
    stamp_id        UUID NOT NULL UNIQUE,
    namespace       TEXT NOT NULL,
    file_hash       TEXT NOT NULL CHECK (file_hash ~ '^[0-9a-f]{64}$'),
    content_type    TEXT NOT NULL,
    file_size       BIGINT NOT NULL CHECK (file_size >= 0),
    file_path       TEXT,
    stamp_type      TEXT NOT NULL CHECK (stamp_type IN ('rich', 'lightweight')),
    sidecar         BOOLEAN NOT NULL,
    stamp           TEXT NOT NULL,
    metadata        JSON,                        -- client JSON, kept as sent (JSONB rejects \u0000)
    op_id           TEXT,
    workflow_id     UUID,
    correlation_id  UUID NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    -- The idempotency key (INSERT … ON CONFLICT DO NOTHING). file_hash first, so that
    -- GET /stamp/{hash} without a namespace uses the index's prefix.
    CONSTRAINT metadata_stamps_hash_namespace UNIQUE (file_hash, namespace)
);

CREATE TABLE workflow_executions (
    -- GET /workflows/{id}.
    workflow_id     UUID PRIMARY KEY,
    correlation_id  UUID NOT NULL,
    namespace       TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED')),
    stamp_id        UUID,
    error           TEXT,
    intelligence    JSON,
    started_at      TIMESTAMPTZ NOT NULL,
    completed_at    TIMESTAMPTZ,
    duration_ms     DOUBLE PRECISION
);

CREATE TABLE workflow_steps (
    workflow_id     UUID NOT NULL,
    step_index      INTEGER NOT NULL,
    step_name       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('COMPLETED', 'FAILED', 'SKIPPED')),
    attempts        INTEGER NOT NULL,
    duration_ms     DOUBLE PRECISION NOT NULL,
    error           TEXT,
    -- GET /workflows/{id} reads a workflow's steps in order through it.
    PRIMARY KEY (workflow_id, step_index)
);

CREATE TABLE fsm_transitions (
    workflow_id     UUID NOT NULL,
    position        INTEGER NOT NULL,
    from_state      TEXT NOT NULL,
    to_state        TEXT NOT NULL,
    reason          TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    -- GET /workflows/{id} reads a workflow's transitions in order through it.
    PRIMARY KEY (workflow_id, position)
);

-- Per-namespace aggregates of the reducer, with the optimistic-lock version.
CREATE TABLE bridge_states (
    namespace        TEXT PRIMARY KEY,
    total_stamps     BIGINT NOT NULL DEFAULT 0,
    total_size_bytes BIGINT NOT NULL DEFAULT 0,
    file_types       JSONB NOT NULL DEFAULT '[]',
    workflow_count   BIGINT NOT NULL DEFAULT 0,
    first_stamp_at   TIMESTAMPTZ,
    last_stamp_at    TIMESTAMPTZ,
    last_event_seq   BIGINT NOT NULL DEFAULT 0,  -- applied cursor: replays never double-count
    version          BIGINT NOT NULL DEFAULT 0,
    updated_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE node_registrations (
    node_id          TEXT PRIMARY KEY,
    node_type        TEXT NOT NULL,
    version          TEXT NOT NULL,
    capabilities     JSONB NOT NULL DEFAULT '[]',
    endpoints        JSONB NOT NULL DEFAULT '{}',
    metadata         JSONB NOT NULL DEFAULT '{}',
    health_status    TEXT NOT NULL,
    last_heartbeat   TIMESTAMPTZ NOT NULL,
    registered_at    TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

-- The event log and transactional outbox: rows are written in the workflow's transaction
-- and relayed in `seq` order.
CREATE TABLE event_logs (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Consumers de-duplicate by it; unique so a bug can never write one event twice.
    event_id        UUID NOT NULL UNIQUE,
    event_type      TEXT NOT NULL,
    topic           TEXT,
    message_key     TEXT NOT NULL,
    correlation_id  UUID NOT NULL,
    workflow_id     UUID,
    namespace       TEXT,
    payload         TEXT NOT NULL,               -- the OnexEnvelopeV1 JSON, relayed byte for byte
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);
-- The relay claims pending rows in order (FOR UPDATE SKIP LOCKED) and /health counts them;
-- partial, so it stays small once rows are sent.
CREATE INDEX event_logs_pending ON event_logs (seq) WHERE status = 'pending';
