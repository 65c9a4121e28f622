INSERT INTO event_logs (event_id, event_type, topic, message_key, correlation_id,
workflow_id, namespace, payload, created_at)
SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[],
$6::uuid[], $7::text[], $8::text[], $9::timestamptz[])
