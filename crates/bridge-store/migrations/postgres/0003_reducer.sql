-- The reducer's cursors: how far into a stream (the local event log, or one Kafka partition)
-- its aggregates in bridge_states reach. A window's states and its cursor moves commit in one
-- transaction, so a replay after a crash, restart or rebalance never counts an event twice.
CREATE TABLE reducer_cursors (
    name        TEXT PRIMARY KEY,           -- 'event_logs' or 'kafka:<topic>:<partition>'
    txid        BIGINT NOT NULL,
    seq         BIGINT NOT NULL,            -- event_logs.seq, or the partition offset
    updated_at  TIMESTAMPTZ NOT NULL
);

-- Concurrent writers commit out of `seq` order (seq 10 may commit after seq 11), so a cursor
-- on `seq` alone could step over a row that becomes visible later. The writing transaction's
-- id orders rows safely: every transaction older than the snapshot's xmin has ended, so rows
-- with txid < xmin are final and the reducer reads them in (txid, seq) order.
ALTER TABLE event_logs ADD COLUMN txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);

-- The reducer's read: STAMP_CREATED rows past its cursor, in (txid, seq) order. Partial, so
-- only one row in ten of a workflow's events pays for it.
CREATE INDEX event_logs_stamp_created ON event_logs (txid, seq) WHERE event_type = 'STAMP_CREATED';
