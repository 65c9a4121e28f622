UPDATE bridge_states SET total_stamps = ?2, total_size_bytes = ?3, file_types = ?4,
workflow_count = ?5, first_stamp_at = ?6, last_stamp_at = ?7, last_event_seq = ?8,
version = ?9 + 1, updated_at = ?10 WHERE namespace = ?1 AND version = ?9
