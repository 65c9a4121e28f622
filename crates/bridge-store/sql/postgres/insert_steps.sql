INSERT INTO workflow_steps (workflow_id, step_index, step_name, status, attempts,
duration_ms, error)
SELECT * FROM UNNEST($1::uuid[], $2::int4[], $3::text[], $4::text[], $5::int4[],
$6::float8[], $7::text[])
