INSERT INTO workflow_executions (workflow_id, correlation_id, namespace, state,
stamp_id, error, intelligence, started_at, completed_at, duration_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
