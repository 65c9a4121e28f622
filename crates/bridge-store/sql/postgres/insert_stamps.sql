INSERT INTO metadata_stamps (stamp_id, namespace, file_hash, content_type, file_size,
file_path, stamp_type, sidecar, stamp, metadata, op_id, workflow_id, correlation_id,
created_at, signing_key, signature)
SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int8[],
$6::text[], $7::text[], $8::bool[], $9::text[], $10::text[]::json[], $11::text[],
$12::uuid[], $13::uuid[], $14::timestamptz[], $15::text[], $16::text[])
ON CONFLICT (file_hash, namespace) DO NOTHING RETURNING stamp_id
