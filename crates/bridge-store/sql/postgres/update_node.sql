UPDATE node_registrations SET node_type = $2, version = $3,
capabilities = $4::json, endpoints = $5::json, metadata = $6::json,
health_status = $7, last_heartbeat = $8, registered_at = $9, updated_at = $10
WHERE node_id = $1 AND updated_at = $11
