INSERT INTO workflow_executions (workflow_id, correlation_id, namespace, state,
stamp_id, error, intelligence, started_at, completed_at, duration_ms)
SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::uuid[],
$6::text[], $7::text[]::json[], $8::timestamptz[], $9::timestamptz[], $10::float8[])
