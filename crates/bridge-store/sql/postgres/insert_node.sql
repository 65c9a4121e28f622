INSERT INTO node_registrations (node_id, node_type, version, capabilities,
endpoints, metadata, health_status, last_heartbeat, registered_at, updated_at)
VALUES ($1, $2, $3, $4::json, $5::json, $6::json, $7, $8, $9, $10)
ON CONFLICT (node_id) DO NOTHING
