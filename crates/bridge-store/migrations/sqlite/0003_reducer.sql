-- The reducer's cursors: how far into a stream (the local event log, or one Kafka partition)
-- its aggregates in bridge_states reach. A window's states and its cursor moves commit in one
-- transaction, so a replay after a crash, restart or rebalance never counts an event twice.
-- On SQLite one writer commits in `seq` order, so `txid` stays 0 and `seq` alone orders.
CREATE TABLE reducer_cursors (
    name        TEXT PRIMARY KEY NOT NULL,  -- 'event_logs' or 'kafka:<topic>:<partition>'
    txid        INTEGER NOT NULL,
    seq         INTEGER NOT NULL,           -- event_logs.seq, or the partition offset
    updated_at  TEXT NOT NULL
);
