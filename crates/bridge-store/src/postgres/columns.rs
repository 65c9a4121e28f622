//! Column lists of the reads, as macros so that each query is one `concat!`-ed constant
//! (no `format!` per call; the statement text is the same every time, for the cache).

/// `metadata_stamps` columns as [`stamp_from_row`] reads them (JSON as its text).
macro_rules! stamp_columns {
    () => {
        "stamp_id, namespace, file_hash, content_type, file_size, \
     file_path, stamp_type, sidecar, stamp, metadata::text AS metadata, op_id, workflow_id, \
     correlation_id, created_at, signing_key, signature, log_index"
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
