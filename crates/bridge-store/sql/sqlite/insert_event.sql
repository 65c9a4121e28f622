INSERT INTO event_logs (event_id, event_type, topic, message_key, correlation_id,
workflow_id, namespace, payload, status, attempts, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)
