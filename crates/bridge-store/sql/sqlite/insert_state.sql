INSERT INTO bridge_states (namespace, total_stamps, total_size_bytes, file_types,
workflow_count, first_stamp_at, last_stamp_at, last_event_seq, version, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 + 1, ?10)
ON CONFLICT (namespace) DO NOTHING
