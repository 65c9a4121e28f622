//! Column lists of the reads, as macros so that each query is one `concat!`-ed constant
//! (no `format!` per call; the statement text is the same every time, for the cache).

/// `metadata_stamps` columns as [`stamp_from_row`] reads them (JSON as its text), the table
/// named `s`, and the stamp's log index from `log_entries` (see [`stamp_from`]).
macro_rules! stamp_columns {
    () => {
        "s.stamp_id, s.namespace, s.file_hash, s.content_type, s.file_size, \
     s.file_path, s.stamp_type, s.sidecar, s.stamp, s.metadata::text AS metadata, s.op_id, \
     s.workflow_id, s.correlation_id, s.created_at, s.signing_key, s.signature, \
     e.idx AS log_index"
    };
}

/// The tables [`stamp_columns`] reads.
macro_rules! stamp_from {
    () => {
        " FROM metadata_stamps s LEFT JOIN log_entries e ON e.stamp_id = s.stamp_id"
    };
}

/// `workflow_executions` columns as [`workflow_from_rows`] reads them.
macro_rules! workflow_columns {
    () => {
        "workflow_id, correlation_id, namespace, state, \
     stamp_id, error, intelligence::text AS intelligence, started_at, completed_at, duration_ms"
    };
}

/// `bridge_states` columns as [`state_from_row`] reads them.
macro_rules! state_columns {
    () => {
        "namespace, total_stamps, total_size_bytes, \
     file_types::text AS file_types, workflow_count, first_stamp_at, last_stamp_at, \
     last_event_seq, version, updated_at"
    };
}

/// Columns as [`node_from_row`] reads them (JSON as its text).
macro_rules! node_columns {
    () => {
        "node_id, node_type, version, \
     capabilities::text AS capabilities, endpoints::text AS endpoints, metadata::text AS metadata, \
     health_status, last_heartbeat, registered_at, updated_at"
    };
}
