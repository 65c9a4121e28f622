INSERT INTO metadata_stamps (stamp_id, namespace, file_hash, content_type, file_size,
file_path, stamp_type, sidecar, stamp, metadata, op_id, workflow_id, correlation_id,
created_at, signing_key, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (file_hash, namespace) DO NOTHING
